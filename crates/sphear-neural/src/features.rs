//! Input features of the neural renderer (paper §2.1–2.2): the capsules' STFT, its log-compressed
//! magnitude, power-law-compressed real and imaginary parts, inter-channel phase differences
//! against a reference capsule, optional GCC-PHAT pair features, per-frame SH descriptors from the
//! project's order-4 encoder and the listener's 12-D anthropometry.
//!
//! ## STFT
//! Frames of `n_fft` samples every `hop` samples (`n_fft / hop` an integer ≥ 2), weighted by the
//! square root of the periodic Hann window `w(n) = sqrt(0.5 − 0.5 cos(2πn/N))`, forward real FFT
//! (`X_t[k] = Σ_n w(n) x(s_t + n) e^{−2πikn/N}`, unnormalised). Frame `t` starts at sample
//! `s_t = t·hop − (N − hop)`, so every input sample lies in exactly `N/hop` frames and the signal
//! is padded with zeros outside `[0, len)`. Synthesis is weighted overlap-add with the same window
//! and the gain `2·hop/N` (`Σ_t w²(n − s_t) = N/(2·hop)` for the periodic Hann window), which
//! reconstructs the input exactly (Crochiere 1980; Allen & Rabiner 1977).
//!
//! ## Feature planes `[P, F, T]` (P = 3C, + 2(C−1) with IPDs)
//! * `ln(|X_c| + ε_mag)` (natural log, `ε_mag` = [`FeatureConfig::mag_floor`]),
//! * `Re` and `Im` of `X_c · |X_c|^(γ−1)` (power-law compression, γ = [`FeatureConfig::compress`],
//!   which keeps the phase and shrinks the dynamic range),
//! * IPDs: `cos` and `sin` of `∠X_c − ∠X_ref` for every capsule `c ≠ ref` (computed as the
//!   normalised cross-spectrum `X_c X_ref* / (|X_c||X_ref| + ε)`; 0 where either bin is silent).
//!
//! ## Auxiliary per-frame vector `[A, T]`
//! SH coefficients `B(f,t) = E(f) X(f,t)` with the ideal order-4 encoder transfer matrix `E(f)`
//! `[25 × C]` of [`sphear_sh::encoder::EncoderDesign::transfer_matrix`] (SN3D), summarised per
//! frame over the band [`FeatureConfig::sh_band_hz`] into 25 descriptors:
//! `a_0 = log10(Σ_f |B_0|² + ε)` and `a_n = Σ_f Re(B_0* B_n) / (Σ_f |B_0|² + ε)` for n = 1..24 —
//! the generalised pseudo-intensity: for one plane wave from `u` it equals the SN3D `Y_n(u)`.
//! With [`FeatureConfig::gcc_phat`], `(C−1)·(2L+1)` GCC-PHAT values follow: for each pair
//! `(ref, c)`, `r(τ) = IDFT[X_c X_ref* / |X_c X_ref*|](τ)` at lags `|τ| ≤ L` samples (Knapp & Carter
//! 1976), `L` = [`FeatureConfig::gcc_max_lag_samples`].

use num_complex::{Complex32, Complex64};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use sphear_sh::array::ArrayGeometry;
use sphear_sh::encoder::{EncoderConfig, EncoderDesign};

use crate::{NeuralError, Result};

/// Number of SH coefficients of the order-4 auxiliary branch.
pub const NUM_SH: usize = 25;
/// Dimension of the anthropometric conditioning vector.
pub const ANTHRO_DIM: usize = 12;

/// Listener anthropometry, 12 standardised values (z-scores: `(x − μ_i)/σ_i` with the mean and
/// standard deviation of feature `i` over the training subjects). The choice and order of the
/// 12 measures is the one of the HRTF personalisation (`sphear-personalize`); all zeros is the
/// population-mean listener.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Anthropometry(pub [f32; ANTHRO_DIM]);

