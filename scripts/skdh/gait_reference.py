#!/usr/bin/env python3
"""Runs SKDH 0.17.18's gait classifier and lumbar gait on the shared test inputs and writes small
JSON references for the Rust tests (biomarkers/tests/gait_reference.rs, gait_classifier.rs).

Usage (from the repository root, after scripts/skdh/setup.sh):

    nice -n 5 .tools/skdh-venv/bin/python scripts/skdh/gait_reference.py [--check]

Inputs stay in ../shared/data (never copied). Outputs, in biomarkers/tests/reference/:

* ``gait_bouts_input50.json``: the classifier bouts SKDH's own gait test feeds to ``GaitLumbar`` on
  ``skdh/gait/gait_input.npz`` resampled to 50 Hz (as SKDH's tests do).
* ``gait_extra_<case>.json``: for each of SKDH's four gait test cases, the result columns that the
  published ``gait_results*.npz`` do not hold (harmonic ratio, SPARC, bout-level endpoints, debug
  columns...), rounded to 12 significant digits; NaN written as null.
* ``gait_pkmas_skdh.json``: SKDH's initial contacts (walkway clock) on the PKMAS walkway
  recording, with its classifier's bouts and with the whole recording as gait, both methods.
* ``gait_610_skdh.json``: SKDH's classifier bouts and step counts on Open Movement's
  ``example-610-steps.cwa`` (610 steps by its name).
* ``gait_classifier_example.json``: on ``skdh/examples/example_data.cwa``: the classifier's
  probability for every 3 s window, the 18 features of a sample of windows, and the bouts.

``--check`` also asserts that SKDH 0.17.18 reproduces the published ``gait_results*.npz``.
Parameters are those of SKDH's tests/gait/test_core.py (height 1.88 m, height_factor 0.53, ...).
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
DATA = ROOT.parent / "shared" / "data" / "skdh"

import lightgbm as lgb  # noqa: E402
from skdh.context import PredictGaitLumbarLgbm  # noqa: E402
from skdh.context import gait_classification as gc  # noqa: E402
from skdh.features import Bank  # noqa: E402
from skdh.gait.core import GaitLumbar  # noqa: E402
from skdh.io import ReadCwa  # noqa: E402
from skdh.utility.internal import apply_resample  # noqa: E402
from skdh.utility.windowing import get_windowed_view  # noqa: E402
from scipy.signal import butter, sosfiltfilt  # noqa: E402


def r12(v):
    v = float(v)
    if not np.isfinite(v):
        return None
    return float(f"{v:.12g}")


def ap_params():
    return dict(
        downsample=False,
        height_factor=0.53,
        min_bout_time=8.0,
        max_bout_separation_time=0.5,
        gait_event_method="AP CWT",
        correct_orientation=True,
        filter_cutoff=20.0,
        filter_order=4,
        ic_prom_factor=0.1,
        ic_dist_factor=0.0,
        fc_prom_factor=0.1,
        fc_dist_factor=0.0,
        max_stride_time=lambda x: 2.0 * x + 1.0,
        loading_factor=lambda x: 0.17 * x + 0.05,
    )


def v_params(scale_relation, wavelet_scale):
    return dict(
        downsample=True,
        height_factor=0.53,
        min_bout_time=8.0,
        max_bout_separation_time=0.5,
        gait_event_method="v cwt",
        correct_orientation=True,
        filter_cutoff=20.0,
        filter_order=4,
        use_cwt_scale_relation=scale_relation,
        wavelet_scale=wavelet_scale,
        round_scale=True,
        max_stride_time=2.25,
        loading_factor=0.2,
    )


def classify(t, acc, fs):
    cls = PredictGaitLumbarLgbm()
    cls._in_pipeline = True
    kw, res = cls.predict(time=t, accel=acc, fs=fs)
    return kw, res


def dump_extra(name, res, npz_path, check):
    ref = np.load(npz_path)
    if check:
        for key in ref.files:
            assert np.allclose(res[key], ref[key], equal_nan=True), (name, key)
    out = {"rows": int(len(res["Bout N"]))}
    cols = {}
    for key, val in res.items():
        if key in ref.files:
            continue
        arr = np.asarray(val)
        if arr.dtype.kind in "fiub":
            cols[key] = [r12(v) for v in arr.ravel()]
    # the IC sample index relative to the bout start is what the Rust side compares events with
    cols["IC Rel Timestamp"] = [r12(v) for v in np.asarray(res["IC Rel Timestamp"])]
    out["columns"] = cols
    (OUT / f"gait_extra_{name}.json").write_text(json.dumps(out, separators=(",", ":")))


def gait_cases(check):
    d = np.load(DATA / "gait" / "gait_input.npz")
    t50, (a50,) = apply_resample(
        goal_fs=50.0, time=d["time"], data=(d["accel"],), indices=(), aa_filter=True
    )
    kw, _ = classify(t50, a50, 50.0)
    bouts = kw["gait_bouts"]
    (OUT / "gait_bouts_input50.json").write_text(
        json.dumps({"bouts": bouts.astype(int).tolist()})
    )
    res = GaitLumbar(**ap_params()).predict(height=1.88, **kw)
    dump_extra("input_apcwt", res, DATA / "gait" / "gait_results_apcwt.npz", check)
    res = GaitLumbar(**v_params(True, "default")).predict(height=1.88, **kw)
    dump_extra("input_vcwt", res, DATA / "gait" / "gait_results_vcwt.npz", check)

    d2 = np.load(DATA / "gait" / "gait_input2.npz")
    t, a, g = d2["time"], d2["accel"], d2["gyro"]
    res = GaitLumbar(**ap_params()).predict(
        time=t, accel=a, gyro=g, fs=128.0, height=1.88, gait_pred=True
    )
    dump_extra("input2_apcwt", res, DATA / "gait" / "gait_results2_apcwt.npz", check)
    res = GaitLumbar(**v_params(False, 8)).predict(
        time=t, accel=a, gyro=g, fs=128.0, height=1.88, gait_pred=True
    )
    dump_extra("input2_vcwt", res, DATA / "gait" / "gait_results2_vcwt.npz", check)


def classifier_case():
    data = ReadCwa().predict(file=DATA / "examples" / "example_data.cwa")
    t, acc, fs = data["time"], data["accel"], data["fs"]
    kw, res = classify(t, acc, fs)
    # recompute the intermediate features and probabilities exactly as the classifier does
    goal_fs = 50.0 if fs >= 50.0 else 20.0
    time_ds, (acc_ds,), *_ = apply_resample(
        goal_fs=goal_fs, time=t, data=(acc,), indices=(), aa_filter=True, fs=fs
    )
    wlen = int(goal_fs * 3)
    sos = butter(1, [2 * 0.25 / fs, 2 * 5.0 / fs], btype="band", output="sos")
    filt = np.ascontiguousarray(sosfiltfilt(sos, np.linalg.norm(acc_ds, axis=1)))
    win = get_windowed_view(filt, wlen, wlen, ensure_c_contiguity=False)
    bank = Bank()
    feat_file = gc._resolve_path("skdh.context.model", "gait_final_features.json")
    bank.load(feat_file)
    names = [list(f.keys())[0] for f in json.loads(Path(str(feat_file)).read_text())]
    feats = bank.compute(win, fs=goal_fs, axis=1, index_axis=None)
    model = str(
        gc._resolve_path("skdh.context.model", "lgbm_gait_classifier_no-stairs_50hz.lgbm")
    )
    prob = lgb.Booster(model_file=model).predict(feats.T, raw_score=False)
    # a spread sample of windows, plus every window around the first gait bout
    pick = sorted(set(range(0, feats.shape[1], 97)) | set(np.nonzero(prob > 0.7)[0][:40].tolist()))
    out = {
        "fs": float(fs),
        "n_samples": int(t.size),
        "n_samples_50hz": int(time_ds.size),
        "n_windows": int(feats.shape[1]),
        "feature_names": names,
        "sample_windows": pick,
        "sample_features": [[r12(feats[j, i]) for j in range(feats.shape[0])] for i in pick],
        "probability": [r12(p) for p in prob],
        "bout_start_index": res["Gait Bout Start Index"].astype(int).tolist(),
        "bout_stop_index": res["Gait Bout Stop Index"].astype(int).tolist(),
        "gait_bouts": kw["gait_bouts"].astype(int).tolist(),
    }
    (OUT / "gait_classifier_example.json").write_text(json.dumps(out, separators=(",", ":")))


def pkmas_case():
    """SKDH's initial contacts on the walkway recording, on the walkway clock (sample 2420 of
    the accelerometer = the first PKMAS timestamp, 4.4667 s, as the authors' notebook aligns)."""
    from skdh.io import ReadBin

    folder = DATA / "gait_pkmas_reference"
    data = ReadBin().predict(file=folder / "TestACH20200305-PKMA_back_048877_2020-03-05_14-40-44.bin")
    t, acc, fs = data["time"], data["accel"], data["fs"]
    shift = 4.4667 - t[2420]
    kw, res = classify(t, acc, fs)
    out = {"fs": float(fs), "n_samples": int(t.size), "classifier_bouts": kw["gait_bouts"].astype(int).tolist()}
    for name, extra in [("classifier", kw), ("whole", {"time": t, "accel": acc, "fs": fs, "gait_pred": True})]:
        for method, params in [("apcwt", {}), ("vcwt", {"gait_event_method": "v cwt"})]:
            r = GaitLumbar(**params).predict(height=1.8, **extra)
            out[f"{name}_{method}_ic"] = [round(float(v) + shift, 4) for v in r["IC Timestamp"]]
    (OUT / "gait_pkmas_skdh.json").write_text(json.dumps(out))


