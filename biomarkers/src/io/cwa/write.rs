//! CWA writer: produces files `cwa-convert`, SKDH's `ReadCwa` and this module's reader accept.

use std::io::Write;

use super::block::{BLOCK_MAGIC, BLOCK_PACKET_LEN, capacity, word_sum};
use super::header::HEADER_MAGIC;
use super::{BLOCK_LEN, DATA_OFFSET, HEADER_LEN, pack_timestamp};
use crate::io::Recording;

/// Why a CWA file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CwaWriteError {
    /// The options describe something a CWA file cannot hold.
    #[error("invalid CWA write options: {0}")]
    InvalidOptions(String),
    /// A sample cannot be written (e.g. a non-finite acceleration, a missing gyro value).
    #[error("invalid sample {index}: {what}")]
    InvalidSample {
        /// Zero-based sample index.
        index: u64,
        /// What is wrong with it.
        what: String,
    },
    /// An I/O error from the output.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// What to write. Sample `i` is at `start + i / sample_rate` (unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct CwaWriteOptions {
    /// Unix seconds of the first sample (UTC; must lie in 2000..=2063, the format's years).
    pub start: f64,
    /// Sampling rate, Hz: one of 12.5, 25, 50, 100, 200, 400, 800, 1600, 3200.
    pub sample_rate: f64,
    /// Accelerometer range, +/- g: 2, 4, 8 or 16.
    pub range_g: u8,
    /// 10-bit packed samples (3 axes, 120 per block) instead of 16-bit (80 per block).
    pub packed: bool,
    /// Record the gyro too (AX6 layout, 40 samples per block; unpacked only).
    pub with_gyro: bool,
    /// Gyro range, +/- deg/s: 125, 250, 500, 1000 or 2000.
    pub gyro_range_dps: u16,
    /// Device serial number.
    pub device_id: u32,
    /// Session identifier.
    pub session_id: u32,
    /// Metadata text stored in the header (at most 448 bytes; longer text is cut at a character
    /// boundary). By convention url-encoded `name=value` pairs joined by `&`.
    pub annotation: String,
}

impl Default for CwaWriteOptions {
    /// 100 Hz, +/-8 g, unpacked, no gyro, starting 2024-01-01T00:00:00Z.
    fn default() -> Self {
        Self {
            start: 1_704_067_200.0,
            sample_rate: 100.0,
            range_g: 8,
            packed: false,
            with_gyro: false,
            gyro_range_dps: 2000,
            device_id: 0,
            session_id: 0,
            annotation: String::new(),
        }
    }
}

/// Fixed per-file encoding choices derived from the options.
#[derive(Debug, Clone, Copy)]
struct Layout {
    per_block: usize,
    axes: u8,
    rate_code: u8,
    /// Accel counts per g.
    accel_counts: f64,
    /// Largest accel magnitude kept, g.
    accel_clip: f64,
    /// The `AAAGGG` bits of the light word.
    scale_bits: u16,
    /// Gyro counts per deg/s.
    gyro_counts: f64,
    gyro_clip: f64,
}

fn layout(o: &CwaWriteOptions) -> Result<Layout, CwaWriteError> {
    let bad = |s: String| Err(CwaWriteError::InvalidOptions(s));
    let rates = [12.5, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0];
    let Some(rate_idx) = rates.iter().position(|&r| r == o.sample_rate) else {
        return bad(format!(
            "sample_rate {} Hz is not one of {rates:?}",
            o.sample_rate
        ));
    };
    let range_code: u8 = match o.range_g {
        16 => 0,
        8 => 1,
        4 => 2,
        2 => 3,
        r => return bad(format!("range_g {r} is not 2, 4, 8 or 16")),
    };
    if !o.start.is_finite() {
        return bad("start is not finite".into());
    }
    if o.with_gyro && o.packed {
        return bad("the gyro needs unpacked (16-bit) samples".into());
    }
    let gyro_code: u16 = if o.with_gyro {
        match o.gyro_range_dps {
            2000 => 2,
            1000 => 3,
            500 => 4,
            250 => 5,
            125 => 6,
            g => {
                return bad(format!(
                    "gyro_range_dps {g} is not 125, 250, 500, 1000 or 2000"
                ));
            }
        }
    } else {
        0
    };
    let range = f64::from(o.range_g);
    // AX3 samples are 1/256 g (packed: mantissa << exponent); the AX6 keeps 16 bits for the
    // chosen range (1/2^(8+n) g, n = 3 for 16 g ... 6 for 2 g).
    let accel_n: u16 = if o.with_gyro {
        3 + u16::from(range_code)
    } else {
        0
    };
    let accel_counts = f64::from(1u32 << (8 + accel_n));
    let max_counts = if o.packed { 511.0 * 8.0 } else { 32767.0 };
    let axes = if o.with_gyro { 6 } else { 3 };
    Ok(Layout {
        per_block: capacity(axes, o.packed),
        axes,
        rate_code: range_code << 6 | (7 + rate_idx as u8),
        accel_counts,
        accel_clip: range.min(max_counts / accel_counts),
        scale_bits: accel_n << 13 | gyro_code << 10,
        gyro_counts: 32768.0 / f64::from(o.gyro_range_dps),
        gyro_clip: f64::from(o.gyro_range_dps).min(32767.0 * f64::from(o.gyro_range_dps) / 32768.0),
    })
}

