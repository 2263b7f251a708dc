//! The paper's weighted loss (§2.3): reconstruction 1.0, DOA 0.3, binaural cues 0.5, perceptual
//! (multi-resolution STFT) 0.2. Every term is its own function and zero for identical inputs
//! (exactly).
//!
//! The inverse STFT and the STFTs of the multi-resolution term run inside the graph as matrix
//! products with DFT bases, so gradients flow from time-domain losses to the network's STFT.

use burn::prelude::*;
use burn::tensor::ops::PadMode;

use crate::features::sqrt_hann;
use crate::model::RendererOutput;
use crate::{NeuralError, Result};

/// Stabiliser of magnitudes and logarithms: `|z| = sqrt(re² + im² + δ)`.
pub const MAG_EPS: f64 = 1e-8;

/// DFT bases of an `n_fft`/`hop` sqrt-Hann STFT, as tensors on one device (see
/// [`crate::features`] for the STFT's definition; these are the same transforms).
#[derive(Debug, Clone)]
pub struct GraphStft {
    n_fft: usize,
    hop: usize,
    /// `[N, F]`: `w(n) cos(2πkn/N)`.
    fwd_cos: Tensor<2>,
    /// `[N, F]`: `−w(n) sin(2πkn/N)`.
    fwd_sin: Tensor<2>,
    /// `[F, N]`: `g c_k cos(2πkn/N) w(n) / N` (synthesis incl. window and WOLA gain).
    inv_cos: Tensor<2>,
    /// `[F, N]`: `−g c_k sin(2πkn/N) w(n) / N`.
    inv_sin: Tensor<2>,
}

