//! S3 object store. Large objects never sit whole in memory: downloads stream the body to the
//! file chunk by chunk, uploads above the multipart threshold go in parts read from the file.

use std::io::Write;
use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::{AwsRuntime, error_code, http_status, port_err};
use crate::ports::{ObjectMeta, ObjectStore, PortError};

const SYSTEM: &str = "object store";
/// S3's smallest part (all but the last), bytes.
const MIN_PART: u64 = 5 << 20;
/// S3's largest number of parts per upload.
const MAX_PARTS: u64 = 10_000;
/// Default size above which uploads go in parts, bytes.
const DEFAULT_THRESHOLD: u64 = 16 << 20;

/// Buckets on S3 (or an S3-compatible endpoint).
pub struct S3Store {
    client: Client,
    rt: AwsRuntime,
    multipart_threshold: u64,
    page_size: Option<i32>,
}

fn unquote(etag: Option<&str>) -> String {
    etag.unwrap_or("").trim_matches('"').to_string()
}

impl S3Store {
    /// An adapter over a client; `multipart_threshold` (bytes, at least 5 MiB; default 16 MiB)
    /// is the size above which [`ObjectStore::upload`] uses a multipart upload, with parts of
    /// that size.
    pub fn new(client: Client, rt: AwsRuntime, multipart_threshold: Option<u64>) -> Self {
        Self {
            client,
            rt,
            multipart_threshold: multipart_threshold
                .unwrap_or(DEFAULT_THRESHOLD)
                .max(MIN_PART),
            page_size: None,
        }
    }

    /// Lists at most `n` keys per request (S3's default is 1000); tests use it to exercise
    /// pagination without writing a thousand objects.
    pub fn with_page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n.max(1));
        self
    }

    /// The SDK client (for wiring that has no port, e.g. bucket notifications in tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates a bucket; an existing bucket of ours is not an error (emulators and tests; the
    /// stack creates the real ones).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), PortError> {
        self.rt.block_on(async {
            match self.client.create_bucket().bucket(bucket).send().await {
                Ok(_) => Ok(()),
                Err(e) if matches!(error_code(&e), Some("BucketAlreadyOwnedByYou")) => Ok(()),
                Err(e) => Err(port_err(SYSTEM, &format!("create bucket {bucket}"), &e)),
            }
        })
    }

    async fn bucket_exists_async(&self, bucket: &str) -> Result<bool, PortError> {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(true),
            // 403: it exists but is not ours to read, which for a study is the same failure.
            Err(e) if matches!(http_status(&e), Some(404 | 403 | 301)) => Ok(false),
            Err(e) => Err(port_err(SYSTEM, &format!("head bucket {bucket}"), &e)),
        }
    }

    async fn upload_multipart(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        size: u64,
    ) -> Result<String, PortError> {
        let what = format!("upload {} to s3://{bucket}/{key}", src.display());
        let part_size = self.multipart_threshold.max(size.div_ceil(MAX_PARTS));
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| port_err(SYSTEM, &what, &e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| PortError::new(SYSTEM, format!("{what}: no upload id")))?
            .to_string();
        let parts = async {
            let mut parts = Vec::new();
            let mut offset = 0u64;
            let mut number = 1i32;
            while offset < size {
                let len = part_size.min(size - offset);
                let body = ByteStream::read_from()
                    .path(src)
                    .offset(offset)
                    .length(Length::Exact(len))
                    .build()
                    .await
                    .map_err(|e| PortError::new(SYSTEM, format!("{what}: {e}")))?;
                let out = self
                    .client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .content_length(len as i64)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| port_err(SYSTEM, &format!("{what} (part {number})"), &e))?;
                parts.push(
                    CompletedPart::builder()
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .part_number(number)
                        .build(),
                );
                offset += len;
                number += 1;
            }
            let done = self
                .client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| port_err(SYSTEM, &what, &e))?;
            Ok::<_, PortError>(unquote(done.e_tag()))
        }
        .await;
        if parts.is_err() {
            // Parts of an abandoned upload are billed until aborted (the stack also expires them
            // with a lifecycle rule, for uploads cut short by a crash).
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        parts
    }
}

/// What [`S3Store::upload_resumable`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    /// The object as S3 reports it after the upload (size in bytes, ETag without quotes).
    pub meta: ObjectMeta,
    /// Parts of the object (1 for a single PUT).
    pub parts: u32,
    /// The multipart upload id, `None` for a single PUT.
    pub upload_id: Option<String>,
    /// Parts found already uploaded with the same bytes (an interrupted upload resumed).
    pub resumed_parts: u32,
    /// Bytes of those parts.
    pub resumed_bytes: u64,
}

