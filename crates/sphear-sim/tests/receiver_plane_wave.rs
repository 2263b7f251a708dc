//! Plane-wave-only scenes: every receiver must reproduce the free-field references exactly.
//!
//! * Array: `plane_wave_ir` is `sphear_sh::modal::plane_wave_irs`; a single flat order-0 image
//!   rendered by `render_images` equals `plane_wave_irs` on the image window (the cached modal
//!   engine is exact up to the modal truncation 1e-12) and the full-length model up to the
//!   window truncation.
//! * Binaural: a single image at an integer delay equals `sphear_render::sim::render_direct` of
//!   the head-frame direction (HRIR used as is, sample 0 at the delay).
//! * Ambisonic: first-order SN3D gains are `[1, y, z, x]` (independent closed form).

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use std::sync::Arc;

use sphear_core::Direction;
use sphear_render::head::SphericalHead;
use sphear_render::sim::{PlaneWaveSource, SIM_PRE_DELAY_SAMPLES, render_direct};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::modal::plane_wave_irs;
use sphear_sh::rotation::{mat3_transpose, rotate_direction, rotation_from_ypr};
use sphear_sim::bands::NUM_BANDS;
use sphear_sim::receiver::{ARRAY_IMAGE_IR_PRE_SAMPLES, ARRAY_IMAGE_IR_TAPS, Receiver};
use sphear_sim::room::ImageSource;

const FS: f64 = 48_000.0;
const C: f64 = sphear_core::SPEED_OF_SOUND_M_S;
/// f32 output of f64 maths: a few ulps of values ≤ 1.
const EXACT_TOL: f64 = 1e-6;

fn image(dir: Direction, delay_samples: f64, gain: f64) -> ImageSource {
    let delay_s = delay_samples / FS;
    let distance_m = delay_s * C;
    let u = dir.to_cartesian();
    ImageSource {
        position_m: [u[0] * distance_m, u[1] * distance_m, u[2] * distance_m],
        order: 0,
        distance_m,
        delay_s,
        band_gains: [gain; NUM_BANDS],
        direction: dir,
        lattice_index: [0; 3],
    }
}

fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn array_plane_wave_ir_is_modal_model() {
    let em = ArrayGeometry::em32();
    let r = Receiver::Array(em.clone());
    let dir = Direction::from_deg(37.0, 21.0);
    let got = r.plane_wave_ir(&dir, FS, 600, 150.37);
    let want = plane_wave_irs(
        &em.capsules,
        em.radius_m,
        em.sphere,
        &dir,
        FS,
        600,
        150.37,
        C,
    );
    assert_eq!(got.len(), 32);
    for (g, w) in got.iter().zip(&want) {
        assert!(max_abs_diff(g, w) <= EXACT_TOL);
    }
}

#[test]
fn array_single_image_equals_plane_wave_irs() {
    let em = ArrayGeometry::em32();
    let r = Receiver::Array(em.clone());
    let len = 2048;
    for (dir, tau) in [
        (Direction::from_deg(0.0, 0.0), 700.0),
        (Direction::from_deg(-123.0, 47.0), 812.613),
        (Direction::from_deg(75.0, -80.0), 931.25),
    ] {
        let got = r.render_images(&[image(dir, tau, 1.0)], FS, len);
        let d = tau.floor();
        let frac = tau - d;
        let pre = ARRAY_IMAGE_IR_PRE_SAMPLES as f64;
        // Reference 1: the modal model on the same window (exact).
        let win = plane_wave_irs(
            &em.capsules,
            em.radius_m,
            em.sphere,
            &dir,
            FS,
            ARRAY_IMAGE_IR_TAPS,
            pre + frac,
            C,
        );
        // Reference 2: the full-length model (differs by the window truncation only).
        let full = plane_wave_irs(&em.capsules, em.radius_m, em.sphere, &dir, FS, len, tau, C);
        let start = d as usize - ARRAY_IMAGE_IR_PRE_SAMPLES;
        let mut worst_win = 0.0f64;
        let mut worst_full = 0.0f64;
        let mut peak = 0.0f64;
        for q in 0..32 {
            let mut w = vec![0.0; len];
            w[start..start + ARRAY_IMAGE_IR_TAPS].copy_from_slice(&win[q]);
            worst_win = worst_win.max(max_abs_diff(&got[q], &w));
            worst_full = worst_full.max(max_abs_diff(&got[q], &full[q]));
            peak = peak.max(full[q].iter().fold(0.0, |m, v| m.max(v.abs())));
        }
        assert!(worst_win <= EXACT_TOL, "window model: {worst_win:e}");
        // Window truncation: the band-limited modal tails decay like 1/t³ (taper); 128 samples
        // before / 384 after the arrival they are below 1e-5 of the peak (4.5e-6 measured).
        const WINDOW_TRUNCATION_REL_TOL: f64 = 1e-5;
        println!(
            "dir {dir:?}: window {worst_win:.2e}, full-length {:.2e} of peak",
            worst_full / peak
        );
        assert!(
            worst_full <= WINDOW_TRUNCATION_REL_TOL * peak,
            "{worst_full:e} vs peak {peak}"
        );
    }
}