impl GraphStft {
    /// Bases for `n_fft`/`hop` on `device`.
    ///
    /// # Errors
    /// Same conditions as [`crate::features::Stft::new`].
    pub fn new(n_fft: usize, hop: usize, device: &Device) -> Result<Self> {
        crate::features::Stft::new(n_fft, hop)?;
        let f = n_fft / 2 + 1;
        let w = sqrt_hann(n_fft);
        let g = 2.0 * hop as f64 / n_fft as f64;
        let mut fc = vec![0.0f32; n_fft * f];
        let mut fs = vec![0.0f32; n_fft * f];
        let mut ic = vec![0.0f32; f * n_fft];
        let mut is = vec![0.0f32; f * n_fft];
        for n in 0..n_fft {
            for k in 0..f {
                let ph = 2.0 * std::f64::consts::PI * ((k * n) % n_fft) as f64 / n_fft as f64;
                let (s, c) = ph.sin_cos();
                let wn = w[n] as f64;
                fc[n * f + k] = (wn * c) as f32;
                fs[n * f + k] = (-wn * s) as f32;
                let ck = if k == 0 || k == n_fft / 2 { 1.0 } else { 2.0 };
                ic[k * n_fft + n] = (g * ck * c * wn / n_fft as f64) as f32;
                is[k * n_fft + n] = (-g * ck * s * wn / n_fft as f64) as f32;
            }
        }
        let t2 = |v: Vec<f32>, s: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, s), device);
        Ok(Self {
            n_fft,
            hop,
            fwd_cos: t2(fc, [n_fft, f]),
            fwd_sin: t2(fs, [n_fft, f]),
            inv_cos: t2(ic, [f, n_fft]),
            inv_sin: t2(is, [f, n_fft]),
        })
    }

    /// Frames for `len` samples (as [`crate::features::Stft::n_frames`]).
    pub fn n_frames(&self, len: usize) -> usize {
        if len == 0 {
            0
        } else {
            (len + self.n_fft - self.hop).div_ceil(self.hop)
        }
    }

    /// Inverse STFT (weighted overlap-add): `re`, `im` `[M, F, T]` → `[M, len]`, `len ≤ T·hop`.
    ///
    /// # Errors
    /// Wrong bin count or `len > T·hop`.
    pub fn istft(&self, re: Tensor<3>, im: Tensor<3>, len: usize) -> Result<Tensor<2>> {
        let [m, f, t] = re.dims();
        if f != self.n_fft / 2 + 1 || len > t * self.hop {
            return Err(NeuralError::Shape {
                expected: format!("{} bins and len ≤ {}", self.n_fft / 2 + 1, t * self.hop),
                got: format!("{f} bins, len {len}"),
            });
        }
        let k = self.n_fft / self.hop;
        let re2 = re.swap_dims(1, 2).reshape([m * t, f]);
        let im2 = im.swap_dims(1, 2).reshape([m * t, f]);
        let frames = (re2.matmul(self.inv_cos.clone()) + im2.matmul(self.inv_sin.clone()))
            .reshape([m, t, k, self.hop]);
        let mut acc: Option<Tensor<3>> = None;
        for j in 0..k {
            let seg = frames
                .clone()
                .narrow(2, j, 1)
                .reshape([m, t, self.hop])
                .pad([(j, k - 1 - j), (0, 0)], PadMode::Constant(0.0));
            acc = Some(match acc {
                Some(a) => a + seg,
                None => seg,
            });
        }
        let y = acc
            .ok_or_else(|| NeuralError::Config("empty overlap-add".into()))?
            .reshape([m, (t + k - 1) * self.hop]);
        Ok(y.narrow(1, self.n_fft - self.hop, len))
    }

    /// STFT of `x` `[M, L]` → `(re, im)` `[M, T, F]`, `T = n_frames(L)`.
    pub fn stft(&self, x: Tensor<2>) -> (Tensor<3>, Tensor<3>) {
        let [m, l] = x.dims();
        let t = self.n_frames(l);
        let k = self.n_fft / self.hop;
        let total = (t + k - 1) * self.hop;
        let front = self.n_fft - self.hop;
        let x = x.pad([(front, total - front - l)], PadMode::Constant(0.0));
        let blocks = x.reshape([m, t + k - 1, self.hop]);
        let frames = Tensor::cat((0..k).map(|j| blocks.clone().narrow(1, j, t)).collect(), 2)
            .reshape([m * t, self.n_fft]);
        let f = self.n_fft / 2 + 1;
        let re = frames
            .clone()
            .matmul(self.fwd_cos.clone())
            .reshape([m, t, f]);
        let im = frames.matmul(self.fwd_sin.clone()).reshape([m, t, f]);
        (re, im)
    }
}

fn smooth_mag_sq<const D: usize>(re: Tensor<D>, im: Tensor<D>) -> Tensor<D> {
    re.powf_scalar(2.0) + im.powf_scalar(2.0)
}

/// Reconstruction loss of complex STFTs `[B, 2, F, T]`:
/// `Σ|Ŷ − Y|² / (Σ|Y|² + δ)` (normalised complex error) `+ mean |ln|Ŷ|_δ − ln|Y|_δ|`
/// (log-magnitude L1, `|z|_δ = sqrt(|z|² + δ)`, δ = [`MAG_EPS`]).
pub fn recon_loss(p_re: Tensor<4>, p_im: Tensor<4>, t_re: Tensor<4>, t_im: Tensor<4>) -> Tensor<1> {
    recon_loss_band(p_re, p_im, t_re, t_im, None)
}

/// [`recon_loss`] with the complex part restricted to the bins where `complex_mask`
/// (`[1, 1, F, 1]`, 1 = kept, 0 = left out) is 1: `Σ m|Ŷ − Y|² / (Σ m|Y|² + δ)`; the
/// log-magnitude part keeps every bin.
pub fn recon_loss_band(
    p_re: Tensor<4>,
    p_im: Tensor<4>,
    t_re: Tensor<4>,
    t_im: Tensor<4>,
    complex_mask: Option<&Tensor<4>>,
) -> Tensor<1> {
    let d = smooth_mag_sq(p_re.clone() - t_re.clone(), p_im.clone() - t_im.clone());
    let e = smooth_mag_sq(t_re, t_im);
    let complex = match complex_mask {
        Some(m) => {
            let m = m.clone().expand(d.dims());
            (d * m.clone()).sum() / (e.clone() * m).sum().add_scalar(MAG_EPS)
        }
        None => d.sum() / e.clone().sum().add_scalar(MAG_EPS),
    };
    let lp = smooth_mag_sq(p_re, p_im).add_scalar(MAG_EPS).log();
    let lt = e.add_scalar(MAG_EPS).log();
    let logmag = (lp - lt).abs().mean().mul_scalar(0.5);
    complex + logmag
}

