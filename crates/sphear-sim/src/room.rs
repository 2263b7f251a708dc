//! Shoebox rooms: wall absorption, Sabine/Eyring reverberation times, the image-source method
//! (Allen & Berkley lattice), an omnidirectional band-limited RIR and Schroeder/T30 analysis.
//!
//! ## Frame and walls
//! Room coordinates in metres, origin in a corner, the room is `[0, Lx] × [0, Ly] × [0, Lz]`
//! (floor at z = 0). Wall order everywhere: `[x_min, x_max, y_min, y_max, z_min (floor),
//! z_max (ceiling)]`. Absorption coefficients are **energy** absorption `α` per octave band
//! ([`crate::bands`]); a wall's pressure reflection coefficient is `β = √(1 − α)` (angle-independent).
//!
//! ## Image sources
//! For the lattice index `i ∈ ℤ` the image coordinate along x is
//! `x_i = i·Lx + x_s` (i even) or `x_i = i·Lx + Lx − x_s` (i odd), likewise for y and z. `|i|` is the
//! number of reflections on the two x walls: for `i > 0` the path hits `x_max` `⌈i/2⌉` times and
//! `x_min` `⌊i/2⌋` times (mirrored for `i < 0`). The reflection order is `|i| + |j| + |k|`; the
//! number of images of order `≤ n` is `(2n + 1)(2n² + 2n + 3)/3`. This signed index is the same as
//! pyroomacoustics' `orders_xyz`.
//!
//! ## Amplitude
//! Free-field `1/r` relative to 1 m: a source signal `s(t)` arrives from an image at distance `r` as
//! `Π β · s(t − r/c)/r`. pyroomacoustics 0.10.1 uses the same `1/r` (checked by
//! scripts/make_room_fixtures.py); textbook ISM formulas often use `1/(4πr)`.
//!
//! # References
//! J. B. Allen, D. A. Berkley, "Image method for efficiently simulating small-room acoustics",
//! J. Acoust. Soc. Am. 65(4), 943–950, 1979.
//! M. R. Schroeder, "New method of measuring reverberation time", J. Acoust. Soc. Am. 37, 409–412,
//! 1965. ISO 3382-2:2008 (T30 from the −5 … −35 dB range of the backward-integrated decay).
//! R. Scheibler, E. Bezzam, I. Dokmanić, "Pyroomacoustics: a Python package for audio room
//! simulations and array processing algorithms", ICASSP 2018 (81-tap Hann fractional delays).

use sphear_core::Direction;

use crate::bands::{self, BAND_CENTRES_HZ, NUM_BANDS, PerBand};
use crate::{Result, SimError};

/// Number of walls of a shoebox room.
pub const NUM_WALLS: usize = 6;

/// Sabine's constant `24·ln(10)/c` in s/m, rounded as usual to 0.161 (c ≈ 343 m/s).
pub const SABINE_CONSTANT_S_PER_M: f64 = 0.161;

/// Half-length (samples) of the fractional-delay interpolation kernel of [`omni_rir`]:
/// `2·40 + 1 = 81` taps, as pyroomacoustics' default `frac_delay_length`.
pub const FRAC_DELAY_HALF_TAPS: usize = 40;

/// Minimum source–receiver distance (m) accepted by [`image_sources`] (the `1/r` gain diverges).
pub const MIN_SOURCE_RECEIVER_DISTANCE_M: f64 = 1e-3;

/// Largest number of image sources [`image_sources`] will return (≈ 0.5 GB of `ImageSource`s);
/// more is an error asking for a lower order or a delay limit.
pub const MAX_IMAGE_SOURCES: usize = 4_000_000;

/// Upper end of the Schroeder decay range used by [`t30_s`], dB.
pub const T30_START_DB: f64 = -5.0;
/// Lower end of the Schroeder decay range used by [`t30_s`], dB.
pub const T30_END_DB: f64 = -35.0;

/// Formula relating wall absorption to reverberation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rt60Formula {
    /// Sabine: `T = 0.161·V / Σ_i S_i α_i`.
    Sabine,
    /// Eyring: `T = 0.161·V / (−S·ln(1 − ᾱ))`, `ᾱ = Σ_i S_i α_i / S`.
    Eyring,
}

