//! SQLite catalog: the same items as the DynamoDB tables (`Studies`, `Files`, `Subjects`), one
//! column per attribute, plus the local executions table. Status changes are compare-and-set
//! `UPDATE ... WHERE status IN (...)`, so a duplicated event cannot run a file twice.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::model::{FileItem, FileStatus, StudyItem, StudyStatus, SubjectItem, now_rfc3339};
use crate::ports::{Catalog, FileFilter, PortError, StatusUpdate};

const SYSTEM: &str = "catalog";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS studies (
    study TEXT PRIMARY KEY,
    config_bucket TEXT NOT NULL,
    config_key TEXT NOT NULL,
    config_etag TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    bucket TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    config_json TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    study TEXT NOT NULL,
    file_key TEXT NOT NULL,
    bucket TEXT NOT NULL,
    subject TEXT NOT NULL,
    visit TEXT NOT NULL,
    device TEXT NOT NULL,
    format TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    recording_start REAL,
    recording_end REAL,
    sample_rate REAL,
    device_id TEXT,
    header_error TEXT,
    status TEXT NOT NULL,
    library_version TEXT,
    execution_id TEXT,
    result_prefix TEXT,
    error TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    registered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (study, file_key)
);
CREATE INDEX IF NOT EXISTS files_by_status ON files (status, study);
CREATE INDEX IF NOT EXISTS files_by_subject ON files (study, subject);
CREATE TABLE IF NOT EXISTS subjects (
    study TEXT NOT NULL,
    subject TEXT NOT NULL,
    fields TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (study, subject)
);
CREATE TABLE IF NOT EXISTS executions (
    execution_arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state_machine TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    start_date TEXT NOT NULL,
    stop_date TEXT,
    history TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS executions_by_name ON executions (state_machine, name);
"#;

/// The SQLite catalog (one file, WAL mode, shared by the processes of one local root).
pub struct SqliteCatalog {
    conn: Mutex<Connection>,
}

fn db_err(what: &str, e: rusqlite::Error) -> PortError {
    let busy = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    if busy {
        PortError::transient(SYSTEM, format!("{what}: {e}"))
    } else {
        PortError::new(SYSTEM, format!("{what}: {e}"))
    }
}

/// One row of the local executions table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExecutionRow {
    /// Execution id.
    pub execution_arn: String,
    /// Execution name.
    pub name: String,
    /// State machine name.
    pub state_machine: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: String,
    /// Input JSON.
    pub input: serde_json::Value,
    /// Output JSON, when finished successfully.
    pub output: Option<serde_json::Value>,
    /// Error name, when failed.
    pub error: Option<String>,
    /// Error cause, when failed.
    pub cause: Option<String>,
    /// Start, RFC 3339.
    pub start_date: String,
    /// Stop, RFC 3339.
    pub stop_date: Option<String>,
}

