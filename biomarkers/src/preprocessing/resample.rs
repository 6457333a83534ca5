//! Resampling to another rate with an optional anti-aliasing filter, as SKDH's internal
//! `apply_resample`: integer down-sampling factors keep every k-th sample of the filtered
//! signal; other ratios interpolate linearly onto a regular time grid.

use super::filter::{
    Band, FILT_CHUNK, FilterError, cheby1, sosfiltfilt_chunks_rev, sosfiltfilt_padded,
};

/// numpy's `arange(0, stop, step)` length and values (what [`TimeGrid`] computes one by one).
#[cfg(test)]
fn arange(stop: f64, step: f64) -> Vec<f64> {
    let n = (stop / step).ceil();
    if n.is_nan() || n <= 0.0 {
        return Vec::new();
    }
    (0..n as usize).map(|i| i as f64 * step).collect()
}

/// The new time axis of [`apply_resample`], value by value without holding it: every `r`-th
/// original time (integer down-sampling factors) or numpy's `arange(0, stop, step) + t0`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TimeGrid<'a> {
    /// `time[k * r]`.
    Every {
        /// Original times.
        time: &'a [f64],
        /// Factor.
        r: usize,
    },
    /// `k * step + t0` for `k < len`.
    Arange {
        /// First time, unix s.
        t0: f64,
        /// Step, s.
        step: f64,
        /// Number of times.
        len: usize,
    },
}

impl<'a> TimeGrid<'a> {
    /// The grid [`apply_resample`] resamples `time` (non-empty) onto from `fs` to `goal_fs`.
    pub(crate) fn new(time: &'a [f64], fs: f64, goal_fs: f64) -> Self {
        let ratio = fs / goal_fs;
        if ratio.trunc() == ratio && goal_fs < fs {
            TimeGrid::Every {
                time,
                r: ratio as usize,
            }
        } else {
            let t0 = time.first().copied().unwrap_or(0.0);
            let step = 1.0 / goal_fs;
            let stop = (time.last().copied().unwrap_or(0.0) - t0) + 0.5 / goal_fs;
            // numpy's arange length, as `arange`
            let n = (stop / step).ceil();
            let len = if n.is_nan() || n <= 0.0 {
                0
            } else {
                n as usize
            };
            TimeGrid::Arange { t0, step, len }
        }
    }

    /// Number of times.
    pub(crate) fn len(&self) -> usize {
        match *self {
            TimeGrid::Every { time, r } => time.len().div_ceil(r.max(1)),
            TimeGrid::Arange { len, .. } => len,
        }
    }

    /// Time `k` (`k < len()`), unix s: the same value as the materialised axis holds.
    pub(crate) fn at(&self, k: usize) -> f64 {
        match *self {
            TimeGrid::Every { time, r } => time[k * r],
            TimeGrid::Arange { t0, step, .. } => k as f64 * step + t0,
        }
    }

    fn collect(&self) -> Vec<f64> {
        (0..self.len()).map(|k| self.at(k)).collect()
    }
}

/// Linear interpolation of `(xp, fp)` at `x`, clamped to the end values (numpy `interp`).
/// `xp` must increase; `x` may come in any order, but increasing `x` is the fast case.
pub fn interp(x: &[f64], xp: &[f64], fp: &[f64]) -> Vec<f64> {
    let n = xp.len().min(fp.len());
    let mut out = vec![0.0; x.len()];
    interp_into(x, &xp[..n], &[&fp[..n]], &mut [out.as_mut_slice()]);
    out
}

/// Where `v` falls on `xp` for [`interp`].
#[derive(Clone, Copy)]
enum Pos {
    /// NaN query.
    Nan,
    /// At or before the first point / at or after the last one: that point's value.
    At(usize),
    /// Between points `j` and `j + 1`: `v - xp[j]` and `xp[j + 1] - xp[j]`.
    Between(usize, f64, f64),
}

