//! `sphear train`: a tiny model on a tiny dataset — run, refuse to overwrite, resume, fine-tune,
//! and the run directory's files (loss/val logs, checkpoint = model directory, loss PNG).

mod common;

use std::path::Path;

use common::{shared, sphear, stderr};

fn dataset(spec: &Path, out: &Path, seed: &str) {
    let o = sphear(&[
        "dataset",
        spec.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
        "--count",
        "2",
        "--seed",
        seed,
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn train_resume_and_finetune_a_tiny_model() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        "duration_s = 0.4\nseed = 3\n[room]\nfree_field = true\n[sources]\ncount = 1\n[output]\nambix_order = 0\n",
    )
    .expect("write");
    dataset(&spec, &dir.path().join("train"), "3");
    dataset(&spec, &dir.path().join("val"), "4");
    let cfg = dir.path().join("run.toml");
    let write_cfg = |out: &str, steps: usize| {
        std::fs::write(
            &cfg,
            format!(
                "dataset_dir = \"train\"\nval_dataset_dir = \"val\"\noutput_dir = \"{out}\"\n\
                 model = \"tiny\"\nhead = \"Direct\"\nsteps = {steps}\nbatch_size = 2\n\
                 segment_s = 0.1\ncheckpoint_every = 2\nval_every = 2\nmr_stft_sizes = [64, 128]\n"
            ),
        )
        .expect("write");
    };
    write_cfg("run", 2);
    let c = cfg.to_str().expect("utf8");
    let o = sphear(&["train", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.path().join("run");
    assert_eq!(lines(&run.join("loss.csv")).len(), 3, "header + 2 steps");
    let val = lines(&run.join("val.csv"));
    assert_eq!(val.len(), 2, "header + 1 validation");
    assert!(val[1].starts_with("2,"), "{}", val[1]);
    assert!(
        val[1]
            .split(',')
            .skip(1)
            .all(|v| v.parse::<f32>().is_ok_and(f32::is_finite)),
        "{}",
        val[1]
    );
    let ck = run.join("checkpoint-00000002");
    for f in ["config.json", "model.bpk", "optim.bpk", "state.json"] {
        assert!(ck.join(f).exists(), "{f}");
    }
    let conf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.join("config.json")).expect("cfg"))
            .expect("json");
    assert!(conf["model_config"]["enc_channels"].is_array());
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.join("state.json")).expect("state"))
            .expect("json");
    assert_eq!(state["dataset_hash"].as_str().map(str::len), Some(16));
    let png = std::fs::read(run.join("loss.png")).expect("png");
    assert_eq!(&png[1..4], b"PNG");

    // Without --resume an existing run is refused (exit 2); with it, training continues.
    write_cfg("run", 4);
    let o = sphear(&["train", c]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let o = sphear(&["train", c, "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("trained steps 2..4"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(lines(&run.join("loss.csv")).len(), 5, "header + 4 steps");

    // Fine-tuning starts a new run from the checkpoint's weights; a missing directory is refused.
    write_cfg("ft", 2);
    let ck4 = run.join("checkpoint-00000004");
    let o = sphear(&["train", c, "--finetune", ck4.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ft: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ft/config.json")).expect("cfg"),
    )
    .expect("json");
    assert_eq!(ft["finetune_from"].as_str(), ck4.to_str());
    let o = sphear(&["train", c, "--finetune", "/nonexistent/ckpt"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Two training listeners with their own HRTFs (residual head: one eMagLS base each), one held-out
/// listener (validation only), per-listener validation rows, `--max-wall-s`, and a listener whose
/// HRTF is not the one its scenes were rendered with (refused, exit 2).
#[test]
fn train_with_listeners_and_a_held_out_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let kemar = shared("sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa");
    let cipic = shared("sofa_libmysofa/CIPIC_subject_003_hrir_final.sofa");
    let spec = |name: &str, hrtf: &Path| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "duration_s = 0.4\nseed = 3\n[room]\nfree_field = true\n[sources]\ncount = 1\n\
                 [output]\nambix_order = 0\nhrtf = \"{}\"\n",
                hrtf.display()
            ),
        )
        .expect("write");
        p
    };
    let (sa, sb) = (spec("a.toml", &kemar), spec("b.toml", &cipic));
    dataset(&sa, &dir.path().join("train_a"), "3");
    dataset(&sa, &dir.path().join("val_a"), "4");
    dataset(&sb, &dir.path().join("train_b"), "5");
    dataset(&sb, &dir.path().join("val_b"), "6");
    let cfg = dir.path().join("run.toml");
    let write_cfg = |out: &str, b_hrtf: &Path| {
        std::fs::write(
            &cfg,
            format!(
                "dataset_dir = \"train_a\"\nval_dataset_dir = \"val_a\"\noutput_dir = \"{out}\"\n\
                 hrtf_sofa = \"{}\"\nmodel = \"tiny\"\nsteps = 4\nbatch_size = 2\nsegment_s = 0.1\n\
                 checkpoint_every = 2\nval_every = 2\nmr_stft_sizes = [64, 128]\n\
                 [[listeners]]\nname = \"b\"\ndataset_dir = \"train_b\"\nhrtf_sofa = \"{}\"\n\
                 anthropometry = [1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1.0]\n\
                 [[listeners]]\nname = \"held\"\nval_dataset_dir = \"val_b\"\nhrtf_sofa = \"{}\"\n",
                kemar.display(),
                b_hrtf.display(),
                cipic.display()
            ),
        )
        .expect("write");
    };
    write_cfg("run", &cipic);
    let c = cfg.to_str().expect("utf8");
    let o = sphear(&["train", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.path().join("run");
    let rows = lines(&run.join("val_listeners.csv"));
    // Listener b has no validation scenes: rows for the first listener and the held-out one.
    assert_eq!(
        rows.len(),
        1 + 2 * 2,
        "header + 2 listeners at steps 2 and 4: {rows:?}"
    );
    let at2: Vec<Vec<&str>> = rows[1..3].iter().map(|r| r.split(',').collect()).collect();
    let names: Vec<&str> = at2.iter().map(|r| r[1]).collect();
    assert_eq!(names, ["MIT_KEMAR_normal_pinna", "held"]);
    let held_out: Vec<&str> = at2.iter().map(|r| r[2]).collect();
    assert_eq!(held_out, ["false", "true"]);
    assert!(
        at2.iter().all(|r| r[4..]
            .iter()
            .all(|v| v.parse::<f32>().is_ok_and(f32::is_finite))),
        "{rows:?}"
    );
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("checkpoint-00000004/state.json")).expect("state"),
    )
    .expect("json");
    assert!(
        state["dataset_hash"]
            .as_str()
            .is_some_and(|h| h.contains('+')),
        "both training datasets are in the hash: {state}"
    );

    // A wall-clock limit of 0 s stops after the first step, with a checkpoint and a validation.
    let o = sphear(&["train", c, "--resume", "--max-wall-s", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    write_cfg("short", &cipic);
    let o = sphear(&["train", c, "--max-wall-s", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        dir.path()
            .join("short/checkpoint-00000001/model.bpk")
            .exists()
    );
    assert_eq!(lines(&dir.path().join("short/val.csv")).len(), 2);

    // Listener b's scenes were rendered with CIPIC 003: designing its base for KEMAR is refused.
    write_cfg("wrong", &kemar);
    let o = sphear(&["train", c]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("listener 'b'"), "{}", stderr(&o));
}

/// Render `input` (an em32 file) with the model directory `model`; the two ear signals.
fn render_with(model: &Path, input: &Path, out: &Path) -> Vec<Vec<f32>> {
    let o = sphear(&[
        "render",
        input.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
        "--method",
        "neural",
        "--model",
        model.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    sphear_core::wav::read_wav(out).expect("read").1
}

/// RMS difference of two binaural signals relative to the RMS of `reference`.
fn rel_diff(a: &[Vec<f32>], reference: &[Vec<f32>]) -> f64 {
    let (mut d, mut r) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(reference) {
        for (u, v) in x.iter().zip(y) {
            d += f64::from(u - v).powi(2);
            r += f64::from(*v).powi(2);
        }
    }
    (d / r.max(1e-30)).sqrt()
}

/// Distillation (`--distill`): a student trained on its teacher's output alone
/// (`distill_weight = 1`) moves toward the teacher, measured on a scene neither saw in training;
/// the same student trained on the reference alone does not get as close. A teacher with other
/// features and a weight outside [0, 1] are refused (exit 2).
#[test]
fn distilled_student_moves_toward_its_teacher() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        "duration_s = 0.4\nseed = 3\n[room]\nfree_field = true\n[sources]\ncount = 1\n[output]\nambix_order = 0\n",
    )
    .expect("write");
    dataset(&spec, &dir.path().join("train"), "3");
    dataset(&spec, &dir.path().join("val"), "4");
    let cfg = dir.path().join("run.toml");
    let write_cfg = |out: &str, seed: u64, steps: usize, extra: &str| {
        std::fs::write(
            &cfg,
            format!(
                "dataset_dir = \"train\"\noutput_dir = \"{out}\"\nmodel = \"tiny\"\n\
                 head = \"Direct\"\nsteps = {steps}\nbatch_size = 2\nsegment_s = 0.2\nseed = {seed}\n\
                 learning_rate = 3e-3\ncheckpoint_every = 1\nmr_stft_sizes = [64, 128]\n{extra}"
            ),
        )
        .expect("write");
    };
    let c = cfg.to_str().expect("utf8");
    // The teacher: another initialisation (seed), trained a few steps.
    write_cfg("teacher", 11, 3, "");
    let o = sphear(&["train", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let teacher = dir.path().join("teacher/checkpoint-00000003");
    let t = teacher.to_str().expect("utf8");
    let steps = 40;
    write_cfg("distilled", 5, steps, "distill_weight = 1.0\n");
    let o = sphear(&["train", c, "--distill", t]);
    assert!(o.status.success(), "{}", stderr(&o));
    write_cfg("plain", 5, steps, "");
    let o = sphear(&["train", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let conf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("distilled/config.json")).expect("cfg"),
    )
    .expect("json");
    assert_eq!(conf["distill_from"].as_str(), Some(t));

    let items = walk_items(&dir.path().join("val"));
    let input = items[0].join("em32.wav");
    let ck = |run: &str, s: usize| dir.path().join(format!("{run}/checkpoint-{s:08}"));
    let out = dir.path().join("out.wav");
    let y_t = render_with(&teacher, &input, &out);
    let y_ref = sphear_core::wav::read_wav(&items[0].join("binaural.wav"))
        .expect("reference")
        .1;
    let runs = [
        ("start", render_with(&ck("distilled", 1), &input, &out)),
        (
            "distilled",
            render_with(&ck("distilled", steps), &input, &out),
        ),
        ("plain", render_with(&ck("plain", steps), &input, &out)),
    ];
    // Two distances: relative RMS of the waveforms and binaural log-spectral distance.
    let dist = |y: &[Vec<f32>], to: &[Vec<f32>]| (rel_diff(y, to), lsd(y, to));
    let to_teacher: Vec<(f64, f64)> = runs.iter().map(|(_, y)| dist(y, &y_t)).collect();
    let to_ref: Vec<(f64, f64)> = runs.iter().map(|(_, y)| dist(y, &y_ref)).collect();
    for (((name, _), t), r) in runs.iter().zip(&to_teacher).zip(&to_ref) {
        eprintln!(
            "{name}: to the teacher RMS {:.4} LSD {:.4}; to the reference RMS {:.4} LSD {:.4}",
            t.0, t.1, r.0, r.1
        );
    }
    let [start, distilled, plain] = [to_teacher[0], to_teacher[1], to_teacher[2]];
    assert!(
        distilled.0 < 0.5 * start.0 && distilled.1 < start.1,
        "the student did not move toward the teacher: {distilled:?} vs {start:?} at the start"
    );
    assert!(
        distilled.0 < plain.0 && distilled.1 < plain.1,
        "distillation did not bring the student nearer the teacher than plain training: \
         {distilled:?} vs {plain:?}"
    );

    // Refused: a weight outside [0, 1]; a teacher trained with other features; no model there.
    write_cfg("bad1", 5, 2, "distill_weight = 1.5\n");
    let o = sphear(&["train", c, "--distill", t]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("distill_weight"), "{}", stderr(&o));
    write_cfg(
        "bad2",
        5,
        2,
        "[features]\nsample_rate_hz = 48000.0\nn_fft = 512\nhop = 256\nref_capsule = 0\nipd = true\n\
         gcc_phat = false\ngcc_max_lag_samples = 12\nmag_floor = 1e-5\ncompress = 0.3\n\
         sh_band_hz = [200.0, 5000.0]\n",
    );
    let o = sphear(&["train", c, "--distill", t]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("other features"), "{}", stderr(&o));
    let o = sphear(&["train", c, "--distill", "/nonexistent/model"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Binaural STFT log-spectral distance (log10-power units, mean of the ears) of `a` to
/// `reference`, over their common length.
fn lsd(a: &[Vec<f32>], reference: &[Vec<f32>]) -> f64 {
    let n = a[0].len().min(reference[0].len());
    sphear_eval::spectral::binaural_stft_lsd(
        [&reference[0][..n], &reference[1][..n]],
        [&a[0][..n], &a[1][..n]],
        &sphear_eval::spectral::DEFAULT_LSD_STFT,
    )
    .expect("lsd")
}

/// Item directories (`DIR/chunk-*/item-*`) of a dataset, sorted.
fn walk_items(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for c in std::fs::read_dir(root).expect("dataset").flatten() {
        if c.path().is_dir() {
            for i in std::fs::read_dir(c.path()).expect("chunk").flatten() {
                if i.path().join("em32.wav").exists() {
                    v.push(i.path());
                }
            }
        }
    }
    v.sort();
    assert!(!v.is_empty(), "no items in {}", root.display());
    v
}
