//! The handler functions behind every Task of the state machines and every event: the Lambdas
//! call these on AWS, the local backend calls the very same functions.
//!
//! Each takes the [`Services`] (the ports) and a JSON input and returns JSON, or a
//! [`HandlerError`] whose `error` name is what Step Functions sees (`Retry`/`Catch` match on it).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{self, StudyConfig};
use crate::events::ObjectEvent;
use crate::model::{FileItem, FileStatus, StudyItem, StudyStatus, SubjectItem, now_rfc3339};
use crate::ports::{
    Catalog, FileFilter, Notifier, ObjectStore, Orchestrator, PortError, StartOutcome, StatusUpdate,
};

/// Bytes read from the start of a data file to get its header facts (a ranged GET).
pub const HEADER_PREFIX_BYTES: u64 = 64 * 1024;

/// Default [`Settings::manifest_threshold`]: 100 file starts are about 35 KB of the 256 KiB
/// state payload and about 500 events of the scan's 25,000-event history (inline Map), so
/// dozens of such configs still fit one scan; larger studies take the Distributed Map path.
pub const DEFAULT_MANIFEST_THRESHOLD: usize = 100;

/// Where `process-config` writes the manifests of large studies, under the config prefix
/// (the Lambda may write only there; the scan state machine may read only this folder).
pub const MANIFEST_FOLDER: &str = "_manifests/";

/// Names and settings the handlers need besides the ports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Bucket holding the study configs.
    pub config_bucket: String,
    /// Prefix of the configs in it.
    pub config_prefix: String,
    /// Batch job definition names are `<prefix>-<library version with dashes>`.
    pub job_definition_prefix: String,
    /// Name of the file-processing state machine.
    pub process_file_machine: String,
    /// Name of the catalog table passed to batch jobs (`STUDYFLOW_CATALOG_TABLE`).
    pub catalog_table: String,
    /// Most file starts `process-config` returns inline (count of files); with more, it
    /// writes them to a JSON manifest in the config bucket and the scan starts them with a
    /// Distributed Map reading it.
    #[serde(default = "default_manifest_threshold")]
    pub manifest_threshold: usize,
}

fn default_manifest_threshold() -> usize {
    DEFAULT_MANIFEST_THRESHOLD
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            config_bucket: "studyflow-config".into(),
            config_prefix: "studies/".into(),
            job_definition_prefix: "studyflow-biomarkers".into(),
            process_file_machine: "process-file".into(),
            catalog_table: "studyflow-files".into(),
            manifest_threshold: DEFAULT_MANIFEST_THRESHOLD,
        }
    }
}

/// The ports the handlers use.
#[derive(Clone)]
pub struct Services {
    /// Buckets.
    pub store: Arc<dyn ObjectStore>,
    /// Catalog.
    pub catalog: Arc<dyn Catalog>,
    /// State machines.
    pub orchestrator: Arc<dyn Orchestrator>,
    /// Notifications.
    pub notifier: Arc<dyn Notifier>,
    /// Names and settings.
    pub settings: Settings,
}

/// A handler failure as Step Functions sees it: an error name and a cause.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{error}: {cause}")]
pub struct HandlerError {
    /// Error name, e.g. `StatusConflict`, `BadInput`, `Transient`.
    pub error: String,
    /// Human-readable cause naming the study, file or field.
    pub cause: String,
}

