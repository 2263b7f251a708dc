//! Frequency-domain least-squares and magnitude-least-squares filter design, and conversion of
//! per-bin weights to FIR filters.
//!
//! Per frequency bin `k` the problem is: given the response `G_k` `[D × K]` of the `K`
//! processing channels to a unit plane wave from each of the `D` HRTF directions, and the HRTFs
//! `H_k` `[D × 2]`, find weights `W_k` `[K × 2]` with `G_k W_k ≈ H_k`.
//!
//! * LS: regularised pseudo-inverse through the SVD `G = U Σ Vᴴ`:
//!   `W = V diag(1/max(σ, βσ_max)) Uᴴ H`, i.e. singular values below `β σ_max` are clipped to
//!   `β σ_max` (the regularisation of the eMagLS reference code, `β` = 0.01 by default there and
//!   here). Singular values at or below the numerical-rank tolerance `max(D, K)·ε·σ_max` (as in
//!   MATLAB's `pinv`) are treated as zero, so exact null spaces (e.g. the array at 0 Hz) get no gain.
//! * MagLS (bins at or above the cut-off): the target phase is taken from the previous bin's
//!   solution, `Ĥ_k = |H_k| · exp(i∠(G_k W_{k−1}))`, then LS as above (Schörkhuber et al. 2018).
//!
//! # References
//! * C. Schörkhuber, M. Zaunschirm, R. Höldrich, "Binaural rendering of Ambisonic signals via
//!   magnitude least squares", DAGA 2018.
//! * T. Deppisch, H. Helmholz, J. Ahrens, "End-to-end magnitude least squares binaural rendering
//!   of spherical microphone array signals", I3DA 2021, doi:10.1109/I3DA48870.2021.9610864.

use nalgebra::{DMatrix, DVector};
use num_complex::Complex64;
use rayon::prelude::*;
use realfft::RealFftPlanner;

/// Solve the regularised LS problem `G W ≈ H` for all columns of `h` (see the module docs):
/// `W = V diag(1/max(σ, βσ_max)) Uᴴ H`, singular values at or below `max(D, K)·ε·σ_max` dropped.
///
/// # References
/// T. Deppisch et al., I3DA 2021, and their eMagLS code (`getEMagLs2Filters.m`: `s = 1 ./ max(s,
/// 0.01 * max(s))`).
pub fn regularised_ls(
    g: &DMatrix<Complex64>,
    h: &DMatrix<Complex64>,
    beta: f64,
) -> DMatrix<Complex64> {
    let rank_dim = g.nrows().max(g.ncols());
    if g.nrows() > g.ncols() {
        // Tall system (many directions): G = Q R, then the SVD of the small R (same singular
        // values and right vectors, U = Q U_R), about 4× faster than the SVD of G.
        let k = g.ncols();
        let qr = g.clone().qr();
        let mut qh = h.clone();
        qr.q_tr_mul(&mut qh); // Qᴴ H
        return svd_solve(&qr.r(), &qh.rows(0, k).into_owned(), beta, rank_dim);
    }
    svd_solve(g, h, beta, rank_dim)
}

fn svd_solve(
    g: &DMatrix<Complex64>,
    h: &DMatrix<Complex64>,
    beta: f64,
    rank_dim: usize,
) -> DMatrix<Complex64> {
    let svd = g.clone().svd(true, true);
    let (Some(u), Some(v_t)) = (svd.u.as_ref(), svd.v_t.as_ref()) else {
        return DMatrix::zeros(g.ncols(), h.ncols());
    };
    let s = &svd.singular_values;
    let smax = s.max();
    let floor = beta * smax;
    let rank_tol = rank_dim as f64 * f64::EPSILON * smax;
    let uh_h = u.adjoint() * h; // [r × 2]
    let mut scaled = uh_h;
    for i in 0..s.len() {
        let f = if s[i] > rank_tol {
            1.0 / s[i].max(floor)
        } else {
            0.0
        };
        scaled.row_mut(i).scale_mut(f);
    }
    v_t.adjoint() * scaled
}

