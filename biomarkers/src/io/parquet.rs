//! Apache Parquet reader (the `parquet` crate's column API, no Arrow).
//!
//! Columns are found by name: time `time` / `timestamp` / `t`; acceleration `accel_x` /
//! `acc_x` / `ax` / `x` (and y, z); gyroscope `gyro_x` / `gyr_x` / `gx`; `temperature` / `temp`;
//! `light` / `lux`. Names are matched without case. A table whose columns are unnamed numbers
//! (`"0"`, `"1"`, ...) is read by position: time, accel x/y/z, then gyro x/y/z.
//!
//! Time may be a DOUBLE/FLOAT of unix seconds, or an INT64 `TIMESTAMP` (ms, us, ns) logical
//! type; acceleration is in g, gyro in deg/s. Only flat (non-repeated) columns are read; null
//! values become NaN.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use parquet::basic::{LogicalType, TimeUnit};
use parquet::column::reader::ColumnReader;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnDescriptor;

use super::{Format, HeaderFacts, ReadError, Recording, Triaxial};

/// Parquet magic at both ends of a file.
pub const MAGIC: &[u8; 4] = b"PAR1";
/// Largest footer read for header facts, bytes.
const FOOTER_BUDGET: u64 = 64 * 1024;
/// Values read per batch.
const BATCH: usize = 64 * 1024;

/// Column positions of the channels in a file's schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Columns {
    time: usize,
    accel: [usize; 3],
    gyro: Option<[usize; 3]>,
    temperature: Option<usize>,
    light: Option<usize>,
}

fn find(names: &[String], candidates: &[&str]) -> Option<usize> {
    candidates
        .iter()
        .find_map(|c| names.iter().position(|n| n.eq_ignore_ascii_case(c)))
}

fn find3(names: &[String], prefixes: &[&str]) -> Option<[usize; 3]> {
    let axis = |a: &str| {
        let cands: Vec<String> = prefixes
            .iter()
            .flat_map(|p| [format!("{p}_{a}"), format!("{p}{a}"), format!("{p} {a}")])
            .collect();
        let refs: Vec<&str> = cands.iter().map(String::as_str).collect();
        find(names, &refs)
    };
    Some([axis("x")?, axis("y")?, axis("z")?])
}

fn resolve_columns(names: &[String]) -> Result<Columns, ReadError> {
    let numeric = names.len() >= 4 && names.iter().all(|n| n.parse::<usize>().is_ok());
    if numeric {
        let pos = |k: usize| {
            names
                .iter()
                .position(|n| n.parse::<usize>().ok() == Some(k))
        };
        let time = pos(0).ok_or_else(|| missing("0"))?;
        let accel = [pos(1), pos(2), pos(3)];
        let [Some(ax), Some(ay), Some(az)] = accel else {
            return Err(missing("1, 2, 3"));
        };
        let gyro = match [pos(4), pos(5), pos(6)] {
            [Some(a), Some(b), Some(c)] => Some([a, b, c]),
            _ => None,
        };
        return Ok(Columns {
            time,
            accel: [ax, ay, az],
            gyro,
            temperature: None,
            light: None,
        });
    }
    let time = find(names, &["time", "timestamp", "t", "unix_time", "time_s"])
        .ok_or_else(|| missing("time"))?;
    let accel = find3(names, &["accel", "acc", "a", "acceleration"])
        .or_else(|| {
            find(names, &["x"])
                .zip(find(names, &["y"]))
                .zip(find(names, &["z"]))
                .map(|((x, y), z)| [x, y, z])
        })
        .ok_or_else(|| missing("accel_x, accel_y, accel_z"))?;
    Ok(Columns {
        time,
        accel,
        gyro: find3(names, &["gyro", "gyr", "g", "gyroscope"]),
        temperature: find(names, &["temperature", "temp"]),
        light: find(names, &["light", "lux"]),
    })
}

fn missing(what: &str) -> ReadError {
    ReadError::Corrupt {
        offset: 0,
        what: format!("parquet schema has no column for {what}"),
    }
}

/// Factor from the stored time value to unix seconds.
fn time_scale(desc: &ColumnDescriptor) -> f64 {
    match desc.logical_type_ref() {
        Some(LogicalType::Timestamp(t)) => match t.unit {
            TimeUnit::MILLIS => 1e-3,
            TimeUnit::MICROS => 1e-6,
            TimeUnit::NANOS => 1e-9,
        },
        _ => match desc.converted_type() {
            parquet::basic::ConvertedType::TIMESTAMP_MILLIS => 1e-3,
            parquet::basic::ConvertedType::TIMESTAMP_MICROS => 1e-6,
            _ => 1.0,
        },
    }
}

