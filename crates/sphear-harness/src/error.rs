//! Error type of `sphear-harness`.

/// Errors of the evaluation harness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// Invalid settings (unknown method or suite, empty method list, …).
    #[error("{0}")]
    Config(String),
    /// A dataset item or report file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file or folder.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Drawing a plot failed.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The PNG file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Error from the render crate.
    #[error(transparent)]
    Render(#[from] sphear_render::RenderError),
    /// Error from the simulator.
    #[error(transparent)]
    Sim(#[from] sphear_sim::SimError),
    /// Error from the SH/array crate.
    #[error(transparent)]
    Sh(#[from] sphear_sh::ShError),
    /// Error from the core crate.
    #[error(transparent)]
    Core(#[from] sphear_core::CoreError),
    /// Error from the metrics crate.
    #[error(transparent)]
    Eval(#[from] sphear_eval::EvalError),
}

/// Result alias of the harness crate.
pub type Result<T> = std::result::Result<T, HarnessError>;

/// Wrap an I/O-like error with its path.
pub(crate) fn file_err(path: &std::path::Path, e: impl std::fmt::Display) -> HarnessError {
    HarnessError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
