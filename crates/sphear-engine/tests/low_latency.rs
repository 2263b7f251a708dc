//! Fidelity cost of the low-latency FIR cut (`FilterPhase::LowLatency`) against the standard
//! centred cut, both measured against direct HRIR rendering with the project's metrics
//! (`sphear-eval`: GCC-PHAT ITD, third-octave ILD and LSD), like `sphear demo`.
//!
//! Scene: white noise as a plane wave from 16 directions of the HRTF grid (12 horizontal, 4 at
//! ±30° elevation), each simulated on the em32 (analytic rigid-sphere model), rendered by the
//! engine (eMagLS-SH, order 4, 512 taps) and compared with the same noise convolved with the
//! measured HRIR pair of that direction. Reported per design: mean over directions of
//! |ITD − ITD_ref| (100–1500 Hz), mean |ILD error| (third octaves 1–8 kHz), LSD (third octaves
//! 0.1–16 kHz, mean of both ears).
//!
//! Bounds on the *cost* (low latency minus centred, means over the directions), from
//! just-noticeable differences: ITD 20 µs (the ITD JND for broadband noise is about 10–20 µs,
//! Klumpp & Eady 1956), ILD 0.5 dB (the ILD JND is about 0.5–1 dB, Yost & Dye 1988), LSD 1 dB (a
//! third-octave level change of 1 dB is at the intensity JND).

mod common;

use common::{FS_HZ, hrtf};
use sphear_core::Direction;
use sphear_core::signals::white_noise;
use sphear_engine::{
    DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES, Engine, EngineConfig, FilterPhase, ShDomainDesign,
};
use sphear_eval::bands::{ild_error_db, lsd_bands_db};
use sphear_eval::itd::gcc_phat_itd_s;
use sphear_hrtf::HrtfSet;
use sphear_render::sim::{PlaneWaveSource, render_direct_index, simulate_array};
use sphear_sh::array::ArrayGeometry;

const LEN: usize = 24_000;

#[derive(Debug, Clone, Copy)]
struct Scores {
    itd_us: f64,
    ild_db: f64,
    lsd_db: f64,
}

/// Multichannel signal `[channel][sample]`.
type Signals = Vec<Vec<f32>>;

struct Scene {
    /// (em32 capsule signals, direct reference) per direction.
    items: Vec<(Signals, Signals)>,
}

fn scene(h: &HrtfSet) -> Scene {
    let array = ArrayGeometry::em32();
    let mut targets: Vec<(f64, f64)> = (0..12).map(|i| (i as f64 * 30.0, 0.0)).collect();
    targets.extend([(45.0, 30.0), (135.0, -30.0), (225.0, 30.0), (315.0, -30.0)]);
    let signal = white_noise(LEN, 0.1, 11);
    let items = targets
        .iter()
        .map(|&(az, el)| {
            let idx = h.nearest(&Direction::from_deg(az, el));
            let dir = h.directions()[idx];
            let em32 = simulate_array(
                &array,
                &[PlaneWaveSource {
                    direction: dir,
                    signal: signal.clone(),
                }],
                FS_HZ,
                sphear_core::SPEED_OF_SOUND_M_S,
            );
            (em32, render_direct_index(h, &signal, idx))
        })
        .collect();
    Scene { items }
}

fn score(design: &ShDomainDesign, cfg: &EngineConfig, sc: &Scene) -> Scores {
    let mut engine = Engine::from_design(cfg.clone(), design.clone()).expect("engine");
    engine.prepare(FS_HZ, 256).expect("prepare");
    let lat = engine.latency_samples();
    let lead = design.hrir_onset_removed_samples;
    // Align: engine[n + lat] ≈ direct[n + lead]; skip the first 1024 samples (onsets).
    let skip = 1024;
    let n = LEN - skip - lat - 8;
    let (mut itd, mut ild, mut lsd) = (0.0, 0.0, 0.0);
    for (em32, reference) in &sc.items {
        engine.reset();
        let out = common::run_engine(&mut engine, em32, 256);
        let o: Vec<&[f32]> = out.iter().map(|c| &c[skip + lat - lead..][..n]).collect();
        let r: Vec<&[f32]> = reference.iter().map(|c| &c[skip..][..n]).collect();
        let t = gcc_phat_itd_s(o[0], o[1], FS_HZ, 100.0, 1500.0, 1e-3).expect("itd");
        let tr = gcc_phat_itd_s(r[0], r[1], FS_HZ, 100.0, 1500.0, 1e-3).expect("itd ref");
        itd += (t - tr).abs() * 1e6;
        ild += ild_error_db([o[0], o[1]], [r[0], r[1]], FS_HZ, 1000.0, 8000.0).expect("ild");
        lsd += 0.5
            * (lsd_bands_db(o[0], r[0], FS_HZ, 100.0, 16000.0).expect("lsd l")
                + lsd_bands_db(o[1], r[1], FS_HZ, 100.0, 16000.0).expect("lsd r"));
    }
    let k = sc.items.len() as f64;
    Scores {
        itd_us: itd / k,
        ild_db: ild / k,
        lsd_db: lsd / k,
    }
}

