//! The internal layouts of `MatrixConvolver` (single-partition hops with free FFT sizes, paired
//! inputs and outputs sharing one complex FFT) against a naive time-domain convolution with `f64`
//! accumulation written here.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sphear_core::conv::{FilterSpec, MatrixConvolver};

mod common;
use common::*;

/// Streams `x` through a new convolver and returns the worst per-output error relative to the
/// reference RMS; outputs with an all-zero reference must be exactly zero.
fn worst_error(conv: &mut MatrixConvolver, specs: &[FilterSpec], x: &[Vec<f32>]) -> f64 {
    let y = stream(conv, x);
    let r = naive_matrix(x, specs, conv.n_out(), x[0].len());
    let mut worst = 0.0f64;
    for o in 0..conv.n_out() {
        match rel_err(&y[o], &r[o]) {
            Some(e) => worst = worst.max(e),
            None => assert!(
                y[o].iter().all(|&v| v == 0.0),
                "output {o} should be silent"
            ),
        }
    }
    worst
}

fn full_matrix(rng: &mut ChaCha8Rng, n_in: usize, n_out: usize, len: usize) -> Vec<FilterSpec> {
    let mut specs = Vec::new();
    for o in 0..n_out {
        for i in 0..n_in {
            specs.push(FilterSpec {
                output: o,
                input: i,
                taps: random_signal(rng, len),
            });
        }
    }
    specs
}

/// The renderer's case (32 → 2, 512 taps, block 4096) uses the single-partition layout with an
/// FFT much shorter than 2B, pairs every input and the two outputs, and is exact.
#[test]
fn renderer_shape_uses_short_ffts_pairs_and_matches_naive() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (n_in, n_out, len, b) = (32, 2, 512, 4096);
    let specs = full_matrix(&mut rng, n_in, n_out, len);
    let mut conv = MatrixConvolver::new(n_in, n_out, &specs, b).expect("new");
    assert_eq!(b % conv.hop_len(), 0, "{conv:?}");
    assert!(
        conv.fft_len() >= conv.hop_len() + len - 1,
        "{conv:?}: aliasing"
    );
    assert!(conv.fft_len() < 2 * b, "{conv:?}: no gain over N = 2B");
    assert_eq!(
        conv.forward_ffts_per_hop(),
        n_in / 2,
        "{conv:?}: inputs not paired"
    );
    assert_eq!(conv.nonzero_partitions(), n_in * n_out);
    let x: Vec<Vec<f32>> = (0..n_in).map(|_| random_signal(&mut rng, 2 * b)).collect();
    let e = worst_error(&mut conv, &specs, &x);
    eprintln!("32 -> 2, 512 taps, B = 4096 ({conv:?}): max error / rms = {e:e}");
    assert!(e <= MAX_ERR_REL_RMS, "{e:e}");
}

