//! Sleep from a wrist accelerometer, as SKDH's `Sleep`: per day window (noon to noon by
//! default) the total sleep opportunity (TSO, [`tso`]), then per-minute sleep/wake inside it
//! (activity index, Cole-Kripke with Webster's rescoring, [`classify`]) and 15 endpoints.
//! One row per night (24 columns) and one row per minute.

pub mod classify;
pub mod tso;

use serde::{Deserialize, Serialize};

use crate::activity::endpoints::frag;
use crate::preprocessing::days::{DayError, LocalClock};
use crate::preprocessing::filter::FilterError;
use crate::preprocessing::resample::{
    StreamPlan, apply_resample, resample_indices, resample_indices_grid,
};
use crate::preprocessing::stats::{self, WindowError};
use crate::preprocessing::{Axes, OverlapError, WindowSet, day_intersection};
use crate::table::{ColumnData, Table};

/// Parameters (SKDH names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SleepParams {
    /// Internal non-wear below this 5-min median temperature, deg C (0 disables). Default 25.
    pub internal_wear_temp_thresh: f64,
    /// Internal non-wear when a 30-min SD of 5 s means is below this on any axis, g (0 disables).
    /// Default 0.001.
    pub internal_wear_move_thresh: f64,
    /// Minimum rest block, minutes. Default 30.
    pub min_rest_block: u32,
    /// Longest activity break inside a rest period, minutes. Default 60.
    pub max_activity_break: u32,
    /// Lower clip of the z-angle threshold, degrees. Default 0.1.
    pub tso_min_thresh: f64,
    /// Upper clip of the z-angle threshold, degrees. Default 1.0.
    pub tso_max_thresh: f64,
    /// Percentile of the z-angle changes for the threshold. Default 10.
    pub tso_perc: f64,
    /// Factor on that percentile. Default 15.
    pub tso_factor: f64,
    /// Wear hours a day needs (from the wear step). Default 0.
    pub min_wear_time: f64,
    /// Hours a day window needs to be analysed. Default 6.
    pub min_day_hours: f64,
    /// Resample to 20 Hz first. Default true.
    pub downsample: bool,
    /// Anti-aliasing filter when down-sampling. Default true.
    pub downsample_aa_filter: bool,
    /// Day window [base hour, period hours]. Default [12, 24].
    pub day_window: [u32; 2],
    /// Active time padded around the data, hours. Only 0 is supported: SKDH fills it with
    /// unseeded random numbers. Default 0.
    pub add_active_time: f64,
}

impl Default for SleepParams {
    fn default() -> Self {
        Self {
            internal_wear_temp_thresh: 25.0,
            internal_wear_move_thresh: 0.001,
            min_rest_block: 30,
            max_activity_break: 60,
            tso_min_thresh: 0.1,
            tso_max_thresh: 1.0,
            tso_perc: 10.0,
            tso_factor: 15.0,
            min_wear_time: 0.0,
            min_day_hours: 6.0,
            downsample: true,
            downsample_aa_filter: true,
            day_window: [12, 24],
            add_active_time: 0.0,
        }
    }
}

