//! The renderer network (paper §2.2–2.3, Table 1; our reading is in `NETWORK.md`).
//!
//! All tensors are `[batch, channels, freq, time]` unless stated. Time is never pooled, so one
//! output frame exists per input frame; frequency is halved by max pooling after every encoder
//! stage but the last and doubled back by transposed convolutions in the decoder. With
//! [`TemporalKind::CausalGru`] every convolution is causal in time (padding on the past side only),
//! CBAM and CIN pool over frequency only, the GRU is unidirectional and the self-attention is
//! masked to past frames, so frame `t` of the output depends on frames `≤ t` only.

use burn::nn::attention::{
    MhaInput, MultiHeadAttention, MultiHeadAttentionConfig, generate_autoregressive_mask,
};
use burn::nn::conv::{
    Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig,
};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, BiGru, BiGruConfig, Dropout, DropoutConfig, Gru, GruConfig,
    Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu, sigmoid};
use burn::tensor::ops::PadMode;

use crate::config::{HeadKind, ModelConfig, TemporalKind};
use crate::features::{ANTHRO_DIM, Anthropometry, SceneFeatures};
use crate::heads::{EmaglsTensors, apply_beamformer};
use crate::{NeuralError, Result};

/// Kaiming (He) normal initialisation for layers followed by a LeakyReLU of slope `a`:
/// `std = sqrt(2 / (1 + a²)) / sqrt(fan_in)` (He et al., ICCV 2015).
pub fn kaiming(slope: f64) -> Initializer {
    Initializer::KaimingNormal {
        gain: (2.0 / (1.0 + slope * slope)).sqrt(),
        fan_out_only: false,
    }
}

/// Time padding `(before, after)` of a kernel of `k` frames: causal `(k−1, 0)`, else centred.
fn time_pad(k: usize, causal: bool) -> (usize, usize) {
    if causal {
        (k - 1, 0)
    } else {
        ((k - 1) / 2, k / 2)
    }
}

/// A 2-D convolution over `[freq, time]` with "same" output size: frequency padded
/// symmetrically, time padded centred or causally; optionally depthwise-separable
/// (depthwise `k_f × k_t` per channel, then pointwise 1×1; Chollet, CVPR 2017).
#[derive(Module, Debug)]
pub struct TfConv {
    depthwise: Option<Conv2d>,
    conv: Conv2d,
    pad_f: usize,
    pad_t0: usize,
    pad_t1: usize,
}

impl TfConv {
    /// `c_in → c_out` with kernel `[k_f, k_t]`.
    pub fn new(
        device: &Device,
        c_in: usize,
        c_out: usize,
        kernel: [usize; 2],
        causal: bool,
        separable: bool,
        init: Initializer,
    ) -> Self {
        let (pad_t0, pad_t1) = time_pad(kernel[1], causal);
        let is_point = kernel == [1, 1];
        let (depthwise, conv) = if separable && !is_point {
            (
                Some(
                    Conv2dConfig::new([c_in, c_in], kernel)
                        .with_groups(c_in)
                        .with_bias(false)
                        .with_initializer(init.clone())
                        .init(device),
                ),
                Conv2dConfig::new([c_in, c_out], [1, 1])
                    .with_initializer(init)
                    .init(device),
            )
        } else {
            (
                None,
                Conv2dConfig::new([c_in, c_out], kernel)
                    .with_initializer(init)
                    .init(device),
            )
        };
        Self {
            depthwise,
            conv,
            pad_f: (kernel[0] - 1) / 2,
            pad_t0,
            pad_t1,
        }
    }

    /// Frames before and after the output frame that it reads (`(k_t − 1, 0)` when causal).
    pub fn time_reach(&self) -> (usize, usize) {
        (self.pad_t0, self.pad_t1)
    }

    /// `[B, c_in, F, T] → [B, c_out, F, T]` (odd frequency kernels keep `F`).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = if self.pad_f + self.pad_t0 + self.pad_t1 > 0 {
            x.pad(
                [(self.pad_f, self.pad_f), (self.pad_t0, self.pad_t1)],
                PadMode::Constant(0.0),
            )
        } else {
            x
        };
        let x = match &self.depthwise {
            Some(d) => d.forward(x),
            None => x,
        };
        self.conv.forward(x)
    }
}

fn add_reach(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0 + b.0, a.1 + b.1)
}

/// `layer` on `x` `[B, C, F, n]`. With a `history` slot (incremental streaming of a causal
/// layer that reads `lookback` earlier frames): on the kept earlier input frames followed by
/// `x`, keeping the last `lookback` input frames for the next call and returning the output of
/// the `n` new frames only.
fn run_causal(
    history: Option<&mut Option<Tensor<4>>>,
    x: Tensor<4>,
    lookback: usize,
    layer: impl FnOnce(Tensor<4>) -> Tensor<4>,
) -> Tensor<4> {
    let Some(slot) = history else {
        return layer(x);
    };
    let n = x.dims()[3];
    let x = match slot.take() {
        Some(prev) => Tensor::cat(vec![prev, x], 3),
        None => x,
    };
    let t = x.dims()[3];
    let k = lookback.min(t);
    *slot = (k > 0).then(|| x.clone().narrow(3, t - k, k));
    layer(x).narrow(3, t - n, n)
}

/// Residual block: `y = LReLU(BN(conv₂(Drop(LReLU(BN(conv₁ x))))) + S x)`, `S` = 1×1 conv when
/// the width changes, identity otherwise (He et al., CVPR 2016).
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv1: TfConv,
    bn1: BatchNorm,
    conv2: TfConv,
    bn2: BatchNorm,
    skip: Option<Conv2d>,
    dropout: Dropout,
    slope: f64,
}

