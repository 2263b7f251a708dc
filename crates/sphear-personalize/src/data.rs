//! CIPIC HRTF database: loading, anthropometric feature selection and spectral preprocessing.
//!
//! Layout read (see the data folder's `SOURCE.txt`): `hrir_f32/subject_XXX.npy` (1250 directions ×
//! 2 ears × 200 taps, 44.1 kHz), `anthro.csv` (one row per subject, cm / radians),
//! `directions.csv` (interaural-polar and SOFA coordinates).
//!
//! # Features (12, per ear)
//! Head and torso: x1 head width, x2 head height, x3 head depth, x5 pinna offset back, x12
//! shoulder width; pinna (of the ear being modelled): d1 cavum concha height, d3 cavum concha
//! width, d4 fossa height, d5 pinna height, d6 pinna width, θ1 pinna rotation, θ2 pinna flare.
//! Rationale: head width/depth set the ITD and the head shadow (Algazi et al. 2001, spherical-head
//! fit a = 0.51·x1/2 + 0.18·x3/2 + 3.2 cm), head height and the pinna's offset behind the ear axis
//! move the head-diffraction pattern, shoulder width sets the torso reflection (0.7–3 kHz comb);
//! the concha (d1, d3), fossa (d4) and overall pinna size (d5, d6) set the pinna resonances and
//! the first notch (Shaw; Hu et al. 2008; Zotkin et al. 2003 use the same d1…d8 set), the two
//! angles move the notches with elevation. d2, d7, d8 were left out: d7/d8 are the least
//! reliable measurements in CIPIC's documentation and d2 is nearly collinear with d4. The
//! per-bin correlation of every candidate with the direction-averaged spectra is computed by
//! [`feature_correlations`] (reported by `sphear train-hrtf --cv`).
//!
//! # Missing values
//! A (subject, ear) with any of the 12 features missing (NaN) is dropped; there is no imputation.
//! On CIPIC this keeps the 35 complete subjects plus the two KEMARs (21, 165), which lack only
//! x14/x15 (not used): 37 subjects. Subjects 8, 9, 11, 12, 15, 17, 19 (no anthropometry) and 158
//! (only x16/x17) are dropped.
//!
//! # Mirroring
//! The model is a *left-ear* model: the right ear of a head is treated as the left ear of the
//! mirror-image head (CIPIC's lateral grid is symmetric, so direction `(az_index, el_index)`
//! maps to `(24 − az_index, el_index)`), conditioned on that ear's own pinna features.

use std::path::Path;

use crate::dsp::{GridDft, N_BINS, SpectralGrid};
use crate::error::{PersonalizeError, Result, io_err};
use crate::npy::read_npy_f32;

/// CIPIC sampling rate, Hz.
pub const CIPIC_RATE_HZ: f64 = 44_100.0;
/// Directions in the CIPIC grid.
pub const N_DIRS: usize = 1250;
/// Taps per CIPIC HRIR.
pub const CIPIC_TAPS: usize = 200;
/// Number of anthropometric features.
pub const N_FEATURES: usize = 12;
/// Lateral angles of the CIPIC grid, degrees (negative = left).
pub const CIPIC_LATERAL_DEG: [f64; 25] = [
    -80., -65., -55., -45., -40., -35., -30., -25., -20., -15., -10., -5., 0., 5., 10., 15., 20.,
    25., 30., 35., 40., 45., 55., 65., 80.,
];
/// Subject ids of the KEMAR mannequin (large and small pinna).
pub const KEMAR_IDS: [u32; 2] = [21, 165];

/// Where a feature comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// One `anthro.csv` column for the whole head.
    Head(&'static str),
    /// A pinna column: `L_` / `R_` + this suffix.
    Pinna(&'static str),
}

/// One anthropometric feature.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// Key in the listener's TOML file (units in the name).
    pub key: &'static str,
    /// Where it is read in CIPIC.
    pub source: Source,
    /// Plausible human range (a value outside is warned about), in the key's unit.
    pub range: (f64, f64),
    /// True for angles: CIPIC stores radians, the TOML file degrees.
    pub angle: bool,
}