impl HandlerError {
    fn new(error: &str, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

impl From<PortError> for HandlerError {
    fn from(e: PortError) -> Self {
        let name = if e.transient {
            "Transient"
        } else if e.not_found {
            "NotFound"
        } else {
            "PortError"
        };
        HandlerError::new(name, e.to_string())
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, HandlerError> {
    serde_json::from_value(v).map_err(|e| HandlerError::new("BadInput", format!("{what}: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Result<Value, HandlerError> {
    serde_json::to_value(v).map_err(|e| HandlerError::new("Internal", e.to_string()))
}

/// Runs the handler named `name` (the Lambda function name without the `studyflow-` prefix).
pub fn dispatch(svc: &Services, name: &str, input: Value) -> Result<Value, HandlerError> {
    match name {
        "list-configs" => list_configs(svc, input),
        "process-config" => process_config(svc, input),
        "check-requirements" => check_requirements(svc, input),
        "update-status" => update_status(svc, input),
        "register-object" => {
            let ev: ObjectEventInput = decode("register-object input", input)?;
            encode(&register_object(svc, &ev.into_event())?)
        }
        other => Err(HandlerError::new(
            "UnknownHandler",
            format!("no handler named {other}"),
        )),
    }
}

/// One config object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigRef {
    /// Config bucket.
    pub bucket: String,
    /// Config key.
    pub key: String,
    /// Config ETag (empty when unknown).
    #[serde(default)]
    pub etag: String,
}

/// True for keys the config scan reads: `*.yaml` / `*.yml` under the config prefix (error objects
/// and SKDH pipeline files beside them are not configs).
pub fn is_config_key(settings: &Settings, key: &str) -> bool {
    key.starts_with(&settings.config_prefix) && (key.ends_with(".yaml") || key.ends_with(".yml"))
}

/// `list-configs`: the configs to scan. Input `{"configs": [...]}` (from an upload event) keeps
/// only those that are configs; `{}` (a schedule) lists the whole config prefix.
pub fn list_configs(svc: &Services, input: Value) -> Result<Value, HandlerError> {
    let given: Option<Vec<ConfigRef>> = match input.get("configs") {
        Some(Value::Null) | None => None,
        Some(v) => Some(decode("list-configs input.configs", v.clone())?),
    };
    let s = &svc.settings;
    let configs: Vec<ConfigRef> = match given {
        Some(list) => list
            .into_iter()
            .filter(|c| c.bucket == s.config_bucket && is_config_key(s, &c.key))
            .collect(),
        None => svc
            .store
            .list(&s.config_bucket, &s.config_prefix)?
            .into_iter()
            .filter(|m| is_config_key(s, &m.key))
            .map(|m| ConfigRef {
                bucket: s.config_bucket.clone(),
                key: m.key,
                etag: m.etag,
            })
            .collect(),
    };
    Ok(json!({ "configs": configs }))
}

/// The input of one file-processing execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileExecutionInput {
    /// Study id.
    pub study: String,
    /// Study bucket.
    pub bucket: String,
    /// Data file key.
    pub file_key: String,
    /// Data file ETag.
    pub etag: String,
    /// Processing attempt (see `FileItem::attempt`).
    pub attempt: u32,
    /// Library version that will process it.
    pub library_version: String,
}

/// A file execution to start: its deterministic name and input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileStart {
    /// Execution name (unique per study, file, ETag, version and attempt).
    pub name: String,
    /// Execution input.
    pub input: FileExecutionInput,
}

/// The execution name of a file: readable head plus a hash of study, file, ETag, version and
/// attempt, so a replayed event maps to the same name and starts nothing new. At most 80
/// characters of `[A-Za-z0-9_-]`, as Step Functions requires.
pub fn execution_name(i: &FileExecutionInput) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(
        format!(
            "{}\n{}\n{}\n{}\n{}",
            i.study, i.file_key, i.etag, i.library_version, i.attempt
        )
        .as_bytes(),
    );
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let head: String = format!("{}-{}", i.study, i.file_key)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80 - 17)
        .collect();
    format!("{head}-{hash}")
}

fn file_start(f: &FileItem) -> FileStart {
    let input = FileExecutionInput {
        study: f.study.clone(),
        bucket: f.bucket.clone(),
        file_key: f.file_key.clone(),
        etag: f.etag.clone(),
        attempt: f.attempt,
        library_version: biomarkers::VERSION.to_string(),
    };
    FileStart {
        name: execution_name(&input),
        input,
    }
}

/// What `process-config` did with one config.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigOutcome {
    /// Study id (or `config:<key>` when none could be read).
    pub study: String,
    /// ACTIVE, INVALID or UNCHANGED.
    pub status: String,
    /// The error, for INVALID.
    pub error: Option<String>,
    /// Files whose executions should start (empty when they are in `manifest`).
    pub files: Vec<FileStart>,
    /// The manifest holding the files to start, when there are more than
    /// [`Settings::manifest_threshold`] (the scan's Choice takes the Distributed Map path on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<FileManifest>,
}

/// A JSON array of [`FileStart`] in the config bucket (what the Distributed Map's
/// `ItemReader` reads with `s3:getObject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileManifest {
    /// Config bucket.
    pub bucket: String,
    /// `<config prefix>_manifests/<study>/<hash of the starts>.json`.
    pub key: String,
    /// Number of file starts in it.
    pub files: usize,
}

