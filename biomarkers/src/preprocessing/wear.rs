//! Wear detection: which parts of a recording the device was worn, as `[start, stop)` sample
//! index pairs (SKDH's `wear` array).
//!
//! * [`accel_threshold`]: SKDH `AccelThresholdWearDetection` (van Hees), the default;
//! * [`choi`]: SKDH `CountWearDetection` (Choi 2011 on ActiGraph-like counts);
//! * [`cta`]: SKDH `CtaWearDetection` (Zhou 2015, temperature and acceleration);
//! * [`detach`]: SKDH `DETACH` (Vert 2022, temperature change and acceleration).
//!
//! Like SKDH, a wear bout that runs to the end of the recording stops at the last sample index
//! (`n - 1`).

use serde::{Deserialize, Serialize};

use super::Axes;
use super::filter::{Band, FilterError, butter, sosfiltfilt};
use super::resample::apply_resample;
use super::stats::{self, WindowError};

/// `[start, stop)` sample index pairs.
pub type Bouts = Vec<(usize, usize)>;

/// Why wear cannot be detected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WearError {
    /// The recording is shorter than the algorithm's window.
    #[error("recording too short for wear detection: {0}")]
    TooShort(#[from] WindowError),
    /// The method needs temperature and the recording has none.
    #[error("this wear method needs temperature and the recording has none")]
    NoTemperature,
    /// A parameter is out of range.
    #[error("invalid wear parameter: {0}")]
    Param(String),
    /// A filter could not be applied (too few samples).
    #[error("{0}")]
    Filter(#[from] FilterError),
    /// The input cannot be processed the way SKDH does (SKDH raises an error here as well).
    #[error("{0}")]
    Unsupported(String),
}

/// Shipping rules of the threshold method: hours at the start and at the end of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Shipping {
    /// `false`: none; `true`: the first and last 24 h.
    Flag(bool),
    /// The same number of hours at both ends.
    Hours(u32),
    /// Hours at the start and at the end.
    Pair([u32; 2]),
}

impl Shipping {
    fn hours(self) -> [u32; 2] {
        match self {
            Shipping::Flag(false) => [0, 0],
            Shipping::Flag(true) => [24, 24],
            Shipping::Hours(h) => [h, h],
            Shipping::Pair(p) => p,
        }
    }
}

/// Parameters of [`accel_threshold`] (SKDH names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccelThresholdParams {
    /// Per-axis standard deviation below which an axis counts as still, g. Default 0.013.
    pub sd_crit: f64,
    /// Per-axis range below which an axis counts as still, g. Default 0.067.
    pub range_crit: f64,
    /// Drop an initial wear bout of at most 3 h that starts the recording. Default true.
    pub apply_setup_criteria: bool,
    /// Shipping rules at the ends (false, true = 24 h, hours, or [start, end] hours). Default false.
    pub shipping_criteria: Shipping,
    /// Window length, minutes. Default 60.
    pub window_length: u32,
    /// Window step, minutes (the resolution of the result). Default 15.
    pub window_skip: u32,
}

impl Default for AccelThresholdParams {
    fn default() -> Self {
        Self {
            sd_crit: 0.013,
            range_crit: 0.067,
            apply_setup_criteria: true,
            shipping_criteria: Shipping::Flag(false),
            window_length: 60,
            window_skip: 15,
        }
    }
}

