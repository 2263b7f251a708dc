//! Room impulse responses: image sources + diffuse tail.
//!
//! * The tail's energy continues the image sources' energy: the white-equivalent energy rate of
//!   the images that arrive in the 40 ms after the transition (a complete image set, order 40),
//!   `Σ a² / W`, is compared with what the tail spec predicts for the same window,
//!   `E_b · mean(exp(−13.82 (t − t₀)/T_b))`, summed over six source/receiver positions. The
//!   prediction uses the Eyring T_b, while the image-source decay of a shoebox is not exactly
//!   exponential (Jensen: `⟨β^{2n}⟩ ≥ β^{2⟨n⟩}`, a slowly curving decay): 1 dB (−0.03 … −0.77 dB
//!   measured, growing with the absorption as expected).
//! * No step in the actual signals: band energies of the hybrid omni RIR (DC removed: the
//!   all-positive image pulses carry a DC component the zero-mean tail does not model) in 40 ms
//!   before and after the transition, each normalised by the expected exponential decay over its
//!   window, summed over the six positions. Shoebox image arrivals are clustered (symmetric
//!   lattice points arrive together), so window energies scatter far more than for noise, and
//!   their high-band energy exceeds the white-equivalent `Σ a²` the tail continues (by +0.7 …
//!   +1.4 dB at 8 kHz in this room, measured from the rendered images): tolerance 2.5 dB per band,
//!   3 dB for the 125 Hz band (few degrees of freedom: `2·B·W ≈ 7` per window). The broadband
//!   ratio is printed, not asserted: it is dominated by the images' coherent low-frequency energy
//!   (positive pulses), which a zero-mean diffuse tail does not and should not reproduce.
//! * Every receiver gets `[ch][len]`; binaural sets at the wrong rate are rejected.
//! * Timing (ignored test, run with `--ignored --nocapture`).

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use std::sync::Arc;

use sphear_render::head::SphericalHead;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::rotation::IDENTITY;
use sphear_sim::bands::{NUM_BANDS, PerBand, band_split};
use sphear_sim::receiver::Receiver;
use sphear_sim::rir::{RirConfig, default_transition_s, room_impulse_responses};
use sphear_sim::room::{Room, Rt60Formula, image_sources};
use sphear_sim::tail::tail_spec_from_images;

const FS: f64 = 48_000.0;
const C: f64 = sphear_core::SPEED_OF_SOUND_M_S;

const POSITIONS: [([f64; 3], [f64; 3]); 6] = [
    ([1.2, 1.1, 1.5], [4.5, 2.8, 1.3]),
    ([0.7, 3.1, 1.8], [3.9, 1.0, 1.6]),
    ([5.1, 0.9, 2.2], [2.0, 2.5, 1.2]),
    ([2.5, 2.0, 0.6], [4.8, 3.3, 2.4]),
    ([3.3, 3.5, 2.7], [1.1, 0.6, 1.7]),
    ([4.2, 1.7, 1.0], [1.5, 3.2, 2.0]),
];
const ALPHA: PerBand = [0.08, 0.1, 0.12, 0.15, 0.18, 0.22, 0.3];
const T0_S: f64 = 0.08;
const W_S: f64 = 0.04;
const DECAY_60DB: f64 = 6.907_755_278_982_137;

