//! A pipeline: an ordered list of algorithm steps run over one recording, like SKDH's `Pipeline`.
//!
//! A pipeline travels as JSON between the study config, the state machine and the batch job:
//! `{"steps": [{"step": "wear", "params": {"method": "choi"}}, {"step": "activity"}, ...]}`.
//! Per-day and per-bout tables (`Day N`, `Bout N`) get a `reason` column: why a row has no
//! values, or which of its values are undefined (NaN), empty when it has them all.
//! Parameters use SKDH's names, defaults and units; unknown steps or parameters are errors that
//! name the step and field. [`Pipeline::resolved`] gives the same shape with every default filled
//! in, for provenance.
//!
//! Steps and what they pass on (as SKDH's pipeline does):
//! * `fill_gaps` (SKDH `FillGaps`, `fill_values`): table `filled_gaps`; later steps see the
//!   recording re-gridded at its sampling rate, gaps filled (acceleration [0, 0, 1] g). It must
//!   come before `calibrate`, `wear` and `sleep`, whose results are indices into the samples.
//! * `calibrate` (van Hees auto-calibration): table `calibration`; when it succeeds, later steps
//!   see the corrected acceleration.
//! * `wear` (`method`: `accel_threshold` (default), `choi`, `cta`, `detach`): table
//!   `wear_bouts`; later steps use these bouts (without a wear step: worn throughout).
//! * `sleep`: tables `sleep_nights`, `sleep_minutes`; later activity excludes the sleep windows.
//! * `activity`: tables `activity_daily` and (unless `save_epoch_data: false`)
//!   `activity_epochs`.
//! * `counts` (ActiGraph activity counts as ActiLife computes them, `epoch_seconds`,
//!   `lfe_select`): table `actigraph_counts`; uses the current (calibrated) acceleration.
//! * `staudenmayer` (SKDH `StaudenmayerClassification`, `arm_axis` required): table
//!   `staudenmayer_daily`.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::activity::staudenmayer::{self, StaudenmayerParams};
use crate::activity::{self, ActivityInputs};
use crate::io::Recording;
use crate::preprocessing::Axes;
use crate::preprocessing::calibrate::{self, CalibrateParams, CalibrationStatus};
use crate::preprocessing::counts::{self, CountsParams};
use crate::preprocessing::days::{LocalClock, day_windows};
use crate::preprocessing::gaps::{self, FillValues};
use crate::preprocessing::wear::{
    self, AccelThresholdParams, Bouts, ChoiParams, CtaParams, DetachParams,
};
use crate::sleep::{self, SleepInputs};
use crate::table::{ColumnData, Table};

pub use crate::activity::ActivityParams;
pub use crate::sleep::SleepParams;

/// Facts about the subject that some steps need (from the study's subject metadata).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SubjectContext {
    /// Height, metres (gait spatial endpoints).
    pub height_m: Option<f64>,
    /// IANA time zone of the recording's local days, e.g. `"Europe/London"`; without it the
    /// timestamps are read as naive local time (as SKDH does without `tz_name`).
    pub time_zone: Option<String>,
}

/// One step as written in a config: its name and its parameters (a JSON object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Step name, e.g. `"activity"`.
    pub step: String,
    /// Parameters; missing ones take their defaults.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// The pipeline as written in a config or passed to the batch job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Steps in the order they run.
    pub steps: Vec<StepSpec>,
}

/// Parameters of the wear step: the method and its own parameters (SKDH names).
#[derive(Debug, Clone, PartialEq)]
pub enum WearParams {
    /// `accel_threshold` (SKDH `AccelThresholdWearDetection`), the default.
    AccelThreshold(AccelThresholdParams),
    /// `choi` (SKDH `CountWearDetection`).
    Choi(ChoiParams),
    /// `cta` (SKDH `CtaWearDetection`); needs temperature.
    Cta(CtaParams),
    /// `detach` (SKDH `DETACH`); needs temperature.
    Detach(DetachParams),
}

impl Default for WearParams {
    fn default() -> Self {
        WearParams::AccelThreshold(AccelThresholdParams::default())
    }
}

/// Names of the wear methods.
pub const WEAR_METHODS: &[&str] = &["accel_threshold", "choi", "cta", "detach"];

impl WearParams {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            WearParams::AccelThreshold(_) => "accel_threshold",
            WearParams::Choi(_) => "choi",
            WearParams::Cta(_) => "cta",
            WearParams::Detach(_) => "detach",
        }
    }

    fn from_map(mut m: Map<String, Value>) -> Result<Self, String> {
        let method = match m.remove("method") {
            None => "accel_threshold".to_string(),
            Some(Value::String(s)) => s,
            Some(other) => return Err(format!("method: expected a string, got {other}")),
        };
        let v = Value::Object(m);
        let e = |e: serde_json::Error| e.to_string();
        Ok(match method.as_str() {
            "accel_threshold" => WearParams::AccelThreshold(serde_json::from_value(v).map_err(e)?),
            "choi" => WearParams::Choi(serde_json::from_value(v).map_err(e)?),
            "cta" => WearParams::Cta(serde_json::from_value(v).map_err(e)?),
            "detach" => WearParams::Detach(serde_json::from_value(v).map_err(e)?),
            other => {
                return Err(format!(
                    "method: unknown wear method '{other}' (offered: {})",
                    WEAR_METHODS.join(", ")
                ));
            }
        })
    }

    fn to_map(&self) -> Map<String, Value> {
        let v = match self {
            WearParams::AccelThreshold(p) => serde_json::to_value(p),
            WearParams::Choi(p) => serde_json::to_value(p),
            WearParams::Cta(p) => serde_json::to_value(p),
            WearParams::Detach(p) => serde_json::to_value(p),
        };
        let mut m = Map::new();
        m.insert("method".into(), Value::String(self.method().into()));
        if let Ok(Value::Object(o)) = v {
            m.extend(o);
        }
        m
    }
}

