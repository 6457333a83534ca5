//! Behaviour of each state type and of input/output processing.
mod common;

use asl::{ExecutionStatus, TaskFailure};
use common::*;
use serde_json::json;

#[test]
fn pass_result_parameters_and_paths() {
    let def = r#"{
      "StartAt": "Fixed",
      "States": {
        "Fixed": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.fixed", "Next": "Params"},
        "Params": {"Type": "Pass", "InputPath": "$.data",
                   "Parameters": {"id.$": "$.id", "const": "c", "both.$": "States.Array($.id, 'z')"},
                   "ResultPath": "$.made.deep", "Next": "Drop"},
        "Drop": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "Next": "Out"},
        "Out": {"Type": "Pass", "OutputPath": "$.made", "End": true}
      }
    }"#;
    let exec = run(def, json!({"data": {"id": 7}}));
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output,
        Some(json!({"deep": {"id": 7, "const": "c", "both": [7, "z"]}}))
    );
}

#[test]
fn input_and_output_path_null_give_empty_objects() {
    let def = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": null, "ResultPath": "$.r", "Next": "B"},
        "B": {"Type": "Pass", "OutputPath": null, "End": true}}}"#;
    let exec = run(def, json!({"x": 1}));
    assert_eq!(exec.output, Some(json!({})));
    let def = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": null, "ResultPath": "$.r", "End": true}}}"#;
    assert_eq!(
        run(def, json!({"x": 1})).output,
        Some(json!({"x": 1, "r": {}}))
    );
}

#[test]
fn task_parameters_result_selector_result_path_output_path() {
    let handler = recording(|call| {
        Ok(
            json!({"Payload": {"sum": call.input["a"].as_i64().unwrap_or(0) + 1}, "StatusCode": 200}),
        )
    });
    let def = r#"{"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "InputPath": "$.in",
        "Parameters": {"FunctionName": "f", "a.$": "$.v", "exec.$": "$$.Execution.Name"},
        "ResultSelector": {"sum.$": "$.Payload.sum", "code.$": "$.StatusCode"},
        "ResultPath": "$.result.lambda",
        "OutputPath": "$.result",
        "End": true}}}"#;
    let exec = run_with(def, json!({"in": {"v": 41}, "keep": true}), handler.clone());
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output,
        Some(json!({"lambda": {"sum": 42, "code": 200}}))
    );
    let calls = handler.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].resource, "arn:aws:states:::lambda:invoke");
    assert_eq!(
        calls[0].input,
        json!({"FunctionName": "f", "a": 41, "exec": "exec-1"})
    );
    assert_eq!(calls[0].state_name, "T");
    assert_eq!(calls[0].timeout, None);
}

#[test]
fn task_without_parameters_gets_effective_input_and_timeout_is_passed() {
    let handler = echo();
    let def = r#"{"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:f",
        "InputPath": "$.x", "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 5, "End": true}}}"#;
    let exec = run_with(def, json!({"x": {"t": 30, "y": 2}}), handler.clone());
    assert_eq!(exec.output, Some(json!({"t": 30, "y": 2})));
    let call = &handler.calls()[0];
    assert_eq!(call.timeout, Some(std::time::Duration::from_secs(30)));
    assert_eq!(call.heartbeat, Some(std::time::Duration::from_secs(5)));
}

