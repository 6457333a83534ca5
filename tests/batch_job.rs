//! The batch job's process contract: flags or environment in, results out, exit 0 only when
//! every result is written, otherwise one JSON error line that names the file.

use std::process::Command;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn batch_job() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_studyflow"));
    c.arg("batch-job").env_remove("STUDYFLOW_INPUT");
    c
}

#[test]
fn flags_run_a_real_recording_and_write_the_summary_last() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = batch_job()
        .arg("--input")
        .arg(format!("{SHARED}/skdh/examples/example_data.cwa"))
        .arg("--output")
        .arg(out_dir.path())
        .args([
            "--pipeline",
            r#"{"steps":[{"step":"activity"}]}"#,
            "--formats",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["recording"]["sample_rate"], 100.0);
    assert!(out_dir.path().join("activity_epochs.parquet").is_file());
    assert!(out_dir.path().join("activity_epochs.csv").is_file());
}

#[test]
fn a_truncated_recording_fails_with_one_json_line_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read(format!("{SHARED}/skdh/io/ax3_sample.cwa")).unwrap();
    let bad = dir.path().join("truncated.cwa");
    std::fs::write(&bad, &src[..1024 + 300]).unwrap();
    let out = batch_job()
        .env("STUDYFLOW_INPUT", &bad)
        .env("STUDYFLOW_OUTPUT", dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one error line: {stderr}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let err = v["error"].as_str().unwrap();
    assert!(
        err.contains("truncated.cwa") && err.contains("byte"),
        "{err}"
    );
    assert!(!dir.path().join("out/summary.json").exists());
}

#[test]
fn unknown_flags_are_refused() {
    let out = batch_job().args(["--inptu", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--inptu"));
}

/// The privacy option: the input object is deleted only with `STUDYFLOW_DELETE_INPUT=true`, and
/// only after the summary and every result were read back.
#[test]
fn the_input_is_deleted_after_success_only_when_the_study_asks() {
    let root = tempfile::tempdir().unwrap();
    let raw = root.path().join("buckets/study-b/raw");
    std::fs::create_dir_all(&raw).unwrap();
    let run = |name: &str, delete: Option<&str>| {
        std::fs::copy(
            format!("{SHARED}/skdh/examples/example_data.cwa"),
            raw.join(format!("{name}.cwa")),
        )
        .unwrap();
        let mut c = batch_job();
        c.env("STUDYFLOW_LOCAL_ROOT", root.path())
            .env("STUDYFLOW_INPUT", format!("s3://study-b/raw/{name}.cwa"))
            .env("STUDYFLOW_OUTPUT", format!("s3://study-b/results/{name}"))
            .env("STUDYFLOW_PIPELINE", r#"{"steps":[{"step":"activity"}]}"#)
            .env_remove("STUDYFLOW_DELETE_INPUT");
        if let Some(d) = delete {
            c.env("STUDYFLOW_DELETE_INPUT", d);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results = root.path().join("buckets/study-b/results").join(name);
        assert!(results.join("summary.json").is_file());
        assert!(results.join("activity_epochs.parquet").is_file());
        raw.join(format!("{name}.cwa")).is_file()
    };
    assert!(!run("deleted", Some("true")), "the input was not deleted");
    assert!(
        run("default", None),
        "the input was deleted without the option"
    );
    assert!(
        run("false", Some("false")),
        "the input was deleted with the option off"
    );
}
