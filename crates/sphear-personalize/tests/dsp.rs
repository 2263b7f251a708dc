//! Minimum-phase reconstruction and the spectral grid.

use sphear_personalize::data::{CIPIC_RATE_HZ, load_cipic};
use sphear_personalize::dsp::{N_BINS, SpectralGrid, log_magnitude_db, lsd_db, minimum_phase_ir};

const CIPIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/cipic");

/// Direct DFT magnitude (dB) at one frequency, the independent reference.
fn naive_db(h: &[f32], f: f64, fs: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &v) in h.iter().enumerate() {
        let ph = -2.0 * std::f64::consts::PI * f * n as f64 / fs;
        re += v as f64 * ph.cos();
        im += v as f64 * ph.sin();
    }
    20.0 * re.hypot(im).log10()
}

#[test]
fn grid_is_linear_20_to_20k() {
    let g = SpectralGrid::new();
    assert_eq!(g.freqs_hz.len(), N_BINS);
    assert!((g.freqs_hz[0] - 20.0).abs() < 1e-9 && (g.freqs_hz[255] - 20_000.0).abs() < 1e-9);
    let h = [1.0f32, 0.5, -0.25];
    let db = log_magnitude_db(&h, 44_100.0);
    for k in [0, 77, 255] {
        assert!((db[k] as f64 - naive_db(&h, g.freqs_hz[k], 44_100.0)).abs() < 1e-4);
    }
}

/// A known minimum-phase FIR (zeros inside the unit circle) is recovered from its magnitude.
/// At fs = 40 kHz the grid reaches Nyquist, so only the 0–20 Hz hold is approximate.
#[test]
fn recovers_a_known_minimum_phase_fir() {
    let fs = 40_000.0;
    let h = [1.0f32, 0.5, 0.1]; // zeros at |z| = sqrt(0.1) < 1
    let db = log_magnitude_db(&h, fs);
    let y = minimum_phase_ir(&db, 0.0, fs, 64).expect("minphase");
    for (n, &v) in y.iter().take(10).enumerate() {
        let want = h.get(n).copied().unwrap_or(0.0);
        assert!((v - want).abs() < 0.01, "tap {n}: {v} vs {want}");
    }
    // the maximum-phase twin [0.1, 0.5, 1] has the same magnitude and gives the same result
    let db2 = log_magnitude_db(&[0.1, 0.5, 1.0], fs);
    assert!(lsd_db(&db, &db2, &(0..N_BINS).collect::<Vec<_>>()) < 1e-3);
}

/// On real CIPIC HRIRs: the reconstruction has the HRIR's magnitude (< 0.5 dB LSD over
/// 200 Hz–16 kHz), and its energy arrives no later than the measured (mixed-phase) HRIR's:
/// the cumulative energy of a minimum-phase sequence dominates that of every sequence with the
/// same magnitude (Oppenheim & Schafer §5.6.4). A linear-phase (symmetric) version of the same
/// magnitude is the naive reference that concentrates energy in the middle instead.
#[test]
fn cipic_hrirs_minimum_phase_matches_magnitude_and_front_loads_energy() {
    let (raw, _) = load_cipic(std::path::Path::new(CIPIC)).expect("cipic");
    let s = &raw[0];
    let band = SpectralGrid::new().band(200.0, 16_000.0);
    for &(m, ear) in &[(600usize, 0usize), (8, 1), (1240, 0), (333, 1)] {
        let ir = s.ir(m, ear);
        let db = log_magnitude_db(ir, CIPIC_RATE_HZ);
        let y = minimum_phase_ir(&db, 0.0, CIPIC_RATE_HZ, 200).expect("minphase");
        let lsd = lsd_db(&db, &log_magnitude_db(&y, CIPIC_RATE_HZ), &band);
        assert!(lsd < 0.5, "m {m}: LSD {lsd}");
        let cum = |x: &[f32]| -> Vec<f64> {
            let tot: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum();
            x.iter()
                .scan(0.0, |a, v| {
                    *a += (*v as f64).powi(2) / tot;
                    Some(*a)
                })
                .collect()
        };
        let (cy, cx) = (cum(&y), cum(ir));
        for n in 0..200 {
            assert!(cy[n] + 0.02 >= cx[n], "m {m} n {n}: {} < {}", cy[n], cx[n]);
        }
        // linear-phase reference: zero-phase magnitude centred at tap 100
        let lin = {
            let mut v = vec![0.0f32; 200];
            let n_f = 200.0;
            for (n, o) in v.iter_mut().enumerate() {
                let mut acc = 0.0;
                for k in 0..100 {
                    let f = k as f64 * CIPIC_RATE_HZ / n_f;
                    let a = 10f64.powf(sphear_personalize::dsp::interp_db(&db, f) / 20.0);
                    let w = if k == 0 { 1.0 } else { 2.0 };
                    acc += w
                        * a
                        * (2.0 * std::f64::consts::PI * k as f64 * (n as f64 - 100.0) / n_f).cos();
                }
                *o = (acc / n_f) as f32;
            }
            v
        };
        let cl = cum(&lin);
        assert!(
            cy[22] > 0.9 && cl[22] < 0.1,
            "first 0.5 ms: minphase {} linear {}",
            cy[22],
            cl[22]
        );
    }
}