/// Why sleep cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SleepError {
    /// A parameter is invalid or unsupported.
    #[error("invalid sleep parameter: {0}")]
    Param(String),
    /// Dates or day windows failed.
    #[error("{0}")]
    Days(#[from] DayError),
    /// Resampling or filtering failed.
    #[error("{0}")]
    Filter(#[from] FilterError),
    /// A window is longer than the data.
    #[error("{0}")]
    Window(#[from] WindowError),
    /// Wear windows overlap inconsistently.
    #[error("{0}")]
    Overlap(#[from] OverlapError),
    /// No samples or an invalid rate.
    #[error("no samples or invalid sampling rate")]
    Empty,
}

/// Inputs of [`sleep`].
#[derive(Debug, Clone, Copy)]
pub struct SleepInputs<'a> {
    /// Sample times, unix seconds.
    pub time: &'a [f64],
    /// Acceleration, g.
    pub accel: Axes<'a>,
    /// Temperature, deg C, if recorded.
    pub temperature: Option<&'a [f64]>,
    /// Sampling rate, Hz.
    pub fs: f64,
    /// Wear bouts; `None` means worn throughout.
    pub wear: Option<&'a [(usize, usize)]>,
    /// Day windows for `day_window` (sample indices).
    pub days: &'a [(usize, usize)],
    /// Wall clock for dates.
    pub clock: &'a LocalClock,
}

/// Result of [`sleep`].
#[derive(Debug, Clone)]
pub struct SleepOutput {
    /// One row per analysed night (`sleep_nights`).
    pub nights: Table,
    /// One row per minute of each analysed day (`sleep_minutes`).
    pub minutes: Table,
    /// Per day window, the TSO as sample indices of the input (what activity uses).
    pub sleep_windows: Vec<Option<(usize, usize)>>,
    /// Notes (e.g. days that were too short).
    pub messages: Vec<String>,
}

/// Endpoint names in SKDH's column order.
pub const ENDPOINTS: [&str; 15] = [
    "total sleep time",
    "percent time asleep",
    "number of wake bouts",
    "sleep onset latency",
    "wake after sleep onset",
    "average sleep duration",
    "average wake duration",
    "sleep wake transition probability",
    "wake sleep transition probability",
    "sleep gini index",
    "wake gini index",
    "sleep average hazard",
    "wake average hazard",
    "sleep power law distribution",
    "wake power law distribution",
];

const UNITS: [Option<&str>; 15] = [
    Some("min"),
    Some("%"),
    None,
    Some("min"),
    Some("min"),
    Some("min"),
    Some("min"),
    Some("1/min"),
    Some("1/min"),
    None,
    None,
    None,
    None,
    None,
    None,
];

/// The 15 sleep endpoints of per-minute predictions inside the TSO (1 = sleep).
pub fn night_endpoints(pred: &[u8]) -> [f64; 15] {
    let n = pred.len();
    let total: usize = pred.iter().map(|&v| v as usize).sum();
    let any = total > 0;
    let falls = pred.windows(2).filter(|w| w[0] == 1 && w[1] == 0).count();
    let first = pred.iter().position(|&v| v == 1);
    let last = pred.iter().rposition(|&v| v == 1);
    let (lens, _, vals) = stats::rle(pred);
    let sl: Vec<usize> = lens
        .iter()
        .zip(&vals)
        .filter(|(_, v)| **v == 1)
        .map(|(l, _)| *l)
        .collect();
    let wl: Vec<usize> = lens
        .iter()
        .zip(&vals)
        .filter(|(_, v)| **v == 0)
        .map(|(l, _)| *l)
        .collect();
    let waso = match (first, last) {
        (Some(f), Some(l)) => {
            let inside: usize = pred[f..l].iter().map(|&v| v as usize).sum();
            (l - f) as f64 - inside as f64
        }
        _ => f64::NAN,
    };
    [
        total as f64,
        ((100.0 * total as f64 / n as f64) * 1000.0).round_ties_even() / 1000.0,
        falls.saturating_sub(1) as f64,
        if any {
            first.unwrap_or(0) as f64
        } else {
            f64::NAN
        },
        waso,
        frag::average_duration(&sl),
        frag::average_duration(&wl),
        frag::transition_probability(&sl),
        frag::transition_probability(&wl),
        frag::gini_index(&sl),
        frag::gini_index(&wl),
        frag::average_hazard(&sl),
        frag::average_hazard(&wl),
        frag::power_law(&sl),
        frag::power_law(&wl),
    ]
}

/// One analysed day window: its `sleep_nights` row, its minutes and its TSO.
#[derive(Debug)]
struct Night {
    date: String,
    d_start: String,
    d_end: String,
    total_min: f64,
    wear_min: f64,
    tso_ts: f64,
    tso_str: String,
    tso_dur: f64,
    ends: [f64; 15],
    /// The TSO as sample indices of the input.
    window: Option<(usize, usize)>,
    /// Per minute: start time, sleep, inside the TSO, activity index.
    minutes: Vec<(f64, bool, bool, f64)>,
}

/// The samples of one day window at the rate sleep works on: times of `[start, stop]`
/// (inclusive: the end timestamp is the stop sample's), acceleration and temperature of
/// `[start, stop)`.
struct DayData<'a> {
    t: &'a [f64],
    a: Axes<'a>,
    temp: Option<&'a [f64]>,
}

/// What does not change from day to day.
struct DayContext<'a> {
    g_fs: f64,
    fs: f64,
    base: i64,
    p: &'a SleepParams,
    tp: tso::TsoParams,
    clock: &'a LocalClock,
    wear_ds: &'a [(usize, usize)],
}

