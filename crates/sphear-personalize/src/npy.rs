//! Minimal reader for NumPy `.npy` files (format 1.0/2.0, little-endian `float32`, C order).
//!
//! Reference: NumPy Enhancement Proposal 1, "A simple file format for NumPy arrays".

use std::path::Path;

use crate::error::{PersonalizeError, Result, io_err};

/// A dense `f32` array read from an `.npy` file: `data` in C (row-major) order with `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyF32 {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values, C order.
    pub data: Vec<f32>,
}

/// Reads a little-endian `<f4` C-order `.npy` file.
///
/// # Errors
/// I/O errors, a bad magic string, another dtype, Fortran order or a size mismatch.
pub fn read_npy_f32(path: &Path) -> Result<NpyF32> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    parse_npy_f32(&bytes).map_err(|e| PersonalizeError::Data(format!("{}: {e}", path.display())))
}

/// Parses `.npy` bytes (see [`read_npy_f32`]).
///
/// # Errors
/// As [`read_npy_f32`], as a message.
pub fn parse_npy_f32(bytes: &[u8]) -> std::result::Result<NpyF32, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not an npy file".into());
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(format!("unsupported npy version {major}")),
    };
    let header = bytes.get(start..start + hlen).ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}'"))?;
        let rest = &header[i + key.len() + 2..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr").ok_or("no descr")?;
    if !descr.starts_with("'<f4'") {
        return Err(format!("dtype must be '<f4', header: {header}"));
    }
    let fortran = field("fortran_order").ok_or("no fortran_order")?;
    if !fortran.starts_with("False") {
        return Err("Fortran order is not supported".into());
    }
    let shape_txt = field("shape").ok_or("no shape")?;
    let close = shape_txt.find(')').ok_or("bad shape")?;
    let shape: Vec<usize> = shape_txt[1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape entry {s:?}"))
        })
        .collect::<std::result::Result<_, _>>()?;
    let n: usize = shape.iter().product();
    let body = &bytes[start + hlen..];
    if body.len() != 4 * n {
        return Err(format!(
            "expected {} data bytes, found {}",
            4 * n,
            body.len()
        ));
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(NpyF32 { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(shape: &str, vals: &[f32]) -> Vec<u8> {
        let mut h = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        for v in vals {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    #[test]
    fn parses_2d_and_rejects_wrong_size() {
        let a = parse_npy_f32(&make("(2, 3)", &[1., 2., 3., 4., 5., 6.])).expect("parse");
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data[5], 6.0);
        assert!(parse_npy_f32(&make("(2, 2)", &[1., 2., 3.])).is_err());
        let one = parse_npy_f32(&make("(3,)", &[1., 2., 3.])).expect("parse");
        assert_eq!(one.shape, vec![3]);
    }
}
