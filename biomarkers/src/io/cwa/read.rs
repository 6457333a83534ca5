//! Streaming sample reader and the chunked iterator.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use super::block::{BlockMeta, BlockValues, append_samples, capacity, parse_block};
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
    /// Leave the light channel out (`Recording::light` is `None`): 8 bytes a sample less. No
    /// biomarker step reads light; the batch job sets this. Default `false` (light kept).
    pub skip_light: bool,
}

impl CwaReadOptions {
    /// The options that reproduce SKDH's `ReadCwa` (whole-second time, SKDH temperature).
    pub fn skdh() -> Self {
        Self {
            temperature: CwaTemperature::Skdh,
            time: CwaTime::WholeSecond,
            skip_light: false,
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
    layout: Option<(u8, u8)>,
    prev_end: Option<f64>,
    listed: usize,
    unlisted: u64,
    first_unlisted: u64,
}

impl Decoder {
    fn new(header: CwaHeader, opts: CwaReadOptions, file_size: Option<u64>) -> Self {
        let facts = header.facts(None, file_size);
        Self {
            opts,
            header,
            facts,
            file_size,
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

    /// Sampling rate of the recording: the first good block's, else the header's, Hz.
    fn fs(&self) -> f64 {
        self.facts.sample_rate.unwrap_or(self.header.sample_rate)
    }

    fn empty_recording(&self, reserve: usize) -> Recording {
        Recording {
            time: Vec::with_capacity(reserve),
            accel: Triaxial::with_capacity(reserve),
            gyro: self.has_gyro().then(|| Triaxial::with_capacity(reserve)),
            temperature: Some(Vec::with_capacity(reserve)),
            light: (!self.opts.skip_light).then(|| Vec::with_capacity(reserve)),
            fs: self.fs(),
            header: self.facts.clone(),
            issues: Vec::new(),
        }
    }

    fn issue(&mut self, issues: &mut Vec<DataIssue>, offset: u64, message: String) {
        if self.listed < MAX_LISTED_ISSUES {
            self.listed += 1;
            issues.push(DataIssue { offset, message });
        } else {
            if self.unlisted == 0 {
                self.first_unlisted = offset;
            }
            self.unlisted += 1;
        }
    }

    /// Adds the summary of problems past the listing limit.
    fn finish(&mut self, issues: &mut Vec<DataIssue>) {
        if self.unlisted > 0 {
            issues.push(DataIssue {
                offset: self.first_unlisted,
                message: format!(
                    "{} further bad or skipped data blocks from this offset on are not listed",
                    self.unlisted
                ),
            });
            self.unlisted = 0;
        }
    }

    /// Validates one block and returns its layout and per-block values when it has samples to
    /// decode, or records in `issues` why it was skipped.
    fn block(
        &mut self,
        b: &[u8; BLOCK_LEN],
        offset: u64,
        issues: &mut Vec<DataIssue>,
    ) -> Option<(BlockMeta, BlockValues)> {
        let index = (offset - HEADER_LEN as u64) / BLOCK_LEN as u64;
        let m = match parse_block(b) {
            Ok(m) => m,
            Err(why) => {
                // Never bridge the time of a skipped block: the next good block keeps its own.
                self.prev_end = None;
                self.issue(
                    issues,
                    offset,
                    format!("data block {index}: {why}; block skipped"),
                );
                return None;
            }
        };
        let key = (m.axes, m.rate_code & 0x0f);
        match self.layout {
            None => self.fix_layout(&m, offset, key),
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
                self.issue(issues, offset, msg);
                return None;
            }
            Some(_) => {}
        }
        if m.count == 0 {
            return None;
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
        Some((m, values))
    }

    fn fix_layout(&mut self, m: &BlockMeta, offset: u64, key: (u8, u8)) {
        self.layout = Some(key);
        let start = m.start_time(self.opts.time == CwaTime::Fractional);
        self.facts = self.header.facts(Some((m, offset, start)), self.file_size);
        // The start is set from the first decoded sample (identical unless count is 0).
        self.facts.start = None;
    }

    /// Samples the blocks from byte `offset` to the end of the file can hold at most (every
    /// remaining 512 bytes a full block of `per_block` samples), or `None` when the file size
    /// is unknown.
    fn samples_bound(&self, offset: u64, per_block: usize) -> Option<usize> {
        let size = self.file_size?;
        let blocks = size.saturating_sub(offset) / BLOCK_LEN as u64;
        Some(usize::try_from(blocks).map_or(usize::MAX, |b| b.saturating_mul(per_block)))
    }
}

/// Reserves room for `extra` more samples in every column of `rec` (creating `gyro` when
/// `gyro` is true), so that a whole read allocates each output array once.
fn reserve_columns(rec: &mut Recording, extra: usize, gyro: bool) {
    rec.time.reserve_exact(extra);
    for v in [&mut rec.accel.x, &mut rec.accel.y, &mut rec.accel.z] {
        v.reserve_exact(extra);
    }
    if gyro {
        let g = rec.gyro.get_or_insert_with(|| Triaxial::with_capacity(0));
        for v in [&mut g.x, &mut g.y, &mut g.z] {
            v.reserve_exact(extra);
        }
    }
    for v in [rec.temperature.as_mut(), rec.light.as_mut()]
        .into_iter()
        .flatten()
    {
        v.reserve_exact(extra);
    }
}

fn read_impl<R: Read>(
    r: R,
    opts: &CwaReadOptions,
    file_size: Option<u64>,
) -> Result<Recording, ReadError> {
    let (mut src, header) = BlockReader::open(r)?;
    let mut dec = Decoder::new(header, *opts, file_size);
    let mut rec = dec.empty_recording(0);
    let mut reserved = false;
    while let Some((offset, b)) = src.next_block()? {
        if let Some((m, v)) = dec.block(b, offset, &mut rec.issues) {
            if !reserved {
                // Once, at the first decoded block: bounded by the file size, never by a
                // header value.
                reserved = true;
                let per_block = capacity(m.axes, m.packed);
                let extra = dec.samples_bound(offset, per_block).unwrap_or(0);
                reserve_columns(&mut rec, extra, m.axes >= 6);
            }
            append_samples(b, &m, &v, 0, m.count, &mut rec);
        }
    }
    dec.finish(&mut rec.issues);
    let mut facts = dec.facts.clone();
    facts.end = rec.time.last().copied();
    facts.end_is_estimate = false;
    rec.header = facts;
    rec.fs = dec.fs();
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
///
/// Two ways to take the chunks: as an [`Iterator`] (every chunk a new [`Recording`]), or with
/// [`CwaChunks::next_into`], which refills one caller-owned recording and so, after the first
/// chunk, allocates nothing and touches no fresh memory: the fast way for long files.
pub struct CwaChunks<R> {
    src: BlockReader<R>,
    dec: Decoder,
    max: usize,
    /// A block split by the chunk limit: its samples from `from` on start the next chunk.
    pending: Option<Pending>,
    done: bool,
}

/// The part of a decoded block not yet handed out.
struct Pending {
    block: Box<[u8; BLOCK_LEN]>,
    meta: BlockMeta,
    values: BlockValues,
    from: usize,
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
            dec: Decoder::new(header, *opts, size),
            max: max_samples.max(1),
            pending: None,
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

    /// Samples the next chunk can hold: the chunk limit, or less near the end of a file of
    /// known size; without a size, a modest first reservation (the arrays grow as needed).
    fn chunk_reserve(&self) -> usize {
        let staged = self
            .pending
            .as_ref()
            .map_or(0, |p| p.meta.count.saturating_sub(p.from));
        let bound = self
            .dec
            .samples_bound(self.src.offset, capacity(3, true))
            .map_or(MAX_CHUNK_RESERVE, |b| b.saturating_add(staged));
        self.max.min(bound)
    }

    /// Appends as many samples of a block, from `from` on, as the chunk has room for, and keeps
    /// the rest pending.
    /// (An associated function: `b` may borrow the block reader.)
    fn take(
        max: usize,
        pending: &mut Option<Pending>,
        out: &mut Recording,
        b: &[u8; BLOCK_LEN],
        m: BlockMeta,
        v: BlockValues,
        from: usize,
    ) {
        if m.axes >= 6 && out.gyro.is_none() {
            // The first good block fixed a gyro layout: every earlier chunk had no samples.
            out.gyro = Some(Triaxial::with_capacity(out.time.capacity()));
        }
        let to = from
            .saturating_add(max.saturating_sub(out.len()))
            .min(m.count);
        append_samples(b, &m, &v, from, to, out);
        if to < m.count {
            // Only when the chunk limit falls inside a block: one 512-byte copy.
            *pending = Some(Pending {
                block: Box::new(*b),
                meta: m,
                values: v,
                from: to,
            });
        }
    }

    /// Replaces the contents of `out` with the next chunk (samples, header facts, rate and the
    /// issues met while reading it), keeping `out`'s allocations: after the first chunk no
    /// memory is allocated or newly touched. Returns `Ok(false)` (and leaves `out` empty) when
    /// the file has no more samples or issues. The same chunks as the [`Iterator`], in order;
    /// after an error, further calls return `Ok(false)`.
    pub fn next_into(&mut self, out: &mut Recording) -> Result<bool, ReadError> {
        out.time.clear();
        out.accel.x.clear();
        out.accel.y.clear();
        out.accel.z.clear();
        if self.dec.has_gyro() {
            let g = out.gyro.get_or_insert_with(|| Triaxial::with_capacity(0));
            g.x.clear();
            g.y.clear();
            g.z.clear();
        } else {
            out.gyro = None;
        }
        out.temperature.get_or_insert_with(Vec::new).clear();
        if self.dec.opts.skip_light {
            out.light = None;
        } else {
            out.light.get_or_insert_with(Vec::new).clear();
        }
        out.issues.clear();
        if self.done {
            return Ok(false);
        }
        // No-ops once `out` has held a full chunk.
        let reserve = self.chunk_reserve();
        reserve_columns(out, reserve, self.dec.has_gyro());
        if let Some(p) = self.pending.take() {
            Self::take(
                self.max,
                &mut self.pending,
                out,
                &p.block,
                p.meta,
                p.values,
                p.from,
            );
        }
        while out.len() < self.max {
            match self.src.next_block() {
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
                Ok(None) => {
                    self.done = true;
                    self.dec.finish(&mut out.issues);
                    break;
                }
                Ok(Some((offset, b))) => {
                    if let Some((m, v)) = self.dec.block(b, offset, &mut out.issues) {
                        Self::take(self.max, &mut self.pending, out, b, m, v, 0);
                    }
                }
            }
        }
        out.header = self.dec.facts.clone();
        out.fs = self.dec.fs();
        Ok(!(out.is_empty() && out.issues.is_empty()))
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

impl<R: Read> Iterator for CwaChunks<R> {
    type Item = Result<Recording, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut rec = self.dec.empty_recording(self.chunk_reserve());
        match self.next_into(&mut rec) {
            Ok(true) => Some(Ok(rec)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn data(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data")
            .join(rel)
    }

    /// Every chunk `next_into` produces, as owned recordings.
    fn chunks_into<R: Read>(mut c: CwaChunks<R>, out: &mut Recording) -> Vec<Recording> {
        let mut all = Vec::new();
        while c.next_into(out).expect("chunk") {
            all.push(out.clone());
        }
        // The end is sticky and leaves the buffer empty.
        assert!(!c.next_into(out).expect("end"));
        assert!(out.is_empty() && out.issues.is_empty());
        all
    }

    #[test]
    fn next_into_gives_the_iterator_chunks_in_one_reused_buffer() {
        let opts = CwaReadOptions::default();
        // One buffer across files of different layouts: gyro appears and disappears with them.
        let mut out = Recording::default();
        let small = [1usize, 7, 40, 119, 121, 1000, 1 << 20];
        for (rel, has_gyro, maxes) in [
            ("ggirread/ax6_testfile.cwa", true, &small[..]),
            (
                "ggirread/ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa",
                false,
                &small[..],
            ),
            // Packed samples, 1.2 M of them: only chunk sizes that keep the test quick.
            (
                "skdh/examples/example_data.cwa",
                false,
                &[1001, 1 << 20][..],
            ),
        ] {
            let path = data(rel);
            let full = read_file(&path, &opts).expect("full");
            for &max in maxes {
                let iter: Vec<Recording> = CwaChunks::open(&path, &opts, max)
                    .expect("open")
                    .map(|c| c.expect("chunk"))
                    .collect();
                let into = chunks_into(CwaChunks::open(&path, &opts, max).expect("open"), &mut out);
                assert_eq!(into, iter, "{rel} max {max}");
                assert!(
                    into.iter()
                        .all(|c| c.gyro.is_some() == has_gyro && c.len() <= max)
                );
                let time: Vec<f64> = into.iter().flat_map(|c| c.time.clone()).collect();
                let light: Vec<f64> = into
                    .iter()
                    .flat_map(|c| c.light.clone().unwrap_or_default())
                    .collect();
                let issues: Vec<u64> = into
                    .iter()
                    .flat_map(|c| c.issues.iter().map(|i| i.offset))
                    .collect();
                assert_eq!(time, full.time, "{rel} max {max}");
                assert_eq!(Some(light), full.light, "{rel} max {max}");
                assert_eq!(
                    issues,
                    full.issues.iter().map(|i| i.offset).collect::<Vec<_>>()
                );
                // Bounded memory: a fresh buffer never grows past the chunk limit.
                let mut fresh = Recording::default();
                chunks_into(
                    CwaChunks::open(&path, &opts, max).expect("open"),
                    &mut fresh,
                );
                assert!(fresh.time.capacity() <= max && fresh.accel.z.capacity() <= max);
            }
        }
    }

    #[test]
    fn unpacked_triaxial_values_are_the_raw_counts_scaled() {
        // The synthetic writer's layout (16-bit, 3 axes, 80 a block), checked against a direct
        // reading of the bytes: no real file in the data folder has it.
        let p = crate::synth::SynthParams {
            days: 0.01,
            fs: 50.0,
            ..Default::default()
        };
        let mut bytes = Vec::new();
        crate::synth::write_cwa(&p, &mut bytes).expect("synth");
        let rec = read(&bytes[..], &CwaReadOptions::skdh()).expect("read");
        assert!(rec.issues.is_empty() && rec.gyro.is_none());
        let mut i = 0;
        for b in bytes[HEADER_LEN..].chunks_exact(BLOCK_LEN) {
            assert_eq!(b[25], 0x32, "unpacked 3-axis");
            let le = |at: usize| i16::from_le_bytes([b[at], b[at + 1]]);
            let scale = 1.0 / f64::from(1u32 << (8 + (u16::from_le_bytes([b[18], b[19]]) >> 13)));
            let light = f64::from(u16::from_le_bytes([b[18], b[19]]) & 0x3ff);
            for k in 0..usize::from(u16::from_le_bytes([b[28], b[29]])) {
                let at = 30 + 6 * k;
                assert_eq!(rec.accel.x[i], f64::from(le(at)) * scale, "sample {i}");
                assert_eq!(rec.accel.y[i], f64::from(le(at + 2)) * scale, "sample {i}");
                assert_eq!(rec.accel.z[i], f64::from(le(at + 4)) * scale, "sample {i}");
                assert_eq!(rec.light.as_ref().expect("light")[i], light);
                i += 1;
            }
        }
        assert_eq!(i, rec.len());
        assert!(i > 40_000, "{i}");
    }

    #[test]
    fn streams_without_a_size_read_the_same() {
        let path = data("ggirread/ax6_testfile.cwa");
        let opts = CwaReadOptions::skdh();
        let bytes = std::fs::read(&path).expect("read");
        let full = read_file(&path, &opts).expect("full");
        let streamed = read(&bytes[..], &opts).expect("stream");
        assert_eq!(streamed.time, full.time);
        assert_eq!(streamed.gyro, full.gyro);
        assert_eq!(streamed.temperature, full.temperature);
        let mut out = Recording::default();
        let chunks = chunks_into(
            CwaChunks::new(&bytes[..], &opts, 50).expect("open"),
            &mut out,
        );
        let gx: Vec<f64> = chunks
            .iter()
            .flat_map(|c| c.gyro.as_ref().map(|g| g.x.clone()).unwrap_or_default())
            .collect();
        assert_eq!(gx, full.gyro.as_ref().expect("gyro").x);
    }
}
