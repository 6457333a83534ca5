//! Preprocessing: day windows, gap filling, ActiGraph counts, auto-calibration, wear detection,
//! and the numeric tools (moving statistics, filters, resampling) the algorithm families share.
//!
//! Everything here is a plain function over slices; no I/O.

pub mod calibrate;
pub mod counts;
pub mod days;
pub mod filter;
pub mod gaps;
pub mod resample;
pub mod stats;
pub mod wear;

use crate::io::Triaxial;

/// A borrowed view of three synchronous axes (g for acceleration). All three slices have the
/// same length.
#[derive(Debug, Clone, Copy)]
pub struct Axes<'a> {
    /// X axis.
    pub x: &'a [f64],
    /// Y axis.
    pub y: &'a [f64],
    /// Z axis.
    pub z: &'a [f64],
}

impl<'a> Axes<'a> {
    /// A view of three slices, cut to the shortest.
    pub fn new(x: &'a [f64], y: &'a [f64], z: &'a [f64]) -> Self {
        let n = x.len().min(y.len()).min(z.len());
        Self {
            x: &x[..n],
            y: &y[..n],
            z: &z[..n],
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The three axes in order.
    pub fn axes(&self) -> [&'a [f64]; 3] {
        [self.x, self.y, self.z]
    }

    /// The samples `[start, stop)` (clamped to the data).
    pub fn slice(&self, start: usize, stop: usize) -> Axes<'a> {
        let n = self.len();
        let (s, e) = (start.min(n), stop.min(n).max(start.min(n)));
        Axes {
            x: &self.x[s..e],
            y: &self.y[s..e],
            z: &self.z[s..e],
        }
    }

    /// Euclidean norm of sample `i`, g.
    pub fn norm(&self, i: usize) -> f64 {
        (self.x[i] * self.x[i] + self.y[i] * self.y[i] + self.z[i] * self.z[i]).sqrt()
    }
}

impl<'a> From<&'a Triaxial> for Axes<'a> {
    fn from(t: &'a Triaxial) -> Self {
        Axes::new(&t.x, &t.y, &t.z)
    }
}

/// Why index windows cannot be intersected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("window ends are not increasing once sorted by their starts")]
pub struct OverlapError;

/// One set of `[start, stop)` windows and whether it is to be kept (`true`) or removed.
#[derive(Debug, Clone, Copy)]
pub struct WindowSet<'a> {
    /// The windows.
    pub bouts: &'a [(usize, usize)],
    /// Keep (true) or exclude (false) these windows.
    pub include: bool,
}

/// The parts of the day `[day_start, day_stop)` that lie inside every included window set and
/// outside every excluded one (SKDH `get_day_index_intersection`). With `ends_round` (samples),
/// the bounds are rounded to multiples of it from the day start.
pub fn day_intersection(
    sets: &[WindowSet<'_>],
    day_start: usize,
    day_stop: usize,
    ends_round: Option<usize>,
) -> Result<Vec<(usize, usize)>, OverlapError> {
    if sets.iter().all(|s| s.bouts.is_empty() && s.include) {
        return Ok(Vec::new());
    }
    let clip = |v: usize| v.clamp(day_start, day_stop.max(day_start));
    let mut excl: Vec<(usize, usize)> = Vec::new();
    for set in sets {
        if set.bouts.is_empty() {
            continue;
        }
        let mut b: Vec<(usize, usize)> = set.bouts.to_vec();
        if set.include {
            b.sort_by_key(|p| p.0);
            let b: Vec<(usize, usize)> = b.iter().map(|&(s, e)| (clip(s), clip(e))).collect();
            if b.windows(2).any(|w| w[1].1 < w[0].1) {
                return Err(OverlapError);
            }
            // the gaps between kept windows become exclusions
            let mut tmp_start = vec![day_start];
            tmp_start.extend(b.iter().map(|p| p.1));
            let mut tmp_stop: Vec<usize> = b.iter().map(|p| p.0).collect();
            tmp_stop.push(day_stop);
            for (s, e) in tmp_start.into_iter().zip(tmp_stop) {
                if s != e {
                    excl.push((s, e));
                }
            }
        } else {
            for &(s, e) in &b {
                let (s, e) = (clip(s), clip(e));
                if s != e {
                    excl.push((s, e));
                }
            }
        }
    }
    let mut vs = vec![day_start];
    let mut ve = vec![day_stop];
    for (start, stop) in excl {
        let c1: Vec<bool> = vs
            .iter()
            .zip(&ve)
            .map(|(&a, &b)| a <= start && start <= b)
            .collect();
        let c2: Vec<bool> = vs
            .iter()
            .zip(&ve)
            .map(|(&a, &b)| a <= stop && stop <= b)
            .collect();
        for (i, (a, b)) in c1.into_iter().zip(c2).enumerate() {
            if a && b {
                vs.insert(i + 1, stop);
                ve.insert(i, start);
            } else if a {
                ve[i] = start;
            } else if b {
                vs[i] = stop;
            }
        }
    }
    if let Some(f) = ends_round.filter(|&f| f > 0) {
        let round = |v: usize| -> usize {
            let q = ((v - day_start.min(v)) as f64 / f as f64).round_ties_even();
            ((q * f as f64) as usize + day_start).min(day_stop)
        };
        vs = vs.into_iter().map(round).collect();
        ve = ve.into_iter().map(round).collect();
    }
    Ok(vs.into_iter().zip(ve).filter(|(s, e)| s != e).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection_keeps_wear_and_drops_sleep() {
        let wear = [(0, 50), (60, 200)];
        let sleep = [(80, 120)];
        let r = day_intersection(
            &[
                WindowSet {
                    bouts: &wear,
                    include: true,
                },
                WindowSet {
                    bouts: &sleep,
                    include: false,
                },
            ],
            10,
            150,
            None,
        )
        .unwrap();
        assert_eq!(r, vec![(10, 50), (60, 80), (120, 150)]);
        let only = day_intersection(
            &[WindowSet {
                bouts: &wear,
                include: true,
            }],
            10,
            150,
            None,
        )
        .unwrap();
        assert_eq!(only, vec![(10, 50), (60, 150)]);
        let none = day_intersection(
            &[WindowSet {
                bouts: &[],
                include: true,
            }],
            0,
            9,
            None,
        )
        .unwrap();
        assert!(none.is_empty());
    }
}
