//! Known-answer tests of every metric: pure delays, level differences, identical signals,
//! additive noise of known power, independent noise, synthetic impulse responses.

mod common;

use common::{burst, circular_delay, noise};
use sphear_eval::bands::{
    erb_bands, ild_erb_error_db, ild_per_band_db, ild_per_erb_band_db, third_octave_bands,
    third_octave_centres_hz,
};
use sphear_eval::coherence::{IACC_MAX_LAG_S, iacc, ic_per_band, ncc_lag0, ncc_max};
use sphear_eval::drr::{DRR_HALF_WINDOW_S, drr_db};
use sphear_eval::itd::{
    MaxIacceConfig, gcc_phat_itd_per_band_s, gcc_phat_itd_s, itd_error_us, maxiacce_itd_s,
};
use sphear_eval::snr::{SegSnrConfig, segmental_snr_db, snr_db};
use sphear_eval::spectral::{
    DEFAULT_LSD_STFT, MR_STFT_RESOLUTIONS, MfccConfig, binaural_stft_lsd, mfcc_distance,
    mr_stft_distance, stft_lsd,
};
use sphear_eval::stft::StftConfig;
use sphear_eval::{EvalError, bands};

const FS: f64 = 48_000.0;

/// Delays (samples) used for the ITD tests: integer and fractional, both signs.
const DELAYS: [f64; 9] = [-30.0, -12.5, -3.25, -1.0, 0.0, 0.4, 1.0, 7.75, 21.1];

/// GCC-PHAT on a tapered noise burst (zero-padded, so the circular fractional delay does not
/// wrap) and its delayed copy.
/// Stated tolerance: 0.02 samples (0.4 µs) for integer and fractional delays.
const GCC_TOL_SAMPLES: f64 = 0.02;

#[test]
fn gcc_phat_pure_delays_integer_and_fractional() {
    let x = burst(16384, 11);
    let mut worst = 0.0f64;
    for d in DELAYS {
        let r = circular_delay(&x, d);
        let itd = gcc_phat_itd_s(&x, &r, FS, 100.0, 1500.0, 1e-3).expect("itd");
        let err = (itd * FS - d).abs();
        worst = worst.max(err);
        assert!(err < GCC_TOL_SAMPLES, "delay {d}: got {} samples", itd * FS);
    }
    println!("GCC-PHAT worst |error| = {worst:.5} samples");
}

/// MaxIACCe on running signals (lags limited to ±1 ms), default 3 kHz order-10 low-pass.
/// Stated tolerance: 0.05 samples.
#[test]
fn maxiacce_pure_delays_on_signals() {
    let x = burst(16384, 12);
    let cfg = MaxIacceConfig {
        max_lag_s: Some(1e-3),
        ..MaxIacceConfig::default()
    };
    let mut worst = 0.0f64;
    for d in DELAYS {
        let r = circular_delay(&x, d);
        let m = maxiacce_itd_s(&x, &r, FS, &cfg).expect("itd");
        let err = (m.itd_s * FS - d).abs();
        worst = worst.max(err);
        assert!(err < 0.05, "delay {d}: got {} samples", m.itd_s * FS);
        assert!(m.envelope_correlation > 0.99 && m.envelope_correlation <= 1.0 + 1e-12);
    }
    println!("MaxIACCe (signals) worst |error| = {worst:.5} samples");
}

/// MaxIACCe on impulse responses (all lags searched, as AMT): band-limited impulses at
/// fractional positions, the right one also scaled. Stated tolerance: 0.1 samples.
#[test]
fn maxiacce_pure_delays_on_impulse_responses() {
    let mut imp = vec![0.0f32; 512];
    imp[0] = 1.0;
    let mut worst = 0.0f64;
    for d in DELAYS {
        let l = circular_delay(&imp, 100.0);
        let r: Vec<f32> = circular_delay(&imp, 100.0 + d)
            .iter()
            .map(|v| 0.3 * v)
            .collect();
        let m = maxiacce_itd_s(&l, &r, FS, &MaxIacceConfig::default()).expect("itd");
        let err = (m.itd_s * FS - d).abs();
        worst = worst.max(err);
        assert!(err < 0.1, "delay {d}: got {} samples", m.itd_s * FS);
    }
    println!("MaxIACCe (IRs) worst |error| = {worst:.5} samples");
}

/// Per-band GCC-PHAT (third octaves 125–1250 Hz) of a pure fractional delay: every band within
/// the same stated 0.02-sample tolerance.
#[test]
fn gcc_phat_per_band_pure_delay() {
    let x = burst(48000, 13);
    let bands = third_octave_bands(125.0, 1250.0);
    for d in [-17.3, 4.6] {
        let r = circular_delay(&x, d);
        let itds = gcc_phat_itd_per_band_s(&x, &r, FS, &bands, 1e-3).expect("itd");
        assert_eq!(itds.len(), bands.len());
        for (b, itd) in bands.iter().zip(itds) {
            let err = (itd * FS - d).abs();
            assert!(
                err < GCC_TOL_SAMPLES,
                "{} Hz, delay {d}: {}",
                b.centre_hz,
                itd * FS
            );
        }
    }
}

