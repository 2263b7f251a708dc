//! SH-domain filter design of the engine: methods (LS, MagLS, eMagLS-SH), the standard centred
//! FIR cut and the low-latency cut.
//!
//! # Latency of a design
//! Every design is a matrix of FIRs applied after the (frequency-independent) SH stage, so its
//! latency is the FIR's pre-delay, whatever the method:
//! * [`FilterPhase::Centred`] (default): the per-bin weights are designed on `2·filter_len` bins
//!   and the responses cut to the central `filter_len` taps (as the eMagLS reference code does),
//!   pre-delay `filter_len / 2` (256 samples = 5.33 ms at 48 kHz for 512 taps). Identical to the
//!   offline [`sphear_render::BinauralDecoder`].
//! * [`FilterPhase::LowLatency`]: (1) the HRIRs' common leading delay (the propagation time to
//!   the nearest ear that every HRIR of the set shares, detected at −20 dB of each HRIR's peak,
//!   minus a margin of [`ONSET_MARGIN_SAMPLES`]) is removed from the design target — it is not
//!   binaural information (ITD and ILD are differences between the ears) and is pure latency;
//!   (2) the responses are synthesised with a pre-delay `d` (≤ 64 samples) instead of
//!   `design_len/2` and the first `filter_len` taps kept, with a raised-cosine fade-in over the
//!   first `d/4` taps and the usual fade-out of `filter_len/16` taps. What is lost is the part
//!   of the fitted response that lies more than `d` samples before the FIR's time zero.
//!
//! Why `d` = 64 (the default) and not less: the MagLS bins (above the 2 kHz cut-off) take
//! their phase from the previous bin's estimate, so their phase is carried over without the
//! HRIR's linear-phase increment — that band sits at the FIR's time zero whatever the HRIR
//! delay, with a nearly symmetric (zero-phase-like) response that still carries energy up to
//! about 1 ms (48 samples) before it (the cost of the cut at `d` = 48 below). Removing the HRIR delay moves only the LS band (below the cut-off). The fidelity table
//! of `tests/low_latency.rs` (em32, order 4, three HRTF sets, 16 directions, against direct
//! HRIR rendering) shows the cut costing 6.5–9 dB LSD at `d` = 16, 1.6–2.7 dB at 32, up to
//! 0.33 dB LSD and 0.46 dB ILD error at 48 and nothing measurable at 64 (ITD within ±0.5 µs,
//! ILD error within ±0.04 dB, LSD −0.26…+0.01 dB of the centred design). A minimum-phase conversion per filter is *not* an option: the SH channels' filters
//! must keep their relative phases, which carry the directional pattern.
//!
//! Latency with 64-sample partitions: centred 64 + 256 = 320 samples (6.67 ms at 48 kHz),
//! low latency 64 + 64 = 128 samples (2.67 ms); end to end with one 64-sample host block 8.0
//! and 4.0 ms. The method (LS, MagLS, eMagLS-SH) does not change the latency.

use nalgebra::DMatrix;
use num_complex::Complex64;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_render::design::{
    BinDesign, apply_diffuse_constraint, design_bins, design_to_fir, hrtf_set_spectra,
    weights_to_fir,
};
use sphear_render::steering::SteeringTable;
use sphear_render::{InputKind, Method};
use sphear_sh::encoder::{EncoderConfig, EncoderDesign};
use sphear_sh::sh::{Norm, acn_to_nm, sh_matrix};

use crate::engine::EngineConfig;
use crate::{EngineError, Result};

/// Largest pre-delay accepted for [`FilterPhase::LowLatency`], samples.
pub const MAX_LOW_LATENCY_PRE_DELAY_SAMPLES: usize = 64;

/// Default pre-delay of [`FilterPhase::LowLatency`], samples (the shortest without a
/// measurable fidelity cost, see the [module docs](self) and `tests/low_latency.rs`).
pub const DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES: usize = 64;

/// Samples kept before the earliest HRIR onset when the common HRIR delay is removed.
pub const ONSET_MARGIN_SAMPLES: usize = 8;

/// How the per-bin weights are cut to FIRs (this sets the latency of the design).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterPhase {
    /// Centred cut: pre-delay `filter_len / 2` (identical to the offline decoder).
    #[default]
    Centred,
    /// Low-latency cut with the given pre-delay in samples (1..=64): common HRIR delay removed,
    /// first `filter_len` taps of the response synthesised with that pre-delay (module docs;
    /// below 64 the cut costs measurable fidelity).
    LowLatency {
        /// Pre-delay of the FIRs, samples.
        pre_delay_samples: usize,
    },
}

impl FilterPhase {
    /// The default low-latency setting ([`DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES`]).
    pub fn low_latency() -> Self {
        Self::LowLatency {
            pre_delay_samples: DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES,
        }
    }
}

