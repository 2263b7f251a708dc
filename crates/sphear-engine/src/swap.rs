//! Design swaps off the audio thread.
//!
//! A new design (other HRTF, method, order or FIR cut) is computed on any thread
//! ([`ShDomainDesign::design`], or [`DesignSwapper::spawn_design`] for a worker thread), made
//! ready for the audio thread there ([`DesignSwapper::submit`] allocates the convolver and all
//! buffers) and moved to the audio thread through a lock-free single-producer single-consumer
//! queue (rtrb). At its next partition boundary the audio thread runs the new kernel beside the
//! old one until the new convolver is in steady state (`⌈filter_len / P⌉` partitions), then
//! crossfades the two outputs with raised-cosine gains over [`crate::SWAP_FADE_SAMPLES`]
//! samples (no click), and sends the old kernel back through a second queue;
//! [`DesignSwapper::collect`] drops it on the control thread. The audio thread never
//! allocates or frees (the pattern of fundsp's `realnet.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use rtrb::{Consumer, Producer};
use sphear_hrtf::HrtfSet;

use crate::design::ShDomainDesign;
use crate::engine::{EngineConfig, SwapShared};
use crate::kernel::Kernel;
use crate::{EngineError, Result};

/// Control-side end of the engine's design-swap queues (see the [module docs](self)).
pub struct DesignSwapper {
    to_audio: Producer<Box<Kernel>>,
    from_audio: Consumer<Box<Kernel>>,
    partition_len: usize,
    n_in: usize,
    sample_rate_hz: f64,
    shared: Arc<SwapShared>,
}

impl std::fmt::Debug for DesignSwapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesignSwapper")
            .field("partition_len", &self.partition_len)
            .field("n_in", &self.n_in)
            .finish()
    }
}

impl DesignSwapper {
    pub(crate) fn new(
        to_audio: Producer<Box<Kernel>>,
        from_audio: Consumer<Box<Kernel>>,
        partition_len: usize,
        n_in: usize,
        sample_rate_hz: f64,
        shared: Arc<SwapShared>,
    ) -> Self {
        Self {
            to_audio,
            from_audio,
            partition_len,
            n_in,
            sample_rate_hz,
            shared,
        }
    }

    /// Designs `cfg` from `hrtf` on a new worker thread.
    pub fn spawn_design(
        cfg: EngineConfig,
        hrtf: Arc<HrtfSet>,
    ) -> JoinHandle<Result<ShDomainDesign>> {
        std::thread::spawn(move || ShDomainDesign::design(&cfg, &hrtf))
    }

    /// Prepares `design` for the audio thread (allocates here) and queues it; the engine
    /// switches to it at a partition boundary with a crossfade.
    ///
    /// # Errors
    /// [`EngineError::SwapBusy`] while a previous design is still queued (not yet picked up by
    /// the audio thread); sample rate or channel layout not matching the engine.
    pub fn submit(&mut self, design: ShDomainDesign) -> Result<()> {
        if (design.sample_rate_hz - self.sample_rate_hz).abs() > 1e-9 * self.sample_rate_hz {
            return Err(EngineError::Config(format!(
                "design at {} Hz for an engine at {} Hz",
                design.sample_rate_hz, self.sample_rate_hz
            )));
        }
        if self.to_audio.is_full() {
            return Err(EngineError::SwapBusy);
        }
        let kernel = Box::new(Kernel::new(design, self.partition_len, self.n_in)?);
        self.to_audio
            .push(kernel)
            .map_err(|_| EngineError::SwapBusy)
    }

    /// Drops the designs the audio thread has replaced (on this thread); returns how many.
    pub fn collect(&mut self) -> usize {
        let mut n = 0;
        while let Ok(old) = self.from_audio.pop() {
            drop(old);
            n += 1;
        }
        n
    }

    /// Whether a submitted design has not been picked up by the audio thread yet.
    pub fn pending(&self) -> bool {
        self.to_audio.slots() < self.to_audio.buffer().capacity()
    }

    /// Swaps completed by the audio thread so far.
    pub fn swaps_completed(&self) -> u64 {
        self.shared.completed.load(Ordering::Acquire)
    }

    /// Latency of the design active on the audio thread, samples (partition + pre-delay).
    pub fn active_latency_samples(&self) -> usize {
        self.shared.latency_samples.load(Ordering::Acquire)
    }
}
