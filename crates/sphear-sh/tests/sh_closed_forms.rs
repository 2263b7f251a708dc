//! Real SH against independent references: explicit AmbiX closed forms, scipy tabulation,
//! the addition theorem, quadrature orthonormality, normalisation and FuMa conventions.

use std::f64::consts::PI;

use nalgebra::DMatrix;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sphear_core::Direction;
use sphear_sh::ShError;
use sphear_sh::quadrature::{gauss_legendre, t_design};
use sphear_sh::sh::{
    Norm, acn, acn_to_nm, ambix_to_fuma_matrix, fuma_to_ambix_matrix, norm_conversion_gains,
    num_channels, order_from_channels, real_sh, real_sh_into, sh_matrix,
};

/// Closed forms vs recurrence (both double precision, O(1) values).
const CLOSED_FORM_TOL: f64 = 1e-12;
/// Orthonormality Gram-matrix error on exact quadratures.
const GRAM_TOL: f64 = 1e-10;
/// Relative error vs scipy's `sph_harm_y` at order ≤ 40 (values scaled by √((2n+1)/4π)).
const SCIPY_TOL: f64 = 1e-11;
/// Addition theorem error, relative to (2n+1)/4π.
const ADDITION_TOL: f64 = 1e-11;
/// Pure scalings / permutations.
const EXACT_TOL: f64 = 1e-14;

fn random_dirs(n: usize, seed: u64) -> Vec<Direction> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            // Uniform on the sphere.
            let z: f64 = rng.random_range(-1.0..1.0);
            let az: f64 = rng.random_range(-PI..PI);
            Direction::new(az, z.asin())
        })
        .collect()
}

/// Explicit SN3D harmonics up to order 3 in Cartesian form (AmbiX paper, Nachbar et al. 2011,
/// table 1; Zotter & Frank 2019 table A.1), ACN order.
fn sn3d_closed_form(d: &Direction) -> [f64; 16] {
    let [x, y, z] = d.to_cartesian();
    let s3 = 3f64.sqrt();
    let s15 = 15f64.sqrt();
    [
        1.0,
        y,
        z,
        x,
        s3 * x * y,
        s3 * y * z,
        0.5 * (3.0 * z * z - 1.0),
        s3 * x * z,
        0.5 * s3 * (x * x - y * y),
        (5.0f64 / 8.0).sqrt() * y * (3.0 * x * x - y * y),
        s15 * x * y * z,
        (3.0f64 / 8.0).sqrt() * y * (5.0 * z * z - 1.0),
        0.5 * z * (5.0 * z * z - 3.0),
        (3.0f64 / 8.0).sqrt() * x * (5.0 * z * z - 1.0),
        0.5 * s15 * z * (x * x - y * y),
        (5.0f64 / 8.0).sqrt() * x * (x * x - 3.0 * y * y),
    ]
}

#[test]
fn sn3d_matches_ambix_closed_forms_to_order_3() {
    let mut dirs = random_dirs(500, 1);
    // Poles, axes and elevations beyond ±90° (must stay consistent with to_cartesian).
    for (az, el) in [
        (0.0, 90.0),
        (33.0, -90.0),
        (0.0, 0.0),
        (90.0, 0.0),
        (-120.0, 135.0),
        (10.0, -200.0),
    ] {
        dirs.push(Direction::from_deg(az, el));
    }
    for d in &dirs {
        let got = real_sh(3, d, Norm::Sn3d);
        let want = sn3d_closed_form(d);
        for k in 0..16 {
            assert!(
                (got[k] - want[k]).abs() <= CLOSED_FORM_TOL,
                "acn {k} at {d:?}: {} vs {}",
                got[k],
                want[k]
            );
        }
    }
}

#[test]
fn first_order_is_w_y_z_x() {
    let d = Direction::from_deg(30.0, 20.0);
    let [x, y, z] = d.to_cartesian();
    let v = real_sh(1, &d, Norm::Sn3d);
    for (a, b) in v.iter().zip([1.0, y, z, x]) {
        assert!((a - b).abs() <= EXACT_TOL);
    }
    // Left is +Y (positive ACN 1), up is +Z (ACN 2), front is +X (ACN 3).
    assert!((real_sh(1, &Direction::from_deg(90.0, 0.0), Norm::Sn3d)[1] - 1.0).abs() < EXACT_TOL);
    assert!((real_sh(1, &Direction::from_deg(0.0, 90.0), Norm::Sn3d)[2] - 1.0).abs() < EXACT_TOL);
    assert!((real_sh(1, &Direction::from_deg(0.0, 0.0), Norm::Sn3d)[3] - 1.0).abs() < EXACT_TOL);
}

