//! Network configuration: one [`ModelConfig`] describes the lean (< 1 M parameters, CPU real
//! time) and the standard (~9 M) renderer; only widths, depths and switches differ.

use burn::config::Config;
use serde::{Deserialize, Serialize};

/// Recurrent layer over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemporalKind {
    /// Bidirectional GRU (offline; the paper's choice). Hidden size per direction.
    BiGru,
    /// Forward GRU, and every convolution causal in time (look-ahead 0 frames; real-time engine).
    CausalGru,
}

/// Output head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeadKind {
    /// The paper's output: a 1×1 convolution per ear to the ear's complex STFT.
    Direct,
    /// A signal-dependent beamformer: per-bin, per-frame complex weights for the capsule STFTs
    /// per ear, `W = W_eMagLS + ΔW`, with the correction layer initialised to zero so that the
    /// untrained network reproduces eMagLS (see [`crate::heads`]).
    Residual,
}

/// Widths, depths and switches of the renderer network (see `NETWORK.md` for the reading of the
/// paper). Shapes: `[batch, channels, freq, time]`.
#[derive(Config, Debug)]
pub struct ModelConfig {
    /// Input feature planes `P` (see [`crate::features::FeatureConfig::num_planes`]).
    pub in_planes: usize,
    /// Auxiliary per-frame vector length `A` (SH descriptors (+ GCC-PHAT)).
    pub aux_dim: usize,
    /// Capsules `C` (the residual head predicts `2C` real maps per ear).
    pub n_caps: usize,
    /// Encoder stage widths; `len − 1` stride-2 poolings over frequency (the paper: 64, 128, 256,
    /// 512 → frequency 513 → 65 after three poolings).
    pub enc_channels: Vec<usize>,
    /// Stage after whose block CBAM is applied (0-based; the paper: after the third block).
    #[config(default = 2)]
    pub cbam_stage: usize,
    /// Channel-attention MLP reduction ratio of CBAM.
    #[config(default = 8)]
    pub cbam_reduction: usize,
    /// Kernel of the CBAM spatial attention (square).
    #[config(default = 7)]
    pub cbam_kernel: usize,
    /// Hidden units of the GRU (per direction).
    pub rnn_hidden: usize,
    /// Recurrent layer / causality.
    #[config(default = "TemporalKind::BiGru")]
    pub temporal: TemporalKind,
    /// Width of the SH-branch descriptor (the paper: 128).
    pub sh_channels: usize,
    /// Embedding width at the bottleneck (the paper: 256).
    pub embed_dim: usize,
    /// Self-attention heads (the paper: 8).
    #[config(default = 8)]
    pub heads: usize,
    /// Widths of the two convolutions of each ear branch before the output 1×1 (the paper: 32, 16).
    pub ear_channels: [usize; 2],
    /// Output head.
    #[config(default = "HeadKind::Residual")]
    pub head: HeadKind,
    /// Depthwise-separable 3×3 convolutions in encoder and decoder blocks.
    #[config(default = false)]
    pub separable: bool,
    /// U-Net skip connections (ablation switch).
    #[config(default = true)]
    pub skip_connections: bool,
    /// Self-attention at the bottleneck (ablation switch).
    #[config(default = true)]
    pub attention: bool,
    /// CBAM (ablation switch).
    #[config(default = true)]
    pub cbam: bool,
    /// Conditional instance normalisation on the anthropometry (ablation switch).
    #[config(default = true)]
    pub cin: bool,
    /// Dropout after convolutions (the paper: 0.1).
    #[config(default = 0.1)]
    pub dropout_conv: f64,
    /// Dropout on the fully connected / embedding layers (the paper: 0.3).
    #[config(default = 0.3)]
    pub dropout_fc: f64,
    /// Source directions predicted by the DOA head.
    #[config(default = 1)]
    pub doa_sources: usize,
    /// Negative slope of the LeakyReLUs (the paper: 0.2).
    #[config(default = 0.2)]
    pub leaky_slope: f64,
    /// Residual head: scale of the weight correction relative to the eMagLS weights. `None`
    /// (the default, and every model trained before it existed): `W = W_eMagLS + ΔW`. `Some(s)`:
    /// `W = W_eMagLS + s · ‖W_eMagLS(e, ·, f)‖_rms · ΔW`, so that one optimiser step changes each
    /// bin's beamformer by a fraction of its own size (the eMagLS weights span orders of
    /// magnitude over frequency; an absolute ΔW moved by Adam's per-weight steps swamps the small
    /// high-frequency weights).
    #[config(default = "None")]
    pub residual_scale: Option<f64>,
}

