//! The study configuration: a versioned YAML file (`schema: 1`) that a study team drops under
//! `studies/` in the config bucket.
//!
//! [`parse_config`] reads and validates a config; every problem is a [`ConfigError`] whose lines
//! read `<file>:<line>:<col>: <field.path>: <message>`. Unknown keys are errors. [`json_schema`]
//! gives a JSON Schema of the same types for editors. A pipeline is either our own step list or a
//! pipeline saved by SKDH (`skdh:`), mapped to our steps.
//!
//! ```yaml
//! schema: 1
//! study: {id: demo-wrist, owner: Data team, contact: data@example.org}
//! data: {bucket: demo-study, prefix: raw/, key_pattern: "raw/{subject}/{visit}/{device}.cwa"}
//! pipeline: {biomarkers: "^0.1", steps: [{step: activity}]}
//! ```

mod duration;
mod error;
mod key_pattern;
mod metadata;
mod read;
mod skdh;
mod version_req;
pub(crate) mod yaml;

use std::collections::BTreeSet;

use biomarkers::pipeline::{Pipeline, PipelineError, PipelineSpec, Step, StepSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use duration::DurationText;
pub use error::{ConfigError, ConfigErrorKind, ConfigIssue};
pub use key_pattern::{KeyParts, KeyPattern};
pub use metadata::{
    FieldType, MAX_METADATA_BYTES, MetadataConfig, MetadataKind, MetadataSource, SubjectMetadata,
    WELL_KNOWN_FIELDS, parse_subject_metadata,
};
pub use read::{CsvAccelUnit, CsvColumn, CsvLayout, CsvTimeUnit, OnDataIssues, ReadConfig};
pub use skdh::{SkdhImport, import_skdh, map_skdh};
pub use version_req::{Version, VersionReq};
pub use yaml::MAX_YAML_BYTES;

use yaml::{Node, Seg, yaml_path};

/// The config schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Most requirement checks one file may wait for (timeout / poll_interval). Each check costs a
/// handful of Step Functions history events and an execution keeps at most 25,000.
pub const MAX_REQUIREMENT_CHECKS: u64 = 2_000;

/// A validated study configuration.
///
/// After [`parse_config`], `pipeline.steps` holds the steps that run (mapped from SKDH when the
/// config gave `pipeline.skdh`), so the JSON form of this struct is self-contained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "studyflow study config")]
pub struct StudyConfig {
    /// Config schema version: 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema: u32,
    /// Who the study is and whom to tell.
    pub study: StudyInfo,
    /// Where the recordings are and how their keys are named.
    pub data: DataConfig,
    /// Where subject metadata lives and which fields it has (absent: no metadata).
    #[serde(default, skip_serializing_if = "MetadataConfig::is_unset")]
    pub metadata: MetadataConfig,
    /// What must hold before a file is processed, and how long to wait for it.
    #[serde(default)]
    pub requirements: Requirements,
    /// The `biomarkers` version and the steps to run.
    pub pipeline: PipelineConfig,
    /// Where and how results are written.
    #[serde(default)]
    pub output: OutputConfig,
}

/// The `study` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyInfo {
    /// Study id: 2 to 63 of `a-z`, `0-9`, `-`, starting with a letter or digit. Also the catalog
    /// partition key and the config's file name (`studies/<id>.yaml`).
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]{1,62}$"))]
    pub id: String,
    /// What the study is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The team or person responsible.
    pub owner: String,
    /// E-mail address that receives success and failure notifications.
    #[schemars(email)]
    pub contact: String,
}

/// File formats of recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// From the key's extension (`.cwa`, `.bin`, `.gt3x`, `.csv`, `.npz`, `.parquet`, `.h5`).
    #[default]
    Auto,
    /// Axivity AX3/AX6 `.cwa`.
    Cwa,
    /// GENEActiv `.bin`.
    Geneactiv,
    /// ActiGraph `.gt3x`.
    Gt3x,
    /// CSV of time and acceleration.
    Csv,
    /// NumPy `.npz` with `time`, `accel`.
    Npz,
    /// Parquet with time and acceleration columns.
    Parquet,
    /// APDM Opal HDF5 (`.h5`); the sensor labelled "Lumbar" (or the only one).
    Apdm,
}

