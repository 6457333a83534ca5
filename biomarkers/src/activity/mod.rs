//! Activity level classification per day, as SKDH's `ActivityLevelClassification`: time in
//! intensity levels, bouts, intensity gradient, rolling maximum/minimum acceleration,
//! fragmentation, DFA, equal-average-duration threshold and signal features during wake wear,
//! and time in levels during sleep wear. One row per day window (85 columns) plus one row per
//! epoch.

pub mod cutpoints;
pub mod endpoints;
pub mod features;
pub mod staudenmayer;

use serde::{Deserialize, Serialize};

use crate::preprocessing::days::{DayError, LocalClock, weekday_name};
use crate::preprocessing::{Axes, OverlapError, WindowSet, day_intersection};
use crate::table::{ColumnData, Table};
use cutpoints::{Cutpoints, Metric, MetricError, compute_metric};
use endpoints::{FEATURE_MINUTES, FEATURE_NAMES, FRAG_LEVELS, LEVELS, WakeDay};

/// Cut-points as written in a config: a built-in name or a custom set in SKDH's dict shape
/// (`{metric: metric_enmo, kwargs: {take_abs: false}, sedentary: 0.05, light: 0.11,
/// moderate: 0.44}`, which is also how SKDH saves any cut-points in a `.skdh` pipeline file).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CutpointsSpec {
    /// One of SKDH's named sets, e.g. `"migueles_wrist_adult"`.
    Name(String),
    /// A custom set.
    Custom(Cutpoints),
}

// Hand-written so that a malformed custom set reports its own field (an untagged enum would
// only say that no variant matched).
impl<'de> Deserialize<'de> for CutpointsSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(CutpointsSpec::Name(s)),
            v @ serde_json::Value::Object(_) => serde_json::from_value::<Cutpoints>(v)
                .map(CutpointsSpec::Custom)
                .map_err(|e| D::Error::custom(format!("custom cutpoints: {e}"))),
            other => Err(D::Error::custom(format!(
                "cutpoints: expected a set name or {{metric, kwargs, sedentary, light, moderate}}, \
                 got {other}"
            ))),
        }
    }
}

impl CutpointsSpec {
    /// The cut-points, or an error naming the unknown set or the bad threshold.
    pub fn resolve(&self) -> Result<Cutpoints, ActivityError> {
        match self {
            CutpointsSpec::Name(n) => Cutpoints::named(n).ok_or_else(|| {
                ActivityError::Param(format!(
                    "unknown cutpoints '{n}' (known: {})",
                    Cutpoints::NAMES.join(", ")
                ))
            }),
            CutpointsSpec::Custom(c) => {
                let t = [c.sedentary, c.light, c.moderate];
                if t.iter().any(|v| !v.is_finite()) || !(t[0] <= t[1] && t[1] <= t[2]) {
                    return Err(ActivityError::Param(format!(
                        "cutpoints: sedentary <= light <= moderate must be finite and ordered \
                         (got {}, {}, {})",
                        t[0], t[1], t[2]
                    )));
                }
                Ok(c.clone())
            }
        }
    }
}

/// Parameters (SKDH names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivityParams {
    /// Epoch length, seconds; must divide 60 (other values go to the nearest divisor, as SKDH).
    /// Default 5.
    pub short_wlen: u32,
    /// Windows of the rolling maximum acceleration, minutes. Default [6, 15, 60].
    pub max_accel_lens: Vec<u32>,
    /// Bout lengths, minutes. Default [1, 5, 10].
    pub bout_lens: Vec<u32>,
    /// Fraction of a bout's epochs that must be in the level. Default 0.8.
    pub bout_criteria: f64,
    /// Bout definition 1-4 (SKDH's methods). Default 4.
    pub bout_metric: u8,
    /// Bout metric 1: count breaks towards the bout. Default false.
    pub closed_bout: bool,
    /// Round wear/wake bounds to this many seconds from the day start. Default none.
    pub wear_wake_times_round: Option<u32>,
    /// Minimum wear hours for a day to get values. Default 10.
    pub min_wear_time: u32,
    /// Cut-points: a built-in name or a custom set. Default "migueles_wrist_adult".
    pub cutpoints: CutpointsSpec,
    /// Day window [base hour, period hours], or null for the whole recording as one day.
    /// Default [0, 24].
    pub day_window: Option<[u32; 2]>,
    /// Whether the pipeline writes the per-epoch table `activity_epochs`. Default true (SKDH's
    /// default is false: there the per-epoch CSV is an extra file, here a standard output).
    pub save_epoch_data: bool,
}

