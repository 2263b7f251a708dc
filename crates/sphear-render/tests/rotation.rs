//! Acceptance tests of head rotation (yaw/pitch/roll) in the binaural decoders.
//!
//! Convention: `R = rotation_from_ypr(yaw, pitch, roll)` is the head's attitude (yaw positive =
//! head turns left). A source in world direction `u` is at head-relative direction `Rᵀu`, so a
//! rotated head hearing `u` must sound like an unrotated head hearing `Rᵀu` (for pure yaw `y`:
//! azimuth `a` becomes `a − y`).
//!
//! (a) AmbiX path (SH-domain MagLS decoder, rotated by an SH rotation matrix): ideal order-4
//!     AmbiX plane waves. SH rotation is exact at a fixed order, so the two renderings must agree
//!     to the precision of the f32 audio path.
//! (b) em32 eMagLS2 path (exact redesign with rotated plane-wave steering): the array samples the
//!     field differently in the two cases (the field is rotated relative to the array in one, not
//!     in the other), so they are compared with the binaural metrics under tolerances justified
//!     below, next to a negative control (the rotation ignored), which must fail them by far.

mod common;

use common::*;
use sphear_core::Direction;
use sphear_core::signals::pink_noise;
use sphear_eval::bands;
use sphear_render::sim::{PlaneWaveSource, simulate_array};
use sphear_render::{BinauralDecoder, DecoderConfig, InputKind, Method};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::rotation::{mat3_transpose, rotate_direction, rotation_from_ypr};
use sphear_sh::sh::{Norm, real_sh};

/// Test signal length (0.5 s at 48 kHz), RMS and seed.
const SIG_LEN: usize = 24_000;
const SIG_RMS: f64 = 0.1;
const SIG_SEED: u64 = 77;
/// Samples dropped at both ends before the metrics (filter start-up and tail).
const EDGE_SAMPLES: usize = 1024;

/// (a) Largest allowed `max|y_rot − y_ref| / max|y_ref|`. The audio path is f32: FIR taps rounded
/// to f32 after the SH rotation (relative 6e-8 each), the AmbiX gains in f32 and partitioned FFT
/// convolution of 25 channels in f32, which together stay at about 1e-6 of the peak. A rotation
/// wrong by only 0.1° would already give errors of order N·0.1° ≈ 7e-3 at order 4, so 1e-4 both
/// leaves margin for rounding and rejects any real error.
const AMBIX_REL_TOL: f64 = 1e-4;

/// (b) Tolerances between the two em32 renderings (rotated head vs source at `Rᵀu`), as in the
/// brief. Both renderings fit the same HRTF with the same order-limited array; what differs is
/// only where the capsules sample the field. The peer-comparison test measures the rendering
/// error against the HRIR itself at ≈ 7 µs (median, up to ≈ 30 µs) ITD and ≈ 2 dB LSD (mostly
/// the order-4 limit above 5 kHz, common to both renderings), so the renderings may differ by a
/// fraction of that; a wrong rotation (negative control below) moves the ITD by hundreds of µs.
const EM32_ITD_TOL_US: f64 = 20.0;
/// Mean |ΔILD| over third-octave bands 1–8 kHz between the two renderings (dB). Same band-level
/// budget as the LSD; note that the LSD bound alone would only imply ILD error ≤ 2 × LSD (the
/// ILD error of a band is at most the sum of the two ears' level errors), so this is stricter.
const EM32_ILD_TOL_DB: f64 = 1.5;
/// Band LSD 0.1–16 kHz between the two renderings, mean of the ears (dB).
const EM32_LSD_TOL_DB: f64 = 1.5;

/// A test case: source (azimuth, elevation) and head (yaw, pitch, roll), all in degrees.
type Case = ((f64, f64), (f64, f64, f64));

/// Head-relative direction `Rᵀu` of a world direction `u` for the head attitude (deg).
fn head_relative(u: &Direction, yaw_deg: f64, pitch_deg: f64, roll_deg: f64) -> Direction {
    let r = rotation_from_ypr(
        yaw_deg.to_radians(),
        pitch_deg.to_radians(),
        roll_deg.to_radians(),
    );
    rotate_direction(&mat3_transpose(&r), u)
}

/// Ideal order-4 AmbiX (ACN/SN3D) plane wave: `s(t) · Y_acn(u)`.
fn ambix_plane_wave(u: &Direction, s: &[f32]) -> Vec<Vec<f32>> {
    real_sh(4, u, Norm::Sn3d)
        .iter()
        .map(|&g| s.iter().map(|&v| v * g as f32).collect())
        .collect()
}

