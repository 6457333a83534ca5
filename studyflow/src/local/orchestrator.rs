//! Local orchestrator: runs the project's `state-machines/*.asl.json` in the `asl` interpreter,
//! one thread per execution, with the Task resources dispatched to the same handler functions
//! the Lambdas use, `batch:submitJob.sync` to the local job runner, `states:startExecution` back
//! to this orchestrator, `sns:publish` to the notifier, and a Distributed Map's `ItemReader`
//! (`s3:getObject`) to the local object store.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::handlers::{self, Services};
use crate::local::catalog::SqliteCatalog;
use crate::ports::{JobRequest, JobRunner, Orchestrator, PortError, StartOutcome};

const SYSTEM: &str = "orchestrator";
/// Account and region used in local ARNs.
pub const LOCAL_ACCOUNT: &str = "000000000000";
/// Region used in local ARNs.
pub const LOCAL_REGION: &str = "local";

/// The state machine definitions shipped with the project, by name.
pub fn shipped_definitions() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        (
            "scan-configs",
            include_str!("../../../state-machines/scan-configs.asl.json"),
        ),
        (
            "process-file",
            include_str!("../../../state-machines/process-file.asl.json"),
        ),
    ])
}

/// The ARN of a local state machine.
pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stateMachine:studyflow-{name}")
}

/// The ARN of a local "Lambda" (a handler function).
pub fn function_arn(handler: &str) -> String {
    format!("arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:studyflow-{handler}")
}

/// The DefinitionSubstitutions of the local backend: the same keys CloudFormation fills.
pub fn local_substitutions() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (key, handler) in [
        ("ListConfigsFunctionArn", "list-configs"),
        ("ProcessConfigFunctionArn", "process-config"),
        ("CheckRequirementsFunctionArn", "check-requirements"),
        ("UpdateStatusFunctionArn", "update-status"),
    ] {
        m.insert(key.to_string(), function_arn(handler));
    }
    m.insert(
        "ProcessFileStateMachineArn".into(),
        state_machine_arn("process-file"),
    );
    m.insert(
        "JobQueueArn".into(),
        format!("arn:aws:batch:{LOCAL_REGION}:{LOCAL_ACCOUNT}:job-queue/studyflow-local"),
    );
    m.insert(
        "NotificationTopicArn".into(),
        format!("arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:studyflow-notifications"),
    );
    m
}

#[derive(Default)]
struct Running {
    count: usize,
}

/// Runs executions on threads; remembers them in the catalog's executions table.
pub struct LocalOrchestrator {
    machines: BTreeMap<String, asl::StateMachine>,
    catalog: Arc<SqliteCatalog>,
    clock: Arc<dyn asl::Clock>,
    jobs: Arc<dyn JobRunner>,
    services: OnceLock<Services>,
    running: Mutex<Running>,
    idle: Condvar,
    me: Weak<LocalOrchestrator>,
}

impl LocalOrchestrator {
    /// Loads the shipped state machines with the local substitutions.
    pub fn new(
        catalog: Arc<SqliteCatalog>,
        clock: Arc<dyn asl::Clock>,
        jobs: Arc<dyn JobRunner>,
    ) -> Result<Arc<Self>, PortError> {
        let subs = local_substitutions();
        let mut machines = BTreeMap::new();
        for (name, text) in shipped_definitions() {
            let text = asl::substitute(text, &subs)
                .map_err(|e| PortError::new(SYSTEM, format!("{name}.asl.json: {e}")))?;
            let m = asl::StateMachine::from_json(&text)
                .map_err(|e| PortError::new(SYSTEM, format!("{name}.asl.json: {e}")))?;
            machines.insert(name.to_string(), m);
        }
        Ok(Arc::new_cyclic(|me| Self {
            machines,
            catalog,
            clock,
            jobs,
            services: OnceLock::new(),
            running: Mutex::new(Running::default()),
            idle: Condvar::new(),
            me: me.clone(),
        }))
    }

    /// Connects the handlers' services (which hold this orchestrator: set once after building).
    pub fn attach(&self, services: Services) {
        let _ = self.services.set(services);
    }