#[derive(serde::Deserialize)]
struct RefCase {
    azimuth_deg: f64,
    elevation_deg: f64,
    order: usize,
    values: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct RefFile {
    generator: String,
    cases: Vec<RefCase>,
}

/// Values tabulated by scripts/gen_sh_reference.py (scipy `sph_harm_y`, CS phase removed).
#[test]
fn orthonormal_matches_scipy_to_order_40() {
    let text = include_str!("data/sh_scipy_reference.json");
    let file: RefFile = serde_json::from_str(text).expect("reference JSON parses");
    assert!(file.generator.contains("scipy"));
    assert_eq!(file.cases.len(), 3);
    for case in &file.cases {
        let d = Direction::from_deg(case.azimuth_deg, case.elevation_deg);
        let got = real_sh(case.order, &d, Norm::Orthonormal);
        assert_eq!(got.len(), case.values.len());
        for (k, (g, w)) in got.iter().zip(&case.values).enumerate() {
            let (n, _) = acn_to_nm(k);
            let scale = ((2 * n + 1) as f64 / (4.0 * PI)).sqrt();
            assert!(
                (g - w).abs() <= SCIPY_TOL * scale,
                "acn {k} (n {n}) at {:?}: {g} vs scipy {w}",
                (case.azimuth_deg, case.elevation_deg)
            );
        }
    }
}

/// Legendre polynomial by Bonnet's recurrence (independent of the library's code path).
fn legendre_p(n: usize, x: f64) -> f64 {
    let (mut p0, mut p1) = (1.0, x);
    if n == 0 {
        return 1.0;
    }
    for k in 2..=n {
        let kf = k as f64;
        let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
        p0 = p1;
        p1 = p2;
    }
    p1
}

#[test]
fn addition_theorem_to_order_60() {
    let order = 60;
    let us = random_dirs(20, 2);
    let vs = random_dirs(20, 3);
    for (u, v) in us.iter().zip(&vs) {
        let yu = real_sh(order, u, Norm::Orthonormal);
        let yv = real_sh(order, v, Norm::Orthonormal);
        let cos_g = sphear_core::geom::dot3(u.to_cartesian(), v.to_cartesian());
        for n in 0..=order {
            let sum: f64 = (-(n as i64)..=n as i64)
                .map(|m| yu[acn(n, m)] * yv[acn(n, m)])
                .sum();
            let scale = (2 * n + 1) as f64 / (4.0 * PI);
            let want = scale * legendre_p(n, cos_g);
            assert!(
                (sum - want).abs() <= ADDITION_TOL * scale,
                "n {n}: {sum} vs {want}"
            );
            // Unsöld: Σ_m Y_nm(u)² = (2n+1)/4π.
            let self_sum: f64 = (-(n as i64)..=n as i64)
                .map(|m| yu[acn(n, m)].powi(2))
                .sum();
            assert!(
                (self_sum - scale).abs() <= ADDITION_TOL * scale,
                "Unsöld n {n}"
            );
        }
    }
}

fn gram_error(order: usize, dirs: &[Direction], weights: &[f64]) -> f64 {
    let y = sh_matrix(order, dirs, Norm::Orthonormal);
    let w = DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(weights));
    let g = y.transpose() * w * &y;
    let eye = DMatrix::<f64>::identity(g.nrows(), g.ncols());
    (g - eye).abs().max()
}

#[test]
fn orthonormal_on_t_design_order_10() {
    let q = t_design(20).expect("degree-20 design embedded");
    assert!(q.exact_degree() >= 20);
    let err = gram_error(10, &q.directions, &q.weights);
    assert!(err <= GRAM_TOL, "max |YᵀWY - I| = {err:e}");
}

