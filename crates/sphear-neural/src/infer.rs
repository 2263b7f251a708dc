//! Inference: load a trained model, render em32 capsule signals to binaural with the network,
//! streamed in chunks of STFT frames with overlapping context so that memory stays bounded on
//! long inputs.
//!
//! ## Model directory
//! A model directory holds what a training checkpoint holds (see [`crate::training`]):
//! * `config.json` — the [`TrainConfig`] of the run (model preset, head, feature settings). When
//!   it also has a `model_config` entry (a [`ModelConfig`] as a JSON object, or as a JSON string
//!   as in a checkpoint's `state.json`), that resolved network config wins over the preset.
//!   An optional `anthropometry_standardizer` `{ "mean": [12], "std": [12] }` gives the z-score
//!   statistics of the 12 listener measures the model was trained with.
//! * `model.bpk` — the burnpack weights (f32 or f16; cast to the module's f32 on load).
//!
//! The **embedded default model** is `crates/sphear-neural/model/{config.json,model.bpk}`:
//! `build.rs` sets `cfg(sphear_embedded_model)` when both files exist, and they are then compiled
//! in with `include_bytes!` ([`LoadedModel::embedded`]). A build without them still compiles and
//! [`LoadedModel::embedded`] returns [`NeuralError::NoEmbeddedModel`].
//!
//! ## Streaming
//! [`NeuralStream`] is a [`BlockProcessor`]: each block of `chunk_frames · hop` samples releases
//! `chunk_frames` new STFT frames. The network's recurrent and attention layers see those frames
//! plus `left_context_frames` earlier frames and (offline, non-causal models only)
//! `right_context_frames` later frames; only the new frames' outputs are overlap-added. Features
//! are exact per frame. The latency is `right_context_frames · hop + n_fft − hop` samples
//! (removed by [`sphear_core::stream::process_file`]).
//!
//! * **Incremental** (causal models with the residual head, the default for them): every layer
//!   but the GRU and the masked attention is per frame or a causal convolution with a finite
//!   lookback ([`NeuralRenderer::causal_lookback_frames`]), so a chunk computes the features and
//!   the encoder only for its new frames (plus the encoder's lookback), keeps each frame's
//!   encoder activations and SH descriptors for later chunks' context, runs the bottleneck on
//!   context + new frames, and the decoder, CIN, ear branches and beamformer only on the new
//!   frames (plus their lookback). With a context longer than the signal this equals one pass
//!   over the whole signal (test `incremental_stream_equals_the_one_pass_render_given_the_whole_history`).
//! * **Windowed** (non-causal models; [`NeuralStream::disable_incremental`]): each chunk re-runs
//!   the network on its whole window, the context frames' encoder activations recomputed with
//!   zero padding at the window's start.
//!
//! ## Residual weights
//! The residual head's base weights `W_eMagLS` are designed for the HRTF set given to
//! [`NeuralBinaural::new`] (the `--hrtf` of `sphear render`, or the personalised set) on the
//! model's STFT grid ([`EmaglsWeights::design`]).
//!
//! ## Anthropometry
//! [`anthropometry_from_measures`] maps the 12 per-ear measures of a listener TOML
//! (`sphear-personalize`'s feature order and units) to the 12-D [`Anthropometry`]: each ear's
//! measures are z-scored with the given standardiser and the two ears are averaged (the head
//! measures are the same for both ears; the pinna measures become the mean of both pinnae).

use std::path::Path;

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner};
use serde::Deserialize;
use std::sync::Arc;

use sphear_core::stream::BlockProcessor;
use sphear_hrtf::HrtfSet;
use sphear_sh::array::ArrayGeometry;

use crate::config::{HeadKind, ModelConfig};
use crate::features::{ANTHRO_DIM, Anthropometry, FeatureConfig, FeatureExtractor, SceneFeatures};
use crate::heads::{EmaglsDesign, EmaglsWeights};
use crate::model::{NeuralRenderer, RendererInput, StageTimes};
use crate::training::TrainConfig;
use crate::{NeuralError, Result};

/// The device type (re-exported so that callers need no direct `burn` dependency).
pub use burn::prelude::Device as InferenceDevice;

/// The default inference device: burn's pure-Rust `flex` CPU backend (no autodiff).
pub fn cpu_device() -> Device {
    Device::flex()
}

/// File name of the config in a model directory.
pub const CONFIG_FILE: &str = "config.json";
/// File name of the weights in a model directory.
pub const WEIGHTS_FILE: &str = "model.bpk";

#[cfg(sphear_embedded_model)]
const EMBEDDED: Option<(&[u8], &[u8])> = Some((
    include_bytes!("../model/config.json"),
    include_bytes!("../model/model.bpk"),
));
#[cfg(not(sphear_embedded_model))]
const EMBEDDED: Option<(&[u8], &[u8])> = None;

/// Whether this build has an embedded default model.
pub fn has_embedded_model() -> bool {
    EMBEDDED.is_some()
}

/// Z-score statistics of the 12 listener measures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AnthroStandardizer {
    /// Means, in the listener TOML's units.
    pub mean: Vec<f64>,
    /// Standard deviations (same units).
    pub std: Vec<f64>,
}

