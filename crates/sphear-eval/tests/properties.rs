//! Property tests (proptest) of metric invariants: ILD antisymmetry and ITD sign flip under a
//! channel swap, SNR scale invariance, NCC/LSD/IC symmetries, optimal direction matching
//! against brute force.

mod common;

use common::{circular_delay, noise};
use proptest::prelude::*;
use sphear_core::Direction;
use sphear_eval::bands::{erb_bands, ild_per_bands_db, third_octave_bands};
use sphear_eval::coherence::{ic_per_band, ncc_max};
use sphear_eval::doa::match_directions;
use sphear_eval::itd::{MaxIacceConfig, gcc_phat_itd_s, maxiacce_itd_s};
use sphear_eval::snr::snr_db;
use sphear_eval::spectral::{DEFAULT_LSD_STFT, stft_lsd};
use sphear_eval::stft::StftConfig;

const FS: f64 = 48_000.0;

/// A binaural pair: noise, its copy delayed by `d` samples, scaled by `g`, plus a little
/// independent noise.
fn pair(seed: u64, d: f64, g: f32) -> (Vec<f32>, Vec<f32>) {
    let l = noise(4096, seed);
    let extra = noise(4096, seed + 1000);
    let r: Vec<f32> = circular_delay(&l, d)
        .iter()
        .zip(&extra)
        .map(|(v, e)| g * v + 0.05 * e)
        .collect();
    (l, r)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ild_is_antisymmetric_under_channel_swap(seed in 0u64..1000, d in -20.0f64..20.0, g in 0.1f32..3.0) {
        let (l, r) = pair(seed, d, g);
        for bands in [third_octave_bands(1000.0, 8000.0), erb_bands(1000.0, 8000.0)] {
            let a = ild_per_bands_db(&l, &r, FS, &bands).expect("ild");
            let b = ild_per_bands_db(&r, &l, FS, &bands).expect("ild");
            for (x, y) in a.iter().zip(&b) {
                prop_assert!((x + y).abs() < 1e-9, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn itd_flips_sign_under_channel_swap(seed in 0u64..1000, d in -30.0f64..30.0, g in 0.2f32..2.0) {
        let (l, r) = pair(seed, d, g);
        let a = gcc_phat_itd_s(&l, &r, FS, 100.0, 1500.0, 1e-3).expect("gcc");
        let b = gcc_phat_itd_s(&r, &l, FS, 100.0, 1500.0, 1e-3).expect("gcc");
        prop_assert!((a + b).abs() < 1e-9, "GCC {a} vs {b}");
        let cfg = MaxIacceConfig { max_lag_s: Some(1e-3), ..MaxIacceConfig::default() };
        let a = maxiacce_itd_s(&l, &r, FS, &cfg).expect("maxiacce");
        let b = maxiacce_itd_s(&r, &l, FS, &cfg).expect("maxiacce");
        prop_assert!((a.itd_s + b.itd_s).abs() < 1e-9, "MaxIACCe {a:?} vs {b:?}");
        prop_assert!((a.envelope_correlation - b.envelope_correlation).abs() < 1e-9);
    }

    #[test]
    fn snr_is_scale_invariant(seed in 0u64..1000, noise_gain in 0.01f32..2.0, scale_exp in -6i32..6) {
        let s = noise(2000, seed);
        let n = noise(2000, seed + 1);
        let e: Vec<f32> = s.iter().zip(&n).map(|(a, b)| a + noise_gain * b).collect();
        // powers of two scale f32 exactly, so the SNR must be bit-identical
        let k = 2f32.powi(scale_exp);
        let s2: Vec<f32> = s.iter().map(|v| v * k).collect();
        let e2: Vec<f32> = e.iter().map(|v| v * k).collect();
        prop_assert_eq!(snr_db(&s, &e).expect("snr"), snr_db(&s2, &e2).expect("snr"));
        // any other factor: equal up to the f32 rounding of the scaled samples
        let k = 0.37f32 * (1.0 + noise_gain);
        let s3: Vec<f32> = s.iter().map(|v| v * k).collect();
        let e3: Vec<f32> = e.iter().map(|v| v * k).collect();
        let (a, b) = (snr_db(&s, &e).expect("snr"), snr_db(&s3, &e3).expect("snr"));
        prop_assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }

    #[test]
    fn ncc_lsd_and_ic_are_symmetric(seed in 0u64..1000, d in -10.0f64..10.0, g in 0.2f32..2.0) {
        let (l, r) = pair(seed, d, g);
        let a = ncc_max(&l, &r, 48).expect("ncc");
        let b = ncc_max(&r, &l, 48).expect("ncc");
        prop_assert_eq!(a.lag_samples, -b.lag_samples);
        prop_assert!((a.value - b.value).abs() < 1e-12);
        prop_assert!(a.value <= 1.0 + 1e-12);
        prop_assert_eq!(
            stft_lsd(&l, &r, &DEFAULT_LSD_STFT).expect("lsd"),
            stft_lsd(&r, &l, &DEFAULT_LSD_STFT).expect("lsd")
        );
        // 512-point frames: bins 93.75 Hz apart, so third octaves from 500 Hz all hold bins
        let bands = third_octave_bands(500.0, 16000.0);
        let cfg = StftConfig::new(512, 256);
        let x = ic_per_band(&l, &r, FS, &cfg, &bands).expect("ic");
        let y = ic_per_band(&r, &l, FS, &cfg, &bands).expect("ic");
        for (p, q) in x.iter().zip(&y) {
            prop_assert!((p - q).abs() < 1e-12 && *p <= 1.0 && *p >= 0.0);
        }
    }

    #[test]
    fn matching_is_optimal_against_brute_force(
        est in prop::collection::vec((-180.0f64..180.0, -90.0f64..90.0), 1..6),
        truth in prop::collection::vec((-180.0f64..180.0, -90.0f64..90.0), 1..6),
    ) {
        let e: Vec<Direction> = est.iter().map(|&(a, b)| Direction::from_deg(a, b)).collect();
        let t: Vec<Direction> = truth.iter().map(|&(a, b)| Direction::from_deg(a, b)).collect();
        let m = match_directions(&e, &t).expect("match");
        prop_assert_eq!(m.pairs.len(), e.len().min(t.len()));
        let got: f64 = m.pairs.iter().map(|p| p.2).sum();
        // brute force: all injective maps from the smaller side into the larger
        let (small, large) = if e.len() <= t.len() { (&e, &t) } else { (&t, &e) };
        let best = brute(small, large, 0, &mut vec![false; large.len()]);
        prop_assert!((got - best).abs() < 1e-9, "{got} vs {best}");
    }
}

fn brute(small: &[Direction], large: &[Direction], i: usize, used: &mut Vec<bool>) -> f64 {
    if i == small.len() {
        return 0.0;
    }
    let mut best = f64::INFINITY;
    for j in 0..large.len() {
        if !used[j] {
            used[j] = true;
            let v = small[i].angle_to(&large[j]) + brute(small, large, i + 1, used);
            used[j] = false;
            best = best.min(v);
        }
    }
    best
}
