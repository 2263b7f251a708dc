//! Error type of `sphear-engine`.

/// Errors of the engine crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Invalid configuration (order, lengths, sample rate, …).
    #[error("{0}")]
    Config(String),
    /// `process` was called before `prepare`.
    #[error("the engine is not prepared: call prepare(sample_rate_hz, max_block) first")]
    NotPrepared,
    /// Wrong number of channels passed to `process`.
    #[error("expected {expected} {what} channels, got {got}")]
    ChannelCount {
        /// "input" or "output".
        what: &'static str,
        /// Expected count.
        expected: usize,
        /// Count passed.
        got: usize,
    },
    /// Block length out of `1..=max_block`, or channels of unequal length.
    #[error(
        "block of {got} samples is invalid (allowed 1..={max_block}, all channels equal length)"
    )]
    BlockSize {
        /// Offending length.
        got: usize,
        /// `max_block` given to `prepare`.
        max_block: usize,
    },
    /// A design swap is already queued and not yet picked up by the audio thread.
    #[error("a design swap is already queued; wait until the audio thread has picked it up")]
    SwapBusy,
    /// Error from the render crate (filter design).
    #[error(transparent)]
    Render(#[from] sphear_render::RenderError),
    /// Error from the SH crate.
    #[error(transparent)]
    Sh(#[from] sphear_sh::ShError),
    /// Error from the core crate (convolver).
    #[error(transparent)]
    Core(#[from] sphear_core::CoreError),
}

/// Result alias of the engine crate.
pub type Result<T> = std::result::Result<T, EngineError>;
