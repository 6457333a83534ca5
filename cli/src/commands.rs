//! The subcommands: argument structs and thin wiring over the libraries.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use biomarkers::io::ReadOptions;
use clap::Args;
use studyflow::batch::{self, JobInput, JobIo, Location};
use studyflow::demo::{self, DemoOptions};
use studyflow::local::LocalOptions;
use studyflow::ports::{Catalog, FileFilter};

/// Sets up `tracing`: human-readable warnings on stderr for interactive use; JSON lines for
/// Lambda/Batch (`json`), to stdout for the batch job so that stderr carries only its one error
/// line.
pub fn init_logging(json: bool, to_stdout: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("STUDYFLOW_LOG")
        .unwrap_or_else(|_| EnvFilter::new(if json { "info" } else { "warn" }));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json && to_stdout {
        builder.json().with_writer(std::io::stdout).init();
    } else if json {
        builder.json().with_writer(std::io::stderr).init();
    } else {
        builder.with_writer(std::io::stderr).init();
    }
}

/// `demo` arguments.
#[derive(Args)]
pub struct DemoArgs {
    /// Local root folder.
    #[arg(long, default_value = ".studyflow")]
    root: PathBuf,
    /// Days per wrist recording.
    #[arg(long, default_value_t = 3.0)]
    days: f64,
    /// Sampling rate of the synthetic recordings, Hz.
    #[arg(long, default_value_t = 25.0)]
    rate: f64,
    /// State-machine seconds per real second (the 5-minute requirement poll becomes fast).
    #[arg(long, default_value_t = 3000.0)]
    clock_scale: f64,
    /// Most batch jobs at once (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Give up after this many real seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn demo(a: DemoArgs) -> Result<ExitCode> {
    let mut local = LocalOptions::new(&a.root)?;
    local.clock = demo::demo_clock(a.clock_scale);
    if let Some(j) = a.jobs {
        local.max_parallel_jobs = j;
    }
    let opts = DemoOptions {
        local,
        days: a.days,
        rate_hz: a.rate,
        timeout: Duration::from_secs(a.timeout),
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed:>4} [{bar:30}] {pos}/{len} files {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    if a.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let report = demo::run(&opts, &|done, total, phase| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(phase.to_string());
        bar.tick();
    })?;
    bar.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{:<24} {:<8} {:<24} {:>8}  RESULT / ERROR",
            "FILE", "SUBJECT", "STATUS", "WALL s"
        );
        for f in &report.files {
            let detail = f
                .item
                .result_prefix
                .clone()
                .filter(|_| f.item.status == studyflow::model::FileStatus::Succeeded)
                .or_else(|| f.item.error.clone())
                .unwrap_or_default();
            println!(
                "{:<24} {:<8} {:<24} {:>8}  {}",
                f.item.file_key,
                f.item.subject,
                f.item.status.as_str(),
                f.wall_seconds
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_else(|| "-".into()),
                detail
            );
        }
        println!(
            "\nroot: {}   results: {}/buckets/{}/results/   peak parallel jobs: {}",
            a.root.display(),
            a.root.display(),
            demo::DEMO_BUCKET,
            report.peak_parallel_jobs
        );
        for p in &report.problems {
            println!("problem: {p}");
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn validate(files: &[PathBuf]) -> Result<ExitCode> {
    if files.is_empty() {
        bail!("name at least one config file");
    }
    let mut ok = true;
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        match parse_config_file(f, &text) {
            Ok(c) => println!("{}: ok (study {})", f.display(), c.study.id),
            Err(e) => {
                ok = false;
                println!("{e}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Parses a config file; an SKDH pipeline it names by key is read relative to the folder that
/// holds `studies/` (the config bucket's layout), or to the config's own folder.
fn parse_config_file(
    path: &Path,
    text: &str,
) -> Result<studyflow::config::StudyConfig, studyflow::config::ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let bases = [dir.parent().unwrap_or(dir).to_path_buf(), dir.to_path_buf()];
    let mut load = |key: &str| -> Result<String, String> {
        bases
            .iter()
            .map(|b| b.join(key))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{key} not found beside {}", path.display()))
            .and_then(|p| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display())))
    };
    studyflow::config::parse_config_with(&path.display().to_string(), text, &mut load)
}

pub fn schema() -> Result<ExitCode> {
    println!(
        "{}",
        serde_json::to_string_pretty(&studyflow::config::json_schema())?
    );
    Ok(ExitCode::SUCCESS)
}

/// `process` arguments.
#[derive(Args)]
pub struct ProcessArgs {
    /// The recording.
    file: PathBuf,
    /// Result folder.
    #[arg(long)]
    out: PathBuf,
    /// A study config whose pipeline to use (default: the default wrist pipeline).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Subject height, metres.
    #[arg(long)]
    height_m: Option<f64>,
    /// IANA time zone of the subject's days.
    #[arg(long)]
    time_zone: Option<String>,
    /// Also write CSV tables.
    #[arg(long)]
    csv: bool,
    /// Also write the HTML report (`report.html`).
    #[arg(long)]
    html: bool,
    /// APDM files: the sensor to read, by label (e.g. "Left Wrist") or id (default: the one
    /// labelled Lumbar, or the only one); wins over the config's `data.read.sensor`.
    #[arg(long)]
    sensor: Option<String>,
}

pub fn process(a: ProcessArgs) -> Result<ExitCode> {
    let (pipeline, config_hash, mut formats, mut read) = match &a.config {
        Some(path) => {
            let text =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let cfg = parse_config_file(path, &String::from_utf8_lossy(&text))?;
            (
                cfg.pipeline()?.resolved(),
                studyflow::config::config_hash(&text),
                cfg.output
                    .format_names()
                    .into_iter()
                    .filter(|f| *f != "parquet")
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
                cfg.data.read.clone(),
            )
        }
        None => (
            biomarkers::pipeline::Pipeline::default_wrist().resolved(),
            String::new(),
            Vec::new(),
            studyflow::config::ReadConfig::default(),
        ),
    };
    if a.sensor.is_some() {
        read.sensor = a.sensor.clone();
    }
    for (flag, name) in [(a.csv, "csv"), (a.html, "html")] {
        if flag && !formats.iter().any(|f| f == name) {
            formats.push(name.to_string());
        }
    }
    let mut subject = serde_json::Map::new();
    if let Some(h) = a.height_m {
        subject.insert("height_m".into(), h.into());
    }
    if let Some(tz) = &a.time_zone {
        subject.insert("time_zone".into(), tz.clone().into());
    }
    let stem = a
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "file".into());
    let out_dir = a
        .out
        .join(format!("biomarkers-{}", biomarkers::VERSION))
        .join(&stem);
    let job = JobInput {
        input: Location::Path(a.file.clone()),
        output: Location::Path(out_dir.clone()),
        pipeline,
        subject,
        study: String::new(),
        file_key: a.file.display().to_string(),
        input_etag: String::new(),
        config_hash,
        formats,
        delete_input_after_success: false,
        tables_output: None,
        read,
    };
    let scratch = tempfile::tempdir()?;
    let summary = batch::run_job(
        &job,
        &JobIo {
            store: None,
            scratch: scratch.path(),
        },
    )?;
    for o in &summary.outputs {
        println!(
            "{}  ({} rows)",
            out_dir.join(o["file"].as_str().unwrap_or("")).display(),
            o["rows"]
        );
    }
    println!("{}", out_dir.join("summary.json").display());
    Ok(ExitCode::SUCCESS)
}

/// `status` arguments.
#[derive(Args)]
pub struct StatusArgs {
    /// Local root folder.
    #[arg(long, default_value = ".studyflow")]
    root: PathBuf,
    /// Only this study.
    #[arg(long)]
    study: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// Print the execution history (Step Functions events) of this file key.
    #[arg(long, value_name = "FILE_KEY")]
    history: Option<String>,
}

fn print_history(
    catalog: &studyflow::local::SqliteCatalog,
    a: &StatusArgs,
    key: &str,
) -> Result<ExitCode> {
    let studies = catalog.list_studies()?;
    let file = studies
        .iter()
        .filter(|s| a.study.as_ref().is_none_or(|x| *x == s.study))
        .find_map(|s| catalog.get_file(&s.study, key).ok().flatten())
        .with_context(|| format!("no file {key} in the catalog"))?;
    let arn = file
        .execution_id
        .with_context(|| format!("{key} has no execution yet"))?;
    let history = catalog
        .execution_history(&arn)?
        .with_context(|| format!("execution {arn} is still running or has no history"))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&history)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("execution {arn}");
    for e in history.as_array().into_iter().flatten() {
        let details = &e["details"];
        let name = details
            .as_object()
            .and_then(|m| {
                m.values()
                    .find_map(|v| v.get("name").and_then(|n| n.as_str()))
            })
            .unwrap_or("");
        println!(
            "{:>4} {} {:<28} {}",
            e["id"],
            e["timestamp"].as_str().unwrap_or(""),
            e["type"].as_str().unwrap_or(""),
            name
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(a: StatusArgs) -> Result<ExitCode> {
    let catalog = studyflow::local::open_catalog(&a.root)?;
    if let Some(key) = &a.history {
        return print_history(&catalog, &a, key);
    }
    let studies: Vec<_> = catalog
        .list_studies()?
        .into_iter()
        .filter(|s| a.study.as_ref().is_none_or(|x| *x == s.study))
        .collect();
    let mut out = Vec::new();
    for s in &studies {
        let files = catalog.list_files(&s.study, &FileFilter::default())?;
        out.push((s.clone(), files));
    }
    if a.json {
        let v: Vec<_> = out
            .iter()
            .map(|(s, f)| serde_json::json!({"study": s, "files": f}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (s, files) in &out {
        println!(
            "study {} [{}] config s3://{}/{}{}",
            s.study,
            s.status.as_str(),
            s.config_bucket,
            s.config_key,
            s.error
                .as_deref()
                .map(|e| format!("\n  error: {e}"))
                .unwrap_or_default()
        );
        for f in files {
            println!(
                "  {:<28} {:<24} {}",
                f.file_key,
                f.status.as_str(),
                f.error
                    .clone()
                    .or_else(|| f.result_prefix.clone())
                    .unwrap_or_default()
            );
        }
    }
    if out.is_empty() {
        println!("no studies in {}", a.root.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `retry` arguments.
#[derive(Args)]
pub struct RetryArgs {
    /// Local root folder.
    #[arg(long, default_value = ".studyflow")]
    root: PathBuf,
    /// Only this study.
    #[arg(long)]
    study: Option<String>,
    /// Only this file key (also reruns a SUCCEEDED file).
    #[arg(long)]
    file: Option<String>,
    /// State-machine seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    clock_scale: f64,
    /// Give up after this many real seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

pub fn retry(a: RetryArgs) -> Result<ExitCode> {
    let mut local = LocalOptions::new(&a.root)?;
    local.clock = demo::demo_clock(a.clock_scale);
    let backend = studyflow::local::LocalBackend::open(local)?;
    let restarted = backend.retry(a.study.as_deref(), a.file.as_deref())?;
    if !backend.wait_idle(Duration::from_secs(a.timeout)) {
        bail!("retried files not finished after {} s", a.timeout);
    }
    let mut ok = true;
    for f in &restarted {
        let now = backend
            .catalog
            .get_file(&f.study, &f.file_key)?
            .context("file vanished from the catalog")?;
        ok &= now.status == studyflow::model::FileStatus::Succeeded;
        println!(
            "{:<28} {:<24} {}",
            now.file_key,
            now.status.as_str(),
            now.error.or(now.result_prefix).unwrap_or_default()
        );
    }
    if restarted.is_empty() {
        println!("nothing to retry");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn info(file: &Path, json: bool) -> Result<ExitCode> {
    let facts =
        biomarkers::io::read_header_file(file).with_context(|| format!("{}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&facts)?);
    } else {
        let v = serde_json::to_value(&facts)?;
        if let Some(m) = v.as_object() {
            for (k, val) in m {
                println!("{k:<16} {val}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `studyflow convert`: `sensor` picks an APDM sensor by label or id.
pub fn convert(file: &Path, out: &Path, sensor: Option<String>) -> Result<ExitCode> {
    let mut opts = ReadOptions::default();
    opts.apdm.sensor_label = sensor;
    let rec =
        biomarkers::io::read_file(file, &opts).with_context(|| format!("{}", file.display()))?;
    let table = biomarkers::table::samples_table(&rec);
    let f = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let w = std::io::BufWriter::new(f);
    match out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => table.write_parquet(w, &[])?,
        Some("csv") => table.write_csv(w)?,
        _ => bail!("{}: the output must end in .parquet or .csv", out.display()),
    }
    for issue in &rec.issues {
        eprintln!("warning: byte {}: {}", issue.offset, issue.message);
    }
    println!("{} samples -> {}", rec.len(), out.display());
    Ok(ExitCode::SUCCESS)
}

/// The batch job entry point (see `studyflow::batch::entry_point`); `s3://` URIs resolve in the
/// local root named by `STUDYFLOW_LOCAL_ROOT`.
pub fn batch_job(args: &[String]) -> ExitCode {
    let root = std::env::var_os("STUDYFLOW_LOCAL_ROOT").map(PathBuf::from);
    let store = root.as_deref().map(studyflow::local::plain_store);
    let code = batch::entry_point(
        args,
        store
            .as_ref()
            .map(|s| s as &dyn studyflow::ports::ObjectStore),
    );
    ExitCode::from(code as u8)
}
