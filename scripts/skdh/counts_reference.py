#!/usr/bin/env python3
"""ActiGraph counts of real recordings from ActiGraph's own `agcounts` 0.2.6, as JSON references
for biomarkers/tests/counts_reference.rs.

agcounts (GPL-3.0) is used only to produce reference numbers; install it beside the SKDH venv,
without touching it (it needs only numpy and scipy, which that venv has):

    .tools/skdh-venv/bin/python -m pip install --no-deps --target .tools/agcounts agcounts==0.2.6
    PYTHONPATH=.tools/agcounts .tools/skdh-venv/bin/python scripts/skdh/counts_reference.py

Inputs (all in ../shared/data, read by the Rust test from the same bytes):
* pygt3x/neo.csv: ActiLife's raw export of a 30 Hz ActiGraph recording (10 min);
* pygt3x/WRIST_rawCalibrated_032Hz.csv: ActiLife's raw export at 32 Hz (agcounts' 256 Hz path);
* skdh/examples/example_data.cwa: Axivity, 100 Hz, 3.4 h, read with SKDH's ReadCwa (ActiLife's
  up/down-sampling path with its low-pass filter).
Written to biomarkers/tests/reference/agcounts.json: per input, the rate, epoch length and the
counts per epoch and axis (x, y, z as the file's columns).
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import agcounts
from agcounts.extract import get_counts

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "biomarkers" / "tests" / "reference" / "agcounts.json"


def actilife_csv(path):
    # 10 preamble lines, then the column header
    return np.loadtxt(path, delimiter=",", skiprows=11)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    from skdh.io import ReadCwa

    out = {"agcounts_version": getattr(agcounts, "__version__", "0.2.6"), "inputs": {}}
    cases = [
        ("pygt3x/neo.csv", 30, 10),
        ("pygt3x/WRIST_rawCalibrated_032Hz.csv", 32, 10),
        ("skdh/examples/example_data.cwa", 100, 60),
    ]
    for rel, fs, epoch in cases:
        path = DATA / rel
        if rel.endswith(".cwa"):
            accel = ReadCwa().predict(file=str(path))["accel"]
        else:
            accel = actilife_csv(path)
        counts = get_counts(np.asarray(accel, dtype=float), freq=fs, epoch=epoch)
        out["inputs"][rel] = {
            "sha256": sha256(path),
            "fs": fs,
            "epoch_seconds": epoch,
            "n_samples": int(accel.shape[0]),
            "counts": counts.T.astype(int).tolist(),
        }
        print(rel, counts.shape, counts.sum(axis=0))
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
