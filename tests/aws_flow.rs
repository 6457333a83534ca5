//! The whole AWS flow against moto server (DESIGN.md "Flows"): `cloudformation/studyflow.yaml`
//! deployed with CreateStack, a study config and synthetic recordings dropped into its buckets,
//! the config scan and file processing state machines executed by moto's Step Functions, object
//! registration from S3 events through SQS, and the Batch job run with exactly the environment
//! moto's Batch recorded for it.
//!
//! Runs only when `scripts/test` provides an emulator: `STUDYFLOW_TEST_AWS_ENDPOINT` (moto) and
//! `STUDYFLOW_TEST_LAMBDA_BRIDGE` (the `host:port` moto forwards Lambda invocations to, its
//! `MOTO_LAMBDA_BRIDGE_URL`); the failure test also needs `STUDYFLOW_TEST_AWS_FAIL_ENDPOINT`
//! and `STUDYFLOW_TEST_LAMBDA_BRIDGE_FAIL` (a second moto with `MOTO_SIMPLE_BATCH_FAIL_AFTER=0`).
//! With the endpoint set, a missing bridge variable is a failure, not a skip.
//!
//! What moto does and what this test does in its place (each said where it happens):
//! - CloudFormation: every resource of the template is created except `AWS::S3::BucketPolicy`,
//!   `AWS::SQS::QueuePolicy` and `AWS::CloudWatch::Alarm` (moto skips those types silently; the
//!   test checks that the rest exists). moto's Batch needs an explicit compute environment
//!   service role: the test passes the template's optional `BatchServiceRoleArn`.
//! - Lambda: moto runs no Lambda code here; it forwards every invocation (Step Functions tasks,
//!   the SQS event source mapping) to an HTTP server in this test process, which calls the same
//!   handler functions the Lambda binaries call, with services built from the deployed
//!   function's own environment variables.
//! - Step Functions Distributed Map: moto runs the scan's `StartFilesFromManifest` (ItemReader
//!   `s3:getObject` of a JSON manifest, one STANDARD child execution per item); the test lowers
//!   process-config's manifest threshold so three files take that path. moto 5.2.5 cannot
//!   parse `ItemBatcher` (CreateStateMachine fails) nor an integer `ToleratedFailurePercentage`
//!   (the definition uses neither), and names Map Runs without a `Label` by a UUID.
//! - EventBridge: moto stores rules but never starts Step Functions targets, so the test starts
//!   the scan-configs execution with the input the config-upload rule's InputTransformer makes.
//! - S3 -> SQS -> Lambda: moto delivers the notifications and invokes the function, one message
//!   per invocation, when a message is sent; it ignores `batchItemFailures`, so the bridge turns
//!   a reported item failure into a function error (moto then returns the message to the queue,
//!   as Lambda does with a reported item). moto's mapping never polls again: for the
//!   dead-letter test the test receives the message the way Lambda's poller would.
//! - Batch: moto marks a submitted job SUCCEEDED at once without running a container (or FAILED,
//!   on the failure emulator). The test reads the job's environment back with DescribeJobs and
//!   runs the `batch-job` binary with exactly that environment (plus the emulator endpoint and
//!   credentials a Batch task role would provide).

#[path = "common_emulator.rs"]
mod common_emulator;

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use common_emulator::{
    Emulator, LambdaError, LambdaFn, REGION, connect_with, emulator, query, rest_json, unique,
    wait_for, xml_values,
};
use serde_json::{Value, json};
use studyflow::aws::AwsConfig;
use studyflow::handlers::{self, Services};
use studyflow::model::FileStatus;
use studyflow::ports::{Catalog, ObjectStore};
const HANDLERS: [&str; 5] = [
    "list-configs",
    "process-config",
    "check-requirements",
    "update-status",
    "register-objects",
];

// ------------------------------------------------------------------ the Lambda functions

