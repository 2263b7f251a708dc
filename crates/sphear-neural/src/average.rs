//! Checkpoint weight averaging (stochastic weight averaging, Izmailov et al. 2018): the
//! element-wise mean of the weights of several checkpoints of one run, written as a model
//! directory (`sphear average CKPT_DIR… --out DIR`).
//!
//! Late checkpoints of a run on few listeners scatter around a minimum: their scores on an
//! unseen HRTF move by more from one checkpoint to the next than the differences between model
//! variants (see `NETWORK.md`). Their mean sits nearer the centre of that basin. Every float
//! tensor of the module is averaged, the batch-norm running statistics included, so the result
//! needs no further pass over data.
//!
//! All checkpoints must have the same network config and feature settings; the output's
//! `config.json` is the first checkpoint's with an `averaged_from` list of the sources.

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use crate::infer::{CONFIG_FILE, LoadedModel, WEIGHTS_FILE};
use crate::{NeuralError, Result};

/// Key of the output `config.json` listing the averaged checkpoints (ignored on load).
pub const AVERAGED_FROM_KEY: &str = "averaged_from";

/// Every float tensor of a module (parameters and running statistics) in visiting order.
struct Collect {
    tensors: Vec<(Vec<usize>, Vec<f32>)>,
    err: Option<String>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let dims = t.dims().to_vec();
        match t.into_data().convert::<f32>().try_to_vec::<f32>() {
            Ok(v) => self.tensors.push((dims, v)),
            Err(e) => {
                self.err.get_or_insert_with(|| format!("{e:?}"));
            }
        }
    }
}

fn float_tensors<M: Module>(m: &M) -> Result<Vec<(Vec<usize>, Vec<f32>)>> {
    let mut c = Collect {
        tensors: Vec::new(),
        err: None,
    };
    m.visit(&mut c);
    match c.err {
        Some(e) => Err(NeuralError::Config(format!("reading weights: {e}"))),
        None => Ok(c.tensors),
    }
}

/// Replaces the float tensors, in visiting order, by `values`.
struct Replace<'a> {
    values: std::vec::IntoIter<(Vec<usize>, Vec<f32>)>,
    device: &'a Device,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (dims, v) = self
            .values
            .next()
            .expect("same module, same number of float tensors");
        let shape: [usize; D] = dims.try_into().expect("same module, same ranks");
        let dev = self.device.clone();
        param.map(move |_| Tensor::from_data(TensorData::new(v, shape), &dev))
    }
}

/// The element-wise mean of the weights (and running statistics) of `models`, in a new network
/// of their config (the inputs are left unchanged).
///
/// # Errors
/// No models, or models whose network configs, feature settings or tensor shapes differ.
pub fn average_models(models: &[LoadedModel], device: &Device) -> Result<LoadedModel> {
    let first = models
        .first()
        .ok_or_else(|| NeuralError::Config("nothing to average".into()))?;
    let json = |m: &LoadedModel| -> Result<(String, String)> {
        let e = |e: serde_json::Error| NeuralError::Config(format!("model config: {e}"));
        Ok((
            serde_json::to_string(&m.model_config).map_err(e)?,
            serde_json::to_string(&m.features).map_err(e)?,
        ))
    };
    let want = json(first)?;
    let mut sum = float_tensors(&first.renderer)?;
    for m in &models[1..] {
        if json(m)? != want {
            return Err(NeuralError::Config(format!(
                "{} has another network config or other feature settings than {}",
                m.source, first.source
            )));
        }
        let t = float_tensors(&m.renderer)?;
        if t.len() != sum.len() {
            return Err(NeuralError::Shape {
                expected: format!("{} weight tensors", sum.len()),
                got: format!("{} in {}", t.len(), m.source),
            });
        }
        for ((ds, s), (dt, x)) in sum.iter_mut().zip(t) {
            if *ds != dt {
                return Err(NeuralError::Shape {
                    expected: format!("{ds:?}"),
                    got: format!("{dt:?} in {}", m.source),
                });
            }
            for (a, b) in s.iter_mut().zip(x) {
                *a += b;
            }
        }
    }
    let scale = 1.0 / models.len() as f32;
    for (_, s) in &mut sum {
        for a in s.iter_mut() {
            *a *= scale;
        }
    }
    // A fresh network of the same config: mapping a clone of `first.renderer` would also
    // rewrite `first`'s batch-norm running statistics (burn shares them between clones).
    let renderer = first.model_config.init(device)?.map(&mut Replace {
        values: sum.into_iter(),
        device,
    });
    Ok(LoadedModel {
        renderer,
        source: format!("mean of {} checkpoints", models.len()),
        ..first.clone()
    })
}

/// Average the checkpoints / model directories `dirs` into the model directory `out`
/// (`config.json` of the first, with [`AVERAGED_FROM_KEY`]; `model.bpk` = the mean weights).
///
/// # Errors
/// Unreadable or mismatched checkpoints (see [`average_models`]), or I/O errors writing `out`.
pub fn average_checkpoints(dirs: &[PathBuf], out: &Path, device: &Device) -> Result<LoadedModel> {
    if dirs.len() < 2 {
        return Err(NeuralError::Config(
            "averaging needs at least two checkpoints".into(),
        ));
    }
    let models = dirs
        .iter()
        .map(|d| LoadedModel::from_dir(d, device))
        .collect::<Result<Vec<_>>>()?;
    let avg = average_models(&models, device)?;
    let io = |p: &Path, e: std::io::Error| NeuralError::Config(format!("{}: {e}", p.display()));
    let src = dirs[0].join(CONFIG_FILE);
    let text = std::fs::read_to_string(&src).map_err(|e| io(&src, e))?;
    let mut v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| NeuralError::Config(format!("{}: {e}", src.display())))?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            AVERAGED_FROM_KEY.into(),
            serde_json::Value::Array(
                dirs.iter()
                    .map(|d| serde_json::Value::String(d.display().to_string()))
                    .collect(),
            ),
        );
    }
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let text = serde_json::to_string_pretty(&v)
        .map_err(|e| NeuralError::Config(format!("config: {e}")))?;
    let cfg = out.join(CONFIG_FILE);
    std::fs::write(&cfg, text).map_err(|e| io(&cfg, e))?;
    avg.renderer
        .clone()
        .save_file(out.join(WEIGHTS_FILE))
        .map_err(|e| NeuralError::Config(format!("{}: {e}", out.join(WEIGHTS_FILE).display())))?;
    Ok(avg)
}