impl ConvBlock {
    /// Block `c_in → c_out` with 3×3 convolutions.
    pub fn new(device: &Device, cfg: &ModelConfig, c_in: usize, c_out: usize) -> Self {
        let init = kaiming(cfg.leaky_slope);
        let causal = cfg.is_causal();
        Self {
            conv1: TfConv::new(
                device,
                c_in,
                c_out,
                [3, 3],
                causal,
                cfg.separable,
                init.clone(),
            ),
            bn1: BatchNormConfig::new(c_out).init(device),
            conv2: TfConv::new(
                device,
                c_out,
                c_out,
                [3, 3],
                causal,
                cfg.separable,
                init.clone(),
            ),
            bn2: BatchNormConfig::new(c_out).init(device),
            skip: (c_in != c_out).then(|| {
                Conv2dConfig::new([c_in, c_out], [1, 1])
                    .with_initializer(init)
                    .init(device)
            }),
            dropout: DropoutConfig::new(cfg.dropout_conv).init(),
            slope: cfg.leaky_slope,
        }
    }

    /// Frames before and after an output frame that it reads (both convolutions).
    pub fn time_reach(&self) -> (usize, usize) {
        add_reach(self.conv1.time_reach(), self.conv2.time_reach())
    }

    /// `[B, c_in, F, T] → [B, c_out, F, T]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = leaky_relu(self.bn1.forward(self.conv1.forward(x.clone())), self.slope);
        let h = self
            .bn2
            .forward(self.conv2.forward(self.dropout.forward(h)));
        let s = match &self.skip {
            Some(c) => c.forward(x),
            None => x,
        };
        leaky_relu(h + s, self.slope)
    }
}

/// CBAM (Woo et al., ECCV 2018): channel attention `σ(MLP(avg) + MLP(max))` from pooling over
/// frequency and time (causal: over frequency only, per frame), then spatial attention
/// `σ(conv([mean_c; max_c]))` over the `[freq, time]` plane.
#[derive(Module, Debug)]
pub struct Cbam {
    fc1: Linear,
    fc2: Linear,
    spatial: TfConv,
    causal: bool,
}

impl Cbam {
    /// CBAM for `c` channels.
    pub fn new(device: &Device, cfg: &ModelConfig, c: usize) -> Self {
        let hidden = (c / cfg.cbam_reduction).max(1);
        let k = cfg.cbam_kernel;
        Self {
            fc1: LinearConfig::new(c, hidden)
                .with_initializer(kaiming(0.0))
                .init(device),
            fc2: LinearConfig::new(hidden, c).init(device),
            spatial: TfConv::new(device, 2, 1, [k, k], cfg.is_causal(), false, kaiming(1.0)),
            causal: cfg.is_causal(),
        }
    }

    fn mlp(&self, v: Tensor<4>) -> Tensor<4> {
        // [B, C, 1, T'] → [B, T', 1, C] → MLP over C → back.
        let v = v.swap_dims(1, 3);
        self.fc2.forward(relu(self.fc1.forward(v))).swap_dims(1, 3)
    }

    /// `[B, C, F, T] → [B, C, F, T]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let dims = x.dims();
        let (avg, max) = if self.causal {
            (x.clone().mean_dim(2), x.clone().max_dim(2))
        } else {
            (
                x.clone().mean_dim(2).mean_dim(3),
                x.clone().max_dim(2).max_dim(3),
            )
        };
        let ca = sigmoid(self.mlp(avg) + self.mlp(max));
        let x = x * ca.expand(dims);
        let sa_in = Tensor::cat(vec![x.clone().mean_dim(1), x.clone().max_dim(1)], 1);
        let sa = sigmoid(self.spatial.forward(sa_in));
        x * sa.expand(dims)
    }
}

/// 1-D convolution over time with centred or causal padding.
#[derive(Module, Debug)]
pub struct TimeConv {
    conv: Conv1d,
    pad0: usize,
    pad1: usize,
}

impl TimeConv {
    /// `c_in → c_out`, kernel `k` frames.
    pub fn new(
        device: &Device,
        c_in: usize,
        c_out: usize,
        k: usize,
        causal: bool,
        init: Initializer,
    ) -> Self {
        let (pad0, pad1) = time_pad(k, causal);
        Self {
            conv: Conv1dConfig::new(c_in, c_out, k)
                .with_initializer(init)
                .init(device),
            pad0,
            pad1,
        }
    }

    /// `[B, c_in, T] → [B, c_out, T]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = if self.pad0 + self.pad1 > 0 {
            x.pad([(self.pad0, self.pad1)], PadMode::Constant(0.0))
        } else {
            x
        };
        self.conv.forward(x)
    }
}

/// SH auxiliary branch: two 1-D convolutions (kernel 3) over time of the per-frame auxiliary
/// vector (25 SH descriptors (+ GCC-PHAT)), LeakyReLU after each: `[B, A, T] → [B, S, T]`.
#[derive(Module, Debug)]
pub struct ShBranch {
    conv1: TimeConv,
    conv2: TimeConv,
    slope: f64,
}

impl ShBranch {
    /// Branch `A → S` ([`ModelConfig::sh_channels`]).
    pub fn new(device: &Device, cfg: &ModelConfig) -> Self {
        let init = kaiming(cfg.leaky_slope);
        let s = cfg.sh_channels;
        Self {
            conv1: TimeConv::new(device, cfg.aux_dim, s, 3, cfg.is_causal(), init.clone()),
            conv2: TimeConv::new(device, s, s, 3, cfg.is_causal(), init),
            slope: cfg.leaky_slope,
        }
    }

