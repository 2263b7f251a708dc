//! Scenes: a spec realised by a seed into concrete values ([`SceneConfig`]), rendered to every
//! receiver at once ([`render_scene`]) and written to disk ([`write_scene`]).
//!
//! Processing order: source signals (files or generators) → room impulse responses per source
//! and receiver (image sources + diffuse tail, or free-field plane waves) → sum over sources →
//! loudness normalisation of the omni mix to the target LUFS (the same gain on every output) →
//! augmentation gain → independent white sensor noise on the em32 capsules at the drawn SNR
//! (the binaural and Ambisonics references stay clean: they are targets).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sphear_core::Direction;
use sphear_core::conv::fft_convolve;
use sphear_core::signals::{click_train, exp_sweep, harmonic_complex, pink_noise, white_noise};
use sphear_core::wav::write_wav;
use sphear_hrtf::HrtfSet;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::rotation::{
    Mat3, mat3_mul, mat3_transpose, rotate_direction, rotation_from_ypr, sh_rotation_matrix,
};

use crate::audio_in::{list_audio_files, load_mono_at};
use crate::bands::{NUM_BANDS, PerBand};
use crate::receiver::Receiver;
use crate::rir::{RirConfig, room_impulse_responses};
use crate::room::{Room, Rt60Formula, t30_s};
use crate::spec::SceneSpec;
use crate::{Result, SimError};

/// Where a source signal comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignalSource {
    /// An excerpt of an audio file.
    File {
        /// The file.
        path: PathBuf,
        /// Start of the excerpt in seconds (at the scene rate).
        offset_s: f64,
    },
    /// A built-in generator.
    Builtin {
        /// `pink_noise`, `voice_like`, `clicks`, `sweep` or `white_noise`.
        generator: String,
        /// Generator seed / parameter.
        seed: u64,
    },
}

/// One realised source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceConfig {
    /// Azimuth relative to the listener, room frame (degrees).
    pub azimuth_deg: f64,
    /// Elevation relative to the listener (degrees).
    pub elevation_deg: f64,
    /// Distance to the listener (m).
    pub distance_m: f64,
    /// Position in the room (m); `None` in free field.
    pub position_m: Option<[f64; 3]>,
    /// Direction relative to the head (after head orientation and scene rotation): azimuth (deg).
    pub head_azimuth_deg: f64,
    /// Direction relative to the head: elevation (deg).
    pub head_elevation_deg: f64,
    /// Signal.
    pub signal: SignalSource,
}

/// A realised room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomConfig {
    /// Dimensions (m).
    pub dims_m: [f64; 3],
    /// Absorption per wall and octave band.
    pub absorption: [PerBand; 6],
    /// RT60 target per band (s).
    pub rt60_target_s: PerBand,
    /// Formula used for the absorption.
    pub formula: String,
    /// Image-source order limit.
    pub max_order: usize,
    /// ISM → tail transition time (s), if set.
    pub transition_s: Option<f64>,
}

/// A fully realised scene: every random choice made. Serialised into the metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneConfig {
    /// Sample rate (Hz).
    pub sample_rate_hz: u32,
    /// Length (s).
    pub duration_s: f64,
    /// Seed this was drawn with.
    pub seed: u64,
    /// Room; `None` = free field.
    pub room: Option<RoomConfig>,
    /// Listener position (m); `None` in free field.
    pub listener_position_m: Option<[f64; 3]>,
    /// Head yaw/pitch/roll (deg).
    pub head_ypr_deg: [f64; 3],
    /// Whole-scene rotation yaw/pitch/roll (deg) (augmentation; zeros when off).
    pub scene_rotation_ypr_deg: [f64; 3],
    /// Sources.
    pub sources: Vec<SourceConfig>,
    /// em32 sensor SNR (dB), if noise is added.
    pub snr_db: Option<f64>,
    /// Augmentation gain (dB).
    pub gain_db: f64,
    /// Loudness target (LUFS).
    pub loudness_lufs: f64,
    /// Outputs: em32, binaural, ambix order (0 = none), omni.
    pub outputs: (bool, bool, usize, bool),
}

const BUILTIN_GENERATORS: [&str; 4] = ["pink_noise", "voice_like", "clicks", "sweep"];

