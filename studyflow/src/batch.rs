//! The batch job: one recording in, result tables out. The same code runs in the Batch container
//! (`batch-job` binary), as the local runner's child process (`studyflow batch-job`), and behind
//! `studyflow process FILE --out DIR`.
//!
//! Contract (DESIGN.md): input from environment variables or flags; `s3://bucket/key` URIs and
//! plain paths both work; the tables are written first and `summary.json` last (after removing a
//! stale one), so a reader that sees a summary sees a complete result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use biomarkers::io::{ReadOptions, Recording};
use biomarkers::pipeline::{Pipeline, PipelineSpec, SubjectContext};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ports::{ObjectStore, PortError};

/// A place to read from or write to: an object in a bucket or a local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket/key`.
    Object {
        /// Bucket.
        bucket: String,
        /// Key (a prefix for outputs).
        key: String,
    },
    /// A local file or folder.
    Path(PathBuf),
}

impl Location {
    /// Parses `s3://bucket/key` or a plain path.
    pub fn parse(s: &str) -> Result<Location, JobError> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(JobError::input(format!("bad URI {s:?}: no bucket")));
            }
            Ok(Location::Object {
                bucket: bucket.to_string(),
                key: key.to_string(),
            })
        } else if s.is_empty() {
            Err(JobError::input("empty location"))
        } else {
            Ok(Location::Path(PathBuf::from(s)))
        }
    }

    /// The location as text (`s3://...` or the path).
    pub fn display(&self) -> String {
        match self {
            Location::Object { bucket, key } => format!("s3://{bucket}/{key}"),
            Location::Path(p) => p.display().to_string(),
        }
    }
}

/// Everything one job needs.
#[derive(Debug, Clone)]
pub struct JobInput {
    /// The recording.
    pub input: Location,
    /// The result folder / prefix.
    pub output: Location,
    /// The resolved pipeline.
    pub pipeline: PipelineSpec,
    /// Subject metadata fields (height_m, time_zone, ...).
    pub subject: serde_json::Map<String, Value>,
    /// Study id, for provenance.
    pub study: String,
    /// File key, for provenance.
    pub file_key: String,
    /// Input ETag, for provenance.
    pub input_etag: String,
    /// Config hash, for provenance.
    pub config_hash: String,
    /// Extra formats besides Parquet (`csv`, `html`).
    pub formats: Vec<String>,
    /// Delete the input object once the results and summary are written and read back
    /// (`STUDYFLOW_DELETE_INPUT=true`, set only for studies whose config says
    /// `output.delete_input_after_success: true`). Never applies to a local path input.
    pub delete_input_after_success: bool,
    /// Where SQL copies of the tables go (`STUDYFLOW_TABLES_OUTPUT`): a URI or path with a
    /// `{table}` placeholder, in the hive-style tree
    /// `<prefix>/tables/{table}/version=<v>/study=<s>/subject=<x>/<file>.parquet`, each copy with
    /// a leading `file_key` column. `None`: no copies.
    pub tables_output: Option<String>,
    /// How the recording is read (`STUDYFLOW_READ`, the config's `data.read` as JSON): APDM
    /// sensor, CSV layout, whether skipped bad data fails the job.
    pub read: crate::config::ReadConfig,
}

/// Why a job failed. Its Display is the one-line error of the job's JSON error line.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job's own input (environment, pipeline, subject) is bad.
    #[error("bad job input: {0}")]
    Input(String),
    /// The recording cannot be read.
    #[error("{file}: {message}")]
    Read {
        /// The file (URI or path).
        file: String,
        /// The reader's error, with its byte offset.
        message: String,
    },
    /// The pipeline rejected the recording or parameters.
    #[error("pipeline: {0}")]
    Pipeline(String),
    /// Storage failed.
    #[error("{0}")]
    Storage(#[from] PortError),
    /// A local file operation failed.
    #[error("{0}")]
    Io(String),
    /// The catalog no longer describes this input (a newer upload replaced it, or the item is
    /// gone): the job wrote nothing.
    #[error("stale job: {0}")]
    Stale(String),
}

