//! Stochastic diffuse late reverberation with the receiver's spatial coherence.
//!
//! ## Model
//! The late field is an isotropic diffuse field whose energy decays exponentially per octave
//! band. For a receiver with diffuse-field cross-PSD `Φ(f)` ([`Receiver::diffuse_cross_psd`],
//! normalised to unit power at the centre), the tail is
//!
//! `y_c(t) = Σ_b e_b(t) · [F_b * x]_c(t)`, `e_b(t) = sqrt(E_b / fs) · exp(−6.91 (t − t₀)/T_b) · φ(t)`
//!
//! where `x` is a stationary multichannel Gaussian noise with cross-PSD `Φ(f)` and unit
//! omni-equivalent variance per sample, `F_b` the octave filters, `T_b` the band RT60 (the
//! amplitude falls by `e^{−6.91} = −60 dB` after `T_b`), `E_b` the band energy of the spec and
//! `φ` a fade-in. The same envelope multiplies all channels, so the coherence is kept.
//!
//! **Energy unit.** `E_b` is the white-equivalent energy per second at `t₀`, relative to the
//! direct sound of a 1 m source: the omni tail in band `b` has the same level as white noise of
//! variance `E_b / fs` per sample filtered by `F_b`. An image-source pulse train with arrival rate
//! `ν` and amplitudes `a_i` has exactly this level with `E_b = ν ⟨a_{i,b}²⟩`, so the definition
//! continues the image-source energy without any bandwidth factor.
//!
//! ## Synthesis (Habets & Gannot 2007, in the STFT domain)
//! Frames of [`TAIL_FRAME_LEN`] samples, hop `N/2`, synthesis window `sin(π j/N)` (periodic
//! √Hann: the squared windows of overlapping frames sum to 1, so independent frames give a
//! stationary variance). Per frame and rfft bin `k`: `y_k = A_k n_k` with `n_k` i.i.d. circular
//! complex Gaussian (unit variance; real at DC/Nyquist) and `A_k = V √Λ₊` from the Hermitian
//! eigendecomposition `Φ(f_k) = V Λ Vᴴ` (negative rounding eigenvalues clamped), so
//! `E[y yᴴ] = A Aᴴ = Φ`; this equals the `Cᴴ C = Φ` factorisation of the paper and stays valid
//! when `Φ` is rank-deficient (e.g. the em32 at low frequencies, where Cholesky fails). Each band
//! is the bin-wise product with the zero-phase response `A_b(f_k)` of the octave filter `F_b`
//! ([`crate::bands::octave_filterbank`] with [`crate::bands::default_filterbank_taps`]), inverse FFT, windowing, and per-sample
//! multiplication by `e_b(t)`. Frames are seeded individually (ChaCha8, stream = frame index) so
//! the output is deterministic for a seed and independent of the thread count.
//!
//! The fade-in `φ(t) = sin(π/2 · (t − t₀ + F/2)/F)` over `[t₀ − F/2, t₀ + F/2]`,
//! `F =` [`TAIL_FADE_IN_S`], has `φ²` power-complementary to a hard cut at `t₀` (`∫ φ² = F/2`),
//! so a tail spliced onto image sources kept up to `t₀` adds no step to the energy decay.
//!
//! # References
//! * E. A. P. Habets, S. Gannot, "Generating sensor signals in isotropic noise fields",
//!   JASA 122(6), 3464–3470, 2007.
//! * J.-M. Jot, L. Cerveau, O. Warusfel, "Analysis and synthesis of room reverberation based on a
//!   statistical time-frequency model", AES 103rd Convention, 1997 (noise with band-wise
//!   exponential envelopes).
//! * H. Kuttruff, *Room Acoustics*, 6th ed., 2016, §5.1 (image density `4π c³ t² / V`).

use nalgebra::{DMatrix, DVector};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use realfft::RealFftPlanner;

use crate::bands::{NUM_BANDS, PerBand, default_filterbank_taps, octave_filterbank};
use crate::receiver::Receiver;
use crate::room::{ImageSource, Room, Rt60Formula};

/// STFT frame length of the tail synthesis (samples; hop = half). 2048 at 48 kHz gives 23 Hz
/// bins, enough to separate the 125 Hz octave band from its neighbours.
pub const TAIL_FRAME_LEN: usize = 2048;

