//! `design::regularised_ls` against its closed form on systems with known SVD.
//!
//! `G = U diag(σ) Vᴴ` is built from random orthonormal `U` (D×r) and unitary `V` (K×K) with
//! prescribed singular values spanning 1…1e-7 and exact zeros; the expected solution is
//! `W = V diag(g(σ)) Uᴴ H` with `g(σ) = 1/max(σ, βσ_max)` and `g = 0` for σ = 0 (singular-value
//! clipping as in the eMagLS reference code, exact null space ignored). Covers the tall path
//! (QR first), square and wide systems.

use nalgebra::DMatrix;
use num_complex::Complex64;
use sphear_core::signals::NoiseGen;
use sphear_render::design::regularised_ls;

/// Relative tolerance. The SVD and QR are backward stable (perturbations of order ε‖G‖ per
/// sweep) and the clipped inverse amplifies them by at most 1/β = 100 relative to ‖G‖, so errors
/// of 1e-12…1e-10 are expected (the test prints them); 1e-8 leaves margin and is still seven
/// decades below the effect of any change of the regulariser (e.g. Tikhonov instead of clipping
/// halves the components at σ = βσ_max).
const REL_TOL: f64 = 1e-8;
const BETA: f64 = 0.01;

fn random(rows: usize, cols: usize, g: &mut NoiseGen) -> DMatrix<Complex64> {
    DMatrix::from_fn(rows, cols, |_, _| {
        Complex64::new(g.next_uniform(), g.next_uniform())
    })
}

/// Orthonormal columns (Gram–Schmidt by QR of a random matrix).
fn orthonormal(rows: usize, cols: usize, g: &mut NoiseGen) -> DMatrix<Complex64> {
    random(rows, cols, g).qr().q()
}

fn check(d: usize, k: usize, sigmas: &[f64], seed: u64) {
    let mut rng = NoiseGen::new(seed);
    let r = sigmas.len();
    assert!(r <= d.min(k));
    let u = orthonormal(d, r, &mut rng);
    let v = orthonormal(k, r, &mut rng);
    let s = DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
        r,
        sigmas.iter().map(|&x| Complex64::new(x, 0.0)),
    ));
    let g = &u * &s * v.adjoint();
    let h = random(d, 2, &mut rng);
    let smax = sigmas.iter().copied().fold(0.0, f64::max);
    let gains = nalgebra::DVector::from_iterator(
        r,
        sigmas.iter().map(|&x| {
            Complex64::new(
                if x > 0.0 {
                    1.0 / x.max(BETA * smax)
                } else {
                    0.0
                },
                0.0,
            )
        }),
    );
    let want = &v * DMatrix::from_diagonal(&gains) * u.adjoint() * &h;
    let got = regularised_ls(&g, &h, BETA);
    let err = (&got - &want).norm() / want.norm();
    println!("D={d:>4} K={k:>3}  σ = {sigmas:?}: relative error {err:.2e}");
    assert!(err < REL_TOL, "D={d} K={k}: relative error {err:e}");
}

#[test]
fn matches_closed_form_clipped_pseudo_inverse() {
    let spread = [1.0, 0.5, 0.2, 0.05, 0.011, 0.009, 1e-3, 1e-5, 1e-7];
    // Tall (the design case: many directions, few channels), full rank.
    check(200, 9, &spread, 1);
    // Tall with an exact null space (rank 6 of 9 columns): padded with zero singular values.
    check(300, 9, &[2.0, 1.0, 0.3, 0.01, 1e-4, 1e-6, 0.0, 0.0, 0.0], 2);
    // Square and wide (SVD path without QR).
    check(9, 9, &spread, 3);
    check(5, 12, &[1.0, 0.1, 0.004, 1e-6, 0.0], 4);
}
