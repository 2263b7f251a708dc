//! sphear_core::special against scipy.special and 60-digit mpmath values
//! (fixtures from scripts/make_special_fixtures.py, pinned versions in scripts/requirements.txt).

use serde::Deserialize;
use sphear_core::special::*;

const FIXTURE: &str = include_str!("fixtures/special_scipy.json");

/// Relative tolerance against scipy.special (scipy's own error is ~1e-14 relative, AMOS for n > x).
const SCIPY_REL_TOL: f64 = 1e-10;
/// Relative tolerance against the exact (mpmath) values: the accuracy the module promises.
const EXACT_REL_TOL: f64 = 1e-12;
/// Values with magnitude below this are in (or next to) floating-point underflow: skipped.
const UNDERFLOW_SKIP: f64 = 1e-290;

#[derive(Deserialize)]
struct Row {
    x: f64,
    scipy_jn: Vec<Option<f64>>,
    scipy_yn: Vec<Option<f64>>,
    scipy_jnp: Vec<Option<f64>>,
    scipy_ynp: Vec<Option<f64>>,
    mp_jn: Vec<Option<f64>>,
    mp_yn: Vec<Option<f64>>,
    mp_jnp: Vec<Option<f64>>,
    mp_ynp: Vec<Option<f64>>,
}

#[derive(Deserialize)]
struct High {
    x: f64,
    mp_jn: Vec<Option<f64>>,
}

#[derive(Deserialize)]
struct Leg {
    x: f64,
    scipy: Vec<Option<f64>>,
    mp: Vec<Option<f64>>,
}

#[derive(Deserialize)]
struct Fixture {
    n_max: usize,
    bessel: Vec<Row>,
    n_high: usize,
    bessel_high: Vec<High>,
    legendre: Vec<Leg>,
}

fn fixture() -> Fixture {
    serde_json::from_str(FIXTURE).expect("fixture JSON parses")
}

/// Checks `got` against `want` (None = overflow in the reference: `got` must be infinite).
/// Returns the worst relative error seen.
fn check(name: &str, x: f64, got: &[f64], want: &[Option<f64>], rel_tol: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{name} length at x = {x}");
    let mut worst: f64 = 0.0;
    for (n, (g, w)) in got.iter().zip(want).enumerate() {
        match w {
            None => assert!(
                g.is_infinite(),
                "{name}_{n}({x}): reference overflows, got {g}"
            ),
            Some(w) if w.abs() < UNDERFLOW_SKIP => {
                assert!(
                    g.abs() < 1e-280,
                    "{name}_{n}({x}) = {g}, reference {w} underflows"
                )
            }
            Some(w) => {
                let rel = (g - w).abs() / w.abs();
                worst = worst.max(rel);
                assert!(
                    rel <= rel_tol,
                    "{name}_{n}({x}) = {g:e}, reference {w:e}, rel err {rel:e}"
                );
            }
        }
    }
    worst
}

/// Derivatives near their own zeros (e.g. `j_32'(35) ≈ 1e-7` next to the turning point, where
/// `|j_32| ≈ 1e-2`) are differences of two O(|f|) terms, so their attainable relative accuracy is
/// limited by that cancellation: the error is bounded by `rel_tol` times the magnitude of the
/// terms of DLMF 10.51.2, `f_n' = f_{n−1} − (n+1)/x f_n` (`f_0' = −f_1`), from the reference values.
fn check_deriv(
    name: &str,
    x: f64,
    got: &[f64],
    want: &[Option<f64>],
    f: &[Option<f64>],
    rel_tol: f64,
) -> f64 {
    assert_eq!(got.len(), want.len(), "{name} length at x = {x}");
    let mut worst: f64 = 0.0;
    for (n, (g, w)) in got.iter().zip(want).enumerate() {
        let terms = if n == 0 {
            f[1].map(f64::abs)
        } else {
            match (f[n - 1], f[n]) {
                (Some(a), Some(b)) => Some(a.abs() + (n + 1) as f64 / x * b.abs()),
                _ => None,
            }
        };
        match (w, terms) {
            (None, _) | (_, None) => assert!(
                g.is_infinite(),
                "{name}_{n}({x}): reference overflows, got {g}"
            ),
            (Some(w), Some(_)) if w.abs() < UNDERFLOW_SKIP => {
                assert!(
                    g.abs() < 1e-280,
                    "{name}_{n}({x}) = {g}, reference {w} underflows"
                )
            }
            (Some(w), Some(t)) => {
                let rel = (g - w).abs() / w.abs().max(t);
                worst = worst.max(rel);
                assert!(
                    rel <= rel_tol,
                    "{name}_{n}({x}) = {g:e}, reference {w:e}, error/scale {rel:e}"
                );
            }
        }
    }
    worst
}

