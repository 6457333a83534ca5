//! The data team's commands: `files` (query the catalog), `fetch` (download raw files or
//! results), `upload` (place recordings under a study's key pattern), `usage`, `presign`.
//! Each works on the local root and, with `--backend aws` (cargo feature `aws`), on the stack.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use studyflow::config::{KeyParts, StudyConfig};
use studyflow::local::LocalOptions;
use studyflow::model::{FileItem, FileStatus};
use studyflow::ports::{Catalog, ObjectStore};
use studyflow::query::{self, FileQuery};
use studyflow::transfer::{self, FetchWhat};

use crate::backend::{Backend, BackendArgs, BackendKind};

/// Filters shared by `files` and `fetch`.
#[derive(Args, Clone)]
pub struct QueryArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// Only this study.
    #[arg(long)]
    study: Option<String>,
    /// Only this subject.
    #[arg(long)]
    subject: Option<String>,
    /// Only this visit.
    #[arg(long)]
    visit: Option<String>,
    /// Only this device.
    #[arg(long)]
    device: Option<String>,
    /// Only this status (REGISTERED, WAITING, PROCESSING, SUCCEEDED, FAILED,
    /// REQUIREMENTS_TIMED_OUT; any case).
    #[arg(long)]
    status: Option<String>,
    /// Only recordings that end at or after this time (2026-03-01, RFC 3339 or unix seconds).
    #[arg(long)]
    from: Option<String>,
    /// Only recordings that start before this time.
    #[arg(long)]
    to: Option<String>,
}

impl QueryArgs {
    fn query(&self) -> Result<FileQuery> {
        Ok(FileQuery {
            study: self.study.clone(),
            subject: self.subject.clone(),
            visit: self.visit.clone(),
            device: self.device.clone(),
            status: self
                .status
                .as_deref()
                .map(query::parse_status)
                .transpose()?,
            from: self
                .from
                .as_deref()
                .map(|t| query::parse_time("from", t))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|t| query::parse_time("to", t))
                .transpose()?,
        })
    }

    fn run(&self) -> Result<(Backend, Vec<FileItem>)> {
        let q = self.query()?;
        let backend = Backend::open(&self.backend, None)?;
        let found = q.run(backend.catalog())?;
        Ok((backend, found))
    }
}

/// `files` arguments.
#[derive(Args)]
pub struct FilesArgs {
    #[command(flatten)]
    query: QueryArgs,
    /// JSON output (one array of catalog items).
    #[arg(long)]
    json: bool,
}

fn civil(t: Option<f64>) -> String {
    t.map(query::format_utc).unwrap_or_else(|| "-".into())
}

