#!/usr/bin/env python3
"""Runs SKDH 0.17.18 on test inputs and writes its outputs as JSON reference files.

Usage (after scripts/skdh/setup.sh):

    .tools/skdh-venv/bin/python scripts/skdh/reference.py scenarios [NAME ...]
    .tools/skdh-venv/bin/python scripts/skdh/reference.py cwa FILE.cwa --name NAME [--tz TZ]
        [--min-wear HOURS] [--chain]

* ``scenarios``: the deterministic synthetic scenarios of ``scenarios.py`` (regenerated bit for bit
  by the Rust tests, so no input is committed).
* ``cwa``: a real or synthetic CWA file read with SKDH's ``ReadCwa`` (the input stays outside the
  repository; the test reads the same file).

Outputs go to ``biomarkers/tests/reference/<name>.json``: the day windows, every wear method's
wear bouts, the sleep and activity result tables (column -> values, NaN written as null), the
sleep indices passed on to activity, and calibration results. Index pairs are [start, stop)
sample indices as SKDH returns them.
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "biomarkers" / "tests" / "reference"
sys.path.insert(0, str(HERE))

import scenarios  # noqa: E402

import skdh  # noqa: E402
from skdh.preprocessing import (  # noqa: E402
    AccelThresholdWearDetection,
    CalibrateAccelerometer,
    CountWearDetection,
    CtaWearDetection,
    DETACH,
    GetDayWindowIndices,
)
from skdh.activity import ActivityLevelClassification  # noqa: E402
from skdh.sleep import Sleep  # noqa: E402


def plain(v):
    """numpy/pandas values -> JSON-able values (NaN -> None)."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if f != f else f
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


def in_pipeline(proc):
    """Makes predict() return (kwargs, results) so that side outputs (e.g. `sleep`) are visible."""
    proc._in_pipeline = True
    return proc