/// Parameters of the `fill_gaps` step (SKDH `FillGaps`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FillGapsParams {
    /// Values of the filled samples per stream (SKDH `fill_values`; `null` or missing keys take
    /// SKDH's defaults: acceleration [0, 0, 1] g, gyroscope, temperature and ECG 0).
    #[serde(deserialize_with = "null_as_default")]
    pub fill_values: FillValues,
}

/// SKDH saves an unset dictionary parameter as `null`.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A step with its parameters decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Gap filling (re-grid at the sampling rate).
    FillGaps(FillGapsParams),
    /// Auto-calibration (van Hees).
    Calibrate(CalibrateParams),
    /// Wear detection.
    Wear(WearParams),
    /// Sleep (TSO, sleep/wake, nightly endpoints).
    Sleep(SleepParams),
    /// Activity levels and daily endpoints.
    Activity(ActivityParams),
    /// Staudenmayer activity levels (15 s windows).
    Staudenmayer(StaudenmayerParams),
    /// ActiGraph activity counts per epoch.
    Counts(CountsParams),
    /// Lumbar gait: classifier bouts, steps and their endpoints, per-bout and per-day summaries.
    Gait(GaitStepConfig),
}

/// Parameters of the `gait` step (a lumbar sensor): SKDH's `GaitLumbar` names and defaults, the
/// bout classifier, and the opt-in short-bout mode. Spatial endpoints need the subject's height
/// (study metadata `height_m`); without it they are NaN and the step says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaitStepConfig {
    /// Find gait bouts with SKDH's LightGBM classifier (default true); false analyses the whole
    /// recording as one bout.
    pub use_classifier: bool,
    /// Classifier probability above which a 3 s window is gait, 0-1. Default 0.7.
    pub classifier_threshold: f64,
    /// Resample to 50 Hz (or 20 Hz below 50 Hz) before event detection. Default false.
    pub downsample: bool,
    /// Leg length = `height_factor` x height. Default 0.53.
    pub height_factor: f64,
    /// Bouts must last longer than this, s. Default 8.
    pub min_bout_time: f64,
    /// Bouts closer than this are merged, s. Default 0.5.
    pub max_bout_separation_time: f64,
    /// Initial/final contact detection: `"AP CWT"` (default) or `"Vertical CWT"`.
    pub gait_event_method: String,
    /// Widen classifier bouts by this many seconds on each side (opt-in short-bout mode, with a
    /// smaller `min_bout_time`). Default 0 (SKDH).
    pub bout_padding_s: f64,
    /// Day windows of the per-day summary: [base hour 0-23, period hours 1-24]. Default [0, 24].
    pub day_window: [u8; 2],
}

impl Default for GaitStepConfig {
    fn default() -> Self {
        let g = crate::gait::GaitParams::default();
        Self {
            use_classifier: true,
            classifier_threshold: crate::gait::classifier::ClassifierParams::default().threshold,
            downsample: g.downsample,
            height_factor: g.height_factor,
            min_bout_time: g.min_bout_time,
            max_bout_separation_time: g.max_bout_separation_time,
            gait_event_method: "AP CWT".into(),
            bout_padding_s: 0.0,
            day_window: [0, 24],
        }
    }
}

impl GaitStepConfig {
    /// The gait library's parameters; the error names the bad field.
    pub fn step_params(&self) -> Result<crate::gait::step::GaitStepParams, String> {
        use crate::gait::{ApCwtParams, EventMethod, VerticalCwtParams};
        let event_method = match self
            .gait_event_method
            .to_ascii_lowercase()
            .replace(['_', '-'], " ")
            .as_str()
        {
            "ap cwt" => EventMethod::ApCwt(ApCwtParams::default()),
            "vertical cwt" | "v cwt" | "vcwt" => {
                EventMethod::VerticalCwt(VerticalCwtParams::default())
            }
            other => {
                return Err(format!(
                    "gait_event_method: '{other}' is not \"AP CWT\" or \"Vertical CWT\""
                ));
            }
        };
        let in_range = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(format!("{name}: {v} is outside [{lo}, {hi}]"))
            }
        };
        in_range("classifier_threshold", self.classifier_threshold, 0.0, 1.0)?;
        in_range("height_factor", self.height_factor, 0.1, 1.0)?;
        in_range("min_bout_time", self.min_bout_time, 0.0, 3600.0)?;
        in_range(
            "max_bout_separation_time",
            self.max_bout_separation_time,
            0.0,
            3600.0,
        )?;
        in_range("bout_padding_s", self.bout_padding_s, 0.0, 60.0)?;
        let [b, per] = self.day_window;
        if b > 23 || !(1..=24).contains(&per) {
            return Err("day_window: must be [base 0-23, period 1-24]".into());
        }
        let mut p = crate::gait::step::GaitStepParams {
            use_classifier: self.use_classifier,
            bout_padding_s: self.bout_padding_s,
            ..Default::default()
        };
        p.classifier.threshold = self.classifier_threshold;
        p.gait.downsample = self.downsample;
        p.gait.height_factor = self.height_factor;
        p.gait.min_bout_time = self.min_bout_time;
        p.gait.max_bout_separation_time = self.max_bout_separation_time;
        p.gait.event_method = event_method;
        Ok(p)
    }
}

