#!/usr/bin/env python3
"""Independent reference values for the SOFA files under shared/data (used by
crates/sphear-hrtf/tests/sofa_files.rs).

Reads every *.sofa file with h5py (the HDF5 C library, independent of the pure-Rust
`sofar` parser used by sphear) and prints one Rust-literal row per file:

    (relative path, Conventions, SOFAConventions, DataType, M, R, N, fs_hz,
     el_min_deg, el_max_deg, r_min_m, r_max_m, receiver0_y_m, receiver1_y_m,
     any_nonzero_delay, energy_left, energy_right, ir00_peak_index, ir00_peak_value,
     src0 (az_deg, el_deg, r_m), Title)

energy_* = sum of squares of Data.IR over all measurements for receiver 0 / 1.
ir00_* = position and value of the largest |sample| of Data.IR[0, 0, :].

Usage:  python3 -m venv venv && venv/bin/pip install -r scripts/requirements.txt
        venv/bin/python scripts/sofa_reference.py ../shared/data
"""
import os
import sys

import h5py
import numpy as np


def attr(f, name):
    v = f.attrs.get(name)
    if v is None:
        return ""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        v = v.tolist()
        if isinstance(v, list) and v and isinstance(v[0], bytes):
            return b"".join(v).decode("utf-8", "replace")
    return str(v)


def main(root):
    paths = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith(".sofa"):
                paths.append(os.path.join(dirpath, name))
    for path in sorted(paths):
        rel = os.path.relpath(path, root)
        with h5py.File(path, "r") as f:
            ir = np.asarray(f["Data.IR"], dtype=np.float64)
            m, r, n = ir.shape
            fs = float(np.asarray(f["Data.SamplingRate"]).ravel()[0])
            sp = np.asarray(f["SourcePosition"], dtype=np.float64)
            sp_type = attr(f["SourcePosition"], "Type")
            if sp_type == "cartesian":
                x, y, z = sp[:, 0], sp[:, 1], sp[:, 2]
                rad = np.sqrt(x * x + y * y + z * z)
                el = np.degrees(np.arcsin(z / rad))
                az = np.degrees(np.arctan2(y, x))
            else:
                az, el, rad = sp[:, 0], sp[:, 1], sp[:, 2]
            rp = np.asarray(f["ReceiverPosition"], dtype=np.float64).reshape(r, 3, -1)
            delay = np.asarray(f["Data.Delay"], dtype=np.float64)
            energy = (ir ** 2).sum(axis=(0, 2))
            k = int(np.argmax(np.abs(ir[0, 0, :])))
            print(
                f'    ("{rel}", "{attr(f, "Conventions")}", "{attr(f, "SOFAConventions")}", '
                f'"{attr(f, "DataType")}", {m}, {r}, {n}, {fs:.1f}, '
                f"{el.min():.6f}, {el.max():.6f}, {rad.min():.6f}, {rad.max():.6f}, "
                f"{rp[0, 1, 0]:.6f}, {rp[1, 1, 0]:.6f}, {str(bool(np.any(delay != 0))).lower()}, "
                f"{energy[0]:.9e}, {energy[1]:.9e}, {k}, {ir[0, 0, k]:.9e}, "
                f'({az[0]:.6f}, {el[0]:.6f}, {rad[0]:.6f}), "{attr(f, "Title")}"),'
            )
    print(f"# h5py {h5py.__version__}, numpy {np.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
