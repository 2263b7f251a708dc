//! A-format → SH encoder for spherical microphone arrays (SAF `array2sh`-style).
//!
//! ## Model
//! A unit plane wave from direction `u` gives the capsule pressures (rigid or open sphere, see
//! [`crate::modal`]) `p(Ω_q) = 4π Σ_n b_n(kr) Σ_m Y_nm(Ω_q) Y_nm(u)`, orthonormal real SH `Y`,
//! mode strength `b_n` normalised so that `b_0 → 1` at low `kr`. The encoder
//! 1. applies the frequency-independent least-squares spatial matrix `pinv(Y)` `[(N+1)² × M]`
//!    (capsule directions, orthonormal SH), scaled per order to give AmbiX (ACN/SN3D) output, then
//! 2. applies one regularised radial (mode-strength) equaliser per order `n`, `H_n(f) ≈ 1/b_n(kr)`,
//!    realised as a linear-phase-delayed FIR of `filter_len` taps (delay `filter_len/2`).
//!
//! The result for a plane wave below the spatial aliasing frequency (≈ `N c/(2π r)`, 5.2 kHz for
//! the em32 at order 4) is `s(t)·Y^{SN3D}(u)` — AmbiX with `W = s` for a unit plane wave.
//!
//! ## Regularisation
//! With `α = 10^{G/20}` (`G` = maximum gain in dB, default 20 dB) the radial equaliser is either
//! * soft-limited (Bernschütz et al. 2011): `H_n = (2α/π)·(|b_n|/b_n)·atan(π/(2α|b_n|))`, which
//!   tends to `1/b_n` where `|b_n| ≫ 1/α` and to gain `α` where `b_n → 0`, or
//! * Tikhonov: `H_n = b_n* / (|b_n|² + λ²)` with `λ = 1/(2α)` (peak gain `α`, rolls off to 0 at DC).
//!
//! # References
//! * B. Bernschütz, C. Pörschmann, S. Spors, S. Weinzierl, "Soft-limiting der modalen
//!   Amplitudenverstärkung bei sphärischen Mikrofonarrays im Plane Wave Decomposition Verfahren",
//!   DAGA 2011.
//! * B. Rafaely, *Fundamentals of Spherical Array Processing*, Springer 2015 (2nd ed. 2019).
//! * L. McCormack et al., Spatial_Audio_Framework `array2sh` (ISC).

use nalgebra::DMatrix;
use num_complex::Complex64;
use realfft::RealFftPlanner;
use sphear_core::conv::{FilterSpec, MatrixConvolver};
use sphear_core::stream::BlockProcessor;

use crate::array::ArrayGeometry;
use crate::modal::mode_strength;
use crate::sh::{Norm, acn_to_nm, num_channels, sh_matrix};
use crate::{Result, ShError};

/// How the radial equalisers are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regularisation {
    /// Soft limiting (Bernschütz et al., DAGA 2011). Default.
    SoftLimit,
    /// Tikhonov regularisation.
    Tikhonov,
}

/// Encoder settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    /// SH order `N` (≤ floor(sqrt(M)) − 1).
    pub order: usize,
    /// Maximum radial-filter gain in dB (default 20).
    pub max_gain_db: f64,
    /// Regularisation method (default soft limiting).
    pub regularisation: Regularisation,
    /// FIR length of the radial filters in taps (default 1024; latency `filter_len/2`).
    pub filter_len: usize,
    /// Speed of sound in m/s.
    pub speed_m_s: f64,
    /// Processing block length for streaming (default 1024).
    pub block_len: usize,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            order: 4,
            max_gain_db: 20.0,
            regularisation: Regularisation::SoftLimit,
            filter_len: 1024,
            speed_m_s: sphear_core::SPEED_OF_SOUND_M_S,
            block_len: 1024,
        }
    }
}

/// A designed encoder: spatial matrix plus per-order radial FIRs.
#[derive(Debug, Clone)]
pub struct EncoderDesign {
    /// The settings it was designed with.
    pub config: EncoderConfig,
    /// The array.
    pub array: ArrayGeometry,
    /// Sample rate in Hz.
    pub sample_rate_hz: f64,
    /// Spatial matrix `[(N+1)² × M]`: AmbiX SN3D scaling included (`1/sqrt(4π(2n+1))·pinv(Y)`).
    pub spatial: DMatrix<f64>,
    /// Radial FIR per order `n = 0..=N`, `filter_len` taps each.
    pub radial_firs: Vec<Vec<f64>>,
    /// Constant delay of the radial FIRs in samples (`filter_len / 2`).
    pub delay_samples: usize,
}

/// Regularised radial equaliser `H_n ≈ 1/b_n` for one mode strength value.
pub fn regularised_inverse(b: Complex64, max_gain_db: f64, reg: Regularisation) -> Complex64 {
    let alpha = 10f64.powf(max_gain_db / 20.0);
    let mag = b.norm();
    match reg {
        Regularisation::SoftLimit => {
            if mag == 0.0 {
                return Complex64::new(alpha, 0.0);
            }
            let phase = b.conj() / mag; // |b|/b
            phase
                * (2.0 * alpha / std::f64::consts::PI)
                * (std::f64::consts::PI / (2.0 * alpha * mag)).atan()
        }
        Regularisation::Tikhonov => {
            let lambda = 1.0 / (2.0 * alpha);
            b.conj() / (mag * mag + lambda * lambda)
        }
    }
}

