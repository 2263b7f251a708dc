//! FFT convolution: a streaming multi-input/multi-output convolver (partitioned overlap-save) and
//! an offline full linear convolution.
//!
//! ## Streaming matrix convolution
//!
//! [`MatrixConvolver`] computes, block by block and without added latency,
//!
//! ```text
//! y_o[n] = Σ_i Σ_m h_{o,i}[m] · x_i[n − m]        (o < n_out, i < n_in)
//! ```
//!
//! ### Layout (hop `H`, partition length `P`, FFT size `N ≥ H + P − 1`)
//! Each call of `process` receives `B = partition_len` samples per input and is worked off in
//! `B/H` hops of `H` samples. Every filter is split into partitions of `P` taps,
//! `h_{o,i,p}[m] = h_{o,i}[pP + m]` (`0 ≤ m < P`), each zero-padded to `N` and transformed once, at
//! construction (in `f64`, stored as `f32`). For every hop the last `N` input samples of each
//! input are transformed and pushed into that input's frequency-domain delay line (FDL); each
//! output accumulates
//!
//! ```text
//! Y_o[k] = Σ_i Σ_p H_{o,i,p}[k] · X_i^{(t−p)}[k],     k = 0 … N/2
//! ```
//!
//! and one inverse FFT yields `N` samples whose last `H` are exact (overlap-save: the first
//! `N − H ≥ P − 1` are circularly aliased and discarded). Two layouts are used:
//! * **Uniformly partitioned (UPOLS)**, when the longest filter is longer than `B`:
//!   `H = P = B`, `N` = the smallest FFT-friendly size (`2^a·3^b·5^c`) `≥ 2B − 1`; filter partition
//!   `p` is delayed by `p` hops.
//! * **Single partition**, when every filter fits in `B` taps (the usual offline case, e.g. 512-tap
//!   decoders with 4096-sample blocks): one partition per filter, and `H` (a divisor of `B`) and
//!   `N ≥ H + L − 1` (`L` the longest filter, trailing zeros ignored) chosen to minimise an FFT
//!   cost model, instead of `N = 2B`. For `B = 4096, L = 512` this gives two hops of `H = 2048`
//!   with `N = 2560`.
//!
//! ### Two real signals per complex FFT
//! Inputs that feed exactly the same set of outputs are transformed in pairs: one complex FFT of
//! `z = x_a + i·x_b` gives `Z[k]`, and with `W[k] = conj(Z[(N − k) mod N])` (so that
//! `X_a = (Z + W)/2`, `X_b = (Z − W)/(2i)`)
//!
//! ```text
//! H_a X_a + H_b X_b = Z · (H_a − i·H_b)/2 + W · (H_a + i·H_b)/2
//! ```
//!
//! so both `(H_a ∓ i·H_b)/2` are precomputed and the multiply-accumulate count is unchanged,
//! while the FFT count halves. Outputs are paired the same way: one inverse complex FFT of
//! `Y_a + i·Y_b` (Hermitian-extended) returns `y_a` in its real and `y_b` in its imaginary part.
//! Pairing only inputs with the same output set means a rounding error carried from a partner
//! signal lands only in outputs that the partner feeds anyway (relative level about `2^-24`).
//! The `1/N` of the inverse FFT is folded into the stored filter spectra. Partitions that are all
//! zero in the time domain are skipped, and inputs with no filter are never transformed.
//!
//! Spectra are stored split (real parts and imaginary parts in separate contiguous `f32` arrays)
//! so that the complex multiply-accumulate is a plain loop over equal-length slices that the
//! compiler vectorises.
//!
//! # References
//! * A. Torger and A. Farina, "Real-time partitioned convolution for Ambiophonics surround sound",
//!   IEEE WASPAA 2001 (uniformly partitioned convolution with a frequency-domain delay line).
//! * F. Wefers, *Partitioned convolution algorithms for real-time auralization*, PhD thesis,
//!   RWTH Aachen, Logos Verlag 2015, ch. 5 (UPOLS).
//! * W. H. Press et al., *Numerical Recipes*, 3rd ed., §12.3.2 (two real FFTs with one complex
//!   FFT).

use std::sync::Arc;

use num_complex::Complex;
use realfft::RealFftPlanner;
use rustfft::{Fft, FftPlanner};

use crate::error::{CoreError, Result};

/// Largest accepted `partition_len` (samples). Keeps `2·partition_len` and the buffer sizes far
/// from overflow; real partitions are a few thousand samples at most.
pub const MAX_PARTITION_LEN_SAMPLES: usize = 1 << 24;

/// Below this length of the shorter operand, [`fft_convolve`] uses direct (time-domain)
/// convolution with `f64` accumulation, which is both faster and exact to `f32` rounding there.
const DIRECT_CONVOLVE_MAX_LEN: usize = 32;

