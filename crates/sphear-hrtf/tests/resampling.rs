//! Resampling accuracy against analytic references (DTFTs evaluated directly, no FFT library).

use std::f64::consts::PI;

use sphear_core::Direction;
use sphear_hrtf::{Ear, HrtfSet, resample_ir, resample_signal};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// Allowed magnitude deviation for synthetic band-limited signals, 100 Hz – 16 kHz (dB).
const SYNTH_MAG_TOL_DB: f64 = 0.1;
/// Allowed delay error (output samples).
const DELAY_TOL_SAMPLES: f64 = 1.0;
/// Allowed magnitude deviation of resampled MIT KEMAR HRIRs below 18 kHz (dB).
const KEMAR_MAG_TOL_DB: f64 = 0.5;

/// DTFT of `x` (sampled at `fs_hz`) at physical frequency `f_hz`.
fn dtft(x: &[f32], fs_hz: f64, f_hz: f64) -> (f64, f64) {
    let w = 2.0 * PI * f_hz / fs_hz;
    x.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, &v)| {
        let (s, c) = (w * n as f64).sin_cos();
        (re + f64::from(v) * c, im - f64::from(v) * s)
    })
}

fn mag_db(z: (f64, f64)) -> f64 {
    10.0 * (z.0 * z.0 + z.1 * z.1).log10()
}

/// A band-limited impulse: ideal low-pass (20 kHz) centred at a fractional time, Blackman-windowed
/// over ±`half` samples at 44.1 kHz.
fn band_limited_impulse(len: usize, centre: f64, half: f64, fc_hz: f64, fs_hz: f64) -> Vec<f32> {
    (0..len)
        .map(|n| {
            let t = n as f64 - centre;
            if t.abs() >= half {
                return 0.0;
            }
            let a = 2.0 * fc_hz / fs_hz;
            let s = if t == 0.0 {
                a
            } else {
                (PI * a * t).sin() / (PI * t)
            };
            let u = (t + half) / (2.0 * half);
            let w = 0.42 - 0.5 * (2.0 * PI * u).cos() + 0.08 * (4.0 * PI * u).cos();
            (s * w) as f32
        })
        .collect()
}

#[test]
fn band_limited_impulse_keeps_magnitude_and_delay() {
    let (fs_in, fs_out) = (44_100.0, 48_000.0);
    let centre = 300.37; // samples at 44.1 kHz
    let x = band_limited_impulse(1024, centre, 256.0, 20_000.0, fs_in);
    let y = resample_ir(&x, fs_in, fs_out).expect("resample");
    assert_eq!(y.len(), (1024.0f64 * fs_out / fs_in).ceil() as usize);
    let mut worst_db = 0.0f64;
    let mut worst_delay = 0.0f64;
    let mut f = 100.0;
    while f <= 16_000.0 {
        let (a, b) = (dtft(&x, fs_in, f), dtft(&y, fs_out, f));
        let d_db = mag_db(b) - mag_db(a);
        worst_db = worst_db.max(d_db.abs());
        // Phase of Y/X → extra delay τ = −φ/(2πf); |φ| stays < π for sub-sample delays.
        let re = b.0 * a.0 + b.1 * a.1;
        let im = b.1 * a.0 - b.0 * a.1;
        let tau_samples = -im.atan2(re) / (2.0 * PI * f) * fs_out;
        worst_delay = worst_delay.max(tau_samples.abs());
        f += 100.0;
    }
    println!(
        "impulse 44.1k->48k: max |ΔH| = {worst_db:.4} dB, max delay error = {worst_delay:.4} samples"
    );
    assert!(worst_db <= SYNTH_MAG_TOL_DB, "{worst_db} dB");
    assert!(worst_delay <= DELAY_TOL_SAMPLES, "{worst_delay} samples");
    // Time domain: the peak lands at centre·48/44.1 within one sample.
    let pk = (0..y.len())
        .max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs()))
        .expect("nonempty");
    assert!(
        (pk as f64 - centre * fs_out / fs_in).abs() <= DELAY_TOL_SAMPLES,
        "peak at {pk}"
    );
}

