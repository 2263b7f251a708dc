//! STFT-based spectral distances: log-spectral distance ([`stft_lsd`]), the multi-resolution
//! STFT distance ([`mr_stft_distance`]) and the MFCC distance ([`mfcc_distance`]).
//!
//! All use the framing of [`crate::stft`] (periodic Hann, no centre padding).
//!
//! # References
//! * V. Kuleshov, S. Z. Enam, S. Ermon, "Audio super resolution using neural networks", ICLR
//!   workshop 2017 (the STFT LSD in log10-power units).
//! * Y. Zhu et al., "End-to-end paired ambisonic-binaural audio rendering", IEEE/CAA J.
//!   Autom. Sinica 11(2), 2024 (binaural LSD: the same definition, averaged over both ears).
//! * R. Yamamoto, E. Song, J.-M. Kim, "Parallel WaveGAN", ICASSP 2020, DOI
//!   10.1109/ICASSP40776.2020.9053795 (multi-resolution STFT loss).
//! * S. Davis, P. Mermelstein, "Comparison of parametric representations for monosyllabic word
//!   recognition", IEEE Trans. ASSP 28(4), 1980 (MFCC); S. Young et al., *The HTK Book* (mel
//!   scale `2595·log10(1 + f/700)`).

use num_complex::Complex64;

use crate::dsp::{check_band, check_pair, check_rate, energy};
use crate::stft::{StftConfig, stft};
use crate::{EvalError, Result};

/// Power floor ε added inside the logarithms of [`stft_lsd`] (absolute, on `|X|²` of an
/// unnormalised FFT of a Hann-windowed frame).
pub const LSD_POWER_FLOOR: f64 = 1e-10;

/// Default STFT of [`stft_lsd`]: `N = W = 2048`, `H = 512`.
pub const DEFAULT_LSD_STFT: StftConfig = StftConfig {
    fft_len: 2048,
    win_len: 2048,
    hop_len: 512,
};

/// STFT log-spectral distance (dimensionless, log10-power units; multiply by 10 for dB):
///
/// `LSD = (1/T) Σ_t sqrt( (1/K) Σ_k ( log10(|S_t[k]|² + ε) − log10(|Ŝ_t[k]|² + ε) )² )`
///
/// over all `T` frames and all `K = N/2 + 1` bins, `S` the reference and `Ŝ` the estimate STFT,
/// `ε` = [`LSD_POWER_FLOOR`]. 0 for identical signals. This is the form used in audio
/// super-resolution and neural binaural rendering papers (e.g. Zhu et al. 2024, who report
/// 0.85–1.88); their STFT sizes and floors are not all published, so compare values only under
/// the same [`StftConfig`]. The HRTF LSD of spatialaudiometrics (dB, per direction) is of
/// [`crate::bands::lsd_bands_db`]'s kind instead.
///
/// # Errors
/// Empty/non-finite/mismatched inputs, an invalid config, a silent reference.
pub fn stft_lsd(reference: &[f32], estimate: &[f32], cfg: &StftConfig) -> Result<f64> {
    check_pair(reference, estimate, "reference", "estimate")?;
    if energy(reference) <= 0.0 {
        return Err(EvalError::Silent {
            what: "reference".into(),
        });
    }
    let a = stft(reference, cfg)?;
    let b = stft(estimate, cfg)?;
    let mut acc = 0.0;
    for (fa, fb) in a.iter().zip(&b) {
        let mut s = 0.0;
        for (x, y) in fa.iter().zip(fb) {
            let d =
                (x.norm_sqr() + LSD_POWER_FLOOR).log10() - (y.norm_sqr() + LSD_POWER_FLOOR).log10();
            s += d * d;
        }
        acc += (s / fa.len() as f64).sqrt();
    }
    Ok(acc / a.len() as f64)
}

/// Binaural STFT LSD: the mean of [`stft_lsd`] over the two ears (`[left, right]`).
///
/// # Errors
/// As [`stft_lsd`], for either ear.
pub fn binaural_stft_lsd(
    reference: [&[f32]; 2],
    estimate: [&[f32]; 2],
    cfg: &StftConfig,
) -> Result<f64> {
    let l = stft_lsd(reference[0], estimate[0], cfg)?;
    let r = stft_lsd(reference[1], estimate[1], cfg)?;
    Ok(0.5 * (l + r))
}

/// Magnitude floor of the MR-STFT distance: `|X| = sqrt(max(|X|², MR_STFT_POWER_FLOOR))`, as in
/// the Parallel WaveGAN reference code.
pub const MR_STFT_POWER_FLOOR: f64 = 1e-7;

