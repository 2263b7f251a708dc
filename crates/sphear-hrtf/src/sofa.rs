//! SOFA (AES69) reading on top of `sofar`'s pure-Rust HDF5 parser.
//!
//! `sofar` is used only to parse HDF5 (superblock, object headers, attributes, chunked and
//! deflated datasets). Everything SOFA-specific — convention checks, shapes, coordinate
//! conversion, listener orientation, ear order, `Data.Delay`, resampling — is done here so that
//! nothing is silently defaulted: every deviation is either an error or a note for the caller.

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sofar::hdf::{DataObject, DataType, ParsedHdf};

use crate::error::{HrtfError, Result};

/// HDF5 file signature (netCDF-4 files are HDF5 files).
const HDF5_SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// Reads a whole file.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| HrtfError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A parsed SOFA file: HDF5 tree plus global attributes.
pub(crate) struct SofaFile<'a> {
    pub(crate) path: PathBuf,
    parsed: ParsedHdf<'a>,
    pub(crate) attrs: HashMap<String, String>,
}

/// One decoded numeric variable.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    /// Shape as stored (netCDF/HDF5 order, last index fastest).
    pub(crate) dims: Vec<usize>,
    /// Values in storage order.
    pub(crate) values: Vec<f64>,
    /// String attributes of the variable.
    pub(crate) attrs: HashMap<String, String>,
}

impl Var {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

fn parse_err(path: &Path, reason: impl Into<String>) -> HrtfError {
    HrtfError::Parse {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl<'a> SofaFile<'a> {
    /// Parses `bytes` (the content of `path`) as HDF5 and checks the SOFA marker attribute.
    pub(crate) fn parse(path: &Path, bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() >= 4 && &bytes[..3] == b"CDF" {
            return Err(parse_err(
                path,
                "this is a netCDF-3 (classic) file; SOFA files must be netCDF-4/HDF5 \
                 (convert with `nccopy -k nc4 in.sofa out.sofa`)",
            ));
        }
        if bytes.len() < HDF5_SIGNATURE.len() || bytes[..8] != HDF5_SIGNATURE {
            let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            return Err(parse_err(
                path,
                format!(
                    "not an HDF5/netCDF-4 file: expected signature 89 48 44 46 0d 0a 1a 0a, found [{}] ({} bytes)",
                    shown.join(" "),
                    bytes.len()
                ),
            ));
        }
        let parsed = catch_unwind(AssertUnwindSafe(|| sofar::hdf::parse_with_children(bytes)))
            .map_err(|_| parse_err(path, "the HDF5 parser panicked on this file (corrupt or unsupported HDF5 layout)"))?
            .map_err(|e| {
                parse_err(
                    path,
                    format!("HDF5 parsing failed (truncated file, or an HDF5 layout the pure-Rust parser does not support, e.g. object header v1): {e}"),
                )
            })?;
        let attrs: HashMap<String, String> = parsed
            .root
            .parsed_attributes
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    clean_string(a.value.as_deref().unwrap_or_default()),
                )
            })
            .collect();
        match attrs.get("Conventions").map(String::as_str) {
            Some("SOFA") => {}
            Some(other) => {
                return Err(parse_err(
                    path,
                    format!(
                        "HDF5 file is not SOFA: global attribute Conventions is '{other}', expected 'SOFA'"
                    ),
                ));
            }
            None => {
                return Err(parse_err(
                    path,
                    "HDF5 file is not SOFA: global attribute 'Conventions' (= 'SOFA') is missing",
                ));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            parsed,
            attrs,
        })
    }

    /// A global attribute, or "" when absent.
    pub(crate) fn attr(&self, name: &str) -> String {
        self.attrs.get(name).cloned().unwrap_or_default()
    }

    fn has_child(&self, name: &str) -> bool {
        self.parsed
            .root
            .child_directories
            .iter()
            .any(|d| d.name == name)
    }

    fn object(&self, name: &str) -> Result<Option<DataObject>> {
        if !self.has_child(name) {
            return Ok(None);
        }
        let res = catch_unwind(AssertUnwindSafe(|| self.parsed.get_child(name))).map_err(|_| {
            parse_err(
                &self.path,
                format!("the HDF5 parser panicked reading variable '{name}'"),
            )
        })?;
        match res {
            None => Ok(None),
            Some(Ok(obj)) => Ok(Some(obj)),
            Some(Err(e)) => Err(parse_err(
                &self.path,
                format!("cannot decode variable '{name}': {e}"),
            )),
        }
    }

