//! GENEActiv `.bin` reader.
//!
//! The file is text: a header of `key:value` lines in sections (device identity, capabilities,
//! configuration, trial, subject, calibration, memory status), then one page per 300 samples.
//! A page is a `Recorded Data` line, `key:value` lines (sequence number, page time, temperature,
//! battery voltage, status, measurement frequency) and one line of hex: 12 hex digits per sample,
//! x, y, z as 12-bit two's complement and 12 bits holding light (upper 10 bits) and the button.
//!
//! Acceleration is `(raw * 100 - offset) / gain` g per axis, light `floor((raw >> 2) * lux /
//! volts)` lux, as SKDH's `ReadBin` computes them; sample `j` of a page is at
//! `page_time + j / fs`. Times are the device's local clock read as if it were UTC.

use std::io::{BufRead, BufReader, Read};

use super::csv::text::{LineReader, civil_to_unix, leading_number};
use super::{DataIssue, Format, HeaderFacts, ReadError, Recording};

/// Samples in one full page.
pub const SAMPLES_PER_PAGE: usize = 300;
/// Hex digits per sample.
const HEX_PER_SAMPLE: usize = 12;
/// Longest line accepted: a page data line is 3,600 characters.
const MAX_LINE: usize = 16 * 1024;
/// Header lines scanned for the first `Recorded Data` line before giving up.
const MAX_HEADER_LINES: usize = 400;
/// `key:value` lines accepted inside one page before its data line.
const MAX_PAGE_KEY_LINES: usize = 32;

/// Calibration and identity read from the text header.
#[derive(Debug, Clone, Default)]
struct Header {
    serial: Option<String>,
    device_type: Option<String>,
    model: Option<String>,
    fs: Option<f64>,
    start: Option<f64>,
    range_g: Option<f64>,
    gain: [Option<(f64, u64)>; 3],
    offset: [Option<f64>; 3],
    volts: Option<f64>,
    lux: Option<f64>,
    pages: Option<u64>,
}

impl Header {
    fn apply(&mut self, key: &str, value: &str, at: u64) -> Result<(), ReadError> {
        let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        let num = || leading_number(value);
        match key.trim() {
            "Device Unique Serial Code" if self.serial.is_none() && !value.is_empty() => {
                self.serial = Some(value.to_string())
            }
            "Device Type" => self.device_type = Some(value.to_string()).filter(|v| !v.is_empty()),
            "Device Model" => self.model = Some(value.to_string()).filter(|v| !v.is_empty()),
            "Measurement Frequency" if self.fs.is_none() => {
                self.fs = num().filter(|f| *f > 0.0 && *f <= 10_000.0)
            }
            "Start Time" => self.start = parse_time(value),
            "Accelerometer Range" => {
                // "-8 to 8": the full-scale range is the upper bound.
                self.range_g = value
                    .rsplit(' ')
                    .next()
                    .and_then(leading_number)
                    .map(f64::abs)
            }
            "x gain" | "y gain" | "z gain" => {
                let axis = axis_index(key);
                match num() {
                    Some(g) if g != 0.0 => self.gain[axis] = Some((g, at)),
                    _ => {
                        return Err(ReadError::Corrupt {
                            offset: at,
                            what: format!("calibration '{}' is not a non-zero number", key.trim()),
                        });
                    }
                }
            }
            "x offset" | "y offset" | "z offset" => self.offset[axis_index(key)] = num(),
            "Volts" => self.volts = num(),
            "Lux" => self.lux = num(),
            "Number of Pages" => self.pages = num().filter(|p| *p >= 0.0).map(|p| p as u64),
            _ => {}
        }
        Ok(())
    }

    fn device(&self) -> String {
        let kind = self
            .device_type
            .clone()
            .unwrap_or_else(|| "GENEActiv".to_string());
        match &self.model {
            Some(m) => format!("{kind} {m}"),
            None => kind,
        }
    }

