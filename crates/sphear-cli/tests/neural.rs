//! `sphear render --method neural` and `sphear eval --methods …,neural` with a model directory
//! written here (an untrained lean model in the checkpoint layout: its residual head renders
//! eMagLS in the STFT domain), and the errors of the neural path.

use std::path::Path;
use std::process::Command;

use sphear_neural::infer::{LoadedModel, NeuralBinaural, StreamConfig, cpu_device};
use sphear_neural::training::TrainConfig;
use sphear_neural::{Anthropometry, FeatureConfig, ModelConfig};

fn simulate(dir: &Path) -> std::path::PathBuf {
    let spec = dir.join("spec.toml");
    std::fs::write(
        &spec,
        "duration_s = 0.5\n[room]\nfree_field = true\n[sources]\ncount = 1\npositions = [{ azimuth_deg = 70.0, elevation_deg = 0.0, distance_m = 2.0 }]\n[output]\nambix_order = 1\n",
    )
    .expect("spec");
    let scene = dir.join("scene");
    let st = Command::new(env!("CARGO_BIN_EXE_sphear"))
        .arg("simulate")
        .arg(&spec)
        .arg("-o")
        .arg(&scene)
        .output()
        .expect("simulate");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    scene
}

fn lean_model_dir(dir: &Path) -> std::path::PathBuf {
    let tc = TrainConfig::from_toml_str(
        "dataset_dir = 'unused'\noutput_dir = 'unused'\nsteps = 1\nmodel = 'lean'\n",
    )
    .expect("toml");
    let fc = FeatureConfig::low_latency();
    let mc = ModelConfig::lean(fc.num_planes(32), fc.num_aux(32), 32);
    let model = LoadedModel::initialised(mc, fc, &cpu_device()).expect("init");
    let out = dir.join("model");
    model.save_dir(&out, &tc).expect("save");
    out
}

/// The named columns of every row of an eval report's `rows.csv`.
fn report_columns(report: &Path, names: &[&str]) -> Vec<Vec<String>> {
    let csv = std::fs::read_to_string(report.join("rows.csv")).expect("rows.csv");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let cols: Vec<usize> = names
        .iter()
        .map(|n| header.iter().position(|h| h == n).expect(n))
        .collect();
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            cols.iter().map(|&i| f[i].to_string()).collect()
        })
        .collect()
}

#[test]
fn render_neural_with_a_model_directory() {
    let tmp = tempfile::tempdir().expect("tmp");
    let scene = simulate(tmp.path());
    let model_dir = lean_model_dir(tmp.path());
    let bin = env!("CARGO_BIN_EXE_sphear");
    let out = tmp.path().join("neural.wav");
    let st = Command::new(bin)
        .arg("render")
        .arg(scene.join("em32.wav"))
        .arg("-o")
        .arg(&out)
        .args(["--method", "neural", "--model"])
        .arg(&model_dir)
        .output()
        .expect("render");
    let log = String::from_utf8_lossy(&st.stderr);
    assert!(st.status.success(), "{log}");
    assert!(log.contains("neural model"), "{log}");

    // The same as the library path with the same HRTF resolution.
    let (info, em32) = sphear_core::wav::read_wav(&scene.join("em32.wav")).expect("em32");
    let (oinfo, got) = sphear_core::wav::read_wav(&out).expect("out");
    assert_eq!(oinfo.channels, 2);
    assert_eq!(oinfo.frames, info.frames);
    let fs = f64::from(info.sample_rate_hz);
    let hrtf = sphear_render::hrtf_source::resolve_hrtf(None, fs).expect("hrtf");
    let dev = cpu_device();
    let model = LoadedModel::from_dir(&model_dir, &dev).expect("load");
    let net = NeuralBinaural::new(
        &model,
        &sphear_sh::array::ArrayGeometry::em32(),
        &hrtf.set,
        Anthropometry::default(),
        &dev,
    )
    .expect("bind");
    let want = net.render(&em32, StreamConfig::default()).expect("render");
    assert_eq!(got, want);
    // A source on the left: the left ear is louder.
    let e = |x: &[f32]| x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
    assert!(e(&got[0]) > e(&got[1]));

    // Bad input: AmbiX, head rotation, a directory without a model → exit code 2.
    for args in [
        vec!["--input-format", "ambix"],
        vec!["--yaw", "10"],
        vec!["--model", "/nonexistent-model-dir"],
    ] {
        let input = if args[0] == "--input-format" {
            scene.join("ambix.wav")
        } else {
            scene.join("em32.wav")
        };
        let mut cmd = Command::new(bin);
        cmd.arg("render")
            .arg(input)
            .arg("-o")
            .arg(tmp.path().join("bad.wav"))
            .args(["--method", "neural"]);
        if args[0] != "--model" {
            cmd.arg("--model").arg(&model_dir);
        }
        let st = cmd.args(&args).output().expect("render");
        assert_eq!(st.status.code(), Some(2), "{args:?}");
    }
    // --model with another method is refused.
    let st = Command::new(bin)
        .arg("render")
        .arg(scene.join("em32.wav"))
        .arg("-o")
        .arg(tmp.path().join("bad.wav"))
        .args(["--method", "emagls", "--model"])
        .arg(&model_dir)
        .output()
        .expect("render");
    assert_eq!(st.status.code(), Some(2));
}

