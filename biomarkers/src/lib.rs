//! `biomarkers`: wearable accelerometer algorithms, laid out like SKDH's module map.
//!
//! * [`io`]: device-format readers (header facts without samples, full or chunked sample reads)
//!   and writers for the formats we can produce.
//! * [`synth`]: deterministic synthetic multi-day recordings with a per-minute truth schedule.
//! * [`preprocessing`]: day windows, gap filling, calibration, wear detection, and the shared
//!   moving statistics and filters.
//! * [`activity`], [`sleep`]: SKDH's activity and sleep algorithms, endpoint for endpoint.
//! * [`pipeline`]: steps run in order over one recording, with SKDH's parameter names.
//! * [`table`]: the tidy result tables every step returns, and their Parquet/CSV writers.
//!
//! Algorithms take samples (slices) and return [`table::Table`]s; nothing here knows about
//! studies, YAML or clouds.

pub mod activity;
pub mod gait;
pub mod io;
pub mod pipeline;
pub mod preprocessing;
pub mod sleep;
pub mod synth;
pub mod table;

/// The library version written into every result's provenance and result path.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
