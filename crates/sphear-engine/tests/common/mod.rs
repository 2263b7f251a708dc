//! Shared helpers of the engine tests.
#![allow(dead_code)]

use sphear_core::stream::process_buffers;
use sphear_engine::{Engine, EngineConfig};
use sphear_hrtf::HrtfSet;
use sphear_render::head::SphericalHead;
use sphear_render::renderer::BinauralRenderer;
use sphear_render::{BinauralDecoder, InputKind};

/// Processing rate of all tests, Hz.
pub const FS_HZ: f64 = 48_000.0;

/// The embedded spherical-head HRTF set at 48 kHz (deterministic, no files).
pub fn hrtf() -> HrtfSet {
    SphericalHead::default()
        .build(FS_HZ)
        .expect("spherical head HRTF")
}

/// Deterministic white noise in [-0.5, 0.5) (64-bit LCG, Knuth's MMIX constants).
pub fn noise(channels: usize, len: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..channels)
        .map(|_| {
            (0..len)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect()
        })
        .collect()
}

/// Runs `engine` (already prepared) over `input` in blocks of `block` samples (last one shorter).
pub fn run_engine(engine: &mut Engine, input: &[Vec<f32>], block: usize) -> Vec<Vec<f32>> {
    let len = input[0].len();
    let mut out = vec![vec![0.0f32; len]; 2];
    let mut pos = 0;
    while pos < len {
        let n = block.min(len - pos);
        let ins: Vec<&[f32]> = input.iter().map(|c| &c[pos..pos + n]).collect();
        let (l, r) = out.split_at_mut(1);
        let mut outs: [&mut [f32]; 2] = [&mut l[0][pos..pos + n], &mut r[0][pos..pos + n]];
        engine.process(&ins, &mut outs).expect("process");
        pos += n;
    }
    out
}

/// Offline reference: `BinauralDecoder` (same settings, head rotated by yaw/pitch/roll) applied
/// with `sphear_core::stream::process_buffers` (filter delay removed).
pub fn offline(
    cfg: &EngineConfig,
    hrtf: &HrtfSet,
    input: &[Vec<f32>],
    ypr_deg: [f64; 3],
) -> Vec<Vec<f32>> {
    let mut dc = cfg.decoder_config();
    dc.yaw_deg = ypr_deg[0];
    dc.pitch_deg = ypr_deg[1];
    dc.roll_deg = ypr_deg[2];
    let input_kind: &InputKind = &cfg.input;
    let dec = BinauralDecoder::design(hrtf, input_kind, &dc).expect("offline design");
    let mut r = BinauralRenderer::new(&dec, 256).expect("renderer");
    process_buffers(&mut r, input).expect("offline render")
}

/// Largest |engine[n + latency] − reference[n]| over both ears, divided by max |reference|.
pub fn rel_err_after_latency(engine: &[Vec<f32>], reference: &[Vec<f32>], latency: usize) -> f64 {
    let mut err = 0.0f64;
    let mut peak = 0.0f64;
    for (e, r) in engine.iter().zip(reference) {
        for n in 0..r.len() - latency {
            err = err.max((e[n + latency] as f64 - r[n] as f64).abs());
            peak = peak.max((r[n] as f64).abs());
        }
    }
    assert!(peak > 0.0, "reference is silent");
    err / peak
}