impl Default for ActivityParams {
    fn default() -> Self {
        Self {
            short_wlen: 5,
            max_accel_lens: vec![6, 15, 60],
            bout_lens: vec![1, 5, 10],
            bout_criteria: 0.8,
            bout_metric: 4,
            closed_bout: false,
            wear_wake_times_round: None,
            min_wear_time: 10,
            cutpoints: CutpointsSpec::Name("migueles_wrist_adult".into()),
            day_window: Some([0, 24]),
            save_epoch_data: true,
        }
    }
}

impl ActivityParams {
    /// The epoch length SKDH would use (white_met forces 60 s; non-divisors of 60 move to the
    /// nearest divisor).
    pub fn epoch_seconds(&self) -> usize {
        if matches!(&self.cutpoints, CutpointsSpec::Name(n) if n == "white_met") {
            return 60;
        }
        let w = self.short_wlen.max(1) as i64;
        if 60 % w == 0 {
            return w as usize;
        }
        let opts = [1i64, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];
        let mut best = opts[0];
        for o in opts {
            if (o - w).abs() < (best - w).abs() {
                best = o;
            }
        }
        best as usize
    }

    /// Checks the parameters; errors name the field.
    pub fn validate(&self) -> Result<Cutpoints, ActivityError> {
        if !(1..=4).contains(&self.bout_metric) {
            return Err(ActivityError::Param(format!(
                "bout_metric must be 1, 2, 3 or 4 (got {})",
                self.bout_metric
            )));
        }
        if !(0.0..=1.0).contains(&self.bout_criteria) {
            return Err(ActivityError::Param(
                "bout_criteria must be in [0, 1]".into(),
            ));
        }
        if let Some([b, p]) = self.day_window
            && (b > 23 || !(1..=24).contains(&p))
        {
            return Err(ActivityError::Param(
                "day_window must be [base 0-23, period 1-24]".into(),
            ));
        }
        self.cutpoints.resolve()
    }
}