/// Feature settings (serialised with the model config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Sample rate in Hz.
    pub sample_rate_hz: f64,
    /// STFT frame length (samples, even).
    pub n_fft: usize,
    /// STFT hop (samples; `n_fft / hop` an integer ≥ 2).
    pub hop: usize,
    /// Reference capsule of the IPDs and GCC-PHAT pairs (0-based channel index).
    pub ref_capsule: usize,
    /// Add the IPD planes.
    pub ipd: bool,
    /// Add GCC-PHAT pair features to the auxiliary vector.
    pub gcc_phat: bool,
    /// Largest GCC-PHAT lag in samples.
    pub gcc_max_lag_samples: usize,
    /// Floor `ε_mag` of the log magnitude.
    pub mag_floor: f32,
    /// Power-law compression exponent γ of the real/imaginary planes.
    pub compress: f32,
    /// Band of the SH descriptors in Hz (below the em32's spatial aliasing, ~5.2 kHz at order 4).
    pub sh_band_hz: [f64; 2],
}

impl FeatureConfig {
    /// The paper's setting: 1024-sample frames, hop 512 (21.3 ms, 46.9 Hz bins at 48 kHz).
    pub fn paper() -> Self {
        Self {
            sample_rate_hz: 48_000.0,
            n_fft: 1024,
            hop: 512,
            ref_capsule: 0,
            ipd: true,
            gcc_phat: false,
            gcc_max_lag_samples: 12,
            mag_floor: 1e-5,
            compress: 0.3,
            sh_band_hz: [200.0, 5000.0],
        }
    }

    /// Low-latency setting: 256-sample frames, hop 128 (algorithmic latency 256 samples = 5.3 ms).
    pub fn low_latency() -> Self {
        Self {
            n_fft: 256,
            hop: 128,
            ..Self::paper()
        }
    }

    /// Number of frequency bins `n_fft/2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of feature planes for `n_caps` capsules: `3C`, plus `2(C−1)` with IPDs.
    pub fn num_planes(&self, n_caps: usize) -> usize {
        3 * n_caps + if self.ipd { 2 * (n_caps - 1) } else { 0 }
    }

    /// Length of the auxiliary per-frame vector: 25, plus `(C−1)(2L+1)` with GCC-PHAT.
    pub fn num_aux(&self, n_caps: usize) -> usize {
        NUM_SH
            + if self.gcc_phat {
                (n_caps - 1) * (2 * self.gcc_max_lag_samples + 1)
            } else {
                0
            }
    }
}

/// Sqrt-Hann weighted-overlap-add STFT (see the module docs for the exact definition).
#[derive(Clone)]
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .finish()
    }
}

/// The analysis/synthesis window `sqrt(0.5 − 0.5 cos(2πn/N))`, n = 0..N−1 (periodic Hann).
pub fn sqrt_hann(n_fft: usize) -> Vec<f32> {
    (0..n_fft)
        .map(|n| {
            (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / n_fft as f64).cos()).sqrt() as f32
        })
        .collect()
}

impl Stft {
    /// STFT with frames of `n_fft` samples every `hop` samples.
    ///
    /// # Errors
    /// `n_fft` odd or < 4, or `n_fft / hop` not an integer ≥ 2.
    pub fn new(n_fft: usize, hop: usize) -> Result<Self> {
        if n_fft < 4 || n_fft % 2 != 0 || hop == 0 || n_fft % hop != 0 || n_fft / hop < 2 {
            return Err(NeuralError::Config(format!(
                "STFT needs an even n_fft ≥ 4 and n_fft/hop an integer ≥ 2, got n_fft {n_fft}, hop {hop}"
            )));
        }
        let mut planner = RealFftPlanner::<f32>::new();
        Ok(Self {
            n_fft,
            hop,
            window: sqrt_hann(n_fft),
            fwd: planner.plan_fft_forward(n_fft),
            inv: planner.plan_fft_inverse(n_fft),
        })
    }

