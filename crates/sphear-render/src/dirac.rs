//! Directional Audio Coding (DirAC) binaural renderer from first-order Ambisonics.
//!
//! Analysis (per STFT bin `k` and frame `m`) of the first-order AmbiX (ACN/SN3D) signals
//! `W, Y, Z, X`. In SN3D a plane wave `s` from the unit direction `u` gives `W = s`,
//! `[X, Y, Z] = s·u`, so with `v = [X, Y, Z]`:
//!
//! * "intensity" `I = Re{W* v}` (this is −1× the physical active intensity, i.e. it points
//!   **towards** the source: the DOA is `I/|I|`),
//! * energy `E = ½(|W|² + |v|²)`,
//! * both summed over the bins of an analysis band about a third of an octave wide
//!   ([`analysis_bands`]) and averaged recursively over frames, `Ī ← a·Ī + (1−a)·I`,
//!   `a = exp(−hop/(τ·fs))`; the band's parameters apply to all its bins,
//! * diffuseness `ψ = 1 − |Ī| / Ē ∈ [0, 1]` (plane wave: `|I| = E = |s|²`, ψ = 0; isotropic diffuse
//!   field in SN3D: `E|X|² = E|Y|² = E|Z|² = E|W|²/3`, `Ī → 0`, ψ → 1).
//!
//! Synthesis (per bin):
//!
//! ```text
//! L = √(1−ψ)·W·H_L(DOA) + √ψ·g_L·(a·D₁ + b·D₂)
//! R = √(1−ψ)·W·H_R(DOA) + √ψ·g_R·(a·D₁ − b·D₂),   a = √((1+γ)/2), b = √((1−γ)/2)
//! ```
//!
//! with `H(DOA)` the HRTF of the estimated direction (barycentric interpolation of the set's
//! complex spectra from a precomputed 2° direction lookup table, see
//! [`HrtfSet::interpolation_weights`]), `D₁, D₂` two decorrelated copies of `W` (W convolved
//! with two independent, exponentially decaying unit-energy noise sequences), `g_L, g_R` the
//! diffuse-field ear magnitudes `√Φ_LL, √Φ_RR` and `γ = Re Φ_LR / √(Φ_LL Φ_RR)` the diffuse-field
//! interaural coherence of the HRTF set, per bin. For D₁, D₂ uncorrelated with equal power,
//! `a² + b² = 1` keeps the ear energy at `g²` and the L/R coherence equals `a² − b² = γ`.
//! The diffuse-field cross-PSD `Φ` is an input ([`DiracRenderer::new`]); `sphear-sim`'s
//! `Receiver::Binaural::diffuse_cross_psd_bins` computes it with Voronoi quadrature weights.
//!
//! STFT: Hann analysis window of `frame_len` samples, hop `frame_len/2` (the windows sum to 1),
//! FFT length `2·frame_len` (zero padding), synthesis by plain overlap-add of the whole inverse
//! frames. This is the filtering form of weighted overlap-add: with a constant per-bin gain it is
//! exact linear convolution for responses up to `frame_len` taps, so HRIR tails are not cut by a
//! synthesis window. The HRIR onset delays are kept (the output lines up with direct HRIR
//! rendering of the same sources).
//!
//! # References
//! V. Pulkki, "Spatial sound reproduction with directional audio coding", J. Audio Eng. Soc.
//! 55(6), 2007; M.-V. Laitinen, V. Pulkki, "Binaural reproduction for directional audio coding",
//! WASPAA 2009; J. Vilkamo, T. Lokki, V. Pulkki, "Directional audio coding: virtual
//! microphone-based synthesis and subjective evaluation", JAES 57(9), 2009.

use nalgebra::DMatrix;
use num_complex::{Complex32, Complex64};
use realfft::RealFftPlanner;
use sphear_core::Direction;
use sphear_core::conv::fft_convolve;
use sphear_core::signals::NoiseGen;
use sphear_core::stream::process_buffers;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::encoder::{EncoderConfig, EncoderDesign};

