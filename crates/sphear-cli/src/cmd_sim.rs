//! `sphear simulate` and `sphear dataset`: scenes with known binaural ground truth.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use sphear_sim::dataset::{DatasetJob, Split, TEST_SPLIT_SEED, run_dataset};
use sphear_sim::scene::{SceneContext, realise, render_scene, write_scene};
use sphear_sim::spec::SceneSpec;

use crate::progress::FrameProgress;

/// Arguments of `sphear simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scene spec (TOML; see the sphear_sim::spec docs or README).
    pub spec: PathBuf,
    /// Output folder: em32.wav, binaural.wav, ambix.wav, (omni.wav), meta.json.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Seed (overrides the spec's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Split argument.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SplitArg {
    /// Training data.
    Train,
    /// The reserved test split (fixed seed, never used for training).
    Test,
}

/// Arguments of `sphear dataset`.
#[derive(Debug, Args)]
#[command(
    after_help = "Sharding: run N processes with --shard I/N (I = 0..N-1) and the same spec, count and seed, \
e.g. a Slurm job array `--shard $SLURM_ARRAY_TASK_ID/16` or a Kubernetes indexed Job `--shard $JOB_COMPLETION_INDEX/16`. \
Item i is identical whatever the shard or thread count. Reruns skip finished items (resume)."
)]
pub struct DatasetArgs {
    /// Scene spec (TOML).
    pub spec: PathBuf,
    /// Output folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Number of scenes in the whole dataset (all shards).
    #[arg(long)]
    pub count: u64,
    /// Shard I/N: generate only items with index % N == I.
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    /// Base seed (default: the spec's seed; the test split always uses its reserved seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Split.
    #[arg(long, value_enum, default_value_t = SplitArg::Train)]
    pub split: SplitArg,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Run `simulate`.
pub fn run_simulate(args: &SimulateArgs) -> Result<ExitCode> {
    let spec = SceneSpec::from_file(&args.spec)?;
    let seed = args.seed.unwrap_or(spec.seed);
    let cfg = realise(&spec, seed)?;
    let ctx = SceneContext::new(spec.output.hrtf.as_deref(), spec.sample_rate_hz as f64)?;
    eprintln!("HRTF: {}", ctx.hrtf_origin);
    let t0 = std::time::Instant::now();
    let out = render_scene(&cfg, &ctx)?;
    write_scene(
        &args.output,
        &out,
        serde_json::json!({ "hrtf": ctx.hrtf_origin }),
    )?;
    match &cfg.room {
        Some(r) => eprintln!(
            "room {:.2} x {:.2} x {:.2} m, RT60 target {:.2} s (500 Hz), measured T30 {}",
            r.dims_m[0],
            r.dims_m[1],
            r.dims_m[2],
            r.rt60_target_s[2],
            out.rt60_measured_s
                .as_ref()
                .and_then(|v| v[2])
                .map_or("n/a".to_string(), |t| format!("{t:.2} s (500 Hz)"))
        ),
        None => eprintln!("free field"),
    }
    for (i, s) in cfg.sources.iter().enumerate() {
        eprintln!(
            "source {}: azimuth {:.1}°, elevation {:.1}°, {:.2} m ({:?})",
            i + 1,
            s.azimuth_deg,
            s.elevation_deg,
            s.distance_m,
            s.signal
        );
    }
    eprintln!(
        "wrote {} in {:.2} s",
        args.output.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Run `dataset`.
pub fn run_dataset_cmd(args: &DatasetArgs) -> Result<ExitCode> {
    let spec = SceneSpec::from_file(&args.spec)?;
    let (si, sn) = args
        .shard
        .split_once('/')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)))
        .with_context(|| format!("--shard must look like I/N, got {:?}", args.shard))?;
    if sn == 0 || si >= sn {
        bail!("--shard {si}/{sn}: need 0 <= I < N");
    }
    let split = match args.split {
        SplitArg::Train => Split::Train,
        SplitArg::Test => Split::Test,
    };
    let seed = match split {
        Split::Test => {
            if args.seed.is_some_and(|s| s != TEST_SPLIT_SEED) {
                bail!(
                    "the test split uses its reserved seed {TEST_SPLIT_SEED:#x}; do not pass --seed"
                );
            }
            TEST_SPLIT_SEED
        }
        Split::Train => args.seed.unwrap_or(spec.seed),
    };
    if let Some(t) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t.max(1))
            .build_global()
            .ok();
    }
    let job = DatasetJob {
        spec,
        out_dir: args.output.clone(),
        count: args.count,
        shard: (si, sn),
        seed,
        split,
    };
    let bar = FrameProgress::new(args.count.div_ceil(sn), "scenes");
    let summary = run_dataset(&job, &|d, t| bar.update(d, t))?;
    bar.finish();
    eprintln!(
        "shard {si}/{sn}: {} items ({} generated, {} already present) in {:.1} s -> {} ({:.1} scenes/min)",
        summary.shard_items,
        summary.generated,
        summary.skipped,
        summary.wall_s,
        args.output.display(),
        if summary.wall_s > 0.0 {
            summary.generated as f64 / summary.wall_s * 60.0
        } else {
            0.0
        }
    );
    Ok(ExitCode::SUCCESS)
}
