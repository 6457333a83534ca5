//! The embedded local backend: folders for buckets, SQLite for the catalog, the `asl`
//! interpreter for the state machines, child processes for batch jobs.
//!
//! Object events flow as on AWS: a write to the config bucket starts the config-scan state
//! machine (EventBridge on AWS); a write to a study bucket goes through a queue (SQS on AWS) to
//! the `register_object` handler.

pub mod catalog;
pub mod jobs;
pub mod notifier;
pub mod orchestrator;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::events::ObjectEvent;
use crate::handlers::{self, ConfigRef, Services, Settings};
use crate::ports::PortError;

pub use catalog::SqliteCatalog;
pub use jobs::LocalJobRunner;
pub use notifier::{LocalNotifier, Webhook};
pub use orchestrator::LocalOrchestrator;
pub use store::FolderStore;

/// How to build a local backend.
#[derive(Clone)]
pub struct LocalOptions {
    /// Root folder (`.studyflow` by default).
    pub root: PathBuf,
    /// The program and arguments that run one batch job (`studyflow batch-job`).
    pub job_command: (PathBuf, Vec<String>),
    /// Most batch jobs at once (default: the number of cores).
    pub max_parallel_jobs: usize,
    /// The orchestrator's clock (scaled in tests and the demo).
    pub clock: Arc<dyn asl::Clock>,
    /// Bucket names and settings.
    pub settings: Settings,
    /// Where notifications are also POSTed (`STUDYFLOW_WEBHOOK_URL`), besides the log file.
    pub webhook: Option<notifier::Webhook>,
}

impl LocalOptions {
    /// Defaults for a root: the current executable with `batch-job`, one job per core, real time.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, PortError> {
        let exe = std::env::current_exe()
            .map_err(|e| PortError::new("local backend", format!("current executable: {e}")))?;
        Ok(Self {
            root: root.into(),
            job_command: (exe, vec!["batch-job".to_string()]),
            max_parallel_jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            clock: Arc::new(asl::SystemClock),
            settings: Settings::default(),
            webhook: match std::env::var("STUDYFLOW_WEBHOOK_URL") {
                Ok(url) if !url.is_empty() => Some(
                    notifier::Webhook::parse(&url)
                        .map_err(|e| PortError::new("local backend", e))?,
                ),
                _ => None,
            },
        })
    }
}

#[derive(Default)]
struct QueueState {
    pending: usize,
}

/// A running local backend.
pub struct LocalBackend {
    /// The root folder.
    pub root: PathBuf,
    /// Buckets.
    pub store: Arc<FolderStore>,
    /// Catalog.
    pub catalog: Arc<SqliteCatalog>,
    /// State machines.
    pub orchestrator: Arc<LocalOrchestrator>,
    /// Batch jobs.
    pub jobs: Arc<LocalJobRunner>,
    /// The services handed to handlers.
    pub services: Services,
    queue: Arc<(Mutex<QueueState>, Condvar)>,
}

/// The path of the catalog file under a root.
pub fn catalog_path(root: &Path) -> PathBuf {
    root.join("catalog.sqlite")
}

impl LocalBackend {
    /// Opens (creating if needed) a local root and starts its event dispatcher.
    pub fn open(opts: LocalOptions) -> Result<Self, PortError> {
        let root = opts.root.clone();
        std::fs::create_dir_all(&root).map_err(|e| {
            PortError::new("local backend", format!("create {}: {e}", root.display()))
        })?;
        let catalog = Arc::new(SqliteCatalog::open(&catalog_path(&root))?);
        catalog.abort_stale_executions()?;
        let (tx, rx): (Sender<ObjectEvent>, Receiver<ObjectEvent>) = channel();
        let queue = Arc::new((Mutex::new(QueueState::default()), Condvar::new()));
        let q = queue.clone();
        let tx = Mutex::new(tx);
        let store = Arc::new(FolderStore::new(&root).with_events(Arc::new(move |ev| {
            q.0.lock().unwrap_or_else(|p| p.into_inner()).pending += 1;
            // The receiver lives as long as the backend; a send after shutdown is dropped.
            let _ = tx.lock().unwrap_or_else(|p| p.into_inner()).send(ev);
        })));
        store.create_bucket(&opts.settings.config_bucket)?;
        let definition = format!(
            "{}-{}",
            opts.settings.job_definition_prefix,
            biomarkers::VERSION.replace('.', "-")
        );
        let jobs = Arc::new(LocalJobRunner::new(
            opts.job_command.0.clone(),
            opts.job_command.1.clone(),
            root.clone(),
            definition,
            opts.max_parallel_jobs,
        ));
        let orchestrator =
            LocalOrchestrator::new(catalog.clone(), opts.clock.clone(), jobs.clone() as _)?;
        let services = Services {
            store: store.clone(),
            catalog: catalog.clone(),
            orchestrator: orchestrator.clone(),
            notifier: Arc::new(match &opts.webhook {
                Some(w) => {
                    LocalNotifier::new(root.join("notifications.jsonl")).with_webhook(w.clone())
                }
                None => LocalNotifier::new(root.join("notifications.jsonl")),
            }),
            settings: opts.settings.clone(),
        };
        orchestrator.attach(services.clone());
        let backend = Self {
            root,
            store,
            catalog,
            orchestrator,
            jobs,
            services: services.clone(),
            queue: queue.clone(),
        };
        std::thread::Builder::new()
            .name("events".into())
            .spawn(move || {
                for ev in rx {
                    dispatch_event(&services, &ev);
                    let mut g = queue.0.lock().unwrap_or_else(|p| p.into_inner());
                    g.pending = g.pending.saturating_sub(1);
                    queue.1.notify_all();
                }
            })
            .map_err(|e| PortError::new("local backend", format!("event thread: {e}")))?;
        Ok(backend)
    }

