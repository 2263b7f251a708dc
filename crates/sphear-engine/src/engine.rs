//! The streaming engine: configuration, design, `prepare` and the real-time `process`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nalgebra::DMatrix;
use num_complex::Complex64;
use sphear_core::conv::{FilterSpec, MatrixConvolver};
use sphear_hrtf::{Ear, HrtfSet};
use sphear_render::design::{
    BinDesign, apply_diffuse_constraint, design_bins, design_to_fir, hrtf_spectra,
};
use sphear_render::steering::SteeringTable;
use sphear_render::{BinauralDecoder, DecoderConfig, InputKind, Method};
use sphear_sh::encoder::{EncoderConfig, EncoderDesign};
use sphear_sh::rotation::{
    IDENTITY, Mat3, mat3_transpose, rotation_from_quaternion, rotation_from_ypr,
};
use sphear_sh::sh::num_channels;

use crate::{EngineError, Result};
use sphear_sh::rotation::ShRotator;

/// Largest block accepted by [`Engine::prepare`] / [`Engine::process`], samples.
pub const MAX_BLOCK_SAMPLES: usize = 4096;

/// Highest SH order the engine renders (the per-partition channel table lives on the stack).
pub const MAX_ORDER: usize = 10;

const MAX_SH_CHANNELS: usize = (MAX_ORDER + 1) * (MAX_ORDER + 1);

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Input: AmbiX (ACN/SN3D) of some order, or raw capsule signals of a spherical array
    /// (e.g. [`sphear_sh::array::ArrayGeometry::em32`]).
    pub input: InputKind,
    /// SH order `N` of the rendering (AmbiX input: must equal the input order).
    pub order: usize,
    /// Partition length `P` of the convolver, samples (default 64). Algorithmic latency = `P`.
    pub partition_len: usize,
    /// FIR length of the SH-domain binaural filters, taps (default 512, even, ≥ 32);
    /// their constant delay is `filter_len / 2` samples.
    pub filter_len: usize,
    /// MagLS cut-off frequency in Hz (default 2000).
    pub magls_cutoff_hz: f64,
    /// Relative LS regularisation (default 0.01, see [`sphear_render::DecoderConfig::beta`]).
    pub beta: f64,
    /// Apply the diffuse-field covariance constraint (Zaunschirm et al. 2018).
    pub diffuse_constraint: bool,
    /// Encoder settings (array input: only the spatial SH transform is used).
    pub encoder: EncoderConfig,
    /// Speed of sound in m/s (array steering model).
    pub speed_m_s: f64,
    /// Crossfade linearly from the previous to the new rotation matrix across each partition
    /// in which the head orientation changed (default true). When false, the new matrix is
    /// switched in at the partition boundary (clicks on fast head turns).
    pub smoothing: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self::ambix(4)
    }
}

impl EngineConfig {
    /// Defaults for AmbiX input of order `order` (MagLS SH-domain filters).
    pub fn ambix(order: usize) -> Self {
        Self {
            input: InputKind::Ambix { order },
            order,
            partition_len: 64,
            filter_len: 512,
            magls_cutoff_hz: 2000.0,
            beta: 0.01,
            diffuse_constraint: false,
            encoder: EncoderConfig::default(),
            speed_m_s: sphear_core::SPEED_OF_SOUND_M_S,
            smoothing: true,
        }
    }

    /// Defaults for raw Eigenmike em32 input rendered at order `order` (eMagLS, SH domain).
    pub fn em32(order: usize) -> Self {
        Self {
            input: InputKind::Array(sphear_sh::array::ArrayGeometry::em32()),
            ..Self::ambix(order)
        }
    }

    /// The equivalent offline [`DecoderConfig`] (head at rest): `MagLs` for AmbiX, `EMagLsSh`
    /// for array input.
    pub fn decoder_config(&self) -> DecoderConfig {
        DecoderConfig {
            method: match self.input {
                InputKind::Ambix { .. } => Method::MagLs,
                InputKind::Array(_) => Method::EMagLsSh,
            },
            order: self.order,
            filter_len: self.filter_len,
            magls_cutoff_hz: self.magls_cutoff_hz,
            beta: self.beta,
            diffuse_constraint: self.diffuse_constraint,
            encoder: self.encoder.clone(),
            speed_m_s: self.speed_m_s,
            ..DecoderConfig::default()
        }
    }
}

