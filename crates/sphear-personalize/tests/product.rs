//! The committed model: loads, personalises, writes a SOFA file that the project's reader loads
//! back unchanged (IRs, delays, directions).

use sphear_core::Direction;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_personalize::data::N_DIRS;
use sphear_personalize::dsp::{N_BINS, SpectralGrid, log_magnitude_db, lsd_db};
use sphear_personalize::listener::{embedded_model, parse_listener, personalize};

const ME: &str = include_str!("../examples/ME.toml");

#[test]
fn committed_model_personalises_and_sofa_round_trips() {
    let model = embedded_model().expect("embedded model");
    assert!(model.meta.train_subjects.len() >= 30);
    let l = parse_listener(ME).expect("listener");
    let h = personalize(&model, &l, 48_000.0).expect("personalize");
    assert_eq!(h.directions.len(), N_DIRS);
    // ITD: a source on the left arrives at the left ear first, by a plausible amount
    let left = (0..N_DIRS)
        .min_by(|&a, &b| {
            h.directions[a]
                .angle_to(&Direction::from_deg(90.0, 0.0))
                .total_cmp(&h.directions[b].angle_to(&Direction::from_deg(90.0, 0.0)))
        })
        .expect("dir");
    let itd = h.prediction.itd_s[left];
    assert!((4e-4..9e-4).contains(&itd), "ITD at the left {itd}");
    // the synthesised IRs have the predicted magnitudes
    let band = SpectralGrid::new().band(200.0, 16_000.0);
    for m in [0, 600, 1249] {
        for e in 0..2 {
            let want = &h.prediction.spectra_db[e][m * N_BINS..(m + 1) * N_BINS];
            let got = log_magnitude_db(&h.irs[e][m], 48_000.0);
            assert!(lsd_db(want, &got, &band) < 0.5);
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ME.sofa");
    sphear_hrtf::write_sofa(&path, &h.to_sofa("ME").expect("sofa")).expect("write");
    let back = HrtfSet::from_sofa(&path, None).expect("read back");
    assert_eq!(back.set.len(), N_DIRS);
    assert_eq!(back.set.sample_rate_hz(), 48_000.0);
    // the reader applies Data.Delay: compare with the in-memory delayed set
    let mem = h.to_hrtf_set("ME").expect("set");
    for m in [3, 500, 1111] {
        let i = back.set.nearest(&mem.directions()[m]);
        assert!(back.set.directions()[i].angle_to(&mem.directions()[m]) < 1e-6);
        for ear in [Ear::Left, Ear::Right] {
            let (a, b) = (back.set.ir(i, ear), mem.ir(m, ear));
            let e: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
            let n: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
            assert!(e / n < 1e-2, "dir {m} {ear:?}: rel err {}", e / n);
        }
    }
}
