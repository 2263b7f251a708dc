//! `sphear render`: em32 (capsule) or AmbiX recordings to binaural.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use sphear_core::stream::process_file;
use sphear_core::wav::{WavReader, ensure_distinct, read_wav, write_wav};
use sphear_harness::methods::dirac_renderer;
use sphear_render::dirac::{DiracConfig, encode_first_order};
use sphear_render::foa::design_foa;
use sphear_render::hrtf_source::resolve_hrtf;
use sphear_render::{BinauralDecoder, BinauralRenderer, DecoderConfig, InputKind, Method};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::rotation::{IDENTITY, mat3_transpose, rotation_from_ypr, sh_rotation_matrix};
use sphear_sh::sh::{num_channels, order_from_channels};

use crate::progress::FrameProgress;

/// Input signal format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Raw capsule signals of the array given by --array (em32: 32 channels, capsules 1..32).
    Em32,
    /// AmbiX: ACN channel order, SN3D normalisation, (N+1)² channels.
    Ambix,
}

/// Rendering method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Least squares (SH domain; array input is encoded first).
    Ls,
    /// Magnitude least squares above --magls-cutoff-hz (SH domain; array input is encoded first).
    Magls,
    /// End-to-end MagLS applied directly to the capsule signals (eMagLS2). Array input only.
    Emagls,
    /// End-to-end MagLS in the SH domain (filters on the plain SH transform). Array input only.
    EmaglsSh,
    /// First-order Ambisonics baseline: the input reduced to order 1 and decoded with MagLS.
    Foa,
    /// DirAC (Pulkki 2007): per STFT bin, intensity-vector direction and diffuseness from first
    /// order; direct part with the HRTF of that direction, diffuse part decorrelated with the HRTF
    /// set's diffuse-field interaural coherence. Processes the file in memory.
    Dirac,
    /// The neural renderer (sphear-neural): the trained network, streamed in chunks of STFT
    /// frames; with the residual head its base weights are eMagLS designed for the chosen HRTF,
    /// and --anthropometry also conditions the network. Array (em32) input only.
    Neural,
}

/// Arguments of `sphear render`.
#[derive(Debug, Args)]
#[command(
    after_help = "Head rotation: --yaw positive = head turns LEFT (a source at azimuth a is heard at a - yaw); \
--pitch positive = nose up; --roll positive = left ear up. Angles in degrees, applied as yaw, then pitch, then roll \
(intrinsic z-y'-x'').\n\nHRTF: --hrtf wins; otherwise /usr/share/libmysofa/default.sofa if installed; otherwise the \
embedded spherical-head model. The log names the HRTF used."
)]
pub struct RenderArgs {
    /// Input WAV: em32 capsule signals (32 ch) or AmbiX (ACN/SN3D).
    pub input: PathBuf,
    /// Output WAV: 2 channels (left, right), 32-bit float, input's rate and length.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Input format (default: em32 when the file has as many channels as the array has capsules, else ambix).
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// Array for em32-format input: `em32` (built in) or a TOML file.
    #[arg(long, default_value = "em32")]
    pub array: String,
    /// SH order (default: the array's maximum for em32 input, the file's order for AmbiX).
    #[arg(long)]
    pub order: Option<usize>,
    /// Method (default: emagls for em32 input, magls for AmbiX). foa and dirac accept both inputs.
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// HRTF set (SOFA SimpleFreeFieldHRIR).
    #[arg(long, conflicts_with = "anthropometry")]
    pub hrtf: Option<PathBuf>,
    /// Personalise the HRTF on the fly from body measurements (ME.toml, see `sphear personalize`).
    #[arg(long)]
    pub anthropometry: Option<PathBuf>,
    /// Head yaw in degrees (positive: head turns left).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub yaw: f64,
    /// Head pitch in degrees (positive: nose up).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub pitch: f64,
    /// Head roll in degrees (positive: left ear up).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub roll: f64,
    /// Decoder FIR length in taps (latency filter_len/2 is removed from the output).
    #[arg(long, default_value_t = 512)]
    pub filter_len: usize,
    /// MagLS cut-off frequency in Hz.
    #[arg(long, default_value_t = 2000.0)]
    pub magls_cutoff_hz: f64,
    /// Apply the diffuse-field covariance constraint (Zaunschirm et al. 2018): the rendering of a diffuse
    /// field gets the HRTF set's interaural coherence and ear energies.
    #[arg(long)]
    pub diffuse_constraint: bool,
    /// Processing block length in samples.
    #[arg(long, default_value_t = 4096)]
    pub block: usize,
    /// Model directory for --method neural (config.json + model.bpk, a training checkpoint);
    /// default: the model embedded at build time.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// --method neural: new STFT frames per streamed chunk (block `chunk · hop` samples;
    /// shorter chunks = less buffering, more compute per second of audio).
    #[arg(long, value_name = "FRAMES", default_value_t = 256)]
    pub neural_chunk: usize,
    /// --method neural: earlier frames the recurrent and attention layers see with each chunk
    /// (causal models keep them from the previous chunks; windowed models re-run them).
    #[arg(long, value_name = "FRAMES", default_value_t = 64)]
    pub neural_context: usize,
    /// --method neural: re-run each chunk's whole window even for a causal model instead of
    /// streaming incrementally (slower; for comparison).
    #[arg(long)]
    pub neural_windowed: bool,
}

