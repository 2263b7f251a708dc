//! Octave bands used for wall absorption and decay times, and a perfect-reconstruction linear-phase
//! FIR octave filterbank.
//!
//! ## Band edges
//! Band `b` has centre [`BAND_CENTRES_HZ`]`[b]` (125 Hz · 2^b). The crossover between band `b` and
//! band `b + 1` is at `BAND_CENTRES_HZ[b] · √2` ([`CROSSOVER_HZ`]: 176.8, 353.6, 707.1, 1414,
//! 2828 and 5657 Hz). The lowest band is a **low-pass** (DC … 176.8 Hz, so it also holds
//! everything below 88.4 Hz) and the highest band is a **high-pass** (5657 Hz … Nyquist, so it also
//! holds everything above 11.3 kHz): the bank covers the whole spectrum.
//!
//! ## Design
//! Let `L_e` (e = 0 … 5) be linear-phase windowed-sinc low-passes with cut-off `CROSSOVER_HZ[e]`,
//! Blackman window, `n_taps` taps (odd, group delay `(n_taps − 1)/2` samples) and unit DC gain.
//! The band filters are
//! `h_0 = L_0`, `h_b = L_b − L_{b−1}` (1 ≤ b ≤ 5), `h_6 = δ_D − L_5`, where `δ_D` is the unit impulse
//! delayed by `D = (n_taps − 1)/2`. The sum telescopes to `Σ_b h_b = δ_D` exactly (perfect
//! reconstruction, up to floating-point rounding), whatever the quality of the low-passes.
//! A low-pass whose cut-off is at or above Nyquist is the identity `δ_D` (at low sample rates the
//! top bands are then empty).
//!
//! The Blackman window gives a transition band of about `5.5·fs/n_taps` (full width, to its −74 dB
//! stop-band); [`default_filterbank_taps`] sizes the filters so that it is [`FILTERBANK_TRANSITION_HZ`]
//! (4125 taps at 48 kHz, 86 ms), which keeps the 125 Hz band's centre more than half a transition
//! width from both of its edges (88.4 Hz and 176.8 Hz).
//!
//! # References
//! A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*, 3rd ed., §7.5 (window method,
//! Blackman window transition width). IEC 61260-1:2014 (octave-band centre frequencies and base-2
//! band edges f_c·2^{±1/2}).

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

/// Number of octave bands.
pub const NUM_BANDS: usize = 7;

/// Octave band centre frequencies in Hz: 125, 250, 500, 1k, 2k, 4k, 8k.
pub const BAND_CENTRES_HZ: [f64; NUM_BANDS] = [125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0];

/// A per-band value (absorption coefficient, gain, RT60, …).
pub type PerBand = [f64; NUM_BANDS];

/// Crossover frequencies (Hz) between adjacent bands: `BAND_CENTRES_HZ[e]·√2`, e = 0 … 5
/// (176.8, 353.6, 707.1, 1414.2, 2828.4, 5656.9 Hz).
pub const CROSSOVER_HZ: [f64; NUM_BANDS - 1] = [
    BAND_CENTRES_HZ[0] * std::f64::consts::SQRT_2,
    BAND_CENTRES_HZ[1] * std::f64::consts::SQRT_2,
    BAND_CENTRES_HZ[2] * std::f64::consts::SQRT_2,
    BAND_CENTRES_HZ[3] * std::f64::consts::SQRT_2,
    BAND_CENTRES_HZ[4] * std::f64::consts::SQRT_2,
    BAND_CENTRES_HZ[5] * std::f64::consts::SQRT_2,
];

/// Target full transition width (Hz) of the crossover low-passes used by [`default_filterbank_taps`].
pub const FILTERBANK_TRANSITION_HZ: f64 = 64.0;

/// Full transition width of a Blackman-windowed sinc, in units of `fs / n_taps` (Oppenheim &
/// Schafer, Table 7.2).
pub const BLACKMAN_TRANSITION_WIDTH_FACTOR: f64 = 5.5;

