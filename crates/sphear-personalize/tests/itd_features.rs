//! ITD model, onset ITDs against CIPIC's own, feature selection and missing values, ME.toml.

use proptest::prelude::*;
use sphear_personalize::data::{
    CIPIC_RATE_HZ, FEATURES, KEMAR_IDS, N_DIRS, cipic_directions, load_cipic, mirror_index,
    parse_anthro_csv, preprocess,
};
use sphear_personalize::dsp::{GridDft, SpectralGrid};
use sphear_personalize::itd::{ItdRegressor, fit_subject, model_itd_s};
use sphear_personalize::listener::parse_listener;
use sphear_personalize::npy::read_npy_f32;

const CIPIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/cipic");

proptest! {
    #[test]
    fn itd_model_is_antisymmetric(c1 in 1e-4f64..1e-3, c2 in -2e-4f64..2e-4,
                                  lat in -1.5f64..1.5, pol in -1.0f64..4.0) {
        let a = model_itd_s([c1, c2], lat, pol);
        let b = model_itd_s([c1, c2], -lat, pol);
        prop_assert!((a + b).abs() < 1e-15);
        prop_assert!(model_itd_s([c1, c2], 0.0, pol).abs() < 1e-18);
        // left sources (negative CIPIC lateral) reach the left ear first: t_right - t_left > 0
        if lat < -0.05 { prop_assert!(a > 0.0 || c1 + c2 * pol.cos() <= 0.0); }
    }
}

#[test]
fn grid_mirror_is_an_involution_that_flips_y() {
    let d = cipic_directions();
    for m in 0..N_DIRS {
        let r = mirror_index(m);
        assert_eq!(mirror_index(r), m);
        let (a, b) = (d[m].direction.to_cartesian(), d[r].direction.to_cartesian());
        assert!(
            (a[0] - b[0]).abs() < 1e-12
                && (a[1] + b[1]).abs() < 1e-12
                && (a[2] - b[2]).abs() < 1e-12
        );
    }
    // index 0 is (-80°, -45°): left, below, as in directions.csv
    let c = d[0].direction.to_cartesian();
    assert!((c[0] - 0.122787804).abs() < 1e-6 && (c[1] - 0.984807753).abs() < 1e-6);
}

#[test]
fn features_handle_missing_values() {
    let mut header = String::from("subject_id,sex");
    let cols = [
        "x1_head_width_cm",
        "x2_head_height_cm",
        "x3_head_depth_cm",
        "x5_pinna_offset_back_cm",
        "x12_shoulder_width_cm",
        "x14_height_cm",
    ];
    for c in cols {
        header.push(',');
        header.push_str(c);
    }
    let pinna = [
        "d1_cavum_concha_height_cm",
        "d3_cavum_concha_width_cm",
        "d4_fossa_height_cm",
        "d5_pinna_height_cm",
        "d6_pinna_width_cm",
        "theta1_pinna_rotation_rad",
        "theta2_pinna_flare_rad",
    ];
    for side in ["L", "R"] {
        for p in pinna {
            header.push_str(&format!(",{side}_{p}"));
        }
    }
    let full = "1,M,15,21,19,1,45,180,2,1.6,1.6,6.4,2.9,0.4,0.5,2,1.6,1.6,6.4,2.9,0.4,0.5";
    let no_x14 = "2,M,15,21,19,1,45,,2,1.6,1.6,6.4,2.9,0.4,0.5,2,1.6,1.6,6.4,2.9,0.4,0.5";
    let no_right = "3,F,15,21,19,1,45,170,2,1.6,1.6,6.4,2.9,0.4,0.5,2,1.6,,6.4,2.9,0.4,0.5";
    let empty = "4,F,,,,,,,,,,,,,,,,,,,,";
    let t = parse_anthro_csv(&format!(
        "{header}\n{full}\n{no_x14}\n{no_right}\n{empty}\n"
    ))
    .expect("csv");
    let f = t.features(0, 0).expect("complete");
    assert_eq!(f[0], 15.0);
    assert!(
        (f[10] - 0.4f64.to_degrees()).abs() < 1e-12,
        "angles in degrees"
    );
    assert!(
        t.features(1, 0).is_some() && t.features(1, 1).is_some(),
        "x14 is not a feature"
    );
    assert!(
        t.features(2, 0).is_some() && t.features(2, 1).is_none(),
        "missing R_d3"
    );
    assert!(t.features(3, 0).is_none());
    assert!(parse_anthro_csv(&format!("{header}\n1,M,abc{}\n", ",1".repeat(19))).is_err());
}