impl DataFormat {
    /// The format a key's extension names (case-insensitive), if any.
    pub fn from_key(key: &str) -> Option<DataFormat> {
        let ext = key.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "cwa" => DataFormat::Cwa,
            "bin" => DataFormat::Geneactiv,
            "gt3x" => DataFormat::Gt3x,
            "csv" => DataFormat::Csv,
            "npz" => DataFormat::Npz,
            "parquet" => DataFormat::Parquet,
            "h5" | "hdf5" => DataFormat::Apdm,
            _ => return None,
        })
    }

    /// The name as written in configs (`cwa`, `geneactiv` ...).
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Auto => "auto",
            DataFormat::Cwa => "cwa",
            DataFormat::Geneactiv => "geneactiv",
            DataFormat::Gt3x => "gt3x",
            DataFormat::Csv => "csv",
            DataFormat::Npz => "npz",
            DataFormat::Parquet => "parquet",
            DataFormat::Apdm => "apdm",
        }
    }
}

/// The `data` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The study bucket (S3 bucket-name rules: 3 to 63 of `a-z 0-9 . -`).
    #[schemars(
        length(min = 3, max = 63),
        pattern(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    )]
    pub bucket: String,
    /// Only keys under this prefix are listed (empty: the whole bucket).
    #[serde(default)]
    pub prefix: String,
    /// Key pattern of recordings, e.g. `raw/{subject}/{visit}/{device}.cwa`.
    pub key_pattern: KeyPattern,
    /// File format, or `auto` (from the extension).
    #[serde(default)]
    pub format: DataFormat,
    /// How recordings are read: APDM sensor, CSV layout, what skipped bad data means.
    #[serde(default, skip_serializing_if = "ReadConfig::is_unset")]
    pub read: ReadConfig,
}

impl DataConfig {
    /// Splits a key of the study bucket into subject, visit and device, or `None` when it is
    /// not a recording of this study (outside `prefix` or not matching `key_pattern`).
    pub fn match_key(&self, key: &str) -> Option<KeyParts> {
        if !key.starts_with(&self.prefix) {
            return None;
        }
        self.key_pattern.match_key(key)
    }

    /// The format of the recording at `key`: the configured one, or from the extension.
    pub fn format_for_key(&self, key: &str) -> Option<DataFormat> {
        match self.format {
            DataFormat::Auto => DataFormat::from_key(key),
            f => Some(f),
        }
    }
}

fn default_timeout() -> DurationText {
    DurationText::from_parts("1d", 86_400)
}

fn default_poll_interval() -> DurationText {
    DurationText::from_parts("5m", 300)
}

/// The `requirements` section: what must hold before a file is processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Metadata fields the subject must have (declared in `metadata.fields`), e.g. `[height_m]`.
    #[serde(default)]
    pub metadata_fields: Vec<String>,
    /// Shortest recording processed, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration_hours: Option<f64>,
    /// Smallest file processed, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size_bytes: Option<u64>,
    /// A file of this device must exist for the same subject and visit (needs `{device}` in
    /// the key pattern), e.g. `lumbar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companion_device: Option<String>,
    /// How long to wait for the requirements before the file becomes
    /// `REQUIREMENTS_TIMED_OUT`, e.g. `"6h"`. Default `"1d"`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
    /// How often to check the requirements, e.g. `"5m"` (the default).
    #[serde(default = "default_poll_interval")]
    pub poll_interval: DurationText,
}

impl Default for Requirements {
    fn default() -> Self {
        Requirements {
            metadata_fields: Vec::new(),
            min_duration_hours: None,
            min_size_bytes: None,
            companion_device: None,
            timeout: default_timeout(),
            poll_interval: default_poll_interval(),
        }
    }
}

impl Requirements {
    /// The timeout, seconds.
    pub fn timeout_seconds(&self) -> u64 {
        self.timeout.seconds()
    }

    /// The timeout as written (e.g. `"6h"`), for messages.
    pub fn timeout_text(&self) -> &str {
        self.timeout.as_str()
    }

    /// The poll interval, seconds.
    pub fn poll_interval_seconds(&self) -> u64 {
        self.poll_interval.seconds()
    }
}

/// One step of our own pipeline: its name and parameters (SKDH's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Step name, one of `biomarkers::pipeline::STEP_NAMES` (e.g. `activity`).
    pub step: String,
    /// Parameters; missing ones take their defaults.
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
}

