//! Load-time validation: every problem is reported with its place in the definition.
use asl::{LoadError, StateMachine, substitute};
use std::collections::BTreeMap;

fn err(def: &str) -> LoadError {
    match StateMachine::from_json(def) {
        Ok(_) => panic!("definition should be rejected: {def}"),
        Err(e) => e,
    }
}

fn path_of(def: &str) -> String {
    err(def).path().unwrap_or("<none>").to_string()
}

#[test]
fn accessors_report_the_definition() {
    let m = StateMachine::from_json(
        r#"{"Comment": "demo", "StartAt": "B", "TimeoutSeconds": 60, "Version": "1.0", "States": {
        "B": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "Next": "A"},
        "A": {"Type": "Map", "ItemProcessor": {"StartAt": "X", "States": {
            "X": {"Type": "Task", "Resource": "inner", "End": true}}}, "End": true},
        "Unreachable": {"Type": "Succeed"}}}"#,
    );
    let m = match m {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(m.start_at(), "B");
    assert_eq!(m.comment(), Some("demo"));
    assert_eq!(m.timeout_seconds(), Some(60));
    let mut names = m.state_names();
    names.sort();
    assert_eq!(names, ["A", "B", "Unreachable"]);
    let mut res = m.task_resources();
    res.sort();
    assert_eq!(res, ["arn:aws:states:::batch:submitJob.sync", "inner"]);
}

#[test]
fn jsonata_is_rejected_naming_state_and_field() {
    let e = err(
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#,
    );
    assert!(matches!(e, LoadError::Unsupported { .. }));
    assert_eq!(e.path(), Some("QueryLanguage"));
    assert!(e.to_string().contains("JSONata is not supported yet"));

    let e = err(
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata", "End": true}}}"#,
    );
    assert_eq!(e.path(), Some("States.A.QueryLanguage"));
    assert!(matches!(e, LoadError::Unsupported { .. }));

    let e = err(
        r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Arguments": {}, "End": true}}}"#,
    );
    assert_eq!(e.path(), Some("States.A.Arguments"));
    let e = err(
        r#"{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "A"}]}}}"#,
    );
    assert_eq!(e.path(), Some("States.A.Choices[0].Condition"));
    let e = err(
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x": 1}, "End": true}}}"#,
    );
    assert!(matches!(e, LoadError::Unsupported { .. }));
}

#[test]
fn choice_operand_errors_name_the_rule() {
    let def = r#"{"StartAt": "CheckReady", "States": {
      "CheckReady": {"Type": "Choice", "Choices": [
        {"Variable": "$.a", "IsPresent": true, "Next": "Done"},
        {"Variable": "$.b", "StringEquals": "x", "Next": "Done"},
        {"Variable": "$.c", "NumericGreaterThanEquals": "ten", "Next": "Done"}]},
      "Done": {"Type": "Succeed"}}}"#;
    assert_eq!(
        path_of(def),
        "States.CheckReady.Choices[2].NumericGreaterThanEquals"
    );
    let nested = r#"{"StartAt": "C", "States": {
      "C": {"Type": "Choice", "Choices": [{"And": [{"Variable": "$.a", "IsNull": true}, {"Variable": "$.b", "Nope": 1}], "Next": "D"}]},
      "D": {"Type": "Succeed"}}}"#;
    assert_eq!(path_of(nested), "States.C.Choices[0].And[1].Nope");
}

