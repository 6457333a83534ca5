//! Retry, Catch, standard error names, timeouts, abort and payload limits.
mod common;

use asl::{AbortHandle, ExecutionInfo, ExecutionStatus, Interpreter, ScaledClock, TaskFailure};
use common::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

/// A handler failing with `error` for the first `fail_times` calls, then succeeding.
fn flaky(fail_times: usize, error: &'static str) -> Arc<Recording> {
    let n = AtomicUsize::new(0);
    recording(move |call| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        if i < fail_times {
            Err(TaskFailure::new(error, format!("attempt {i}")))
        } else {
            Ok(json!({"attempt": i, "retry": call.context["State"]["RetryCount"]}))
        }
    })
}

fn task_with(extra: &str) -> String {
    format!(
        r#"{{"StartAt": "T", "States": {{
          "T": {{"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:1:function:f", {extra}, "End": true}},
          "Handled": {{"Type": "Pass", "End": true}}}}}}"#
    )
}

fn scheduled_times(exec: &asl::Execution) -> Vec<String> {
    exec.events("TaskScheduled")
        .iter()
        .map(|e| e.timestamp.clone())
        .collect()
}

#[test]
fn retry_backs_off_exponentially_through_the_clock() {
    let handler = flaky(3, "Transient");
    let def = task_with(
        r#""Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 0},
        {"ErrorEquals": ["Transient"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 5}]"#,
    );
    let exec = run_with(&def, json!({}), handler.clone());
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    // RetryCount in the context counts the retries.
    assert_eq!(exec.output, Some(json!({"attempt": 3, "retry": 3})));
    let t = scheduled_times(&exec);
    assert_eq!(t.len(), 4);
    let gaps: Vec<f64> = t
        .windows(2)
        .map(|w| seconds_between(&w[0], &w[1]))
        .collect();
    assert_eq!(gaps, [2.0, 6.0, 18.0]);
}

#[test]
fn retry_gives_up_after_max_attempts_and_max_delay_caps() {
    let handler = flaky(100, "Transient");
    let def = task_with(
        r#""Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10,
        "BackoffRate": 10, "MaxDelaySeconds": 50, "MaxAttempts": 3}]"#,
    );
    let exec = run_with(&def, json!({}), handler.clone());
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("Transient"));
    assert_eq!(exec.cause.as_deref(), Some("attempt 3"));
    assert_eq!(handler.calls().len(), 4);
    let t = scheduled_times(&exec);
    let gaps: Vec<f64> = t
        .windows(2)
        .map(|w| seconds_between(&w[0], &w[1]))
        .collect();
    assert_eq!(gaps, [10.0, 50.0, 50.0]);
}

#[test]
fn max_attempts_zero_never_retries_and_first_matching_retrier_wins() {
    let handler = flaky(1, "Transient");
    let def = task_with(
        r#""Retry": [{"ErrorEquals": ["Transient"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]"#,
    );
    let exec = run_with(&def, json!({}), handler.clone());
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(handler.calls().len(), 1);
}

#[test]
fn full_jitter_never_waits_longer_than_the_interval() {
    let handler = flaky(5, "Transient");
    let def = task_with(
        r#""Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 8,
        "BackoffRate": 1.0, "MaxAttempts": 5, "JitterStrategy": "FULL"}]"#,
    );
    let exec = run_with(&def, json!({}), handler);
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    let t = scheduled_times(&exec);
    for w in t.windows(2) {
        let gap = seconds_between(&w[0], &w[1]);
        assert!((0.0..=8.0).contains(&gap), "gap {gap}");
    }
}

#[test]
fn catch_puts_the_error_at_result_path_and_moves_on() {
    let handler = flaky(100, "Boom");
    let def = task_with(
        r#""Catch": [{"ErrorEquals": ["Nope"], "Next": "Handled"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}]"#,
    );
    let exec = run_with(&def, json!({"file": "a"}), handler);
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output,
        Some(json!({"file": "a", "error": {"Error": "Boom", "Cause": "attempt 0"}}))
    );
    let k = kinds(&exec);
    assert!(
        k.contains(&"TaskFailed") && k.contains(&"PassStateEntered"),
        "{k:?}"
    );

    // Default ResultPath replaces the input with the error object.
    let def = task_with(r#""Catch": [{"ErrorEquals": ["Boom"], "Next": "Handled"}]"#);
    let exec = run_with(&def, json!({"file": "a"}), flaky(100, "Boom"));
    assert_eq!(
        exec.output,
        Some(json!({"Error": "Boom", "Cause": "attempt 0"}))
    );
}