/// The names of the steps this library version offers, in the usual running order.
pub const STEP_NAMES: &[&str] = &[
    "fill_gaps",
    "calibrate",
    "wear",
    "sleep",
    "activity",
    "staudenmayer",
    "counts",
    "gait",
];

/// Why a pipeline could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The step name is not one this library offers.
    #[error("steps[{index}]: unknown step '{name}' (this version of biomarkers offers: {offered})")]
    UnknownStep {
        /// Position in the step list.
        index: usize,
        /// The unknown name.
        name: String,
        /// Comma-separated list of offered steps.
        offered: String,
    },
    /// A parameter is unknown or has the wrong type.
    #[error("steps[{index}] ({name}).params: {message}")]
    BadParams {
        /// Position in the step list.
        index: usize,
        /// Step name.
        name: String,
        /// The decoder's message, naming the field.
        message: String,
    },
    /// The recording cannot be used by a step.
    #[error("step {step}: {message}")]
    Input {
        /// Step name.
        step: String,
        /// What is wrong with the input.
        message: String,
    },
}

fn decode<T: serde::de::DeserializeOwned>(
    index: usize,
    spec: &StepSpec,
) -> Result<T, PipelineError> {
    serde_json::from_value(serde_json::Value::Object(spec.params.clone())).map_err(|e| {
        PipelineError::BadParams {
            index,
            name: spec.step.clone(),
            message: e.to_string(),
        }
    })
}

impl Step {
    /// Decodes one step spec; `index` is its position, used in error messages.
    pub fn from_spec(index: usize, spec: &StepSpec) -> Result<Step, PipelineError> {
        let bad = |message: String| PipelineError::BadParams {
            index,
            name: spec.step.clone(),
            message,
        };
        match spec.step.as_str() {
            "fill_gaps" => {
                // the nested map's own errors name it, not one of its keys as a step parameter
                if let Some(v) = spec.params.get("fill_values").filter(|v| !v.is_null()) {
                    serde_json::from_value::<FillValues>(v.clone())
                        .map_err(|e| bad(format!("fill_values: {e}")))?;
                }
                Ok(Step::FillGaps(decode(index, spec)?))
            }
            "calibrate" => Ok(Step::Calibrate(decode(index, spec)?)),
            "wear" => WearParams::from_map(spec.params.clone())
                .map(Step::Wear)
                .map_err(bad),
            "sleep" => {
                let p: SleepParams = decode(index, spec)?;
                if p.add_active_time != 0.0 {
                    return Err(bad(
                        "add_active_time: only 0 is supported (SKDH pads with unseeded random data)"
                            .into(),
                    ));
                }
                let [b, per] = p.day_window;
                if b > 23 || !(1..=24).contains(&per) {
                    return Err(bad("day_window: must be [base 0-23, period 1-24]".into()));
                }
                Ok(Step::Sleep(p))
            }
            "activity" => {
                let p: ActivityParams = decode(index, spec)?;
                p.validate().map_err(|e| bad(e.to_string()))?;
                Ok(Step::Activity(p))
            }
            "staudenmayer" => {
                let p: StaudenmayerParams = decode(index, spec)?;
                p.validate().map_err(|e| bad(e.to_string()))?;
                Ok(Step::Staudenmayer(p))
            }
            "counts" => {
                let p: CountsParams = decode(index, spec)?;
                if !(1..=3600).contains(&p.epoch_seconds) {
                    return Err(bad("epoch_seconds: must be in 1..=3600".into()));
                }
                Ok(Step::Counts(p))
            }
            "gait" => {
                let p: GaitStepConfig = decode(index, spec)?;
                p.step_params().map_err(bad)?;
                Ok(Step::Gait(p))
            }
            other => Err(PipelineError::UnknownStep {
                index,
                name: other.to_string(),
                offered: STEP_NAMES.join(", "),
            }),
        }
    }

