//! Acceptance test against a published peer: our LS / MagLS / eMagLS-SH / eMagLS2 em32 decoders
//! and the published eMagLS2 filters of Deppisch et al. (Chalmers, eMagLS repository), all
//! scored against direct HRIR rendering of the same plane-wave source.
//!
//! Scene: 24 directions of a Fibonacci spiral, each snapped to the nearest direction of the KU100
//! L2354 grid (so that the reference is a *measured* HRIR, no interpolation), 1 s of pink noise
//! (fixed seed), em32 capsule signals from the analytic rigid-sphere model
//! ([`sphear_render::sim::simulate_array`]). Our decoders are designed from the same KU100 L2354
//! set; the published filters were designed by their authors from the KU100 L2702 set (same
//! dummy head and measurement campaign, another Lebedev grid).
//!
//! Metrics per direction: |ΔITD| (GCC-PHAT 100–1500 Hz), ILD error (mean |ΔILD| over third-octave
//! bands 1–8 kHz), band LSD (third-octave 0.1–16 kHz, RMS over bands, mean of the ears).
//!
//! Published filters: `HRIR_L2702_512samples_32channels_sh4_real_eMagLS2_woDC.mat`, variables
//! `wEMls2L` / `wEMls2R` (512 × 32, column = capsule in em32 channel order, geometry stored in the
//! file and checked against our preset here). Chalmers NON-COMMERCIAL licence: read from the shared
//! data directory for testing only, never copied into the repository.
//!
//! Latency and polarity of the published filters: `getEMagLs2Filters.m` removes the median group
//! delay `g` of the (direction-summed) HRIRs of each ear before the design, restores only the
//! interaural difference, and centres the filters at `len/2`. A rendering with them therefore lags
//! the direct HRIR rendering by `len/2 − g_left` samples (= 240.56 for `g_left` = 15.44 samples of
//! the KU100). We measure the lag from impulse responses of both chains for every test direction
//! and ear, cross-correlated in 100–2000 Hz (the LS region, where the design keeps the HRTF phase),
//! check that all of them agree with the global estimate within 2 samples and that the global
//! estimate agrees with `len/2 − g` of our L2354 copy within half a sample, and remove the rounded
//! lag (241 samples). The extremum of that correlation is *negative*: the published chain renders a
//! physical plane wave (capsule pressure → +1 at 0 Hz, as our rigid-sphere model) with inverted
//! polarity. Their array simulation (`getSMAIRMatrix.m`) negates the mode strengths ("it is not
//! quite clear why there is a minus required here"), so their filters invert every plane wave; the
//! test finds the sign from the data and undoes it. (ITD, ILD and band LSD do not depend on a
//! common polarity anyway; a GCC-PHAT or positive-peak lag search, by contrast, locks onto the
//! side lobes ±17 samples away.)
//!
//! Design notes found with this test (fixed in `design.rs` / `decoder.rs`): (1) the LS solves
//! used Tikhonov regularisation `σ/(σ² + (βσ_max)²)` with the reference's β = 0.01, whereas the
//! reference clips singular values, `1/max(σ, βσ_max)`; Tikhonov discards the weak higher-order
//! modes of the array at low frequencies and doubled the median ITD error (18 µs vs 7.4 µs).
//! (2) The filters were designed on `filter_len` bins; the reference designs on twice as many and
//! keeps the central `filter_len` taps, which removes time aliasing (ILD error 1.38 → 1.22 dB,
//! LSD 6–16 kHz 4.3 → 4.0 dB).

mod common;

use common::*;
use sphear_core::Direction;
use sphear_core::signals::pink_noise;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_render::sim::{PlaneWaveSource, render_direct_index, simulate_array};
use sphear_render::{BinauralDecoder, DecoderConfig, InputKind, Method};
use sphear_sh::array::ArrayGeometry;
use sphear_sh::quadrature::fibonacci_grid;

