//! [`HrtfSet`]: a checked, in-memory set of head-related impulse responses, with nearest-neighbour
//! lookup and barycentric interpolation on the sphere.

use std::path::Path;

use sphear_core::Direction;

use crate::error::{HrtfError, Result};
use crate::resample::{ClipResampler, delay_into, rates_equal};
use crate::sofa::{CoordType, SofaFile, coord_type, read_bytes, rows3, spherical_deg_to_cartesian};

/// Which ear (SOFA receiver after ear-order checking).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ear {
    /// Left ear (+y side of the head). Index 0.
    Left,
    /// Right ear (−y side of the head). Index 1.
    Right,
}

impl Ear {
    /// Both ears, left first.
    pub const BOTH: [Ear; 2] = [Ear::Left, Ear::Right];

    /// 0 for left, 1 for right.
    pub fn index(self) -> usize {
        match self {
            Ear::Left => 0,
            Ear::Right => 1,
        }
    }
}

/// Angle (rad) under which a query direction is treated as *equal* to a measured direction, so
/// that interpolation returns the measured IR bit-exactly.
pub const EXACT_MATCH_TOL_RAD: f64 = 1e-9;

/// Number of nearest measured directions searched for a spherical triangle containing the query.
pub const TRIANGLE_SEARCH_NEIGHBOURS: usize = 12;

/// Barycentric weights down to −this are accepted as "inside" (rounding on triangle edges).
pub const BARYCENTRIC_EPS: f64 = 1e-10;

/// Triangles whose vertex determinant `|a·(b×c)|` is below this are degenerate (coplanar with the
/// origin, e.g. three points on one great circle) and skipped.
pub const MIN_TRIANGLE_DET: f64 = 1e-9;

/// Ear-order decision: mean signed interaural level difference (dB) that the data must show
/// before it overrides `ReceiverPosition`. Real HRTFs show 10–20 dB for lateral sources.
pub const EAR_ORDER_MIN_ILD_DB: f64 = 3.0;

/// Sources with `|y| >` this (unit vector, listener frame) count as lateral for the ear-order check.
pub const LATERAL_MIN_Y: f64 = 0.5;

/// A set of binaural head-related impulse responses (HRIRs) on measured directions.
///
/// Directions are in the listener frame (+x front, +y left, +z up). IRs are `f32`, all of length
/// [`ir_len`](Self::ir_len), at [`sample_rate_hz`](Self::sample_rate_hz). Index 0 of the SOFA
/// receivers is mapped to [`Ear::Left`] only after checking which receiver is louder for
/// sources on the left (see [`HrtfSet::from_sofa`]).
#[derive(Debug, Clone)]
pub struct HrtfSet {
    name: String,
    description: String,
    sample_rate_hz: f64,
    directions: Vec<Direction>,
    unit: Vec<[f64; 3]>,
    distances_m: Vec<f64>,
    ir_len: usize,
    /// Planar: measurement-major, `M × ir_len`.
    left: Vec<f32>,
    right: Vec<f32>,
}

/// An [`HrtfSet`] read from a file, with the notes describing what was done to it.
#[derive(Debug, Clone)]
pub struct LoadedHrtf {
    /// The set.
    pub set: HrtfSet,
    /// Human-readable lines for the user (printed by the CLI on stderr), e.g.
    /// "resampled from 44100 Hz to 48000 Hz (rubato sinc, …)". Never printed by the library.
    pub notes: Vec<String>,
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

fn angle(a: [f64; 3], b: [f64; 3]) -> f64 {
    norm(cross(a, b)).atan2(dot(a, b))
}

/// Ear order decided from the data: mean over lateral sources of
/// `sign(y) · 10·log10(E₀/E₁)` (dB), where `E_r` is the IR energy of receiver `r`.
/// Positive: receiver 0 is the left ear. `None` when there is no lateral source.
pub(crate) fn ear_order_score_db(
    unit: &[[f64; 3]],
    r0: &[f32],
    r1: &[f32],
    n: usize,
) -> Option<f64> {
    let mut sum = 0.0;
    let mut count = 0usize;
    for (i, u) in unit.iter().enumerate() {
        if u[1].abs() <= LATERAL_MIN_Y {
            continue;
        }
        let e = |x: &[f32]| {
            x[i * n..(i + 1) * n]
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
        };
        let (e0, e1) = (e(r0), e(r1));
        if e0 <= 0.0 || e1 <= 0.0 {
            continue;
        }
        sum += u[1].signum() * 10.0 * (e0 / e1).log10();
        count += 1;
    }
    (count > 0).then(|| sum / count as f64)
}

/// Outcome of the ear-order decision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EarOrder {
    /// True when receiver 0 is the left ear.
    pub(crate) receiver0_is_left: bool,
    /// Notes for the user.
    pub(crate) notes: Vec<String>,
}

