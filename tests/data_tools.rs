//! The data team's commands on the local backend: `files` queries the catalog, `fetch`
//! downloads raw files and results, `upload` places a recording under the study's key pattern
//! and it is processed.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn studyflow(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_studyflow"))
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("run studyflow")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn files_json(root: &Path, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["files", "--json"];
    args.extend_from_slice(filters);
    let o = studyflow(root, &args);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap_or_else(|e| panic!("files --json: {e}\n{}", text(&o)))
        .as_array()
        .expect("an array")
        .clone()
}

fn keys(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["file_key"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn files_fetch_and_upload_on_the_local_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let demo = studyflow(
        &root,
        &[
            "demo",
            "--json",
            "--days",
            "1",
            "--rate",
            "12.5",
            "--clock-scale",
            "20000",
            "--timeout",
            "600",
        ],
    );
    assert!(demo.status.success(), "{}", text(&demo));

    // Queries.
    let all = files_json(&root, &[]);
    assert_eq!(all.len(), 5, "{:?}", keys(&all));
    assert_eq!(
        keys(&files_json(&root, &["--subject", "S01"])),
        ["raw/S01/V1/lumbar.cwa", "raw/S01/V1/wrist.cwa"]
    );
    assert_eq!(
        keys(&files_json(&root, &["--status", "failed"])),
        ["raw/S04/V1/wrist.cwa"]
    );
    assert_eq!(
        keys(&files_json(
            &root,
            &["--device", "lumbar", "--study", "demo-wrist"]
        )),
        ["raw/S01/V1/lumbar.cwa"]
    );
    // Time range: the recordings' own start/end from their headers.
    let start = all
        .iter()
        .filter_map(|i| i["recording_start"].as_f64())
        .fold(f64::INFINITY, f64::min);
    assert!(start.is_finite(), "no recording start in the catalog");
    let before = format!("{}", start - 1.0);
    assert!(files_json(&root, &["--to", &before]).is_empty());
    assert_eq!(
        files_json(&root, &["--from", &before, "--status", "SUCCEEDED"]).len(),
        4
    );
    let bad = studyflow(&root, &["files", "--from", "last tuesday"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("from: 'last tuesday'"),
        "{}",
        text(&bad)
    );
    let table = studyflow(&root, &["files", "--subject", "S02"]);
    assert!(table.status.success(), "{}", text(&table));
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("raw/S02/V1/wrist.cwa"),
        "{}",
        text(&table)
    );

    // Fetch raw files and results.
    let out = tmp.path().join("fetched");
    let o = studyflow(
        &root,
        &["fetch", "--subject", "S02", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let raw = out.join("demo-wrist/raw/S02/V1/wrist.cwa");
    let original = root.join("buckets/demo-study/raw/S02/V1/wrist.cwa");
    assert_eq!(
        std::fs::read(&raw).expect("fetched raw file"),
        std::fs::read(&original).unwrap()
    );
    let o = studyflow(
        &root,
        &[
            "fetch",
            "--results",
            "--subject",
            "S02",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let summary = out
        .join("demo-wrist/results")
        .join(format!("biomarkers-{}", env!("CARGO_PKG_VERSION")))
        .join("S02/V1/wrist/summary.json");
    let s: Value = serde_json::from_slice(&std::fs::read(&summary).expect("fetched summary"))
        .expect("summary is JSON");
    assert_eq!(s["library_version"], env!("CARGO_PKG_VERSION"));
    // The demo config asks for the HTML report: it is listed in the summary and self-contained.
    assert!(
        s["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["file"] == "report.html"),
        "{s:#}"
    );
    let html = std::fs::read_to_string(summary.with_file_name("report.html")).expect("report.html");
    assert!(
        html.contains("<h1>raw/S02/V1/wrist.cwa</h1>") && html.contains("<svg class=\"plot day\"")
    );
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    // A failed file has no results: fetch says so and exits non-zero.
    let o = studyflow(
        &root,
        &[
            "fetch",
            "--results",
            "--status",
            "FAILED",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("not fetched: raw/S04/V1/wrist.cwa"),
        "{}",
        text(&o)
    );

    // Upload: a second visit for S01 goes under the key pattern and is processed.
    let rec = tmp.path().join("wrist.cwa");
    std::fs::copy(&original, &rec).unwrap();
    let wrong = tmp.path().join("wrist.bin");
    std::fs::copy(&original, &wrong).unwrap();
    let upload = |file: &Path, subject: &str| {
        let file = file.to_str().unwrap();
        let args = [
            "upload",
            file,
            "--study",
            "demo-wrist",
            "--subject",
            subject,
        ];
        studyflow(
            &root,
            &[&args[..], &["--visit", "V2", "--wait", "600"]].concat(),
        )
    };
    let o = upload(&wrong, "S01");
    assert!(!o.status.success());
    assert!(text(&o).contains("expects a .cwa file"), "{}", text(&o));
    let o = upload(&rec, "S01/../S02");
    assert!(!o.status.success());
    assert!(text(&o).contains("must not contain '/'"), "{}", text(&o));
    let o = upload(&rec, "S01");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        root.join("buckets/demo-study/raw/S01/V2/wrist.cwa")
            .is_file()
    );
    let v2 = files_json(&root, &["--visit", "V2"]);
    assert_eq!(keys(&v2), ["raw/S01/V2/wrist.cwa"]);
    assert_eq!(v2[0]["status"], "SUCCEEDED", "{:#}", v2[0]);

    // Usage: every successful run recorded what it consumed; the study sums them.
    let o = studyflow(&root, &["usage", "--study", "demo-wrist", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let u: Value = serde_json::from_slice(&o.stdout).expect("usage --json");
    let u = &u[0];
    assert_eq!(u["runs"], 5, "{u:#}");
    assert_eq!(u["runs_without_usage"], 0, "{u:#}");
    assert!(u["cpu_seconds"].as_f64().unwrap() > 0.0, "{u:#}");
    assert!(
        u["max_peak_rss_bytes"].as_u64().unwrap() > 1_000_000,
        "{u:#}"
    );
    let raw_bytes: u64 = files_json(&root, &["--status", "SUCCEEDED"])
        .iter()
        .map(|f| f["size"].as_u64().unwrap())
        .sum();
    assert_eq!(u["bytes_read"].as_u64().unwrap(), raw_bytes, "{u:#}");
    assert!(u["bytes_written"].as_u64().unwrap() > 0, "{u:#}");
    assert!(u["estimated_cost_usd"].as_f64().unwrap() > 0.0, "{u:#}");
}
