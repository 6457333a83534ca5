//! One 512-byte data block: validation and the sample-decoding hot loop.

use super::{BLOCK_LEN, DATA_LEN, DATA_OFFSET, le16, le32, rate_hz, unpack_timestamp};
use crate::io::{Recording, Triaxial};

/// Magic of a data block, `"AX"` read as a little-endian u16.
pub(crate) const BLOCK_MAGIC: u16 = 0x5841;
/// `packetLength` of a data block (512 minus the 4-byte magic and length).
pub(crate) const BLOCK_PACKET_LEN: u16 = 508;

/// The self-description of a block that passed every check in [`parse_block`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockMeta {
    /// 3 (accel), 6 (gyro, accel) or 9 (gyro, accel, magnetometer).
    pub axes: u8,
    /// 10-bit packed (3 axes only) rather than 16-bit samples.
    pub packed: bool,
    /// Samples in this block (at most [`BlockMeta::capacity`]).
    pub count: usize,
    /// The sample-rate code byte (low nibble rate, top two bits range).
    pub rate_code: u8,
    /// Sampling frequency of the rate code, Hz.
    pub fs: f64,
    /// Whole-second block timestamp, unix seconds.
    pub unix: i64,
    /// 16-bit fraction of a second of the timestamp, when the firmware recorded one.
    pub frac16: Option<u32>,
    /// Index of the sample at which the whole-second timestamp was valid.
    pub tso: i16,
    /// `AAAGGGLLLLLLLLLL`: accel scale code, gyro scale code, 10-bit light.
    pub light_word: u16,
    /// Raw 10-bit temperature.
    pub temperature_raw: u16,
    /// Block sequence counter.
    pub sequence: u32,
}

/// Samples a block of this layout holds when full.
pub(crate) fn capacity(axes: u8, packed: bool) -> usize {
    if packed {
        DATA_LEN / 4
    } else {
        DATA_LEN / (2 * usize::from(axes))
    }
}

impl BlockMeta {
    /// Start of the block: unix seconds of sample 0 by the block's own timestamp.
    pub fn start_time(&self, fractional: bool) -> f64 {
        let mut t = self.unix as f64;
        let mut offset = f64::from(self.tso);
        if fractional && let Some(f) = self.frac16 {
            // The firmware moved `tso` by the whole samples the fraction spans at the integer
            // rate it models; undo that and add the true fraction instead.
            offset += f64::from((f * self.fs as u32) >> 16);
            t += f64::from(f) / 65536.0;
        }
        t - offset / self.fs
    }

    /// g per count of the accelerometer values.
    pub fn accel_scale(&self) -> f64 {
        1.0 / f64::from(1u32 << (8 + u32::from(self.light_word >> 13)))
    }

    /// Gyro full scale (deg/s for 32768 counts) coded in the block, if any.
    pub fn gyro_range_dps(&self) -> Option<f64> {
        let code = (self.light_word >> 10) & 0x07;
        (code != 0).then(|| 8000.0 / f64::from(1u32 << code))
    }

    /// The 10-bit light value.
    pub fn light(&self) -> f64 {
        f64::from(self.light_word & 0x03ff)
    }
}

/// Wrapping sum of the block's 256 little-endian 16-bit words (zero for an intact block).
#[inline]
pub(crate) fn word_sum(b: &[u8; BLOCK_LEN]) -> u16 {
    // A plain indexed loop over a fixed-size array: the compiler turns it into vector adds.
    let (words, _) = b.as_chunks::<2>();
    let mut sum = 0u16;
    for w in words {
        sum = sum.wrapping_add(u16::from_le_bytes(*w));
    }
    sum
}

