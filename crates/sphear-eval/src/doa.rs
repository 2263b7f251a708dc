//! Direction of arrival (DOA) on Ambisonic signals (AmbiX: ACN order, SN3D, order `N`):
//! steered response power ([`srp_doa`]) and MUSIC ([`music_doa`]) on a dense Fibonacci grid,
//! the `K` strongest separated peaks refined by a local search, and the great-circle error of a
//! set of estimates against the true directions with the optimal one-to-one assignment
//! ([`match_directions`]).
//!
//! # Definitions
//! The SN3D channels are rescaled to N3D, `b_nm = √(2n+1)·a_nm`, and their broadband spatial
//! covariance `R = (1/T) Σ_t b[t] b[t]ᵀ` (`(N+1)² × (N+1)²`, real) is formed. A plane wave from
//! `Ω₀` with signal `s` gives `a = Y^SN3D(Ω₀)·s`.
//! * **SRP** (plane-wave decomposition / hyper-cardioid beam of order `N`):
//!   `P(Ω) = y(Ω)ᵀ R y(Ω) / (N+1)⁴` with `y(Ω) = Y^SN3D(Ω)` — the beam output is
//!   `y(Ω)ᵀ b = Σ_n (2n+1) P_n(cos γ)·s`, maximal at `γ = 0` where it equals `(N+1)²·s`.
//! * **MUSIC**: with `E_n` the eigenvectors of the `(N+1)² − K` smallest eigenvalues of `R`,
//!   `P(Ω) = ‖v‖² / ‖E_nᵀ v‖²`, `v = Y^N3D(Ω)`. Needs `K < (N+1)²` mutually incoherent sources
//!   (coherent sources, e.g. a reflection of the same signal, collapse into one).
//!
//! Peaks: grid points in descending order of `P`, taking a point when it is at least
//! `min_separation_rad` from every point already taken and no grid point within two grid
//! spacings is higher; each peak is then refined by a pattern search on the sphere down to
//! 1e-5 rad. Fewer than `K` peaks come back when the map has fewer separated maxima.
//!
//! # References
//! * B. Rafaely, *Fundamentals of Spherical Array Processing*, Springer 2015 (2nd ed. 2019),
//!   §5 (plane-wave decomposition beam) and §7 (SH-domain MUSIC).
//! * R. Schmidt, "Multiple emitter location and signal parameter estimation", IEEE Trans.
//!   Antennas Propag. 34(3), 1986 (MUSIC).
//! * J. H. DiBiase, H. F. Silverman, M. S. Brandstein, "Robust localization in reverberant
//!   rooms", in *Microphone Arrays*, Springer 2001 (steered response power).
//! * H. W. Kuhn, "The Hungarian method for the assignment problem", Naval Res. Logist. Q. 2,
//!   1955 (optimal assignment; solved here exactly by dynamic programming over subsets).

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use sphear_core::Direction;
use sphear_sh::quadrature::fibonacci_grid;
use sphear_sh::sh::{Norm, acn_to_nm, order_from_channels, real_sh};

use crate::dsp::check_signal;
use crate::{EvalError, Result};

/// Broadband spatial covariance of AmbiX signals, rescaled to N3D (see the module docs).
#[derive(Debug, Clone)]
pub struct ShCovariance {
    order: usize,
    r: DMatrix<f64>,
}

