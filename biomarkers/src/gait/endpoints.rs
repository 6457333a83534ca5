//! Per-step and per-bout gait endpoints from quality-checked gait events, as SKDH's
//! `gait_metrics` (names, units and definitions; see SKDH's documentation for the references).
//!
//! A step `i` "has" a following step (offset 1) or stride (offset 2) when step `i + offset` is
//! in the same bout and `forward cycles[i] >= offset`; endpoints needing them are NaN otherwise.
//! Asymmetries are the difference to the next step's value (`x[i + 1] - x[i]`).

use super::signal::{
    PeakOptions, autocorrelation, autocovariance_fn, cumtrapz, detrend, find_peaks, nanmean,
    nanmedian, nanstd, rfft_abs, sparc,
};
use crate::preprocessing::filter::{Band, butter, sosfiltfilt};

/// Gravity used by SKDH to turn g·s² into metres.
const G: f64 = 9.81;

/// The events of all steps (parallel vectors), with the processed bout each belongs to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepEvents {
    /// Index of the step's bout in the list of processed bouts.
    pub bout: Vec<usize>,
    /// Initial contact, bout sample index.
    pub ic: Vec<usize>,
    /// Same-foot final contact, bout sample index.
    pub fc: Vec<usize>,
    /// Opposite-foot final contact, bout sample index.
    pub fc_opp_foot: Vec<usize>,
    /// Forward cycles (0-2).
    pub forward_cycles: Vec<u8>,
}

/// The processed signal of one bout that endpoints read.
#[derive(Debug, Clone)]
pub struct BoutSignal {
    /// Corrected, filtered, detrended acceleration (three columns), g.
    pub accel: [Vec<f64>; 3],
    /// Vertical axis index.
    pub v_axis: usize,
}

/// One endpoint column.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// SKDH's column name.
    pub name: &'static str,
    /// Unit, `None` when dimensionless.
    pub unit: Option<&'static str>,
    /// One value per step; NaN where undefined.
    pub values: Vec<f64>,
}

struct Ctx<'a> {
    ev: &'a StepEvents,
    bouts: &'a [BoutSignal],
}

impl Ctx<'_> {
    fn n(&self) -> usize {
        self.ev.ic.len()
    }
    fn has(&self, i: usize, offset: usize) -> bool {
        i + offset < self.n()
            && self.ev.bout[i + offset] == self.ev.bout[i]
            && usize::from(self.ev.forward_cycles[i]) >= offset
    }
    fn per_step(&self, offset: usize, f: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..self.n())
            .map(|i| if self.has(i, offset) { f(i) } else { f64::NAN })
            .collect()
    }
    fn vert(&self, i: usize) -> &[f64] {
        let b = &self.bouts[self.ev.bout[i]];
        &b.accel[b.v_axis.min(2)]
    }
    fn asym(&self, x: &[f64]) -> Vec<f64> {
        self.per_step(1, |i| x[i + 1] - x[i])
    }
}

fn range(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mn = x.iter().copied().fold(f64::INFINITY, f64::min);
    mx - mn
}

/// Inverted-pendulum step length, m, for COM excursion `dh` and pendulum length `l`.
fn pendulum(l: f64, dh: f64) -> f64 {
    2.0 * (2.0 * l * dh - dh * dh).sqrt()
}

