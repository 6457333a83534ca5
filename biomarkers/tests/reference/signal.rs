//! The deterministic synthetic scenarios of `scripts/skdh/scenarios.py`, sample for sample.
//!
//! Only IEEE-754 +, -, *, / and sqrt are used (in the same order as the Python code), so both
//! generators give identical bits; `fingerprint` values stored with each reference check it.
//! Shared by several test crates (not all use every item).
#![allow(dead_code)]

use std::path::PathBuf;

const GOLDEN: u64 = 0x9E3779B97F4A7C15;
const MIX1: u64 = 0xBF58476D1CE4E5B9;
const MIX2: u64 = 0x94D049BB133111EB;
const TWO_M53: f64 = 1.0 / 9007199254740992.0;

const S_NOISE: u64 = 1;
const S_POSTURE: u64 = 2;
const S_LEVEL: u64 = 3;
const S_PHASE: u64 = 4;
const S_TWITCH: u64 = 5;

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(MIX1);
    z = (z ^ (z >> 27)).wrapping_mul(MIX2);
    z ^ (z >> 31)
}

fn uniform(stream: u64, index: i64) -> f64 {
    let key = (stream << 48) ^ (index as u64);
    (splitmix64(key) >> 11) as f64 * TWO_M53
}

fn tri(x: f64) -> f64 {
    let f = x - x.floor();
    4.0 * (f - 0.5).abs() - 1.0
}

fn unit_vector(stream: u64, index: i64) -> [f64; 3] {
    let mut v = [0.0; 3];
    for (k, c) in v.iter_mut().enumerate() {
        *c = 2.0 * uniform(stream, index * 4 + k as i64) - 1.0;
    }
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(0.25);
    [v[0] / n, v[1] / n, v[2] / n]
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Table,
    Sleep,
    Active,
}

/// A scenario's definition (mirrors `SCENARIOS` in scenarios.py).
pub struct Scenario {
    pub name: &'static str,
    pub start: f64,
    pub fs: f64,
    pub hours: f64,
    segments: &'static [(Kind, f64, f64)],
    pub miscalibrated: bool,
}

const DAYS: &[(Kind, f64, f64)] = &[
    (Kind::Active, 0.0, 1.2),
    (Kind::Table, 1.2, 3.0),
    (Kind::Active, 3.0, 8.4),
    (Kind::Sleep, 8.4, 16.4),
    (Kind::Active, 16.4, 20.0),
    (Kind::Table, 20.0, 22.5),
    (Kind::Active, 22.5, 32.4),
    (Kind::Sleep, 32.4, 40.1),
    (Kind::Active, 40.1, 45.0),
    (Kind::Table, 45.0, 45.7),
    (Kind::Active, 45.7, 56.0),
    (Kind::Sleep, 56.0, 62.0),
];
const RATE50: &[(Kind, f64, f64)] = &[
    (Kind::Active, 0.0, 13.0),
    (Kind::Sleep, 13.0, 21.5),
    (Kind::Active, 21.5, 24.0),
    (Kind::Table, 24.0, 26.0),
];
const CALIB: &[(Kind, f64, f64)] = &[
    (Kind::Active, 0.0, 14.0),
    (Kind::Sleep, 14.0, 22.0),
    (Kind::Active, 22.0, 38.0),
    (Kind::Sleep, 38.0, 46.0),
    (Kind::Table, 46.0, 50.0),
    (Kind::Active, 50.0, 62.0),
    (Kind::Sleep, 62.0, 70.0),
    (Kind::Active, 70.0, 84.0),
];

pub fn scenario(name: &str) -> Scenario {
    match name {
        "days" => Scenario {
            name: "days",
            start: 1679668632.5,
            fs: 20.0,
            hours: 62.0,
            segments: DAYS,
            miscalibrated: false,
        },
        "rate50" => Scenario {
            name: "rate50",
            start: 1700040000.0,
            fs: 50.0,
            hours: 26.0,
            segments: RATE50,
            miscalibrated: false,
        },
        "calib" => Scenario {
            name: "calib",
            start: 1690000000.0,
            fs: 10.0,
            hours: 84.0,
            segments: CALIB,
            miscalibrated: true,
        },
        other => panic!("unknown scenario {other}"),
    }
}

const CAL_GAIN: [f64; 3] = [1.02, 0.97, 1.015];
const CAL_BIAS: [f64; 3] = [0.03, -0.025, 0.04];
const CAL_TCOEF: [f64; 3] = [0.002, -0.001, 0.0015];

/// Generated samples.
pub struct Signal {
    pub time: Vec<f64>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
    pub temperature: Vec<f64>,
    pub fs: f64,
}

