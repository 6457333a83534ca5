//! The AWS adapters of the ports (cargo feature `aws`): S3 ([`S3Store`]), DynamoDB
//! ([`DynamoCatalog`]), Step Functions ([`SfnOrchestrator`]) and SNS ([`SnsNotifier`]).
//!
//! The ports are synchronous, the SDK is async: every adapter holds an [`AwsRuntime`] and
//! `block_on`s the SDK futures on it. Consequences for callers:
//! - from plain threads (the CLI, tests, the batch job) nothing special is needed;
//! - from async code (the Lambdas), call the ports inside `tokio::task::spawn_blocking`, with
//!   the adapters built on [`AwsRuntime::from_handle`] of that runtime. Calling a port directly
//!   on an async worker thread panics (tokio refuses to block a worker).
//!
//! Retries: the SDK's standard retry mode (exponential backoff with jitter on throttling,
//! timeouts and 5xx), `max_attempts` from [`AwsOptions`]. Errors that remain are
//! [`PortError`]s with `transient` set for throttling/5xx/timeouts and `not_found` for 404s.

mod dynamo;
mod s3;
mod sfn;
mod sns;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::runtime::{Handle, Runtime};

pub use dynamo::DynamoCatalog;
pub use s3::S3Store;
pub use sfn::SfnOrchestrator;
pub use sns::SnsNotifier;

use crate::handlers::{Services, Settings};
use crate::ports::PortError;

/// The tokio runtime the adapters block on: one they own, or a handle to the caller's.
#[derive(Clone)]
pub struct AwsRuntime {
    handle: Handle,
    // Kept alive as long as any adapter uses it; `None` when borrowed from the caller.
    _owned: Option<Arc<Runtime>>,
}

impl AwsRuntime {
    /// A runtime of its own (2 worker threads driving the HTTP connections). Must be created and
    /// dropped outside async code.
    pub fn owned() -> Result<Self, PortError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("studyflow-aws")
            .enable_all()
            .build()
            .map_err(|e| PortError::new("aws", format!("tokio runtime: {e}")))?;
        Ok(Self {
            handle: rt.handle().clone(),
            _owned: Some(Arc::new(rt)),
        })
    }

    /// Borrows a running multi-thread runtime (the Lambda's); ports must then be called from
    /// `spawn_blocking` threads.
    pub fn from_handle(handle: Handle) -> Self {
        Self {
            handle,
            _owned: None,
        }
    }

    /// Runs a future to completion on this runtime from a synchronous caller.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}

/// DynamoDB table names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// Studies table (partition key `study`).
    pub studies: String,
    /// Files table (partition key `study`, sort key `file_key`; GSIs `by-status`, `by-subject`).
    pub files: String,
    /// Subjects table (partition key `study`, sort key `subject`).
    pub subjects: String,
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            studies: "Studies".into(),
            files: "Files".into(),
            subjects: "Subjects".into(),
        }
    }
}

/// What to connect to and the names of the resources.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Endpoint of every service (an emulator); S3 then uses path-style addressing.
    pub endpoint_url: Option<String>,
    /// Region (else the SDK's region chain).
    pub region: Option<String>,
    /// Static access key id and secret (else the SDK's credential chain: env, web identity,
    /// ECS, IMDS).
    pub static_credentials: Option<(String, String)>,
    /// Most attempts per request, retries included (default 5).
    pub max_attempts: Option<u32>,
    /// DynamoDB tables.
    pub tables: Tables,
    /// SNS topic for notifications (`None`: notifications are logged and dropped).
    pub topic_arn: Option<String>,
    /// State machine ARN by name (`process-file`, `scan-configs`); names not listed are looked up
    /// with ListStateMachines.
    pub state_machines: HashMap<String, String>,
    /// Bucket names and handler settings.
    pub settings: Settings,
    /// Objects larger than this many bytes are uploaded in parts (default 16 MiB, at least 5 MiB).
    pub multipart_threshold: Option<u64>,
}

impl AwsOptions {
    /// Options from the environment: `AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `STUDYFLOW_{STUDIES,FILES,SUBJECTS}_TABLE` (the files table also as a batch job's
    /// `STUDYFLOW_CATALOG_TABLE`), `STUDYFLOW_TOPIC_ARN`,
    /// `STUDYFLOW_PROCESS_FILE_ARN`, `STUDYFLOW_SCAN_CONFIGS_ARN`, `STUDYFLOW_CONFIG_BUCKET`,
    /// `STUDYFLOW_CONFIG_PREFIX`, `STUDYFLOW_JOB_DEFINITION_PREFIX`. Credentials come from the
    /// SDK's chain.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Options from any variable lookup (see [`AwsOptions::from_env`]).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut tables = Tables::default();
        if let Some(t) = get("STUDYFLOW_STUDIES_TABLE") {
            tables.studies = t;
        }
        // A batch job's container overrides name the files table STUDYFLOW_CATALOG_TABLE.
        if let Some(t) = get("STUDYFLOW_FILES_TABLE").or_else(|| get("STUDYFLOW_CATALOG_TABLE")) {
            tables.files = t;
        }
        if let Some(t) = get("STUDYFLOW_SUBJECTS_TABLE") {
            tables.subjects = t;
        }
        let mut state_machines = HashMap::new();
        for (name, var) in [
            ("process-file", "STUDYFLOW_PROCESS_FILE_ARN"),
            ("scan-configs", "STUDYFLOW_SCAN_CONFIGS_ARN"),
        ] {
            if let Some(arn) = get(var) {
                state_machines.insert(name.to_string(), arn);
            }
        }
        let mut settings = Settings::default();
        if let Some(v) = get("STUDYFLOW_CONFIG_BUCKET") {
            settings.config_bucket = v;
        }
        if let Some(v) = get("STUDYFLOW_CONFIG_PREFIX") {
            settings.config_prefix = v;
        }
        if let Some(v) = get("STUDYFLOW_JOB_DEFINITION_PREFIX") {
            settings.job_definition_prefix = v;
        }
        settings.catalog_table = tables.files.clone();
        Self {
            endpoint_url: get("AWS_ENDPOINT_URL"),
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            static_credentials: None,
            max_attempts: None,
            tables,
            topic_arn: get("STUDYFLOW_TOPIC_ARN"),
            state_machines,
            settings,
            multipart_threshold: None,
        }
    }
}

