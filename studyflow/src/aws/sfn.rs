//! Step Functions orchestrator. Execution names are deterministic (study, file, ETag, version,
//! attempt), so Step Functions itself refuses a second execution of the same name: that refusal
//! is [`StartOutcome::AlreadyExists`], not an error.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_sfn::Client;

use super::{AwsRuntime, port_err};
use crate::ports::{Orchestrator, PortError, StartOutcome};

const SYSTEM: &str = "orchestrator";

/// State machines on AWS Step Functions.
pub struct SfnOrchestrator {
    client: Client,
    rt: AwsRuntime,
    arns: Mutex<HashMap<String, String>>,
}

impl SfnOrchestrator {
    /// An adapter over a client; `arns` maps machine names (`process-file`) to ARNs. Names not
    /// in it are looked up once with ListStateMachines and remembered.
    pub fn new(client: Client, rt: AwsRuntime, arns: HashMap<String, String>) -> Self {
        Self {
            client,
            rt,
            arns: Mutex::new(arns),
        }
    }

    async fn arn_of(&self, machine: &str) -> Result<String, PortError> {
        if machine.starts_with("arn:") {
            return Ok(machine.to_string());
        }
        if let Some(arn) = self
            .arns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(machine)
        {
            return Ok(arn.clone());
        }
        let mut pages = self.client.list_state_machines().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_err(SYSTEM, "list state machines", &e))?;
            if let Some(m) = page.state_machines().iter().find(|m| m.name() == machine) {
                let arn = m.state_machine_arn().to_string();
                self.arns
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(machine.to_string(), arn.clone());
                return Ok(arn);
            }
        }
        Err(PortError::not_found(
            SYSTEM,
            format!("no state machine named {machine}"),
        ))
    }
}

/// The ARN of execution `name` of a standard state machine.
fn execution_arn(machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

impl Orchestrator for SfnOrchestrator {
    fn start_execution(
        &self,
        machine: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<StartOutcome, PortError> {
        self.rt.block_on(async {
            let arn = self.arn_of(machine).await?;
            let r = self
                .client
                .start_execution()
                .state_machine_arn(&arn)
                .name(name)
                .input(input.to_string())
                .send()
                .await;
            match r {
                Ok(o) => Ok(StartOutcome::Started {
                    execution_arn: o.execution_arn().to_string(),
                }),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_execution_already_exists()) =>
                {
                    Ok(StartOutcome::AlreadyExists {
                        execution_arn: execution_arn(&arn, name),
                    })
                }
                Err(e) => Err(port_err(
                    SYSTEM,
                    &format!("start {machine} execution {name}"),
                    &e,
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn execution_arns_derive_from_the_machine() {
        assert_eq!(
            super::execution_arn("arn:aws:states:us-east-1:1:stateMachine:process-file", "n"),
            "arn:aws:states:us-east-1:1:execution:process-file:n"
        );
    }
}
