//! Shared helpers of the convolution tests: a naive time-domain reference, a streaming
//! driver and the error measure.

#![allow(dead_code)] // each test binary uses a subset

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sphear_core::conv::{FilterSpec, MatrixConvolver};

/// Maximum absolute error allowed, relative to the RMS of the reference output signal.
pub const MAX_ERR_REL_RMS: f64 = 1e-5;

/// Reference: `y[n] = Σ_m h[m] x[n − m]` for `n < out_len`, `f64` accumulation.
pub fn naive_convolve(x: &[f32], h: &[f32], out_len: usize) -> Vec<f64> {
    let mut y = vec![0.0f64; out_len];
    for (n, yn) in y.iter_mut().enumerate() {
        let m_max = n.min(h.len().saturating_sub(1));
        let mut acc = 0.0f64;
        for m in 0..=m_max {
            if m < h.len() && n - m < x.len() {
                acc += f64::from(h[m]) * f64::from(x[n - m]);
            }
        }
        *yn = acc;
    }
    y
}

/// Reference output of the whole matrix.
pub fn naive_matrix(
    x: &[Vec<f32>],
    specs: &[FilterSpec],
    n_out: usize,
    len: usize,
) -> Vec<Vec<f64>> {
    let mut y = vec![vec![0.0f64; len]; n_out];
    for s in specs {
        let c = naive_convolve(&x[s.input], &s.taps, len);
        for (a, b) in y[s.output].iter_mut().zip(c) {
            *a += b;
        }
    }
    y
}

/// Streams `x` (planar, length a multiple of B) through the convolver.
pub fn stream(conv: &mut MatrixConvolver, x: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let b = conv.partition_len();
    let len = x[0].len();
    assert_eq!(len % b, 0);
    let mut y = vec![vec![0.0f32; len]; conv.n_out()];
    for t in 0..len / b {
        let ins: Vec<&[f32]> = x.iter().map(|c| &c[t * b..(t + 1) * b]).collect();
        let mut outs: Vec<&mut [f32]> = y.iter_mut().map(|c| &mut c[t * b..(t + 1) * b]).collect();
        conv.process(&ins, &mut outs).expect("process");
    }
    y
}

/// Max |y − r| / rms(r); `None` if the reference is identically zero.
pub fn rel_err(y: &[f32], r: &[f64]) -> Option<f64> {
    let rms = (r.iter().map(|v| v * v).sum::<f64>() / r.len() as f64).sqrt();
    if rms == 0.0 {
        return None;
    }
    let max = y
        .iter()
        .zip(r)
        .map(|(&a, &b)| (f64::from(a) - b).abs())
        .fold(0.0, f64::max);
    Some(max / rms)
}

pub fn random_signal(rng: &mut ChaCha8Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}
