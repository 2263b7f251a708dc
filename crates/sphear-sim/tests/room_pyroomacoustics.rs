//! Image sources and RIRs against pyroomacoustics 0.10.1 (fixtures written by
//! scripts/make_room_fixtures.py; see its docstring for the conventions checked there).
//!
//! PRA's global delay: PRA adds `frac_delay_length // 2 = 40` samples to every arrival time
//! (`compute_ism_rir`: `time += fdl2 / fs`) so that its 81-tap fractional-delay kernels never start
//! before sample 0. sphear has no global delay, so PRA's `rir[n + 40]` is compared with our
//! `rir[n]`. PRA 0.10.1 scales images by `damping / distance` (1/r, like sphear); the fixture's
//! `amplitude_scale` (1) would hold 1/(4π) for a PRA that used 1/(4πr).
//!
//! Expected differences: PRA evaluates the windowed sinc from a look-up table with linear
//! interpolation (granularity 1/20 sample: error ≤ (1/20)²/8·π²/3 ≈ 1e-3 of a unit tap) and places
//! its Hann window on the integer grid rather than centred on the exact delay (a window shift
//! < 1 sample: ≤ π/80 ≈ 0.04 of a tap's sinc value, which is itself ≤ 1/(πx) away from the centre),
//! and works in f32 (including the room, source and microphone coordinates).

// Index loops over axes/bands read more clearly in these numeric checks.
#![allow(clippy::needless_range_loop)]

use std::collections::HashMap;

use serde_json::Value;
use sphear_sim::bands::NUM_BANDS;
use sphear_sim::room::{Room, image_sources, omni_rir};

/// Image positions: PRA's libroom stores room, source and images in f32 (ε = 1.2e-7, coordinates
/// up to ~40 m here: ≤ 5e-6 m), we use f64.
const POS_TOL_M: f64 = 1e-5;
/// Reflection products: PRA multiplies up to 10 f32 coefficients (≤ 10 roundings of 6e-8).
const DAMPING_REL_TOL: f64 = 2e-6;
/// Brief: arrival times of the first reflections equal to a sample.
const ARRIVAL_TOL_SAMPLES: f64 = 1.0;
/// Number of earliest reflections (after the direct path) whose arrival times are compared.
const N_FIRST_REFLECTIONS: usize = 10;
/// Brief: early energy (first 50 ms) within 0.5 dB.
const EARLY_ENERGY_TOL_DB: f64 = 0.5;
/// Sample-wise relative error ‖ours − PRA‖/‖PRA‖ over the first 50 ms: ten times the per-tap
/// bounds of the expected differences (≤ 1e-3 LUT interpolation, ≤ 4e-2·|sinc| window placement).
const RIR_REL_ERR_MAX: f64 = 0.01;

fn fixture_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/room"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn arr3(v: &Value) -> [f64; 3] {
    let a = v.as_array().expect("array");
    [f(&a[0]), f(&a[1]), f(&a[2])]
}

fn load(name: &str) -> Value {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/make_room_fixtures.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("json")
}

