//! Leave-subjects-out cross-validation of the CVAE against three baselines.
//!
//! Folds: the non-KEMAR subjects are shuffled (seeded) and dealt round-robin into `k` folds; the
//! two KEMAR subjects (21, 165) are never scored and are always in the training set, so the
//! generic-head baseline is never scored against itself. For every test subject:
//!
//! * **cvae**: the model trained on the other folds, from the subject's 12 features (z = 0; ITD
//!   = the regression shrunk toward the training-mean curve, as `sphear personalize` does);
//! * **generic**: KEMAR (CIPIC 165, small pinna) spectra and ITDs as measured;
//! * **mean**: the mean dB spectrum and mean ITD of the training subjects;
//! * **nn**: the training subject nearest in standardised feature space (sum of squared
//!   distances over both ears' 12 features), spectra and ITDs as measured;
//! * ablations of the same fold model: **cvae_k8** (spectra averaged over the decoder outputs of
//!   8 prior draws z ~ N(0, I) instead of z = 0) and **cvae_reg_itd** (z = 0 spectra, ITD from
//!   the anthropometric regression alone, λ = 1).
//!
//! Metrics: LSD (dB, 200 Hz–16 kHz grid bins) per direction and ear, averaged over the 1250
//! directions and both ears; ITD error `|ITD_pred − ITD_meas|` (µs, onset ITDs), averaged over
//! directions.

use crate::data::{KEMAR_IDS, N_DIRS, Standardizer, Subject, mirror_index};
use crate::dsp::{N_BINS, SpectralGrid, lsd_db};
use crate::error::{PersonalizeError, Result};
use crate::train::{Prediction, TrainSettings, TrainedModel, train};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Methods compared, in report order.
pub const METHODS: [&str; 6] = ["cvae", "nn", "mean", "generic", "cvae_k8", "cvae_reg_itd"];
/// Number of the main methods (the first entries of [`METHODS`]); the rest are ablations.
pub const MAIN_METHODS: usize = 4;
/// Prior draws of the `cvae_k8` ablation.
pub const ABLATION_Z_SAMPLES: usize = 8;
/// Id of the generic head.
pub const GENERIC_ID: u32 = 165;
/// LSD band, Hz.
pub const LSD_BAND_HZ: (f64, f64) = (200.0, 16_000.0);

/// Scores of one method on one subject.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Score {
    /// Mean LSD, dB.
    pub lsd_db: f64,
    /// Mean absolute ITD error, µs.
    pub itd_err_us: f64,
}

/// One fold's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FoldResult {
    /// Fold index.
    pub fold: usize,
    /// Test subject ids.
    pub test_ids: Vec<u32>,
    /// Per method (order of [`METHODS`]): mean over the fold's test subjects.
    pub scores: Vec<Score>,
    /// Training wall time, s.
    pub train_s: f64,
    /// Final training reconstruction MSE ((10 dB)² units).
    pub final_recon: f64,
    /// ITD shrinkage weight λ chosen within the fold's training subjects.
    pub itd_shrink: f64,
}

/// Full cross-validation result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CvResult {
    /// Per fold.
    pub folds: Vec<FoldResult>,
    /// Per method: mean over all test subjects.
    pub overall: Vec<Score>,
    /// Per method, per (actual) direction: LSD averaged over test subjects and both ears.
    pub lsd_per_direction: Vec<Vec<f64>>,
    /// Per method, per test subject: (id, score).
    pub per_subject: Vec<Vec<(u32, Score)>>,
}

/// Splits subject indices into `k` folds (KEMARs excluded), seeded.
pub fn make_folds(subjects: &[Subject], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..subjects.len())
        .filter(|&i| !KEMAR_IDS.contains(&subjects[i].id))
        .collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut folds = vec![Vec::new(); k.max(1)];
    for (j, i) in idx.into_iter().enumerate() {
        folds[j % k.max(1)].push(i);
    }
    folds
}

/// Per-(direction, ear) LSD of a prediction against a subject: `[ear][actual m]`.
#[allow(clippy::needless_range_loop)] // the same index selects an ear in several arrays
pub fn lsd_map(pred: &Prediction, truth: &Subject, band: &[usize]) -> [Vec<f64>; 2] {
    let mut out = [vec![0.0; N_DIRS], vec![0.0; N_DIRS]];
    for m in 0..N_DIRS {
        let p = &pred.spectra_db[0][m * N_BINS..(m + 1) * N_BINS];
        out[0][m] = lsd_db(p, truth.spectrum(0, m), band);
        let p = &pred.spectra_db[1][m * N_BINS..(m + 1) * N_BINS];
        out[1][m] = lsd_db(p, truth.spectrum(1, mirror_index(m)), band);
    }
    out
}

/// A measured subject as a [`Prediction`] (actual-direction frame).
pub fn as_prediction(s: &Subject) -> Prediction {
    let mut right = vec![0.0f32; N_DIRS * N_BINS];
    for m in 0..N_DIRS {
        let r = mirror_index(m);
        right[m * N_BINS..(m + 1) * N_BINS].copy_from_slice(s.spectrum(1, r));
    }
    Prediction {
        spectra_db: [s.spectra_db[0].clone(), right],
        itd_s: s.itd_s.clone(),
    }
}