#[test]
fn orthonormal_on_gauss_legendre_order_30() {
    let q = gauss_legendre(30);
    let err = gram_error(30, &q.directions, &q.weights);
    assert!(err <= GRAM_TOL, "max |YᵀWY - I| = {err:e}");
}

#[test]
fn n3d_and_sn3d_gram_matrices() {
    // ∫ Y_a Y_b = 4π δ_ab for N3D, 4π/(2n+1) δ_ab for SN3D.
    let order = 8;
    let q = gauss_legendre(order);
    let w = DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(&q.weights));
    for norm in [Norm::N3d, Norm::Sn3d] {
        let y = sh_matrix(order, &q.directions, norm);
        let g = y.transpose() * &w * &y;
        for a in 0..num_channels(order) {
            let (n, _) = acn_to_nm(a);
            let want = match norm {
                Norm::N3d => 4.0 * PI,
                _ => 4.0 * PI / (2 * n + 1) as f64,
            };
            for b in 0..num_channels(order) {
                let expect = if a == b { want } else { 0.0 };
                assert!(
                    (g[(a, b)] - expect).abs() <= GRAM_TOL * 4.0 * PI,
                    "{norm:?} {a} {b}"
                );
            }
        }
    }
}

#[test]
fn w_channel_values() {
    let d = Direction::from_deg(12.0, 34.0);
    assert!((real_sh(0, &d, Norm::Orthonormal)[0] - 1.0 / (4.0 * PI).sqrt()).abs() < EXACT_TOL);
    assert!((real_sh(0, &d, Norm::N3d)[0] - 1.0).abs() < EXACT_TOL);
    assert!((real_sh(0, &d, Norm::Sn3d)[0] - 1.0).abs() < EXACT_TOL);
}

#[test]
fn norm_conversion_gains_values_and_round_trips() {
    let order = 5;
    let g = norm_conversion_gains(order, Norm::Sn3d, Norm::N3d);
    for (k, gk) in g.iter().enumerate() {
        let (n, _) = acn_to_nm(k);
        assert!((gk - ((2 * n + 1) as f64).sqrt()).abs() < EXACT_TOL);
    }
    let norms = [Norm::Orthonormal, Norm::N3d, Norm::Sn3d];
    let d = Direction::from_deg(-70.0, 15.0);
    for from in norms {
        for to in norms {
            let gft = norm_conversion_gains(order, from, to);
            let gtf = norm_conversion_gains(order, to, from);
            // Plane-wave channel signals convert like the basis functions.
            let yf = real_sh(order, &d, from);
            let yt = real_sh(order, &d, to);
            for k in 0..num_channels(order) {
                assert!((gft[k] * gtf[k] - 1.0).abs() < EXACT_TOL);
                assert!(
                    (gft[k] * yf[k] - yt[k]).abs() < 1e-13,
                    "{from:?}->{to:?} acn {k}"
                );
            }
        }
    }
}

#[test]
fn channel_bookkeeping() {
    assert_eq!(num_channels(0), 1);
    assert_eq!(num_channels(4), 25);
    assert_eq!(acn(0, 0), 0);
    assert_eq!(acn(1, -1), 1);
    assert_eq!(acn(1, 1), 3);
    assert_eq!(acn(3, -3), 9);
    assert_eq!(acn_to_nm(15), (3, 3));
    assert_eq!(acn_to_nm(16), (4, -4));
    for n in 0..50 {
        assert_eq!(order_from_channels(num_channels(n)), Some(n));
        assert_eq!(order_from_channels(num_channels(n) + 1), None);
    }
}

#[test]
fn real_sh_into_matches_real_sh_and_ignores_tail() {
    let d = Direction::from_deg(10.0, -20.0);
    let mut buf = vec![f64::NAN; 30];
    real_sh_into(4, &d, Norm::N3d, &mut buf);
    assert_eq!(&buf[..25], real_sh(4, &d, Norm::N3d).as_slice());
    assert!(buf[25..].iter().all(|v| v.is_nan()));
}

