//! CVAE shapes, gradient flow and a tiny overfitting run (run with `--release`).

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use sphear_personalize::model::{
    Cvae, CvaeConfig, DIR_FEATURES, DownBlock, LATENT, Mlp3, UpBlock, cvae_loss, direction_features,
};

fn randn(shape: [usize; 2], seed: u64, device: &Device) -> Tensor<2> {
    // deterministic pseudo-random values in [-1, 1)
    let n = shape[0] * shape[1];
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

#[test]
fn block_shapes() {
    let dev = Device::flex();
    let x: Tensor<3> = Tensor::zeros([3, 4, 64], &dev);
    assert_eq!(
        DownBlock::new(4, 8, &dev).forward(x.clone()).dims(),
        [3, 8, 32]
    );
    assert_eq!(UpBlock::new(4, 2, &dev).forward(x).dims(), [3, 2, 128]);
    assert_eq!(
        Mlp3::new(12, 16, 5, &dev)
            .forward(Tensor::zeros([3, 12], &dev))
            .dims(),
        [3, 5]
    );
    let m = Cvae::new(CvaeConfig { width: 4 }, &dev);
    let cond = m.condition(randn([3, 12], 1, &dev), randn([3, DIR_FEATURES], 2, &dev));
    assert_eq!(cond.dims(), [3, 64]);
    let (mu, lv) = m.encode(randn([3, 256], 3, &dev), cond.clone());
    assert_eq!(mu.dims(), [3, LATENT]);
    assert_eq!(lv.dims(), [3, LATENT]);
    assert_eq!(m.decode(mu, cond).dims(), [3, 256]);
    assert_eq!(
        m.predict(randn([5, 12], 1, &dev), randn([5, DIR_FEATURES], 2, &dev))
            .dims(),
        [5, 256]
    );
    assert_eq!(direction_features(0.3, 1.0).len(), DIR_FEATURES);
}

#[test]
fn gradients_reach_every_parameter() {
    let dev = Device::flex().autodiff();
    let m = Cvae::new(CvaeConfig { width: 4 }, &dev);
    let x = randn([8, 256], 4, &dev);
    let (r, mu, lv) = m.forward(
        x.clone(),
        randn([8, 12], 5, &dev),
        randn([8, DIR_FEATURES], 6, &dev),
        randn([8, LATENT], 7, &dev),
    );
    let (loss, _, _) = cvae_loss(r, x, mu, lv, 0.5);
    let grads = GradientsParams::from_grads(loss.backward(), &m);
    // every float parameter tensor (weights, biases, BN scale/shift) has a gradient
    let n_param_tensors = {
        #[derive(Default)]
        struct Count(usize);
        impl burn::module::ModuleVisitor for Count {
            fn visit_float<const D: usize>(&mut self, _p: &burn::module::Param<Tensor<D>>) {
                self.0 += 1;
            }
        }
        let mut c = Count::default();
        m.visit(&mut c);
        c.0
    };
    assert!(n_param_tensors > 30);
    // BatchNorm running statistics are not trainable: count only tensors with a gradient
    assert!(
        grads.len() + 2 * 9 >= n_param_tensors && grads.len() > 40,
        "{} gradients for {} parameter tensors",
        grads.len(),
        n_param_tensors
    );
}

/// A tiny CVAE memorises 32 spectra: the reconstruction loss falls more than 10×.
#[test]
fn tiny_cvae_overfits_one_subjects_spectra() {
    let dev = Device::flex().autodiff();
    dev.seed(1);
    let (raw, _) = sphear_personalize::data::load_cipic(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/cipic"
    )))
    .expect("cipic");
    let dirs = sphear_personalize::data::cipic_directions();
    let ms: Vec<usize> = (0..32).map(|i| i * 39).collect();
    let x: Vec<f32> = ms
        .iter()
        .flat_map(|&m| sphear_personalize::dsp::log_magnitude_db(raw[0].ir(m, 0), 44_100.0))
        .map(|v| v / 10.0)
        .collect();
    let d: Vec<f32> = ms
        .iter()
        .flat_map(|&m| direction_features(-dirs[m].lateral_rad, dirs[m].polar_rad))
        .collect();
    let x = Tensor::<2>::from_data(TensorData::new(x, [32, 256]), &dev);
    let d = Tensor::<2>::from_data(TensorData::new(d, [32, DIR_FEATURES]), &dev);
    let a: Tensor<2> = Tensor::zeros([32, 12], &dev);
    let mut m = Cvae::new(CvaeConfig { width: 4 }, &dev);
    let mut opt = AdamConfig::new().init();
    let mut first = None;
    let mut last = 0.0;
    for step in 0..400 {
        let eps = randn([32, LATENT], step, &dev).mul_scalar(0.0);
        let (r, mu, lv) = m.forward(x.clone(), a.clone(), d.clone(), eps);
        let (loss, rec, _) = cvae_loss(r, x.clone(), mu, lv, 1e-3);
        last = rec.into_scalar::<f32>() as f64;
        first.get_or_insert(last);
        let g = GradientsParams::from_grads(loss.backward(), &m);
        m = opt.step(3e-3, m, g);
    }
    let first = first.expect("ran");
    assert!(last * 10.0 < first, "recon {first} -> {last}");
}
