//! Amazon States Language interpreter: runs AWS Step Functions state machine definitions
//! (`*.asl.json`) locally, unchanged, with task resources delegated to a [`TaskHandler`].
//!
//! ```
//! use std::sync::Arc;
//! use asl::{ExecutionInfo, ExecutionStatus, Interpreter, ScaledClock, StateMachine, TaskCall, TaskFailure};
//!
//! let machine = StateMachine::from_json(r#"{
//!   "StartAt": "Add",
//!   "States": {
//!     "Add": {"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:add",
//!             "ResultPath": "$.sum", "Next": "Pause"},
//!     "Pause": {"Type": "Wait", "Seconds": 3600, "End": true}
//!   }
//! }"#).unwrap();
//! let handler = |call: &TaskCall| -> Result<serde_json::Value, TaskFailure> {
//!     let a = call.input["a"].as_i64().unwrap_or(0);
//!     let b = call.input["b"].as_i64().unwrap_or(0);
//!     Ok(serde_json::json!(a + b))
//! };
//! let interp = Interpreter::new(Arc::new(handler), Arc::new(ScaledClock::new(1e6)));
//! let exec = interp.run(&machine, serde_json::json!({"a": 1, "b": 2}), ExecutionInfo::local("demo", "run-1"));
//! assert_eq!(exec.status, ExecutionStatus::Succeeded);
//! assert_eq!(exec.output.unwrap()["sum"], 3);
//! ```
//!
//! # Supported
//! - Query language JSONPath (the default). Top-level `StartAt`, `States`, `Comment`, `Version`,
//!   `TimeoutSeconds` (execution ends `TIMED_OUT` with `States.Timeout`).
//! - All eight state types: Pass (`Result`, `Parameters`), Task (`Resource`, `Parameters`,
//!   `ResultSelector`, `TimeoutSeconds[Path]`, `HeartbeatSeconds[Path]` accepted and passed to
//!   the handler but not enforced), Choice (every comparison operator and its `...Path` form,
//!   `StringMatches` with `*` and `\` escapes, `IsPresent`/`IsNull`/`IsBoolean`/`IsNumeric`/
//!   `IsString`/`IsTimestamp`, `And`/`Or`/`Not`, `Default`, `States.NoChoiceMatched`), Wait
//!   (`Seconds`, `SecondsPath`, `Timestamp`, `TimestampPath`), Succeed, Fail (`Error`/`Cause`,
//!   `ErrorPath`/`CausePath` with paths or intrinsics), Parallel (`Branches`) and Map
//!   (`ItemsPath`, `ItemSelector` or legacy `Parameters`, `ItemProcessor` or legacy `Iterator`,
//!   `MaxConcurrency[Path]`).
//! - Distributed Map (`ProcessorConfig.Mode: DISTRIBUTED`): runs like an inline Map on local
//!   threads; `ItemReader` and `ResultWriter` go to the [`TaskHandler`] with their `Resource`
//!   and `Parameters` (see [`CallPurpose`]); `ItemBatcher` (`MaxItemsPerBatch[Path]`,
//!   `MaxInputBytesPerBatch[Path]`, `BatchInput`); `ToleratedFailurePercentage[Path]`,
//!   `ToleratedFailureCount[Path]` (`States.ExceedToleratedFailureThreshold`); `Label`.
//!   [`decode_items`] turns the object an `s3:getObject` reader fetched into items (JSON,
//!   JSONL, CSV), for handlers that read from their own store.
//! - Input/output processing: `InputPath`, `Parameters`, `ResultSelector`, `ResultPath`
//!   (including `null` and creating nested fields), `OutputPath`; `.$` fields with paths,
//!   `$$` context paths and intrinsic functions, inside nested objects and arrays. JSONPath
//!   queries beyond plain references (wildcards, filters, slices) use `serde_json_path`
//!   (RFC 9535) and give arrays.
//! - The context object: `$$.Execution.{Id,Input,Name,RoleArn,StartTime,RedriveCount}`,
//!   `$$.State.{Name,EnteredTime,RetryCount}`, `$$.StateMachine.{Id,Name}`,
//!   `$$.Map.Item.{Index,Value}` (in `ItemSelector`), `$$.Task.Token` (for
//!   `.waitForTaskToken` resources; the handler itself returns the callback's result).
//! - All intrinsic functions: `States.Format`, `StringToJson`, `JsonToString`, `Array`,
//!   `ArrayPartition`, `ArrayContains`, `ArrayRange`, `ArrayGetItem`, `ArrayLength`,
//!   `ArrayUnique`, `Base64Encode`, `Base64Decode`, `Hash` (MD5, SHA-1, SHA-256, SHA-384,
//!   SHA-512), `JsonMerge` (shallow), `MathRandom`, `MathAdd`, `StringSplit`, `UUID`; nesting
//!   up to 10 levels, the `\'` `\{` `\}` `\\` escapes, `States.IntrinsicFailure` on bad arguments.
//! - Retry (`ErrorEquals`, `IntervalSeconds`, `MaxAttempts` including 0, `BackoffRate`,
//!   `MaxDelaySeconds`, `JitterStrategy`) and Catch (`ErrorEquals`, `Next`, `ResultPath`) with the
//!   standard error names (see [`names`]): `States.ALL` matches neither `States.Runtime` (never
//!   caught) nor `States.DataLimitExceeded` (caught only by name); `States.TaskFailed` matches
//!   everything but `States.Timeout`; `States.BranchFailed` matches errors that left a Parallel
//!   branch or Map iteration (which otherwise keep their own name).
//! - Payload limit (256 KiB, `States.DataLimitExceeded`) and history limit (25,000 events),
//!   both adjustable on the [`Interpreter`].
//! - A history like `GetExecutionHistory` ([`HistoryEvent`]), streamed to an observer.
//! - Clocks: [`SystemClock`], [`ScaledClock`] (every wait, retry back-off and timeout runs
//!   `factor` times faster), or your own [`Clock`]. Executions can be stopped with an
//!   [`AbortHandle`].
//! - Load-time validation: unknown fields, wrong types, missing `Next`/`End`, transitions to
//!   unknown states, misplaced `States.ALL`, unknown `States.*` error names, bad paths and
//!   intrinsics, all reported as a [`LoadError`] naming the place
//!   (e.g. `States.CheckReady.Choices[2].NumericGreaterThanEquals`). Unreachable states are
//!   allowed. CloudFormation `DefinitionSubstitutions` via [`substitute`].
//!
//! # Not supported (rejected at load time, never ignored)
//! - `QueryLanguage: JSONata` and the JSONata fields (`Arguments`, `Output`, `Condition`,
//!   `Items`), workflow variables (`Assign`), Task `Credentials`.
//!
//! # Differences from Step Functions
//! - Every Task (also plain Lambda ARNs) is recorded as `TaskScheduled`/`TaskStarted`/
//!   `TaskSucceeded`/`TaskFailed`/`TaskTimedOut` events, not `LambdaFunction*` events.
//! - A Task that times out leaves its handler thread running; its late result is dropped.
//! - Missing `.$` paths fail with `States.ParameterPathFailure` (catchable), as the language
//!   specification says, where Step Functions itself reports `States.Runtime`.
//! - Distributed Map child workflows run in this process and their events appear in the
//!   parent's history (without counting toward its limit); failed items that are tolerated
//!   appear in the Map output as `{"Error", "Cause"}` objects.
//! - Task handlers cannot send heartbeats, so `HeartbeatSeconds` is not enforced.

