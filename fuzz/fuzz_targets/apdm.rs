//! Fuzz target: see `studyflow_fuzz::io_entries::apdm`. Panics the APDM reader catches (inside
//! the `hdf5-pure` decoder) are not findings here (see `studyflow_fuzz::allow_caught_panics`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: studyflow_fuzz::allow_caught_panics(),
    |data: &[u8]| studyflow_fuzz::io_entries::apdm(data)
);