/// The mean of the training subjects (spectra in dB, ITDs), as a [`Prediction`].
pub fn mean_prediction(model: &TrainedModel, train: &[&Subject]) -> Prediction {
    let mut right = vec![0.0f32; N_DIRS * N_BINS];
    for m in 0..N_DIRS {
        let r = mirror_index(m);
        right[m * N_BINS..(m + 1) * N_BINS]
            .copy_from_slice(&model.mean_db[r * N_BINS..(r + 1) * N_BINS]);
    }
    let itd_s = (0..N_DIRS)
        .map(|m| train.iter().map(|s| s.itd_s[m]).sum::<f64>() / train.len() as f64)
        .collect();
    Prediction {
        spectra_db: [model.mean_db.clone(), right],
        itd_s,
    }
}

/// Index (into `train`) of the nearest neighbour of `s` by standardised features.
pub fn nearest_neighbour(s: &Subject, train: &[&Subject], st: &Standardizer) -> usize {
    let f = [st.apply(&s.features[0]), st.apply(&s.features[1])];
    let dist = |t: &Subject| -> f64 {
        (0..2)
            .map(|e| {
                st.apply(&t.features[e])
                    .iter()
                    .zip(&f[e])
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
            })
            .sum()
    };
    let mut best = (f64::INFINITY, 0);
    for (i, t) in train.iter().enumerate() {
        let d = dist(t);
        if d < best.0 {
            best = (d, i);
        }
    }
    best.1
}

fn score(pred: &Prediction, truth: &Subject, band: &[usize], per_dir: &mut [f64]) -> Score {
    let map = lsd_map(pred, truth, band);
    let mut tot = 0.0;
    for m in 0..N_DIRS {
        let v = 0.5 * (map[0][m] + map[1][m]);
        per_dir[m] += v;
        tot += v;
    }
    let itd = pred
        .itd_s
        .iter()
        .zip(&truth.itd_s)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / N_DIRS as f64;
    Score {
        lsd_db: tot / N_DIRS as f64,
        itd_err_us: itd * 1e6,
    }
}

/// Runs `k`-fold cross-validation. `progress(fold, step, steps, recon)` reports training.
///
/// # Errors
/// Missing KEMAR 165 (the generic head) or a training failure.
pub fn cross_validate(
    subjects: &[Subject],
    k: usize,
    settings: &TrainSettings,
    progress: &mut dyn FnMut(usize, usize, usize, f64),
) -> Result<CvResult> {
    let generic = subjects
        .iter()
        .find(|s| s.id == GENERIC_ID)
        .ok_or_else(|| PersonalizeError::Data("KEMAR (subject 165) is missing".into()))?;
    let generic_pred = as_prediction(generic);
    let band = SpectralGrid::new().band(LSD_BAND_HZ.0, LSD_BAND_HZ.1);
    let folds = make_folds(subjects, k, settings.seed);
    let mut per_dir = vec![vec![0.0; N_DIRS]; METHODS.len()];
    let mut per_subject = vec![Vec::new(); METHODS.len()];
    let mut results = Vec::new();
    let mut n_test = 0usize;
    for (fi, test) in folds.iter().enumerate() {
        let train_set: Vec<&Subject> = (0..subjects.len())
            .filter(|i| !test.contains(i))
            .map(|i| &subjects[i])
            .collect();
        let model = train(&train_set, settings, &mut |s, n, r| progress(fi, s, n, r))?;
        let mean_pred = mean_prediction(&model, &train_set);
        let mut sums = vec![(0.0, 0.0); METHODS.len()];
        for &ti in test {
            let s = &subjects[ti];
            let nn = train_set[nearest_neighbour(s, &train_set, &model.meta.standardizer)];
            let cvae = model.predict(&s.features)?;
            let st = &model.meta.standardizer;
            let (fl, fr) = (st.apply(&s.features[0]), st.apply(&s.features[1]));
            let mut head = [0.0f64; crate::data::N_FEATURES];
            for (j, h) in head.iter_mut().enumerate() {
                *h = 0.5 * (fl[j] + fr[j]);
            }
            let reg_itd = Prediction {
                spectra_db: cvae.spectra_db.clone(),
                itd_s: model.itd_curve(&head, 1.0),
            };
            let preds = [
                cvae,
                as_prediction(nn),
                mean_pred.clone(),
                generic_pred.clone(),
                model.predict_with(&s.features, ABLATION_Z_SAMPLES)?,
                reg_itd,
            ];
            for (mi, p) in preds.iter().enumerate() {
                let sc = score(p, s, &band, &mut per_dir[mi]);
                sums[mi].0 += sc.lsd_db;
                sums[mi].1 += sc.itd_err_us;
                per_subject[mi].push((s.id, sc));
            }
            n_test += 1;
        }
        let nt = test.len().max(1) as f64;
        results.push(FoldResult {
            fold: fi,
            test_ids: test.iter().map(|&i| subjects[i].id).collect(),
            scores: sums
                .iter()
                .map(|&(l, t)| Score {
                    lsd_db: l / nt,
                    itd_err_us: t / nt,
                })
                .collect(),
            train_s: model.meta.wall_time_s,
            final_recon: model.meta.final_recon,
            itd_shrink: model.meta.itd_shrink,
        });
    }
    let n = n_test.max(1) as f64;
    let overall = per_subject
        .iter()
        .map(|v| Score {
            lsd_db: v.iter().map(|(_, s)| s.lsd_db).sum::<f64>() / n,
            itd_err_us: v.iter().map(|(_, s)| s.itd_err_us).sum::<f64>() / n,
        })
        .collect();
    for d in &mut per_dir {
        for v in d.iter_mut() {
            *v /= n;
        }
    }
    Ok(CvResult {
        folds: results,
        overall,
        lsd_per_direction: per_dir,
        per_subject,
    })
}