impl SqliteCatalog {
    /// Opens (creating if needed) the catalog file.
    pub fn open(path: &Path) -> Result<Self, PortError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| PortError::new(SYSTEM, format!("create {}: {e}", parent.display())))?;
        }
        let conn =
            Connection::open(path).map_err(|e| db_err(&format!("open {}", path.display()), e))?;
        Self::init(conn)
    }

    /// An in-memory catalog (tests).
    pub fn in_memory() -> Result<Self, PortError> {
        let conn = Connection::open_in_memory().map_err(|e| db_err("open in-memory", e))?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self, PortError> {
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| db_err("busy timeout", e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db_err("WAL", e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| db_err("synchronous", e))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| db_err("create tables", e))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, PortError>) -> Result<T, PortError> {
        // A poisoned lock means another thread panicked mid-statement; SQLite's own transaction
        // kept the file consistent, so going on is safe.
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Records a new execution; false when one with that machine and name exists.
    pub fn insert_execution(
        &self,
        arn: &str,
        name: &str,
        machine: &str,
        input: &serde_json::Value,
        start: &str,
    ) -> Result<bool, PortError> {
        self.with(|c| {
            let n = c
                .execute(
                    "INSERT OR IGNORE INTO executions (execution_arn, name, state_machine, status, input, start_date)
                     VALUES (?1, ?2, ?3, 'RUNNING', ?4, ?5)",
                    params![arn, name, machine, input.to_string(), start],
                )
                .map_err(|e| db_err("insert execution", e))?;
            Ok(n == 1)
        })
    }

    /// Records the end of an execution with its history.
    pub fn finish_execution(&self, arn: &str, exec: &asl::Execution) -> Result<(), PortError> {
        let status = serde_json::to_value(exec.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "FAILED".into());
        let history = serde_json::to_string(&exec.history).unwrap_or_default();
        self.with(|c| {
            c.execute(
                "UPDATE executions SET status=?2, output=?3, error=?4, cause=?5, stop_date=?6, history=?7
                 WHERE execution_arn=?1",
                params![
                    arn,
                    status,
                    exec.output.as_ref().map(|v| v.to_string()),
                    exec.error,
                    exec.cause,
                    exec.stop_date,
                    history
                ],
            )
            .map_err(|e| db_err("finish execution", e))?;
            Ok(())
        })
    }

    /// The execution with that id.
    pub fn execution(&self, arn: &str) -> Result<Option<ExecutionRow>, PortError> {
        self.with(|c| {
            c.query_row(
                "SELECT execution_arn, name, state_machine, status, input, output, error, cause, start_date, stop_date
                 FROM executions WHERE execution_arn=?1",
                params![arn],
                execution_row,
            )
            .optional()
            .map_err(|e| db_err("get execution", e))
        })
    }

    /// The stored history of an execution (Step Functions-style events), if finished.
    pub fn execution_history(&self, arn: &str) -> Result<Option<serde_json::Value>, PortError> {
        self.with(|c| {
            let h: Option<Option<String>> = c
                .query_row(
                    "SELECT history FROM executions WHERE execution_arn=?1",
                    params![arn],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| db_err("get history", e))?;
            Ok(h.flatten().and_then(|t| serde_json::from_str(&t).ok()))
        })
    }

    /// All executions, newest first.
    pub fn list_executions(&self) -> Result<Vec<ExecutionRow>, PortError> {
        self.with(|c| {
            let mut st = c
                .prepare(
                    "SELECT execution_arn, name, state_machine, status, input, output, error, cause, start_date, stop_date
                     FROM executions ORDER BY start_date DESC",
                )
                .map_err(|e| db_err("list executions", e))?;
            let rows = st
                .query_map([], execution_row)
                .map_err(|e| db_err("list executions", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| db_err("list executions", e))
        })
    }

    /// Marks executions left RUNNING by a process that died as ABORTED (called at start-up).
    pub fn abort_stale_executions(&self) -> Result<usize, PortError> {
        self.with(|c| {
            c.execute(
                "UPDATE executions SET status='ABORTED', stop_date=?1, error='States.Aborted',
                 cause='the local runner stopped before the execution finished' WHERE status='RUNNING'",
                params![now_rfc3339()],
            )
            .map_err(|e| db_err("abort stale executions", e))
        })
    }
}

fn execution_row(r: &Row<'_>) -> rusqlite::Result<ExecutionRow> {
    let input: String = r.get(4)?;
    let output: Option<String> = r.get(5)?;
    Ok(ExecutionRow {
        execution_arn: r.get(0)?,
        name: r.get(1)?,
        state_machine: r.get(2)?,
        status: r.get(3)?,
        input: serde_json::from_str(&input).unwrap_or(serde_json::Value::Null),
        output: output.and_then(|o| serde_json::from_str(&o).ok()),
        error: r.get(6)?,
        cause: r.get(7)?,
        start_date: r.get(8)?,
        stop_date: r.get(9)?,
    })
}

const FILE_COLUMNS: &str = "study, file_key, bucket, subject, visit, device, format, size, etag, recording_start, recording_end, sample_rate, device_id, header_error, status, library_version, execution_id, result_prefix, error, attempt, registered_at, updated_at";

fn file_row(r: &Row<'_>) -> rusqlite::Result<FileItem> {
    let status: String = r.get(14)?;
    let size: i64 = r.get(7)?;
    let attempt: i64 = r.get(19)?;
    Ok(FileItem {
        study: r.get(0)?,
        file_key: r.get(1)?,
        bucket: r.get(2)?,
        subject: r.get(3)?,
        visit: r.get(4)?,
        device: r.get(5)?,
        format: r.get(6)?,
        size: size.max(0) as u64,
        etag: r.get(8)?,
        recording_start: r.get(9)?,
        recording_end: r.get(10)?,
        sample_rate: r.get(11)?,
        device_id: r.get(12)?,
        header_error: r.get(13)?,
        status: FileStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                14,
                rusqlite::types::Type::Text,
                format!("unknown status {status}").into(),
            )
        })?,
        library_version: r.get(15)?,
        execution_id: r.get(16)?,
        result_prefix: r.get(17)?,
        error: r.get(18)?,
        attempt: attempt.clamp(0, u32::MAX as i64) as u32,
        registered_at: r.get(20)?,
        updated_at: r.get(21)?,
    })
}