fn error_key(config_key: &str) -> String {
    format!("{config_key}.error.json")
}

/// `process-config`: validates one config, records the study, loads subject metadata, registers
/// the study's files and returns the executions to start. A bad config leaves
/// `<key>.error.json` next to it and an INVALID study item; it never fails the scan.
pub fn process_config(svc: &Services, input: Value) -> Result<Value, HandlerError> {
    let cref: ConfigRef = decode("process-config input", input)?;
    encode(&process_config_ref(svc, &cref)?)
}

fn process_config_ref(svc: &Services, cref: &ConfigRef) -> Result<ConfigOutcome, HandlerError> {
    let Some(meta) = svc.store.head(&cref.bucket, &cref.key)? else {
        return Err(HandlerError::new(
            "NotFound",
            format!("config s3://{}/{} no longer exists", cref.bucket, cref.key),
        ));
    };
    let previous = svc
        .catalog
        .list_studies()?
        .into_iter()
        .find(|s| s.config_bucket == cref.bucket && s.config_key == cref.key);
    if let Some(p) = &previous
        && p.config_etag == meta.etag
        && p.status == StudyStatus::Active
    {
        return Ok(ConfigOutcome {
            study: p.study.clone(),
            status: "UNCHANGED".into(),
            error: None,
            files: Vec::new(),
            manifest: None,
        });
    }
    let bytes = svc.store.get(&cref.bucket, &cref.key)?;
    let hash = config::config_hash(&bytes);
    let text = String::from_utf8_lossy(&bytes);
    let invalid = |study: String, error: String| -> Result<ConfigOutcome, HandlerError> {
        let body = json!({
            "config": format!("s3://{}/{}", cref.bucket, cref.key),
            "etag": meta.etag,
            "error": error,
            "at": now_rfc3339(),
        });
        let pretty = serde_json::to_vec_pretty(&body).unwrap_or_default();
        svc.store
            .put(&cref.bucket, &error_key(&cref.key), &pretty)?;
        svc.catalog.put_study(&StudyItem {
            study: study.clone(),
            config_bucket: cref.bucket.clone(),
            config_key: cref.key.clone(),
            config_etag: meta.etag.clone(),
            config_hash: hash.clone(),
            bucket: String::new(),
            status: StudyStatus::Invalid,
            error: Some(error.clone()),
            config_json: None,
            updated_at: now_rfc3339(),
        })?;
        tracing::warn!(config = %cref.key, %error, "invalid study config");
        Ok(ConfigOutcome {
            study,
            status: "INVALID".into(),
            error: Some(error),
            files: Vec::new(),
            manifest: None,
        })
    };
    let fallback_id = previous
        .as_ref()
        .map(|p| p.study.clone())
        .unwrap_or_else(|| format!("config:{}", cref.key));
    // A pipeline saved by SKDH is named by its key in the config bucket.
    let mut load_skdh = |key: &str| -> Result<String, String> {
        svc.store
            .get(&cref.bucket, key)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| e.to_string())
    };
    let cfg = match config::parse_config_with(&cref.key, &text, &mut load_skdh) {
        Ok(c) => c,
        Err(e) => return invalid(fallback_id, e.to_string()),
    };
    let study = cfg.study.id.clone();
    if let Some(other) = svc.catalog.get_study(&study)?
        && (other.config_key != cref.key || other.config_bucket != cref.bucket)
        && other.status == StudyStatus::Active
    {
        return invalid(
            fallback_id,
            format!(
                "{}: study.id: study {study} is already defined by s3://{}/{}",
                cref.key, other.config_bucket, other.config_key
            ),
        );
    }
    if !svc.store.bucket_exists(&cfg.data.bucket)? {
        return invalid(
            study,
            format!(
                "{}: data.bucket: bucket {} does not exist or is not readable",
                cref.key, cfg.data.bucket
            ),
        );
    }
    svc.store.delete(&cref.bucket, &error_key(&cref.key))?;
    svc.catalog.put_study(&StudyItem {
        study: study.clone(),
        config_bucket: cref.bucket.clone(),
        config_key: cref.key.clone(),
        config_etag: meta.etag.clone(),
        config_hash: hash,
        bucket: cfg.data.bucket.clone(),
        status: StudyStatus::Active,
        error: None,
        config_json: serde_json::to_value(&cfg).ok(),
        updated_at: now_rfc3339(),
    })?;
    let mut files = Vec::new();
    for obj in svc.store.list(&cfg.data.bucket, &cfg.data.prefix)? {
        if let Some(start) = register_key(svc, &cfg, &obj.key)? {
            files.push(start);
        }
    }
    tracing::info!(%study, files = files.len(), "study config accepted");
    let manifest = if files.len() > svc.settings.manifest_threshold {
        Some(write_manifest(svc, &study, &files)?)
    } else {
        None
    };
    if manifest.is_some() {
        files.clear();
    }
    Ok(ConfigOutcome {
        study,
        status: "ACTIVE".into(),
        error: None,
        files,
        manifest,
    })
}

