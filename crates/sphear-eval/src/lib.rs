//! # sphear-eval
//!
//! Binaural metrics used to score renderers against a reference (direct HRIR rendering, or a
//! measured binaural signal). Every estimator returns an error instead of a silent NaN.
//!
//! Sign conventions: **ITD = t_right − t_left** in seconds (positive when the *left* ear leads,
//! i.e. for a source on the left); **ILD = 10·log10(E_left/E_right)** in dB (positive when the left
//! ear is louder).

pub mod bands;
pub mod error;
pub mod itd;

pub use error::{EvalError, Result};