/// The `pipeline` section: set `steps` or `skdh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Required `biomarkers` version (Cargo semver rules), e.g. `"^0.1"` or `"=0.1.0"`.
    pub biomarkers: VersionReq,
    /// Our steps, in running order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepConfig>>,
    /// A pipeline saved by SKDH (`Pipeline.save`): its YAML text inline, or the key of a `.skdh`
    /// file in the config bucket (e.g. `skdh/lumbar.skdh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skdh: Option<String>,
    /// What the SKDH import left out and why (filled by [`parse_config`]).
    #[serde(skip)]
    #[schemars(skip)]
    pub notes: Vec<String>,
}

/// Result file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Parquet tables (always written).
    Parquet,
    /// CSV copies of the tables.
    Csv,
    /// An HTML report.
    Html,
}

impl OutputFormat {
    /// The name as written in configs.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
            OutputFormat::Html => "html",
        }
    }
}

fn default_output_prefix() -> String {
    "results".to_string()
}

fn default_formats() -> Vec<OutputFormat> {
    vec![OutputFormat::Parquet]
}

/// The `output` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Key prefix of results in the study bucket. Default `results`.
    #[serde(default = "default_output_prefix")]
    pub prefix: String,
    /// Result formats; Parquet is always written, CSV and HTML are optional.
    #[serde(default = "default_formats")]
    pub formats: Vec<OutputFormat>,
    /// Delete the recording once its results are written. Default false.
    #[serde(default)]
    pub delete_input_after_success: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            prefix: default_output_prefix(),
            formats: default_formats(),
            delete_input_after_success: false,
        }
    }
}

impl OutputConfig {
    /// The formats written: `parquet` first, then the optional ones, without repeats.
    pub fn format_names(&self) -> Vec<&'static str> {
        let mut out = vec!["parquet"];
        for f in &self.formats {
            if !out.contains(&f.name()) {
                out.push(f.name());
            }
        }
        out
    }

    /// Whether `format` is written.
    pub fn writes(&self, format: OutputFormat) -> bool {
        format == OutputFormat::Parquet || self.formats.contains(&format)
    }
}

impl StudyConfig {
    /// The effective pipeline spec (our steps; mapped from SKDH when the config gave one).
    pub fn pipeline_spec(&self) -> Result<PipelineSpec, ConfigError> {
        match &self.pipeline.steps {
            Some(steps) => Ok(PipelineSpec {
                steps: steps
                    .iter()
                    .map(|s| StepSpec {
                        step: s.step.clone(),
                        params: s.params.clone(),
                    })
                    .collect(),
            }),
            None => Err(ConfigError::new(ConfigIssue {
                kind: ConfigErrorKind::Pipeline,
                source_name: self.source_label(),
                line: None,
                column: None,
                path: "pipeline.skdh".into(),
                message: "the SKDH pipeline file has not been loaded (use parse_config_with)"
                    .into(),
            })),
        }
    }

    /// The decoded pipeline, ready to run. Errors name `pipeline.steps[i].params.x`.
    pub fn pipeline(&self) -> Result<Pipeline, ConfigError> {
        let spec = self.pipeline_spec()?;
        Pipeline::from_spec(&spec).map_err(|e| {
            let (path, message) = pipeline_error_path(&spec, &e);
            ConfigError::new(ConfigIssue {
                kind: ConfigErrorKind::Pipeline,
                source_name: self.source_label(),
                line: None,
                column: None,
                path: yaml::path_string(&[yaml_path!["pipeline", "steps"], path].concat()),
                message,
            })
        })
    }

    /// The pipeline with every parameter resolved to its value, as the JSON the batch job takes
    /// (`{"steps": [{"step": ..., "params": {...}}]}`).
    pub fn resolved_pipeline_json(&self) -> Result<Value, ConfigError> {
        let resolved = self.pipeline()?.resolved();
        serde_json::to_value(&resolved).map_err(|e| {
            ConfigError::new(ConfigIssue {
                kind: ConfigErrorKind::Pipeline,
                source_name: self.source_label(),
                line: None,
                column: None,
                path: "pipeline".into(),
                message: format!("cannot encode the resolved pipeline: {e}"),
            })
        })
    }

    /// Splits a key of the study bucket into subject, visit and device when it is a recording:
    /// like [`DataConfig::match_key`], but never a result or metadata file.
    pub fn match_input_key(&self, key: &str) -> Option<KeyParts> {
        let out = format!("{}/", self.output.prefix.trim_end_matches('/'));
        if key.starts_with(&out) || self.metadata.is_metadata_key(key) {
            return None;
        }
        self.data.match_key(key)
    }