/// Reads one column chunk fully, appending f64 values (nulls as NaN) to `out`.
fn read_column(
    reader: ColumnReader,
    max_def: i16,
    rows: usize,
    scale: f64,
    out: &mut Vec<f64>,
) -> Result<(), ReadError> {
    let mut defs: Vec<i16> = Vec::new();
    macro_rules! drain {
        ($r:expr, $conv:expr) => {{
            let mut r = $r;
            let mut vals = Vec::new();
            let mut done = 0usize;
            while done < rows {
                vals.clear();
                defs.clear();
                let want = (rows - done).min(BATCH);
                let (recs, nvals, _) = r
                    .read_records(
                        want,
                        if max_def > 0 { Some(&mut defs) } else { None },
                        None,
                        &mut vals,
                    )
                    .map_err(pq_error)?;
                if recs == 0 {
                    return Err(ReadError::Truncated {
                        offset: 0,
                        what: format!("parquet column ends after {done} of {rows} rows"),
                    });
                }
                if max_def > 0 {
                    let mut it = vals[..nvals].iter();
                    for &d in &defs {
                        let v = if d == max_def {
                            it.next().map(|v| $conv(*v) * scale)
                        } else {
                            None
                        };
                        out.push(v.unwrap_or(f64::NAN));
                    }
                } else {
                    out.extend(vals[..nvals].iter().map(|v| $conv(*v) * scale));
                }
                done += recs;
            }
        }};
    }
    match reader {
        ColumnReader::DoubleColumnReader(r) => drain!(r, |v: f64| v),
        ColumnReader::FloatColumnReader(r) => drain!(r, |v: f32| f64::from(v)),
        ColumnReader::Int64ColumnReader(r) => drain!(r, |v: i64| v as f64),
        ColumnReader::Int32ColumnReader(r) => drain!(r, |v: i32| f64::from(v)),
        _ => {
            return Err(ReadError::Unsupported(
                "parquet column type (only DOUBLE, FLOAT, INT32, INT64 are read)".into(),
            ));
        }
    }
    Ok(())
}

fn pq_error(e: parquet::errors::ParquetError) -> ReadError {
    match e {
        parquet::errors::ParquetError::EOF(m) => ReadError::Truncated {
            offset: 0,
            what: format!("parquet: {m}"),
        },
        other => ReadError::Corrupt {
            offset: 0,
            what: format!("parquet: {other}"),
        },
    }
}

/// Runs a decoder of the `parquet` crate, turning a panic inside it into an error: the crate is
/// not known to be panic-free on arbitrary bytes, and a reader must never bring a service down.
fn guarded<T>(f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ReadError::Corrupt {
            offset: 0,
            what: "parquet decoder failed on malformed data".into(),
        })
    })
}

fn leaf_names(meta: &ParquetMetaData) -> Result<Vec<String>, ReadError> {
    let schema = meta.file_metadata().schema_descr();
    let mut names = Vec::with_capacity(schema.num_columns());
    for c in schema.columns() {
        if c.max_rep_level() > 0 {
            return Err(ReadError::Unsupported(format!(
                "repeated parquet column '{}'",
                c.path()
            )));
        }
        names.push(c.name().to_string());
    }
    Ok(names)
}

/// Reads a Parquet file into a recording. The sampling rate is (n - 1) / (last - first time).
pub fn read_path(path: &Path) -> Result<Recording, ReadError> {
    let file = File::open(path)?;
    read(file)
}

/// Reads a Parquet file (any `File`: the crate needs positioned reads).
pub fn read(mut file: File) -> Result<Recording, ReadError> {
    let len = file.seek(SeekFrom::End(0))?;
    check_magic(&mut file, len)?;
    check_footer(&mut file, len)?;
    file.seek(SeekFrom::Start(0))?;
    guarded(move || read_inner(file, len))
}

/// Deepest nesting of Thrift structs and lists accepted in a footer (Parquet's own schema
/// nests a handful of levels; the bound keeps the check's recursion small).
const MAX_THRIFT_DEPTH: usize = 64;

/// The Thrift structs the `parquet` crate decodes from a footer or a page header. The crate reads
/// a known field id as its schema type whatever the wire type in the field header says (and
/// skips unknown ids by their wire type), so a walk that only followed wire types could read
/// different structures from the same bytes than the crate does: a 515-byte footer whose field
/// 2 was marked i64 sent the crate into a list header the walk never saw. The walk therefore
/// checks every known field's wire type against this schema (parquet 60.1's decoders).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A struct the crate does not know or skips: fields walked by their wire types.
    Any,
    /// A struct with no fields in the schema (union members such as `TypeDefinedOrder`).
    Empty,
    FileMetaData,
    SchemaElement,
    LogicalType,
    DecimalType,
    TimestampType,
    IntType,
    VariantType,
    GeometryType,
    GeographyType,
    TimeUnit,
    RowGroup,
    ColumnChunk,
    ColumnMetaData,
    KeyValue,
    Statistics,
    PageEncodingStats,
    SizeStatistics,
    GeospatialStatistics,
    BoundingBox,
    SortingColumn,
    ColumnOrder,
    EncryptionAlgorithm,
    AesGcm,
    ColumnCryptoMetaData,
    EncryptionWithColumnKey,
    PageHeader,
    DataPageHeader,
    DictionaryPageHeader,
    DataPageHeaderV2,
}

/// A field's schema type.
#[derive(Clone, Copy, Debug)]
enum Ty {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Double,
    Binary,
    Struct(Kind),
    /// A list: element wire type and, for structs, their kind.
    List(u8, Kind),
}

