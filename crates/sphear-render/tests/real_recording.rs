//! Acceptance test on a real em32 recording: the 3D-MARCo room impulse response with the
//! loudspeaker at +90° (left), 3 m (Lee & Johnson, Univ. of Huddersfield; excerpt shipped in
//! micarraylib), rendered to binaural with our eMagLS (capsule-domain eMagLS2) decoder designed
//! from the KU100 L2354 HRTF set. The direct sound must carry the KU100's ITD for +90° (within
//! 50 µs, left ear leading) and a positive ILD (left louder).
//!
//! Analysis window (samples of the 48 kHz recording; the rendered output is aligned with it, the
//! decoder's latency removed). Placed with the energy of the high-passed omni signal (first
//! difference of the mean of the 32 capsules) in 16-sample frames, printed by the test: it rises
//! from −52 dB (frame 1456) through −25 dB (1488) to its maximum at 1520 (the direct sound),
//! decays to −20…−29 dB by 1648–1712 and jumps back to −12 dB at 1728: the first reflection,
//! ≈ 200 samples (1.4 m of path) after the direct sound, as expected for the floor reflection of a
//! 3 m source–receiver pair about 1.6 m above the floor. The window is `[1456, 1690)`: it starts
//! before the direct sound (the whole onset is in) and ends 30 samples before the reflection,
//! which covers the decoder's pre-ringing (the test prints the share of the decoder's energy more
//! than 30 taps before its centre: under 1 %); the HRIR delay of the rendering (≈ 11 samples at
//! the near ear) only moves the rendered reflection later. Both ends are tapered (raised cosine,
//! 16 samples). 234 samples give a DFT resolution of 205 Hz, enough for GCC-PHAT in 0.1–1.5 kHz
//! (lags are searched within ±1 ms and interpolated).

mod common;

use common::*;
use sphear_eval::bands;
use sphear_hrtf::Ear;
use sphear_render::{BinauralDecoder, DecoderConfig, InputKind, Method};
use sphear_sh::array::ArrayGeometry;

/// Window around the direct sound `[start, end)` in samples (see the module docs).
const WINDOW: (usize, usize) = (1456, 1690);
/// Raised-cosine taper at both ends of the window (samples).
const TAPER: usize = 16;
/// Margin (samples) between the window end and the first reflection, for the decoder's pre-ringing.
const PRE_RING: usize = 30;
/// Largest share of the decoder's energy allowed more than [`PRE_RING`] taps before its centre
/// (the window-margin argument of the module docs).
const MAX_PRE_RING_SHARE: f64 = 0.01;
/// Zero-padded length for the band energies (samples).
const PAD_LEN: usize = 4096;
/// Frame length of the printed energy envelope (samples).
const FRAME: usize = 16;
/// Required agreement of the direct-sound ITD with the KU100 HRIR's ITD (µs), as specified.
const ITD_TOL_US: f64 = 50.0;

fn tukey(x: &[f32]) -> Vec<f32> {
    let n = x.len();
    x.iter()
        .enumerate()
        .map(|(t, &v)| {
            let d = t.min(n - 1 - t);
            let w = if d < TAPER {
                0.5 - 0.5 * (std::f64::consts::PI * (d as f64 + 0.5) / TAPER as f64).cos()
            } else {
                1.0
            };
            v * w as f32
        })
        .collect()
}

