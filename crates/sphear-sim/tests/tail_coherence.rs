//! Spatial coherence and level of the diffuse tail against theory.
//!
//! A stationary tail (RT60 = 10⁹ s, equal band energies `fs`, i.e. unit omni variance per sample)
//! is generated for each receiver and analysed with Welch's method (Hann, 1024 samples, 50 %
//! overlap, 3 s → ≈ 280 segments). Per third-octave band (125 Hz … 16 kHz) the band-averaged real
//! coherence `Re S_qp / √(S_qq S_pp)` and the PSD level `S_qq` are compared with the receiver's
//! diffuse cross-PSD Φ (the model the tail is built from):
//!
//! * em32, neighbouring and opposite capsules, Φ from the rigid-sphere formula;
//! * binaural, embedded spherical head and the KU100 (FHK_HRIR_L2354.sofa), Φ from the HRTFs;
//! * Ambisonics order 2: zero-lag covariance `diag(1/(2n+1))`.
//!
//! Tolerances: the Welch estimate of a coherence `γ` from `K` independent segments has a
//! standard deviation of about `(1 − γ²)/√K ≤ 1/√K`; with ≈ 280 half-overlapping segments
//! (≈ 190 independent) that is ≤ 0.075 per bin, and band averages over ≥ 2 bins are smaller, so
//! `|Δγ| ≤ 0.1` per band is ≳ 2σ in the worst (single-bin, γ≈0) case and far more elsewhere.
//! PSD levels: the relative standard deviation of a Welch PSD bin is ≈ 1/√K ≈ 7 % (0.3 dB),
//! hence 1 dB per band. The independent check of Φ itself (rigid-sphere formula vs plane-wave
//! integration, HRTF Voronoi quadrature vs the analytic sphere) is in `tail_psd_theory.rs`.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use std::sync::Arc;

use num_complex::Complex64;
use realfft::RealFftPlanner;
use sphear_core::Direction;
use sphear_hrtf::HrtfSet;
use sphear_render::head::SphericalHead;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::rotation::IDENTITY;
use sphear_sim::bands::NUM_BANDS;
use sphear_sim::receiver::Receiver;
use sphear_sim::tail::{TailSpec, diffuse_tail};

const FS: f64 = 48_000.0;
const WELCH_LEN: usize = 1024;
const COHERENCE_TOL: f64 = 0.1;
const LEVEL_TOL_DB: f64 = 1.0;
const KU100: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/sofa_libmysofa/FHK_HRIR_L2354.sofa"
);

fn stationary_tail(rx: &Receiver, seconds: f64, seed: u64) -> Vec<Vec<f32>> {
    let spec = TailSpec {
        start_s: 0.0,
        rt60_s: [1e9; NUM_BANDS],
        band_energy: [FS; NUM_BANDS],
        seed,
    };
    let len = (seconds * FS) as usize;
    let mut y = diffuse_tail(rx, &spec, FS, len);
    // Drop the fade-in (first 10 ms).
    for ch in &mut y {
        ch.drain(..480);
    }
    y
}

/// Welch cross-spectra `S[p][q][k]` for the requested pairs, Hann window, 50 % overlap.
fn welch(x: &[Vec<f32>], pairs: &[(usize, usize)]) -> Vec<Vec<Complex64>> {
    let n = WELCH_LEN;
    let mut planner = RealFftPlanner::<f64>::new();
    let r2c = planner.plan_fft_forward(n);
    let w: Vec<f64> = (0..n)
        .map(|j| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * j as f64 / n as f64).cos())
        .collect();
    let mut out = vec![vec![Complex64::new(0.0, 0.0); n / 2 + 1]; pairs.len()];
    let len = x[0].len();
    let mut start = 0;
    let mut spectra: Vec<Vec<Complex64>> = vec![Vec::new(); x.len()];
    let used: std::collections::BTreeSet<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    while start + n <= len {
        for &c in &used {
            let mut buf: Vec<f64> = (0..n).map(|j| f64::from(x[c][start + j]) * w[j]).collect();
            let mut s = r2c.make_output_vec();
            r2c.process(&mut buf, &mut s).expect("fft");
            spectra[c] = s;
        }
        for (o, &(a, b)) in out.iter_mut().zip(pairs) {
            for (k, v) in o.iter_mut().enumerate() {
                *v += spectra[a][k] * spectra[b][k].conj();
            }
        }
        start += n / 2;
    }
    out
}

fn third_octave_bands() -> Vec<(f64, f64, f64)> {
    (-9..=12)
        .map(|i| {
            let fc = 1000.0 * 2f64.powf(i as f64 / 3.0);
            (fc, fc * 2f64.powf(-1.0 / 6.0), fc * 2f64.powf(1.0 / 6.0))
        })
        .collect()
}

