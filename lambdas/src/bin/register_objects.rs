//! Lambda `studyflow-register-objects`: an SQS batch of S3 object events (study buckets), each
//! registered with `studyflow::handlers::register_object`; failed messages are reported in
//! `batchItemFailures` so only they return to the queue (and, after the redrive count, the DLQ).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    studyflow_lambdas::run_sqs_register().await
}
