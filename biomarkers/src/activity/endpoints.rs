//! Per-day activity endpoints accumulated over the wear blocks of a day, as SKDH's
//! `ActivityEndpoint` classes: time in levels, bouts, intensity gradient, max/min rolling
//! acceleration, fragmentation, DFA, equal-average-duration threshold and signal features.

use super::cutpoints::{Cutpoints, Level};
use super::features;
use crate::preprocessing::stats;

/// Levels in SKDH's column order for times and bouts.
pub const LEVELS: [Level; 5] = [
    Level::Mvpa,
    Level::Sed,
    Level::Light,
    Level::Mod,
    Level::Vig,
];
/// Levels with fragmentation endpoints.
pub const FRAG_LEVELS: [Level; 3] = [Level::Sed, Level::Slpa, Level::Mvpa];
/// Signal-feature window lengths, minutes.
pub const FEATURE_MINUTES: [usize; 3] = [15, 30, 60];
/// Signal feature names in column order.
pub const FEATURE_NAMES: [&str; 7] = [
    "signal entropy",
    "sample entropy",
    "permutation entropy",
    "power spectral sum",
    "spectral flatness",
    "spectral entropy",
    "sparc",
];

/// Minutes spent in bouts of a level (SKDH `get_activity_bouts`). `epoch_s` is the epoch
/// length in seconds, `bout_min` the bout length in minutes, `crit` the fraction of epochs in
/// the level, `metric` the bout definition 1-4.
#[allow(clippy::too_many_arguments)] // SKDH's get_activity_bouts signature, kept recognisable
pub fn bout_minutes(
    accm: &[f64],
    lo: f64,
    hi: f64,
    epoch_s: usize,
    bout_min: usize,
    crit: f64,
    closed: bool,
    metric: u8,
) -> f64 {
    let epm = 60 / epoch_s.max(1);
    let nb = bout_min * epm;
    let min_per_epoch = epoch_s as f64 / 60.0;
    let n = accm.len();
    if n < nb {
        return 0.0;
    }
    let mut x: Vec<i64> = accm.iter().map(|&v| i64::from(v >= lo && v < hi)).collect();
    match metric {
        1 => {
            let p: Vec<usize> = (0..n).filter(|&i| x[i] == 1).collect();
            let mut total = 0.0;
            let mut i = 0usize;
            let sum = |a: usize, b: usize| -> i64 { x[a.min(n)..b.min(n)].iter().sum() };
            while i < p.len() {
                let start = p[i];
                let mut end = start + nb;
                let mut jump = 1usize;
                if end < n && (sum(start, end) as f64) > nb as f64 * crit {
                    while (sum(start, end + 1) as f64) > (end + 1 - start) as f64 * crit && end < n
                    {
                        end += 1;
                    }
                    let sel = p[i..].iter().filter(|&&q| q < end).count();
                    jump = sel.max(1);
                    if closed {
                        let last = p
                            .iter()
                            .filter(|&&q| q < end)
                            .max()
                            .copied()
                            .unwrap_or(start);
                        total += (last - start + 1) as f64 * min_per_epoch;
                    } else {
                        total += sel as f64 * min_per_epoch;
                    }
                }
                i += jump;
            }
            total
        }
        2 => {
            let p: Vec<usize> = (0..n).filter(|&i| x[i] == 1).collect();
            let mut xt = vec![0u8; n];
            for i in 0..p.len() {
                let start = p[i];
                let end = start + nb;
                if end < n {
                    let s: i64 = x[start..end].iter().sum();
                    if s as f64 > nb as f64 * crit {
                        for v in &mut xt[start..end] {
                            *v = 2;
                        }
                    } else {
                        x[start] = 0;
                    }
                } else if p.len() > 1 && i > 2 {
                    x[p[i]] = x[p[i - 1]];
                }
            }
            for i in 0..n {
                if xt[i] == 2 {
                    x[i] = 1;
                }
            }
            x.iter().sum::<i64>() as f64 * min_per_epoch
        }
        3 | 4 => {
            let mut xt = x.clone();
            let mut breaks = vec![0.0; n];
            let nn = epm + 1;
            let i1 = nn.div_ceil(2).saturating_sub(1);
            let i2 = (n as f64 - nn as f64 / 2.0).ceil().max(0.0) as usize;
            if let Ok(mm) = stats::moving_mean(
                &x.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                nn,
                1,
                nn,
                true,
            ) && i2 > i1
                && i2 - i1 == mm.len()
            {
                breaks[i1..i2].copy_from_slice(&mm);
            }
            let neg = -((60 / epoch_s.max(1)) as i64) * nb as i64;
            for i in 0..n {
                if breaks[i] == 0.0 {
                    xt[i] = neg;
                }
            }
            let xtf: Vec<f64> = xt.iter().map(|&v| v as f64).collect();
            let Ok(rm) = stats::moving_mean(&xtf, nb, 1, nb, true) else {
                return 0.0;
            };
            let mut p: Vec<usize> = (0..rm.len()).filter(|&i| rm[i] > crit).collect();
            if metric == 4 {
                p.retain(|&i| x[i] == 1 && x[i + nb - 1] == 1);
            }
            let mut mark = vec![false; n];
            for &q in &p {
                for v in mark.iter_mut().skip(q).take(nb) {
                    *v = true;
                }
            }
            mark.iter().filter(|&&m| m).count() as f64 * min_per_epoch
        }
        _ => f64::NAN,
    }
}