#[test]
fn marco_plus90_direct_sound_itd_and_ild() {
    let path = data_path("em32_micarraylib/3d-marco/+90deg_065_Eigenmike_Raw_32ch.wav");
    let (info, capsules) = sphear_core::wav::read_wav(&path).expect("read 3D-MARCo em32 IR");
    assert_eq!(info.channels, 32);
    assert_eq!(f64::from(info.sample_rate_hz), FS_HZ);

    // Envelope of the omni signal that places the window (printed for the record).
    let n = capsules[0].len();
    let omni: Vec<f32> = (0..n)
        .map(|t| capsules.iter().map(|c| c[t]).sum::<f32>() / 32.0)
        .collect();
    let hp: Vec<f32> = (1..n).map(|t| omni[t] - omni[t - 1]).collect();
    let frame_e = |a: usize| -> f64 { hp[a..a + FRAME].iter().map(|&v| f64::from(v * v)).sum() };
    let e_ref = (1400..1800).step_by(FRAME).map(frame_e).fold(0.0, f64::max);
    println!("high-passed omni energy, {FRAME}-sample frames (dB re max):");
    for a in (1440..1800).step_by(FRAME) {
        let mark = if a >= WINDOW.0 && a + FRAME <= WINDOW.1 {
            "  in window"
        } else {
            ""
        };
        println!(
            "  {a:>5}: {:>6.1}{mark}",
            10.0 * (frame_e(a) / e_ref).log10()
        );
    }

    let hrtf = load_ku100();
    let cfg = DecoderConfig {
        method: Method::EMagLs2,
        order: 4,
        ..Default::default()
    };
    let dec = BinauralDecoder::design(&hrtf, &InputKind::Array(ArrayGeometry::em32()), &cfg)
        .expect("design");
    let out = render(&dec, &capsules);
    let c = dec.delay_samples;
    let (mut e_all, mut e_pre) = (0.0f64, 0.0f64);
    for ear in &dec.filters {
        for f in ear {
            for (t, &v) in f.iter().enumerate() {
                e_all += f64::from(v * v);
                if t + PRE_RING < c {
                    e_pre += f64::from(v * v);
                }
            }
        }
    }
    println!(
        "decoder energy more than {PRE_RING} taps before its centre: {:.2} %",
        100.0 * e_pre / e_all
    );
    assert!(
        e_pre / e_all < MAX_PRE_RING_SHARE,
        "pre-ringing longer than the window margin assumes"
    );
    let win: Vec<Vec<f32>> = out.iter().map(|c| tukey(&c[WINDOW.0..WINDOW.1])).collect();

    // Reference: the KU100 HRIR nearest to (+90°, 0°).
    let i90 = hrtf.nearest(&sphear_core::Direction::from_deg(90.0, 0.0));
    let d90 = hrtf.directions()[i90];
    let hrir = vec![
        hrtf.ir(i90, Ear::Left).to_vec(),
        hrtf.ir(i90, Ear::Right).to_vec(),
    ];
    // Zero-padded copies for the band energies (a 128-tap HRIR or a 234-sample window alone has
    // DFT bins too coarse for the 1 kHz third-octave band).
    let pad = |x: &[f32]| -> Vec<f32> {
        let mut v = x.to_vec();
        v.resize(PAD_LEN, 0.0);
        v
    };
    let itd_ref = itd_us(&hrir);
    let itd = itd_us(&win);

    let centres = bands::third_octave_centres_hz(1000.0, 8000.0);
    let ild = bands::ild_per_band_db(&pad(&win[0]), &pad(&win[1]), FS_HZ, &centres).expect("ILD");
    let ild_ref =
        bands::ild_per_band_db(&pad(&hrir[0]), &pad(&hrir[1]), FS_HZ, &centres).expect("ILD");
    let e = |x: &[f32]| x.iter().map(|&v| f64::from(v * v)).sum::<f64>();
    let ild_broad = 10.0 * (e(&win[0]) / e(&win[1])).log10();

    println!(
        "\nKU100 HRIR at az {:.1}°, el {:.1}° (grid index {i90})",
        d90.azimuth_deg(),
        d90.elevation_deg()
    );
    println!("{:>28} | {:>10} | {:>10}", "", "rendered", "KU100 HRIR");
    println!(
        "{:>28} | {:>10.1} | {:>10.1}",
        "ITD GCC-PHAT 0.1–1.5 kHz µs", itd, itd_ref
    );
    println!(
        "{:>28} | {:>10.2} | {:>10.2}",
        "ILD mean 1–8 kHz bands dB",
        mean(&ild),
        mean(&ild_ref)
    );
    println!("{:>28} | {:>10.2} |", "ILD broadband dB", ild_broad);
    println!("per band ILD (dB):");
    for ((c, a), b) in centres.iter().zip(&ild).zip(&ild_ref) {
        println!("  {c:>7.0} Hz  rendered {a:>6.2}  HRIR {b:>6.2}");
    }
    println!(
        "|ΔITD| = {:.1} µs (tolerance {ITD_TOL_US} µs)",
        (itd - itd_ref).abs()
    );

    assert!(
        itd > 0.0,
        "left ear must lead for a source at +90°: ITD {itd:.1} µs"
    );
    assert!(
        (itd - itd_ref).abs() <= ITD_TOL_US,
        "ITD {itd:.1} µs vs KU100 {itd_ref:.1} µs"
    );
    assert!(
        mean(&ild) > 0.0,
        "left ear must be louder: mean band ILD {:.2} dB",
        mean(&ild)
    );
    assert!(
        ild_broad > 0.0,
        "left ear must be louder: broadband ILD {ild_broad:.2} dB"
    );
}
