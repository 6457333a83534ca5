//! Replays the fuzz corpus (`fuzz/corpus/`) and the crash reproducers (`fuzz/regressions/`)
//! through the config fuzz targets' own entry points (`fuzz/src/config_entries.rs`, compiled
//! in here), so CI checks on stable that no file there makes the config or metadata parsers
//! panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/config_entries.rs"]
mod config_entries;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every file under `dir`, sorted (an absent folder has none).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_and_regression_file_passes_the_config_entry_points() {
    let dir = fuzz_dir();
    let mut files = files_under(&dir.join("corpus"));
    let seeds = files.len();
    files.extend(files_under(&dir.join("regressions")));
    assert!(
        seeds >= 20,
        "only {seeds} seed files under {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("read corpus file");
        for &(name, entry) in config_entries::ENTRIES {
            if catch_unwind(AssertUnwindSafe(|| entry(&bytes))).is_err() {
                failures.push(format!("{name} panicked on {}", file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn config_seed_parses() {
    // The demo-wrist example is the config fuzzer's main seed: it must be valid, or the fuzzer
    // would only explore error paths. (demo-skdh.yaml is a seed too; it needs its .skdh file
    // from the config bucket, which `parse_config` alone does not load: see
    // `demo_skdh_example_validates` in tests/config.rs.)
    let file = fuzz_dir().join("corpus/config/demo-wrist.yaml");
    let text = std::fs::read_to_string(&file).expect("read config seed");
    let cfg = studyflow::config::parse_config("studies/demo-wrist.yaml", &text);
    assert!(cfg.is_ok(), "{}: {:?}", file.display(), cfg.err());
}
