//! Quadratures: t-design exactness, Gauss–Legendre nodes against closed forms, grids.

use std::f64::consts::PI;

use nalgebra::{DMatrix, DVector};
use sphear_core::Direction;
use sphear_sh::quadrature::{
    Quadrature, fibonacci_grid, gauss_legendre, gauss_legendre_nodes, max_t_design_degree,
    t_design, t_design_source,
};
use sphear_sh::sh::{Norm, acn_to_nm, num_channels, real_sh, sh_matrix};

/// Mean of an orthonormal harmonic over a design, `|Σ_i Y_n^m(u_i)| / N`: must vanish.
const DESIGN_TOL: f64 = 1e-13;
/// Weight sums.
const SUM_TOL: f64 = 1e-12;
/// Gram-matrix error.
const GRAM_TOL: f64 = 1e-10;
/// Gauss–Legendre nodes/weights against closed forms.
const GL_TOL: f64 = 1e-14;

fn design_defect(q: &Quadrature, t: usize) -> (f64, usize, i64) {
    let mut sums = vec![0.0; num_channels(t)];
    for d in &q.directions {
        for (s, y) in sums.iter_mut().zip(real_sh(t, d, Norm::Orthonormal)) {
            *s += y;
        }
    }
    let mut worst = (0.0, 0, 0);
    for (k, s) in sums.iter().enumerate().skip(1) {
        let v = s.abs() / q.len() as f64;
        if v > worst.0 {
            let (n, m) = acn_to_nm(k);
            worst = (v, n, m);
        }
    }
    worst
}

#[test]
fn every_embedded_t_design_is_exact() {
    let max_t = max_t_design_degree();
    assert!(
        max_t >= 30,
        "designs up to degree 30 expected, have {max_t}"
    );
    let mut last_len = 0;
    for t in 1..=max_t {
        let q = t_design(t).expect("embedded");
        assert!(q.exact_degree() >= t);
        // Sizes grow with the degree (smallest design chosen).
        assert!(q.len() >= last_len);
        last_len = q.len();
        let wsum: f64 = q.weights.iter().sum();
        assert!(
            (wsum - 4.0 * PI).abs() <= SUM_TOL,
            "t {t}: weights sum {wsum}"
        );
        assert!(
            q.weights
                .iter()
                .all(|w| (w - 4.0 * PI / q.len() as f64).abs() < 1e-15)
        );
        let (defect, n, m) = design_defect(&q, q.exact_degree());
        assert!(
            defect <= DESIGN_TOL,
            "t {t} ({:?}): mean Y_{n}^{m} = {defect:e}",
            t_design_source(t)
        );
        // And it is not exact one degree higher than claimed (the claim is the true degree).
        let (next, _, _) = design_defect(&q, q.exact_degree() + 1);
        assert!(
            next > 1e-6,
            "t {t}: also exact at degree {}",
            q.exact_degree() + 1
        );
    }
    assert!(t_design(max_t + 1).is_none());
}

#[test]
fn known_design_sizes() {
    // Hardin & Sloane 1996: icosahedron (12, t = 5), 24-point 7-design, 60-point 10-design,
    // 108-point 14-design, 180-point 18-design; t = 21 from Gräf & Potts (234 points).
    for (t, n) in [
        (1, 2),
        (2, 4),
        (3, 6),
        (4, 12),
        (5, 12),
        (6, 24),
        (7, 24),
        (10, 60),
        (14, 108),
        (18, 180),
        (21, 234),
        (30, 480),
    ] {
        assert_eq!(t_design(t).map(|q| q.len()), Some(n), "t = {t}");
    }
    let q = t_design(3).expect("octahedron");
    // The 3-design of 6 points is the octahedron: ±x, ±y, ±z.
    for d in &q.directions {
        let c = d.to_cartesian();
        let ones = c.iter().filter(|v| (v.abs() - 1.0).abs() < 1e-15).count();
        assert_eq!(ones, 1);
    }
}

fn gram_error(order: usize, q: &Quadrature) -> f64 {
    let y = sh_matrix(order, &q.directions, Norm::Orthonormal);
    let w = DMatrix::from_diagonal(&DVector::from_column_slice(&q.weights));
    let g = y.transpose() * w * &y;
    (g - DMatrix::<f64>::identity(num_channels(order), num_channels(order)))
        .abs()
        .max()
}

#[test]
fn t_design_orthonormality_order_10() {
    let q = t_design(20).expect("embedded");
    let e = gram_error(10, &q);
    assert!(e <= GRAM_TOL, "{e:e}");
    // Every design integrates products up to ⌊t/2⌋.
    for t in [4, 6, 9, 10, 14, 18, 21, 25, 30] {
        let q = t_design(t).expect("embedded");
        let e = gram_error(q.max_sh_order(), &q);
        assert!(e <= GRAM_TOL, "t {t}: {e:e}");
    }
}