/// Serves moto's function `name` with the handler `handler` over `svc`, as the Lambda binary
/// would. `register-objects` answers SQS batches; moto ignores `batchItemFailures`, so a
/// reported item failure becomes a function error (moto then returns the message to the queue,
/// as Lambda does with a reported item).
fn serve_function(emu: &Emulator, name: &str, handler: &'static str, svc: Arc<Services>) {
    let f: LambdaFn = Arc::new(move |payload: &Value| {
        if handler == "register-objects" {
            let event: studyflow_lambdas::SqsEvent = serde_json::from_value(payload.clone())
                .map_err(|e| LambdaError {
                    error_type: "BadEvent".into(),
                    message: e.to_string(),
                })?;
            let answer = studyflow_lambdas::register_batch(&svc, &event);
            if answer["batchItemFailures"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                return Err(LambdaError {
                    error_type: "BatchItemFailures".into(),
                    message: answer.to_string(),
                });
            }
            return Ok(answer);
        }
        handlers::dispatch(&svc, handler, payload.clone()).map_err(|e| LambdaError {
            error_type: e.error,
            message: e.cause,
        })
    });
    emu.bridge.register(name, f);
}

/// How many invocations of `function` failed.
fn failed_invocations(emu: &Emulator, function: &str) -> usize {
    emu.bridge
        .invocations(function)
        .iter()
        .filter(|i| i.function == function && i.result.is_err())
        .count()
}

// ------------------------------------------------------------------ the stack

struct Stack {
    prefix: String,
    outputs: HashMap<String, String>,
    queue_url: String,
    dlq_url: String,
    /// Each function's services (by moto function name), built from its deployed environment.
    services: HashMap<String, Arc<Services>>,
}

impl Stack {
    fn out(&self, k: &str) -> &str {
        self.outputs
            .get(k)
            .unwrap_or_else(|| panic!("stack output {k} missing: {:?}", self.outputs))
    }
}

