//! NumPy `.npz` reader in SKDH's layout: `time` (N, unix seconds), `accel` (N x 3, g), and
//! optional `fs` (Hz), `temperature` (N, deg C), `gyro` (N x 3, deg/s), `light` (N).
//!
//! Arrays are `.npy` version 1-3 files, little- or big-endian `f8`, `f4`, `i8`, `i4`, `i2`,
//! `i1`, `u1`, `u2`, `u4`, `u8` or `b1`, in C or Fortran order; the archive may be stored or
//! deflated. Array sizes are checked against the entry sizes and memory grows only with the
//! bytes actually read.

pub(crate) mod zipscan;

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use super::{
    Format, HeaderFacts, InflateLimits, MAX_DEFLATE_RATIO, ReadError, Recording, Triaxial,
};

const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Largest `.npy` header accepted, bytes.
const MAX_NPY_HEADER: usize = 64 * 1024;

/// Element type of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Array shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// True when the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Bytes per element.
    pub item_size: usize,
    /// Bytes before the data (magic, version, header length and header text).
    pub data_offset: usize,
    kind: Kind,
    big_endian: bool,
}

impl NpyHeader {
    /// Number of elements (1 for a scalar); `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    fn decode(&self, b: &[u8]) -> f64 {
        macro_rules! num {
            ($t:ty, $n:expr) => {{
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                if self.big_endian {
                    <$t>::from_be_bytes(a)
                } else {
                    <$t>::from_le_bytes(a)
                }
            }};
        }
        match (self.kind, self.item_size) {
            (Kind::Float, 8) => num!(f64, 8),
            (Kind::Float, 4) => f64::from(num!(f32, 4)),
            (Kind::Int, 8) => num!(i64, 8) as f64,
            (Kind::Int, 4) => f64::from(num!(i32, 4)),
            (Kind::Int, 2) => f64::from(num!(i16, 2)),
            (Kind::Int, 1) => f64::from(b[0] as i8),
            (Kind::Uint, 8) => num!(u64, 8) as f64,
            (Kind::Uint, 4) => f64::from(num!(u32, 4)),
            (Kind::Uint, 2) => f64::from(num!(u16, 2)),
            (Kind::Uint, 1) | (Kind::Bool, 1) => f64::from(b[0]),
            _ => f64::NAN,
        }
    }
}

/// A decoded array, values converted to f64 in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Array shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Values in C order.
    pub values: Vec<f64>,
}

fn corrupt(offset: u64, what: impl Into<String>) -> ReadError {
    ReadError::Corrupt {
        offset,
        what: what.into(),
    }
}

