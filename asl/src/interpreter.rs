//! The execution engine: runs a [`StateMachine`] with a [`TaskHandler`] and a [`Clock`].
//!
//! One execution runs on the calling thread; Parallel branches and Map iterations run on scoped
//! threads, and every Task handler call runs on a thread of its own so that the interpreter can
//! stop waiting for it (task timeout, execution timeout, abort, a failed sibling branch). All
//! waiting goes through one condition variable per execution with deadlines computed from the
//! clock, so scaled clocks shorten every wait.

use crate::clock::{self, Clock};
use crate::definition::{
    Block, Catcher, Dynamic, IoPath, ItemBatcherDef, Kind, MapDef, ParallelDef, ResultPath,
    Retrier, State, StateMachine, TaskDef, Text, Transition, WaitFor,
};
use crate::error::{Failure, names};
use crate::history::{Execution, ExecutionStatus, HistoryEvent};
use crate::intrinsic::as_integer;
use crate::path::{set_at, type_name};
use crate::random;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Step Functions' payload limit for state inputs, outputs and task results (bytes of JSON).
pub const DEFAULT_PAYLOAD_LIMIT: usize = 256 * 1024;
/// Step Functions' limit of events in one execution history.
pub const DEFAULT_MAX_HISTORY_EVENTS: usize = 25_000;
/// Concurrent iterations of an inline Map without `MaxConcurrency` (Step Functions runs up to
/// 40 at once).
const INLINE_UNBOUNDED_CONCURRENCY: usize = 40;
/// Concurrent child workflows of a Distributed Map without `MaxConcurrency` here (threads of
/// this process, not AWS's 10,000 child executions).
const DISTRIBUTED_UNBOUNDED_CONCURRENCY: usize = 256;

/// Runs the `Resource` of Task states (and the `ItemReader`/`ResultWriter` of Distributed Maps).
pub trait TaskHandler: Send + Sync {
    /// Runs one Task state's resource (e.g. `arn:aws:lambda:...:function:x`,
    /// `arn:aws:states:::batch:submitJob.sync`, `arn:aws:states:::states:startExecution`) and
    /// returns its result, or the error that the state's Retry/Catch see. Called on a thread
    /// of its own; when the interpreter stops waiting (timeout, abort), the call is left to
    /// finish and its result is dropped.
    fn invoke(&self, call: &TaskCall) -> Result<Value, TaskFailure>;
}

impl<F> TaskHandler for F
where
    F: Fn(&TaskCall) -> Result<Value, TaskFailure> + Send + Sync,
{
    fn invoke(&self, call: &TaskCall) -> Result<Value, TaskFailure> {
        self(call)
    }
}

/// What a handler call is for.
#[derive(Debug, Clone, PartialEq)]
pub enum CallPurpose {
    /// A Task state.
    Task,
    /// A Distributed Map's `ItemReader`: return the items as a JSON array. `reader_config` is
    /// the `ReaderConfig` object of the definition (`{}` if absent); `MaxItems` is applied by
    /// the interpreter to what the handler returns.
    ItemReader {
        /// `ReaderConfig` as written in the definition.
        reader_config: Value,
    },
    /// A Distributed Map's `ResultWriter`: store `results` and return the
    /// `ResultWriterDetails` object (e.g. `{"Bucket": .., "Key": ".../manifest.json"}`).
    ResultWriter {
        /// `WriterConfig` as written in the definition.
        writer_config: Option<Value>,
        /// One record per item or batch, in order: `{"Index", "Status": "SUCCEEDED"|"FAILED",
        /// "Input", "Output"}` or, for failures, `"Error"` and `"Cause"` instead of `"Output"`.
        results: Vec<Value>,
    },
}

/// One call of a [`TaskHandler`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCall {
    /// The state's `Resource` (or the `ItemReader`/`ResultWriter` `Resource`).
    pub resource: String,
    /// The effective parameters: the state input after `InputPath` and `Parameters`.
    pub input: Value,
    /// The name of the state making the call.
    pub state_name: String,
    /// The context object (`$$`) at the time of the call; `Task.Token` is set for
    /// `.waitForTaskToken` resources.
    pub context: Value,
    /// The state's `TimeoutSeconds` (after `TimeoutSecondsPath`), if any.
    pub timeout: Option<Duration>,
    /// The state's `HeartbeatSeconds`, if any (not enforced by the interpreter).
    pub heartbeat: Option<Duration>,
    /// Task, item reader or result writer.
    pub purpose: CallPurpose,
}

/// A task's failure: the error name Retry/Catch match on, and a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// Error name, e.g. `Lambda.ServiceException` or `BatchJobFailed`.
    pub error: String,
    /// Details (often a JSON text in Step Functions).
    pub cause: String,
}

impl TaskFailure {
    /// A failure with the given error name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

impl std::fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for TaskFailure {}

/// Names and ARNs of one execution, visible through the context object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionInfo {
    /// `$$.Execution.Id`.
    pub execution_arn: String,
    /// `$$.Execution.Name`.
    pub name: String,
    /// `$$.StateMachine.Id`.
    pub state_machine_arn: String,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
}

impl ExecutionInfo {
    /// Local ARNs (region `local`, account `000000000000`) for a machine and execution name.
    pub fn local(state_machine_name: &str, execution_name: &str) -> Self {
        ExecutionInfo {
            execution_arn: format!(
                "arn:aws:states:local:000000000000:execution:{state_machine_name}:{execution_name}"
            ),
            name: execution_name.to_string(),
            state_machine_arn: format!(
                "arn:aws:states:local:000000000000:stateMachine:{state_machine_name}"
            ),
            state_machine_name: state_machine_name.to_string(),
            role_arn: "arn:aws:iam::000000000000:role/StepFunctionsLocal".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
enum StopReason {
    TimedOut,
    Aborted { error: String, cause: String },
    Failed(Failure),
}

#[derive(Debug, Default)]
struct Cancel {
    flag: AtomicBool,
    parent: Option<Arc<Cancel>>,
}

impl Cancel {
    fn child(parent: &Arc<Cancel>) -> Arc<Cancel> {
        Arc::new(Cancel {
            flag: AtomicBool::new(false),
            parent: Some(parent.clone()),
        })
    }

    fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst) || self.parent.as_ref().is_some_and(|p| p.is_cancelled())
    }
}

#[derive(Debug, Default)]
struct Shared {
    lock: Mutex<()>,
    cv: Condvar,
    root: Arc<Cancel>,
    reason: Mutex<Option<StopReason>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn notify(&self) {
        let _g = lock(&self.lock);
        self.cv.notify_all();
    }

    fn cancel(&self, c: &Cancel) {
        c.flag.store(true, Ordering::SeqCst);
        self.notify();
    }