pub fn generate(sc: &Scenario) -> Signal {
    let fs = sc.fs;
    let n = (sc.hours * 3600.0 * fs) as usize;
    let mut time = Vec::with_capacity(n);
    let mut acc = [
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    ];
    let mut temp = Vec::with_capacity(n);
    let flat = {
        let f = [0.03f64, -0.02, 0.9993];
        let nn = (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt();
        [f[0] / nn, f[1] / nn, f[2] / nn]
    };
    // temperature state per segment, as the Python loop over segments computes it
    let mut seg_t_now = Vec::with_capacity(sc.segments.len());
    let mut t_now = 33.0f64;
    for &(k, h0, h1) in sc.segments {
        seg_t_now.push(t_now);
        if k == Kind::Table {
            t_now = (t_now - 0.3 * (h1 - h0) * 60.0).max(24.0);
        } else {
            t_now = 33.0;
        }
    }
    for i in 0..n {
        let sec = i as f64 / fs;
        time.push(sc.start + sec);
        // the Python code applies segment masks in order; a later match wins
        let mut kind = Kind::Table;
        let mut seg_start = 0.0;
        let mut seg_idx = usize::MAX;
        for (s, &(k, h0, h1)) in sc.segments.iter().enumerate() {
            if sec >= h0 * 3600.0 && sec < h1 * 3600.0 {
                kind = k;
                seg_start = h0 * 3600.0;
                seg_idx = s;
            }
        }
        let minute = (sec / 60.0) as i64;
        let ii = i as i64;
        let mut noise = [0.0; 3];
        for (ax, nz) in noise.iter_mut().enumerate() {
            let mut u = 0.0;
            for r in 0..4 {
                u += uniform(S_NOISE, ii * 16 + ax as i64 * 4 + r);
            }
            *nz = u - 2.0;
        }
        let posture = match kind {
            Kind::Active => (sec / 45.0) as i64,
            Kind::Sleep => (sec / 1200.0) as i64 + 1_000_000,
            Kind::Table => (seg_start / 60.0) as i64 + 2_000_000,
        };
        let g = if kind == Kind::Table {
            flat
        } else {
            unit_vector(S_POSTURE, posture)
        };
        let ul = uniform(S_LEVEL, minute);
        let mut amp = if ul < 0.45 {
            0.03
        } else if ul < 0.72 {
            0.22
        } else if ul < 0.93 {
            0.8
        } else {
            2.2
        };
        amp *= 0.75 + 0.5 * uniform(S_LEVEL, minute + 7_777_777);
        let freq = 1.1 + 1.3 * uniform(S_PHASE, minute);
        let dir = unit_vector(S_PHASE, minute + 5_555_555);
        let wave = tri(freq * sec);
        let ut = uniform(S_TWITCH, minute);
        let twitch = (ut < 0.1 && (sec - minute as f64 * 60.0) < 30.0) || ut > 0.97;
        let nscale = match kind {
            Kind::Table => 0.002,
            Kind::Sleep => 0.004,
            Kind::Active => 0.01,
        };
        let mut a = [0.0; 3];
        for ax in 0..3 {
            let mv = match kind {
                Kind::Active => amp * wave * dir[ax],
                Kind::Sleep => {
                    if twitch {
                        0.5 * wave * dir[ax]
                    } else {
                        0.0
                    }
                }
                Kind::Table => 0.0,
            };
            a[ax] = g[ax] + mv + nscale * noise[ax];
        }
        let tv = if seg_idx == usize::MAX {
            f64::NAN
        } else {
            let (k, h0, _) = sc.segments[seg_idx];
            let tn = seg_t_now[seg_idx];
            let dt_min = (sec - h0 * 3600.0) / 60.0;
            if k == Kind::Table {
                (tn - 0.3 * dt_min).max(24.0)
            } else {
                let target = 33.0 + 0.5 * tri(sec / 18000.0);
                (tn + 0.5 * dt_min).min(target)
            }
        };
        let tv = tv + 0.01 * noise[0];
        if sc.miscalibrated {
            for ax in 0..3 {
                a[ax] = a[ax] * CAL_GAIN[ax] + CAL_BIAS[ax] + CAL_TCOEF[ax] * (tv - 30.0);
            }
        }
        for ax in 0..3 {
            acc[ax].push(a[ax]);
        }
        temp.push(tv);
    }
    let [x, y, z] = acc;
    Signal {
        time,
        x,
        y,
        z,
        temperature: temp,
        fs,
    }
}

/// `biomarkers/tests/reference/<name>`.
pub fn reference_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("reference")
        .join(name)
}

/// Loads `tests/reference/<name>.json`.
pub fn load_reference(name: &str) -> serde_json::Value {
    let p = reference_path(&format!("{name}.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Checks the generated samples against the fingerprint SKDH's side stored.
pub fn check_fingerprint(sig: &Signal, fp: &serde_json::Value) {
    assert_eq!(
        fp["n"].as_u64().unwrap() as usize,
        sig.time.len(),
        "sample count"
    );
    let idx: Vec<usize> = fp["index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    for (key, data) in [
        ("time", &sig.time),
        ("x", &sig.x),
        ("y", &sig.y),
        ("z", &sig.z),
        ("temperature", &sig.temperature),
    ] {
        for (j, &i) in idx.iter().enumerate() {
            let want: u64 = fp[key][j].as_str().unwrap().parse().unwrap();
            assert_eq!(
                data[i].to_bits(),
                want,
                "{key}[{i}]: {} vs {}",
                data[i],
                f64::from_bits(want)
            );
        }
    }
}

/// NaN-aware relative comparison used for every endpoint.
pub fn close(a: f64, b: f64, rel: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

/// A JSON number or null (NaN) as f64.
pub fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// JSON `[[a, b], ...]` as index pairs.
pub fn pairs(v: &serde_json::Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not pairs: {v}"))
        .iter()
        .map(|p| {
            (
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
            )
        })
        .collect()
}
