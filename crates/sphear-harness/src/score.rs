//! The metric set applied to every (scene, method): the same for all methods.
//!
//! | metric | definition |
//! |---|---|
//! | `itd_err_us` | `|ITD_test − ITD_ref|` in µs, GCC-PHAT in 100–1500 Hz, lags within ±1 ms ([`sphear_eval::itd::gcc_phat_itd_s`]) |
//! | `ild_err_db` | mean over third-octave bands 1–8 kHz of `|ILD_test − ILD_ref|` ([`sphear_eval::bands::ild_error_db`]) |
//! | `lsd_db` | third-octave log-spectral distance 100 Hz – min(16 kHz, 0.45 fs), mean of both ears ([`sphear_eval::bands::lsd_bands_db`]) |
//! | `snr_db` | `10·log10(Σ r² / Σ (r − t)²)` over both ears (waveform SNR; +∞ for identical signals) |
//! | `iacc_err` | `|IACC_test − IACC_ref|`, IACC = max over `|τ| ≤ 1 ms` of the normalised interaural cross-correlation (broadband) |
//! | `itd_err_us` @ band | as above in the octave band `[f_c/√2, f_c·√2]`, `f_c` ∈ {125, 250, 500, 1000} Hz |
//! | `ild_err_db` @ band | `|ΔILD|` in each third-octave band 250 Hz – 16 kHz |
//!
//! A metric that cannot be computed (e.g. a band without energy) is reported as a failure with its
//! reason, never as NaN.
//!
//! # References
//! C. Knapp, G. Carter, "The generalized correlation method for estimation of time delay", IEEE
//! TASSP 24(4), 1976 (GCC-PHAT); ISO 3382-1:2009 Annex A (IACC); T. Lübeck, C. Pörschmann, J. M.
//! Arend, "Perceptual evaluation of mitigation approaches of impairments due to spatial undersampling
//! in binaural rendering of spherical microphone array data", JAES 2020 (ITD/ILD/LSD set for array
//! renderers).

use realfft::RealFftPlanner;
use sphear_eval::bands::{ild_error_db, ild_per_band_db, lsd_bands_db, third_octave_centres_hz};
use sphear_eval::itd::gcc_phat_itd_s;

/// Broadband ITD band (Hz).
pub const ITD_BAND_HZ: (f64, f64) = (100.0, 1500.0);
/// Broadband ILD band (Hz).
pub const ILD_BAND_HZ: (f64, f64) = (1000.0, 8000.0);
/// Lower edge of the LSD band (Hz); the upper edge is min(16 kHz, 0.45 fs).
pub const LSD_LO_HZ: f64 = 100.0;
/// Largest lag searched for ITD and IACC (s).
pub const MAX_LAG_S: f64 = 1.0e-3;
/// Octave-band centres of the per-band ITD error (Hz).
pub const ITD_OCTAVES_HZ: [f64; 4] = [125.0, 250.0, 500.0, 1000.0];
/// Range of the per-band ILD error (third-octave centres, Hz).
pub const ILD_BANDS_HZ: (f64, f64) = (250.0, 16000.0);

/// Names of the broadband metrics, in report order.
pub const BROADBAND_METRICS: [&str; 5] =
    ["itd_err_us", "ild_err_db", "lsd_db", "snr_db", "iacc_err"];

/// One score.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Metric name (see the module table).
    pub metric: &'static str,
    /// Band centre for per-band metrics (Hz); `None` for broadband.
    pub band_hz: Option<f64>,
    /// Value (unit in the name; `snr_db` may be +∞).
    pub value: f64,
}

/// Lower-is-better for every metric except `snr_db`.
pub fn higher_is_better(metric: &str) -> bool {
    metric == "snr_db"
}