/// Writes the file starts of a large study as a JSON array. The key is a hash of the starts,
/// so a retried `process-config` rewrites the same object instead of adding one.
fn write_manifest(
    svc: &Services,
    study: &str,
    files: &[FileStart],
) -> Result<FileManifest, HandlerError> {
    use sha2::{Digest, Sha256};
    let body =
        serde_json::to_vec(files).map_err(|e| HandlerError::new("Internal", e.to_string()))?;
    let digest = Sha256::digest(&body);
    let hash: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    // Study ids are config text: keep the key to characters S3 and IAM patterns take as-is.
    let folder: String = study
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = &svc.settings;
    let key = format!("{}{MANIFEST_FOLDER}{folder}/{hash}.json", s.config_prefix);
    svc.store.put(&s.config_bucket, &key, &body)?;
    tracing::info!(%study, files = files.len(), %key, "file starts written to a manifest");
    Ok(FileManifest {
        bucket: s.config_bucket.clone(),
        key,
        files: files.len(),
    })
}

/// Registers one object of a study bucket if its key matches the study's pattern, reading its
/// header facts with a ranged GET. Returns the execution to start for a file that is new (or a
/// new upload) and not yet processed.
fn register_key(
    svc: &Services,
    cfg: &StudyConfig,
    key: &str,
) -> Result<Option<FileStart>, HandlerError> {
    let Some(parts) = cfg.data.match_key(key) else {
        return Ok(None);
    };
    let bucket = &cfg.data.bucket;
    let Some(meta) = svc.store.head(bucket, key)? else {
        return Ok(None);
    };
    let prefix = svc.store.get_range(bucket, key, 0, HEADER_PREFIX_BYTES)?;
    let (facts, header_error) =
        match biomarkers::io::read_header(&prefix, Some(meta.size), Some(key)) {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(format!("{key}: {e}"))),
        };
    let now = now_rfc3339();
    let item = FileItem {
        study: cfg.study.id.clone(),
        file_key: key.to_string(),
        bucket: bucket.clone(),
        subject: parts.subject,
        visit: parts.visit.unwrap_or_default(),
        device: parts.device.unwrap_or_default(),
        format: facts
            .as_ref()
            .and_then(|f| f.format)
            .map(|f| f.name().to_string())
            .unwrap_or_default(),
        size: meta.size,
        etag: meta.etag.clone(),
        recording_start: facts.as_ref().and_then(|f| f.start),
        recording_end: facts.as_ref().and_then(|f| f.end),
        sample_rate: facts.as_ref().and_then(|f| f.sample_rate),
        device_id: facts.as_ref().and_then(|f| f.device_id.clone()),
        header_error,
        status: FileStatus::Registered,
        library_version: None,
        execution_id: None,
        result_prefix: None,
        error: None,
        attempt: 0,
        registered_at: now.clone(),
        updated_at: now,
    };
    svc.catalog.register_file(&item)?;
    // Whether just written or already there, only a file still REGISTERED needs an execution;
    // the execution name makes a second start of the same file a no-op.
    match svc.catalog.get_file(&item.study, key)? {
        Some(f) if f.status == FileStatus::Registered && f.etag == meta.etag => {
            Ok(Some(file_start(&f)))
        }
        _ => Ok(None),
    }
}

