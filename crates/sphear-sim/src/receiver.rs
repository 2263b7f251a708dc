//! Receivers at the listening position: omnidirectional reference, spherical microphone array
//! (exact rigid/open-sphere modal model), binaural head (HRIRs) and ideal Ambisonics (AmbiX).
//!
//! Every receiver answers three questions:
//! * [`Receiver::plane_wave_ir`]: its response to one broadband unit plane wave from a room-frame
//!   direction, arriving at the receiver centre at a (fractional) sample;
//! * [`Receiver::render_images`]: the sum of those responses over image sources, each filtered by
//!   its per-octave-band wall gains (the early part of a room impulse response);
//! * [`Receiver::diffuse_cross_psd`]: its cross power spectral density in a unit isotropic
//!   diffuse field (used by [`crate::tail`] to give the late reverberation the right spatial
//!   coherence).
//!
//! ## Conventions
//! * Directions of arrival are in the **room frame**; the binaural head has an orientation `R`
//!   (head frame → room frame), so a room-frame direction `u` is heard at head-frame `Rᵀu`.
//! * Amplitudes: the free-field pressure of the plane wave at the receiver centre is 1
//!   (`δ(t − τ)` for the omni). Image sources carry the 1/r law relative to 1 m in their
//!   `band_gains` (`a_b = Π β_b / r`): an image contributes `a_b ·` (plane-wave response) in band
//!   `b`.
//! * Fractional delays (omni, Ambisonics, binaural): the Hann-windowed sinc of
//!   [`crate::room::omni_rir`] ([`frac_delay_kernel`], 81 taps as pyroomacoustics, window centred
//!   on the exact delay), so [`Receiver::Omni`] reproduces `omni_rir`.
//!   The array model is delayed exactly in the frequency domain (inside
//!   [`sphear_sh::modal::plane_wave_irs`]), which also band-limits it (taper above 0.8·Nyquist).
//!
//! # References
//! * E. G. Williams, *Fourier Acoustics*, 1999, §6.10 (rigid-sphere scattering).
//! * E. A. P. Habets, S. Gannot, "Generating sensor signals in isotropic noise fields",
//!   JASA 122(6), 2007 (diffuse-field coherence of arrays).
//! * R. Scheibler, E. Bezzam, I. Dokmanić, "Pyroomacoustics", ICASSP 2018 (fractional delay).

use std::sync::Arc;

use nalgebra::DMatrix;
use num_complex::Complex64;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use sphear_core::Direction;
use sphear_core::geom::dot3;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::modal::{default_truncation_order, ir_band_taper, mode_strength, plane_wave_irs};
use sphear_sh::quadrature::fibonacci_grid;
use sphear_sh::rotation::{Mat3, mat3_transpose, rotate_direction};
use sphear_sh::sh::{Norm, real_sh};

use crate::bands::{NUM_BANDS, PerBand, default_filterbank_taps, octave_filterbank};
use crate::room::ImageSource;

/// Half-length `H` of [`frac_delay_kernel`] (the room module's, 40 samples).
pub const FRAC_DELAY_HALF_TAPS: usize = crate::room::FRAC_DELAY_HALF_TAPS;

/// Taps of the fractional-delay kernel array, `2H + 1` (pyroomacoustics' `frac_delay_length`).
pub const FRAC_DELAY_TAPS: usize = 2 * FRAC_DELAY_HALF_TAPS + 1;

/// Length (taps) of the per-image array impulse responses accumulated by
/// [`Receiver::render_images`] (the modal response lasts about ±15 samples at 48 kHz for the em32;
/// the window keeps its band-limited tails).
pub const ARRAY_IMAGE_IR_TAPS: usize = 512;

/// Position (samples) of the arrival at the array centre inside each per-image array IR window.
pub const ARRAY_IMAGE_IR_PRE_SAMPLES: usize = 128;

/// Relative spread `(max − min)/max` of an image's band gains under which it is treated as
/// frequency-flat (no band filtering, exact).
pub const FLAT_GAIN_REL_TOL: f64 = 1e-12;

/// Modal sums are truncated per frequency once the discarded tail `Σ (2n+1)|b_n|` is below this
/// (the Legendre factors are bounded by 1, so this bounds the per-capsule error).
pub const MODAL_TAIL_TOL: f64 = 1e-12;

/// Number of dense Fibonacci-grid points per HRTF direction used to estimate the Voronoi-cell
/// solid angles ([`voronoi_weights`]).
pub const VORONOI_POINTS_PER_DIRECTION: usize = 32;

/// A receiver placed at the listening position (see the module docs for conventions).
#[derive(Debug, Clone)]
pub enum Receiver {
    /// Ideal omnidirectional pressure microphone: one channel.
    Omni,
    /// Spherical microphone array (e.g. [`ArrayGeometry::em32`]): one channel per capsule, exact
    /// modal model of the rigid/open sphere. Capsule directions are in the room frame.
    Array(ArrayGeometry),
    /// Binaural head: two channels (left, right).
    Binaural {
        /// HRIR set; must be at the sample rate used for rendering.
        hrtf: Arc<HrtfSet>,
        /// Head orientation `R`: head-frame vectors to room frame (the head looks along `R·x`).
        orientation: Mat3,
    },
    /// Ideal Ambisonics of order N, AmbiX (ACN/SN3D): `(N+1)²` channels, a plane wave `s` from
    /// `u` gives `s · Y(u)`.
    Ambisonic {
        /// Ambisonic order N.
        order: usize,
    },
}

/// Fractional-delay kernel of [`crate::room::omni_rir`]: `h[j] = k(j − H − frac)`,
/// `j = 0..2H+1`, with `k(x) = ½(1 + cos(πx/H))·sinc(x)` for `|x| ≤ H` (0 outside), `H =`
/// [`FRAC_DELAY_HALF_TAPS`], `frac ∈ [0, 1)`: a Hann window centred on the exact delay. A delay
/// `τ = d + frac` (`d` integer) places `h[j]` at sample `d − H + j`. `frac = 0` gives an exact unit
/// impulse at the centre tap (`sinc` vanishes at the other integers).
///
/// # References
/// R. Scheibler et al., "Pyroomacoustics", ICASSP 2018 (81-tap Hann-windowed sinc); T. I. Laakso
/// et al., "Splitting the unit delay", IEEE Signal Process. Mag. 13(1), 1996.
pub fn frac_delay_kernel(frac: f64) -> [f64; FRAC_DELAY_TAPS] {
    let mut h = [0.0; FRAC_DELAY_TAPS];
    if frac == 0.0 {
        h[FRAC_DELAY_HALF_TAPS] = 1.0;
        return h;
    }
    let half = FRAC_DELAY_HALF_TAPS as f64;
    for (j, v) in h.iter_mut().enumerate() {
        let x = j as f64 - half - frac;
        if x.abs() > half {
            continue;
        }
        let w = 0.5 * (1.0 + (std::f64::consts::PI * x / half).cos());
        let s = if x == 0.0 {
            1.0
        } else {
            let a = std::f64::consts::PI * x;
            a.sin() / a
        };
        *v = w * s;
    }
    h
}

