#!/usr/bin/env python3
"""SKDH 0.17.18 FillGaps on real recordings with gaps, as a JSON reference for
biomarkers/tests/fill_gaps_reference.rs.

The inputs are ActiGraph idle-sleep-mode files (SKDH has no .gt3x reader), decoded by our reader
without filling the sleep periods and exported sample for sample:

    SKDH_REF_DIR=/tmp/skdhref cargo test -p biomarkers --test fill_gaps_reference -- --ignored
    .tools/skdh-venv/bin/python scripts/skdh/gaps_reference.py /tmp/skdhref

Writes biomarkers/tests/reference/fill_gaps_skdh.json: per file, hashes of the input and of
SKDH's filled time and acceleration (bit-exact, position-sensitive: sum of the float64 bits
times (2 i + 1) modulo 2^64), with SKDH's default fill values and with custom ones.
"""

import json
import sys
from pathlib import Path

import numpy as np
import skdh
from skdh.preprocessing import FillGaps

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "biomarkers" / "tests" / "reference" / "fill_gaps_skdh.json"
CUSTOM = {"accel": [0.25, -0.5, 0.75], "temperature": 20.5}


def bits_hash(v):
    bits = np.ascontiguousarray(v, dtype="<f8").view(np.uint64)
    weights = 2 * np.arange(bits.size, dtype=np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        return str(int(np.sum(bits * weights, dtype=np.uint64)))


def filled(time, accel, fs, fill_values):
    res = FillGaps(fill_values=fill_values).predict(time=time, accel=accel, fs=fs)
    t, a = res["time"], res["accel"]
    return {
        "n_out": int(t.size),
        "time_hash": bits_hash(t),
        "x_hash": bits_hash(a[:, 0]),
        "y_hash": bits_hash(a[:, 1]),
        "z_hash": bits_hash(a[:, 2]),
    }


def main(ref_dir):
    out = {"skdh_version": skdh.__version__, "inputs": {}}
    for meta_path in sorted(Path(ref_dir).glob("*.json")):
        meta = json.loads(meta_path.read_text())
        raw = np.fromfile(meta_path.with_suffix(".f64"), dtype="<f8").reshape(-1, 4)
        time = np.ascontiguousarray(raw[:, 0])
        accel = np.ascontiguousarray(raw[:, 1:])
        fs = meta["fs"]
        entry = {
            "fs": fs,
            "n_in": int(time.size),
            "n_gaps": int(np.sum(np.diff(time) > 1.5 / fs)),
            "input_time_hash": bits_hash(time),
            "input_x_hash": bits_hash(accel[:, 0]),
        }
        entry.update(filled(time, accel, fs, None))
        entry["custom"] = {"fill_values": CUSTOM, **filled(time, accel, fs, dict(CUSTOM))}
        out["inputs"][meta["file"]] = entry
        print(meta["file"], entry["n_in"], "->", entry["n_out"], "gaps:", entry["n_gaps"])
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