/// Draw a concrete scene from `spec` with `seed`.
///
/// # Errors
/// Invalid spec, no audio files in `signals_dir`, no valid source position after many tries.
pub fn realise(spec: &SceneSpec, seed: u64) -> Result<SceneConfig> {
    spec.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let head = [
        spec.listener.yaw_deg.sample(&mut rng),
        spec.listener.pitch_deg.sample(&mut rng),
        spec.listener.roll_deg.sample(&mut rng),
    ];
    let scene_rot = if spec.augment.rotate_scene {
        // Uniform random rotation: yaw uniform, pitch with cos-weighted density, roll uniform.
        let yaw = rng.random_range(-180.0..180.0);
        let pitch = (rng.random_range(-1.0f64..1.0)).asin().to_degrees();
        let roll = rng.random_range(-180.0..180.0);
        [yaw, pitch, roll]
    } else {
        [0.0; 3]
    };
    let head_r = rotation_from_ypr(
        head[0].to_radians(),
        head[1].to_radians(),
        head[2].to_radians(),
    );
    let scene_r = rotation_from_ypr(
        scene_rot[0].to_radians(),
        scene_rot[1].to_radians(),
        scene_rot[2].to_radians(),
    );
    let (room, listener) = if spec.room.free_field {
        (None, None)
    } else {
        let dims = [
            spec.room.dims_m[0].sample(&mut rng),
            spec.room.dims_m[1].sample(&mut rng),
            spec.room.dims_m[2].sample(&mut rng),
        ];
        let rt60 = spec.room.rt60_s.sample(&mut rng);
        let factors = spec.room.rt60_band_factors.unwrap_or([1.0; NUM_BANDS]);
        let mut target = [0.0; NUM_BANDS];
        for b in 0..NUM_BANDS {
            target[b] = rt60 * factors[b];
        }
        let formula = if spec.room.formula == "sabine" {
            Rt60Formula::Sabine
        } else {
            Rt60Formula::Eyring
        };
        let room = Room::from_rt60(dims, target, formula)?;
        let margin = spec.listener.wall_margin_m;
        let pos = match spec.listener.position_m {
            Some(p) => p,
            None => {
                let mut p = [0.0; 3];
                for (i, v) in p.iter_mut().enumerate().take(2) {
                    let lo = margin.min(dims[i] / 2.0);
                    *v = rng.random_range(lo..=(dims[i] - lo));
                }
                p[2] = spec
                    .listener
                    .height_m
                    .sample(&mut rng)
                    .clamp(0.3, dims[2] - 0.3);
                p
            }
        };
        if !room.contains(pos) {
            return Err(SimError::Invalid(format!(
                "listener position {pos:?} is outside the room {dims:?}"
            )));
        }
        let max_order = spec.room.max_order.unwrap_or(default_max_order(rt60));
        (
            Some(RoomConfig {
                dims_m: dims,
                absorption: room.absorption,
                rt60_target_s: target,
                formula: spec.room.formula.clone(),
                max_order,
                transition_s: spec.room.transition_s,
            }),
            Some(pos),
        )
    };

    // Sources.
    let files = match &spec.sources.signals_dir {
        Some(d) => Some(list_audio_files(d)?),
        None => None,
    };
    let n_src = match &spec.sources.positions {
        Some(p) => p.len(),
        None => spec.sources.count.sample(&mut rng).round().clamp(1.0, 5.0) as usize,
    };
    let mut sources: Vec<SourceConfig> = Vec::with_capacity(n_src);
    let mut tries = 0;
    while sources.len() < n_src {
        tries += 1;
        if tries > 10_000 {
            return Err(SimError::Invalid("could not place the sources inside the room (room too small for the distance range?)".into()));
        }
        let (az, el, dist) = match &spec.sources.positions {
            Some(p) => {
                let s = p[sources.len()];
                (s.azimuth_deg, s.elevation_deg, s.distance_m)
            }
            None => {
                let [a0, a1] = spec.sources.azimuth_range_deg;
                let [e0, e1] = spec.sources.elevation_range_deg;
                let [d0, d1] = spec.sources.distance_range_m;
                // Uniform on the sphere within the elevation band.
                let (s0, s1) = (e0.to_radians().sin(), e1.to_radians().sin());
                let el = rng
                    .random_range(s0.min(s1)..=s0.max(s1))
                    .asin()
                    .to_degrees();
                (rng.random_range(a0..=a1), el, rng.random_range(d0..=d1))
            }
        };
        let dir = Direction::from_deg(az, el);
        if spec.sources.positions.is_none()
            && sources.iter().any(|s| {
                Direction::from_deg(s.azimuth_deg, s.elevation_deg)
                    .angle_to(&dir)
                    .to_degrees()
                    < spec.sources.min_separation_deg
            })
        {
            continue;
        }
        let position_m = match (&room, listener) {
            (Some(rc), Some(l)) => {
                let u = dir.to_cartesian();
                let p = [l[0] + dist * u[0], l[1] + dist * u[1], l[2] + dist * u[2]];
                let inside = (0..3).all(|i| p[i] > 0.1 && p[i] < rc.dims_m[i] - 0.1);
                if !inside {
                    if spec.sources.positions.is_some() {
                        return Err(SimError::Invalid(format!(
                            "source {} at azimuth {az}°, elevation {el}°, {dist} m is outside the room",
                            sources.len() + 1
                        )));
                    }
                    continue;
                }
                Some(p)
            }
            _ => None,
        };
        // Head-relative direction: scene rotation first (it moves the world), then the head.
        let world = rotate_direction(&scene_r, &dir);
        let head_dir = rotate_direction(&mat3_transpose(&head_r), &world);
        let signal = match &files {
            Some(f) => {
                let idx = rng.random_range(0..f.len());
                SignalSource::File {
                    path: f[idx].clone(),
                    offset_s: rng.random_range(0.0..1.0),
                }
            }
            None => SignalSource::Builtin {
                generator: BUILTIN_GENERATORS[rng.random_range(0..BUILTIN_GENERATORS.len())].into(),
                seed: rng.random(),
            },
        };
        sources.push(SourceConfig {
            azimuth_deg: az,
            elevation_deg: el,
            distance_m: dist,
            position_m,
            head_azimuth_deg: head_dir.azimuth_deg_wrapped(),
            head_elevation_deg: head_dir.elevation_deg(),
            signal,
        });
    }
    let snr_db = spec.noise.snr_db.map(|s| s.sample(&mut rng));
    let gain_db = spec.augment.gain_db.sample(&mut rng);
    Ok(SceneConfig {
        sample_rate_hz: spec.sample_rate_hz,
        duration_s: spec.duration_s,
        seed,
        room,
        listener_position_m: listener,
        head_ypr_deg: head,
        scene_rotation_ypr_deg: scene_rot,
        sources,
        snr_db,
        gain_db,
        loudness_lufs: spec.output.loudness_lufs,
        outputs: (
            spec.output.em32,
            spec.output.binaural,
            spec.output.ambix_order,
            spec.output.omni,
        ),
    })
}