/// Analyses day window `iday` (`[start, stop]` at the working rate, long enough): its row
/// (NaN endpoints when it has too little wear or no TSO) and a note when it has none.
fn analyse_day(
    iday: usize,
    start: usize,
    stop: usize,
    d: &DayData<'_>,
    c: &DayContext<'_>,
) -> Result<(Night, Option<String>), SleepError> {
    let (g_fs, p) = (c.g_fs, c.p);
    let t_start = d.t[0];
    let t_stop = d.t[stop - start];
    let local = c.clock.zoned(t_start + 15.0)?;
    let dt = if i64::from(local.hour()) < c.base {
        local
            .checked_sub(jiff::SignedDuration::from_hours(24))
            .map_err(|_| DayError::Time(t_start))?
    } else {
        local
    };
    let date = dt.strftime("%Y-%m-%d").to_string();
    let d_start = c.clock.micro_string(t_start)?;
    let d_end = c.clock.micro_string(t_stop)?;
    let dw = day_intersection(
        &[WindowSet {
            bouts: c.wear_ds,
            include: true,
        }],
        start,
        stop,
        None,
    )?;
    let wsum: usize = dw.iter().map(|(a, b)| b - a).sum();
    let mut night = Night {
        date,
        d_start,
        d_end,
        total_min: ((t_stop - t_start) / 60.0 * 10.0).round_ties_even() / 10.0,
        wear_min: (wsum as f64 / (60.0 * g_fs) * 10.0).round_ties_even() / 10.0,
        tso_ts: f64::NAN,
        tso_str: String::new(),
        tso_dur: f64::NAN,
        ends: [f64::NAN; 15],
        window: None,
        minutes: Vec::new(),
    };
    if (wsum as f64 / (3600.0 * g_fs)) < p.min_wear_time {
        let note = format!("day {}: less wear than min_wear_time: no sleep", iday + 1);
        return Ok((night, Some(note)));
    }
    let found =
        tso::total_sleep_opportunity(g_fs, &d.t[..stop - start], d.a, d.temp, &dw, start, &c.tp)?;
    let ai = classify::activity_index(g_fs, d.a)?;
    let Some(t) = found else {
        let note = format!("day {}: no sleep opportunity found", iday + 1);
        return Ok((night, Some(note)));
    };
    let pred = classify::sleep_predictions(&ai, 0.243, true);
    let spm = (60.0 * g_fs) as usize;
    let ts = t.start_idx / spm;
    let te = t.stop_idx / spm;
    night.window = Some((
        ((t.start_idx + start) as f64 * c.fs / g_fs) as usize,
        ((t.stop_idx + start) as f64 * c.fs / g_fs) as usize,
    ));
    night.minutes = pred
        .iter()
        .zip(&ai)
        .enumerate()
        .map(|(k, (&s, &a))| (t_start + 60.0 * k as f64, s == 1, k >= ts && k < te, a))
        .collect();
    night.tso_ts = t.start;
    night.tso_str = c.clock.micro_string(t.start)?;
    night.tso_dur = (t.stop_idx - t.start_idx) as f64 / (g_fs * 60.0);
    if ts != te && ts < pred.len() {
        night.ends = night_endpoints(&pred[ts..te.min(pred.len())]);
    }
    Ok((night, None))
}