/// CreateStack of `cloudformation/studyflow.yaml` (unchanged) and the wiring of its functions
/// to the bridge.
fn deploy(emu: &Emulator) -> Stack {
    let prefix = unique("sf");
    let store = emu.aws.store();
    let code = format!("{prefix}-code");
    store.create_bucket(&code).unwrap();
    // moto stores Lambda code without running it: an empty zip per function.
    let empty_zip = [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat();
    for f in HANDLERS {
        store
            .put(&code, &format!("lambdas/{f}.zip"), &empty_zip)
            .unwrap();
    }
    let subnet = xml_values(
        &query(
            emu,
            "ec2",
            &[("Action", "DescribeSubnets"), ("Version", "2016-11-15")],
        ),
        "subnetId",
    )
    .into_iter()
    .next()
    .expect("a default subnet");
    let group = xml_values(
        &query(
            emu,
            "ec2",
            &[
                ("Action", "DescribeSecurityGroups"),
                ("Version", "2016-11-15"),
            ],
        ),
        "groupId",
    )
    .into_iter()
    .next()
    .expect("a default security group");
    let role = xml_values(
        &query(
            emu,
            "iam",
            &[
                ("Action", "CreateRole"),
                ("Version", "2010-05-08"),
                ("RoleName", &format!("{prefix}-batch-service")),
                ("AssumeRolePolicyDocument", "{}"),
            ],
        ),
        "Arn",
    )
    .into_iter()
    .next()
    .expect("role ARN");
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cloudformation/studyflow.yaml"
    ))
    .unwrap();
    let params = [
        ("Prefix", prefix.as_str()),
        ("LambdaCodeBucket", code.as_str()),
        ("Subnets", subnet.as_str()),
        ("SecurityGroups", group.as_str()),
        ("BatchServiceRoleArn", role.as_str()),
    ];
    let mut call: Vec<(String, String)> = vec![
        ("Action".into(), "CreateStack".into()),
        ("Version".into(), "2010-05-15".into()),
        ("StackName".into(), prefix.clone()),
        ("TemplateBody".into(), template),
        ("Capabilities.member.1".into(), "CAPABILITY_IAM".into()),
    ];
    for (i, (k, v)) in params.iter().enumerate() {
        call.push((
            format!("Parameters.member.{}.ParameterKey", i + 1),
            k.to_string(),
        ));
        call.push((
            format!("Parameters.member.{}.ParameterValue", i + 1),
            v.to_string(),
        ));
    }
    let call_ref: Vec<(&str, &str)> = call.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    query(emu, "cloudformation", &call_ref);
    let described = wait_for("CREATE_COMPLETE", 120, || {
        let xml = query(
            emu,
            "cloudformation",
            &[
                ("Action", "DescribeStacks"),
                ("Version", "2010-05-15"),
                ("StackName", &prefix),
            ],
        );
        let status = xml_values(&xml, "StackStatus").into_iter().next()?;
        assert!(
            !status.contains("FAILED") && !status.contains("ROLLBACK"),
            "stack {status}: {xml}"
        );
        (status == "CREATE_COMPLETE").then_some(xml)
    });
    let keys = xml_values(&described, "OutputKey");
    let values = xml_values(&described, "OutputValue");
    assert_eq!(keys.len(), values.len(), "{described}");
    let outputs: HashMap<String, String> = keys.into_iter().zip(values).collect();

    // Everything but the types moto skips exists.
    let resources = query(
        emu,
        "cloudformation",
        &[
            ("Action", "DescribeStackResources"),
            ("Version", "2010-05-15"),
            ("StackName", &prefix),
        ],
    );
    let types = xml_values(&resources, "ResourceType");
    for t in [
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::StepFunctions::StateMachine",
        "AWS::Batch::ComputeEnvironment",
        "AWS::Batch::JobQueue",
        "AWS::Batch::JobDefinition",
        "AWS::ECR::Repository",
        "AWS::Events::Rule",
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
    ] {
        assert!(
            types.iter().any(|x| x == t),
            "no {t} in the stack: {types:?}"
        );
    }

    let sqs = emu.aws.sqs();
    let url = |name: String| {
        emu.rt()
            .block_on(sqs.get_queue_url().queue_name(name).send())
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string()
    };
    let mut stack = Stack {
        queue_url: url(format!("{prefix}-object-events")),
        dlq_url: url(format!("{prefix}-object-events-dlq")),
        prefix,
        outputs,
        services: HashMap::new(),
    };
    // Each function's services from its deployed configuration (as the Lambda would build them).
    for h in HANDLERS {
        let name = format!("{}-{h}", stack.prefix);
        let conf = rest_json(
            emu,
            "lambda",
            "GET",
            &format!("/2015-03-31/functions/{name}/configuration"),
            &Value::Null,
        );
        let vars: HashMap<String, String> = conf["Environment"]["Variables"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert!(vars.contains_key("STUDYFLOW_FILES_TABLE"), "{name}: {conf}");
        let svc = Arc::new(connect_with(&emu.endpoint, |k| vars.get(k).cloned()).services());
        serve_function(emu, &name, h, svc.clone());
        stack.services.insert(name, svc);
    }
    stack
}

// ------------------------------------------------------------------ study data

fn config_yaml(bucket: &str) -> String {
    let example = include_str!("../studies-example/studies/demo-wrist.yaml");
    let out = example
        .replace("bucket: demo-study", &format!("bucket: {bucket}"))
        .replace("timeout: 6h", "timeout: 10m")
        .replace("poll_interval: 5m", "poll_interval: 1s");
    assert_ne!(out, example);
    out
}

fn recording(seed: u64) -> Vec<u8> {
    let params = biomarkers::synth::SynthParams {
        seed,
        days: 0.1,
        fs: 12.5,
        placement: biomarkers::synth::Placement::Wrist,
        ..Default::default()
    };
    let mut bytes = Vec::new();
    biomarkers::synth::write_cwa(&params, &mut bytes).unwrap();
    bytes
}

fn metadata(subjects: &[&str]) -> String {
    let mut s = String::from("subject,height_m,age,time_zone\n");
    for (i, subject) in subjects.iter().enumerate() {
        s.push_str(&format!(
            "{subject},{:.2},{},UTC\n",
            1.6 + 0.1 * i as f64,
            30 + i
        ));
    }
    s
}