    /// `[B, A, T] → [B, S, T]`.
    pub fn forward(&self, a: Tensor<3>) -> Tensor<3> {
        let h = leaky_relu(self.conv1.forward(a), self.slope);
        leaky_relu(self.conv2.forward(h), self.slope)
    }
}

/// Bottleneck: frequency-averaged encoder features → GRU over time → concatenated with the SH
/// descriptor → 1×1 fusion to the `E`-D embedding → 8-head self-attention over frames (residual,
/// LayerNorm) → 1×1 projection back, added to every frequency row of the bottleneck map.
#[derive(Module, Debug)]
pub struct Bottleneck {
    gru: Option<Gru>,
    bigru: Option<BiGru>,
    sh: ShBranch,
    fuse: Conv1d,
    dropout: Dropout,
    mha: Option<MultiHeadAttention>,
    norm: LayerNorm,
    unfuse: Conv1d,
    causal: bool,
    slope: f64,
}

impl Bottleneck {
    /// Bottleneck on `c_b` channels.
    pub fn new(device: &Device, cfg: &ModelConfig, c_b: usize) -> Self {
        let h = cfg.rnn_hidden;
        let (gru, bigru, h_out) = match cfg.temporal {
            TemporalKind::CausalGru => (Some(GruConfig::new(c_b, h, true).init(device)), None, h),
            TemporalKind::BiGru => (
                None,
                Some(BiGruConfig::new(c_b, h, true).init(device)),
                2 * h,
            ),
        };
        let e = cfg.embed_dim;
        Self {
            gru,
            bigru,
            sh: ShBranch::new(device, cfg),
            fuse: Conv1dConfig::new(h_out + cfg.sh_channels, e, 1)
                .with_initializer(kaiming(cfg.leaky_slope))
                .init(device),
            dropout: DropoutConfig::new(cfg.dropout_fc).init(),
            mha: cfg.attention.then(|| {
                MultiHeadAttentionConfig::new(e, cfg.heads)
                    .with_dropout(cfg.dropout_conv)
                    .init(device)
            }),
            norm: LayerNormConfig::new(e).init(device),
            unfuse: Conv1dConfig::new(e, c_b, 1)
                .with_initializer(kaiming(1.0))
                .init(device),
            causal: cfg.is_causal(),
            slope: cfg.leaky_slope,
        }
    }

    /// `z` `[B, C_b, F_b, T]`, `aux` `[B, A, T]` → (`z'` `[B, C_b, F_b, T]`, embedding `[B, T, E]`).
    pub fn forward(&self, z: Tensor<4>, aux: Tensor<3>) -> (Tensor<4>, Tensor<3>) {
        let [b, c_b, f_b, t] = z.dims();
        let zt = z.clone().mean_dim(2).reshape([b, c_b, t]).swap_dims(1, 2); // [B, T, C_b]
        let r = match (&self.gru, &self.bigru) {
            (Some(g), _) => g.forward(zt, None),
            (None, Some(g)) => g.forward(zt, None).0,
            (None, None) => zt,
        }; // [B, T, H']
        let s = self.sh.forward(aux); // [B, S, T]
        let cat = Tensor::cat(vec![r.swap_dims(1, 2), s], 1);
        let e = self
            .dropout
            .forward(leaky_relu(self.fuse.forward(cat), self.slope))
            .swap_dims(1, 2); // [B, T, E]
        let e = match &self.mha {
            Some(mha) => {
                let mut input = MhaInput::self_attn(e.clone());
                if self.causal {
                    input = input.mask_attn(generate_autoregressive_mask(b, t, &e.device()));
                }
                self.norm.forward(e + mha.forward(input).context)
            }
            None => self.norm.forward(e),
        };
        let back = self.unfuse.forward(e.clone().swap_dims(1, 2)); // [B, C_b, T]
        let z2 = z + back.reshape([b, c_b, 1, t]).expand([b, c_b, f_b, t]);
        (z2, e)
    }
}

/// Decoder stage: transposed convolution (kernel 4×1, stride 2 over frequency: `F → 2F`,
/// halving the width), concatenation with the encoder's skip, residual block.
#[derive(Module, Debug)]
pub struct DecoderStage {
    up: ConvTranspose2d,
    block: ConvBlock,
}

impl DecoderStage {
    /// Stage `c_in → c_out`.
    pub fn new(device: &Device, cfg: &ModelConfig, c_in: usize, c_out: usize) -> Self {
        let block_in = if cfg.skip_connections {
            2 * c_out
        } else {
            c_out
        };
        Self {
            up: ConvTranspose2dConfig::new([c_in, c_out], [4, 1])
                .with_stride([2, 1])
                .with_padding([1, 0])
                .with_initializer(kaiming(cfg.leaky_slope))
                .init(device),
            block: ConvBlock::new(device, cfg, block_in, c_out),
        }
    }

    /// `[B, c_in, F, T]` (+ skip `[B, c_out, 2F, T]`) → `[B, c_out, 2F, T]`.
    pub fn forward(&self, x: Tensor<4>, skip: Option<Tensor<4>>) -> Tensor<4> {
        let u = self.up.forward(x);
        let u = match skip {
            Some(s) => Tensor::cat(vec![u, s], 1),
            None => u,
        };
        self.block.forward(u)
    }
}

/// Conditional instance normalisation (Dumoulin et al., ICLR 2017) on the anthropometry `a`:
/// `y = (x − μ)/sqrt(σ² + 1e-5) · (1 + γ(a)) + β(a)`, statistics per sample and channel over
/// frequency and time (causal: over frequency, per frame); `γ`, `β` linear in `a` and
/// initialised to zero (plain instance normalisation at the start).
#[derive(Module, Debug)]
pub struct Cin {
    gamma: Linear,
    beta: Linear,
    causal: bool,
}

