//! Training the CVAE and the ITD regressor, and the trained-model bundle.

use std::path::Path;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{N_DIRS, N_FEATURES, Standardizer, Subject, cipic_directions, mirror_index};
use crate::dsp::N_BINS;
use crate::error::{PersonalizeError, Result, io_err};
use crate::itd::{ItdRegressor, fit_subject, model_itd_s};
use crate::model::{Cvae, CvaeConfig, DIR_FEATURES, LATENT, cvae_loss, direction_features};

/// Scale of the network's targets: residual dB / `TARGET_SCALE_DB`.
pub const TARGET_SCALE_DB: f32 = 10.0;

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainSettings {
    /// Architecture.
    pub model: CvaeConfig,
    /// Optimiser steps.
    pub steps: usize,
    /// Batch size.
    pub batch: usize,
    /// Peak learning rate (Adam), cosine-decayed to 10 % of it.
    pub lr: f64,
    /// Final β of the KL term.
    pub beta_max: f32,
    /// Fraction of the steps over which β rises linearly from 0 to `beta_max`.
    pub beta_warmup: f64,
    /// Seed of initialisation, batches and noise.
    pub seed: u64,
    /// Standard deviation of Gaussian noise added to the standardised anthropometry of every
    /// training example (regularises the conditioning: 28–30 heads are easily memorised).
    /// Models saved before this setting existed read it as 0.
    #[serde(default)]
    pub anthro_noise: f32,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            model: CvaeConfig::default(),
            steps: 1500,
            batch: 32,
            lr: 1e-3,
            beta_max: 1.0,
            beta_warmup: 0.5,
            seed: 7,
            anthro_noise: 0.5,
        }
    }
}

/// Everything besides the network weights that a trained model needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ModelMeta {
    /// Settings it was trained with.
    pub settings: TrainSettings,
    /// Feature standardisation (training subjects, both ears).
    pub standardizer: Standardizer,
    /// ITD regression.
    pub itd: ItdRegressor,
    /// Mean onset ITD of the training subjects per CIPIC direction, seconds (empty in models
    /// saved before the shrinkage existed).
    #[serde(default)]
    pub itd_mean_s: Vec<f64>,
    /// Weight `λ` of the regression in `ITD = λ·regression + (1 − λ)·mean curve`, chosen by
    /// leave-one-subject-out within the training subjects ([`fit_itd_shrinkage`]); 1 in models
    /// saved before the shrinkage existed.
    #[serde(default = "one")]
    pub itd_shrink: f64,
    /// CIPIC ids it was trained on.
    pub train_subjects: Vec<u32>,
    /// Final training loss (last 100 steps' mean reconstruction MSE, (10 dB)² units).
    pub final_recon: f64,
    /// Training wall time, seconds.
    pub wall_time_s: f64,
}

fn one() -> f64 {
    1.0
}

/// Grid of `λ` values tried by [`fit_itd_shrinkage`] (0, 0.05, …, 1).
pub const ITD_SHRINK_GRID: usize = 21;

/// Weight `λ` of the regression curve against the training-mean ITD curve, chosen by
/// leave-one-subject-out over the training subjects: for each subject the regression and the
/// mean curve are fitted on the others, and `λ` minimises the mean absolute ITD error over all
/// left-out subjects and directions. Only training subjects are used.
///
/// # Errors
/// Fewer than 3 subjects or a failing regression fit.
pub fn fit_itd_shrinkage(
    head_std: &[Vec<f64>],
    coefs: &[[f64; 2]],
    itds_s: &[&[f64]],
) -> Result<f64> {
    let n = head_std.len();
    if n < 3 || coefs.len() != n || itds_s.len() != n {
        return Err(PersonalizeError::InvalidArgument(
            "ITD shrinkage needs at least 3 subjects".into(),
        ));
    }
    let dirs = cipic_directions();
    let mut err = [0.0f64; ITD_SHRINK_GRID];
    for i in 0..n {
        let keep: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        let x: Vec<Vec<f64>> = keep.iter().map(|&j| head_std[j].clone()).collect();
        let c: Vec<[f64; 2]> = keep.iter().map(|&j| coefs[j]).collect();
        let reg = ItdRegressor::fit(&x, &c)?;
        let mut xi = [0.0f64; N_FEATURES];
        xi.copy_from_slice(&head_std[i][..N_FEATURES]);
        let ci = reg.predict(&xi);
        for (m, d) in dirs.iter().enumerate() {
            let mean = keep.iter().map(|&j| itds_s[j][m]).sum::<f64>() / keep.len() as f64;
            let r = model_itd_s(ci, d.lateral_rad, d.polar_rad);
            for (g, e) in err.iter_mut().enumerate() {
                let lam = g as f64 / (ITD_SHRINK_GRID - 1) as f64;
                *e += (lam * r + (1.0 - lam) * mean - itds_s[i][m]).abs();
            }
        }
    }
    let best = (0..ITD_SHRINK_GRID)
        .min_by(|&a, &b| err[a].total_cmp(&err[b]))
        .unwrap_or(ITD_SHRINK_GRID - 1);
    Ok(best as f64 / (ITD_SHRINK_GRID - 1) as f64)
}

