//! Local notifications: one JSON line per message in `<root>/notifications.jsonl` (SNS on AWS),
//! and optionally an HTTP POST of the same JSON to a webhook (`STUDYFLOW_WEBHOOK_URL`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::ports::{Notifier, PortError};

/// Appends notifications to a JSON-lines file.
pub struct LocalNotifier {
    path: PathBuf,
    lock: Mutex<()>,
    webhook: Option<Webhook>,
}

/// A plain-HTTP webhook endpoint (`http://host:port/path`). HTTPS would need a TLS stack the
/// local backend does not carry; on AWS, SNS delivers to HTTPS subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    host: String,
    port: u16,
    path: String,
}

impl Webhook {
    /// Parses `http://host[:port][/path]`; the error says what is wrong.
    pub fn parse(url: &str) -> Result<Webhook, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("webhook {url}: only http:// URLs are supported locally"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("webhook {url}: bad port {p}"))?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() || path.contains(['\r', '\n', ' ']) {
            return Err(format!("webhook {url}: no host or a bad path"));
        }
        Ok(Webhook {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// POSTs `body` as JSON; a non-2xx answer is an error.
    fn post(&self, body: &[u8]) -> Result<(), String> {
        let addr = format!("{}:{}", self.host, self.port);
        let mut s = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
        let timeout = Some(Duration::from_secs(10));
        s.set_read_timeout(timeout).map_err(|e| e.to_string())?;
        s.set_write_timeout(timeout).map_err(|e| e.to_string())?;
        write!(
            s,
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.host,
            body.len()
        )
        .and_then(|_| s.write_all(body))
        .map_err(|e| format!("{addr}: {e}"))?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)
            .map_err(|e| format!("{addr}: {e}"))?;
        let status = String::from_utf8_lossy(&head[9..12]).to_string();
        if status.starts_with('2') {
            Ok(())
        } else {
            Err(format!("{addr} answered HTTP {status}"))
        }
    }
}

impl LocalNotifier {
    /// A notifier writing to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
            webhook: None,
        }
    }

    /// Also POSTs every message to `webhook`.
    pub fn with_webhook(mut self, webhook: Webhook) -> Self {
        self.webhook = Some(webhook);
        self
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
            .map_err(|e| PortError::new("notifier", format!("{}: {e}", self.path.display())))?;
        if let Some(w) = &self.webhook {
            // The log line is written first, so a webhook that is down loses no notification;
            // its failure is logged and must not fail the status change that triggered it.
            if let Err(e) = w.post(line.to_string().as_bytes()) {
                tracing::warn!(error = %e, subject, "webhook delivery failed");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let w = Webhook::parse("http://127.0.0.1:9000/hooks/x").unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.path.as_str()),
            ("127.0.0.1", 9000, "/hooks/x")
        );
        assert_eq!(Webhook::parse("http://example.org").unwrap().port, 80);
        assert!(
            Webhook::parse("https://example.org/")
                .unwrap_err()
                .contains("only http://")
        );
        assert!(
            Webhook::parse("http://h:99999/")
                .unwrap_err()
                .contains("bad port")
        );
    }

    #[test]
    fn messages_are_logged_and_posted() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read until the JSON body's closing brace arrives.
            while !buf.ends_with(b"}") {
                let n = c.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            c.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            String::from_utf8(buf).unwrap()
        });
        let n = LocalNotifier::new(dir.path().join("n.jsonl"))
            .with_webhook(Webhook::parse(&format!("http://127.0.0.1:{port}/hook")).unwrap());
        n.publish("hello", &serde_json::json!({"study": "s"}))
            .unwrap();
        let got = server.join().unwrap();
        assert!(got.starts_with("POST /hook HTTP/1.1"), "{got}");
        assert!(got.contains("\"subject\":\"hello\""), "{got}");
        let log = std::fs::read_to_string(dir.path().join("n.jsonl")).unwrap();
        assert!(log.contains("\"study\":\"s\""));
        // A webhook that is down: the message is still logged, the error says where.
        let down = LocalNotifier::new(dir.path().join("n.jsonl"))
            .with_webhook(Webhook::parse(&format!("http://127.0.0.1:{port}/hook")).unwrap());
        down.publish("again", &serde_json::json!({})).unwrap();
        let e = Webhook::parse(&format!("http://127.0.0.1:{port}/hook"))
            .unwrap()
            .post(b"{}")
            .unwrap_err();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("n.jsonl"))
                .unwrap()
                .lines()
                .count(),
            2
        );
    }
}