/// Accelerometer-threshold wear detection: a window is non-wear when at least two axes have
/// both a standard deviation below `sd_crit` and a range below `range_crit`; wear bouts are then
/// rescored three times against the neighbouring non-wear (van Hees 2013), with SKDH's setup and
/// shipping rules. `fs` in Hz. Errors for recordings shorter than one window.
pub fn accel_threshold(
    accel: Axes<'_>,
    fs: f64,
    p: &AccelThresholdParams,
) -> Result<Bouts, WearError> {
    if p.window_length == 0 || p.window_skip == 0 || p.window_skip > 60 {
        return Err(WearError::Param(
            "window_length and window_skip must be positive (window_skip at most 60 min)".into(),
        ));
    }
    let n = accel.len();
    let n_wlen = (f64::from(p.window_length) * 60.0 * fs) as usize;
    let n_wskip = (f64::from(p.window_skip) * 60.0 * fs) as usize;
    let mut counts: Vec<usize> = Vec::new();
    let g = gcd(n_wlen, n_wskip);
    for ax in accel.axes() {
        let still: Vec<bool> = if g >= 64 && n_wlen <= n {
            // windows are whole numbers of blocks of `g` samples: one pass per axis
            still_by_blocks(ax, n_wlen, n_wskip, g, p.sd_crit, p.range_crit)
        } else {
            let sd = stats::moving_sd(ax, n_wlen, n_wskip, false)?;
            let mx = stats::moving_max(ax, n_wlen, n_wskip, false)?;
            let mn = stats::moving_min(ax, n_wlen, n_wskip, false)?;
            (0..sd.len())
                .map(|k| sd[k] < p.sd_crit && (mx[k] - mn[k]) < p.range_crit)
                .collect()
        };
        if counts.is_empty() {
            counts = vec![0; still.len()];
        }
        for (c, s) in counts.iter_mut().zip(&still) {
            *c += usize::from(*s);
        }
    }
    let mut nonwear: Vec<bool> = counts.iter().map(|&c| c >= 2).collect();
    let n1 = stats::n_full(n, n_wlen, n_wskip);
    let n2 = stats::n_starts(n, n_wskip);
    if n1 >= 1 {
        let last = nonwear[n1 - 1];
        for v in nonwear.iter_mut().take(n2).skip(n1) {
            *v = last;
        }
    }
    let (starts, stops) = modify_wear_times(
        &nonwear,
        p.window_skip,
        p.apply_setup_criteria,
        p.shipping_criteria.hours(),
    );
    Ok(starts
        .iter()
        .zip(&stops)
        .map(|(&s, &e)| ((s * n_wskip).min(n - 1), (e * n_wskip).min(n - 1)))
        .collect())
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Mean, sum of squared deviations from it, maximum and minimum of a block (two passes over a
/// block that is still in cache; four partial sums so that the loops vectorise).
fn block_moments(c: &[f64]) -> [f64; 4] {
    let mut acc = [0.0f64; 4];
    let mut mx = [f64::NEG_INFINITY; 4];
    let mut mn = [f64::INFINITY; 4];
    let quads = c.chunks_exact(4);
    let tail = quads.remainder();
    for q in quads {
        for l in 0..4 {
            acc[l] += q[l];
            mx[l] = if q[l] > mx[l] { q[l] } else { mx[l] };
            mn[l] = if q[l] < mn[l] { q[l] } else { mn[l] };
        }
    }
    for &v in tail {
        acc[0] += v;
        mx[0] = if v > mx[0] { v } else { mx[0] };
        mn[0] = if v < mn[0] { v } else { mn[0] };
    }
    let mean = ((acc[0] + acc[1]) + (acc[2] + acc[3])) / c.len() as f64;
    let mut ss = [0.0f64; 4];
    let quads = c.chunks_exact(4);
    let tail = quads.remainder();
    for q in quads {
        for l in 0..4 {
            let d = q[l] - mean;
            ss[l] += d * d;
        }
    }
    for &v in tail {
        ss[0] += (v - mean) * (v - mean);
    }
    [
        mean,
        (ss[0] + ss[1]) + (ss[2] + ss[3]),
        mx[0].max(mx[1]).max(mx[2].max(mx[3])),
        mn[0].min(mn[1]).min(mn[2].min(mn[3])),
    ]
}

/// Per full window (`wlen` samples every `skip`, both multiples of `g`) whether the axis is
/// still: sample SD below `sd_crit` and range below `range_crit`. The windows are assembled
/// from per-block moments (Chan et al.'s pairwise update of the squared deviations), so every
/// sample is read twice instead of `wlen / skip` times; NaN makes a window not still, as in
/// [`stats::moving_sd`]. Untrimmed like SKDH: windows past the end are not still.
fn still_by_blocks(
    x: &[f64],
    wlen: usize,
    skip: usize,
    g: usize,
    sd_crit: f64,
    range_crit: f64,
) -> Vec<bool> {
    let n = x.len();
    let full = stats::n_full(n, wlen, skip);
    let blocks: Vec<[f64; 4]> = x[..(full - 1) * skip + wlen]
        .chunks_exact(g)
        .map(block_moments)
        .collect();
    let (per_win, per_skip) = (wlen / g, skip / g);
    let mut out: Vec<bool> = (0..full)
        .map(|k| {
            let bs = &blocks[k * per_skip..k * per_skip + per_win];
            let mean = bs.iter().map(|b| b[0]).sum::<f64>() / per_win as f64;
            let mut m2 = 0.0;
            let (mut mx, mut mn) = (f64::NEG_INFINITY, f64::INFINITY);
            for b in bs {
                let d = b[0] - mean;
                m2 += b[1] + g as f64 * d * d;
                mx = mx.max(b[2]);
                mn = mn.min(b[3]);
            }
            // not `max(0.0)`: a NaN must stay NaN (not still)
            let sd = (if m2 < 0.0 { 0.0 } else { m2 } / (wlen - 1) as f64).sqrt();
            sd < sd_crit && (mx - mn) < range_crit
        })
        .collect();
    out.resize(stats::n_starts(n, skip), false);
    out
}

/// SKDH's rescoring of wear blocks (in window units): returns wear starts and stops.
fn modify_wear_times(
    nonwear: &[bool],
    wskip: u32,
    setup_rule: bool,
    ship: [u32; 2],
) -> (Vec<usize>, Vec<usize>) {
    if nonwear.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let nph = (60 / wskip) as usize; // blocks per hour
    let nphf = nph as f64;
    let mut ch: Vec<usize> = vec![0];
    for i in 1..nonwear.len() {
        if nonwear[i] != nonwear[i - 1] {
            ch.push(i);
        }
    }
    ch.push(nonwear.len());
    if !nonwear[0] {
        ch.insert(0, 0);
    }
    if !nonwear[nonwear.len() - 1] {
        ch.push(nonwear.len());
    }
    // pattern: [NW][W][NW]...[W][NW]
    for _ in 0..3 {
        let last = ch[ch.len() - 1];
        let nw: Vec<f64> = ch
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[1] - c[0]) as f64 / nphf)
            .collect();
        let nwear = nw.len().saturating_sub(1);
        let mut remove = vec![false; ch.len()];
        for i in 0..nwear {
            let (ws, we) = (ch[2 * i + 1], ch[2 * i + 2]);
            let w = (we - ws) as f64 / nphf;
            let pct = w / (nw[i] + nw[i + 1]);
            let rule6 = w <= 6.0 && w > 3.0 && pct < 0.3;
            let rule3 = w <= 3.0 && pct < 0.8;
            let ship_start = w <= 3.0 && we <= ship[0] as usize * nph && nw[i + 1] >= 1.0;
            let ship_end = w <= 3.0
                && (ws as i64) >= last as i64 - (ship[1] as usize * nph) as i64
                && nw[i] >= 1.0;
            if rule6 || rule3 || ship_start || ship_end {
                remove[2 * i + 1] = true;
                remove[2 * i + 2] = true;
            }
        }
        ch = ch
            .into_iter()
            .zip(remove)
            .filter(|(_, r)| !r)
            .map(|(c, _)| c)
            .collect();
    }
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    let mut i = 1;
    while i + 1 < ch.len() {
        starts.push(ch[i]);
        stops.push(ch[i + 1]);
        i += 2;
    }
    if setup_rule && !starts.is_empty() && starts[0] == 0 && stops[0] <= 3 * nph {
        starts.remove(0);
        stops.remove(0);
    }
    (starts, stops)
}

