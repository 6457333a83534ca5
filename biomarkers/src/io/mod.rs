//! Device-format readers and writers.
//!
//! Every reader offers two things:
//! * header facts ([`HeaderFacts`]) from the first few KB of a file alone (what a catalog stores,
//!   read with a ranged GET), and
//! * the samples ([`Recording`]): time in unix seconds (f64) and acceleration in g, plus gyro
//!   (deg/s), temperature (deg C) and light where the device records them.
//!
//! Readers never panic on any byte sequence and never read past what the header allows; bad input
//! gives a [`ReadError`] that names the byte offset.

pub mod cwa;

use serde::{Deserialize, Serialize};

/// The file formats `biomarkers` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Axivity AX3/AX6/AX9 continuous wave accelerometer (`.cwa`).
    Cwa,
    /// GENEActiv binary (`.bin`).
    GeneActiv,
    /// ActiGraph `.gt3x` (zip container).
    Gt3x,
    /// Delimited text with a time column and three acceleration columns.
    Csv,
    /// NumPy `.npz` archive with `time` and `accel` arrays (SKDH's numpy reader layout).
    Npz,
    /// Apache Parquet with `time`, `accel_x`, `accel_y`, `accel_z` columns.
    Parquet,
}

impl Format {
    /// The lower-case name used in configs and the catalog (`cwa`, `geneactiv`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Format::Cwa => "cwa",
            Format::GeneActiv => "geneactiv",
            Format::Gt3x => "gt3x",
            Format::Csv => "csv",
            Format::Npz => "npz",
            Format::Parquet => "parquet",
        }
    }
}

/// Facts about a recording that can be read from its header (the first few KB) without decoding
/// the samples. This is what the catalog stores for each file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeaderFacts {
    /// Detected file format.
    pub format: Option<Format>,
    /// Device model, e.g. `"Axivity AX3"`.
    pub device: String,
    /// Device serial number or id, when the header has one.
    pub device_id: Option<String>,
    /// Recording start, unix seconds (UTC as the device clock states it).
    pub start: Option<f64>,
    /// Recording end, unix seconds. See `end_is_estimate`.
    pub end: Option<f64>,
    /// True when `end` is estimated (e.g. from file size and sampling rate) rather than read.
    pub end_is_estimate: bool,
    /// Nominal sampling rate, Hz.
    pub sample_rate: Option<f64>,
    /// Accelerometer full-scale range, +/- g.
    pub accel_range_g: Option<f64>,
    /// Channels recorded, e.g. `["accel", "gyro", "temperature", "light"]`.
    pub channels: Vec<String>,
    /// File size in bytes, when known.
    pub file_size: Option<u64>,
}

/// Three synchronous axes stored column by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triaxial {
    /// X axis values.
    pub x: Vec<f64>,
    /// Y axis values.
    pub y: Vec<f64>,
    /// Z axis values.
    pub z: Vec<f64>,
}

impl Triaxial {
    /// An empty set of axes with room for `n` samples each.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            z: Vec::with_capacity(n),
        }
    }

    /// Number of samples (the length of the x axis).
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Appends one sample.
    pub fn push(&mut self, v: [f64; 3]) {
        self.x.push(v[0]);
        self.y.push(v[1]);
        self.z.push(v[2]);
    }
}

/// A problem found in a file that did not stop the read (e.g. a corrupt CWA block that was
/// skipped). Reported so that no data is silently dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataIssue {
    /// Byte offset in the file where the problem starts.
    pub offset: u64,
    /// What was wrong and what the reader did about it.
    pub message: String,
}

/// Decoded samples of one recording. All sample arrays have the length of `time`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recording {
    /// Sample times, unix seconds.
    pub time: Vec<f64>,
    /// Acceleration, g.
    pub accel: Triaxial,
    /// Angular velocity, deg/s, where recorded.
    pub gyro: Option<Triaxial>,
    /// Temperature, deg C, where recorded (per sample; block values repeated).
    pub temperature: Option<Vec<f64>>,
    /// Light sensor values (device units, e.g. lux for GENEActiv), where recorded.
    pub light: Option<Vec<f64>>,
    /// Nominal sampling rate, Hz.
    pub fs: f64,
    /// The header facts of the file the samples came from.
    pub header: HeaderFacts,
    /// Problems skipped over while reading (corrupt blocks...).
    pub issues: Vec<DataIssue>,
}

impl Recording {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }
}

/// Why a file could not be read. Offsets are byte offsets into the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file ended before a structure the header promised.
    #[error("truncated at byte {offset}: {what}")]
    Truncated {
        /// Byte offset where more data was expected.
        offset: u64,
        /// What was being read.
        what: String,
    },
    /// A structure has invalid content.
    #[error("corrupt data at byte {offset}: {what}")]
    Corrupt {
        /// Byte offset of the bad structure.
        offset: u64,
        /// What is wrong with it.
        what: String,
    },
    /// The content matches no known format.
    #[error("unrecognised format: {0}")]
    UnknownFormat(String),
    /// The format is known but this variant of it is not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An I/O error from the underlying reader.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