/// Fade-in duration of the tail (seconds), centred on `start_s`.
pub const TAIL_FADE_IN_S: f64 = 0.005;

/// `ln(1000)`: amplitude decay exponent reached after one RT60 (−60 dB).
pub const DECAY_60DB: f64 = 6.907_755_278_982_137;

/// Length of the window before `start_s` over which [`tail_spec_from_images`] measures the
/// image-source energy, as a fraction of `start_s` (clamped to
/// [`TAIL_FIT_MIN_WINDOW_S`, `TAIL_FIT_MAX_WINDOW_S`]).
pub const TAIL_FIT_WINDOW_FRACTION: f64 = 0.3;

/// Minimum fit window (s).
pub const TAIL_FIT_MIN_WINDOW_S: f64 = 0.005;

/// Maximum fit window (s).
pub const TAIL_FIT_MAX_WINDOW_S: f64 = 0.05;

/// Minimum number of image sources in the fit window for the counted estimate; with fewer the
/// statistical image density is used instead (see [`tail_spec_from_images`]).
pub const TAIL_FIT_MIN_IMAGES: usize = 16;

/// Parameters of a diffuse tail.
#[derive(Debug, Clone, PartialEq)]
pub struct TailSpec {
    /// Start time (s): centre of the fade-in; the decay envelopes are referenced to it.
    pub start_s: f64,
    /// Reverberation time per octave band (s).
    pub rt60_s: PerBand,
    /// White-equivalent energy per second of the omni tail at `start_s` per band, relative to the
    /// direct sound of a 1 m source (see the module docs).
    pub band_energy: PerBand,
    /// Random seed (the output is a deterministic function of it).
    pub seed: u64,
}

/// Mixing matrix `A` with `A Aᴴ = Φ` (Hermitian eigendecomposition, negative eigenvalues
/// clamped to 0). `real` forces a real matrix (DC and Nyquist bins).
fn mixing_matrix(phi: &DMatrix<Complex64>, real: bool) -> DMatrix<Complex64> {
    let n = phi.nrows();
    if n == 1 {
        return DMatrix::from_element(1, 1, Complex64::new(phi[(0, 0)].re.max(0.0).sqrt(), 0.0));
    }
    if real {
        let re = DMatrix::from_fn(n, n, |i, j| 0.5 * (phi[(i, j)].re + phi[(j, i)].re));
        let eig = re.symmetric_eigen();
        let mut a = eig.eigenvectors;
        for (j, &l) in eig.eigenvalues.iter().enumerate() {
            let s = l.max(0.0).sqrt();
            a.column_mut(j).scale_mut(s);
        }
        return a.map(|v| Complex64::new(v, 0.0));
    }
    let herm = DMatrix::from_fn(n, n, |i, j| 0.5 * (phi[(i, j)] + phi[(j, i)].conj()));
    let eig = herm.symmetric_eigen();
    let mut a = eig.eigenvectors;
    for (j, &l) in eig.eigenvalues.iter().enumerate() {
        let s = l.max(0.0).sqrt();
        a.column_mut(j).scale_mut(s);
    }
    a
}

/// Standard normal pair (Box–Muller).
fn gauss_pair(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (2.0 * std::f64::consts::PI * u2).sin_cos();
    (r * c, r * s)
}

/// Zero-phase responses `A_b(f_k)` of the octave filters ([`default_filterbank_taps`] taps, as
/// everywhere in the crate) on the frame's rfft grid.
fn band_responses(sample_rate_hz: f64, frame_len: usize) -> Vec<Vec<f64>> {
    let taps = default_filterbank_taps(sample_rate_hz);
    let delay = (taps - 1) / 2;
    let m = taps.div_ceil(frame_len).max(1);
    let big = m * frame_len;
    let n_bins = frame_len / 2 + 1;
    let mut planner = RealFftPlanner::<f64>::new();
    let r2c = planner.plan_fft_forward(big);
    octave_filterbank(sample_rate_hz, taps)
        .into_iter()
        .map(|h| {
            let mut buf = vec![0.0; big];
            buf[..h.len()].copy_from_slice(&h);
            let mut s = r2c.make_output_vec();
            if r2c.process(&mut buf, &mut s).is_err() {
                return vec![f64::NAN; n_bins];
            }
            (0..n_bins)
                .map(|k| {
                    // Bin k of the frame grid is bin m·k of the big grid; remove the linear phase.
                    let ph = Complex64::from_polar(
                        1.0,
                        2.0 * std::f64::consts::PI * ((m * k * delay) % big) as f64 / big as f64,
                    );
                    (s[m * k] * ph).re
                })
                .collect()
        })
        .collect()
}