impl JobError {
    fn input(s: impl Into<String>) -> Self {
        JobError::Input(s.into())
    }
}

/// What one job did (written as `summary.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSummary {
    /// Summary format version.
    pub schema: u32,
    /// Library that computed the results.
    pub library: String,
    /// Its version.
    pub library_version: String,
    /// Study id.
    pub study: String,
    /// Inputs with their ETags.
    pub inputs: Vec<Value>,
    /// SHA-256 of the study config.
    pub config_hash: String,
    /// The resolved pipeline (every parameter).
    pub pipeline: PipelineSpec,
    /// Subject metadata used.
    pub subject: serde_json::Map<String, Value>,
    /// The recording's header facts.
    pub recording: Value,
    /// Problems the reader skipped over (corrupt blocks...).
    pub data_issues: Vec<Value>,
    /// Result files with their row counts.
    pub outputs: Vec<Value>,
    /// Per-step reports (timings, notes).
    pub steps: Vec<Value>,
    /// Timings, seconds: read, compute, write, total.
    pub timings: BTreeMap<String, f64>,
    /// When the job finished, RFC 3339.
    pub finished_at: String,
    /// What the run consumed (absent in summaries of older versions).
    #[serde(default)]
    pub usage: crate::usage::RunUsage,
}

/// Where the job reads and writes: a store for `s3://` locations (absent for path-only jobs).
pub struct JobIo<'a> {
    /// The object store behind `s3://` URIs.
    pub store: Option<&'a dyn ObjectStore>,
    /// A scratch folder for downloads and encoded tables.
    pub scratch: &'a Path,
}

