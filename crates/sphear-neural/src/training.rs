//! Training on a directory written by `sphear dataset` (streamed from disk, shuffled per epoch),
//! Adam, the weighted loss, checkpoints with their config and the dataset hash, resumable.
//!
//! Layout of a run directory:
//! ```text
//! OUT/config.json                the TrainConfig + `model_config` (the resolved ModelConfig)
//! OUT/checkpoint-NNNNNNNN/       config.json (as above), model.bpk (burnpack), optim.bpk, state.json
//! OUT/loss.csv                   step, total, recon, doa, cues, mrstft, scenes/s
//! OUT/val.csv                    step, total, recon, doa, cues, mrstft (held-out scenes)
//! ```
//! `state.json` holds the step, the dataset hash and the config; a resumed run refuses a checkpoint
//! whose dataset hash or model config differ.
//!
//! **Model directory contract**: a checkpoint directory *is* a model directory — `config.json`
//! (the [`TrainConfig`] JSON with an extra `model_config` object, the resolved [`ModelConfig`],
//! and, when the config has one, the `anthropometry_standardizer`) and `model.bpk`. The shipped
//! model (`crates/sphear-neural/model/`) is those two files of a checkpoint.
//!
//! **HRTF**: the residual head's eMagLS weights are designed for `hrtf_sofa` (it must be the HRTF
//! the dataset's binaural targets were rendered with; `train` checks the `hrtf` origin recorded in
//! every item's `meta.json`), or for the embedded spherical head when absent. `anthropometry` is
//! the listener's standardised 12-D conditioning (CIN) for that HRTF (all zeros when absent).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use sphear_core::wav::read_wav;
use sphear_render::head::SphericalHead;
use sphear_sh::array::ArrayGeometry;

use crate::config::{HeadKind, ModelConfig};
use crate::features::{Anthropometry, FeatureConfig, FeatureExtractor, SceneFeatures};
use crate::heads::{EmaglsDesign, EmaglsTensors, EmaglsWeights};
use crate::loss::{LossWeights, Target, WeightedLoss};
use crate::model::{NeuralRenderer, RendererInput};
use crate::{NeuralError, Result};

/// Model size preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelPreset {
    /// [`ModelConfig::lean`].
    Lean,
    /// [`ModelConfig::standard`].
    Standard,
    /// [`ModelConfig::tiny`] (tests, smoke runs).
    Tiny,
}

fn default_preset() -> ModelPreset {
    ModelPreset::Lean
}
fn default_head() -> HeadKind {
    HeadKind::Residual
}
fn default_batch() -> usize {
    4
}
fn default_segment() -> f64 {
    1.0
}
fn default_lr() -> f64 {
    1e-3
}
fn default_ckpt() -> usize {
    500
}
fn default_mr() -> Vec<usize> {
    vec![256, 512, 1024]
}
fn default_features() -> FeatureConfig {
    FeatureConfig::low_latency()
}

