//! Axivity CWA reader and writer.
