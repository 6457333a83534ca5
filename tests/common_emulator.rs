//! Harness for tests against the moto emulator that `scripts/test` starts: the environment
//! contract (skip when `STUDYFLOW_TEST_AWS_ENDPOINT` is unset, fail when it is set and something
//! else is missing), plain HTTP for the services the workspace has no SDK client for, and a
//! Lambda bridge (the HTTP server moto forwards invocations to, `MOTO_LAMBDA_BRIDGE_URL`) that
//! runs closures registered per function name and records every invocation.
//!
//! Included with `#[path]` by the tests that need it (a module, not a crate of its own).
#![allow(
    dead_code,
    reason = "each test binary including this module uses a different part of it"
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use studyflow::aws::{AwsConfig, AwsOptions, AwsRuntime};

/// The emulator's region (moto's default account is `123456789012`).
pub const REGION: &str = "us-east-1";

/// One moto server and the bridge its Lambda invocations reach.
pub struct Emulator {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// SDK configuration pointing at the emulator.
    pub aws: AwsConfig,
    /// The bridge served by this test process.
    pub bridge: Arc<Bridge>,
}

impl Emulator {
    /// The tokio runtime the SDK clients run on.
    pub fn rt(&self) -> &AwsRuntime {
        &self.aws.runtime
    }
}

/// The emulator and bridge named by the given variables; `None` (skip) only when the endpoint
/// variable is absent and `STUDYFLOW_TEST_AWS_ENDPOINT` is too.
pub fn emulator(endpoint_var: &str, bridge_var: &str, test: &str) -> Option<Emulator> {
    let set = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = set(endpoint_var) else {
        // scripts/test sets every variable at once: one without the others is a broken setup.
        assert!(
            set("STUDYFLOW_TEST_AWS_ENDPOINT").is_none(),
            "STUDYFLOW_TEST_AWS_ENDPOINT is set but {endpoint_var} is not"
        );
        eprintln!("{test}: SKIPPED ({endpoint_var} is not set; scripts/test sets it)");
        return None;
    };
    let bridge =
        set(bridge_var).unwrap_or_else(|| panic!("{endpoint_var} is set but {bridge_var} is not"));
    let aws = connect(&endpoint);
    Some(Emulator {
        bridge: Bridge::at(&bridge),
        endpoint,
        aws,
    })
}

fn connect(endpoint: &str) -> AwsConfig {
    connect_with(endpoint, |_| None)
}

/// An SDK configuration for the emulator at `endpoint`, the other options (table names,
/// buckets, state machine ARNs) from `lookup`, e.g. a deployed Lambda's environment.
pub fn connect_with(endpoint: &str, lookup: impl Fn(&str) -> Option<String>) -> AwsConfig {
    let mut options = AwsOptions::from_lookup(lookup);
    options.endpoint_url = Some(endpoint.to_string());
    options.region = Some(REGION.into());
    options.static_credentials = Some(("test".into(), "test".into()));
    options.max_attempts = Some(3);
    AwsConfig::connect(options, shared_runtime()).expect("connect to the emulator")
}

fn shared_runtime() -> AwsRuntime {
    static RT: OnceLock<AwsRuntime> = OnceLock::new();
    RT.get_or_init(|| AwsRuntime::owned().expect("tokio runtime"))
        .clone()
}

/// A name unique within this process and unlikely to repeat across runs on one server.
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}{:x}{n}", (nanos ^ std::process::id()) % 0xfffff)
}

/// Polls `f` until it returns `Some`, failing with `what` after `secs` seconds.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ------------------------------------------------------------------ raw HTTP
// IAM, EC2, Batch and Lambda have no client in the workspace (the SDK crates cost minutes to
// build): the few calls go as plain HTTP, with an Authorization header moto reads the service
// name from (it checks no signature).