/// Decides which receiver is the left ear: the data (interaural level difference) first, then
/// `ReceiverPosition` (+y = left), then the SOFA default (receiver 0 = left).
pub(crate) fn decide_ear_order(
    score_db: Option<f64>,
    receiver_y_m: Option<(f64, f64)>,
) -> EarOrder {
    let pos_says = receiver_y_m.and_then(|(y0, y1)| (y0 != y1).then_some(y0 > y1));
    let mut notes = Vec::new();
    let receiver0_is_left = match score_db {
        Some(s) if s.abs() >= EAR_ORDER_MIN_ILD_DB => {
            let data_says = s > 0.0;
            if let (Some(p), Some((y0, _))) = (pos_says, receiver_y_m)
                && p != data_says
            {
                notes.push(format!(
                    "ReceiverPosition puts receiver 0 at y = {y0:+.4} m ({}), but the data show receiver 0 \
                     is the {} ear (mean ILD {s:+.1} dB towards receiver 0 for sources on the left); \
                     followed the data (a known sign error in files made with SOFA 0.x templates)",
                    if y0 > 0.0 { "left" } else { "right" },
                    if data_says { "left" } else { "right" },
                ));
            }
            data_says
        }
        _ => match pos_says {
            Some(p) => {
                notes.push(format!(
                    "ear order taken from ReceiverPosition (receiver 0 is the {} ear); the data did not \
                     show a clear interaural level difference ({})",
                    if p { "left" } else { "right" },
                    score_db.map_or("no lateral sources".to_string(), |s| format!("{s:+.1} dB")),
                ));
                p
            }
            None => {
                notes.push(
                    "could not verify the ear order (no clear ILD, receivers at the same y); assumed the SOFA \
                     default: receiver 0 = left"
                        .into(),
                );
                true
            }
        },
    };
    if !receiver0_is_left {
        notes.push(
            "receiver 0 is the right ear in this file: swapped receivers so that index 0 = left"
                .into(),
        );
    }
    EarOrder {
        receiver0_is_left,
        notes,
    }
}

/// Listener frame (view, left, up) from ListenerView / ListenerUp rows.
fn listener_frame(view: [f64; 3], up: [f64; 3]) -> Result<[[f64; 3]; 3]> {
    let nv = norm(view);
    if !(nv.is_finite() && nv > 0.0) {
        return Err(HrtfError::InvalidData {
            reason: format!("ListenerView {view:?} is not a direction"),
        });
    }
    let v = [view[0] / nv, view[1] / nv, view[2] / nv];
    let p = dot(up, v);
    let u0 = [up[0] - p * v[0], up[1] - p * v[1], up[2] - p * v[2]];
    let nu = norm(u0);
    if !(nu.is_finite() && nu > 1e-6) {
        return Err(HrtfError::InvalidData {
            reason: format!("ListenerUp {up:?} is zero or parallel to ListenerView {view:?}"),
        });
    }
    let u = [u0[0] / nu, u0[1] / nu, u0[2] / nu];
    let l = cross(u, v);
    Ok([v, l, u])
}

fn row<T: Copy>(rows: &[T], i: usize) -> T {
    rows[i.min(rows.len() - 1)]
}

fn check_rows(name: &str, n_rows: usize, m: usize) -> Result<()> {
    if n_rows == 1 || n_rows == m {
        Ok(())
    } else {
        Err(HrtfError::InvalidDimensions {
            what: name.into(),
            expected: format!("1 or M = {m} rows"),
            found: format!("{n_rows} rows"),
        })
    }
}

/// Optional position-like variable as cartesian rows (spherical converted), or `default`.
fn vector_rows(
    file: &SofaFile<'_>,
    name: &str,
    default: [f64; 3],
    notes: &mut Vec<String>,
) -> Result<Vec<[f64; 3]>> {
    match file.var(name)? {
        None => Ok(vec![default]),
        Some(var) => {
            let (ty, note) = coord_type(&var, name, &file.path)?;
            // ListenerUp/ListenerView without Type are common and harmless; only note for positions.
            if let Some(n) = note
                && name.ends_with("Position")
            {
                notes.push(n);
            }
            let rows = rows3(&var, name)?;
            Ok(match ty {
                CoordType::Cartesian => rows,
                CoordType::Spherical => rows.into_iter().map(spherical_deg_to_cartesian).collect(),
            })
        }
    }
}

