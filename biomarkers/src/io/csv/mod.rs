//! Delimited-text reader: one sample per row, a time column, three acceleration columns and
//! optionally three gyroscope columns.
//!
//! The defaults read SKDH's headerless `example_data_2min.csv`: unix seconds, accel x/y/z in g,
//! gyro x/y/z in deg/s. Fields may be wrapped in double quotes; a quoted field may contain the
//! delimiter. Errors name the line and column (1-based) and the byte offset of the field.

pub(crate) mod text;

use std::io::{BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

use self::text::LineReader;
use super::{Format, HeaderFacts, ReadError, Recording, Triaxial};

/// Standard gravity, m/s^2 per g.
pub const STANDARD_GRAVITY: f64 = 9.806_65;
/// Longest accepted line, bytes.
const MAX_LINE: usize = 64 * 1024;
/// Rows used to estimate the sampling rate from a prefix.
const RATE_ROWS: usize = 2_000;

/// A column chosen by 0-based position or by its name in the header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Column {
    /// 0-based column position.
    Index(usize),
    /// Column name as written in the header line (needs `has_header`).
    Name(String),
}

impl From<usize> for Column {
    fn from(i: usize) -> Self {
        Column::Index(i)
    }
}

impl From<&str> for Column {
    fn from(s: &str) -> Self {
        Column::Name(s.to_string())
    }
}

/// How the time column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Seconds since 1970-01-01 UTC (fractions allowed).
    UnixSeconds,
    /// Milliseconds since 1970-01-01 UTC.
    UnixMillis,
    /// Microseconds since 1970-01-01 UTC.
    UnixMicros,
    /// ISO 8601 / RFC 3339 date-time (`2020-03-05T14:27:42.5Z`, `2020-03-05 14:27:42.500`);
    /// without an offset the time is read as UTC.
    Iso8601,
}

/// Unit of the acceleration columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccelUnit {
    /// Multiples of standard gravity.
    G,
    /// m/s^2; divided by [`STANDARD_GRAVITY`] on reading.
    MetersPerSecondSquared,
}

/// Layout of a CSV recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvOptions {
    /// Time column (default 0).
    pub time_column: Column,
    /// Acceleration x, y, z columns (default 1, 2, 3).
    pub accel_columns: [Column; 3],
    /// Gyroscope x, y, z columns in deg/s (default 4, 5, 6); `None` when there is no gyro. When
    /// set by position and the file's rows have fewer columns, the gyro is left out.
    pub gyro_columns: Option<[Column; 3]>,
    /// True when the first line holds column names (default false).
    pub has_header: bool,
    /// Field delimiter byte (default `,`).
    pub delimiter: u8,
    /// How times are written (default unix seconds).
    pub time_unit: TimeUnit,
    /// Unit of the acceleration columns (default g).
    pub accel_unit: AccelUnit,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            time_column: Column::Index(0),
            accel_columns: [Column::Index(1), Column::Index(2), Column::Index(3)],
            gyro_columns: Some([Column::Index(4), Column::Index(5), Column::Index(6)]),
            has_header: false,
            delimiter: b',',
            time_unit: TimeUnit::UnixSeconds,
            accel_unit: AccelUnit::G,
        }
    }
}

/// Column positions resolved against the header line.
#[derive(Debug, Clone)]
struct Layout {
    time: usize,
    accel: [usize; 3],
    gyro: Option<[usize; 3]>,
    /// Gyro given by position: dropped when the first row is too short for it.
    gyro_optional: bool,
}

fn resolve(col: &Column, names: Option<&[String]>, line: u64) -> Result<usize, ReadError> {
    match col {
        Column::Index(i) => Ok(*i),
        Column::Name(n) => {
            let names = names.ok_or_else(|| ReadError::Unsupported(format!(
                "CSV column '{n}' is chosen by name but the options say the file has no header line"
            )))?;
            names
                .iter()
                .position(|h| h.trim() == n.trim())
                .ok_or_else(|| ReadError::Corrupt {
                    offset: 0,
                    what: format!("line {line}: header has no column named '{n}'"),
                })
        }
    }
}

impl Layout {
    fn new(opts: &CsvOptions, names: Option<&[String]>) -> Result<Self, ReadError> {
        let time = resolve(&opts.time_column, names, 1)?;
        let mut accel = [0; 3];
        for (a, c) in accel.iter_mut().zip(&opts.accel_columns) {
            *a = resolve(c, names, 1)?;
        }
        let gyro = match &opts.gyro_columns {
            Some(cols) => {
                let mut g = [0; 3];
                for (a, c) in g.iter_mut().zip(cols) {
                    *a = resolve(c, names, 1)?;
                }
                Some(g)
            }
            None => None,
        };
        let gyro_optional = opts
            .gyro_columns
            .as_ref()
            .is_some_and(|c| c.iter().all(|c| matches!(c, Column::Index(_))));
        Ok(Self {
            time,
            accel,
            gyro,
            gyro_optional,
        })
    }