#[test]
fn retries_run_before_catch() {
    let handler = flaky(100, "Boom");
    let def = task_with(
        r#""Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": null, "Next": "Handled"}]"#,
    );
    let exec = run_with(&def, json!({"x": 1}), handler.clone());
    assert_eq!(exec.output, Some(json!({"x": 1})));
    assert_eq!(handler.calls().len(), 3);
}

#[test]
fn task_failed_wildcard_does_not_match_timeout() {
    let (_tx, rx) = mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    // Blocks until the test ends (the sender is dropped), i.e. longer than the timeout.
    let handler = recording(move |_| {
        let _ = rx.lock().map(|r| r.recv());
        Ok(json!("late"))
    });
    let def = task_with(
        r#""TimeoutSeconds": 5,
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Handled"},
                  {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Handled"}]"#,
    );
    let interp = Interpreter::new(handler, Arc::new(ScaledClock::new(1000.0)));
    let exec = interp.run(&machine(&def), json!({}), ExecutionInfo::local("m", "e"));
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output.as_ref().map(|o| o["timeout"]["Error"].clone()),
        Some(json!("States.Timeout"))
    );
    assert_eq!(exec.events("TaskTimedOut").len(), 1);
    drop(_tx);
}

#[test]
fn task_timeout_without_catch_fails_with_states_timeout() {
    let (tx, rx) = mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    let handler = recording(move |_| {
        let _ = rx.lock().map(|r| r.recv());
        Ok(json!(null))
    });
    let def = task_with(r#""TimeoutSecondsPath": "$.limit""#);
    let interp = Interpreter::new(handler, Arc::new(ScaledClock::new(1000.0)));
    let exec = interp.run(
        &machine(&def),
        json!({"limit": 10}),
        ExecutionInfo::local("m", "e"),
    );
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));
    drop(tx);
}

#[test]
fn machine_timeout_ends_timed_out() {
    // 1 h of virtual time is 36 ms here; the 100 h wait would take 3.6 s if not cut short.
    let def = r#"{"StartAt": "W", "TimeoutSeconds": 3600, "States": {
        "W": {"Type": "Wait", "Seconds": 360000, "End": true}}}"#;
    let interp = Interpreter::new(echo(), Arc::new(ScaledClock::new(1e5)));
    let real = std::time::Instant::now();
    let exec = interp.run(&machine(def), json!({}), ExecutionInfo::local("m", "e"));
    assert_eq!(exec.status, ExecutionStatus::TimedOut);
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));
    assert!(real.elapsed() < std::time::Duration::from_secs(1));
    let k = kinds(&exec);
    assert_eq!(
        k,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateAborted",
            "ExecutionTimedOut"
        ]
    );
    let virtual_secs = seconds_between(&exec.start_date, &exec.stop_date);
    assert!((3600.0..7200.0).contains(&virtual_secs), "{virtual_secs}");
}

#[test]
fn machine_timeout_also_stops_a_running_task() {
    let (tx, rx) = mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    let handler = recording(move |_| {
        let _ = rx.lock().map(|r| r.recv());
        Ok(json!(null))
    });
    let def = r#"{"StartAt": "T", "TimeoutSeconds": 200, "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": true}}}"#;
    let interp = Interpreter::new(handler, Arc::new(ScaledClock::new(1000.0)));
    let exec = interp.run(&machine(def), json!({}), ExecutionInfo::local("m", "e"));
    assert_eq!(exec.status, ExecutionStatus::TimedOut);
    assert!(kinds(&exec).contains(&"TaskStateAborted"));
    drop(tx);
}

#[test]
fn abort_handle_stops_a_waiting_execution() {
    let def =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 99999, "End": true}}}"#;
    let abort = AbortHandle::new();
    let trigger = abort.clone();
    let interp = Interpreter::new(echo(), Arc::new(ScaledClock::new(1.0))).with_observer(Arc::new(
        move |e: &asl::HistoryEvent| {
            if e.kind == "WaitStateEntered" {
                trigger.abort("User.Stop", "stopped by test");
            }
        },
    ));
    let exec = interp.run_with_abort(
        &machine(def),
        json!({}),
        ExecutionInfo::local("m", "e"),
        &abort,
    );
    assert!(abort.is_aborted());
    assert_eq!(exec.status, ExecutionStatus::Aborted);
    assert_eq!(exec.error.as_deref(), Some("User.Stop"));
    assert_eq!(kinds(&exec).last(), Some(&"ExecutionAborted"));
}