/// Fragmentation metrics of run lengths (SKDH `fragmentation_endpoints`).
pub mod frag {
    /// Mean run length (0 when there are no runs).
    pub fn average_duration(l: &[usize]) -> f64 {
        if l.is_empty() {
            0.0
        } else {
            l.iter().sum::<usize>() as f64 / l.len() as f64
        }
    }

    /// 1 / mean run length (NaN without runs).
    pub fn transition_probability(l: &[usize]) -> f64 {
        if l.is_empty() {
            f64::NAN
        } else {
            1.0 / average_duration(l)
        }
    }

    /// Gini index of the run lengths, small-sample corrected and capped at 1.
    pub fn gini_index(l: &[usize]) -> f64 {
        match l.len() {
            0 => 0.0,
            1 => 1.0,
            n => {
                let mut s: Vec<f64> = l.iter().map(|&v| v as f64).collect();
                s.sort_by(f64::total_cmp);
                let mut cum = 0.0;
                let mut sumcum = 0.0;
                for v in &s {
                    cum += v;
                    sumcum += cum;
                }
                let nf = n as f64;
                let g = (nf + 1.0 - 2.0 * sumcum / cum) / nf;
                (g * nf / (nf - 1.0)).min(1.0)
            }
        }
    }

    /// Average hazard over the distinct run lengths (NaN without runs).
    pub fn average_hazard(l: &[usize]) -> f64 {
        if l.is_empty() {
            return f64::NAN;
        }
        let mut s = l.to_vec();
        s.sort_unstable();
        let mut counts: Vec<usize> = Vec::new();
        let mut prev = usize::MAX;
        for v in s {
            if v != prev {
                counts.push(1);
                prev = v;
            } else if let Some(c) = counts.last_mut() {
                *c += 1;
            }
        }
        let total: usize = counts.iter().sum();
        let mut before = 0usize;
        let mut h = 0.0;
        for &c in &counts {
            h += c as f64 / (total - before) as f64;
            before += c;
        }
        h / counts.len() as f64
    }

    /// Power-law exponent of the run lengths (1 without runs).
    pub fn power_law(l: &[usize]) -> f64 {
        if l.is_empty() {
            return 1.0;
        }
        let mn = *l.iter().min().unwrap_or(&1) as f64 - 0.5;
        let s: f64 = l.iter().map(|&v| (v as f64 / mn).ln()).sum();
        1.0 + l.len() as f64 / s
    }
}