use crate::{RenderError, Result};

/// DirAC settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DiracConfig {
    /// Analysis window length in samples (even; hop = half of it, FFT = twice it). Default 1024
    /// (21 ms at 48 kHz). HRIRs must not be longer than this.
    pub frame_len: usize,
    /// Time constant of the recursive averaging of intensity and energy in seconds (default 0.03).
    pub averaging_s: f64,
    /// Length of the decorrelation noise sequences in seconds (default 0.02); their envelope
    /// decays by 60 dB over this length.
    pub decorrelator_s: f64,
    /// Seed of the decorrelation sequences.
    pub seed: u64,
}

impl Default for DiracConfig {
    fn default() -> Self {
        Self {
            frame_len: 1024,
            averaging_s: 0.03,
            decorrelator_s: 0.02,
            seed: 0x0D1_AAC,
        }
    }
}

impl DiracConfig {
    /// FFT length `2·frame_len` (the bins of the diffuse-field PSD passed to
    /// [`DiracRenderer::new`] are `k·fs/fft_len`, `k = 0..=fft_len/2`).
    pub fn fft_len(&self) -> usize {
        2 * self.frame_len
    }
}

/// Step of the direction lookup table in degrees.
pub const LOOKUP_STEP_DEG: f64 = 2.0;

/// DirAC parameters of one signal, `[frame][bin]` flattened frame-major (every bin carries its
/// analysis band's values).
#[derive(Debug, Clone)]
pub struct DiracParams {
    /// Number of frames.
    pub frames: usize,
    /// Number of bins (`fft_len/2 + 1`).
    pub bins: usize,
    /// Averaged "intensity" `Ī` (points towards the source), `[x, y, z]`.
    pub intensity: Vec<[f64; 3]>,
    /// Averaged energy `Ē`.
    pub energy: Vec<f64>,
    /// Diffuseness ψ ∈ [0, 1] (1 where `Ē = 0`).
    pub diffuseness: Vec<f64>,
    /// Bin frequency spacing in Hz.
    pub bin_hz: f64,
}

impl DiracParams {
    /// Energy-weighted mean diffuseness over the bins in `[f_lo_hz, f_hi_hz]` and all frames.
    pub fn mean_diffuseness(&self, f_lo_hz: f64, f_hi_hz: f64) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for m in 0..self.frames {
            for k in self.band(f_lo_hz, f_hi_hz) {
                let i = m * self.bins + k;
                num += self.energy[i] * self.diffuseness[i];
                den += self.energy[i];
            }
        }
        if den > 0.0 { num / den } else { 1.0 }
    }

    /// Direction of the sum of `Ī` over the bins in `[f_lo_hz, f_hi_hz]` and all frames (the
    /// broadband DOA estimate); `None` if the sum vanishes.
    pub fn broadband_doa(&self, f_lo_hz: f64, f_hi_hz: f64) -> Option<Direction> {
        let mut s = [0.0; 3];
        for m in 0..self.frames {
            for k in self.band(f_lo_hz, f_hi_hz) {
                let v = self.intensity[m * self.bins + k];
                for (a, b) in s.iter_mut().zip(v) {
                    *a += b;
                }
            }
        }
        (s.iter().map(|v| v * v).sum::<f64>() > 0.0).then(|| Direction::from_cartesian(s))
    }

    fn band(&self, f_lo_hz: f64, f_hi_hz: f64) -> std::ops::RangeInclusive<usize> {
        let k0 = (f_lo_hz / self.bin_hz).ceil().max(0.0) as usize;
        let k1 = ((f_hi_hz / self.bin_hz).floor() as usize).min(self.bins - 1);
        k0..=k1
    }
}