    /// Waits until every queued event is handled and no execution runs (or the timeout passes).
    /// Returns true when idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut g = self.queue.0.lock().unwrap_or_else(|p| p.into_inner());
                while g.pending > 0 {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    g = self
                        .queue
                        .1
                        .wait_timeout(g, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            let now = Instant::now();
            if !self
                .orchestrator
                .wait_idle(deadline.saturating_duration_since(now))
            {
                return false;
            }
            // An execution may have written objects (error objects) that queued new events.
            if self
                .queue
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pending
                == 0
            {
                return true;
            }
        }
    }

    /// Starts a config scan of the whole config prefix (what the schedule does on AWS).
    pub fn scan_configs(&self) -> Result<(), PortError> {
        let name = format!("scan-{}", jiff::Timestamp::now().as_nanosecond());
        self.services
            .orchestrator
            .start_execution("scan-configs", &name, &json!({"configs": null}))
            .map(|_| ())
    }
}

impl LocalBackend {
    /// Reruns files in a final status (FAILED, REQUIREMENTS_TIMED_OUT, or SUCCEEDED when named
    /// explicitly by `file`): each gets a new attempt number, hence a new execution name.
    /// Returns the files restarted.
    pub fn retry(
        &self,
        study: Option<&str>,
        file: Option<&str>,
    ) -> Result<Vec<crate::model::FileItem>, PortError> {
        use crate::model::FileStatus;
        use crate::ports::{Catalog, FileFilter};
        let mut restarted = Vec::new();
        for s in self.catalog.list_studies()? {
            if study.is_some_and(|x| x != s.study) {
                continue;
            }
            for f in self.catalog.list_files(&s.study, &FileFilter::default())? {
                let wanted = match file {
                    Some(k) => k == f.file_key && f.status.is_final(),
                    None => matches!(
                        f.status,
                        FileStatus::Failed | FileStatus::RequirementsTimedOut
                    ),
                };
                if wanted && let Some(item) = self.catalog.reset_for_rerun(&s.study, &f.file_key)? {
                    restarted.push(item);
                }
            }
        }
        handlers::start_registered(&self.services)
            .map_err(|e| PortError::new("local backend", e.to_string()))?;
        Ok(restarted)
    }
}

/// Routes one object event the way the AWS wiring does.
fn dispatch_event(svc: &Services, ev: &ObjectEvent) {
    if ev.bucket == svc.settings.config_bucket {
        if !handlers::is_config_key(&svc.settings, &ev.key) {
            return;
        }
        let cref = ConfigRef {
            bucket: ev.bucket.clone(),
            key: ev.key.clone(),
            etag: ev.etag.clone(),
        };
        // Same name for the same config version: a replayed upload event starts nothing new.
        let name = handlers::execution_name(&handlers::FileExecutionInput {
            study: "config".into(),
            bucket: ev.bucket.clone(),
            file_key: ev.key.clone(),
            etag: ev.etag.clone(),
            attempt: 0,
            library_version: biomarkers::VERSION.into(),
        });
        if let Err(e) =
            svc.orchestrator
                .start_execution("scan-configs", &name, &json!({"configs": [cref]}))
        {
            tracing::error!(key = %ev.key, error = %e, "could not start the config scan");
        }
        return;
    }
    match handlers::register_object(svc, ev) {
        Ok(outcome) => tracing::debug!(?outcome, key = %ev.key, "object event handled"),
        Err(e) => {
            tracing::error!(bucket = %ev.bucket, key = %ev.key, error = %e, "object event failed")
        }
    }
}

/// Opens an existing root's catalog read-only style (for `status`): no event thread, no jobs.
pub fn open_catalog(root: &Path) -> Result<SqliteCatalog, PortError> {
    let path = catalog_path(root);
    if !path.is_file() {
        return Err(PortError::not_found(
            "catalog",
            format!(
                "no catalog at {} (run `studyflow demo` first?)",
                path.display()
            ),
        ));
    }
    SqliteCatalog::open(&path)
}

/// The store of a root without events (what a batch job child process uses).
pub fn plain_store(root: &Path) -> FolderStore {
    FolderStore::new(root)
}
