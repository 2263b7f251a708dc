//! # sphear-personalize
//!
//! HRTF personalisation from 12 anthropometric measurements (issue 7, paper §2.4):
//!
//! * [`data`]: CIPIC loading, the 12 features, missing values, 256-bin dB spectra, onset ITDs.
//! * [`dsp`]: the spectral grid, minimum-phase reconstruction (real cepstrum), LSD.
//! * [`model`]: the conditional VAE (burn, CPU `flex` backend).
//! * [`itd`]: the Woodworth-style ITD model with anthropometric regression.
//! * [`train`]: training and the saved-model bundle.
//! * [`eval`]: leave-subjects-out cross-validation against generic, mean and nearest-neighbour
//!   baselines.
//! * [`listener`]: the listener's `ME.toml` and [`listener::personalize`] (the committed model,
//!   embedded with `include_bytes!`, to an [`sphear_hrtf::HrtfSet`] at any rate).
//!
//! The committed model was trained on the CIPIC HRTF database (see `MODEL_CARD.md` for the
//! licence notice). The product never needs the data; training and evaluation read it from a
//! directory given at run time.

pub mod data;
pub mod dsp;
pub mod error;
pub mod eval;
pub mod itd;
pub mod listener;
pub mod model;
pub mod npy;
pub mod train;

pub use error::{PersonalizeError, Result};
