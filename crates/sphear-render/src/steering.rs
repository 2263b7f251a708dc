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
pub fn steering(array: &ArrayGeometry, dirs: &[Direction], freq_hz: f64, speed_m_s: f64) -> Vec<Complex64> {
    let kr = 2.0 * std::f64::consts::PI * freq_hz * array.radius_m / speed_m_s;
    let n_max = default_truncation_order(kr);
    let b = mode_strength(n_max, kr, array.sphere);
    let coef: Vec<Complex64> = b.iter().enumerate().map(|(n, bn)| bn * (2 * n + 1) as f64).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use sphear_sh::modal::plane_wave_pressure;

    #[test]
    fn matches_modal_plane_wave_pressure() {
        let a = ArrayGeometry::em32();
        let dirs = [Direction::from_deg(10.0, 20.0), Direction::from_deg(-120.0, -35.0)];
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