impl EncoderDesign {
    /// Design the encoder for `array` at `sample_rate_hz`.
    ///
    /// # Errors
    /// Order too high for the array, filter length < 16 or odd, non-positive rate.
    pub fn new(array: &ArrayGeometry, sample_rate_hz: f64, config: &EncoderConfig) -> Result<Self> {
        array.check_order(config.order)?;
        if config.filter_len < 16 || config.filter_len % 2 != 0 {
            return Err(ShError::InvalidArgument(format!(
                "filter length must be even and ≥ 16, got {}",
                config.filter_len
            )));
        }
        if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
            return Err(ShError::InvalidArgument(format!(
                "sample rate must be positive, got {sample_rate_hz}"
            )));
        }
        if !config.max_gain_db.is_finite() || config.max_gain_db < 0.0 || config.max_gain_db > 80.0
        {
            return Err(ShError::InvalidArgument(format!(
                "maximum gain must be between 0 and 80 dB, got {}",
                config.max_gain_db
            )));
        }
        if config.block_len == 0 {
            return Err(ShError::InvalidArgument("block length must be > 0".into()));
        }
        let spatial = spatial_matrix(array, config.order)?;
        let delay = config.filter_len / 2;
        let radial_firs = (0..=config.order)
            .map(|n| design_radial_fir(array, n, sample_rate_hz, config, delay))
            .collect();
        Ok(Self {
            config: config.clone(),
            array: array.clone(),
            sample_rate_hz,
            spatial,
            radial_firs,
            delay_samples: delay,
        })
    }

    /// Number of SH channels `(N+1)²`.
    pub fn num_sh(&self) -> usize {
        num_channels(self.config.order)
    }

    /// The ideal (regularised, not FIR-truncated) radial equaliser of order `n` at `freq_hz`.
    pub fn radial_response(&self, n: usize, freq_hz: f64) -> Complex64 {
        radial_eq(&self.array, n, freq_hz, &self.config)
    }

    /// The realised FIR radial filter of order `n` at `freq_hz`, with its delay removed.
    pub fn radial_fir_response(&self, n: usize, freq_hz: f64) -> Complex64 {
        let w = 2.0 * std::f64::consts::PI * freq_hz / self.sample_rate_hz;
        let mut acc = Complex64::new(0.0, 0.0);
        for (t, &h) in self.radial_firs[n].iter().enumerate() {
            let ph = -w * (t as f64 - self.delay_samples as f64);
            acc += Complex64::from_polar(h, ph);
        }
        acc
    }

    /// Ideal encoder transfer matrix `[(N+1)² × M]` at `freq_hz` (radial equalisers × spatial
    /// matrix), without FIR truncation and delay. Used by end-to-end decoder designs (eMagLS).
    pub fn transfer_matrix(&self, freq_hz: f64) -> DMatrix<Complex64> {
        let radial: Vec<Complex64> = (0..=self.config.order)
            .map(|n| self.radial_response(n, freq_hz))
            .collect();
        DMatrix::from_fn(self.spatial.nrows(), self.spatial.ncols(), |i, q| {
            radial[acn_to_nm(i).0] * self.spatial[(i, q)]
        })
    }

    /// Full FIR matrix `[sh][capsule]` = spatial gain × radial FIR (`filter_len` taps, delay
    /// `delay_samples`).
    pub fn fir_matrix(&self) -> Vec<Vec<Vec<f64>>> {
        (0..self.num_sh())
            .map(|i| {
                let fir = &self.radial_firs[acn_to_nm(i).0];
                (0..self.array.num_capsules())
                    .map(|q| fir.iter().map(|h| h * self.spatial[(i, q)]).collect())
                    .collect()
            })
            .collect()
    }

    /// A streaming encoder (block processor) for this design.
    pub fn stream(&self) -> Result<StreamEncoder> {
        StreamEncoder::new(self)
    }
}

/// `1/sqrt(4π(2n+1)) · pinv(Y)` with `Y = [M × (N+1)²]` orthonormal SH at the capsules.
fn spatial_matrix(array: &ArrayGeometry, order: usize) -> Result<DMatrix<f64>> {
    let y = sh_matrix(order, &array.capsules, Norm::Orthonormal);
    let pinv = y.clone().pseudo_inverse(1e-12).map_err(|e| {
        ShError::InvalidArgument(format!("SH matrix of the array is singular: {e}"))
    })?;
    // Check conditioning: the capsule layout must resolve the order.
    let sv = y.singular_values();
    let (smax, smin) = (sv.max(), sv.min());
    if smin <= 1e-6 * smax {
        return Err(ShError::Order {
            order,
            reason: format!(
                "the capsule layout of '{}' cannot resolve it (SH matrix is rank deficient)",
                array.name
            ),
        });
    }
    let mut m = pinv;
    for i in 0..m.nrows() {
        let n = acn_to_nm(i).0 as f64;
        let g = 1.0 / (4.0 * std::f64::consts::PI * (2.0 * n + 1.0)).sqrt();
        m.row_mut(i).scale_mut(g);
    }
    Ok(m)
}

