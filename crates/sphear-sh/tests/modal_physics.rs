//! Physics checks of sphear_sh::modal in the frequency domain (open/rigid sphere plane-wave model).

use num_complex::Complex64;
use proptest::prelude::*;
use serde::Deserialize;
use sphear_core::Direction;
use sphear_core::special::{
    legendre_p, sph_bessel_j, sph_bessel_j_deriv, sph_hankel2, sph_hankel2_deriv,
};
use sphear_sh::modal::*;

const EM32_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/em32_geometry.csv"
);
const MODAL_FIXTURE: &str = include_str!("../../sphear-core/tests/fixtures/modal_mpmath.json");
const EM32_RADIUS_M: f64 = 0.042;
const C_M_S: f64 = 343.0;

/// Series vs closed forms evaluated in double precision (each a few ulps, summed over ≤ 100 terms).
const SERIES_TOL: f64 = 1e-10;
/// Relative agreement of two evaluations of the same exact quantity (mpmath reference, Wronskian
/// form vs direct form): a few hundred ulps.
const EXACT_REL_TOL: f64 = 1e-12;

/// em32 capsule directions from the real geometry file (azimuth, colatitude in degrees).
fn em32() -> Vec<Direction> {
    let text = std::fs::read_to_string(EM32_CSV).unwrap_or_else(|e| {
        panic!("cannot read {EM32_CSV} ({e}): the shared data directory must sit beside the repo")
    });
    let mut caps = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("capsule") {
            continue;
        }
        let f: Vec<f64> = line
            .split(',')
            .map(|s| s.trim().parse().expect("number"))
            .collect();
        assert!((f[3] - EM32_RADIUS_M).abs() < 1e-12);
        caps.push(Direction::from_azimuth_colatitude(
            f[1].to_radians(),
            f[2].to_radians(),
        ));
    }
    assert_eq!(caps.len(), 32);
    caps
}

fn freq_for_ka(ka: f64) -> f64 {
    ka * C_M_S / (2.0 * std::f64::consts::PI * EM32_RADIUS_M)
}

fn dir_strategy() -> impl Strategy<Value = Direction> {
    (-std::f64::consts::PI..std::f64::consts::PI, -1.0f64..1.0)
        .prop_map(|(az, z)| Direction::new(az, z.asin()))
}

/// Pressure on the sphere from the series for an arbitrary cos Θ (independent of plane_wave_pressure).
fn series(b: &[Complex64], cos_theta: f64) -> Complex64 {
    let p = legendre_p(b.len() - 1, cos_theta);
    b.iter()
        .enumerate()
        .map(|(n, bn)| bn * ((2 * n + 1) as f64 * p[n]))
        .sum()
}

#[test]
fn rigid_mode_strength_against_mpmath() {
    #[derive(Deserialize)]
    struct Row {
        ka: f64,
        re: Vec<Option<f64>>,
        im: Vec<Option<f64>>,
    }
    #[derive(Deserialize)]
    struct Fx {
        n_max: usize,
        rigid: Vec<Row>,
    }
    let fx: Fx = serde_json::from_str(MODAL_FIXTURE).expect("fixture parses");
    let mut worst: f64 = 0.0;
    for r in &fx.rigid {
        let b = mode_strength(fx.n_max, r.ka, SphereKind::Rigid);
        for (n, bn) in b.iter().enumerate() {
            let want = Complex64::new(r.re[n].unwrap_or(0.0), r.im[n].unwrap_or(0.0));
            assert!(
                bn.re.is_finite() && bn.im.is_finite(),
                "b_{n}({}) = {}",
                r.ka,
                bn
            );
            if want.norm() < 1e-290 {
                assert!(
                    bn.norm() < 1e-280,
                    "b_{n}({}) = {} should underflow",
                    r.ka,
                    bn
                );
                continue;
            }
            let rel = (bn - want).norm() / want.norm();
            worst = worst.max(rel);
            assert!(
                rel <= EXACT_REL_TOL,
                "b_{n}({}) = {}, mpmath {want}, rel {rel:e}",
                r.ka,
                bn
            );
        }
    }
    eprintln!("rigid b_n vs mpmath: worst relative error {worst:e}");
}

