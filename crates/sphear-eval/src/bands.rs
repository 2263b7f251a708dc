//! Frequency bands (third-octave and ERB) and the band-wise ILD and LSD derived from them.
//!
//! Bands:
//! * third octaves (base 2): centre `f_c = 1000·2^{k/3}` Hz, edges `f_c·2^{±1/6}`
//!   ([`third_octave_bands`]);
//! * ERB bands (Glasberg & Moore 1990): ERB-number `E(f) = 21.4·log10(1 + 0.00437·f)`; centres
//!   one ERB apart from `E(f_lo)` up to `E(f_hi)`, edges at `E ± ½` ([`erb_bands`]).
//!
//! A band's energy is the sum of `|X[k]|²` of the signal's zero-padded DFT (length the next
//! power of two ≥ the signal) over the bins inside its edges (rectangular bands — no
//! filter-bank leakage).
//!
//! * ILD per band: `10·log10(E_L/E_R)` dB; ILD error = mean over bands of |ΔILD| (reference vs
//!   test), or per band ([`ild_errors_per_band_db`]).
//! * LSD (band-energy log-spectral distance): per ear, `sqrt(mean_b (10·log10(E_test/E_ref))²)`
//!   dB, RMS over bands.
//!
//! # References
//! * ANSI S1.11 / IEC 61260 (third-octave band centres, base-2).
//! * B. R. Glasberg, B. C. J. Moore, "Derivation of auditory filter shapes from notched-noise
//!   data", Hearing Research 47, 1990 (ERB scale).
//! * Deppisch et al., I3DA 2021 and Berebi et al. 2025 (band ILD / LSD as rendering metrics).

use realfft::RealFftPlanner;

use crate::dsp::{check_band, check_pair, check_signal};
use crate::{EvalError, Result};

/// Third-octave band centres (Hz) whose centre lies in `[f_lo_hz, f_hi_hz]`.
pub fn third_octave_centres_hz(f_lo_hz: f64, f_hi_hz: f64) -> Vec<f64> {
    (-30..=15)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .filter(|&f| f >= f_lo_hz * 0.999 && f <= f_hi_hz * 1.001)
        .collect()
}

/// A frequency band `[lo_hz, hi_hz]` with its nominal centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Lower edge, Hz.
    pub lo_hz: f64,
    /// Nominal centre, Hz.
    pub centre_hz: f64,
    /// Upper edge, Hz.
    pub hi_hz: f64,
}

/// Third-octave bands whose centre lies in `[f_lo_hz, f_hi_hz]` (see the module docs).
pub fn third_octave_bands(f_lo_hz: f64, f_hi_hz: f64) -> Vec<Band> {
    third_octave_centres_hz(f_lo_hz, f_hi_hz)
        .into_iter()
        .map(third_octave_band)
        .collect()
}

fn third_octave_band(fc: f64) -> Band {
    Band {
        lo_hz: fc * 2f64.powf(-1.0 / 6.0),
        centre_hz: fc,
        hi_hz: fc * 2f64.powf(1.0 / 6.0),
    }
}

/// ERB-number (Cams) of a frequency: `21.4·log10(1 + 0.00437·f)` (Glasberg & Moore 1990).
pub fn erb_number(f_hz: f64) -> f64 {
    21.4 * (1.0 + 0.00437 * f_hz).log10()
}

/// Inverse of [`erb_number`]: `(10^{E/21.4} − 1)/0.00437` Hz.
pub fn erb_number_to_hz(e: f64) -> f64 {
    (10f64.powf(e / 21.4) - 1.0) / 0.00437
}

/// ERB bands one ERB wide: centres `E_j = E(f_lo) + j` for `j = 0, 1, …` while
/// `E_j ≤ E(f_hi)`, edges `E_j ± ½` (converted back to Hz). Default use: 1–8 kHz (21 bands).
pub fn erb_bands(f_lo_hz: f64, f_hi_hz: f64) -> Vec<Band> {
    let (e0, e1) = (erb_number(f_lo_hz), erb_number(f_hi_hz));
    (0..)
        .map(|j| e0 + j as f64)
        .take_while(|&e| e <= e1 + 1e-9)
        .map(|e| Band {
            lo_hz: erb_number_to_hz(e - 0.5),
            centre_hz: erb_number_to_hz(e),
            hi_hz: erb_number_to_hz(e + 0.5),
        })
        .collect()
}

