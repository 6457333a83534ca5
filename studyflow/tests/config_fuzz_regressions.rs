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
    assert!(seeds >= 20, "only {seeds} seed files under {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("read corpus file");
        for &(name, entry) in config_entries::ENTRIES {
            if catch_unwind(AssertUnwindSafe(|| entry(&bytes))).is_err() {
                failures.push(format!("{name} panicked on {}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn config_seeds_parse() {
    // The example study configs are the config fuzzer's seeds: they must be valid, or the
    // fuzzer would only explore error paths.
    let dir = fuzz_dir().join("corpus/config");
    let mut parsed = 0;
    for file in files_under(&dir) {
        if file.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read config seed");
        let skdh = std::fs::read_to_string(dir.join("demo-skdh.skdh")).expect("read skdh seed");
        let cfg = studyflow::config::parse_config_with("seed.yaml", &text, &mut |_k: &str| {
            Ok(skdh.clone())
        });
        assert!(cfg.is_ok(), "{}: {:?}", file.display(), cfg.err());
        parsed += 1;
    }
    assert_eq!(parsed, 2, "expected the two example study configs");
}