/// A shoebox room `[0, Lx] × [0, Ly] × [0, Lz]` with per-wall, per-octave-band energy absorption.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// Dimensions `[Lx, Ly, Lz]`, metres.
    pub dims_m: [f64; 3],
    /// Energy absorption coefficient `α ∈ [0, 1]` per wall (`[x_min, x_max, y_min, y_max, floor,
    /// ceiling]`) and octave band.
    pub absorption: [PerBand; NUM_WALLS],
}

fn invalid(msg: impl Into<String>) -> SimError {
    SimError::Invalid(msg.into())
}

const WALL_NAMES: [&str; NUM_WALLS] = ["x_min", "x_max", "y_min", "y_max", "floor", "ceiling"];

impl Room {
    /// A validated room: every dimension finite and `> 0`, every `α` finite and in `[0, 1]`.
    pub fn new(dims_m: [f64; 3], absorption: [PerBand; NUM_WALLS]) -> Result<Self> {
        let room = Self { dims_m, absorption };
        room.validate()?;
        Ok(room)
    }

    /// A room with the same absorption `alpha` (per band) on all six walls.
    pub fn uniform(dims_m: [f64; 3], alpha: PerBand) -> Result<Self> {
        Self::new(dims_m, [alpha; NUM_WALLS])
    }

    /// A room with uniform absorption chosen per band so that `formula` gives `rt60_s`:
    /// Sabine `α = 0.161·V/(S·T)`, Eyring `α = 1 − exp(−0.161·V/(S·T))`.
    ///
    /// Errors (naming the band) when a target is not finite and positive, or is unreachable
    /// (Sabine needs `α > 1` when `T < 0.161·V/S`).
    pub fn from_rt60(dims_m: [f64; 3], rt60_s: PerBand, formula: Rt60Formula) -> Result<Self> {
        validate_dims(dims_m)?;
        let probe = Self {
            dims_m,
            absorption: [[0.0; NUM_BANDS]; NUM_WALLS],
        };
        let v = probe.volume_m3();
        let s = probe.surface_m2();
        let mut alpha = [0.0; NUM_BANDS];
        for (b, (a, &t)) in alpha.iter_mut().zip(&rt60_s).enumerate() {
            let f = BAND_CENTRES_HZ[b];
            if !(t.is_finite() && t > 0.0) {
                return Err(invalid(format!(
                    "RT60 target of the {f} Hz band must be finite and > 0 s, got {t}"
                )));
            }
            let x = SABINE_CONSTANT_S_PER_M * v / (s * t);
            *a = match formula {
                Rt60Formula::Sabine => {
                    if x > 1.0 {
                        return Err(invalid(format!(
                            "RT60 target {t} s of the {f} Hz band is unreachable with Sabine's formula in a \
                             {:?} m room (shortest is 0.161·V/S = {:.4} s, alpha would be {x:.3} > 1)",
                            dims_m,
                            SABINE_CONSTANT_S_PER_M * v / s
                        )));
                    }
                    x
                }
                Rt60Formula::Eyring => -(-x).exp_m1(),
            };
        }
        Self::uniform(dims_m, alpha)
    }

    /// Checks the invariants of [`Room::new`] (the fields are public).
    pub fn validate(&self) -> Result<()> {
        validate_dims(self.dims_m)?;
        for (w, row) in self.absorption.iter().enumerate() {
            for (b, &a) in row.iter().enumerate() {
                if !(a.is_finite() && (0.0..=1.0).contains(&a)) {
                    return Err(invalid(format!(
                        "absorption of wall {} in the {} Hz band must be in [0, 1], got {a}",
                        WALL_NAMES[w], BAND_CENTRES_HZ[b]
                    )));
                }
            }
        }
        Ok(())
    }

    /// Volume `Lx·Ly·Lz`, m³.
    pub fn volume_m3(&self) -> f64 {
        self.dims_m[0] * self.dims_m[1] * self.dims_m[2]
    }

    /// Total surface `2(LxLy + LxLz + LyLz)`, m².
    pub fn surface_m2(&self) -> f64 {
        self.wall_areas_m2().iter().sum()
    }

    /// Wall areas in wall order (`[x_min, x_max, y_min, y_max, floor, ceiling]`), m².
    pub fn wall_areas_m2(&self) -> [f64; NUM_WALLS] {
        let [lx, ly, lz] = self.dims_m;
        [ly * lz, ly * lz, lx * lz, lx * lz, lx * ly, lx * ly]
    }