impl Cin {
    /// CIN for `c` channels.
    pub fn new(device: &Device, c: usize, causal: bool) -> Self {
        let lin = || {
            LinearConfig::new(ANTHRO_DIM, c)
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        Self {
            gamma: lin(),
            beta: lin(),
            causal,
        }
    }

    /// `x` `[B, C, F, T]`, `a` `[B, 12]` → `[B, C, F, T]`.
    pub fn forward(&self, x: Tensor<4>, a: Tensor<2>) -> Tensor<4> {
        let dims = x.dims();
        let [b, c, _, _] = dims;
        let stat = |v: Tensor<4>| {
            if self.causal {
                v.mean_dim(2)
            } else {
                v.mean_dim(2).mean_dim(3)
            }
        };
        let mean = stat(x.clone());
        let xc = x - mean.expand(dims);
        let var = stat(xc.clone().powf_scalar(2.0));
        let xn = xc / var.add_scalar(1e-5).sqrt().expand(dims);
        let g = self
            .gamma
            .forward(a.clone())
            .reshape([b, c, 1, 1])
            .add_scalar(1.0);
        let bt = self.beta.forward(a).reshape([b, c, 1, 1]);
        xn * g.expand(dims) + bt.expand(dims)
    }
}

/// One ear's branch: 3×3 conv → LReLU → 3×3 conv → LReLU → 1×1 output conv to `n_out` maps
/// (direct head: 2 = Re, Im of the ear STFT; residual head: 2C = Re, Im of the weight
/// corrections). The residual head's output conv starts at zero.
#[derive(Module, Debug)]
pub struct EarBranch {
    conv1: TfConv,
    conv2: TfConv,
    out: Conv2d,
    slope: f64,
}

impl EarBranch {
    /// Branch from `c_in` channels.
    pub fn new(device: &Device, cfg: &ModelConfig, c_in: usize) -> Self {
        let init = kaiming(cfg.leaky_slope);
        let [e1, e2] = cfg.ear_channels;
        let causal = cfg.is_causal();
        let (n_out, out_init) = match cfg.head {
            HeadKind::Direct => (2, kaiming(1.0)),
            HeadKind::Residual => (2 * cfg.n_caps, Initializer::Zeros),
        };
        Self {
            conv1: TfConv::new(device, c_in, e1, [3, 3], causal, false, init.clone()),
            conv2: TfConv::new(device, e1, e2, [3, 3], causal, false, init),
            out: Conv2dConfig::new([e2, n_out], [1, 1])
                .with_initializer(out_init)
                .init(device),
            slope: cfg.leaky_slope,
        }
    }

    /// Frames before and after an output frame that it reads.
    pub fn time_reach(&self) -> (usize, usize) {
        add_reach(self.conv1.time_reach(), self.conv2.time_reach())
    }

    /// `[B, c_in, F, T] → [B, n_out, F, T]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = leaky_relu(self.conv1.forward(x), self.slope);
        let h = leaky_relu(self.conv2.forward(h), self.slope);
        self.out.forward(h)
    }
}

/// Network input (one batch).
#[derive(Debug, Clone)]
pub struct RendererInput {
    /// Feature planes `[B, P, F, T]`.
    pub planes: Tensor<4>,
    /// Auxiliary per-frame vector `[B, A, T]`.
    pub aux: Tensor<3>,
    /// Capsule STFT, real part `[B, C, F, T]` (used by the residual head).
    pub x_re: Tensor<4>,
    /// Capsule STFT, imaginary part `[B, C, F, T]`.
    pub x_im: Tensor<4>,
    /// Standardised anthropometry `[B, 12]`.
    pub anthro: Tensor<2>,
    /// eMagLS weights for the residual head (`None` for the direct head).
    pub emagls: Option<EmaglsTensors>,
}

impl RendererInput {
    /// Stack scenes into one batch (all scenes must have the same `P`, `A`, `C`, `F`, `T`).
    ///
    /// # Errors
    /// No scenes, scenes of different shapes, or a different number of anthropometry vectors.
    pub fn from_scenes(
        scenes: &[&SceneFeatures],
        anthro: &[Anthropometry],
        emagls: Option<&EmaglsTensors>,
        device: &Device,
    ) -> Result<Self> {
        let first = scenes.first().ok_or_else(|| NeuralError::Shape {
            expected: "at least one scene".into(),
            got: "0".into(),
        })?;
        let key = |s: &SceneFeatures| (s.n_planes, s.n_aux, s.n_caps, s.n_bins, s.n_frames);
        if scenes.iter().any(|s| key(s) != key(first)) || anthro.len() != scenes.len() {
            return Err(NeuralError::Shape {
                expected: format!(
                    "{} scenes of one shape and as many anthropometry vectors",
                    scenes.len()
                ),
                got: format!("{} anthropometry vectors", anthro.len()),
            });
        }
        let b = scenes.len();
        let (p, a, c, f, t) = key(first);
        let cat = |get: &dyn Fn(&SceneFeatures) -> &Vec<f32>| -> Vec<f32> {
            scenes.iter().flat_map(|s| get(s).iter().copied()).collect()
        };
        let t4 = |v: Vec<f32>, s: [usize; 4]| Tensor::<4>::from_data(TensorData::new(v, s), device);
        let anthro_v: Vec<f32> = anthro.iter().flat_map(|x| x.0).collect();
        Ok(Self {
            planes: t4(cat(&|s| &s.planes), [b, p, f, t]),
            aux: Tensor::from_data(TensorData::new(cat(&|s| &s.aux), [b, a, t]), device),
            x_re: t4(cat(&|s| &s.stft_re), [b, c, f, t]),
            x_im: t4(cat(&|s| &s.stft_im), [b, c, f, t]),
            anthro: Tensor::from_data(TensorData::new(anthro_v, [b, ANTHRO_DIM]), device),
            emagls: emagls.cloned(),
        })
    }
}