/// Settings of the per-bin design.
#[derive(Debug, Clone, Copy)]
pub struct BinDesign {
    /// Sample rate in Hz.
    pub sample_rate_hz: f64,
    /// FFT length = FIR length in taps.
    pub filter_len: usize,
    /// MagLS cut-off in Hz (`None` = plain LS everywhere).
    pub magls_cutoff_hz: Option<f64>,
    /// Relative regularisation β: singular values below `β σ_max` are clipped to `β σ_max`
    /// (see [`regularised_ls`]).
    pub beta: f64,
}

impl BinDesign {
    /// Number of rfft bins `L/2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.filter_len / 2 + 1
    }
    /// Frequency of bin `k` in Hz.
    pub fn freq_hz(&self, k: usize) -> f64 {
        k as f64 * self.sample_rate_hz / self.filter_len as f64
    }
}

/// Run the LS / MagLS design over all bins. `g_at(k)` gives `G_k` `[D × K]`, `h_at(k)` gives
/// `H_k` `[D × 2]`. Returns `W_k` `[K × 2]` per bin.
pub fn design_bins(
    cfg: &BinDesign,
    g_at: impl Fn(usize) -> DMatrix<Complex64> + Sync,
    h_at: impl Fn(usize) -> DMatrix<Complex64> + Sync,
) -> Vec<DMatrix<Complex64>> {
    // Bins are processed in chunks: the (expensive) G_k and the plain-LS solves of a chunk run in
    // parallel; the MagLS bins need the previous bin's solution and run in order.
    const CHUNK_BINS: usize = 16;
    let n = cfg.n_bins();
    let is_mag = |k: usize| k > 0 && cfg.magls_cutoff_hz.is_some_and(|fc| cfg.freq_hz(k) >= fc);
    let mut out: Vec<DMatrix<Complex64>> = Vec::with_capacity(n);
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + CHUNK_BINS).min(n);
        type BinWork = (
            DMatrix<Complex64>,
            DMatrix<Complex64>,
            Option<DMatrix<Complex64>>,
        );
        let gh: Vec<BinWork> = (k0..k1)
            .into_par_iter()
            .map(|k| {
                let g = g_at(k);
                let h = h_at(k);
                let ls = if is_mag(k) {
                    None
                } else {
                    Some(regularised_ls(&g, &h, cfg.beta))
                };
                (g, h, ls)
            })
            .collect();
        for (i, (g, h, ls)) in gh.into_iter().enumerate() {
            let k = k0 + i;
            let w = match ls {
                Some(w) => w,
                None => {
                    let prev = &out[k - 1];
                    let est = &g * prev; // [D × 2]
                    let target = DMatrix::from_fn(h.nrows(), h.ncols(), |d, e| {
                        Complex64::from_polar(h[(d, e)].norm(), est[(d, e)].arg())
                    });
                    regularised_ls(&g, &target, cfg.beta)
                }
            };
            out.push(w);
        }
        k0 = k1;
    }
    out
}

/// Convert per-bin weights `W_k` `[K × 2]` to FIR filters `[ear][channel][tap]` of `filter_len`
/// taps with a linear-phase delay of `delay_samples` and short raised-cosine tapers at both ends
/// (`filter_len/16` taps).
pub fn weights_to_fir(
    ws: &[DMatrix<Complex64>],
    filter_len: usize,
    delay_samples: usize,
) -> Vec<Vec<Vec<f32>>> {
    let n_ch = ws.first().map_or(0, |w| w.nrows());
    let mut planner = RealFftPlanner::<f64>::new();
    let inv = planner.plan_fft_inverse(filter_len);
    let taper = (filter_len / 16).max(1);
    let window: Vec<f64> = (0..filter_len)
        .map(|t| {
            if t < taper {
                0.5 - 0.5 * (std::f64::consts::PI * (t as f64 + 0.5) / taper as f64).cos()
            } else if t >= filter_len - taper {
                0.5 - 0.5
                    * (std::f64::consts::PI * ((filter_len - t) as f64 - 0.5) / taper as f64).cos()
            } else {
                1.0
            }
        })
        .collect();
    let mut firs = vec![vec![vec![0.0f32; filter_len]; n_ch]; 2];
    for (e, ear) in firs.iter_mut().enumerate() {
        for (c, fir) in ear.iter_mut().enumerate() {
            let mut spec = inv.make_input_vec();
            for (k, s) in spec.iter_mut().enumerate() {
                let ph = -2.0 * std::f64::consts::PI * k as f64 * delay_samples as f64
                    / filter_len as f64;
                *s = ws[k][(c, e)] * Complex64::from_polar(1.0, ph);
            }
            spec[0].im = 0.0;
            let last = spec.len() - 1;
            spec[last].im = 0.0;
            let mut out = inv.make_output_vec();
            let _ = inv.process(&mut spec, &mut out);
            for (t, v) in fir.iter_mut().enumerate() {
                *v = (out[t] * window[t] / filter_len as f64) as f32;
            }
        }
    }
    firs
}

