//! # sphear-sim
//!
//! Ground-truth scene generator: shoebox rooms (image-source method with frequency-dependent wall
//! absorption, plus a stochastic diffuse tail with the correct spatial coherence), rendered to
//! several receivers at the same position — em32 capsules (rigid-sphere modal model), binaural
//! (HRIRs), ideal order-N Ambisonics and an omnidirectional reference — and a dataset writer.
//!
//! Frames: room coordinates in metres with the origin in a corner, axes +x, +y, +z (floor at
//! z = 0). Directions of arrival are expressed in the **room frame** (azimuth counter-clockwise
//! from +x, elevation up); receivers with an orientation (the head) rotate them into their own
//! frame.

pub mod audio_in;
pub mod augment;
pub mod bands;
pub mod dataset;
pub mod error;
pub mod receiver;
pub mod rir;
pub mod room;
pub mod scene;
pub mod spec;
pub mod tail;

pub use error::{Result, SimError};