    /// Number of executions running now.
    pub fn running(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).count
    }

    /// Waits until no execution runs, or the deadline passes. Returns true when idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.running.lock().unwrap_or_else(|p| p.into_inner());
        while g.count > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = self
                .idle
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    fn finished(&self) {
        let mut g = self.running.lock().unwrap_or_else(|p| p.into_inner());
        g.count = g.count.saturating_sub(1);
        if g.count == 0 {
            self.idle.notify_all();
        }
    }
}

impl Orchestrator for LocalOrchestrator {
    fn start_execution(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> Result<StartOutcome, PortError> {
        let Some(definition) = self.machines.get(machine).cloned() else {
            return Err(PortError::not_found(
                SYSTEM,
                format!("no state machine named {machine}"),
            ));
        };
        let sm_arn = state_machine_arn(machine);
        let arn = format!(
            "arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:execution:studyflow-{machine}:{name}"
        );
        let start = self.clock.now().to_string();
        if !self
            .catalog
            .insert_execution(&arn, name, machine, input, &start)?
        {
            return Ok(StartOutcome::AlreadyExists { execution_arn: arn });
        }
        let services = self
            .services
            .get()
            .cloned()
            .ok_or_else(|| PortError::new(SYSTEM, "orchestrator used before attach()"))?;
        let me = self
            .me
            .upgrade()
            .ok_or_else(|| PortError::new(SYSTEM, "orchestrator dropped"))?;
        self.running.lock().unwrap_or_else(|p| p.into_inner()).count += 1;
        let tasks = Arc::new(LocalTasks {
            services,
            jobs: self.jobs.clone(),
        });
        let info = asl::ExecutionInfo {
            execution_arn: arn.clone(),
            name: name.to_string(),
            state_machine_arn: sm_arn,
            state_machine_name: format!("studyflow-{machine}"),
            role_arn: format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/studyflow-local"),
        };
        let input = input.clone();
        let clock = self.clock.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("exec-{machine}"))
            .spawn(move || {
                let interp = asl::Interpreter::new(tasks, clock);
                let exec = interp.run(&definition, input, info);
                if let Err(e) = me.catalog.finish_execution(&arn, &exec) {
                    tracing::error!(error = %e, "could not record execution end");
                }
                if let Some(err) = &exec.error {
                    tracing::info!(execution = %arn, error = %err, cause = ?exec.cause, "execution failed");
                }
                me.finished();
            });
        if let Err(e) = spawned {
            self.finished();
            return Err(PortError::new(
                SYSTEM,
                format!("cannot start a thread: {e}"),
            ));
        }
        Ok(StartOutcome::Started {
            execution_arn: format!(
                "arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:execution:studyflow-{machine}:{name}"
            ),
        })
    }
}

/// The Task dispatcher of local executions.
struct LocalTasks {
    services: Services,
    jobs: Arc<dyn JobRunner>,
}

impl LocalTasks {
    /// A Distributed Map's `ItemReader`: `s3:getObject` of `Bucket`/`Key` from the local store,
    /// decoded as its `ReaderConfig` says. Errors carry the names S3 would give them.
    fn read_items(
        &self,
        call: &asl::TaskCall,
        reader_config: &Value,
    ) -> Result<Value, asl::TaskFailure> {
        if call.resource != "arn:aws:states:::s3:getObject" {
            return Err(failure(
                "States.Runtime",
                format!(
                    "the local backend reads Map items only with s3:getObject, not {}",
                    call.resource
                ),
            ));
        }
        let field = |name: &str| {
            call.input
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| failure("S3.InvalidRequest", format!("ItemReader needs {name}")))
        };
        let (bucket, key) = (field("Bucket")?, field("Key")?);
        let body = self.services.store.get(bucket, key).map_err(|e| {
            let name = if e.not_found {
                "S3.NoSuchKey"
            } else {
                "S3.S3Exception"
            };
            failure(name, format!("s3://{bucket}/{key}: {e}"))
        })?;
        let items = asl::decode_items(&body, reader_config).map_err(|e| {
            failure(
                "States.ItemReaderFailed",
                format!("s3://{bucket}/{key}: {e}"),
            )
        })?;
        Ok(Value::Array(items))
    }
}

