//! The data commands (`files`, `fetch`, `upload`, `usage`, `presign`) on the AWS backend, run
//! as the `studyflow` binary against the emulator named by `STUDYFLOW_TEST_AWS_ENDPOINT` (moto;
//! scripts/test starts it). Needs the cli's `aws` feature; without the endpoint the AWS test
//! prints SKIPPED, with it every check must pass. The refusals that need no AWS run always.

use std::path::Path;
use std::process::{Command, Output};

fn command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_studyflow"));
    c.args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    command(args, envs).output().expect("run studyflow")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn presign_refuses_the_local_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_str().unwrap();
    let o = run(
        &[
            "presign",
            "--study",
            "s",
            "--key",
            "raw/S1/x.cwa",
            "--root",
            root,
        ],
        &[("STUDYFLOW_BACKEND", "")],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("presign needs the AWS backend"),
        "{}",
        text(&o)
    );
    let o = run(
        &["presign", "--study", "s", "--key", "k", "--expires", "13h"],
        &[],
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("at most 12 h"),
        "{}",
        text(&o)
    );
}

#[cfg(not(feature = "aws"))]
#[test]
fn the_aws_backend_names_the_feature_it_needs() {
    let o = run(&["files", "--backend", "aws"], &[]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--features aws"),
        "{}",
        text(&o)
    );
}

/// Deterministic bytes that differ from part to part (xorshift), `n` of them.
#[allow(dead_code)]
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[allow(dead_code)]
fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[cfg(feature = "aws")]
mod aws {
    use std::path::{Path, PathBuf};
    use std::process::Output;

    use serde_json::{Value, json};
    use studyflow::aws::{AwsConfig, AwsOptions, AwsRuntime, S3Store, Tables};
    use studyflow::model::{FileItem, FileStatus, StudyItem, StudyStatus};
    use studyflow::ports::{Catalog, ObjectStore, StatusUpdate};

    use super::{command, noise, text, write};

    const STUDY: &str = "demo-wrist";
    const MIB: usize = 1 << 20;

    struct Env {
        endpoint: String,
        prefix: String,
        bucket: String,
        cfg: AwsConfig,
        tmp: tempfile::TempDir,
    }

    impl Env {
        /// `studyflow ARGS` on the AWS backend of this test's stack names and emulator.
        fn command(&self, args: &[&str]) -> std::process::Command {
            let state = self.tmp.path().join("state");
            command(
                args,
                &[
                    ("STUDYFLOW_BACKEND", "aws"),
                    ("STUDYFLOW_STACK_PREFIX", &self.prefix),
                    ("AWS_ENDPOINT_URL", &self.endpoint),
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_ACCESS_KEY_ID", "test"),
                    ("AWS_SECRET_ACCESS_KEY", "test"),
                    ("AWS_PROFILE", ""),
                    ("STUDYFLOW_UPLOAD_STATE_DIR", state.to_str().unwrap()),
                ],
            )
        }

        fn studyflow(&self, args: &[&str]) -> Output {
            self.command(args).output().expect("run studyflow")
        }

        fn ok(&self, args: &[&str]) -> String {
            let o = self.studyflow(args);
            assert!(o.status.success(), "{args:?}: {}", text(&o));
            String::from_utf8_lossy(&o.stdout).into_owned()
        }

        fn store(&self) -> S3Store {
            self.cfg.store()
        }

        fn state_files(&self) -> usize {
            std::fs::read_dir(self.tmp.path().join("state"))
                .map(|d| d.count())
                .unwrap_or(0)
        }
    }

    fn unique(prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{prefix}{}-{}", std::process::id(), nanos % 1_000_000_000)
    }