/// Speed of sound (m/s) of the simulation and of both designs (the eMagLS code uses 343 too).
const C_M_S: f64 = sphear_core::SPEED_OF_SOUND_M_S;
/// Length of the impulse responses used to find the published filters' latency.
const IMPULSE_LEN: usize = 2048;
/// Band (Hz) of the latency cross-correlation: LS region of both designs (MagLS above 2 kHz).
const LAG_BAND_HZ: (f64, f64) = (100.0, 2000.0);
/// Number of test directions (spread set before snapping to the KU100 grid).
const NUM_DIRECTIONS: usize = 24;
/// Pink-noise length (1 s at 48 kHz), RMS and seed.
const NOISE_LEN: usize = 48_000;
const NOISE_RMS: f64 = 0.1;
const NOISE_SEED: u64 = 20_240_601;
/// Samples dropped at the start and end of every rendering before the metrics (start-up of the
/// 512-tap filters and the tail cut at the input length; well above the filters' half length).
const EDGE_SAMPLES: usize = 1024;
/// Our eMagLS medians must be within this factor of the published filters' medians.
const PEER_FACTOR: f64 = 1.10;
/// If the published ITD median is below this (µs), compare ITD with an absolute slack instead.
const SMALL_ITD_US: f64 = 10.0;
/// Absolute slack on the ITD median in that case (µs).
const SMALL_ITD_SLACK_US: f64 = 1.0;
/// Largest allowed deviation (samples) of a single direction×ear lag from the common latency.
/// The renderings are not exact delayed copies of the reference (their per-ear phase errors in the
/// band reach tens of µs, i.e. 1–2 samples), so single estimates scatter by that much; the
/// alternative peaks this check rules out (wrong polarity or wrong carrier cycle) lie ≥ 17 samples
/// away.
const LAG_SPREAD_SAMPLES: f64 = 2.0;
/// Largest allowed difference (samples) between the latency measured over all directions and
/// `len/2 − g` of our L2354 copy: half a sample, so the rounded latency removed is the model's.
const LAG_MODEL_TOL_SAMPLES: f64 = 0.5;
/// Angle (degrees) the published file's capsule directions may differ from our em32 preset
/// (rounding of the stored radians only).
const GEOMETRY_TOL_DEG: f64 = 1e-6;
/// LS above spatial aliasing: its 6–16 kHz LSD must exceed its 0.1–4 kHz LSD by at least this
/// factor, and exceed eMagLS's 6–16 kHz LSD by at least this factor ("clearly larger").
const LS_ALIASING_FACTOR: f64 = 1.5;

/// Published eMagLS2 filters `[ear][capsule][tap]` and their capsule directions.
fn load_published() -> (Vec<Vec<Vec<f32>>>, Vec<Direction>, f64) {
    let p = data_path(
        "em32_emagls_filters_chalmers/HRIR_L2702_512samples_32channels_sh4_real_eMagLS2_woDC.mat",
    );
    let f = std::fs::File::open(&p).expect("open published filters");
    let mat = matfile::MatFile::parse(f).expect("parse MATLAB v5 file");
    let get = |name: &str| -> (Vec<usize>, Vec<f64>) {
        let a = mat
            .find_by_name(name)
            .unwrap_or_else(|| panic!("variable {name} missing"));
        match a.data() {
            matfile::NumericData::Double { real, .. } => (a.size().clone(), real.clone()),
            other => panic!("{name}: unexpected type {other:?}"),
        }
    };
    let (_, fs) = get("fs");
    assert_eq!(fs[0], FS_HZ, "published filters are not at 48 kHz");
    let mut firs = Vec::new();
    for name in ["wEMls2L", "wEMls2R"] {
        let (size, data) = get(name);
        assert_eq!(size, vec![512, 32], "{name} shape");
        // Column-major: element (t, c) at c * 512 + t.
        firs.push(
            (0..32)
                .map(|c| {
                    data[c * 512..(c + 1) * 512]
                        .iter()
                        .map(|&v| v as f32)
                        .collect()
                })
                .collect(),
        );
    }
    let (_, az) = get("micGridAziRad");
    let (_, zen) = get("micGridZenRad");
    let (_, r) = get("micRadius");
    let caps = az
        .iter()
        .zip(&zen)
        .map(|(&a, &z)| Direction::from_azimuth_colatitude(a, z))
        .collect();
    (firs, caps, r[0])
}