/// A DirAC binaural renderer for one HRTF set and sample rate (HRTF spectra, lookup table and
/// diffuse-field parameters computed once; rendering is `&self` and can run in parallel).
#[derive(Debug, Clone)]
pub struct DiracRenderer {
    cfg: DiracConfig,
    fs_hz: f64,
    bins: usize,
    /// `[direction][ear][bin]`.
    spectra: Vec<[Vec<Complex32>; 2]>,
    /// Lookup `[el_index][az_index]` → up to three `(direction, weight)`.
    table: Vec<[(u32, f32); 3]>,
    n_az: usize,
    n_el: usize,
    /// Diffuse-field ear gains `[ear][bin]` and coherence mixing `(a, b)` per bin.
    diffuse_gain: [Vec<f64>; 2],
    mix: Vec<(f64, f64)>,
    decorrelators: [Vec<f32>; 2],
}

impl DiracRenderer {
    /// Prepare for `hrtf` (at the processing rate) with the diffuse-field cross-PSDs
    /// `diffuse_psd[k]` (2×2, `Φ_ij = E[H_i H_j*]` over an isotropic field, bins of
    /// [`DiracConfig::fft_len`]).
    ///
    /// # Errors
    /// Odd or too short frame, HRIRs longer than the frame, wrong number of PSD bins, empty set.
    pub fn new(
        hrtf: &HrtfSet,
        diffuse_psd: &[DMatrix<Complex64>],
        cfg: &DiracConfig,
    ) -> Result<Self> {
        if cfg.frame_len < 64 || cfg.frame_len % 2 != 0 {
            return Err(RenderError::Config(format!(
                "DirAC frame length must be even and ≥ 64, got {}",
                cfg.frame_len
            )));
        }
        if hrtf.is_empty() {
            return Err(RenderError::Config("the HRTF set has no directions".into()));
        }
        if hrtf.ir_len() > cfg.frame_len {
            return Err(RenderError::Config(format!(
                "HRIRs of {} taps are longer than the DirAC frame ({})",
                hrtf.ir_len(),
                cfg.frame_len
            )));
        }
        if !(cfg.averaging_s > 0.0 && cfg.decorrelator_s > 0.0) {
            return Err(RenderError::Config(
                "DirAC averaging and decorrelator lengths must be > 0".into(),
            ));
        }
        let n_fft = cfg.fft_len();
        let bins = n_fft / 2 + 1;
        if diffuse_psd.len() != bins || diffuse_psd.iter().any(|m| m.shape() != (2, 2)) {
            return Err(RenderError::Config(format!(
                "diffuse-field PSD must have {bins} 2×2 bins (FFT length {n_fft}), got {}",
                diffuse_psd.len()
            )));
        }
        let fs = hrtf.sample_rate_hz();
        let mut planner = RealFftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(n_fft);
        let spectra: Vec<[Vec<Complex32>; 2]> = (0..hrtf.len())
            .map(|d| {
                Ear::BOTH.map(|ear| {
                    let mut buf = vec![0.0; n_fft];
                    for (b, &v) in buf.iter_mut().zip(hrtf.ir(d, ear)) {
                        *b = f64::from(v);
                    }
                    let mut s = fwd.make_output_vec();
                    // Lengths match by construction; a failure leaves zeros.
                    let _ = fwd.process(&mut buf, &mut s);
                    s.iter()
                        .map(|c| Complex32::new(c.re as f32, c.im as f32))
                        .collect()
                })
            })
            .collect();
        let n_az = (360.0 / LOOKUP_STEP_DEG).round() as usize;
        let n_el = (180.0 / LOOKUP_STEP_DEG).round() as usize + 1;
        let mut table = Vec::with_capacity(n_az * n_el);
        for ie in 0..n_el {
            let el = (-90.0 + ie as f64 * LOOKUP_STEP_DEG).to_radians();
            for ia in 0..n_az {
                let az = (-180.0 + ia as f64 * LOOKUP_STEP_DEG).to_radians();
                let w = hrtf.interpolation_weights(&Direction::new(az, el));
                let mut cell = [(0u32, 0.0f32); 3];
                for (c, (i, wt)) in cell.iter_mut().zip(w) {
                    *c = (i as u32, wt as f32);
                }
                table.push(cell);
            }
        }
        let mut diffuse_gain = [vec![0.0; bins], vec![0.0; bins]];
        let mut mix = vec![(1.0, 0.0); bins];
        for (k, p) in diffuse_psd.iter().enumerate() {
            let (pll, prr) = (p[(0, 0)].re.max(0.0), p[(1, 1)].re.max(0.0));
            diffuse_gain[0][k] = pll.sqrt();
            diffuse_gain[1][k] = prr.sqrt();
            let g = if pll > 0.0 && prr > 0.0 {
                (p[(0, 1)].re / (pll * prr).sqrt()).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            mix[k] = (((1.0 + g) / 2.0).sqrt(), ((1.0 - g) / 2.0).sqrt());
        }
        let dec_len = ((cfg.decorrelator_s * fs).round() as usize).max(8);
        let decorrelators = [0u64, 1].map(|j| decorrelation_sequence(dec_len, cfg.seed ^ (j + 1)));
        Ok(Self {
            cfg: cfg.clone(),
            fs_hz: fs,
            bins,
            spectra,
            table,
            n_az,
            n_el,
            diffuse_gain,
            mix,
            decorrelators,
        })
    }

    /// Sample rate in Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.fs_hz
    }

