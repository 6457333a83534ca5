//! The data team's commands: `files` (query the catalog), `fetch` (download raw files or
//! results), `upload` (place recordings under a study's key pattern).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use studyflow::config::KeyParts;
use studyflow::local::LocalOptions;
use studyflow::model::{FileItem, FileStatus};
use studyflow::ports::{Catalog, ObjectStore};
use studyflow::query::{self, FileQuery};
use studyflow::transfer::{self, FetchWhat};

/// Filters shared by `files` and `fetch`.
#[derive(Args, Clone)]
pub struct QueryArgs {
    /// Local root folder.
    #[arg(long, default_value = ".studyflow")]
    root: PathBuf,
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

    fn run(&self) -> Result<Vec<FileItem>> {
        let q = self.query()?;
        if !studyflow::local::catalog_path(&self.root).is_file() {
            bail!(
                "{} has no catalog (run `studyflow demo` or drop a config first)",
                self.root.display()
            );
        }
        let catalog = studyflow::local::open_catalog(&self.root)?;
        Ok(q.run(&catalog)?)
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
    let found = a.query.run()?;
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
    let found = a.query.run()?;
    let store = studyflow::local::plain_store(&a.query.root);
    let what = if a.results {
        FetchWhat::Results
    } else {
        FetchWhat::Raw
    };
    let (plan, missing) = transfer::plan_fetch(&store, &found, what, &a.out)?;
    let total: u64 = plan.iter().map(|d| d.size).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed:>4} [{bar:30}] {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    for d in &plan {
        bar.set_message(d.key.clone());
        transfer::download(&store, d)
            .with_context(|| format!("s3://{}/{} -> {}", d.bucket, d.key, d.dest.display()))?;
        bar.inc(d.size);
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

/// `upload` arguments.
#[derive(Args)]
pub struct UploadArgs {
    /// Recordings to upload.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Local root folder.
    #[arg(long, default_value = ".studyflow")]
    root: PathBuf,
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
}

pub fn upload(a: UploadArgs) -> Result<ExitCode> {
    let backend = studyflow::local::LocalBackend::open(LocalOptions::new(&a.root)?)?;
    let (study, cfg) = transfer::study_config(backend.catalog.as_ref(), &a.study)?;
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
        keys.push((f, transfer::upload_key(&cfg, &parts, f)?));
    }
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
    let mut ok = true;
    for (_, key) in &keys {
        let item = backend.catalog.get_file(&a.study, key)?;
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
    if !idle {
        println!(
            "still running after {} s; `studyflow status --root {}` shows progress",
            a.wait,
            a.root.display()
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
    /// Local root folder.
    #[arg(long, default_value = ".studyflow")]
    root: PathBuf,
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
    let catalog = studyflow::local::open_catalog(&a.root)?;
    let store = studyflow::local::plain_store(&a.root);
    let size = FargateSize {
        vcpu: a.vcpu,
        memory_gib: a.memory_gib,
    };
    let mut out = Vec::new();
    for study in query::study_ids(&catalog, a.study.as_deref())? {
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
