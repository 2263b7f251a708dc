//! `sphear train CONFIG.toml [--resume] [--finetune CKPT_DIR] [--distill MODEL_DIR]`: train the neural renderer on
//! `sphear dataset` directories (see `sphear_neural::training`), with a progress bar, validation
//! on the config's `val_dataset_dir`, checkpoints (config + dataset hash) and a loss-curve PNG
//! (`OUT/loss.png`, redrawn at every checkpoint and at the end).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use sphear_neural::training::{TrainConfig, TrainDevice, train};

/// DejaVu Sans (Bitstream Vera licence, `crates/sphear-harness/assets/DejaVuSans-LICENSE.txt`),
/// the font of the harness plots.
static FONT: &[u8] = include_bytes!("../../sphear-harness/assets/DejaVuSans.ttf");

/// Arguments of `sphear train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training config (TOML, `sphear_neural::training::TrainConfig`; relative paths are resolved
    /// against the config file's folder).
    pub config: PathBuf,
    /// Continue from the newest checkpoint in the config's output_dir (refused when the dataset
    /// or the network config changed). Without it, an output_dir that already holds checkpoints
    /// is an error.
    #[arg(long)]
    pub resume: bool,
    /// Start from the weights of this checkpoint / model directory (config.json + model.bpk),
    /// e.g. to adapt to another array or a few calibration scenes.
    #[arg(long, value_name = "CKPT_DIR")]
    pub finetune: Option<PathBuf>,
    /// Distil from this trained model directory (e.g. a standard-size model): the loss mixes
    /// the reference with the teacher's output, weighted by the config's distill_weight
    /// (default 0.5). Overrides the config's distill_from.
    #[arg(long, value_name = "MODEL_DIR")]
    pub distill: Option<PathBuf>,
    /// Where to train: `cpu` (burn's pure-Rust backend; threads from RAYON_NUM_THREADS) or
    /// `cuda[:N]` (LibTorch; only in builds with `--features gpu`).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Stop after this many seconds of training (checkpoint at the step reached; continue with
    /// --resume). Overrides the config's max_wall_s.
    #[arg(long, value_name = "SECONDS")]
    pub max_wall_s: Option<f64>,
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Read a config file, resolving its relative paths against its folder.
///
/// # Errors
/// Unreadable file, invalid TOML or unknown fields.
pub fn load_config(path: &Path) -> Result<TrainConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut cfg = TrainConfig::from_toml_str(&text).with_context(|| path.display().to_string())?;
    let base = path.parent().unwrap_or(Path::new("."));
    cfg.dataset_dir = resolve(base, &cfg.dataset_dir);
    cfg.output_dir = resolve(base, &cfg.output_dir);
    cfg.val_dataset_dir = cfg.val_dataset_dir.map(|p| resolve(base, &p));
    cfg.hrtf_sofa = cfg.hrtf_sofa.map(|p| resolve(base, &p));
    cfg.finetune_from = cfg.finetune_from.map(|p| resolve(base, &p));
    cfg.distill_from = cfg.distill_from.map(|p| resolve(base, &p));
    for l in &mut cfg.listeners {
        l.dataset_dir = l.dataset_dir.as_ref().map(|p| resolve(base, p));
        l.val_dataset_dir = l.val_dataset_dir.as_ref().map(|p| resolve(base, p));
        l.hrtf_sofa = resolve(base, &l.hrtf_sofa);
    }
    Ok(cfg)
}

fn has_checkpoint(out: &Path) -> bool {
    std::fs::read_dir(out).is_ok_and(|rd| {
        rd.filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with("checkpoint-"))
    })
}