    /// Surface-weighted mean absorption `ᾱ_b = Σ_i S_i α_{i,b} / S` per band.
    pub fn mean_absorption(&self) -> PerBand {
        let areas = self.wall_areas_m2();
        let s: f64 = areas.iter().sum();
        let mut out = [0.0; NUM_BANDS];
        for (w, row) in self.absorption.iter().enumerate() {
            for (o, &a) in out.iter_mut().zip(row) {
                *o += areas[w] * a;
            }
        }
        out.map(|v| v / s)
    }

    /// Pressure reflection coefficients `β = √(1 − α)` per wall and band.
    pub fn reflection_coefficients(&self) -> [PerBand; NUM_WALLS] {
        self.absorption
            .map(|row| row.map(|a| (1.0 - a).max(0.0).sqrt()))
    }

    /// Reverberation time per band, seconds: Sabine `0.161·V/Σ S_i α_i` or Eyring
    /// `0.161·V/(−S·ln(1 − ᾱ))`. A band without absorption gives `+∞`; Eyring with `ᾱ = 1` gives 0.
    pub fn rt60_s(&self, formula: Rt60Formula) -> PerBand {
        let v = self.volume_m3();
        let s = self.surface_m2();
        self.mean_absorption().map(|a| {
            let denom = match formula {
                Rt60Formula::Sabine => s * a,
                Rt60Formula::Eyring => -s * (-a).ln_1p(),
            };
            if denom > 0.0 {
                SABINE_CONSTANT_S_PER_M * v / denom
            } else {
                f64::INFINITY
            }
        })
    }

    /// Whether `p` (metres) is inside the room or on its boundary (all coordinates finite).
    pub fn contains(&self, p: [f64; 3]) -> bool {
        p.iter()
            .zip(&self.dims_m)
            .all(|(&x, &l)| x.is_finite() && (0.0..=l).contains(&x))
    }
}

fn validate_dims(dims_m: [f64; 3]) -> Result<()> {
    if dims_m.iter().all(|d| d.is_finite() && *d > 0.0) {
        Ok(())
    } else {
        Err(invalid(format!(
            "room dimensions must be finite and > 0 m, got {dims_m:?}"
        )))
    }
}

/// One image source of the image-source method.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSource {
    /// Image position in the room frame, metres.
    pub position_m: [f64; 3],
    /// Reflection order `|i| + |j| + |k|` (0 = direct path).
    pub order: usize,
    /// Distance image → receiver, metres.
    pub distance_m: f64,
    /// Propagation delay `distance_m / c`, seconds.
    pub delay_s: f64,
    /// Per-band amplitude: `Π_{wall hits} √(1 − α_{w,b}) / distance_m` (`1/r` relative to 1 m).
    pub band_gains: PerBand,
    /// Direction from the receiver toward the image, room frame (direction of arrival).
    pub direction: Direction,
    /// Signed lattice index `[i, j, k]` (reflections per axis, sign = side of the first-hit wall
    /// pair; pyroomacoustics' `orders_xyz`). See the module docs.
    pub lattice_index: [i64; 3],
}

/// Number of image sources of order `≤ n` in a shoebox: `(2n + 1)(2n² + 2n + 3)/3` (lattice points
/// with `|i| + |j| + |k| ≤ n`), saturating at `u128::MAX` (never reached for `usize` orders).
pub fn image_count_up_to_order(n: usize) -> u128 {
    let n = n as u128;
    (2 * n + 1).saturating_mul((2 * n).saturating_mul(n).saturating_add(2 * n + 3)) / 3
}

/// Per-axis tables of image coordinates and reflection factors for lattice indices `-lim ..= lim`.
struct AxisTable {
    lim: i64,
    /// `coord[i + lim] − receiver`.
    delta: Vec<f64>,
    /// Per-band product of reflection coefficients of the two walls of this axis.
    gain: Vec<PerBand>,
}