/// [`interp`] of several value arrays on the same abscissae at once: the bracketing index is
/// found once per query (walking forward from the previous one, so increasing queries cost
/// O(len(x) + len(xp))). Writes `out[k][i]` for `fps[k]`; every `fps[k]` is at least as long
/// as `xp` and every `out[k]` as long as `x`.
fn interp_into(x: &[f64], xp: &[f64], fps: &[&[f64]], out: &mut [&mut [f64]]) {
    let n = xp.len();
    if n == 0 {
        for o in out.iter_mut() {
            o.fill(f64::NAN);
        }
        return;
    }
    let mut j = 0usize;
    for (i, &v) in x.iter().enumerate() {
        let pos = if v.is_nan() {
            Pos::Nan
        } else if v <= xp[0] {
            Pos::At(0)
        } else if v >= xp[n - 1] {
            Pos::At(n - 1)
        } else {
            // here n >= 2 and xp[0] < v < xp[n - 1]: the last j with xp[j] <= v is in 0..n-1
            if xp[j] > v {
                j = xp.partition_point(|&p| p <= v).saturating_sub(1);
            } else {
                let mut steps = 0;
                while xp[j + 1] <= v {
                    j += 1;
                    steps += 1;
                    if steps == 16 {
                        // a long jump: search the rest
                        j += xp[j..].partition_point(|&p| p <= v).saturating_sub(1);
                        break;
                    }
                }
            }
            j = j.min(n - 2);
            Pos::Between(j, v - xp[j], xp[j + 1] - xp[j])
        };
        for (fp, o) in fps.iter().zip(out.iter_mut()) {
            o[i] = match pos {
                Pos::Nan => f64::NAN,
                Pos::At(k) => fp[k],
                Pos::Between(j, dv, dx) => {
                    let slope = (fp[j + 1] - fp[j]) / dx;
                    let y = slope * dv + fp[j];
                    if y.is_nan() { fp[j] } else { y }
                }
            };
        }
    }
}

/// A recording resampled to a new rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Resampled {
    /// New sample times, unix seconds.
    pub time: Vec<f64>,
    /// Resampled signals, in the order given.
    pub data: Vec<Vec<f64>>,
    /// The new sampling rate, Hz.
    pub fs: f64,
}

/// Resamples `data` (each as long as `time`) from `fs` to `goal_fs` Hz like SKDH's
/// `apply_resample`. When down-sampling (and `aa_filter`), a zero-phase 8th-order Chebyshev I
/// filter (0.05 dB ripple) at 0.8 / factor (integer factors) or goal_fs / fs of Nyquist runs first.
pub fn apply_resample(
    time: &[f64],
    fs: f64,
    goal_fs: f64,
    data: &[&[f64]],
    aa_filter: bool,
) -> Result<Resampled, FilterError> {
    if time.is_empty() {
        return Ok(Resampled {
            time: Vec::new(),
            data: data.iter().map(|_| Vec::new()).collect(),
            fs: goal_fs,
        });
    }
    let ratio = fs / goal_fs;
    let integer_ratio = ratio.trunc() == ratio;
    let grid = TimeGrid::new(time, fs, goal_fs);
    let time_rs: Vec<f64> = grid.collect();
    let sos = if ratio >= 1.0 && aa_filter {
        let wn = if integer_ratio {
            0.8 / ratio
        } else {
            goal_fs / fs
        };
        Some(cheby1(8, 0.05, Band::Low(wn))?)
    } else {
        None
    };
    // Up to four signals are filtered together (about twice as fast as two with 256-bit
    // vectors). When the time axes are ordered and the signals as long as them (always, for
    // recordings), the filtered signals are never held whole: they are resampled chunk by
    // chunk as the chunked filter hands them out.
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(data.len());
    if let Some(s) = &sos
        && data.iter().all(|d| d.len() == time.len())
        && is_sorted_finite(time)
    {
        let len = streaming_len(time, &grid);
        for group in data.chunks(4) {
            let mut outs: Vec<Vec<f64>> = group.iter().map(|_| vec![0.0; len]).collect();
            resample_streaming(s, time, &grid, group, |k, v| {
                for (o, x) in outs.iter_mut().zip(v) {
                    o[k] = *x;
                }
            })?;
            out.extend(outs);
        }
        return Ok(Resampled {
            time: time_rs,
            data: out,
            fs: goal_fs,
        });
    }
    for group in data.chunks(4) {
        let filtered;
        let srcs: Vec<&[f64]> = match &sos {
            Some(s) => {
                filtered = sosfiltfilt_padded(s, group)?;
                let edge = filtered.1;
                filtered
                    .0
                    .iter()
                    .zip(group)
                    .map(|(f, d)| &f[edge..edge + d.len()])
                    .collect()
            }
            None => group.to_vec(),
        };
        out.extend(resample_filtered(
            time,
            &time_rs,
            ratio,
            integer_ratio,
            &srcs,
        ));
    }
    Ok(Resampled {
        time: time_rs,
        data: out,
        fs: goal_fs,
    })
}

/// Whether `t` is non-decreasing and free of NaN.
fn is_sorted_finite(t: &[f64]) -> bool {
    t.first().is_none_or(|v| !v.is_nan()) && t.windows(2).all(|w| w[0] <= w[1])
}