/// An HTTP answer: status code and (de-chunked) body.
pub struct Response {
    /// HTTP status code (0 if the answer could not be parsed).
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// One HTTP/1.1 request to the emulator, signed for `service` the way moto reads it.
pub fn http(
    endpoint: &str,
    service: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Response {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n\
         X-Amz-Date: 20260101T000000Z\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = lines
        .filter_map(|l| l.split_once(':'))
        .any(|(k, v)| k.trim().eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Response { status, body }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Query-protocol call (IAM, EC2); panics on an error answer.
pub fn query(emu: &Emulator, service: &str, params: &[(&str, &str)]) -> String {
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let r = http(
        &emu.endpoint,
        service,
        "POST",
        "/",
        "application/x-www-form-urlencoded",
        &body,
    );
    assert!(
        r.status == 200,
        "{service} {:?}: HTTP {}: {}",
        params.first(),
        r.status,
        r.body
    );
    r.body
}

/// Every `<tag>value</tag>` of an XML answer, unescaped.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(
            after[..j]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        );
        rest = &after[j..];
    }
    out
}

/// A REST-JSON call (Batch, Lambda); panics on a non-2xx answer.
pub fn rest_json(emu: &Emulator, service: &str, method: &str, path: &str, body: &Value) -> Value {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let r = http(
        &emu.endpoint,
        service,
        method,
        path,
        "application/json",
        &text,
    );
    assert!(
        (200..300).contains(&r.status),
        "{service} {method} {path}: HTTP {}: {}",
        r.status,
        r.body
    );
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

/// The first value of `tag` in a Query answer, or a panic naming `what`.
pub fn first_xml(xml: &str, tag: &str, what: &str) -> String {
    xml_values(xml, tag)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {what} in {xml}"))
}

/// An IAM role (moto checks that a Lambda's or state machine's role exists); returns its ARN.
pub fn create_role(emu: &Emulator, name: &str) -> String {
    let xml = query(
        emu,
        "iam",
        &[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", "{}"),
        ],
    );
    first_xml(&xml, "Arn", "role ARN")
}

/// A Lambda function with an empty code zip (moto runs no code: the bridge answers for it);
/// returns its ARN.
pub fn create_function(emu: &Emulator, name: &str, role_arn: &str) -> String {
    let empty_zip = [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat();
    let answer = rest_json(
        emu,
        "lambda",
        "POST",
        "/2015-03-31/functions",
        &json!({
            "FunctionName": name,
            "Runtime": "provided.al2023",
            "Role": role_arn,
            "Handler": "bootstrap",
            "Timeout": 60,
            "Code": {"ZipFile": base64(&empty_zip)},
        }),
    );
    answer["FunctionArn"]
        .as_str()
        .unwrap_or_else(|| panic!("no FunctionArn in {answer}"))
        .to_string()
}

/// A Fargate compute environment and its job queue plus a job definition; returns
/// (job queue ARN, job definition name).
pub fn create_batch(emu: &Emulator, prefix: &str, role_arn: &str) -> (String, String) {
    let ec2 = |action: &str, tag: &str| {
        first_xml(
            &query(emu, "ec2", &[("Action", action), ("Version", "2016-11-15")]),
            tag,
            tag,
        )
    };
    let subnet = ec2("DescribeSubnets", "subnetId");
    let group = ec2("DescribeSecurityGroups", "groupId");
    let ce = rest_json(
        emu,
        "batch",
        "POST",
        "/v1/createcomputeenvironment",
        &json!({
            "computeEnvironmentName": format!("{prefix}-ce"),
            "type": "MANAGED", "state": "ENABLED", "serviceRole": role_arn,
            "computeResources": {"type": "FARGATE", "maxvCpus": 1, "subnets": [subnet],
                                 "securityGroupIds": [group]},
        }),
    );
    let queue = rest_json(
        emu,
        "batch",
        "POST",
        "/v1/createjobqueue",
        &json!({
            "jobQueueName": format!("{prefix}-jq"), "state": "ENABLED", "priority": 1,
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}],
        }),
    );
    let definition = format!("{prefix}-jd");
    rest_json(
        emu,
        "batch",
        "POST",
        "/v1/registerjobdefinition",
        &json!({
            "jobDefinitionName": definition, "type": "container", "platformCapabilities": ["FARGATE"],
            "containerProperties": {"image": "studyflow-batch", "executionRoleArn": role_arn,
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]},
        }),
    );
    let queue_arn = queue["jobQueueArn"]
        .as_str()
        .unwrap_or_else(|| panic!("no jobQueueArn in {queue}"))
        .to_string();
    (queue_arn, definition)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ------------------------------------------------------------------ the Lambda bridge

/// A function's error answer: Lambda's `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaError {
    /// `errorType`: the error name Step Functions' Retry and Catch match on.
    pub error_type: String,
    /// `errorMessage`.
    pub message: String,
}