/// FIRs of `filter_len` taps, delay `filter_len/2`, from weights designed on `design_len` bins:
/// the `design_len`-tap responses (delay `design_len/2`) are cut to their central `filter_len`
/// taps, with raised-cosine tapers of `filter_len/16` taps at both ends.
pub fn design_to_fir(
    ws: &[DMatrix<Complex64>],
    design_len: usize,
    filter_len: usize,
) -> Vec<Vec<Vec<f32>>> {
    let full = weights_to_fir(ws, design_len, design_len / 2);
    let start = design_len / 2 - filter_len / 2;
    let taper = (filter_len / 16).max(1);
    full.into_iter()
        .map(|ear| {
            ear.into_iter()
                .map(|f| {
                    let mut x = f[start..start + filter_len].to_vec();
                    for t in 0..taper {
                        let w = (0.5
                            - 0.5 * (std::f64::consts::PI * (t as f64 + 0.5) / taper as f64).cos())
                            as f32;
                        x[t] *= w;
                        x[filter_len - 1 - t] *= w;
                    }
                    x
                })
                .collect()
        })
        .collect()
}

/// [`hrtf_spectra`] of every direction of `hrtf`, each IR starting `onset_samples` in (0 = as
/// measured; a low-latency design drops the set's common leading delay).
///
/// # Panics
/// `onset_samples` beyond the IR length.
pub fn hrtf_set_spectra(
    hrtf: &sphear_hrtf::HrtfSet,
    onset_samples: usize,
    filter_len: usize,
) -> Vec<DMatrix<Complex64>> {
    use sphear_hrtf::Ear;
    let left: Vec<&[f32]> = (0..hrtf.len())
        .map(|i| &hrtf.ir(i, Ear::Left)[onset_samples..])
        .collect();
    let right: Vec<&[f32]> = (0..hrtf.len())
        .map(|i| &hrtf.ir(i, Ear::Right)[onset_samples..])
        .collect();
    hrtf_spectra(&left, &right, filter_len)
}

/// Spectra of HRIRs on the design grid: `[bin] → [D × 2]`, HRIRs truncated (with a short
/// fade-out) or zero-padded to `filter_len`.
pub fn hrtf_spectra(
    left: &[&[f32]],
    right: &[&[f32]],
    filter_len: usize,
) -> Vec<DMatrix<Complex64>> {
    let d = left.len();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(filter_len);
    let n_bins = filter_len / 2 + 1;
    let mut out = vec![DMatrix::<Complex64>::zeros(d, 2); n_bins];
    let fade = 16.min(filter_len / 4);
    for (e, irs) in [left, right].iter().enumerate() {
        for (i, ir) in irs.iter().enumerate() {
            let mut buf = vec![0.0f64; filter_len];
            let n = ir.len().min(filter_len);
            for t in 0..n {
                let mut v = ir[t] as f64;
                if ir.len() > filter_len && t >= n - fade {
                    v *= 0.5
                        + 0.5
                            * (std::f64::consts::PI * (t - (n - fade)) as f64 / fade as f64).cos();
                }
                buf[t] = v;
            }
            let mut spec = fwd.make_output_vec();
            let _ = fwd.process(&mut buf, &mut spec);
            for (k, s) in spec.iter().enumerate() {
                out[k][(i, e)] = *s;
            }
        }
    }
    out
}

