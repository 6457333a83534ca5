//! Local notifications: one JSON line per message in `<root>/notifications.jsonl` (SNS on AWS).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::ports::{Notifier, PortError};

/// Appends notifications to a JSON-lines file.
pub struct LocalNotifier {
    path: PathBuf,
    lock: Mutex<()>,
}

impl LocalNotifier {
    /// A notifier writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }
}

impl Notifier for LocalNotifier {
    fn publish(&self, subject: &str, message: &serde_json::Value) -> Result<(), PortError> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let line = serde_json::json!({
            "at": crate::model::now_rfc3339(),
            "subject": subject,
            "message": message,
        });
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| writeln!(f, "{line}"))
            .map_err(|e| PortError::new("notifier", format!("{}: {e}", self.path.display())))
    }
}
