//! Joint diffuse tail of co-located receivers: one late field heard by all of them.
//!
//! * Two omnis at the same point hear the same pressure: their joint tails are identical,
//!   independent tails are uncorrelated (the old behaviour, still available).
//! * The omni–capsule cross term of the joint PSD equals the closed form: with
//!   `p_c(u) = Σ (2n+1) b_n P_n(u·u_c)`, `(1/4π)∫ p_c(u)* dΩ = b_0*` (only `n = 0` survives).
//! * The omni–ear cross term equals the HRTF set's Voronoi-weighted mean `Σ w_d H_e(d)* / Σw`,
//!   computed here with a direct DFT (KU100, shared data).

use std::sync::Arc;

use num_complex::Complex64;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::modal::{SphereKind, mode_strength};
use sphear_sh::rotation::IDENTITY;
use sphear_sim::bands::NUM_BANDS;
use sphear_sim::receiver::{Receiver, joint_diffuse_cross_psd_bins, voronoi_weights};
use sphear_sim::rir::{RirConfig, room_impulse_responses};
use sphear_sim::room::Room;

const FS: f64 = 48_000.0;
const KU100: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/sofa_libmysofa/FHK_HRIR_L2354.sofa"
);

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(f64::MIN_POSITIVE)
}

#[test]
fn two_colocated_omnis_share_the_joint_tail_and_not_independent_ones() {
    let room = Room::uniform([6.0, 4.0, 3.0], [0.15; NUM_BANDS]).expect("room");
    let mut cfg = RirConfig::new(FS, 24_000);
    cfg.seed = 11;
    let (src, rcv) = ([1.0, 1.2, 1.5], [4.1, 2.3, 1.4]);
    let pair = [Receiver::Omni, Receiver::Omni];
    let joint = room_impulse_responses(&room, src, rcv, &pair, &cfg).expect("rir");
    let (a, b) = (&joint[0][0], &joint[1][0]);
    let peak = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        diff <= 1e-5 * peak,
        "joint tails differ by {diff} (peak {peak})"
    );
    // The late part (after 150 ms: tail only) carries energy, so the equality is not vacuous.
    let late = 7_200;
    let e: f64 = a[late..].iter().map(|v| f64::from(*v).powi(2)).sum();
    assert!(e > 1e-6, "late energy {e}");

    cfg.joint_tail = false;
    let indep = room_impulse_responses(&room, src, rcv, &pair, &cfg).expect("rir");
    let r = correlation(&indep[0][0][late..], &indep[1][0][late..]);
    assert!(r.abs() < 0.1, "independent tails correlate: {r}");
    // The early part (images) is the same either way.
    assert_eq!(indep[0][0][..500], joint[0][0][..500]);
}

#[test]
fn joint_psd_omni_capsule_cross_term_is_b0() {
    let em = ArrayGeometry::em32();
    let rx = [Receiver::Omni, Receiver::Array(em.clone())];
    let n = 256;
    let phis = joint_diffuse_cross_psd_bins(&rx, FS, n);
    assert_eq!(phis.len(), n / 2 + 1);
    let mut worst: f64 = 0.0;
    for (k, phi) in phis.iter().enumerate().take(48) {
        assert_eq!(phi.nrows(), 33);
        let ka = 2.0 * std::f64::consts::PI * (k as f64 * FS / n as f64) * em.radius_m
            / sphear_core::SPEED_OF_SOUND_M_S;
        let b0 = mode_strength(0, ka, SphereKind::Rigid)[0];
        for c in 0..32 {
            let v = phi[(0, 1 + c)];
            worst = worst.max((v - b0.conj()).norm());
            assert!((phi[(1 + c, 0)] - v.conj()).norm() < 1e-12, "not Hermitian");
        }
        assert!((phi[(0, 0)].re - 1.0).abs() < 1e-12);
    }
    // Fibonacci quadrature of 2000 points on Legendre polynomials up to order ~30 (9 kHz).
    assert!(worst < 1e-3, "worst |Φ_oc − b0*| = {worst:.2e}");
    println!("omni–capsule cross PSD vs b0*: worst error {worst:.2e} (0–9 kHz)");
}

#[test]
fn joint_psd_omni_ear_cross_term_is_the_weighted_mean_hrtf() {
    let path = std::path::Path::new(KU100);
    assert!(path.exists(), "shared data missing: {KU100}");
    let set = Arc::new(HrtfSet::from_sofa(path, Some(FS)).expect("KU100").set);
    let rx = [
        Receiver::Omni,
        Receiver::Binaural {
            hrtf: set.clone(),
            orientation: IDENTITY,
        },
    ];
    let n = 512;
    let phis = joint_diffuse_cross_psd_bins(&rx, FS, n);
    let w = voronoi_weights(set.directions());
    let sw: f64 = w.iter().sum();
    for k in [3usize, 20, 64, 150] {
        let f = k as f64 * FS / n as f64;
        for (e, ear) in [Ear::Left, Ear::Right].into_iter().enumerate() {
            let mut acc = Complex64::new(0.0, 0.0);
            for (d, wd) in w.iter().enumerate() {
                let h: Complex64 = set
                    .ir(d, ear)
                    .iter()
                    .enumerate()
                    .map(|(t, &v)| {
                        Complex64::from_polar(
                            f64::from(v),
                            -2.0 * std::f64::consts::PI * f * t as f64 / FS,
                        )
                    })
                    .sum();
                acc += h.conj() * wd;
            }
            acc /= sw;
            let got = phis[k][(0, 1 + e)];
            assert!(
                (got - acc).norm() < 1e-9 * (1.0 + acc.norm()),
                "{f} Hz ear {e}: {got} vs {acc}"
            );
        }
    }
}