/// Encoder activations of a run of frames ([`NeuralRenderer::encode`]): the bottleneck input
/// `[B, C_b, F_b, T]` and the skips of the earlier stages (`[B, C_i, F_i, T]`, shallowest
/// first).
#[derive(Debug, Clone)]
pub struct EncodedFrames {
    /// Input of the bottleneck.
    pub bottom: Tensor<4>,
    /// Skip tensors of the encoder stages before the last.
    pub skips: Vec<Tensor<4>>,
}

impl EncodedFrames {
    /// Frames `T`.
    pub fn frames(&self) -> usize {
        self.bottom.dims()[3]
    }

    /// Frames `start .. start + len`.
    pub fn narrow_frames(self, start: usize, len: usize) -> Self {
        Self {
            bottom: self.bottom.narrow(3, start, len),
            skips: self
                .skips
                .into_iter()
                .map(|s| s.narrow(3, start, len))
                .collect(),
        }
    }

    /// These frames followed by `later`'s.
    pub fn cat_frames(self, later: Self) -> Self {
        Self {
            bottom: Tensor::cat(vec![self.bottom, later.bottom], 3),
            skips: self
                .skips
                .into_iter()
                .zip(later.skips)
                .map(|(a, b)| Tensor::cat(vec![a, b], 3))
                .collect(),
        }
    }
}

/// The last input frames of each encoder stage (and of CBAM) that a causal network's next
/// frames read ([`NeuralRenderer::encode_incremental`]); empty at the start of a stream.
#[derive(Debug, Clone, Default)]
pub struct EncoderHistory {
    stages: Vec<Option<Tensor<4>>>,
    cbam: Option<Tensor<4>>,
}

/// Network output.
#[derive(Debug, Clone)]
pub struct RendererOutput {
    /// Binaural STFT, real part `[B, 2, F, T]` (ear 0 = left).
    pub re: Tensor<4>,
    /// Binaural STFT, imaginary part `[B, 2, F, T]`.
    pub im: Tensor<4>,
    /// Predicted source directions, unit vectors `[B, K, 3]` (x front, y left, z up).
    pub doa: Tensor<3>,
    /// Bottleneck embedding `[B, T, E]`.
    pub embedding: Tensor<3>,
}

/// Wall-clock seconds per stage of the forward pass, accumulated over calls
/// ([`NeuralRenderer::forward_timed`], `sphear bench --neural`). The CPU backend (`flex`)
/// executes eagerly, so the time between two stage boundaries is that stage's compute; a lazy
/// or asynchronous backend (LibTorch on a GPU) would need a synchronisation per stage.
#[derive(Debug, Default, Clone)]
pub struct StageTimes {
    /// `(stage, seconds)` in the order first seen.
    pub stages: Vec<(String, f64)>,
}

impl StageTimes {
    /// Add `seconds` to `stage` (appended when new).
    pub fn add(&mut self, stage: &str, seconds: f64) {
        match self.stages.iter_mut().find(|(n, _)| n == stage) {
            Some((_, t)) => *t += seconds,
            None => self.stages.push((stage.to_string(), seconds)),
        }
    }

    /// Total seconds over all stages.
    pub fn total_s(&self) -> f64 {
        self.stages.iter().map(|(_, t)| t).sum()
    }
}

/// Stage clock of one forward pass: a no-op without a [`StageTimes`] to fill.
struct StageClock<'a> {
    times: Option<&'a mut StageTimes>,
    last: Option<std::time::Instant>,
}

impl<'a> StageClock<'a> {
    fn new(times: Option<&'a mut StageTimes>) -> Self {
        let last = times.as_ref().map(|_| std::time::Instant::now());
        Self { times, last }
    }

    /// The stage that just ended is `stage`.
    fn mark(&mut self, stage: impl FnOnce() -> String) {
        if let (Some(t), Some(last)) = (self.times.as_deref_mut(), self.last.as_mut()) {
            let now = std::time::Instant::now();
            t.add(&stage(), (now - *last).as_secs_f64());
            *last = now;
        }
    }
}

/// The full renderer (see the module docs and `NETWORK.md`).
#[derive(Module, Debug)]
pub struct NeuralRenderer {
    enc: Vec<ConvBlock>,
    pool: MaxPool2d,
    cbam: Option<Cbam>,
    bottleneck: Bottleneck,
    dec: Vec<DecoderStage>,
    cin: Option<Cin>,
    ears: Vec<EarBranch>,
    doa: Linear,
    n_caps: usize,
    residual: bool,
    /// Relative correction scale (`ModelConfig::residual_scale`); `≤ 0` = absolute correction.
    residual_scale: f64,
    skip: bool,
    cbam_stage: usize,
    freq_multiple: usize,
    doa_sources: usize,
    in_planes: usize,
    aux_dim: usize,
}

