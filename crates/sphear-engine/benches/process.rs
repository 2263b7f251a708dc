//! CPU time of `Engine::process` for em32 eMagLS (SH domain, order 4, 512 taps, partition 64)
//! at host blocks of 64 and 256 samples, with a head rotation update every block (`..._moving`,
//! the worst case: the SH rotation is recomputed and crossfaded in every partition of a
//! 64-sample block) and with a still head (`..._still`).
//! Real-time budget: 64 samples = 1333 µs, 256 samples = 5333 µs at 48 kHz (goal ≤ 2 %).

#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use sphear_engine::{Engine, EngineConfig};

fn bench(c: &mut Criterion) {
    let fs = 48000.0;
    let hrtf = sphear_render::hrtf_source::resolve_hrtf(None, fs)
        .expect("hrtf")
        .set;
    let design_engine = Engine::new(EngineConfig::em32(4), &hrtf).expect("engine");
    let design = design_engine.design().clone();
    for (block, moving) in [(64usize, true), (256, true), (64, false), (256, false)] {
        let mut engine =
            Engine::from_design(EngineConfig::em32(4), design.clone()).expect("engine");
        engine.prepare(fs, block).expect("prepare");
        let input: Vec<Vec<f32>> = (0..32)
            .map(|q| sphear_core::signals::white_noise(block, 0.1, q as u64 + 1))
            .collect();
        let mut out = vec![vec![0.0f32; block]; 2];
        let mut yaw = 0.0;
        let name = format!(
            "em32_emagls_sh_order4_block{block}_{}",
            if moving { "moving" } else { "still" }
        );
        c.bench_function(&name, |b| {
            b.iter(|| {
                if moving {
                    yaw += 1.0;
                    engine.set_rotation(yaw % 360.0, 0.0, 0.0);
                }
                let ins: Vec<&[f32]> = input.iter().map(|c| c.as_slice()).collect();
                let (l, r) = out.split_at_mut(1);
                let mut outs: [&mut [f32]; 2] = [&mut l[0], &mut r[0]];
                engine.process(&ins, &mut outs).expect("process");
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