/// Energies of `x` in the third-octave bands with the given centres.
///
/// # Errors
/// Empty or non-finite signal, a band above Nyquist.
pub fn band_energies(x: &[f32], fs_hz: f64, centres_hz: &[f64]) -> Result<Vec<f64>> {
    let bands: Vec<Band> = centres_hz.iter().map(|&c| third_octave_band(c)).collect();
    band_energies_in(x, fs_hz, &bands)
}

/// Energies `Σ_{k: lo ≤ k·fs/n ≤ hi} |X[k]|²` of `x` in arbitrary bands (see the module docs).
///
/// # Errors
/// Empty or non-finite signal, a band whose upper edge is above Nyquist
/// ([`EvalError::BandAboveNyquist`]), an invalid band.
pub fn band_energies_in(x: &[f32], fs_hz: f64, bands: &[Band]) -> Result<Vec<f64>> {
    check_signal(x, "signal")?;
    for b in bands {
        check_band(b.lo_hz, b.hi_hz, fs_hz)?;
    }
    let n = x.len().next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let mut buf = vec![0.0f64; n];
    for (b, &v) in buf.iter_mut().zip(x) {
        *b = v as f64;
    }
    let mut spec = fwd.make_output_vec();
    let _ = fwd.process(&mut buf, &mut spec);
    let df = fs_hz / n as f64;
    Ok(bands
        .iter()
        .map(|b| {
            let k0 = (b.lo_hz / df).ceil() as usize;
            let k1 = ((b.hi_hz / df).floor() as usize).min(spec.len() - 1);
            (k0..=k1).map(|k| spec[k].norm_sqr()).sum::<f64>()
        })
        .collect())
}

fn nonempty_centres(f_lo_hz: f64, f_hi_hz: f64) -> Result<Vec<f64>> {
    let c = third_octave_centres_hz(f_lo_hz, f_hi_hz);
    if c.is_empty() {
        return Err(EvalError::InvalidArgument(format!(
            "no third-octave band between {f_lo_hz} and {f_hi_hz} Hz"
        )));
    }
    Ok(c)
}

fn db_ratio(a: f64, b: f64, what: &str) -> Result<f64> {
    if a <= 0.0 || b <= 0.0 {
        return Err(EvalError::Undefined(format!(
            "{what}: a band has zero energy"
        )));
    }
    Ok(10.0 * (a / b).log10())
}

/// ILD per band in dB (`10·log10(E_L/E_R)`).
///
/// # Errors
/// A band with zero energy.
pub fn ild_per_band_db(l: &[f32], r: &[f32], fs_hz: f64, centres_hz: &[f64]) -> Result<Vec<f64>> {
    let el = band_energies(l, fs_hz, centres_hz)?;
    let er = band_energies(r, fs_hz, centres_hz)?;
    el.iter()
        .zip(&er)
        .map(|(&a, &b)| db_ratio(a, b, "ILD"))
        .collect()
}

/// Mean |ΔILD| in dB between a test and a reference binaural signal over third-octave bands in
/// `[f_lo_hz, f_hi_hz]` (default use: 1–8 kHz).
///
/// # Errors
/// See [`ild_per_band_db`].
pub fn ild_error_db(
    test: [&[f32]; 2],
    reference: [&[f32]; 2],
    fs_hz: f64,
    f_lo_hz: f64,
    f_hi_hz: f64,
) -> Result<f64> {
    let c = nonempty_centres(f_lo_hz, f_hi_hz)?;
    let a = ild_per_band_db(test[0], test[1], fs_hz, &c)?;
    let b = ild_per_band_db(reference[0], reference[1], fs_hz, &c)?;
    Ok(a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / c.len() as f64)
}

/// ILD per band in dB (`10·log10(E_L/E_R)`) for arbitrary bands (e.g. [`erb_bands`]).
///
/// # Errors
/// Mismatched/empty/non-finite signals, a band above Nyquist, a band with zero energy.
pub fn ild_per_bands_db(l: &[f32], r: &[f32], fs_hz: f64, bands: &[Band]) -> Result<Vec<f64>> {
    check_pair(l, r, "left", "right")?;
    let el = band_energies_in(l, fs_hz, bands)?;
    let er = band_energies_in(r, fs_hz, bands)?;
    el.iter()
        .zip(&er)
        .map(|(&a, &b)| db_ratio(a, b, "ILD"))
        .collect()
}