impl AxisTable {
    fn new(len_m: f64, src: f64, rcv: f64, lim: i64, beta_lo: &PerBand, beta_hi: &PerBand) -> Self {
        let n = (2 * lim + 1) as usize;
        let mut delta = Vec::with_capacity(n);
        let mut gain = Vec::with_capacity(n);
        for i in -lim..=lim {
            let base = i as f64 * len_m;
            let x = if i.rem_euclid(2) == 0 {
                base + src
            } else {
                base + len_m - src
            };
            delta.push(x - rcv);
            let a = i.unsigned_abs();
            let (hits_hi, hits_lo) = if i >= 0 {
                (a.div_ceil(2), a / 2)
            } else {
                (a / 2, a.div_ceil(2))
            };
            let mut g = [1.0; NUM_BANDS];
            for (b, gb) in g.iter_mut().enumerate() {
                *gb = powu(beta_hi[b], hits_hi) * powu(beta_lo[b], hits_lo);
            }
            gain.push(g);
        }
        Self { lim, delta, gain }
    }
    #[inline]
    fn at(&self, i: i64) -> usize {
        (i + self.lim) as usize
    }
}

fn powu(x: f64, n: u64) -> f64 {
    // Exponentiation by squaring; `powi` takes an i32 and orders here can exceed it in principle.
    let (mut r, mut b, mut e) = (1.0, x, n);
    while e > 0 {
        if e & 1 == 1 {
            r *= b;
        }
        b *= b;
        e >>= 1;
    }
    r
}

