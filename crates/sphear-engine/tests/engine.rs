//! Engine tests: allocation-free SH rotation vs `sh_rotation_matrix`, block-size invariance,
//! agreement with the offline renderer (static head, rotated head), crossfaded head sweeps.

mod common;

use common::{FS_HZ, hrtf, noise, offline, rel_err_after_latency, run_engine};
use proptest::prelude::*;
use sphear_core::Direction;
use sphear_engine::{Engine, EngineConfig, ShDomainDesign, ShRotator};
use sphear_sh::rotation::{rotation_from_quaternion, sh_rotation_matrix};
use sphear_sh::sh::{Norm, real_sh};

/// Allocation-free rotation vs `sh_rotation_matrix`: same recursion in f64, so agreement to a
/// few ulps of the O(1) entries.
const SHROT_TOL: f64 = 1e-12;

/// Engine vs offline renderer, relative to the reference peak. Both are f32 UPOLS convolutions
/// of 512-tap filters over up to 32 channels with different partitionings (different rounding):
/// a random-walk rounding bound 2⁻²⁴·√(2·32·512) ≈ 1.1e-5 (the em32 path also applies the
/// spatial matrix in f32 instead of folding it into the filters in f64). Measured ≈ 3e-7.
const OFFLINE_TOL_REL: f64 = 1.1e-5;
const OFFLINE_EM32_TOL_REL: f64 = 1.1e-5;

/// Test signal length: 0.2 s.
const LEN: usize = 9600;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn shrotator_equals_sh_rotation_matrix(w in -1.0f64..1.0, x in -1.0f64..1.0, y in -1.0f64..1.0, z in -1.0f64..1.0) {
        prop_assume!(w * w + x * x + y * y + z * z > 1e-3);
        let r = rotation_from_quaternion(w, x, y, z);
        let order = 7;
        let reference = sh_rotation_matrix(order, &r);
        let mut rot = ShRotator::new(order);
        rot.compute(&r);
        let n = (order + 1) * (order + 1);
        for i in 0..n {
            for j in 0..n {
                prop_assert!((rot.get(i, j) - reference[(i, j)]).abs() < SHROT_TOL, "({i},{j})");
            }
        }
    }
}

/// Independent check of the defining property `M y(u) = y(R u)` on the allocation-free matrix.
#[test]
fn shrotator_rotates_harmonics() {
    let r = rotation_from_quaternion(0.9, 0.1, -0.3, 0.2);
    let order = 5;
    let mut rot = ShRotator::new(order);
    rot.compute(&r);
    let u = Direction::from_deg(40.0, 25.0);
    let ru = sphear_sh::rotation::rotate_direction(&r, &u);
    let yu = real_sh(order, &u, Norm::Sn3d);
    let yru = real_sh(order, &ru, Norm::Sn3d);
    for (i, want) in yru.iter().enumerate() {
        let got: f64 = (0..yu.len()).map(|j| rot.get(i, j) * yu[j]).sum();
        assert!((got - want).abs() < 1e-12, "acn {i}: {got} vs {want}");
    }
}

fn ambix_cfg() -> EngineConfig {
    EngineConfig::ambix(4)
}

#[test]
fn ambix_block_size_invariance_and_offline_match() {
    let h = hrtf();
    let cfg = ambix_cfg();
    let design = ShDomainDesign::design(&cfg, &h).expect("design");
    let input = noise(25, LEN, 1);
    let mut engine = Engine::from_design(cfg.clone(), design).expect("engine");
    assert_eq!(engine.latency_samples(), 64 + 256);
    engine.prepare(FS_HZ, 4096).expect("prepare");
    let reference = run_engine(&mut engine, &input, cfg.partition_len);
    for block in [1usize, 7, 64, 256, 1023] {
        engine.prepare(FS_HZ, 4096).expect("prepare");
        let out = run_engine(&mut engine, &input, block);
        // Same partitions, same arithmetic: bit-identical whatever the host block length.
        assert_eq!(out, reference, "block {block}");
    }
    let off = offline(&cfg, &h, &input, [0.0; 3]);
    let e = rel_err_after_latency(&reference, &off, engine.latency_samples());
    println!("ambix static: engine vs offline relative error {e:.3e}");
    assert!(e < OFFLINE_TOL_REL, "engine vs offline: {e}");
}