/// A trained model: network (inference device), metadata and the mean spectrum.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// The network.
    pub cvae: Cvae,
    /// Metadata.
    pub meta: ModelMeta,
    /// Training-set mean dB spectrum per left-ear-frame direction (`N_DIRS × N_BINS`).
    pub mean_db: Vec<f32>,
}

/// A personalised HRTF on the CIPIC grid.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// `spectra_db[ear][m·N_BINS + k]` at **actual** direction `m` (not mirrored).
    pub spectra_db: [Vec<f32>; 2],
    /// ITD `t_right − t_left` per direction, seconds.
    pub itd_s: Vec<f64>,
}

/// Direction features of every left-ear-frame direction (`N_DIRS × DIR_FEATURES`).
pub fn all_direction_features() -> Vec<f32> {
    cipic_directions()
        .iter()
        .flat_map(|d| direction_features(-d.lateral_rad, d.polar_rad))
        .collect()
}

fn tensor2(data: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn to_vec(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| PersonalizeError::Model(format!("{e:?}")))
}

/// One standard normal draw (Box–Muller).
fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// Cosine learning-rate schedule from `lr` to `0.1·lr`.
pub fn lr_at(s: &TrainSettings, step: usize) -> f64 {
    let t = step as f64 / s.steps.max(1) as f64;
    s.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

/// β at `step`: linear from 0 to `beta_max` over the first `beta_warmup` of the steps.
pub fn beta_at(s: &TrainSettings, step: usize) -> f32 {
    let warm = (s.beta_warmup * s.steps as f64).max(1.0);
    (s.beta_max as f64 * (step as f64 / warm).min(1.0)) as f32
}

/// Trains on `subjects`. `progress(step, steps, recon)` is called after each step.
///
/// # Errors
/// No subjects, or a failure of the ITD fit.
pub fn train(
    subjects: &[&Subject],
    settings: &TrainSettings,
    progress: &mut dyn FnMut(usize, usize, f64),
) -> Result<TrainedModel> {
    let t0 = std::time::Instant::now();
    if subjects.is_empty() {
        return Err(PersonalizeError::InvalidArgument(
            "no training subjects".into(),
        ));
    }
    let dirs = cipic_directions();
    // 1. standardisation over (subject, ear)
    let rows: Vec<Vec<f64>> = subjects
        .iter()
        .flat_map(|s| s.features.iter().map(|f| f.to_vec()))
        .collect();
    let standardizer = Standardizer::fit(&rows)?;
    // 2. mean spectrum (left-ear frame)
    let n_se = subjects.len() * 2;
    let mut mean_db = vec![0.0f32; N_DIRS * N_BINS];
    for s in subjects {
        for e in 0..2 {
            for (a, v) in mean_db.iter_mut().zip(&s.spectra_db[e]) {
                *a += v / n_se as f32;
            }
        }
    }
    // 3. ITD
    let std_feats: Vec<[Vec<f64>; 2]> = subjects
        .iter()
        .map(|s| {
            [
                standardizer.apply(&s.features[0]),
                standardizer.apply(&s.features[1]),
            ]
        })
        .collect();
    let head_avg: Vec<Vec<f64>> = std_feats
        .iter()
        .map(|f| f[0].iter().zip(&f[1]).map(|(a, b)| 0.5 * (a + b)).collect())
        .collect();
    let coefs = subjects
        .iter()
        .map(|s| fit_subject(&dirs, &s.itd_s))
        .collect::<Result<Vec<_>>>()?;
    let itd = ItdRegressor::fit(&head_avg, &coefs)?;
    let itd_refs: Vec<&[f64]> = subjects.iter().map(|s| s.itd_s.as_slice()).collect();
    let itd_shrink = fit_itd_shrinkage(&head_avg, &coefs, &itd_refs)?;
    let itd_mean_s: Vec<f64> = (0..N_DIRS)
        .map(|m| subjects.iter().map(|s| s.itd_s[m]).sum::<f64>() / subjects.len() as f64)
        .collect();
    // 4. network
    let device = Device::flex().autodiff();
    device.seed(settings.seed);
    let mut model = Cvae::new(settings.model, &device);
    let mut optim = AdamConfig::new().init();
    let dir_feats = all_direction_features();
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let b = settings.batch.max(1);
    let mut recent = std::collections::VecDeque::new();
    for step in 0..settings.steps {
        let mut x = Vec::with_capacity(b * N_BINS);
        let mut a = Vec::with_capacity(b * N_FEATURES);
        let mut d = Vec::with_capacity(b * DIR_FEATURES);
        for _ in 0..b {
            let si = rng.random_range(0..subjects.len());
            let e = rng.random_range(0..2usize);
            let m = rng.random_range(0..N_DIRS);
            let spec = subjects[si].spectrum(e, m);
            let mu = &mean_db[m * N_BINS..(m + 1) * N_BINS];
            x.extend(spec.iter().zip(mu).map(|(v, u)| (v - u) / TARGET_SCALE_DB));
            a.extend(std_feats[si][e].iter().map(|&v| v as f32));
            d.extend_from_slice(&dir_feats[m * DIR_FEATURES..(m + 1) * DIR_FEATURES]);
        }
        if settings.anthro_noise > 0.0 {
            for v in &mut a {
                *v += settings.anthro_noise * gaussian(&mut rng);
            }
        }
        let eps: Vec<f32> = (0..b * LATENT).map(|_| gaussian(&mut rng)).collect();
        let xt = tensor2(x, [b, N_BINS], &device);
        let (recon, mu, logvar) = model.forward(
            xt.clone(),
            tensor2(a, [b, N_FEATURES], &device),
            tensor2(d, [b, DIR_FEATURES], &device),
            tensor2(eps, [b, LATENT], &device),
        );
        let (loss, rec, _kl) = cvae_loss(recon, xt, mu, logvar, beta_at(settings, step));
        let rec_v = rec.into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr_at(settings, step), model, grads);
        recent.push_back(rec_v);
        if recent.len() > 100 {
            recent.pop_front();
        }
        progress(step + 1, settings.steps, rec_v);
    }
    let final_recon = recent.iter().sum::<f64>() / recent.len().max(1) as f64;
    let meta = ModelMeta {
        settings: *settings,
        standardizer,
        itd,
        itd_mean_s,
        itd_shrink,
        train_subjects: subjects.iter().map(|s| s.id).collect(),
        final_recon,
        wall_time_s: t0.elapsed().as_secs_f64(),
    };
    Ok(TrainedModel {
        cvae: model.valid(),
        meta,
        mean_db,
    })
}

