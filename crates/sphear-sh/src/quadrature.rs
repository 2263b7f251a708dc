//! Quadratures on the unit sphere: spherical t-designs, Gauss–Legendre product grids, and
//! near-uniform Fibonacci grids.
//!
//! A quadrature `{(u_i, w_i)}` approximates `∫_{S²} f dΩ ≈ Σ_i w_i f(u_i)`; its *exact degree*
//! `t` is the largest degree such that every polynomial (equivalently every spherical harmonic)
//! of degree `≤ t` is integrated exactly. Products `Y_a Y_b` of harmonics up to order `N` are
//! integrated exactly when `t ≥ 2N`, so `Yᵀ diag(w) Y = I` for orthonormal harmonics.

use sphear_core::Direction;

use crate::error::{Result, ShError};

#[rustfmt::skip]
mod tdesign_data;

/// A spherical quadrature: directions and weights (weights sum to `4π`, the sphere's area).
#[derive(Debug, Clone, PartialEq)]
pub struct Quadrature {
    /// Nodes.
    pub directions: Vec<Direction>,
    /// Weights (steradians), one per node; `Σ w_i = 4π`.
    pub weights: Vec<f64>,
    /// Polynomial degree integrated exactly.
    degree: usize,
}

impl Quadrature {
    /// Builds a quadrature from nodes, weights and the degree it is known to integrate exactly.
    ///
    /// # Errors
    /// [`ShError::InvalidArgument`] if the lengths differ, the set is empty, or a weight is not
    /// finite.
    pub fn new(directions: Vec<Direction>, weights: Vec<f64>, exact_degree: usize) -> Result<Self> {
        if directions.len() != weights.len() {
            return Err(ShError::InvalidArgument(format!(
                "quadrature: {} directions but {} weights",
                directions.len(),
                weights.len()
            )));
        }
        if directions.is_empty() {
            return Err(ShError::InvalidArgument("quadrature: no nodes".into()));
        }
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(ShError::InvalidArgument(
                "quadrature: non-finite weight".into(),
            ));
        }
        Ok(Self {
            directions,
            weights,
            degree: exact_degree,
        })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.directions.len()
    }

    /// `true` if there are no nodes (never the case for the constructors of this module).
    pub fn is_empty(&self) -> bool {
        self.directions.is_empty()
    }

    /// The polynomial degree `t` integrated exactly (`Σ w_i Y_n^m(u_i) = 0` for `1 ≤ n ≤ t`).
    pub fn exact_degree(&self) -> usize {
        self.degree
    }

    /// The highest SH order `N` whose products are integrated exactly: `⌊t / 2⌋`.
    pub fn max_sh_order(&self) -> usize {
        self.degree / 2
    }
}

/// Direction of a unit vector, with the elevation from `atan2` (full precision near the poles).
fn direction_of(v: &[f64; 3]) -> Direction {
    let el = v[2].atan2((v[0] * v[0] + v[1] * v[1]).sqrt());
    Direction::new(v[1].atan2(v[0]), el)
}

/// Largest degree `t` of the embedded t-designs (`t_design(t)` is `Some` up to this).
pub fn max_t_design_degree() -> usize {
    tdesign_data::DESIGNS.iter().map(|d| d.0).max().unwrap_or(0)
}

/// The smallest embedded spherical t-design whose degree is `≥ min_degree`, with equal weights
/// `4π / N`; `None` if `min_degree > ` [`max_t_design_degree`] (30).
///
/// Embedded: the Hardin–Sloane designs and, where they have fewer points (or Hardin–Sloane
/// gives none, t = 22…30), the Gräf–Potts numerical designs — e.g. t = 4, 5: 12 points,
/// t = 6, 7: 24, t = 10: 60, t = 14: 108, t = 18: 180, t = 21: 234, t = 30: 480. All were
/// polished by Gauss–Newton so that the design equations hold to double precision (see
/// `scripts/gen_tdesign_data.py`). The returned [`Quadrature::exact_degree`] is the design's
/// actual degree, which may exceed `min_degree`.
///
/// # References
/// R. H. Hardin, N. J. A. Sloane, "McLaren's improved snub cube and other new spherical designs
/// in three dimensions", Discrete Comput. Geom. 15 (1996) 429–441; M. Gräf, D. Potts, "On the
/// computation of spherical designs by a new optimization approach based on fast spherical
/// Fourier transforms", Numer. Math. 119 (2011) 699–724.
pub fn t_design(min_degree: usize) -> Option<Quadrature> {
    let (degree, _source, points) = tdesign_data::DESIGNS.iter().find(|d| d.0 >= min_degree)?;
    let n = points.len();
    let directions = points.iter().map(direction_of).collect();
    let w = 4.0 * std::f64::consts::PI / n as f64;
    Some(Quadrature {
        directions,
        weights: vec![w; n],
        degree: *degree,
    })
}

