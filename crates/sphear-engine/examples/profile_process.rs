//! Drives `Engine::process` for instruction counting under callgrind (the design is built first;
//! count only `process` with `--toggle-collect`):
//!
//! ```text
//! cargo build --release -p sphear-engine --example profile_process
//! valgrind --tool=callgrind --toggle-collect='*Engine*process*' \
//!     target/release/examples/profile_process 64 1000 moving
//! ```
//!
//! Arguments: host block (default 64), blocks (default 1000), `moving` (a head rotation update
//! before every block, the worst case) or `still`. em32 eMagLS-SH, order 4, 512 taps,
//! partition 64, as the `process` bench. Prints the blocks processed and an output checksum.

#![allow(missing_docs)]

use sphear_engine::{Engine, EngineConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let block: usize = args.get(1).map_or(Ok(64), |s| s.parse())?;
    let blocks: usize = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let moving = args.get(3).is_none_or(|s| s == "moving");
    let fs = 48000.0;
    let hrtf = sphear_render::hrtf_source::resolve_hrtf(None, fs)?.set;
    let mut engine = Engine::new(EngineConfig::em32(4), &hrtf)?;
    engine.prepare(fs, block)?;
    let input: Vec<Vec<f32>> = (0..32)
        .map(|q| sphear_core::signals::white_noise(block, 0.1, q as u64 + 1))
        .collect();
    let ins: Vec<&[f32]> = input.iter().map(|c| c.as_slice()).collect();
    let mut l = vec![0.0f32; block];
    let mut r = vec![0.0f32; block];
    let mut sum = 0.0f64;
    for b in 0..blocks {
        if moving {
            engine.set_rotation((b % 360) as f64, 0.0, 0.0);
        }
        let mut outs: [&mut [f32]; 2] = [&mut l, &mut r];
        engine.process(&ins, &mut outs)?;
        sum += l.iter().chain(&r).map(|&v| f64::from(v).abs()).sum::<f64>();
    }
    println!("{blocks} blocks of {block}: sum |y| = {sum:.6e}");
    Ok(())
}