def steps610_case():
    """SKDH's step counts on Open Movement's 610-step recording (ground truth in its name)."""
    f = ROOT.parent / "shared" / "data" / "openmovement" / "example-610-steps.cwa"
    data = ReadCwa().predict(file=f)
    t, acc, fs = data["time"], data["accel"], data["fs"]
    kw, _ = classify(t, acc, fs)
    out = {"fs": float(fs), "n_samples": int(t.size), "classifier_bouts": kw["gait_bouts"].astype(int).tolist()}
    out["classifier_steps"] = int(len(GaitLumbar().predict(height=1.8, **kw)["Bout N"]))
    r = GaitLumbar().predict(time=t, accel=acc, fs=fs, height=1.8, gait_pred=True)
    out["whole_steps"] = int(len(r["Bout N"]))
    (OUT / "gait_610_skdh.json").write_text(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--check", action="store_true")
    p.add_argument("--only", choices=["gait", "classifier", "pkmas", "steps610"])
    a = p.parse_args()
    warnings.simplefilter("ignore")
    OUT.mkdir(parents=True, exist_ok=True)
    if a.only in (None, "gait"):
        gait_cases(a.check)
    if a.only in (None, "classifier"):
        classifier_case()
    if a.only in (None, "pkmas"):
        pkmas_case()
    if a.only in (None, "steps610"):
        steps610_case()


if __name__ == "__main__":
    main()
