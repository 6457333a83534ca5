//! The port contract: one suite of behaviours every adapter of a port must show, written over
//! `&dyn ObjectStore` / `&dyn Catalog` and run against each backend (tests/ports.rs).

use std::path::Path;

use serde_json::json;
use studyflow::model::{FileItem, FileStatus, StudyItem, StudyStatus, SubjectItem};
use studyflow::ports::{Catalog, FileFilter, ObjectStore, StatusUpdate};

/// Bytes that differ from offset to offset, so a misplaced part or range shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 251) as u8).wrapping_add(seed))
        .collect()
}

/// `bucket` exists and is empty; `missing_bucket` does not exist. `big` is the size of the
/// streamed file, bytes (above the adapter's multipart threshold where it has one).
pub fn object_store(
    store: &dyn ObjectStore,
    bucket: &str,
    missing_bucket: &str,
    scratch: &Path,
    big: usize,
) {
    assert!(store.bucket_exists(bucket).unwrap());
    assert!(!store.bucket_exists(missing_bucket).unwrap());

    let m = store.put(bucket, "a/b.txt", b"hello world").unwrap();
    assert_eq!((m.key.as_str(), m.size), ("a/b.txt", 11));
    assert!(!m.etag.is_empty() && !m.etag.contains('"'), "{m:?}");
    assert_eq!(store.get(bucket, "a/b.txt").unwrap(), b"hello world");
    assert_eq!(store.head(bucket, "a/b.txt").unwrap(), Some(m.clone()));

    // Ranged reads: inside, running past the end, starting past the end, empty.
    assert_eq!(store.get_range(bucket, "a/b.txt", 6, 3).unwrap(), b"wor");
    assert_eq!(
        store.get_range(bucket, "a/b.txt", 6, 100).unwrap(),
        b"world"
    );
    assert!(
        store
            .get_range(bucket, "a/b.txt", 11, 5)
            .unwrap()
            .is_empty()
    );
    assert!(store.get_range(bucket, "a/b.txt", 0, 0).unwrap().is_empty());

    // Same bytes, same ETag (replays are recognisable); other bytes, other ETag.
    assert_eq!(
        store.put(bucket, "same", b"hello world").unwrap().etag,
        m.etag
    );
    let other = store.put(bucket, "a/b.txt", b"hello there").unwrap();
    assert_ne!(other.etag, m.etag);
    assert_eq!(
        store.head(bucket, "a/b.txt").unwrap().unwrap().etag,
        other.etag
    );

    // Listing: prefix, key order, pages (adapters under test use tiny pages), odd keys.
    let odd = "raw/S 01/ä+b%20.cwa";
    for k in ["a/d.txt", "a/c.txt", odd, "z.txt", "a/e/f.txt"] {
        store.put(bucket, k, k.as_bytes()).unwrap();
    }
    let keys: Vec<String> = store
        .list(bucket, "a/")
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["a/b.txt", "a/c.txt", "a/d.txt", "a/e/f.txt"]);
    let all = store.list(bucket, "").unwrap();
    assert_eq!(all.len(), 7);
    assert!(
        all.windows(2).all(|w| w[0].key < w[1].key),
        "not in key order"
    );
    let listed = all.iter().find(|m| m.key == odd).expect("odd key listed");
    assert_eq!(listed.size, odd.len() as u64);
    assert_eq!(store.get(bucket, odd).unwrap(), odd.as_bytes());
    assert_eq!(
        all.iter().find(|m| m.key == "a/b.txt").unwrap().etag,
        other.etag
    );
    assert!(store.list(bucket, "nothing/").unwrap().is_empty());

    // Missing things.
    assert_eq!(store.head(bucket, "a/missing").unwrap(), None);
    let e = store.get(bucket, "a/missing").unwrap_err();
    assert!(e.not_found && !e.transient, "{e}");
    let e = store.head(missing_bucket, "k").unwrap_err();
    assert!(e.not_found, "{e}");
    let e = store.put(missing_bucket, "k", b"x").unwrap_err();
    assert!(e.not_found, "{e}");
    assert!(store.list(missing_bucket, "").unwrap_err().not_found);

    // Streaming both ways, with a file big enough for a multipart upload.
    let src = scratch.join("big.src");
    let data = pattern(big, 7);
    std::fs::write(&src, &data).unwrap();
    let up = store.upload(bucket, "big/file.bin", &src).unwrap();
    assert_eq!(up.size, big as u64);
    let head = store.head(bucket, "big/file.bin").unwrap().unwrap();
    assert_eq!(
        (head.size, head.etag.as_str()),
        (big as u64, up.etag.as_str())
    );
    let dest = scratch.join("big.dest");
    let down = store.download(bucket, "big/file.bin", &dest).unwrap();
    assert_eq!(down.size, big as u64);
    assert!(std::fs::read(&dest).unwrap() == data, "download differs");
    let mid = big / 2;
    assert_eq!(
        store
            .get_range(bucket, "big/file.bin", mid as u64, 1000)
            .unwrap(),
        data[mid..mid + 1000]
    );
    assert!(
        store
            .download(bucket, "absent", &scratch.join("x"))
            .is_err()
    );
    assert!(!scratch.join("x").exists(), "a failed download left a file");

    // Deleting is idempotent.
    store.delete(bucket, "big/file.bin").unwrap();
    store.delete(bucket, "big/file.bin").unwrap();
    assert_eq!(store.head(bucket, "big/file.bin").unwrap(), None);
}