/// SH-domain design of the engine: binaural FIRs on SH signals and (array input) the
/// frequency-independent capsule → SH matrix.
#[derive(Debug, Clone)]
pub struct ShDomainDesign {
    /// SH order `N`.
    pub order: usize,
    /// FIRs `[ear][acn][tap]` (ear 0 = left) applied to SN3D SH signals (AmbiX) or to the
    /// spatially transformed capsule signals (array input), head at rest.
    pub filters: Vec<Vec<Vec<f32>>>,
    /// Constant delay of the filters in samples (`filter_len / 2`).
    pub delay_samples: usize,
    /// Array input: `[acn][capsule]` spatial SH transform (`EncoderDesign::spatial`); `None` for AmbiX.
    pub spatial: Option<Vec<Vec<f32>>>,
    /// Design sample rate in Hz (the HRTF set's rate).
    pub sample_rate_hz: f64,
}

impl ShDomainDesign {
    /// Designs the SH-domain filters from `hrtf` (already at the processing rate).
    ///
    /// AmbiX: MagLS (Schörkhuber et al. 2018) through [`BinauralDecoder::design`] (identical
    /// filters). Array: eMagLS in the SH domain (Deppisch et al. 2021): per bin `k` the weights
    /// `W_k` (`(N+1)² × 2`) minimise `‖G_k S^T W_k − H_k‖` (`G_k` steering `[D × M]`, `S` the
    /// spatial transform `[(N+1)² × M]`), magnitude-only above the cut-off — the same fit as
    /// [`Method::EMagLsSh`] before the spatial matrix is folded into capsule filters. The
    /// `2·filter_len` design is cut to the central `filter_len` taps with raised-cosine tapers
    /// of `filter_len/16` taps.
    ///
    /// # References
    /// Schörkhuber, Zaunschirm, Höldrich, DAGA 2018; Deppisch, Helmholz, Ahrens, I3DA 2021.
    ///
    /// # Errors
    /// Order mismatch / too high for the array, bad filter length, empty HRTF set.
    pub fn design(cfg: &EngineConfig, hrtf: &HrtfSet) -> Result<Self> {
        if cfg.filter_len < 32 || cfg.filter_len % 2 != 0 {
            return Err(EngineError::Config(format!(
                "filter length must be even and ≥ 32, got {}",
                cfg.filter_len
            )));
        }
        if hrtf.is_empty() {
            return Err(EngineError::Config("the HRTF set has no directions".into()));
        }
        let fs = hrtf.sample_rate_hz();
        match &cfg.input {
            InputKind::Ambix { order } => {
                if *order != cfg.order {
                    return Err(EngineError::Config(format!(
                        "AmbiX input of order {order} but rendering order {}",
                        cfg.order
                    )));
                }
                let dec = BinauralDecoder::design(hrtf, &cfg.input, &cfg.decoder_config())?;
                Ok(Self {
                    order: cfg.order,
                    filters: dec.filters,
                    delay_samples: dec.delay_samples,
                    spatial: None,
                    sample_rate_hz: fs,
                })
            }
            InputKind::Array(array) => {
                array.check_order(cfg.order)?;
                let design_len = 2 * cfg.filter_len;
                let bd = BinDesign {
                    sample_rate_hz: fs,
                    filter_len: design_len,
                    magls_cutoff_hz: Some(cfg.magls_cutoff_hz),
                    beta: cfg.beta,
                };
                let left: Vec<&[f32]> = (0..hrtf.len()).map(|i| hrtf.ir(i, Ear::Left)).collect();
                let right: Vec<&[f32]> = (0..hrtf.len()).map(|i| hrtf.ir(i, Ear::Right)).collect();
                let h = hrtf_spectra(&left, &right, design_len);
                let dirs = hrtf.directions();
                let enc = EncoderDesign::new(
                    array,
                    fs,
                    &EncoderConfig {
                        order: cfg.order,
                        ..cfg.encoder.clone()
                    },
                )?;
                let spatial_t: DMatrix<Complex64> =
                    enc.spatial.map(|v| Complex64::new(v, 0.0)).transpose();
                let table = SteeringTable::new(array, dirs, fs / 2.0, cfg.speed_m_s);
                let g_at = |k: usize| table.matrix(bd.freq_hz(k)) * &spatial_t;
                let mut ws = design_bins(&bd, g_at, |k| h[k].clone());
                if cfg.diffuse_constraint {
                    apply_diffuse_constraint(&mut ws, g_at, |k| h[k].clone());
                }
                let filters = design_to_fir(&ws, design_len, cfg.filter_len);
                let spatial = (0..enc.spatial.nrows())
                    .map(|r| {
                        (0..enc.spatial.ncols())
                            .map(|c| enc.spatial[(r, c)] as f32)
                            .collect()
                    })
                    .collect();
                Ok(Self {
                    order: cfg.order,
                    filters,
                    delay_samples: cfg.filter_len / 2,
                    spatial: Some(spatial),
                    sample_rate_hz: fs,
                })
            }
        }
    }
}

