//! Parallel and Map states, inline and distributed.
mod common;

use asl::{CallPurpose, ExecutionStatus, TaskFailure};
use common::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

#[test]
fn parallel_collects_branch_outputs_in_order() {
    let def = r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel",
        "Parameters": {"v.$": "$.v"},
        "Branches": [
          {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a.$": "$.v"}, "End": true}}},
          {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "r", "Next": "B2"},
                                       "B2": {"Type": "Pass", "Result": "b", "End": true}}}
        ],
        "ResultSelector": {"first.$": "$[0].a", "second.$": "$[1]"},
        "ResultPath": "$.out", "End": true}}}"#;
    let exec = run(def, json!({"v": 3}));
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output,
        Some(json!({"v": 3, "out": {"first": 3, "second": "b"}}))
    );
    let k = kinds(&exec);
    assert!(k.contains(&"ParallelStateStarted") && k.contains(&"ParallelStateSucceeded"));
}

#[test]
fn parallel_branch_failure_keeps_its_name_and_matches_branch_failed() {
    let def = |catch: &str| {
        format!(
            r#"{{"StartAt": "P", "States": {{
          "P": {{"Type": "Parallel", "Branches": [
              {{"StartAt": "Bad", "States": {{"Bad": {{"Type": "Fail", "Error": "Custom", "Cause": "c"}}}}}},
              {{"StartAt": "Slow", "States": {{"Slow": {{"Type": "Wait", "Seconds": 3600, "End": true}}}}}}],
            "Catch": [{{"ErrorEquals": ["{catch}"], "Next": "H"}}], "End": true}},
          "H": {{"Type": "Pass", "End": true}}}}}}"#
        )
    };
    for catch in ["Custom", "States.BranchFailed", "States.ALL"] {
        let exec = run(&def(catch), json!({}));
        assert_eq!(exec.status, ExecutionStatus::Succeeded, "{catch}");
        assert_eq!(
            exec.output,
            Some(json!({"Error": "Custom", "Cause": "c"})),
            "{catch}"
        );
    }
    let exec = run(&def("Other"), json!({}));
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_deref(), Some("Custom"));
    assert!(kinds(&exec).contains(&"ParallelStateFailed"));
}

#[test]
fn map_iterates_with_item_selector_and_context() {
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemsPath": "$.files",
        "ItemSelector": {"file.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "study.$": "$.study"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        "ResultPath": "$.results", "End": true}}}"#;
    let handler = echo();
    let exec = run_with(
        def,
        json!({"study": "s1", "files": ["a", "b", "c"]}),
        handler.clone(),
    );
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output,
        Some(json!({"study": "s1", "files": ["a", "b", "c"], "results": [
            {"file": "a", "index": 0, "study": "s1"},
            {"file": "b", "index": 1, "study": "s1"},
            {"file": "c", "index": 2, "study": "s1"}]}))
    );
    assert_eq!(handler.calls().len(), 3);
    assert_eq!(exec.events("MapIterationStarted").len(), 3);
    assert_eq!(exec.events("MapIterationSucceeded").len(), 3);
    let started = exec.events("MapStateStarted");
    assert_eq!(
        started[0].details["mapStateStartedEventDetails"]["length"],
        json!(3)
    );
}

#[test]
fn legacy_iterator_and_parameters_still_work() {
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map",
        "Parameters": {"v.$": "$$.Map.Item.Value"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.v", "End": true}}},
        "End": true}}}"#;
    assert_eq!(run(def, json!([1, 2])).output, Some(json!([1, 2])));
}

#[test]
fn map_items_path_must_be_an_array_and_empty_arrays_give_empty_output() {
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.x",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}"#;
    assert_eq!(
        run(def, json!({"x": 5})).error.as_deref(),
        Some("States.Runtime")
    );
    assert_eq!(run(def, json!({"x": []})).output, Some(json!([])));
}

/// Counts how many handler calls run at the same time. A call that runs alone waits until a
/// second one starts (or all `total` calls have started), so a limit of 2 is actually reached
/// without sleeping; the 5 s bound only matters if the interpreter were broken.
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
}