/// A training run (`sphear train CONFIG.toml`; unknown fields are errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Dataset directory (`sphear dataset … -o DIR`).
    pub dataset_dir: PathBuf,
    /// Run directory (checkpoints, config, loss log).
    pub output_dir: PathBuf,
    /// Model size.
    #[serde(default = "default_preset")]
    pub model: ModelPreset,
    /// Output head.
    #[serde(default = "default_head")]
    pub head: HeadKind,
    /// Features (default: the low-latency 256/128 STFT).
    #[serde(default = "default_features")]
    pub features: FeatureConfig,
    /// Optimiser steps in total.
    pub steps: usize,
    /// Stop after this much wall-clock time in one invocation (seconds), with a checkpoint at the
    /// step reached; `--resume` continues. Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wall_s: Option<f64>,
    /// Scenes per batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Length of the random crop of each scene (s).
    #[serde(default = "default_segment")]
    pub segment_s: f64,
    /// Adam learning rate (the paper: 1e-3).
    #[serde(default = "default_lr")]
    pub learning_rate: f64,
    /// Seed of shuffling and cropping.
    #[serde(default)]
    pub seed: u64,
    /// Steps between checkpoints.
    #[serde(default = "default_ckpt")]
    pub checkpoint_every: usize,
    /// Loss weights.
    #[serde(default)]
    pub loss_weights: LossWeights,
    /// Frame lengths of the multi-resolution STFT loss.
    #[serde(default = "default_mr")]
    pub mr_stft_sizes: Vec<usize>,
    /// Dropout after convolutions (overrides the preset when given).
    #[serde(default)]
    pub dropout_conv: Option<f64>,
    /// Ablation switches (override the preset when given): U-Net skip connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_connections: Option<bool>,
    /// Ablation switch: self-attention at the bottleneck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<bool>,
    /// Ablation switch: CBAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbam: Option<bool>,
    /// Ablation switch: conditional instance normalisation on the anthropometry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cin: Option<bool>,
    /// Residual head: correction relative to the eMagLS weights, scaled by this factor
    /// ([`ModelConfig::residual_scale`]); absent = absolute correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual_scale: Option<f64>,
    /// Held-out validation dataset (`sphear dataset` dir); evaluated every `val_every` steps.
    #[serde(default)]
    pub val_dataset_dir: Option<PathBuf>,
    /// Steps between validations.
    #[serde(default = "default_val_every")]
    pub val_every: usize,
    /// At most this many validation scenes (the first ones in order).
    #[serde(default = "default_val_max")]
    pub val_max_scenes: usize,
    /// SOFA file of the HRTF the binaural targets were rendered with (the dataset spec's
    /// `output.hrtf`); the residual head's eMagLS weights are designed for it. Default: the
    /// embedded spherical head.
    #[serde(default)]
    pub hrtf_sofa: Option<PathBuf>,
    /// Standardised anthropometry of the HRTF's listener (CIN conditioning); default zeros.
    #[serde(default)]
    pub anthropometry: Option<Anthropometry>,
    /// Mean and standard deviation of the 12 raw measures behind `anthropometry` (written into
    /// the model directory for inference).
    #[serde(default)]
    pub anthropometry_standardizer: Option<AnthroStats>,
    /// Start from the weights of this model/checkpoint directory (`sphear train --finetune`);
    /// its network config must equal this run's. Ignored when the run resumes its own checkpoint.
    #[serde(default)]
    pub finetune_from: Option<PathBuf>,
    /// Knowledge distillation: a trained model directory (typically a standard-size model) whose
    /// output is a second target. Every step the teacher (evaluation mode, no gradient) renders
    /// the same batch, and the loss is `(1 − distill_weight)·L(student, reference) +
    /// distill_weight·L(student, teacher)` term by term (the DOA term keeps the true directions).
    /// The teacher must use this run's features; its head and size may differ. Validation
    /// stays against the reference alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill_from: Option<PathBuf>,
    /// Weight of the teacher's target in `[0, 1]` (default 0.5) when `distill_from` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill_weight: Option<f64>,
    /// Further listeners (`[[listeners]]` in TOML), each with scenes rendered with its own HRTF.
    /// The top-level `dataset_dir`/`val_dataset_dir`/`hrtf_sofa`/`anthropometry` are the first
    /// listener. Training steps cycle through the listeners that have a `dataset_dir` (every batch
    /// holds one listener, whose eMagLS base and CIN conditioning it uses); a listener with only a
    /// `val_dataset_dir` is held out (validation only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<ListenerData>,
}

/// One listener of a multi-listener run: scenes whose binaural targets were rendered with
/// `hrtf_sofa`, and that listener's standardised anthropometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerData {
    /// A name for logs (`val_listeners.csv`); default: the HRTF file's stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Training scenes (`sphear dataset` dir); absent for a held-out listener.
    #[serde(default)]
    pub dataset_dir: Option<PathBuf>,
    /// Validation scenes.
    #[serde(default)]
    pub val_dataset_dir: Option<PathBuf>,
    /// SOFA file the scenes' binaural targets were rendered with.
    pub hrtf_sofa: PathBuf,
    /// Standardised anthropometry (CIN conditioning); default zeros.
    #[serde(default)]
    pub anthropometry: Option<Anthropometry>,
}

/// Mean and standard deviation of the 12 raw anthropometric measures (z-score statistics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnthroStats {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations.
    pub std: Vec<f64>,
}

fn default_val_every() -> usize {
    100
}
fn default_val_max() -> usize {
    32
}

impl TrainConfig {
    /// Parse a TOML config.
    ///
    /// # Errors
    /// Syntax errors and unknown fields (with the TOML parser's message).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| NeuralError::Config(e.to_string()))
    }

    /// The network config for em32 features.
    pub fn model_config(&self) -> ModelConfig {
        let p = self.features.num_planes(32);
        let a = self.features.num_aux(32);
        let m = match self.model {
            ModelPreset::Lean => ModelConfig::lean(p, a, 32),
            ModelPreset::Standard => ModelConfig::standard(p, a, 32),
            ModelPreset::Tiny => ModelConfig::tiny(p, a, 32),
        }
        .with_head(self.head);
        // Each override applies only when the config gives it.
        fn over<T>(
            m: ModelConfig,
            v: Option<T>,
            set: fn(ModelConfig, T) -> ModelConfig,
        ) -> ModelConfig {
            match v {
                Some(v) => set(m, v),
                None => m,
            }
        }
        let m = over(m, self.dropout_conv, ModelConfig::with_dropout_conv);
        let m = over(m, self.skip_connections, ModelConfig::with_skip_connections);
        let m = over(m, self.attention, ModelConfig::with_attention);
        let m = over(m, self.cbam, ModelConfig::with_cbam);
        let m = over(m, self.cin, ModelConfig::with_cin);
        match self.residual_scale {
            Some(s) => m.with_residual_scale(Some(s)),
            None => m,
        }
    }
}

/// One dataset item on disk.
#[derive(Debug, Clone)]
pub struct DatasetItem {
    /// Item directory.
    pub dir: PathBuf,
}

