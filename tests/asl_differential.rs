//! Differential test of the two Step Functions engines studyflow runs its state machines on:
//! each `state-machines/*.asl.json` file (read at test time, whatever it contains) runs in
//! moto's Step Functions and in the `asl` interpreter, for the same inputs and the same
//! deterministic task doubles; the final status, the output, the error and cause, and the task
//! calls each engine made must be equal.
//!
//! Runs only when `scripts/test` provides emulators: `STUDYFLOW_TEST_AWS_ENDPOINT` and
//! `STUDYFLOW_TEST_LAMBDA_BRIDGE` (moto and the `host:port` its Lambda invocations reach), and
//! for the failing Batch job `STUDYFLOW_TEST_AWS_FAIL_ENDPOINT` and
//! `STUDYFLOW_TEST_LAMBDA_BRIDGE_FAIL` (a moto with `MOTO_SIMPLE_BATCH_FAIL_AFTER=0`). With the
//! endpoint set, anything missing is a failure, not a skip.
//!
//! What is under test is the interpreters, not the Lambda logic: the Lambda functions are
//! doubles (`Doubles`), one fresh instance per engine and scenario, which answer from a script
//! (requirements ready after N polls, a status conflict, a transient error...). In moto they run
//! behind the Lambda bridge; in `asl` behind its `TaskHandler`, together with doubles of the
//! service integrations moto performs for real (`batch:submitJob.sync` against moto's Batch,
//! `states:startExecution` of a trivial child machine, S3 `ItemReader`s).
//!
//! Normalisations (values that differ by construction, each applied to both sides alike):
//! - timestamps (`$$.Execution.StartTime`, `$$.State.EnteredTime`) become `<timestamp>`; their
//!   form is checked apart (asl's must be RFC 3339 in UTC) and reported when it is not the one
//!   Step Functions uses (see "Differences found");
//! - Batch job ids (`JobId`) and a failed job's description (the Cause of `States.TaskFailed`,
//!   a DescribeJobs object): the id becomes `<job id>`, the description its name and status;
//! - variables the services add to a Batch job's environment, not the state machine: Step
//!   Functions' `MANAGED_BY_AWS` and Batch's `AWS_BATCH_*` (moto's DescribeJobs lists
//!   `AWS_BATCH_JOB_ID`, twice) are left out of the job record.
//!
//! Differences found (each engine against Step Functions, the reference):
//! - Context object times. The developer guide's context object example gives
//!   `"StartTime": "2019-03-26T20:14:13.192Z"` and `"EnteredTime": "2019-03-26T20:14:13.192Z"`
//!   (UTC, exactly three fractional digits, `Z`). moto writes Python's `isoformat()`
//!   (`2026-11-23T19:29:34.439161+00:00`: microseconds, `+00:00`); asl writes jiff's RFC 3339
//!   with as many fractional digits as the nanoseconds need (`...:15.721789266Z`, `...:15Z`).
//!   Handlers must parse any RFC 3339 time; the test reports both and fails only if asl's is
//!   not UTC.
//! - Nothing else: statuses, outputs, errors, causes and the calls made are equal once the
//!   normalisations above are applied.
//!
//! Executions in `asl` use moto's execution and state machine ARNs, so `$$.Execution.Id` and
//! the ARNs that `states:startExecution` returns are compared unchanged.

#[path = "common_emulator.rs"]
mod common_emulator;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use asl::{
    CallPurpose, ExecutionInfo, Interpreter, ScaledClock, StateMachine, TaskCall, TaskFailure,
};
use common_emulator::{
    Emulator, LambdaError, create_batch, create_function, create_role, emulator, rest_json, unique,
    wait_for,
};
use serde_json::{Value, json};
use studyflow::ports::ObjectStore;

const ACCOUNT: &str = "123456789012";
/// The Lambda functions the state machines call, by the name of their `${...}FunctionArn`.
const FUNCTIONS: [(&str, &str); 4] = [
    ("UpdateStatus", "update-status"),
    ("CheckRequirements", "check-requirements"),
    ("ListConfigs", "list-configs"),
    ("ProcessConfig", "process-config"),
];
/// Seconds a moto execution may take (the slowest scenario waits through Retry intervals and
/// Wait states of a few seconds).
const EXECUTION_DEADLINE_SECS: u64 = 90;

