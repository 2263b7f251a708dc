//! DirAC: localisation of a plane wave, diffuseness of plane waves and diffuse fields, and
//! degradation with diffuse sound mixed in (embedded spherical head, em32 analytic model).

use std::sync::Arc;

use sphear_core::Direction;
use sphear_core::signals::pink_noise;
use sphear_eval::bands::ild_error_db;
use sphear_eval::itd::gcc_phat_itd_s;
use sphear_harness::methods::dirac_renderer;
use sphear_hrtf::HrtfSet;
use sphear_render::dirac::{DiracConfig, DiracRenderer, encode_first_order};
use sphear_render::head::SphericalHead;
use sphear_render::sim::{PlaneWaveSource, SIM_PRE_DELAY_SAMPLES, render_direct, simulate_array};
use sphear_sh::array::ArrayGeometry;
use sphear_sim::receiver::Receiver;
use sphear_sim::tail::{TailSpec, diffuse_tail};

const FS: f64 = 48000.0;
const LEN: usize = 48000;
/// Band of the broadband DOA / diffuseness estimates (Hz): above the 20 dB radial-filter limit's
/// low-frequency region and below the em32's spatial aliasing (≈ 5 kHz for order 4).
const BAND: (f64, f64) = (300.0, 4000.0);

fn setup() -> (Arc<HrtfSet>, DiracRenderer) {
    let hrtf = Arc::new(
        SphericalHead::default()
            .build(FS)
            .expect("embedded head model builds"),
    );
    let d = dirac_renderer(&hrtf, &DiracConfig::default()).expect("DirAC renderer");
    (hrtf, d)
}

fn directions() -> Vec<Direction> {
    [
        (30.0, 0.0),
        (-100.0, 20.0),
        (150.0, -30.0),
        (60.0, 60.0),
        (0.0, 0.0),
        (-45.0, -15.0),
    ]
    .iter()
    .map(|&(a, e)| Direction::from_deg(a, e))
    .collect()
}

/// Ideal first-order SN3D of a plane wave: W = s, Y = s·u_y, Z = s·u_z, X = s·u_x, delayed like
/// the simulations.
fn ideal_foa(dir: &Direction, s: &[f32]) -> Vec<Vec<f32>> {
    let u = dir.to_cartesian();
    let mut d = vec![0.0f32; SIM_PRE_DELAY_SAMPLES];
    d.extend_from_slice(&s[..s.len() - SIM_PRE_DELAY_SAMPLES]);
    [1.0, u[1], u[2], u[0]]
        .iter()
        .map(|&g| d.iter().map(|&v| v * g as f32).collect())
        .collect()
}

fn em32_foa(dir: &Direction, s: &[f32]) -> Vec<Vec<f32>> {
    let em = ArrayGeometry::em32();
    let caps = simulate_array(
        &em,
        &[PlaneWaveSource {
            direction: *dir,
            signal: s.to_vec(),
        }],
        FS,
        sphear_core::SPEED_OF_SOUND_M_S,
    );
    encode_first_order(&em, FS, 4, &caps).expect("encode")
}

fn cues(test: &[Vec<f32>], reference: &[Vec<f32>]) -> (f64, f64) {
    let itd = |x: &[Vec<f32>]| gcc_phat_itd_s(&x[0], &x[1], FS, 100.0, 1500.0, 1e-3).expect("itd");
    let itd_err = (itd(test) - itd(reference)).abs() * 1e6;
    let ild_err = ild_error_db(
        [&test[0], &test[1]],
        [&reference[0], &reference[1]],
        FS,
        1000.0,
        8000.0,
    )
    .expect("ild");
    (itd_err, ild_err)
}

#[test]
fn dirac_localises_a_plane_wave_and_reproduces_its_cues() {
    let (hrtf, dirac) = setup();
    let s = pink_noise(LEN, 0.1, 7);
    println!("input  direction (az, el)   DOA err deg   psi    |dITD| us  |dILD| dB");
    for dir in directions() {
        let reference = render_direct(
            &hrtf,
            &[PlaneWaveSource {
                direction: dir,
                signal: s.clone(),
            }],
        );
        for (name, foa) in [("ambix", ideal_foa(&dir, &s)), ("em32", em32_foa(&dir, &s))] {
            let (p, out) = dirac.analyse_and_render(&foa).expect("dirac");
            let doa = p.broadband_doa(BAND.0, BAND.1).expect("doa");
            let err = doa.angle_to(&dir).to_degrees();
            let psi = p.mean_diffuseness(BAND.0, BAND.1);
            let (itd_e, ild_e) = cues(&out, &reference);
            println!(
                "{name:6} ({:7.1}, {:5.1})   {err:10.2}   {psi:.3}   {itd_e:8.2}   {ild_e:7.3}",
                dir.azimuth_deg(),
                dir.elevation_deg()
            );
            assert!(err < 5.0, "{name} {dir:?}: DOA error {err}°");
            assert!(
                psi < 0.1,
                "{name} {dir:?}: diffuseness {psi} for a plane wave"
            );
            // Cues of the rendering vs direct HRIR rendering of the same wave.
            assert!(itd_e < 20.0, "{name} {dir:?}: ITD error {itd_e} µs");
            assert!(ild_e < 1.0, "{name} {dir:?}: ILD error {ild_e} dB");
        }
    }
}

