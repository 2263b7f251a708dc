//! Measured latency per method and filter design: an impulse plane wave from the front on the
//! em32 (analytic rigid sphere, arriving at the array centre at sample 64), rendered by the
//! engine at 64-sample host blocks. The first sound of the output (first sample within −20 dB
//! of the peak, either ear, `sphear_eval::itd::onset_s`) is compared with
//! * causality: the engine cannot answer before it has collected one partition, so the first
//!   sound comes at least `P` = 64 samples after the wave reaches the capsules (the nearest
//!   capsule is hit 0.12 ms = 6 samples before the centre);
//! * the stated latency: the first sound comes no later than the direct HRIR rendering's first
//!   sound delayed by [`Engine::latency_samples`].
//!
//! A callback-driven device adds one host block on top (input block collected, output played).

mod common;

use common::{FS_HZ, hrtf};
use sphear_core::Direction;
use sphear_engine::{Engine, EngineConfig, FilterPhase};
use sphear_eval::itd::onset_s;
use sphear_render::Method;
use sphear_render::sim::{
    PlaneWaveSource, SIM_PRE_DELAY_SAMPLES, render_direct_index, simulate_array,
};
use sphear_sh::array::ArrayGeometry;

const LEN: usize = 4096;

fn first_sound_samples(y: &[Vec<f32>]) -> f64 {
    y.iter()
        .map(|c| onset_s(c, FS_HZ, -20.0, 0.0, 1).expect("onset") * FS_HZ)
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn measured_first_sound_delay_per_method() {
    let h = hrtf();
    let idx = h.nearest(&Direction::from_deg(0.0, 0.0));
    let mut impulse = vec![0.0f32; LEN];
    impulse[0] = 1.0;
    let em32 = simulate_array(
        &ArrayGeometry::em32(),
        &[PlaneWaveSource {
            direction: h.directions()[idx],
            signal: impulse.clone(),
        }],
        FS_HZ,
        sphear_core::SPEED_OF_SOUND_M_S,
    );
    let direct = render_direct_index(&h, &impulse, idx);
    let t_direct = first_sound_samples(&direct);
    let t0 = SIM_PRE_DELAY_SAMPLES as f64;
    println!(
        "impulse at the array centre at sample {t0}; direct HRIR rendering's first sound at {t_direct:.1}"
    );
    println!(
        "{:<10} {:<12} {:>15} {:>22} {:>24} {:>20}",
        "method",
        "design",
        "latency (smp)",
        "first sound - wave",
        "first sound - direct",
        "e2e @64 block (ms)"
    );
    for method in [Method::Ls, Method::MagLs, Method::EMagLsSh] {
        for phase in [FilterPhase::Centred, FilterPhase::low_latency()] {
            let cfg = EngineConfig {
                method,
                phase,
                ..EngineConfig::em32(4)
            };
            let mut engine = Engine::new(cfg.clone(), &h).expect("engine");
            engine.prepare(FS_HZ, 64).expect("prepare");
            let out = common::run_engine(&mut engine, &em32, 64);
            let lat = engine.latency_samples();
            let t_out = first_sound_samples(&out);
            println!(
                "{:<10} {:<12} {:>15} {:>22.1} {:>24.1} {:>20.2}",
                method.name(),
                if phase == FilterPhase::Centred {
                    "centred"
                } else {
                    "low latency"
                },
                lat,
                t_out - t0,
                t_out - t_direct,
                (lat + 64) as f64 / FS_HZ * 1e3
            );
            assert!(
                t_out - t0 >= 64.0 - 6.0,
                "{} {phase:?}: first sound {t_out} before one partition has been collected",
                method.name()
            );
            assert!(
                t_out - t_direct <= lat as f64 + 1.0,
                "{} {phase:?}: first sound {t_out} later than direct + stated latency {lat}",
                method.name()
            );
        }
    }
}