/// SH-domain design of the engine: binaural FIRs on SH signals and (array input) the
/// frequency-independent capsule → SH matrix.
#[derive(Debug, Clone)]
pub struct ShDomainDesign {
    /// Method of the fit.
    pub method: Method,
    /// SH order `N`.
    pub order: usize,
    /// FIRs `[ear][acn][tap]` (ear 0 = left) applied to SN3D SH signals (AmbiX) or to the
    /// spatially transformed capsule signals (array input), head at rest.
    pub filters: Vec<Vec<Vec<f32>>>,
    /// Pre-delay of the filters in samples (`filter_len / 2` centred, `d` low-latency).
    pub delay_samples: usize,
    /// Common HRIR leading delay removed from the design target, samples (0 for the centred
    /// design). The output leads direct rendering with the original HRIRs by this much, i.e.
    /// `engine_out[n + latency] = direct[n + hrir_onset_removed_samples]`.
    pub hrir_onset_removed_samples: usize,
    /// Array input: `[acn][capsule]` spatial SH transform (`EncoderDesign::spatial`); `None` for AmbiX.
    pub spatial: Option<Vec<Vec<f32>>>,
    /// Design sample rate in Hz (the HRTF set's rate).
    pub sample_rate_hz: f64,
    /// Name of the HRTF set.
    pub hrtf_name: String,
}

/// First sample index at which every HRIR of the set is still below −20 dB of its own peak,
/// minus [`ONSET_MARGIN_SAMPLES`] (0 if an HRIR starts at once): the set's common leading delay.
pub fn common_hrir_onset_samples(hrtf: &HrtfSet) -> usize {
    let mut onset = usize::MAX;
    for i in 0..hrtf.len() {
        for ear in [Ear::Left, Ear::Right] {
            let ir = hrtf.ir(i, ear);
            let peak = ir.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if peak > 0.0 {
                let t = ir.iter().position(|v| v.abs() >= 0.1 * peak).unwrap_or(0);
                onset = onset.min(t);
            }
        }
    }
    if onset == usize::MAX {
        0
    } else {
        onset.saturating_sub(ONSET_MARGIN_SAMPLES)
    }
}

fn to_complex(m: &DMatrix<f64>) -> DMatrix<Complex64> {
    m.map(|v| Complex64::new(v, 0.0))
}

/// Cut per-bin weights (designed on `design_len` bins) to `filter_len`-tap FIRs with
/// pre-delay `d`: the response synthesised with delay `d`, its first `filter_len` taps kept,
/// raised-cosine fade-in over `d/4` taps and fade-out over `filter_len/16` taps.
pub fn low_latency_fir(
    ws: &[DMatrix<Complex64>],
    design_len: usize,
    filter_len: usize,
    d: usize,
) -> Vec<Vec<Vec<f32>>> {
    let full = weights_to_fir(ws, design_len, d);
    let fade_in = (d / 4).max(1);
    let fade_out = (filter_len / 16).max(1);
    let rc = |t: usize, n: usize| {
        (0.5 - 0.5 * (std::f64::consts::PI * (t as f64 + 0.5) / n as f64).cos()) as f32
    };
    full.into_iter()
        .map(|ear| {
            ear.into_iter()
                .map(|f| {
                    let mut x = f[..filter_len].to_vec();
                    for (t, v) in x.iter_mut().take(fade_in).enumerate() {
                        *v *= rc(t, fade_in);
                    }
                    for t in 0..fade_out.min(filter_len) {
                        x[filter_len - 1 - t] *= rc(t, fade_out);
                    }
                    x
                })
                .collect()
        })
        .collect()
}