/// Lock-free single-producer head-orientation cell (a seqlock over 9 `f64` stored as `AtomicU64`
/// bit patterns). Written from a control/tracker thread, read from the audio thread without
/// blocking: the reader gives up after a few inconsistent reads and keeps its previous value.
#[derive(Debug)]
pub struct HeadRotation {
    seq: AtomicU64,
    m: [AtomicU64; 9],
}

impl Default for HeadRotation {
    fn default() -> Self {
        let h = Self {
            seq: AtomicU64::new(0),
            m: std::array::from_fn(|_| AtomicU64::new(0)),
        };
        h.store(&IDENTITY);
        h
    }
}

impl HeadRotation {
    /// Stores the head rotation `r` (active, `v' = r v`). Single producer: do not call from two
    /// threads at once.
    pub fn store(&self, r: &Mat3) {
        self.seq.fetch_add(1, Ordering::AcqRel); // odd: write in progress
        for (i, a) in self.m.iter().enumerate() {
            a.store(r[i / 3][i % 3].to_bits(), Ordering::Release);
        }
        self.seq.fetch_add(1, Ordering::AcqRel); // even: consistent
    }

    /// Head orientation from yaw, pitch, roll in degrees (see
    /// [`sphear_sh::rotation::rotation_from_ypr`]: yaw positive = head turns left, pitch positive =
    /// nose up, roll positive = left ear up).
    pub fn set_ypr_deg(&self, yaw_deg: f64, pitch_deg: f64, roll_deg: f64) {
        self.store(&rotation_from_ypr(
            yaw_deg.to_radians(),
            pitch_deg.to_radians(),
            roll_deg.to_radians(),
        ));
    }

    /// Head orientation from a unit quaternion `w + xi + yj + zk` (normalised here; zero or
    /// non-finite gives identity), see [`sphear_sh::rotation::rotation_from_quaternion`].
    pub fn set_quaternion(&self, w: f64, x: f64, y: f64, z: f64) {
        self.store(&rotation_from_quaternion(w, x, y, z));
    }

    /// Consistent snapshot `(sequence, matrix)`, or `None` if a write kept interfering.
    fn load(&self) -> Option<(u64, Mat3)> {
        for _ in 0..4 {
            let s0 = self.seq.load(Ordering::Acquire);
            if s0 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut r = [[0.0; 3]; 3];
            for (i, a) in self.m.iter().enumerate() {
                r[i / 3][i % 3] = f64::from_bits(a.load(Ordering::Acquire));
            }
            if self.seq.load(Ordering::Acquire) == s0 {
                return Some((s0, r));
            }
        }
        None
    }
}