/// Validates a block and reads its fields; `Err` says why the block cannot be trusted.
pub(crate) fn parse_block(b: &[u8; BLOCK_LEN]) -> Result<BlockMeta, String> {
    let magic = le16(b, 0);
    if magic != BLOCK_MAGIC {
        return Err(format!(
            "not a data block (magic 0x{magic:04x}, expected \"AX\")"
        ));
    }
    let len = le16(b, 2);
    if len != BLOCK_PACKET_LEN {
        return Err(format!(
            "bad packet length {len} (expected {BLOCK_PACKET_LEN})"
        ));
    }
    let sum = word_sum(b);
    if sum != 0 {
        return Err(format!(
            "checksum mismatch (16-bit word sum 0x{sum:04x}, expected 0)"
        ));
    }
    let rate_code = b[24];
    if rate_code == 0 {
        return Err("legacy block layout (rate code 0) is not supported".into());
    }
    let axes = b[25] >> 4;
    let packing = b[25] & 0x0f;
    let packed = match (axes, packing) {
        (3, 0) => true,
        (3 | 6 | 9, 2) => false,
        _ => return Err(format!("unsupported axes/packing byte 0x{:02x}", b[25])),
    };
    let count = usize::from(le16(b, 28));
    if count > capacity(axes, packed) {
        return Err(format!(
            "sample count {count} exceeds the block capacity {}",
            capacity(axes, packed)
        ));
    }
    let stamp = le32(b, 14);
    let unix = unpack_timestamp(stamp).ok_or_else(|| format!("invalid timestamp 0x{stamp:08x}"))?;
    let dev = le16(b, 4);
    Ok(BlockMeta {
        axes,
        packed,
        count,
        rate_code,
        fs: rate_hz(rate_code),
        unix,
        frac16: (dev & 0x8000 != 0).then(|| u32::from(dev & 0x7fff) << 1),
        tso: le16(b, 26) as i16,
        light_word: le16(b, 18),
        temperature_raw: le16(b, 20) & 0x03ff,
        sequence: le32(b, 10),
    })
}

/// One packed axis: the 10-bit two's-complement field at `shift`, scaled by the shared exponent
/// (the definition [`push_packed`] is checked against).
#[cfg(test)]
#[inline(always)]
fn unpack_axis(v: u32, shift: u32) -> i32 {
    (((v >> shift) << 22) as i32 >> 22) << (v >> 30)
}

/// Per-block values the caller computes (timing, scales, block-level channels).
pub(crate) struct BlockValues {
    /// First sample time, unix s.
    pub t0: f64,
    /// Spacing of the samples, s.
    pub dt: f64,
    /// Gyro deg/s per count.
    pub gyro_scale: f64,
    /// Temperature, deg C.
    pub temperature: f64,
}

/// Appends samples `from..to` (clamped to the block's count) of a block that passed
/// [`parse_block`] to `rec`, whose `gyro` must be `Some` for 6- and 9-axis layouts (else the
/// gyro values are dropped). `temperature` and `light` are filled where `rec` has them.
///
/// Each column is written straight into its output array by one loop over the block's samples
/// (exact-size iterators, so no per-value capacity checks and the loops vectorise).
pub(crate) fn append_samples(
    b: &[u8; BLOCK_LEN],
    m: &BlockMeta,
    v: &BlockValues,
    from: usize,
    to: usize,
    rec: &mut Recording,
) {
    // Never past the block's capacity: the sample slices below cannot go out of bounds.
    let to = to.min(m.count).min(capacity(m.axes, m.packed));
    let Some(data) = b[DATA_OFFSET..].first_chunk::<DATA_LEN>() else {
        return;
    };
    if from >= to {
        return;
    }
    let n = to - from;
    let (t0, dt) = (v.t0, v.dt);
    // Indices are below 120, so i32 is exact and converts to f64 in vector registers.
    let (i0, i1) = (from as i32, to as i32);
    rec.time.extend((i0..i1).map(|i| t0 + f64::from(i) * dt));
    let scale = m.accel_scale();
    match (m.packed, m.axes) {
        (true, _) => push_packed(&data.as_chunks::<4>().0[from..to], scale, &mut rec.accel),
        (false, 3) => push16::<6, 0>(&data.as_chunks::<6>().0[from..to], scale, &mut rec.accel),
        (false, 6) => {
            let s = &data.as_chunks::<12>().0[from..to];
            push16::<12, 6>(s, scale, &mut rec.accel);
            if let Some(g) = rec.gyro.as_mut() {
                push16::<12, 0>(s, v.gyro_scale, g);
            }
        }
        _ => {
            let s = &data.as_chunks::<18>().0[from..to];
            push16::<18, 6>(s, scale, &mut rec.accel);
            if let Some(g) = rec.gyro.as_mut() {
                push16::<18, 0>(s, v.gyro_scale, g);
            }
        }
    }
    if let Some(t) = rec.temperature.as_mut() {
        t.resize(t.len() + n, v.temperature);
    }
    if let Some(l) = rec.light.as_mut() {
        l.resize(l.len() + n, m.light());
    }
}