impl ModelConfig {
    /// Build the network on `device` (Kaiming-normal weights, residual correction at zero).
    ///
    /// # Errors
    /// An invalid configuration ([`ModelConfig::validate`]).
    pub fn init(&self, device: &Device) -> Result<NeuralRenderer> {
        self.validate()?;
        let ch = &self.enc_channels;
        let mut enc = Vec::with_capacity(ch.len());
        let mut c_prev = self.in_planes;
        for &c in ch {
            enc.push(ConvBlock::new(device, self, c_prev, c));
            c_prev = c;
        }
        let c_b = *ch.last().unwrap_or(&1);
        let dec = (0..ch.len() - 1)
            .rev()
            .map(|i| DecoderStage::new(device, self, ch[i + 1], ch[i]))
            .collect();
        let c0 = ch[0];
        Ok(NeuralRenderer {
            enc,
            pool: MaxPool2dConfig::new([2, 1]).with_strides([2, 1]).init(),
            cbam: self
                .cbam
                .then(|| Cbam::new(device, self, ch[self.cbam_stage])),
            bottleneck: Bottleneck::new(device, self, c_b),
            dec,
            cin: self.cin.then(|| Cin::new(device, c0, self.is_causal())),
            ears: (0..2).map(|_| EarBranch::new(device, self, c0)).collect(),
            doa: LinearConfig::new(self.embed_dim, 3 * self.doa_sources).init(device),
            n_caps: self.n_caps,
            residual: self.head == HeadKind::Residual,
            residual_scale: self.residual_scale.unwrap_or(0.0),
            skip: self.skip_connections,
            cbam_stage: self.cbam_stage,
            freq_multiple: self.freq_multiple(),
            doa_sources: self.doa_sources,
            in_planes: self.in_planes,
            aux_dim: self.aux_dim,
        })
    }
}

impl NeuralRenderer {
    /// Plane and auxiliary-vector shapes against the network's.
    fn check_trunk_input(&self, planes: &Tensor<4>, aux: &Tensor<3>) -> Result<()> {
        let [b, p, _, t] = planes.dims();
        let [b_a, a, t_a] = aux.dims();
        if p != self.in_planes || a != self.aux_dim || b_a != b || t_a != t {
            return Err(NeuralError::Shape {
                expected: format!(
                    "{} planes and aux [{b}, {}, {t}]",
                    self.in_planes, self.aux_dim
                ),
                got: format!("{p} planes and aux {:?}", aux.dims()),
            });
        }
        Ok(())
    }

    /// Everything before the ear branches: encoder (with CBAM and pooling), bottleneck,
    /// decoder, CIN. Returns the decoder output `[B, C0, F_pad, T]` and the embedding.
    fn trunk(
        &self,
        planes: &Tensor<4>,
        aux: &Tensor<3>,
        anthro: &Tensor<2>,
        clock: &mut StageClock<'_>,
    ) -> (Tensor<4>, Tensor<3>) {
        let enc = self.encode_stages(planes, None, clock);
        let (h, emb) = self.bottleneck.forward(enc.bottom, aux.clone());
        clock.mark(|| "bottleneck (SH branch, GRU, fusion, attention)".into());
        (self.decode_inner(h, enc.skips, anthro, clock), emb)
    }

    /// Encoder stages with CBAM and frequency pooling (`F` zero-padded to the pooling multiple).
    /// With a `history` (causal networks, [`NeuralRenderer::encode_incremental`]) each stage and
    /// CBAM also read their kept earlier input frames ([`run_causal`]).
    fn encode_stages(
        &self,
        planes: &Tensor<4>,
        mut history: Option<&mut EncoderHistory>,
        clock: &mut StageClock<'_>,
    ) -> EncodedFrames {
        let f = planes.dims()[2];
        let f_pad = f.div_ceil(self.freq_multiple) * self.freq_multiple;
        let mut h = if f_pad > f {
            planes
                .clone()
                .pad([(0, f_pad - f), (0, 0)], PadMode::Constant(0.0))
        } else {
            planes.clone()
        };
        if let Some(hist) = history.as_deref_mut() {
            hist.stages.resize(self.enc.len(), None);
        }
        let last = self.enc.len() - 1;
        let mut skips = Vec::with_capacity(last);
        for (i, block) in self.enc.iter().enumerate() {
            let slot = history.as_deref_mut().map(|hist| &mut hist.stages[i]);
            h = run_causal(slot, h, block.time_reach().0, |x| block.forward(x));
            if i == self.cbam_stage
                && let Some(cb) = &self.cbam
            {
                let slot = history.as_deref_mut().map(|hist| &mut hist.cbam);
                h = run_causal(slot, h, cb.spatial.time_reach().0, |x| cb.forward(x));
            }
            if i < last {
                skips.push(h.clone());
                h = self.pool.forward(h);
            }
            clock.mark(|| format!("encoder {}", i + 1));
        }
        EncodedFrames { bottom: h, skips }
    }

    /// Decoder stages (with the skips) and CIN.
    fn decode_inner(
        &self,
        mut h: Tensor<4>,
        mut skips: Vec<Tensor<4>>,
        anthro: &Tensor<2>,
        clock: &mut StageClock<'_>,
    ) -> Tensor<4> {
        for (i, stage) in self.dec.iter().enumerate() {
            let s = skips.pop();
            h = stage.forward(h, if self.skip { s } else { None });
            clock.mark(|| format!("decoder {}", i + 1));
        }
        if let Some(cin) = &self.cin {
            h = cin.forward(h, anthro.clone());
            clock.mark(|| "CIN".into());
        }
        h
    }