/// Late reverberation `[ch][len]` of `receiver` for `spec` (see the module docs for the model and
/// the algorithm). Bands with a non-positive or non-finite RT60 or energy are silent; a
/// non-finite start gives silence. For the binaural receiver the HRTF set should be at
/// `sample_rate_hz`.
pub fn diffuse_tail(
    receiver: &Receiver,
    spec: &TailSpec,
    sample_rate_hz: f64,
    len: usize,
) -> Vec<Vec<f32>> {
    let nch = receiver.num_channels();
    if len == 0 || nch == 0 || !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return vec![vec![0.0; len]; nch];
    }
    let phis = receiver.diffuse_cross_psd_bins(sample_rate_hz, TAIL_FRAME_LEN);
    synthesize_tail(&mixing_matrices(&phis), nch, spec, sample_rate_hz, len)
}

/// One diffuse tail heard by several co-located receivers: the same sound field for all of them
/// (joint cross-PSD [`crate::receiver::joint_diffuse_cross_psd_bins`]), so that e.g. the late
/// reverberation at a head's ears is the one the array at the same place picks up. Returns
/// `[receiver][ch][len]`. The mixing matrices of a receiver set are cached (the last few sets,
/// keyed by their content), since a scene calls this once per source.
pub fn joint_diffuse_tail(
    receivers: &[Receiver],
    spec: &TailSpec,
    sample_rate_hz: f64,
    len: usize,
) -> Vec<Vec<Vec<f32>>> {
    let nch: Vec<usize> = receivers.iter().map(Receiver::num_channels).collect();
    let total: usize = nch.iter().sum();
    let fs = sample_rate_hz;
    if len == 0 || total == 0 || !(fs.is_finite() && fs > 0.0) {
        return nch.iter().map(|&n| vec![vec![0.0; len]; n]).collect();
    }
    let mix = joint_mix_cached(receivers, fs);
    let mut all = synthesize_tail(&mix, total, spec, fs, len).into_iter();
    nch.iter()
        .map(|&n| all.by_ref().take(n).collect())
        .collect()
}

/// Cache of joint mixing matrices (content key → matrices), most recent last.
type MixCache = Vec<(u64, std::sync::Arc<Vec<DMatrix<Complex64>>>)>;
static JOINT_MIX_CACHE: std::sync::Mutex<MixCache> = std::sync::Mutex::new(Vec::new());
const JOINT_MIX_CACHE_LEN: usize = 4;

fn joint_mix_cached(receivers: &[Receiver], fs: f64) -> std::sync::Arc<Vec<DMatrix<Complex64>>> {
    let key = receivers_key(receivers, fs);
    if let Ok(c) = JOINT_MIX_CACHE.lock()
        && let Some((_, m)) = c.iter().find(|(k, _)| *k == key)
    {
        return m.clone();
    }
    let phis = crate::receiver::joint_diffuse_cross_psd_bins(receivers, fs, TAIL_FRAME_LEN);
    let m = std::sync::Arc::new(mixing_matrices(&phis));
    if let Ok(mut c) = JOINT_MIX_CACHE.lock() {
        c.push((key, m.clone()));
        if c.len() > JOINT_MIX_CACHE_LEN {
            c.remove(0);
        }
    }
    m
}

