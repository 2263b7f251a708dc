//! Scene specifications (TOML): fixed values or ranges to draw from, realised into a concrete
//! [`crate::scene::SceneConfig`] by a seed.
//!
//! ```toml
//! sample_rate_hz = 48000
//! duration_s = 4.0
//! seed = 1
//!
//! [room]
//! dims_m = [[4.0, 10.0], [3.0, 8.0], [2.5, 4.0]]   # each a value or a [min, max] range
//! rt60_s = [0.2, 2.5]                              # broadband target (value or range)
//! formula = "eyring"                               # or "sabine"
//! # free_field = true                              # no room: plane waves only
//!
//! [listener]
//! height_m = [1.2, 1.8]
//! yaw_deg = 0.0
//!
//! [sources]
//! count = [1, 5]
//! elevation_range_deg = [-40.0, 90.0]
//! distance_range_m = [1.0, 3.0]
//! # signals_dir = "path/to/audio"                # WAV/FLAC/Ogg; built-in generators if absent
//! # positions = [{ azimuth_deg = 30.0, elevation_deg = 0.0, distance_m = 2.0 }]
//!
//! [noise]
//! snr_db = [0.0, 30.0]
//!
//! [augment]
//! gain_db = [-6.0, 6.0]
//! rotate_scene = true
//!
//! [output]
//! em32 = true
//! binaural = true
//! ambix_order = 4
//! omni = false
//! loudness_lufs = -23.0
//! # hrtf = "subject.sofa"
//! ```
//! Unknown fields are errors.

use std::path::{Path, PathBuf};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{Result, SimError};

/// A number or a `[min, max]` range to draw uniformly from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Num {
    /// A fixed value.
    Fixed(f64),
    /// A uniform range `[min, max]`.
    Range([f64; 2]),
}

impl Num {
    /// Draw a value.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        match *self {
            Num::Fixed(v) => v,
            Num::Range([a, b]) => {
                if b > a {
                    rng.random_range(a..=b)
                } else {
                    a
                }
            }
        }
    }

    fn check(&self, name: &str, lo: f64, hi: f64) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v >= lo && v <= hi;
        let good = match *self {
            Num::Fixed(v) => ok(v),
            Num::Range([a, b]) => ok(a) && ok(b) && a <= b,
        };
        if good {
            Ok(())
        } else {
            Err(SimError::Invalid(format!(
                "{name} must lie in [{lo}, {hi}] (a value or [min, max]), got {self:?}"
            )))
        }
    }
}

/// Room part of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSpec {
    /// Room dimensions (x, y, z) in metres.
    #[serde(default = "default_dims")]
    pub dims_m: [Num; 3],
    /// Broadband RT60 target in seconds (all octave bands).
    #[serde(default = "default_rt60")]
    pub rt60_s: Num,
    /// Optional per-octave-band RT60 profile (125 Hz … 8 kHz) multiplying `rt60_s`.
    #[serde(default)]
    pub rt60_band_factors: Option<[f64; 7]>,
    /// `"sabine"` or `"eyring"` (default) for absorption from the RT60 target.
    #[serde(default = "default_formula")]
    pub formula: String,
    /// Image-source order limit (default: enough to reach the transition time).
    #[serde(default)]
    pub max_order: Option<usize>,
    /// Time after which the stochastic diffuse tail replaces image sources (default: automatic).
    #[serde(default)]
    pub transition_s: Option<f64>,
    /// No room at all: free-field plane waves.
    #[serde(default)]
    pub free_field: bool,
}

fn default_dims() -> [Num; 3] {
    [
        Num::Range([4.0, 10.0]),
        Num::Range([3.0, 8.0]),
        Num::Range([2.5, 4.0]),
    ]
}
fn default_rt60() -> Num {
    Num::Range([0.2, 1.2])
}
fn default_formula() -> String {
    "eyring".into()
}

impl Default for RoomSpec {
    fn default() -> Self {
        Self {
            dims_m: default_dims(),
            rt60_s: default_rt60(),
            rt60_band_factors: None,
            formula: default_formula(),
            max_order: None,
            transition_s: None,
            free_field: false,
        }
    }
}

/// Listener (array and head, same position) part of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSpec {
    /// Explicit position in the room (m); random otherwise.
    #[serde(default)]
    pub position_m: Option<[f64; 3]>,
    /// Minimum distance to every wall when drawn (m).
    #[serde(default = "default_margin")]
    pub wall_margin_m: f64,
    /// Height when drawn (m).
    #[serde(default = "default_height")]
    pub height_m: Num,
    /// Head yaw in degrees (positive: turned left).
    #[serde(default = "zero_num")]
    pub yaw_deg: Num,
    /// Head pitch in degrees (positive: nose up).
    #[serde(default = "zero_num")]
    pub pitch_deg: Num,
    /// Head roll in degrees (positive: left ear up).
    #[serde(default = "zero_num")]
    pub roll_deg: Num,
}

