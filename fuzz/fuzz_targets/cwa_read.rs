//! Fuzz target: see `studyflow_fuzz::io_entries::cwa_read`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| studyflow_fuzz::io_entries::cwa_read(data));
