//! Real spherical harmonics (ACN order, no Condon–Shortley phase) and channel conventions.
//!
//! # Definition
//! With azimuth `φ` (counter-clockwise from the front) and elevation `ϑ` (up from the horizon),
//! the real spherical harmonic of order `n` and degree `m` (`-n ≤ m ≤ n`) is
//!
//! ```text
//! Y_n^m(φ, ϑ) = N_n^|m| · P_n^|m|(sin ϑ) · { cos(m φ)    m > 0
//!                                           { 1           m = 0
//!                                           { sin(|m| φ)  m < 0
//! ```
//!
//! where `P_n^m` is the associated Legendre function **without** the Condon–Shortley phase
//! `(-1)^m` (so `P_1^1(x) = +√(1-x²)`), and `N_n^m` depends on the [`Norm`]:
//!
//! | norm          | `N_n^m`                                                  | `Y_0^0`   |
//! |---------------|-----------------------------------------------------------|-----------|
//! | `Orthonormal` | `√((2n+1)/(4π) · (2-δ_m0) · (n-m)!/(n+m)!)`               | `1/√(4π)` |
//! | `N3d`         | `√((2n+1) · (2-δ_m0) · (n-m)!/(n+m)!)` = `√(4π)`·orthonormal | `1`    |
//! | `Sn3d`        | `√((2-δ_m0) · (n-m)!/(n+m)!)` = N3D/`√(2n+1)` (AmbiX)      | `1`       |
//!
//! Channels are in ACN order, `acn = n² + n + m`. With this definition the first-order SN3D
//! harmonics of the unit vector `(x, y, z)` are `[1, y, z, x]`.
//!
//! # References
//! C. Nachbar, F. Zotter, E. Deleflie, A. Sontacchi, "AmbiX – a suggested Ambisonics format",
//! Ambisonics Symposium 2011; F. Zotter & M. Frank, *Ambisonics*, Springer 2019, ch. 4;
//! D. Malham, "Higher order Ambisonic systems" (FuMa weights), 2003.

use nalgebra::DMatrix;
use sphear_core::Direction;

use crate::error::{Result, ShError};

/// Normalisation of real spherical harmonics (see the module table).
///
/// * `Orthonormal`: `∫ Y_a Y_b dΩ = δ_ab` over the unit sphere.
/// * `N3d`: `√(4π)` × orthonormal, so that `Y_0^0 = 1` and `∫ Y_a Y_b dΩ = 4π δ_ab`.
/// * `Sn3d`: N3D / `√(2n+1)` (Schmidt semi-normalised; AmbiX), `Y_0^0 = 1`, each order's
///   functions peak at most at 1.
///
/// # References
/// Nachbar et al., "AmbiX – a suggested Ambisonics format", 2011; Zotter & Frank 2019, §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// Orthonormal on the unit sphere (`Y_0^0 = 1/√(4π)`).
    Orthonormal,
    /// Full 3-D normalisation, `√(4π)` × orthonormal (`Y_0^0 = 1`).
    N3d,
    /// Schmidt semi-normalisation, N3D / `√(2n+1)` (AmbiX, `Y_0^0 = 1`).
    Sn3d,
}

impl Norm {
    /// Factor `c_n` such that `Y_n^m(norm) = c_n · Y_n^m(orthonormal)`.
    fn factor_from_orthonormal(self, n: usize) -> f64 {
        let four_pi = 4.0 * std::f64::consts::PI;
        match self {
            Norm::Orthonormal => 1.0,
            Norm::N3d => four_pi.sqrt(),
            Norm::Sn3d => (four_pi / (2 * n + 1) as f64).sqrt(),
        }
    }
}

/// Number of SH channels up to `order`: `(N + 1)²`.
pub fn num_channels(order: usize) -> usize {
    (order + 1) * (order + 1)
}

/// ACN channel index `n² + n + m` of order `n` and degree `m` (`-n ≤ m ≤ n`).
///
/// Degrees outside `[-n, n]` are a programming error; the result is then meaningless (it is
/// computed with saturating arithmetic and never panics).
pub fn acn(n: usize, m: i64) -> usize {
    let base = (n * n + n) as i64;
    (base + m).max(0) as usize
}