impl Ty {
    /// Whether a field header's wire type is this type's.
    fn wire_matches(self, wire: u8) -> bool {
        match self {
            Ty::Bool => matches!(wire, 1 | 2),
            Ty::I8 => wire == 3,
            Ty::I16 => wire == 4,
            Ty::I32 => wire == 5,
            Ty::I64 => wire == 6,
            Ty::Double => wire == 7,
            Ty::Binary => wire == 8,
            Ty::List(..) => wire == 9,
            Ty::Struct(_) => wire == 12,
        }
    }
}

/// The schema type of field `id` of `kind`; `None` for ids the crate skips.
fn field_type(kind: Kind, id: i16) -> Option<Ty> {
    use Kind as K;
    use Ty::*;
    const STRUCT: u8 = 12;
    Some(match (kind, id) {
        (K::FileMetaData, 1) => I32,
        (K::FileMetaData, 2) => List(STRUCT, K::SchemaElement),
        (K::FileMetaData, 3) => I64,
        (K::FileMetaData, 4) => List(STRUCT, K::RowGroup),
        (K::FileMetaData, 5) => List(STRUCT, K::KeyValue),
        (K::FileMetaData, 6) => Binary,
        (K::FileMetaData, 7) => List(STRUCT, K::ColumnOrder),
        (K::FileMetaData, 8) => Struct(K::EncryptionAlgorithm),
        (K::FileMetaData, 9) => Binary,
        (K::SchemaElement, 1..=3 | 5..=9) => I32,
        (K::SchemaElement, 4) => Binary,
        (K::SchemaElement, 10) => Struct(K::LogicalType),
        (K::LogicalType, 1..=4 | 6 | 11..=15 | 19) => Struct(K::Empty),
        (K::LogicalType, 5) => Struct(K::DecimalType),
        (K::LogicalType, 7 | 8) => Struct(K::TimestampType),
        (K::LogicalType, 10) => Struct(K::IntType),
        (K::LogicalType, 16) => Struct(K::VariantType),
        (K::LogicalType, 17) => Struct(K::GeometryType),
        (K::LogicalType, 18) => Struct(K::GeographyType),
        (K::DecimalType, 1 | 2) => I32,
        (K::TimestampType, 1) => Bool,
        (K::TimestampType, 2) => Struct(K::TimeUnit),
        (K::IntType, 1) => I8,
        (K::IntType, 2) => Bool,
        (K::VariantType, 1) => I8,
        (K::GeometryType, 1) => Binary,
        (K::GeographyType, 1) => Binary,
        (K::GeographyType, 2) => I32,
        (K::TimeUnit | K::ColumnOrder, 1..=3) => Struct(K::Empty),
        (K::RowGroup, 1) => List(STRUCT, K::ColumnChunk),
        (K::RowGroup, 2 | 3 | 5 | 6) => I64,
        (K::RowGroup, 4) => List(STRUCT, K::SortingColumn),
        (K::RowGroup, 7) => I16,
        (K::ColumnChunk, 1 | 9) => Binary,
        (K::ColumnChunk, 2 | 4 | 6) => I64,
        (K::ColumnChunk, 3) => Struct(K::ColumnMetaData),
        (K::ColumnChunk, 5 | 7) => I32,
        (K::ColumnChunk, 8) => Struct(K::ColumnCryptoMetaData),
        (K::ColumnMetaData, 1 | 4 | 15) => I32,
        (K::ColumnMetaData, 2) => List(5, K::Any),
        (K::ColumnMetaData, 3) => List(8, K::Any),
        (K::ColumnMetaData, 5..=7 | 9..=11 | 14) => I64,
        (K::ColumnMetaData, 8) => List(STRUCT, K::KeyValue),
        (K::ColumnMetaData, 12) => Struct(K::Statistics),
        (K::ColumnMetaData, 13) => List(STRUCT, K::PageEncodingStats),
        (K::ColumnMetaData, 16) => Struct(K::SizeStatistics),
        (K::ColumnMetaData, 17) => Struct(K::GeospatialStatistics),
        (K::KeyValue, 1 | 2) => Binary,
        (K::Statistics, 1 | 2 | 5 | 6) => Binary,
        (K::Statistics, 3 | 4 | 9) => I64,
        (K::Statistics, 7 | 8) => Bool,
        (K::PageEncodingStats, 1..=3) => I32,
        (K::SizeStatistics, 1) => I64,
        (K::SizeStatistics, 2 | 3) => List(6, K::Any),
        (K::GeospatialStatistics, 1) => Struct(K::BoundingBox),
        (K::GeospatialStatistics, 2) => List(5, K::Any),
        (K::BoundingBox, 1..=8) => Double,
        (K::SortingColumn, 1) => I32,
        (K::SortingColumn, 2 | 3) => Bool,
        (K::EncryptionAlgorithm, 1 | 2) => Struct(K::AesGcm),
        (K::AesGcm, 1 | 2) => Binary,
        (K::AesGcm, 3) => Bool,
        (K::ColumnCryptoMetaData, 1) => Struct(K::Empty),
        (K::ColumnCryptoMetaData, 2) => Struct(K::EncryptionWithColumnKey),
        (K::EncryptionWithColumnKey, 1) => List(8, K::Any),
        (K::EncryptionWithColumnKey, 2) => Binary,
        (K::PageHeader, 1..=4) => I32,
        (K::PageHeader, 5) => Struct(K::DataPageHeader),
        (K::PageHeader, 6) => Struct(K::Empty),
        (K::PageHeader, 7) => Struct(K::DictionaryPageHeader),
        (K::PageHeader, 8) => Struct(K::DataPageHeaderV2),
        (K::DataPageHeader, 1..=4) => I32,
        (K::DataPageHeader, 5) => Struct(K::Statistics),
        (K::DictionaryPageHeader, 1 | 2) => I32,
        (K::DictionaryPageHeader, 3) => Bool,
        (K::DataPageHeaderV2, 1..=6) => I32,
        (K::DataPageHeaderV2, 7) => Bool,
        (K::DataPageHeaderV2, 8) => Struct(K::Statistics),
        _ => return None,
    })
}