#[test]
fn binaural_single_image_equals_render_direct() {
    let hrtf = SphericalHead::default().build(FS).expect("embedded head");
    let hrtf = Arc::new(hrtf);
    let orientation = rotation_from_ypr(30f64.to_radians(), 10f64.to_radians(), -5f64.to_radians());
    let r = Receiver::Binaural {
        hrtf: hrtf.clone(),
        orientation,
    };
    let len = 1024;
    for dir in [
        Direction::from_deg(0.0, 0.0),
        Direction::from_deg(100.0, 20.0),
        Direction::from_deg(-135.0, -30.0),
    ] {
        let head_dir = rotate_direction(&mat3_transpose(&orientation), &dir);
        let mut delta = vec![0.0f32; len];
        delta[0] = 1.0;
        let want = render_direct(
            &hrtf,
            &[PlaneWaveSource {
                direction: head_dir,
                signal: delta,
            }],
        );
        let tau = SIM_PRE_DELAY_SAMPLES as f64;
        let got = r.render_images(&[image(dir, tau, 1.0)], FS, len);
        let got2 = r.plane_wave_ir(&dir, FS, len, tau);
        for ear in 0..2 {
            let w: Vec<f64> = want[ear].iter().map(|&v| f64::from(v)).collect();
            assert!(
                max_abs_diff(&got[ear], &w) <= EXACT_TOL,
                "render_images ear {ear}"
            );
            assert!(
                max_abs_diff(&got2[ear], &w) <= EXACT_TOL,
                "plane_wave_ir ear {ear}"
            );
        }
        // Shifting by 37 samples shifts the output exactly.
        let got3 = r.render_images(&[image(dir, tau + 37.0, 1.0)], FS, len);
        for ear in 0..2 {
            let w: Vec<f64> = (0..len)
                .map(|i| {
                    if i >= 37 {
                        f64::from(want[ear][i - 37])
                    } else {
                        0.0
                    }
                })
                .collect();
            assert!(max_abs_diff(&got3[ear], &w) <= EXACT_TOL);
        }
    }
}

#[test]
fn ambisonic_and_omni_plane_wave() {
    let dir = Direction::from_deg(63.0, -24.0);
    let [x, y, z] = dir.to_cartesian();
    let want = [1.0, y, z, x];
    let amb = Receiver::Ambisonic { order: 1 }.plane_wave_ir(&dir, FS, 256, 100.0);
    for (ch, &g) in amb.iter().zip(&want) {
        for (i, &v) in ch.iter().enumerate() {
            let e = if i == 100 { g } else { 0.0 };
            assert!((f64::from(v) - e).abs() <= EXACT_TOL, "{i}: {v} vs {e}");
        }
    }
    // Fractional delay: the omni response is the centred Hann-windowed sinc of room::omni_rir,
    // k(x) = ½(1 + cos(πx/40))·sinc(x), x = n − τ, |x| ≤ 40.
    let om = Receiver::Omni.plane_wave_ir(&dir, FS, 256, 100.3);
    let mut e = 0.0;
    for (i, &v) in om[0].iter().enumerate() {
        let t = i as f64 - 100.3;
        let sinc = (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t);
        let w = 0.5 * (1.0 + (std::f64::consts::PI * t / 40.0).cos());
        let r = if t.abs() <= 40.0 { sinc * w } else { 0.0 };
        e = f64::max(e, (f64::from(v) - r).abs());
    }
    assert!(e <= EXACT_TOL, "{e}");
}