impl ModelConfig {
    /// The lean model (< 1 M parameters; CPU real time): 3 stages 24-48-96, GRU 96, embedding 64.
    pub fn lean(in_planes: usize, aux_dim: usize, n_caps: usize) -> Self {
        ModelConfig::new(
            in_planes,
            aux_dim,
            n_caps,
            vec![24, 48, 96],
            96,
            32,
            64,
            [16, 16],
        )
        .with_cbam_stage(2)
        .with_temporal(TemporalKind::CausalGru)
        .with_separable(true)
    }

    /// The standard model (~10 M parameters): 4 stages 64-128-256-512, Bi-GRU 256, SH descriptor
    /// 128, embedding 256, 8 heads, ear branches 32-16 (the paper's widths), regular 3×3
    /// convolutions (`with_separable(true)` gives the compressed variant, ~3.7 M).
    pub fn standard(in_planes: usize, aux_dim: usize, n_caps: usize) -> Self {
        ModelConfig::new(
            in_planes,
            aux_dim,
            n_caps,
            vec![64, 128, 256, 512],
            256,
            128,
            256,
            [32, 16],
        )
    }

    /// A tiny model for tests (fast on one core).
    pub fn tiny(in_planes: usize, aux_dim: usize, n_caps: usize) -> Self {
        ModelConfig::new(in_planes, aux_dim, n_caps, vec![8, 16], 16, 8, 16, [8, 8])
            .with_cbam_stage(1)
            .with_cbam_reduction(4)
            .with_cbam_kernel(3)
    }

    /// Whether the model is causal in time.
    pub fn is_causal(&self) -> bool {
        self.temporal == TemporalKind::CausalGru
    }

    /// Frequency padding multiple: `2^(stages − 1)`.
    pub fn freq_multiple(&self) -> usize {
        1 << self.enc_channels.len().saturating_sub(1)
    }

    /// Check the configuration.
    ///
    /// # Errors
    /// Empty encoder, zero widths, embedding not divisible by the heads, CBAM stage out of range.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::NeuralError::Config(m));
        if self.enc_channels.is_empty() || self.enc_channels.contains(&0) {
            return bad(format!(
                "encoder widths must be non-empty and > 0, got {:?}",
                self.enc_channels
            ));
        }
        if self.heads == 0 || self.embed_dim % self.heads != 0 {
            return bad(format!(
                "embedding {} must be a multiple of the heads {}",
                self.embed_dim, self.heads
            ));
        }
        if self.cbam && self.cbam_stage >= self.enc_channels.len() {
            return bad(format!(
                "CBAM stage {} out of range for {} stages",
                self.cbam_stage,
                self.enc_channels.len()
            ));
        }
        if self.in_planes == 0
            || self.n_caps == 0
            || self.rnn_hidden == 0
            || self.sh_channels == 0
            || self.aux_dim == 0
            || self.doa_sources == 0
        {
            return bad("planes, capsules, GRU, SH, aux and DOA sizes must be > 0".into());
        }
        if let Some(s) = self.residual_scale
            && !(s.is_finite() && s > 0.0)
        {
            return bad(format!("residual_scale must be finite and > 0, got {s}"));
        }
        Ok(())
    }
}