/// Walks a footer's or page header's Thrift compact-protocol bytes (a `root` struct) without
/// building anything, so that the `parquet` crate only ever decodes bytes it reads the same way
/// as the walk and whose every declared list, set, map and string length fits in the bytes that
/// follow it. The crate trusts declared counts: a 717-byte footer made it loop for seconds.
/// Returns the bytes walked and, for a page header, its `compressed_page_size`. Errors name
/// the byte offset (`base` is the offset of `buf` in the file).
fn walk_thrift(buf: &[u8], base: u64, root: Kind) -> Result<(usize, Option<i64>), ReadError> {
    struct Walk<'a> {
        buf: &'a [u8],
        pos: usize,
        base: u64,
    }
    impl Walk<'_> {
        fn bad(&self, what: &str) -> ReadError {
            ReadError::Corrupt {
                offset: self.base + self.pos as u64,
                what: format!("parquet footer: {what}"),
            }
        }
        fn byte(&mut self) -> Result<u8, ReadError> {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| self.bad("ends inside a value"))?;
            self.pos += 1;
            Ok(b)
        }
        fn varint(&mut self) -> Result<u64, ReadError> {
            let mut v = 0u64;
            for shift in (0..70).step_by(7) {
                let b = self.byte()?;
                if shift == 63 && b > 1 {
                    break;
                }
                v |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return Ok(v);
                }
            }
            Err(self.bad("varint longer than 64 bits"))
        }
        fn zigzag(&mut self) -> Result<i64, ReadError> {
            let z = self.varint()?;
            Ok((z >> 1) as i64 ^ -((z & 1) as i64))
        }
        fn skip(&mut self, n: u64) -> Result<(), ReadError> {
            let left = (self.buf.len() - self.pos) as u64;
            if n > left {
                return Err(self.bad(&format!("declares {n} bytes, {left} remain")));
            }
            self.pos += n as usize;
            Ok(())
        }
        /// Every element of a compact-protocol collection takes at least one byte.
        fn count(&mut self, n: u64) -> Result<u64, ReadError> {
            let left = (self.buf.len() - self.pos) as u64;
            if n > left {
                return Err(self.bad(&format!("declares {n} elements, {left} bytes remain")));
            }
            Ok(n)
        }
        /// Refuses booleans as collection elements. The spec gives each one byte, but the
        /// crate skips them (unknown fields) as zero bytes, so the two would read different
        /// structures from the bytes after one. No Parquet footer or page header has a
        /// collection of booleans.
        fn element_type(&self, ty: u8) -> Result<u8, ReadError> {
            if matches!(ty, 1 | 2) {
                return Err(self.bad("a list, set or map of booleans"));
            }
            Ok(ty)
        }
        /// A list or set header: (element wire type, count). A lone zero byte is an empty
        /// list, as some writers write one (and the crate reads it so).
        fn list_header(&mut self) -> Result<(u8, u64), ReadError> {
            let h = self.byte()?;
            if h == 0 {
                return Ok((0, 0));
            }
            let n = match h >> 4 {
                15 => self.varint()?,
                n => u64::from(n),
            };
            if n > i32::MAX as u64 {
                return Err(self.bad(&format!("list of {n} elements")));
            }
            let elem = self.element_type(h & 0x0f)?;
            Ok((elem, self.count(n)?))
        }
        /// A value of wire type `ty`; structs inside it are walked as `kind`.
        fn value(&mut self, ty: u8, depth: usize, kind: Kind) -> Result<(), ReadError> {
            if depth > MAX_THRIFT_DEPTH {
                return Err(self.bad("nested deeper than 64 levels"));
            }
            match ty {
                // A boolean field's value is its type in the field header: no bytes follow.
                1 | 2 => {}
                3 => {
                    self.byte()?;
                }
                4..=6 => {
                    self.varint()?;
                }
                7 => self.skip(8)?,
                8 => {
                    let n = self.varint()?;
                    self.skip(n)?;
                }
                9 | 10 => {
                    let (elem, n) = self.list_header()?;
                    for _ in 0..n {
                        self.value(elem, depth + 1, kind)?;
                    }
                }
                11 => {
                    let n = self.varint()?;
                    if n > 0 {
                        let kv = self.byte()?;
                        let (k, v) = (self.element_type(kv >> 4)?, self.element_type(kv & 0x0f)?);
                        for _ in 0..self.count(n)? {
                            self.value(k, depth + 1, Kind::Any)?;
                            self.value(v, depth + 1, Kind::Any)?;
                        }
                    }
                }
                12 => {
                    self.structure(depth + 1, kind)?;
                }
                _ => return Err(self.bad(&format!("unknown value type {ty}"))),
            }
            Ok(())
        }
        /// A known field: its wire type must be the schema's (the crate reads the schema's).
        fn typed(
            &mut self,
            want: Ty,
            wire: u8,
            id: i16,
            kind: Kind,
            depth: usize,
        ) -> Result<(), ReadError> {
            if !want.wire_matches(wire) {
                return Err(self.bad(&format!(
                    "field {id} of {kind:?} has wire type {wire}, the schema's is {want:?}"
                )));
            }
            match want {
                Ty::List(elem, of) => {
                    let at = self.pos;
                    let (got, n) = self.list_header()?;
                    if n > 0 && got != elem {
                        self.pos = at;
                        return Err(self.bad(&format!(
                            "field {id} of {kind:?} is a list of wire type {got}, the \
                             schema's elements are {elem}"
                        )));
                    }
                    for _ in 0..n {
                        self.value(elem, depth + 1, of)?;
                    }
                    Ok(())
                }
                Ty::Struct(of) => self.structure(depth + 1, of).map(|_| ()),
                _ => self.value(wire, depth, Kind::Any),
            }
        }
        /// Walks a struct of `kind`; returns the value of a page header's field 3
        /// (`compressed_page_size`).
        fn structure(&mut self, depth: usize, kind: Kind) -> Result<Option<i64>, ReadError> {
            if depth > MAX_THRIFT_DEPTH {
                return Err(self.bad("nested deeper than 64 levels"));
            }
            // Field ids are i16 as the crate reads them: a long-form id wraps, a delta that
            // overflows is an error there too.
            let mut id: i16 = 0;
            let mut field3 = None;
            loop {
                let h = self.byte()?;
                if h == 0 {
                    return Ok(field3);
                }
                let wire = h & 0x0f;
                id = match h >> 4 {
                    0 => self.zigzag()? as i16,
                    d => id
                        .checked_add(i16::from(d))
                        .ok_or_else(|| self.bad("field id past 32767"))?,
                };
                if kind == Kind::PageHeader && id == 3 && wire == 5 {
                    field3 = Some(self.zigzag()?);
                    continue;
                }
                match field_type(kind, id) {
                    Some(want) => self.typed(want, wire, id, kind, depth)?,
                    None => self.value(wire, depth, Kind::Any)?,
                }
            }
        }
    }
    let mut w = Walk { buf, pos: 0, base };
    let field3 = w.structure(0, root)?;
    Ok((w.pos, field3))
}

