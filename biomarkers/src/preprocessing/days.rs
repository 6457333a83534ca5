//! Local calendar day windows (SKDH `GetDayWindowIndices`) and the local-time helpers the result
//! tables use for dates and timestamps.
//!
//! Times are unix seconds. With a time zone (IANA name) days follow that zone's wall clock, so a
//! day can be 23 or 25 hours long; without one the timestamps are read as naive local time (UTC
//! wall clock), as SKDH does when no `tz_name` is given.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

/// Why day windows cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DayError {
    /// Unknown IANA time zone name.
    #[error("unknown time zone '{0}'")]
    TimeZone(String),
    /// Base hour outside 0..=23 or period outside 1..=24.
    #[error(
        "day window base must be in [0, 23] and period in [1, 24] (got base {base}, period {period})"
    )]
    Window {
        /// Base hour.
        base: i64,
        /// Period, hours.
        period: i64,
    },
    /// A timestamp is outside the representable range, or not finite.
    #[error("timestamp {0} is not a valid time")]
    Time(f64),
    /// No samples, or a non-positive sampling rate.
    #[error("no samples or invalid sampling rate")]
    Empty,
}

/// The wall clock used to read timestamps: a time zone, or naive local time (UTC rules).
#[derive(Debug, Clone)]
pub struct LocalClock {
    tz: TimeZone,
}

impl Default for LocalClock {
    fn default() -> Self {
        Self::naive()
    }
}

impl LocalClock {
    /// Naive local timestamps (the wall clock equals the UTC reading of the timestamp).
    pub fn naive() -> Self {
        Self { tz: TimeZone::UTC }
    }

    /// The clock of an IANA time zone (e.g. `"Europe/London"`), or naive when `None`.
    pub fn new(tz_name: Option<&str>) -> Result<Self, DayError> {
        match tz_name {
            None => Ok(Self::naive()),
            Some(n) => TimeZone::get(n)
                .map(|tz| Self { tz })
                .map_err(|_| DayError::TimeZone(n.to_string())),
        }
    }

    /// The zoned date-time of a unix time (seconds), with pandas' float-to-nanosecond rounding.
    pub fn zoned(&self, t: f64) -> Result<Zoned, DayError> {
        if !t.is_finite() {
            return Err(DayError::Time(t));
        }
        let whole = t.trunc();
        let frac = ((t - whole) * 1e9).round();
        let ns = (whole as i128) * 1_000_000_000 + frac as i128;
        Timestamp::from_nanosecond(ns)
            .map(|ts| ts.to_zoned(self.tz.clone()))
            .map_err(|_| DayError::Time(t))
    }

    /// `YYYY-mm-dd HH:MM:SS` of `t` rounded to the nearest minute (ties to even), as SKDH's
    /// activity table writes day starts and ends.
    pub fn minute_string(&self, t: f64) -> Result<String, DayError> {
        let z = self.round_minute(t)?;
        Ok(z.strftime("%Y-%m-%d %H:%M:%S").to_string())
    }

    /// `t` rounded to the nearest minute of the wall clock (ties to even).
    pub fn round_minute(&self, t: f64) -> Result<Zoned, DayError> {
        let z = self.zoned(t)?;
        let wall_ns =
            z.timestamp().as_nanosecond() + i128::from(z.offset().seconds()) * 1_000_000_000;
        let m = 60_000_000_000i128;
        let q = wall_ns.div_euclid(m);
        let r = wall_ns.rem_euclid(m);
        let q = if r * 2 > m || (r * 2 == m && q % 2 != 0) {
            q + 1
        } else {
            q
        };
        let shift = q * m - wall_ns;
        let ts = Timestamp::from_nanosecond(z.timestamp().as_nanosecond() + shift)
            .map_err(|_| DayError::Time(t))?;
        Ok(ts.to_zoned(self.tz.clone()))
    }

    /// `YYYY-mm-dd HH:MM:SS.ffffff` of `t` (microseconds truncated), as SKDH's sleep table writes.
    pub fn micro_string(&self, t: f64) -> Result<String, DayError> {
        let z = self.zoned(t)?;
        Ok(format!(
            "{}.{:06}",
            z.strftime("%Y-%m-%d %H:%M:%S"),
            z.subsec_nanosecond() / 1000
        ))
    }
}

