//! The 1024-byte file header, and header facts from a byte prefix.

use super::block::{BlockMeta, capacity, parse_block};
use super::{BLOCK_LEN, HEADER_LEN, le16, le32, range_g, rate_hz};
use crate::io::{Format, HeaderFacts, ReadError};

/// Magic of the file header, `"MD"` read as a little-endian u16.
pub(crate) const HEADER_MAGIC: u16 = 0x444d;

/// Everything the 1024-byte CWA header states (see the module docs for the layout).
#[derive(Debug, Clone, PartialEq)]
pub struct CwaHeader {
    /// Hardware type byte: 0x00, 0x17 or 0xff for an AX3, 0x64 for an AX6.
    pub hardware_type: u8,
    /// Device serial number (lower and upper 16-bit words combined).
    pub device_id: u32,
    /// Session identifier set when the device was configured.
    pub session_id: u32,
    /// Sensor configuration byte: 0x00/0xff accel only, else low nibble gyro range code
    /// (`8000/2^n` dps) and a non-zero high nibble for the magnetometer.
    pub sensor_config: u8,
    /// Sample-rate code byte as configured.
    pub rate_code: u8,
    /// Configured sampling rate, Hz.
    pub sample_rate: f64,
    /// Configured accelerometer range, +/- g.
    pub accel_range_g: f64,
    /// Configured gyro range, +/- deg/s, when the gyro is enabled.
    pub gyro_range_dps: Option<f64>,
    /// Axes the configuration records: 3 (accel), 6 (+gyro) or 9 (+magnetometer).
    pub axes: u8,
    /// Firmware revision number.
    pub firmware: u8,
    /// The metadata text (bytes 64..512: url-encoded name=value pairs by convention), with
    /// trailing spaces, NULs and 0xff bytes removed; invalid UTF-8 is replaced.
    pub annotation: String,
    /// The device-specific metadata text (bytes 512..1024), trimmed the same way.
    pub device_metadata: String,
}

fn trimmed_text(b: &[u8]) -> String {
    let end = b
        .iter()
        .rposition(|&c| !matches!(c, 0x00 | 0x20 | 0xff))
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl CwaHeader {
    /// Parses the first 1024 bytes of a file. Errors name the byte offset: a short prefix is
    /// [`ReadError::Truncated`], a wrong magic [`ReadError::Corrupt`] at offset 0.
    pub fn parse(prefix: &[u8]) -> Result<Self, ReadError> {
        if prefix.is_empty() {
            return Err(ReadError::Truncated {
                offset: 0,
                what: "empty file: expected a 1024-byte CWA header".into(),
            });
        }
        // Check as much of the magic as is present, so a short non-CWA prefix says so.
        if prefix[0] != b'M' || (prefix.len() >= 2 && le16(prefix, 0) != HEADER_MAGIC) {
            return Err(ReadError::Corrupt {
                offset: 0,
                what: "not a CWA file: header magic is not \"MD\"".into(),
            });
        }
        if prefix.len() < HEADER_LEN {
            return Err(ReadError::Truncated {
                offset: prefix.len() as u64,
                what: format!(
                    "CWA header is {HEADER_LEN} bytes, only {} present",
                    prefix.len()
                ),
            });
        }
        let h = &prefix[..HEADER_LEN];
        let upper = le16(h, 11);
        let device_id =
            u32::from(le16(h, 5)) | u32::from(if upper == 0xffff { 0 } else { upper }) << 16;
        let sensor_config = h[35];
        let (axes, gyro_range_dps) = if sensor_config == 0 || sensor_config == 0xff {
            (3, None)
        } else {
            let code = u32::from(sensor_config & 0x0f);
            let axes = if sensor_config >> 4 != 0 { 9 } else { 6 };
            (axes, (code != 0).then(|| 8000.0 / f64::from(1u32 << code)))
        };
        let rate_code = h[36];
        Ok(Self {
            hardware_type: h[4],
            device_id,
            session_id: le32(h, 7),
            sensor_config,
            rate_code,
            sample_rate: rate_hz(rate_code),
            accel_range_g: range_g(rate_code),
            gyro_range_dps,
            axes,
            firmware: h[41],
            annotation: trimmed_text(&h[64..512]),
            device_metadata: trimmed_text(&h[512..1024]),
        })
    }

    /// Device model from the recorded axes (9: AX9, 6: AX6) and, for 3 axes, the hardware type.
    pub fn device_name(&self, axes: u8) -> &'static str {
        match axes {
            9 => "Axivity AX9",
            6 => "Axivity AX6",
            _ if self.hardware_type == 0x64 => "Axivity AX6",
            _ => "Axivity AX3",
        }
    }

    /// Header facts. `first` is the first trusted data block and `start` its start time (unix s);
    /// with `file_size`, `end` is estimated as the time of the last sample if every block after
    /// the first trusted one were full (`end_is_estimate = true`).
    pub(crate) fn facts(
        &self,
        first: Option<(&BlockMeta, u64, f64)>,
        file_size: Option<u64>,
    ) -> HeaderFacts {
        let axes = first.map_or(self.axes, |(m, _, _)| m.axes);
        let fs = first.map_or(self.sample_rate, |(m, _, _)| m.fs);
        let mut channels = vec!["accel".to_string()];
        if axes >= 6 {
            channels.push("gyro".into());
        }
        if axes >= 9 {
            channels.push("magnetometer".into());
        }
        channels.push("temperature".into());
        channels.push("light".into());
        let end = match (first, file_size) {
            (Some((m, offset, start)), Some(size)) if size > offset => {
                let blocks = (size - offset) / BLOCK_LEN as u64;
                let samples = blocks * capacity(m.axes, m.packed) as u64;
                (samples > 0).then(|| start + (samples - 1) as f64 / m.fs)
            }
            _ => None,
        };
        HeaderFacts {
            format: Some(Format::Cwa),
            device: self.device_name(axes).to_string(),
            device_id: Some(self.device_id.to_string()),
            start: first.map(|(_, _, s)| s),
            end_is_estimate: end.is_some(),
            end,
            sample_rate: Some(fs),
            accel_range_g: Some(first.map_or(self.accel_range_g, |(m, _, _)| range_g(m.rate_code))),
            channels,
            file_size,
        }
    }
}

/// Header facts from a byte prefix of a CWA file: the 1024-byte header, plus any data blocks
/// present (the first trusted one gives the recorded layout and the start time, by the
/// fractional-second clock). `file_size` (bytes) lets `end` be estimated. Errors: an empty or
/// short prefix ([`ReadError::Truncated`]) or a wrong magic ([`ReadError::Corrupt`]), naming the
/// byte offset.
pub fn read_header(prefix: &[u8], file_size: Option<u64>) -> Result<HeaderFacts, ReadError> {
    if file_size == Some(0) {
        return Err(ReadError::Truncated {
            offset: 0,
            what: "empty file: expected a 1024-byte CWA header".into(),
        });
    }
    let avail = file_size.map_or(prefix.len(), |s| {
        prefix.len().min(s.try_into().unwrap_or(usize::MAX))
    });
    let header = CwaHeader::parse(&prefix[..avail])?;
    let first = prefix[HEADER_LEN..avail]
        .chunks_exact(BLOCK_LEN)
        .enumerate()
        .find_map(|(i, b)| {
            let b: &[u8; BLOCK_LEN] = b.try_into().ok()?;
            let m = parse_block(b).ok()?;
            Some((m, (HEADER_LEN + i * BLOCK_LEN) as u64))
        });
    Ok(header.facts(
        first.as_ref().map(|(m, off)| (m, *off, m.start_time(true))),
        file_size,
    ))
}
