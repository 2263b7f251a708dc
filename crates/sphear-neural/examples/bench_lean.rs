//! Lean model timings on this machine (one measurement each; run it on one core with
//! `taskset -c 0 cargo run --release -p sphear-neural --example bench_lean`):
//! * inference real-time factor (features + forward, 4 s em32 scene, residual head, inference
//!   device): wall time / audio duration;
//! * training throughput (scenes/s) of Adam steps on batches of 1 s scenes (features, forward,
//!   weighted loss, backward, update).

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use sphear_core::Direction;
use sphear_neural::features::{Anthropometry, FeatureConfig, FeatureExtractor};
use sphear_neural::heads::{EmaglsDesign, EmaglsWeights};
use sphear_neural::loss::{LossWeights, Target, WeightedLoss};
use sphear_neural::model::RendererInput;
use sphear_neural::{ModelConfig, Result};
use sphear_render::head::SphericalHead;
use sphear_render::sim::{PlaneWaveSource, render_direct, simulate_array};
use sphear_sh::array::ArrayGeometry;

fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
        })
        .collect()
}

fn main() -> Result<()> {
    let fs = 48_000.0;
    let array = ArrayGeometry::em32();
    let hrtf = SphericalHead::default().build(fs)?;
    let fc = FeatureConfig::low_latency();
    let fx = FeatureExtractor::new(&fc, &array)?;
    let cfg = ModelConfig::lean(fc.num_planes(32), fc.num_aux(32), 32);
    let w = EmaglsWeights::design(&hrtf, &array, fc.n_fft, &EmaglsDesign::default())?;
    let scene = |secs: f64, seed: u64| {
        let src = PlaneWaveSource {
            direction: Direction::new(0.7, 0.2),
            signal: noise((secs * fs) as usize, seed),
        };
        let caps = simulate_array(
            &array,
            std::slice::from_ref(&src),
            fs,
            sphear_core::SPEED_OF_SOUND_M_S,
        );
        (
            caps,
            render_direct(&hrtf, std::slice::from_ref(&src)),
            src.direction,
        )
    };

    // Inference.
    let dev = Device::flex();
    let model = cfg.init(&dev)?;
    let wt = w.to_tensors(&dev);
    let (caps, _, _) = scene(4.0, 1);
    let t0 = std::time::Instant::now();
    let sf = fx.extract(&caps)?;
    let t_feat = t0.elapsed().as_secs_f64();
    let inp = RendererInput::from_scenes(&[&sf], &[Anthropometry::default()], Some(&wt), &dev)?;
    let out = model.forward(&inp)?;
    let _ = out.re.into_data();
    let t_all = t0.elapsed().as_secs_f64();
    println!(
        "lean ({} params, {:?}, STFT {}/{}): 4 s scene in {:.3} s (features {:.3} s) → RTF {:.3}",
        model.num_params(),
        cfg.temporal,
        fc.n_fft,
        fc.hop,
        t_all,
        t_feat,
        t_all / 4.0
    );

    // Training throughput.
    let dev = Device::flex().autodiff();
    let mut model = cfg.init(&dev)?;
    let wt = w.to_tensors(&dev);
    let loss = WeightedLoss::new(
        fc.n_fft,
        fc.hop,
        fs,
        &[256, 512, 1024],
        LossWeights::default(),
        &dev,
    )?;
    let mut optim = AdamConfig::new().init();
    let batch = 2;
    let steps = 3;
    let t0 = std::time::Instant::now();
    for step in 0..steps {
        let mut feats = Vec::new();
        let (mut re, mut im, mut time, mut doa) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut dims = (0, 0, 0);
        for b in 0..batch {
            let (caps, bin, dir) = scene(1.0, (10 * step + b + 2) as u64);
            let sf = fx.extract(&caps)?;
            let (f_n, t_n) = (sf.n_bins, sf.n_frames);
            dims = (f_n, t_n, bin[0].len());
            let mut r = vec![0.0f32; 2 * f_n * t_n];
            let mut i = vec![0.0f32; 2 * f_n * t_n];
            for (e, x) in bin.iter().enumerate() {
                for (t, fr) in fx.stft().analyze(x).iter().enumerate() {
                    for (k, v) in fr.iter().enumerate() {
                        r[(e * f_n + k) * t_n + t] = v.re;
                        i[(e * f_n + k) * t_n + t] = v.im;
                    }
                }
                time.extend_from_slice(x);
            }
            re.extend(r);
            im.extend(i);
            let u = dir.to_cartesian();
            doa.extend([u[0] as f32, u[1] as f32, u[2] as f32]);
            feats.push(sf);
        }
        let (f_n, t_n, len) = dims;
        let refs: Vec<_> = feats.iter().collect();
        let inp = RendererInput::from_scenes(
            &refs,
            &vec![Anthropometry::default(); batch],
            Some(&wt),
            &dev,
        )?;
        let target = Target {
            re: Tensor::from_data(TensorData::new(re, [batch, 2, f_n, t_n]), &dev),
            im: Tensor::from_data(TensorData::new(im, [batch, 2, f_n, t_n]), &dev),
            time: Tensor::from_data(TensorData::new(time, [batch, 2, len]), &dev),
            doa: Tensor::from_data(TensorData::new(doa, [batch, 1, 3]), &dev),
        };
        let out = model.forward(&inp)?;
        let terms = loss.compute(&out, &target)?;
        let grads = GradientsParams::from_grads(terms.total.backward(), &model);
        model = optim.step(1e-3, model, grads);
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "lean training: {} steps × {batch} scenes of 1 s in {secs:.2} s → {:.3} scenes/s",
        steps,
        (steps * batch) as f64 / secs
    );
    Ok(())
}
