//! Band-limited sample-rate conversion of signals and impulse responses, and fractional delays.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

use crate::error::{HrtfError, Result};

/// Length of rubato's windowed-sinc interpolation kernel (taps at the lower rate), used for
/// non-integer rates.
///
/// 512 taps with a squared Blackman–Harris window put rubato's automatic cut-off at about
/// 0.95 of the lower Nyquist frequency (≈ 20.9 kHz for 44.1 kHz ↔ 48 kHz), so the pass band is
/// flat to well above 18 kHz while aliasing stays below the window's side lobes.
pub const SINC_LEN: usize = 512;

/// Oversampling factor of rubato's sinc table (cubic interpolation between table points).
pub const SINC_OVERSAMPLING: usize = 256;

/// Input chunk used internally (frames).
const CHUNK_FRAMES: usize = 1024;

/// Chunk (= sub-chunk) length of the FFT resampler, input frames (hint).
const FFT_CHUNK_FRAMES: usize = 2048;

/// Relative tolerance under which two rates are considered equal (no resampling).
pub const RATE_EQUAL_REL_TOL: f64 = 1e-9;

/// A reusable band-limited resampler for many short clips at one fixed ratio.
pub(crate) struct ClipResampler {
    inner: Box<dyn Resampler<f64>>,
    ratio: f64,
    /// Which rubato resampler is used, for notes.
    pub(crate) method: &'static str,
}