/// Input form of an object event for the `register-object` handler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectEventInput {
    /// Bucket.
    pub bucket: String,
    /// Decoded key.
    pub key: String,
    /// ETag.
    #[serde(default)]
    pub etag: String,
    /// Size.
    #[serde(default)]
    pub size: u64,
}

impl ObjectEventInput {
    fn into_event(self) -> ObjectEvent {
        ObjectEvent {
            event_name: "ObjectCreated:Put".into(),
            bucket: self.bucket,
            key: self.key,
            size: self.size,
            etag: self.etag,
        }
    }
}

/// What happened to one object event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RegisterOutcome {
    /// Not in any active study's data (or results written by a job): nothing to do.
    Ignored {
        /// Why.
        reason: String,
    },
    /// Subject metadata was (re)loaded.
    Metadata {
        /// Study.
        study: String,
        /// Subjects loaded.
        subjects: usize,
    },
    /// The file was registered and its execution started (or already existed).
    File {
        /// Study.
        study: String,
        /// File key.
        file_key: String,
        /// Execution name.
        execution: String,
        /// False when the execution already existed (a replayed event).
        started: bool,
    },
    /// The file is known and needs no new execution.
    Known {
        /// Study.
        study: String,
        /// File key.
        file_key: String,
    },
}

/// Data arrival: one object event of a study bucket (from SQS on AWS). Registers the file and
/// starts its execution, or reloads subject metadata.
pub fn register_object(svc: &Services, ev: &ObjectEvent) -> Result<RegisterOutcome, HandlerError> {
    let studies: Vec<StudyItem> = svc
        .catalog
        .list_studies()?
        .into_iter()
        .filter(|s| s.status == StudyStatus::Active && s.bucket == ev.bucket)
        .collect();
    for s in studies {
        let Some(cfg_json) = s.config_json.clone() else {
            continue;
        };
        let cfg: StudyConfig = decode("stored study config", cfg_json)?;
        if cfg.metadata.is_metadata_key(&ev.key) {
            let n = load_metadata(svc, &cfg)?;
            return Ok(RegisterOutcome::Metadata {
                study: s.study,
                subjects: n,
            });
        }
        if !ev.key.starts_with(&cfg.data.prefix) || cfg.data.match_key(&ev.key).is_none() {
            continue;
        }
        return match register_key(svc, &cfg, &ev.key)? {
            Some(start) => {
                let outcome = svc.orchestrator.start_execution(
                    &svc.settings.process_file_machine,
                    &start.name,
                    &encode(&start.input)?,
                )?;
                Ok(RegisterOutcome::File {
                    study: s.study,
                    file_key: ev.key.clone(),
                    execution: start.name,
                    started: matches!(outcome, StartOutcome::Started { .. }),
                })
            }
            None => Ok(RegisterOutcome::Known {
                study: s.study,
                file_key: ev.key.clone(),
            }),
        };
    }
    Ok(RegisterOutcome::Ignored {
        reason: format!(
            "s3://{}/{} is not a data or metadata file of an active study",
            ev.bucket, ev.key
        ),
    })
}

/// Reads the study's subject metadata source(s) into the catalog. Returns the number of
/// subjects stored.
pub fn load_metadata(svc: &Services, cfg: &StudyConfig) -> Result<usize, HandlerError> {
    let bucket = &cfg.data.bucket;
    let mut n = 0;
    for key in cfg.metadata.source_keys(svc.store.as_ref(), bucket)? {
        let bytes = svc.store.get(bucket, &key)?;
        let subjects = cfg
            .metadata
            .parse(&key, &bytes)
            .map_err(|e| HandlerError::new("BadMetadata", e.to_string()))?;
        for (subject, fields) in subjects {
            svc.catalog.put_subject(&SubjectItem {
                study: cfg.study.id.clone(),
                subject,
                fields,
                source: format!("s3://{bucket}/{key}"),
                updated_at: now_rfc3339(),
            })?;
            n += 1;
        }
    }
    Ok(n)
}