/// Image-source order used when the spec does not set one: enough reflections for the early
/// part, the diffuse tail does the rest.
pub fn default_max_order(_rt60_s: f64) -> usize {
    // Pruned by the transition time, so a high order costs only the images that arrive before it.
    40
}

/// Default image-source → diffuse-tail transition time (s, from the source's emission) when the
/// spec sets none: the direct sound's arrival plus `clamp(RT60/10, √V ms, 50 ms)`. Early
/// reflections are exact image sources; the late part is the stochastic tail, which decays at
/// exactly the target RT60 (a purely specular shoebox image-source decay is slower than
/// Sabine/Eyring predict, so a long image-source part would bias short RT60s).
pub fn default_transition_s(distance_m: f64, rt60_s: f64, volume_m3: f64) -> f64 {
    let mixing_s = volume_m3.sqrt() * 1e-3;
    distance_m / sphear_core::SPEED_OF_SOUND_M_S
        + (0.1 * rt60_s).clamp(mixing_s, 0.05_f64.max(mixing_s))
}

/// Rendered signals of one scene, `[channel][sample]` each.
#[derive(Debug, Clone)]
pub struct SceneOutput {
    /// The realised configuration.
    pub config: SceneConfig,
    /// em32 capsule signals (with sensor noise).
    pub em32: Option<Vec<Vec<f32>>>,
    /// Binaural reference (clean).
    pub binaural: Option<Vec<Vec<f32>>>,
    /// AmbiX reference (clean).
    pub ambix: Option<Vec<Vec<f32>>>,
    /// Omni pressure (clean).
    pub omni: Option<Vec<Vec<f32>>>,
    /// Measured T30 per octave band of the first source's omni RIR (s); `None` in free field.
    pub rt60_measured_s: Option<Vec<Option<f64>>>,
    /// Integrated loudness of the omni mix before normalisation (LUFS).
    pub loudness_before_lufs: f64,
    /// Gain applied by loudness normalisation (dB).
    pub normalisation_gain_db: f64,
}

