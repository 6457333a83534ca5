//! ActiGraph `.gt3x` reader (and the `.agdc` files of the same layout).
//!
//! A `.gt3x` is a zip archive. Current devices (GT9X Link "TAS", wGT3X-BT "MOS", wGT3X+ "CLE",
//! GT3X+ firmware >= 3) write `info.txt` plus `log.bin`, a stream of records
//! `0x1E, type, unix second (u32 LE), payload size (u16 LE), payload, checksum`. Acceleration
//! comes one second per record: `ACTIVITY` (0x00, 12-bit two's complement packed in Y, X, Z
//! order), `ACTIVITY2` (0x1A, i16 LE in X, Y, Z order) and `ACTIVITY3` (0x1B, 12-bit packed X,
//! Y, Z). Older GT3X+ / ActiSleep+ firmware (<= 2.5, "NEO"/"MRA") write `activity.bin` (one
//! continuous 12-bit Y, X, Z stream from the start date) and `lux.bin` (one u16 per second).
//!
//! Counts are divided by the scale in `info.txt` (`Acceleration Scale`), else the PARAMETERS
//! record's ACCEL_SCALE, else 341 LSB/g (NEO, CLE, MRA) or 256 LSB/g (MOS, TAS). An uncalibrated
//! `calibration.json` of method 2 (sensitivity matrix and offsets per sampling rate) is applied
//! instead, as ActiLife does. NEO values are rounded to 3 decimals like ActiLife's export.
//!
//! With idle sleep mode the device stops recording while still (EVENT records 0x08 enter and
//! 0x09 leave); ActiLife fills those seconds with the last sample, and so do we (optional).
//! Sample `i` of a second `s` is at `s + i / fs`. Times are the device's local clock read as if
//! it were UTC (ActiGraph stores local time throughout).

use std::io::{BufReader, Read, Seek, SeekFrom};

use super::npz::{bounded_entry, open_zip, zipscan};
use super::{DataIssue, Format, HeaderFacts, InflateLimits, ReadError, Recording};

/// .NET ticks (100 ns since 0001-01-01) at the unix epoch.
const TICKS_AT_UNIX_EPOCH: i64 = 621_355_968_000_000_000;
/// Record separator byte.
const SEPARATOR: u8 = 0x1E;
const TYPE_ACTIVITY: u8 = 0x00;
const TYPE_EVENT: u8 = 0x03;
const TYPE_PARAMETERS: u8 = 0x15;
const TYPE_ACTIVITY2: u8 = 0x1A;
const TYPE_ACTIVITY3: u8 = 0x1B;
/// Longest idle-sleep gap filled (a month), seconds; longer gaps are reported, not filled.
const MAX_FILL_SECONDS: u64 = 31 * 86_400;
/// Largest `info.txt` / `calibration.json` read, bytes.
const MAX_TEXT_ENTRY: u64 = 64 * 1024;

/// Options for reading `.gt3x` files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gt3xOptions {
    /// Fill idle-sleep-mode gaps with the last sample, as ActiLife does (default true). When
    /// false the gaps stay gaps in `time`.
    pub fill_idle_sleep: bool,
    /// Apply an uncalibrated `calibration.json` (method 2) as ActiLife does (default true);
    /// when false the counts are only divided by the acceleration scale.
    pub calibrate: bool,
}

impl Default for Gt3xOptions {
    fn default() -> Self {
        Self {
            fill_idle_sleep: true,
            calibrate: true,
        }
    }
}

/// What `info.txt` says.
#[derive(Debug, Clone, Default, PartialEq)]
struct Info {
    serial: Option<String>,
    device_type: Option<String>,
    sample_rate: Option<f64>,
    start: Option<f64>,
    stop: Option<f64>,
    last_sample: Option<f64>,
    download: Option<f64>,
    accel_scale: Option<f64>,
    accel_max: Option<f64>,
}

fn ticks_to_unix(ticks: i64) -> Option<f64> {
    (ticks > TICKS_AT_UNIX_EPOCH).then(|| (ticks - TICKS_AT_UNIX_EPOCH) as f64 / 1e7)
}

