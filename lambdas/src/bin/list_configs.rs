//! Lambda `studyflow-list-configs`: the Step Functions task calling `studyflow::handlers::dispatch`
//! with handler `list-configs`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    studyflow_lambdas::run_task("list-configs").await
}
