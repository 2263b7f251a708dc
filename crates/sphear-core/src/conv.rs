//! FFT convolution: a streaming multi-input/multi-output convolver (uniformly partitioned
//! overlap-save) and an offline full linear convolution.
//!
//! ## Streaming matrix convolution (UPOLS)
//!
//! [`MatrixConvolver`] computes, block by block and without added latency,
//!
//! ```text
//! y_o[n] = Σ_i Σ_m h_{o,i}[m] · x_i[n − m]        (o < n_out, i < n_in)
//! ```
//!
//! Every filter is split into partitions of `B = partition_len` taps, `h_{o,i,p}[m] = h_{o,i}[pB + m]`
//! (`0 ≤ m < B`), each zero-padded to `N = 2B` and transformed once, at construction, with a real FFT
//! (`H_{o,i,p}[k] = Σ h_{o,i,p}[m] e^{−i2πkm/N}`, `k = 0..=B`). For every new block the last `N`
//! input samples of each input (previous block followed by the current one) are transformed *once*
//! and pushed into that input's frequency-domain delay line (FDL). Each output then accumulates
//!
//! ```text
//! Y_o[k] = Σ_i Σ_p H_{o,i,p}[k] · X_i^{(t−p)}[k]
//! ```
//!
//! and one inverse FFT per output yields `N` samples whose last `B` are the output block
//! (overlap-save: the first `B` are circularly aliased and discarded). The `1/N` of the inverse
//! FFT is folded into the stored filter spectra. Partitions that are all zero in the time domain
//! are skipped, and inputs with no filter are never transformed.
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

use std::sync::Arc;

use num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::error::{CoreError, Result};

/// Largest accepted `partition_len` (samples). Keeps `2·partition_len` and the buffer sizes far
/// from overflow; real partitions are a few thousand samples at most.
pub const MAX_PARTITION_LEN_SAMPLES: usize = 1 << 24;

/// Below this length of the shorter operand, [`fft_convolve`] uses direct (time-domain)
/// convolution with `f64` accumulation, which is both faster and exact to `f32` rounding there.
const DIRECT_CONVOLVE_MAX_LEN: usize = 32;

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

/// One non-zero filter partition contributing to an output.
#[derive(Debug, Clone, Copy)]
struct Term {
    /// Input channel.
    input: usize,
    /// Partition index `p` (delay of `p` blocks).
    partition: usize,
    /// Offset of the partition spectrum in `filt_re`/`filt_im` (a multiple of `n_bins`).
    offset: usize,
}

/// Per-input streaming state.
#[derive(Debug, Clone)]
struct InputState {
    /// The previous input block (`B` samples).
    prev: Vec<f32>,
    /// Number of FDL slots (= number of partitions of the longest filter fed by this input;
    /// 0 if the input feeds nothing).
    depth: usize,
    /// Slot holding the newest spectrum.
    newest: usize,
    /// Offset of slot 0 of this input's FDL in the shared `fdl_re`/`fdl_im` arrays
    /// (slot `s` starts at `base + s·n_bins`).
    base: usize,
}

/// Bins per chunk of the multiply-accumulate: the accumulators of one chunk (real and imaginary
/// parts) stay in registers while all terms of an output are summed.
const MAC_CHUNK: usize = 16;

