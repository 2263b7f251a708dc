//! Checkpoint weight averaging (`sphear_neural::average`, `sphear average`).

mod common;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use sphear_neural::average::{AVERAGED_FROM_KEY, average_checkpoints, average_models};
use sphear_neural::config::ModelConfig;
use sphear_neural::features::FeatureConfig;
use sphear_neural::infer::LoadedModel;
use sphear_neural::training::TrainConfig;

/// Every float tensor of a module (parameters and running statistics), in visiting order.
struct Collect(Vec<Vec<f32>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(common::values(param.val()));
    }
}

fn tensors<M: Module>(m: &M) -> Vec<Vec<f32>> {
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    c.0
}

/// Shift every float tensor by a per-model offset plus noise (batch-norm variances stay > 0).
struct Shift(f64);

impl ModuleMapper for Shift {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let s = self.0;
        param.map(|t| {
            let u = Tensor::random(
                t.dims(),
                burn::tensor::Distribution::Uniform(0.0, 0.2),
                &t.device(),
            );
            t + u + s
        })
    }
}

fn tiny(fc: &FeatureConfig, shift: f64) -> LoadedModel {
    let mc = ModelConfig::tiny(fc.num_planes(32), fc.num_aux(32), 32);
    let mut m = LoadedModel::initialised(mc, fc.clone(), &Device::flex()).expect("init");
    m.renderer = m.renderer.map(&mut Shift(shift));
    m
}

fn write_dir(dir: &std::path::Path, model: &LoadedModel) {
    let tc = TrainConfig::from_toml_str(
        "dataset_dir = 'unused'\noutput_dir = 'unused'\nsteps = 1\nmodel = 'tiny'\n",
    )
    .expect("toml");
    let tc = TrainConfig {
        features: model.features.clone(),
        ..tc
    };
    model.save_dir(dir, &tc).expect("save");
}

#[test]
fn the_mean_model_holds_the_element_wise_mean_of_every_tensor() {
    let fc = FeatureConfig::low_latency();
    let dev = Device::flex();
    let models: Vec<LoadedModel> = [0.0, 0.5, 1.5].iter().map(|&s| tiny(&fc, s)).collect();
    let (a, b, c) = (
        tensors(&models[0].renderer),
        tensors(&models[1].renderer),
        tensors(&models[2].renderer),
    );
    let avg = average_models(&models, &dev).expect("average");
    let m = tensors(&avg.renderer);
    assert_eq!(
        tensors(&models[0].renderer),
        a,
        "the inputs are left unchanged"
    );
    assert!(m.len() > 20, "{} tensors", m.len());
    assert_eq!(m.len(), a.len());
    let mut worst = 0.0f32;
    let mut n = 0usize;
    for (i, t) in m.iter().enumerate() {
        assert_eq!(t.len(), a[i].len(), "tensor {i}");
        for (j, v) in t.iter().enumerate() {
            let want = (a[i][j] + b[i][j] + c[i][j]) / 3.0;
            worst = worst.max((v - want).abs() / want.abs().max(1.0));
            n += 1;
        }
    }
    println!(
        "{} tensors, {n} values: max rel. error {worst:.2e}",
        m.len()
    );
    assert!(worst < 1e-6, "{worst:.2e}");
    // The mean differs from each input (the test would pass trivially on copies).
    assert_ne!(m, a);

    // Through directories: config of the first with the list of sources, same weights.
    let tmp = tempfile::tempdir().expect("tmp");
    let dirs: Vec<std::path::PathBuf> = (0..3)
        .map(|i| {
            let d = tmp.path().join(format!("checkpoint-{i}"));
            write_dir(&d, &models[i]);
            d
        })
        .collect();
    let out = tmp.path().join("avg");
    average_checkpoints(&dirs, &out, &dev).expect("average dirs");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).expect("read"))
            .expect("json");
    assert_eq!(
        cfg[AVERAGED_FROM_KEY].as_array().map(Vec::len),
        Some(3),
        "{cfg}"
    );
    let loaded = LoadedModel::from_dir(&out, &dev).expect("load the averaged directory");
    assert_eq!(tensors(&loaded.renderer), m);
}

#[test]
fn mismatched_or_single_checkpoints_are_refused() {
    let fc = FeatureConfig::low_latency();
    let dev = Device::flex();
    let a = tiny(&fc, 0.0);
    let other = ModelConfig::new(
        fc.num_planes(32),
        fc.num_aux(32),
        32,
        vec![8, 12], // tiny's depth, other widths
        16,
        8,
        16,
        [8, 8],
    )
    .with_cbam_stage(1);
    let b = LoadedModel::initialised(other, fc.clone(), &dev).expect("init");
    let e = average_models(&[a.clone(), b], &dev).expect_err("other network");
    assert!(e.to_string().contains("another network config"), "{e}");
    assert!(average_models(&[], &dev).is_err());
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("c");
    write_dir(&d, &a);
    let e = average_checkpoints(&[d], &tmp.path().join("out"), &dev).expect_err("one");
    assert!(e.to_string().contains("at least two"), "{e}");
}
