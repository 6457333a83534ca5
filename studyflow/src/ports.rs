//! The ports: one trait per outside system. Each has a local adapter (crate::local) and an AWS
//! adapter (crate::aws, feature `aws`).
//!
//! The traits are synchronous: the local backend needs no async runtime, and the AWS adapters
//! drive the async SDK on a runtime handle they own (callers in async code use
//! `spawn_blocking`).

use std::path::Path;

use crate::model::{FileItem, FileStatus, StudyItem, SubjectItem};

/// An error from an outside system. `transient` errors are worth retrying with backoff.
#[derive(Debug, thiserror::Error)]
#[error("{system}: {message}")]
pub struct PortError {
    /// Which system failed (`object store`, `catalog`, ...).
    pub system: &'static str,
    /// What failed, naming the bucket/key/item.
    pub message: String,
    /// True for throttling, timeouts and unavailable services.
    pub transient: bool,
    /// True when the named object, item or bucket does not exist.
    pub not_found: bool,
}

impl PortError {
    /// A permanent error.
    pub fn new(system: &'static str, message: impl Into<String>) -> Self {
        Self {
            system,
            message: message.into(),
            transient: false,
            not_found: false,
        }
    }

    /// A "does not exist" error.
    pub fn not_found(system: &'static str, message: impl Into<String>) -> Self {
        Self {
            not_found: true,
            ..Self::new(system, message)
        }
    }

    /// A transient error (retry with backoff).
    pub fn transient(system: &'static str, message: impl Into<String>) -> Self {
        Self {
            transient: true,
            ..Self::new(system, message)
        }
    }
}

/// Facts about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Object key.
    pub key: String,
    /// Size, bytes.
    pub size: u64,
    /// Entity tag (content hash), without quotes.
    pub etag: String,
}

/// Buckets of objects (S3 on AWS, folders locally).
pub trait ObjectStore: Send + Sync {
    /// True when the bucket exists.
    fn bucket_exists(&self, bucket: &str) -> Result<bool, PortError>;
    /// Metadata of one object, `None` when absent.
    fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError>;
    /// All objects whose key starts with `prefix`, in key order.
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError>;
    /// The whole object.
    fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError>;
    /// At most `len` bytes from `offset` (a ranged GET).
    fn get_range(
        &self,
        bucket: &str,
        key: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, PortError>;
    /// Streams the object into a local file.
    fn download(&self, bucket: &str, key: &str, dest: &Path) -> Result<ObjectMeta, PortError>;
    /// Writes an object from memory (atomically: readers see the old or the new object).
    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<ObjectMeta, PortError>;
    /// Streams a local file into an object.
    fn upload(&self, bucket: &str, key: &str, src: &Path) -> Result<ObjectMeta, PortError>;
    /// Removes an object (absent objects are not an error).
    fn delete(&self, bucket: &str, key: &str) -> Result<(), PortError>;
}

/// A filter over the files of a study.
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this status.
    pub status: Option<FileStatus>,
}

/// The fields a status transition may set besides the status.
#[derive(Debug, Clone, Default)]
pub struct StatusUpdate {
    /// Error text (set on FAILED / REQUIREMENTS_TIMED_OUT; cleared otherwise when `None`).
    pub error: Option<String>,
    /// Execution id to record.
    pub execution_id: Option<String>,
    /// Result prefix to record.
    pub result_prefix: Option<String>,
    /// Library version to record.
    pub library_version: Option<String>,
}