/// The three resolutions of Yamamoto et al. 2020: `(N, H, W)` = (1024, 120, 600),
/// (2048, 240, 1200), (512, 50, 240).
pub const MR_STFT_RESOLUTIONS: [StftConfig; 3] = [
    StftConfig {
        fft_len: 1024,
        win_len: 600,
        hop_len: 120,
    },
    StftConfig {
        fft_len: 2048,
        win_len: 1200,
        hop_len: 240,
    },
    StftConfig {
        fft_len: 512,
        win_len: 240,
        hop_len: 50,
    },
];

/// Result of [`mr_stft_distance`]; each term is the mean over resolutions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MrStftDistance {
    /// Spectral convergence `‖ |S| − |Ŝ| ‖_F / ‖ |S| ‖_F` (dimensionless).
    pub spectral_convergence: f64,
    /// Log-magnitude L1 distance `(1/(T·K)) Σ |ln|S| − ln|Ŝ||` (nepers).
    pub log_magnitude: f64,
    /// `spectral_convergence + log_magnitude`.
    pub total: f64,
}

/// Multi-resolution STFT distance (Yamamoto et al. 2020): for each resolution `r`,
/// `L_sc = ‖|S|−|Ŝ|‖_F / ‖|S|‖_F` and `L_mag = mean_{t,k} |ln|S_t[k]| − ln|Ŝ_t[k]||` with
/// `|X| = sqrt(max(|X|², 1e-7))`; each averaged over the resolutions (use
/// [`MR_STFT_RESOLUTIONS`] for the paper's). `S` = reference, `Ŝ` = estimate. Framing as in
/// [`crate::stft`] (no centre padding, so values differ slightly from `torch.stft(center=True)`).
///
/// # Errors
/// Empty/non-finite/mismatched inputs, no or invalid resolutions, a silent reference.
pub fn mr_stft_distance(
    reference: &[f32],
    estimate: &[f32],
    resolutions: &[StftConfig],
) -> Result<MrStftDistance> {
    check_pair(reference, estimate, "reference", "estimate")?;
    if resolutions.is_empty() {
        return Err(EvalError::InvalidArgument(
            "MR-STFT needs at least one resolution".into(),
        ));
    }
    if energy(reference) <= 0.0 {
        return Err(EvalError::Silent {
            what: "reference".into(),
        });
    }
    let mag = |c: &Complex64| c.norm_sqr().max(MR_STFT_POWER_FLOOR).sqrt();
    let (mut sc, mut lm) = (0.0, 0.0);
    for cfg in resolutions {
        let a = stft(reference, cfg)?;
        let b = stft(estimate, cfg)?;
        let (mut num, mut den, mut l1, mut count) = (0.0, 0.0, 0.0, 0usize);
        for (fa, fb) in a.iter().zip(&b) {
            for (x, y) in fa.iter().zip(fb) {
                let (mx, my) = (mag(x), mag(y));
                num += (mx - my) * (mx - my);
                den += mx * mx;
                l1 += (mx.ln() - my.ln()).abs();
                count += 1;
            }
        }
        sc += (num / den).sqrt();
        lm += l1 / count as f64;
    }
    let k = resolutions.len() as f64;
    let (sc, lm) = (sc / k, lm / k);
    Ok(MrStftDistance {
        spectral_convergence: sc,
        log_magnitude: lm,
        total: sc + lm,
    })
}

/// Parameters of [`mfcc`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MfccConfig {
    /// STFT (default `N = W = 2048`, `H = 512`).
    pub stft: StftConfig,
    /// Number of triangular mel filters `M` (default 40).
    pub n_mels: usize,
    /// Number of cepstral coefficients kept, `c_0 … c_{n_mfcc−1}` (default 13).
    pub n_mfcc: usize,
    /// Lowest filter edge, Hz (default 0).
    pub f_min_hz: f64,
    /// Highest filter edge, Hz; `None` = Nyquist (default).
    pub f_max_hz: Option<f64>,
}

impl Default for MfccConfig {
    fn default() -> Self {
        Self {
            stft: DEFAULT_LSD_STFT,
            n_mels: 40,
            n_mfcc: 13,
            f_min_hz: 0.0,
            f_max_hz: None,
        }
    }
}

/// Floor of the mel-band energies before the natural logarithm in [`mfcc`].
pub const MFCC_ENERGY_FLOOR: f64 = 1e-10;

