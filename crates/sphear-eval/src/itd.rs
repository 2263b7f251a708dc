//! Interaural time difference estimators.
//!
//! * [`gcc_phat_itd_s`]: generalised cross-correlation with phase transform (Knapp & Carter 1976),
//!   restricted to a frequency band (default 100–1500 Hz, where ITD is the dominant cue), peak
//!   searched within ±`max_lag_s` with parabolic sub-sample interpolation.
//! * [`onset_itd_s`]: difference of the onsets (first crossing of a threshold relative to the
//!   peak, default −10 dB, after 3 kHz low-pass as in AMT `itdestimator` 'Threshold' mode) of two
//!   impulse responses. This is the high-frequency / onset ITD that Woodworth's formula models.
//! * [`maxiacce_itd_s`]: AMT `itdestimator` mode *MaxIACCe*, the ITD used by the LAP challenge:
//!   both channels low-passed (Butterworth, default order 10 at 3 kHz, causal), Hilbert envelopes
//!   `|x + i·H{x}|`, and the lag of the maximum of their cross-correlation; here refined to
//!   sub-sample precision by a parabola through the peak (AMT reports whole samples). Works on
//!   impulse responses (all lags searched) and on running signals (lags limited, e.g. ±1 ms).
//! * [`gcc_phat_itd_per_band_s`]: the same per band (data for ITD error vs frequency band).
//! * [`itd_error_us`]: `|ITD_test − ITD_ref|` in microseconds.
//!
//! ITD = t_right − t_left (positive: left ear leads).
//!
//! # References
//! * C. Knapp, G. Carter, "The generalized correlation method for estimation of time delay",
//!   IEEE Trans. ASSP 24(4), 1976.
//! * A. Andreopoulou, B. Katz, "Identification of perceptually relevant methods of inter-aural
//!   time difference estimation", JASA 142(2), 2017 (threshold method, MaxIACCe).
//! * P. Majdak et al., AMT 1.x `itdestimator.m` (MaxIACCe mode); Listener Acoustic
//!   Personalisation (LAP) challenge 2024, task 2 evaluation (ITD error in µs, MaxIACCe).

use num_complex::Complex64;
use realfft::RealFftPlanner;

use crate::dsp::{check_band, check_pair, check_rate, parabolic_offset, to_f64, xcorr};
use crate::{EvalError, Result};

fn check_lr(l: &[f32], r: &[f32]) -> Result<()> {
    check_pair(l, r, "left", "right")
}

/// GCC-PHAT ITD in seconds (t_right − t_left) in the band `[f_lo_hz, f_hi_hz]`, searching lags
/// within ±`max_lag_s`.
///
/// The cross-power spectrum `G[k] = L*[k]·R[k]` of the zero-padded DFTs (length ≥ 2·len) is
/// whitened (`G/|G|`) and kept only for bins inside the band; its inverse DFT is searched for the
/// maximum and refined by a parabola through the peak.
///
/// # Errors
/// Mismatched/empty/non-finite signals, a band above Nyquist or with `f_lo ≥ f_hi`, a
/// non-positive `max_lag_s`, or no energy in the band.
pub fn gcc_phat_itd_s(
    l: &[f32],
    r: &[f32],
    fs_hz: f64,
    f_lo_hz: f64,
    f_hi_hz: f64,
    max_lag_s: f64,
) -> Result<f64> {
    check_lr(l, r)?;
    check_band(f_lo_hz, f_hi_hz, fs_hz)?;
    if !(max_lag_s.is_finite() && max_lag_s > 0.0) {
        return Err(EvalError::InvalidArgument(format!(
            "max_lag_s must be positive, got {max_lag_s}"
        )));
    }
    let n = (2 * l.len()).next_power_of_two().max(64);
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spec = |x: &[f32]| -> Vec<Complex64> {
        let mut buf = vec![0.0f64; n];
        for (b, &v) in buf.iter_mut().zip(x) {
            *b = v as f64;
        }
        let mut out = fwd.make_output_vec();
        let _ = fwd.process(&mut buf, &mut out);
        out
    };
    let sl = spec(l);
    let sr = spec(r);
    let mut cross = vec![Complex64::new(0.0, 0.0); sl.len()];
    let mut energy = 0.0;
    for (k, c) in cross.iter_mut().enumerate() {
        let f = k as f64 * fs_hz / n as f64;
        if f < f_lo_hz || f > f_hi_hz {
            continue;
        }
        let g = sl[k].conj() * sr[k];
        let m = g.norm();
        if m > 1e-300 {
            *c = g / m;
            energy += sl[k].norm_sqr() + sr[k].norm_sqr();
        }
    }
    if energy <= 0.0 {
        return Err(EvalError::Undefined(format!(
            "no signal energy between {f_lo_hz} and {f_hi_hz} Hz"
        )));
    }
    cross[0].im = 0.0;
    let last = cross.len() - 1;
    cross[last].im = 0.0;
    let mut cc = inv.make_output_vec();
    let _ = inv.process(&mut cross, &mut cc);
    let max_lag = ((max_lag_s * fs_hz).ceil() as usize).min(n / 2 - 1);
    let at = |lag: i64| -> f64 { cc[lag.rem_euclid(n as i64) as usize] };
    let mut best = 0i64;
    let mut best_v = f64::NEG_INFINITY;
    for lag in -(max_lag as i64)..=(max_lag as i64) {
        let v = at(lag);
        if v > best_v {
            best_v = v;
            best = lag;
        }
    }
    let frac = parabolic_offset(at(best - 1), at(best), at(best + 1));
    Ok((best as f64 + frac) / fs_hz)
}

