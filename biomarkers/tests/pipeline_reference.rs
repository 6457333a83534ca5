//! The whole pipeline (calibrate -> wear -> sleep -> activity) on CWA files, compared with SKDH
//! 0.17.18 run on the very same bytes:
//! * a synthetic 3.25-day wrist recording from `synth::write_cwa` (regenerated here in memory;
//!   SKDH's outputs are in `tests/reference/cwa_synth_wrist.json`);
//! * the real 3.4 h lumbar recording `skdh/examples/example_data.cwa` of the shared data
//!   (`tests/reference/cwa_example_data.json`).
//!
//! To regenerate the references (see scripts/skdh/reference.py):
//! `SKDH_REF_DIR=/tmp/skdhref cargo test -p biomarkers --test pipeline_reference -- --ignored`
//! then `reference.py cwa /tmp/skdhref/synth_wrist.cwa --name cwa_synth_wrist --chain`.

#[path = "reference/signal.rs"]
mod signal;

use std::path::PathBuf;

use biomarkers::io::Recording;
use biomarkers::io::cwa::{CwaReadOptions, read};
use biomarkers::pipeline::{Pipeline, PipelineSpec, SubjectContext};
use biomarkers::synth::{SynthParams, write_cwa};
use biomarkers::table::{ColumnData, Table};
use signal::{close, load_reference, num, pairs};

fn synth_params() -> SynthParams {
    SynthParams {
        seed: 7,
        days: 3.25,
        fs: 25.0,
        ..SynthParams::default()
    }
}

fn synth_cwa() -> Vec<u8> {
    let mut bytes = Vec::new();
    write_cwa(&synth_params(), &mut bytes).expect("synthetic CWA");
    bytes
}

#[test]
#[ignore = "writes the CWA inputs for scripts/skdh/reference.py into $SKDH_REF_DIR"]
fn write_cwa_inputs_for_skdh() {
    let dir = PathBuf::from(std::env::var("SKDH_REF_DIR").expect("set SKDH_REF_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("synth_wrist.cwa"), synth_cwa()).unwrap();
}

fn table<'a>(out: &'a [Table], name: &str) -> &'a Table {
    out.iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

fn compare(ours: &Table, skdh: &serde_json::Value, what: &str, bad: &mut Vec<String>) {
    for (name, vals) in skdh.as_object().unwrap() {
        let Some(col) = ours.column(name) else {
            bad.push(format!("{what}: missing column '{name}'"));
            continue;
        };
        let vals = vals.as_array().unwrap();
        if col.data.len() != vals.len() {
            bad.push(format!(
                "{what} '{name}': {} rows vs SKDH {}",
                col.data.len(),
                vals.len()
            ));
            continue;
        }
        for (i, v) in vals.iter().enumerate() {
            let (ok, got) = match &col.data {
                ColumnData::F64(d) => (close(d[i], num(v), 1e-6), format!("{:?}", d[i])),
                ColumnData::I64(d) => (v.as_i64() == Some(d[i]), d[i].to_string()),
                ColumnData::Str(d) => (v.as_str() == Some(d[i].as_str()), d[i].clone()),
                ColumnData::Bool(d) => (v.as_bool() == Some(d[i]), d[i].to_string()),
            };
            if !ok {
                bad.push(format!("{what} '{name}' row {i}: ours {got} vs SKDH {v}"));
            }
        }
    }
}

fn wear_pairs(t: &Table) -> Vec<(usize, usize)> {
    let (ColumnData::I64(s), ColumnData::I64(e)) = (
        &t.column("start_index").unwrap().data,
        &t.column("stop_index").unwrap().data,
    ) else {
        panic!("wear_bouts columns")
    };
    s.iter()
        .zip(e)
        .map(|(&a, &b)| (a as usize, b as usize))
        .collect()
}

fn run(rec: &Recording, steps: &str) -> Vec<Table> {
    let spec: PipelineSpec = serde_json::from_str(steps).unwrap();
    Pipeline::from_spec(&spec)
        .unwrap()
        .run(rec, &SubjectContext::default())
        .unwrap()
        .tables
}

/// FNV-1a 64-bit hash, as reference.py computes it over the input file.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xCBF29CE484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001B3)
    })
}