/// Number of taps used by [`band_split`] and the room functions at `sample_rate_hz`: the smallest
/// odd integer `≥ 5.5·fs / 64 Hz` (4125 at 48 kHz, 3791 at 44.1 kHz). Returns 1 for a non-finite
/// or non-positive rate.
pub fn default_filterbank_taps(sample_rate_hz: f64) -> usize {
    if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return 1;
    }
    let n = (BLACKMAN_TRANSITION_WIDTH_FACTOR * sample_rate_hz / FILTERBANK_TRANSITION_HZ).ceil();
    // Cap at a sane size (10 s at 1 MHz would be absurd); the cast is then safe.
    let n = n.min(1.0e7) as usize;
    n | 1
}

/// The `NUM_BANDS − 1` crossover low-passes `L_e` (see the module docs): Blackman-windowed sinc,
/// cut-off [`CROSSOVER_HZ`]`[e]`, unit DC gain (taps sum to 1), linear phase with delay
/// `(n − 1)/2` where `n` is `n_taps` rounded up to the next odd number (0 → 1).
///
/// `h[k] = w[k]·sin(2π f_c (k − D)/fs)/(π (k − D))` normalised to `Σ h = 1`, with
/// `w[k] = 0.42 − 0.5 cos(2πk/(n−1)) + 0.08 cos(4πk/(n−1))`. A cut-off at or above Nyquist (or a
/// non-finite / non-positive `sample_rate_hz`) gives the delayed unit impulse.
///
/// # References
/// A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*, 3rd ed., §7.5.
pub fn crossover_lowpasses(sample_rate_hz: f64, n_taps: usize) -> Vec<Vec<f64>> {
    let n = n_taps.max(1) | 1;
    let d = (n - 1) / 2;
    let valid_fs = sample_rate_hz.is_finite() && sample_rate_hz > 0.0;
    let window: Vec<f64> = if n == 1 {
        vec![1.0]
    } else {
        let m = (n - 1) as f64;
        (0..n)
            .map(|k| {
                let x = 2.0 * std::f64::consts::PI * k as f64 / m;
                0.42 - 0.5 * x.cos() + 0.08 * (2.0 * x).cos()
            })
            .collect()
    };
    CROSSOVER_HZ
        .iter()
        .map(|&fc| {
            let mut h = vec![0.0; n];
            if !valid_fs || fc >= 0.5 * sample_rate_hz {
                h[d] = 1.0;
                return h;
            }
            let wc = 2.0 * std::f64::consts::PI * fc / sample_rate_hz;
            for (k, (hk, &w)) in h.iter_mut().zip(&window).enumerate() {
                let t = k as f64 - d as f64;
                let s = if k == d {
                    wc / std::f64::consts::PI
                } else {
                    (wc * t).sin() / (std::f64::consts::PI * t)
                };
                *hk = w * s;
            }
            let sum: f64 = h.iter().sum();
            if sum.abs() > 0.0 {
                for v in &mut h {
                    *v /= sum;
                }
            }
            h
        })
        .collect()
}

/// `NUM_BANDS` linear-phase FIR octave band filters whose **sum is exactly the unit impulse delayed
/// by `(n_taps − 1)/2`** (perfect reconstruction; see the module docs for the edges and design).
///
/// Band 0 is a low-pass (cut-off 176.8 Hz), bands 1 … 5 are band-passes between consecutive
/// [`CROSSOVER_HZ`], band 6 is a high-pass (above 5657 Hz). `n_taps` is rounded up to the next odd
/// number (0 → 1); all filters have that length and the same delay.
///
/// # References
/// A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*, 3rd ed., §7.5.
pub fn octave_filterbank(sample_rate_hz: f64, n_taps: usize) -> Vec<Vec<f64>> {
    let lp = crossover_lowpasses(sample_rate_hz, n_taps);
    let n = n_taps.max(1) | 1;
    let d = (n - 1) / 2;
    let mut bank = Vec::with_capacity(NUM_BANDS);
    bank.push(lp[0].clone());
    for e in 1..NUM_BANDS - 1 {
        bank.push(lp[e].iter().zip(&lp[e - 1]).map(|(a, b)| a - b).collect());
    }
    let mut top: Vec<f64> = lp[NUM_BANDS - 2].iter().map(|v| -v).collect();
    top[d] += 1.0;
    bank.push(top);
    bank
}