    fn calibration(&self, header_end: u64) -> Result<([f64; 3], [f64; 3]), ReadError> {
        let mut gain = [1.0; 3];
        let mut offset = [0.0; 3];
        for axis in 0..3 {
            gain[axis] = self.gain[axis]
                .map(|g| g.0)
                .ok_or_else(|| ReadError::Corrupt {
                    offset: header_end,
                    what: format!(
                        "header has no '{} gain' calibration line",
                        ['x', 'y', 'z'][axis]
                    ),
                })?;
            offset[axis] = self.offset[axis].unwrap_or(0.0);
        }
        Ok((gain, offset))
    }

    fn lux_per_count(&self) -> Option<f64> {
        match (self.lux, self.volts) {
            (Some(l), Some(v)) if v != 0.0 => Some(l / v),
            _ => None,
        }
    }
}

fn axis_index(key: &str) -> usize {
    match key.trim().as_bytes().first() {
        Some(b'y') => 1,
        Some(b'z') => 2,
        _ => 0,
    }
}

/// Parses `2019-05-21 16:16:43:500` (milliseconds after the last colon) as UTC unix seconds.
fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let mut d = date.split('-').map(|p| p.trim().parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.trim().split(':').map(|p| p.trim().parse::<u32>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    let ms = match t.next() {
        Some(v) => v?,
        None => 0,
    };
    if ms > 999 {
        return None;
    }
    civil_to_unix(
        y,
        u32::try_from(mo).ok()?,
        u32::try_from(day).ok()?,
        h,
        mi,
        f64::from(sec) + f64::from(ms) / 1000.0,
    )
}

fn split_key_value(line: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(line).ok()?;
    text.split_once(':')
}

fn is_recorded_data(line: &[u8]) -> bool {
    line.trim_ascii() == b"Recorded Data"
}

fn hex_value(b: u8) -> Option<u16> {
    match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        b'a'..=b'f' => Some(u16::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(b - b'A' + 10)),
        _ => None,
    }
}

fn hex12(s: &[u8]) -> Option<u16> {
    Some((hex_value(s[0])? << 8) | (hex_value(s[1])? << 4) | hex_value(s[2])?)
}

fn signed12(v: u16) -> f64 {
    if v > 2047 {
        f64::from(v) - 4096.0
    } else {
        f64::from(v)
    }
}

/// Reads the header section: every line before the first `Recorded Data` line.
/// Returns the header and whether a `Recorded Data` line was found.
fn read_header_lines<R: BufRead>(
    lines: &mut LineReader<R>,
    buf: &mut Vec<u8>,
    only_terminated: bool,
) -> Result<(Header, bool), ReadError> {
    let mut header = Header::default();
    let mut n = 0usize;
    while let Some(info) = lines.next_line(buf)? {
        if only_terminated && !info.terminated {
            break;
        }
        if n == 0 && buf.trim_ascii() != b"Device Identity" {
            return Err(ReadError::UnknownFormat(
                "GENEActiv files start with a 'Device Identity' line".to_string(),
            ));
        }
        n += 1;
        if is_recorded_data(buf) {
            return Ok((header, true));
        }
        if n > MAX_HEADER_LINES {
            return Err(ReadError::Corrupt {
                offset: info.offset,
                what: format!("no 'Recorded Data' line within the first {MAX_HEADER_LINES} lines"),
            });
        }
        if let Some((k, v)) = split_key_value(buf) {
            header.apply(k, v, info.offset)?;
        }
    }
    if n == 0 {
        return Err(ReadError::Truncated {
            offset: 0,
            what: "empty GENEActiv file".to_string(),
        });
    }
    Ok((header, false))
}

/// One decoded page's fields.
#[derive(Debug, Default)]
struct PageMeta {
    sequence: Option<u64>,
    time: Option<f64>,
    temperature: Option<f64>,
    fs: Option<f64>,
}

/// What reading a page produced.
enum Page {
    /// A page's fields and its data line (in the caller's buffer), plus where the data starts.
    Full {
        meta: PageMeta,
        start: u64,
        data_offset: u64,
    },
    /// The page could not be used; the reader resynchronised on the next `Recorded Data` line.
    Skipped {
        issue: DataIssue,
        next_is_page: bool,
    },
}