/// A loaded scene: capsule signals, binaural reference, head-frame source directions (unit
/// vectors).
#[derive(Debug, Clone)]
pub struct LoadedScene {
    /// `[32][samples]`.
    pub em32: Vec<Vec<f32>>,
    /// `[2][samples]`.
    pub binaural: Vec<Vec<f32>>,
    /// Source directions relative to the head.
    pub doa: Vec<[f32; 3]>,
    /// Sample rate.
    pub sample_rate_hz: u32,
    /// HRTF origin of the binaural reference (`extra.hrtf` of `meta.json`), when recorded.
    pub hrtf_origin: Option<String>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> NeuralError {
    NeuralError::Config(format!("{}: {e}", path.display()))
}

/// Items of a dataset directory (`DIR/chunk-*/item-*/` with a `meta.json`), sorted.
///
/// # Errors
/// Unreadable directory or no complete item.
pub fn list_dataset(dir: &Path) -> Result<Vec<DatasetItem>> {
    let items = sphear_sim::dataset::list_items(dir).map_err(|e| io_err(dir, e))?;
    if items.is_empty() {
        return Err(NeuralError::Config(format!(
            "{}: no complete dataset items (DIR/chunk-*/item-*/meta.json)",
            dir.display()
        )));
    }
    Ok(items.into_iter().map(|dir| DatasetItem { dir }).collect())
}

/// FNV-1a 64-bit hash of the items' relative paths and `meta.json` contents, in order: identifies
/// the dataset a checkpoint was trained on.
///
/// # Errors
/// Unreadable `meta.json`.
pub fn dataset_hash(root: &Path, items: &[DatasetItem]) -> Result<String> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for it in items {
        let rel = it.dir.strip_prefix(root).unwrap_or(&it.dir);
        eat(rel.to_string_lossy().as_bytes());
        let meta = it.dir.join("meta.json");
        eat(&fs::read(&meta).map_err(|e| io_err(&meta, e))?);
    }
    Ok(format!("{h:016x}"))
}

impl DatasetItem {
    /// Read the item's `em32.wav`, `binaural.wav` and head-frame source directions.
    ///
    /// # Errors
    /// Missing/unreadable files, wrong channel counts, different lengths or rates.
    pub fn load(&self) -> Result<LoadedScene> {
        let p_em = self.dir.join("em32.wav");
        let p_bin = self.dir.join("binaural.wav");
        let (i_em, em32) = read_wav(&p_em).map_err(|e| io_err(&p_em, e))?;
        let (i_bin, binaural) = read_wav(&p_bin).map_err(|e| io_err(&p_bin, e))?;
        if em32.len() != 32 || binaural.len() != 2 || i_em.frames != i_bin.frames {
            return Err(NeuralError::Shape {
                expected: "em32.wav with 32 channels and binaural.wav with 2, same length".into(),
                got: format!(
                    "{} and {} channels, {} and {} frames",
                    em32.len(),
                    binaural.len(),
                    i_em.frames,
                    i_bin.frames
                ),
            });
        }
        if i_em.sample_rate_hz != i_bin.sample_rate_hz {
            return Err(NeuralError::Config(format!(
                "{}: em32 and binaural rates differ",
                self.dir.display()
            )));
        }
        let p_meta = self.dir.join("meta.json");
        let text = fs::read_to_string(&p_meta).map_err(|e| io_err(&p_meta, e))?;
        let meta: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| io_err(&p_meta, e))?;
        let mut doa = Vec::new();
        if let Some(srcs) = meta["scene"]["sources"].as_array() {
            for s in srcs {
                let (Some(az), Some(el)) = (
                    s["head_azimuth_deg"].as_f64(),
                    s["head_elevation_deg"].as_f64(),
                ) else {
                    continue;
                };
                let u =
                    sphear_core::Direction::new(az.to_radians(), el.to_radians()).to_cartesian();
                doa.push([u[0] as f32, u[1] as f32, u[2] as f32]);
            }
        }
        if doa.is_empty() {
            return Err(NeuralError::Config(format!(
                "{}: no source directions in scene.sources",
                p_meta.display()
            )));
        }
        Ok(LoadedScene {
            em32,
            binaural,
            doa,
            sample_rate_hz: i_em.sample_rate_hz,
            hrtf_origin: meta["extra"]["hrtf"].as_str().map(str::to_string),
        })
    }
}

/// Training state saved with every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimiser steps done.
    pub step: usize,
    /// [`dataset_hash`] of the training data.
    pub dataset_hash: String,
    /// The run's config.
    pub config: TrainConfig,
    /// The model config (JSON of [`ModelConfig`]).
    pub model_config: String,
}

/// Progress of one step (for a progress bar / log).
#[derive(Debug, Clone, Copy)]
pub struct StepReport {
    /// Step just done (1-based).
    pub step: usize,
    /// Total steps.
    pub steps: usize,
    /// Loss terms: total, recon, doa, cues, mrstft.
    pub loss: [f32; 5],
    /// Scenes per second over this step (data loading + features + forward + backward + update).
    pub scenes_per_s: f64,
    /// Validation loss terms when a validation ran after this step.
    pub val_loss: Option<[f32; 5]>,
}