/// GCC-PHAT ITD per frequency band (e.g. third octaves 125–1250 Hz from
/// [`crate::bands::third_octave_bands`]): [`gcc_phat_itd_s`] restricted to each band in turn,
/// seconds. Meant for the low bands where the interaural phase is unambiguous; above ~1.5 kHz
/// the narrow-band correlation has several peaks within ±`max_lag_s` and the estimate may jump
/// by a period.
///
/// # Errors
/// As [`gcc_phat_itd_s`], for any band.
pub fn gcc_phat_itd_per_band_s(
    l: &[f32],
    r: &[f32],
    fs_hz: f64,
    bands: &[crate::bands::Band],
    max_lag_s: f64,
) -> Result<Vec<f64>> {
    bands
        .iter()
        .map(|b| gcc_phat_itd_s(l, r, fs_hz, b.lo_hz, b.hi_hz, max_lag_s))
        .collect()
}

/// Onset (threshold) ITD of a pair of impulse responses: t_right − t_left in seconds.
///
/// Each IR is low-passed at `lowpass_hz` (ideal FFT low-pass, 0 = none), upsampled ×`upsample`
/// by FFT interpolation, and its onset is the first sample whose magnitude reaches
/// `threshold_db` (e.g. −10) relative to that IR's peak.
///
/// # Errors
/// Mismatched/empty or all-zero IRs.
pub fn onset_itd_s(
    l: &[f32],
    r: &[f32],
    fs_hz: f64,
    threshold_db: f64,
    lowpass_hz: f64,
    upsample: usize,
) -> Result<f64> {
    check_lr(l, r)?;
    let tl = onset_s(l, fs_hz, threshold_db, lowpass_hz, upsample)?;
    let tr = onset_s(r, fs_hz, threshold_db, lowpass_hz, upsample)?;
    Ok(tr - tl)
}

/// Onset time in seconds of one impulse response (see [`onset_itd_s`]).
///
/// The low-pass (when `lowpass_hz > 0`) is a causal 4th-order Butterworth (two biquads, bilinear
/// transform), as in AMT's `itdestimator` threshold mode: a zero-phase brick-wall filter would
/// pre-ring and move the −10 dB onset earlier.
///
/// # Errors
/// Empty or all-zero IR.
pub fn onset_s(
    x: &[f32],
    fs_hz: f64,
    threshold_db: f64,
    lowpass_hz: f64,
    upsample: usize,
) -> Result<f64> {
    if x.is_empty() {
        return Err(EvalError::InvalidSignal("empty impulse response".into()));
    }
    let filtered: Vec<f64> = if lowpass_hz > 0.0 && lowpass_hz < fs_hz / 2.0 {
        butterworth4_lowpass(x, fs_hz, lowpass_hz)
    } else {
        x.iter().map(|&v| v as f64).collect()
    };
    let up = upsample.max(1);
    let n = x.len().next_power_of_two() * 2;
    let m = n * up;
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(m);
    let mut buf = vec![0.0f64; n];
    buf[..filtered.len()].copy_from_slice(&filtered);
    let mut spec = fwd.make_output_vec();
    let _ = fwd.process(&mut buf, &mut spec);
    // Band-limited (FFT) interpolation by `up`: zero-pad the spectrum.
    let mut big = inv.make_input_vec();
    big[..spec.len()].copy_from_slice(&spec);
    if up > 1 {
        big[n / 2] = big[n / 2].scale(0.5);
    }
    big[0].im = 0.0;
    let last = big.len() - 1;
    big[last].im = 0.0;
    let mut y = inv.make_output_vec();
    let _ = inv.process(&mut big, &mut y);
    let y = &y[..x.len() * up];
    let peak = y.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if peak <= 0.0 {
        return Err(EvalError::Undefined("impulse response is all zeros".into()));
    }
    let thr = peak * 10f64.powf(threshold_db / 20.0);
    let idx = y.iter().position(|v| v.abs() >= thr).unwrap_or(0);
    Ok(idx as f64 / (fs_hz * up as f64))
}

