//! Independent checks of the diffuse-field cross-PSD models used by the tail.
//!
//! * Array: `Φ_qp = Σ (2n+1)|b_n|² P_n(cos θ_qp)` against the direct definition
//!   `(1/4π) ∫ p_q(u) p_p(u)* dΩ` with `p` from `plane_wave_pressure` (the full modal sum per
//!   direction), integrated with a Gauss–Legendre product rule exact to degree 80 (the integrand
//!   is band-limited to SH degree ≈ 2(e·ka/2 + 20) < 80 for ka ≤ 6.2).
//! * Binaural: the HRTF-quadrature Φ of the embedded spherical head *without pinna* (ears at ±90°
//!   on a rigid sphere of 8.75 cm) against the rigid-sphere formula for two points at ±90° — this
//!   checks the Voronoi weights and the HRIR spectra together.
//! * Voronoi weights: sum 4π and integrate low-order spherical harmonics to ≈ 0 on the KU100 grid.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use std::sync::Arc;

use num_complex::Complex64;
use sphear_core::Direction;
use sphear_hrtf::HrtfSet;
use sphear_render::head::SphericalHead;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::modal::{SphereKind, plane_wave_pressure};
use sphear_sh::quadrature::gauss_legendre;
use sphear_sh::rotation::IDENTITY;
use sphear_sh::sh::{Norm, real_sh};
use sphear_sim::receiver::{Receiver, voronoi_weights};

const FS: f64 = 48_000.0;
const C: f64 = sphear_core::SPEED_OF_SOUND_M_S;
const KU100: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/sofa_libmysofa/FHK_HRIR_L2354.sofa"
);

#[test]
fn array_psd_equals_plane_wave_integral() {
    const REL_TOL: f64 = 1e-8;
    let em = ArrayGeometry::em32();
    let q = gauss_legendre(40);
    let rx = Receiver::Array(em.clone());
    for f in [100.0, 1000.0, 4000.0, 8000.0] {
        let phi = rx.diffuse_cross_psd(f);
        let mut num = nalgebra::DMatrix::from_element(32, 32, Complex64::new(0.0, 0.0));
        let mut wsum = 0.0;
        for (d, w) in q.directions.iter().zip(&q.weights) {
            let p = plane_wave_pressure(&em.capsules, em.radius_m, em.sphere, d, f, C);
            for a in 0..32 {
                for b in 0..32 {
                    num[(a, b)] += p[a] * p[b].conj() * *w;
                }
            }
            wsum += w;
        }
        num /= Complex64::new(wsum, 0.0);
        let e = (&phi - &num).norm() / num.norm();
        println!("{f} Hz: |Φ − ∫pp*| / |∫pp*| = {e:.2e}");
        assert!(e <= REL_TOL, "{f} Hz: {e:e}");
    }
}

#[test]
fn binaural_psd_of_spherical_head_matches_rigid_sphere() {
    // Residual differences: HRIR window (256 taps) and the Monte-Carlo-free but discretised
    // Voronoi areas (≈ 32 grid points per cell); 9e-4 and < 1e-3 dB measured.
    const COHERENCE_TOL: f64 = 0.005;
    const LEVEL_TOL_DB: f64 = 0.05;
    let head = SphericalHead {
        pinna: false,
        ..SphericalHead::default()
    };
    let set = head.build(FS).expect("head");
    let bin = Receiver::Binaural {
        hrtf: Arc::new(set),
        orientation: IDENTITY,
    };
    let ears = ArrayGeometry {
        name: "ears".into(),
        radius_m: head.radius_m,
        sphere: SphereKind::Rigid,
        capsules: [
            Direction::from_deg(90.0, 0.0),
            Direction::from_deg(-90.0, 0.0),
        ]
        .to_vec(),
    };
    let sph = Receiver::Array(ears);
    let n = 1024;
    let phis = bin.diffuse_cross_psd_bins(FS, n);
    let (mut wc, mut wl): (f64, f64) = (0.0, 0.0);
    for k in (4..=n / 2).step_by(8) {
        let f = k as f64 * FS / n as f64;
        if f > 16_000.0 {
            break;
        }
        let a = &phis[k];
        let b = sph.diffuse_cross_psd(f);
        let ca = a[(0, 1)].re / (a[(0, 0)].re * a[(1, 1)].re).sqrt();
        let cb = b[(0, 1)].re / (b[(0, 0)].re * b[(1, 1)].re).sqrt();
        let dl = 10.0 * (a[(0, 0)].re / b[(0, 0)].re).log10();
        wc = wc.max((ca - cb).abs());
        wl = wl.max(dl.abs());
        assert!(
            (ca - cb).abs() <= COHERENCE_TOL,
            "{f:.0} Hz: {ca:.4} vs {cb:.4}"
        );
        assert!(dl.abs() <= LEVEL_TOL_DB, "{f:.0} Hz: level {dl:.3} dB");
    }
    println!("spherical head vs rigid sphere: worst |Δγ| {wc:.4}, worst |Δ level| {wl:.3} dB");
}

#[test]
fn voronoi_weights_integrate_sh() {
    let path = std::path::Path::new(KU100);
    assert!(path.exists(), "shared data missing: {KU100}");
    let set = HrtfSet::from_sofa(path, Some(FS)).expect("KU100").set;
    let w = voronoi_weights(set.directions());
    let total: f64 = w.iter().sum();
    assert!((total - 4.0 * std::f64::consts::PI).abs() < 1e-9);
    // ∫ Y_nm dΩ = 0 for n ≥ 1 (orthonormal SH, |Y| ≤ 1.3 up to order 4); the cell areas are
    // estimated from ≈ 32 points each, so a few 1e-3 remain (2.7e-3 measured).
    const SH_INTEGRAL_TOL: f64 = 0.01;
    let mut worst: f64 = 0.0;
    let mut acc = [0.0; 25];
    for (d, wd) in set.directions().iter().zip(&w) {
        for (a, y) in acc.iter_mut().zip(real_sh(4, d, Norm::Orthonormal)) {
            *a += wd * y;
        }
    }
    for v in &acc[1..] {
        worst = worst.max(v.abs());
    }
    println!(
        "KU100 Voronoi weights: max |∫Y_nm| (n = 1..4) = {worst:.2e}, ∫Y_00 = {:.4}",
        acc[0]
    );
    assert!(worst <= SH_INTEGRAL_TOL, "{worst}");
}