    /// Frame length.
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }
    /// Hop.
    pub fn hop(&self) -> usize {
        self.hop
    }
    /// Bins per frame `n_fft/2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }
    /// The window.
    pub fn window(&self) -> &[f32] {
        &self.window
    }

    /// Frames needed for a signal of `len` samples: `ceil((len + N − hop) / hop)` (0 for `len` 0).
    pub fn n_frames(&self, len: usize) -> usize {
        if len == 0 {
            0
        } else {
            (len + self.n_fft - self.hop).div_ceil(self.hop)
        }
    }

    /// First sample (may be negative) of frame `t`: `t·hop − (N − hop)`.
    pub fn frame_start(&self, t: usize) -> isize {
        (t * self.hop) as isize - (self.n_fft - self.hop) as isize
    }

    /// Analysis of one channel: `[frame][bin]`, `n_frames(x.len())` frames.
    pub fn analyze(&self, x: &[f32]) -> Vec<Vec<Complex32>> {
        self.analyze_frames(x, 0, self.n_frames(x.len()))
    }

    /// Frames `first .. first + n` of [`Stft::analyze`] (frame `t` starts at sample
    /// [`Stft::frame_start`]`(t)`; samples outside `x` are zeros), without computing the others.
    pub fn analyze_frames(&self, x: &[f32], first: usize, n: usize) -> Vec<Vec<Complex32>> {
        let mut buf = self.fwd.make_input_vec();
        let mut scratch = self.fwd.make_scratch_vec();
        (first..first + n)
            .map(|t| {
                let s = self.frame_start(t);
                for (n, b) in buf.iter_mut().enumerate() {
                    let i = s + n as isize;
                    *b = if i >= 0 && (i as usize) < x.len() {
                        x[i as usize] * self.window[n]
                    } else {
                        0.0
                    };
                }
                let mut spec = self.fwd.make_output_vec();
                // Lengths come from the planner itself, so this cannot fail.
                let _ = self
                    .fwd
                    .process_with_scratch(&mut buf, &mut spec, &mut scratch);
                spec
            })
            .collect()
    }

    /// Weighted overlap-add synthesis of `frames` (`[frame][bin]`) to `len` samples. The imaginary
    /// parts of the DC and Nyquist bins are ignored (a real signal has none).
    ///
    /// # Errors
    /// A frame with the wrong number of bins.
    pub fn synthesize(&self, frames: &[Vec<Complex32>], len: usize) -> Result<Vec<f32>> {
        let mut y = vec![0.0f32; len];
        let gain = 2.0 * self.hop as f32 / self.n_fft as f32 / self.n_fft as f32;
        let mut out = self.inv.make_output_vec();
        let mut scratch = self.inv.make_scratch_vec();
        for (t, f) in frames.iter().enumerate() {
            if f.len() != self.n_bins() {
                return Err(NeuralError::Shape {
                    expected: format!("{} bins per frame", self.n_bins()),
                    got: f.len().to_string(),
                });
            }
            let mut spec = f.clone();
            spec[0].im = 0.0;
            let last = spec.len() - 1;
            spec[last].im = 0.0;
            let _ = self
                .inv
                .process_with_scratch(&mut spec, &mut out, &mut scratch);
            let s = self.frame_start(t);
            for (n, v) in out.iter().enumerate() {
                let i = s + n as isize;
                if i >= 0 && (i as usize) < len {
                    y[i as usize] += v * self.window[n] * gain;
                }
            }
        }
        Ok(y)
    }
}

/// Features of one scene, all `f32`, channel-major and time-last (`[.., F, T]`).
#[derive(Debug, Clone)]
pub struct SceneFeatures {
    /// Capsules `C`.
    pub n_caps: usize,
    /// Bins `F`.
    pub n_bins: usize,
    /// Frames `T`.
    pub n_frames: usize,
    /// Input length in samples.
    pub len_samples: usize,
    /// Feature planes `[P][F][T]` (see the module docs).
    pub planes: Vec<f32>,
    /// Number of planes `P`.
    pub n_planes: usize,
    /// Auxiliary per-frame vector `[A][T]` (SH descriptors, then GCC-PHAT).
    pub aux: Vec<f32>,
    /// Length `A` of the auxiliary vector.
    pub n_aux: usize,
    /// Real part of the capsule STFT `[C][F][T]`.
    pub stft_re: Vec<f32>,
    /// Imaginary part of the capsule STFT `[C][F][T]`.
    pub stft_im: Vec<f32>,
}

/// Computes [`SceneFeatures`] from capsule signals.
#[derive(Debug, Clone)]
pub struct FeatureExtractor {
    cfg: FeatureConfig,
    stft: Stft,
    n_caps: usize,
    /// Encoder transfer matrices per bin in the SH band, `(bin, [25 × C] row-major)`.
    sh_bins: Vec<(usize, Vec<Complex32>)>,
}

