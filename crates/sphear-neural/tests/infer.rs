//! The inference path (`sphear_neural::infer`): parity of the untrained residual head with the
//! STFT-domain eMagLS through the streamed, chunked renderer; model directories round-trip;
//! the embedded-model switch; the anthropometry mapping.

mod common;

use burn::module::Module;
use burn::prelude::*;
use num_complex::{Complex32, Complex64};
use sphear_core::Direction;
use sphear_neural::NeuralError;
use sphear_neural::config::{ModelConfig, TemporalKind};
use sphear_neural::features::{Anthropometry, FeatureConfig, FeatureExtractor};
use sphear_neural::heads::{EmaglsDesign, EmaglsWeights};
use sphear_neural::infer::{
    AnthroStandardizer, LoadedModel, NeuralBinaural, StreamConfig, anthropometry_from_measures,
    has_embedded_model,
};
use sphear_neural::training::TrainConfig;
use sphear_render::head::SphericalHead;
use sphear_render::sim::{PlaneWaveSource, simulate_array};
use sphear_sh::array::ArrayGeometry;

const FS: f64 = 48_000.0;

fn capsules(len: usize) -> Vec<Vec<f32>> {
    let srcs = vec![
        PlaneWaveSource {
            direction: Direction::new(60f64.to_radians(), 10f64.to_radians()),
            signal: common::noise(len, 31, 0.3),
        },
        PlaneWaveSource {
            direction: Direction::new((-120f64).to_radians(), (-20f64).to_radians()),
            signal: common::noise(len, 32, 0.2),
        },
    ];
    simulate_array(
        &ArrayGeometry::em32(),
        &srcs,
        FS,
        sphear_core::SPEED_OF_SOUND_M_S,
    )
}

/// `Σ_c W_eMagLS(e, c, k) X_c(k, t)` in f64 over the whole signal, synthesised by WOLA.
fn stft_emagls(caps: &[Vec<f32>], fc: &FeatureConfig) -> Vec<Vec<f32>> {
    let array = ArrayGeometry::em32();
    let hrtf = SphericalHead::default().build(FS).expect("head");
    let w = EmaglsWeights::design(&hrtf, &array, fc.n_fft, &EmaglsDesign::default()).expect("w");
    let fx = FeatureExtractor::new(fc, &array).expect("fx");
    let stft = fx.stft();
    let specs: Vec<Vec<Vec<Complex32>>> = caps.iter().map(|x| stft.analyze(x)).collect();
    (0..2)
        .map(|e| {
            let frames: Vec<Vec<Complex32>> = (0..specs[0].len())
                .map(|t| {
                    (0..stft.n_bins())
                        .map(|k| {
                            let mut y = Complex64::new(0.0, 0.0);
                            for (c, s) in specs.iter().enumerate() {
                                let x = s[t][k];
                                y += w.w[e][c][k] * Complex64::new(x.re as f64, x.im as f64);
                            }
                            Complex32::new(y.re as f32, y.im as f32)
                        })
                        .collect()
                })
                .collect();
            stft.synthesize(&frames, caps[0].len()).expect("synth")
        })
        .collect()
}

/// Largest |a − b| over both ears relative to the largest |b|.
fn max_rel(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    let mut err = 0.0f64;
    let mut peak = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(y) {
            err = err.max((*p as f64 - *q as f64).abs());
            peak = peak.max((*q as f64).abs());
        }
    }
    err / peak
}

fn binaural(model: &LoadedModel) -> NeuralBinaural {
    let hrtf = SphericalHead::default().build(FS).expect("head");
    NeuralBinaural::new(
        model,
        &ArrayGeometry::em32(),
        &hrtf,
        Anthropometry::default(),
        &Device::flex(),
    )
    .expect("bind")
}

/// Tolerance of the parity: float32 network arithmetic against an f64 reference (the STFT,
/// beamformer sum and WOLA in f32 give relative errors of ~1e-7, see NETWORK.md).
const PARITY_TOL: f64 = 1e-5;

