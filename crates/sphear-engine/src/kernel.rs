//! The per-design real-time state (convolver, rotation, scratch): what a design swap exchanges.

use sphear_core::conv::{FilterSpec, MatrixConvolver};
use sphear_sh::rotation::{Mat3, ShRotator, mat3_transpose};
use sphear_sh::sh::num_channels;

use crate::design::ShDomainDesign;
use crate::engine::{MAX_ORDER, MAX_SH_CHANNELS};
use crate::{EngineError, Result};

/// One design made ready for the audio thread: everything allocated, nothing allocated later.
/// Built off the audio thread ([`Kernel::new`]), moved to it through a lock-free queue and
/// moved back to be dropped (see [`crate::DesignSwapper`]).
pub struct Kernel {
    pub(crate) design: ShDomainDesign,
    conv: MatrixConvolver,
    /// SH signals `[acn][P]` before rotation.
    sh: Vec<Vec<f32>>,
    /// Rotated SH signals `[acn][P]`.
    rot: Vec<Vec<f32>>,
    /// Output of the last partition `[ear][P]`.
    pub(crate) out: [Vec<f32>; 2],
    /// Rotation crossfade gains `α_t = (t+1)/P`, `t < P`.
    ramp: Vec<f32>,
    m_cur: ShRotator,
    m_new: ShRotator,
    /// Head-rotation sequence number currently applied (`u64::MAX`: none yet).
    applied_seq: u64,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("method", &self.design.method)
            .field("order", &self.design.order)
            .field("delay_samples", &self.design.delay_samples)
            .finish()
    }
}

impl Kernel {
    /// Allocates the convolver and buffers for `design` at partition length `p` with `n_in`
    /// engine input channels.
    ///
    /// # Errors
    /// The design does not fit the input (capsule count, or AmbiX order above the input's),
    /// order above [`crate::MAX_ORDER`], convolver construction failed.
    pub(crate) fn new(design: ShDomainDesign, p: usize, n_in: usize) -> Result<Self> {
        let n_sh = num_channels(design.order);
        if n_sh > MAX_SH_CHANNELS {
            return Err(EngineError::Config(format!(
                "order {} above the engine's maximum {}",
                design.order,
                crate::MAX_ORDER
            )));
        }
        let fits = match &design.spatial {
            Some(s) => s.len() == n_sh && s.iter().all(|r| r.len() == n_in),
            None => n_sh <= n_in,
        };
        if !fits || design.filters.len() != 2 || design.filters.iter().any(|e| e.len() != n_sh) {
            return Err(EngineError::Config(format!(
                "design of order {} ({} inputs) does not fit an engine with {n_in} input channels",
                design.order,
                design.num_inputs()
            )));
        }
        let mut specs = Vec::with_capacity(2 * n_sh);
        for (ear, chans) in design.filters.iter().enumerate() {
            for (c, taps) in chans.iter().enumerate() {
                specs.push(FilterSpec {
                    output: ear,
                    input: c,
                    taps: taps.clone(),
                });
            }
        }
        let conv = MatrixConvolver::new(n_sh, 2, &specs, p)?;
        let mut k = Self {
            m_cur: ShRotator::new(design.order),
            m_new: ShRotator::new(design.order),
            design,
            conv,
            sh: vec![vec![0.0; p]; n_sh],
            rot: vec![vec![0.0; p]; n_sh],
            out: [vec![0.0; p], vec![0.0; p]],
            ramp: (0..p).map(|t| (t + 1) as f32 / p as f32).collect(),
            applied_seq: u64::MAX,
        };
        // Write every buffer once here, off the audio thread: large zeroed allocations are mapped
        // lazily, and their first write (e.g. the reset when a swapped-in kernel starts) would
        // page-fault on the audio thread.
        k.reset();
        Ok(k)
    }

