//! Binaural localisation by cue lookup against an HRTF set, and lateral/polar angles.
//!
//! # Method
//! The cues of a binaural signal are its GCC-PHAT ITD ([`crate::itd::gcc_phat_itd_s`], default
//! 100–1500 Hz, ±1 ms) and its ILD per ERB band ([`crate::bands::ild_per_bands_db`], default
//! 1–8 kHz). [`CueTable::from_hrtf`] computes the same cues for every HRIR pair of a
//! [`sphear_hrtf::HrtfSet`]; [`CueTable::localise`] returns the direction minimising
//!
//! `J(d) = ((ITD − ITD_d)/σ_ITD)² + (1/B) Σ_b ((ILD_b − ILD_{d,b})/σ_ILD)²`
//!
//! with `σ_ITD` = 20 µs and `σ_ILD` = 1 dB (about one just-noticeable difference each). Band ILDs
//! of a signal equal those of the HRIR only for a source spectrum that is flat within each band
//! (white or pink noise, an impulse); coloured sources bias them.
//!
//! # Ambiguity
//! ITD and ILD are nearly constant on a *cone of confusion* (constant lateral angle): they fix the
//! **lateral angle** well but front/back and up/down (the polar angle) only through the weak
//! monaural and interaural spectral detail above ~4 kHz. Report the lateral-angle error
//! ([`lateral_error_rad`]) as the primary figure; a front-back confusion shows up as a large
//! great-circle error with a small lateral error.
//!
//! Interaural-polar coordinates (+y = left ear): lateral angle `α = asin(y) ∈ [−π/2, π/2]`
//! (positive on the left), polar angle `β = atan2(z, x) ∈ (−π, π]` (0 front, π/2 up, π back).
//!
//! # References
//! * J. Blauert, *Spatial Hearing*, MIT Press 1997, §2.4 (cone of confusion).
//! * M. Morimoto, H. Aokata, "Localization cues of sound sources in the upper hemisphere",
//!   J. Acoust. Soc. Jpn. (E) 5(3), 1984 (interaural-polar coordinates).
//! * T. May, S. van de Par, A. Kohlrausch, "A probabilistic model for robust localization based
//!   on a binaural auditory front-end", IEEE Trans. ASLP 19(1), 2011 (ITD/ILD template lookup).

use sphear_core::Direction;
use sphear_hrtf::{Ear, HrtfSet};

use crate::bands::{Band, erb_bands, ild_per_bands_db};
use crate::itd::gcc_phat_itd_s;
use crate::{EvalError, Result};

/// Lateral angle `asin(y)` of a direction, radians (positive = left).
pub fn lateral_angle_rad(dir: &Direction) -> f64 {
    dir.to_cartesian()[1].clamp(-1.0, 1.0).asin()
}

/// Polar angle `atan2(z, x)` of a direction, radians (0 front, π/2 up, ±π back).
pub fn polar_angle_rad(dir: &Direction) -> f64 {
    let [x, _, z] = dir.to_cartesian();
    z.atan2(x)
}

/// `|lateral(a) − lateral(b)|`, radians.
pub fn lateral_error_rad(a: &Direction, b: &Direction) -> f64 {
    (lateral_angle_rad(a) - lateral_angle_rad(b)).abs()
}

/// Parameters of the cue extraction and of the cost `J`.
#[derive(Debug, Clone, PartialEq)]
pub struct CueConfig {
    /// GCC-PHAT band, Hz (default 100–1500).
    pub itd_band_hz: (f64, f64),
    /// Largest |ITD| searched, s (default 1 ms).
    pub max_itd_s: f64,
    /// ILD bands (default: ERB bands 1–8 kHz).
    pub ild_bands: Vec<Band>,
    /// `σ_ITD`, s (default 20 µs).
    pub itd_sigma_s: f64,
    /// `σ_ILD`, dB (default 1 dB).
    pub ild_sigma_db: f64,
}

impl Default for CueConfig {
    fn default() -> Self {
        Self {
            itd_band_hz: (100.0, 1500.0),
            max_itd_s: 1e-3,
            ild_bands: erb_bands(1000.0, 8000.0),
            itd_sigma_s: 20e-6,
            ild_sigma_db: 1.0,
        }
    }
}