/// Packed samples: 10-bit two's-complement x, y, z sharing a 2-bit exponent `e`, value
/// `(m << e) * scale`. Computed as `m * (scale * 2^e)` with `2^e` built from its f64 bits:
/// exact (powers of two), and free of per-lane variable shifts, so it vectorises on baseline
/// x86-64.
#[inline(always)]
fn push_packed(words: &[[u8; 4]], scale: f64, dst: &mut Triaxial) {
    let factor = |v: u32| f64::from_bits((1023 + u64::from(v >> 30)) << 52) * scale;
    let axis = |shift: u32| {
        words.iter().map(move |w| {
            let v = u32::from_le_bytes(*w);
            f64::from(((v << (22 - shift)) as i32) >> 22) * factor(v)
        })
    };
    dst.x.extend(axis(0));
    dst.y.extend(axis(10));
    dst.z.extend(axis(20));
}

/// Unpacked samples of `STRIDE` bytes: three signed 16-bit axes from byte `AT`, times `scale`.
#[inline(always)]
fn push16<const STRIDE: usize, const AT: usize>(
    samples: &[[u8; STRIDE]],
    scale: f64,
    dst: &mut Triaxial,
) {
    let axis = |k: usize| {
        samples
            .iter()
            .map(move |s| f64::from(i16::from_le_bytes([s[AT + k], s[AT + k + 1]])) * scale)
    };
    dst.x.extend(axis(0));
    dst.y.extend(axis(2));
    dst.z.extend(axis(4));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_axis_sign_and_exponent() {
        // x = -1 (0x3ff), y = 511, z = -512, exponent 2.
        let v: u32 = 0x3ff | (511 << 10) | (0x200 << 20) | (2 << 30);
        assert_eq!(unpack_axis(v, 0), -4);
        assert_eq!(unpack_axis(v, 10), 511 * 4);
        assert_eq!(unpack_axis(v, 20), -512 * 4);
        assert_eq!(unpack_axis(5, 0), 5);
    }

    #[test]
    fn packed_decoding_matches_the_definition() {
        // Every exponent, both signs and the extremes of every axis, plus a pseudo-random sweep.
        let mut words: Vec<u32> = vec![0, 0x3ff, 0x200, 0x1ff, 0x3fff_ffff, 0x2008_0200];
        let mut x: u32 = 0x9e37_79b9;
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            words.push(x);
        }
        for e in 0..4u32 {
            words.push(0x3ff | (0x200 << 10) | (0x1ff << 20) | (e << 30));
        }
        let bytes: Vec<[u8; 4]> = words.iter().map(|w| w.to_le_bytes()).collect();
        for scale in [1.0 / 256.0, 1.0 / 2048.0] {
            let mut t = Triaxial::default();
            push_packed(&bytes, scale, &mut t);
            for (i, &w) in words.iter().enumerate() {
                assert_eq!(t.x[i], f64::from(unpack_axis(w, 0)) * scale, "x {w:#x}");
                assert_eq!(t.y[i], f64::from(unpack_axis(w, 10)) * scale, "y {w:#x}");
                assert_eq!(t.z[i], f64::from(unpack_axis(w, 20)) * scale, "z {w:#x}");
            }
        }
    }

    #[test]
    fn rejects_bad_blocks() {
        let mut b = [0u8; BLOCK_LEN];
        assert!(parse_block(&b).unwrap_err().contains("magic"));
        b[0] = 0x41;
        b[1] = 0x58;
        b[2..4].copy_from_slice(&508u16.to_le_bytes());
        assert!(parse_block(&b).unwrap_err().contains("checksum"));
    }
}