    /// Partitions of input this kernel's convolver needs before its output is in steady state.
    pub(crate) fn warmup_partitions(&self) -> usize {
        let p = self.out[0].len().max(1);
        let taps = self.design.filters[0].first().map_or(0, |f| f.len());
        taps.div_ceil(p)
    }

    /// Clears the convolver history and output.
    pub(crate) fn reset(&mut self) {
        self.conv.reset();
        self.out.iter_mut().for_each(|c| c.fill(0.0));
    }

    /// Sets the rotation at once (no crossfade): used when a kernel starts.
    pub(crate) fn set_rotation_now(&mut self, seq: u64, r: &Mat3) {
        self.m_cur.compute(&mat3_transpose(r));
        self.applied_seq = seq;
    }

    /// Renders one partition of `input` (`[channel][P]`) into `self.out`. `head` is the current
    /// head rotation `(sequence, R)` if one could be read; when its sequence differs from the
    /// applied one, the SH rotation `M(Rᵀ)` is recomputed and (with `smoothing`) crossfaded
    /// linearly across the partition.
    pub(crate) fn render(
        &mut self,
        input: &[Vec<f32>],
        head: Option<(u64, Mat3)>,
        smoothing: bool,
    ) -> Result<()> {
        // 1. Capsules → SH (array input) or the first (N+1)² channels (AmbiX).
        match &self.design.spatial {
            Some(s) => {
                for (sh, row) in self.sh.iter_mut().zip(s) {
                    mix_dense(sh, row, input);
                }
            }
            None => {
                for (sh, x) in self.sh.iter_mut().zip(input) {
                    sh.copy_from_slice(x);
                }
            }
        }
        // 2. Rotation (scene by Rᵀ), crossfaded when the head moved.
        let changed = match head {
            Some((seq, r)) if seq != self.applied_seq => {
                if self.applied_seq == u64::MAX {
                    self.set_rotation_now(seq, &r);
                    false
                } else {
                    self.m_new.compute(&mat3_transpose(&r));
                    self.applied_seq = seq;
                    true
                }
            }
            _ => false,
        };
        let order = self.m_cur.order();
        let mut old_terms = [(0.0f32, 0usize); 2 * MAX_ORDER + 1];
        let mut new_terms = [(0.0f32, 0usize); 2 * MAX_ORDER + 1];
        for l in 0..=order {
            let w = 2 * l + 1;
            let off = l * l;
            for row in 0..w {
                let out = &mut self.rot[off + row];
                if changed && smoothing {
                    let a = row_terms(self.m_cur.block(l), w, row, off, &mut old_terms);
                    let b = row_terms(self.m_new.block(l), w, row, off, &mut new_terms);
                    mix_sparse_fade(out, &old_terms[..a], &new_terms[..b], &self.sh, &self.ramp);
                } else {
                    let m = if changed {
                        self.m_new.block(l)
                    } else {
                        self.m_cur.block(l)
                    };
                    let a = row_terms(m, w, row, off, &mut old_terms);
                    mix_sparse(out, &old_terms[..a], &self.sh);
                }
            }
        }
        if changed {
            std::mem::swap(&mut self.m_cur, &mut self.m_new);
        }
        // 3. SH-domain binaural filters.
        let mut ins: [&[f32]; MAX_SH_CHANNELS] = [&[]; MAX_SH_CHANNELS];
        for (i, c) in ins.iter_mut().zip(&self.rot) {
            *i = c.as_slice();
        }
        let n_sh = self.rot.len();
        let (l, r) = self.out.split_at_mut(1);
        let mut outs: [&mut [f32]; 2] = [l[0].as_mut_slice(), r[0].as_mut_slice()];
        self.conv.process(&ins[..n_sh], &mut outs)?;
        Ok(())
    }
}

/// Samples per chunk of the matrix stages: a chunk's accumulators stay in registers while all
/// input channels are summed (instead of a load and store of the output per input channel).
const CHUNK: usize = 16;

