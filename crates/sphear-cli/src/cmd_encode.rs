//! `sphear encode`: A-format (capsule signals) → AmbiX.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use sphear_core::stream::process_file;
use sphear_core::wav::{WavReader, ensure_distinct};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::encoder::{EncoderConfig, EncoderDesign, Regularisation};

use crate::progress::FrameProgress;

/// Radial-filter regularisation.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RegArg {
    /// Soft limiting (Bernschütz 2011).
    Softlimit,
    /// Tikhonov.
    Tikhonov,
}

/// Arguments of `sphear encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// Input WAV: one channel per capsule, in capsule order (em32: capsules 1..32).
    pub input: PathBuf,
    /// Output WAV: AmbiX (ACN/SN3D), (N+1)² channels, 32-bit float, same rate and length.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Array: `em32` (built in) or a TOML file (radius_m, sphere = "rigid"|"open", capsules).
    #[arg(long, default_value = "em32")]
    pub array: String,
    /// SH order N (default: the highest the array supports, floor(sqrt(M))-1; 4 for em32).
    #[arg(long)]
    pub order: Option<usize>,
    /// Maximum gain of the radial (mode-strength) equalisers in dB.
    #[arg(long, default_value_t = 20.0)]
    pub max_gain_db: f64,
    /// Radial-filter regularisation.
    #[arg(long, value_enum, default_value_t = RegArg::Softlimit)]
    pub regularisation: RegArg,
    /// Radial FIR length in taps (latency filter_len/2 is removed from the output).
    #[arg(long, default_value_t = 1024)]
    pub filter_len: usize,
}

/// Run the command.
pub fn run(args: &EncodeArgs) -> Result<ExitCode> {
    let array = ArrayGeometry::from_arg(&args.array).context("--array")?;
    let order = args.order.unwrap_or_else(|| array.max_order());
    ensure_distinct(&args.input, &args.output)?;
    let reader = WavReader::open(&args.input)?;
    let info = reader.info().clone();
    drop(reader);
    if info.channels != array.num_capsules() {
        bail!(
            "{}: expected {} channels (one per capsule of array '{}'), got {}",
            args.input.display(),
            array.num_capsules(),
            array.name,
            info.channels
        );
    }
    let config = EncoderConfig {
        order,
        max_gain_db: args.max_gain_db,
        regularisation: match args.regularisation {
            RegArg::Softlimit => Regularisation::SoftLimit,
            RegArg::Tikhonov => Regularisation::Tikhonov,
        },
        filter_len: args.filter_len,
        ..EncoderConfig::default()
    };
    let design = EncoderDesign::new(&array, info.sample_rate_hz as f64, &config)?;
    let mut enc = design.stream()?;
    let bar = FrameProgress::new(info.frames, "encoding");
    process_file(&mut enc, &args.input, &args.output, &mut |d, t| {
        bar.update(d, t)
    })?;
    bar.finish();
    eprintln!(
        "encoded {} ({} ch, {} Hz, {} frames) with array '{}' to order {} AmbiX (ACN/SN3D, {} ch) -> {}; \
         radial filters: {} taps, max gain {} dB ({:?}), latency {} samples removed",
        args.input.display(),
        info.channels,
        info.sample_rate_hz,
        info.frames,
        array.name,
        order,
        design.num_sh(),
        args.output.display(),
        config.filter_len,
        config.max_gain_db,
        config.regularisation,
        design.delay_samples
    );
    Ok(ExitCode::SUCCESS)
}