/// DOA loss: predicted unit vectors `[B, K, 3]`, target unit vectors `[B, S, 3]`; every target is
/// matched to its closest prediction: `mean_{b,s} (1 − max_k ⟨t_s, p_k⟩)` (0 … 2).
pub fn doa_loss(pred: Tensor<3>, target: Tensor<3>) -> Tensor<1> {
    let cos = target.matmul(pred.swap_dims(1, 2)); // [B, S, K]
    cos.max_dim(2).neg().add_scalar(1.0).mean()
}

/// Frequency bands for the cue loss: `n_bands` log-spaced bands between `f_lo_hz` and the
/// Nyquist frequency (every bin in exactly one band: bins below `f_lo_hz` join the first; bands
/// without bins are dropped);
/// the IPD uses the bands whose centre is below `ipd_max_hz`.
#[derive(Debug, Clone)]
pub struct CueBands {
    /// `[F, n_bands]` 0/1 membership.
    all: Tensor<2>,
    /// `[F, n_ipd]` membership of the IPD bands.
    ipd: Tensor<2>,
}

impl CueBands {
    /// Bands for an `n_fft`-point STFT at `fs_hz`.
    pub fn new(
        n_fft: usize,
        fs_hz: f64,
        n_bands: usize,
        f_lo_hz: f64,
        ipd_max_hz: f64,
        device: &Device,
    ) -> Self {
        let f = n_fft / 2 + 1;
        let nyq = fs_hz / 2.0;
        let n_bands = n_bands.max(1);
        let edge = |b: usize| f_lo_hz * (nyq / f_lo_hz).powf(b as f64 / n_bands as f64);
        let raw_band = |k: usize| {
            let hz = k as f64 * fs_hz / n_fft as f64;
            (0..n_bands)
                .position(|b| hz < edge(b + 1))
                .unwrap_or(n_bands - 1)
        };
        // Bands without any bin (narrow low bands of short STFTs) are dropped.
        let mut used: Vec<usize> = (0..f).map(raw_band).collect();
        used.dedup();
        let n_used = used.len();
        let band_of = |k: usize| used.iter().position(|&b| b == raw_band(k)).unwrap_or(0);
        let mut all = vec![0.0f32; f * n_used];
        for k in 0..f {
            all[k * n_used + band_of(k)] = 1.0;
        }
        let ipd_bands: Vec<usize> = (0..n_used)
            .filter(|&j| (edge(used[j]) * edge(used[j] + 1)).sqrt() < ipd_max_hz)
            .collect();
        let n_ipd = ipd_bands.len().max(1);
        let mut ipd = vec![0.0f32; f * n_ipd];
        for k in 0..f {
            if let Some(j) = ipd_bands.iter().position(|&b| b == band_of(k)) {
                ipd[k * n_ipd + j] = 1.0;
            }
        }
        Self {
            all: Tensor::from_data(TensorData::new(all, [f, n_used]), device),
            ipd: Tensor::from_data(TensorData::new(ipd, [f, n_ipd]), device),
        }
    }
}

/// `[B, 2, F, T]` → ear `e` as `[B·T, F]`.
fn ear_rows(x: Tensor<4>, e: usize) -> Tensor<2> {
    let [b, _, f, t] = x.dims();
    x.narrow(1, e, 1)
        .reshape([b, f, t])
        .swap_dims(1, 2)
        .reshape([b * t, f])
}

