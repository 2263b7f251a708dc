//! Spherical microphone array geometry: the built-in `em32` preset and arrays described in TOML.
//!
//! An array is data: capsule directions, sphere radius and sphere kind (rigid or open). Capsule
//! order is channel order. Directions follow the project convention (azimuth counter-clockwise
//! from the front, elevation up).
//!
//! ## TOML format
//! ```toml
//! name = "my-array"          # optional
//! radius_m = 0.042           # sphere radius in metres
//! sphere = "rigid"           # "rigid" (capsules on a hard sphere) or "open"
//! # One entry per capsule, in channel order. Each gives azimuth_deg and exactly one of
//! # elevation_deg or colatitude_deg.
//! capsules = [
//!   { azimuth_deg = 0.0, colatitude_deg = 69.0 },
//!   { azimuth_deg = 32.0, elevation_deg = 0.0 },
//! ]
//! ```
//! Unknown fields are errors (a typo must not silently fall back to a default).

use std::path::Path;

use serde::Deserialize;
use sphear_core::Direction;

use crate::modal::SphereKind;
use crate::{Result, ShError};

/// A spherical microphone array: capsule directions (channel order), radius and sphere kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayGeometry {
    /// Human-readable name (`em32` for the preset).
    pub name: String,
    /// Sphere radius in metres.
    pub radius_m: f64,
    /// Rigid or open sphere.
    pub sphere: SphereKind,
    /// Capsule directions in channel order.
    pub capsules: Vec<Direction>,
}

/// em32 capsule directions as `(azimuth_deg, colatitude_deg)`, capsules 1..32 in channel order.
///
/// Source: mh acoustics, *em32 Eigenmike release notes v17.0* (2013), table of microphone
/// positions, as transcribed identically by SAF (`__Eigenmike32_coords_rad`), micarraylib and
/// eMagLS. Radius 4.2 cm, capsules flush-mounted on a rigid sphere.
pub const EM32_AZ_COLAT_DEG: [(f64, f64); 32] = [
    (0.0, 69.0),
    (32.0, 90.0),
    (0.0, 111.0),
    (328.0, 90.0),
    (0.0, 32.0),
    (45.0, 55.0),
    (69.0, 90.0),
    (45.0, 125.0),
    (0.0, 148.0),
    (315.0, 125.0),
    (291.0, 90.0),
    (315.0, 55.0),
    (91.0, 21.0),
    (90.0, 58.0),
    (90.0, 121.0),
    (89.0, 159.0),
    (180.0, 69.0),
    (212.0, 90.0),
    (180.0, 111.0),
    (148.0, 90.0),
    (180.0, 32.0),
    (225.0, 55.0),
    (249.0, 90.0),
    (225.0, 125.0),
    (180.0, 148.0),
    (135.0, 125.0),
    (111.0, 90.0),
    (135.0, 55.0),
    (269.0, 21.0),
    (270.0, 58.0),
    (270.0, 122.0),
    (271.0, 159.0),
];