/// The 12 features, in model order.
pub const FEATURES: [Feature; N_FEATURES] = [
    Feature {
        key: "head_width_cm",
        source: Source::Head("x1_head_width_cm"),
        range: (11.0, 19.0),
        angle: false,
    },
    Feature {
        key: "head_height_cm",
        source: Source::Head("x2_head_height_cm"),
        range: (15.0, 28.0),
        angle: false,
    },
    Feature {
        key: "head_depth_cm",
        source: Source::Head("x3_head_depth_cm"),
        range: (15.0, 25.0),
        angle: false,
    },
    Feature {
        key: "pinna_offset_back_cm",
        source: Source::Head("x5_pinna_offset_back_cm"),
        range: (-3.0, 4.0),
        angle: false,
    },
    Feature {
        key: "shoulder_width_cm",
        source: Source::Head("x12_shoulder_width_cm"),
        range: (30.0, 60.0),
        angle: false,
    },
    Feature {
        key: "cavum_concha_height_cm",
        source: Source::Pinna("d1_cavum_concha_height_cm"),
        range: (1.0, 3.0),
        angle: false,
    },
    Feature {
        key: "cavum_concha_width_cm",
        source: Source::Pinna("d3_cavum_concha_width_cm"),
        range: (1.0, 3.0),
        angle: false,
    },
    Feature {
        key: "fossa_height_cm",
        source: Source::Pinna("d4_fossa_height_cm"),
        range: (0.5, 3.0),
        angle: false,
    },
    Feature {
        key: "pinna_height_cm",
        source: Source::Pinna("d5_pinna_height_cm"),
        range: (4.5, 8.0),
        angle: false,
    },
    Feature {
        key: "pinna_width_cm",
        source: Source::Pinna("d6_pinna_width_cm"),
        range: (2.3, 4.5),
        angle: false,
    },
    Feature {
        key: "pinna_rotation_deg",
        source: Source::Pinna("theta1_pinna_rotation_rad"),
        range: (-10.0, 45.0),
        angle: true,
    },
    Feature {
        key: "pinna_flare_deg",
        source: Source::Pinna("theta2_pinna_flare_rad"),
        range: (5.0, 60.0),
        angle: true,
    },
];

/// One CIPIC direction.
#[derive(Debug, Clone, Copy)]
pub struct CipicDirection {
    /// Lateral angle index 0..25 (0 = −80°, far left).
    pub az_index: usize,
    /// Polar angle index 0..50.
    pub el_index: usize,
    /// Lateral angle, radians, interaural-polar, positive = **right** (CIPIC's sign).
    pub lateral_rad: f64,
    /// Polar angle, radians (0 front, π/2 up, π back).
    pub polar_rad: f64,
    /// Same direction in SOFA / project coordinates.
    pub direction: sphear_core::Direction,
}

/// The CIPIC grid: direction `m = az_index·50 + el_index`.
pub fn cipic_directions() -> Vec<CipicDirection> {
    let mut out = Vec::with_capacity(N_DIRS);
    for (a, &lat) in CIPIC_LATERAL_DEG.iter().enumerate() {
        for e in 0..50 {
            let pol = -45.0 + 5.625 * e as f64;
            let (lr, pr) = (lat.to_radians(), pol.to_radians());
            // interaural-polar -> cartesian: y = −sin(lat) (positive lateral = right = −y).
            let x = lr.cos() * pr.cos();
            let y = -lr.sin();
            let z = lr.cos() * pr.sin();
            out.push(CipicDirection {
                az_index: a,
                el_index: e,
                lateral_rad: lr,
                polar_rad: pr,
                direction: sphear_core::Direction::from_cartesian([x, y, z]),
            });
        }
    }
    out
}

/// Index of the left/right mirror image of direction `m`.
pub fn mirror_index(m: usize) -> usize {
    let (a, e) = (m / 50, m % 50);
    (24 - a) * 50 + e
}