impl HrtfSet {
    /// Reads a SOFA `SimpleFreeFieldHRIR` file (netCDF-4/HDF5) and optionally resamples it.
    ///
    /// Steps, each either an error or a note in [`LoadedHrtf::notes`]:
    /// 1. HDF5 parse (`sofar::hdf`), global attribute `Conventions` = "SOFA".
    /// 2. `SOFAConventions` must be `SimpleFreeFieldHRIR` ([`HrtfError::UnsupportedConvention`]
    ///    names the one found) and `DataType` = `FIR`.
    /// 3. `Data.IR` must be `M × R × N` with `R = 2`; values finite and not all zero.
    /// 4. `Data.SamplingRate`: one value (or M equal values), Hz.
    /// 5. `SourcePosition` (spherical `degree, degree, metre` or cartesian metres) minus
    ///    `ListenerPosition`, rotated into the listener frame given by `ListenerView`/`ListenerUp`
    ///    (defaults +x/+z). SOFA azimuth is already counter-clockwise and elevation up, so with the
    ///    default frame the stored angles are used unchanged.
    /// 6. Ear order: the receiver that is louder for sources on the left (mean broadband ILD
    ///    ≥ [`EAR_ORDER_MIN_ILD_DB`]) is the left ear; `ReceiverPosition` (+y = left) is only used
    ///    when the data are inconclusive, and a disagreement is reported. Several SOFA 0.x-era
    ///    files (e.g. the CIPIC and TH Köln KU100 conversions) store `ReceiverPosition` with the
    ///    wrong sign although receiver 0 is the left ear; trusting it would swap the ears.
    /// 7. Nonzero `Data.Delay` (samples, `1 × R` or `M × R`, ≥ 0) is applied by prepending zeros
    ///    (fractional parts by band-limited interpolation); all IRs get the same new length.
    /// 8. If `target_rate_hz` differs from the file's rate, every IR is resampled with
    ///    [`resample_ir`](crate::resample_ir) (band-limited, gain and delay preserved), length
    ///    `ceil(N · target / rate)`.
    ///
    /// The set's [`name`](Self::name) is the file stem.
    ///
    /// # Errors
    /// [`HrtfError::Io`], [`HrtfError::Parse`], [`HrtfError::UnsupportedConvention`],
    /// [`HrtfError::UnsupportedDataType`], [`HrtfError::InvalidDimensions`],
    /// [`HrtfError::InvalidData`], [`HrtfError::Unsupported`], [`HrtfError::Resample`],
    /// [`HrtfError::InvalidArgument`] (non-positive target rate).
    pub fn from_sofa(path: &Path, target_rate_hz: Option<f64>) -> Result<LoadedHrtf> {
        if let Some(t) = target_rate_hz
            && !(t.is_finite() && t > 0.0)
        {
            return Err(HrtfError::InvalidArgument {
                reason: format!("target sampling rate must be positive and finite, found {t} Hz"),
            });
        }
        let bytes = read_bytes(path)?;
        let file = SofaFile::parse(path, &bytes)?;
        let mut notes = Vec::new();

        let conv = file.attr("SOFAConventions");
        let data_type = file.attr("DataType");
        if conv != "SimpleFreeFieldHRIR" {
            return Err(HrtfError::UnsupportedConvention {
                found: if conv.is_empty() {
                    "(missing SOFAConventions attribute)".into()
                } else {
                    conv
                },
                data_type,
            });
        }
        if data_type != "FIR" {
            return Err(HrtfError::UnsupportedDataType { found: data_type });
        }

        // --- Data.IR -------------------------------------------------------------------------
        let ir = file.required_var("Data.IR")?;
        if ir.dims.len() != 3 || ir.dims[1] != 2 || ir.dims[0] == 0 || ir.dims[2] == 0 {
            return Err(HrtfError::InvalidDimensions {
                what: "Data.IR".into(),
                expected: "M × R × N with R = 2 receivers (binaural), M ≥ 1, N ≥ 1".into(),
                found: format!("{:?}", ir.dims),
            });
        }
        let (m, n) = (ir.dims[0], ir.dims[2]);
        if let Some(pos) = ir.values.iter().position(|v| !v.is_finite()) {
            let bad = ir.values.iter().filter(|v| !v.is_finite()).count();
            return Err(HrtfError::InvalidData {
                reason: format!(
                    "Data.IR contains {bad} NaN/Inf values (first at measurement {}, receiver {}, tap {})",
                    pos / (2 * n),
                    (pos / n) % 2,
                    pos % n
                ),
            });
        }
        if ir.values.iter().all(|&v| v == 0.0) {
            return Err(HrtfError::InvalidData {
                reason: "Data.IR is all zeros".into(),
            });
        }
        let mut r0 = vec![0.0f32; m * n];
        let mut r1 = vec![0.0f32; m * n];
        for i in 0..m {
            for k in 0..n {
                r0[i * n + k] = ir.values[(i * 2) * n + k] as f32;
                r1[i * n + k] = ir.values[(i * 2 + 1) * n + k] as f32;
            }
        }
        let silent = (0..m)
            .filter(|&i| {
                r0[i * n..(i + 1) * n]
                    .iter()
                    .chain(&r1[i * n..(i + 1) * n])
                    .all(|&v| v == 0.0)
            })
            .count();
        if silent > 0 {
            notes.push(format!(
                "{silent} of {m} measurements have all-zero IRs at both ears"
            ));
        }

        // --- sampling rate -------------------------------------------------------------------
        let sr = file.required_var("Data.SamplingRate")?;
        check_rows("Data.SamplingRate", sr.values.len(), m)?;
        let fs = sr.values[0];
        if sr.values.iter().any(|&v| v != fs) {
            return Err(HrtfError::Unsupported {
                what: "Data.SamplingRate differs between measurements".into(),
            });
        }
        if !(fs.is_finite() && fs > 0.0) {
            return Err(HrtfError::InvalidData {
                reason: format!("Data.SamplingRate is {fs}"),
            });
        }
        if let Some(u) = sr.attrs.get("Units")
            && !u.is_empty()
            && !u.eq_ignore_ascii_case("hertz")
            && !u.eq_ignore_ascii_case("hz")
        {
            return Err(HrtfError::Unsupported {
                what: format!("Data.SamplingRate Units '{u}' (expected 'hertz')"),
            });
        }

        // --- positions -------------------------------------------------------------------------
        let sp = file.required_var("SourcePosition")?;
        let (sp_type, sp_note) = coord_type(&sp, "SourcePosition", path)?;
        notes.extend(sp_note);
        let sp_rows = rows3(&sp, "SourcePosition")?;
        if sp_rows.len() != m {
            return Err(HrtfError::InvalidDimensions {
                what: "SourcePosition".into(),
                expected: format!("M = {m} rows (one per Data.IR measurement)"),
                found: format!("{} rows", sp_rows.len()),
            });
        }
        if sp_rows.iter().flatten().any(|v| !v.is_finite()) {
            return Err(HrtfError::InvalidData {
                reason: "SourcePosition contains NaN/Inf".into(),
            });
        }
        let lp = vector_rows(&file, "ListenerPosition", [0.0; 3], &mut notes)?;
        let lv = vector_rows(&file, "ListenerView", [1.0, 0.0, 0.0], &mut notes)?;
        let lu = vector_rows(&file, "ListenerUp", [0.0, 0.0, 1.0], &mut notes)?;
        check_rows("ListenerPosition", lp.len(), m)?;
        check_rows("ListenerView", lv.len(), m)?;
        check_rows("ListenerUp", lu.len(), m)?;
        let frames: Vec<[[f64; 3]; 3]> = lv
            .iter()
            .zip(lu.iter().cycle())
            .map(|(&v, &u)| listener_frame(v, u))
            .collect::<Result<_>>()?;
        let frames = if lu.len() > lv.len() {
            lu.iter()
                .map(|&u| listener_frame(lv[0], u))
                .collect::<Result<Vec<_>>>()?
        } else {
            frames
        };
        const FRAME_TOL: f64 = 1e-9;
        let identity = frames.iter().all(|f| {
            (f[0][0] - 1.0).abs() < FRAME_TOL
                && f[0][1].abs() < FRAME_TOL
                && f[0][2].abs() < FRAME_TOL
                && (f[2][2] - 1.0).abs() < FRAME_TOL
        });
        let listener_at_origin = lp.iter().all(|p| p.iter().all(|&c| c == 0.0));
        if !identity {
            notes.push("ListenerView/ListenerUp are not +x/+z: rotated source directions into the listener frame".into());
        }
        if !listener_at_origin {
            notes.push("ListenerPosition is not the origin: source directions taken relative to the listener".into());
        }
        let mut directions = Vec::with_capacity(m);
        let mut distances_m = Vec::with_capacity(m);
        for (i, &p) in sp_rows.iter().enumerate() {
            if identity && listener_at_origin && sp_type == CoordType::Spherical {
                directions.push(Direction::from_deg(p[0], p[1]));
                distances_m.push(p[2]);
                continue;
            }
            let c = match sp_type {
                CoordType::Cartesian => p,
                CoordType::Spherical => spherical_deg_to_cartesian(p),
            };
            let l = row(&lp, i);
            let rel = [c[0] - l[0], c[1] - l[1], c[2] - l[2]];
            let f = row(&frames, i);
            let local = [dot(rel, f[0]), dot(rel, f[1]), dot(rel, f[2])];
            let r = norm(local);
            if r == 0.0 {
                return Err(HrtfError::InvalidData {
                    reason: format!("SourcePosition {i} coincides with the listener: no direction"),
                });
            }
            directions.push(Direction::from_cartesian(local));
            distances_m.push(r);
        }
        let unit: Vec<[f64; 3]> = directions.iter().map(Direction::to_cartesian).collect();

        // --- ear order ---------------------------------------------------------------------------
        let receiver_y = match file.var("ReceiverPosition")? {
            Some(rp) => {
                let (ty, _) = coord_type(&rp, "ReceiverPosition", path)?;
                let rows = rows3(&rp, "ReceiverPosition")?;
                let ys: Vec<f64> = rows
                    .iter()
                    .map(|&p| match ty {
                        CoordType::Cartesian => p[1],
                        CoordType::Spherical => spherical_deg_to_cartesian(p)[1],
                    })
                    .collect();
                (ys.len() == 2).then(|| (ys[0], ys[1]))
            }
            None => None,
        };
        let order = decide_ear_order(ear_order_score_db(&unit, &r0, &r1, n), receiver_y);
        notes.extend(order.notes);
        let (mut left, mut right) = if order.receiver0_is_left {
            (r0, r1)
        } else {
            (r1, r0)
        };

        // --- Data.Delay --------------------------------------------------------------------------
        let mut ir_len = n;
        if let Some(d) = file.var("Data.Delay")? {
            let (rows, cols) = match d.dims.as_slice() {
                [a, b] => (*a, *b),
                [a] => (1, *a),
                other => {
                    return Err(HrtfError::InvalidDimensions {
                        what: "Data.Delay".into(),
                        expected: "1 × R or M × R".into(),
                        found: format!("{other:?}"),
                    });
                }
            };
            if cols != 2 || !(rows == 1 || rows == m) {
                return Err(HrtfError::InvalidDimensions {
                    what: "Data.Delay".into(),
                    expected: format!("1 × 2 or {m} × 2"),
                    found: format!("{:?}", d.dims),
                });
            }
            if d.values.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(HrtfError::InvalidData {
                    reason: "Data.Delay has negative or non-finite values".into(),
                });
            }
            let max_d = d.values.iter().copied().fold(0.0, f64::max);
            if max_d > 0.0 {
                let new_len = n + max_d.ceil() as usize;
                let fractional = d.values.iter().any(|v| v.fract() != 0.0);
                let (c_left, c_right) = if order.receiver0_is_left {
                    (0, 1)
                } else {
                    (1, 0)
                };
                let mut nl = vec![0.0f32; m * new_len];
                let mut nr = vec![0.0f32; m * new_len];
                for i in 0..m {
                    let ri = i.min(rows - 1);
                    let dl = d.values[ri * 2 + c_left];
                    let dr = d.values[ri * 2 + c_right];
                    nl[i * new_len..(i + 1) * new_len].copy_from_slice(&delay_into(
                        &left[i * n..(i + 1) * n],
                        dl,
                        new_len,
                    ));
                    nr[i * new_len..(i + 1) * new_len].copy_from_slice(&delay_into(
                        &right[i * n..(i + 1) * n],
                        dr,
                        new_len,
                    ));
                }
                left = nl;
                right = nr;
                ir_len = new_len;
                notes.push(format!(
                    "applied Data.Delay (up to {max_d} samples) by prepending zeros{}; IR length {n} -> {new_len} taps",
                    if fractional { ", fractional parts by band-limited interpolation" } else { "" }
                ));
            }
        }

