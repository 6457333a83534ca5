//! `studyflow demo`: the whole flow on the embedded local backend.
//!
//! 1. open a local root (config bucket, study bucket, SQLite catalog);
//! 2. write synthetic recordings (CWA, from `biomarkers::synth`) and subject metadata into the
//!    study bucket: two subjects with a multi-day wrist file, one lumbar file, one subject whose
//!    metadata arrives late, and one corrupt file;
//! 3. write the example configs into the config bucket: the upload starts the config-scan state
//!    machine, which registers the files and starts one process-file execution per file;
//! 4. upload a second lumbar recording after the study is active (the data-arrival flow) and,
//!    once the late subject's file is visibly WAITING, its metadata;
//! 5. wait until every execution is done and report each file's status.
//!
//! Everything is deterministic, so running the demo again on the same root writes identical
//! objects (same ETags): every event is a replay and nothing is processed twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use biomarkers::synth::{Placement, SynthParams};

use crate::local::{LocalBackend, LocalOptions};
use crate::model::{FileItem, FileStatus};
use crate::ports::{Catalog, FileFilter, ObjectStore, PortError};

/// The example configs shipped in `studies-example/studies/`.
pub const EXAMPLE_CONFIGS: &[(&str, &str)] = &[(
    "studies/demo-wrist.yaml",
    include_str!("../../studies-example/studies/demo-wrist.yaml"),
)];

/// The demo study's id and bucket (as in `studies-example/studies/demo-wrist.yaml`).
pub const DEMO_STUDY: &str = "demo-wrist";
/// The demo study's bucket.
pub const DEMO_BUCKET: &str = "demo-study";
/// The subject whose metadata arrives late.
pub const LATE_SUBJECT: &str = "S03";
/// The corrupt file's key.
pub const CORRUPT_KEY: &str = "raw/S04/V1/wrist.cwa";

/// Demo settings.
#[derive(Clone)]
pub struct DemoOptions {
    /// The local backend (root, job command, clock).
    pub local: LocalOptions,
    /// Days per wrist recording.
    pub days: f64,
    /// Sampling rate of the recordings, Hz (a CWA rate: 12.5, 25, 50, 100...).
    pub rate_hz: f64,
    /// Give up waiting after this long (real time).
    pub timeout: Duration,
}

/// One file's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoFile {
    /// The catalog item.
    pub item: FileItem,
    /// Seconds from the demo's start until the file reached its final status (real time).
    pub wall_seconds: Option<f64>,
}

/// The demo's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    /// Every file of the demo study.
    pub files: Vec<DemoFile>,
    /// True when every good file SUCCEEDED and the corrupt one FAILED.
    pub ok: bool,
    /// Why not ok.
    pub problems: Vec<String>,
    /// Most batch jobs that ran at once.
    pub peak_parallel_jobs: usize,
}

/// Progress as the demo runs: (final files, files known, phase text).
pub type Progress<'a> = &'a dyn Fn(usize, usize, &str);

fn synth(days: f64, rate: f64, placement: Placement, seed: u64) -> SynthParams {
    SynthParams {
        seed,
        days,
        fs: rate,
        placement,
        ..SynthParams::default()
    }
}

fn recording(key: &str, params: &SynthParams) -> Result<Vec<u8>, PortError> {
    let mut bytes = Vec::new();
    biomarkers::synth::write_cwa(params, &mut bytes)
        .map_err(|e| PortError::new("demo", format!("synthesising {key}: {e}")))?;
    Ok(bytes)
}

/// A deterministic "corrupt" recording: a plausible name, bytes no reader accepts.
fn corrupt_bytes() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn metadata_csv(subjects: &[&str]) -> String {
    let mut s = String::from("subject,height_m,age,time_zone\n");
    for (i, subject) in subjects.iter().enumerate() {
        s.push_str(&format!(
            "{subject},{:.2},{},UTC\n",
            1.62 + 0.07 * i as f64,
            34 + 9 * i
        ));
    }
    s
}