impl FeatureExtractor {
    /// Extractor for `array` (its capsule count and geometry define the SH encoder).
    ///
    /// # Errors
    /// Bad STFT settings, reference capsule out of range, or an array that cannot encode order 4.
    pub fn new(cfg: &FeatureConfig, array: &ArrayGeometry) -> Result<Self> {
        let stft = Stft::new(cfg.n_fft, cfg.hop)?;
        let n_caps = array.num_capsules();
        if cfg.ref_capsule >= n_caps {
            return Err(NeuralError::Config(format!(
                "reference capsule {} out of range for {} capsules",
                cfg.ref_capsule, n_caps
            )));
        }
        let enc = EncoderDesign::new(
            array,
            cfg.sample_rate_hz,
            &EncoderConfig {
                order: 4,
                ..EncoderConfig::default()
            },
        )?;
        let mut sh_bins = Vec::new();
        for k in 0..stft.n_bins() {
            let f_hz = k as f64 * cfg.sample_rate_hz / cfg.n_fft as f64;
            if f_hz < cfg.sh_band_hz[0] || f_hz > cfg.sh_band_hz[1] {
                continue;
            }
            let e = enc.transfer_matrix(f_hz);
            let mut m = Vec::with_capacity(NUM_SH * n_caps);
            for i in 0..NUM_SH {
                for q in 0..n_caps {
                    let v: Complex64 = e[(i, q)];
                    m.push(Complex32::new(v.re as f32, v.im as f32));
                }
            }
            sh_bins.push((k, m));
        }
        Ok(Self {
            cfg: cfg.clone(),
            stft,
            n_caps,
            sh_bins,
        })
    }