    fn stop(&self, reason: StopReason) {
        {
            let mut r = lock(&self.reason);
            if r.is_none() {
                *r = Some(reason);
            }
        }
        self.cancel(&self.root);
    }
}

/// Stops a running execution from another thread: it ends `ABORTED` with the given error and
/// cause. Use one handle per run.
#[derive(Debug, Clone, Default)]
pub struct AbortHandle {
    shared: Arc<Shared>,
}

impl AbortHandle {
    /// A handle that has not been triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the execution to stop; running waits and task waits end at once (task handler
    /// threads are left to finish on their own).
    pub fn abort(&self, error: &str, cause: &str) {
        self.shared.stop(StopReason::Aborted {
            error: error.to_string(),
            cause: cause.to_string(),
        });
    }

    /// Whether [`AbortHandle::abort`] was called.
    pub fn is_aborted(&self) -> bool {
        matches!(*lock(&self.shared.reason), Some(StopReason::Aborted { .. }))
    }
}

type Observer = Arc<dyn Fn(&HistoryEvent) + Send + Sync>;

/// Runs state machines. Cheap to clone handles are shared between executions; one interpreter
/// can run many executions, also at the same time from several threads.
#[derive(Clone)]
pub struct Interpreter {
    handler: Arc<dyn TaskHandler>,
    clock: Arc<dyn Clock>,
    observer: Option<Observer>,
    payload_limit: Option<usize>,
    max_history_events: Option<usize>,
}

impl std::fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field("payload_limit", &self.payload_limit)
            .field("max_history_events", &self.max_history_events)
            .finish_non_exhaustive()
    }
}

impl Interpreter {
    /// An interpreter calling `handler` for Task states and reading time from `clock`, with
    /// Step Functions' limits (256 KiB payloads, 25,000 history events).
    pub fn new(handler: Arc<dyn TaskHandler>, clock: Arc<dyn Clock>) -> Self {
        Interpreter {
            handler,
            clock,
            observer: None,
            payload_limit: Some(DEFAULT_PAYLOAD_LIMIT),
            max_history_events: Some(DEFAULT_MAX_HISTORY_EVENTS),
        }
    }

    /// Calls `obs` on every history event as it is recorded (in id order, from whichever thread
    /// records it; keep it quick and do not run executions from it).
    pub fn with_observer(mut self, obs: Arc<dyn Fn(&HistoryEvent) + Send + Sync>) -> Self {
        self.observer = Some(obs);
        self
    }

    /// Changes the payload size limit in bytes of JSON (`None`: no limit). Larger state outputs,
    /// effective task parameters and task results fail with `States.DataLimitExceeded`.
    pub fn with_payload_limit(mut self, limit: Option<usize>) -> Self {
        self.payload_limit = limit;
        self
    }

    /// Changes the history size limit (`None`: no limit). An execution recording more events
    /// (not counting those of Distributed Map child workflows) fails with `States.Runtime`;
    /// this also stops endless loops.
    pub fn with_max_history_events(mut self, limit: Option<usize>) -> Self {
        self.max_history_events = limit;
        self
    }

    /// Runs `machine` on `input` to the end and returns the result with its full history.
    pub fn run(&self, machine: &StateMachine, input: Value, info: ExecutionInfo) -> Execution {
        self.run_with_abort(machine, input, info, &AbortHandle::new())
    }

    /// Like [`Interpreter::run`], stoppable from another thread through `abort`.
    pub fn run_with_abort(
        &self,
        machine: &StateMachine,
        input: Value,
        info: ExecutionInfo,
        abort: &AbortHandle,
    ) -> Execution {
        let start = self.clock.now();
        let start_text = clock::context_time(start);
        let deadline = machine
            .timeout_seconds
            .map(|s| clock::add(start, Duration::from_secs(s)));
        let region = info
            .state_machine_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or("local")
            .to_string();
        let base_context = json!({
            "Execution": {
                "Id": info.execution_arn,
                "Input": input,
                "Name": info.name,
                "RoleArn": info.role_arn,
                "StartTime": start_text,
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": info.state_machine_arn, "Name": info.state_machine_name},
        });
        let run = Run {
            interp: self,
            shared: abort.shared.clone(),
            history: Mutex::new(Recorded::default()),
            base_context,
            deadline,
            info: &info,
            region,
        };
        let mut last = 0;
        run.event(
            &mut last,
            true,
            "ExecutionStarted",
            json!({"executionStartedEventDetails": {
                "input": text(&input),
                "inputDetails": {"truncated": false},
                "roleArn": info.role_arn,
                "stateMachineArn": info.state_machine_arn,
            }}),
        );
        let root = Scope {
            cancel: run.shared.root.clone(),
            counted: true,
        };
        let outcome = match run.check_size(&input, "execution input") {
            Err(f) => Err(Stop::Failed(f)),
            Ok(()) => run.run_block(&machine.body, input, &root, &mut last),
        };
        let reason = lock(&run.shared.reason).clone();
        let (status, output, error, cause) = match (outcome, reason) {
            (Ok(v), None) => (ExecutionStatus::Succeeded, Some(v), None, None),
            (_, Some(StopReason::TimedOut)) => (
                ExecutionStatus::TimedOut,
                None,
                Some(names::TIMEOUT.to_string()),
                Some(format!(
                    "The execution exceeded its TimeoutSeconds of {} s",
                    machine.timeout_seconds.unwrap_or(0)
                )),
            ),
            (_, Some(StopReason::Aborted { error, cause })) => {
                (ExecutionStatus::Aborted, None, Some(error), Some(cause))
            }
            (_, Some(StopReason::Failed(f))) | (Err(Stop::Failed(f)), None) => (
                ExecutionStatus::Failed,
                None,
                (!f.error.is_empty()).then_some(f.error),
                (!f.cause.is_empty()).then_some(f.cause),
            ),
            (Err(Stop::Cancelled), None) => (
                ExecutionStatus::Aborted,
                None,
                None,
                Some("cancelled".to_string()),
            ),
        };
        let (kind, details) = match status {
            ExecutionStatus::Succeeded => (
                "ExecutionSucceeded",
                json!({"executionSucceededEventDetails": {
                    "output": output.as_ref().map(text).unwrap_or_default(),
                    "outputDetails": {"truncated": false},
                }}),
            ),
            ExecutionStatus::Failed => (
                "ExecutionFailed",
                json!({"executionFailedEventDetails": error_details(&error, &cause)}),
            ),
            ExecutionStatus::TimedOut => (
                "ExecutionTimedOut",
                json!({"executionTimedOutEventDetails": error_details(&error, &cause)}),
            ),
            ExecutionStatus::Aborted => (
                "ExecutionAborted",
                json!({"executionAbortedEventDetails": error_details(&error, &cause)}),
            ),
        };
        run.event(&mut last, false, kind, details);
        let stop = self.clock.now();
        let history = std::mem::take(&mut lock(&run.history).events);
        Execution {
            status,
            output,
            error,
            cause,
            start_date: start_text,
            stop_date: stop.to_string(),
            history,
        }
    }
}

fn error_details(error: &Option<String>, cause: &Option<String>) -> Value {
    let mut m = Map::new();
    if let Some(e) = error {
        m.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = cause {
        m.insert("cause".into(), Value::String(c.clone()));
    }
    Value::Object(m)
}

/// JSON text of a value (how Step Functions puts payloads into history events).
fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[derive(Default)]
struct Recorded {
    events: Vec<HistoryEvent>,
    counted: usize,
}

/// Why a block stopped without output.
#[derive(Debug)]
enum Stop {
    Failed(Failure),
    /// Cancelled from above: abort, execution timeout, or a failed sibling branch/iteration.
    Cancelled,
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Failed(f)
    }
}

#[derive(Clone)]
struct Scope {
    cancel: Arc<Cancel>,
    /// Whether events count toward the history limit (not inside Distributed Map children,
    /// which are separate executions in Step Functions).
    counted: bool,
}

enum WaitEnd {
    Done,
    Reached,
    Cancelled,
}

enum Invoked {
    Ok(Value),
    Failed(TaskFailure),
    TimedOut(Duration),
    Cancelled,
}

struct Run<'a> {
    interp: &'a Interpreter,
    shared: Arc<Shared>,
    history: Mutex<Recorded>,
    base_context: Value,
    deadline: Option<Timestamp>,
    info: &'a ExecutionInfo,
    region: String,
}