/// Writes a CWA file sample by sample: the header at creation, each 512-byte block as it fills,
/// and a final partial block (with its true sample count) on [`CwaWriter::finish`].
///
/// Blocks are 120 samples packed, 80 unpacked, 40 with the gyro. Each block is timestamped at
/// the first whole second at or after its first sample, with the sample index where that second
/// falls and the remaining fraction of a second (15 bits), as the firmware does.
///
/// Checked with Open Movement's `cwa-convert` and SKDH 0.17's `ReadCwa`, which both read these
/// files (values equal to print precision). Two SKDH limits to know: SKDH ignores a block's
/// sample count and decodes the whole block, so a final partial block reads back padded with
/// zero samples (write a multiple of the block size for SKDH parity); and SKDH's checksum
/// sign-extends the rate-code byte, so it rejects every block of a +/-2 g or +/-4 g file (rate
/// code >= 0x80), as it would a device's.
pub struct CwaWriter<W: Write> {
    out: W,
    opts: CwaWriteOptions,
    lay: Layout,
    block: [u8; BLOCK_LEN],
    in_block: usize,
    /// Sample index of the first sample of the current block.
    block_first: u64,
    sequence: u32,
    temp_sum: f64,
    temp_n: u32,
    light_sum: f64,
    light_n: u32,
    /// Whole seconds and fraction of `opts.start`, so block times stay exact far from 1970.
    start_whole: i64,
    start_frac: f64,
}

/// Clamps and rounds to an i16 count.
fn counts(v: f64, per_unit: f64, clip: f64) -> i16 {
    (v.clamp(-clip, clip) * per_unit).round() as i16
}

impl<W: Write> CwaWriter<W> {
    /// Validates the options and writes the 1024-byte header.
    pub fn new(mut out: W, opts: CwaWriteOptions) -> Result<Self, CwaWriteError> {
        let lay = layout(&opts)?;
        let start_whole = opts.start.floor() as i64;
        let Some(stamp) = pack_timestamp(start_whole) else {
            return Err(CwaWriteError::InvalidOptions(format!(
                "start {} is outside the years 2000..=2063 a CWA timestamp can hold",
                opts.start
            )));
        };
        let mut h = [0xffu8; HEADER_LEN];
        h[0..2].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
        h[2..4].copy_from_slice(&((HEADER_LEN - 4) as u16).to_le_bytes());
        h[4] = if opts.with_gyro { 0x64 } else { 0x00 };
        h[5..7].copy_from_slice(&(opts.device_id as u16).to_le_bytes());
        h[7..11].copy_from_slice(&opts.session_id.to_le_bytes());
        h[11..13].copy_from_slice(&((opts.device_id >> 16) as u16).to_le_bytes());
        // Logging window: start at once (0), never stop (0xffffffff, already set).
        h[13..17].copy_from_slice(&0u32.to_le_bytes());
        h[21..25].copy_from_slice(&0u32.to_le_bytes());
        h[26] = 0;
        h[35] = if opts.with_gyro {
            (lay.scale_bits >> 10 & 0x07) as u8
        } else {
            0xff
        };
        h[36] = lay.rate_code;
        h[37..41].copy_from_slice(&stamp.to_le_bytes());
        h[41] = 0;
        h[64..512].fill(b' ');
        let mut cut = opts.annotation.len().min(448);
        while !opts.annotation.is_char_boundary(cut) {
            cut -= 1;
        }
        h[64..64 + cut].copy_from_slice(&opts.annotation.as_bytes()[..cut]);
        out.write_all(&h)?;
        let start_frac = opts.start - opts.start.floor();
        Ok(Self {
            out,
            opts,
            lay,
            block: [0; BLOCK_LEN],
            in_block: 0,
            block_first: 0,
            sequence: 0,
            temp_sum: 0.0,
            temp_n: 0,
            light_sum: 0.0,
            light_n: 0,
            start_whole,
            start_frac,
        })
    }