/// Value of `key` in a numpy header dict, as raw text up to the next top-level comma or brace.
fn dict_value<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let pat_a = format!("'{key}'");
    let pat_b = format!("\"{key}\"");
    let at = dict
        .find(&pat_a)
        .map(|i| i + pat_a.len())
        .or_else(|| dict.find(&pat_b).map(|i| i + pat_b.len()))?;
    let rest = dict[at..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        let end = rest.find(')')?;
        return Some(&rest[..=end]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Parses a `.npy` header from the start of `bytes`; `base` is the file offset of `bytes[0]`
/// (for error messages).
pub fn parse_npy_header(bytes: &[u8], base: u64) -> Result<NpyHeader, ReadError> {
    if bytes.len() < 10 {
        return Err(ReadError::Truncated {
            offset: base + bytes.len() as u64,
            what: "npy header".into(),
        });
    }
    if &bytes[..6] != NPY_MAGIC {
        return Err(corrupt(base, "missing \\x93NUMPY magic"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or(ReadError::Truncated {
                offset: base + 8,
                what: "npy header length".into(),
            })?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(ReadError::Unsupported(format!("npy format version {v}"))),
    };
    if hlen > MAX_NPY_HEADER {
        return Err(corrupt(
            base + 8,
            format!("npy header of {hlen} bytes is implausibly long"),
        ));
    }
    let text = bytes.get(start..start + hlen).ok_or(ReadError::Truncated {
        offset: base + bytes.len() as u64,
        what: format!("npy header of {hlen} bytes"),
    })?;
    let dict = std::str::from_utf8(text)
        .map_err(|_| corrupt(base + start as u64, "npy header is not text"))?;
    let descr = dict_value(dict, "descr")
        .ok_or_else(|| corrupt(base + start as u64, "npy header has no 'descr'"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let (endian, ty) = match descr.as_bytes().first() {
        Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr),
    };
    let kind = match ty.as_bytes().first() {
        Some(b'f') => Kind::Float,
        Some(b'i') => Kind::Int,
        Some(b'u') => Kind::Uint,
        Some(b'b') => Kind::Bool,
        _ => return Err(ReadError::Unsupported(format!("npy dtype '{descr}'"))),
    };
    let item_size: usize = ty.get(1..).and_then(|s| s.parse().ok()).unwrap_or(0);
    let ok = matches!(
        (kind, item_size),
        (Kind::Float, 4 | 8)
            | (Kind::Int, 1 | 2 | 4 | 8)
            | (Kind::Uint, 1 | 2 | 4 | 8)
            | (Kind::Bool, 1)
    );
    if !ok {
        return Err(ReadError::Unsupported(format!("npy dtype '{descr}'")));
    }
    let fortran_order = match dict_value(dict, "fortran_order") {
        Some("True") => true,
        Some("False") | None => false,
        Some(v) => {
            return Err(corrupt(
                base + start as u64,
                format!("bad fortran_order '{v}'"),
            ));
        }
    };
    let shape_text = dict_value(dict, "shape")
        .ok_or_else(|| corrupt(base + start as u64, "npy header has no 'shape'"))?;
    let inner = shape_text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')');
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        shape.push(
            part.parse::<usize>()
                .map_err(|_| corrupt(base + start as u64, format!("bad shape {shape_text}")))?,
        );
    }
    let header = NpyHeader {
        shape,
        fortran_order,
        item_size,
        data_offset: start + hlen,
        kind,
        big_endian: endian,
    };
    if header
        .len()
        .and_then(|n| n.checked_mul(item_size))
        .is_none()
    {
        return Err(corrupt(
            base + start as u64,
            format!("shape {shape_text} overflows"),
        ));
    }
    Ok(header)
}

/// Reads one `.npy` stream holding `available` bytes in all (its entry size). `base` is the file
/// offset of the stream (for errors).
pub fn read_npy<R: Read>(mut r: R, available: u64, base: u64) -> Result<NpyArray, ReadError> {
    let mut head = Vec::with_capacity(256);
    (&mut r).take(12).read_to_end(&mut head)?;
    let hlen_total = match head.get(6) {
        Some(1) if head.len() >= 10 => 10 + usize::from(u16::from_le_bytes([head[8], head[9]])),
        Some(2 | 3) if head.len() >= 12 => {
            12 + u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize
        }
        _ => head.len().max(10),
    };
    if hlen_total > MAX_NPY_HEADER + 12 {
        return Err(corrupt(base + 8, "npy header is implausibly long"));
    }
    (&mut r)
        .take((hlen_total.saturating_sub(head.len())) as u64)
        .read_to_end(&mut head)?;
    let header = parse_npy_header(&head, base)?;
    let n = header.len().unwrap_or(0);
    let need = (n * header.item_size) as u64;
    let have = available.saturating_sub(header.data_offset as u64);
    if need > have {
        return Err(ReadError::Truncated {
            offset: base + header.data_offset as u64 + have,
            what: format!(
                "npy data: shape {:?} needs {need} bytes, the entry holds {have}",
                header.shape
            ),
        });
    }
    let mut values = Vec::with_capacity(n.min(1 << 20));
    let mut chunk = vec![0u8; (64 * 1024 / header.item_size) * header.item_size];
    let mut left = need as usize;
    while left > 0 {
        let want = left.min(chunk.len());
        let got = read_fully(&mut r, &mut chunk[..want])?;
        for item in chunk[..got - got % header.item_size].chunks_exact(header.item_size) {
            values.push(header.decode(item));
        }
        if got < want {
            return Err(ReadError::Truncated {
                offset: base + header.data_offset as u64 + (need as usize - left + got) as u64,
                what: format!("npy data of shape {:?}", header.shape),
            });
        }
        left -= got;
    }
    if header.fortran_order && header.shape.len() == 2 {
        let (rows, cols) = (header.shape[0], header.shape[1]);
        let mut c = vec![0.0; values.len()];
        for j in 0..cols {
            for i in 0..rows {
                c[i * cols + j] = values[j * rows + i];
            }
        }
        values = c;
    } else if header.fortran_order && header.shape.len() > 2 {
        return Err(ReadError::Unsupported(
            "Fortran-order arrays with more than 2 dimensions".into(),
        ));
    }
    Ok(NpyArray {
        shape: header.shape,
        values,
    })
}

fn read_fully<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(map_zip_io(e)),
        }
    }
    Ok(got)
}