/// Source description of the design [`t_design`] returns for `min_degree` (for logs/reports).
pub fn t_design_source(min_degree: usize) -> Option<&'static str> {
    tdesign_data::DESIGNS
        .iter()
        .find(|d| d.0 >= min_degree)
        .map(|d| d.1)
}

/// Gauss–Legendre nodes `x_i` and weights `w_i` on `[-1, 1]` (`Σ w_i = 2`), `n` nodes, in
/// increasing order. Exact for polynomials of degree `≤ 2n - 1`.
///
/// Newton iteration on `P_n` (three-term recurrence), started from
/// `x_i ≈ cos(π (i - 1/4) / (n + 1/2))`; `w_i = 2 / ((1 - x_i²) P_n'(x_i)²)`.
///
/// # References
/// W. H. Press et al., *Numerical Recipes* 3rd ed., §4.6.
pub fn gauss_legendre_nodes(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            // P_n(z) and P_{n-1}(z) by Bonnet's recurrence.
            let (mut p0, mut p1) = (1.0_f64, z);
            for k in 2..=n {
                let kf = k as f64;
                let p2 = ((2.0 * kf - 1.0) * z * p1 - (kf - 1.0) * p0) / kf;
                p0 = p1;
                p1 = p2;
            }
            // p1 = P_n, p0 = P_{n-1}; P_n' = n (z P_n - P_{n-1}) / (z² - 1).
            dp = nf * (z * p1 - p0) / (z * z - 1.0);
            let dz = p1 / dp;
            z -= dz;
            if dz.abs() <= 1e-16 * z.abs().max(1.0) {
                break;
            }
        }
        let wi = 2.0 / ((1.0 - z * z) * dp * dp);
        x[i] = -z;
        x[n - 1 - i] = z;
        w[i] = wi;
        w[n - 1 - i] = wi;
    }
    if n % 2 == 1 {
        // The middle node is exactly 0.
        x[n / 2] = 0.0;
    }
    (x, w)
}

/// Gauss–Legendre product quadrature for SH order `N`: `N + 1` Gauss–Legendre nodes in
/// `cos(colatitude) = sin(elevation)` times `2N + 2` equiangular azimuths `φ_j = 2π j/(2N+2)`,
/// weights `w_i · 2π/(2N + 2)`. Exact degree `2N + 1` (integrates products of harmonics up to
/// order `N` exactly).
///
/// # References
/// B. Rafaely, *Fundamentals of Spherical Array Processing*, Springer 2015, §3.3.
pub fn gauss_legendre(order: usize) -> Quadrature {
    let (x, w) = gauss_legendre_nodes(order + 1);
    let n_az = 2 * order + 2;
    let dphi = 2.0 * std::f64::consts::PI / n_az as f64;
    let mut directions = Vec::with_capacity(x.len() * n_az);
    let mut weights = Vec::with_capacity(x.len() * n_az);
    for (xi, wi) in x.iter().zip(&w) {
        let el = xi.clamp(-1.0, 1.0).asin();
        for j in 0..n_az {
            directions.push(Direction::new(j as f64 * dphi, el));
            weights.push(wi * dphi);
        }
    }
    Quadrature {
        directions,
        weights,
        degree: 2 * order + 1,
    }
}

/// `n` near-uniform directions on a Fibonacci (golden-angle) spiral:
/// `z_i = 1 - (2i + 1)/n`, `φ_i = i · π (3 - √5)`, `i = 0…n-1`. Equal-area in expectation; not
/// an exact quadrature (use it for dense design/evaluation grids).
///
/// # References
/// Á. González, "Measurement of areas on a sphere using Fibonacci and latitude–longitude
/// lattices", Math. Geosci. 42 (2010) 49–64.
pub fn fibonacci_grid(n: usize) -> Vec<Direction> {
    let golden_angle = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - (2 * i + 1) as f64 / n as f64;
            let r = (1.0 - z * z).max(0.0).sqrt();
            let az = (i as f64 * golden_angle).rem_euclid(2.0 * std::f64::consts::PI);
            Direction::new(az, z.atan2(r))
        })
        .collect()
}