#[test]
fn untrained_lean_model_renders_stft_emagls_through_the_stream() {
    let fc = FeatureConfig::low_latency();
    let caps = capsules(9_000);
    let reference = stft_emagls(&caps, &fc);
    let dev = Device::flex();
    // The lean model is causal (no right context); a Bi-GRU variant needs right context and so
    // exercises the latency path of the stream.
    for temporal in [TemporalKind::CausalGru, TemporalKind::BiGru] {
        let mc = ModelConfig::lean(fc.num_planes(32), fc.num_aux(32), 32).with_temporal(temporal);
        let model = LoadedModel::initialised(mc, fc.clone(), &dev).expect("model");
        let net = binaural(&model);
        for sc in [
            StreamConfig {
                chunk_frames: 16,
                left_context_frames: 5,
                right_context_frames: 7,
            },
            StreamConfig {
                chunk_frames: 100,
                left_context_frames: 0,
                right_context_frames: 3,
            },
        ] {
            let out = net.render(&caps, sc).expect("render");
            assert_eq!(out.len(), 2);
            let rel = max_rel(&out, &reference);
            println!("{temporal:?} {sc:?}: max rel. error vs STFT-domain eMagLS {rel:.2e}");
            assert!(rel < PARITY_TOL, "{temporal:?} {sc:?}: {rel:.2e}");
        }
    }
}

#[test]
fn untrained_model_at_paper_stft_renders_stft_emagls() {
    let fc = FeatureConfig::paper();
    let caps = capsules(6_000);
    let reference = stft_emagls(&caps, &fc);
    let dev = Device::flex();
    let mc = ModelConfig::tiny(fc.num_planes(32), fc.num_aux(32), 32);
    let model = LoadedModel::initialised(mc, fc, &dev).expect("model");
    let out = binaural(&model)
        .render(&caps, StreamConfig::default())
        .expect("render");
    let rel = max_rel(&out, &reference);
    println!("1024/512 tiny: max rel. error vs STFT-domain eMagLS {rel:.2e}");
    assert!(rel < PARITY_TOL, "{rel:.2e}");
}

/// A model directory in the checkpoint layout: `config.json` (TrainConfig JSON) and `model.bpk`.
fn write_model_dir(dir: &std::path::Path, model: &LoadedModel, tc: &TrainConfig) {
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(tc).expect("json"),
    )
    .expect("config");
    model
        .renderer
        .clone()
        .save_file(dir.join("model.bpk"))
        .expect("save");
}

#[test]
fn model_directory_round_trip_gives_the_same_output() {
    let tc = TrainConfig::from_toml_str(
        "dataset_dir = 'unused'\noutput_dir = 'unused'\nsteps = 1\nmodel = 'tiny'\n",
    )
    .expect("toml");
    let dev = Device::flex();
    // Perturb the weights away from the init so that the round trip is not trivially eMagLS:
    // a model whose residual output layer is non-zero (the direct head has random outputs).
    let tc = TrainConfig {
        head: sphear_neural::HeadKind::Direct,
        ..tc
    };
    let model =
        LoadedModel::initialised(tc.model_config(), tc.features.clone(), &dev).expect("init");
    let tmp = tempfile::tempdir().expect("tmp");
    write_model_dir(tmp.path(), &model, &tc);
    let loaded = LoadedModel::from_dir(tmp.path(), &dev).expect("load");
    assert_eq!(
        loaded.model_config.enc_channels,
        model.model_config.enc_channels
    );
    assert_eq!(loaded.features, model.features);
    let caps = capsules(4_000);
    let sc = StreamConfig::default();
    let a = binaural(&model).render(&caps, sc).expect("a");
    let b = binaural(&loaded).render(&caps, sc).expect("b");
    let peak = a.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(peak > 0.0, "the direct head at init renders something");
    assert_eq!(a, b);

    // Wrong layout: a missing weights file is an error naming it.
    std::fs::remove_file(tmp.path().join("model.bpk")).expect("rm");
    let err = LoadedModel::from_dir(tmp.path(), &dev).expect_err("missing weights");
    assert!(err.to_string().contains("model.bpk"), "{err}");
}