/// Delays within this many samples of an integer are treated as integer (exact shifts), so that
/// round-off in `delay_s · fs` does not turn an exact shift into a windowed-sinc interpolation.
pub const INTEGER_DELAY_TOL_SAMPLES: f64 = 1e-9;

/// Splits a delay in samples into `(floor, frac)` (snapped to an integer within
/// [`INTEGER_DELAY_TOL_SAMPLES`]); non-finite delays give `None`.
fn split_delay(delay_samples: f64) -> Option<(i64, f64)> {
    if !delay_samples.is_finite() {
        return None;
    }
    let r = delay_samples.round();
    if (delay_samples - r).abs() <= INTEGER_DELAY_TOL_SAMPLES {
        return Some((r as i64, 0.0));
    }
    let d = delay_samples.floor();
    Some((d as i64, delay_samples - d))
}

/// Adds `gain · block` into `acc` with `block[0]` at index `start` (out-of-range samples dropped).
fn add_block(acc: &mut [f64], start: i64, block: &[f64], gain: f64) {
    let len = acc.len() as i64;
    let lo = (-start).max(0);
    let hi = (len - start).min(block.len() as i64);
    if lo >= hi {
        return;
    }
    let (lo, hi) = (lo as usize, hi as usize);
    let s = (start + lo as i64) as usize;
    for (a, &b) in acc[s..s + (hi - lo)].iter_mut().zip(&block[lo..hi]) {
        *a += gain * b;
    }
}

/// Convolution of `x` with the fractional-delay kernel of `frac` (length `x.len() + 80`, or `x`
/// itself for `frac = 0`), plus the start offset relative to the integer delay (−40 or 0).
fn frac_delayed(x: &[f64], frac: f64) -> (i64, Vec<f64>) {
    if frac == 0.0 {
        return (0, x.to_vec());
    }
    let h = frac_delay_kernel(frac);
    let mut y = vec![0.0; x.len() + FRAC_DELAY_TAPS - 1];
    for (i, &xv) in x.iter().enumerate() {
        if xv == 0.0 {
            continue;
        }
        for (yv, &hv) in y[i..i + FRAC_DELAY_TAPS].iter_mut().zip(&h) {
            *yv += xv * hv;
        }
    }
    (-(FRAC_DELAY_HALF_TAPS as i64), y)
}

/// Legendre polynomials `P_0..=P_n(x)` into `out` (three-term recurrence).
fn legendre_into(x: f64, out: &mut [f64]) {
    if out.is_empty() {
        return;
    }
    out[0] = 1.0;
    if out.len() > 1 {
        out[1] = x;
    }
    for n in 1..out.len().saturating_sub(1) {
        let nf = n as f64;
        out[n + 1] = ((2.0 * nf + 1.0) * x * out[n] - nf * out[n - 1]) / (nf + 1.0);
    }
}

/// Per-image band amplitudes: `ImageSource::band_gains` already holds `Π β / r` (1/r law).
fn image_amplitudes(img: &ImageSource) -> PerBand {
    img.band_gains
}

/// `Some(g)` when all band amplitudes are equal to `g` within [`FLAT_GAIN_REL_TOL`].
fn flat_gain(a: &PerBand) -> Option<f64> {
    let max = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = a.iter().copied().fold(f64::INFINITY, f64::min);
    (max - min <= FLAT_GAIN_REL_TOL * max.abs()).then_some(a[0])
}

/// Pre-computed rigid/open-sphere model for fast per-image capsule IRs: the per-bin modal weights
/// `(2n+1) b_n(ka) T(f)` are independent of the direction, so an image only costs Legendre
/// polynomials, a weighted sum per bin and one inverse FFT per capsule. The result equals
/// [`plane_wave_irs`] with `n_taps = ARRAY_IMAGE_IR_TAPS` and delay `pre + frac` up to the modal
/// truncation ([`MODAL_TAIL_TOL`]) and rounding.
struct ModalEngine {
    fft_len: usize,
    n_taps: usize,
    /// Per rfft bin: `(2n+1) b_n T(f)` for `n ≤ N_k`.
    weights: Vec<Vec<Complex64>>,
    max_terms: usize,
    capsules: Vec<[f64; 3]>,
}

impl ModalEngine {
    fn new(array: &ArrayGeometry, sample_rate_hz: f64, speed_m_s: f64) -> Self {
        let n_taps = ARRAY_IMAGE_IR_TAPS;
        // Same FFT length rule as plane_wave_irs.
        let fft_len = (4 * n_taps).max(1024).next_power_of_two();
        let n_bins = fft_len / 2 + 1;
        let mut weights = Vec::with_capacity(n_bins);
        for k in 0..n_bins {
            let f_hz = k as f64 * sample_rate_hz / fft_len as f64;
            let taper = ir_band_taper(f_hz, sample_rate_hz);
            if taper == 0.0 {
                weights.push(Vec::new());
                continue;
            }
            let ka = 2.0 * std::f64::consts::PI * f_hz * array.radius_m / speed_m_s;
            let b = mode_strength(default_truncation_order(ka), ka, array.sphere);
            let mut w: Vec<Complex64> = b
                .iter()
                .enumerate()
                .map(|(n, bn)| bn * ((2 * n + 1) as f64 * taper))
                .collect();
            let mut tail = 0.0;
            while let Some(last) = w.last() {
                let t = tail + last.norm();
                if t >= MODAL_TAIL_TOL || w.len() == 1 {
                    break;
                }
                tail = t;
                w.pop();
            }
            weights.push(w);
        }
        let max_terms = weights.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let capsules = array.capsules.iter().map(Direction::to_cartesian).collect();
        Self {
            fft_len,
            n_taps,
            weights,
            max_terms,
            capsules,
        }
    }
}