/// Streaming multi-input, multi-output FIR convolver (uniformly partitioned overlap-save).
///
/// `process` takes exactly `partition_len` samples per input channel and returns the same number
/// per output channel: `y_o = Σ_i h_{o,i} * x_i` (linear convolution, continuous across calls, no
/// added latency). The cost per block is one real FFT of size `2·partition_len` per input that
/// feeds at least one filter, one complex multiply-accumulate of `partition_len + 1` bins per
/// non-zero filter partition, and one inverse FFT per output that has a filter. `process` does
/// not allocate, lock or perform I/O.
///
/// # References
/// Torger & Farina, WASPAA 2001; Wefers, *Partitioned convolution algorithms for real-time
/// auralization*, 2015 (UPOLS). See the [module documentation](self).
pub struct MatrixConvolver {
    n_in: usize,
    n_out: usize,
    /// Partition (block) length `B`, samples.
    block: usize,
    /// `B + 1` bins of the real FFT of size `2B`.
    n_bins: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    ifft_scratch: Vec<Complex<f32>>,
    /// Time-domain work buffer, `2B` samples.
    time_buf: Vec<f32>,
    /// Complex work spectrum, `B + 1` bins.
    spec_buf: Vec<Complex<f32>>,
    inputs: Vec<InputState>,
    /// Frequency-domain delay lines of all inputs, real parts (see [`InputState::base`]).
    fdl_re: Vec<f32>,
    /// Frequency-domain delay lines of all inputs, imaginary parts.
    fdl_im: Vec<f32>,
    /// All terms, grouped by output: the terms of output `o` are `terms[term_start[o]..term_start[o + 1]]`.
    terms: Vec<Term>,
    term_start: Vec<usize>,
    /// Per term and block: `[offset of the delayed input spectrum in fdl_*, offset of the filter
    /// spectrum in filt_*]`.
    term_offsets: Vec<[usize; 2]>,
    /// Filter partition spectra (scaled by `1/(2B)`), real parts.
    filt_re: Vec<f32>,
    /// Filter partition spectra (scaled by `1/(2B)`), imaginary parts.
    filt_im: Vec<f32>,
}

impl std::fmt::Debug for MatrixConvolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixConvolver")
            .field("n_in", &self.n_in)
            .field("n_out", &self.n_out)
            .field("partition_len", &self.block)
            .field("nonzero_partitions", &self.terms.len())
            .finish_non_exhaustive()
    }
}

fn fft_error(e: realfft::FftError) -> CoreError {
    CoreError::InvalidArgument(format!("internal FFT error: {e}"))
}

impl MatrixConvolver {
    /// Builds a convolver with `n_in` inputs, `n_out` outputs, the given filters and block length
    /// `partition_len` (samples; the FFT size is `2·partition_len`).
    ///
    /// Filters may have any length (including 0 and lengths that are not multiples of
    /// `partition_len`); several specs for the same pair add. All buffers used by
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

        let block = partition_len;
        let fft_len = 2 * block;
        let n_bins = block + 1;
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(fft_len);
        let ifft = planner.plan_fft_inverse(fft_len);
        let mut fft_scratch = fft.make_scratch_vec();
        let mut time_buf = vec![0.0f32; fft_len];
        let mut spec_buf = vec![Complex::new(0.0f32, 0.0); n_bins];
        let scale = 1.0 / fft_len as f32;

        // Transform the non-zero partitions.
        let mut depth = vec![0usize; n_in];
        let mut per_output_terms: Vec<Vec<Term>> = vec![Vec::new(); n_out];
        let mut filt_re = Vec::new();
        let mut filt_im = Vec::new();
        for o in 0..n_out {
            for i in 0..n_in {
                let taps = &pair_taps[o * n_in + i];
                for (p, part) in taps.chunks(block).enumerate() {
                    if part.iter().all(|&t| t == 0.0) {
                        continue;
                    }
                    time_buf.fill(0.0);
                    time_buf[..part.len()].copy_from_slice(part);
                    fft.process_with_scratch(&mut time_buf, &mut spec_buf, &mut fft_scratch)
                        .map_err(fft_error)?;
                    let offset = filt_re.len();
                    filt_re.extend(spec_buf.iter().map(|c| c.re * scale));
                    filt_im.extend(spec_buf.iter().map(|c| c.im * scale));
                    per_output_terms[o].push(Term {
                        input: i,
                        partition: p,
                        offset,
                    });
                    depth[i] = depth[i].max(p + 1);
                }
            }
        }
        let mut terms = Vec::new();
        let mut term_start = Vec::with_capacity(n_out + 1);
        for t in per_output_terms {
            term_start.push(terms.len());
            terms.extend(t);
        }
        term_start.push(terms.len());

