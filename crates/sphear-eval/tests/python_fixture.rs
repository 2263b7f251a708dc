//! Comparison with the independent numpy/scipy implementation in
//! `scripts/make_metric_fixtures.py` (fixture `tests/fixtures/metrics.json`). Both sides generate
//! the same signals from a 32-bit LCG (exact in f32) and compute every metric in f64, so they
//! must agree to rounding: stated tolerance 1e-7 relative (1e-9 absolute near zero); integer
//! lags exactly.

use serde_json::Value;
use sphear_eval::bands::{
    erb_bands, ild_per_band_db, ild_per_bands_db, lsd_bands_db, third_octave_bands,
    third_octave_centres_hz,
};
use sphear_eval::coherence::{iacc, ic_per_band, ncc_lag0, ncc_max};
use sphear_eval::drr::{DRR_HALF_WINDOW_S, drr_db};
use sphear_eval::itd::{MaxIacceConfig, gcc_phat_itd_s, maxiacce_itd_s};
use sphear_eval::snr::{SegSnrConfig, segmental_snr_db, snr_db};
use sphear_eval::spectral::{
    DEFAULT_LSD_STFT, MR_STFT_RESOLUTIONS, MfccConfig, binaural_stft_lsd, mfcc, mfcc_distance,
    mr_stft_distance, stft_lsd,
};
use sphear_eval::stft::StftConfig;

const FIXTURE: &str = include_str!("fixtures/metrics.json");
const REL_TOL: f64 = 1e-7;
const ABS_TOL: f64 = 1e-9;

fn lcg(seed: u32, n: usize) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((s >> 8) as f64 / 16_777_216.0 - 0.5) as f32
        })
        .collect()
}

struct Signals {
    ref_l: Vec<f32>,
    ref_r: Vec<f32>,
    est_l: Vec<f32>,
    est_r: Vec<f32>,
    ir: Vec<f32>,
}

/// The twin of `signals()` in the Python script.
fn signals(n: usize) -> Signals {
    let (a, b, c, d, e) = (lcg(1, n), lcg(2, n), lcg(3, n), lcg(4, n), lcg(5, n));
    let ref_l = a.clone();
    let ref_r: Vec<f32> = (0..n)
        .map(|i| {
            let del = if i >= 5 { f64::from(ref_l[i - 5]) } else { 0.0 };
            (0.5 * del + 0.1 * f64::from(b[i])) as f32
        })
        .collect();
    let est_l: Vec<f32> = (0..n)
        .map(|i| (f64::from(ref_l[i]) + 0.2 * f64::from(c[i])) as f32)
        .collect();
    let est_r: Vec<f32> = (0..n)
        .map(|i| (0.8 * f64::from(ref_r[i]) + 0.1 * f64::from(d[i])) as f32)
        .collect();
    let mut ir = vec![0.0f32; n];
    ir[200] = 1.0;
    for k in 201..n {
        ir[k] = (0.3 * (-((k - 200) as f64) / 500.0).exp() * f64::from(e[k])) as f32;
    }
    Signals {
        ref_l,
        ref_r,
        est_l,
        est_r,
        ir,
    }
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_f64()
        .unwrap_or_else(|| panic!("fixture field {path:?}"))
}