/// The zip crate reports a CRC mismatch or bad deflate data as an I/O error of kind `InvalidData`.
fn map_zip_io(e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        corrupt(0, format!("zip entry data: {e}"))
    } else {
        ReadError::Io(e)
    }
}

fn zip_error(e: zip::result::ZipError, file_len: u64) -> ReadError {
    match e {
        zip::result::ZipError::Io(io) => ReadError::Io(io),
        zip::result::ZipError::UnsupportedArchive(m) => ReadError::Unsupported(m.to_string()),
        other => corrupt(file_len, format!("not a readable zip archive: {other}")),
    }
}

/// Opens a zip archive, mapping failures to [`ReadError`]s (offset: the file length, where the
/// central directory is searched).
pub(crate) fn open_zip<R: Read + Seek>(mut reader: R) -> Result<zip::ZipArchive<R>, ReadError> {
    let len = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(0))?;
    if len == 0 {
        return Err(ReadError::Truncated {
            offset: 0,
            what: "empty file".into(),
        });
    }
    zip::ZipArchive::new(reader).map_err(|e| zip_error(e, len))
}

/// Bytes a tiny entry may declare beyond [`MAX_DEFLATE_RATIO`] times its compressed size:
/// deflate's fixed overhead makes the ratio meaningless below a few bytes.
const RATIO_SLACK: u64 = 1024;

/// Opens entry `name` for reading, refusing it before anything is inflated when its declared
/// uncompressed size exceeds `limits` or what its compressed size can produce, and capping the
/// reader at the declared size. Returns the reader, the declared size and the file offset of
/// the entry's data.
pub(crate) fn bounded_entry<'a, R: Read + Seek>(
    zip: &'a mut zip::ZipArchive<R>,
    name: &str,
    limits: &InflateLimits,
) -> Result<(std::io::Take<zip::read::ZipFile<'a, R>>, u64, u64), ReadError> {
    let entry = zip.by_name(name).map_err(|e| ReadError::Corrupt {
        offset: 0,
        what: format!("zip entry '{name}': {e}"),
    })?;
    let size = entry.size();
    let packed = entry.compressed_size();
    let at = entry.header_start();
    let base = entry.data_start().unwrap_or(at);
    if size > limits.max_entry_bytes {
        return Err(ReadError::TooLarge {
            offset: at,
            what: format!(
                "zip entry '{name}' declares {size} uncompressed bytes, over the limit of {} \
                 (InflateLimits::max_entry_bytes)",
                limits.max_entry_bytes
            ),
        });
    }
    let possible = if entry.compression() == zip::CompressionMethod::Stored {
        packed
    } else {
        packed
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(RATIO_SLACK)
    };
    if size > possible {
        return Err(corrupt(
            at,
            format!(
                "zip entry '{name}' declares {size} uncompressed bytes from {packed} compressed: \
                 more than its compression can produce (a zip bomb?)"
            ),
        ));
    }
    Ok((entry.take(size), size, base))
}

