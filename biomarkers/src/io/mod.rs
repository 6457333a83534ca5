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

pub mod apdm;
pub mod csv;
pub mod cwa;
pub mod geneactiv;
pub mod gt3x;
pub mod npz;
pub mod parquet;

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
    /// APDM Opal HDF5 (`.h5`), one sensor chosen by its label.
    Apdm,
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
            Format::Apdm => "apdm",
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

    /// Checks the invariant that every per-sample array has the length of `time`; the
    /// [`ReadError::Corrupt`] names the first array that differs and both lengths. Every reader
    /// that assembles columns from separate sources ends with it.
    pub fn check_lengths(&self) -> Result<(), ReadError> {
        let mut cols = vec![
            ("time", self.time.len()),
            ("accel x", self.accel.x.len()),
            ("accel y", self.accel.y.len()),
            ("accel z", self.accel.z.len()),
        ];
        if let Some(g) = &self.gyro {
            cols.extend([
                ("gyro x", g.x.len()),
                ("gyro y", g.y.len()),
                ("gyro z", g.z.len()),
            ]);
        }
        if let Some(t) = &self.temperature {
            cols.push(("temperature", t.len()));
        }
        if let Some(l) = &self.light {
            cols.push(("light", l.len()));
        }
        check_same_len(&cols)
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
    /// A structure declares more data than a limit allows (e.g. a zip entry that would inflate
    /// beyond [`InflateLimits::max_entry_bytes`]); nothing of it was decoded.
    #[error("too large at byte {offset}: {what}")]
    TooLarge {
        /// Byte offset of the structure (e.g. the zip entry's local header).
        offset: u64,
        /// What it declares and the limit it exceeds.
        what: String,
    },
    /// An I/O error from the underlying reader.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

// ---------------------------------------------------------------------------------------------
// Format dispatch: detection from content, header facts from a prefix, whole-file reads.

/// Most bytes [`read_header_file`] reads from the start of a file (and what a catalog should
/// fetch with a ranged GET for [`read_header`]).
pub const HEADER_PREFIX_LEN: usize = 64 * 1024;

/// Most bytes deflate can produce from one compressed byte (zlib's bound: a 258-byte match per
/// bit pair is ~1032:1). A zip entry declaring a larger ratio lies about its size.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// Bounds on what one entry of a compressed container (the arrays of an `.npz`, `log.bin` /
/// `activity.bin` / `lux.bin` of a `.gt3x`) may inflate to, so that a zip bomb cannot exhaust
/// memory. An entry is refused before anything is inflated when its declared uncompressed size
/// exceeds `max_entry_bytes` ([`ReadError::TooLarge`]) or [`MAX_DEFLATE_RATIO`] times its
/// compressed size ([`ReadError::Corrupt`]), and no entry is ever inflated past its declared
/// size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InflateLimits {
    /// Largest uncompressed size one entry may declare, bytes. Default
    /// [`InflateLimits::DEFAULT_MAX_ENTRY_BYTES`] (4 GiB: a 7-day 100 Hz `accel` array in f8 is
    /// 1.5 GB).
    pub max_entry_bytes: u64,
}

impl InflateLimits {
    /// The default of [`InflateLimits::max_entry_bytes`], bytes (4 GiB).
    pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 4 << 30;
}

impl Default for InflateLimits {
    fn default() -> Self {
        Self {
            max_entry_bytes: Self::DEFAULT_MAX_ENTRY_BYTES,
        }
    }
}

/// Options of [`read_file`]: the format (or `None` to detect it) and each reader's options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// Format to read; `None` detects it with [`detect_format`].
    pub format: Option<Format>,
    /// Axivity CWA options.
    pub cwa: cwa::CwaReadOptions,
    /// ActiGraph gt3x options.
    pub gt3x: gt3x::Gt3xOptions,
    /// CSV layout; `None` guesses it from the file's first bytes with
    /// [`csv::sniff_options`](self::csv::sniff_options) (delimiter, header line, time unit;
    /// columns time, x, y, z, then gyro by position).
    pub csv: Option<self::csv::CsvOptions>,
    /// APDM Opal options: which sensor (`sensor_label`), gravity, time localisation.
    pub apdm: apdm::ApdmOptions,
    /// Zip-bomb bounds of the zip-based formats (npz, gt3x).
    pub inflate: InflateLimits,
    /// Leave light out of the recording (`light` is `None`), whatever the format: no biomarker
    /// step reads it, and for CWA it is 8 bytes a sample of memory (never decoded). Default
    /// `false`.
    pub skip_light: bool,
}