#[test]
fn tail_energy_continues_image_energy() {
    const TOL_DB: f64 = 1.0;
    let room = Room::uniform([6.0, 4.0, 3.0], ALPHA).expect("room");
    let mut ism = [0.0; NUM_BANDS];
    let mut pred = [0.0; NUM_BANDS];
    for (s, r) in POSITIONS {
        let images = image_sources(&room, s, r, 40, Some(T0_S + W_S), C).expect("images");
        let early: Vec<_> = images
            .iter()
            .filter(|i| i.delay_s <= T0_S)
            .cloned()
            .collect();
        let spec = tail_spec_from_images(&early, &room, Rt60Formula::Eyring, T0_S, FS, 0);
        for b in 0..NUM_BANDS {
            ism[b] += images
                .iter()
                .filter(|i| i.delay_s > T0_S)
                .map(|i| i.band_gains[b].powi(2))
                .sum::<f64>()
                / W_S;
            let k = 2.0 * DECAY_60DB / spec.rt60_s[b];
            // mean of exp(−k (t − t0)) over [t0, t0 + W].
            pred[b] += spec.band_energy[b] * (1.0 - (-k * W_S).exp()) / (k * W_S);
        }
    }
    let d: Vec<f64> = (0..NUM_BANDS)
        .map(|b| 10.0 * (pred[b] / ism[b]).log10())
        .collect();
    println!("tail prediction / image energy after the transition (dB): {d:+.2?}");
    for (b, v) in d.iter().enumerate() {
        assert!(v.abs() <= TOL_DB, "band {b}: {v:.2} dB");
    }
}

#[test]
fn energy_decay_has_no_step_at_transition() {
    let room = Room::uniform([6.0, 4.0, 3.0], ALPHA).expect("room");
    let rt = room.rt60_s(Rt60Formula::Eyring);
    let mut cfg = RirConfig::new(FS, (0.2 * FS) as usize);
    cfg.max_order = 25;
    cfg.transition_s = Some(T0_S);
    let i0 = ((T0_S - W_S) * FS) as usize;
    let i1 = (T0_S * FS) as usize;
    let i2 = ((T0_S + W_S) * FS) as usize;
    let mut before = [0.0; NUM_BANDS + 1];
    let mut after = [0.0; NUM_BANDS + 1];
    for (k, (s, r)) in POSITIONS.iter().enumerate() {
        cfg.seed = k as u64;
        let rir = room_impulse_responses(&room, *s, *r, &[Receiver::Omni], &cfg).expect("rir");
        // DC removal: subtract a centred 20 ms moving average.
        let x = &rir[0][0];
        let half = 480;
        let mut prefix = vec![0.0f64; x.len() + 1];
        for (i, &v) in x.iter().enumerate() {
            prefix[i + 1] = prefix[i] + f64::from(v);
        }
        let hp: Vec<f32> = (0..x.len())
            .map(|i| {
                let (a, e) = (i.saturating_sub(half), (i + half + 1).min(x.len()));
                (f64::from(x[i]) - (prefix[e] - prefix[a]) / (e - a) as f64) as f32
            })
            .collect();
        let mut parts = band_split(&hp, FS);
        parts.push(hp);
        for (b, p) in parts.iter().enumerate() {
            // Expected decay exp(−13.82 (t − t0)/T) with the band's RT60 (broadband: 1 kHz).
            let t = if b < NUM_BANDS { rt[b] } else { rt[3] };
            let k60 = 2.0 * DECAY_60DB / t;
            let norm = |a: usize, e: usize| -> f64 {
                (a..e).map(|n| (-k60 * (n as f64 / FS - T0_S)).exp()).sum()
            };
            let en =
                |a: usize, e: usize| -> f64 { p[a..e].iter().map(|&v| f64::from(v).powi(2)).sum() };
            before[b] += en(i0, i1) / norm(i0, i1);
            after[b] += en(i1, i2) / norm(i1, i2);
        }
    }
    let d: Vec<f64> = (0..=NUM_BANDS)
        .map(|b| 10.0 * (after[b] / before[b]).log10())
        .collect();
    println!("after/before the transition (dB, bands 125…8k, broadband): {d:+.2?}");
    for (b, v) in d.iter().enumerate().take(NUM_BANDS) {
        let tol = if b == 0 { 3.0 } else { 2.5 };
        assert!(
            v.abs() <= tol,
            "band {b}: step of {v:.2} dB at the transition"
        );
    }
}

