//! `studyflow`: the command line of studyflow. Each subcommand is a few lines over the
//! `studyflow` and `biomarkers` libraries.

mod backend;
mod commands;
mod data;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// studyflow: wearable-sensor studies from a YAML config to tidy biomarker tables.
#[derive(Parser)]
#[command(name = "studyflow", version, about)]
struct Cli {
    /// Log as JSON lines (as in Lambda and Batch).
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole flow on the embedded local backend: example configs and synthetic
    /// recordings in, results and a status table out.
    Demo(commands::DemoArgs),
    /// Validate study config files.
    Validate {
        /// Config files (YAML).
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of study configs (for editors).
    Schema,
    /// Process one recording through the default pipeline (or a config's) into DIR.
    Process(commands::ProcessArgs),
    /// Studies and files of a local root with their status and error.
    Status(commands::StatusArgs),
    /// Rerun failed (or named) files of a local root and wait for them.
    Retry(commands::RetryArgs),
    /// Print a recording's header facts.
    Info {
        /// The recording.
        file: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Decode a recording to Parquet or CSV (by OUT's extension).
    Convert {
        /// The recording.
        file: PathBuf,
        /// Output file (`.parquet` or `.csv`).
        out: PathBuf,
        /// APDM files: the sensor to read, by label (e.g. "Left Wrist") or id (default: the
        /// one labelled Lumbar, or the only one).
        #[arg(long)]
        sensor: Option<String>,
    },
    /// Files in the catalog by study, subject, visit, device, status and recording time.
    Files(data::FilesArgs),
    /// Download the raw recordings (or, with --results, the results) of matching files.
    Fetch(data::FetchArgs),
    /// Upload recordings into a study's bucket under its key pattern, and wait for them.
    Upload(data::UploadArgs),
    /// CPU, memory, bytes and estimated Fargate cost of a study's runs.
    Usage(data::UsageArgs),
    /// Print a pre-signed PUT URL for one recording key of a study (AWS backend), for a site
    /// without AWS credentials: `curl -X PUT --upload-file FILE URL`.
    Presign(data::PresignArgs),
    /// Serve the local root's studies, files and reports on 127.0.0.1 (read-only).
    Serve(serve::ServeArgs),
    /// Run one batch job (the container's entry point): input from STUDYFLOW_* variables or
    /// the flags --input, --output, --pipeline, --subject, --study, --file-key, --input-etag,
    /// --config-hash, --formats, --read.
    BatchJob {
        /// Flags (see above); each wins over its STUDYFLOW_* variable.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let batch = matches!(cli.command, Command::BatchJob { .. });
    commands::init_logging(cli.log_json || batch, batch);
    let result = match cli.command {
        Command::Demo(a) => commands::demo(a),
        Command::Validate { files } => commands::validate(&files),
        Command::Schema => commands::schema(),
        Command::Process(a) => commands::process(a),
        Command::Status(a) => commands::status(a),
        Command::Retry(a) => commands::retry(a),
        Command::Info { file, json } => commands::info(&file, json),
        Command::Convert { file, out, sensor } => commands::convert(&file, &out, sensor),
        Command::Files(a) => data::files(a),
        Command::Fetch(a) => data::fetch(a),
        Command::Upload(a) => data::upload(a),
        Command::Serve(a) => serve::serve(a),
        Command::Usage(a) => data::usage(a),
        Command::Presign(a) => data::presign(a),
        Command::BatchJob { args } => return commands::batch_job(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