/// Every per-step and per-bout endpoint SKDH's `GaitLumbar` reports, in a stable order.
/// `leg_length` (m) enables the spatial endpoints (NaN without it).
pub fn compute(
    fs: f64,
    leg_length: Option<f64>,
    ev: &StepEvents,
    bouts: &[BoutSignal],
) -> Vec<Endpoint> {
    let c = Ctx { ev, bouts };
    let n = c.n();
    let ic = |i: usize| ev.ic[i] as f64;
    let fc = |i: usize| ev.fc[i] as f64;
    let fco = |i: usize| ev.fc_opp_foot[i] as f64;
    let mut out: Vec<Endpoint> = Vec::new();
    let mut push = |name, unit, values: Vec<f64>| out.push(Endpoint { name, unit, values });

    let stride_time = c.per_step(2, |i| (ic(i + 2) - ic(i)) / fs);
    let stance_time: Vec<f64> = (0..n).map(|i| (fc(i) - ic(i)) / fs).collect();
    let swing_time = c.per_step(2, |i| (ic(i + 2) - fc(i)) / fs);
    let step_time = c.per_step(1, |i| (ic(i + 1) - ic(i)) / fs);
    let ids: Vec<f64> = (0..n).map(|i| (fco(i) - ic(i)) / fs).collect();
    let tds = c.per_step(1, |i| (fco(i + 1) - ic(i + 1)) / fs);
    let ds: Vec<f64> = ids.iter().zip(&tds).map(|(a, b)| a + b).collect();
    let ss = c.per_step(1, |i| (ic(i + 1) - fco(i)) / fs);

    // centre-of-mass vertical excursion, model 1 (whole step) and model 2 (split at the FC)
    let dh1 = c.per_step(1, |i| {
        let v = c.vert(i);
        let (a, b) = (ev.ic[i], ev.ic[i + 1].min(v.len()));
        if a >= b {
            return f64::NAN;
        }
        let vel = cumtrapz(&v[a..b], 1.0 / fs);
        range(&cumtrapz(&vel, 1.0 / fs)) * G
    });
    let mut dh2 = vec![f64::NAN; n];
    let mut dh2p = vec![f64::NAN; n];
    for i in 0..n {
        if !c.has(i, 1) {
            continue;
        }
        let v = c.vert(i);
        let (i1, i2, ifc) = (ev.ic[i], ev.ic[i + 1], ev.fc_opp_foot[i]);
        if i2 < i1 || v.is_empty() {
            continue;
        }
        let i0 = i1.saturating_sub(i2 - i1);
        let i3 = (i2 + (i2 - i1)).min(v.len() - 1);
        if i3 <= i0 {
            continue;
        }
        let vel = detrend(&cumtrapz(&v[i0..i3], 1.0 / fs));
        let pos = cumtrapz(&vel, 1.0 / fs);
        let seg = |a: usize, b: usize| {
            let (a, b) = (
                a.saturating_sub(i0).min(pos.len()),
                b.saturating_sub(i0).min(pos.len()),
            );
            if a < b {
                range(&pos[a..b]) * G
            } else {
                f64::NAN
            }
        };
        dh2p[i] = seg(i1, ifc);
        dh2[i] = seg(ifc, i2);
    }

    // spatial endpoints
    let nan = vec![f64::NAN; n];
    let (step_len, stride_len, speed, step_len1, stride_len1, speed1) = match leg_length {
        Some(l) => {
            let mut lp = vec![f64::NAN; n];
            let mut seen: Vec<usize> = ev.bout.clone();
            seen.sort_unstable();
            seen.dedup();
            for b in seen {
                let idx: Vec<usize> = (0..n).filter(|&i| ev.bout[i] == b).collect();
                let m_ids = nanmedian(&idx.iter().map(|&i| ids[i]).collect::<Vec<_>>());
                let m_ss = nanmedian(&idx.iter().map(|&i| ss[i]).collect::<Vec<_>>());
                // SKDH uses l'/l = 1.1 x (its docstring's polynomial is not what it computes)
                let v = 1.1 * (m_ids / m_ss) * l;
                for i in idx {
                    lp[i] = v;
                }
            }
            let sl: Vec<f64> = (0..n)
                .map(|i| pendulum(lp[i], dh2p[i]) + pendulum(l, dh2[i]))
                .collect();
            let strl = c.per_step(1, |i| sl[i + 1] + sl[i]);
            let sp: Vec<f64> = strl.iter().zip(&stride_time).map(|(a, b)| a / b).collect();
            let sl1: Vec<f64> = dh1.iter().map(|&d| pendulum(l, d)).collect();
            let strl1 = c.per_step(1, |i| sl1[i + 1] + sl1[i]);
            let sp1: Vec<f64> = strl1.iter().zip(&stride_time).map(|(a, b)| a / b).collect();
            (sl, strl, sp, sl1, strl1, sp1)
        }
        None => (
            nan.clone(),
            nan.clone(),
            nan.clone(),
            nan.clone(),
            nan.clone(),
            nan.clone(),
        ),
    };
    let cadence: Vec<f64> = step_time.iter().map(|t| 60.0 / t).collect();

    let covariance = |offset: usize| {
        c.per_step(offset, |i| {
            let v = c.vert(i);
            let (i1, i2) = (ev.ic[i], ev.ic[i + offset]);
            if i2 < i1 {
                return f64::NAN;
            }
            let i3 = i2 + (i2 - i1);
            if i3 > v.len() || i3 <= i1 {
                return f64::NAN;
            }
            autocorrelation(&v[i1..i3], i2 - i1)
        })
    };
    let intra_step = covariance(1);
    let intra_stride = covariance(2);

    let harmonic = c.per_step(2, |i| {
        let v = c.vert(i);
        let (i1, i2) = (ev.ic[i], ev.ic[i + 2].min(v.len()));
        if i1 > i2 {
            return f64::NAN;
        }
        let f = rfft_abs(&v[i1..i2], 1024);
        let stride_f = 1.0 / stride_time[i];
        // index of the rfft frequency (k / 1024 cycles per sample) closest to the stride frequency
        let mut best = 0usize;
        let mut best_d = f64::INFINITY;
        for k in 0..f.len() {
            let d = (k as f64 / 1024.0 * fs - stride_f).abs();
            if d < best_d {
                best_d = d;
                best = k;
            }
        }
        let ix: Vec<usize> = (1..=20)
            .map(|h| best * h)
            .filter(|&k| k < f.len())
            .collect();
        if ix.len() <= 10 {
            return f64::NAN;
        }
        let even: f64 = ix.iter().skip(1).step_by(2).map(|&k| f[k]).sum();
        let odd: f64 = ix.iter().step_by(2).map(|&k| f[k]).sum();
        even / odd
    });

    let stride_sparc = c.per_step(2, |i| {
        let b = &bouts[ev.bout[i]];
        let (i1, i2) = (ev.ic[i], ev.ic[i + 2].min(b.accel[0].len()));
        if i2 <= i1 {
            return f64::NAN;
        }
        let mag: Vec<f64> = (i1..i2)
            .map(|k| {
                (b.accel[0][k].powi(2) + b.accel[1][k].powi(2) + b.accel[2][k].powi(2)).sqrt() - 1.0
            })
            .collect();
        sparc(&mag, fs, 4, 10.0, 0.05)
    });

    // bout-level endpoints, repeated on each step of the bout
    let nb = bouts.len();
    let steps_of = |b: usize| -> Vec<usize> { (0..n).filter(|&i| ev.bout[i] == b).collect() };
    let mut pci = vec![f64::NAN; nb];
    let mut gsi = vec![f64::NAN; nb];
    let mut step_reg = vec![f64::NAN; nb];
    let mut stride_reg = vec![f64::NAN; nb];
    let max_lag = (4.5 * fs) as usize;
    let gsi_sos = if 20.0 / fs > 0.0 && 20.0 / fs < 1.0 {
        butter(4, Band::Low(20.0 / fs)).ok()
    } else {
        None
    };
    for b in 0..nb {
        let idx = steps_of(b);
        if idx.is_empty() {
            continue;
        }
        let phase: Vec<f64> = idx.iter().map(|&i| step_time[i] / stride_time[i]).collect();
        let psi_abs = nanmean(&phase.iter().map(|p| (p - 0.5).abs()).collect::<Vec<_>>());
        let psi_cv = nanstd(&phase, 1) / nanmean(&phase);
        pci[b] = 100.0 * (psi_cv + psi_abs / 0.5);

        let stride_lag = nanmedian(&idx.iter().map(|&i| stride_time[i]).collect::<Vec<_>>()) * fs;
        let step_lag = nanmedian(&idx.iter().map(|&i| step_time[i]).collect::<Vec<_>>()) * fs;
        let acc = &bouts[b].accel;
        if !stride_lag.is_nan() {
            let lag = stride_lag.round_ties_even();
            let filtered: Option<Vec<Vec<f64>>> = match &gsi_sos {
                Some(sos) => acc.iter().map(|a| sosfiltfilt(sos, a).ok()).collect(),
                None => Some(acc.to_vec()),
            };
            if let Some(fa) = filtered {
                let acs: Vec<Vec<f64>> = fa
                    .iter()
                    .map(|a| autocovariance_fn(a, max_lag, true))
                    .collect();
                let total: Vec<f64> = (0..max_lag)
                    .map(|k| acs.iter().map(|a| a[k]).sum())
                    .collect();
                let (pks, _) = find_peaks(&total, PeakOptions::default());
                if let Some(t_stride) = closest(&pks, lag) {
                    let k = (0.5 * t_stride as f64) as usize;
                    let s: f64 = acs.iter().map(|a| a[k].max(0.0)).sum();
                    gsi[b] = s.sqrt() / 3f64.sqrt();
                }
            }
        }
        let v = &acc[bouts[b].v_axis.min(2)];
        let acf = autocovariance_fn(v, max_lag, false);
        let (pks, _) = find_peaks(&acf, PeakOptions::default());
        if !step_lag.is_nan()
            && let Some(p) = closest(&pks, step_lag.round_ties_even())
        {
            step_reg[b] = acf[p];
        }
        if !stride_lag.is_nan()
            && let Some(p) = closest(&pks, stride_lag.round_ties_even())
        {
            stride_reg[b] = acf[p];
        }
    }
    let per_bout = |x: &[f64]| -> Vec<f64> { ev.bout.iter().map(|&b| x[b]).collect() };
    let sr = per_bout(&step_reg);
    let str_ = per_bout(&stride_reg);
    let acs: Vec<f64> = sr.iter().zip(&str_).map(|(a, b)| (a - b).abs()).collect();
    let ri: Vec<f64> = sr
        .iter()
        .zip(&str_)
        .map(|(a, b)| 1.0 - 2.0 * (b - a).abs() / (a + b))
        .collect();

    let s = Some("s");
    let m = Some("m");
    let mps = Some("m/s");
    push("stride time", s, stride_time.clone());
    push("stride time asymmetry", s, c.asym(&stride_time));
    push("stance time", s, stance_time.clone());
    push("stance time asymmetry", s, c.asym(&stance_time));
    push("swing time", s, swing_time.clone());
    push("swing time asymmetry", s, c.asym(&swing_time));
    push("step time", s, step_time.clone());
    push("step time asymmetry", s, c.asym(&step_time));
    push("initial double support", s, ids.clone());
    push("initial double support asymmetry", s, c.asym(&ids));
    push("terminal double support", s, tds.clone());
    push("terminal double support asymmetry", s, c.asym(&tds));
    push("double support", s, ds.clone());
    push("double support asymmetry", s, c.asym(&ds));
    push("single support", s, ss.clone());
    push("single support asymmetry", s, c.asym(&ss));
    push("m2 delta h", m, dh2);
    push("m2 delta h prime", m, dh2p);
    push("step length", m, step_len.clone());
    push("step length asymmetry", m, c.asym(&step_len));
    push("stride length", m, stride_len.clone());
    push("stride length asymmetry", m, c.asym(&stride_len));
    push("gait speed", mps, speed.clone());
    push("gait speed asymmetry", mps, c.asym(&speed));
    push("cadence", Some("steps/min"), cadence);
    push("m1 delta h", m, dh1);
    push("step length m1", m, step_len1.clone());
    push("step length m1 asymmetry", m, c.asym(&step_len1));
    push("stride length m1", m, stride_len1.clone());
    push("stride length m1 asymmetry", m, c.asym(&stride_len1));
    push("gait speed m1", mps, speed1.clone());
    push("gait speed m1 asymmetry", mps, c.asym(&speed1));
    push("intra-step covariance - V", None, intra_step);
    push("intra-stride covariance - V", None, intra_stride);
    push("harmonic ratio - V", None, harmonic);
    push("stride SPARC", None, stride_sparc);
    push("bout:phase coordination index", Some("%"), per_bout(&pci));
    push("bout:gait symmetry index", None, per_bout(&gsi));
    push("bout:step regularity - V", None, sr);
    push("bout:stride regularity - V", None, str_);
    push("bout:autocovariance symmetry - V", None, acs);
    push("bout:regularity index - V", None, ri);
    out
}

/// The peak closest to `lag` (the first on ties), like `pks[argmin(abs(pks - lag))]`.
fn closest(pks: &[usize], lag: f64) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for &p in pks {
        let d = (p as f64 - lag).abs();
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((p, d));
        }
    }
    best.map(|(p, _)| p)
}
