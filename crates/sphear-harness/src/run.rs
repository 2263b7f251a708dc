//! The evaluation run: scenes × methods × capsule counts → rows → report files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::json;
use sphear_sim::scene::SceneContext;

use crate::error::file_err;
use crate::methods::{CHANNEL_COUNTS, DecoderBank, MethodId, NEURAL_CHANNELS, NeuralModelSource};
use crate::report::{Row, summary_markdown, write_csv, write_json};
use crate::score::score_with;
use crate::suite::{Scene, SceneSource, job_rate_hz, load_scene, scene_jobs};
use crate::{HarnessError, Result, plots};

/// Rows and metric failures of one scene, or why the scene failed.
type SceneResult = std::result::Result<(Vec<Row>, Vec<String>), String>;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Scenes.
    pub source: SceneSource,
    /// Methods, in report order.
    pub methods: Vec<MethodId>,
    /// Capsule counts; the first is the "full array" used by the per-method, RT60, source and
    /// azimuth views (default [`CHANNEL_COUNTS`]).
    pub channels: Vec<usize>,
    /// HRTF (SOFA) for the scenes and the decoders; `None`: the simulator's default resolution
    /// (system default SOFA, else the embedded spherical head). For `--scenes` it must be the set
    /// the dataset was generated with.
    pub hrtf: Option<PathBuf>,
    /// Model of the neural method (default: the embedded model).
    pub neural_model: NeuralModelSource,
    /// Listener conditioning of the neural method (default: the population-mean listener, zeros).
    /// Set it to the listener whose HRTF `hrtf` is (e.g. a held-out CIPIC subject) to score the
    /// model as it would be used for that listener.
    pub neural_anthropometry: sphear_neural::Anthropometry,
    /// Report folder.
    pub out_dir: PathBuf,
}