fn parse_info(text: &[u8]) -> Info {
    let text = String::from_utf8_lossy(text);
    let mut info = Info::default();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}');
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        // Some locales write decimal commas ("4,03").
        let num = || {
            v.replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
        };
        let ticks = || v.parse::<i64>().ok().and_then(ticks_to_unix);
        match k.trim() {
            "Serial Number" => info.serial = Some(v.to_string()).filter(|s| !s.is_empty()),
            "Device Type" => info.device_type = Some(v.to_string()).filter(|s| !s.is_empty()),
            "Sample Rate" => info.sample_rate = num().filter(|f| *f > 0.0 && *f <= 10_000.0),
            "Start Date" => info.start = ticks(),
            "Stop Date" => info.stop = ticks(),
            "Last Sample Time" => info.last_sample = ticks(),
            "Download Date" => info.download = ticks(),
            "Acceleration Scale" => info.accel_scale = num().filter(|s| *s > 0.0),
            "Acceleration Max" => info.accel_max = num().filter(|s| *s > 0.0),
            _ => {}
        }
    }
    info
}

/// Values of the PARAMETERS record that matter here.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Params {
    accel_scale: Option<f64>,
    sample_rate: Option<f64>,
    start: Option<f64>,
    stop: Option<f64>,
}

/// ActiGraph's float encoding: 24-bit two's complement fraction / 2^23, times 2^(i8 exponent).
fn decode_param_float(v: u32) -> Option<f64> {
    if v == 0x007F_FFFF || v == 0x0080_0000 {
        return None;
    }
    let exponent = f64::from((v >> 24) as u8 as i8);
    let mut frac = (v & 0x00FF_FFFF) as i32;
    if frac & 0x0080_0000 != 0 {
        frac -= 1 << 24;
    }
    Some(f64::from(frac) / 8_388_608.0 * exponent.exp2())
}

fn parse_params(payload: &[u8]) -> Params {
    let mut p = Params::default();
    for kv in payload.chunks_exact(8) {
        let space = u16::from_le_bytes([kv[0], kv[1]]);
        let key = u16::from_le_bytes([kv[2], kv[3]]);
        let value = u32::from_le_bytes([kv[4], kv[5], kv[6], kv[7]]);
        match (space, key) {
            (0, 55) => {
                p.accel_scale = decode_param_float(value).filter(|s| *s > 0.0 && s.is_finite())
            }
            (1, 10) => {
                p.sample_rate = Some(f64::from(value)).filter(|f| *f > 0.0 && *f <= 10_000.0)
            }
            (1, 12) => p.start = Some(f64::from(value)).filter(|t| *t > 0.0),
            (1, 13) => p.stop = Some(f64::from(value)).filter(|t| *t > 0.0),
            _ => {}
        }
    }
    p
}

/// Method-2 calibration from `calibration.json`, for one sampling rate.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Calibration {
    offset: [f64; 3],
    /// Row-major 3x3 matrix applied to (counts - offset).
    matrix: [[f64; 3]; 3],
}

fn parse_calibration(text: &[u8], fs: f64) -> Result<Option<Calibration>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text))
            .map_err(|e| format!("calibration.json is not JSON: {e}"))?;
    if v.get("isCalibrated")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true)
    {
        return Ok(None);
    }
    match v
        .get("calibrationMethod")
        .and_then(serde_json::Value::as_i64)
    {
        Some(2) => {}
        other => {
            return Err(format!(
                "calibration.json method {other:?} is not supported (only 2)"
            ));
        }
    }
    let rate = fs.round() as i64;
    let get = |k: &str| -> Result<f64, String> {
        v.get(format!("{k}_{rate}"))
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("calibration.json has no '{k}_{rate}'"))
    };
    let cross = |k: &str| -> Result<f64, String> { Ok(1.0 / (get(k)? * 0.01 + 250.0) - 0.004) };
    let (xy, xz, yz) = (
        cross("sensitivityXY")?,
        cross("sensitivityXZ")?,
        cross("sensitivityYZ")?,
    );
    let matrix = [
        [1.0 / (get("sensitivityXX")? * 0.01), xy, xz],
        [xy, 1.0 / (get("sensitivityYY")? * 0.01), yz],
        [xz, yz, 1.0 / (get("sensitivityZZ")? * 0.01)],
    ];
    if matrix.iter().flatten().any(|m| !m.is_finite()) {
        return Err("calibration.json sensitivities give a non-finite matrix".to_string());
    }
    Ok(Some(Calibration {
        offset: [get("offsetX")?, get("offsetY")?, get("offsetZ")?],
        matrix,
    }))
}

/// Turns counts into g.
#[derive(Debug, Clone, Copy)]
enum Scaling {
    Divide(f64),
    Matrix(Calibration),
}