#[test]
fn context_object_fields() {
    let handler = echo();
    let def = r#"{"StartAt": "First", "States": {
      "First": {"Type": "Pass", "Next": "Ctx"},
      "Ctx": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
          "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input",
          "start.$": "$$.Execution.StartTime", "role.$": "$$.Execution.RoleArn",
          "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "retry.$": "$$.State.RetryCount",
          "sm.$": "$$.StateMachine.Id", "smName.$": "$$.StateMachine.Name"},
        "End": true}}}"#;
    let exec = run_with(def, json!({"hello": "world"}), handler.clone());
    let out = exec.output.unwrap_or_default();
    assert_eq!(
        out["id"],
        json!("arn:aws:states:local:000000000000:execution:test-machine:exec-1")
    );
    assert_eq!(out["name"], json!("exec-1"));
    assert_eq!(out["input"], json!({"hello": "world"}));
    // Context times are written as Step Functions writes them: UTC, milliseconds, `Z`.
    let start_text = START.replace("Z", ".000Z");
    assert_eq!(out["start"], json!(start_text));
    assert_eq!(
        out["role"],
        json!("arn:aws:iam::000000000000:role/StepFunctionsLocal")
    );
    assert_eq!(out["state"], json!("Ctx"));
    assert_eq!(out["entered"], json!(start_text));
    assert_eq!(out["retry"], json!(0));
    assert_eq!(
        out["sm"],
        json!("arn:aws:states:local:000000000000:stateMachine:test-machine")
    );
    assert_eq!(out["smName"], json!("test-machine"));
    // The handler sees the same context object.
    assert_eq!(handler.calls()[0].context["State"]["Name"], json!("Ctx"));
}

#[test]
fn wait_for_task_token_gets_a_token() {
    let handler = recording(|call| Ok(json!({"token": call.context["Task"]["Token"]})));
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"}, "End": true}}}"#;
    let exec = run_with(def, json!({}), handler.clone());
    let token = handler.calls()[0].input["token"]
        .as_str()
        .map(str::to_string);
    assert!(token.as_ref().is_some_and(|t| t.len() >= 32));
    assert_eq!(exec.output, Some(json!({"token": token})));
}

#[test]
fn choice_routes_defaults_and_fails_without_match() {
    let def = r#"{"StartAt": "C", "States": {
      "C": {"Type": "Choice", "Choices": [
          {"And": [{"Variable": "$.n", "IsPresent": true}, {"Variable": "$.n", "NumericGreaterThanEquals": 10}], "Next": "Big"},
          {"Variable": "$.name", "StringMatches": "log-*.txt", "Next": "Log"},
          {"Not": {"Variable": "$.flag", "BooleanEquals": true}, "Next": "NotFlag"}
        ], "Default": "Other"},
      "Big": {"Type": "Pass", "Result": "big", "End": true},
      "Log": {"Type": "Pass", "Result": "log", "End": true},
      "NotFlag": {"Type": "Pass", "Result": "notflag", "End": true},
      "Other": {"Type": "Pass", "Result": "other", "End": true}}}"#;
    assert_eq!(run(def, json!({"n": 12})).output, Some(json!("big")));
    assert_eq!(
        run(def, json!({"n": 1, "name": "log-1.txt", "flag": true})).output,
        Some(json!("log"))
    );
    assert_eq!(
        run(def, json!({"name": "x", "flag": false})).output,
        Some(json!("notflag"))
    );
    assert_eq!(
        run(def, json!({"name": "x", "flag": true})).output,
        Some(json!("other"))
    );

    let no_default = r#"{"StartAt": "C", "States": {
      "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "A"}]},
      "A": {"Type": "Succeed"}}}"#;
    let exec = run(no_default, json!({"n": 2}));
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.NoChoiceMatched"));
    // A missing Variable is a runtime error.
    let exec = run(no_default, json!({}));
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn choice_output_path_and_input_path_apply() {
    let def = r#"{"StartAt": "C", "States": {
      "C": {"Type": "Choice", "InputPath": "$.inner", "OutputPath": "$.keep",
            "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "Done"}]},
      "Done": {"Type": "Succeed"}}}"#;
    assert_eq!(
        run(def, json!({"inner": {"go": true, "keep": 5}})).output,
        Some(json!(5))
    );
}