struct Cues {
    ild: Tensor<2>,
    cr: Tensor<2>,
    ci: Tensor<2>,
}

fn cues(re: Tensor<4>, im: Tensor<4>, bands: &CueBands) -> Cues {
    let (lr, li) = (ear_rows(re.clone(), 0), ear_rows(im.clone(), 0));
    let (rr, ri) = (ear_rows(re, 1), ear_rows(im, 1));
    let el = smooth_mag_sq(lr.clone(), li.clone()).matmul(bands.all.clone());
    let er = smooth_mag_sq(rr.clone(), ri.clone()).matmul(bands.all.clone());
    let ild = el.add_scalar(MAG_EPS).log() - er.add_scalar(MAG_EPS).log();
    let cr = (lr.clone() * rr.clone() + li.clone() * ri.clone()).matmul(bands.ipd.clone());
    let ci = (li * rr - lr * ri).matmul(bands.ipd.clone());
    Cues { ild, cr, ci }
}

/// Binaural-cue loss of binaural STFTs `[B, 2, F, T]` per band and frame:
/// ILD: `mean |ΔILD|` with `ILD = ln(E_L + δ) − ln(E_R + δ)` (natural-log level ratio, 1 ≙ 4.34 dB);
/// IPD: `Σ w |u_p − u_t|²/2` with the unit phasors `u = C/|C|_δ` of the interaural cross-spectrum
/// `C = Σ_band L R*` (`|u_p − u_t|²/2 = 1 − cos(∠Ĉ − ∠C)` for `|C| ≫ √δ`), weighted by the target's
/// `w = |C| / Σ|C|` (silent bands do not count), bands below `ipd_max_hz`.
pub fn cue_loss(
    p_re: Tensor<4>,
    p_im: Tensor<4>,
    t_re: Tensor<4>,
    t_im: Tensor<4>,
    bands: &CueBands,
) -> Tensor<1> {
    let p = cues(p_re, p_im, bands);
    let t = cues(t_re, t_im, bands);
    let ild = (p.ild - t.ild).abs().mean();
    let mp = smooth_mag_sq(p.cr.clone(), p.ci.clone())
        .add_scalar(MAG_EPS)
        .sqrt();
    let mt = smooth_mag_sq(t.cr.clone(), t.ci.clone())
        .add_scalar(MAG_EPS)
        .sqrt();
    // Unit phasors u = C/|C|_δ; |u_p − u_t|²/2 = 1 − cos(Δ∠) for unit phasors, exactly 0 when
    // prediction and target are equal.
    let du_r = p.cr / mp.clone() - t.cr / mt.clone();
    let du_i = p.ci / mp - t.ci / mt.clone();
    let dims = mt.dims();
    let w = mt.clone()
        / mt.sum()
            .add_scalar(MAG_EPS)
            .unsqueeze_dim::<2>(0)
            .expand(dims);
    let ipd = (smooth_mag_sq(du_r, du_i).mul_scalar(0.5) * w).sum();
    ild + ipd
}

/// Multi-resolution STFT loss of time signals `[M, L]` (Yamamoto et al., ICASSP 2020), averaged
/// over the resolutions: squared spectral convergence `Σ(|S| − |Ŝ|)² / Σ|S|²` plus
/// `mean |ln|S|_δ − ln|Ŝ|_δ|`.
pub fn mrstft_loss(pred: Tensor<2>, target: Tensor<2>, stfts: &[GraphStft]) -> Tensor<1> {
    let mut total: Option<Tensor<1>> = None;
    for s in stfts {
        let (pr, pi) = s.stft(pred.clone());
        let (tr, ti) = s.stft(target.clone());
        let mp2 = smooth_mag_sq(pr, pi).add_scalar(MAG_EPS);
        let mt2 = smooth_mag_sq(tr, ti).add_scalar(MAG_EPS);
        let mp = mp2.clone().sqrt();
        let mt = mt2.clone().sqrt();
        let sc = (mt.clone() - mp).powf_scalar(2.0).sum() / mt.powf_scalar(2.0).sum();
        let lm = (mp2.log() - mt2.log()).abs().mean().mul_scalar(0.5);
        let term = sc + lm;
        total = Some(match total {
            Some(a) => a + term,
            None => term,
        });
    }
    match total {
        Some(t) => t.div_scalar(stfts.len() as f64),
        None => Tensor::zeros([1], &pred.device()),
    }
}