/// Walks every page header of a column chunk (`start`, `len` bytes of `file`) with
/// [`walk_thrift`] before the `parquet` crate reads them: the crate's page-header decoding trusts
/// declared counts as its footer decoding does (a 913-byte file kept it reading for seconds).
/// Each header must be well formed and its `compressed_page_size` must keep the next page
/// inside the chunk, so the crate meets at most one header per byte of chunk.
fn check_pages(file: &mut File, start: u64, len: u64, file_len: u64) -> Result<(), ReadError> {
    let end = start.saturating_add(len);
    if end > file_len {
        return Err(ReadError::Corrupt {
            offset: start,
            what: format!("parquet column chunk of {len} bytes runs past the end of the file"),
        });
    }
    let mut pos = start;
    while pos < end {
        let mut want = (end - pos).min(4096);
        let (consumed, size) = loop {
            let mut buf = vec![0u8; want as usize];
            file.seek(SeekFrom::Start(pos))?;
            file.read_exact(&mut buf)?;
            match walk_thrift(&buf, pos, Kind::PageHeader) {
                Ok(r) => break r,
                // A header longer than what was read: read more, up to the chunk's end.
                Err(_) if want < end - pos => want = (want * 16).min(end - pos),
                Err(e) => return Err(e),
            }
        };
        let size = size.filter(|s| *s >= 0).ok_or_else(|| ReadError::Corrupt {
            offset: pos,
            what: "parquet page header without a valid compressed_page_size".into(),
        })?;
        pos = pos
            .saturating_add(consumed as u64)
            .saturating_add(size as u64);
        if pos > end {
            return Err(ReadError::Corrupt {
                offset: pos,
                what: format!("parquet page runs past its column chunk's end ({end})"),
            });
        }
    }
    Ok(())
}

