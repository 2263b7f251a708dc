//! `sphear bench`: single-thread throughput of encoding and rendering a synthetic em32 recording,
//! optionally side by side with a scipy reference (`scripts/bench_reference.py`).
//!
//! Throughput is reported as "× real time" = audio duration / wall-clock seconds of the timed
//! work. All timed work runs on the calling thread; this process starts no worker threads (the
//! FFT library is single-threaded). Pin to one core with `taskset -c 0` for stable numbers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use sphear_core::signals::white_noise;
use sphear_core::stream::{BlockProcessor, process_buffers, process_file};
use sphear_core::wav::WavWriter;
use sphear_render::hrtf_source::resolve_hrtf;
use sphear_render::{BinauralDecoder, BinauralRenderer, DecoderConfig, InputKind, Method};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::encoder::{EncoderConfig, EncoderDesign};

use crate::progress::FrameProgress;

/// Sample rate of the synthetic recording, Hz.
const SAMPLE_RATE_HZ: u32 = 48_000;
/// Peak amplitude of the synthetic capsule noise.
const NOISE_AMP: f64 = 0.25;
/// Seed of capsule 1's noise (capsule `c` uses `NOISE_SEED + c`).
const NOISE_SEED: u64 = 0x5EA7_BE7C;
/// Largest |ours − scipy| accepted as "equal", relative to the reference's peak. Both sides
/// compute the same sums in `f32` with different FFT sizes and orders; their rounding differs by
/// a few `2^-24` of the peak per term.
const MAX_REF_DIFF_REL_PEAK: f64 = 1e-5;
/// The reference script, shipped inside the binary so that `sphear bench` works from anywhere.
const REFERENCE_SCRIPT: &str = include_str!("../../../scripts/bench_reference.py");

/// Arguments of `sphear bench`.
#[derive(Debug, Args)]
#[command(
    after_help = "All timed work runs on one thread (this process starts no worker threads). \
For stable figures pin it to one core: taskset -c 0 sphear bench.\n\nThe scipy reference \
(--python-reference) needs python3 with numpy and scipy (pins in scripts/requirements.txt); \
without them it is skipped with a note."
)]
pub struct BenchArgs {
    /// Length of the synthetic em32 recording in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Also time scipy.signal.fftconvolve on the same filters and input and compare outputs.
    #[arg(long)]
    pub python_reference: bool,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// HRTF set (SOFA); default: the embedded spherical-head model (needs no files).
    #[arg(long)]
    pub hrtf: Option<PathBuf>,
    /// Render block length in samples (as `sphear render --block`).
    #[arg(long, default_value_t = 4096)]
    pub block: usize,
    /// Python interpreter for --python-reference.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Time the neural renderer instead (`render --method neural`): real-time factor and compute
    /// time per streamed block on one thread, for the default chunking (256 STFT frames) and for
    /// `--neural-chunk` frames.
    #[arg(long)]
    pub neural: bool,
    /// Model directory for --neural (default: the embedded model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Short chunk (STFT frames per block) of the second --neural measurement.
    #[arg(long, default_value_t = 4)]
    pub neural_chunk: usize,
    /// Frames of earlier context per chunk for --neural (the recurrent and attention layers'
    /// view of the past; default: the renderer's).
    #[arg(long, value_name = "FRAMES")]
    pub neural_context: Option<usize>,
    /// For --neural: re-run each chunk's whole window (new frames + context) instead of the
    /// incremental streaming of causal models (the reference for comparing the two).
    #[arg(long)]
    pub neural_windowed: bool,
}

/// One timed measurement.
#[derive(Debug, Clone, Serialize)]
struct Measurement {
    /// Short name.
    name: String,
    /// What exactly was timed.
    description: String,
    /// Wall-clock seconds of the timed work.
    seconds: f64,
    /// Audio seconds / wall-clock seconds.
    x_real_time: f64,
}

/// The scipy reference result.
#[derive(Debug, Clone, Serialize)]
struct Reference {
    status: String,
    seconds: Option<f64>,
    x_real_time: Option<f64>,
    /// Our in-memory render throughput / the reference's.
    speed_ratio: Option<f64>,
    max_abs_diff: Option<f64>,
    ref_max_abs: Option<f64>,
    equal: Option<bool>,
    details: Option<serde_json::Value>,
}