/// Causal 4th-order Butterworth low-pass (two cascaded biquads designed by the bilinear transform
/// with pre-warping; Q = 0.5412 and 1.3066). Same as [`butterworth_lowpass`] with order 4.
pub fn butterworth4_lowpass(x: &[f32], fs_hz: f64, fc_hz: f64) -> Vec<f64> {
    butterworth_sections(&to_f64(x), fs_hz, fc_hz, 4)
}

/// Causal Butterworth low-pass of order `order` (1–20) at `fc_hz`, by the bilinear transform with
/// pre-warping `K = tan(π f_c/f_s)`: biquads with `Q_k = 1/(2·sin(π(2k−1)/(2·order)))`,
/// `k = 1 … ⌊order/2⌋`, plus a first-order section for odd orders (as `scipy.signal.butter(…,
/// output="sos")` + `sosfilt`, and MATLAB `butter` + `filter`).
///
/// # Errors
/// Non-finite input, `fc_hz` not in `(0, fs/2)`, order outside 1–20.
pub fn butterworth_lowpass(x: &[f32], fs_hz: f64, fc_hz: f64, order: usize) -> Result<Vec<f64>> {
    if x.iter().any(|v| !v.is_finite()) {
        return Err(EvalError::NonFinite {
            what: "signal".into(),
        });
    }
    check_lowpass(fs_hz, fc_hz, order)?;
    Ok(butterworth_sections(&to_f64(x), fs_hz, fc_hz, order))
}

fn check_lowpass(fs_hz: f64, fc_hz: f64, order: usize) -> Result<()> {
    check_rate(fs_hz)?;
    if !(fc_hz.is_finite() && fc_hz > 0.0) {
        return Err(EvalError::InvalidArgument(format!(
            "low-pass cut-off must be positive, got {fc_hz} Hz"
        )));
    }
    if fc_hz >= fs_hz / 2.0 {
        return Err(EvalError::BandAboveNyquist {
            band_hz: fc_hz,
            nyquist_hz: fs_hz / 2.0,
        });
    }
    if !(1..=20).contains(&order) {
        return Err(EvalError::InvalidArgument(format!(
            "Butterworth order must be 1..=20, got {order}"
        )));
    }
    Ok(())
}

fn butterworth_sections(x: &[f64], fs_hz: f64, fc_hz: f64, order: usize) -> Vec<f64> {
    let k = (std::f64::consts::PI * fc_hz / fs_hz).tan();
    let mut y = x.to_vec();
    for j in 1..=order / 2 {
        let q =
            1.0 / (2.0 * (std::f64::consts::PI * (2 * j - 1) as f64 / (2 * order) as f64).sin());
        let norm = 1.0 / (1.0 + k / q + k * k);
        let b0 = k * k * norm;
        let b1 = 2.0 * b0;
        let b2 = b0;
        let a1 = 2.0 * (k * k - 1.0) * norm;
        let a2 = (1.0 - k / q + k * k) * norm;
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in y.iter_mut() {
            let x0 = *v;
            let out = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1;
            x1 = x0;
            y2 = y1;
            y1 = out;
            *v = out;
        }
    }
    if order % 2 == 1 {
        // H(s) = 1/(s + 1) → b0 = b1 = K/(1+K), a1 = (K−1)/(K+1).
        let b = k / (1.0 + k);
        let a1 = (k - 1.0) / (k + 1.0);
        let (mut x1, mut y1) = (0.0, 0.0);
        for v in y.iter_mut() {
            let x0 = *v;
            let out = b * x0 + b * x1 - a1 * y1;
            x1 = x0;
            y1 = out;
            *v = out;
        }
    }
    y
}

