//! Unit quaternions for head orientation.

use sphear_sh::rotation::{Mat3, rotation_from_quaternion};

/// Hamilton unit quaternion `w + x i + y j + z k` of an active rotation (`v' = q v q*`) in
/// sphear's frame (+x front, +y left, +z up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quat {
    /// Scalar part.
    pub w: f64,
    /// i component.
    pub x: f64,
    /// j component.
    pub y: f64,
    /// k component.
    pub z: f64,
}

impl Quat {
    /// The identity rotation.
    pub const IDENTITY: Quat = Quat {
        w: 1.0,
        x: 0.0,
        y: 0.0,
        z: 0.0,
    };

    /// Normalised copy; a zero or non-finite quaternion gives the identity.
    pub fn normalized(self) -> Quat {
        let n = self.dot(self).sqrt();
        if n == 0.0 || !n.is_finite() {
            return Quat::IDENTITY;
        }
        Quat {
            w: self.w / n,
            x: self.x / n,
            y: self.y / n,
            z: self.z / n,
        }
    }

    /// Four-dimensional dot product.
    pub fn dot(self, o: Quat) -> f64 {
        self.w * o.w + self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Hamilton product `self ⊗ o` (apply `o` first, then `self`).
    pub fn hamilton(self, o: Quat) -> Quat {
        Quat {
            w: self.w * o.w - self.x * o.x - self.y * o.y - self.z * o.z,
            x: self.w * o.x + self.x * o.w + self.y * o.z - self.z * o.y,
            y: self.w * o.y - self.x * o.z + self.y * o.w + self.z * o.x,
            z: self.w * o.z + self.x * o.y - self.y * o.x + self.z * o.w,
        }
    }

    /// Quaternion of sphear's yaw/pitch/roll (degrees):
    /// `q = qz(yaw) ⊗ qy(−pitch) ⊗ qx(roll)`, the same rotation as
    /// `sphear_sh::rotation::rotation_from_ypr(yaw, pitch, roll)`.
    pub fn from_ypr_deg(yaw_deg: f64, pitch_deg: f64, roll_deg: f64) -> Quat {
        let half = |a_deg: f64| (0.5 * a_deg.to_radians()).sin_cos();
        let (sz, cz) = half(yaw_deg);
        let (sy, cy) = half(-pitch_deg);
        let (sx, cx) = half(roll_deg);
        let qz = Quat {
            w: cz,
            x: 0.0,
            y: 0.0,
            z: sz,
        };
        let qy = Quat {
            w: cy,
            x: 0.0,
            y: sy,
            z: 0.0,
        };
        let qx = Quat {
            w: cx,
            x: sx,
            y: 0.0,
            z: 0.0,
        };
        qz.hamilton(qy.hamilton(qx))
    }

    /// Rotation matrix (active), see `sphear_sh::rotation::rotation_from_quaternion`.
    pub fn to_rotation(self) -> Mat3 {
        rotation_from_quaternion(self.w, self.x, self.y, self.z)
    }

    /// Sphear yaw, pitch, roll in degrees (yaw, roll in (−180, 180], pitch in [−90, 90]) of
    /// `R = Rz(yaw) · Ry(−pitch) · Rx(roll)`:
    /// `pitch = asin(R₂₀)`, `yaw = atan2(R₁₀, R₀₀)`, `roll = atan2(R₂₁, R₂₂)`.
    /// At pitch = ±90° (gimbal lock) the roll is folded into the yaw.
    ///
    /// # References
    /// J. Diebel, "Representing attitude", Stanford, 2006, z-y-x sequence.
    pub fn to_ypr_deg(self) -> [f64; 3] {
        let r = self.to_rotation();
        let pitch = r[2][0].clamp(-1.0, 1.0).asin();
        // cos(pitch) = 0: R₁₀ = R₀₀ = R₂₁ = R₂₂ = 0; use the remaining entries.
        if (r[0][0] * r[0][0] + r[1][0] * r[1][0]).sqrt() < 1e-12 {
            let yaw = (-r[0][1]).atan2(r[1][1]);
            return [yaw.to_degrees(), pitch.to_degrees(), 0.0];
        }
        let yaw = r[1][0].atan2(r[0][0]);
        let roll = r[2][1].atan2(r[2][2]);
        [yaw.to_degrees(), pitch.to_degrees(), roll.to_degrees()]
    }

    /// Spherical linear interpolation from `self` (t = 0) to `to` (t = 1) along the shorter
    /// arc (`to` is negated when `self · to < 0`, `q` and `−q` being the same rotation).
    ///
    /// # References
    /// K. Shoemake, "Animating rotation with quaternion curves", SIGGRAPH 1985.
    pub fn slerp(self, to: Quat, t: f64) -> Quat {
        let a = self.normalized();
        let mut b = to.normalized();
        let mut d = a.dot(b);
        if d < 0.0 {
            b = Quat {
                w: -b.w,
                x: -b.x,
                y: -b.y,
                z: -b.z,
            };
            d = -d;
        }
        let (ka, kb) = if d > 1.0 - 1e-9 {
            (1.0 - t, t)
        } else {
            let theta = d.min(1.0).acos();
            let s = theta.sin();
            (((1.0 - t) * theta).sin() / s, (t * theta).sin() / s)
        };
        Quat {
            w: ka * a.w + kb * b.w,
            x: ka * a.x + kb * b.x,
            y: ka * a.y + kb * b.y,
            z: ka * a.z + kb * b.z,
        }
        .normalized()
    }

    /// Rotation angle in radians between two orientations, `2 acos |a · b|`.
    pub fn angle_to_rad(self, o: Quat) -> f64 {
        2.0 * self.normalized().dot(o.normalized()).abs().min(1.0).acos()
    }
}
