//! `sphear`: spherical microphone array (em32) recordings to binaural audio.
//!
//! Exit codes: 0 success, 1 a check failed, 2 error (bad input, unreadable file, …). A broken
//! pipe on stdout counts as success.

#[cfg(feature = "audio-io")]
mod audio_io;
mod cmd_bench;
mod cmd_demo;
mod cmd_encode;
mod cmd_eval;
mod cmd_hrtf;
mod cmd_live;
mod cmd_personalize;
mod cmd_render;
mod cmd_sim;
mod cmd_train;
mod hrtf_plots;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Spherical microphone array recordings (Eigenmike em32) to Ambisonics and binaural audio.
///
/// Conventions: azimuth counter-clockwise from the front (90° = left), elevation up; Ambisonics
/// files are AmbiX (ACN channel order, SN3D normalisation); em32 channel order = capsules 1..32.
#[derive(Debug, Parser)]
#[command(name = "sphear", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Encode array (A-format) recordings to AmbiX (ACN/SN3D) spherical harmonics.
    Encode(cmd_encode::EncodeArgs),
    /// Render em32 or AmbiX recordings to binaural (LS, MagLS, eMagLS) with optional head rotation.
    Render(cmd_render::RenderArgs),
    /// Simulate an em32 scene from built-in signals, render it with every method, score and write WAVs.
    Demo(cmd_demo::DemoArgs),
    /// Time encoding and rendering of a synthetic em32 recording on one thread (× real time),
    /// optionally against a scipy reference.
    Bench(cmd_bench::BenchArgs),
    /// Simulate one scene (room, sources, em32 + binaural + Ambisonics receivers) from a TOML spec.
    Simulate(cmd_sim::SimulateArgs),
    /// Generate a paired dataset of many scenes (parallel, deterministic, resumable, sharded).
    Dataset(cmd_sim::DatasetArgs),
    /// Real-time engine: audio devices (feature audio-io), WAV files or a soak test, with OSC head tracking.
    Live(cmd_live::LiveArgs),
    /// Render a scene suite (bench-v1 or a dataset) with every method, score against the binaural
    /// reference, write CSV/JSON rows, a Markdown summary and PNG plots.
    Eval(cmd_eval::EvalArgs),
    /// Personalised HRTF (SOFA) from 12 body measurements (ME.toml) with the committed CVAE.
    Personalize(cmd_personalize::PersonalizeArgs),
    /// Train the neural renderer on `sphear dataset` folders (progress bar, validation,
    /// checkpoints, loss-curve PNG; --resume, --finetune CKPT_DIR).
    Train(cmd_train::TrainArgs),
    /// Average the weights of several checkpoints of one training run into a model directory
    /// (stochastic weight averaging; use it with --model DIR).
    Average(cmd_train::AverageArgs),
    /// Train (and cross-validate) the HRTF personalisation model on CIPIC.
    TrainHrtf(cmd_personalize::TrainHrtfArgs),
    /// Inspect HRTF (SOFA) files.
    Hrtf {
        #[command(subcommand)]
        command: cmd_hrtf::HrtfCommand,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Encode(args) => cmd_encode::run(&args),
        Command::Hrtf { command } => cmd_hrtf::run(&command),
        Command::Render(args) => cmd_render::run(&args),
        Command::Demo(args) => cmd_demo::run(&args),
        Command::Live(args) => cmd_live::run(&args),
        Command::Simulate(args) => cmd_sim::run_simulate(&args),
        Command::Dataset(args) => cmd_sim::run_dataset_cmd(&args),
        Command::Bench(args) => cmd_bench::run(&args),
        Command::Eval(args) => cmd_eval::run(&args),
        Command::Personalize(args) => cmd_personalize::run_personalize(&args),
        Command::TrainHrtf(args) => cmd_personalize::run_train(&args),
        Command::Train(args) => cmd_train::run(&args),
        Command::Average(args) => cmd_train::run_average(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
