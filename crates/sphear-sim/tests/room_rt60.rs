//! Room validation, geometry, Sabine/Eyring reverberation times and their inversion.

use proptest::prelude::*;
use sphear_sim::bands::{NUM_BANDS, PerBand};
use sphear_sim::room::{Room, Rt60Formula};

/// Round trips are closed-form inversions in f64.
const ROUND_TRIP_REL_TOL: f64 = 1e-12;

#[test]
fn geometry_and_hand_computed_rt60() {
    // 6 × 4 × 3 m: V = 72 m³, S = 2(24 + 18 + 12) = 108 m².
    let mut absorption = [[0.0; NUM_BANDS]; 6];
    let alphas = [0.1, 0.2, 0.3, 0.15, 0.25, 0.35];
    for (row, a) in absorption.iter_mut().zip(alphas) {
        *row = [a; NUM_BANDS];
    }
    let room = Room::new([6.0, 4.0, 3.0], absorption).expect("room");
    assert_eq!(room.volume_m3(), 72.0);
    assert_eq!(room.surface_m2(), 108.0);
    assert_eq!(room.wall_areas_m2(), [12.0, 12.0, 18.0, 18.0, 24.0, 24.0]);
    // Σ S α = 12·0.1 + 12·0.2 + 18·0.3 + 18·0.15 + 24·0.25 + 24·0.35 = 26.1 m² sabins.
    let a_sabins = 26.1;
    let sabine = 0.161 * 72.0 / a_sabins;
    let abar: f64 = a_sabins / 108.0;
    let eyring = 0.161 * 72.0 / (-108.0 * (1.0 - abar).ln());
    for b in 0..NUM_BANDS {
        assert!((room.rt60_s(Rt60Formula::Sabine)[b] - sabine).abs() < 1e-12);
        assert!((room.rt60_s(Rt60Formula::Eyring)[b] - eyring).abs() < 1e-12);
        assert!((room.mean_absorption()[b] - abar).abs() < 1e-15);
    }
    // Eyring is always shorter than Sabine for ᾱ > 0.
    assert!(eyring < sabine);
}

#[test]
fn limits_never_nan() {
    let anechoic = Room::uniform([5.0, 5.0, 5.0], [1.0; NUM_BANDS]).expect("room");
    assert!(
        anechoic
            .rt60_s(Rt60Formula::Eyring)
            .iter()
            .all(|&t| t == 0.0)
    );
    let rigid = Room::uniform([5.0, 5.0, 5.0], [0.0; NUM_BANDS]).expect("room");
    assert!(
        rigid
            .rt60_s(Rt60Formula::Sabine)
            .iter()
            .all(|&t| t == f64::INFINITY)
    );
    assert!(
        rigid
            .rt60_s(Rt60Formula::Eyring)
            .iter()
            .all(|&t| t == f64::INFINITY)
    );
}

#[test]
fn validation() {
    let ok = [0.2; NUM_BANDS];
    assert!(Room::uniform([1.0, 2.0, 3.0], ok).is_ok());
    assert!(Room::uniform([0.0, 2.0, 3.0], ok).is_err());
    assert!(Room::uniform([-1.0, 2.0, 3.0], ok).is_err());
    assert!(Room::uniform([f64::INFINITY, 2.0, 3.0], ok).is_err());
    let mut bad = ok;
    bad[4] = 1.01;
    assert!(Room::uniform([1.0, 2.0, 3.0], bad).is_err());
    bad[4] = -0.01;
    assert!(Room::uniform([1.0, 2.0, 3.0], bad).is_err());
    bad[4] = f64::NAN;
    let err = Room::uniform([1.0, 2.0, 3.0], bad)
        .expect_err("NaN alpha")
        .to_string();
    assert!(err.contains("2000 Hz"), "{err}");
    let room = Room::uniform([1.0, 2.0, 3.0], ok).expect("room");
    assert!(room.contains([0.0, 2.0, 1.5]));
    assert!(!room.contains([0.0, 2.0001, 1.5]));
    assert!(!room.contains([f64::NAN, 1.0, 1.0]));
}

#[test]
fn unreachable_sabine_target_names_the_band() {
    // 0.161·V/S = 0.161·72/108 = 0.1073 s is the shortest Sabine RT60 in a 6 × 4 × 3 m room.
    let mut t: PerBand = [0.5; NUM_BANDS];
    t[5] = 0.1;
    let err = Room::from_rt60([6.0, 4.0, 3.0], t, Rt60Formula::Sabine)
        .expect_err("unreachable")
        .to_string();
    assert!(err.contains("4000 Hz"), "{err}");
    t[5] = 0.108;
    assert!(Room::from_rt60([6.0, 4.0, 3.0], t, Rt60Formula::Sabine).is_ok());
    // Eyring reaches any positive time, but not zero, negative or non-finite ones.
    t[5] = 0.01;
    assert!(Room::from_rt60([6.0, 4.0, 3.0], t, Rt60Formula::Eyring).is_ok());
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        t[2] = bad;
        let err = Room::from_rt60([6.0, 4.0, 3.0], t, Rt60Formula::Eyring)
            .expect_err("bad")
            .to_string();
        assert!(err.contains("500 Hz"), "{err}");
    }
}

proptest! {
    #[test]
    fn from_rt60_round_trip(
        lx in 2.0f64..20.0, ly in 2.0f64..20.0, lz in 2.0f64..8.0,
        t in prop::array::uniform7(0.05f64..5.0), eyring in any::<bool>(),
    ) {
        let formula = if eyring { Rt60Formula::Eyring } else { Rt60Formula::Sabine };
        let dims = [lx, ly, lz];
        let v = lx * ly * lz;
        let s = 2.0 * (lx * ly + lx * lz + ly * lz);
        let reachable = eyring || t.iter().all(|&ti| 0.161 * v / (s * ti) <= 1.0);
        match Room::from_rt60(dims, t, formula) {
            Ok(room) => {
                prop_assert!(reachable);
                let back = room.rt60_s(formula);
                for b in 0..NUM_BANDS {
                    prop_assert!((back[b] - t[b]).abs() <= ROUND_TRIP_REL_TOL * t[b], "{} vs {}", back[b], t[b]);
                }
            }
            Err(_) => prop_assert!(!reachable),
        }
    }
}