    /// Shape of a variable without requiring its values to be decodable.
    pub(crate) fn dims(&self, name: &str) -> Result<Option<Vec<usize>>> {
        Ok(self
            .object(name)?
            .map(|o| o.ds.dimension_size.iter().map(|&d| d as usize).collect()))
    }

    /// Decodes a numeric variable; `Ok(None)` when it does not exist or holds no data.
    pub(crate) fn var(&self, name: &str) -> Result<Option<Var>> {
        let Some(obj) = self.object(name)? else {
            return Ok(None);
        };
        if obj.data.is_empty() {
            return Ok(None);
        }
        let dims: Vec<usize> = obj.ds.dimension_size.iter().map(|&d| d as usize).collect();
        let count: usize = dims.iter().product();
        let values = decode_numbers(&obj.data, &obj.dt)
            .map_err(|r| parse_err(&self.path, format!("variable '{name}': {r}")))?;
        if values.len() != count {
            return Err(HrtfError::InvalidDimensions {
                what: name.to_string(),
                expected: format!("{count} values for shape {dims:?}"),
                found: format!("{} values", values.len()),
            });
        }
        let attrs = obj
            .parsed_attributes
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    clean_string(a.value.as_deref().unwrap_or_default()),
                )
            })
            .collect();
        Ok(Some(Var {
            dims,
            values,
            attrs,
        }))
    }

    /// Decodes a variable that must exist.
    pub(crate) fn required_var(&self, name: &str) -> Result<Var> {
        self.var(name)?.ok_or_else(|| {
            parse_err(
                &self.path,
                format!("required variable '{name}' is missing or empty"),
            )
        })
    }
}

/// HDF5 fixed-length strings may be NUL-terminated, NUL-padded or space-padded: cut at the
/// first NUL and trim trailing whitespace.
fn clean_string(s: &str) -> String {
    s.split('\0').next().unwrap_or("").trim_end().to_string()
}

/// Decodes HDF5 fixed-point or IEEE float data of either byte order into f64.
fn decode_numbers(data: &[u8], dt: &DataType) -> std::result::Result<Vec<f64>, String> {
    let class = dt.class_and_version & 0x0f;
    let size = dt.size as usize;
    let big_endian = dt.class_bit_field & 0x01 != 0;
    if size == 0 || data.len() % size != 0 {
        return Err(format!(
            "data length {} is not a multiple of the element size {size}",
            data.len()
        ));
    }
    let word = |chunk: &[u8]| -> u64 {
        let mut v = 0u64;
        if big_endian {
            for &b in chunk {
                v = (v << 8) | u64::from(b);
            }
        } else {
            for &b in chunk.iter().rev() {
                v = (v << 8) | u64::from(b);
            }
        }
        v
    };
    match (class, size) {
        (1, 8) => Ok(data
            .chunks_exact(8)
            .map(|c| f64::from_bits(word(c)))
            .collect()),
        (1, 4) => Ok(data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_bits(word(c) as u32)))
            .collect()),
        (0, 1 | 2 | 4 | 8) => {
            let signed = dt.class_bit_field & 0x08 != 0;
            let bits = 8 * size as u32;
            Ok(data
                .chunks_exact(size)
                .map(|c| {
                    let w = word(c);
                    if signed {
                        // Sign-extend.
                        let shift = 64 - bits;
                        (((w << shift) as i64) >> shift) as f64
                    } else {
                        w as f64
                    }
                })
                .collect())
        }
        _ => Err(format!(
            "unsupported HDF5 datatype (class {class}, {size} bytes); expected IEEE float (4/8 bytes) or integer"
        )),
    }
}

/// Coordinate type of a SOFA position variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoordType {
    Cartesian,
    Spherical,
}

