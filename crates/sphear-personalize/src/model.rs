//! The conditional VAE (burn).
//!
//! Shapes (`B` = batch, `w` = width, the paper's encoder is `w = 32`: 32, 64, 128, 256, 512
//! filters; the committed model uses `w = 16`, see `MODEL_CARD.md`):
//!
//! * input: residual spectrum `x` `[B, 256]` (dB minus the training-set mean spectrum of that
//!   direction, divided by 10), anthropometry `a` `[B, 12]` (standardised), direction features
//!   `d` `[B, 8]` ([`direction_features`]).
//! * conditioning: `c = [MLP₃(a) (32), MLP₃(d) (32)]`, each MLP three fully connected layers
//!   with ReLU between.
//! * encoder `q(z | x, c)`: five blocks Conv1d(k = 3, stride 2, pad 1) + BatchNorm + ReLU,
//!   `[B,1,256] → [B,w,128] → [B,2w,64] → [B,4w,32] → [B,8w,16] → [B,16w,8]`, flatten, concat `c`,
//!   Linear → `μ`, `log σ²` (64 each). `z = μ + σ·ε`, `ε ~ N(0, I)` (reparameterisation).
//! * decoder `p(x | z, c)`: Linear(`[z, c]`) → `[B,16w,8]`, four ConvTranspose1d(k = 4, stride 2,
//!   pad 1) + BatchNorm + ReLU blocks (`16w → 8w → 4w → 2w → w`, length 8 → 128), a last
//!   ConvTranspose1d(`w → 1`) to length 256.
//! * loss: `L = mean (x̂ − x)² + β·KL(q ‖ N(0, I)) / 256` with β annealed (see `train`).
//!
//! At inference the decoder is run with `z = 0`, the prior mean (the prior is N(0, I), not
//! conditional): the most probable spectrum for the given anthropometry and direction.

use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig1d, Relu};
use burn::prelude::*;

use crate::data::N_FEATURES;
use crate::dsp::N_BINS;

/// Latent dimension.
pub const LATENT: usize = 64;
/// Number of direction features.
pub const DIR_FEATURES: usize = 8;
/// Size of each conditioning embedding (anthropometry, direction).
pub const EMBED: usize = 32;
/// Hidden width of the conditioning MLPs.
pub const MLP_HIDDEN: usize = 64;

/// Architecture hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CvaeConfig {
    /// Filters of the first encoder block (the five blocks have w, 2w, 4w, 8w, 16w).
    pub width: usize,
}

impl Default for CvaeConfig {
    fn default() -> Self {
        Self { width: 16 }
    }
}

/// Ear-relative direction features for the left-ear frame: `θ'` = lateral angle towards the
/// modelled ear (radians, positive = ipsilateral), `φ` = polar angle:
/// `[sin θ', cos θ' cos φ, cos θ' sin φ, cos 2θ', cos θ' cos 2φ, cos θ' sin 2φ, θ'/(π/2), φ/π − ½]`.
pub fn direction_features(lateral_ipsi_rad: f64, polar_rad: f64) -> [f32; DIR_FEATURES] {
    let (t, p) = (lateral_ipsi_rad, polar_rad);
    [
        t.sin(),
        t.cos() * p.cos(),
        t.cos() * p.sin(),
        (2.0 * t).cos(),
        t.cos() * (2.0 * p).cos(),
        t.cos() * (2.0 * p).sin(),
        t / std::f64::consts::FRAC_PI_2,
        p / std::f64::consts::PI - 0.5,
    ]
    .map(|v| v as f32)
}

/// Conv1d(k = 3, stride 2, pad 1) + BatchNorm + ReLU: `[B, C_in, L] → [B, C_out, L/2]`.
#[derive(Module, Debug)]
pub struct DownBlock {
    conv: Conv1d,
    bn: BatchNorm,
    act: Relu,
}

impl DownBlock {
    /// New block.
    pub fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        Self {
            conv: Conv1dConfig::new(c_in, c_out, 3)
                .with_stride(2)
                .with_padding(PaddingConfig1d::Explicit(1, 1))
                .init(device),
            bn: BatchNormConfig::new(c_out).init(device),
            act: Relu::new(),
        }
    }

    /// Forward.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.act.forward(self.bn.forward(self.conv.forward(x)))
    }
}

/// ConvTranspose1d(k = 4, stride 2, pad 1) (+ BatchNorm + ReLU): `[B, C_in, L] → [B, C_out, 2L]`.
#[derive(Module, Debug)]
pub struct UpBlock {
    conv: ConvTranspose1d,
    bn: BatchNorm,
    act: Relu,
}

fn up_conv(c_in: usize, c_out: usize, device: &Device) -> ConvTranspose1d {
    ConvTranspose1dConfig::new([c_in, c_out], 4)
        .with_stride(2)
        .with_padding(1)
        .init(device)
}

impl UpBlock {
    /// New block.
    pub fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        Self {
            conv: up_conv(c_in, c_out, device),
            bn: BatchNormConfig::new(c_out).init(device),
            act: Relu::new(),
        }
    }

    /// Forward.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.act.forward(self.bn.forward(self.conv.forward(x)))
    }
}

/// Three fully connected layers with ReLU between: `[B, d_in] → [B, d_out]`.
#[derive(Module, Debug)]
pub struct Mlp3 {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    act: Relu,
}