/// One subject's raw data.
#[derive(Debug, Clone)]
pub struct RawSubject {
    /// CIPIC id.
    pub id: u32,
    /// HRIRs `[m][ear][tap]` flattened (1250 × 2 × 200), ear 0 = left.
    pub hrir: Vec<f32>,
    /// The 12 features for [left, right] ear (CIPIC units converted to the TOML units), `None`
    /// when one is missing.
    pub features: [Option<[f64; N_FEATURES]>; 2],
    /// Every numeric `anthro.csv` column (for the correlation report), NaN when missing.
    pub all_columns: Vec<f64>,
}

impl RawSubject {
    /// The IR of direction `m`, `ear` (0 left, 1 right).
    pub fn ir(&self, m: usize, ear: usize) -> &[f32] {
        let o = (m * 2 + ear) * CIPIC_TAPS;
        &self.hrir[o..o + CIPIC_TAPS]
    }
}

/// The anthropometry table: column names and rows.
#[derive(Debug, Clone)]
pub struct AnthroTable {
    /// Column names (all but `subject_id` and `sex`).
    pub columns: Vec<String>,
    /// (id, values) per subject, NaN = missing.
    pub rows: Vec<(u32, Vec<f64>)>,
}

/// Parses `anthro.csv` text.
///
/// # Errors
/// [`PersonalizeError::Data`] on a missing header column or a non-numeric cell.
pub fn parse_anthro_csv(text: &str) -> Result<AnthroTable> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| PersonalizeError::Data("empty anthro.csv".into()))?
        .split(',')
        .collect();
    if header.first() != Some(&"subject_id") {
        return Err(PersonalizeError::Data(
            "anthro.csv must start with subject_id".into(),
        ));
    }
    let keep: Vec<usize> = (1..header.len()).filter(|&i| header[i] != "sex").collect();
    let columns = keep.iter().map(|&i| header[i].to_string()).collect();
    let mut rows = Vec::new();
    for (ln, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != header.len() {
            return Err(PersonalizeError::Data(format!(
                "anthro.csv row {}: {} cells, header has {}",
                ln + 2,
                cells.len(),
                header.len()
            )));
        }
        let id: u32 = cells[0]
            .trim()
            .parse()
            .map_err(|_| PersonalizeError::Data(format!("bad subject id {:?}", cells[0])))?;
        let vals = keep
            .iter()
            .map(|&i| {
                let c = cells[i].trim();
                if c.is_empty() || c.eq_ignore_ascii_case("nan") {
                    Ok(f64::NAN)
                } else {
                    c.parse::<f64>().map_err(|_| {
                        PersonalizeError::Data(format!(
                            "subject {id}: bad value {c:?} in {}",
                            header[i]
                        ))
                    })
                }
            })
            .collect::<Result<Vec<f64>>>()?;
        rows.push((id, vals));
    }
    Ok(AnthroTable { columns, rows })
}

impl AnthroTable {
    /// Value of `column` for the row `row`, NaN when the column is absent.
    pub fn value(&self, row: usize, column: &str) -> f64 {
        self.columns
            .iter()
            .position(|c| c == column)
            .map_or(f64::NAN, |i| self.rows[row].1[i])
    }

    /// The 12 features of row `row` for `ear` (0 left, 1 right), `None` if any is missing.
    /// Angles are converted from radians to degrees.
    pub fn features(&self, row: usize, ear: usize) -> Option<[f64; N_FEATURES]> {
        let mut out = [0.0; N_FEATURES];
        for (o, f) in out.iter_mut().zip(FEATURES.iter()) {
            let v = match f.source {
                Source::Head(c) => self.value(row, c),
                Source::Pinna(s) => self.value(row, &format!("{}_{s}", ["L", "R"][ear])),
            };
            if !v.is_finite() {
                return None;
            }
            *o = if f.angle { v.to_degrees() } else { v };
        }
        Some(out)
    }
}

