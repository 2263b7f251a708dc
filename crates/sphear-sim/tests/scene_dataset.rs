//! Scenes and datasets end to end: determinism, loudness, SNR, free-field exactness, resume,
//! shards, the reserved test split.

use std::path::Path;

use sphear_core::Direction;
use sphear_core::conv::fft_convolve;
use sphear_core::wav::read_wav;
use sphear_hrtf::Ear;
use sphear_sim::dataset::{DatasetJob, Split, TEST_SPLIT_SEED, item_dir, list_items, run_dataset};
use sphear_sim::scene::{
    SceneContext, SignalSource, integrated_loudness_lufs, realise, render_scene,
};
use sphear_sim::spec::SceneSpec;

fn small_spec(extra: &str) -> SceneSpec {
    let text = format!(
        r#"
        duration_s = 0.5
        seed = 11
        [room]
        dims_m = [5.0, 4.0, 3.0]
        rt60_s = 0.25
        [sources]
        count = [1, 2]
        distance_range_m = [1.0, 1.5]
        [output]
        ambix_order = 1
        omni = true
        {extra}
        "#
    );
    SceneSpec::from_toml_str(&text, Path::new(".")).expect("spec")
}

#[test]
fn realisation_and_rendering_are_deterministic_and_normalised() {
    let spec = small_spec("");
    let ctx = SceneContext::new(None, 48000.0).expect("ctx");
    let a = realise(&spec, 5).expect("realise");
    let b = realise(&spec, 5).expect("realise");
    assert_eq!(a, b);
    assert_ne!(a, realise(&spec, 6).expect("realise"));
    let oa = render_scene(&a, &ctx).expect("render");
    let ob = render_scene(&b, &ctx).expect("render");
    assert_eq!(oa.em32, ob.em32);
    assert_eq!(oa.binaural, ob.binaural);
    let omni = &oa.omni.as_ref().expect("omni")[0];
    let lufs = integrated_loudness_lufs(omni, 48000.0).expect("lufs");
    println!("omni loudness after normalisation: {lufs:.3} LUFS");
    assert!((lufs + 23.0).abs() < 0.05, "{lufs}");
    assert_eq!(oa.em32.as_ref().expect("em32").len(), 32);
    assert_eq!(oa.ambix.as_ref().expect("ambix").len(), 4);
    assert!(oa.rt60_measured_s.is_some());
}

#[test]
fn sensor_noise_has_the_drawn_snr() {
    let ctx = SceneContext::new(None, 48000.0).expect("ctx");
    let noisy = realise(&small_spec(""), 3).expect("realise");
    let mut clean = noisy.clone();
    clean.snr_db = None;
    let n = render_scene(&noisy, &ctx)
        .expect("render")
        .em32
        .expect("em32");
    let c = render_scene(&clean, &ctx)
        .expect("render")
        .em32
        .expect("em32");
    let (mut ps, mut pn) = (0.0f64, 0.0f64);
    for (a, b) in n.iter().zip(&c) {
        for (x, y) in a.iter().zip(b) {
            ps += (*y as f64).powi(2);
            pn += (*x as f64 - *y as f64).powi(2);
        }
    }
    let snr = 10.0 * (ps / pn).log10();
    println!(
        "drawn SNR {:.2} dB, measured {snr:.2} dB",
        noisy.snr_db.expect("snr")
    );
    assert!((snr - noisy.snr_db.expect("snr")).abs() < 0.2);
}

