//! # sphear-neural
//!
//! The neural binaural renderer (work in progress): em32 capsule signals → binaural STFT, after
//! the architecture of the project's paper (§2.1–2.3, Table 1), in [burn] 0.22 with the pure-Rust
//! `flex` CPU backend by default. The model code has no backend type parameter (burn 0.22 picks
//! the backend from the runtime [`burn::tensor::Device`]), so a GPU backend is a device change.
//!
//! * [`features`]: sqrt-Hann WOLA STFT, log-magnitude / compressed real-imaginary / IPD planes,
//!   SH descriptors from the order-4 encoder, GCC-PHAT option, anthropometry.
//! * [`config`]: [`ModelConfig`] (lean, standard, tiny) with the ablation switches.
//! * [`model`]: the network — residual conv blocks (BN + LeakyReLU), frequency pooling, CBAM,
//!   GRU (bidirectional or causal), SH branch, 1×1 fusion to the embedding, 8-head self-attention,
//!   U-Net decoder with skips, CIN on the anthropometry, two ear branches.
//! * [`heads`]: direct complex-STFT output, or the residual beamformer head around eMagLS.
//! * [`loss`]: reconstruction, DOA, binaural-cue and multi-resolution STFT terms, weighted.
//! * [`infer`]: load a model directory (or the embedded model), streamed chunked inference.
//! * [`average`]: checkpoint weight averaging (`sphear average`).
//! * [`training`]: Adam on a `sphear dataset` directory, streamed and shuffled, checkpoints with
//!   config and dataset hash, resumable.
//!
//! The reading of the paper's inconsistent shapes is documented in `NETWORK.md` in this crate.

pub mod average;
pub mod config;
pub mod error;
pub mod features;
pub mod heads;
pub mod infer;
pub mod loss;
pub mod model;
pub mod training;

/// burn's runtime device (CPU `flex`, or LibTorch with the `gpu` feature), for callers that hold
/// one without depending on burn themselves.
pub use burn::tensor::Device;
pub use config::{HeadKind, ModelConfig, TemporalKind};
pub use error::{NeuralError, Result};
pub use features::{Anthropometry, FeatureConfig, FeatureExtractor, SceneFeatures, Stft};
pub use heads::{EmaglsDesign, EmaglsTensors, EmaglsWeights};
pub use infer::{LoadedModel, NeuralBinaural, NeuralStream, StreamConfig};
pub use loss::{LossTerms, LossWeights, Target, WeightedLoss};
pub use model::{
    EncodedFrames, EncoderHistory, NeuralRenderer, RendererInput, RendererOutput, StageTimes,
};