/// The study/file/subject catalog (DynamoDB on AWS, SQLite locally).
pub trait Catalog: Send + Sync {
    /// One study.
    fn get_study(&self, study: &str) -> Result<Option<StudyItem>, PortError>;
    /// All studies.
    fn list_studies(&self) -> Result<Vec<StudyItem>, PortError>;
    /// Creates or replaces a study item.
    fn put_study(&self, item: &StudyItem) -> Result<(), PortError>;
    /// One file.
    fn get_file(&self, study: &str, file_key: &str) -> Result<Option<FileItem>, PortError>;
    /// Files of a study matching the filter, in key order.
    fn list_files(&self, study: &str, filter: &FileFilter) -> Result<Vec<FileItem>, PortError>;
    /// Inserts the file if no item with its key exists, or replaces an item whose ETag differs
    /// (a new upload of the same key). Returns true when written; false when an item with the same
    /// ETag already exists (a replayed event).
    fn register_file(&self, item: &FileItem) -> Result<bool, PortError>;
    /// Compare-and-set status change: applies only when the current status is one of `from` (and
    /// the ETag matches, so a stale execution cannot touch a newer upload). Returns whether it
    /// applied.
    fn transition(
        &self,
        study: &str,
        file_key: &str,
        etag: &str,
        from: &[FileStatus],
        to: FileStatus,
        update: &StatusUpdate,
    ) -> Result<bool, PortError>;
    /// Increments the attempt counter of a file in a final status and sets it REGISTERED (a
    /// deliberate rerun). Returns the new item, or `None` when the file is not in a final status.
    fn reset_for_rerun(&self, study: &str, file_key: &str) -> Result<Option<FileItem>, PortError>;
    /// Creates or replaces a subject's metadata.
    fn put_subject(&self, item: &SubjectItem) -> Result<(), PortError>;
    /// One subject's metadata.
    fn get_subject(&self, study: &str, subject: &str) -> Result<Option<SubjectItem>, PortError>;
}

/// What starting an execution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new execution runs.
    Started {
        /// Its id (ARN).
        execution_arn: String,
    },
    /// An execution of that name exists already (a replayed event): nothing new started.
    AlreadyExists {
        /// The existing execution's id.
        execution_arn: String,
    },
}

/// Runs state machines (Step Functions on AWS, the `asl` interpreter locally).
pub trait Orchestrator: Send + Sync {
    /// Starts the named state machine (`process-file`, `scan-configs`) under an execution name
    /// unique per study/file/etag/version/attempt.
    fn start_execution(
        &self,
        machine: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<StartOutcome, PortError>;
}

/// Sends notifications (SNS on AWS, a log file and optional webhook locally).
pub trait Notifier: Send + Sync {
    /// Publishes one message with a subject line.
    fn publish(&self, subject: &str, message: &serde_json::Value) -> Result<(), PortError>;
}

/// A batch job as the state machine submits it (Batch `SubmitJob` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    /// Job name.
    pub name: String,
    /// Job queue.
    pub queue: String,
    /// Job definition (names the library version).
    pub definition: String,
    /// Container environment overrides.
    pub environment: Vec<(String, String)>,
}

impl JobRequest {
    /// Reads Batch SubmitJob parameters (`JobName`, `JobQueue`, `JobDefinition`,
    /// `ContainerOverrides.Environment`), as a `batch:submitJob` Task passes them.
    pub fn from_parameters(p: &serde_json::Value) -> Result<JobRequest, String> {
        use serde_json::Value;
        let s = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("batch:submitJob parameter {k} is missing"))
        };
        let mut environment = Vec::new();
        if let Some(env) = p.pointer("/ContainerOverrides/Environment") {
            let list = env
                .as_array()
                .ok_or("ContainerOverrides.Environment is not a list")?;
            for e in list {
                let name = e.get("Name").and_then(Value::as_str);
                let value = e.get("Value").and_then(Value::as_str);
                match (name, value) {
                    (Some(n), Some(v)) => environment.push((n.to_string(), v.to_string())),
                    _ => return Err(format!("bad environment entry {e}")),
                }
            }
        }
        Ok(JobRequest {
            name: s("JobName")?,
            queue: s("JobQueue")?,
            definition: s("JobDefinition")?,
            environment,
        })
    }
}

/// Runs batch jobs to completion (Batch on Fargate on AWS, child processes locally).
pub trait JobRunner: Send + Sync {
    /// Runs one job and waits for it. Returns the job's description in the shape of Batch's
    /// DescribeJobs (`Status` is `SUCCEEDED` or `FAILED`, `StatusReason` says why); an `Err` only
    /// when the job could not be submitted at all.
    fn run(&self, job: &JobRequest) -> Result<serde_json::Value, PortError>;
}
