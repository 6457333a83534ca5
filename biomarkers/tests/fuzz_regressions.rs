//! Replays the fuzz corpus (`fuzz/corpus/`) and the crash reproducers (`fuzz/regressions/`)
//! through the fuzz targets' own entry points (`fuzz/src/io_entries.rs`, compiled in here), so
//! CI checks on stable what the fuzzers checked: no reader panics, breaks a documented
//! invariant, or allocates out of proportion to its input, on any of those files.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/io_entries.rs"]
mod io_entries;

/// Counts the live and peak heap bytes of the current thread, so one reader call can be
/// measured while other tests run on other threads.
struct CountingAlloc;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    // try_with: the thread-locals may already be gone while a thread shuts down.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn on_free(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters only observe.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_free(layout.size());
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_free(layout.size());
        on_alloc(new_size);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Most heap one entry point may hold at once for an input of `len` bytes: a fixed 64 MiB
/// (read buffers, decoder tables) plus 64 bytes per input byte (a decoded sample takes up to
/// ~10 f64 arrays, and a 512-byte CWA block holds at most 120 samples).
fn heap_bound(len: usize) -> usize {
    (64 << 20) + 64 * len
}

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

/// Runs `entry` on `bytes`; returns a description of the failure, if any.
fn run_checked(name: &str, entry: fn(&[u8]), bytes: &[u8], file: &Path) -> Option<String> {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    let outcome = catch_unwind(AssertUnwindSafe(|| entry(bytes)));
    let peak = PEAK.with(Cell::get);
    match outcome {
        Err(_) => Some(format!("{name} panicked on {}", file.display())),
        Ok(()) if peak > heap_bound(bytes.len()) => Some(format!(
            "{name} held {peak} heap bytes at once for the {}-byte {} (bound {})",
            bytes.len(),
            file.display(),
            heap_bound(bytes.len())
        )),
        Ok(()) => None,
    }
}

#[test]
fn every_corpus_and_regression_file_passes_every_reader_entry_point() {
    let dir = fuzz_dir();
    let mut files = files_under(&dir.join("corpus"));
    let seeds = files.len();
    files.extend(files_under(&dir.join("regressions")));
    // The seed corpus is committed: an empty list means the path is wrong, not that all passed.
    assert!(
        seeds >= 20,
        "only {seeds} seed files under {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("read corpus file");
        for &(name, entry) in io_entries::ENTRIES {
            failures.extend(run_checked(name, entry, &bytes, file));
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
fn reader_seeds_are_recognised_as_their_format() {
    // A seed the readers reject at once would leave its fuzzer exploring error paths only.
    let dir = fuzz_dir().join("corpus");
    let mut checked = 0;
    for target in ["cwa_read", "geneactiv", "gt3x", "csv", "npz", "parquet"] {
        for file in files_under(&dir.join(target)) {
            let bytes = std::fs::read(&file).expect("read seed");
            let name = file.file_name().and_then(|n| n.to_str());
            let facts = biomarkers::io::read_header(&bytes, Some(bytes.len() as u64), name);
            assert!(facts.is_ok(), "{}: {facts:?}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} reader seeds found");
}

#[test]
fn complete_reader_seeds_decode_samples() {
    let dir = fuzz_dir().join("corpus");
    let opts = biomarkers::io::ReadOptions::default();
    let mut decoded = 0;
    for target in ["cwa_read", "geneactiv", "gt3x", "csv", "npz", "parquet"] {
        for file in files_under(&dir.join(target)) {
            let stem = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if stem.starts_with("truncated") || stem.starts_with("cut") {
                continue;
            }
            // CSV has no self-description: read it with the layout the dispatcher sniffs.
            let bytes = std::fs::read(&file).expect("read seed");
            let opts = biomarkers::io::ReadOptions {
                csv: Some(biomarkers::io::csv::sniff_options(&bytes)),
                ..opts.clone()
            };
            let rec = biomarkers::io::read_file(&file, &opts);
            assert!(
                rec.as_ref().is_ok_and(|r| !r.is_empty()),
                "{}: {:?}",
                file.display(),
                rec.map(|r| r.len())
            );
            decoded += 1;
        }
    }
    assert!(decoded >= 8, "only {decoded} complete seeds found");
}