/// Runs one job. See the module doc for the write order.
pub fn run_job(job: &JobInput, io: &JobIo<'_>) -> Result<JobSummary, JobError> {
    let t0 = Instant::now();
    let pipeline =
        Pipeline::from_spec(&job.pipeline).map_err(|e| JobError::input(e.to_string()))?;
    let subject_ctx = SubjectContext {
        height_m: job.subject.get("height_m").and_then(Value::as_f64),
        time_zone: job
            .subject
            .get("time_zone")
            .and_then(Value::as_str)
            .map(str::to_string),
    };

    let (local_input, cleanup) = fetch_input(job, io)?;
    let bytes_read = std::fs::metadata(&local_input)
        .map(|m| m.len())
        .unwrap_or(0);
    let rec = read_recording(&local_input, &job.read).map_err(|message| JobError::Read {
        file: job.input.display(),
        message,
    });
    if cleanup {
        let _ = std::fs::remove_file(&local_input);
    }
    let mut rec: Recording = rec?;
    let t_read = t0.elapsed().as_secs_f64();
    // The pipeline takes the recording (it calibrates in place); the summary keeps these.
    let header = rec.header.clone();
    let data_issues = std::mem::take(&mut rec.issues);

    let t1 = Instant::now();
    let out = pipeline
        .run_owned(rec, &subject_ctx)
        .map_err(|e| JobError::Pipeline(e.to_string()))?;
    let t_compute = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    // A stale summary from an earlier run must not vouch for the tables about to be replaced.
    remove_output(io, &job.output, "summary.json")?;
    let meta = vec![
        (
            "studyflow.library_version".to_string(),
            biomarkers::VERSION.to_string(),
        ),
        ("studyflow.study".to_string(), job.study.clone()),
        ("studyflow.input".to_string(), job.input.display()),
        ("studyflow.input_etag".to_string(), job.input_etag.clone()),
    ];
    let mut outputs = Vec::new();
    let mut bytes_written = 0u64;
    for table in &out.tables {
        let scratch = io.scratch.join(format!("{}.parquet", table.name));
        {
            let f = std::fs::File::create(&scratch)
                .map_err(|e| JobError::Io(format!("{}: {e}", scratch.display())))?;
            table
                .write_parquet(std::io::BufWriter::new(f), &meta)
                .map_err(|e| JobError::Io(format!("{}: {e}", table.name)))?;
        }
        let name = format!("{}.parquet", table.name);
        bytes_written += std::fs::metadata(&scratch).map(|m| m.len()).unwrap_or(0);
        write_output_file(io, &job.output, &name, &scratch)?;
        outputs.push(json!({"file": name, "table": table.name, "rows": table.num_rows(), "format": "parquet"}));
        if job.formats.iter().any(|f| f == "csv") {
            let csv = io.scratch.join(format!("{}.csv", table.name));
            {
                let f = std::fs::File::create(&csv)
                    .map_err(|e| JobError::Io(format!("{}: {e}", csv.display())))?;
                table
                    .write_csv(std::io::BufWriter::new(f))
                    .map_err(|e| JobError::Io(format!("{}: {e}", table.name)))?;
            }
            let name = format!("{}.csv", table.name);
            bytes_written += std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
            write_output_file(io, &job.output, &name, &csv)?;
            outputs.push(json!({"file": name, "table": table.name, "rows": table.num_rows(), "format": "csv"}));
        }
    }
    if std::env::var("STUDYFLOW_FAULT").as_deref() == Ok("abort-before-summary") {
        // Fault injection for the "job killed halfway" tests: die like a SIGKILL would, after the
        // tables and before the summary.
        std::process::abort();
    }
    let t_write = t2.elapsed().as_secs_f64();
    let mut timings = BTreeMap::new();
    timings.insert("read".to_string(), t_read);
    timings.insert("compute".to_string(), t_compute);
    timings.insert("write".to_string(), t_write);
    timings.insert("total".to_string(), t0.elapsed().as_secs_f64());
    let summary = JobSummary {
        schema: 1,
        library: "biomarkers".into(),
        library_version: biomarkers::VERSION.into(),
        study: job.study.clone(),
        inputs: vec![
            json!({"uri": job.input.display(), "file_key": job.file_key, "etag": job.input_etag}),
        ],
        config_hash: job.config_hash.clone(),
        pipeline: pipeline.resolved(),
        subject: job.subject.clone(),
        recording: serde_json::to_value(&header).unwrap_or(Value::Null),
        data_issues: data_issues
            .iter()
            .map(|i| json!({"offset": i.offset, "message": i.message}))
            .collect(),
        outputs,
        steps: out
            .reports
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
            .collect(),
        timings,
        finished_at: jiff::Timestamp::now().to_string(),
        usage: crate::usage::RunUsage::default(),
    };
    let mut summary = summary;
    if job.formats.iter().any(|f| f == "html") {
        // The report shows the provenance the summary holds, so it is built from it; the
        // summary still goes last.
        let value = serde_json::to_value(&summary).unwrap_or(Value::Null);
        let html = crate::report::file_report(&out.tables, &value);
        write_output_bytes(io, &job.output, "report.html", html.as_bytes())?;
        bytes_written += html.len() as u64;
        summary
            .outputs
            .push(json!({"file": "report.html", "table": null, "rows": null, "format": "html"}));
    }
    let (cpu_seconds, peak_rss_bytes) = crate::usage::process_cpu_and_peak();
    summary.usage = crate::usage::RunUsage {
        wall_seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds,
        peak_rss_bytes,
        bytes_read,
        bytes_written,
    };
    let text =
        serde_json::to_vec_pretty(&summary).map_err(|e| JobError::Io(format!("summary: {e}")))?;
    write_output_bytes(io, &job.output, "summary.json", &text)?;
    if let Some(template) = &job.tables_output {
        // After the summary: a SQL engine never sees tables of a run whose result folder is
        // incomplete.
        write_sql_copies(job, io, template, &out.tables)?;
    }
    if job.delete_input_after_success {
        delete_input_after_check(job, io, &summary)?;
    }
    Ok(summary)
}

