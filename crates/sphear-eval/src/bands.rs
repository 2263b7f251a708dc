//! Third-octave band energies and the band-wise ILD and LSD derived from them.
//!
//! Bands: base-2 third octaves, centre `f_c = 1000·2^{k/3}` Hz, edges `f_c·2^{±1/6}`. A band's
//! energy is the sum of `|X[k]|²` of the signal's DFT over the bins inside its edges
//! (rectangular bands — no filter-bank leakage).
//!
//! * ILD per band: `10·log10(E_L/E_R)` dB; ILD error = mean over bands of |ΔILD| (reference vs
//!   test).
//! * LSD (band-energy log-spectral distance): per ear, `sqrt(mean_b (10·log10(E_test/E_ref))²)`
//!   dB, RMS over bands.
//!
//! # References
//! * ANSI S1.11 / IEC 61260 (third-octave band centres, base-2).
//! * Deppisch et al., I3DA 2021 and Berebi et al. 2025 (band ILD / LSD as rendering metrics).

use realfft::RealFftPlanner;

use crate::{EvalError, Result};

/// Third-octave band centres (Hz) whose centre lies in `[f_lo_hz, f_hi_hz]`.
pub fn third_octave_centres_hz(f_lo_hz: f64, f_hi_hz: f64) -> Vec<f64> {
    (-30..=15)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .filter(|&f| f >= f_lo_hz * 0.999 && f <= f_hi_hz * 1.001)
        .collect()
}

/// Energies of `x` in the third-octave bands with the given centres.
///
/// # Errors
/// Empty or non-finite signal.
pub fn band_energies(x: &[f32], fs_hz: f64, centres_hz: &[f64]) -> Result<Vec<f64>> {
    if x.is_empty() || x.iter().any(|v| !v.is_finite()) {
        return Err(EvalError::InvalidSignal(
            "empty or non-finite signal".into(),
        ));
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
    Ok(centres_hz
        .iter()
        .map(|&fc| {
            let lo = fc * 2f64.powf(-1.0 / 6.0);
            let hi = fc * 2f64.powf(1.0 / 6.0);
            let k0 = (lo / df).ceil() as usize;
            let k1 = ((hi / df).floor() as usize).min(spec.len() - 1);
            (k0..=k1).map(|k| spec[k].norm_sqr()).sum::<f64>()
        })
        .collect())
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
    let c = third_octave_centres_hz(f_lo_hz, f_hi_hz);
    let a = ild_per_band_db(test[0], test[1], fs_hz, &c)?;
    let b = ild_per_band_db(reference[0], reference[1], fs_hz, &c)?;
    Ok(a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / c.len() as f64)
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
    let c = third_octave_centres_hz(f_lo_hz, f_hi_hz);
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
