//! A realistic file-processing definition (the shape of state-machines/process-file.asl.json):
//! DefinitionSubstitutions, a readiness loop with Wait, a Batch job, Catch and notifications.
mod common;

use asl::{
    ExecutionInfo, ExecutionStatus, Interpreter, ScaledClock, StateMachine, TaskCall, TaskFailure,
    substitute,
};
use common::*;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const DEFINITION: &str = r#"{
  "Comment": "Process one uploaded file",
  "StartAt": "MarkWaiting",
  "States": {
    "MarkWaiting": {
      "Type": "Task", "Resource": "${CatalogFn}",
      "Parameters": {"action": "mark", "status": "WAITING", "file.$": "$.file"},
      "ResultPath": null, "Next": "CheckRequirements",
      "Retry": [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}]
    },
    "CheckRequirements": {
      "Type": "Task", "Resource": "${CheckFn}",
      "Parameters": {"file.$": "$.file", "startedAt.$": "$$.Execution.StartTime", "now.$": "$$.State.EnteredTime"},
      "ResultSelector": {"ready.$": "$.ready", "timedOut.$": "$.timedOut"},
      "ResultPath": "$.requirements", "Next": "Ready?"
    },
    "Ready?": {
      "Type": "Choice",
      "Choices": [
        {"Variable": "$.requirements.ready", "BooleanEquals": true, "Next": "MarkProcessing"},
        {"Variable": "$.requirements.timedOut", "BooleanEquals": true, "Next": "MarkTimedOut"}
      ],
      "Default": "WaitForRequirements"
    },
    "WaitForRequirements": {"Type": "Wait", "Seconds": 3600, "Next": "CheckRequirements"},
    "MarkTimedOut": {
      "Type": "Task", "Resource": "${CatalogFn}",
      "Parameters": {"action": "mark", "status": "REQUIREMENTS_TIMED_OUT", "file.$": "$.file"},
      "ResultPath": null, "Next": "NotifyFailure"
    },
    "MarkProcessing": {
      "Type": "Task", "Resource": "${CatalogFn}",
      "Parameters": {"action": "mark", "status": "PROCESSING", "file.$": "$.file"},
      "ResultPath": null, "Next": "RunBatchJob"
    },
    "RunBatchJob": {
      "Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
      "Parameters": {
        "JobName.$": "States.Format('process-{}', States.Hash($.file.key, 'MD5'))",
        "JobDefinition": "${JobDefinition}", "JobQueue": "${JobQueue}",
        "ContainerOverrides": {"Command.$": "States.Array('process', $.file.key)"}
      },
      "TimeoutSeconds": 86400,
      "ResultSelector": {"jobId.$": "$.JobId"},
      "ResultPath": "$.job",
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}],
      "Next": "MarkSucceeded"
    },
    "MarkSucceeded": {
      "Type": "Task", "Resource": "${CatalogFn}",
      "Parameters": {"action": "mark", "status": "SUCCEEDED", "file.$": "$.file", "job.$": "$.job"},
      "ResultPath": null, "Next": "NotifySuccess"
    },
    "NotifySuccess": {
      "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
      "Parameters": {"TopicArn": "${Topic}", "Message.$": "States.Format('{} processed', $.file.key)"},
      "ResultPath": null, "End": true
    },
    "MarkFailed": {
      "Type": "Task", "Resource": "${CatalogFn}",
      "Parameters": {"action": "mark", "status": "FAILED", "file.$": "$.file", "error.$": "$.error"},
      "ResultPath": null, "Next": "NotifyFailure"
    },
    "NotifyFailure": {
      "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
      "Parameters": {"TopicArn": "${Topic}", "Message.$": "States.Format('{} failed', $.file.key)"},
      "ResultPath": null, "Next": "Failed"
    },
    "Failed": {"Type": "Fail", "Error": "FileProcessingFailed", "CausePath": "States.Format('see the catalog for {}', $.file.key)"}
  }
}"#;