/// Inverse of [`acn`]: `(n, m)` with `n = ⌊√acn⌋`, `m = acn - n² - n`.
pub fn acn_to_nm(acn: usize) -> (usize, i64) {
    let mut n = (acn as f64).sqrt() as usize;
    // Guard against floating-point rounding of the square root.
    while n * n > acn {
        n -= 1;
    }
    while (n + 1) * (n + 1) <= acn {
        n += 1;
    }
    (n, acn as i64 - (n * n + n) as i64)
}

/// SH order `N` such that `(N + 1)² = ch`, or `None` if `ch` is not a perfect square ≥ 1.
pub fn order_from_channels(ch: usize) -> Option<usize> {
    if ch == 0 {
        return None;
    }
    let (n, _) = acn_to_nm(ch - 1);
    (num_channels(n) == ch).then_some(n)
}

/// Real SH vector `[Y_0^0, Y_1^{-1}, Y_1^0, Y_1^1, …]` (ACN, length `(N+1)²`) of direction `dir`.
///
/// See the module documentation for the definition. Stable to high orders (tested to 60):
/// it uses the fully normalised associated-Legendre recurrences, never factorials.
///
/// # References
/// Nachbar et al. 2011 (AmbiX); Zotter & Frank 2019, §4.
pub fn real_sh(order: usize, dir: &Direction, norm: Norm) -> Vec<f64> {
    let mut out = vec![0.0; num_channels(order)];
    real_sh_into(order, dir, norm, &mut out);
    out
}

/// Allocation-free [`real_sh`]: writes the `(N+1)²` values into `out[..(N+1)²]`.
///
/// Method: with `x = sin ϑ` and `s = cos ϑ` (signed, so that elevations outside `[-π/2, π/2]`
/// stay consistent with [`Direction::to_cartesian`]) the fully normalised Legendre functions
/// `P̄_n^m = √((2n+1)(n-m)!/(n+m)!) P_n^m` obey
/// `P̄_m^m = √((2m+1)/(2m)) s P̄_{m-1}^{m-1}`, `P̄_{m+1}^m = √(2m+3) x P̄_m^m`,
/// `P̄_n^m = a_nm (x P̄_{n-1}^m - b_nm P̄_{n-2}^m)` with `a_nm = √((4n²-1)/(n²-m²))`,
/// `b_nm = √(((n-1)²-m²)/(4(n-1)²-1))`; then `Y_n^m(N3D) = √(2-δ_m0) P̄_n^|m| trig(mφ)`.
///
/// # Panics
/// If `out.len() < (N+1)²` (a caller bug, not a data condition).
///
/// # References
/// Zotter & Frank 2019, §A.3; W. H. Press et al., *Numerical Recipes* 3rd ed., §6.7.
pub fn real_sh_into(order: usize, dir: &Direction, norm: Norm, out: &mut [f64]) {
    let nch = num_channels(order);
    assert!(
        out.len() >= nch,
        "real_sh_into: output has {} slots, order {order} needs {nch}",
        out.len()
    );
    let (x, s) = dir.elevation_rad.sin_cos();
    let (sin_az, cos_az) = dir.azimuth_rad.sin_cos();
    let sqrt2 = std::f64::consts::SQRT_2;

    // Per-order factors from N3D to the requested norm.
    let to_norm = |n: usize| -> f64 {
        norm.factor_from_orthonormal(n) / Norm::N3d.factor_from_orthonormal(n)
    };

    // Diagonal term P̄_m^m, updated as m increases; cos(mφ), sin(mφ) by angle addition.
    let mut pmm = 1.0_f64;
    let (mut cos_m, mut sin_m) = (1.0_f64, 0.0_f64);
    for m in 0..=order {
        if m > 0 {
            let mf = m as f64;
            pmm *= ((2.0 * mf + 1.0) / (2.0 * mf)).sqrt() * s;
            let c = cos_m * cos_az - sin_m * sin_az;
            sin_m = sin_m * cos_az + cos_m * sin_az;
            cos_m = c;
        }
        let mi = m as i64;
        let write = |out: &mut [f64], n: usize, p: f64| {
            if m == 0 {
                out[acn(n, 0)] = p * to_norm(n);
            } else {
                let g = sqrt2 * p * to_norm(n);
                out[acn(n, mi)] = g * cos_m;
                out[acn(n, -mi)] = g * sin_m;
            }
        };
        write(out, m, pmm);
        if m == order {
            break;
        }
        let mf = m as f64;
        let mut p_prev = pmm;
        let mut p_cur = (2.0 * mf + 3.0).sqrt() * x * pmm;
        write(out, m + 1, p_cur);
        for n in (m + 2)..=order {
            let nf = n as f64;
            let a = ((4.0 * nf * nf - 1.0) / (nf * nf - mf * mf)).sqrt();
            let n1 = nf - 1.0;
            let b = ((n1 * n1 - mf * mf) / (4.0 * n1 * n1 - 1.0)).sqrt();
            let p_next = a * (x * p_cur - b * p_prev);
            p_prev = p_cur;
            p_cur = p_next;
            write(out, n, p_cur);
        }
    }
}

