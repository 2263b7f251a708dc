//! Spherical Bessel and Hankel functions and Legendre polynomials (f64, design-time maths).
//!
//! All functions return the whole sequence of orders `0..=n_max` at one argument, because every
//! user (modal sphere model, radial filters) needs all orders at once and the recurrences produce
//! them together.
//!
//! ## Definitions
//! * `j_n(x) = sqrt(π / 2x) J_{n+1/2}(x)`, `y_n(x) = sqrt(π / 2x) Y_{n+1/2}(x)` (DLMF 10.47.3/4),
//!   with `j_0(x) = sin x / x`, `y_0(x) = −cos x / x`.
//! * `h⁽¹⁾_n = j_n + i y_n`, `h⁽²⁾_n = j_n − i y_n`. With the project's time convention `e^{+iωt}`
//!   the *outgoing* spherical wave is `h⁽²⁾_n(kr) e^{+iωt}` (its phase `e^{i(ωt − kr)}` lags with
//!   distance), so [`sph_hankel2`] is the radiation function of sphere scattering.
//! * `P_n(x)` Legendre polynomials, `P_0 = 1`, `P_1 = x`.
//!
//! ## Algorithms and accuracy
//! * `j_n`: for `x ≤ n_max + 1` (or `x < 2`) Miller's backward recurrence
//!   `j_{n−1} = (2n+1)/x · j_n − j_{n+1}` started well above `max(n_max, x)` with exact power-of-two
//!   rescaling against overflow, normalised by the sum rule `Σ_n (2n+1) j_n(x)² = 1` (DLMF 10.60.E11,
//!   which never vanishes, unlike `j_0` at its zeros). For larger `x` all requested orders are below
//!   the turning point, where the forward recurrence from the closed forms of `j_0`, `j_1` is stable
//!   (as in scipy's `spherical_jn`). Relative error ≲ 1e-13 wherever `|j_n|` is not in underflow,
//!   except next to a zero of `j_n` (only for `n < x`), where the error is ≲ 1e-15 of the local
//!   envelope `1/x` (absolute), as for any double-precision method.
//! * `y_n`: forward recurrence (the dominant solution, stable), from the closed forms of `y_0`,
//!   `y_1`. For tiny `x` and large `n`, `y_n` overflows to `−∞` (e.g. `y_40(1e−4)`); every order
//!   above the first overflowed one is `−∞` too (never NaN).
//! * Derivatives: `j_n' = (n/x) j_n − j_{n+1}` (no cancellation for `n ≫ x`),
//!   `y_n' = y_{n−1} − ((n+1)/x) y_n` (no cancellation for small `x`); `y_n' = +∞` where `y_n = −∞`.
//! * Negative arguments use the parities `j_n(−x) = (−1)^n j_n(x)`, `y_n(−x) = (−1)^{n+1} y_n(x)`.
//!   At `x = 0`: `j_n(0) = δ_{n0}`, `y_n(0) = −∞`. NaN in, NaN out. No function panics.
//!
//! # References
//! * F. W. J. Olver et al., NIST Digital Library of Mathematical Functions, §10.47–10.60 (spherical
//!   Bessel functions), §14.10 / 18.9 (Legendre recurrence).
//! * W. Gautschi, "Computational aspects of three-term recurrence relations", SIAM Review 9 (1967)
//!   24–82 (Miller's algorithm).
//! * W. H. Press et al., Numerical Recipes, 3rd ed., §6.5 (Bessel functions by downward recurrence).

use num_complex::Complex64;

/// Exact rescaling constant of Miller's recurrence: `2^330 ≈ 2.2e99` keeps squares finite.
const MILLER_RESCALE_THRESHOLD: f64 = 2.187_250_724_783_012e99; // 2^330
/// Inverse of [`MILLER_RESCALE_THRESHOLD`], `2^−330` (exact, so rescaling loses nothing).
const MILLER_RESCALE_FACTOR: f64 = 4.571_949_565_129_1e-100; // 2^-330

/// Start order of Miller's recurrence for orders up to `n_top` at argument `x` (`x ≤ n_top + 1`).
///
/// The relative error of `j_n` from starting at `N` is about `(j_N y_n)/(y_N j_n)`; above the
/// turning point `x` the ratio `j_{N}/y_{N}` falls faster than `(x/2N)^{2(N−n)}`, so
/// `N = max(n_top, x) + 20 + sqrt(40·max(n_top, x))` (Numerical Recipes' rule with margin) leaves it
/// far below 1e-17 for every order ≤ `n_top` (checked against mpmath up to n = 100 in the tests).
fn miller_start(n_top: usize, x: f64) -> usize {
    let m = (n_top as f64).max(x.ceil());
    (m + 20.0 + (40.0 * m).sqrt()).ceil() as usize
}

