//! Streaming sample reader and the chunked iterator.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use super::block::{BlockMeta, BlockValues, capacity, decode_into, parse_block};
use super::header::CwaHeader;
use super::{BLOCK_LEN, HEADER_LEN};
use crate::io::{DataIssue, HeaderFacts, ReadError, Recording, Triaxial};

/// How raw temperature values become deg C.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CwaTemperature {
    /// The format's definition, `raw * 75 / 256 - 50`; a raw 0 ("not recorded") gives NaN.
    #[default]
    Axivity,
    /// SKDH's conversion, `(raw - 171) / 3.142`, for parity with SKDH outputs.
    Skdh,
}

/// How block timestamps are read (see the module docs, "Time").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CwaTime {
    /// Whole-second timestamp plus the recorded fraction of a second (the format's definition).
    #[default]
    Fractional,
    /// Whole-second timestamp only, as Open Movement's `cwa-convert` and SKDH's `ReadCwa` do.
    WholeSecond,
}

/// Options of the CWA sample readers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CwaReadOptions {
    /// Temperature conversion.
    pub temperature: CwaTemperature,
    /// Timestamp interpretation.
    pub time: CwaTime,
}

impl CwaReadOptions {
    /// The options that reproduce SKDH's `ReadCwa` (whole-second time, SKDH temperature).
    pub fn skdh() -> Self {
        Self {
            temperature: CwaTemperature::Skdh,
            time: CwaTime::WholeSecond,
        }
    }
}

/// At most this many problems are listed one by one; the rest are counted in one final issue.
const MAX_LISTED_ISSUES: usize = 1000;
/// Read buffer: 256 blocks.
const BUF_LEN: usize = 256 * BLOCK_LEN;
/// Largest initial reservation of a chunk, samples (the chunk limit may be much larger).
const MAX_CHUNK_RESERVE: usize = 1 << 16;

/// Reads the header with a short-read loop, then hands out 512-byte blocks from a fixed buffer.
struct BlockReader<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
}

