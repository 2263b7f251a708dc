#!/usr/bin/env python3
"""Reference fixtures for crates/sphear-sim/tests/room_pyroomacoustics.rs.

Runs pyroomacoustics' shoebox image-source model (Allen & Berkley lattice, single-band wall
absorption) for a few rooms and writes, per room, a small JSON file with

* the room, per-wall energy absorption alpha (wall order x_min, x_max, y_min, y_max, floor, ceiling;
  PRA names: west, east, south, north, floor, ceiling), source/microphone, fs, c, max_order;
* PRA's total image count and the images whose propagation delay is <= `image_window_s`
  (positions, total order, signed per-axis orders `orders_xyz`, reflection damping = product of
  sqrt(1 - alpha) over the wall hits);
* the first `rir_window_s` of PRA's RIR *after* PRA's global delay of `frac_delay_length // 2`
  = 40 samples (kept in the file: `rir` starts at PRA sample 0, so time 0 is `rir[40]`).

Conventions checked here (asserted, so a PRA upgrade that changes them fails loudly):
* PRA 0.10.1's image-source RIR uses a 1/r amplitude (the order-0 image has damping 1 and the RIR
  is built from `damping / distance`), i.e. the same convention as sphear (1/r relative to 1 m), not
  1/(4 pi r) as some older PRA versions / papers did. `amplitude_scale` (= 1) is written to the file.
* The RIR high-pass filter (`rir_hpf_enable`, a 10 Hz Butterworth applied with sosfiltfilt) is
  disabled so that the RIR is exactly the sum of PRA's 81-tap Hann-windowed-sinc fractional delays.

Usage:  python3 scripts/make_room_fixtures.py  (writes crates/sphear-sim/tests/fixtures/room/*.json)
Pinned versions: see scripts/requirements.txt (pyroomacoustics==0.10.1, numpy==2.1.3).
"""

import json
import os

import numpy as np
import pyroomacoustics as pra

OUT_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "crates", "sphear-sim", "tests", "fixtures", "room"
)
FS = 48000
C = 343.0
RIR_WINDOW_S = 0.05
IMAGE_WINDOW_S = 0.05

ROOMS = [
    dict(
        name="room_6x4x3_order10",
        dims=[6.0, 4.0, 3.0],
        alpha=[0.1, 0.2, 0.3, 0.15, 0.25, 0.35],
        source=[1.5, 1.2, 1.4],
        mic=[4.3, 2.7, 1.6],
        max_order=10,
    ),
    dict(
        name="room_9.1x7.3x3.7_order6",
        dims=[9.1, 7.3, 3.7],
        alpha=[0.05, 0.4, 0.2, 0.2, 0.1, 0.6],
        source=[2.0, 5.5, 1.7],
        mic=[6.8, 1.9, 1.2],
        max_order=6,
    ),
    dict(
        name="room_6x4x3_corner_order3",
        dims=[6.0, 4.0, 3.0],
        alpha=[0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        source=[0.4, 0.3, 2.6],
        mic=[3.1, 2.2, 1.5],
        max_order=3,
    ),
]


def main():
    assert pra.__version__ == "0.10.1", pra.__version__
    pra.constants.set("rir_hpf_enable", False)
    pra.constants.set("c", C)
    fdl = pra.constants.get("frac_delay_length")
    global_delay = fdl // 2
    os.makedirs(OUT_DIR, exist_ok=True)
    for spec in ROOMS:
        a = spec["alpha"]
        mats = pra.make_materials(west=a[0], east=a[1], south=a[2], north=a[3], floor=a[4], ceiling=a[5])
        room = pra.ShoeBox(
            spec["dims"],
            fs=FS,
            materials=mats,
            max_order=spec["max_order"],
            air_absorption=False,
            ray_tracing=False,
            use_rand_ism=False,
        )
        room.add_source(spec["source"])
        room.add_microphone(spec["mic"])
        room.compute_rir()
        src = room.sources[0]
        mic = np.asarray(spec["mic"], dtype=float)
        images = src.images
        dist = np.linalg.norm(images - mic[:, None], axis=0)
        damping = src.damping[0]
        # Convention checks (see the module docstring).
        i0 = int(np.flatnonzero(src.orders == 0)[0])
        assert damping[i0] == 1.0
        assert src.damping.shape[0] == 1  # single band
        keep = np.flatnonzero(dist / C <= IMAGE_WINDOW_S)
        keep = keep[np.argsort(dist[keep], kind="stable")]
        rir = room.rir[0][0]
        n_rir = global_delay + int(round(RIR_WINDOW_S * FS))
        assert len(rir) >= n_rir
        out = dict(
            generator="scripts/make_room_fixtures.py",
            pyroomacoustics_version=pra.__version__,
            numpy_version=np.__version__,
            dims_m=spec["dims"],
            absorption=a,
            source_m=spec["source"],
            mic_m=spec["mic"],
            sample_rate_hz=FS,
            speed_m_s=C,
            max_order=spec["max_order"],
            frac_delay_length=fdl,
            global_delay_samples=global_delay,
            amplitude_scale=1.0,
            n_images_total=int(images.shape[1]),
            image_window_s=IMAGE_WINDOW_S,
            images=[
                dict(
                    position_m=[float(v) for v in images[:, k]],
                    order=int(src.orders[k]),
                    orders_xyz=[int(v) for v in src.orders_xyz[:, k]],
                    damping=float(damping[k]),
                )
                for k in keep
            ],
            rir_window_s=RIR_WINDOW_S,
            rir=[float("%.8g" % v) for v in rir[:n_rir]],
        )
        path = os.path.join(OUT_DIR, spec["name"] + ".json")
        with open(path, "w") as f:
            json.dump(out, f, separators=(",", ":"))
        print(path, os.path.getsize(path), "bytes,", len(keep), "images in window,", images.shape[1], "total")


if __name__ == "__main__":
    main()