/// Map a listener's per-ear measures (`[left, right]`, the 12 measures of `sphear-personalize`
/// in its order and units) to the standardised [`Anthropometry`]: z-score per ear with `stdz`,
/// then the mean of the two ears.
///
/// # Errors
/// A standardiser without 12 finite means and 12 positive standard deviations.
pub fn anthropometry_from_measures(
    measures: &[[f64; ANTHRO_DIM]; 2],
    stdz: &AnthroStandardizer,
) -> Result<Anthropometry> {
    if stdz.mean.len() != ANTHRO_DIM
        || stdz.std.len() != ANTHRO_DIM
        || stdz.mean.iter().any(|m| !m.is_finite())
        || stdz.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
    {
        return Err(NeuralError::Config(format!(
            "anthropometry standardiser needs {ANTHRO_DIM} finite means and positive standard deviations"
        )));
    }
    let mut a = [0.0f32; ANTHRO_DIM];
    for (i, v) in a.iter_mut().enumerate() {
        let z: f64 = measures
            .iter()
            .map(|ear| (ear[i] - stdz.mean[i]) / stdz.std[i])
            .sum::<f64>()
            / 2.0;
        *v = z as f32;
    }
    Ok(Anthropometry(a))
}

#[derive(Debug, Deserialize)]
struct ModelDirExtras {
    #[serde(default)]
    model_config: Option<serde_json::Value>,
    #[serde(default)]
    anthropometry_standardizer: Option<AnthroStandardizer>,
}

/// A model ready for inference (on a non-autodiff device).
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// Network config.
    pub model_config: ModelConfig,
    /// Feature settings the model was trained with.
    pub features: FeatureConfig,
    /// Standardiser of the listener measures, when the model directory has one.
    pub anthro_standardizer: Option<AnthroStandardizer>,
    /// The network.
    pub renderer: NeuralRenderer,
    /// Where it came from (a path, "embedded" or "initialised").
    pub source: String,
}

fn cfg_err(what: &str, e: impl std::fmt::Display) -> NeuralError {
    NeuralError::Config(format!("{what}: {e}"))
}

/// Parse a model directory's `config.json` into the network and feature configs (and the
/// optional standardiser).
///
/// # Errors
/// Invalid JSON, not a [`TrainConfig`], or an invalid `model_config`.
pub fn parse_model_config(
    json: &[u8],
) -> Result<(ModelConfig, FeatureConfig, Option<AnthroStandardizer>)> {
    let mut v: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| cfg_err(CONFIG_FILE, e))?;
    let extras: ModelDirExtras =
        serde_json::from_value(v.clone()).map_err(|e| cfg_err(CONFIG_FILE, e))?;
    if let Some(obj) = v.as_object_mut() {
        obj.remove("model_config");
        obj.remove("anthropometry_standardizer");
        obj.remove(crate::average::AVERAGED_FROM_KEY);
    }
    let tc: TrainConfig = serde_json::from_value(v).map_err(|e| cfg_err(CONFIG_FILE, e))?;
    let model_config = match extras.model_config {
        Some(serde_json::Value::String(s)) => {
            serde_json::from_str(&s).map_err(|e| cfg_err("model_config", e))?
        }
        Some(obj) => serde_json::from_value(obj).map_err(|e| cfg_err("model_config", e))?,
        None => tc.model_config(),
    };
    let model_config: ModelConfig = model_config;
    model_config.validate()?;
    Ok((model_config, tc.features, extras.anthropometry_standardizer))
}

