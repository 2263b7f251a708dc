//! Test signals shared by the metric tests.
#![allow(dead_code)]

use num_complex::Complex64;
use realfft::RealFftPlanner;

/// Uniform white noise in [-amp, amp) (sphear-core generator, seeded).
pub fn noise(len: usize, seed: u64) -> Vec<f32> {
    sphear_core::signals::white_noise(len, 0.5, seed)
}

/// Circular (periodic) delay of `x` by `d` samples (fractional allowed) by multiplying its DFT
/// by `e^{-iωd}`; the Nyquist bin is zeroed so the result stays real and exact. `x.len()` must be
/// even.
pub fn circular_delay(x: &[f32], d: f64) -> Vec<f32> {
    let n = x.len();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut buf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let mut spec = fwd.make_output_vec();
    fwd.process(&mut buf, &mut spec).expect("fft");
    let last = spec.len() - 1;
    for (k, c) in spec.iter_mut().enumerate() {
        if k == last {
            *c = Complex64::new(0.0, 0.0);
        } else {
            let w = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
            *c *= Complex64::from_polar(1.0, -w * d);
        }
    }
    spec[0].im = 0.0;
    let mut out = inv.make_output_vec();
    inv.process(&mut spec, &mut out).expect("ifft");
    out.iter().map(|v| (v / n as f64) as f32).collect()
}

/// `x` with its DFT Nyquist bin removed (so that it equals `circular_delay(x, 0)`).
pub fn without_nyquist(x: &[f32]) -> Vec<f32> {
    circular_delay(x, 0.0)
}

/// A noise burst of `len` samples (even): 512 zeros, noise with 1024-sample raised-cosine ramps,
/// 512 zeros — so that [`circular_delay`] by up to ±100 samples shifts it without wrapping
/// (the band-limited interpolation tails of the smooth ramps are negligible).
pub fn burst(len: usize, seed: u64) -> Vec<f32> {
    let pad = 512;
    let ramp = 1024;
    let body = len - 2 * pad;
    let x = noise(body, seed);
    let mut out = vec![0.0f32; len];
    for (i, &v) in x.iter().enumerate() {
        let edge = i.min(body - 1 - i);
        let g = if edge < ramp {
            0.5 - 0.5 * (std::f64::consts::PI * edge as f64 / ramp as f64).cos()
        } else {
            1.0
        };
        out[pad + i] = (f64::from(v) * g) as f32;
    }
    without_nyquist(&out)
}