impl Scaling {
    fn apply(&self, c: [i16; 3]) -> [f64; 3] {
        let c = [f64::from(c[0]), f64::from(c[1]), f64::from(c[2])];
        match self {
            Scaling::Divide(s) => [c[0] / s, c[1] / s, c[2] / s],
            Scaling::Matrix(cal) => {
                let d = [
                    c[0] - cal.offset[0],
                    c[1] - cal.offset[1],
                    c[2] - cal.offset[2],
                ];
                let m = &cal.matrix;
                [
                    m[0][0] * d[0] + m[0][1] * d[1] + m[0][2] * d[2],
                    m[1][0] * d[0] + m[1][1] * d[1] + m[1][2] * d[2],
                    m[2][0] * d[0] + m[2][1] * d[1] + m[2][2] * d[2],
                ]
            }
        }
    }
}

/// Default counts per g by serial-number prefix (ActiGraph's published values).
fn scale_for_serial(serial: Option<&str>) -> f64 {
    match serial.map(|s| s.get(..3).unwrap_or(s)) {
        Some("MOS" | "TAS") => 256.0,
        _ => 341.0,
    }
}

/// Unpacks 12-bit big-endian-ish two's complement values: 2 values per 3 bytes.
fn unpack12(payload: &[u8], out: &mut Vec<i16>) {
    out.clear();
    let total = payload.len() * 2 / 3;
    for k in 0..total {
        let bit = k * 12;
        let byte = bit / 8;
        let v = if bit % 8 == 0 {
            (u16::from(payload[byte]) << 4) | (u16::from(payload[byte + 1]) >> 4)
        } else {
            (u16::from(payload[byte] & 0x0F) << 8) | u16::from(payload[byte + 1])
        };
        out.push(if v & 0x800 != 0 {
            (v | 0xF000) as i16
        } else {
            v as i16
        });
    }
}

/// The state of a log.bin decode.
struct LogDecoder {
    fs: f64,
    per_second: usize,
    scaling: Scaling,
    fill: bool,
    /// Second of the last activity record.
    last_second: Option<u32>,
    last_sample: Option<[f64; 3]>,
    /// An idle-sleep period began since the last activity record.
    idle_since: Option<u32>,
    /// Latest record timestamp seen (any type).
    latest_ts: u32,
    /// Largest second a fill may reach (exclusive), from info.txt.
    fill_limit: Option<u64>,
    rec: Recording,
    scratch: Vec<i16>,
}

impl LogDecoder {
    fn push_second(&mut self, second: u32, counts: &[[i16; 3]], offset: u64) {
        let mut n = counts.len();
        if n > self.per_second {
            self.rec.issues.push(DataIssue {
                offset,
                message: format!(
                    "record at {second} s holds {n} samples, more than the {} Hz rate; extra samples dropped",
                    self.per_second
                ),
            });
            n = self.per_second;
        }
        for (i, c) in counts[..n].iter().enumerate() {
            let g = self.scaling.apply(*c);
            self.rec.time.push(f64::from(second) + i as f64 / self.fs);
            self.rec.accel.push(g);
            self.last_sample = Some(g);
        }
    }

    /// Repeats the last sample for every second in `[from, to)`.
    fn fill_seconds(&mut self, from: u64, to: u64, offset: u64) {
        let Some(sample) = self.last_sample else {
            return;
        };
        if to <= from {
            return;
        }
        // Without a stated last sample time, a day bounds what a few bytes can make us allocate.
        let (limit_ok, max_gap) = match self.fill_limit {
            Some(l) => (to <= l, MAX_FILL_SECONDS),
            None => (true, 86_400),
        };
        if to - from > max_gap || !limit_ok {
            self.rec.issues.push(DataIssue {
                offset,
                message: format!(
                    "idle-sleep gap of {} s ({from}..{to}) is implausible; not filled",
                    to - from
                ),
            });
            return;
        }
        for s in from..to {
            for i in 0..self.per_second {
                self.rec.time.push(s as f64 + i as f64 / self.fs);
                self.rec.accel.push(sample);
            }
        }
    }

