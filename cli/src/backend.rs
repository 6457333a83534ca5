//! Where the data commands (`files`, `fetch`, `upload`, `usage`, `presign`) read and write:
//! the local root (SQLite catalog, folders as buckets) or a deployed stack on AWS (the
//! DynamoDB tables and S3 buckets of `cloudformation/studyflow.yaml`, cargo feature `aws`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use studyflow::local::{FolderStore, SqliteCatalog};
use studyflow::ports::{Catalog, ObjectStore};
use studyflow::transfer::{self, Download};

/// Which backend a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The local root folder (`--root`).
    Local,
    /// The stack on AWS (or an emulator named by AWS_ENDPOINT_URL).
    Aws,
}

/// Backend options shared by the data commands.
#[derive(Args, Clone, Debug)]
pub struct BackendArgs {
    /// `local`: the --root folder. `aws`: the stack's DynamoDB tables and S3 buckets, with the
    /// standard AWS environment (AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID..., AWS_ENDPOINT_URL).
    /// Default: $STUDYFLOW_BACKEND, else local.
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// Local root folder (local backend).
    #[arg(long, default_value = ".studyflow")]
    pub root: PathBuf,
    /// The stack's `Prefix` parameter (aws backend): the tables are PREFIX-Studies,
    /// PREFIX-Files and PREFIX-Subjects. Default: $STUDYFLOW_STACK_PREFIX, else studyflow.
    /// STUDYFLOW_STUDIES_TABLE, STUDYFLOW_FILES_TABLE and STUDYFLOW_SUBJECTS_TABLE name tables
    /// one by one instead (the variables the Lambdas read).
    #[arg(long)]
    pub stack_prefix: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl BackendArgs {
    /// The backend asked for: the flag, else `STUDYFLOW_BACKEND`, else local.
    pub fn kind(&self) -> Result<BackendKind> {
        if let Some(k) = self.backend {
            return Ok(k);
        }
        match env("STUDYFLOW_BACKEND") {
            None => Ok(BackendKind::Local),
            Some(v) => BackendKind::from_str(v.trim(), true)
                .map_err(|_| anyhow::anyhow!("STUDYFLOW_BACKEND={v}: expected `local` or `aws`")),
        }
    }

    /// The stack prefix (flag, `STUDYFLOW_STACK_PREFIX`, or the stack's default `studyflow`).
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub fn stack_prefix(&self) -> String {
        self.stack_prefix
            .clone()
            .or_else(|| env("STUDYFLOW_STACK_PREFIX"))
            .unwrap_or_else(|| "studyflow".into())
    }
}

/// An open backend: the catalog and the object store the commands go through.
pub enum Backend {
    /// The local root.
    Local {
        /// The root's SQLite catalog.
        catalog: SqliteCatalog,
        /// The root's folders as buckets.
        store: FolderStore,
    },
    /// The stack on AWS.
    #[cfg(feature = "aws")]
    Aws(Box<AwsBackend>),
}

/// The AWS adapters a command uses.
#[cfg(feature = "aws")]
pub struct AwsBackend {
    /// DynamoDB catalog of the stack.
    pub catalog: studyflow::aws::DynamoCatalog,
    /// S3.
    pub store: studyflow::aws::S3Store,
}

#[cfg(not(feature = "aws"))]
const NO_AWS: &str = "this studyflow was built without AWS support: build it with \
     `cargo build --release -p studyflow-cli --features aws` (the AWS SDK adds minutes of build)";

impl Backend {
    /// Opens the backend. `part_size` (bytes) sets the multipart threshold and part size of S3
    /// uploads (ignored locally).
    pub fn open(a: &BackendArgs, part_size: Option<u64>) -> Result<Backend> {
        match a.kind()? {
            BackendKind::Local => {
                if !studyflow::local::catalog_path(&a.root).is_file() {
                    bail!(
                        "{} has no catalog (run `studyflow demo` or drop a config first; \
                         for a stack on AWS use --backend aws)",
                        a.root.display()
                    );
                }
                Ok(Backend::Local {
                    catalog: studyflow::local::open_catalog(&a.root)?,
                    store: studyflow::local::plain_store(&a.root),
                })
            }
            #[cfg(feature = "aws")]
            BackendKind::Aws => Ok(Backend::Aws(Box::new(open_aws(a, part_size)?))),
            #[cfg(not(feature = "aws"))]
            BackendKind::Aws => {
                let _ = part_size;
                bail!("{NO_AWS}")
            }
        }
    }

    /// The catalog port.
    pub fn catalog(&self) -> &dyn Catalog {
        match self {
            Backend::Local { catalog, .. } => catalog,
            #[cfg(feature = "aws")]
            Backend::Aws(b) => &b.catalog,
        }
    }

    /// The object-store port.
    pub fn store(&self) -> &dyn ObjectStore {
        match self {
            Backend::Local { store, .. } => store,
            #[cfg(feature = "aws")]
            Backend::Aws(b) => &b.store,
        }
    }

    /// Carries out one download; `progress(n)` as bytes arrive (S3 streams chunk by chunk;
    /// a local copy reports the whole file at the end).
    pub fn download(&self, d: &Download, progress: &dyn Fn(u64)) -> Result<()> {
        let what = || format!("s3://{}/{} -> {}", d.bucket, d.key, d.dest.display());
        match self {
            Backend::Local { store, .. } => {
                let meta = transfer::download(store, d).with_context(what)?;
                progress(meta.size);
            }
            #[cfg(feature = "aws")]
            Backend::Aws(b) => {
                transfer::prepare_download(d).with_context(what)?;
                b.store
                    .download_with_progress(&d.bucket, &d.key, &d.dest, progress)
                    .with_context(what)?;
            }
        }
        Ok(())
    }
}

#[cfg(feature = "aws")]
fn open_aws(a: &BackendArgs, part_size: Option<u64>) -> Result<AwsBackend> {
    use studyflow::aws::{AwsConfig, AwsOptions, AwsRuntime, Tables};
    let prefix = a.stack_prefix();
    let mut options = AwsOptions::from_env();
    // The stack names its tables <Prefix>-Studies/-Files/-Subjects; the Lambdas' variables,
    // when set, name them one by one.
    options.tables = Tables {
        studies: env("STUDYFLOW_STUDIES_TABLE").unwrap_or_else(|| format!("{prefix}-Studies")),
        files: env("STUDYFLOW_FILES_TABLE")
            .or_else(|| env("STUDYFLOW_CATALOG_TABLE"))
            .unwrap_or_else(|| format!("{prefix}-Files")),
        subjects: env("STUDYFLOW_SUBJECTS_TABLE").unwrap_or_else(|| format!("{prefix}-Subjects")),
    };
    options.multipart_threshold = part_size;
    let config = AwsConfig::connect(options, AwsRuntime::owned()?)?;
    if config.sdk.region().is_none() {
        bail!("no AWS region: set AWS_REGION (or a region in the AWS_PROFILE's config)");
    }
    Ok(AwsBackend {
        catalog: config.catalog(),
        store: config.store(),
    })
}