/// Reads the footer of a file whose magic was checked and runs [`walk_thrift`] on it.
fn check_footer(file: &mut File, len: u64) -> Result<(), ReadError> {
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::Start(len - 8))?;
    file.read_exact(&mut tail)?;
    let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if meta_len + 12 > len {
        return Err(ReadError::Corrupt {
            offset: len - 8,
            what: format!("parquet footer length {meta_len} exceeds the file"),
        });
    }
    let mut buf = vec![0u8; meta_len as usize];
    file.seek(SeekFrom::Start(len - 8 - meta_len))?;
    file.read_exact(&mut buf)?;
    walk_thrift(&buf, len - 8 - meta_len, Kind::FileMetaData).map(|_| ())
}

fn check_magic(file: &mut File, len: u64) -> Result<(), ReadError> {
    if len < 12 {
        return Err(ReadError::Truncated {
            offset: len,
            what: "parquet file shorter than its magic and footer".into(),
        });
    }
    let mut head = [0u8; 4];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    let mut tail = [0u8; 4];
    file.seek(SeekFrom::Start(len - 4))?;
    file.read_exact(&mut tail)?;
    if &head != MAGIC {
        return Err(ReadError::UnknownFormat(
            "no PAR1 magic at the start".into(),
        ));
    }
    if &tail != MAGIC {
        return Err(ReadError::Truncated {
            offset: len - 4,
            what: "parquet file has no PAR1 magic at its end".into(),
        });
    }
    Ok(())
}

fn read_inner(file: File, len: u64) -> Result<Recording, ReadError> {
    let mut probe = file.try_clone()?;
    let reader = SerializedFileReader::new(file).map_err(pq_error)?;
    let meta = reader.metadata();
    for rg in meta.row_groups() {
        for c in rg.columns() {
            let (start, chunk_len) = c.byte_range();
            check_pages(&mut probe, start, chunk_len, len)?;
        }
    }
    let names = leaf_names(meta)?;
    let cols = resolve_columns(&names)?;
    let schema = meta.file_metadata().schema_descr();
    let total_rows = usize::try_from(meta.file_metadata().num_rows().max(0)).unwrap_or(0);
    // Bound the up-front reservation by what the file can hold (at least 1 byte per value).
    let cap = total_rows.min(len as usize);
    let mut time = Vec::with_capacity(cap);
    let mut acc = [
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
    ];
    let mut gyro = cols.gyro.map(|_| [Vec::new(), Vec::new(), Vec::new()]);
    let mut temperature = cols.temperature.map(|_| Vec::new());
    let mut light = cols.light.map(|_| Vec::new());
    let tscale = time_scale(&schema.column(cols.time));
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(pq_error)?;
        let rows = usize::try_from(rg.metadata().num_rows().max(0)).unwrap_or(0);
        let col = |i: usize, scale: f64, out: &mut Vec<f64>| -> Result<(), ReadError> {
            let max_def = schema.column(i).max_def_level();
            let r = rg.get_column_reader(i).map_err(pq_error)?;
            read_column(r, max_def, rows, scale, out)
        };
        col(cols.time, tscale, &mut time)?;
        for (k, v) in acc.iter_mut().enumerate() {
            col(cols.accel[k], 1.0, v)?;
        }
        if let (Some(idx), Some(out)) = (cols.gyro, gyro.as_mut()) {
            for (k, v) in out.iter_mut().enumerate() {
                col(idx[k], 1.0, v)?;
            }
        }
        if let (Some(i), Some(out)) = (cols.temperature, temperature.as_mut()) {
            col(i, 1.0, out)?;
        }
        if let (Some(i), Some(out)) = (cols.light, light.as_mut()) {
            col(i, 1.0, out)?;
        }
    }
    let [x, y, z] = acc;
    let mut rec = Recording {
        accel: Triaxial { x, y, z },
        gyro: gyro.map(|[x, y, z]| Triaxial { x, y, z }),
        temperature,
        light,
        time,
        ..Recording::default()
    };
    // Each column reads exactly its row group's row count; this guards that invariant in one
    // place for every reader that assembles columns.
    rec.check_lengths()?;
    rec.fs = super::csv::rate_from_times(&rec.time).unwrap_or(0.0);
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
        format: Some(Format::Parquet),
        device: "Parquet".to_string(),
        device_id: None,
        start: rec.time.first().copied(),
        end: rec.time.last().copied(),
        end_is_estimate: false,
        sample_rate: Some(rec.fs).filter(|f| *f > 0.0),
        accel_range_g: None,
        channels,
        file_size: Some(len),
    };
    Ok(rec)
}

/// Header facts from a prefix: a Parquet file keeps its schema in the footer, so the prefix
/// only confirms the format.
pub fn read_header(prefix: &[u8], file_size: Option<u64>) -> Result<HeaderFacts, ReadError> {
    if !prefix.starts_with(MAGIC) {
        return Err(ReadError::UnknownFormat(
            "no PAR1 magic at the start".into(),
        ));
    }
    Ok(HeaderFacts {
        format: Some(Format::Parquet),
        device: "Parquet".into(),
        file_size,
        ..HeaderFacts::default()
    })
}