#[test]
fn render_neural_without_model_uses_the_embedded_one_or_says_there_is_none() {
    let tmp = tempfile::tempdir().expect("tmp");
    let scene = simulate(tmp.path());
    let st = Command::new(env!("CARGO_BIN_EXE_sphear"))
        .arg("render")
        .arg(scene.join("em32.wav"))
        .arg("-o")
        .arg(tmp.path().join("out.wav"))
        .args(["--method", "neural"])
        .output()
        .expect("render");
    let log = String::from_utf8_lossy(&st.stderr);
    if sphear_neural::infer::has_embedded_model() {
        assert!(st.status.success(), "{log}");
    } else {
        assert_eq!(st.status.code(), Some(2), "{log}");
        assert!(log.contains("no embedded model"), "{log}");
    }
}

#[test]
fn eval_scores_neural_next_to_emagls() {
    let tmp = tempfile::tempdir().expect("tmp");
    let model_dir = lean_model_dir(tmp.path());
    let out = tmp.path().join("report");
    let st = Command::new(env!("CARGO_BIN_EXE_sphear"))
        .args([
            "eval",
            "--suite",
            "bench-v1",
            "--quick",
            "--methods",
            "emagls,neural",
            "--channels",
            "32,8",
            "--model",
        ])
        .arg(&model_dir)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("eval");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let mut neural = 0;
    for f in report_columns(&out, &["method", "channels"]) {
        if f[0] == "neural" {
            neural += 1;
            assert_eq!(f[1], "32", "neural is scored on the full em32 only");
        }
    }
    assert!(neural > 0, "no neural rows");
}