#[test]
fn model_config_entry_overrides_the_preset() {
    let tc = TrainConfig::from_toml_str(
        "dataset_dir = 'unused'\noutput_dir = 'unused'\nsteps = 1\nmodel = 'lean'\n",
    )
    .expect("toml");
    let tiny = ModelConfig::tiny(tc.features.num_planes(32), tc.features.num_aux(32), 32);
    let mut v = serde_json::to_value(&tc).expect("json");
    v["model_config"] = serde_json::Value::String(serde_json::to_string(&tiny).expect("json"));
    let (mc, fc, stdz) =
        sphear_neural::infer::parse_model_config(v.to_string().as_bytes()).expect("parse");
    assert_eq!(mc.enc_channels, tiny.enc_channels);
    assert_eq!(fc, tc.features);
    assert!(stdz.is_none());
}

#[test]
fn embedded_model_is_there_or_a_clear_error() {
    let dev = Device::flex();
    match LoadedModel::embedded(&dev) {
        Ok(m) => {
            assert!(has_embedded_model());
            assert_eq!(m.source, "embedded");
            assert_eq!(m.model_config.n_caps, 32);
        }
        Err(e) => {
            assert!(!has_embedded_model());
            assert!(matches!(e, NeuralError::NoEmbeddedModel), "{e}");
            assert!(e.to_string().contains("--model DIR"), "{e}");
        }
    }
}

#[test]
fn anthropometry_is_the_mean_z_score_of_both_ears() {
    let stdz = AnthroStandardizer {
        mean: (0..12).map(|i| i as f64).collect(),
        std: vec![2.0; 12],
    };
    let mut ears = [[0.0f64; 12]; 2];
    for i in 0..12 {
        ears[0][i] = i as f64 + 2.0; // +1σ
        ears[1][i] = i as f64 - 2.0 * if i < 5 { -1.0 } else { 3.0 }; // head +1σ, pinna −3σ
    }
    let a = anthropometry_from_measures(&ears, &stdz).expect("map");
    for i in 0..12 {
        let want = if i < 5 { 1.0 } else { -1.0 };
        assert!((a.0[i] - want).abs() < 1e-6, "{i}: {}", a.0[i]);
    }
    let bad = AnthroStandardizer {
        mean: vec![0.0; 12],
        std: vec![0.0; 12],
    };
    assert!(anthropometry_from_measures(&ears, &bad).is_err());
}

#[test]
fn rate_and_capsule_mismatches_are_errors() {
    let fc = FeatureConfig::low_latency();
    let dev = Device::flex();
    let mc = ModelConfig::tiny(fc.num_planes(32), fc.num_aux(32), 32);
    let model = LoadedModel::initialised(mc, fc, &dev).expect("model");
    let hrtf = SphericalHead::default().build(44_100.0).expect("head");
    let e = NeuralBinaural::new(
        &model,
        &ArrayGeometry::em32(),
        &hrtf,
        Anthropometry::default(),
        &dev,
    )
    .expect_err("rate");
    assert!(e.to_string().contains("48000"), "{e}");
}

/// Lag (samples) maximising `Σ_n a[n]·b[n + lag]` over `|lag| ≤ max_lag`: positive when `b`
/// lags `a`.
fn xcorr_peak_lag(a: &[f32], b: &[f32], max_lag: i64) -> i64 {
    let n = a.len() as i64;
    let mut best = (f64::NEG_INFINITY, 0);
    for lag in -max_lag..=max_lag {
        let mut s = 0.0f64;
        for i in 0.max(-lag)..n.min(n - lag) {
            s += f64::from(a[i as usize]) * f64::from(b[(i + lag) as usize]);
        }
        if s > best.0 {
            best = (s, lag);
        }
    }
    best.1
}