#[test]
fn rigid_wronskian_form_equals_direct_form() {
    // Direct form i^n [j_n − j_n' h2_n / h2_n'] is accurate where nothing overflows (ka ≥ 0.5, n ≤ 30).
    for ka in [0.5, 1.0, 3.7, 10.0, 25.0, 60.0] {
        let n = 30;
        let (j, jp, h, hp) = (
            sph_bessel_j(n, ka),
            sph_bessel_j_deriv(n, ka),
            sph_hankel2(n, ka),
            sph_hankel2_deriv(n, ka),
        );
        let b = mode_strength(n, ka, SphereKind::Rigid);
        for m in 0..=n {
            let direct = Complex64::i().powu(m as u32) * (j[m] - jp[m] * h[m] / hp[m]);
            let scale = direct.norm().max(1e-300);
            assert!(
                (b[m] - direct).norm() <= EXACT_REL_TOL * scale,
                "ka {ka} n {m}: {} vs {direct}",
                b[m]
            );
        }
    }
}

#[test]
fn rigid_n0_closed_form() {
    // h2_0(x) = i e^{−ix}/x ⇒ x² h2_0'(x) = e^{−ix}(x − i) ⇒ b_0 = −i e^{ix}/(x − i).
    for ka in [1e-6, 1e-3, 0.1, 1.0, 2.5, 10.0, 60.0] {
        let b0 = mode_strength(0, ka, SphereKind::Rigid)[0];
        let want = -Complex64::i() * Complex64::new(0.0, ka).exp() / Complex64::new(ka, -1.0);
        assert!(
            (b0 - want).norm() <= EXACT_REL_TOL * want.norm(),
            "ka {ka}: {b0} vs {want}"
        );
    }
}

#[test]
fn low_frequency_limit_and_no_nan() {
    assert_eq!(
        mode_strength(3, 0.0, SphereKind::Rigid)[0],
        Complex64::new(1.0, 0.0)
    );
    assert_eq!(
        mode_strength(3, 0.0, SphereKind::Rigid)[2],
        Complex64::new(0.0, 0.0)
    );
    for kind in [SphereKind::Rigid, SphereKind::Open] {
        for ka in [1e-9, 1e-6, 1e-3] {
            let b = mode_strength(100, ka, kind);
            assert!(
                b.iter().all(|v| v.re.is_finite() && v.im.is_finite()),
                "{kind:?} ka {ka}"
            );
        }
    }
    // p → 1 at every capsule; the leading correction is the dipole term, |p − 1| ≤ 3·(3/2)ka.
    let caps = em32();
    let src = Direction::from_deg(37.0, 20.0);
    for ka in [1e-6, 1e-4] {
        let p = plane_wave_pressure(
            &caps,
            EM32_RADIUS_M,
            SphereKind::Rigid,
            &src,
            freq_for_ka(ka),
            C_M_S,
        );
        for v in p {
            assert!((v - 1.0).norm() <= 4.5 * ka, "ka {ka}: p = {v}");
        }
    }
}

#[test]
fn negative_frequency_is_conjugate() {
    let caps = em32();
    let src = Direction::from_deg(-20.0, 5.0);
    let p = plane_wave_pressure(&caps, EM32_RADIUS_M, SphereKind::Rigid, &src, 3000.0, C_M_S);
    let q = plane_wave_pressure(
        &caps,
        EM32_RADIUS_M,
        SphereKind::Rigid,
        &src,
        -3000.0,
        C_M_S,
    );
    for (a, b) in p.iter().zip(&q) {
        assert!((a.conj() - b).norm() < 1e-15);
    }
}

