//! Fuzz target: see `studyflow_fuzz::io_entries::cwa_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| studyflow_fuzz::io_entries::cwa_header(data));