    /// For a causal network: how many earlier frames an output frame of the encoder (with
    /// CBAM) and of the decoder plus ear branches reads, `(encoder, decoder + ears)`. `None` when
    /// some layer looks ahead in time (a Bi-GRU model). The bottleneck's recurrent and
    /// attention layers read all earlier frames given to them; every other layer of a causal
    /// network is per frame or a causal convolution, so the encoder's output for frame `t` is
    /// exact from input frames `t − encoder ..= t`, and the ear branches' output for frame `t`
    /// is exact from bottleneck frames `t − decoder ..= t`.
    pub fn causal_lookback_frames(&self) -> Option<(usize, usize)> {
        let mut enc = (0, 0);
        for (i, b) in self.enc.iter().enumerate() {
            enc = add_reach(enc, b.time_reach());
            if i == self.cbam_stage
                && let Some(cb) = &self.cbam
            {
                enc = add_reach(enc, cb.spatial.time_reach());
            }
        }
        let mut dec = (0, 0);
        for d in &self.dec {
            dec = add_reach(dec, d.block.time_reach());
        }
        let ears = self
            .ears
            .iter()
            .map(EarBranch::time_reach)
            .fold((0, 0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
        dec = add_reach(dec, ears);
        let (cbam_causal, cin_causal) = (
            self.cbam.as_ref().is_none_or(|c| c.causal),
            self.cin.as_ref().is_none_or(|c| c.causal),
        );
        (enc.1 == 0 && dec.1 == 0 && self.bottleneck.causal && cbam_causal && cin_causal)
            .then_some((enc.0, dec.0))
    }

    /// The encoder alone (stages, CBAM, pooling) on `planes` `[B, P, F, T]`: the bottleneck
    /// input and the skips (the one-pass counterpart of [`NeuralRenderer::encode_incremental`]).
    ///
    /// # Errors
    /// Wrong plane count.
    pub fn encode(
        &self,
        planes: &Tensor<4>,
        times: Option<&mut StageTimes>,
    ) -> Result<EncodedFrames> {
        self.check_planes(planes)?;
        Ok(self.encode_stages(planes, None, &mut StageClock::new(times)))
    }

    /// The encoder on the next frames `planes_new` `[B, P, F, n]` of a stream (causal networks):
    /// each encoder stage (and CBAM) runs on the last frames of its own input that its causal
    /// convolutions read, kept in `history`, followed by the new frames, so the output for the
    /// new frames equals [`NeuralRenderer::encode`] over the whole stream so far (test
    /// `incremental_encoder_equals_the_encoder_over_the_whole_stream`). Start a stream with
    /// `EncoderHistory::default()`.
    ///
    /// # Errors
    /// Wrong plane count, or a network that looks ahead in time.
    pub fn encode_incremental(
        &self,
        planes_new: &Tensor<4>,
        history: &mut EncoderHistory,
        times: Option<&mut StageTimes>,
    ) -> Result<EncodedFrames> {
        self.check_planes(planes_new)?;
        if self.causal_lookback_frames().is_none() {
            return Err(NeuralError::Config(
                "incremental encoding needs a causal network".into(),
            ));
        }
        Ok(self.encode_stages(planes_new, Some(history), &mut StageClock::new(times)))
    }

    fn check_planes(&self, planes: &Tensor<4>) -> Result<()> {
        let p = planes.dims()[1];
        if p != self.in_planes {
            return Err(NeuralError::Shape {
                expected: format!("{} planes", self.in_planes),
                got: p.to_string(),
            });
        }
        Ok(())
    }

    /// Each ear branch's output on the decoder output `h`, cropped to `f` bins.
    fn ear_outputs(&self, h: Tensor<4>, f: usize, clock: &mut StageClock<'_>) -> [Tensor<4>; 2] {
        let out = [
            self.ears[0].forward(h.clone()).narrow(2, 0, f),
            self.ears[1].forward(h).narrow(2, 0, f),
        ];
        clock.mark(|| "ear branches".into());
        out
    }

    /// The rest of [`NeuralRenderer::forward_corrections`] after [`NeuralRenderer::encode`]:
    /// bottleneck over all frames of `enc` (with `aux` `[B, A, T]` of the same frames), then
    /// the decoder, CIN and ear branches only on frames `dec_from..T` — of which the first
    /// [`NeuralRenderer::causal_lookback_frames`]`.1` are lookback for the later ones. Returns
    /// each ear's raw correction `[B, 2C, f, T − dec_from]`.
    ///
    /// # Errors
    /// A direct-output network, mismatched shapes, `dec_from ≥ T`.
    pub fn decode_corrections(
        &self,
        enc: EncodedFrames,
        aux: &Tensor<3>,
        anthro: &Tensor<2>,
        f: usize,
        dec_from: usize,
        times: Option<&mut StageTimes>,
    ) -> Result<[Tensor<4>; 2]> {
        if !self.residual {
            return Err(NeuralError::Config(
                "decode_corrections needs the residual head".into(),
            ));
        }
        let [b, _, _, t] = enc.bottom.dims();
        let [b_a, a, t_a] = aux.dims();
        if b_a != b || a != self.aux_dim || t_a != t || dec_from >= t {
            return Err(NeuralError::Shape {
                expected: format!(
                    "aux [{b}, {}, {t}] and a start frame below {t}",
                    self.aux_dim
                ),
                got: format!("aux {:?}, start {dec_from}", aux.dims()),
            });
        }
        let mut clock = StageClock::new(times);
        let (h, _) = self.bottleneck.forward(enc.bottom, aux.clone());
        clock.mark(|| "bottleneck (SH branch, GRU, fusion, attention)".into());
        let n = t - dec_from;
        let h = h.narrow(3, dec_from, n);
        let skips = enc
            .skips
            .into_iter()
            .map(|s| s.narrow(3, dec_from, n))
            .collect();
        let h = self.decode_inner(h, skips, anthro, &mut clock);
        Ok(self.ear_outputs(h, f, &mut clock))
    }

    /// Relative correction scale of the residual head (`≤ 0`: absolute correction).
    pub fn residual_scale(&self) -> f64 {
        self.residual_scale
    }

    /// Inference form of the residual head: the raw correction of each ear, `[B, 2C, F, T]`
    /// (`ΔW` real parts for capsules `0..C`, then imaginary parts, before the relative scale),
    /// without applying it and without the DOA head. A caller that applies
    /// `W = W_eMagLS + s·rms(W_eMagLS)·ΔW` to the capsule STFT itself (in one pass, as
    /// [`crate::NeuralBinaural`] does) saves the full-size temporaries of the tensor form.
    ///
    /// # Errors
    /// A direct-output network; wrong plane/aux counts or mismatched shapes.
    pub fn forward_corrections(
        &self,
        planes: &Tensor<4>,
        aux: &Tensor<3>,
        anthro: &Tensor<2>,
        times: Option<&mut StageTimes>,
    ) -> Result<[Tensor<4>; 2]> {
        if !self.residual {
            return Err(NeuralError::Config(
                "forward_corrections needs the residual head".into(),
            ));
        }
        self.check_trunk_input(planes, aux)?;
        let mut clock = StageClock::new(times);
        let f = planes.dims()[2];
        let (h, _) = self.trunk(planes, aux, anthro, &mut clock);
        Ok(self.ear_outputs(h, f, &mut clock))
    }

    /// Forward pass.
    ///
    /// Shapes: `planes` `[B, P, F, T]`, `aux` `[B, A, T]`, `x_re/x_im` `[B, C, F, T]`, `anthro`
    /// `[B, 12]` → binaural STFT `[B, 2, F, T]` (re, im), DOA `[B, K, 3]`, embedding `[B, T, E]`.
    /// `F` is zero-padded internally to a multiple of `2^(stages−1)` and cropped at the output.
    ///
    /// # Errors
    /// Wrong plane/aux/capsule counts, mismatched `F`/`T`/`B`, or a residual head without eMagLS
    /// weights (or weights of the wrong shape).
    pub fn forward(&self, input: &RendererInput) -> Result<RendererOutput> {
        self.forward_timed(input, None)
    }

    /// [`NeuralRenderer::forward`], adding each stage's wall-clock time to `times` when given
    /// (encoder stages with their CBAM and pooling, bottleneck = SH branch + recurrent layer +
    /// fusion + self-attention, decoder stages, CIN, ear branches with the residual beamformer,
    /// DOA head).
    ///
    /// # Errors
    /// As [`NeuralRenderer::forward`].
    pub fn forward_timed(
        &self,
        input: &RendererInput,
        times: Option<&mut StageTimes>,
    ) -> Result<RendererOutput> {
        let mut clock = StageClock::new(times);
        let [b, _, f, t] = input.planes.dims();
        let [b_x, c, f_x, t_x] = input.x_re.dims();
        self.check_trunk_input(&input.planes, &input.aux)?;
        if self.residual && (b_x != b || c != self.n_caps || f_x != f || t_x != t) {
            return Err(NeuralError::Shape {
                expected: format!("capsule STFT [{b}, {}, {f}, {t}]", self.n_caps),
                got: format!("capsule STFT {:?}", input.x_re.dims()),
            });
        }
        let (h, emb) = self.trunk(&input.planes, &input.aux, &input.anthro, &mut clock);
        let shape_err = |expected: String, got: String| NeuralError::Shape { expected, got };
        let mut re = Vec::with_capacity(2);
        let mut im = Vec::with_capacity(2);
        for (e, ear) in self.ears.iter().enumerate() {
            let o = ear.forward(h.clone()).narrow(2, 0, f);
            if self.residual {
                let w = input.emagls.as_ref().ok_or_else(|| {
                    NeuralError::Config("the residual head needs eMagLS weights".into())
                })?;
                let [_, c_w, f_w, _] = w.re.dims();
                if c_w != self.n_caps || f_w != f {
                    return Err(shape_err(
                        format!("eMagLS weights [2, {}, {f}, 1]", self.n_caps),
                        format!("{:?}", w.re.dims()),
                    ));
                }
                let dims = [b, self.n_caps, f, t];
                let base_re = w.re.clone().narrow(0, e, 1);
                let base_im = w.im.clone().narrow(0, e, 1);
                let (d_re, d_im) = (
                    o.clone().narrow(1, 0, self.n_caps),
                    o.narrow(1, self.n_caps, self.n_caps),
                );
                let (d_re, d_im) = if self.residual_scale > 0.0 {
                    // Per-bin RMS over capsules of this ear's eMagLS weights: [1, 1, F, 1].
                    let g = (base_re.clone().powf_scalar(2.0) + base_im.clone().powf_scalar(2.0))
                        .mean_dim(1)
                        .sqrt()
                        .mul_scalar(self.residual_scale)
                        .expand(dims);
                    (d_re * g.clone(), d_im * g)
                } else {
                    (d_re, d_im)
                };
                let w_re = base_re.expand(dims) + d_re;
                let w_im = base_im.expand(dims) + d_im;
                let (y_re, y_im) =
                    apply_beamformer(w_re, w_im, input.x_re.clone(), input.x_im.clone());
                re.push(y_re);
                im.push(y_im);
            } else {
                re.push(o.clone().narrow(1, 0, 1));
                im.push(o.narrow(1, 1, 1));
            }
        }
        clock.mark(|| {
            if self.residual {
                "ear branches + beamformer".into()
            } else {
                "ear branches".into()
            }
        });
        let e_dim = emb.dims()[2];
        let pooled = emb.clone().mean_dim(1).reshape([b, e_dim]);
        let d = self.doa.forward(pooled).reshape([b, self.doa_sources, 3]);
        let norm = d
            .clone()
            .powf_scalar(2.0)
            .sum_dim(2)
            .add_scalar(1e-8)
            .sqrt();
        let doa = d / norm.expand([b, self.doa_sources, 3]);
        clock.mark(|| "DOA head".into());
        Ok(RendererOutput {
            re: Tensor::cat(re, 1),
            im: Tensor::cat(im, 1),
            doa,
            embedding: emb,
        })
    }
}