    fn activity(&mut self, kind: u8, ts: u32, payload: &[u8], offset: u64) {
        // A 1-byte ACTIVITY record marks a USB connection, not a reading.
        if payload.len() <= 1 {
            return;
        }
        if let Some(last) = self.last_second {
            if ts <= last {
                self.rec.issues.push(DataIssue {
                    offset,
                    message: format!("activity record at {ts} s does not follow {last} s; dropped"),
                });
                return;
            }
            let gap_start = u64::from(last) + 1;
            if u64::from(ts) > gap_start {
                if self.idle_since.is_some() && self.fill {
                    self.fill_seconds(gap_start, u64::from(ts), offset);
                } else if self.idle_since.is_none() {
                    self.rec.issues.push(DataIssue {
                        offset,
                        message: format!(
                            "{} s without activity records before {ts} s (not idle sleep); left as a gap",
                            u64::from(ts) - gap_start
                        ),
                    });
                }
            }
        }
        self.idle_since = None;
        let mut counts: Vec<[i16; 3]> = Vec::with_capacity(self.per_second);
        match kind {
            TYPE_ACTIVITY2 => {
                for c in payload.chunks_exact(6) {
                    counts.push([
                        i16::from_le_bytes([c[0], c[1]]),
                        i16::from_le_bytes([c[2], c[3]]),
                        i16::from_le_bytes([c[4], c[5]]),
                    ]);
                }
            }
            _ => {
                let mut scratch = std::mem::take(&mut self.scratch);
                unpack12(payload, &mut scratch);
                for c in scratch.chunks_exact(3) {
                    // ACTIVITY packs Y, X, Z; ACTIVITY3 packs X, Y, Z.
                    counts.push(if kind == TYPE_ACTIVITY {
                        [c[1], c[0], c[2]]
                    } else {
                        [c[0], c[1], c[2]]
                    });
                }
                self.scratch = scratch;
            }
        }
        self.push_second(ts, &counts, offset);
        self.last_second = Some(ts);
    }

    fn finish(&mut self, offset: u64) {
        if let (Some(_), Some(last), true) = (self.idle_since, self.last_second, self.fill) {
            // The recording ended asleep: fill up to the last record's second (exclusive),
            // bounded by the last sample time that info.txt states.
            let mut end = u64::from(self.latest_ts);
            if let Some(limit) = self.fill_limit {
                end = end.min(limit);
            }
            self.fill_seconds(u64::from(last) + 1, end, offset);
        }
    }
}

/// Reads records from `log.bin` and calls `f(offset, type, timestamp, payload)` for each record
/// whose checksum is right. Bytes between records that are not a separator are skipped
/// (ActiGraph documents runs of zeros there); bad checksums become issues.
fn walk_records<R: Read>(
    mut r: R,
    issues: &mut Vec<DataIssue>,
    mut f: impl FnMut(u64, u8, u32, &[u8]) -> bool,
) -> Result<(), ReadError> {
    let mut offset = 0u64;
    let mut payload = vec![0u8; 0];
    let mut junk_start: Option<u64> = None;
    loop {
        let mut sep = [0u8; 1];
        if read_or_flag(&mut r, &mut sep, offset, issues)? == 0 {
            break;
        }
        if sep[0] != SEPARATOR {
            junk_start.get_or_insert(offset);
            offset += 1;
            continue;
        }
        if let Some(start) = junk_start.take()
            && offset - start > 8
        {
            issues.push(DataIssue {
                offset: start,
                message: format!("{} bytes between records skipped", offset - start),
            });
        }
        let rec_offset = offset;
        let mut head = [0u8; 7];
        let got = read_or_flag(&mut r, &mut head, offset, issues)?;
        if got < head.len() {
            issues.push(DataIssue {
                offset: rec_offset,
                message: "log.bin ends inside a record header".into(),
            });
            break;
        }
        let kind = head[0];
        let ts = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        let size = usize::from(u16::from_le_bytes([head[5], head[6]]));
        payload.resize(size + 1, 0);
        let got = read_or_flag(&mut r, &mut payload, offset, issues)?;
        offset += 8 + got as u64;
        if got < size + 1 {
            issues.push(DataIssue {
                offset: rec_offset,
                message: format!(
                    "log.bin ends inside a record of type 0x{kind:02X} ({got} of {} bytes)",
                    size + 1
                ),
            });
            break;
        }
        let mut sum = SEPARATOR ^ kind;
        for b in head[1..].iter().chain(&payload[..size]) {
            sum ^= b;
        }
        if !sum != payload[size] {
            issues.push(DataIssue {
                offset: rec_offset,
                message: format!(
                    "record of type 0x{kind:02X} at {ts} s has a bad checksum; dropped"
                ),
            });
            continue;
        }
        if !f(rec_offset, kind, ts, &payload[..size]) {
            break;
        }
    }
    Ok(())
}

/// Like [`read_exact_or_eof`], but corrupt compressed data (or a CRC mismatch, which the zip
/// crate reports at the end of the entry) ends the stream with an issue instead of failing the
/// whole read: the records before it passed their own checksums.
fn read_or_flag<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    offset: u64,
    issues: &mut Vec<DataIssue>,
) -> Result<usize, ReadError> {
    match read_exact_or_eof(r, buf) {
        Err(ReadError::Corrupt { what, .. }) => {
            issues.push(DataIssue {
                offset,
                message: format!("{what}; log.bin read stopped here"),
            });
            Ok(0)
        }
        other => other,
    }
}