#[test]
fn free_field_scene_is_exact_direct_hrir_rendering() {
    let spec = SceneSpec::from_toml_str(
        r#"
        duration_s = 0.5
        [room]
        free_field = true
        [sources]
        positions = [{ azimuth_deg = 40.0, elevation_deg = 10.0, distance_m = 2.0 }]
        [noise]
        [output]
        ambix_order = 0
        "#,
        Path::new("."),
    )
    .expect("spec");
    let ctx = SceneContext::new(None, 48000.0).expect("ctx");
    let mut cfg = realise(&spec, 1).expect("realise");
    cfg.snr_db = None;
    cfg.sources[0].signal = SignalSource::Builtin {
        generator: "pink_noise".into(),
        seed: 4,
    };
    let out = render_scene(&cfg, &ctx).expect("render");
    let bin = out.binaural.expect("binaural");
    // Reference: s(t − r/c)/r ⊛ HRIR(40°, 10°), times the normalisation gain.
    let fs = 48000.0;
    let len = bin[0].len();
    let s = sphear_core::signals::pink_noise(len, 0.1, 4);
    let delay = 2.0 / sphear_core::SPEED_OF_SOUND_M_S * fs;
    let g = 10f64.powf(out.normalisation_gain_db / 20.0) / 2.0;
    let dir = Direction::from_deg(40.0, 10.0);
    let pair = ctx.hrtf.interpolate(&dir);
    let _ = Ear::Left;
    let mut err = 0.0f64;
    let mut peak = 0.0f64;
    for (e, ir) in pair.iter().enumerate() {
        // fractional delay by the same windowed-sinc kernel the receivers use
        let d0 = delay.floor();
        let k = sphear_sim::receiver::frac_delay_kernel(delay - d0);
        let half = sphear_sim::receiver::FRAC_DELAY_HALF_TAPS as i64;
        let mut delayed = vec![0.0f32; len + ir.len()];
        for (t, &v) in ir.iter().enumerate() {
            for (j, &kv) in k.iter().enumerate() {
                let idx = t as i64 + d0 as i64 + j as i64 - half;
                if idx >= 0 && (idx as usize) < delayed.len() {
                    delayed[idx as usize] += (v as f64 * kv) as f32;
                }
            }
        }
        let y = fft_convolve(&s, &delayed);
        for t in 0..len {
            let r = y[t] as f64 * g;
            err = err.max((r - bin[e][t] as f64).abs());
            peak = peak.max(r.abs());
        }
    }
    println!(
        "free-field binaural vs direct HRIR rendering: max error {:.2e} of peak {peak:.3}",
        err
    );
    assert!(err < 1e-4 * peak, "{err} vs peak {peak}");
}

#[test]
fn dataset_is_resumable_sharded_and_deterministic() {
    let spec = small_spec("em32 = true\nbinaural = true");
    let tmp = tempfile::tempdir().expect("tmp");
    let full = tmp.path().join("full");
    let job = DatasetJob {
        spec: spec.clone(),
        out_dir: full.clone(),
        count: 4,
        shard: (0, 1),
        seed: 99,
        split: Split::Train,
    };
    let s1 = run_dataset(&job, &|_, _| {}).expect("run");
    assert_eq!((s1.generated, s1.skipped), (4, 0));
    println!(
        "4 scenes in {:.1} s ({:.1} scenes/min)",
        s1.wall_s,
        4.0 / s1.wall_s * 60.0
    );
    let s2 = run_dataset(&job, &|_, _| {}).expect("rerun");
    assert_eq!(
        (s2.generated, s2.skipped),
        (0, 4),
        "a rerun must skip finished items"
    );
    assert_eq!(list_items(&full).expect("list").len(), 4);
    // Two shards into another folder give identical items.
    let sharded = tmp.path().join("sharded");
    for i in 0..2 {
        let j = DatasetJob {
            out_dir: sharded.clone(),
            shard: (i, 2),
            ..job.clone()
        };
        let s = run_dataset(&j, &|_, _| {}).expect("shard");
        assert_eq!(s.shard_items, 2);
    }
    for i in 0..4 {
        let (_, a) = read_wav(&item_dir(&full, i).join("binaural.wav")).expect("a");
        let (_, b) = read_wav(&item_dir(&sharded, i).join("binaural.wav")).expect("b");
        assert_eq!(a, b, "item {i} differs between sharded and unsharded runs");
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(item_dir(&full, i).join("meta.json")).expect("meta"),
        )
        .expect("json");
        assert!(
            meta["scene"]["sources"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        );
    }
    // A different job in the same folder is refused; the test seed is reserved.
    let other = DatasetJob {
        count: 5,
        ..job.clone()
    };
    assert!(run_dataset(&other, &|_, _| {}).is_err());
    let bad = DatasetJob {
        seed: TEST_SPLIT_SEED,
        out_dir: tmp.path().join("x"),
        ..job.clone()
    };
    assert!(run_dataset(&bad, &|_, _| {}).is_err());
    let bad = DatasetJob {
        split: Split::Test,
        out_dir: tmp.path().join("y"),
        ..job
    };
    assert!(
        run_dataset(&bad, &|_, _| {}).is_err(),
        "test split must use the reserved seed"
    );
}
