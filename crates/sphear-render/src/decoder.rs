//! Binaural decoder design: from an HRTF set (and, for array input, the array model) to a matrix
//! of FIR filters `[ear][input channel][tap]`.

use nalgebra::DMatrix;
use num_complex::Complex64;
use sphear_core::Direction;
use sphear_hrtf::HrtfSet;
use sphear_sh::array::ArrayGeometry;
use sphear_sh::encoder::{EncoderConfig, EncoderDesign};
use sphear_sh::rotation::{
    Mat3, mat3_transpose, rotate_direction, rotation_from_ypr, sh_rotation_matrix,
};
use sphear_sh::sh::{Norm, num_channels, sh_matrix};

use crate::design::{
    BinDesign, apply_diffuse_constraint, design_bins, design_to_fir, hrtf_set_spectra,
};
use crate::steering::SteeringTable;
use crate::{RenderError, Result};

/// Binaural decoding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Least-squares SH-domain decoder. For array input: encoder (radial filters) + LS decoder.
    Ls,
    /// Magnitude least squares above the cut-off (Schörkhuber et al. 2018). For array input:
    /// encoder (radial filters) + MagLS decoder.
    MagLs,
    /// End-to-end MagLS in the SH domain (Deppisch et al. 2021): filters applied to the
    /// frequency-independent SH transform of the capsule signals; the radial equalisation is part
    /// of the fit. Array input only.
    EMagLsSh,
    /// End-to-end MagLS fitted directly to the capsule signals ("eMagLS2"). Array input only.
    EMagLs2,
}

impl Method {
    /// Short name used in logs and file names.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Ls => "ls",
            Method::MagLs => "magls",
            Method::EMagLsSh => "emagls-sh",
            Method::EMagLs2 => "emagls",
        }
    }
}

/// What the decoder's input channels are.
#[derive(Debug, Clone, PartialEq)]
pub enum InputKind {
    /// AmbiX (ACN/SN3D) signals of the given order.
    Ambix {
        /// SH order.
        order: usize,
    },
    /// Raw capsule signals of a spherical array.
    Array(ArrayGeometry),
}

impl InputKind {
    /// Number of input channels.
    pub fn num_channels(&self) -> usize {
        match self {
            InputKind::Ambix { order } => num_channels(*order),
            InputKind::Array(a) => a.num_capsules(),
        }
    }
}

/// Decoder settings.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    /// Method.
    pub method: Method,
    /// SH order used by the SH-domain methods (array input: ≤ the array's maximum).
    pub order: usize,
    /// FIR length in taps (default 512 at 48 kHz).
    pub filter_len: usize,
    /// MagLS cut-off in Hz (default 2000).
    pub magls_cutoff_hz: f64,
    /// Relative regularisation of the LS solves: singular values below `beta · σ_max` are clipped
    /// to `beta · σ_max` (default 0.01, as in the eMagLS reference code).
    pub beta: f64,
    /// Apply the diffuse-field covariance constraint (Zaunschirm et al. 2018) after the fit.
    pub diffuse_constraint: bool,
    /// Head yaw in degrees (positive: head turns left).
    pub yaw_deg: f64,
    /// Head pitch in degrees (positive: nose up).
    pub pitch_deg: f64,
    /// Head roll in degrees (positive: left ear up).
    pub roll_deg: f64,
    /// Encoder settings for the array → SH chain (LS/MagLS on array input).
    pub encoder: EncoderConfig,
    /// Speed of sound in m/s.
    pub speed_m_s: f64,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            method: Method::MagLs,
            order: 4,
            filter_len: 512,
            magls_cutoff_hz: 2000.0,
            beta: 0.01,
            diffuse_constraint: false,
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: 0.0,
            encoder: EncoderConfig::default(),
            speed_m_s: sphear_core::SPEED_OF_SOUND_M_S,
        }
    }
}