proptest! {
    /// Open sphere: the series equals the plane wave exp(i k u·x) evaluated directly.
    #[test]
    fn open_sphere_is_plane_wave(src in dir_strategy(), ka in 0.0f64..30.0) {
        let caps = em32();
        let p = plane_wave_pressure(&caps, EM32_RADIUS_M, SphereKind::Open, &src, freq_for_ka(ka), C_M_S);
        let u = src.to_cartesian();
        for (c, pq) in caps.iter().zip(&p) {
            let cx = c.to_cartesian();
            let want = Complex64::new(0.0, ka * (cx[0] * u[0] + cx[1] * u[1] + cx[2] * u[2])).exp();
            prop_assert!((pq - want).norm() <= SERIES_TOL, "ka {ka}: {pq} vs {want}");
        }
    }

    /// Reciprocity: swapping capsule and source directions gives the same pressure, and the pressure
    /// only depends on the angle between them (invariant under a common rotation about z and a
    /// mirror in the horizontal plane).
    #[test]
    fn reciprocity_and_rotation_invariance(a in dir_strategy(), b in dir_strategy(), ka in 0.01f64..25.0, rot in -3.0f64..3.0) {
        let f = freq_for_ka(ka);
        let p_ab = plane_wave_pressure(&[a], EM32_RADIUS_M, SphereKind::Rigid, &b, f, C_M_S)[0];
        let p_ba = plane_wave_pressure(&[b], EM32_RADIUS_M, SphereKind::Rigid, &a, f, C_M_S)[0];
        prop_assert!((p_ab - p_ba).norm() <= SERIES_TOL, "{p_ab} vs {p_ba}");
        let ra = Direction::new(a.azimuth_rad + rot, -a.elevation_rad);
        let rb = Direction::new(b.azimuth_rad + rot, -b.elevation_rad);
        let p_r = plane_wave_pressure(&[ra], EM32_RADIUS_M, SphereKind::Rigid, &rb, f, C_M_S)[0];
        prop_assert!((p_ab - p_r).norm() <= SERIES_TOL, "{p_ab} vs rotated {p_r}");
    }
}

#[test]
fn boundary_condition_on_rigid_surface() {
    // Total field p(r) = Σ (2n+1) i^n [j_n(kr) − j_n'(ka)/h2_n'(ka) h2_n(kr)] P_n(cos Θ).
    let total = |kr: f64, ka: f64, cos_t: f64, n_max: usize| -> Complex64 {
        let (j, h) = (sph_bessel_j(n_max, kr), sph_hankel2(n_max, kr));
        let (jpa, hpa) = (sph_bessel_j_deriv(n_max, ka), sph_hankel2_deriv(n_max, ka));
        let p = legendre_p(n_max, cos_t);
        (0..=n_max)
            .map(|n| {
                Complex64::i().powu(n as u32)
                    * (j[n] - jpa[n] / hpa[n] * h[n])
                    * ((2 * n + 1) as f64 * p[n])
            })
            .sum()
    };
    // Derivative in s = r/a (so ∂p/∂s = ka ∂p/∂(kr); the incident field's is ~ ka). Richardson-
    // extrapolated central differences, D = (4 D(δ/2) − D(δ))/3: truncation ~ δ⁴/30·|∂⁵p/∂s⁵|
    // ≲ δ⁴ (ka)⁵ / 30 ≈ 5e-12·ka for ka ≤ 10, δ = 2e-4; rounding ~ 1e-16/δ ≈ 5e-13.
    const FD_STEP: f64 = 2e-4;
    const FD_REL_TOL: f64 = 1e-9;
    let d_ds = |f: &dyn Fn(f64) -> Complex64| -> Complex64 {
        let cd = |h: f64| (f(1.0 + h) - f(1.0 - h)) / (2.0 * h);
        (cd(FD_STEP / 2.0) * 4.0 - cd(FD_STEP)) / 3.0
    };
    for ka in [0.3, 1.0, 4.0, 10.0] {
        let n_max = default_truncation_order(ka * 1.01);
        let b = mode_strength(n_max, ka, SphereKind::Rigid);
        for theta_deg in [0.0, 40.0, 90.0, 135.0, 180.0] {
            let c = f64::cos(f64::to_radians(theta_deg));
            let d = d_ds(&|s| total(ka * s, ka, c, n_max));
            assert!(
                d.norm() <= FD_REL_TOL * ka,
                "ka {ka} θ {theta_deg}: ∂p/∂(r/a) = {d}"
            );
            // And the surface value equals the b_n series.
            let s = total(ka, ka, c, n_max);
            assert!(
                (s - series(&b, c)).norm() <= SERIES_TOL,
                "ka {ka} θ {theta_deg}: {s} vs {}",
                series(&b, c)
            );
            // Sanity: the incident field alone, exp(i ka s cos Θ), has ∂/∂s = i ka cos Θ e^{i ka cos Θ} here.
            let d_inc = d_ds(&|s| Complex64::new(0.0, ka * s * c).exp());
            let want = Complex64::new(0.0, ka * c) * Complex64::new(0.0, ka * c).exp();
            assert!(
                (d_inc - want).norm() <= FD_REL_TOL * ka,
                "incident {d_inc} vs {want}"
            );
        }
    }
}

