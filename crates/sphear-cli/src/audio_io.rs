//! Audio-device I/O of `sphear live` through cpal (cargo feature `audio-io`; `jack` adds the
//! JACK host).
//!
//! Threads: the input callback (device input, interleaved) writes into a lock-free rtrb ring;
//! the output callback reads the ring (or a preloaded WAV looped), runs
//! [`sphear_engine::Engine::process`] in chunks of at most `--block` frames and interleaves the
//! two ears into the device's first two channels (others silent). Neither callback allocates,
//! locks, logs or does I/O: all buffers are allocated before the streams start, the slice
//! tables live on the stack, the counters are atomics. The control thread (main) forwards OSC
//! head tracking, prints nothing until exit, stops on Ctrl-C or `--seconds`, then prints the
//! counters.
//!
//! Counters: `xruns` = cpal stream errors of kind `Xrun` seen by the output stream (JACK reports
//! every server xrun to every client, so the input stream's count, printed beside it, is
//! normally the same xruns again);
//! `stream errors` = other errors from the error callbacks; `underruns` = output callbacks that
//! found fewer input frames in the ring than they needed (the missing input is silence);
//! `overruns` = input frames dropped because the ring was full; `late callbacks` = callbacks
//! whose processing took longer than their own duration; `gaps` = intervals between output
//! callbacks longer than 1.5 periods + 1 ms (a missed deadline seen from our side).
//!
//! FTZ/DAZ (flush denormals to zero) is not set: on x86 it needs `_mm_setcsr`, an `unsafe`
//! intrinsic, which the workspace's `forbid(unsafe_code)` rules out; the engine's signals are
//! not recursive (FIR/FFT only), so denormals cannot build up in feedback loops.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use sphear_core::wav::read_wav;
use sphear_engine::Engine;
use sphear_osc::HeadState;
use sphear_render::hrtf_source::resolve_hrtf;

use crate::cmd_live::{LiveArgs, engine_config, latency_line, spawn_osc, warm_up};

/// Most input channels a callback handles (order-7 AmbiX).
const MAX_IN_CH: usize = 64;

#[derive(Debug, Default)]
struct Counters {
    xruns: AtomicU64,
    xruns_input: AtomicU64,
    stream_errors: AtomicU64,
    underruns: AtomicU64,
    overruns: AtomicU64,
    late: AtomicU64,
    gaps: AtomicU64,
    callbacks: AtomicU64,
    frames: AtomicU64,
    cpu_max_ns: AtomicU64,
    cpu_sum_ns: AtomicU64,
    /// Times of the first and last xrun or gap, ms after the streams started (u64::MAX: none).
    first_event_ms: AtomicU64,
    last_event_ms: AtomicU64,
}