/// Summary of a run.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Step reached.
    pub step: usize,
    /// Step the run started from (0 or a checkpoint).
    pub resumed_from: usize,
    /// Mean throughput of this invocation (scenes/s).
    pub scenes_per_s: f64,
    /// Last loss terms.
    pub last_loss: [f32; 5],
    /// Last validation loss terms (when a validation set is configured).
    pub last_val_loss: Option<[f32; 5]>,
    /// Parameters of the model.
    pub num_params: usize,
}

fn latest_checkpoint(out: &Path) -> Option<(usize, PathBuf)> {
    let rd = fs::read_dir(out).ok()?;
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let step: usize = name.strip_prefix("checkpoint-")?.parse().ok()?;
            e.path()
                .join("state.json")
                .exists()
                .then_some((step, e.path()))
        })
        .max_by_key(|(s, _)| *s)
}

/// Random crop of `len` samples of a scene (whole scene when shorter), same offset for all
/// channels.
fn crop(scene: &LoadedScene, len: usize, rng: &mut ChaCha8Rng) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let total = scene.em32[0].len();
    let len = len.min(total);
    let off = if total > len {
        rng.random_range(0..=total - len)
    } else {
        0
    };
    let cut = |v: &Vec<Vec<f32>>| v.iter().map(|c| c[off..off + len].to_vec()).collect();
    (cut(&scene.em32), cut(&scene.binaural))
}

/// Everything a training step needs that does not change between steps.
struct Trainer {
    fx: FeatureExtractor,
    loss: WeightedLoss,
    device: Device,
}

/// A listener as configured (the top-level fields or one `[[listeners]]` table).
struct ListenerSpec {
    name: String,
    train_dir: Option<PathBuf>,
    val_dir: Option<PathBuf>,
    /// `None`: the embedded spherical head (first listener only).
    sofa: Option<PathBuf>,
    anthro: Anthropometry,
}

/// A listener at run time: its scenes, eMagLS base and conditioning.
struct ListenerRt {
    name: String,
    items: Vec<DatasetItem>,
    val_scenes: Vec<LoadedScene>,
    emagls: Option<EmaglsTensors>,
    anthro: Anthropometry,
}

