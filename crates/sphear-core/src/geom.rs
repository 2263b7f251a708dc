//! Directions and coordinates.
//!
//! Right-handed axes: +x front, +y left, +z up. Azimuth counter-clockwise from +x seen from above
//! (90° = left), elevation up from the horizontal plane. Colatitude (inclination) = 90° − elevation;
//! it only appears inside SH code.

/// A direction on the unit sphere, azimuth/elevation in radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Direction {
    /// Azimuth, radians, counter-clockwise from the front (+x), π/2 = left (+y).
    pub azimuth_rad: f64,
    /// Elevation, radians, up from the horizontal plane, π/2 = up (+z).
    pub elevation_rad: f64,
}

impl Direction {
    /// From radians.
    pub fn new(azimuth_rad: f64, elevation_rad: f64) -> Self {
        Self {
            azimuth_rad,
            elevation_rad,
        }
    }

    /// From degrees.
    ///
    /// ```
    /// use sphear_core::Direction;
    /// let left = Direction::from_deg(90.0, 0.0);
    /// let [x, y, z] = left.to_cartesian();
    /// assert!(x.abs() < 1e-12 && (y - 1.0).abs() < 1e-12 && z.abs() < 1e-12);
    /// ```
    pub fn from_deg(azimuth_deg: f64, elevation_deg: f64) -> Self {
        Self::new(azimuth_deg.to_radians(), elevation_deg.to_radians())
    }

    /// From azimuth and colatitude (inclination from +z), radians.
    pub fn from_azimuth_colatitude(azimuth_rad: f64, colatitude_rad: f64) -> Self {
        Self::new(azimuth_rad, std::f64::consts::FRAC_PI_2 - colatitude_rad)
    }

    /// Azimuth in degrees.
    pub fn azimuth_deg(&self) -> f64 {
        self.azimuth_rad.to_degrees()
    }

    /// Elevation in degrees.
    pub fn elevation_deg(&self) -> f64 {
        self.elevation_rad.to_degrees()
    }

    /// Colatitude (inclination from +z) in radians.
    pub fn colatitude_rad(&self) -> f64 {
        std::f64::consts::FRAC_PI_2 - self.elevation_rad
    }

    /// Unit vector `[x, y, z]`.
    pub fn to_cartesian(&self) -> [f64; 3] {
        let (se, ce) = self.elevation_rad.sin_cos();
        let (sa, ca) = self.azimuth_rad.sin_cos();
        [ce * ca, ce * sa, se]
    }

    /// From a (not necessarily unit) vector. The zero vector maps to the front.
    pub fn from_cartesian(v: [f64; 3]) -> Self {
        let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if r == 0.0 {
            return Self::new(0.0, 0.0);
        }
        let el = (v[2] / r).clamp(-1.0, 1.0).asin();
        let az = v[1].atan2(v[0]);
        Self::new(az, el)
    }

    /// Great-circle angle to another direction, radians in `[0, π]`.
    pub fn angle_to(&self, other: &Direction) -> f64 {
        let a = self.to_cartesian();
        let b = other.to_cartesian();
        // atan2 of |a×b| and a·b is accurate for small and large angles.
        let cx = a[1] * b[2] - a[2] * b[1];
        let cy = a[2] * b[0] - a[0] * b[2];
        let cz = a[0] * b[1] - a[1] * b[0];
        let cross = (cx * cx + cy * cy + cz * cz).sqrt();
        let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        cross.atan2(dot)
    }

    /// Azimuth wrapped to `(-180°, 180°]`, in degrees.
    pub fn azimuth_deg_wrapped(&self) -> f64 {
        let mut a = self.azimuth_deg() % 360.0;
        if a > 180.0 {
            a -= 360.0;
        } else if a <= -180.0 {
            a += 360.0;
        }
        a
    }
}

/// Dot product of two 3-vectors.
pub fn dot3(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cartesian_round_trip() {
        for az in [-170.0, -90.0, 0.0, 33.0, 90.0, 179.0] {
            for el in [-80.0, -30.0, 0.0, 45.0, 89.0] {
                let d = Direction::from_deg(az, el);
                let e = Direction::from_cartesian(d.to_cartesian());
                assert!(d.angle_to(&e) < 1e-12, "{az} {el}");
                assert!((e.azimuth_deg() - az).abs() < 1e-9);
                assert!((e.elevation_deg() - el).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn axes() {
        let up = Direction::from_deg(0.0, 90.0).to_cartesian();
        assert!((up[2] - 1.0).abs() < 1e-15);
        let left = Direction::from_deg(90.0, 0.0);
        let front = Direction::from_deg(0.0, 0.0);
        assert!((left.angle_to(&front) - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
    }
}