#[test]
fn structural_errors() {
    let cases = [
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass"}}}"#,
            "States.A",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}"#,
            "States.A.Next",
        ),
        (
            r#"{"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}"#,
            "StartAt",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Bogus": 1}}}"#,
            "States.A.Bogus",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Dance", "End": true}}}"#,
            "States.A.Type",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": true}}}"#,
            "States.A",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "A"}}}"#,
            "States.A.Next",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Fail", "InputPath": "$"}}}"#,
            "States.A.InputPath",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "End": true}}}"#,
            "States.A",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Credentials": {}, "End": true}}}"#,
            "States.A.Credentials",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 0, "End": true}}}"#,
            "States.A.TimeoutSeconds",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 5, "HeartbeatSeconds": 5, "End": true}}}"#,
            "States.A.HeartbeatSeconds",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t", "End": true}}}"#,
            "States.A.TimeoutSecondsPath",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nowhere"}], "End": true}}}"#,
            "States.A.Catch[0].Next",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}], "End": true}}}"#,
            "States.A.Retry[0]",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["States.ALL", "X"]}], "End": true}}}"#,
            "States.A.Retry[0].ErrorEquals",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["States.Typo"]}], "End": true}}}"#,
            "States.A.Retry[0].ErrorEquals[0]",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}], "End": true}}}"#,
            "States.A.Retry[0].BackoffRate",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}], "End": true}}}"#,
            "States.A.Retry[0].JitterStrategy",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}], "End": true}}}"#,
            "States.A.Retry[0].MaxAttempts",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "ResultPath": "$.a[*]", "End": true}}}"#,
            "States.A.ResultPath",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "Parameters": {"x.$": "nope"}, "End": true}}}"#,
            "States.A.Parameters.x.$",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "ResultSelector": {"x.$": "States.Format('{}')"}, "End": true}}}"#,
            "<ok>",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": true}}}"#,
            "States.A.Parameters.x.$",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$[?(", "End": true}}}"#,
            "States.A.InputPath",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Wait", "End": true}}}"#,
            "States.A",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "Timestamp": "2024-01-01T00:00:00Z", "End": true}}}"#,
            "States.A",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Wait", "Timestamp": "tomorrow", "End": true}}}"#,
            "States.A.Timestamp",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "x", "ErrorPath": "$.e"}}}"#,
            "States.A.ErrorPath",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [], "Default": "A"}}}"#,
            "States.A.Choices",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "A"}], "Default": "Q"}}}"#,
            "States.A.Default",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "A"}}}], "End": true}}}"#,
            "States.A.Branches[0].States.X.Next",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Map", "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}, "ItemReader": {"Resource": "r"}, "End": true}}}"#,
            "States.A.ItemReader",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Map", "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}, "ToleratedFailureCount": 1, "End": true}}}"#,
            "States.A.ToleratedFailureCount",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Map", "Iterator": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}, "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}, "End": true}}}"#,
            "States.A.Iterator",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "WIDE"}, "StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}, "End": true}}}"#,
            "States.A.ItemProcessor.ProcessorConfig.Mode",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}, "ItemBatcher": {}, "End": true}}}"#,
            "States.A.ItemBatcher",
        ),
        (
            r#"{"StartAt": "A", "TimeoutSeconds": -5, "States": {"A": {"Type": "Succeed"}}}"#,
            "TimeoutSeconds",
        ),
        (r#"{"StartAt": "A", "States": {}}"#, "States"),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": true}"#,
            "Extra",
        ),
    ];
    for (def, want) in cases {
        let got = StateMachine::from_json(def)
            .err()
            .map(|e| e.path().unwrap_or("<none>").to_string());
        let got = got.unwrap_or_else(|| "<ok>".to_string());
        assert_eq!(got, want, "{def}");
    }
}

#[test]
fn invalid_json_is_reported() {
    assert!(matches!(err("{\"StartAt\": "), LoadError::Json(_)));
    assert!(matches!(err("[]"), LoadError::Invalid { .. }));
}

#[test]
fn substitutions_then_load() {
    let text = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${MarkFn}", "End": true}}}"#;
    let mut subs = BTreeMap::new();
    assert_eq!(
        substitute(text, &subs).err().map(|e| e.to_string()),
        Some("no DefinitionSubstitutions value for ${MarkFn}".to_string())
    );
    subs.insert(
        "MarkFn".to_string(),
        "arn:aws:lambda:eu-west-1:1:function:mark".to_string(),
    );
    let m = substitute(text, &subs).and_then(|t| StateMachine::from_json(&t));
    assert_eq!(
        m.map(|m| m
            .task_resources()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()),
        Ok(vec!["arn:aws:lambda:eu-west-1:1:function:mark".to_string()])
    );
}