fn read_exact_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(ReadError::Corrupt {
                    offset: 0,
                    what: format!("zip entry data: {e}"),
                });
            }
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(got)
}

fn read_text_entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Option<Vec<u8>>, ReadError> {
    if zip.index_for_name(name).is_none() {
        return Ok(None);
    }
    let entry = zip.by_name(name).map_err(|e| ReadError::Corrupt {
        offset: 0,
        what: format!("{name}: {e}"),
    })?;
    let mut out = Vec::new();
    let mut limited = entry.take(MAX_TEXT_ENTRY);
    limited
        .read_to_end(&mut out)
        .map_err(|e| ReadError::Corrupt {
            offset: 0,
            what: format!("{name}: {e}"),
        })?;
    Ok(Some(out))
}

fn device_name(info: &Info) -> String {
    match &info.device_type {
        Some(t) => format!("ActiGraph {t}"),
        None => "ActiGraph".to_string(),
    }
}

/// Reads a whole `.gt3x` / `.agdc` archive. `log.bin` is decoded as a stream (one record in
/// memory at a time); problems that do not stop the read are in [`Recording::issues`]. Entries
/// are bounded by the default [`InflateLimits`].
pub fn read<R: Read + Seek>(reader: R, opts: &Gt3xOptions) -> Result<Recording, ReadError> {
    read_with_limits(reader, opts, &InflateLimits::default())
}

/// [`read`] with explicit zip-bomb bounds: `log.bin`, `activity.bin` and `lux.bin` are refused
/// when they declare more than `limits` allow, and never inflated past their declared size.
pub fn read_with_limits<R: Read + Seek>(
    reader: R,
    opts: &Gt3xOptions,
    limits: &InflateLimits,
) -> Result<Recording, ReadError> {
    let mut zip = open_zip(reader)?;
    let info = read_text_entry(&mut zip, "info.txt")?
        .map(|t| parse_info(&t))
        .unwrap_or_default();
    let calibration_text = read_text_entry(&mut zip, "calibration.json")?;
    if zip.index_for_name("log.bin").is_some() {
        read_log(&mut zip, &info, calibration_text.as_deref(), opts, limits)
    } else if zip.index_for_name("activity.bin").is_some() {
        read_neo(&mut zip, &info, limits)
    } else {
        Err(ReadError::UnknownFormat(
            "zip archive has neither log.bin nor activity.bin".into(),
        ))
    }
}

