//! # sphear-osc
//!
//! OSC head tracking for the real-time engine: parsing of the head-tracker messages that
//! SPARTA and the IEM SceneRotator understand, a lock-free shared head state, a UDP listener
//! thread, and one-pole orientation smoothing.
//!
//! ## Conventions
//! Everything this crate hands out is the **listener's head orientation** in sphear's
//! convention (see `sphear_sh::rotation::rotation_from_ypr`): axes +x front, +y left, +z up;
//! yaw positive = head turns left, pitch positive = nose up, roll positive = left ear up;
//! `H = Rz(yaw) · Ry(−pitch) · Rx(roll)`, active. The renderer compensates it by rotating the
//! sound field by `Hᵀ`.
//!
//! ### Sender conventions (checked against the plug-in sources)
//! * **SPARTA / SAF** (`/ypr`, `/yaw`, `/pitch`, `/roll`, degrees). SAF's `yawPitchRoll2Rzyx`
//!   builds `R = Rx'(roll) · Ry'(pitch) · Rz'(yaw)` from *passive* (frame) matrices, i.e.
//!   `R = (Rz(yaw) · Ry(pitch) · Rx(roll))ᵀ` with right-handed active `Rz, Ry, Rx` in the same
//!   x-front/y-left/z-up frame, and the rotator applies `R` to the scene: `R` is the inverse of
//!   the head orientation `Rz(yaw)·Ry(pitch)·Rx(roll)`. A right-handed rotation about +y moves
//!   the nose *down*, so SAF yaw and roll have sphear's sign and SAF pitch has the opposite
//!   sign: `sphear = (yaw, −pitch, roll)`.
//! * **IEM SceneRotator** (`/SceneRotator/ypr`, `/SceneRotator/yaw|pitch|roll`, degrees;
//!   `/SceneRotator/quaternions` as `w, x, y, z`). SceneRotator builds (default
//!   "roll → pitch → yaw" sequence) `Rz(yaw) · Ry(pitch) · Rx(roll)` from right-handed active
//!   matrices, and its quaternion parameters are the Hamilton quaternion
//!   `q = qz(yaw) ⊗ qy(pitch) ⊗ qx(roll)` of the same matrix, in the same frame. Its angles
//!   therefore map like SAF's, `sphear = (yaw, −pitch, roll)`, and its quaternion components
//!   are used unchanged. Head trackers that drive SceneRotator send the head orientation and
//!   rely on the plug-in's "invert" switches (or their own inversion) to compensate; sphear
//!   always interprets the received values as the head orientation and compensates itself.
//!
//! # References
//! L. McCormack, Spatial_Audio_Framework, `saf_utilities` `yawPitchRoll2Rzyx` and the SPARTA
//! rotator `oscMessageReceived`; D. Rudrich, IEM Plug-in Suite, SceneRotator
//! `calcRotationMatrix`, `updateQuaternions`, `interceptOSCMessage`.

#![forbid(unsafe_code)]

mod error;
mod listener;
mod parse;
mod quat;
mod smoother;
mod state;

pub use error::{OscError, Result};
pub use listener::OscListener;
pub use parse::{HeadMessage, parse_packet};
pub use quat::Quat;
pub use smoother::Smoother;
pub use state::HeadState;