fn max_abs(x: &[Vec<f32>]) -> f64 {
    x.iter()
        .flatten()
        .fold(0.0f64, |a, &v| a.max(f64::from(v.abs())))
}

#[test]
fn ambix_rotation_equals_counter_rotated_source() {
    let hrtf = load_ku100();
    let sig = pink_noise(SIG_LEN, SIG_RMS, SIG_SEED);
    let input = InputKind::Ambix { order: 4 };
    let base = BinauralDecoder::design(
        &hrtf,
        &input,
        &DecoderConfig {
            method: Method::MagLs,
            ..Default::default()
        },
    )
    .expect("design");
    // (source az, el; yaw, pitch, roll), degrees.
    let cases: [Case; 6] = [
        ((30.0, 0.0), (30.0, 0.0, 0.0)),
        ((0.0, 0.0), (90.0, 0.0, 0.0)),
        ((-120.0, 20.0), (-75.0, 0.0, 0.0)),
        ((45.0, -10.0), (40.0, 20.0, 0.0)),
        ((160.0, 35.0), (-20.0, -15.0, 30.0)),
        ((-60.0, 60.0), (0.0, 0.0, -45.0)),
    ];
    println!(
        "{:>16} {:>20} {:>16} {:>14}",
        "source az,el", "yaw,pitch,roll", "head-rel az,el", "max rel. diff"
    );
    for ((az, el), (yaw, pitch, roll)) in cases {
        let u = Direction::from_deg(az, el);
        let v = head_relative(&u, yaw, pitch, roll);
        if pitch == 0.0 && roll == 0.0 {
            // Pure yaw: Rᵀu is azimuth a − y at the same elevation.
            let want = Direction::from_deg(az - yaw, el);
            assert!(v.angle_to(&want) < 1e-12, "Rᵀu is not a − y for pure yaw");
        }
        let rotated = BinauralDecoder::design(
            &hrtf,
            &input,
            &DecoderConfig {
                method: Method::MagLs,
                yaw_deg: yaw,
                pitch_deg: pitch,
                roll_deg: roll,
                ..Default::default()
            },
        )
        .expect("design");
        let y_rot = render(&rotated, &ambix_plane_wave(&u, &sig));
        let y_ref = render(&base, &ambix_plane_wave(&v, &sig));
        let diff: Vec<Vec<f32>> = y_rot
            .iter()
            .zip(&y_ref)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x - y).collect())
            .collect();
        let rel = max_abs(&diff) / max_abs(&y_ref);
        println!(
            "{:>7.1},{:>7.1}  {:>6.1},{:>6.1},{:>6.1}  {:>7.1},{:>7.1}  {:>14.2e}",
            az,
            el,
            yaw,
            pitch,
            roll,
            v.azimuth_deg_wrapped(),
            v.elevation_deg(),
            rel
        );
        assert!(
            rel <= AMBIX_REL_TOL,
            "rotation ({yaw}, {pitch}, {roll}) of source ({az}, {el}): rel. diff {rel:.2e}"
        );
    }
}

struct Comparison {
    itd_a_us: f64,
    itd_b_us: f64,
    ild_err_db: f64,
    lsd_db: f64,
}

fn compare(a: &[Vec<f32>], b: &[Vec<f32>]) -> Comparison {
    let a = trim(a, EDGE_SAMPLES, EDGE_SAMPLES);
    let b = trim(b, EDGE_SAMPLES, EDGE_SAMPLES);
    Comparison {
        itd_a_us: itd_us(&a),
        itd_b_us: itd_us(&b),
        ild_err_db: bands::ild_error_db([&a[0], &a[1]], [&b[0], &b[1]], FS_HZ, 1000.0, 8000.0)
            .expect("ILD"),
        lsd_db: lsd2_db(&a, &b, 100.0, 16000.0),
    }
}