/// Shared, expensive resources (HRTF set) reused across scenes.
#[derive(Debug, Clone)]
pub struct SceneContext {
    /// HRTF set at the scene rate.
    pub hrtf: Arc<HrtfSet>,
    /// Where it came from.
    pub hrtf_origin: String,
}

impl SceneContext {
    /// Resolve the HRTF (explicit SOFA, system default or embedded model) at `fs_hz`.
    ///
    /// # Errors
    /// The SOFA file cannot be loaded.
    pub fn new(hrtf: Option<&Path>, fs_hz: f64) -> Result<Self> {
        let r = sphear_render::hrtf_source::resolve_hrtf(hrtf, fs_hz)?;
        Ok(Self {
            hrtf: Arc::new(r.set),
            hrtf_origin: r.origin,
        })
    }
}

fn source_signal(src: &SourceConfig, fs: f64, len: usize) -> Result<Vec<f32>> {
    let mut x = match &src.signal {
        SignalSource::File { path, offset_s } => {
            let y = load_mono_at(path, fs)?;
            let off = (offset_s * fs) as usize;
            let mut v: Vec<f32> = if y.len() > off + len {
                y[off..off + len].to_vec()
            } else {
                y
            };
            // Loop short files to fill the scene.
            if !v.is_empty() {
                while v.len() < len {
                    let n = (len - v.len()).min(v.len());
                    let head: Vec<f32> = v[..n].to_vec();
                    v.extend_from_slice(&head);
                }
            }
            v.truncate(len);
            v
        }
        SignalSource::Builtin { generator, seed } => match generator.as_str() {
            "pink_noise" => pink_noise(len, 0.1, *seed),
            "voice_like" => harmonic_complex(len, fs, 100.0 + (*seed % 150) as f64, 0.1),
            "clicks" => click_train(len, fs, 0.2 + (*seed % 5) as f64 * 0.05, 0.5),
            "sweep" => exp_sweep(len, fs, 50.0, 0.45 * fs, 0.1),
            _ => white_noise(len, 0.1, *seed),
        },
    };
    x.resize(len, 0.0);
    Ok(x)
}

fn add_convolved(acc: &mut [Vec<f32>], x: &[f32], irs: &[Vec<f32>]) {
    for (a, h) in acc.iter_mut().zip(irs) {
        let y = fft_convolve(x, h);
        for (s, v) in a.iter_mut().zip(y) {
            *s += v;
        }
    }
}

