//! Fuzz target: see `studyflow_fuzz::config_entries::subject_metadata`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| studyflow_fuzz::config_entries::subject_metadata(data));