/// The lower-case extension of a file name, if any.
fn extension(file_name: Option<&str>) -> Option<String> {
    let name = file_name?;
    let ext = std::path::Path::new(name).extension()?.to_str()?;
    Some(ext.to_ascii_lowercase())
}

/// Detects a file's format from its first bytes (content first), using the file name's
/// extension only to break ties: a zip whose visible entries name neither format, or text that
/// could be CSV. `None` when nothing matches.
pub fn detect_format(prefix: &[u8], file_name: Option<&str>) -> Option<Format> {
    let ext = extension(file_name);
    let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    // CWA: "MD" and a header packet length of 1020 bytes.
    if prefix.starts_with(b"MD")
        && (prefix.len() < 4 || u16::from_le_bytes([prefix[2], prefix[3]]) == 1020)
    {
        return Some(Format::Cwa);
    }
    if body.starts_with(b"Device Identity") {
        return Some(Format::GeneActiv);
    }
    if prefix.starts_with(self::parquet::MAGIC) {
        return Some(Format::Parquet);
    }
    if apdm::is_hdf5(prefix) {
        return Some(Format::Apdm);
    }
    if prefix.starts_with(&npz::zipscan::LOCAL_SIG) {
        let entries = npz::zipscan::local_entries(prefix);
        if entries.iter().any(|e| gt3x::is_gt3x_entry(&e.name)) {
            return Some(Format::Gt3x);
        }
        if entries.iter().any(|e| e.name.ends_with(".npy")) {
            return Some(Format::Npz);
        }
        return match ext.as_deref() {
            Some("gt3x" | "agdc") => Some(Format::Gt3x),
            Some("npz") => Some(Format::Npz),
            _ => None,
        };
    }
    if self::csv::looks_like_csv(body) {
        return Some(Format::Csv);
    }
    let texty = !body.is_empty() && !body.contains(&0);
    match ext.as_deref() {
        Some("csv" | "tsv" | "txt") if texty => Some(Format::Csv),
        _ => None,
    }
}

/// The error for content no reader recognises; names byte 0 and shows the first bytes (the
/// caller names the file).
fn unknown_format(prefix: &[u8]) -> ReadError {
    let head: Vec<String> = prefix.iter().take(8).map(|b| format!("{b:02x}")).collect();
    ReadError::UnknownFormat(format!(
        "the bytes at byte 0 ({}) start no known format (CWA, GENEActiv, GT3X, NPZ, Parquet, APDM HDF5, CSV)",
        head.join(" ")
    ))
}

/// Header facts from the first bytes of a file (ideally [`HEADER_PREFIX_LEN`] of them, from a
/// ranged GET) and, when known, the file size (used to estimate the end). The format is
/// detected with [`detect_format`]; CSV options are guessed with
/// [`csv::sniff_options`](self::csv::sniff_options). Parquet keeps its facts in the footer and
/// HDF5 (APDM) spreads them through the file, so a prefix may only confirm the format: use
/// [`read_header_file`] for those.
pub fn read_header(
    prefix: &[u8],
    file_size: Option<u64>,
    file_name: Option<&str>,
) -> Result<HeaderFacts, ReadError> {
    let format = detect_format(prefix, file_name).ok_or_else(|| unknown_format(prefix))?;
    let mut facts = match format {
        Format::Cwa => cwa::read_header(prefix, file_size)?,
        Format::GeneActiv => geneactiv::read_header(prefix, file_size)?,
        Format::Gt3x => gt3x::read_header(prefix, file_size)?,
        Format::Npz => npz::read_header(prefix, file_size)?,
        Format::Parquet => self::parquet::read_header(prefix, file_size)?,
        Format::Apdm => apdm::read_header(prefix, file_size)?,
        Format::Csv => {
            self::csv::read_header(prefix, file_size, &self::csv::sniff_options(prefix))?
        }
    };
    facts.format = Some(format);
    facts.file_size = file_size.or(facts.file_size);
    Ok(facts)
}