#[test]
fn high_frequency_limit() {
    let ka = 60.0;
    let n_max = default_truncation_order(ka);
    let b = mode_strength(n_max, ka, SphereKind::Rigid);
    let front = series(&b, 1.0);
    let front_db = 20.0 * front.norm().log10();
    let doubling_db = 20.0 * 2f64.log10();
    eprintln!("ka 60: facing |p| = {:.4} ({front_db:.2} dB)", front.norm());
    assert!(
        (front_db - doubling_db).abs() <= 1.0,
        "facing capsule {front_db} dB, expected 6.02 ± 1 dB"
    );
    // Deep shadow: beyond the Fock penumbra (width ~ (2/ka)^{1/3} rad ≈ 18° past the 90° shadow
    // boundary, twice that here) and away from the antipodal bright spot: mean |p|² over 130°…170°.
    let mut e = 0.0;
    let mut count = 0.0;
    for t in (130..=170).step_by(5) {
        let p = series(&b, f64::cos(f64::to_radians(t as f64)));
        eprintln!(
            "  θ = {t}°: |p| = {:.4} ({:.1} dB)",
            p.norm(),
            20.0 * p.norm().log10()
        );
        e += p.norm_sqr();
        count += 1.0;
    }
    let shadow_db = 10.0 * (e / count).log10();
    eprintln!(
        "  shadow mean {shadow_db:.1} dB, antipode {:.1} dB",
        20.0 * series(&b, -1.0).norm().log10()
    );
    // Geometrical acoustics: no direct sound in the shadow, only creeping waves attenuated by
    // exp(−α (ka)^{1/3} Δθ); require ≥ 10 dB below the free-field level and ≥ 16 dB below the front.
    assert!(shadow_db < -10.0, "shadow mean {shadow_db} dB");
    assert!(front_db - shadow_db > 16.0);
}

/// n_max = 30 vs 60 agree to 1e-12 for ka ≤ 8. (At ka = 10 the true remainder of the series after
/// n = 30 is itself ~4e-12: the (2n+1)|b_n| terms fall as (e·ka/(2n+1))^n ≈ 0.42^31 there, so the
/// brief's "ka ≤ 10" bound is not a property of the series; the difference is reported.)
#[test]
fn truncation_convergence() {
    const CONVERGENCE_TOL: f64 = 1e-12;
    // Rounding of a 31-term sum of terms up to ~10 (ka ≤ 10): 31·10·2.2e-16 ≈ 7e-14.
    const SUM_ROUNDING: f64 = 1e-13;
    for i in 0..=100 {
        let ka = 0.1 * i as f64;
        let b30 = mode_strength(30, ka, SphereKind::Rigid);
        let b60 = mode_strength(60, ka, SphereKind::Rigid);
        let tail: f64 = b60
            .iter()
            .enumerate()
            .skip(31)
            .map(|(m, v)| (2 * m + 1) as f64 * v.norm())
            .sum();
        for c in [1.0, 0.5, 0.0, -0.7, -1.0] {
            let d = (series(&b30, c) - series(&b60, c)).norm();
            // The difference can never exceed the absolute tail sum (|P_n| ≤ 1).
            assert!(
                d <= tail * (1.0 + 1e-6) + SUM_ROUNDING,
                "ka {ka}: |Δ| = {d:e} > tail {tail:e}"
            );
            if ka <= 8.0 + 1e-9 {
                assert!(d <= CONVERGENCE_TOL, "ka {ka} cos {c}: |Δ| = {d:e}");
            }
        }
        if i % 20 == 0 || i == 95 {
            eprintln!("ka {ka:.1}: tail beyond n = 30: {tail:e}");
        }
    }
}

#[test]
fn default_truncation_order_is_enough() {
    let mut ka: f64 = 0.01;
    while ka <= 300.0 {
        let n = default_truncation_order(ka);
        assert!(n >= 30);
        for kind in [SphereKind::Rigid, SphereKind::Open] {
            let b = mode_strength(2 * n + 40, ka, kind);
            let tail: f64 = b
                .iter()
                .enumerate()
                .skip(n + 1)
                .map(|(m, v)| (2 * m + 1) as f64 * v.norm())
                .sum();
            assert!(
                tail <= 1e-10,
                "{kind:?} ka {ka}: tail {tail:e} beyond order {n}"
            );
        }
        ka *= 1.07;
    }
}