    /// Diffuse-field interaural coherence `γ(k)` used for the diffuse stream, per bin.
    pub fn diffuse_coherence(&self) -> Vec<f64> {
        self.mix.iter().map(|(a, b)| a * a - b * b).collect()
    }

    /// Analyse first-order AmbiX input (`foa[0..4]` = W, Y, Z, X; further channels ignored).
    ///
    /// # Errors
    /// Fewer than 4 channels, channels of different length, non-finite samples.
    pub fn analyse(&self, foa: &[Vec<f32>]) -> Result<DiracParams> {
        Ok(self.run(foa, false)?.0)
    }

    /// Render first-order AmbiX input to binaural `[left, right]` of the input's length.
    ///
    /// # Errors
    /// As [`analyse`](Self::analyse).
    pub fn render(&self, foa: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        Ok(self.run(foa, true)?.1)
    }

    /// Analysis and rendering in one pass.
    ///
    /// # Errors
    /// As [`analyse`](Self::analyse).
    pub fn analyse_and_render(&self, foa: &[Vec<f32>]) -> Result<(DiracParams, Vec<Vec<f32>>)> {
        self.run(foa, true)
    }

    fn lookup(&self, v: [f64; 3]) -> &[(u32, f32); 3] {
        let d = Direction::from_cartesian(v);
        let step = LOOKUP_STEP_DEG.to_radians();
        let ia = (((d.azimuth_rad + std::f64::consts::PI) / step).round() as usize) % self.n_az;
        let ie = (((d.elevation_rad + std::f64::consts::FRAC_PI_2) / step).round() as usize)
            .min(self.n_el - 1);
        &self.table[ie * self.n_az + ia]
    }