    fn source_label(&self) -> String {
        format!("study {}", self.study.id)
    }
}

/// The SHA-256 of the config bytes as 64 lower-case hex digits (stable across runs and
/// machines; recorded in the catalog and in every result's provenance).
pub fn config_hash(bytes: impl AsRef<[u8]>) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(bytes.as_ref());
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A JSON Schema (draft 2020-12) of the study config, for editors.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(StudyConfig)).unwrap_or(Value::Null)
}

/// Reads and validates a study config. `source_name` (the object key or file path) names the
/// file in errors. A pipeline given as the key of an SKDH file cannot be read here: use
/// [`parse_config_with`].
pub fn parse_config(source_name: &str, text: &str) -> Result<StudyConfig, ConfigError> {
    parse_config_with(source_name, text, &mut |key: &str| {
        Err(format!(
            "`{key}` names a file and this caller cannot read files; paste the SKDH YAML inline"
        ))
    })
}

/// Like [`parse_config`], reading an SKDH pipeline named by key with `load_skdh(key)` (keys are
/// in the config bucket; the loader returns the file's text or a message).
pub fn parse_config_with(
    source_name: &str,
    text: &str,
    load_skdh: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<StudyConfig, ConfigError> {
    let tree = check_schema_version(source_name, text)?;
    let mut cfg: StudyConfig = yaml::parse_typed(source_name, text, &tree, yaml::Limits::Config)
        .map_err(ConfigError::new)?;
    let mut issues = Issues {
        source: source_name,
        tree: &tree,
        list: Vec::new(),
    };
    validate(&cfg, &tree, source_name, &mut issues);
    resolve_pipeline(&mut cfg, &mut issues, load_skdh);
    match ConfigError::from_issues(issues.list) {
        Some(e) => Err(e),
        None => Ok(cfg),
    }
}

/// Reads only `schema:` first, so a config written for a newer schema gets that message rather
/// than a list of unknown keys. Returns the document's position index.
fn check_schema_version(source_name: &str, text: &str) -> Result<Node, ConfigError> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        schema: Option<Value>,
    }
    let (head, tree): (Head, Node) =
        yaml::parse_document(source_name, text).map_err(ConfigError::new)?;
    let at = |message: String| {
        let pos = tree.locate_value(&[Seg::from("schema")]);
        ConfigError::new(ConfigIssue {
            kind: ConfigErrorKind::Schema,
            source_name: source_name.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.col),
            path: "schema".into(),
            message,
        })
    };
    match head.schema {
        None => Err(at(format!(
            "required field is missing: write `schema: {SCHEMA_VERSION}` first"
        ))),
        Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => Ok(tree),
        Some(v) => Err(at(format!(
            "unsupported schema version {v}: this studyflow reads schema {SCHEMA_VERSION}"
        ))),
    }
}

struct Issues<'a> {
    source: &'a str,
    tree: &'a Node,
    list: Vec<ConfigIssue>,
}

impl Issues<'_> {
    fn push(&mut self, kind: ConfigErrorKind, path: Vec<Seg>, message: impl Into<String>) {
        let pos = self.tree.locate(&path);
        self.list.push(ConfigIssue {
            kind,
            source_name: self.source.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.col),
            path: yaml::path_string(&path),
            message: message.into(),
        });
    }

    fn invalid(&mut self, path: Vec<Seg>, message: impl Into<String>) {
        self.push(ConfigErrorKind::Invalid, path, message);
    }
}

/// S3 bucket-name rules (general purpose buckets).
fn bucket_name_problem(b: &str) -> Option<String> {
    let len_ok = (3..=63).contains(&b.len());
    let chars_ok = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ends_ok = b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric());
    let ip_like = b.split('.').count() == 4 && b.split('.').all(|p| p.parse::<u8>().is_ok());
    let why = if !len_ok {
        "must be 3 to 63 characters long"
    } else if !chars_ok {
        "may contain only lower-case letters, digits, '.' and '-'"
    } else if !ends_ok {
        "must start and end with a letter or digit"
    } else if b.contains("..") {
        "must not contain two adjacent periods"
    } else if ip_like {
        "must not look like an IP address"
    } else if ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .any(|p| b.starts_with(p))
    {
        "must not start with xn--, sthree- or amzn-s3-demo-"
    } else if ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
        .iter()
        .any(|s| b.ends_with(s))
    {
        "must not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3"
    } else {
        return None;
    };
    Some(format!("bucket name \"{b}\" {why}"))
}

