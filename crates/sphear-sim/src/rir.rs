//! Room impulse responses for several receivers: image sources up to a transition time, then a
//! diffuse tail with the receiver's spatial coherence ([`crate::tail`]).
//!
//! The early part is [`Receiver::render_images_with_speed`] over the images of
//! [`crate::room::image_sources`] that arrive up to the transition; the late part is
//! [`diffuse_tail`] with a [`TailSpec`] from [`tail_spec_from_images`] (energy that continues the
//! image-source decay at the transition, RT60 from the room's formula). Without a tail, images up
//! to the end of the response (`len / fs`) are rendered.
//!
//! # References
//! * J. B. Allen, D. A. Berkley, "Image method for efficiently simulating small-room acoustics",
//!   JASA 65(4), 1979.
//! * A. Lindau, L. Kosanke, S. Weinzierl, "Perceptual evaluation of model- and signal-based
//!   predictors of the mixing time in binaural room impulse responses", JAES 60(11), 2012
//!   (mixing time ≈ √V ms).

use crate::receiver::Receiver;
use crate::room::{Room, Rt60Formula, image_sources};
use crate::tail::{TailSpec, diffuse_tail, joint_diffuse_tail, room_volume, tail_spec_from_images};
use crate::{Result, SimError};

/// Relative tolerance between a binaural receiver's HRTF rate and the rendering rate.
pub const RATE_REL_TOL: f64 = 1e-9;

/// Settings of [`room_impulse_responses`].
#[derive(Debug, Clone, PartialEq)]
pub struct RirConfig {
    /// Sample rate (Hz).
    pub sample_rate_hz: f64,
    /// Length of every response (samples).
    pub len: usize,
    /// Maximum image-source reflection order.
    pub max_order: usize,
    /// Image sources up to this time (s), diffuse tail after; `None`: [`default_transition_s`].
    /// Ignored without a tail.
    pub transition_s: Option<f64>,
    /// Add the diffuse tail.
    pub tail: bool,
    /// RT60 formula of the tail.
    pub formula: Rt60Formula,
    /// Speed of sound (m/s).
    pub speed_m_s: f64,
    /// Seed of the tail noise (receiver `i` uses `seed + i` when the tails are independent).
    pub seed: u64,
    /// One diffuse tail for all receivers ([`crate::tail::joint_diffuse_tail`]: the receivers
    /// are co-located, so they hear the same late field) instead of an independent realisation
    /// per receiver. Default `true`. Independent tails make a binaural reference whose late
    /// reverberation no renderer of the array signals can reproduce.
    pub joint_tail: bool,
}

impl RirConfig {
    /// Defaults for `sample_rate_hz` and `len`: max order 20, automatic transition, tail on,
    /// Eyring, [`sphear_core::SPEED_OF_SOUND_M_S`], seed 0.
    pub fn new(sample_rate_hz: f64, len: usize) -> Self {
        Self {
            sample_rate_hz,
            len,
            max_order: 20,
            transition_s: None,
            tail: true,
            formula: Rt60Formula::Eyring,
            speed_m_s: sphear_core::SPEED_OF_SOUND_M_S,
            seed: 0,
            joint_tail: true,
        }
    }
}

/// Lower bound (s) of the arrival time of any image of order `> max_order` in a shoebox with
/// smallest dimension `l_min`: `q` reflections on one axis displace the image by at least
/// `(q − 1)·L` along it, and `K+1` reflections over 3 axes give at least
/// `d ≥ √3 · ((K+1)/3 − 1) · l_min`. Images are therefore complete up to `d / c`.
pub fn ism_reach_s(dims_m: [f64; 3], max_order: usize, speed_m_s: f64) -> f64 {
    let l_min = dims_m.iter().copied().fold(f64::INFINITY, f64::min);
    let q = (max_order as f64 + 1.0) / 3.0 - 1.0;
    (3f64.sqrt() * q.max(0.0) * l_min / speed_m_s).max(0.0)
}

/// Default transition time (s): the direct sound's arrival plus the mixing time `√V` ms
/// (Lindau et al. 2012; V in m³, measured from the direct sound), but not later than
/// [`ism_reach_s`] (where the image set stops being complete), and at least 5 ms after the
/// direct sound.
pub fn default_transition_s(
    room: &Room,
    source_m: [f64; 3],
    receiver_m: [f64; 3],
    max_order: usize,
    speed_m_s: f64,
) -> f64 {
    let d = (0..3)
        .map(|i| (source_m[i] - receiver_m[i]).powi(2))
        .sum::<f64>()
        .sqrt();
    let direct = d / speed_m_s;
    let mixing = room_volume(room).sqrt() * 1e-3;
    (direct + mixing)
        .min(ism_reach_s(room_dims(room), max_order, speed_m_s))
        .max(direct + 0.005)
}