/// `out[t] = Σ_j g[j] · x_j[t]` over all inputs `j` (summed in order of `j`, from 0).
fn mix_dense(out: &mut [f32], gains: &[f32], inputs: &[Vec<f32>]) {
    let p = out.len();
    let mut c0 = 0;
    while c0 + CHUNK <= p {
        let mut acc = [0.0f32; CHUNK];
        for (&g, x) in gains.iter().zip(inputs) {
            let x = &x[c0..c0 + CHUNK];
            for k in 0..CHUNK {
                acc[k] += g * x[k];
            }
        }
        out[c0..c0 + CHUNK].copy_from_slice(&acc);
        c0 += CHUNK;
    }
    for (t, o) in out.iter_mut().enumerate().skip(c0) {
        let mut acc = 0.0f32;
        for (&g, x) in gains.iter().zip(inputs) {
            acc += g * x[t];
        }
        *o = acc;
    }
}

/// The non-zero entries `(M_l[row, j] as f32, off + j)` of one row of block `l` (width `w`) into
/// `terms`; returns their number.
#[inline]
fn row_terms(block: &[f64], w: usize, row: usize, off: usize, terms: &mut [(f32, usize)]) -> usize {
    let mut n = 0;
    for (j, &g) in block[row * w..(row + 1) * w].iter().enumerate() {
        let g = g as f32;
        if g != 0.0 && n < terms.len() {
            terms[n] = (g, off + j);
            n += 1;
        }
    }
    n
}

/// `out[t] = Σ_k g_k · sh[j_k][t]` for `terms = [(g_k, j_k)]` (summed in order, from 0).
fn mix_sparse(out: &mut [f32], terms: &[(f32, usize)], sh: &[Vec<f32>]) {
    let p = out.len();
    let mut c0 = 0;
    while c0 + CHUNK <= p {
        let mut acc = [0.0f32; CHUNK];
        for &(g, j) in terms {
            let x = &sh[j][c0..c0 + CHUNK];
            for k in 0..CHUNK {
                acc[k] += g * x[k];
            }
        }
        out[c0..c0 + CHUNK].copy_from_slice(&acc);
        c0 += CHUNK;
    }
    for (t, o) in out.iter_mut().enumerate().skip(c0) {
        let mut acc = 0.0f32;
        for &(g, j) in terms {
            acc += g * sh[j][t];
        }
        *o = acc;
    }
}

/// Linear crossfade across the partition from the old row's output to the new one's:
/// `out[t] = y_old[t] + α_t (y_new[t] − y_old[t])`, `α_t = ramp[t] = (t+1)/P`, each `y` as in
/// [`mix_sparse`].
fn mix_sparse_fade(
    out: &mut [f32],
    old: &[(f32, usize)],
    new: &[(f32, usize)],
    sh: &[Vec<f32>],
    ramp: &[f32],
) {
    let p = out.len().min(ramp.len());
    let mut c0 = 0;
    while c0 + CHUNK <= p {
        let mut ya = [0.0f32; CHUNK];
        let mut yb = [0.0f32; CHUNK];
        for &(g, j) in old {
            let x = &sh[j][c0..c0 + CHUNK];
            for k in 0..CHUNK {
                ya[k] += g * x[k];
            }
        }
        for &(g, j) in new {
            let x = &sh[j][c0..c0 + CHUNK];
            for k in 0..CHUNK {
                yb[k] += g * x[k];
            }
        }
        let a = &ramp[c0..c0 + CHUNK];
        for (k, o) in out[c0..c0 + CHUNK].iter_mut().enumerate() {
            *o = ya[k] + a[k] * (yb[k] - ya[k]);
        }
        c0 += CHUNK;
    }
    for (t, (o, &a)) in out.iter_mut().zip(ramp).enumerate().skip(c0) {
        let (mut ya, mut yb) = (0.0f32, 0.0f32);
        for &(g, j) in old {
            ya += g * sh[j][t];
        }
        for &(g, j) in new {
            yb += g * sh[j][t];
        }
        *o = ya + a * (yb - ya);
    }
}