#[test]
fn cipic_usable_subjects_and_onset_itds_agree_with_cipic() {
    let (raw, _) = load_cipic(std::path::Path::new(CIPIC)).expect("cipic");
    let ids: Vec<u32> = raw.iter().map(|r| r.id).collect();
    assert_eq!(raw.len(), 37, "35 complete + 2 KEMAR");
    for k in KEMAR_IDS {
        assert!(ids.contains(&k));
    }
    for gone in [8, 9, 11, 12, 15, 17, 19, 158] {
        assert!(!ids.contains(&gone));
    }
    // CIPIC's own ITDs (samples; subject order = anthro.csv rows; all 45 ids)
    let delays =
        read_npy_f32(&std::path::Path::new(CIPIC).join("delays_itd_onl_onr_f32.npy")).expect("npy");
    assert_eq!(delays.shape, vec![45, 1250, 3]);
    let all_ids: Vec<u32> = parse_anthro_csv(
        &std::fs::read_to_string(std::path::Path::new(CIPIC).join("anthro.csv")).expect("csv"),
    )
    .expect("parse")
    .rows
    .iter()
    .map(|r| r.0)
    .collect();
    let dft = GridDft::new(&SpectralGrid::new(), 200, CIPIC_RATE_HZ);
    let dirs = cipic_directions();
    for r in raw.iter().take(3) {
        let s = preprocess(r, &dft).expect("pre");
        let row = all_ids.iter().position(|&i| i == r.id).expect("row");
        // CIPIC's own onsets [ITD, OnL, OnR] (samples): its ITD column is |ITD|, so compare
        // with OnR - OnL, which has our sign (t_right - t_left)
        let cipic: Vec<f64> = (0..N_DIRS)
            .map(|m| {
                let o = (row * 1250 + m) * 3;
                (delays.data[o + 2] - delays.data[o + 1]) as f64 / CIPIC_RATE_HZ
            })
            .collect();
        let r_corr = sphear_personalize::data::pearson(&s.itd_s, &cipic);
        assert!(r_corr > 0.97, "subject {}: r = {r_corr}", r.id);
        // m = 8 is lateral -80° (far left), polar 0°: t_right > t_left
        assert!(s.itd_s[8] > 3e-4, "far left: {}", s.itd_s[8]);
        let c = fit_subject(&dirs, &s.itd_s).expect("fit");
        let radius_cm = c[0] * 343.0 * 100.0;
        assert!(
            (6.0..12.0).contains(&radius_cm),
            "subject {}: Woodworth radius {radius_cm} cm",
            r.id
        );
        let rms = (dirs
            .iter()
            .zip(&s.itd_s)
            .map(|(d, t)| (model_itd_s(c, d.lateral_rad, d.polar_rad) - t).powi(2))
            .sum::<f64>()
            / N_DIRS as f64)
            .sqrt();
        assert!(
            rms < 60e-6,
            "subject {}: model misfit {} us",
            r.id,
            rms * 1e6
        );
    }
}

#[test]
fn itd_regression_recovers_a_linear_law() {
    // c1 = 5e-4 + 3e-5 * x0 - 1e-5 * x2 exactly; ridge with lambda=2 on 200 points is close
    let xs: Vec<Vec<f64>> = (0..200)
        .map(|i| {
            (0..12)
                .map(|j| ((i * 7 + j * 13) % 17) as f64 / 8.0 - 1.0)
                .collect()
        })
        .collect();
    let cs: Vec<[f64; 2]> = xs
        .iter()
        .map(|x| [5e-4 + 3e-5 * x[0] - 1e-5 * x[2], 1e-5])
        .collect();
    let reg = ItdRegressor::fit(&xs, &cs).expect("fit");
    let mut x = [0.0; 12];
    x[0] = 1.0;
    let p = reg.predict(&x);
    assert!((p[0] - (5e-4 + 3e-5)).abs() < 3e-6, "{p:?}");
    assert!((p[1] - 1e-5).abs() < 1e-9);
}

