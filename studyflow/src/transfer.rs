//! Moving files in and out of a study bucket for the data team: where an upload goes (the
//! study's key pattern), and what a fetch downloads (raw recordings or their results).
//! Backend-neutral: everything goes through the [`ObjectStore`] and [`Catalog`] ports.

use std::path::{Path, PathBuf};

use crate::config::KeyParts;
use crate::config::StudyConfig;
use crate::model::{FileItem, StudyItem};
use crate::ports::{Catalog, ObjectMeta, ObjectStore, PortError};

/// Why a transfer cannot be planned or carried out.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The study is not in the catalog.
    #[error(
        "study {0} is not in the catalog (has its config been dropped into the config bucket?)"
    )]
    UnknownStudy(String),
    /// The study's config was rejected, so it has no usable key pattern.
    #[error("study {study} has no valid config: {reason}")]
    NoConfig {
        /// Study id.
        study: String,
        /// What is wrong.
        reason: String,
    },
    /// The parts given do not make a key the study's pattern accepts.
    #[error("{0}")]
    BadKey(String),
    /// An option value is out of range (e.g. a pre-signed URL's lifetime).
    #[error("{0}")]
    BadOption(String),
    /// A local file cannot be read or written.
    #[error("{path}: {message}")]
    Local {
        /// The local path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The object store or the catalog failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The validated config of a study as stored in the catalog at its last scan.
pub fn study_config(
    catalog: &dyn Catalog,
    study: &str,
) -> Result<(StudyItem, StudyConfig), TransferError> {
    let item = catalog
        .get_study(study)?
        .ok_or_else(|| TransferError::UnknownStudy(study.into()))?;
    let no_config = |reason: String| TransferError::NoConfig {
        study: study.into(),
        reason,
    };
    let json = item.config_json.clone().ok_or_else(|| {
        no_config(
            item.error
                .clone()
                .unwrap_or_else(|| "config not stored".into()),
        )
    })?;
    let cfg: StudyConfig = serde_json::from_value(json).map_err(|e| no_config(e.to_string()))?;
    Ok((item, cfg))
}

/// The object key a recording of `parts` gets in the study bucket, from the study's key pattern.
/// The file's extension must be the one the pattern ends with (a `.bin` is not uploaded as a
/// `.cwa`), and the key must read back as the same parts (no `/` inside a subject id).
pub fn upload_key(
    cfg: &StudyConfig,
    parts: &KeyParts,
    local: &Path,
) -> Result<String, TransferError> {
    let pattern = &cfg.data.key_pattern;
    let key = pattern.render(parts).ok_or_else(|| {
        TransferError::BadKey(format!(
            "key pattern {} needs {}{}",
            pattern.as_str(),
            if pattern.has_visit() && parts.visit.is_none() {
                "--visit "
            } else {
                ""
            },
            if pattern.has_device() && parts.device.is_none() {
                "--device"
            } else {
                ""
            },
        ))
    })?;
    if pattern.match_key(&key).as_ref() != Some(&normalised(parts, cfg)) {
        return Err(TransferError::BadKey(format!(
            "subject/visit/device must not contain '/' or be '.' or '..': {key} does not match {}",
            pattern.as_str()
        )));
    }
    let want = Path::new(&key).extension().map(|e| e.to_ascii_lowercase());
    let have = local.extension().map(|e| e.to_ascii_lowercase());
    if want.is_some() && want != have {
        return Err(TransferError::BadKey(format!(
            "{}: the study's key pattern {} expects a .{} file",
            local.display(),
            pattern.as_str(),
            want.unwrap_or_default().to_string_lossy()
        )));
    }
    Ok(key)
}

/// The parts as the pattern would read them back: parts the pattern does not use are dropped.
fn normalised(parts: &KeyParts, cfg: &StudyConfig) -> KeyParts {
    let p = &cfg.data.key_pattern;
    KeyParts {
        subject: parts.subject.clone(),
        visit: parts.visit.clone().filter(|_| p.has_visit()),
        device: parts.device.clone().filter(|_| p.has_device()),
    }
}

/// One object to download and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// Source bucket.
    pub bucket: String,
    /// Source key.
    pub key: String,
    /// Destination path.
    pub dest: PathBuf,
    /// Size in bytes, when known before the download.
    pub size: u64,
}

/// What `fetch` downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchWhat {
    /// The raw recordings.
    Raw,
    /// Every object under each file's result prefix (tables, summary, report).
    Results,
}