/// Loss weights (the paper's 1.0 : 0.3 : 0.5 : 0.2).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossWeights {
    /// Reconstruction (complex STFT + log magnitude).
    pub recon: f64,
    /// DOA auxiliary head.
    pub doa: f64,
    /// Binaural cues (ILD/IPD per band).
    pub cues: f64,
    /// Multi-resolution STFT ("perceptual").
    pub mrstft: f64,
    /// Restrict the complex (waveform) part of the reconstruction term to bins at or below this
    /// frequency (Hz); the log-magnitude part keeps every bin. `None` (the paper): all bins.
    ///
    /// Above the array's spatial-aliasing limit the capsules do not determine the ear signals'
    /// phases; there the complex error is smallest for an output *attenuated* towards zero (the
    /// MMSE estimate of a component of unknown phase), which is what training on it learns —
    /// duller highs, worse LSD. eMagLS stops fitting phase above its MagLS cut-off for the same
    /// reason; `complex_max_hz = 2000` gives the loss the same split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complex_max_hz: Option<f64>,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            recon: 1.0,
            doa: 0.3,
            cues: 0.5,
            mrstft: 0.2,
            complex_max_hz: None,
        }
    }
}

/// Training target of one batch.
#[derive(Debug, Clone)]
pub struct Target {
    /// Binaural STFT, real part `[B, 2, F, T]`.
    pub re: Tensor<4>,
    /// Binaural STFT, imaginary part `[B, 2, F, T]`.
    pub im: Tensor<4>,
    /// Binaural time signals `[B, 2, L]`.
    pub time: Tensor<3>,
    /// Source directions, unit vectors `[B, S, 3]`.
    pub doa: Tensor<3>,
}

/// The loss terms of one batch (each already a scalar tensor).
#[derive(Debug, Clone)]
pub struct LossTerms {
    /// Weighted sum.
    pub total: Tensor<1>,
    /// Reconstruction.
    pub recon: Tensor<1>,
    /// DOA.
    pub doa: Tensor<1>,
    /// Cues.
    pub cues: Tensor<1>,
    /// Multi-resolution STFT.
    pub mrstft: Tensor<1>,
}

impl LossTerms {
    /// `(1 − alpha)·self + alpha·other`, term by term (knowledge distillation: the loss against
    /// the reference mixed with the loss against a teacher's output).
    #[must_use]
    pub fn mix(self, other: LossTerms, alpha: f64) -> LossTerms {
        let m = |a: Tensor<1>, b: Tensor<1>| a.mul_scalar(1.0 - alpha) + b.mul_scalar(alpha);
        LossTerms {
            total: m(self.total, other.total),
            recon: m(self.recon, other.recon),
            doa: m(self.doa, other.doa),
            cues: m(self.cues, other.cues),
            mrstft: m(self.mrstft, other.mrstft),
        }
    }
}

/// Everything the weighted loss needs, built once per device and STFT setting.
#[derive(Debug, Clone)]
pub struct WeightedLoss {
    /// Weights.
    pub weights: LossWeights,
    synth: GraphStft,
    bands: CueBands,
    mr: Vec<GraphStft>,
    /// `[1, 1, F, 1]` bins of the complex reconstruction part (`LossWeights::complex_max_hz`).
    complex_mask: Option<Tensor<4>>,
}