#[test]
fn fractional_delay_is_a_pure_shift() {
    let (raw, _) = load_cipic(std::path::Path::new(CIPIC)).expect("cipic");
    let db = log_magnitude_db(raw[1].ir(100, 0), CIPIC_RATE_HZ);
    let y0 = minimum_phase_ir(&db, 0.0, 48_000.0, 256).expect("y0");
    let y1 = minimum_phase_ir(&db, 12.0 / 48_000.0, 48_000.0, 256).expect("y1");
    for n in 0..200 {
        assert!(
            (y1[n + 12] - y0[n]).abs() < 1e-4 * (1.0 + y0[n].abs()),
            "tap {n}"
        );
    }
    // a half-sample delay is a pure phase term: arg(Yh/Y0) = −2πf·12.5/fs (naive DFT at a few
    // frequencies; long outputs so the interpolation tails are not cut)
    let y0l = minimum_phase_ir(&db, 0.0, 48_000.0, 2048).expect("y0l");
    let yh = minimum_phase_ir(&db, 12.5 / 48_000.0, 48_000.0, 2048).expect("yh");
    let dft = |y: &[f32], f: f64| -> num_complex::Complex64 {
        y.iter()
            .enumerate()
            .map(|(n, &v)| {
                num_complex::Complex64::from_polar(
                    v as f64,
                    -2.0 * std::f64::consts::PI * f * n as f64 / 48_000.0,
                )
            })
            .sum()
    };
    for f in [500.0, 2000.0, 8000.0] {
        let ratio = dft(&yh, f) / dft(&y0l, f);
        let want = -2.0 * std::f64::consts::PI * f * 12.5 / 48_000.0;
        let err = (ratio.arg() - want + std::f64::consts::PI)
            .rem_euclid(2.0 * std::f64::consts::PI)
            - std::f64::consts::PI;
        assert!(err.abs() < 0.01, "{f} Hz: phase error {err} rad");
        assert!(
            (ratio.norm() - 1.0).abs() < 0.02,
            "{f} Hz: gain {}",
            ratio.norm()
        );
    }
    assert!(minimum_phase_ir(&db[..10], 0.0, 48_000.0, 256).is_err());
    assert!(minimum_phase_ir(&db, -1.0, 48_000.0, 256).is_err());
}

/// The synthesis FFT size (`min_phase_fft_len`, 1024 at 48 kHz) gives the same IRs as a
/// 16384-point cepstrum on the committed model's spectra of every 25th direction, both ears,
/// to within −50 dB of the IR energy (with and without a fractional delay).
#[test]
fn fft_size_is_exact_enough() {
    use sphear_personalize::dsp::{MinPhase, min_phase_fft_len};
    use sphear_personalize::listener::{embedded_model, parse_listener};
    let model = embedded_model().expect("model");
    let l = parse_listener(include_str!("../examples/ME.toml")).expect("listener");
    let p = model.predict(&l.features).expect("predict");
    for (fs, len) in [(48_000.0, 256), (44_100.0, 235), (96_000.0, 512)] {
        let n = min_phase_fft_len(fs, len);
        let mut fast = MinPhase::new(fs, len, n).expect("fast");
        let mut reference = MinPhase::new(fs, len, 16_384).expect("reference");
        let mut worst = f64::NEG_INFINITY;
        for e in 0..2 {
            for m in (0..p.spectra_db[e].len() / N_BINS).step_by(25) {
                let db = &p.spectra_db[e][m * N_BINS..(m + 1) * N_BINS];
                for delay in [0.0, 10.3 / fs] {
                    let a = fast.ir(db, delay).expect("fast ir");
                    let b = reference.ir(db, delay).expect("reference ir");
                    let err: f64 = a
                        .iter()
                        .zip(&b)
                        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
                        .sum();
                    let en: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
                    worst = worst.max(10.0 * (err / en).log10());
                }
            }
        }
        eprintln!("fs {fs} Hz, {len} taps, n_fft {n}: worst error {worst:.1} dB re IR energy");
        assert!(worst < -50.0, "fs {fs}: {worst} dB");
    }
}

/// `MinPhase` rejects bad sizes and delays.
#[test]
fn min_phase_rejects_bad_arguments() {
    use sphear_personalize::dsp::MinPhase;
    assert!(MinPhase::new(48_000.0, 256, 256).is_err());
    assert!(MinPhase::new(0.0, 256, 2048).is_err());
    assert!(MinPhase::new(48_000.0, 0, 2048).is_err());
    let mut mp = MinPhase::new(48_000.0, 256, 2048).expect("ok");
    let db = vec![0.0f32; N_BINS];
    assert!(mp.ir(&db, 1024.0 / 48_000.0).is_err());
    assert!(mp.ir(&db[..100], 0.0).is_err());
    assert!(mp.ir(&db, 0.0).is_ok());
}