/// Number of resampled values [`resample_streaming`] gives (`time` non-empty and ordered).
fn streaming_len(time: &[f64], grid: &TimeGrid<'_>) -> usize {
    match *grid {
        TimeGrid::Every { r, .. } => {
            // every r-th sample among those not after the last new time
            let last = grid.at(grid.len() - 1);
            time.partition_point(|&t| t <= last).div_ceil(r)
        }
        TimeGrid::Arange { len, .. } => len,
    }
}

/// Filtering (zero-phase, `sos`) and resampling of up to four signals as long as `time`, onto
/// `grid`, with the filtered signals handed out chunk by chunk from the end: the same values
/// as filtering whole and then [`resample_filtered`], without holding the filtered signals.
/// `emit(k, values)` receives resampled value `k` of every signal, for every `k` below
/// [`streaming_len`] once, `k` decreasing. `time` must be non-empty, non-decreasing and free of
/// NaN (then so is the grid).
fn resample_streaming(
    sos: &[super::filter::Section],
    time: &[f64],
    grid: &TimeGrid<'_>,
    group: &[&[f64]],
    mut emit: impl FnMut(usize, &[f64]),
) -> Result<(), FilterError> {
    let n = time.len();
    let lanes_n = group.len().min(4);
    let mut vals = [0.0f64; 4];
    if let TimeGrid::Every { r, .. } = *grid {
        let m = streaming_len(time, grid) * r;
        sosfiltfilt_chunks_rev(sos, group, FILT_CHUNK, &mut |start, lanes| {
            let end = (start + lanes[0].len()).min(m);
            if end <= start {
                return;
            }
            // multiples of r in [start, end), from the last one down
            let mut i = (end - 1) / r * r;
            while i >= start {
                for (v, l) in vals.iter_mut().zip(lanes) {
                    *v = l[i - start];
                }
                emit(i / r, &vals[..lanes_n]);
                if i < r {
                    break;
                }
                i -= r;
            }
        })?;
        return Ok(());
    }
    // Linear interpolation as `interp_into`: output k lies at or before the first sample, at or
    // after the last, or between samples j and j + 1 (j the last sample at or before it, at
    // most n - 2); it is written when the chunk holding `need(k)` (0, n - 1 or j) comes by.
    // With both axes ordered, `need` does not decrease with k, so one cursor walks both down.
    let len = grid.len();
    let (first, last) = (time[0], time[n - 1]);
    let mut k = len;
    let mut j = n.saturating_sub(2);
    // the filtered samples at the first index after the current chunk (its successor's first)
    let mut after = [0.0f64; 4];
    sosfiltfilt_chunks_rev(sos, group, FILT_CHUNK, &mut |start, lanes| {
        let end = start + lanes[0].len();
        let at = |l: usize, i: usize| -> f64 {
            if i < end {
                lanes[l][i - start]
            } else {
                after[l]
            }
        };
        while k > 0 {
            let v = grid.at(k - 1);
            if v <= first {
                if start > 0 {
                    break;
                }
                for (l, o) in vals.iter_mut().enumerate().take(lanes_n) {
                    *o = at(l, 0);
                }
            } else if v >= last {
                if n - 1 < start {
                    break;
                }
                for (l, o) in vals.iter_mut().enumerate().take(lanes_n) {
                    *o = at(l, n - 1);
                }
            } else {
                while time[j] > v {
                    j -= 1;
                }
                if j < start {
                    break;
                }
                let (dv, dx) = (v - time[j], time[j + 1] - time[j]);
                for (l, o) in vals.iter_mut().enumerate().take(lanes_n) {
                    let (f0, f1) = (at(l, j), at(l, j + 1));
                    let slope = (f1 - f0) / dx;
                    let y = slope * dv + f0;
                    *o = if y.is_nan() { f0 } else { y };
                }
            }
            emit(k - 1, &vals[..lanes_n]);
            k -= 1;
        }
        for (a, l) in after.iter_mut().zip(lanes) {
            *a = l[0];
        }
    })?;
    Ok(())
}

/// [`apply_resample`] of up to four signals (with its anti-aliasing filter) as a stream, for
/// callers that consume the resampled values once and need not hold them.
pub(crate) struct StreamPlan<'a> {
    time: &'a [f64],
    sos: Vec<super::filter::Section>,
    grid: TimeGrid<'a>,
    len: usize,
}