/// Reusable buffers of one [`ModalEngine`] worker.
struct ModalScratch {
    legendre: Vec<f64>,
    spec: Vec<Complex64>,
    time: Vec<f64>,
    fft_scratch: Vec<Complex64>,
    c2r: Arc<dyn realfft::ComplexToReal<f64>>,
}

impl ModalScratch {
    fn new(engine: &ModalEngine) -> Self {
        let mut planner = RealFftPlanner::<f64>::new();
        let c2r = planner.plan_fft_inverse(engine.fft_len);
        Self {
            legendre: vec![0.0; engine.max_terms],
            spec: c2r.make_input_vec(),
            time: c2r.make_output_vec(),
            fft_scratch: c2r.make_scratch_vec(),
            c2r,
        }
    }

    /// IR of capsule `q` for a plane wave from unit vector `u` arriving at `delay` samples
    /// (window of `n_taps` samples starting at 0); returns the first `n_taps` samples.
    fn capsule_ir(&mut self, engine: &ModalEngine, q: usize, u: [f64; 3], delay: f64) -> &[f64] {
        let x = dot3(engine.capsules[q], u).clamp(-1.0, 1.0);
        legendre_into(x, &mut self.legendre);
        let l = engine.fft_len as f64;
        let step = Complex64::from_polar(1.0, -2.0 * std::f64::consts::PI * delay / l);
        let mut ph = Complex64::new(1.0, 0.0);
        for (k, (s, w)) in self.spec.iter_mut().zip(&engine.weights).enumerate() {
            if k > 0 {
                ph *= step;
            }
            if w.is_empty() {
                *s = Complex64::new(0.0, 0.0);
                continue;
            }
            let mut acc = Complex64::new(0.0, 0.0);
            for (wn, pn) in w.iter().zip(&self.legendre) {
                acc += wn * pn;
            }
            *s = acc * ph;
        }
        let n_bins = self.spec.len();
        self.spec[0].im = 0.0;
        self.spec[n_bins - 1].im = 0.0;
        if self
            .c2r
            .process_with_scratch(&mut self.spec, &mut self.time, &mut self.fft_scratch)
            .is_err()
        {
            self.time.fill(f64::NAN);
        }
        let scale = 1.0 / l;
        for v in &mut self.time[..engine.n_taps] {
            *v *= scale;
        }
        &self.time[..engine.n_taps]
    }
}

/// An image source reduced to what the renderers need.
struct PreparedImage {
    /// Integer part of the arrival (samples).
    d: i64,
    /// Fractional part of the arrival, `[0, 1)`.
    frac: f64,
    /// Band amplitudes (1/r included).
    amps: PerBand,
    /// The common amplitude when frequency-flat.
    flat: Option<f64>,
    /// Unit vector of the direction of arrival.
    u: [f64; 3],
    /// Direction of arrival.
    dir: Direction,
}

/// Per-channel image accumulators: a frequency-flat one and, if needed, one per octave band.
struct ChannelAcc {
    flat: Vec<f64>,
    bands: Option<Vec<Vec<f64>>>,
}

impl ChannelAcc {
    fn new(len: usize) -> Self {
        Self {
            flat: vec![0.0; len],
            bands: None,
        }
    }

    fn add(&mut self, start: i64, block: &[f64], amps: &PerBand, flat: Option<f64>) {
        match flat {
            Some(g) => add_block(&mut self.flat, start, block, g),
            None => {
                let len = self.flat.len();
                let bands = self
                    .bands
                    .get_or_insert_with(|| vec![vec![0.0; len]; NUM_BANDS]);
                for (acc, &g) in bands.iter_mut().zip(amps) {
                    add_block(acc, start, block, g);
                }
            }
        }
    }
}

/// Octave-band filters in the frequency domain for the final band combination.
struct BandCombiner {
    fft_len: usize,
    delay: usize,
    spectra: Vec<Vec<Complex64>>,
}

impl BandCombiner {
    fn new(sample_rate_hz: f64, acc_len: usize) -> Self {
        let taps = default_filterbank_taps(sample_rate_hz);
        let fft_len = (acc_len + taps).next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let r2c = planner.plan_fft_forward(fft_len);
        let spectra = octave_filterbank(sample_rate_hz, taps)
            .into_iter()
            .map(|h| {
                let mut buf = vec![0.0; fft_len];
                for (b, v) in buf.iter_mut().zip(&h) {
                    *b = *v;
                }
                let mut s = r2c.make_output_vec();
                if r2c.process(&mut buf, &mut s).is_err() {
                    s.fill(Complex64::new(f64::NAN, 0.0));
                }
                s
            })
            .collect();
        Self {
            fft_len,
            delay: (taps - 1) / 2,
            spectra,
        }
    }

    /// `flat + Σ_b F_b * bands[b]` (delay-compensated), first `len` samples.
    fn finish(&self, acc: ChannelAcc, len: usize) -> Vec<f32> {
        let mut out: Vec<f64> = acc.flat;
        // The band filters ring up to `delay` samples past the last accumulated sample.
        out.resize(len, 0.0);
        if let Some(bands) = acc.bands {
            let mut planner = RealFftPlanner::<f64>::new();
            let r2c = planner.plan_fft_forward(self.fft_len);
            let c2r = planner.plan_fft_inverse(self.fft_len);
            let mut sum = r2c.make_output_vec();
            let mut buf = vec![0.0; self.fft_len];
            let mut spec = r2c.make_output_vec();
            for (band, fs) in bands.iter().zip(&self.spectra) {
                buf.fill(0.0);
                buf[..band.len()].copy_from_slice(band);
                if r2c.process(&mut buf, &mut spec).is_err() {
                    return vec![f32::NAN; len];
                }
                for ((s, a), b) in sum.iter_mut().zip(&spec).zip(fs) {
                    *s += a * b;
                }
            }
            let n = sum.len();
            sum[0].im = 0.0;
            sum[n - 1].im = 0.0;
            if c2r.process(&mut sum, &mut buf).is_err() {
                return vec![f32::NAN; len];
            }
            let scale = 1.0 / self.fft_len as f64;
            for (i, o) in out.iter_mut().enumerate() {
                if let Some(v) = buf.get(i + self.delay) {
                    *o += v * scale;
                }
            }
        }
        out.truncate(len);
        out.resize(len, 0.0);
        out.into_iter().map(|v| v as f32).collect()
    }
}