/// Run the command.
pub fn run(args: &RenderArgs) -> Result<ExitCode> {
    ensure_distinct(&args.input, &args.output)?;
    let info = WavReader::open(&args.input)?.info().clone();
    let array = ArrayGeometry::from_arg(&args.array).context("--array")?;
    let format = match args.input_format {
        Some(f) => f,
        None if info.channels == array.num_capsules() => InputFormat::Em32,
        None if order_from_channels(info.channels).is_some() => InputFormat::Ambix,
        None => bail!(
            "{}: {} channels is neither {} capsule signals of array '{}' nor an AmbiX channel count ((N+1)²)",
            args.input.display(),
            info.channels,
            array.num_capsules(),
            array.name
        ),
    };
    let (input, order) = match format {
        InputFormat::Em32 => {
            if info.channels != array.num_capsules() {
                bail!(
                    "{}: expected {} channels (one per capsule of array '{}'), got {}",
                    args.input.display(),
                    array.num_capsules(),
                    array.name,
                    info.channels
                );
            }
            let order = args.order.unwrap_or_else(|| array.max_order());
            array.check_order(order)?;
            (InputKind::Array(array.clone()), order)
        }
        InputFormat::Ambix => {
            let Some(file_order) = order_from_channels(info.channels) else {
                bail!(
                    "{}: AmbiX input needs (N+1)² channels (4, 9, 16, 25, …), got {}",
                    args.input.display(),
                    info.channels
                );
            };
            if let Some(o) = args.order
                && o != file_order
            {
                bail!(
                    "--order {o} does not match the AmbiX file's order {file_order} ({} channels)",
                    info.channels
                );
            }
            (InputKind::Ambix { order: file_order }, file_order)
        }
    };
    if args.method == Some(MethodArg::Neural) {
        if format != InputFormat::Em32 {
            bail!("--method neural takes array (em32) input, not AmbiX");
        }
        return run_neural(args, &array, &info);
    }
    if args.model.is_some() {
        bail!("--model applies to --method neural only");
    }
    let method = match (args.method, format) {
        (Some(MethodArg::Ls), _) => Method::Ls,
        (Some(MethodArg::Foa), _) => Method::MagLs,
        (Some(MethodArg::Dirac), _) => return run_dirac(args, &input, order),
        (Some(MethodArg::Neural), _) => unreachable!("handled above"),
        (Some(MethodArg::Magls), _) => Method::MagLs,
        (Some(MethodArg::Emagls), _) => Method::EMagLs2,
        (Some(MethodArg::EmaglsSh), _) => Method::EMagLsSh,
        (None, InputFormat::Em32) => Method::EMagLs2,
        (None, InputFormat::Ambix) => Method::MagLs,
    };
    let fs = info.sample_rate_hz as f64;
    let hrtf = render_hrtf(args, fs)?;
    let cfg = DecoderConfig {
        method,
        order,
        filter_len: args.filter_len,
        magls_cutoff_hz: args.magls_cutoff_hz,
        diffuse_constraint: args.diffuse_constraint,
        yaw_deg: args.yaw,
        pitch_deg: args.pitch,
        roll_deg: args.roll,
        ..DecoderConfig::default()
    };
    let t0 = std::time::Instant::now();
    let is_foa = args.method == Some(MethodArg::Foa);
    let decoder = if is_foa {
        design_foa(&hrtf.set, &input, &cfg)?
    } else {
        BinauralDecoder::design(&hrtf.set, &input, &cfg)?
    };
    eprintln!(
        "designed {} decoder: {} inputs -> 2, {} taps, delay {} samples (removed), yaw/pitch/roll {}/{}/{} deg, {:.2} s",
        if is_foa {
            "foa (order-1 magls)"
        } else {
            method.name()
        },
        num_inputs_desc(&input, if is_foa { 1 } else { order }),
        decoder.filter_len(),
        decoder.delay_samples,
        args.yaw,
        args.pitch,
        args.roll,
        t0.elapsed().as_secs_f64()
    );
    let mut renderer = BinauralRenderer::new(&decoder, args.block)?;
    let bar = FrameProgress::new(info.frames, "rendering");
    let t1 = std::time::Instant::now();
    process_file(&mut renderer, &args.input, &args.output, &mut |d, t| {
        bar.update(d, t)
    })?;
    bar.finish();
    let dur_s = info.frames as f64 / fs;
    let el = t1.elapsed().as_secs_f64();
    eprintln!(
        "rendered {} ({:.2} s) -> {} in {:.2} s ({:.0}x real time)",
        args.input.display(),
        dur_s,
        args.output.display(),
        el,
        if el > 0.0 { dur_s / el } else { f64::INFINITY }
    );
    Ok(ExitCode::SUCCESS)
}