impl LoadedModel {
    /// Load `DIR/config.json` and `DIR/model.bpk` onto `device` (a non-autodiff device, e.g.
    /// `Device::flex()`).
    ///
    /// # Errors
    /// Missing or unreadable files, an invalid config, weights that do not fit the network.
    pub fn from_dir(dir: &Path, device: &Device) -> Result<Self> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| cfg_err(&p.display().to_string(), e))
        };
        Self::from_bytes(
            &read(CONFIG_FILE)?,
            &read(WEIGHTS_FILE)?,
            device,
            &dir.display().to_string(),
        )
    }

    /// Load from the contents of `config.json` and `model.bpk`.
    ///
    /// # Errors
    /// As [`LoadedModel::from_dir`].
    pub fn from_bytes(
        config: &[u8],
        weights: &[u8],
        device: &Device,
        source: &str,
    ) -> Result<Self> {
        let (model_config, features, anthro_standardizer) = parse_model_config(config)?;
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
            .map_err(|e| cfg_err(&format!("{source}: {WEIGHTS_FILE}"), e))?
            .cast_to_module_dtype();
        let renderer = model_config
            .init(device)?
            .try_load_record(record)
            .map_err(|e| cfg_err(&format!("{source}: {WEIGHTS_FILE}"), e))?;
        Ok(Self {
            model_config,
            features,
            anthro_standardizer,
            renderer,
            source: source.to_string(),
        })
    }

    /// Write the model directory `dir` (created if needed): `config.json` = `train` as JSON plus
    /// this model's resolved `model_config` (and the standardiser when set), `model.bpk` = the
    /// weights (f32).
    ///
    /// # Errors
    /// I/O or serialisation errors.
    pub fn save_dir(&self, dir: &Path, train: &TrainConfig) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| cfg_err(&dir.display().to_string(), e))?;
        let mut v = serde_json::to_value(train).map_err(|e| cfg_err(CONFIG_FILE, e))?;
        let train_features =
            serde_json::to_value(&self.features).map_err(|e| cfg_err(CONFIG_FILE, e))?;
        let mc = serde_json::to_value(&self.model_config).map_err(|e| cfg_err(CONFIG_FILE, e))?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("features".into(), train_features);
            obj.insert("model_config".into(), mc);
            if let Some(s) = &self.anthro_standardizer {
                obj.insert(
                    "anthropometry_standardizer".into(),
                    serde_json::json!({ "mean": s.mean, "std": s.std }),
                );
            }
        }
        let text = serde_json::to_string_pretty(&v).map_err(|e| cfg_err(CONFIG_FILE, e))?;
        std::fs::write(dir.join(CONFIG_FILE), text)
            .map_err(|e| cfg_err(&dir.display().to_string(), e))?;
        self.renderer
            .clone()
            .save_file(dir.join(WEIGHTS_FILE))
            .map_err(|e| cfg_err(WEIGHTS_FILE, e))
    }

    /// Number of parameters of the network.
    pub fn num_params(&self) -> usize {
        self.renderer.num_params()
    }

    /// The embedded default model (see the module docs).
    ///
    /// # Errors
    /// [`NeuralError::NoEmbeddedModel`] when this build has none; as [`LoadedModel::from_bytes`].
    pub fn embedded(device: &Device) -> Result<Self> {
        match EMBEDDED {
            Some((c, w)) => Self::from_bytes(c, w, device, "embedded"),
            None => Err(NeuralError::NoEmbeddedModel),
        }
    }

    /// An untrained network (Kaiming init; the residual correction starts at exactly zero, so a
    /// residual-head model renders eMagLS). For parity tests and benchmarks.
    ///
    /// # Errors
    /// An invalid config.
    pub fn initialised(
        model_config: ModelConfig,
        features: FeatureConfig,
        device: &Device,
    ) -> Result<Self> {
        let renderer = model_config.init(device)?;
        Ok(Self {
            model_config,
            features,
            anthro_standardizer: None,
            renderer,
            source: "initialised".into(),
        })
    }
}

/// Chunking of the streamed inference (in STFT frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// New frames per chunk (block length `chunk_frames · hop` samples).
    pub chunk_frames: usize,
    /// Earlier frames run with each chunk (outputs discarded).
    pub left_context_frames: usize,
    /// Later frames run with each chunk for non-causal models (outputs discarded; adds
    /// `right_context_frames · hop` samples of latency). Ignored (0) for causal models.
    pub right_context_frames: usize,
}

impl Default for StreamConfig {
    /// 256 new frames (0.68 s at hop 128, 48 kHz), 64 frames of context on each side.
    fn default() -> Self {
        Self {
            chunk_frames: 256,
            left_context_frames: 64,
            right_context_frames: 64,
        }
    }
}

/// A model bound to an array, an HRTF set (its eMagLS base weights) and a listener: renders
/// chunks of frames (`&self`, shareable).
#[derive(Clone)]
pub struct NeuralBinaural {
    model: NeuralRenderer,
    fx: FeatureExtractor,
    /// Residual head: the eMagLS weights for the one-pass beamformer of inference, with each
    /// bin's correction gain ([`FusedHead`]); `None` for the direct head.
    fused: Option<Arc<FusedHead>>,
    anthro: Anthropometry,
    causal: bool,
    n_caps: usize,
    device: Device,
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for NeuralBinaural {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeuralBinaural")
            .field("stft", self.fx.stft())
            .field("residual", &self.fused.is_some())
            .field("causal", &self.causal)
            .field("anthro", &self.anthro)
            .finish()
    }
}

impl NeuralBinaural {
    /// Bind `model` to `array` (must have the model's capsule count), `hrtf` (its rate must be
    /// the model's feature rate; the residual head's eMagLS weights are designed for it) and the
    /// listener `anthro`.
    ///
    /// # Errors
    /// Capsule-count or sample-rate mismatch, eMagLS design errors.
    pub fn new(
        model: &LoadedModel,
        array: &ArrayGeometry,
        hrtf: &HrtfSet,
        anthro: Anthropometry,
        device: &Device,
    ) -> Result<Self> {
        let mc = &model.model_config;
        if array.num_capsules() != mc.n_caps {
            return Err(NeuralError::Shape {
                expected: format!("an array of {} capsules (the model's)", mc.n_caps),
                got: format!("{} ({})", array.num_capsules(), array.name),
            });
        }
        let fs = hrtf.sample_rate_hz();
        if (fs - model.features.sample_rate_hz).abs() > 1e-6 {
            return Err(NeuralError::Config(format!(
                "the model was trained at {} Hz, the input/HRTF is at {fs} Hz (resample the input)",
                model.features.sample_rate_hz
            )));
        }
        let fx = FeatureExtractor::new(&model.features, array)?;
        if fx.config().num_planes(mc.n_caps) != mc.in_planes
            || fx.config().num_aux(mc.n_caps) != mc.aux_dim
        {
            return Err(NeuralError::Config(format!(
                "feature settings give {} planes and {} aux values, the network takes {} and {}",
                fx.config().num_planes(mc.n_caps),
                fx.config().num_aux(mc.n_caps),
                mc.in_planes,
                mc.aux_dim
            )));
        }
        let fused = match mc.head {
            HeadKind::Residual => {
                let w = EmaglsWeights::design(
                    hrtf,
                    array,
                    model.features.n_fft,
                    &EmaglsDesign::default(),
                )?;
                Some(Arc::new(FusedHead::new(
                    &w,
                    model.renderer.residual_scale(),
                )))
            }
            HeadKind::Direct => None,
        };
        let inv = RealFftPlanner::<f32>::new().plan_fft_inverse(model.features.n_fft);
        Ok(Self {
            model: model.renderer.clone(),
            fx,
            fused,
            anthro,
            causal: mc.is_causal(),
            n_caps: mc.n_caps,
            device: device.clone(),
            inv,
        })
    }

