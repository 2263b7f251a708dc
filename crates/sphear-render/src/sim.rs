//! Free-field plane-wave scenes: em32 (or any array) capsule signals from the analytic modal
//! model, and the matching direct binaural reference rendered with HRIRs.
//!
//! Both signals share one time reference: a plane wave reaches the array centre / head centre
//! at sample [`SIM_PRE_DELAY_SAMPLES`] after the source signal's sample 0.

use sphear_core::Direction;
use sphear_core::conv::fft_convolve;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::modal::plane_wave_irs;

/// Delay from source signal to arrival at the array/head centre in the simulations (samples).
pub const SIM_PRE_DELAY_SAMPLES: usize = 64;

/// Array IR length used by the simulation (taps).
pub const SIM_ARRAY_IR_LEN: usize = 256;

/// One plane-wave source.
#[derive(Debug, Clone)]
pub struct PlaneWaveSource {
    /// Direction the wave comes from.
    pub direction: Direction,
    /// Source signal (pressure at the array centre in free field, before the pre-delay).
    pub signal: Vec<f32>,
}

/// Capsule signals `[capsule][sample]` of the scene (same length as the longest source).
pub fn simulate_array(
    array: &ArrayGeometry,
    sources: &[PlaneWaveSource],
    fs_hz: f64,
    speed_m_s: f64,
) -> Vec<Vec<f32>> {
    let len = sources.iter().map(|s| s.signal.len()).max().unwrap_or(0);
    let mut out = vec![vec![0.0f32; len]; array.num_capsules()];
    for s in sources {
        let irs = plane_wave_irs(
            &array.capsules,
            array.radius_m,
            array.sphere,
            &s.direction,
            fs_hz,
            SIM_ARRAY_IR_LEN,
            SIM_PRE_DELAY_SAMPLES as f64,
            speed_m_s,
        );
        for (o, ir) in out.iter_mut().zip(irs) {
            let ir32: Vec<f32> = ir.iter().map(|&v| v as f32).collect();
            let y = fft_convolve(&s.signal, &ir32);
            for (a, b) in o.iter_mut().zip(y) {
                *a += b;
            }
        }
    }
    out
}

/// Direct binaural reference `[ear][sample]`: each source convolved with the HRIR of its
/// direction (barycentric interpolation of the set), delayed by [`SIM_PRE_DELAY_SAMPLES`].
pub fn render_direct(hrtf: &HrtfSet, sources: &[PlaneWaveSource]) -> Vec<Vec<f32>> {
    let len = sources.iter().map(|s| s.signal.len()).max().unwrap_or(0);
    let mut out = vec![vec![0.0f32; len]; 2];
    for s in sources {
        let pair = hrtf.interpolate(&s.direction);
        add_direct(&mut out, &s.signal, &pair);
    }
    out
}

/// Direct binaural reference using the HRIR measured at index `idx` of the set (no interpolation).
pub fn render_direct_index(hrtf: &HrtfSet, signal: &[f32], idx: usize) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0.0f32; signal.len()]; 2];
    let pair = [
        hrtf.ir(idx, Ear::Left).to_vec(),
        hrtf.ir(idx, Ear::Right).to_vec(),
    ];
    add_direct(&mut out, signal, &pair);
    out
}

fn add_direct(out: &mut [Vec<f32>], signal: &[f32], pair: &[Vec<f32>; 2]) {
    for (o, ir) in out.iter_mut().zip(pair.iter()) {
        let mut d = vec![0.0f32; SIM_PRE_DELAY_SAMPLES];
        d.extend_from_slice(ir);
        let y = fft_convolve(signal, &d);
        for (a, b) in o.iter_mut().zip(y) {
            *a += b;
        }
    }
}