    /// The step's name as written in configs.
    pub fn name(&self) -> &'static str {
        match self {
            Step::FillGaps(_) => "fill_gaps",
            Step::Calibrate(_) => "calibrate",
            Step::Wear(_) => "wear",
            Step::Sleep(_) => "sleep",
            Step::Activity(_) => "activity",
            Step::Staudenmayer(_) => "staudenmayer",
            Step::Counts(_) => "counts",
            Step::Gait(_) => "gait",
        }
    }

    fn params_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let v = match self {
            Step::FillGaps(p) => serde_json::to_value(p),
            Step::Calibrate(p) => serde_json::to_value(p),
            Step::Wear(p) => return p.to_map(),
            Step::Sleep(p) => serde_json::to_value(p),
            Step::Activity(p) => serde_json::to_value(p),
            Step::Staudenmayer(p) => serde_json::to_value(p),
            Step::Counts(p) => serde_json::to_value(p),
            Step::Gait(p) => serde_json::to_value(p),
        };
        match v {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

/// A decoded pipeline, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Steps in running order.
    pub steps: Vec<Step>,
}

/// What running one step cost and said.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    /// Step name.
    pub step: String,
    /// Wall time of the step, seconds.
    pub seconds: f64,
    /// Notes for the reader of the results (e.g. why a day has no values).
    pub messages: Vec<String>,
}

/// The tables and reports of one pipeline run.
#[derive(Debug, Clone, Default)]
pub struct PipelineOutput {
    /// Result tables, one or more per step (e.g. `activity_epochs`, `activity_daily`).
    pub tables: Vec<Table>,
    /// One report per step, in order.
    pub reports: Vec<StepReport>,
}

/// What steps pass on to later steps.
struct State {
    accel: Option<crate::io::Triaxial>,
    wear: Option<Bouts>,
    sleep: Option<Vec<Option<(usize, usize)>>>,
}

/// The day windows (sample index ranges) of `[base hour, period hours]`, when a step asks for them.
fn windows_of(
    time: &[f64],
    fs: f64,
    window: Option<[u32; 2]>,
    clock: &LocalClock,
    step: &str,
) -> Result<Option<Vec<(usize, usize)>>, PipelineError> {
    window
        .map(|[b, per]| {
            day_windows(time, fs, i64::from(b), i64::from(per), clock)
                .map_err(|e| input_err(step, e))
        })
        .transpose()
}

fn input_err(step: &str, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Input {
        step: step.to_string(),
        message: e.to_string(),
    }
}

fn bouts_table(time: &[f64], bouts: &[(usize, usize)]) -> Table {
    let t = |i: usize| time.get(i).copied().unwrap_or(f64::NAN);
    Table::new("wear_bouts")
        .with(
            "start_index",
            Some("sample"),
            ColumnData::I64(bouts.iter().map(|b| b.0 as i64).collect()),
        )
        .with(
            "stop_index",
            Some("sample"),
            ColumnData::I64(bouts.iter().map(|b| b.1 as i64).collect()),
        )
        .with(
            "start",
            Some("unix s"),
            ColumnData::F64(bouts.iter().map(|b| t(b.0)).collect()),
        )
        .with(
            "stop",
            Some("unix s"),
            ColumnData::F64(bouts.iter().map(|b| t(b.1)).collect()),
        )
        .with(
            "duration",
            Some("min"),
            ColumnData::F64(bouts.iter().map(|b| (t(b.1) - t(b.0)) / 60.0).collect()),
        )
}

/// Adds a `reason` column to a per-day or per-bout table (one with an integer `Day N` or
/// `Bout N`): the step's notes about that day (e.g. why its endpoints are NaN), else, where the
/// row has NaN values, which ones are undefined for it (e.g. fragmentation endpoints of an
/// intensity level without bouts); empty for a row with every value.
fn add_day_reasons(t: &mut Table, messages: &[String]) {
    let (key, what) = if let Some(ColumnData::I64(d)) = t.column("Day N").map(|c| &c.data) {
        (d.clone(), "day")
    } else if let Some(ColumnData::I64(b)) = t.column("Bout N").map(|c| &c.data) {
        (b.clone(), "bout")
    } else {
        return;
    };
    if t.column("reason").is_some() {
        return;
    }
    let reasons: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(row, d)| {
            let prefix = format!("{what} {d}: ");
            let notes: Vec<&str> = messages
                .iter()
                .filter_map(|m| m.strip_prefix(&prefix))
                .collect();
            if !notes.is_empty() {
                return notes.join("; ");
            }
            let undefined: Vec<&str> = t
                .columns
                .iter()
                .filter(|c| matches!(&c.data, ColumnData::F64(v) if v.get(row).is_some_and(|x| x.is_nan())))
                .map(|c| c.name.as_str())
                .collect();
            match undefined.len() {
                0 => String::new(),
                n if n <= 6 => format!("undefined for this {what}: {}", undefined.join(", ")),
                n => format!(
                    "undefined for this {what}: {} and {} more",
                    undefined[..6].join(", "),
                    n - 6
                ),
            }
        })
        .collect();
    t.columns.push(crate::table::Column {
        name: "reason".into(),
        unit: None,
        data: ColumnData::Str(reasons),
    });
}

