//! Direct-to-reverberant energy ratio of an impulse response.
//!
//! `DRR = 10·log10( Σ_{n ∈ D} h[n]² / Σ_{n > n_p + w} h[n]² )` dB, with `n_p = argmax |h[n]|` the
//! direct-sound peak, `w = round(half_window_s · fs)` and the direct window
//! `D = [max(0, n_p − w), n_p + w]` (default `half_window_s` = 2.5 ms, so a 5 ms window centred on
//! the peak). Samples before the window (pre-delay noise) are in neither sum. An IR with no
//! energy after the window (anechoic) has `DRR = +∞`, returned as `Ok(f64::INFINITY)`.
//!
//! # References
//! * J. Eaton, N. D. Gaubitch, A. H. Moore, P. A. Naylor, "Estimation of room acoustic
//!   parameters: The ACE challenge", IEEE/ACM Trans. ASLP 24(10), 2016 (direct path ±2.5 ms
//!   around the peak, the rest reverberant).
//! * P. Zahorik, "Direct-to-reverberant energy ratio sensitivity", JASA 112(5), 2002.

use crate::dsp::{check_rate, check_signal, energy};
use crate::{EvalError, Result};

/// Default half-width of the direct-sound window: 2.5 ms.
pub const DRR_HALF_WINDOW_S: f64 = 2.5e-3;

/// DRR in dB of impulse response `ir` (see the module docs).
///
/// # Errors
/// Empty/non-finite or all-zero IR, invalid rate or a negative/non-finite window.
pub fn drr_db(ir: &[f32], fs_hz: f64, half_window_s: f64) -> Result<f64> {
    check_signal(ir, "impulse response")?;
    check_rate(fs_hz)?;
    if !(half_window_s.is_finite() && half_window_s >= 0.0) {
        return Err(EvalError::InvalidArgument(format!(
            "direct window half-width must be >= 0 s, got {half_window_s}"
        )));
    }
    let (np, peak) = ir
        .iter()
        .enumerate()
        .fold((0usize, 0.0f32), |acc, (i, &v)| {
            if v.abs() > acc.1 { (i, v.abs()) } else { acc }
        });
    if peak == 0.0 {
        return Err(EvalError::Silent {
            what: "impulse response".into(),
        });
    }
    let w = (half_window_s * fs_hz).round() as usize;
    let d0 = np.saturating_sub(w);
    let d1 = (np + w + 1).min(ir.len());
    let ed = energy(&ir[d0..d1]);
    let er = energy(&ir[d1..]);
    if er == 0.0 {
        return Ok(f64::INFINITY);
    }
    Ok(10.0 * (ed / er).log10())
}
