//! The AWS Batch container's entry point: one recording in, results out (DESIGN.md, "Batch job
//! contract"). Input from `STUDYFLOW_*` environment variables or the flags of
//! `studyflow::batch::JOB_FLAGS` (`--input`, `--output`, ...); exit 0 only when every result is
//! written, otherwise one JSON error line on stderr.
//!
//! Backends:
//! - `STUDYFLOW_LOCAL_ROOT` set: `s3://bucket/key` resolves in that local root (the local
//!   backend's buckets), no catalog;
//! - otherwise `s3://` URIs go to S3 (`AWS_ENDPOINT_URL`, `AWS_REGION` and the SDK's credential
//!   chain: on Batch the job role), and when `STUDYFLOW_CATALOG_TABLE` names the files table the
//!   job checks and records its file there (`studyflow::batch::run_env_job_with`);
//! - plain paths in and out need neither.

use std::process::ExitCode;

use studyflow::batch::{self, JobCatalog, JobError};
use studyflow::ports::ObjectStore;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stdout)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = run(&args);
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn run(args: &[String]) -> i32 {
    if let Some(root) = std::env::var_os("STUDYFLOW_LOCAL_ROOT") {
        let store = studyflow::local::plain_store(std::path::Path::new(&root));
        return batch::entry_point(args, Some(&store as &dyn ObjectStore));
    }
    let flags = match batch::parse_job_flags(args) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let var = |k: &str| {
        flags
            .get(k)
            .cloned()
            .or_else(|| std::env::var(k).ok())
            .filter(|v| !v.is_empty())
    };
    let on_s3 = ["STUDYFLOW_INPUT", "STUDYFLOW_OUTPUT"]
        .iter()
        .any(|k| var(k).is_some_and(|v| v.starts_with("s3://")));
    if !on_s3 {
        return batch::entry_point(args, None);
    }
    // The catalog table may come as a flag: the options read it like the other variables.
    let options = studyflow::aws::AwsOptions::from_lookup(var);
    let with_catalog = var("STUDYFLOW_CATALOG_TABLE").is_some();
    let aws = match studyflow::aws::AwsRuntime::owned()
        .and_then(|rt| studyflow::aws::AwsConfig::connect(options, rt))
    {
        Ok(aws) => aws,
        Err(e) => return fail(&JobError::Storage(e)),
    };
    let store = aws.store();
    let catalog = with_catalog.then(|| aws.catalog());
    batch::entry_point_with(
        args,
        Some(&store as &dyn ObjectStore),
        catalog.as_ref().map(|c| c as &dyn JobCatalog),
    )
}

fn fail(e: &JobError) -> i32 {
    tracing::error!(error = %e, "job failed");
    eprintln!("{}", batch::error_line(e));
    1
}