/// The gaps `fill_gaps` fills: the last sample before and the first after each, unix s.
fn gaps_table(time: &[f64], fs: f64) -> Table {
    let gaps: Vec<(f64, f64)> = time
        .windows(2)
        .filter(|w| w[1] - w[0] > 1.5 / fs)
        .map(|w| (w[0], w[1]))
        .collect();
    Table::new("filled_gaps")
        .with(
            "last_before",
            Some("unix s"),
            ColumnData::F64(gaps.iter().map(|g| g.0).collect()),
        )
        .with(
            "first_after",
            Some("unix s"),
            ColumnData::F64(gaps.iter().map(|g| g.1).collect()),
        )
        .with(
            "duration",
            Some("s"),
            ColumnData::F64(gaps.iter().map(|g| g.1 - g.0).collect()),
        )
}

fn counts_table(time: &[f64], c: &counts::Counts) -> Table {
    let t0 = time.first().copied().unwrap_or(f64::NAN);
    let ep = f64::from(c.epoch_seconds);
    let axis = |k: usize| ColumnData::I64(c.axes[k].iter().map(|&v| i64::from(v)).collect());
    Table::new("actigraph_counts")
        .with(
            "epoch_start",
            Some("unix s"),
            ColumnData::F64((0..c.len()).map(|i| t0 + i as f64 * ep).collect()),
        )
        .with("counts_x", Some("counts"), axis(0))
        .with("counts_y", Some("counts"), axis(1))
        .with("counts_z", Some("counts"), axis(2))
        .with(
            "vector_magnitude",
            Some("counts"),
            ColumnData::F64((0..c.len()).map(|i| c.vector_magnitude(i)).collect()),
        )
}

fn calibration_table(c: &calibrate::Calibration) -> Table {
    let f = |v: f64| ColumnData::F64(vec![v]);
    let ok = c.status == CalibrationStatus::Calibrated;
    let mut t = Table::new("calibration")
        .with(
            "status",
            None,
            ColumnData::Str(vec![format!("{:?}", c.status).to_lowercase()]),
        )
        .with("applied", None, ColumnData::Bool(vec![ok]))
        .with(
            "reason",
            None,
            ColumnData::Str(vec![c.status.describe().to_string()]),
        );
    for (k, ax) in ["x", "y", "z"].iter().enumerate() {
        t = t.with(&format!("offset_{ax}"), Some("g"), f(c.offset[k]));
    }
    for (k, ax) in ["x", "y", "z"].iter().enumerate() {
        t = t.with(&format!("scale_{ax}"), None, f(c.scale[k]));
    }
    for (k, ax) in ["x", "y", "z"].iter().enumerate() {
        t = t.with(
            &format!("temperature_scale_{ax}"),
            Some("g/degC"),
            f(c.temperature_scale[k]),
        );
    }
    t.with("temperature_mean", Some("deg C"), f(c.temperature_mean))
        .with("error_before", Some("g"), f(c.error_before))
        .with("error_after", Some("g"), f(c.error_after))
        .with("hours_used", Some("h"), f(c.hours_used))
        .with(
            "still_windows",
            None,
            ColumnData::I64(vec![c.still_windows as i64]),
        )
}

