"""Writes the input of SKDH's own activity regression test (test_activity_core.py,
`TestActivityLevelClassification.test`) as an NPZ our reader takes (`time`, `accel`):

    activity_regression_input.py OUT.npz

240,000 samples at 50 Hz from t = 1.6e9 s; x and y zero, z ~ N(1, 1) from numpy's
`default_rng(seed=5)`. Its expected endpoints are ../shared/data/skdh/activity/
activity_results.npz; biomarkers/tests/activity_regression.rs compares ours with them. Only numpy
is needed (the test command runs this with its pandas venv): the random numbers come from
numpy's PCG64 and normal sampler, which Rust does not reproduce bit for bit.
"""

import sys

import numpy as np

rng = np.random.default_rng(seed=5)
accel = np.zeros((240000, 3))
accel[:, 2] += rng.normal(loc=1, scale=1, size=accel.shape[0])
time = np.arange(1.6e9, 1.6e9 + accel.shape[0] * 0.02, 0.02)
np.savez(sys.argv[1], time=time, accel=accel)
