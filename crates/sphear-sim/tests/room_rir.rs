//! omni_rir: fractional-delay kernel against a direct evaluation, band filtering against the
//! filterbank applied by naive convolution, linearity/perfect reconstruction across bands.

use sphear_core::Direction;
use sphear_sim::bands::{NUM_BANDS, PerBand, default_filterbank_taps, octave_filterbank};
use sphear_sim::room::{ImageSource, omni_rir};

const FS: f64 = 48_000.0;
/// The RIR is accumulated in f64 and rounded to f32 once.
const F32_TOL: f64 = 2e-7;
/// FFT-based band filtering (f64) vs naive time-domain convolution, after f32 rounding.
const FILTER_TOL: f64 = 1e-6;

fn image(delay_samples: f64, gains: PerBand) -> ImageSource {
    let delay_s = delay_samples / FS;
    ImageSource {
        position_m: [delay_s * 343.0, 0.0, 0.0],
        order: 0,
        distance_m: delay_s * 343.0,
        delay_s,
        band_gains: gains,
        direction: Direction::new(0.0, 0.0),
        lattice_index: [0, 0, 0],
    }
}

/// Direct evaluation of the kernel `½(1 + cos(πx/40))·sinc(x)`, `|x| ≤ 40`.
fn kernel(x: f64) -> f64 {
    use std::f64::consts::PI;
    if x.abs() > 40.0 {
        return 0.0;
    }
    let sinc = if x == 0.0 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    };
    0.5 * (1.0 + (PI * x / 40.0).cos()) * sinc
}

#[test]
fn integer_delay_is_a_scaled_impulse() {
    let h = omni_rir(&[image(100.0, [0.25; NUM_BANDS])], FS, 300);
    for (n, &v) in h.iter().enumerate() {
        let want = if n == 100 { 0.25 } else { 0.0 };
        assert_eq!(f64::from(v), want, "n {n}");
    }
}

#[test]
fn fractional_delays_match_direct_kernel_evaluation() {
    let delays = [57.3, 60.0, 123.999, 200.5, 10.25, 1999.7];
    let gains = [0.8, -0.3, 0.5, 1.0, 0.01, 0.4];
    let images: Vec<ImageSource> = delays
        .iter()
        .zip(gains)
        .map(|(&d, g)| image(d, [g; NUM_BANDS]))
        .collect();
    let len = 2_000;
    let h = omni_rir(&images, FS, len);
    for (n, &v) in h.iter().enumerate() {
        let want: f64 = delays
            .iter()
            .zip(gains)
            .map(|(&d, g)| g * kernel(n as f64 - d))
            .sum();
        assert!(
            (f64::from(v) - want).abs() < F32_TOL,
            "n {n}: {v} vs {want}"
        );
    }
}

#[test]
fn band_limited_image_is_filtered_by_its_band() {
    // One image with energy only in band b equals h_b (delay-compensated) convolved with the
    // fractional-delay kernel, computed here by naive convolution.
    let n_taps = default_filterbank_taps(FS);
    let bank = octave_filterbank(FS, n_taps);
    let d = (n_taps - 1) / 2;
    let len = 6_000;
    let t = 3_000.4;
    let k: Vec<f64> = (0..len).map(|n| kernel(n as f64 - t)).collect();
    for b in [0, 3, NUM_BANDS - 1] {
        let mut g = [0.0; NUM_BANDS];
        g[b] = 0.7;
        let h = omni_rir(&[image(t, g)], FS, len);
        for n in (0..len).step_by(7) {
            let mut want = 0.0;
            for (m, &hm) in bank[b].iter().enumerate() {
                // y[n] = Σ_m h[m] k[n + d − m]
                let idx = n as isize + d as isize - m as isize;
                if (0..len as isize).contains(&idx) {
                    want += hm * k[idx as usize];
                }
            }
            want *= 0.7;
            assert!(
                (f64::from(h[n]) - want).abs() < FILTER_TOL,
                "band {b} n {n}: {} vs {want}",
                h[n]
            );
        }
    }
}

#[test]
fn bands_sum_to_broadband() {
    // Linearity + perfect reconstruction: Σ_b rir(gains = g·e_b) = rir(gains = g for all bands),
    // for images near the start and the end of the buffer (edge handling of the zero-phase filters).
    let delays = [15.2, 700.0, 2_390.6, 2_420.0];
    let len = 2_400;
    let broadband: Vec<ImageSource> = delays.iter().map(|&d| image(d, [0.5; NUM_BANDS])).collect();
    let reference = omni_rir(&broadband, FS, len);
    let mut sum = vec![0.0f64; len];
    for b in 0..NUM_BANDS {
        let mut g = [0.0; NUM_BANDS];
        g[b] = 0.5;
        let imgs: Vec<ImageSource> = delays.iter().map(|&d| image(d, g)).collect();
        for (s, v) in sum.iter_mut().zip(omni_rir(&imgs, FS, len)) {
            *s += f64::from(v);
        }
    }
    for n in 0..len {
        assert!(
            (sum[n] - f64::from(reference[n])).abs() < FILTER_TOL,
            "n {n}"
        );
    }
}

#[test]
fn degenerate_inputs() {
    assert!(omni_rir(&[], FS, 10).iter().all(|&v| v == 0.0));
    assert!(
        omni_rir(&[image(5.0, [1.0; NUM_BANDS])], f64::NAN, 10)
            .iter()
            .all(|&v| v == 0.0)
    );
    assert!(omni_rir(&[image(5.0, [1.0; NUM_BANDS])], FS, 0).is_empty());
    let mut bad = image(5.0, [1.0; NUM_BANDS]);
    bad.band_gains[2] = f64::NAN;
    assert!(omni_rir(&[bad], FS, 10).iter().all(|v| v.is_finite()));
    // Beyond the buffer: ignored.
    assert!(
        omni_rir(&[image(1e9, [1.0; NUM_BANDS])], FS, 10)
            .iter()
            .all(|&v| v == 0.0)
    );
}
