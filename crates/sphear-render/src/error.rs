//! Error type of `sphear-render`.

/// Errors of the render crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// Invalid configuration (method not applicable to the input, bad lengths, …).
    #[error("{0}")]
    Config(String),
    /// Error from the SH/array crate.
    #[error(transparent)]
    Sh(#[from] sphear_sh::ShError),
    /// Error from the HRTF crate.
    #[error(transparent)]
    Hrtf(#[from] sphear_hrtf::HrtfError),
    /// Error from the core crate.
    #[error(transparent)]
    Core(#[from] sphear_core::CoreError),
}

/// Result alias of the render crate.
pub type Result<T> = std::result::Result<T, RenderError>;