/// Median group delay (samples) of `Σ_d h_d` as MATLAB's `grpdelay(b, 1, f, fs)` on
/// `f = linspace(0, fs/2, nfft/2 + 1)`, `nfft = 2·len`: `τ(ω) = Re{Σ n b[n] e^{-iωn} / Σ b[n] e^{-iωn}}`.
fn median_group_delay(hrtf: &HrtfSet, ear: Ear, nfft: usize) -> f64 {
    let n = hrtf.ir_len();
    let mut b = vec![0.0f64; n];
    for d in 0..hrtf.len() {
        for (acc, &v) in b.iter_mut().zip(hrtf.ir(d, ear)) {
            *acc += f64::from(v);
        }
    }
    let taus: Vec<f64> = (0..=nfft / 2)
        .map(|k| {
            let w = 2.0 * std::f64::consts::PI * k as f64 / nfft as f64;
            let (mut br, mut bi, mut nr, mut ni) = (0.0, 0.0, 0.0, 0.0);
            for (t, &v) in b.iter().enumerate() {
                let (s, c) = (w * t as f64).sin_cos();
                br += v * c;
                bi -= v * s;
                nr += t as f64 * v * c;
                ni -= t as f64 * v * s;
            }
            // Re{(nr + i ni) / (br + i bi)}
            (nr * br + ni * bi) / (br * br + bi * bi)
        })
        .collect();
    median(&taus)
}

/// Capsule signals `[32][n]` and direct-HRIR reference `[2][n]` of one direction.
type Scene = (Vec<Vec<f32>>, Vec<Vec<f32>>);

struct Row {
    name: &'static str,
    m: Vec<Metrics>,
}

impl Row {
    fn col(&self, f: impl Fn(&Metrics) -> f64) -> Vec<f64> {
        self.m.iter().map(f).collect()
    }
}