/// The HRTF for rendering at `fs`: personalised from `--anthropometry`, else `--hrtf`, the
/// system default or the embedded head ([`resolve_hrtf`]); logged with its notes.
fn render_hrtf(args: &RenderArgs, fs: f64) -> Result<sphear_render::hrtf_source::ResolvedHrtf> {
    let hrtf = match &args.anthropometry {
        Some(p) => {
            let set = crate::cmd_personalize::personal_hrtf_set(p, fs)?;
            sphear_render::hrtf_source::ResolvedHrtf {
                origin: set.name().to_string(),
                set,
                notes: vec!["personalised by the CVAE (sphear-personalize)".into()],
            }
        }
        None => resolve_hrtf(args.hrtf.as_deref(), fs)?,
    };
    eprintln!(
        "HRTF: {} ({} directions, {} taps at {} Hz)",
        hrtf.origin,
        hrtf.set.len(),
        hrtf.set.ir_len(),
        fs
    );
    for n in &hrtf.notes {
        eprintln!("HRTF: {n}");
    }
    Ok(hrtf)
}

/// DirAC path: read the whole file, first-order AmbiX (encoded with the project encoder for array
/// input), rotate it for the head orientation, render, write.
fn run_dirac(args: &RenderArgs, input: &InputKind, order: usize) -> Result<ExitCode> {
    if order < 1 {
        bail!("DirAC needs first-order input at least (4 AmbiX channels W, Y, Z, X)");
    }
    let (info, chans) = read_wav(&args.input)?;
    let fs = info.sample_rate_hz as f64;
    let hrtf = render_hrtf(args, fs)?;
    let t0 = std::time::Instant::now();
    let set = std::sync::Arc::new(hrtf.set);
    let dirac = dirac_renderer(&set, &DiracConfig::default())?;
    let mut foa = match input {
        InputKind::Array(a) => encode_first_order(a, fs, order, &chans)?,
        InputKind::Ambix { .. } => chans[..4].to_vec(),
    };
    let rot = rotation_from_ypr(
        args.yaw.to_radians(),
        args.pitch.to_radians(),
        args.roll.to_radians(),
    );
    if rot != IDENTITY {
        // A source at world direction u is heard at head direction Rᵀu: a' = M a, M y(u) = y(Rᵀu).
        let m = sh_rotation_matrix(1, &mat3_transpose(&rot));
        let n = foa[0].len();
        let rotated: Vec<Vec<f32>> = (0..4)
            .map(|i| {
                (0..n)
                    .map(|t| (0..4).map(|j| m[(i, j)] as f32 * foa[j][t]).sum())
                    .collect()
            })
            .collect();
        foa = rotated;
    }
    let out = dirac.render(&foa)?;
    write_wav(&args.output, info.sample_rate_hz, &out)?;
    let dur_s = info.frames as f64 / fs;
    let el = t0.elapsed().as_secs_f64();
    eprintln!(
        "rendered {} ({:.2} s) with DirAC ({}) -> {} in {:.2} s",
        args.input.display(),
        dur_s,
        num_inputs_desc(input, order),
        args.output.display(),
        el
    );
    Ok(ExitCode::SUCCESS)
}