#[test]
fn em32_block_size_invariance_and_offline_match() {
    let h = hrtf();
    let cfg = EngineConfig::em32(4);
    let design = ShDomainDesign::design(&cfg, &h).expect("design");
    let input = noise(32, LEN, 2);
    let mut engine = Engine::from_design(cfg.clone(), design).expect("engine");
    engine.prepare(FS_HZ, 1024).expect("prepare");
    let reference = run_engine(&mut engine, &input, cfg.partition_len);
    for block in [1usize, 7, 256, 1023] {
        engine.prepare(FS_HZ, 1024).expect("prepare");
        assert_eq!(
            run_engine(&mut engine, &input, block),
            reference,
            "block {block}"
        );
    }
    // Offline: eMagLS-SH capsule filters (spatial matrix folded in) from BinauralDecoder.
    let off = offline(&cfg, &h, &input, [0.0; 3]);
    let e = rel_err_after_latency(&reference, &off, engine.latency_samples());
    println!("em32 static: engine vs offline relative error {e:.3e}");
    assert!(e < OFFLINE_EM32_TOL_REL, "engine vs offline: {e}");
}

#[test]
fn static_rotation_matches_offline_rotated_decoder() {
    let h = hrtf();
    let cfg = ambix_cfg();
    let design = ShDomainDesign::design(&cfg, &h).expect("design");
    let input = noise(25, LEN, 3);
    for ypr in [[30.0, 0.0, 0.0], [-90.0, 0.0, 0.0], [45.0, 20.0, -10.0]] {
        let mut engine = Engine::from_design(cfg.clone(), design.clone()).expect("engine");
        engine.set_rotation(ypr[0], ypr[1], ypr[2]);
        engine.prepare(FS_HZ, 512).expect("prepare");
        let out = run_engine(&mut engine, &input, 100);
        let off = offline(&cfg, &h, &input, ypr);
        let e = rel_err_after_latency(&out, &off, engine.latency_samples());
        println!("ypr {ypr:?}: engine vs offline relative error {e:.3e}");
        assert!(e < OFFLINE_TOL_REL, "ypr {ypr:?}: {e}");
    }
    // Quaternion path: yaw 30° about +z.
    let half = 15.0f64.to_radians();
    let mut engine = Engine::from_design(cfg.clone(), design).expect("engine");
    engine.set_quaternion(half.cos(), 0.0, 0.0, half.sin());
    engine.prepare(FS_HZ, 512).expect("prepare");
    let out = run_engine(&mut engine, &input, 100);
    let off = offline(&cfg, &h, &input, [30.0, 0.0, 0.0]);
    let e = rel_err_after_latency(&out, &off, engine.latency_samples());
    assert!(e < OFFLINE_TOL_REL, "quaternion: {e}");
}