/// Reads every `.npy` array of an `.npz` archive, keyed by name without `.npy`, with the
/// default [`InflateLimits`].
pub fn read_arrays<R: Read + Seek>(reader: R) -> Result<BTreeMap<String, NpyArray>, ReadError> {
    read_arrays_with_limits(reader, &InflateLimits::default())
}

/// [`read_arrays`] with explicit zip-bomb bounds.
pub fn read_arrays_with_limits<R: Read + Seek>(
    reader: R,
    limits: &InflateLimits,
) -> Result<BTreeMap<String, NpyArray>, ReadError> {
    let mut zip = open_zip(reader)?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let mut out = BTreeMap::new();
    for name in names {
        if let Some(key) = name.strip_suffix(".npy") {
            let arr = read_entry(&mut zip, &name, limits)?;
            out.insert(key.to_string(), arr);
        }
    }
    Ok(out)
}

fn read_entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limits: &InflateLimits,
) -> Result<NpyArray, ReadError> {
    let (entry, size, base) = bounded_entry(zip, name, limits)?;
    read_npy(entry, size, base)
}

fn read_optional<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    key: &str,
    limits: &InflateLimits,
) -> Result<Option<NpyArray>, ReadError> {
    let name = format!("{key}.npy");
    if zip.index_for_name(&name).is_none() {
        return Ok(None);
    }
    read_entry(zip, &name, limits).map(Some)
}

/// A per-sample array of `n` values (the length of `time`).
fn column(arr: NpyArray, n: usize, key: &str) -> Result<Vec<f64>, ReadError> {
    if arr.shape.len() > 1 {
        return Err(corrupt(
            0,
            format!("'{key}' has shape {:?}, expected (N,)", arr.shape),
        ));
    }
    super::check_same_len(&[("time", n), (key, arr.values.len())])?;
    Ok(arr.values)
}

/// An (n, 3) array as axes, n the length of `time`.
fn triaxial(arr: &NpyArray, n: usize, key: &str) -> Result<Triaxial, ReadError> {
    if arr.shape.len() != 2 || arr.shape[1] != 3 {
        return Err(corrupt(
            0,
            format!("'{key}' has shape {:?}, expected (N, 3)", arr.shape),
        ));
    }
    super::check_same_len(&[("time", n), (key, arr.shape[0])])?;
    let mut t = Triaxial::with_capacity(n);
    for row in arr.values.chunks_exact(3) {
        t.push([row[0], row[1], row[2]]);
    }
    Ok(t)
}

/// Reads a recording in SKDH's numpy layout. `fs` defaults to (n - 1) / (last - first time).
/// Entries are bounded by the default [`InflateLimits`].
pub fn read<R: Read + Seek>(reader: R) -> Result<Recording, ReadError> {
    read_with_limits(reader, &InflateLimits::default())
}