/// Score a binaural `test` against `reference` (`[2][n]` each, same length and rate).
/// Returns the scores and the failures (`"metric: reason"`).
pub fn score(test: &[Vec<f32>], reference: &[Vec<f32>], fs_hz: f64) -> (Vec<Score>, Vec<String>) {
    let mut out = Vec::new();
    let mut fail = Vec::new();
    if test.len() != 2 || reference.len() != 2 {
        fail.push(format!(
            "all: need 2-channel signals, got {} and {}",
            test.len(),
            reference.len()
        ));
        return (out, fail);
    }
    let (tl, tr, rl, rr) = (
        &test[0][..],
        &test[1][..],
        &reference[0][..],
        &reference[1][..],
    );
    let mut push = |metric: &'static str, band: Option<f64>, r: Result<f64, String>| match r {
        Ok(v) => out.push(Score {
            metric,
            band_hz: band,
            value: v,
        }),
        Err(e) => fail.push(match band {
            Some(b) => format!("{metric}@{b} Hz: {e}"),
            None => format!("{metric}: {e}"),
        }),
    };
    let itd = |lo: f64, hi: f64| -> Result<f64, String> {
        let a = gcc_phat_itd_s(tl, tr, fs_hz, lo, hi, MAX_LAG_S).map_err(|e| e.to_string())?;
        let b = gcc_phat_itd_s(rl, rr, fs_hz, lo, hi, MAX_LAG_S).map_err(|e| e.to_string())?;
        Ok((a - b).abs() * 1e6)
    };
    push("itd_err_us", None, itd(ITD_BAND_HZ.0, ITD_BAND_HZ.1));
    push(
        "ild_err_db",
        None,
        ild_error_db([tl, tr], [rl, rr], fs_hz, ILD_BAND_HZ.0, ILD_BAND_HZ.1)
            .map_err(|e| e.to_string()),
    );
    let lsd_hi = (0.45 * fs_hz).min(16000.0);
    push(
        "lsd_db",
        None,
        lsd_bands_db(tl, rl, fs_hz, LSD_LO_HZ, lsd_hi)
            .and_then(|a| Ok(0.5 * (a + lsd_bands_db(tr, rr, fs_hz, LSD_LO_HZ, lsd_hi)?)))
            .map_err(|e| e.to_string()),
    );
    push("snr_db", None, snr_db(test, reference));
    push(
        "iacc_err",
        None,
        iacc(tl, tr, fs_hz).and_then(|a| Ok((a - iacc(rl, rr, fs_hz)?).abs())),
    );
    for fc in ITD_OCTAVES_HZ {
        push(
            "itd_err_us",
            Some(fc),
            itd(fc / std::f64::consts::SQRT_2, fc * std::f64::consts::SQRT_2),
        );
    }
    let centres: Vec<f64> =
        third_octave_centres_hz(ILD_BANDS_HZ.0, ILD_BANDS_HZ.1.min(0.4 * fs_hz));
    let ild_bands = ild_per_band_db(tl, tr, fs_hz, &centres)
        .and_then(|a| Ok((a, ild_per_band_db(rl, rr, fs_hz, &centres)?)));
    match ild_bands {
        Ok((a, b)) => {
            for ((fc, x), y) in centres.iter().zip(a).zip(b) {
                push("ild_err_db", Some(*fc), Ok((x - y).abs()));
            }
        }
        Err(e) => push("ild_err_db", Some(0.0), Err(e.to_string())),
    }
    (out, fail)
}

/// Waveform SNR over both ears, `10·log10(Σ r² / Σ (r − t)²)`; +∞ when identical.
///
/// # Errors
/// Mismatched lengths, non-finite samples, silent reference.
pub fn snr_db(test: &[Vec<f32>], reference: &[Vec<f32>]) -> Result<f64, String> {
    let (mut es, mut ee) = (0.0f64, 0.0f64);
    for (t, r) in test.iter().zip(reference) {
        if t.len() != r.len() {
            return Err(format!("lengths differ ({} vs {})", t.len(), r.len()));
        }
        for (&a, &b) in t.iter().zip(r) {
            if !(a.is_finite() && b.is_finite()) {
                return Err("non-finite samples".into());
            }
            es += f64::from(b) * f64::from(b);
            ee += (f64::from(a) - f64::from(b)).powi(2);
        }
    }
    if es <= 0.0 {
        return Err("silent reference".into());
    }
    Ok(if ee == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (es / ee).log10()
    })
}

/// Broadband IACC: `max_{|τ| ≤ 1 ms} |Σ l[n] r[n+τ]| / √(Σ l² Σ r²)` (FFT cross-correlation).
///
/// # Errors
/// Mismatched/empty signals, a silent ear.
pub fn iacc(l: &[f32], r: &[f32], fs_hz: f64) -> Result<f64, String> {
    if l.len() != r.len() || l.is_empty() {
        return Err("ears differ in length or are empty".into());
    }
    let el: f64 = l.iter().map(|v| f64::from(*v).powi(2)).sum();
    let er: f64 = r.iter().map(|v| f64::from(*v).powi(2)).sum();
    if !(el > 0.0 && er > 0.0 && el.is_finite() && er.is_finite()) {
        return Err("a silent or non-finite ear".into());
    }
    let n = (2 * l.len()).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spec = |x: &[f32]| -> Result<Vec<num_complex::Complex64>, String> {
        let mut b = vec![0.0; n];
        for (d, &v) in b.iter_mut().zip(x) {
            *d = f64::from(v);
        }
        let mut s = fwd.make_output_vec();
        fwd.process(&mut b, &mut s).map_err(|e| e.to_string())?;
        Ok(s)
    };
    let (a, b) = (spec(l)?, spec(r)?);
    let mut x: Vec<num_complex::Complex64> = a.iter().zip(&b).map(|(p, q)| p.conj() * q).collect();
    let mut c = inv.make_output_vec();
    inv.process(&mut x, &mut c).map_err(|e| e.to_string())?;
    let max_lag = ((MAX_LAG_S * fs_hz).round() as usize).min(l.len() - 1);
    let norm = n as f64 * (el * er).sqrt();
    let mut best = 0.0f64;
    for lag in 0..=max_lag {
        best = best.max(c[lag].abs()).max(c[(n - lag) % n].abs());
    }
    Ok(best / norm)
}