impl Receiver {
    /// Number of output channels: 1 (omni), capsules (array), 2 (binaural), `(N+1)²` (Ambisonics).
    pub fn num_channels(&self) -> usize {
        match self {
            Receiver::Omni => 1,
            Receiver::Array(a) => a.capsules.len(),
            Receiver::Binaural { .. } => 2,
            Receiver::Ambisonic { order } => (order + 1) * (order + 1),
        }
    }

    /// Response `[ch][len]` to a unit broadband plane wave from the room-frame direction `dir`
    /// that reaches the receiver centre at the fractional sample `delay_samples` (≥ 0 expected;
    /// samples that would fall before 0 or after `len` are dropped).
    ///
    /// * Omni: `δ(t − τ)` ([`frac_delay_kernel`]; exact impulse for integer delays).
    /// * Ambisonic: `Y(u) δ(t − τ)`, `Y` real SH, ACN/SN3D (AmbiX) of order N.
    /// * Array: [`plane_wave_irs`] with `n_taps = len` and the delay (exact frequency-domain
    ///   delay; speed of sound [`sphear_core::SPEED_OF_SOUND_M_S`]). The modal response starts
    ///   about `a/c·(1 + π/2)` before τ (≈ 15 samples for the em32 at 48 kHz) and has band-limited
    ///   tails, so keep `τ ≳ 40` samples.
    /// * Binaural: the HRIR pair of the head-frame direction `Rᵀu`
    ///   ([`HrtfSet::interpolate`], barycentric) used **as is**: its sample 0 is placed at τ, so
    ///   its own onset (the measurement's pre-delay and propagation to the ear) is kept on top of
    ///   τ — exactly like [`sphear_render::sim::render_direct`]. Integer delays are exact shifts;
    ///   the fractional part uses [`frac_delay_kernel`]. The set must be at `sample_rate_hz`.
    pub fn plane_wave_ir(
        &self,
        dir: &Direction,
        sample_rate_hz: f64,
        len: usize,
        delay_samples: f64,
    ) -> Vec<Vec<f32>> {
        self.plane_wave_ir_with_speed(
            dir,
            sample_rate_hz,
            len,
            delay_samples,
            sphear_core::SPEED_OF_SOUND_M_S,
        )
    }

    /// [`plane_wave_ir`](Self::plane_wave_ir) with an explicit speed of sound (m/s; only the
    /// array model depends on it).
    pub fn plane_wave_ir_with_speed(
        &self,
        dir: &Direction,
        sample_rate_hz: f64,
        len: usize,
        delay_samples: f64,
        speed_m_s: f64,
    ) -> Vec<Vec<f32>> {
        let nch = self.num_channels();
        let Some((d_int, frac)) = split_delay(delay_samples) else {
            return vec![vec![f32::NAN; len]; nch];
        };
        let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        match self {
            Receiver::Array(a) => plane_wave_irs(
                &a.capsules,
                a.radius_m,
                a.sphere,
                dir,
                sample_rate_hz,
                len,
                delay_samples,
                speed_m_s,
            )
            .into_iter()
            .map(to32)
            .collect(),
            Receiver::Omni | Receiver::Ambisonic { .. } => {
                let (off, block) = frac_delayed(&[1.0], frac);
                let gains = match self {
                    Receiver::Ambisonic { order } => real_sh(*order, dir, Norm::Sn3d),
                    _ => vec![1.0],
                };
                gains
                    .iter()
                    .map(|&g| {
                        let mut acc = vec![0.0; len];
                        add_block(&mut acc, d_int + off, &block, g);
                        to32(acc)
                    })
                    .collect()
            }
            Receiver::Binaural { hrtf, orientation } => {
                let head_dir = rotate_direction(&mat3_transpose(orientation), dir);
                let pair = hrtf.interpolate(&head_dir);
                pair.iter()
                    .map(|ir| {
                        let x: Vec<f64> = ir.iter().map(|&v| f64::from(v)).collect();
                        let (off, block) = frac_delayed(&x, frac);
                        let mut acc = vec![0.0; len];
                        add_block(&mut acc, d_int + off, &block, 1.0);
                        to32(acc)
                    })
                    .collect()
            }
        }
    }

    /// Early room response `[ch][len]`: `a_{i,b}`-weighted plane-wave responses of the
    /// image sources (direction `images[i].direction`, arrival `delay_s · fs`), speed of sound
    /// [`sphear_core::SPEED_OF_SOUND_M_S`] for the array model. See
    /// [`render_images_with_speed`](Self::render_images_with_speed).
    pub fn render_images(
        &self,
        images: &[ImageSource],
        sample_rate_hz: f64,
        len: usize,
    ) -> Vec<Vec<f32>> {
        self.render_images_with_speed(images, sample_rate_hz, len, sphear_core::SPEED_OF_SOUND_M_S)
    }