impl Mlp3 {
    /// New MLP `d_in → hidden → hidden → d_out`.
    pub fn new(d_in: usize, hidden: usize, d_out: usize, device: &Device) -> Self {
        Self {
            l1: LinearConfig::new(d_in, hidden).init(device),
            l2: LinearConfig::new(hidden, hidden).init(device),
            l3: LinearConfig::new(hidden, d_out).init(device),
            act: Relu::new(),
        }
    }

    /// Forward.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.act.forward(self.l1.forward(x));
        let x = self.act.forward(self.l2.forward(x));
        self.l3.forward(x)
    }
}

/// The conditional VAE.
#[derive(Module, Debug)]
pub struct Cvae {
    encoder: Vec<DownBlock>,
    enc_head: Linear,
    anthro_mlp: Mlp3,
    dir_mlp: Mlp3,
    dec_in: Linear,
    decoder: Vec<UpBlock>,
    dec_out: ConvTranspose1d,
    act: Relu,
    width: usize,
}

/// Spatial length at the bottleneck (256 / 2⁵).
pub const BOTTLENECK_LEN: usize = N_BINS / 32;

impl Cvae {
    /// A freshly initialised model (Kaiming-uniform weights, burn's default).
    pub fn new(cfg: CvaeConfig, device: &Device) -> Self {
        let w = cfg.width.max(1);
        let ch = [1, w, 2 * w, 4 * w, 8 * w, 16 * w];
        let encoder = (0..5)
            .map(|i| DownBlock::new(ch[i], ch[i + 1], device))
            .collect();
        let flat = 16 * w * BOTTLENECK_LEN;
        let decoder = (0..4)
            .map(|i| UpBlock::new(ch[5 - i], ch[4 - i], device))
            .collect();
        Self {
            encoder,
            enc_head: LinearConfig::new(flat + 2 * EMBED, 2 * LATENT).init(device),
            anthro_mlp: Mlp3::new(N_FEATURES, MLP_HIDDEN, EMBED, device),
            dir_mlp: Mlp3::new(DIR_FEATURES, MLP_HIDDEN, EMBED, device),
            dec_in: LinearConfig::new(LATENT + 2 * EMBED, flat).init(device),
            decoder,
            dec_out: up_conv(w, 1, device),
            act: Relu::new(),
            width: w,
        }
    }

    /// Conditioning embedding `[B, 64]` from anthropometry `[B, 12]` and direction `[B, 8]`.
    pub fn condition(&self, anthro: Tensor<2>, dir: Tensor<2>) -> Tensor<2> {
        Tensor::cat(
            vec![self.anthro_mlp.forward(anthro), self.dir_mlp.forward(dir)],
            1,
        )
    }

    /// Encoder: `(μ, log σ²)`, each `[B, 64]`, from `x` `[B, 256]` and conditioning `[B, 64]`.
    pub fn encode(&self, x: Tensor<2>, cond: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [b, n] = x.dims();
        let mut h = x.reshape([b, 1, n]);
        for blk in &self.encoder {
            h = blk.forward(h);
        }
        let h = h.reshape([b, 16 * self.width * BOTTLENECK_LEN]);
        let out = self.enc_head.forward(Tensor::cat(vec![h, cond], 1));
        let mu = out.clone().narrow(1, 0, LATENT);
        let logvar = out.narrow(1, LATENT, LATENT);
        (mu, logvar)
    }

    /// Decoder: `x̂` `[B, 256]` from `z` `[B, 64]` and conditioning `[B, 64]`.
    pub fn decode(&self, z: Tensor<2>, cond: Tensor<2>) -> Tensor<2> {
        let [b, _] = z.dims();
        let h = self
            .act
            .forward(self.dec_in.forward(Tensor::cat(vec![z, cond], 1)));
        let mut h = h.reshape([b, 16 * self.width, BOTTLENECK_LEN]);
        for blk in &self.decoder {
            h = blk.forward(h);
        }
        self.dec_out.forward(h).reshape([b, N_BINS])
    }

    /// Training forward pass with externally drawn noise `eps` `[B, 64]`:
    /// returns `(x̂, μ, log σ²)`.
    pub fn forward(
        &self,
        x: Tensor<2>,
        anthro: Tensor<2>,
        dir: Tensor<2>,
        eps: Tensor<2>,
    ) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let cond = self.condition(anthro, dir);
        let (mu, logvar) = self.encode(x, cond.clone());
        let z = mu.clone() + logvar.clone().mul_scalar(0.5).exp() * eps;
        (self.decode(z, cond), mu, logvar)
    }

    /// Prior-mean prediction (`z = 0`): `[B, 256]`.
    pub fn predict(&self, anthro: Tensor<2>, dir: Tensor<2>) -> Tensor<2> {
        let [b, _] = anthro.dims();
        let device = anthro.device();
        let cond = self.condition(anthro, dir);
        self.decode(Tensor::zeros([b, LATENT], &device), cond)
    }
}

/// `L = mean((x̂ − x)²) + β · mean_B(KL(N(μ, σ²) ‖ N(0, I))) / 256`; returns `(L, recon, KL)`.
pub fn cvae_loss(
    recon: Tensor<2>,
    target: Tensor<2>,
    mu: Tensor<2>,
    logvar: Tensor<2>,
    beta: f32,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    let [b, _] = mu.dims();
    let rec = (recon - target).powi_scalar(2).mean();
    let kl = (logvar.clone().exp() + mu.powi_scalar(2) - logvar - 1.0)
        .sum()
        .mul_scalar(0.5 / (b * N_BINS) as f32);
    (rec.clone() + kl.clone().mul_scalar(beta), rec, kl)
}
