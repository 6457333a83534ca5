//! Entry points of the fuzz targets. The same files are compiled into the regression tests
//! (`biomarkers/tests/fuzz_regressions.rs`, `studyflow/tests/config_fuzz_regressions.rs`) with
//! `#[path]`, so CI replays the corpus through exactly the code the fuzzers ran.

pub mod config_entries;
pub mod io_entries;
