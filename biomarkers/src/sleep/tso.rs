//! Total sleep opportunity (TSO) detection (van Hees 2015/2018 as implemented in SKDH): the
//! longest block of wear time with little change of the arm's z-angle.

use crate::preprocessing::Axes;
use crate::preprocessing::stats::{self, WindowError};

/// Parameters of the TSO search (see [`super::SleepParams`] for units and defaults).
#[derive(Debug, Clone, Copy)]
pub struct TsoParams {
    /// Minimum rest block, minutes.
    pub min_rest_block: u32,
    /// Longest activity break inside a rest period, minutes.
    pub max_activity_break: u32,
    /// Lower clip of the angle threshold, degrees.
    pub tso_min_thresh: f64,
    /// Upper clip of the angle threshold, degrees.
    pub tso_max_thresh: f64,
    /// Percentile of the angle changes, 0-100.
    pub tso_perc: f64,
    /// Factor on that percentile.
    pub tso_factor: f64,
    /// Internal non-wear when the 5-min median temperature is below this, deg C (0 disables).
    pub int_wear_temp: f64,
    /// Internal non-wear when a 30-min SD of 5 s means is below this on any axis, g (0 disables).
    pub int_wear_move: f64,
}

/// A detected TSO: start/stop as unix times and as sample indices into the day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tso {
    /// Start, unix seconds.
    pub start: f64,
    /// Stop, unix seconds.
    pub stop: f64,
    /// Start, samples from the day start.
    pub start_idx: usize,
    /// Stop, samples from the day start.
    pub stop_idx: usize,
}

/// z-angle (degrees) of one sample.
fn z_angle(x: f64, y: f64, z: f64) -> f64 {
    (z / (x * x + y * y).sqrt()).atan() * (180.0 / std::f64::consts::PI)
}

/// Rescores runs of `drop` shorter than `min_len` to the other value, ignoring the first and
/// last runs (SKDH `drop_min_blocks` with `skip_bounds=True`).
pub fn drop_min_blocks(arr: &mut [bool], min_len: usize, drop: bool) {
    let (lengths, starts, values) = stats::rle(arr);
    let nr = lengths.len();
    for r in 0..nr {
        if r == 0 || r + 1 == nr {
            continue;
        }
        if values[r] == drop && lengths[r] < min_len {
            for v in &mut arr[starts[r]..starts[r] + lengths[r]] {
                *v = !drop;
            }
        }
    }
}

/// The first longest run of `true`: `[start, stop)`.
pub fn longest_true(arr: &[bool]) -> Option<(usize, usize)> {
    let (lengths, starts, values) = stats::rle(arr);
    let mut best: Option<(usize, usize)> = None;
    for i in 0..lengths.len() {
        if values[i] && best.is_none_or(|(_, l)| lengths[i] > l) {
            best = Some((starts[i], lengths[i]));
        }
    }
    best.map(|(s, l)| (s, s + l))
}

/// Finds the TSO of one day. `time`, `accel` and `temperature` cover the day only; wear bouts
/// are given in recording indices and shifted by `idx_start`.
#[allow(clippy::too_many_arguments)]
pub fn total_sleep_opportunity(
    fs: f64,
    time: &[f64],
    accel: Axes<'_>,
    temperature: Option<&[f64]>,
    wear: &[(usize, usize)],
    idx_start: usize,
    p: &TsoParams,
) -> Result<Option<Tso>, WindowError> {
    let n5 = (5.0 * fs) as usize;
    let rmd: Vec<Vec<f64>> = accel
        .axes()
        .iter()
        .map(|ax| stats::moving_median(ax, n5, 1))
        .collect::<Result<_, _>>()?;
    let z: Vec<f64> = (0..rmd[0].len())
        .map(|i| z_angle(rmd[0][i], rmd[1][i], rmd[2][i]))
        .collect();
    let z_rm = stats::moving_mean(&z, n5, n5, n5, true)?;
    let mut dz = Vec::with_capacity(z_rm.len());
    for i in 0..z_rm.len() {
        let prev = if i == 0 { z_rm[0] } else { z_rm[i - 1] };
        dz.push((z_rm[i] - prev).abs());
    }
    let dz_rmd = stats::moving_median(&dz, 60, 1)?;
    let thresh = (stats::percentile(&dz_rmd, p.tso_perc) * p.tso_factor)
        .max(p.tso_min_thresh)
        .min(p.tso_max_thresh);
    let nw = z_rm.len() + 1 - 60;
    let mut tso = vec![false; nw];
    for &(s, e) in wear {
        let a = ((s as f64 - idx_start as f64) / n5 as f64) as i64;
        let b = ((e as f64 - idx_start as f64) / n5 as f64) as i64;
        let a = a.clamp(0, nw as i64) as usize;
        let b = b.clamp(0, nw as i64) as usize;
        for v in tso.iter_mut().take(b).skip(a) {
            *v = true;
        }
    }
    for (v, d) in tso.iter_mut().zip(&dz_rmd) {
        *v &= *d < thresh;
    }
    if let Some(t) = temperature
        && p.int_wear_temp > 0.0
    {
        let t5 = stats::moving_median(t, n5, 1)?;
        let tm = stats::moving_mean(&t5, n5, n5, n5, true)?;
        let t5m = stats::moving_median(&tm, 60, 1)?;
        for (v, tv) in tso.iter_mut().zip(&t5m) {
            if *tv < p.int_wear_temp {
                *v = false;
            }
        }
    }
    if p.int_wear_move > 0.0 {
        let mut low = Vec::new();
        for ax in &rmd {
            let m = stats::moving_mean(ax, n5, n5, n5, true)?;
            let sd = stats::moving_sd(&m, 360, 1, true)?;
            if low.is_empty() {
                low = vec![false; sd.len()];
            }
            for (l, s) in low.iter_mut().zip(&sd) {
                *l |= *s < p.int_wear_move;
            }
        }
        for (k, l) in low.iter().enumerate() {
            if *l && k + 150 < nw {
                tso[k + 150] = false;
            }
        }
    }
    drop_min_blocks(&mut tso, 12 * p.min_rest_block as usize, true);
    drop_min_blocks(&mut tso, 12 * p.max_activity_break as usize, false);
    Ok(longest_true(&tso).and_then(|(a, b)| {
        let si = (a + 30) * n5;
        let ei = (b + 30) * n5;
        Some(Tso {
            start: *time.get(si)?,
            stop: *time.get(ei)?,
            start_idx: si,
            stop_idx: ei,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_rules() {
        let mut a = vec![true, true, false, true, true, true, false, false];
        drop_min_blocks(&mut a, 2, false);
        assert_eq!(a, vec![true, true, true, true, true, true, false, false]);
        let mut b = vec![false, true, false, false];
        drop_min_blocks(&mut b, 2, true);
        assert_eq!(b, vec![false; 4]);
        assert_eq!(
            longest_true(&[false, true, true, false, true]),
            Some((1, 3))
        );
        assert_eq!(longest_true(&[false; 3]), None);
    }
}