impl ShDomainDesign {
    /// Designs the SH-domain filters from `hrtf` (already at the processing rate).
    ///
    /// Per bin `k` the weights `W_k` (`(N+1)² × 2`) minimise `‖G_k W_k − H_k‖`
    /// (magnitude-only above the MagLS cut-off), with
    /// * AmbiX, LS/MagLS: `G = Y` (SN3D SH matrix of the HRTF directions) — the filters of
    ///   [`sphear_render::BinauralDecoder`] (Schörkhuber et al. 2018);
    /// * array, LS/MagLS: the same `W_k`, then multiplied by the encoder's radial equalisers
    ///   `diag(r_n(f_k))`, so that with the spatial matrix `S` in front the chain equals the
    ///   offline encoder + decoder (`Sᵀ diag(r) W`);
    /// * array, eMagLS-SH (Deppisch et al. 2021): `G_k = A_k Sᵀ` (`A_k` the array steering
    ///   `[D × M]`, `S` the spatial transform `[(N+1)² × M]`), the radial equalisation being part
    ///   of the fit.
    ///
    /// The weights are designed on `2·filter_len` bins and cut to FIRs as set by
    /// [`EngineConfig::phase`] (see the [module docs](self)).
    ///
    /// # References
    /// Schörkhuber, Zaunschirm, Höldrich, DAGA 2018; Deppisch, Helmholz, Ahrens, I3DA 2021.
    ///
    /// # Errors
    /// Order mismatch / too high for the array, method not applicable, bad filter length or
    /// pre-delay, empty HRTF set.
    pub fn design(cfg: &EngineConfig, hrtf: &HrtfSet) -> Result<Self> {
        if cfg.filter_len < 32 || cfg.filter_len % 2 != 0 {
            return Err(EngineError::Config(format!(
                "filter length must be even and ≥ 32, got {}",
                cfg.filter_len
            )));
        }
        if hrtf.is_empty() {
            return Err(EngineError::Config("the HRTF set has no directions".into()));
        }
        let onset = match cfg.phase {
            FilterPhase::Centred => 0,
            FilterPhase::LowLatency { pre_delay_samples } => {
                if !(1..=MAX_LOW_LATENCY_PRE_DELAY_SAMPLES).contains(&pre_delay_samples)
                    || pre_delay_samples >= cfg.filter_len / 2
                {
                    return Err(EngineError::Config(format!(
                        "low-latency pre-delay must be 1..={MAX_LOW_LATENCY_PRE_DELAY_SAMPLES} and below filter_len/2, got {pre_delay_samples}"
                    )));
                }
                common_hrir_onset_samples(hrtf)
            }
        };
        let fs = hrtf.sample_rate_hz();
        let design_len = 2 * cfg.filter_len;
        let bd = BinDesign {
            sample_rate_hz: fs,
            filter_len: design_len,
            magls_cutoff_hz: match cfg.method {
                Method::Ls => None,
                _ => Some(cfg.magls_cutoff_hz),
            },
            beta: cfg.beta,
        };
        let h = hrtf_set_spectra(hrtf, onset, design_len);
        let dirs = hrtf.directions();
        let sh_fit = |order: usize| {
            let y = to_complex(&sh_matrix(order, dirs, Norm::Sn3d));
            let mut ws = design_bins(&bd, |_| y.clone(), |k| h[k].clone());
            if cfg.diffuse_constraint {
                apply_diffuse_constraint(&mut ws, |_| y.clone(), |k| h[k].clone());
            }
            ws
        };
        let (ws, spatial) = match (&cfg.input, cfg.method) {
            (InputKind::Ambix { order }, Method::Ls | Method::MagLs) => {
                if *order != cfg.order {
                    return Err(EngineError::Config(format!(
                        "AmbiX input of order {order} but rendering order {}",
                        cfg.order
                    )));
                }
                (sh_fit(cfg.order), None)
            }
            (InputKind::Ambix { .. }, m) => {
                return Err(EngineError::Config(format!(
                    "method {} needs raw array (em32) input; for AmbiX input use ls or magls",
                    m.name()
                )));
            }
            (InputKind::Array(array), m) => {
                array.check_order(cfg.order)?;
                let enc = EncoderDesign::new(
                    array,
                    fs,
                    &EncoderConfig {
                        order: cfg.order,
                        ..cfg.encoder.clone()
                    },
                )?;
                let ws = match m {
                    Method::Ls | Method::MagLs => {
                        let ws = sh_fit(cfg.order);
                        ws.into_iter()
                            .enumerate()
                            .map(|(k, w)| {
                                let f = bd.freq_hz(k);
                                let r: Vec<Complex64> =
                                    (0..=cfg.order).map(|n| enc.radial_response(n, f)).collect();
                                DMatrix::from_fn(w.nrows(), w.ncols(), |i, e| {
                                    r[acn_to_nm(i).0] * w[(i, e)]
                                })
                            })
                            .collect()
                    }
                    Method::EMagLsSh => {
                        let spatial_t = to_complex(&enc.spatial).transpose();
                        let table = SteeringTable::new(array, dirs, fs / 2.0, cfg.speed_m_s);
                        let g_at = |k: usize| table.matrix(bd.freq_hz(k)) * &spatial_t;
                        let mut ws = design_bins(&bd, g_at, |k| h[k].clone());
                        if cfg.diffuse_constraint {
                            apply_diffuse_constraint(&mut ws, g_at, |k| h[k].clone());
                        }
                        ws
                    }
                    other => {
                        return Err(EngineError::Config(format!(
                            "method {} renders in the capsule domain and cannot rotate per block; the engine offers ls, magls, emagls-sh",
                            other.name()
                        )));
                    }
                };
                let spatial = (0..enc.spatial.nrows())
                    .map(|r| {
                        (0..enc.spatial.ncols())
                            .map(|c| enc.spatial[(r, c)] as f32)
                            .collect()
                    })
                    .collect();
                (ws, Some(spatial))
            }
        };
        let (filters, delay) = match cfg.phase {
            FilterPhase::Centred => (
                design_to_fir(&ws, design_len, cfg.filter_len),
                cfg.filter_len / 2,
            ),
            FilterPhase::LowLatency { pre_delay_samples } => (
                low_latency_fir(&ws, design_len, cfg.filter_len, pre_delay_samples),
                pre_delay_samples,
            ),
        };
        Ok(Self {
            method: cfg.method,
            order: cfg.order,
            filters,
            delay_samples: delay,
            hrir_onset_removed_samples: onset,
            spatial,
            sample_rate_hz: fs,
            hrtf_name: hrtf.name().to_string(),
        })
    }

    /// Number of input channels the design expects (capsules, or `(N+1)²` SH channels).
    pub fn num_inputs(&self) -> usize {
        match &self.spatial {
            Some(s) => s.first().map_or(0, |r| r.len()),
            None => self.filters.first().map_or(0, |e| e.len()),
        }
    }
}
