//! # sphear-engine
//!
//! Real-time streaming binaural engine for AmbiX (ACN/SN3D) or raw Eigenmike em32 capsule
//! signals, with head tracking.
//!
//! ## Signal flow
//! The engine renders in the SH domain so that a head rotation is one matrix per partition:
//!
//! ```text
//! capsules ─(static spatial matrix S, em32 only)→ SH signals a (order N, (N+1)² ch)
//!          ─(rotation M = sh_rotation_matrix(N, Rᵀ), crossfaded)→ rotated SH  a' = M a
//!          ─(SH-domain binaural FIRs w[ear][acn], UPOLS MatrixConvolver (N+1)² → 2)→ ears
//! ```
//!
//! * AmbiX input: the FIRs are the MagLS SH-domain decoder of [`sphear_render::BinauralDecoder`]
//!   (identical filters). em32 input: the eMagLS-SH weights (Deppisch et al. 2021) *before*
//!   the spatial matrix is folded in — mathematically the offline `EMagLsSh` capsule filters are
//!   `Sᵀ w`, here `S` is applied as a frequency-independent matrix and `w` convolved.
//! * Head rotation `R` (active; yaw positive = head turns left, see
//!   [`sphear_sh::rotation::rotation_from_ypr`]) rotates the scene by `Rᵀ`, as the offline
//!   renderer does. The target is stored lock-free in a seqlock of `AtomicU64`s
//!   ([`HeadRotation`]); once per partition the audio thread reads it and, if it changed,
//!   computes the new SH rotation matrix into preallocated blocks ([`ShRotator`], no allocation)
//!   and crossfades linearly, sample by sample across that partition, from the old matrix's
//!   output to the new one's (`a'[t] = (1−α_t) M_old a[t] + α_t M_new a[t]`,
//!   `α_t = (t+1)/P`), so fast head turns make no clicks.
//!
//! ## Blocks and latency
//! [`Engine::process`] accepts any block length `1..=max_block` (≤ 4096). An input FIFO collects
//! `partition_len` (`P`, default 64) samples; each full partition is rotated and convolved and the
//! result read back through an output FIFO. Hence:
//! * algorithmic latency = `P` samples ([`Engine::algorithmic_latency_samples`]), independent of the
//!   host block length;
//! * filter pre-delay = `filter_len / 2` samples for the centred design (default 256), 64 for
//!   the low-latency design ([`FilterPhase`], [`design`]), [`Engine::filter_delay_samples`];
//! * total [`Engine::latency_samples`] = `P` + pre-delay: 320 samples = 6.7 ms (centred) or 128
//!   samples = 2.7 ms (low latency) at 48 kHz, for every method (LS, MagLS, eMagLS-SH); a
//!   callback-driven device adds one host block.
//!
//! [`Engine::process`] does not allocate, free, lock, log or perform I/O, and does not panic on
//! valid sizes; all buffers are allocated in [`Engine::prepare`] or, for a new design, on the
//! control thread ([`swap`]: designs are swapped through lock-free queues, crossfaded, and the
//! old one is freed off the audio thread).
//!
//! # References
//! Schörkhuber, Zaunschirm, Höldrich, "Binaural rendering of Ambisonic signals via magnitude least
//! squares", DAGA 2018; Deppisch, Helmholz, Ahrens, "End-to-end magnitude least squares binaural
//! rendering of spherical microphone array signals", I3DA 2021; Ivanic & Ruedenberg, J. Phys.
//! Chem. 100 (1996) 6342; Wefers, *Partitioned convolution algorithms for real-time
//! auralization*, 2015.

#![forbid(unsafe_code)]

pub mod design;
pub mod engine;
pub mod error;
pub mod kernel;
pub mod swap;

pub use design::{
    DEFAULT_LOW_LATENCY_PRE_DELAY_SAMPLES, FilterPhase, MAX_LOW_LATENCY_PRE_DELAY_SAMPLES,
    ShDomainDesign,
};
pub use engine::{
    Engine, EngineConfig, HeadRotation, MAX_BLOCK_SAMPLES, MAX_ORDER, SWAP_FADE_SAMPLES,
};
pub use error::{EngineError, Result};
pub use sphear_sh::rotation::ShRotator;
pub use swap::DesignSwapper;
