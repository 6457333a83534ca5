//! End-to-end tests of the local flow: the `studyflow` binary's demo on a scaled clock, the
//! results read back, replays, bad configs and a batch job killed halfway.

use std::path::{Path, PathBuf};
use std::process::Command;

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

fn studyflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_studyflow"))
}

/// Small, fast demo settings: one day at 12.5 Hz, a clock 20 000 times faster than real time.
fn demo(root: &Path, extra_env: &[(&str, &str)]) -> (bool, Value) {
    let out = studyflow()
        .args(["demo", "--json", "--days", "1", "--rate", "12.5"])
        .args(["--clock-scale", "20000", "--timeout", "600", "--root"])
        .arg(root)
        .envs(extra_env.iter().copied())
        .output()
        .expect("run studyflow demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "demo printed no JSON report ({e}); stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["item"]["file_key"].as_str().unwrap_or("").to_string(),
                f["item"]["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn result_dir(root: &Path, subject: &str, visit: &str, stem: &str) -> PathBuf {
    root.join("buckets/demo-study/results")
        .join(format!("biomarkers-{}", env!("CARGO_PKG_VERSION")))
        .join(subject)
        .join(visit)
        .join(stem)
}

fn executions(root: &Path) -> i64 {
    let c = rusqlite::Connection::open(root.join("catalog.sqlite")).expect("open catalog");
    c.query_row("SELECT COUNT(*) FROM executions", [], |r| r.get(0))
        .expect("count executions")
}

#[test]
fn demo_processes_every_file_once_and_writes_complete_results() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let (ok, report) = demo(&root, &[]);
    assert!(ok, "demo failed: {report:#}");
    let st = statuses(&report);
    assert_eq!(st.len(), 5, "{st:?}");
    for (key, status) in &st {
        let expected = if key == "raw/S04/V1/wrist.cwa" {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        assert_eq!(status, expected, "{key}");
    }
    let corrupt = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["item"]["file_key"] == "raw/S04/V1/wrist.cwa")
        .unwrap();
    let err = corrupt["item"]["error"].as_str().unwrap_or("");
    assert!(
        err.contains("raw/S04/V1/wrist.cwa") && err.contains("byte"),
        "the corrupt file's error names the file and byte offset: {err}"
    );

    // Results: Parquet tables with rows, and summary.json written after them.
    let dir = result_dir(&root, "S01", "V1", "wrist");
    let summary_path = dir.join("summary.json");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(&summary_path).expect("summary.json")).unwrap();
    assert_eq!(summary["library_version"], env!("CARGO_PKG_VERSION"));
    let outputs = summary["outputs"].as_array().expect("outputs");
    assert!(!outputs.is_empty());
    let summary_mtime = std::fs::metadata(&summary_path)
        .unwrap()
        .modified()
        .unwrap();
    for o in outputs {
        let file = dir.join(o["file"].as_str().unwrap());
        let meta = std::fs::metadata(&file).unwrap();
        assert!(
            meta.modified().unwrap() <= summary_mtime,
            "{file:?} written after the summary"
        );
        if o["format"] == "parquet" {
            let r = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
            let rows = r.metadata().file_metadata().num_rows();
            assert_eq!(rows, o["rows"].as_i64().unwrap(), "{file:?}");
            assert!(rows > 0, "{file:?} is empty");
        }
    }
    let epochs = SerializedFileReader::new(
        std::fs::File::open(dir.join("activity_epochs.parquet")).unwrap(),
    )
    .unwrap();
    let schema = epochs.metadata().file_metadata().schema_descr();
    let names: Vec<_> = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "enmo"), "{names:?}");

    // The late subject's file visibly waited for its metadata.
    let late = result_dir(&root, "S03", "V1", "wrist").join("summary.json");
    assert!(late.is_file());
    let c = rusqlite::Connection::open(root.join("catalog.sqlite")).unwrap();
    let history: String = c
        .query_row(
            "SELECT history FROM executions WHERE state_machine='process-file' AND input LIKE '%S03%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        history.contains("WaitStateEntered"),
        "S03's execution never waited"
    );

    // Running the demo again on the same root processes nothing twice.
    let before = executions(&root);
    let (ok2, report2) = demo(&root, &[]);
    assert!(ok2, "second demo failed: {report2:#}");
    assert_eq!(statuses(&report2), st);
    assert_eq!(executions(&root), before, "a replay started new executions");
}

#[test]
fn a_job_killed_before_its_summary_leaves_no_summary_and_a_failed_status() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let (ok, report) = demo(&root, &[("STUDYFLOW_FAULT", "abort-before-summary")]);
    assert!(!ok, "the demo must fail when every job is killed");
    for (key, status) in statuses(&report) {
        assert_eq!(status, "FAILED", "{key}");
    }
    let dir = result_dir(&root, "S01", "V1", "wrist");
    assert!(
        dir.join("activity_epochs.parquet").is_file(),
        "the job got as far as its tables"
    );
    assert!(
        !dir.join("summary.json").exists(),
        "a killed job left a summary"
    );

    // A rerun of the failed files succeeds.
    let out = studyflow()
        .args(["retry", "--clock-scale", "20000", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    let retry_log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "retry must report that the corrupt file failed again"
    );
    assert!(dir.join("summary.json").is_file(), "retry log: {retry_log}");
    let status = studyflow()
        .args(["status", "--json", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&status.stdout).unwrap();
    let files = v[0]["files"].as_array().unwrap();
    for f in files {
        let expected = if f["file_key"] == "raw/S04/V1/wrist.cwa" {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        assert_eq!(f["status"], expected, "{}", f["file_key"]);
    }
}