    fn run(&self, foa: &[Vec<f32>], synth: bool) -> Result<(DiracParams, Vec<Vec<f32>>)> {
        if foa.len() < 4 {
            return Err(RenderError::Config(format!(
                "DirAC needs first-order AmbiX input (≥ 4 channels W, Y, Z, X), got {}",
                foa.len()
            )));
        }
        let n = foa[0].len();
        if foa[..4].iter().any(|c| c.len() != n) {
            return Err(RenderError::Config(
                "DirAC input channels differ in length".into(),
            ));
        }
        if foa[..4].iter().flatten().any(|v| !v.is_finite()) {
            return Err(RenderError::Config(
                "DirAC input has non-finite samples".into(),
            ));
        }
        let nf = self.cfg.frame_len;
        let hop = nf / 2;
        let n_fft = 2 * nf;
        let bins = self.bins;
        let window: Vec<f64> = (0..nf)
            .map(|t| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * t as f64 / nf as f64).cos())
            .collect();
        let mut planner = RealFftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(n_fft);
        let inv = planner.plan_fft_inverse(n_fft);
        // Decorrelated copies of W (only needed for synthesis).
        let dec: Vec<Vec<f32>> = if synth {
            self.decorrelators
                .iter()
                .map(|h| {
                    let mut y = fft_convolve(&foa[0], h);
                    y.truncate(n);
                    y.resize(n, 0.0);
                    y
                })
                .collect()
        } else {
            Vec::new()
        };
        let frames = n.div_ceil(hop) + 1;
        let alpha = (-(hop as f64) / (self.cfg.averaging_s * self.fs_hz)).exp();
        let mut params = DiracParams {
            frames,
            bins,
            intensity: Vec::with_capacity(frames * bins),
            energy: Vec::with_capacity(frames * bins),
            diffuseness: Vec::with_capacity(frames * bins),
            bin_hz: self.fs_hz / n_fft as f64,
        };
        let band_of = analysis_bands(bins);
        let n_bands = band_of.last().map_or(0, |b| b + 1);
        let mut i_avg = vec![[0.0f64; 3]; n_bands];
        let mut e_avg = vec![0.0f64; n_bands];
        let mut i_frame = vec![[0.0f64; 3]; n_bands];
        let mut e_frame = vec![0.0f64; n_bands];
        let mut psi_band = vec![1.0f64; n_bands];
        let mut out = vec![vec![0.0f64; n + n_fft]; 2];
        let mut buf = vec![0.0f64; n_fft];
        let n_in = if synth { 6 } else { 4 };
        let mut spec: Vec<Vec<Complex64>> = (0..n_in).map(|_| fwd.make_output_vec()).collect();
        let mut ospec: [Vec<Complex64>; 2] = [inv.make_input_vec(), inv.make_input_vec()];
        let mut otime = inv.make_output_vec();
        for m in 0..frames {
            // Frame m covers samples start .. start + nf, start = m·hop − hop.
            let start = m as isize * hop as isize - hop as isize;
            for (c, s) in spec.iter_mut().enumerate() {
                let x: &[f32] = if c < 4 { &foa[c] } else { &dec[c - 4] };
                buf.fill(0.0);
                for (t, b) in buf.iter_mut().take(nf).enumerate() {
                    let idx = start + t as isize;
                    if idx >= 0 && (idx as usize) < n {
                        *b = f64::from(x[idx as usize]) * window[t];
                    }
                }
                fwd.process(&mut buf, s)
                    .map_err(|e| RenderError::Config(format!("FFT: {e}")))?;
            }
            i_frame.fill([0.0; 3]);
            e_frame.fill(0.0);
            for k in 0..bins {
                let w = spec[0][k];
                // ACN 1, 2, 3 = Y, Z, X → v = [X, Y, Z].
                let v = [spec[3][k], spec[1][k], spec[2][k]];
                let b = band_of[k];
                for (a, c) in i_frame[b].iter_mut().zip(v) {
                    *a += (w.conj() * c).re;
                }
                e_frame[b] += 0.5 * (w.norm_sqr() + v.iter().map(|c| c.norm_sqr()).sum::<f64>());
            }
            for b in 0..n_bands {
                for (a, x) in i_avg[b].iter_mut().zip(i_frame[b]) {
                    *a = alpha * *a + (1.0 - alpha) * x;
                }
                e_avg[b] = alpha * e_avg[b] + (1.0 - alpha) * e_frame[b];
                let norm_i = i_avg[b].iter().map(|x| x * x).sum::<f64>().sqrt();
                psi_band[b] = if e_avg[b] > 0.0 {
                    (1.0 - norm_i / e_avg[b]).clamp(0.0, 1.0)
                } else {
                    1.0
                };
            }
            for k in 0..bins {
                let b = band_of[k];
                let psi = psi_band[b];
                params.intensity.push(i_avg[b]);
                params.energy.push(e_avg[b]);
                params.diffuseness.push(psi);
                if synth {
                    let w = spec[0][k];
                    let direct = w * (1.0 - psi).sqrt();
                    let cell = self.lookup(i_avg[b]);
                    let mut h = [Complex64::new(0.0, 0.0); 2];
                    for &(d, wt) in cell {
                        if wt > 0.0 {
                            for (ear, hv) in h.iter_mut().enumerate() {
                                let c = self.spectra[d as usize][ear][k];
                                *hv += Complex64::new(f64::from(c.re), f64::from(c.im))
                                    * f64::from(wt);
                            }
                        }
                    }
                    let (a, bb) = self.mix[k];
                    let sp = psi.sqrt();
                    let d1 = spec[4][k] * a;
                    let d2 = spec[5][k] * bb;
                    ospec[0][k] = direct * h[0] + (d1 + d2) * (sp * self.diffuse_gain[0][k]);
                    ospec[1][k] = direct * h[1] + (d1 - d2) * (sp * self.diffuse_gain[1][k]);
                }
            }
            if synth {
                for (ear, os) in ospec.iter_mut().enumerate() {
                    os[0].im = 0.0;
                    os[bins - 1].im = 0.0;
                    inv.process(os, &mut otime)
                        .map_err(|e| RenderError::Config(format!("inverse FFT: {e}")))?;
                    for (t, &v) in otime.iter().enumerate() {
                        let idx = start + t as isize;
                        if idx >= 0 && (idx as usize) < n {
                            out[ear][idx as usize] += v / n_fft as f64;
                        }
                    }
                }
            }
        }
        let out = if synth {
            out.into_iter()
                .map(|c| c.into_iter().take(n).map(|v| v as f32).collect())
                .collect()
        } else {
            Vec::new()
        };
        Ok((params, out))
    }
}

