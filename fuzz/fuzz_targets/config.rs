//! Fuzz target: see `studyflow_fuzz::config_entries::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| studyflow_fuzz::config_entries::config(data));
