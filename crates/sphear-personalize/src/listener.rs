//! The listener's anthropometry file (`ME.toml`) and personalisation with the committed model.
//!
//! ```toml
//! # head and torso, centimetres
//! head_width_cm = 14.5          # x1: widest breadth above the ears
//! head_height_cm = 21.6         # x2: chin to vertex
//! head_depth_cm = 19.0          # x3: glabella to the back of the head
//! pinna_offset_back_cm = 0.9    # x5: how far the ear canal sits behind the head's centre
//! shoulder_width_cm = 45.0      # x12
//! [left_ear]                    # and the same keys in [right_ear]
//! cavum_concha_height_cm = 1.9  # d1
//! cavum_concha_width_cm = 1.6   # d3
//! fossa_height_cm = 1.6         # d4
//! pinna_height_cm = 6.4         # d5
//! pinna_width_cm = 2.9          # d6
//! pinna_rotation_deg = 24       # θ1: pinna rotation, degrees
//! pinna_flare_deg = 28          # θ2: pinna flare, degrees
//! ```
//!
//! Definitions follow CIPIC's `anthropometry.pdf` (Algazi et al. 2001). Unknown keys are
//! errors; values outside the range of adult CIPIC subjects are returned as warnings.

use sphear_core::Direction;
use sphear_hrtf::{HrtfSet, SimpleFreeFieldHrir, SofaDelay};

use crate::data::{CIPIC_LATERAL_DEG, FEATURES, N_DIRS, N_FEATURES, Source, cipic_directions};
use crate::dsp::{MinPhase, N_BINS, min_phase_fft_len};
use crate::error::{PersonalizeError, Result};
use crate::train::{Prediction, TrainedModel};

/// The committed model's weights (burnpack).
pub const MODEL_WEIGHTS: &[u8] = include_bytes!("../model/cvae.bpk");
/// The committed model's metadata (JSON).
pub const MODEL_META: &[u8] = include_bytes!("../model/meta.json");
/// The committed model's mean spectrum (`i16`, 0.01 dB).
pub const MODEL_MEAN: &[u8] = include_bytes!("../model/mean_db.i16");

/// Loads the committed (embedded) model.
///
/// # Errors
/// A corrupt embedded model (a build problem).
pub fn embedded_model() -> Result<TrainedModel> {
    TrainedModel::from_bytes(MODEL_WEIGHTS, MODEL_META, MODEL_MEAN)
}

/// A listener's 12 features per ear (TOML units), with the warnings raised while reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    /// `[left, right]` features in [`FEATURES`] order.
    pub features: [[f64; N_FEATURES]; 2],
    /// Out-of-range values.
    pub warnings: Vec<String>,
}

fn is_head(f: &crate::data::Feature) -> bool {
    matches!(f.source, Source::Head(_))
}

/// Parses `ME.toml` text (format in the module docs).
///
/// # Errors
/// [`PersonalizeError::Anthropometry`] for TOML syntax errors, unknown or missing keys,
/// non-numeric or non-finite values.
pub fn parse_listener(text: &str) -> Result<Listener> {
    let bad = |m: String| PersonalizeError::Anthropometry(m);
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let head_keys: Vec<&str> = FEATURES
        .iter()
        .filter(|f| is_head(f))
        .map(|f| f.key)
        .collect();
    let ear_keys: Vec<&str> = FEATURES
        .iter()
        .filter(|f| !is_head(f))
        .map(|f| f.key)
        .collect();
    for k in table.keys() {
        if !head_keys.contains(&k.as_str()) && k != "left_ear" && k != "right_ear" {
            return Err(bad(format!(
                "unknown key {k:?} (known: {}, [left_ear], [right_ear])",
                head_keys.join(", ")
            )));
        }
    }
    let num = |t: &toml::Table, k: &str, ctx: &str| -> Result<f64> {
        let v = t.get(k).ok_or_else(|| bad(format!("missing {ctx}{k}")))?;
        let x = match v {
            toml::Value::Float(f) => *f,
            toml::Value::Integer(i) => *i as f64,
            _ => return Err(bad(format!("{ctx}{k} must be a number"))),
        };
        if !x.is_finite() {
            return Err(bad(format!("{ctx}{k} must be finite")));
        }
        Ok(x)
    };
    let mut features = [[0.0; N_FEATURES]; 2];
    let mut warnings = Vec::new();
    for (e, ear) in ["left_ear", "right_ear"].iter().enumerate() {
        let sub = table
            .get(*ear)
            .and_then(toml::Value::as_table)
            .ok_or_else(|| bad(format!("missing table [{ear}]")))?;
        for k in sub.keys() {
            if !ear_keys.contains(&k.as_str()) {
                return Err(bad(format!(
                    "unknown key {k:?} in [{ear}] (known: {})",
                    ear_keys.join(", ")
                )));
            }
        }
        for (j, f) in FEATURES.iter().enumerate() {
            let (v, ctx) = if is_head(f) {
                (num(&table, f.key, "")?, String::new())
            } else {
                (num(sub, f.key, &format!("{ear}."))?, format!("{ear}."))
            };
            if (e == 0 || !is_head(f)) && (v < f.range.0 || v > f.range.1) {
                warnings.push(format!(
                    "{ctx}{} = {v} is outside the usual range {}..{}",
                    f.key, f.range.0, f.range.1
                ));
            }
            features[e][j] = v;
        }
    }
    Ok(Listener { features, warnings })
}

