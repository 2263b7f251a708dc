//! Error type of `sphear-core`.

use std::path::PathBuf;

/// Errors of the core crate. Messages name what was expected and what was found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An I/O failure on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A WAV file could not be parsed (unreadable, truncated, unsupported sample format).
    #[error("{path}: not a readable WAV file: {reason}")]
    WavFormat {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The audio contains NaN or infinite samples.
    #[error("{path}: sample {frame} of channel {channel} is not finite ({value})")]
    NonFinite {
        /// The file concerned.
        path: PathBuf,
        /// Frame index (0-based).
        frame: u64,
        /// Channel index (0-based).
        channel: usize,
        /// The offending value.
        value: f32,
    },
    /// Wrong number of channels.
    #[error("expected {expected} channels, got {got}")]
    ChannelCount {
        /// What was expected.
        expected: String,
        /// What was found.
        got: usize,
    },
    /// Output path would overwrite the input.
    #[error("refusing to overwrite the input file {0}")]
    WouldOverwriteInput(PathBuf),
    /// Invalid argument (sizes, lengths).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result alias of the core crate.
pub type Result<T> = std::result::Result<T, CoreError>;
