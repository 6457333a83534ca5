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

/// The study's `data.read` section reaches the reader through `STUDYFLOW_READ` (`--read`): the
/// APDM sensor by label, and `on_data_issues: fail` turning skipped corrupt CWA blocks into a
/// failure that names the file and the first bad block's byte offset.
#[test]
fn read_options_choose_the_apdm_sensor_and_the_corrupt_block_policy() {
    let dir = tempfile::tempdir().unwrap();
    let apdm = format!("{SHARED}/skdh/io/apdm_sample.h5");
    let device_of = |read: Option<&str>, out: &str| {
        let mut c = batch_job();
        c.args(["--input", &apdm, "--output"])
            .arg(dir.path().join(out))
            .args(["--pipeline", r#"{"steps":[]}"#]);
        if let Some(r) = read {
            c.args(["--read", r]);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(out).join("summary.json")).unwrap(),
        )
        .unwrap();
        summary["recording"]["device_id"].clone()
    };
    let lumbar = device_of(None, "default");
    let wrist = device_of(Some(r#"{"sensor":"Left Wrist"}"#), "wrist");
    assert!(lumbar.is_string() && wrist.is_string());
    assert_ne!(lumbar, wrist, "the label picked another sensor");
    assert_eq!(device_of(Some(r#"{"sensor":"Lumbar"}"#), "lumbar"), lumbar);

    let corrupt = format!("{SHARED}/ggirread/ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa");
    let run = |read: &str, out: &str| {
        batch_job()
            .args(["--input", &corrupt, "--output"])
            .arg(dir.path().join(out))
            .args(["--pipeline", r#"{"steps":[]}"#, "--read", read])
            .output()
            .unwrap()
    };
    let reported = run("{}", "reported");
    assert!(reported.status.success());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("reported/summary.json")).unwrap())
            .unwrap();
    assert!(
        !summary["data_issues"].as_array().unwrap().is_empty(),
        "the corrupt blocks are listed"
    );
    let failed = run(r#"{"on_data_issues":"fail"}"#, "failed");
    assert_eq!(failed.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(
        String::from_utf8_lossy(&failed.stderr)
            .lines()
            .next()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let err = err["error"].as_str().unwrap();
    assert!(
        err.contains("ax3_testfile_corrupt_blocks") && err.contains("byte offset"),
        "{err}"
    );
    assert!(!dir.path().join("failed/summary.json").exists());
    let bad = run(r#"{"on_data_issue":"fail"}"#, "bad");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("STUDYFLOW_READ"));
}
