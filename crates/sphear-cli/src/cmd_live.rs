//! `sphear live`: the real-time engine.
//!
//! * File mode (`--input IN.wav --output OUT.wav`) runs the engine block by block over files,
//!   optionally paced in real time, with head tracking over OSC.
//! * Device mode (`--output-device NAME` with `--input-device NAME` or a looped
//!   `--input FILE.wav`, `--list-devices`): cpal, behind the cargo feature `audio-io` (ALSA;
//!   `jack` adds the JACK host), see [`crate::audio_io`].
//! * Soak (`--soak SECONDS`): the engine paced in real time over a generated em32 scene with a
//!   moving head and periodic design swaps; dropouts, memory and per-block CPU time reported.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use sphear_core::wav::{WavReader, WavWriter, ensure_distinct};
use sphear_engine::{
    DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES, Engine, EngineConfig, FilterPhase, ShDomainDesign,
};
use sphear_osc::{HeadState, OscListener};
use sphear_render::Method;
use sphear_render::hrtf_source::resolve_hrtf;
use sphear_sh::sh::order_from_channels;

use crate::progress::FrameProgress;

/// Arguments of `sphear live`.
#[derive(Debug, Args)]
#[command(
    after_help = "File mode: sphear live --input em32.wav --output binaural.wav [--block 256] [--osc-port 9000] \
[--realtime]. Device mode (build with --features audio-io, or jack): sphear live --output-device NAME \
(--input-device NAME | --input LOOP.wav) [--host jack|alsa] [--seconds S]; sphear live --list-devices. \
Soak: sphear live --soak 600. Head tracking over OSC (UDP, 127.0.0.1): SPARTA /ypr, IEM /SceneRotator/ypr and \
/SceneRotator/quaternions. Latency = partition + FIR pre-delay (centred 256, --low-latency 64) (+ one host block)."
)]
pub struct LiveArgs {
    /// Input WAV (em32 capsules, 32 ch, or AmbiX). With --output-device: looped as the input.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Output WAV (binaural, 2 ch float).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Input audio device (name or part of it; see --list-devices). Needs the `audio-io` feature.
    #[arg(long)]
    pub input_device: Option<String>,
    /// Output audio device (name or part of it). Needs the `audio-io` feature.
    #[arg(long)]
    pub output_device: Option<String>,
    /// Audio host for device mode: alsa or jack (default: cpal's default host).
    #[arg(long)]
    pub host: Option<String>,
    /// List the audio hosts and devices and exit.
    #[arg(long)]
    pub list_devices: bool,
    /// Channels of the input device: 32 (em32) or (N+1)² (AmbiX).
    #[arg(long, default_value_t = 32)]
    pub input_channels: usize,
    /// Sample rate of the devices in Hz.
    #[arg(long, default_value_t = 48000)]
    pub rate: u32,
    /// Device mode: stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Host block size in samples (any value 1–4096).
    #[arg(long, default_value_t = 256)]
    pub block: usize,
    /// Convolver partition length (algorithmic latency) in samples.
    #[arg(long, default_value_t = 64)]
    pub partition: usize,
    /// Rendering method: magls or ls (AmbiX or em32), emagls-sh (em32, default).
    #[arg(long)]
    pub method: Option<String>,
    /// SH order (em32: 1–4, default 4; AmbiX: the input's order).
    #[arg(long)]
    pub order: Option<usize>,
    /// Low-latency filter design: FIR pre-delay 64 samples instead of 256 (see README).
    #[arg(long)]
    pub low_latency: bool,
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
    /// Soak test: run the engine paced in real time for this many seconds over a generated em32
    /// scene with a moving head and a design swap every 30 s; report dropouts, memory, CPU.
    #[arg(long)]
    pub soak: Option<f64>,
}

