//! Entry points of the fuzz targets. The same files are compiled into the regression tests
//! (`biomarkers/tests/fuzz_regressions.rs`, `studyflow/tests/config_fuzz_regressions.rs`) with
//! `#[path]`, so CI replays the corpus through exactly the code the fuzzers ran.

pub mod config_entries;
pub mod io_entries;

/// Replaces the panic hook libFuzzer installs (which aborts at once) with one that only prints
/// the message. For targets reaching `biomarkers::io::parquet`, whose reader deliberately
/// catches panics of the `parquet` crate and returns an error: with the aborting hook every
/// such contained panic would count as a crash. A panic that escapes the entry point still
/// aborts, because `fuzz_target!` aborts on any unwinding out of the closure.
pub fn allow_caught_panics() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("panic (caught or fatal): {info}")
    }));
}
