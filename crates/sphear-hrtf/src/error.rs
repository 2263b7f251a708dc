//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading, checking, resampling or building an HRTF set.
///
/// Messages always say what was expected and what was found, so that the CLI can print them
/// unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HrtfError {
    /// The file could not be read.
    #[error("cannot read '{}': {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write '{}': {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not HDF5/netCDF-4, or it is HDF5 but not SOFA, or the HDF5 parser failed.
    #[error("cannot parse '{}' as SOFA: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What failed (expected vs found).
        reason: String,
    },
    /// The file is SOFA but not the `SimpleFreeFieldHRIR` convention that sphear renders with.
    #[error(
        "unsupported SOFA convention '{found}' (DataType '{data_type}'); sphear reads SimpleFreeFieldHRIR only"
    )]
    UnsupportedConvention {
        /// Value of the global attribute `SOFAConventions`.
        found: String,
        /// Value of the global attribute `DataType`.
        data_type: String,
    },
    /// The convention is `SimpleFreeFieldHRIR` but the data are not FIR filters.
    #[error("unsupported SOFA DataType '{found}' for SimpleFreeFieldHRIR; sphear reads 'FIR' only")]
    UnsupportedDataType {
        /// Value of the global attribute `DataType`.
        found: String,
    },
    /// A variable has the wrong shape.
    #[error("invalid dimensions of {what}: expected {expected}, found {found}")]
    InvalidDimensions {
        /// The variable or argument.
        what: String,
        /// The expected shape.
        expected: String,
        /// The shape found.
        found: String,
    },
    /// The values are unusable (NaN/Inf, all zeros, negative delays, coincident source, …).
    #[error("invalid data: {reason}")]
    InvalidData {
        /// What is wrong.
        reason: String,
    },
    /// A valid SOFA feature that sphear does not implement (e.g. per-measurement sampling rates).
    #[error("unsupported SOFA content: {what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },
    /// Resampling failed or was asked for with invalid rates.
    #[error("resampling failed: {reason}")]
    Resample {
        /// Why.
        reason: String,
    },
    /// A caller-supplied argument is invalid (e.g. a non-positive sampling rate).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// Why.
        reason: String,
    },
}

/// `Result` with [`HrtfError`].
pub type Result<T> = std::result::Result<T, HrtfError>;
