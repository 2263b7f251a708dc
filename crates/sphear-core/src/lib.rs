//! # sphear-core
//!
//! DSP primitives shared by every sphear crate.
//!
//! ## Conventions (apply to the whole project)
//! * Right-handed axes: +x front, +y left, +z up.
//! * Azimuth counter-clockwise from the front seen from above (90° = left), elevation up from the
//!   horizontal plane (90° = up), as in SOFA. Maths in radians; degrees only at I/O, with `_deg` names.
//! * Time-harmonic convention of all frequency responses: `e^{+iωt}`, i.e. the one implied by the
//!   forward DFT `X[k] = Σ x[n] e^{-i2πkn/N}`. A signal that arrives *earlier* has a phase *advance*.
//! * Audio buffers are planar (channel-major) `f32`; design-time maths is `f64`.

pub mod conv;
pub mod error;
pub mod geom;
pub mod signals;
pub mod special;
pub mod stream;
pub mod wav;

pub use error::{CoreError, Result};
pub use geom::Direction;

/// Speed of sound used by default everywhere (m/s, dry air at about 20 °C).
pub const SPEED_OF_SOUND_M_S: f64 = 343.0;