impl Trainer {
    fn batch(
        &self,
        listener: &ListenerRt,
        scenes: &[LoadedScene],
        seg: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(RendererInput, Target)> {
        let mut feats: Vec<SceneFeatures> = Vec::with_capacity(scenes.len());
        let mut bins: Vec<Vec<Vec<f32>>> = Vec::with_capacity(scenes.len());
        for s in scenes {
            let (em, bi) = crop(s, seg, rng);
            feats.push(self.fx.extract(&em)?);
            bins.push(bi);
        }
        let len = bins.iter().map(|b| b[0].len()).min().unwrap_or(0);
        let (f_n, t_n) = (feats[0].n_bins, feats[0].n_frames);
        if feats.iter().any(|f| f.n_frames != t_n) {
            return Err(NeuralError::Config(
                "scenes of a batch must be at least segment_s long".into(),
            ));
        }
        let b = scenes.len();
        let mut t_re = vec![0.0f32; b * 2 * f_n * t_n];
        let mut t_im = vec![0.0f32; b * 2 * f_n * t_n];
        let mut time = Vec::with_capacity(b * 2 * len);
        for (i, bi) in bins.iter().enumerate() {
            for (e, x) in bi.iter().enumerate() {
                time.extend_from_slice(&x[..len]);
                for (t, fr) in self.fx.stft().analyze(&x[..len]).iter().enumerate() {
                    for (k, v) in fr.iter().enumerate() {
                        let j = ((i * 2 + e) * f_n + k) * t_n + t;
                        t_re[j] = v.re;
                        t_im[j] = v.im;
                    }
                }
            }
        }
        // Pad every scene's DOA list to the batch maximum by repeating its first source (the
        // matching loss is a min over predictions, so a repeated target adds no new direction).
        let s_max = scenes.iter().map(|s| s.doa.len()).max().unwrap_or(1);
        let mut doa = Vec::with_capacity(b * s_max * 3);
        for s in scenes {
            for j in 0..s_max {
                doa.extend_from_slice(s.doa.get(j).unwrap_or(&s.doa[0]));
            }
        }
        let refs: Vec<&SceneFeatures> = feats.iter().collect();
        let anthro = vec![listener.anthro; b];
        let input =
            RendererInput::from_scenes(&refs, &anthro, listener.emagls.as_ref(), &self.device)?;
        let dev = &self.device;
        let target = Target {
            re: Tensor::from_data(TensorData::new(t_re, [b, 2, f_n, t_n]), dev),
            im: Tensor::from_data(TensorData::new(t_im, [b, 2, f_n, t_n]), dev),
            time: Tensor::from_data(TensorData::new(time, [b, 2, len]), dev),
            doa: Tensor::from_data(TensorData::new(doa, [b, s_max, 3]), dev),
        };
        Ok((input, target))
    }
}

fn record_err(e: impl std::fmt::Display) -> NeuralError {
    NeuralError::Config(format!("checkpoint: {e}"))
}

/// Train (or resume) the run described by `cfg` on `device` (an autodiff device, e.g.
/// `Device::flex().autodiff()`), calling `progress` after every step. The binaural targets come
/// from the datasets; the residual head's eMagLS weights of each listener are designed for that
/// listener's `hrtf_sofa` (the embedded spherical head when the first listener has none).
///
/// # Errors
/// Bad config, unreadable data, a checkpoint from another dataset or model config, targets
/// rendered with another HRTF than the listener's, I/O errors.
pub fn train(
    cfg: &TrainConfig,
    device: &Device,
    mut progress: impl FnMut(&StepReport),
) -> Result<TrainSummary> {
    if cfg.batch_size == 0 || cfg.segment_s <= 0.0 || cfg.checkpoint_every == 0 {
        return Err(NeuralError::Config(
            "batch_size, segment_s and checkpoint_every must be > 0".into(),
        ));
    }
    // The first listener is the top-level fields; `listeners` add more. Unnamed listeners are
    // called after their HRTF file (or `listener-N` without one).
    let name_of = |name: Option<&String>, sofa: Option<&PathBuf>, i: usize| {
        name.cloned().unwrap_or_else(|| {
            sofa.and_then(|p| p.file_stem())
                .map_or(format!("listener-{i}"), |s| s.to_string_lossy().into())
        })
    };
    let mut specs = vec![ListenerSpec {
        name: name_of(None, cfg.hrtf_sofa.as_ref(), 0),
        train_dir: Some(cfg.dataset_dir.clone()),
        val_dir: cfg.val_dataset_dir.clone(),
        sofa: cfg.hrtf_sofa.clone(),
        anthro: cfg.anthropometry.unwrap_or_default(),
    }];
    for (i, l) in cfg.listeners.iter().enumerate() {
        let name = name_of(l.name.as_ref(), Some(&l.hrtf_sofa), i + 1);
        if l.dataset_dir.is_none() && l.val_dataset_dir.is_none() {
            return Err(NeuralError::Config(format!(
                "listener '{name}' has neither dataset_dir nor val_dataset_dir"
            )));
        }
        specs.push(ListenerSpec {
            name,
            train_dir: l.dataset_dir.clone(),
            val_dir: l.val_dataset_dir.clone(),
            sofa: Some(l.hrtf_sofa.clone()),
            anthro: l.anthropometry.unwrap_or_default(),
        });
    }

    let items0 = list_dataset(&cfg.dataset_dir)?;
    let fs_hz = items0[0].load()?.sample_rate_hz;
    let fcfg = FeatureConfig {
        sample_rate_hz: f64::from(fs_hz),
        ..cfg.features.clone()
    };
    let array = ArrayGeometry::em32();
    let model_cfg = cfg.model_config();
    let model_json = serde_json::to_string(&model_cfg).map_err(record_err)?;
    let teacher = match &cfg.distill_from {
        Some(dir) => Some(load_teacher(dir, &fcfg, cfg.distill_weight, device)?),
        None => None,
    };
    // Residual heads (the student's or the teacher's) need each listener's eMagLS base.
    let need_emagls = cfg.head == HeadKind::Residual
        || teacher
            .as_ref()
            .is_some_and(|t| t.head == HeadKind::Residual);
    let check_hrtf = need_emagls;

    let mut listeners: Vec<ListenerRt> = Vec::with_capacity(specs.len());
    let mut hash = String::new();
    for (li, spec) in specs.into_iter().enumerate() {
        let ListenerSpec {
            name,
            train_dir,
            val_dir,
            sofa,
            anthro,
        } = spec;
        let items = match &train_dir {
            Some(_) if li == 0 => items0.clone(),
            Some(d) => list_dataset(d)?,
            None => Vec::new(),
        };
        if let Some(d) = &train_dir {
            let h = dataset_hash(d, &items)?;
            // One listener: the dataset's own hash (as before multi-listener runs existed).
            hash = if li == 0 { h } else { format!("{hash}+{h}") };
        }
        let (hrtf, hrtf_origin) = match &sofa {
            Some(p) => {
                let r = sphear_render::hrtf_source::resolve_hrtf(Some(p), f64::from(fs_hz))
                    .map_err(|e| io_err(p, e))?;
                (r.set, r.origin)
            }
            None => {
                let head = SphericalHead::default();
                (
                    head.build(f64::from(fs_hz)).map_err(NeuralError::from)?,
                    head.name(),
                )
            }
        };
        let val_items = match &val_dir {
            Some(d) => {
                let mut v = list_dataset(d)?;
                v.truncate(cfg.val_max_scenes.max(1));
                v
            }
            None => Vec::new(),
        };
        // The targets must have been rendered with the HRTF the eMagLS base is designed for.
        for it in items.iter().chain(&val_items).filter(|_| check_hrtf) {
            let meta = it.dir.join("meta.json");
            let text = fs::read_to_string(&meta).map_err(|e| io_err(&meta, e))?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| io_err(&meta, e))?;
            if let Some(o) = v["extra"]["hrtf"].as_str()
                && o.strip_prefix("system default ").unwrap_or(o) != hrtf_origin
            {
                return Err(NeuralError::Config(format!(
                    "{}: binaural targets rendered with HRTF '{o}', but listener '{name}' designs \
                     for '{hrtf_origin}' (set its hrtf_sofa to the dataset spec's output.hrtf)",
                    meta.display()
                )));
            }
        }
        let emagls = if need_emagls {
            Some(
                EmaglsWeights::design(&hrtf, &array, fcfg.n_fft, &EmaglsDesign::default())?
                    .to_tensors(device),
            )
        } else {
            None
        };
        let val_scenes: Vec<LoadedScene> = val_items
            .iter()
            .map(DatasetItem::load)
            .collect::<Result<_>>()?;
        listeners.push(ListenerRt {
            name,
            items,
            val_scenes,
            emagls,
            anthro,
        });
    }
    let training: Vec<usize> = (0..listeners.len())
        .filter(|&i| !listeners[i].items.is_empty())
        .collect();
    let trainer = Trainer {
        fx: FeatureExtractor::new(&fcfg, &array)?,
        loss: WeightedLoss::new(
            fcfg.n_fft,
            fcfg.hop,
            f64::from(fs_hz),
            &cfg.mr_stft_sizes,
            cfg.loss_weights,
            device,
        )?,
        device: device.clone(),
    };
    fs::create_dir_all(&cfg.output_dir).map_err(|e| io_err(&cfg.output_dir, e))?;

