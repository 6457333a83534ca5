//! Folder-per-bucket object store. Buckets are folders under `<root>/buckets/`; every write emits
//! the S3 `ObjectCreated` event record that an S3 bucket would send.
//!
//! ETags are content hashes (like S3's for single-part uploads), kept in a sidecar tree under
//! `<root>/meta/` so that `head` and `list` do not re-hash multi-GB files; a sidecar whose size or
//! modification time no longer matches the file (a file copied in by hand) is recomputed.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::events::{ObjectEvent, object_created};
use crate::ports::{ObjectMeta, ObjectStore, PortError};

const SYSTEM: &str = "object store";
/// S3's own limit on key length, bytes.
const MAX_KEY_BYTES: usize = 1024;
/// Longest path component most file systems accept, bytes.
const MAX_COMPONENT_BYTES: usize = 255;

/// A callback receiving every object event (S3 notification record JSON).
pub type EventSink = Arc<dyn Fn(ObjectEvent) + Send + Sync>;

/// Buckets as folders under a root.
pub struct FolderStore {
    root: PathBuf,
    sink: Option<EventSink>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sidecar {
    etag: String,
    size: u64,
    mtime_ns: u128,
}

impl FolderStore {
    /// A store rooted at `root` (buckets in `root/buckets`, ETag sidecars in `root/meta`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            sink: None,
        }
    }

    /// Sends every object-created event to `sink`.
    pub fn with_events(mut self, sink: EventSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Creates a bucket (a folder); existing buckets are left as they are.
    pub fn create_bucket(&self, bucket: &str) -> Result<(), PortError> {
        check_bucket(bucket)?;
        fs::create_dir_all(self.root.join("buckets").join(bucket))
            .map_err(|e| io_err(&format!("create bucket {bucket}"), e))
    }

    /// The folder holding a bucket's objects.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join("buckets").join(bucket)
    }

    /// The local path of an object (after validating bucket and key).
    pub fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, PortError> {
        check_bucket(bucket)?;
        check_key(key)?;
        Ok(self.bucket_dir(bucket).join(key))
    }

    fn sidecar_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root
            .join("meta")
            .join(bucket)
            .join(format!("{key}.etag.json"))
    }

    fn require_bucket(&self, bucket: &str) -> Result<(), PortError> {
        check_bucket(bucket)?;
        if self.bucket_dir(bucket).is_dir() {
            Ok(())
        } else {
            Err(PortError::not_found(
                SYSTEM,
                format!("bucket {bucket} does not exist"),
            ))
        }
    }

    fn meta_of(&self, bucket: &str, key: &str, path: &Path) -> Result<ObjectMeta, PortError> {
        let md = fs::metadata(path).map_err(|e| io_err(&format!("s3://{bucket}/{key}"), e))?;
        let mtime_ns = mtime_ns(&md);
        let side = self.sidecar_path(bucket, key);
        if let Ok(text) = fs::read(&side)
            && let Ok(s) = serde_json::from_slice::<Sidecar>(&text)
            && s.size == md.len()
            && s.mtime_ns == mtime_ns
        {
            return Ok(ObjectMeta {
                key: key.to_string(),
                size: s.size,
                etag: s.etag,
            });
        }
        let etag = hash_file(path).map_err(|e| io_err(&format!("s3://{bucket}/{key}"), e))?;
        self.write_sidecar(bucket, key, &etag, md.len(), mtime_ns);
        Ok(ObjectMeta {
            key: key.to_string(),
            size: md.len(),
            etag,
        })
    }

    fn write_sidecar(&self, bucket: &str, key: &str, etag: &str, size: u64, mtime_ns: u128) {
        let side = self.sidecar_path(bucket, key);
        let body = Sidecar {
            etag: etag.to_string(),
            size,
            mtime_ns,
        };
        // The sidecar is a cache: failing to write it only costs a re-hash later.
        if let Some(parent) = side.parent() {
            let _ = fs::create_dir_all(parent);
        }
        if let Ok(text) = serde_json::to_vec(&body) {
            let _ = fs::write(side, text);
        }
    }

    /// Moves a finished temp file into place, records its ETag and emits the event.
    fn commit(
        &self,
        bucket: &str,
        key: &str,
        tmp: &Path,
        etag: String,
        size: u64,
    ) -> Result<ObjectMeta, PortError> {
        let dest = self.object_path(bucket, key)?;
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&format!("s3://{bucket}/{key}"), e))?;
        }
        fs::rename(tmp, &dest).map_err(|e| io_err(&format!("s3://{bucket}/{key}"), e))?;
        let md = fs::metadata(&dest).map_err(|e| io_err(&format!("s3://{bucket}/{key}"), e))?;
        self.write_sidecar(bucket, key, &etag, size, mtime_ns(&md));
        let meta = ObjectMeta {
            key: key.to_string(),
            size,
            etag,
        };
        if let Some(sink) = &self.sink {
            sink(object_created(bucket, &meta));
        }
        Ok(meta)
    }

    fn temp_file(&self) -> Result<(fs::File, PathBuf), PortError> {
        let dir = self.root.join("tmp");
        fs::create_dir_all(&dir).map_err(|e| io_err("create temp folder", e))?;
        let unique = format!(
            "{}-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let path = dir.join(unique);
        let f = fs::File::create(&path).map_err(|e| io_err("create temp file", e))?;
        Ok((f, path))
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn mtime_ns(md: &fs::Metadata) -> u128 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

fn io_err(what: &str, e: std::io::Error) -> PortError {
    if e.kind() == std::io::ErrorKind::NotFound {
        PortError::not_found(SYSTEM, format!("{what}: not found"))
    } else {
        PortError::new(SYSTEM, format!("{what}: {e}"))
    }
}

/// Hex SHA-256 of a byte slice, truncated to 32 hex digits (the length of an S3 ETag).
pub fn etag_of(bytes: &[u8]) -> String {
    hex32(&Sha256::digest(bytes))
}

fn hex32(d: &[u8]) -> String {
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex32(&h.finalize()))
}

/// Validates a bucket name: S3's rules (3-63 of `a-z0-9.-`, starting and ending alphanumeric).
pub fn check_bucket(bucket: &str) -> Result<(), PortError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.as_bytes()[0].is_ascii_alphanumeric()
        && bucket.as_bytes()[bucket.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(PortError::new(
            SYSTEM,
            format!("invalid bucket name {bucket:?}"),
        ))
    }
}

