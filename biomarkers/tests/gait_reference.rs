//! Lumbar gait compared with SKDH 0.17.18 on its own gait test data, with the parameters of
//! SKDH's tests/gait/test_core.py (height 1.88 m, height_factor 0.53, ...):
//!
//! * every column of `skdh/gait/gait_results*_{apcwt,vcwt}.npz` (SKDH's published references),
//! * and every other column SKDH reports (harmonic ratio, SPARC, bout-level endpoints, debug
//!   columns), from `tests/reference/gait_extra_*.json` written by
//!   `scripts/skdh/gait_reference.py`,
//!
//! within 1e-6 relative (plus 1e-9 absolute for values that are zero up to rounding), NaN equal
//! to NaN. The 50 Hz input uses the bouts SKDH's classifier finds (`gait_bouts_input50.json`),
//! as SKDH's own test does.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;

use biomarkers::gait::{
    ApCwtParams, BodySize, EventMethod, GaitError, GaitParams, GaitResult, StepTimeRule,
    StrideParams, VerticalCwtParams, WaveletScale, gait_lumbar,
};
use biomarkers::io::npz::{NpyArray, read_arrays};
use biomarkers::preprocessing::Axes;
use biomarkers::preprocessing::resample::apply_resample;
use biomarkers::table::ColumnData;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/skdh/gait")
}

