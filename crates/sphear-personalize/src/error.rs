//! Error type of `sphear-personalize`.

/// Errors of the personalisation crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersonalizeError {
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A data file (npy, csv) is malformed or has unexpected shape.
    #[error("bad data: {0}")]
    Data(String),
    /// An anthropometry file or value is invalid.
    #[error("bad anthropometry: {0}")]
    Anthropometry(String),
    /// An argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The model (weights, metadata) could not be loaded or saved.
    #[error("model: {0}")]
    Model(String),
    /// HRTF set construction failed.
    #[error(transparent)]
    Hrtf(#[from] sphear_hrtf::HrtfError),
}

/// Result alias of the personalisation crate.
pub type Result<T> = std::result::Result<T, PersonalizeError>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> PersonalizeError {
    let path = path.display().to_string();
    move |source| PersonalizeError::Io { path, source }
}