/// Least-squares amplitude and phase of a sine of known frequency over a sample range.
fn fit_sine(x: &[f32], fs_hz: f64, f_hz: f64, range: std::ops::Range<usize>) -> (f64, f64) {
    // Normal equations for a·cos + b·sin.
    let (mut cc, mut ss, mut cs, mut xc, mut xs) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for n in range {
        let (s, c) = (2.0 * PI * f_hz * n as f64 / fs_hz).sin_cos();
        let v = f64::from(x[n]);
        cc += c * c;
        ss += s * s;
        cs += c * s;
        xc += v * c;
        xs += v * s;
    }
    let det = cc * ss - cs * cs;
    let a = (xc * ss - xs * cs) / det;
    let b = (xs * cc - xc * cs) / det;
    ((a * a + b * b).sqrt(), a.atan2(b))
}

#[test]
fn sines_keep_amplitude_and_timing() {
    let (fs_in, fs_out) = (44_100.0, 48_000.0);
    let len = 8820; // 0.2 s
    for f in [100.0, 1_000.0, 5_000.0, 10_000.0, 16_000.0] {
        let x: Vec<f32> = (0..len)
            .map(|n| (0.5 * (2.0 * PI * f * n as f64 / fs_in).sin()) as f32)
            .collect();
        let y = resample_signal(&x, fs_in, fs_out).expect("resample");
        // Steady state away from the edges (the sinc kernel sees zeros beyond the ends).
        let (amp, phase) = fit_sine(&y, fs_out, f, 1000..y.len() - 1000);
        let err_db = 20.0 * (amp / 0.5).log10();
        // Reference phase: sin(2πft) ⇒ a = 0, b = 0.5 ⇒ atan2(a, b) = 0.
        let delay_samples = phase / (2.0 * PI * f) * fs_out;
        println!("sine {f} Hz: {err_db:+.5} dB, delay {delay_samples:+.4} samples");
        assert!(err_db.abs() <= SYNTH_MAG_TOL_DB, "{f} Hz: {err_db} dB");
        assert!(
            delay_samples.abs() <= DELAY_TOL_SAMPLES,
            "{f} Hz: {delay_samples}"
        );
    }
}

#[test]
fn kemar_at_48k_matches_original_magnitude_below_18k() {
    let path =
        std::path::PathBuf::from(DATA_DIR).join("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa");
    assert!(
        path.is_file(),
        "missing test data {} (shared/ checkout beside the repo)",
        path.display()
    );
    let orig = HrtfSet::from_sofa(&path, None).expect("load 44.1k").set;
    let t0 = std::time::Instant::now();
    let loaded = HrtfSet::from_sofa(&path, Some(48_000.0)).expect("load at 48k");
    println!(
        "load + resample 710x2 IRs: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let res = &loaded.set;
    assert_eq!(res.sample_rate_hz(), 48_000.0);
    assert_eq!(
        res.ir_len(),
        (512.0f64 * 48_000.0 / 44_100.0).ceil() as usize
    );
    assert_eq!(res.len(), orig.len());
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("resampled from 44100 Hz to 48000 Hz")),
        "{:?}",
        loaded.notes
    );
    let mut worst = 0.0f64;
    let mut worst_at = (0.0, 0.0, 0.0);
    for (az, el) in [
        (0.0, 0.0),
        (90.0, 0.0),
        (-90.0, 0.0),
        (180.0, 0.0),
        (45.0, 30.0),
        (-135.0, -30.0),
        (0.0, 90.0),
    ] {
        let i = orig.nearest(&Direction::from_deg(az, el));
        assert_eq!(res.nearest(&Direction::from_deg(az, el)), i);
        for ear in Ear::BOTH {
            let (a, b) = (orig.ir(i, ear), res.ir(i, ear));
            let mut f = 50.0;
            while f < 18_000.0 {
                let d = mag_db(dtft(b, 48_000.0, f)) - mag_db(dtft(a, 44_100.0, f));
                if d.abs() > worst {
                    worst = d.abs();
                    worst_at = (az, el, f);
                }
                assert!(
                    d.abs() <= KEMAR_MAG_TOL_DB,
                    "az {az} el {el} {ear:?} {f} Hz: {d} dB"
                );
                f += 50.0;
            }
        }
    }
    println!(
        "KEMAR 44.1k -> 48k: max |ΔH| below 18 kHz = {worst:.4} dB at (az, el, f) = {worst_at:?}"
    );
}
