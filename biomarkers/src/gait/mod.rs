//! Lumbar gait, as SKDH's `skdh.gait.GaitLumbar` (0.17.18): gait bouts are merged and
//! filtered, each bout is oriented (vertical and AP axes, tilt correction), its step frequency
//! estimated, initial/final contacts detected (AP CWT by default, or vertical CWT), steps paired
//! into quality-checked strides, turns marked from angular velocity, and per-step and per-bout
//! endpoints computed.
//!
//! * [`signal`]: the numeric building blocks (CWT, peak finding...) with scipy/PyWavelets
//!   conventions.
//! * [`events`]: the per-bout substeps.
//! * [`endpoints`]: the endpoints.
//! * [`summary`]: per-bout and per-day summary tables.
//! * [`step`]: the whole step (classifier, gait, summaries) as a pipeline runs it.
//! * [`classifier`]: gait-bout detection (SKDH's `PredictGaitLumbarLgbm`), with the window
//!   [`features`] and LightGBM inference ([`lightgbm`]).
//!
//! Units: acceleration g, angular velocity **rad/s** (convert deg/s from readers first; SKDH's
//! pipeline passes deg/s into a rad/s algorithm, see "Behaviours to decide"), time unix seconds,
//! sampling rates Hz, lengths metres. Everything is a pure function over slices.
//!
//! Behaviours of SKDH 0.17.18 and what we do (default = SKDH, for parity with its results):
//! * `GaitLumbar` without a classifier analyses the whole recording as gait: [`gait_lumbar`]
//!   takes explicit bouts; pass `[(0, n - 1)]` for that behaviour, or the bouts of
//!   [`classifier::classify_gait`].
//! * The classifier's band-pass is designed for the original rate but applied after
//!   resampling: kept by default (the models were trained on it),
//!   [`classifier::BandDesign::ProcessingRate`] is the opt-in fix.
//! * Turn detection: takes rad/s (SKDH's pipeline feeds it the readers' deg/s; callers convert);
//!   SKDH's unnormalised rotation axis and its never-true duration limit are kept for parity.
//! * Step length model 2 uses l'/l = 1.1 x (not the docstring's polynomial): kept.
//! * Bout merging never merges the last bout into its predecessor: kept ([`merge_bouts`]).
//! * Bout numbers run over the bouts of one call (SKDH restarts them each day and can then
//!   link steps of different days with equal numbers; steps never cross bouts here).
//! * Short walks: the classifier's 3 s windows and the 8 s minimum drop walkway-length bouts;
//!   [`pad_bouts`] with a shorter `min_bout_time` is the opt-in short-bout mode.

pub mod classifier;
pub mod endpoints;
pub mod events;
pub mod features;
pub mod lightgbm;
pub mod signal;
pub mod step;
pub mod summary;

use crate::preprocessing::Axes;
use crate::preprocessing::resample::{apply_resample, resample_indices};
use crate::table::{ColumnData, Table};
pub use endpoints::Endpoint;
pub use events::{
    ApCwtParams, BoutError, PreprocessParams, StepTimeRule, StrideParams, VerticalCwtParams,
    WaveletScale,
};

/// Why gait could not be computed at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GaitError {
    /// The sampling rate is below 20 Hz (SKDH's `LowFrequencyError`).
    #[error("sampling rate {fs:.2} Hz is too low for gait (< 20 Hz)")]
    LowFrequency {
        /// The sampling rate, Hz.
        fs: f64,
    },
    /// Input slices of different lengths.
    #[error("input lengths differ: {0}")]
    Shape(String),
    /// A parameter out of its range.
    #[error("invalid gait parameter: {0}")]
    Parameter(String),
    /// Resampling failed.
    #[error("resampling: {0}")]
    Resample(#[from] crate::preprocessing::filter::FilterError),
}

/// Gait event detection method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventMethod {
    /// AP-acceleration CWT (SKDH's default, "AP CWT").
    ApCwt(ApCwtParams),
    /// Vertical-acceleration CWT (McCamley 2012, "Vertical CWT").
    VerticalCwt(VerticalCwtParams),
}