/// `j_0..=j_{n_top}` for finite `x > 0` (no argument checks).
fn sph_j_positive(n_top: usize, x: f64) -> Vec<f64> {
    let mut out = vec![0.0; n_top + 1];
    if x > (n_top as f64) + 1.0 && x >= 2.0 {
        // Forward recurrence: every order is below the turning point x, stable.
        let (s, c) = x.sin_cos();
        out[0] = s / x;
        if n_top >= 1 {
            out[1] = (s / x - c) / x;
        }
        for n in 1..n_top {
            out[n + 1] = (2 * n + 1) as f64 / x * out[n] - out[n - 1];
        }
        return out;
    }
    // Miller's backward recurrence with normalisation by Σ (2n+1) j_n² = 1.
    let n_start = miller_start(n_top, x).max(n_top + 1);
    let mut f = vec![0.0; n_start + 2];
    f[n_start] = 1.0;
    for n in (1..=n_start).rev() {
        let v = (2 * n + 1) as f64 / x * f[n] - f[n + 1];
        f[n - 1] = v;
        if v.abs() > MILLER_RESCALE_THRESHOLD {
            for g in &mut f[n - 1..] {
                *g *= MILLER_RESCALE_FACTOR;
            }
        }
    }
    // Sum in increasing magnitude order of the small-x tail (high orders first).
    let mut sum = 0.0;
    for n in (0..=n_start).rev() {
        sum += (2 * n + 1) as f64 * f[n] * f[n];
    }
    let norm = 1.0 / sum.sqrt();
    for (o, g) in out.iter_mut().zip(&f) {
        *o = g * norm;
    }
    out
}

/// Spherical Bessel functions of the first kind `j_0(x) ..= j_{n_max}(x)`.
///
/// `j_0(x) = sin x / x`, `j_{n+1} = (2n+1)/x · j_n − j_{n−1}`; computed by Miller's backward
/// recurrence normalised with `Σ (2n+1) j_n² = 1` where that is the stable direction (see the
/// module docs), so `x → 0` and `n ≫ x` are accurate (≤ 1e-12 relative until underflow; values
/// below ~1e-308 are flushed to 0). Any `n_max` (cost `O(max(n_max, x))` for `x ≤ n_max + 1`).
/// `x < 0` uses `j_n(−x) = (−1)^n j_n(x)`; `x = ±∞` gives zeros; NaN gives NaNs.
///
/// ```
/// let j = sphear_core::special::sph_bessel_j(2, 1.0);
/// assert!((j[0] - 1f64.sin()).abs() < 1e-15);
/// ```
///
/// # References
/// DLMF §10.47, §10.51 (recurrences), §10.60.E11 (sum rule); Gautschi, SIAM Review 9 (1967).
pub fn sph_bessel_j(n_max: usize, x: f64) -> Vec<f64> {
    if x.is_nan() {
        return vec![f64::NAN; n_max + 1];
    }
    if x.is_infinite() {
        return vec![0.0; n_max + 1];
    }
    if x == 0.0 {
        let mut v = vec![0.0; n_max + 1];
        v[0] = 1.0;
        return v;
    }
    let mut v = sph_j_positive(n_max, x.abs());
    if x < 0.0 {
        for (n, e) in v.iter_mut().enumerate() {
            if n % 2 == 1 {
                *e = -*e;
            }
        }
    }
    v
}

/// `y_0..=y_{n_top}` for finite `x > 0`; orders past the first overflow are `−∞`.
fn sph_y_positive(n_top: usize, x: f64) -> Vec<f64> {
    let mut out = vec![f64::NEG_INFINITY; n_top + 1];
    let (s, c) = x.sin_cos();
    out[0] = -c / x;
    if n_top >= 1 {
        out[1] = (-c / x - s) / x;
    }
    for n in 1..n_top {
        if !out[n].is_finite() {
            break; // the rest stays −∞ (y_n < 0 and growing once it can overflow)
        }
        out[n + 1] = (2 * n + 1) as f64 / x * out[n] - out[n - 1];
    }
    out
}