/// Run `sphear train`.
pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let mut cfg = load_config(&args.config)?;
    let device: TrainDevice = args.device.parse()?;
    let device = device.autodiff_device()?;
    if let Some(w) = args.max_wall_s {
        cfg.max_wall_s = Some(w);
    }
    if let Some(ft) = &args.finetune {
        if !ft.join("model.bpk").exists() || !ft.join("config.json").exists() {
            bail!(
                "--finetune {}: not a checkpoint/model directory (config.json + model.bpk)",
                ft.display()
            );
        }
        cfg.finetune_from = Some(ft.clone());
    }
    if let Some(t) = &args.distill {
        cfg.distill_from = Some(t.clone());
    }
    if let Some(t) = &cfg.distill_from
        && (!t.join("model.bpk").exists() || !t.join("config.json").exists())
    {
        bail!(
            "distill from {}: not a model directory (config.json + model.bpk)",
            t.display()
        );
    }
    if has_checkpoint(&cfg.output_dir) && !args.resume {
        bail!(
            "{} already holds checkpoints: pass --resume to continue, or use a new output_dir",
            cfg.output_dir.display()
        );
    }
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(cfg.steps as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "train [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta} {msg}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        Some(b)
    } else {
        None
    };
    let out = cfg.output_dir.clone();
    let every = cfg.checkpoint_every.max(1);
    let t0 = std::time::Instant::now();
    let mut last_val: Option<f32> = None;
    let summary = train(&cfg, &device, |r| {
        if r.val_loss.is_some() {
            last_val = r.val_loss.map(|v| v[0]);
        }
        let msg = match last_val {
            Some(v) => format!(
                "loss {:.4} val {v:.4} {:.2} scenes/s",
                r.loss[0], r.scenes_per_s
            ),
            None => format!("loss {:.4} {:.2} scenes/s", r.loss[0], r.scenes_per_s),
        };
        match &bar {
            Some(b) => {
                b.set_position(r.step as u64);
                b.set_message(msg);
            }
            None if r.step % 10 == 0 || r.step == r.steps || r.val_loss.is_some() => {
                eprintln!("step {}/{}: {msg}", r.step, r.steps);
            }
            None => {}
        }
        if r.step % every == 0 {
            // A plot failure must not stop a training run; it is reported at the end.
            let _ = plot_loss_curve(&out);
        }
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let png = plot_loss_curve(&out)?;
    let l = summary.last_loss;
    println!(
        "trained steps {}..{} ({} parameters) in {:.1} s, {:.3} scenes/s",
        summary.resumed_from,
        summary.step,
        summary.num_params,
        t0.elapsed().as_secs_f64(),
        summary.scenes_per_s
    );
    println!(
        "last train loss: total {:.4} recon {:.4} doa {:.4} cues {:.4} mrstft {:.4}",
        l[0], l[1], l[2], l[3], l[4]
    );
    if let Some(v) = summary.last_val_loss {
        println!(
            "last val loss:   total {:.4} recon {:.4} doa {:.4} cues {:.4} mrstft {:.4}",
            v[0], v[1], v[2], v[3], v[4]
        );
    }
    println!("loss curve: {}", png.display());
    Ok(ExitCode::SUCCESS)
}

fn read_curve(path: &Path) -> Result<Vec<(f64, f64)>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let mut pts = Vec::new();
    for line in text.lines().skip(1) {
        let mut it = line.split(',');
        let (Some(s), Some(t)) = (it.next(), it.next()) else {
            continue;
        };
        if let (Ok(s), Ok(t)) = (s.parse::<f64>(), t.parse::<f64>())
            && t.is_finite()
            && t > 0.0
        {
            pts.push((s, t));
        }
    }
    Ok(pts)
}

/// Draw `OUT/loss.png` from `OUT/loss.csv` (train total loss, and a running mean over 20 steps)
/// and `OUT/val.csv` (validation total loss), log-scale loss axis.
///
/// # Errors
/// No loss log, or the PNG cannot be written.
pub fn plot_loss_curve(out: &Path) -> Result<PathBuf> {
    static FONT_OK: OnceLock<bool> = OnceLock::new();
    if !*FONT_OK.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok()) {
        bail!("embedded font could not be loaded");
    }
    let train = read_curve(&out.join("loss.csv"))?;
    let val = read_curve(&out.join("val.csv"))?;
    if train.is_empty() {
        bail!("{}: no loss values to plot", out.join("loss.csv").display());
    }
    let w = 20usize;
    let smooth: Vec<(f64, f64)> = (0..train.len())
        .map(|i| {
            let a = i.saturating_sub(w - 1);
            let m = train[a..=i].iter().map(|p| p.1).sum::<f64>() / (i + 1 - a) as f64;
            (train[i].0, m)
        })
        .collect();
    let all = || train.iter().chain(&val).map(|p| p.1);
    let lo = all().fold(f64::INFINITY, f64::min) / 1.2;
    let hi = all().fold(0.0, f64::max) * 1.2;
    let x1 = train.iter().chain(&val).map(|p| p.0).fold(1.0, f64::max);
    sphear_harness::plots::ensure_font().map_err(|e| anyhow::anyhow!("font: {e}"))?;
    let path = out.join("loss.png");
    let e = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: {e}", path.display());
    let root = BitMapBackend::new(&path, (1000, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("sphear train: weighted loss", ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x1, (lo..hi).log_scale())
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss (total)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|x| e(&x))?;
    let series: [(&str, &Vec<(f64, f64)>, RGBColor); 3] = [
        ("train (per step)", &train, RGBColor(174, 199, 232)),
        ("train (mean of 20)", &smooth, RGBColor(31, 119, 180)),
        ("validation", &val, RGBColor(255, 127, 14)),
    ];
    for (name, pts, c) in series {
        if pts.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    if !val.is_empty() {
        chart
            .draw_series(
                val.iter()
                    .map(|&p| Circle::new(p, 4, RGBColor(255, 127, 14).filled())),
            )
            .map_err(|x| e(&x))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    drop(chart);
    drop(root);
    Ok(out.join("loss.png"))
}

/// Arguments of `sphear average`.
#[derive(Debug, Args)]
pub struct AverageArgs {
    /// Checkpoint or model directories of one run (config.json + model.bpk), at least two, e.g.
    /// `RUN/checkpoint-0000040*`.
    #[arg(required = true, num_args = 2.., value_name = "CKPT_DIR")]
    pub checkpoints: Vec<PathBuf>,
    /// Model directory to write (config.json of the first checkpoint with an `averaged_from`
    /// list, model.bpk = the mean weights); usable as `--model DIR`.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// `sphear average`: the element-wise mean of several checkpoints' weights (stochastic weight
/// averaging, `sphear_neural::average`).
pub fn run_average(args: &AverageArgs) -> Result<ExitCode> {
    let dev = sphear_neural::infer::cpu_device();
    let m = sphear_neural::average::average_checkpoints(&args.checkpoints, &args.out, &dev)
        .context("averaging checkpoints")?;
    println!(
        "wrote {} ({} parameters, mean of {} checkpoints)",
        args.out.display(),
        m.num_params(),
        args.checkpoints.len()
    );
    Ok(ExitCode::SUCCESS)
}