/// Input of `update-status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusInput {
    /// Study.
    pub study: String,
    /// File key.
    pub file_key: String,
    /// File ETag (a stale execution cannot change a newer upload's status).
    pub etag: String,
    /// Target status.
    pub status: FileStatus,
    /// Error text (for FAILED; a Step Functions Catch output `{Error, Cause}` is accepted too).
    #[serde(default)]
    pub error: Option<Value>,
    /// Execution id to record.
    #[serde(default)]
    pub execution_id: Option<String>,
    /// Result prefix to record.
    #[serde(default)]
    pub result_prefix: Option<String>,
    /// Library version to record.
    #[serde(default)]
    pub library_version: Option<String>,
}

/// The statuses a file may move to `to` from. The lifecycle lives here, not in the state
/// machine, so every backend enforces the same one.
pub fn allowed_from(to: FileStatus) -> &'static [FileStatus] {
    use FileStatus::*;
    match to {
        Registered => &[],
        Waiting => &[Registered],
        Processing => &[Waiting],
        Succeeded => &[Processing],
        Failed => &[Registered, Waiting, Processing],
        RequirementsTimedOut => &[Waiting],
    }
}

fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            let name = m.get("Error").and_then(Value::as_str).unwrap_or("Error");
            let cause = m.get("Cause").and_then(Value::as_str).unwrap_or("");
            // A Batch failure's cause is the job description JSON: keep its reason.
            let reason = serde_json::from_str::<Value>(cause)
                .ok()
                .and_then(|c| {
                    c.get("StatusReason")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| cause.to_string());
            format!("{name}: {reason}")
        }
        other => other.to_string(),
    }
}

/// `update-status`: a compare-and-set status change. Fails with `StatusConflict` when the file is
/// not in a status the target may follow (a duplicate or stale execution), which the state
/// machine treats as "someone else has it".
pub fn update_status(svc: &Services, input: Value) -> Result<Value, HandlerError> {
    let i: StatusInput = decode("update-status input", input)?;
    let update = StatusUpdate {
        error: i.error.as_ref().map(error_text),
        execution_id: i.execution_id.clone(),
        result_prefix: i.result_prefix.clone(),
        library_version: i.library_version.clone(),
    };
    let applied = svc.catalog.transition(
        &i.study,
        &i.file_key,
        &i.etag,
        allowed_from(i.status),
        i.status,
        &update,
    )?;
    if !applied {
        let current = svc.catalog.get_file(&i.study, &i.file_key)?;
        return Err(HandlerError::new(
            "StatusConflict",
            format!(
                "{}/{}: cannot move to {} from {}",
                i.study,
                i.file_key,
                i.status,
                current
                    .map(|f| format!("{} (etag {})", f.status, f.etag))
                    .unwrap_or_else(|| "a missing item".into())
            ),
        ));
    }
    tracing::info!(study = %i.study, file = %i.file_key, status = %i.status, "status changed");
    if i.status.is_final() {
        notify_file(svc, &i.study, &i.file_key)?;
    }
    Ok(json!({"study": i.study, "file_key": i.file_key, "status": i.status}))
}

fn notify_file(svc: &Services, study: &str, file_key: &str) -> Result<(), HandlerError> {
    let Some(f) = svc.catalog.get_file(study, file_key)? else {
        return Ok(());
    };
    svc.notifier.publish(
        &format!("studyflow: {} {}", f.status, f.file_key),
        &json!({
            "study": f.study, "file_key": f.file_key, "status": f.status,
            "error": f.error, "result_prefix": f.result_prefix,
        }),
    )?;
    let files = svc.catalog.list_files(study, &FileFilter::default())?;
    if files.iter().all(|f| f.status.is_final()) {
        let count = |s: FileStatus| files.iter().filter(|f| f.status == s).count();
        svc.notifier.publish(
            &format!("studyflow: study {study} done"),
            &json!({
                "study": study,
                "files": files.len(),
                "succeeded": count(FileStatus::Succeeded),
                "failed": count(FileStatus::Failed),
                "requirements_timed_out": count(FileStatus::RequirementsTimedOut),
            }),
        )?;
    }
    Ok(())
}