/// All image sources of reflection order `≤ max_order` (and, when `max_delay_s` is given, with
/// propagation delay `≤ max_delay_s`) for an omnidirectional `source_m` and `receiver_m` in `room`,
/// speed of sound `speed_m_s`; sorted by delay (ties by order), the direct path first.
///
/// Enumerates the Allen & Berkley lattice (module docs) directly — no recursion — pruning each axis
/// to `|i| ≤ c·max_delay/L + 1` (since `|x_i − x_r| ≥ (|i| − 1)·L`) and each partial sum of squared
/// distances against `(c·max_delay)²`, so the cost is proportional to the images kept.
///
/// Errors: invalid room, source or receiver outside the room (boundary allowed) or closer than
/// [`MIN_SOURCE_RECEIVER_DISTANCE_M`], non-finite / non-positive speed, negative or non-finite
/// `max_delay_s`, more than [`MAX_IMAGE_SOURCES`] images.
///
/// # References
/// J. B. Allen, D. A. Berkley, J. Acoust. Soc. Am. 65(4), 943–950, 1979.
pub fn image_sources(
    room: &Room,
    source_m: [f64; 3],
    receiver_m: [f64; 3],
    max_order: usize,
    max_delay_s: Option<f64>,
    speed_m_s: f64,
) -> Result<Vec<ImageSource>> {
    room.validate()?;
    if !room.contains(source_m) {
        return Err(invalid(format!(
            "source {source_m:?} m is outside the room {:?} m",
            room.dims_m
        )));
    }
    if !room.contains(receiver_m) {
        return Err(invalid(format!(
            "receiver {receiver_m:?} m is outside the room {:?} m",
            room.dims_m
        )));
    }
    if !(speed_m_s.is_finite() && speed_m_s > 0.0) {
        return Err(invalid(format!(
            "speed of sound must be finite and > 0 m/s, got {speed_m_s}"
        )));
    }
    if let Some(t) = max_delay_s {
        if !(t.is_finite() && t >= 0.0) {
            return Err(invalid(format!(
                "max_delay_s must be finite and >= 0 s, got {t}"
            )));
        }
    }
    let direct = dist3(source_m, receiver_m);
    if direct < MIN_SOURCE_RECEIVER_DISTANCE_M {
        return Err(invalid(format!(
            "source and receiver are {direct} m apart (minimum {MIN_SOURCE_RECEIVER_DISTANCE_M} m)"
        )));
    }
    let d_max = max_delay_s.map_or(f64::INFINITY, |t| t * speed_m_s);
    // Squared-distance pruning bound with a relative margin; the exact test is on the delay below.
    let d2_max = if d_max.is_finite() {
        (d_max * (1.0 + 1e-9)).powi(2)
    } else {
        f64::INFINITY
    };

    // Order cap that fits in i64 and in the lattice bound.
    let n_cap = i64::try_from(max_order).unwrap_or(i64::MAX);
    let mut lims = [0i64; 3];
    for (l, &len) in lims.iter_mut().zip(&room.dims_m) {
        let by_delay = if d_max.is_finite() {
            (d_max / len).floor() + 1.0
        } else {
            f64::INFINITY
        };
        *l = if by_delay < n_cap as f64 {
            by_delay as i64
        } else {
            n_cap
        };
    }
    // Upper bound of the count (lattice points in the order ball and, when limited, in the box).
    let count_bound = {
        let by_order = image_count_up_to_order(max_order);
        let by_box: u128 = lims.iter().map(|&l| (2 * l as u128) + 1).product();
        by_order.min(by_box)
    };
    if max_delay_s.is_none() && count_bound > MAX_IMAGE_SOURCES as u128 {
        return Err(invalid(format!(
            "max_order {max_order} gives {count_bound} image sources (limit {MAX_IMAGE_SOURCES}); \
             lower the order or give max_delay_s"
        )));
    }
    if lims.iter().any(|&l| l > 1 << 24) {
        return Err(invalid(format!(
            "image lattice of ±{lims:?} per axis is too large (limit {MAX_IMAGE_SOURCES} images)"
        )));
    }

    let beta = room.reflection_coefficients();
    let ax = AxisTable::new(
        room.dims_m[0],
        source_m[0],
        receiver_m[0],
        lims[0],
        &beta[0],
        &beta[1],
    );
    let ay = AxisTable::new(
        room.dims_m[1],
        source_m[1],
        receiver_m[1],
        lims[1],
        &beta[2],
        &beta[3],
    );
    let az = AxisTable::new(
        room.dims_m[2],
        source_m[2],
        receiver_m[2],
        lims[2],
        &beta[4],
        &beta[5],
    );

    let reserve = usize::try_from(count_bound)
        .unwrap_or(MAX_IMAGE_SOURCES)
        .min(MAX_IMAGE_SOURCES);
    let mut out: Vec<ImageSource> = Vec::with_capacity(reserve.min(1 << 20));
    let inv_c = 1.0 / speed_m_s;
    for i in -ax.lim..=ax.lim {
        let ia = ax.at(i);
        let dx = ax.delta[ia];
        let dx2 = dx * dx;
        if dx2 > d2_max {
            continue;
        }
        let rem_i = n_cap - i.abs();
        let jl = ay.lim.min(rem_i);
        for j in -jl..=jl {
            let ja = ay.at(j);
            let dy = ay.delta[ja];
            let dxy2 = dx2 + dy * dy;
            if dxy2 > d2_max {
                continue;
            }
            let rem_j = rem_i - j.abs();
            let kl = az.lim.min(rem_j);
            let gxy: PerBand = std::array::from_fn(|b| ax.gain[ia][b] * ay.gain[ja][b]);
            for k in -kl..=kl {
                let ka = az.at(k);
                let dz = az.delta[ka];
                let d2 = dxy2 + dz * dz;
                if d2 > d2_max {
                    continue;
                }
                let d = d2.sqrt();
                let delay = d * inv_c;
                if let Some(t) = max_delay_s {
                    if delay > t {
                        continue;
                    }
                }
                if out.len() >= MAX_IMAGE_SOURCES {
                    return Err(invalid(format!(
                        "more than {MAX_IMAGE_SOURCES} image sources; lower max_order or max_delay_s"
                    )));
                }
                let inv_d = 1.0 / d;
                let gz = &az.gain[ka];
                out.push(ImageSource {
                    position_m: [dx + receiver_m[0], dy + receiver_m[1], dz + receiver_m[2]],
                    order: (i.unsigned_abs() + j.unsigned_abs() + k.unsigned_abs()) as usize,
                    distance_m: d,
                    delay_s: delay,
                    band_gains: std::array::from_fn(|b| gxy[b] * gz[b] * inv_d),
                    direction: Direction::from_cartesian([dx, dy, dz]),
                    lattice_index: [i, j, k],
                });
            }
        }
    }
    out.sort_unstable_by(|a, b| {
        a.delay_s
            .total_cmp(&b.delay_s)
            .then(a.order.cmp(&b.order))
            .then(a.lattice_index.cmp(&b.lattice_index))
    });
    Ok(out)
}

fn dist3(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    (x * x + y * y + z * z).sqrt()
}

