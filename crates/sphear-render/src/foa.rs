//! First-order Ambisonics (FOA) binaural baseline: "what a first-order microphone would give".
//!
//! The input (array capsules or AmbiX of any order) is reduced to order 1 and decoded with
//! **MagLS** ([`Method::MagLs`], order 1, default cut-off 2 kHz). MagLS rather than LS because at
//! order 1 an LS decoder loses almost all high-frequency energy and interaural level difference
//! (an order-N fit of HRTFs holds only below about N·c/(2π·r_head) ≈ 620 Hz for N = 1), so an LS FOA
//! baseline would mostly measure a spectral tilt; MagLS is how FOA is rendered in practice
//! (e.g. IEM BinauralDecoder, SPARTA). For array input the project encoder is designed at order 1
//! (spatial pseudo-inverse of order 1, radial filters for n = 0, 1), chained with the decoder in
//! one FIR matrix. For AmbiX input of order N > 1 the channels above ACN 3 get zero filters.
//!
//! # References
//! C. Schörkhuber, M. Zaunschirm, R. Höldrich, "Binaural rendering of Ambisonic signals via
//! magnitude least squares", DAGA 2018.

use crate::{BinauralDecoder, DecoderConfig, InputKind, Method, RenderError, Result};
use sphear_hrtf::HrtfSet;

/// Design the FOA baseline decoder for `input` (settings other than method/order from `base`).
///
/// # Errors
/// As [`BinauralDecoder::design`]; an array that cannot resolve order 1.
pub fn design_foa(
    hrtf: &HrtfSet,
    input: &InputKind,
    base: &DecoderConfig,
) -> Result<BinauralDecoder> {
    let cfg = DecoderConfig {
        method: Method::MagLs,
        order: 1,
        ..base.clone()
    };
    match input {
        InputKind::Array(_) => BinauralDecoder::design(hrtf, input, &cfg),
        InputKind::Ambix { order: 0 } => Err(RenderError::Config(
            "the FOA baseline needs AmbiX input of order ≥ 1 (4 channels)".into(),
        )),
        InputKind::Ambix { order } => {
            let mut d = BinauralDecoder::design(hrtf, &InputKind::Ambix { order: 1 }, &cfg)?;
            let n_in = input.num_channels();
            let len = d.filter_len();
            for ear in &mut d.filters {
                ear.resize(n_in, vec![0.0; len]);
            }
            d.input = InputKind::Ambix { order: *order };
            Ok(d)
        }
    }
}
