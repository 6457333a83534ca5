//! The config scan's two ways of starting files, end to end on the local backend (the shipped
//! `scan-configs` state machine in the `asl` interpreter): a study with more files than the
//! default manifest threshold goes through a JSON manifest in the config bucket and the
//! Distributed Map reading it, a small study in the same scan stays on the inline Map.
//! (2,000 files take the same path; about a minute on a loaded 2-core machine, most of it the
//! 2,000 process-file executions, so the suite uses 250.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use studyflow::handlers::{DEFAULT_MANIFEST_THRESHOLD, FileStart};
use studyflow::local::{LocalBackend, LocalOptions};
use studyflow::model::FileStatus;
use studyflow::ports::{Catalog, FileFilter, ObjectStore};

const CONFIG_BUCKET: &str = "studyflow-config";
const BIG_FILES: usize = 250;
const SMALL_FILES: usize = 3;
// One study on each side of the default threshold.
const _: () = assert!(BIG_FILES > DEFAULT_MANIFEST_THRESHOLD);
const _: () = assert!(SMALL_FILES <= DEFAULT_MANIFEST_THRESHOLD);

/// A study whose files wait for subject metadata that never comes: every process-file
/// execution ends REQUIREMENTS_TIMED_OUT without a batch job.
fn config(id: &str, bucket: &str) -> String {
    format!(
        r#"schema: 1
study:
  id: {id}
  owner: Test team
  contact: test@example.org
data:
  bucket: {bucket}
  prefix: raw/
  key_pattern: "raw/{{subject}}/{{visit}}/{{device}}.cwa"
metadata:
  study_file: metadata/subjects.csv
  fields:
    height_m: number
requirements:
  metadata_fields: [height_m]
  timeout: 10m
  poll_interval: 5m
pipeline:
  biomarkers: "^0.1"
  steps:
    - step: activity
"#
    )
}

/// Writes `n` small objects straight into the bucket's folder: no per-object fsync and no
/// events (data written before its config is ignored anyway; the scan registers it).
fn put_files(b: &LocalBackend, bucket: &str, n: usize) {
    b.store.create_bucket(bucket).unwrap();
    for i in 0..n {
        let path = b
            .store
            .object_path(bucket, &format!("raw/S{i:04}/V1/wrist.cwa"))
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // Not a recording: registration records a header error, which is all this test needs.
        std::fs::write(&path, b"not a recording").unwrap();
    }
}

#[test]
fn a_large_study_starts_its_files_through_a_manifest_and_a_distributed_map() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = LocalOptions::new(tmp.path()).unwrap();
    // No file reaches a batch job; a job started by mistake fails instead of running this binary.
    opts.job_command = ("false".into(), Vec::new());
    opts.clock = Arc::new(asl::ScaledClock::new(1e6));
    assert_eq!(opts.settings.manifest_threshold, DEFAULT_MANIFEST_THRESHOLD);
    let b = LocalBackend::open(opts).unwrap();
    put_files(&b, "big-data", BIG_FILES);
    put_files(&b, "small-data", SMALL_FILES);
    for (key, id, bucket) in [
        ("studies/big-study.yaml", "big-study", "big-data"),
        ("studies/small-study.yaml", "small-study", "small-data"),
    ] {
        // Without events too: the scheduled scan below reads both configs at once.
        let path = b.store.object_path(CONFIG_BUCKET, key).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, config(id, bucket)).unwrap();
    }
    let started = Instant::now();
    b.scan_configs().unwrap();
    assert!(
        b.wait_idle(Duration::from_secs(300)),
        "backend not idle in time"
    );
    let elapsed = started.elapsed();

    let executions = b.catalog.list_executions().unwrap();
    let scans: Vec<_> = executions
        .iter()
        .filter(|e| e.state_machine == "scan-configs")
        .collect();
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].status, "SUCCEEDED", "{:?}", scans[0]);
    assert_eq!(
        scans[0].output,
        Some(serde_json::json!(["big-study", "small-study"]))
    );
    // The big study's starts went to one manifest holding every file; the small one has none.
    let manifests = b.store.list(CONFIG_BUCKET, "studies/_manifests/").unwrap();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    assert!(
        manifests[0]
            .key
            .starts_with("studies/_manifests/big-study/")
    );
    let starts: Vec<FileStart> =
        serde_json::from_slice(&b.store.get(CONFIG_BUCKET, &manifests[0].key).unwrap()).unwrap();
    assert_eq!(starts.len(), BIG_FILES);
    assert!(starts.iter().all(|s| s.input.study == "big-study"));

    // One process-file execution per file of either study, named as the manifest says.
    let file_runs: Vec<_> = executions
        .iter()
        .filter(|e| e.state_machine == "process-file")
        .collect();
    assert_eq!(file_runs.len(), BIG_FILES + SMALL_FILES);
    assert!(
        starts
            .iter()
            .all(|s| file_runs.iter().any(|e| e.name == s.name))
    );

    // The scan's history shows a Map Run for the big study and inline iterations for the other.
    let history = b
        .catalog
        .execution_history(&scans[0].execution_arn)
        .unwrap()
        .expect("history");
    let events = history.as_array().expect("events");
    let count = |kind: &str| {
        events
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some(kind))
            .count()
    };
    assert_eq!(count("MapRunStarted"), 1);
    assert_eq!(count("MapRunSucceeded"), 1);

    // Every file had its execution: none is left REGISTERED.
    for (study, n) in [("big-study", BIG_FILES), ("small-study", SMALL_FILES)] {
        let files = b.catalog.list_files(study, &FileFilter::default()).unwrap();
        assert_eq!(files.len(), n);
        let left: Vec<_> = files
            .iter()
            .filter(|f| f.status == FileStatus::Registered)
            .map(|f| f.file_key.as_str())
            .collect();
        assert!(left.is_empty(), "{study}: still REGISTERED: {left:?}");
    }
    eprintln!(
        "scan of {} files took {:.1} s",
        BIG_FILES + SMALL_FILES,
        elapsed.as_secs_f64()
    );
}