/// A study in the stack's buckets, data before config: `subjects.csv` naming the subjects, one
/// recording per subject at `raw/<subject>/V1/wrist.cwa` (synthetic, seeded), then the config.
/// Returns the config list a config-upload event gives the scan.
fn drop_study(stack: &Stack, emu: &Emulator, subjects: &[(&str, u64)]) -> Value {
    let store = emu.aws.store();
    let (config_bucket, bucket) = (stack.out("ConfigBucket"), stack.out("StudyBucket"));
    let names: Vec<&str> = subjects.iter().map(|(s, _)| *s).collect();
    store
        .put(bucket, "metadata/subjects.csv", metadata(&names).as_bytes())
        .unwrap();
    for (subject, seed) in subjects {
        store
            .put(
                bucket,
                &format!("raw/{subject}/V1/wrist.cwa"),
                &recording(*seed),
            )
            .unwrap();
    }
    let config = store
        .put(
            config_bucket,
            "studies/demo-wrist.yaml",
            config_yaml(bucket).as_bytes(),
        )
        .unwrap();
    json!([{"bucket": config_bucket, "key": config.key, "etag": config.etag}])
}

/// Starts scan-configs as the config-upload rule would (moto's EventBridge does not start
/// state machines) and waits for it to succeed. Returns the execution ARN.
fn scan(emu: &Emulator, stack: &Stack, configs: Value) -> String {
    let sfn = aws_sdk_sfn::Client::new(&emu.aws.sdk);
    let arn = emu
        .rt()
        .block_on(
            sfn.start_execution()
                .state_machine_arn(stack.out("ScanConfigsStateMachine"))
                .name(unique("scan"))
                .input(json!({"configs": configs}).to_string())
                .send(),
        )
        .unwrap()
        .execution_arn()
        .to_string();
    let (status, out) = wait_execution(emu, &arn, 120);
    assert_eq!(status, "SUCCEEDED", "scan-configs: {out}");
    arn
}

/// Waits until an execution ends; returns its status and output (or error and cause).
fn wait_execution(emu: &Emulator, arn: &str, secs: u64) -> (String, String) {
    let sfn = aws_sdk_sfn::Client::new(&emu.aws.sdk);
    wait_for(&format!("execution {arn}"), secs, || {
        let d = emu
            .rt()
            .block_on(sfn.describe_execution().execution_arn(arn).send())
            .unwrap();
        let status = d.status().as_str().to_string();
        (status != "RUNNING").then(|| {
            let detail = d
                .output()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{:?}: {:?}", d.error(), d.cause()));
            (status, detail)
        })
    })
}

/// The process-file executions of the stack: (name, arn).
fn file_executions(emu: &Emulator, stack: &Stack) -> Vec<(String, String)> {
    let sfn = aws_sdk_sfn::Client::new(&emu.aws.sdk);
    let out = emu
        .rt()
        .block_on(
            sfn.list_executions()
                .state_machine_arn(stack.out("ProcessFileStateMachine"))
                .send(),
        )
        .unwrap();
    let mut v: Vec<_> = out
        .executions()
        .iter()
        .map(|e| (e.name().to_string(), e.execution_arn().to_string()))
        .collect();
    v.sort();
    v
}

fn file_status(emu: &Emulator, stack: &Stack, key: &str) -> Option<FileStatus> {
    catalog(emu, stack)
        .get_file("demo-wrist", key)
        .unwrap()
        .map(|f| f.status)
}

fn catalog(emu: &Emulator, stack: &Stack) -> studyflow::aws::DynamoCatalog {
    let mut options = emu.aws.options.clone();
    options.tables = studyflow::aws::Tables {
        studies: format!("{}-Studies", stack.prefix),
        files: format!("{}-Files", stack.prefix),
        subjects: format!("{}-Subjects", stack.prefix),
    };
    AwsConfig {
        options,
        ..emu.aws.clone()
    }
    .catalog()
}