/// SH matrix `Y[i, acn] = Y_acn(dirs[i])`, shape `[dirs.len() × (N+1)²]`.
pub fn sh_matrix(order: usize, dirs: &[Direction], norm: Norm) -> DMatrix<f64> {
    let nch = num_channels(order);
    let mut y = DMatrix::zeros(dirs.len(), nch);
    let mut row = vec![0.0; nch];
    for (i, d) in dirs.iter().enumerate() {
        real_sh_into(order, d, norm, &mut row);
        for (j, v) in row.iter().enumerate() {
            y[(i, j)] = *v;
        }
    }
    y
}

/// Per-ACN-channel gains `g` such that `coeff_to[acn] = g[acn] · coeff_from[acn]`.
///
/// Convention (Ambisonics): the channel signals of a plane wave `s` from `u` are `s · Y(u)`, so
/// channel gains scale like the basis functions themselves:
/// `g_n = c_n(to) / c_n(from)` with `c_n(Orthonormal) = 1`, `c_n(N3D) = √(4π)`,
/// `c_n(SN3D) = √(4π/(2n+1))`. E.g. AmbiX SN3D → N3D multiplies order `n` by `√(2n+1)`.
///
/// # References
/// Nachbar et al. 2011 (AmbiX), §2; Zotter & Frank 2019, §4.
pub fn norm_conversion_gains(order: usize, from: Norm, to: Norm) -> Vec<f64> {
    (0..num_channels(order))
        .map(|k| {
            let (n, _) = acn_to_nm(k);
            to.factor_from_orthonormal(n) / from.factor_from_orthonormal(n)
        })
        .collect()
}

/// FuMa channel letters in FuMa order (W X Y Z R S T U V K L M N O P Q); the first
/// `(N+1)²` are the channels of order `N`.
pub const FUMA_CHANNEL_NAMES: [&str; 16] = [
    "W", "X", "Y", "Z", "R", "S", "T", "U", "V", "K", "L", "M", "N", "O", "P", "Q",
];

/// For each FuMa channel (FuMa order): its ACN index and the weight `w` with
/// `FuMa = w · ACN/SN3D` (maxN normalisation, `W` carrying the extra `1/√2`).
///
/// Weights: `W: 1/√2`; `X Y Z: 1`; `R: 1`; `S T U V: 2/√3`; `K: 1`; `L M: √(45/32)`;
/// `N O: 3/√5`; `P Q: √(8/5)`.
///
/// # References
/// Nachbar et al. 2011 (AmbiX), table of FuMa weights; D. Malham, "Higher order Ambisonic
/// systems", 2003; libambix `adaptor_fuma.c` (IEM).
const FUMA_TABLE: [(usize, f64); 16] = {
    const R2: f64 = std::f64::consts::FRAC_1_SQRT_2;
    // 2/√3, √(45/32), 3/√5, √(8/5) as literals (const fn sqrt is not available).
    const TWO_OVER_R3: f64 = 1.154_700_538_379_251_5;
    const R45_32: f64 = 1.185_854_122_563_142_2;
    const THREE_OVER_R5: f64 = 1.341_640_786_499_874;
    const R8_5: f64 = 1.264_911_064_067_351_8;
    [
        (0, R2),             // W  n0 m0
        (3, 1.0),            // X  n1 m+1
        (1, 1.0),            // Y  n1 m-1
        (2, 1.0),            // Z  n1 m0
        (6, 1.0),            // R  n2 m0
        (7, TWO_OVER_R3),    // S  n2 m+1
        (5, TWO_OVER_R3),    // T  n2 m-1
        (8, TWO_OVER_R3),    // U  n2 m+2
        (4, TWO_OVER_R3),    // V  n2 m-2
        (12, 1.0),           // K  n3 m0
        (13, R45_32),        // L  n3 m+1
        (11, R45_32),        // M  n3 m-1
        (14, THREE_OVER_R5), // N  n3 m+2
        (10, THREE_OVER_R5), // O  n3 m-2
        (15, R8_5),          // P  n3 m+3
        (9, R8_5),           // Q  n3 m-3
    ]
};