/// Parameters of [`cta`] (SKDH `CtaWearDetection` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CtaParams {
    /// Temperature at or above which the device is worn, deg C. Default 26.
    pub temp_threshold: f64,
    /// Per-axis standard deviation below which an axis counts as still, g. Default 0.003.
    pub sd_crit: f64,
    /// Window length, minutes. Default 1.
    pub window_length: u32,
}

impl Default for CtaParams {
    fn default() -> Self {
        Self {
            temp_threshold: 26.0,
            sd_crit: 0.003,
            window_length: 1,
        }
    }
}

/// Combined temperature and acceleration (CTA) wear detection in non-overlapping windows: wear at
/// or above the temperature threshold; non-wear below it when two axes are still; otherwise the
/// temperature trend decides (rising: wear, falling: non-wear, flat: the previous window's state).
pub fn cta(
    accel: Axes<'_>,
    temperature: Option<&[f64]>,
    fs: f64,
    p: &CtaParams,
) -> Result<Bouts, WearError> {
    let temp = temperature.ok_or(WearError::NoTemperature)?;
    let n = accel.len();
    let n_wlen = (f64::from(p.window_length) * 60.0 * fs) as usize;
    let tm = stats::moving_mean(&temp[..n.min(temp.len())], n_wlen, n_wlen, n_wlen, true)?;
    let mut still = vec![0usize; tm.len()];
    for ax in accel.axes() {
        let sd = stats::moving_sd(ax, n_wlen, n_wlen, true)?;
        for (k, s) in sd.iter().enumerate().take(still.len()) {
            if *s < p.sd_crit {
                still[k] += 1;
            }
        }
    }
    let m = tm.len();
    let mut wear = vec![-1i8; m];
    for k in 0..m {
        if tm[k] >= p.temp_threshold {
            wear[k] = 1;
        }
        if tm[k] < p.temp_threshold && still[k] >= 2 {
            wear[k] = 0;
        }
    }
    // SKDH assigns these with vectorised indexing: every right-hand side is read before writing
    let undecided: Vec<usize> = (1..m).filter(|&k| wear[k] == -1).collect();
    for &k in &undecided {
        wear[k] = i8::from(tm[k] > tm[k - 1]);
    }
    let snapshot = wear.clone();
    for &k in &undecided {
        if tm[k] == tm[k - 1] {
            wear[k] = snapshot[k - 1];
        }
    }
    let (_, starts, values) = stats::rle(&wear);
    let mut ws: Vec<usize> = Vec::new();
    let mut we: Vec<usize> = Vec::new();
    for (s, v) in starts.iter().zip(&values) {
        match v {
            1 => ws.push(s * n_wlen),
            0 => we.push(s * n_wlen),
            _ => {}
        }
    }
    if m > 0 && wear[0] == 0 && !we.is_empty() {
        we.remove(0);
    }
    if m > 0 && wear[m - 1] != 0 {
        we.push(n - 1);
    }
    if ws.len() != we.len() {
        return Err(WearError::Unsupported(
            "CTA wear: undecided first window gives unpaired wear bounds (SKDH fails here too)"
                .into(),
        ));
    }
    Ok(ws.into_iter().zip(we).collect())
}