fn concurrency_handler(total: usize) -> (Arc<Recording>, Arc<Concurrency>) {
    let c = Arc::new(Concurrency {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    // (calls started, generation bumped whenever two or more calls overlap)
    let gate = Arc::new((Mutex::new((0usize, 0u64)), Condvar::new()));
    let cc = c.clone();
    let handler = recording(move |call| {
        let (m, cv) = &*gate;
        let mut g = m.lock().map_err(|_| TaskFailure::new("Lock", "poisoned"))?;
        let n = cc.now.fetch_add(1, Ordering::SeqCst) + 1;
        cc.peak.fetch_max(n, Ordering::SeqCst);
        g.0 += 1;
        if n >= 2 {
            g.1 += 1;
            cv.notify_all();
        }
        let generation = g.1;
        let bound = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while n < 2 && g.1 == generation && g.0 < total && std::time::Instant::now() < bound {
            g = cv
                .wait_timeout(g, std::time::Duration::from_millis(100))
                .map_err(|_| TaskFailure::new("Lock", "poisoned"))?
                .0;
        }
        cc.now.fetch_sub(1, Ordering::SeqCst);
        drop(g);
        Ok(call.input.clone())
    });
    (handler, c)
}

#[test]
fn map_respects_max_concurrency_and_its_path() {
    for (field, input) in [
        (
            r#""MaxConcurrency": 2"#,
            json!({"items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}),
        ),
        (
            r#""MaxConcurrencyPath": "$.c""#,
            json!({"c": 2, "items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}),
        ),
    ] {
        let def = format!(
            r#"{{"StartAt": "M", "States": {{"M": {{"Type": "Map", "ItemsPath": "$.items", {field},
            "ItemProcessor": {{"StartAt": "T", "States": {{"T": {{"Type": "Task", "Resource": "r", "End": true}}}}}},
            "End": true}}}}}}"#
        );
        let (handler, c) = concurrency_handler(10);
        let exec = run_with(&def, input, handler.clone());
        assert_eq!(exec.status, ExecutionStatus::Succeeded);
        assert_eq!(exec.output, Some(json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])));
        assert_eq!(c.peak.load(Ordering::SeqCst), 2, "{field}");
    }
}

#[test]
fn inline_map_failure_fails_the_map_with_the_item_error() {
    let handler = recording(|call| {
        if call.input == json!(2) {
            Err(TaskFailure::new("BadItem", "two"))
        } else {
            Ok(call.input.clone())
        }
    });
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true}}},
        "Catch": [{"ErrorEquals": ["BadItem"], "Next": "H"}], "End": true},
        "H": {"Type": "Pass", "End": true}}}"#;
    let exec = run_with(def, json!([1, 2, 3, 4]), handler.clone());
    assert_eq!(
        exec.output,
        Some(json!({"Error": "BadItem", "Cause": "two"}))
    );
    // With one worker, the items after the failing one never start.
    assert_eq!(handler.calls().len(), 2);
    assert!(kinds(&exec).contains(&"MapIterationFailed"));
}

fn distributed(extra: &str) -> String {
    format!(
        r#"{{"StartAt": "M", "States": {{"M": {{"Type": "Map", {extra},
        "ItemProcessor": {{"ProcessorConfig": {{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}},
            "StartAt": "T", "States": {{"T": {{"Type": "Task", "Resource": "r", "End": true}}}}}},
        "End": true}}}}}}"#
    )
}

fn fail_odd() -> Arc<Recording> {
    recording(|call| match call.input.as_i64() {
        Some(n) if n % 2 == 1 => Err(TaskFailure::new("Odd", format!("{n}"))),
        _ => Ok(call.input.clone()),
    })
}

