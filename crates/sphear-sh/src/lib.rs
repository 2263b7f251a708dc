//! # sphear-sh
//!
//! Spherical harmonics and spherical microphone arrays.
//!
//! ## SH conventions
//! Real spherical harmonics in ACN order (`acn = n² + n + m`), **without** Condon–Shortley phase.
//! At the boundaries (files, CLI) coefficients are AmbiX: ACN + SN3D. Inside, [`sh::Norm`] names
//! the normalisation explicitly; conversions are in [`sh`]. Directions follow [`sphear_core::geom`]
//! (azimuth counter-clockwise from the front, elevation up).

pub mod array;
pub mod encoder;
pub mod error;
pub mod modal;
pub mod quadrature;
pub mod rotation;
pub mod sh;

pub use error::{Result, ShError};