/// Buffers allocated by [`Engine::prepare`].
struct Prepared {
    max_block: usize,
    conv: MatrixConvolver,
    /// Input FIFO `[channel][P]`.
    in_fifo: Vec<Vec<f32>>,
    /// Output FIFO `[ear][P]` (the last computed partition).
    out_fifo: Vec<Vec<f32>>,
    /// Samples in the current partition (write index of `in_fifo`, read index of `out_fifo`).
    fill: usize,
    /// SH signals `[acn][P]` before rotation.
    sh: Vec<Vec<f32>>,
    /// Rotated SH signals `[acn][P]`.
    rot: Vec<Vec<f32>>,
    /// Scratch `[P]` for the crossfade.
    tmp_old: Vec<f32>,
    tmp_new: Vec<f32>,
}

/// Real-time binaural engine (AmbiX or em32 capsules → 2 ears) with head rotation.
///
/// Signal flow per partition of `P` samples: capsules →(spatial matrix, array input only)→ SH
/// signals →(SH rotation `M = sh_rotation_matrix(N, Rᵀ)`, crossfaded)→ rotated SH →(SH-domain
/// binaural FIRs, UPOLS [`MatrixConvolver`])→ ears. See the [crate documentation](crate).
pub struct Engine {
    cfg: EngineConfig,
    design: ShDomainDesign,
    n_in: usize,
    n_sh: usize,
    head: Arc<HeadRotation>,
    /// Sequence number of the head rotation currently applied.
    applied_seq: u64,
    m_cur: ShRotator,
    m_new: ShRotator,
    prepared: Option<Prepared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("order", &self.design.order)
            .field("n_in", &self.n_in)
            .field("partition_len", &self.cfg.partition_len)
            .field("prepared", &self.prepared.is_some())
            .finish()
    }
}

impl Engine {
    /// Designs the filters (expensive, not real-time). `hrtf` must be at the processing rate.
    ///
    /// # Errors
    /// See [`ShDomainDesign::design`]; partition length 0 or above 4096.
    pub fn new(cfg: EngineConfig, hrtf: &HrtfSet) -> Result<Self> {
        if cfg.partition_len == 0 || cfg.partition_len > MAX_BLOCK_SAMPLES {
            return Err(EngineError::Config(format!(
                "partition_len must be in 1..={MAX_BLOCK_SAMPLES}, got {}",
                cfg.partition_len
            )));
        }
        if cfg.order > MAX_ORDER {
            return Err(EngineError::Config(format!(
                "order {} above the engine's maximum {MAX_ORDER}",
                cfg.order
            )));
        }
        let design = ShDomainDesign::design(&cfg, hrtf)?;
        Ok(Self::from_design(cfg, design))
    }

    /// Builds an engine from an existing design (e.g. to share one design between engines).
    pub fn from_design(cfg: EngineConfig, design: ShDomainDesign) -> Self {
        let n_sh = num_channels(design.order);
        let n_in = cfg.input.num_channels();
        Self {
            head: Arc::new(HeadRotation::default()),
            applied_seq: 0,
            m_cur: ShRotator::new(design.order),
            m_new: ShRotator::new(design.order),
            prepared: None,
            n_in,
            n_sh,
            cfg,
            design,
        }
    }

    /// The SH-domain design in use.
    pub fn design(&self) -> &ShDomainDesign {
        &self.design
    }

    /// Allocates everything `process` needs and resets the state (rotation kept).
    ///
    /// # Errors
    /// `sample_rate_hz` differs from the design rate (the filters were designed at the HRTF
    /// set's rate), or `max_block` outside `1..=4096`.
    pub fn prepare(&mut self, sample_rate_hz: f64, max_block: usize) -> Result<()> {
        if (sample_rate_hz - self.design.sample_rate_hz).abs() > 1e-9 * self.design.sample_rate_hz {
            return Err(EngineError::Config(format!(
                "engine designed at {} Hz, prepared at {sample_rate_hz} Hz (resample the HRTF set first)",
                self.design.sample_rate_hz
            )));
        }
        if max_block == 0 || max_block > MAX_BLOCK_SAMPLES {
            return Err(EngineError::Config(format!(
                "max_block must be in 1..={MAX_BLOCK_SAMPLES}, got {max_block}"
            )));
        }
        let p = self.cfg.partition_len;
        let mut specs = Vec::new();
        for (ear, chans) in self.design.filters.iter().enumerate() {
            for (c, taps) in chans.iter().enumerate() {
                specs.push(FilterSpec {
                    output: ear,
                    input: c,
                    taps: taps.clone(),
                });
            }
        }
        let conv = MatrixConvolver::new(self.n_sh, 2, &specs, p)?;
        self.prepared = Some(Prepared {
            max_block,
            conv,
            in_fifo: vec![vec![0.0; p]; self.n_in],
            out_fifo: vec![vec![0.0; p]; 2],
            fill: 0,
            sh: vec![vec![0.0; p]; self.n_sh],
            rot: vec![vec![0.0; p]; self.n_sh],
            tmp_old: vec![0.0; p],
            tmp_new: vec![0.0; p],
        });
        // Apply the current target at once (no fade from an arbitrary old state).
        if let Some((seq, r)) = self.head.load() {
            self.m_cur.compute(&mat3_transpose(&r));
            self.applied_seq = seq;
        }
        Ok(())
    }