#[test]
fn gauss_legendre_orthonormality_order_30() {
    let q = gauss_legendre(30);
    assert_eq!(q.len(), 31 * 62);
    assert_eq!(q.exact_degree(), 61);
    let wsum: f64 = q.weights.iter().sum();
    assert!((wsum - 4.0 * PI).abs() <= SUM_TOL);
    let e = gram_error(30, &q);
    assert!(e <= GRAM_TOL, "{e:e}");
}

#[test]
fn gauss_legendre_not_exact_beyond_its_degree() {
    // Y_{2N+2}^0 is not integrated to zero by N+1 Gauss nodes.
    let order = 4;
    let q = gauss_legendre(order);
    let t = 2 * order + 2;
    let s: f64 = q
        .directions
        .iter()
        .zip(&q.weights)
        .map(|(d, w)| w * real_sh(t, d, Norm::Orthonormal)[t * t + t])
        .sum();
    assert!(s.abs() > 1e-3);
}

#[test]
fn gauss_legendre_nodes_closed_forms() {
    // n = 2: ±1/√3, weights 1.
    let (x, w) = gauss_legendre_nodes(2);
    assert!((x[1] - 1.0 / 3f64.sqrt()).abs() < GL_TOL && (x[0] + x[1]).abs() < GL_TOL);
    assert!((w[0] - 1.0).abs() < GL_TOL && (w[1] - 1.0).abs() < GL_TOL);
    // n = 3: 0, ±√(3/5); weights 8/9, 5/9.
    let (x, w) = gauss_legendre_nodes(3);
    assert!(x[1].abs() < GL_TOL && (x[2] - 0.6f64.sqrt()).abs() < GL_TOL);
    assert!((w[1] - 8.0 / 9.0).abs() < GL_TOL && (w[2] - 5.0 / 9.0).abs() < GL_TOL);
    // n = 5 (Abramowitz & Stegun 25.4.29 closed forms).
    let (x, w) = gauss_legendre_nodes(5);
    let r = (10.0f64 / 7.0).sqrt();
    let x1 = (5.0 - 2.0 * r).sqrt() / 3.0;
    let x2 = (5.0 + 2.0 * r).sqrt() / 3.0;
    let s70 = 70f64.sqrt();
    let want_x = [-x2, -x1, 0.0, x1, x2];
    let want_w = [
        (322.0 - 13.0 * s70) / 900.0,
        (322.0 + 13.0 * s70) / 900.0,
        128.0 / 225.0,
        (322.0 + 13.0 * s70) / 900.0,
        (322.0 - 13.0 * s70) / 900.0,
    ];
    for i in 0..5 {
        assert!((x[i] - want_x[i]).abs() < GL_TOL, "x[{i}]");
        assert!((w[i] - want_w[i]).abs() < GL_TOL, "w[{i}]");
    }
    // Large n: sorted, symmetric, weights sum to 2, integrates x^(2n-2) exactly.
    let n = 64;
    let (x, w) = gauss_legendre_nodes(n);
    assert!(x.windows(2).all(|p| p[0] < p[1]));
    assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-13);
    let k = 2 * n - 2;
    let integral: f64 = x
        .iter()
        .zip(&w)
        .map(|(xi, wi)| wi * xi.powi(k as i32))
        .sum();
    assert!((integral - 2.0 / (k + 1) as f64).abs() < 1e-14);
}

#[test]
fn fibonacci_grid_is_near_uniform() {
    let n = 2000;
    let g = fibonacci_grid(n);
    assert_eq!(g.len(), n);
    // Mean of low-order harmonics ≈ 0 (equal-area spiral), e.g. the z moment and Y_2^0.
    let mut s = vec![0.0; 9];
    for d in &g {
        for (a, b) in s.iter_mut().zip(real_sh(2, d, Norm::N3d)) {
            *a += b / n as f64;
        }
    }
    assert!((s[0] - 1.0).abs() < 1e-12);
    for v in &s[1..] {
        assert!(v.abs() < 1e-3, "{s:?}");
    }
    // Covering: every point of a test set is within 5° of the grid (spacing ≈ √(4π/n) ≈ 4.5°).
    for t in fibonacci_grid(300) {
        let rot = Direction::new(t.azimuth_rad + 0.123, t.elevation_rad * 0.97);
        let nearest = g
            .iter()
            .map(|d| d.angle_to(&rot))
            .fold(f64::INFINITY, f64::min);
        assert!(nearest.to_degrees() < 5.0);
    }
}

#[test]
fn quadrature_new_validates() {
    let d = vec![Direction::new(0.0, 0.0)];
    assert!(Quadrature::new(d.clone(), vec![], 0).is_err());
    assert!(Quadrature::new(vec![], vec![], 0).is_err());
    assert!(Quadrature::new(d.clone(), vec![f64::NAN], 0).is_err());
    let q = Quadrature::new(d, vec![4.0 * PI], 0).expect("valid");
    assert_eq!((q.len(), q.exact_degree(), q.is_empty()), (1, 0, false));
}