    /// Whether the network is causal in time.
    pub fn is_causal(&self) -> bool {
        self.causal
    }

    /// The feature extractor (STFT settings).
    pub fn features(&self) -> &FeatureExtractor {
        &self.fx
    }

    /// Run the network on the frames of `seg` (`[capsule][sample]`, a segment of the signal
    /// that starts at the first sample of its first frame and ends at the last sample of its
    /// last frame, i.e. `(n − 1)·hop + n_fft` samples for `n` frames) and return the binaural
    /// STFT of frames `keep.0 .. keep.1` of the segment as `[ear][frame][bin]`.
    ///
    /// # Errors
    /// Segment of the wrong length or channel count, non-finite input, network errors.
    pub fn render_frames(
        &self,
        seg: &[Vec<f32>],
        keep: (usize, usize),
    ) -> Result<[Vec<Vec<Complex32>>; 2]> {
        self.render_frames_timed(seg, keep, None)
    }

    /// [`NeuralBinaural::render_frames`], adding the time of the feature extraction, of each
    /// network stage ([`NeuralRenderer::forward_timed`]) and of reading the output back to
    /// `times` when given.
    ///
    /// # Errors
    /// As [`NeuralBinaural::render_frames`].
    pub fn render_frames_timed(
        &self,
        seg: &[Vec<f32>],
        keep: (usize, usize),
        mut times: Option<&mut StageTimes>,
    ) -> Result<[Vec<Vec<Complex32>>; 2]> {
        let t_start = std::time::Instant::now();
        let stft = self.fx.stft();
        let (n_fft, hop) = (stft.n_fft(), stft.hop());
        let len = seg.first().map_or(0, Vec::len);
        if len < n_fft || (len - n_fft) % hop != 0 {
            return Err(NeuralError::Shape {
                expected: format!("(n − 1)·{hop} + {n_fft} samples"),
                got: len.to_string(),
            });
        }
        let n = (len - n_fft) / hop + 1;
        if keep.0 >= keep.1 || keep.1 > n {
            return Err(NeuralError::Shape {
                expected: format!("a frame range inside 0..{n}"),
                got: format!("{}..{}", keep.0, keep.1),
            });
        }
        // The extractor pads `n_fft − hop` zeros before the segment: its frame `j0` is the
        // segment's first full frame.
        let j0 = n_fft / hop - 1;
        let sf = self.fx.extract_frames(seg, j0, n)?;
        if let Some(fused) = &self.fused {
            return self.render_residual(sf, keep, fused, times, t_start);
        }
        // Direct head: the network's output is the binaural STFT.
        let input = RendererInput::from_scenes(&[&sf], &[self.anthro], None, &self.device)?;
        if let Some(t) = times.as_deref_mut() {
            t.add(
                "features (STFT, planes, SH, tensors)",
                t_start.elapsed().as_secs_f64(),
            );
        }
        let out = self.model.forward_timed(&input, times.as_deref_mut())?;
        let t_out = std::time::Instant::now();
        let [_, _, f_n, t_n] = out.re.dims();
        let vals = |t: Tensor<4>| -> Result<Vec<f32>> {
            t.into_data()
                .try_to_vec::<f32>()
                .map_err(|e| NeuralError::Config(format!("network output: {e:?}")))
        };
        let (re, im) = (vals(out.re)?, vals(out.im)?);
        let ear = |e: usize| -> Vec<Vec<Complex32>> {
            (keep.0..keep.1)
                .map(|t| {
                    (0..f_n)
                        .map(|k| {
                            let i = (e * f_n + k) * t_n + t;
                            Complex32::new(re[i], im[i])
                        })
                        .collect()
                })
                .collect()
        };
        let frames = [ear(0), ear(1)];
        if let Some(t) = times {
            t.add("output read-back", t_out.elapsed().as_secs_f64());
        }
        Ok(frames)
    }

    /// A streaming processor with `cfg` chunking.
    ///
    /// # Errors
    /// `chunk_frames` 0.
    pub fn stream(&self, cfg: StreamConfig) -> Result<NeuralStream> {
        NeuralStream::new(self.clone(), cfg)
    }

    /// Render whole in-memory capsule signals (`[capsule][sample]`) to `[2][sample]`, streamed
    /// with `cfg` (memory bounded by the chunk, not the signal length; the output has the input's
    /// length and no latency).
    ///
    /// # Errors
    /// As [`NeuralStream`] processing.
    pub fn render(&self, capsules: &[Vec<f32>], cfg: StreamConfig) -> Result<Vec<Vec<f32>>> {
        let mut s = self.stream(cfg)?;
        sphear_core::stream::process_buffers(&mut s, capsules)
            .map_err(|e| NeuralError::Config(e.to_string()))
    }
}