/// Writes each table, with a leading `file_key` column, where `template` (`{table}` replaced)
/// says: the hive-style tree SQL engines (DuckDB, Athena) read as one table per name.
fn write_sql_copies(
    job: &JobInput,
    io: &JobIo<'_>,
    template: &str,
    tables: &[biomarkers::table::Table],
) -> Result<(), JobError> {
    if !template.contains("{table}") {
        return Err(JobError::input(format!(
            "STUDYFLOW_TABLES_OUTPUT has no {{table}} placeholder: {template}"
        )));
    }
    for table in tables {
        let target = Location::parse(&template.replace("{table}", &table.name))?;
        let mut copy = biomarkers::table::Table::new(table.name.clone()).with(
            "file_key",
            None,
            biomarkers::table::ColumnData::Str(vec![job.file_key.clone(); table.num_rows()]),
        );
        copy.columns.extend(table.columns.iter().cloned());
        let names: Vec<String> = copy.columns.iter().map(|c| c.name.clone()).collect();
        let renamed = sql_column_names(&names);
        let mut original = serde_json::Map::new();
        for (col, sql) in copy.columns.iter_mut().zip(renamed) {
            if col.name != sql {
                original.insert(sql.clone(), Value::String(std::mem::take(&mut col.name)));
            }
            col.name = sql;
        }
        let meta = [(
            "studyflow.original_columns".to_string(),
            Value::Object(original).to_string(),
        )];
        let scratch = io.scratch.join(format!("sql-{}.parquet", table.name));
        {
            let f = std::fs::File::create(&scratch)
                .map_err(|e| JobError::Io(format!("{}: {e}", scratch.display())))?;
            copy.write_parquet(std::io::BufWriter::new(f), &meta)
                .map_err(|e| JobError::Io(format!("{}: {e}", table.name)))?;
        }
        match &target {
            Location::Object { bucket, key } => {
                let store = io
                    .store
                    .ok_or_else(|| JobError::input("an s3:// output needs an object store"))?;
                store.upload(bucket, key, &scratch)?;
            }
            Location::Path(path) => {
                let dir = path.parent().unwrap_or(Path::new("."));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                write_output_file(io, &Location::Path(dir.to_path_buf()), &name, &scratch)?;
            }
        }
        let _ = std::fs::remove_file(&scratch);
    }
    Ok(())
}

/// Column names a SQL engine takes without quoting, as Athena and Glue require (lower case
/// letters, digits, `_`; not starting with a digit): `"N wear hours"` becomes `n_wear_hours`,
/// `"MVPA 5min bouts"` `mvpa_5min_bouts`. Names that collide after that get `_2`, `_3`...
pub fn sql_column_names(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .iter()
        .map(|name| {
            let mut out = String::with_capacity(name.len());
            for ch in name.chars().flat_map(char::to_lowercase) {
                let ch = match ch {
                    'a'..='z' | '0'..='9' => ch,
                    '%' => {
                        out.push_str(if out.is_empty() || out.ends_with('_') {
                            "pct"
                        } else {
                            "_pct"
                        });
                        continue;
                    }
                    _ => '_',
                };
                if ch == '_' && (out.is_empty() || out.ends_with('_')) {
                    continue;
                }
                out.push(ch);
            }
            while out.ends_with('_') {
                out.pop();
            }
            if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert_str(0, "c_");
            }
            let mut candidate = out.clone();
            let mut n = 2;
            while !seen.insert(candidate.clone()) {
                candidate = format!("{out}_{n}");
                n += 1;
            }
            candidate
        })
        .collect()
}

