//! `sphear personalize` and `sphear train-hrtf`: HRTF personalisation from anthropometry.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use sphear_personalize::PersonalizeError;
use sphear_personalize::data::{
    CIPIC_RATE_HZ, CIPIC_TAPS, FEATURES, cipic_directions, feature_correlations, load_cipic,
    preprocess,
};
use sphear_personalize::dsp::{GridDft, SpectralGrid};
use sphear_personalize::eval::{MAIN_METHODS, METHODS, cross_validate};
use sphear_personalize::listener::{embedded_model, personalize, read_listener};
use sphear_personalize::model::CvaeConfig;
use sphear_personalize::train::{TrainSettings, TrainedModel, train};

use crate::hrtf_plots;
use crate::progress::FrameProgress;

/// `sphear personalize` arguments.
#[derive(Debug, Args)]
#[command(
    long_about = "Personalised HRTF from 12 body measurements (ME.toml, see README): a conditional VAE \
trained on CIPIC predicts the magnitude responses of both ears on the CIPIC grid (1250 directions), \
a Woodworth spherical-head model with anthropometric parameters gives the ITD; the file holds \
minimum-phase IRs plus Data.Delay (SOFA SimpleFreeFieldHRIR)."
)]
pub struct PersonalizeArgs {
    /// Listener anthropometry (TOML, centimetres and degrees).
    #[arg(long)]
    pub anthropometry: PathBuf,
    /// Output SOFA file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Sampling rate of the output IRs, Hz.
    #[arg(long, default_value_t = 48_000.0)]
    pub sample_rate: f64,
    /// Model directory written by `train-hrtf` (default: the committed model).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// `sphear train-hrtf` arguments.
#[derive(Debug, Args)]
#[command(
    long_about = "Train the HRTF personalisation model on CIPIC (--data: the folder with hrir_f32/, \
anthro.csv). Without --cv: trains on all usable subjects and writes the model to -o. With --cv K: \
K-fold leave-subjects-out cross-validation (CVAE vs nearest neighbour, mean HRTF, KEMAR), then the \
final model; -o receives report.md, report.json, folds.csv, lsd_per_direction.csv, \
lsd_vs_lateral.png, lsd_map_cvae.png, feature_correlation.csv and model/."
)]
pub struct TrainHrtfArgs {
    /// CIPIC folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory (model, or report + model with --cv).
    #[arg(short, long, default_value = "hrtf-model")]
    pub output: PathBuf,
    /// Number of cross-validation folds (0 = none).
    #[arg(long, default_value_t = 0)]
    pub cv: usize,
    /// Optimiser steps per training.
    #[arg(long, default_value_t = TrainSettings::default().steps)]
    pub steps: usize,
    /// Batch size.
    #[arg(long, default_value_t = TrainSettings::default().batch)]
    pub batch: usize,
    /// Encoder width w (filters w, 2w, 4w, 8w, 16w; the paper's is 32).
    #[arg(long, default_value_t = CvaeConfig::default().width)]
    pub width: usize,
    /// Final β of the KL term.
    #[arg(long, default_value_t = TrainSettings::default().beta_max)]
    pub beta: f32,
    /// Seed.
    #[arg(long, default_value_t = TrainSettings::default().seed)]
    pub seed: u64,
    /// Standard deviation of the noise added to the standardised anthropometry in training.
    #[arg(long, default_value_t = TrainSettings::default().anthro_noise)]
    pub anthro_noise: f32,
}

fn bad_input(e: PersonalizeError) -> anyhow::Error {
    anyhow::Error::new(e)
}