impl ClipResampler {
    pub(crate) fn new(from_hz: f64, to_hz: f64) -> Result<Self> {
        check_rate(from_hz, "from_hz")?;
        check_rate(to_hz, "to_hz")?;
        let ratio = to_hz / from_hz;
        let params = SincInterpolationParameters {
            sinc_len: SINC_LEN,
            f_cutoff: None,
            oversampling_factor: SINC_OVERSAMPLING,
            interpolation: SincInterpolationType::Cubic,
            window: WindowFunction::BlackmanHarris2,
        };
        let integer = |r: f64| r.fract() == 0.0 && r <= 1e7;
        let inner: Box<dyn Resampler<f64>> = if integer(from_hz) && integer(to_hz) {
            Box::new(
                Fft::<f64>::new_custom(
                    from_hz as usize,
                    to_hz as usize,
                    FFT_CHUNK_FRAMES,
                    1,
                    1,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(|e| HrtfError::Resample {
                    reason: format!(
                        "cannot build rubato FFT resampler {from_hz} Hz -> {to_hz} Hz: {e}"
                    ),
                })?,
            )
        } else {
            Box::new(
                Async::<f64>::new_sinc(ratio, 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input)
                    .map_err(|e| HrtfError::Resample {
                        reason: format!(
                            "cannot build rubato sinc resampler {from_hz} Hz -> {to_hz} Hz: {e}"
                        ),
                    })?,
            )
        };
        let method = if integer(from_hz) && integer(to_hz) {
            "rubato synchronous FFT resampler, Blackman-Harris² anti-aliasing"
        } else {
            "rubato asynchronous sinc resampler, 512 taps"
        };
        Ok(Self {
            inner,
            ratio,
            method,
        })
    }

    /// Output length for an input of `n` frames: `ceil(n · to/from)`.
    pub(crate) fn output_len(&self, n: usize) -> usize {
        (self.ratio * n as f64).ceil() as usize
    }

    /// Resamples one clip (sample values preserved, startup delay removed).
    pub(crate) fn process(&mut self, x: &[f32]) -> Result<Vec<f64>> {
        if x.is_empty() {
            return Ok(Vec::new());
        }
        let input = vec![x.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>()];
        let adapter =
            SequentialSliceOfVecs::new(&input, 1, x.len()).map_err(|e| HrtfError::Resample {
                reason: format!("input adapter: {e}"),
            })?;
        let out = self
            .inner
            .process_all(&adapter, x.len(), None)
            .map_err(|e| HrtfError::Resample {
                reason: e.to_string(),
            })?;
        let mut y = out.take_data();
        // One channel: interleaved == planar. process_all returns exactly ceil(n·ratio) frames.
        y.resize(self.output_len(x.len()), 0.0);
        Ok(y)
    }
}

fn check_rate(rate_hz: f64, name: &str) -> Result<()> {
    if !(rate_hz.is_finite() && rate_hz > 0.0) {
        return Err(HrtfError::Resample {
            reason: format!("{name} must be a positive finite rate in Hz, found {rate_hz}"),
        });
    }
    Ok(())
}

/// True when two rates are equal within [`RATE_EQUAL_REL_TOL`].
pub(crate) fn rates_equal(a_hz: f64, b_hz: f64) -> bool {
    (a_hz - b_hz).abs() <= RATE_EQUAL_REL_TOL * a_hz.abs().max(b_hz.abs())
}

/// Resamples a *signal* from `from_hz` to `to_hz`, preserving sample amplitudes.
///
/// Band-limited resampling with rubato 5: when both rates are integers (every SOFA file seen so
/// far) the synchronous FFT resampler (`Fft::new_custom`, one 2048-frame sub-chunk,
/// squared Blackman–Harris anti-aliasing filter); otherwise the asynchronous windowed-sinc
/// resampler ([`SINC_LEN`] taps, squared Blackman–Harris, automatic cut-off, cubic interpolation
/// of a table oversampled [`SINC_OVERSAMPLING`]×). The resampler's latency is removed, so output
/// sample `n` is the band-limited input at time `n / to_hz`. Samples before the start and after
/// the end are taken as zero. Output length: `ceil(len · to_hz / from_hz)`. A sine keeps its
/// amplitude. Measured (tests/resampling.rs, 44.1 → 48 kHz): amplitude error < 0.0001 dB at
/// 100 Hz – 16 kHz, timing error < 0.001 samples.
///
/// Returns the input unchanged when the rates are equal.
///
/// # Errors
/// [`HrtfError::Resample`] for non-positive or non-finite rates.
///
/// # References
/// J. O. Smith, "Digital Audio Resampling", <https://ccrma.stanford.edu/~jos/resample/>;
/// rubato 5 (`Fft`, `Async::new_sinc`).
pub fn resample_signal(x: &[f32], from_hz: f64, to_hz: f64) -> Result<Vec<f32>> {
    check_rate(from_hz, "from_hz")?;
    check_rate(to_hz, "to_hz")?;
    if rates_equal(from_hz, to_hz) {
        return Ok(x.to_vec());
    }
    let mut r = ClipResampler::new(from_hz, to_hz)?;
    Ok(r.process(x)?.into_iter().map(|v| v as f32).collect())
}

/// Resamples an *impulse response* from `from_hz` to `to_hz`, preserving its frequency response.
///
/// Same band-limited interpolation as [`resample_signal`], followed by the gain
/// `from_hz / to_hz`: an impulse response `h[n] = T·h_c(nT)` of a continuous-time system `h_c`
/// must be scaled with the sampling interval `T` so that its DTFT `H(e^{i2πf/fs}) = H_c(f)` stays
/// the same at every physical frequency `f` below the cut-off. (Without the factor a 44.1 → 48 kHz
/// conversion would raise the level by 20·log10(48/44.1) = +0.74 dB.) The delay is preserved
/// (the resampler's own latency is removed). Output length `ceil(len · to_hz / from_hz)`.
///
/// Returns the input unchanged when the rates are equal.
///
/// # Errors
/// [`HrtfError::Resample`] for non-positive or non-finite rates.
///
/// # References
/// J. O. Smith, "Digital Audio Resampling", <https://ccrma.stanford.edu/~jos/resample/>.
pub fn resample_ir(ir: &[f32], from_hz: f64, to_hz: f64) -> Result<Vec<f32>> {
    check_rate(from_hz, "from_hz")?;
    check_rate(to_hz, "to_hz")?;
    if rates_equal(from_hz, to_hz) {
        return Ok(ir.to_vec());
    }
    let mut r = ClipResampler::new(from_hz, to_hz)?;
    let g = from_hz / to_hz;
    Ok(r.process(ir)?.into_iter().map(|v| (v * g) as f32).collect())
}

/// Half-length (taps each side) of the windowed-sinc kernel used for fractional delays.
pub const FRACTIONAL_DELAY_HALF_TAPS: usize = 32;

/// Delays `x` by `delay_samples` (≥ 0, may be fractional) into a buffer of `out_len` samples.
///
/// Integer delays prepend zeros exactly. Fractional delays use band-limited interpolation,
/// `y[n] = Σ_k x[k] · sinc(n − d − k) · w(n − d − k)`, with a Blackman window `w` of half-width
/// [`FRACTIONAL_DELAY_HALF_TAPS`]; output samples before time 0 (pre-ringing of the first
/// taps when `d` is small) and after `out_len` are dropped.
pub(crate) fn delay_into(x: &[f32], delay_samples: f64, out_len: usize) -> Vec<f32> {
    let mut y = vec![0.0f32; out_len];
    let d_int = delay_samples.floor();
    let frac = delay_samples - d_int;
    let d_int = d_int as usize;
    if frac == 0.0 {
        for (k, &v) in x.iter().enumerate() {
            if let Some(slot) = y.get_mut(k + d_int) {
                *slot = v;
            }
        }
        return y;
    }
    let half = FRACTIONAL_DELAY_HALF_TAPS as f64;
    for (n, slot) in y.iter_mut().enumerate() {
        // Input index k contributes when |n − d − k| ≤ half.
        let centre = n as f64 - delay_samples;
        let k_lo = (centre - half).ceil().max(0.0) as usize;
        let k_hi_f = (centre + half).floor();
        if k_hi_f < 0.0 {
            continue;
        }
        let k_hi = (k_hi_f as usize).min(x.len().saturating_sub(1));
        let mut acc = 0.0f64;
        for (k, &xk) in x.iter().enumerate().take(k_hi + 1).skip(k_lo) {
            let t = centre - k as f64;
            acc += f64::from(xk) * windowed_sinc(t, half);
        }
        *slot = acc as f32;
    }
    y
}

fn windowed_sinc(t: f64, half: f64) -> f64 {
    use std::f64::consts::PI;
    if t.abs() > half {
        return 0.0;
    }
    let sinc = if t == 0.0 {
        1.0
    } else {
        (PI * t).sin() / (PI * t)
    };
    // Blackman window centred on 0 with support [−half, half].
    let u = (t + half) / (2.0 * half);
    let w = 0.42 - 0.5 * (2.0 * PI * u).cos() + 0.08 * (4.0 * PI * u).cos();
    sinc * w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_delay_is_exact_shift() {
        let x: Vec<f32> = (0..10).map(|i| i as f32 + 1.0).collect();
        let y = delay_into(&x, 3.0, 14);
        assert_eq!(&y[..3], &[0.0, 0.0, 0.0]);
        assert_eq!(&y[3..13], &x[..]);
        assert_eq!(y[13], 0.0);
    }

    /// A band-limited pulse (sampled sinc at 0.3·fs) delayed by 2.5 samples must equal the same
    /// continuous pulse sampled 2.5 samples later (analytic reference).
    #[test]
    fn fractional_delay_matches_analytic_band_limited_pulse() {
        const TOL: f64 = 2e-3;
        let bw = 0.3; // cycles/sample
        let t0 = 40.0;
        let pulse = |t: f64| {
            let a = std::f64::consts::PI * 2.0 * bw * (t - t0);
            let s = if a == 0.0 { 1.0 } else { a.sin() / a };
            // Gaussian taper keeps it short; its spectrum stays well below Nyquist.
            s * (-((t - t0) / 12.0).powi(2)).exp()
        };
        let x: Vec<f32> = (0..100).map(|n| pulse(n as f64) as f32).collect();
        let d = 2.5;
        let y = delay_into(&x, d, 110);
        for (n, &v) in y.iter().enumerate().take(95).skip(5) {
            let r = pulse(n as f64 - d);
            assert!((f64::from(v) - r).abs() < TOL, "n={n}: {v} vs {r}");
        }
    }

    #[test]
    fn equal_rates_return_input() {
        let x = vec![1.0f32, 2.0, 3.0];
        assert_eq!(resample_ir(&x, 48000.0, 48000.0).expect("same rate"), x);
        assert!(resample_ir(&x, 0.0, 48000.0).is_err());
        assert!(resample_signal(&x, 48000.0, f64::NAN).is_err());
    }
}
