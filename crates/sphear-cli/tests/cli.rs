//! Contract tests of the `sphear` command line (exit codes, channel counts, lengths, errors).

mod common;

use std::path::Path;

use common::{shared, sphear, stderr};

fn write_wav(path: &Path, rate: u32, chans: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: chans.len() as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..chans[0].len() {
        for c in chans {
            w.write_sample(c[i]).expect("write");
        }
    }
    w.finalize().expect("finalize");
}

fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<f32>>) {
    let mut r = hound::WavReader::open(path).expect("open");
    let spec = r.spec();
    let ch = spec.channels as usize;
    let mut out = vec![Vec::new(); ch];
    for (i, s) in r.samples::<f32>().enumerate() {
        out[i % ch].push(s.expect("sample"));
    }
    (spec, out)
}

#[test]
fn encode_real_em32_file_gives_ambix_of_same_rate_and_length() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("foa.wav");
    let input = shared("em32_micarraylib/3d-marco/+90deg_065_Eigenmike_Raw_32ch.wav");
    let o = sphear(&[
        "encode",
        input.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (spec, data) = read_wav(&out);
    assert_eq!(spec.channels, 25);
    assert_eq!(spec.sample_rate, 48000);
    assert_eq!(data[0].len(), 4800);
    // lower order on request
    let out2 = dir.path().join("o1.wav");
    let o = sphear(&[
        "encode",
        input.to_str().expect("utf8"),
        "-o",
        out2.to_str().expect("utf8"),
        "--order",
        "1",
        "--max-gain-db",
        "10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_wav(&out2).0.channels, 4);
}

#[test]
fn encode_errors_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out.wav");
    let outs = out.to_str().expect("utf8");
    // wrong channel count
    let stereo = dir.path().join("stereo.wav");
    write_wav(&stereo, 48000, &[vec![0.1; 100], vec![0.2; 100]]);
    let o = sphear(&["encode", stereo.to_str().expect("utf8"), "-o", outs]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected 32 channels"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    // NaN samples
    let mut chans = vec![vec![0.0f32; 64]; 32];
    chans[5][10] = f32::NAN;
    let nan = dir.path().join("nan.wav");
    write_wav(&nan, 48000, &chans);
    let o = sphear(&["encode", nan.to_str().expect("utf8"), "-o", outs]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).to_lowercase().contains("not finite"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    // truncated file
    let good = dir.path().join("good.wav");
    write_wav(&good, 48000, &vec![vec![0.01f32; 500]; 32]);
    let bytes = std::fs::read(&good).expect("read");
    let trunc = dir.path().join("trunc.wav");
    std::fs::write(&trunc, &bytes[..bytes.len() - 1000]).expect("write");
    let o = sphear(&["encode", trunc.to_str().expect("utf8"), "-o", outs]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
    assert!(!out.exists());
    // unreadable
    let o = sphear(&[
        "encode",
        dir.path().join("missing.wav").to_str().expect("utf8"),
        "-o",
        outs,
    ]);
    assert_eq!(o.status.code(), Some(2));
    // unknown field in an array file
    let toml = dir.path().join("arr.toml");
    std::fs::write(
        &toml,
        "radius_m = 0.042\nsphere = \"rigid\"\nshape = \"ball\"\ncapsules = []\n",
    )
    .expect("write");
    let o = sphear(&[
        "encode",
        good.to_str().expect("utf8"),
        "-o",
        outs,
        "--array",
        toml.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shape"), "{}", stderr(&o));
    assert!(!out.exists());
    // order too high
    let o = sphear(&[
        "encode",
        good.to_str().expect("utf8"),
        "-o",
        outs,
        "--order",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("order"), "{}", stderr(&o));
    // never overwrite the input
    let before = std::fs::read(&good).expect("read");
    let o = sphear(&[
        "encode",
        good.to_str().expect("utf8"),
        "-o",
        good.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&good).expect("read"), before);
    // no temp files left behind
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn hrtf_info_reports_counts() {
    let f = shared("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa");
    let o = sphear(&["hrtf", "info", f.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("SimpleFreeFieldHRIR"), "{s}");
    assert!(s.contains("710"), "{s}");
    assert!(s.contains("44100"), "{s}");
    assert!(s.contains("512"), "{s}");
    let o = sphear(&["hrtf", "info", "/nonexistent.sofa"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn render_contract_em32_and_ambix() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = shared("em32_micarraylib/3d-marco/+90deg_065_Eigenmike_Raw_32ch.wav");
    let sofa = shared("sofa_libmysofa/FHK_HRIR_L2354.sofa");
    let out = dir.path().join("bin.wav");
    let o = sphear(&[
        "render",
        input.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
        "--hrtf",
        sofa.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("HRTF:"),
        "log must name the HRTF: {}",
        stderr(&o)
    );
    let (spec, data) = read_wav(&out);
    assert_eq!(
        (spec.channels, spec.sample_rate, data[0].len()),
        (2, 48000, 4800)
    );
    assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    // AmbiX path: encode then render with magls (default for ambix)
    let amb = dir.path().join("amb.wav");
    let o = sphear(&[
        "encode",
        input.to_str().expect("utf8"),
        "-o",
        amb.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out2 = dir.path().join("bin2.wav");
    let o = sphear(&[
        "render",
        amb.to_str().expect("utf8"),
        "-o",
        out2.to_str().expect("utf8"),
        "--hrtf",
        sofa.to_str().expect("utf8"),
        "--yaw",
        "-30",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_wav(&out2).1[0].len(), 4800);
    // emagls on ambix is refused
    let o = sphear(&[
        "render",
        amb.to_str().expect("utf8"),
        "-o",
        out2.to_str().expect("utf8"),
        "--method",
        "emagls",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // help states the yaw sign convention
    let o = sphear(&["render", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("yaw positive = head turns LEFT"));
}

#[test]
fn demo_runs_on_embedded_defaults() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = sphear(&[
        "demo",
        "-o",
        dir.path().to_str().expect("utf8"),
        "--duration-s",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("HRTF:"), "{s}");
    for f in [
        "em32_scene.wav",
        "reference_direct_hrir.wav",
        "em32_ls.wav",
        "em32_magls.wav",
        "em32_emagls.wav",
        "ambix_magls.wav",
    ] {
        let (spec, data) = read_wav(&dir.path().join(f));
        assert_eq!(spec.sample_rate, 48000, "{f}");
        assert_eq!(data[0].len(), 48000, "{f}");
        assert!(data.iter().flatten().all(|v| v.is_finite()));
    }
}

#[test]
fn simulate_and_dataset_commands() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        "duration_s = 0.5\nseed = 2\n[room]\ndims_m = [5.0, 4.0, 3.0]\nrt60_s = 0.3\n[sources]\ncount = 1\ndistance_range_m = [1.0, 1.5]\n[output]\nambix_order = 1\n",
    )
    .expect("write");
    let out = dir.path().join("scene");
    let o = sphear(&[
        "simulate",
        spec.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (f, ch) in [("em32.wav", 32), ("binaural.wav", 2), ("ambix.wav", 4)] {
        let (s, d) = read_wav(&out.join(f));
        assert_eq!((s.channels, d[0].len()), (ch, 24000), "{f}");
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).expect("meta"))
            .expect("json");
    assert!(meta["rt60_measured_t30_s_per_octave_125_to_8k"].is_array());
    // dataset, then a resumed rerun
    let ds = dir.path().join("ds");
    let args = [
        "dataset",
        spec.to_str().expect("utf8"),
        "-o",
        ds.to_str().expect("utf8"),
        "--count",
        "2",
        "--threads",
        "1",
    ];
    let o = sphear(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 generated"), "{}", stderr(&o));
    let o = sphear(&args);
    assert!(
        stderr(&o).contains("0 generated, 2 already present"),
        "{}",
        stderr(&o)
    );
    // bad specs and shards exit 2
    std::fs::write(&spec, "duration_s = 0.5\n[room]\nrt60 = 0.3\n").expect("write");
    let o = sphear(&[
        "simulate",
        spec.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("rt60"), "{}", stderr(&o));
    let o = sphear(&[
        "dataset",
        spec.to_str().expect("utf8"),
        "-o",
        ds.to_str().expect("utf8"),
        "--count",
        "2",
        "--shard",
        "3/2",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn live_file_mode_is_block_size_invariant() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = shared("em32_micarraylib/3d-marco/+90deg_065_Eigenmike_Raw_32ch.wav");
    let mut outs = Vec::new();
    for block in ["7", "256", "1023"] {
        let out = dir.path().join(format!("live_{block}.wav"));
        let o = sphear(&[
            "live",
            "--input",
            input.to_str().expect("utf8"),
            "--output",
            out.to_str().expect("utf8"),
            "--block",
            block,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("xruns"), "{}", stderr(&o));
        let (spec, data) = read_wav(&out);
        assert_eq!((spec.channels, data[0].len()), (2, 4800));
        outs.push(data);
    }
    assert_eq!(outs[0], outs[1], "block 7 and 256 differ");
    assert_eq!(outs[1], outs[2], "block 256 and 1023 differ");
    let o = sphear(&["live"]);
    assert_eq!(o.status.code(), Some(2));
    #[cfg(not(feature = "audio-io"))]
    {
        // Default build: device I/O is a cargo feature; the message says how to get it.
        let o = sphear(&["live", "--output-device", "default"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("--features audio-io"), "{}", stderr(&o));
        let o = sphear(&["live", "--input-device", "x", "--output-device", "y"]);
        assert_eq!(o.status.code(), Some(2));
        let o = sphear(&["live", "--list-devices"]);
        assert_eq!(o.status.code(), Some(2));
    }
    // Low-latency design: latency 64 + 64 samples, a different filter (the output changes) of
    // the same loudness: broadband level within 1 dB of the centred design's per ear (the
    // fidelity cost against direct HRIR rendering is measured in
    // sphear-engine/tests/low_latency.rs).
    let out = dir.path().join("live_ll.wav");
    let o = sphear(&[
        "live",
        "--input",
        input.to_str().expect("utf8"),
        "--output",
        out.to_str().expect("utf8"),
        "--low-latency",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("latency 128 samples"), "{}", stderr(&o));
    let (_, ll) = read_wav(&out);
    assert_eq!(ll[0].len(), 4800);
    assert_ne!(ll, outs[1], "--low-latency changed nothing");
    for ear in 0..2 {
        let e = |x: &[f32]| x[512..].iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
        let db = 10.0 * (e(&ll[ear]) / e(&outs[1][ear])).log10();
        println!("ear {ear}: level of the low-latency render vs the centred one {db:+.3} dB");
        assert!(db.abs() < 1.0, "ear {ear}: {db} dB");
    }
}