/// Everything `--json` writes.
#[derive(Debug, Serialize)]
struct Report {
    audio_seconds: f64,
    sample_rate_hz: u32,
    channels_in: usize,
    threads: usize,
    render_block_samples: usize,
    render_hop_samples: usize,
    render_fft_len: usize,
    render_forward_ffts_per_hop: usize,
    encoder_design_seconds: f64,
    decoder_design_seconds: f64,
    hrtf: String,
    measurements: Vec<Measurement>,
    reference: Option<Reference>,
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!("sphear-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(Self(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn measurement(name: &str, description: String, seconds: f64, audio_s: f64) -> Measurement {
    Measurement {
        name: name.into(),
        description,
        seconds,
        x_real_time: if seconds > 0.0 {
            audio_s / seconds
        } else {
            f64::INFINITY
        },
    }
}

/// Times `process_file` over the WAV at `input` (fresh processor per run).
fn time_file<P: BlockProcessor>(
    p: &mut P,
    input: &Path,
    output: &Path,
    what: &str,
    frames: u64,
) -> Result<f64> {
    let bar = FrameProgress::new(frames, what);
    let t0 = Instant::now();
    process_file(p, input, output, &mut |d, t| bar.update(d, t))?;
    let el = t0.elapsed().as_secs_f64();
    bar.finish();
    Ok(el)
}

/// Minimal `.npy` (format 1.0) writer for little-endian `f32` arrays in C order.
fn write_npy_f32(path: &Path, shape: &[usize], data: impl Iterator<Item = f32>) -> Result<()> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape_str = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_str}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    f.write_all(b"\x93NUMPY\x01\x00")?;
    let len = u16::try_from(header.len()).context("npy header too long")?;
    f.write_all(&len.to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    for v in data {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}

/// One streamed-neural measurement.
#[derive(Debug, Clone, Serialize)]
struct NeuralMeasurement {
    chunk_frames: usize,
    left_context_frames: usize,
    /// Incremental streaming (causal model) or each chunk's window re-run.
    incremental: bool,
    block_samples: usize,
    block_ms: f64,
    algorithmic_latency_samples: usize,
    algorithmic_latency_ms: f64,
    /// Wall-clock seconds / audio seconds (≤ 1 keeps up with real time on one core).
    real_time_factor: f64,
    block_compute_mean_ms: f64,
    block_compute_p99_ms: f64,
    block_compute_max_ms: f64,
    /// Algorithmic latency + one block + the slowest block's compute time.
    worst_latency_ms: f64,
    /// Compute per block by stage (mean ms per block), in processing order.
    stages: Vec<StageRow>,
}

/// One stage of the streamed neural renderer's profile.
#[derive(Debug, Clone, Serialize)]
struct StageRow {
    stage: String,
    mean_ms_per_block: f64,
    share_percent: f64,
}

/// `sphear bench --neural`: the streamed neural renderer on one thread.
fn run_neural(args: &BenchArgs) -> Result<ExitCode> {
    use sphear_core::stream::BlockProcessor;
    use sphear_neural::infer::{NeuralBinaural, StreamConfig, cpu_device};
    if args.neural_chunk == 0 {
        bail!("--neural-chunk must be > 0");
    }
    // burn's CPU backend parallelises with rayon: one worker, as for the FIR figures.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .context("setting up the single rayon worker")?;
    let fs = f64::from(SAMPLE_RATE_HZ);
    let frames = (args.seconds * fs).round().max(1.0) as usize;
    let audio_s = frames as f64 / fs;
    let array = ArrayGeometry::em32();
    let dev = cpu_device();
    let t0 = Instant::now();
    let model = crate::cmd_render::load_neural_model(args.model.as_deref(), &dev)?;
    let hrtf = resolve_hrtf(args.hrtf.as_deref(), fs)?;
    if (model.features.sample_rate_hz - fs).abs() > 0.5 {
        bail!(
            "the model's features are at {} Hz; the bench signal is {SAMPLE_RATE_HZ} Hz",
            model.features.sample_rate_hz
        );
    }
    let net = NeuralBinaural::new(
        &model,
        &array,
        &hrtf.set,
        sphear_neural::Anthropometry::default(),
        &dev,
    )?;
    let setup_s = t0.elapsed().as_secs_f64();
    let input: Vec<Vec<f32>> = (0..array.num_capsules())
        .map(|c| white_noise(frames, NOISE_AMP, NOISE_SEED + c as u64))
        .collect();
    let hop = model.features.hop;
    let mut rows = Vec::new();
    for chunk in [256, args.neural_chunk] {
        let mut st = net.stream(StreamConfig {
            chunk_frames: chunk,
            left_context_frames: args
                .neural_context
                .unwrap_or(StreamConfig::default().left_context_frames),
            ..StreamConfig::default()
        })?;
        if args.neural_windowed {
            st.disable_incremental();
        }
        let incremental = st.is_incremental();
        // The stream takes whole blocks of `chunk · hop` samples: time as many as fit.
        let block = chunk * hop;
        let n_blocks = (frames / block).max(1);
        if n_blocks * block > frames {
            bail!(
                "--seconds {} is shorter than one block of {block} samples",
                args.seconds
            );
        }
        st.enable_stage_times();
        let mut out = vec![vec![0.0f32; block]; 2];
        let mut times = Vec::with_capacity(n_blocks);
        let bar = FrameProgress::new(
            (n_blocks * block) as u64,
            &format!("neural, chunks of {chunk} frames"),
        );
        for b in 0..n_blocks {
            let start = b * block;
            let ins: Vec<&[f32]> = input.iter().map(|c| &c[start..start + block]).collect();
            let mut outs: Vec<&mut [f32]> = out.iter_mut().map(Vec::as_mut_slice).collect();
            let t = Instant::now();
            st.process(&ins, &mut outs)?;
            times.push(t.elapsed().as_secs_f64());
            bar.update((start + block) as u64, (n_blocks * block) as u64);
        }
        bar.finish();
        let timed_s = (n_blocks * block) as f64 / fs;
        let total: f64 = times.iter().sum();
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let p99 = sorted[((sorted.len() as f64 * 0.99).ceil() as usize).clamp(1, sorted.len()) - 1];
        let max = sorted.last().copied().unwrap_or(0.0);
        let lat = st.latency_samples();
        let stages = st.stage_times().map_or_else(Vec::new, |t| {
            let sum = t.total_s().max(f64::MIN_POSITIVE);
            t.stages
                .iter()
                .map(|(name, s)| StageRow {
                    stage: name.clone(),
                    mean_ms_per_block: s / n_blocks as f64 * 1e3,
                    share_percent: 100.0 * s / sum,
                })
                .collect()
        });
        let ms = |samples: usize| samples as f64 / fs * 1e3;
        rows.push(NeuralMeasurement {
            chunk_frames: chunk,
            left_context_frames: st.config().left_context_frames,
            incremental,
            block_samples: block,
            block_ms: ms(block),
            algorithmic_latency_samples: lat,
            algorithmic_latency_ms: ms(lat),
            real_time_factor: total / timed_s,
            block_compute_mean_ms: total / times.len() as f64 * 1e3,
            block_compute_p99_ms: p99 * 1e3,
            block_compute_max_ms: max * 1e3,
            worst_latency_ms: ms(lat) + ms(block) + max * 1e3,
            stages,
        });
    }
    let mc = &model.model_config;
    println!(
        "sphear bench --neural: {audio_s:.2} s of em32 noise at {SAMPLE_RATE_HZ} Hz, 1 thread; model {} \
         ({} parameters, {:?}, {:?} head, STFT {}/{}); HRTF {}; setup {setup_s:.2} s",
        model.source,
        model.num_params(),
        mc.temporal,
        mc.head,
        model.features.n_fft,
        hop,
        hrtf.origin
    );
    println!(
        "{:>7} {:>10} {:>12} {:>6} {:>10} {:>10} {:>10} {:>12}",
        "chunk", "block ms", "algo lat ms", "RTF", "mean ms", "p99 ms", "max ms", "worst lat ms"
    );
    for r in &rows {
        println!(
            "{:>7} {:>10.1} {:>12.1} {:>6.3} {:>10.1} {:>10.1} {:>10.1} {:>12.1}",
            r.chunk_frames,
            r.block_ms,
            r.algorithmic_latency_ms,
            r.real_time_factor,
            r.block_compute_mean_ms,
            r.block_compute_p99_ms,
            r.block_compute_max_ms,
            r.worst_latency_ms
        );
    }
    for r in &rows {
        println!(
            "\nper stage, chunks of {} frames ({:.1} ms blocks, context {} frames, {}): mean ms per block, share of the timed compute",
            r.chunk_frames,
            r.block_ms,
            r.left_context_frames,
            if r.incremental {
                "incremental"
            } else {
                "windowed"
            }
        );
        for s in &r.stages {
            println!(
                "  {:<48} {:>9.2} ms {:>6.1} %",
                s.stage, s.mean_ms_per_block, s.share_percent
            );
        }
    }
    if let Some((enc, dec)) = model.renderer.causal_lookback_frames() {
        println!(
            "causal model: the encoder reads {enc} earlier frames, the decoder and ear branches {dec} (what incremental streaming re-runs per chunk)"
        );
    }
    println!(
        "RTF = compute time / audio time on one thread (≤ 1 keeps up; the lean model's goal is ≤ 0.5). \
         worst lat = algorithmic latency + one block + the slowest block's compute."
    );
    if let Some(path) = &args.json {
        let v = serde_json::json!({
            "audio_seconds": audio_s,
            "sample_rate_hz": SAMPLE_RATE_HZ,
            "threads": 1,
            "model": model.source,
            "parameters": model.num_params(),
            "n_fft": model.features.n_fft,
            "hop": hop,
            "hrtf": hrtf.origin,
            "measurements": rows,
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Run the command.
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        bail!("--seconds must be in (0, 3600], got {}", args.seconds);
    }
    if args.neural {
        return run_neural(args);
    }
    let fs = f64::from(SAMPLE_RATE_HZ);
    let frames = (args.seconds * fs).round().max(1.0) as usize;
    let audio_s = frames as f64 / fs;
    let array = ArrayGeometry::em32();
    let n_caps = array.num_capsules();
    let order = array.max_order();
    let dir = TempDir::new()?;

    eprintln!(
        "sphear bench: {audio_s:.2} s synthetic em32 recording ({n_caps} ch, {SAMPLE_RATE_HZ} Hz, white noise); \
         timed work on 1 thread (no worker threads)"
    );
    let input: Vec<Vec<f32>> = (0..n_caps)
        .map(|c| white_noise(frames, NOISE_AMP, NOISE_SEED + c as u64))
        .collect();
    let in_wav = dir.0.join("em32.wav");
    {
        let mut w = WavWriter::create(&in_wav, SAMPLE_RATE_HZ, n_caps)?;
        let refs: Vec<&[f32]> = input.iter().map(Vec::as_slice).collect();
        w.write_planar(&refs)?;
        w.finish()?;
    }
    let mut measurements = Vec::new();

    // Encoding (as `sphear encode` with defaults).
    let enc_cfg = EncoderConfig {
        order,
        ..EncoderConfig::default()
    };
    let t0 = Instant::now();
    let design = EncoderDesign::new(&array, fs, &enc_cfg)?;
    let enc_design_s = t0.elapsed().as_secs_f64();
    let mut enc = design.stream()?;
    let enc_desc = format!(
        "em32 -> order-{order} AmbiX ({} ch), {}-tap radial filters, block {}",
        design.num_sh(),
        enc_cfg.filter_len,
        enc_cfg.block_len
    );
    let el = time_file(
        &mut enc,
        &in_wav,
        &dir.0.join("ambix.wav"),
        "encoding (file)",
        frames as u64,
    )?;
    measurements.push(measurement(
        "encode_file",
        format!("{enc_desc}, WAV file -> WAV file"),
        el,
        audio_s,
    ));
    let mut enc = design.stream()?;
    let t0 = Instant::now();
    let out = process_buffers(&mut enc, &input)?;
    let el = t0.elapsed().as_secs_f64();
    drop(out);
    measurements.push(measurement(
        "encode_memory",
        format!("{enc_desc}, in memory"),
        el,
        audio_s,
    ));

    // Rendering (as `sphear render` with em32 defaults: eMagLS2, 512 taps).
    let hrtf = resolve_hrtf(args.hrtf.as_deref(), fs)?;
    let cfg = DecoderConfig {
        method: Method::EMagLs2,
        order,
        filter_len: 512,
        ..DecoderConfig::default()
    };
    let t0 = Instant::now();
    let decoder = BinauralDecoder::design(&hrtf.set, &InputKind::Array(array.clone()), &cfg)?;
    let dec_design_s = t0.elapsed().as_secs_f64();
    let mut renderer = BinauralRenderer::new(&decoder, args.block)?;
    let layout = sphear_core::conv::MatrixConvolver::new(
        decoder.num_inputs(),
        2,
        &decoder
            .filters
            .iter()
            .enumerate()
            .flat_map(|(ear, ch)| {
                ch.iter()
                    .enumerate()
                    .map(move |(c, taps)| sphear_core::conv::FilterSpec {
                        output: ear,
                        input: c,
                        taps: taps.clone(),
                    })
            })
            .collect::<Vec<_>>(),
        args.block,
    )?;
    let render_desc = format!(
        "{} {n_caps} -> 2, {} taps, block {} (hop {}, FFT {}, {} complex FFTs per hop forward + 1 inverse)",
        decoder.method.name(),
        decoder.filter_len(),
        args.block,
        layout.hop_len(),
        layout.fft_len(),
        layout.forward_ffts_per_hop()
    );
    let el = time_file(
        &mut renderer,
        &in_wav,
        &dir.0.join("binaural.wav"),
        "rendering (file)",
        frames as u64,
    )?;
    measurements.push(measurement(
        "render_file",
        format!("{render_desc}, WAV file -> WAV file"),
        el,
        audio_s,
    ));
    let mut renderer = BinauralRenderer::new(&decoder, args.block)?;
    let t0 = Instant::now();
    let ours = process_buffers(&mut renderer, &input)?;
    let el = t0.elapsed().as_secs_f64();
    let render_mem = measurement(
        "render_memory",
        format!("{render_desc}, in memory"),
        el,
        audio_s,
    );
    let render_mem_x = render_mem.x_real_time;
    measurements.push(render_mem);

    let reference = if args.python_reference {
        Some(run_reference(
            args,
            &dir.0,
            &input,
            &decoder,
            &ours,
            audio_s,
            render_mem_x,
        )?)
    } else {
        None
    };

    // Table.
    println!("sphear bench: {audio_s:.2} s of em32 audio at {SAMPLE_RATE_HZ} Hz, 1 thread");
    println!("HRTF: {}", hrtf.origin);
    println!(
        "encoder design: {enc_design_s:.3} s; decoder design ({}): {dec_design_s:.3} s (not in the throughputs)",
        decoder.method.name()
    );
    println!(
        "{:<16} {:>10} {:>12}  what",
        "measurement", "seconds", "x real time"
    );
    for m in &measurements {
        println!(
            "{:<16} {:>10.3} {:>12.1}  {}",
            m.name, m.seconds, m.x_real_time, m.description
        );
    }
    let mut code = ExitCode::SUCCESS;
    if let Some(r) = &reference {
        match (r.seconds, r.x_real_time, r.speed_ratio) {
            (Some(s), Some(x), Some(ratio)) => {
                println!(
                    "{:<16} {:>10.3} {:>12.1}  scipy.signal.fftconvolve, same 64 filters and input, 1 thread",
                    "scipy_reference", s, x
                );
                println!("ratio render_memory / scipy_reference = {ratio:.1}x");
                println!(
                    "outputs: max |sphear - scipy| = {:.3e} (reference peak {:.3e}): {}",
                    r.max_abs_diff.unwrap_or(f64::NAN),
                    r.ref_max_abs.unwrap_or(f64::NAN),
                    if r.equal == Some(true) {
                        "equal"
                    } else {
                        "DIFFERENT"
                    }
                );
                if r.equal != Some(true) {
                    code = ExitCode::from(1);
                }
            }
            _ => println!("scipy_reference: {}", r.status),
        }
    }
    if let Some(path) = &args.json {
        let layout_info = (
            layout.hop_len(),
            layout.fft_len(),
            layout.forward_ffts_per_hop(),
        );
        let report = Report {
            audio_seconds: audio_s,
            sample_rate_hz: SAMPLE_RATE_HZ,
            channels_in: n_caps,
            threads: 1,
            render_block_samples: args.block,
            render_hop_samples: layout_info.0,
            render_fft_len: layout_info.1,
            render_forward_ffts_per_hop: layout_info.2,
            encoder_design_seconds: enc_design_s,
            decoder_design_seconds: dec_design_s,
            hrtf: hrtf.origin.clone(),
            measurements,
            reference,
        };
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(code)
}

/// Writes the input, FIRs and our output as `.npy`, runs the reference script and compares.
fn run_reference(
    args: &BenchArgs,
    dir: &Path,
    input: &[Vec<f32>],
    decoder: &BinauralDecoder,
    ours: &[Vec<f32>],
    audio_s: f64,
    ours_x: f64,
) -> Result<Reference> {
    let skipped = |status: String| Reference {
        status,
        seconds: None,
        x_real_time: None,
        speed_ratio: None,
        max_abs_diff: None,
        ref_max_abs: None,
        equal: None,
        details: None,
    };
    let probe = Command::new(&args.python)
        .args(["-c", "import numpy, scipy.signal"])
        .output();
    match probe {
        Err(e) => {
            return Ok(skipped(format!(
                "skipped: {} not runnable ({e})",
                args.python
            )));
        }
        Ok(o) if !o.status.success() => {
            return Ok(skipped(format!(
                "skipped: numpy/scipy not importable by {} ({})",
                args.python,
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
            )));
        }
        Ok(_) => {}
    }
    let frames = input[0].len();
    let taps = decoder.filter_len();
    let x_path = dir.join("x.npy");
    let h_path = dir.join("h.npy");
    let y_path = dir.join("ours.npy");
    let script = dir.join("bench_reference.py");
    write_npy_f32(
        &x_path,
        &[input.len(), frames],
        input.iter().flat_map(|c| c.iter().copied()),
    )?;
    let n_in = decoder.num_inputs();
    write_npy_f32(
        &h_path,
        &[decoder.filters.len(), n_in, taps],
        decoder.filters.iter().flat_map(|ear| {
            ear.iter()
                .flat_map(move |h| (0..taps).map(move |m| h.get(m).copied().unwrap_or(0.0)))
        }),
    )?;
    write_npy_f32(
        &y_path,
        &[ours.len(), frames],
        ours.iter().flat_map(|c| c.iter().copied()),
    )?;
    std::fs::write(&script, REFERENCE_SCRIPT)?;
    eprintln!("running the scipy reference ({})…", args.python);
    let out = Command::new(&args.python)
        .arg(&script)
        .arg(&x_path)
        .arg(&h_path)
        .arg(&y_path)
        .arg(decoder.delay_samples.to_string())
        .envs(
            [
                "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS",
            ]
            .map(|k| (k, "1")),
        )
        .output()
        .context("running the reference script")?;
    if !out.status.success() {
        bail!(
            "reference script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "reference output is not JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let seconds = v["seconds"]
        .as_f64()
        .context("reference JSON lacks seconds")?;
    let diff = v["max_abs_diff"]
        .as_f64()
        .context("reference JSON lacks max_abs_diff")?;
    let peak = v["ref_max_abs"]
        .as_f64()
        .context("reference JSON lacks ref_max_abs")?;
    let x = if seconds > 0.0 {
        audio_s / seconds
    } else {
        f64::INFINITY
    };
    Ok(Reference {
        status: "ran".into(),
        seconds: Some(seconds),
        x_real_time: Some(x),
        speed_ratio: Some(ours_x / x),
        max_abs_diff: Some(diff),
        ref_max_abs: Some(peak),
        equal: Some(diff <= MAX_REF_DIFF_REL_PEAK * peak),
        details: Some(v),
    })
}
