//! Scene suites: the named, seeded `bench-v1` and existing dataset folders.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sphear_core::wav::read_wav;
use sphear_sim::dataset::{TEST_SPLIT_SEED, item_seed, list_items};
use sphear_sim::scene::{SceneConfig, SceneContext, realise, render_scene};
use sphear_sim::spec::{Num, SceneSpec};

use crate::error::file_err;
use crate::{HarnessError, Result};

/// RT60 values of `bench-v1` (s).
pub const BENCH_V1_RT60_S: [f64; 4] = [0.2, 0.5, 1.2, 2.0];
/// Source counts of `bench-v1`.
pub const BENCH_V1_SOURCES: [usize; 4] = [1, 2, 3, 5];
/// Sensor SNRs of `bench-v1` (dB).
pub const BENCH_V1_SNR_DB: [f64; 2] = [30.0, 10.0];
/// Scenes (independent draws of room, positions and directions) per RT60 × sources × SNR cell.
pub const BENCH_V1_DRAWS: usize = 3;
/// Scene length of the full suite (s).
pub const BENCH_V1_DURATION_S: f64 = 2.0;
/// Scene length of the `--quick` suite (s).
pub const BENCH_V1_QUICK_DURATION_S: f64 = 1.0;

/// Metadata of one scene that rows carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneMeta {
    /// Scene identifier (`bench-v1/0007` or the dataset item folder name).
    pub id: String,
    /// RT60 target (s), mean over octave bands; 0 in free field.
    pub rt60_s: f64,
    /// Measured T30 at 1 kHz of the first source's omni RIR (s), if any.
    pub t30_1k_s: Option<f64>,
    /// Number of sources.
    pub sources: usize,
    /// Sensor SNR (dB); `None` = no noise.
    pub snr_db: Option<f64>,
    /// Head-relative source azimuths (deg).
    pub azimuths_deg: Vec<f64>,
    /// Head-relative source elevations (deg).
    pub elevations_deg: Vec<f64>,
    /// Sample rate (Hz).
    pub sample_rate_hz: f64,
}

/// One scene: array capsule signals (em32 order) and the binaural reference.
#[derive(Debug, Clone)]
pub struct Scene {
    /// Metadata.
    pub meta: SceneMeta,
    /// em32 capsule signals `[32][n]` (with sensor noise).
    pub em32: Vec<Vec<f32>>,
    /// Binaural reference `[2][n]` (clean).
    pub binaural: Vec<Vec<f32>>,
}

/// Where scenes come from.
#[derive(Debug, Clone)]
pub enum SceneSource {
    /// A named, seeded suite (only `bench-v1`), full size or `--quick`.
    Suite {
        /// Suite name.
        name: String,
        /// CI-sized form.
        quick: bool,
    },
    /// An existing dataset folder (layout of `sphear dataset`).
    Dir(PathBuf),
}

/// A scene still to be produced: either a spec + seed to simulate or a dataset item to read.
#[derive(Debug, Clone)]
pub enum SceneJob {
    /// Simulate `spec` with `seed`.
    Simulate {
        /// Identifier.
        id: String,
        /// Spec (every value fixed except the room, positions and signals).
        spec: Box<SceneSpec>,
        /// Seed (derived from the reserved test-split seed).
        seed: u64,
    },
    /// Read a dataset item folder.
    Item(PathBuf),
}

/// The `bench-v1` scene list: RT60 {0.2, 0.5, 1.2, 2.0} s × sources {1, 2, 3, 5} × SNR {30, 10} dB
/// × [`BENCH_V1_DRAWS`] draws, [`BENCH_V1_DURATION_S`] s each, in that nesting order; scene `i`
/// is realised with `item_seed(TEST_SPLIT_SEED, i)` (the reserved test split of
/// `sphear_sim::dataset`). Rooms: the simulator's default ranges (4–10 × 3–8 × 2.5–4 m, Eyring),
/// sources 1–3 m away, azimuth uniform, elevation −40…90°, ≥ 20° apart, built-in signals, head
/// orientation 0, no augmentation. `quick`: RT60 {0.2, 1.2} × sources {1, 3} × SNR {30}, one draw,
/// [`BENCH_V1_QUICK_DURATION_S`] s (indices and seeds as in the full grid).
pub fn bench_v1(quick: bool) -> Vec<SceneJob> {
    let mut jobs = Vec::new();
    let mut index = 0u64;
    for &rt in &BENCH_V1_RT60_S {
        for &n in &BENCH_V1_SOURCES {
            for &snr in &BENCH_V1_SNR_DB {
                for draw in 0..BENCH_V1_DRAWS {
                    let keep = !quick
                        || ((rt == 0.2 || rt == 1.2)
                            && (n == 1 || n == 3)
                            && snr == 30.0
                            && draw == 0);
                    if keep {
                        let mut spec = SceneSpec {
                            duration_s: if quick {
                                BENCH_V1_QUICK_DURATION_S
                            } else {
                                BENCH_V1_DURATION_S
                            },
                            ..SceneSpec::default()
                        };
                        spec.room.rt60_s = Num::Fixed(rt);
                        spec.sources.count = Num::Fixed(n as f64);
                        spec.noise.snr_db = Some(Num::Fixed(snr));
                        spec.output.ambix_order = 0;
                        spec.output.omni = false;
                        jobs.push(SceneJob::Simulate {
                            id: format!("bench-v1/{index:04}"),
                            spec: Box::new(spec),
                            seed: item_seed(TEST_SPLIT_SEED, index),
                        });
                    }
                    index += 1;
                }
            }
        }
    }
    jobs
}