#[test]
fn result_path_mismatch_is_catchable() {
    let def = r#"{"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "ResultPath": "$.s.inner",
              "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}}"#;
    let exec = run(def, json!({"s": "a string"}));
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output.as_ref().map(|o| o["Error"].clone()),
        Some(json!("States.ResultPathMatchFailure"))
    );
}

#[test]
fn parameter_path_and_intrinsic_failures_are_catchable() {
    for (params, error) in [
        (r#"{"x.$": "$.missing"}"#, "States.ParameterPathFailure"),
        (
            r#"{"x.$": "States.ArrayGetItem($.list, 9)"}"#,
            "States.IntrinsicFailure",
        ),
    ] {
        let def = format!(
            r#"{{"StartAt": "T", "States": {{
            "T": {{"Type": "Task", "Resource": "r", "Parameters": {params},
                  "Catch": [{{"ErrorEquals": ["States.ALL"], "Next": "H"}}], "End": true}},
            "H": {{"Type": "Pass", "End": true}}}}}}"#
        );
        let handler = echo();
        let exec = run_with(&def, json!({"list": [1]}), handler.clone());
        assert_eq!(
            exec.output.as_ref().map(|o| o["Error"].clone()),
            Some(json!(error))
        );
        assert!(handler.calls().is_empty());
    }
}

#[test]
fn runtime_errors_are_never_caught() {
    let def = r#"{"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "InputPath": "$.missing",
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}}"#;
    let handler = echo();
    let exec = run_with(def, json!({}), handler.clone());
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(handler.calls().is_empty());
}

#[test]
fn data_limit_exceeded_escapes_states_all_but_not_an_explicit_catch() {
    let big = recording(|_| Ok(Value::String("x".repeat(300 * 1024))));
    let def = r#"{"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}}"#;
    let exec = run_with(def, json!({}), big.clone());
    assert_eq!(exec.error.as_deref(), Some("States.DataLimitExceeded"));

    let def = r#"{"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "r", "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}}"#;
    let exec = run_with(def, json!({}), big.clone());
    assert_eq!(exec.status, ExecutionStatus::Succeeded);

    // The limit can be lifted.
    let interp = Interpreter::new(big, ManualClock::at(START)).with_payload_limit(None);
    let exec = interp.run(&machine(def), json!({}), ExecutionInfo::local("m", "e"));
    assert_eq!(exec.events("PassStateEntered").len(), 0);
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
}

#[test]
fn handler_panics_become_task_failures() {
    let handler = recording(|_| panic!("handler bug"));
    let def = task_with(r#""Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Handled"}]"#);
    let exec = run_with(&def, json!({}), handler);
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    let cause = exec
        .output
        .as_ref()
        .and_then(|o| o["Cause"].as_str().map(str::to_string));
    assert!(cause.is_some_and(|c| c.contains("handler bug")));
}

#[test]
fn endless_loops_hit_the_history_limit() {
    let def = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}"#;
    let interp =
        Interpreter::new(echo(), ManualClock::at(START)).with_max_history_events(Some(1000));
    let exec = interp.run(&machine(def), json!({}), ExecutionInfo::local("m", "e"));
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec.history.len() <= 1003);
}

#[test]
fn handler_reported_standard_errors_are_caught_by_name() {
    for name in [
        "States.HeartbeatTimeout",
        "States.Permissions",
        "States.TaskFailed",
    ] {
        let handler = recording(move |_| Err(TaskFailure::new(name, "from the handler")));
        let def = task_with(&format!(
            r#""Catch": [{{"ErrorEquals": ["{name}"], "ResultPath": "$.e", "Next": "Handled"}}]"#
        ));
        let exec = run_with(&def, json!({}), handler);
        assert_eq!(exec.status, ExecutionStatus::Succeeded, "{name}");
        assert_eq!(
            exec.output,
            Some(json!({"e": {"Error": name, "Cause": "from the handler"}}))
        );
    }
}
