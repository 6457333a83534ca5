//! Bounded zip inspection for header facts: local headers in a byte prefix, and the central
//! directory read from the end of a seekable file with a fixed byte budget.
//!
//! Full reads use the `zip` crate; these helpers exist because a catalog only has the first few
//! KB (a ranged GET) or may read at most a bounded amount of a file.

use std::io::{Read, Seek, SeekFrom};

use flate2::{Decompress, FlushDecompress, Status};

use crate::io::ReadError;

/// Zip local file header signature.
pub(crate) const LOCAL_SIG: [u8; 4] = *b"PK\x03\x04";
const CENTRAL_SIG: [u8; 4] = *b"PK\x01\x02";
const EOCD_SIG: [u8; 4] = *b"PK\x05\x06";
/// Most bytes read from the end of a file to find the central directory.
const TAIL_BUDGET: u64 = 64 * 1024 + 22;
/// Most central-directory bytes parsed.
const CENTRAL_BUDGET: u64 = 64 * 1024;

/// One entry as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// File name inside the archive.
    pub name: String,
    /// 0 stored, 8 deflated; others are not decoded here.
    pub method: u16,
    /// Compressed size (0 may mean "in a data descriptor" for local headers).
    pub compressed_size: u64,
    /// Uncompressed size.
    pub size: u64,
    /// Offset of the local header in the file.
    pub header_offset: u64,
    /// Offset of the entry data in the file (known for local headers).
    pub data_offset: Option<u64>,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Local headers found one after another from the start of `prefix`, as far as the prefix (and
/// known compressed sizes) allow.
pub(crate) fn local_entries(prefix: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while out.len() < 1024 && prefix.get(pos..pos + 4) == Some(&LOCAL_SIG[..]) {
        let (Some(flags), Some(method), Some(csize), Some(usize_), Some(nlen), Some(xlen)) = (
            u16_at(prefix, pos + 6),
            u16_at(prefix, pos + 8),
            u32_at(prefix, pos + 18),
            u32_at(prefix, pos + 22),
            u16_at(prefix, pos + 26),
            u16_at(prefix, pos + 28),
        ) else {
            break;
        };
        let name_start = pos + 30;
        let Some(name) = prefix.get(name_start..name_start + usize::from(nlen)) else {
            break;
        };
        let data = name_start + usize::from(nlen) + usize::from(xlen);
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            compressed_size: u64::from(csize),
            size: u64::from(usize_),
            header_offset: pos as u64,
            data_offset: Some(data as u64),
        });
        // With a data descriptor (flag bit 3) the size is unknown here: stop walking.
        if flags & 0x08 != 0 && csize == 0 {
            break;
        }
        let Some(next) = data.checked_add(csize as usize) else {
            break;
        };
        pos = next;
    }
    out
}

/// Decodes up to `max_out` bytes of an entry's data from `raw` (its stored or deflated bytes,
/// possibly cut short). `None` for other compression methods or corrupt deflate data.
pub(crate) fn decode_prefix(method: u16, raw: &[u8], max_out: usize) -> Option<Vec<u8>> {
    match method {
        0 => Some(raw[..raw.len().min(max_out)].to_vec()),
        8 => {
            let mut d = Decompress::new(false);
            let mut out = Vec::with_capacity(max_out.min(1 << 20));
            let mut input = raw;
            while out.len() < max_out {
                let before_in = d.total_in();
                let before_out = out.len();
                out.reserve((max_out - out.len()).min(64 * 1024));
                let status = d
                    .decompress_vec(input, &mut out, FlushDecompress::None)
                    .ok()?;
                let used = (d.total_in() - before_in) as usize;
                input = &input[used.min(input.len())..];
                if status == Status::StreamEnd || (used == 0 && out.len() == before_out) {
                    break;
                }
            }
            out.truncate(max_out);
            Some(out)
        }
        _ => None,
    }
}

/// The entry data of a local-header `entry` visible in `prefix`, decoded, at most `max_out`
/// bytes.
pub(crate) fn entry_prefix(prefix: &[u8], entry: &Entry, max_out: usize) -> Option<Vec<u8>> {
    let start = usize::try_from(entry.data_offset?).ok()?;
    let avail = prefix.get(start..)?;
    let raw = if entry.compressed_size > 0 {
        &avail[..avail.len().min(entry.compressed_size as usize)]
    } else {
        avail
    };
    decode_prefix(entry.method, raw, max_out)
}