/// Files of a saved model directory.
pub const WEIGHTS_FILE: &str = "cvae.bpk";
/// Metadata file.
pub const META_FILE: &str = "meta.json";
/// Mean spectrum file: `N_DIRS × N_BINS` little-endian `i16`, units of 0.01 dB.
pub const MEAN_FILE: &str = "mean_db.i16";

impl TrainedModel {
    /// Writes `dir/{cvae.bpk, meta.json, mean_db.i16}`.
    ///
    /// # Errors
    /// I/O or serialisation errors.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        self.cvae
            .clone()
            .into_record()
            .save(dir.join(WEIGHTS_FILE))
            .map_err(|e| PersonalizeError::Model(e.to_string()))?;
        let meta = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| PersonalizeError::Model(e.to_string()))?;
        let p = dir.join(META_FILE);
        std::fs::write(&p, meta).map_err(io_err(&p))?;
        let bytes: Vec<u8> = self
            .mean_db
            .iter()
            .flat_map(|v| ((v * 100.0).round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
            .collect();
        let p = dir.join(MEAN_FILE);
        std::fs::write(&p, bytes).map_err(io_err(&p))
    }

    /// Loads from the three files' bytes.
    ///
    /// # Errors
    /// Malformed metadata, weights or mean spectrum.
    pub fn from_bytes(weights: &[u8], meta: &[u8], mean: &[u8]) -> Result<Self> {
        let meta: ModelMeta =
            serde_json::from_slice(meta).map_err(|e| PersonalizeError::Model(e.to_string()))?;
        if mean.len() != N_DIRS * N_BINS * 2 {
            return Err(PersonalizeError::Model(format!(
                "mean spectrum has {} bytes, expected {}",
                mean.len(),
                N_DIRS * N_BINS * 2
            )));
        }
        let mean_db = mean
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 100.0)
            .collect();
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
            .map_err(|e| PersonalizeError::Model(e.to_string()))?;
        let cvae = Cvae::new(meta.settings.model, &Device::flex())
            .try_load_record(record)
            .map_err(|e| PersonalizeError::Model(e.to_string()))?
            .valid();
        Ok(Self {
            cvae,
            meta,
            mean_db,
        })
    }

    /// Loads a saved model directory.
    ///
    /// # Errors
    /// As [`TrainedModel::from_bytes`] and I/O errors.
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |f: &str| {
            let p = dir.join(f);
            std::fs::read(&p).map_err(io_err(&p))
        };
        Self::from_bytes(&read(WEIGHTS_FILE)?, &read(META_FILE)?, &read(MEAN_FILE)?)
    }

    /// Predicts the HRTF spectra (z = 0) and ITDs of a listener with raw features
    /// `[left, right]` (TOML units).
    ///
    /// # Errors
    /// A tensor read-back failure.
    pub fn predict(&self, features: &[[f64; N_FEATURES]; 2]) -> Result<Prediction> {
        self.predict_with(features, 0)
    }

    /// As [`TrainedModel::predict`], with the spectra averaged over the decoder outputs of
    /// `z_samples` latent draws `z ~ N(0, I)` (seeded, the same draws for every direction)
    /// instead of `z = 0` when `z_samples > 0`. Costs `z_samples` decoder passes.
    ///
    /// # Errors
    /// A tensor read-back failure.
    pub fn predict_with(
        &self,
        features: &[[f64; N_FEATURES]; 2],
        z_samples: usize,
    ) -> Result<Prediction> {
        let device = Device::flex();
        let std_f = [
            self.meta.standardizer.apply(&features[0]),
            self.meta.standardizer.apply(&features[1]),
        ];
        let dir_feats = all_direction_features();
        let mut rng = ChaCha8Rng::seed_from_u64(self.meta.settings.seed);
        let draws: Vec<Vec<f32>> = (0..z_samples)
            .map(|_| (0..LATENT).map(|_| gaussian(&mut rng)).collect())
            .collect();
        let mut rel = [Vec::new(), Vec::new()];
        for e in 0..2 {
            let a: Vec<f32> = (0..N_DIRS)
                .flat_map(|_| std_f[e].iter().map(|&v| v as f32))
                .collect();
            let a = tensor2(a, [N_DIRS, N_FEATURES], &device);
            let d = tensor2(dir_feats.clone(), [N_DIRS, DIR_FEATURES], &device);
            let out = if draws.is_empty() {
                to_vec(self.cvae.predict(a, d))?
            } else {
                let cond = self.cvae.condition(a, d);
                let mut acc = vec![0.0f32; N_DIRS * N_BINS];
                for z in &draws {
                    let zt = tensor2(
                        (0..N_DIRS).flat_map(|_| z.iter().copied()).collect(),
                        [N_DIRS, LATENT],
                        &device,
                    );
                    let o = to_vec(self.cvae.decode(zt, cond.clone()))?;
                    for (s, v) in acc.iter_mut().zip(o) {
                        *s += v / draws.len() as f32;
                    }
                }
                acc
            };
            rel[e] = out
                .iter()
                .zip(&self.mean_db)
                .map(|(r, m)| m + TARGET_SCALE_DB * r)
                .collect::<Vec<f32>>();
        }
        let mut right = vec![0.0f32; N_DIRS * N_BINS];
        for m in 0..N_DIRS {
            let r = mirror_index(m);
            right[m * N_BINS..(m + 1) * N_BINS]
                .copy_from_slice(&rel[1][r * N_BINS..(r + 1) * N_BINS]);
        }
        let mut head = [0.0f64; N_FEATURES];
        for (j, h) in head.iter_mut().enumerate() {
            *h = 0.5 * (std_f[0][j] + std_f[1][j]);
        }
        let itd_s = self.itd_curve(&head, self.meta.itd_shrink);
        let [left, _] = rel;
        Ok(Prediction {
            spectra_db: [left, right],
            itd_s,
        })
    }

    /// ITD per CIPIC direction (seconds) for standardised head features `head`:
    /// `λ·regression + (1 − λ)·training-mean curve` (the regression alone when the model has no
    /// mean curve).
    pub fn itd_curve(&self, head: &[f64; N_FEATURES], lambda: f64) -> Vec<f64> {
        let c = self.meta.itd.predict(head);
        let has_mean = self.meta.itd_mean_s.len() == N_DIRS;
        let lam = if has_mean { lambda } else { 1.0 };
        cipic_directions()
            .iter()
            .enumerate()
            .map(|(m, d)| {
                let r = model_itd_s(c, d.lateral_rad, d.polar_rad);
                if has_mean {
                    lam * r + (1.0 - lam) * self.meta.itd_mean_s[m]
                } else {
                    r
                }
            })
            .collect()
    }
}
