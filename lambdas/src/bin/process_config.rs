//! Lambda `studyflow-process-config`: the Step Functions task calling `studyflow::handlers::dispatch`
//! with handler `process-config`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    studyflow_lambdas::run_task("process-config").await
}