/// The residual head applied in one pass at inference: per ear `e`, capsule `c`, bin `k`,
/// `W = B[e][c][k] + g[e][k]·ΔW` with `g = s·rms_c|B[e][·][k]|` (or 1 for an absolute
/// correction), `Y = Σ_c W·X_c`: the same arithmetic as the tensor form of
/// `NeuralRenderer::forward` (f32), without its full-size temporaries.
#[derive(Debug)]
struct FusedHead {
    n_caps: usize,
    n_bins: usize,
    /// eMagLS weights `[ear][c][k]`, real and imaginary parts.
    base_re: Vec<f32>,
    base_im: Vec<f32>,
    /// Correction gain `[ear][k]`.
    gain: Vec<f32>,
}

impl FusedHead {
    fn new(w: &EmaglsWeights, residual_scale: f64) -> Self {
        let (c_n, k_n) = (w.n_caps, w.n_bins);
        let mut base_re = Vec::with_capacity(2 * c_n * k_n);
        let mut base_im = Vec::with_capacity(2 * c_n * k_n);
        for ear in &w.w {
            for ch in ear {
                base_re.extend(ch.iter().map(|v| v.re as f32));
                base_im.extend(ch.iter().map(|v| v.im as f32));
            }
        }
        let mut gain = vec![1.0f32; 2 * k_n];
        if residual_scale > 0.0 {
            for e in 0..2 {
                for k in 0..k_n {
                    let ms = (0..c_n)
                        .map(|c| {
                            let i = (e * c_n + c) * k_n + k;
                            base_re[i] * base_re[i] + base_im[i] * base_im[i]
                        })
                        .sum::<f32>()
                        / c_n as f32;
                    gain[e * k_n + k] = ms.sqrt() * residual_scale as f32;
                }
            }
        }
        Self {
            n_caps: c_n,
            n_bins: k_n,
            base_re,
            base_im,
            gain,
        }
    }

    /// `Y_e(k, t) = Σ_c W_e(c, k, t)·X_c(k, t)` for `n` frames: the corrections `corr[e]`
    /// (`[1, 2C, K, T_d]`) from their frame `d_off`, the capsule STFT (`[C][K][T_x]`) from its
    /// frame `x_off`. Returns `[ear][frame][bin]`.
    fn apply(
        &self,
        corr: [Tensor<4>; 2],
        (t_d, d_off): (usize, usize),
        (x_re, x_im, t_x, x_off): (&[f32], &[f32], usize, usize),
        n: usize,
    ) -> Result<[Vec<Vec<Complex32>>; 2]> {
        let (c_n, k_n) = (self.n_caps, self.n_bins);
        if d_off + n > t_d || x_off + n > t_x || x_re.len() != c_n * k_n * t_x {
            return Err(NeuralError::Shape {
                expected: format!("{n} frames of corrections and capsule STFT"),
                got: format!("{t_d} from {d_off}, {t_x} from {x_off}"),
            });
        }
        let mut acc_re = vec![0.0f32; k_n * n];
        let mut acc_im = vec![0.0f32; k_n * n];
        let mut out: [Vec<Vec<Complex32>>; 2] = [Vec::new(), Vec::new()];
        for (e, d) in corr.into_iter().enumerate() {
            let d: Vec<f32> = d
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| NeuralError::Config(format!("network output: {e:?}")))?;
            if d.len() != 2 * c_n * k_n * t_d {
                return Err(NeuralError::Shape {
                    expected: format!("[1, {}, {k_n}, {t_d}] corrections", 2 * c_n),
                    got: d.len().to_string(),
                });
            }
            acc_re.fill(0.0);
            acc_im.fill(0.0);
            for c in 0..c_n {
                for k in 0..k_n {
                    let bi = (e * c_n + c) * k_n + k;
                    let (b_re, b_im, g) =
                        (self.base_re[bi], self.base_im[bi], self.gain[e * k_n + k]);
                    let dr0 = (c * k_n + k) * t_d + d_off;
                    let di0 = ((c_n + c) * k_n + k) * t_d + d_off;
                    let x0 = (c * k_n + k) * t_x + x_off;
                    let r = k * n..(k + 1) * n;
                    for ((((ar, ai), (&dr, &di)), &xr), &xi) in acc_re[r.clone()]
                        .iter_mut()
                        .zip(&mut acc_im[r])
                        .zip(d[dr0..dr0 + n].iter().zip(&d[di0..di0 + n]))
                        .zip(&x_re[x0..x0 + n])
                        .zip(&x_im[x0..x0 + n])
                    {
                        let (w_re, w_im) = (b_re + g * dr, b_im + g * di);
                        *ar += w_re * xr - w_im * xi;
                        *ai += w_re * xi + w_im * xr;
                    }
                }
            }
            out[e] = (0..n)
                .map(|t| {
                    (0..k_n)
                        .map(|k| Complex32::new(acc_re[k * n + t], acc_im[k * n + t]))
                        .collect()
                })
                .collect();
        }
        Ok(out)
    }
}

