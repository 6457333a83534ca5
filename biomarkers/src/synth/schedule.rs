//! The minute-resolution schedule: nights (in bed, asleep, awakenings), daytime blocks and
//! non-wear episodes.
//!
//! Every night, day and non-wear draw comes from a random stream indexed by the calendar day, so
//! the schedule of a day does not depend on how long the recording is: a shorter recording with
//! the same seed and start is an exact prefix of a longer one.

use super::params::{BlockSpec, SynthParams};
use super::rng::{Rng, Stream};

/// What the wearer does during one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Asleep in bed.
    Sleep,
    /// In bed and awake (before sleep onset, awakenings, lying in after waking).
    BedAwake,
    /// Sitting.
    Sedentary,
    /// Standing, light activity.
    Light,
    /// Walking.
    Walking,
    /// Running (MVPA).
    Running,
    /// The device is off the body, lying still.
    Nonwear,
}

/// One schedule segment, in whole minutes relative to the recording start (may extend beyond
/// the recording at either end; the generator clips).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Segment {
    pub start_min: i64,
    pub end_min: i64,
    pub kind: Kind,
    /// Index of this segment's random stream.
    pub key: u64,
    /// For non-wear: the device's up direction (device frame) while it lies still.
    pub rest_up: [f64; 3],
}

/// One night's bed and rising minutes (relative to the recording start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NightPlan {
    pub bed_min: i64,
    pub rise_min: i64,
}

/// The schedule of a recording: contiguous segments and the nights.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schedule {
    pub segments: Vec<Segment>,
    pub nights: Vec<NightPlan>,
}

const DAY_S: f64 = 86_400.0;

fn clipped_normal(rng: &mut Rng, sd: f64) -> f64 {
    (rng.normal() * sd).clamp(-2.0 * sd, 2.0 * sd)
}

fn minutes_between(a: f64, b: f64) -> i64 {
    ((b - a) / 60.0).round() as i64
}

/// Rounds a duration in minutes to a whole number, at least `min`.
fn whole(x: f64, min: i64) -> i64 {
    (x.round() as i64).max(min)
}

/// A segment key unique to (day, night-or-day, ordinal).
fn key(day: i64, part: u64, ordinal: usize) -> u64 {
    (day as u64).wrapping_mul(1 << 20) ^ (part << 18) ^ ordinal as u64
}

/// A random axis-aligned resting orientation (the device on a table, on any face), tilted by up
/// to 3 degrees because surfaces and cases are not perfectly flat.
fn rest_orientation(rng: &mut Rng) -> [f64; 3] {
    let face = rng.index(6);
    let mut u = [0.0; 3];
    u[face / 2] = if face.is_multiple_of(2) { 1.0 } else { -1.0 };
    let tilt = 3f64.to_radians() * rng.uniform();
    super::generate::tilt_towards_random(u, tilt, rng)
}

type Block = (i64, i64, Kind);

fn draw_block(rng: &mut Rng, spec: &BlockSpec) -> i64 {
    let lo = f64::from(spec.min_minutes);
    let hi = f64::from(spec.max_minutes);
    whole(rng.range(lo, hi + 1.0).floor(), 1)
}

/// Daytime blocks from `rise` to `bed` for one day.
fn day_blocks(p: &SynthParams, rng: &mut Rng, rise: i64, bed: i64) -> Vec<Block> {
    let mix = &p.schedule.mix;
    let specs = [
        (Kind::Sedentary, mix.sedentary),
        (Kind::Light, mix.light),
        (Kind::Walking, mix.walking),
        (Kind::Running, mix.mvpa),
    ];
    let weights: Vec<f64> = specs.iter().map(|s| s.1.weight).collect();
    let mut blocks = Vec::new();
    let mut t = rise;
    // Morning routine: up and about for a while before the day's mix starts.
    if bed - t > 10 {
        let len = whole(rng.range(10.0, 31.0).floor(), 1).min(bed - t);
        blocks.push((t, t + len, Kind::Light));
        t += len;
    }
    let mut prev = Kind::Light;
    while t < bed {
        let mut pick = rng.weighted(&weights);
        // Back-to-back walking or running bouts would just be one longer bout.
        for _ in 0..8 {
            if specs[pick].0 != prev || matches!(prev, Kind::Sedentary | Kind::Light) {
                break;
            }
            pick = rng.weighted(&weights);
        }
        let (kind, spec) = specs[pick];
        let len = draw_block(rng, &spec).min(bed - t);
        blocks.push((t, t + len, kind));
        prev = kind;
        t += len;
    }
    blocks
}