/// Loads CIPIC from `dir`: the subjects with all 12 features for both ears (see the module docs).
///
/// # Errors
/// Missing files, malformed npy/csv, unexpected shapes.
pub fn load_cipic(dir: &Path) -> Result<(Vec<RawSubject>, AnthroTable)> {
    let apath = dir.join("anthro.csv");
    let text = std::fs::read_to_string(&apath).map_err(io_err(&apath))?;
    let table = parse_anthro_csv(&text)?;
    let mut out = Vec::new();
    for (row, (id, vals)) in table.rows.iter().enumerate() {
        let features = [table.features(row, 0), table.features(row, 1)];
        if features.iter().any(Option::is_none) {
            continue;
        }
        let p = dir.join("hrir_f32").join(format!("subject_{id:03}.npy"));
        let a = read_npy_f32(&p)?;
        if a.shape != [N_DIRS, 2, CIPIC_TAPS] {
            return Err(PersonalizeError::Data(format!(
                "{}: shape {:?}, expected [1250, 2, 200]",
                p.display(),
                a.shape
            )));
        }
        out.push(RawSubject {
            id: *id,
            hrir: a.data,
            features,
            all_columns: vals.clone(),
        });
    }
    if out.is_empty() {
        return Err(PersonalizeError::Data(format!(
            "no subject with complete anthropometry in {}",
            dir.display()
        )));
    }
    Ok((out, table))
}

/// A preprocessed subject: spectra in the left-ear frame and ITDs.
#[derive(Debug, Clone)]
pub struct Subject {
    /// CIPIC id.
    pub id: u32,
    /// Raw (unstandardised) features per ear.
    pub features: [[f64; N_FEATURES]; 2],
    /// `spectra_db[ear][m·N_BINS + k]`: dB spectrum of `ear` at the *ear-relative* direction
    /// `m` (left ear: direction m; right ear: the mirror image of direction m).
    pub spectra_db: [Vec<f32>; 2],
    /// Onset ITD `t_right − t_left` per (actual) direction, seconds.
    pub itd_s: Vec<f64>,
}

impl Subject {
    /// Ear-relative spectrum of `ear` at relative direction `m`.
    pub fn spectrum(&self, ear: usize, m: usize) -> &[f32] {
        &self.spectra_db[ear][m * N_BINS..(m + 1) * N_BINS]
    }
}

/// Threshold of the onset ITD estimator, dB below the peak.
pub const ONSET_THRESHOLD_DB: f64 = -10.0;
/// Low-pass applied before onset detection, Hz (AMT `itdestimator` threshold mode).
pub const ONSET_LOWPASS_HZ: f64 = 3000.0;
/// Upsampling of the onset detector.
pub const ONSET_UPSAMPLE: usize = 8;

/// Preprocesses one subject: grid dB spectra of both ears (mirrored to the left-ear frame) and
/// onset ITDs (`sphear_eval::onset_itd_s`, −10 dB, 3 kHz low-pass, ×8 upsampling).
///
/// # Errors
/// An all-zero IR (ITD undefined).
pub fn preprocess(raw: &RawSubject, dft: &GridDft) -> Result<Subject> {
    let features = [
        raw.features[0].ok_or_else(|| PersonalizeError::Data("missing features".into()))?,
        raw.features[1].ok_or_else(|| PersonalizeError::Data("missing features".into()))?,
    ];
    let mut spectra_db = [
        Vec::with_capacity(N_DIRS * N_BINS),
        Vec::with_capacity(N_DIRS * N_BINS),
    ];
    for m in 0..N_DIRS {
        spectra_db[0].extend(dft.log_magnitude_db(raw.ir(m, 0)));
        spectra_db[1].extend(dft.log_magnitude_db(raw.ir(mirror_index(m), 1)));
    }
    let itd_s = (0..N_DIRS)
        .map(|m| {
            sphear_eval::itd::onset_itd_s(
                raw.ir(m, 0),
                raw.ir(m, 1),
                CIPIC_RATE_HZ,
                ONSET_THRESHOLD_DB,
                ONSET_LOWPASS_HZ,
                ONSET_UPSAMPLE,
            )
            .map_err(|e| PersonalizeError::Data(format!("subject {}: {e}", raw.id)))
        })
        .collect::<Result<Vec<f64>>>()?;
    Ok(Subject {
        id: raw.id,
        features,
        spectra_db,
        itd_s,
    })
}