#[test]
fn em32_emagls2_rotation_matches_counter_rotated_source() {
    let hrtf = load_ku100();
    let array = ArrayGeometry::em32();
    let input = InputKind::Array(array.clone());
    let sig = pink_noise(SIG_LEN, SIG_RMS, SIG_SEED);
    let c = sphear_core::SPEED_OF_SOUND_M_S;
    let caps_of = |d: &Direction| {
        simulate_array(
            &array,
            &[PlaneWaveSource {
                direction: *d,
                signal: sig.clone(),
            }],
            FS_HZ,
            c,
        )
    };
    let cfg = |yaw: f64, pitch: f64, roll: f64| DecoderConfig {
        method: Method::EMagLs2,
        yaw_deg: yaw,
        pitch_deg: pitch,
        roll_deg: roll,
        ..Default::default()
    };
    let base = BinauralDecoder::design(&hrtf, &input, &cfg(0.0, 0.0, 0.0)).expect("design");

    // (source az, el; yaw, pitch, roll), degrees. The first case is the sign check.
    let cases: [Case; 3] = [
        ((0.0, 0.0), (90.0, 0.0, 0.0)),
        ((60.0, 0.0), (30.0, 0.0, 0.0)),
        ((-30.0, 15.0), (-45.0, 20.0, 10.0)),
    ];
    println!(
        "{:>14} {:>17} {:>15} | {:>9} {:>9} {:>8} {:>8} {:>7} | {:>30}",
        "source az,el",
        "yaw,pitch,roll",
        "head-rel az,el",
        "ITD rot",
        "ITD ref",
        "|ΔITD|",
        "ILD err",
        "LSD",
        "control |ΔITD|, ILD err, LSD"
    );
    for (n, ((az, el), (yaw, pitch, roll))) in cases.into_iter().enumerate() {
        let u = Direction::from_deg(az, el);
        let v = head_relative(&u, yaw, pitch, roll);
        let rotated =
            BinauralDecoder::design(&hrtf, &input, &cfg(yaw, pitch, roll)).expect("design");
        let y_rot = render(&rotated, &caps_of(&u));
        let y_ref = render(&base, &caps_of(&v));
        // Negative control: the rotation ignored (unrotated decoder, world direction).
        let y_ctl = render(&base, &caps_of(&u));
        let m = compare(&y_rot, &y_ref);
        let ctl = compare(&y_ctl, &y_ref);
        let d_itd = (m.itd_a_us - m.itd_b_us).abs();
        let d_itd_ctl = (ctl.itd_a_us - ctl.itd_b_us).abs();
        println!(
            "{:>6.1},{:>6.1}  {:>5.1},{:>5.1},{:>5.1}  {:>6.1},{:>6.1} | {:>9.1} {:>9.1} {:>8.1} {:>8.2} {:>7.2} | {:>10.1} µs {:>5.2} {:>5.2} dB",
            az,
            el,
            yaw,
            pitch,
            roll,
            v.azimuth_deg_wrapped(),
            v.elevation_deg(),
            m.itd_a_us,
            m.itd_b_us,
            d_itd,
            m.ild_err_db,
            m.lsd_db,
            d_itd_ctl,
            ctl.ild_err_db,
            ctl.lsd_db
        );
        assert!(d_itd <= EM32_ITD_TOL_US, "case {n}: |ΔITD| {d_itd:.1} µs");
        assert!(
            m.ild_err_db <= EM32_ILD_TOL_DB,
            "case {n}: ILD error {:.2} dB",
            m.ild_err_db
        );
        assert!(
            m.lsd_db <= EM32_LSD_TOL_DB,
            "case {n}: LSD {:.2} dB",
            m.lsd_db
        );
        // The control must violate the ITD tolerance by far (the metrics discriminate).
        assert!(
            d_itd_ctl > 5.0 * EM32_ITD_TOL_US,
            "case {n}: control |ΔITD| only {d_itd_ctl:.1} µs"
        );
        if n == 0 {
            // Head turned 90° left: a frontal source is on the right, so the right ear leads
            // (ITD = t_right − t_left < 0) and is louder (ILD < 0).
            let t = trim(&y_rot, EDGE_SAMPLES, EDGE_SAMPLES);
            let ild = bands::ild_per_band_db(
                &t[0],
                &t[1],
                FS_HZ,
                &bands::third_octave_centres_hz(1000.0, 8000.0),
            )
            .expect("ILD");
            println!(
                "sign check (yaw +90°, frontal source): ITD {:.1} µs, mean ILD 1–8 kHz {:.2} dB",
                m.itd_a_us,
                mean(&ild)
            );
            assert!(
                m.itd_a_us < 0.0,
                "yaw +90°: right ear must lead, ITD {:.1} µs",
                m.itd_a_us
            );
            assert!(
                mean(&ild) < 0.0,
                "yaw +90°: right ear must be louder, ILD {:.2} dB",
                mean(&ild)
            );
        }
    }
}