fn read_log<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    info: &Info,
    calibration_text: Option<&[u8]>,
    opts: &Gt3xOptions,
    limits: &InflateLimits,
) -> Result<Recording, ReadError> {
    let (entry, _, base) = bounded_entry(zip, "log.bin", limits)?;
    let mut issues = Vec::new();
    let mut stream = BufReader::with_capacity(64 * 1024, entry);

    // The PARAMETERS record (near the start) may be needed before the first activity record.
    let mut dec: Option<LogDecoder> = None;
    let mut params = Params::default();
    let mut calibration_issue: Option<String> = None;
    walk_records(&mut stream, &mut issues, |off, kind, ts, payload| {
        let at = base + off;
        if kind == TYPE_PARAMETERS {
            params = parse_params(payload);
            return true;
        }
        let is_activity = matches!(kind, TYPE_ACTIVITY | TYPE_ACTIVITY2 | TYPE_ACTIVITY3);
        if dec.is_none() && (is_activity || kind == TYPE_EVENT) {
            let fs = info.sample_rate.or(params.sample_rate).unwrap_or(0.0);
            if fs <= 0.0 {
                return false;
            }
            let scale = info
                .accel_scale
                .or(params.accel_scale)
                .unwrap_or_else(|| scale_for_serial(info.serial.as_deref()));
            let mut scaling = Scaling::Divide(scale);
            if opts.calibrate
                && let Some(text) = calibration_text
            {
                match parse_calibration(text, fs) {
                    Ok(Some(cal)) => scaling = Scaling::Matrix(cal),
                    Ok(None) => {}
                    Err(e) => calibration_issue = Some(e),
                }
            }
            dec = Some(LogDecoder {
                fs,
                per_second: fs.round().max(1.0) as usize,
                scaling,
                fill: opts.fill_idle_sleep,
                last_second: None,
                last_sample: None,
                idle_since: None,
                latest_ts: 0,
                fill_limit: info.last_sample.or(info.stop).map(|t| t.max(0.0) as u64),
                rec: Recording::default(),
                scratch: Vec::new(),
            });
        }
        let Some(d) = dec.as_mut() else { return true };
        d.latest_ts = d.latest_ts.max(ts);
        match kind {
            TYPE_ACTIVITY | TYPE_ACTIVITY2 | TYPE_ACTIVITY3 => d.activity(kind, ts, payload, at),
            TYPE_EVENT => match payload.first() {
                Some(0x08) if d.last_second.is_some() => {
                    d.idle_since.get_or_insert(ts);
                }
                _ => {}
            },
            _ => {}
        }
        true
    })?;
    let Some(mut d) = dec else {
        let fs_known = info.sample_rate.or(params.sample_rate).is_some();
        return Err(if fs_known {
            ReadError::Truncated {
                offset: base,
                what: "log.bin holds no activity records".into(),
            }
        } else {
            ReadError::Corrupt {
                offset: base,
                what: "no sample rate in info.txt or the PARAMETERS record".into(),
            }
        });
    };
    d.finish(base);
    let mut rec = std::mem::take(&mut d.rec);
    for mut issue in issues {
        issue.offset += base;
        rec.issues.push(issue);
    }
    if let Some(msg) = calibration_issue {
        rec.issues.push(DataIssue {
            offset: 0,
            message: format!("{msg}; counts divided by the scale instead"),
        });
    }
    rec.issues.sort_by_key(|i| i.offset);
    rec.fs = d.fs;
    rec.header = HeaderFacts {
        format: Some(Format::Gt3x),
        device: device_name(info),
        device_id: info.serial.clone(),
        start: rec.time.first().copied().or(info.start).or(params.start),
        end: rec.time.last().copied(),
        end_is_estimate: false,
        sample_rate: Some(d.fs),
        accel_range_g: info.accel_max,
        channels: vec!["accel".to_string()],
        file_size: None,
    };
    Ok(rec)
}

/// Lux per count for NEO-era devices: GT3X+ 1.25 (max 2,500), ActiSleep+ 3.25 (max 6,000).
fn neo_lux(serial: Option<&str>) -> (f64, f64) {
    if serial.is_some_and(|s| s.starts_with("MRA")) {
        (3.25, 6000.0)
    } else {
        (1.25, 2500.0)
    }
}