mod choice;
mod clock;
mod definition;
mod encoding;
mod error;
mod history;
mod interpreter;
mod intrinsic;
mod items;
mod md5;
mod path;
mod random;
mod template;

pub use clock::{Clock, ScaledClock, SystemClock};
pub use definition::StateMachine;
pub use error::{LoadError, names};
pub use history::{Execution, ExecutionStatus, HistoryEvent};
pub use interpreter::{
    AbortHandle, CallPurpose, DEFAULT_MAX_HISTORY_EVENTS, DEFAULT_PAYLOAD_LIMIT, ExecutionInfo,
    Interpreter, TaskCall, TaskFailure, TaskHandler,
};
pub use items::{ItemsError, decode_items};
pub use md5::md5;

use std::collections::BTreeMap;

/// Applies CloudFormation `DefinitionSubstitutions`: replaces every `${Name}` in the definition
/// text with `subs["Name"]`, inserted as-is (as CloudFormation does). Names are made of ASCII
/// letters, digits, `_`, `-`, `.` and `:`; other `${...}` text is left alone. Returns
/// [`LoadError::MissingSubstitution`] naming the first placeholder without a value.
pub fn substitute(definition: &str, subs: &BTreeMap<String, String>) -> Result<String, LoadError> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[pos..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        let is_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if is_name {
            match subs.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    return Err(LoadError::MissingSubstitution {
                        name: name.to_string(),
                    });
                }
            }
        } else {
            out.push_str(&rest[pos..pos + 2 + end + 1]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitute_replaces_and_reports_missing_names() {
        let mut subs = BTreeMap::new();
        subs.insert(
            "FnArn".to_string(),
            "arn:aws:lambda:x:1:function:f".to_string(),
        );
        subs.insert("Queue".to_string(), "q".to_string());
        let text =
            r#"{"Resource": "${FnArn}", "Q": "${Queue}-${Queue}", "Other": "${not a name}"}"#;
        assert_eq!(
            substitute(text, &subs),
            Ok(r#"{"Resource": "arn:aws:lambda:x:1:function:f", "Q": "q-q", "Other": "${not a name}"}"#.to_string())
        );
        assert_eq!(
            substitute(r#"{"a": "${Missing}"}"#, &subs),
            Err(LoadError::MissingSubstitution {
                name: "Missing".to_string()
            })
        );
        assert_eq!(substitute("tail ${", &subs), Ok("tail ${".to_string()));
    }
}
