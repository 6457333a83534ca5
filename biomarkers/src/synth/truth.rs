//! The truth schedule of a synthetic recording: one row per minute, plus nights, gait bouts,
//! non-wear episodes and a summary for scoring algorithms.

use serde::{Deserialize, Serialize};

use super::params::{CalibrationError, Placement, SynthParams};
use super::schedule::{Kind, Schedule};
use crate::table::{ColumnData, Table};

/// SKDH's default wrist cut-points (Migueles et al.), g of ENMO: sedentary below 0.050, light
/// below 0.110, moderate below 0.440, vigorous from 0.440.
pub const MIGUELES_WRIST_CUTPOINTS_G: [f64; 3] = [0.050, 0.110, 0.440];

/// What the wearer is doing in a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityState {
    /// Asleep (in bed).
    Sleep,
    /// Sitting, or lying awake in bed.
    Sedentary,
    /// Light activity (standing, chores).
    Light,
    /// Moderate-to-vigorous activity (running).
    Mvpa,
    /// Walking.
    Walking,
    /// The device is not worn.
    Nonwear,
}

impl ActivityState {
    /// All states, in table order.
    pub const ALL: [ActivityState; 6] = [
        ActivityState::Sleep,
        ActivityState::Sedentary,
        ActivityState::Light,
        ActivityState::Mvpa,
        ActivityState::Walking,
        ActivityState::Nonwear,
    ];

    /// Lower-case name (`sleep`, `sedentary`, `light`, `mvpa`, `walking`, `nonwear`).
    pub fn name(self) -> &'static str {
        match self {
            ActivityState::Sleep => "sleep",
            ActivityState::Sedentary => "sedentary",
            ActivityState::Light => "light",
            ActivityState::Mvpa => "mvpa",
            ActivityState::Walking => "walking",
            ActivityState::Nonwear => "nonwear",
        }
    }
}

/// Body posture (for the wrist placement too: the wrist itself may point anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Posture {
    /// Lying on the back.
    Supine,
    /// Lying face down.
    Prone,
    /// Lying on the left side.
    LeftSide,
    /// Lying on the right side.
    RightSide,
    /// Sitting.
    Sitting,
    /// Standing, walking or running.
    Standing,
    /// The device is off the body.
    NotWorn,
}

impl Posture {
    /// Snake-case name (`supine`, `prone`, `left_side`, `right_side`, `sitting`, `standing`,
    /// `not_worn`).
    pub fn name(self) -> &'static str {
        match self {
            Posture::Supine => "supine",
            Posture::Prone => "prone",
            Posture::LeftSide => "left_side",
            Posture::RightSide => "right_side",
            Posture::Sitting => "sitting",
            Posture::Standing => "standing",
            Posture::NotWorn => "not_worn",
        }
    }
}

/// Intensity level of a minute's ENMO by [`MIGUELES_WRIST_CUTPOINTS_G`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intensity {
    /// ENMO < 0.050 g.
    Sedentary,
    /// 0.050 <= ENMO < 0.110 g.
    Light,
    /// 0.110 <= ENMO < 0.440 g.
    Moderate,
    /// ENMO >= 0.440 g.
    Vigorous,
}

impl Intensity {
    /// The level of an ENMO value in g (NaN counts as sedentary).
    pub fn from_enmo(enmo_g: f64) -> Self {
        let [sed, light, moderate] = MIGUELES_WRIST_CUTPOINTS_G;
        if enmo_g >= moderate {
            Intensity::Vigorous
        } else if enmo_g >= light {
            Intensity::Moderate
        } else if enmo_g >= sed {
            Intensity::Light
        } else {
            Intensity::Sedentary
        }
    }

    /// Lower-case name (`sedentary`, `light`, `moderate`, `vigorous`).
    pub fn name(self) -> &'static str {
        match self {
            Intensity::Sedentary => "sedentary",
            Intensity::Light => "light",
            Intensity::Moderate => "moderate",
            Intensity::Vigorous => "vigorous",
        }
    }
}

/// One night in bed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Night {
    /// Going to bed, unix s (clipped to the recording).
    pub bed_time: f64,
    /// Getting up, unix s (clipped to the recording).
    pub rise_time: f64,
    /// Start of the first sleep minute, unix s; NaN if no sleep minute is in the recording.
    pub sleep_onset: f64,
    /// End of the last sleep minute, unix s; NaN if no sleep minute is in the recording.
    pub sleep_offset: f64,
    /// Minutes asleep in bed.
    pub sleep_minutes: u32,
    /// Minutes awake between sleep onset and offset (wake after sleep onset).
    pub waso_minutes: u32,
    /// True when the whole night lies inside the recording.
    pub complete: bool,
}