fn email_problem(e: &str) -> Option<String> {
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && !e.chars().any(char::is_whitespace)
                && domain.contains('.')
                && domain
                    .split('.')
                    .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        }
        None => false,
    };
    (!ok).then(|| format!("\"{e}\" is not an e-mail address"))
}

fn key_prefix_problem(p: &str) -> Option<String> {
    if p.starts_with('/') {
        Some(format!(
            "\"{p}\" starts with '/': keys are relative to the bucket"
        ))
    } else if p.split('/').any(|s| s == ".." || s == ".") {
        Some(format!("\"{p}\" contains a '.' or '..' segment"))
    } else {
        None
    }
}

fn study_id_problem(id: &str) -> Option<String> {
    let ok = (2..=63).contains(&id.len())
        && id
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    (!ok).then(|| {
        format!(
            "\"{id}\" is not a study id: 2 to 63 of a-z, 0-9 and '-', starting with a letter or digit"
        )
    })
}

/// Every rule across fields that serde cannot express.
fn validate(cfg: &StudyConfig, tree: &Node, source_name: &str, issues: &mut Issues<'_>) {
    // study
    if let Some(m) = study_id_problem(&cfg.study.id) {
        issues.invalid(yaml_path!["study", "id"], m);
    } else {
        let file = source_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(source_name);
        if let Some(stem) = file
            .strip_suffix(".yaml")
            .or_else(|| file.strip_suffix(".yml"))
            && stem != cfg.study.id
        {
            issues.invalid(
                yaml_path!["study", "id"],
                format!(
                    "the study id \"{}\" differs from the file name \"{file}\": name the file {}.yaml (one file per study keeps two configs from claiming the same study)",
                    cfg.study.id, cfg.study.id
                ),
            );
        }
    }
    if cfg.study.owner.trim().is_empty() {
        issues.invalid(yaml_path!["study", "owner"], "owner is empty");
    }
    if let Some(m) = email_problem(&cfg.study.contact) {
        issues.invalid(yaml_path!["study", "contact"], m);
    }

    // data
    if let Some(m) = bucket_name_problem(&cfg.data.bucket) {
        issues.invalid(yaml_path!["data", "bucket"], m);
    }
    if let Some(m) = key_prefix_problem(&cfg.data.prefix) {
        issues.invalid(yaml_path!["data", "prefix"], m);
    } else {
        let head = cfg.data.key_pattern.literal_prefix();
        if !head.starts_with(&cfg.data.prefix) && !cfg.data.prefix.starts_with(head) {
            issues.invalid(
                yaml_path!["data", "key_pattern"],
                format!(
                    "no key under data.prefix \"{}\" can match \"{}\"",
                    cfg.data.prefix,
                    cfg.data.key_pattern.as_str()
                ),
            );
        }
    }
    if cfg.data.format != DataFormat::Auto
        && let Some(ext_format) = DataFormat::from_key(cfg.data.key_pattern.as_str())
        && ext_format != cfg.data.format
    {
        issues.invalid(
            yaml_path!["data", "format"],
            format!(
                "format {} contradicts the key pattern's extension ({} files)",
                cfg.data.format.name(),
                ext_format.name()
            ),
        );
    }

    if let Some(csv) = &cfg.data.read.csv {
        for (field, m) in csv.problems() {
            issues.invalid(yaml_path!["data", "read", "csv", field], m);
        }
    }

    // metadata
    let metadata_given = tree.get(&[Seg::from("metadata")]).is_some();
    if metadata_given {
        for (p, m) in cfg.metadata.check() {
            issues.invalid(p, m);
        }
        let sample_keys = [
            cfg.metadata.study_file.clone(),
            cfg.metadata
                .subject_file
                .as_ref()
                .map(|p| p.replace("{subject}", "S01")),
        ];
        for key in sample_keys.into_iter().flatten() {
            if cfg.data.match_key(&key).is_some() {
                issues.invalid(
                    yaml_path!["data", "key_pattern"],
                    format!(
                        "the metadata file \"{key}\" matches the key pattern and would be taken for a recording"
                    ),
                );
            }
        }
    }

    // requirements
    let req = &cfg.requirements;
    let mut seen = BTreeSet::new();
    for (i, f) in req.metadata_fields.iter().enumerate() {
        if !seen.insert(f.as_str()) {
            issues.invalid(
                yaml_path!["requirements", "metadata_fields", i],
                format!("`{f}` is listed twice"),
            );
        } else if !metadata_given {
            issues.invalid(
                yaml_path!["requirements", "metadata_fields", i],
                format!("`{f}` is required but the config has no metadata section"),
            );
        } else if !cfg.metadata.fields.contains_key(f) {
            issues.invalid(
                yaml_path!["requirements", "metadata_fields", i],
                format!("`{f}` is not declared in metadata.fields"),
            );
        }
    }
    if let Some(h) = req.min_duration_hours
        && !(h.is_finite() && h > 0.0)
    {
        issues.invalid(
            yaml_path!["requirements", "min_duration_hours"],
            format!("must be a positive number of hours, found {h}"),
        );
    }
    if let Some(d) = &req.companion_device {
        if !cfg.data.key_pattern.has_device() {
            issues.invalid(
                yaml_path!["requirements", "companion_device"],
                "needs a {device} placeholder in data.key_pattern",
            );
        } else if d.is_empty() || d.contains('/') {
            issues.invalid(
                yaml_path!["requirements", "companion_device"],
                format!("\"{d}\" is not a device label"),
            );
        }
    }
    let (timeout, poll) = (req.timeout.seconds(), req.poll_interval.seconds());
    if timeout == 0 {
        issues.invalid(
            yaml_path!["requirements", "timeout"],
            "must be longer than zero",
        );
    }
    if poll == 0 {
        issues.invalid(
            yaml_path!["requirements", "poll_interval"],
            "must be longer than zero",
        );
    } else if poll > timeout && timeout > 0 {
        issues.invalid(
            yaml_path!["requirements", "poll_interval"],
            format!(
                "{} is longer than the timeout {}",
                req.poll_interval, req.timeout
            ),
        );
    } else if timeout.div_ceil(poll) > MAX_REQUIREMENT_CHECKS {
        issues.invalid(
            yaml_path!["requirements", "poll_interval"],
            format!(
                "checking every {} for {} takes {} checks, more than the {MAX_REQUIREMENT_CHECKS} one Step Functions execution can record; use a longer poll_interval",
                req.poll_interval,
                req.timeout,
                timeout.div_ceil(poll)
            ),
        );
    }

    // output
    let out = &cfg.output;
    if out.prefix.trim_matches('/').is_empty() {
        issues.invalid(
            yaml_path!["output", "prefix"],
            "must not be empty: results need their own folder",
        );
    } else if let Some(m) = key_prefix_problem(&out.prefix) {
        issues.invalid(yaml_path!["output", "prefix"], m);
    } else {
        let base = out.prefix.trim_end_matches('/');
        let version = biomarkers::VERSION;
        let samples = [
            format!("{base}/biomarkers-{version}/S01/V1/wrist/activity_epochs.parquet"),
            format!("{base}/biomarkers-{version}/S01/wrist/activity_epochs.parquet"),
            format!("{base}/biomarkers-{version}/S01/V1/wrist/summary.json"),
            format!("{base}/biomarkers-{version}/S01/V1/wrist/activity_epochs.csv"),
        ];
        if let Some(k) = samples.iter().find(|k| cfg.data.match_key(k).is_some()) {
            issues.invalid(
                yaml_path!["output", "prefix"],
                format!(
                    "results such as \"{k}\" would match data.key_pattern and be taken for recordings"
                ),
            );
        }
    }
}

