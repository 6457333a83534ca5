#!/usr/bin/env python3
"""SKDH side of `scripts/bench`: one measurement per process, one JSON line on stdout.

    .tools/skdh-venv/bin/python scripts/bench_skdh.py <stage> <file.cwa>

Stages mirror `biomarkers/examples/bench.rs`:

* ``read``: ``skdh.io.ReadCwa().predict(file=...)``;
* ``calibrate``: ``CalibrateAccelerometer`` (with temperature);
* ``wear``: ``AccelThresholdWearDetection``;
* ``sleep``: ``GetDayWindowIndices(12, 24)`` + ``Sleep`` (no wear: worn throughout);
* ``activity``: ``GetDayWindowIndices(0, 24)`` + ``ActivityLevelClassification``;
* ``pipeline``: ``skdh.Pipeline`` of day windows, calibrate, wear, sleep, activity (each step
  passes its outputs on, as our ``Pipeline`` does);
* ``gait_classifier``: ``skdh.context.PredictGaitLumbarLgbm`` (the LightGBM gait bout classifier
  over the whole recording);
* ``gait``: that classifier, then ``GaitLumbar().predict(..., height=1.75, gait_bouts=...)`` on its
  bouts. In SKDH 0.17.18 ``GaitLumbar.predict`` alone does not classify (its default
  ``gait_pred=True`` takes the whole recording as one bout); the classifier is a separate step,
  chained here as SKDH's own gait tests do. No day indices: ``GaitLumbar`` then does not split by
  day, like our ``gait_lumbar``.

The gait stages report ``bouts`` (classifier bouts) and, for ``gait``, ``gait_bouts`` (bouts with
steps) and ``steps`` (rows of the gait result), as ``bench.rs`` does.

Algorithm stages first read the file (``read_wall_s``, outside the measurement), then measure only
the ``predict``/``run`` calls. CPU is ``resource.getrusage(RUSAGE_SELF)`` user+sys, peak RSS
``ru_maxrss`` (the whole process, including the decoded arrays); ``rss_input`` is VmRSS after
reading. SKDH's default parameters throughout; both sides read naive local time.
"""

import json
import os
import resource
import sys
import time as _time
import warnings

HEIGHT_M = 1.75  # subject height of the ``gait`` stage, as in bench.rs


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def vm_rss():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def array_bytes(d):
    import numpy as np

    return int(sum(v.nbytes for v in d.values() if isinstance(v, np.ndarray)))


def measure(stage, path):
    import skdh
    from skdh.io import ReadCwa

    out = {
        "impl": "skdh",
        "skdh_version": skdh.__version__,
        "stage": stage,
        "file": os.path.basename(path),
        "bytes": os.path.getsize(path),
        # interpreter + numpy + skdh imports, before any data: the floor of peak_rss
        "rss_base": vm_rss(),
    }
    if stage == "read":
        c0, w0 = cpu_s(), _time.perf_counter()
        data = ReadCwa().predict(file=str(path))
        out["wall_s"] = _time.perf_counter() - w0
        out["cpu_s"] = cpu_s() - c0
        out["samples"] = int(data["time"].size)
        out["output_bytes"] = array_bytes(data)
        out["peak_rss"] = peak_rss()
        out["status"] = "ok"
        return out

    from skdh import Pipeline
    from skdh.activity import ActivityLevelClassification
    from skdh.preprocessing import (
        AccelThresholdWearDetection,
        CalibrateAccelerometer,
        GetDayWindowIndices,
    )
    from skdh.sleep import Sleep
    from skdh.context import PredictGaitLumbarLgbm
    from skdh.gait import GaitLumbar

    t0 = _time.perf_counter()
    data = ReadCwa().predict(file=str(path))
    out["read_wall_s"] = _time.perf_counter() - t0
    out["samples"] = int(data["time"].size)
    out["output_bytes"] = array_bytes(data)
    out["rss_input"] = vm_rss()
    kw = dict(
        time=data["time"],
        accel=data["accel"],
        fs=data["fs"],
        temperature=data.get("temperature"),
    )

    def run():
        if stage == "calibrate":
            return CalibrateAccelerometer().predict(**kw)
        if stage == "wear":
            return AccelThresholdWearDetection().predict(**kw)
        if stage == "sleep":
            days = GetDayWindowIndices(bases=[12], periods=[24]).predict(
                time=kw["time"], fs=kw["fs"]
            )["day_ends"]
            return Sleep().predict(**kw, wear=None, day_ends=days)
        if stage == "activity":
            days = GetDayWindowIndices(bases=[0], periods=[24]).predict(
                time=kw["time"], fs=kw["fs"]
            )["day_ends"]
            return ActivityLevelClassification().predict(
                time=kw["time"], accel=kw["accel"], fs=kw["fs"], wear=None, day_ends=days
            )
        if stage == "pipeline":
            p = Pipeline()
            p.add(GetDayWindowIndices(bases=[0, 12], periods=[24, 24]))
            p.add(CalibrateAccelerometer())
            p.add(AccelThresholdWearDetection())
            p.add(Sleep())
            p.add(ActivityLevelClassification())
            return p.run(**kw)
        if stage in ("gait_classifier", "gait"):
            import numpy as np

            # the classifier reads only time, accel and fs; outside a Pipeline `predict` returns
            # only its results, from which the (n, 2) bouts its Pipeline would pass on are built
            cres = PredictGaitLumbarLgbm().predict(
                time=kw["time"], accel=kw["accel"], fs=kw["fs"]
            )
            bouts = np.column_stack(
                (cres["Gait Bout Start Index"], cres["Gait Bout Stop Index"])
            )
            out["bouts"] = int(bouts.shape[0])
            if stage == "gait_classifier":
                return cres
            res = GaitLumbar().predict(
                time=kw["time"],
                accel=kw["accel"],
                gyro=data.get("gyro"),
                fs=kw["fs"],
                height=HEIGHT_M,
                gait_bouts=bouts,
            )
            bout_n = res["Bout N"]
            out["gait_bouts"] = int(len(set(bout_n.tolist())))
            out["steps"] = int(bout_n.size)
            return res
        raise ValueError(f"unknown stage '{stage}'")

    c0, w0 = cpu_s(), _time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()
        out["status"] = "ok"
    except Exception as e:  # reported, not hidden: the table shows the failure
        out["status"] = "error"
        out["error"] = f"{type(e).__name__}: {e}"
    out["wall_s"] = _time.perf_counter() - w0
    out["cpu_s"] = cpu_s() - c0
    out["peak_rss"] = peak_rss()
    return out


def main():
    if len(sys.argv) < 2:
        print("usage: bench_skdh.py <stage> <file.cwa>", file=sys.stderr)
        return 2
    stage = sys.argv[1]
    if len(sys.argv) < 3:
        print("usage: bench_skdh.py <stage> <file.cwa>", file=sys.stderr)
        return 2
    try:
        out = measure(stage, sys.argv[2])
    except Exception as e:
        out = {"impl": "skdh", "stage": stage, "status": "error", "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))
    return 0 if out.get("status") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