/// Compares measured coherence and levels with Φ at the Welch bins; returns the worst deviations.
fn check(
    name: &str,
    rx: &Receiver,
    x: &[Vec<f32>],
    pairs: &[(usize, usize)],
    f_max_hz: f64,
) -> (f64, f64) {
    let mut all: Vec<(usize, usize)> = pairs.to_vec();
    for &(a, b) in pairs {
        all.push((a, a));
        all.push((b, b));
    }
    let s = welch(x, &all);
    let phi = rx.diffuse_cross_psd_bins(FS, WELCH_LEN);
    // Welch normalisation for a PSD per sample: Σ w² per segment times the segment count.
    let n = WELCH_LEN;
    let wsum2: f64 = (0..n)
        .map(|j| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * j as f64 / n as f64).cos()).powi(2))
        .sum();
    let segs = ((x[0].len() - n) / (n / 2) + 1) as f64;
    let mut worst_c: f64 = 0.0;
    let mut worst_l: f64 = 0.0;
    for (pi, &(a, b)) in pairs.iter().enumerate() {
        let saa = &s[pairs.len() + 2 * pi];
        let sbb = &s[pairs.len() + 2 * pi + 1];
        for (fc, lo, hi) in third_octave_bands() {
            if hi > f_max_hz {
                continue;
            }
            let ks: Vec<usize> = (0..=n / 2)
                .filter(|&k| {
                    let f = k as f64 * FS / n as f64;
                    f >= lo && f < hi
                })
                .collect();
            if ks.is_empty() {
                continue;
            }
            let m = ks.len() as f64;
            let meas: f64 = ks
                .iter()
                .map(|&k| s[pi][k].re / (saa[k].re * sbb[k].re).sqrt())
                .sum::<f64>()
                / m;
            let theo: f64 = ks
                .iter()
                .map(|&k| phi[k][(a, b)].re / (phi[k][(a, a)].re * phi[k][(b, b)].re).sqrt())
                .sum::<f64>()
                / m;
            let lev_meas: f64 = ks.iter().map(|&k| saa[k].re / (wsum2 * segs)).sum::<f64>() / m;
            let lev_theo: f64 = ks.iter().map(|&k| phi[k][(a, a)].re).sum::<f64>() / m;
            let dl = 10.0 * (lev_meas / lev_theo).log10();
            worst_c = worst_c.max((meas - theo).abs());
            worst_l = worst_l.max(dl.abs());
            assert!(
                (meas - theo).abs() <= COHERENCE_TOL,
                "{name} pair ({a},{b}) {fc:.0} Hz: coherence {meas:.3} vs theory {theo:.3}"
            );
            assert!(
                dl.abs() <= LEVEL_TOL_DB,
                "{name} ch {a} {fc:.0} Hz: level {dl:.2} dB off"
            );
        }
    }
    println!("{name}: worst |Δ coherence| {worst_c:.3}, worst |Δ level| {worst_l:.2} dB");
    (worst_c, worst_l)
}

#[test]
fn em32_tail_coherence_matches_rigid_sphere() {
    let em = ArrayGeometry::em32();
    let u: Vec<[f64; 3]> = em.capsules.iter().map(Direction::to_cartesian).collect();
    let dot = |a: usize, b: usize| u[a][0] * u[b][0] + u[a][1] * u[b][1] + u[a][2] * u[b][2];
    let near = (1..32)
        .max_by(|&a, &b| dot(0, a).total_cmp(&dot(0, b)))
        .expect("capsules");
    let far = (1..32)
        .min_by(|&a, &b| dot(0, a).total_cmp(&dot(0, b)))
        .expect("capsules");
    let mid = (1..32)
        .min_by(|&a, &b| dot(5, a).abs().total_cmp(&dot(5, b).abs()))
        .expect("capsules");
    let rx = Receiver::Array(em);
    let t0 = std::time::Instant::now();
    let x = stationary_tail(&rx, 3.0, 11);
    println!(
        "em32 3 s stationary tail: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    check("em32", &rx, &x, &[(0, near), (0, far), (5, mid)], 16_000.0);
}

#[test]
fn binaural_tail_coherence_matches_hrtf_theory() {
    let head = Arc::new(SphericalHead::default().build(FS).expect("head"));
    let rx = Receiver::Binaural {
        hrtf: head,
        orientation: IDENTITY,
    };
    let x = stationary_tail(&rx, 3.0, 5);
    check("spherical head", &rx, &x, &[(0, 1)], 16_000.0);

    let path = std::path::Path::new(KU100);
    assert!(
        path.exists(),
        "shared data missing: {KU100} (CI has /work/shared/data beside the repo)"
    );
    let ku = HrtfSet::from_sofa(path, Some(FS)).expect("KU100 SOFA").set;
    let rx = Receiver::Binaural {
        hrtf: Arc::new(ku),
        orientation: IDENTITY,
    };
    let x = stationary_tail(&rx, 3.0, 6);
    check("KU100", &rx, &x, &[(0, 1)], 16_000.0);
}

#[test]
fn ambisonic_tail_covariance_is_sn3d_diagonal() {
    const COV_TOL: f64 = 0.02;
    let rx = Receiver::Ambisonic { order: 2 };
    let x = stationary_tail(&rx, 3.0, 3);
    let n = x[0].len() as f64;
    let cov = |a: usize, b: usize| {
        x[a].iter()
            .zip(&x[b])
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum::<f64>()
            / n
    };
    let mut worst: f64 = 0.0;
    for a in 0..9 {
        let order = (a as f64).sqrt().floor();
        let want = 1.0 / (2.0 * order + 1.0);
        let got = cov(a, a);
        worst = worst.max((got / want - 1.0).abs());
        assert!(
            (got / want - 1.0).abs() <= COV_TOL,
            "ch {a}: variance {got} vs {want}"
        );
        for b in a + 1..9 {
            let r = cov(a, b) / (cov(a, a) * cov(b, b)).sqrt();
            worst = worst.max(r.abs());
            assert!(r.abs() <= COV_TOL, "corr({a},{b}) = {r}");
        }
    }
    println!("ambisonic order 2: worst deviation {worst:.4}");
}