        // --- resampling --------------------------------------------------------------------------
        let mut rate = fs;
        if let Some(target) = target_rate_hz
            && !rates_equal(fs, target)
        {
            let (l2, r2, len2, method) = resample_planar(&left, &right, m, ir_len, fs, target)?;
            notes.push(format!(
                "resampled from {fs} Hz to {target} Hz ({method}; band-limited, gain and delay preserved); IR length {ir_len} -> {len2} taps"
            ));
            left = l2;
            right = r2;
            ir_len = len2;
            rate = target;
        }

        let name = path
            .file_stem()
            .map_or_else(|| "sofa".to_string(), |s| s.to_string_lossy().into_owned());
        let mut parts = vec![format!(
            "SOFA {} {} ({})",
            file.attr("SOFAConventions"),
            file.attr("SOFAConventionsVersion"),
            path.display()
        )];
        for (label, key) in [
            ("title", "Title"),
            ("database", "DatabaseName"),
            ("listener", "ListenerShortName"),
        ] {
            let v = file.attr(key);
            if !v.is_empty() {
                parts.push(format!("{label} '{v}'"));
            }
        }
        parts.push(format!("{m} directions, {ir_len} taps at {rate} Hz"));
        if !rates_equal(rate, fs) {
            parts.push(format!("resampled from {fs} Hz"));
        }
        let description = format!("{name}: {}", parts.join(", "));
        let set = HrtfSet {
            name,
            description,
            sample_rate_hz: rate,
            directions,
            unit,
            distances_m,
            ir_len,
            left,
            right,
        };
        Ok(LoadedHrtf { set, notes })
    }

    /// Builds a set from parts (synthetic or embedded HRTF models).
    ///
    /// `irs_left[i]` / `irs_right[i]` are the impulse responses for `directions[i]` (listener
    /// frame); all must have the same nonzero length and finite values. Distances are unknown
    /// (`NaN`).
    ///
    /// # Errors
    /// [`HrtfError::InvalidArgument`] for a non-positive rate, an empty set, mismatched counts or
    /// lengths, non-finite directions or samples.
    pub fn from_parts(
        name: impl Into<String>,
        sample_rate_hz: f64,
        directions: Vec<Direction>,
        irs_left: Vec<Vec<f32>>,
        irs_right: Vec<Vec<f32>>,
    ) -> Result<HrtfSet> {
        let name = name.into();
        let bad = |reason: String| Err(HrtfError::InvalidArgument { reason });
        if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
            return bad(format!(
                "sampling rate must be positive and finite, found {sample_rate_hz} Hz"
            ));
        }
        let m = directions.len();
        if m == 0 {
            return bad("an HRTF set needs at least one direction".into());
        }
        if irs_left.len() != m || irs_right.len() != m {
            return bad(format!(
                "{m} directions but {} left and {} right IRs",
                irs_left.len(),
                irs_right.len()
            ));
        }
        let n = irs_left[0].len();
        if n == 0 {
            return bad("IRs must have at least one tap".into());
        }
        for (i, (l, r)) in irs_left.iter().zip(&irs_right).enumerate() {
            if l.len() != n || r.len() != n {
                return bad(format!(
                    "IR {i} has {} / {} taps, expected {n}",
                    l.len(),
                    r.len()
                ));
            }
            if l.iter().chain(r).any(|v| !v.is_finite()) {
                return bad(format!("IR {i} contains NaN/Inf"));
            }
        }
        if let Some(i) = directions
            .iter()
            .position(|d| !(d.azimuth_rad.is_finite() && d.elevation_rad.is_finite()))
        {
            return bad(format!("direction {i} is not finite"));
        }
        let unit = directions.iter().map(Direction::to_cartesian).collect();
        let description =
            format!("{name}: built in memory, {m} directions, {n} taps at {sample_rate_hz} Hz");
        Ok(HrtfSet {
            name,
            description,
            sample_rate_hz,
            directions,
            unit,
            distances_m: vec![f64::NAN; m],
            ir_len: n,
            left: irs_left.concat(),
            right: irs_right.concat(),
        })
    }

    /// A copy resampled to `target_rate_hz` (see [`resample_ir`](crate::resample_ir)); a plain
    /// clone when the rate is already `target_rate_hz`.
    ///
    /// # Errors
    /// [`HrtfError::Resample`] for an invalid rate.
    pub fn resampled(&self, target_rate_hz: f64) -> Result<HrtfSet> {
        if rates_equal(self.sample_rate_hz, target_rate_hz) {
            return Ok(self.clone());
        }
        let (left, right, ir_len, _) = resample_planar(
            &self.left,
            &self.right,
            self.len(),
            self.ir_len,
            self.sample_rate_hz,
            target_rate_hz,
        )?;
        Ok(HrtfSet {
            description: format!(
                "{} (resampled from {} Hz to {target_rate_hz} Hz)",
                self.description, self.sample_rate_hz
            ),
            sample_rate_hz: target_rate_hz,
            ir_len,
            left,
            right,
            ..self.clone()
        })
    }

    /// Sampling rate of the IRs (Hz).
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Measured directions (listener frame), one per IR pair.
    pub fn directions(&self) -> &[Direction] {
        &self.directions
    }

    /// Source distance of each measurement (m); `NaN` when unknown.
    pub fn distances_m(&self) -> &[f64] {
        &self.distances_m
    }

    /// Number of directions M.
    pub fn len(&self) -> usize {
        self.directions.len()
    }

    /// True when the set has no directions (never for a constructed set).
    pub fn is_empty(&self) -> bool {
        self.directions.is_empty()
    }

    /// Taps per IR.
    pub fn ir_len(&self) -> usize {
        self.ir_len
    }

    /// The IR of direction `index` for `ear`.
    ///
    /// # Panics
    /// If `index >= self.len()` (a programming error, like slice indexing).
    pub fn ir(&self, index: usize, ear: Ear) -> &[f32] {
        let n = self.ir_len;
        let buf = match ear {
            Ear::Left => &self.left,
            Ear::Right => &self.right,
        };
        &buf[index * n..(index + 1) * n]
    }

    /// Short name: the SOFA file stem, or the name given to [`from_parts`](Self::from_parts).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One line saying what the set is and where it came from (for logs).
    pub fn description(&self) -> String {
        self.description.clone()
    }

    /// Index of the measured direction nearest to `dir` on the great circle (largest dot product
    /// of unit vectors; ties go to the lowest index). Brute force, O(M).
    pub fn nearest(&self, dir: &Direction) -> usize {
        let d = dir.to_cartesian();
        let mut best = 0;
        let mut best_dot = f64::NEG_INFINITY;
        for (i, u) in self.unit.iter().enumerate() {
            let p = dot(*u, d);
            if p > best_dot {
                best_dot = p;
                best = i;
            }
        }
        best
    }

    /// Indices of the `k` nearest measured directions, nearest first.
    fn k_nearest(&self, d: [f64; 3], k: usize) -> Vec<usize> {
        let mut idx: Vec<(f64, usize)> = self
            .unit
            .iter()
            .enumerate()
            .map(|(i, u)| (-dot(*u, d), i))
            .collect();
        let k = k.min(idx.len());
        if k < idx.len() {
            idx.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            idx.truncate(k);
        }
        idx.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        idx.into_iter().map(|(_, i)| i).collect()
    }

    /// Interpolation weights `(index, weight)` for `dir`: non-negative, summing to 1.
    ///
    /// Method (VBAP-style barycentric interpolation on the sphere):
    /// 1. If `dir` is within [`EXACT_MATCH_TOL_RAD`] of a measured direction: that one, weight 1.
    /// 2. Among the [`TRIANGLE_SEARCH_NEIGHBOURS`] nearest measured directions, every triangle
    ///    `(a, b, c)` with `|a·(b×c)| ≥` [`MIN_TRIANGLE_DET`] is solved for `g` in
    ///    `g_a a + g_b b + g_c c = d` (Cramer's rule). Triangles with all `g ≥ −`[`BARYCENTRIC_EPS`]
    ///    contain `d`; the one with the smallest perimeter (sum of great-circle edge lengths) is
    ///    used, with weights `max(g, 0) / Σ max(g, 0)`.
    /// 3. If none contains `d` (e.g. below the lowest measured elevation), inverse-angle weights
    ///    `w_i ∝ 1/θ_i` of the 3 nearest directions.
    /// 4. Sets with fewer than 3 directions: the nearest, weight 1.
    ///
    /// # References
    /// V. Pulkki, "Virtual sound source positioning using vector base amplitude panning",
    /// J. Audio Eng. Soc. 45(6), 1997 (gains on a loudspeaker triplet; here normalised to sum 1).
    pub fn interpolation_weights(&self, dir: &Direction) -> Vec<(usize, f64)> {
        let d = dir.to_cartesian();
        let m = self.len();
        let near = self.k_nearest(d, TRIANGLE_SEARCH_NEIGHBOURS);
        let Some(&first) = near.first() else {
            return Vec::new();
        };
        if m < 3
            || !d.iter().all(|v| v.is_finite())
            || angle(self.unit[first], d) <= EXACT_MATCH_TOL_RAD
        {
            return vec![(first, 1.0)];
        }
        let det3 = |a: [f64; 3], b: [f64; 3], c: [f64; 3]| dot(a, cross(b, c));
        let mut best: Option<(f64, [usize; 3], [f64; 3])> = None;
        for x in 0..near.len() {
            for y in x + 1..near.len() {
                for z in y + 1..near.len() {
                    let (ia, ib, ic) = (near[x], near[y], near[z]);
                    let (a, b, c) = (self.unit[ia], self.unit[ib], self.unit[ic]);
                    let det = det3(a, b, c);
                    if det.abs() < MIN_TRIANGLE_DET {
                        continue;
                    }
                    let g = [
                        det3(d, b, c) / det,
                        det3(a, d, c) / det,
                        det3(a, b, d) / det,
                    ];
                    if g.iter().any(|&v| v < -BARYCENTRIC_EPS) {
                        continue;
                    }
                    let perimeter = angle(a, b) + angle(b, c) + angle(a, c);
                    if best.as_ref().is_none_or(|(p, _, _)| perimeter < *p) {
                        best = Some((perimeter, [ia, ib, ic], g));
                    }
                }
            }
        }
        if let Some((_, idx, g)) = best {
            let g = g.map(|v| v.max(0.0));
            let s: f64 = g.iter().sum();
            if s > 0.0 {
                return idx.iter().zip(g).map(|(&i, v)| (i, v / s)).collect();
            }
        }
        let three: Vec<usize> = near.iter().copied().take(3).collect();
        let inv: Vec<f64> = three
            .iter()
            .map(|&i| 1.0 / angle(self.unit[i], d))
            .collect();
        let s: f64 = inv.iter().sum();
        three
            .into_iter()
            .zip(inv)
            .map(|(i, w)| (i, w / s))
            .collect()
    }

    /// Interpolated `[left, right]` IRs for `dir`: the weighted sum
    /// `Σ w_i · ir_i` with the weights of [`interpolation_weights`](Self::interpolation_weights)
    /// (barycentric on the enclosing measured triangle; exact at measured directions).
    ///
    /// Linear interpolation of time-domain IRs does not align onsets, so between directions
    /// that differ in delay it comb-filters slightly; with measurement grids of ≤ 5° spacing the
    /// error is small. Time-align (e.g. onset-removed IRs) beforehand if that matters.
    pub fn interpolate(&self, dir: &Direction) -> [Vec<f32>; 2] {
        let n = self.ir_len;
        let mut out = [vec![0.0f64; n], vec![0.0f64; n]];
        let w = self.interpolation_weights(dir);
        if let [(i, wt)] = w.as_slice()
            && *wt == 1.0
        {
            return [
                self.ir(*i, Ear::Left).to_vec(),
                self.ir(*i, Ear::Right).to_vec(),
            ];
        }
        for (i, wt) in w {
            for (ear, acc) in Ear::BOTH.iter().zip(out.iter_mut()) {
                for (o, &x) in acc.iter_mut().zip(self.ir(i, *ear)) {
                    *o += wt * f64::from(x);
                }
            }
        }
        out.map(|v| v.into_iter().map(|x| x as f32).collect())
    }
}