/// The privacy option: reads the summary and every result back, and only when all are there
/// deletes the input object. A result that cannot be read back keeps the input and fails the job.
fn delete_input_after_check(
    job: &JobInput,
    io: &JobIo<'_>,
    summary: &JobSummary,
) -> Result<(), JobError> {
    let Location::Object { bucket, key } = &job.input else {
        tracing::info!(input = %job.input.display(), "delete_input_after_success applies to bucket objects only; local file kept");
        return Ok(());
    };
    let store = io
        .store
        .ok_or_else(|| JobError::input("an s3:// input needs an object store"))?;
    let kept = |what: String| {
        JobError::Io(format!(
            "{what}; the input {} was kept",
            job.input.display()
        ))
    };
    let read_back = |name: &str| -> Result<Option<u64>, JobError> {
        match &job.output {
            Location::Object { bucket, key } => {
                Ok(store.head(bucket, &out_key(key, name))?.map(|m| m.size))
            }
            Location::Path(dir) => Ok(std::fs::metadata(dir.join(name)).ok().map(|m| m.len())),
        }
    };
    let summary_bytes = match &job.output {
        Location::Object { bucket, key } => store.get(bucket, &out_key(key, "summary.json"))?,
        Location::Path(dir) => std::fs::read(dir.join("summary.json"))
            .map_err(|e| kept(format!("summary.json cannot be read back: {e}")))?,
    };
    let back: JobSummary = serde_json::from_slice(&summary_bytes)
        .map_err(|e| kept(format!("summary.json read back is not valid: {e}")))?;
    if back.outputs.len() != summary.outputs.len() || back.finished_at != summary.finished_at {
        return Err(kept(
            "summary.json read back differs from the one written".into(),
        ));
    }
    for o in &summary.outputs {
        let name = o["file"].as_str().unwrap_or("");
        match read_back(name)? {
            Some(n) if n > 0 => {}
            _ => return Err(kept(format!("result {name} cannot be read back"))),
        }
    }
    store.delete(bucket, key)?;
    tracing::info!(input = %job.input.display(), "input deleted after its results were read back");
    Ok(())
}

fn fetch_input(job: &JobInput, io: &JobIo<'_>) -> Result<(PathBuf, bool), JobError> {
    match &job.input {
        Location::Path(p) => Ok((p.clone(), false)),
        Location::Object { bucket, key } => {
            let store = io
                .store
                .ok_or_else(|| JobError::input("an s3:// input needs an object store"))?;
            let name = key.rsplit('/').next().unwrap_or("input");
            let dest = io.scratch.join(format!("input-{name}"));
            store.download(bucket, key, &dest)?;
            Ok((dest, true))
        }
    }
}

fn out_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        format!("{prefix}{name}")
    } else {
        format!("{prefix}/{name}")
    }
}

fn write_output_file(
    io: &JobIo<'_>,
    out: &Location,
    name: &str,
    src: &Path,
) -> Result<(), JobError> {
    match out {
        Location::Object { bucket, key } => {
            let store = io
                .store
                .ok_or_else(|| JobError::input("an s3:// output needs an object store"))?;
            store.upload(bucket, &out_key(key, name), src)?;
        }
        Location::Path(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| JobError::Io(format!("{}: {e}", dir.display())))?;
            let dest = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::copy(src, &tmp)
                .and_then(|_| std::fs::rename(&tmp, &dest))
                .map_err(|e| JobError::Io(format!("{}: {e}", dest.display())))?;
        }
    }
    Ok(())
}

fn write_output_bytes(
    io: &JobIo<'_>,
    out: &Location,
    name: &str,
    bytes: &[u8],
) -> Result<(), JobError> {
    let tmp = io.scratch.join(name);
    std::fs::write(&tmp, bytes).map_err(|e| JobError::Io(format!("{}: {e}", tmp.display())))?;
    write_output_file(io, out, name, &tmp)
}

fn remove_output(io: &JobIo<'_>, out: &Location, name: &str) -> Result<(), JobError> {
    match out {
        Location::Object { bucket, key } => {
            if let Some(store) = io.store {
                store.delete(bucket, &out_key(key, name))?;
            }
        }
        Location::Path(dir) => match std::fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(JobError::Io(format!("{}: {e}", dir.join(name).display()))),
        },
    }
    Ok(())
}

