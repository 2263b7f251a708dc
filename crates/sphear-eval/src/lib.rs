//! # sphear-eval
//!
//! Metrics used to score renderers against a reference (direct HRIR rendering, or a measured
//! binaural signal). Every estimator checks its input and returns an [`EvalError`] (empty input,
//! length mismatch, non-finite samples, silent input, band above Nyquist, invalid argument)
//! instead of a silent NaN. Signals are `&[f32]` slices at a sampling rate `fs_hz`; binaural
//! pairs are `[left, right]`.
//!
//! Sign conventions: **ITD = t_right − t_left** in seconds (positive when the *left* ear leads,
//! i.e. for a source on the left); **ILD = 10·log10(E_left/E_right)** in dB (positive when the left
//! ear is louder).
//!
//! # METRICS
//!
//! | metric | function | definition | units | reference |
//! |---|---|---|---|---|
//! | SNR | [`snr::snr_db`] | `10·log10(Σs²/Σ(s−ŝ)²)`, `+∞` for identical signals | dB | Quackenbush et al. 1988 |
//! | segmental SNR | [`snr::segmental_snr_db`] | mean of per-frame SNR clamped to −10…35 dB, 30 ms Hann frames, 7.5 ms hop | dB | Hansen & Pellom 1998; Hu & Loizou 2008 |
//! | STFT LSD | [`spectral::stft_lsd`], [`spectral::binaural_stft_lsd`] | `mean_t sqrt(mean_k (log10 P − log10 P̂)²)`, 2048/512 Hann | log10 power (×10 = dB) | Kuleshov et al. 2017; Zhu et al. 2024 |
//! | third-octave LSD | [`bands::lsd_bands_db`] | RMS over bands of `10·log10(E_test/E_ref)` | dB | Deppisch et al. 2021 |
//! | MR-STFT distance | [`spectral::mr_stft_distance`] | spectral convergence + log-magnitude L1, FFT 512/1024/2048 | — / Np | Yamamoto et al. 2020 |
//! | MFCC distance | [`spectral::mfcc_distance`] | mean Euclidean distance of MFCC `c_1…c_12` (40 HTK mel bands, ortho DCT-II) | — | Davis & Mermelstein 1980 |
//! | ITD (GCC-PHAT) | [`itd::gcc_phat_itd_s`], [`itd::gcc_phat_itd_per_band_s`] | whitened cross-spectrum in a band (default 100–1500 Hz), peak within ±1 ms | s | Knapp & Carter 1976 |
//! | ITD (MaxIACCe) | [`itd::maxiacce_itd_s`] | peak of the cross-correlation of Hilbert envelopes after a 3 kHz order-10 Butterworth | s | AMT `itdestimator`; LAP 2024 |
//! | ITD (onset) | [`itd::onset_itd_s`] | −10 dB onset difference after a 3 kHz low-pass | s | Andreopoulou & Katz 2017 |
//! | ITD error | [`itd::itd_error_us`] | `|ITD_test − ITD_ref|` | µs | LAP 2024 |
//! | ILD per band | [`bands::ild_per_band_db`] (third octave), [`bands::ild_per_erb_band_db`] (ERB) | `10·log10(E_L/E_R)` per band | dB | Glasberg & Moore 1990 (ERB) |
//! | ILD error | [`bands::ild_error_db`], [`bands::ild_erb_error_db`], [`bands::ild_errors_per_band_db`] | mean (or per band) `|ΔILD|`, default 1–8 kHz | dB | Berebi et al. 2025 |
//! | IACC | [`coherence::iacc`] | `max_{|τ|≤1 ms} |ρ_LR(τ)|` | — | ISO 3382-1 |
//! | IC per band | [`coherence::ic_per_band`] | `|Σ_t L R*| / sqrt(Σ_t|L|² Σ_t|R|²)` per bin, band mean | — | Faller & Merimaa 2004 |
//! | NCC | [`coherence::ncc_max`], [`coherence::ncc_lag0`] | `Σ a[n]b[n+τ]/sqrt(Σa² Σb²)`, max over a lag window / at 0 | — | — |
//! | DRR | [`drr::drr_db`] | direct ±2.5 ms around the IR peak vs the rest after it | dB | Eaton et al. 2016 (ACE) |
//! | DOA on SH signals | [`doa::srp_doa`], [`doa::music_doa`] | SRP (order-N PWD beam) or MUSIC on the N3D covariance, dense grid, K peaks | rad | Rafaely 2015; Schmidt 1986 |
//! | DOA error | [`doa::match_directions`] | great-circle error, optimal one-to-one assignment | rad | Kuhn 1955 |
//! | binaural localisation | [`localise::CueTable`] | ITD/ILD lookup against an HRTF set, lateral-angle error | rad | May et al. 2011; Blauert 1997 |
//!
//! Each module documents its formula and references in full; the tests in `tests/` check each
//! metric against known answers and against an independent numpy/scipy implementation
//! (`scripts/make_metric_fixtures.py` → `tests/fixtures/metrics.json`).

#![warn(missing_docs)]

pub mod bands;
pub mod coherence;
pub mod doa;
pub mod drr;
mod dsp;
pub mod error;
pub mod itd;
pub mod localise;
pub mod snr;
pub mod spectral;
pub mod stft;

pub use error::{EvalError, Result};
