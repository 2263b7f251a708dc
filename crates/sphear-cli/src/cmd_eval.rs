//! `sphear eval`: render a scene suite with every method, score against the binaural reference,
//! and write tables and plots.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use sphear_harness::{EvalConfig, MethodId, SceneSource, run_eval};

use crate::progress::FrameProgress;

/// Arguments of `sphear eval`.
#[derive(Debug, Args)]
#[command(
    after_help = "Writes REPORT_DIR/rows.csv and rows.json (one row per scene x method x capsule count x metric \
[x band], with scene metadata), summary.md (tables per method, RT60, source count, capsule count) and PNG plots \
(polar_*.png, band_errors.png, vs_rt60.png, vs_sources.png, vs_channels.png, summary.png).\n\nMethods: ls, magls, \
emagls (eMagLS2), emagls-sh, foa (order-1 MagLS), dirac, neural (full em32 only; --model DIR or the embedded model), and the sanity anchors reference and swapped-ears. \
Capsule counts 32/16/8: well-spread em32 subsets (greedy farthest-point), decoders designed for the subset."
)]
pub struct EvalArgs {
    /// Named suite (bench-v1: RT60 {0.2,0.5,1.2,2.0} s x sources {1,2,3,5} x SNR {30,10} dB x 3 draws of 2 s, test split).
    #[arg(long, conflicts_with = "scenes")]
    pub suite: Option<String>,
    /// Existing dataset folder (layout of `sphear dataset`) to score instead of a suite.
    #[arg(long)]
    pub scenes: Option<PathBuf>,
    /// Comma-separated methods.
    #[arg(long, default_value = "ls,magls,emagls,foa,dirac")]
    pub methods: String,
    /// Report folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// CI-sized suite (few short scenes; every method and every plot).
    #[arg(long)]
    pub quick: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// HRTF (SOFA) for the scenes and decoders (default: system default SOFA, else the embedded head).
    #[arg(long)]
    pub hrtf: Option<PathBuf>,
    /// Model directory of the neural method (config.json + model.bpk); default: the embedded model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Listener file (`ME.toml`, the measures of `sphear personalize`) that conditions the neural
    /// method (default: the population-mean listener). It does not change the HRTF: give the
    /// listener's own set with --hrtf to score the model for that listener.
    #[arg(long)]
    pub anthropometry: Option<PathBuf>,
    /// Capsule counts of the channel-count study (first = full array for the other views).
    #[arg(long, default_value = "32,16,8", value_delimiter = ',')]
    pub channels: Vec<usize>,
}

/// Run the command.
pub fn run(args: &EvalArgs) -> Result<ExitCode> {
    let source = match (&args.suite, &args.scenes) {
        (Some(name), None) => SceneSource::Suite {
            name: name.clone(),
            quick: args.quick,
        },
        (None, Some(dir)) => {
            if args.quick {
                bail!("--quick applies to --suite only");
            }
            SceneSource::Dir(dir.clone())
        }
        _ => bail!("give exactly one of --suite NAME or --scenes DIR"),
    };
    let methods = MethodId::parse_list(&args.methods)?;
    if let Some(t) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t.max(1))
            .build_global()
            .ok();
    }
    let mut cfg = EvalConfig::new(source, methods, args.output.clone());
    cfg.channels = args.channels.clone();
    cfg.hrtf = args.hrtf.clone();
    if let Some(dir) = &args.model {
        cfg.neural_model = sphear_harness::methods::NeuralModelSource::Dir(dir.clone());
    }
    if let Some(path) = &args.anthropometry {
        if !cfg.methods.contains(&MethodId::Neural) {
            bail!("--anthropometry conditions the neural method only: add neural to --methods");
        }
        let dev = sphear_neural::infer::cpu_device();
        let model = crate::cmd_render::load_neural_model(args.model.as_deref(), &dev)?;
        cfg.neural_anthropometry =
            crate::cmd_render::neural_anthropometry(Some(path.as_path()), &model)?;
    }
    eprintln!("designing decoders and scoring scenes ...");
    let bar = std::sync::Mutex::new(None::<FrameProgress>);
    let outcome = run_eval(&cfg, &|done, total| {
        if let Ok(mut b) = bar.lock() {
            let b = b.get_or_insert_with(|| FrameProgress::new(total as u64, "scenes"));
            b.update(done as u64, total as u64);
        }
    })?;
    if let Ok(b) = bar.lock()
        && let Some(b) = b.as_ref()
    {
        b.finish();
    }
    eprintln!(
        "scored {} scenes x {} methods ({} rows, {} failed evaluations) with HRTF {} in {:.1} s (decoder design {:.1} s)",
        outcome.scenes,
        cfg.methods.len(),
        outcome.rows.len(),
        outcome.failures.len(),
        outcome.hrtf,
        outcome.wall_s,
        outcome.design_s
    );
    for f in &outcome.files {
        println!("{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