fn tail(receiver: &Receiver, seed: u64) -> Vec<Vec<f32>> {
    // A long RT60 makes the tail a nearly stationary isotropic diffuse field over one second.
    let spec = TailSpec {
        start_s: 0.0,
        rt60_s: [30.0; 7],
        band_energy: [1.0; 7],
        seed,
    };
    diffuse_tail(receiver, &spec, FS, LEN)
}

#[test]
fn dirac_diffuseness_is_high_in_a_diffuse_field() {
    let (_, dirac) = setup();
    let ideal = tail(&Receiver::Ambisonic { order: 1 }, 11);
    let em = ArrayGeometry::em32();
    let caps = tail(&Receiver::Array(em.clone()), 12);
    let em_foa = encode_first_order(&em, FS, 4, &caps).expect("encode");
    for (name, foa) in [("ambix", ideal), ("em32", em_foa)] {
        let p = dirac.analyse(&foa).expect("dirac");
        let psi = p.mean_diffuseness(BAND.0, BAND.1);
        println!("{name}: diffuse field mean psi {psi:.3}");
        assert!(psi > 0.8, "{name}: diffuseness {psi} in a diffuse field");
    }
}

#[test]
fn dirac_errors_grow_with_diffuse_sound() {
    let (hrtf, dirac) = setup();
    let em = ArrayGeometry::em32();
    let dir = Direction::from_deg(50.0, 10.0);
    let s = pink_noise(LEN, 0.1, 3);
    let direct_caps = simulate_array(
        &em,
        &[PlaneWaveSource {
            direction: dir,
            signal: s.clone(),
        }],
        FS,
        sphear_core::SPEED_OF_SOUND_M_S,
    );
    let diffuse_caps = tail(&Receiver::Array(em.clone()), 21);
    let reference = render_direct(
        &hrtf,
        &[PlaneWaveSource {
            direction: dir,
            signal: s,
        }],
    );
    let power = |x: &[Vec<f32>]| -> f64 {
        x.iter()
            .flatten()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
    };
    let (pd, pn) = (power(&direct_caps), power(&diffuse_caps));
    println!("direct-to-diffuse dB   psi     DOA err deg   |dITD| us   |dILD| dB");
    let mut table: Vec<[f64; 4]> = Vec::new();
    for ratio_db in [40.0, 10.0, 0.0, -10.0] {
        let g = (pd / pn / 10f64.powf(ratio_db / 10.0)).sqrt() as f32;
        let caps: Vec<Vec<f32>> = direct_caps
            .iter()
            .zip(&diffuse_caps)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + g * y).collect())
            .collect();
        let foa = encode_first_order(&em, FS, 4, &caps).expect("encode");
        let (p, out) = dirac.analyse_and_render(&foa).expect("dirac");
        let psi = p.mean_diffuseness(BAND.0, BAND.1);
        let err = p
            .broadband_doa(BAND.0, BAND.1)
            .expect("doa")
            .angle_to(&dir)
            .to_degrees();
        let (itd_e, ild_e) = cues(&out, &reference);
        println!("{ratio_db:18.0}   {psi:.3}   {err:10.2}   {itd_e:9.2}   {ild_e:8.3}");
        table.push([psi, err, itd_e, ild_e]);
    }
    for w in table.windows(2) {
        assert!(w[1][0] > w[0][0], "diffuseness must grow: {:?}", table);
        assert!(w[1][3] > w[0][3], "ILD error must grow: {:?}", table);
    }
    // DOA and ITD errors are tiny and noisy while the direct sound dominates; across the whole
    // range they must have grown.
    let (lo, hi) = (table[0], table[table.len() - 1]);
    assert!(
        hi[1] > lo[1],
        "DOA error must grow from +40 to -10 dB: {table:?}"
    );
    assert!(
        hi[2] > lo[2],
        "ITD error must grow from +40 to -10 dB: {table:?}"
    );
}