    // Kaiming init and dropout masks from the run's seed (reproducible runs).
    device.seed(cfg.seed);
    let mut model: NeuralRenderer = model_cfg.init(device)?;
    let mut optim = AdamConfig::new().init();
    let mut step = 0usize;
    if let Some((s, dir)) = latest_checkpoint(&cfg.output_dir) {
        let text = fs::read_to_string(dir.join("state.json")).map_err(|e| io_err(&dir, e))?;
        let state: CheckpointState = serde_json::from_str(&text).map_err(record_err)?;
        if state.dataset_hash != hash || state.model_config != model_json {
            return Err(NeuralError::Config(format!(
                "{}: checkpoint was trained on dataset {} with another or the same model config; \
                 this run has dataset {hash} — use a new output_dir",
                dir.display(),
                state.dataset_hash
            )));
        }
        model = model
            .try_load_file(dir.join("model.bpk"))
            .map_err(record_err)?;
        optim = optim.load(dir.join("optim.bpk")).map_err(record_err)?;
        step = s;
    } else if let Some(src) = &cfg.finetune_from {
        model = load_finetune_weights(model, src, &model_cfg)?;
    }
    let resumed_from = step;
    let cfg_json = model_dir_config_json(cfg, &model_cfg)?;
    fs::write(cfg.output_dir.join("config.json"), &cfg_json)
        .map_err(|e| io_err(&cfg.output_dir, e))?;
    let has_val = listeners.iter().any(|l| !l.val_scenes.is_empty());
    let val_path = cfg.output_dir.join("val.csv");
    let val_l_path = cfg.output_dir.join("val_listeners.csv");
    if has_val && !val_path.exists() {
        fs::write(&val_path, "step,total,recon,doa,cues,mrstft\n")
            .map_err(|e| io_err(&val_path, e))?;
        fs::write(
            &val_l_path,
            "step,listener,held_out,scenes,total,recon,doa,cues,mrstft\n",
        )
        .map_err(|e| io_err(&val_l_path, e))?;
    }
    let mut last_val = None;
    let log_path = cfg.output_dir.join("loss.csv");
    let new_log = !log_path.exists();
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io_err(&log_path, e))?;
    if new_log {
        writeln!(log, "step,total,recon,doa,cues,mrstft,scenes_per_s")
            .map_err(|e| io_err(&log_path, e))?;
    }

    let seg = (cfg.segment_s * f64::from(fs_hz)).round() as usize;
    let t_run = std::time::Instant::now();
    let mut scenes_done = 0usize;
    let mut last = [0.0f32; 5];
    let n_train = training.len();
    while step < cfg.steps {
        // Listener of this step (round robin), then that listener's own step counter. Epoch
        // order and crops depend only on (seed, listener, epoch, step): a resumed run continues
        // the same sequence.
        let li = training[step % n_train];
        let lstep = step / n_train;
        let lis = &listeners[li];
        let per_epoch = lis.items.len().div_ceil(cfg.batch_size);
        let epoch = lstep / per_epoch;
        let mut order: Vec<usize> = (0..lis.items.len()).collect();
        let lseed = if li == 0 {
            cfg.seed
        } else {
            cfg.seed ^ (li as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
        };
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            lseed ^ (epoch as u64).wrapping_mul(0x9E37_79B9),
        ));
        let j = lstep % per_epoch;
        let idx = &order[j * cfg.batch_size..((j + 1) * cfg.batch_size).min(order.len())];
        let t0 = std::time::Instant::now();
        let scenes: Vec<LoadedScene> = idx
            .iter()
            .map(|&i| lis.items[i].load())
            .collect::<Result<_>>()?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(step as u64));
        let (input, target) = trainer.batch(lis, &scenes, seg, &mut rng)?;
        let out = model.forward(&input)?;
        let mut terms = trainer.loss.compute(&out, &target)?;
        if let Some(t) = &teacher {
            let t_out = t.model.forward(&input)?;
            let t_target = trainer.loss.teacher_target(&t_out, &target)?;
            terms = terms.mix(trainer.loss.compute(&out, &t_target)?, t.weight);
        }
        last = [
            &terms.total,
            &terms.recon,
            &terms.doa,
            &terms.cues,
            &terms.mrstft,
        ]
        .map(scalar);
        if !last[0].is_finite() {
            return Err(NeuralError::NonFinite(format!("loss at step {step}")));
        }
        let grads = GradientsParams::from_grads(terms.total.backward(), &model);
        model = optim.step(cfg.learning_rate, model, grads);
        step += 1;
        scenes_done += scenes.len();
        let rate = scenes.len() as f64 / t0.elapsed().as_secs_f64();
        let out_of_time = cfg
            .max_wall_s
            .is_some_and(|w| t_run.elapsed().as_secs_f64() >= w);
        let val = if has_val
            && (step % cfg.val_every.max(1) == 0 || step == cfg.steps || out_of_time)
        {
            let (v, per) = validate(&trainer, &model, &listeners, cfg.batch_size, seg, cfg.seed)?;
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&val_path)
                .map_err(|e| io_err(&val_path, e))?;
            writeln!(f, "{step},{},{},{},{},{}", v[0], v[1], v[2], v[3], v[4])
                .map_err(|e| io_err(&val_path, e))?;
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&val_l_path)
                .map_err(|e| io_err(&val_l_path, e))?;
            for (i, n, t) in per {
                let l = &listeners[i];
                writeln!(
                    f,
                    "{step},{},{},{n},{},{},{},{},{}",
                    l.name,
                    l.items.is_empty(),
                    t[0],
                    t[1],
                    t[2],
                    t[3],
                    t[4]
                )
                .map_err(|e| io_err(&val_l_path, e))?;
            }
            last_val = Some(v);
            Some(v)
        } else {
            None
        };
        writeln!(
            log,
            "{step},{},{},{},{},{},{rate:.3}",
            last[0], last[1], last[2], last[3], last[4]
        )
        .map_err(|e| io_err(&log_path, e))?;
        progress(&StepReport {
            step,
            steps: cfg.steps,
            loss: last,
            scenes_per_s: rate,
            val_loss: val,
        });
        if step % cfg.checkpoint_every == 0 || step == cfg.steps || out_of_time {
            save_checkpoint(
                &cfg.output_dir,
                step,
                &model,
                &optim,
                &hash,
                cfg,
                &model_json,
                &cfg_json,
            )?;
        }
        if out_of_time {
            break;
        }
    }
    Ok(TrainSummary {
        step,
        resumed_from,
        scenes_per_s: scenes_done as f64 / t_run.elapsed().as_secs_f64().max(1e-9),
        last_loss: last,
        last_val_loss: last_val,
        num_params: model.num_params(),
    })
}