/// Engine settings for `channels` input channels from the command line.
pub fn engine_config(args: &LiveArgs, channels: usize) -> Result<EngineConfig> {
    let mut cfg = if channels == 32 {
        let mut c = EngineConfig::em32(args.order.unwrap_or(4));
        c.order = args.order.unwrap_or(4);
        c
    } else if let Some(order) = order_from_channels(channels) {
        if args.order.is_some_and(|o| o != order) {
            bail!("AmbiX input of order {order}: --order must be {order} or left out");
        }
        EngineConfig::ambix(order)
    } else {
        bail!("{channels} channels is neither em32 (32) nor AmbiX ((N+1)²)");
    };
    if let Some(m) = &args.method {
        cfg.method = match m.as_str() {
            "ls" => Method::Ls,
            "magls" => Method::MagLs,
            "emagls-sh" if channels == 32 => Method::EMagLsSh,
            other => bail!(
                "--method {other}: the engine renders ls, magls (AmbiX or em32) and emagls-sh (em32)"
            ),
        };
    }
    if args.low_latency {
        cfg.phase = FilterPhase::LowLatency {
            pre_delay_samples: DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES,
        };
    }
    cfg.partition_len = args.partition;
    Ok(cfg)
}

/// One line describing the latency of `engine` at `fs` with host blocks of `block`.
pub fn latency_line(engine: &Engine, fs: f64, block: usize) -> String {
    let l = engine.latency_samples();
    let lead = engine.design().hrir_onset_removed_samples;
    format!(
        "latency {} samples = {} (partition) + {} (FIR pre-delay, {} design{}) = {:.2} ms; end to end with one {}-sample host block {:.2} ms",
        l,
        engine.algorithmic_latency_samples(),
        engine.filter_delay_samples(),
        if l - engine.algorithmic_latency_samples()
            <= sphear_engine::MAX_LOW_LATENCY_PRE_DELAY_SAMPLES
        {
            "low-latency"
        } else {
            "centred"
        },
        if lead > 0 {
            format!(", common HRIR delay of {lead} samples removed")
        } else {
            String::new()
        },
        l as f64 / fs * 1e3,
        block,
        (l + block) as f64 / fs * 1e3
    )
}

/// Run the command.
pub fn run(args: &LiveArgs) -> Result<ExitCode> {
    if !(1..=4096).contains(&args.block) {
        bail!("--block must be 1..4096, got {}", args.block);
    }
    if args.list_devices || args.input_device.is_some() || args.output_device.is_some() {
        return device_mode(args);
    }
    if let Some(s) = args.soak {
        return run_soak(args, s);
    }
    let (Some(input), Some(output)) = (&args.input, &args.output) else {
        bail!(
            "give --input FILE.wav and --output FILE.wav (file mode), --output-device NAME (device mode) or --soak SECONDS"
        );
    };
    run_file(args, input, output)
}

#[cfg(feature = "audio-io")]
fn device_mode(args: &LiveArgs) -> Result<ExitCode> {
    if args.list_devices {
        return crate::audio_io::list_devices();
    }
    crate::audio_io::run_device(args)
}

#[cfg(not(feature = "audio-io"))]
fn device_mode(_args: &LiveArgs) -> Result<ExitCode> {
    bail!(
        "this sphear was built without audio-device I/O. Rebuild with `cargo build --release -p sphear --features audio-io` \
         (ALSA; needs libasound2-dev) or `--features jack` (JACK too; needs libjack-jackd2-dev), or use file mode \
         (--input FILE.wav --output FILE.wav)"
    )
}

