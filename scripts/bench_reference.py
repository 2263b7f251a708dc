#!/usr/bin/env python3
"""Reference for `sphear bench --python-reference`: the 32 -> 2 FIR matrix with scipy.

Usage: bench_reference.py INPUT.npy FIRS.npy OURS.npy DELAY_SAMPLES

INPUT.npy  float32 (32, T): capsule signals.
FIRS.npy   float32 (2, 32, L): decoder FIRs [ear][capsule][tap].
OURS.npy   float32 (2, T): sphear's output, latency (DELAY_SAMPLES) removed.

Computes y_ear = sum_c scipy.signal.fftconvolve(x_c, h_ear_c) (one batched fftconvolve over the
capsule axis per ear), timing only the convolution work (not file reading), single-threaded
(thread variables set to 1 before numpy/scipy load; scipy.fft runs with workers=1 by default).
Then aligns the full convolution by DELAY_SAMPLES and compares with OURS.
Prints one JSON object on stdout.

Pinned versions: see scripts/requirements.txt (numpy==2.1.3, scipy==1.14.1).
"""
import json
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.signal  # noqa: E402


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    x = np.load(sys.argv[1])
    h = np.load(sys.argv[2])
    ours = np.load(sys.argv[3])
    delay = int(sys.argv[4])
    n_ears, n_caps, _ = h.shape
    assert x.shape[0] == n_caps, (x.shape, h.shape)
    frames = x.shape[1]

    t0 = time.perf_counter()
    y = [scipy.signal.fftconvolve(x, h[e], axes=-1).sum(axis=0) for e in range(n_ears)]
    seconds = time.perf_counter() - t0

    ref = np.stack([ye[delay:delay + frames] for ye in y]).astype(np.float64)
    diff = np.abs(ref - ours.astype(np.float64))
    print(json.dumps({
        "seconds": seconds,
        "frames": frames,
        "max_abs_diff": float(diff.max()),
        "ref_max_abs": float(np.abs(ref).max()),
        "ref_rms": float(np.sqrt(np.mean(ref ** 2))),
        "dtype": str(y[0].dtype),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "method": "scipy.signal.fftconvolve(x[32,T], h_ear[32,L], axes=-1).sum(0) per ear",
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