/// Checks the version requirement and builds the effective steps (from `steps` or SKDH).
fn resolve_pipeline(
    cfg: &mut StudyConfig,
    issues: &mut Issues<'_>,
    load_skdh: &mut dyn FnMut(&str) -> Result<String, String>,
) {
    match Version::parse(biomarkers::VERSION) {
        Ok(v) if cfg.pipeline.biomarkers.matches(&v) => {}
        Ok(v) => issues.push(
            ConfigErrorKind::Pipeline,
            yaml_path!["pipeline", "biomarkers"],
            format!(
                "requirement \"{}\" is not satisfied by this biomarkers version {v}",
                cfg.pipeline.biomarkers
            ),
        ),
        Err(e) => issues.push(
            ConfigErrorKind::Pipeline,
            yaml_path!["pipeline", "biomarkers"],
            format!("cannot check: the library's own version is unreadable ({e})"),
        ),
    }
    match (&cfg.pipeline.steps, cfg.pipeline.skdh.clone()) {
        (Some(_), Some(_)) => issues.invalid(
            yaml_path!["pipeline", "skdh"],
            "set either steps or skdh, not both",
        ),
        (None, None) => issues.invalid(
            yaml_path!["pipeline"],
            "set steps (our step list) or skdh (a pipeline saved by SKDH)",
        ),
        (Some(steps), None) => {
            if steps.is_empty() {
                issues.invalid(yaml_path!["pipeline", "steps"], "the pipeline has no steps");
            } else if let Ok(spec) = cfg.pipeline_spec()
                && let Err(e) = Pipeline::from_spec(&spec)
            {
                let (p, m) = pipeline_error_path(&spec, &e);
                issues.push(
                    ConfigErrorKind::Pipeline,
                    [yaml_path!["pipeline", "steps"], p].concat(),
                    m,
                );
            }
        }
        (None, Some(skdh)) => {
            let inline = skdh.contains('\n') || skdh.contains(':');
            let (skdh_source, text) = if inline {
                (format!("{} (pipeline.skdh)", issues.source), skdh.clone())
            } else {
                if let Some(m) = key_prefix_problem(&skdh) {
                    issues.invalid(yaml_path!["pipeline", "skdh"], m);
                    return;
                }
                match load_skdh(&skdh) {
                    Ok(t) => (skdh.clone(), t),
                    Err(e) => {
                        issues.push(
                            ConfigErrorKind::Skdh,
                            yaml_path!["pipeline", "skdh"],
                            format!("cannot read the SKDH pipeline: {e}"),
                        );
                        return;
                    }
                }
            };
            match import_skdh(&skdh_source, &text) {
                Ok(imp) => {
                    cfg.pipeline.notes = imp.notes;
                    cfg.pipeline.steps = Some(
                        imp.spec
                            .steps
                            .into_iter()
                            .map(|s| StepConfig {
                                step: s.step,
                                params: s.params,
                            })
                            .collect(),
                    );
                }
                Err(e) => {
                    for issue in e.issues() {
                        if inline {
                            // Positions inside the inline text are not the config's lines: point
                            // at `pipeline.skdh` and say where inside the text.
                            let inner = match (issue.line, issue.path.is_empty()) {
                                (Some(l), false) => {
                                    format!("{} (line {l} of the SKDH text)", issue.path)
                                }
                                (Some(l), true) => format!("line {l} of the SKDH text"),
                                (None, _) => issue.path.clone(),
                            };
                            let msg = if inner.is_empty() {
                                issue.message.clone()
                            } else {
                                format!("{inner}: {}", issue.message)
                            };
                            issues.push(issue.kind, yaml_path!["pipeline", "skdh"], msg);
                        } else {
                            issues.list.push(issue.clone());
                        }
                    }
                }
            }
        }
    }
}

