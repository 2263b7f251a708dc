//! Rigid/open sphere plane-wave model (mode strengths, capsule pressures, impulse responses).
//!
//! ## Physics and conventions
//! A unit plane wave arrives **from** the direction `u` (it travels towards `−u`). With the
//! project's `e^{+iωt}` convention its free-field pressure at the point `x` is `exp(+i k u·x)`
//! (points nearer the source receive it earlier: phase advance), `k = ω/c`. By Jacobi–Anger and the
//! addition theorem,
//!
//! `exp(i k u·x) = Σ_n (2n+1) i^n j_n(k|x|) P_n(cos Θ)`, `Θ` = angle between `x` and `u`.
//!
//! On a sphere of radius `a` the pressure at a surface point is `p = Σ_n (2n+1) b_n(ka) P_n(cos Θ)`
//! with the **mode strength**
//! * open (transparent) sphere: `b_n = i^n j_n(ka)`;
//! * rigid sphere (zero normal velocity on the surface):
//!   `b_n = i^n [j_n(ka) − j_n'(ka) h⁽²⁾_n(ka) / h⁽²⁾_n'(ka)] = i^{n−1} / ((ka)² h⁽²⁾_n'(ka))`
//!   (second form by the Wronskian `j_n y_n' − j_n' y_n = 1/x²`). `h⁽²⁾_n = j_n − i y_n` is the
//!   outgoing wave for `e^{+iωt}`.
//!
//! Normalisation: `b_0 → 1` as `ka → 0` (pressure relative to the free-field pressure at the sphere
//! centre). Rafaely's `b_n` (e.g. *Fundamentals of Spherical Array Processing*, eq. 4.3) includes
//! the `4π` of the SH addition theorem: `b_n^{Rafaely} = 4π b_n^{here}`; note also that Rafaely uses
//! `e^{−iωt}` with `h⁽¹⁾`, i.e. the complex conjugate of these values.
//!
//! Negative frequencies: the impulse responses are real, so `b_n(−ka) = conj(b_n(ka))`.
//!
//! # References
//! * E. G. Williams, *Fourier Acoustics*, Academic Press 1999, §6.10 (scattering from a rigid
//!   sphere).
//! * B. Rafaely, *Fundamentals of Spherical Array Processing*, 2nd ed., Springer 2019, §4.2–4.3.
//! * J. Meyer and G. Elko, "A highly scalable spherical microphone array based on an orthonormal
//!   decomposition of the soundfield", ICASSP 2002 (the em32 design).

use num_complex::Complex64;
use realfft::RealFftPlanner;
use sphear_core::Direction;
use sphear_core::geom::dot3;
use sphear_core::special::{legendre_p, sph_bessel_j, sph_hankel2_deriv};

/// Kind of sphere the capsules sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SphereKind {
    /// Capsules flush-mounted on a rigid (acoustically hard) sphere, e.g. the em32.
    Rigid,
    /// Capsules in free field on an acoustically transparent sphere.
    Open,
}

/// `i^n` for integer `n` (exact, no trigonometry).
fn i_pow(n: i64) -> Complex64 {
    match n.rem_euclid(4) {
        0 => Complex64::new(1.0, 0.0),
        1 => Complex64::new(0.0, 1.0),
        2 => Complex64::new(-1.0, 0.0),
        _ => Complex64::new(0.0, -1.0),
    }
}

/// `1/z` by Smith's algorithm: no spurious overflow, and `1/∞ = 0` (never NaN) when one part is
/// infinite and the other finite.
fn recip(z: Complex64) -> Complex64 {
    let (a, b) = (z.re, z.im);
    if b.is_infinite() || a.is_infinite() {
        return Complex64::new(0.0, 0.0);
    }
    if a.abs() >= b.abs() {
        let t = b / a;
        let d = a + b * t;
        Complex64::new(1.0 / d, -t / d)
    } else {
        let t = a / b;
        let d = a * t + b;
        Complex64::new(t / d, -1.0 / d)
    }
}