impl<'a> StreamPlan<'a> {
    /// The plan for `data` (each as long as `time`) from `fs` to `goal_fs` Hz, or `None` when
    /// it cannot stream: not down-sampling, no or more than four signals, signals not as long
    /// as `time`, times empty, unordered or NaN, or a filter that cannot be designed. Use
    /// [`apply_resample`] then (which also reports the errors).
    pub(crate) fn new(time: &'a [f64], fs: f64, goal_fs: f64, data: &[&[f64]]) -> Option<Self> {
        let ratio = fs / goal_fs;
        if time.is_empty()
            || ratio.is_nan()
            || ratio < 1.0
            || data.is_empty()
            || data.len() > 4
            || data.iter().any(|d| d.len() != time.len())
            || !is_sorted_finite(time)
        {
            return None;
        }
        let integer_ratio = ratio.trunc() == ratio;
        let wn = if integer_ratio {
            0.8 / ratio
        } else {
            goal_fs / fs
        };
        let sos = cheby1(8, 0.05, Band::Low(wn)).ok()?;
        let grid = TimeGrid::new(time, fs, goal_fs);
        let len = streaming_len(time, &grid);
        Some(Self {
            time,
            sos,
            grid,
            len,
        })
    }

    /// The new time axis.
    pub(crate) fn grid(&self) -> TimeGrid<'a> {
        self.grid
    }

    /// Number of resampled values per signal (what [`apply_resample`] returns).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Filters and resamples `data` (the signals the plan was made for): `emit(k, values)`
    /// gets resampled value `k` of every signal, bit-identical to [`apply_resample`]'s, once
    /// for every `k < len()`, `k` decreasing. Errors like [`apply_resample`] for signals too
    /// short to filter.
    pub(crate) fn run(
        &self,
        data: &[&[f64]],
        emit: impl FnMut(usize, &[f64]),
    ) -> Result<(), FilterError> {
        resample_streaming(&self.sos, self.time, &self.grid, data, emit)
    }
}

/// Decimation (integer factor) or interpolation of already filtered signals onto `time_rs`.
fn resample_filtered(
    time: &[f64],
    time_rs: &[f64],
    ratio: f64,
    integer_ratio: bool,
    srcs: &[&[f64]],
) -> Vec<Vec<f64>> {
    if integer_ratio && ratio > 1.0 {
        let last = time_rs[time_rs.len() - 1];
        let n = time.partition_point(|&t| t <= last);
        return srcs
            .iter()
            .map(|src| {
                src[..n.min(src.len())]
                    .iter()
                    .step_by(ratio as usize)
                    .copied()
                    .collect()
            })
            .collect();
    }
    let m = time.len();
    // numpy interp uses the common length of the abscissae and each signal
    let (full, short): (Vec<usize>, Vec<usize>) =
        (0..srcs.len()).partition(|&k| srcs[k].len() >= m);
    let mut out: Vec<Vec<f64>> = srcs.iter().map(|_| vec![0.0; time_rs.len()]).collect();
    let fps: Vec<&[f64]> = full.iter().map(|&k| srcs[k]).collect();
    {
        let mut outs: Vec<&mut [f64]> = out
            .iter_mut()
            .enumerate()
            .filter(|(k, _)| full.contains(k))
            .map(|(_, o)| o.as_mut_slice())
            .collect();
        interp_into(time_rs, time, &fps, &mut outs);
    }
    for k in short {
        out[k] = interp(time_rs, time, srcs[k]);
    }
    out
}

/// Maps sample indices of the original time axis onto the resampled one (nearest by linear
/// interpolation of the index, rounded half to even, like SKDH).
pub fn resample_indices(time: &[f64], time_rs: &[f64], idx: &[usize]) -> Vec<usize> {
    indices_on(
        time,
        time_rs.len(),
        |k| time_rs[k],
        |v| time_rs.partition_point(|&p| p <= v),
        idx,
    )
}

