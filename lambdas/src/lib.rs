//! The Lambda functions' shared glue. Each binary is one line over [`run_task`] or
//! [`run_sqs_register`]: decode the event, call the `studyflow` handler on a blocking thread
//! (the ports are synchronous and block on this runtime), encode the answer.
//!
//! Configuration comes from the environment (`studyflow::aws::AwsOptions::from_env`), logs are
//! JSON lines (CloudWatch), level from `RUST_LOG` (default `info`).

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};
use studyflow::aws::{AwsConfig, AwsOptions, AwsRuntime};
use studyflow::events::decode_events;
use studyflow::handlers::{self, HandlerError, Services};

/// JSON-lines tracing to stdout, `RUST_LOG` or `info`. Safe to call twice.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .try_init();
}

/// The ports on AWS, built once per cold start on the Lambda's own runtime.
pub async fn services() -> Services {
    let rt = AwsRuntime::from_handle(tokio::runtime::Handle::current());
    AwsConfig::load(AwsOptions::from_env(), rt).await.services()
}

/// A handler error as Step Functions sees it: `errorType` is the name `Retry`/`Catch` match.
fn diagnostic(e: HandlerError) -> Diagnostic {
    Diagnostic {
        error_type: e.error,
        error_message: e.cause,
    }
}

/// Runs `f` on a blocking thread (the ports block on the runtime, which a worker must not do).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HandlerError> + Send + 'static,
) -> Result<T, Diagnostic> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(diagnostic),
        Err(e) => Err(Diagnostic {
            error_type: "Internal".into(),
            error_message: format!("handler thread: {e}"),
        }),
    }
}

/// Serves the Step Functions task handler `name` (`list-configs`, `process-config`,
/// `check-requirements`, `update-status`): the event is the handler's JSON input, the answer its
/// JSON output.
pub async fn run_task(name: &'static str) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let svc = services().await;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| {
        let svc = svc.clone();
        async move { blocking(move || handlers::dispatch(&svc, name, ev.payload)).await }
    }))
    .await
}

/// Serves `register-objects`: SQS batches of S3 notifications.
pub async fn run_sqs_register() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let svc = services().await;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<SqsEvent>| {
        let svc = svc.clone();
        async move { blocking(move || Ok(register_batch(&svc, &ev.payload))).await }
    }))
    .await
}

/// An SQS event as Lambda delivers it (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    /// The messages.
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

/// One SQS message.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsMessage {
    /// Message id, echoed in `batchItemFailures`.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// Body: an S3 notification (`{"Records": [...]}`), an EventBridge event, or S3's test event.
    #[serde(default)]
    pub body: String,
}

/// Registers every object event of every message. Returns the partial-batch answer
/// `{"batchItemFailures": [{"itemIdentifier": id}...]}` naming the messages to redeliver: any
/// failure (a transient one, or a message that can never be decoded, which then goes to the
/// dead-letter queue after the redrive count instead of being dropped unseen).
pub fn register_batch(svc: &Services, event: &SqsEvent) -> Value {
    let mut failures = Vec::new();
    for m in &event.records {
        if let Err(error) = register_message(svc, &m.body) {
            tracing::error!(message_id = %m.message_id, %error, "message not handled");
            failures.push(json!({"itemIdentifier": m.message_id}));
        }
    }
    json!({"batchItemFailures": failures})
}

fn register_message(svc: &Services, body: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let events = decode_events(&v).map_err(|e| e.to_string())?;
    for ev in &events {
        let outcome = handlers::register_object(svc, ev)
            .map_err(|e| format!("s3://{}/{}: {e}", ev.bucket, ev.key))?;
        tracing::info!(bucket = %ev.bucket, key = %ev.key, ?outcome, "object event handled");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use studyflow::handlers::Settings;
    use studyflow::local::{FolderStore, SqliteCatalog};
    use studyflow::model::{StudyItem, StudyStatus};
    use studyflow::ports::{Catalog, Notifier, Orchestrator, PortError, StartOutcome};

    use super::*;

    struct NoOrchestrator;
    impl Orchestrator for NoOrchestrator {
        fn start_execution(&self, _: &str, _: &str, _: &Value) -> Result<StartOutcome, PortError> {
            Err(PortError::new("orchestrator", "not in this test"))
        }
    }
    struct NoNotifier;
    impl Notifier for NoNotifier {
        fn publish(&self, _: &str, _: &Value) -> Result<(), PortError> {
            Ok(())
        }
    }

    fn message(id: &str, body: &str) -> SqsMessage {
        SqsMessage {
            message_id: id.into(),
            body: body.into(),
        }
    }

    #[test]
    fn only_failed_messages_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(SqliteCatalog::in_memory().unwrap());
        // An active study whose stored config cannot be decoded: its bucket's events fail.
        catalog
            .put_study(&StudyItem {
                study: "s".into(),
                config_bucket: "cfg".into(),
                config_key: "studies/s.yaml".into(),
                config_etag: "e".into(),
                config_hash: "h".into(),
                bucket: "broken-study".into(),
                status: StudyStatus::Active,
                error: None,
                config_json: Some(json!({"not": "a config"})),
                updated_at: "t".into(),
            })
            .unwrap();
        let svc = Services {
            store: Arc::new(FolderStore::new(dir.path())),
            catalog,
            orchestrator: Arc::new(NoOrchestrator),
            notifier: Arc::new(NoNotifier),
            settings: Settings::default(),
        };
        let s3 = |bucket: &str| {
            json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket},
                "object": {"key": "raw%2FS1%2Fa+b.cwa", "size": 3, "eTag": "x"}}}]})
            .to_string()
        };
        let event = SqsEvent {
            records: vec![
                message("ignored", &s3("unrelated-bucket")),
                message("test-event", r#"{"Event": "s3:TestEvent"}"#),
                message("not-json", "{oops"),
                message(
                    "no-key",
                    r#"{"Records": [{"s3": {"bucket": {"name": "b"}}}]}"#,
                ),
                message("failing", &s3("broken-study")),
            ],
        };
        let out = register_batch(&svc, &event);
        assert_eq!(
            out,
            json!({"batchItemFailures": [
                {"itemIdentifier": "not-json"},
                {"itemIdentifier": "no-key"},
                {"itemIdentifier": "failing"}
            ]})
        );
        let empty = register_batch(&svc, &SqsEvent { records: vec![] });
        assert_eq!(empty, json!({"batchItemFailures": []}));
    }

    #[test]
    fn handler_errors_keep_their_names() {
        let d = diagnostic(HandlerError {
            error: "StatusConflict".into(),
            cause: "s/k: cannot move".into(),
        });
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("StatusConflict", "s/k: cannot move")
        );
    }

    #[test]
    fn sqs_events_decode() {
        let e: SqsEvent = serde_json::from_value(json!({"Records": [
            {"messageId": "m1", "receiptHandle": "r", "body": "{}", "attributes": {}}]}))
        .unwrap();
        assert_eq!(e.records[0].message_id, "m1");
    }
}
