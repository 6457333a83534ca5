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

/// Windows per segment of [`block_means_of_medians`] (in units of the median window).
const SEGMENT_WINDOWS: usize = 64;

/// For equally long signals `xs`, the means of their moving medians (window `w`, step 1) over
/// non-overlapping blocks of `w` medians, as
/// `moving_mean(&moving_median(x, w, 1)?, w, w, w, true)`, with the same values and errors;
/// `per_median(medians)` also sees every window's medians (one per signal), in order. The medians
/// are computed segment by segment (`SEGMENT_WINDOWS * w` windows, whole blocks), so no
/// signal-long array is made.
fn block_means_of_medians(
    xs: &[&[f64]],
    w: usize,
    mut per_median: impl FnMut(&[f64]),
) -> Result<Vec<Vec<f64>>, WindowError> {
    let n = xs.iter().map(|x| x.len()).min().unwrap_or(0);
    // the errors of the two steps it replaces, in their order
    if w == 0 {
        return Err(WindowError::ZeroWindow);
    }
    if w > n {
        return Err(WindowError::TooShort { wlen: w, n });
    }
    let full = n - w + 1;
    if w > full {
        return Err(WindowError::TooShort { wlen: w, n: full });
    }
    let blocks = stats::n_full(full, w, w);
    let seg = SEGMENT_WINDOWS * w;
    let mut scratch = stats::MedianScratch::default();
    let mut med: Vec<Vec<f64>> = vec![Vec::new(); xs.len()];
    let mut means: Vec<Vec<f64>> = vec![Vec::with_capacity(blocks); xs.len()];
    let mut at = vec![0.0; xs.len()];
    let mut s0 = 0;
    while s0 < blocks * w {
        let s1 = (s0 + seg).min(blocks * w);
        for (x, m) in xs.iter().zip(med.iter_mut()) {
            stats::moving_median_into(&x[s0..s1 + w - 1], w, 1, &mut scratch, m)?;
        }
        for i in 0..s1 - s0 {
            for (a, m) in at.iter_mut().zip(&med) {
                *a = m[i];
            }
            per_median(&at);
        }
        for (m, out) in med.iter().zip(means.iter_mut()) {
            out.extend(m.chunks_exact(w).map(|b| stats::sum(b) / w as f64));
        }
        s0 = s1;
    }
    Ok(means)
}