/// Reads the `Type`/`Units` attributes of a position variable.
pub(crate) fn coord_type(
    var: &Var,
    name: &str,
    path: &Path,
) -> Result<(CoordType, Option<String>)> {
    match var.attr("Type") {
        Some(t) if t.eq_ignore_ascii_case("cartesian") => Ok((CoordType::Cartesian, None)),
        Some(t) if t.eq_ignore_ascii_case("spherical") => {
            if let Some(u) = var.attr("Units") {
                let first = u
                    .split(',')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if !first.starts_with("degree") {
                    return Err(HrtfError::Unsupported {
                        what: format!(
                            "{name} is spherical with Units '{u}' in '{}'; SOFA requires 'degree, degree, metre'",
                            path.display()
                        ),
                    });
                }
            }
            Ok((CoordType::Spherical, None))
        }
        Some(t) => Err(HrtfError::Unsupported {
            what: format!(
                "{name} has coordinate Type '{t}' in '{}'; expected 'cartesian' or 'spherical'",
                path.display()
            ),
        }),
        None => Ok((
            CoordType::Cartesian,
            Some(format!(
                "{name} has no Type attribute: read as cartesian (the SOFA default)"
            )),
        )),
    }
}

/// Rows `[a, b, c]` of a `K × 3 (× 1…)` position variable, as stored.
///
/// Extra trailing dimensions (e.g. `R × C × I` or `R × C × M`) are sampled at index 0.
pub(crate) fn rows3(var: &Var, name: &str) -> Result<Vec<[f64; 3]>> {
    if var.dims.len() < 2 || var.dims[1] != 3 {
        return Err(HrtfError::InvalidDimensions {
            what: name.to_string(),
            expected: "K × 3 (× …)".into(),
            found: format!("{:?}", var.dims),
        });
    }
    let inner: usize = var.dims[2..].iter().product();
    let k = var.dims[0];
    Ok((0..k)
        .map(|i| {
            let base = i * 3 * inner;
            [
                var.values[base],
                var.values[base + inner],
                var.values[base + 2 * inner],
            ]
        })
        .collect())
}

/// SOFA spherical `(azimuth°, elevation°, radius m)` → cartesian metres (+x front, +y left, +z up).
pub(crate) fn spherical_deg_to_cartesian(p: [f64; 3]) -> [f64; 3] {
    let (az, el, r) = (p[0].to_radians(), p[1].to_radians(), p[2]);
    [
        r * el.cos() * az.cos(),
        r * el.cos() * az.sin(),
        r * el.sin(),
    ]
}

/// Cartesian → `(azimuth°, elevation°, radius m)`, azimuth in (−180°, 180°].
pub(crate) fn cartesian_to_spherical_deg(p: [f64; 3]) -> [f64; 3] {
    let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
    if r == 0.0 {
        return [0.0, 0.0, 0.0];
    }
    [
        p[1].atan2(p[0]).to_degrees(),
        (p[2] / r).clamp(-1.0, 1.0).asin().to_degrees(),
        r,
    ]
}

/// Summary of a SOFA file of any convention (what `sphear hrtf info` prints).
///
/// Angles are as stored (SOFA: azimuth counter-clockwise from the front, elevation up, degrees);
/// cartesian positions are converted, with azimuth in (−180°, 180°]. Numbers that the file does
/// not provide are `NaN` (rates, ranges) or 0 (counts).
#[derive(Debug, Clone, PartialEq)]
pub struct SofaInfo {
    /// The file.
    pub path: PathBuf,
    /// Global attribute `Conventions` (always "SOFA" for a file that parses).
    pub conventions: String,
    /// Global attribute `Version` (SOFA specification version).
    pub version: String,
    /// Global attribute `SOFAConventions`, e.g. "SimpleFreeFieldHRIR".
    pub sofa_conventions: String,
    /// Global attribute `SOFAConventionsVersion`.
    pub sofa_conventions_version: String,
    /// Global attribute `DataType`, e.g. "FIR", "TF", "SOS".
    pub data_type: String,
    /// The data variable the counts were read from ("Data.IR", "Data.Real", "Data.SOS" or "").
    pub data_variable: String,
    /// `Data.SamplingRate` (Hz); `NaN` if absent.
    pub sample_rate_hz: f64,
    /// M: number of measurements (source directions).
    pub num_directions: usize,
    /// R: number of receivers (2 for binaural).
    pub num_receivers: usize,
    /// N: taps per impulse response (or frequency bins / SOS coefficients for other data types).
    pub ir_len: usize,
    /// Elevation range of `SourcePosition`, degrees.
    pub elevation_range_deg: (f64, f64),
    /// Azimuth range of `SourcePosition`, degrees.
    pub azimuth_range_deg: (f64, f64),
    /// Distance range of `SourcePosition`, metres.
    pub distance_range_m: (f64, f64),
    /// Global attribute `Title`.
    pub title: String,
    /// Global attribute `DatabaseName`.
    pub database_name: String,
    /// Global attribute `ListenerShortName`.
    pub listener_short_name: String,
    /// Whether `Data.Delay` has any nonzero entry.
    pub has_nonzero_delay: bool,
    /// `ReceiverPosition` y coordinates (m), receiver order; +y is the listener's left.
    pub receiver_y_m: Vec<f64>,
    /// Observations for the user (DTF set, ear-order inconsistencies, whether sphear can load it).
    pub remarks: Vec<String>,
}