/// The state file of an unfinished multipart upload: enough to find it again and to tell
/// whether the source is still the file it was started from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct UploadState {
    bucket: String,
    key: String,
    source: String,
    size: u64,
    mtime_ns: u128,
    part_size: u64,
    upload_id: String,
}

impl UploadState {
    fn read(path: &Path) -> Option<UploadState> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Written through a temporary file so that a crash never leaves half a state file.
    fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }
}

/// Reads `len` bytes at `offset` of `src` (one part; parts are bounded by the part size).
fn read_part(f: &mut std::fs::File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(len).read_to_end(&mut buf)?;
    if (buf.len() as u64) < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file shrank during the upload",
        ));
    }
    Ok(buf)
}

impl S3Store {
    /// The size of each part (bytes) of a multipart upload of `size` bytes: the multipart
    /// threshold, or more when that would need more than 10 000 parts.
    pub fn part_size(&self, size: u64) -> u64 {
        self.multipart_threshold.max(size.div_ceil(MAX_PARTS))
    }

    /// The size above which [`S3Store::upload_resumable`] and [`ObjectStore::upload`] go in
    /// parts, bytes.
    pub fn multipart_threshold(&self) -> u64 {
        self.multipart_threshold
    }

    /// A pre-signed URL that lets its holder PUT exactly `bucket/key` (SigV4 query signature
    /// over the method, the path and the `host` header) until `expires` from now. Nothing is
    /// sent to S3; the caller's credentials sign it, and the URL stops working when those
    /// credentials expire (temporary credentials cap the lifetime).
    pub fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        expires: std::time::Duration,
    ) -> Result<String, PortError> {
        let what = format!("presign PUT s3://{bucket}/{key}");
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires)
            .map_err(|e| PortError::new(SYSTEM, format!("{what}: {e}")))?;
        self.rt.block_on(async {
            let req = self
                .client
                .put_object()
                .bucket(bucket)
                .key(key)
                .presigned(config)
                .await
                .map_err(|e| port_err(SYSTEM, &what, &e))?;
            Ok(req.uri().to_string())
        })
    }

    /// [`ObjectStore::download`] reporting progress: `progress(n)` after each chunk of `n`
    /// bytes written. Streams to `<dest>.part` and renames it when complete, so the whole
    /// object is never in memory and `dest` never holds a partial object.
    pub fn download_with_progress(
        &self,
        bucket: &str,
        key: &str,
        dest: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<ObjectMeta, PortError> {
        let what = format!("download s3://{bucket}/{key} to {}", dest.display());
        let mut tmp_name = dest.as_os_str().to_owned();
        tmp_name.push(".part");
        let tmp = std::path::PathBuf::from(tmp_name);
        let result = self.rt.block_on(async {
            let mut o = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| port_err(SYSTEM, &what, &e))?;
            let expected = o.content_length().map(|n| n.max(0) as u64);
            let etag = unquote(o.e_tag());
            let io = |e: std::io::Error| PortError::new(SYSTEM, format!("{what}: {e}"));
            // This future runs on the calling (blocking) thread, so plain file writes are fine.
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
            let mut size = 0u64;
            while let Some(chunk) = o
                .body
                .try_next()
                .await
                .map_err(|e| PortError::transient(SYSTEM, format!("{what}: {e}")))?
            {
                f.write_all(&chunk).map_err(io)?;
                size += chunk.len() as u64;
                progress(chunk.len() as u64);
            }
            f.into_inner()
                .map_err(|e| io(e.into_error()))?
                .sync_all()
                .map_err(io)?;
            if expected.is_some_and(|n| n != size) {
                return Err(PortError::transient(
                    SYSTEM,
                    format!("{what}: got {size} of {} bytes", expected.unwrap_or(0)),
                ));
            }
            std::fs::rename(&tmp, dest).map_err(io)?;
            Ok(ObjectMeta {
                key: key.to_string(),
                size,
                etag,
            })
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Uploads `src` to `bucket/key` so that an interrupted upload can be resumed, and checks
    /// the result: S3's size and ETag must equal the local file's (the MD5 of the file, or for
    /// parts the MD5 of the parts' MD5s with `-<parts>`; S3 computes ETags that way for
    /// unencrypted and SSE-S3 objects, which the stack's buckets are).
    ///
    /// Files up to the multipart threshold go in one PUT. Larger ones go in parts of
    /// [`S3Store::part_size`] bytes, one part in memory at a time. The upload id is recorded
    /// in `state_file` as soon as the upload is created; a later call for the same bucket, key
    /// and unchanged file (size and modification time) continues that upload: ListParts names
    /// the parts already there, and each is kept only when its size and ETag match the local
    /// bytes (anything else is uploaded again). Without a state file, an unfinished upload of
    /// the same key found with ListMultipartUploads is continued the same way. On failure
    /// the upload is left in place (not aborted) for the next call; on success the state file
    /// is removed.
    pub fn upload_resumable(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        state_file: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<UploadReport, PortError> {
        let what = format!("upload {} to s3://{bucket}/{key}", src.display());
        let local = |e: std::io::Error| PortError::new(SYSTEM, format!("{what}: {e}"));
        let meta = std::fs::metadata(src).map_err(local)?;
        let size = meta.len();
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let mut file = std::fs::File::open(src).map_err(local)?;
        if size <= self.multipart_threshold {
            let bytes = read_part(&mut file, 0, size).map_err(local)?;
            let digest = md5::digest(&bytes);
            self.rt.block_on(async {
                self.client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_md5(aws_smithy_types::base64::encode(digest))
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .map_err(|e| port_err(SYSTEM, &what, &e))
            })?;
            progress(size);
            let meta = self.verify(bucket, key, size, &md5::hex(&digest), &what)?;
            return Ok(UploadReport {
                meta,
                parts: 1,
                upload_id: None,
                resumed_parts: 0,
                resumed_bytes: 0,
            });
        }

        let part_size = self.part_size(size);
        let mut state = UploadState {
            bucket: bucket.into(),
            key: key.into(),
            source: src.display().to_string(),
            size,
            mtime_ns,
            part_size,
            upload_id: String::new(),
        };
        // A state file for another version of the file names an upload whose parts are
        // useless: abort it rather than leave it billed until the lifecycle rule expires it.
        let recorded = match UploadState::read(state_file) {
            Some(old) if old.upload_id.is_empty() => None,
            Some(old)
                if UploadState {
                    upload_id: old.upload_id.clone(),
                    ..state.clone()
                } == old =>
            {
                Some(old.upload_id)
            }
            Some(old) => {
                if old.bucket == bucket && old.key == key {
                    let _ = self.rt.block_on(
                        self.client
                            .abort_multipart_upload()
                            .bucket(bucket)
                            .key(key)
                            .upload_id(&old.upload_id)
                            .send(),
                    );
                }
                None
            }
            None => None,
        };
        let candidate = match recorded {
            Some(id) => Some(id),
            None if !state_file.exists() => self.latest_upload(bucket, key)?,
            None => None,
        };
        let mut existing = std::collections::HashMap::new();
        if let Some(id) = candidate {
            match self.list_parts(bucket, key, &id) {
                Ok(parts) => {
                    existing = parts;
                    state.upload_id = id;
                }
                // Completed, aborted or expired since: start afresh.
                Err(e) if e.not_found => {}
                Err(e) => return Err(e),
            }
        }
        if state.upload_id.is_empty() {
            let created = self
                .rt
                .block_on(
                    self.client
                        .create_multipart_upload()
                        .bucket(bucket)
                        .key(key)
                        .send(),
                )
                .map_err(|e| port_err(SYSTEM, &what, &e))?;
            state.upload_id = created
                .upload_id()
                .ok_or_else(|| PortError::new(SYSTEM, format!("{what}: no upload id")))?
                .to_string();
        }
        state.write(state_file).map_err(|e| {
            PortError::new(
                SYSTEM,
                format!("{what}: state file {}: {e}", state_file.display()),
            )
        })?;
        let upload_id = state.upload_id.clone();

        let mut parts = Vec::new();
        let mut digests = Vec::with_capacity(16 * size.div_ceil(part_size) as usize);
        let (mut resumed_parts, mut resumed_bytes) = (0u32, 0u64);
        let mut offset = 0u64;
        let mut number = 1i32;
        while offset < size {
            let len = part_size.min(size - offset);
            let bytes = read_part(&mut file, offset, len).map_err(local)?;
            let digest = md5::digest(&bytes);
            digests.extend_from_slice(&digest);
            let hex = md5::hex(&digest);
            let etag = match existing.get(&number) {
                Some((have_len, have_etag)) if *have_len == len && *have_etag == hex => {
                    resumed_parts += 1;
                    resumed_bytes += len;
                    have_etag.clone()
                }
                _ => {
                    let out = self
                        .rt
                        .block_on(
                            self.client
                                .upload_part()
                                .bucket(bucket)
                                .key(key)
                                .upload_id(&upload_id)
                                .part_number(number)
                                .content_length(len as i64)
                                .content_md5(aws_smithy_types::base64::encode(digest))
                                .body(ByteStream::from(bytes))
                                .send(),
                        )
                        .map_err(|e| {
                            port_err(
                                SYSTEM,
                                &format!("{what} (part {number}, upload id {upload_id})"),
                                &e,
                            )
                        })?;
                    unquote(out.e_tag())
                }
            };
            parts.push(
                CompletedPart::builder()
                    .e_tag(format!("\"{etag}\""))
                    .part_number(number)
                    .build(),
            );
            progress(len);
            offset += len;
            number += 1;
        }
        let count = parts.len() as u32;
        self.rt
            .block_on(
                self.client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send(),
            )
            .map_err(|e| port_err(SYSTEM, &format!("{what} (upload id {upload_id})"), &e))?;
        let _ = std::fs::remove_file(state_file);
        let expected = format!("{}-{count}", md5::hex(&md5::digest(&digests)));
        let meta = self.verify(bucket, key, size, &expected, &what)?;
        Ok(UploadReport {
            meta,
            parts: count,
            upload_id: Some(upload_id),
            resumed_parts,
            resumed_bytes,
        })
    }

    /// HEADs the uploaded object and checks its size and ETag against the local file's.
    fn verify(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
        etag: &str,
        what: &str,
    ) -> Result<ObjectMeta, PortError> {
        let meta = self
            .head(bucket, key)?
            .ok_or_else(|| PortError::new(SYSTEM, format!("{what}: the object is not there")))?;
        if meta.size != size || meta.etag != etag {
            return Err(PortError::new(
                SYSTEM,
                format!(
                    "{what}: verification failed: S3 has {} bytes with ETag {}, the file is {size} \
                     bytes with ETag {etag} (a concurrent writer, or a bucket with SSE-KMS whose \
                     ETags are not MD5s)",
                    meta.size, meta.etag
                ),
            ));
        }
        Ok(meta)
    }

    /// The most recently started unfinished multipart upload of exactly `key`, if any.
    fn latest_upload(&self, bucket: &str, key: &str) -> Result<Option<String>, PortError> {
        let what = format!("list multipart uploads of s3://{bucket}/{key}");
        self.rt.block_on(async {
            let mut best: Option<(aws_smithy_types::DateTime, String)> = None;
            let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
            loop {
                let page = self
                    .client
                    .list_multipart_uploads()
                    .bucket(bucket)
                    .prefix(key)
                    .set_key_marker(key_marker.take())
                    .set_upload_id_marker(id_marker.take())
                    .send()
                    .await
                    .map_err(|e| port_err(SYSTEM, &what, &e))?;
                for u in page.uploads() {
                    if let (Some(k), Some(id)) = (u.key(), u.upload_id())
                        && k == key
                    {
                        let at = u
                            .initiated()
                            .copied()
                            .unwrap_or(aws_smithy_types::DateTime::from_secs(0));
                        if best.as_ref().is_none_or(|(t, _)| at >= *t) {
                            best = Some((at, id.to_string()));
                        }
                    }
                }
                if page.is_truncated() != Some(true) {
                    break;
                }
                key_marker = page.next_key_marker().map(str::to_string);
                id_marker = page.next_upload_id_marker().map(str::to_string);
                if key_marker.is_none() && id_marker.is_none() {
                    break;
                }
            }
            Ok(best.map(|(_, id)| id))
        })
    }

    /// The parts of an unfinished upload: part number to (size, ETag without quotes).
    fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<std::collections::HashMap<i32, (u64, String)>, PortError> {
        let what = format!("list parts of s3://{bucket}/{key} upload {upload_id}");
        self.rt.block_on(async {
            let mut out = std::collections::HashMap::new();
            let mut marker = None::<String>;
            loop {
                let sent = self
                    .client
                    .list_parts()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .set_part_number_marker(marker.take())
                    .send()
                    .await;
                let (truncated, next) = match sent {
                    Ok(page) => {
                        for p in page.parts() {
                            if let Some(n) = p.part_number() {
                                let size = p.size().unwrap_or(0).max(0) as u64;
                                out.insert(n, (size, unquote(p.e_tag())));
                            }
                        }
                        (
                            page.is_truncated() == Some(true),
                            page.next_part_number_marker().map(str::to_string),
                        )
                    }
                    Err(e) => {
                        // Some S3-compatible servers (moto 5.2) answer 200 with the root
                        // element `ListPartsResponse`, which the SDK refuses: read the parts
                        // from the body instead.
                        let body = e
                            .raw_response()
                            .filter(|r| r.status().is_success())
                            .and_then(|r| r.body().bytes())
                            .and_then(|b| std::str::from_utf8(b).ok())
                            .filter(|b| b.contains("<ListPartsResponse"));
                        let Some(body) = body else {
                            let mut pe = port_err(SYSTEM, &what, &e);
                            pe.not_found |= error_code(&e) == Some("NoSuchUpload");
                            return Err(pe);
                        };
                        list_parts_xml(body, &mut out)
                    }
                };
                match next {
                    Some(m) if truncated => marker = Some(m),
                    _ => break,
                }
            }
            Ok(out)
        })
    }
}

/// The text of the first `<tag>...</tag>` in `xml`.
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// Reads a ListParts answer's parts (number, size, ETag) into `out`; returns whether it is
/// truncated and the next part-number marker.
fn list_parts_xml(
    xml: &str,
    out: &mut std::collections::HashMap<i32, (u64, String)>,
) -> (bool, Option<String>) {
    for part in xml.split("<Part>").skip(1) {
        let part = part.split("</Part>").next().unwrap_or("");
        let number = xml_text(part, "PartNumber").and_then(|n| n.trim().parse().ok());
        let size = xml_text(part, "Size").and_then(|n| n.trim().parse().ok());
        let etag = xml_text(part, "ETag").map(|e| e.replace("&quot;", "\""));
        if let (Some(n), Some(size), Some(etag)) = (number, size, etag) {
            out.insert(n, (size, unquote(Some(&etag))));
        }
    }
    let before_parts = xml.split("<Part>").next().unwrap_or("");
    (
        xml_text(before_parts, "IsTruncated") == Some("true"),
        xml_text(before_parts, "NextPartNumberMarker").map(str::to_string),
    )
}

/// MD5 for comparing local bytes with S3 ETags (the workspace's one implementation is
/// `asl::md5`). Not for security: S3 ETags are MD5s, and that is all this is used for.
mod md5 {
    pub use asl::md5 as digest;

    /// Lower-case hex, as S3 writes ETags.
    pub fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rfc_1321_test_suite() {
            let cases = [
                ("", "d41d8cd98f00b204e9800998ecf8427e"),
                ("a", "0cc175b9c0f1b6a831c399e269772661"),
                ("abc", "900150983cd24fb0d6963f7d28e17f72"),
                ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
                (
                    "abcdefghijklmnopqrstuvwxyz",
                    "c3fcd3d76192e4007dfb496cca67e13b",
                ),
                (
                    "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                    "57edf4a22be3c955ac49da2e2107b67a",
                ),
            ];
            for (input, want) in cases {
                assert_eq!(hex(&digest(input.as_bytes())), want, "{input:?}");
            }
            // 56..63 bytes of tail need a second padding block.
            assert_eq!(
                hex(&digest(&[b'x'; 56])),
                "668a72d5ba17f08e62dabcafad6db14b"
            );
        }
    }
}

impl ObjectStore for S3Store {
    fn bucket_exists(&self, bucket: &str) -> Result<bool, PortError> {
        self.rt.block_on(self.bucket_exists_async(bucket))
    }

    fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        self.rt.block_on(async {
            match self
                .client
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
            {
                Ok(o) => Ok(Some(ObjectMeta {
                    key: key.to_string(),
                    size: o.content_length().unwrap_or(0).max(0) as u64,
                    etag: unquote(o.e_tag()),
                })),
                // HEAD answers carry no error code: tell a missing bucket from a missing key.
                Err(e) if http_status(&e) == Some(404) => {
                    if self.bucket_exists_async(bucket).await? {
                        Ok(None)
                    } else {
                        Err(PortError::not_found(
                            SYSTEM,
                            format!("bucket {bucket} does not exist"),
                        ))
                    }
                }
                Err(e) => Err(port_err(SYSTEM, &format!("head s3://{bucket}/{key}"), &e)),
            }
        })
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        self.rt.block_on(async {
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_max_keys(self.page_size)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page
                    .map_err(|e| port_err(SYSTEM, &format!("list s3://{bucket}/{prefix}"), &e))?;
                for o in page.contents() {
                    if let Some(key) = o.key() {
                        out.push(ObjectMeta {
                            key: key.to_string(),
                            size: o.size().unwrap_or(0).max(0) as u64,
                            etag: unquote(o.e_tag()),
                        });
                    }
                }
            }
            // S3 lists in UTF-8 byte order already; sorting keeps the contract if an
            // S3-compatible store does not.
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        let what = format!("get s3://{bucket}/{key}");
        self.rt.block_on(async {
            let o = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| port_err(SYSTEM, &what, &e))?;
            let bytes = o
                .body
                .collect()
                .await
                .map_err(|e| PortError::transient(SYSTEM, format!("{what}: {e}")))?;
            Ok(bytes.into_bytes().to_vec())
        })
    }

    fn get_range(
        &self,
        bucket: &str,
        key: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, PortError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let what = format!("get s3://{bucket}/{key} bytes {offset}+{len}");
        let last = offset.saturating_add(len - 1);
        self.rt.block_on(async {
            let o = match self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .range(format!("bytes={offset}-{last}"))
                .send()
                .await
            {
                Ok(o) => o,
                // A range starting at or past the end: nothing there, as a file read would say.
                Err(e)
                    if error_code(&e) == Some("InvalidRange") || http_status(&e) == Some(416) =>
                {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(port_err(SYSTEM, &what, &e)),
            };
            let bytes = o
                .body
                .collect()
                .await
                .map_err(|e| PortError::transient(SYSTEM, format!("{what}: {e}")))?
                .into_bytes();
            // A server that ignores Range sends the whole object: never return more than asked.
            let mut v = bytes.to_vec();
            v.truncate(len.min(usize::MAX as u64) as usize);
            Ok(v)
        })
    }

    fn download(&self, bucket: &str, key: &str, dest: &Path) -> Result<ObjectMeta, PortError> {
        self.download_with_progress(bucket, key, dest, &|_| ())
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<ObjectMeta, PortError> {
        let what = format!("put s3://{bucket}/{key}");
        self.rt.block_on(async {
            let o = self
                .client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await
                .map_err(|e| port_err(SYSTEM, &what, &e))?;
            Ok(ObjectMeta {
                key: key.to_string(),
                size: bytes.len() as u64,
                etag: unquote(o.e_tag()),
            })
        })
    }

    fn upload(&self, bucket: &str, key: &str, src: &Path) -> Result<ObjectMeta, PortError> {
        let what = format!("upload {} to s3://{bucket}/{key}", src.display());
        let size = std::fs::metadata(src)
            .map_err(|e| PortError::new(SYSTEM, format!("{what}: {e}")))?
            .len();
        self.rt.block_on(async {
            let etag = if size > self.multipart_threshold {
                self.upload_multipart(bucket, key, src, size).await?
            } else {
                let body = ByteStream::from_path(src)
                    .await
                    .map_err(|e| PortError::new(SYSTEM, format!("{what}: {e}")))?;
                let o = self
                    .client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_length(size as i64)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| port_err(SYSTEM, &what, &e))?;
                unquote(o.e_tag())
            };
            Ok(ObjectMeta {
                key: key.to_string(),
                size,
                etag,
            })
        })
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), PortError> {
        self.rt.block_on(async {
            self.client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| port_err(SYSTEM, &format!("delete s3://{bucket}/{key}"), &e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parts_xml_reads_parts_and_paging() {
        let xml = r#"<?xml version="1.0"?><ListPartsResponse><Bucket>b</Bucket>
            <NextPartNumberMarker>2</NextPartNumberMarker><IsTruncated>true</IsTruncated>
            <Part><PartNumber>1</PartNumber><ETag>"aa"</ETag><Size>5242880</Size></Part>
            <Part><PartNumber>2</PartNumber><ETag>&quot;bb&quot;</ETag><Size>7</Size></Part>
            <Part><PartNumber>x</PartNumber><ETag>"cc"</ETag><Size>1</Size></Part>
            </ListPartsResponse>"#;
        let mut out = std::collections::HashMap::new();
        assert_eq!(list_parts_xml(xml, &mut out), (true, Some("2".into())));
        assert_eq!(out.len(), 2);
        assert_eq!(out[&1], (5_242_880, "aa".to_string()));
        assert_eq!(out[&2], (7, "bb".to_string()));
    }
}
