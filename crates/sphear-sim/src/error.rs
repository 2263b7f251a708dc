//! Error type of `sphear-sim`.

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// Invalid room, source, receiver or scene description.
    #[error("{0}")]
    Invalid(String),
    /// I/O on a named file.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Error from the core crate.
    #[error(transparent)]
    Core(#[from] sphear_core::CoreError),
    /// Error from the SH crate.
    #[error(transparent)]
    Sh(#[from] sphear_sh::ShError),
    /// Error from the HRTF crate.
    #[error(transparent)]
    Hrtf(#[from] sphear_hrtf::HrtfError),
    /// Error from the render crate.
    #[error(transparent)]
    Render(#[from] sphear_render::RenderError),
}

/// Result alias of the simulator.
pub type Result<T> = std::result::Result<T, SimError>;