/// Cost model of the layout choice (arbitrary time unit ≈ ns on a 2020s x86-64 core with AVX2):
/// one complex `f32` FFT of size `N` costs `FFT_COST_PER_POINT_LOG2 · N · log2 N`, times the
/// factors below. Measured with rustfft 6.4 (AVX): about 0.12–0.13 ns per point per `log2 N`
/// up to `N = 2560`, about 0.15 beyond 4096 (out of L1), radix-3 sizes about 15 % slower and
/// radix-5 sizes about 5 % slower than neighbouring powers of two.
const FFT_COST_PER_POINT_LOG2: f64 = 0.125;
/// Cost factor of FFT sizes with a factor 3 (see [`FFT_COST_PER_POINT_LOG2`]).
const FFT_COST_RADIX3: f64 = 1.15;
/// Cost factor of FFT sizes with a factor 5 and no factor 3.
const FFT_COST_RADIX5: f64 = 1.05;
/// FFT sizes above this many points pay [`FFT_COST_LARGE`] (working set beyond L1).
const FFT_LARGE_N: usize = 4096;
/// Cost factor of FFT sizes above [`FFT_LARGE_N`].
const FFT_COST_LARGE: f64 = 1.2;
/// Cost of one complex multiply-accumulate of one bin of one term (same unit).
const MAC_COST_PER_BIN: f64 = 0.3;
/// Fixed cost per hop and per FFT (copies, bookkeeping; same unit).
const HOP_OVERHEAD: f64 = 200.0;

/// Largest energy ratio (`Σ h²`, 20 dB) between the filters of two inputs (per output) or the
/// total filters of two outputs that share one complex FFT. A paired signal carries rounding
/// noise of relative level `≈ 2^-24` from its partner into the outputs; with filters within
/// 20 dB this stays below 10·2^-24 of the outputs' own level (see the
/// [module documentation](self)).
const PAIR_MAX_ENERGY_RATIO: f64 = 100.0;

/// One FIR filter from input channel `input` to output channel `output` of a
/// [`MatrixConvolver`].
///
/// Several specs for the same `(output, input)` pair add up; pairs without a spec are zero.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterSpec {
    /// Output channel index (0-based, `< n_out`).
    pub output: usize,
    /// Input channel index (0-based, `< n_in`).
    pub input: usize,
    /// Impulse response taps `h[m]`, `m = 0, 1, …` (any length, may be empty).
    pub taps: Vec<f32>,
}

/// One spectrum × delayed-input product contributing to an output.
#[derive(Debug, Clone, Copy)]
struct Term {
    /// Transform slot (one input or a pair of inputs).
    slot: usize,
    /// 0: the slot's `Z` spectrum, 1: its mirrored `W` spectrum.
    which: usize,
    /// Partition index `p` (delay of `p` hops).
    partition: usize,
    /// Offset of the filter spectrum in `filt_re`/`filt_im` (a multiple of `n_bins`).
    offset: usize,
}

/// One forward transform per hop: a single input, or two inputs packed as `x_a + i·x_b`.
#[derive(Debug, Clone)]
struct Slot {
    /// First (real-part) input.
    a: usize,
    /// Second (imaginary-part) input, if paired.
    b: Option<usize>,
    /// Number of FDL entries (= partitions of the longest filter fed by these inputs).
    depth: usize,
    /// Entry holding the newest spectra.
    newest: usize,
    /// Offset of entry 0 in the shared `fdl_re`/`fdl_im` arrays.
    base: usize,
    /// Floats per entry: `n_bins` (single input: `Z` only) or `2·n_bins` (pair: `Z`, then `W`).
    stride: usize,
}

/// Bins per chunk of the multiply-accumulate: the accumulators of one chunk (real and imaginary
/// parts) stay in registers while all terms of an output are summed.
const MAC_CHUNK: usize = 16;

