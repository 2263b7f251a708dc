//! Design swaps: a new design (other HRTF, method, order and FIR cut) built on a worker thread
//! and handed to the running engine. While switching the engine plays the old design until the
//! new convolver is in steady state, then crossfades; afterwards its output equals a fresh
//! engine with the new design and the offline render of the new design.

mod common;

use std::sync::Arc;

use common::{FS_HZ, noise, offline, rel_err_after_latency};
use sphear_engine::{
    DesignSwapper, Engine, EngineConfig, FilterPhase, SWAP_FADE_SAMPLES, ShDomainDesign,
};
use sphear_render::Method;
use sphear_render::head::SphericalHead;
use sphear_render::sim::{PlaneWaveSource, simulate_array};

const LEN: usize = 16_384;
const BLOCK: usize = 100;
const YAW_DEG: f64 = 25.0;

fn run(
    engine: &mut Engine,
    input: &[Vec<f32>],
    mut at_block: impl FnMut(usize, &mut Engine),
) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0.0f32; LEN]; 2];
    let mut pos = 0;
    while pos < LEN {
        at_block(pos, engine);
        let n = BLOCK.min(LEN - pos);
        let ins: Vec<&[f32]> = input.iter().map(|c| &c[pos..pos + n]).collect();
        let (l, r) = out.split_at_mut(1);
        let mut outs: [&mut [f32]; 2] = [&mut l[0][pos..pos + n], &mut r[0][pos..pos + n]];
        engine.process(&ins, &mut outs).expect("process");
        pos += n;
    }
    out
}

