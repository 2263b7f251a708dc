//! `sphear live`: the real-time engine. File mode (`--input`/`--output`) runs the same engine
//! block by block over files, optionally paced in real time, with head tracking over OSC.
//! Audio-device mode (cpal/JACK) is not built yet.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use sphear_core::wav::{WavReader, WavWriter, ensure_distinct};
use sphear_engine::{Engine, EngineConfig};
use sphear_osc::{HeadState, OscListener};
use sphear_render::hrtf_source::resolve_hrtf;
use sphear_sh::sh::order_from_channels;

/// Arguments of `sphear live`.
#[derive(Debug, Args)]
#[command(
    after_help = "File mode: sphear live --input em32.wav --output binaural.wav [--block 256] [--osc-port 9000] \
[--realtime]. Head tracking over OSC (UDP, 127.0.0.1): SPARTA /ypr, IEM /SceneRotator/ypr and /SceneRotator/quaternions. \
The output is aligned with the input (the engine latency, printed, is removed). Audio-device mode (--input-device/\
--output-device) is not available yet."
)]
pub struct LiveArgs {
    /// Input WAV (em32 capsules, 32 ch, or AmbiX).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Output WAV (binaural, 2 ch float).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Input audio device (not available yet).
    #[arg(long)]
    pub input_device: Option<String>,
    /// Output audio device (not available yet).
    #[arg(long)]
    pub output_device: Option<String>,
    /// Host block size in samples (any value 1–4096).
    #[arg(long, default_value_t = 256)]
    pub block: usize,
    /// Convolver partition length (algorithmic latency) in samples.
    #[arg(long, default_value_t = 64)]
    pub partition: usize,
    /// Listen for OSC head tracking on 127.0.0.1:PORT.
    #[arg(long)]
    pub osc_port: Option<u16>,
    /// Pace the file in real time (sleep to each block's deadline) instead of running as fast as possible.
    #[arg(long)]
    pub realtime: bool,
    /// HRTF set (SOFA); default: system SOFA if installed, else the embedded spherical head.
    #[arg(long)]
    pub hrtf: Option<PathBuf>,
    /// Static head yaw in degrees (positive: head turns left), used when no OSC data arrives.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub yaw: f64,
}

/// Run the command.
pub fn run(args: &LiveArgs) -> Result<ExitCode> {
    let (Some(input), Some(output)) = (&args.input, &args.output) else {
        if args.input_device.is_some() || args.output_device.is_some() {
            bail!(
                "audio-device I/O is not available in this build yet; use --input FILE.wav --output FILE.wav"
            );
        }
        bail!("give --input FILE.wav and --output FILE.wav (file mode)");
    };
    if !(1..=4096).contains(&args.block) {
        bail!("--block must be 1..4096, got {}", args.block);
    }
    ensure_distinct(input, output)?;
    let mut reader = WavReader::open(input)?;
    let info = reader.info().clone();
    let fs = info.sample_rate_hz as f64;
    let mut cfg = if info.channels == 32 {
        EngineConfig::em32(4)
    } else if let Some(order) = order_from_channels(info.channels) {
        EngineConfig::ambix(order)
    } else {
        bail!(
            "{}: {} channels is neither em32 (32) nor AmbiX ((N+1)²)",
            input.display(),
            info.channels
        );
    };
    cfg.partition_len = args.partition;
    let hrtf = resolve_hrtf(args.hrtf.as_deref(), fs)?;
    eprintln!("HRTF: {}", hrtf.origin);
    let t0 = Instant::now();
    let mut engine = Engine::new(cfg, &hrtf.set)?;
    engine.prepare(fs, args.block)?;
    engine.set_rotation(args.yaw, 0.0, 0.0);
    let latency = engine.latency_samples();
    eprintln!(
        "engine ready in {:.2} s: {} inputs -> 2, block {}, latency {} samples = {} (partition) + {} (filter delay) = {:.2} ms",
        t0.elapsed().as_secs_f64(),
        engine.num_inputs(),
        args.block,
        latency,
        engine.algorithmic_latency_samples(),
        engine.filter_delay_samples(),
        latency as f64 / fs * 1e3
    );
    let state = Arc::new(HeadState::new());
    let _listener = match args.osc_port {
        Some(p) => {
            let l = OscListener::spawn(&format!("127.0.0.1:{p}"), state.clone())
                .context("OSC listener")?;
            eprintln!("listening for OSC head tracking on {}", l.local_addr());
            Some(l)
        }
        None => None,
    };
    let mut writer = WavWriter::create(output, info.sample_rate_hz, 2)?;
    let n_in = info.channels;
    let mut inbuf: Vec<Vec<f32>> = vec![Vec::with_capacity(args.block); n_in];
    let mut outbuf: Vec<Vec<f32>> = vec![vec![0.0; args.block]; 2];
    let period = Duration::from_secs_f64(args.block as f64 / fs);
    let (mut skip, mut written, mut late_blocks, mut max_cpu, mut sum_cpu, mut blocks) =
        (latency as u64, 0u64, 0u64, 0f64, 0f64, 0u64);
    let start = Instant::now();
    let mut last_received = 0;
    while written < info.frames {
        let n = reader.read_planar(&mut inbuf, args.block)?;
        for c in inbuf.iter_mut() {
            c.resize(args.block, 0.0);
        }
        let received = state.received.load(std::sync::atomic::Ordering::Relaxed);
        if received != last_received {
            let [y, p, r] = state.load_ypr_deg();
            engine.set_rotation(y, p, r);
            last_received = received;
        }
        let tb = Instant::now();
        {
            let ins: Vec<&[f32]> = inbuf.iter().map(|c| c.as_slice()).collect();
            let mut outs: Vec<&mut [f32]> = outbuf.iter_mut().map(|c| c.as_mut_slice()).collect();
            engine.process(&ins, &mut outs)?;
        }
        let cpu = tb.elapsed().as_secs_f64();
        max_cpu = max_cpu.max(cpu);
        sum_cpu += cpu;
        blocks += 1;
        if cpu > period.as_secs_f64() {
            late_blocks += 1;
        }
        let s = skip.min(args.block as u64) as usize;
        skip -= s as u64;
        let take = ((args.block - s) as u64).min(info.frames - written) as usize;
        if take > 0 {
            let chunk: Vec<&[f32]> = outbuf.iter().map(|c| &c[s..s + take]).collect();
            writer.write_planar(&chunk)?;
            written += take as u64;
        }
        let _ = n;
        if args.realtime {
            let deadline = period * blocks as u32;
            let el = start.elapsed();
            if deadline > el {
                std::thread::sleep(deadline - el);
            }
        }
    }
    writer.finish()?;
    eprintln!(
        "processed {} blocks of {} samples ({:.2} s): CPU per block mean {:.1} us, max {:.1} us = {:.2} % of the {:.2} ms block period; \
         xruns (blocks over their deadline): {late_blocks}; OSC packets {} (malformed {})",
        blocks,
        args.block,
        info.frames as f64 / fs,
        sum_cpu / blocks.max(1) as f64 * 1e6,
        max_cpu * 1e6,
        max_cpu / period.as_secs_f64() * 100.0,
        period.as_secs_f64() * 1e3,
        state.received.load(std::sync::atomic::Ordering::Relaxed),
        state.malformed.load(std::sync::atomic::Ordering::Relaxed),
    );
    Ok(ExitCode::SUCCESS)
}
