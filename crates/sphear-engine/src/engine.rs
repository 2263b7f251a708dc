//! The streaming engine: configuration, design, `prepare` and the real-time `process`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rtrb::{Consumer, Producer, PushError, RingBuffer};
use sphear_hrtf::HrtfSet;
use sphear_render::{DecoderConfig, InputKind, Method};
use sphear_sh::encoder::EncoderConfig;
use sphear_sh::rotation::{IDENTITY, Mat3, rotation_from_quaternion, rotation_from_ypr};

use crate::design::{FilterPhase, ShDomainDesign};
use crate::kernel::Kernel;
use crate::swap::DesignSwapper;
use crate::{EngineError, Result};

/// Largest block accepted by [`Engine::prepare`] / [`Engine::process`], samples.
pub const MAX_BLOCK_SAMPLES: usize = 4096;

/// Highest SH order the engine renders (the per-partition channel table lives on the stack).
pub const MAX_ORDER: usize = 10;

pub(crate) const MAX_SH_CHANNELS: usize = (MAX_ORDER + 1) * (MAX_ORDER + 1);

/// Length of the crossfade from the old to the new design during a swap, samples (rounded up
/// to whole partitions). Raised-cosine gains `g_old + g_new = 1`.
pub const SWAP_FADE_SAMPLES: usize = 256;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Input: AmbiX (ACN/SN3D) of some order, or raw capsule signals of a spherical array
    /// (e.g. [`sphear_sh::array::ArrayGeometry::em32`]).
    pub input: InputKind,
    /// SH order `N` of the rendering (AmbiX input: must equal the input order).
    pub order: usize,
    /// Fit: `Ls` or `MagLs` (AmbiX, or array through the encoder's radial equalisers) or
    /// `EMagLsSh` (array input). The capsule-domain `EMagLs2` cannot rotate per block and is
    /// refused.
    pub method: Method,
    /// FIR cut: centred (pre-delay `filter_len/2`, default) or low latency (pre-delay ≤ 64).
    pub phase: FilterPhase,
    /// Partition length `P` of the convolver, samples (default 64). Algorithmic latency = `P`.
    pub partition_len: usize,
    /// FIR length of the SH-domain binaural filters, taps (default 512, even, ≥ 32).
    pub filter_len: usize,
    /// MagLS cut-off frequency in Hz (default 2000).
    pub magls_cutoff_hz: f64,
    /// Relative LS regularisation (default 0.01, see [`sphear_render::DecoderConfig::beta`]).
    pub beta: f64,
    /// Apply the diffuse-field covariance constraint (Zaunschirm et al. 2018).
    pub diffuse_constraint: bool,
    /// Encoder settings (array input: the spatial SH transform, and the radial equalisers for
    /// `Ls`/`MagLs`).
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
            method: Method::MagLs,
            phase: FilterPhase::Centred,
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
            method: Method::EMagLsSh,
            ..Self::ambix(order)
        }
    }

    /// The equivalent offline [`DecoderConfig`] (head at rest, centred FIRs).
    pub fn decoder_config(&self) -> DecoderConfig {
        DecoderConfig {
            method: self.method,
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

    /// Latency of a design with these settings, samples: partition `P` + FIR pre-delay
    /// (`filter_len/2` centred, `d` low latency). The host block adds one block on top of this
    /// for a callback-driven device (input block collected, output block played).
    pub fn latency_samples(&self) -> usize {
        self.partition_len
            + match self.phase {
                FilterPhase::Centred => self.filter_len / 2,
                FilterPhase::LowLatency { pre_delay_samples } => pre_delay_samples,
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
    pub(crate) fn load(&self) -> Option<(u64, Mat3)> {
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

/// Counters shared between the audio thread and the [`DesignSwapper`].
#[derive(Debug, Default)]
pub(crate) struct SwapShared {
    /// Latency of the active design, samples.
    pub(crate) latency_samples: AtomicUsize,
    /// Swaps finished (new design fully active, old one sent back).
    pub(crate) completed: AtomicU64,
}

/// Buffers allocated by [`Engine::prepare`].
struct Prepared {
    max_block: usize,
    /// Input FIFO `[channel][P]`.
    in_fifo: Vec<Vec<f32>>,
    /// Output FIFO `[ear][P]` (the last computed partition).
    out_fifo: [Vec<f32>; 2],
    /// Samples in the current partition (write index of `in_fifo`, read index of `out_fifo`).
    fill: usize,
}

/// A design swap in progress: the incoming kernel runs beside the active one, first until its
/// convolver is in steady state, then the outputs are crossfaded.
struct Incoming {
    kernel: Box<Kernel>,
    /// Partitions rendered so far.
    pos: usize,
    /// Warm-up partitions before the fade.
    warmup: usize,
}

/// Real-time binaural engine (AmbiX or em32 capsules → 2 ears) with head rotation and
/// design swaps.
///
/// Signal flow per partition of `P` samples: capsules →(spatial matrix, array input only)→ SH
/// signals →(SH rotation `M = sh_rotation_matrix(N, Rᵀ)`, crossfaded)→ rotated SH →(SH-domain
/// binaural FIRs, UPOLS convolver)→ ears. See the [crate documentation](crate).
pub struct Engine {
    cfg: EngineConfig,
    n_in: usize,
    head: Arc<HeadRotation>,
    active: Box<Kernel>,
    incoming: Option<Incoming>,
    /// An old kernel that could not be sent back yet (queue full): retried every partition.
    retired: Option<Box<Kernel>>,
    from_ctrl: Consumer<Box<Kernel>>,
    to_ctrl: Producer<Box<Kernel>>,
    swapper: Option<DesignSwapper>,
    shared: Arc<SwapShared>,
    fade_partitions: usize,
    prepared: Option<Prepared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("active", &self.active)
            .field("n_in", &self.n_in)
            .field("partition_len", &self.cfg.partition_len)
            .field("swapping", &self.incoming.is_some())
            .field("prepared", &self.prepared.is_some())
            .finish()
    }
}

impl Engine {
    /// Designs the filters (expensive, not real-time). `hrtf` must be at the processing rate.
    ///
    /// # Errors
    /// See [`ShDomainDesign::design`]; partition length 0 or above 4096, order above
    /// [`MAX_ORDER`].
    pub fn new(cfg: EngineConfig, hrtf: &HrtfSet) -> Result<Self> {
        check_config(&cfg)?;
        let design = ShDomainDesign::design(&cfg, hrtf)?;
        Self::from_design(cfg, design)
    }

    /// Builds an engine from an existing design (e.g. to share one design between engines).
    /// The design must fit `cfg.input` and `cfg.partition_len` sets the partitioning.
    ///
    /// # Errors
    /// Bad partition length or order, design not fitting the input.
    pub fn from_design(cfg: EngineConfig, design: ShDomainDesign) -> Result<Self> {
        check_config(&cfg)?;
        let n_in = cfg.input.num_channels();
        let p = cfg.partition_len;
        let fs = design.sample_rate_hz;
        let shared = Arc::new(SwapShared::default());
        shared
            .latency_samples
            .store(p + design.delay_samples, Ordering::Release);
        let active = Box::new(Kernel::new(design, p, n_in)?);
        // One design in flight to the audio thread, up to two on the way back.
        let (to_audio, from_ctrl) = RingBuffer::new(1);
        let (to_ctrl, from_audio) = RingBuffer::new(2);
        let swapper = DesignSwapper::new(to_audio, from_audio, p, n_in, fs, Arc::clone(&shared));
        Ok(Self {
            head: Arc::new(HeadRotation::default()),
            active,
            incoming: None,
            retired: None,
            from_ctrl,
            to_ctrl,
            swapper: Some(swapper),
            shared,
            fade_partitions: SWAP_FADE_SAMPLES.div_ceil(p).max(1),
            prepared: None,
            n_in,
            cfg,
        })
    }

    /// The control-side handle for design swaps (given out once; `None` afterwards). Build a
    /// new [`ShDomainDesign`] on any thread, [`DesignSwapper::submit`] it, and call
    /// [`DesignSwapper::collect`] from time to time to free the replaced designs there.
    pub fn swapper(&mut self) -> Option<DesignSwapper> {
        self.swapper.take()
    }

    /// The SH-domain design in use (the old one until a swap's crossfade has finished).
    pub fn design(&self) -> &ShDomainDesign {
        &self.active.design
    }

    /// Whether a design swap is in progress (new design warming up or crossfading).
    pub fn swap_in_progress(&self) -> bool {
        self.incoming.is_some()
    }

    /// Number of design swaps completed.
    pub fn swaps_completed(&self) -> u64 {
        self.shared.completed.load(Ordering::Acquire)
    }

    /// Allocates everything `process` needs and resets the state (rotation kept).
    ///
    /// # Errors
    /// `sample_rate_hz` differs from the design rate (the filters were designed at the HRTF
    /// set's rate), or `max_block` outside `1..=4096`.
    pub fn prepare(&mut self, sample_rate_hz: f64, max_block: usize) -> Result<()> {
        let fs = self.active.design.sample_rate_hz;
        if (sample_rate_hz - fs).abs() > 1e-9 * fs {
            return Err(EngineError::Config(format!(
                "engine designed at {fs} Hz, prepared at {sample_rate_hz} Hz (resample the HRTF set first)"
            )));
        }
        if max_block == 0 || max_block > MAX_BLOCK_SAMPLES {
            return Err(EngineError::Config(format!(
                "max_block must be in 1..={MAX_BLOCK_SAMPLES}, got {max_block}"
            )));
        }
        let p = self.cfg.partition_len;
        self.active.reset();
        self.prepared = Some(Prepared {
            max_block,
            in_fifo: vec![vec![0.0; p]; self.n_in],
            out_fifo: [vec![0.0; p], vec![0.0; p]],
            fill: 0,
        });
        // Apply the current target at once (no fade from an arbitrary old state).
        if let Some((seq, r)) = self.head.load() {
            self.active.set_rotation_now(seq, &r);
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

    /// Pre-delay of the active design's filters, samples (`filter_len / 2` centred, `d` low
    /// latency).
    pub fn filter_delay_samples(&self) -> usize {
        self.active.design.delay_samples
    }

    /// Total latency: input sample `n` appears (filtered) at output sample
    /// `n + partition_len + filter delay`.
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

    /// Clears the audio state (FIFOs, convolver history), keeping filters and rotation. A swap
    /// in progress restarts its warm-up.
    pub fn reset(&mut self) {
        self.active.reset();
        if let Some(inc) = self.incoming.as_mut() {
            inc.kernel.reset();
            inc.pos = 0;
        }
        if let Some(p) = self.prepared.as_mut() {
            p.in_fifo.iter_mut().for_each(|c| c.fill(0.0));
            p.out_fifo.iter_mut().for_each(|c| c.fill(0.0));
            p.fill = 0;
        }
    }

    /// Renders one block: `input` has [`num_inputs`](Self::num_inputs) channels, `output` 2
    /// (left, right), all of the same length in `1..=max_block`. Output is overwritten.
    /// Real-time safe: no allocation, deallocation, locking, logging or I/O (a design swap only
    /// moves boxes through lock-free queues).
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
            let prep = self.prepared.as_mut().ok_or(EngineError::NotPrepared)?;
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
                self.render_partition()?;
            }
        }
        Ok(())
    }

    /// One partition: design-swap bookkeeping, then the active (and incoming) kernel.
    fn render_partition(&mut self) -> Result<()> {
        let Some(prep) = self.prepared.as_mut() else {
            return Err(EngineError::NotPrepared);
        };
        let head = self.head.load();
        let smoothing = self.cfg.smoothing;
        // Send a replaced kernel back (it is dropped on the control side, never here).
        if let Some(old) = self.retired.take()
            && let Err(PushError::Full(old)) = self.to_ctrl.push(old)
        {
            self.retired = Some(old);
        }
        // Start a new swap when a design is waiting and the last one is fully handed back.
        if self.incoming.is_none()
            && self.retired.is_none()
            && let Ok(mut kernel) = self.from_ctrl.pop()
        {
            kernel.reset();
            if let Some((seq, r)) = head {
                kernel.set_rotation_now(seq, &r);
            }
            let warmup = kernel.warmup_partitions();
            self.incoming = Some(Incoming {
                kernel,
                pos: 0,
                warmup,
            });
        }
        self.active.render(&prep.in_fifo, head, smoothing)?;
        let Some(inc) = self.incoming.as_mut() else {
            for (o, a) in prep.out_fifo.iter_mut().zip(&self.active.out) {
                o.copy_from_slice(a);
            }
            return Ok(());
        };
        inc.kernel.render(&prep.in_fifo, head, smoothing)?;
        let p = prep
            .in_fifo
            .first()
            .map_or(self.cfg.partition_len, |c| c.len());
        if inc.pos < inc.warmup {
            for (o, a) in prep.out_fifo.iter_mut().zip(&self.active.out) {
                o.copy_from_slice(a);
            }
        } else {
            // Raised-cosine crossfade over `fade_partitions · P` samples: g_new = sin²(π/2 · u).
            let total = (self.fade_partitions * p) as f32;
            let j0 = (inc.pos - inc.warmup) * p;
            for ((o, a), b) in prep
                .out_fifo
                .iter_mut()
                .zip(&self.active.out)
                .zip(&inc.kernel.out)
            {
                for (t, ((o, &a), &b)) in o.iter_mut().zip(a).zip(b).enumerate() {
                    let u = (j0 + t + 1) as f32 / total;
                    let g = (std::f32::consts::FRAC_PI_2 * u).sin().powi(2);
                    *o = a + g * (b - a);
                }
            }
        }
        inc.pos += 1;
        if inc.pos == inc.warmup + self.fade_partitions
            && let Some(inc) = self.incoming.take()
        {
            let old = std::mem::replace(&mut self.active, inc.kernel);
            self.shared.latency_samples.store(
                self.cfg.partition_len + self.active.design.delay_samples,
                Ordering::Release,
            );
            self.shared.completed.fetch_add(1, Ordering::AcqRel);
            if let Err(PushError::Full(old)) = self.to_ctrl.push(old) {
                self.retired = Some(old);
            }
        }
        Ok(())
    }
}

fn check_config(cfg: &EngineConfig) -> Result<()> {
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
    Ok(())
}