    fn max_column(&self) -> usize {
        let mut m = self
            .time
            .max(self.accel[0])
            .max(self.accel[1])
            .max(self.accel[2]);
        if let Some(g) = self.gyro {
            m = m.max(g[0]).max(g[1]).max(g[2]);
        }
        m
    }
}

/// Splits a line into `(byte position, field)` pairs, honouring double quotes.
fn split_fields(line: &[u8], delim: u8, out: &mut Vec<(usize, (usize, usize))>) {
    out.clear();
    let mut start = 0;
    let mut in_quotes = false;
    for (i, &b) in line.iter().enumerate() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == delim && !in_quotes {
            out.push((start, (start, i)));
            start = i + 1;
        }
    }
    out.push((start, (start, line.len())));
}

fn field_text(line: &[u8], span: (usize, usize)) -> &[u8] {
    let f = line[span.0..span.1].trim_ascii();
    if f.len() >= 2 && f[0] == b'"' && f[f.len() - 1] == b'"' {
        &f[1..f.len() - 1]
    } else {
        f
    }
}

fn field_error(line_no: u64, col: usize, offset: u64, what: &str, text: &[u8]) -> ReadError {
    let shown: String = String::from_utf8_lossy(text).chars().take(40).collect();
    ReadError::Corrupt {
        offset,
        what: format!("line {line_no}, column {}: {what} '{shown}'", col + 1),
    }
}

fn parse_number(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.trim().parse::<f64>().ok()
}

/// Parses an ISO 8601 time to unix seconds; a time without an offset is read as UTC.
pub fn parse_iso8601(text: &str) -> Option<f64> {
    let text = text.trim();
    let ts = match text.parse::<jiff::Timestamp>() {
        Ok(ts) => ts,
        Err(_) => {
            let dt = text.parse::<jiff::civil::DateTime>().ok()?;
            dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp()
        }
    };
    Some(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) * 1e-9)
}

/// One parsed row.
struct Row {
    time: f64,
    accel: [f64; 3],
    gyro: Option<[f64; 3]>,
}

/// Parses the fields of one data row.
fn parse_row(
    line: &[u8],
    line_no: u64,
    line_offset: u64,
    fields: &[(usize, (usize, usize))],
    layout: &Layout,
    opts: &CsvOptions,
) -> Result<Row, ReadError> {
    let get = |col: usize| -> Result<(&[u8], u64), ReadError> {
        match fields.get(col) {
            Some(&(pos, span)) => Ok((field_text(line, span), line_offset + pos as u64)),
            None => Err(ReadError::Corrupt {
                offset: line_offset + line.len() as u64,
                what: format!(
                    "line {line_no}: has {} columns, column {} is needed",
                    fields.len(),
                    col + 1
                ),
            }),
        }
    };
    let number = |col: usize| -> Result<f64, ReadError> {
        let (t, off) = get(col)?;
        parse_number(t).ok_or_else(|| field_error(line_no, col, off, "not a number:", t))
    };
    let (tt, toff) = get(layout.time)?;
    let time = match opts.time_unit {
        TimeUnit::UnixSeconds => parse_number(tt),
        TimeUnit::UnixMillis => parse_number(tt).map(|v| v / 1e3),
        TimeUnit::UnixMicros => parse_number(tt).map(|v| v / 1e6),
        TimeUnit::Iso8601 => std::str::from_utf8(tt).ok().and_then(parse_iso8601),
    }
    .filter(|t| t.is_finite())
    .ok_or_else(|| field_error(line_no, layout.time, toff, "not a valid time:", tt))?;
    let scale = match opts.accel_unit {
        AccelUnit::G => 1.0,
        AccelUnit::MetersPerSecondSquared => 1.0 / STANDARD_GRAVITY,
    };
    let accel = [
        number(layout.accel[0])? * scale,
        number(layout.accel[1])? * scale,
        number(layout.accel[2])? * scale,
    ];
    let gyro = match layout.gyro {
        Some(g) => Some([number(g[0])?, number(g[1])?, number(g[2])?]),
        None => None,
    };
    Ok(Row { time, accel, gyro })
}