const STUDY_COLUMNS: &str = "study, config_bucket, config_key, config_etag, config_hash, bucket, status, error, config_json, updated_at";

fn study_row(r: &Row<'_>) -> rusqlite::Result<StudyItem> {
    let status: String = r.get(6)?;
    let cfg: Option<String> = r.get(8)?;
    Ok(StudyItem {
        study: r.get(0)?,
        config_bucket: r.get(1)?,
        config_key: r.get(2)?,
        config_etag: r.get(3)?,
        config_hash: r.get(4)?,
        bucket: r.get(5)?,
        status: StudyStatus::parse(&status).unwrap_or(StudyStatus::Invalid),
        error: r.get(7)?,
        config_json: cfg.and_then(|c| serde_json::from_str(&c).ok()),
        updated_at: r.get(9)?,
    })
}

impl Catalog for SqliteCatalog {
    fn get_study(&self, study: &str) -> Result<Option<StudyItem>, PortError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {STUDY_COLUMNS} FROM studies WHERE study=?1"),
                params![study],
                study_row,
            )
            .optional()
            .map_err(|e| db_err(&format!("get study {study}"), e))
        })
    }

    fn list_studies(&self) -> Result<Vec<StudyItem>, PortError> {
        self.with(|c| {
            let mut st = c
                .prepare(&format!(
                    "SELECT {STUDY_COLUMNS} FROM studies ORDER BY study"
                ))
                .map_err(|e| db_err("list studies", e))?;
            let rows = st
                .query_map([], study_row)
                .map_err(|e| db_err("list studies", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| db_err("list studies", e))
        })
    }

    fn put_study(&self, s: &StudyItem) -> Result<(), PortError> {
        self.with(|c| {
            c.execute(
                &format!(
                    "INSERT OR REPLACE INTO studies ({STUDY_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
                ),
                params![
                    s.study,
                    s.config_bucket,
                    s.config_key,
                    s.config_etag,
                    s.config_hash,
                    s.bucket,
                    s.status.as_str(),
                    s.error,
                    s.config_json.as_ref().map(|v| v.to_string()),
                    s.updated_at
                ],
            )
            .map_err(|e| db_err(&format!("put study {}", s.study), e))?;
            Ok(())
        })
    }

    fn get_file(&self, study: &str, file_key: &str) -> Result<Option<FileItem>, PortError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {FILE_COLUMNS} FROM files WHERE study=?1 AND file_key=?2"),
                params![study, file_key],
                file_row,
            )
            .optional()
            .map_err(|e| db_err(&format!("get file {study}/{file_key}"), e))
        })
    }

    fn list_files(&self, study: &str, filter: &FileFilter) -> Result<Vec<FileItem>, PortError> {
        self.with(|c| {
            let mut st = c
                .prepare(&format!(
                    "SELECT {FILE_COLUMNS} FROM files WHERE study=?1
                     AND (?2 IS NULL OR subject=?2) AND (?3 IS NULL OR status=?3) ORDER BY file_key"
                ))
                .map_err(|e| db_err("list files", e))?;
            let rows = st
                .query_map(
                    params![study, filter.subject, filter.status.map(FileStatus::as_str)],
                    file_row,
                )
                .map_err(|e| db_err("list files", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| db_err("list files", e))
        })
    }

    fn register_file(&self, f: &FileItem) -> Result<bool, PortError> {
        self.with(|c| {
            // A new ETag for a known key is a new upload: it replaces the item unless the old
            // upload is being processed right now (that execution's CAS writes would then fail).
            let n = c
                .execute(
                    &format!(
                        "INSERT INTO files ({FILE_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)
                         ON CONFLICT (study, file_key) DO UPDATE SET
                           bucket=excluded.bucket, subject=excluded.subject, visit=excluded.visit, device=excluded.device,
                           format=excluded.format, size=excluded.size, etag=excluded.etag,
                           recording_start=excluded.recording_start, recording_end=excluded.recording_end,
                           sample_rate=excluded.sample_rate, device_id=excluded.device_id, header_error=excluded.header_error,
                           status=excluded.status, library_version=NULL, execution_id=NULL, result_prefix=NULL, error=NULL,
                           attempt=0, registered_at=excluded.registered_at, updated_at=excluded.updated_at
                         WHERE files.etag <> excluded.etag AND files.status <> 'PROCESSING'"
                    ),
                    params![
                        f.study,
                        f.file_key,
                        f.bucket,
                        f.subject,
                        f.visit,
                        f.device,
                        f.format,
                        f.size as i64,
                        f.etag,
                        f.recording_start,
                        f.recording_end,
                        f.sample_rate,
                        f.device_id,
                        f.header_error,
                        f.status.as_str(),
                        f.library_version,
                        f.execution_id,
                        f.result_prefix,
                        f.error,
                        f.attempt as i64,
                        f.registered_at,
                        f.updated_at
                    ],
                )
                .map_err(|e| db_err(&format!("register {}/{}", f.study, f.file_key), e))?;
            Ok(n == 1)
        })
    }

    fn transition(
        &self,
        study: &str,
        file_key: &str,
        etag: &str,
        from: &[FileStatus],
        to: FileStatus,
        u: &StatusUpdate,
    ) -> Result<bool, PortError> {
        let from_list = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        self.with(|c| {
            let n = c
                .execute(
                    &format!(
                        "UPDATE files SET status=?4, error=?5,
                           execution_id=COALESCE(?6, execution_id),
                           result_prefix=COALESCE(?7, result_prefix),
                           library_version=COALESCE(?8, library_version),
                           updated_at=?9
                         WHERE study=?1 AND file_key=?2 AND etag=?3 AND status IN ({from_list})"
                    ),
                    params![
                        study,
                        file_key,
                        etag,
                        to.as_str(),
                        u.error,
                        u.execution_id,
                        u.result_prefix,
                        u.library_version,
                        now_rfc3339()
                    ],
                )
                .map_err(|e| db_err(&format!("transition {study}/{file_key} to {to}"), e))?;
            Ok(n == 1)
        })
    }

    fn reset_for_rerun(&self, study: &str, file_key: &str) -> Result<Option<FileItem>, PortError> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE files SET status='REGISTERED', attempt=attempt+1, error=NULL, updated_at=?3
                 WHERE study=?1 AND file_key=?2 AND status IN ('SUCCEEDED','FAILED','REQUIREMENTS_TIMED_OUT')",
                params![study, file_key, now_rfc3339()],
            )
            .map_err(|e| db_err(&format!("rerun {study}/{file_key}"), e))
        })?;
        if n == 1 {
            self.get_file(study, file_key)
        } else {
            Ok(None)
        }
    }

    fn put_subject(&self, s: &SubjectItem) -> Result<(), PortError> {
        let fields = serde_json::Value::Object(s.fields.clone()).to_string();
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO subjects (study, subject, fields, source, updated_at) VALUES (?1,?2,?3,?4,?5)",
                params![s.study, s.subject, fields, s.source, s.updated_at],
            )
            .map_err(|e| db_err(&format!("put subject {}/{}", s.study, s.subject), e))?;
            Ok(())
        })
    }

    fn get_subject(&self, study: &str, subject: &str) -> Result<Option<SubjectItem>, PortError> {
        self.with(|c| {
            c.query_row(
                "SELECT study, subject, fields, source, updated_at FROM subjects WHERE study=?1 AND subject=?2",
                params![study, subject],
                |r| {
                    let fields: String = r.get(2)?;
                    Ok(SubjectItem {
                        study: r.get(0)?,
                        subject: r.get(1)?,
                        fields: serde_json::from_str(&fields).unwrap_or_default(),
                        source: r.get(3)?,
                        updated_at: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(|e| db_err(&format!("get subject {study}/{subject}"), e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(etag: &str) -> FileItem {
        FileItem {
            study: "s".into(),
            file_key: "raw/S1/V1/wrist.cwa".into(),
            bucket: "b".into(),
            subject: "S1".into(),
            visit: "V1".into(),
            device: "wrist".into(),
            format: "cwa".into(),
            size: 10,
            etag: etag.into(),
            recording_start: Some(1.0),
            recording_end: Some(2.0),
            sample_rate: Some(50.0),
            device_id: None,
            header_error: None,
            status: FileStatus::Registered,
            library_version: None,
            execution_id: None,
            result_prefix: None,
            error: None,
            attempt: 0,
            registered_at: now_rfc3339(),
            updated_at: now_rfc3339(),
        }
    }

    #[test]
    fn registration_is_idempotent_per_etag() {
        let c = SqliteCatalog::in_memory().unwrap();
        assert!(c.register_file(&file("e1")).unwrap());
        assert!(
            !c.register_file(&file("e1")).unwrap(),
            "replay rewrote the item"
        );
        let up = StatusUpdate::default();
        assert!(
            c.transition(
                "s",
                "raw/S1/V1/wrist.cwa",
                "e1",
                &[FileStatus::Registered],
                FileStatus::Waiting,
                &up
            )
            .unwrap()
        );
        // A new upload (new ETag) replaces the item and resets it.
        assert!(c.register_file(&file("e2")).unwrap());
        let f = c.get_file("s", "raw/S1/V1/wrist.cwa").unwrap().unwrap();
        assert_eq!((f.etag.as_str(), f.status), ("e2", FileStatus::Registered));
    }

    #[test]
    fn transitions_are_compare_and_set() {
        let c = SqliteCatalog::in_memory().unwrap();
        c.register_file(&file("e1")).unwrap();
        let key = "raw/S1/V1/wrist.cwa";
        let up = StatusUpdate {
            error: Some("boom".into()),
            ..Default::default()
        };
        // Wrong source status, wrong ETag: refused.
        assert!(
            !c.transition(
                "s",
                key,
                "e1",
                &[FileStatus::Waiting],
                FileStatus::Processing,
                &up
            )
            .unwrap()
        );
        assert!(
            !c.transition(
                "s",
                key,
                "old",
                &[FileStatus::Registered],
                FileStatus::Waiting,
                &up
            )
            .unwrap()
        );
        assert!(
            c.transition(
                "s",
                key,
                "e1",
                &[FileStatus::Registered],
                FileStatus::Failed,
                &up
            )
            .unwrap()
        );
        let f = c.get_file("s", key).unwrap().unwrap();
        assert_eq!(f.status, FileStatus::Failed);
        assert_eq!(f.error.as_deref(), Some("boom"));
        let r = c.reset_for_rerun("s", key).unwrap().unwrap();
        assert_eq!((r.status, r.attempt), (FileStatus::Registered, 1));
        assert!(
            c.transition(
                "s",
                key,
                "e1",
                &[FileStatus::Registered],
                FileStatus::Waiting,
                &StatusUpdate::default()
            )
            .unwrap()
        );
        assert!(
            c.transition(
                "s",
                key,
                "e1",
                &[FileStatus::Waiting],
                FileStatus::Processing,
                &StatusUpdate::default()
            )
            .unwrap()
        );
        // A processing file is not replaced by a new upload mid-run, nor rerun.
        assert!(!c.register_file(&file("e9")).unwrap());
        assert!(
            c.reset_for_rerun("s", key).unwrap().is_none(),
            "rerun of a running file"
        );
    }

    #[test]
    fn executions_are_unique_by_machine_and_name() {
        let c = SqliteCatalog::in_memory().unwrap();
        let input = serde_json::json!({"a": 1});
        assert!(c.insert_execution("arn:1", "n", "m", &input, "t").unwrap());
        assert!(!c.insert_execution("arn:2", "n", "m", &input, "t").unwrap());
        assert!(
            c.insert_execution("arn:3", "n", "other", &input, "t")
                .unwrap()
        );
        assert_eq!(c.abort_stale_executions().unwrap(), 2);
        assert_eq!(c.execution("arn:1").unwrap().unwrap().status, "ABORTED");
    }
}