/// Loads and preprocesses every usable subject of the CIPIC folder `dir`.
///
/// # Errors
/// As [`load_cipic`] and [`preprocess`].
pub fn load_subjects(dir: &Path) -> Result<Vec<Subject>> {
    let (raw, _) = load_cipic(dir)?;
    let dft = GridDft::new(&SpectralGrid::new(), CIPIC_TAPS, CIPIC_RATE_HZ);
    raw.iter().map(|r| preprocess(r, &dft)).collect()
}

/// Per-feature standardisation `(x − mean)/std` with statistics from training data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations (floored at 1e-9).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Statistics over `rows` (each of equal length; population std).
    ///
    /// # Errors
    /// [`PersonalizeError::InvalidArgument`] for no rows.
    pub fn fit(rows: &[Vec<f64>]) -> Result<Self> {
        let n = rows.len();
        if n == 0 {
            return Err(PersonalizeError::InvalidArgument(
                "no rows to standardise".into(),
            ));
        }
        let d = rows[0].len();
        let mean: Vec<f64> = (0..d)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        let std = (0..d)
            .map(|j| {
                let v = rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
                v.sqrt().max(1e-9)
            })
            .collect();
        Ok(Self { mean, std })
    }

    /// Standardised copy of `x`.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }
}

/// For each numeric `anthro.csv` column: the largest |Pearson r| over grid bins between the
/// column (per subject and ear; pinna columns of that ear) and the direction-averaged dB spectrum
/// of that ear, the frequency of that bin, and the number of (subject, ear) pairs used.
/// Only bins from 1 kHz to 16 kHz are considered. Pairs with a missing value are skipped.
pub fn feature_correlations(
    raw: &[RawSubject],
    table: &AnthroTable,
    subjects: &[Subject],
) -> Vec<(String, f64, f64, usize)> {
    let grid = SpectralGrid::new();
    let band = grid.band(1000.0, 16_000.0);
    // direction-averaged spectra per (subject, ear)
    let avg: Vec<(u32, usize, Vec<f64>)> = subjects
        .iter()
        .flat_map(|s| {
            (0..2).map(move |e| {
                let mut a = vec![0.0; N_BINS];
                for m in 0..N_DIRS {
                    for (k, v) in s.spectrum(e, m).iter().enumerate() {
                        a[k] += *v as f64 / N_DIRS as f64;
                    }
                }
                (s.id, e, a)
            })
        })
        .collect();
    let mut names: Vec<String> = Vec::new();
    for c in &table.columns {
        let n = c
            .strip_prefix("L_")
            .or_else(|| c.strip_prefix("R_"))
            .map_or(c.clone(), |s| format!("d_{s}"));
        if !names.contains(&n) && !["age", "weight_kg"].contains(&c.as_str()) {
            names.push(n);
        }
    }
    let row_of = |id: u32| raw.iter().position(|r| r.id == id);
    let _ = row_of;
    names
        .into_iter()
        .map(|name| {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for (id, e, a) in &avg {
                let Some(row) = table.rows.iter().position(|(i, _)| i == id) else {
                    continue;
                };
                let col = match name.strip_prefix("d_") {
                    Some(s) => format!("{}_{s}", ["L", "R"][*e]),
                    None => name.clone(),
                };
                let v = table.value(row, &col);
                if v.is_finite() {
                    xs.push(v);
                    ys.push(a.clone());
                }
            }
            let mut best = (0.0f64, f64::NAN);
            for &k in &band {
                let y: Vec<f64> = ys.iter().map(|a| a[k]).collect();
                let r = pearson(&xs, &y).abs();
                if r > best.0 {
                    best = (r, grid.freqs_hz[k]);
                }
            }
            let shown = name
                .strip_prefix("d_")
                .map_or(name.clone(), |s| format!("pinna {s}"));
            (shown, best.0, best.1, xs.len())
        })
        .collect()
}

/// Pearson correlation coefficient (NaN for fewer than 3 points or zero variance).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 3 {
        return f64::NAN;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (a, b) = (x[i] - mx, y[i] - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}