impl WeightedLoss {
    /// Loss for the network's `n_fft`/`hop` STFT at `fs_hz`, cue bands (24 log-spaced from 50 Hz,
    /// IPD below 1.5 kHz), multi-resolution STFTs `mr_sizes` (frame lengths, hop = half).
    ///
    /// # Errors
    /// Invalid STFT sizes.
    pub fn new(
        n_fft: usize,
        hop: usize,
        fs_hz: f64,
        mr_sizes: &[usize],
        weights: LossWeights,
        device: &Device,
    ) -> Result<Self> {
        let n_bins = n_fft / 2 + 1;
        let complex_mask = weights.complex_max_hz.map(|f_max| {
            let m: Vec<f32> = (0..n_bins)
                .map(|k| f32::from(u8::from(k as f64 * fs_hz / n_fft as f64 <= f_max)))
                .collect();
            Tensor::<4>::from_data(TensorData::new(m, [1, 1, n_bins, 1]), device)
        });
        Ok(Self {
            weights,
            complex_mask,
            synth: GraphStft::new(n_fft, hop, device)?,
            bands: CueBands::new(n_fft, fs_hz, 24, 50.0, 1500.0, device),
            mr: mr_sizes
                .iter()
                .map(|&n| GraphStft::new(n, n / 2, device))
                .collect::<Result<_>>()?,
        })
    }

    /// The network's STFT in the graph (for the time-domain output).
    pub fn synth(&self) -> &GraphStft {
        &self.synth
    }

    /// A distillation target: a teacher network's output as the binaural reference (its STFT,
    /// and as the time signal its inverse STFT of the reference's length), with no gradient
    /// through it, and the reference's source directions (a teacher's DOA predictions are an
    /// unordered guess; the true directions stay the DOA target).
    ///
    /// # Errors
    /// The teacher's STFT does not fit this loss's STFT or the reference's length.
    pub fn teacher_target(&self, teacher: &RendererOutput, reference: &Target) -> Result<Target> {
        if teacher.re.dims() != reference.re.dims() {
            return Err(NeuralError::Shape {
                expected: format!("teacher output {:?}", reference.re.dims()),
                got: format!("{:?}", teacher.re.dims()),
            });
        }
        let [b, e, f, t] = teacher.re.dims();
        let [_, _, len] = reference.time.dims();
        let (re, im) = (teacher.re.clone().detach(), teacher.im.clone().detach());
        let time = self
            .synth
            .istft(
                re.clone().reshape([b * e, f, t]),
                im.clone().reshape([b * e, f, t]),
                len,
            )?
            .reshape([b, e, len])
            .detach();
        Ok(Target {
            re,
            im,
            time,
            doa: reference.doa.clone(),
        })
    }

    /// All terms for `out` against `target`.
    ///
    /// # Errors
    /// Shapes of output and target disagree.
    pub fn compute(&self, out: &RendererOutput, target: &Target) -> Result<LossTerms> {
        if out.re.dims() != target.re.dims() {
            return Err(NeuralError::Shape {
                expected: format!("{:?}", target.re.dims()),
                got: format!("{:?}", out.re.dims()),
            });
        }
        let [b, e, f, t] = out.re.dims();
        let [_, _, len] = target.time.dims();
        let recon = recon_loss_band(
            out.re.clone(),
            out.im.clone(),
            target.re.clone(),
            target.im.clone(),
            self.complex_mask.as_ref(),
        );
        let doa = doa_loss(out.doa.clone(), target.doa.clone());
        let cues = cue_loss(
            out.re.clone(),
            out.im.clone(),
            target.re.clone(),
            target.im.clone(),
            &self.bands,
        );
        let y = self.synth.istft(
            out.re.clone().reshape([b * e, f, t]),
            out.im.clone().reshape([b * e, f, t]),
            len,
        )?;
        let mrstft = mrstft_loss(y, target.time.clone().reshape([b * e, len]), &self.mr);
        let w = self.weights;
        let total = recon.clone().mul_scalar(w.recon)
            + doa.clone().mul_scalar(w.doa)
            + cues.clone().mul_scalar(w.cues)
            + mrstft.clone().mul_scalar(w.mrstft);
        Ok(LossTerms {
            total,
            recon,
            doa,
            cues,
            mrstft,
        })
    }
}