    /// The settings.
    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }
    /// The STFT.
    pub fn stft(&self) -> &Stft {
        &self.stft
    }

    /// Features of capsule signals `[capsule][sample]` (capsule order of the array).
    ///
    /// # Errors
    /// Wrong channel count, channels of different lengths, empty or non-finite input.
    pub fn extract(&self, capsules: &[Vec<f32>]) -> Result<SceneFeatures> {
        let n = capsules.first().map_or(0, |c| self.stft.n_frames(c.len()));
        self.extract_frames(capsules, 0, n)
    }

    /// Frames `first .. first + n` of [`FeatureExtractor::extract`] (the same values; the SH
    /// and GCC-PHAT descriptors are per frame), computing only those: what the streamed
    /// renderer needs for a segment whose leading padding frames it does not use.
    ///
    /// # Errors
    /// As [`FeatureExtractor::extract`]; a frame range beyond the signal's frames.
    pub fn extract_frames(
        &self,
        capsules: &[Vec<f32>],
        first: usize,
        n: usize,
    ) -> Result<SceneFeatures> {
        let c_n = self.n_caps;
        if capsules.len() != c_n {
            return Err(NeuralError::Shape {
                expected: format!("{c_n} capsule channels"),
                got: capsules.len().to_string(),
            });
        }
        let len = capsules[0].len();
        if len == 0 || capsules.iter().any(|c| c.len() != len) {
            return Err(NeuralError::Shape {
                expected: "non-empty capsule channels of one length".into(),
                got: format!("{:?}", capsules.iter().map(Vec::len).collect::<Vec<_>>()),
            });
        }
        if capsules.iter().flatten().any(|v| !v.is_finite()) {
            return Err(NeuralError::NonFinite("capsule signals".into()));
        }
        let all = self.stft.n_frames(len);
        if n == 0 || first + n > all {
            return Err(NeuralError::Shape {
                expected: format!("a non-empty frame range inside 0..{all}"),
                got: format!("{first}..{}", first + n),
            });
        }
        let specs: Vec<Vec<Vec<Complex32>>> = capsules
            .iter()
            .map(|x| self.stft.analyze_frames(x, first, n))
            .collect();
        let n_f = self.stft.n_bins();
        let n_t = specs[0].len();
        let plane = n_f * n_t;
        let idx = |f: usize, t: usize| f * n_t + t;

        let mut stft_re = vec![0.0f32; c_n * plane];
        let mut stft_im = vec![0.0f32; c_n * plane];
        let n_planes = self.cfg.num_planes(c_n);
        let mut planes = vec![0.0f32; n_planes * plane];
        let g = self.cfg.compress;
        // The spectra are [t][f], the planes [f][t]: visit them in blocks of T_BLOCK frames so
        // that both the reads (T_BLOCK frames, each in bin order) and the writes (runs of
        // T_BLOCK frames per bin) stay in cache.
        const T_BLOCK: usize = 16;
        for (c, spec) in specs.iter().enumerate() {
            for t0 in (0..n_t).step_by(T_BLOCK) {
                let t1 = (t0 + T_BLOCK).min(n_t);
                for f in 0..n_f {
                    for (t, frame) in spec.iter().enumerate().take(t1).skip(t0) {
                        let x = frame[f];
                        let i = idx(f, t);
                        stft_re[c * plane + i] = x.re;
                        stft_im[c * plane + i] = x.im;
                        let m = x.norm();
                        planes[c * plane + i] = (m + self.cfg.mag_floor).ln();
                        let s = if m > 0.0 { m.powf(g - 1.0) } else { 0.0 };
                        planes[(c_n + c) * plane + i] = x.re * s;
                        planes[(2 * c_n + c) * plane + i] = x.im * s;
                    }
                }
            }
        }
        let r = self.cfg.ref_capsule;
        if self.cfg.ipd {
            let mut p = 3 * c_n;
            for (c, spec) in specs.iter().enumerate() {
                if c == r {
                    continue;
                }
                for t0 in (0..n_t).step_by(T_BLOCK) {
                    let t1 = (t0 + T_BLOCK).min(n_t);
                    for f in 0..n_f {
                        for t in t0..t1 {
                            let z = spec[t][f] * specs[r][t][f].conj();
                            let m = z.norm();
                            let (cs, sn) = if m > 1e-20 {
                                (z.re / m, z.im / m)
                            } else {
                                (0.0, 0.0)
                            };
                            planes[p * plane + idx(f, t)] = cs;
                            planes[(p + 1) * plane + idx(f, t)] = sn;
                        }
                    }
                }
                p += 2;
            }
        }

        let n_aux = self.cfg.num_aux(c_n);
        let mut aux = vec![0.0f32; n_aux * n_t];
        for t in 0..n_t {
            let mut e0 = 0.0f64;
            let mut cross = [0.0f64; NUM_SH];
            for (k, m) in &self.sh_bins {
                let mut b = [Complex32::new(0.0, 0.0); NUM_SH];
                for (i, bi) in b.iter_mut().enumerate() {
                    let row = &m[i * c_n..(i + 1) * c_n];
                    *bi = row
                        .iter()
                        .zip(specs.iter())
                        .map(|(e, s)| e * s[t][*k])
                        .sum();
                }
                e0 += b[0].norm_sqr() as f64;
                for i in 1..NUM_SH {
                    cross[i] += (b[0].conj() * b[i]).re as f64;
                }
            }
            aux[t] = (e0 + 1e-12).log10() as f32;
            for i in 1..NUM_SH {
                aux[i * n_t + t] = (cross[i] / (e0 + 1e-12)) as f32;
            }
        }
        if self.cfg.gcc_phat {
            self.gcc_phat(&specs, &mut aux, n_t);
        }
        Ok(SceneFeatures {
            n_caps: c_n,
            n_bins: n_f,
            n_frames: n_t,
            len_samples: len,
            planes,
            n_planes,
            aux,
            n_aux,
            stft_re,
            stft_im,
        })
    }

    fn gcc_phat(&self, specs: &[Vec<Vec<Complex32>>], aux: &mut [f32], n_t: usize) {
        let n = self.cfg.n_fft;
        let l = self.cfg.gcc_max_lag_samples.min(n / 2 - 1);
        let n_lags = 2 * self.cfg.gcc_max_lag_samples + 1;
        let mut planner = RealFftPlanner::<f32>::new();
        let inv = planner.plan_fft_inverse(n);
        let mut out = inv.make_output_vec();
        let r = self.cfg.ref_capsule;
        let mut row = NUM_SH;
        for (c, spec) in specs.iter().enumerate() {
            if c == r {
                continue;
            }
            for t in 0..n_t {
                let mut z: Vec<Complex32> = spec[t]
                    .iter()
                    .zip(&specs[r][t])
                    .map(|(a, b)| {
                        let p = a * b.conj();
                        let m = p.norm();
                        if m > 1e-20 {
                            p / m
                        } else {
                            Complex32::new(0.0, 0.0)
                        }
                    })
                    .collect();
                z[0].im = 0.0;
                let last = z.len() - 1;
                z[last].im = 0.0;
                let _ = inv.process(&mut z, &mut out);
                for j in 0..=2 * l {
                    let lag = j as isize - l as isize;
                    let i = lag.rem_euclid(n as isize) as usize;
                    aux[(row + j) * n_t + t] = out[i] / n as f32;
                }
            }
            row += n_lags;
        }
    }
}
