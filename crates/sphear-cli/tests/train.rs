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