    /// Number of input channels ((N+1)² for AmbiX, capsules for array input).
    pub fn num_inputs(&self) -> usize {
        self.n_in
    }

    /// Algorithmic latency of the FIFO/partitioning, samples (= `partition_len`).
    pub fn algorithmic_latency_samples(&self) -> usize {
        self.cfg.partition_len
    }

    /// Constant delay of the designed filters, samples (= `filter_len / 2`).
    pub fn filter_delay_samples(&self) -> usize {
        self.design.delay_samples
    }

    /// Total latency: input sample `n` appears (filtered) at output sample
    /// `n + partition_len + filter_len/2`.
    pub fn latency_samples(&self) -> usize {
        self.algorithmic_latency_samples() + self.filter_delay_samples()
    }

    /// Handle for a tracker thread to update the head orientation (lock-free).
    pub fn head_rotation(&self) -> Arc<HeadRotation> {
        Arc::clone(&self.head)
    }

    /// Sets the head orientation from yaw, pitch, roll in degrees (yaw positive = head turns left).
    /// Takes effect at the next partition boundary, crossfaded over one partition.
    pub fn set_rotation(&self, yaw_deg: f64, pitch_deg: f64, roll_deg: f64) {
        self.head.set_ypr_deg(yaw_deg, pitch_deg, roll_deg);
    }

    /// Sets the head orientation from a quaternion `(w, x, y, z)`.
    pub fn set_quaternion(&self, w: f64, x: f64, y: f64, z: f64) {
        self.head.set_quaternion(w, x, y, z);
    }

    /// Clears the audio state (FIFOs, convolver history), keeping filters and rotation.
    pub fn reset(&mut self) {
        if let Some(p) = self.prepared.as_mut() {
            p.conv.reset();
            p.in_fifo.iter_mut().for_each(|c| c.fill(0.0));
            p.out_fifo.iter_mut().for_each(|c| c.fill(0.0));
            p.fill = 0;
        }
    }

    /// Renders one block: `input` has [`num_inputs`](Self::num_inputs) channels, `output` 2
    /// (left, right), all of the same length in `1..=max_block`. Output is overwritten.
    /// Real-time safe: no allocation, locking, logging or I/O.
    ///
    /// # Errors
    /// Not prepared, wrong channel counts or block length (state left untouched).
    pub fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) -> Result<()> {
        let Some(prep) = self.prepared.as_mut() else {
            return Err(EngineError::NotPrepared);
        };
        if input.len() != self.n_in {
            return Err(EngineError::ChannelCount {
                what: "input",
                expected: self.n_in,
                got: input.len(),
            });
        }
        if output.len() != 2 {
            return Err(EngineError::ChannelCount {
                what: "output",
                expected: 2,
                got: output.len(),
            });
        }
        let n = output[0].len();
        if n == 0
            || n > prep.max_block
            || input.iter().any(|c| c.len() != n)
            || output.iter().any(|c| c.len() != n)
        {
            return Err(EngineError::BlockSize {
                got: n,
                max_block: prep.max_block,
            });
        }
        let p = self.cfg.partition_len;
        let mut pos = 0;
        while pos < n {
            let k = (p - prep.fill).min(n - pos);
            let f = prep.fill;
            for (fifo, x) in prep.in_fifo.iter_mut().zip(input) {
                fifo[f..f + k].copy_from_slice(&x[pos..pos + k]);
            }
            for (y, fifo) in output.iter_mut().zip(&prep.out_fifo) {
                y[pos..pos + k].copy_from_slice(&fifo[f..f + k]);
            }
            prep.fill += k;
            pos += k;
            if prep.fill == p {
                prep.fill = 0;
                render_partition(
                    prep,
                    &self.design,
                    &self.head,
                    &mut self.applied_seq,
                    &mut self.m_cur,
                    &mut self.m_new,
                    self.cfg.smoothing,
                )?;
            }
        }
        Ok(())
    }
}