/// Adds `gain · k(n − t)` for all taps of the fractional-delay kernel
/// `k(x) = ½(1 + cos(πx/H))·sinc(x)`, `|x| ≤ H = FRAC_DELAY_HALF_TAPS`, centred at `t` samples, into
/// the interleaved buffer `buf` (stride `stride`, `gains.len()` slots), where buffer row `q` is time
/// `q − pre`. Taps outside the buffer are dropped. No per-tap trigonometry: `sin(π(n − t))`
/// alternates in sign and the window's cosine is advanced by a rotation.
fn add_frac_delay(buf: &mut [f64], stride: usize, pre: usize, t: f64, gains: &[f64]) {
    use std::f64::consts::PI;
    let h = FRAC_DELAY_HALF_TAPS as f64;
    let n0 = (t - h).ceil();
    let n1 = (t + h).floor();
    let rows = buf.len() / stride;
    let x0 = n0 - t; // in [−H, −H + 1)
    let (mut s, mut c) = (PI * x0 / h).sin_cos(); // window phase
    let (sd, cd) = (PI / h).sin_cos();
    // sin(π x) for x = x0 + m alternates in sign; evaluate it from x0 + H ∈ [0, 1) so that an
    // integer delay gives exact zeros (sin(π(f − H)) = (−1)^H sin(π f)).
    let sign_h = if FRAC_DELAY_HALF_TAPS % 2 == 0 {
        1.0
    } else {
        -1.0
    };
    let mut sin_pix = sign_h * (PI * (x0 + h)).sin();
    let mut n = n0;
    while n <= n1 {
        let x = n - t;
        let q = n + pre as f64;
        if q >= 0.0 && (q as usize) < rows {
            let sinc = if x == 0.0 { 1.0 } else { sin_pix / (PI * x) };
            let v = 0.5 * (1.0 + c) * sinc;
            let row = &mut buf[q as usize * stride..q as usize * stride + gains.len()];
            for (r, g) in row.iter_mut().zip(gains) {
                *r += g * v;
            }
        }
        let c2 = c * cd - s * sd;
        s = s * cd + c * sd;
        c = c2;
        sin_pix = -sin_pix;
        n += 1.0;
    }
}