/// Settings of [`gait_lumbar`], SKDH's `GaitLumbar` arguments with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GaitParams {
    /// Resample to 50 Hz (fs >= 50) or 20 Hz before processing. Default false.
    pub downsample: bool,
    /// Leg length = `height_factor` x height. Default 0.53.
    pub height_factor: f64,
    /// Bouts must last longer than this, s. Default 8.
    pub min_bout_time: f64,
    /// Bouts closer than this are merged, s. Default 0.5.
    pub max_bout_separation_time: f64,
    /// Event detection. Default AP CWT with its defaults.
    pub event_method: EventMethod,
    /// Orientation, filtering and axis settings.
    pub preprocess: PreprocessParams,
    /// Stride quality-check limits.
    pub strides: StrideParams,
}

impl Default for GaitParams {
    fn default() -> Self {
        Self {
            downsample: false,
            height_factor: 0.53,
            min_bout_time: 8.0,
            max_bout_separation_time: 0.5,
            event_method: EventMethod::ApCwt(ApCwtParams::default()),
            preprocess: PreprocessParams::default(),
            strides: StrideParams::default(),
        }
    }
}

/// The subject's body size for spatial endpoints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BodySize {
    /// Height, m (leg length = height x `height_factor`).
    Height(f64),
    /// Leg length (or sensor height), m.
    LegLength(f64),
    /// Unknown: spatial endpoints are NaN.
    Unknown,
}

/// What happened to one gait bout.
#[derive(Debug, Clone, PartialEq)]
pub struct BoutReport {
    /// First sample (processing-rate index, inclusive).
    pub start: usize,
    /// End sample (exclusive).
    pub stop: usize,
    /// Number of quality-checked steps (0 when skipped).
    pub steps: usize,
    /// Why the bout was skipped, if it was.
    pub skipped: Option<BoutError>,
}

/// Per-step gait results: metadata columns plus every endpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaitResult {
    /// Sampling rate the events were detected at, Hz.
    pub fs: f64,
    /// Bout number (1-based, over the bouts kept after merging and the minimum duration).
    pub bout_n: Vec<i64>,
    /// Bout start time, unix s.
    pub bout_start: Vec<f64>,
    /// Bout duration, s.
    pub bout_duration: Vec<f64>,
    /// Quality-checked steps in the bout.
    pub bout_steps: Vec<i64>,
    /// Steps of the bout with two complete forward cycles.
    pub gait_cycles: Vec<i64>,
    /// Initial contact time, unix s.
    pub ic_time: Vec<f64>,
    /// Initial contact time relative to the bout start, s.
    pub ic_rel_time: Vec<f64>,
    /// Step-frequency estimate of the bout, steps/s.
    pub mean_step_freq: Vec<f64>,
    /// Estimated vertical axis (0-2).
    pub v_axis_est: Vec<i64>,
    /// Estimated AP axis (0-2).
    pub ap_axis_est: Vec<i64>,
    /// Turn: -1 no angular velocity, 0 none, 1 the turn overlaps the IC or the FC, 2 both.
    pub turn: Vec<i64>,
    /// Endpoint columns.
    pub endpoints: Vec<Endpoint>,
    /// One report per bout considered.
    pub bouts: Vec<BoutReport>,
    /// Why spatial endpoints are absent, when they are.
    pub spatial_note: Option<String>,
}

impl GaitResult {
    /// The endpoint column with SKDH's name, if computed.
    pub fn endpoint(&self, name: &str) -> Option<&[f64]> {
        self.endpoints
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.values.as_slice())
    }

    /// Number of steps (rows).
    pub fn len(&self) -> usize {
        self.bout_n.len()
    }

    /// True when no steps were found.
    pub fn is_empty(&self) -> bool {
        self.bout_n.is_empty()
    }

    /// The per-step table `gait_steps` (SKDH's column names, units in the metadata).
    pub fn to_table(&self) -> Table {
        let mut t = Table::new("gait_steps")
            .with("Bout N", None, ColumnData::I64(self.bout_n.clone()))
            .with(
                "Bout Starts",
                Some("unix s"),
                ColumnData::F64(self.bout_start.clone()),
            )
            .with(
                "Bout Duration",
                Some("s"),
                ColumnData::F64(self.bout_duration.clone()),
            )
            .with("Bout Steps", None, ColumnData::I64(self.bout_steps.clone()))
            .with(
                "Gait Cycles",
                None,
                ColumnData::I64(self.gait_cycles.clone()),
            )
            .with(
                "IC Timestamp",
                Some("unix s"),
                ColumnData::F64(self.ic_time.clone()),
            )
            .with(
                "IC Rel Timestamp",
                Some("s"),
                ColumnData::F64(self.ic_rel_time.clone()),
            )
            .with(
                "debug:mean step freq",
                Some("steps/s"),
                ColumnData::F64(self.mean_step_freq.clone()),
            )
            .with(
                "debug:v axis est",
                None,
                ColumnData::I64(self.v_axis_est.clone()),
            )
            .with(
                "debug:ap axis est",
                None,
                ColumnData::I64(self.ap_axis_est.clone()),
            )
            .with("Turn", None, ColumnData::I64(self.turn.clone()));
        for e in &self.endpoints {
            t = t.with(e.name, e.unit, ColumnData::F64(e.values.clone()));
        }
        t
    }
}