/// A day window clipped to the data as the analysis does, and whether it is long enough.
fn clip_day(
    start: usize,
    stop: usize,
    m: usize,
    g_fs: f64,
    min_hours: f64,
) -> (usize, usize, bool) {
    let stop = stop.min(m.saturating_sub(1));
    let start = start.min(stop);
    let long = ((stop - start) as f64 / (3600.0 * g_fs)) >= min_hours;
    (start, stop, long)
}

/// The outcome of every day window, in order (`None`: too short to analyse).
type DayResults = Vec<Option<Result<(Night, Option<String>), SleepError>>>;

/// Sleep on the 20-Hz signals streamed out of the resampler (see [`resample_stream`]): the
/// down-sampled recording is never held whole. Day windows are filled from the end as the
/// stream comes (it runs backwards) and analysed as soon as they are complete, two day buffers
/// taking turns. `None` when the input cannot stream or its day windows overlap (more than
/// one shared sample): then [`sleep`] resamples whole.
fn sleep_streaming(
    inp: &SleepInputs<'_>,
    time: &[f64],
    accel: Axes<'_>,
    temperature: Option<&[f64]>,
    wear: &[(usize, usize)],
    ctx: (&SleepParams, tso::TsoParams, i64),
) -> Result<Option<DayResults>, SleepError> {
    let (p, tp, base) = ctx;
    let (fs, goal) = (inp.fs, 20.0);
    let mut data: Vec<&[f64]> = accel.axes().to_vec();
    if let Some(t) = temperature {
        data.push(t);
    }
    let Some(plan) = StreamPlan::new(time, fs, goal, &data) else {
        return Ok(None);
    };
    let grid = plan.grid();
    let m_ds = plan.len();
    let map = |b: &[(usize, usize)]| -> Vec<(usize, usize)> {
        let s: Vec<usize> = b.iter().map(|x| x.0).collect();
        let e: Vec<usize> = b.iter().map(|x| x.1).collect();
        let s = resample_indices_grid(time, &grid, &s);
        let e = resample_indices_grid(time, &grid, &e);
        s.into_iter().zip(e).collect()
    };
    let days_ds = map(inp.days);
    let wear_ds = map(wear);
    let clipped: Vec<(usize, usize, bool)> = days_ds
        .iter()
        .map(|&(a, b)| clip_day(a, b, m_ds, goal, p.min_day_hours))
        .collect();
    // The analysed days, in order: each must hold more than one sample and start at or after
    // the previous one's stop, so that a sample belongs to at most two of them (the one
    // ending and the one starting there), which the two buffers below rely on.
    let need: Vec<usize> = (0..clipped.len()).filter(|&i| clipped[i].2).collect();
    if need.iter().any(|&i| clipped[i].1 <= clipped[i].0)
        || need.windows(2).any(|w| clipped[w[1]].0 < clipped[w[0]].1)
    {
        return Ok(None);
    }
    let c = DayContext {
        g_fs: goal,
        fs,
        base,
        p,
        tp,
        clock: inp.clock,
        wear_ds: &wear_ds,
    };
    let lanes = data.len();
    let mut results: DayResults = (0..clipped.len()).map(|_| None).collect();
    let mut bufs: [Vec<Vec<f64>>; 2] = [vec![Vec::new(); lanes], vec![Vec::new(); lanes]];
    let mut t_day: Vec<f64> = Vec::new();
    // ordinal (in `need`) of the last day not yet analysed
    let mut cur = need.len();
    plan.run(&data, |k, vals| {
        for q in [cur.checked_sub(1), cur.checked_sub(2)]
            .into_iter()
            .flatten()
        {
            let (start, stop, _) = clipped[need[q]];
            if k < start || k > stop {
                continue;
            }
            let set = &mut bufs[q % 2];
            if k == stop {
                for b in set.iter_mut() {
                    b.clear();
                    b.resize(stop - start + 1, 0.0);
                }
            }
            for (b, &v) in set.iter_mut().zip(vals) {
                b[k - start] = v;
            }
        }
        while cur > 0 && k == clipped[need[cur - 1]].0 {
            let q = cur - 1;
            let iday = need[q];
            let (start, stop, _) = clipped[iday];
            t_day.clear();
            t_day.extend((start..=stop).map(|i| grid.at(i)));
            let set = &bufs[q % 2];
            let len = stop - start;
            let d = DayData {
                t: &t_day,
                a: Axes::new(&set[0][..len], &set[1][..len], &set[2][..len]),
                temp: set.get(3).map(|t| &t[..len]),
            };
            results[iday] = Some(analyse_day(iday, start, stop, &d, &c));
            cur -= 1;
        }
    })?;
    Ok(Some(results))
}