/// Hilbert envelope `|x[n] + i·H{x}[n]|` of `x`, computed on a zero-padded DFT of length
/// `n = next_pow2(2·len)` (analytic signal: DC and Nyquist bins kept, positive bins doubled,
/// negative bins zeroed — `scipy.signal.hilbert(x, n)`), truncated to `len` samples.
pub fn hilbert_envelope(x: &[f64]) -> Vec<f64> {
    if x.is_empty() {
        return Vec::new();
    }
    let n = (2 * x.len()).next_power_of_two().max(2);
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut buf = vec![0.0f64; n];
    buf[..x.len()].copy_from_slice(x);
    let mut spec = fwd.make_output_vec();
    let _ = fwd.process(&mut buf, &mut spec);
    // Hilbert transform: multiply positive-frequency bins by −i, zero DC and Nyquist.
    let last = spec.len() - 1;
    for (k, c) in spec.iter_mut().enumerate() {
        *c = if k == 0 || k == last {
            Complex64::new(0.0, 0.0)
        } else {
            Complex64::new(c.im, -c.re)
        };
    }
    let mut h = inv.make_output_vec();
    let _ = inv.process(&mut spec, &mut h);
    let scale = 1.0 / n as f64;
    x.iter()
        .zip(&h)
        .map(|(&a, &b)| (a * a + (b * scale) * (b * scale)).sqrt())
        .collect()
}

/// Parameters of [`maxiacce_itd_s`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxIacceConfig {
    /// Low-pass cut-off in Hz (`None` = broadband, AMT flag `bb`). Default `Some(3000.0)`.
    pub lowpass_hz: Option<f64>,
    /// Butterworth order of the low-pass (AMT `butterpoly`), default 10.
    pub order: usize,
    /// Largest |lag| searched, seconds; `None` = all lags (AMT, for impulse responses). Use
    /// `Some(1e-3)` for running signals.
    pub max_lag_s: Option<f64>,
}

impl Default for MaxIacceConfig {
    fn default() -> Self {
        Self {
            lowpass_hz: Some(3000.0),
            order: 10,
            max_lag_s: None,
        }
    }
}

/// Result of [`maxiacce_itd_s`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxIacce {
    /// ITD `t_right − t_left`, seconds (sub-sample, parabolic refinement).
    pub itd_s: f64,
    /// Peak of the envelope cross-correlation normalised by `sqrt(Σe_L² · Σe_R²)`, in `[0, 1]`.
    pub envelope_correlation: f64,
}

/// MaxIACCe ITD (AMT `itdestimator`, LAP challenge) of a binaural impulse response or signal:
/// `e_X = |hilbert(lowpass(x_X))|`, `c[τ] = Σ_n e_L[n]·e_R[n+τ]`, `τ* = argmax_{|τ| ≤ max_lag} c`,
/// refined by a parabola through `c[τ*−1…τ*+1]`; `ITD = τ*/fs` (= `t_right − t_left`, the
/// negative of AMT's `toa_diff`, which is left minus right).
///
/// # Errors
/// Mismatched/empty/non-finite signals, an invalid low-pass or lag, silent (after low-pass) input.
pub fn maxiacce_itd_s(l: &[f32], r: &[f32], fs_hz: f64, cfg: &MaxIacceConfig) -> Result<MaxIacce> {
    check_lr(l, r)?;
    check_rate(fs_hz)?;
    let filt = |x: &[f32]| -> Result<Vec<f64>> {
        match cfg.lowpass_hz {
            Some(fc) => {
                check_lowpass(fs_hz, fc, cfg.order)?;
                Ok(butterworth_sections(&to_f64(x), fs_hz, fc, cfg.order))
            }
            None => Ok(to_f64(x)),
        }
    };
    let el = hilbert_envelope(&filt(l)?);
    let er = hilbert_envelope(&filt(r)?);
    let (pl, pr) = (
        el.iter().map(|v| v * v).sum::<f64>(),
        er.iter().map(|v| v * v).sum::<f64>(),
    );
    if pl <= 0.0 || pr <= 0.0 {
        return Err(EvalError::Silent {
            what: if pl <= 0.0 { "left" } else { "right" }.into(),
        });
    }
    let c = xcorr(&el, &er);
    let len = el.len() as i64;
    let max_lag = match cfg.max_lag_s {
        Some(m) if m.is_finite() && m > 0.0 => ((m * fs_hz).ceil() as i64).min(len - 1),
        Some(m) => {
            return Err(EvalError::InvalidArgument(format!(
                "max_lag_s must be positive, got {m}"
            )));
        }
        None => len - 1,
    };
    let at = |tau: i64| c[(tau + len - 1) as usize];
    let mut best = 0i64;
    let mut best_v = f64::NEG_INFINITY;
    for tau in -max_lag..=max_lag {
        let v = at(tau);
        if v > best_v {
            best_v = v;
            best = tau;
        }
    }
    let frac = if best > -(len - 1) && best < len - 1 {
        parabolic_offset(at(best - 1), best_v, at(best + 1))
    } else {
        0.0
    };
    Ok(MaxIacce {
        itd_s: (best as f64 + frac) / fs_hz,
        envelope_correlation: best_v / (pl * pr).sqrt(),
    })
}