/// `out[t] = Σ_j M_l[i, j] · x_j[t]` for one output row `i` of block `l` (offset `off`).
#[inline]
fn apply_row(block: &[f64], w: usize, row: usize, sh: &[Vec<f32>], off: usize, out: &mut [f32]) {
    out.fill(0.0);
    for j in 0..w {
        let g = block[row * w + j] as f32;
        if g != 0.0 {
            for (o, x) in out.iter_mut().zip(&sh[off + j]) {
                *o += g * x;
            }
        }
    }
}

fn render_partition(
    prep: &mut Prepared,
    design: &ShDomainDesign,
    head: &HeadRotation,
    applied_seq: &mut u64,
    m_cur: &mut ShRotator,
    m_new: &mut ShRotator,
    smoothing: bool,
) -> Result<()> {
    let p = prep.sh.first().map_or(0, |c| c.len());
    // 1. Capsules → SH (array input) or copy (AmbiX).
    match &design.spatial {
        Some(s) => {
            for (sh, row) in prep.sh.iter_mut().zip(s) {
                sh.fill(0.0);
                for (g, x) in row.iter().zip(&prep.in_fifo) {
                    for (o, v) in sh.iter_mut().zip(x) {
                        *o += g * v;
                    }
                }
            }
        }
        None => {
            for (sh, x) in prep.sh.iter_mut().zip(&prep.in_fifo) {
                sh.copy_from_slice(x);
            }
        }
    }
    // 2. Rotation (scene by Rᵀ), crossfaded when the head moved.
    let changed = match head.load() {
        Some((seq, r)) if seq != *applied_seq => {
            m_new.compute(&mat3_transpose(&r));
            *applied_seq = seq;
            true
        }
        _ => false,
    };
    let order = m_cur.order();
    for l in 0..=order {
        let w = 2 * l + 1;
        let off = l * l;
        for row in 0..w {
            if changed && smoothing {
                apply_row(m_cur.block(l), w, row, &prep.sh, off, &mut prep.tmp_old);
                apply_row(m_new.block(l), w, row, &prep.sh, off, &mut prep.tmp_new);
                let out = &mut prep.rot[off + row];
                for (t, o) in out.iter_mut().enumerate() {
                    let a = (t + 1) as f32 / p as f32;
                    *o = prep.tmp_old[t] + a * (prep.tmp_new[t] - prep.tmp_old[t]);
                }
            } else {
                let m = if changed {
                    m_new.block(l)
                } else {
                    m_cur.block(l)
                };
                apply_row(m, w, row, &prep.sh, off, &mut prep.rot[off + row]);
            }
        }
    }
    if changed {
        std::mem::swap(m_cur, m_new);
    }
    // 3. SH-domain binaural filters.
    let mut ins: [&[f32]; MAX_SH_CHANNELS] = [&[]; MAX_SH_CHANNELS];
    for (i, c) in ins.iter_mut().zip(&prep.rot) {
        *i = c.as_slice();
    }
    let n_sh = prep.rot.len();
    let (l, r) = prep.out_fifo.split_at_mut(1);
    let mut outs: [&mut [f32]; 2] = [l[0].as_mut_slice(), r[0].as_mut_slice()];
    prep.conv.process(&ins[..n_sh], &mut outs)?;
    Ok(())
}
