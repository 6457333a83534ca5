//! Lambda `studyflow-check-requirements`: the Step Functions task calling `studyflow::handlers::dispatch`
//! with handler `check-requirements`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    studyflow_lambdas::run_task("check-requirements").await
}