/// Content hash of a receiver set and the rate. The joint field is isotropic, so only the
/// receivers' geometry relative to the first head matters: array capsules and other heads'
/// orientations are hashed in that head's frame (rounded to 1e-9, so that a scene rotated as a
/// whole hits the cache); Ambisonics, whose channels are tied to the room frame, add the head's
/// absolute orientation.
fn receivers_key(receivers: &[Receiver], fs: f64) -> u64 {
    use sphear_sh::rotation::{mat3_mul, mat3_transpose, rotate_direction};
    use std::hash::{Hash, Hasher};
    let q = |v: f64| (v * 1e9).round() as i64;
    let frame = receivers
        .iter()
        .find_map(|r| match r {
            Receiver::Binaural { orientation, .. } => Some(*orientation),
            _ => None,
        })
        .unwrap_or(sphear_sh::rotation::IDENTITY);
    let to_head = mat3_transpose(&frame);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    fs.to_bits().hash(&mut h);
    for r in receivers {
        match r {
            Receiver::Omni => 0u8.hash(&mut h),
            Receiver::Ambisonic { order } => {
                1u8.hash(&mut h);
                order.hash(&mut h);
                for row in &frame {
                    row.map(q).hash(&mut h);
                }
            }
            Receiver::Array(a) => {
                2u8.hash(&mut h);
                q(a.radius_m).hash(&mut h);
                format!("{:?}", a.sphere).hash(&mut h);
                for c in &a.capsules {
                    rotate_direction(&to_head, c)
                        .to_cartesian()
                        .map(q)
                        .hash(&mut h);
                }
            }
            Receiver::Binaural { hrtf, orientation } => {
                3u8.hash(&mut h);
                hrtf.sample_rate_hz().to_bits().hash(&mut h);
                for row in &mat3_mul(&to_head, orientation) {
                    row.map(q).hash(&mut h);
                }
                for (d, dir) in hrtf.directions().iter().enumerate() {
                    dir.to_cartesian().map(q).hash(&mut h);
                    for ear in [sphear_hrtf::Ear::Left, sphear_hrtf::Ear::Right] {
                        for v in hrtf.ir(d, ear) {
                            v.to_bits().hash(&mut h);
                        }
                    }
                }
            }
        }
    }
    h.finish()
}

/// Mixing matrix per bin (`A Aᴴ = Φ`, see the module docs).
fn mixing_matrices(phis: &[DMatrix<Complex64>]) -> Vec<DMatrix<Complex64>> {
    let n_bins = phis.len();
    phis.par_iter()
        .enumerate()
        .map(|(k, p)| {
            // Real Φ (array, Ambisonics; every Φ at DC/Nyquist) → real eigendecomposition.
            let real = k == 0 || k + 1 == n_bins || p.iter().all(|v| v.im == 0.0);
            mixing_matrix(p, real)
        })
        .collect()
}