/// Counts bytes of serialized JSON without building the text.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn resource_parts(resource: &str) -> (String, String) {
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::")
        && let Some((ty, action)) = rest.rsplit_once(':')
    {
        return (ty.to_string(), action.to_string());
    }
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() > 5 && parts[0] == "arn" {
        let ty = if parts[2] == "states" {
            parts[5]
        } else {
            parts[2]
        };
        return (ty.to_string(), resource.to_string());
    }
    ("unknown".to_string(), resource.to_string())
}

impl Run<'_> {
    fn clock(&self) -> &dyn Clock {
        self.interp.clock.as_ref()
    }

    /// Records an event after `*last` and moves `*last` to it.
    fn event(&self, last: &mut u64, counted: bool, kind: &str, details: Value) -> u64 {
        let timestamp = self.clock().now().to_string();
        let mut h = lock(&self.history);
        let id = h.events.len() as u64 + 1;
        let ev = HistoryEvent {
            id,
            previous_event_id: *last,
            timestamp,
            kind: kind.to_string(),
            details,
        };
        if let Some(obs) = &self.interp.observer {
            obs(&ev);
        }
        h.events.push(ev);
        if counted {
            h.counted += 1;
            if let Some(max) = self.interp.max_history_events
                && h.counted > max
            {
                drop(h);
                self.shared
                    .stop(StopReason::Failed(Failure::runtime(format!(
                        "The execution reached the limit of {max} history events"
                    ))));
            }
        }
        *last = id;
        id
    }

    fn check_size(&self, v: &Value, what: &str) -> Result<(), Failure> {
        let Some(limit) = self.interp.payload_limit else {
            return Ok(());
        };
        let mut c = ByteCounter(0);
        if serde_json::to_writer(&mut c, v).is_err() {
            return Ok(());
        }
        if c.0 > limit {
            return Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The {what} has {} bytes, more than the limit of {limit} bytes",
                    c.0
                ),
            ));
        }
        Ok(())
    }

    /// Waits until `done()` holds, `until` passes (on the clock), or the scope is cancelled.
    /// Reaching the execution deadline stops the whole execution as timed out. `external` says
    /// that `done` depends on another thread (a task handler): with a clock that only moves in
    /// `sleep`, such waits take no clock time, so they neither sleep the clock nor time out.
    fn wait(
        &self,
        until: Option<Timestamp>,
        cancel: &Cancel,
        external: bool,
        done: &dyn Fn() -> bool,
    ) -> WaitEnd {
        loop {
            let guard = lock(&self.shared.lock);
            if done() {
                return WaitEnd::Done;
            }
            if cancel.is_cancelled() {
                return WaitEnd::Cancelled;
            }
            let now = self.clock().now();
            if self.deadline.is_some_and(|d| now >= d) {
                drop(guard);
                self.shared.stop(StopReason::TimedOut);
                return WaitEnd::Cancelled;
            }
            if until.is_some_and(|u| now >= u) {
                return WaitEnd::Reached;
            }
            let limit = match (until, self.deadline) {
                (Some(u), Some(d)) => Some(u.min(d)),
                (u, d) => u.or(d),
            };
            match limit {
                None => {
                    let _g = self
                        .shared
                        .cv
                        .wait(guard)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Some(l) => {
                    let virt = clock::until(now, l);
                    match self.clock().real_duration(virt) {
                        Some(real) => {
                            // Bounded so that huge waits never reach platform limits; the loop
                            // simply waits again.
                            let real =
                                real.clamp(Duration::from_micros(1), Duration::from_secs(86_400));
                            let _g = self
                                .shared
                                .cv
                                .wait_timeout(guard, real)
                                .unwrap_or_else(|e| e.into_inner());
                        }
                        None if external => {
                            let _g = self
                                .shared
                                .cv
                                .wait(guard)
                                .unwrap_or_else(|e| e.into_inner());
                        }
                        None => {
                            drop(guard);
                            self.clock().sleep(virt);
                        }
                    }
                }
            }
        }
    }

    /// Sleeps `d` of clock time; `false` if cancelled meanwhile.
    fn sleep(&self, d: Duration, cancel: &Cancel) -> bool {
        let until = clock::add(self.clock().now(), d);
        matches!(
            self.wait(Some(until), cancel, false, &|| false),
            WaitEnd::Reached
        )
    }

    fn state_context(&self, name: &str, entered: &str, retry_count: u64) -> Value {
        let mut ctx = self.base_context.clone();
        if let Value::Object(m) = &mut ctx {
            m.insert(
                "State".into(),
                json!({"EnteredTime": entered, "Name": name, "RetryCount": retry_count}),
            );
        }
        ctx
    }

    fn run_block(
        &self,
        block: &Block,
        input: Value,
        scope: &Scope,
        last: &mut u64,
    ) -> Result<Value, Stop> {
        let mut name = block.start_at.as_str();
        let mut input = input;
        loop {
            if scope.cancel.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            if self.deadline.is_some_and(|d| self.clock().now() >= d) {
                self.shared.stop(StopReason::TimedOut);
                return Err(Stop::Cancelled);
            }
            let Some(state) = block.states.get(name) else {
                return Err(Stop::Failed(Failure::runtime(format!(
                    "no state named '{name}'"
                ))));
            };
            let ty = state.type_name();
            let entered = clock::context_time(self.clock().now());
            self.event(
                last,
                scope.counted,
                &format!("{ty}StateEntered"),
                json!({"stateEnteredEventDetails": {
                    "name": name,
                    "input": text(&input),
                    "inputDetails": {"truncated": false},
                }}),
            );
            match self.run_state(name, state, input, &entered, scope, last) {
                Ok((output, next)) => {
                    if let Err(f) = self.check_size(&output, &format!("output of state '{name}'")) {
                        return Err(Stop::Failed(f));
                    }
                    self.event(
                        last,
                        scope.counted,
                        &format!("{ty}StateExited"),
                        json!({"stateExitedEventDetails": {
                            "name": name,
                            "output": text(&output),
                            "outputDetails": {"truncated": false},
                        }}),
                    );
                    match next {
                        Some(n) => {
                            name = n;
                            input = output;
                        }
                        None => return Ok(output),
                    }
                }
                Err(Stop::Cancelled) => {
                    if matches!(ty, "Task" | "Wait" | "Map" | "Parallel") {
                        self.event(last, scope.counted, &format!("{ty}StateAborted"), json!({}));
                    }
                    return Err(Stop::Cancelled);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn input_path(&self, p: &IoPath, raw: &Value, ctx: &Value) -> Result<Value, Failure> {
        match p {
            IoPath::Identity => Ok(raw.clone()),
            IoPath::Null => Ok(json!({})),
            IoPath::Path(path) => path.select(raw, ctx).ok_or_else(|| {
                Failure::runtime(format!(
                    "Invalid path '{}': The path could not be found in the input '{}'",
                    path.text(),
                    text(raw)
                ))
            }),
        }
    }

    fn output_path(&self, p: &IoPath, out: Value, ctx: &Value) -> Result<Value, Failure> {
        match p {
            IoPath::Identity => Ok(out),
            IoPath::Null => Ok(json!({})),
            IoPath::Path(path) => path.select(&out, ctx).ok_or_else(|| {
                Failure::runtime(format!(
                    "Invalid path '{}': The OutputPath could not be found in the output '{}'",
                    path.text(),
                    text(&out)
                ))
            }),
        }
    }

    fn result_path(&self, p: &ResultPath, raw: &Value, result: Value) -> Result<Value, Failure> {
        match p {
            ResultPath::Replace => Ok(result),
            ResultPath::Discard => Ok(raw.clone()),
            ResultPath::At(steps, path_text) => {
                let mut out = raw.clone();
                set_at(&mut out, steps, result).map_err(|e| {
                    Failure::new(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!(
                            "Unable to apply ResultPath '{path_text}' to the input '{}': {e}",
                            text(raw)
                        ),
                    )
                })?;
                Ok(out)
            }
        }
    }

    /// Resolves a number given directly or through a path on `input`.
    fn dynamic(&self, d: &Dynamic, input: &Value, ctx: &Value, what: &str) -> Result<f64, Failure> {
        match d {
            Dynamic::Value(v) => Ok(*v),
            Dynamic::Path(p) => {
                let v = p.select(input, ctx).ok_or_else(|| {
                    Failure::runtime(format!(
                        "{what}: the path '{}' was not found in the input",
                        p.text()
                    ))
                })?;
                match as_integer(&v) {
                    Some(n) if n >= 0 => Ok(n as f64),
                    _ => match v.as_f64() {
                        Some(f) if f >= 0.0 => Ok(f),
                        _ => Err(Failure::runtime(format!(
                            "{what}: the path '{}' must point to a non-negative number, found {v}",
                            p.text()
                        ))),
                    },
                }
            }
        }
    }

    fn run_state<'b>(
        &self,
        name: &str,
        state: &'b State,
        raw: Value,
        entered: &str,
        scope: &Scope,
        last: &mut u64,
    ) -> Result<(Value, Option<&'b str>), Stop> {
        let next_of = |t: &'b Transition| match t {
            Transition::Next(n) => Some(n.as_str()),
            Transition::End => None,
        };
        let ctx = self.state_context(name, entered, 0);
        match &state.kind {
            Kind::Pass {
                parameters,
                result,
                result_path,
                transition,
            } => {
                let eff = self.input_path(&state.input_path, &raw, &ctx)?;
                let res = match (result, parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(t)) => t.apply(&eff, &ctx)?,
                    (None, None) => eff,
                };
                let out = self.result_path(result_path, &raw, res)?;
                let out = self.output_path(&state.output_path, out, &ctx)?;
                Ok((out, next_of(transition)))
            }
            Kind::Succeed => {
                let eff = self.input_path(&state.input_path, &raw, &ctx)?;
                Ok((self.output_path(&state.output_path, eff, &ctx)?, None))
            }
            Kind::Fail { error, cause } => {
                let resolve = |t: &Option<Text>, what: &str| -> Result<String, Failure> {
                    match t {
                        None => Ok(String::new()),
                        Some(Text::Literal(s)) => Ok(s.clone()),
                        Some(Text::Path(p)) => match p.select(&raw, &ctx) {
                            Some(Value::String(s)) => Ok(s),
                            Some(v) => Err(Failure::runtime(format!(
                                "{what}Path '{}' must point to a string, found {}",
                                p.text(),
                                type_name(&v)
                            ))),
                            None => Err(Failure::runtime(format!(
                                "{what}Path '{}' was not found in the input",
                                p.text()
                            ))),
                        },
                        Some(Text::Call(c)) => match c.eval(&raw, &ctx) {
                            Ok(Value::String(s)) => Ok(s),
                            Ok(v) => Err(Failure::runtime(format!(
                                "{what}Path must give a string, the intrinsic gave {}",
                                type_name(&v)
                            ))),
                            Err(e) => Err(Failure::new(names::INTRINSIC_FAILURE, e)),
                        },
                    }
                };
                let error = resolve(error, "Error")?;
                let cause = resolve(cause, "Cause")?;
                Err(Stop::Failed(Failure::new(error, cause)))
            }
            Kind::Choice { choices, default } => {
                let eff = self.input_path(&state.input_path, &raw, &ctx)?;
                let mut next = None;
                for (rule, target) in choices {
                    if rule.eval(&eff, &ctx)? {
                        next = Some(target.as_str());
                        break;
                    }
                }
                let next = match (next, default) {
                    (Some(n), _) => n,
                    (None, Some(d)) => d.as_str(),
                    (None, None) => {
                        return Err(Stop::Failed(Failure::new(
                            names::NO_CHOICE_MATCHED,
                            format!(
                                "No choice rule of state '{name}' matched and it has no Default"
                            ),
                        )));
                    }
                };
                let out = self.output_path(&state.output_path, eff, &ctx)?;
                Ok((out, Some(next)))
            }
            Kind::Wait { wait, transition } => {
                let eff = self.input_path(&state.input_path, &raw, &ctx)?;
                let until = match wait {
                    WaitFor::Seconds(s) => clock::add(self.clock().now(), Duration::from_secs(*s)),
                    WaitFor::Timestamp(ts) => *ts,
                    WaitFor::SecondsPath(p) => {
                        let v = p.select(&eff, &ctx);
                        match v.as_ref().and_then(as_integer) {
                            Some(n) if n >= 0 => {
                                clock::add(self.clock().now(), Duration::from_secs(n as u64))
                            }
                            _ => {
                                return Err(Stop::Failed(Failure::runtime(format!(
                                    "The SecondsPath '{}' must point to a non-negative integer, found {}",
                                    p.text(),
                                    v.map_or("nothing".to_string(), |v| v.to_string())
                                ))));
                            }
                        }
                    }
                    WaitFor::TimestampPath(p) => {
                        let v = p.select(&eff, &ctx);
                        match v
                            .as_ref()
                            .and_then(Value::as_str)
                            .and_then(crate::choice::parse_ts)
                        {
                            Some(ts) => ts,
                            None => {
                                return Err(Stop::Failed(Failure::runtime(format!(
                                    "The TimestampPath '{}' must point to an RFC 3339 timestamp, found {}",
                                    p.text(),
                                    v.map_or("nothing".to_string(), |v| v.to_string())
                                ))));
                            }
                        }
                    }
                };
                match self.wait(Some(until), &scope.cancel, false, &|| false) {
                    WaitEnd::Reached | WaitEnd::Done => {}
                    WaitEnd::Cancelled => return Err(Stop::Cancelled),
                }
                let out = self.output_path(&state.output_path, eff, &ctx)?;
                Ok((out, next_of(transition)))
            }
            Kind::Task(t) => {
                let (out, caught) = self.with_retry(
                    name,
                    &t.retry,
                    &t.catch,
                    &raw,
                    scope,
                    last,
                    |retry, last| {
                        let ctx = self.state_context(name, entered, retry);
                        self.task_attempt(name, t, state, &raw, &ctx, scope, last)
                    },
                )?;
                Ok((out, caught.or_else(|| next_of(&t.transition))))
            }
            Kind::Parallel(p) => {
                let (out, caught) = self.with_retry(
                    name,
                    &p.retry,
                    &p.catch,
                    &raw,
                    scope,
                    last,
                    |retry, last| {
                        let ctx = self.state_context(name, entered, retry);
                        self.parallel_attempt(p, state, &raw, &ctx, scope, last)
                    },
                )?;
                Ok((out, caught.or_else(|| next_of(&p.transition))))
            }
            Kind::Map(m) => {
                let (out, caught) = self.with_retry(
                    name,
                    &m.retry,
                    &m.catch,
                    &raw,
                    scope,
                    last,
                    |retry, last| {
                        let ctx = self.state_context(name, entered, retry);
                        self.map_attempt(name, m, state, &raw, &ctx, scope, last)
                    },
                )?;
                Ok((out, caught.or_else(|| next_of(&m.transition))))
            }
        }
    }

    /// Runs `attempt` under the state's Retry and Catch rules. Returns the output and, when a
    /// catcher handled a failure, the catcher's `Next`.
    #[allow(clippy::too_many_arguments)]
    fn with_retry<'c>(
        &self,
        name: &str,
        retry: &[Retrier],
        catch: &'c [Catcher],
        raw: &Value,
        scope: &Scope,
        last: &mut u64,
        mut attempt: impl FnMut(u64, &mut u64) -> Result<Value, Stop>,
    ) -> Result<(Value, Option<&'c str>), Stop> {
        let mut counts = vec![0u64; retry.len()];
        let mut retry_count = 0u64;
        loop {
            let failure = match attempt(retry_count, last) {
                Ok(v) => return Ok((v, None)),
                Err(Stop::Cancelled) => return Err(Stop::Cancelled),
                Err(Stop::Failed(f)) => f,
            };
            // Only the first retrier that matches applies, even when its attempts are used up.
            if let Some(i) = retry
                .iter()
                .position(|r| r.errors.iter().any(|e| failure.matches(e)))
            {
                let r = &retry[i];
                if counts[i] < r.max_attempts {
                    let mut delay = r.interval_seconds * r.backoff_rate.powf(counts[i] as f64);
                    if let Some(max) = r.max_delay_seconds {
                        delay = delay.min(max);
                    }
                    if r.jitter_full {
                        delay *= random::with_rng(|g| g.next_f64());
                    }
                    counts[i] += 1;
                    retry_count += 1;
                    let delay = Duration::try_from_secs_f64(delay).unwrap_or(Duration::MAX);
                    if !self.sleep(delay, &scope.cancel) {
                        return Err(Stop::Cancelled);
                    }
                    continue;
                }
            }
            if let Some(c) = catch
                .iter()
                .find(|c| c.errors.iter().any(|e| failure.matches(e)))
            {
                let err = json!({"Error": failure.error, "Cause": failure.cause});
                let out = self
                    .result_path(&c.result_path, raw, err)
                    .map_err(|mut f| {
                        f.cause = format!("in the Catch of state '{name}': {}", f.cause);
                        f
                    })?;
                return Ok((out, Some(c.next.as_str())));
            }
            return Err(Stop::Failed(failure));
        }
    }

    /// Calls the handler on a thread of its own and waits for it, the timeout, or cancellation.
    fn invoke(&self, call: TaskCall, timeout: Option<Duration>, scope: &Scope) -> Invoked {
        type Slot = Arc<Mutex<Option<Result<Value, TaskFailure>>>>;
        let slot: Slot = Arc::new(Mutex::new(None));
        let handler = self.interp.handler.clone();
        let shared = self.shared.clone();
        let worker_slot = slot.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("asl-task-{}", call.state_name))
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| handler.invoke(&call)))
                    .unwrap_or_else(|panic| {
                        let msg = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        Err(TaskFailure::new(
                            names::TASK_FAILED,
                            format!("the task handler panicked: {msg}"),
                        ))
                    });
                *lock(&worker_slot) = Some(result);
                shared.notify();
            });
        if let Err(e) = spawned {
            return Invoked::Failed(TaskFailure::new(
                names::TASK_FAILED,
                format!("could not start a thread for the task: {e}"),
            ));
        }
        let until = timeout.map(|d| clock::add(self.clock().now(), d));
        match self.wait(until, &scope.cancel, true, &|| lock(&slot).is_some()) {
            WaitEnd::Done => match lock(&slot).take() {
                Some(Ok(v)) => Invoked::Ok(v),
                Some(Err(f)) => Invoked::Failed(f),
                None => Invoked::Cancelled,
            },
            WaitEnd::Reached => Invoked::TimedOut(timeout.unwrap_or_default()),
            WaitEnd::Cancelled => Invoked::Cancelled,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn task_attempt(
        &self,
        name: &str,
        t: &TaskDef,
        state: &State,
        raw: &Value,
        ctx: &Value,
        scope: &Scope,
        last: &mut u64,
    ) -> Result<Value, Stop> {
        // The callback token must exist before Parameters, which usually pass it on.
        let mut context = ctx.clone();
        if t.resource.ends_with(".waitForTaskToken")
            && let Value::Object(m) = &mut context
        {
            m.insert("Task".into(), json!({"Token": random::uuid_v4()}));
        }
        let ctx = &context;
        let eff = self.input_path(&state.input_path, raw, ctx)?;
        let params = match &t.parameters {
            Some(tpl) => tpl.apply(&eff, ctx)?,
            None => eff.clone(),
        };
        self.check_size(&params, &format!("input of task '{name}'"))?;
        let secs = |d: &Option<Dynamic>, what: &str| -> Result<Option<f64>, Failure> {
            match d {
                None => Ok(None),
                Some(d) => match self.dynamic(d, &eff, ctx, what)? {
                    s if s > 0.0 => Ok(Some(s)),
                    _ => Err(Failure::runtime(format!("{what} must be positive"))),
                },
            }
        };
        let timeout = secs(&t.timeout, "TimeoutSecondsPath")?;
        let heartbeat = secs(&t.heartbeat, "HeartbeatSecondsPath")?;
        let (rtype, rname) = resource_parts(&t.resource);
        let mut scheduled = json!({
            "resourceType": rtype,
            "resource": rname,
            "region": self.region,
            "parameters": text(&params),
        });
        if let Value::Object(m) = &mut scheduled {
            if let Some(s) = timeout {
                m.insert("timeoutInSeconds".into(), json!(s as u64));
            }
            if let Some(s) = heartbeat {
                m.insert("heartbeatInSeconds".into(), json!(s as u64));
            }
        }
        self.event(
            last,
            scope.counted,
            "TaskScheduled",
            json!({"taskScheduledEventDetails": scheduled}),
        );
        self.event(
            last,
            scope.counted,
            "TaskStarted",
            json!({"taskStartedEventDetails": {"resourceType": rtype, "resource": rname}}),
        );
        let timeout = timeout.map(|s| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX));
        let call = TaskCall {
            resource: t.resource.clone(),
            input: params,
            state_name: name.to_string(),
            context: context.clone(),
            timeout,
            heartbeat: heartbeat.map(|s| Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)),
            purpose: CallPurpose::Task,
        };
        let result = match self.invoke(call, timeout, scope) {
            Invoked::Ok(v) => {
                self.event(
                    last,
                    scope.counted,
                    "TaskSucceeded",
                    json!({"taskSucceededEventDetails": {
                        "resourceType": rtype,
                        "resource": rname,
                        "output": text(&v),
                        "outputDetails": {"truncated": false},
                    }}),
                );
                v
            }
            Invoked::Failed(f) => {
                let error = if f.error.is_empty() {
                    names::TASK_FAILED.to_string()
                } else {
                    f.error
                };
                self.event(
                    last,
                    scope.counted,
                    "TaskFailed",
                    json!({"taskFailedEventDetails": {
                        "resourceType": rtype,
                        "resource": rname,
                        "error": error,
                        "cause": f.cause,
                    }}),
                );
                return Err(Stop::Failed(Failure::new(error, f.cause)));
            }
            Invoked::TimedOut(d) => {
                let cause = format!(
                    "The task did not finish within its TimeoutSeconds of {} s",
                    d.as_secs_f64()
                );
                self.event(
                    last,
                    scope.counted,
                    "TaskTimedOut",
                    json!({"taskTimedOutEventDetails": {
                        "resourceType": rtype,
                        "resource": rname,
                        "error": names::TIMEOUT,
                        "cause": cause,
                    }}),
                );
                return Err(Stop::Failed(Failure::new(names::TIMEOUT, cause)));
            }
            Invoked::Cancelled => return Err(Stop::Cancelled),
        };
        self.check_size(&result, &format!("result of task '{name}'"))?;
        let selected = match &t.result_selector {
            Some(tpl) => tpl.apply(&result, ctx)?,
            None => result,
        };
        let out = self.result_path(&t.result_path, raw, selected)?;
        Ok(self.output_path(&state.output_path, out, ctx)?)
    }

    fn parallel_attempt(
        &self,
        p: &ParallelDef,
        state: &State,
        raw: &Value,
        ctx: &Value,
        scope: &Scope,
        last: &mut u64,
    ) -> Result<Value, Stop> {
        let eff = self.input_path(&state.input_path, raw, ctx)?;
        let input = match &p.parameters {
            Some(tpl) => tpl.apply(&eff, ctx)?,
            None => eff,
        };
        let started = self.event(last, scope.counted, "ParallelStateStarted", json!({}));
        let child = Scope {
            cancel: Cancel::child(&scope.cancel),
            counted: scope.counted,
        };
        let first_failure: Mutex<Option<Failure>> = Mutex::new(None);
        let results: Vec<Option<Result<Value, Stop>>> = std::thread::scope(|s| {
            let mut handles = Vec::with_capacity(p.branches.len());
            for (i, branch) in p.branches.iter().enumerate() {
                let bchild = child.clone();
                let input = input.clone();
                let first_failure = &first_failure;
                let h = std::thread::Builder::new()
                    .name(format!("asl-branch-{i}"))
                    .spawn_scoped(s, move || {
                        let mut blast = started;
                        let r = self.run_block(branch, input, &bchild, &mut blast);
                        if let Err(Stop::Failed(f)) = &r {
                            let mut ff = lock(first_failure);
                            if ff.is_none() {
                                *ff = Some(f.clone());
                            }
                            drop(ff);
                            self.shared.cancel(&bchild.cancel);
                        }
                        (r, blast)
                    });
                match h {
                    Ok(h) => handles.push(Some(h)),
                    Err(e) => {
                        let mut ff = lock(first_failure);
                        if ff.is_none() {
                            *ff = Some(Failure::runtime(format!(
                                "could not start a branch thread: {e}"
                            )));
                        }
                        drop(ff);
                        self.shared.cancel(&child.cancel);
                        handles.push(None);
                    }
                }
            }
            handles
                .into_iter()
                .map(|h| {
                    h.and_then(|h| h.join().ok()).map(|(r, blast)| {
                        *last = (*last).max(blast);
                        r
                    })
                })
                .collect()
        });
        if scope.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        if let Some(mut f) = lock(&first_failure).take() {
            self.event(
                last,
                scope.counted,
                "ParallelStateFailed",
                json!({"parallelStateFailedEventDetails": {"error": f.error, "cause": f.cause}}),
            );
            f.from_branch = true;
            return Err(Stop::Failed(f));
        }
        let mut outputs = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Some(Ok(v)) => outputs.push(v),
                _ => {
                    return Err(Stop::Failed(Failure::runtime(
                        "a Parallel branch ended without a result",
                    )));
                }
            }
        }
        self.event(last, scope.counted, "ParallelStateSucceeded", json!({}));
        let result = Value::Array(outputs);
        let selected = match &p.result_selector {
            Some(tpl) => tpl.apply(&result, ctx)?,
            None => result,
        };
        let out = self.result_path(&p.result_path, raw, selected)?;
        Ok(self.output_path(&state.output_path, out, ctx)?)
    }

    /// Calls the handler for an ItemReader/ResultWriter; failures get `error_name`.
    #[allow(clippy::too_many_arguments)]
    fn helper_call(
        &self,
        name: &str,
        resource: &str,
        input: Value,
        ctx: &Value,
        purpose: CallPurpose,
        error_name: &str,
        scope: &Scope,
    ) -> Result<Value, Stop> {
        let call = TaskCall {
            resource: resource.to_string(),
            input,
            state_name: name.to_string(),
            context: ctx.clone(),
            timeout: None,
            heartbeat: None,
            purpose,
        };
        match self.invoke(call, None, scope) {
            Invoked::Ok(v) => Ok(v),
            Invoked::Failed(f) => Err(Stop::Failed(Failure::new(
                error_name,
                format!("{}: {}", f.error, f.cause),
            ))),
            Invoked::TimedOut(_) | Invoked::Cancelled => Err(Stop::Cancelled),
        }
    }

    fn batches(
        &self,
        b: &ItemBatcherDef,
        items: Vec<Value>,
        eff: &Value,
        ctx: &Value,
    ) -> Result<Vec<Value>, Failure> {
        let max_items = match &b.max_items {
            Some(d) => Some(self.dynamic(d, eff, ctx, "MaxItemsPerBatchPath")? as usize),
            None => None,
        }
        .filter(|n| *n > 0);
        let max_bytes = match &b.max_bytes {
            Some(d) => Some(self.dynamic(d, eff, ctx, "MaxInputBytesPerBatchPath")? as usize),
            None => None,
        }
        .filter(|n| *n > 0);
        let batch_input = match &b.batch_input {
            Some(t) => Some(t.apply(eff, ctx)?),
            None => None,
        };
        let mut out = Vec::new();
        let mut current: Vec<Value> = Vec::new();
        let mut current_bytes = 0usize;
        let flush = |current: &mut Vec<Value>, out: &mut Vec<Value>| {
            if current.is_empty() {
                return;
            }
            let mut m = Map::new();
            m.insert("Items".into(), Value::Array(std::mem::take(current)));
            if let Some(bi) = &batch_input {
                m.insert("BatchInput".into(), bi.clone());
            }
            out.push(Value::Object(m));
        };
        for item in items {
            let size = {
                let mut c = ByteCounter(0);
                serde_json::to_writer(&mut c, &item)
                    .map(|_| c.0)
                    .unwrap_or(0)
            };
            let full_by_count = max_items.is_some_and(|n| current.len() >= n);
            let full_by_bytes =
                max_bytes.is_some_and(|n| !current.is_empty() && current_bytes + size > n);
            if full_by_count || full_by_bytes {
                flush(&mut current, &mut out);
                current_bytes = 0;
            }
            current_bytes += size;
            current.push(item);
        }
        flush(&mut current, &mut out);
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn map_attempt(
        &self,
        name: &str,
        m: &MapDef,
        state: &State,
        raw: &Value,
        ctx: &Value,
        scope: &Scope,
        last: &mut u64,
    ) -> Result<Value, Stop> {
        let eff = self.input_path(&state.input_path, raw, ctx)?;
        let items = if let Some(reader) = &m.item_reader {
            let params = match &reader.parameters {
                Some(t) => t.apply(&eff, ctx)?,
                None => json!({}),
            };
            let got = self.helper_call(
                name,
                &reader.resource,
                params,
                ctx,
                CallPurpose::ItemReader {
                    reader_config: reader.reader_config.clone(),
                },
                names::ITEM_READER_FAILED,
                scope,
            )?;
            let Value::Array(mut items) = got else {
                return Err(Stop::Failed(Failure::new(
                    names::ITEM_READER_FAILED,
                    format!(
                        "the ItemReader returned {}, not an array of items",
                        type_name(&got)
                    ),
                )));
            };
            if let Some(d) = &reader.max_items {
                let max = self.dynamic(d, &eff, ctx, "MaxItemsPath")? as usize;
                if max > 0 {
                    items.truncate(max);
                }
            }
            items
        } else {
            let found = match &m.items_path {
                Some(p) => p.select(&eff, ctx).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The ItemsPath '{}' was not found in the input '{}'",
                        p.text(),
                        text(&eff)
                    ))
                })?,
                None => eff.clone(),
            };
            match found {
                Value::Array(a) => a,
                other => {
                    return Err(Stop::Failed(Failure::runtime(format!(
                        "The ItemsPath of state '{name}' must point to an array, found {}",
                        type_name(&other)
                    ))));
                }
            }
        };
        let max_concurrency = match &m.max_concurrency {
            Some(d) => self.dynamic(d, &eff, ctx, "MaxConcurrencyPath")? as usize,
            None => 0,
        };
        let tolerated_pct = match &m.tolerated_percentage {
            Some(d) => Some(self.dynamic(d, &eff, ctx, "ToleratedFailurePercentagePath")?),
            None => None,
        };
        let tolerated_count = match &m.tolerated_count {
            Some(d) => Some(self.dynamic(d, &eff, ctx, "ToleratedFailureCountPath")?),
            None => None,
        };
        let tolerant = m.distributed || tolerated_pct.is_some() || tolerated_count.is_some();

        let mut selected = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            selected.push(match &m.item_selector {
                Some(t) => {
                    let mut ictx = ctx.clone();
                    if let Value::Object(cm) = &mut ictx {
                        cm.insert("Map".into(), json!({"Item": {"Index": i, "Value": item}}));
                    }
                    t.apply(&eff, &ictx)?
                }
                None => item,
            });
        }
        let units = match &m.item_batcher {
            Some(b) => self.batches(b, selected, &eff, ctx)?,
            None => selected,
        };
        let n = units.len();
        let map_run_arn = m.distributed.then(|| {
            let base = self
                .info
                .state_machine_arn
                .replacen(":stateMachine:", ":mapRun:", 1);
            format!(
                "{base}/{}:{}",
                m.label.as_deref().unwrap_or(name),
                random::uuid_v4()
            )
        });
        let started = match &map_run_arn {
            Some(arn) => self.event(
                last,
                scope.counted,
                "MapRunStarted",
                json!({"mapRunStartedEventDetails": {"mapRunArn": arn}}),
            ),
            None => self.event(
                last,
                scope.counted,
                "MapStateStarted",
                json!({"mapStateStartedEventDetails": {"length": n}}),
            ),
        };
        let workers = match max_concurrency {
            0 if m.distributed => DISTRIBUTED_UNBOUNDED_CONCURRENCY,
            0 => INLINE_UNBOUNDED_CONCURRENCY,
            c => c,
        }
        .min(n);
        let child = Scope {
            cancel: Cancel::child(&scope.cancel),
            counted: scope.counted && !m.distributed,
        };
        let next_index = AtomicUsize::new(0);
        let failed_count = AtomicUsize::new(0);
        let fatal: Mutex<Option<Failure>> = Mutex::new(None);
        let results: Vec<Mutex<Option<Result<Value, Failure>>>> =
            (0..n).map(|_| Mutex::new(None)).collect();
        let set_fatal = |f: Failure| {
            let mut g = lock(&fatal);
            if g.is_none() {
                *g = Some(f);
            }
            drop(g);
            self.shared.cancel(&child.cancel);
        };
        let exceeds = |failed: usize| -> bool {
            let over_count = tolerated_count.is_none_or(|c| failed as f64 > c);
            let over_pct =
                tolerated_pct.is_none_or(|p| (failed as f64) * 100.0 / (n.max(1) as f64) > p);
            // With both limits set, exceeding either fails the Map; with one set, only it counts.
            match (tolerated_count.is_some(), tolerated_pct.is_some()) {
                (true, true) => over_count || over_pct,
                _ => over_count && over_pct,
            }
        };
        let worker_last = Mutex::new(started);
        std::thread::scope(|s| {
            for w in 0..workers {
                let child = child.clone();
                let units = &units;
                let results = &results;
                let next_index = &next_index;
                let failed_count = &failed_count;
                let set_fatal = &set_fatal;
                let exceeds = &exceeds;
                let worker_last = &worker_last;
                let spawned = std::thread::Builder::new()
                    .name(format!("asl-map-{w}"))
                    .spawn_scoped(s, move || {
                        loop {
                            if child.cancel.is_cancelled() {
                                break;
                            }
                            let i = next_index.fetch_add(1, Ordering::SeqCst);
                            if i >= n {
                                break;
                            }
                            let mut ilast = started;
                            let idetails = json!({"name": name, "index": i});
                            self.event(
                                &mut ilast,
                                child.counted,
                                "MapIterationStarted",
                                json!({"mapIterationStartedEventDetails": idetails}),
                            );
                            let r = self.run_block(&m.processor, units[i].clone(), &child, &mut ilast);
                            match r {
                                Ok(v) => {
                                    self.event(
                                        &mut ilast,
                                        child.counted,
                                        "MapIterationSucceeded",
                                        json!({"mapIterationSucceededEventDetails": idetails}),
                                    );
                                    *lock(&results[i]) = Some(Ok(v));
                                }
                                Err(Stop::Failed(f)) => {
                                    self.event(
                                        &mut ilast,
                                        child.counted,
                                        "MapIterationFailed",
                                        json!({"mapIterationFailedEventDetails": idetails}),
                                    );
                                    let failed = failed_count.fetch_add(1, Ordering::SeqCst) + 1;
                                    if !tolerant {
                                        set_fatal(f.clone());
                                    } else if exceeds(failed) {
                                        set_fatal(Failure::new(
                                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                            format!(
                                                "{failed} of {n} items failed, more than the Map state '{name}' tolerates; last error {}: {}",
                                                f.error, f.cause
                                            ),
                                        ));
                                    }
                                    *lock(&results[i]) = Some(Err(f));
                                }
                                Err(Stop::Cancelled) => {
                                    self.event(
                                        &mut ilast,
                                        child.counted,
                                        "MapIterationAborted",
                                        json!({"mapIterationAbortedEventDetails": idetails}),
                                    );
                                }
                            }
                            let mut wl = lock(worker_last);
                            *wl = (*wl).max(ilast);
                        }
                    });
                if let Err(e) = spawned {
                    set_fatal(Failure::runtime(format!(
                        "could not start a Map worker thread: {e}"
                    )));
                    break;
                }
            }
        });
        *last = (*last).max(*lock(&worker_last));
        if scope.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let (failed_kind, ok_kind) = if m.distributed {
            ("MapRunFailed", "MapRunSucceeded")
        } else {
            ("MapStateFailed", "MapStateSucceeded")
        };
        if let Some(mut f) = lock(&fatal).take() {
            let key = if m.distributed {
                "mapRunFailedEventDetails"
            } else {
                "mapStateFailedEventDetails"
            };
            self.event(
                last,
                scope.counted,
                failed_kind,
                json!({ key: {"error": f.error, "cause": f.cause} }),
            );
            f.from_branch = true;
            return Err(Stop::Failed(f));
        }
        self.event(last, scope.counted, ok_kind, json!({}));
        let mut outputs = Vec::with_capacity(n);
        let mut records = Vec::new();
        for (i, slot) in results.into_iter().enumerate() {
            let r = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            let (v, record) = match r {
                Some(Ok(v)) => {
                    let rec =
                        json!({"Index": i, "Status": "SUCCEEDED", "Input": units[i], "Output": v});
                    (v, rec)
                }
                Some(Err(f)) => {
                    let v = json!({"Error": f.error, "Cause": f.cause});
                    let rec = json!({"Index": i, "Status": "FAILED", "Input": units[i], "Error": f.error, "Cause": f.cause});
                    (v, rec)
                }
                None => {
                    return Err(Stop::Failed(Failure::runtime(format!(
                        "Map iteration {i} of state '{name}' ended without a result"
                    ))));
                }
            };
            outputs.push(v);
            if m.result_writer.is_some() {
                records.push(record);
            }
        }
        let result = match &m.result_writer {
            Some(w) => {
                let params = match &w.parameters {
                    Some(t) => t.apply(&eff, ctx)?,
                    None => json!({}),
                };
                let details = self.helper_call(
                    name,
                    &w.resource,
                    params,
                    ctx,
                    CallPurpose::ResultWriter {
                        writer_config: w.writer_config.clone(),
                        results: records,
                    },
                    names::RESULT_WRITER_FAILED,
                    scope,
                )?;
                json!({"MapRunArn": map_run_arn, "ResultWriterDetails": details})
            }
            None => Value::Array(outputs),
        };
        let selected = match &m.result_selector {
            Some(tpl) => tpl.apply(&result, ctx)?,
            None => result,
        };
        let out = self.result_path(&m.result_path, raw, selected)?;
        Ok(self.output_path(&state.output_path, out, ctx)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_are_split_like_step_functions() {
        assert_eq!(
            resource_parts("arn:aws:states:::batch:submitJob.sync"),
            ("batch".to_string(), "submitJob.sync".to_string())
        );
        assert_eq!(
            resource_parts("arn:aws:states:::aws-sdk:s3:listObjectsV2"),
            ("aws-sdk:s3".to_string(), "listObjectsV2".to_string())
        );
        let l = "arn:aws:lambda:eu-west-1:123456789012:function:f";
        assert_eq!(resource_parts(l), ("lambda".to_string(), l.to_string()));
        let a = "arn:aws:states:eu-west-1:123456789012:activity:act";
        assert_eq!(resource_parts(a), ("activity".to_string(), a.to_string()));
        assert_eq!(resource_parts("local:thing").0, "unknown");
    }

    #[test]
    fn local_execution_info_has_consistent_arns() {
        let i = ExecutionInfo::local("scan", "run-1");
        assert!(i.execution_arn.ends_with(":execution:scan:run-1"));
        assert!(i.state_machine_arn.ends_with(":stateMachine:scan"));
        assert_eq!(i.name, "run-1");
    }
}
