//! S3 event notifications: the records a bucket sends on `ObjectCreated`, as JSON in the shape S3
//! gives them (directly, through SQS, or wrapped by EventBridge), and their decoding.

use serde_json::{Value, json};

use crate::ports::ObjectMeta;

/// One object event: bucket, decoded key, size and ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    /// Event name, e.g. `ObjectCreated:Put`.
    pub event_name: String,
    /// Bucket name.
    pub bucket: String,
    /// Object key, URL-decoded.
    pub key: String,
    /// Object size, bytes.
    pub size: u64,
    /// Object ETag.
    pub etag: String,
}

impl ObjectEvent {
    /// The S3 notification record for this event (key URL-encoded, as S3 sends it).
    pub fn to_record(&self) -> Value {
        json!({
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": self.event_name,
            "s3": {
                "bucket": {"name": self.bucket},
                "object": {"key": url_encode_key(&self.key), "size": self.size, "eTag": self.etag}
            }
        })
    }
}

/// The `ObjectCreated:Put` event for an object just written.
pub fn object_created(bucket: &str, meta: &ObjectMeta) -> ObjectEvent {
    ObjectEvent {
        event_name: "ObjectCreated:Put".to_string(),
        bucket: bucket.to_string(),
        key: meta.key.clone(),
        size: meta.size,
        etag: meta.etag.clone(),
    }
}

/// Why an event could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("bad S3 event: {0}")]
pub struct EventError(pub String);

/// Decodes the object events of a message body: an S3 notification (`{"Records": [...]}`), an
/// EventBridge "Object Created" event (`{"detail": {"bucket": .., "object": ..}}`), or a single
/// record. S3's test event (`s3:TestEvent`) gives no events. Keys are URL-decoded (`+` is a space).
pub fn decode_events(body: &Value) -> Result<Vec<ObjectEvent>, EventError> {
    if body.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if let Some(records) = body.get("Records") {
        let records = records
            .as_array()
            .ok_or_else(|| EventError("Records is not an array".into()))?;
        return records.iter().map(decode_record).collect();
    }
    if let Some(detail) = body.get("detail") {
        let bucket = str_at(detail, &["bucket", "name"])?;
        let key = str_at(detail, &["object", "key"])?;
        return Ok(vec![ObjectEvent {
            event_name: body
                .get("detail-type")
                .and_then(Value::as_str)
                .unwrap_or("Object Created")
                .to_string(),
            bucket: bucket.to_string(),
            key: url_decode_key(key)?,
            size: detail
                .pointer("/object/size")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            etag: detail
                .pointer("/object/etag")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_matches('"')
                .to_string(),
        }]);
    }
    decode_record(body).map(|e| vec![e])
}

fn decode_record(r: &Value) -> Result<ObjectEvent, EventError> {
    let bucket = str_at(r, &["s3", "bucket", "name"])?;
    let key = str_at(r, &["s3", "object", "key"])?;
    Ok(ObjectEvent {
        event_name: r
            .get("eventName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        bucket: bucket.to_string(),
        key: url_decode_key(key)?,
        size: r
            .pointer("/s3/object/size")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        etag: r
            .pointer("/s3/object/eTag")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_matches('"')
            .to_string(),
    })
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, EventError> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(p)
            .ok_or_else(|| EventError(format!("missing field {}", path.join("."))))?;
    }
    cur.as_str()
        .ok_or_else(|| EventError(format!("field {} is not a string", path.join("."))))
}

/// Decodes an S3 event key: `%XX` escapes and `+` for space.
pub fn url_decode_key(key: &str) -> Result<String, EventError> {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| EventError(format!("bad %-escape in key {key:?}")))?;
                out.push(hex);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| EventError(format!("key {key:?} is not UTF-8")))
}

/// Encodes a key the way S3 event notifications do (space as `+`, reserved bytes as `%XX`).
pub fn url_encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_encoding() {
        let key = "raw/S 01/v1+x/ä%.cwa";
        assert_eq!(url_decode_key(&url_encode_key(key)).unwrap(), key);
        assert_eq!(
            url_decode_key("studies%2Fs.yaml").unwrap(),
            "studies/s.yaml"
        );
        assert_eq!(url_decode_key("a+b").unwrap(), "a b");
        assert!(url_decode_key("bad%zz").is_err());
    }

    #[test]
    fn decodes_s3_eventbridge_and_test_events() {
        let s3 = json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "raw/a+b.cwa", "size": 3, "eTag": "\"e\""}}}]});
        let ev = decode_events(&s3).unwrap();
        assert_eq!(ev[0].key, "raw/a b.cwa");
        assert_eq!(ev[0].etag, "e");
        let eb = json!({"detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": {"key": "k%2F1", "size": 1, "etag": "x"}}});
        assert_eq!(decode_events(&eb).unwrap()[0].key, "k/1");
        assert!(
            decode_events(&json!({"Event": "s3:TestEvent"}))
                .unwrap()
                .is_empty()
        );
        assert!(decode_events(&json!({"Records": [{"s3": {}}]})).is_err());
    }
}