/// Iterates the data rows of a CSV stream: header handling, blank lines, layout resolution.
struct Rows<R> {
    lines: LineReader<R>,
    buf: Vec<u8>,
    fields: Vec<(usize, (usize, usize))>,
    layout: Option<Layout>,
    opts: CsvOptions,
    names: Option<Vec<String>>,
    header_done: bool,
    /// Only rows ending in a newline (a prefix may cut the last one).
    only_terminated: bool,
    data_start: u64,
}

impl<R: BufRead> Rows<R> {
    fn new(reader: R, opts: &CsvOptions, only_terminated: bool) -> Self {
        Self {
            lines: LineReader::new(reader, MAX_LINE),
            buf: Vec::new(),
            fields: Vec::new(),
            layout: None,
            opts: opts.clone(),
            names: None,
            header_done: !opts.has_header,
            only_terminated,
            data_start: 0,
        }
    }

    fn next_row(&mut self) -> Result<Option<Row>, ReadError> {
        loop {
            let Some(info) = self.lines.next_line(&mut self.buf)? else {
                return Ok(None);
            };
            if self.only_terminated && !info.terminated {
                return Ok(None);
            }
            if self.buf.trim_ascii().is_empty() {
                continue;
            }
            let line: &[u8] = if info.number == 1 && self.buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
                &self.buf[3..]
            } else {
                &self.buf
            };
            split_fields(line, self.opts.delimiter, &mut self.fields);
            if !self.header_done {
                self.header_done = true;
                self.names = Some(
                    self.fields
                        .iter()
                        .map(|&(_, s)| String::from_utf8_lossy(field_text(line, s)).into_owned())
                        .collect(),
                );
                self.data_start = self.lines.offset();
                continue;
            }
            if self.layout.is_none() {
                let mut layout = Layout::new(&self.opts, self.names.as_deref())?;
                if layout.gyro_optional
                    && layout
                        .gyro
                        .is_some_and(|g| g.iter().any(|&c| c >= self.fields.len()))
                {
                    layout.gyro = None;
                }
                if layout.max_column() >= self.fields.len() {
                    return Err(ReadError::Corrupt {
                        offset: info.offset,
                        what: format!(
                            "line {}: has {} columns, column {} is needed",
                            info.number,
                            self.fields.len(),
                            layout.max_column() + 1
                        ),
                    });
                }
                if self.data_start == 0 {
                    self.data_start = info.offset;
                }
                self.layout = Some(layout);
            }
            let Some(layout) = self.layout.as_ref() else {
                return Ok(None);
            };
            let offset = info.offset + (line.as_ptr() as usize - self.buf.as_ptr() as usize) as u64;
            return parse_row(line, info.number, offset, &self.fields, layout, &self.opts)
                .map(Some);
        }
    }
}

/// Guesses CSV options from the first bytes: the delimiter (`,`, `;` or tab, whichever splits
/// the first data line into the most fields), a header line (first field of the first line is
/// neither a number nor a time), and the time unit from the first time value's magnitude
/// (seconds, milliseconds, microseconds) or ISO 8601 text. Columns keep their default positions.
pub fn sniff_options(prefix: &[u8]) -> CsvOptions {
    let text = String::from_utf8_lossy(prefix);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("").trim_start_matches('\u{feff}');
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let first_field = |line: &str| {
        line.split(delimiter as char)
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .to_string()
    };
    let is_time = |f: &str| f.parse::<f64>().is_ok() || parse_iso8601(f).is_some();
    let has_header = !is_time(&first_field(first));
    let data_line = if has_header {
        lines.next().unwrap_or("")
    } else {
        first
    };
    let t = first_field(data_line);
    let time_unit = match t.parse::<f64>() {
        Ok(v) if v.abs() > 1e14 => TimeUnit::UnixMicros,
        Ok(v) if v.abs() > 1e11 => TimeUnit::UnixMillis,
        Ok(_) => TimeUnit::UnixSeconds,
        Err(_) => TimeUnit::Iso8601,
    };
    CsvOptions {
        delimiter,
        has_header,
        time_unit,
        ..CsvOptions::default()
    }
}

/// True when `prefix` looks like delimited numeric text: no NUL bytes, and a line (after an
/// optional header) with at least four fields.
pub(crate) fn looks_like_csv(prefix: &[u8]) -> bool {
    if prefix.is_empty() || prefix.contains(&0) {
        return false;
    }
    let opts = sniff_options(prefix);
    let text = String::from_utf8_lossy(prefix);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if opts.has_header {
        lines.next();
    }
    lines.next().is_some_and(|l| {
        let fields: Vec<&str> = l.split(opts.delimiter as char).collect();
        fields.len() >= 4
            && fields[1..]
                .iter()
                .take(3)
                .all(|f| f.trim().trim_matches('"').parse::<f64>().is_ok())
    })
}