/// Validates an object key for the folder store: no empty, `.` or `..` components, no absolute
/// paths, no NUL or backslash, at most 1024 bytes, components at most 255 bytes. Such keys are
/// refused so that nothing is ever written outside the bucket folder.
pub fn check_key(key: &str) -> Result<(), PortError> {
    let bad = |why: &str| {
        Err(PortError::new(
            SYSTEM,
            format!("refused object key {:?}: {why}", truncate(key, 80)),
        ))
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return bad("longer than 1024 bytes");
    }
    if key.contains('\0') || key.contains('\\') {
        return bad("contains NUL or backslash");
    }
    if key.starts_with('/') {
        return bad("absolute path");
    }
    for c in key.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            return bad("empty, '.' or '..' path component");
        }
        if c.len() > MAX_COMPONENT_BYTES {
            return bad("a path component longer than 255 bytes");
        }
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl ObjectStore for FolderStore {
    fn bucket_exists(&self, bucket: &str) -> Result<bool, PortError> {
        Ok(check_bucket(bucket).is_ok() && self.bucket_dir(bucket).is_dir())
    }

    fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        self.require_bucket(bucket)?;
        let path = self.object_path(bucket, key)?;
        if !path.is_file() {
            return Ok(None);
        }
        self.meta_of(bucket, key, &path).map(Some)
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        self.require_bucket(bucket)?;
        let base = self.bucket_dir(bucket);
        let mut keys = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let entries = fs::read_dir(&dir).map_err(|e| io_err(&format!("list {bucket}"), e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_err(&format!("list {bucket}"), e))?;
                let path = entry.path();
                let ft = entry
                    .file_type()
                    .map_err(|e| io_err(&format!("list {bucket}"), e))?;
                if ft.is_dir() {
                    stack.push(path);
                } else if ft.is_file()
                    && let Ok(rel) = path.strip_prefix(&base)
                    && let Some(rel) = rel.to_str()
                {
                    let key = rel.replace(std::path::MAIN_SEPARATOR, "/");
                    if key.starts_with(prefix) {
                        keys.push((key, path));
                    }
                }
            }
        }
        keys.sort();
        keys.into_iter()
            .map(|(key, path)| self.meta_of(bucket, &key, &path))
            .collect()
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        self.require_bucket(bucket)?;
        let path = self.object_path(bucket, key)?;
        fs::read(&path).map_err(|e| io_err(&format!("s3://{bucket}/{key}"), e))
    }

    fn get_range(
        &self,
        bucket: &str,
        key: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, PortError> {
        use std::io::{Seek, SeekFrom};
        self.require_bucket(bucket)?;
        let path = self.object_path(bucket, key)?;
        let what = format!("s3://{bucket}/{key}");
        let mut f = fs::File::open(&path).map_err(|e| io_err(&what, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| io_err(&what, e))?;
        let mut out = Vec::new();
        f.take(len)
            .read_to_end(&mut out)
            .map_err(|e| io_err(&what, e))?;
        Ok(out)
    }

    fn download(&self, bucket: &str, key: &str, dest: &Path) -> Result<ObjectMeta, PortError> {
        self.require_bucket(bucket)?;
        let path = self.object_path(bucket, key)?;
        let meta = self.meta_of(bucket, key, &path)?;
        fs::copy(&path, dest).map_err(|e| io_err(&format!("download s3://{bucket}/{key}"), e))?;
        Ok(meta)
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<ObjectMeta, PortError> {
        self.require_bucket(bucket)?;
        check_key(key)?;
        let (mut f, tmp) = self.temp_file()?;
        let written = f.write_all(bytes).and_then(|_| f.sync_data());
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&format!("s3://{bucket}/{key}"), e));
        }
        drop(f);
        self.commit(bucket, key, &tmp, etag_of(bytes), bytes.len() as u64)
    }

    fn upload(&self, bucket: &str, key: &str, src: &Path) -> Result<ObjectMeta, PortError> {
        self.require_bucket(bucket)?;
        check_key(key)?;
        let (mut out, tmp) = self.temp_file()?;
        let what = format!("upload {} to s3://{bucket}/{key}", src.display());
        let result = (|| -> std::io::Result<(String, u64)> {
            let mut input = fs::File::open(src)?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut size = 0u64;
            loop {
                let n = input.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
            out.sync_data()?;
            Ok((hex32(&h.finalize()), size))
        })();
        drop(out);
        match result {
            Ok((etag, size)) => self.commit(bucket, key, &tmp, etag, size),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(io_err(&what, e))
            }
        }
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), PortError> {
        self.require_bucket(bucket)?;
        let path = self.object_path(bucket, key)?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&format!("delete s3://{bucket}/{key}"), e)),
        }
        let _ = fs::remove_file(self.sidecar_path(bucket, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn store_with_events() -> (tempfile::TempDir, FolderStore, Arc<Mutex<Vec<ObjectEvent>>>) {
        let dir = tempfile::tempdir().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let store =
            FolderStore::new(dir.path()).with_events(Arc::new(move |e| s2.lock().unwrap().push(e)));
        store.create_bucket("bkt").unwrap();
        (dir, store, seen)
    }

    #[test]
    fn put_get_head_list_range_and_events() {
        let (_d, s, seen) = store_with_events();
        let m = s.put("bkt", "a/b.txt", b"hello world").unwrap();
        assert_eq!(m.size, 11);
        assert_eq!(m.etag, etag_of(b"hello world"));
        assert_eq!(s.get("bkt", "a/b.txt").unwrap(), b"hello world");
        assert_eq!(s.get_range("bkt", "a/b.txt", 6, 100).unwrap(), b"world");
        assert_eq!(s.head("bkt", "a/b.txt").unwrap(), Some(m.clone()));
        assert_eq!(s.head("bkt", "a/missing").unwrap(), None);
        s.put("bkt", "a/c.txt", b"x").unwrap();
        s.put("bkt", "z.txt", b"y").unwrap();
        let keys: Vec<_> = s
            .list("bkt", "a/")
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(keys, ["a/b.txt", "a/c.txt"]);
        {
            let ev = seen.lock().unwrap();
            assert_eq!(ev.len(), 3);
            assert_eq!(ev[0].key, "a/b.txt");
            assert_eq!(ev[0].etag, m.etag);
        }
        // The same content gives the same ETag (replays are recognisable).
        assert_eq!(s.put("bkt", "q", b"hello world").unwrap().etag, m.etag);
    }

    #[test]
    fn a_file_changed_behind_the_stores_back_gets_a_new_etag() {
        let (_d, s, _) = store_with_events();
        let m1 = s.put("bkt", "k", b"one").unwrap();
        let path = s.object_path("bkt", "k").unwrap();
        std::fs::write(&path, b"other content").unwrap();
        let m2 = s.head("bkt", "k").unwrap().unwrap();
        assert_ne!(m1.etag, m2.etag);
        assert_eq!(m2.etag, etag_of(b"other content"));
    }

    #[test]
    fn unsafe_keys_and_missing_buckets_are_refused() {
        let (d, s, _) = store_with_events();
        let long = "x".repeat(1025);
        let component = format!("{}/y", "x".repeat(256));
        for key in [
            "../escape",
            "a/../../b",
            "/abs",
            "a//b",
            "a/./b",
            "nul\0byte",
            "back\\slash",
            "",
            long.as_str(),
            component.as_str(),
        ] {
            assert!(s.put("bkt", key, b"x").is_err(), "{key:?} accepted");
        }
        assert!(!d.path().join("escape").exists());
        let e = s.put("nobucket", "k", b"x").unwrap_err();
        assert!(e.not_found, "{e}");
        assert!(s.put("Bad_Bucket", "k", b"x").is_err());
        assert!(!s.bucket_exists("nobucket").unwrap());
    }

    #[test]
    fn upload_and_download_stream_files() {
        let (d, s, _) = store_with_events();
        let src = d.path().join("src.bin");
        std::fs::write(&src, vec![7u8; 3 << 20]).unwrap();
        let m = s.upload("bkt", "big.bin", &src).unwrap();
        assert_eq!(m.size, 3 << 20);
        let dest = d.path().join("dest.bin");
        s.download("bkt", "big.bin", &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), vec![7u8; 3 << 20]);
        s.delete("bkt", "big.bin").unwrap();
        assert!(s.head("bkt", "big.bin").unwrap().is_none());
        s.delete("bkt", "big.bin").unwrap();
    }
}
