//! Binaural localisation by ITD/ILD lookup against a real HRTF set (MIT KEMAR, read from the
//! shared test data — never copied into the repository).

mod common;

use std::path::Path;

use common::noise;
use sphear_core::Direction;
use sphear_core::conv::fft_convolve;
use sphear_eval::localise::{
    CueConfig, CueTable, lateral_angle_rad, lateral_error_rad, polar_angle_rad,
};
use sphear_hrtf::{Ear, HrtfSet};

const KEMAR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa"
);

fn kemar() -> HrtfSet {
    HrtfSet::from_sofa(Path::new(KEMAR), None)
        .expect("KEMAR SOFA")
        .set
}

#[test]
fn lateral_and_polar_angles() {
    let d = Direction::from_deg(90.0, 0.0);
    assert!((lateral_angle_rad(&d).to_degrees() - 90.0).abs() < 1e-9);
    // front and back mirror images share the lateral angle (cone of confusion)
    let f = Direction::from_deg(30.0, 0.0);
    let b = Direction::from_deg(150.0, 0.0);
    assert!(lateral_error_rad(&f, &b) < 1e-12);
    assert!(polar_angle_rad(&f).abs() < 1e-12);
    assert!((polar_angle_rad(&b).abs() - std::f64::consts::PI).abs() < 1e-12);
    assert!((polar_angle_rad(&Direction::from_deg(0.0, 90.0)).to_degrees() - 90.0).abs() < 1e-9);
}

/// The HRIR pair of a direction of the set has exactly that direction's cues: cost 0 and the
/// same lateral angle. The index itself is exact off the median plane; on it the KEMAR set is
/// left/right symmetric (ITD = 0, ILD = 0 in every band), so all median-plane directions tie —
/// the cone of confusion at lateral angle 0.
#[test]
fn hrir_of_the_set_itself_is_found_exactly() {
    let set = kemar();
    let table = CueTable::from_hrtf(&set, &CueConfig::default()).expect("table");
    for i in (0..set.len()).step_by(7) {
        let loc = table
            .localise(
                set.ir(i, Ear::Left),
                set.ir(i, Ear::Right),
                set.sample_rate_hz(),
            )
            .expect("localise");
        let truth = set.directions()[i];
        assert_eq!(loc.cost, 0.0, "direction {i}");
        assert!(
            lateral_error_rad(&loc.direction, &truth) < 1e-9,
            "direction {i}"
        );
        if lateral_angle_rad(&truth).abs() > 1e-6 {
            assert_eq!(loc.index, i, "direction {i}");
        }
    }
}

/// White noise rendered through HRIRs of the set: stated tolerance on the lateral angle 10° for
/// every direction tested, mean ≤ 3°; the great-circle error is reported (front-back
/// confusions are expected, see the module docs).
#[test]
fn noise_through_hrirs_is_localised_in_lateral_angle() {
    let set = kemar();
    let fs = set.sample_rate_hz();
    let table = CueTable::from_hrtf(&set, &CueConfig::default()).expect("table");
    let s = noise((fs * 0.5) as usize, 3);
    let (mut sum_lat, mut max_lat, mut sum_gc, mut n, mut fb) = (0.0, 0.0f64, 0.0, 0, 0);
    for i in (0..set.len()).step_by(11) {
        let l = fft_convolve(&s, set.ir(i, Ear::Left));
        let r = fft_convolve(&s, set.ir(i, Ear::Right));
        let loc = table.localise(&l, &r, fs).expect("localise");
        let truth = set.directions()[i];
        let lat = lateral_error_rad(&loc.direction, &truth).to_degrees();
        let gc = loc.direction.angle_to(&truth).to_degrees();
        if gc > 45.0 && lat < 10.0 {
            fb += 1;
        }
        sum_lat += lat;
        max_lat = max_lat.max(lat);
        sum_gc += gc;
        n += 1;
        assert!(lat < 10.0, "direction {i}: lateral error {lat}°");
    }
    println!(
        "KEMAR, {n} directions, white noise: lateral error mean {:.2}° max {max_lat:.2}°, \
         great-circle mean {:.1}°, cone-of-confusion errors (>45° great circle, <10° lateral) {fb}",
        sum_lat / n as f64,
        sum_gc / n as f64
    );
    assert!(sum_lat / n as f64 <= 3.0);
}

#[test]
fn rate_mismatch_is_an_error() {
    let set = kemar();
    let table = CueTable::from_hrtf(&set, &CueConfig::default()).expect("table");
    let x = noise(4096, 1);
    assert!(table.localise(&x, &x, 48000.0).is_err());
}
