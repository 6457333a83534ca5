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
use crate::preprocessing::resample::{apply_resample, resample_indices};
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

/// The (possibly resampled) data sleep works on: rate, time, accel, temperature, days, wear.
type Working<'a> = (
    f64,
    &'a [f64],
    Axes<'a>,
    Option<&'a [f64]>,
    Vec<(usize, usize)>,
    Vec<(usize, usize)>,
);

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
    let resampled;
    let (g_fs, t_ds, a_ds, temp_ds, days_ds, wear_ds): Working<'_> = if fs != goal && p.downsample {
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
            &resampled.time,
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
    let mut windows = vec![None; days_ds.len()];
    let mut messages = Vec::new();
    let (mut mi_day, mut mi_time, mut mi_sleep, mut mi_tso, mut mi_ai) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());

    for (iday, &(start, stop)) in days_ds.iter().enumerate() {
        let stop = stop.min(m_ds.saturating_sub(1));
        let start = start.min(stop);
        if ((stop - start) as f64 / (3600.0 * g_fs)) < p.min_day_hours {
            messages.push(format!(
                "day {}: shorter than min_day_hours ({} h): skipped",
                iday + 1,
                p.min_day_hours
            ));
            continue;
        }
        day_n.push(iday as i64 + 1);
        let local = inp.clock.zoned(t_ds[start] + 15.0)?;
        let d = if i64::from(local.hour()) < base {
            local
                .checked_sub(jiff::SignedDuration::from_hours(24))
                .map_err(|_| DayError::Time(t_ds[start]))?
        } else {
            local
        };
        date.push(d.strftime("%Y-%m-%d").to_string());
        d_start.push(inp.clock.micro_string(t_ds[start])?);
        d_end.push(inp.clock.micro_string(t_ds[stop])?);
        let dw = day_intersection(
            &[WindowSet {
                bouts: &wear_ds,
                include: true,
            }],
            start,
            stop,
            None,
        )?;
        let wsum: usize = dw.iter().map(|(a, b)| b - a).sum();
        total_min.push(((t_ds[stop] - t_ds[start]) / 60.0 * 10.0).round_ties_even() / 10.0);
        wear_min.push((wsum as f64 / (60.0 * g_fs) * 10.0).round_ties_even() / 10.0);
        tso_ts.push(f64::NAN);
        tso_str.push(String::new());
        tso_dur.push(f64::NAN);
        ends.push([f64::NAN; 15]);
        if (wsum as f64 / (3600.0 * g_fs)) < p.min_wear_time {
            messages.push(format!(
                "day {}: less wear than min_wear_time: no sleep",
                iday + 1
            ));
            continue;
        }
        let day_axes = a_ds.slice(start, stop);
        let day_temp = temp_ds.map(|t| &t[start..stop.min(t.len())]);
        let found = tso::total_sleep_opportunity(
            g_fs,
            &t_ds[start..stop],
            day_axes,
            day_temp,
            &dw,
            start,
            &tp,
        )?;
        let ai = classify::activity_index(g_fs, day_axes)?;
        let Some(t) = found else {
            messages.push(format!("day {}: no sleep opportunity found", iday + 1));
            continue;
        };
        let pred = classify::sleep_predictions(&ai, 0.243, true);
        let spm = (60.0 * g_fs) as usize;
        let ts = t.start_idx / spm;
        let te = t.stop_idx / spm;
        windows[iday] = Some((
            ((t.start_idx + start) as f64 * fs / g_fs) as usize,
            ((t.stop_idx + start) as f64 * fs / g_fs) as usize,
        ));
        for (k, (&s, &a)) in pred.iter().zip(&ai).enumerate() {
            mi_day.push(iday as i64 + 1);
            mi_time.push(t_ds[start] + 60.0 * k as f64);
            mi_sleep.push(s == 1);
            mi_tso.push(k >= ts && k < te);
            mi_ai.push(a);
        }
        let last = ends.len() - 1;
        tso_ts[last] = t.start;
        tso_str[last] = inp.clock.micro_string(t.start)?;
        tso_dur[last] = (t.stop_idx - t.start_idx) as f64 / (g_fs * 60.0);
        if ts == te || ts >= pred.len() {
            continue;
        }
        ends[last] = night_endpoints(&pred[ts..te.min(pred.len())]);
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