/// Replaces `[a, b)` in contiguous `blocks` by one block of `kind`.
fn overlay(blocks: &mut Vec<Block>, a: i64, b: i64, kind: Kind) {
    let mut out = Vec::with_capacity(blocks.len() + 2);
    for &(s, e, k) in blocks.iter() {
        if e <= a || s >= b {
            out.push((s, e, k));
            continue;
        }
        if s < a {
            out.push((s, a, k));
        }
        if e > b {
            out.push((b, e, k));
        }
    }
    out.push((a, b, kind));
    out.sort_by_key(|x| x.0);
    *blocks = out;
}

/// One night's in-bed segments: latency, sleep with awakenings, lying in.
fn night_blocks(p: &SynthParams, rng: &mut Rng, bed: i64, rise: i64) -> Vec<Block> {
    let s = &p.schedule;
    let mut latency = whole(rng.in_range(s.sleep_latency_min), 0);
    let mut lie_in = whole(rng.range(0.0, 10.0), 0);
    if rise - bed - latency - lie_in < 60 {
        latency = 0;
        lie_in = 0;
    }
    let (sleep_start, sleep_end) = (bed + latency, rise - lie_in);
    let mut wakes: Vec<(i64, i64)> = Vec::new();
    for _ in 0..rng.poisson(s.awakenings_per_night) {
        let len = whole(rng.in_range(s.awakening_min), 1);
        let (lo, hi) = (sleep_start + 30, sleep_end - 30 - len);
        if hi <= lo {
            continue;
        }
        let a = lo + rng.index((hi - lo) as usize) as i64;
        // Keep at least 10 min of sleep between awakenings.
        if wakes
            .iter()
            .all(|&(ws, we)| a + len + 10 <= ws || a >= we + 10)
        {
            wakes.push((a, a + len));
        }
    }
    wakes.sort();
    let mut blocks = Vec::new();
    if latency > 0 {
        blocks.push((bed, sleep_start, Kind::BedAwake));
    }
    let mut t = sleep_start;
    for (a, b) in wakes {
        blocks.push((t, a, Kind::Sleep));
        blocks.push((a, b, Kind::BedAwake));
        t = b;
    }
    blocks.push((t, sleep_end, Kind::Sleep));
    if lie_in > 0 {
        blocks.push((sleep_end, rise, Kind::BedAwake));
    }
    blocks.retain(|b| b.1 > b.0);
    blocks
}

