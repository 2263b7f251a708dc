//! Criterion benchmark of the binaural-renderer hot loop: `MatrixConvolver` with 32 inputs → 2
//! outputs and 512-tap random filters, for several block lengths (the convolver picks its hop
//! and FFT size; both are printed). Run single-core: `taskset -c 0 cargo bench -p sphear-core`.
//!
//! Throughput is reported in frames (samples per channel) per second; the real-time factor at
//! 48 kHz is `throughput / 48000`, and is also printed once per partition length from a plain
//! timing loop.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use sphear_core::conv::{FilterSpec, MatrixConvolver};

const N_IN: usize = 32;
const N_OUT: usize = 2;
const TAPS: usize = 512;
const SAMPLE_RATE_HZ: f64 = 48_000.0;

fn setup(partition_len: usize) -> (MatrixConvolver, Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut specs = Vec::new();
    for o in 0..N_OUT {
        for i in 0..N_IN {
            let taps = (0..TAPS).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            specs.push(FilterSpec {
                output: o,
                input: i,
                taps,
            });
        }
    }
    let conv = MatrixConvolver::new(N_IN, N_OUT, &specs, partition_len).expect("convolver");
    let x = (0..N_IN)
        .map(|_| {
            (0..partition_len)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect()
        })
        .collect();
    let y = vec![vec![0.0f32; partition_len]; N_OUT];
    (conv, x, y)
}

fn run_block(conv: &mut MatrixConvolver, x: &[Vec<f32>], y: &mut [Vec<f32>]) {
    let ins: Vec<&[f32]> = x.iter().map(Vec::as_slice).collect();
    let mut outs: Vec<&mut [f32]> = y.iter_mut().map(Vec::as_mut_slice).collect();
    conv.process(black_box(&ins), &mut outs).expect("process");
    black_box(&outs);
}

/// Seconds per block spent in the convolver's FFTs alone (`forward_ffts_per_hop` forward and one
/// inverse per output pair of complex size `fft_len`, `B / hop_len` times), the floor of this
/// layout.
fn fft_floor_s(conv: &MatrixConvolver, blocks: usize) -> f64 {
    let n = conv.fft_len();
    let mut planner = FftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(n);
    let mut t = vec![Complex::new(0.1f32, 0.2); n];
    let mut scratch = vec![Complex::new(0.0f32, 0.0); fwd.get_inplace_scratch_len()];
    let per_block =
        (conv.partition_len() / conv.hop_len()) * (conv.forward_ffts_per_hop() + N_OUT.div_ceil(2));
    let t0 = Instant::now();
    for _ in 0..blocks {
        for _ in 0..per_block {
            t[0] = Complex::new(0.1, 0.2);
            fwd.process_with_scratch(&mut t, &mut scratch);
        }
        black_box(&t);
    }
    t0.elapsed().as_secs_f64() / blocks as f64
}

fn bench_conv(c: &mut Criterion) {
    let mut group = c.benchmark_group("upols_32x2_512taps");
    for &b in &[256usize, 512, 1024, 2048, 4096, 8192] {
        let (mut conv, x, mut y) = setup(b);
        // Plain timing loop for a directly readable real-time factor.
        let blocks = (4 * 48_000 / b).max(64);
        for _ in 0..8 {
            run_block(&mut conv, &x, &mut y);
        }
        let t0 = Instant::now();
        for _ in 0..blocks {
            run_block(&mut conv, &x, &mut y);
        }
        let per_block_s = t0.elapsed().as_secs_f64() / blocks as f64;
        let floor_s = fft_floor_s(&conv, blocks);
        println!(
            "block {b:5} (hop {}, FFT {}, {} fwd FFTs/hop): {:8.2} µs/block, real-time factor at 48 kHz = {:7.1}× \
             (FFTs alone: {:8.2} µs/block = {:7.1}×)",
            conv.hop_len(),
            conv.fft_len(),
            conv.forward_ffts_per_hop(),
            per_block_s * 1e6,
            b as f64 / SAMPLE_RATE_HZ / per_block_s,
            floor_s * 1e6,
            b as f64 / SAMPLE_RATE_HZ / floor_s
        );
        group.throughput(Throughput::Elements(b as u64));
        group.bench_function(format!("partition_{b}"), |bch| {
            bch.iter(|| run_block(&mut conv, &x, &mut y));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_conv);
criterion_main!(benches);