/// Mode strengths `b_0(kr) ..= b_{n_max}(kr)` of a unit plane wave on an open or rigid sphere.
///
/// * Open: `b_n = i^n j_n(kr)`.
/// * Rigid: `b_n = i^{n−1} / ((kr)² h⁽²⁾_n'(kr))` (Wronskian form of
///   `i^n [j_n − j_n' h⁽²⁾_n / h⁽²⁾_n']`), evaluated with an overflow-safe reciprocal: for small
///   `kr` and high `n`, `h⁽²⁾_n'` overflows and `b_n` correctly becomes 0 (true value below
///   ~1e-300), never NaN/∞ (checked down to `kr = 1e−9`, `n = 100`).
///
/// Normalised so that `b_0 → 1` for `kr → 0` (pressure relative to the free field at the centre;
/// `b_n^{Rafaely} = 4π b_n`). `kr = 0` returns exactly `[1, 0, 0, …]`; `kr < 0` returns
/// `conj(b_n(|kr|))` (real impulse responses); NaN gives NaNs. Time convention `e^{+iωt}`.
///
/// ```
/// use sphear_sh::modal::{mode_strength, SphereKind};
/// let b = mode_strength(3, 1e-4, SphereKind::Rigid);
/// assert!((b[0].re - 1.0).abs() < 1e-6 && b[3].norm() < 1e-10);
/// ```
///
/// # References
/// E. G. Williams, *Fourier Acoustics* (1999), eq. 6.185; B. Rafaely, *Fundamentals of Spherical
/// Array Processing* (2019), §4.2–4.3.
pub fn mode_strength(n_max: usize, kr: f64, kind: SphereKind) -> Vec<Complex64> {
    if kr.is_nan() {
        return vec![Complex64::new(f64::NAN, f64::NAN); n_max + 1];
    }
    if kr == 0.0 {
        let mut b = vec![Complex64::new(0.0, 0.0); n_max + 1];
        b[0] = Complex64::new(1.0, 0.0);
        return b;
    }
    let x = kr.abs();
    let mut b: Vec<Complex64> = match kind {
        SphereKind::Open => sph_bessel_j(n_max, x)
            .iter()
            .enumerate()
            .map(|(n, &j)| i_pow(n as i64) * j)
            .collect(),
        SphereKind::Rigid => sph_hankel2_deriv(n_max, x)
            .iter()
            .enumerate()
            .map(|(n, &hp)| {
                // x² h' computed per part; an infinite imaginary part (overflowed y_n') → b_n = 0.
                let d = Complex64::new(x * x * hp.re, x * x * hp.im);
                i_pow(n as i64 - 1) * recip(d)
            })
            .collect(),
    };
    if kr < 0.0 {
        for v in &mut b {
            *v = v.conj();
        }
    }
    b
}

/// Number of terms (highest order `n`) used by [`plane_wave_pressure`] at argument `kr`:
/// `max(30, ceil(e·|kr|/2) + 20)`.
///
/// Rationale: for `n > e·x/2`, `j_n(x) < (e x / (2n+1))^n / sqrt(2)·…` decays faster than
/// geometrically (Debye / Stirling bound on `x^n/(2n+1)!!`), and the rigid-sphere `b_n` has the same
/// decay (`|b_n| ≈ j_n'`-like, since `|x² h⁽²⁾_n'| ≥ (n+1)(2n−1)!!/x^n`). With 20 extra orders the
/// discarded tail of `Σ (2n+1) |b_n|` is below 1e-10 for every `kr` (tested for `kr ≤ 300`
/// against twice the order). `kr` NaN or infinite gives 30.
///
/// # References
/// B. Rafaely, *Fundamentals of Spherical Array Processing* (2019), §3.4 (truncation `N ≈ ekr/2`).
pub fn default_truncation_order(kr: f64) -> usize {
    let x = kr.abs();
    if !x.is_finite() {
        return 30;
    }
    ((std::f64::consts::E * x / 2.0).ceil() as usize + 20).max(30)
}

/// Pressure at each capsule of a sphere for a unit plane wave arriving from `source`.
///
/// `p_q = Σ_{n ≤ N} (2n+1) b_n(ka) P_n(cos Θ_q)`, `Θ_q` the angle between capsule `q` and the
/// source, `k = 2π freq_hz / speed_m_s`, `N =` [`default_truncation_order`]`(ka)`; relative to the
/// free-field pressure at the sphere centre, time convention `e^{+iωt}` (the capsule facing the
/// source has a phase advance ≈ `+ka`). The capsules are taken on the sphere surface (radius
/// `radius_m`; for `Open`, the pressure is exactly `exp(i k a cos Θ)`). Negative frequencies give
/// the complex conjugate; non-finite inputs give NaNs (no panic).
///
/// # References
/// E. G. Williams, *Fourier Acoustics* (1999), §6.10; addition theorem DLMF 14.18.E1.
pub fn plane_wave_pressure(
    capsules: &[Direction],
    radius_m: f64,
    kind: SphereKind,
    source: &Direction,
    freq_hz: f64,
    speed_m_s: f64,
) -> Vec<Complex64> {
    let ka = 2.0 * std::f64::consts::PI * freq_hz * radius_m / speed_m_s;
    let n_max = default_truncation_order(ka);
    let b = mode_strength(n_max, ka, kind);
    let weights: Vec<Complex64> = b
        .iter()
        .enumerate()
        .map(|(n, bn)| bn * (2 * n + 1) as f64)
        .collect();
    let u = source.to_cartesian();
    capsules
        .iter()
        .map(|c| {
            let cos_theta = dot3(c.to_cartesian(), u).clamp(-1.0, 1.0);
            let p = legendre_p(n_max, cos_theta);
            weights.iter().zip(&p).map(|(w, pn)| w * pn).sum()
        })
        .collect()
}

