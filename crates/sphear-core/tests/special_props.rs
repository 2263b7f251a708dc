//! Property tests and closed forms for sphear_core::special.

use proptest::prelude::*;
use sphear_core::special::*;

/// Relative tolerance for identities evaluated in double precision (each side carries a few ulps
/// of rounding, amplified at most by the cancellation accounted for in each test's scale).
const IDENTITY_REL_TOL: f64 = 1e-12;

/// Double factorial (2n+1)!! as f64.
fn double_factorial_odd(n: usize) -> f64 {
    (0..=n).map(|k| (2 * k + 1) as f64).product()
}

proptest! {
    /// Wronskian (DLMF 10.50.E1): j_n y_n' − j_n' y_n = 1/x², for every order where y_n is finite.
    #[test]
    fn wronskian(x in 1e-3f64..200.0, n_max in 0usize..60) {
        let j = sph_bessel_j(n_max, x);
        let y = sph_bessel_y(n_max, x);
        let jp = sph_bessel_j_deriv(n_max, x);
        let yp = sph_bessel_y_deriv(n_max, x);
        for n in 0..=n_max {
            if !y[n].is_finite() || !yp[n].is_finite() || j[n].abs() < 1e-290 {
                continue;
            }
            let w = j[n] * yp[n] - jp[n] * y[n];
            let scale = (j[n] * yp[n]).abs() + (jp[n] * y[n]).abs();
            let want = 1.0 / (x * x);
            prop_assert!((w - want).abs() <= IDENTITY_REL_TOL * scale.max(want),
                "n = {n}, x = {x}: W = {w:e}, 1/x² = {want:e}");
        }
    }

    /// The three-term recurrence holds for the returned j_n and y_n (checks the switch between
    /// Miller's algorithm and the forward recurrence at x ≈ n_max + 1 as well).
    #[test]
    fn recurrence_and_prefix_invariance(x in 1e-2f64..120.0, n_max in 2usize..80) {
        let j = sph_bessel_j(n_max, x);
        let y = sph_bessel_y(n_max, x);
        for n in 1..n_max {
            let c = (2 * n + 1) as f64 / x;
            let scale = (c * j[n]).abs() + j[n - 1].abs() + j[n + 1].abs();
            if scale > 1e-280 {
                prop_assert!((j[n - 1] + j[n + 1] - c * j[n]).abs() <= IDENTITY_REL_TOL * scale, "j, n = {n}");
            }
            if y[n + 1].is_finite() {
                let scale = (c * y[n]).abs() + y[n - 1].abs() + y[n + 1].abs();
                prop_assert!((y[n - 1] + y[n + 1] - c * y[n]).abs() <= IDENTITY_REL_TOL * scale, "y, n = {n}");
            }
        }
        // Asking for fewer orders (possibly the other algorithm branch) gives the same values.
        let short = sph_bessel_j(1, x);
        for n in 0..=1 {
            prop_assert!((short[n] - j[n]).abs() <= IDENTITY_REL_TOL * j[n].abs().max(1e-300) + 1e-15 * (1.0 / x).min(1.0),
                "prefix n = {n}: {} vs {}", short[n], j[n]);
        }
    }

    /// Parity: j_n(−x) = (−1)^n j_n(x), y_n(−x) = (−1)^{n+1} y_n(x).
    #[test]
    fn parity(x in 1e-3f64..50.0) {
        let (jp, jm) = (sph_bessel_j(10, x), sph_bessel_j(10, -x));
        let (yp, ym) = (sph_bessel_y(10, x), sph_bessel_y(10, -x));
        for n in 0..=10 {
            let s = if n % 2 == 0 { 1.0 } else { -1.0 };
            prop_assert_eq!(jm[n], s * jp[n]);
            prop_assert_eq!(ym[n], -s * yp[n]);
        }
    }

    /// Bonnet recurrence is exact for P_n; |P_n(x)| ≤ 1 on [−1, 1]; P_n(1) = 1, P_n(−1) = (−1)^n.
    #[test]
    fn legendre_bounds(x in -1.0f64..=1.0) {
        let p = legendre_p(60, x);
        for v in &p {
            prop_assert!(v.abs() <= 1.0 + 1e-13);
        }
        prop_assert!((p[2] - (3.0 * x * x - 1.0) / 2.0).abs() < 1e-15);
        prop_assert!((p[3] - (5.0 * x * x * x - 3.0 * x) / 2.0).abs() < 1e-15);
    }
}

