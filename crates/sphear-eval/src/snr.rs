//! Signal-to-noise ratio and segmental SNR of an estimate against a reference.
//!
//! * [`snr_db`]: `SNR = 10·log10(Σ_n s[n]² / Σ_n (s[n] − ŝ[n])²)` dB, `s` the reference, `ŝ` the
//!   estimate.
//! * [`segmental_snr_db`]: the mean over frames of the per-frame SNR clamped to
//!   `[min_db, max_db]` (default −10…35 dB), frames of 30 ms with a 7.5 ms hop and a periodic
//!   Hann window applied to reference and error alike (the framing of Loizou's `comp_snr`).
//!
//! **Identical signals:** the error energy is 0 and the SNR is `+∞`; [`snr_db`] returns
//! `Ok(f64::INFINITY)` (never NaN). In [`segmental_snr_db`] such a frame counts as `max_db`, a
//! frame where the reference is silent but the error is not counts as `min_db`, and a frame where
//! both are silent (0/0) is left out of the mean.
//!
//! # References
//! * S. R. Quackenbush, T. P. Barnwell, M. A. Clements, *Objective Measures of Speech Quality*,
//!   Prentice-Hall, 1988 (segmental SNR).
//! * J. H. L. Hansen, B. Pellom, "An effective quality evaluation protocol for speech
//!   enhancement algorithms", ICSLP 1998 (clamps −10…35 dB).
//! * Y. Hu, P. C. Loizou, "Evaluation of objective quality measures for speech enhancement",
//!   IEEE Trans. ASLP 16(1), 2008 (the `comp_snr` framing: 30 ms, quarter-frame hop).

use crate::dsp::{check_pair, check_rate, energy};
use crate::stft::hann_periodic;
use crate::{EvalError, Result};

/// SNR in dB of `estimate` against `reference` (see the module docs). `Ok(f64::INFINITY)` when
/// the two are identical. Scale-invariant: `snr_db(a·s, a·ŝ) = snr_db(s, ŝ)` for `a ≠ 0`.
///
/// ```
/// let s = [1.0f32, -1.0, 1.0, -1.0];
/// let e = [1.1f32, -0.9, 1.1, -0.9]; // error power 0.01, signal power 1
/// assert!((sphear_eval::snr::snr_db(&s, &e).unwrap() - 20.0).abs() < 1e-5);
/// assert_eq!(sphear_eval::snr::snr_db(&s, &s).unwrap(), f64::INFINITY);
/// ```
///
/// # Errors
/// Empty, non-finite or mismatched inputs; a silent reference ([`EvalError::Silent`]).
pub fn snr_db(reference: &[f32], estimate: &[f32]) -> Result<f64> {
    check_pair(reference, estimate, "reference", "estimate")?;
    let es = energy(reference);
    if es <= 0.0 {
        return Err(EvalError::Silent {
            what: "reference".into(),
        });
    }
    let en: f64 = reference
        .iter()
        .zip(estimate)
        .map(|(&s, &e)| {
            let d = f64::from(s) - f64::from(e);
            d * d
        })
        .sum();
    if en == 0.0 {
        return Ok(f64::INFINITY);
    }
    Ok(10.0 * (es / en).log10())
}

/// Parameters of [`segmental_snr_db`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegSnrConfig {
    /// Frame length in seconds (rounded to samples), default 0.030.
    pub frame_s: f64,
    /// Hop in seconds (rounded to samples, ≥ 1), default 0.0075.
    pub hop_s: f64,
    /// Lower clamp of a frame's SNR, dB (default −10).
    pub min_db: f64,
    /// Upper clamp of a frame's SNR, dB (default 35).
    pub max_db: f64,
}

impl Default for SegSnrConfig {
    fn default() -> Self {
        Self {
            frame_s: 0.030,
            hop_s: 0.0075,
            min_db: -10.0,
            max_db: 35.0,
        }
    }
}

/// Segmental SNR in dB (see the module docs):
/// `segSNR = (1/M) Σ_m clamp(10·log10(Σ_n (w s_m)² / Σ_n (w (s_m − ŝ_m))²), min_db, max_db)`
/// over the `M` complete frames `m` (start `m·hop`, length `L`), 0/0 frames excluded.
///
/// # Errors
/// Empty/non-finite/mismatched inputs, a signal shorter than one frame, an invalid config, or a
/// silent reference.
pub fn segmental_snr_db(
    reference: &[f32],
    estimate: &[f32],
    fs_hz: f64,
    cfg: &SegSnrConfig,
) -> Result<f64> {
    check_pair(reference, estimate, "reference", "estimate")?;
    check_rate(fs_hz)?;
    let frame = (cfg.frame_s * fs_hz).round();
    let hop = (cfg.hop_s * fs_hz).round();
    if !(frame >= 1.0 && hop >= 1.0 && cfg.min_db < cfg.max_db) {
        return Err(EvalError::InvalidArgument(format!(
            "segmental SNR needs frame and hop of at least one sample and min_db < max_db (got {cfg:?} at {fs_hz} Hz)"
        )));
    }
    let (frame, hop) = (frame as usize, hop as usize);
    if reference.len() < frame {
        return Err(EvalError::InvalidSignal(format!(
            "segmental SNR: {} samples is shorter than one frame of {frame}",
            reference.len()
        )));
    }
    if energy(reference) <= 0.0 {
        return Err(EvalError::Silent {
            what: "reference".into(),
        });
    }
    let w = hann_periodic(frame);
    let n_frames = (reference.len() - frame) / hop + 1;
    let mut sum = 0.0;
    let mut count = 0usize;
    for m in 0..n_frames {
        let s = &reference[m * hop..m * hop + frame];
        let e = &estimate[m * hop..m * hop + frame];
        let (mut es, mut en) = (0.0f64, 0.0f64);
        for ((&a, &b), &wv) in s.iter().zip(e).zip(&w) {
            let a = f64::from(a) * wv;
            let d = a - f64::from(b) * wv;
            es += a * a;
            en += d * d;
        }
        let v = match (es > 0.0, en > 0.0) {
            (false, false) => continue,
            (true, false) => cfg.max_db,
            (false, true) => cfg.min_db,
            (true, true) => (10.0 * (es / en).log10()).clamp(cfg.min_db, cfg.max_db),
        };
        sum += v;
        count += 1;
    }
    if count == 0 {
        return Err(EvalError::Silent {
            what: "reference and error in every frame".into(),
        });
    }
    Ok(sum / count as f64)
}
