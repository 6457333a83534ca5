//! The AWS Batch container's entry point: one recording in, results out (DESIGN.md, "Batch job
//! contract"). Input from `STUDYFLOW_*` environment variables or the flags of
//! `studyflow::batch::JOB_FLAGS` (`--input`, `--output`, ...); exit 0 only when every result is
//! written, otherwise one JSON error line on stderr.
//!
//! This build resolves `s3://` URIs in the local root named by `STUDYFLOW_LOCAL_ROOT`; the S3
//! adapter arrives with the AWS adapters.

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stdout)
        .init();
    let root = std::env::var_os("STUDYFLOW_LOCAL_ROOT").map(std::path::PathBuf::from);
    let store = root.as_deref().map(studyflow::local::plain_store);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = studyflow::batch::entry_point(
        &args,
        store
            .as_ref()
            .map(|s| s as &dyn studyflow::ports::ObjectStore),
    );
    std::process::ExitCode::from(code as u8)
}
