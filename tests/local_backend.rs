//! The local backend driven through its library API (the batch jobs still run as child
//! processes of the real `studyflow` binary): bad configs, requirement time-outs, duplicate
//! events.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use studyflow::local::{LocalBackend, LocalOptions};
use studyflow::model::{FileStatus, StudyStatus};
use studyflow::ports::{Catalog, FileFilter, ObjectStore};

const CONFIG_BUCKET: &str = "studyflow-config";

fn backend(root: &Path, clock_scale: f64) -> LocalBackend {
    let mut opts = LocalOptions::new(root).unwrap();
    opts.job_command = (
        env!("CARGO_BIN_EXE_studyflow").into(),
        vec!["batch-job".into()],
    );
    opts.clock = Arc::new(asl::ScaledClock::new(clock_scale));
    LocalBackend::open(opts).unwrap()
}

fn config(id: &str, bucket: &str, extra: &str) -> String {
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
  timeout: 2h
  poll_interval: 5m
pipeline:
  biomarkers: "^0.1"
  steps:
    - step: activity
{extra}"#
    )
}

fn small_recording(seed: u64) -> Vec<u8> {
    let params = biomarkers::synth::SynthParams {
        seed,
        days: 0.25,
        fs: 12.5,
        ..Default::default()
    };
    let mut bytes = Vec::new();
    biomarkers::synth::write_cwa(&params, &mut bytes).unwrap();
    bytes
}

fn wait(b: &LocalBackend) {
    assert!(
        b.wait_idle(Duration::from_secs(300)),
        "backend not idle in time"
    );
}

#[test]
fn bad_configs_leave_error_objects_and_statuses_and_the_good_study_still_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), 1000.0);
    b.store.create_bucket("good-study").unwrap();
    b.store
        .put("good-study", "raw/S01/V1/wrist.cwa", &small_recording(7))
        .unwrap();
    b.store
        .put(
            "good-study",
            "metadata/subjects.csv",
            b"subject,height_m\nS01,1.70\n",
        )
        .unwrap();

    let bad = [
        (
            "studies/bad-syntax.yaml",
            "schema: 1\nstudy: [unclosed\n".to_string(),
        ),
        (
            "studies/bad-key.yaml",
            config("bad-key", "good-study", "surprise: true\n"),
        ),
        (
            "studies/bad-bucket.yaml",
            config("bad-bucket", "no-such-bucket", ""),
        ),
    ];
    for (key, text) in &bad {
        b.store.put(CONFIG_BUCKET, key, text.as_bytes()).unwrap();
    }
    b.store
        .put(
            CONFIG_BUCKET,
            "studies/good.yaml",
            config("good", "good-study", "").as_bytes(),
        )
        .unwrap();
    wait(&b);

    let expect = [
        ("studies/bad-syntax.yaml", "bad-syntax.yaml:2"),
        ("studies/bad-key.yaml", "surprise"),
        ("studies/bad-bucket.yaml", "no-such-bucket"),
    ];
    let studies = b.catalog.list_studies().unwrap();
    for (key, needle) in expect {
        let obj = b
            .store
            .get(CONFIG_BUCKET, &format!("{key}.error.json"))
            .unwrap_or_else(|e| panic!("no error object for {key}: {e}"));
        let v: serde_json::Value = serde_json::from_slice(&obj).unwrap();
        let err = v["error"].as_str().unwrap();
        assert!(err.contains(needle), "{key}: {err}");
        let item = studies
            .iter()
            .find(|s| s.config_key == key)
            .unwrap_or_else(|| panic!("no study item for {key}"));
        assert_eq!(item.status, StudyStatus::Invalid, "{key}");
        assert!(item.error.as_deref().unwrap_or("").contains(needle));
    }
    let good = b.catalog.get_study("good").unwrap().unwrap();
    assert_eq!(good.status, StudyStatus::Active);
    let files = b
        .catalog
        .list_files("good", &FileFilter::default())
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].status,
        FileStatus::Succeeded,
        "{:?}",
        files[0].error
    );

    // Fixing a config removes its error object and activates the study.
    b.store
        .put(
            CONFIG_BUCKET,
            "studies/bad-key.yaml",
            config("bad-key", "good-study", "").as_bytes(),
        )
        .unwrap();
    wait(&b);
    assert!(
        b.store
            .head(CONFIG_BUCKET, "studies/bad-key.yaml.error.json")
            .unwrap()
            .is_none()
    );
    assert_eq!(
        b.catalog.get_study("bad-key").unwrap().unwrap().status,
        StudyStatus::Active
    );
}

#[test]
fn metadata_that_never_arrives_times_out_and_duplicate_events_start_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // 2 h of requirement waiting at 20 000x: well under a second.
    let b = backend(tmp.path(), 20_000.0);
    b.store.create_bucket("wait-study").unwrap();
    b.store
        .put(
            CONFIG_BUCKET,
            "studies/waits.yaml",
            config("waits", "wait-study", "").as_bytes(),
        )
        .unwrap();
    wait(&b);
    let rec = small_recording(9);
    // The same upload twice (S3 delivers at least once): one registration, one execution.
    b.store
        .put("wait-study", "raw/S09/V1/wrist.cwa", &rec)
        .unwrap();
    b.store
        .put("wait-study", "raw/S09/V1/wrist.cwa", &rec)
        .unwrap();
    wait(&b);
    let f = b
        .catalog
        .get_file("waits", "raw/S09/V1/wrist.cwa")
        .unwrap()
        .unwrap();
    assert_eq!(f.status, FileStatus::RequirementsTimedOut);
    let err = f.error.unwrap_or_default();
    assert!(
        err.contains("height_m") && err.contains("2h"),
        "the error says what was missing and for how long: {err}"
    );
    let runs = b
        .catalog
        .list_executions()
        .unwrap()
        .into_iter()
        .filter(|e| e.state_machine == "process-file")
        .count();
    assert_eq!(runs, 1, "a duplicated event started a second execution");
}
