"""Deterministic synthetic accelerometer scenarios shared with the Rust tests.

The same samples are produced bit for bit by `biomarkers/tests/reference/signal.rs`: every value
comes from IEEE-754 additions, subtractions, multiplications, divisions and square roots only (no
transcendental functions, no library reductions), whose results do not depend on the math library.

A scenario is a list of segments (kind, start hour, end hour) over a recording that starts at
`start` (unix seconds) and is sampled at `fs` Hz. Kinds:

* ``table``: device lying still (fixed orientation, tiny noise), temperature falling to 24 C;
* ``sleep``: worn during sleep: a posture (orientation) every 20 min, small noise, brief movements;
* ``active``: worn while awake: a posture every 45 s plus a triangle-wave movement whose amplitude
  is drawn per minute from four intensity levels (sedentary, light, moderate, vigorous).

Accelerations are in g, temperature in deg C, time in unix seconds.
"""

import numpy as np

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
TWO_M53 = 1.0 / 9007199254740992.0

# stream ids keep the random numbers of different uses apart
S_NOISE, S_POSTURE, S_LEVEL, S_PHASE, S_TWITCH = 1, 2, 3, 4, 5


def splitmix64(x):
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = x + GOLDEN
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


def uniform(stream, index):
    """Uniform [0, 1) from (stream, index); index may be an array of non-negative ints."""
    key = (np.uint64(stream) << np.uint64(48)) ^ np.asarray(index, dtype=np.uint64)
    return (splitmix64(key) >> np.uint64(11)).astype(np.float64) * TWO_M53


def tri(x):
    """Triangle wave with period 1 and range [-1, 1]."""
    f = x - np.floor(x)
    return 4.0 * np.abs(f - 0.5) - 1.0


def unit_vectors(stream, index):
    """Deterministic orientations (unit vectors) per index; each axis in [-1, 1] before scaling."""
    index = np.asarray(index, dtype=np.int64)
    v = np.empty(index.shape + (3,))
    for k in range(3):
        v[..., k] = 2.0 * uniform(stream, index * 4 + k) - 1.0
    n = np.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1] + v[..., 2] * v[..., 2])
    n = np.maximum(n, 0.25)
    return v / n[..., None]


SCENARIOS = {
    # 62 h at 20 Hz over the 2023-03-26 change to summer time in Europe/London
    "days": dict(
        start=1679668632.5,  # 2023-03-24 14:37:12.5 UTC
        fs=20.0,
        hours=62.0,
        segments=[
            ("active", 0.0, 1.2),
            ("table", 1.2, 3.0),
            ("active", 3.0, 8.4),
            ("sleep", 8.4, 16.4),
            ("active", 16.4, 20.0),
            ("table", 20.0, 22.5),
            ("active", 22.5, 32.4),
            ("sleep", 32.4, 40.1),
            ("active", 40.1, 45.0),
            ("table", 45.0, 45.7),
            ("active", 45.7, 56.0),
            ("sleep", 56.0, 62.0),
        ],
    ),
    # 26 h at 50 Hz: sleep's resampling to 20 Hz and activity at another rate
    "rate50": dict(
        start=1700040000.0,  # 2023-11-15 09:20:00 UTC
        fs=50.0,
        hours=26.0,
        segments=[
            ("active", 0.0, 13.0),
            ("sleep", 13.0, 21.5),
            ("active", 21.5, 24.0),
            ("table", 24.0, 26.0),
        ],
    ),
    # 84 h at 10 Hz for auto-calibration, with a mis-calibrated sensor (see `calibration_error`)
    "calib": dict(
        start=1690000000.0,  # 2023-07-22 04:26:40 UTC
        fs=10.0,
        hours=84.0,
        segments=[
            ("active", 0.0, 14.0),
            ("sleep", 14.0, 22.0),
            ("active", 22.0, 38.0),
            ("sleep", 38.0, 46.0),
            ("table", 46.0, 50.0),
            ("active", 50.0, 62.0),
            ("sleep", 62.0, 70.0),
            ("active", 70.0, 84.0),
        ],
        miscalibrated=True,
    ),
}

# sensor error of the "calib" scenario: measured = true * gain + bias + tcoef * (T - 30)
CAL_GAIN = np.array([1.02, 0.97, 1.015])
CAL_BIAS = np.array([0.03, -0.025, 0.04])
CAL_TCOEF = np.array([0.002, -0.001, 0.0015])