/// Omnidirectional-receiver RIR (`len` samples at `sample_rate_hz`) of a set of image sources.
///
/// Each image contributes, in band `b`, `band_gains[b] · k(n − delay_s·fs)` with the 81-tap
/// Hann-windowed-sinc fractional delay `k(x) = ½(1 + cos(πx/40))·sinc(x)` (`|x| ≤ 40`, centred on
/// the exact delay); the band signals are filtered by the [`crate::bands::octave_filterbank`]
/// (default length) with its delay compensated, and summed. The direct path is thus centred at
/// exactly `delay_s·fs` samples (no global delay; kernel taps before sample 0 are dropped, so a
/// delay shorter than 40 samples loses part of its kernel's left side).
///
/// Implementation: with crossover low-passes `L_e` the banded sum equals
/// `Y_6 + Σ_e L_e ∗ (Y_{e−1} − Y_e)` where `Y_b` is the band-`b` impulse train; a difference that is
/// zero for every image (adjacent bands with equal gains) is skipped, so band-independent gains cost
/// no filtering at all. Remaining terms use one FFT convolution each.
///
/// Returns zeros for a non-finite / non-positive `sample_rate_hz`; images with non-finite delay or
/// gains are skipped.
///
/// # References
/// R. Scheibler et al., "Pyroomacoustics", ICASSP 2018 (the same kernel, with the Hann window on
/// the integer grid instead of centred on the delay, and a global delay of 40 samples).
pub fn omni_rir(images: &[ImageSource], sample_rate_hz: f64, len: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    if len == 0 || !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return out;
    }
    let usable =
        |im: &&ImageSource| im.delay_s.is_finite() && im.band_gains.iter().all(|g| g.is_finite());
    // Slot 0: top band Y_6 (identity path); slot e (1..=6): difference g_{e−1} − g_e.
    let mut active = [false; NUM_BANDS];
    active[0] = true;
    for im in images.iter().filter(usable) {
        for (flag, pair) in active[1..].iter_mut().zip(im.band_gains.windows(2)) {
            if pair[0] != pair[1] {
                *flag = true;
            }
        }
    }
    let slots: Vec<usize> = (0..NUM_BANDS).filter(|&e| active[e]).collect();
    let stride = slots.len();
    let n_taps = bands::default_filterbank_taps(sample_rate_hz);
    let half = (n_taps - 1) / 2;
    let filtering = stride > 1;
    // Rows are times −pre … len + post − 1: the zero-phase filters look `half` samples both ways.
    let (pre, post) = if filtering { (half, half) } else { (0, 0) };
    let rows = len + pre + post;
    let mut buf = vec![0.0f64; rows * stride];
    let mut coefs = vec![0.0; stride];
    let max_t = (len + post + FRAC_DELAY_HALF_TAPS) as f64;
    for im in images.iter().filter(usable) {
        let t = im.delay_s * sample_rate_hz;
        if t > max_t || t < -((pre + FRAC_DELAY_HALF_TAPS) as f64) {
            continue;
        }
        for (c, &e) in coefs.iter_mut().zip(&slots) {
            *c = if e == 0 {
                im.band_gains[NUM_BANDS - 1]
            } else {
                im.band_gains[e - 1] - im.band_gains[e]
            };
        }
        add_frac_delay(&mut buf, stride, pre, t, &coefs);
    }
    if !filtering {
        for (o, &v) in out.iter_mut().zip(&buf) {
            *o = v as f32;
        }
        return out;
    }
    let lowpasses = bands::crossover_lowpasses(sample_rate_hz, n_taps);
    let mut acc = vec![0.0f64; len];
    // Identity (top band) path.
    for (a, row) in acc.iter_mut().zip(buf[pre * stride..].chunks_exact(stride)) {
        *a = row[0];
    }
    // Filtered difference paths: one zero-phase FFT filtering per active crossover.
    let mut sig = vec![0.0f64; rows];
    for (s_idx, &e) in slots.iter().enumerate().skip(1) {
        for (v, row) in sig.iter_mut().zip(buf.chunks_exact(stride)) {
            *v = row[s_idx];
        }
        let filtered = bands::zero_phase_filter(&sig, std::slice::from_ref(&lowpasses[e - 1]));
        if let Some(f) = filtered.first() {
            for (a, v) in acc.iter_mut().zip(&f[pre..pre + len]) {
                *a += v;
            }
        }
    }
    for (o, a) in out.iter_mut().zip(&acc) {
        *o = *a as f32;
    }
    out
}