/// The downloads for `files`: raw recordings go to `<dest>/<study>/<file key>`, results to
/// `<dest>/<study>/<result prefix>/...`. Files without results yet are reported in the second
/// list instead of being skipped silently.
pub fn plan_fetch(
    store: &dyn ObjectStore,
    files: &[FileItem],
    what: FetchWhat,
    dest: &Path,
) -> Result<(Vec<Download>, Vec<String>), TransferError> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for f in files {
        match what {
            FetchWhat::Raw => out.push(Download {
                bucket: f.bucket.clone(),
                key: f.file_key.clone(),
                dest: dest.join(&f.study).join(&f.file_key),
                size: f.size,
            }),
            FetchWhat::Results => {
                let Some((bucket, prefix)) = f.result_prefix.as_deref().and_then(split_s3_uri)
                else {
                    missing.push(format!(
                        "{}: no results ({})",
                        f.file_key,
                        f.status.as_str()
                    ));
                    continue;
                };
                let prefix = format!("{}/", prefix.trim_end_matches('/'));
                let objects: Vec<ObjectMeta> = store.list(&bucket, &prefix)?;
                if objects.is_empty() {
                    missing.push(format!("{}: s3://{bucket}/{prefix} is empty", f.file_key));
                }
                for o in objects {
                    out.push(Download {
                        bucket: bucket.clone(),
                        dest: dest.join(&f.study).join(&o.key),
                        key: o.key,
                        size: o.size,
                    });
                }
            }
        }
    }
    Ok((out, missing))
}

/// Carries out one download, creating the destination's folder. Keys are checked by the
/// store; the destination is under the caller's folder because keys never hold `..` (the
/// stores refuse such keys).
pub fn download(store: &dyn ObjectStore, d: &Download) -> Result<ObjectMeta, TransferError> {
    prepare_download(d)?;
    Ok(store.download(&d.bucket, &d.key, &d.dest)?)
}

/// Checks that a download stays under its destination folder (no `.` or `..` key segments)
/// and creates the destination's folder; for callers that download with a store's own
/// streaming method (e.g. with progress) instead of [`download`].
pub fn prepare_download(d: &Download) -> Result<(), TransferError> {
    if d.key.split('/').any(|p| p == ".." || p == ".") {
        return Err(TransferError::BadKey(format!("refusing key {}", d.key)));
    }
    if let Some(parent) = d.dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| TransferError::Local {
            path: parent.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Longest lifetime of a pre-signed upload URL, seconds (12 h): long enough for a site to
/// upload a day's recordings, short enough that a leaked URL soon stops working.
pub const MAX_PRESIGN_SECONDS: u64 = 12 * 3600;

/// Parses a pre-signed URL's lifetime (`30m`, `1h`, `2h30m`; units s, m, h, d) and checks it
/// is between 1 s and [`MAX_PRESIGN_SECONDS`]. Returns whole seconds.
pub fn presign_expiry(text: &str) -> Result<u64, TransferError> {
    let d = crate::config::DurationText::parse(text)
        .map_err(|e| TransferError::BadOption(format!("--expires {text}: {e}")))?;
    match d.seconds() {
        0 => Err(TransferError::BadOption(format!(
            "--expires {text}: must be longer than 0 s"
        ))),
        s if s > MAX_PRESIGN_SECONDS => Err(TransferError::BadOption(format!(
            "--expires {text}: at most {} h (a pre-signed URL cannot be revoked)",
            MAX_PRESIGN_SECONDS / 3600
        ))),
        s => Ok(s),
    }
}

/// Checks that `key` may be handed out in a pre-signed upload URL for the study: it must be
/// under the study's prefix and match its key pattern (so the upload is registered as a
/// recording of the study and cannot overwrite results or configs).
pub fn presign_key(cfg: &StudyConfig, key: &str) -> Result<KeyParts, TransferError> {
    let data = &cfg.data;
    if !key.starts_with(&data.prefix) {
        return Err(TransferError::BadKey(format!(
            "{key} is outside the study's prefix {:?}",
            data.prefix
        )));
    }
    data.match_key(key).ok_or_else(|| {
        TransferError::BadKey(format!(
            "{key} does not match the study's key pattern {}",
            data.key_pattern.as_str()
        ))
    })
}

/// `s3://bucket/prefix` into its parts.
pub fn split_s3_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty()).then(|| (bucket.to_string(), key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris_split() {
        assert_eq!(
            split_s3_uri("s3://b/results/x"),
            Some(("b".into(), "results/x".into()))
        );
        assert_eq!(split_s3_uri("s3:///x"), None);
        assert_eq!(split_s3_uri("/tmp/x"), None);
    }

    #[test]
    fn presign_keys_must_be_recordings_of_the_study() {
        let text = include_str!("../../studies-example/studies/demo-wrist.yaml");
        let cfg = crate::config::parse_config("demo-wrist.yaml", text).unwrap();
        let parts = presign_key(&cfg, "raw/S01/V1/wrist.cwa").unwrap();
        assert_eq!(parts.subject, "S01");
        for bad in [
            "results/S01/V1/wrist.cwa",
            "raw/S01/wrist.cwa",
            "raw/S01/V1/wrist.bin",
            "raw/S01/../x/wrist.cwa",
            "raw/S01/V1/sub/wrist.cwa",
            "metadata/subjects.csv",
        ] {
            let e = presign_key(&cfg, bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn presign_expiry_is_capped() {
        assert_eq!(presign_expiry("1h").unwrap(), 3600);
        assert_eq!(presign_expiry("12h").unwrap(), MAX_PRESIGN_SECONDS);
        assert!(
            presign_expiry("12h1s")
                .unwrap_err()
                .to_string()
                .contains("at most 12 h")
        );
        assert!(presign_expiry("0s").is_err());
        assert!(presign_expiry("soon").is_err());
    }
}