/// SKDH's `get_gait_bouts`: merges bouts (start, stop sample indices) separated by less than
/// `max_sep` s and keeps those longer than `min_time` s. Like SKDH, the last bout is never merged
/// into its predecessor.
pub fn merge_bouts(
    starts: &[usize],
    stops: &[usize],
    time: &[f64],
    max_sep: f64,
    min_time: f64,
) -> Vec<(usize, usize)> {
    let n = starts.len().min(stops.len());
    let t = |i: usize| time.get(i).copied().unwrap_or(f64::NAN);
    let mut out = Vec::new();
    let mut nb = 0;
    while nb < n {
        let mut ncb = 0;
        if nb + 1 < n {
            let mut tdiff = t(starts[nb + 1]) - t(stops[nb]);
            while tdiff < max_sep && nb + ncb + 2 < n {
                ncb += 1;
                tdiff = t(starts[nb + ncb + 1]) - t(stops[nb + ncb]);
            }
        }
        let (s, e) = (starts[nb], stops[nb + ncb]);
        // numpy's ts[stop - 1] is the last time when stop == 0
        let last = if e == 0 {
            time.len().saturating_sub(1)
        } else {
            e - 1
        };
        if t(last) - t(s) > min_time {
            out.push((s, e.min(time.len())));
        }
        nb += ncb + 1;
    }
    out
}

/// Widens each bout by `pad` samples on both sides (clipped to `[0, n - 1]`). The classifier's
/// bouts are quantised to 3 s windows and often cut the first and last steps; padding them (with
/// a shorter `min_bout_time`) is the opt-in "short bouts" mode that recovers short walks such as
/// walkway passes. Not part of SKDH.
pub fn pad_bouts(bouts: &[(usize, usize)], pad: usize, n: usize) -> Vec<(usize, usize)> {
    let last = n.saturating_sub(1);
    bouts
        .iter()
        .map(|&(s, e)| (s.saturating_sub(pad), e.saturating_add(pad).min(last)))
        .collect()
}

fn columns(a: Axes<'_>, s: usize, e: usize) -> [Vec<f64>; 3] {
    [a.x[s..e].to_vec(), a.y[s..e].to_vec(), a.z[s..e].to_vec()]
}