/// Streaming multi-input, multi-output FIR convolver (partitioned overlap-save).
///
/// `process` takes exactly `partition_len` samples per input channel and returns the same number
/// per output channel: `y_o = Σ_i h_{o,i} * x_i` (linear convolution, continuous across calls, no
/// added latency). Internally the block is processed in hops of [`hop_len`](Self::hop_len)
/// samples with complex FFTs of size [`fft_len`](Self::fft_len); per hop the cost is one complex
/// FFT per pair of inputs with the same output set (or per unpaired input), one complex
/// multiply-accumulate of `N/2 + 1` bins per non-zero filter partition, and one inverse complex
/// FFT per pair of outputs. See the [module documentation](self) for the layouts. `process` does
/// not allocate, lock or perform I/O.
///
/// # References
/// Torger & Farina, WASPAA 2001; Wefers, *Partitioned convolution algorithms for real-time
/// auralization*, 2015 (UPOLS). See the [module documentation](self).
pub struct MatrixConvolver {
    n_in: usize,
    n_out: usize,
    /// Block length `B` of `process`, samples.
    block: usize,
    /// Hop `H` (divides `B`), samples.
    hop: usize,
    /// FFT size `N` (even).
    fft_len: usize,
    /// `N/2 + 1` bins kept per spectrum.
    n_bins: usize,
    /// Non-zero `(output, input, partition)` filter partitions.
    n_partitions: usize,
    fft: Arc<dyn Fft<f32>>,
    ifft: Arc<dyn Fft<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Complex work buffer, `N` points.
    buf: Vec<Complex<f32>>,
    /// Accumulated spectra of the (up to) two outputs of an inverse FFT, `n_bins` each.
    spec_a: Vec<Complex<f32>>,
    spec_b: Vec<Complex<f32>>,
    /// Input history: the last `N − H` samples of every active input (`hist_len` each, input
    /// `i` at `i·hist_len`; inactive inputs keep theirs at zero and unused).
    hist: Vec<f32>,
    hist_len: usize,
    slots: Vec<Slot>,
    /// Frequency-domain delay lines, real parts (see [`Slot::base`]).
    fdl_re: Vec<f32>,
    /// Frequency-domain delay lines, imaginary parts.
    fdl_im: Vec<f32>,
    /// All terms, grouped by output: the terms of output `o` are `terms[term_start[o]..term_start[o + 1]]`.
    terms: Vec<Term>,
    term_start: Vec<usize>,
    /// Per term and hop: `[offset of the delayed input spectrum in fdl_*, offset of the filter
    /// spectrum in filt_*]`.
    term_offsets: Vec<[usize; 2]>,
    /// Outputs with at least one term, paired for the inverse FFTs.
    out_pairs: Vec<(usize, Option<usize>)>,
    /// Filter spectra (scaled by `1/N`), real parts.
    filt_re: Vec<f32>,
    /// Filter spectra (scaled by `1/N`), imaginary parts.
    filt_im: Vec<f32>,
}