/// Spherical Bessel functions of the second kind `y_0(x) ..= y_{n_max}(x)`.
///
/// `y_0(x) = −cos x / x`, `y_1(x) = −cos x / x² − sin x / x`, then the forward recurrence
/// `y_{n+1} = (2n+1)/x · y_n − y_{n−1}` (stable: `y_n` is the dominant solution). Meant for `x > 0`.
/// For small `x`, `y_n(x) ≈ −(2n−1)!!/x^{n+1}` overflows: such entries (and all higher orders) are
/// `−∞`, e.g. from `n = 40` at `x = 1e−4`. `x = 0` gives all `−∞`; `x < 0` uses
/// `y_n(−x) = (−1)^{n+1} y_n(x)`; `x = ±∞` gives zeros; NaN gives NaNs.
///
/// # References
/// DLMF §10.49.E4 (closed forms), §10.51 (recurrences).
pub fn sph_bessel_y(n_max: usize, x: f64) -> Vec<f64> {
    if x.is_nan() {
        return vec![f64::NAN; n_max + 1];
    }
    if x.is_infinite() {
        return vec![0.0; n_max + 1];
    }
    if x == 0.0 {
        return vec![f64::NEG_INFINITY; n_max + 1];
    }
    let mut v = sph_y_positive(n_max, x.abs());
    if x < 0.0 {
        for (n, e) in v.iter_mut().enumerate() {
            if n % 2 == 0 {
                *e = -*e;
            }
        }
    }
    v
}

/// Derivatives `j_n'(x)` for `n = 0..=n_max`.
///
/// `j_n'(x) = (n/x) j_n(x) − j_{n+1}(x)` (DLMF 10.51.E2), free of cancellation for `n ≫ x`;
/// at `x = 0`: `j_1'(0) = 1/3`, all others 0. Parity: `j_n'` is even for odd `n` and vice versa.
///
/// # References
/// DLMF §10.51.
pub fn sph_bessel_j_deriv(n_max: usize, x: f64) -> Vec<f64> {
    if x.is_nan() {
        return vec![f64::NAN; n_max + 1];
    }
    if x.is_infinite() {
        return vec![0.0; n_max + 1];
    }
    if x == 0.0 {
        let mut v = vec![0.0; n_max + 1];
        if n_max >= 1 {
            v[1] = 1.0 / 3.0;
        }
        return v;
    }
    let j = sph_bessel_j(n_max + 1, x);
    (0..=n_max)
        .map(|n| n as f64 / x * j[n] - j[n + 1])
        .collect()
}

/// Derivatives `y_n'(x)` for `n = 0..=n_max`.
///
/// `y_0' = −y_1`, `y_n' = y_{n−1} − ((n+1)/x) y_n` (DLMF 10.51.E2), no cancellation for small `x`.
/// Where `y_n` overflowed to `−∞`, `y_n' = +∞` (the limit sign for `x > 0`). `x = 0` gives `+∞`.
///
/// # References
/// DLMF §10.51.
pub fn sph_bessel_y_deriv(n_max: usize, x: f64) -> Vec<f64> {
    if x.is_nan() {
        return vec![f64::NAN; n_max + 1];
    }
    if x.is_infinite() {
        return vec![0.0; n_max + 1];
    }
    if x == 0.0 {
        return vec![f64::INFINITY; n_max + 1];
    }
    let y = sph_bessel_y(n_max + 1, x);
    // Overflowed orders (n ≫ |x|): y_n' → +∞ for x > 0; for x < 0 the parity y_n'(−x) = (−1)^n y_n'(x)
    // gives +∞ for even n and −∞ for odd n.
    let inf_sign = |n: usize| {
        if x > 0.0 || n % 2 == 0 {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        }
    };
    (0..=n_max)
        .map(|n| {
            if n == 0 {
                if y[1].is_finite() { -y[1] } else { inf_sign(0) }
            } else if y[n].is_finite() {
                let d = y[n - 1] - (n + 1) as f64 / x * y[n];
                if d.is_nan() { inf_sign(n) } else { d }
            } else {
                inf_sign(n)
            }
        })
        .collect()
}

/// Spherical Hankel functions of the second kind `h⁽²⁾_n(x) = j_n(x) − i y_n(x)`, `n = 0..=n_max`.
///
/// With `e^{+iωt}` this is the outgoing spherical wave, `h⁽²⁾_0(x) = i e^{−ix}/x`. The imaginary
/// part overflows to `+∞` exactly where [`sph_bessel_y`] gives `−∞`.
///
/// # References
/// DLMF §10.47.E11 (`h⁽²⁾_n = j_n − i y_n`).
pub fn sph_hankel2(n_max: usize, x: f64) -> Vec<Complex64> {
    let j = sph_bessel_j(n_max, x);
    let y = sph_bessel_y(n_max, x);
    j.iter()
        .zip(&y)
        .map(|(&a, &b)| Complex64::new(a, -b))
        .collect()
}

