//! `MatrixConvolver` and `fft_convolve` against a naive time-domain convolution with `f64`
//! accumulation written here.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sphear_core::CoreError;
use sphear_core::conv::{FilterSpec, MatrixConvolver, fft_convolve};

mod common;
use common::*;

/// Checks the convolver output against the naive reference; outputs with an all-zero reference
/// must be exactly zero.
fn check_case(
    n_in: usize,
    n_out: usize,
    specs: &[FilterSpec],
    b: usize,
    x: &[Vec<f32>],
    what: &str,
) -> f64 {
    let mut worst = 0.0f64;
    let mut conv = MatrixConvolver::new(n_in, n_out, specs, b).expect("new");
    let y = stream(&mut conv, x);
    let r = naive_matrix(x, specs, n_out, x[0].len());
    for o in 0..n_out {
        match rel_err(&y[o], &r[o]) {
            Some(e) => {
                worst = worst.max(e);
                assert!(
                    e <= MAX_ERR_REL_RMS,
                    "{what}: output {o}: max error / rms = {e:e} > {MAX_ERR_REL_RMS:e}"
                );
            }
            None => assert!(
                y[o].iter().all(|&v| v == 0.0),
                "{what}: output {o} should be silent"
            ),
        }
    }
    worst
}

#[test]
fn random_matrices_match_naive_convolution() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EA4_C0DE);
    let mut worst = 0.0f64;
    for &b in &[1usize, 2, 16, 64, 100, 512] {
        let mut worst_b = 0.0f64;
        for case in 0..6 {
            let n_in = rng.random_range(1..=4usize);
            let n_out = rng.random_range(1..=4usize);
            let n_specs = rng.random_range(1..=n_in * n_out + 2);
            let mut specs = Vec::new();
            let mut max_len = 0;
            for k in 0..n_specs {
                // Include lengths at and around partition boundaries, and 1 and 1100.
                let len = match (case + k) % 5 {
                    0 => 1100,
                    1 => 1,
                    2 => (b + 1).min(1100),
                    3 => b.saturating_sub(1).max(1),
                    _ => rng.random_range(1..=1100usize),
                };
                max_len = max_len.max(len);
                specs.push(FilterSpec {
                    output: rng.random_range(0..n_out),
                    input: rng.random_range(0..n_in),
                    taps: random_signal(&mut rng, len),
                });
            }
            let blocks = (max_len + 300).div_ceil(b) + 2;
            let x: Vec<Vec<f32>> = (0..n_in)
                .map(|_| random_signal(&mut rng, blocks * b))
                .collect();
            let e = check_case(n_in, n_out, &specs, b, &x, &format!("B={b} case {case}"));
            worst_b = worst_b.max(e);
        }
        eprintln!("B = {b}: worst max-error / rms = {worst_b:e}");
        worst = worst.max(worst_b);
    }
    eprintln!("worst max-error / rms over all cases: {worst:e}");
}

#[test]
fn duplicate_specs_add_and_zero_partitions_are_skipped() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let b = 16;
    // Taps non-zero only at 0 and 3B+5: partitions 1 and 2 are all zero.
    let mut sparse = vec![0.0f32; 3 * b + 6];
    sparse[0] = 0.5;
    sparse[3 * b + 5] = -0.25;
    let specs = vec![
        FilterSpec {
            output: 0,
            input: 0,
            taps: sparse.clone(),
        },
        FilterSpec {
            output: 0,
            input: 0,
            taps: random_signal(&mut rng, 40),
        },
        FilterSpec {
            output: 1,
            input: 1,
            taps: sparse,
        },
        FilterSpec {
            output: 1,
            input: 0,
            taps: vec![],
        },
    ];
    let conv = MatrixConvolver::new(2, 3, &specs, b).expect("new");
    // Pair (0,0): partitions 0,1,2,3 of the sum (40 random taps cover 0..3) → 4 non-zero;
    // pair (1,1): partitions 0 and 3 → 2. Output 2 has none.
    assert_eq!(conv.nonzero_partitions(), 6);
    let x: Vec<Vec<f32>> = (0..2).map(|_| random_signal(&mut rng, 20 * b)).collect();
    check_case(2, 3, &specs, b, &x, "sparse");
}

#[test]
fn reset_clears_state() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let b = 64;
    let specs: Vec<FilterSpec> = (0..2)
        .map(|i| FilterSpec {
            output: i,
            input: 1 - i,
            taps: random_signal(&mut rng, 300),
        })
        .collect();
    let x: Vec<Vec<f32>> = (0..2).map(|_| random_signal(&mut rng, 10 * b)).collect();
    let mut fresh = MatrixConvolver::new(2, 2, &specs, b).expect("new");
    let expected = stream(&mut fresh, &x);
    let mut used = MatrixConvolver::new(2, 2, &specs, b).expect("new");
    let junk: Vec<Vec<f32>> = (0..2).map(|_| random_signal(&mut rng, 7 * b)).collect();
    let _ = stream(&mut used, &junk);
    used.reset();
    let got = stream(&mut used, &x);
    assert_eq!(
        got, expected,
        "after reset the output must equal a fresh convolver's bit for bit"
    );
}