#[test]
fn wait_variants_advance_the_clock() {
    let cases = [
        (
            r#"{"Type": "Wait", "Seconds": 90, "Next": "End"}"#,
            json!({}),
            90.0,
        ),
        (
            r#"{"Type": "Wait", "SecondsPath": "$.s", "Next": "End"}"#,
            json!({"s": 30}),
            30.0,
        ),
        (
            r#"{"Type": "Wait", "Timestamp": "2024-01-01T01:00:00Z", "Next": "End"}"#,
            json!({}),
            3600.0,
        ),
        (
            r#"{"Type": "Wait", "TimestampPath": "$.t", "Next": "End"}"#,
            json!({"t": "2024-01-01T00:10:00Z"}),
            600.0,
        ),
        (
            r#"{"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "Next": "End"}"#,
            json!({}),
            0.0,
        ),
    ];
    for (wait, input, secs) in cases {
        let def = format!(
            r#"{{"StartAt": "W", "States": {{"W": {wait}, "End": {{"Type": "Succeed"}}}}}}"#
        );
        let exec = run(&def, input.clone());
        assert_eq!(exec.status, ExecutionStatus::Succeeded, "{wait}");
        assert_eq!(exec.output, Some(input), "{wait}");
        let waited = seconds_between(&exec.start_date, &exec.stop_date);
        assert!((waited - secs).abs() < 1e-6, "{wait}: waited {waited}");
    }
    let bad =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}"#;
    assert_eq!(
        run(bad, json!({"s": "soon"})).error.as_deref(),
        Some("States.Runtime")
    );
    assert_eq!(
        run(bad, json!({"s": -1})).error.as_deref(),
        Some("States.Runtime")
    );
}

#[test]
fn six_hour_wait_runs_in_milliseconds_on_a_scaled_clock() {
    use asl::{ExecutionInfo, Interpreter, ScaledClock};
    use std::sync::Arc;
    let def =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 21600, "End": true}}}"#;
    let interp = Interpreter::new(echo(), Arc::new(ScaledClock::new(1e6)));
    let real = std::time::Instant::now();
    let exec = interp.run(&machine(def), json!({}), ExecutionInfo::local("m", "e"));
    let elapsed = real.elapsed();
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert!(
        elapsed < std::time::Duration::from_millis(500),
        "took {elapsed:?}"
    );
    assert!(seconds_between(&exec.start_date, &exec.stop_date) >= 21600.0);
}

#[test]
fn succeed_and_fail_states() {
    let def = r#"{"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}}"#;
    assert_eq!(run(def, json!({"a": {"b": 3}})).output, Some(json!(3)));

    let def = r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "because"}}}"#;
    let exec = run(def, json!({}));
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(
        (exec.error.as_deref(), exec.cause.as_deref()),
        (Some("Broken"), Some("because"))
    );
    assert_eq!(
        kinds(&exec),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );

    let def = r#"{"StartAt": "F", "States": {"F": {"Type": "Fail",
        "ErrorPath": "$.err", "CausePath": "States.Format('file {} failed', $.file)"}}}"#;
    let exec = run(def, json!({"err": "BadFile", "file": "a.cwa"}));
    assert_eq!(exec.error.as_deref(), Some("BadFile"));
    assert_eq!(exec.cause.as_deref(), Some("file a.cwa failed"));
    assert_eq!(
        run(def, json!({"err": 1, "file": "x"})).error.as_deref(),
        Some("States.Runtime")
    );

    let def = r#"{"StartAt": "F", "States": {"F": {"Type": "Fail"}}}"#;
    let exec = run(def, json!({}));
    assert_eq!(
        (exec.status, exec.error, exec.cause),
        (ExecutionStatus::Failed, None, None)
    );
}

#[test]
fn query_paths_select_arrays() {
    let def = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"ids.$": "$.items[*].id", "ok.$": "$.items[?(@.ok == true)].id", "n.$": "States.ArrayLength($.items)"},
        "End": true}}}"#;
    let exec = run(
        def,
        json!({"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}]}),
    );
    assert_eq!(exec.output, Some(json!({"ids": [1, 2], "ok": [1], "n": 2})));
}

#[test]
fn task_failure_without_catch_fails_the_execution() {
    let handler = recording(|_| Err(TaskFailure::new("Lambda.Unknown", "boom")));
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:x:1:function:f", "End": true}}}"#;
    let exec = run_with(def, json!({}), handler);
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("Lambda.Unknown"));
    assert_eq!(exec.cause.as_deref(), Some("boom"));
    assert_eq!(exec.output, None);
}
