//! Output heads.
//!
//! * **Direct** (the paper): each ear branch ends in a 1×1 convolution to `Re`, `Im` of that ear's
//!   STFT.
//! * **Residual** (a signal-dependent beamformer): each ear branch predicts a complex correction
//!   `ΔW_e(c, f, t)` of per-bin weights for the `C` capsule STFTs; the ear signal is
//!   `Y_e(f, t) = Σ_c (W_e^eMagLS(c, f) + ΔW_e(c, f, t)) · X_c(f, t)`. The correction's output
//!   convolution is initialised to zero, so the untrained network is exactly eMagLS applied in the
//!   STFT domain.
//!
//! The eMagLS weights are the end-to-end MagLS design on the capsule signals ("eMagLS2",
//! Deppisch, Helmholz & Ahrens, I3DA 2021) of `sphear_render` ([`sphear_render::design`]:
//! regularised LS below the cut-off, MagLS with phase continuation above), run on the STFT's own
//! frequency grid (`n_fft` bins, HRIRs cut to `n_fft` taps), without the FIR truncation and the
//! constant delay of the time-domain decoder. For a frame product to equal linear convolution the
//! weights' impulse responses would have to fit into the frame together with the windowed signal;
//! they do not exactly (see `NETWORK.md`, "Parity"), which is the measured gap to the time-domain
//! renderer.

use burn::prelude::*;
use nalgebra::DMatrix;
use num_complex::Complex64;

use sphear_hrtf::HrtfSet;
use sphear_render::design::{BinDesign, design_bins, hrtf_set_spectra};
use sphear_render::steering::SteeringTable;
use sphear_sh::array::ArrayGeometry;

use crate::{NeuralError, Result};

/// `Y = Σ_c W_c X_c` for complex `W`, `X` given as real/imaginary tensors `[B, C, F, T]`
/// (summed over the capsule axis 1): returns `(Re Y, Im Y)`, each `[B, 1, F, T]`.
pub fn apply_beamformer(
    w_re: Tensor<4>,
    w_im: Tensor<4>,
    x_re: Tensor<4>,
    x_im: Tensor<4>,
) -> (Tensor<4>, Tensor<4>) {
    let y_re = (w_re.clone() * x_re.clone() - w_im.clone() * x_im.clone()).sum_dim(1);
    let y_im = (w_re * x_im + w_im * x_re).sum_dim(1);
    (y_re, y_im)
}

/// eMagLS per-bin weights on an STFT grid: `[ear][capsule][bin]` (ear 0 = left).
#[derive(Debug, Clone)]
pub struct EmaglsWeights {
    /// Capsules `C`.
    pub n_caps: usize,
    /// Bins `n_fft/2 + 1`.
    pub n_bins: usize,
    /// Weights `[2][C][F]`.
    pub w: Vec<Vec<Vec<Complex64>>>,
}

/// eMagLS design settings (defaults as `sphear render --method emagls`).
#[derive(Debug, Clone, Copy)]
pub struct EmaglsDesign {
    /// MagLS cut-off in Hz (default 2000).
    pub magls_cutoff_hz: f64,
    /// LS regularisation β (default 0.01).
    pub beta: f64,
    /// Speed of sound in m/s.
    pub speed_m_s: f64,
}

impl Default for EmaglsDesign {
    fn default() -> Self {
        Self {
            magls_cutoff_hz: 2000.0,
            beta: 0.01,
            speed_m_s: sphear_core::SPEED_OF_SOUND_M_S,
        }
    }
}

impl EmaglsWeights {
    /// Design on the grid of an `n_fft`-point STFT at the HRTF set's sample rate (see the module
    /// docs): `W_k = argmin` of the eMagLS problem `G_k W ≈ H_k` with the array's analytic
    /// plane-wave steering `G_k` `[D × C]` and the HRTFs `H_k` `[D × 2]`.
    ///
    /// # Errors
    /// Empty HRTF set or an odd/too short `n_fft`.
    pub fn design(
        hrtf: &HrtfSet,
        array: &ArrayGeometry,
        n_fft: usize,
        opts: &EmaglsDesign,
    ) -> Result<Self> {
        if hrtf.is_empty() || n_fft < 4 || n_fft % 2 != 0 {
            return Err(NeuralError::Config(format!(
                "eMagLS design needs a non-empty HRTF set and an even n_fft ≥ 4 (got {n_fft})"
            )));
        }
        let fs = hrtf.sample_rate_hz();
        let bd = BinDesign {
            sample_rate_hz: fs,
            filter_len: n_fft,
            magls_cutoff_hz: Some(opts.magls_cutoff_hz),
            beta: opts.beta,
        };
        let h = hrtf_set_spectra(hrtf, 0, n_fft);
        let table = SteeringTable::new(array, hrtf.directions(), fs / 2.0, opts.speed_m_s);
        let ws: Vec<DMatrix<Complex64>> =
            design_bins(&bd, |k| table.matrix(bd.freq_hz(k)), |k| h[k].clone());
        let n_caps = array.num_capsules();
        let n_bins = bd.n_bins();
        let w = (0..2)
            .map(|e| {
                (0..n_caps)
                    .map(|c| (0..n_bins).map(|k| ws[k][(c, e)]).collect())
                    .collect()
            })
            .collect();
        Ok(Self { n_caps, n_bins, w })
    }

    /// As tensors `[2, C, F, 1]` (re, im) on `device`.
    pub fn to_tensors(&self, device: &Device) -> EmaglsTensors {
        let mut re = Vec::with_capacity(2 * self.n_caps * self.n_bins);
        let mut im = Vec::with_capacity(re.capacity());
        for ear in &self.w {
            for ch in ear {
                for v in ch {
                    re.push(v.re as f32);
                    im.push(v.im as f32);
                }
            }
        }
        let shape = [2, self.n_caps, self.n_bins, 1];
        EmaglsTensors {
            re: Tensor::from_data(TensorData::new(re, shape), device),
            im: Tensor::from_data(TensorData::new(im, shape), device),
        }
    }
}

/// eMagLS weights as tensors `[2, C, F, 1]`.
#[derive(Debug, Clone)]
pub struct EmaglsTensors {
    /// Real part.
    pub re: Tensor<4>,
    /// Imaginary part.
    pub im: Tensor<4>,
}