/// Header facts from the footer of a seekable Parquet file (at most 64 KB read): channels from
/// the schema, start and end from the time column's statistics, the rate from the row count.
pub fn read_header_seek<R: Read + Seek>(r: &mut R) -> Result<HeaderFacts, ReadError> {
    let len = r.seek(SeekFrom::End(0))?;
    if len < 12 {
        return Err(ReadError::Truncated {
            offset: len,
            what: "parquet file shorter than its magic and footer".into(),
        });
    }
    let mut tail = [0u8; 8];
    r.seek(SeekFrom::Start(len - 8))?;
    r.read_exact(&mut tail)?;
    if &tail[4..] != MAGIC {
        return Err(ReadError::Truncated {
            offset: len - 4,
            what: "parquet file has no PAR1 magic at its end".into(),
        });
    }
    let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if meta_len + 12 > len {
        return Err(ReadError::Corrupt {
            offset: len - 8,
            what: format!("parquet footer length {meta_len} exceeds the file"),
        });
    }
    if meta_len > FOOTER_BUDGET {
        return Err(ReadError::Unsupported(format!(
            "parquet footer of {meta_len} bytes exceeds the {FOOTER_BUDGET} read for header facts"
        )));
    }
    r.seek(SeekFrom::Start(len - 8 - meta_len))?;
    let mut buf = vec![0u8; meta_len as usize];
    r.read_exact(&mut buf)?;
    walk_thrift(&buf, len - 8 - meta_len, Kind::FileMetaData)?;
    let meta = guarded(|| {
        ParquetMetaDataReader::decode_metadata(&buf).map_err(|e| ReadError::Corrupt {
            offset: len - 8 - meta_len,
            what: format!("parquet footer: {e}"),
        })
    })?;
    let names = leaf_names(&meta)?;
    let cols = resolve_columns(&names)?;
    let scale = time_scale(&meta.file_metadata().schema_descr().column(cols.time));
    let (mut start, mut end) = (None::<f64>, None::<f64>);
    for rg in meta.row_groups() {
        let Some(stats) = rg.column(cols.time).statistics() else {
            continue;
        };
        let (lo, hi) = match stats {
            Statistics::Double(s) => (s.min_opt().copied(), s.max_opt().copied()),
            Statistics::Float(s) => (
                s.min_opt().map(|v| f64::from(*v)),
                s.max_opt().map(|v| f64::from(*v)),
            ),
            Statistics::Int64(s) => (
                s.min_opt().map(|v| *v as f64),
                s.max_opt().map(|v| *v as f64),
            ),
            Statistics::Int32(s) => (
                s.min_opt().map(|v| f64::from(*v)),
                s.max_opt().map(|v| f64::from(*v)),
            ),
            _ => (None, None),
        };
        if let Some(lo) = lo {
            start = Some(start.map_or(lo * scale, |s| s.min(lo * scale)));
        }
        if let Some(hi) = hi {
            end = Some(end.map_or(hi * scale, |e| e.max(hi * scale)));
        }
    }
    let n = meta.file_metadata().num_rows();
    let fs = match (start, end) {
        (Some(s), Some(e)) if e > s && n > 1 => Some((n - 1) as f64 / (e - s)),
        _ => None,
    };
    let mut channels = vec!["accel".to_string()];
    for (name, present) in [
        ("gyro", cols.gyro.is_some()),
        ("temperature", cols.temperature.is_some()),
        ("light", cols.light.is_some()),
    ] {
        if present {
            channels.push(name.to_string());
        }
    }
    Ok(HeaderFacts {
        format: Some(Format::Parquet),
        device: "Parquet".into(),
        device_id: None,
        start,
        end,
        end_is_estimate: false,
        sample_rate: fs,
        accel_range_g: None,
        channels,
        file_size: Some(len),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn column_names_resolve() {
        let c = resolve_columns(&names(&[
            "time", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z",
        ]))
        .unwrap();
        assert_eq!((c.time, c.accel, c.gyro), (0, [1, 2, 3], Some([4, 5, 6])));
        let c = resolve_columns(&names(&["0", "1", "2", "3"])).unwrap();
        assert_eq!((c.time, c.accel, c.gyro), (0, [1, 2, 3], None));
        let c = resolve_columns(&names(&[
            "Accel_X",
            "Accel_Y",
            "Accel_Z",
            "Time",
            "Temperature",
        ]))
        .unwrap();
        assert_eq!((c.time, c.accel, c.temperature), (3, [0, 1, 2], Some(4)));
        assert!(resolve_columns(&names(&["a", "b"])).is_err());
    }

    fn corrupt_offset<T: std::fmt::Debug>(r: Result<T, ReadError>) -> u64 {
        match r {
            Err(ReadError::Corrupt { offset, .. }) => offset,
            other => panic!("expected a corrupt-footer error, got {other:?}"),
        }
    }

    #[test]
    fn footer_walk_accepts_well_formed_thrift() {
        // field 1 i32 = 1; field 2 list<i64> of 3; field 3 binary "ab"; field 4 struct {
        // field 1 true }; field 20 (long form) double; stop.
        let ok = [
            0x15, 0x02, 0x19, 0x36, 0x02, 0x04, 0x06, 0x18, 0x02, b'a', b'b', 0x1c, 0x11, 0x00,
            0x07, 0x28, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x00,
        ];
        assert!(walk_thrift(&ok, 100, Kind::Any).is_ok());
    }

    #[test]
    fn footer_walk_refuses_counts_beyond_the_bytes() {
        // A list of i32 declaring 2^28 elements in a 7-byte footer: refused at once, with the
        // offset just after the count (base 1000 + 6 bytes read).
        let huge_list = [0x19, 0xf5, 0x80, 0x80, 0x80, 0x01, 0x00];
        assert_eq!(
            corrupt_offset(walk_thrift(&huge_list, 1000, Kind::Any)),
            1006
        );
        // A string longer than what follows.
        assert_eq!(
            corrupt_offset(walk_thrift(&[0x18, 0x7f, 0x00], 0, Kind::Any)),
            2
        );
        // A map of 100 entries in 4 bytes, an unknown type, a stop that never comes, nesting
        // without end.
        assert!(walk_thrift(&[0x1b, 0x64, 0x55, 0x00], 0, Kind::Any).is_err());
        assert!(walk_thrift(&[0x1e, 0x00], 0, Kind::Any).is_err());
        assert!(walk_thrift(&[0x15, 0x02], 0, Kind::Any).is_err());
        assert!(walk_thrift(&[0x1c; 200], 0, Kind::Any).is_err());
    }

    #[test]
    fn the_slow_fuzz_page_header_is_refused_by_the_walk() {
        // 913 bytes whose `time` page header kept the crate reading byte by byte for seconds.
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/regressions/parquet/slow-page-header"
        ))
        .unwrap();
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &bytes).unwrap();
        match read(f) {
            Err(ReadError::Corrupt { what, .. }) => {
                assert!(
                    what.starts_with("parquet footer:") || what.starts_with("parquet page"),
                    "{what}"
                );
            }
            other => panic!("expected a corrupt page header, got {other:?}"),
        }
    }

    #[test]
    fn the_slow_fuzz_footer_is_refused_quickly() {
        // 717 bytes that kept the `parquet` crate's footer decoder busy for seconds.
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/regressions/parquet/slow-footer-declared-counts"
        ))
        .unwrap();
        let r = read_header_seek(&mut std::io::Cursor::new(&bytes));
        // The walk refuses it, so the crate's decoder (which said "Parquet error: ...") never
        // runs on it.
        match r {
            Err(ReadError::Corrupt { what, .. }) => {
                assert!(!what.contains("Parquet error"), "{what}");
            }
            other => panic!("expected a corrupt footer, got {other:?}"),
        }
    }

    #[test]
    fn a_known_field_with_another_wire_type_is_refused() {
        // 515 bytes (fuzz, stop 12): FileMetaData field 1 (version, i32) marked binary, field
        // 2 (the schema list) marked i64. The crate reads known ids by the schema whatever
        // the marks say, so it went on through structures the wire types never describe, and
        // skipped one of them for a second (14 s under ASan).
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/regressions/parquet/slow-footer-wire-type-mismatch"
        ))
        .unwrap();
        let t = std::time::Instant::now();
        match read_header_seek(&mut std::io::Cursor::new(&bytes)) {
            Err(ReadError::Corrupt { offset, what }) => {
                assert!(
                    what.contains("field 1 of FileMetaData has wire type 8"),
                    "{what}"
                );
                // the footer starts at byte 17; the offset is just after the field header
                assert_eq!(offset, 17 + 1, "{what}");
            }
            other => panic!("expected a corrupt footer, got {other:?}"),
        }
        assert!(t.elapsed().as_secs_f64() < 0.5, "{:?}", t.elapsed());
        // Each known field's wire type is checked at every level: a SchemaElement name (4)
        // given as an i32, and a list of i64 where ColumnMetaData.encodings wants i32.
        let schema_name_i32 = [0x15, 0x02, 0x19, 0x1c, 0x45, 0x02, 0x00, 0x00];
        assert!(walk_thrift(&schema_name_i32, 0, Kind::FileMetaData).is_err());
        let good_schema = [0x15, 0x02, 0x19, 0x1c, 0x48, 0x01, b'x', 0x00, 0x00];
        assert!(walk_thrift(&good_schema, 0, Kind::FileMetaData).is_ok());
        let encodings_i64 = [0x29, 0x16, 0x02, 0x00];
        assert!(walk_thrift(&encodings_i64, 0, Kind::ColumnMetaData).is_err());
        let encodings_i32 = [0x29, 0x15, 0x02, 0x00];
        assert!(walk_thrift(&encodings_i32, 0, Kind::ColumnMetaData).is_ok());
    }

    #[test]
    fn a_boolean_list_is_refused_at_its_header() {
        // The crate skips booleans in collections as zero bytes, the spec gives them one:
        // the two readings of the bytes after such a list differ, so the walk refuses it.
        let footer = [0x19, 0x31, 1, 1, 1, 0];
        match walk_thrift(&footer, 100, Kind::Any) {
            Err(ReadError::Corrupt { offset, what }) => {
                assert_eq!(offset, 102, "{what}");
                assert!(what.contains("booleans"), "{what}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }
}