    /// Early room response with an explicit speed of sound (array model only).
    ///
    /// Definition: `y_c = Σ_i h_i * p_{i,c}`, `p_{i,c}` = [`plane_wave_ir`](Self::plane_wave_ir)
    /// of image `i`, and `h_i = Σ_b a_{i,b} F_b` the image's band-gain filter (`a_{i,b}` =
    /// `band_gains`, 1/r included) built from the linear-phase octave filters `F_b` of
    /// [`octave_filterbank`]`(fs,` [`default_filterbank_taps`]`(fs))` — the filters of
    /// [`crate::room::omni_rir`] — with their delay `(taps−1)/2` removed (`Σ_b F_b` is a pure
    /// delay, so an image with equal gains `a` gets exactly `a · p`; such images skip the
    /// filters).
    ///
    /// Computation: by linearity `y_c = flat_c + Σ_b F_b * acc_{b,c}`, where `acc_{b,c}`
    /// accumulates `a_{i,b} · p_{i,c}` — so each image costs one short response and 7 scaled
    /// adds, and the band filters run once per channel and band (FFT). Array responses are
    /// computed on a window of [`ARRAY_IMAGE_IR_TAPS`] samples around each arrival with the
    /// direction-independent modal weights cached (equal to [`plane_wave_irs`] on that window);
    /// channels run in parallel. Images with non-finite delays are skipped; images beyond `len`
    /// contribute nothing.
    pub fn render_images_with_speed(
        &self,
        images: &[ImageSource],
        sample_rate_hz: f64,
        len: usize,
        speed_m_s: f64,
    ) -> Vec<Vec<f32>> {
        let nch = self.num_channels();
        if len == 0 {
            return vec![Vec::new(); nch];
        }
        let band_delay = (default_filterbank_taps(sample_rate_hz) - 1) / 2;
        let any_banded = images
            .iter()
            .any(|img| flat_gain(&image_amplitudes(img)).is_none());
        // Accumulators span the output plus the band filters' look-ahead (linear phase), but no
        // further than the last image's response.
        let block_len = match self {
            Receiver::Array(_) => ARRAY_IMAGE_IR_TAPS,
            Receiver::Binaural { hrtf, .. } => hrtf.ir_len() + FRAC_DELAY_TAPS,
            _ => FRAC_DELAY_TAPS,
        };
        let last = images
            .iter()
            .map(|i| i.delay_s * sample_rate_hz)
            .filter(|d| d.is_finite())
            .fold(0.0f64, f64::max);
        let want = if any_banded { len + band_delay } else { len };
        let acc_len = want.min(last.max(0.0) as usize + block_len + 2);
        let combiner = any_banded.then(|| BandCombiner::new(sample_rate_hz, acc_len));
        let finish = |acc: ChannelAcc| -> Vec<f32> {
            match &combiner {
                Some(c) => c.finish(acc, len),
                None => {
                    let mut v: Vec<f32> = acc.flat.into_iter().map(|x| x as f32).collect();
                    v.resize(len, 0.0);
                    v
                }
            }
        };
        let prepared: Vec<PreparedImage> = images
            .iter()
            .filter_map(|img| {
                let (d, frac) = split_delay(img.delay_s * sample_rate_hz)?;
                let amps = image_amplitudes(img);
                let flat = flat_gain(&amps);
                Some(PreparedImage {
                    d,
                    frac,
                    amps,
                    flat,
                    u: img.direction.to_cartesian(),
                    dir: img.direction,
                })
            })
            .collect();
        match self {
            Receiver::Array(a) => {
                let engine = ModalEngine::new(a, sample_rate_hz, speed_m_s);
                (0..nch)
                    .into_par_iter()
                    .map(|q| {
                        let mut scratch = ModalScratch::new(&engine);
                        let mut acc = ChannelAcc::new(acc_len);
                        let pre = ARRAY_IMAGE_IR_PRE_SAMPLES as f64;
                        for p in &prepared {
                            let block = scratch.capsule_ir(&engine, q, p.u, pre + p.frac);
                            acc.add(
                                p.d - ARRAY_IMAGE_IR_PRE_SAMPLES as i64,
                                block,
                                &p.amps,
                                p.flat,
                            );
                        }
                        finish(acc)
                    })
                    .collect()
            }
            Receiver::Omni | Receiver::Ambisonic { .. } => {
                let mut accs: Vec<ChannelAcc> =
                    (0..nch).map(|_| ChannelAcc::new(acc_len)).collect();
                for p in &prepared {
                    let (off, block) = frac_delayed(&[1.0], p.frac);
                    match self {
                        Receiver::Ambisonic { order } => {
                            let y = real_sh(*order, &p.dir, Norm::Sn3d);
                            for (acc, &yc) in accs.iter_mut().zip(&y) {
                                let scaled = p.amps.map(|a| a * yc);
                                acc.add(p.d + off, &block, &scaled, p.flat.map(|g| g * yc));
                            }
                        }
                        _ => accs[0].add(p.d + off, &block, &p.amps, p.flat),
                    }
                }
                accs.into_par_iter().map(finish).collect()
            }
            Receiver::Binaural { hrtf, orientation } => {
                let rt = mat3_transpose(orientation);
                let mut accs: Vec<ChannelAcc> = (0..2).map(|_| ChannelAcc::new(acc_len)).collect();
                for p in &prepared {
                    let head_dir = rotate_direction(&rt, &p.dir);
                    let w = hrtf.interpolation_weights(&head_dir);
                    for (acc, ear) in accs.iter_mut().zip(Ear::BOTH) {
                        let mut x = vec![0.0f64; hrtf.ir_len()];
                        for &(i, wt) in &w {
                            for (o, &v) in x.iter_mut().zip(hrtf.ir(i, ear)) {
                                *o += wt * f64::from(v);
                            }
                        }
                        let (off, block) = frac_delayed(&x, p.frac);
                        acc.add(p.d + off, &block, &p.amps, p.flat);
                    }
                }
                accs.into_par_iter().map(finish).collect()
            }
        }
    }

    /// Cross power spectral density `Φ[ch × ch]` of the receiver in a unit isotropic diffuse
    /// field (uncorrelated plane waves from all directions, total power 1 at the centre), at
    /// `freq_hz` (`Φ_qp = E[p_q p_p*]`, time convention `e^{+iωt}`).
    ///
    /// * Omni: `[1]`.
    /// * Ambisonic (SN3D): `diag(1/(2n+1))` (`∫ Y_n^m² dΩ / 4π` for SN3D).
    /// * Array: `Φ_qp = Σ_n (2n+1)|b_n(ka)|² P_n(cos θ_qp)` with the normalised mode strengths of
    ///   [`mode_strength`] (`b_0 → 1`), truncated at [`default_truncation_order`]; exact for the
    ///   rigid or open sphere (open: `sin(kd)/(kd)`, `d` the capsule distance). Speed of sound
    ///   [`sphear_core::SPEED_OF_SOUND_M_S`].
    /// * Binaural: `(1/Σw) Σ_d w_d H(d) H(d)ᴴ` over the set's directions, `H` the DFT of the HRIRs
    ///   at `freq_hz` (`H = Σ_t h[t] e^{−i2πf t/fs}`), `w_d` the Voronoi-cell solid angles of
    ///   [`voronoi_weights`] (this per-frequency call recomputes them; use
    ///   [`diffuse_cross_psd_bins`](Self::diffuse_cross_psd_bins) for many frequencies). The
    ///   orientation does not matter (the field is isotropic).
    ///
    /// # References
    /// E. A. P. Habets, S. Gannot, JASA 122(6), 2007; B. Rafaely, *Fundamentals of Spherical
    /// Array Processing*, 2019, §4 (diffuse-field coherence on a sphere).
    pub fn diffuse_cross_psd(&self, freq_hz: f64) -> DMatrix<Complex64> {
        match self {
            Receiver::Binaural { hrtf, .. } => {
                let w = voronoi_weights(hrtf.directions());
                let fs = hrtf.sample_rate_hz();
                let n = hrtf.ir_len();
                let tw: Vec<Complex64> = (0..n)
                    .map(|t| {
                        Complex64::from_polar(
                            1.0,
                            -2.0 * std::f64::consts::PI * freq_hz * t as f64 / fs,
                        )
                    })
                    .collect();
                let dft = |x: &[f32]| -> Complex64 {
                    x.iter().zip(&tw).map(|(&v, e)| e * f64::from(v)).sum()
                };
                let h: Vec<[Complex64; 2]> = (0..hrtf.len())
                    .map(|d| [dft(hrtf.ir(d, Ear::Left)), dft(hrtf.ir(d, Ear::Right))])
                    .collect();
                binaural_psd(&h, &w)
            }
            _ => self.analytic_psd(freq_hz, sphear_core::SPEED_OF_SOUND_M_S),
        }
    }