/// Inputs 60 dB apart through equal-energy filters are paired; the quiet one's contribution is
/// still exact relative to the output it shares with the loud one. Filters more than 20 dB apart
/// in energy, or outputs whose levels differ that much, are not paired, so an output fed only by
/// a 1-tap filter is exact relative to its own level.
#[test]
fn pairing_respects_levels() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let b = 64;
    // Same filter energy, signals 60 dB apart.
    let specs = full_matrix(&mut rng, 2, 2, 50);
    let mut conv = MatrixConvolver::new(2, 2, &specs, b).expect("new");
    assert_eq!(conv.forward_ffts_per_hop(), 1, "{conv:?}");
    let loud = random_signal(&mut rng, 8 * b);
    let quiet: Vec<f32> = random_signal(&mut rng, 8 * b)
        .iter()
        .map(|v| v * 1e-3)
        .collect();
    let e = worst_error(&mut conv, &specs, &[loud.clone(), quiet]);
    assert!(e <= MAX_ERR_REL_RMS, "levels 60 dB apart: {e:e}");

    // Output 1 = 1-tap filter of input 0, output 0 = 1000-tap filters: neither the inputs
    // (different output sets) nor the outputs (30 dB apart) share an FFT.
    let specs = vec![
        FilterSpec {
            output: 0,
            input: 0,
            taps: random_signal(&mut rng, 1000),
        },
        FilterSpec {
            output: 0,
            input: 1,
            taps: random_signal(&mut rng, 1000),
        },
        FilterSpec {
            output: 1,
            input: 0,
            taps: vec![0.5],
        },
        FilterSpec {
            output: 2,
            input: 0,
            taps: random_signal(&mut rng, 1000),
        },
    ];
    let mut conv = MatrixConvolver::new(2, 3, &specs, b).expect("new");
    assert_eq!(conv.forward_ffts_per_hop(), 2, "{conv:?}");
    let x = vec![loud.clone(), random_signal(&mut rng, 8 * b)];
    let x: Vec<Vec<f32>> = x
        .into_iter()
        .map(|mut c| {
            c.resize(24 * b, 0.1);
            c
        })
        .collect();
    let e = worst_error(&mut conv, &specs, &x);
    assert!(e <= MAX_ERR_REL_RMS, "unpaired quiet output: {e:e}");

    // Equal inputs whose filters differ by 40 dB in energy are not paired.
    let specs = vec![
        FilterSpec {
            output: 0,
            input: 0,
            taps: random_signal(&mut rng, 40),
        },
        FilterSpec {
            output: 0,
            input: 1,
            taps: random_signal(&mut rng, 40)
                .iter()
                .map(|v| v * 0.01)
                .collect(),
        },
    ];
    let conv = MatrixConvolver::new(2, 1, &specs, b).expect("new");
    assert_eq!(conv.forward_ffts_per_hop(), 2, "{conv:?}");
}

/// Block lengths that are prime, odd or highly composite, with filters shorter and longer than
/// the block (single-partition and uniformly partitioned layouts).
#[test]
fn awkward_block_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    for &b in &[97usize, 96, 1000, 243] {
        for &len in &[1usize, 7, b / 2, b, b + 1, 3 * b + 5] {
            let n_in = 3;
            let specs = full_matrix(&mut rng, n_in, 3, len);
            let mut conv = MatrixConvolver::new(n_in, 3, &specs, b).expect("new");
            assert!(
                conv.fft_len() >= conv.hop_len() + len.min(b) - 1,
                "{conv:?}"
            );
            let blocks = (len + 2 * b).div_ceil(b) + 1;
            let x: Vec<Vec<f32>> = (0..n_in)
                .map(|_| random_signal(&mut rng, blocks * b))
                .collect();
            let e = worst_error(&mut conv, &specs, &x);
            assert!(
                e <= MAX_ERR_REL_RMS,
                "B = {b}, len = {len} ({conv:?}): {e:e}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random sparse matrices of filters no longer than the block (single-partition layout with
    /// several hops per block) match the naive convolution, block after block.
    #[test]
    fn single_partition_hops_match_naive(
        seed in any::<u64>(),
        b in prop::sample::select(vec![8usize, 12, 60, 128, 256, 384, 1024]),
        n_in in 1usize..7,
        n_out in 1usize..4,
        len_frac in 0.01f64..1.0,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let len = ((b as f64 * len_frac) as usize).max(1);
        let mut specs = Vec::new();
        for o in 0..n_out {
            for i in 0..n_in {
                if rng.random_bool(0.7) {
                    let l = rng.random_range(1..=len);
                    specs.push(FilterSpec { output: o, input: i, taps: random_signal(&mut rng, l) });
                }
            }
        }
        let mut conv = MatrixConvolver::new(n_in, n_out, &specs, b).expect("new");
        let x: Vec<Vec<f32>> = (0..n_in).map(|_| random_signal(&mut rng, 4 * b)).collect();
        let e = worst_error(&mut conv, &specs, &x);
        prop_assert!(e <= MAX_ERR_REL_RMS, "{conv:?}: {e:e}");
    }
}