/// Low-pass (windowed sinc, Hann, 257 taps, cutoff `fc_hz`), same length, zero-phase alignment.
fn lowpass(x: &[f32], fc_hz: f64) -> Vec<f32> {
    let half = 128usize;
    let h: Vec<f32> = (0..=2 * half)
        .map(|k| {
            let t = k as f64 - half as f64;
            let w = 0.5 + 0.5 * (std::f64::consts::PI * t / (half + 1) as f64).cos();
            let sinc = if k == half {
                2.0 * fc_hz / FS
            } else {
                (2.0 * std::f64::consts::PI * fc_hz / FS * t).sin() / (std::f64::consts::PI * t)
            };
            (w * sinc) as f32
        })
        .collect();
    sphear_core::conv::fft_convolve(x, &h)[half..half + x.len()].to_vec()
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// The shipped model (when this build embeds one) lateralises as the physics demands: a plane wave
/// of noise from the left (azimuth +60°) comes out louder and (below 1.2 kHz) earlier at the left
/// ear, one from the right (−60°) at the right ear; the output is finite, and its level stays within 6 dB of the
/// STFT-domain eMagLS that the residual head started from (a trained correction, not a new level).
#[test]
fn shipped_model_lateralises_plane_waves() {
    if !has_embedded_model() {
        eprintln!("this build embeds no model (crates/sphear-neural/model/): nothing to check");
        return;
    }
    let dev = Device::flex();
    let model = LoadedModel::embedded(&dev).expect("embedded model");
    let array = ArrayGeometry::em32();
    let hrtf = SphericalHead::default().build(FS).expect("head");
    let net =
        NeuralBinaural::new(&model, &array, &hrtf, Anthropometry::default(), &dev).expect("bind");
    for az_deg in [60.0f64, -60.0] {
        let src = PlaneWaveSource {
            direction: Direction::new(az_deg.to_radians(), 0.0),
            signal: common::noise(24_000, 77, 0.3),
        };
        let caps = simulate_array(&array, &[src], FS, sphear_core::SPEED_OF_SOUND_M_S);
        let y = net.render(&caps, StreamConfig::default()).expect("render");
        assert!(
            y.iter().flatten().all(|v| v.is_finite()),
            "non-finite output"
        );
        let ild_db = 10.0 * (energy(&y[0]) / energy(&y[1])).log10();
        // The interaural delay lives below the MagLS cut (2 kHz); above it eMagLS matches
        // magnitudes, not phases, so the broadband cross-correlation peaks near 0.
        let lag = xcorr_peak_lag(&lowpass(&y[0], 1200.0), &lowpass(&y[1], 1200.0), 48);
        let reference = stft_emagls(&caps, &model.features);
        let level_db = 10.0
            * ((energy(&y[0]) + energy(&y[1])) / (energy(&reference[0]) + energy(&reference[1])))
                .log10();
        println!(
            "azimuth {az_deg:+}°: ILD {ild_db:+.2} dB, right-ear lag {lag:+} samples, level vs \
             STFT eMagLS {level_db:+.2} dB"
        );
        assert_eq!(
            ild_db.signum(),
            az_deg.signum(),
            "ILD {ild_db} dB at {az_deg}°"
        );
        assert!(
            lag != 0 && (lag as f64).signum() == az_deg.signum(),
            "the far ear must lag: {lag} samples at {az_deg}°"
        );
        assert!(level_db.abs() < 6.0, "level {level_db} dB off eMagLS");
    }
}

/// The example run config (the shipped model's) parses, with its listeners and STFT.
#[test]
fn example_train_config_parses() {
    let tc = TrainConfig::from_toml_str(include_str!("../examples/train_lean.toml"))
        .expect("examples/train_lean.toml");
    assert_eq!(tc.listeners.len(), 2);
    assert!(tc.listeners[0].dataset_dir.is_some());
    assert!(
        tc.listeners[1].dataset_dir.is_none() && tc.listeners[1].val_dataset_dir.is_some(),
        "the last listener is held out"
    );
    assert_eq!((tc.features.n_fft, tc.features.hop), (1024, 512));
    assert_eq!(tc.model_config().enc_channels, vec![24, 48, 96]);
    assert_eq!(tc.max_wall_s, Some(3540.0));
}

/// Frames `j0 .. j0 + n` of every `[row][frame]` array of `sf` (what `render_frames` feeds the
/// network for a segment).
fn slice_scene(
    sf: &sphear_neural::SceneFeatures,
    j0: usize,
    n: usize,
) -> sphear_neural::SceneFeatures {
    let t_all = sf.n_frames;
    let cut = |v: &[f32], rows: usize| -> Vec<f32> {
        (0..rows)
            .flat_map(|r| v[r * t_all + j0..r * t_all + j0 + n].iter().copied())
            .collect()
    };
    sphear_neural::SceneFeatures {
        n_frames: n,
        planes: cut(&sf.planes, sf.n_planes * sf.n_bins),
        aux: cut(&sf.aux, sf.n_aux),
        stft_re: cut(&sf.stft_re, sf.n_caps * sf.n_bins),
        stft_im: cut(&sf.stft_im, sf.n_caps * sf.n_bins),
        ..sf.clone()
    }
}

/// Inference applies the residual head in one pass (`W = W_eMagLS + g·ΔW`, `Y = Σ_c W·X_c`
/// over plain arrays) instead of the training graph's tensor form. With a trained, non-zero
/// correction (the shipped weights), absolute and relative (`residual_scale`), the two agree
/// to float precision, and the correction is far from negligible, so the comparison is not
/// a comparison of two eMagLS renders.
#[test]
fn inference_beamformer_equals_the_tensor_form_of_the_residual_head() {
    use sphear_neural::model::RendererInput;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model");
    if !src.join("model.bpk").exists() {
        eprintln!("no shipped model in this checkout: nothing to compare");
        return;
    }
    let dev = Device::flex();
    let array = ArrayGeometry::em32();
    let hrtf = SphericalHead::default().build(FS).expect("head");
    let text = std::fs::read_to_string(src.join("config.json")).expect("config");
    for scale in [None, Some(0.1)] {
        let mut cfg: serde_json::Value = serde_json::from_str(&text).expect("json");
        // The scale is set at the top level and in the model_config entry (which overrides).
        let set = |obj: &mut serde_json::Map<String, serde_json::Value>| match scale {
            Some(s) => obj.insert("residual_scale".into(), serde_json::json!(s)),
            None => obj.remove("residual_scale"),
        };
        let obj = cfg.as_object_mut().expect("object");
        set(obj);
        if let Some(mc) = obj.get_mut("model_config").and_then(|m| m.as_object_mut()) {
            set(mc);
        }
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::write(tmp.path().join("config.json"), cfg.to_string()).expect("write");
        std::fs::copy(src.join("model.bpk"), tmp.path().join("model.bpk")).expect("copy");
        let model = LoadedModel::from_dir(tmp.path(), &dev).expect("load");
        assert_eq!(model.renderer.residual_scale() > 0.0, scale.is_some());
        let net = binaural(&model);
        let (n_fft, hop) = (model.features.n_fft, model.features.hop);
        let n = 20;
        let caps = capsules((n - 1) * hop + n_fft);
        let got = net.render_frames(&caps, (0, n)).expect("render");

        let fx = FeatureExtractor::new(&model.features, &array).expect("fx");
        let sf = slice_scene(&fx.extract(&caps).expect("features"), n_fft / hop - 1, n);
        let w =
            EmaglsWeights::design(&hrtf, &array, n_fft, &EmaglsDesign::default()).expect("emagls");
        let input = RendererInput::from_scenes(
            &[&sf],
            &[Anthropometry::default()],
            Some(&w.to_tensors(&dev)),
            &dev,
        )
        .expect("input");
        let out = model.renderer.forward(&input).expect("forward");
        let [_, _, f_n, t_n] = out.re.dims();
        assert_eq!((t_n, f_n), (n, got[0][0].len()));
        let re: Vec<f32> = out.re.into_data().try_to_vec().expect("re");
        let im: Vec<f32> = out.im.into_data().try_to_vec().expect("im");
        let (mut err, mut peak, mut corr) = (0.0f64, 0.0f64, 0.0f64);
        for (e, ear) in got.iter().enumerate() {
            for (t, frame) in ear.iter().enumerate() {
                for (k, v) in frame.iter().enumerate() {
                    let i = (e * f_n + k) * t_n + t;
                    let refv = Complex32::new(re[i], im[i]);
                    err = err.max((v - refv).norm() as f64);
                    peak = peak.max(refv.norm() as f64);
                    // The eMagLS part alone.
                    let base: Complex64 = (0..array.num_capsules())
                        .map(|c| {
                            let j = (c * f_n + k) * t_n + t;
                            w.w[e][c][k]
                                * Complex64::new(sf.stft_re[j] as f64, sf.stft_im[j] as f64)
                        })
                        .sum();
                    let d = Complex64::new(refv.re as f64, refv.im as f64) - base;
                    corr = corr.max(d.norm());
                }
            }
        }
        assert!(peak > 0.0);
        assert!(
            err / peak < 1e-5,
            "scale {scale:?}: one-pass vs tensor head differ by {:.2e} of the peak",
            err / peak
        );
        assert!(
            corr / peak > 1e-3,
            "scale {scale:?}: the correction is only {:.2e} of the peak",
            corr / peak
        );
        eprintln!(
            "scale {scale:?}: max |one-pass − tensor| = {:.2e}, max |correction| = {:.2e} of the peak",
            err / peak,
            corr / peak
        );
    }
}

/// Adds `±amp` uniform noise times `(1 + |w|)` to every float tensor of the module (weights,
/// biases, batch-norm statistics kept positive): a network whose residual correction is far
/// from zero, so that streaming differences show.
struct Perturb {
    amp: f64,
}

impl burn::module::ModuleMapper for Perturb {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        let amp = self.amp;
        param.map(|t| {
            let u = Tensor::random(
                t.dims(),
                burn::tensor::Distribution::Uniform(-amp, amp),
                &t.device(),
            );
            t.clone() + u * (t.abs() + 1.0)
        })
    }
}