impl Pipeline {
    /// Decodes a pipeline spec; errors name the step index and field.
    pub fn from_spec(spec: &PipelineSpec) -> Result<Pipeline, PipelineError> {
        let steps = spec
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| Step::from_spec(i, s))
            .collect::<Result<Vec<_>, _>>()?;
        // Calibration, wear and sleep hand on sample indices and corrected samples of the grid
        // they ran on; re-gridding after them would misalign those.
        if let Some(fill) = steps.iter().position(|s| matches!(s, Step::FillGaps(_)))
            && let Some(before) = steps[..fill]
                .iter()
                .find(|s| matches!(s, Step::Calibrate(_) | Step::Wear(_) | Step::Sleep(_)))
        {
            return Err(PipelineError::BadParams {
                index: fill,
                name: "fill_gaps".into(),
                message: format!(
                    "fill_gaps must come before {} (its results refer to the samples before filling)",
                    before.name()
                ),
            });
        }
        Ok(Pipeline { steps })
    }

    /// The default pipeline for a wrist recording: calibrate, wear, sleep, activity.
    pub fn default_wrist() -> Pipeline {
        Pipeline {
            steps: vec![
                Step::Calibrate(CalibrateParams::default()),
                Step::Wear(WearParams::default()),
                Step::Sleep(SleepParams::default()),
                Step::Activity(ActivityParams::default()),
            ],
        }
    }

    /// The spec with every parameter resolved to its value (defaults filled), for provenance.
    pub fn resolved(&self) -> PipelineSpec {
        PipelineSpec {
            steps: self
                .steps
                .iter()
                .map(|s| StepSpec {
                    step: s.name().to_string(),
                    params: s.params_json(),
                })
                .collect(),
        }
    }

    /// Runs every step over the recording, leaving it untouched: `calibrate` writes a corrected
    /// copy of the acceleration (8 bytes a sample per axis more at the peak). Use
    /// [`run_owned`](Self::run_owned) when the recording is not needed afterwards.
    pub fn run(
        &self,
        rec: &Recording,
        subject: &SubjectContext,
    ) -> Result<PipelineOutput, PipelineError> {
        self.run_on(Some(rec), None, subject)
    }

    /// [`run`](Self::run) on a recording the pipeline may change: `calibrate` corrects the
    /// acceleration in place instead of copying it. The tables are bit for bit those of `run`.
    pub fn run_owned(
        &self,
        rec: Recording,
        subject: &SubjectContext,
    ) -> Result<PipelineOutput, PipelineError> {
        self.run_on(None, Some(rec), subject)
    }

    /// The steps over `owned` when given (changed in place), else over `borrowed`.
    fn run_on(
        &self,
        borrowed: Option<&Recording>,
        owned: Option<Recording>,
        subject: &SubjectContext,
    ) -> Result<PipelineOutput, PipelineError> {
        let mut out = PipelineOutput::default();
        let clock =
            LocalClock::new(subject.time_zone.as_deref()).map_err(|e| input_err("pipeline", e))?;
        let mut st = State {
            accel: None,
            wear: None,
            sleep: None,
        };
        // After a fill_gaps step, every later step reads the filled recording, which is ours.
        let mut owned = owned;
        for step in &self.steps {
            let Some(rec) = owned.as_ref().or(borrowed) else {
                return Err(input_err(step.name(), "no recording given"));
            };
            let mut refilled = None;
            let fs = rec.fs;
            let time = &rec.time;
            let t0 = Instant::now();
            let name = step.name();
            if rec.is_empty() || fs.is_nan() || fs <= 0.0 {
                return Err(input_err(
                    name,
                    "the recording has no samples or no valid sampling rate",
                ));
            }
            let mut messages = Vec::new();
            let first_table = out.tables.len();
            let accel: Axes<'_> = match &st.accel {
                Some(a) => a.into(),
                None => (&rec.accel).into(),
            };
            let temperature = rec.temperature.as_deref();
            // What the activity-level steps see: the current acceleration, wear and sleep.
            let activity_inputs = |days| ActivityInputs {
                time,
                accel,
                fs,
                wear: st.wear.as_deref(),
                sleep: st.sleep.as_deref(),
                days,
                clock: &clock,
            };
            match step {
                Step::FillGaps(p) => {
                    let table = gaps_table(time, fs);
                    match gaps::fill_gaps(rec, &p.fill_values).map_err(|e| input_err(name, e))? {
                        Some(f) => {
                            messages.push(format!(
                                "{} gaps filled with {} samples",
                                table.num_rows(),
                                gaps::filled_samples(rec, &f)
                            ));
                            refilled = Some(f);
                        }
                        None => messages
                            .push("no gaps longer than 1.5 sample periods: nothing filled".into()),
                    }
                    out.tables.push(table);
                }
                Step::Calibrate(p) => {
                    let c = calibrate::calibrate(accel, temperature, fs, p);
                    messages.push(c.status.describe().to_string());
                    out.tables.push(calibration_table(&c));
                    if c.status == CalibrationStatus::Calibrated {
                        if st.accel.is_none() && owned.is_none() {
                            // One pass writing the corrected copy; no clone of the raw data.
                            let [x, y, z] = c.applied(accel, temperature);
                            st.accel = Some(crate::io::Triaxial { x, y, z });
                        } else if let Some(a) = st.accel.as_mut() {
                            // already a copy of ours (a second calibrate)
                            c.apply(&mut a.x, &mut a.y, &mut a.z, temperature);
                        } else if let Some(o) = owned.as_mut() {
                            let Recording {
                                accel, temperature, ..
                            } = o;
                            c.apply(
                                &mut accel.x,
                                &mut accel.y,
                                &mut accel.z,
                                temperature.as_deref(),
                            );
                        }
                    }
                }
                Step::Wear(p) => {
                    let bouts = match p {
                        WearParams::AccelThreshold(q) => wear::accel_threshold(accel, fs, q),
                        WearParams::Choi(q) => wear::choi(time, accel, fs, q),
                        WearParams::Cta(q) => wear::cta(accel, temperature, fs, q),
                        WearParams::Detach(q) => wear::detach(accel, temperature, fs, q),
                    }
                    .map_err(|e| input_err(name, format!("{} wear: {e}", p.method())))?;
                    let worn: usize = bouts.iter().map(|b| b.1 - b.0).sum();
                    messages.push(format!(
                        "{}: {} wear bouts, {:.1} h worn",
                        p.method(),
                        bouts.len(),
                        worn as f64 / fs / 3600.0
                    ));
                    out.tables.push(bouts_table(time, &bouts));
                    st.wear = Some(bouts);
                }
                Step::Sleep(p) => {
                    let [base, period] = p.day_window;
                    let days = day_windows(time, fs, i64::from(base), i64::from(period), &clock)
                        .map_err(|e| input_err(name, e))?;
                    let r = sleep::sleep(
                        &SleepInputs {
                            time,
                            accel,
                            temperature,
                            fs,
                            wear: st.wear.as_deref(),
                            days: &days,
                            clock: &clock,
                        },
                        p,
                    )
                    .map_err(|e| input_err(name, e))?;
                    messages.extend(r.messages);
                    out.tables.push(r.nights);
                    out.tables.push(r.minutes);
                    st.sleep = Some(r.sleep_windows);
                }
                Step::Activity(p) => {
                    let days = windows_of(time, fs, p.day_window, &clock, name)?;
                    let r = activity::activity(&activity_inputs(days.as_deref()), p)
                        .map_err(|e| input_err(name, e))?;
                    messages.extend(r.messages);
                    if p.save_epoch_data {
                        out.tables.push(r.epochs);
                    }
                    out.tables.push(r.daily);
                }
                Step::Staudenmayer(p) => {
                    let days = windows_of(time, fs, p.day_window, &clock, name)?;
                    let (t, m) = staudenmayer::staudenmayer(&activity_inputs(days.as_deref()), p)
                        .map_err(|e| input_err(name, e))?;
                    messages.extend(m);
                    out.tables.push(t);
                }
                Step::Counts(p) => {
                    let c = counts::actigraph_counts(time, accel, fs, p)
                        .map_err(|e| input_err(name, e))?;
                    messages.push(match c.resampling {
                        counts::Resampling::ActiLife => format!(
                            "{} epochs of {} s (ActiLife resampling)",
                            c.len(),
                            p.epoch_seconds
                        ),
                        counts::Resampling::PowerOfTwo => format!(
                            "{} epochs of {} s (ActiGraph 256 Hz resampling)",
                            c.len(),
                            p.epoch_seconds
                        ),
                        counts::Resampling::Interpolated => format!(
                            "{} epochs of {} s; {fs} Hz has no ActiGraph resampling: interpolated \
                             to 30 Hz (counts are close to, not equal to, ActiLife's)",
                            c.len(),
                            p.epoch_seconds
                        ),
                    });
                    if c.is_empty() {
                        messages.push(format!(
                            "the recording is shorter than one {} s epoch: no counts",
                            p.epoch_seconds
                        ));
                    }
                    out.tables.push(counts_table(time, &c));
                }
                Step::Gait(p) => {
                    let params = p.step_params().map_err(|e| input_err(name, e))?;
                    let days: Vec<(f64, f64)> =
                        windows_of(time, fs, Some(p.day_window.map(u32::from)), &clock, name)?
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(s, e)| {
                                let t = |i: usize| {
                                    time.get(i).copied().unwrap_or_else(|| {
                                        time.last().copied().unwrap_or(0.0) + 1.0 / fs
                                    })
                                };
                                (t(s), t(e))
                            })
                            .collect();
                    let body = match subject.height_m {
                        Some(h) if h.is_finite() && h > 0.0 => crate::gait::BodySize::Height(h),
                        _ => {
                            messages.push(
                                "no height in the subject metadata: spatial endpoints are NaN"
                                    .into(),
                            );
                            crate::gait::BodySize::Unknown
                        }
                    };
                    let r = crate::gait::step::gait_step(
                        time,
                        accel,
                        rec.gyro.as_ref().map(Axes::from),
                        fs,
                        body,
                        &days,
                        &params,
                    )
                    .map_err(|e| input_err(name, e))?;
                    messages.extend(r.notes);
                    out.tables.push(r.bouts);
                    out.tables.push(r.steps);
                    out.tables.push(r.bout_summary);
                    out.tables.push(r.day_summary);
                }
            }
            for t in &mut out.tables[first_table..] {
                add_day_reasons(t, &messages);
            }
            out.reports.push(StepReport {
                step: name.to_string(),
                seconds: t0.elapsed().as_secs_f64(),
                messages,
            });
            if let Some(f) = refilled {
                owned = Some(f);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_with_defaults() {
        let spec: PipelineSpec = serde_json::from_str(
            r#"{"steps":[{"step":"wear","params":{"method":"choi"}},{"step":"activity","params":{"min_wear_time":1}}]}"#,
        )
        .unwrap();
        let p = Pipeline::from_spec(&spec).unwrap();
        let r = p.resolved();
        assert_eq!(r.steps[0].params["method"], "choi");
        assert_eq!(r.steps[0].params["nonwear_window_min"], 90);
        assert_eq!(r.steps[1].params["short_wlen"], 5);
        assert_eq!(Pipeline::from_spec(&r).unwrap(), p);
    }

    #[test]
    fn bad_specs_name_the_field() {
        let bad = |s: &str| {
            let spec: PipelineSpec = serde_json::from_str(s).unwrap();
            Pipeline::from_spec(&spec).unwrap_err().to_string()
        };
        assert!(bad(r#"{"steps":[{"step":"gaitx"}]}"#).contains("unknown step"));
        assert!(bad(r#"{"steps":[{"step":"wear","params":{"method":"x"}}]}"#).contains("method"));
        assert!(
            bad(r#"{"steps":[{"step":"wear","params":{"sd_crit":"a"}}]}"#).contains("invalid type")
        );
        assert!(bad(r#"{"steps":[{"step":"wear","params":{"sdcrit":1}}]}"#).contains("sdcrit"));
        assert!(bad(r#"{"steps":[{"step":"activity","params":{"epoch":5}}]}"#).contains("epoch"));
        assert!(
            bad(r#"{"steps":[{"step":"activity","params":{"cutpoints":"nope"}}]}"#)
                .contains("nope")
        );
        assert!(
            bad(r#"{"steps":[{"step":"sleep","params":{"add_active_time":1.0}}]}"#)
                .contains("add_active_time")
        );
        let cp = |c: &str| {
            bad(&format!(
                r#"{{"steps":[{{"step":"activity","params":{{"cutpoints":{c}}}}}]}}"#
            ))
        };
        assert!(
            cp(r#"{"metric":"metric_x","sedentary":1,"light":2,"moderate":3}"#)
                .contains("metric_x")
        );
        assert!(cp(r#"{"metric":"metric_en","light":2,"moderate":3}"#).contains("sedentary"));
        assert!(
            cp(r#"{"metric":"metric_en","sedentary":3,"light":2,"moderate":3}"#)
                .contains("ordered")
        );
        assert!(
            cp(
                r#"{"metric":"metric_en","kwargs":{"wlen":5},"sedentary":1,"light":2,"moderate":3}"#
            )
            .contains("wlen")
        );
        assert!(cp("5").contains("expected a set name"));
        assert!(bad(r#"{"steps":[{"step":"staudenmayer"}]}"#).contains("arm_axis"));
        assert!(
            bad(r#"{"steps":[{"step":"staudenmayer","params":{"arm_axis":3}}]}"#)
                .contains("arm_axis")
        );
    }

    #[test]
    fn fill_gaps_and_counts_specs() {
        let spec = |s: &str| -> Result<Pipeline, String> {
            let spec: PipelineSpec = serde_json::from_str(s).unwrap();
            Pipeline::from_spec(&spec).map_err(|e| e.to_string())
        };
        let p = spec(r#"{"steps":[{"step":"fill_gaps","params":{"fill_values":null}},{"step":"wear"},{"step":"counts"}]}"#).unwrap();
        let r = p.resolved();
        assert_eq!(
            r.steps[0].params["fill_values"]["accel"],
            serde_json::json!([0.0, 0.0, 1.0])
        );
        assert_eq!(r.steps[2].params["epoch_seconds"], 60);
        assert_eq!(Pipeline::from_spec(&r).unwrap(), p);
        let e = spec(r#"{"steps":[{"step":"wear"},{"step":"fill_gaps"}]}"#).unwrap_err();
        assert!(
            e.contains("steps[1] (fill_gaps)") && e.contains("before wear"),
            "{e}"
        );
        let e = spec(r#"{"steps":[{"step":"fill_gaps","params":{"fill_values":{"acel":1}}}]}"#)
            .unwrap_err();
        assert!(e.contains("fill_values: unknown field `acel`"), "{e}");
        let e = spec(r#"{"steps":[{"step":"counts","params":{"epoch_seconds":0}}]}"#).unwrap_err();
        assert!(e.contains("epoch_seconds"), "{e}");
    }

    #[test]
    fn day_reasons_name_the_day_or_the_undefined_values() {
        let mut t = Table::new("d")
            .with("Day N", None, ColumnData::I64(vec![1, 2, 3]))
            .with("a", None, ColumnData::F64(vec![f64::NAN, 1.0, f64::NAN]));
        add_day_reasons(&mut t, &["day 1: too little wear".into(), "other".into()]);
        let Some(ColumnData::Str(r)) = t.column("reason").map(|c| &c.data) else {
            panic!("no reason column")
        };
        assert_eq!(r, &["too little wear", "", "undefined for this day: a"]);
    }

    #[test]
    fn skdh_cutpoint_dicts_parse_and_round_trip() {
        // the shape SKDH saves in a .skdh pipeline (its resolved cut-points are always a dict)
        let spec: PipelineSpec = serde_json::from_str(
            r#"{"steps":[{"step":"activity","params":{"cutpoints":{"kwargs":{"take_abs":false,"trim_zero":true},"light":0.11,"metric":"metric_enmo","moderate":0.44,"sedentary":0.05},"save_epoch_data":false,"wear_wake_times_round":null}},
                         {"step":"activity","params":{"cutpoints":{"metric":"mad","kwargs":null,"sedentary":0.01,"light":0.09,"moderate":0.41}}},
                         {"step":"staudenmayer","params":{"arm_axis":0}}]}"#,
        )
        .unwrap();
        let p = Pipeline::from_spec(&spec).unwrap();
        let Step::Activity(a) = &p.steps[0] else {
            panic!()
        };
        assert_eq!(
            a.validate().unwrap(),
            crate::activity::cutpoints::Cutpoints::named("migueles_wrist_adult").unwrap()
        );
        assert!(!a.save_epoch_data);
        let r = p.resolved();
        assert_eq!(r.steps[1].params["cutpoints"]["metric"], "metric_mad");
        assert_eq!(r.steps[2].params["use_power"], true);
        assert_eq!(Pipeline::from_spec(&r).unwrap(), p);
    }
}
