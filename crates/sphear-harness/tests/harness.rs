//! Harness scoring: the reference against itself scores perfectly; a known-bad method (swapped
//! ears) scores worse than eMagLS2 on ITD and ILD; capsule subsets are well spread.

use std::sync::Arc;

use sphear_core::signals::NoiseGen;
use sphear_eval::snr::SegSnrConfig;
use sphear_harness::methods::{DecoderBank, MethodId, coulomb_energy, em32_subset};
use sphear_harness::run::score_scene;
use sphear_harness::score::score_with;
use sphear_harness::suite::{SceneJob, bench_v1, load_scene};
use sphear_render::head::SphericalHead;
use sphear_sh::array::ArrayGeometry;
use sphear_sim::scene::SceneContext;
use sphear_sim::spec::{Num, SceneSpec, SourcePosition};

fn ctx() -> SceneContext {
    let set = SphericalHead::default().build(48000.0).expect("head model");
    SceneContext {
        hrtf: Arc::new(set),
        hrtf_origin: "embedded spherical head".into(),
    }
}

#[test]
fn reference_against_itself_scores_perfectly() {
    let ctx = ctx();
    let job = &bench_v1(true)[0];
    let scene = load_scene(job, &ctx).expect("scene");
    let bank = DecoderBank::design(&ctx.hrtf, &[MethodId::Reference], &[32]).expect("bank");
    assert_eq!(scene.meta.sources, 1);
    let cues = bank.cues().expect("cue table of the head model");
    let (scores, fails) = score_with(&scene.binaural, &scene.binaural, 48000.0, Some(cues));
    assert!(scores.iter().any(|s| s.metric == "lateral_err_deg"));
    assert!(fails.is_empty(), "{fails:?}");
    assert!(scores.len() > 10);
    let seg_max = SegSnrConfig::default().max_db;
    for s in &scores {
        if s.metric == "snr_db" {
            assert_eq!(s.value, f64::INFINITY, "{s:?}");
        } else if s.metric == "segsnr_db" {
            // Every frame's SNR is clamped to the upper limit.
            assert_eq!(s.value, seg_max, "{s:?}");
        } else {
            assert_eq!(s.value, 0.0, "{s:?}");
        }
    }
    // Through the bank, as the harness runs it.
    let (rows, fails) = score_scene(&scene, &bank, &[MethodId::Reference], &[32]).expect("score");
    assert!(fails.is_empty(), "{fails:?}");
    assert_eq!(rows.len(), scores.len());
    assert!(
        rows.iter()
            .all(|r| r.value == 0.0 || r.value == f64::INFINITY || r.value == seg_max)
    );
}

#[test]
fn swapped_ears_score_worse_than_emagls() {
    let ctx = ctx();
    let mut worse = 0;
    let azimuths = [60.0, -110.0, 35.0];
    for (i, az) in azimuths.iter().enumerate() {
        let mut spec = SceneSpec {
            duration_s: 1.0,
            ..SceneSpec::default()
        };
        spec.room.free_field = true;
        spec.sources.count = Num::Fixed(1.0);
        spec.sources.positions = Some(vec![SourcePosition {
            azimuth_deg: *az,
            elevation_deg: 10.0,
            distance_m: 2.0,
        }]);
        spec.output.ambix_order = 0;
        let job = SceneJob::Simulate {
            id: format!("lateral-{i}"),
            spec: Box::new(spec),
            seed: 5 + i as u64,
        };
        let scene = load_scene(&job, &ctx).expect("scene");
        let methods = [MethodId::EMagLs, MethodId::SwappedEars];
        let bank = DecoderBank::design(&ctx.hrtf, &methods, &[32]).expect("bank");
        let (rows, fails) = score_scene(&scene, &bank, &methods, &[32]).expect("score");
        assert!(fails.is_empty(), "{fails:?}");
        let get = |m: MethodId, metric: &str| {
            rows.iter()
                .find(|r| r.method == m && r.metric == metric && r.band_hz.is_none())
                .map(|r| r.value)
                .expect("row")
        };
        let (ie, is) = (
            get(MethodId::EMagLs, "itd_err_us"),
            get(MethodId::SwappedEars, "itd_err_us"),
        );
        let (le, ls) = (
            get(MethodId::EMagLs, "ild_err_db"),
            get(MethodId::SwappedEars, "ild_err_db"),
        );
        println!(
            "az {az:6.1}: |dITD| emagls {ie:7.2} us, swapped {is:7.2} us; |dILD| emagls {le:.2} dB, swapped {ls:.2} dB"
        );
        assert!(is > ie && ls > le, "az {az}: swapped ears must be worse");
        worse += 1;
    }
    assert_eq!(worse, azimuths.len());
}

#[test]
fn capsule_subsets_are_well_spread() {
    let em = ArrayGeometry::em32();
    let min_angle = |idx: &[usize]| {
        let mut m = f64::INFINITY;
        for (a, &i) in idx.iter().enumerate() {
            for &j in &idx[a + 1..] {
                m = m.min(em.capsules[i].angle_to(&em.capsules[j]));
            }
        }
        m.to_degrees()
    };
    let full = em32_subset(32).expect("32");
    assert_eq!(full.order, 4);
    assert_eq!(full.indices, (0..32).collect::<Vec<_>>());
    for n in [16, 8] {
        let s = em32_subset(n).expect("subset");
        assert_eq!(s.indices.len(), n);
        // Better spread (lower Coulomb energy) than each of 2000 random subsets and than every
        // block of consecutive capsules.
        let e = coulomb_energy(&em, &s.indices);
        let mut g = NoiseGen::new(0x5B5E7 + n as u64);
        for _ in 0..2000 {
            let mut pool: Vec<usize> = (0..32).collect();
            let mut pick = Vec::new();
            while pick.len() < n {
                let i = ((g.next_uniform() + 1.0) * 0.5 * pool.len() as f64) as usize;
                pick.push(pool.remove(i.min(pool.len() - 1)));
            }
            assert!(
                e <= coulomb_energy(&em, &pick),
                "{n}: random subset {pick:?} spreads better"
            );
        }
        for start in 0..=(32 - n) {
            let block: Vec<usize> = (start..start + n).collect();
            assert!(
                e <= coulomb_energy(&em, &block),
                "{n}: block at {start} spreads better"
            );
        }
        println!(
            "{n} capsules: order {}, min spacing {:.1}°, Coulomb energy {e:.3}, capsules {:?}",
            s.order,
            min_angle(&s.indices),
            s.indices
        );
        assert!(s.order >= 1);
    }
}