fn definition_text(file: &str) -> String {
    let path = format!(
        "{}/../state-machines/{file}.asl.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

// ------------------------------------------------------------------ scenarios

/// What the doubles answer, and what the scenario feeds the machine.
#[derive(Clone, Default)]
struct Script {
    /// check-requirements answers `ready` at this call (1-based); 0: never.
    ready_at: u32,
    /// check-requirements answers `timed_out` at this call.
    timeout_at: Option<u32>,
    /// check-requirements fails with a non-retryable error.
    check_fails: bool,
    /// update-status answers `StatusConflict` for this status.
    conflict_on: Option<&'static str>,
    /// update-status fails with the retryable `Transient` this many times for this status.
    transient: Option<(&'static str, u32)>,
    /// The Batch job fails (moto: the failing emulator; asl: the double).
    batch_fails: bool,
    /// scan-configs: the configs list-configs returns, and the ones process-config rejects.
    configs: Vec<&'static str>,
    bad_configs: Vec<&'static str>,
    /// scan-configs: configs whose files process-config hands over as an S3 manifest for a
    /// Distributed Map's `ItemReader` (when the definition has one; inline otherwise).
    manifest_configs: Vec<&'static str>,
    /// scan-configs: process-file execution names that exist before the scan.
    already_started: Vec<String>,
}

struct Scenario {
    name: &'static str,
    machine: &'static str,
    input: Value,
    script: Script,
    /// Lambda calls are compared in order (false where Map iterations run concurrently: then
    /// as a multiset).
    ordered: bool,
}

fn file_input() -> Value {
    json!({
        "study": "demo", "bucket": "demo-raw", "file_key": "raw/s01/wrist.cwa",
        "etag": "0123456789abcdef", "attempt": 1, "library_version": "0.1.0"
    })
}

/// Names, ARNs and resources one scenario runs with, the same for both engines.
struct Env {
    prefix: String,
    role_arn: String,
    subs: BTreeMap<String, String>,
    job_queue: String,
    job_definition: String,
    child_machine: String,
    /// Bucket the process-config double writes `ItemReader` manifests to.
    manifest_bucket: String,
}

// ------------------------------------------------------------------ the task doubles

/// Deterministic Lambda doubles for one engine's run of one scenario.
struct Doubles {
    script: Script,
    job_definition: String,
    prefix: String,
    manifest: Option<ManifestPlan>,
    store: studyflow::aws::S3Store,
    calls: Mutex<HashMap<String, u32>>,
}

impl Doubles {
    fn count(&self, what: &str) -> u32 {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let n = calls.entry(what.to_string()).or_default();
        *n += 1;
        *n
    }

    fn lambda(&self, function: &str, payload: &Value) -> Result<Value, LambdaError> {
        let err = |t: &str, m: String| {
            Err(LambdaError {
                error_type: t.into(),
                message: m,
            })
        };
        match function {
            "update-status" => {
                let status = payload["status"].as_str().unwrap_or("");
                let n = self.count(&format!("update-status:{status}"));
                if let Some((s, times)) = self.script.transient
                    && s == status
                    && n <= times
                {
                    return err("Transient", format!("catalog throttled (call {n})"));
                }
                if self.script.conflict_on == Some(status) {
                    return err(
                        "StatusConflict",
                        format!("file is owned by another execution; wanted {status}"),
                    );
                }
                Ok(json!({"status": status, "updated": true}))
            }
            "check-requirements" => {
                let n = self.count("check-requirements");
                if self.script.check_fails {
                    return err("RequirementsInvalid", "unknown requirement kind".into());
                }
                if self.script.timeout_at == Some(n) {
                    return Ok(json!({
                        "ready": false, "timed_out": true, "wait_seconds": 1,
                        "error": format!("requirements not met after {n} checks")
                    }));
                }
                if self.script.ready_at == n {
                    return Ok(json!({
                        "ready": true, "timed_out": false, "wait_seconds": 1,
                        "job": {
                            "job_name": format!("{}-job", self.prefix),
                            "job_definition": self.job_definition,
                            "environment": [
                                {"name": "STUDYFLOW_FILE_KEY", "value": payload["file_key"]},
                                {"name": "STUDYFLOW_ATTEMPT", "value": n.to_string()}
                            ],
                            "result_prefix": "results/demo/s01"
                        }
                    }));
                }
                Ok(json!({"ready": false, "timed_out": false, "wait_seconds": 1}))
            }
            "list-configs" => Ok(json!({
                "configs": self.script.configs.iter().map(|k| json!({"key": k})).collect::<Vec<_>>()
            })),
            "process-config" => {
                let key = payload["key"].as_str().unwrap_or("");
                if self.script.bad_configs.contains(&key) {
                    return err("ConfigInvalid", format!("{key}: unknown pipeline step"));
                }
                let study = key
                    .trim_start_matches("studies/")
                    .trim_end_matches(".yaml")
                    .to_string();
                let files: Vec<Value> = (1..=2)
                    .map(|i| {
                        json!({
                            "name": format!("{study}-f{i}"),
                            "input": {"study": study, "file_key": format!("raw/{study}/{i}.cwa")}
                        })
                    })
                    .collect();
                if let Some(plan) = &self.manifest
                    && self.script.manifest_configs.contains(&key)
                {
                    let mut out = json!({"study": study, "key": key});
                    plan.write(&self.store, &study, &files, &mut out);
                    return Ok(out);
                }
                Ok(json!({"study": study, "key": key, "files": files}))
            }
            other => err("ResourceNotFound", format!("no double for {other}")),
        }
    }
}

/// How the process-config double hands a Distributed Map's `ItemReader` its items: the
/// ItemReader's `Parameters` (from the definition) name where the bucket and key come from.
#[derive(Clone)]
struct ManifestPlan {
    /// `Bucket`: a literal, or a path into the state input (then the double sets it).
    bucket: Source,
    key: Source,
    /// `ReaderConfig.InputType` (`JSON` if absent).
    input_type: String,
    bucket_name: String,
    prefix: String,
}

#[derive(Clone)]
enum Source {
    Literal(String),
    Path(Vec<String>),
}

impl ManifestPlan {
    /// The plan for the first Map state with an `ItemReader` (s3:getObject) in the definition.
    fn find(definition: &Value, bucket_name: &str, prefix: &str) -> Option<ManifestPlan> {
        let reader = find_item_reader(definition)?;
        let resource = reader["Resource"].as_str().unwrap_or("");
        assert!(
            resource.ends_with("s3:getObject"),
            "ItemReader with {resource}: the doubles only write s3:getObject manifests; extend \
             ManifestPlan"
        );
        let params = &reader["Parameters"];
        let source = |name: &str| -> Source {
            if let Some(p) = params[format!("{name}.$")].as_str() {
                let path = p.strip_prefix("$.").unwrap_or_else(|| {
                    panic!("ItemReader {name}.$ = {p}: only $.a.b paths are supported here")
                });
                Source::Path(path.split('.').map(str::to_string).collect())
            } else {
                Source::Literal(
                    params[name]
                        .as_str()
                        .unwrap_or_else(|| panic!("ItemReader Parameters without {name}"))
                        .to_string(),
                )
            }
        };
        Some(ManifestPlan {
            bucket: source("Bucket"),
            key: source("Key"),
            input_type: reader["ReaderConfig"]["InputType"]
                .as_str()
                .unwrap_or("JSON")
                .to_string(),
            bucket_name: bucket_name.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// Writes `files` where the ItemReader will read them and points `out` at them.
    fn write(
        &self,
        store: &studyflow::aws::S3Store,
        study: &str,
        files: &[Value],
        out: &mut Value,
    ) {
        let bucket = match &self.bucket {
            Source::Literal(b) => b.clone(),
            Source::Path(p) => {
                set_path(out, p, json!(self.bucket_name));
                self.bucket_name.clone()
            }
        };
        let key = match &self.key {
            Source::Literal(k) => k.clone(),
            Source::Path(p) => {
                let key = format!("{}/manifests/{study}.json", self.prefix);
                set_path(out, p, json!(key));
                key
            }
        };
        let body = match self.input_type.as_str() {
            "JSON" => Value::Array(files.to_vec()).to_string(),
            "JSONL" => files
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            other => panic!("ItemReader InputType {other}: extend ManifestPlan"),
        };
        store
            .put(&bucket, &key, body.as_bytes())
            .unwrap_or_else(|e| panic!("write manifest s3://{bucket}/{key}: {e}"));
    }
}

fn find_item_reader(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(m) => {
            if m.get("Type").and_then(Value::as_str) == Some("Map")
                && let Some(r) = m.get("ItemReader")
            {
                return Some(r);
            }
            m.values().find_map(find_item_reader)
        }
        Value::Array(a) => a.iter().find_map(find_item_reader),
        _ => None,
    }
}

fn set_path(v: &mut Value, path: &[String], value: Value) {
    let mut cur = v;
    for (i, p) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().expect("made an object above");
        if i + 1 == path.len() {
            obj.insert(p.clone(), value);
            return;
        }
        cur = obj.entry(p.clone()).or_insert_with(|| json!({}));
    }
}

// ------------------------------------------------------------------ outcomes

/// What one engine did with one scenario, normalised (see the module doc).
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    status: String,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    /// Lambda calls in the order they were made: `{"function", "payload", "error"}`.
    lambda_calls: Vec<Value>,
    /// Batch jobs submitted: `{"JobName", "JobQueue", "JobDefinition", "Environment"}`.
    batch_jobs: Vec<Value>,
    /// Executions started (sorted by name): `{"Name", "Input"}`.
    started: Vec<Value>,
}

impl Outcome {
    fn to_json(&self) -> Value {
        json!({
            "status": self.status, "output": self.output, "error": self.error,
            "cause": self.cause, "lambda_calls": self.lambda_calls,
            "batch_jobs": self.batch_jobs, "started": self.started,
        })
    }
}

/// Timestamps keep their shape; ids and job descriptions that differ by construction go.
fn normalise(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(normalise_str(s)),
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if k == "JobId" && v.is_string() {
                        json!("<job id>")
                    } else {
                        normalise(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn normalise_str(s: &str) -> String {
    if is_timestamp(s) {
        return "<timestamp>".into();
    }
    if s.starts_with('{')
        && let Ok(Value::Object(job)) = serde_json::from_str::<Value>(s)
    {
        // Step Functions' Batch integration answers with DescribeJobs' job in PascalCase.
        let field = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| job.get(*n).and_then(Value::as_str))
                .unwrap_or("?")
                .to_string()
        };
        if job.contains_key("JobId") || job.contains_key("jobId") {
            return format!(
                "<batch job {} {}>",
                field(["JobName", "jobName"]),
                field(["Status", "status"])
            );
        }
    }
    s.to_string()
}

/// An RFC 3339 date-time at the start of the text.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
}

/// The form Step Functions gives context object times in (`$$.Execution.StartTime`,
/// `$$.State.EnteredTime`): UTC, milliseconds, `Z` (the developer guide's example,
/// "2019-03-26T20:14:13.192Z").
fn has_aws_time_form(s: &str) -> bool {
    let b = s.as_bytes();
    is_timestamp(s)
        && b.len() == 24
        && b[19] == b'.'
        && b[20..23].iter().all(u8::is_ascii_digit)
        && b[23] == b'Z'
}

/// Every timestamp string inside `v`.
fn timestamps(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if is_timestamp(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| timestamps(x, out)),
        Value::Object(m) => m.values().for_each(|x| timestamps(x, out)),
        _ => {}
    }
}

fn lambda_call(function: &str, payload: &Value, error: Option<&str>) -> Value {
    json!({"function": function, "payload": normalise(payload), "error": error})
}

fn sort_by_text(v: &mut [Value]) {
    v.sort_by_key(|x| x.to_string());
}

// ------------------------------------------------------------------ setup

/// The resources of one scenario in moto: functions routed to a fresh set of doubles, the
/// Batch queue, the child machine `states:startExecution` starts, the manifest bucket.
fn setup(emu: &Emulator, sc: &Scenario) -> Env {
    let prefix = unique(&format!("df-{}-", sc.name.replace('_', "-")));
    let role_arn = create_role(emu, &format!("{prefix}-role"));
    let (job_queue, job_definition) = create_batch(emu, &prefix, &role_arn);
    let mut subs = BTreeMap::new();
    for (placeholder, function) in FUNCTIONS {
        let name = format!("{prefix}-{function}");
        let arn = create_function(emu, &name, &role_arn);
        subs.insert(format!("{placeholder}FunctionArn"), arn);
    }
    subs.insert("JobQueueArn".into(), job_queue.clone());
    let child = format!("{prefix}-child");
    let sfn = aws_sdk_sfn::Client::new(&emu.aws.sdk);
    let child_arn = emu
        .rt()
        .block_on(
            sfn.create_state_machine()
                .name(&child)
                .role_arn(&role_arn)
                .definition(r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#)
                .send(),
        )
        .unwrap_or_else(|e| panic!("create the child machine: {e:?}"))
        .state_machine_arn()
        .to_string();
    subs.insert("ProcessFileStateMachineArn".into(), child_arn);
    let manifest_bucket = format!("{prefix}-manifests");
    emu.aws
        .store()
        .create_bucket(&manifest_bucket)
        .unwrap_or_else(|e| panic!("create {manifest_bucket}: {e}"));
    Env {
        prefix,
        role_arn,
        subs,
        job_queue,
        job_definition,
        child_machine: child,
        manifest_bucket,
    }
}

/// The definition with every `${...}` replaced as CloudFormation's DefinitionSubstitutions
/// would, with this scenario's ARNs.
fn resolved(sc: &Scenario, env: &Env) -> String {
    asl::substitute(&definition_text(sc.machine), &env.subs).unwrap_or_else(|e| {
        panic!(
            "{}.asl.json: {e} (a new placeholder: give it a value in setup())",
            sc.machine
        )
    })
}

fn doubles(emu: &Emulator, sc: &Scenario, env: &Env, definition: &Value) -> Arc<Doubles> {
    Arc::new(Doubles {
        script: sc.script.clone(),
        job_definition: env.job_definition.clone(),
        prefix: env.prefix.clone(),
        manifest: ManifestPlan::find(definition, &env.manifest_bucket, &env.prefix),
        store: emu.aws.store(),
        calls: Mutex::default(),
    })
}

// ------------------------------------------------------------------ moto

struct MotoRun {
    outcome: Outcome,
    info: ExecutionInfo,
    /// The timestamps the Lambda payloads carried, as sent.
    times: Vec<String>,
}

fn run_in_moto(emu: &Emulator, sc: &Scenario, env: &Env, definition: &str) -> MotoRun {
    let parsed: Value = serde_json::from_str(definition).expect("definition is JSON");
    let d = doubles(emu, sc, env, &parsed);
    for (_, function) in FUNCTIONS {
        let d = d.clone();
        emu.bridge.register(
            &format!("{}-{function}", env.prefix),
            Arc::new(move |payload| d.lambda(function, payload)),
        );
    }
    let sfn = aws_sdk_sfn::Client::new(&emu.aws.sdk);
    let machine_name = format!("{}-{}", env.prefix, sc.machine);
    let machine_arn = emu
        .rt()
        .block_on(
            sfn.create_state_machine()
                .name(&machine_name)
                .role_arn(&env.role_arn)
                .definition(definition)
                .send(),
        )
        .unwrap_or_else(|e| panic!("{}: CreateStateMachine: {e:?}", sc.name))
        .state_machine_arn()
        .to_string();
    let child_arn = env.subs["ProcessFileStateMachineArn"].clone();
    for name in &sc.script.already_started {
        emu.rt()
            .block_on(
                sfn.start_execution()
                    .state_machine_arn(&child_arn)
                    .name(name)
                    .input("{}")
                    .send(),
            )
            .unwrap_or_else(|e| panic!("pre-start {name}: {e:?}"));
    }
    let exec_name = format!("{}-run", sc.name.replace('_', "-"));
    let exec_arn = emu
        .rt()
        .block_on(
            sfn.start_execution()
                .state_machine_arn(&machine_arn)
                .name(&exec_name)
                .input(sc.input.to_string())
                .send(),
        )
        .unwrap_or_else(|e| panic!("{}: StartExecution: {e:?}", sc.name))
        .execution_arn()
        .to_string();
    let described = wait_for(
        &format!("{}: moto execution {exec_arn}", sc.name),
        EXECUTION_DEADLINE_SECS,
        || {
            let d = emu
                .rt()
                .block_on(sfn.describe_execution().execution_arn(&exec_arn).send())
                .unwrap_or_else(|e| panic!("DescribeExecution: {e:?}"));
            (d.status().as_str() != "RUNNING").then_some(d)
        },
    );
    let invocations = emu.bridge.invocations(&format!("{}-", env.prefix));
    let mut times = Vec::new();
    for i in &invocations {
        timestamps(&i.payload, &mut times);
    }
    let lambda_calls = invocations
        .iter()
        .map(|i| {
            let function = i
                .function
                .strip_prefix(&format!("{}-", env.prefix))
                .unwrap_or(&i.function);
            lambda_call(
                function,
                &i.payload,
                i.result.as_ref().err().map(|e| e.error_type.as_str()),
            )
        })
        .collect();
    let outcome = Outcome {
        status: described.status().as_str().to_string(),
        output: described
            .output()
            .map(|o| normalise(&serde_json::from_str(o).unwrap_or(json!(o)))),
        error: described.error().map(str::to_string),
        cause: described.cause().map(normalise_str),
        lambda_calls,
        batch_jobs: moto_batch_jobs(emu, env),
        started: moto_started(emu, env, &sc.script.already_started),
    };
    MotoRun {
        outcome,
        info: ExecutionInfo {
            execution_arn: exec_arn,
            name: exec_name,
            state_machine_arn: machine_arn,
            state_machine_name: machine_name,
            role_arn: env.role_arn.clone(),
        },
        times,
    }
}

/// The jobs moto's Batch holds for the scenario's queue (DescribeJobs), as the submitJob
/// parameters that made them.
fn moto_batch_jobs(emu: &Emulator, env: &Env) -> Vec<Value> {
    let mut ids = Vec::new();
    for status in [
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
    ] {
        let listed = rest_json(
            emu,
            "batch",
            "POST",
            "/v1/listjobs",
            &json!({"jobQueue": env.job_queue, "jobStatus": status}),
        );
        for j in listed["jobSummaryList"].as_array().into_iter().flatten() {
            if let Some(id) = j["jobId"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    if ids.is_empty() {
        return Vec::new();
    }
    let described = rest_json(
        emu,
        "batch",
        "POST",
        "/v1/describejobs",
        &json!({"jobs": ids}),
    );
    let mut jobs: Vec<Value> = described["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| {
            let environment: Vec<Value> = j["container"]["environment"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| {
                    let name = e["name"].as_str().unwrap_or("");
                    name != "MANAGED_BY_AWS" && !name.starts_with("AWS_BATCH_")
                })
                .cloned()
                .collect();
            // moto records the job definition as its ARN (`...:job-definition/<name>:<rev>`).
            let definition = j["jobDefinition"].as_str().unwrap_or("");
            let definition = definition
                .rsplit_once("job-definition/")
                .map(|(_, d)| d.split(':').next().unwrap_or(d))
                .unwrap_or(definition);
            json!({
                "JobName": j["jobName"], "JobQueue": j["jobQueue"],
                "JobDefinition": definition, "Environment": environment,
            })
        })
        .collect();
    sort_by_text(&mut jobs);
    jobs
}

/// The executions of the child machine besides the pre-started ones: `{"Name", "Input"}`.
fn moto_started(emu: &Emulator, env: &Env, pre_started: &[String]) -> Vec<Value> {
    let sfn = aws_sdk_sfn::Client::new(&emu.aws.sdk);
    let listed = emu
        .rt()
        .block_on(
            sfn.list_executions()
                .state_machine_arn(&env.subs["ProcessFileStateMachineArn"])
                .send(),
        )
        .unwrap_or_else(|e| panic!("ListExecutions: {e:?}"));
    let mut out = Vec::new();
    for e in listed.executions() {
        if pre_started.iter().any(|p| p == e.name()) {
            continue;
        }
        let d = emu
            .rt()
            .block_on(
                sfn.describe_execution()
                    .execution_arn(e.execution_arn())
                    .send(),
            )
            .unwrap_or_else(|e| panic!("DescribeExecution: {e:?}"));
        let input = d
            .input()
            .map(|i| serde_json::from_str(i).unwrap_or(json!(i)))
            .unwrap_or(Value::Null);
        out.push(json!({"Name": e.name(), "Input": normalise(&input)}));
    }
    sort_by_text(&mut out);
    out
}

// ------------------------------------------------------------------ asl

/// The `asl` run: the same definition text, moto's names, the doubles behind a TaskHandler.
fn run_in_asl(
    emu: &Emulator,
    sc: &Scenario,
    env: &Env,
    definition: &str,
    info: ExecutionInfo,
) -> (Outcome, Vec<String>) {
    let parsed: Value = serde_json::from_str(definition).expect("definition is JSON");
    let machine = StateMachine::from_json(definition)
        .unwrap_or_else(|e| panic!("{}.asl.json does not load in asl: {e}", sc.machine));
    let d = doubles(emu, sc, env, &parsed);
    let by_arn: HashMap<String, &'static str> = FUNCTIONS
        .iter()
        .map(|(p, f)| (env.subs[&format!("{p}FunctionArn")].clone(), *f))
        .collect();
    let lambda_calls = Arc::new(Mutex::new(Vec::new()));
    let times = Arc::new(Mutex::new(Vec::new()));
    let batch_jobs = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(Mutex::new(Vec::new()));
    let existing: Arc<Mutex<BTreeSet<String>>> = Arc::new(Mutex::new(
        sc.script.already_started.iter().cloned().collect(),
    ));
    let child_arn = env.subs["ProcessFileStateMachineArn"].clone();
    let child_name = env.child_machine.clone();
    let store = emu.aws.store();
    let (calls, jobs, starts) = (lambda_calls.clone(), batch_jobs.clone(), started.clone());
    let seen_times = times.clone();
    let batch_fails = sc.script.batch_fails;
    let handler = move |call: &TaskCall| -> Result<Value, TaskFailure> {
        if let CallPurpose::ItemReader { reader_config } = &call.purpose {
            return read_items(&store, call, reader_config);
        }
        if let Some(function) = by_arn.get(&call.resource) {
            let result = d.lambda(function, &call.input);
            timestamps(
                &call.input,
                &mut seen_times.lock().unwrap_or_else(|p| p.into_inner()),
            );
            calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(lambda_call(
                    function,
                    &call.input,
                    result.as_ref().err().map(|e| e.error_type.as_str()),
                ));
            // Step Functions' Cause for a Lambda function error is the error payload as text.
            return result
                .map_err(|e| TaskFailure::new(e.error_type.clone(), e.payload().to_string()));
        }
        match call.resource.as_str() {
            "arn:aws:states:::batch:submitJob.sync" => {
                let p = &call.input;
                let name = p["JobName"].clone();
                jobs.lock().unwrap_or_else(|p| p.into_inner()).push(json!({
                    "JobName": name, "JobQueue": p["JobQueue"], "JobDefinition": p["JobDefinition"],
                    "Environment": p["ContainerOverrides"]["Environment"],
                }));
                let status = if batch_fails { "FAILED" } else { "SUCCEEDED" };
                // The DescribeJobs object of the finished job, as Step Functions returns it.
                let job = json!({
                    "JobId": "asl-job-0001", "JobName": name, "JobQueue": p["JobQueue"],
                    "Status": status,
                });
                if batch_fails {
                    let described =
                        json!({"jobId": "asl-job-0001", "jobName": name, "status": status});
                    return Err(TaskFailure::new("States.TaskFailed", described.to_string()));
                }
                Ok(job)
            }
            "arn:aws:states:::states:startExecution" => {
                let p = &call.input;
                let name = p["Name"].as_str().unwrap_or("").to_string();
                let arn = format!(
                    "arn:aws:states:{}:{ACCOUNT}:execution:{child_name}:{name}",
                    common_emulator::REGION
                );
                assert_eq!(
                    p["StateMachineArn"],
                    json!(child_arn),
                    "startExecution of another machine"
                );
                if !existing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.clone())
                {
                    return Err(TaskFailure::new(
                        "StepFunctions.ExecutionAlreadyExistsException",
                        format!("Execution Already Exists: '{arn}'"),
                    ));
                }
                let input = match &p["Input"] {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(json!(s)),
                    other => other.clone(),
                };
                starts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(json!({"Name": name, "Input": normalise(&input)}));
                Ok(json!({"ExecutionArn": arn, "StartDate": "2026-01-01T00:00:00.000Z"}))
            }
            other => Err(TaskFailure::new(
                "States.Runtime",
                format!("no double for resource {other}"),
            )),
        }
    };
    // Waits and Retry intervals run 1000 times faster: what they do is compared, not how long.
    let interp = Interpreter::new(Arc::new(handler), Arc::new(ScaledClock::new(1000.0)));
    let exec = interp.run(&machine, sc.input.clone(), info);
    let status = serde_json::to_value(exec.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let take = |v: &Arc<Mutex<Vec<Value>>>| {
        std::mem::take(&mut *v.lock().unwrap_or_else(|p| p.into_inner()))
    };
    let mut batch_jobs = take(&batch_jobs);
    sort_by_text(&mut batch_jobs);
    let mut started = take(&started);
    sort_by_text(&mut started);
    let outcome = Outcome {
        status,
        output: exec.output.as_ref().map(normalise),
        error: exec.error.clone(),
        cause: exec.cause.as_deref().map(normalise_str),
        lambda_calls: take(&lambda_calls),
        batch_jobs,
        started,
    };
    let times = std::mem::take(&mut *times.lock().unwrap_or_else(|p| p.into_inner()));
    (outcome, times)
}

/// A Distributed Map's `ItemReader` on the asl side: the object moto's S3 holds.
fn read_items(
    store: &studyflow::aws::S3Store,
    call: &TaskCall,
    reader_config: &Value,
) -> Result<Value, TaskFailure> {
    let bucket = call.input["Bucket"].as_str().unwrap_or("");
    match call.resource.as_str() {
        "arn:aws:states:::s3:getObject" => {
            let key = call.input["Key"].as_str().unwrap_or("");
            let bytes = store
                .get(bucket, key)
                .map_err(|e| TaskFailure::new("S3.NoSuchKey", e.to_string()))?;
            // The project's own decoder (JSON, JSONL, CSV), as studyflow's handlers use it.
            asl::decode_items(&bytes, reader_config)
                .map(Value::Array)
                .map_err(|e| TaskFailure::new("States.ItemReaderFailed", e.to_string()))
        }
        "arn:aws:states:::s3:listObjectsV2" => {
            let prefix = call.input["Prefix"].as_str().unwrap_or("");
            let listed = store
                .list(bucket, prefix)
                .map_err(|e| TaskFailure::new("S3.NoSuchBucket", e.to_string()))?;
            Ok(Value::Array(
                listed
                    .iter()
                    .map(|o| json!({"Key": o.key, "Size": o.size}))
                    .collect(),
            ))
        }
        other => panic!("ItemReader {other}: not covered by this test"),
    }
}

// ------------------------------------------------------------------ the comparison

/// Runs every scenario on both engines (scenarios in parallel: moto really waits) and fails
/// with both outcomes side by side for each difference.
fn compare(emu: &Emulator, scenarios: Vec<Scenario>) -> HashMap<String, Outcome> {
    type Run = (String, Outcome, Outcome, Vec<String>, Vec<String>);
    let mut differences = Vec::new();
    let results: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|sc| {
                s.spawn(move || {
                    let env = setup(emu, sc);
                    let definition = resolved(sc, &env);
                    let mut moto = run_in_moto(emu, sc, &env, &definition);
                    let (mut ours, our_times) = run_in_asl(emu, sc, &env, &definition, moto.info);
                    if !sc.ordered {
                        sort_by_text(&mut moto.outcome.lambda_calls);
                        sort_by_text(&mut ours.lambda_calls);
                    }
                    (
                        sc.name.to_string(),
                        moto.outcome,
                        ours,
                        moto.times,
                        our_times,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for (name, moto, ours, moto_times, our_times) in &results {
        // Context object times are compared by form, not value. Step Functions writes UTC
        // with milliseconds and `Z`; both engines' deviations from that are reported (see
        // "Differences found" in the module doc); asl's must at least be RFC 3339 in UTC.
        let not_utc: Vec<_> = our_times.iter().filter(|t| !t.ends_with('Z')).collect();
        if !not_utc.is_empty() {
            differences.push(format!("{name}: asl context times not in UTC: {not_utc:?}"));
        }
        for (engine, times) in [("moto", moto_times), ("asl", our_times)] {
            if let Some(t) = times.iter().find(|t| !has_aws_time_form(t)) {
                eprintln!(
                    "{name}: {engine} deviates: context time {t} \
                     (Step Functions: 2019-03-26T20:14:13.192Z)"
                );
            }
        }
        eprintln!(
            "{name}: moto {} / asl {} ({} Lambda calls, {} jobs, {} starts)",
            moto.status,
            ours.status,
            moto.lambda_calls.len(),
            moto.batch_jobs.len(),
            moto.started.len()
        );
        if moto != ours {
            differences.push(format!(
                "{name}:\n  moto: {}\n  asl:  {}",
                serde_json::to_string_pretty(&moto.to_json()).unwrap_or_default(),
                serde_json::to_string_pretty(&ours.to_json()).unwrap_or_default()
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "moto and asl differ:\n{}",
        differences.join("\n")
    );
    // Guard against both engines failing alike for a reason of the harness.
    for (name, moto, ..) in &results {
        assert!(
            !moto.lambda_calls.is_empty(),
            "{name}: no Lambda call reached the bridge"
        );
    }
    results
        .into_iter()
        .map(|(name, moto, ..)| (name, moto))
        .collect()
}

/// Checks that a scenario ended the way it is meant to (so that equal outcomes are not equal
/// for a reason of the harness).
fn expect(outcomes: &HashMap<String, Outcome>, name: &str, status: &str, error: Option<&str>) {
    let o = &outcomes[name];
    assert_eq!(
        (o.status.as_str(), o.error.as_deref()),
        (status, error),
        "{name}: {}",
        o.to_json()
    );
}

fn process_file(name: &'static str, script: Script) -> Scenario {
    Scenario {
        name,
        machine: "process-file",
        input: file_input(),
        script,
        ordered: true,
    }
}

// ------------------------------------------------------------------ the tests

#[test]
fn process_file_runs_alike_in_moto_and_asl() {
    let Some(emu) = emulator(
        "STUDYFLOW_TEST_AWS_ENDPOINT",
        "STUDYFLOW_TEST_LAMBDA_BRIDGE",
        "process_file_runs_alike_in_moto_and_asl",
    ) else {
        return;
    };
    let outcomes = compare(
        &emu,
        vec![
            process_file(
                "ready_at_once",
                Script {
                    ready_at: 1,
                    ..Script::default()
                },
            ),
            process_file(
                "ready_after_polls",
                Script {
                    ready_at: 3,
                    ..Script::default()
                },
            ),
            process_file(
                "requirements_timeout",
                Script {
                    timeout_at: Some(2),
                    ..Script::default()
                },
            ),
            process_file(
                "conflict_on_waiting",
                Script {
                    ready_at: 1,
                    conflict_on: Some("WAITING"),
                    ..Script::default()
                },
            ),
            process_file(
                "conflict_on_processing",
                Script {
                    ready_at: 1,
                    conflict_on: Some("PROCESSING"),
                    ..Script::default()
                },
            ),
            process_file(
                "transient_then_success",
                Script {
                    ready_at: 1,
                    transient: Some(("WAITING", 1)),
                    ..Script::default()
                },
            ),
            process_file(
                "check_error_caught",
                Script {
                    check_fails: true,
                    ..Script::default()
                },
            ),
        ],
    );
    for (name, status, error) in [
        ("ready_at_once", "SUCCEEDED", None),
        ("ready_after_polls", "SUCCEEDED", None),
        (
            "requirements_timeout",
            "FAILED",
            Some("RequirementsTimedOut"),
        ),
        ("conflict_on_waiting", "SUCCEEDED", None),
        ("conflict_on_processing", "SUCCEEDED", None),
        ("transient_then_success", "SUCCEEDED", None),
        ("check_error_caught", "FAILED", Some("ProcessingFailed")),
    ] {
        expect(&outcomes, name, status, error);
    }
    // The Wait loop ran: three checks; the Retry ran: WAITING twice.
    assert_eq!(outcomes["ready_after_polls"].lambda_calls.len(), 6);
    assert_eq!(
        outcomes["transient_then_success"].lambda_calls[0]["error"],
        "Transient"
    );
    assert_eq!(
        outcomes["conflict_on_waiting"]
            .output
            .as_ref()
            .map(|o| &o["conflict"]["Error"]),
        Some(&json!("StatusConflict"))
    );
}

#[test]
fn a_failing_batch_job_runs_alike_in_moto_and_asl() {
    let Some(emu) = emulator(
        "STUDYFLOW_TEST_AWS_FAIL_ENDPOINT",
        "STUDYFLOW_TEST_LAMBDA_BRIDGE_FAIL",
        "a_failing_batch_job_runs_alike_in_moto_and_asl",
    ) else {
        return;
    };
    let outcomes = compare(
        &emu,
        vec![process_file(
            "batch_job_fails",
            Script {
                ready_at: 1,
                batch_fails: true,
                ..Script::default()
            },
        )],
    );
    expect(
        &outcomes,
        "batch_job_fails",
        "FAILED",
        Some("ProcessingFailed"),
    );
    let failed = &outcomes["batch_job_fails"].lambda_calls[3]["payload"];
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["error"]["Error"], "States.TaskFailed");
}

#[test]
fn scan_configs_runs_alike_in_moto_and_asl() {
    let Some(emu) = emulator(
        "STUDYFLOW_TEST_AWS_ENDPOINT",
        "STUDYFLOW_TEST_LAMBDA_BRIDGE",
        "scan_configs_runs_alike_in_moto_and_asl",
    ) else {
        return;
    };
    let outcomes = compare(
        &emu,
        vec![Scenario {
            name: "several_configs",
            machine: "scan-configs",
            input: json!({"configs": null}),
            script: Script {
                configs: vec![
                    "studies/alpha.yaml",
                    "studies/broken.yaml",
                    "studies/beta.yaml",
                ],
                bad_configs: vec!["studies/broken.yaml"],
                manifest_configs: vec!["studies/beta.yaml"],
                already_started: vec!["alpha-f1".into(), "beta-f2".into()],
                ..Script::default()
            },
            ordered: false,
        }],
    );
    expect(&outcomes, "several_configs", "SUCCEEDED", None);
    let o = &outcomes["several_configs"];
    // The bad config is caught, the pre-started files are skipped; beta's files went through
    // the manifest when the definition has an ItemReader.
    assert_eq!(
        o.output.as_ref().map(|v| v[1]["error"]["Error"].clone()),
        Some(json!("ConfigInvalid"))
    );
    let names: Vec<_> = o.started.iter().map(|s| s["Name"].clone()).collect();
    assert_eq!(names, [json!("alpha-f2"), json!("beta-f1")]);
}