fn max_step(y: &[Vec<f32>], range: std::ops::Range<usize>) -> f64 {
    y.iter()
        .flat_map(|c| {
            range
                .clone()
                .map(move |n| (c[n] as f64 - c[n - 1] as f64).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn swap_to_new_design_is_click_free_and_then_equals_the_new_design() {
    let old_hrtf = common::hrtf();
    let new_hrtf = Arc::new(
        SphericalHead {
            radius_m: 0.0800,
            pinna: false,
            ..SphericalHead::default()
        }
        .build(FS_HZ)
        .expect("second HRTF"),
    );
    let old_cfg = EngineConfig::em32(4);
    let new_cfg = EngineConfig {
        order: 3,
        method: Method::MagLs,
        phase: FilterPhase::low_latency(),
        ..EngineConfig::em32(4)
    };
    // A 300 Hz plane wave from (60°, 10°): a smooth signal on which a switching click would
    // stand out (a sample step of a 300 Hz sine is 4 % of its amplitude).
    let tone: Vec<f32> = (0..LEN)
        .map(|n| (0.5 * (2.0 * std::f64::consts::PI * 300.0 * n as f64 / FS_HZ).sin()) as f32)
        .collect();
    let input = simulate_array(
        &sphear_sh::array::ArrayGeometry::em32(),
        &[PlaneWaveSource {
            direction: sphear_core::Direction::from_deg(60.0, 10.0),
            signal: tone,
        }],
        FS_HZ,
        sphear_core::SPEED_OF_SOUND_M_S,
    );

    // The new design is computed on a worker thread while nothing else waits for it.
    let worker = DesignSwapper::spawn_design(new_cfg.clone(), Arc::clone(&new_hrtf));
    let mut engine = Engine::new(old_cfg.clone(), &old_hrtf).expect("engine");
    let mut swapper = engine.swapper().expect("swapper");
    assert!(engine.swapper().is_none(), "the swapper is handed out once");
    engine.set_rotation(YAW_DEG, 0.0, 0.0);
    engine.prepare(FS_HZ, BLOCK).expect("prepare");
    let new_design: ShDomainDesign = worker.join().expect("worker").expect("design");
    let new_latency = new_cfg.latency_samples();
    assert_eq!(new_latency, 64 + 64);

    let submit_at = 4000usize;
    let mut completed_at = None;
    let mut queued = Some(new_design.clone());
    let out = run(&mut engine, &input, |pos, e| {
        if pos >= submit_at
            && let Some(d) = queued.take()
        {
            swapper.submit(d).expect("submit");
            assert!(matches!(
                swapper.submit(new_design.clone()),
                Err(sphear_engine::EngineError::SwapBusy)
            ));
        }
        if completed_at.is_none() && e.swaps_completed() == 1 {
            completed_at = Some(pos);
        }
    });
    let completed_at = completed_at.expect("swap completed");
    assert_eq!(swapper.swaps_completed(), 1);
    assert_eq!(swapper.active_latency_samples(), new_latency);
    assert_eq!(engine.latency_samples(), new_latency);
    assert_eq!(engine.design().order, 3);
    assert_eq!(
        swapper.collect(),
        1,
        "the old design comes back to be dropped here"
    );

    // References: the old and the new design alone, over the whole input.
    let mut old_only = Engine::new(old_cfg.clone(), &old_hrtf).expect("old engine");
    old_only.set_rotation(YAW_DEG, 0.0, 0.0);
    old_only.prepare(FS_HZ, BLOCK).expect("prepare");
    let old_out = run(&mut old_only, &input, |_, _| {});
    let mut new_only =
        Engine::from_design(new_cfg.clone(), new_design.clone()).expect("new engine");
    new_only.set_rotation(YAW_DEG, 0.0, 0.0);
    new_only.prepare(FS_HZ, BLOCK).expect("prepare");
    let new_out = run(&mut new_only, &input, |_, _| {});

    // The swap starts at the first partition boundary after `submit_at` (partition 64, blocks
    // of 100) and lasts warm-up (512 taps / 64 = 8 partitions) + fade (256 / 64 = 4).
    let p = 64;
    let start = submit_at.div_ceil(p) * p;
    let warm_end = start + 8 * p;
    let end = warm_end + SWAP_FADE_SAMPLES;
    // The partition of input [start − P, start) is the first one the new kernel renders; its
    // output is read out during [start, start + P).
    let (start_o, warm_end_o, end_o) = (start, warm_end, end);
    assert!(
        completed_at >= end - p && completed_at <= end + BLOCK,
        "completed at {completed_at}, expected about {end}"
    );
    // Before the fade: exactly the old design; after it: exactly the new one.
    let first_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).position(|(x, y)| x != y);
    for ear in 0..2 {
        let d = first_diff(&out[ear][..warm_end_o], &old_out[ear][..warm_end_o]);
        assert_eq!(
            d, None,
            "ear {ear}: differs from the old design during warm-up (fade from {warm_end_o})"
        );
        let d = first_diff(&out[ear][end_o..], &new_out[ear][end_o..]).map(|i| i + end_o);
        assert_eq!(
            d, None,
            "ear {ear}: differs from the new design after the swap (end {end_o})"
        );
    }
    // Click check: the step of a raised-cosine mix is at most max(step_old, step_new) plus
    // max|Δg|·max|new − old| with max|Δg| = π/(2·fade) (triangle inequality).
    let fade = warm_end_o..end_o + 1;
    let s_old = max_step(&old_out, fade.clone());
    let s_new = max_step(&new_out, fade.clone());
    let diff = (0..2)
        .flat_map(|e| fade.clone().map(move |n| (e, n)))
        .map(|(e, n)| (new_out[e][n] as f64 - old_out[e][n] as f64).abs())
        .fold(0.0, f64::max);
    let bound = s_old.max(s_new) + std::f64::consts::PI / (2.0 * SWAP_FADE_SAMPLES as f64) * diff;
    let s_mix = max_step(&out, fade.clone());
    // What a hard switch would do at the boundary: jump from old to new.
    let hard = (0..2)
        .map(|e| (new_out[e][warm_end_o] as f64 - old_out[e][warm_end_o - 1] as f64).abs())
        .fold(0.0, f64::max);
    println!(
        "swap at {start_o}..{end_o}: max step {s_mix:.4} (old {s_old:.4}, new {s_new:.4}, bound {bound:.4}); \
         max |new − old| {diff:.4}; a hard switch would step {hard:.4}"
    );
    assert!(
        s_mix <= bound * (1.0 + 1e-6),
        "step {s_mix} above the crossfade bound {bound}"
    );
    assert!(
        hard > 2.0 * bound,
        "test without teeth: a hard switch ({hard}) would pass too"
    );
    assert!(start_o > submit_at);

    // After the swap the output is the offline render of the new design: the engine's
    // low-latency design has no offline twin, so compare the centred variant's fresh engine
    // with `BinauralDecoder` (same method, order, HRTF, yaw) and the swapped engine with the
    // fresh one (bit-identical above).
    let centred_cfg = EngineConfig {
        phase: FilterPhase::Centred,
        ..new_cfg.clone()
    };
    let mut centred = Engine::new(centred_cfg.clone(), &new_hrtf).expect("centred engine");
    centred.set_rotation(YAW_DEG, 0.0, 0.0);
    centred.prepare(FS_HZ, BLOCK).expect("prepare");
    let centred_out = run(&mut centred, &input, |_, _| {});
    let off = offline(&centred_cfg, &new_hrtf, &input, [YAW_DEG, 0.0, 0.0]);
    let e = rel_err_after_latency(&centred_out, &off, centred.latency_samples());
    println!("new design (centred twin) vs offline BinauralDecoder: relative error {e:.3e}");
    assert!(e < 1.1e-5, "engine vs offline: {e}");
}

#[test]
fn swap_to_a_centred_design_equals_the_offline_render_after_the_swap() {
    // Old: AmbiX order 4 MagLS; new: AmbiX order 4 LS from another HRTF (centred, so the offline
    // decoder is an exact twin). After the swap the engine output equals the offline render.
    let old_hrtf = common::hrtf();
    let new_hrtf = SphericalHead {
        radius_m: 0.0950,
        ..SphericalHead::default()
    }
    .build(FS_HZ)
    .expect("second HRTF");
    let old_cfg = EngineConfig::ambix(4);
    let new_cfg = EngineConfig {
        method: Method::Ls,
        ..EngineConfig::ambix(4)
    };
    let input = noise(25, LEN, 22);
    let mut engine = Engine::new(old_cfg, &old_hrtf).expect("engine");
    let mut swapper = engine.swapper().expect("swapper");
    engine.prepare(FS_HZ, BLOCK).expect("prepare");
    let design = ShDomainDesign::design(&new_cfg, &new_hrtf).expect("design");
    let mut queued = Some(design);
    let out = run(&mut engine, &input, |pos, _| {
        if pos >= 1000
            && let Some(d) = queued.take()
        {
            swapper.submit(d).expect("submit");
        }
    });
    assert_eq!(engine.swaps_completed(), 1);
    let off = offline(&new_cfg, &new_hrtf, &input, [0.0; 3]);
    let lat = engine.latency_samples();
    // Compare from well after the swap (started ≤ 1100 + 64, done 12 partitions later).
    let from = 4000;
    let tail_out: Vec<Vec<f32>> = out.iter().map(|c| c[from + lat..].to_vec()).collect();
    let tail_off: Vec<Vec<f32>> = off.iter().map(|c| c[from..LEN - lat].to_vec()).collect();
    let e = rel_err_after_latency(&tail_out, &tail_off, 0);
    println!("after the swap: engine vs offline render of the new design, relative error {e:.3e}");
    assert!(e < 1.1e-5, "engine vs offline: {e}");
}