/// Largest |y[n] − y[n−1]| over both ears, skipping the first `skip` samples (onset).
fn max_step(y: &[Vec<f32>], skip: usize) -> f64 {
    y.iter()
        .flat_map(|c| {
            c[skip..]
                .windows(2)
                .map(|w| (w[1] as f64 - w[0] as f64).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn yaw_sweep_crossfade_has_no_clicks() {
    let h = hrtf();
    let cfg = ambix_cfg();
    let design = ShDomainDesign::design(&cfg, &h).expect("design");
    // A 300 Hz plane wave from azimuth 60°, elevation 10° (SN3D encoding), 0.25 s.
    let len = 12_000;
    let f_hz = 300.0;
    let y = real_sh(4, &Direction::from_deg(60.0, 10.0), Norm::Sn3d);
    let s: Vec<f64> = (0..len)
        .map(|n| (2.0 * std::f64::consts::PI * f_hz * n as f64 / FS_HZ).sin())
        .collect();
    let input: Vec<Vec<f32>> = y
        .iter()
        .map(|g| s.iter().map(|v| (g * v) as f32).collect())
        .collect();
    let block = 32;
    let rate_deg_s = 180.0;
    let skip = 2048; // onset transient of the 512-tap filters + latency
    let sweep_deg = rate_deg_s * len as f64 / FS_HZ;

    let mut engine = Engine::from_design(cfg.clone(), design.clone()).expect("engine");
    engine.prepare(FS_HZ, block).expect("prepare");
    let mut out = vec![vec![0.0f32; len]; 2];
    let mut pos = 0;
    while pos < len {
        engine.set_rotation(rate_deg_s * pos as f64 / FS_HZ, 0.0, 0.0);
        let ins: Vec<&[f32]> = input.iter().map(|c| &c[pos..pos + block]).collect();
        let (l, r) = out.split_at_mut(1);
        let mut outs: [&mut [f32]; 2] = [&mut l[0][pos..pos + block], &mut r[0][pos..pos + block]];
        engine.process(&ins, &mut outs).expect("process");
        pos += block;
    }
    let dynamic = max_step(&out, skip);

    // Reference: the largest step of static renders at yaws spanning the sweep (every 5°).
    let mut stat = 0.0f64;
    let mut yaw = 0.0;
    while yaw <= sweep_deg + 5.0 {
        let mut e = Engine::from_design(cfg.clone(), design.clone()).expect("engine");
        e.set_rotation(yaw, 0.0, 0.0);
        e.prepare(FS_HZ, 1024).expect("prepare");
        stat = stat.max(max_step(&run_engine(&mut e, &input, 1024), skip));
        yaw += 5.0;
    }
    println!(
        "yaw sweep {rate_deg_s} deg/s: max step dynamic {dynamic:.5}, static {stat:.5}, ratio {:.4}",
        dynamic / stat
    );
    // Bound: a smooth 300 Hz tone whose ear gains change by < 0.01 dB per sample at 180°/s
    // can only exceed the static steps through gain differences between the 5° grid points
    // (< 2 % at 300 Hz for a spherical head); a matrix switch without crossfade would add a
    // step of the order of the signal amplitude × matrix change instead.
    const SWEEP_STEP_RATIO_MAX: f64 = 1.05;
    assert!(
        dynamic <= SWEEP_STEP_RATIO_MAX * stat,
        "dynamic {dynamic} vs static {stat}"
    );
}

#[test]
fn process_rejects_bad_sizes() {
    let h = hrtf();
    let cfg = ambix_cfg();
    let mut engine = Engine::new(cfg, &h).expect("design");
    let x = vec![0.0f32; 8];
    let ins: Vec<&[f32]> = (0..25).map(|_| x.as_slice()).collect();
    let mut a = vec![0.0f32; 8];
    let mut b = vec![0.0f32; 8];
    assert!(
        engine.process(&ins, &mut [&mut a, &mut b]).is_err(),
        "not prepared"
    );
    assert!(engine.prepare(44_100.0, 64).is_err(), "rate mismatch");
    engine.prepare(FS_HZ, 4).expect("prepare");
    assert!(
        engine.process(&ins, &mut [&mut a, &mut b]).is_err(),
        "block > max_block"
    );
    assert!(
        engine
            .process(&ins[..24], &mut [&mut a[..4], &mut b[..4]])
            .is_err(),
        "channels"
    );
}

/// Largest sample-to-sample difference of the output after `skip`, for a head that jumps
/// between yaw 0° and 45° every 512 samples, with or without the rotation crossfade.
fn jump_step(smoothing: bool) -> f64 {
    let h = hrtf();
    let mut cfg = ambix_cfg();
    cfg.smoothing = smoothing;
    let design = ShDomainDesign::design(&cfg, &h).expect("design");
    let len = 9600;
    let y = real_sh(4, &Direction::from_deg(60.0, 10.0), Norm::Sn3d);
    let s: Vec<f64> = (0..len)
        .map(|n| (2.0 * std::f64::consts::PI * 2000.0 * n as f64 / FS_HZ).sin())
        .collect();
    let input: Vec<Vec<f32>> = y
        .iter()
        .map(|g| s.iter().map(|v| (g * v) as f32).collect())
        .collect();
    let block = 64;
    let mut engine = Engine::from_design(cfg, design).expect("engine");
    engine.prepare(FS_HZ, block).expect("prepare");
    let mut out = vec![vec![0.0f32; len]; 2];
    let mut pos = 0;
    while pos < len {
        let yaw = if (pos / 512) % 2 == 0 { 0.0 } else { 45.0 };
        engine.set_rotation(yaw, 0.0, 0.0);
        let ins: Vec<&[f32]> = input.iter().map(|c| &c[pos..pos + block]).collect();
        let (l, r) = out.split_at_mut(1);
        let mut outs: [&mut [f32]; 2] = [&mut l[0][pos..pos + block], &mut r[0][pos..pos + block]];
        engine.process(&ins, &mut outs).expect("process");
        pos += block;
    }
    max_step(&out, 2048)
}

#[test]
fn crossfade_removes_clicks_of_head_jumps() {
    // 45° head jumps every 512 samples on a 2 kHz tone: switching the rotation matrix at a
    // partition boundary makes a step of the order of the amplitude change; the 64-sample
    // crossfade spreads it, so the largest sample-to-sample step must be clearly smaller.
    let hard = jump_step(false);
    let soft = jump_step(true);
    println!(
        "45° jumps: max step without crossfade {hard:.4}, with crossfade {soft:.4} (ratio {:.3})",
        soft / hard
    );
    assert!(
        soft < 0.8 * hard,
        "crossfade did not reduce the click: {soft} vs {hard}"
    );
}
