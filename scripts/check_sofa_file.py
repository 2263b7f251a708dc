#!/usr/bin/env python3
"""Independent check of a SOFA SimpleFreeFieldHRIR 1.0 file with netCDF4 and h5py.

Usage: python3 scripts/check_sofa_file.py FILE.sofa [FILE2.sofa ...]

Opens every file twice -- with netCDF4 (netCDF-C on HDF5) and with h5py (HDF5 directly) -- and
checks the parts of AES69-2022 / SimpleFreeFieldHRIR 1.0 that a renderer relies on:

* global attributes: the mandatory ones exist, Conventions = SOFA, SOFAConventions =
  SimpleFreeFieldHRIR, SOFAConventionsVersion = 1.0, DataType = FIR, RoomType = free field,
  DateCreated / DateModified formatted "YYYY-MM-DD hh:mm:ss";
* dimensions: I = 1, C = 3, R = 2, E = 1, M >= 1, N >= 1, seen by netCDF as named dimensions
  (i.e. the HDF5 dimension scales resolve), and each variable's dimension names are the
  convention's (ListenerPosition I,C or M,C; ReceiverPosition R,C,I or R,C,M; SourcePosition M,C
  or I,C; EmitterPosition E,C,I or E,C,M; ListenerUp/ListenerView I,C or M,C; Data.IR M,R,N;
  Data.SamplingRate I or M; Data.Delay I,R or M,R);
* Type/Units attributes of the position variables (SourcePosition spherical in
  "degree, degree, metre" or cartesian in "metre"), Data.SamplingRate Units "hertz";
* values: finite, Data.SamplingRate > 0, Data.Delay >= 0, source distances > 0, ListenerView
  and ListenerUp nonzero;
* h5py and netCDF4 read identical Data.IR, SourcePosition, Data.Delay and sampling rate, and
  h5py's DIMENSION_LIST references dereference to the dimension datasets netCDF names.

Prints "OK <file>: M=.. N=.. fs=.. Hz ..." per file, or the problems found, and exits 1 if any
file fails. Requirements: scripts/requirements.txt (h5py, netCDF4, numpy).
"""

import re
import sys

import h5py
import netCDF4
import numpy as np

MANDATORY_GLOBALS = [
    "Conventions", "Version", "SOFAConventions", "SOFAConventionsVersion", "APIName",
    "APIVersion", "DataType", "RoomType", "Title", "DateCreated", "DateModified",
    "AuthorContact", "Organization", "License", "DatabaseName", "ListenerShortName",
]
FIXED_GLOBALS = {
    "Conventions": "SOFA",
    "SOFAConventions": "SimpleFreeFieldHRIR",
    "SOFAConventionsVersion": "1.0",
    "DataType": "FIR",
    "RoomType": "free field",
}
# variable -> allowed dimension tuples
VARIABLE_DIMS = {
    "ListenerPosition": [("I", "C"), ("M", "C")],
    "ReceiverPosition": [("R", "C", "I"), ("R", "C", "M")],
    "SourcePosition": [("M", "C"), ("I", "C")],
    "EmitterPosition": [("E", "C", "I"), ("E", "C", "M")],
    "ListenerUp": [("I", "C"), ("M", "C")],
    "ListenerView": [("I", "C"), ("M", "C")],
    "Data.IR": [("M", "R", "N")],
    "Data.SamplingRate": [("I",), ("M",)],
    "Data.Delay": [("I", "R"), ("M", "R")],
}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def check_netcdf(path, problems):
    """Checks with netCDF4; returns the arrays it read."""
    ds = netCDF4.Dataset(path, "r")
    try:
        attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
        for k in MANDATORY_GLOBALS:
            if k not in attrs:
                problems.append(f"netCDF: missing global attribute {k}")
        for k, v in FIXED_GLOBALS.items():
            if attrs.get(k) != v:
                problems.append(f"netCDF: global {k} = {attrs.get(k)!r}, expected {v!r}")
        for k in ("DateCreated", "DateModified"):
            if k in attrs and not DATE_RE.match(str(attrs[k])):
                problems.append(f"netCDF: {k} = {attrs[k]!r} is not 'YYYY-MM-DD hh:mm:ss'")
        dims = {name: len(d) for name, d in ds.dimensions.items()}
        for name, want in (("I", 1), ("C", 3), ("R", 2), ("E", 1)):
            if dims.get(name) != want:
                problems.append(f"netCDF: dimension {name} = {dims.get(name)}, expected {want}")
        for name in ("M", "N"):
            if dims.get(name, 0) < 1:
                problems.append(f"netCDF: dimension {name} = {dims.get(name)}, expected >= 1")
        phony = [d for d in dims if d.startswith("phony_dim")]
        if phony:
            problems.append(f"netCDF: unnamed (phony) dimensions {phony}: dimension scales not resolved")
        for var, allowed in VARIABLE_DIMS.items():
            if var not in ds.variables:
                problems.append(f"netCDF: missing variable {var}")
                continue
            got = ds.variables[var].dimensions
            if tuple(got) not in allowed:
                problems.append(f"netCDF: {var} has dimensions {got}, expected one of {allowed}")
        v = ds.variables
        checks = [
            ("ListenerPosition", "cartesian", "metre"),
            ("ReceiverPosition", "cartesian", "metre"),
            ("EmitterPosition", "cartesian", "metre"),
            ("ListenerView", "cartesian", "metre"),
        ]
        for var, typ, units in checks:
            if var in v:
                t = getattr(v[var], "Type", None)
                u = getattr(v[var], "Units", None)
                if t != typ or u != units:
                    problems.append(f"netCDF: {var} Type/Units = {t!r}/{u!r}, expected {typ!r}/{units!r}")
        if "SourcePosition" in v:
            t = getattr(v["SourcePosition"], "Type", None)
            u = getattr(v["SourcePosition"], "Units", None)
            if (t, u) not in (("spherical", "degree, degree, metre"), ("cartesian", "metre")):
                problems.append(f"netCDF: SourcePosition Type/Units = {t!r}/{u!r}")
        if "Data.SamplingRate" in v and getattr(v["Data.SamplingRate"], "Units", None) != "hertz":
            problems.append("netCDF: Data.SamplingRate Units is not 'hertz'")
        out = {}
        for var in ("Data.IR", "SourcePosition", "Data.Delay", "Data.SamplingRate",
                    "ListenerView", "ListenerUp", "ReceiverPosition"):
            if var in v:
                out[var] = np.asarray(v[var][:], dtype=np.float64)
        for var, a in out.items():
            if not np.all(np.isfinite(a)):
                problems.append(f"netCDF: {var} has non-finite values")
        if "Data.SamplingRate" in out and not np.all(out["Data.SamplingRate"] > 0):
            problems.append("netCDF: Data.SamplingRate must be > 0")
        if "Data.Delay" in out and not np.all(out["Data.Delay"] >= 0):
            problems.append("netCDF: Data.Delay must be >= 0")
        sp = out.get("SourcePosition")
        if sp is not None and getattr(v["SourcePosition"], "Type", "") == "spherical":
            if not np.all(sp[:, 2] > 0):
                problems.append("netCDF: SourcePosition distances must be > 0")
        for var in ("ListenerView", "ListenerUp"):
            if var in out and np.any(np.all(out[var] == 0, axis=-1)):
                problems.append(f"netCDF: {var} is a zero vector")
        return out, dims, dict(attrs)
    finally:
        ds.close()


