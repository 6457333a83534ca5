//! Time sources. The interpreter reads the time and waits only through a [`Clock`], so tests can
//! run hours of `Wait` states and retry back-off in milliseconds with a [`ScaledClock`].

use jiff::Timestamp;
use std::time::{Duration, Instant};

/// Where the interpreter gets the time from and how it lets time pass.
pub trait Clock: Send + Sync {
    /// The current time on this clock.
    fn now(&self) -> Timestamp;

    /// Lets `d` of this clock's time pass (blocking the calling thread).
    fn sleep(&self, d: Duration);

    /// The real (wall) time it takes for this clock to advance by `d`. The interpreter uses it to
    /// wait on a condition variable, so that waits can be cut short when an execution is aborted
    /// or times out. Return `None` for clocks that only advance inside [`Clock::sleep`] (for
    /// example a manual test clock): the interpreter then calls `sleep` for Wait states and
    /// retry back-off (such waits cannot be interrupted), and task handler calls take no clock
    /// time, so task and execution timeouts never fire while a handler runs.
    fn real_duration(&self, d: Duration) -> Option<Duration> {
        Some(d)
    }
}

/// Real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Virtual time that runs `factor` times faster than real time, starting at the moment of
/// creation (or at a chosen instant). At a factor of 1e6, a 6 h `Wait` takes about 21.6 ms.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    origin_real: Instant,
    origin_virtual_ns: i128,
    factor: f64,
}

impl ScaledClock {
    /// A clock starting at the current real time and running `factor` times faster. A factor
    /// that is not a positive finite number is taken as 1.
    pub fn new(factor: f64) -> Self {
        Self::starting_at(Timestamp::now(), factor)
    }

    /// A clock whose time is `start` now and then runs `factor` times faster than real time.
    pub fn starting_at(start: Timestamp, factor: f64) -> Self {
        let factor = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            1.0
        };
        ScaledClock {
            origin_real: Instant::now(),
            origin_virtual_ns: start.as_nanosecond(),
            factor,
        }
    }

    /// How many times faster than real time this clock runs.
    pub fn factor(&self) -> f64 {
        self.factor
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let real_ns = self.origin_real.elapsed().as_nanos() as f64;
        let virt = self.origin_virtual_ns + (real_ns * self.factor) as i128;
        Timestamp::from_nanosecond(virt).unwrap_or(Timestamp::MAX)
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(scale_down(d, self.factor));
    }

    fn real_duration(&self, d: Duration) -> Option<Duration> {
        Some(scale_down(d, self.factor))
    }
}

/// `d / factor`, saturating instead of panicking for extreme factors.
fn scale_down(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() / factor).unwrap_or(Duration::MAX)
}

/// A time as Step Functions writes it in the context object (`$$.Execution.StartTime`,
/// `$$.State.EnteredTime`): UTC with exactly three fractional digits and `Z`, e.g.
/// `2019-03-26T20:14:13.192Z` (the developer guide's example). Handlers parse these, so
/// the form must not depend on how many trailing zeros a nanosecond time happens to have.
pub(crate) fn context_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Adds a std duration to a timestamp, saturating at the end of representable time.
pub(crate) fn add(ts: Timestamp, d: Duration) -> Timestamp {
    let ns = ts.as_nanosecond().saturating_add(d.as_nanos() as i128);
    Timestamp::from_nanosecond(ns).unwrap_or(Timestamp::MAX)
}

/// `later - earlier` as a std duration, zero when `later` is not after `earlier`.
pub(crate) fn until(earlier: Timestamp, later: Timestamp) -> Duration {
    let ns = later.as_nanosecond() - earlier.as_nanosecond();
    if ns <= 0 {
        Duration::ZERO
    } else {
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_times_have_millisecond_precision_and_z() {
        let t = |s: &str| context_time(s.parse().expect("a timestamp"));
        assert_eq!(t("2019-03-26T20:14:13.192Z"), "2019-03-26T20:14:13.192Z");
        assert_eq!(t("2019-03-26T20:14:13Z"), "2019-03-26T20:14:13.000Z");
        assert_eq!(t("2019-03-26T20:14:13.19Z"), "2019-03-26T20:14:13.190Z");
        // Truncated, not rounded (a rounded time could be after the real one).
        assert_eq!(
            t("2019-03-26T22:14:13.999999999+02:00"),
            "2019-03-26T20:14:13.999Z"
        );
    }

    #[test]
    fn scaled_clock_runs_fast_and_converts_durations() {
        let start: Timestamp = "2024-01-01T00:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let c = ScaledClock::starting_at(start, 1e6);
        assert_eq!(
            c.real_duration(Duration::from_secs(6 * 3600)),
            Some(Duration::from_micros(21_600))
        );
        let before = c.now();
        assert!(before >= start);
        c.sleep(Duration::from_secs(3600));
        assert!(until(before, c.now()) >= Duration::from_secs(3600));
        assert_eq!(ScaledClock::new(-3.0).factor(), 1.0);
        assert_eq!(ScaledClock::new(f64::NAN).factor(), 1.0);
        let slow = ScaledClock::new(1e-300);
        assert_eq!(
            slow.real_duration(Duration::from_secs(1)),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn timestamp_helpers() {
        let t: Timestamp = "2024-01-01T00:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let later = add(t, Duration::from_secs(90));
        assert_eq!(later.to_string(), "2024-01-01T00:01:30Z");
        assert_eq!(until(t, later), Duration::from_secs(90));
        assert_eq!(until(later, t), Duration::ZERO);
        assert_eq!(add(Timestamp::MAX, Duration::from_secs(1)), Timestamp::MAX);
        assert_eq!(
            SystemClock.real_duration(Duration::from_secs(2)),
            Some(Duration::from_secs(2))
        );
    }
}
