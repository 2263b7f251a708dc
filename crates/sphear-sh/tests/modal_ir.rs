//! Time-domain checks of sphear_sh::modal::plane_wave_irs on the em32 geometry.

use num_complex::Complex64;
use sphear_core::Direction;
use sphear_sh::modal::*;

const EM32_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/em32_geometry.csv"
);
const EM32_RADIUS_M: f64 = 0.042;
const C_M_S: f64 = 343.0;
const FS_HZ: f64 = 48_000.0;
const N_TAPS: usize = 256;
const DELAY_SAMPLES: f64 = 64.0;
/// Required bound on IR energy outside the window and on the DFT mismatch (brief: −60 dB).
const OUTSIDE_ENERGY_MAX_DB: f64 = -60.0;

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
        caps.push(Direction::from_azimuth_colatitude(
            f[1].to_radians(),
            f[2].to_radians(),
        ));
    }
    assert_eq!(caps.len(), 32);
    caps
}

fn energy(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

/// Peak position with parabolic interpolation of |h|.
fn peak(h: &[f64]) -> f64 {
    let (i, _) =
        h.iter().enumerate().fold(
            (0, 0.0),
            |(bi, bv), (i, v)| if v.abs() > bv { (i, v.abs()) } else { (bi, bv) },
        );
    if i == 0 || i + 1 == h.len() {
        return i as f64;
    }
    let (a, b, c) = (h[i - 1].abs(), h[i].abs(), h[i + 1].abs());
    i as f64 + 0.5 * (a - c) / (a - 2.0 * b + c)
}

/// Energy outside [0, 256) for the em32 at 48 kHz, delay 64: the same response computed with a
/// window 32× longer (delay shifted so the 256-tap window sits inside it) is the reference.
#[test]
fn energy_outside_window_is_small() {
    let caps = em32();
    let long_taps = 32 * N_TAPS;
    let offset = 16 * N_TAPS;
    let mut worst_db = f64::NEG_INFINITY;
    for src in [
        Direction::from_deg(0.0, 0.0),
        Direction::from_deg(90.0, 0.0),
        Direction::from_deg(33.0, -41.0),
    ] {
        for kind in [SphereKind::Rigid, SphereKind::Open] {
            let long = plane_wave_irs(
                &caps,
                EM32_RADIUS_M,
                kind,
                &src,
                FS_HZ,
                long_taps,
                DELAY_SAMPLES + offset as f64,
                C_M_S,
            );
            let short = plane_wave_irs(
                &caps,
                EM32_RADIUS_M,
                kind,
                &src,
                FS_HZ,
                N_TAPS,
                DELAY_SAMPLES,
                C_M_S,
            );
            for (q, (l, s)) in long.iter().zip(&short).enumerate() {
                let total = energy(l);
                let inside = &l[offset..offset + N_TAPS];
                let out_db = 10.0 * ((total - energy(inside)).max(0.0) / total).log10();
                worst_db = worst_db.max(out_db);
                assert!(
                    out_db < OUTSIDE_ENERGY_MAX_DB,
                    "{kind:?} capsule {q}: {out_db:.1} dB outside"
                );
                // The short computation equals the window of the long one (time aliasing of the short
                // grid is then below the same bound).
                let err: f64 = s.iter().zip(inside).map(|(a, b)| (a - b) * (a - b)).sum();
                let err_db = 10.0 * (err / total).log10();
                assert!(
                    err_db < OUTSIDE_ENERGY_MAX_DB,
                    "{kind:?} capsule {q}: short vs long {err_db:.1} dB"
                );
            }
        }
    }
    eprintln!("worst energy outside the 256-tap window: {worst_db:.1} dB");
}

/// The n_taps-point DFT of each IR (naive DFT, independent of realfft) matches
/// plane_wave_pressure · e^{−iω·delay} · taper at the bins.
#[test]
fn dft_of_ir_matches_transfer_function() {
    let caps = em32();
    let src = Direction::from_deg(-60.0, 25.0);
    let irs = plane_wave_irs(
        &caps,
        EM32_RADIUS_M,
        SphereKind::Rigid,
        &src,
        FS_HZ,
        N_TAPS,
        DELAY_SAMPLES,
        C_M_S,
    );
    let mut err = 0.0;
    let mut refe = 0.0;
    let mut err_pass = 0.0;
    let mut ref_pass = 0.0;
    for k in 0..=N_TAPS / 2 {
        let f = k as f64 * FS_HZ / N_TAPS as f64;
        let p = plane_wave_pressure(&caps, EM32_RADIUS_M, SphereKind::Rigid, &src, f, C_M_S);
        let w = -2.0 * std::f64::consts::PI * k as f64 / N_TAPS as f64;
        let taper = ir_band_taper(f, FS_HZ);
        for (h, pq) in irs.iter().zip(&p) {
            let dft: Complex64 = h
                .iter()
                .enumerate()
                .map(|(n, v)| Complex64::from_polar(*v, w * n as f64))
                .sum();
            let want = pq * Complex64::from_polar(taper, w * DELAY_SAMPLES);
            err += (dft - want).norm_sqr();
            refe += want.norm_sqr();
            if taper == 1.0 {
                err_pass += (dft - pq * Complex64::from_polar(1.0, w * DELAY_SAMPLES)).norm_sqr();
                ref_pass += pq.norm_sqr();
            }
        }
    }
    let db = 10.0 * (err / refe).log10();
    let db_pass = 10.0 * (err_pass / ref_pass).log10();
    eprintln!(
        "DFT mismatch: {db:.1} dB (all bins, tapered reference), {db_pass:.1} dB (bins below the taper, untapered)"
    );
    assert!(db < OUTSIDE_ENERGY_MAX_DB);
    assert!(db_pass < OUTSIDE_ENERGY_MAX_DB);
}

/// Arrival times: the capsule facing the source gets the wave a/c before the centre; the capsule
/// at the back gets the creeping wave after travelling a/c to the shadow boundary plane and then
/// (Θ − π/2)·a along the surface: t_back − t_front ≈ a (1 + Θ − π/2)/c (= a(1 + π/2)/c = 15.1
/// samples at 48 kHz for Θ = π). Computed at 4× the em32 rate for timing resolution.
#[test]
fn front_before_back_creeping_wave_delay() {
    let caps = em32();
    let fs = 4.0 * FS_HZ;
    let (n_taps, delay) = (1024, 256.0);
    // Source = direction of capsule 0; back capsule = the one farthest from it.
    let src = caps[0];
    let (back, theta) = caps
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.angle_to(&src)))
        .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let irs = plane_wave_irs(
        &caps,
        EM32_RADIUS_M,
        SphereKind::Rigid,
        &src,
        fs,
        n_taps,
        delay,
        C_M_S,
    );
    let t_front = peak(&irs[0]);
    let t_back = peak(&irs[back]);
    let a_samples = EM32_RADIUS_M / C_M_S * fs;
    let predicted = a_samples * (1.0 + theta - std::f64::consts::FRAC_PI_2);
    eprintln!(
        "front peak {:.2} (expected {:.2}), back capsule {back} at {:.1}°: peak {:.2}, Δ = {:.2} samples (creeping-wave model {:.2})",
        t_front,
        delay - a_samples,
        theta.to_degrees(),
        t_back,
        t_back - t_front,
        predicted
    );
    // Front: the specular reflection coincides with the direct sound, peak at delay − a f_s/c
    // within the band-limited pulse's resolution (half a sample at 192 kHz).
    assert!((t_front - (delay - a_samples)).abs() <= 0.5);
    // Back: the creeping-wave picture (geometrical theory of diffraction) holds to within the
    // slower creeping-wave phase velocity near the surface (≈ 10% at these ka); allow 10%.
    assert!(t_back > t_front);
    assert!(
        (t_back - t_front - predicted).abs() <= 0.1 * predicted,
        "Δ = {}, predicted {predicted}",
        t_back - t_front
    );
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let caps = em32();
    let src = Direction::from_deg(0.0, 0.0);
    assert!(
        plane_wave_irs(
            &caps,
            EM32_RADIUS_M,
            SphereKind::Rigid,
            &src,
            FS_HZ,
            0,
            0.0,
            C_M_S
        )
        .iter()
        .all(|h| h.is_empty())
    );
    let nan = plane_wave_irs(
        &caps[..1],
        EM32_RADIUS_M,
        SphereKind::Rigid,
        &src,
        f64::NAN,
        8,
        0.0,
        C_M_S,
    );
    assert!(nan[0].iter().all(|v| v.is_nan()));
    assert!(
        plane_wave_irs(
            &[],
            EM32_RADIUS_M,
            SphereKind::Rigid,
            &src,
            FS_HZ,
            8,
            0.0,
            C_M_S
        )
        .is_empty()
    );
}