/// The STFT-domain synthesis of the module docs with given per-bin mixing matrices
/// (`TAIL_FRAME_LEN/2 + 1` of them, `nch × nch`).
fn synthesize_tail(
    mix: &[DMatrix<Complex64>],
    nch: usize,
    spec: &TailSpec,
    sample_rate_hz: f64,
    len: usize,
) -> Vec<Vec<f32>> {
    let fs = sample_rate_hz;
    if len == 0 || nch == 0 || !(fs.is_finite() && fs > 0.0) || !spec.start_s.is_finite() {
        return vec![vec![0.0; len]; nch];
    }
    let n = TAIL_FRAME_LEN;
    let hop = n / 2;
    let n_bins = n / 2 + 1;
    // Envelope parameters; silent bands dropped.
    let bands: Vec<(usize, f64, f64)> = (0..NUM_BANDS)
        .filter_map(|b| {
            let e = spec.band_energy[b];
            let t = spec.rt60_s[b];
            (e.is_finite() && e > 0.0 && t.is_finite() && t > 0.0)
                .then(|| (b, (e / fs).sqrt(), DECAY_60DB / t))
        })
        .collect();
    if bands.is_empty() {
        return vec![vec![0.0; len]; nch];
    }
    let fade = TAIL_FADE_IN_S;
    let t_a = spec.start_s - fade / 2.0;
    let first = (t_a * fs).floor();
    if first >= len as f64 {
        return vec![vec![0.0; len]; nch];
    }
    let first = first as i64;
    let envelope = |t_samples: i64, rate: f64, amp: f64| -> f64 {
        let t = t_samples as f64 / fs;
        if t < t_a {
            return 0.0;
        }
        let phi = if t < t_a + fade {
            (std::f64::consts::FRAC_PI_2 * (t - t_a) / fade).sin()
        } else {
            1.0
        };
        amp * (-rate * (t - spec.start_s)).exp() * phi
    };
    // Band responses.
    let resp = band_responses(fs, n);
    let window: Vec<f64> = (0..n)
        .map(|j| (std::f64::consts::PI * j as f64 / n as f64).sin())
        .collect();
    // Frames start at p0 + m·hop; p0 = first − n so every sample ≥ first is covered by two frames.
    let p0 = first - n as i64;
    let n_frames = ((len as i64 - p0) as usize).div_ceil(hop);
    // Time-major buffer covering [p0, p0 + (n_frames + 1)·hop).
    let buf_len = (n_frames + 1) * hop;
    let mut tm = vec![0.0f64; buf_len * nch];
    let mut planner = RealFftPlanner::<f64>::new();
    let c2r = planner.plan_fft_inverse(n);
    let scale = (n as f64).sqrt() / n as f64;
    let render_frame = |m: usize, out: &mut [f64]| {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        rng.set_stream(m as u64);
        // Mixed spectra y[c][k].
        let mut y = vec![vec![Complex64::new(0.0, 0.0); n_bins]; nch];
        let mut nv = DVector::from_element(nch, Complex64::new(0.0, 0.0));
        for k in 0..n_bins {
            let real = k == 0 || k == n_bins - 1;
            for c in 0..nch {
                let (g1, g2) = gauss_pair(&mut rng);
                nv[c] = if real {
                    Complex64::new(g1, 0.0)
                } else {
                    Complex64::new(g1, g2) * std::f64::consts::FRAC_1_SQRT_2
                };
            }
            let v = &mix[k] * &nv;
            for c in 0..nch {
                y[c][k] = v[c];
            }
        }
        let start = p0 + (m * hop) as i64;
        let mut spec_buf = c2r.make_input_vec();
        let mut time = c2r.make_output_vec();
        let mut scratch = c2r.make_scratch_vec();
        // Envelopes of this frame per band.
        let env: Vec<Vec<f64>> = bands
            .iter()
            .map(|&(_, amp, rate)| {
                (0..n)
                    .map(|j| envelope(start + j as i64, rate, amp) * window[j] * scale)
                    .collect()
            })
            .collect();
        for (c, yc) in y.iter().enumerate() {
            for (bi, &(b, _, _)) in bands.iter().enumerate() {
                if env[bi].iter().all(|&v| v == 0.0) {
                    continue;
                }
                for ((s, yv), a) in spec_buf.iter_mut().zip(yc).zip(&resp[b]) {
                    *s = yv * a;
                }
                spec_buf[0].im = 0.0;
                spec_buf[n_bins - 1].im = 0.0;
                if c2r
                    .process_with_scratch(&mut spec_buf, &mut time, &mut scratch)
                    .is_err()
                {
                    continue;
                }
                for (j, (&x, &e)) in time.iter().zip(&env[bi]).enumerate() {
                    out[j * nch + c] += x * e;
                }
            }
        }
    };
    // Even frames do not overlap each other, nor do odd frames: two parallel passes.
    for parity in 0..2usize {
        let offset = parity * hop * nch;
        let chunk = 2 * hop * nch;
        let (_, rest) = tm.split_at_mut(offset);
        rest.par_chunks_mut(chunk).enumerate().for_each(|(i, out)| {
            let m = 2 * i + parity;
            if m < n_frames && out.len() >= n * nch {
                render_frame(m, out);
            }
        });
    }
    (0..nch)
        .map(|c| {
            (0..len)
                .map(|t| {
                    let i = t as i64 - p0;
                    if i >= 0 && (i as usize) < buf_len {
                        tm[i as usize * nch + c] as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// A [`TailSpec`] that continues the image-source energy decay at `start_s`.
///
/// * `rt60_s`: `room.rt60_s(formula)`.
/// * `band_energy` (counted estimate): the white-equivalent energy rate of the images that arrive
///   in the window `(start_s − W, start_s]`, each projected to `start_s` with the band decay:
///   `E_b = (1/W) Σ_i a_{i,b}² · exp(2·6.91 (t_i − start_s)/T_b)`, with
///   `a_{i,b}` the image's `band_gains` (`Π β / r`), `W = clamp(`[`TAIL_FIT_WINDOW_FRACTION`]`·start_s,` [`TAIL_FIT_MIN_WINDOW_S`]`,`
///   [`TAIL_FIT_MAX_WINDOW_S`]`)`. This measures the actual image-source energy (so the decay
///   curve has no step), needs the image set to be complete up to `start_s` (max order high
///   enough) and has the usual `1/√N` scatter of `N` images.
/// * With fewer than [`TAIL_FIT_MIN_IMAGES`] images in the window, the statistical density
///   `ν(t) = 4π c³ t² / V` of a room of volume `V` (Kuttruff §5.1; `c` from the images'
///   `distance/delay`) is combined with the projected mean squared gain of the last
///   [`TAIL_FIT_MIN_IMAGES`] images before `start_s`: `E_b = ν ⟨(a_b r)²⟩ / (c·start_s)²`.
///
/// `sample_rate_hz` is not needed by the model (the energy unit is per second) and is accepted for
/// symmetry with the other calls. An empty image list gives zero energies.
pub fn tail_spec_from_images(
    images: &[ImageSource],
    room: &Room,
    formula: Rt60Formula,
    start_s: f64,
    sample_rate_hz: f64,
    seed: u64,
) -> TailSpec {
    let _ = sample_rate_hz;
    let rt60_s = room_rt60(room, formula);
    let w =
        (TAIL_FIT_WINDOW_FRACTION * start_s).clamp(TAIL_FIT_MIN_WINDOW_S, TAIL_FIT_MAX_WINDOW_S);
    let projected = |img: &ImageSource| -> PerBand {
        std::array::from_fn(|b| {
            let a = img.band_gains[b];
            let t = rt60_s[b];
            let k = if t.is_finite() && t > 0.0 {
                2.0 * DECAY_60DB / t
            } else {
                0.0
            };
            a * a * (k * (img.delay_s - start_s)).exp()
        })
    };
    let in_window: Vec<&ImageSource> = images
        .iter()
        .filter(|i| i.delay_s > start_s - w && i.delay_s <= start_s)
        .collect();
    let mut band_energy = [0.0; NUM_BANDS];
    if in_window.len() >= TAIL_FIT_MIN_IMAGES {
        for img in &in_window {
            let p = projected(img);
            for (e, v) in band_energy.iter_mut().zip(p) {
                *e += v / w;
            }
        }
    } else {
        let mut before: Vec<&ImageSource> =
            images.iter().filter(|i| i.delay_s <= start_s).collect();
        before.sort_by(|a, b| b.delay_s.total_cmp(&a.delay_s));
        before.truncate(TAIL_FIT_MIN_IMAGES);
        if !before.is_empty() {
            let c = before
                .iter()
                .filter(|i| i.delay_s > 0.0)
                .map(|i| i.distance_m / i.delay_s)
                .next()
                .unwrap_or(sphear_core::SPEED_OF_SOUND_M_S);
            let nu = 4.0 * std::f64::consts::PI * c.powi(3) * start_s * start_s / room_volume(room);
            for img in &before {
                // ⟨g²⟩ at start_s: g² is the squared gain without the 1/r law.
                let r = img.distance_m;
                let p = projected(img);
                for (e, v) in band_energy.iter_mut().zip(p) {
                    *e += v * r * r / before.len() as f64;
                }
            }
            let r0 = c * start_s;
            for e in &mut band_energy {
                *e *= nu / (r0 * r0);
            }
        }
    }
    TailSpec {
        start_s,
        rt60_s,
        band_energy,
        seed,
    }
}

/// Room RT60 per band through the room API.
fn room_rt60(room: &Room, formula: Rt60Formula) -> PerBand {
    room.rt60_s(formula)
}

/// Room volume (m³) through the room API.
pub(crate) fn room_volume(room: &Room) -> f64 {
    room.volume_m3()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_matrix_factorises_hermitian_psd() {
        // Φ = B Bᴴ for a random-ish complex B (rank 2 in 3 channels: rank-deficient).
        let b = DMatrix::from_fn(3, 2, |i, j| {
            Complex64::new(
                (i as f64 + 0.3 * j as f64).sin(),
                (1.7 * i as f64 - j as f64).cos(),
            )
        });
        let phi = &b * b.adjoint();
        let a = mixing_matrix(&phi, false);
        let r = &a * a.adjoint();
        assert!((r - &phi).norm() < 1e-12 * phi.norm());
        let phr = phi.map(|v| Complex64::new(v.re, 0.0));
        let ar = mixing_matrix(&phr, true);
        assert!(ar.iter().all(|v| v.im == 0.0));
    }
}