/// Analysis bands: band index of every bin. Bins are grouped into bands about a third of an
/// octave wide (`[k, max(k+1, ⌈k·2^{1/3}⌉))`), so low bins stand alone and high bands hold many
/// bins; intensity and energy are summed over a band's bins before the temporal averaging.
pub fn analysis_bands(bins: usize) -> Vec<usize> {
    let mut out = vec![0usize; bins];
    let mut k = 0usize;
    let mut b = 0usize;
    while k < bins {
        let next = ((k as f64 * 2f64.powf(1.0 / 3.0)).ceil() as usize)
            .max(k + 1)
            .min(bins);
        for o in out.iter_mut().take(next).skip(k) {
            *o = b;
        }
        b += 1;
        k = next;
    }
    out
}

/// Unit-energy decorrelation sequence: uniform white noise under an exponential envelope that
/// decays by 60 dB over `len` samples.
fn decorrelation_sequence(len: usize, seed: u64) -> Vec<f32> {
    let mut g = NoiseGen::new(seed);
    let tau = len as f64 / (60.0 / 20.0 * std::f64::consts::LN_10);
    let h: Vec<f64> = (0..len)
        .map(|t| g.next_uniform() * (-(t as f64) / tau).exp())
        .collect();
    let e = h
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    h.into_iter().map(|v| (v / e) as f32).collect()
}

/// First-order AmbiX (W, Y, Z, X, SN3D) from array capsule signals with the project encoder
/// ([`EncoderDesign`], default settings): the array is encoded at `order` (use the array's
/// maximum, so that orders 2…N are separated instead of aliasing into first order) and the
/// first four channels are kept. Latency removed; output length = input length.
///
/// # Errors
/// Wrong channel count, order not resolvable by the array.
pub fn encode_first_order(
    array: &ArrayGeometry,
    fs_hz: f64,
    order: usize,
    capsules: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>> {
    if capsules.len() != array.num_capsules() {
        return Err(RenderError::Config(format!(
            "expected {} capsule signals for '{}', got {}",
            array.num_capsules(),
            array.name,
            capsules.len()
        )));
    }
    let order = order.max(1);
    array.check_order(order)?;
    let enc = EncoderDesign::new(
        array,
        fs_hz,
        &EncoderConfig {
            order,
            ..EncoderConfig::default()
        },
    )?;
    let mut s = enc.stream()?;
    let mut sh = process_buffers(&mut s, capsules)?;
    sh.truncate(4);
    Ok(sh)
}