/// The path (below `steps`) and message of a pipeline error: `[i, "params", field]` when the
/// field can be found, so the error points at the parameter's line.
fn pipeline_error_path(spec: &PipelineSpec, e: &PipelineError) -> (Vec<Seg>, String) {
    match e {
        PipelineError::UnknownStep {
            index,
            name,
            offered,
        } => (
            yaml_path![*index, "step"],
            format!("unknown step '{name}' (this version of biomarkers offers: {offered})"),
        ),
        PipelineError::BadParams { index, message, .. } => {
            let field = spec
                .steps
                .get(*index)
                .and_then(|s| bad_param_field(*index, s, message));
            let mut p = yaml_path![*index, "params"];
            if let Some(f) = field {
                p.push(Seg::Key(f));
            }
            (p, message.clone())
        }
        other => (Vec::new(), other.to_string()),
    }
}

/// Finds which parameter a decoder message is about: named in `unknown field` messages, else
/// the one parameter that fails on its own.
pub(crate) fn bad_param_field(index: usize, spec: &StepSpec, message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return rest.split('`').next().map(str::to_string);
    }
    spec.params.iter().find_map(|(k, v)| {
        let mut single = serde_json::Map::new();
        single.insert(k.clone(), v.clone());
        let one = StepSpec {
            step: spec.step.clone(),
            params: single,
        };
        Step::from_spec(index, &one).is_err().then(|| k.clone())
    })
}
