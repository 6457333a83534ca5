//! `biomarkers`: wearable accelerometer algorithms, laid out like SKDH's module map.
//!
//! * [`io`]: device-format readers (header facts without samples, full or chunked sample reads)
//!   and writers for the formats we can produce.
//! * [`synth`]: deterministic synthetic multi-day recordings with a per-minute truth schedule.
//! * [`table`]: the tidy result tables every step returns, and their Parquet/CSV writers.
//!
//! Algorithms take samples (slices) and return [`table::Table`]s; nothing here knows about
//! studies, YAML or clouds.

pub mod io;
pub mod synth;
pub mod table;

/// The library version written into every result's provenance and result path.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
