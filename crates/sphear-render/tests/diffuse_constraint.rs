//! The diffuse-field covariance constraint makes the decoder's diffuse-field interaural
//! covariance equal to the HRTF set's (KU100), bin by bin.

use std::path::Path;

use nalgebra::DMatrix;
use num_complex::Complex64;
use sphear_hrtf::{Ear, HrtfSet};
use sphear_render::design::{BinDesign, apply_diffuse_constraint, design_bins, hrtf_spectra};
use sphear_sh::sh::{Norm, sh_matrix};

fn covariance(x: &DMatrix<Complex64>) -> DMatrix<Complex64> {
    (x.adjoint() * x).unscale(x.nrows() as f64)
}

fn coherence(r: &DMatrix<Complex64>) -> f64 {
    r[(0, 1)].norm() / (r[(0, 0)].re * r[(1, 1)].re).sqrt()
}

#[test]
fn constrained_magls_has_the_hrtf_diffuse_field_coherence() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/sofa_libmysofa/FHK_HRIR_L2354.sofa");
    assert!(p.exists(), "test data missing: {}", p.display());
    let set = HrtfSet::from_sofa(&p, Some(48000.0)).expect("sofa").set;
    let left: Vec<&[f32]> = (0..set.len()).map(|i| set.ir(i, Ear::Left)).collect();
    let right: Vec<&[f32]> = (0..set.len()).map(|i| set.ir(i, Ear::Right)).collect();
    let h = hrtf_spectra(&left, &right, 512);
    let y = sh_matrix(4, set.directions(), Norm::Sn3d).map(|v| Complex64::new(v, 0.0));
    let bd = BinDesign {
        sample_rate_hz: 48000.0,
        filter_len: 512,
        magls_cutoff_hz: Some(2000.0),
        beta: 0.01,
    };
    let plain = design_bins(&bd, |_| y.clone(), |k| h[k].clone());
    let mut constrained = plain.clone();
    apply_diffuse_constraint(&mut constrained, |_| y.clone(), |k| h[k].clone());
    let mut worst_plain = 0.0f64;
    let mut worst_con = 0.0f64;
    println!("  f Hz   IC(HRTF)  IC(MagLS)  IC(MagLS+constraint)");
    for k in 1..bd.n_bins() {
        let r = covariance(&h[k]);
        let rp = covariance(&(&y * &plain[k]));
        let rc = covariance(&(&y * &constrained[k]));
        let rel = (&rc - &r).norm() / r.norm();
        assert!(rel < 1e-9, "bin {k}: covariance mismatch {rel}");
        worst_plain = worst_plain.max((coherence(&rp) - coherence(&r)).abs());
        worst_con = worst_con.max((coherence(&rc) - coherence(&r)).abs());
        if k % 32 == 0 {
            println!(
                "{:>7.0}  {:>8.3}  {:>9.3}  {:>9.3}",
                bd.freq_hz(k),
                coherence(&r),
                coherence(&rp),
                coherence(&rc)
            );
        }
    }
    println!("max |IC error|: MagLS {worst_plain:.3}, constrained {worst_con:.2e}");
    assert!(worst_con < 1e-9);
    assert!(
        worst_plain > 0.05,
        "unconstrained MagLS already matched the coherence ({worst_plain})"
    );
}
