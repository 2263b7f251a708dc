//! Generated RIRs (image sources + diffuse tail, the scene defaults) reach their RT60 targets:
//! T30 by Schroeder backward integration within 10 % per octave band 250 Hz – 4 kHz.

use sphear_sim::receiver::Receiver;
use sphear_sim::rir::{RirConfig, room_impulse_responses};
use sphear_sim::room::{Room, Rt60Formula, t30_s};
use sphear_sim::scene::{default_max_order, default_transition_s};

/// Allowed relative T30 error.
const RT60_REL_TOL: f64 = 0.10;

#[test]
fn t30_within_10_percent_of_target_per_band() {
    let fs = 48000.0;
    let dims = [8.0, 6.0, 3.5];
    println!("target  | T30 per band 250 500 1k 2k 4k (s)");
    for target in [0.2, 0.5, 1.2, 2.5] {
        let room = Room::from_rt60(dims, [target; 7], Rt60Formula::Eyring).expect("room");
        let mut cfg = RirConfig::new(fs, ((1.2 * target + 0.1) * fs) as usize);
        cfg.max_order = default_max_order(target);
        let (src, rcv): ([f64; 3], [f64; 3]) = ([2.1, 1.7, 1.4], [5.2, 3.9, 1.6]);
        let dist = ((src[0] - rcv[0]) * (src[0] - rcv[0])
            + (src[1] - rcv[1]) * (src[1] - rcv[1])
            + (src[2] - rcv[2]) * (src[2] - rcv[2]))
            .sqrt();
        cfg.transition_s = Some(default_transition_s(dist, target, room.volume_m3()));
        cfg.seed = 7;
        let rirs = room_impulse_responses(&room, src, rcv, &[Receiver::Omni], &cfg).expect("rir");
        let omni = &rirs[0][0];
        let mut row = Vec::new();
        for band in 1..=5 {
            let t = t30_s(omni, fs, Some(band)).expect("t30");
            row.push(t);
        }
        println!(
            "{target:>5.1} s | {}",
            row.iter()
                .map(|t| format!("{t:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        for (b, t) in row.iter().enumerate() {
            let err = (t - target).abs() / target;
            assert!(
                err <= RT60_REL_TOL,
                "target {target} s, band {}: T30 {t:.3} s ({:.1} %)",
                b + 1,
                err * 100.0
            );
        }
    }
}