/// The first [`HEADER_PREFIX_LEN`] bytes of a file (fewer if it is shorter): what
/// [`detect_format`], [`read_header`] and the CSV sniffer look at. An empty file is an error at
/// byte 0.
pub fn read_prefix(path: &std::path::Path) -> Result<Vec<u8>, ReadError> {
    read_prefix_of(&mut std::fs::File::open(path)?)
}

fn read_prefix_of(file: &mut std::fs::File) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut prefix = Vec::new();
    file.take(HEADER_PREFIX_LEN as u64)
        .read_to_end(&mut prefix)?;
    if prefix.is_empty() {
        return Err(ReadError::Truncated {
            offset: 0,
            what: "empty file".to_string(),
        });
    }
    Ok(prefix)
}

/// Header facts of a file on disk, reading a bounded amount: the first [`HEADER_PREFIX_LEN`]
/// bytes, and for zip-based formats (gt3x, npz) and Parquet the directory / footer at the end
/// with seeks (each read capped at 64 KB); for APDM HDF5 the metadata objects and the first and
/// last time values, wherever they are.
pub fn read_header_file(path: &std::path::Path) -> Result<HeaderFacts, ReadError> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let prefix = read_prefix_of(&mut file)?;
    let name = path.file_name().and_then(|n| n.to_str());
    let format = detect_format(&prefix, name).ok_or_else(|| unknown_format(&prefix))?;
    let mut facts = match format {
        Format::Gt3x => gt3x::read_header_seek(&mut file)?,
        Format::Npz => npz::read_header_seek(&mut file)?,
        Format::Parquet => self::parquet::read_header_seek(&mut file)?,
        Format::Apdm => apdm::read_header_path(path)?,
        _ => return read_header(&prefix, Some(size), name),
    };
    facts.format = Some(format);
    facts.file_size = Some(size);
    Ok(facts)
}

/// Reads a whole recording from a file on disk, in the format `opts.format` names or the one
/// [`detect_format`] finds. `header.file_size` and `header.format` are filled in.
pub fn read_file(path: &std::path::Path, opts: &ReadOptions) -> Result<Recording, ReadError> {
    let read_prefix = || read_prefix(path);
    let format = match opts.format {
        Some(f) => f,
        None => {
            let prefix = read_prefix()?;
            detect_format(&prefix, path.file_name().and_then(|n| n.to_str()))
                .ok_or_else(|| unknown_format(&prefix))?
        }
    };
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut rec = match format {
        Format::Cwa => cwa::read_file(
            path,
            &cwa::CwaReadOptions {
                skip_light: opts.cwa.skip_light || opts.skip_light,
                ..opts.cwa
            },
        )?,
        Format::GeneActiv => geneactiv::read(file)?,
        Format::Gt3x => {
            gt3x::read_with_limits(std::io::BufReader::new(file), &opts.gt3x, &opts.inflate)?
        }
        Format::Csv => match &opts.csv {
            Some(layout) => self::csv::read(file, layout)?,
            None => self::csv::read(file, &self::csv::sniff_options(&read_prefix()?))?,
        },
        Format::Npz => npz::read_with_limits(std::io::BufReader::new(file), &opts.inflate)?,
        Format::Parquet => self::parquet::read(file)?,
        Format::Apdm => apdm::read_file(path, &opts.apdm)?,
    };
    if opts.skip_light {
        rec.light = None;
    }
    rec.header.format = Some(format);
    rec.header.file_size = Some(size);
    Ok(rec)
}

/// Checks that the named per-sample columns all have the length of the first, so that a
/// [`Recording`] keeps its invariant; the error names the first column that differs and both
/// lengths. `columns` is `(name, length)` pairs, the reference first.
pub fn check_same_len(columns: &[(&str, usize)]) -> Result<(), ReadError> {
    let Some(&(first, n)) = columns.first() else {
        return Ok(());
    };
    match columns.iter().find(|(_, len)| *len != n) {
        None => Ok(()),
        Some((name, len)) => Err(ReadError::Corrupt {
            offset: 0,
            what: format!("'{name}' has {len} samples but '{first}' has {n}"),
        }),
    }
}