/// Input of `check-requirements`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckInput {
    /// The execution's input.
    #[serde(flatten)]
    pub file: FileExecutionInput,
    /// When the execution started (`$$.Execution.StartTime`), RFC 3339.
    pub started_at: String,
    /// The current time as the orchestrator sees it (`$$.State.EnteredTime`), RFC 3339.
    pub now: String,
}

/// The environment and names of the batch job for one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    /// Batch job name.
    pub job_name: String,
    /// Job definition of the pinned library version.
    pub job_definition: String,
    /// Container environment, as Batch `ContainerOverrides.Environment` (`[{Name, Value}]`).
    pub environment: Vec<Value>,
    /// Where the results go.
    pub result_prefix: String,
}

/// `check-requirements`: are the file's requirements met? Returns `{ready, timed_out, missing,
/// wait_seconds, job}`; `job` (the batch job's environment) only when ready.
pub fn check_requirements(svc: &Services, input: Value) -> Result<Value, HandlerError> {
    let i: CheckInput = decode("check-requirements input", input)?;
    let f = &i.file;
    let study = svc.catalog.get_study(&f.study)?.ok_or_else(|| {
        HandlerError::new("NotFound", format!("study {} is not registered", f.study))
    })?;
    let cfg: StudyConfig = decode(
        "stored study config",
        study.config_json.clone().unwrap_or(Value::Null),
    )?;
    let item = svc
        .catalog
        .get_file(&f.study, &f.file_key)?
        .ok_or_else(|| {
            HandlerError::new(
                "NotFound",
                format!("{}/{} is not registered", f.study, f.file_key),
            )
        })?;
    // Metadata may have arrived without an event reaching us: reload it on every check.
    load_metadata(svc, &cfg)?;
    let subject = svc.catalog.get_subject(&f.study, &item.subject)?;
    let siblings = if cfg.requirements.companion_device.is_some() {
        svc.catalog.list_files(
            &f.study,
            &FileFilter {
                subject: Some(item.subject.clone()),
                status: None,
            },
        )?
    } else {
        Vec::new()
    };
    let missing = crate::requirements::missing(&cfg, &item, subject.as_ref(), &siblings);
    let parse = |t: &str| {
        t.parse::<jiff::Timestamp>()
            .map_err(|e| HandlerError::new("BadInput", format!("bad timestamp {t:?}: {e}")))
    };
    let waited = parse(&i.now)?.as_second() - parse(&i.started_at)?.as_second();
    let timeout = cfg.requirements.timeout_seconds();
    let ready = missing.is_empty();
    let timed_out = !ready && waited as f64 >= timeout as f64;
    let mut out = json!({
        "ready": ready,
        "timed_out": timed_out,
        "missing": missing,
        "waited_seconds": waited,
        "wait_seconds": cfg.requirements.poll_interval_seconds(),
    });
    if timed_out {
        out["error"] = json!(format!(
            "requirements not met after {}: {}",
            cfg.requirements.timeout_text(),
            missing.join("; ")
        ));
    }
    if ready {
        out["job"] = encode(&job_spec(svc, &study, &cfg, &item, subject.as_ref())?)?;
    }
    Ok(out)
}

/// The result prefix of a file: `<output prefix>/biomarkers-<version>/<subject>/<visit>/<stem>/`.
pub fn result_prefix(cfg: &StudyConfig, item: &FileItem, version: &str) -> String {
    let stem = item
        .file_key
        .rsplit('/')
        .next()
        .unwrap_or(&item.file_key)
        .split('.')
        .next()
        .unwrap_or("file");
    let mut p = format!(
        "{}/biomarkers-{version}/{}/",
        cfg.output.prefix.trim_end_matches('/'),
        item.subject
    );
    if !item.visit.is_empty() {
        p.push_str(&item.visit);
        p.push('/');
    }
    p.push_str(stem);
    p.push('/');
    p
}

