#!/usr/bin/env python3
"""Reference values of real orthonormal SH (ACN, no Condon-Shortley phase) from scipy.

Writes crates/sphear-sh/tests/data/sh_scipy_reference.json, read by tests/sh_reference.rs.

scipy.special.sph_harm_y(n, m, theta, phi) is the complex orthonormal harmonic WITH the
Condon-Shortley phase (theta = colatitude, phi = azimuth). The real harmonics without it are
    m > 0: sqrt(2) (-1)^m Re Y_n^m,   m = 0: Y_n^0,   m < 0: sqrt(2) (-1)^|m| Im Y_n^|m|.

Pinned versions: numpy==2.4.6 scipy==1.17.1 (python 3.11).
    /tmp/venv/bin/python gen_sh_reference.py > ../tests/data/sh_scipy_reference.json
"""
import json

import numpy as np
import scipy
from scipy.special import sph_harm_y

ORDER = 40
# (azimuth_deg, elevation_deg): generic, near the north pole, low southern elevation.
DIRECTIONS_DEG = [(37.0, 21.0), (-151.3, 88.9), (101.7, -63.2)]


def real_sh_orthonormal(order, az, el):
    theta = np.pi / 2 - el
    out = []
    for n in range(order + 1):
        for m in range(-n, n + 1):
            y = sph_harm_y(n, abs(m), theta, az)
            if m > 0:
                out.append(np.sqrt(2) * (-1) ** m * y.real)
            elif m == 0:
                out.append(y.real)
            else:
                out.append(np.sqrt(2) * (-1) ** abs(m) * y.imag)
    return [float(v) for v in out]


cases = []
for az_deg, el_deg in DIRECTIONS_DEG:
    cases.append({
        "azimuth_deg": az_deg,
        "elevation_deg": el_deg,
        "order": ORDER,
        "values": real_sh_orthonormal(ORDER, np.radians(az_deg), np.radians(el_deg)),
    })
json.dump({"generator": f"scipy {scipy.__version__}, numpy {np.__version__}", "cases": cases},
          __import__("sys").stdout, indent=None)