/// One continuous walking or running bout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GaitBout {
    /// Start of the periodic gait signal, unix s (after the start-up movement).
    pub start: f64,
    /// End of the gait signal, unix s.
    pub end: f64,
    /// Mean cadence of the bout, steps/min (individual steps vary by about 2 %).
    pub cadence_spm: f64,
    /// Steps completed in the recording.
    pub steps: u64,
    /// True for running (an MVPA block), false for walking.
    pub running: bool,
}

/// A time span in unix seconds, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Start, unix s.
    pub start: f64,
    /// End, unix s.
    pub end: f64,
}

/// The truth of a synthetic recording. The per-minute vectors all have one entry per minute
/// of the recording; minute `i` covers `[start + 60 i, start + 60 (i + 1))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Time of the first sample, unix s.
    pub start: f64,
    /// Sampling rate, Hz.
    pub fs: f64,
    /// Number of samples generated.
    pub n_samples: u64,
    /// Where the device was worn.
    pub placement: Placement,
    /// Start of each minute, unix s.
    pub minute_start: Vec<f64>,
    /// Activity state of each minute.
    pub state: Vec<ActivityState>,
    /// Whether the device is worn in each minute.
    pub worn: Vec<bool>,
    /// Whether each minute is in bed (the sleep window: from going to bed to getting up).
    pub in_bed: Vec<bool>,
    /// Body posture at the middle of each minute.
    pub posture: Vec<Posture>,
    /// Gait cadence of each minute, steps/min; NaN without walking or running.
    pub cadence_spm: Vec<f64>,
    /// Steps completed in each minute.
    pub steps: Vec<u32>,
    /// Mean ENMO (max(|a| - 1, 0)) of each minute, g, of the true acceleration at the device's
    /// placement: without noise and without the calibration error.
    pub enmo_g: Vec<f64>,
    /// Mean device temperature of each minute, deg C.
    pub temperature_c: Vec<f64>,
    /// Nights that overlap the recording.
    pub nights: Vec<Night>,
    /// Walking and running bouts.
    pub gait_bouts: Vec<GaitBout>,
    /// Non-wear episodes (clipped to the recording).
    pub nonwear: Vec<Span>,
    /// The calibration error applied to the samples.
    pub calibration_error: CalibrationError,
}

/// Minutes per activity state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateMinutes {
    /// Asleep.
    pub sleep: usize,
    /// Sedentary (including awake in bed).
    pub sedentary: usize,
    /// Light.
    pub light: usize,
    /// MVPA (running).
    pub mvpa: usize,
    /// Walking.
    pub walking: usize,
    /// Not worn.
    pub nonwear: usize,
}

/// Minutes per ENMO intensity level (Migueles cut-points).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntensityMinutes {
    /// ENMO < 0.050 g.
    pub sedentary: usize,
    /// 0.050-0.110 g.
    pub light: usize,
    /// 0.110-0.440 g.
    pub moderate: usize,
    /// >= 0.440 g.
    pub vigorous: usize,
}

/// Totals for scoring algorithms against the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthSummary {
    /// Minutes in the recording.
    pub minutes: usize,
    /// Minutes with the device worn.
    pub wear_minutes: usize,
    /// Minutes with the device off the body.
    pub nonwear_minutes: usize,
    /// Minutes in bed (worn).
    pub in_bed_minutes: usize,
    /// Minutes per activity state.
    pub state_minutes: StateMinutes,
    /// Minutes per intensity level of the true ENMO, over worn minutes out of bed (SKDH's
    /// "wake wear" time).
    pub wake_wear_intensity_minutes: IntensityMinutes,
    /// Steps in the recording.
    pub total_steps: u64,
    /// Sleep per night.
    pub nights: Vec<Night>,
}

impl Truth {
    /// Number of minutes (rows).
    pub fn len(&self) -> usize {
        self.minute_start.len()
    }

    /// True for a recording without minutes (never produced by the generator).
    pub fn is_empty(&self) -> bool {
        self.minute_start.is_empty()
    }