def check_h5py(path, nc_arrays, problems):
    """Checks with h5py (HDF5 directly) and compares with what netCDF4 read."""
    with h5py.File(path, "r") as f:
        for var in ("Data.IR", "SourcePosition", "Data.Delay", "Data.SamplingRate"):
            if var not in f:
                problems.append(f"h5py: missing dataset {var}")
                continue
            a = f[var][()]
            if a.dtype != np.float64:
                problems.append(f"h5py: {var} is {a.dtype}, SOFA readers (libmysofa) need float64")
            if var in nc_arrays and not np.array_equal(a, nc_arrays[var]):
                problems.append(f"h5py and netCDF4 disagree on {var}")
        for var, allowed in VARIABLE_DIMS.items():
            if var not in f:
                continue
            dset = f[var]
            if "DIMENSION_LIST" not in dset.attrs:
                problems.append(f"h5py: {var} has no DIMENSION_LIST")
                continue
            names = []
            for ref_list in dset.attrs["DIMENSION_LIST"]:
                target = f[ref_list[0]]
                names.append(target.name.lstrip("/"))
                if target.attrs.get("CLASS") != b"DIMENSION_SCALE":
                    problems.append(f"h5py: {var} references {target.name}, which is not a dimension scale")
            if tuple(names) not in allowed:
                problems.append(f"h5py: {var} DIMENSION_LIST -> {names}, expected one of {allowed}")


def main(paths):
    failed = False
    for path in paths:
        problems = []
        try:
            arrays, dims, attrs = check_netcdf(path, problems)
            check_h5py(path, arrays, problems)
        except Exception as e:  # an unreadable file is a failure, not a crash
            problems.append(f"cannot read: {type(e).__name__}: {e}")
            dims, attrs = {}, {}
        if problems:
            failed = True
            print(f"FAIL {path}")
            for p in problems:
                print(f"  - {p}")
        else:
            fs = float(arrays["Data.SamplingRate"].ravel()[0])
            delay = arrays["Data.Delay"]
            print(
                f"OK {path}: M={dims['M']} N={dims['N']} R={dims['R']} fs={fs:g} Hz, "
                f"Data.Delay {'x'.join(map(str, delay.shape))} (max {delay.max():g} samples), "
                f"SOFA {attrs.get('Version')} {attrs.get('SOFAConventions')} "
                f"{attrs.get('SOFAConventionsVersion')}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