fn default_margin() -> f64 {
    1.0
}
fn default_height() -> Num {
    Num::Range([1.2, 1.8])
}
fn zero_num() -> Num {
    Num::Fixed(0.0)
}

impl Default for ListenerSpec {
    fn default() -> Self {
        Self {
            position_m: None,
            wall_margin_m: default_margin(),
            height_m: default_height(),
            yaw_deg: zero_num(),
            pitch_deg: zero_num(),
            roll_deg: zero_num(),
        }
    }
}

/// A source position relative to the listener (room frame).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePosition {
    /// Azimuth in degrees (room frame, counter-clockwise from +x).
    pub azimuth_deg: f64,
    /// Elevation in degrees.
    pub elevation_deg: f64,
    /// Distance in metres.
    pub distance_m: f64,
}

/// Sources part of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesSpec {
    /// Number of simultaneous sources (1–5), value or range.
    #[serde(default = "default_count")]
    pub count: Num,
    /// Explicit positions (then `count` is ignored).
    #[serde(default)]
    pub positions: Option<Vec<SourcePosition>>,
    /// Azimuth range in degrees when drawn.
    #[serde(default = "default_az")]
    pub azimuth_range_deg: [f64; 2],
    /// Elevation range in degrees when drawn (the paper: −40…+90).
    #[serde(default = "default_el")]
    pub elevation_range_deg: [f64; 2],
    /// Distance range in metres when drawn.
    #[serde(default = "default_dist")]
    pub distance_range_m: [f64; 2],
    /// Minimum angular separation between drawn sources (degrees).
    #[serde(default = "default_sep")]
    pub min_separation_deg: f64,
    /// Folder of audio files (WAV/FLAC/Ogg) to draw source signals from; built-in generators otherwise.
    #[serde(default)]
    pub signals_dir: Option<PathBuf>,
}

fn default_count() -> Num {
    Num::Range([1.0, 3.0])
}
fn default_az() -> [f64; 2] {
    [-180.0, 180.0]
}
fn default_el() -> [f64; 2] {
    [-40.0, 90.0]
}
fn default_dist() -> [f64; 2] {
    [1.0, 3.0]
}
fn default_sep() -> f64 {
    20.0
}

impl Default for SourcesSpec {
    fn default() -> Self {
        Self {
            count: default_count(),
            positions: None,
            azimuth_range_deg: default_az(),
            elevation_range_deg: default_el(),
            distance_range_m: default_dist(),
            min_separation_deg: default_sep(),
            signals_dir: None,
        }
    }
}

/// Sensor noise on the em32 capsules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseSpec {
    /// SNR in dB (capsule signal power over independent white noise), value or range; absent = no noise.
    #[serde(default = "default_snr")]
    pub snr_db: Option<Num>,
}

fn default_snr() -> Option<Num> {
    Some(Num::Fixed(30.0))
}

impl Default for NoiseSpec {
    fn default() -> Self {
        Self {
            snr_db: default_snr(),
        }
    }
}

/// Augmentations (paper section 2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentSpec {
    /// Random gain in dB applied to all outputs after loudness normalisation.
    #[serde(default = "zero_num")]
    pub gain_db: Num,
    /// Rotate the whole scene (room and sources) randomly around the listener (equivalent to
    /// rotating the SH coefficients, as in the paper).
    #[serde(default)]
    pub rotate_scene: bool,
}

impl Default for AugmentSpec {
    fn default() -> Self {
        Self {
            gain_db: zero_num(),
            rotate_scene: false,
        }
    }
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// em32 capsule signals (32 ch).
    #[serde(default = "yes")]
    pub em32: bool,
    /// Binaural reference (2 ch).
    #[serde(default = "yes")]
    pub binaural: bool,
    /// Ideal AmbiX reference of this order (0 = none).
    #[serde(default = "default_ambix")]
    pub ambix_order: usize,
    /// Omnidirectional pressure at the listener position (1 ch).
    #[serde(default)]
    pub omni: bool,
    /// Loudness target of the omni mix in LUFS (ITU-R BS.1770); all outputs share the gain.
    #[serde(default = "default_lufs")]
    pub loudness_lufs: f64,
    /// HRTF for the binaural reference (default: system SOFA if installed, else the embedded head).
    #[serde(default)]
    pub hrtf: Option<PathBuf>,
}

fn yes() -> bool {
    true
}
fn default_ambix() -> usize {
    4
}
fn default_lufs() -> f64 {
    -23.0
}

impl Default for OutputSpec {
    fn default() -> Self {
        Self {
            em32: true,
            binaural: true,
            ambix_order: 4,
            omni: false,
            loudness_lufs: -23.0,
            hrtf: None,
        }
    }
}