/// Reads the recording with the study's read options; with `on_data_issues: fail`, any data
/// the reader skipped fails the read with the first problem's byte offset.
fn read_recording(path: &Path, read: &crate::config::ReadConfig) -> Result<Recording, String> {
    // A CSV layout from the config fills its gaps from the file's first bytes.
    let prefix = match &read.csv {
        Some(_) => Some(biomarkers::io::read_prefix(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = ReadOptions {
        // no step reads light: 8 bytes a sample less
        skip_light: true,
        ..read.read_options(prefix.as_deref())
    };
    let rec = biomarkers::io::read_file(path, &opts).map_err(|e| e.to_string())?;
    if read.on_data_issues == crate::config::OnDataIssues::Fail
        && let Some(first) = rec.issues.first()
    {
        return Err(format!(
            "byte offset {}: {} ({} data problem(s) in all; the study's data.read.on_data_issues is fail)",
            first.offset,
            first.message,
            rec.issues.len()
        ));
    }
    Ok(rec)
}

/// Reads a job from `STUDYFLOW_*` environment variables (the Batch container's overrides).
pub fn job_from_env(get: impl Fn(&str) -> Option<String>) -> Result<JobInput, JobError> {
    let need = |k: &str| get(k).ok_or_else(|| JobError::input(format!("{k} is not set")));
    let pipeline: PipelineSpec = match get("STUDYFLOW_PIPELINE") {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| JobError::input(format!("STUDYFLOW_PIPELINE: {e}")))?,
        None => Pipeline::default_wrist().resolved(),
    };
    let subject = match get("STUDYFLOW_SUBJECT") {
        Some(text) => match serde_json::from_str::<Value>(&text)
            .map_err(|e| JobError::input(format!("STUDYFLOW_SUBJECT: {e}")))?
        {
            Value::Object(m) => m,
            _ => return Err(JobError::input("STUDYFLOW_SUBJECT: not a JSON object")),
        },
        None => serde_json::Map::new(),
    };
    Ok(JobInput {
        input: Location::parse(&need("STUDYFLOW_INPUT")?)?,
        output: Location::parse(&need("STUDYFLOW_OUTPUT")?)?,
        pipeline,
        subject,
        study: get("STUDYFLOW_STUDY").unwrap_or_default(),
        file_key: get("STUDYFLOW_FILE_KEY").unwrap_or_default(),
        input_etag: get("STUDYFLOW_INPUT_ETAG").unwrap_or_default(),
        config_hash: get("STUDYFLOW_CONFIG_HASH").unwrap_or_default(),
        formats: get("STUDYFLOW_FORMATS")
            .map(|f| {
                f.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        delete_input_after_success: get("STUDYFLOW_DELETE_INPUT").as_deref() == Some("true"),
        tables_output: get("STUDYFLOW_TABLES_OUTPUT").filter(|t| !t.is_empty()),
        read: match get("STUDYFLOW_READ").filter(|t| !t.trim().is_empty()) {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| JobError::input(format!("STUDYFLOW_READ: {e}")))?,
            None => crate::config::ReadConfig::default(),
        },
    })
}

/// The command-line flags of the batch job and the environment variables they stand for; a flag
/// wins over its variable.
pub const JOB_FLAGS: &[(&str, &str)] = &[
    ("--input", "STUDYFLOW_INPUT"),
    ("--output", "STUDYFLOW_OUTPUT"),
    ("--pipeline", "STUDYFLOW_PIPELINE"),
    ("--subject", "STUDYFLOW_SUBJECT"),
    ("--study", "STUDYFLOW_STUDY"),
    ("--file-key", "STUDYFLOW_FILE_KEY"),
    ("--input-etag", "STUDYFLOW_INPUT_ETAG"),
    ("--config-hash", "STUDYFLOW_CONFIG_HASH"),
    ("--formats", "STUDYFLOW_FORMATS"),
    ("--read", "STUDYFLOW_READ"),
    ("--catalog-table", "STUDYFLOW_CATALOG_TABLE"),
];

/// Reads `--flag value` / `--flag=value` pairs (see [`JOB_FLAGS`]) into variable names.
pub fn parse_job_flags(
    args: &[String],
) -> Result<std::collections::HashMap<String, String>, JobError> {
    let mut out = std::collections::HashMap::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let Some((_, var)) = JOB_FLAGS.iter().find(|(f, _)| *f == flag) else {
            let known: Vec<_> = JOB_FLAGS.iter().map(|(f, _)| *f).collect();
            return Err(JobError::input(format!(
                "unknown argument {arg:?} (flags: {})",
                known.join(", ")
            )));
        };
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| JobError::input(format!("{flag} needs a value")))?,
        };
        out.insert(var.to_string(), value);
    }
    Ok(out)
}