/// The neural model of `--model DIR`, or the embedded one without it (`render`, `bench --neural`).
///
/// # Errors
/// An unreadable model directory (named in the message); no embedded model in this build.
pub(crate) fn load_neural_model(
    dir: Option<&Path>,
    dev: &sphear_neural::Device,
) -> Result<sphear_neural::LoadedModel> {
    use sphear_neural::LoadedModel;
    Ok(match dir {
        Some(dir) => {
            LoadedModel::from_dir(dir, dev).with_context(|| format!("--model {}", dir.display()))?
        }
        None => LoadedModel::embedded(dev)?,
    })
}

/// The neural network's listener conditioning from a listener file (`ME.toml`, the measures of
/// `sphear personalize`), z-scored with the model's statistics (the embedded HRTF
/// personalisation's CIPIC statistics if the model directory has none); `None`: the
/// population-mean listener.
pub(crate) fn neural_anthropometry(
    path: Option<&Path>,
    model: &sphear_neural::LoadedModel,
) -> Result<sphear_neural::Anthropometry> {
    use sphear_neural::infer::{AnthroStandardizer, anthropometry_from_measures};
    let Some(p) = path else {
        return Ok(sphear_neural::Anthropometry::default());
    };
    let listener = sphear_personalize::listener::read_listener(p)?;
    let stdz = match &model.anthro_standardizer {
        Some(s) => s.clone(),
        None => {
            let s = sphear_personalize::listener::embedded_model()?
                .meta
                .standardizer;
            AnthroStandardizer {
                mean: s.mean,
                std: s.std,
            }
        }
    };
    Ok(anthropometry_from_measures(&listener.features, &stdz)?)
}

/// Neural path: load the model (--model DIR or the embedded one), design its eMagLS base weights
/// for the HRTF, map --anthropometry to the network's conditioning, stream the file.
fn run_neural(
    args: &RenderArgs,
    array: &ArrayGeometry,
    info: &sphear_core::wav::WavInfo,
) -> Result<ExitCode> {
    use sphear_neural::infer::{NeuralBinaural, StreamConfig, cpu_device};
    if args.yaw != 0.0 || args.pitch != 0.0 || args.roll != 0.0 {
        bail!("--method neural does not rotate the head (--yaw/--pitch/--roll must be 0)");
    }
    let fs = info.sample_rate_hz as f64;
    let dev = cpu_device();
    let t0 = std::time::Instant::now();
    let model = load_neural_model(args.model.as_deref(), &dev)?;
    let hrtf = render_hrtf(args, fs)?;
    let anthro = neural_anthropometry(args.anthropometry.as_deref(), &model)?;
    let net = NeuralBinaural::new(&model, array, &hrtf.set, anthro, &dev)?;
    if args.neural_chunk == 0 {
        bail!("--neural-chunk must be > 0");
    }
    let mut stream = net.stream(StreamConfig {
        chunk_frames: args.neural_chunk,
        left_context_frames: args.neural_context,
        ..StreamConfig::default()
    })?;
    if args.neural_windowed {
        stream.disable_incremental();
    }
    let mc = &model.model_config;
    eprintln!(
        "neural model {} ({} parameters, {:?}, {:?} head, STFT {}/{}), chunks of {} frames with {} frames of context ({}), latency {} samples (removed), {:.2} s",
        model.source,
        model.num_params(),
        mc.temporal,
        mc.head,
        model.features.n_fft,
        model.features.hop,
        stream.config().chunk_frames,
        stream.config().left_context_frames,
        if stream.is_incremental() {
            "incremental"
        } else {
            "windowed"
        },
        sphear_core::stream::BlockProcessor::latency_samples(&stream),
        t0.elapsed().as_secs_f64()
    );
    let bar = FrameProgress::new(info.frames, "rendering");
    let t1 = std::time::Instant::now();
    process_file(&mut stream, &args.input, &args.output, &mut |d, t| {
        bar.update(d, t)
    })?;
    bar.finish();
    let dur_s = info.frames as f64 / fs;
    let el = t1.elapsed().as_secs_f64();
    eprintln!(
        "rendered {} ({:.2} s) with the neural renderer -> {} in {:.2} s (real-time factor {:.3})",
        args.input.display(),
        dur_s,
        args.output.display(),
        el,
        el / dur_s.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

fn num_inputs_desc(input: &InputKind, order: usize) -> String {
    match input {
        InputKind::Array(a) => format!(
            "{} capsules of '{}' (order {order})",
            a.num_capsules(),
            a.name
        ),
        InputKind::Ambix { order } => {
            format!("{} AmbiX channels (order {order})", num_channels(*order))
        }
    }
}