fn run_file(
    args: &LiveArgs,
    input: &std::path::Path,
    output: &std::path::Path,
) -> Result<ExitCode> {
    ensure_distinct(input, output)?;
    let mut reader = WavReader::open(input)?;
    let info = reader.info().clone();
    let fs = info.sample_rate_hz as f64;
    let cfg = engine_config(args, info.channels).with_context(|| input.display().to_string())?;
    let hrtf = resolve_hrtf(args.hrtf.as_deref(), fs)?;
    eprintln!("HRTF: {}", hrtf.origin);
    let t0 = Instant::now();
    let mut engine = Engine::new(cfg, &hrtf.set)?;
    engine.prepare(fs, args.block)?;
    engine.set_rotation(args.yaw, 0.0, 0.0);
    let latency = engine.latency_samples();
    eprintln!(
        "engine ready in {:.2} s: {} inputs -> 2, {} order {}, block {}, {}",
        t0.elapsed().as_secs_f64(),
        engine.num_inputs(),
        engine.design().method.name(),
        engine.design().order,
        args.block,
        latency_line(&engine, fs, args.block)
    );
    let state = Arc::new(HeadState::new());
    let _listener = spawn_osc(args.osc_port, &state)?;
    let mut writer = WavWriter::create(output, info.sample_rate_hz, 2)?;
    let n_in = info.channels;
    let mut inbuf: Vec<Vec<f32>> = vec![Vec::with_capacity(args.block); n_in];
    let mut outbuf: Vec<Vec<f32>> = vec![vec![0.0; args.block]; 2];
    let period = Duration::from_secs_f64(args.block as f64 / fs);
    // The engine latency is removed (as the offline renderer removes its filter delay). The
    // low-latency design also removed the HRIRs' common delay, which moves only its LS band
    // (below the MagLS cut-off) earlier: above the cut-off MagLS carries the phase over from
    // bin to bin, so that band sits at the FIR's time zero in both designs.
    let (mut skip, mut written, mut late_blocks, mut max_cpu, mut sum_cpu, mut blocks) =
        (latency as u64, 0u64, 0u64, 0f64, 0f64, 0u64);
    let start = Instant::now();
    let mut last_received = 0;
    let bar = FrameProgress::new(info.frames, "live (file)");
    while written < info.frames {
        reader.read_planar(&mut inbuf, args.block)?;
        for c in inbuf.iter_mut() {
            c.resize(args.block, 0.0);
        }
        let received = state.received.load(Ordering::Relaxed);
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
        bar.update(written, info.frames);
        if args.realtime {
            let deadline = period * blocks as u32;
            let el = start.elapsed();
            if deadline > el {
                std::thread::sleep(deadline - el);
            }
        }
    }
    bar.finish();
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
        state.received.load(Ordering::Relaxed),
        state.malformed.load(Ordering::Relaxed),
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the engine over a few partitions of silence before real-time use, so that every
/// buffer has been touched (no first-touch page faults in the audio callback), then resets it.
pub fn warm_up(engine: &mut Engine, n_in: usize, block: usize) -> Result<()> {
    let zeros = vec![0.0f32; block];
    let ins: Vec<&[f32]> = (0..n_in).map(|_| zeros.as_slice()).collect();
    let mut l = vec![0.0f32; block];
    let mut r = vec![0.0f32; block];
    let taps = engine.design().filters[0].first().map_or(0, |f| f.len());
    for _ in 0..(2 * taps).div_ceil(block) + 2 {
        let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
        engine.process(&ins, &mut outs)?;
    }
    engine.reset();
    Ok(())
}

/// Starts the OSC listener on 127.0.0.1:`port` if given.
pub fn spawn_osc(port: Option<u16>, state: &Arc<HeadState>) -> Result<Option<OscListener>> {
    match port {
        Some(p) => {
            let l = OscListener::spawn(&format!("127.0.0.1:{p}"), state.clone())
                .context("OSC listener")?;
            eprintln!("listening for OSC head tracking on {}", l.local_addr());
            Ok(Some(l))
        }
        None => Ok(None),
    }
}

/// Resident set size of this process in bytes (`/proc/self/statm`, second field × page size).
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Histogram of per-block CPU times with 1 µs bins (allocated once, before the real-time loop).
pub struct CpuHistogram {
    bins: Vec<u64>,
    count: u64,
    sum_s: f64,
    max_s: f64,
}

impl CpuHistogram {
    /// Bins up to `max_us` microseconds (longer times land in the last bin).
    pub fn new(max_us: usize) -> Self {
        Self {
            bins: vec![0; max_us + 1],
            count: 0,
            sum_s: 0.0,
            max_s: 0.0,
        }
    }
    /// Records one block's CPU time.
    pub fn add(&mut self, t_s: f64) {
        let i = ((t_s * 1e6) as usize).min(self.bins.len() - 1);
        self.bins[i] += 1;
        self.count += 1;
        self.sum_s += t_s;
        self.max_s = self.max_s.max(t_s);
    }
    /// Mean in seconds.
    pub fn mean_s(&self) -> f64 {
        self.sum_s / self.count.max(1) as f64
    }
    /// Largest time in seconds.
    pub fn max_s(&self) -> f64 {
        self.max_s
    }
    /// Upper edge of the bin holding quantile `q` (0..1), seconds.
    pub fn quantile_s(&self, q: f64) -> f64 {
        let target = (q * self.count as f64).ceil() as u64;
        let mut acc = 0;
        for (i, &b) in self.bins.iter().enumerate() {
            acc += b;
            if acc >= target.max(1) {
                return (i + 1) as f64 * 1e-6;
            }
        }
        self.max_s
    }
}

/// Puts the calling thread under SCHED_FIFO at priority 60 (Unix); false if not permitted.
fn promote_to_fifo() -> bool {
    #[cfg(unix)]
    {
        use thread_priority::unix::{
            RealtimeThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        use thread_priority::{ThreadPriority, ThreadPriorityValue};
        let Ok(value) = ThreadPriorityValue::try_from(60u8) else {
            return false;
        };
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Crossplatform(value),
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .is_ok()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Most dropouts whose details the soak keeps.
const MAX_EVENTS: usize = 16;

/// What the soak's audio thread reports.
struct SoakAudio {
    hist: CpuHistogram,
    dropouts: u64,
    /// Blocks whose processing alone took longer than a block period.
    cpu_overruns: u64,
    worst_s: f64,
    rt: bool,
    /// First dropouts: (time s, CPU of the block s, lateness s).
    events: Vec<(f64, f64, f64)>,
}

/// `sphear live --soak SECONDS`: the engine paced in real time (one audio thread, deadlines
/// every block period) over a generated em32 scene (three plane-wave sources, 10 s looped),
/// with a head tracker thread turning the head (yaw ±90° at 0.2 Hz, pitch ±20° at 0.13 Hz, 100
/// updates/s) and a control thread swapping between the centred and low-latency designs at
/// 10 s and then every 30 s (designed on a worker thread). Reports dropouts (blocks finished after their deadline),
/// the resident memory from `/proc/self/statm` once per second, and per-block CPU statistics.
fn run_soak(args: &LiveArgs, seconds: f64) -> Result<ExitCode> {
    use sphear_core::Direction;
    use sphear_core::signals::{harmonic_complex, pink_noise};
    use sphear_render::sim::{PlaneWaveSource, simulate_array};

    if !(seconds > 0.0 && seconds <= 86_400.0) {
        bail!("--soak must be between 0 and 86400 s, got {seconds}");
    }
    let fs = args.rate as f64;
    let block = args.block;
    let loop_len = (10.0 * fs) as usize;
    let array = sphear_sh::array::ArrayGeometry::em32();
    let scene = simulate_array(
        &array,
        &[
            PlaneWaveSource {
                direction: Direction::from_deg(30.0, 0.0),
                signal: pink_noise(loop_len, 0.05, 1),
            },
            PlaneWaveSource {
                direction: Direction::from_deg(-100.0, 10.0),
                signal: harmonic_complex(loop_len, fs, 140.0, 0.05),
            },
            PlaneWaveSource {
                direction: Direction::from_deg(150.0, 40.0),
                signal: pink_noise(loop_len, 0.03, 2),
            },
        ],
        fs,
        sphear_core::SPEED_OF_SOUND_M_S,
    );
    let cfg = engine_config(args, 32)?;
    let hrtf = Arc::new(resolve_hrtf(args.hrtf.as_deref(), fs)?.set);
    let mut engine = Engine::new(cfg.clone(), &hrtf)?;
    engine.prepare(fs, block)?;
    warm_up(&mut engine, 32, block)?;
    let mut swapper = engine.swapper().context("swapper")?;
    let head = engine.head_rotation();
    eprintln!(
        "soak: {seconds} s, em32 {} order {}, block {block}, {}",
        engine.design().method.name(),
        engine.design().order,
        latency_line(&engine, fs, block)
    );
    let period_s = block as f64 / fs;
    let total_blocks = (seconds / period_s).ceil() as u64;
    let stop = Arc::new(AtomicBool::new(false));
    let done_blocks = Arc::new(std::sync::atomic::AtomicU64::new(0));

    // Audio thread: everything allocated before the loop.
    let audio = {
        let stop = Arc::clone(&stop);
        let done_blocks = Arc::clone(&done_blocks);
        std::thread::Builder::new()
            .name("sphear-soak-audio".into())
            .spawn(move || -> Result<SoakAudio> {
                // Real-time priority as an audio callback would have (SCHED_FIFO, priority 60,
                // below JACK's 70); without permission the soak runs at normal priority.
                let rt = promote_to_fifo();
                let mut hist = CpuHistogram::new(20_000);
                let mut out = [vec![0.0f32; block], vec![0.0f32; block]];
                let mut ins: [&[f32]; 32] = [&[]; 32];
                let (mut dropouts, mut worst_lateness_s, mut cpu_overruns) = (0u64, 0f64, 0u64);
                // The first dropouts (time, CPU of that block, lateness), room reserved here.
                let mut events: Vec<(f64, f64, f64)> = Vec::with_capacity(MAX_EVENTS);
                let mut pos = 0usize;
                let start = Instant::now();
                for k in 0..total_blocks {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // Block k's input is complete at (k+1)·T; it must be played by (k+2)·T.
                    let ready = Duration::from_secs_f64((k + 1) as f64 * period_s);
                    let el = start.elapsed();
                    if ready > el {
                        std::thread::sleep(ready - el);
                    }
                    if pos + block > loop_len {
                        pos = 0;
                    }
                    for (i, c) in ins.iter_mut().zip(&scene) {
                        *i = &c[pos..pos + block];
                    }
                    pos += block;
                    let t0 = Instant::now();
                    let (l, r) = out.split_at_mut(1);
                    let mut outs: [&mut [f32]; 2] = [&mut l[0], &mut r[0]];
                    engine.process(&ins, &mut outs)?;
                    let cpu = t0.elapsed().as_secs_f64();
                    hist.add(cpu);
                    if cpu > period_s {
                        cpu_overruns += 1;
                    }
                    let finished = start.elapsed().as_secs_f64();
                    let deadline = (k + 2) as f64 * period_s;
                    if finished > deadline {
                        dropouts += 1;
                        worst_lateness_s = worst_lateness_s.max(finished - deadline);
                        if events.len() < MAX_EVENTS {
                            events.push((finished, cpu, finished - deadline));
                        }
                    }
                    if !out[0].iter().chain(out[1].iter()).all(|v| v.is_finite()) {
                        bail!("non-finite output in block {k}");
                    }
                    done_blocks.store(k + 1, Ordering::Relaxed);
                }
                Ok(SoakAudio {
                    hist,
                    dropouts,
                    cpu_overruns,
                    worst_s: worst_lateness_s,
                    rt,
                    events,
                })
            })?
    };
    // Head tracker thread: 100 updates per second.
    let tracker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let t = t0.elapsed().as_secs_f64();
                let yaw = 90.0 * (2.0 * std::f64::consts::PI * 0.2 * t).sin();
                let pitch = 20.0 * (2.0 * std::f64::consts::PI * 0.13 * t).sin();
                head.set_ypr_deg(yaw, pitch, 0.0);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // Control thread (here): design swaps every 30 s, memory once per second.
    let other_cfg = {
        let mut c = cfg.clone();
        c.phase = match cfg.phase {
            FilterPhase::Centred => FilterPhase::low_latency(),
            FilterPhase::LowLatency { .. } => FilterPhase::Centred,
        };
        c
    };
    // One long-lived design worker (its allocations stay in one malloc arena).
    let (req_tx, req_rx) = std::sync::mpsc::channel::<EngineConfig>();
    let (res_tx, res_rx) = std::sync::mpsc::channel();
    let worker = {
        let hrtf = Arc::clone(&hrtf);
        std::thread::spawn(move || {
            while let Ok(c) = req_rx.recv() {
                if res_tx.send(ShDomainDesign::design(&c, &hrtf)).is_err() {
                    break;
                }
            }
        })
    };
    let mut next_is_other = true;
    let mut pending: Option<()> = None;
    let mut rss: Vec<(f64, u64)> = Vec::new();
    let bar = FrameProgress::new(total_blocks, "soak");
    let t_start = Instant::now();
    // First swap after 10 s, then every 30 s.
    let mut last_swap = -20.0;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let t = t_start.elapsed().as_secs_f64();
        let done = done_blocks.load(Ordering::Relaxed);
        bar.update(done, total_blocks);
        if rss.last().is_none_or(|&(t_last, _)| t - t_last >= 1.0)
            && let Some(b) = rss_bytes()
        {
            rss.push((t, b));
        }
        if pending.is_none() && t - last_swap >= 30.0 {
            let c = if next_is_other {
                other_cfg.clone()
            } else {
                cfg.clone()
            };
            req_tx.send(c).context("design worker")?;
            pending = Some(());
            next_is_other = !next_is_other;
            last_swap = t;
        }
        if pending.is_some()
            && let Ok(design) = res_rx.try_recv()
        {
            pending = None;
            swapper.submit(design?)?;
        }
        swapper.collect();
        if audio.is_finished() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    bar.finish();
    let _ = tracker.join();
    let SoakAudio {
        hist,
        dropouts,
        cpu_overruns,
        worst_s: worst,
        rt,
        events,
    } = audio
        .join()
        .map_err(|_| anyhow::anyhow!("audio thread panicked"))??;
    swapper.collect();
    drop(req_tx);
    let _ = worker.join();
    let period_us = period_s * 1e6;
    println!(
        "soak {:.1} s ({} priority): {} blocks of {block} ({:.2} ms), dropouts (blocks finished after their deadline) {dropouts} \
         (worst {:.3} ms late; blocks whose own CPU time exceeded the period: {cpu_overruns}), design swaps {}",
        t_start.elapsed().as_secs_f64(),
        if rt { "real-time" } else { "normal" },
        hist.count,
        period_s * 1e3,
        worst * 1e3,
        swapper.swaps_completed()
    );
    println!(
        "CPU per block: mean {:.1} us ({:.2} %), p99 {:.0} us ({:.2} %), p99.9 {:.0} us, max {:.1} us ({:.2} % of the period)",
        hist.mean_s() * 1e6,
        hist.mean_s() * 1e6 / period_us * 100.0,
        hist.quantile_s(0.99) * 1e6,
        hist.quantile_s(0.99) * 1e6 / period_us * 100.0,
        hist.quantile_s(0.999) * 1e6,
        hist.max_s() * 1e6,
        hist.max_s() * 1e6 / period_us * 100.0
    );
    for &(t, cpu, late) in &events {
        println!(
            "  dropout at {t:.3} s: block CPU {:.1} us, finished {:.3} ms after its deadline",
            cpu * 1e6,
            late * 1e3
        );
    }
    let mut next_print = 0.0;
    for &(t, b) in &rss {
        if t >= next_print {
            println!("  RSS at {t:6.1} s: {:.1} MiB", b as f64 / 1048576.0);
            next_print += 60.0;
        }
    }
    // Memory from 20 s on (after the first design swap at 10 s, whose transient design-time
    // allocations the allocator keeps for reuse) must stay flat.
    let settled: Vec<u64> = rss
        .iter()
        .filter(|(t, _)| *t >= 20.0)
        .map(|&(_, b)| b)
        .collect();
    let flat = if let (Some(&first), Some(&min), Some(&max), Some(&last)) = (
        settled.first(),
        settled.iter().min(),
        settled.iter().max(),
        settled.last(),
    ) {
        println!(
            "RSS (from /proc/self/statm, from 20 s on): first {:.1} MiB, min {:.1}, max {:.1}, last {:.1} MiB ({} samples)",
            first as f64 / 1048576.0,
            min as f64 / 1048576.0,
            max as f64 / 1048576.0,
            last as f64 / 1048576.0,
            settled.len()
        );
        // Each swap designs anew on the worker (tens of MiB of transient design matrices,
        // reused by the allocator) and holds two kernels (about 1 MiB) for a while; allow 8 MiB
        // of spread, a leak would grow with every swap.
        max - min <= 8 << 20
    } else {
        println!("RSS: run shorter than 20 s, not judged");
        true
    };
    Ok(if dropouts == 0 && flat {
        ExitCode::SUCCESS
    } else {
        eprintln!("soak FAILED: dropouts {dropouts}, memory flat: {flat}");
        ExitCode::from(1)
    })
}