fn failure(error: &str, cause: impl Into<String>) -> asl::TaskFailure {
    asl::TaskFailure {
        error: error.to_string(),
        cause: cause.into(),
    }
}

impl asl::TaskHandler for LocalTasks {
    fn invoke(&self, call: &asl::TaskCall) -> Result<Value, asl::TaskFailure> {
        if let asl::CallPurpose::ItemReader { reader_config } = &call.purpose {
            return self.read_items(call, reader_config);
        }
        let r = call.resource.as_str();
        let lambda_prefix =
            format!("arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:studyflow-");
        if let Some(handler) = r.strip_prefix(&lambda_prefix) {
            return handlers::dispatch(&self.services, handler, call.input.clone())
                .map_err(|e| failure(&e.error, e.cause));
        }
        match r {
            "arn:aws:states:::lambda:invoke" => {
                let f = call
                    .input
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let handler = f.strip_prefix(&lambda_prefix).ok_or_else(|| {
                    failure(
                        "Lambda.ResourceNotFoundException",
                        format!("no function {f}"),
                    )
                })?;
                let payload = call.input.get("Payload").cloned().unwrap_or(Value::Null);
                let out = handlers::dispatch(&self.services, handler, payload)
                    .map_err(|e| failure(&e.error, e.cause))?;
                Ok(json!({"Payload": out, "StatusCode": 200}))
            }
            "arn:aws:states:::batch:submitJob.sync" => {
                let req = JobRequest::from_parameters(&call.input)
                    .map_err(|e| failure("States.Runtime", e))?;
                let outcome = self
                    .jobs
                    .run(&req)
                    .map_err(|e| failure("States.TaskFailed", e.to_string()))?;
                if outcome["Status"] == "SUCCEEDED" {
                    Ok(outcome)
                } else {
                    Err(failure("States.TaskFailed", outcome.to_string()))
                }
            }
            "arn:aws:states:::states:startExecution" => {
                let machine_arn = call
                    .input
                    .get("StateMachineArn")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let machine = machine_arn
                    .rsplit(":stateMachine:studyflow-")
                    .next()
                    .filter(|m| !m.contains(':'))
                    .ok_or_else(|| {
                        failure(
                            "StepFunctions.StateMachineDoesNotExistException",
                            machine_arn.to_string(),
                        )
                    })?;
                let name = call
                    .input
                    .get("Name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let input = match call.input.get("Input") {
                    Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
                    Some(v) => v.clone(),
                    None => json!({}),
                };
                match self
                    .services
                    .orchestrator
                    .start_execution(machine, name, &input)
                {
                    Ok(StartOutcome::Started { execution_arn }) => Ok(
                        json!({"ExecutionArn": execution_arn, "StartDate": call.context["State"]["EnteredTime"]}),
                    ),
                    Ok(StartOutcome::AlreadyExists { execution_arn }) => Err(failure(
                        "StepFunctions.ExecutionAlreadyExistsException",
                        format!("Execution Already Exists: '{execution_arn}'"),
                    )),
                    Err(e) => Err(failure("StepFunctions.SfnException", e.to_string())),
                }
            }
            "arn:aws:states:::sns:publish" => {
                let subject = call
                    .input
                    .get("Subject")
                    .and_then(Value::as_str)
                    .unwrap_or("studyflow");
                let message = match call.input.get("Message") {
                    Some(Value::String(s)) => {
                        serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
                    }
                    Some(v) => v.clone(),
                    None => Value::Null,
                };
                self.services
                    .notifier
                    .publish(subject, &message)
                    .map_err(|e| failure("SNS.SnsException", e.to_string()))?;
                Ok(json!({"MessageId": format!("local-{}", call.context["State"]["EnteredTime"])}))
            }
            other => Err(failure(
                "States.Runtime",
                format!("the local backend has no integration for resource {other}"),
            )),
        }
    }
}
