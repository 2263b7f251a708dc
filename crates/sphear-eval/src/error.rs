//! Error type of `sphear-eval`.

/// Errors of the metrics crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Signal too short, empty or of mismatched length.
    #[error("invalid signal: {0}")]
    InvalidSignal(String),
    /// A metric is undefined for this input (e.g. a silent band).
    #[error("undefined metric: {0}")]
    Undefined(String),
}

/// Result alias of the eval crate.
pub type Result<T> = std::result::Result<T, EvalError>;