/// Derivatives `h⁽²⁾_n'(x) = j_n'(x) − i y_n'(x)`, `n = 0..=n_max`.
///
/// # References
/// DLMF §10.51.
pub fn sph_hankel2_deriv(n_max: usize, x: f64) -> Vec<Complex64> {
    let j = sph_bessel_j_deriv(n_max, x);
    let y = sph_bessel_y_deriv(n_max, x);
    j.iter()
        .zip(&y)
        .map(|(&a, &b)| Complex64::new(a, -b))
        .collect()
}

/// Spherical Hankel functions of the first kind `h⁽¹⁾_n(x) = j_n(x) + i y_n(x)` (incoming wave
/// for `e^{+iωt}`; outgoing for the physics convention `e^{−iωt}`), `n = 0..=n_max`.
///
/// # References
/// DLMF §10.47.E10.
pub fn sph_hankel1(n_max: usize, x: f64) -> Vec<Complex64> {
    let j = sph_bessel_j(n_max, x);
    let y = sph_bessel_y(n_max, x);
    j.iter()
        .zip(&y)
        .map(|(&a, &b)| Complex64::new(a, b))
        .collect()
}

/// Derivatives `h⁽¹⁾_n'(x) = j_n'(x) + i y_n'(x)`, `n = 0..=n_max`.
///
/// # References
/// DLMF §10.51.
pub fn sph_hankel1_deriv(n_max: usize, x: f64) -> Vec<Complex64> {
    let j = sph_bessel_j_deriv(n_max, x);
    let y = sph_bessel_y_deriv(n_max, x);
    j.iter()
        .zip(&y)
        .map(|(&a, &b)| Complex64::new(a, b))
        .collect()
}

/// Legendre polynomials `P_0(x) ..= P_{n_max}(x)`.
///
/// Bonnet's recurrence `(n+1) P_{n+1} = (2n+1) x P_n − n P_{n−1}`, `P_0 = 1`, `P_1 = x`; stable for
/// `x ∈ [−1, 1]` (where `|P_n| ≤ 1`). Outside `[−1, 1]` it still evaluates the polynomial (which
/// grows like `(x + sqrt(x²−1))^n`). No Condon–Shortley phase is involved (`m = 0`).
///
/// ```
/// let p = sphear_core::special::legendre_p(2, 0.5);
/// assert!((p[2] - (3.0 * 0.25 - 1.0) / 2.0).abs() < 1e-15);
/// ```
///
/// # References
/// DLMF §18.9.E1 (Legendre recurrence), §14.7.
pub fn legendre_p(n_max: usize, x: f64) -> Vec<f64> {
    let mut p = vec![0.0; n_max + 1];
    p[0] = 1.0;
    if n_max >= 1 {
        p[1] = x;
    }
    for n in 1..n_max {
        let nf = n as f64;
        p[n + 1] = ((2.0 * nf + 1.0) * x * p[n] - nf * p[n - 1]) / (nf + 1.0);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_constants_are_exact_powers_of_two() {
        assert_eq!(MILLER_RESCALE_THRESHOLD, 2f64.powi(330));
        assert_eq!(MILLER_RESCALE_FACTOR, 2f64.powi(-330));
    }

    #[test]
    fn zero_argument_limits() {
        assert_eq!(sph_bessel_j(3, 0.0), vec![1.0, 0.0, 0.0, 0.0]);
        assert_eq!(sph_bessel_j_deriv(2, 0.0), vec![0.0, 1.0 / 3.0, 0.0]);
        assert!(sph_bessel_y(2, 0.0).iter().all(|v| *v == f64::NEG_INFINITY));
    }

    #[test]
    fn y_overflow_is_negative_infinity_not_nan() {
        let y = sph_bessel_y(60, 1e-6);
        assert!(y.iter().all(|v| !v.is_nan()));
        assert_eq!(y[60], f64::NEG_INFINITY);
        let d = sph_bessel_y_deriv(60, 1e-6);
        assert!(d.iter().all(|v| !v.is_nan()));
        assert_eq!(d[60], f64::INFINITY);
    }
}