impl std::fmt::Debug for MatrixConvolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixConvolver")
            .field("n_in", &self.n_in)
            .field("n_out", &self.n_out)
            .field("partition_len", &self.block)
            .field("hop_len", &self.hop)
            .field("fft_len", &self.fft_len)
            .field("nonzero_partitions", &self.n_partitions)
            .field("forward_ffts_per_hop", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// Smallest `m ≥ n` of the form `2^a·3^b·5^c` with `a ≥ 1` (even, FFT-friendly).
fn next_fast_even(n: usize) -> usize {
    let n = n.max(2);
    let mut best = usize::MAX;
    let mut p2 = 2usize;
    loop {
        let mut p3 = p2;
        loop {
            let mut p5 = p3;
            while p5 < n {
                p5 = p5.saturating_mul(5);
            }
            best = best.min(p5);
            if p3 >= n {
                break;
            }
            p3 = p3.saturating_mul(3);
        }
        if p2 >= n {
            break;
        }
        p2 = p2.saturating_mul(2);
    }
    best
}

/// Modelled cost of one complex FFT of size `n` (see [`FFT_COST_PER_POINT_LOG2`]).
fn fft_cost(n: usize) -> f64 {
    let nf = n as f64;
    let mut c = FFT_COST_PER_POINT_LOG2 * nf * nf.log2().max(1.0);
    if n % 3 == 0 {
        c *= FFT_COST_RADIX3;
    } else if n % 5 == 0 {
        c *= FFT_COST_RADIX5;
    }
    if n > FFT_LARGE_N {
        c *= FFT_COST_LARGE;
    }
    c
}

/// Hop and FFT size for the single-partition layout: block `b`, longest filter `l ≤ b`,
/// `n_fft` FFTs and `n_terms` multiply-accumulate terms per hop. Returns `(hop, fft_len)`.
fn choose_single_partition_layout(
    b: usize,
    l: usize,
    n_fft: usize,
    n_terms: usize,
) -> (usize, usize) {
    let mut best = (f64::INFINITY, b, next_fast_even(b + l - 1));
    let mut d = 1usize;
    while d * d <= b {
        if b % d == 0 {
            for hops in [d, b / d] {
                let hop = b / hops;
                let n = next_fast_even(hop + l - 1);
                let per_hop = n_fft as f64 * (fft_cost(n) + HOP_OVERHEAD)
                    + n_terms as f64 * (n / 2 + 1) as f64 * MAC_COST_PER_BIN;
                let cost = hops as f64 * per_hop;
                // Prefer fewer hops on (near) ties.
                if cost < best.0 * (1.0 - 1e-9) || (cost <= best.0 && hop > best.1) {
                    best = (cost, hop, n);
                }
            }
        }
        d += 1;
    }
    (best.1, best.2)
}

impl MatrixConvolver {
    /// Builds a convolver with `n_in` inputs, `n_out` outputs, the given filters and block length
    /// `partition_len` (samples per [`process`](Self::process) call).
    ///
    /// Filters may have any length (including 0 and lengths that are not multiples of
    /// `partition_len`); several specs for the same pair add. The internal hop and FFT size are
    /// chosen here (see the [module documentation](self)). All buffers used by
    /// [`process`](Self::process) are allocated here.
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] if `n_in`, `n_out` or `partition_len` is 0,
    /// `partition_len > MAX_PARTITION_LEN_SAMPLES`, a spec names a channel out of range, or a tap
    /// is not finite.
    pub fn new(
        n_in: usize,
        n_out: usize,
        filters: &[FilterSpec],
        partition_len: usize,
    ) -> Result<Self> {
        if n_in == 0 || n_out == 0 {
            return Err(CoreError::InvalidArgument(format!(
                "MatrixConvolver needs at least one input and one output, got n_in = {n_in}, n_out = {n_out}"
            )));
        }
        if partition_len == 0 || partition_len > MAX_PARTITION_LEN_SAMPLES {
            return Err(CoreError::InvalidArgument(format!(
                "partition_len must be in 1..={MAX_PARTITION_LEN_SAMPLES} samples, got {partition_len}"
            )));
        }
        let n_pairs = n_out.checked_mul(n_in).ok_or_else(|| {
            CoreError::InvalidArgument(format!("{n_out} × {n_in} filter matrix is too large"))
        })?;

        // Validate and sum the specs per (output, input) pair.
        let mut pair_taps: Vec<Vec<f32>> = Vec::new();
        pair_taps.resize_with(n_pairs, Vec::new);
        for (idx, spec) in filters.iter().enumerate() {
            if spec.output >= n_out || spec.input >= n_in {
                return Err(CoreError::InvalidArgument(format!(
                    "filter spec {idx}: (output {}, input {}) is outside the {n_out} × {n_in} matrix",
                    spec.output, spec.input
                )));
            }
            if let Some(m) = spec.taps.iter().position(|t| !t.is_finite()) {
                return Err(CoreError::InvalidArgument(format!(
                    "filter spec {idx} (output {}, input {}): tap {m} is not finite ({})",
                    spec.output, spec.input, spec.taps[m]
                )));
            }
            let acc = &mut pair_taps[spec.output * n_in + spec.input];
            if acc.len() < spec.taps.len() {
                acc.resize(spec.taps.len(), 0.0);
            }
            for (a, &t) in acc.iter_mut().zip(&spec.taps) {
                *a += t;
            }
        }
        // Trailing zeros do no work.
        for taps in &mut pair_taps {
            let len = taps.iter().rposition(|&t| t != 0.0).map_or(0, |p| p + 1);
            taps.truncate(len);
        }
        let max_len = pair_taps.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let active_in = (0..n_in)
            .filter(|&i| (0..n_out).any(|o| !pair_taps[o * n_in + i].is_empty()))
            .count();
        let active_out = (0..n_out)
            .filter(|&o| (0..n_in).any(|i| !pair_taps[o * n_in + i].is_empty()))
            .count();
        let nonzero_pairs = pair_taps.iter().filter(|t| !t.is_empty()).count();

        // Layout: (hop, partition length, FFT size).
        let block = partition_len;
        let (hop, part_len, fft_len) = if max_len <= block {
            let n_fft = active_in.div_ceil(2) + active_out.div_ceil(2);
            let (hop, n) =
                choose_single_partition_layout(block, max_len, n_fft.max(1), nonzero_pairs);
            (hop, n - hop + 1, n)
        } else {
            (block, block, next_fast_even(2 * block - 1))
        };
        let n_bins = fft_len / 2 + 1;
        let scale = 1.0 / fft_len as f64;

        // Filter partition spectra, f64 design-time transform, bins 0..=N/2, scaled by 1/N.
        let mut planner64 = FftPlanner::<f64>::new();
        let fft64 = planner64.plan_fft_forward(fft_len);
        let mut buf64 = vec![Complex::new(0.0f64, 0.0); fft_len];
        // spectra[(o * n_in + i)][p] = Some(bins) for non-zero partitions.
        let mut spectra: Vec<Vec<Option<Vec<Complex<f64>>>>> = Vec::with_capacity(n_pairs);
        let mut n_partitions = 0;
        for taps in &pair_taps {
            let mut parts = Vec::new();
            for part in taps.chunks(part_len) {
                if part.iter().all(|&t| t == 0.0) {
                    parts.push(None);
                    continue;
                }
                buf64.fill(Complex::new(0.0, 0.0));
                for (b, &t) in buf64.iter_mut().zip(part) {
                    b.re = f64::from(t);
                }
                fft64.process(&mut buf64);
                parts.push(Some(buf64[..n_bins].iter().map(|c| c * scale).collect()));
                n_partitions += 1;
            }
            spectra.push(parts);
        }

        // Pair the active inputs that feed the same set of outputs.
        // Filter energies Σ h², for the level checks of the pairing.
        let energy: Vec<f64> = pair_taps
            .iter()
            .map(|t| t.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
            .collect();
        let close = |ea: f64, eb: f64| ea.max(eb) <= PAIR_MAX_ENERGY_RATIO * ea.min(eb);
        let out_set = |i: usize| -> Vec<bool> {
            (0..n_out)
                .map(|o| !pair_taps[o * n_in + i].is_empty())
                .collect()
        };
        let depth_of = |i: usize| {
            (0..n_out)
                .map(|o| spectra[o * n_in + i].len())
                .max()
                .unwrap_or(0)
        };
        let mut active: Vec<(Vec<bool>, usize)> = (0..n_in)
            .filter(|&i| depth_of(i) > 0)
            .map(|i| (out_set(i), i))
            .collect();
        let total_in = |i: usize| (0..n_out).map(|o| energy[o * n_in + i]).sum::<f64>();
        active.sort_by(|x, y| x.0.cmp(&y.0).then(total_in(x.1).total_cmp(&total_in(y.1))));
        // Inputs pair when they feed the same outputs through filters of comparable energy.
        let can_pair_in = |a: usize, b: usize| {
            out_set(a) == out_set(b)
                && (0..n_out).all(|o| {
                    let (ea, eb) = (energy[o * n_in + a], energy[o * n_in + b]);
                    (ea == 0.0 && eb == 0.0) || close(ea, eb)
                })
        };
        let mut slots = Vec::new();
        let mut fdl_len = 0;
        let mut k = 0;
        while k < active.len() {
            let a = active[k].1;
            let b = (k + 1 < active.len() && can_pair_in(active[k].1, active[k + 1].1))
                .then(|| active[k + 1].1);
            k += if b.is_some() { 2 } else { 1 };
            let depth = depth_of(a).max(b.map_or(0, depth_of));
            let stride = if b.is_some() { 2 * n_bins } else { n_bins };
            slots.push(Slot {
                a,
                b,
                depth,
                newest: 0,
                base: fdl_len,
                stride,
            });
            fdl_len += depth * stride;
        }

        // Terms per output.
        let mut filt_re = Vec::new();
        let mut filt_im = Vec::new();
        let mut push_spec = |s: &mut dyn Iterator<Item = Complex<f64>>| -> usize {
            let offset = filt_re.len();
            for c in s {
                filt_re.push(c.re as f32);
                filt_im.push(c.im as f32);
            }
            offset
        };
        let mut terms = Vec::new();
        let mut term_start = Vec::with_capacity(n_out + 1);
        let zero = vec![Complex::new(0.0f64, 0.0); n_bins];
        for o in 0..n_out {
            term_start.push(terms.len());
            for (s, slot) in slots.iter().enumerate() {
                for p in 0..slot.depth {
                    let get = |i: usize| spectra[o * n_in + i].get(p).and_then(Option::as_ref);
                    let ha = get(slot.a);
                    match slot.b {
                        None => {
                            if let Some(h) = ha {
                                let offset = push_spec(&mut h.iter().copied());
                                terms.push(Term {
                                    slot: s,
                                    which: 0,
                                    partition: p,
                                    offset,
                                });
                            }
                        }
                        Some(bi) => {
                            let hb = get(bi);
                            if ha.is_none() && hb.is_none() {
                                continue;
                            }
                            let ha = ha.unwrap_or(&zero);
                            let hb = hb.unwrap_or(&zero);
                            let i = Complex::new(0.0f64, 1.0);
                            // Z·(H_a − i·H_b)/2 + W·(H_a + i·H_b)/2.
                            let off_z =
                                push_spec(&mut ha.iter().zip(hb).map(|(&x, &y)| (x - i * y) * 0.5));
                            terms.push(Term {
                                slot: s,
                                which: 0,
                                partition: p,
                                offset: off_z,
                            });
                            let off_w =
                                push_spec(&mut ha.iter().zip(hb).map(|(&x, &y)| (x + i * y) * 0.5));
                            terms.push(Term {
                                slot: s,
                                which: 1,
                                partition: p,
                                offset: off_w,
                            });
                        }
                    }
                }
            }
        }
        term_start.push(terms.len());
        // Pair the outputs with terms that are fed by the same set of inputs.
        let mut fed: Vec<(Vec<bool>, usize)> = (0..n_out)
            .filter(|&o| term_start[o + 1] > term_start[o])
            .map(|o| {
                (
                    (0..n_in)
                        .map(|i| !pair_taps[o * n_in + i].is_empty())
                        .collect(),
                    o,
                )
            })
            .collect();
        let total_out = |o: usize| (0..n_in).map(|i| energy[o * n_in + i]).sum::<f64>();
        fed.sort_by(|x, y| {
            x.0.cmp(&y.0)
                .then(total_out(x.1).total_cmp(&total_out(y.1)))
        });
        let mut out_pairs = Vec::new();
        let mut k = 0;
        while k < fed.len() {
            let partner = (k + 1 < fed.len()
                && fed[k + 1].0 == fed[k].0
                && close(total_out(fed[k].1), total_out(fed[k + 1].1)))
            .then(|| fed[k + 1].1);
            out_pairs.push((fed[k].1, partner));
            k += if partner.is_some() { 2 } else { 1 };
        }

        let mut planner = FftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(fft_len);
        let ifft = planner.plan_fft_inverse(fft_len);
        let scratch_len = fft
            .get_inplace_scratch_len()
            .max(ifft.get_inplace_scratch_len());
        let hist_len = fft_len - hop;
        let term_offsets = terms.iter().map(|t| [0, t.offset]).collect();
        Ok(Self {
            n_in,
            n_out,
            block,
            hop,
            fft_len,
            n_bins,
            n_partitions,
            fft,
            ifft,
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            buf: vec![Complex::new(0.0, 0.0); fft_len],
            spec_a: vec![Complex::new(0.0, 0.0); n_bins],
            spec_b: vec![Complex::new(0.0, 0.0); n_bins],
            hist: vec![0.0; if slots.is_empty() { 0 } else { n_in * hist_len }],
            hist_len,
            slots,
            fdl_re: vec![0.0; fdl_len],
            fdl_im: vec![0.0; fdl_len],
            terms,
            term_start,
            term_offsets,
            out_pairs,
            filt_re,
            filt_im,
        })
    }

    /// Block length `B` (samples per channel per [`process`](Self::process) call).
    pub fn partition_len(&self) -> usize {
        self.block
    }

    /// Internal hop `H` in samples (a divisor of [`partition_len`](Self::partition_len)): each
    /// `process` call runs `B/H` rounds of FFTs.
    pub fn hop_len(&self) -> usize {
        self.hop
    }

    /// Internal complex FFT size `N` (even, `2^a·3^b·5^c` for the layouts chosen here).
    pub fn fft_len(&self) -> usize {
        self.fft_len
    }

    /// Forward complex FFTs per hop (one per input pair or unpaired active input).
    pub fn forward_ffts_per_hop(&self) -> usize {
        self.slots.len()
    }

    /// Number of input channels.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Number of output channels.
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Number of non-zero filter partitions, counted per `(output, input)` filter (in the
    /// single-partition layout: the number of non-zero filters).
    pub fn nonzero_partitions(&self) -> usize {
        self.n_partitions
    }

    /// Clears the streaming state (input history), as if freshly constructed.
    pub fn reset(&mut self) {
        self.hist.fill(0.0);
        for s in &mut self.slots {
            s.newest = 0;
        }
        self.fdl_re.fill(0.0);
        self.fdl_im.fill(0.0);
    }

    /// Convolves one block: `output[o][j] = Σ_i (h_{o,i} * x_i)[t·B + j]` for block index `t`.
    ///
    /// `input` holds `n_in` slices and `output` `n_out` slices, each of exactly
    /// [`partition_len`](Self::partition_len) samples. Outputs are overwritten (not accumulated).
    /// Real-time safe: no allocation, locking or I/O.
    ///
    /// # Errors
    /// [`CoreError::ChannelCount`] if the number of slices is wrong and
    /// [`CoreError::InvalidArgument`] if a slice length differs from `partition_len`; the state is
    /// left untouched in both cases.
    pub fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) -> Result<()> {
        let b = self.block;
        if input.len() != self.n_in {
            return Err(CoreError::ChannelCount {
                expected: format!("{} input", self.n_in),
                got: input.len(),
            });
        }
        if output.len() != self.n_out {
            return Err(CoreError::ChannelCount {
                expected: format!("{} output", self.n_out),
                got: output.len(),
            });
        }
        if let Some((i, x)) = input.iter().enumerate().find(|(_, x)| x.len() != b) {
            return Err(CoreError::InvalidArgument(format!(
                "input {i} has {} samples, expected partition_len = {b}",
                x.len()
            )));
        }
        if let Some((o, y)) = output.iter().enumerate().find(|(_, y)| y.len() != b) {
            return Err(CoreError::InvalidArgument(format!(
                "output {o} has {} samples, expected partition_len = {b}",
                y.len()
            )));
        }
        for y in output.iter_mut() {
            y.fill(0.0);
        }
        let h = self.hop;
        for start in (0..b).step_by(h) {
            self.process_hop(input, output, start);
        }
        Ok(())
    }

    /// One hop: samples `start..start + H` of every input and output.
    fn process_hop(&mut self, input: &[&[f32]], output: &mut [&mut [f32]], start: usize) {
        let (h, n, n_bins, hl) = (self.hop, self.fft_len, self.n_bins, self.hist_len);
        // 1. One forward complex FFT per slot, pushed into its FDL.
        for st in &mut self.slots {
            let xa = &input[st.a][start..start + h];
            let ha = &self.hist[st.a * hl..(st.a + 1) * hl];
            let (win, new) = self.buf.split_at_mut(hl);
            match st.b {
                Some(bi) => {
                    let xb = &input[bi][start..start + h];
                    let hb = &self.hist[bi * hl..(bi + 1) * hl];
                    for ((c, &r), &i) in win.iter_mut().zip(ha).zip(hb) {
                        *c = Complex::new(r, i);
                    }
                    for ((c, &r), &i) in new.iter_mut().zip(xa).zip(xb) {
                        *c = Complex::new(r, i);
                    }
                }
                None => {
                    for (c, &r) in win.iter_mut().zip(ha) {
                        *c = Complex::new(r, 0.0);
                    }
                    for (c, &r) in new.iter_mut().zip(xa) {
                        *c = Complex::new(r, 0.0);
                    }
                }
            }
            for i in std::iter::once(st.a).chain(st.b) {
                let x = &input[i][start..start + h];
                let hist = &mut self.hist[i * hl..(i + 1) * hl];
                if hl <= h {
                    hist.copy_from_slice(&x[h - hl..]);
                } else {
                    hist.copy_within(h.., 0);
                    hist[hl - h..].copy_from_slice(x);
                }
            }
            self.fft
                .process_with_scratch(&mut self.buf, &mut self.scratch);
            st.newest = if st.newest + 1 == st.depth {
                0
            } else {
                st.newest + 1
            };
            let base = st.base + st.newest * st.stride;
            let re = &mut self.fdl_re[base..base + n_bins];
            let im = &mut self.fdl_im[base..base + n_bins];
            for ((r, m), c) in re.iter_mut().zip(im.iter_mut()).zip(&self.buf) {
                *r = c.re;
                *m = c.im;
            }
            if st.b.is_some() {
                // W[k] = conj(Z[(N − k) mod N]).
                let re = &mut self.fdl_re[base + n_bins..base + 2 * n_bins];
                let im = &mut self.fdl_im[base + n_bins..base + 2 * n_bins];
                re[0] = self.buf[0].re;
                im[0] = -self.buf[0].im;
                for ((r, m), c) in re[1..]
                    .iter_mut()
                    .zip(im[1..].iter_mut())
                    .zip(self.buf[n - n_bins + 1..].iter().rev())
                {
                    *r = c.re;
                    *m = -c.im;
                }
            }
        }

        // 2. Where each term's delayed input spectrum sits this hop.
        for (t, off) in self.terms.iter().zip(self.term_offsets.iter_mut()) {
            let st = &self.slots[t.slot];
            let entry = if st.newest >= t.partition {
                st.newest - t.partition
            } else {
                st.newest + st.depth - t.partition
            };
            off[0] = st.base + entry * st.stride + t.which * n_bins;
        }

        // 3. Multiply-accumulate and one inverse complex FFT per output pair.
        for &(oa, ob) in &self.out_pairs {
            let ra = self.term_start[oa]..self.term_start[oa + 1];
            accumulate(
                &self.term_offsets[ra],
                &self.fdl_re,
                &self.fdl_im,
                &self.filt_re,
                &self.filt_im,
                &mut self.spec_a,
            );
            match ob {
                Some(ob) => {
                    let rb = self.term_start[ob]..self.term_start[ob + 1];
                    accumulate(
                        &self.term_offsets[rb],
                        &self.fdl_re,
                        &self.fdl_im,
                        &self.filt_re,
                        &self.filt_im,
                        &mut self.spec_b,
                    );
                }
                None => self.spec_b.fill(Complex::new(0.0, 0.0)),
            }
            // DC and Nyquist bins of real signals are real; rounding must not leak into the
            // partner output.
            for s in [&mut self.spec_a, &mut self.spec_b] {
                s[0].im = 0.0;
                s[n_bins - 1].im = 0.0;
            }
            // Hermitian extension of Y_a + i·Y_b.
            for ((c, a), bb) in self.buf[..n_bins]
                .iter_mut()
                .zip(&self.spec_a)
                .zip(&self.spec_b)
            {
                *c = Complex::new(a.re - bb.im, a.im + bb.re);
            }
            for (k, (a, bb)) in self
                .spec_a
                .iter()
                .zip(&self.spec_b)
                .enumerate()
                .take(n_bins - 1)
                .skip(1)
            {
                self.buf[n - k] = Complex::new(a.re + bb.im, bb.re - a.im);
            }
            self.ifft
                .process_with_scratch(&mut self.buf, &mut self.scratch);
            let tail = &self.buf[n - h..];
            for (y, c) in output[oa][start..start + h].iter_mut().zip(tail) {
                *y = c.re;
            }
            if let Some(ob) = ob {
                for (y, c) in output[ob][start..start + h].iter_mut().zip(tail) {
                    *y = c.im;
                }
            }
        }
    }
}

/// `out[k] = Σ_t X_t[k] · H_t[k]` over the terms `t` with spectrum offsets `offsets[t] = [x, h]`
/// into the split arrays (`X_t[k] = x_re[x + k] + i·x_im[x + k]`, likewise `H_t`), for
/// `k < out.len()`.
///
/// Bins are processed in chunks of [`MAC_CHUNK`] whose accumulators stay in registers across all
/// terms; the fixed-length inner loop is unrolled and vectorised by the compiler.
fn accumulate(
    offsets: &[[usize; 2]],
    x_re: &[f32],
    x_im: &[f32],
    h_re: &[f32],
    h_im: &[f32],
    out: &mut [Complex<f32>],
) {
    let n_bins = out.len();
    let mut c0 = 0;
    while c0 + MAC_CHUNK <= n_bins {
        let mut ar = [0.0f32; MAC_CHUNK];
        let mut ai = [0.0f32; MAC_CHUNK];
        for &[xo, ho] in offsets {
            let xr = &x_re[xo + c0..][..MAC_CHUNK];
            let xi = &x_im[xo + c0..][..MAC_CHUNK];
            let hr = &h_re[ho + c0..][..MAC_CHUNK];
            let hi = &h_im[ho + c0..][..MAC_CHUNK];
            for k in 0..MAC_CHUNK {
                ar[k] += xr[k] * hr[k] - xi[k] * hi[k];
                ai[k] += xr[k] * hi[k] + xi[k] * hr[k];
            }
        }
        for (c, (&r, &i)) in out[c0..c0 + MAC_CHUNK].iter_mut().zip(ar.iter().zip(&ai)) {
            *c = Complex::new(r, i);
        }
        c0 += MAC_CHUNK;
    }
    for (k, c) in out.iter_mut().enumerate().skip(c0) {
        let (mut r, mut i) = (0.0f32, 0.0f32);
        for &[xo, ho] in offsets {
            let (xr, xi, hr, hi) = (x_re[xo + k], x_im[xo + k], h_re[ho + k], h_im[ho + k]);
            r += xr * hr - xi * hi;
            i += xr * hi + xi * hr;
        }
        *c = Complex::new(r, i);
    }
}

/// Full linear convolution `y[n] = Σ_m x[m] h[n − m]`, `n = 0 .. x.len() + h.len() − 1`, for offline
/// use (allocates; not real-time safe).
///
/// Computed with a single zero-padded real FFT of power-of-two size in `f64` (or directly, with `f64`
/// accumulation, when the shorter operand has at most 32 samples) and rounded to `f32` at the end.
/// Returns an empty vector if either operand is empty.
pub fn fft_convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    if x.is_empty() || h.is_empty() {
        return Vec::new();
    }
    let out_len = x.len() + h.len() - 1;
    if x.len().min(h.len()) <= DIRECT_CONVOLVE_MAX_LEN {
        let (long, short) = if x.len() >= h.len() { (x, h) } else { (h, x) };
        let mut y = vec![0.0f64; out_len];
        for (m, &s) in short.iter().enumerate() {
            let s = f64::from(s);
            for (yy, &l) in y[m..m + long.len()].iter_mut().zip(long) {
                *yy += s * f64::from(l);
            }
        }
        return y.into_iter().map(|v| v as f32).collect();
    }
    let n = out_len.next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut scratch =
        vec![Complex::new(0.0f64, 0.0); fwd.get_scratch_len().max(inv.get_scratch_len())];

    let mut buf = vec![0.0f64; n];
    for (b, &v) in buf.iter_mut().zip(x) {
        *b = f64::from(v);
    }
    let mut xs = fwd.make_output_vec();
    // Lengths are consistent by construction; the FFT cannot fail.
    if fwd
        .process_with_scratch(&mut buf, &mut xs, &mut scratch)
        .is_err()
    {
        return Vec::new();
    }
    buf.fill(0.0);
    for (b, &v) in buf.iter_mut().zip(h) {
        *b = f64::from(v);
    }
    let mut hs = fwd.make_output_vec();
    if fwd
        .process_with_scratch(&mut buf, &mut hs, &mut scratch)
        .is_err()
    {
        return Vec::new();
    }
    let scale = 1.0 / n as f64;
    for (a, b) in xs.iter_mut().zip(&hs) {
        *a *= *b * scale;
    }
    let last = xs.len() - 1;
    xs[0].im = 0.0;
    xs[last].im = 0.0;
    if inv
        .process_with_scratch(&mut xs, &mut buf, &mut scratch)
        .is_err()
    {
        return Vec::new();
    }
    buf[..out_len].iter().map(|&v| v as f32).collect()
}
