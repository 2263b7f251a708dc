//! Error type of `sphear-eval`.
//!
//! Every estimator checks its input and returns one of these instead of a silent NaN: empty
//! input, mismatched lengths, non-finite samples, silent (all-zero) input where a ratio would be
//! 0/0, a frequency band above Nyquist, or an invalid parameter.

/// Errors of the metrics crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Signal too short, empty or of mismatched length (free-form message).
    #[error("invalid signal: {0}")]
    InvalidSignal(String),
    /// A metric is undefined for this input (e.g. a silent band).
    #[error("undefined metric: {0}")]
    Undefined(String),
    /// An input signal has no samples.
    #[error("{what} is empty")]
    Empty {
        /// Which input.
        what: String,
    },
    /// Two inputs that must have the same length do not.
    #[error("{what}: length mismatch, expected {expected} samples, got {got}")]
    LengthMismatch {
        /// Which inputs.
        what: String,
        /// Length of the first (reference) input.
        expected: usize,
        /// Length of the other input.
        got: usize,
    },
    /// An input contains NaN or ±∞.
    #[error("{what} contains NaN or infinite samples")]
    NonFinite {
        /// Which input.
        what: String,
    },
    /// An input is all zeros where the metric needs energy (e.g. the reference of an SNR).
    #[error("{what} is silent (zero energy)")]
    Silent {
        /// Which input.
        what: String,
    },
    /// A requested frequency band reaches above the Nyquist frequency.
    #[error("band up to {band_hz} Hz lies above the Nyquist frequency {nyquist_hz} Hz")]
    BandAboveNyquist {
        /// Upper edge of the offending band, Hz.
        band_hz: f64,
        /// Nyquist frequency, Hz.
        nyquist_hz: f64,
    },
    /// A parameter is out of its valid range (message says which and why).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result alias of the eval crate.
pub type Result<T> = std::result::Result<T, EvalError>;