fn finalize_guess(time: &[f64], fs: f64, guess: i64, target: f64) -> usize {
    // SKDH walks from a guess towards the sample nearest the target (ties keep the current
    // index); the walk is reproduced step by step because tie-breaking depends on it.
    let n = time.len() as i64;
    let mut guess = guess;
    for _ in 0..(4 * n + 64) {
        let mut i1 = (guess - 1).max(0);
        let mut i2 = guess;
        let i3 = (guess + 1).min(n - 1);
        if i2 <= 0 {
            return 0;
        }
        if i2 >= n - 1 {
            if time[(n - 1) as usize] > target {
                i2 = i3 - 1;
                i1 = i3 - 2;
            } else {
                return (n - 1) as usize;
            }
        }
        let (t1, t2, t3) = (
            time[i1.max(0) as usize],
            time[i2 as usize],
            time[i3 as usize],
        );
        let check1 = (t2 - target).abs() <= (t1 - target).abs();
        let check3 = (t2 - target).abs() <= (t3 - target).abs();
        if check1 && check3 {
            return i2 as usize;
        } else if !check1 {
            let jump = if (t2 - target) > 5.0 {
                ((target - t1) * fs) as i64
            } else {
                0
            };
            guess = guess - 1 + jump;
        } else {
            let jump = if (target - t2) > 5.0 {
                ((target - t3) * fs) as i64
            } else {
                0
            };
            guess = guess + 1 + jump;
        }
    }
    // not reached for increasing times; fall back to the nearest sample
    time.partition_point(|&t| t < target).min(time.len() - 1)
}

/// `[start, stop)` sample indices of every local day window `[base, base + period)` hours that
/// starts before the last sample, as SKDH's `GetDayWindowIndices` computes them: each bound is
/// the sample nearest the bound's time, clipped to the recording (so the last window ends at the
/// last sample, `n - 1`).
pub fn day_windows(
    time: &[f64],
    fs: f64,
    base: i64,
    period: i64,
    clock: &LocalClock,
) -> Result<Vec<(usize, usize)>, DayError> {
    if !(0..=23).contains(&base) || !(1..=24).contains(&period) {
        return Err(DayError::Window { base, period });
    }
    if time.is_empty() || fs.is_nan() || fs <= 0.0 {
        return Err(DayError::Empty);
    }
    let t_last = time[time.len() - 1];
    let dt0 = clock.zoned(time[0])?;
    let end_hour = (base + period) % 24;
    let at_hour = |h: i64| -> Result<Zoned, DayError> {
        dt0.with()
            .hour(h as i8)
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .map_err(|_| DayError::Time(time[0]))
    };
    let add_days = |z: &Zoned, d: i64| -> Result<Zoned, DayError> {
        z.checked_add(d.days()).map_err(|_| DayError::Time(time[0]))
    };
    let mut start = at_hour(base)?;
    let mut end = at_hour(end_hour)?;
    if end > start {
        end = add_days(&end, -1)?;
    }
    start = add_days(&start, -1)?;
    while end <= dt0 {
        start = add_days(&start, 1)?;
        end = add_days(&end, 1)?;
    }
    let secs = |z: &Zoned| z.timestamp().as_nanosecond() as f64 / 1e9;
    let samples_per_day = (86400.0 * fs) as i64;
    let mut guess_start = ((secs(&start) - time[0]) * fs) as i64;
    let mut guess_end = ((secs(&end) - time[0]) * fs) as i64;
    let mut windows = Vec::new();
    // a recording of N days has about N windows; the bound keeps a bad time axis from looping
    let max_windows = ((t_last - time[0]) / 3600.0).max(0.0) as usize + 3;
    while secs(&start) < t_last && windows.len() < max_windows {
        windows.push((
            finalize_guess(time, fs, guess_start, secs(&start)),
            finalize_guess(time, fs, guess_end, secs(&end)),
        ));
        guess_start += samples_per_day;
        guess_end += samples_per_day;
        start = add_days(&start, 1)?;
        end = add_days(&end, 1)?;
    }
    Ok(windows)
}