/// Detrended fluctuation analysis: (alpha, activity balance index) (SKDH `DFA`).
pub fn dfa(a: &[f64]) -> (f64, f64) {
    let n = a.len();
    if n < 4 {
        return (f64::NAN, f64::NAN);
    }
    let scale = 2f64.powf(1.0 / 8.0);
    let mut boxes: Vec<usize> = vec![4];
    let target = (n as f64 / 4.0).round_ties_even() as usize;
    while *boxes.last().unwrap_or(&4) < target {
        let last = *boxes.last().unwrap_or(&4) as f64;
        boxes.push((last * scale).ceil() as usize);
    }
    let m = stats::mean(a);
    let mut y = Vec::with_capacity(n);
    let mut c = 0.0;
    for &v in a {
        c += v - m;
        y.push(c);
    }
    let mut fl = Vec::with_capacity(boxes.len());
    for &w in &boxes {
        let rows = if w <= n { (n - w) / w + 1 } else { 0 };
        let xs: Vec<f64> = (0..w).map(|i| i as f64).collect();
        let mut ss = 0.0;
        let mut cnt = 0usize;
        for r in 0..rows {
            let d = &y[r * w..r * w + w];
            let f = stats::linregress(&xs, d);
            for (i, &v) in d.iter().enumerate() {
                let e = v - (f.slope * xs[i] + f.intercept);
                ss += e * e;
            }
            cnt += w;
        }
        fl.push(if cnt == 0 {
            f64::NAN
        } else {
            (ss / cnt as f64).sqrt()
        });
    }
    let lx: Vec<f64> = boxes.iter().map(|&b| (b as f64).ln()).collect();
    let ly: Vec<f64> = fl.iter().map(|v| v.ln()).collect();
    let alpha = stats::linregress(&lx, &ly).slope;
    (alpha, abi(alpha))
}

/// Activity balance index from a DFA alpha.
pub fn abi(alpha: f64) -> f64 {
    (-(alpha - 1.0).abs() / (-2f64).exp()).exp()
}

/// Thresholds of the equal-average-duration search (numpy `arange(0.0001, 0.1, 0.0001)`).
pub fn ead_thresholds() -> Vec<f64> {
    let (start, stop, step) = (0.0001f64, 0.1f64, 0.0001f64);
    let n = ((stop - start) / step).ceil() as usize;
    let delta = (start + step) - start;
    (0..n)
        .map(|i| match i {
            0 => start,
            1 => start + step,
            _ => start + i as f64 * delta,
        })
        .collect()
}

/// Accumulates one day's wake endpoints over its wear blocks.
#[derive(Debug, Clone)]
pub struct WakeDay {
    cut: Cutpoints,
    epoch_s: usize,
    max_lens: Vec<usize>,
    bout_lens: Vec<usize>,
    bout_crit: f64,
    bout_metric: u8,
    closed: bool,
    used: bool,
    hist: Vec<f64>,
    /// max acc per configured window, then 300 and 600 min
    max_acc: Vec<f64>,
    min_acc_300: f64,
    level_min: [f64; 5],
    bouts: Vec<[f64; 5]>,
    frag: [Vec<usize>; 3],
    alphas: Vec<f64>,
    ead_le: Vec<Vec<usize>>,
    ead_gt: Vec<Vec<usize>>,
    feats: [Vec<[f64; 7]>; 3],
}

/// Histogram bin edges of the intensity gradient, g.
fn ig_edges() -> Vec<f64> {
    let mut e: Vec<f64> = (0..=160).map(|i| f64::from(i * 25) / 1000.0).collect();
    e.push(8000.0 / 1000.0);
    e
}

impl WakeDay {
    /// A fresh accumulator (all endpoints 0 as SKDH initialises a valid day).
    pub fn new(
        cut: &Cutpoints,
        epoch_s: usize,
        max_lens: &[usize],
        bout_lens: &[usize],
        bout_crit: f64,
        bout_metric: u8,
        closed: bool,
    ) -> Self {
        let nt = ead_thresholds().len();
        Self {
            cut: cut.clone(),
            epoch_s,
            max_lens: max_lens.to_vec(),
            bout_lens: bout_lens.to_vec(),
            bout_crit,
            bout_metric,
            closed,
            used: false,
            hist: vec![0.0; 161],
            max_acc: vec![0.0; max_lens.len() + 2],
            min_acc_300: 0.0,
            level_min: [0.0; 5],
            bouts: vec![[0.0; 5]; bout_lens.len()],
            frag: [Vec::new(), Vec::new(), Vec::new()],
            alphas: Vec::new(),
            ead_le: vec![Vec::new(); nt],
            ead_gt: vec![Vec::new(); nt],
            feats: [Vec::new(), Vec::new(), Vec::new()],
        }
    }

    fn epm(&self) -> usize {
        60 / self.epoch_s.max(1)
    }

