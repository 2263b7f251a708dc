//! Error type of `sphear-sh`.

/// Errors of the SH / array crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShError {
    /// The requested SH order is not supported by this operation.
    #[error("SH order {order} not supported here: {reason}")]
    Order {
        /// The order asked for.
        order: usize,
        /// Why it is not allowed.
        reason: String,
    },
    /// An array description (TOML) is invalid.
    #[error("array description {source_name}: {reason}")]
    ArrayFile {
        /// File name or "<inline>".
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// Invalid argument (sizes, lengths, parameters).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Error from the core crate (I/O, WAV).
    #[error(transparent)]
    Core(#[from] sphear_core::CoreError),
}

/// Result alias of the SH crate.
pub type Result<T> = std::result::Result<T, ShError>;