#[test]
fn shapes_and_rate_check() {
    let room = Room::uniform([5.0, 4.0, 3.0], [0.2; NUM_BANDS]).expect("room");
    let head48 = Arc::new(SphericalHead::default().build(FS).expect("head"));
    let receivers = vec![
        Receiver::Omni,
        Receiver::Array(ArrayGeometry::em32()),
        Receiver::Binaural {
            hrtf: head48,
            orientation: IDENTITY,
        },
        Receiver::Ambisonic { order: 3 },
    ];
    let cfg = RirConfig::new(FS, 9600);
    let out = room_impulse_responses(&room, [1.0, 1.0, 1.5], [3.0, 2.5, 1.6], &receivers, &cfg)
        .expect("rir");
    for (r, o) in receivers.iter().zip(&out) {
        assert_eq!(o.len(), r.num_channels());
        assert!(
            o.iter()
                .all(|c| c.len() == 9600 && c.iter().all(|v| v.is_finite()))
        );
    }
    // Direct sound of the omni: distance √(4 + 2.25 + 0.01) m → amplitude 1/r at r/c.
    let r = (4.0f64 + 2.25 + 0.01).sqrt();
    let n = (r / cfg.speed_m_s * FS).round() as usize;
    let peak = out[0][0][n - 2..n + 3]
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        (f64::from(peak) * r - 1.0).abs() < 0.1,
        "direct peak {peak} vs 1/r {}",
        1.0 / r
    );
    let head44 = Arc::new(SphericalHead::default().build(44_100.0).expect("head"));
    let bad = [Receiver::Binaural {
        hrtf: head44,
        orientation: IDENTITY,
    }];
    assert!(room_impulse_responses(&room, [1.0, 1.0, 1.5], [3.0, 2.5, 1.6], &bad, &cfg).is_err());
}

#[test]
#[ignore = "timing report, run with --ignored --nocapture"]
fn rir_generation_timing() {
    let head = Arc::new(SphericalHead::default().build(FS).expect("head"));
    let receivers = vec![
        Receiver::Array(ArrayGeometry::em32()),
        Receiver::Binaural {
            hrtf: head,
            orientation: IDENTITY,
        },
        Receiver::Ambisonic { order: 4 },
    ];
    let dims = [8.0, 6.0, 3.5];
    for (rt60, transition) in [0.2, 0.5, 1.2, 2.5]
        .into_iter()
        .flat_map(|r| [(r, None), (r, Some(0.1))])
    {
        let room = Room::from_rt60(dims, [rt60; NUM_BANDS], Rt60Formula::Eyring).expect("room");
        let len = ((rt60 * 1.2 + 0.05) * FS) as usize;
        let mut cfg = RirConfig::new(FS, len);
        cfg.transition_s = transition;
        let n_img = image_sources(
            &room,
            [2.0, 1.5, 1.6],
            [5.5, 3.9, 1.7],
            cfg.max_order,
            Some(transition.unwrap_or_else(|| {
                default_transition_s(&room, [2.0, 1.5, 1.6], [5.5, 3.9, 1.7], cfg.max_order, C)
            })),
            C,
        )
        .expect("images")
        .len();
        let t = std::time::Instant::now();
        let out = room_impulse_responses(&room, [2.0, 1.5, 1.6], [5.5, 3.9, 1.7], &receivers, &cfg)
            .expect("rir");
        let total = t.elapsed().as_secs_f64();
        let mut per = String::new();
        for r in &receivers {
            let t = std::time::Instant::now();
            let _ = room_impulse_responses(
                &room,
                [2.0, 1.5, 1.6],
                [5.5, 3.9, 1.7],
                std::slice::from_ref(r),
                &cfg,
            );
            per += &format!(
                " {}ch {:.2} s;",
                r.num_channels(),
                t.elapsed().as_secs_f64()
            );
        }
        println!(
            "RT60 {rt60} s, transition {transition:?}, len {len}, {n_img} images: all receivers {total:.2} s ({} sets);{per}",
            out.len()
        );
    }
}