/// ILD per ERB band (see [`erb_bands`]) in `[f_lo_hz, f_hi_hz]` (default use: 1–8 kHz), dB.
///
/// # Errors
/// See [`ild_per_bands_db`].
pub fn ild_per_erb_band_db(
    l: &[f32],
    r: &[f32],
    fs_hz: f64,
    f_lo_hz: f64,
    f_hi_hz: f64,
) -> Result<Vec<f64>> {
    ild_per_bands_db(l, r, fs_hz, &erb_bands(f_lo_hz, f_hi_hz))
}

/// Per-band ILD error `|ILD_test,b − ILD_ref,b|` in dB for arbitrary bands (the data of an
/// "ILD error vs frequency band" plot). Its mean over third-octave bands is [`ild_error_db`].
///
/// # Errors
/// See [`ild_per_bands_db`].
pub fn ild_errors_per_band_db(
    test: [&[f32]; 2],
    reference: [&[f32]; 2],
    fs_hz: f64,
    bands: &[Band],
) -> Result<Vec<f64>> {
    let a = ild_per_bands_db(test[0], test[1], fs_hz, bands)?;
    let b = ild_per_bands_db(reference[0], reference[1], fs_hz, bands)?;
    Ok(a.iter().zip(&b).map(|(x, y)| (x - y).abs()).collect())
}

/// Mean |ΔILD| in dB over ERB bands in `[f_lo_hz, f_hi_hz]` (default use: 1–8 kHz).
///
/// # Errors
/// See [`ild_per_bands_db`]; no band in the range.
pub fn ild_erb_error_db(
    test: [&[f32]; 2],
    reference: [&[f32]; 2],
    fs_hz: f64,
    f_lo_hz: f64,
    f_hi_hz: f64,
) -> Result<f64> {
    let bands = erb_bands(f_lo_hz, f_hi_hz);
    if bands.is_empty() {
        return Err(EvalError::InvalidArgument(format!(
            "no ERB band between {f_lo_hz} and {f_hi_hz} Hz"
        )));
    }
    let e = ild_errors_per_band_db(test, reference, fs_hz, &bands)?;
    Ok(e.iter().sum::<f64>() / e.len() as f64)
}

/// Band-energy LSD in dB of one ear: RMS over third-octave bands in `[f_lo_hz, f_hi_hz]` of
/// `10·log10(E_test/E_ref)`.
///
/// # Errors
/// A band with zero energy.
pub fn lsd_bands_db(
    test: &[f32],
    reference: &[f32],
    fs_hz: f64,
    f_lo_hz: f64,
    f_hi_hz: f64,
) -> Result<f64> {
    let c = nonempty_centres(f_lo_hz, f_hi_hz)?;
    let a = band_energies(test, fs_hz, &c)?;
    let b = band_energies(reference, fs_hz, &c)?;
    let mut acc = 0.0;
    for (&x, &y) in a.iter().zip(&b) {
        let d = db_ratio(x, y, "LSD")?;
        acc += d * d;
    }
    Ok((acc / c.len() as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centres() {
        let c = third_octave_centres_hz(1000.0, 8000.0);
        assert_eq!(c.len(), 10);
        assert!((c[0] - 1000.0).abs() < 1e-9);
        assert!((c[9] - 8000.0).abs() < 1e-6);
    }

    #[test]
    fn ild_of_scaled_copy_is_exact_and_lsd_zero() {
        let x: Vec<f32> = (0..4096)
            .map(|i| ((i * 7919) % 1013) as f32 / 1013.0 - 0.5)
            .collect();
        let r: Vec<f32> = x.iter().map(|v| v * 0.5).collect();
        let c = third_octave_centres_hz(1000.0, 8000.0);
        let ild = ild_per_band_db(&x, &r, 48000.0, &c).expect("ild");
        for v in ild {
            assert!((v - 6.0206).abs() < 1e-3, "{v}");
        }
        assert!(lsd_bands_db(&x, &x, 48000.0, 100.0, 16000.0).expect("lsd") < 1e-12);
        let lsd = lsd_bands_db(&r, &x, 48000.0, 100.0, 16000.0).expect("lsd");
        assert!((lsd - 6.0206).abs() < 1e-3);
    }

    #[test]
    fn silent_band_is_error() {
        let z = vec![0.0f32; 1024];
        assert!(lsd_bands_db(&z, &z, 48000.0, 100.0, 16000.0).is_err());
    }
}
