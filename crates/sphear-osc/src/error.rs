//! Error type of the OSC head-tracking crate.

/// Errors of `sphear-osc`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OscError {
    /// The bytes are not a valid OSC packet (rosc's decoder rejected them).
    #[error("malformed OSC packet: {0}")]
    Decode(String),
    /// The decoder left bytes after the packet.
    #[error("{0} trailing bytes after the OSC packet")]
    TrailingBytes(usize),
    /// The address is not a head-tracking address sphear understands.
    #[error("unknown OSC address {0:?}")]
    UnknownAddress(String),
    /// Wrong number of arguments for the address.
    #[error("{addr}: expected {expected} arguments, got {got}")]
    ArgCount {
        /// OSC address.
        addr: String,
        /// Arguments expected.
        expected: usize,
        /// Arguments received.
        got: usize,
    },
    /// An argument is not a number (int32, int64, float32 or float64) or is not finite.
    #[error("{addr}: argument {index} is not a finite number")]
    ArgType {
        /// OSC address.
        addr: String,
        /// Zero-based argument index.
        index: usize,
    },
    /// Socket error (bind, option setting, thread spawn).
    #[error("OSC socket error: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`OscError`].
pub type Result<T> = std::result::Result<T, OscError>;