impl fmt::Display for SofaInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                format!("'{s}'")
            }
        };
        writeln!(f, "SOFA file       {}", self.path.display())?;
        writeln!(
            f,
            "convention      {} {} (SOFA {}, DataType {})",
            self.sofa_conventions, self.sofa_conventions_version, self.version, self.data_type
        )?;
        writeln!(
            f,
            "title           {}   database {}   listener {}",
            or_dash(&self.title),
            or_dash(&self.database_name),
            or_dash(&self.listener_short_name)
        )?;
        if self.sample_rate_hz.is_finite() {
            writeln!(f, "sampling rate   {} Hz", self.sample_rate_hz)?;
        } else {
            writeln!(f, "sampling rate   (none)")?;
        }
        let dur = if self.sample_rate_hz.is_finite() && self.sample_rate_hz > 0.0 {
            format!(
                " ({:.2} ms)",
                1e3 * self.ir_len as f64 / self.sample_rate_hz
            )
        } else {
            String::new()
        };
        writeln!(
            f,
            "measurements    {} directions x {} receivers x {} taps{dur} [{}]",
            self.num_directions, self.num_receivers, self.ir_len, self.data_variable
        )?;
        writeln!(
            f,
            "elevation       {:.1} .. {:.1} deg",
            self.elevation_range_deg.0, self.elevation_range_deg.1
        )?;
        writeln!(
            f,
            "azimuth         {:.1} .. {:.1} deg",
            self.azimuth_range_deg.0, self.azimuth_range_deg.1
        )?;
        writeln!(
            f,
            "distance        {:.3} .. {:.3} m",
            self.distance_range_m.0, self.distance_range_m.1
        )?;
        let ys: Vec<String> = self
            .receiver_y_m
            .iter()
            .map(|y| format!("{y:+.4}"))
            .collect();
        writeln!(f, "receiver y (m)  [{}]  (+y = left)", ys.join(", "))?;
        write!(
            f,
            "Data.Delay      {}",
            if self.has_nonzero_delay {
                "nonzero"
            } else {
                "all zero"
            }
        )?;
        for r in &self.remarks {
            write!(f, "\nnote            {r}")?;
        }
        Ok(())
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::NAN, f64::NAN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Reads a summary of any SOFA file (any convention, no refusal), for `sphear hrtf info`.
///
/// # Errors
/// [`HrtfError::Io`] if the file cannot be read; [`HrtfError::Parse`] if it is not HDF5/netCDF-4
/// or not SOFA (global attribute `Conventions` ≠ "SOFA"); shape errors in position variables.
pub fn sofa_info(path: &Path) -> Result<SofaInfo> {
    let bytes = read_bytes(path)?;
    let file = SofaFile::parse(path, &bytes)?;
    let mut remarks = Vec::new();

    let mut data_variable = String::new();
    let mut dims = Vec::new();
    for name in ["Data.IR", "Data.Real", "Data.SOS"] {
        if let Some(d) = file.dims(name)? {
            data_variable = name.to_string();
            dims = d;
            break;
        }
    }
    let sample_rate_hz = file
        .var("Data.SamplingRate")?
        .and_then(|v| v.values.first().copied())
        .unwrap_or(f64::NAN);
    let has_nonzero_delay = file
        .var("Data.Delay")?
        .is_some_and(|v| v.values.iter().any(|&d| d != 0.0));

    let mut el = (f64::NAN, f64::NAN);
    let mut az = (f64::NAN, f64::NAN);
    let mut dist = (f64::NAN, f64::NAN);
    let mut num_sources = 0;
    if let Some(sp) = file.var("SourcePosition")? {
        let (ty, _) = coord_type(&sp, "SourcePosition", path)?;
        let rows = rows3(&sp, "SourcePosition")?;
        num_sources = rows.len();
        let sph: Vec<[f64; 3]> = match ty {
            CoordType::Spherical => rows,
            CoordType::Cartesian => rows.into_iter().map(cartesian_to_spherical_deg).collect(),
        };
        az = min_max(sph.iter().map(|p| p[0]));
        el = min_max(sph.iter().map(|p| p[1]));
        dist = min_max(sph.iter().map(|p| p[2]));
    }
    let mut receiver_y_m = Vec::new();
    if let Some(rp) = file.var("ReceiverPosition")? {
        let (ty, _) = coord_type(&rp, "ReceiverPosition", path)?;
        receiver_y_m = rows3(&rp, "ReceiverPosition")?
            .into_iter()
            .map(|p| match ty {
                CoordType::Cartesian => p[1],
                CoordType::Spherical => spherical_deg_to_cartesian(p)[1],
            })
            .collect();
    }

    let info_title = file.attr("Title");
    if info_title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "DTF")
    {
        remarks.push(
            "Title says DTF: directional transfer functions (the direction-independent, \
             diffuse-field part removed), not full HRTFs; renders will sound brighter/thinner \
             than with an HRTF set of the same subject"
                .into(),
        );
    }
    if receiver_y_m.len() == 2 && receiver_y_m[0] < receiver_y_m[1] {
        remarks.push(format!(
            "ReceiverPosition puts receiver 0 at y = {:+.4} m (right side); files written with \
             SOFA 0.x templates often have this sign error while receiver 0 is the left ear. \
             sphear decides the ear order from the interaural level difference of the data",
            receiver_y_m[0]
        ));
    }
    let conv = file.attr("SOFAConventions");
    let data_type = file.attr("DataType");
    if conv != "SimpleFreeFieldHRIR" {
        remarks.push(format!(
            "sphear cannot render with this file: convention '{conv}' (DataType '{data_type}'); it reads SimpleFreeFieldHRIR only"
        ));
    } else if data_type != "FIR" {
        remarks.push(format!(
            "sphear cannot render with this file: DataType '{data_type}' (expected FIR)"
        ));
    }

    Ok(SofaInfo {
        path: path.to_path_buf(),
        conventions: file.attr("Conventions"),
        version: file.attr("Version"),
        sofa_conventions: conv,
        sofa_conventions_version: file.attr("SOFAConventionsVersion"),
        data_type,
        data_variable,
        sample_rate_hz,
        num_directions: dims.first().copied().unwrap_or(num_sources),
        num_receivers: dims.get(1).copied().unwrap_or(0),
        ir_len: dims.get(2).copied().unwrap_or(0),
        elevation_range_deg: el,
        azimuth_range_deg: az,
        distance_range_m: dist,
        title: info_title,
        database_name: file.attr("DatabaseName"),
        listener_short_name: file.attr("ListenerShortName"),
        has_nonzero_delay,
        receiver_y_m,
        remarks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spherical_cartesian_round_trip() {
        for p in [
            [0.0, 0.0, 1.0],
            [90.0, 0.0, 2.0],
            [-135.0, 30.0, 1.5],
            [10.0, -80.0, 0.5],
        ] {
            let c = spherical_deg_to_cartesian(p);
            let q = cartesian_to_spherical_deg(c);
            for k in 0..3 {
                assert!((p[k] - q[k]).abs() < 1e-9, "{p:?} -> {q:?}");
            }
        }
        // Left is +y.
        let l = spherical_deg_to_cartesian([90.0, 0.0, 1.0]);
        assert!((l[1] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn decode_big_endian_and_integers() {
        let dt_f64_be = DataType {
            class_and_version: 0x11,
            class_bit_field: 1,
            size: 8,
            ..Default::default()
        };
        let v = decode_numbers(&1.5f64.to_be_bytes(), &dt_f64_be).expect("f64");
        assert_eq!(v, vec![1.5]);
        let dt_i16_le = DataType {
            class_and_version: 0x10,
            class_bit_field: 0x08,
            size: 2,
            ..Default::default()
        };
        let v = decode_numbers(&(-3i16).to_le_bytes(), &dt_i16_le).expect("i16");
        assert_eq!(v, vec![-3.0]);
        let dt_f32_le = DataType {
            class_and_version: 0x11,
            class_bit_field: 0,
            size: 4,
            ..Default::default()
        };
        let v = decode_numbers(&0.25f32.to_le_bytes(), &dt_f32_le).expect("f32");
        assert_eq!(v, vec![0.25]);
        assert!(decode_numbers(&[0u8; 3], &dt_f32_le).is_err());
    }
}