impl LambdaError {
    /// The payload a Lambda function answers with when it fails.
    pub fn payload(&self) -> Value {
        json!({"errorType": self.error_type, "errorMessage": self.message})
    }
}

/// What a bridge function does with one invocation payload.
pub type LambdaFn = Arc<dyn Fn(&Value) -> Result<Value, LambdaError> + Send + Sync>;

/// One invocation the bridge served, in arrival order.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// moto's function name.
    pub function: String,
    /// The event payload.
    pub payload: Value,
    /// The answer, or the error.
    pub result: Result<Value, LambdaError>,
}

/// The HTTP server moto forwards Lambda invocations to: one per address for the whole test
/// binary; tests register their functions by (unique) name.
pub struct Bridge {
    functions: Mutex<HashMap<String, LambdaFn>>,
    invocations: Mutex<Vec<Invocation>>,
}

impl Bridge {
    /// The bridge listening on `addr` (bound on first use).
    pub fn at(addr: &str) -> Arc<Bridge> {
        static BRIDGES: OnceLock<Mutex<HashMap<String, Arc<Bridge>>>> = OnceLock::new();
        let mut all = BRIDGES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.entry(addr.to_string())
            .or_insert_with(|| {
                let bridge = Arc::new(Bridge {
                    functions: Mutex::default(),
                    invocations: Mutex::default(),
                });
                let listener = TcpListener::bind(addr)
                    .unwrap_or_else(|e| panic!("bind the Lambda bridge on {addr}: {e}"));
                let b = bridge.clone();
                std::thread::spawn(move || {
                    for conn in listener.incoming().flatten() {
                        let b = b.clone();
                        std::thread::spawn(move || b.serve(conn));
                    }
                });
                bridge
            })
            .clone()
    }

    /// Routes invocations of `function` (moto's function name) to `f`.
    pub fn register(&self, function: &str, f: LambdaFn) {
        self.functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(function.to_string(), f);
    }

    /// The invocations of functions whose name starts with `prefix`, in arrival order.
    pub fn invocations(&self, prefix: &str) -> Vec<Invocation> {
        let calls = self.invocations.lock().unwrap_or_else(|p| p.into_inner());
        calls
            .iter()
            .filter(|i| i.function.starts_with(prefix))
            .cloned()
            .collect()
    }

    fn serve(&self, conn: TcpStream) {
        let mut reader = BufReader::new(conn);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        // POST /2015-03-31/functions/<name>/invocations
        let function = request_line
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.split('/').nth(3))
            .unwrap_or("")
            .to_string();
        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let found = self
            .functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&function)
            .cloned();
        let result = match found {
            Some(f) => f(&payload),
            None => Err(LambdaError {
                error_type: "ResourceNotFound".into(),
                message: format!("no function {function} in this test"),
            }),
        };
        let (text, error_header) = match &result {
            Ok(v) => (v.to_string(), ""),
            Err(e) => (
                e.payload().to_string(),
                "X-Amz-Function-Error: Unhandled\r\n",
            ),
        };
        self.invocations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Invocation {
                function,
                payload,
                result,
            });
        let mut conn = reader.into_inner();
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{error_header}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
    }
}