/// [`read`] with explicit zip-bomb bounds.
pub fn read_with_limits<R: Read + Seek>(
    reader: R,
    limits: &InflateLimits,
) -> Result<Recording, ReadError> {
    let mut zip = open_zip(reader)?;
    let time = read_optional(&mut zip, "time", limits)?
        .ok_or_else(|| corrupt(0, "npz has no 'time' array"))?;
    let accel = read_optional(&mut zip, "accel", limits)?
        .ok_or_else(|| corrupt(0, "npz has no 'accel' array"))?;
    let n = time.values.len();
    if time.shape.len() != 1 {
        return Err(corrupt(
            0,
            format!("'time' has shape {:?}, expected (N,)", time.shape),
        ));
    }
    let mut rec = Recording {
        time: time.values,
        accel: triaxial(&accel, n, "accel")?,
        ..Recording::default()
    };
    drop(accel);
    if let Some(g) = read_optional(&mut zip, "gyro", limits)? {
        rec.gyro = Some(triaxial(&g, n, "gyro")?);
    }
    if let Some(t) = read_optional(&mut zip, "temperature", limits)? {
        rec.temperature = Some(column(t, n, "temperature")?);
    }
    if let Some(l) = read_optional(&mut zip, "light", limits)? {
        rec.light = Some(column(l, n, "light")?);
    }
    let fs = read_optional(&mut zip, "fs", limits)?
        .and_then(|a| a.values.first().copied())
        .filter(|f| f.is_finite() && *f > 0.0);
    rec.fs = fs
        .or_else(|| super::csv::rate_from_times(&rec.time))
        .unwrap_or(0.0);
    let mut channels = vec!["accel".to_string()];
    for (name, present) in [
        ("gyro", rec.gyro.is_some()),
        ("temperature", rec.temperature.is_some()),
        ("light", rec.light.is_some()),
    ] {
        if present {
            channels.push(name.to_string());
        }
    }
    rec.header = HeaderFacts {
        format: Some(Format::Npz),
        device: "NumPy npz".to_string(),
        device_id: None,
        start: rec.time.first().copied(),
        end: rec.time.last().copied(),
        end_is_estimate: false,
        sample_rate: Some(rec.fs).filter(|f| *f > 0.0),
        accel_range_g: None,
        channels,
        file_size: None,
    };
    rec.check_lengths()?;
    Ok(rec)
}

/// Header facts from what the entries' first bytes show: `time`'s first value (start), its
/// length, `fs`, and the channels present. `last_time` is the last time value when known.
fn facts_from(
    entries: &[(String, Vec<u8>)],
    last_time: Option<f64>,
    file_size: Option<u64>,
) -> HeaderFacts {
    let mut start = None;
    let mut n = None;
    let mut fs = None;
    let mut channels = Vec::new();
    let mut last_time = last_time;
    let mut visible_rate = None;
    for (name, bytes) in entries {
        let Some(key) = name.strip_suffix(".npy") else {
            continue;
        };
        let Ok(h) = parse_npy_header(bytes, 0) else {
            continue;
        };
        let first = bytes
            .get(h.data_offset..h.data_offset + h.item_size)
            .map(|b| h.decode(b));
        match key {
            "time" if h.shape.len() == 1 => {
                start = first;
                n = h.len();
                // The times visible in the prefix give the rate, and the end when all are there.
                let times: Vec<f64> = bytes
                    .get(h.data_offset..)
                    .unwrap_or(&[])
                    .chunks_exact(h.item_size)
                    .map(|b| h.decode(b))
                    .collect();
                visible_rate = super::csv::rate_from_times(&times);
                if Some(times.len()) == n {
                    last_time = last_time.or(times.last().copied());
                }
            }
            "fs" => fs = first.filter(|f| f.is_finite() && *f > 0.0),
            "accel" | "gyro" | "temperature" | "light" => channels.push(key.to_string()),
            _ => {}
        }
    }
    channels.sort_by_key(|c| {
        ["accel", "gyro", "temperature", "light"]
            .iter()
            .position(|k| k == c)
    });
    let (end, estimate) = match (last_time, start, fs.or(visible_rate), n) {
        (Some(l), ..) => (Some(l), false),
        (None, Some(s), Some(f), Some(n)) if n > 0 => (Some(s + (n - 1) as f64 / f), true),
        _ => (None, false),
    };
    let fs = fs.or_else(|| match (start, last_time, n) {
        (Some(s), Some(l), Some(n)) if l > s && n > 1 => Some((n - 1) as f64 / (l - s)),
        _ => None,
    });
    let fs = fs.or(visible_rate);
    HeaderFacts {
        format: Some(Format::Npz),
        device: "NumPy npz".to_string(),
        device_id: None,
        start,
        end,
        end_is_estimate: estimate,
        sample_rate: fs,
        accel_range_g: None,
        channels,
        file_size,
    }
}