/// Runs the job described by the flags in `args` and the `STUDYFLOW_*` environment, with a
/// scratch folder that is removed afterwards.
pub fn run_env_job(
    args: &[String],
    store: Option<&dyn ObjectStore>,
) -> Result<JobSummary, JobError> {
    run_env_job_with(args, store, None)
}

/// What a finished job records on its file's catalog item, besides the result files: where the
/// results are and the recording facts of the full read (registration saw only the header).
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// The result folder (`s3://bucket/results/...` or a path).
    pub result_prefix: String,
    /// Library version that computed the results.
    pub library_version: String,
    /// Recording start, unix s.
    pub recording_start: Option<f64>,
    /// Recording end, unix s.
    pub recording_end: Option<f64>,
    /// Nominal sampling rate, Hz.
    pub sample_rate: Option<f64>,
    /// Device serial.
    pub device_id: Option<String>,
    /// The Batch job id (`AWS_BATCH_JOB_ID`), when the job runs on Batch.
    pub job_id: Option<String>,
    /// When the summary was written, RFC 3339.
    pub finished_at: String,
}

impl JobRecord {
    /// The record of a job's summary (`job_id` from the caller's environment).
    pub fn from_summary(job: &JobInput, summary: &JobSummary, job_id: Option<String>) -> Self {
        let r = &summary.recording;
        JobRecord {
            result_prefix: job.output.display(),
            library_version: summary.library_version.clone(),
            recording_start: r.get("start").and_then(Value::as_f64),
            recording_end: r.get("end").and_then(Value::as_f64),
            sample_rate: r.get("sample_rate").and_then(Value::as_f64),
            device_id: r
                .get("device_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            job_id,
            finished_at: summary.finished_at.clone(),
        }
    }
}

/// The catalog as the batch job uses it (DynamoDB on AWS: `crate::aws::DynamoCatalog`). The
/// job never changes a file's status (the state machine owns it); it refuses to run for an
/// input the catalog no longer describes, and records its result facts on the item.
pub trait JobCatalog: Send + Sync {
    /// The ETag the catalog holds for the file, `None` when there is no such item.
    fn current_etag(&self, study: &str, file_key: &str) -> Result<Option<String>, PortError>;
    /// Writes `record` onto the item if its ETag is still `etag`. Returns false (nothing
    /// written) when the item changed or vanished meanwhile.
    fn record_job(
        &self,
        study: &str,
        file_key: &str,
        etag: &str,
        record: &JobRecord,
    ) -> Result<bool, PortError>;
}

/// Like [`run_env_job`], with a catalog: before any result is written the job checks that the
/// catalog's item still has the input's ETag ([`JobError::Stale`] otherwise); after the summary
/// it records a [`JobRecord`] on the item. Jobs without a study or file key skip both.
pub fn run_env_job_with(
    args: &[String],
    store: Option<&dyn ObjectStore>,
    catalog: Option<&dyn JobCatalog>,
) -> Result<JobSummary, JobError> {
    let flags = parse_job_flags(args)?;
    let lookup = |k: &str| flags.get(k).cloned().or_else(|| std::env::var(k).ok());
    let job = job_from_env(lookup)?;
    let catalog = catalog.filter(|_| !job.study.is_empty() && !job.file_key.is_empty());
    // The ETag the results will be recorded against: the job's own, or the catalog's when the
    // job was given none.
    let mut etag = job.input_etag.clone();
    if let Some(c) = catalog {
        match c.current_etag(&job.study, &job.file_key)? {
            Some(current) if etag.is_empty() || current == etag => etag = current,
            Some(current) => {
                return Err(JobError::Stale(format!(
                    "{}/{}: the catalog holds ETag {current}, this job was given {etag}",
                    job.study, job.file_key
                )));
            }
            None => {
                return Err(JobError::Stale(format!(
                    "{}/{}: not in the catalog",
                    job.study, job.file_key
                )));
            }
        }
    }
    let scratch = tempfile::Builder::new()
        .prefix("studyflow-job-")
        .tempdir()
        .map_err(|e| JobError::Io(format!("scratch folder: {e}")))?;
    let summary = run_job(
        &job,
        &JobIo {
            store,
            scratch: scratch.path(),
        },
    )?;
    if let Some(c) = catalog {
        let record = JobRecord::from_summary(&job, &summary, lookup("AWS_BATCH_JOB_ID"));
        if !c.record_job(&job.study, &job.file_key, &etag, &record)? {
            // The results are complete (summary written); only the bookkeeping lost a race
            // with a newer upload, whose own job records its own results.
            tracing::warn!(study = %job.study, file_key = %job.file_key,
                "catalog item changed while the job ran: result facts not recorded");
        }
    }
    Ok(summary)
}

/// [`entry_point`] with a catalog (see [`run_env_job_with`]).
pub fn entry_point_with(
    args: &[String],
    store: Option<&dyn ObjectStore>,
    catalog: Option<&dyn JobCatalog>,
) -> i32 {
    finish(run_env_job_with(args, store, catalog))
}

/// The one JSON error line a failed job prints on stderr (the Batch job contract).
pub fn error_line(e: &JobError) -> String {
    let kind = match e {
        JobError::Input(_) => "input",
        JobError::Read { .. } => "read",
        JobError::Pipeline(_) => "pipeline",
        JobError::Storage(p) if p.transient => "transient",
        JobError::Storage(_) => "storage",
        JobError::Io(_) => "io",
        JobError::Stale(_) => "stale",
    };
    json!({"error": e.to_string(), "kind": kind}).to_string()
}

/// The batch job's whole process contract, shared by the `batch-job` binary and
/// `studyflow batch-job`: run the job from the flags and environment and return the exit code (0 only when
/// every result is written; otherwise 1 after one JSON error line on stderr).
pub fn entry_point(args: &[String], store: Option<&dyn ObjectStore>) -> i32 {
    finish(run_env_job(args, store))
}

fn finish(result: Result<JobSummary, JobError>) -> i32 {
    match result {
        Ok(summary) => {
            tracing::info!(
                outputs = summary.outputs.len(),
                seconds = summary.timings.get("total").copied().unwrap_or_default(),
                "job finished"
            );
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "job failed");
            eprintln!("{}", error_line(&e));
            1
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn sql_column_names_need_no_quoting_and_stay_unique() {
        let names: Vec<String> = [
            "file_key",
            "N wear hours",
            "Wake MVPA 5min bouts",
            "2nd window",
            "% time in bed",
            "a-b",
            "a b",
            "  ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            sql_column_names(&names),
            [
                "file_key",
                "n_wear_hours",
                "wake_mvpa_5min_bouts",
                "c_2nd_window",
                "pct_time_in_bed",
                "a_b",
                "a_b_2",
                "c_",
            ]
        );
    }
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_map_to_variables_and_unknown_ones_are_errors() {
        let m = parse_job_flags(&args(&["--input", "s3://b/k", "--output=/tmp/x"])).unwrap();
        assert_eq!(m["STUDYFLOW_INPUT"], "s3://b/k");
        assert_eq!(m["STUDYFLOW_OUTPUT"], "/tmp/x");
        assert!(parse_job_flags(&args(&["--inptu", "x"])).is_err());
        assert!(parse_job_flags(&args(&["--input"])).is_err());
    }

    #[test]
    fn locations_parse_uris_and_paths() {
        assert_eq!(
            Location::parse("s3://bkt/a/b.cwa").unwrap(),
            Location::Object {
                bucket: "bkt".into(),
                key: "a/b.cwa".into()
            }
        );
        assert_eq!(
            Location::parse("/data/x.cwa").unwrap(),
            Location::Path("/data/x.cwa".into())
        );
        assert!(Location::parse("s3:///k").is_err());
        assert!(Location::parse("").is_err());
    }

    #[test]
    fn a_job_without_input_names_the_missing_variable() {
        let e = job_from_env(|_| None).unwrap_err();
        assert!(e.to_string().contains("STUDYFLOW_INPUT"), "{e}");
    }
}
