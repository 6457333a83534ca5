//! Axivity CWA (`.cwa`) reader and writer (AX3, AX6, AX9).
//!
//! # Layout
//! A file is a 1024-byte header (`"MD"`) followed by 512-byte data blocks (`"AX"`), all
//! little-endian. Each block holds up to 480 bytes of samples: 120 packed 3-axis samples (10-bit
//! mantissas sharing a 2-bit exponent, 1/256 g), 80 unpacked 3-axis, 40 unpacked 6-axis
//! (gyro then accel) or 26 unpacked 9-axis (gyro, accel, magnetometer) 16-bit samples, plus one
//! temperature, light and battery reading and a timestamp. Every block carries a 16-bit checksum
//! word chosen so the wrapping sum of its 256 words is zero.
//!
//! # Trust
//! A block whose word sum is not zero, whose magic/length is wrong, whose layout is impossible,
//! whose timestamp is not a valid date, or whose channel layout or rate differs from the first good
//! block is never decoded: it is skipped and listed in [`Recording::issues`](crate::io::Recording::issues) with its byte offset.
//! "Block 0" in messages is the first data block (byte offset 1024).
//!
//! # Time
//! A block stores a whole-second RTC time `T`, the index `o` of the sample at which `T` was valid
//! (`timestampOffset`), and, on newer firmware, a 15-bit fraction of a second `f` (top bit of the
//! `deviceFractional` word). Block start and end are `t0 = T - o/fs` and `t1 = t0 + n/fs`; when a
//! block starts less than a second after the previous good block ended (overlaps included), its
//! start is moved onto that end, and the samples are spread evenly over `[t0, t1)`. This is what
//! Open Movement's `cwa-convert` and SKDH's `ReadCwa` do.
//!
//! [`CwaTime::Fractional`] (the default) also applies the fraction the format defines: `T += f`
//! and `o += floor(f * floor(fs))` (undoing the firmware's whole-sample shim). That is the more
//! precise clock, but differs from `cwa-convert`/SKDH by up to one sample period; choose
//! [`CwaTime::WholeSecond`] (or [`CwaReadOptions::skdh`]) to reproduce them.
//!
//! # Units
//! Time: unix seconds (UTC as the device clock states it). Acceleration: g, scaled by the block's
//! accelerometer scale `1/2^(8+n)` g (n from the top three bits of the light word; packed samples
//! use `n = 0`). Gyro: deg/s, full scale `8000/2^m` dps for 32768 counts (m from bits 10-12 of the
//! light word, else the header's sensor configuration, else 2000 dps). Light: the 10-bit raw
//! sensor value (device units; the sensor is only a relative indicator). Temperature: deg C, see
//! [`CwaTemperature`]. Magnetometer axes (AX9) are decoded for the checksum but not returned, as
//! [`Recording`](crate::io::Recording) has no field for them; battery is not returned either.
//!
//! # Temperature
//! The format defines `deg C = raw * 75 / 256 - 50` (a 3/1024 V ADC step, 0.5 V at 0 deg C,
//! 10 mV/deg C); that is [`CwaTemperature::Axivity`], the default, and a raw value of 0 ("not
//! recorded") reads as NaN. SKDH instead uses `(raw - 171) / 3.142`
//! ([`CwaTemperature::Skdh`]), for parity with SKDH outputs.
//!
//! # Memory and speed
//! [`read`] streams block by block through a fixed 128 KiB buffer; the only growing allocations
//! are the output arrays ([`read_file`] reserves them once, bounded by the file size). Each
//! block's samples are written straight into the output columns by fixed-layout loops.
//! [`CwaChunks`] yields recordings of at most N samples for bounded memory; its
//! [`CwaChunks::next_into`] refills one caller-owned recording, so after the first chunk it
//! allocates nothing and touches no fresh memory. That matters: a whole-file read's time is
//! dominated by the kernel faulting in its fresh output pages (48 bytes a sample), not by the
//! decoding. No allocation is sized from an unchecked header value.

mod block;
mod header;
mod read;
mod write;

pub use header::{CwaHeader, read_header};
pub use read::{CwaChunks, CwaReadOptions, CwaTemperature, CwaTime, read, read_file};
pub use write::{CwaWriteError, CwaWriteOptions, CwaWriter, write_recording};

/// Bytes in the file header.
pub(crate) const HEADER_LEN: usize = 1024;
/// Bytes in one data block.
pub(crate) const BLOCK_LEN: usize = 512;
/// Byte offset of the sample data inside a block.
pub(crate) const DATA_OFFSET: usize = 30;
/// Bytes of sample data in a block.
pub(crate) const DATA_LEN: usize = 480;

/// Sampling frequency (Hz) of a rate code: `3200 / 2^(15 - (code & 15))`.
pub(crate) fn rate_hz(code: u8) -> f64 {
    3200.0 / f64::from(1u32 << (15 - u32::from(code & 0x0f)))
}

/// Accelerometer range (+/- g) of a rate code: `16 >> (code >> 6)`.
pub(crate) fn range_g(code: u8) -> f64 {
    f64::from(16u8 >> (code >> 6))
}

/// Little-endian u16 at `at` (callers index inside fixed-size arrays).
#[inline]
pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Little-endian u32 at `at`.
#[inline]
pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds of a packed CWA timestamp (`YYYYYYMM MMDDDDDh hhhhmmmm mmssssss`, year since
/// 2000), or `None` when the fields are not a valid date and time.
pub(crate) fn unpack_timestamp(v: u32) -> Option<i64> {
    let year = 2000 + i64::from((v >> 26) & 0x3f);
    let month = (v >> 22) & 0x0f;
    let day = (v >> 17) & 0x1f;
    let hour = i64::from((v >> 12) & 0x1f);
    let min = i64::from((v >> 6) & 0x3f);
    let sec = i64::from(v & 0x3f);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
}

/// The packed CWA timestamp of whole unix seconds, or `None` outside 2000..=2063.
pub(crate) fn pack_timestamp(unix: i64) -> Option<u32> {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(2000..=2063).contains(&y) {
        return None;
    }
    let (h, mi, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    Some(
        ((y - 2000) as u32) << 26
            | m << 22
            | d << 17
            | (h as u32) << 12
            | (mi as u32) << 6
            | s as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trip_and_validation() {
        // 2024-01-01T00:00:00Z
        let t = 1_704_067_200;
        let p = pack_timestamp(t).expect("in range");
        assert_eq!(unpack_timestamp(p), Some(t));
        for t in [946_684_800_i64, 951_782_400, 1_332_846_898, 2_966_371_199] {
            assert_eq!(pack_timestamp(t).and_then(unpack_timestamp), Some(t), "{t}");
        }
        assert_eq!(pack_timestamp(946_684_799), None);
        assert_eq!(pack_timestamp(2_966_371_200), None);
        assert_eq!(unpack_timestamp(0), None);
        // 2023-02-29 does not exist.
        assert_eq!(unpack_timestamp(23 << 26 | 2 << 22 | 29 << 17), None);
        assert_eq!(rate_hz(0x4a), 100.0);
        assert_eq!(rate_hz(0x07), 12.5);
        assert_eq!(range_g(0x4a), 8.0);
        assert_eq!(range_g(0x0a), 16.0);
    }
}
