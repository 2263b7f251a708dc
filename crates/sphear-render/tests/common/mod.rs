//! Helpers shared by the acceptance tests of the binaural renderers: data paths, loading of the
//! KU100 HRTF and of the published eMagLS2 filters, rendering and the binaural metrics.
//!
//! Data live in `/work/shared/data` (beside the repository in CI); nothing from there is copied
//! into the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sphear_core::conv::fft_convolve;
use sphear_core::stream::process_buffers;
use sphear_eval::{bands, itd};
use sphear_hrtf::HrtfSet;
use sphear_render::{BinauralDecoder, BinauralRenderer};

/// Processing sample rate of every test (em32 and the KU100 set are at 48 kHz).
pub const FS_HZ: f64 = 48_000.0;

/// Block length of the renderer in the tests.
pub const BLOCK_LEN: usize = 4096;

/// GCC-PHAT band (Hz) and lag search range (s) for the ITD, as specified for the project.
pub const ITD_F_LO_HZ: f64 = 100.0;
/// Upper edge of the GCC-PHAT band (Hz).
pub const ITD_F_HI_HZ: f64 = 1500.0;
/// Largest interaural lag searched (s).
pub const ITD_MAX_LAG_S: f64 = 1.0e-3;

/// Absolute path of a file under the shared data directory; fails with a clear message if the
/// data directory is missing.
pub fn data_path(rel: &str) -> PathBuf {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    assert!(
        root.is_dir(),
        "shared data directory {} is missing: these acceptance tests need /work/shared/data \
         (in CI it is checked out beside the repository as shared/data)",
        root.display()
    );
    let p = root.join(rel);
    assert!(
        p.is_file(),
        "data file {} is missing from the shared data directory",
        p.display()
    );
    p
}

/// The KU100 set (TH Köln, Lebedev L2354 grid, 48 kHz) from libmysofa's copy.
pub fn load_ku100() -> HrtfSet {
    let p = data_path("sofa_libmysofa/FHK_HRIR_L2354.sofa");
    HrtfSet::from_sofa(&p, Some(FS_HZ))
        .expect("load KU100 L2354 SOFA")
        .set
}

/// Render planar input signals through a decoder with the block renderer, latency removed.
pub fn render(dec: &BinauralDecoder, signals: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let mut r = BinauralRenderer::new(dec, BLOCK_LEN).expect("renderer");
    process_buffers(&mut r, signals).expect("render")
}

/// Apply a `[ear][channel][tap]` FIR matrix to planar input by direct FFT convolution and remove
/// `latency_samples` (output length = input length). An independent path from the block renderer.
pub fn apply_fir_matrix(
    firs: &[Vec<Vec<f32>>],
    signals: &[Vec<f32>],
    latency_samples: usize,
) -> Vec<Vec<f32>> {
    let len = signals[0].len();
    firs.iter()
        .map(|ear| {
            let mut acc = vec![0.0f64; len + ear[0].len()];
            for (h, x) in ear.iter().zip(signals) {
                for (a, v) in acc.iter_mut().zip(fft_convolve(x, h)) {
                    *a += f64::from(v);
                }
            }
            acc[latency_samples..latency_samples + len]
                .iter()
                .map(|&v| v as f32)
                .collect()
        })
        .collect()
}

/// Binaural metrics of a test rendering against a reference.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    /// ITD of the test signal (µs, t_right − t_left, GCC-PHAT 100–1500 Hz).
    pub itd_us: f64,
    /// ITD of the reference (µs).
    pub itd_ref_us: f64,
    /// Mean |ΔILD| over third-octave bands 1–8 kHz (dB).
    pub ild_err_db: f64,
    /// Band LSD 0.1–16 kHz, mean of the two ears (dB).
    pub lsd_db: f64,
    /// Band LSD 0.1–4 kHz (dB, mean of ears).
    pub lsd_lo_db: f64,
    /// Band LSD 6–16 kHz (dB, mean of ears).
    pub lsd_hi_db: f64,
}

impl Metrics {
    /// |ΔITD| in µs.
    pub fn itd_err_us(&self) -> f64 {
        (self.itd_us - self.itd_ref_us).abs()
    }
}