/// Reads `ME.toml`.
///
/// # Errors
/// I/O and [`parse_listener`] errors.
pub fn read_listener(path: &std::path::Path) -> Result<Listener> {
    let text = std::fs::read_to_string(path).map_err(crate::error::io_err(path))?;
    parse_listener(&text).map_err(|e| match e {
        PersonalizeError::Anthropometry(m) => {
            PersonalizeError::Anthropometry(format!("{}: {m}", path.display()))
        }
        other => other,
    })
}

/// Common delay of both ears before the ITD is applied, seconds: `t_left = T0 − ITD/2`,
/// `t_right = T0 + ITD/2` (ITD = t_right − t_left ≤ 0.9 ms in practice, so both stay ≥ 0).
pub const BASE_DELAY_S: f64 = 1.0e-3;

/// A personalised HRTF at a sample rate: minimum-phase IRs and per-ear delays.
#[derive(Debug, Clone)]
pub struct PersonalHrtf {
    /// Sampling rate, Hz.
    pub sample_rate_hz: f64,
    /// Directions (CIPIC grid, project convention).
    pub directions: Vec<Direction>,
    /// Minimum-phase IRs `[ear][m]` without delay.
    pub irs: [Vec<Vec<f32>>; 2],
    /// Per-direction `[left, right]` delays, samples.
    pub delays_samples: Vec<[f64; 2]>,
    /// The spectra and ITDs they were made from.
    pub prediction: Prediction,
}

/// IR length at `fs_hz`: 256 taps at 48 kHz (5.3 ms), scaled with the rate.
pub fn ir_len_at(fs_hz: f64) -> usize {
    ((256.0 * fs_hz / 48_000.0).round() as usize).max(64)
}

/// Synthesises a [`PersonalHrtf`] from a prediction: minimum-phase IRs straight at `fs_hz` (no
/// resampling: the magnitude is defined in Hz), delays from the ITD.
///
/// # Errors
/// Invalid rate.
#[allow(clippy::needless_range_loop)] // the same index selects an ear in several arrays
pub fn synthesize(pred: Prediction, fs_hz: f64) -> Result<PersonalHrtf> {
    let len = ir_len_at(fs_hz);
    let dirs = cipic_directions();
    let mut mp = MinPhase::new(fs_hz, len, min_phase_fft_len(fs_hz, len))?;
    let mut irs = [Vec::with_capacity(N_DIRS), Vec::with_capacity(N_DIRS)];
    for e in 0..2 {
        for m in 0..N_DIRS {
            let db = &pred.spectra_db[e][m * N_BINS..(m + 1) * N_BINS];
            irs[e].push(mp.ir(db, 0.0)?);
        }
    }
    let delays_samples = pred
        .itd_s
        .iter()
        .map(|&itd| {
            let half = 0.5 * itd.clamp(-2.0 * BASE_DELAY_S, 2.0 * BASE_DELAY_S);
            [(BASE_DELAY_S - half) * fs_hz, (BASE_DELAY_S + half) * fs_hz]
        })
        .collect();
    Ok(PersonalHrtf {
        sample_rate_hz: fs_hz,
        directions: dirs.iter().map(|d| d.direction).collect(),
        irs,
        delays_samples,
        prediction: pred,
    })
}

