//! STFT and feature tests: exact WOLA reconstruction, frames against a naive DFT, feature planes
//! against their definitions, SH descriptors of a plane wave against the SN3D SH values.

mod common;

use num_complex::Complex32;
use proptest::prelude::*;
use sphear_core::Direction;
use sphear_neural::features::{FeatureConfig, FeatureExtractor, NUM_SH, Stft, sqrt_hann};
use sphear_render::sim::{PlaneWaveSource, simulate_array};
use sphear_sh::array::ArrayGeometry;

fn max_err(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn wola_reconstructs_exactly_paper_and_low_latency() {
    for (n, h) in [(1024, 512), (256, 128), (512, 128), (64, 16)] {
        let stft = Stft::new(n, h).expect("stft");
        for len in [1, 100, 4800, 5000] {
            let x = common::noise(len, len as u64 + n as u64, 1.0);
            let y = stft.synthesize(&stft.analyze(&x), len).expect("synth");
            let e = max_err(&x, &y);
            assert!(e < 2e-6, "n {n} hop {h} len {len}: max error {e}");
        }
    }
}

#[test]
fn frames_equal_naive_dft() {
    let (n, h) = (64, 32);
    let stft = Stft::new(n, h).expect("stft");
    let x = common::noise(300, 7, 1.0);
    let frames = stft.analyze(&x);
    assert_eq!(frames.len(), stft.n_frames(x.len()));
    let w = sqrt_hann(n);
    for (t, fr) in frames.iter().enumerate() {
        let s = stft.frame_start(t);
        for (k, v) in fr.iter().enumerate() {
            let mut acc = num_complex::Complex64::new(0.0, 0.0);
            for m in 0..n {
                let i = s + m as isize;
                if i >= 0 && (i as usize) < x.len() {
                    let ph = -2.0 * std::f64::consts::PI * (k * m) as f64 / n as f64;
                    acc += num_complex::Complex64::from_polar((x[i as usize] * w[m]) as f64, ph);
                }
            }
            assert!(
                (v.re as f64 - acc.re).abs() < 1e-4 && (v.im as f64 - acc.im).abs() < 1e-4,
                "frame {t} bin {k}: {v} vs {acc}"
            );
        }
    }
}

#[test]
fn bad_stft_settings_are_errors() {
    assert!(Stft::new(1024, 300).is_err());
    assert!(Stft::new(1023, 341).is_err());
    assert!(Stft::new(1024, 1024).is_err());
    assert!(Stft::new(2, 1).is_err());
    let stft = Stft::new(64, 32).expect("stft");
    assert!(
        stft.synthesize(&[vec![Complex32::new(0.0, 0.0); 5]], 10)
            .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn wola_roundtrip_any_signal(x in proptest::collection::vec(-10.0f32..10.0, 1..700),
                                  k in 1usize..4) {
        let n = 128usize;
        let h = n >> k; // 64, 32, 16
        let stft = Stft::new(n, h).expect("stft");
        let y = stft.synthesize(&stft.analyze(&x), x.len()).expect("synth");
        prop_assert!(max_err(&x, &y) < 2e-5 * 10.0);
    }
}

#[test]
fn feature_planes_follow_their_definitions() {
    let array = ArrayGeometry::em32();
    let cfg = FeatureConfig {
        n_fft: 256,
        hop: 128,
        gcc_phat: true,
        ..FeatureConfig::paper()
    };
    let fx = FeatureExtractor::new(&cfg, &array).expect("extractor");
    let caps: Vec<Vec<f32>> = (0..32)
        .map(|c| common::noise(2000, c as u64 + 1, 0.1))
        .collect();
    let sf = fx.extract(&caps).expect("features");
    let (c_n, f_n, t_n) = (32, 129, sf.n_frames);
    assert_eq!(sf.n_planes, 3 * 32 + 2 * 31);
    assert_eq!(sf.n_aux, NUM_SH + 31 * 25);
    assert_eq!(sf.planes.len(), sf.n_planes * f_n * t_n);
    let stft = Stft::new(256, 128).expect("stft");
    let spec3 = stft.analyze(&caps[3]);
    let spec0 = stft.analyze(&caps[0]);
    let plane = f_n * t_n;
    for (t, f) in [(2usize, 5usize), (7, 60), (10, 128)] {
        let x = spec3[t][f];
        let i = f * t_n + t;
        assert!((sf.stft_re[3 * plane + i] - x.re).abs() < 1e-6);
        assert!((sf.planes[3 * plane + i] - (x.norm() + cfg.mag_floor).ln()).abs() < 1e-5);
        let s = x.norm().powf(cfg.compress - 1.0);
        assert!((sf.planes[(c_n + 3) * plane + i] - x.re * s).abs() < 1e-5);
        assert!((sf.planes[(2 * c_n + 3) * plane + i] - x.im * s).abs() < 1e-5);
        // IPD of capsule 3 (the third non-reference capsule: planes 3C + 2·2).
        let d = x.arg() - spec0[t][f].arg();
        assert!((sf.planes[(3 * c_n + 4) * plane + i] - d.cos()).abs() < 1e-4);
        assert!((sf.planes[(3 * c_n + 5) * plane + i] - d.sin()).abs() < 1e-4);
    }
    assert!(sf.planes.iter().chain(&sf.aux).all(|v| v.is_finite()));
}

#[test]
fn gcc_phat_peaks_at_the_inter_capsule_delay() {
    // Capsule 1 is capsule 0 delayed by 5 samples (pure delay, white noise): the PHAT
    // correlation of the pair (ref 0, capsule 1) peaks at lag +5.
    let array = ArrayGeometry::em32();
    let cfg = FeatureConfig {
        n_fft: 512,
        hop: 256,
        gcc_phat: true,
        ..FeatureConfig::paper()
    };
    let fx = FeatureExtractor::new(&cfg, &array).expect("extractor");
    let s = common::noise(6000, 3, 0.5);
    let mut caps = vec![s.clone(); 32];
    caps[1] = (0..s.len())
        .map(|i| if i >= 5 { s[i - 5] } else { 0.0 })
        .collect();
    let sf = fx.extract(&caps).expect("features");
    let n_lags = 2 * cfg.gcc_max_lag_samples + 1;
    let t = sf.n_frames / 2;
    let row = |j: usize| sf.aux[(NUM_SH + j) * sf.n_frames + t];
    let best = (0..n_lags)
        .max_by(|&a, &b| row(a).total_cmp(&row(b)))
        .expect("lags");
    assert_eq!(best as isize - cfg.gcc_max_lag_samples as isize, 5);
}

#[test]
fn sh_descriptors_of_a_plane_wave_are_its_sn3d_harmonics() {
    // For one plane wave from u the descriptors a_n = Σ Re(B0* Bn)/Σ|B0|² are Y_n(u)/Y_0 in SN3D,
    // up to the encoder's aliasing and regularisation (the band stops below aliasing).
    let array = ArrayGeometry::em32();
    let cfg = FeatureConfig {
        sh_band_hz: [500.0, 4000.0],
        ..FeatureConfig::paper()
    };
    let fx = FeatureExtractor::new(&cfg, &array).expect("extractor");
    let dir = Direction::new(40f64.to_radians(), 20f64.to_radians());
    let src = PlaneWaveSource {
        direction: dir,
        signal: common::noise(12_000, 11, 0.3),
    };
    let caps = simulate_array(&array, &[src], 48_000.0, sphear_core::SPEED_OF_SOUND_M_S);
    let sf = fx.extract(&caps).expect("features");
    let y = sphear_sh::sh::sh_matrix(4, &[dir], sphear_sh::sh::Norm::Sn3d);
    let t = sf.n_frames / 2;
    let mut worst = 0.0f64;
    for n in 1..4 {
        // orders 1 (ACN 1..3) — regularisation costs little there
        let a = sf.aux[n * sf.n_frames + t] as f64;
        worst = worst.max((a - y[(0, n)] / y[(0, 0)]).abs());
    }
    println!("first-order SH descriptors vs SN3D Y_n(u): max |error| {worst:.4}");
    assert!(worst < 0.05, "first-order descriptors off by {worst}");
}

/// `extract_frames(first, n)` is frames `first .. first + n` of `extract`, value for value
/// (planes, SH and GCC-PHAT descriptors, capsule STFT), and refuses ranges past the end.
#[test]
fn extract_frames_is_a_slice_of_extract() {
    let array = ArrayGeometry::em32();
    let cfg = FeatureConfig {
        gcc_phat: true,
        ..FeatureConfig::low_latency()
    };
    let fx = FeatureExtractor::new(&cfg, &array).expect("fx");
    let caps: Vec<Vec<f32>> = (0..32)
        .map(|c| common::noise(3_000, 40 + c as u64, 0.5))
        .collect();
    let all = fx.extract(&caps).expect("all");
    let t_all = all.n_frames;
    for (first, n) in [(0, t_all), (1, 7), (t_all - 3, 3)] {
        let part = fx.extract_frames(&caps, first, n).expect("part");
        assert_eq!(part.n_frames, n);
        let rows = |v: &[f32], t: usize| v.len() / t;
        for (a, b) in [
            (&all.planes, &part.planes),
            (&all.aux, &part.aux),
            (&all.stft_re, &part.stft_re),
            (&all.stft_im, &part.stft_im),
        ] {
            assert_eq!(rows(a, t_all), rows(b, n));
            for r in 0..rows(a, t_all) {
                assert_eq!(
                    &a[r * t_all + first..r * t_all + first + n],
                    &b[r * n..(r + 1) * n],
                    "row {r}, frames {first}..{}",
                    first + n
                );
            }
        }
    }
    assert!(fx.extract_frames(&caps, t_all - 2, 3).is_err());
    assert!(fx.extract_frames(&caps, 0, 0).is_err());
}