impl Counters {
    fn new() -> Self {
        Self {
            first_event_ms: AtomicU64::new(u64::MAX),
            ..Self::default()
        }
    }
    /// Notes the time of an xrun or gap (a clock read and two atomics: real-time safe).
    fn event(&self, origin: Instant) {
        let ms = origin.elapsed().as_millis() as u64;
        self.first_event_ms.fetch_min(ms, Ordering::Relaxed);
        self.last_event_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

fn host_by_name(name: Option<&str>) -> Result<cpal::Host> {
    let Some(name) = name else {
        return Ok(cpal::default_host());
    };
    let want = name.to_ascii_lowercase();
    for id in cpal::available_hosts() {
        if id.name().to_ascii_lowercase() == want {
            return cpal::host_from_id(id).map_err(|e| anyhow!("audio host {name}: {e}"));
        }
    }
    if want == "jack" && !cfg!(feature = "jack") {
        bail!(
            "this sphear was built without the JACK host: rebuild with `--features jack` (needs libjack-jackd2-dev)"
        );
    }
    bail!(
        "unknown or unavailable audio host {name}; available: {}",
        cpal::available_hosts()
            .iter()
            .map(|h| h.name())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn device_label(d: &cpal::Device) -> String {
    let id = d.id().map(|i| i.to_string()).unwrap_or_default();
    match d.description() {
        Ok(desc) => format!("{} [{id}]", desc.name()),
        Err(_) => id,
    }
}

fn find_device(host: &cpal::Host, name: &str, input: bool) -> Result<cpal::Device> {
    if name == "default" {
        let d = if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        };
        return d.ok_or_else(|| {
            anyhow!(
                "no default {} device on host {}",
                if input { "input" } else { "output" },
                host.id().name()
            )
        });
    }
    let mut devices: Vec<cpal::Device> = if input {
        host.input_devices()?.collect()
    } else {
        host.output_devices()?.collect()
    };
    let exact = devices.iter().position(|d| {
        d.description().is_ok_and(|x| x.name() == name)
            || d.id()
                .is_ok_and(|i| i.to_string() == name || i.id() == name)
    });
    let idx = exact.or_else(|| devices.iter().position(|d| device_label(d).contains(name)));
    match idx {
        Some(i) => Ok(devices.swap_remove(i)),
        None => bail!(
            "no {} device matching {name:?} on host {} (see sphear live --list-devices); found: {}",
            if input { "input" } else { "output" },
            host.id().name(),
            devices
                .iter()
                .map(device_label)
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// `sphear live --list-devices`.
pub fn list_devices() -> Result<ExitCode> {
    for id in cpal::available_hosts() {
        println!("host {}", id.name());
        let host = match cpal::host_from_id(id) {
            Ok(h) => h,
            Err(e) => {
                println!("  unavailable: {e}");
                continue;
            }
        };
        match host.devices() {
            Ok(devs) => {
                for d in devs {
                    let inp = d
                        .default_input_config()
                        .map(|c| format!("in {} ch {} Hz", c.channels(), c.sample_rate()))
                        .unwrap_or_default();
                    let out = d
                        .default_output_config()
                        .map(|c| format!("out {} ch {} Hz", c.channels(), c.sample_rate()))
                        .unwrap_or_default();
                    println!("  {}  {inp} {out}", device_label(&d));
                }
            }
            Err(e) => println!("  devices unavailable: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn error_callback(
    c: Arc<Counters>,
    origin: Instant,
    input: bool,
) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e: cpal::Error| {
        if e.kind() == cpal::ErrorKind::Xrun {
            if input {
                c.xruns_input.fetch_add(1, Ordering::Relaxed);
            } else {
                c.xruns.fetch_add(1, Ordering::Relaxed);
            }
            c.event(origin);
        } else {
            c.stream_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Whether the device's default configuration allows a fixed buffer of `block` frames.
fn supports_block(cfg: Option<cpal::SupportedStreamConfig>, block: usize) -> bool {
    match cfg.map(|c| *c.buffer_size()) {
        Some(cpal::SupportedBufferSize::Range { min, max }) => {
            (min as usize..=max as usize).contains(&block)
        }
        _ => false,
    }
}

fn stream_config(channels: u16, rate: u32, block: usize, fixed: bool) -> cpal::StreamConfig {
    cpal::StreamConfig {
        channels,
        sample_rate: rate,
        buffer_size: if fixed {
            cpal::BufferSize::Fixed(block as u32)
        } else {
            cpal::BufferSize::Default
        },
    }
}

/// `sphear live --output-device NAME (--input-device NAME | --input FILE.wav)`.
pub fn run_device(args: &LiveArgs) -> Result<ExitCode> {
    let Some(out_name) = args.output_device.as_deref() else {
        bail!("device mode needs --output-device NAME (see --list-devices)");
    };
    if args.input.is_some() == args.input_device.is_some() {
        bail!("give exactly one input: --input-device NAME or --input FILE.wav (looped)");
    }
    let host = host_by_name(args.host.as_deref())?;
    let fs = args.rate;
    // Input: a WAV loaded whole (looped) or a device.
    let looped: Option<Vec<Vec<f32>>> = match &args.input {
        Some(p) => {
            let (info, data) = read_wav(p)?;
            let rate = info.sample_rate_hz;
            if rate != fs {
                bail!(
                    "{}: {rate} Hz, the devices run at --rate {fs} Hz",
                    p.display()
                );
            }
            if data.first().is_none_or(|c| c.len() < args.block) {
                bail!("{}: shorter than one block", p.display());
            }
            Some(data)
        }
        None => None,
    };
    let n_in = looped.as_ref().map_or(args.input_channels, |d| d.len());
    if n_in > MAX_IN_CH {
        bail!("{n_in} input channels: at most {MAX_IN_CH}");
    }
    let cfg = engine_config(args, n_in)?;
    let hrtf = resolve_hrtf(args.hrtf.as_deref(), fs as f64)?;
    eprintln!("HRTF: {}", hrtf.origin);
    let mut engine = Engine::new(cfg, &hrtf.set)?;
    engine.prepare(fs as f64, args.block)?;
    engine.set_rotation(args.yaw, 0.0, 0.0);
    let head = engine.head_rotation();
    warm_up(&mut engine, n_in, args.block)?;
    let out_dev = find_device(&host, out_name, false)?;
    let out_ch = out_dev
        .default_output_config()
        .map(|c| c.channels())
        .unwrap_or(2)
        .max(2);
    eprintln!(
        "host {}, output {} ({out_ch} ch), input {}; {} inputs -> 2, {} order {}, block {}, {}",
        host.id().name(),
        device_label(&out_dev),
        args.input_device
            .as_deref()
            .map_or_else(|| "looped WAV".to_string(), str::to_string),
        n_in,
        engine.design().method.name(),
        engine.design().order,
        args.block,
        latency_line(&engine, fs as f64, args.block)
    );
    let counters = Arc::new(Counters::new());
    let origin = Instant::now();
    let block = args.block;
    // Ring from the input callback: 16 blocks of interleaved frames.
    let (mut producer, mut consumer) = rtrb::RingBuffer::<f32>::new(16 * block * n_in);
    // cpal's JACK host makes the input and the output separate clients whose order within a
    // cycle is not fixed: one block of silence in the ring makes the output independent of it
    // (full duplex: + one block of latency).
    if let Ok(chunk) = producer.write_chunk_uninit(block * n_in) {
        chunk.fill_from_iter(std::iter::repeat(0.0f32));
    }
    let mut in_stream = None;
    if let Some(in_name) = args.input_device.as_deref() {
        let in_dev = find_device(&host, in_name, true)?;
        let c = Arc::clone(&counters);
        let fixed = supports_block(in_dev.default_input_config().ok(), block);
        let s = in_dev
            .build_input_stream(
                stream_config(n_in as u16, fs, block, fixed),
                {
                    let c = Arc::clone(&c);
                    move |data: &[f32], _: &cpal::InputCallbackInfo| {
                        let n = data.len().min(producer.slots());
                        if n < data.len() {
                            c.overruns
                                .fetch_add((data.len() - n) as u64, Ordering::Relaxed);
                        }
                        if let Ok(chunk) = producer.write_chunk_uninit(n) {
                            chunk.fill_from_iter(data[..n].iter().copied());
                        }
                    }
                },
                error_callback(Arc::clone(&c), origin, true),
                None,
            )
            .with_context(|| format!("input stream on {}", device_label(&in_dev)))?;
        eprintln!("input {} ({n_in} ch)", device_label(&in_dev));
        in_stream = Some(s);
    }
    // Output callback state, all allocated here.
    let mut planar = vec![vec![0.0f32; block]; n_in];
    let mut ears = [vec![0.0f32; block], vec![0.0f32; block]];
    // Touch the pages now (calloc'd memory is mapped lazily).
    planar
        .iter_mut()
        .chain(ears.iter_mut())
        .for_each(|c| c.fill(1.0));
    let mut loop_pos = 0usize;
    let expected_period = Duration::from_secs_f64(block as f64 / fs as f64);
    let mut last_cb: Option<Instant> = None;
    let c = Arc::clone(&counters);
    let out_cb = move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
        let t0 = Instant::now();
        let frames = data.len() / out_ch as usize;
        if let Some(prev) = last_cb {
            let dt = t0.duration_since(prev);
            let period = Duration::from_secs_f64(frames as f64 / fs as f64).max(expected_period);
            if dt > period + period / 2 + Duration::from_millis(1) {
                c.gaps.fetch_add(1, Ordering::Relaxed);
                c.event(origin);
            }
        }
        last_cb = Some(t0);
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(block);
            match &looped {
                Some(src) => {
                    let len = src[0].len();
                    for (p, s) in planar.iter_mut().zip(src) {
                        for (t, v) in p[..n].iter_mut().enumerate() {
                            *v = s[(loop_pos + t) % len];
                        }
                    }
                    loop_pos = (loop_pos + n) % len;
                }
                None => {
                    let need = n * n_in;
                    if consumer.slots() < need {
                        c.underruns.fetch_add(1, Ordering::Relaxed);
                        planar.iter_mut().for_each(|p| p[..n].fill(0.0));
                    } else if let Ok(chunk) = consumer.read_chunk(need) {
                        let (a, b) = chunk.as_slices();
                        for (i, v) in a.iter().chain(b).enumerate() {
                            planar[i % n_in][i / n_in] = *v;
                        }
                        chunk.commit_all();
                    }
                }
            }
            let mut ins: [&[f32]; MAX_IN_CH] = [&[]; MAX_IN_CH];
            for (i, p) in ins.iter_mut().zip(&planar) {
                *i = &p[..n];
            }
            let (l, r) = ears.split_at_mut(1);
            let mut outs: [&mut [f32]; 2] = [&mut l[0][..n], &mut r[0][..n]];
            if engine.process(&ins[..n_in], &mut outs).is_err() {
                c.stream_errors.fetch_add(1, Ordering::Relaxed);
            }
            for (t, frame) in data[done * out_ch as usize..(done + n) * out_ch as usize]
                .chunks_mut(out_ch as usize)
                .enumerate()
            {
                frame[0] = ears[0][t];
                frame[1] = ears[1][t];
                frame[2..].fill(0.0);
            }
            done += n;
        }
        let cpu = t0.elapsed();
        let ns = cpu.as_nanos() as u64;
        c.cpu_sum_ns.fetch_add(ns, Ordering::Relaxed);
        c.cpu_max_ns.fetch_max(ns, Ordering::Relaxed);
        if cpu.as_secs_f64() > frames as f64 / fs as f64 {
            c.late.fetch_add(1, Ordering::Relaxed);
        }
        c.callbacks.fetch_add(1, Ordering::Relaxed);
        c.frames.fetch_add(frames as u64, Ordering::Relaxed);
    };
    let fixed = supports_block(out_dev.default_output_config().ok(), block);
    let out_stream = out_dev
        .build_output_stream(
            stream_config(out_ch, fs, block, fixed),
            out_cb,
            error_callback(Arc::clone(&counters), origin, false),
            None,
        )
        .with_context(|| {
            format!(
                "output stream on {} at {fs} Hz, block {block}",
                device_label(&out_dev)
            )
        })?;
    if !fixed {
        eprintln!(
            "the output device does not offer {block}-frame buffers: using its default buffer size"
        );
    }
    if let Some(s) = &in_stream {
        s.play().context("starting the input stream")?;
    }
    out_stream.play().context("starting the output stream")?;

    let state = Arc::new(HeadState::new());
    let _listener = spawn_osc(args.osc_port, &state)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("installing the Ctrl-C handler")?;
    }
    let t_start = Instant::now();
    let mut last_received = 0;
    eprintln!(
        "running{} (Ctrl-C to stop)",
        args.seconds
            .map_or(String::new(), |s| format!(" for {s} s"))
    );
    while !stop.load(Ordering::Relaxed)
        && args
            .seconds
            .is_none_or(|s| t_start.elapsed().as_secs_f64() < s)
    {
        std::thread::sleep(Duration::from_millis(20));
        let received = state.received.load(Ordering::Relaxed);
        if received != last_received {
            let [y, p, r] = state.load_ypr_deg();
            head.set_ypr_deg(y, p, r);
            last_received = received;
        }
    }
    drop(out_stream);
    drop(in_stream);
    let el = t_start.elapsed().as_secs_f64();
    let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let cbs = ld(&counters.callbacks);
    let frames = ld(&counters.frames);
    let period_us = if cbs > 0 {
        frames as f64 / cbs as f64 / fs as f64 * 1e6
    } else {
        0.0
    };
    let mean_us = ld(&counters.cpu_sum_ns) as f64 / cbs.max(1) as f64 / 1e3;
    let max_us = ld(&counters.cpu_max_ns) as f64 / 1e3;
    let xruns = ld(&counters.xruns);
    println!(
        "ran {el:.1} s: {cbs} output callbacks, {frames} frames ({:.1} callbacks/s, {:.0} frames each); \
         xruns {xruns} (input stream saw {}), stream errors {}, underruns {}, overruns {}, late callbacks {}, gaps {}; \
         CPU per callback mean {mean_us:.1} us ({:.2} %), max {max_us:.1} us ({:.2} %); OSC packets {} (malformed {})",
        cbs as f64 / el.max(1e-9),
        frames as f64 / cbs.max(1) as f64,
        ld(&counters.xruns_input),
        ld(&counters.stream_errors),
        ld(&counters.underruns),
        ld(&counters.overruns),
        ld(&counters.late),
        ld(&counters.gaps),
        mean_us / period_us.max(1e-9) * 100.0,
        max_us / period_us.max(1e-9) * 100.0,
        state.received.load(Ordering::Relaxed),
        state.malformed.load(Ordering::Relaxed),
    );
    let first = ld(&counters.first_event_ms);
    if first != u64::MAX {
        println!(
            "xruns/gaps between {:.3} s and {:.3} s after the streams were built",
            first as f64 / 1e3,
            ld(&counters.last_event_ms) as f64 / 1e3
        );
    }
    if cbs == 0 {
        bail!("the output device never called back (is the audio server running?)");
    }
    let clean = xruns == 0
        && ld(&counters.xruns_input) == 0
        && ld(&counters.underruns) == 0
        && ld(&counters.late) == 0
        && ld(&counters.gaps) == 0;
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