/// Runs the demo. `progress` is called while waiting.
pub fn run(opts: &DemoOptions, progress: Progress<'_>) -> Result<DemoReport, PortError> {
    let t0 = Instant::now();
    let deadline = t0 + opts.timeout;
    let backend = LocalBackend::open(opts.local.clone())?;
    let store = backend.store.clone();
    store.create_bucket(DEMO_BUCKET)?;

    progress(0, 0, "writing recordings");
    let (d, r) = (opts.days, opts.rate_hz);
    for (key, placement, seed) in [
        ("raw/S01/V1/wrist.cwa", Placement::Wrist, 1),
        ("raw/S02/V1/wrist.cwa", Placement::Wrist, 2),
        ("raw/S03/V1/wrist.cwa", Placement::Wrist, 3),
    ] {
        store.put(
            DEMO_BUCKET,
            key,
            &recording(key, &synth(d, r, placement, seed))?,
        )?;
    }
    store.put(DEMO_BUCKET, CORRUPT_KEY, &corrupt_bytes())?;
    // Made now, uploaded once the study is active: the timing of the late events below must not
    // depend on how fast this machine synthesises recordings.
    let lumbar_key = "raw/S01/V1/lumbar.cwa";
    let lumbar = recording(lumbar_key, &synth(d.min(1.0), r, Placement::Lumbar, 4))?;
    store.put(
        DEMO_BUCKET,
        "metadata/subjects.csv",
        metadata_csv(&["S01", "S02", "S04"]).as_bytes(),
    )?;

    progress(0, 0, "uploading study configs");
    for (key, text) in EXAMPLE_CONFIGS {
        store.put(&opts.local.settings.config_bucket, key, text.as_bytes())?;
    }
    // The data-arrival flow: a recording uploaded once the study is active.
    wait_until(
        &backend,
        deadline,
        progress,
        "waiting for the config scan",
        |files| !files.is_empty(),
    )?;
    store.put(DEMO_BUCKET, lumbar_key, &lumbar)?;

    // The late metadata: only once the subject's file is visibly waiting for it.
    let late_key = format!("raw/{LATE_SUBJECT}/V1/wrist.cwa");
    wait_until(
        &backend,
        deadline,
        progress,
        "waiting for requirements",
        |files| {
            files
                .iter()
                .any(|f| f.file_key == late_key && f.status != FileStatus::Registered)
        },
    )?;
    store.put(
        DEMO_BUCKET,
        "metadata/subjects.csv",
        metadata_csv(&["S01", "S02", LATE_SUBJECT, "S04"]).as_bytes(),
    )?;

    let mut finished_at = std::collections::BTreeMap::new();
    loop {
        let files = backend
            .catalog
            .list_files(DEMO_STUDY, &FileFilter::default())?;
        for f in &files {
            if f.status.is_final() {
                finished_at
                    .entry(f.file_key.clone())
                    .or_insert_with(|| t0.elapsed().as_secs_f64());
            }
        }
        let done = files.iter().filter(|f| f.status.is_final()).count();
        progress(done, files.len(), "processing");
        if done == files.len() && backend.wait_idle(Duration::from_millis(200)) {
            break;
        }
        backend.wait_idle(Duration::from_millis(200));
        if Instant::now() >= deadline {
            return Err(PortError::new(
                "demo",
                format!("not finished after {:?}", opts.timeout),
            ));
        }
    }

    let files = backend
        .catalog
        .list_files(DEMO_STUDY, &FileFilter::default())?;
    let mut problems = Vec::new();
    for f in &files {
        let expected = if f.file_key == CORRUPT_KEY {
            FileStatus::Failed
        } else {
            FileStatus::Succeeded
        };
        if f.status != expected {
            problems.push(format!(
                "{} is {} (expected {expected}){}",
                f.file_key,
                f.status,
                f.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ));
        }
    }
    if files.len() != 5 {
        problems.push(format!("expected 5 files, found {}", files.len()));
    }
    let peak = backend.jobs.peak_parallel();
    Ok(DemoReport {
        ok: problems.is_empty(),
        problems,
        files: files
            .into_iter()
            .map(|item| DemoFile {
                wall_seconds: finished_at.get(&item.file_key).copied(),
                item,
            })
            .collect(),
        peak_parallel_jobs: peak,
    })
}

fn wait_until(
    backend: &LocalBackend,
    deadline: Instant,
    progress: Progress<'_>,
    phase: &str,
    cond: impl Fn(&[FileItem]) -> bool,
) -> Result<(), PortError> {
    loop {
        let files = backend
            .catalog
            .list_files(DEMO_STUDY, &FileFilter::default())?;
        let done = files.iter().filter(|f| f.status.is_final()).count();
        progress(done, files.len(), phase);
        if cond(&files) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(PortError::new("demo", format!("timed out {phase}")));
        }
        // Waiting on the backend (events handled, executions ended) bounds each poll.
        backend.wait_idle(Duration::from_millis(50));
    }
}

/// A clock for the demo: 1 real second is `scale` seconds for the state machines, so the
/// five-minute requirement poll takes a fraction of a second.
pub fn demo_clock(scale: f64) -> Arc<dyn asl::Clock> {
    Arc::new(asl::ScaledClock::new(scale))
}
