//! The catalog's items: studies, files and subject metadata, attribute for attribute as in the
//! DynamoDB tables of DESIGN.md (the local SQLite catalog stores the same attributes).

use serde::{Deserialize, Serialize};

/// Processing status of one data file. Transitions are compare-and-set in every catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileStatus {
    /// Known to the catalog; no execution has picked it up yet.
    Registered,
    /// An execution waits for the file's requirements (e.g. subject metadata).
    Waiting,
    /// The batch job runs.
    Processing,
    /// Results and summary are written.
    Succeeded,
    /// Processing failed; `error` says why.
    Failed,
    /// The requirements were not met before the config's timeout.
    RequirementsTimedOut,
}

impl FileStatus {
    /// All statuses, in lifecycle order.
    pub const ALL: [FileStatus; 6] = [
        FileStatus::Registered,
        FileStatus::Waiting,
        FileStatus::Processing,
        FileStatus::Succeeded,
        FileStatus::Failed,
        FileStatus::RequirementsTimedOut,
    ];

    /// The status as stored (`"REGISTERED"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Registered => "REGISTERED",
            FileStatus::Waiting => "WAITING",
            FileStatus::Processing => "PROCESSING",
            FileStatus::Succeeded => "SUCCEEDED",
            FileStatus::Failed => "FAILED",
            FileStatus::RequirementsTimedOut => "REQUIREMENTS_TIMED_OUT",
        }
    }

    /// Parses a stored status.
    pub fn parse(s: &str) -> Option<FileStatus> {
        FileStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// True for statuses no execution will change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            FileStatus::Succeeded | FileStatus::Failed | FileStatus::RequirementsTimedOut
        )
    }
}

impl std::fmt::Display for FileStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Status of a study config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StudyStatus {
    /// Valid config; its files are registered and processed.
    Active,
    /// The config could not be used; `error` says why.
    Invalid,
}

impl StudyStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            StudyStatus::Active => "ACTIVE",
            StudyStatus::Invalid => "INVALID",
        }
    }

    /// Parses a stored status.
    pub fn parse(s: &str) -> Option<StudyStatus> {
        match s {
            "ACTIVE" => Some(StudyStatus::Active),
            "INVALID" => Some(StudyStatus::Invalid),
            _ => None,
        }
    }
}

/// A study item (table `Studies`, key `study`). A config that fails validation is recorded under
/// the id `config:<config key>` when no study id could be read from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyItem {
    /// Study id (partition key).
    pub study: String,
    /// Config bucket.
    pub config_bucket: String,
    /// Key of the config object in the config bucket.
    pub config_key: String,
    /// ETag of the config object last processed.
    pub config_etag: String,
    /// SHA-256 of the config bytes.
    pub config_hash: String,
    /// Study data bucket (empty when the config was invalid before naming one).
    pub bucket: String,
    /// ACTIVE or INVALID.
    pub status: StudyStatus,
    /// Why the config is invalid.
    pub error: Option<String>,
    /// The validated config as JSON (for handlers that need it without re-reading the bucket).
    pub config_json: Option<serde_json::Value>,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// A data-file item (table `Files`, key `study` + `file_key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileItem {
    /// Study id (partition key).
    pub study: String,
    /// Object key in the study bucket (sort key).
    pub file_key: String,
    /// Study bucket.
    pub bucket: String,
    /// Subject id from the key pattern.
    pub subject: String,
    /// Visit from the key pattern (empty if the pattern has none).
    pub visit: String,
    /// Device / wear location from the key pattern (empty if none).
    pub device: String,
    /// Format detected from the content (`cwa`, ...) or empty when unknown.
    pub format: String,
    /// Object size, bytes.
    pub size: u64,
    /// Object ETag.
    pub etag: String,
    /// Recording start from the header, unix s.
    pub recording_start: Option<f64>,
    /// Recording end from the header (may be an estimate), unix s.
    pub recording_end: Option<f64>,
    /// Sampling rate from the header, Hz.
    pub sample_rate: Option<f64>,
    /// Device serial from the header.
    pub device_id: Option<String>,
    /// Why the header could not be read, when it could not.
    pub header_error: Option<String>,
    /// Processing status (GSI `by-status`).
    pub status: FileStatus,
    /// Library version that processed (or processes) the file.
    pub library_version: Option<String>,
    /// Execution that processes the file.
    pub execution_id: Option<String>,
    /// Where the results are (`s3://bucket/results/...`).
    pub result_prefix: Option<String>,
    /// Error of the last failed attempt.
    pub error: Option<String>,
    /// Processing attempt number (a manual rerun increments it, giving a new execution name).
    pub attempt: u32,
    /// When the file was registered, RFC 3339.
    pub registered_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// Subject metadata item (table `Subjects`, key `study` + `subject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectItem {
    /// Study id.
    pub study: String,
    /// Subject id.
    pub subject: String,
    /// Metadata fields (height_m, age, time_zone, ...).
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Where the metadata was read from (`s3://bucket/key`).
    pub source: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// The current time as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