/// Reads one page after its `Recorded Data` line. The data line is left in `buf`.
fn read_page<R: BufRead>(
    lines: &mut LineReader<R>,
    buf: &mut Vec<u8>,
    start: u64,
) -> Result<Option<Page>, ReadError> {
    let mut meta = PageMeta::default();
    for _ in 0..MAX_PAGE_KEY_LINES {
        let Some(info) = lines.next_line(buf)? else {
            return Ok(Some(Page::Skipped {
                issue: DataIssue {
                    offset: start,
                    message: "file ends inside a page header; page dropped".to_string(),
                },
                next_is_page: false,
            }));
        };
        if is_recorded_data(buf) {
            return Ok(Some(Page::Skipped {
                issue: DataIssue {
                    offset: start,
                    message: "page has no data line; page dropped".to_string(),
                },
                next_is_page: true,
            }));
        }
        match split_key_value(buf) {
            Some((k, v)) => {
                let v = v.trim();
                match k.trim() {
                    "Sequence Number" => meta.sequence = v.parse().ok(),
                    "Page Time" => meta.time = parse_time(v),
                    "Temperature" => meta.temperature = leading_number(v),
                    "Measurement Frequency" => {
                        meta.fs = leading_number(v).filter(|f| *f > 0.0 && *f <= 10_000.0)
                    }
                    _ => {}
                }
            }
            None => {
                if !info.terminated && buf.len() < SAMPLES_PER_PAGE * HEX_PER_SAMPLE {
                    return Ok(Some(Page::Skipped {
                        issue: DataIssue {
                            offset: info.offset,
                            message: format!(
                                "file ends inside a page's data ({} of {} hex digits); page dropped",
                                buf.len(),
                                SAMPLES_PER_PAGE * HEX_PER_SAMPLE
                            ),
                        },
                        next_is_page: false,
                    }));
                }
                return Ok(Some(Page::Full {
                    meta,
                    start,
                    data_offset: info.offset,
                }));
            }
        }
    }
    Ok(Some(Page::Skipped {
        issue: DataIssue {
            offset: start,
            message: format!("page has more than {MAX_PAGE_KEY_LINES} header lines; page dropped"),
        },
        next_is_page: false,
    }))
}