/// One chunk longer than the test signals (9 000 samples, ~72 frames at hop 128): the
/// recurrent and attention layers see the whole past.
const ONE_PASS: StreamConfig = StreamConfig {
    chunk_frames: 200,
    left_context_frames: 0,
    right_context_frames: 0,
};

fn perturbed_causal_tiny(fc: &FeatureConfig) -> LoadedModel {
    let dev = Device::flex();
    dev.seed(20_261_205);
    let mc = ModelConfig::tiny(fc.num_planes(32), fc.num_aux(32), 32)
        .with_temporal(TemporalKind::CausalGru)
        .with_head(sphear_neural::HeadKind::Residual);
    let mut model = LoadedModel::initialised(mc, fc.clone(), &dev).expect("model");
    model.renderer = model.renderer.map(&mut Perturb { amp: 0.3 });
    model
}

#[test]
fn causal_encoder_reads_no_further_back_than_its_stated_lookback() {
    let fc = FeatureConfig::low_latency();
    let model = perturbed_causal_tiny(&fc);
    let (r_enc, r_dec) = model
        .renderer
        .causal_lookback_frames()
        .expect("a causal model has a finite lookback");
    // tiny: two blocks of two causal 3×3 convolutions (2 frames each) and a 3×3 CBAM spatial
    // convolution.
    assert_eq!((r_enc, r_dec), (2 * 4 + 2, 4 + 4), "lookback");
    let dev = Device::flex();
    let (p, f, t, tp) = (model.model_config.in_planes, 40, 30, 9);
    let planes = common::randn([1, p, f, t], &dev);
    // Change one input frame only.
    let bump = Tensor::<4>::zeros([1, p, f, t], &dev).slice_assign(
        [0..1, 0..p, 0..f, tp..tp + 1],
        common::randn([1, p, f, 1], &dev),
    );
    let a = model.renderer.encode(&planes, None).expect("a");
    let b = model.renderer.encode(&(planes + bump), None).expect("b");
    let fb = a.bottom.dims()[2];
    let per_frame = |x: Tensor<4>, y: Tensor<4>| -> Vec<f32> {
        let d = common::values((x - y).abs().max_dim(1).max_dim(2));
        assert_eq!(d.len(), t);
        d
    };
    let d = per_frame(a.bottom.clone(), b.bottom.clone());
    println!("bottleneck input: max |Δ| per frame {d:?} (F_b {fb})");
    for (i, v) in d.iter().enumerate() {
        if i < tp || i > tp + r_enc {
            assert_eq!(*v, 0.0, "frame {i} must not see frame {tp}");
        }
    }
    // The stated lookback is not a loose bound: the change reaches well into it (max pooling
    // over frequency and the ReLU in CBAM can cut single paths, so not always its last frame).
    let reach = (0..t)
        .rev()
        .find(|&i| d[i] > 0.0)
        .expect("the bump changes something")
        - tp;
    assert!(
        2 * reach >= r_enc,
        "reach {reach} of lookback {r_enc}: {d:?}"
    );
    // The skips are causal too, with at most the same reach.
    for (s, (x, y)) in a.skips.into_iter().zip(b.skips).enumerate() {
        let d = per_frame(x, y);
        assert!(
            d.iter()
                .enumerate()
                .all(|(i, v)| (i >= tp && i <= tp + r_enc) || *v == 0.0),
            "skip {s}: {d:?}"
        );
    }
    // A Bi-GRU model looks ahead: no finite lookback.
    let bi = ModelConfig::tiny(fc.num_planes(32), fc.num_aux(32), 32)
        .with_temporal(TemporalKind::BiGru)
        .init(&dev)
        .expect("bi");
    assert!(bi.causal_lookback_frames().is_none());
}