def generate(name):
    """Returns (time, accel (N, 3), temperature, fs) of a scenario."""
    sc = SCENARIOS[name]
    fs = sc["fs"]
    n = int(sc["hours"] * 3600.0 * fs)
    i = np.arange(n, dtype=np.int64)
    sec = i.astype(np.float64) / fs  # seconds since start
    time = sc["start"] + sec

    kind = np.zeros(n, dtype=np.int64)  # 0 table, 1 sleep, 2 active
    seg_start = np.zeros(n)  # seconds of the start of the sample's segment
    codes = {"table": 0, "sleep": 1, "active": 2}
    for k, h0, h1 in sc["segments"]:
        m = (sec >= h0 * 3600.0) & (sec < h1 * 3600.0)
        kind[m] = codes[k]
        seg_start[m] = h0 * 3600.0

    minute = (sec / 60.0).astype(np.int64)  # exact: sec is a multiple of 1/fs
    noise = np.empty((n, 3))
    for ax in range(3):
        u = np.zeros(n)
        for r in range(4):
            u = u + uniform(S_NOISE, i * 16 + ax * 4 + r)
        noise[:, ax] = u - 2.0  # Irwin-Hall(4) - 2: mean 0, sd 0.577

    # posture index: per 45 s when active, per 20 min asleep, one per table period
    post_active = (sec / 45.0).astype(np.int64)
    post_sleep = (sec / 1200.0).astype(np.int64) + 1000000
    post_table = (seg_start / 60.0).astype(np.int64) + 2000000
    posture = np.where(kind == 2, post_active, np.where(kind == 1, post_sleep, post_table))
    g = unit_vectors(S_POSTURE, posture)
    # devices on a table lie roughly flat
    flat = np.array([0.03, -0.02, 0.9993])
    flat = flat / np.sqrt(flat[0] * flat[0] + flat[1] * flat[1] + flat[2] * flat[2])
    g[kind == 0] = flat

    # movement amplitude per minute (g), from four intensity levels
    ul = uniform(S_LEVEL, minute)
    amp = np.where(ul < 0.45, 0.03, np.where(ul < 0.72, 0.22, np.where(ul < 0.93, 0.8, 2.2)))
    amp = amp * (0.75 + 0.5 * uniform(S_LEVEL, minute + 7777777))
    freq = 1.1 + 1.3 * uniform(S_PHASE, minute)
    move_dir = unit_vectors(S_PHASE, minute + 5555555)
    wave = tri(freq * sec)
    # movements during sleep: 30 s in some minutes, and some fully awake minutes
    ut = uniform(S_TWITCH, minute)
    twitch = ((ut < 0.1) & ((sec - minute * 60.0) < 30.0)) | (ut > 0.97)

    a = np.zeros((n, 3))
    for ax in range(3):
        mv_active = amp * wave * move_dir[:, ax]
        mv_sleep = np.where(twitch, 0.5 * wave * move_dir[:, ax], 0.0)
        mv = np.where(kind == 2, mv_active, np.where(kind == 1, mv_sleep, 0.0))
        nscale = np.where(kind == 0, 0.002, np.where(kind == 1, 0.004, 0.01))
        a[:, ax] = g[:, ax] + mv + nscale * noise[:, ax]

    # temperature: 33 C worn (slow drift), falling 0.3 C/min to 24 C when off body, rising
    # 0.5 C/min back after it is worn again
    temp = np.empty(n)
    t_now = 33.0
    for k, h0, h1 in sc["segments"]:
        m = (sec >= h0 * 3600.0) & (sec < h1 * 3600.0)
        dt_min = (sec[m] - h0 * 3600.0) / 60.0
        if k == "table":
            temp[m] = np.maximum(t_now - 0.3 * dt_min, 24.0)
            t_now = max(t_now - 0.3 * (h1 - h0) * 60.0, 24.0)
        else:
            target = 33.0 + 0.5 * tri(sec[m] / 18000.0)
            temp[m] = np.minimum(t_now + 0.5 * dt_min, target)
            t_now = 33.0
    temp = temp + 0.01 * noise[:, 0]

    if sc.get("miscalibrated", False):
        for ax in range(3):
            a[:, ax] = a[:, ax] * CAL_GAIN[ax] + CAL_BIAS[ax] + CAL_TCOEF[ax] * (temp - 30.0)

    return time, a, temp, fs


def fingerprint(time, accel, temp):
    """A few exact sample values to check that two generators agree."""
    n = time.size
    idx = sorted({0, 1, n // 7, n // 3, n // 2, (2 * n) // 3, n - 2, n - 1})
    # exact bit patterns (as decimal strings): JSON readers may round decimal floats by 1 ulp
    def bits(a):
        return [str(int(np.float64(a[j]).view(np.uint64))) for j in idx]

    return {
        "n": int(n),
        "index": idx,
        "time": bits(time),
        "x": bits(accel[:, 0]),
        "y": bits(accel[:, 1]),
        "z": bits(accel[:, 2]),
        "temperature": bits(temp),
    }