fn read_some<R: Read>(r: &mut R, dst: &mut [u8]) -> Result<usize, ReadError> {
    loop {
        match r.read(dst) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

impl<R: Read> BlockReader<R> {
    /// Reads and parses the 1024-byte header.
    fn open(mut r: R) -> Result<(Self, CwaHeader), ReadError> {
        let mut h = [0u8; HEADER_LEN];
        let mut n = 0;
        while n < HEADER_LEN {
            let got = read_some(&mut r, &mut h[n..])?;
            if got == 0 {
                break;
            }
            n += got;
        }
        let header = CwaHeader::parse(&h[..n])?;
        let reader = Self {
            r,
            buf: vec![0; BUF_LEN],
            start: 0,
            end: 0,
            offset: HEADER_LEN as u64,
            eof: false,
        };
        Ok((reader, header))
    }

    /// The next whole block and its file offset; `None` at a clean end of file, an error when
    /// the file ends inside a block.
    fn next_block(&mut self) -> Result<Option<(u64, &[u8; BLOCK_LEN])>, ReadError> {
        if self.end - self.start < BLOCK_LEN && !self.eof {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < self.buf.len() && !self.eof {
                let got = read_some(&mut self.r, &mut self.buf[self.end..])?;
                if got == 0 {
                    self.eof = true;
                }
                self.end += got;
            }
        }
        let avail = self.end - self.start;
        if avail == 0 {
            return Ok(None);
        }
        if avail < BLOCK_LEN {
            return Err(ReadError::Truncated {
                offset: self.offset + avail as u64,
                what: format!(
                    "data block at byte {} has only {avail} of {BLOCK_LEN} bytes",
                    self.offset
                ),
            });
        }
        let at = self.offset;
        let s = self.start;
        self.start += BLOCK_LEN;
        self.offset += BLOCK_LEN as u64;
        let block: &[u8; BLOCK_LEN] =
            self.buf[s..s + BLOCK_LEN]
                .try_into()
                .map_err(|_| ReadError::Corrupt {
                    offset: at,
                    what: "internal block slicing".into(),
                })?;
        Ok(Some((at, block)))
    }
}

/// Per-read state: the layout fixed by the first trusted block, the previous block's end time,
/// and issue bookkeeping.
struct Decoder {
    opts: CwaReadOptions,
    header: CwaHeader,
    facts: HeaderFacts,
    file_size: Option<u64>,
    /// Reserve the output for every remaining block when the layout becomes known (whole reads).
    reserve_to_eof: bool,
    layout: Option<(u8, u8)>,
    prev_end: Option<f64>,
    listed: usize,
    unlisted: u64,
    first_unlisted: u64,
}

impl Decoder {
    fn new(
        header: CwaHeader,
        opts: CwaReadOptions,
        file_size: Option<u64>,
        reserve_to_eof: bool,
    ) -> Self {
        let facts = header.facts(None, file_size);
        Self {
            opts,
            header,
            facts,
            file_size,
            reserve_to_eof,
            layout: None,
            prev_end: None,
            listed: 0,
            unlisted: 0,
            first_unlisted: 0,
        }
    }

    fn has_gyro(&self) -> bool {
        self.layout.is_some_and(|(axes, _)| axes >= 6)
    }

    fn empty_recording(&self, reserve: usize) -> Recording {
        Recording {
            time: Vec::with_capacity(reserve),
            accel: Triaxial::with_capacity(reserve),
            gyro: self.has_gyro().then(|| Triaxial::with_capacity(reserve)),
            temperature: Some(Vec::with_capacity(reserve)),
            light: Some(Vec::with_capacity(reserve)),
            fs: self.facts.sample_rate.unwrap_or(self.header.sample_rate),
            header: self.facts.clone(),
            issues: Vec::new(),
        }
    }

    fn issue(&mut self, rec: &mut Recording, offset: u64, message: String) {
        if self.listed < MAX_LISTED_ISSUES {
            self.listed += 1;
            rec.issues.push(DataIssue { offset, message });
        } else {
            if self.unlisted == 0 {
                self.first_unlisted = offset;
            }
            self.unlisted += 1;
        }
    }

    /// Adds the summary of problems past the listing limit.
    fn finish(&mut self, rec: &mut Recording) {
        if self.unlisted > 0 {
            rec.issues.push(DataIssue {
                offset: self.first_unlisted,
                message: format!(
                    "{} further bad or skipped data blocks from this offset on are not listed",
                    self.unlisted
                ),
            });
            self.unlisted = 0;
        }
    }

    /// Validates one block and appends its samples to `rec`, or records why it was skipped.
    fn block(&mut self, b: &[u8; BLOCK_LEN], offset: u64, rec: &mut Recording) {
        let index = (offset - HEADER_LEN as u64) / BLOCK_LEN as u64;
        let m = match parse_block(b) {
            Ok(m) => m,
            Err(why) => {
                // Never bridge the time of a skipped block: the next good block keeps its own.
                self.prev_end = None;
                self.issue(
                    rec,
                    offset,
                    format!("data block {index}: {why}; block skipped"),
                );
                return;
            }
        };
        let key = (m.axes, m.rate_code & 0x0f);
        match self.layout {
            None => self.fix_layout(&m, offset, key, rec),
            Some(l) if l != key => {
                self.prev_end = None;
                let msg = format!(
                    "data block {index}: {} axes at {} Hz differ from the first good block \
                     ({} axes at {} Hz); block skipped",
                    m.axes,
                    m.fs,
                    l.0,
                    super::rate_hz(l.1)
                );
                self.issue(rec, offset, msg);
                return;
            }
            Some(_) => {}
        }
        if m.count == 0 {
            return;
        }
        let raw0 = m.start_time(self.opts.time == CwaTime::Fractional);
        let n = m.count as f64;
        let t1 = raw0 + n / m.fs;
        let t0 = match self.prev_end {
            Some(p) if raw0 - p < 1.0 => p,
            _ => raw0,
        };
        self.prev_end = Some(t1);
        if self.facts.start.is_none() {
            self.facts.start = Some(t0);
        }
        let raw_t = f64::from(m.temperature_raw);
        let temperature = match self.opts.temperature {
            CwaTemperature::Axivity if m.temperature_raw == 0 => f64::NAN,
            CwaTemperature::Axivity => raw_t * 75.0 / 256.0 - 50.0,
            // SKDH's published constant, not pi.
            #[allow(clippy::approx_constant)]
            CwaTemperature::Skdh => (raw_t - 171.0) / 3.142,
        };
        let gyro_range = m
            .gyro_range_dps()
            .or(self.header.gyro_range_dps)
            .unwrap_or(2000.0);
        let values = BlockValues {
            t0,
            dt: (t1 - t0) / n,
            gyro_scale: gyro_range / 32768.0,
            temperature,
        };
        decode_into(b, &m, &values, rec);
    }

    fn fix_layout(&mut self, m: &BlockMeta, offset: u64, key: (u8, u8), rec: &mut Recording) {
        self.layout = Some(key);
        let start = m.start_time(self.opts.time == CwaTime::Fractional);
        self.facts = self.header.facts(Some((m, offset, start)), self.file_size);
        // The start is set from the first decoded sample (identical unless count is 0).
        self.facts.start = None;
        rec.fs = m.fs;
        let extra = match self.file_size {
            Some(size) if self.reserve_to_eof && size > offset => {
                // Bounded by the file size: one block's capacity per remaining 512 bytes.
                usize::try_from((size - offset) / BLOCK_LEN as u64)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(capacity(m.axes, m.packed))
            }
            _ => 0,
        };
        let reserve = |v: &mut Vec<f64>| v.reserve_exact(extra);
        reserve(&mut rec.time);
        for v in [&mut rec.accel.x, &mut rec.accel.y, &mut rec.accel.z] {
            reserve(v);
        }
        if let Some(t) = rec.temperature.as_mut() {
            reserve(t);
        }
        if let Some(l) = rec.light.as_mut() {
            reserve(l);
        }
        if m.axes >= 6 && rec.gyro.is_none() {
            let mut g = Triaxial::with_capacity(rec.time.capacity());
            for v in [&mut g.x, &mut g.y, &mut g.z] {
                v.reserve_exact(extra);
            }
            rec.gyro = Some(g);
        }
    }
}

fn read_impl<R: Read>(
    r: R,
    opts: &CwaReadOptions,
    file_size: Option<u64>,
) -> Result<Recording, ReadError> {
    let (mut src, header) = BlockReader::open(r)?;
    let mut dec = Decoder::new(header, *opts, file_size, true);
    let mut rec = dec.empty_recording(0);
    while let Some((offset, b)) = src.next_block()? {
        dec.block(b, offset, &mut rec);
    }
    dec.finish(&mut rec);
    let mut facts = dec.facts.clone();
    facts.end = rec.time.last().copied();
    facts.end_is_estimate = false;
    rec.header = facts;
    Ok(rec)
}

/// Reads every sample of a CWA file from a byte stream, block by block through a fixed buffer
/// (the output arrays grow as samples arrive; [`read_file`] sizes them exactly). Time is unix
/// seconds, acceleration g, gyro deg/s, temperature deg C and light raw units, one value per
/// sample. Untrusted blocks are skipped and listed in `issues`. Errors: an empty, short or
/// non-CWA header, a file ending inside a block, or an I/O error.
pub fn read<R: Read>(r: R, opts: &CwaReadOptions) -> Result<Recording, ReadError> {
    read_impl(r, opts, None)
}

/// [`read`] of a file path; the file size reserves the output arrays once and lets the header
/// facts record it.
pub fn read_file(path: impl AsRef<Path>, opts: &CwaReadOptions) -> Result<Recording, ReadError> {
    let f = File::open(path)?;
    let size = f.metadata()?.len();
    read_impl(f, opts, Some(size))
}

/// The samples of a CWA file as consecutive [`Recording`]s of at most `max_samples` samples each,
/// for bounded memory on multi-day files. Each chunk carries the file's header facts (`end`
/// estimated from the file size when known) and the issues met while reading it. Iteration
/// stops after the first error.
pub struct CwaChunks<R> {
    src: BlockReader<R>,
    dec: Decoder,
    max: usize,
    carry: Option<Recording>,
    done: bool,
}

impl<R: Read> CwaChunks<R> {
    /// Reads the header of `r` and prepares chunks of at most `max_samples` (at least 1) samples.
    pub fn new(r: R, opts: &CwaReadOptions, max_samples: usize) -> Result<Self, ReadError> {
        Self::with_size(r, opts, max_samples, None)
    }

    fn with_size(
        r: R,
        opts: &CwaReadOptions,
        max_samples: usize,
        size: Option<u64>,
    ) -> Result<Self, ReadError> {
        let (src, header) = BlockReader::open(r)?;
        Ok(Self {
            src,
            dec: Decoder::new(header, *opts, size, false),
            max: max_samples.max(1),
            carry: None,
            done: false,
        })
    }

    /// The header facts known so far (start and layout once the first good block was read).
    pub fn facts(&self) -> &HeaderFacts {
        &self.dec.facts
    }

    /// The parsed file header.
    pub fn header(&self) -> &CwaHeader {
        &self.dec.header
    }
}

impl CwaChunks<File> {
    /// Opens a file for chunked reading; its size lets the facts estimate `end`.
    pub fn open(
        path: impl AsRef<Path>,
        opts: &CwaReadOptions,
        max_samples: usize,
    ) -> Result<Self, ReadError> {
        let f = File::open(path)?;
        let size = f.metadata()?.len();
        Self::with_size(f, opts, max_samples, Some(size))
    }
}

fn append(dst: &mut Recording, src: Recording) {
    dst.time.extend_from_slice(&src.time);
    append_axes(&mut dst.accel, &src.accel);
    if let (Some(d), Some(s)) = (dst.gyro.as_mut(), src.gyro.as_ref()) {
        append_axes(d, s);
    }
    if let (Some(d), Some(s)) = (dst.temperature.as_mut(), src.temperature.as_ref()) {
        d.extend_from_slice(s);
    }
    if let (Some(d), Some(s)) = (dst.light.as_mut(), src.light.as_ref()) {
        d.extend_from_slice(s);
    }
}

fn append_axes(d: &mut Triaxial, s: &Triaxial) {
    d.x.extend_from_slice(&s.x);
    d.y.extend_from_slice(&s.y);
    d.z.extend_from_slice(&s.z);
}

/// Moves the samples from `at` on into a new recording (header and rate copied, no issues).
fn split_tail(rec: &mut Recording, at: usize) -> Recording {
    let split_axes = |t: &mut Triaxial| Triaxial {
        x: t.x.split_off(at),
        y: t.y.split_off(at),
        z: t.z.split_off(at),
    };
    Recording {
        time: rec.time.split_off(at),
        accel: split_axes(&mut rec.accel),
        gyro: rec.gyro.as_mut().map(split_axes),
        temperature: rec.temperature.as_mut().map(|v| v.split_off(at)),
        light: rec.light.as_mut().map(|v| v.split_off(at)),
        fs: rec.fs,
        header: rec.header.clone(),
        issues: Vec::new(),
    }
}

impl<R: Read> Iterator for CwaChunks<R> {
    type Item = Result<Recording, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut rec = self.dec.empty_recording(self.max.min(MAX_CHUNK_RESERVE));
        if let Some(c) = self.carry.take() {
            append(&mut rec, c);
        }
        while rec.len() < self.max {
            match self.src.next_block() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(None) => {
                    self.done = true;
                    self.dec.finish(&mut rec);
                    break;
                }
                Ok(Some((offset, b))) => self.dec.block(b, offset, &mut rec),
            }
        }
        if rec.len() > self.max {
            self.carry = Some(split_tail(&mut rec, self.max));
        }
        rec.header = self.dec.facts.clone();
        if let Some(c) = self.carry.as_mut() {
            c.header = rec.header.clone();
        }
        if rec.is_empty() && rec.issues.is_empty() {
            return None;
        }
        Some(Ok(rec))
    }
}
