//! # sphear-render
//!
//! Binaural decoders that produce FIR filters, and the block renderer that applies them.
//!
//! * [`Method::Ls`]: least-squares SH-domain decoder (order N).
//! * [`Method::MagLs`]: LS below a cut-off (default 2 kHz), magnitude-only LS above with the phase
//!   carried from the previous bin (Schörkhuber, Zaunschirm, Höldrich, DAGA 2018).
//! * [`Method::EMagLs`]: end-to-end MagLS including the array's encoder (SH domain) and
//!   [`Method::EMagLs2`]: the same fitted directly to the capsule signals (Deppisch, Helmholz,
//!   Ahrens, I3DA 2021).
//!
//! * [`foa::design_foa`]: first-order Ambisonics baseline (order-1 MagLS from the same input).
//! * [`dirac::DiracRenderer`]: DirAC (Pulkki 2007), a parametric STFT renderer from first order.
//!
//! Every decoder ends as a matrix of FIR filters `[ear][input channel][tap]` with a stated
//! constant delay, designed at the input's sample rate from an [`sphear_hrtf::HrtfSet`]
//! (resampled to that rate by the caller).
//!
//! Head rotation (`yaw`, `pitch`, `roll`, see [`sphear_sh::rotation::rotation_from_ypr`]: yaw
//! positive = head turns left) is applied by SH rotation of the decoder for the SH-domain
//! methods, and by an exact redesign with rotated plane-wave steering for the capsule-domain
//! eMagLS2 (the array model is analytic, so no interpolation is involved).

pub mod decoder;
pub mod design;
pub mod dirac;
pub mod error;
pub mod foa;
pub mod head;
pub mod hrtf_source;
pub mod renderer;
pub mod sim;
pub mod steering;

pub use decoder::{BinauralDecoder, DecoderConfig, InputKind, Method};
pub use error::{RenderError, Result};
pub use renderer::BinauralRenderer;
