//! Correlation and coherence: normalised cross-correlation ([`ncc_max`], [`ncc_lag0`]), the
//! interaural cross-correlation coefficient ([`iacc`]) and per-band interaural coherence
//! ([`ic_per_band`]).
//!
//! Normalised cross-correlation of `a` and `b` at lag `τ` (samples):
//! `ρ(τ) = Σ_n a[n]·b[n+τ] / sqrt(Σ_n a[n]² · Σ_n b[n]²)` (linear, zero outside the signals), so
//! `|ρ| ≤ 1` and `ρ(0) = 1` for identical signals. With `b` = `a` delayed by `d`, the peak is at
//! `τ = d` (for `a` = left, `b` = right: `τ` = ITD in samples, `t_right − t_left`).
//!
//! # References
//! * ISO 3382-1:2009, Annex A (IACF and IACC = max |IACF| for |τ| ≤ 1 ms).
//! * C. Faller, J. Merimaa, "Source localization in complex listening situations: Selection of
//!   binaural cues based on interaural coherence", JASA 116(5), 2004 (per-band IC).
//! * J. S. Bendat, A. G. Piersol, *Random Data*, 4th ed., Wiley 2010, §9.2.3 (bias of the
//!   coherence estimate: `E|γ̂|² ≈ 1/n_d` for independent signals over `n_d` segments).

use crate::bands::Band;
use crate::dsp::{check_band, check_pair, check_rate, energy, to_f64, xcorr};
use crate::stft::{StftConfig, stft};
use crate::{EvalError, Result};

/// The value and lag of a correlation peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorrelationPeak {
    /// Normalised correlation at the peak.
    pub value: f64,
    /// Lag of the peak, samples (`b` relative to `a`; positive = `b` later).
    pub lag_samples: i64,
}

/// Energies of a checked pair (equal length, finite, non-empty), both nonzero.
fn checked_energies(a: &[f32], b: &[f32]) -> Result<(f64, f64)> {
    check_pair(a, b, "first signal", "second signal")?;
    let (ea, eb) = (energy(a), energy(b));
    if ea <= 0.0 || eb <= 0.0 {
        return Err(EvalError::Silent {
            what: if ea <= 0.0 {
                "first signal"
            } else {
                "second signal"
            }
            .into(),
        });
    }
    Ok((ea, eb))
}

fn normalised_xcorr(a: &[f32], b: &[f32]) -> Result<Vec<f64>> {
    let (ea, eb) = checked_energies(a, b)?;
    let norm = 1.0 / (ea * eb).sqrt();
    Ok(xcorr(&to_f64(a), &to_f64(b))
        .into_iter()
        .map(|v| v * norm)
        .collect())
}

/// `ρ(0)`: the normalised correlation at lag 0, in `[−1, 1]`.
///
/// # Errors
/// Empty/non-finite/mismatched or silent inputs.
pub fn ncc_lag0(a: &[f32], b: &[f32]) -> Result<f64> {
    let (ea, eb) = checked_energies(a, b)?;
    let c: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    Ok(c / (ea * eb).sqrt())
}

/// The maximum (signed) of `ρ(τ)` over `|τ| ≤ max_lag_samples` and its lag.
///
/// # Errors
/// Empty/non-finite/mismatched or silent inputs.
pub fn ncc_max(a: &[f32], b: &[f32], max_lag_samples: usize) -> Result<CorrelationPeak> {
    let c = normalised_xcorr(a, b)?;
    Ok(peak(&c, a.len(), max_lag_samples, false))
}

fn peak(c: &[f64], len: usize, max_lag: usize, absolute: bool) -> CorrelationPeak {
    let len = len as i64;
    let m = (max_lag as i64).min(len - 1);
    let mut best = CorrelationPeak {
        value: f64::NEG_INFINITY,
        lag_samples: 0,
    };
    for tau in -m..=m {
        let v = c[(tau + len - 1) as usize];
        let key = if absolute { v.abs() } else { v };
        if key > best.value {
            best = CorrelationPeak {
                value: key,
                lag_samples: tau,
            };
        }
    }
    best
}

/// Default lag range of [`iacc`]: 1 ms.
pub const IACC_MAX_LAG_S: f64 = 1e-3;

/// Interaural cross-correlation coefficient `IACC = max_{|τ| ≤ max_lag_s} |ρ_LR(τ)|` (ISO 3382-1,
/// over the whole signals given) and its lag in samples (positive: right later, i.e. the ITD).
///
/// # Errors
/// Empty/non-finite/mismatched or silent inputs, a negative or non-finite `max_lag_s`.
pub fn iacc(l: &[f32], r: &[f32], fs_hz: f64, max_lag_s: f64) -> Result<CorrelationPeak> {
    check_rate(fs_hz)?;
    if !(max_lag_s.is_finite() && max_lag_s >= 0.0) {
        return Err(EvalError::InvalidArgument(format!(
            "max_lag_s must be >= 0, got {max_lag_s}"
        )));
    }
    let c = normalised_xcorr(l, r)?;
    Ok(peak(
        &c,
        l.len(),
        (max_lag_s * fs_hz).round() as usize,
        true,
    ))
}

/// Interaural coherence per band from the STFT (frames `t`, bins `k`):
/// `γ[k] = |Σ_t L_t[k]·R_t[k]*| / sqrt(Σ_t |L_t[k]|² · Σ_t |R_t[k]|²)`, and for each band the mean
/// of `γ[k]` over the bins `k·fs/N` inside `[lo, hi]` whose auto-spectra are both nonzero.
/// 1 for identical (or scaled, or delayed by much less than a frame) signals; for independent
/// signals the estimate is biased upwards, `E γ ≈ √(π/(4T))` for `T` independent frames (see the
/// module references), so use many frames.
///
/// # Errors
/// Empty/non-finite/mismatched inputs, an invalid STFT config, a band above Nyquist, a band
/// containing no bin with energy in both channels.
pub fn ic_per_band(
    l: &[f32],
    r: &[f32],
    fs_hz: f64,
    cfg: &StftConfig,
    bands: &[Band],
) -> Result<Vec<f64>> {
    check_pair(l, r, "left", "right")?;
    for b in bands {
        check_band(b.lo_hz, b.hi_hz, fs_hz)?;
    }
    let sl = stft(l, cfg)?;
    let sr = stft(r, cfg)?;
    let bins = cfg.num_bins();
    let mut gamma = vec![None; bins];
    for (k, g) in gamma.iter_mut().enumerate() {
        let (mut cross, mut pl, mut pr) = (num_complex::Complex64::new(0.0, 0.0), 0.0, 0.0);
        for (fl, fr) in sl.iter().zip(&sr) {
            cross += fl[k] * fr[k].conj();
            pl += fl[k].norm_sqr();
            pr += fr[k].norm_sqr();
        }
        if pl > 0.0 && pr > 0.0 {
            *g = Some((cross.norm() / (pl * pr).sqrt()).min(1.0));
        }
    }
    let df = fs_hz / cfg.fft_len as f64;
    bands
        .iter()
        .map(|b| {
            let k0 = (b.lo_hz / df).ceil() as usize;
            let k1 = ((b.hi_hz / df).floor() as usize).min(bins - 1);
            let vals: Vec<f64> = (k0..=k1)
                .filter_map(|k| gamma.get(k).copied().flatten())
                .collect();
            if vals.is_empty() {
                return Err(EvalError::Undefined(format!(
                    "IC: no bin with energy in both ears between {} and {} Hz",
                    b.lo_hz, b.hi_hz
                )));
            }
            Ok(vals.iter().sum::<f64>() / vals.len() as f64)
        })
        .collect()
}