/// Render a realised scene.
///
/// # Errors
/// Audio file problems, invalid room.
pub fn render_scene(cfg: &SceneConfig, ctx: &SceneContext) -> Result<SceneOutput> {
    let fs = cfg.sample_rate_hz as f64;
    let len = (cfg.duration_s * fs).round() as usize;
    let head_r = rotation_from_ypr(
        cfg.head_ypr_deg[0].to_radians(),
        cfg.head_ypr_deg[1].to_radians(),
        cfg.head_ypr_deg[2].to_radians(),
    );
    let scene_r = rotation_from_ypr(
        cfg.scene_rotation_ypr_deg[0].to_radians(),
        cfg.scene_rotation_ypr_deg[1].to_radians(),
        cfg.scene_rotation_ypr_deg[2].to_radians(),
    );
    // Rotating the whole scene by S is the same as rotating every receiver by Sᵀ.
    let st = mat3_transpose(&scene_r);
    let mut em32 = ArrayGeometry::em32();
    em32.capsules = em32
        .capsules
        .iter()
        .map(|c| rotate_direction(&st, c))
        .collect();
    let orientation: Mat3 = mat3_mul(&st, &head_r);
    let (want_em32, want_bin, ambix_order, want_omni) = cfg.outputs;
    let mut receivers = vec![Receiver::Omni];
    if want_em32 {
        receivers.push(Receiver::Array(em32));
    }
    if want_bin {
        receivers.push(Receiver::Binaural {
            hrtf: ctx.hrtf.clone(),
            orientation,
        });
    }
    if ambix_order > 0 {
        receivers.push(Receiver::Ambisonic { order: ambix_order });
    }
    let mut mixes: Vec<Vec<Vec<f32>>> = receivers
        .iter()
        .map(|r| vec![vec![0.0f32; len]; r.num_channels()])
        .collect();
    let mut rt60_measured = None;
    for (si, src) in cfg.sources.iter().enumerate() {
        let x = source_signal(src, fs, len)?;
        match (&cfg.room, cfg.listener_position_m, src.position_m) {
            (Some(rc), Some(l), Some(p)) => {
                let room = Room::new(rc.dims_m, rc.absorption)?;
                let rir_len = ((rc.rt60_target_s.iter().cloned().fold(0.0, f64::max) * 1.2 + 0.05)
                    * fs) as usize;
                let rcfg = RirConfig {
                    sample_rate_hz: fs,
                    len: rir_len.max(256),
                    max_order: rc.max_order,
                    transition_s: Some(rc.transition_s.unwrap_or_else(|| {
                        let rt = rc.rt60_target_s.iter().cloned().fold(0.0, f64::max);
                        default_transition_s(src.distance_m, rt, room.volume_m3())
                    })),
                    tail: true,
                    formula: if rc.formula == "sabine" {
                        Rt60Formula::Sabine
                    } else {
                        Rt60Formula::Eyring
                    },
                    speed_m_s: sphear_core::SPEED_OF_SOUND_M_S,
                    seed: cfg.seed ^ (si as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    joint_tail: true,
                };
                let rirs = room_impulse_responses(&room, p, l, &receivers, &rcfg)?;
                if si == 0 {
                    let omni = &rirs[0][0];
                    rt60_measured = Some(
                        (0..NUM_BANDS)
                            .map(|b| t30_s(omni, fs, Some(b)).ok())
                            .collect(),
                    );
                }
                for (mix, irs) in mixes.iter_mut().zip(&rirs) {
                    add_convolved(mix, &x, irs);
                }
            }
            _ => {
                // Free field: a plane wave from the source direction, 1/r and r/c.
                let dir = Direction::from_deg(src.azimuth_deg, src.elevation_deg);
                let delay = src.distance_m / sphear_core::SPEED_OF_SOUND_M_S * fs;
                // Long enough for the longest receiver response (a measured HRIR can be longer
                // than 512 taps at 48 kHz, e.g. MIT KEMAR's 512 taps at 44.1 kHz become 558).
                let tail = receivers
                    .iter()
                    .map(|r| match r {
                        Receiver::Binaural { hrtf, .. } => {
                            hrtf.ir_len() + 2 * crate::receiver::FRAC_DELAY_HALF_TAPS + 1
                        }
                        _ => 0,
                    })
                    .fold(512, usize::max);
                let ir_len = delay.ceil() as usize + tail;
                for (mix, r) in mixes.iter_mut().zip(&receivers) {
                    let mut irs = r.plane_wave_ir(&dir, fs, ir_len, delay);
                    for ch in irs.iter_mut() {
                        ch.iter_mut()
                            .for_each(|v| *v /= src.distance_m.max(1e-3) as f32);
                    }
                    add_convolved(mix, &x, &irs);
                }
            }
        }
    }
    // Ambisonics of a rotated scene: rotate the coefficients by S.
    if ambix_order > 0 && cfg.scene_rotation_ypr_deg != [0.0; 3] {
        let idx = receivers
            .iter()
            .position(|r| matches!(r, Receiver::Ambisonic { .. }))
            .unwrap_or(0);
        let m = sh_rotation_matrix(ambix_order, &scene_r);
        let a = &mixes[idx];
        let rotated: Vec<Vec<f32>> = (0..a.len())
            .map(|i| {
                let mut out = vec![0.0f32; len];
                for (j, ch) in a.iter().enumerate() {
                    let g = m[(i, j)] as f32;
                    if g != 0.0 {
                        for (o, v) in out.iter_mut().zip(ch) {
                            *o += g * v;
                        }
                    }
                }
                out
            })
            .collect();
        mixes[idx] = rotated;
    }
    // Loudness normalisation on the omni mix, then the augmentation gain.
    let loudness = integrated_loudness_lufs(&mixes[0][0], fs)?;
    let norm_db = cfg.loudness_lufs - loudness;
    let g = 10f64.powf((norm_db + cfg.gain_db) / 20.0) as f32;
    for mix in mixes.iter_mut() {
        for ch in mix.iter_mut() {
            ch.iter_mut().for_each(|v| *v *= g);
        }
    }
    let mut it = receivers.iter().zip(mixes);
    let mut out = SceneOutput {
        config: cfg.clone(),
        em32: None,
        binaural: None,
        ambix: None,
        omni: None,
        rt60_measured_s: rt60_measured,
        loudness_before_lufs: loudness,
        normalisation_gain_db: norm_db,
    };
    for (r, mut mix) in it.by_ref() {
        match r {
            Receiver::Omni => {
                if want_omni {
                    out.omni = Some(mix);
                }
            }
            Receiver::Array(_) => {
                if let Some(snr) = cfg.snr_db {
                    add_sensor_noise(&mut mix, snr, cfg.seed ^ 0x005E_ED0F_5E45);
                }
                out.em32 = Some(mix);
            }
            Receiver::Binaural { .. } => out.binaural = Some(mix),
            Receiver::Ambisonic { .. } => out.ambix = Some(mix),
        }
    }
    Ok(out)
}

/// Independent white noise on every channel at `snr_db` below the mean channel power.
pub fn add_sensor_noise(x: &mut [Vec<f32>], snr_db: f64, seed: u64) {
    let n = x.iter().map(|c| c.len()).sum::<usize>().max(1);
    let p = x.iter().flatten().map(|v| (*v as f64).powi(2)).sum::<f64>() / n as f64;
    if p <= 0.0 {
        return;
    }
    // Uniform noise on [-a, a) has power a²/3.
    let a = (3.0 * p / 10f64.powf(snr_db / 10.0)).sqrt();
    for (c, ch) in x.iter_mut().enumerate() {
        let noise = white_noise(ch.len(), a, seed.wrapping_add(c as u64 * 7919));
        for (v, w) in ch.iter_mut().zip(noise) {
            *v += w;
        }
    }
}

/// Integrated loudness (ITU-R BS.1770-4, gated) of a mono signal in LUFS.
///
/// # Errors
/// Silent signal (loudness undefined).
pub fn integrated_loudness_lufs(x: &[f32], fs: f64) -> Result<f64> {
    let mut m = ebur128::EbuR128::new(1, fs as u32, ebur128::Mode::I)
        .map_err(|e| SimError::Invalid(format!("loudness meter: {e:?}")))?;
    m.add_frames_f32(x)
        .map_err(|e| SimError::Invalid(format!("loudness meter: {e:?}")))?;
    let l = m
        .loudness_global()
        .map_err(|e| SimError::Invalid(format!("loudness: {e:?}")))?;
    if !l.is_finite() {
        return Err(SimError::Invalid(
            "scene is silent: loudness undefined".into(),
        ));
    }
    Ok(l)
}

/// Write a rendered scene to `dir`: `em32.wav`, `binaural.wav`, `ambix.wav`, `omni.wav` (those
/// produced) and `meta.json` (written last, so its presence marks a complete item).
///
/// # Errors
/// I/O.
pub fn write_scene(dir: &Path, out: &SceneOutput, extra: serde_json::Value) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| SimError::File {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let fs = out.config.sample_rate_hz;
    let mut files = Vec::new();
    for (name, data) in [
        ("em32.wav", &out.em32),
        ("binaural.wav", &out.binaural),
        ("ambix.wav", &out.ambix),
        ("omni.wav", &out.omni),
    ] {
        if let Some(d) = data {
            write_wav(&dir.join(name), fs, d)?;
            files.push(name);
        }
    }
    let meta = serde_json::json!({
        "format": "sphear-scene-v1",
        "files": files,
        "conventions": {
            "em32": "32 capsule signals, em32 channel order (capsules 1..32), analytic rigid-sphere model",
            "binaural": "left, right; reference rendered with HRIRs of the head-relative directions",
            "ambix": "ACN/SN3D ideal plane-wave encoding",
            "directions": "azimuth counter-clockwise from +x (room frame) / from the nose (head frame), elevation up, degrees",
        },
        "scene": out.config,
        "rt60_measured_t30_s_per_octave_125_to_8k": out.rt60_measured_s,
        "loudness_before_normalisation_lufs": out.loudness_before_lufs,
        "normalisation_gain_db": out.normalisation_gain_db,
        "extra": extra,
    });
    let text = serde_json::to_string_pretty(&meta).map_err(|e| SimError::Invalid(e.to_string()))?;
    let tmp = dir.join(".meta.json.tmp");
    std::fs::write(&tmp, text).map_err(|e| SimError::File {
        path: tmp.display().to_string(),
        reason: e.to_string(),
    })?;
    std::fs::rename(&tmp, dir.join("meta.json")).map_err(|e| SimError::File {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(())
}