def run_all(time, accel, temperature, fs, tz, activity_kw=None, with_sleep=True):
    out = {"skdh_version": skdh.__version__, "fs": fs, "tz_name": tz}
    day_ends = GetDayWindowIndices(bases=[0, 12], periods=[24, 24]).predict(
        time=time, fs=fs, tz_name=tz
    )["day_ends"]
    out["day_ends"] = {f"{b},{p}": v for (b, p), v in day_ends.items()}

    wear = {}
    methods = {
        "accel_threshold": AccelThresholdWearDetection(),
        "accel_threshold_shipping": AccelThresholdWearDetection(shipping_criteria=[2, 2]),
        "choi": CountWearDetection(),
        "cta": CtaWearDetection(),
        "detach": DETACH(),
    }
    for name, proc in methods.items():
        try:
            res = proc.predict(
                time=time, accel=accel, fs=fs, temperature=temperature, tz_name=tz
            )
            wear[name] = res["wear"]
        except Exception as e:  # recorded: the Rust side must fail the same way
            wear[name] = {"error": f"{type(e).__name__}: {e}"}
    out["wear"] = wear
    w = wear["accel_threshold"]
    w = w if isinstance(w, np.ndarray) else None

    sleep_idx = None
    if with_sleep:
        try:
            kw, res = in_pipeline(Sleep()).predict(
                time=time,
                accel=accel,
                temperature=temperature,
                fs=fs,
                wear=w,
                day_ends=day_ends,
                tz_name=tz,
            )
            sleep_idx = kw["sleep"]
            out["sleep"] = {"nights": res, "sleep_idx": sleep_idx}
        except Exception as e:
            out["sleep"] = {"error": f"{type(e).__name__}: {e}"}

    for label, sl in [("activity", sleep_idx), ("activity_nosleep", None)]:
        if label == "activity" and sl is None:
            continue
        act = ActivityLevelClassification(save_epoch_data=True, **(activity_kw or {}))
        kwargs = dict(time=time, accel=accel, fs=fs, wear=w, day_ends=day_ends, tz_name=tz)
        if sl is not None:
            kwargs["sleep"] = sl
        try:
            res = act.predict(**kwargs)
            ep = act.epoch_data
            n = len(ep["time"])
            pick = list(range(0, n, max(37, n // 250)))
            out[label] = {
                "daily": res,
                "epochs": {
                    "n": n,
                    "metric_sum": float(np.sum(np.asarray(ep["metric"], dtype=float))),
                    "index": pick,
                    "time": [ep["time"][j] for j in pick],
                    "state": [str(ep["state"][j]) for j in pick],
                    "metric": [ep["metric"][j] for j in pick],
                    "intensity": [str(ep["intensity"][j]) for j in pick],
                },
            }
        except Exception as e:
            out[label] = {"error": f"{type(e).__name__}: {e}"}
    return out


def calibration(time, accel, temperature, fs):
    """SKDH calibration with and without temperature, plus the errors before/after."""
    res = {}
    for label, temp in [("with_temperature", temperature), ("without_temperature", None)]:
        c = CalibrateAccelerometer()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = c.predict(time=time, accel=accel, fs=fs, temperature=temp)
        msgs = [str(x.message) for x in caught]
        if "offset" not in r:
            res[label] = {"calibrated": False, "warnings": msgs}
            continue
        acc = r["accel"]
        res[label] = {
            "calibrated": not any("Recalibration not done" in m for m in msgs),
            "warnings": msgs,
            "offset": r["offset"],
            "scale": r["scale"],
            "temperature_scale": np.asarray(r["temperature scale"]).ravel(),
            "accel_checksum": {
                "index": [0, acc.shape[0] // 2, acc.shape[0] - 1],
                "values": [acc[0], acc[acc.shape[0] // 2], acc[-1]],
                "column_means": acc.mean(axis=0),
            },
        }
    return res


def fnv1a64(data):
    """FNV-1a 64-bit hash of the input bytes (as a decimal string), checked by the Rust tests."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return str(h)


def write(name, obj):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    with open(path, "w") as f:
        json.dump(plain(obj), f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def cmd_scenarios(names):
    names = names or list(scenarios.SCENARIOS)
    for name in names:
        time, accel, temp, fs = scenarios.generate(name)
        tz = "Europe/London" if name == "days" else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = run_all(time, accel, temp, fs, tz)
        out["input"] = scenarios.fingerprint(time, accel, temp)
        if name == "calib":
            out["calibration"] = calibration(time, accel, temp, fs)
        write(f"scenario_{name}", out)


def cmd_cwa(path, name, tz, min_wear, chain):
    from skdh.io import ReadCwa

    data = ReadCwa().predict(file=str(path))
    time, accel, fs = data["time"], data["accel"], data["fs"]
    temp = data.get("temperature")
    cal = None
    if chain:
        # as in an SKDH Pipeline: the calibrated acceleration goes to every later step
        c = CalibrateAccelerometer()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = c.predict(time=time, accel=accel, fs=fs, temperature=temp)
        msgs = [str(x.message) for x in caught]
        cal = {"calibrated": "offset" in r and not any("Recalibration not done" in m for m in msgs),
               "warnings": msgs}
        if "offset" in r:
            cal.update(offset=r["offset"], scale=r["scale"],
                       temperature_scale=np.asarray(r["temperature scale"]).ravel())
            accel = r["accel"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = run_all(time, accel, temp, fs, tz, activity_kw={"min_wear_time": min_wear})
    if cal is not None:
        out["calibration"] = cal
    out["input"] = {
        "file": Path(path).name,
        "fnv1a64": fnv1a64(Path(path).read_bytes()),
        "n": int(time.size),
        "time_first_last": [time[0], time[-1]],
        "accel_first": accel[0],
        "temperature_first": None if temp is None else temp[0],
    }
    write(name, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scenarios")
    s.add_argument("names", nargs="*")
    c = sub.add_parser("cwa")
    c.add_argument("file")
    c.add_argument("--name", required=True)
    c.add_argument("--tz", default=None)
    c.add_argument("--min-wear", type=int, default=10, help="activity min_wear_time [h]")
    c.add_argument("--chain", action="store_true", help="calibrate first, pass the result on")
    a = ap.parse_args()
    if a.cmd == "scenarios":
        cmd_scenarios(a.names)
    else:
        cmd_cwa(a.file, a.name, a.tz, a.min_wear, a.chain)


if __name__ == "__main__":
    main()