#[test]
fn incremental_stream_equals_the_one_pass_render_given_the_whole_history() {
    // With a context longer than the signal, every chunk's bottleneck sees all earlier frames,
    // so the chunked renders of a causal model must equal one pass over the whole signal; the
    // incremental path only skips work (encoder frames computed before, decoder frames not
    // kept). A wrong lookback or cache offset shows as a mismatch at chunk boundaries.
    let fc = FeatureConfig::low_latency();
    let model = perturbed_causal_tiny(&fc);
    let net = binaural(&model);
    let caps = capsules(9_000);
    let one = ONE_PASS;
    let whole = net.render(&caps, one).expect("one pass");
    let untrained =
        LoadedModel::initialised(model.model_config.clone(), fc.clone(), &Device::flex())
            .expect("untrained");
    let eml = binaural(&untrained)
        .render(&caps, one)
        .expect("untrained render");
    let moved = max_rel(&whole, &eml);
    println!("perturbed vs untrained (eMagLS) output: max rel. difference {moved:.2e}");
    assert!(
        moved > 1e-2,
        "the perturbed correction must change the output: {moved:.2e}"
    );
    for chunk in [1, 3, 8, 25] {
        let sc = StreamConfig {
            chunk_frames: chunk,
            left_context_frames: 1_000,
            right_context_frames: 0,
        };
        let mut inc = net.stream(sc).expect("stream");
        assert!(inc.is_incremental());
        let a = sphear_core::stream::process_buffers(&mut inc, &caps).expect("incremental");
        let mut win = net.stream(sc).expect("stream");
        win.disable_incremental();
        assert!(!win.is_incremental());
        let b = sphear_core::stream::process_buffers(&mut win, &caps).expect("windowed");
        let (ra, rb) = (max_rel(&a, &whole), max_rel(&b, &whole));
        println!("chunk {chunk}: incremental {ra:.2e}, windowed {rb:.2e} (max rel. vs one pass)");
        assert!(ra < 1e-4 && rb < 1e-4, "chunk {chunk}: {ra:.2e} / {rb:.2e}");
    }
}