#[test]
fn closed_forms_j0_y0_j1() {
    for i in 0..2000 {
        let x = 0.05 * i as f64 + 1.0;
        let (s, c) = x.sin_cos();
        let j = sph_bessel_j(1, x);
        let y = sph_bessel_y(0, x);
        let tol = IDENTITY_REL_TOL / x; // absolute, relative to the envelope 1/x
        assert!((j[0] - s / x).abs() <= tol, "j0({x})");
        assert!((y[0] + c / x).abs() <= tol, "y0({x})");
        assert!((j[1] - (s / (x * x) - c / x)).abs() <= tol, "j1({x})");
    }
    // Small x: the closed form of j_1 cancels; use its Taylor series x/3 − x³/30 + x⁵/840.
    for x in [1e-12, 1e-8, 1e-4, 1e-2, 0.1] {
        let j1 = sph_bessel_j(1, x)[1];
        let t = x / 3.0 - x.powi(3) / 30.0 + x.powi(5) / 840.0 - x.powi(7) / 45360.0;
        assert!(
            (j1 - t).abs() <= IDENTITY_REL_TOL * t,
            "j1({x}) = {j1}, series {t}"
        );
        let j0 = sph_bessel_j(0, x)[0];
        assert!((j0 - x.sin() / x).abs() <= IDENTITY_REL_TOL, "j0({x})");
    }
}

/// Small-argument series j_n(x) = x^n/(2n+1)!! · (1 − x²/(2(2n+3)) + x⁴/(8(2n+3)(2n+5)) − …)
/// (DLMF 10.53.E1)
/// checks Miller's algorithm where n ≫ x, up to order 100 (until underflow).
#[test]
fn small_argument_series_high_order() {
    for x in [1e-6, 1e-3, 0.05] {
        let j = sph_bessel_j(100, x);
        for (n, &v) in j.iter().enumerate() {
            let a = (2 * n + 3) as f64;
            let lead = x.powi(n as i32) / double_factorial_odd(n);
            if lead < 1e-290 || !lead.is_finite() {
                assert!(v.abs() < 1e-280, "j_{n}({x}) = {v} should underflow");
                continue;
            }
            // Σ_k (−x²/2)^k / (k! (2n+3)(2n+5)…(2n+2k+1)), 8 terms: remainder < 1e-30 relative.
            let mut term = 1.0;
            let mut sum = 1.0;
            for k in 1..8 {
                term *= -x * x / 2.0 / (k as f64 * (a + 2.0 * (k - 1) as f64));
                sum += term;
            }
            let series = lead * sum;
            assert!(
                (v - series).abs() <= IDENTITY_REL_TOL * series,
                "j_{n}({x}) = {v:e}, series {series:e}"
            );
        }
    }
}

#[test]
fn non_finite_inputs_do_not_panic() {
    assert!(sph_bessel_j(3, f64::NAN).iter().all(|v| v.is_nan()));
    assert!(sph_bessel_y(3, f64::NAN).iter().all(|v| v.is_nan()));
    assert_eq!(sph_bessel_j(3, f64::INFINITY), vec![0.0; 4]);
    assert_eq!(sph_bessel_j(0, 1e300).len(), 1);
    let h = sph_hankel2_deriv(80, 1e-9);
    assert!(h.iter().all(|v| !v.re.is_nan() && !v.im.is_nan()));
}
