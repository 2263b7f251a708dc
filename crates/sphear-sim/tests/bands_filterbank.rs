//! Octave filterbank: perfect reconstruction, band responses against a naive DTFT, zero phase.

use proptest::prelude::*;
use sphear_sim::bands::{
    BAND_CENTRES_HZ, CROSSOVER_HZ, NUM_BANDS, band_split, band_split_with_taps,
    default_filterbank_taps, octave_filterbank,
};

/// Perfect reconstruction: the bank sums to a delayed unit impulse (f64 rounding only).
const PR_TOL: f64 = 1e-12;
/// Response at a band centre: the centres are at least ~0.6 transition widths from the edges, where
/// the Blackman window's pass-band ripple is ~0.0002 dB.
const CENTRE_TOL_DB: f64 = 0.01;
/// Two octaves away from a band (beyond the neighbours) the response is in the stop band of both
/// crossover low-passes (Blackman: −74 dB; differences of two such filters stay below −60 dB).
const STOPBAND_MAX_DB: f64 = -60.0;
/// band_split output is rounded to f32: Σ bands vs x.
const SPLIT_SUM_TOL: f32 = 1e-5;

/// Naive DTFT magnitude `|Σ h[k] e^{-iωk}|` at `f_hz`.
fn dtft_mag(h: &[f64], f_hz: f64, fs: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f_hz / fs;
    let (mut re, mut im) = (0.0, 0.0);
    for (k, &v) in h.iter().enumerate() {
        let (s, c) = (w * k as f64).sin_cos();
        re += v * c;
        im -= v * s;
    }
    (re * re + im * im).sqrt()
}

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

#[test]
fn bank_sums_to_delayed_impulse() {
    for (fs, taps) in [
        (48_000.0, default_filterbank_taps(48_000.0)),
        (44_100.0, 3791),
        (96_000.0, 1001),
        (16_000.0, 257),
    ] {
        let bank = octave_filterbank(fs, taps);
        assert_eq!(bank.len(), NUM_BANDS);
        let d = (taps - 1) / 2;
        for (n, _) in bank[0].iter().enumerate() {
            let s: f64 = bank.iter().map(|h| h[n]).sum();
            let want = if n == d { 1.0 } else { 0.0 };
            assert!(
                (s - want).abs() <= PR_TOL,
                "fs {fs} taps {taps} n {n}: sum {s}"
            );
        }
        // Linear phase: every filter is symmetric about the common delay.
        for h in &bank {
            assert_eq!(h.len(), taps);
            for k in 0..taps {
                assert!((h[k] - h[taps - 1 - k]).abs() < 1e-15);
            }
        }
    }
}

#[test]
fn even_tap_count_is_rounded_up_to_odd() {
    let bank = octave_filterbank(48_000.0, 200);
    assert!(bank.iter().all(|h| h.len() == 201));
}

#[test]
fn band_responses_are_octave_bandpasses() {
    let fs = 48_000.0;
    let bank = octave_filterbank(fs, default_filterbank_taps(fs));
    for (b, h) in bank.iter().enumerate() {
        let fc = BAND_CENTRES_HZ[b];
        let g = db(dtft_mag(h, fc, fs));
        assert!(g.abs() < CENTRE_TOL_DB, "band {b}: {g} dB at {fc} Hz");
        // −6 dB at the crossovers (windowed-sinc low-passes are 0.5 at their cut-off), i.e. the
        // neighbours cross at half amplitude and sum to one.
        if b > 0 {
            let ge = dtft_mag(h, CROSSOVER_HZ[b - 1], fs);
            assert!((ge - 0.5).abs() < 1e-3, "band {b} at lower edge: {ge}");
        }
        if b < NUM_BANDS - 1 {
            let ge = dtft_mag(h, CROSSOVER_HZ[b], fs);
            assert!((ge - 0.5).abs() < 1e-3, "band {b} at upper edge: {ge}");
        }
        // Stop bands two octaves away (and DC for band-passes / high-pass, Nyquist for all but top).
        if b >= 2 {
            let s = db(dtft_mag(h, fc / 4.0, fs));
            assert!(s < STOPBAND_MAX_DB, "band {b} at fc/4: {s} dB");
        }
        if b >= 1 {
            let s = db(dtft_mag(h, 0.0, fs).max(1e-300));
            assert!(s < STOPBAND_MAX_DB, "band {b} at DC: {s} dB");
        } else {
            assert!(
                (dtft_mag(h, 0.0, fs) - 1.0).abs() < 1e-12,
                "low band is a low-pass"
            );
        }
        if b + 2 < NUM_BANDS {
            let s = db(dtft_mag(h, fc * 4.0, fs));
            assert!(s < STOPBAND_MAX_DB, "band {b} at 4 fc: {s} dB");
            let s = db(dtft_mag(h, fs / 2.0, fs).max(1e-300));
            assert!(s < STOPBAND_MAX_DB, "band {b} at Nyquist: {s} dB");
        } else if b == NUM_BANDS - 1 {
            assert!(
                (dtft_mag(h, fs / 2.0, fs) - 1.0).abs() < 1e-3,
                "top band is a high-pass"
            );
        }
    }
}

#[test]
fn crossovers_above_nyquist_leave_top_bands_empty() {
    // At 8 kHz the 5657 Hz crossover is above Nyquist: the top band is identically zero and the
    // rest still reconstructs.
    let bank = octave_filterbank(8_000.0, 255);
    assert!(bank[NUM_BANDS - 1].iter().all(|&v| v.abs() < 1e-15));
    let sum: Vec<f64> = (0..255).map(|n| bank.iter().map(|h| h[n]).sum()).collect();
    assert!((sum[127] - 1.0).abs() < PR_TOL);
}

#[test]
fn band_split_is_zero_phase_and_reconstructs() {
    let fs = 48_000.0;
    let len = 12_000;
    let mut x = vec![0.0f32; len];
    x[5_000] = 1.0;
    let bands = band_split(&x, fs);
    let bank = octave_filterbank(fs, default_filterbank_taps(fs));
    let d = (bank[0].len() - 1) / 2;
    for (b, y) in bands.iter().enumerate() {
        assert_eq!(y.len(), len);
        // The band's impulse response appears centred on the impulse (delay compensated).
        for (k, &hk) in bank[b].iter().enumerate() {
            let n = 5_000 + k - d;
            assert!((f64::from(y[n]) - hk).abs() < 1e-7, "band {b} tap {k}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn band_split_sums_to_input(seed in 0u64..1000, len in 1usize..3000) {
        let x = sphear_core::signals::white_noise(len, 1.0, seed + 1);
        let bands = band_split_with_taps(&x, 48_000.0, 511);
        prop_assert_eq!(bands.len(), NUM_BANDS);
        for n in 0..len {
            let s: f32 = bands.iter().map(|b| b[n]).sum();
            prop_assert!((s - x[n]).abs() < SPLIT_SUM_TOL, "n {} sum {} x {}", n, s, x[n]);
        }
    }
}