fn check_bytes(bytes: &[u8], refj: &serde_json::Value) {
    let want: u64 = refj["input"]["fnv1a64"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        fnv1a64(bytes),
        want,
        "the input CWA is not the file SKDH processed (the synthetic generator or CWA writer \
         changed?): regenerate the reference as this file's header says"
    );
}

fn check_input(rec: &Recording, refj: &serde_json::Value) {
    let inp = &refj["input"];
    assert_eq!(
        rec.len(),
        inp["n"].as_u64().unwrap() as usize,
        "sample count"
    );
    assert!(close(rec.time[0], num(&inp["time_first_last"][0]), 1e-12));
    assert!(close(
        rec.time[rec.len() - 1],
        num(&inp["time_first_last"][1]),
        1e-12
    ));
    assert!(
        close(rec.fs, num(&refj["fs"]), 1e-9),
        "fs {} vs {}",
        rec.fs,
        refj["fs"]
    );
}

#[test]
fn pipeline_matches_skdh_on_synthetic_wrist_cwa() {
    let refj = load_reference("cwa_synth_wrist");
    let bytes = synth_cwa();
    check_bytes(&bytes, &refj);
    let rec = read(&bytes[..], &CwaReadOptions::skdh()).unwrap();
    check_input(&rec, &refj);
    let out = run(
        &rec,
        r#"{"steps":[{"step":"calibrate"},{"step":"wear"},{"step":"sleep"},{"step":"activity"}]}"#,
    );
    let mut bad = Vec::new();
    let cal = table(&out, "calibration");
    let c = &refj["calibration"];
    let ColumnData::Bool(applied) = &cal.column("applied").unwrap().data else {
        panic!()
    };
    assert_eq!(
        applied[0],
        c["calibrated"].as_bool().unwrap(),
        "calibration outcome"
    );
    for (k, ax) in ["x", "y", "z"].iter().enumerate() {
        for (col, key) in [
            ("offset", "offset"),
            ("scale", "scale"),
            ("temperature_scale", "temperature_scale"),
        ] {
            let ColumnData::F64(v) = &cal.column(&format!("{col}_{ax}")).unwrap().data else {
                panic!()
            };
            let want = num(&c[key][k]);
            if !(close(v[0], want, 1e-6) || (v[0] - want).abs() < 1e-9) {
                bad.push(format!("calibration {col}_{ax}: {} vs SKDH {want}", v[0]));
            }
        }
    }
    let wear = wear_pairs(table(&out, "wear_bouts"));
    if wear != pairs(&refj["wear"]["accel_threshold"]) {
        bad.push(format!(
            "wear {wear:?} vs SKDH {}",
            refj["wear"]["accel_threshold"]
        ));
    }
    compare(
        table(&out, "sleep_nights"),
        &refj["sleep"]["nights"],
        "sleep",
        &mut bad,
    );
    compare(
        table(&out, "activity_daily"),
        &refj["activity"]["daily"],
        "activity",
        &mut bad,
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Every table as CSV text (shortest round-trip floats): equal text is equal bits, NaN included.
fn csv_texts(tables: &[Table]) -> Vec<(String, String)> {
    tables
        .iter()
        .map(|t| {
            let mut buf = Vec::new();
            t.write_csv(&mut buf).expect("csv");
            (t.name.clone(), String::from_utf8(buf).expect("utf-8"))
        })
        .collect()
}

/// What the batch job runs: light never read, the recording handed over and calibrated in
/// place (`run_owned`) instead of copied. Same tables, bit for bit, as `run` on a full read.
#[test]
fn owned_run_without_light_equals_borrowed_run() {
    let bytes = synth_cwa();
    let opts = CwaReadOptions::skdh();
    let full = read(&bytes[..], &opts).unwrap();
    let lean = read(
        &bytes[..],
        &CwaReadOptions {
            skip_light: true,
            ..opts
        },
    )
    .unwrap();
    assert!(full.light.is_some() && lean.light.is_none());
    assert_eq!(full.time, lean.time);
    let steps = r#"{"steps":[{"step":"fill_gaps"},{"step":"calibrate"},{"step":"wear"},{"step":"sleep"},{"step":"activity"},{"step":"counts"}]}"#;
    let pipeline = Pipeline::from_spec(&serde_json::from_str(steps).unwrap()).unwrap();
    let borrowed = pipeline.run(&full, &SubjectContext::default()).unwrap();
    let owned = pipeline
        .run_owned(lean, &SubjectContext::default())
        .unwrap();
    let ColumnData::Bool(applied) = &table(&owned.tables, "calibration")
        .column("applied")
        .unwrap()
        .data
    else {
        panic!("calibration.applied")
    };
    assert!(
        applied[0],
        "the in-place calibration path must be exercised"
    );
    assert_eq!(csv_texts(&borrowed.tables), csv_texts(&owned.tables));
}

fn example_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/skdh/examples/example_data.cwa")
}

#[test]
fn wear_and_activity_match_skdh_on_real_example_data_cwa() {
    let refj = load_reference("cwa_example_data");
    let bytes = std::fs::read(example_data()).expect("shared data: skdh/examples/example_data.cwa");
    check_bytes(&bytes, &refj);
    let rec = read(&bytes[..], &CwaReadOptions::skdh()).unwrap();
    check_input(&rec, &refj);
    let mut bad = Vec::new();
    for (method, key) in [
        ("accel_threshold", "accel_threshold"),
        ("choi", "choi"),
        ("cta", "cta"),
        ("detach", "detach"),
    ] {
        let steps = format!(r#"{{"steps":[{{"step":"wear","params":{{"method":"{method}"}}}}]}}"#);
        let want = &refj["wear"][key];
        match Pipeline::from_spec(&serde_json::from_str(&steps).unwrap())
            .unwrap()
            .run(&rec, &SubjectContext::default())
        {
            Ok(o) => {
                let got = wear_pairs(table(&o.tables, "wear_bouts"));
                if want.is_array() && got != pairs(want) {
                    bad.push(format!("wear {method}: {got:?} vs SKDH {want}"));
                }
                if !want.is_array() {
                    bad.push(format!("wear {method}: ours {got:?}, SKDH failed: {want}"));
                }
            }
            Err(e) => {
                if want.is_array() {
                    bad.push(format!("wear {method}: ours failed ({e}), SKDH {want}"));
                }
            }
        }
    }
    let out = run(
        &rec,
        r#"{"steps":[{"step":"wear"},{"step":"activity","params":{"min_wear_time":1}}]}"#,
    );
    compare(
        table(&out, "activity_daily"),
        &refj["activity_nosleep"]["daily"],
        "activity",
        &mut bad,
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn unusable_recordings_give_clear_errors_or_reasons() {
    let empty = Recording {
        fs: 25.0,
        ..Default::default()
    };
    let p = Pipeline::default_wrist();
    let e = p.run(&empty, &SubjectContext::default()).unwrap_err();
    assert!(e.to_string().contains("no samples"), "{e}");
    // 30 min at 25 Hz: too short for wear detection (as SKDH), fine for activity (NaN day)
    let mut rec = Recording {
        fs: 25.0,
        ..Default::default()
    };
    for i in 0..25 * 60 * 30 {
        rec.time.push(1.7e9 + f64::from(i) / 25.0);
        rec.accel.push([0.0, 0.0, 1.0]);
    }
    let e = p.run(&rec, &SubjectContext::default()).unwrap_err();
    assert!(
        e.to_string().contains("wear") && e.to_string().contains("too short"),
        "{e}"
    );
    let spec: PipelineSpec = serde_json::from_str(r#"{"steps":[{"step":"activity"}]}"#).unwrap();
    let out = Pipeline::from_spec(&spec)
        .unwrap()
        .run(&rec, &SubjectContext::default())
        .unwrap();
    let daily = table(&out.tables, "activity_daily");
    assert_eq!(daily.num_rows(), 1);
    let ColumnData::F64(v) = &daily.column("wake sed 5s epoch [min]").unwrap().data else {
        panic!()
    };
    assert!(v[0].is_nan());
    assert!(out.reports[0].messages[0].contains("min_wear_time"));
    let bad_tz = SubjectContext {
        time_zone: Some("Mars/Olympus".into()),
        ..Default::default()
    };
    assert!(p.run(&rec, &bad_tz).is_err());
}