/// Detects sleep per day window. Days shorter than `min_day_hours` get no row; days without a
/// TSO get a row with NaN endpoints.
pub fn sleep(inp: &SleepInputs<'_>, p: &SleepParams) -> Result<SleepOutput, SleepError> {
    if p.add_active_time != 0.0 {
        return Err(SleepError::Param(
            "add_active_time must be 0: SKDH pads with unseeded random data, which cannot be reproduced".into(),
        ));
    }
    let n = inp.time.len().min(inp.accel.len());
    if n < 2 || inp.fs.is_nan() || inp.fs <= 0.0 {
        return Err(SleepError::Empty);
    }
    let fs = inp.fs;
    let time = &inp.time[..n];
    let accel = inp.accel.slice(0, n);
    let temperature = inp.temperature.filter(|t| t.len() >= n).map(|t| &t[..n]);
    let default_wear = [(0usize, n - 1)];
    let wear = inp.wear.unwrap_or(&default_wear);
    let goal = 20.0;
    let base = i64::from(p.day_window[0]);
    let tp = tso::TsoParams {
        min_rest_block: p.min_rest_block,
        max_activity_break: p.max_activity_break,
        tso_min_thresh: p.tso_min_thresh,
        tso_max_thresh: p.tso_max_thresh,
        tso_perc: p.tso_perc,
        tso_factor: p.tso_factor,
        int_wear_temp: p.internal_wear_temp_thresh,
        int_wear_move: p.internal_wear_move_thresh,
    };
    let streamed = if fs != goal && p.downsample && p.downsample_aa_filter {
        sleep_streaming(inp, time, accel, temperature, wear, (p, tp, base))?
    } else {
        None
    };
    let results = match streamed {
        Some(r) => r,
        None => sleep_whole(inp, time, accel, temperature, wear, (p, tp, base))?,
    };
    let mut windows = vec![None; results.len()];

    let mut day_n = Vec::new();
    let mut date = Vec::new();
    let mut d_start = Vec::new();
    let mut d_end = Vec::new();
    let mut total_min = Vec::new();
    let mut wear_min = Vec::new();
    let mut tso_ts = Vec::new();
    let mut tso_str = Vec::new();
    let mut tso_dur = Vec::new();
    let mut ends: Vec<[f64; 15]> = Vec::new();
    let mut messages = Vec::new();
    let (mut mi_day, mut mi_time, mut mi_sleep, mut mi_tso, mut mi_ai) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (iday, r) in results.into_iter().enumerate() {
        let Some(r) = r else {
            messages.push(format!(
                "day {}: shorter than min_day_hours ({} h): skipped",
                iday + 1,
                p.min_day_hours
            ));
            continue;
        };
        let (night, note) = r?;
        windows[iday] = night.window;
        day_n.push(iday as i64 + 1);
        date.push(night.date);
        d_start.push(night.d_start);
        d_end.push(night.d_end);
        total_min.push(night.total_min);
        wear_min.push(night.wear_min);
        tso_ts.push(night.tso_ts);
        tso_str.push(night.tso_str);
        tso_dur.push(night.tso_dur);
        ends.push(night.ends);
        for (t, s, i, a) in night.minutes {
            mi_day.push(iday as i64 + 1);
            mi_time.push(t);
            mi_sleep.push(s);
            mi_tso.push(i);
            mi_ai.push(a);
        }
        messages.extend(note);
    }

    let mut nights = Table::new("sleep_nights")
        .with("Day N", None, ColumnData::I64(day_n))
        .with("Date", None, ColumnData::Str(date))
        .with(
            "Day Start Timestamp",
            Some("local time"),
            ColumnData::Str(d_start),
        )
        .with(
            "Day End Timestamp",
            Some("local time"),
            ColumnData::Str(d_end),
        )
        .with("Total Minutes", Some("min"), ColumnData::F64(total_min))
        .with("Wear Minutes", Some("min"), ColumnData::F64(wear_min))
        .with(
            "TSO Start Timestamp",
            Some("unix s"),
            ColumnData::F64(tso_ts),
        )
        .with("TSO Start", Some("local time"), ColumnData::Str(tso_str))
        .with("TSO Duration", Some("min"), ColumnData::F64(tso_dur));
    for (k, name) in ENDPOINTS.iter().enumerate() {
        nights = nights.with(
            name,
            UNITS[k],
            ColumnData::F64(ends.iter().map(|e| e[k]).collect()),
        );
    }
    let minutes = Table::new("sleep_minutes")
        .with("day", None, ColumnData::I64(mi_day))
        .with("minute_start", Some("unix s"), ColumnData::F64(mi_time))
        .with("sleep", None, ColumnData::Bool(mi_sleep))
        .with("in_tso", None, ColumnData::Bool(mi_tso))
        .with("activity_index", Some("g"), ColumnData::F64(mi_ai));
    Ok(SleepOutput {
        nights,
        minutes,
        sleep_windows: windows,
        messages,
    })
}

