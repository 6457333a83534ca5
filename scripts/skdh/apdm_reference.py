#!/usr/bin/env python3
"""Reads an APDM Opal HDF5 file with SKDH 0.17.18's ``ReadApdmH5`` and writes a small JSON
summary that ``biomarkers/tests/apdm.rs`` compares our reader against.

Usage (after scripts/skdh/setup.sh):

    .tools/skdh-venv/bin/python scripts/skdh/apdm_reference.py \
        ../shared/data/skdh/io/apdm_sample.h5 [--out biomarkers/tests/reference/apdm_sample.json]

For each sensor label read (``Lumbar`` and ``Left Wrist``) the JSON holds, per channel, the
number of samples, the first and last three samples, three samples at fixed positions inside the
recording, and the mean. SKDH's own units are kept, so the test converts ours back or SKDH's
forward as it needs:

* ``time``: unix seconds, UTC (``localize_timestamps=False``); ``time_localized_first`` is the
  first time with SKDH's default localisation (the file's ``Timezone Offset`` added).
* ``accel``: g, computed by SKDH as m/s^2 / 9.81 (its default ``gravity_acceleration``).
* ``gyro``: rad/s, as stored in the file (SKDH does not convert it; ours is deg/s).
* ``temperature``: deg C.

The input file stays outside the repository; the output is a few KB.

With ``--seeds DIR`` it also writes the fuzz seeds of the ``apdm`` target (``fuzz/corpus/apdm``):
two synthetic one-sensor APDM-shaped files of 2-3 KB written by h5py in the HDF5 1.10 format
(one gzip-chunked, one contiguous with every channel), and the first 4 KB of the input file (the
real file's version-0 superblock and root group, cut short).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import skdh
from skdh.io import ReadApdmH5

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_OUT = ROOT / "biomarkers" / "tests" / "reference" / "apdm_sample.json"
LABELS = ["Lumbar", "Left Wrist"]
GRAVITY = 9.81


def summary(a):
    """First/last three samples, three inner samples and the mean of a 1-D or (n, 3) array."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0]
    inner = [n // 4, n // 2, (3 * n) // 4]
    return {
        "len": int(n),
        "first": a[:3].tolist(),
        "last": a[-3:].tolist(),
        "inner_index": inner,
        "inner": a[inner].tolist(),
        "mean": a.mean(axis=0).tolist(),
    }


def read(path, label, localize):
    reader = ReadApdmH5(label, localize_timestamps=localize, gravity_acceleration=GRAVITY)
    return reader.predict(file=str(path))


def write_seeds(out_dir):
    """Fuzz seeds: small APDM-shaped files written by h5py, and a truncated copy of one of them."""
    import h5py

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, chunked in [("opal_gzip.h5", True), ("opal_all_channels.h5", False)]:
        with h5py.File(out_dir / name, "w", libver=("v110", "v112")) as f:
            s = f.create_group("Sensors/XI-000001")
            c = s.create_group("Configuration")
            c.attrs["Label 0"] = np.bytes_(b"Lumbar")
            c.attrs["Sample Rate"] = np.uint32(128)
            c.attrs["Timezone Offset"] = np.bytes_(b"-4.00")
            n = 16
            time = (1620998200595000 + np.arange(n) * 7812).astype("<u8")
            kw = dict(chunks=(8,), compression="gzip") if chunked else {}
            s.create_dataset("Time", data=time, **kw).attrs["Units"] = np.bytes_(b"microseconds")
            kw = dict(chunks=(8, 1), compression="gzip") if chunked else {}
            acc = np.linspace(-9.8, 9.8, n * 3).reshape(n, 3)
            s.create_dataset("Accelerometer", data=acc, **kw).attrs["Units"] = np.bytes_(b"m/s^2")
            if not chunked:
                gyro = np.linspace(-1, 1, n * 3).reshape(n, 3)
                s.create_dataset("Gyroscope", data=gyro).attrs["Units"] = np.bytes_(b"rad/s")
                s.create_dataset("Temperature", data=np.full(n, 30.5))
    # A truncated seed cut from our own synthetic file (never from ../shared/data).
    full = (out_dir / "opal_all_channels.h5").read_bytes()
    (out_dir / "truncated_opal_all_channels_1k.h5").write_bytes(full[:1024])
    for p in sorted(out_dir.iterdir()):
        print(f"seed {p} ({p.stat().st_size} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seeds", type=Path, help="also write the apdm fuzz seeds into this folder")
    args = ap.parse_args()
    if args.seeds is not None:
        write_seeds(args.seeds)

    out = {
        "skdh_version": skdh.__version__,
        "source": args.file.name,
        "gravity": GRAVITY,
        "sensors": {},
    }
    for label in LABELS:
        res = read(args.file, label, localize=False)
        local = read(args.file, label, localize=True)
        out["sensors"][label] = {
            "time": summary(res["time"]),
            "time_localized_first": float(local["time"][0]),
            "accel": summary(res["accel"]),
            "gyro": summary(res["gyro"]),
            "temperature": summary(res["temperature"]),
        }
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