    /// Diffuse-field cross-PSDs at the rfft bins `f_k = k fs / fft_len`, `k = 0..=fft_len/2`
    /// (same definitions as [`diffuse_cross_psd`](Self::diffuse_cross_psd); the binaural
    /// quadrature weights and HRTF spectra are computed once). For the binaural receiver the
    /// HRTF set's own sample rate is used for the HRIR spectra (it should equal
    /// `sample_rate_hz`).
    pub fn diffuse_cross_psd_bins(
        &self,
        sample_rate_hz: f64,
        fft_len: usize,
    ) -> Vec<DMatrix<Complex64>> {
        let n_bins = fft_len / 2 + 1;
        match self {
            Receiver::Binaural { hrtf, .. } => {
                let w = voronoi_weights(hrtf.directions());
                // Zero-padded FFT of length m·fft_len ≥ ir_len, every m-th bin.
                let sp = IrSpectra::new(hrtf.ir_len(), fft_len);
                let spectra: Vec<[Vec<Complex64>; 2]> = (0..hrtf.len())
                    .into_par_iter()
                    .map(|d| Ear::BOTH.map(|ear| sp.bins(hrtf.ir(d, ear))))
                    .collect();
                (0..n_bins)
                    .into_par_iter()
                    .map(|k| {
                        let h: Vec<[Complex64; 2]> =
                            spectra.iter().map(|s| [s[0][k], s[1][k]]).collect();
                        binaural_psd(&h, &w)
                    })
                    .collect()
            }
            _ => (0..n_bins)
                .into_par_iter()
                .map(|k| {
                    self.analytic_psd(
                        k as f64 * sample_rate_hz / fft_len as f64,
                        sphear_core::SPEED_OF_SOUND_M_S,
                    )
                })
                .collect(),
        }
    }

    /// Omni, Ambisonic and Array cross-PSDs (closed forms).
    fn analytic_psd(&self, freq_hz: f64, speed_m_s: f64) -> DMatrix<Complex64> {
        let c1 = Complex64::new(1.0, 0.0);
        match self {
            Receiver::Omni | Receiver::Binaural { .. } => DMatrix::from_element(1, 1, c1),
            Receiver::Ambisonic { order } => {
                let n = (order + 1) * (order + 1);
                DMatrix::from_fn(n, n, |i, j| {
                    if i == j {
                        let (ord, _) = sphear_sh::sh::acn_to_nm(i);
                        c1 / (2 * ord + 1) as f64
                    } else {
                        Complex64::new(0.0, 0.0)
                    }
                })
            }
            Receiver::Array(a) => {
                let ka = 2.0 * std::f64::consts::PI * freq_hz.abs() * a.radius_m / speed_m_s;
                let n_max = default_truncation_order(ka);
                let b = mode_strength(n_max, ka, a.sphere);
                let wn: Vec<f64> = b
                    .iter()
                    .enumerate()
                    .map(|(n, bn)| (2 * n + 1) as f64 * bn.norm_sqr())
                    .collect();
                let u: Vec<[f64; 3]> = a.capsules.iter().map(Direction::to_cartesian).collect();
                let q = u.len();
                let mut p = vec![0.0; n_max + 1];
                let mut m = DMatrix::from_element(q, q, Complex64::new(0.0, 0.0));
                for i in 0..q {
                    for j in i..q {
                        legendre_into(dot3(u[i], u[j]).clamp(-1.0, 1.0), &mut p);
                        let v: f64 = wn.iter().zip(&p).map(|(w, pn)| w * pn).sum();
                        m[(i, j)] = Complex64::new(v, 0.0);
                        m[(j, i)] = Complex64::new(v, 0.0);
                    }
                }
                m
            }
        }
    }
}

/// Fibonacci-grid size of [`joint_diffuse_cross_psd_bins`] when no binaural receiver supplies
/// the quadrature grid.
pub const JOINT_GRID_POINTS: usize = 2000;