    /// The intensity level of each minute's true ENMO.
    pub fn intensity(&self) -> Vec<Intensity> {
        self.enmo_g
            .iter()
            .map(|&e| Intensity::from_enmo(e))
            .collect()
    }

    /// The per-minute truth as a table named `synth_truth` with columns `minute_start` (unix s),
    /// `state`, `worn`, `in_bed`, `posture`, `cadence` (steps/min), `steps`, `enmo` (g),
    /// `intensity` and `temperature` (deg C).
    pub fn to_table(&self) -> Table {
        let strs = |v: Vec<&str>| ColumnData::Str(v.into_iter().map(str::to_string).collect());
        Table::new("synth_truth")
            .with(
                "minute_start",
                Some("unix s"),
                ColumnData::F64(self.minute_start.clone()),
            )
            .with(
                "state",
                None,
                strs(self.state.iter().map(|s| s.name()).collect()),
            )
            .with("worn", None, ColumnData::Bool(self.worn.clone()))
            .with("in_bed", None, ColumnData::Bool(self.in_bed.clone()))
            .with(
                "posture",
                None,
                strs(self.posture.iter().map(|p| p.name()).collect()),
            )
            .with(
                "cadence",
                Some("steps/min"),
                ColumnData::F64(self.cadence_spm.clone()),
            )
            .with(
                "steps",
                None,
                ColumnData::I64(self.steps.iter().map(|&s| i64::from(s)).collect()),
            )
            .with("enmo", Some("g"), ColumnData::F64(self.enmo_g.clone()))
            .with(
                "intensity",
                None,
                strs(self.intensity().iter().map(|i| i.name()).collect()),
            )
            .with(
                "temperature",
                Some("degC"),
                ColumnData::F64(self.temperature_c.clone()),
            )
    }

    /// Totals: wear time, minutes per state and per intensity level, steps, nights.
    pub fn summary(&self) -> TruthSummary {
        let mut sm = StateMinutes::default();
        for s in &self.state {
            match s {
                ActivityState::Sleep => sm.sleep += 1,
                ActivityState::Sedentary => sm.sedentary += 1,
                ActivityState::Light => sm.light += 1,
                ActivityState::Mvpa => sm.mvpa += 1,
                ActivityState::Walking => sm.walking += 1,
                ActivityState::Nonwear => sm.nonwear += 1,
            }
        }
        let mut im = IntensityMinutes::default();
        for i in 0..self.len() {
            if self.worn[i] && !self.in_bed[i] {
                match Intensity::from_enmo(self.enmo_g[i]) {
                    Intensity::Sedentary => im.sedentary += 1,
                    Intensity::Light => im.light += 1,
                    Intensity::Moderate => im.moderate += 1,
                    Intensity::Vigorous => im.vigorous += 1,
                }
            }
        }
        let wear = self.worn.iter().filter(|w| **w).count();
        TruthSummary {
            minutes: self.len(),
            wear_minutes: wear,
            nonwear_minutes: self.len() - wear,
            in_bed_minutes: (0..self.len())
                .filter(|&i| self.in_bed[i] && self.worn[i])
                .count(),
            state_minutes: sm,
            wake_wear_intensity_minutes: im,
            total_steps: self.steps.iter().map(|&s| u64::from(s)).sum(),
            nights: self.nights.clone(),
        }
    }
}

/// Accumulates the truth while samples are generated.
pub(crate) struct TruthBuilder {
    start: f64,
    samples_per_minute: f64,
    state: Vec<ActivityState>,
    worn: Vec<bool>,
    in_bed: Vec<bool>,
    posture: Vec<Posture>,
    cadence: Vec<f64>,
    steps: Vec<u32>,
    enmo_sum: Vec<f64>,
    temp_sum: Vec<f64>,
    count: Vec<u32>,
    gait_bouts: Vec<GaitBout>,
}

impl TruthBuilder {
    pub(crate) fn new(p: &SynthParams) -> Self {
        let n = p.minutes();
        Self {
            start: p.start,
            samples_per_minute: 60.0 * p.fs,
            state: vec![ActivityState::Sedentary; n],
            worn: vec![true; n],
            in_bed: vec![false; n],
            posture: vec![Posture::Sitting; n],
            cadence: vec![f64::NAN; n],
            steps: vec![0; n],
            enmo_sum: vec![0.0; n],
            temp_sum: vec![0.0; n],
            count: vec![0; n],
            gait_bouts: Vec::new(),
        }
    }