/// Classic FuMa B-format encoding formulas (Malham 2003; Wikipedia "Ambisonic data exchange
/// formats"), FuMa channel order W X Y Z R S T U V K L M N O P Q, angles A (azimuth), E
/// (elevation).
fn fuma_encode(d: &Direction) -> [f64; 16] {
    let (a, e) = (d.azimuth_rad, d.elevation_rad);
    let (se, ce) = e.sin_cos();
    [
        std::f64::consts::FRAC_1_SQRT_2,
        a.cos() * ce,
        a.sin() * ce,
        se,
        0.5 * (3.0 * se * se - 1.0),
        a.cos() * (2.0 * e).sin(),
        a.sin() * (2.0 * e).sin(),
        (2.0 * a).cos() * ce * ce,
        (2.0 * a).sin() * ce * ce,
        0.5 * se * (5.0 * se * se - 3.0),
        (135.0f64 / 256.0).sqrt() * a.cos() * ce * (5.0 * se * se - 1.0),
        (135.0f64 / 256.0).sqrt() * a.sin() * ce * (5.0 * se * se - 1.0),
        (27.0f64 / 4.0).sqrt() * (2.0 * a).cos() * ce * ce * se,
        (27.0f64 / 4.0).sqrt() * (2.0 * a).sin() * ce * ce * se,
        (3.0 * a).cos() * ce.powi(3),
        (3.0 * a).sin() * ce.powi(3),
    ]
}

#[test]
fn fuma_plane_wave_converts_to_sn3d() {
    for order in 0..=3 {
        let a = fuma_to_ambix_matrix(order).expect("order <= 3");
        let b = ambix_to_fuma_matrix(order).expect("order <= 3");
        let nch = num_channels(order);
        for d in random_dirs(100, 4 + order as u64) {
            let fuma = nalgebra::DVector::from_column_slice(&fuma_encode(&d)[..nch]);
            let ambix = &a * &fuma;
            let want = real_sh(order, &d, Norm::Sn3d);
            for k in 0..nch {
                assert!(
                    (ambix[k] - want[k]).abs() <= CLOSED_FORM_TOL,
                    "order {order} acn {k}"
                );
            }
            let back = &b * nalgebra::DVector::from_column_slice(&want);
            for k in 0..nch {
                assert!(
                    (back[k] - fuma[k]).abs() <= CLOSED_FORM_TOL,
                    "order {order} fuma {k}"
                );
            }
        }
        let id = &b * &a;
        assert!((id - DMatrix::<f64>::identity(nch, nch)).abs().max() <= EXACT_TOL);
        let id2 = &a * &b;
        assert!((id2 - DMatrix::<f64>::identity(nch, nch)).abs().max() <= EXACT_TOL);
    }
}

#[test]
fn fuma_rejects_order_4() {
    assert!(matches!(
        fuma_to_ambix_matrix(4),
        Err(ShError::Order { order: 4, .. })
    ));
    assert!(matches!(
        ambix_to_fuma_matrix(7),
        Err(ShError::Order { order: 7, .. })
    ));
}

proptest! {
    /// Parity: Y_n^m(-u) = (-1)^n Y_n^m(u); azimuth shift by 2π changes nothing.
    #[test]
    fn parity_and_periodicity(az in -PI..PI, z in -1.0f64..1.0) {
        let d = Direction::new(az, z.asin());
        let [x, y, zz] = d.to_cartesian();
        let anti = Direction::new(y.atan2(x) + PI, (-zz).asin());
        let shifted = Direction::new(az + 2.0 * PI, z.asin());
        let a = real_sh(12, &d, Norm::N3d);
        let b = real_sh(12, &anti, Norm::N3d);
        let c = real_sh(12, &shifted, Norm::N3d);
        for k in 0..a.len() {
            let (n, _) = acn_to_nm(k);
            let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
            prop_assert!((b[k] - sign * a[k]).abs() < 1e-10 * (2 * n + 1) as f64);
            prop_assert!((c[k] - a[k]).abs() < 1e-10 * (2 * n + 1) as f64);
        }
    }

    /// SN3D values are bounded by 1 (Schmidt semi-normalisation).
    #[test]
    fn sn3d_bounded(az in -PI..PI, z in -1.0f64..1.0) {
        let v = real_sh(20, &Direction::new(az, z.asin()), Norm::Sn3d);
        for x in v {
            prop_assert!(x.abs() <= 1.0 + 1e-12);
        }
    }
}