/// Runs `sphear personalize`.
pub fn run_personalize(args: &PersonalizeArgs) -> Result<ExitCode> {
    if !(args.sample_rate.is_finite() && (8000.0..=384_000.0).contains(&args.sample_rate)) {
        bail!(
            "--sample-rate must be 8000..384000 Hz, got {}",
            args.sample_rate
        );
    }
    let listener = read_listener(&args.anthropometry).map_err(bad_input)?;
    for w in &listener.warnings {
        eprintln!("warning: {w}");
    }
    let t0 = std::time::Instant::now();
    let model = match &args.model {
        Some(dir) => TrainedModel::load(dir).map_err(bad_input)?,
        None => embedded_model().map_err(bad_input)?,
    };
    let hrtf = personalize(&model, &listener, args.sample_rate).map_err(bad_input)?;
    let name = args
        .anthropometry
        .file_stem()
        .map_or("listener".to_string(), |s| s.to_string_lossy().into_owned());
    let sofa = hrtf.to_sofa(&name).map_err(bad_input)?;
    sphear_hrtf::write_sofa(&args.output, &sofa)
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "wrote {}: {} directions x 2 ears, {} taps at {} Hz (minimum phase + Data.Delay), {:.2} s",
        args.output.display(),
        hrtf.directions.len(),
        hrtf.irs[0][0].len(),
        args.sample_rate,
        t0.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Personalised HRTF set for `sphear render --anthropometry`.
pub fn personal_hrtf_set(path: &Path, fs_hz: f64) -> Result<sphear_hrtf::HrtfSet> {
    let listener = read_listener(path).map_err(bad_input)?;
    for w in &listener.warnings {
        eprintln!("warning: {w}");
    }
    let model = embedded_model().map_err(bad_input)?;
    let hrtf = personalize(&model, &listener, fs_hz).map_err(bad_input)?;
    Ok(hrtf.to_hrtf_set(&format!("personalised ({})", path.display()))?)
}

fn settings(args: &TrainHrtfArgs) -> TrainSettings {
    TrainSettings {
        model: CvaeConfig { width: args.width },
        steps: args.steps,
        batch: args.batch,
        beta_max: args.beta,
        seed: args.seed,
        anthro_noise: args.anthro_noise,
        ..TrainSettings::default()
    }
}

/// Runs `sphear train-hrtf`.
pub fn run_train(args: &TrainHrtfArgs) -> Result<ExitCode> {
    let t_all = std::time::Instant::now();
    let (raw, table) = load_cipic(&args.data).map_err(bad_input)?;
    let dft = GridDft::new(&SpectralGrid::new(), CIPIC_TAPS, CIPIC_RATE_HZ);
    let subjects = raw
        .iter()
        .map(|r| preprocess(r, &dft))
        .collect::<sphear_personalize::Result<Vec<_>>>()
        .map_err(bad_input)?;
    eprintln!(
        "CIPIC: {} usable subjects (complete 12 features), preprocessed in {:.1} s",
        subjects.len(),
        t_all.elapsed().as_secs_f64()
    );
    let s = settings(args);
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let mut report = String::new();
    if args.cv > 1 {
        let total = (args.cv * s.steps) as u64;
        let bar = FrameProgress::new(total, "cross-validation");
        let cv = cross_validate(&subjects, args.cv, &s, &mut |f, st, n, _r| {
            bar.update((f * n + st) as u64, total);
        })
        .map_err(bad_input)?;
        bar.finish();
        let _ = writeln!(
            report,
            "# HRTF personalisation: {}-fold leave-subjects-out CV\n",
            args.cv
        );
        let _ = writeln!(report, "settings: {}\n", serde_json::to_string(&s)?);
        let _ = writeln!(
            report,
            "cvae = z = 0 spectra, ITD = λ·regression + (1 − λ)·training-mean curve (λ chosen by \
leave-one-subject-out inside the fold's training subjects); ablations of the same fold models: \
cvae_k8 = spectra averaged over 8 prior draws of z, cvae_reg_itd = the regression ITD alone (λ = 1). \
Figures: lsd_vs_lateral.png, lsd_map_cvae.png.\n"
        );
        let _ = writeln!(
            report,
            "| fold | test subjects | train s | ITD λ | {} |",
            METHODS
                .iter()
                .map(|m| format!("{m} LSD dB | {m} ITD µs"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            report,
            "|---|---|---|---|{}",
            "---|---|".repeat(METHODS.len())
        );
        let mut csv = String::from("fold,method,lsd_db,itd_err_us\n");
        for f in &cv.folds {
            let cells: Vec<String> = f
                .scores
                .iter()
                .map(|sc| format!("{:.2} | {:.1}", sc.lsd_db, sc.itd_err_us))
                .collect();
            let _ = writeln!(
                report,
                "| {} | {:?} | {:.0} | {:.2} | {} |",
                f.fold,
                f.test_ids,
                f.train_s,
                f.itd_shrink,
                cells.join(" | ")
            );
            for (m, sc) in METHODS.iter().zip(&f.scores) {
                let _ = writeln!(csv, "{},{m},{:.4},{:.3}", f.fold, sc.lsd_db, sc.itd_err_us);
            }
        }
        let cells: Vec<String> = cv
            .overall
            .iter()
            .map(|sc| format!("**{:.2}** | **{:.1}**", sc.lsd_db, sc.itd_err_us))
            .collect();
        let _ = writeln!(
            report,
            "| all | {} subjects | | | {} |",
            cv.per_subject[0].len(),
            cells.join(" | ")
        );
        for (m, sc) in METHODS.iter().zip(&cv.overall) {
            let _ = writeln!(csv, "all,{m},{:.4},{:.3}", sc.lsd_db, sc.itd_err_us);
        }
        std::fs::write(args.output.join("folds.csv"), csv)?;
        let mut dcsv = format!(
            "m,cipic_lateral_deg,cipic_polar_deg,sofa_azimuth_deg,sofa_elevation_deg,{}\n",
            METHODS
                .iter()
                .map(|m| format!("lsd_{m}_db"))
                .collect::<Vec<_>>()
                .join(",")
        );
        for (m, d) in cipic_directions().iter().enumerate() {
            let vals: Vec<String> = cv
                .lsd_per_direction
                .iter()
                .map(|v| format!("{:.3}", v[m]))
                .collect();
            let _ = writeln!(
                dcsv,
                "{m},{:.1},{:.3},{:.2},{:.2},{}",
                d.lateral_rad.to_degrees(),
                d.polar_rad.to_degrees(),
                d.direction.azimuth_rad.to_degrees(),
                d.direction.elevation_rad.to_degrees(),
                vals.join(",")
            );
        }
        std::fs::write(args.output.join("lsd_per_direction.csv"), dcsv)?;
        let dirs = cipic_directions();
        let main: Vec<(&str, &[f64])> = METHODS[..MAIN_METHODS]
            .iter()
            .zip(&cv.lsd_per_direction)
            .map(|(m, v)| (*m, v.as_slice()))
            .collect();
        let sub = format!(
            "{}-fold CV, {} test subjects, both ears",
            args.cv,
            cv.per_subject[0].len()
        );
        hrtf_plots::lateral_figure(
            &args.output.join(hrtf_plots::LATERAL_PNG),
            &dirs,
            &main,
            &sub,
        )?;
        hrtf_plots::map_figure(
            &args.output.join(hrtf_plots::MAP_PNG),
            &dirs,
            &cv.lsd_per_direction[0],
            &format!("CVAE LSD per direction ({sub})"),
        )?;
        std::fs::write(
            args.output.join("report.json"),
            serde_json::to_string_pretty(&cv)?,
        )?;
        // feature relevance
        let mut fc = String::from("feature,max_abs_r_1k_16k,at_hz,n_ears,selected\n");
        let selected: Vec<String> = FEATURES
            .iter()
            .map(|f| match f.source {
                sphear_personalize::data::Source::Head(c) => c.to_string(),
                sphear_personalize::data::Source::Pinna(c) => format!("pinna {c}"),
            })
            .collect();
        for (name, r, f, n) in feature_correlations(&raw, &table, &subjects) {
            let _ = writeln!(fc, "{name},{r:.3},{f:.0},{n},{}", selected.contains(&name));
        }
        std::fs::write(args.output.join("feature_correlation.csv"), fc)?;
    }
    let bar = FrameProgress::new(s.steps as u64, "final model");
    let all: Vec<_> = subjects.iter().collect();
    let model =
        train(&all, &s, &mut |st, n, _| bar.update(st as u64, n as u64)).map_err(bad_input)?;
    bar.finish();
    let model_dir = if args.cv > 1 {
        args.output.join("model")
    } else {
        args.output.clone()
    };
    model.save(&model_dir).map_err(bad_input)?;
    let _ = writeln!(
        report,
        "\nfinal model: {} subjects, {} steps, {:.0} s, final recon MSE {:.4} (10 dB)²; written to {}\ntotal wall time {:.0} s",
        all.len(),
        s.steps,
        model.meta.wall_time_s,
        model.meta.final_recon,
        model_dir.display(),
        t_all.elapsed().as_secs_f64()
    );
    if args.cv > 1 {
        std::fs::write(args.output.join("report.md"), &report)?;
    }
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