/// A designed binaural decoder.
#[derive(Debug, Clone)]
pub struct BinauralDecoder {
    /// Method used.
    pub method: Method,
    /// Input description.
    pub input: InputKind,
    /// Sample rate in Hz.
    pub sample_rate_hz: f64,
    /// FIR filters `[ear][input channel][tap]`, ear 0 = left.
    pub filters: Vec<Vec<Vec<f32>>>,
    /// Constant delay of the filters in samples (removed by the offline renderer).
    pub delay_samples: usize,
    /// Name of the HRTF set it was designed from.
    pub hrtf_name: String,
}

impl BinauralDecoder {
    /// Design a decoder for `input` from `hrtf`. The HRTF set must be at the processing rate.
    ///
    /// # Errors
    /// Method not applicable to the input, order too high, bad filter length.
    pub fn design(hrtf: &HrtfSet, input: &InputKind, cfg: &DecoderConfig) -> Result<Self> {
        if cfg.filter_len < 32 || cfg.filter_len % 2 != 0 {
            return Err(RenderError::Config(format!(
                "filter length must be even and ≥ 32, got {}",
                cfg.filter_len
            )));
        }
        if hrtf.is_empty() {
            return Err(RenderError::Config("the HRTF set has no directions".into()));
        }
        let fs = hrtf.sample_rate_hz();
        // Design on a frequency grid twice as fine as the FIR length, then keep the central
        // `filter_len` taps (as the eMagLS reference code does): the time aliasing of the
        // designed responses then falls outside the kept taps.
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
        let delay = cfg.filter_len / 2;
        let rot = rotation_from_ypr(
            cfg.yaw_deg.to_radians(),
            cfg.pitch_deg.to_radians(),
            cfg.roll_deg.to_radians(),
        );
        let h = hrtf_set_spectra(hrtf, 0, design_len);
        let dirs = hrtf.directions();

        let filters = match (input, cfg.method) {
            (InputKind::Ambix { order }, Method::Ls | Method::MagLs) => {
                let y = to_complex(&sh_matrix(*order, dirs, Norm::Sn3d));
                let mut ws = design_bins(&bd, |_| y.clone(), |k| h[k].clone());
                if cfg.diffuse_constraint {
                    apply_diffuse_constraint(&mut ws, |_| y.clone(), |k| h[k].clone());
                }
                let firs = design_to_fir(&ws, design_len, cfg.filter_len);
                rotate_sh_firs(firs, *order, &rot)
            }
            (InputKind::Ambix { .. }, _) => {
                return Err(RenderError::Config(format!(
                    "method {} needs raw array (em32) input; for AmbiX input use ls or magls",
                    cfg.method.name()
                )));
            }
            (InputKind::Array(array), Method::Ls | Method::MagLs) => {
                array.check_order(cfg.order)?;
                let enc_cfg = EncoderConfig {
                    order: cfg.order,
                    ..cfg.encoder.clone()
                };
                let enc = EncoderDesign::new(array, fs, &enc_cfg)?;
                let y = to_complex(&sh_matrix(cfg.order, dirs, Norm::Sn3d));
                let mut ws = design_bins(&bd, |_| y.clone(), |k| h[k].clone());
                if cfg.diffuse_constraint {
                    apply_diffuse_constraint(&mut ws, |_| y.clone(), |k| h[k].clone());
                }
                // Rotate in the SH domain, then chain with the encoder's (ideal) transfer matrix.
                let m = sh_rotation_matrix(cfg.order, &mat3_transpose(&rot));
                let mt = to_complex(&m.transpose());
                let ws_cap: Vec<DMatrix<Complex64>> = ws
                    .iter()
                    .enumerate()
                    .map(|(k, w)| {
                        let e = enc.transfer_matrix(bd.freq_hz(k)); // [n_sh × M]
                        e.transpose() * (&mt * w)
                    })
                    .collect();
                design_to_fir(&ws_cap, design_len, cfg.filter_len)
            }
            (InputKind::Array(array), Method::EMagLsSh) => {
                array.check_order(cfg.order)?;
                let enc = EncoderDesign::new(
                    array,
                    fs,
                    &EncoderConfig {
                        order: cfg.order,
                        ..cfg.encoder.clone()
                    },
                )?;
                let spatial = to_complex(&enc.spatial); // [n_sh × M], frequency independent
                let table = SteeringTable::new(array, dirs, fs / 2.0, cfg.speed_m_s);
                let spatial_t = spatial.transpose();
                let g_at = |k: usize| table.matrix(bd.freq_hz(k)) * &spatial_t; // [D × n_sh]
                let mut ws = design_bins(&bd, g_at, |k| h[k].clone());
                if cfg.diffuse_constraint {
                    apply_diffuse_constraint(&mut ws, g_at, |k| h[k].clone());
                }
                let m = sh_rotation_matrix(cfg.order, &mat3_transpose(&rot));
                let mt = to_complex(&m.transpose());
                let ws_rot: Vec<DMatrix<Complex64>> = ws.iter().map(|w| &mt * w).collect();
                // Express as capsule filters (spatial matrix folded in) so one renderer fits all.
                let ws_cap: Vec<DMatrix<Complex64>> =
                    ws_rot.iter().map(|w| spatial.transpose() * w).collect();
                design_to_fir(&ws_cap, design_len, cfg.filter_len)
            }
            (InputKind::Array(array), Method::EMagLs2) => {
                // Exact redesign for a rotated head: the HRTF direction v_d (head frame) is where a
                // plane wave from world direction R·v_d appears; steer the array there.
                let world: Vec<Direction> =
                    dirs.iter().map(|d| rotate_direction(&rot, d)).collect();
                let table = SteeringTable::new(array, &world, fs / 2.0, cfg.speed_m_s);
                let g_at = |k: usize| table.matrix(bd.freq_hz(k));
                let mut ws = design_bins(&bd, g_at, |k| h[k].clone());
                if cfg.diffuse_constraint {
                    apply_diffuse_constraint(&mut ws, g_at, |k| h[k].clone());
                }
                design_to_fir(&ws, design_len, cfg.filter_len)
            }
        };
        Ok(Self {
            method: cfg.method,
            input: input.clone(),
            sample_rate_hz: fs,
            filters,
            delay_samples: delay,
            hrtf_name: hrtf.name().to_string(),
        })
    }