fn scalar(t: &Tensor<1>) -> f32 {
    t.clone()
        .into_data()
        .try_to_vec::<f32>()
        .ok()
        .and_then(|x| x.first().copied())
        .unwrap_or(f32::NAN)
}

/// Validation loss terms per listener with validation scenes (index, scenes, mean terms) and
/// their scene-weighted mean (model in evaluation mode: no dropout, running batch-norm
/// statistics; fixed crops from `seed`).
fn validate(
    trainer: &Trainer,
    model: &NeuralRenderer,
    listeners: &[ListenerRt],
    batch: usize,
    seg: usize,
    seed: u64,
) -> Result<([f32; 5], Vec<(usize, usize, [f32; 5])>)> {
    let m = model.valid();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5641_4c49_4441_5445);
    let mut sum = [0.0f64; 5];
    let mut n = 0usize;
    let mut per = Vec::new();
    for (li, l) in listeners.iter().enumerate() {
        if l.val_scenes.is_empty() {
            continue;
        }
        let mut lsum = [0.0f64; 5];
        for chunk in l.val_scenes.chunks(batch.max(1)) {
            let (input, target) = trainer.batch(l, chunk, seg, &mut rng)?;
            let out = m.forward(&input)?;
            let t = trainer.loss.compute(&out, &target)?;
            let v = [&t.total, &t.recon, &t.doa, &t.cues, &t.mrstft].map(scalar);
            for (s, x) in lsum.iter_mut().zip(v) {
                *s += f64::from(x) * chunk.len() as f64;
            }
        }
        let ln = l.val_scenes.len();
        for (s, x) in sum.iter_mut().zip(lsum) {
            *s += x;
        }
        n += ln;
        per.push((li, ln, lsum.map(|s| (s / ln as f64) as f32)));
    }
    Ok((sum.map(|s| (s / n.max(1) as f64) as f32), per))
}

/// The `config.json` of a run / model directory: the [`TrainConfig`] plus `model_config` (the
/// resolved [`ModelConfig`] as a JSON object).
///
/// # Errors
/// Serialisation failure.
pub fn model_dir_config_json(cfg: &TrainConfig, model_cfg: &ModelConfig) -> Result<String> {
    let mut v = serde_json::to_value(cfg).map_err(record_err)?;
    let m = serde_json::to_value(model_cfg).map_err(record_err)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("model_config".into(), m);
    }
    serde_json::to_string_pretty(&v).map_err(record_err)
}