fn load() -> StateMachine {
    let subs: BTreeMap<String, String> = [
        (
            "CatalogFn",
            "arn:aws:lambda:eu-west-1:123456789012:function:catalog",
        ),
        (
            "CheckFn",
            "arn:aws:lambda:eu-west-1:123456789012:function:check",
        ),
        ("JobDefinition", "skdh-1-0"),
        ("JobQueue", "queue"),
        ("Topic", "arn:aws:sns:eu-west-1:123456789012:studyflow"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    match substitute(DEFINITION, &subs).and_then(|t| StateMachine::from_json(&t)) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// Local stand-ins for the Lambdas, Batch and SNS. Requirements are met `ready_after_hours`
/// (virtual) hours after the start and time out after 24 h.
fn handler(ready_after_hours: f64, batch_fails: bool) -> Arc<Recording> {
    recording(move |call: &TaskCall| -> Result<Value, TaskFailure> {
        match call.resource.as_str() {
            r if r.ends_with(":function:catalog") => Ok(json!({"ok": true})),
            r if r.ends_with(":function:check") => {
                let ts = |k: &str| {
                    call.input[k]
                        .as_str()
                        .and_then(|s| s.parse::<Timestamp>().ok())
                };
                let (Some(start), Some(now)) = (ts("startedAt"), ts("now")) else {
                    return Err(TaskFailure::new("BadInput", call.input.to_string()));
                };
                let hours = now.duration_since(start).as_secs_f64() / 3600.0;
                Ok(
                    json!({"ready": hours >= ready_after_hours, "timedOut": hours >= 24.0, "extra": "dropped"}),
                )
            }
            "arn:aws:states:::batch:submitJob.sync" if batch_fails => Err(TaskFailure::new(
                "States.TaskFailed",
                "Essential container in task exited",
            )),
            "arn:aws:states:::batch:submitJob.sync" => {
                Ok(json!({"JobId": "job-1", "Status": "SUCCEEDED"}))
            }
            "arn:aws:states:::sns:publish" => Ok(json!({"MessageId": "m"})),
            other => Err(TaskFailure::new("UnknownResource", other)),
        }
    })
}

fn statuses(h: &Recording) -> Vec<String> {
    h.calls()
        .iter()
        .filter(|c| c.input["action"] == json!("mark"))
        .map(|c| c.input["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Runs the flow on a manual clock (exact virtual times) or a scaled one (real threads and
/// condition-variable waits, where each step also takes a little virtual time).
fn run_flow_on(handler: Arc<Recording>, clock: Arc<dyn asl::Clock>) -> asl::Execution {
    let interp = Interpreter::new(handler, clock);
    interp.run(
        &load(),
        json!({"file": {"study": "s1", "key": "raw/p1/v1/dev.cwa"}}),
        ExecutionInfo::local("process-file", "s1-p1"),
    )
}

fn run_flow(handler: Arc<Recording>) -> asl::Execution {
    run_flow_on(handler, ManualClock::at(START))
}

#[test]
fn the_flow_runs_on_a_scaled_clock_in_well_under_a_second() {
    let h = handler(3.0, false);
    let real = std::time::Instant::now();
    let exec = run_flow_on(h.clone(), Arc::new(ScaledClock::new(1e6)));
    assert!(
        real.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        real.elapsed()
    );
    assert_eq!(
        exec.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert_eq!(statuses(&h), ["WAITING", "PROCESSING", "SUCCEEDED"]);
    assert!(seconds_between(&exec.start_date, &exec.stop_date) >= 2.0 * 3600.0);
}

#[test]
fn file_becomes_ready_after_polling_and_is_processed() {
    let h = handler(3.0, false);
    let exec = run_flow(h.clone());
    assert_eq!(
        exec.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert_eq!(statuses(&h), ["WAITING", "PROCESSING", "SUCCEEDED"]);
    // Checked at 0, 1, 2 and 3 hours.
    assert_eq!(exec.events("WaitStateEntered").len(), 3);
    let batch = h
        .calls()
        .into_iter()
        .find(|c| c.resource.contains("batch"))
        .map(|c| c.input);
    let md5 = "process-".to_string();
    assert!(batch.as_ref().is_some_and(|b| {
        b["JobName"]
            .as_str()
            .is_some_and(|n| n.starts_with(&md5) && n.len() == 8 + 32)
    }));
    assert_eq!(
        batch.map(|b| b["ContainerOverrides"].clone()),
        Some(json!({"Command": ["process", "raw/p1/v1/dev.cwa"]}))
    );
    assert_eq!(
        exec.output,
        Some(json!({"file": {"study": "s1", "key": "raw/p1/v1/dev.cwa"},
                    "requirements": {"ready": true, "timedOut": false},
                    "job": {"jobId": "job-1"}}))
    );
}

#[test]
fn batch_failure_is_caught_recorded_and_notified() {
    let h = handler(0.0, true);
    let exec = run_flow(h.clone());
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("FileProcessingFailed"));
    assert_eq!(
        exec.cause.as_deref(),
        Some("see the catalog for raw/p1/v1/dev.cwa")
    );
    assert_eq!(statuses(&h), ["WAITING", "PROCESSING", "FAILED"]);
    let failed_mark = h
        .calls()
        .into_iter()
        .find(|c| c.input["status"] == json!("FAILED"));
    assert_eq!(
        failed_mark.map(|c| c.input["error"].clone()),
        Some(json!({"Error": "States.TaskFailed", "Cause": "Essential container in task exited"}))
    );
    let sns: Vec<Value> = h
        .calls()
        .into_iter()
        .filter(|c| c.resource.contains("sns"))
        .map(|c| c.input)
        .collect();
    assert_eq!(
        sns,
        [
            json!({"TopicArn": "arn:aws:sns:eu-west-1:123456789012:studyflow", "Message": "raw/p1/v1/dev.cwa failed"})
        ]
    );
}

#[test]
fn requirements_that_never_arrive_time_out_after_a_day() {
    let h = handler(1000.0, false);
    let exec = run_flow(h.clone());
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(statuses(&h), ["WAITING", "REQUIREMENTS_TIMED_OUT"]);
    assert_eq!(exec.events("WaitStateEntered").len(), 24);
    assert!(seconds_between(&exec.start_date, &exec.stop_date) >= 24.0 * 3600.0);
}