/// Sleep on the whole (resampled, if needed) recording: the path for inputs that cannot
/// stream (see [`sleep_streaming`]); the same analysis of every day.
fn sleep_whole(
    inp: &SleepInputs<'_>,
    time: &[f64],
    accel: Axes<'_>,
    temperature: Option<&[f64]>,
    wear: &[(usize, usize)],
    ctx: (&SleepParams, tso::TsoParams, i64),
) -> Result<DayResults, SleepError> {
    let (p, tp, base) = ctx;
    let (fs, goal) = (inp.fs, 20.0);
    let resampled;
    let (g_fs, t_ds, a_ds, temp_ds, days_ds, wear_ds) = if fs != goal && p.downsample {
        let mut data: Vec<&[f64]> = accel.axes().to_vec();
        if let Some(t) = temperature {
            data.push(t);
        }
        resampled = apply_resample(time, fs, goal, &data, p.downsample_aa_filter)?;
        let map = |b: &[(usize, usize)]| -> Vec<(usize, usize)> {
            let s: Vec<usize> = b.iter().map(|x| x.0).collect();
            let e: Vec<usize> = b.iter().map(|x| x.1).collect();
            let s = resample_indices(time, &resampled.time, &s);
            let e = resample_indices(time, &resampled.time, &e);
            s.into_iter().zip(e).collect()
        };
        let d = &resampled.data;
        (
            goal,
            resampled.time.as_slice(),
            Axes::new(&d[0], &d[1], &d[2]),
            d.get(3).map(|v| v.as_slice()),
            map(inp.days),
            map(wear),
        )
    } else {
        (
            fs,
            time,
            accel,
            temperature,
            inp.days.to_vec(),
            wear.to_vec(),
        )
    };
    let m_ds = t_ds.len().min(a_ds.len());
    let c = DayContext {
        g_fs,
        fs,
        base,
        p,
        tp,
        clock: inp.clock,
        wear_ds: &wear_ds,
    };
    let mut results: DayResults = Vec::with_capacity(days_ds.len());
    for (iday, &(start, stop)) in days_ds.iter().enumerate() {
        let (start, stop, long) = clip_day(start, stop, m_ds, g_fs, p.min_day_hours);
        if !long {
            results.push(None);
            continue;
        }
        let d = DayData {
            t: &t_ds[start..=stop],
            a: a_ds.slice(start, stop),
            temp: temp_ds.map(|t| &t[start..stop.min(t.len())]),
        };
        let r = analyse_day(iday, start, stop, &d, &c);
        let failed = r.is_err();
        results.push(Some(r));
        if failed {
            // as before, the first failing day ends the analysis
            break;
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two 7-h day windows of a made-up wrist signal at `fs`: moving, then still with a slowly
    /// turning arm (a TSO), with a cold spell in the temperature.
    fn input(fs: f64) -> (Vec<f64>, [Vec<f64>; 3], Vec<f64>) {
        let n = (14.0 * 3600.0 * fs) as usize;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f64 * 1e-4 - 0.5
        };
        let time: Vec<f64> = (0..n).map(|i| 1.7e9 + i as f64 / fs).collect();
        let mut axes = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
        let mut temp = vec![0.0; n];
        for i in 0..n {
            let h = i as f64 / fs / 3600.0;
            let still = (2.0..5.5).contains(&h) || (9.0..12.5).contains(&h);
            let amp = if still { 0.002 } else { 0.4 };
            // a still arm turning slowly about z: the z-angle stays put, the axes drift
            let ang = if still { h * 0.5 } else { (h * 40.0).sin() };
            axes[0][i] = ang.cos() * 0.7 + amp * rnd();
            axes[1][i] = ang.sin() * 0.7 + amp * rnd();
            // moving: the forearm tilts (the z-angle swings)
            // still: a slow drift, or the movement rule would call it non-wear
            let tilt = if still {
                0.7 + 0.01 * (h * 3.0).sin()
            } else {
                0.7 * (h * 30.0).sin()
            };
            axes[2][i] = tilt + amp * rnd();
            temp[i] = if (10.0..10.5).contains(&h) {
                21.0
            } else {
                31.0
            } + 0.1 * rnd();
        }
        (time, axes, temp)
    }

    #[test]
    fn streaming_days_equal_the_whole_recording() {
        // 25 Hz interpolates onto the 20-Hz grid, 40 Hz decimates by 2
        for fs in [25.0, 40.0] {
            let (time, [x, y, z], temp) = input(fs);
            let n = time.len();
            let days = [(0, n / 2), (n / 2, n - 1)];
            let clock = LocalClock::naive();
            let inp = SleepInputs {
                time: &time,
                accel: Axes::new(&x, &y, &z),
                temperature: Some(&temp),
                fs,
                wear: None,
                days: &days,
                clock: &clock,
            };
            let p = SleepParams::default();
            let tp = tso::TsoParams {
                min_rest_block: p.min_rest_block,
                max_activity_break: p.max_activity_break,
                tso_min_thresh: p.tso_min_thresh,
                tso_max_thresh: p.tso_max_thresh,
                tso_perc: p.tso_perc,
                tso_factor: p.tso_factor,
                int_wear_temp: p.internal_wear_temp_thresh,
                int_wear_move: p.internal_wear_move_thresh,
            };
            let wear = [(0usize, n - 1)];
            let ctx = (&p, tp, 12);
            let streamed = sleep_streaming(&inp, &time, inp.accel, Some(&temp), &wear, ctx)
                .unwrap()
                .expect("ordered day windows stream");
            let whole = sleep_whole(&inp, &time, inp.accel, Some(&temp), &wear, ctx).unwrap();
            assert_eq!(streamed.len(), 2);
            // Debug prints floats as shortest round-trip strings: equal text, equal bits
            assert_eq!(format!("{streamed:?}"), format!("{whole:?}"), "fs {fs}");
            let found = streamed
                .iter()
                .filter(|r| matches!(r, Some(Ok((night, _))) if night.window.is_some()))
                .count();
            assert!(
                found >= 1,
                "fs {fs}: no TSO found, the test would prove little: {streamed:?}"
            );
            // overlapping windows do not stream
            let overlap = [(0, n / 2), (n / 3, n - 1)];
            let inp2 = SleepInputs {
                days: &overlap,
                ..inp
            };
            assert!(
                sleep_streaming(&inp2, &time, inp.accel, Some(&temp), &wear, ctx)
                    .unwrap()
                    .is_none()
            );
        }
    }
}