/// Builds the schedule covering minutes `[0, params.minutes())` of the recording.
pub(crate) fn build(p: &SynthParams) -> Schedule {
    let s = &p.schedule;
    let n = p.minutes() as i64;
    let day_of = |m: i64| ((p.start + 60.0 * m as f64) / DAY_S).floor() as i64;
    let (d_first, d_last) = (day_of(0) - 1, day_of(n) + 1);

    // Nights: bed on the evening of day d, rising on the morning of day d + 1.
    let mut nights: Vec<(i64, i64, i64)> = Vec::new(); // (day, bed, rise)
    for d in d_first..=d_last {
        let mut rng = Rng::new(p.seed, Stream::Night, d as u64);
        let midnight = d as f64 * DAY_S;
        let bed_clock =
            midnight + 3600.0 * (s.bed_time_h + clipped_normal(&mut rng, s.bed_time_jitter_h));
        let rise_clock = midnight
            + DAY_S
            + 3600.0 * (s.wake_time_h + clipped_normal(&mut rng, s.wake_time_jitter_h));
        let bed = minutes_between(p.start, bed_clock);
        let mut rise = minutes_between(p.start, rise_clock);
        rise = rise.clamp(bed + 180, bed + 20 * 60);
        nights.push((d, bed, rise));
    }
    // A day needs at least an hour between rising and the next bed time.
    for i in 1..nights.len() {
        let prev_rise = nights[i - 1].2;
        if nights[i].1 < prev_rise + 60 {
            let shift = prev_rise + 60 - nights[i].1;
            nights[i].1 += shift;
            nights[i].2 += shift;
        }
    }

    let mut segments = Vec::new();
    for (i, &(d, bed, rise)) in nights.iter().enumerate() {
        // The day before this night: from the previous rising to this bed time.
        if i > 0 {
            let prev_rise = nights[i - 1].2;
            let mut rng = Rng::new(p.seed, Stream::Day, d as u64);
            let mut blocks = day_blocks(p, &mut rng, prev_rise, bed);
            let mut nw_rng = Rng::new(p.seed, Stream::Nonwear, d as u64);
            let whole_part = s.nonwear_per_day.floor() as u32;
            let count = whole_part + u32::from(nw_rng.chance(s.nonwear_per_day.fract()));
            let mut episodes: Vec<(i64, i64, [f64; 3])> = Vec::new();
            for _ in 0..count {
                let len = whole(nw_rng.in_range(s.nonwear_min), 1);
                let rest = rest_orientation(&mut nw_rng);
                let (lo, hi) = (prev_rise + 30, bed - 30 - len);
                if hi <= lo {
                    continue;
                }
                let a = lo + nw_rng.index((hi - lo) as usize) as i64;
                if episodes
                    .iter()
                    .all(|&(es, ee, _)| a + len + 30 <= es || a >= ee + 30)
                {
                    episodes.push((a, a + len, rest));
                }
            }
            for &(a, b, _) in &episodes {
                overlay(&mut blocks, a, b, Kind::Nonwear);
            }
            for (j, &(a, b, kind)) in blocks.iter().enumerate() {
                let rest_up = episodes
                    .iter()
                    .find(|e| e.0 == a && kind == Kind::Nonwear)
                    .map_or([0.0, 0.0, 1.0], |e| e.2);
                segments.push(Segment {
                    start_min: a,
                    end_min: b,
                    kind,
                    key: key(d, 1, j),
                    rest_up,
                });
            }
        }
        let mut rng = Rng::new(p.seed, Stream::Night, (d as u64) ^ (1 << 62));
        for (j, &(a, b, kind)) in night_blocks(p, &mut rng, bed, rise).iter().enumerate() {
            segments.push(Segment {
                start_min: a,
                end_min: b,
                kind,
                key: key(d, 2, j),
                rest_up: [0.0, 0.0, 1.0],
            });
        }
    }
    segments.retain(|seg| seg.end_min > 0 && seg.start_min < n && seg.end_min > seg.start_min);
    let nights = nights
        .iter()
        .filter(|&&(_, bed, rise)| rise > 0 && bed < n)
        .map(|&(_, bed_min, rise_min)| NightPlan { bed_min, rise_min })
        .collect();
    Schedule { segments, nights }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_contiguous_and_cover_the_recording() {
        for seed in 0..5 {
            let p = SynthParams {
                seed,
                days: 3.3,
                ..SynthParams::default()
            };
            let sched = build(&p);
            let segs = &sched.segments;
            assert!(segs[0].start_min <= 0);
            assert!(segs.last().is_some_and(|s| s.end_min >= p.minutes() as i64));
            for w in segs.windows(2) {
                assert_eq!(
                    w[0].end_min, w[1].start_min,
                    "gap or overlap at seed {seed}"
                );
            }
            assert!(segs.iter().any(|s| s.kind == Kind::Sleep));
            assert!(segs.iter().any(|s| s.kind == Kind::Walking));
            assert!(sched.nights.len() >= 3);
        }
    }

    #[test]
    fn overlay_splits_blocks() {
        let mut b = vec![(0, 10, Kind::Sedentary), (10, 20, Kind::Light)];
        overlay(&mut b, 5, 12, Kind::Nonwear);
        assert_eq!(
            b,
            vec![
                (0, 5, Kind::Sedentary),
                (5, 12, Kind::Nonwear),
                (12, 20, Kind::Light)
            ]
        );
    }
}