#[test]
fn incremental_stream_with_short_context_is_nearer_the_one_pass_than_the_windowed_one() {
    // With a short context the two paths differ only in the context frames' encoder
    // activations (exact in the incremental path, zero-padded at the window start in the
    // windowed one), which reach the kept frames through the recurrent and attention layers:
    // the incremental render is the nearer to the unbounded-context render.
    let fc = FeatureConfig::low_latency();
    let model = perturbed_causal_tiny(&fc);
    let net = binaural(&model);
    let caps = capsules(9_000);
    let sc = StreamConfig {
        chunk_frames: 8,
        left_context_frames: 12,
        right_context_frames: 0,
    };
    let a = net.render(&caps, sc).expect("incremental");
    let mut win = net.stream(sc).expect("stream");
    win.disable_incremental();
    let b = sphear_core::stream::process_buffers(&mut win, &caps).expect("windowed");
    let whole = net.render(&caps, ONE_PASS).expect("whole");
    let (d_ab, d_aw, d_bw) = (max_rel(&a, &b), max_rel(&a, &whole), max_rel(&b, &whole));
    println!(
        "context 12: incremental vs windowed {d_ab:.2e}; vs one pass: incremental {d_aw:.2e}, windowed {d_bw:.2e}"
    );
    assert!(
        d_ab > 0.0,
        "the context frames' activations differ between the paths"
    );
    assert!(d_aw < d_bw, "{d_aw:.2e} / {d_bw:.2e}");
}

