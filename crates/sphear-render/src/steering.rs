//! Plane-wave steering of a spherical array for many directions at once.
//!
//! `A[d][q] = Σ_n (2n+1) b_n(kr) P_n(cos Θ_{dq})`: pressure at capsule `q` for a unit plane wave
//! from direction `d` (relative to the free-field pressure at the centre), with the mode
//! strengths of [`sphear_sh::modal::mode_strength`]. Mode strengths are computed once per
//! frequency and shared by all directions.

use num_complex::Complex64;
use sphear_core::Direction;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::modal::{default_truncation_order, mode_strength};

/// Steering matrix `[n_dirs × n_caps]` (row-major `Vec`, row = direction) at `freq_hz`.
pub fn steering(
    array: &ArrayGeometry,
    dirs: &[Direction],
    freq_hz: f64,
    speed_m_s: f64,
) -> Vec<Complex64> {
    let kr = 2.0 * std::f64::consts::PI * freq_hz * array.radius_m / speed_m_s;
    let n_max = default_truncation_order(kr);
    let b = mode_strength(n_max, kr, array.sphere);
    let coef: Vec<Complex64> = b
        .iter()
        .enumerate()
        .map(|(n, bn)| bn * (2 * n + 1) as f64)
        .collect();
    let caps: Vec<[f64; 3]> = array.capsules.iter().map(|c| c.to_cartesian()).collect();
    let mut out = Vec::with_capacity(dirs.len() * caps.len());
    for d in dirs {
        let u = d.to_cartesian();
        for c in &caps {
            let x = (u[0] * c[0] + u[1] * c[1] + u[2] * c[2]).clamp(-1.0, 1.0);
            // Legendre recurrence inline: P_{n+1} = ((2n+1) x P_n − n P_{n−1})/(n+1)
            let mut p_prev = 1.0;
            let mut p = x;
            let mut acc = coef[0];
            if n_max >= 1 {
                acc += coef[1] * p;
            }
            for n in 1..n_max {
                let nf = n as f64;
                let p_next = ((2.0 * nf + 1.0) * x * p - nf * p_prev) / (nf + 1.0);
                p_prev = p;
                p = p_next;
                acc += coef[n + 1] * p;
            }
            out.push(acc);
        }
    }
    out
}

/// Steering matrices of one array for a fixed set of directions at many frequencies.
///
/// The Legendre values `P_n(cos Θ_dq)` depend only on geometry, so they are tabulated once
/// (`n ≤ n_max` of the highest frequency); each frequency then costs one real-by-complex
/// matrix-vector product per (direction, capsule) pair.
#[derive(Debug, Clone)]
pub struct SteeringTable {
    n_dirs: usize,
    n_caps: usize,
    n_max: usize,
    radius_m: f64,
    sphere: sphear_sh::modal::SphereKind,
    speed_m_s: f64,
    /// `[(d·K + q)·(n_max+1) + n]`.
    legendre: Vec<f64>,
}

impl SteeringTable {
    /// Tabulate for frequencies up to `max_freq_hz`.
    pub fn new(
        array: &ArrayGeometry,
        dirs: &[Direction],
        max_freq_hz: f64,
        speed_m_s: f64,
    ) -> Self {
        let kr = 2.0 * std::f64::consts::PI * max_freq_hz * array.radius_m / speed_m_s;
        let n_max = default_truncation_order(kr);
        let caps: Vec<[f64; 3]> = array.capsules.iter().map(|c| c.to_cartesian()).collect();
        let mut legendre = Vec::with_capacity(dirs.len() * caps.len() * (n_max + 1));
        for d in dirs {
            let u = d.to_cartesian();
            for c in &caps {
                let x = (u[0] * c[0] + u[1] * c[1] + u[2] * c[2]).clamp(-1.0, 1.0);
                let (mut p_prev, mut p) = (1.0, x);
                legendre.push(1.0);
                if n_max >= 1 {
                    legendre.push(x);
                }
                for n in 1..n_max {
                    let nf = n as f64;
                    let p_next = ((2.0 * nf + 1.0) * x * p - nf * p_prev) / (nf + 1.0);
                    p_prev = p;
                    p = p_next;
                    legendre.push(p);
                }
            }
        }
        Self {
            n_dirs: dirs.len(),
            n_caps: caps.len(),
            n_max,
            radius_m: array.radius_m,
            sphere: array.sphere,
            speed_m_s,
            legendre,
        }
    }

    /// Steering matrix `[n_dirs × n_caps]` at `freq_hz` (≤ the table's maximum frequency; above it
    /// the series is truncated at the table's order).
    pub fn matrix(&self, freq_hz: f64) -> nalgebra::DMatrix<Complex64> {
        let kr = 2.0 * std::f64::consts::PI * freq_hz * self.radius_m / self.speed_m_s;
        let n_use = default_truncation_order(kr).min(self.n_max);
        let b = mode_strength(n_use, kr, self.sphere);
        let coef: Vec<Complex64> = b
            .iter()
            .enumerate()
            .map(|(n, bn)| bn * (2 * n + 1) as f64)
            .collect();
        let stride = self.n_max + 1;
        nalgebra::DMatrix::from_fn(self.n_dirs, self.n_caps, |d, q| {
            let base = (d * self.n_caps + q) * stride;
            let p = &self.legendre[base..base + n_use + 1];
            let (mut re, mut im) = (0.0, 0.0);
            for (c, &pn) in coef.iter().zip(p) {
                re += c.re * pn;
                im += c.im * pn;
            }
            Complex64::new(re, im)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sphear_sh::modal::plane_wave_pressure;

    #[test]
    fn table_matches_direct_steering() {
        let a = ArrayGeometry::em32();
        let dirs = sphear_sh::quadrature::fibonacci_grid(50);
        let t = SteeringTable::new(&a, &dirs, 24000.0, 343.0);
        for f in [0.0, 100.0, 3000.0, 11000.0, 24000.0] {
            let m = t.matrix(f);
            let s = steering(&a, &dirs, f, 343.0);
            for d in 0..dirs.len() {
                for q in 0..32 {
                    assert!((m[(d, q)] - s[d * 32 + q]).norm() < 1e-10, "f={f}");
                }
            }
        }
    }

    #[test]
    fn matches_modal_plane_wave_pressure() {
        let a = ArrayGeometry::em32();
        let dirs = [
            Direction::from_deg(10.0, 20.0),
            Direction::from_deg(-120.0, -35.0),
        ];
        for f in [50.0, 1000.0, 7000.0, 16000.0] {
            let s = steering(&a, &dirs, f, 343.0);
            for (i, d) in dirs.iter().enumerate() {
                let p = plane_wave_pressure(&a.capsules, a.radius_m, a.sphere, d, f, 343.0);
                for q in 0..32 {
                    assert!((s[i * 32 + q] - p[q]).norm() < 1e-9, "f={f} q={q}");
                }
            }
        }
    }
}
