//! Execution results and the execution history, shaped like Step Functions'
//! `DescribeExecution` and `GetExecutionHistory` answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Reached a Succeed state or an `End: true` state.
    Succeeded,
    /// A state failed and nothing caught the error.
    Failed,
    /// The machine's `TimeoutSeconds` passed.
    TimedOut,
    /// Stopped from outside through an [`crate::AbortHandle`].
    Aborted,
}

/// One event of an execution's history, as `GetExecutionHistory` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// 1-based, in the order the events happened.
    pub id: u64,
    /// The event this one follows in its own thread of execution (0 for the first).
    pub previous_event_id: u64,
    /// When it happened, RFC 3339 (in the interpreter's clock time).
    pub timestamp: String,
    /// Step Functions event type: `ExecutionStarted`, `TaskStateEntered`, `TaskScheduled`,
    /// `TaskSucceeded`, `MapIterationStarted`...
    #[serde(rename = "type")]
    pub kind: String,
    /// An object with one key named after the type, e.g.
    /// `{"stateEnteredEventDetails": {"name": "Check", "input": "{...}"}}`; inputs, outputs and
    /// parameters are JSON text, as in Step Functions. `{}` for events without details.
    pub details: Value,
}

/// The result of one run of a state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// How it ended.
    pub status: ExecutionStatus,
    /// The final output (only when `SUCCEEDED`).
    pub output: Option<Value>,
    /// Error name when not `SUCCEEDED` (e.g. `States.Timeout`, or a Fail state's `Error`).
    pub error: Option<String>,
    /// Human-readable cause that goes with `error`.
    pub cause: Option<String>,
    /// Start time, RFC 3339.
    pub start_date: String,
    /// Stop time, RFC 3339.
    pub stop_date: String,
    /// Every event, in id order.
    pub history: Vec<HistoryEvent>,
}

impl Execution {
    /// The events of the given type, in order.
    pub fn events(&self, kind: &str) -> Vec<&HistoryEvent> {
        self.history.iter().filter(|e| e.kind == kind).collect()
    }
}