/// The Batch job an execution submitted: its id and container environment (DescribeJobs).
fn submitted_job(emu: &Emulator, output: &str) -> (String, Vec<(String, String)>) {
    let out: Value = serde_json::from_str(output).unwrap();
    let id = out["job"]["JobId"]
        .as_str()
        .unwrap_or_else(|| panic!("no job id in {out}"))
        .to_string();
    let described = rest_json(
        emu,
        "batch",
        "POST",
        "/v1/describejobs",
        &json!({"jobs": [id]}),
    );
    let env = described["jobs"][0]["container"]["environment"]
        .as_array()
        .unwrap_or_else(|| panic!("no environment in {described}"))
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or("").to_string(),
                e["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    (id, env)
}

/// Runs the batch-job binary with exactly `env`, plus what a Batch task on the emulator has
/// (endpoint, credentials).
fn run_batch_job(emu: &Emulator, env: &[(String, String)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_batch-job"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_ENDPOINT_URL", &emu.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TMPDIR", std::env::temp_dir())
        .output()
        .unwrap()
}

/// Rows, column names, and whether the units metadata is there.
fn parquet_rows(bytes: Vec<u8>) -> (i64, Vec<String>, bool) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(&bytes).unwrap();
    let reader = SerializedFileReader::new(f).unwrap();
    let meta = reader.metadata().file_metadata();
    let columns = meta
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let units = meta
        .key_value_metadata()
        .is_some_and(|kv| kv.iter().any(|k| k.key == "studyflow.units"));
    (meta.num_rows(), columns, units)
}

// ------------------------------------------------------------------ the tests

#[test]
fn the_whole_flow_runs_on_the_emulator() {
    let Some(emu) = emulator(
        "STUDYFLOW_TEST_AWS_ENDPOINT",
        "STUDYFLOW_TEST_LAMBDA_BRIDGE",
        "the_whole_flow_runs_on_the_emulator",
    ) else {
        return;
    };
    let stack = deploy(&emu);
    let store = emu.aws.store();
    let bucket = stack.out("StudyBucket");

    // Before the config: S01's metadata and recording (their events find no study: ignored).
    let configs = drop_study(&stack, &emu, &[("S01", 1)]);

    // Config scan: validates, records the study, registers S01 and starts its execution.
    scan(&emu, &stack, configs);
    assert!(file_status(&emu, &stack, "raw/S01/V1/wrist.cwa").is_some());

    // Data arrival: S02's recording goes S3 -> SQS -> register-objects -> a new execution,
    // which waits for S02's metadata.
    store
        .put(bucket, "raw/S02/V1/wrist.cwa", &recording(2))
        .unwrap();
    wait_for("S02 WAITING", 60, || {
        (file_status(&emu, &stack, "raw/S02/V1/wrist.cwa") == Some(FileStatus::Waiting))
            .then_some(())
    });
    store
        .put(
            bucket,
            "metadata/subjects.csv",
            metadata(&["S01", "S02"]).as_bytes(),
        )
        .unwrap();

    // Both executions end SUCCEEDED (moto's Batch "ran" the job).
    let executions = wait_for("two process-file executions", 60, || {
        let v = file_executions(&emu, &stack);
        (v.len() == 2).then_some(v)
    });
    let mut outputs = Vec::new();
    for (name, arn) in &executions {
        let (status, output) = wait_execution(&emu, arn, 120);
        assert_eq!(status, "SUCCEEDED", "{name}: {output}");
        outputs.push(output);
    }

    // Duplicates start nothing: the same S3 event again through the queue, and a full rescan.
    let head = store.head(bucket, "raw/S02/V1/wrist.cwa").unwrap().unwrap();
    let event = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": bucket},
        "object": {"key": "raw/S02/V1/wrist.cwa", "size": head.size, "eTag": head.etag}}}]});
    let sqs = emu.aws.sqs();
    emu.rt()
        .block_on(
            sqs.send_message()
                .queue_url(&stack.queue_url)
                .message_body(event.to_string())
                .send(),
        )
        .unwrap();
    scan(&emu, &stack, Value::Null);
    assert_eq!(file_executions(&emu, &stack), executions);
    // moto invokes the function while SendMessage is answered: handled and deleted by now.
    let left = emu
        .rt()
        .block_on(
            sqs.receive_message()
                .queue_url(&stack.queue_url)
                .visibility_timeout(0)
                .send(),
        )
        .unwrap();
    assert!(left.messages().is_empty(), "{:?}", left.messages());
    assert_eq!(
        failed_invocations(&emu, &format!("{}-register-objects", stack.prefix)),
        0
    );

    // The Batch jobs, run with exactly the environment moto's Batch holds for them.
    let catalog = catalog(&emu, &stack);
    for output in &outputs {
        let (job_id, env) = submitted_job(&emu, output);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("AWS_BATCH_JOB_ID").as_deref(), Some(job_id.as_str()));
        assert_eq!(
            get("STUDYFLOW_CATALOG_TABLE").as_deref(),
            Some(stack.out("FilesTable"))
        );
        let run = run_batch_job(&emu, &env);
        assert!(
            run.status.success(),
            "batch-job failed: {}\n{}",
            String::from_utf8_lossy(&run.stderr),
            String::from_utf8_lossy(&run.stdout)
        );
        let file_key = get("STUDYFLOW_FILE_KEY").unwrap();
        let item = catalog.get_file("demo-wrist", &file_key).unwrap().unwrap();
        assert_eq!(item.status, FileStatus::Succeeded, "{item:?}");
        assert_eq!(item.error, None);
        let prefix = item.result_prefix.clone().unwrap();
        assert_eq!(Some(prefix.clone()), get("STUDYFLOW_OUTPUT"));
        assert!(
            item.recording_end.is_some() && item.sample_rate == Some(12.5),
            "{item:?}"
        );
        let key_prefix = prefix
            .strip_prefix(&format!("s3://{bucket}/"))
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        let summary: Value = serde_json::from_slice(
            &store
                .get(bucket, &format!("{key_prefix}/summary.json"))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(summary["inputs"][0]["etag"], json!(item.etag));
        assert_eq!(summary["inputs"][0]["file_key"], json!(file_key));
        // Every table the summary lists reads back with the rows it claims, units attached.
        let mut total = 0;
        for out in summary["outputs"].as_array().unwrap() {
            let name = out["file"].as_str().unwrap();
            let bytes = store.get(bucket, &format!("{key_prefix}/{name}")).unwrap();
            if out["format"] == "parquet" {
                let (rows, columns, units) = parquet_rows(bytes);
                assert_eq!(json!(rows), out["rows"], "{name}");
                assert!(!columns.is_empty() && units, "{name}: {columns:?}");
                total += rows;
            }
        }
        assert!(total > 0, "no rows in any table: {}", summary["outputs"]);
        assert!(
            summary["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["format"] == "csv"),
            "the config asks for CSV too"
        );
        // The job's own bookkeeping on the item (not a status change).
        let raw = emu
            .rt()
            .block_on(
                aws_sdk_dynamodb::Client::new(&emu.aws.sdk)
                    .get_item()
                    .table_name(stack.out("FilesTable"))
                    .key(
                        "study",
                        aws_sdk_dynamodb::types::AttributeValue::S("demo-wrist".into()),
                    )
                    .key(
                        "file_key",
                        aws_sdk_dynamodb::types::AttributeValue::S(file_key.clone()),
                    )
                    .send(),
            )
            .unwrap();
        assert_eq!(
            raw.item()
                .and_then(|i| i.get("job_id"))
                .and_then(|v| v.as_s().ok()),
            Some(&job_id)
        );
    }
}

