//! Bounded line reading and civil-time helpers shared by the text-based readers (GENEActiv, CSV).

use std::io::BufRead;

use super::ReadError;

/// One line handed out by [`LineReader::next_line`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineInfo {
    /// Byte offset of the first byte of the line in the stream.
    pub offset: u64,
    /// 1-based line number.
    pub number: u64,
    /// False when the stream ended before a newline (possibly a truncated line).
    pub terminated: bool,
}

/// Reads `\n`-terminated lines (a trailing `\r` is dropped) while tracking byte offsets, and
/// refuses lines longer than `max_len`, so a file without newlines cannot grow memory unbounded.
pub(crate) struct LineReader<R> {
    inner: R,
    offset: u64,
    number: u64,
    max_len: usize,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R, max_len: usize) -> Self {
        Self {
            inner,
            offset: 0,
            number: 0,
            max_len,
        }
    }

    /// Byte offset of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next line into `buf` (cleared first). `Ok(None)` at the end of the stream.
    pub(crate) fn next_line(&mut self, buf: &mut Vec<u8>) -> Result<Option<LineInfo>, ReadError> {
        buf.clear();
        let start = self.offset;
        let mut terminated = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Io(e)),
            };
            if chunk.is_empty() {
                break;
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let body = if done {
                &chunk[..take - 1]
            } else {
                &chunk[..take]
            };
            if buf.len() + body.len() > self.max_len {
                return Err(ReadError::Corrupt {
                    offset: start,
                    what: format!(
                        "line {} is longer than {} bytes",
                        self.number + 1,
                        self.max_len
                    ),
                });
            }
            buf.extend_from_slice(body);
            self.inner.consume(take);
            self.offset += take as u64;
            if done {
                terminated = true;
                break;
            }
        }
        if !terminated && buf.is_empty() {
            return Ok(None);
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        self.number += 1;
        Ok(Some(LineInfo {
            offset: start,
            number: self.number,
            terminated,
        }))
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let d = i64::from(d);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of a civil date-time read as UTC; `None` when a field is out of range.
pub(crate) fn civil_to_unix(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: f64) -> Option<f64> {
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || !(0.0..61.0).contains(&s)
        || !(1..=9999).contains(&y)
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(days as f64 * 86_400.0 + f64::from(h) * 3600.0 + f64::from(mi) * 60.0 + s)
}

/// Parses the leading decimal number of `s` (after trimming), e.g. `"85.7 Hz"` -> 85.7.
pub(crate) fn leading_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_unix_times() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            civil_to_unix(2019, 5, 21, 16, 16, 43.5),
            Some(1_558_455_403.5)
        );
        assert_eq!(civil_to_unix(2000, 2, 29, 0, 0, 0.0), Some(951_782_400.0));
        assert_eq!(civil_to_unix(2019, 13, 1, 0, 0, 0.0), None);
    }

    #[test]
    fn lines_track_offsets_and_refuse_overlong_lines() {
        let data = b"ab\r\ncd\nef";
        let mut r = LineReader::new(&data[..], 16);
        let mut buf = Vec::new();
        let l1 = r.next_line(&mut buf).unwrap().unwrap();
        assert_eq!(
            (buf.as_slice(), l1.offset, l1.terminated),
            (&b"ab"[..], 0, true)
        );
        let l2 = r.next_line(&mut buf).unwrap().unwrap();
        assert_eq!((buf.as_slice(), l2.offset), (&b"cd"[..], 4));
        let l3 = r.next_line(&mut buf).unwrap().unwrap();
        assert_eq!(
            (buf.as_slice(), l3.terminated, l3.number),
            (&b"ef"[..], false, 3)
        );
        assert!(r.next_line(&mut buf).unwrap().is_none());
        let mut r = LineReader::new(&b"0123456789abcdef0\n"[..], 16);
        assert!(matches!(
            r.next_line(&mut buf),
            Err(ReadError::Corrupt { offset: 0, .. })
        ));
    }

    #[test]
    fn leading_numbers() {
        assert_eq!(leading_number(" 85.7 Hz"), Some(85.7));
        assert_eq!(leading_number("-8 to 8"), Some(-8.0));
        assert_eq!(leading_number("Hz"), None);
    }
}