/// Why activity cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActivityError {
    /// A parameter is invalid.
    #[error("invalid activity parameter: {0}")]
    Param(String),
    /// Day windows or dates could not be made.
    #[error("{0}")]
    Days(#[from] DayError),
    /// Wear or sleep windows overlap inconsistently.
    #[error("{0}")]
    Overlap(#[from] OverlapError),
    /// The metric could not be computed.
    #[error("{0}")]
    Metric(#[from] MetricError),
    /// No samples or no valid sampling rate.
    #[error("no samples or invalid sampling rate")]
    Empty,
}

/// Inputs of [`activity`] besides the samples.
#[derive(Debug, Clone, Copy)]
pub struct ActivityInputs<'a> {
    /// Sample times, unix seconds.
    pub time: &'a [f64],
    /// Acceleration, g.
    pub accel: Axes<'a>,
    /// Sampling rate, Hz.
    pub fs: f64,
    /// Wear bouts; `None` means worn throughout (SKDH: `[0, n - 1]`).
    pub wear: Option<&'a [(usize, usize)]>,
    /// Per-day sleep windows from the sleep step (`None` entries where a day has none).
    pub sleep: Option<&'a [Option<(usize, usize)>]>,
    /// Day windows for `day_window`; `None` treats the recording as one day.
    pub days: Option<&'a [(usize, usize)]>,
    /// Wall clock for dates.
    pub clock: &'a LocalClock,
}

/// The two result tables.
#[derive(Debug, Clone)]
pub struct ActivityOutput {
    /// One row per day window (`activity_daily`).
    pub daily: Table,
    /// One row per epoch of wear time (`activity_epochs`).
    pub epochs: Table,
    /// Notes (e.g. why a day has no values).
    pub messages: Vec<String>,
}

/// Column names of the wake endpoints for these parameters, in SKDH's order, with units.
pub fn wake_columns(
    p: &ActivityParams,
    epoch_s: usize,
    metric_unit: &str,
) -> Vec<(String, Option<String>)> {
    let mut c: Vec<(String, Option<String>)> = Vec::new();
    let mut push = |n: String, u: Option<&str>| c.push((n, u.map(str::to_string)));
    push("wake intensity gradient".into(), None);
    push("wake ig intercept".into(), None);
    push("wake ig r-squared".into(), None);
    for l in p.max_accel_lens.iter().chain([300, 600].iter()) {
        push(format!("wake max acc {l}min [g]"), Some(metric_unit));
    }
    push("wake min acc 300min [g]".into(), Some(metric_unit));
    for l in LEVELS {
        push(
            format!("wake {} {epoch_s}s epoch [min]", l.label()),
            Some("min"),
        );
    }
    for l in LEVELS {
        for b in &p.bout_lens {
            push(format!("wake {} {b}min bout [min]", l.label()), Some("min"));
        }
    }
    for l in FRAG_LEVELS {
        let lb = l.label();
        push(format!("wake {lb} avg duration"), Some("min"));
        push(format!("wake {lb} transition probability"), Some("1/min"));
        push(format!("wake {lb} gini index"), None);
        push(format!("wake {lb} avg hazard"), None);
        push(format!("wake {lb} power law distribution"), None);
    }
    push("wake dfa alpha".into(), None);
    push("wake dfa activity balance index".into(), None);
    push(
        "wake threshold equal avg duration [g]".into(),
        Some(metric_unit),
    );
    push("wake duration equal avg duration [min]".into(), Some("min"));
    for m in FEATURE_MINUTES {
        for f in FEATURE_NAMES {
            push(format!("wake {m}min {f}"), None);
        }
    }
    c
}

fn around1(v: f64) -> f64 {
    (v * 10.0).round_ties_even() / 10.0
}

/// One day window's row: the date columns SKDH's activity classes share, and the endpoints.
pub(crate) struct DayRow {
    date: String,
    start: String,
    end: String,
    weekday: String,
    n_hours: f64,
    pub(crate) n_wear_hours: f64,
    pub(crate) n_wear_wake_hours: f64,
    total_min: f64,
    pub(crate) wear_min: f64,
    pub(crate) wear_wake_min: f64,
    pub(crate) wake: Vec<f64>,
    sleep: [f64; 5],
}

impl DayRow {
    /// The row of day window `[ds, de]` (sample indices, `de < time.len()`) with its date
    /// columns (as SKDH's `_update_date_results`) and `ncols` NaN wake endpoints.
    pub(crate) fn new(
        clock: &LocalClock,
        time: &[f64],
        ds: usize,
        de: usize,
        day_start_hour: i64,
        ncols: usize,
    ) -> Result<Self, ActivityError> {
        let start_dt = clock.round_minute(time[ds])?;
        // a window that starts before the base hour belongs to the previous day's window
        let window_start = if i64::from(start_dt.hour()) < day_start_hour {
            start_dt
                .checked_sub(jiff::SignedDuration::from_hours(24))
                .map_err(|_| DayError::Time(time[ds]))?
        } else {
            start_dt.clone()
        };
        Ok(DayRow {
            date: window_start.strftime("%Y-%m-%d").to_string(),
            start: start_dt.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            end: clock.minute_string(time[de])?,
            weekday: weekday_name(&window_start).to_string(),
            n_hours: around1((time[de.saturating_sub(1).max(ds)] - time[ds]) / 3600.0),
            n_wear_hours: f64::NAN,
            n_wear_wake_hours: f64::NAN,
            total_min: around1((time[de.saturating_sub(1).max(ds)] - time[ds]) / 60.0),
            wear_min: f64::NAN,
            wear_wake_min: f64::NAN,
            wake: vec![f64::NAN; ncols],
            sleep: [f64::NAN; 5],
        })
    }
}

/// A table with the 11 date and wear columns of `rows`, in SKDH's order.
pub(crate) fn day_table(name: &str, rows: &[DayRow]) -> Table {
    let col_s = |f: &dyn Fn(&DayRow) -> String| ColumnData::Str(rows.iter().map(f).collect());
    let col_f = |f: &dyn Fn(&DayRow) -> f64| ColumnData::F64(rows.iter().map(f).collect());
    Table::new(name)
        .with("Date", None, col_s(&|r| r.date.clone()))
        .with(
            "Day Start Timestamp",
            Some("local time"),
            col_s(&|r| r.start.clone()),
        )
        .with(
            "Day End Timestamp",
            Some("local time"),
            col_s(&|r| r.end.clone()),
        )
        .with("Weekday", None, col_s(&|r| r.weekday.clone()))
        .with(
            "Day N",
            None,
            ColumnData::I64((1..=rows.len() as i64).collect()),
        )
        .with("N hours", Some("h"), col_f(&|r| r.n_hours))
        .with("N wear hours", Some("h"), col_f(&|r| r.n_wear_hours))
        .with(
            "N wear wake hours",
            Some("h"),
            col_f(&|r| r.n_wear_wake_hours),
        )
        .with("Total Minutes", Some("min"), col_f(&|r| r.total_min))
        .with("Wear Minutes", Some("min"), col_f(&|r| r.wear_min))
        .with(
            "Wear Wake Minutes",
            Some("min"),
            col_f(&|r| r.wear_wake_min),
        )
}

/// The metric per epoch (`w` samples) and per minute (`w60` samples) of one block, as two
/// [`compute_metric`] calls (the same values and errors). ENMO, the default, is computed in one
/// pass a minute at a time, without the block-long array of per-sample values that
/// `compute_metric` makes twice (most of the step's memory traffic).
fn metric_pair(
    cut: &Cutpoints,
    a: Axes<'_>,
    w: usize,
    w60: usize,
    fs: f64,
) -> Result<(Vec<f64>, Vec<f64>), MetricError> {
    let n = a.len();
    if cut.metric != Metric::Enmo || w == 0 || w60 == 0 || !w60.is_multiple_of(w) || w60 > n {
        return Ok((
            compute_metric(cut.metric, &cut.kwargs, a, w, fs)?,
            compute_metric(cut.metric, &cut.kwargs, a, w60, fs)?,
        ));
    }
    let opts = &cut.kwargs;
    let mut m = Vec::with_capacity(n / w);
    let mut m60 = Vec::with_capacity(n / w60);
    let mut buf = vec![0.0; w60];
    let mut q = 0;
    while q < n {
        let seg = w60.min(n - q);
        for (i, v) in buf[..seg].iter_mut().enumerate() {
            // compute_metric's ENMO, sample by sample
            let mut e = a.norm(q + i) - 1.0;
            if opts.take_abs {
                e = e.abs();
            }
            *v = if opts.trim_zero { e.max(0.0) } else { e };
        }
        // non-overlapping windows of `w` samples are whole inside a minute (w divides w60);
        // each mean is the window's compensated sum over its length, as `moving_mean`'s
        m.extend(
            buf[..seg]
                .chunks_exact(w)
                .map(|c| crate::preprocessing::stats::sum(c) / w as f64),
        );
        if seg == w60 {
            m60.push(crate::preprocessing::stats::sum(&buf) / w60 as f64);
        }
        q += seg;
    }
    Ok((m, m60))
}

/// Computes the activity tables./// Computes the activity tables. Days with fewer than `min_wear_time` wear hours keep NaN
/// endpoints (and a message says why).
pub fn activity(
    inp: &ActivityInputs<'_>,
    p: &ActivityParams,
) -> Result<ActivityOutput, ActivityError> {
    let cut = p.validate()?;
    let n = inp.time.len().min(inp.accel.len());
    if n < 2 || inp.fs.is_nan() || inp.fs <= 0.0 {
        return Err(ActivityError::Empty);
    }
    let time = &inp.time[..n];
    let accel = inp.accel.slice(0, n);
    let fs = inp.fs;
    let epoch_s = p.epoch_seconds();
    let nwlen = (epoch_s as f64 * fs) as usize;
    let nwlen60 = (60.0 * fs) as usize;
    let epm = 60 / epoch_s;
    let day_start_hour: i64 = p.day_window.map_or(-1, |d| i64::from(d[0]));
    let days: Vec<(usize, usize)> = match inp.days {
        Some(d) if p.day_window.is_some() => d.to_vec(),
        _ => vec![(0, n - 1)],
    };
    let default_wear = [(0usize, n - 1)];
    let wear: &[(usize, usize)] = inp.wear.unwrap_or(&default_wear);
    let sleep: Option<Vec<(usize, usize)>> = inp.sleep.map(|s| {
        // SKDH passes days without a sleep window as [-1, -1], which clip to nothing
        s.iter().map(|w| w.unwrap_or((0, 0))).collect()
    });
    let round = p
        .wear_wake_times_round
        .map(|r| (f64::from(r) * fs) as usize);
    let metric_unit = cut.metric.unit();
    let mut rows: Vec<DayRow> = Vec::new();
    let mut messages = Vec::new();
    let mut ep_time = Vec::new();
    let mut ep_day = Vec::new();
    let mut ep_state = Vec::new();
    let mut ep_value = Vec::new();
    let mut ep_int = Vec::new();
    let ncols = wake_columns(p, epoch_s, metric_unit).len();

    for (iday, &(ds, de)) in days.iter().enumerate() {
        let de = de.min(n - 1);
        let ds = ds.min(de);
        let mut row = DayRow::new(inp.clock, time, ds, de, day_start_hour, ncols)?;
        let dwear = day_intersection(
            &[WindowSet {
                bouts: wear,
                include: true,
            }],
            ds,
            de,
            round,
        )?;
        let wear_samples: usize = dwear.iter().map(|(s, e)| e - s).sum();
        row.n_wear_hours = around1(wear_samples as f64 / fs / 3600.0);
        row.wear_min = dwear
            .iter()
            .map(|&(s, e)| time[e.min(n - 1)] - time[s.min(n - 1)])
            .sum::<f64>()
            / 60.0;
        if row.n_wear_hours < f64::from(p.min_wear_time) {
            messages.push(format!(
                "day {}: {} wear hours, fewer than min_wear_time {} h: no endpoints",
                iday + 1,
                row.n_wear_hours,
                p.min_wear_time
            ));
            rows.push(row);
            continue;
        }
        let (wake_blocks, sleep_blocks) = match &sleep {
            Some(sl) => {
                let w = day_intersection(
                    &[
                        WindowSet {
                            bouts: wear,
                            include: true,
                        },
                        WindowSet {
                            bouts: sl,
                            include: false,
                        },
                    ],
                    ds,
                    de,
                    round,
                )?;
                let s = day_intersection(
                    &[
                        WindowSet {
                            bouts: wear,
                            include: true,
                        },
                        WindowSet {
                            bouts: sl,
                            include: true,
                        },
                    ],
                    ds,
                    de,
                    round,
                )?;
                let ws: usize = w.iter().map(|(a, b)| b - a).sum();
                row.n_wear_wake_hours = around1(ws as f64 / fs / 3600.0);
                row.wear_wake_min = ws as f64 / fs / 60.0;
                (w, Some(s))
            }
            None => (dwear, None),
        };
        let mut day = WakeDay::new(
            &cut,
            epoch_s,
            &p.max_accel_lens
                .iter()
                .map(|&v| v as usize)
                .collect::<Vec<_>>(),
            &p.bout_lens.iter().map(|&v| v as usize).collect::<Vec<_>>(),
            p.bout_criteria,
            p.bout_metric,
            p.closed_bout,
        );
        for &(s, e) in &wake_blocks {
            if e - s <= nwlen60 {
                continue;
            }
            let a = accel.slice(s, e);
            let (m, m60) = metric_pair(&cut, a, nwlen, nwlen60, fs)?;
            for (k, &v) in m.iter().enumerate() {
                ep_time.push(time[s + k * nwlen]);
                ep_day.push(iday as i64 + 1);
                ep_state.push("wake".to_string());
                ep_value.push(v);
                ep_int.push(cut.intensity(v).to_string());
            }
            day.add_block(&m, &m60);
        }
        row.wake = day.finish();
        row.sleep = [0.0; 5];
        if let Some(sb) = sleep_blocks {
            for &(s, e) in &sb {
                let a = accel.slice(s, e);
                // SKDH skips blocks where either epoch length does not fit
                let Ok((m, _)) = metric_pair(&cut, a, nwlen, nwlen60, fs) else {
                    continue;
                };
                for (k, l) in LEVELS.iter().enumerate() {
                    let (lo, hi) = cut.bounds(*l);
                    row.sleep[k] +=
                        m.iter().filter(|&&v| v >= lo && v < hi).count() as f64 / epm as f64;
                }
                for (k, &v) in m.iter().enumerate() {
                    ep_time.push(time[s + k * nwlen]);
                    ep_day.push(iday as i64 + 1);
                    ep_state.push("sleep".to_string());
                    ep_value.push(v);
                    ep_int.push(cut.intensity(v).to_string());
                }
            }
        }
        rows.push(row);
    }

    let col_f = |f: &dyn Fn(&DayRow) -> f64| ColumnData::F64(rows.iter().map(f).collect());
    let mut daily = day_table("activity_daily", &rows);
    for (k, (name, unit)) in wake_columns(p, epoch_s, metric_unit)
        .into_iter()
        .enumerate()
    {
        daily = daily.with(&name, unit.as_deref(), col_f(&|r| r.wake[k]));
    }
    for (k, l) in LEVELS.iter().enumerate() {
        daily = daily.with(
            &format!("sleep {} {epoch_s}s epoch [min]", l.label()),
            Some("min"),
            col_f(&|r| r.sleep[k]),
        );
    }
    let epochs = Table::new("activity_epochs")
        .with("epoch_start", Some("unix s"), ColumnData::F64(ep_time))
        .with("day", None, ColumnData::I64(ep_day))
        .with("state", None, ColumnData::Str(ep_state))
        .with(
            cut.metric.skdh_name().trim_start_matches("metric_"),
            Some(metric_unit),
            ColumnData::F64(ep_value),
        )
        .with("intensity", None, ColumnData::Str(ep_int));
    Ok(ActivityOutput {
        daily,
        epochs,
        messages,
    })
}