fn fidelity_table(name: &str, h: &HrtfSet) {
    let sc = scene(h);
    let mut base = EngineConfig::em32(4);
    base.phase = FilterPhase::Centred;
    let centred = ShDomainDesign::design(&base, h).expect("centred design");
    let ref_scores = score(&centred, &base, &sc);
    use std::fmt::Write;
    let mut table = String::new();
    let _ = writeln!(
        table,
        "\nHRTF {name}: em32 eMagLS-SH order 4, 512 taps, partition 64, 16 directions"
    );
    let _ = writeln!(
        table,
        "{:<22} {:>9} {:>11} {:>10} {:>10} {:>10}",
        "design", "latency", "HRIR lead", "|dITD| us", "|dILD| dB", "LSD dB"
    );
    let row = |t: &mut String, label: &str, d: &ShDomainDesign, cfg: &EngineConfig, s: Scores| {
        let _ = writeln!(
            t,
            "{label:<22} {:>9} {:>11} {:>10.1} {:>10.2} {:>10.2}",
            cfg.latency_samples(),
            d.hrir_onset_removed_samples,
            s.itd_us,
            s.ild_db,
            s.lsd_db
        );
    };
    row(&mut table, "centred (256)", &centred, &base, ref_scores);
    let mut cost = None;
    for pre in [16usize, 32, 48, 64] {
        let mut cfg = base.clone();
        cfg.phase = FilterPhase::LowLatency {
            pre_delay_samples: pre,
        };
        let d = ShDomainDesign::design(&cfg, h).expect("low-latency design");
        assert_eq!(d.delay_samples, pre);
        assert_eq!(cfg.latency_samples(), 64 + pre);
        let s = score(&d, &cfg, &sc);
        row(&mut table, &format!("low latency ({pre})"), &d, &cfg, s);
        if pre == DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES {
            let (ditd, dild, dlsd) = (
                s.itd_us - ref_scores.itd_us,
                s.ild_db - ref_scores.ild_db,
                s.lsd_db - ref_scores.lsd_db,
            );
            let _ = writeln!(
                table,
                "  cost of the default low-latency design: dITD {ditd:+.1} us, dILD {dild:+.2} dB, LSD {dlsd:+.2} dB"
            );
            cost = Some((ditd, dild, dlsd));
        }
    }
    print!("{table}");
    let (ditd, dild, dlsd) = cost.expect("default pre-delay is in the table");
    assert!(
        ditd <= 20.0,
        "{name}: ITD cost {ditd} us above the 20 us JND"
    );
    assert!(dild <= 0.5, "{name}: ILD cost {dild} dB above 0.5 dB");
    assert!(dlsd <= 1.0, "{name}: LSD cost {dlsd} dB above 1 dB");
}

#[test]
fn low_latency_fidelity_spherical_head() {
    fidelity_table("spherical head (embedded)", &hrtf());
}

#[test]
fn low_latency_fidelity_ku100() {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/sofa_libmysofa/FHK_HRIR_L2354.sofa"
    );
    let h = HrtfSet::from_sofa(std::path::Path::new(p), Some(FS_HZ))
        .expect("KU100 SOFA (../shared/data)")
        .set;
    fidelity_table("FHK KU100 L2354", &h);
}

#[test]
fn low_latency_fidelity_mit_kemar() {
    // libmysofa's default set (the CLI's default HRTF where libmysofa is installed).
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/sofa_libmysofa/MIT_KEMAR_normal_pinna.sofa"
    );
    let h = HrtfSet::from_sofa(std::path::Path::new(p), Some(FS_HZ))
        .expect("MIT KEMAR SOFA (../shared/data)")
        .set;
    fidelity_table("MIT KEMAR normal pinna", &h);
}