    /// Number of input channels.
    pub fn num_inputs(&self) -> usize {
        self.filters.first().map_or(0, |e| e.len())
    }

    /// Filter length in taps.
    pub fn filter_len(&self) -> usize {
        self.filters
            .first()
            .and_then(|e| e.first())
            .map_or(0, |f| f.len())
    }
}

fn to_complex(m: &DMatrix<f64>) -> DMatrix<Complex64> {
    m.map(|v| Complex64::new(v, 0.0))
}

/// Rotate SH-domain FIRs for a head rotation `rot`: `w' = Mᵀ w` with `M y(u) = y(Rᵀ u)`.
fn rotate_sh_firs(firs: Vec<Vec<Vec<f32>>>, order: usize, rot: &Mat3) -> Vec<Vec<Vec<f32>>> {
    let m = sh_rotation_matrix(order, &mat3_transpose(rot));
    let n = num_channels(order);
    firs.into_iter()
        .map(|ear| {
            (0..n)
                .map(|i| {
                    let len = ear[0].len();
                    let mut out = vec![0.0f32; len];
                    for (j, f) in ear.iter().enumerate() {
                        let g = m[(j, i)] as f32;
                        if g != 0.0 {
                            for (o, v) in out.iter_mut().zip(f) {
                                *o += g * v;
                            }
                        }
                    }
                    out
                })
                .collect()
        })
        .collect()
}