/// Joint diffuse-field cross-PSDs of co-located receivers: one `[Σch × Σch]` matrix per rfft bin
/// `f_k = k fs / fft_len` (channels in receiver order), for **one** isotropic diffuse field heard
/// by all of them (`E[p_q p_p*]`, normalisation and time convention as
/// [`Receiver::diffuse_cross_psd`]).
///
/// * Diagonal blocks: each receiver's own [`Receiver::diffuse_cross_psd_bins`] (analytic for the
///   array and Ambisonics, HRTF quadrature for a head).
/// * Cross blocks: `Φ_ij = (1/Σw) Σ_d w_d g_i(u_d) g_j(u_d)ᴴ` over a quadrature grid, `g` the
///   plane-wave transfer of each channel relative to the wave's arrival at the common centre
///   (the spectra of [`Receiver::plane_wave_ir`] at delay 0): capsules
///   [`sphear_sh::modal::plane_wave_pressure`] (mode sums), ears the HRIR spectra of the head
///   direction `Rᵀu`, omni 1, Ambisonics `Y(u)`. The grid is the first binaural receiver's HRTF
///   directions (rotated to the room frame) with their Voronoi weights — the field is then what
///   that head can hear, the measured directions' HRIRs used as is — otherwise a Fibonacci grid of
///   [`JOINT_GRID_POINTS`] directions.
///
/// The diagonal and cross blocks use different integrations (exact vs. quadrature over a grid
/// that may miss the bottom cap), so the joint matrix can have small negative eigenvalues; the
/// tail synthesis clamps them. Speed of sound [`sphear_core::SPEED_OF_SOUND_M_S`].
pub fn joint_diffuse_cross_psd_bins(
    receivers: &[Receiver],
    sample_rate_hz: f64,
    fft_len: usize,
) -> Vec<DMatrix<Complex64>> {
    let n_bins = fft_len / 2 + 1;
    let nch: Vec<usize> = receivers.iter().map(Receiver::num_channels).collect();
    let offs: Vec<usize> = nch
        .iter()
        .scan(0, |acc, &n| {
            let o = *acc;
            *acc += n;
            Some(o)
        })
        .collect();
    let total: usize = nch.iter().sum();
    let diag: Vec<Vec<DMatrix<Complex64>>> = receivers
        .iter()
        .map(|r| r.diffuse_cross_psd_bins(sample_rate_hz, fft_len))
        .collect();
    // Quadrature grid in the room frame.
    let owner = receivers
        .iter()
        .position(|r| matches!(r, Receiver::Binaural { .. }));
    let (grid, w): (Vec<Direction>, Vec<f64>) = match owner.map(|i| &receivers[i]) {
        Some(Receiver::Binaural { hrtf, orientation }) => (
            hrtf.directions()
                .iter()
                .map(|d| rotate_direction(orientation, d))
                .collect(),
            voronoi_weights(hrtf.directions()),
        ),
        _ => {
            let g = fibonacci_grid(JOINT_GRID_POINTS);
            let n = g.len();
            (g, vec![1.0; n])
        }
    };
    let sw: f64 = w.iter().sum();
    let sq_w: Vec<f64> = w
        .iter()
        .map(|v| (v / sw.max(f64::MIN_POSITIVE)).sqrt())
        .collect();
    let units: Vec<[f64; 3]> = grid.iter().map(Direction::to_cartesian).collect();
    // Per-receiver precomputation: HRIR spectra of every grid direction, or capsule–direction
    // cosines for the array, or SH gains.
    enum Pre {
        One,
        Gains(Vec<Vec<f64>>),                                      // [dir][ch]
        Spectra(Vec<[Vec<Complex64>; 2]>),                         // [dir][ear][bin]
        Cosines(Vec<Vec<f64>>, f64, sphear_sh::modal::SphereKind), // [dir][cap], radius, kind
    }
    let pre: Vec<Pre> = receivers
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Receiver::Omni => Pre::One,
            Receiver::Ambisonic { order } => Pre::Gains(
                grid.iter()
                    .map(|d| real_sh(*order, d, Norm::Sn3d))
                    .collect(),
            ),
            Receiver::Array(a) => {
                let caps: Vec<[f64; 3]> = a.capsules.iter().map(Direction::to_cartesian).collect();
                Pre::Cosines(
                    units
                        .iter()
                        .map(|u| caps.iter().map(|c| dot3(*c, *u).clamp(-1.0, 1.0)).collect())
                        .collect(),
                    a.radius_m,
                    a.sphere,
                )
            }
            Receiver::Binaural { hrtf, orientation } => {
                let sp = IrSpectra::new(hrtf.ir_len(), fft_len);
                let rt = mat3_transpose(orientation);
                Pre::Spectra(
                    grid.par_iter()
                        .enumerate()
                        .map(|(d, u)| {
                            // The grid owner's own measured HRIRs; other heads interpolate.
                            let pair = if Some(i) == owner {
                                [
                                    hrtf.ir(d, Ear::Left).to_vec(),
                                    hrtf.ir(d, Ear::Right).to_vec(),
                                ]
                            } else {
                                hrtf.interpolate(&rotate_direction(&rt, u))
                            };
                            [0, 1].map(|e| sp.bins(&pair[e]))
                        })
                        .collect(),
                )
            }
        })
        .collect();
    let c0 = Complex64::new(0.0, 0.0);
    (0..n_bins)
        .into_par_iter()
        .map(|k| {
            let f_hz = k as f64 * sample_rate_hz / fft_len as f64;
            let mut phi = DMatrix::from_element(total, total, c0);
            for (i, dm) in diag.iter().enumerate() {
                phi.view_mut((offs[i], offs[i]), (nch[i], nch[i]))
                    .copy_from(&dm[k]);
            }
            if receivers.len() < 2 {
                return phi;
            }
            // Mode weights (2n+1) b_n(ka) of each array receiver at this bin.
            let modal: Vec<Option<Vec<Complex64>>> = pre
                .iter()
                .map(|p| match p {
                    Pre::Cosines(_, radius, kind) => {
                        let ka = 2.0 * std::f64::consts::PI * f_hz * radius
                            / sphear_core::SPEED_OF_SOUND_M_S;
                        let n_max = default_truncation_order(ka);
                        Some(
                            mode_strength(n_max, ka, *kind)
                                .iter()
                                .enumerate()
                                .map(|(n, b)| b * (2 * n + 1) as f64)
                                .collect(),
                        )
                    }
                    _ => None,
                })
                .collect();
            let n_leg = modal.iter().flatten().map(Vec::len).max().unwrap_or(0);
            let mut leg = vec![0.0; n_leg];
            let mut g = vec![c0; total];
            for d in 0..grid.len() {
                for (i, p) in pre.iter().enumerate() {
                    let o = offs[i];
                    match p {
                        Pre::One => g[o] = Complex64::new(sq_w[d], 0.0),
                        Pre::Gains(v) => {
                            for (c, &y) in v[d].iter().enumerate() {
                                g[o + c] = Complex64::new(y * sq_w[d], 0.0);
                            }
                        }
                        Pre::Spectra(s) => {
                            g[o] = s[d][0][k] * sq_w[d];
                            g[o + 1] = s[d][1][k] * sq_w[d];
                        }
                        Pre::Cosines(cos, _, _) => {
                            let wts = modal[i].as_deref().unwrap_or(&[]);
                            let l = &mut leg[..wts.len()];
                            for (c, &x) in cos[d].iter().enumerate() {
                                legendre_into(x, l);
                                let v: Complex64 =
                                    wts.iter().zip(l.iter()).map(|(w, pn)| w * pn).sum();
                                g[o + c] = v * sq_w[d];
                            }
                        }
                    }
                }
                for i in 0..receivers.len() {
                    for j in i + 1..receivers.len() {
                        for a in 0..nch[i] {
                            let ga = g[offs[i] + a];
                            for b in 0..nch[j] {
                                phi[(offs[i] + a, offs[j] + b)] += ga * g[offs[j] + b].conj();
                            }
                        }
                    }
                }
            }
            for i in 0..receivers.len() {
                for j in i + 1..receivers.len() {
                    for a in 0..nch[i] {
                        for b in 0..nch[j] {
                            let v = phi[(offs[i] + a, offs[j] + b)];
                            phi[(offs[j] + b, offs[i] + a)] = v.conj();
                        }
                    }
                }
            }
            phi
        })
        .collect()
}