/// Header facts from the first bytes of an `.npz` (the local headers and array headers visible
/// in `prefix`).
pub fn read_header(prefix: &[u8], file_size: Option<u64>) -> Result<HeaderFacts, ReadError> {
    if !prefix.starts_with(&zipscan::LOCAL_SIG) {
        return Err(ReadError::UnknownFormat("not a zip archive".into()));
    }
    let entries: Vec<(String, Vec<u8>)> = zipscan::local_entries(prefix)
        .iter()
        .filter_map(|e| Some((e.name.clone(), zipscan::entry_prefix(prefix, e, 64 * 1024)?)))
        .collect();
    Ok(facts_from(&entries, None, file_size))
}

/// Header facts of a seekable `.npz`, reading the central directory and the first 4 KB of each
/// array (plus the last `time` value of a stored archive).
pub fn read_header_seek<R: Read + Seek>(r: &mut R) -> Result<HeaderFacts, ReadError> {
    let size = r.seek(SeekFrom::End(0))?;
    let central = zipscan::central_entries(r)?;
    let mut entries = Vec::new();
    let mut last_time = None;
    for e in central.iter().filter(|e| e.name.ends_with(".npy")).take(64) {
        let bytes = zipscan::read_entry_prefix(r, e, 4096)?;
        if e.name == "time.npy"
            && e.method == 0
            && let Ok(h) = parse_npy_header(&bytes, e.header_offset)
        {
            last_time = last_stored_value(r, e, &h)?;
        }
        entries.push((e.name.clone(), bytes));
    }
    Ok(facts_from(&entries, last_time, Some(size)))
}

fn last_stored_value<R: Read + Seek>(
    r: &mut R,
    e: &zipscan::Entry,
    h: &NpyHeader,
) -> Result<Option<f64>, ReadError> {
    let n = h.len().unwrap_or(0);
    if n == 0 || (h.data_offset + n * h.item_size) as u64 > e.size {
        return Ok(None);
    }
    r.seek(SeekFrom::Start(e.header_offset))?;
    let mut local = [0u8; 30];
    r.read_exact(&mut local)?;
    let skip = u64::from(u16::from_le_bytes([local[26], local[27]]))
        + u64::from(u16::from_le_bytes([local[28], local[29]]));
    let at = e.header_offset + 30 + skip + (h.data_offset + (n - 1) * h.item_size) as u64;
    r.seek(SeekFrom::Start(at))?;
    let mut b = [0u8; 8];
    r.read_exact(&mut b[..h.item_size])?;
    Ok(Some(h.decode(&b[..h.item_size])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut h = dict.into_bytes();
        while (h.len() + 11) % 64 != 0 {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        let data: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let b = npy("<f8", true, "(2, 3)", &data);
        let a = read_npy(&b[..], b.len() as u64, 0).unwrap();
        assert_eq!(a.values, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
    }

    #[test]
    fn integer_and_float32_arrays_decode() {
        let data: Vec<u8> = [-5i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let b = npy("<i8", false, "(2,)", &data);
        assert_eq!(
            read_npy(&b[..], b.len() as u64, 0).unwrap().values,
            vec![-5.0, 7.0]
        );
        let data: Vec<u8> = [1.5f32].iter().flat_map(|v| v.to_le_bytes()).collect();
        let b = npy("<f4", false, "(1,)", &data);
        assert_eq!(
            read_npy(&b[..], b.len() as u64, 0).unwrap().values,
            vec![1.5]
        );
    }

    #[test]
    fn a_huge_shape_is_refused_before_allocating() {
        let b = npy("<f8", false, "(1000000000000,)", &[0; 16]);
        assert!(matches!(
            read_npy(&b[..], b.len() as u64, 100),
            Err(ReadError::Truncated { .. })
        ));
        let b = npy("<f8", false, "(99999999999999999999,)", &[]);
        assert!(read_npy(&b[..], b.len() as u64, 0).is_err());
    }
}