        let mut fdl_len = 0;
        let inputs = depth
            .iter()
            .map(|&d| {
                let base = fdl_len;
                fdl_len += d * n_bins;
                InputState {
                    prev: vec![0.0; if d > 0 { block } else { 0 }],
                    depth: d,
                    newest: 0,
                    base,
                }
            })
            .collect();
        let term_offsets = terms.iter().map(|t| [0, t.offset]).collect();
        let ifft_scratch = ifft.make_scratch_vec();
        time_buf.fill(0.0);
        spec_buf.fill(Complex::new(0.0, 0.0));
        Ok(Self {
            n_in,
            n_out,
            block,
            n_bins,
            fft,
            ifft,
            fft_scratch,
            ifft_scratch,
            time_buf,
            spec_buf,
            inputs,
            fdl_re: vec![0.0; fdl_len],
            fdl_im: vec![0.0; fdl_len],
            terms,
            term_start,
            term_offsets,
            filt_re,
            filt_im,
        })
    }

    /// Block length `B` (samples per channel per [`process`](Self::process) call).
    pub fn partition_len(&self) -> usize {
        self.block
    }

    /// Number of input channels.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Number of output channels.
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Number of non-zero filter partitions (complex multiply-accumulates per block).
    pub fn nonzero_partitions(&self) -> usize {
        self.terms.len()
    }

    /// Clears the streaming state (input history), as if freshly constructed.
    pub fn reset(&mut self) {
        for st in &mut self.inputs {
            st.prev.fill(0.0);
            st.newest = 0;
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

        let n_bins = self.n_bins;
        // 1. One forward FFT per active input, pushed into its FDL.
        for (st, x) in self.inputs.iter_mut().zip(input) {
            if st.depth == 0 {
                continue;
            }
            self.time_buf[..b].copy_from_slice(&st.prev);
            self.time_buf[b..].copy_from_slice(x);
            st.prev.copy_from_slice(x);
            self.fft
                .process_with_scratch(
                    &mut self.time_buf,
                    &mut self.spec_buf,
                    &mut self.fft_scratch,
                )
                .map_err(fft_error)?;
            st.newest = if st.newest + 1 == st.depth {
                0
            } else {
                st.newest + 1
            };
            let base = st.base + st.newest * n_bins;
            let re = &mut self.fdl_re[base..base + n_bins];
            let im = &mut self.fdl_im[base..base + n_bins];
            for ((r, m), c) in re.iter_mut().zip(im.iter_mut()).zip(&self.spec_buf) {
                *r = c.re;
                *m = c.im;
            }
        }

        // 2. Where each term's delayed input spectrum sits this block.
        for (t, off) in self.terms.iter().zip(self.term_offsets.iter_mut()) {
            let st = &self.inputs[t.input];
            let slot = if st.newest >= t.partition {
                st.newest - t.partition
            } else {
                st.newest + st.depth - t.partition
            };
            off[0] = st.base + slot * n_bins;
        }

        // 3. Multiply-accumulate and one inverse FFT per output.
        for (o, y) in output.iter_mut().enumerate() {
            let range = self.term_start[o]..self.term_start[o + 1];
            if range.is_empty() {
                y.fill(0.0);
                continue;
            }
            accumulate(
                &self.term_offsets[range],
                &self.fdl_re,
                &self.fdl_im,
                &self.filt_re,
                &self.filt_im,
                &mut self.spec_buf,
            );
            // DC and Nyquist bins of a real signal are real; the products keep them real
            // exactly, this only guards against the FFT's input check.
            self.spec_buf[0].im = 0.0;
            self.spec_buf[n_bins - 1].im = 0.0;
            self.ifft
                .process_with_scratch(
                    &mut self.spec_buf,
                    &mut self.time_buf,
                    &mut self.ifft_scratch,
                )
                .map_err(fft_error)?;
            y.copy_from_slice(&self.time_buf[b..]);
        }
        Ok(())
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