/// Spectra of impulse responses at the rfft bins `k fs / fft_len` (`k = 0..=fft_len/2`): a
/// zero-padded FFT of length `m·fft_len ≥ ir_len`, every `m`-th bin (exact DFT samples, no
/// truncation of long responses).
struct IrSpectra {
    r2c: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    big: usize,
    step: usize,
    n_bins: usize,
}

impl IrSpectra {
    fn new(ir_len: usize, fft_len: usize) -> Self {
        let step = ir_len.div_ceil(fft_len.max(1)).max(1);
        let big = step * fft_len.max(1);
        Self {
            r2c: RealFftPlanner::<f64>::new().plan_fft_forward(big),
            big,
            step,
            n_bins: fft_len / 2 + 1,
        }
    }

    /// The spectrum of `ir` (NaN if the transform fails).
    fn bins(&self, ir: &[f32]) -> Vec<Complex64> {
        let mut buf = vec![0.0; self.big];
        for (b, &v) in buf.iter_mut().zip(ir) {
            *b = f64::from(v);
        }
        let mut s = self.r2c.make_output_vec();
        if self.r2c.process(&mut buf, &mut s).is_err() {
            s.fill(Complex64::new(f64::NAN, 0.0));
        }
        s.into_iter().step_by(self.step).take(self.n_bins).collect()
    }
}

/// `(1/Σw) Σ_d w_d h_d h_dᴴ` for 2-vectors `h_d`.
fn binaural_psd(h: &[[Complex64; 2]], w: &[f64]) -> DMatrix<Complex64> {
    let mut m = DMatrix::from_element(2, 2, Complex64::new(0.0, 0.0));
    let mut sw = 0.0;
    for (hd, &wd) in h.iter().zip(w) {
        sw += wd;
        for i in 0..2 {
            for j in 0..2 {
                m[(i, j)] += hd[i] * hd[j].conj() * wd;
            }
        }
    }
    if sw > 0.0 {
        m /= Complex64::new(sw, 0.0);
    }
    m
}

/// Solid-angle (quadrature) weights of arbitrary directions: the area of each direction's
/// spherical Voronoi cell, estimated by assigning `K = max(20000,`
/// [`VORONOI_POINTS_PER_DIRECTION`]`·M)` points of a Fibonacci grid (near-uniform, equal areas
/// `4π/K`) to their nearest direction. Weights sum to `4π`. Gaps in the measurement grid (e.g.
/// no directions below −40°) are attributed to the nearest measured directions, i.e. the
/// isotropic field is approximated by nearest-neighbour extrapolation of the HRTF. Duplicate
/// directions share their cell (the first gets it). Cost `O(K·M)`.
///
/// # References
/// Á. González, "Measurement of areas on a sphere using Fibonacci and latitude–longitude
/// lattices", Math. Geosci. 42, 2010 (Fibonacci lattice as equal-area sampling).
pub fn voronoi_weights(dirs: &[Direction]) -> Vec<f64> {
    let m = dirs.len();
    if m == 0 {
        return Vec::new();
    }
    let k = (VORONOI_POINTS_PER_DIRECTION * m).max(20_000);
    let grid: Vec<[f64; 3]> = fibonacci_grid(k)
        .iter()
        .map(Direction::to_cartesian)
        .collect();
    let unit: Vec<[f64; 3]> = dirs.iter().map(Direction::to_cartesian).collect();
    let counts = grid
        .par_chunks(1024)
        .map(|chunk| {
            let mut c = vec![0usize; m];
            for g in chunk {
                let mut best = 0;
                let mut best_dot = f64::NEG_INFINITY;
                for (i, u) in unit.iter().enumerate() {
                    let p = dot3(*u, *g);
                    if p > best_dot {
                        best_dot = p;
                        best = i;
                    }
                }
                c[best] += 1;
            }
            c
        })
        .reduce(
            || vec![0usize; m],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        );
    let cell = 4.0 * std::f64::consts::PI / k as f64;
    counts.into_iter().map(|c| c as f64 * cell).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_centred_hann_sinc() {
        // Independent values: frac = 0.5 at the centre tap is ½(1 + cos(π·0.5/40)) · sinc(0.5).
        let h = frac_delay_kernel(0.5);
        let w = 0.5 * (1.0 + (std::f64::consts::PI * 0.5 / 40.0).cos());
        assert!((h[40] - w * 2.0 / std::f64::consts::PI).abs() < 1e-15);
        // First tap is outside the window (x = −40.5), last inside (x = 39.5).
        assert_eq!(h[0], 0.0);
        assert!(h[80] != 0.0);
        // DC gain of a fractional-delay kernel ≈ 1.
        let s: f64 = frac_delay_kernel(0.3).iter().sum();
        assert!((s - 1.0).abs() < 1e-2, "{s}");
        assert_eq!(frac_delay_kernel(0.0)[40], 1.0);
    }

    #[test]
    fn legendre_matches_core() {
        let mut p = vec![0.0; 12];
        legendre_into(0.37, &mut p);
        let r = sphear_core::special::legendre_p(11, 0.37);
        for (a, b) in p.iter().zip(&r) {
            assert!((a - b).abs() < 1e-14);
        }
    }
}