fn check_room(name: &str) {
    let fx = load(name);
    let dims = arr3(&fx["dims_m"]);
    let alpha: Vec<f64> = fx["absorption"]
        .as_array()
        .expect("absorption")
        .iter()
        .map(f)
        .collect();
    let mut absorption = [[0.0; NUM_BANDS]; 6];
    for (row, &a) in absorption.iter_mut().zip(&alpha) {
        *row = [a; NUM_BANDS]; // PRA was run single-band: the same α in all our bands.
    }
    let room = Room::new(dims, absorption).expect("room");
    let src = arr3(&fx["source_m"]);
    let mic = arr3(&fx["mic_m"]);
    let fs = f(&fx["sample_rate_hz"]);
    let c = f(&fx["speed_m_s"]);
    let max_order = fx["max_order"].as_u64().expect("order") as usize;
    let global_delay = fx["global_delay_samples"].as_u64().expect("delay") as usize;
    let scale = f(&fx["amplitude_scale"]);
    assert_eq!(global_delay, f(&fx["frac_delay_length"]) as usize / 2);

    // Total number of images.
    let all = image_sources(&room, src, mic, max_order, None, c).expect("images");
    assert_eq!(
        all.len() as u64,
        fx["n_images_total"].as_u64().expect("n"),
        "{name}: image count"
    );

    // Images within the window: same set, positions, orders, per-axis orders, gains.
    let window_s = f(&fx["image_window_s"]);
    let ours = image_sources(&room, src, mic, max_order, Some(window_s), c).expect("images");
    let pra = fx["images"].as_array().expect("images");
    assert_eq!(ours.len(), pra.len(), "{name}: images within {window_s} s");
    let by_index: HashMap<[i64; 3], usize> = ours
        .iter()
        .enumerate()
        .map(|(k, im)| (im.lattice_index, k))
        .collect();
    let mut pra_delays = Vec::with_capacity(pra.len());
    for p in pra {
        let oxyz: Vec<i64> = p["orders_xyz"]
            .as_array()
            .expect("oxyz")
            .iter()
            .map(|v| v.as_i64().expect("i"))
            .collect();
        let key = [oxyz[0], oxyz[1], oxyz[2]];
        let im = &ours[*by_index
            .get(&key)
            .unwrap_or_else(|| panic!("{name}: PRA image {key:?} missing"))];
        let pos = arr3(&p["position_m"]);
        for a in 0..3 {
            assert!(
                (im.position_m[a] - pos[a]).abs() < POS_TOL_M,
                "{name} {key:?}"
            );
        }
        assert_eq!(
            im.order as u64,
            p["order"].as_u64().expect("order"),
            "{name} {key:?}"
        );
        let d = ((pos[0] - mic[0]).powi(2) + (pos[1] - mic[1]).powi(2) + (pos[2] - mic[2]).powi(2))
            .sqrt();
        // Our gain is (reflection product)/distance; compare the reflection products.
        let damping = f(&p["damping"]);
        for b in 0..NUM_BANDS {
            let ours_damping = im.band_gains[b] * im.distance_m;
            assert!(
                (ours_damping - damping).abs() <= DAMPING_REL_TOL * damping,
                "{name} {key:?}: {ours_damping} vs {damping}"
            );
        }
        pra_delays.push(d / c);
    }
    pra_delays.sort_by(f64::total_cmp);
    // Direct path and the first reflections arrive at the same times.
    for (k, (im, &t)) in ours
        .iter()
        .zip(&pra_delays)
        .take(N_FIRST_REFLECTIONS + 1)
        .enumerate()
    {
        let diff = (im.delay_s - t).abs() * fs;
        assert!(
            diff <= ARRIVAL_TOL_SAMPLES,
            "{name}: arrival {k} differs by {diff} samples"
        );
    }

    // RIR over the first 50 ms (after PRA's 40-sample global delay).
    let pra_rir: Vec<f64> = fx["rir"].as_array().expect("rir").iter().map(f).collect();
    let n = pra_rir.len() - global_delay;
    let pra_rir = &pra_rir[global_delay..];
    // Every image whose kernel reaches into the window.
    let contributing =
        image_sources(&room, src, mic, max_order, Some((n + 41) as f64 / fs), c).expect("images");
    let rir = omni_rir(&contributing, fs, n);
    // Direct path: the peak around the direct arrival is at the same sample in both, the sample
    // nearest to distance/c·fs.
    let t0 = contributing[0].delay_s * fs;
    let centre = t0.round() as usize;
    let argmax = |x: &dyn Fn(usize) -> f64| {
        (centre - 3..=centre + 3)
            .max_by(|&a, &b| x(a).abs().total_cmp(&x(b).abs()))
            .expect("peak")
    };
    let peak_ours = argmax(&|i| f64::from(rir[i]));
    let peak_pra = argmax(&|i| pra_rir[i]);
    assert_eq!(peak_ours, centre, "{name}: our direct peak");
    assert_eq!(
        peak_pra, centre,
        "{name}: PRA direct peak (after removing its {global_delay}-sample delay)"
    );
    // Early energy and sample-wise agreement.
    let e_ours: f64 = rir.iter().map(|&v| f64::from(v).powi(2)).sum();
    let e_pra: f64 = pra_rir.iter().map(|v| (v * scale).powi(2)).sum();
    let de_db = 10.0 * (e_ours / e_pra).log10();
    let err: f64 = rir
        .iter()
        .zip(pra_rir)
        .map(|(&a, &b)| (f64::from(a) - b * scale).powi(2))
        .sum();
    let rel = (err / e_pra).sqrt();
    eprintln!(
        "{name}: {} images (order ≤ {max_order}), {} within {window_s} s; direct at {t0:.3} samples; \
         early energy ours/PRA {de_db:+.5} dB; relative RIR error {rel:.2e} ({:.1} dB)",
        all.len(),
        ours.len(),
        20.0 * rel.log10()
    );
    assert!(
        de_db.abs() < EARLY_ENERGY_TOL_DB,
        "{name}: early energy differs by {de_db} dB"
    );
    assert!(rel < RIR_REL_ERR_MAX, "{name}: relative RIR error {rel}");
}

#[test]
fn room_6x4x3_order10() {
    check_room("room_6x4x3_order10.json");
}

#[test]
fn room_9_1x7_3x3_7_order6() {
    check_room("room_9.1x7.3x3.7_order6.json");
}

#[test]
fn room_6x4x3_corner_order3() {
    check_room("room_6x4x3_corner_order3.json");
}