/// `eval --anthropometry ME.toml` conditions the neural method on that listener (the shipped,
/// trained model: its CIN makes the scores differ from the population-mean listener's), and is
/// refused when no neural method is scored.
#[test]
fn eval_conditions_the_neural_method_on_a_listener_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let me = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sphear-personalize/examples/ME.toml");
    let bin = env!("CARGO_BIN_EXE_sphear");
    let st = Command::new(bin)
        .args([
            "eval",
            "--suite",
            "bench-v1",
            "--quick",
            "--methods",
            "emagls",
        ])
        .arg("--anthropometry")
        .arg(&me)
        .arg("-o")
        .arg(tmp.path().join("refused"))
        .output()
        .expect("eval");
    assert_eq!(st.status.code(), Some(2));
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("neural"), "{err}");
    if !sphear_neural::infer::has_embedded_model() {
        eprintln!("no embedded model in this build: the conditioning is not compared");
        return;
    }
    let run = |name: &str, listener: Option<&Path>| -> Vec<(String, f64)> {
        let out = tmp.path().join(name);
        let mut cmd = Command::new(bin);
        cmd.args([
            "eval",
            "--suite",
            "bench-v1",
            "--quick",
            "--methods",
            "neural",
            "--channels",
            "32",
        ])
        .arg("-o")
        .arg(&out);
        if let Some(p) = listener {
            cmd.arg("--anthropometry").arg(p);
        }
        let st = cmd.output().expect("eval");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        report_columns(&out, &["metric", "value"])
            .into_iter()
            .map(|f| (f[0].clone(), f[1].parse::<f64>().unwrap_or(f64::NAN)))
            .collect()
    };
    let mean = run("mean_listener", None);
    let me_rows = run("me", Some(&me));
    assert_eq!(mean.len(), me_rows.len());
    assert!(!mean.is_empty());
    let differ = mean
        .iter()
        .zip(&me_rows)
        .filter(|(a, b)| a.0 == b.0 && a.1.is_finite() && (a.1 - b.1).abs() > 1e-9)
        .count();
    assert!(
        differ > 0,
        "the listener file left every neural score unchanged"
    );
}

#[test]
fn average_writes_a_model_directory_that_render_streams_in_both_modes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let scene = simulate(tmp.path());
    let a = lean_model_dir(&tmp.path().join("a"));
    let b = lean_model_dir(&tmp.path().join("b"));
    let avg = tmp.path().join("avg");
    let bin = env!("CARGO_BIN_EXE_sphear");
    let st = Command::new(bin)
        .arg("average")
        .arg(&a)
        .arg(&b)
        .arg("-o")
        .arg(&avg)
        .output()
        .expect("average");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(String::from_utf8_lossy(&st.stdout).contains("mean of 2 checkpoints"));
    // One checkpoint, or a directory without a model: exit code 2.
    for args in [vec![a.clone()], vec![a.clone(), tmp.path().join("nothing")]] {
        let st = Command::new(bin)
            .arg("average")
            .args(&args)
            .arg("-o")
            .arg(tmp.path().join("bad"))
            .output()
            .expect("average");
        assert_eq!(st.status.code(), Some(2), "{args:?}");
    }
    // The averaged model renders, incrementally (the lean model is causal) and windowed.
    let mut outs = Vec::new();
    for extra in [&[][..], &["--neural-windowed"][..]] {
        let out = tmp.path().join(format!("n{}.wav", outs.len()));
        let st = Command::new(bin)
            .arg("render")
            .arg(scene.join("em32.wav"))
            .arg("-o")
            .arg(&out)
            .args(["--method", "neural", "--model"])
            .arg(&avg)
            .args(["--neural-chunk", "8", "--neural-context", "4"])
            .args(extra)
            .output()
            .expect("render");
        let log = String::from_utf8_lossy(&st.stderr);
        assert!(st.status.success(), "{log}");
        let mode = if extra.is_empty() {
            "(incremental)"
        } else {
            "(windowed)"
        };
        assert!(log.contains(mode), "{log}");
        outs.push(sphear_core::wav::read_wav(&out).expect("out").1);
    }
    // At initialisation the residual correction is zero: both modes render eMagLS.
    let peak = outs[1].iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = outs[0]
        .iter()
        .flatten()
        .zip(outs[1].iter().flatten())
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(peak > 0.0 && diff <= 1e-5 * peak, "{diff} / {peak}");
    let st = Command::new(bin)
        .arg("render")
        .arg(scene.join("em32.wav"))
        .arg("-o")
        .arg(tmp.path().join("bad.wav"))
        .args(["--method", "neural", "--neural-chunk", "0"])
        .output()
        .expect("render");
    assert_eq!(st.status.code(), Some(2));
}