/// A distillation teacher: a trained network in evaluation mode and the weight of its target.
struct Teacher {
    model: NeuralRenderer,
    head: HeadKind,
    weight: f64,
}

/// Load the teacher of `distill_from` (its features must equal the run's `fcfg`).
fn load_teacher(
    dir: &Path,
    fcfg: &FeatureConfig,
    weight: Option<f64>,
    device: &Device,
) -> Result<Teacher> {
    let weight = weight.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&weight) {
        return Err(NeuralError::Config(format!(
            "distill_weight {weight}: expected a value in [0, 1]"
        )));
    }
    let t = crate::infer::LoadedModel::from_dir(dir, device)?;
    let theirs = FeatureConfig {
        sample_rate_hz: fcfg.sample_rate_hz,
        ..t.features.clone()
    };
    if &theirs != fcfg {
        return Err(NeuralError::Config(format!(
            "{}: the teacher was trained with other features than this run ({:?} vs {:?})",
            dir.display(),
            theirs,
            fcfg
        )));
    }
    Ok(Teacher {
        model: t.renderer.valid(),
        head: t.model_config.head,
        weight,
    })
}

/// Load the weights of a model/checkpoint directory (`config.json` + `model.bpk`) into `model`
/// for fine-tuning; the directory's network config must equal `model_cfg`.
fn load_finetune_weights(
    model: NeuralRenderer,
    src: &Path,
    model_cfg: &ModelConfig,
) -> Result<NeuralRenderer> {
    let p = src.join("config.json");
    let text = fs::read_to_string(&p).map_err(|e| io_err(&p, e))?;
    let mut v: serde_json::Value = serde_json::from_str(&text).map_err(|e| io_err(&p, e))?;
    let theirs: ModelConfig = match v.as_object_mut().and_then(|o| o.remove("model_config")) {
        Some(serde_json::Value::String(s)) => {
            serde_json::from_str(&s).map_err(|e| io_err(&p, e))?
        }
        Some(m) => serde_json::from_value(m).map_err(|e| io_err(&p, e))?,
        None => {
            if let Some(o) = v.as_object_mut() {
                o.remove("anthropometry_standardizer");
            }
            let tc: TrainConfig = serde_json::from_value(v).map_err(|e| io_err(&p, e))?;
            tc.model_config()
        }
    };
    let a = serde_json::to_string(&theirs).map_err(record_err)?;
    let b = serde_json::to_string(model_cfg).map_err(record_err)?;
    if a != b {
        return Err(NeuralError::Config(format!(
            "{}: the fine-tuning source has another network config than this run",
            src.display()
        )));
    }
    model
        .try_load_file(src.join("model.bpk"))
        .map_err(record_err)
}

fn save_checkpoint(
    out: &Path,
    step: usize,
    model: &NeuralRenderer,
    optim: &burn::optim::ModuleOptimizer,
    hash: &str,
    cfg: &TrainConfig,
    model_json: &str,
    cfg_json: &str,
) -> Result<()> {
    let dir = out.join(format!("checkpoint-{step:08}"));
    let tmp = out.join(format!(".checkpoint-{step:08}.tmp"));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    model
        .clone()
        .save_file(tmp.join("model.bpk"))
        .map_err(record_err)?;
    optim.save(tmp.join("optim.bpk")).map_err(record_err)?;
    let state = CheckpointState {
        step,
        dataset_hash: hash.to_string(),
        config: cfg.clone(),
        model_config: model_json.to_string(),
    };
    let text = serde_json::to_string_pretty(&state).map_err(record_err)?;
    fs::write(tmp.join("state.json"), text).map_err(|e| io_err(&tmp, e))?;
    fs::write(tmp.join("config.json"), cfg_json).map_err(|e| io_err(&tmp, e))?;
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&tmp, &dir).map_err(|e| io_err(&dir, e))?;
    Ok(())
}

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainDevice {
    /// burn's pure-Rust CPU backend (`flex`; threads: `RAYON_NUM_THREADS`).
    Cpu,
    /// LibTorch on the CUDA device with this index (cargo feature `gpu`).
    Cuda(usize),
}

impl std::str::FromStr for TrainDevice {
    type Err = NeuralError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| {
                    NeuralError::Config(format!("device '{s}': expected cpu, cuda or cuda:N"))
                }),
        }
    }
}

impl TrainDevice {
    /// The autodiff device.
    ///
    /// # Errors
    /// `Cuda` in a build without the `gpu` feature.
    pub fn autodiff_device(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::flex().autodiff()),
            #[cfg(feature = "gpu")]
            // burn marks its LibTorch backend deprecated; it is the GPU path that builds offline
            // here (see NETWORK.md, "Training", "GPU").
            #[allow(deprecated)]
            Self::Cuda(i) => Ok(Device::libtorch_cuda(i).autodiff()),
            #[cfg(not(feature = "gpu"))]
            Self::Cuda(_) => Err(NeuralError::Config(
                "this build has no GPU backend: build with `--features gpu` (LibTorch 2.11, see \
                 crates/sphear-neural/NETWORK.md)"
                    .into(),
            )),
        }
    }
}