fn radial_eq(array: &ArrayGeometry, n: usize, freq_hz: f64, config: &EncoderConfig) -> Complex64 {
    let kr = 2.0 * std::f64::consts::PI * freq_hz.abs() * array.radius_m / config.speed_m_s;
    // mode_strength is exact at kr = 0 (b_0 = 1, b_n = 0).
    let b = mode_strength(n, kr, array.sphere)[n];
    regularised_inverse(b, config.max_gain_db, config.regularisation)
}

/// Frequency-sampling design on a 4× oversampled grid, delayed by `delay` samples, truncated to
/// `filter_len` taps with a Tukey window (25 % cosine tapers at both ends).
fn design_radial_fir(
    array: &ArrayGeometry,
    n: usize,
    fs: f64,
    config: &EncoderConfig,
    delay: usize,
) -> Vec<f64> {
    let len = config.filter_len;
    let n_fft = 4 * len;
    let mut planner = RealFftPlanner::<f64>::new();
    let inv = planner.plan_fft_inverse(n_fft);
    let mut spec = inv.make_input_vec();
    let bins = spec.len();
    for (k, s) in spec.iter_mut().enumerate() {
        let f = k as f64 * fs / n_fft as f64;
        let h = radial_eq(array, n, f, config);
        let ph = -2.0 * std::f64::consts::PI * f * delay as f64 / fs;
        *s = h * Complex64::from_polar(1.0, ph);
    }
    // A real filter needs real DC and Nyquist bins.
    spec[0].im = 0.0;
    spec[bins - 1].im = 0.0;
    let mut out = inv.make_output_vec();
    // realfft inverse is unnormalised
    if inv.process(&mut spec, &mut out).is_err() {
        return vec![0.0; len];
    }
    let taper = len / 4;
    (0..len)
        .map(|t| {
            let w = if t < taper {
                0.5 - 0.5 * (std::f64::consts::PI * t as f64 / taper as f64).cos()
            } else if t >= len - taper {
                0.5 - 0.5 * (std::f64::consts::PI * (len - 1 - t) as f64 / taper as f64).cos()
            } else {
                1.0
            };
            w * out[t] / n_fft as f64
        })
        .collect()
}

/// Streaming encoder: spatial matrix then per-order radial FIRs (uniformly partitioned
/// convolution). Constant memory; latency `delay_samples`.
pub struct StreamEncoder {
    spatial: Vec<f32>, // row-major [n_sh × n_caps]
    n_sh: usize,
    n_caps: usize,
    block: usize,
    delay: usize,
    mixed: Vec<Vec<f32>>,
    conv: MatrixConvolver,
}

impl StreamEncoder {
    fn new(d: &EncoderDesign) -> Result<Self> {
        let n_sh = d.num_sh();
        let n_caps = d.array.num_capsules();
        let filters: Vec<FilterSpec> = (0..n_sh)
            .map(|i| FilterSpec {
                output: i,
                input: i,
                taps: d.radial_firs[acn_to_nm(i).0]
                    .iter()
                    .map(|&h| h as f32)
                    .collect(),
            })
            .collect();
        let conv = MatrixConvolver::new(n_sh, n_sh, &filters, d.config.block_len)?;
        let mut spatial = Vec::with_capacity(n_sh * n_caps);
        for i in 0..n_sh {
            for q in 0..n_caps {
                spatial.push(d.spatial[(i, q)] as f32);
            }
        }
        Ok(Self {
            spatial,
            n_sh,
            n_caps,
            block: d.config.block_len,
            delay: d.delay_samples,
            mixed: vec![vec![0.0; d.config.block_len]; n_sh],
            conv,
        })
    }
}

impl BlockProcessor for StreamEncoder {
    fn num_inputs(&self) -> usize {
        self.n_caps
    }
    fn num_outputs(&self) -> usize {
        self.n_sh
    }
    fn block_len(&self) -> usize {
        self.block
    }
    fn latency_samples(&self) -> usize {
        self.delay
    }
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) -> sphear_core::Result<()> {
        if input.len() != self.n_caps || output.len() != self.n_sh {
            return Err(sphear_core::CoreError::ChannelCount {
                expected: self.n_caps.to_string(),
                got: input.len(),
            });
        }
        for (i, m) in self.mixed.iter_mut().enumerate() {
            m.fill(0.0);
            let row = &self.spatial[i * self.n_caps..(i + 1) * self.n_caps];
            for (g, x) in row.iter().zip(input) {
                for (acc, &v) in m.iter_mut().zip(x.iter()) {
                    *acc += g * v;
                }
            }
        }
        // Offline path: a small per-block Vec of slice references (the real-time engine has its own).
        let refs: Vec<&[f32]> = self.mixed.iter().map(|m| m.as_slice()).collect();
        self.conv.process(&refs, output)
    }
}