impl NeuralBinaural {
    /// Residual head at inference: run the network up to the ear branches
    /// ([`NeuralRenderer::forward_corrections`]) and apply the beamformer in one pass.
    fn render_residual(
        &self,
        sf: SceneFeatures,
        keep: (usize, usize),
        fused: &FusedHead,
        mut times: Option<&mut StageTimes>,
        t_start: std::time::Instant,
    ) -> Result<[Vec<Vec<Complex32>>; 2]> {
        let (c_n, k_n, t_n) = (sf.n_caps, sf.n_bins, sf.n_frames);
        if c_n != fused.n_caps || k_n != fused.n_bins {
            return Err(NeuralError::Shape {
                expected: format!("{} capsules and {} bins", fused.n_caps, fused.n_bins),
                got: format!("{c_n} and {k_n}"),
            });
        }
        let SceneFeatures {
            planes,
            n_planes,
            aux,
            n_aux,
            stft_re,
            stft_im,
            ..
        } = sf;
        let planes = Tensor::<4>::from_data(
            TensorData::new(planes, [1, n_planes, k_n, t_n]),
            &self.device,
        );
        let aux = Tensor::<3>::from_data(TensorData::new(aux, [1, n_aux, t_n]), &self.device);
        let anthro = Tensor::<2>::from_data(
            TensorData::new(self.anthro.0.to_vec(), [1, self.anthro.0.len()]),
            &self.device,
        );
        if let Some(t) = times.as_deref_mut() {
            t.add(
                "features (STFT, planes, SH, tensors)",
                t_start.elapsed().as_secs_f64(),
            );
        }
        let corr = self
            .model
            .forward_corrections(&planes, &aux, &anthro, times.as_deref_mut())?;
        let t_bf = std::time::Instant::now();
        let out = fused.apply(
            corr,
            (t_n, keep.0),
            (&stft_re, &stft_im, t_n, keep.0),
            keep.1 - keep.0,
        )?;
        if let Some(t) = times {
            t.add(
                "beamformer (eMagLS + correction)",
                t_bf.elapsed().as_secs_f64(),
            );
        }
        Ok(out)
    }
}

/// Streaming neural renderer (a [`BlockProcessor`], see the module docs). Sample indices below
/// are absolute input positions; frame `t` covers samples `t·hop − (n_fft − hop) .. t·hop + hop`.
#[derive(Debug)]
pub struct NeuralStream {
    net: NeuralBinaural,
    cfg: StreamConfig,
    n_fft: usize,
    hop: usize,
    /// Input history `[capsule]`, starting at absolute sample `hist_start`.
    hist: Vec<Vec<f32>>,
    hist_start: i64,
    /// Samples received.
    received: i64,
    /// Next frame to render.
    next_frame: i64,
    /// Overlap-add accumulator `[ear]`, starting at absolute sample `ola_start`.
    ola: [Vec<f32>; 2],
    ola_start: i64,
    window_gain: Vec<f32>,
    frame_buf: Vec<f32>,
    scratch: Vec<Complex32>,
    /// Per-stage times when enabled ([`NeuralStream::enable_stage_times`]).
    stage_times: Option<StageTimes>,
    /// Incremental state of a causal residual model (`None`: each chunk re-runs its window).
    cache: Option<CausalCache>,
}

/// What the incremental stream of a causal model keeps between chunks: each encoder stage's
/// last input frames, and the encoder activations and SH descriptors of the last
/// `max(left_context_frames, dec_lookback)` frames (each computed once, with its full causal
/// history) as the next chunk's bottleneck context.
#[derive(Debug)]
struct CausalCache {
    /// Earlier frames the decoder and ears read ([`NeuralRenderer::causal_lookback_frames`]).
    dec_lookback: usize,
    /// Each encoder stage's last input frames ([`NeuralRenderer::encode_incremental`]).
    enc_history: crate::model::EncoderHistory,
    /// Encoder activations and SH descriptors `[1, A, T]` of the frames before the next chunk.
    context: Option<(crate::model::EncodedFrames, Tensor<3>)>,
}

impl NeuralStream {
    /// Stream `net` with `cfg` (right context forced to 0 for causal models).
    ///
    /// # Errors
    /// `chunk_frames` 0.
    pub fn new(net: NeuralBinaural, mut cfg: StreamConfig) -> Result<Self> {
        if cfg.chunk_frames == 0 {
            return Err(NeuralError::Config("chunk_frames must be > 0".into()));
        }
        if net.causal {
            cfg.right_context_frames = 0;
        }
        let stft = net.fx.stft();
        let (n_fft, hop) = (stft.n_fft(), stft.hop());
        let gain = 2.0 * hop as f32 / n_fft as f32 / n_fft as f32;
        let window_gain = stft.window().iter().map(|w| w * gain).collect();
        let caps = net.n_caps;
        let first = -((n_fft - hop) as i64);
        let cache = match (&net.fused, net.model.causal_lookback_frames()) {
            (Some(_), Some((_, dec_lookback))) => Some(CausalCache {
                dec_lookback,
                enc_history: crate::model::EncoderHistory::default(),
                context: None,
            }),
            _ => None,
        };
        Ok(Self {
            cache,
            frame_buf: vec![0.0; n_fft],
            scratch: net.inv.make_scratch_vec(),
            net,
            cfg,
            n_fft,
            hop,
            hist: vec![Vec::new(); caps],
            hist_start: 0,
            received: 0,
            next_frame: 0,
            ola: [Vec::new(), Vec::new()],
            ola_start: first,
            window_gain,
            stage_times: None,
        })
    }

