//! Embedded analytic HRTF: a rigid spherical head with point ears, plus optional pinna echoes.
//!
//! * Head: the exact rigid-sphere plane-wave solution (the same modal maths as the em32 model,
//!   [`sphear_sh::modal`]) evaluated at two ear points on the sphere (Duda & Martens 1998 use
//!   the same model; their head radius 8.75 cm is the default). Ears sit on the interaural axis
//!   (azimuth ±90°, elevation 0) by default, the geometry of Woodworth's ITD formula.
//! * Pinna (optional, on by default): the structural pinna model of Brown & Duda (1998), five
//!   echoes `Σ ρ_k δ(t − τ_k)` added to the direct path, with
//!   `τ_k = A_k cos(θ/2) sin(D_k(90° − φ)) + B_k` samples at 44.1 kHz (θ: lateral angle toward that ear, φ: polar elevation angle,
//!   clamped to the frontal range the model was fitted for), ρ = (0.5, −1, 0.5, −0.25, 0.25),
//!   A = (1, 5, 5, 5, 5), B = (2, 4, 7, 11, 13), D = (1, 0.5, 0.5, 0.5, 0.5). It adds elevation
//!   cues (direction-dependent notches); it does not change the ITD.
//!
//! This is the fallback when neither `--hrtf` nor a system SOFA file is available; it needs no
//! data files.
//!
//! # References
//! * R. O. Duda, W. L. Martens, "Range dependence of the response of a spherical head model",
//!   JASA 104(5), 1998.
//! * C. P. Brown, R. O. Duda, "A structural model for binaural sound synthesis", IEEE Trans.
//!   Speech Audio Process. 6(5), 1998.
//! * R. S. Woodworth, *Experimental Psychology*, 1938 (ITD = a/c·(θ + sin θ)).

use sphear_core::Direction;
use sphear_hrtf::HrtfSet;
use sphear_sh::modal::{SphereKind, plane_wave_irs};
use sphear_sh::quadrature::fibonacci_grid;

use crate::Result;

/// Settings of the spherical head model.
#[derive(Debug, Clone, PartialEq)]
pub struct SphericalHead {
    /// Head radius in metres (default 0.0875).
    pub radius_m: f64,
    /// Azimuth of the left ear in degrees (right ear mirrored), default 90.
    pub ear_azimuth_deg: f64,
    /// Elevation of both ears in degrees, default 0.
    pub ear_elevation_deg: f64,
    /// Add Brown & Duda pinna echoes.
    pub pinna: bool,
    /// IR length in taps.
    pub ir_len: usize,
    /// Number of directions of the generated set (near-uniform spiral grid).
    pub num_directions: usize,
    /// Speed of sound in m/s.
    pub speed_m_s: f64,
}

impl Default for SphericalHead {
    fn default() -> Self {
        Self {
            radius_m: 0.0875,
            ear_azimuth_deg: 90.0,
            ear_elevation_deg: 0.0,
            pinna: true,
            ir_len: 256,
            num_directions: 1730,
            speed_m_s: sphear_core::SPEED_OF_SOUND_M_S,
        }
    }
}

/// Samples (at `fs`) from the onset of the IR window to the arrival at the head centre.
pub const HEAD_MODEL_PRE_DELAY_S: f64 = 1.0e-3;

impl SphericalHead {
    /// Human-readable name for logs.
    pub fn name(&self) -> String {
        format!(
            "embedded spherical head (Duda & Martens 1998{}; radius {:.2} cm, ears at ±{}° az)",
            if self.pinna {
                " + Brown & Duda pinna echoes"
            } else {
                ""
            },
            self.radius_m * 100.0,
            self.ear_azimuth_deg
        )
    }

    /// HRIR pair for one source direction at sample rate `fs_hz`.
    pub fn hrir(&self, dir: &Direction, fs_hz: f64) -> [Vec<f32>; 2] {
        let ears = [
            Direction::from_deg(self.ear_azimuth_deg, self.ear_elevation_deg),
            Direction::from_deg(-self.ear_azimuth_deg, self.ear_elevation_deg),
        ];
        let delay = HEAD_MODEL_PRE_DELAY_S * fs_hz;
        let irs = plane_wave_irs(
            &ears,
            self.radius_m,
            SphereKind::Rigid,
            dir,
            fs_hz,
            self.ir_len,
            delay,
            self.speed_m_s,
        );
        let mut out = [Vec::new(), Vec::new()];
        for (e, ir) in irs.into_iter().enumerate() {
            let mut y: Vec<f64> = ir.clone();
            if self.pinna {
                let side = if e == 0 { 1.0 } else { -1.0 };
                for (&rho, ((&a, &b), &dd)) in PINNA_RHO
                    .iter()
                    .zip(PINNA_A.iter().zip(PINNA_B.iter()).zip(PINNA_D.iter()))
                {
                    let tau_s = pinna_delay_samples_44k(dir, side, a, b, dd) / 44100.0;
                    add_fractional_delayed(&mut y, &ir, tau_s * fs_hz, rho);
                }
            }
            out[e] = y.into_iter().map(|v| v as f32).collect();
        }
        out
    }

    /// Build the HRTF set on the default grid at `fs_hz`.
    ///
    /// # Errors
    /// Only if the HRTF crate rejects the generated data (it should not).
    pub fn build(&self, fs_hz: f64) -> Result<HrtfSet> {
        let dirs = fibonacci_grid(self.num_directions);
        let mut left = Vec::with_capacity(dirs.len());
        let mut right = Vec::with_capacity(dirs.len());
        for d in &dirs {
            let [l, r] = self.hrir(d, fs_hz);
            left.push(l);
            right.push(r);
        }
        Ok(HrtfSet::from_parts(self.name(), fs_hz, dirs, left, right)?)
    }
}

const PINNA_RHO: [f64; 5] = [0.5, -1.0, 0.5, -0.25, 0.25];
const PINNA_A: [f64; 5] = [1.0, 5.0, 5.0, 5.0, 5.0];
const PINNA_B: [f64; 5] = [2.0, 4.0, 7.0, 11.0, 13.0];
const PINNA_D: [f64; 5] = [1.0, 0.5, 0.5, 0.5, 0.5];

/// Brown & Duda pinna echo delay in samples at 44.1 kHz. `side` = +1 for the left ear, −1 right.
fn pinna_delay_samples_44k(dir: &Direction, side: f64, a: f64, b: f64, d: f64) -> f64 {
    let [x, y, z] = dir.to_cartesian();
    // Lateral angle toward this ear (−90…90°) and polar angle φ (0 front, 90 up), clamped to the
    // frontal half-plane the model was fitted for.
    let theta = (side * y).clamp(-1.0, 1.0).asin();
    let phi = z
        .atan2(x)
        .clamp(-std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_2);
    a * (theta / 2.0).cos() * (d * (std::f64::consts::FRAC_PI_2 - phi)).sin() + b
}

/// `y += rho · x(t − delay)` with linear-interpolated fractional delay.
fn add_fractional_delayed(y: &mut [f64], x: &[f64], delay: f64, rho: f64) {
    let di = delay.floor() as usize;
    let frac = delay - di as f64;
    for (t, yt) in y.iter_mut().enumerate().skip(di) {
        let i0 = t - di;
        let v0 = x.get(i0).copied().unwrap_or(0.0);
        let v1 = if i0 >= 1 { x[i0 - 1] } else { 0.0 };
        *yt += rho * ((1.0 - frac) * v0 + frac * v1);
    }
}
