#!/usr/bin/env python3
"""Runs SKDH 0.17.18 on test inputs and writes its outputs as JSON reference files.

Usage (after scripts/skdh/setup.sh):

    .tools/skdh-venv/bin/python scripts/skdh/reference.py scenarios [NAME ...]
    .tools/skdh-venv/bin/python scripts/skdh/reference.py cwa FILE.cwa --name NAME [--tz TZ]
        [--min-wear HOURS] [--chain]
    .tools/skdh-venv/bin/python scripts/skdh/reference.py variants [SCENARIO]
    .tools/skdh-venv/bin/python scripts/skdh/reference.py accuracy FILE.cwa OUT.json

* ``scenarios``: the deterministic synthetic scenarios of ``scenarios.py`` (regenerated bit for bit
  by the Rust tests, so no input is committed).
* ``cwa``: a real or synthetic CWA file read with SKDH's ``ReadCwa`` (the input stays outside the
  repository; the test reads the same file).
* ``variants``: ``ActivityLevelClassification`` on one scenario (default ``rate50``) with every
  built-in cut-point set, custom cut-points on every metric, bout metrics 1-3 and other
  parameters, plus ``StaudenmayerClassification``; wear and sleep windows come from that
  scenario's reference file, so only the activity step varies. Written to
  ``variants_<scenario>.json`` (daily tables and a sample of epochs per variant).

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
from skdh.activity import ActivityLevelClassification, StaudenmayerClassification  # noqa: E402
from skdh.activity import metrics as skdh_metrics  # noqa: E402
from skdh.activity.cutpoints import _base_cutpoints  # noqa: E402
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


def epoch_sample(ep, k=24):
    """Count, sum and an evenly spaced sample of SKDH's per-epoch data (keeps the file small)."""
    n = len(ep["time"])
    pick = list(range(0, n, max(1, n // k)))
    return {
        "n": n,
        "metric_sum": float(np.nansum(np.asarray(ep["metric"], dtype=float))),
        "index": pick,
        "time": [ep["time"][j] for j in pick],
        "state": [str(ep["state"][j]) for j in pick],
        "metric": [ep["metric"][j] for j in pick],
        "intensity": [str(ep["intensity"][j]) for j in pick],
    }


def custom_cutpoints(accel, fs, metric, kwargs):
    """Cut-points at the 50th, 80th and 95th percentile of the scenario's 5 s epoch values, so
    every level is populated whatever the metric's scale (rounded to 4 decimals)."""
    fn = getattr(skdh_metrics, metric)
    v = np.asarray(fn(accel, wlen=int(5 * fs), fs=fs, **kwargs), dtype=float)
    q = [round(float(np.nanpercentile(v, p)), 4) for p in (50, 80, 95)]
    return {"metric": metric, "kwargs": kwargs, "sedentary": q[0], "light": q[1], "moderate": q[2]}


def memoize_dfa():
    """SKDH's DFA (scipy linregress per box) is ~95 % of an activity run; the variants repeat it
    on identical metric arrays. Cache it by input bytes: the results are SKDH's own, unchanged."""
    from skdh.activity import endpoints as ept_mod

    orig = ept_mod.DFA
    cache = {}

    def dfa(a, **kw):
        arr = np.ascontiguousarray(a, dtype=float)
        key = (arr.tobytes(), repr(sorted(kw.items(), key=lambda t: t[0])))
        if key not in cache:
            cache[key] = orig(a, **kw)
        return cache[key]

    ept_mod.DFA = dfa


def cmd_variants(name):
    memoize_dfa()
    ref = json.loads((OUT / f"scenario_{name}.json").read_text())
    time, accel, temp, fs = scenarios.generate(name)
    tz = ref["tz_name"]
    wear = np.asarray(ref["wear"]["accel_threshold"], dtype=int)
    sleep = np.asarray(ref["sleep"]["sleep_idx"], dtype=int)
    day_ends = GetDayWindowIndices(bases=[0], periods=[24]).predict(time=time, fs=fs, tz_name=tz)[
        "day_ends"
    ]
    base = dict(time=time, accel=accel, fs=fs, wear=wear, day_ends=day_ends, tz_name=tz)
    min_wear = 1  # both days of the scenario get values

    variants = {}
    for cp in _base_cutpoints:
        if cp == "vaha-ypya_hip_adult":
            continue  # no sedentary bound: SKDH raises (deliberately not offered)
        variants[f"cutpoints {cp}"] = {"cutpoints": cp}
    for metric, kw in [
        ("metric_en", {}),
        ("metric_anglez", {}),
        ("metric_mad", {}),
        ("metric_bfen", {"low_cutoff": 0.5, "high_cutoff": 12.0}),
        ("metric_hfen", {}),
        ("metric_hfenplus", {"cutoff": 0.3, "trim_zero": False}),
        ("metric_enmo", {"take_abs": True, "trim_zero": False}),
    ]:
        variants[f"custom {metric}"] = {"cutpoints": custom_cutpoints(accel, fs, metric, kw)}
    for bm in (1, 2, 3):
        variants[f"bout_metric {bm}"] = {"bout_metric": bm}
    variants["bout_metric 1 closed"] = {"bout_metric": 1, "closed_bout": True}
    variants["bout_metric 2 crit 0.6 lens 2,3"] = {
        "bout_metric": 2, "bout_criteria": 0.6, "bout_lens": [2, 3]
    }
    variants["short_wlen 7 max_accel_lens 2,30"] = {"short_wlen": 7, "max_accel_lens": [2, 30]}
    variants["wear_wake_times_round 60"] = {"wear_wake_times_round": 60}

    out = {"skdh_version": skdh.__version__, "scenario": name, "fs": fs, "tz_name": tz,
           "min_wear_time": min_wear, "input": scenarios.fingerprint(time, accel, temp),
           "activity": {}, "staudenmayer": {}}
    for label, kw in variants.items():
        print(label, flush=True)
        # with sleep only: wake and sleep blocks both; the scenario tests cover no-sleep runs
        act = ActivityLevelClassification(save_epoch_data=True, min_wear_time=min_wear, **kw)
        res = act.predict(**base, sleep=sleep)
        out["activity"][f"{label} | sleep"] = {
            "params": {**kw, "min_wear_time": min_wear},
            "cutpoints": act.cutpoints,
            "daily": res,
            "epochs": epoch_sample(act.epoch_data),
        }
    for label, kw in [
        ("arm_axis 0", {"arm_axis": 0}),
        ("arm_axis 2 demean modulus", {"arm_axis": 2, "demean": True, "use_power": False}),
    ]:
        print(label, flush=True)
        for with_sleep in (True, False):
            st = StaudenmayerClassification(min_wear_time=min_wear, **kw)
            args = dict(base, sleep=sleep) if with_sleep else dict(base)
            res = st.predict(**args)
            key = f"{label} | {'sleep' if with_sleep else 'nosleep'}"
            out["staudenmayer"][key] = {"params": {**kw, "min_wear_time": min_wear}, "daily": res}
    write(f"variants_{name}", compact(plain(out)))


VARIANT_BASE = "cutpoints migueles_wrist_adult | sleep"


def compact(out):
    """Keeps the variants file small: endpoint values to 12 significant digits (the tests
    compare to 1e-6), and a daily column equal to the base variant's (SKDH's defaults) is
    stored once: the tests take it from `VARIANT_BASE`."""

    def r12(v):
        if isinstance(v, float):
            return float(f"{v:.12g}")
        if isinstance(v, list):
            return [r12(x) for x in v]
        if isinstance(v, dict):
            return {k: r12(x) for k, x in v.items()}
        return v

    acts = out["activity"]
    for v in acts.values():
        v["daily"] = r12(v["daily"])
        v["epochs"]["metric"] = r12(v["epochs"]["metric"])
    for v in out["staudenmayer"].values():
        v["daily"] = r12(v["daily"])
    base = acts[VARIANT_BASE]["daily"]
    for key, v in acts.items():
        if key == VARIANT_BASE:
            continue
        if list(v["daily"]) != list(base):
            continue  # other column names (epoch length, windows): stored whole
        v["daily"] = {c: vals for c, vals in v["daily"].items() if base[c] != vals}
    out["variant_base"] = VARIANT_BASE
    return out


def cmd_accuracy(path, out_path):
    """SKDH's calibrate -> wear -> sleep -> activity chain on a CWA file, per minute/epoch, for
    `cargo run -p biomarkers --example accuracy -- DAYS SEED FILE.cwa OUT.json` to score beside
    ours against the synthetic truth. Written to OUT.json (outside the repository)."""
    from skdh.io import ReadCwa

    data = ReadCwa().predict(file=str(path))
    time, accel, fs, temp = data["time"], data["accel"], data["fs"], data.get("temperature")
    r = CalibrateAccelerometer().predict(time=time, accel=accel, fs=fs, temperature=temp)
    if "offset" in r:
        accel = r["accel"]
    wear = AccelThresholdWearDetection().predict(time=time, accel=accel, fs=fs)["wear"]
    day_ends = GetDayWindowIndices(bases=[0, 12], periods=[24, 24]).predict(time=time, fs=fs)[
        "day_ends"
    ]
    sl = in_pipeline(Sleep(save_per_minute_results=True))
    kw, _ = sl.predict(
        time=time, accel=accel, temperature=temp, fs=fs, wear=wear, day_ends=day_ends
    )
    aux = sl.sleep_aux
    act = ActivityLevelClassification(save_epoch_data=True)
    act.predict(time=time, accel=accel, fs=fs, wear=wear, day_ends=day_ends, sleep=kw["sleep"])
    ep = act.epoch_data
    out = {
        "skdh_version": skdh.__version__,
        "wear": [[time[a], time[min(b, time.size - 1)]] for a, b in wear],
        "sleep_days": [
            {
                "start": aux["start time"][i].timestamp(),
                "rest": np.asarray(aux["rest predictions"][i]).astype(int),
                "tso": aux["tso indices"][i],
            }
            for i in range(len(aux["start time"]))
        ],
        "epochs": {"time": ep["time"], "state": [str(x) for x in ep["state"]],
                   "intensity": [str(x) for x in ep["intensity"]]},
    }
    with open(out_path, "w") as f:
        json.dump(plain(out), f, separators=(",", ":"))
    print(f"wrote {out_path}")


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
    acc = sub.add_parser("accuracy")
    acc.add_argument("file")
    acc.add_argument("out")
    v = sub.add_parser("variants")
    v.add_argument("scenario", nargs="?", default="rate50")
    a = ap.parse_args()
    if a.cmd == "scenarios":
        cmd_scenarios(a.names)
    elif a.cmd == "accuracy":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmd_accuracy(a.file, a.out)
    elif a.cmd == "variants":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmd_variants(a.scenario)
    else:
        cmd_cwa(a.file, a.name, a.tz, a.min_wear, a.chain)


if __name__ == "__main__":
    main()