    /// Start accumulating per-stage compute times (input buffering, features, each network stage,
    /// inverse STFT): the profile of `sphear bench --neural`. Costs a few clock reads per chunk.
    pub fn enable_stage_times(&mut self) {
        self.stage_times.get_or_insert_with(StageTimes::default);
    }

    /// The per-stage times accumulated since [`NeuralStream::enable_stage_times`].
    pub fn stage_times(&self) -> Option<&StageTimes> {
        self.stage_times.as_ref()
    }

    /// Whether chunks are rendered incrementally (a causal model with the residual head, the
    /// default for it): each frame's encoder activations are computed once and kept for the
    /// next chunks' bottleneck context, and the decoder and ear branches run only on the new
    /// frames and their lookback. The result is the windowed rendering's (each chunk's window
    /// run from scratch) except that the context frames' encoder activations are exact instead
    /// of zero-padded at the window's start.
    pub fn is_incremental(&self) -> bool {
        self.cache.is_some()
    }

    /// Render each chunk by re-running the network on its whole window (new frames plus
    /// `left_context_frames`) even for a causal model: the reference for the incremental path,
    /// and what non-causal models always do. Call before the first block.
    pub fn disable_incremental(&mut self) {
        self.cache = None;
    }

    /// The chunking in use.
    pub fn config(&self) -> StreamConfig {
        self.cfg
    }

    fn frame_start(&self, t: i64) -> i64 {
        t * self.hop as i64 - (self.n_fft - self.hop) as i64
    }

