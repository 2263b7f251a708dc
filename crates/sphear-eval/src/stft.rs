//! Short-time Fourier transform used by the STFT-based metrics (LSD, MR-STFT, MFCC, per-band
//! coherence).
//!
//! # Definition
//! Frame `t` holds the samples `x[t·H … t·H + W − 1]` (zeros past the end), multiplied by a
//! periodic Hann window `w[n] = 0.5 − 0.5·cos(2πn/W)` (`scipy.signal.get_window("hann", W)`),
//! zero-padded to `N ≥ W` and transformed by a real FFT (bins `0 … N/2`, unnormalised:
//! `X_t[k] = Σ_n w[n] x[tH+n] e^{−i2πkn/N}`). The number of frames is 1 when `len ≤ W`, else
//! `1 + ⌈(len − W)/H⌉`, so the last frame reaches the last sample. There is no centre padding
//! (unlike `torch.stft(center=True)`): frame 0 starts at sample 0.
//!
//! # References
//! J. B. Allen, "Short term spectral analysis, synthesis, and modification by discrete Fourier
//! transform", IEEE Trans. ASSP 25(3), 1977.

use num_complex::Complex64;
use realfft::RealFftPlanner;

use crate::dsp::check_signal;
use crate::{EvalError, Result};

/// STFT parameters (see the module docs): FFT size `N`, window length `W ≤ N`, hop `H`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StftConfig {
    /// FFT size `N` (samples), ≥ 2.
    pub fft_len: usize,
    /// Hann window length `W` (samples), `1 ≤ W ≤ N`.
    pub win_len: usize,
    /// Hop `H` between frames (samples), ≥ 1.
    pub hop_len: usize,
}

impl StftConfig {
    /// Window as long as the FFT (`W = N`).
    pub fn new(fft_len: usize, hop_len: usize) -> Self {
        Self {
            fft_len,
            win_len: fft_len,
            hop_len,
        }
    }

    /// Checks `N ≥ 2`, `1 ≤ W ≤ N`, `H ≥ 1`.
    ///
    /// # Errors
    /// [`EvalError::InvalidArgument`].
    pub fn validate(&self) -> Result<()> {
        if self.fft_len < 2 || self.win_len == 0 || self.win_len > self.fft_len || self.hop_len == 0
        {
            return Err(EvalError::InvalidArgument(format!(
                "STFT needs fft_len >= 2, 1 <= win_len <= fft_len, hop_len >= 1 (got {self:?})"
            )));
        }
        Ok(())
    }

    /// Number of frames for a signal of `len` samples (see the module docs).
    pub fn num_frames(&self, len: usize) -> usize {
        if len <= self.win_len {
            1
        } else {
            1 + (len - self.win_len).div_ceil(self.hop_len)
        }
    }

    /// Number of bins `N/2 + 1`.
    pub fn num_bins(&self) -> usize {
        self.fft_len / 2 + 1
    }
}

/// Periodic Hann window of length `w`: `0.5 − 0.5·cos(2πn/w)`.
pub fn hann_periodic(w: usize) -> Vec<f64> {
    (0..w)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / w as f64).cos())
        .collect()
}

/// STFT of `x`: `frames × (N/2 + 1)` complex bins (see the module docs for the definition).
///
/// # Errors
/// Empty or non-finite `x`, invalid `cfg`.
pub fn stft(x: &[f32], cfg: &StftConfig) -> Result<Vec<Vec<Complex64>>> {
    check_signal(x, "signal")?;
    cfg.validate()?;
    let win = hann_periodic(cfg.win_len);
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(cfg.fft_len);
    let mut buf = fwd.make_input_vec();
    let frames = cfg.num_frames(x.len());
    let mut out = Vec::with_capacity(frames);
    for t in 0..frames {
        buf.iter_mut().for_each(|b| *b = 0.0);
        let start = t * cfg.hop_len;
        for (n, w) in win.iter().enumerate() {
            if let Some(&v) = x.get(start + n) {
                buf[n] = w * f64::from(v);
            }
        }
        let mut spec = fwd.make_output_vec();
        let _ = fwd.process(&mut buf, &mut spec);
        out.push(spec);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stft_matches_naive_dft() {
        let x: Vec<f32> = (0..300)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let cfg = StftConfig {
            fft_len: 64,
            win_len: 48,
            hop_len: 20,
        };
        let s = stft(&x, &cfg).expect("stft");
        assert_eq!(s.len(), 1 + (300usize - 48).div_ceil(20));
        let w = hann_periodic(48);
        for (t, frame) in s.iter().enumerate() {
            for (k, v) in frame.iter().enumerate() {
                let mut acc = Complex64::new(0.0, 0.0);
                for (n, wn) in w.iter().enumerate() {
                    let xv = x.get(t * 20 + n).map_or(0.0, |&v| f64::from(v));
                    let ph = -2.0 * std::f64::consts::PI * (k * n) as f64 / 64.0;
                    acc += Complex64::from_polar(wn * xv, ph);
                }
                assert!((acc - v).norm() < 1e-9, "t {t} k {k}");
            }
        }
    }
}
