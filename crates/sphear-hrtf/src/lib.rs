//! # sphear-hrtf
//!
//! Head-related impulse response (HRIR) sets for binaural rendering:
//!
//! * [`sofa_info`] summarises any SOFA (AES69) file, whatever its convention.
//! * [`HrtfSet::from_sofa`] reads `SimpleFreeFieldHRIR` files strictly: other conventions and
//!   data types are refused by name, shapes and values are checked, `Data.Delay` is applied, the
//!   ear order is verified against the data, and the set is resampled (band-limited, gain
//!   preserving) to the rate the caller asks for. Everything that was done is returned as
//!   [`LoadedHrtf::notes`]; the library itself never prints.
//! * [`HrtfSet::nearest`], [`HrtfSet::interpolation_weights`] and [`HrtfSet::interpolate`] look
//!   up or interpolate (barycentric on the spherical triangle of measured directions) IRs.
//! * [`resample_ir`] / [`resample_signal`] are the band-limited resamplers (rubato sinc).
//! * [`write_sofa`] writes a [`SimpleFreeFieldHrir`] as a SOFA SimpleFreeFieldHRIR 1.0 file
//!   (pure-Rust netCDF-4/HDF5 subset, see [`sofa_write`]).
//!
//! Conventions: +x front, +y left, +z up; azimuth counter-clockwise from the front, elevation up
//! (as in SOFA); [`Ear::Left`] is the +y ear. HDF5 parsing is done by the pure-Rust
//! `sofar::hdf` module (no system libraries).
//!
//! # References
//! AES69-2022, "AES standard for file exchange — Spatial acoustic data file format" (SOFA).

pub mod error;
pub mod resample;
pub mod set;
pub mod sofa;
pub mod sofa_write;

use std::path::PathBuf;

pub use error::{HrtfError, Result};
pub use resample::{resample_ir, resample_signal};
pub use set::{Ear, HrtfSet, LoadedHrtf};
pub use sofa::{SofaInfo, sofa_info};
pub use sofa_write::{SimpleFreeFieldHrir, SofaDelay, SofaMetadata, write_sofa};

/// Paths where Debian's `libmysofa1` package installs its default HRTF (MIT KEMAR, 44.1 kHz).
pub const SYSTEM_DEFAULT_SOFA_PATHS: [&str; 2] = [
    "/usr/share/libmysofa/default.sofa",
    "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa",
];

/// The system's default SOFA file if one is installed (libmysofa's Debian package:
/// `/usr/share/libmysofa/default.sofa`, else `MIT_KEMAR_normal_pinna.sofa` there), else `None`.
pub fn system_default_sofa() -> Option<PathBuf> {
    SYSTEM_DEFAULT_SOFA_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}