impl ShCovariance {
    /// From `(N+1)²` AmbiX (ACN/SN3D) channels of equal length.
    ///
    /// # Errors
    /// Channel count not a square ≥ 4 (order ≥ 1), empty/non-finite/mismatched channels,
    /// silent W channel.
    pub fn from_ambix(channels: &[&[f32]]) -> Result<Self> {
        let order = match order_from_channels(channels.len()) {
            Some(n) if n >= 1 => n,
            _ => {
                return Err(EvalError::InvalidArgument(format!(
                    "DOA needs (N+1)² AmbiX channels with N >= 1, got {} channels",
                    channels.len()
                )));
            }
        };
        let len = channels[0].len();
        for (i, c) in channels.iter().enumerate() {
            check_signal(c, &format!("SH channel {i}"))?;
            if c.len() != len {
                return Err(EvalError::LengthMismatch {
                    what: format!("SH channel 0 vs {i}"),
                    expected: len,
                    got: c.len(),
                });
            }
        }
        let q = channels.len();
        let gains: Vec<f64> = (0..q)
            .map(|i| ((2 * acn_to_nm(i).0 + 1) as f64).sqrt())
            .collect();
        let mut r = DMatrix::<f64>::zeros(q, q);
        let mut b = vec![0.0f64; q];
        for t in 0..len {
            for ((bi, ch), g) in b.iter_mut().zip(channels).zip(&gains) {
                *bi = f64::from(ch[t]) * g;
            }
            for i in 0..q {
                for j in i..q {
                    r[(i, j)] += b[i] * b[j];
                }
            }
        }
        for i in 0..q {
            for j in 0..i {
                r[(i, j)] = r[(j, i)];
            }
        }
        if r[(0, 0)] <= 0.0 {
            return Err(EvalError::Silent {
                what: "W (omni) channel".into(),
            });
        }
        r /= len as f64;
        Ok(Self { order, r })
    }

    /// SH order `N`.
    pub fn order(&self) -> usize {
        self.order
    }

    /// The N3D covariance matrix `R`, `(N+1)² × (N+1)²`.
    pub fn matrix(&self) -> &DMatrix<f64> {
        &self.r
    }

    /// SRP `P(Ω)` (see the module docs).
    pub fn srp(&self, dir: &Direction) -> f64 {
        let y = DVector::from_vec(real_sh(self.order, dir, Norm::Sn3d));
        let q = ((self.order + 1) * (self.order + 1)) as f64;
        (y.transpose() * &self.r * &y)[(0, 0)] / (q * q)
    }

    /// Noise-subspace projector `E_n E_nᵀ` for `n_sources` sources.
    ///
    /// # Errors
    /// `n_sources` = 0 or ≥ `(N+1)²`.
    pub fn music_projector(&self, n_sources: usize) -> Result<MusicProjector> {
        let q = self.r.nrows();
        if n_sources == 0 || n_sources >= q {
            return Err(EvalError::InvalidArgument(format!(
                "MUSIC needs 1 <= sources < (N+1)² = {q}, got {n_sources}"
            )));
        }
        let eig = SymmetricEigen::new(self.r.clone());
        let mut idx: Vec<usize> = (0..q).collect();
        idx.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
        let mut p = DMatrix::<f64>::zeros(q, q);
        for &k in &idx[..q - n_sources] {
            let v = eig.eigenvectors.column(k);
            p += v * v.transpose();
        }
        Ok(MusicProjector {
            order: self.order,
            p,
        })
    }
}

/// MUSIC noise-subspace projector of an [`ShCovariance`].
#[derive(Debug, Clone)]
pub struct MusicProjector {
    order: usize,
    p: DMatrix<f64>,
}

impl MusicProjector {
    /// MUSIC pseudo-spectrum `‖v‖² / ‖E_nᵀ v‖²` (capped at 1e15 on an exact null).
    pub fn spectrum(&self, dir: &Direction) -> f64 {
        let v = DVector::from_vec(real_sh(self.order, dir, Norm::N3d));
        let vv = v.norm_squared();
        let d = (v.transpose() * &self.p * &v)[(0, 0)];
        vv / d.max(vv * 1e-15)
    }
}

/// Parameters of the DOA peak search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoaConfig {
    /// Points of the Fibonacci search grid (default 5000, ≈ 2.9° spacing).
    pub grid_points: usize,
    /// Minimum great-circle separation of two returned peaks, radians (default 15°).
    pub min_separation_rad: f64,
}

impl Default for DoaConfig {
    fn default() -> Self {
        Self {
            grid_points: 5000,
            min_separation_rad: 15f64.to_radians(),
        }
    }
}

/// One DOA estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoaPeak {
    /// Estimated direction.
    pub direction: Direction,
    /// Map value at the peak (SRP power or MUSIC pseudo-spectrum).
    pub value: f64,
}