fn check_fuma_order(order: usize) -> Result<()> {
    if order > 3 {
        return Err(ShError::Order {
            order,
            reason: "FuMa is defined up to third order only".into(),
        });
    }
    Ok(())
}

/// Matrix `A` (`(N+1)² × (N+1)²`) with `ambix = A · fuma`: maps FuMa channel signals (FuMa
/// order W X Y Z R S T U V K L M N O P Q, maxN weights, `W` scaled by `1/√2`) to ACN/SN3D.
///
/// `A[acn(ch), ch] = 1 / w_ch` where `FuMa_ch = w_ch · SN3D_acn` with the maxN weights
/// `W 1/√2`, `S T U V 2/√3`, `L M √(45/32)`, `N O 3/√5`, `P Q √(8/5)`, all others 1
/// (channel names in [`FUMA_CHANNEL_NAMES`]). E.g. ACN 0 = √2·W, ACN 8 = (√3/2)·U.
///
/// # Errors
/// [`ShError::Order`] for `order > 3`.
///
/// # References
/// Nachbar et al., "AmbiX – a suggested Ambisonics format", 2011; D. Malham, "Higher order
/// Ambisonic systems", 2003.
pub fn fuma_to_ambix_matrix(order: usize) -> Result<DMatrix<f64>> {
    check_fuma_order(order)?;
    let nch = num_channels(order);
    let mut a = DMatrix::zeros(nch, nch);
    for (ch, &(acn_idx, w)) in FUMA_TABLE.iter().take(nch).enumerate() {
        a[(acn_idx, ch)] = 1.0 / w;
    }
    Ok(a)
}

/// Matrix `B` with `fuma = B · ambix` (inverse of [`fuma_to_ambix_matrix`]):
/// `B[ch, acn(ch)] = w_ch`.
///
/// # Errors
/// [`ShError::Order`] for `order > 3`.
///
/// # References
/// Nachbar et al. 2011 (AmbiX); Malham 2003.
pub fn ambix_to_fuma_matrix(order: usize) -> Result<DMatrix<f64>> {
    check_fuma_order(order)?;
    let nch = num_channels(order);
    let mut b = DMatrix::zeros(nch, nch);
    for (ch, &(acn_idx, w)) in FUMA_TABLE.iter().take(nch).enumerate() {
        b[(ch, acn_idx)] = w;
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acn_round_trip() {
        for k in 0..2000 {
            let (n, m) = acn_to_nm(k);
            assert!(m.unsigned_abs() as usize <= n);
            assert_eq!(acn(n, m), k);
        }
        assert_eq!(order_from_channels(16), Some(3));
        assert_eq!(order_from_channels(15), None);
        assert_eq!(order_from_channels(0), None);
    }

    #[test]
    fn fuma_literals() {
        let t = &FUMA_TABLE;
        assert!((t[5].1 - 2.0 / 3f64.sqrt()).abs() < 1e-15);
        assert!((t[10].1 - (45.0f64 / 32.0).sqrt()).abs() < 1e-15);
        assert!((t[12].1 - 3.0 / 5f64.sqrt()).abs() < 1e-15);
        assert!((t[14].1 - (8.0f64 / 5.0).sqrt()).abs() < 1e-15);
    }
}