/// ITD error `|itd_test_s − itd_reference_s|` in microseconds.
pub fn itd_error_us(itd_test_s: f64, itd_reference_s: f64) -> f64 {
    (itd_test_s - itd_reference_s).abs() * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    #[test]
    fn gcc_phat_exact_integer_delays() {
        let fs = 48000.0;
        let x = noise(9600, 1);
        for d in [-40i64, -13, -1, 0, 1, 7, 30] {
            // right = left delayed by d samples -> ITD = d/fs
            let n = x.len();
            let l: Vec<f32> = x.clone();
            let r: Vec<f32> = (0..n)
                .map(|i| {
                    let j = i as i64 - d;
                    if j >= 0 && (j as usize) < n {
                        x[j as usize]
                    } else {
                        0.0
                    }
                })
                .collect();
            let itd = gcc_phat_itd_s(&l, &r, fs, 100.0, 1500.0, 1e-3).expect("itd");
            assert!((itd * fs - d as f64).abs() < 0.05, "d={d} got {}", itd * fs);
        }
    }

    #[test]
    fn onset_itd_of_delayed_impulses() {
        let fs = 48000.0;
        let mut l = vec![0.0f32; 256];
        let mut r = vec![0.0f32; 256];
        l[40] = 1.0;
        r[52] = 0.5;
        let itd = onset_itd_s(&l, &r, fs, -10.0, 0.0, 8).expect("itd");
        assert!((itd * fs - 12.0).abs() < 0.2, "{}", itd * fs);
    }

    #[test]
    fn butterworth_has_minus_3db_at_cutoff_and_unity_dc() {
        let fs = 48000.0;
        let mut imp = vec![0.0f32; 8192];
        imp[0] = 1.0;
        let h = butterworth4_lowpass(&imp, fs, 3000.0);
        let resp = |f: f64| {
            let (mut re, mut im) = (0.0, 0.0);
            for (t, v) in h.iter().enumerate() {
                let ph = -2.0 * std::f64::consts::PI * f * t as f64 / fs;
                re += v * ph.cos();
                im += v * ph.sin();
            }
            20.0 * (re * re + im * im).sqrt().log10()
        };
        assert!(resp(0.0).abs() < 1e-6);
        assert!((resp(3000.0) + 3.0103).abs() < 0.01, "{}", resp(3000.0));
        assert!((resp(6000.0) + 24.0).abs() < 1.5, "{}", resp(6000.0)); // 4th order: ~24 dB/oct
    }

    #[test]
    fn lowpassed_onset_of_a_delayed_impulse_is_causal() {
        // A causal low-pass can only delay the onset, never advance it.
        let fs = 48000.0;
        let mut x = vec![0.0f32; 512];
        x[100] = 1.0;
        let t = onset_s(&x, fs, -10.0, 3000.0, 8).expect("onset");
        assert!(t * fs >= 100.0 && t * fs < 104.0, "{}", t * fs);
    }

    #[test]
    fn errors_not_nan() {
        assert!(gcc_phat_itd_s(&[], &[], 48000.0, 100.0, 1500.0, 1e-3).is_err());
        let z = vec![0.0f32; 100];
        assert!(gcc_phat_itd_s(&z, &z, 48000.0, 100.0, 1500.0, 1e-3).is_err());
        assert!(onset_s(&z, 48000.0, -10.0, 0.0, 1).is_err());
    }
}