/// Sampling rate from sample times: (n - 1) / duration; `None` for fewer than 2 distinct times.
pub(crate) fn rate_from_times(times: &[f64]) -> Option<f64> {
    let (first, last) = (*times.first()?, *times.last()?);
    let span = last - first;
    (times.len() > 1 && span > 0.0).then(|| (times.len() - 1) as f64 / span)
}

/// Header facts from the first bytes of a CSV file: start from the first row, the sampling rate
/// from the first rows' times, and an end estimated (`end_is_estimate`) from `file_size` and the
/// mean row length.
pub fn read_header(
    prefix: &[u8],
    file_size: Option<u64>,
    opts: &CsvOptions,
) -> Result<HeaderFacts, ReadError> {
    let mut rows = Rows::new(
        prefix,
        opts,
        (prefix.len() as u64) < file_size.unwrap_or(u64::MAX),
    );
    let mut times = Vec::new();
    let mut has_gyro = false;
    while times.len() < RATE_ROWS {
        match rows.next_row()? {
            Some(r) => {
                has_gyro = r.gyro.is_some();
                times.push(r.time);
            }
            None => break,
        }
    }
    if times.is_empty() {
        return Err(ReadError::Truncated {
            offset: prefix.len() as u64,
            what: "no complete CSV data row".to_string(),
        });
    }
    let fs = rate_from_times(&times);
    let start = times.first().copied();
    let consumed = rows.lines.offset().saturating_sub(rows.data_start).max(1);
    let per_row = consumed as f64 / times.len() as f64;
    let end = match (file_size, fs, start) {
        (Some(size), Some(fs), Some(s)) => {
            let n = size.saturating_sub(rows.data_start) as f64 / per_row;
            Some(s + (n - 1.0).max(0.0) / fs)
        }
        _ => times.last().copied(),
    };
    let mut channels = vec!["accel".to_string()];
    if has_gyro {
        channels.push("gyro".to_string());
    }
    Ok(HeaderFacts {
        format: Some(Format::Csv),
        device: "CSV".to_string(),
        device_id: None,
        start,
        end,
        end_is_estimate: true,
        sample_rate: fs,
        accel_range_g: None,
        channels,
        file_size,
    })
}

/// Reads every row of a CSV stream. The sampling rate is (n - 1) / (last time - first time).
pub fn read<R: Read>(reader: R, opts: &CsvOptions) -> Result<Recording, ReadError> {
    let mut rows = Rows::new(BufReader::with_capacity(64 * 1024, reader), opts, false);
    let mut rec = Recording::default();
    let mut gyro: Option<Triaxial> = None;
    while let Some(row) = rows.next_row()? {
        rec.time.push(row.time);
        rec.accel.push(row.accel);
        if let Some(g) = row.gyro {
            gyro.get_or_insert_with(Triaxial::default).push(g);
        }
    }
    if rec.time.is_empty() {
        return Err(ReadError::Truncated {
            offset: rows.lines.offset(),
            what: "no CSV data rows".to_string(),
        });
    }
    rec.gyro = gyro;
    // Gyro columns are resolved once for all rows, so they cover every row; guarded here.
    rec.check_lengths()?;
    rec.fs = rate_from_times(&rec.time).unwrap_or(0.0);
    let mut channels = vec!["accel".to_string()];
    if rec.gyro.is_some() {
        channels.push("gyro".to_string());
    }
    rec.header = HeaderFacts {
        format: Some(Format::Csv),
        device: "CSV".to_string(),
        device_id: None,
        start: rec.time.first().copied(),
        end: rec.time.last().copied(),
        end_is_estimate: false,
        sample_rate: Some(rec.fs).filter(|f| *f > 0.0),
        accel_range_g: None,
        channels,
        file_size: Some(rows.lines.offset()),
    };
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_with_and_without_offsets() {
        assert_eq!(
            parse_iso8601("2020-03-05T14:27:42.5Z"),
            Some(1_583_418_462.5)
        );
        assert_eq!(
            parse_iso8601("2020-03-05 14:27:42.500"),
            Some(1_583_418_462.5)
        );
        assert_eq!(
            parse_iso8601("2020-03-05T15:27:42.5+01:00"),
            Some(1_583_418_462.5)
        );
        assert_eq!(parse_iso8601("yesterday"), None);
    }

    #[test]
    fn quoted_fields_keep_delimiters() {
        let line = br#"1,"a,b", 3"#;
        let mut f = Vec::new();
        split_fields(line, b',', &mut f);
        assert_eq!(f.len(), 3);
        assert_eq!(field_text(line, f[1].1), b"a,b");
        assert_eq!(field_text(line, f[2].1), b"3");
    }
}
