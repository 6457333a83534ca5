//! The execution history: event types, details and ordering, as GetExecutionHistory shows them.
mod common;

use asl::{Execution, ExecutionInfo, ExecutionStatus, HistoryEvent, Interpreter, TaskFailure};
use common::*;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[test]
fn task_machine_history_matches_step_functions_shapes() {
    let handler = recording(|_| Ok(json!({"JobId": "j1"})));
    let seen: Arc<Mutex<Vec<HistoryEvent>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let interp = Interpreter::new(handler, ManualClock::at(START)).with_observer(Arc::new(
        move |e: &HistoryEvent| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.clone());
            }
        },
    ));
    let def = r#"{"StartAt": "Submit", "States": {
        "Submit": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
                   "Parameters": {"JobName.$": "$.name"}, "TimeoutSeconds": 3600, "Next": "Done"},
        "Done": {"Type": "Succeed"}}}"#;
    let exec = interp.run(
        &machine(def),
        json!({"name": "n1"}),
        ExecutionInfo::local("sm", "ex"),
    );
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        kinds(&exec),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    let h = &exec.history;
    for (i, e) in h.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert_eq!(e.previous_event_id, i as u64);
        assert_eq!(e.timestamp, START);
    }
    assert_eq!(
        h[0].details,
        json!({"executionStartedEventDetails": {
            "input": "{\"name\":\"n1\"}", "inputDetails": {"truncated": false},
            "roleArn": "arn:aws:iam::000000000000:role/StepFunctionsLocal",
            "stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:sm"}})
    );
    assert_eq!(
        h[1].details["stateEnteredEventDetails"]["name"],
        json!("Submit")
    );
    assert_eq!(
        h[1].details["stateEnteredEventDetails"]["input"],
        json!("{\"name\":\"n1\"}")
    );
    assert_eq!(
        h[2].details,
        json!({"taskScheduledEventDetails": {
            "resourceType": "batch", "resource": "submitJob.sync", "region": "local",
            "parameters": "{\"JobName\":\"n1\"}", "timeoutInSeconds": 3600}})
    );
    assert_eq!(
        h[4].details["taskSucceededEventDetails"]["output"],
        json!("{\"JobId\":\"j1\"}")
    );
    assert_eq!(
        h[5].details["stateExitedEventDetails"]["output"],
        json!("{\"JobId\":\"j1\"}")
    );
    assert_eq!(
        h[8].details["executionSucceededEventDetails"]["output"],
        json!("{\"JobId\":\"j1\"}")
    );
    // The observer saw the same events, in order.
    let observed = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(observed, exec.history);
}

#[test]
fn failures_are_recorded_with_error_and_cause() {
    let handler = recording(|_| Err(TaskFailure::new("BatchJobFailed", "exit 1")));
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:1:function:f", "End": true}}}"#;
    let exec = run_with(def, json!({}), handler);
    let failed = exec.events("TaskFailed");
    assert_eq!(
        failed[0].details,
        json!({"taskFailedEventDetails": {"resourceType": "lambda",
            "resource": "arn:aws:lambda:eu-west-1:1:function:f", "error": "BatchJobFailed", "cause": "exit 1"}})
    );
    let last = exec.history.last().map(|e| e.details.clone());
    assert_eq!(
        last,
        Some(
            json!({"executionFailedEventDetails": {"error": "BatchJobFailed", "cause": "exit 1"}})
        )
    );
}

#[test]
fn map_iteration_events_chain_to_the_map() {
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}"#;
    let exec = run(def, json!(["a", "b"]));
    let started = exec.events("MapStateStarted")[0].id;
    let iters = exec.events("MapIterationStarted");
    assert_eq!(iters.len(), 2);
    for (i, e) in iters.iter().enumerate() {
        assert_eq!(e.previous_event_id, started);
        assert_eq!(
            e.details,
            json!({"mapIterationStartedEventDetails": {"name": "M", "index": i}})
        );
    }
    // Inside an iteration, events follow the iteration start.
    let first_pass = exec.events("PassStateEntered")[0];
    assert_eq!(first_pass.previous_event_id, iters[0].id);
}

#[test]
fn execution_serializes_like_describe_execution() {
    let exec = run(
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#,
        json!({"k": 1}),
    );
    let v = serde_json::to_value(&exec).unwrap_or_default();
    assert_eq!(v["status"], json!("SUCCEEDED"));
    assert_eq!(v["history"][0]["type"], json!("ExecutionStarted"));
    let back: Result<Execution, _> = serde_json::from_value(v);
    assert_eq!(back.ok(), Some(exec));
    let t: Result<ExecutionStatus, _> = serde_json::from_value(json!("TIMED_OUT"));
    assert_eq!(t.ok(), Some(ExecutionStatus::TimedOut));
}