#[test]
fn em32_decoders_against_published_emagls2_and_direct_hrir() {
    let hrtf = load_ku100();
    let array = ArrayGeometry::em32();

    // Test directions: Fibonacci spiral snapped to the KU100 grid, distinct.
    let mut idx: Vec<usize> = Vec::new();
    for d in fibonacci_grid(NUM_DIRECTIONS) {
        let i = hrtf.nearest(&d);
        assert!(
            !idx.contains(&i),
            "two spiral points snapped to the same grid point"
        );
        idx.push(i);
    }
    let dirs: Vec<Direction> = idx.iter().map(|&i| hrtf.directions()[i]).collect();

    // Published filters; their capsule geometry must be our em32 preset.
    let (pub_firs, pub_caps, pub_radius) = load_published();
    assert!(
        (pub_radius - array.radius_m).abs() < 1e-12,
        "published radius {pub_radius}"
    );
    for (q, (a, b)) in pub_caps.iter().zip(&array.capsules).enumerate() {
        assert!(
            a.angle_to(b).to_degrees() < GEOMETRY_TOL_DEG,
            "capsule {} direction differs",
            q + 1
        );
    }

    // Scenes.
    let noise = pink_noise(NOISE_LEN, NOISE_RMS, NOISE_SEED);
    let scenes: Vec<Scene> = idx
        .iter()
        .zip(&dirs)
        .map(|(&i, d)| {
            let src = PlaneWaveSource {
                direction: *d,
                signal: noise.clone(),
            };
            let caps = simulate_array(&array, &[src], FS_HZ, C_M_S);
            (caps, render_direct_index(&hrtf, &noise, i))
        })
        .collect();

    // Latency of the published filters: impulse responses of the published chain (array model →
    // filters, no latency removed) and of the direct HRIR rendering, cross-correlated in the band
    // where both their design and the HRTF keep the phase (LS region, below the 2 kHz MagLS
    // cut-off). GCC-PHAT is not used here: whitening a band this narrow leaves side lobes about
    // ±23 samples from the true peak that can win.
    let filt_len = pub_firs[0][0].len();
    let mut impulse = vec![0.0f32; IMPULSE_LEN];
    impulse[0] = 1.0;
    let mut ccs = Vec::new();
    let mut cc_sum = vec![0.0f64; 2 * filt_len + 1];
    for (&i, d) in idx.iter().zip(&dirs) {
        let caps = simulate_array(
            &array,
            &[PlaneWaveSource {
                direction: *d,
                signal: impulse.clone(),
            }],
            FS_HZ,
            C_M_S,
        );
        let raw = apply_fir_matrix(&pub_firs, &caps, 0);
        let reference = render_direct_index(&hrtf, &impulse, i);
        for e in 0..2 {
            let cc = band_xcorr(
                &reference[e],
                &raw[e],
                LAG_BAND_HZ.0,
                LAG_BAND_HZ.1,
                filt_len,
            );
            for (a, b) in cc_sum.iter_mut().zip(&cc) {
                *a += b;
            }
            ccs.push(cc);
        }
    }
    // Global extremum of the summed correlation: its sign is the polarity of the published chain
    // relative to the direct rendering, its position the latency.
    let (_, &ext) = cc_sum
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .expect("non-empty");
    let polarity: f32 = if ext < 0.0 { -1.0 } else { 1.0 };
    let signed = |cc: &[f64]| -> Vec<f64> { cc.iter().map(|v| v * f64::from(polarity)).collect() };
    let lag_all = peak_lag(&signed(&cc_sum), filt_len);
    let lags: Vec<f64> = ccs
        .iter()
        .map(|cc| peak_lag(&signed(cc), filt_len))
        .collect();
    let lag_spread = lags.iter().map(|l| (l - lag_all).abs()).fold(0.0, f64::max);
    let g_l = median_group_delay(&hrtf, Ear::Left, 2 * filt_len);
    let g_r = median_group_delay(&hrtf, Ear::Right, 2 * filt_len);
    let lag_model = filt_len as f64 / 2.0 - g_l;
    let latency = lag_all.round() as usize;
    println!("published eMagLS2 filters: {filt_len} taps");
    println!(
        "  lag vs direct HRIR rendering ({:.0}–{:.0} Hz cross-correlation of impulse responses): \
         {lag_all:.2} samples over all directions and ears; per direction×ear {:.2} … {:.2} (max deviation {lag_spread:.2})",
        LAG_BAND_HZ.0,
        LAG_BAND_HZ.1,
        lags.iter().copied().fold(f64::INFINITY, f64::min),
        lags.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    println!(
        "  model len/2 − g_left = {lag_model:.2} samples (median group delay of the KU100 L2354 Σ HRIR: \
         left {g_l:.2}, right {g_r:.2}); latency removed: {latency} samples; polarity {polarity:+}"
    );
    assert!(
        lag_spread <= LAG_SPREAD_SAMPLES,
        "published filter lag not common to all directions: {lags:?}"
    );
    assert!(
        (lag_all - lag_model).abs() <= LAG_MODEL_TOL_SAMPLES,
        "measured latency {lag_all:.2} disagrees with len/2 − g = {lag_model:.2}"
    );

    // Our decoders, designed once each.
    let methods = [Method::Ls, Method::MagLs, Method::EMagLsSh, Method::EMagLs2];
    let mut rows: Vec<Row> = Vec::new();
    for &method in &methods {
        let t0 = std::time::Instant::now();
        let cfg = DecoderConfig {
            method,
            order: 4,
            ..Default::default()
        };
        let dec =
            BinauralDecoder::design(&hrtf, &InputKind::Array(array.clone()), &cfg).expect("design");
        let t_design = t0.elapsed().as_secs_f64();
        let m = scenes
            .iter()
            .map(|(caps, reference)| {
                let out = render(&dec, caps);
                metrics(
                    &trim(&out, EDGE_SAMPLES, EDGE_SAMPLES),
                    &trim(reference, EDGE_SAMPLES, EDGE_SAMPLES),
                )
            })
            .collect();
        println!("designed {} in {t_design:.1} s", method.name());
        rows.push(Row {
            name: method.name(),
            m,
        });
    }
    let m_pub = scenes
        .iter()
        .map(|(caps, reference)| {
            let mut out = apply_fir_matrix(&pub_firs, caps, latency);
            out.iter_mut().flatten().for_each(|v| *v *= polarity);
            metrics(
                &trim(&out, EDGE_SAMPLES, EDGE_SAMPLES),
                &trim(reference, EDGE_SAMPLES, EDGE_SAMPLES),
            )
        })
        .collect();
    rows.push(Row {
        name: "published eMagLS2",
        m: m_pub,
    });

    // Per-direction table.
    println!("\nper direction: |ΔITD| µs / ILD err dB / LSD dB");
    print!("{:>16}", "az, el (deg)");
    for r in &rows {
        print!(" | {:>21}", r.name);
    }
    println!("   ITD_ref µs");
    for (j, d) in dirs.iter().enumerate() {
        print!(
            "{:>7.1},{:>7.1} ",
            d.azimuth_deg_wrapped(),
            d.elevation_deg()
        );
        for r in &rows {
            let m = &r.m[j];
            print!(
                " | {:>6.1} {:>6.2} {:>6.2}",
                m.itd_err_us(),
                m.ild_err_db,
                m.lsd_db
            );
        }
        println!("   {:>7.1}", rows[0].m[j].itd_ref_us);
    }

    // Summary table.
    println!(
        "\n{:>18} | {:>9} {:>9} | {:>9} {:>9} | {:>9} {:>9} | {:>11} {:>11}",
        "method",
        "|ΔITD| md",
        "mean µs",
        "ILDerr md",
        "mean dB",
        "LSD md",
        "mean dB",
        "LSD0.1-4k md",
        "LSD6-16k md"
    );
    for r in &rows {
        let itd = r.col(Metrics::itd_err_us);
        let ild = r.col(|m| m.ild_err_db);
        let lsd = r.col(|m| m.lsd_db);
        println!(
            "{:>18} | {:>9.2} {:>9.2} | {:>9.3} {:>9.3} | {:>9.3} {:>9.3} | {:>11.3} {:>11.3}",
            r.name,
            median(&itd),
            mean(&itd),
            median(&ild),
            mean(&ild),
            median(&lsd),
            mean(&lsd),
            median(&r.col(|m| m.lsd_lo_db)),
            median(&r.col(|m| m.lsd_hi_db)),
        );
    }

    // Criteria: our eMagLS (eMagLS2) vs the published filters.
    let ours = &rows[3];
    let peer = &rows[4];
    let (o_itd, p_itd) = (
        median(&ours.col(Metrics::itd_err_us)),
        median(&peer.col(Metrics::itd_err_us)),
    );
    if p_itd < SMALL_ITD_US {
        println!(
            "published ITD median {p_itd:.2} µs < {SMALL_ITD_US} µs: ITD compared with +{SMALL_ITD_SLACK_US} µs slack"
        );
        assert!(
            o_itd <= p_itd + SMALL_ITD_SLACK_US,
            "ITD median {o_itd:.2} µs vs published {p_itd:.2} µs"
        );
    } else {
        assert!(
            o_itd <= PEER_FACTOR * p_itd,
            "ITD median {o_itd:.2} µs vs published {p_itd:.2} µs"
        );
    }
    let (o_ild, p_ild) = (
        median(&ours.col(|m| m.ild_err_db)),
        median(&peer.col(|m| m.ild_err_db)),
    );
    assert!(
        o_ild <= PEER_FACTOR * p_ild,
        "ILD error median {o_ild:.3} dB vs published {p_ild:.3} dB"
    );
    let (o_lsd, p_lsd) = (
        median(&ours.col(|m| m.lsd_db)),
        median(&peer.col(|m| m.lsd_db)),
    );
    assert!(
        o_lsd <= PEER_FACTOR * p_lsd,
        "LSD median {o_lsd:.3} dB vs published {p_lsd:.3} dB"
    );

    // LS loses above spatial aliasing (≈ N c / (2π r) ≈ 5.2 kHz for N = 4, r = 4.2 cm).
    let ls = &rows[0];
    let ls_lo = median(&ls.col(|m| m.lsd_lo_db));
    let ls_hi = median(&ls.col(|m| m.lsd_hi_db));
    let em_hi = median(&ours.col(|m| m.lsd_hi_db));
    assert!(
        ls_hi > LS_ALIASING_FACTOR * ls_lo,
        "LS LSD 6–16 kHz {ls_hi:.2} dB vs 0.1–4 kHz {ls_lo:.2} dB"
    );
    assert!(
        ls_hi > LS_ALIASING_FACTOR * em_hi,
        "LS LSD 6–16 kHz {ls_hi:.2} dB vs eMagLS {em_hi:.2} dB"
    );
}