pub fn files(a: FilesArgs) -> Result<ExitCode> {
    let (_, found) = a.query.run()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<14} {:<32} {:<8} {:<6} {:<8} {:<16} {:<16} {:>9}  STATUS",
        "STUDY", "FILE", "SUBJECT", "VISIT", "DEVICE", "START (UTC)", "END (UTC)", "MB"
    );
    for f in &found {
        println!(
            "{:<14} {:<32} {:<8} {:<6} {:<8} {:<16} {:<16} {:>9.1}  {}{}",
            f.study,
            f.file_key,
            f.subject,
            f.visit,
            f.device,
            civil(f.recording_start),
            civil(f.recording_end),
            f.size as f64 / 1e6,
            f.status.as_str(),
            f.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    println!(
        "{} files, {:.1} MB",
        found.len(),
        query::total_size(&found) as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

/// `fetch` arguments.
#[derive(Args)]
pub struct FetchArgs {
    #[command(flatten)]
    query: QueryArgs,
    /// Download the results (tables, summary) instead of the raw recordings.
    #[arg(long)]
    results: bool,
    /// Destination folder (files go to OUT/<study>/<key>).
    #[arg(long)]
    out: PathBuf,
}

pub fn fetch(a: FetchArgs) -> Result<ExitCode> {
    let (backend, found) = a.query.run()?;
    let what = if a.results {
        FetchWhat::Results
    } else {
        FetchWhat::Raw
    };
    let (plan, missing) = transfer::plan_fetch(backend.store(), &found, what, &a.out)?;
    let total: u64 = plan.iter().map(|d| d.size).sum();
    let bar = progress_bar(total);
    for d in &plan {
        bar.set_message(d.key.clone());
        backend.download(d, &|n| bar.inc(n))?;
    }
    bar.finish_and_clear();
    println!(
        "{} objects, {:.1} MB -> {}",
        plan.len(),
        total as f64 / 1e6,
        a.out.display()
    );
    for m in &missing {
        println!("not fetched: {m}");
    }
    Ok(if missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A byte progress bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed:>4} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// `upload` arguments.
#[derive(Args)]
pub struct UploadArgs {
    /// Recordings to upload.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    backend: BackendArgs,
    /// The study the recordings belong to.
    #[arg(long)]
    study: String,
    /// Subject id (one subject per call).
    #[arg(long)]
    subject: String,
    /// Visit label, when the study's key pattern has `{visit}`.
    #[arg(long)]
    visit: Option<String>,
    /// Device label, when the key pattern has `{device}` (one file per device: with several
    /// files, each file's name without extension is its device unless this is given).
    #[arg(long)]
    device: Option<String>,
    /// Wait up to this many seconds for the uploaded files to be processed (0: do not wait).
    #[arg(long, default_value_t = 3600)]
    wait: u64,
    /// AWS: files larger than this go to S3 in parts of this size (MiB, 5 to 512; more when a
    /// file would need over 10 000 parts). An interrupted multipart upload resumes when the
    /// same command runs again.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(5..=512))]
    part_size_mib: u64,
    /// AWS: folder of the state files of unfinished multipart uploads (one small JSON file per
    /// upload, naming its upload id). Default: $STUDYFLOW_UPLOAD_STATE_DIR, else
    /// $XDG_CACHE_HOME/studyflow/uploads, else ~/.cache/studyflow/uploads.
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

/// The object key of each file to upload, from the study's key pattern.
fn upload_keys<'a>(a: &'a UploadArgs, cfg: &StudyConfig) -> Result<Vec<(&'a PathBuf, String)>> {
    if a.device.is_some() && a.files.len() > 1 {
        bail!("--device names one device: upload one file per call, or leave --device out");
    }
    let mut keys = Vec::new();
    for f in &a.files {
        if !f.is_file() {
            bail!("{}: not a file", f.display());
        }
        let device = a.device.clone().or_else(|| {
            f.file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .filter(|_| cfg.data.key_pattern.has_device())
        });
        let parts = KeyParts {
            subject: a.subject.clone(),
            visit: a.visit.clone(),
            device,
        };
        keys.push((f, transfer::upload_key(cfg, &parts, f)?));
    }
    Ok(keys)
}

pub fn upload(a: UploadArgs) -> Result<ExitCode> {
    if a.backend.kind()? == BackendKind::Aws {
        return upload_aws(a);
    }
    let root = &a.backend.root;
    let backend = studyflow::local::LocalBackend::open(LocalOptions::new(root)?)?;
    let (study, cfg) = transfer::study_config(backend.catalog.as_ref(), &a.study)?;
    let keys = upload_keys(&a, &cfg)?;
    for (f, key) in &keys {
        let meta = backend
            .store
            .upload(&study.bucket, key, f)
            .with_context(|| format!("uploading {}", f.display()))?;
        println!(
            "{} -> s3://{}/{} ({:.1} MB)",
            f.display(),
            study.bucket,
            key,
            meta.size as f64 / 1e6
        );
    }
    if a.wait == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let idle = backend.wait_idle(Duration::from_secs(a.wait));
    let ok = print_statuses(backend.catalog.as_ref(), &a.study, &keys)?;
    if !idle {
        println!(
            "still running after {} s; `studyflow status --root {}` shows progress",
            a.wait,
            root.display()
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints each uploaded file's catalog status; true when every one SUCCEEDED.
fn print_statuses(catalog: &dyn Catalog, study: &str, keys: &[(&PathBuf, String)]) -> Result<bool> {
    let mut ok = true;
    for (_, key) in keys {
        let item = catalog.get_file(study, key)?;
        let (status, detail) = match &item {
            Some(i) => (
                i.status.as_str(),
                i.error
                    .clone()
                    .or(i.result_prefix.clone())
                    .unwrap_or_default(),
            ),
            None => ("NOT REGISTERED", String::new()),
        };
        ok &= item.is_some_and(|i| i.status == FileStatus::Succeeded);
        println!("{key:<32} {status:<24} {detail}");
    }
    Ok(ok)
}

#[cfg(not(feature = "aws"))]
fn upload_aws(a: UploadArgs) -> Result<ExitCode> {
    // Only S3 uploads use these options.
    let _ = (&a.state_dir, a.part_size_mib);
    Backend::open(&a.backend, None)?;
    bail!("--backend aws did not open the AWS backend")
}

/// Where state files of unfinished multipart uploads live: in the user's cache rather than
/// next to the recordings, whose folders may be read-only (a device dump, a shared drive) and
/// where a state file would be swept up by the next `upload *.cwa`.
#[cfg(feature = "aws")]
fn state_dir(a: &UploadArgs) -> Result<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = a
        .state_dir
        .clone()
        .or_else(|| env("STUDYFLOW_UPLOAD_STATE_DIR"))
    {
        return Ok(d);
    }
    if let Some(cache) = env("XDG_CACHE_HOME") {
        return Ok(cache.join("studyflow").join("uploads"));
    }
    match env("HOME") {
        Some(home) => Ok(home.join(".cache").join("studyflow").join("uploads")),
        None => bail!("no HOME or XDG_CACHE_HOME: name a folder for upload state with --state-dir"),
    }
}

/// The state file of one upload: named by a hash of bucket, key and the source's absolute
/// path, so the same command finds it again and different uploads never share one.
#[cfg(feature = "aws")]
fn state_file(dir: &std::path::Path, bucket: &str, key: &str, src: &std::path::Path) -> PathBuf {
    let abs = std::fs::canonicalize(src).unwrap_or_else(|_| src.to_path_buf());
    let mut id = Vec::new();
    for part in [
        bucket.as_bytes(),
        key.as_bytes(),
        abs.as_os_str().as_encoded_bytes(),
    ] {
        id.extend_from_slice(&(part.len() as u64).to_le_bytes());
        id.extend_from_slice(part);
    }
    // SHA-256 hex (the config hash function): stable across builds, unlike std's hasher.
    let hex = &studyflow::config::config_hash(&id)[..32];
    dir.join(format!("{hex}.json"))
}

#[cfg(feature = "aws")]
fn upload_aws(a: UploadArgs) -> Result<ExitCode> {
    let backend = Backend::open(&a.backend, Some(a.part_size_mib << 20))?;
    let Backend::Aws(aws) = &backend else {
        bail!("--backend aws did not open the AWS backend");
    };
    let (study, cfg) = transfer::study_config(&aws.catalog, &a.study)?;
    let keys = upload_keys(&a, &cfg)?;
    let dir = state_dir(&a)?;
    for (f, key) in &keys {
        let state = state_file(&dir, &study.bucket, key, f);
        let size = std::fs::metadata(f)
            .with_context(|| format!("{}", f.display()))?
            .len();
        let bar = progress_bar(size);
        bar.set_message(key.clone());
        let report = aws
            .store
            .upload_resumable(&study.bucket, key, f, &state, &|n| bar.inc(n));
        bar.finish_and_clear();
        let report = report.with_context(|| {
            if state.exists() {
                format!(
                    "uploading {} (interrupted: run the same command again to resume; the \
                     upload id is in {})",
                    f.display(),
                    state.display()
                )
            } else {
                format!("uploading {}", f.display())
            }
        })?;
        let mut how = format!(
            "{} part{}",
            report.parts,
            if report.parts == 1 { "" } else { "s" }
        );
        if report.resumed_parts > 0 {
            how.push_str(&format!(
                ", resumed upload {}: {} part(s), {:.1} MB already there",
                report.upload_id.as_deref().unwrap_or("-"),
                report.resumed_parts,
                report.resumed_bytes as f64 / 1e6
            ));
        }
        println!(
            "{} -> s3://{}/{} ({:.1} MB, {how}; size and ETag {} verified)",
            f.display(),
            study.bucket,
            key,
            report.meta.size as f64 / 1e6,
            report.meta.etag
        );
    }
    if a.wait == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    // S3 events register the files and the state machine processes them: poll the catalog.
    let deadline = std::time::Instant::now() + Duration::from_secs(a.wait);
    let poll = Duration::from_secs(10);
    let done = loop {
        let mut all = true;
        for (_, key) in &keys {
            let item = aws.catalog.get_file(&a.study, key)?;
            all &= item.is_some_and(|i| i.status.is_final());
        }
        if all || std::time::Instant::now() >= deadline {
            break all;
        }
        std::thread::sleep(poll);
    };
    let ok = print_statuses(&aws.catalog, &a.study, &keys)?;
    if !done {
        println!(
            "still running after {} s; `studyflow files --backend aws --study {}` shows progress",
            a.wait, a.study
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `usage` arguments.
#[derive(Args)]
pub struct UsageArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// The study (default: every study).
    #[arg(long)]
    study: Option<String>,
    /// vCPUs of the Batch job definition, for the cost estimate (the stack's default: 2).
    #[arg(long, default_value_t = 2.0)]
    vcpu: f64,
    /// Memory of the Batch job definition in GiB (the stack's default: 8).
    #[arg(long, default_value_t = 8.0)]
    memory_gib: f64,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn usage(a: UsageArgs) -> Result<ExitCode> {
    use studyflow::usage::{FargateSize, StudyUsage};
    let backend = Backend::open(&a.backend, None)?;
    let (catalog, store) = (backend.catalog(), backend.store());
    let size = FargateSize {
        vcpu: a.vcpu,
        memory_gib: a.memory_gib,
    };
    let mut out = Vec::new();
    for study in query::study_ids(catalog, a.study.as_deref())? {
        let mut u = StudyUsage {
            study: study.clone(),
            ..Default::default()
        };
        let files = catalog.list_files(&study, &studyflow::ports::FileFilter::default())?;
        for f in files.iter().filter(|f| f.status == FileStatus::Succeeded) {
            let Some((bucket, prefix)) =
                f.result_prefix.as_deref().and_then(transfer::split_s3_uri)
            else {
                continue;
            };
            let key = format!("{}/summary.json", prefix.trim_end_matches('/'));
            let bytes = store
                .get(&bucket, &key)
                .with_context(|| format!("s3://{bucket}/{key}"))?;
            let summary: serde_json::Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("s3://{bucket}/{key} is not JSON"))?;
            u.add_summary(&summary, size);
        }
        out.push(u);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:>5} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "STUDY", "RUNS", "WALL h", "CPU h", "PEAK MB", "READ MB", "WRITE MB", "EST. USD"
    );
    for u in &out {
        println!(
            "{:<16} {:>5} {:>10.3} {:>10.3} {:>10.0} {:>10.1} {:>10.1} {:>10.4}",
            u.study,
            u.runs,
            u.wall_seconds / 3600.0,
            u.cpu_seconds / 3600.0,
            u.max_peak_rss_bytes as f64 / 1e6,
            u.bytes_read as f64 / 1e6,
            u.bytes_written as f64 / 1e6,
            u.estimated_cost_usd
        );
        if u.runs_without_usage > 0 {
            println!(
                "  {} runs have no usage record (results of an older version)",
                u.runs_without_usage
            );
        }
    }
    println!(
        "cost: Fargate on-demand, {} vCPU / {} GiB per job, us-east-1 x86_64 prices; an estimate",
        a.vcpu, a.memory_gib
    );
    Ok(ExitCode::SUCCESS)
}

/// `presign` arguments.
#[derive(Args)]
pub struct PresignArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// The study the key belongs to.
    #[arg(long)]
    study: String,
    /// The object key the URL may write: under the study's prefix and matching its key
    /// pattern (e.g. raw/S01/V1/wrist.cwa).
    #[arg(long)]
    key: String,
    /// How long the URL works (s, m, h, d units; at most 12h).
    #[arg(long, default_value = "1h")]
    expires: String,
    /// JSON output (url, bucket, key, expires_at).
    #[arg(long)]
    json: bool,
}

/// Prints a pre-signed PUT URL for one key of a study's bucket (AWS backend only).
pub fn presign(a: PresignArgs) -> Result<ExitCode> {
    let seconds = transfer::presign_expiry(&a.expires)?;
    if a.backend.kind()? == BackendKind::Local {
        bail!(
            "presign needs the AWS backend (--backend aws): a pre-signed URL lets a site without \
             credentials PUT one key into the study's S3 bucket, and the local root has no \
             endpoint that accepts uploads (`studyflow serve` is read-only); copy files in with \
             `studyflow upload` instead"
        );
    }
    let backend = Backend::open(&a.backend, None)?;
    let (study, cfg) = transfer::study_config(backend.catalog(), &a.study)?;
    transfer::presign_key(&cfg, &a.key)?;
    let url = presign_url(&backend, &study.bucket, &a.key, seconds)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let expires_at = format!("{} UTC", query::format_utc(now + seconds as f64));
    if a.json {
        let out = serde_json::json!({
            "url": url, "bucket": study.bucket, "key": a.key,
            "expires_in_seconds": seconds, "expires_at": expires_at,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{url}");
        eprintln!(
            "PUT-only URL for s3://{}/{}, valid until {expires_at} (or until the credentials \
             that signed it expire). Use: curl -X PUT --upload-file FILE 'URL'",
            study.bucket, a.key
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "aws")]
fn presign_url(backend: &Backend, bucket: &str, key: &str, seconds: u64) -> Result<String> {
    let Backend::Aws(aws) = backend else {
        bail!("presign needs the AWS backend");
    };
    Ok(aws
        .store
        .presign_put(bucket, key, Duration::from_secs(seconds))?)
}

#[cfg(not(feature = "aws"))]
fn presign_url(_: &Backend, _: &str, _: &str, _: u64) -> Result<String> {
    bail!("presign needs the AWS backend, and this studyflow was built without it")
}
