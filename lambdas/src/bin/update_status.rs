//! Lambda `studyflow-update-status`: the Step Functions task calling `studyflow::handlers::dispatch`
//! with handler `update-status`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    studyflow_lambdas::run_task("update-status").await
}