    /// The stack's resources as the template names them (`<Prefix>-Studies`, ...), a study
    /// bucket, and a catalog with one study and two files: S01 SUCCEEDED with results and a
    /// usage record, S02 FAILED.
    fn setup() -> Option<Env> {
        let Some(endpoint) = std::env::var("STUDYFLOW_TEST_AWS_ENDPOINT")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!(
                "cli_aws: SKIPPED (STUDYFLOW_TEST_AWS_ENDPOINT is not set; scripts/test sets it)"
            );
            return None;
        };
        let prefix = unique("c");
        let options = AwsOptions {
            endpoint_url: Some(endpoint.clone()),
            region: Some("us-east-1".into()),
            static_credentials: Some(("test".into(), "test".into())),
            max_attempts: Some(3),
            tables: Tables {
                studies: format!("{prefix}-Studies"),
                files: format!("{prefix}-Files"),
                subjects: format!("{prefix}-Subjects"),
            },
            ..Default::default()
        };
        let cfg = AwsConfig::connect(options, AwsRuntime::owned().unwrap()).unwrap();
        cfg.catalog().ensure_tables().unwrap();
        let bucket = format!("{prefix}-study");
        cfg.store().create_bucket(&bucket).unwrap();
        let env = Env {
            endpoint,
            prefix,
            bucket,
            cfg,
            tmp: tempfile::tempdir().unwrap(),
        };
        seed_catalog(&env);
        Some(env)
    }

    fn seed_catalog(env: &Env) {
        let yaml = include_str!("../studies-example/studies/demo-wrist.yaml")
            .replace("bucket: demo-study", &format!("bucket: {}", env.bucket));
        let config = studyflow::config::parse_config("demo-wrist.yaml", &yaml).unwrap();
        let catalog = env.cfg.catalog();
        catalog
            .put_study(&StudyItem {
                study: STUDY.into(),
                config_bucket: "config".into(),
                config_key: "studies/demo-wrist.yaml".into(),
                config_etag: "e".into(),
                config_hash: studyflow::config::config_hash(&yaml),
                bucket: env.bucket.clone(),
                status: StudyStatus::Active,
                error: None,
                config_json: Some(serde_json::to_value(&config).unwrap()),
                updated_at: studyflow::model::now_rfc3339(),
            })
            .unwrap();
        let store = env.store();
        for (i, subject) in ["S01", "S02"].into_iter().enumerate() {
            let key = format!("raw/{subject}/V1/wrist.cwa");
            // 7 MiB for S01: a download of many chunks.
            let bytes = noise(i as u64 + 1, if i == 0 { 7 * MIB } else { 300_000 });
            let meta = store.put(&env.bucket, &key, &bytes).unwrap();
            let item = FileItem {
                study: STUDY.into(),
                file_key: key.clone(),
                bucket: env.bucket.clone(),
                subject: subject.into(),
                visit: "V1".into(),
                device: "wrist".into(),
                format: "cwa".into(),
                size: meta.size,
                etag: meta.etag.clone(),
                recording_start: Some(1_772_323_200.0 + i as f64 * 86_400.0),
                recording_end: Some(1_772_323_200.0 + (i as f64 + 1.0) * 86_400.0),
                sample_rate: Some(100.0),
                device_id: None,
                header_error: None,
                status: FileStatus::Registered,
                library_version: None,
                execution_id: None,
                result_prefix: None,
                error: None,
                attempt: 1,
                registered_at: studyflow::model::now_rfc3339(),
                updated_at: studyflow::model::now_rfc3339(),
            };
            assert!(catalog.register_file(&item).unwrap());
            let (to, update) = if i == 0 {
                let prefix = format!("results/biomarkers-0.1.0/{subject}/V1/wrist");
                let summary = json!({"usage": {"wall_seconds": 600.0, "cpu_seconds": 540.0,
                    "peak_rss_bytes": 300_000_000u64, "bytes_read": meta.size,
                    "bytes_written": 12345}});
                store
                    .put(
                        &env.bucket,
                        &format!("{prefix}/summary.json"),
                        summary.to_string().as_bytes(),
                    )
                    .unwrap();
                store
                    .put(
                        &env.bucket,
                        &format!("{prefix}/day.parquet"),
                        &noise(9, 4096),
                    )
                    .unwrap();
                let update = StatusUpdate {
                    result_prefix: Some(format!("s3://{}/{prefix}", env.bucket)),
                    ..Default::default()
                };
                (FileStatus::Succeeded, update)
            } else {
                let update = StatusUpdate {
                    error: Some("header: not a CWA file".into()),
                    ..Default::default()
                };
                (FileStatus::Failed, update)
            };
            assert!(
                catalog
                    .transition(
                        STUDY,
                        &key,
                        &meta.etag,
                        &[FileStatus::Registered],
                        to,
                        &update
                    )
                    .unwrap()
            );
        }
    }

    fn keys(json_out: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(json_out).expect("JSON");
        v.as_array()
            .expect("an array")
            .iter()
            .map(|i| i["file_key"].as_str().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn data_commands_work_on_the_aws_backend() {
        let Some(env) = setup() else {
            return;
        };
        files_and_usage(&env);
        fetch(&env);
        upload(&env);
        resumed_upload(&env);
        killed_upload(&env);
        presign(&env);
    }

    fn files_and_usage(env: &Env) {
        let all = env.ok(&["files", "--json"]);
        assert_eq!(keys(&all), ["raw/S01/V1/wrist.cwa", "raw/S02/V1/wrist.cwa"]);
        assert_eq!(
            keys(&env.ok(&["files", "--json", "--status", "failed"])),
            ["raw/S02/V1/wrist.cwa"]
        );
        assert_eq!(
            keys(&env.ok(&["files", "--json", "--subject", "S01", "--study", STUDY])),
            ["raw/S01/V1/wrist.cwa"]
        );
        // Recording times: S02 starts a day after S01.
        assert_eq!(
            keys(&env.ok(&["files", "--json", "--from", "2026-03-02T12:00:00Z"])),
            ["raw/S02/V1/wrist.cwa"]
        );
        let table = env.ok(&["files"]);
        assert!(table.contains("FAILED: header: not a CWA file"), "{table}");
        assert!(table.contains("2 files"), "{table}");
        // The flag wins over STUDYFLOW_BACKEND=aws.
        let local = env.studyflow(&["files", "--backend", "local", "--root", "/nonexistent"]);
        assert!(!local.status.success(), "{}", text(&local));

        let u: Value =
            serde_json::from_str(&env.ok(&["usage", "--study", STUDY, "--json"])).unwrap();
        let u = &u[0];
        assert_eq!(u["study"], STUDY, "{u:#}");
        assert_eq!(u["runs"], 1, "{u:#}");
        assert_eq!(u["cpu_seconds"], 540.0, "{u:#}");
        assert_eq!(u["bytes_written"], 12345, "{u:#}");
        assert!(u["estimated_cost_usd"].as_f64().unwrap() > 0.0, "{u:#}");
    }

    fn fetch(env: &Env) {
        let out = env.tmp.path().join("fetched");
        let o = env.studyflow(&["fetch", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let store = env.store();
        for key in ["raw/S01/V1/wrist.cwa", "raw/S02/V1/wrist.cwa"] {
            let got = std::fs::read(out.join(STUDY).join(key)).unwrap();
            assert!(got == store.get(&env.bucket, key).unwrap(), "{key} differs");
        }
        // Results: S01's objects; S02 has none and makes the exit status a failure.
        let res = env.tmp.path().join("results");
        let o = env.studyflow(&["fetch", "--results", "--out", res.to_str().unwrap()]);
        assert!(!o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("raw/S02/V1/wrist.cwa: no results (FAILED)"),
            "{}",
            text(&o)
        );
        let summary = res
            .join(STUDY)
            .join("results/biomarkers-0.1.0/S01/V1/wrist/summary.json");
        let v: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
        assert_eq!(v["usage"]["cpu_seconds"], 540.0);
        let parquet = res
            .join(STUDY)
            .join("results/biomarkers-0.1.0/S01/V1/wrist/day.parquet");
        assert_eq!(std::fs::read(parquet).unwrap(), noise(9, 4096));
        // No partial files are left behind.
        let leftovers: Vec<PathBuf> = walk(&out)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    fn upload(env: &Env) {
        // 11 MiB with 5 MiB parts: three parts, the last one short.
        let big = env.tmp.path().join("up/wrist.cwa");
        let bytes = noise(21, 11 * MIB);
        write(&big, &bytes);
        let o = env.ok(&upload_args(big.to_str().unwrap(), "S03"));
        assert!(
            o.contains("s3://") && o.contains("/raw/S03/V1/wrist.cwa"),
            "{o}"
        );
        assert!(o.contains("3 parts"), "{o}");
        let store = env.store();
        let key = "raw/S03/V1/wrist.cwa";
        assert!(store.get(&env.bucket, key).unwrap() == bytes);
        assert!(
            store
                .head(&env.bucket, key)
                .unwrap()
                .unwrap()
                .etag
                .ends_with("-3")
        );
        assert_eq!(
            env.state_files(),
            0,
            "state file left after a completed upload"
        );

        // Below the threshold: one PUT, still verified.
        let small = env.tmp.path().join("small/wrist.cwa");
        write(&small, &noise(22, 1000));
        let o = env.ok(&[
            "upload",
            small.to_str().unwrap(),
            "--study",
            STUDY,
            "--subject",
            "S03",
            "--visit",
            "V2",
            "--wait",
            "0",
        ]);
        assert!(o.contains("1 part;"), "{o}");
        assert_eq!(
            store.get(&env.bucket, "raw/S03/V2/wrist.cwa").unwrap(),
            noise(22, 1000)
        );

        // Keys outside the pattern are refused before anything is sent.
        let bad = env.tmp.path().join("bad/wrist.bin");
        write(&bad, b"x");
        let o = env.studyflow(&[
            "upload",
            bad.to_str().unwrap(),
            "--study",
            STUDY,
            "--subject",
            "S03",
            "--visit",
            "V1",
            "--wait",
            "0",
        ]);
        assert!(
            !o.status.success() && text(&o).contains("expects a .cwa file"),
            "{}",
            text(&o)
        );
    }

    /// An upload cut short (created, part 1 uploaded, part 2 holding other bytes) is resumed:
    /// part 1 is kept, part 2 (wrong ETag) and part 3 are uploaded, the object equals the file.
    fn resumed_upload(env: &Env) {
        let key = "raw/S04/V1/wrist.cwa";
        let file = env.tmp.path().join("resume/wrist.cwa");
        let bytes = noise(31, 11 * MIB);
        write(&file, &bytes);
        let store = env.store();
        let client = store.client().clone();
        let rt = env.cfg.runtime.clone();
        let upload_id = rt
            .block_on(
                client
                    .create_multipart_upload()
                    .bucket(&env.bucket)
                    .key(key)
                    .send(),
            )
            .unwrap()
            .upload_id()
            .unwrap()
            .to_string();
        for (n, body) in [(1, bytes[..5 * MIB].to_vec()), (2, noise(99, 5 * MIB))] {
            rt.block_on(
                client
                    .upload_part()
                    .bucket(&env.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(n)
                    .body(body.into())
                    .send(),
            )
            .unwrap();
        }
        let o = env.ok(&upload_args(file.to_str().unwrap(), "S04"));
        assert!(
            o.contains(&format!(
                "resumed upload {upload_id}: 1 part(s), 5.2 MB already there"
            )),
            "{o}"
        );
        assert!(
            store.get(&env.bucket, key).unwrap() == bytes,
            "resumed object differs"
        );
        let open = rt
            .block_on(
                client
                    .list_multipart_uploads()
                    .bucket(&env.bucket)
                    .prefix(key)
                    .send(),
            )
            .unwrap();
        assert!(open.uploads().is_empty(), "{:?}", open.uploads());
        assert_eq!(env.state_files(), 0);
    }

    /// `studyflow upload FILE` into the study's key pattern for SUBJECT, visit V1, in 5 MiB
    /// parts, not waiting for the registration.
    fn upload_args<'a>(file: &'a str, subject: &'a str) -> [&'a str; 12] {
        [
            "upload",
            file,
            "--study",
            STUDY,
            "--subject",
            subject,
            "--visit",
            "V1",
            "--part-size-mib",
            "5",
            "--wait",
            "0",
        ]
    }

    /// A real interruption: the CLI is killed (SIGKILL, no chance to clean up) as soon as S3
    /// holds a part of its multipart upload; the same command run again finds the upload
    /// through its state file, keeps the parts already there and completes the object.
    fn killed_upload(env: &Env) {
        const PARTS: usize = 24;
        let key = "raw/S05/V1/wrist.cwa";
        let file = env.tmp.path().join("killed/wrist.cwa");
        let bytes = noise(57, PARTS * 5 * MIB);
        write(&file, &bytes);
        let args = upload_args(file.to_str().unwrap(), "S05");
        let store = env.store();
        let client = store.client().clone();
        let rt = env.cfg.runtime.clone();
        let parts_of = |id: &str| {
            rt.block_on(
                client
                    .list_parts()
                    .bucket(&env.bucket)
                    .key(key)
                    .upload_id(id)
                    .send(),
            )
            .map(|p| p.parts().len())
            .unwrap_or_else(|e| {
                // moto 5.2 answers with the root `ListPartsResponse`, which the SDK refuses
                // (the S3 adapter reads such a body the same way): count the parts in it.
                e.raw_response()
                    .and_then(|r| r.body().bytes())
                    .map(|b| String::from_utf8_lossy(b).matches("<Part>").count())
                    .unwrap_or(0)
            })
        };
        let open_upload = || {
            rt.block_on(
                client
                    .list_multipart_uploads()
                    .bucket(&env.bucket)
                    .prefix(key)
                    .send(),
            )
            .ok()?
            .uploads()
            .first()?
            .upload_id()
            .map(str::to_string)
        };
        let mut child = env
            .command(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the upload");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let upload_id = loop {
            if let Some(id) = open_upload().filter(|id| parts_of(id) > 0) {
                break id;
            }
            if child.try_wait().unwrap().is_some() {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the upload ended before a part was seen, nothing left to interrupt: {}",
                    text(&out)
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no part of the upload within 120 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        child.kill().unwrap();
        child.wait().unwrap();
        let done = parts_of(&upload_id);
        assert!(
            (1..PARTS).contains(&done),
            "{done} of {PARTS} parts when killed"
        );
        assert!(
            store.get(&env.bucket, key).is_err(),
            "no object before the upload completes"
        );

        let o = env.ok(&args);
        assert!(
            o.contains(&format!("resumed upload {upload_id}: ")),
            "the rerun must resume the killed upload ({done} parts there): {o}"
        );
        assert!(
            store.get(&env.bucket, key).unwrap() == bytes,
            "resumed object differs"
        );
        assert!(open_upload().is_none(), "an upload is still open");
        assert_eq!(env.state_files(), 0);
    }

    fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
        url.split_once('?')?
            .1
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }

    fn presign(env: &Env) {
        let key = "raw/S05/V1/wrist.cwa";
        let url = env.ok(&["presign", "--study", STUDY, "--key", key, "--expires", "1h"]);
        let url = url.trim();
        let file = env.tmp.path().join("site/wrist.cwa");
        let bytes = noise(41, 200_000);
        write(&file, &bytes);
        let curl = std::process::Command::new("curl")
            .args(["-sS", "--fail", "-X", "PUT", "--upload-file"])
            .arg(&file)
            .arg(url)
            .output()
            .expect("curl");
        assert!(curl.status.success(), "curl: {}", text(&curl));
        assert_eq!(env.store().get(&env.bucket, key).unwrap(), bytes);

        // Scope: PUT of this one path, signed over the host header only, for an hour.
        let path = url.split_once("://").unwrap().1;
        let path = &path[path.find('/').unwrap()..path.find('?').unwrap()];
        assert_eq!(path, format!("/{}/{key}", env.bucket));
        assert_eq!(query_param(url, "X-Amz-SignedHeaders"), Some("host"));
        assert_eq!(query_param(url, "X-Amz-Expires"), Some("3600"));
        assert_eq!(
            query_param(url, "X-Amz-Algorithm"),
            Some("AWS4-HMAC-SHA256")
        );
        // A checksum signed into the URL would pin the body (an empty one): S3 would refuse
        // every real upload.
        assert!(!url.to_ascii_lowercase().contains("checksum"), "{url}");
        // moto does not check query signatures, so the test checks the signature the way S3
        // does (SigV4, with the emulator's secret): valid for this key, not for another.
        assert!(
            sigv4::valid(url, "PUT", "test"),
            "signature does not verify: {url}"
        );
        let other = url.replacen(key, "raw/S06/V1/wrist.cwa", 1);
        assert!(!sigv4::valid(&other, "PUT", "test"), "{other}");
        assert!(!sigv4::valid(url, "GET", "test"));

        // Refusals.
        for (k, expires, want) in [
            (
                "results/S05/V1/wrist.cwa",
                "1h",
                "outside the study's prefix",
            ),
            (
                "raw/S05/wrist.cwa",
                "1h",
                "does not match the study's key pattern",
            ),
            (key, "13h", "at most 12 h"),
        ] {
            let o = env.studyflow(&[
                "presign",
                "--study",
                STUDY,
                "--key",
                k,
                "--expires",
                expires,
            ]);
            assert!(!o.status.success(), "{k}: {}", text(&o));
            assert!(
                String::from_utf8_lossy(&o.stderr).contains(want),
                "{k}: {}",
                text(&o)
            );
        }
        let o = env.studyflow(&["presign", "--study", "no-such-study", "--key", key]);
        assert!(text(&o).contains("not in the catalog"), "{}", text(&o));
    }

    /// SigV4 query-string verification as S3 does it for a pre-signed URL (unsigned payload,
    /// signed headers from the URL; only `host` is supported here).
    mod sigv4 {
        fn sha256(data: &[u8]) -> [u8; 32] {
            let hex = studyflow::config::config_hash(data);
            let mut out = [0u8; 32];
            for (i, b) in out.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
            }
            out
        }

        fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
            let mut k = [0u8; 64];
            if key.len() > 64 {
                k[..32].copy_from_slice(&sha256(key));
            } else {
                k[..key.len()].copy_from_slice(key);
            }
            let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
            inner.extend_from_slice(msg);
            let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
            outer.extend_from_slice(&sha256(&inner));
            sha256(&outer)
        }

        fn hex(b: &[u8]) -> String {
            b.iter().map(|x| format!("{x:02x}")).collect()
        }

        fn decode(s: &str) -> String {
            let b = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%'
                    && i + 2 < b.len()
                    && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
                {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b[i]);
                i += 1;
            }
            String::from_utf8(out).unwrap()
        }

        pub fn valid(url: &str, method: &str, secret: &str) -> bool {
            let (_, rest) = url.split_once("://").unwrap();
            let slash = rest.find('/').unwrap();
            let host = &rest[..slash];
            let (path, query) = rest[slash..].split_once('?').unwrap();
            let mut params: Vec<(&str, &str)> = query
                .split('&')
                .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
                .collect();
            let signature = params
                .iter()
                .find(|(k, _)| *k == "X-Amz-Signature")
                .map(|(_, v)| v.to_string())
                .unwrap();
            params.retain(|(k, _)| *k != "X-Amz-Signature");
            params.sort();
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| decode(v))
                    .unwrap()
            };
            assert_eq!(get("X-Amz-SignedHeaders"), "host");
            let canonical_query: Vec<String> =
                params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let canonical = format!(
                "{method}\n{path}\n{}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD",
                canonical_query.join("&")
            );
            let date = get("X-Amz-Date");
            let credential = get("X-Amz-Credential");
            let scope = credential.split_once('/').unwrap().1;
            let to_sign = format!(
                "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
                hex(&sha256(canonical.as_bytes()))
            );
            let mut key = format!("AWS4{secret}").into_bytes();
            for part in scope.split('/') {
                key = hmac(&key, part.as_bytes()).to_vec();
            }
            hex(&hmac(&key, to_sign.as_bytes())) == signature
        }
    }
}