#[test]
fn a_large_study_starts_its_files_through_a_manifest_and_a_distributed_map() {
    let Some(emu) = emulator(
        "STUDYFLOW_TEST_AWS_ENDPOINT",
        "STUDYFLOW_TEST_LAMBDA_BRIDGE",
        "a_large_study_starts_its_files_through_a_manifest_and_a_distributed_map",
    ) else {
        return;
    };
    let stack = deploy(&emu);
    // Three files are "many": the Distributed Map path without thousands of moto executions.
    let process_config = format!("{}-process-config", stack.prefix);
    let mut svc = Services::clone(&stack.services[&process_config]);
    svc.settings.manifest_threshold = 1;
    serve_function(&emu, &process_config, "process-config", Arc::new(svc));
    let store = emu.aws.store();
    let config_bucket = stack.out("ConfigBucket");
    let subjects = ["S01", "S02", "S03"];
    let configs = drop_study(&stack, &emu, &[("S01", 0), ("S02", 1), ("S03", 2)]);
    let scan_arn = scan(&emu, &stack, configs);

    // process-config wrote the starts to a manifest the scan's role may read.
    let manifests = store
        .list(config_bucket, "studies/_manifests/demo-wrist/")
        .unwrap();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    let starts: Vec<handlers::FileStart> =
        serde_json::from_slice(&store.get(config_bucket, &manifests[0].key).unwrap()).unwrap();
    assert_eq!(starts.len(), subjects.len());

    // The scan ran a Map Run, whose children started one process-file execution per file.
    let sfn = aws_sdk_sfn::Client::new(&emu.aws.sdk);
    let history = emu
        .rt()
        .block_on(
            sfn.get_execution_history()
                .execution_arn(&scan_arn)
                .max_results(1000)
                .send(),
        )
        .unwrap();
    let kinds: Vec<&str> = history
        .events()
        .iter()
        .map(|e| e.r#type().as_str())
        .collect();
    assert!(kinds.contains(&"MapRunStarted"), "{kinds:?}");
    assert!(kinds.contains(&"MapRunSucceeded"), "{kinds:?}");
    let executions = wait_for("three process-file executions", 60, || {
        let v = file_executions(&emu, &stack);
        (v.len() == subjects.len()).then_some(v)
    });
    let mut names: Vec<&str> = starts.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    let started: Vec<&str> = executions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(started, names);
    for (name, arn) in &executions {
        let (status, output) = wait_execution(&emu, arn, 120);
        assert_eq!(status, "SUCCEEDED", "{name}: {output}");
    }
    for s in subjects {
        let key = format!("raw/{s}/V1/wrist.cwa");
        assert_eq!(
            file_status(&emu, &stack, &key),
            Some(FileStatus::Succeeded),
            "{key}"
        );
    }

    // A rescan of the unchanged config starts nothing new.
    scan(&emu, &stack, Value::Null);
    assert_eq!(file_executions(&emu, &stack), executions);
}

#[test]
fn a_failing_job_and_a_poison_message_end_recorded() {
    let Some(emu) = emulator(
        "STUDYFLOW_TEST_AWS_FAIL_ENDPOINT",
        "STUDYFLOW_TEST_LAMBDA_BRIDGE_FAIL",
        "a_failing_job_and_a_poison_message_end_recorded",
    ) else {
        return;
    };
    let stack = deploy(&emu);
    let configs = drop_study(&stack, &emu, &[("S01", 3)]);
    scan(&emu, &stack, configs);

    // This emulator fails every Batch job: the execution catches it and marks the file FAILED
    // with the job's error.
    let executions = wait_for("one process-file execution", 60, || {
        let v = file_executions(&emu, &stack);
        (v.len() == 1).then_some(v)
    });
    let (status, detail) = wait_execution(&emu, &executions[0].1, 120);
    assert_eq!(status, "FAILED", "{detail}");
    assert!(detail.contains("ProcessingFailed"), "{detail}");
    let item = catalog(&emu, &stack)
        .get_file("demo-wrist", "raw/S01/V1/wrist.cwa")
        .unwrap()
        .unwrap();
    assert_eq!(item.status, FileStatus::Failed);
    let error = item.error.unwrap_or_default();
    assert!(!error.is_empty() && error.contains("FAILED"), "{error}");

    // A poison message: never decodable, so every delivery fails; after the queue's
    // maxReceiveCount (5) deliveries it is in the dead-letter queue, not lost and not looping.
    let sqs = emu.aws.sqs();
    let rt = emu.rt();
    rt.block_on(
        sqs.send_message()
            .queue_url(&stack.queue_url)
            .message_body("{not an S3 event")
            .send(),
    )
    .unwrap();
    let function = format!("{}-register-objects", stack.prefix);
    assert_eq!(failed_invocations(&emu, &function), 1);
    // Lambda's poller, as moto's mapping polls only on send: receive, invoke, delete on success.
    let svc = stack.services[&function].clone();
    let dead = wait_for("the poison message in the DLQ", 60, || {
        let got = rt
            .block_on(
                sqs.receive_message()
                    .queue_url(&stack.queue_url)
                    .max_number_of_messages(10)
                    .visibility_timeout(0)
                    .send(),
            )
            .unwrap();
        for m in got.messages() {
            let event = studyflow_lambdas::SqsEvent {
                records: vec![studyflow_lambdas::SqsMessage {
                    message_id: m.message_id().unwrap_or("").into(),
                    body: m.body().unwrap_or("").into(),
                }],
            };
            let answer = studyflow_lambdas::register_batch(&svc, &event);
            assert_eq!(
                answer["batchItemFailures"].as_array().map(Vec::len),
                Some(1)
            );
        }
        let dlq = rt
            .block_on(
                sqs.receive_message()
                    .queue_url(&stack.dlq_url)
                    .visibility_timeout(30)
                    .send(),
            )
            .unwrap();
        dlq.messages()
            .first()
            .map(|m| m.body().unwrap_or("").to_string())
    });
    assert_eq!(dead, "{not an S3 event");
}

#[test]
fn a_stale_batch_job_writes_nothing() {
    let Some(emu) = emulator(
        "STUDYFLOW_TEST_AWS_ENDPOINT",
        "STUDYFLOW_TEST_LAMBDA_BRIDGE",
        "a_stale_batch_job_writes_nothing",
    ) else {
        return;
    };
    // No stack needed: a files table and a bucket of its own.
    let tag = unique("stale");
    let mut options = emu.aws.options.clone();
    options.tables = studyflow::aws::Tables {
        studies: format!("{tag}-Studies"),
        files: format!("{tag}-Files"),
        subjects: format!("{tag}-Subjects"),
    };
    let aws = AwsConfig {
        options,
        ..emu.aws.clone()
    };
    let catalog = aws.catalog();
    catalog.ensure_tables().unwrap();
    let store = aws.store();
    store.create_bucket(&tag).unwrap();
    let meta = store
        .put(&tag, "raw/S01/V1/wrist.cwa", &recording(4))
        .unwrap();
    let now = studyflow::model::now_rfc3339();
    catalog
        .register_file(&studyflow::model::FileItem {
            study: "s".into(),
            file_key: meta.key.clone(),
            bucket: tag.clone(),
            subject: "S01".into(),
            visit: "V1".into(),
            device: "wrist".into(),
            format: "cwa".into(),
            size: meta.size,
            etag: meta.etag.clone(),
            recording_start: None,
            recording_end: None,
            sample_rate: None,
            device_id: None,
            header_error: None,
            status: FileStatus::Processing,
            library_version: None,
            execution_id: None,
            result_prefix: None,
            error: None,
            attempt: 0,
            registered_at: now.clone(),
            updated_at: now,
        })
        .unwrap();
    let env = |etag: &str, out: &str| -> Vec<(String, String)> {
        [
            ("AWS_REGION", REGION),
            ("STUDYFLOW_INPUT", &format!("s3://{tag}/{}", meta.key)),
            ("STUDYFLOW_OUTPUT", &format!("s3://{tag}/{out}")),
            ("STUDYFLOW_STUDY", "s"),
            ("STUDYFLOW_FILE_KEY", &meta.key),
            ("STUDYFLOW_INPUT_ETAG", etag),
            ("STUDYFLOW_CATALOG_TABLE", &format!("{tag}-Files")),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let stale = run_batch_job(&emu, &env("0123456789abcdef", "results/stale"));
    assert_eq!(stale.status.code(), Some(1));
    let line: Value = serde_json::from_slice(stale.stderr.trim_ascii()).unwrap();
    assert_eq!(line["kind"], "stale", "{line}");
    assert!(store.list(&tag, "results/").unwrap().is_empty());

    let ok = run_batch_job(&emu, &env(&meta.etag, "results/ok"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let keys: Vec<String> = store
        .list(&tag, "results/ok/")
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert!(
        keys.contains(&"results/ok/summary.json".to_string()),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.ends_with(".parquet")), "{keys:?}");
    let item = catalog.get_file("s", &meta.key).unwrap().unwrap();
    assert_eq!(
        item.result_prefix.as_deref(),
        Some(format!("s3://{tag}/results/ok").as_str())
    );
    // The job never changes the status: that is the state machine's.
    assert_eq!(item.status, FileStatus::Processing);
}