/// A loaded SDK configuration plus the resource names: builds the adapters.
#[derive(Clone)]
pub struct AwsConfig {
    /// The SDK configuration shared by every client.
    pub sdk: SdkConfig,
    /// The options it was built from.
    pub options: AwsOptions,
    /// The runtime the adapters block on.
    pub runtime: AwsRuntime,
}

impl AwsConfig {
    /// [`AwsOptions::from_env`] on a runtime of its own (for synchronous programs).
    pub fn from_env() -> Result<Self, PortError> {
        Self::connect(AwsOptions::from_env(), AwsRuntime::owned()?)
    }

    /// Loads the SDK configuration synchronously (not from async code: use
    /// [`AwsConfig::load`] there).
    pub fn connect(options: AwsOptions, runtime: AwsRuntime) -> Result<Self, PortError> {
        let rt = runtime.clone();
        Ok(rt.block_on(Self::load(options, runtime)))
    }

    /// Loads the SDK configuration (credentials and region chains) from async code.
    pub async fn load(options: AwsOptions, runtime: AwsRuntime) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(options.max_attempts.unwrap_or(5).max(1));
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some((id, secret)) = &options.static_credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id.clone(),
                secret.clone(),
                None,
                None,
                "studyflow-static",
            ));
        }
        let sdk = loader.load().await;
        Self {
            sdk,
            options,
            runtime,
        }
    }

    /// The S3 adapter (path-style addressing when an endpoint is set).
    pub fn store(&self) -> S3Store {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.options.endpoint_url.is_some())
            .build();
        S3Store::new(
            aws_sdk_s3::Client::from_conf(conf),
            self.runtime.clone(),
            self.options.multipart_threshold,
        )
    }

    /// The DynamoDB adapter.
    pub fn catalog(&self) -> DynamoCatalog {
        DynamoCatalog::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            self.runtime.clone(),
            self.options.tables.clone(),
        )
    }

    /// The Step Functions adapter.
    pub fn orchestrator(&self) -> SfnOrchestrator {
        SfnOrchestrator::new(
            aws_sdk_sfn::Client::new(&self.sdk),
            self.runtime.clone(),
            self.options.state_machines.clone(),
        )
    }

    /// The SNS adapter.
    pub fn notifier(&self) -> SnsNotifier {
        SnsNotifier::new(
            aws_sdk_sns::Client::new(&self.sdk),
            self.runtime.clone(),
            self.options.topic_arn.clone(),
        )
    }

    /// An SQS client on the same configuration (queue wiring, tests).
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// Every port, as the handlers take them.
    pub fn services(&self) -> Services {
        Services {
            store: Arc::new(self.store()),
            catalog: Arc::new(self.catalog()),
            orchestrator: Arc::new(self.orchestrator()),
            notifier: Arc::new(self.notifier()),
            settings: self.options.settings.clone(),
        }
    }
}

/// Error codes that mean "slow down or try again".
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "TransactionInProgressException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Error codes that mean "no such thing".
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "ResourceNotFoundException",
    "StateMachineDoesNotExist",
    "NotFoundException",
];

/// The error code of an SDK error (`NoSuchKey`, `ConditionalCheckFailedException`, ...).
pub(crate) fn error_code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// The HTTP status of an SDK error's response, when there was one.
pub(crate) fn http_status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// Maps an SDK error (after the SDK's own retries) to a [`PortError`].
pub(crate) fn port_err<E>(
    system: &'static str,
    what: &str,
    e: &SdkError<E, HttpResponse>,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error_code(e);
    let status = http_status(e);
    let message = format!("{what}: {}", DisplayErrorContext(e));
    let transient = matches!(
        e,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    ) || status.is_some_and(|s| s >= 500 || s == 429)
        || code.is_some_and(|c| TRANSIENT_CODES.contains(&c));
    let not_found = status == Some(404) || code.is_some_and(|c| NOT_FOUND_CODES.contains(&c));
    if not_found {
        PortError::not_found(system, message)
    } else if transient {
        PortError::transient(system, message)
    } else {
        PortError::new(system, message)
    }
}