#[test]
fn distributed_map_tolerates_failures_up_to_the_threshold() {
    let items = json!([1, 2, 3, 4, 6, 8]);
    let exec = run_with(
        &distributed(r#""ToleratedFailureCount": 2"#),
        items.clone(),
        fail_odd(),
    );
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        exec.output,
        Some(json!([{"Error": "Odd", "Cause": "1"}, 2, {"Error": "Odd", "Cause": "3"}, 4, 6, 8]))
    );
    assert_eq!(exec.events("MapRunStarted").len(), 1);
    assert_eq!(exec.events("MapRunSucceeded").len(), 1);

    let exec = run_with(
        &distributed(r#""ToleratedFailurePercentage": 20"#),
        items.clone(),
        fail_odd(),
    );
    assert_eq!(
        exec.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );

    let exec = run_with(
        &distributed(r#""ToleratedFailurePercentagePath": "$[0]""#),
        json!([50, 1, 3]),
        fail_odd(),
    );
    assert_eq!(exec.status, ExecutionStatus::Failed, "2 of 3 failed > 50%");

    // A distributed Map tolerates nothing by default.
    let exec = run_with(&distributed(r#""MaxConcurrency": 1"#), items, fail_odd());
    assert_eq!(
        exec.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert!(kinds(&exec).contains(&"MapRunFailed"));
}

#[test]
fn distributed_map_reads_batches_and_writes_through_the_handler() {
    let handler = recording(|call| match &call.purpose {
        CallPurpose::ItemReader { reader_config } => {
            assert_eq!(call.resource, "arn:aws:states:::s3:getObject");
            assert_eq!(call.input, json!({"Bucket": "b", "Key": "list.json"}));
            assert_eq!(reader_config["InputType"], json!("JSON"));
            Ok(json!([{"k": 1}, {"k": 2}, {"k": 3}, {"k": 4}, {"k": 5}, {"k": 6}]))
        }
        CallPurpose::ResultWriter {
            results,
            writer_config,
        } => {
            assert_eq!(call.resource, "arn:aws:states:::s3:putObject");
            assert_eq!(writer_config, &None);
            assert_eq!(results.len(), 2);
            assert_eq!(results[0]["Status"], json!("SUCCEEDED"));
            Ok(
                json!({"Bucket": call.input["Bucket"], "Key": "out/manifest.json", "count": results.len()}),
            )
        }
        CallPurpose::Task => {
            let n = call.input["Items"].as_array().map_or(0, Vec::len);
            Ok(json!({"n": n, "study": call.input["BatchInput"]["study"]}))
        }
    });
    let def = distributed(
        r#""ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
              "ReaderConfig": {"InputType": "JSON", "MaxItems": 5},
              "Parameters": {"Bucket.$": "$.bucket", "Key": "list.json"}},
            "ItemSelector": {"k.$": "$$.Map.Item.Value.k"},
            "ItemBatcher": {"MaxItemsPerBatch": 3, "BatchInput": {"study.$": "$.study"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"}},
            "Label": "Files""#,
    );
    let exec = run_with(&def, json!({"bucket": "b", "study": "s1"}), handler.clone());
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.cause);
    let out = exec.output.unwrap_or_default();
    assert_eq!(
        out["ResultWriterDetails"],
        json!({"Bucket": "b", "Key": "out/manifest.json", "count": 2})
    );
    let arn = out["MapRunArn"].as_str().unwrap_or_default();
    assert!(arn.contains(":mapRun:test-machine/Files:"), "{arn}");
    // 5 items (MaxItems) in batches of 3 and 2.
    let mut tasks: Vec<Value> = handler
        .calls()
        .into_iter()
        .filter(|c| c.purpose == CallPurpose::Task)
        .map(|c| c.input)
        .collect();
    // The batches run concurrently: their calls arrive in any order.
    tasks.sort_by_key(|t| t["Items"][0]["k"].as_i64());
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["Items"], json!([{"k": 1}, {"k": 2}, {"k": 3}]));
    assert_eq!(tasks[1]["Items"], json!([{"k": 4}, {"k": 5}]));
    assert_eq!(tasks[0]["BatchInput"], json!({"study": "s1"}));
}

#[test]
fn item_reader_failure_is_reported() {
    let handler = recording(|call| match call.purpose {
        CallPurpose::ItemReader { .. } => Err(TaskFailure::new("S3.NoSuchKey", "missing")),
        _ => Ok(json!(null)),
    });
    let def = distributed(
        r#""ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"}}"#,
    );
    let exec = run_with(&def, json!({}), handler);
    assert_eq!(exec.error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(exec.cause.unwrap_or_default().contains("S3.NoSuchKey"));
}

#[test]
fn batching_by_bytes_keeps_batches_under_the_limit() {
    let def = distributed(r#""ItemBatcher": {"MaxInputBytesPerBatch": 10}"#);
    let exec = run_with(
        &def,
        json!(["aaaa", "bbbb", "cccc", "dddddddddddd"]),
        echo(),
    );
    // "aaaa" is 6 bytes of JSON: two never fit in 10 bytes; an oversized item goes alone.
    assert_eq!(
        exec.output,
        Some(
            json!([{"Items": ["aaaa"]}, {"Items": ["bbbb"]}, {"Items": ["cccc"]}, {"Items": ["dddddddddddd"]}])
        )
    );
}

#[test]
fn nested_map_in_parallel_in_map() {
    let def = r#"{"StartAt": "Outer", "States": {"Outer": {"Type": "Map",
        "ItemProcessor": {"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "Branches": [
            {"StartAt": "Inner", "States": {"Inner": {"Type": "Map", "ItemsPath": "$.xs",
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true}}},
                "End": true}}},
            {"StartAt": "Name", "States": {"Name": {"Type": "Pass", "InputPath": "$.name", "End": true}}}],
          "End": true}}},
        "End": true}}}"#;
    let exec = run(
        def,
        json!([{"name": "a", "xs": [1, 2]}, {"name": "b", "xs": []}]),
    );
    assert_eq!(exec.output, Some(json!([[[1, 2], "a"], [[], "b"]])));
    // Every event's predecessor exists and comes before it.
    for e in &exec.history {
        assert!(e.previous_event_id < e.id);
    }
}