/// Schroeder backward-integrated energy decay curve in dB re its start:
/// `L[n] = 10·log10(Σ_{m≥n} x[m]² / Σ_{m≥0} x[m]²)` (integrated up to the end of `x`, no
/// truncation compensation). Entries after the last non-zero sample are `−∞`; an all-zero or empty
/// input gives all `−∞` (never NaN for finite input).
///
/// # References
/// M. R. Schroeder, J. Acoust. Soc. Am. 37, 409–412, 1965.
pub fn schroeder_decay_db(x: &[f32]) -> Vec<f64> {
    let e = backward_energy(x.iter().map(|&v| f64::from(v)), x.len());
    let total = e.first().copied().unwrap_or(0.0);
    if total > 0.0 && total.is_finite() {
        e.iter()
            .map(|&v| {
                if v > 0.0 {
                    10.0 * (v / total).log10()
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect()
    } else {
        vec![f64::NEG_INFINITY; x.len()]
    }
}

fn backward_energy(x: impl DoubleEndedIterator<Item = f64>, len: usize) -> Vec<f64> {
    let mut e = vec![0.0; len];
    let mut acc = 0.0;
    for (slot, v) in e.iter_mut().rev().zip(x.rev()) {
        acc += v * v;
        *slot = acc;
    }
    e
}

/// Maximum fixed-point iterations of the truncation compensation in [`t30_s`].
const T30_MAX_ITERATIONS: usize = 100;

/// Reverberation time T30 (s) of `rir`, broadband (`band = None`) or in octave band `band`
/// (zero-phase [`crate::bands::band_split`] filter).
///
/// Schroeder backward integration, least-squares line through the decay curve between its first
/// crossings of −5 dB and −35 dB, `T30 = −60 / slope` (i.e. twice the 30 dB decay time).
///
/// **Integration limit.** Integrating only up to the end of a finite RIR underestimates the energy
/// still to come and bends the curve down, shortening T30 when the end is not far below −35 dB.
/// This is compensated (Lundeby et al. 1995, §3): the energy beyond the end is taken as the
/// extrapolation of the fitted exponential, `C = E_0·q/(1 − q)` with `q = 10^{(a + s·N)/10}` the
/// fitted line's level at the end `N`, added to the integral, and the fit repeated to a fixed point.
/// For an exponentially decaying RIR this removes the bias exactly; for a RIR that extends far
/// below −35 dB it changes nothing (`C → 0`). No noise-floor truncation is done: the input is
/// assumed noiseless (simulated).
///
/// Errors: invalid rate or band, non-finite samples, no energy, or a decay (after compensation)
/// that does not reach −35 dB.
///
/// # References
/// M. R. Schroeder, J. Acoust. Soc. Am. 37, 409–412, 1965. ISO 3382-2:2008 §A.
/// A. Lundeby, T. E. Vigran, H. Bietz, M. Vorländer, "Uncertainties of measurements in room
/// acoustics", Acustica 81, 344–355, 1995.
pub fn t30_s(rir: &[f32], sample_rate_hz: f64, band: Option<usize>) -> Result<f64> {
    if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return Err(invalid(format!(
            "sample rate must be finite and > 0 Hz, got {sample_rate_hz}"
        )));
    }
    if rir.iter().any(|v| !v.is_finite()) {
        return Err(invalid("RIR contains non-finite samples"));
    }
    let x: Vec<f64> = rir.iter().map(|&v| f64::from(v)).collect();
    let x = match band {
        None => x,
        Some(b) => bands::band_component(&x, sample_rate_hz, b).ok_or_else(|| {
            invalid(format!(
                "octave band index {b} out of range (0..{NUM_BANDS})"
            ))
        })?,
    };
    let e = backward_energy(x.iter().copied(), x.len());
    let e0 = e.first().copied().unwrap_or(0.0);
    if !(e0 > 0.0 && e0.is_finite()) {
        return Err(invalid("RIR has no (finite) energy"));
    }
    let n_len = e.len() as f64;
    let mut c = 0.0;
    let mut slope_db_per_sample = 0.0;
    for _ in 0..T30_MAX_ITERATIONS {
        let norm = 1.0 / (e0 + c);
        let level = |n: usize| 10.0 * ((e[n] + c) * norm).log10();
        let Some(n5) = (0..e.len()).find(|&n| level(n) <= T30_START_DB) else {
            return Err(invalid("decay never reaches -5 dB"));
        };
        let Some(n35) = (n5..e.len()).find(|&n| level(n) <= T30_END_DB) else {
            return Err(invalid(format!(
                "decay does not reach {T30_END_DB} dB within the RIR ({} samples); a longer RIR is needed",
                e.len()
            )));
        };
        // Least-squares line L(n) ≈ a + s·n over n5..=n35 (centred for accuracy).
        let m = (n35 - n5 + 1) as f64;
        let n_mean = 0.5 * (n5 + n35) as f64;
        let (mut sy, mut sxy, mut sxx) = (0.0, 0.0, 0.0);
        for n in n5..=n35 {
            let xn = n as f64 - n_mean;
            let y = level(n);
            sy += y;
            sxy += xn * y;
            sxx += xn * xn;
        }
        let y_mean = sy / m;
        if sxx <= 0.0 {
            return Err(invalid(
                "decay from -5 to -35 dB spans fewer than two samples",
            ));
        }
        let s = sxy / sxx;
        if !(s < 0.0 && s.is_finite()) {
            return Err(invalid("Schroeder decay has no negative slope"));
        }
        slope_db_per_sample = s;
        // Level of the fitted line at the end (time N), relative to the compensated start.
        let end_db = y_mean + s * (n_len - n_mean);
        let q = 10f64.powf(end_db / 10.0);
        let c_new = if q < 0.5 {
            e0 * q / (1.0 - q)
        } else {
            f64::INFINITY
        };
        if !c_new.is_finite() {
            return Err(invalid("decay too shallow for truncation compensation"));
        }
        let converged = (c_new - c).abs() <= 1e-9 * e0;
        c = c_new;
        if converged {
            break;
        }
    }
    Ok(-60.0 / (slope_db_per_sample * sample_rate_hz))
}
