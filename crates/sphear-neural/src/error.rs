//! The crate's error type.

/// Errors of the neural renderer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NeuralError {
    /// An invalid configuration (names what is wrong and what was expected).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Input of the wrong shape: what was expected and what was given.
    #[error("shape mismatch: expected {expected}, got {got}")]
    Shape {
        /// Expected shape or count.
        expected: String,
        /// Shape or count given.
        got: String,
    },
    /// Non-finite samples or features.
    #[error("non-finite value in {0}")]
    NonFinite(String),
    /// This build has no embedded default model (`crates/sphear-neural/model/` was empty when it
    /// was compiled).
    #[error(
        "no embedded model: this build was compiled without crates/sphear-neural/model/{{config.json,model.bpk}}; pass a model directory (--model DIR)"
    )]
    NoEmbeddedModel,
    /// Error of the eMagLS design (sphear-render).
    #[error(transparent)]
    Render(#[from] sphear_render::RenderError),
    /// Error of the SH encoder (sphear-sh).
    #[error(transparent)]
    Sh(#[from] sphear_sh::ShError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, NeuralError>;