/// Parameters of [`choi`] (SKDH `CountWearDetection` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChoiParams {
    /// Minutes of zero counts that make non-wear. Default 90.
    pub nonwear_window_min: u32,
    /// Epoch length of the counts, seconds. Default 60.
    pub epoch_seconds: u32,
}

impl Default for ChoiParams {
    fn default() -> Self {
        Self {
            nonwear_window_min: 90,
            epoch_seconds: 60,
        }
    }
}

const AG_B: [f64; 9] = [
    -0.009341062898525,
    -0.02547028965936,
    -0.004235264826105,
    0.04415241545642,
    0.03649371834776,
    -0.01189396193474,
    -0.02291739062315,
    -0.00678816386231,
    0.0,
];
const AG_A: [f64; 9] = [
    1.0,
    -3.63367395910957,
    5.03689812757486,
    -3.09612247819666,
    0.50620507633883,
    0.32421701566682,
    -0.15685485875559,
    0.0194913020589,
    0.0,
];

/// Steady-state initial conditions of a direct-form filter (scipy `lfilter_zi`).
fn lfilter_zi(b: &[f64], a: &[f64]) -> Vec<f64> {
    let n = a.len();
    let m = n - 1;
    // (I - A) zi = B with A the transposed companion matrix of a
    let mut mat = vec![vec![0.0; m]; m];
    for (i, row) in mat.iter_mut().enumerate() {
        row[i] = 1.0;
        // companion(a).T[i][0] = -a[i+1], companion(a).T[i][i+1] = 1
        row[0] += a[i + 1];
        if i + 1 < m {
            row[i + 1] -= 1.0;
        }
    }
    let mut rhs: Vec<f64> = (0..m).map(|i| b[i + 1] - a[i + 1] * b[0]).collect();
    // Gaussian elimination with partial pivoting
    for c in 0..m {
        let piv = (c..m)
            .max_by(|&x, &y| mat[x][c].abs().total_cmp(&mat[y][c].abs()))
            .unwrap_or(c);
        mat.swap(c, piv);
        rhs.swap(c, piv);
        let d = mat[c][c];
        if d == 0.0 {
            continue;
        }
        for r in c + 1..m {
            let f = mat[r][c] / d;
            if f != 0.0 {
                let pivot_row = mat[c].clone();
                for (a, b) in mat[r].iter_mut().zip(&pivot_row).skip(c) {
                    *a -= f * b;
                }
                rhs[r] -= f * rhs[c];
            }
        }
    }
    let mut zi = vec![0.0; m];
    for c in (0..m).rev() {
        let mut s = rhs[c];
        for k in c + 1..m {
            s -= mat[c][k] * zi[k];
        }
        zi[c] = if mat[c][c] == 0.0 { 0.0 } else { s / mat[c][c] };
    }
    zi
}