    /// The input samples of frames `e0 .. e1` (zeros before the start).
    fn segment(&self, e0: i64, e1: i64) -> Vec<Vec<f32>> {
        let (s0, s1) = (
            self.frame_start(e0),
            self.frame_start(e1 - 1) + self.n_fft as i64,
        );
        self.hist
            .iter()
            .map(|h| {
                (s0..s1)
                    .map(|i| {
                        let j = i - self.hist_start;
                        if i < 0 || j < 0 || j as usize >= h.len() {
                            0.0
                        } else {
                            h[j as usize]
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Incremental chunk of a causal residual model (see [`NeuralStream::is_incremental`]):
    /// the binaural STFT of frames `t0 .. t1`.
    fn incremental_frames(
        &mut self,
        t0: i64,
        t1: i64,
        t_start: std::time::Instant,
    ) -> Result<[Vec<Vec<Complex32>>; 2]> {
        let fused = self.net.fused.clone().ok_or_else(|| {
            NeuralError::Config("incremental streaming needs the residual head".into())
        })?;
        let n = (t1 - t0) as usize;
        let seg = self.segment(t0, t1);
        let j0 = self.n_fft / self.hop - 1;
        let sf = self.net.fx.extract_frames(&seg, j0, n)?;
        let k_n = sf.n_bins;
        let dev = self.net.device.clone();
        let planes =
            Tensor::<4>::from_data(TensorData::new(sf.planes, [1, sf.n_planes, k_n, n]), &dev);
        let aux_new = Tensor::<3>::from_data(TensorData::new(sf.aux, [1, sf.n_aux, n]), &dev);
        let anthro = Tensor::<2>::from_data(
            TensorData::new(self.net.anthro.0.to_vec(), [1, ANTHRO_DIM]),
            &dev,
        );
        if let Some(t) = self.stage_times.as_mut() {
            t.add(
                "features (STFT, planes, SH, tensors)",
                t_start.elapsed().as_secs_f64(),
            );
        }
        let Some(cache) = self.cache.as_mut() else {
            return Err(NeuralError::Config("no incremental state".into()));
        };
        let enc_new = self.net.model.encode_incremental(
            &planes,
            &mut cache.enc_history,
            self.stage_times.as_mut(),
        )?;
        let t_mid = std::time::Instant::now();
        let (enc, aux) = match cache.context.take() {
            Some((e, a)) => (e.cat_frames(enc_new), Tensor::cat(vec![a, aux_new], 2)),
            None => (enc_new, aux_new),
        };
        // The window is the kept context followed by the new frames; the decoder reads the
        // last `n + dec_lookback` of them.
        let t_win = enc.frames();
        let dec_from = (t_win - n).saturating_sub(cache.dec_lookback);
        let keep = t_win.min(self.cfg.left_context_frames.max(cache.dec_lookback));
        cache.context = Some((
            enc.clone().narrow_frames(t_win - keep, keep),
            aux.clone().narrow(2, t_win - keep, keep),
        ));
        if let Some(t) = self.stage_times.as_mut() {
            t.add("context cache", t_mid.elapsed().as_secs_f64());
        }
        let corr = self.net.model.decode_corrections(
            enc,
            &aux,
            &anthro,
            k_n,
            dec_from,
            self.stage_times.as_mut(),
        )?;
        let t_bf = std::time::Instant::now();
        let t_d = t_win - dec_from;
        let out = fused.apply(corr, (t_d, t_d - n), (&sf.stft_re, &sf.stft_im, n, 0), n)?;
        if let Some(t) = self.stage_times.as_mut() {
            t.add(
                "beamformer (eMagLS + correction)",
                t_bf.elapsed().as_secs_f64(),
            );
        }
        Ok(out)
    }

    fn run_chunk(&mut self, t1: i64) -> Result<()> {
        let t_start = std::time::Instant::now();
        let t0 = self.next_frame;
        let frames = if self.cache.is_some() {
            self.incremental_frames(t0, t1, t_start)?
        } else {
            self.windowed_frames(t0, t1, t_start)?
        };
        self.overlap_add(t0, t1, &frames);
        self.next_frame = t1;
        Ok(())
    }

    /// Windowed chunk: the network on frames `t0 − left_context .. t1 + right_context`.
    fn windowed_frames(
        &mut self,
        t0: i64,
        t1: i64,
        t_start: std::time::Instant,
    ) -> Result<[Vec<Vec<Complex32>>; 2]> {
        let e0 = (t0 - self.cfg.left_context_frames as i64).max(0);
        let e1 = t1 + self.cfg.right_context_frames as i64;
        let seg = self.segment(e0, e1);
        if let Some(t) = self.stage_times.as_mut() {
            t.add("input context", t_start.elapsed().as_secs_f64());
        }
        self.net.render_frames_timed(
            &seg,
            ((t0 - e0) as usize, (t1 - e0) as usize),
            self.stage_times.as_mut(),
        )
    }

    /// Inverse STFT and overlap-add of the binaural frames `t0 .. t1`.
    fn overlap_add(&mut self, t0: i64, t1: i64, frames: &[Vec<Vec<Complex32>>; 2]) {
        let t_ola = std::time::Instant::now();
        let need = (self.frame_start(t1 - 1) + self.n_fft as i64 - self.ola_start) as usize;
        for (e, ear) in frames.iter().enumerate() {
            if self.ola[e].len() < need {
                self.ola[e].resize(need, 0.0);
            }
            for (i, spec) in ear.iter().enumerate() {
                let mut spec = spec.clone();
                spec[0].im = 0.0;
                let last = spec.len() - 1;
                spec[last].im = 0.0;
                let _ = self.net.inv.process_with_scratch(
                    &mut spec,
                    &mut self.frame_buf,
                    &mut self.scratch,
                );
                let off = (self.frame_start(t0 + i as i64) - self.ola_start) as usize;
                for (n, (v, w)) in self.frame_buf.iter().zip(&self.window_gain).enumerate() {
                    self.ola[e][off + n] += v * w;
                }
            }
        }
        if let Some(t) = self.stage_times.as_mut() {
            t.add("inverse STFT + overlap-add", t_ola.elapsed().as_secs_f64());
        }
    }
}

impl BlockProcessor for NeuralStream {
    fn num_inputs(&self) -> usize {
        self.net.n_caps
    }
    fn num_outputs(&self) -> usize {
        2
    }
    fn block_len(&self) -> usize {
        self.cfg.chunk_frames * self.hop
    }
    /// `right_context_frames · hop + n_fft − hop`.
    fn latency_samples(&self) -> usize {
        self.cfg.right_context_frames * self.hop + self.n_fft - self.hop
    }
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) -> sphear_core::Result<()> {
        let b = self.block_len();
        if input.len() != self.net.n_caps || input.iter().any(|c| c.len() != b) {
            return Err(sphear_core::CoreError::InvalidArgument(format!(
                "neural stream takes {} channels of {b} samples",
                self.net.n_caps
            )));
        }
        for (h, x) in self.hist.iter_mut().zip(input) {
            h.extend_from_slice(x);
        }
        self.received += b as i64;
        // Frames whose samples (with the right context) have all arrived.
        let t1 = self.received / self.hop as i64 - self.cfg.right_context_frames as i64;
        if t1 > self.next_frame {
            self.run_chunk(t1)
                .map_err(|e| sphear_core::CoreError::InvalidArgument(e.to_string()))?;
        }
        // Samples before frame_start(next_frame) are final; emit the block ending there.
        let end = self.frame_start(t1);
        let start = end - b as i64;
        for (e, out) in output.iter_mut().enumerate() {
            for (n, o) in out.iter_mut().enumerate() {
                let j = start + n as i64 - self.ola_start;
                *o = if j >= 0 && (j as usize) < self.ola[e].len() {
                    self.ola[e][j as usize]
                } else {
                    0.0
                };
            }
        }
        // Drop what no later chunk needs.
        let drop_ola = (end - self.ola_start).clamp(0, self.ola[0].len() as i64) as usize;
        for o in &mut self.ola {
            o.drain(..drop_ola.min(o.len()));
        }
        self.ola_start += drop_ola as i64;
        let back = if self.cache.is_some() {
            0
        } else {
            self.cfg.left_context_frames
        };
        let keep_from = self.frame_start((self.next_frame - back as i64).max(0));
        let drop_hist = (keep_from - self.hist_start).clamp(0, self.hist[0].len() as i64) as usize;
        for h in &mut self.hist {
            h.drain(..drop_hist);
        }
        self.hist_start += drop_hist as i64;
        Ok(())
    }
}