fn list(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture field {key}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn close(name: &str, got: f64, want: f64, worst: &mut f64) {
    let err = (got - want).abs();
    let rel = err / want.abs().max(ABS_TOL / REL_TOL);
    *worst = worst.max(rel);
    assert!(
        err <= REL_TOL * want.abs() || err <= ABS_TOL,
        "{name}: rust {got:.15e} vs python {want:.15e} (|Δ| {err:.3e})"
    );
}

#[test]
fn metrics_agree_with_numpy_scipy_reference() {
    let fx: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    let fs = num(&fx, &["fs_hz"]);
    let n = num(&fx, &["len"]) as usize;
    let s = signals(n);
    // the signals are the same as Python's
    let mut w = 0.0f64;
    for (name, x) in [
        ("ref_l", &s.ref_l),
        ("ref_r", &s.ref_r),
        ("est_l", &s.est_l),
        ("est_r", &s.est_r),
        ("ir", &s.ir),
    ] {
        let sum: f64 = x.iter().map(|&v| f64::from(v)).sum();
        close(name, sum, num(&fx, &["signal_checksums", name]), &mut w);
    }

    let mut worst = 0.0f64;
    let mut c = |name: &str, got: f64, want: f64| close(name, got, want, &mut worst);
    c(
        "snr",
        snr_db(&s.ref_l, &s.est_l).expect("snr"),
        num(&fx, &["snr_db"]),
    );
    c(
        "segsnr",
        segmental_snr_db(&s.ref_l, &s.est_l, fs, &SegSnrConfig::default()).expect("seg"),
        num(&fx, &["segmental_snr_db"]),
    );
    c(
        "stft_lsd",
        stft_lsd(&s.ref_l, &s.est_l, &DEFAULT_LSD_STFT).expect("lsd"),
        num(&fx, &["stft_lsd"]),
    );
    c(
        "binaural_stft_lsd",
        binaural_stft_lsd(
            [&s.ref_l, &s.ref_r],
            [&s.est_l, &s.est_r],
            &DEFAULT_LSD_STFT,
        )
        .expect("lsd"),
        num(&fx, &["binaural_stft_lsd"]),
    );
    let mr = mr_stft_distance(&s.ref_l, &s.est_l, &MR_STFT_RESOLUTIONS).expect("mr");
    c(
        "mr_sc",
        mr.spectral_convergence,
        num(&fx, &["mr_stft", "spectral_convergence"]),
    );
    c(
        "mr_mag",
        mr.log_magnitude,
        num(&fx, &["mr_stft", "log_magnitude"]),
    );
    c("mr_total", mr.total, num(&fx, &["mr_stft", "total"]));
    let m = mfcc(&s.ref_l, fs, &MfccConfig::default()).expect("mfcc");
    for (j, (g, w)) in m[0].iter().zip(list(&fx, "mfcc_first_frame")).enumerate() {
        c(&format!("mfcc[0][{j}]"), *g, w);
    }
    c(
        "mfcc_distance",
        mfcc_distance(&s.ref_l, &s.est_l, fs, &MfccConfig::default()).expect("mfcc"),
        num(&fx, &["mfcc_distance"]),
    );
    c(
        "gcc_phat",
        gcc_phat_itd_s(&s.ref_l, &s.ref_r, fs, 100.0, 1500.0, 1e-3).expect("gcc"),
        num(&fx, &["gcc_phat_itd_s"]),
    );
    let sig_cfg = MaxIacceConfig {
        max_lag_s: Some(1e-3),
        ..MaxIacceConfig::default()
    };
    let ms = maxiacce_itd_s(&s.ref_l, &s.ref_r, fs, &sig_cfg).expect("maxiacce");
    c(
        "maxiacce_sig",
        ms.itd_s,
        num(&fx, &["maxiacce_signal", "itd_s"]),
    );
    c(
        "maxiacce_sig_corr",
        ms.envelope_correlation,
        num(&fx, &["maxiacce_signal", "envelope_correlation"]),
    );
    let irl = &s.ir[..2048];
    let irr: Vec<f32> = (0..2048)
        .map(|i| if i >= 13 { 0.5 * irl[i - 13] } else { 0.0 })
        .collect();
    let mi = maxiacce_itd_s(irl, &irr, fs, &MaxIacceConfig::default()).expect("maxiacce");
    c("maxiacce_ir", mi.itd_s, num(&fx, &["maxiacce_ir", "itd_s"]));
    c(
        "maxiacce_ir_corr",
        mi.envelope_correlation,
        num(&fx, &["maxiacce_ir", "envelope_correlation"]),
    );
    let ild3 = ild_per_band_db(
        &s.ref_l,
        &s.ref_r,
        fs,
        &third_octave_centres_hz(1000.0, 8000.0),
    )
    .expect("ild");
    let want3 = list(&fx, "ild_third_octave_db");
    assert_eq!(ild3.len(), want3.len());
    for (j, (g, w)) in ild3.iter().zip(want3).enumerate() {
        c(&format!("ild3[{j}]"), *g, w);
    }
    let ilde = ild_per_bands_db(&s.ref_l, &s.ref_r, fs, &erb_bands(1000.0, 8000.0)).expect("ild");
    let wante = list(&fx, "ild_erb_db");
    assert_eq!(ilde.len(), wante.len());
    for (j, (g, w)) in ilde.iter().zip(wante).enumerate() {
        c(&format!("ild_erb[{j}]"), *g, w);
    }
    c(
        "lsd_bands",
        lsd_bands_db(&s.est_l, &s.ref_l, fs, 100.0, 16000.0).expect("lsd"),
        num(&fx, &["lsd_bands_db"]),
    );
    let ia = iacc(&s.ref_l, &s.ref_r, fs, 1e-3).expect("iacc");
    c("iacc", ia.value, num(&fx, &["iacc", "value"]));
    assert_eq!(ia.lag_samples, num(&fx, &["iacc", "lag_samples"]) as i64);
    let nm = ncc_max(&s.ref_l, &s.est_l, 48).expect("ncc");
    c("ncc_max", nm.value, num(&fx, &["ncc_max", "value"]));
    assert_eq!(nm.lag_samples, num(&fx, &["ncc_max", "lag_samples"]) as i64);
    c(
        "ncc_lag0",
        ncc_lag0(&s.ref_l, &s.est_l).expect("ncc"),
        num(&fx, &["ncc_lag0"]),
    );
    let ic = ic_per_band(
        &s.ref_l,
        &s.ref_r,
        fs,
        &StftConfig::new(1024, 512),
        &third_octave_bands(200.0, 16000.0),
    )
    .expect("ic");
    let wantic = list(&fx, "ic_third_octave_200_16000");
    assert_eq!(ic.len(), wantic.len());
    for (j, (g, w)) in ic.iter().zip(wantic).enumerate() {
        c(&format!("ic[{j}]"), *g, w);
    }
    c(
        "drr",
        drr_db(&s.ir, fs, DRR_HALF_WINDOW_S).expect("drr"),
        num(&fx, &["drr_db"]),
    );
    println!("worst relative deviation from the numpy/scipy reference: {worst:.3e}");
}