/// The `k` strongest SRP directions of AmbiX signals, strongest first (see the module docs).
///
/// # Errors
/// As [`ShCovariance::from_ambix`]; `k = 0`; fewer than 12 grid points.
pub fn srp_doa(ambix: &[&[f32]], k: usize, cfg: &DoaConfig) -> Result<Vec<DoaPeak>> {
    let cov = ShCovariance::from_ambix(ambix)?;
    find_peaks(|d| cov.srp(d), k, cfg)
}

/// The `k` strongest MUSIC directions of AmbiX signals, assuming `k` sources (see the module
/// docs).
///
/// # Errors
/// As [`ShCovariance::from_ambix`] and [`ShCovariance::music_projector`].
pub fn music_doa(ambix: &[&[f32]], k: usize, cfg: &DoaConfig) -> Result<Vec<DoaPeak>> {
    let cov = ShCovariance::from_ambix(ambix)?;
    let proj = cov.music_projector(k)?;
    find_peaks(|d| proj.spectrum(d), k, cfg)
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn unit(a: [f64; 3]) -> [f64; 3] {
    let n = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    [a[0] / n, a[1] / n, a[2] / n]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Peak search of a map on the sphere (see the module docs).
fn find_peaks<F: Fn(&Direction) -> f64>(map: F, k: usize, cfg: &DoaConfig) -> Result<Vec<DoaPeak>> {
    if k == 0
        || cfg.grid_points < 12
        || cfg.min_separation_rad.is_nan()
        || cfg.min_separation_rad < 0.0
    {
        return Err(EvalError::InvalidArgument(format!(
            "DOA needs k >= 1, >= 12 grid points and a non-negative separation (got k = {k}, {cfg:?})"
        )));
    }
    let grid = fibonacci_grid(cfg.grid_points);
    let units: Vec<[f64; 3]> = grid.iter().map(Direction::to_cartesian).collect();
    let vals: Vec<f64> = grid.iter().map(&map).collect();
    let spacing = (4.0 * std::f64::consts::PI / cfg.grid_points as f64).sqrt();
    let cos_nb = (2.0 * spacing).cos();
    let cos_sep = cfg.min_separation_rad.min(std::f64::consts::PI).cos();
    let mut order: Vec<usize> = (0..grid.len()).collect();
    order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
    let mut picked: Vec<[f64; 3]> = Vec::new();
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    for &i in &order {
        if picked.len() == k {
            break;
        }
        let u = units[i];
        if picked.iter().any(|&p| dot(p, u) > cos_sep) {
            continue;
        }
        let is_max = units
            .iter()
            .zip(&vals)
            .all(|(&w, &v)| dot(u, w) < cos_nb || v <= vals[i]);
        if !is_max {
            continue;
        }
        picked.push(u);
    }
    // Local refinement (pattern search on the tangent plane).
    Ok(picked
        .into_iter()
        .map(|u0| {
            let mut u = u0;
            let mut best = map(&Direction::from_cartesian(u));
            let mut step = spacing;
            while step > 1e-5 {
                let helper = if u[2].abs() < 0.9 {
                    [0.0, 0.0, 1.0]
                } else {
                    [1.0, 0.0, 0.0]
                };
                let e1 = unit(cross(u, helper));
                let e2 = cross(u, e1);
                let mut improved = false;
                for j in 0..8 {
                    let a = j as f64 * std::f64::consts::FRAC_PI_4;
                    let (s, c) = a.sin_cos();
                    let cand = unit([
                        u[0] + step * (c * e1[0] + s * e2[0]),
                        u[1] + step * (c * e1[1] + s * e2[1]),
                        u[2] + step * (c * e1[2] + s * e2[2]),
                    ]);
                    let v = map(&Direction::from_cartesian(cand));
                    if v > best {
                        best = v;
                        u = cand;
                        improved = true;
                    }
                }
                if !improved {
                    step *= 0.5;
                }
                // never wander off the grid peak by more than two spacings
                let d = sub(u, u0);
                if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() > 2.0 * spacing {
                    break;
                }
            }
            DoaPeak {
                direction: Direction::from_cartesian(u),
                value: best,
            }
        })
        .collect())
}

/// Optimal one-to-one assignment of estimated to true directions.
#[derive(Debug, Clone, PartialEq)]
pub struct DoaMatch {
    /// `(estimate index, truth index, great-circle error in radians)`, in truth order.
    pub pairs: Vec<(usize, usize, f64)>,
    /// Mean great-circle error over the pairs, radians.
    pub mean_error_rad: f64,
    /// Estimates left without a partner (more estimates than truths).
    pub unmatched_estimates: Vec<usize>,
    /// Truths left without a partner (more truths than estimates: missed sources).
    pub unmatched_truths: Vec<usize>,
}

/// Largest number of directions on either side of [`match_directions`] (its subset DP is
/// `O(n² 2ⁿ)`).
pub const MAX_MATCH_DIRECTIONS: usize = 16;

/// Assigns estimates to truths one-to-one (`min(#est, #truth)` pairs) minimising the sum of
/// great-circle angles `arccos(u·v)` (exact, dynamic programming over subsets).
///
/// # Errors
/// An empty side, more than [`MAX_MATCH_DIRECTIONS`] on either side, non-finite directions.
pub fn match_directions(estimated: &[Direction], truth: &[Direction]) -> Result<DoaMatch> {
    if estimated.is_empty() || truth.is_empty() {
        return Err(EvalError::Empty {
            what: "direction list".into(),
        });
    }
    if estimated.len() > MAX_MATCH_DIRECTIONS || truth.len() > MAX_MATCH_DIRECTIONS {
        return Err(EvalError::InvalidArgument(format!(
            "at most {MAX_MATCH_DIRECTIONS} directions per side (got {} and {})",
            estimated.len(),
            truth.len()
        )));
    }
    if estimated
        .iter()
        .chain(truth)
        .any(|d| !(d.azimuth_rad.is_finite() && d.elevation_rad.is_finite()))
    {
        return Err(EvalError::NonFinite {
            what: "direction".into(),
        });
    }
    // rows: the smaller side, assigned in order to distinct columns of the larger side
    let swap = estimated.len() < truth.len();
    let (rows, cols) = if swap {
        (estimated, truth)
    } else {
        (truth, estimated)
    };
    let cost: Vec<Vec<f64>> = rows
        .iter()
        .map(|a| cols.iter().map(|b| a.angle_to(b)).collect())
        .collect();
    let m = cols.len();
    let full = 1usize << m;
    let mut dp = vec![f64::INFINITY; full];
    let mut from = vec![usize::MAX; full];
    dp[0] = 0.0;
    for mask in 0..full {
        let i = mask.count_ones() as usize;
        if i >= rows.len() || !dp[mask].is_finite() {
            continue;
        }
        for (j, c) in cost[i].iter().enumerate() {
            if mask & (1 << j) == 0 {
                let next = mask | (1 << j);
                let v = dp[mask] + c;
                if v < dp[next] {
                    dp[next] = v;
                    from[next] = j;
                }
            }
        }
    }
    let best_mask = (0..full)
        .filter(|m| m.count_ones() as usize == rows.len())
        .min_by(|&a, &b| dp[a].total_cmp(&dp[b]))
        .unwrap_or(0);
    let mut assign = vec![0usize; rows.len()];
    let mut mask = best_mask;
    for i in (0..rows.len()).rev() {
        let j = from[mask];
        assign[i] = j;
        mask &= !(1 << j);
    }
    let mut pairs: Vec<(usize, usize, f64)> = assign
        .iter()
        .enumerate()
        .map(|(i, &j)| {
            if swap {
                (i, j, cost[i][j])
            } else {
                (j, i, cost[i][j])
            }
        })
        .collect();
    pairs.sort_by_key(|p| p.1);
    let mean_error_rad = pairs.iter().map(|p| p.2).sum::<f64>() / pairs.len() as f64;
    let unmatched_estimates = (0..estimated.len())
        .filter(|e| !pairs.iter().any(|p| p.0 == *e))
        .collect();
    let unmatched_truths = (0..truth.len())
        .filter(|t| !pairs.iter().any(|p| p.1 == *t))
        .collect();
    Ok(DoaMatch {
        pairs,
        mean_error_rad,
        unmatched_estimates,
        unmatched_truths,
    })
}