#[test]
fn incremental_encoder_equals_the_encoder_over_the_whole_stream() {
    let fc = FeatureConfig::low_latency();
    let model = perturbed_causal_tiny(&fc);
    let dev = Device::flex();
    let (p, f, t) = (model.model_config.in_planes, 40, 37);
    let planes = common::randn([1, p, f, t], &dev);
    let whole = model.renderer.encode(&planes, None).expect("whole");
    // Chunks of 1, 2, 5, … frames, shorter and longer than the stages' lookback.
    for sizes in [vec![1usize; 37], vec![2, 5, 1, 13, 16], vec![37]] {
        let mut hist = sphear_neural::EncoderHistory::default();
        let mut parts: Option<sphear_neural::EncodedFrames> = None;
        let mut t0 = 0;
        for n in sizes.iter().copied() {
            let e = model
                .renderer
                .encode_incremental(&planes.clone().narrow(3, t0, n), &mut hist, None)
                .expect("step");
            parts = Some(match parts {
                Some(a) => a.cat_frames(e),
                None => e,
            });
            t0 += n;
        }
        let parts = parts.expect("frames");
        let diff = |a: Tensor<4>, b: Tensor<4>| -> f32 {
            let peak = common::values(b.clone().abs().max())
                .first()
                .copied()
                .unwrap_or(0.0);
            common::values((a - b).abs().max())[0] / peak
        };
        let mut worst = diff(parts.bottom.clone(), whole.bottom.clone());
        for (a, b) in parts.skips.iter().zip(&whole.skips) {
            worst = worst.max(diff(a.clone(), b.clone()));
        }
        println!("chunks {sizes:?}: max rel. difference {worst:.2e}");
        assert!(worst < 1e-5, "{sizes:?}: {worst:.2e}");
    }
}