    /// Adds one wear block: `m` the epoch metric, `m60` the per-minute metric.
    pub fn add_block(&mut self, m: &[f64], m60: &[f64]) {
        self.used = true;
        let epm = self.epm();
        let epmf = epm as f64;
        // intensity gradient histogram, minutes per bin
        let edges = ig_edges();
        let mut counts = vec![0usize; 161];
        for &v in m {
            if !(0.0..=8.0).contains(&v) {
                continue;
            }
            let k = if v == 8.0 {
                160
            } else {
                edges.partition_point(|&e| e <= v) - 1
            };
            counts[k] += 1;
        }
        for (h, c) in self.hist.iter_mut().zip(counts) {
            *h += c as f64 / epmf;
        }
        // maximum rolling means; a window longer than the block ends that endpoint's list
        let rolling = |lens: &[usize], offset: usize, acc: &mut Vec<f64>| {
            for (j, &w) in lens.iter().enumerate() {
                let Ok(mm) = stats::moving_mean(m, w * epm, 1, w * epm, true) else {
                    return;
                };
                let mx = mm.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let cur = acc[offset + j];
                acc[offset + j] = nanmax(mx, cur);
            }
        };
        let mut acc = std::mem::take(&mut self.max_acc);
        let lens = self.max_lens.clone();
        rolling(&lens, 0, &mut acc);
        rolling(&[300, 600], lens.len(), &mut acc);
        self.max_acc = acc;
        if let Ok(mm) = stats::moving_mean(m, 300 * epm, 1, 300 * epm, true) {
            let mn = mm.iter().copied().fold(f64::INFINITY, f64::min);
            self.min_acc_300 = nanmin(mn, self.min_acc_300);
        }
        for (k, l) in LEVELS.iter().enumerate() {
            let (lo, hi) = self.cut.bounds(*l);
            let c = m.iter().filter(|&&v| v >= lo && v < hi).count();
            self.level_min[k] += c as f64 / epmf;
        }
        for (b, &blen) in self.bout_lens.iter().enumerate() {
            for (k, l) in LEVELS.iter().enumerate() {
                let (lo, hi) = self.cut.bounds(*l);
                self.bouts[b][k] += bout_minutes(
                    m,
                    lo,
                    hi,
                    self.epoch_s,
                    blen,
                    self.bout_crit,
                    self.closed,
                    self.bout_metric,
                );
            }
        }
        for (k, l) in FRAG_LEVELS.iter().enumerate() {
            let (lo, hi) = self.cut.bounds(*l);
            let mask: Vec<bool> = m60.iter().map(|&v| v >= lo && v < hi).collect();
            let (lens, _, vals) = stats::rle(&mask);
            self.frag[k].extend(lens.iter().zip(&vals).filter(|(_, v)| **v).map(|(l, _)| *l));
        }
        self.alphas.push(dfa(m).0);
        for (j, &t) in ead_thresholds().iter().enumerate() {
            let mask: Vec<bool> = m60.iter().map(|&v| v <= t).collect();
            let (lens, _, vals) = stats::rle(&mask);
            for (l, v) in lens.iter().zip(&vals) {
                if *v {
                    self.ead_le[j].push(*l);
                } else {
                    self.ead_gt[j].push(*l);
                }
            }
        }
        let fs = 1.0 / self.epoch_s as f64;
        for (k, &minutes) in FEATURE_MINUTES.iter().enumerate() {
            let wlen = minutes * (60 / self.epoch_s.max(1));
            let skip = ((wlen as f64 * 0.5) as usize).max(1);
            if wlen > m.len() || wlen == 0 {
                continue;
            }
            let rows = (m.len() - wlen) / skip + 1;
            for r in 0..rows {
                let w = &m[r * skip..r * skip + wlen];
                let [pss, flat, ent] = features::spectral_features(w, fs, 2, 0.0, 10.0);
                self.feats[k].push([
                    features::signal_entropy(w),
                    features::sample_entropy(w, 4, 1.0),
                    features::permutation_entropy(w, 3, 1, true),
                    pss,
                    flat,
                    ent,
                    features::sparc(w, fs, 4, 10.0, 0.05),
                ]);
            }
        }
    }