/// Splits `x` into the `NUM_BANDS` octave bands of [`octave_filterbank`] with
/// [`default_filterbank_taps`]`(sample_rate_hz)` taps, **zero-phase**: the filter delay is
/// compensated, every band has `x.len()` samples and `Σ_b band_b[n] = x[n]` (up to `f32` rounding).
///
/// Band `b` is `y_b[n] = Σ_k h_b[k] x[n + D − k]` with `D = (n_taps − 1)/2` and `x` taken as zero
/// outside `0 … len − 1` (computed by FFT convolution in `f64`).
pub fn band_split(x: &[f32], sample_rate_hz: f64) -> Vec<Vec<f32>> {
    band_split_with_taps(x, sample_rate_hz, default_filterbank_taps(sample_rate_hz))
}

/// [`band_split`] with an explicit filter length (rounded up to odd).
pub fn band_split_with_taps(x: &[f32], sample_rate_hz: f64, n_taps: usize) -> Vec<Vec<f32>> {
    let bank = octave_filterbank(sample_rate_hz, n_taps);
    let xs: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    zero_phase_filter(&xs, &bank)
        .into_iter()
        .map(|b| b.into_iter().map(|v| v as f32).collect())
        .collect()
}

/// One band of [`band_split`] (band index `band < NUM_BANDS`, otherwise `None`), in `f64`.
pub(crate) fn band_component(x: &[f64], sample_rate_hz: f64, band: usize) -> Option<Vec<f64>> {
    let bank = octave_filterbank(sample_rate_hz, default_filterbank_taps(sample_rate_hz));
    let h = bank.get(band)?;
    zero_phase_filter(x, std::slice::from_ref(h)).pop()
}

/// Zero-phase (delay-compensated, same-length) filtering of `x` by each odd-length linear-phase
/// filter in `filters` (all the same length), by one forward FFT of `x` and one FFT pair per filter.
pub(crate) fn zero_phase_filter(x: &[f64], filters: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let len = x.len();
    let Some(n_taps) = filters.first().map(Vec::len) else {
        return Vec::new();
    };
    if len == 0 || n_taps == 0 {
        return filters.iter().map(|_| vec![0.0; len]).collect();
    }
    let d = (n_taps - 1) / 2;
    let n_fft = (len + n_taps - 1).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n_fft);
    let inv = planner.plan_fft_inverse(n_fft);
    let mut scratch =
        vec![Complex::new(0.0, 0.0); fwd.get_scratch_len().max(inv.get_scratch_len())];
    let mut buf = vec![0.0; n_fft];
    buf[..len].copy_from_slice(x);
    let mut xs = fwd.make_output_vec();
    // Lengths are consistent by construction: process only fails on mismatched buffer sizes.
    if fwd
        .process_with_scratch(&mut buf, &mut xs, &mut scratch)
        .is_err()
    {
        return filters.iter().map(|_| vec![0.0; len]).collect();
    }
    let mut hs = fwd.make_output_vec();
    let scale = 1.0 / n_fft as f64;
    filters
        .iter()
        .map(|h| {
            buf.fill(0.0);
            buf[..n_taps.min(h.len())].copy_from_slice(&h[..n_taps.min(h.len())]);
            if fwd
                .process_with_scratch(&mut buf, &mut hs, &mut scratch)
                .is_err()
            {
                return vec![0.0; len];
            }
            for (a, b) in hs.iter_mut().zip(&xs) {
                *a *= *b;
            }
            if inv
                .process_with_scratch(&mut hs, &mut buf, &mut scratch)
                .is_err()
            {
                return vec![0.0; len];
            }
            buf[d..d + len].iter().map(|v| v * scale).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossovers_are_geometric_means_of_centres() {
        for e in 0..NUM_BANDS - 1 {
            let g = (BAND_CENTRES_HZ[e] * BAND_CENTRES_HZ[e + 1]).sqrt();
            assert!((CROSSOVER_HZ[e] - g).abs() < 1e-9 * g);
        }
        assert_eq!(default_filterbank_taps(48_000.0), 4125);
        assert_eq!(default_filterbank_taps(f64::NAN), 1);
    }
}