/// Personalises with `model`: prediction + synthesis at `fs_hz`.
///
/// # Errors
/// As [`TrainedModel::predict`] and [`synthesize`].
pub fn personalize(model: &TrainedModel, listener: &Listener, fs_hz: f64) -> Result<PersonalHrtf> {
    synthesize(model.predict(&listener.features)?, fs_hz)
}

impl PersonalHrtf {
    /// An in-memory set with the delays applied (exact fractional delay of the minimum-phase
    /// response, see [`minimum_phase_ir`]), for rendering.
    ///
    /// # Errors
    /// As [`HrtfSet::from_parts`].
    #[allow(clippy::needless_range_loop)] // the same index selects an ear in several arrays
    pub fn to_hrtf_set(&self, name: &str) -> Result<HrtfSet> {
        let len = ir_len_at(self.sample_rate_hz)
            + (2.0 * BASE_DELAY_S * self.sample_rate_hz).ceil() as usize;
        let fs = self.sample_rate_hz;
        let mut mp = MinPhase::new(fs, len, min_phase_fft_len(fs, len))?;
        let mut out = [Vec::with_capacity(N_DIRS), Vec::with_capacity(N_DIRS)];
        for e in 0..2 {
            for m in 0..N_DIRS {
                let db = &self.prediction.spectra_db[e][m * N_BINS..(m + 1) * N_BINS];
                let d = self.delays_samples[m][e] / fs;
                out[e].push(mp.ir(db, d)?);
            }
        }
        let [l, r] = out;
        Ok(HrtfSet::from_parts(
            name,
            self.sample_rate_hz,
            self.directions.clone(),
            l,
            r,
        )?)
    }

    /// The SOFA SimpleFreeFieldHRIR content: minimum-phase `Data.IR`, `Data.Delay` per
    /// measurement (samples), source distance 1 m (CIPIC's loudspeaker distance).
    ///
    /// # Errors
    /// As [`SimpleFreeFieldHrir::from_ears`].
    pub fn to_sofa(&self, listener_name: &str) -> Result<SimpleFreeFieldHrir> {
        let pos = self
            .directions
            .iter()
            .map(|d| {
                let az = d.azimuth_rad.to_degrees().rem_euclid(360.0);
                [az, d.elevation_rad.to_degrees(), 1.0]
            })
            .collect();
        let conv = |v: &Vec<Vec<f32>>| -> Vec<Vec<f64>> {
            v.iter()
                .map(|ir| ir.iter().map(|&x| x as f64).collect())
                .collect()
        };
        let mut s = SimpleFreeFieldHrir::from_ears(
            self.sample_rate_hz,
            pos,
            &conv(&self.irs[0]),
            &conv(&self.irs[1]),
        )?;
        s.delay_samples = SofaDelay::PerMeasurement(self.delays_samples.clone());
        s.metadata.title = format!("sphear personalised HRTF ({listener_name})");
        s.metadata.listener_short_name = listener_name.to_string();
        s.metadata.database_name = "sphear-personalize CVAE (trained on CIPIC)".into();
        s.metadata.comment =
            "Minimum-phase IRs from a conditional VAE driven by 12 anthropometric \
            features; Data.Delay carries a Woodworth-model ITD. CIPIC grid (1250 directions)."
                .into();
        s.metadata.license =
            "Derived from the CIPIC HRTF database: Copyright (c) 2001 The Regents \
            of the University of California. All Rights Reserved."
                .into();
        s.metadata.application_name = "sphear".into();
        Ok(s)
    }
}

/// Lateral angles of the grid (re-exported for documentation of the output grid).
pub const GRID_LATERAL_DEG: [f64; 25] = CIPIC_LATERAL_DEG;