fn file(study: &str, key: &str, subject: &str, etag: &str) -> FileItem {
    FileItem {
        study: study.into(),
        file_key: key.into(),
        bucket: "data-bucket".into(),
        subject: subject.into(),
        visit: "V1".into(),
        device: "wrist".into(),
        format: "cwa".into(),
        size: 1 << 33,
        etag: etag.into(),
        recording_start: Some(1_700_000_000.125),
        recording_end: Some(1_700_604_800.5),
        sample_rate: Some(100.0),
        device_id: Some("12345".into()),
        header_error: None,
        status: FileStatus::Registered,
        library_version: None,
        execution_id: None,
        result_prefix: None,
        error: None,
        attempt: 0,
        registered_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn study(id: &str, status: StudyStatus) -> StudyItem {
    StudyItem {
        study: id.into(),
        config_bucket: "cfg".into(),
        config_key: format!("studies/{id}.yaml"),
        config_etag: "ce".into(),
        config_hash: "ch".into(),
        bucket: String::new(),
        status,
        error: None,
        config_json: Some(json!({"study": {"id": id}, "n": [1, 2.5]})),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// The catalog contract. The catalog must be empty (or hold nothing of studies named `<p>-*`);
/// `p` keeps runs on a shared emulator apart.
pub fn catalog(c: &dyn Catalog, p: &str) {
    let (s1, s2) = (format!("{p}-a"), format!("{p}-b"));

    // Studies.
    assert_eq!(c.get_study(&s1).unwrap(), None);
    let a = study(&s1, StudyStatus::Active);
    c.put_study(&study(&s2, StudyStatus::Invalid)).unwrap();
    c.put_study(&a).unwrap();
    assert_eq!(c.get_study(&s1).unwrap(), Some(a.clone()));
    let mut ours: Vec<String> = c
        .list_studies()
        .unwrap()
        .into_iter()
        .map(|s| s.study)
        .filter(|s| s.starts_with(p))
        .collect();
    ours.sort();
    assert_eq!(ours, [s1.clone(), s2.clone()]);
    let replaced = StudyItem {
        error: Some("bad".into()),
        config_json: None,
        status: StudyStatus::Invalid,
        ..a.clone()
    };
    c.put_study(&replaced).unwrap();
    assert_eq!(c.get_study(&s1).unwrap(), Some(replaced));

    // Registration is idempotent per ETag.
    let k = "raw/S1/V1/wrist.cwa";
    let f1 = file(&s1, k, "S1", "e1");
    assert!(c.register_file(&f1).unwrap());
    assert!(!c.register_file(&f1).unwrap(), "a replay rewrote the item");
    assert_eq!(c.get_file(&s1, k).unwrap(), Some(f1.clone()));
    assert_eq!(c.get_file(&s1, "raw/none").unwrap(), None);
    assert_eq!(c.get_file(&s2, k).unwrap(), None);

    // Compare-and-set transitions.
    let none = StatusUpdate::default();
    let w = [FileStatus::Waiting];
    let r = [FileStatus::Registered];
    assert!(
        !c.transition(&s1, k, "e1", &w, FileStatus::Processing, &none)
            .unwrap()
    );
    assert!(
        !c.transition(&s1, k, "old", &r, FileStatus::Waiting, &none)
            .unwrap()
    );
    assert!(
        !c.transition(&s1, "raw/none", "e1", &r, FileStatus::Waiting, &none)
            .unwrap()
    );
    assert!(
        !c.transition(&s1, k, "e1", &[], FileStatus::Waiting, &none)
            .unwrap()
    );
    let with_exec = StatusUpdate {
        execution_id: Some("exec-1".into()),
        library_version: Some("0.1.0".into()),
        ..Default::default()
    };
    assert!(
        c.transition(&s1, k, "e1", &r, FileStatus::Waiting, &with_exec)
            .unwrap()
    );
    assert!(
        !c.transition(&s1, k, "e1", &r, FileStatus::Waiting, &with_exec)
            .unwrap(),
        "twice"
    );
    let got = c.get_file(&s1, k).unwrap().unwrap();
    assert_eq!(got.status, FileStatus::Waiting);
    assert_eq!(got.execution_id.as_deref(), Some("exec-1"));
    assert_eq!(got.library_version.as_deref(), Some("0.1.0"));

    // A new upload replaces a waiting item (reset), but never one being processed.
    let f2 = file(&s1, k, "S1", "e2");
    assert!(c.register_file(&f2).unwrap());
    assert_eq!(c.get_file(&s1, k).unwrap(), Some(f2.clone()));
    assert!(
        !c.transition(&s1, k, "e1", &r, FileStatus::Waiting, &none)
            .unwrap(),
        "stale etag"
    );
    assert!(
        c.transition(&s1, k, "e2", &r, FileStatus::Waiting, &none)
            .unwrap()
    );
    let to_processing = StatusUpdate {
        result_prefix: Some("s3://b/results/x/".into()),
        error: Some("transient note".into()),
        ..Default::default()
    };
    assert!(
        c.transition(&s1, k, "e2", &w, FileStatus::Processing, &to_processing)
            .unwrap()
    );
    assert!(
        !c.register_file(&file(&s1, k, "S1", "e3")).unwrap(),
        "replaced mid-run"
    );
    let failed = StatusUpdate {
        error: Some("boom: ä \"quoted\"".into()),
        ..Default::default()
    };
    let from_any = [
        FileStatus::Registered,
        FileStatus::Waiting,
        FileStatus::Processing,
    ];
    assert!(
        c.transition(&s1, k, "e2", &from_any, FileStatus::Failed, &failed)
            .unwrap()
    );
    let got = c.get_file(&s1, k).unwrap().unwrap();
    assert_eq!(got.status, FileStatus::Failed);
    assert_eq!(got.error.as_deref(), Some("boom: ä \"quoted\""));
    assert_eq!(
        got.result_prefix.as_deref(),
        Some("s3://b/results/x/"),
        "kept"
    );
    assert_eq!(got.etag, "e2");

    // Reruns: only from a final status, attempt counted, error cleared.
    let rerun = c
        .reset_for_rerun(&s1, k)
        .unwrap()
        .expect("rerun of a failed file");
    assert_eq!(
        (rerun.status, rerun.attempt, rerun.error),
        (FileStatus::Registered, 1, None)
    );
    assert!(
        c.reset_for_rerun(&s1, k).unwrap().is_none(),
        "rerun of a registered file"
    );
    assert!(c.reset_for_rerun(&s1, "raw/none").unwrap().is_none());
    assert!(
        c.transition(&s1, k, "e2", &r, FileStatus::Waiting, &none)
            .unwrap()
    );
    let got = c.get_file(&s1, k).unwrap().unwrap();
    assert_eq!(
        (got.error, got.attempt),
        (None, 1),
        "error cleared by a transition without one"
    );

    // Listing with filters, in key order, across pages.
    for (key, subject) in [
        ("raw/S2/V1/wrist.cwa", "S2"),
        ("raw/S1/V2/wrist.cwa", "S1"),
        ("raw/S3/V1/wrist.cwa", "S3"),
        ("raw/S1/V1/lumbar.cwa", "S1"),
        ("raw/S2/V2/wrist.cwa", "S2"),
    ] {
        assert!(c.register_file(&file(&s1, key, subject, "x")).unwrap());
    }
    c.register_file(&file(&s2, "raw/S1/V1/wrist.cwa", "S1", "y"))
        .unwrap();
    let keys = |f: FileFilter| -> Vec<String> {
        c.list_files(&s1, &f)
            .unwrap()
            .into_iter()
            .map(|f| f.file_key)
            .collect()
    };
    assert_eq!(
        keys(FileFilter::default()),
        [
            "raw/S1/V1/lumbar.cwa",
            "raw/S1/V1/wrist.cwa",
            "raw/S1/V2/wrist.cwa",
            "raw/S2/V1/wrist.cwa",
            "raw/S2/V2/wrist.cwa",
            "raw/S3/V1/wrist.cwa"
        ]
    );
    let subject = |s: &str| Some(s.to_string());
    assert_eq!(
        keys(FileFilter {
            subject: subject("S1"),
            status: None
        }),
        [
            "raw/S1/V1/lumbar.cwa",
            "raw/S1/V1/wrist.cwa",
            "raw/S1/V2/wrist.cwa"
        ]
    );
    assert_eq!(
        keys(FileFilter {
            subject: None,
            status: Some(FileStatus::Waiting)
        }),
        ["raw/S1/V1/wrist.cwa"]
    );
    assert_eq!(
        keys(FileFilter {
            subject: subject("S1"),
            status: Some(FileStatus::Registered)
        }),
        ["raw/S1/V1/lumbar.cwa", "raw/S1/V2/wrist.cwa"]
    );
    assert!(
        keys(FileFilter {
            subject: subject("S9"),
            status: None
        })
        .is_empty()
    );
    assert_eq!(c.list_files(&s2, &FileFilter::default()).unwrap().len(), 1);

    // Subjects.
    assert_eq!(c.get_subject(&s1, "S1").unwrap(), None);
    let fields = json!({"height_m": 1.75, "age": 40, "time_zone": "Europe/London",
        "wear": "left wrist", "flag": true, "none": null});
    let subj = SubjectItem {
        study: s1.clone(),
        subject: "S1".into(),
        fields: fields.as_object().unwrap().clone(),
        source: "s3://data-bucket/metadata/subjects.csv".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    };
    c.put_subject(&subj).unwrap();
    assert_eq!(c.get_subject(&s1, "S1").unwrap(), Some(subj.clone()));
    let updated = SubjectItem {
        fields: json!({"height_m": 1.8}).as_object().unwrap().clone(),
        ..subj
    };
    c.put_subject(&updated).unwrap();
    assert_eq!(c.get_subject(&s1, "S1").unwrap(), Some(updated));
    assert_eq!(c.get_subject(&s2, "S1").unwrap(), None);
}