    #[inline]
    fn minute_of_sample(&self, i: i64) -> Option<usize> {
        if i < 0 {
            return None;
        }
        // Truncation is the floor for non-negative values (and no libm call).
        let m = (i as f64 / self.samples_per_minute) as usize;
        (m < self.state.len()).then_some(m)
    }

    /// Marks minutes `[start_min, end_min)` (clipped) with a segment's facts; `postures` are
    /// (seconds from the start, posture) changes, sorted.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn set_segment(
        &mut self,
        start_min: i64,
        end_min: i64,
        state: ActivityState,
        worn: bool,
        in_bed: bool,
        cadence: f64,
        postures: &[(f64, Posture)],
    ) {
        let n = self.state.len() as i64;
        for m in start_min.max(0)..end_min.min(n) {
            let i = m as usize;
            self.state[i] = state;
            self.worn[i] = worn;
            self.in_bed[i] = in_bed;
            self.cadence[i] = cadence;
            let mid = 60.0 * m as f64 + 30.0;
            if let Some(&(_, p)) = postures
                .iter()
                .rev()
                .find(|(t, _)| *t <= mid)
                .or(postures.first())
            {
                self.posture[i] = p;
            }
        }
    }

    #[inline]
    pub(crate) fn add_sample(&mut self, i: i64, enmo: f64, temperature: f64) {
        if let Some(m) = self.minute_of_sample(i) {
            self.enmo_sum[m] += enmo;
            self.temp_sum[m] += temperature;
            self.count[m] += 1;
        }
    }

    pub(crate) fn add_step(&mut self, i: i64) {
        if let Some(m) = self.minute_of_sample(i) {
            self.steps[m] += 1;
        }
    }

    pub(crate) fn add_gait_bout(&mut self, bout: GaitBout) {
        self.gait_bouts.push(bout);
    }

    pub(crate) fn finish(self, p: &SynthParams, schedule: &Schedule) -> Truth {
        let n = self.state.len();
        let mean = |sum: &[f64]| -> Vec<f64> {
            sum.iter()
                .zip(&self.count)
                .map(|(s, &c)| if c > 0 { s / f64::from(c) } else { f64::NAN })
                .collect()
        };
        let enmo_g = mean(&self.enmo_sum);
        let temperature_c = mean(&self.temp_sum);
        let minute = |m: i64| self.start + 60.0 * m as f64;
        let nights = schedule
            .nights
            .iter()
            .filter_map(|night| {
                let (a, b) = (night.bed_min.max(0), night.rise_min.min(n as i64));
                if b <= a {
                    return None;
                }
                let sleeping: Vec<i64> = (a..b)
                    .filter(|&m| self.state[m as usize] == ActivityState::Sleep)
                    .collect();
                let (onset, offset) = match (sleeping.first(), sleeping.last()) {
                    (Some(&f), Some(&l)) => (f, l + 1),
                    _ => (0, 0),
                };
                Some(Night {
                    bed_time: minute(a),
                    rise_time: minute(b),
                    sleep_onset: if sleeping.is_empty() {
                        f64::NAN
                    } else {
                        minute(onset)
                    },
                    sleep_offset: if sleeping.is_empty() {
                        f64::NAN
                    } else {
                        minute(offset)
                    },
                    sleep_minutes: sleeping.len() as u32,
                    waso_minutes: (offset - onset - sleeping.len() as i64).max(0) as u32,
                    complete: night.bed_min >= 0 && night.rise_min <= n as i64,
                })
            })
            .collect();
        let nonwear = schedule
            .segments
            .iter()
            .filter(|s| s.kind == Kind::Nonwear)
            .map(|s| Span {
                start: minute(s.start_min.max(0)),
                end: minute(s.end_min.min(n as i64)),
            })
            .collect();
        Truth {
            start: self.start,
            fs: p.fs,
            n_samples: p.samples(),
            placement: p.placement,
            minute_start: (0..n as i64).map(minute).collect(),
            state: self.state,
            worn: self.worn,
            in_bed: self.in_bed,
            posture: self.posture,
            cadence_spm: self.cadence,
            steps: self.steps,
            enmo_g,
            temperature_c,
            nights,
            gait_bouts: self.gait_bouts,
            nonwear,
            calibration_error: p.calibration_error,
        }
    }
}
