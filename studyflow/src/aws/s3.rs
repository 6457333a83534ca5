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
        let what = format!("download s3://{bucket}/{key} to {}", dest.display());
        let tmp = dest.with_extension("part");
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