    /// Appends one sample: acceleration (g), gyro (deg/s; required exactly when the options
    /// record it), temperature (deg C) and light (raw 10-bit units). Block temperature and
    /// light are the block means; NaN values are left out of them. Values are quantised to the
    /// device's resolution and clipped to the range. Its time is `start + i / sample_rate`.
    pub fn push(
        &mut self,
        accel_g: [f64; 3],
        gyro_dps: Option<[f64; 3]>,
        temperature_c: f64,
        light: f64,
    ) -> Result<(), CwaWriteError> {
        let index = self.block_first + self.in_block as u64;
        let invalid = |what: String| Err(CwaWriteError::InvalidSample { index, what });
        if accel_g.iter().any(|v| !v.is_finite()) {
            return invalid(format!("non-finite acceleration {accel_g:?}"));
        }
        let gyro = match (self.opts.with_gyro, gyro_dps) {
            (true, Some(g)) if g.iter().all(|v| v.is_finite()) => Some(g),
            (true, Some(g)) => return invalid(format!("non-finite gyro {g:?}")),
            (true, None) => return invalid("the options record a gyro but none was given".into()),
            (false, Some(_)) => {
                return invalid("a gyro value was given but the options record none".into());
            }
            (false, None) => None,
        };
        let lay = self.lay;
        let at = DATA_OFFSET
            + self.in_block
                * if self.opts.packed {
                    4
                } else {
                    2 * usize::from(lay.axes)
                };
        if self.opts.packed {
            let word = pack_sample(accel_g, lay.accel_clip);
            self.block[at..at + 4].copy_from_slice(&word.to_le_bytes());
        } else {
            let mut k = at;
            if let Some(g) = gyro {
                for v in g {
                    self.block[k..k + 2]
                        .copy_from_slice(&counts(v, lay.gyro_counts, lay.gyro_clip).to_le_bytes());
                    k += 2;
                }
            }
            for v in accel_g {
                self.block[k..k + 2]
                    .copy_from_slice(&counts(v, lay.accel_counts, lay.accel_clip).to_le_bytes());
                k += 2;
            }
        }
        if temperature_c.is_finite() {
            self.temp_sum += temperature_c;
            self.temp_n += 1;
        }
        if light.is_finite() {
            self.light_sum += light;
            self.light_n += 1;
        }
        self.in_block += 1;
        if self.in_block == lay.per_block {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Completes the block header fields and the checksum, writes it and starts the next one.
    fn flush_block(&mut self) -> Result<(), CwaWriteError> {
        let lay = self.lay;
        let fs = self.opts.sample_rate;
        // Timestamp the first whole second at or after the block's first sample, valid at the
        // first sample at or after it (index `r`), with the remaining fraction recorded: exact
        // for whole-second readers when the sample grid meets whole seconds, and within 2^-16 s
        // for fractional ones.
        let rel = self.start_frac + self.block_first as f64 / fs;
        let whole = (rel - 1e-9).ceil();
        let r = ((whole - rel) * fs - 1e-6).ceil().max(0.0);
        let frac = (rel + r / fs - whole).max(0.0);
        let frac15 = ((frac * 32768.0).round() as u32).min(0x7fff);
        let frac16 = frac15 << 1;
        // The firmware's backward-compatible shim: move the offset by the whole samples the
        // fraction spans at the integer rate (readers of the fraction undo it).
        let tso = r as i64 - i64::from((frac16 * fs as u32) >> 16);
        let unix = self.start_whole + whole as i64;
        let stamp = pack_timestamp(unix).ok_or_else(|| CwaWriteError::InvalidSample {
            index: self.block_first,
            what: "sample time is past 2063, the last year a CWA timestamp can hold".into(),
        })?;
        let temp = if self.temp_n > 0 {
            self.temp_sum / f64::from(self.temp_n)
        } else {
            f64::NAN
        };
        // Raw 0 means "not recorded"; real readings are kept within 1..=1023.
        let temp_raw = if temp.is_finite() {
            ((temp + 50.0) * 256.0 / 75.0).round().clamp(1.0, 1023.0) as u16
        } else {
            0
        };
        let light = if self.light_n > 0 {
            self.light_sum / f64::from(self.light_n)
        } else {
            0.0
        };
        let light_raw = light.round().clamp(0.0, 1023.0) as u16;

        let b = &mut self.block;
        b[0..2].copy_from_slice(&BLOCK_MAGIC.to_le_bytes());
        b[2..4].copy_from_slice(&BLOCK_PACKET_LEN.to_le_bytes());
        b[4..6].copy_from_slice(&(0x8000 | frac15 as u16).to_le_bytes());
        b[6..10].copy_from_slice(&self.opts.session_id.to_le_bytes());
        b[10..14].copy_from_slice(&self.sequence.to_le_bytes());
        b[14..18].copy_from_slice(&stamp.to_le_bytes());
        b[18..20].copy_from_slice(&(lay.scale_bits | light_raw).to_le_bytes());
        b[20..22].copy_from_slice(&temp_raw.to_le_bytes());
        b[22] = u8::from(self.sequence == 0); // "resume logging" event on the first block
        b[23] = 0; // battery unknown
        b[24] = lay.rate_code;
        b[25] = lay.axes << 4 | if self.opts.packed { 0 } else { 2 };
        b[26..28].copy_from_slice(&(tso as i16).to_le_bytes());
        b[28..30].copy_from_slice(&(self.in_block as u16).to_le_bytes());
        b[510..512].copy_from_slice(&[0, 0]);
        let sum = word_sum(b);
        b[510..512].copy_from_slice(&(!sum).wrapping_add(1).to_le_bytes());
        self.out.write_all(b)?;

        self.block = [0; BLOCK_LEN];
        self.block_first += self.in_block as u64;
        self.in_block = 0;
        self.sequence = self.sequence.wrapping_add(1);
        self.temp_sum = 0.0;
        self.temp_n = 0;
        self.light_sum = 0.0;
        self.light_n = 0;
        Ok(())
    }

    /// Writes the last (possibly partial) block, flushes, and returns the output.
    pub fn finish(mut self) -> Result<W, CwaWriteError> {
        if self.in_block > 0 {
            self.flush_block()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One packed sample: three 10-bit mantissas in 1/256 g sharing the smallest exponent that fits.
fn pack_sample(a: [f64; 3], clip: f64) -> u32 {
    let raw = a.map(|v| v.clamp(-clip, clip) * 256.0);
    let mut e = 0u32;
    while e < 3
        && raw.iter().any(|&v| {
            (v / f64::from(1u32 << e)).round() > 511.0
                || (v / f64::from(1u32 << e)).round() < -512.0
        })
    {
        e += 1;
    }
    let m = raw
        .map(|v| ((v / f64::from(1u32 << e)).round().clamp(-512.0, 511.0) as i32 as u32) & 0x3ff);
    m[0] | m[1] << 10 | m[2] << 20 | e << 30
}

/// Writes a whole recording with [`CwaWriter`]: accel, the gyro when `opts.with_gyro` (the
/// recording must have one), temperature and light where present (else "not recorded" and 0).
/// Sample times come from `opts.start` and `opts.sample_rate`; `rec.time` is not used.
pub fn write_recording<W: Write>(
    rec: &Recording,
    opts: CwaWriteOptions,
    out: W,
) -> Result<W, CwaWriteError> {
    let n = rec.accel.len();
    let len_ok = |l: usize| l == n;
    let bad = |what: &str| Err(CwaWriteError::InvalidOptions(what.to_string()));
    if !len_ok(rec.accel.y.len()) || !len_ok(rec.accel.z.len()) {
        return bad("accel axes differ in length");
    }
    let gyro = match (&rec.gyro, opts.with_gyro) {
        (Some(g), true) if len_ok(g.x.len()) && len_ok(g.y.len()) && len_ok(g.z.len()) => Some(g),
        (Some(_), true) => return bad("gyro and accel differ in length"),
        (None, true) => return bad("with_gyro is set but the recording has no gyro"),
        (_, false) => None,
    };
    let temp = rec.temperature.as_deref().filter(|t| len_ok(t.len()));
    let light = rec.light.as_deref().filter(|l| len_ok(l.len()));
    let mut w = CwaWriter::new(out, opts)?;
    for i in 0..n {
        w.push(
            [rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]],
            gyro.map(|g| [g.x[i], g.y[i], g.z[i]]),
            temp.map_or(f64::NAN, |t| t[i]),
            light.map_or(0.0, |l| l[i]),
        )?;
    }
    w.finish()
}
