//! Helpers shared by the integration tests.
#![allow(dead_code)]

use asl::{
    Clock, Execution, ExecutionInfo, Interpreter, StateMachine, TaskCall, TaskFailure, TaskHandler,
};
use jiff::Timestamp;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A clock that only moves when the interpreter sleeps on it: waits and back-off take no real
/// time and timestamps are exact.
#[derive(Debug)]
pub struct ManualClock {
    now_ns: Mutex<i128>,
}

impl ManualClock {
    pub fn at(ts: &str) -> Arc<Self> {
        let t: Timestamp = ts.parse().expect("test timestamp");
        Arc::new(ManualClock {
            now_ns: Mutex::new(t.as_nanosecond()),
        })
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let ns = *self.now_ns.lock().expect("clock lock");
        Timestamp::from_nanosecond(ns).expect("valid time")
    }
    fn sleep(&self, d: Duration) {
        *self.now_ns.lock().expect("clock lock") += d.as_nanos() as i128;
    }
    fn real_duration(&self, _d: Duration) -> Option<Duration> {
        None
    }
}

type Route = dyn Fn(&TaskCall) -> Result<Value, TaskFailure> + Send + Sync;

/// A handler that records every call and answers with a closure.
pub struct Recording {
    f: Box<Route>,
    pub calls: Mutex<Vec<TaskCall>>,
}

impl TaskHandler for Recording {
    fn invoke(&self, call: &TaskCall) -> Result<Value, TaskFailure> {
        self.calls.lock().expect("calls lock").push(call.clone());
        (self.f)(call)
    }
}

impl Recording {
    pub fn calls(&self) -> Vec<TaskCall> {
        self.calls.lock().expect("calls lock").clone()
    }
}

pub fn recording(
    f: impl Fn(&TaskCall) -> Result<Value, TaskFailure> + Send + Sync + 'static,
) -> Arc<Recording> {
    Arc::new(Recording {
        f: Box::new(f),
        calls: Mutex::new(Vec::new()),
    })
}

/// Echoes the effective parameters back as the task result.
pub fn echo() -> Arc<Recording> {
    recording(|call| Ok(call.input.clone()))
}

pub fn machine(def: &str) -> StateMachine {
    match StateMachine::from_json(def) {
        Ok(m) => m,
        Err(e) => panic!("definition should load: {e}"),
    }
}

pub const START: &str = "2024-01-01T00:00:00Z";

/// Runs a definition with a manual clock starting at [`START`].
pub fn run_with(def: &str, input: Value, handler: Arc<dyn TaskHandler>) -> Execution {
    let interp = Interpreter::new(handler, ManualClock::at(START));
    interp.run(
        &machine(def),
        input,
        ExecutionInfo::local("test-machine", "exec-1"),
    )
}

pub fn run(def: &str, input: Value) -> Execution {
    run_with(def, input, echo())
}

pub fn kinds(exec: &Execution) -> Vec<&str> {
    exec.history.iter().map(|e| e.kind.as_str()).collect()
}

pub fn seconds_between(a: &str, b: &str) -> f64 {
    let a: Timestamp = a.parse().expect("timestamp");
    let b: Timestamp = b.parse().expect("timestamp");
    b.duration_since(a).as_secs_f64()
}
