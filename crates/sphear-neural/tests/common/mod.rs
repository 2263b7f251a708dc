//! Shared test helpers: gradient inspection over all parameters of a module, random tensors,
//! and a small free-field em32 scene.
#![allow(dead_code)]

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::Gradients;

/// Per float parameter in visiting order: (path, number of elements, gradient max |g| or None,
/// all finite).
pub struct GradReport {
    pub entries: Vec<(String, usize, Option<f32>, bool)>,
}

struct Visitor<'a> {
    grads: &'a Gradients,
    path: Vec<String>,
    out: Vec<(String, usize, Option<f32>, bool)>,
}

impl ModuleVisitor for Visitor<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // Batch-norm running statistics are buffers, not trained parameters.
        if self.path.last().is_some_and(|p| p.starts_with("running_")) {
            return;
        }
        let t = param.val();
        let n = t.shape().num_elements();
        let g = t.grad(self.grads).map(|g| {
            let v: Vec<f32> = g.into_data().try_to_vec().unwrap_or_default();
            let finite = v.iter().all(|x| x.is_finite());
            (v.iter().fold(0.0f32, |m, x| m.max(x.abs())), finite)
        });
        self.out.push((
            self.path.join("."),
            n,
            g.map(|x| x.0),
            g.is_none_or(|x| x.1),
        ));
    }
}

/// Gradients of all float parameters of `module`.
pub fn grad_report<M: Module>(module: &M, grads: &Gradients) -> GradReport {
    let mut v = Visitor {
        grads,
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut v);
    GradReport { entries: v.out }
}

impl GradReport {
    /// Assert every gradient is finite, the first parameter's gradient is nonzero and at least
    /// `min_frac` of the parameters have nonzero gradients. Returns (with grad, total).
    pub fn check(&self, what: &str, min_frac: f64) -> (usize, usize) {
        assert!(!self.entries.is_empty(), "{what}: no parameters");
        for (p, _, _, finite) in &self.entries {
            assert!(*finite, "{what}: non-finite gradient at {p}");
        }
        let (p0, _, g0, _) = &self.entries[0];
        assert!(
            g0.is_some_and(|g| g > 0.0),
            "{what}: first layer {p0} has no nonzero gradient ({g0:?})"
        );
        let nonzero = self
            .entries
            .iter()
            .filter(|e| e.2.is_some_and(|g| g > 0.0))
            .count();
        assert!(
            nonzero as f64 >= min_frac * self.entries.len() as f64,
            "{what}: only {nonzero}/{} parameters got gradients: {:?}",
            self.entries.len(),
            self.entries
                .iter()
                .filter(|e| !e.2.is_some_and(|g| g > 0.0))
                .map(|e| &e.0)
                .collect::<Vec<_>>()
        );
        (nonzero, self.entries.len())
    }
}

/// Standard normal tensor.
pub fn randn<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Values of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec().expect("f32 tensor")
}

/// Deterministic white-ish noise (xorshift), amplitude ±`amp`.
pub fn noise(len: usize, seed: u64, amp: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * amp
        })
        .collect()
}
