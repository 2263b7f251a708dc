//! Private helpers shared by the metrics: input checks, FFT-based linear cross-correlation,
//! parabolic peak interpolation.

use num_complex::Complex64;
use realfft::RealFftPlanner;

use crate::{EvalError, Result};

/// Non-empty and finite.
pub(crate) fn check_signal(x: &[f32], what: &str) -> Result<()> {
    if x.is_empty() {
        return Err(EvalError::Empty { what: what.into() });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(EvalError::NonFinite { what: what.into() });
    }
    Ok(())
}

/// Both non-empty, finite and of equal length.
pub(crate) fn check_pair(a: &[f32], b: &[f32], what_a: &str, what_b: &str) -> Result<()> {
    check_signal(a, what_a)?;
    check_signal(b, what_b)?;
    if a.len() != b.len() {
        return Err(EvalError::LengthMismatch {
            what: format!("{what_a} vs {what_b}"),
            expected: a.len(),
            got: b.len(),
        });
    }
    Ok(())
}

/// Positive, finite sampling rate.
pub(crate) fn check_rate(fs_hz: f64) -> Result<()> {
    if !(fs_hz.is_finite() && fs_hz > 0.0) {
        return Err(EvalError::InvalidArgument(format!(
            "sampling rate must be positive and finite, got {fs_hz} Hz"
        )));
    }
    Ok(())
}

/// `0 ≤ f_lo < f_hi ≤ fs/2`.
pub(crate) fn check_band(f_lo_hz: f64, f_hi_hz: f64, fs_hz: f64) -> Result<()> {
    check_rate(fs_hz)?;
    if !(f_lo_hz.is_finite() && f_hi_hz.is_finite() && f_lo_hz >= 0.0 && f_lo_hz < f_hi_hz) {
        return Err(EvalError::InvalidArgument(format!(
            "band [{f_lo_hz}, {f_hi_hz}] Hz must satisfy 0 <= low < high"
        )));
    }
    if f_hi_hz > fs_hz / 2.0 * (1.0 + 1e-12) {
        return Err(EvalError::BandAboveNyquist {
            band_hz: f_hi_hz,
            nyquist_hz: fs_hz / 2.0,
        });
    }
    Ok(())
}

/// Energy `Σ x²` in f64.
pub(crate) fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// Linear cross-correlation `c[τ] = Σ_n a[n]·b[n+τ]` for `τ = -(len-1) … len-1`, computed by
/// zero-padded FFT. Returned as a vector indexed by `τ + len - 1`. With `b` = `a` delayed by `d`
/// samples the peak is at `τ = d`.
pub(crate) fn xcorr(a: &[f64], b: &[f64]) -> Vec<f64> {
    let len = a.len().max(b.len());
    let n = (2 * len).next_power_of_two().max(2);
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spec = |x: &[f64]| -> Vec<Complex64> {
        let mut buf = vec![0.0f64; n];
        buf[..x.len()].copy_from_slice(x);
        let mut out = fwd.make_output_vec();
        // Lengths are consistent by construction; the FFT cannot fail.
        let _ = fwd.process(&mut buf, &mut out);
        out
    };
    let sa = spec(a);
    let sb = spec(b);
    let mut cross: Vec<Complex64> = sa.iter().zip(&sb).map(|(x, y)| x.conj() * y).collect();
    cross[0].im = 0.0;
    let last = cross.len() - 1;
    cross[last].im = 0.0;
    let mut cc = inv.make_output_vec();
    let _ = inv.process(&mut cross, &mut cc);
    let scale = 1.0 / n as f64;
    let mut out = Vec::with_capacity(2 * len - 1);
    for tau in -(len as i64 - 1)..=(len as i64 - 1) {
        out.push(cc[tau.rem_euclid(n as i64) as usize] * scale);
    }
    out
}

/// Offset in `[-0.5, 0.5]` of the vertex of the parabola through `(−1, ym), (0, y0), (1, yp)`.
pub(crate) fn parabolic_offset(ym: f64, y0: f64, yp: f64) -> f64 {
    let denom = ym - 2.0 * y0 + yp;
    if denom.abs() > 1e-300 {
        (0.5 * (ym - yp) / denom).clamp(-0.5, 0.5)
    } else {
        0.0
    }
}

/// f32 → f64 copy.
pub(crate) fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xcorr_matches_naive_sum() {
        let a: Vec<f64> = (0..37).map(|i| ((i * 13) % 7) as f64 - 3.0).collect();
        let b: Vec<f64> = (0..37).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
        let c = xcorr(&a, &b);
        let len = a.len() as i64;
        for tau in -(len - 1)..len {
            let mut s = 0.0;
            for n in 0..len {
                let m = n + tau;
                if (0..len).contains(&m) {
                    s += a[n as usize] * b[m as usize];
                }
            }
            assert!((c[(tau + len - 1) as usize] - s).abs() < 1e-9, "tau {tau}");
        }
    }
}