#[test]
fn bessel_against_scipy() {
    let f = fixture();
    let mut worst: f64 = 0.0;
    for r in &f.bessel {
        let x = r.x;
        worst = worst.max(check(
            "j",
            x,
            &sph_bessel_j(f.n_max, x),
            &r.scipy_jn,
            SCIPY_REL_TOL,
        ));
        worst = worst.max(check(
            "y",
            x,
            &sph_bessel_y(f.n_max, x),
            &r.scipy_yn,
            SCIPY_REL_TOL,
        ));
        worst = worst.max(check_deriv(
            "j'",
            x,
            &sph_bessel_j_deriv(f.n_max, x),
            &r.scipy_jnp,
            &r.mp_jn,
            SCIPY_REL_TOL,
        ));
        worst = worst.max(check_deriv(
            "y'",
            x,
            &sph_bessel_y_deriv(f.n_max, x),
            &r.scipy_ynp,
            &r.mp_yn,
            SCIPY_REL_TOL,
        ));
    }
    eprintln!("worst relative error vs scipy: {worst:e}");
}

#[test]
fn bessel_against_mpmath() {
    let f = fixture();
    let mut worst: f64 = 0.0;
    for r in &f.bessel {
        let x = r.x;
        worst = worst.max(check(
            "j",
            x,
            &sph_bessel_j(f.n_max, x),
            &r.mp_jn,
            EXACT_REL_TOL,
        ));
        worst = worst.max(check(
            "y",
            x,
            &sph_bessel_y(f.n_max, x),
            &r.mp_yn,
            EXACT_REL_TOL,
        ));
        worst = worst.max(check_deriv(
            "j'",
            x,
            &sph_bessel_j_deriv(f.n_max, x),
            &r.mp_jnp,
            &r.mp_jn,
            EXACT_REL_TOL,
        ));
        worst = worst.max(check_deriv(
            "y'",
            x,
            &sph_bessel_y_deriv(f.n_max, x),
            &r.mp_ynp,
            &r.mp_yn,
            EXACT_REL_TOL,
        ));
    }
    eprintln!("worst relative error vs mpmath: {worst:e}");
}

#[test]
fn bessel_j_high_orders_against_mpmath() {
    let f = fixture();
    let mut worst: f64 = 0.0;
    for r in &f.bessel_high {
        worst = worst.max(check(
            "j",
            r.x,
            &sph_bessel_j(f.n_high, r.x),
            &r.mp_jn,
            EXACT_REL_TOL,
        ));
        // A shorter request must give the same leading values (start order depends on n_max).
        worst = worst.max(check(
            "j",
            r.x,
            &sph_bessel_j(5, r.x),
            &r.mp_jn[..6],
            EXACT_REL_TOL,
        ));
    }
    eprintln!("worst relative error of j_n, n <= {}: {worst:e}", f.n_high);
}

#[test]
fn hankel_is_j_minus_i_y() {
    let f = fixture();
    for r in &f.bessel {
        let h2 = sph_hankel2(f.n_max, r.x);
        let h2p = sph_hankel2_deriv(f.n_max, r.x);
        let h1 = sph_hankel1(f.n_max, r.x);
        let h1p = sph_hankel1_deriv(f.n_max, r.x);
        let re: Vec<f64> = h2.iter().map(|h| h.re).collect();
        let im: Vec<Option<f64>> = r.mp_yn.iter().map(|v| v.map(|v| -v)).collect();
        check("Re h2", r.x, &re, &r.mp_jn, EXACT_REL_TOL);
        check(
            "Im h2",
            r.x,
            &h2.iter().map(|h| h.im).collect::<Vec<_>>(),
            &im,
            EXACT_REL_TOL,
        );
        check_deriv(
            "Re h2'",
            r.x,
            &h2p.iter().map(|h| h.re).collect::<Vec<_>>(),
            &r.mp_jnp,
            &r.mp_jn,
            EXACT_REL_TOL,
        );
        let imp: Vec<Option<f64>> = r.mp_ynp.iter().map(|v| v.map(|v| -v)).collect();
        let imy: Vec<Option<f64>> = r.mp_yn.iter().map(|v| v.map(|v| -v)).collect();
        check_deriv(
            "Im h2'",
            r.x,
            &h2p.iter().map(|h| h.im).collect::<Vec<_>>(),
            &imp,
            &imy,
            EXACT_REL_TOL,
        );
        check(
            "Im h1",
            r.x,
            &h1.iter().map(|h| h.im).collect::<Vec<_>>(),
            &r.mp_yn,
            EXACT_REL_TOL,
        );
        check_deriv(
            "Im h1'",
            r.x,
            &h1p.iter().map(|h| h.im).collect::<Vec<_>>(),
            &r.mp_ynp,
            &r.mp_yn,
            EXACT_REL_TOL,
        );
    }
}

#[test]
fn legendre_against_scipy_and_mpmath() {
    let f = fixture();
    for r in &f.legendre {
        let p = legendre_p(f.n_max, r.x);
        // P_n(x) has zeros in (−1, 1): compare with an absolute floor of the bound |P_n| ≤ 1.
        for (n, ((g, s), m)) in p.iter().zip(&r.scipy).zip(&r.mp).enumerate() {
            let (s, m) = (s.expect("finite"), m.expect("finite"));
            assert!(
                (g - m).abs() <= EXACT_REL_TOL * m.abs().max(1.0),
                "P_{n}({}) = {g}, mp {m}",
                r.x
            );
            assert!(
                (g - s).abs() <= SCIPY_REL_TOL * s.abs().max(1.0),
                "P_{n}({}) = {g}, scipy {s}",
                r.x
            );
        }
    }
}