/// Where the SQL copies of a file's tables go, with a `{table}` placeholder: the hive-style tree
/// `<output prefix>/tables/{table}/version=<v>/study=<s>/subject=<x>/<file>.parquet`, which
/// DuckDB (`hive_partitioning`) and Athena (partition projection) read as one table per name.
pub fn sql_table_key(cfg: &StudyConfig, item: &FileItem, version: &str) -> String {
    let file: String = item
        .file_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}/tables/{{table}}/version={version}/study={}/subject={}/{file}.parquet",
        cfg.output.prefix.trim_end_matches('/'),
        item.study,
        item.subject
    )
}

fn job_spec(
    svc: &Services,
    study: &StudyItem,
    cfg: &StudyConfig,
    item: &FileItem,
    subject: Option<&SubjectItem>,
) -> Result<JobSpec, HandlerError> {
    let version = biomarkers::VERSION;
    let pipeline = cfg
        .resolved_pipeline_json()
        .map_err(|e| HandlerError::new("BadConfig", e.to_string()))?;
    let prefix = result_prefix(cfg, item, version);
    let subject_json = subject
        .map(|s| Value::Object(s.fields.clone()))
        .unwrap_or_else(|| json!({}));
    let env = |name: &str, value: String| json!({"Name": name, "Value": value});
    let environment = vec![
        env(
            "STUDYFLOW_INPUT",
            format!("s3://{}/{}", item.bucket, item.file_key),
        ),
        env(
            "STUDYFLOW_OUTPUT",
            format!("s3://{}/{}", item.bucket, prefix),
        ),
        env("STUDYFLOW_PIPELINE", pipeline.to_string()),
        env("STUDYFLOW_SUBJECT", subject_json.to_string()),
        env("STUDYFLOW_STUDY", item.study.clone()),
        env("STUDYFLOW_FILE_KEY", item.file_key.clone()),
        env("STUDYFLOW_INPUT_ETAG", item.etag.clone()),
        env("STUDYFLOW_CONFIG_HASH", study.config_hash.clone()),
        env("STUDYFLOW_FORMATS", cfg.output.format_names().join(",")),
        env(
            "STUDYFLOW_TABLES_OUTPUT",
            format!("s3://{}/{}", item.bucket, sql_table_key(cfg, item, version)),
        ),
        env(
            "STUDYFLOW_DELETE_INPUT",
            cfg.output.delete_input_after_success.to_string(),
        ),
        env(
            "STUDYFLOW_READ",
            serde_json::to_string(&cfg.data.read).unwrap_or_default(),
        ),
        env(
            "STUDYFLOW_CATALOG_TABLE",
            svc.settings.catalog_table.clone(),
        ),
    ];
    Ok(JobSpec {
        job_name: execution_name(&FileExecutionInput {
            study: item.study.clone(),
            bucket: item.bucket.clone(),
            file_key: item.file_key.clone(),
            etag: item.etag.clone(),
            attempt: item.attempt,
            library_version: version.to_string(),
        }),
        job_definition: format!(
            "{}-{}",
            svc.settings.job_definition_prefix,
            version.replace('.', "-")
        ),
        environment,
        result_prefix: format!("s3://{}/{}", item.bucket, prefix),
    })
}

/// Starts executions for every REGISTERED file of every active study (used after a rerun
/// request, and by the local runner to recover files whose events were lost).
pub fn start_registered(svc: &Services) -> Result<Vec<FileStart>, HandlerError> {
    let mut started = Vec::new();
    for s in svc.catalog.list_studies()? {
        if s.status != StudyStatus::Active {
            continue;
        }
        let filter = FileFilter {
            status: Some(FileStatus::Registered),
            ..Default::default()
        };
        for f in svc.catalog.list_files(&s.study, &filter)? {
            let start = file_start(&f);
            svc.orchestrator.start_execution(
                &svc.settings.process_file_machine,
                &start.name,
                &encode(&start.input)?,
            )?;
            started.push(start);
        }
    }
    Ok(started)
}
