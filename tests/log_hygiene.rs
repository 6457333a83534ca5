//! No secrets and no study data in logs: a demo run at debug level with canary credentials in its
//! environment; every log line it and its batch jobs wrote is scanned for the credentials, the
//! subjects' metadata values and recording contents.

use std::path::Path;
use std::process::Command;

const CANARY_KEY_ID: &str = "AKIACANARY7777777777";
const CANARY_SECRET: &str = "canary/Secret+Key/doNotLog0123456789abcd";
const CANARY_TOKEN: &str = "canary-session-token-do-not-log";

fn all_logs(root: &Path, demo_stderr: &str) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = demo_stderr
        .lines()
        .map(|l| ("demo stderr".to_string(), l.to_string()))
        .collect();
    let jobs = root.join("logs/jobs");
    for entry in std::fs::read_dir(&jobs).expect("job logs") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        lines.extend(text.lines().map(|l| (name.clone(), l.to_string())));
    }
    lines
}

#[test]
fn logs_hold_no_credentials_metadata_or_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let out = Command::new(env!("CARGO_BIN_EXE_studyflow"))
        .args([
            "--log-json",
            "demo",
            "--json",
            "--days",
            "1",
            "--rate",
            "12.5",
        ])
        .args(["--clock-scale", "20000", "--timeout", "600", "--root"])
        .arg(&root)
        .env("STUDYFLOW_LOG", "debug")
        .env("AWS_ACCESS_KEY_ID", CANARY_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
        .env("AWS_SESSION_TOKEN", CANARY_TOKEN)
        .output()
        .expect("run the demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = all_logs(&root, &String::from_utf8_lossy(&out.stderr));
    assert!(
        lines.len() >= 5,
        "expected log lines from the demo and its jobs, got {}",
        lines.len()
    );

    // The subjects' metadata values (heights, ages) from the study's metadata file.
    let csv =
        std::fs::read_to_string(root.join("buckets/demo-study/metadata/subjects.csv")).unwrap();
    let mut forbidden: Vec<String> = vec![
        CANARY_KEY_ID.into(),
        CANARY_SECRET.into(),
        CANARY_TOKEN.into(),
        "height_m".into(),
    ];
    for row in csv.lines().skip(1) {
        let cells: Vec<&str> = row.split(',').collect();
        // height and age as they would print in a log line's JSON.
        forbidden.push(format!("\"height_m\":{}", cells[1]));
        forbidden.push(format!("\"age\":{}", cells[2]));
    }
    let mut problems = Vec::new();
    for (source, line) in &lines {
        for f in &forbidden {
            if line.contains(f.as_str()) {
                problems.push(format!("{source}: contains {f}: {line}"));
            }
        }
        // Recording contents would show as long runs of numbers (sample arrays).
        let numbers = line
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .filter(|t| t.len() > 3 && t.parse::<f64>().is_ok())
            .count();
        if numbers > 40 {
            problems.push(format!("{source}: {numbers} numbers in one line: {line}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