/// Weekday name in English (`Monday`...).
pub fn weekday_name(z: &Zoned) -> &'static str {
    use jiff::civil::Weekday::*;
    match z.weekday() {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autumn_change_gives_a_25_hour_day() {
        // 2023-10-28 12:00 UTC (13:00 BST) for 48 h at 1 Hz; London leaves BST at 01:00 UTC
        // on 10-29, so local 10-29 lasts 25 h; New York's own change is a week later
        let t0 = 1698494400.0;
        let time: Vec<f64> = (0..48 * 3600).map(|i| t0 + f64::from(i)).collect();
        let london = LocalClock::new(Some("Europe/London")).unwrap();
        let w = day_windows(&time, 1.0, 0, 24, &london).unwrap();
        assert_eq!(w.len(), 3);
        // 13:00 BST to midnight: 11 h
        assert_eq!(w[0], (0, 11 * 3600));
        assert_eq!(w[1], (11 * 3600, 36 * 3600));
        assert_eq!(
            london.minute_string(time[w[1].1]).unwrap(),
            "2023-10-30 00:00:00"
        );
        let w12 = day_windows(&time, 1.0, 12, 24, &london).unwrap();
        // noon 10-28 BST (11:00 UTC) is before the first sample: the first window starts at it
        assert_eq!(w12[0].0, 0);
        assert_eq!(w12[0].1, 24 * 3600);
        assert_eq!(w12[1].1 - w12[1].0, 24 * 3600 - 1);
        let ny = LocalClock::new(Some("America/New_York")).unwrap();
        let w = day_windows(&time, 1.0, 0, 24, &ny).unwrap();
        assert!(
            w[1..w.len() - 1].iter().all(|w| w.1 - w.0 == 24 * 3600),
            "{w:?}"
        );
    }

    #[test]
    fn naive_days_split_at_midnight() {
        // 2021-05-10 22:00 UTC, 1 Hz, 30 hours
        let t0 = 1620684000.0;
        let time: Vec<f64> = (0..30 * 3600).map(|i| t0 + f64::from(i)).collect();
        let w = day_windows(&time, 1.0, 0, 24, &LocalClock::naive()).unwrap();
        assert_eq!(w, vec![(0, 7200), (7200, 93600), (93600, time.len() - 1)]);
        let w = day_windows(&time, 1.0, 12, 24, &LocalClock::naive()).unwrap();
        assert_eq!(w, vec![(0, 14 * 3600), (14 * 3600, time.len() - 1)]);
        assert!(day_windows(&time, 1.0, 24, 24, &LocalClock::naive()).is_err());
    }

    #[test]
    fn zoned_days_follow_daylight_saving() {
        // 2023-03-25 12:00 UTC for 48 h at 1 Hz; London moves to BST at 01:00 UTC on 03-26
        let t0 = 1679745600.0;
        let time: Vec<f64> = (0..48 * 3600).map(|i| t0 + f64::from(i)).collect();
        let clock = LocalClock::new(Some("Europe/London")).unwrap();
        let w = day_windows(&time, 1.0, 0, 24, &clock).unwrap();
        assert_eq!(w[1].1 - w[1].0, 23 * 3600);
        // the noon-to-noon window containing the change (the first) is 23 h too, the next 24 h
        let w12 = day_windows(&time, 1.0, 12, 24, &clock).unwrap();
        assert_eq!(w12[0], (0, 23 * 3600));
        assert_eq!(w12[1].1 - w12[1].0, 24 * 3600);
        // [6, 18) h local: the first clipped at the first sample, the next starting at 06:00
        // BST (05:00 UTC, 17 h after the start), the last clipped at the end
        let w6 = day_windows(&time, 1.0, 6, 12, &clock).unwrap();
        assert_eq!(
            w6,
            vec![
                (0, 6 * 3600),
                (17 * 3600, 29 * 3600),
                (41 * 3600, 48 * 3600 - 1)
            ]
        );
        assert!(LocalClock::new(Some("Not/AZone")).is_err());
        assert_eq!(
            clock.minute_string(t0 + 29.9).unwrap(),
            "2023-03-25 12:00:00"
        );
        assert_eq!(
            clock.micro_string(t0 + 0.25).unwrap(),
            "2023-03-25 12:00:00.250000"
        );
    }
}