/// Direct-form II transposed filtering with initial state `z` (scipy `lfilter`, a\[0\] = 1).
fn lfilter(b: &[f64], a: &[f64], x: &[f64], z: &mut [f64]) -> Vec<f64> {
    let m = z.len();
    x.iter()
        .map(|&v| {
            let y = b[0] * v + z[0];
            for k in 0..m {
                let next = if k + 1 < m { z[k + 1] } else { 0.0 };
                z[k] = b[k + 1] * v + next - a[k + 1] * y;
            }
            y
        })
        .collect()
}

/// ActiGraph-like activity counts per epoch and axis (SKDH `get_activity_counts`): resampled to
/// 30 Hz, band-pass filtered with ActiGraph's IIR coefficients, scaled, rectified, thresholded
/// (< 4 -> 0), capped at 128, floored, averaged to 10 Hz and summed per epoch. Counts.
pub fn activity_counts(
    time: &[f64],
    accel: Axes<'_>,
    fs: f64,
    epoch_seconds: u32,
) -> Result<[Vec<f64>; 3], WearError> {
    let axes = accel.axes();
    let rs = apply_resample(time, fs, 30.0, &axes, true)?;
    let zi = lfilter_zi(&AG_B, &AG_A);
    let gain = 3.0 / 4096.0 / (2.6 / 256.0) * 237.5;
    let block = epoch_seconds as usize * 10;
    let mut out: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (k, d) in rs.data.iter().enumerate() {
        if d.is_empty() {
            return Err(WearError::TooShort(WindowError::TooShort { wlen: 3, n: 0 }));
        }
        let mut z: Vec<f64> = zi.iter().map(|v| v * d[0]).collect();
        let y = lfilter(&AG_B, &AG_A, d, &mut z);
        let trimmed: Vec<f64> = y
            .iter()
            .map(|v| {
                let a = (v * gain).abs();
                let a = if a < 4.0 { 0.0 } else { a };
                a.min(128.0).floor()
            })
            .collect();
        let tenhz = stats::moving_mean(&trimmed, 3, 3, 3, true)?;
        let ep = stats::moving_mean(&tenhz, block, block, block, true)?;
        out[k] = ep.into_iter().map(|v| v * block as f64).collect();
    }
    Ok(out)
}