/// The shrinkage weight picks the regression when ITDs follow the anthropometric law exactly
/// and the mean curve when the ITDs do not depend on the features at all.
#[test]
fn itd_shrinkage_picks_regression_or_mean() {
    use sphear_personalize::data::cipic_directions;
    use sphear_personalize::train::fit_itd_shrinkage;
    let dirs = cipic_directions();
    let xs: Vec<Vec<f64>> = (0..20)
        .map(|i| {
            (0..12)
                .map(|j| ((i * 7 + j * 13) % 17) as f64 / 8.0 - 1.0)
                .collect()
        })
        .collect();
    let law: Vec<[f64; 2]> = xs.iter().map(|x| [5e-4 + 4e-5 * x[0], 2e-5]).collect();
    let curve = |c: [f64; 2]| -> Vec<f64> {
        dirs.iter()
            .map(|d| model_itd_s(c, d.lateral_rad, d.polar_rad))
            .collect()
    };
    let itds: Vec<Vec<f64>> = law.iter().map(|&c| curve(c)).collect();
    let refs: Vec<&[f64]> = itds.iter().map(Vec::as_slice).collect();
    let lam = fit_itd_shrinkage(&xs, &law, &refs).expect("fit");
    assert!(lam >= 0.95, "exact law: lambda {lam}");
    // every subject has the same ITD curve, but the fitted coefficients are scrambled
    // (a regression on them can only add error)
    let same = curve([5e-4, 2e-5]);
    let refs: Vec<&[f64]> = (0..20).map(|_| same.as_slice()).collect();
    let noisy: Vec<[f64; 2]> = (0..20)
        .map(|i| [5e-4 + 6e-5 * (((i * 11) % 7) as f64 - 3.0), 2e-5])
        .collect();
    let lam = fit_itd_shrinkage(&xs, &noisy, &refs).expect("fit");
    assert!(lam <= 0.05, "feature-free ITDs: lambda {lam}");
    assert!(fit_itd_shrinkage(&xs[..2], &law[..2], &refs[..2]).is_err());
}

const ME: &str = r#"
head_width_cm = 14.5
head_height_cm = 21.6
head_depth_cm = 19.0
pinna_offset_back_cm = 0.9
shoulder_width_cm = 45.0
[left_ear]
cavum_concha_height_cm = 1.9
cavum_concha_width_cm = 1.6
fossa_height_cm = 1.6
pinna_height_cm = 6.4
pinna_width_cm = 2.9
pinna_rotation_deg = 24
pinna_flare_deg = 28
[right_ear]
cavum_concha_height_cm = 1.8
cavum_concha_width_cm = 1.7
fossa_height_cm = 1.5
pinna_height_cm = 6.3
pinna_width_cm = 3.0
pinna_rotation_deg = 22
pinna_flare_deg = 30
"#;

#[test]
fn listener_toml_units_unknown_keys_and_ranges() {
    let l = parse_listener(ME).expect("parse");
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(l.features[0][0], 14.5);
    assert_eq!(l.features[1][5], 1.8);
    assert_eq!(l.features[1][11], 30.0);
    assert_eq!(FEATURES[11].key, "pinna_flare_deg");
    assert!(
        parse_listener(&format!("{ME}\nnose_cm = 4\n")).is_err(),
        "unknown key in [right_ear]"
    );
    assert!(parse_listener(&ME.replace("head_width_cm", "nose_cm")).is_err());
    assert!(
        parse_listener(&ME.replace(
            "fossa_height_cm = 1.5",
            "fossa_height_cm = 1.5\nlobe_cm = 1"
        ))
        .is_err()
    );
    assert!(parse_listener(&ME.replace("pinna_width_cm = 3.0", "")).is_err());
    assert!(parse_listener(&ME.replace("14.5", "\"wide\"")).is_err());
    let w = parse_listener(&ME.replace("14.5", "25.0")).expect("parse");
    assert_eq!(w.warnings.len(), 1, "{:?}", w.warnings);
}