/// One `[ch][len]` room impulse response set per receiver, for a source at `source_m` and the
/// receivers' centre at `receiver_m` (room frame, metres). Amplitudes: 1/r relative to 1 m (the
/// direct sound of a source 1 m away has unit amplitude at the omni).
///
/// Early part: images of order ≤ `max_order` arriving up to the transition (or up to `len/fs`
/// without a tail). Late part: a diffuse tail per receiver, spliced at the transition, with
/// energy that continues the images' band energies (see [`tail_spec_from_images`]). With
/// `cfg.joint_tail` (default) all receivers hear one diffuse field
/// ([`crate::tail::joint_diffuse_tail`], seed `cfg.seed`); otherwise receiver `i` gets an
/// independent realisation with the seed `cfg.seed + i`.
///
/// # Errors
/// Invalid configuration (rate, length, speed, transition), binaural receivers whose HRTF set is
/// not at `cfg.sample_rate_hz`, and errors of [`image_sources`].
pub fn room_impulse_responses(
    room: &Room,
    source_m: [f64; 3],
    receiver_m: [f64; 3],
    receivers: &[Receiver],
    cfg: &RirConfig,
) -> Result<Vec<Vec<Vec<f32>>>> {
    let fs = cfg.sample_rate_hz;
    if !(fs.is_finite() && fs > 0.0) {
        return Err(SimError::Invalid(format!(
            "sample rate must be positive, got {fs} Hz"
        )));
    }
    if !(cfg.speed_m_s.is_finite() && cfg.speed_m_s > 0.0) {
        return Err(SimError::Invalid(format!(
            "speed of sound must be positive, got {} m/s",
            cfg.speed_m_s
        )));
    }
    if cfg.len == 0 {
        return Err(SimError::Invalid(
            "RIR length must be at least 1 sample".into(),
        ));
    }
    for r in receivers {
        if let Receiver::Binaural { hrtf, .. } = r {
            let h = hrtf.sample_rate_hz();
            if ((h - fs) / fs).abs() > RATE_REL_TOL {
                return Err(SimError::Invalid(format!(
                    "binaural receiver: HRTF set is at {h} Hz, RIRs at {fs} Hz (resample the set first)"
                )));
            }
        }
    }
    let end_s = cfg.len as f64 / fs;
    let transition = if cfg.tail {
        let t = match cfg.transition_s {
            Some(t) => t,
            None => default_transition_s(room, source_m, receiver_m, cfg.max_order, cfg.speed_m_s),
        };
        if !(t.is_finite() && t > 0.0) {
            return Err(SimError::Invalid(format!(
                "transition time must be positive, got {t} s"
            )));
        }
        Some(t)
    } else {
        None
    };
    let max_delay = transition.unwrap_or(end_s).min(end_s);
    let images = image_sources(
        room,
        source_m,
        receiver_m,
        cfg.max_order,
        Some(max_delay),
        cfg.speed_m_s,
    )?;
    let spec =
        transition.map(|t| tail_spec_from_images(&images, room, cfg.formula, t, fs, cfg.seed));
    let joint = match &spec {
        Some(s) if cfg.joint_tail && receivers.len() > 1 => {
            Some(joint_diffuse_tail(receivers, s, fs, cfg.len))
        }
        _ => None,
    };
    let mut joint = joint.map(Vec::into_iter);
    let mut out = Vec::with_capacity(receivers.len());
    for (i, r) in receivers.iter().enumerate() {
        let mut irs = r.render_images_with_speed(&images, fs, cfg.len, cfg.speed_m_s);
        if let Some(s) = &spec {
            let tail = match joint.as_mut().and_then(Iterator::next) {
                Some(t) => t,
                None => {
                    let s = TailSpec {
                        seed: s.seed.wrapping_add(i as u64),
                        ..s.clone()
                    };
                    diffuse_tail(r, &s, fs, cfg.len)
                }
            };
            for (ch, t) in irs.iter_mut().zip(tail) {
                for (a, b) in ch.iter_mut().zip(t) {
                    *a += b;
                }
            }
        }
        out.push(irs);
    }
    Ok(out)
}

/// Room dimensions through the room API.
fn room_dims(room: &Room) -> [f64; 3] {
    room.dims_m
}
