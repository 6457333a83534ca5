//! The gait-bout classifier compared with SKDH 0.17.18's `PredictGaitLumbarLgbm`:
//!
//! * on `skdh/examples/example_data.cwa` (3.4 h, 100 Hz lumbar): the 18 features of a sample of
//!   windows, the probability of every 3 s window (LightGBM's own `Booster.predict` in SKDH) and
//!   the bouts, from `tests/reference/gait_classifier_example.json`
//!   (`scripts/skdh/gait_reference.py`);
//! * on SKDH's 50 Hz gait test input: the bouts SKDH's gait test feeds to `GaitLumbar`.
//!
//! Values within 1e-6 relative (plus 1e-9 absolute), NaN equal to NaN.

use std::fs::File;
use std::path::PathBuf;

use biomarkers::gait::classifier::{
    ClassifierError, ClassifierParams, classifier_features, classify_gait,
};
use biomarkers::io::cwa::{CwaReadOptions, read_file};
use biomarkers::io::npz::read_arrays;
use biomarkers::preprocessing::Axes;
use biomarkers::preprocessing::resample::apply_resample;

fn data(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(p)
}

fn reference(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-6 * a.abs().max(b.abs()) + 1e-9
}

fn pairs(v: &serde_json::Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b[0].as_u64().unwrap() as usize,
                b[1].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

#[test]
fn classifier_matches_skdh_on_example_data() {
    let r = reference("gait_classifier_example.json");
    let rec = read_file(
        data("skdh/examples/example_data.cwa"),
        &CwaReadOptions::skdh(),
    )
    .unwrap();
    assert_eq!(rec.len() as u64, r["n_samples"].as_u64().unwrap());
    let ax = Axes::new(&rec.accel.x, &rec.accel.y, &rec.accel.z);
    let p = ClassifierParams::default();

    let feats = classifier_features(&rec.time, ax, rec.fs, &p).unwrap();
    assert_eq!(feats.len() as u64, r["n_windows"].as_u64().unwrap());
    let names: Vec<&str> = r["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut bad = Vec::new();
    let windows = r["sample_windows"].as_array().unwrap();
    for (w, want) in windows.iter().zip(r["sample_features"].as_array().unwrap()) {
        let w = w.as_u64().unwrap() as usize;
        for (k, v) in want.as_array().unwrap().iter().enumerate() {
            let v = v.as_f64().unwrap_or(f64::NAN);
            if !close(feats[w][k], v) {
                bad.push(format!(
                    "window {w} {}: ours {} vs SKDH {v}",
                    names[k], feats[w][k]
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} feature mismatches: {:#?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
    assert!(windows.len() > 50);

    let c = classify_gait(&rec.time, ax, rec.fs, &p).unwrap();
    let want: Vec<f64> = r["probability"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(c.probability.len(), want.len());
    let off: Vec<(usize, f64, f64)> = c
        .probability
        .iter()
        .zip(&want)
        .enumerate()
        .filter(|(_, (a, b))| !close(**a, **b))
        .map(|(i, (a, b))| (i, *a, *b))
        .collect();
    assert!(
        off.is_empty(),
        "{} probabilities differ: {:?}",
        off.len(),
        &off[..off.len().min(10)]
    );
    assert_eq!(c.bouts, pairs(&r["gait_bouts"]));
    assert_eq!(c.to_table().num_rows(), c.bouts.len());
}

#[test]
fn classifier_bouts_match_skdh_on_gait_input() {
    let d = read_arrays(File::open(data("skdh/gait/gait_input.npz")).unwrap()).unwrap();
    let t = &d["time"].values;
    let mut a = [Vec::new(), Vec::new(), Vec::new()];
    for row in d["accel"].values.chunks_exact(3) {
        for k in 0..3 {
            a[k].push(row[k]);
        }
    }
    let m = t.len().min(5000);
    let fs = 1.0 / ((t[m - 1] - t[0]) / (m - 1) as f64);
    let r = apply_resample(t, fs, 50.0, &[&a[0], &a[1], &a[2]], true).unwrap();
    let ax = Axes::new(&r.data[0], &r.data[1], &r.data[2]);
    let c = classify_gait(&r.time, ax, 50.0, &ClassifierParams::default()).unwrap();
    assert_eq!(
        c.bouts,
        pairs(&reference("gait_bouts_input50.json")["bouts"])
    );
}

#[test]
fn classifier_edge_cases() {
    let n = 3000;
    let t: Vec<f64> = (0..n).map(|i| i as f64 / 50.0).collect();
    let z = vec![0.0; n];
    let one = vec![1.0; n];
    let ax = Axes::new(&z, &z, &one);
    let p = ClassifierParams::default();
    assert!(matches!(
        classify_gait(&t, ax, 10.0, &p),
        Err(ClassifierError::LowFrequency { .. })
    ));
    // lying still: probabilities, but no gait
    let c = classify_gait(&t, ax, 50.0, &p).unwrap();
    assert_eq!(c.probability.len(), n / 150);
    assert!(c.bouts.is_empty());
    // 20-50 Hz data runs the 20 Hz model on 3 s windows of 60 samples
    let t30: Vec<f64> = (0..n).map(|i| i as f64 / 30.0).collect();
    let c = classify_gait(&t30, ax, 30.0, &p).unwrap();
    assert_eq!(c.fs, 20.0);
    assert_eq!(c.probability.len(), 2000 / 60);
    assert!(c.bouts.is_empty());
    // shorter than a window: no windows, no bouts, no error
    let c = classify_gait(
        &t[..100],
        Axes::new(&z[..100], &z[..100], &one[..100]),
        50.0,
        &p,
    )
    .unwrap();
    assert!(c.probability.is_empty() && c.bouts.is_empty());
    assert!(classify_gait(&t[..10], ax, 50.0, &p).is_err());
}