fn reference(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn npz(name: &str) -> BTreeMap<String, NpyArray> {
    read_arrays(File::open(data_dir().join(name)).unwrap()).unwrap()
}

fn cols(a: &NpyArray) -> [Vec<f64>; 3] {
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for row in a.values.chunks_exact(3) {
        for k in 0..3 {
            out[k].push(row[k]);
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-6 * a.abs().max(b.abs()) + 1e-9
}

fn ap_params() -> GaitParams {
    GaitParams {
        event_method: EventMethod::ApCwt(ApCwtParams {
            ic_prom_factor: 0.1,
            ic_dist_factor: 0.0,
            fc_prom_factor: 0.1,
            fc_dist_factor: 0.0,
        }),
        ..GaitParams::default()
    }
}

fn v_params(relation: bool, scale: WaveletScale) -> GaitParams {
    GaitParams {
        downsample: true,
        event_method: EventMethod::VerticalCwt(VerticalCwtParams {
            use_cwt_scale_relation: relation,
            wavelet_scale: scale,
            round_scale: true,
        }),
        strides: StrideParams {
            max_stride_time: StepTimeRule::Fixed(2.25),
            loading_factor: StepTimeRule::Fixed(0.2),
        },
        ..GaitParams::default()
    }
}

/// Compares our result with the npz columns and the extra JSON columns; returns mismatches.
fn compare(ours: &GaitResult, npz_name: &str, extra: &str) -> Vec<String> {
    let table = ours.to_table();
    let mut bad = Vec::new();
    let mut checked = 0usize;
    let mut check = |name: &str, want: &[f64]| {
        let Some(col) = table.column(name) else {
            bad.push(format!("missing column '{name}'"));
            return;
        };
        let got: Vec<f64> = match &col.data {
            ColumnData::F64(v) => v.clone(),
            ColumnData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            _ => Vec::new(),
        };
        if got.len() != want.len() {
            bad.push(format!(
                "'{name}': {} rows vs SKDH {}",
                got.len(),
                want.len()
            ));
            return;
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            checked += 1;
            if !close(*g, *w) {
                bad.push(format!("'{name}' row {i}: ours {g} vs SKDH {w}"));
            }
        }
    };
    for (name, arr) in npz(npz_name) {
        check(&name, &arr.values);
    }
    let ex = reference(extra);
    for (name, vals) in ex["columns"].as_object().unwrap() {
        if matches!(
            name.as_str(),
            "Day N" | "Processing Start Hour" | "Processing End Hour"
        ) {
            continue;
        }
        let want: Vec<f64> = vals
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect();
        check(name, &want);
    }
    // every column of the npz and the extra JSON was compared, row by row
    let rows = ours.len();
    let n_cols = npz(npz_name).len() + ex["columns"].as_object().unwrap().len() - 3;
    if checked != rows * n_cols {
        bad.push(format!(
            "compared {checked} values, expected {}",
            rows * n_cols
        ));
    }
    bad
}

fn report(case: &str, bad: &[String]) {
    if !bad.is_empty() {
        let head: Vec<&String> = bad.iter().take(25).collect();
        panic!("{case}: {} mismatches, first: {head:#?}", bad.len());
    }
}

/// SKDH's tests resample gait_input.npz to 50 Hz (fs from the first 5000 time steps).
fn input50() -> (Vec<f64>, [Vec<f64>; 3]) {
    let d = npz("gait_input.npz");
    let t = &d["time"].values;
    let a = cols(&d["accel"]);
    let m = t.len().min(5000);
    let fs = 1.0 / ((t[m - 1] - t[0]) / (m - 1) as f64);
    let r = apply_resample(t, fs, 50.0, &[&a[0], &a[1], &a[2]], true).unwrap();
    let [x, y, z]: [Vec<f64>; 3] = r.data.try_into().unwrap();
    (r.time, [x, y, z])
}

fn bouts50() -> Vec<(usize, usize)> {
    reference("gait_bouts_input50.json")["bouts"]
        .as_array()
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

fn input2() -> (Vec<f64>, [Vec<f64>; 3], [Vec<f64>; 3]) {
    let d = npz("gait_input2.npz");
    (
        d["time"].values.clone(),
        cols(&d["accel"]),
        cols(&d["gyro"]),
    )
}

fn run50(params: &GaitParams) -> GaitResult {
    let (t, a) = input50();
    gait_lumbar(
        &t,
        Axes::new(&a[0], &a[1], &a[2]),
        None,
        50.0,
        &bouts50(),
        BodySize::Height(1.88),
        params,
    )
    .unwrap()
}

fn run2(params: &GaitParams) -> GaitResult {
    let (t, a, g) = input2();
    let n = t.len();
    gait_lumbar(
        &t,
        Axes::new(&a[0], &a[1], &a[2]),
        Some(Axes::new(&g[0], &g[1], &g[2])),
        128.0,
        &[(0, n - 1)],
        BodySize::Height(1.88),
        params,
    )
    .unwrap()
}

#[test]
fn ap_cwt_matches_skdh_on_gait_input() {
    let r = run50(&ap_params());
    assert_eq!(r.len(), 81);
    report(
        "apcwt",
        &compare(&r, "gait_results_apcwt.npz", "gait_extra_input_apcwt.json"),
    );
}

#[test]
fn vertical_cwt_matches_skdh_on_gait_input() {
    let r = run50(&v_params(true, WaveletScale::Default));
    report(
        "vcwt",
        &compare(&r, "gait_results_vcwt.npz", "gait_extra_input_vcwt.json"),
    );
}

#[test]
fn ap_cwt_with_turns_matches_skdh_on_gait_input2() {
    let r = run2(&ap_params());
    assert!(r.turn.iter().any(|&t| t > 0), "the recording has turns");
    report(
        "apcwt2",
        &compare(
            &r,
            "gait_results2_apcwt.npz",
            "gait_extra_input2_apcwt.json",
        ),
    );
}

#[test]
fn vertical_cwt_with_turns_matches_skdh_on_gait_input2() {
    let r = run2(&v_params(false, WaveletScale::Scale(8.0)));
    report(
        "vcwt2",
        &compare(&r, "gait_results2_vcwt.npz", "gait_extra_input2_vcwt.json"),
    );
}

#[test]
fn edge_cases_give_clear_outcomes() {
    let (t, a) = input50();
    let ax = Axes::new(&a[0], &a[1], &a[2]);
    // below 20 Hz
    let e = gait_lumbar(
        &t,
        ax,
        None,
        19.9,
        &[],
        BodySize::Unknown,
        &GaitParams::default(),
    );
    assert!(matches!(e, Err(GaitError::LowFrequency { .. })));
    // no walking: no bouts, empty result
    let r = gait_lumbar(
        &t,
        ax,
        None,
        50.0,
        &[],
        BodySize::Unknown,
        &GaitParams::default(),
    )
    .unwrap();
    assert!(r.is_empty() && r.bouts.is_empty());
    assert_eq!(r.to_table().num_rows(), 0);
    // a bout too short is dropped before processing
    let r = gait_lumbar(
        &t,
        ax,
        None,
        50.0,
        &[(900, 1200)],
        BodySize::Unknown,
        &GaitParams::default(),
    )
    .unwrap();
    assert!(r.is_empty() && r.bouts.is_empty());
    // without a height, spatial endpoints are NaN with a reason, temporal ones are there
    let r = gait_lumbar(
        &t,
        ax,
        None,
        50.0,
        &bouts50(),
        BodySize::Unknown,
        &ap_params(),
    )
    .unwrap();
    assert!(r.spatial_note.is_some());
    assert!(
        r.endpoint("step length")
            .unwrap()
            .iter()
            .all(|v| v.is_nan())
    );
    assert!(
        r.endpoint("step time")
            .unwrap()
            .iter()
            .any(|v| v.is_finite())
    );
    // no gyro: Turn is -1
    assert!(r.turn.iter().all(|&v| v == -1));
    // mismatched lengths
    let e = gait_lumbar(
        &t[1..],
        ax,
        None,
        50.0,
        &[],
        BodySize::Unknown,
        &GaitParams::default(),
    );
    assert!(matches!(e, Err(GaitError::Shape(_))));
    // a flat (non-walking) bout is reported as skipped or yields no steps, never panics
    let flat = vec![0.0; 1000];
    let one = vec![1.0; 1000];
    let tt: Vec<f64> = (0..1000).map(|i| i as f64 / 50.0).collect();
    let r = gait_lumbar(
        &tt,
        Axes::new(&flat, &flat, &one),
        None,
        50.0,
        &[(0, 999)],
        BodySize::Height(1.8),
        &GaitParams::default(),
    )
    .unwrap();
    assert_eq!(r.bouts.len(), 1);
    assert!(r.bouts[0].skipped.is_some() || r.bouts[0].steps == 0);
}

#[test]
fn summaries_per_bout_and_day() {
    use biomarkers::gait::summary::{bout_summary, day_summary};
    let r = run50(&ap_params());
    let b = bout_summary(&r);
    assert_eq!(b.num_rows(), 2);
    let Some(ColumnData::I64(steps)) = b.column("Steps").map(|c| &c.data) else {
        panic!("Steps column")
    };
    assert_eq!(steps.iter().sum::<i64>(), r.len() as i64);
    let Some(ColumnData::F64(cad)) = b.column("median cadence").map(|c| &c.data) else {
        panic!("median cadence column")
    };
    assert!(cad.iter().all(|c| (80.0..140.0).contains(c)), "{cad:?}");
    let t0 = r.bout_start[0];
    let d = day_summary(
        &r,
        &[(t0 - 10.0, t0 + 86_400.0), (t0 + 86_400.0, t0 + 172_800.0)],
    );
    assert_eq!(d.num_rows(), 2);
    let Some(ColumnData::I64(bouts)) = d.column("Bouts").map(|c| &c.data) else {
        panic!("Bouts column")
    };
    assert_eq!(bouts, &vec![2, 0]);
    let Some(ColumnData::F64(speed)) = d.column("median gait speed").map(|c| &c.data) else {
        panic!("speed column")
    };
    assert!(speed[0] > 0.5 && speed[0] < 2.5 && speed[1].is_nan());
}

#[test]
fn whole_step_on_gait_input2() {
    use biomarkers::gait::step::{GaitStepParams, gait_step};
    let (t, a, g) = input2();
    // the step takes deg/s like the readers return; the reference gyro is rad/s
    let dps: Vec<Vec<f64>> = g
        .iter()
        .map(|c| c.iter().map(|v| v.to_degrees()).collect())
        .collect();
    let p = GaitStepParams {
        use_classifier: false,
        gait: ap_params(),
        ..GaitStepParams::default()
    };
    let day = [(t[0] - 1.0, t[0] + 86_400.0)];
    let out = gait_step(
        &t,
        Axes::new(&a[0], &a[1], &a[2]),
        Some(Axes::new(&dps[0], &dps[1], &dps[2])),
        128.0,
        BodySize::Height(1.88),
        &day,
        &p,
    )
    .unwrap();
    assert_eq!(out.steps.num_rows(), 68);
    let want = npz("gait_results2_apcwt.npz")["Turn"].values.clone();
    let Some(ColumnData::I64(turn)) = out.steps.column("Turn").map(|c| &c.data) else {
        panic!("Turn column")
    };
    assert_eq!(turn.iter().map(|&v| v as f64).collect::<Vec<_>>(), want);
    assert_eq!(out.bout_summary.num_rows(), 1);
    assert_eq!(out.day_summary.num_rows(), 1);
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    // no gyro, no height: still steps, with the reasons stated
    let out = gait_step(
        &t,
        Axes::new(&a[0], &a[1], &a[2]),
        None,
        128.0,
        BodySize::Unknown,
        &day,
        &p,
    )
    .unwrap();
    assert_eq!(out.steps.num_rows(), 68);
    assert_eq!(out.notes.len(), 2, "{:?}", out.notes);
}