/// Fraction of the Nyquist frequency where the band-edge taper of [`plane_wave_irs`] starts.
///
/// The sampled transfer function generally has a phase discontinuity at Nyquist (the acoustic
/// delays `±a/c` are fractional), which would give `sinc`-like impulse-response tails decaying
/// only as `1/t` (≈ −25 dB of energy 60 samples away). A raised-cosine roll-off from
/// `0.8·f_s/2` to `f_s/2` (19.2–24 kHz at 48 kHz) makes the spectrum smooth and periodic, so the
/// tails decay as `1/t³`.
pub const IR_TAPER_START_FRACTION_OF_NYQUIST: f64 = 0.8;

/// Gain of the band-edge taper of [`plane_wave_irs`] at `freq_hz` (uses `|freq_hz|`).
///
/// `1` below `f_0 = IR_TAPER_START_FRACTION_OF_NYQUIST · f_s/2`, then
/// `½ (1 + cos(π (f − f_0)/(f_s/2 − f_0)))` up to Nyquist (where it is 0), 0 above.
pub fn ir_band_taper(freq_hz: f64, sample_rate_hz: f64) -> f64 {
    let nyq = sample_rate_hz / 2.0;
    let f0 = IR_TAPER_START_FRACTION_OF_NYQUIST * nyq;
    let f = freq_hz.abs();
    if f <= f0 {
        1.0
    } else if f >= nyq {
        0.0
    } else {
        0.5 * (1.0 + (std::f64::consts::PI * (f - f0) / (nyq - f0)).cos())
    }
}

/// Impulse responses (one per capsule, `n_taps` long) of [`plane_wave_pressure`], delayed by
/// `delay_samples` (fractional allowed) so that sample index `delay_samples` is the arrival of the
/// wave at the sphere centre.
///
/// Method: `H_q(f_k) · e^{−i 2π f_k · delay_samples / f_s} · T(f_k)` on the rfft grid of length
/// `L = next_pow2(max(4·n_taps, 1024))` (`f_k = k f_s / L`), `T` = [`ir_band_taper`] (zero at
/// Nyquist, so that bin is real), inverse real FFT (scaled by `1/L`), first `n_taps` samples kept.
///
/// Errors of this construction (relative to the band-limited, tapered continuous-frequency
/// response): (1) time aliasing: the response is periodised with period `L ≥ 4·n_taps`;
/// (2) truncation to `[0, n_taps)`. Both are bounded by the IR energy outside the window, which
/// for the em32 (a = 4.2 cm, 48 kHz, `n_taps = 256`, `delay_samples = 64`) is below −60 dB (tested;
/// the acoustic part of the response lasts ±a/c·(1 + π/2) ≈ ±15 samples around the delay). Choose
/// `delay_samples ≳ a f_s / c + 40` and `n_taps − delay_samples ≳ 100` to keep that.
///
/// Returns empty vectors for `n_taps = 0`; non-finite or non-positive `sample_rate_hz` gives NaN
/// responses (no panic).
///
/// # References
/// E. G. Williams, *Fourier Acoustics* (1999), §6.10; A. V. Oppenheim and R. W. Schafer,
/// *Discrete-Time Signal Processing*, 3rd ed., §8.4 (sampling the DTFT, time aliasing).
#[allow(clippy::too_many_arguments)]
pub fn plane_wave_irs(
    capsules: &[Direction],
    radius_m: f64,
    kind: SphereKind,
    source: &Direction,
    sample_rate_hz: f64,
    n_taps: usize,
    delay_samples: f64,
    speed_m_s: f64,
) -> Vec<Vec<f64>> {
    if n_taps == 0 {
        return vec![Vec::new(); capsules.len()];
    }
    if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
        return vec![vec![f64::NAN; n_taps]; capsules.len()];
    }
    let fft_len = (4 * n_taps).max(1024).next_power_of_two();
    let n_bins = fft_len / 2 + 1;
    let mut spectra = vec![vec![Complex64::new(0.0, 0.0); n_bins]; capsules.len()];
    for k in 0..n_bins {
        let f_hz = k as f64 * sample_rate_hz / fft_len as f64;
        let taper = ir_band_taper(f_hz, sample_rate_hz);
        if taper == 0.0 {
            continue;
        }
        let p = plane_wave_pressure(capsules, radius_m, kind, source, f_hz, speed_m_s);
        // e^{−iωτ}: phase 2π k delay / L, reduced modulo 2π in integer-friendly form.
        let phase =
            -2.0 * std::f64::consts::PI * ((k as f64 * delay_samples) / fft_len as f64).fract();
        let shift = Complex64::from_polar(taper, phase);
        for (s, pq) in spectra.iter_mut().zip(&p) {
            s[k] = pq * shift;
        }
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let c2r = planner.plan_fft_inverse(fft_len);
    let mut time = c2r.make_output_vec();
    let scale = 1.0 / fft_len as f64;
    spectra
        .into_iter()
        .map(|mut s| {
            // Bins 0 and Nyquist must be real for the c2r transform (DC is real since p(0) = 1;
            // Nyquist is 0 by the taper); force exactly.
            s[0].im = 0.0;
            s[n_bins - 1].im = 0.0;
            if c2r.process(&mut s, &mut time).is_err() {
                return vec![f64::NAN; n_taps];
            }
            time.iter().take(n_taps).map(|v| v * scale).collect()
        })
        .collect()
}