/// Lumbar gait over the gait bouts `bouts` ((start, stop) sample indices of `time`, e.g. the
/// classifier's bouts, or `[(0, n - 1)]` for "all of it" as SKDH's `gait_pred=True` does).
/// `accel` in g, `gyro` in rad/s, `fs` in Hz. Bouts that cannot be processed are reported in
/// [`GaitResult::bouts`] and skipped; no walking gives an empty result.
pub fn gait_lumbar(
    time: &[f64],
    accel: Axes<'_>,
    gyro: Option<Axes<'_>>,
    fs: f64,
    bouts: &[(usize, usize)],
    body: BodySize,
    params: &GaitParams,
) -> Result<GaitResult, GaitError> {
    let n = time.len();
    if accel.x.len() != n || accel.y.len() != n || accel.z.len() != n {
        return Err(GaitError::Shape("accel and time".into()));
    }
    if let Some(g) = gyro
        && (g.x.len() != n || g.y.len() != n || g.z.len() != n)
    {
        return Err(GaitError::Shape("gyro and time".into()));
    }
    if fs.is_nan() || fs < 20.0 {
        return Err(GaitError::LowFrequency { fs });
    }
    if params.height_factor.is_nan()
        || params.height_factor <= 0.0
        || params.min_bout_time.is_nan()
        || params.min_bout_time < 0.0
    {
        return Err(GaitError::Parameter(
            "height_factor must be > 0 and min_bout_time >= 0".into(),
        ));
    }
    let (leg_length, spatial_note) = match body {
        BodySize::LegLength(l) if l > 0.0 => (Some(l), None),
        BodySize::Height(h) if h > 0.0 => (Some(params.height_factor * h), None),
        _ => (
            None,
            Some("no height or leg length: spatial endpoints not computed".to_string()),
        ),
    };

    // optional resampling of the signals and bout indices
    let starts: Vec<usize> = bouts.iter().map(|b| b.0.min(n.saturating_sub(1))).collect();
    let stops: Vec<usize> = bouts.iter().map(|b| b.1.min(n.saturating_sub(1))).collect();
    let goal_fs = if fs >= 50.0 { 50.0 } else { 20.0 };
    let resampled;
    let (time_p, acc_p, gyr_p, fs_p, starts_p, stops_p) =
        if params.downsample && fs != goal_fs && n > 0 {
            let mut data: Vec<&[f64]> = vec![accel.x, accel.y, accel.z];
            if let Some(g) = gyro {
                data.extend([g.x, g.y, g.z]);
            }
            let r = apply_resample(time, fs, goal_fs, &data, true)?;
            let s = resample_indices(time, &r.time, &starts);
            let e = resample_indices(time, &r.time, &stops);
            resampled = r;
            let d = &resampled.data;
            let acc = Axes::new(&d[0], &d[1], &d[2]);
            let gyr = (d.len() == 6).then(|| Axes::new(&d[3], &d[4], &d[5]));
            (resampled.time.as_slice(), acc, gyr, goal_fs, s, e)
        } else {
            (time, accel, gyro, fs, starts, stops)
        };

    let kept = merge_bouts(
        &starts_p,
        &stops_p,
        time_p,
        params.max_bout_separation_time,
        params.min_bout_time,
    );

    let mut res = GaitResult {
        fs: fs_p,
        spatial_note,
        ..Default::default()
    };
    let mut ev = endpoints::StepEvents::default();
    let mut signals = Vec::new();
    for (ib, &(s, e)) in kept.iter().enumerate() {
        let mut report = BoutReport {
            start: s,
            stop: e,
            steps: 0,
            skipped: None,
        };
        if e <= s {
            report.skipped = Some(BoutError::TooShort { n: 0, window: 0 });
            res.bouts.push(report);
            continue;
        }
        let acc = columns(acc_p, s, e);
        let pre = match events::preprocess(fs_p, &acc, &params.preprocess) {
            Ok(p) => p,
            Err(err) => {
                report.skipped = Some(err);
                res.bouts.push(report);
                continue;
            }
        };
        let (ic, fc) = match &params.event_method {
            EventMethod::ApCwt(p) => events::ap_cwt_events(fs_p, &pre, p),
            EventMethod::VerticalCwt(p) => events::vertical_cwt_events(fs_p, &pre, p),
        };
        let bt = &time_p[s..e];
        let strides = events::create_strides(bt, &ic, &fc, pre.mean_step_freq, &params.strides);
        let turn = match gyr_p {
            Some(g) => events::turns(fs_p, &acc, &columns(g, s, e), &strides),
            None => vec![-1; strides.ic.len()],
        };
        let k = strides.ic.len();
        report.steps = k;
        res.bouts.push(report);
        let cycles = strides.forward_cycles.iter().filter(|&&c| c == 2).count() as i64;
        let bi = signals.len();
        for j in 0..k {
            res.bout_n.push(ib as i64 + 1);
            res.bout_start.push(time_p[s]);
            res.bout_duration.push((e - s) as f64 / fs_p);
            res.bout_steps.push(k as i64);
            res.gait_cycles.push(cycles);
            let t = bt[strides.ic[j]];
            res.ic_time.push(t);
            res.ic_rel_time.push(t - time_p[s]);
            res.mean_step_freq.push(pre.mean_step_freq);
            res.v_axis_est.push(pre.v_axis_est as i64);
            res.ap_axis_est.push(pre.ap_axis_est as i64);
            res.turn.push(turn[j]);
            ev.bout.push(bi);
        }
        ev.ic.extend(&strides.ic);
        ev.fc.extend(&strides.fc);
        ev.fc_opp_foot.extend(&strides.fc_opp_foot);
        ev.forward_cycles.extend(&strides.forward_cycles);
        signals.push(endpoints::BoutSignal {
            accel: pre.accel_filt,
            v_axis: pre.v_axis,
        });
    }
    res.endpoints = endpoints::compute(fs_p, leg_length, &ev, &signals);
    Ok(res)
}