/// Diffuse-field covariance constraint (after Zaunschirm, Schörkhuber, Höldrich 2018).
///
/// For each bin, the 2×2 interaural covariance of the decoder's response to a diffuse field,
/// `R̂ = (G W)ᴴ (G W) / D`, is made equal to that of the HRTFs, `R = Hᴴ H / D` (uniform weights
/// over the grid directions), by `W' = W M` with `M = X̂⁻¹ P X`, where `R = XᴴX`, `R̂ = X̂ᴴX̂`
/// (Cholesky) and `P` the unitary matrix that makes `M` closest to the identity
/// (maximises `Re tr M`: `P = V Uᴴ` for the SVD `X X̂⁻¹ = U S Vᴴ`). Then `Mᴴ R̂ M = R` exactly,
/// so diffuse-field coherence and ear energies match the HRTF set. Bins where either covariance
/// is not positive definite are left unchanged.
///
/// # References
/// M. Zaunschirm, C. Schörkhuber, R. Höldrich, "Binaural rendering of Ambisonic signals by
/// head-related impulse response time alignment and a diffuseness constraint", JASA 143(6), 2018.
pub fn apply_diffuse_constraint(
    ws: &mut [DMatrix<Complex64>],
    mut g_at: impl FnMut(usize) -> DMatrix<Complex64>,
    mut h_at: impl FnMut(usize) -> DMatrix<Complex64>,
) {
    for (k, w) in ws.iter_mut().enumerate() {
        let g = g_at(k);
        let h = h_at(k);
        let d = h.nrows().max(1) as f64;
        let r = (h.adjoint() * &h).unscale(d);
        let est = &g * &*w;
        let r_hat = (est.adjoint() * &est).unscale(d);
        if let Some(m) = covariance_mixing(&r, &r_hat) {
            *w = &*w * m;
        }
    }
}

/// `M` with `Mᴴ R̂ M = R`, closest to identity (see [`apply_diffuse_constraint`]).
pub fn covariance_mixing(
    r: &DMatrix<Complex64>,
    r_hat: &DMatrix<Complex64>,
) -> Option<DMatrix<Complex64>> {
    // nalgebra's Cholesky gives lower L with A = L Lᴴ; X = Lᴴ is upper with A = Xᴴ X.
    let x = r.clone().cholesky()?.l().adjoint();
    let x_hat = r_hat.clone().cholesky()?.l().adjoint();
    let x_hat_inv = x_hat.clone().try_inverse()?;
    let b = &x * &x_hat_inv;
    let svd = b.svd(true, true);
    let p = svd.v_t?.adjoint() * svd.u?.adjoint();
    Some(x_hat_inv * p * x)
}

/// A column vector helper.
pub fn col(v: &[Complex64]) -> DVector<Complex64> {
    DVector::from_column_slice(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_recovers_exact_solution() {
        // Overdetermined consistent system: G W = H exactly -> LS with tiny beta recovers W.
        let g = DMatrix::from_fn(20, 4, |i, j| {
            Complex64::new(
                ((i * 3 + j * 7) % 11) as f64 - 5.0,
                ((i + 2 * j) % 5) as f64,
            )
        });
        let w = DMatrix::from_fn(4, 2, |i, j| Complex64::new(i as f64 - 1.5, j as f64 + 0.5));
        let h = &g * &w;
        let est = regularised_ls(&g, &h, 1e-9);
        assert!((est - w).norm() < 1e-6);
    }

    #[test]
    fn covariance_mixing_matches_target_exactly() {
        let c = |re: f64, im: f64| Complex64::new(re, im);
        let r =
            DMatrix::from_row_slice(2, 2, &[c(2.0, 0.0), c(0.3, 0.4), c(0.3, -0.4), c(1.5, 0.0)]);
        let r_hat =
            DMatrix::from_row_slice(2, 2, &[c(1.0, 0.0), c(0.9, 0.1), c(0.9, -0.1), c(1.2, 0.0)]);
        let m = covariance_mixing(&r, &r_hat).expect("pd");
        let got = m.adjoint() * &r_hat * &m;
        assert!((got - &r).norm() < 1e-12);
        // Already matching -> identity.
        let m2 = covariance_mixing(&r, &r).expect("pd");
        assert!((m2 - DMatrix::<Complex64>::identity(2, 2)).norm() < 1e-12);
    }

    #[test]
    fn fir_of_flat_weights_is_delayed_impulse() {
        let l = 64;
        let ws = vec![DMatrix::from_element(1, 2, Complex64::new(1.0, 0.0)); l / 2 + 1];
        let f = weights_to_fir(&ws, l, 32);
        for ear in &f {
            for (t, &v) in ear[0].iter().enumerate() {
                let want = if t == 32 { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-6, "t={t} v={v}");
            }
        }
    }
}