#[test]
fn itd_error_in_microseconds() {
    assert!((itd_error_us(250e-6, 200e-6) - 50.0).abs() < 1e-9);
    assert!((itd_error_us(-100e-6, 100e-6) - 200.0).abs() < 1e-9);
}

#[test]
fn level_differences_give_exact_ild_third_octave_and_erb() {
    let x = noise(8192, 3);
    for g_db in [-12.0, -3.0, 0.5, 6.0, 20.0] {
        let a = 10f64.powf(-g_db / 20.0) as f32;
        let r: Vec<f32> = x.iter().map(|v| v * a).collect();
        // f32 scaling: relative error of a ≈ 6e-8 → 5e-7 dB
        for v in ild_per_band_db(&x, &r, FS, &third_octave_centres_hz(1000.0, 8000.0)).expect("ild")
        {
            assert!((v - g_db).abs() < 1e-5, "{v} vs {g_db}");
        }
        let erb = ild_per_erb_band_db(&x, &r, FS, 1000.0, 8000.0).expect("ild");
        assert_eq!(erb.len(), erb_bands(1000.0, 8000.0).len());
        for v in erb {
            assert!((v - g_db).abs() < 1e-5, "{v} vs {g_db}");
        }
        // against a reference with the level difference g: error |g - g'|
        let e = ild_erb_error_db([&x, &r], [&x, &x], FS, 1000.0, 8000.0).expect("err");
        assert!((e - g_db.abs()).abs() < 1e-5);
    }
}

#[test]
fn erb_bands_are_one_erb_wide_and_cover_1_to_8_khz() {
    let b = erb_bands(1000.0, 8000.0);
    // E(1 kHz) = 15.62, E(8 kHz) = 33.16 → 18 centres one Cam apart
    assert_eq!(b.len(), 18);
    assert!((b[0].centre_hz - 1000.0).abs() < 1e-9);
    for w in b.windows(2) {
        assert!(
            (w[0].hi_hz - w[1].lo_hz).abs() < 1e-9,
            "bands are contiguous"
        );
        let e = bands::erb_number(w[1].centre_hz) - bands::erb_number(w[0].centre_hz);
        assert!((e - 1.0).abs() < 1e-9);
    }
    // ERB at 1 kHz = 24.7·(4.37 + 1) = 132.6 Hz: the band is about one ERB wide
    assert!(((b[0].hi_hz - b[0].lo_hz) - 132.6).abs() < 1.0);
    assert_eq!(third_octave_bands(1000.0, 8000.0).len(), 10);
}

