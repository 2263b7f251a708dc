//! The metric set applied to every (scene, method): the same for all methods.
//!
//! | metric | definition |
//! |---|---|
//! | `itd_err_us` | `|ITD_test − ITD_ref|` in µs, GCC-PHAT in 100–1500 Hz, lags within ±1 ms ([`sphear_eval::itd::gcc_phat_itd_s`]) |
//! | `ild_err_db` | mean over third-octave bands 1–8 kHz of `|ILD_test − ILD_ref|` ([`sphear_eval::bands::ild_error_db`]) |
//! | `lsd_db` | third-octave log-spectral distance 100 Hz – min(16 kHz, 0.45 fs), mean of both ears ([`sphear_eval::bands::lsd_bands_db`]) |
//! | `snr_db` | `10·log10(Σ r² / Σ (r − t)²)` over both ears (waveform SNR; +∞ for identical signals; [`sphear_eval::snr::snr_db`] on the concatenated ears) |
//! | `iacc_err` | `|IACC_test − IACC_ref|`, IACC = max over `|τ| ≤ 1 ms` of the normalised interaural cross-correlation, broadband ([`sphear_eval::coherence::iacc`]) |
//! | `segsnr_db` | segmental SNR, mean of both ears ([`sphear_eval::snr::segmental_snr_db`], default frames) |
//! | `mfcc_dist` | MFCC distance (c₁…c₁₂), mean of both ears ([`sphear_eval::spectral::mfcc_distance`]) |
//! | `mrstft` | multi-resolution STFT distance (SC + log-mag), mean of both ears ([`sphear_eval::spectral::mr_stft_distance`]) |
//! | `lateral_err_deg` | lateral-angle difference between the ITD/ILD cue-lookup localisations ([`sphear_eval::localise::CueTable`], the run's HRTF set) of test and reference; single-source scenes only |
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

use sphear_eval::bands::{ild_error_db, ild_per_band_db, lsd_bands_db, third_octave_centres_hz};
use sphear_eval::coherence::iacc;
use sphear_eval::itd::gcc_phat_itd_s;
use sphear_eval::localise::{CueTable, lateral_error_rad};
use sphear_eval::snr::{SegSnrConfig, segmental_snr_db};
use sphear_eval::spectral::{MR_STFT_RESOLUTIONS, MfccConfig, mfcc_distance, mr_stft_distance};

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
pub const BROADBAND_METRICS: [&str; 9] = [
    "itd_err_us",
    "ild_err_db",
    "lsd_db",
    "snr_db",
    "iacc_err",
    "segsnr_db",
    "mfcc_dist",
    "mrstft",
    "lateral_err_deg",
];

/// A per-ear metric `(reference, test) → value`.
type PerEar<'a> = dyn Fn(&[f32], &[f32]) -> sphear_eval::Result<f64> + 'a;

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

/// Lower-is-better for every metric except `snr_db` and `segsnr_db`.
pub fn higher_is_better(metric: &str) -> bool {
    metric == "snr_db" || metric == "segsnr_db"
}

/// Score a binaural `test` against `reference` (`[2][n]` each, same length and rate), without
/// the localisation metric. Returns the scores and the failures (`"metric: reason"`).
pub fn score(test: &[Vec<f32>], reference: &[Vec<f32>], fs_hz: f64) -> (Vec<Score>, Vec<String>) {
    score_with(test, reference, fs_hz, None)
}

/// [`score`] plus `lateral_err_deg` when a cue table is given (use it for single-source scenes).
pub fn score_with(
    test: &[Vec<f32>],
    reference: &[Vec<f32>],
    fs_hz: f64,
    cues: Option<&CueTable>,
) -> (Vec<Score>, Vec<String>) {
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
    let ia = |l: &[f32], r: &[f32]| iacc(l, r, fs_hz, MAX_LAG_S).map(|p| p.value);
    push(
        "iacc_err",
        None,
        ia(tl, tr)
            .and_then(|a| Ok((a - ia(rl, rr)?).abs()))
            .map_err(|e| e.to_string()),
    );
    let both = |f: &PerEar| -> Result<f64, String> {
        Ok(0.5 * (f(rl, tl).map_err(|e| e.to_string())? + f(rr, tr).map_err(|e| e.to_string())?))
    };
    let seg = SegSnrConfig::default();
    push(
        "segsnr_db",
        None,
        both(&|r, t| segmental_snr_db(r, t, fs_hz, &seg)),
    );
    let mf = MfccConfig::default();
    push(
        "mfcc_dist",
        None,
        both(&|r, t| mfcc_distance(r, t, fs_hz, &mf)),
    );
    push(
        "mrstft",
        None,
        both(&|r, t| mr_stft_distance(r, t, &MR_STFT_RESOLUTIONS).map(|d| d.total)),
    );
    if let Some(table) = cues {
        let loc = |l: &[f32], r: &[f32]| table.localise(l, r, fs_hz).map(|x| x.direction);
        push(
            "lateral_err_deg",
            None,
            loc(tl, tr)
                .and_then(|a| Ok(lateral_error_rad(&a, &loc(rl, rr)?).abs().to_degrees()))
                .map_err(|e| e.to_string()),
        );
    }
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

/// Waveform SNR over both ears, `10·log10(Σ r² / Σ (r − t)²)`; +∞ when identical
/// ([`sphear_eval::snr::snr_db`] on the concatenated ears).
///
/// # Errors
/// Mismatched lengths, non-finite samples, silent reference.
pub fn snr_db(test: &[Vec<f32>], reference: &[Vec<f32>]) -> Result<f64, String> {
    let cat = |x: &[Vec<f32>]| -> Vec<f32> { x.iter().flatten().copied().collect() };
    if test.iter().map(Vec::len).ne(reference.iter().map(Vec::len)) {
        return Err("channel lengths differ".into());
    }
    sphear_eval::snr::snr_db(&cat(reference), &cat(test)).map_err(|e| e.to_string())
}
