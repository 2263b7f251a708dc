mod common;
use common::*;
use sphear_core::signals::pink_noise;
use sphear_render::sim::{PlaneWaveSource, render_direct_index, simulate_array};
use sphear_sh::array::ArrayGeometry;
use sphear_core::Direction;
#[test]
fn dbg() {
    let hrtf = load_ku100();
    let array = ArrayGeometry::em32();
    let p = data_path("em32_emagls_filters_chalmers/HRIR_L2702_512samples_32channels_sh4_real_eMagLS2_woDC.mat");
    let mat = matfile::MatFile::parse(std::fs::File::open(&p).unwrap()).unwrap();
    let mut firs = Vec::new();
    for name in ["wEMls2L", "wEMls2R"] {
        let a = mat.find_by_name(name).unwrap();
        let matfile::NumericData::Double { real, .. } = a.data() else { panic!() };
        firs.push((0..32).map(|c| real[c * 512..(c + 1) * 512].iter().map(|&v| v as f32).collect::<Vec<f32>>()).collect::<Vec<_>>());
    }
    let mut imp = vec![0.0f32; 2048]; imp[0] = 1.0;
    for az in [0.0, 90.0, -90.0] {
        let i = hrtf.nearest(&Direction::from_deg(az, 0.0));
        let d = hrtf.directions()[i];
        let caps = simulate_array(&array, &[PlaneWaveSource { direction: d, signal: imp.clone() }], FS_HZ, 343.0);
        let out = apply_fir_matrix(&firs, &caps, 0);
        let reference = render_direct_index(&hrtf, &imp, i);
        for e in 0..2 {
            let pk = |x: &[f32]| x.iter().enumerate().fold((0, 0.0f32), |b, (i, &v)| if v.abs() > b.1.abs() { (i, v) } else { b });
            println!("az {az} ear {e}: pub peak {:?} ref peak {:?}", pk(&out[e]), pk(&reference[e]));
        }
        for e in 0..2 {
            let x=&reference[e]; let y=&out[e];
            let mut best=(0i64,0.0f64);
            for lag in -600i64..600 { let mut s=0.0f64; for n in 0..2048i64 { let m=n-lag; if m>=0 && m<2048 { s+= y[n as usize] as f64 * x[m as usize] as f64; } } if s.abs()>best.1.abs() { best=(lag,s);} }
            let ex: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum(); let ey: f64 = y.iter().map(|v| (*v as f64).powi(2)).sum();
            println!("az {az} ear {e}: best lag {} normalized cc {:.3}", best.0, best.1/(ex*ey).sqrt());
        }
        let ours: Vec<f32> = caps.iter().map(|c| c.iter().map(|v| v*v).sum::<f32>()).collect();
        println!("cap energies {:?}", ours.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>());
    }
}
