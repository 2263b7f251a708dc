//! ITD predictor: a Woodworth-style spherical-head model whose per-subject parameters are
//! predicted from anthropometry by ridge regression.
//!
//! Model, for a direction with CIPIC lateral angle `θ` (positive = right, radians) and polar angle
//! `φ`:
//!
//! `ITD(θ, φ) = t_right − t_left = (c₁ + c₂·cos φ) · g(θ)`, `g(θ) = −(θ + sin θ)`
//!
//! `c₁ = a/c` is Woodworth's far-field term for a sphere of radius `a` (speed of sound `c`);
//! `c₂` lets the effective radius differ between front/below and back/above (the ears sit
//! behind and below the head centre). The model is smooth in direction, zero in the median
//! plane and exactly antisymmetric: `ITD(−θ, φ) = −ITD(θ, φ)`.
//!
//! Per training subject `(c₁, c₂)` are fitted by least squares to its measured onset ITDs; then
//! `(c₁, c₂)` are regressed (ridge, intercept unpenalised) on the standardised head features
//! (head width, height, depth, pinna offset back, shoulder width).
//!
//! References: R. S. Woodworth, *Experimental Psychology* (1938); V. R. Algazi, C. Avendano,
//! R. O. Duda, "Estimation of a spherical-head model from anthropometry", JAES 49(6), 2001.

use nalgebra::{DMatrix, DVector};

use crate::data::{CipicDirection, N_FEATURES};
use crate::error::{PersonalizeError, Result};

/// Indices (in [`crate::data::FEATURES`]) of the head features used by the ITD regression.
pub const ITD_FEATURES: [usize; 5] = [0, 1, 2, 3, 4];
/// Ridge penalty on the standardised features.
pub const RIDGE_LAMBDA: f64 = 2.0;

/// The two basis functions of the model at one direction.
pub fn basis(lateral_rad: f64, polar_rad: f64) -> [f64; 2] {
    let g = -(lateral_rad + lateral_rad.sin());
    [g, g * polar_rad.cos()]
}

/// Model ITD (seconds, `t_right − t_left`) with coefficients `c`.
pub fn model_itd_s(c: [f64; 2], lateral_rad: f64, polar_rad: f64) -> f64 {
    let b = basis(lateral_rad, polar_rad);
    c[0] * b[0] + c[1] * b[1]
}

/// Least-squares `(c₁, c₂)` of one subject from measured ITDs (seconds) on `dirs`.
///
/// # Errors
/// Mismatched lengths or a singular system.
pub fn fit_subject(dirs: &[CipicDirection], itd_s: &[f64]) -> Result<[f64; 2]> {
    if dirs.len() != itd_s.len() || dirs.len() < 2 {
        return Err(PersonalizeError::InvalidArgument(
            "ITD fit needs matching data".into(),
        ));
    }
    let (mut a, mut b) = ([[0.0f64; 2]; 2], [0.0f64; 2]);
    for (d, &t) in dirs.iter().zip(itd_s) {
        let g = basis(d.lateral_rad, d.polar_rad);
        for i in 0..2 {
            b[i] += g[i] * t;
            for j in 0..2 {
                a[i][j] += g[i] * g[j];
            }
        }
    }
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    if det.abs() < 1e-12 {
        return Err(PersonalizeError::InvalidArgument("singular ITD fit".into()));
    }
    Ok([
        (b[0] * a[1][1] - b[1] * a[0][1]) / det,
        (a[0][0] * b[1] - a[1][0] * b[0]) / det,
    ])
}

/// Ridge regression from standardised features to `(c₁, c₂)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItdRegressor {
    /// Intercepts of c₁, c₂.
    pub intercept: [f64; 2],
    /// Weights `[output][ITD_FEATURES.len()]`.
    pub weights: [Vec<f64>; 2],
}

impl ItdRegressor {
    /// Fits on (standardised 12-feature vector, fitted coefficients) pairs.
    ///
    /// # Errors
    /// No data or a singular system.
    pub fn fit(x_std: &[Vec<f64>], c: &[[f64; 2]]) -> Result<Self> {
        let n = x_std.len();
        if n == 0 || n != c.len() {
            return Err(PersonalizeError::InvalidArgument(
                "ITD regression needs data".into(),
            ));
        }
        let p = ITD_FEATURES.len();
        // centre the targets and features (intercept unpenalised)
        let xm: Vec<f64> = (0..p)
            .map(|j| x_std.iter().map(|r| r[ITD_FEATURES[j]]).sum::<f64>() / n as f64)
            .collect();
        let x = DMatrix::from_fn(n, p, |i, j| x_std[i][ITD_FEATURES[j]] - xm[j]);
        let gram = x.transpose() * &x + DMatrix::identity(p, p) * RIDGE_LAMBDA;
        let chol = gram
            .cholesky()
            .ok_or_else(|| PersonalizeError::InvalidArgument("singular ridge system".into()))?;
        let mut intercept = [0.0; 2];
        let mut weights = [Vec::new(), Vec::new()];
        for o in 0..2 {
            let ym = c.iter().map(|v| v[o]).sum::<f64>() / n as f64;
            let y = DVector::from_fn(n, |i, _| c[i][o] - ym);
            let w = chol.solve(&(x.transpose() * y));
            intercept[o] = ym - (0..p).map(|j| w[j] * xm[j]).sum::<f64>();
            weights[o] = w.iter().copied().collect();
        }
        Ok(Self { intercept, weights })
    }

    /// Predicted `(c₁, c₂)` for a standardised 12-feature vector.
    #[allow(clippy::needless_range_loop)] // the same index selects an ear in several arrays
    pub fn predict(&self, x_std: &[f64; N_FEATURES]) -> [f64; 2] {
        let mut out = self.intercept;
        for o in 0..2 {
            for (j, &fi) in ITD_FEATURES.iter().enumerate() {
                out[o] += self.weights[o][j] * x_std[fi];
            }
        }
        out
    }
}