fn read_neo<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    info: &Info,
    limits: &InflateLimits,
) -> Result<Recording, ReadError> {
    let fs = info.sample_rate.ok_or_else(|| ReadError::Corrupt {
        offset: 0,
        what: "info.txt has no 'Sample Rate'".into(),
    })?;
    let start = info.start.ok_or_else(|| ReadError::Corrupt {
        offset: 0,
        what: "info.txt has no 'Start Date'".into(),
    })?;
    let scale = info.accel_scale.unwrap_or(341.0);
    // Lux first (small, one value per second) so that activity.bin can stream.
    let lux: Option<Vec<f64>> = if zip.index_for_name("lux.bin").is_some() {
        let (entry, _, _) = bounded_entry(zip, "lux.bin", limits)?;
        let (k, max) = neo_lux(info.serial.as_deref());
        let mut raw = Vec::new();
        BufReader::new(entry)
            .read_to_end(&mut raw)
            .map_err(|e| ReadError::Corrupt {
                offset: 0,
                what: format!("lux.bin: {e}"),
            })?;
        Some(
            raw.chunks_exact(2)
                .map(|b| {
                    let v = u16::from_le_bytes([b[0], b[1]]);
                    if v < 20 || v == 0xFFFF {
                        0.0
                    } else {
                        (f64::from(v) * k).min(max)
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    let (entry, _, base) = bounded_entry(zip, "activity.bin", limits)?;
    let mut stream = BufReader::with_capacity(64 * 1024, entry);
    let mut rec = Recording::default();
    let mut chunk = vec![0u8; 9 * 4096];
    let mut values = Vec::new();
    let mut carry: Vec<i16> = Vec::new();
    let mut light = lux.as_ref().map(|_| Vec::new());
    loop {
        let got = read_exact_or_eof(&mut stream, &mut chunk).map_err(|e| match e {
            ReadError::Corrupt { what, .. } => ReadError::Corrupt { offset: base, what },
            other => other,
        })?;
        // Chunks are a multiple of 9 bytes (2 samples), so 12-bit values never straddle them.
        unpack12(&chunk[..got], &mut values);
        carry.extend_from_slice(&values);
        let whole = carry.len() / 3 * 3;
        for c in carry[..whole].chunks_exact(3) {
            let i = rec.time.len();
            rec.time.push(start + i as f64 / fs);
            // Y, X, Z order; ActiLife rounds to 3 decimals.
            let g = |v: i16| (f64::from(v) / scale * 1000.0).round() / 1000.0;
            rec.accel.push([g(c[1]), g(c[0]), g(c[2])]);
            if let (Some(out), Some(lux)) = (light.as_mut(), lux.as_ref()) {
                out.push(
                    lux.get((i as f64 / fs) as usize)
                        .copied()
                        .unwrap_or(f64::NAN),
                );
            }
        }
        carry.drain(..whole);
        if got < chunk.len() {
            break;
        }
    }
    if rec.time.is_empty() {
        return Err(ReadError::Truncated {
            offset: base,
            what: "activity.bin holds no samples".into(),
        });
    }
    rec.light = light;
    rec.fs = fs;
    let mut channels = vec!["accel".to_string()];
    if rec.light.is_some() {
        channels.push("light".to_string());
    }
    rec.header = HeaderFacts {
        format: Some(Format::Gt3x),
        device: device_name(info),
        device_id: info.serial.clone(),
        start: rec.time.first().copied(),
        end: rec.time.last().copied(),
        end_is_estimate: false,
        sample_rate: Some(fs),
        accel_range_g: info.accel_max.or(Some(6.0)),
        channels,
        file_size: None,
    };
    Ok(rec)
}

/// What the first bytes of `log.bin` show: PARAMETERS and the first activity second.
fn log_prefix_facts(log: &[u8]) -> (Params, Option<u32>) {
    let mut params = Params::default();
    let mut first = None;
    let mut issues = Vec::new();
    let _ = walk_records(log, &mut issues, |_, kind, ts, payload| {
        match kind {
            TYPE_PARAMETERS => params = parse_params(payload),
            TYPE_ACTIVITY | TYPE_ACTIVITY2 | TYPE_ACTIVITY3 if payload.len() > 1 => {
                first = Some(ts);
                return false;
            }
            _ => {}
        }
        true
    });
    (params, first)
}

/// Builds header facts from what could be seen: info.txt, the start of log.bin, entry sizes.
fn facts(
    info: Option<Info>,
    log: Option<(&[u8], u64)>,
    neo: Option<(u64, bool)>,
    file_size: Option<u64>,
) -> HeaderFacts {
    let info = info.unwrap_or_default();
    let (params, first_second) = log.map(|(b, _)| log_prefix_facts(b)).unwrap_or_default();
    let fs = info.sample_rate.or(params.sample_rate);
    // The first activity second is the first sample; a device may start recording well after
    // the configured Start Date (small.gt3x: 10 h later).
    let start = first_second.map(f64::from).or(info.start).or(params.start);
    let mut end = info.last_sample.filter(|e| start.is_none_or(|s| *e > s));
    // Some firmware writes the download time as the last sample time: then it only bounds the
    // end from above.
    let mut estimate = end.is_some() && info.last_sample == info.download;
    if end.is_none()
        && let (Some(s), Some(fs)) = (start, fs)
    {
        let seconds = match (log, neo) {
            // ACTIVITY2 seconds: 9 header bytes + 6 per sample, plus ~15 bytes of other records.
            (Some((_, size)), _) => Some(size as f64 / (24.0 + 6.0 * fs)),
            (None, Some((activity_size, _))) => Some(activity_size as f64 * 8.0 / 36.0 / fs),
            _ => None,
        };
        let stop = info.stop.or(params.stop).filter(|e| *e > s);
        end = seconds.map(|d| s + d).or(stop);
        estimate = end.is_some();
    }
    let mut channels = vec!["accel".to_string()];
    if neo.is_some_and(|(_, lux)| lux) {
        channels.push("light".to_string());
    }
    HeaderFacts {
        format: Some(Format::Gt3x),
        device: device_name(&info),
        device_id: info.serial.clone(),
        start,
        end,
        end_is_estimate: estimate,
        sample_rate: fs,
        accel_range_g: info
            .accel_max
            .or(if neo.is_some() { Some(6.0) } else { None }),
        channels,
        file_size,
    }
}

/// Header facts from the first bytes of a `.gt3x` (a ranged GET): the local zip headers,
/// `info.txt` if it is inside the prefix, else the PARAMETERS record and first activity second
/// at the start of `log.bin`. `end` is `Last Sample Time` when `info.txt` is visible, else
/// estimated from the entry size (`end_is_estimate`).
pub fn read_header(prefix: &[u8], file_size: Option<u64>) -> Result<HeaderFacts, ReadError> {
    if !prefix.starts_with(&zipscan::LOCAL_SIG) {
        return Err(ReadError::UnknownFormat("not a zip archive".into()));
    }
    let entries = zipscan::local_entries(prefix);
    let find = |n: &str| entries.iter().find(|e| e.name == n);
    let info = find("info.txt")
        .and_then(|e| zipscan::entry_prefix(prefix, e, MAX_TEXT_ENTRY as usize))
        .map(|t| parse_info(&t));
    let log_bytes = find("log.bin")
        .and_then(|e| zipscan::entry_prefix(prefix, e, 256 * 1024).map(|b| (b, e.size)));
    let neo = find("activity.bin").map(|e| (e.size, find("lux.bin").is_some()));
    if !entries.iter().any(|e| is_gt3x_entry(&e.name)) {
        return Err(ReadError::UnknownFormat(
            "zip prefix shows no gt3x entries".into(),
        ));
    }
    Ok(facts(
        info,
        log_bytes.as_ref().map(|(b, s)| (b.as_slice(), *s)),
        neo,
        file_size,
    ))
}

/// Header facts of a seekable `.gt3x`: the central directory, `info.txt` and the first 32 KB of
/// `log.bin` (bounded reads, whatever the file size).
pub fn read_header_seek<R: Read + Seek>(r: &mut R) -> Result<HeaderFacts, ReadError> {
    let size = r.seek(SeekFrom::End(0))?;
    let entries = zipscan::central_entries(r)?;
    let find = |n: &str| entries.iter().find(|e| e.name == n);
    let info = match find("info.txt") {
        Some(e) => Some(parse_info(&zipscan::read_entry_prefix(
            r,
            e,
            MAX_TEXT_ENTRY as usize,
        )?)),
        None => None,
    };
    let log = match find("log.bin") {
        Some(e) => Some((zipscan::read_entry_prefix(r, e, 32 * 1024)?, e.size)),
        None => None,
    };
    let neo = find("activity.bin").map(|e| (e.size, find("lux.bin").is_some()));
    if info.is_none() && log.is_none() && neo.is_none() {
        return Err(ReadError::UnknownFormat(
            "zip archive has no gt3x entries".into(),
        ));
    }
    Ok(facts(
        info,
        log.as_ref().map(|(b, s)| (b.as_slice(), *s)),
        neo,
        Some(size),
    ))
}

/// Lists the zip entry names a gt3x archive is recognised by.
pub(crate) fn is_gt3x_entry(name: &str) -> bool {
    matches!(
        name,
        "log.bin"
            | "info.txt"
            | "activity.bin"
            | "lux.bin"
            | "epoch.bin"
            | "calibration.json"
            | "gt3xplus.ico"
    )
}

/// Builds a recording's triaxial accel from counts; kept for tests of the unpacking.
#[cfg(test)]
fn unpack_yxz(payload: &[u8]) -> crate::io::Triaxial {
    let mut v = Vec::new();
    unpack12(payload, &mut v);
    let mut t = crate::io::Triaxial::default();
    for c in v.chunks_exact(3) {
        t.push([f64::from(c[1]), f64::from(c[0]), f64::from(c[2])]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_activity_example_unpacks() {
        // ActiGraph's Activity.md example: 00 60 08 EB D0 07 00 9E BF 00 70 08 EB F0.
        let t = unpack_yxz(&[
            0x00, 0x60, 0x08, 0xEB, 0xD0, 0x07, 0x00, 0x9E, 0xBF, 0x00, 0x70, 0x08, 0xEB, 0xF0,
        ]);
        assert_eq!(t.y, vec![6.0, 7.0, 7.0]);
        assert_eq!(t.x, vec![8.0, 9.0, 8.0]);
        assert_eq!(t.z, vec![-323.0, -321.0, -321.0]);
    }

    #[test]
    fn parameter_floats_decode() {
        assert_eq!(decode_param_float(0x0940_0000), Some(256.0));
        assert_eq!(decode_param_float(0x0C40_0000), Some(2048.0));
        assert_eq!(decode_param_float(0x007F_FFFF), None);
    }

    #[test]
    fn ticks_convert_to_unix_seconds() {
        assert_eq!(
            ticks_to_unix(637_517_662_200_000_000),
            Some(1_616_169_420.0)
        );
        assert_eq!(ticks_to_unix(0), None);
    }
}