/// Resamples planar `m × n` left/right buffers; returns the new buffers, length and method.
fn resample_planar(
    left: &[f32],
    right: &[f32],
    m: usize,
    n: usize,
    from_hz: f64,
    to_hz: f64,
) -> Result<(Vec<f32>, Vec<f32>, usize, &'static str)> {
    let mut rs = ClipResampler::new(from_hz, to_hz)?;
    let len2 = rs.output_len(n);
    let g = from_hz / to_hz;
    let mut l2 = vec![0.0f32; m * len2];
    let mut r2 = vec![0.0f32; m * len2];
    for (src, dst) in [(left, &mut l2), (right, &mut r2)] {
        for i in 0..m {
            let y = rs.process(&src[i * n..(i + 1) * n])?;
            for (o, v) in dst[i * len2..(i + 1) * len2].iter_mut().zip(y) {
                *o = (v * g) as f32;
            }
        }
    }
    Ok((l2, r2, len2, rs.method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ear_order_follows_data_over_receiver_position() {
        // Data say receiver 0 = left (+12 dB), positions say receiver 0 at −y.
        let o = decide_ear_order(Some(12.0), Some((-0.09, 0.09)));
        assert!(o.receiver0_is_left);
        assert!(
            o.notes.iter().any(|n| n.contains("ReceiverPosition")),
            "{:?}",
            o.notes
        );
        // Data say swapped.
        let o = decide_ear_order(Some(-12.0), Some((0.09, -0.09)));
        assert!(!o.receiver0_is_left);
        assert!(o.notes.iter().any(|n| n.contains("swapped")));
        // Data inconclusive: positions decide.
        let o = decide_ear_order(Some(0.5), Some((-0.09, 0.09)));
        assert!(!o.receiver0_is_left);
        // Nothing known: SOFA default.
        let o = decide_ear_order(None, None);
        assert!(o.receiver0_is_left);
        assert_eq!(o.notes.len(), 1);
        // Consistent file: no notes.
        let o = decide_ear_order(Some(15.0), Some((0.09, -0.09)));
        assert!(o.receiver0_is_left && o.notes.is_empty());
    }

    #[test]
    fn ear_order_score_sign() {
        // One source on the left (+y), one on the right; receiver 0 louder for the left one.
        let unit = [[0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]];
        let r0 = [1.0f32, 0.1, 0.5];
        let r1 = [0.1f32, 1.0, 0.5];
        let s = ear_order_score_db(&unit, &r0, &r1, 1).expect("lateral sources");
        // 0.1 is not exact in f32: 20·log10(1/0.1f32) differs from 20 by ~1.3e-7 dB.
        assert!((s - 20.0).abs() < 1e-6, "{s}");
        assert!(ear_order_score_db(&unit[2..], &r0[2..], &r1[2..], 1).is_none());
    }

    #[test]
    fn listener_frame_rotation() {
        // Listener looking left (+y): a source at +y is straight ahead.
        let f = listener_frame([0.0, 2.0, 0.0], [0.0, 0.0, 1.0]).expect("valid frame");
        let src = [0.0, 1.0, 0.0];
        let local = [dot(src, f[0]), dot(src, f[1]), dot(src, f[2])];
        assert!((local[0] - 1.0).abs() < 1e-12 && local[1].abs() < 1e-12);
        // A source at −x (behind the world front) is then on the listener's left.
        let src = [-1.0, 0.0, 0.0];
        let local = [dot(src, f[0]), dot(src, f[1]), dot(src, f[2])];
        assert!((local[1] - 1.0).abs() < 1e-12, "{local:?}");
        assert!(listener_frame([1.0, 0.0, 0.0], [2.0, 0.0, 0.0]).is_err());
    }
}