impl EvalConfig {
    /// Defaults: all capsule counts of [`CHANNEL_COUNTS`], default HRTF.
    pub fn new(source: SceneSource, methods: Vec<MethodId>, out_dir: PathBuf) -> Self {
        Self {
            source,
            methods,
            channels: CHANNEL_COUNTS.to_vec(),
            hrtf: None,
            neural_model: NeuralModelSource::Embedded,
            neural_anthropometry: sphear_neural::Anthropometry::default(),
            out_dir,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    /// All rows (sorted by scene, method, capsule count, metric, band).
    pub rows: Vec<Row>,
    /// Failed metric evaluations and scenes (`"scene method/channels: metric: reason"`).
    pub failures: Vec<String>,
    /// Files written (CSV, JSON, Markdown, PNGs).
    pub files: Vec<PathBuf>,
    /// Number of scenes scored.
    pub scenes: usize,
    /// HRTF description.
    pub hrtf: String,
    /// Seconds spent designing decoders.
    pub design_s: f64,
    /// Seconds for the whole run.
    pub wall_s: f64,
}

/// Score one scene with every method and capsule count.
///
/// # Errors
/// Rendering errors (metric failures are returned in the second value, not as errors).
pub fn score_scene(
    scene: &Scene,
    bank: &DecoderBank,
    methods: &[MethodId],
    channels: &[usize],
) -> Result<(Vec<Row>, Vec<String>)> {
    let mut rows = Vec::new();
    let mut fails = Vec::new();
    for (ci, &c) in channels.iter().enumerate() {
        for &m in methods {
            if (m == MethodId::Reference && ci > 0)
                || (m == MethodId::Neural && c != NEURAL_CHANNELS)
            {
                continue;
            }
            let out = bank.render(m, c, &scene.em32, &scene.binaural)?;
            let cues = if scene.meta.sources == 1 {
                bank.cues()
            } else {
                None
            };
            let (scores, f) = score_with(&out, &scene.binaural, scene.meta.sample_rate_hz, cues);
            fails.extend(
                f.into_iter()
                    .map(|e| format!("{} {}/{c}: {e}", scene.meta.id, m.name())),
            );
            rows.extend(scores.into_iter().map(|s| Row {
                scene: scene.meta.clone(),
                method: m,
                channels: c,
                metric: s.metric.to_string(),
                band_hz: s.band_hz,
                value: s.value,
            }));
        }
    }
    Ok((rows, fails))
}

/// Run the evaluation and write `rows.csv`, `rows.json`, `summary.md` and the PNGs into
/// `cfg.out_dir`. `progress(done, total)` is called after every scene (from worker threads).
/// Scenes run in parallel on the current rayon pool.
///
/// # Errors
/// Bad settings, decoder design errors, every scene failing, report I/O.
pub fn run_eval(cfg: &EvalConfig, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<EvalOutcome> {
    let t0 = Instant::now();
    if cfg.methods.is_empty() {
        return Err(HarnessError::Config("no methods given".into()));
    }
    if cfg.channels.is_empty() {
        return Err(HarnessError::Config("no capsule counts given".into()));
    }
    let jobs = scene_jobs(&cfg.source)?;
    let fs = job_rate_hz(&jobs[0])?;
    let ctx = SceneContext::new(cfg.hrtf.as_deref(), fs)?;
    let hrtf = Arc::clone(&ctx.hrtf);
    let bank = DecoderBank::design_with_model(
        &hrtf,
        &cfg.methods,
        &cfg.channels,
        &cfg.neural_model,
        cfg.neural_anthropometry,
    )?;
    let design_s = t0.elapsed().as_secs_f64();
    let done = AtomicUsize::new(0);
    let total = jobs.len();
    progress(0, total);
    let results: Vec<SceneResult> = jobs
        .par_iter()
        .map(|job| {
            let r = load_scene(job, &ctx).and_then(|scene| {
                if scene.meta.sample_rate_hz != fs {
                    return Err(HarnessError::Config(format!(
                        "{}: sample rate {} Hz differs from the first scene's {fs} Hz",
                        scene.meta.id, scene.meta.sample_rate_hz
                    )));
                }
                score_scene(&scene, &bank, &cfg.methods, &cfg.channels)
            });
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            r.map_err(|e| format!("{job:?}: {e}"))
        })
        .collect();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut scenes = 0;
    for r in results {
        match r {
            Ok((mut a, f)) => {
                scenes += 1;
                rows.append(&mut a);
                failures.extend(f);
            }
            Err(e) => failures.push(format!("scene failed: {e}")),
        }
    }
    if scenes == 0 {
        return Err(HarnessError::Config(format!(
            "every scene failed; first: {}",
            failures.first().map_or("?", |s| s.as_str())
        )));
    }
    let order = |m: MethodId| {
        cfg.methods
            .iter()
            .position(|x| *x == m)
            .unwrap_or(usize::MAX)
    };
    rows.sort_by(|a, b| {
        a.scene
            .id
            .cmp(&b.scene.id)
            .then(order(a.method).cmp(&order(b.method)))
            .then(b.channels.cmp(&a.channels))
            .then(a.metric.cmp(&b.metric))
            .then(
                a.band_hz
                    .unwrap_or(-1.0)
                    .total_cmp(&b.band_hz.unwrap_or(-1.0)),
            )
    });
    let files = write_report(
        &cfg.out_dir,
        &rows,
        &failures,
        cfg,
        &ctx.hrtf_origin,
        &bank,
        t0,
    )?;
    Ok(EvalOutcome {
        rows,
        failures,
        files,
        scenes,
        hrtf: ctx.hrtf_origin.clone(),
        design_s,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

fn write_report(
    dir: &Path,
    rows: &[Row],
    failures: &[String],
    cfg: &EvalConfig,
    hrtf: &str,
    bank: &DecoderBank,
    t0: Instant,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let source = match &cfg.source {
        crate::suite::SceneSource::Suite { name, quick } => {
            format!("suite {name}{}", if *quick { " (--quick)" } else { "" })
        }
        crate::suite::SceneSource::Dir(d) => format!("dataset {}", d.display()),
    };
    let subsets: Vec<serde_json::Value> = cfg
        .channels
        .iter()
        .filter_map(|&c| bank.subset(c))
        .map(|s| {
            json!({
                "capsules": s.indices.len(),
                "capsule_numbers": s.indices.iter().map(|i| i + 1).collect::<Vec<_>>(),
                "order": s.order
            })
        })
        .collect();
    let scenes: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.scene.id.as_str()).collect();
    let info = json!({
        "source": source,
        "hrtf": hrtf,
        "methods": cfg.methods.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "subsets": subsets,
        "scenes": scenes.len(),
        "elapsed_s_before_report": t0.elapsed().as_secs_f64(),
    });
    let mut files = Vec::new();
    let csv = dir.join("rows.csv");
    write_csv(&csv, rows)?;
    files.push(csv);
    let js = dir.join("rows.json");
    write_json(&js, rows, failures, info)?;
    files.push(js);
    let sub_desc: Vec<String> = cfg
        .channels
        .iter()
        .filter_map(|&c| bank.subset(c))
        .map(|s| {
            format!(
                "{} capsules (order {}): {}",
                s.indices.len(),
                s.order,
                s.indices
                    .iter()
                    .map(|i| (i + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect();
    let header = format!(
        "Source: {source}; {} scenes; HRTF: {hrtf}.\n\nCapsule subsets (em32 capsule numbers): {}.",
        scenes.len(),
        sub_desc.join("; ")
    );
    let md = dir.join("summary.md");
    std::fs::write(
        &md,
        summary_markdown(rows, &cfg.methods, &cfg.channels, failures, &header),
    )
    .map_err(|e| file_err(&md, e))?;
    files.push(md);
    files.extend(plots::draw_all(dir, rows, &cfg.methods, &cfg.channels)?);
    Ok(files)
}