/// Choi (2011) wear detection on activity counts: non-wear is a run of zero-count epochs longer
/// than `nonwear_window_min`, where interruptions of at most 2 min flanked by at least 30 min of
/// zeros do not break the run.
pub fn choi(time: &[f64], accel: Axes<'_>, fs: f64, p: &ChoiParams) -> Result<Bouts, WearError> {
    if p.epoch_seconds == 0 || p.nonwear_window_min == 0 {
        return Err(WearError::Param(
            "epoch_seconds and nonwear_window_min must be positive".into(),
        ));
    }
    let c = activity_counts(time, accel, fs, p.epoch_seconds)?;
    let n_ep = c[0].len();
    let counts: Vec<f64> = (0..n_ep)
        .map(|i| (c[0][i] * c[0][i] + c[1][i] * c[1][i] + c[2][i] * c[2][i]).sqrt())
        .collect();
    let epoch_min = f64::from(p.epoch_seconds) / 60.0;
    let wlen = (f64::from(p.nonwear_window_min) / epoch_min) as usize;
    let wlen_2 = (2.0 / epoch_min) as usize;
    let wlen_30 = (30.0 / epoch_min) as usize;
    let mut state: Vec<i8> = counts.iter().map(|&v| i8::from(v > 0.0)).collect();
    let (lengths, starts, values) = stats::rle(&state);
    let nr = lengths.len();
    for r in 1..nr.saturating_sub(1) {
        if lengths[r] <= wlen_2
            && values[r] == 1
            && lengths[r - 1] >= wlen_30
            && lengths[r + 1] >= wlen_30
        {
            for v in &mut state[starts[r]..starts[r] + lengths[r]] {
                *v = -1;
            }
        }
    }
    let active: Vec<bool> = state.iter().map(|&v| v > 0).collect();
    let (lengths, starts, values) = stats::rle(&active);
    let mut nw_s = Vec::new();
    let mut nw_e = Vec::new();
    for i in 0..lengths.len() {
        if lengths[i] > wlen && !values[i] {
            nw_s.push(starts[i]);
            nw_e.push(starts[i] + lengths[i]);
        }
    }
    let samples = (f64::from(p.epoch_seconds) * fs) as usize;
    let mut bouts: Bouts = invert(&nw_s, &nw_e, 0, n_ep)
        .into_iter()
        .map(|(s, e)| (s * samples, e * samples))
        .collect();
    if let Some(last) = bouts.last_mut()
        && last.1 == n_ep * samples
    {
        last.1 = time.len().saturating_sub(1);
    }
    Ok(bouts)
}

/// The gaps between `[starts, stops)` within `[zero, end)` (SKDH `invert_indices`).
fn invert(starts: &[usize], stops: &[usize], zero: usize, end: usize) -> Bouts {
    if starts.is_empty() {
        return vec![(zero, end)];
    }
    let mut inv_stops: Vec<usize> = starts.to_vec();
    inv_stops.push(end);
    let mut inv_starts = vec![0];
    inv_starts.extend_from_slice(stops);
    inv_starts
        .into_iter()
        .zip(inv_stops)
        .filter(|(s, e)| s != e)
        .collect()
}

/// Parameters of [`detach`] (SKDH `DETACH` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetachParams {
    /// Per-axis standard deviation below which an axis counts as still, g. Default 0.008.
    pub sd_thresh: f64,
    /// Low temperature threshold, deg C. Default 26.
    pub low_temperature_threshold: f64,
    /// High temperature threshold, deg C. Default 30.
    pub high_temperature_threshold: f64,
    /// Temperature decrease rate for a non-wear start, deg C/min. Default -0.2.
    pub decrease_threshold: f64,
    /// Temperature increase rate for a non-wear end, deg C/min. Default 0.1.
    pub increase_threshold: f64,
    /// Number of still axes needed, 1 to 3. Default 2.
    pub n_axes_threshold: usize,
    /// Window size, seconds (1 to 15). Default 1.
    pub window_size: u32,
}

impl Default for DetachParams {
    fn default() -> Self {
        Self {
            sd_thresh: 0.008,
            low_temperature_threshold: 26.0,
            high_temperature_threshold: 30.0,
            decrease_threshold: -0.2,
            increase_threshold: 0.1,
            n_axes_threshold: 2,
            window_size: 1,
        }
    }
}