/// HTK mel scale `2595·log10(1 + f/700)`.
pub fn hz_to_mel(f_hz: f64) -> f64 {
    2595.0 * (1.0 + f_hz / 700.0).log10()
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// Triangular mel filterbank `[n_mels][N/2 + 1]`: `M + 2` edge frequencies equally spaced on the
/// HTK mel scale from `f_min` to `f_max`; filter `m` rises linearly from edge `m` to 1 at edge
/// `m+1` and falls to 0 at edge `m+2` (peak 1, no area normalisation), evaluated at the bin
/// frequencies `k·fs/N`.
///
/// # Errors
/// Invalid band (`f_max` above Nyquist, `f_min ≥ f_max`), `n_mels = 0`.
pub fn mel_filterbank(
    fs_hz: f64,
    fft_len: usize,
    n_mels: usize,
    f_min_hz: f64,
    f_max_hz: f64,
) -> Result<Vec<Vec<f64>>> {
    check_band(f_min_hz, f_max_hz, fs_hz)?;
    if n_mels == 0 || fft_len < 2 {
        return Err(EvalError::InvalidArgument(
            "mel filterbank needs n_mels >= 1 and fft_len >= 2".into(),
        ));
    }
    let (m0, m1) = (hz_to_mel(f_min_hz), hz_to_mel(f_max_hz));
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(m0 + (m1 - m0) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let bins = fft_len / 2 + 1;
    Ok((0..n_mels)
        .map(|m| {
            let (lo, c, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            (0..bins)
                .map(|k| {
                    let f = k as f64 * fs_hz / fft_len as f64;
                    if f < lo || f > hi {
                        0.0
                    } else if f <= c {
                        (f - lo) / (c - lo)
                    } else {
                        (hi - f) / (hi - c)
                    }
                })
                .collect()
        })
        .collect())
}

/// MFCCs `[frames][n_mfcc]`: `c_t[j] = Σ_m α_j cos(π j (m + ½)/M) · ln(max(E_t[m], 1e-10))`
/// with `E_t[m] = Σ_k H_m[k] |X_t[k]|²` ([`mel_filterbank`], STFT power), and the orthonormal
/// DCT-II weights `α_0 = √(1/M)`, `α_j = √(2/M)` (`scipy.fft.dct(type=2, norm="ortho")`).
///
/// # Errors
/// Empty/non-finite input, invalid config (`n_mfcc > n_mels`, band above Nyquist).
pub fn mfcc(x: &[f32], fs_hz: f64, cfg: &MfccConfig) -> Result<Vec<Vec<f64>>> {
    check_rate(fs_hz)?;
    if cfg.n_mfcc == 0 || cfg.n_mfcc > cfg.n_mels {
        return Err(EvalError::InvalidArgument(format!(
            "MFCC needs 1 <= n_mfcc <= n_mels (got {} and {})",
            cfg.n_mfcc, cfg.n_mels
        )));
    }
    let f_max = cfg.f_max_hz.unwrap_or(fs_hz / 2.0);
    let bank = mel_filterbank(fs_hz, cfg.stft.fft_len, cfg.n_mels, cfg.f_min_hz, f_max)?;
    let spec = stft(x, &cfg.stft)?;
    let m = cfg.n_mels as f64;
    let dct: Vec<Vec<f64>> = (0..cfg.n_mfcc)
        .map(|j| {
            let a = if j == 0 {
                (1.0 / m).sqrt()
            } else {
                (2.0 / m).sqrt()
            };
            (0..cfg.n_mels)
                .map(|i| a * (std::f64::consts::PI * j as f64 * (i as f64 + 0.5) / m).cos())
                .collect()
        })
        .collect();
    Ok(spec
        .iter()
        .map(|frame| {
            let logmel: Vec<f64> = bank
                .iter()
                .map(|h| {
                    let e: f64 = h.iter().zip(frame).map(|(w, x)| w * x.norm_sqr()).sum();
                    e.max(MFCC_ENERGY_FLOOR).ln()
                })
                .collect();
            dct.iter()
                .map(|row| row.iter().zip(&logmel).map(|(a, b)| a * b).sum())
                .collect()
        })
        .collect())
}

/// MFCC distance: mean over frames of the Euclidean distance between the MFCC vectors of
/// reference and estimate, **excluding `c_0`** (the log-energy term):
/// `D = (1/T) Σ_t sqrt( Σ_{j=1}^{n_mfcc−1} (c_t[j] − ĉ_t[j])² )`. 0 for identical signals.
///
/// # Errors
/// As [`mfcc`]; mismatched lengths; a silent reference.
pub fn mfcc_distance(
    reference: &[f32],
    estimate: &[f32],
    fs_hz: f64,
    cfg: &MfccConfig,
) -> Result<f64> {
    check_pair(reference, estimate, "reference", "estimate")?;
    if energy(reference) <= 0.0 {
        return Err(EvalError::Silent {
            what: "reference".into(),
        });
    }
    let a = mfcc(reference, fs_hz, cfg)?;
    let b = mfcc(estimate, fs_hz, cfg)?;
    let sum: f64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .skip(1)
                .map(|(p, q)| (p - q) * (p - q))
                .sum::<f64>()
                .sqrt()
        })
        .sum();
    Ok(sum / a.len() as f64)
}