#[test]
fn wrong_sizes_are_rejected_without_touching_state() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let b = 32;
    let specs = vec![FilterSpec {
        output: 0,
        input: 1,
        taps: random_signal(&mut rng, 100),
    }];
    let x: Vec<Vec<f32>> = (0..2).map(|_| random_signal(&mut rng, 8 * b)).collect();
    let mut reference = MatrixConvolver::new(2, 1, &specs, b).expect("new");
    let expected = stream(&mut reference, &x);

    let mut conv = MatrixConvolver::new(2, 1, &specs, b).expect("new");
    let mut y = vec![0.0f32; 8 * b];
    for t in 0..8 {
        let good_in: Vec<&[f32]> = x.iter().map(|c| &c[t * b..(t + 1) * b]).collect();
        // Wrong number of inputs.
        let mut out = [vec![0.0f32; b]];
        let mut outs: Vec<&mut [f32]> = out.iter_mut().map(|v| v.as_mut_slice()).collect();
        assert!(matches!(
            conv.process(&good_in[..1], &mut outs),
            Err(CoreError::ChannelCount { got: 1, .. })
        ));
        // Wrong input length.
        let short: Vec<&[f32]> = vec![good_in[0], &good_in[1][..b - 1]];
        assert!(matches!(
            conv.process(&short, &mut outs),
            Err(CoreError::InvalidArgument(_))
        ));
        // Wrong output length.
        let mut long = vec![0.0f32; b + 1];
        let mut bad_outs: Vec<&mut [f32]> = vec![long.as_mut_slice()];
        assert!(matches!(
            conv.process(&good_in, &mut bad_outs),
            Err(CoreError::InvalidArgument(_))
        ));
        // Wrong number of outputs.
        let mut none: Vec<&mut [f32]> = Vec::new();
        assert!(matches!(
            conv.process(&good_in, &mut none),
            Err(CoreError::ChannelCount { .. })
        ));
        // The good call.
        let mut outs: Vec<&mut [f32]> = vec![&mut y[t * b..(t + 1) * b]];
        conv.process(&good_in, &mut outs).expect("process");
    }
    assert_eq!(y, expected[0]);
}

#[test]
fn invalid_construction_is_rejected() {
    let spec = |o, i, taps: Vec<f32>| FilterSpec {
        output: o,
        input: i,
        taps,
    };
    assert!(MatrixConvolver::new(1, 1, &[], 0).is_err());
    assert!(MatrixConvolver::new(0, 1, &[], 8).is_err());
    assert!(MatrixConvolver::new(1, 0, &[], 8).is_err());
    assert!(MatrixConvolver::new(2, 2, &[spec(2, 0, vec![1.0])], 8).is_err());
    assert!(MatrixConvolver::new(2, 2, &[spec(0, 2, vec![1.0])], 8).is_err());
    assert!(MatrixConvolver::new(1, 1, &[spec(0, 0, vec![1.0, f32::NAN])], 8).is_err());
    assert!(MatrixConvolver::new(1, 1, &[spec(0, 0, vec![f32::INFINITY])], 8).is_err());
    // No filters at all is valid and yields silence.
    let mut c = MatrixConvolver::new(1, 1, &[], 4).expect("new");
    let mut y = [1.0f32; 4];
    c.process(&[&[1.0, 2.0, 3.0, 4.0]], &mut [&mut y])
        .expect("process");
    assert_eq!(y, [0.0; 4]);
}

#[test]
fn fft_convolve_matches_naive() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let lens = [
        (1, 1),
        (1, 700),
        (700, 1),
        (32, 33),
        (33, 32),
        (33, 33),
        (1000, 517),
        (4801, 512),
        (100, 3000),
    ];
    for &(lx, lh) in &lens {
        let x = random_signal(&mut rng, lx);
        let h = random_signal(&mut rng, lh);
        let y = fft_convolve(&x, &h);
        assert_eq!(y.len(), lx + lh - 1);
        let r = naive_convolve(&x, &h, lx + lh - 1);
        let e = rel_err(&y, &r).expect("non-zero reference");
        assert!(e <= MAX_ERR_REL_RMS, "({lx}, {lh}): {e:e}");
    }
    assert!(fft_convolve(&[], &[1.0]).is_empty());
    assert!(fft_convolve(&[1.0], &[]).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// conv(a·x1 + b·x2) = a·conv(x1) + b·conv(x2), and the streaming result equals the offline
    /// `fft_convolve` (two independent code paths).
    #[test]
    fn linearity(
        seed in any::<u64>(),
        b in prop::sample::select(vec![1usize, 3, 16, 64, 100]),
        len in 1usize..300,
        a in -2.0f32..2.0,
        c in -2.0f32..2.0,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let h = random_signal(&mut rng, len);
        let specs = vec![FilterSpec { output: 0, input: 0, taps: h.clone() }];
        let n = (len + 50).div_ceil(b) * b;
        let x1 = random_signal(&mut rng, n);
        let x2 = random_signal(&mut rng, n);
        let mix: Vec<f32> = x1.iter().zip(&x2).map(|(&p, &q)| a * p + c * q).collect();
        let mut conv = MatrixConvolver::new(1, 1, &specs, b).expect("new");
        let y1 = stream(&mut conv, std::slice::from_ref(&x1));
        conv.reset();
        let y2 = stream(&mut conv, &[x2]);
        conv.reset();
        let ym = stream(&mut conv, std::slice::from_ref(&mix));
        let combo: Vec<f64> = y1[0].iter().zip(&y2[0]).map(|(&p, &q)| f64::from(a) * f64::from(p) + f64::from(c) * f64::from(q)).collect();
        if let Some(e) = rel_err(&ym[0], &combo) {
            prop_assert!(e <= MAX_ERR_REL_RMS, "linearity error {e:e}");
        }
        let off: Vec<f64> = fft_convolve(&mix, &h)[..n].iter().map(|&v| f64::from(v)).collect();
        if let Some(e) = rel_err(&ym[0], &off) {
            prop_assert!(e <= MAX_ERR_REL_RMS, "streaming vs offline error {e:e}");
        }
    }
}