/// The block means of the temperature's moving medians (as [`block_means_of_medians`], same
/// errors) where they can decide the temperature rule, `+inf` where they provably cannot.
///
/// The rule drops a TSO window when the median of `outer` consecutive block means is below
/// `thresh`. A block mean is at least `thresh` whenever every sample its medians see (two
/// blocks of `w` samples) is above `thresh` by a margin far larger than the rounding of a
/// median and a compensated mean; a window of `outer` such means has a median of at least
/// `thresh` too, whatever their exact values. So the medians (a quarter of the sleep step's
/// work) are computed only for blocks within `outer - 1` of a block that is not provably
/// above; every median window that contains such a block then holds exact values only, and
/// every other window has a median of at least `thresh` both here and in the exact series.
fn temperature_block_means(
    t: &[f64],
    w: usize,
    outer: usize,
    thresh: f64,
) -> Result<Vec<f64>, WindowError> {
    let n = t.len();
    if w == 0 {
        return Err(WindowError::ZeroWindow);
    }
    if w > n {
        return Err(WindowError::TooShort { wlen: w, n });
    }
    let full = n - w + 1;
    if w > full {
        return Err(WindowError::TooShort { wlen: w, n: full });
    }
    let blocks = stats::n_full(full, w, w);
    // per block of samples: the smallest value (NaN poisons it) and the largest magnitude
    let sample_blocks: Vec<(f64, f64)> = t
        .chunks(w)
        .map(|c| {
            c.iter().fold((f64::INFINITY, 0.0f64), |(lo, mag), &v| {
                let lo = if v.is_nan() || lo.is_nan() {
                    f64::NAN
                } else {
                    lo.min(v)
                };
                (lo, mag.max(v.abs()))
            })
        })
        .collect();
    let certain = |j: usize| -> bool {
        // the windows of block j read blocks j and j + 1 (which always exists); a missing
        // one would count as unknown
        let (a, b) = (
            sample_blocks[j],
            sample_blocks.get(j + 1).copied().unwrap_or((f64::NAN, 0.0)),
        );
        let lo = if a.0.is_nan() || b.0.is_nan() {
            f64::NAN
        } else {
            a.0.min(b.0)
        };
        let mag = a.1.max(b.1).max(thresh.abs());
        lo >= thresh + 1e-9 * (1.0 + mag)
    };
    // blocks within outer - 1 of an uncertain one need their exact mean
    let reach = outer.saturating_sub(1);
    let mut need = vec![false; blocks];
    let mut last_uncertain: Option<usize> = None;
    for j in 0..blocks {
        if !certain(j) {
            let from = last_uncertain.map_or(j.saturating_sub(reach), |u| {
                (u + reach + 1).max(j.saturating_sub(reach))
            });
            for v in &mut need[from.min(blocks)..(j + reach + 1).min(blocks)] {
                *v = true;
            }
            last_uncertain = Some(j);
        }
    }
    let mut tm = vec![f64::INFINITY; blocks];
    let mut scratch = stats::MedianScratch::default();
    let mut med = Vec::new();
    let mut j = 0;
    while j < blocks {
        if !need[j] {
            j += 1;
            continue;
        }
        let mut j1 = j;
        while j1 < blocks && need[j1] && j1 - j < SEGMENT_WINDOWS {
            j1 += 1;
        }
        stats::moving_median_into(&t[j * w..j1 * w + w - 1], w, 1, &mut scratch, &mut med)?;
        for (o, c) in tm[j..j1].iter_mut().zip(med.chunks_exact(w)) {
            *o = stats::sum(c) / w as f64;
        }
        j = j1;
    }
    Ok(tm)
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
    // The z-angle of the 5-s moving medians, averaged over 5-s blocks (and the block means of
    // the medians themselves for the movement rule), segment by segment: medians, z-angles
    // and their block sums are never held for the whole day.
    let mut z_seg: Vec<f64> = Vec::new();
    let mut z_rm: Vec<f64> = Vec::new();
    let rmd_means = block_means_of_medians(&accel.axes(), n5, |m| {
        z_seg.push(z_angle(m[0], m[1], m[2]));
        if z_seg.len() == n5 {
            z_rm.push(stats::sum(&z_seg) / n5 as f64);
            z_seg.clear();
        }
    })?;
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
        let tm = temperature_block_means(t, n5, 60, p.int_wear_temp)?;
        let t5m = stats::moving_median(&tm, 60, 1)?;
        for (v, tv) in tso.iter_mut().zip(&t5m) {
            if *tv < p.int_wear_temp {
                *v = false;
            }
        }
    }
    if p.int_wear_move > 0.0 {
        let mut low = Vec::new();
        for m in &rmd_means {
            let sd = stats::moving_sd(m, 360, 1, true)?;
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
    fn block_means_of_medians_equal_the_two_steps() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (n, w) in [
            (25_000, 100),
            (6_500, 100),
            (12_899, 100),
            (301, 7),
            (19, 10),
            (5, 10),
        ] {
            let xs: Vec<Vec<f64>> = (0..3)
                .map(|k| {
                    (0..n)
                        .map(|i| {
                            (i as f64 * 0.01 * (k + 1) as f64).sin() + (rnd() % 100) as f64 * 1e-3
                        })
                        .collect()
                })
                .collect();
            let refs: Vec<&[f64]> = xs.iter().map(|v| v.as_slice()).collect();
            let mut seen = Vec::new();
            let got = block_means_of_medians(&refs, w, |m| seen.push(m.to_vec()));
            let want: Result<Vec<Vec<f64>>, WindowError> = refs
                .iter()
                .map(|x| stats::moving_median(x, w, 1))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|meds| {
                    meds.iter()
                        .map(|m| stats::moving_mean(m, w, w, w, true))
                        .collect()
                });
            match (got, want) {
                (Ok(g), Ok(wt)) => {
                    assert_eq!(g.len(), 3);
                    for (a, b) in g.iter().zip(&wt) {
                        assert_eq!(a.len(), b.len(), "n {n}");
                        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
                    }
                    let med0 = stats::moving_median(refs[1], w, 1).unwrap();
                    // every window of whole blocks reaches the callback, in order
                    assert_eq!(seen.len(), g[0].len() * w);
                    assert!(
                        seen.iter()
                            .zip(&med0)
                            .all(|(s, m)| s[1].to_bits() == m.to_bits())
                    );
                }
                (Err(e), Err(f)) => assert_eq!(e, f),
                (g, wt) => panic!("n {n} w {w}: {g:?} vs {wt:?}"),
            }
        }
    }

    #[test]
    fn temperature_rule_is_unchanged_by_the_bound() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 1000) as f64 * 1e-3
        };
        let w = 10;
        for case in 0..6 {
            let n = 9_000 + 37 * case;
            let mut t: Vec<f64> = (0..n)
                .map(|i| 25.0 + 2.0 * (i as f64 * 0.0007 * (case + 1) as f64).sin() + 0.3 * rnd())
                .collect();
            if case == 4 {
                t[4321] = f64::NAN;
            }
            for thresh in [25.0, 20.0, 30.0, 25.9] {
                let fast = temperature_block_means(&t, w, 60, thresh).unwrap();
                let exact =
                    stats::moving_mean(&stats::moving_median(&t, w, 1).unwrap(), w, w, w, true)
                        .unwrap();
                assert_eq!(fast.len(), exact.len());
                // every mean is exact or provably at least the threshold
                for (f, e) in fast.iter().zip(&exact) {
                    assert!(f.to_bits() == e.to_bits() || (*f == f64::INFINITY && *e >= thresh));
                }
                let a = stats::moving_median(&fast, 60, 1).unwrap();
                let b = stats::moving_median(&exact, 60, 1).unwrap();
                let below = |v: &Vec<f64>| v.iter().map(|x| *x < thresh).collect::<Vec<_>>();
                assert_eq!(below(&a), below(&b), "case {case} thresh {thresh}");
                if thresh == 25.0 {
                    // the data cross the threshold: both rule outcomes occur
                    assert!(below(&b).contains(&true) && below(&b).contains(&false));
                }
            }
        }
        assert!(temperature_block_means(&[1.0; 15], 10, 60, 25.0).is_err());
    }

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
