//! studyflow core.