/// Scene jobs for a source.
///
/// # Errors
/// Unknown suite name; unreadable dataset folder or one without items.
pub fn scene_jobs(source: &SceneSource) -> Result<Vec<SceneJob>> {
    match source {
        SceneSource::Suite { name, quick } => match name.as_str() {
            "bench-v1" => Ok(bench_v1(*quick)),
            other => Err(HarnessError::Config(format!(
                "unknown suite '{other}' (known: bench-v1)"
            ))),
        },
        SceneSource::Dir(dir) => {
            let items = list_items(dir)?;
            if items.is_empty() {
                return Err(HarnessError::Config(format!(
                    "{}: no dataset items (chunk-NNNN/item-NNNNNN/meta.json) found",
                    dir.display()
                )));
            }
            Ok(items.into_iter().map(SceneJob::Item).collect())
        }
    }
}

fn meta_from_config(id: String, cfg: &SceneConfig, t30: Option<&Vec<Option<f64>>>) -> SceneMeta {
    // Mean over bands, rounded to µs so that equal targets group together.
    let rt60_s = cfg.room.as_ref().map_or(0.0, |r| {
        (r.rt60_target_s.iter().sum::<f64>() / r.rt60_target_s.len() as f64 * 1e6).round() / 1e6
    });
    SceneMeta {
        id,
        rt60_s,
        t30_1k_s: t30.and_then(|v| v.get(3).copied().flatten()),
        sources: cfg.sources.len(),
        snr_db: cfg.snr_db,
        azimuths_deg: cfg.sources.iter().map(|s| s.head_azimuth_deg).collect(),
        elevations_deg: cfg.sources.iter().map(|s| s.head_elevation_deg).collect(),
        sample_rate_hz: f64::from(cfg.sample_rate_hz),
    }
}

fn check_head(id: &str, cfg: &SceneConfig) -> Result<()> {
    if cfg.head_ypr_deg.iter().any(|v| *v != 0.0) {
        return Err(HarnessError::Config(format!(
            "{id}: head orientation {:?}° is not supported by the harness (decoders are designed for \
             the unrotated head; the em32 and the reference must share the frame)",
            cfg.head_ypr_deg
        )));
    }
    Ok(())
}

/// Produce a scene: simulate it (with the HRTF of `ctx`) or read a dataset item.
///
/// # Errors
/// Simulation errors; missing/invalid `meta.json`, `em32.wav` or `binaural.wav`; a rotated head.
pub fn load_scene(job: &SceneJob, ctx: &SceneContext) -> Result<Scene> {
    match job {
        SceneJob::Simulate { id, spec, seed } => {
            let cfg = realise(spec, *seed)?;
            check_head(id, &cfg)?;
            let out = render_scene(&cfg, ctx)?;
            let (Some(em32), Some(binaural)) = (out.em32, out.binaural) else {
                return Err(HarnessError::Config(format!(
                    "{id}: the spec must produce em32 and binaural outputs"
                )));
            };
            Ok(Scene {
                meta: meta_from_config(id.clone(), &out.config, out.rt60_measured_s.as_ref()),
                em32,
                binaural,
            })
        }
        SceneJob::Item(dir) => {
            let meta_path = dir.join("meta.json");
            let text = std::fs::read_to_string(&meta_path).map_err(|e| file_err(&meta_path, e))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| file_err(&meta_path, e))?;
            let cfg: SceneConfig = serde_json::from_value(v["scene"].clone())
                .map_err(|e| file_err(&meta_path, format!("field 'scene': {e}")))?;
            let t30: Option<Vec<Option<f64>>> =
                serde_json::from_value(v["rt60_measured_t30_s_per_octave_125_to_8k"].clone())
                    .ok()
                    .flatten();
            let id = dir
                .file_name()
                .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
            check_head(&id, &cfg)?;
            let (i1, em32) = read_wav(&dir.join("em32.wav"))?;
            let (i2, binaural) = read_wav(&dir.join("binaural.wav"))?;
            if em32.len() != 32 || binaural.len() != 2 {
                return Err(file_err(
                    dir,
                    format!(
                        "expected 32 em32 channels and 2 binaural channels, got {} and {}",
                        em32.len(),
                        binaural.len()
                    ),
                ));
            }
            if i1.sample_rate_hz != i2.sample_rate_hz || i1.sample_rate_hz != cfg.sample_rate_hz {
                return Err(file_err(
                    dir,
                    "em32.wav, binaural.wav and meta.json disagree on the rate",
                ));
            }
            Ok(Scene {
                meta: meta_from_config(id, &cfg, t30.as_ref()),
                em32,
                binaural,
            })
        }
    }
}

/// Sample rate of a job (needed to prepare decoders before the scenes exist).
///
/// # Errors
/// Unreadable `meta.json` of a dataset item.
pub fn job_rate_hz(job: &SceneJob) -> Result<f64> {
    match job {
        SceneJob::Simulate { spec, .. } => Ok(f64::from(spec.sample_rate_hz)),
        SceneJob::Item(dir) => {
            let p: &Path = &dir.join("meta.json");
            let text = std::fs::read_to_string(p).map_err(|e| file_err(p, e))?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| file_err(p, e))?;
            v["scene"]["sample_rate_hz"]
                .as_f64()
                .ok_or_else(|| file_err(p, "no scene.sample_rate_hz"))
        }
    }
}