/// [`resample_indices`] onto a [`TimeGrid`] (the same values as onto the materialised axis).
pub(crate) fn resample_indices_grid(
    time: &[f64],
    grid: &TimeGrid<'_>,
    idx: &[usize],
) -> Vec<usize> {
    let n = grid.len();
    // the axis is ordered here: a plain bisection finds what `partition_point` would
    let pp = |v: f64| {
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if grid.at(mid) <= v {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    indices_on(time, n, |k| grid.at(k), pp, idx)
}

/// The body of the two above: `at(k)` the new axis, `pp(v)` its partition point of `<= v`.
fn indices_on(
    time: &[f64],
    n: usize,
    at: impl Fn(usize) -> f64,
    pp: impl Fn(f64) -> usize,
    idx: &[usize],
) -> Vec<usize> {
    if n == 0 || time.is_empty() {
        return vec![0; idx.len()];
    }
    // numpy interp of the query times on (time_rs, 0..len) without building the index array:
    // the same arithmetic, with fp[j + 1] - fp[j] = 1 exactly
    idx.iter()
        .map(|&i| {
            let v = time[i.min(time.len() - 1)];
            let y = if v.is_nan() {
                f64::NAN
            } else if v <= at(0) {
                0.0
            } else if v >= at(n - 1) {
                (n - 1) as f64
            } else {
                let j = pp(v).saturating_sub(1).min(n - 2);
                let slope = ((j + 1) as f64 - j as f64) / (at(j + 1) - at(j));
                let y = slope * (v - at(j)) + j as f64;
                if y.is_nan() { j as f64 } else { y }
            };
            y.round_ties_even().max(0.0) as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_clamps_and_interpolates() {
        let y = interp(&[-1.0, 0.5, 1.0, 3.0], &[0.0, 1.0, 2.0], &[0.0, 10.0, 20.0]);
        assert_eq!(y, vec![0.0, 5.0, 10.0, 20.0]);
    }

    /// The whole-signal path: filter everything, then resample (what the streaming path
    /// replaces).
    fn resample_whole(time: &[f64], fs: f64, goal: f64, data: &[&[f64]]) -> Vec<Vec<f64>> {
        let ratio = fs / goal;
        let integer_ratio = ratio.trunc() == ratio;
        let time_rs: Vec<f64> = if integer_ratio {
            time.iter().step_by(ratio as usize).copied().collect()
        } else {
            let t0 = time[0];
            arange((time[time.len() - 1] - t0) + 0.5 / goal, 1.0 / goal)
                .into_iter()
                .map(|v| v + t0)
                .collect()
        };
        let wn = if integer_ratio {
            0.8 / ratio
        } else {
            goal / fs
        };
        let sos = cheby1(8, 0.05, Band::Low(wn)).unwrap();
        let mut out = Vec::new();
        for group in data.chunks(4) {
            let (f, edge) = sosfiltfilt_padded(&sos, group).unwrap();
            let srcs: Vec<&[f64]> = f
                .iter()
                .zip(group)
                .map(|(f, d)| &f[edge..edge + d.len()])
                .collect();
            out.extend(resample_filtered(
                time,
                &time_rs,
                ratio,
                integer_ratio,
                &srcs,
            ));
        }
        out
    }

    #[test]
    fn streaming_resample_is_bit_identical() {
        for (fs, goal, n) in [
            (50.0, 20.0, 30_001),
            (100.0, 20.0, 41_234),
            (100.0, 30.0, 17_000),
            (50.0, 20.0, 8_195),
            (64.0, 20.0, 300),
        ] {
            // block-wise times with small jitter, like a CWA file's
            let time: Vec<f64> = (0..n)
                .map(|i| 1.6e9 + i as f64 / fs + ((i / 80) % 3) as f64 * 1e-4)
                .collect();
            let data: Vec<Vec<f64>> = (0..5)
                .map(|k| {
                    (0..n)
                        .map(|i| ((i * (k + 1)) as f64 * 0.013).sin() + (i % 7) as f64 * 0.001)
                        .collect()
                })
                .collect();
            let refs: Vec<&[f64]> = data.iter().map(|v| v.as_slice()).collect();
            let got = apply_resample(&time, fs, goal, &refs, true).unwrap();
            let want = resample_whole(&time, fs, goal, &refs);
            assert_eq!(got.data.len(), want.len());
            for (g, w) in got.data.iter().zip(&want) {
                assert_eq!(g.len(), w.len(), "{fs} -> {goal}");
                assert!(
                    g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{fs} -> {goal}, n {n}"
                );
            }
        }
    }

    #[test]
    fn integer_factor_keeps_every_kth_sample() {
        let time: Vec<f64> = (0..1000).map(|i| f64::from(i) / 100.0).collect();
        let x = vec![1.0; 1000];
        let r = apply_resample(&time, 100.0, 20.0, &[&x], true).unwrap();
        assert_eq!(r.time.len(), 200);
        assert_eq!(r.data[0].len(), 200);
        // the Chebyshev filter's pass-band ripple: DC gain 1 / (1 + eps^2) after filtfilt
        let dc = 1.0 / 10f64.powf(0.005);
        assert!(
            r.data[0].iter().all(|v| (v - dc).abs() < 1e-9),
            "{}",
            r.data[0][100]
        );
        let r = apply_resample(&time, 100.0, 30.0, &[&x], true).unwrap();
        assert_eq!(r.time.len(), 301); // numpy arange(0, 9.99 + 1/60, 1/30)
        assert_eq!(
            resample_indices(&time, &r.time, &[0, 500, 999]),
            vec![0, 150, 300]
        );
    }
}