/// A whole scene specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneSpec {
    /// Sample rate in Hz.
    #[serde(default = "default_rate")]
    pub sample_rate_hz: u32,
    /// Scene length in seconds.
    #[serde(default = "default_duration")]
    pub duration_s: f64,
    /// Seed of `sphear simulate` (datasets derive one seed per item).
    #[serde(default)]
    pub seed: u64,
    /// Room.
    #[serde(default)]
    pub room: RoomSpec,
    /// Listener.
    #[serde(default)]
    pub listener: ListenerSpec,
    /// Sources.
    #[serde(default)]
    pub sources: SourcesSpec,
    /// Sensor noise.
    #[serde(default)]
    pub noise: NoiseSpec,
    /// Augmentations.
    #[serde(default)]
    pub augment: AugmentSpec,
    /// Outputs.
    #[serde(default)]
    pub output: OutputSpec,
}

fn default_rate() -> u32 {
    48000
}
fn default_duration() -> f64 {
    4.0
}

impl Default for SceneSpec {
    fn default() -> Self {
        Self {
            sample_rate_hz: default_rate(),
            duration_s: default_duration(),
            seed: 0,
            room: RoomSpec::default(),
            listener: ListenerSpec::default(),
            sources: SourcesSpec::default(),
            noise: NoiseSpec::default(),
            augment: AugmentSpec::default(),
            output: OutputSpec::default(),
        }
    }
}

impl SceneSpec {
    /// Parse TOML text; relative paths in it are resolved against `base_dir`.
    ///
    /// # Errors
    /// Syntax errors, unknown fields, out-of-range values.
    pub fn from_toml_str(text: &str, base_dir: &Path) -> Result<Self> {
        let mut spec: SceneSpec = toml::from_str(text)
            .map_err(|e| SimError::Invalid(format!("scene spec: {}", e.message())))?;
        if let Some(d) = &spec.sources.signals_dir
            && d.is_relative()
        {
            spec.sources.signals_dir = Some(base_dir.join(d));
        }
        if let Some(h) = &spec.output.hrtf
            && h.is_relative()
        {
            spec.output.hrtf = Some(base_dir.join(h));
        }
        spec.validate()?;
        Ok(spec)
    }

    /// Read a TOML spec file.
    ///
    /// # Errors
    /// As [`SceneSpec::from_toml_str`], plus I/O.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml_str(&text, base).map_err(|e| match e {
            SimError::Invalid(m) => SimError::Invalid(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Check ranges.
    ///
    /// # Errors
    /// The first invalid field, named.
    pub fn validate(&self) -> Result<()> {
        if !(8000..=192_000).contains(&self.sample_rate_hz) {
            return Err(SimError::Invalid(format!(
                "sample_rate_hz must be 8000–192000, got {}",
                self.sample_rate_hz
            )));
        }
        if !(self.duration_s >= 0.4 && self.duration_s <= 600.0) {
            return Err(SimError::Invalid(format!(
                "duration_s must be in [0.4, 600] (BS.1770 loudness needs at least one 400 ms block), got {}",
                self.duration_s
            )));
        }
        for (i, d) in self.room.dims_m.iter().enumerate() {
            d.check(&format!("room.dims_m[{i}]"), 1.0, 100.0)?;
        }
        self.room.rt60_s.check("room.rt60_s", 0.05, 20.0)?;
        if !matches!(self.room.formula.as_str(), "sabine" | "eyring") {
            return Err(SimError::Invalid(format!(
                "room.formula must be \"sabine\" or \"eyring\", got {:?}",
                self.room.formula
            )));
        }
        self.sources.count.check("sources.count", 1.0, 5.0)?;
        if let Some(p) = &self.sources.positions
            && (p.is_empty() || p.len() > 5)
        {
            return Err(SimError::Invalid(format!(
                "sources.positions must list 1–5 sources, got {}",
                p.len()
            )));
        }
        if let Some(s) = &self.noise.snr_db {
            s.check("noise.snr_db", -20.0, 120.0)?;
        }
        self.augment.gain_db.check("augment.gain_db", -60.0, 60.0)?;
        if self.output.ambix_order > 10 {
            return Err(SimError::Invalid(format!(
                "output.ambix_order must be ≤ 10, got {}",
                self.output.ambix_order
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_doc_example_and_rejects_unknown_fields() {
        let text = r#"
            sample_rate_hz = 48000
            duration_s = 2.0
            [room]
            dims_m = [6.0, [3.0, 5.0], 3.0]
            rt60_s = [0.2, 2.5]
            [sources]
            count = [1, 5]
            [noise]
            snr_db = [0.0, 30.0]
        "#;
        let s = SceneSpec::from_toml_str(text, Path::new(".")).expect("parse");
        assert_eq!(s.room.dims_m[0], Num::Fixed(6.0));
        assert_eq!(s.room.dims_m[1], Num::Range([3.0, 5.0]));
        let bad = text.replace("[noise]", "[noise]\nsnr = 3");
        let e = SceneSpec::from_toml_str(&bad, Path::new(".")).expect_err("unknown field");
        assert!(e.to_string().contains("snr"), "{e}");
        let bad = text.replace("count = [1, 5]", "count = 9");
        assert!(SceneSpec::from_toml_str(&bad, Path::new(".")).is_err());
    }
}
