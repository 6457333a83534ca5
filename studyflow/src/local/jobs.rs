//! Local job runner: `batch:submitJob.sync` runs the batch-job binary as a child process with the
//! container overrides' environment, at most `max_parallel` at once (default: the cores).
//! The answer has the shape of Batch's DescribeJobs, so the state machine reads the same fields
//! locally and on AWS.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};

use serde_json::{Value, json};

use crate::ports::{JobRequest, JobRunner, PortError};

const SYSTEM: &str = "job runner";

/// Runs jobs as child processes.
pub struct LocalJobRunner {
    program: PathBuf,
    args: Vec<String>,
    root: PathBuf,
    job_definition: String,
    max_parallel: usize,
    slots: Mutex<usize>,
    freed: Condvar,
    peak: Mutex<usize>,
}

impl LocalJobRunner {
    /// A runner of `program args...` (e.g. the `studyflow` binary with `batch-job`) for the local
    /// root `root`; only `job_definition` (the pinned library version's) is accepted.
    pub fn new(
        program: PathBuf,
        args: Vec<String>,
        root: PathBuf,
        job_definition: String,
        max_parallel: usize,
    ) -> Self {
        Self {
            program,
            args,
            root,
            job_definition,
            max_parallel: max_parallel.max(1),
            slots: Mutex::new(0),
            freed: Condvar::new(),
            peak: Mutex::new(0),
        }
    }

    /// The most jobs that ran at the same time so far.
    pub fn peak_parallel(&self) -> usize {
        *self.peak.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn acquire(&self) {
        let mut n = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        while *n >= self.max_parallel {
            n = self.freed.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n += 1;
        let mut peak = self.peak.lock().unwrap_or_else(|p| p.into_inner());
        *peak = (*peak).max(*n);
    }

    fn release(&self) {
        let mut n = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        self.freed.notify_one();
    }
}

impl JobRunner for LocalJobRunner {
    fn run(&self, req: &JobRequest) -> Result<Value, PortError> {
        let job_id = format!(
            "local-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        );
        let describe = |status: &str, reason: String, exit: Option<i32>, started: &str| {
            json!({
                "JobId": job_id, "JobName": req.name, "JobQueue": req.queue,
                "JobDefinition": req.definition, "Status": status, "StatusReason": reason,
                "StartedAt": started, "StoppedAt": jiff::Timestamp::now().to_string(),
                "Container": {"ExitCode": exit, "Environment": req.environment.iter()
                    .map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>()}
            })
        };
        if req.definition != self.job_definition {
            return Ok(describe(
                "FAILED",
                format!(
                    "job definition {} does not exist here (this build provides {})",
                    req.definition, self.job_definition
                ),
                None,
                "",
            ));
        }
        self.acquire();
        let started = jiff::Timestamp::now().to_string();
        let log_dir = self.root.join("logs").join("jobs");
        let result = std::fs::create_dir_all(&log_dir)
            .and_then(|_| std::fs::File::create(log_dir.join(format!("{}.log", req.name))))
            .and_then(|log| {
                Command::new(&self.program)
                    .args(&self.args)
                    .envs(req.environment.iter().map(|(k, v)| (k, v)))
                    .env("STUDYFLOW_LOCAL_ROOT", &self.root)
                    .env("STUDYFLOW_JOB_ID", &job_id)
                    .stdin(Stdio::null())
                    .stdout(log)
                    .stderr(Stdio::piped())
                    .output()
            });
        self.release();
        let out = result.map_err(|e| {
            PortError::new(
                SYSTEM,
                format!("cannot run {}: {e}", self.program.display()),
            )
        })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return Ok(describe(
                "SUCCEEDED",
                "Essential container in task exited".into(),
                Some(0),
                &started,
            ));
        }
        // The batch job's contract: one JSON error line on failure. Keep its message.
        let reason = stderr
            .lines()
            .rev()
            .find_map(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            })
            .unwrap_or_else(|| match out.status.code() {
                Some(c) => format!("batch job exited with code {c}"),
                None => "batch job was killed by a signal".to_string(),
            });
        Ok(describe("FAILED", reason, out.status.code(), &started))
    }
}