/// Reads the central directory of a seekable zip, reading at most ~64 KB from the end plus the
/// directory itself (at most 64 KB).
pub(crate) fn central_entries<R: Read + Seek>(r: &mut R) -> Result<Vec<Entry>, ReadError> {
    let size = r.seek(SeekFrom::End(0))?;
    let tail_len = size.min(TAIL_BUDGET);
    r.seek(SeekFrom::Start(size - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == EOCD_SIG)
        .ok_or_else(|| ReadError::Corrupt {
            offset: size,
            what: "zip end-of-central-directory record not found".to_string(),
        })?;
    let eocd_offset = size - tail_len + eocd as u64;
    let bad = |what: &str| ReadError::Corrupt {
        offset: eocd_offset,
        what: what.to_string(),
    };
    let count = u16_at(&tail, eocd + 10).ok_or_else(|| bad("short EOCD"))?;
    let cd_size = u64::from(u32_at(&tail, eocd + 12).ok_or_else(|| bad("short EOCD"))?);
    let cd_offset = u64::from(u32_at(&tail, eocd + 16).ok_or_else(|| bad("short EOCD"))?);
    if cd_offset
        .checked_add(cd_size)
        .is_none_or(|e| e > eocd_offset)
    {
        return Err(bad("central directory lies outside the file"));
    }
    if cd_size > CENTRAL_BUDGET {
        return Err(ReadError::Unsupported(format!(
            "zip central directory of {cd_size} bytes is larger than the {CENTRAL_BUDGET} bytes read for header facts"
        )));
    }
    r.seek(SeekFrom::Start(cd_offset))?;
    let mut cd = vec![0u8; cd_size as usize];
    r.read_exact(&mut cd)?;
    let mut out = Vec::new();
    let mut pos = 0usize;
    for _ in 0..count {
        if cd.get(pos..pos + 4) != Some(&CENTRAL_SIG[..]) {
            return Err(ReadError::Corrupt {
                offset: cd_offset + pos as u64,
                what: "bad zip central directory entry signature".to_string(),
            });
        }
        let field = |o: usize| {
            u32_at(&cd, pos + o).ok_or(ReadError::Truncated {
                offset: cd_offset + pos as u64,
                what: "zip central directory entry".to_string(),
            })
        };
        let method = (field(10)? & 0xFFFF) as u16;
        let csize = field(20)?;
        let usize_ = field(24)?;
        let nlen = (field(28)? & 0xFFFF) as usize;
        let xlen = (field(30)? & 0xFFFF) as usize;
        let clen = (field(32)? & 0xFFFF) as usize;
        let header_offset = field(42)?;
        let name = cd
            .get(pos + 46..pos + 46 + nlen)
            .ok_or(ReadError::Truncated {
                offset: cd_offset + pos as u64,
                what: "zip central directory file name".to_string(),
            })?;
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            compressed_size: u64::from(csize),
            size: u64::from(usize_),
            header_offset: u64::from(header_offset),
            data_offset: None,
        });
        pos += 46 + nlen + xlen + clen;
    }
    Ok(out)
}

/// Reads and decodes at most `max_out` bytes of `entry`'s data (reading at most `max_out`
/// compressed bytes plus the local header).
pub(crate) fn read_entry_prefix<R: Read + Seek>(
    r: &mut R,
    entry: &Entry,
    max_out: usize,
) -> Result<Vec<u8>, ReadError> {
    r.seek(SeekFrom::Start(entry.header_offset))?;
    let mut local = [0u8; 30];
    r.read_exact(&mut local)?;
    if local[..4] != LOCAL_SIG {
        return Err(ReadError::Corrupt {
            offset: entry.header_offset,
            what: format!("zip entry '{}' has no local header", entry.name),
        });
    }
    let nlen = u64::from(u16_at(&local, 26).unwrap_or(0));
    let xlen = u64::from(u16_at(&local, 28).unwrap_or(0));
    r.seek(SeekFrom::Current((nlen + xlen) as i64))?;
    let budget = entry.compressed_size.min(max_out as u64);
    let mut raw = Vec::with_capacity(budget as usize);
    r.take(budget).read_to_end(&mut raw)?;
    decode_prefix(entry.method, &raw, max_out).ok_or_else(|| {
        ReadError::Unsupported(format!(
            "zip entry '{}' uses compression method {} (only stored and deflate are read)",
            entry.name, entry.method
        ))
    })
}