/// Binaural cues of one signal or HRIR pair.
#[derive(Debug, Clone, PartialEq)]
pub struct BinauralCues {
    /// ITD `t_right − t_left`, s.
    pub itd_s: f64,
    /// ILD per band `10·log10(E_L/E_R)`, dB.
    pub ild_db: Vec<f64>,
}

/// Cues of a binaural signal (see the module docs).
///
/// # Errors
/// As [`gcc_phat_itd_s`] and [`ild_per_bands_db`] (silent bands included).
pub fn binaural_cues(l: &[f32], r: &[f32], fs_hz: f64, cfg: &CueConfig) -> Result<BinauralCues> {
    let itd_s = gcc_phat_itd_s(
        l,
        r,
        fs_hz,
        cfg.itd_band_hz.0,
        cfg.itd_band_hz.1,
        cfg.max_itd_s,
    )?;
    let ild_db = ild_per_bands_db(l, r, fs_hz, &cfg.ild_bands)?;
    Ok(BinauralCues { itd_s, ild_db })
}

/// Cues of every direction of an HRTF set, for lookup.
#[derive(Debug, Clone)]
pub struct CueTable {
    fs_hz: f64,
    cfg: CueConfig,
    directions: Vec<Direction>,
    cues: Vec<BinauralCues>,
}

/// Result of [`CueTable::localise`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Localisation {
    /// Index of the best direction in the HRTF set.
    pub index: usize,
    /// The best direction.
    pub direction: Direction,
    /// Its cost `J` (dimensionless).
    pub cost: f64,
}

impl CueTable {
    /// Computes the cues of every HRIR pair of `set` (at the set's rate).
    ///
    /// # Errors
    /// An invalid config (`σ ≤ 0`, no band, band above the set's Nyquist), or an HRIR whose cues
    /// are undefined (e.g. a silent band).
    pub fn from_hrtf(set: &HrtfSet, cfg: &CueConfig) -> Result<Self> {
        if !(cfg.itd_sigma_s > 0.0 && cfg.ild_sigma_db > 0.0) || cfg.ild_bands.is_empty() {
            return Err(EvalError::InvalidArgument(
                "cue lookup needs positive σ_ITD, σ_ILD and at least one ILD band".into(),
            ));
        }
        let fs_hz = set.sample_rate_hz();
        let cues = (0..set.len())
            .map(|i| binaural_cues(set.ir(i, Ear::Left), set.ir(i, Ear::Right), fs_hz, cfg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            fs_hz,
            cfg: cfg.clone(),
            directions: set.directions().to_vec(),
            cues,
        })
    }

    /// Sampling rate of the table (the HRTF set's), Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.fs_hz
    }

    /// The cues of direction `index` of the set.
    pub fn cues(&self, index: usize) -> Option<&BinauralCues> {
        self.cues.get(index)
    }

    /// Cost `J` of cues `c` against direction `index` (see the module docs).
    fn cost(&self, c: &BinauralCues, index: usize) -> f64 {
        let t = &self.cues[index];
        let di = (c.itd_s - t.itd_s) / self.cfg.itd_sigma_s;
        let dl: f64 = c
            .ild_db
            .iter()
            .zip(&t.ild_db)
            .map(|(a, b)| ((a - b) / self.cfg.ild_sigma_db).powi(2))
            .sum::<f64>()
            / c.ild_db.len() as f64;
        di * di + dl
    }

    /// Best-matching direction of the binaural signal `(l, r)` sampled at `fs_hz`.
    ///
    /// # Errors
    /// `fs_hz` differs from the table's rate; cue extraction errors.
    pub fn localise(&self, l: &[f32], r: &[f32], fs_hz: f64) -> Result<Localisation> {
        if (fs_hz - self.fs_hz).abs() > 1e-6 * self.fs_hz {
            return Err(EvalError::InvalidArgument(format!(
                "signal at {fs_hz} Hz but the HRTF cue table is at {} Hz",
                self.fs_hz
            )));
        }
        let c = binaural_cues(l, r, fs_hz, &self.cfg)?;
        let (index, cost) = (0..self.cues.len())
            .map(|i| (i, self.cost(&c, i)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .ok_or_else(|| EvalError::InvalidArgument("empty cue table".into()))?;
        Ok(Localisation {
            index,
            direction: self.directions[index],
            cost,
        })
    }
}
