//! Gap filling (`fill_gaps`, SKDH `FillGaps`) against SKDH 0.17.18 on real recordings with
//! gaps: ActiGraph files recorded in idle sleep mode, read without filling the sleep periods so
//! the gaps stay in `time`. `write_gap_inputs_for_skdh` exports the decoded samples;
//! `scripts/skdh/gaps_reference.py` runs SKDH on exactly those and writes
//! `tests/reference/fill_gaps_skdh.json` (hashes of SKDH's filled arrays, bit for bit).

use std::fs::File;
use std::path::{Path, PathBuf};

use biomarkers::io::Recording;
use biomarkers::io::gt3x::{self, Gt3xOptions};
use biomarkers::pipeline::{Pipeline, PipelineSpec, SubjectContext};
use biomarkers::preprocessing::gaps::{FillValues, fill_gaps};

const FILES: &[&str] = &["pygt3x/ISM_Enabled.gt3x", "ggir/actigraph_testfile.gt3x"];

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

fn with_gaps(rel: &str) -> Recording {
    let opts = Gt3xOptions {
        fill_idle_sleep: false,
        ..Gt3xOptions::default()
    };
    gt3x::read(File::open(data(rel)).unwrap(), &opts).unwrap()
}

fn stem(rel: &str) -> String {
    rel.replace(['/', '.'], "_")
}

/// Position-sensitive hash of the values' bits: sum of bits x (2 i + 1), modulo 2^64 (numpy
/// computes the same with uint64 arithmetic).
fn bits_hash(v: &[f64]) -> String {
    v.iter()
        .enumerate()
        .fold(0u64, |h, (i, x)| {
            h.wrapping_add(x.to_bits().wrapping_mul(2 * i as u64 + 1))
        })
        .to_string()
}

#[test]
#[ignore = "writes the decoded inputs for scripts/skdh/gaps_reference.py into $SKDH_REF_DIR"]
fn write_gap_inputs_for_skdh() {
    let dir = PathBuf::from(std::env::var("SKDH_REF_DIR").expect("set SKDH_REF_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    for rel in FILES {
        let rec = with_gaps(rel);
        // rows of time, x, y, z as little-endian f64
        let mut bytes = Vec::with_capacity(rec.len() * 32);
        for i in 0..rec.len() {
            for v in [rec.time[i], rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]] {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        std::fs::write(dir.join(format!("{}.f64", stem(rel))), bytes).unwrap();
        std::fs::write(
            dir.join(format!("{}.json", stem(rel))),
            serde_json::json!({"file": rel, "fs": rec.fs}).to_string(),
        )
        .unwrap();
    }
}

#[test]
fn fill_gaps_equals_skdh_on_real_idle_sleep_gaps() {
    let refj: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/fill_gaps_skdh.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(refj["skdh_version"], "0.17.18");
    for rel in FILES {
        let r = &refj["inputs"][*rel];
        let rec = with_gaps(rel);
        // SKDH was given these very samples
        assert_eq!(rec.fs, r["fs"].as_f64().unwrap(), "{rel}");
        assert_eq!(rec.len() as u64, r["n_in"].as_u64().unwrap(), "{rel}");
        assert_eq!(bits_hash(&rec.time), r["input_time_hash"], "{rel}");
        assert_eq!(bits_hash(&rec.accel.x), r["input_x_hash"], "{rel}");
        let n_gaps = r["n_gaps"].as_u64().unwrap();
        assert!(n_gaps > 0, "{rel}: a recording with gaps");
        for (variant, fill) in [
            ("default", FillValues::default()),
            (
                "custom",
                serde_json::from_value(r["custom"]["fill_values"].clone()).unwrap(),
            ),
        ] {
            let want = if variant == "default" {
                r
            } else {
                &r["custom"]
            };
            let f = fill_gaps(&rec, &fill).unwrap().expect("gaps to fill");
            assert_eq!(
                f.len() as u64,
                want["n_out"].as_u64().unwrap(),
                "{rel} {variant}"
            );
            assert_eq!(bits_hash(&f.time), want["time_hash"], "{rel} {variant}");
            for (axis, v) in [("x", &f.accel.x), ("y", &f.accel.y), ("z", &f.accel.z)] {
                assert_eq!(
                    bits_hash(v),
                    want[format!("{axis}_hash")],
                    "{rel} {variant} accel {axis}"
                );
            }
        }
        // the pipeline step: one row per gap, and later steps see the filled grid
        let spec: PipelineSpec = serde_json::from_str(
            r#"{"steps":[{"step":"fill_gaps"},{"step":"counts","params":{"epoch_seconds":10}}]}"#,
        )
        .unwrap();
        let out = Pipeline::from_spec(&spec)
            .unwrap()
            .run(&rec, &SubjectContext::default())
            .unwrap();
        let gaps = out.tables.iter().find(|t| t.name == "filled_gaps").unwrap();
        assert_eq!(gaps.num_rows() as u64, n_gaps, "{rel}");
        let counts = out
            .tables
            .iter()
            .find(|t| t.name == "actigraph_counts")
            .unwrap();
        let n_out = r["n_out"].as_u64().unwrap() as f64;
        assert_eq!(
            counts.num_rows(),
            (n_out / rec.fs / 10.0).floor() as usize,
            "{rel}: counts over the filled recording"
        );
    }
}