/// Skips lines up to and including the next `Recorded Data` line; false at the end of the file.
fn resync<R: BufRead>(lines: &mut LineReader<R>, buf: &mut Vec<u8>) -> Result<bool, ReadError> {
    while lines.next_line(buf)?.is_some() {
        if is_recorded_data(buf) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Reads header facts from the first bytes of a GENEActiv file (a few KB hold the header and
/// usually the first page).
///
/// `start` is the first page's time when that page is inside `prefix`, else the header's
/// configured start time; `end` is estimated (`end_is_estimate`) from the page count, bounded
/// by what `file_size` can hold.
pub fn read_header(prefix: &[u8], file_size: Option<u64>) -> Result<HeaderFacts, ReadError> {
    let mut lines = LineReader::new(prefix, MAX_LINE);
    let mut buf = Vec::new();
    let (header, has_page) = read_header_lines(&mut lines, &mut buf, true)?;
    let header_len = lines.offset();
    let mut first_page_time = None;
    let mut page_fs = None;
    let mut page_len = None;
    if has_page {
        let start = lines.offset();
        // Page fields come first; the data line may be cut by the end of the prefix.
        for _ in 0..MAX_PAGE_KEY_LINES {
            let Ok(Some(info)) = lines.next_line(&mut buf) else {
                break;
            };
            match split_key_value(&buf) {
                Some((k, v)) if info.terminated => match k.trim() {
                    "Page Time" => first_page_time = parse_time(v),
                    "Measurement Frequency" => {
                        page_fs = leading_number(v).filter(|f| *f > 0.0 && *f <= 10_000.0)
                    }
                    _ => {}
                },
                Some(_) => break,
                None => {
                    if info.terminated && buf.len() >= SAMPLES_PER_PAGE * HEX_PER_SAMPLE {
                        page_len = Some(lines.offset() - start + "Recorded Data\r\n".len() as u64);
                    }
                    break;
                }
            }
        }
    }
    let fs = page_fs.or(header.fs);
    let start = first_page_time.or(header.start);
    // Pages the file can hold: "Recorded Data" line + page lines, measured on the first page, or
    // about 3.85 KB when the first page is not inside the prefix.
    let pages_by_size = file_size.map(|size| {
        let per_page = page_len.unwrap_or(3_850).max(1);
        // Rounded: the last page may lack its final newline.
        (size.saturating_sub(header_len) + per_page / 2) / per_page
    });
    let pages = match (header.pages, pages_by_size) {
        (Some(p), Some(s)) => Some(p.min(s)),
        (p, s) => p.or(s),
    };
    let end = match (start, fs, pages) {
        (Some(s), Some(f), Some(p)) => Some(s + (p as f64 * SAMPLES_PER_PAGE as f64) / f),
        _ => None,
    };
    let mut channels = vec!["accel".to_string(), "temperature".to_string()];
    if header.lux_per_count().is_some() {
        channels.push("light".to_string());
    }
    Ok(HeaderFacts {
        format: Some(Format::GeneActiv),
        device: header.device(),
        device_id: header.serial.clone(),
        start,
        end,
        end_is_estimate: end.is_some(),
        sample_rate: fs,
        accel_range_g: header.range_g,
        channels,
        file_size,
    })
}

/// Decodes a whole GENEActiv file, page by page (memory grows only with the samples kept).
///
/// Pages that cannot be decoded (bad time, bad hex, truncated at the end of the file) are
/// skipped and reported in [`Recording::issues`] with their byte offset.
pub fn read<R: Read>(reader: R) -> Result<Recording, ReadError> {
    let mut lines = LineReader::new(BufReader::with_capacity(64 * 1024, reader), MAX_LINE);
    let mut buf = Vec::with_capacity(4096);
    let (header, mut at_page) = read_header_lines(&mut lines, &mut buf, false)?;
    let header_end = lines.offset();
    let (gain, offset) = header.calibration(header_end)?;
    let lux_per_count = header.lux_per_count();

    let mut rec = Recording {
        temperature: Some(Vec::new()),
        light: lux_per_count.map(|_| Vec::new()),
        ..Recording::default()
    };
    let mut fs_used: Option<f64> = None;
    let mut last_seq: Option<u64> = None;
    let mut page_start = header_end.saturating_sub("Recorded Data\n".len() as u64);

    while at_page {
        let page = read_page(&mut lines, &mut buf, page_start)?;
        let Some(page) = page else { break };
        match page {
            Page::Skipped {
                issue,
                next_is_page,
            } => {
                rec.issues.push(issue);
                at_page = next_is_page || resync(&mut lines, &mut buf)?;
                page_start = lines
                    .offset()
                    .saturating_sub("Recorded Data\n".len() as u64);
                continue;
            }
            Page::Full {
                meta,
                start,
                data_offset,
            } => {
                let decoded = decode_page(
                    &buf,
                    &meta,
                    data_offset,
                    fs_used.or(meta.fs).or(header.fs),
                    &gain,
                    &offset,
                    lux_per_count,
                    &mut rec,
                );
                match decoded {
                    Ok(fs) => {
                        fs_used.get_or_insert(fs);
                        if let (Some(prev), Some(seq)) = (last_seq, meta.sequence)
                            && seq != prev + 1
                        {
                            rec.issues.push(DataIssue {
                                offset: start,
                                message: format!(
                                    "page sequence number {seq} follows {prev}: pages missing or out of order"
                                ),
                            });
                        }
                        if meta.sequence.is_some() {
                            last_seq = meta.sequence;
                        }
                    }
                    Err(issue) => rec.issues.push(issue),
                }
            }
        }
        // The line after a data line should open the next page.
        let next_start = lines.offset();
        match lines.next_line(&mut buf)? {
            None => break,
            Some(info) if is_recorded_data(&buf) => {
                page_start = info.offset;
            }
            Some(info) => {
                if buf.trim_ascii().is_empty() && !info.terminated {
                    break;
                }
                rec.issues.push(DataIssue {
                    offset: next_start,
                    message: "unexpected line between pages; skipped to the next page".to_string(),
                });
                at_page = resync(&mut lines, &mut buf)?;
                page_start = lines
                    .offset()
                    .saturating_sub("Recorded Data\n".len() as u64);
            }
        }
    }

    let fs = fs_used.or(header.fs).unwrap_or(0.0);
    rec.fs = fs;
    let mut facts = HeaderFacts {
        format: Some(Format::GeneActiv),
        device: header.device(),
        device_id: header.serial.clone(),
        start: rec.time.first().copied().or(header.start),
        end: rec.time.last().copied(),
        end_is_estimate: false,
        sample_rate: Some(fs).filter(|f| *f > 0.0),
        accel_range_g: header.range_g,
        channels: vec!["accel".to_string(), "temperature".to_string()],
        file_size: Some(lines.offset()),
    };
    if rec.light.is_some() {
        facts.channels.push("light".to_string());
    }
    rec.header = facts;
    Ok(rec)
}

/// Decodes one page's hex line into `rec`; returns the sampling rate used.
#[allow(clippy::too_many_arguments)]
fn decode_page(
    data: &[u8],
    meta: &PageMeta,
    data_offset: u64,
    fs: Option<f64>,
    gain: &[f64; 3],
    offset: &[f64; 3],
    lux_per_count: Option<f64>,
    rec: &mut Recording,
) -> Result<f64, DataIssue> {
    let issue = |offset: u64, message: String| DataIssue { offset, message };
    let fs = meta.fs.or(fs).ok_or_else(|| {
        issue(
            data_offset,
            "no sampling rate in the page or the header; page dropped".to_string(),
        )
    })?;
    let t0 = meta.time.ok_or_else(|| {
        issue(
            data_offset,
            "page has no valid 'Page Time'; page dropped".into(),
        )
    })?;
    let data = data.trim_ascii_end();
    if !data.len().is_multiple_of(HEX_PER_SAMPLE) || data.is_empty() {
        return Err(issue(
            data_offset,
            format!(
                "page data has {} hex digits, not a multiple of {HEX_PER_SAMPLE}; page dropped",
                data.len()
            ),
        ));
    }
    let n = data.len() / HEX_PER_SAMPLE;
    // Decode into a scratch page first so that a bad digit drops the whole page, not half of it.
    let mut raw = Vec::with_capacity(n);
    for (j, s) in data.chunks_exact(HEX_PER_SAMPLE).enumerate() {
        let bad = || {
            issue(
                data_offset + (j * HEX_PER_SAMPLE) as u64,
                "page data has a non-hex character; page dropped".to_string(),
            )
        };
        let x = hex12(&s[0..3]).ok_or_else(bad)?;
        let y = hex12(&s[3..6]).ok_or_else(bad)?;
        let z = hex12(&s[6..9]).ok_or_else(bad)?;
        let l = hex12(&s[9..12]).ok_or_else(bad)?;
        raw.push([x, y, z, l]);
    }
    let temp = meta.temperature.unwrap_or(f64::NAN);
    for (j, [x, y, z, l]) in raw.into_iter().enumerate() {
        rec.time.push(t0 + j as f64 / fs);
        rec.accel.push([
            (signed12(x) * 100.0 - offset[0]) / gain[0],
            (signed12(y) * 100.0 - offset[1]) / gain[1],
            (signed12(z) * 100.0 - offset[2]) / gain[2],
        ]);
        if let Some(t) = rec.temperature.as_mut() {
            t.push(temp);
        }
        if let (Some(light), Some(k)) = (rec.light.as_mut(), lux_per_count) {
            light.push((f64::from(l >> 2) * k).floor());
        }
    }
    Ok(fs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_time_parses_with_milliseconds() {
        assert_eq!(parse_time("2019-05-21 16:16:43:500"), Some(1_558_455_403.5));
        assert_eq!(
            parse_time("2013-6-11 17:25:40:479").map(|t| (t * 1000.0).round()),
            Some(1_370_971_540_479.0)
        );
        assert_eq!(parse_time("garbage"), None);
        assert_eq!(parse_time("2019-05-21 16:16:43:5000"), None);
    }

    #[test]
    fn twelve_bit_values_are_twos_complement() {
        assert_eq!(signed12(0xF22), -222.0);
        assert_eq!(signed12(0x7FF), 2047.0);
        assert_eq!(signed12(0x800), -2048.0);
    }
}