/// DETACH wear detection (Vert 2022): a non-wear bout starts where enough axes are still now and
/// over 90 % of the next 5 minutes while the (low-passed) temperature falls or is low, and ends
/// at the first later window with movement and a rising or high temperature.
pub fn detach(
    accel: Axes<'_>,
    temperature: Option<&[f64]>,
    fs: f64,
    p: &DetachParams,
) -> Result<Bouts, WearError> {
    let temp = temperature.ok_or(WearError::NoTemperature)?;
    let n = accel.len();
    if temp.len() < n {
        return Err(WearError::Param(
            "temperature shorter than acceleration".into(),
        ));
    }
    let n_ax = p.n_axes_threshold.clamp(1, 3);
    let wsize = p.window_size.clamp(1, 15);
    let wlen_ds = (fs * f64::from(wsize)) as usize;
    let fs_ds = 1.0 / f64::from(wsize);
    let wlen = (fs * 60.0) as usize;
    let wlen_5min = (fs * 300.0) as usize;
    let wlen_ds_5min = (fs_ds * 300.0) as usize;
    if wlen_ds == 0 || wlen == 0 {
        return Err(WearError::Param("sampling rate too low for DETACH".into()));
    }

    let mut n_fwd = vec![0u8; n];
    for ax in accel.axes() {
        let sd = stats::moving_sd(ax, wlen, 1, false)?;
        for (c, s) in n_fwd.iter_mut().zip(&sd) {
            if *s < p.sd_thresh {
                *c += 1;
            }
        }
    }
    let temp_ds = stats::moving_mean(&temp[..n], wlen_ds, wlen_ds, wlen_ds, true)?;
    let sos = butter(2, Band::Low(2.0 * 0.005 / fs_ds))?;
    let temp_f = sosfiltfilt(&sos, &temp_ds)?;
    let m = temp_ds.len();
    let delta: Vec<f64> = (0..m)
        .map(|i| {
            let prev = if i == 0 { 1.0 } else { temp_f[i - 1] };
            (temp_f[i] - prev) * 60.0 * fs_ds
        })
        .collect();
    // backward-looking counts: the forward ones shifted by wlen - 1 (circularly, as SKDH)
    let shift = (wlen - 1) % n.max(1);
    let n_bwd: Vec<u8> = (0..n).map(|i| n_fwd[(i + n - shift) % n]).collect();
    let ind = |v: &[u8]| -> Vec<f64> {
        v.iter()
            .map(|&c| f64::from(u8::from(c as usize >= n_ax)))
            .collect()
    };
    let perc_fwd = stats::moving_mean(&ind(&n_fwd), wlen_5min, wlen_ds, wlen_5min, false)?;
    let perc_bwd = stats::moving_mean(&ind(&n_bwd), wlen_5min, wlen_ds, wlen_5min, false)?;
    let fwd_ds: Vec<u8> = n_fwd.iter().step_by(wlen_ds).take(m).copied().collect();
    let bwd_ds: Vec<u8> = n_bwd.iter().step_by(wlen_ds).take(m).copied().collect();
    let max_t = stats::moving_max(&temp_f, wlen_ds_5min, 1, false)?;
    let min_t = stats::moving_min(&temp_f, wlen_ds_5min, 1, false)?;
    let avg_d = stats::moving_mean(&delta, wlen_ds_5min, 1, wlen_ds_5min, false)?;

    let starts: Vec<usize> = (0..m)
        .filter(|&i| fwd_ds[i] as usize >= n_ax && perc_fwd[i] >= 0.9)
        .collect();
    let stops: Vec<usize> = (0..m)
        .filter(|&i| {
            bwd_ds[i] == 0
                && perc_bwd[i] <= 0.5
                && (avg_d[i] > p.increase_threshold || min_t[i] > p.low_temperature_threshold)
        })
        .collect();
    let mut prev_end = 0usize;
    let mut nw_s = Vec::new();
    let mut nw_e = Vec::new();
    for &s in &starts {
        if s < prev_end {
            continue;
        }
        let end_initial = s + (fs_ds * 300.0) as usize;
        let valid = (max_t[s] < p.high_temperature_threshold && avg_d[s] < p.decrease_threshold)
            || max_t[s] < p.low_temperature_threshold;
        if !valid {
            continue;
        }
        let k = stops.partition_point(|&e| e <= end_initial);
        let end = stops.get(k).copied().unwrap_or(m);
        nw_s.push(s);
        nw_e.push(end);
        prev_end = end;
    }
    let mut bouts: Bouts = invert(&nw_s, &nw_e, 0, m)
        .into_iter()
        .map(|(s, e)| (s * wlen_ds, e * wlen_ds))
        .collect();
    match bouts.last_mut() {
        Some(last) => {
            if last.1 == m * wlen_ds {
                last.1 = n - 1;
            }
        }
        None => {
            return Err(WearError::Unsupported(
                "DETACH found no wear at all (SKDH fails here too)".into(),
            ));
        }
    }
    Ok(bouts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescoring_follows_skdh_rules() {
        // 4 blocks per hour; NW 2 h, W 1 h, NW 2 h, W 20 h
        let mut nw = vec![true; 8];
        nw.extend(vec![false; 4]);
        nw.extend(vec![true; 8]);
        nw.extend(vec![false; 80]);
        let (s, e) = modify_wear_times(&nw, 15, true, [0, 0]);
        assert_eq!((s, e), (vec![20], vec![100]));
        // 2 h wear at the start, 2 h non-wear, then wear: only the setup rule drops it
        let mut nw = vec![false; 8];
        nw.extend(vec![true; 8]);
        nw.extend(vec![false; 80]);
        let (s, _) = modify_wear_times(&nw, 15, true, [0, 0]);
        assert_eq!(s, vec![16]);
        let (s, _) = modify_wear_times(&nw, 15, false, [0, 0]);
        assert_eq!(s, vec![0, 16]);
        // shipping rule: short wear within the first 4 h followed by >= 1 h non-wear
        let (s, _) = modify_wear_times(&nw, 15, false, [4, 0]);
        assert_eq!(s, vec![16]);
    }

    #[test]
    fn lfilter_zi_gives_steady_state() {
        let zi = lfilter_zi(&AG_B, &AG_A);
        let mut z = zi.clone();
        let y = lfilter(&AG_B, &AG_A, &[1.0; 50], &mut z);
        let dc: f64 = AG_B.iter().sum::<f64>() / AG_A.iter().sum::<f64>();
        assert!(y.iter().all(|v| (v - dc).abs() < 1e-9));
    }

    #[test]
    fn block_windows_agree_with_moving_statistics() {
        // still and moving stretches, windows of 4 blocks every block (and every 2 blocks)
        let x: Vec<f64> = (0..10_000)
            .map(|i| {
                let still = (i / 1500) % 2 == 0;
                let amp = if still { 0.002 } else { 0.2 };
                1.0 + amp * ((i as f64) * 0.7).sin() + if i % 997 == 0 { 0.05 } else { 0.0 }
            })
            .collect();
        for (wlen, skip) in [(400, 100), (400, 200), (300, 300)] {
            let g = gcd(wlen, skip);
            let got = still_by_blocks(&x, wlen, skip, g, 0.013, 0.067);
            let sd = stats::moving_sd(&x, wlen, skip, false).unwrap();
            let mx = stats::moving_max(&x, wlen, skip, false).unwrap();
            let mn = stats::moving_min(&x, wlen, skip, false).unwrap();
            let want: Vec<bool> = (0..sd.len())
                .map(|k| sd[k] < 0.013 && (mx[k] - mn[k]) < 0.067)
                .collect();
            assert_eq!(got, want, "wlen {wlen} skip {skip}");
            assert!(want.iter().any(|&v| v) && want.iter().any(|&v| !v));
        }
    }

    #[test]
    fn invert_indices() {
        assert_eq!(invert(&[], &[], 0, 10), vec![(0, 10)]);
        assert_eq!(invert(&[2, 6], &[4, 10], 0, 10), vec![(0, 2), (4, 6)]);
    }
}