    /// The day's values in SKDH's column order (see [`super::wake_columns`]).
    pub fn finish(&self) -> Vec<f64> {
        let mut out = Vec::new();
        // intensity gradient
        if self.used {
            let mut lx = Vec::new();
            let mut ly = Vec::new();
            let edges = ig_edges();
            for (k, &h) in self.hist.iter().enumerate() {
                if h > 0.0 {
                    lx.push(((edges[k + 1] + edges[k]) / 2.0 * 1000.0).ln());
                    ly.push(h.ln());
                }
            }
            if ly.len() <= 1 {
                out.extend([f64::NAN; 3]);
            } else {
                let f = stats::linregress(&lx, &ly);
                out.extend([f.slope, f.intercept, f.r * f.r]);
            }
        } else {
            out.extend([0.0; 3]);
        }
        out.extend(&self.max_acc);
        out.push(self.min_acc_300);
        out.extend(self.level_min);
        for k in 0..5 {
            for b in &self.bouts {
                out.push(b[k]);
            }
        }
        for l in &self.frag {
            if self.used {
                out.extend([
                    frag::average_duration(l),
                    frag::transition_probability(l),
                    frag::gini_index(l),
                    frag::average_hazard(l),
                    frag::power_law(l),
                ]);
            } else {
                out.extend([0.0; 5]);
            }
        }
        if self.alphas.is_empty() {
            out.extend([0.0, 0.0]);
        } else {
            let a = stats::mean(&self.alphas);
            out.extend([a, abi(a)]);
        }
        if self.used {
            let th = ead_thresholds();
            let mut best: Option<(f64, usize)> = None;
            for j in 0..th.len() {
                let d = (frag::average_duration(&self.ead_le[j])
                    - frag::average_duration(&self.ead_gt[j]))
                .abs();
                if d.is_nan() {
                    continue;
                }
                if best.is_none_or(|(b, _)| d < b) {
                    best = Some((d, j));
                }
            }
            match best {
                Some((_, j)) => out.extend([th[j], frag::average_duration(&self.ead_le[j])]),
                None => out.extend([f64::NAN, f64::NAN]),
            }
        } else {
            out.extend([0.0, 0.0]);
        }
        for f in &self.feats {
            if f.is_empty() {
                out.extend([0.0; 7]);
            } else {
                for k in 0..7 {
                    out.push(f.iter().map(|r| r[k]).sum::<f64>() / f.len() as f64);
                }
            }
        }
        out
    }
}

fn nanmax(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else {
        a.max(b)
    }
}

fn nanmin(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else {
        a.min(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragmentation_matches_skdh_docstrings() {
        // lengths of 1-runs in SKDH's docstring example: [2, 1, 3]
        let l = [2usize, 1, 3];
        assert_eq!(frag::average_duration(&l), 2.0);
        assert_eq!(frag::transition_probability(&l), 0.5);
        assert!((frag::gini_index(&l) - 0.333333).abs() < 1e-6);
        assert!((frag::average_hazard(&l) - 0.61111111).abs() < 1e-8);
        assert!((frag::power_law(&l) - 1.7749533004219864).abs() < 1e-12);
    }

    #[test]
    fn ead_grid_is_numpy_arange() {
        let t = ead_thresholds();
        assert_eq!(t.len(), 999);
        assert_eq!(t[214], 0.021500000000000002);
        assert_eq!(t[2], 0.00030000000000000003);
    }

    #[test]
    fn bouts_of_metric_4() {
        // 5 s epochs: 2 min in level, 30 s out, 2 min in
        let mut m = vec![0.2; 24];
        m.extend(vec![0.0; 6]);
        m.extend(vec![0.2; 24]);
        // SKDH treats the first and last 6 epochs as breaks (its centred 1-min means do not
        // reach them), so 2 x 18 epochs count
        let b = bout_minutes(&m, 0.11, 1e5, 5, 1, 0.8, false, 4);
        assert_eq!(b, 3.0);
        // metric 3 also counts the window that ends in the gap
        assert!(bout_minutes(&m, 0.11, 1e5, 5, 1, 0.8, false, 3) > 3.0);
        assert_eq!(bout_minutes(&m[..5], 0.11, 1e5, 5, 1, 0.8, false, 4), 0.0);
    }
}