#[test]
fn identical_signals_zero_distance_and_infinite_snr() {
    let x = noise(20000, 4);
    let y = noise(20000, 5);
    assert_eq!(snr_db(&x, &x).expect("snr"), f64::INFINITY);
    let seg = segmental_snr_db(&x, &x, FS, &SegSnrConfig::default()).expect("seg");
    assert_eq!(seg, 35.0, "every frame clamps at max_db");
    assert_eq!(stft_lsd(&x, &x, &DEFAULT_LSD_STFT).expect("lsd"), 0.0);
    assert_eq!(
        binaural_stft_lsd([&x, &y], [&x, &y], &DEFAULT_LSD_STFT).expect("lsd"),
        0.0
    );
    assert_eq!(
        bands::lsd_bands_db(&x, &x, FS, 100.0, 16000.0).expect("lsd"),
        0.0
    );
    let mr = mr_stft_distance(&x, &x, &MR_STFT_RESOLUTIONS).expect("mr");
    assert_eq!(
        (mr.spectral_convergence, mr.log_magnitude, mr.total),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(
        mfcc_distance(&x, &x, FS, &MfccConfig::default()).expect("mfcc"),
        0.0
    );
    assert!((ncc_lag0(&x, &x).expect("ncc") - 1.0).abs() < 1e-12);
}

#[test]
fn scaled_estimate_gives_analytic_distances() {
    let x = noise(20000, 6);
    let a = 0.5f32;
    let y: Vec<f32> = x.iter().map(|v| v * a).collect();
    // STFT LSD: every bin differs by log10(a²)
    let lsd = stft_lsd(&x, &y, &DEFAULT_LSD_STFT).expect("lsd");
    assert!((lsd - (2.0 * 2f64.log10())).abs() < 1e-6, "{lsd}");
    // MR-STFT: SC = |1 − a|, log-mag = |ln a| (floor 1e-7 is far below the bins' power)
    let mr = mr_stft_distance(&x, &y, &MR_STFT_RESOLUTIONS).expect("mr");
    assert!((mr.spectral_convergence - 0.5).abs() < 1e-6, "{mr:?}");
    assert!((mr.log_magnitude - 2f64.ln()).abs() < 1e-6, "{mr:?}");
    // MFCC: a gain only moves c_0 (ln a² · √M) — c_1… and hence the distance stay 0
    let d = mfcc_distance(&x, &y, FS, &MfccConfig::default()).expect("mfcc");
    assert!(d < 1e-9, "{d}");
    // segmental SNR: every frame has SNR 10·log10(1/(1−a)²) = 6.0206 dB
    let seg = segmental_snr_db(&x, &y, FS, &SegSnrConfig::default()).expect("seg");
    assert!((seg - 20.0 * 2f64.log10()).abs() < 1e-6, "{seg}");
}

#[test]
fn snr_of_additive_noise_of_known_power_is_analytic() {
    let x = noise(48000, 7);
    let n0 = noise(48000, 8);
    let ex: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum();
    let en: f64 = n0.iter().map(|&v| f64::from(v).powi(2)).sum();
    for target_db in [-5.0, 0.0, 10.0, 30.0] {
        let g = (ex / en / 10f64.powf(target_db / 10.0)).sqrt();
        let y: Vec<f32> = x
            .iter()
            .zip(&n0)
            .map(|(&s, &n)| (f64::from(s) + g * f64::from(n)) as f32)
            .collect();
        let snr = snr_db(&x, &y).expect("snr");
        // only the f32 rounding of y (relative 6e-8 of the signal) separates it from the target
        assert!((snr - target_db).abs() < 1e-3, "{snr} vs {target_db}");
    }
}

/// Independent noise: per-bin coherence is bounded by `E γ ≈ √(π/(4T))` (T independent
/// frames); we assert `< 2/√T` for Hann frames with 50 % overlap (which are slightly correlated).
#[test]
fn coherence_of_independent_noise_is_small_and_of_identical_is_one() {
    let n = 48000 * 4;
    let l = noise(n, 21);
    let r = noise(n, 22);
    let cfg = StftConfig::new(1024, 512);
    let frames = cfg.num_frames(n) as f64;
    let bands = third_octave_bands(200.0, 16000.0);
    let ic = ic_per_band(&l, &r, FS, &cfg, &bands).expect("ic");
    let bound = 2.0 / frames.sqrt();
    for (b, v) in bands.iter().zip(&ic) {
        assert!(*v < bound, "{} Hz: IC {v} vs bound {bound}", b.centre_hz);
    }
    println!(
        "independent noise: mean IC {:.4}, bound {bound:.4}, √(π/4T) = {:.4}",
        ic.iter().sum::<f64>() / ic.len() as f64,
        (std::f64::consts::PI / (4.0 * frames)).sqrt()
    );
    let same = ic_per_band(&l, &l, FS, &cfg, &bands).expect("ic");
    for v in same {
        assert!((v - 1.0).abs() < 1e-12);
    }
    // a scaled copy is fully coherent too
    let half: Vec<f32> = l.iter().map(|v| v * 0.5).collect();
    for v in ic_per_band(&l, &half, FS, &cfg, &bands).expect("ic") {
        assert!((v - 1.0).abs() < 1e-12);
    }
    // IACC of independent noise: ~N(0, 1/n) per lag, max over 97 lags ≪ 5/√n
    let ia = iacc(&l, &r, FS, IACC_MAX_LAG_S).expect("iacc");
    assert!(ia.value < 5.0 / (n as f64).sqrt(), "{ia:?}");
}

fn shifted_abs(x: &[f32], d: i64) -> Vec<f32> {
    (0..x.len() as i64)
        .map(|i| if i - d >= 0 { x[(i - d) as usize] } else { 0.0 })
        .collect()
}

#[test]
fn iacc_and_ncc_of_delayed_copies() {
    let mut x = noise(4000, 31);
    x.extend(std::iter::repeat_n(0.0, 100));
    for d in [-40i64, -7, 0, 3, 25] {
        let shifted = shifted_abs(&x, d.max(0));
        // x has 100 trailing zeros, so a shift by |d| ≤ 100 is exact: for d ≥ 0 the right
        // channel is x delayed by d; for d < 0 the left one is delayed by |d|. Either way the
        // peak is at lag d with ρ = 1.
        let delayed_left = shifted_abs(&x, d.abs());
        let (a, b) = if d >= 0 {
            (&x, &shifted)
        } else {
            (&delayed_left, &x)
        };
        let ia = iacc(a, b, FS, IACC_MAX_LAG_S).expect("iacc");
        assert_eq!(ia.lag_samples, d);
        assert!((ia.value - 1.0).abs() < 1e-9, "{ia:?}");
        let m = ncc_max(a, b, 48).expect("ncc");
        assert_eq!(m.lag_samples, ia.lag_samples);
        assert!((m.value - 1.0).abs() < 1e-9);
        // a negated copy: NCC max is a small value, IACC still 1 (absolute value)
        let neg: Vec<f32> = b.iter().map(|v| -v).collect();
        assert!((iacc(a, &neg, FS, IACC_MAX_LAG_S).expect("iacc").value - 1.0).abs() < 1e-9);
        assert!(ncc_max(a, &neg, 48).expect("ncc").value < 0.2);
    }
}

#[test]
fn drr_of_synthetic_ir_with_known_energies() {
    let fs = 48000.0;
    let w = (DRR_HALF_WINDOW_S * fs).round() as usize; // 120 samples
    let mut ir = vec![0.0f32; 4800];
    let np = 500;
    ir[np] = 1.0;
    ir[np - 10] = 0.5; // inside the direct window
    ir[np + w] = -0.25; // last sample of the direct window
    let tail = noise(4800, 41);
    let mut er = 0.0f64;
    for i in np + w + 1..ir.len() {
        let decay = (-((i - np) as f64) / 600.0).exp();
        ir[i] = (0.2 * decay) as f32 * tail[i];
        er += f64::from(ir[i]).powi(2);
    }
    let ed = 1.0 + 0.25 + 0.0625;
    let drr = drr_db(&ir, fs, DRR_HALF_WINDOW_S).expect("drr");
    assert!((drr - 10.0 * (ed / er).log10()).abs() < 1e-9, "{drr}");
    // anechoic IR: +∞, documented
    let mut dry = vec![0.0f32; 1000];
    dry[10] = 1.0;
    assert_eq!(
        drr_db(&dry, fs, DRR_HALF_WINDOW_S).expect("drr"),
        f64::INFINITY
    );
}

#[test]
fn estimators_return_errors_not_nan() {
    let x = noise(4096, 1);
    let z = vec![0.0f32; 4096];
    let mut nan = x.clone();
    nan[7] = f32::NAN;
    let short = &x[..100];
    assert!(matches!(snr_db(&[], &[]), Err(EvalError::Empty { .. })));
    assert!(matches!(
        snr_db(&x, short),
        Err(EvalError::LengthMismatch { .. })
    ));
    assert!(matches!(snr_db(&x, &nan), Err(EvalError::NonFinite { .. })));
    assert!(matches!(snr_db(&z, &x), Err(EvalError::Silent { .. })));
    assert!(matches!(
        gcc_phat_itd_s(&x, &x, FS, 100.0, 30000.0, 1e-3),
        Err(EvalError::BandAboveNyquist { .. })
    ));
    assert!(matches!(
        ild_per_erb_band_db(&x, &x, 16000.0, 1000.0, 9000.0),
        Err(EvalError::BandAboveNyquist { .. })
    ));
    assert!(matches!(
        maxiacce_itd_s(&z, &z, FS, &MaxIacceConfig::default()),
        Err(EvalError::Silent { .. })
    ));
    assert!(matches!(
        maxiacce_itd_s(&x, &x, 4000.0, &MaxIacceConfig::default()),
        Err(EvalError::BandAboveNyquist { .. })
    ));
    assert!(matches!(
        segmental_snr_db(short, short, FS, &SegSnrConfig::default()),
        Err(EvalError::InvalidSignal(_))
    ));
    assert!(matches!(
        stft_lsd(&z, &x, &DEFAULT_LSD_STFT),
        Err(EvalError::Silent { .. })
    ));
    assert!(matches!(
        stft_lsd(&x, &x, &StftConfig::new(1024, 0)),
        Err(EvalError::InvalidArgument(_))
    ));
    assert!(mr_stft_distance(&x, &x, &[]).is_err());
    assert!(matches!(
        mfcc_distance(&x, &nan, FS, &MfccConfig::default()),
        Err(EvalError::NonFinite { .. })
    ));
    assert!(matches!(
        iacc(&x, &z, FS, 1e-3),
        Err(EvalError::Silent { .. })
    ));
    assert!(matches!(
        ncc_lag0(&x, short),
        Err(EvalError::LengthMismatch { .. })
    ));
    assert!(matches!(
        drr_db(&z, FS, 2.5e-3),
        Err(EvalError::Silent { .. })
    ));
    assert!(matches!(
        drr_db(&[], FS, 2.5e-3),
        Err(EvalError::Empty { .. })
    ));
    assert!(bands::ild_error_db([&x, &x], [&x, &x], FS, 30000.0, 40000.0).is_err());
}