/// em32 sphere radius in metres.
pub const EM32_RADIUS_M: f64 = 0.042;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArrayFile {
    #[serde(default)]
    name: Option<String>,
    radius_m: f64,
    sphere: SphereKind,
    capsules: Vec<CapsuleEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapsuleEntry {
    azimuth_deg: f64,
    #[serde(default)]
    elevation_deg: Option<f64>,
    #[serde(default)]
    colatitude_deg: Option<f64>,
}

impl ArrayGeometry {
    /// The built-in Eigenmike em32 preset (32 capsules, rigid sphere, r = 4.2 cm).
    pub fn em32() -> Self {
        let capsules = EM32_AZ_COLAT_DEG
            .iter()
            .map(|&(az, colat)| {
                Direction::from_azimuth_colatitude(az.to_radians(), colat.to_radians())
            })
            .collect();
        Self {
            name: "em32".into(),
            radius_m: EM32_RADIUS_M,
            sphere: SphereKind::Rigid,
            capsules,
        }
    }

    /// Number of capsules (= channels).
    pub fn num_capsules(&self) -> usize {
        self.capsules.len()
    }

    /// Highest SH order this array can encode: `floor(sqrt(M)) − 1` (4 for the em32).
    pub fn max_order(&self) -> usize {
        let m = self.capsules.len();
        let mut s = (m as f64).sqrt().floor() as usize;
        // guard against floating error for perfect squares
        while (s + 1) * (s + 1) <= m {
            s += 1;
        }
        while s * s > m {
            s -= 1;
        }
        s.saturating_sub(1)
    }

    /// Spatial aliasing frequency estimate `N·c/(2π r)` in Hz for order `order`.
    pub fn aliasing_frequency_hz(&self, order: usize, speed_m_s: f64) -> f64 {
        order as f64 * speed_m_s / (2.0 * std::f64::consts::PI * self.radius_m)
    }

    /// Resolve a CLI `--array` value: `em32` or a path to a TOML file.
    pub fn from_arg(arg: &str) -> Result<Self> {
        if arg.eq_ignore_ascii_case("em32") {
            Ok(Self::em32())
        } else {
            Self::from_toml_file(Path::new(arg))
        }
    }

    /// Read an array description from a TOML file (format in the module docs).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ShError::ArrayFile {
            source_name: path.display().to_string(),
            reason: format!("cannot read: {e}"),
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_toml_str(&text, &path.display().to_string(), &stem)
    }

    /// Parse an array description from TOML text. `source_name` is used in error messages and
    /// `default_name` when the file has no `name`.
    pub fn from_toml_str(text: &str, source_name: &str, default_name: &str) -> Result<Self> {
        let err = |reason: String| ShError::ArrayFile {
            source_name: source_name.to_string(),
            reason,
        };
        let file: ArrayFile = toml::from_str(text).map_err(|e| err(e.message().to_string()))?;
        if !(file.radius_m.is_finite() && file.radius_m > 0.0 && file.radius_m < 10.0) {
            return Err(err(format!(
                "radius_m must be a positive number of metres, got {}",
                file.radius_m
            )));
        }
        if file.capsules.len() < 4 {
            return Err(err(format!(
                "need at least 4 capsules, got {}",
                file.capsules.len()
            )));
        }
        let mut capsules = Vec::with_capacity(file.capsules.len());
        for (i, c) in file.capsules.iter().enumerate() {
            let el_deg = match (c.elevation_deg, c.colatitude_deg) {
                (Some(e), None) => e,
                (None, Some(col)) => 90.0 - col,
                (Some(_), Some(_)) => {
                    return Err(err(format!(
                        "capsule {}: give elevation_deg or colatitude_deg, not both",
                        i + 1
                    )));
                }
                (None, None) => {
                    return Err(err(format!(
                        "capsule {}: missing elevation_deg (or colatitude_deg)",
                        i + 1
                    )));
                }
            };
            if !c.azimuth_deg.is_finite()
                || !el_deg.is_finite()
                || !(-90.0..=90.0).contains(&el_deg)
            {
                return Err(err(format!(
                    "capsule {}: invalid direction azimuth {}°, elevation {}°",
                    i + 1,
                    c.azimuth_deg,
                    el_deg
                )));
            }
            capsules.push(Direction::from_deg(c.azimuth_deg, el_deg));
        }
        Ok(Self {
            name: file.name.unwrap_or_else(|| default_name.to_string()),
            radius_m: file.radius_m,
            sphere: file.sphere,
            capsules,
        })
    }

    /// Check that `order` can be encoded with this array (`order ≤ floor(sqrt(M)) − 1`).
    pub fn check_order(&self, order: usize) -> Result<()> {
        let max = self.max_order();
        if order > max {
            return Err(ShError::Order {
                order,
                reason: format!(
                    "array '{}' has {} capsules, so the highest order is floor(sqrt({}))-1 = {}",
                    self.name,
                    self.num_capsules(),
                    self.num_capsules(),
                    max
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn em32_preset() {
        let a = ArrayGeometry::em32();
        assert_eq!(a.num_capsules(), 32);
        assert_eq!(a.max_order(), 4);
        assert!((a.aliasing_frequency_hz(4, 343.0) - 5199.0).abs() < 5.0);
        // capsule 14 is az 90, colat 58 -> elevation 32
        assert!((a.capsules[13].elevation_deg() - 32.0).abs() < 1e-9);
    }

    #[test]
    fn toml_roundtrip_and_errors() {
        let t = r#"
            name = "tetra"
            radius_m = 0.02
            sphere = "open"
            capsules = [
              { azimuth_deg = 45, elevation_deg = 35.26 },
              { azimuth_deg = -45, elevation_deg = -35.26 },
              { azimuth_deg = 135, colatitude_deg = 125.26 },
              { azimuth_deg = -135, elevation_deg = 35.26 },
            ]
        "#;
        let a = ArrayGeometry::from_toml_str(t, "t.toml", "t").expect("valid");
        assert_eq!(a.sphere, SphereKind::Open);
        assert_eq!(a.max_order(), 1);
        assert!((a.capsules[2].elevation_deg() + 35.26).abs() < 1e-9);

        let bad = t.replace("radius_m", "radius");
        let e = ArrayGeometry::from_toml_str(&bad, "t.toml", "t").expect_err("unknown field");
        assert!(e.to_string().contains("radius"), "{e}");
        let bad = t.replace("sphere = \"open\"", "sphere = \"open\"\ncolour = 3");
        let e = ArrayGeometry::from_toml_str(&bad, "t.toml", "t").expect_err("unknown field");
        assert!(e.to_string().contains("colour"), "{e}");
        let bad = t.replace(
            "colatitude_deg = 125.26",
            "colatitude_deg = 125.26, elevation_deg = 1",
        );
        assert!(ArrayGeometry::from_toml_str(&bad, "t.toml", "t").is_err());
        assert!(a.check_order(2).is_err());
    }
}
