#!/usr/bin/env python3
"""Reference values for sphear_core::special and sphear_sh::modal tests.

Writes (small JSON, committed):
  crates/sphear-core/tests/fixtures/special_scipy.json   scipy.special + mpmath spherical Bessel / Legendre values
  crates/sphear-core/tests/fixtures/modal_mpmath.json    rigid-sphere mode strengths b_n(ka) in 50-digit arithmetic

Pinned versions (scripts/requirements.txt): scipy==1.14.1, numpy==2.1.3, mpmath==1.3.0, Python 3.11.
Run from the repository root:  python3 scripts/make_special_fixtures.py
Non-finite values (overflow of y_n for tiny x) are written as null.
"""
import json
import math
import os

import mpmath as mp
import numpy as np
import scipy
from scipy import special as sp

mp.mp.dps = 60
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "sphear-core", "tests", "fixtures")

XS = [1e-8, 1e-4, 1e-2, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 35.0, 50.0, 100.0]
N_MAX = 40
# Orders up to 100 (mpmath only): Miller start and n >> x behaviour.
XS_HIGH = [1e-3, 0.5, 3.0, 10.0, 50.0, 99.5, 101.5, 150.0]
N_HIGH = 100
LEG_XS = [-1.0, -0.9, -0.5, -0.1, 0.0, 0.3, 0.7, 0.99, 1.0]
KA = [1e-6, 1e-3, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 18.47, 30.0, 60.0]
N_MODAL = 60


def fin(v):
    v = float(v)
    return v if math.isfinite(v) else None


def mp_j(n, x):
    x = mp.mpf(x)
    return mp.sqrt(mp.pi / (2 * x)) * mp.besselj(n + mp.mpf(1) / 2, x)


def mp_y(n, x):
    x = mp.mpf(x)
    return mp.sqrt(mp.pi / (2 * x)) * mp.bessely(n + mp.mpf(1) / 2, x)


def mp_all(n_max, x):
    """j, y, j', y' for n = 0..n_max in high precision (derivatives by DLMF 10.51.2, exact here)."""
    xm = mp.mpf(x)
    j = [mp_j(n, x) for n in range(n_max + 2)]
    y = [mp_y(n, x) for n in range(n_max + 2)]
    jp = [n / xm * j[n] - j[n + 1] for n in range(n_max + 1)]
    yp = [n / xm * y[n] - y[n + 1] for n in range(n_max + 1)]
    return j[: n_max + 1], y[: n_max + 1], jp, yp


def main():
    ns = np.arange(N_MAX + 1)
    rows = []
    for x in XS:
        j, y, jp, yp = mp_all(N_MAX, x)
        rows.append({
            "x": x,
            "scipy_jn": [fin(v) for v in sp.spherical_jn(ns, x)],
            "scipy_yn": [fin(v) for v in sp.spherical_yn(ns, x)],
            "scipy_jnp": [fin(v) for v in sp.spherical_jn(ns, x, derivative=True)],
            "scipy_ynp": [fin(v) for v in sp.spherical_yn(ns, x, derivative=True)],
            "mp_jn": [fin(v) for v in j],
            "mp_yn": [fin(v) for v in y],
            "mp_jnp": [fin(v) for v in jp],
            "mp_ynp": [fin(v) for v in yp],
        })
    high = [{"x": x, "mp_jn": [fin(mp_j(n, x)) for n in range(N_HIGH + 1)]} for x in XS_HIGH]
    leg = [{
        "x": x,
        "scipy": [fin(v) for v in sp.eval_legendre(ns, x)],
        "mp": [fin(mp.legendre(n, mp.mpf(x))) for n in range(N_MAX + 1)],
    } for x in LEG_XS]
    meta = {"generator": "scripts/make_special_fixtures.py", "scipy": scipy.__version__,
            "numpy": np.__version__, "mpmath": mp.__version__, "mp_dps": mp.mp.dps}
    with open(os.path.join(OUT, "special_scipy.json"), "w") as f:
        json.dump({"meta": meta, "n_max": N_MAX, "bessel": rows, "n_high": N_HIGH,
                   "bessel_high": high, "legendre": leg}, f, indent=None, separators=(",", ":"))
        f.write("\n")

    # Rigid sphere: b_n = i^n [j_n - j_n' h2_n / h2_n'] (direct form, 60 digits), h2 = j - i y.
    modal = []
    for ka in KA:
        j, y, jp, yp = mp_all(N_MODAL, ka)
        re, im = [], []
        for n in range(N_MODAL + 1):
            h2 = mp.mpc(j[n], -y[n])
            h2p = mp.mpc(jp[n], -yp[n])
            b = (mp.mpc(0, 1) ** n) * (j[n] - jp[n] * h2 / h2p)
            re.append(fin(b.real))
            im.append(fin(b.imag))
        modal.append({"ka": ka, "re": re, "im": im})
    with open(os.path.join(OUT, "modal_mpmath.json"), "w") as f:
        json.dump({"meta": meta, "n_max": N_MODAL, "rigid": modal}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