/// GCC-PHAT ITD in µs.
pub fn itd_us(sig: &[Vec<f32>]) -> f64 {
    itd::gcc_phat_itd_s(
        &sig[0],
        &sig[1],
        FS_HZ,
        ITD_F_LO_HZ,
        ITD_F_HI_HZ,
        ITD_MAX_LAG_S,
    )
    .expect("gcc-phat ITD")
        * 1e6
}

/// Band LSD (dB), mean of the two ears, over `[f_lo, f_hi]`.
pub fn lsd2_db(test: &[Vec<f32>], reference: &[Vec<f32>], f_lo_hz: f64, f_hi_hz: f64) -> f64 {
    (0..2)
        .map(|e| {
            bands::lsd_bands_db(&test[e], &reference[e], FS_HZ, f_lo_hz, f_hi_hz).expect("LSD")
        })
        .sum::<f64>()
        / 2.0
}

/// All metrics of `test` against `reference`.
pub fn metrics(test: &[Vec<f32>], reference: &[Vec<f32>]) -> Metrics {
    Metrics {
        itd_us: itd_us(test),
        itd_ref_us: itd_us(reference),
        ild_err_db: bands::ild_error_db(
            [&test[0], &test[1]],
            [&reference[0], &reference[1]],
            FS_HZ,
            1000.0,
            8000.0,
        )
        .expect("ILD error"),
        lsd_db: lsd2_db(test, reference, 100.0, 16000.0),
        lsd_lo_db: lsd2_db(test, reference, 100.0, 4000.0),
        lsd_hi_db: lsd2_db(test, reference, 6000.0, 16000.0),
    }
}

/// Keep samples `[start, len − end_margin)` of every channel (drops start-up/tail transients).
pub fn trim(sig: &[Vec<f32>], start: usize, end_margin: usize) -> Vec<Vec<f32>> {
    sig.iter()
        .map(|c| c[start..c.len() - end_margin].to_vec())
        .collect()
}

/// Median of a slice (mean of the two middle values for even length).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Arithmetic mean.
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Band-limited cross-correlation `c[τ] = Σ_n y[n] x[n − τ]` of `y` against `x`, keeping only
/// DFT bins in `[f_lo_hz, f_hi_hz]` (no spectral whitening), for lags `−max_lag..=max_lag`
/// (index `τ + max_lag`). Zero-padded, so it is linear (not circular) correlation.
pub fn band_xcorr(x: &[f32], y: &[f32], f_lo_hz: f64, f_hi_hz: f64, max_lag: usize) -> Vec<f64> {
    use realfft::RealFftPlanner;
    let n = (x.len() + y.len() + 2 * max_lag).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spec = |s: &[f32]| {
        let mut buf = vec![0.0f64; n];
        for (b, &v) in buf.iter_mut().zip(s) {
            *b = f64::from(v);
        }
        let mut out = fwd.make_output_vec();
        fwd.process(&mut buf, &mut out).expect("fft");
        out
    };
    let (sx, sy) = (spec(x), spec(y));
    let mut cross: Vec<_> = sx
        .iter()
        .zip(&sy)
        .enumerate()
        .map(|(k, (a, b))| {
            let f = k as f64 * FS_HZ / n as f64;
            if f >= f_lo_hz && f <= f_hi_hz {
                a.conj() * b
            } else {
                num_complex::Complex64::new(0.0, 0.0)
            }
        })
        .collect();
    let last = cross.len() - 1;
    cross[0].im = 0.0;
    cross[last].im = 0.0;
    let mut cc = inv.make_output_vec();
    inv.process(&mut cross, &mut cc).expect("ifft");
    let m = max_lag as i64;
    (-m..=m)
        .map(|lag| cc[lag.rem_euclid(n as i64) as usize])
        .collect()
}

/// Lag (samples) of the maximum of a correlation sequence indexed `τ + max_lag`, refined by
/// parabolic interpolation.
pub fn peak_lag(cc: &[f64], max_lag: usize) -> f64 {
    let (bi, _) =
        cc.iter().enumerate().fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &v)| if v > b.1 { (i, v) } else { b },
        );
    let frac = if bi > 0 && bi + 1 < cc.len() {
        let (a, b, c) = (cc[bi - 1], cc[bi], cc[bi + 1]);
        let d = a - 2.0 * b + c;
        if d.abs() > 0.0 {
            (0.5 * (a - c) / d).clamp(-0.5, 0.5)
        } else {
            0.0
        }
    } else {
        0.0
    };
    bi as f64 - max_lag as f64 + frac
}
