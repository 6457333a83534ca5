//! Parameters of a synthetic recording, with documented defaults and units.

use serde::{Deserialize, Serialize};

use super::SynthError;

/// Where the device is worn. It decides the axes' orientation, what each activity looks like and
/// how gait is rendered.
///
/// Device axes: on the wrist x runs along the forearm towards the hand, z out of the device face
/// (pointing laterally when the arm hangs); on the lower back x is vertical (up when standing),
/// y medio-lateral (left) and z anterior-posterior (forwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// Wrist-worn (e.g. Axivity AX3 on the non-dominant wrist): the default.
    #[default]
    Wrist,
    /// Lower back / lumbar (e.g. Axivity AX6 over L5), as SKDH's gait analysis expects.
    Lumbar,
}

impl Placement {
    /// Lower-case name (`wrist`, `lumbar`).
    pub fn name(self) -> &'static str {
        match self {
            Placement::Wrist => "wrist",
            Placement::Lumbar => "lumbar",
        }
    }
}

/// The sensor's calibration error, applied to the true acceleration:
/// `measured = true * scale + offset + temperature_coeff * (T - reference_temperature)` per axis.
///
/// SKDH (van Hees 2014) corrects with `(measured + offset') * scale'`; with no temperature term
/// its ideal result is [`CalibrationError::skdh_correction`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CalibrationError {
    /// Per-axis offset, g. Default `[0.015, -0.020, 0.010]`.
    pub offset_g: [f64; 3],
    /// Per-axis gain, dimensionless. Default `[1.010, 0.990, 1.005]`.
    pub scale: [f64; 3],
    /// Per-axis temperature sensitivity, g per deg C. Default `[0, 0, 0]`.
    pub temperature_coeff_g_per_c: [f64; 3],
    /// Temperature at which the temperature term is zero, deg C. Default 25.
    pub reference_temperature_c: f64,
}

impl Default for CalibrationError {
    fn default() -> Self {
        Self {
            offset_g: [0.015, -0.020, 0.010],
            scale: [1.010, 0.990, 1.005],
            temperature_coeff_g_per_c: [0.0; 3],
            reference_temperature_c: 25.0,
        }
    }
}

impl CalibrationError {
    /// A perfectly calibrated sensor (offset 0, scale 1, no temperature term).
    pub fn none() -> Self {
        Self {
            offset_g: [0.0; 3],
            scale: [1.0; 3],
            temperature_coeff_g_per_c: [0.0; 3],
            reference_temperature_c: 25.0,
        }
    }

    /// The measured acceleration (g) for a true acceleration (g) at temperature `temperature_c`.
    #[inline]
    pub fn apply(&self, true_g: [f64; 3], temperature_c: f64) -> [f64; 3] {
        let dt = temperature_c - self.reference_temperature_c;
        std::array::from_fn(|i| {
            true_g[i] * self.scale[i] + self.offset_g[i] + self.temperature_coeff_g_per_c[i] * dt
        })
    }

    /// The correction in SKDH's convention, `corrected = (measured + offset) * scale`, that undoes
    /// this error (ignoring the temperature term): returns `(offset [g], scale)` per axis.
    pub fn skdh_correction(&self) -> ([f64; 3], [f64; 3]) {
        (
            std::array::from_fn(|i| -self.offset_g[i]),
            std::array::from_fn(|i| 1.0 / self.scale[i]),
        )
    }
}

/// Device temperature: a first-order approach to skin temperature while worn and to ambient
/// temperature while off the body.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemperatureModel {
    /// Device temperature reached while worn and sitting, deg C. Default 33.0. It is about
    /// 1 deg C higher in bed and 0.5-1.5 deg C lower during light activity, walking and exercise.
    pub skin_c: f64,
    /// Room temperature the device settles to when taken off, deg C. Default 21.0.
    pub ambient_c: f64,
    /// Time constant of cooling after removal, minutes. Default 12.
    pub cooling_tau_min: f64,
    /// Time constant of warming after putting the device on, minutes. Default 6.
    pub warming_tau_min: f64,
    /// Time constant of changes between worn activities, minutes. Default 10.
    pub worn_tau_min: f64,
}

impl Default for TemperatureModel {
    fn default() -> Self {
        Self {
            skin_c: 33.0,
            ambient_c: 21.0,
            cooling_tau_min: 12.0,
            warming_tau_min: 6.0,
            worn_tau_min: 10.0,
        }
    }
}

/// How often one kind of daytime block is chosen and how long it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockSpec {
    /// Relative weight when the next daytime block is drawn (>= 0).
    pub weight: f64,
    /// Shortest block, minutes (>= 1).
    pub min_minutes: u32,
    /// Longest block, minutes (>= `min_minutes`).
    pub max_minutes: u32,
}

/// The mix of daytime (awake, worn) blocks. Blocks are drawn one after another from rising to
/// bed time; a walking or MVPA block is never followed directly by another of the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityMix {
    /// Sitting with small hand movements. Default weight 0.45, 15-90 min.
    pub sedentary: BlockSpec,
    /// Standing, household chores. Default weight 0.25, 5-30 min.
    pub light: BlockSpec,
    /// Continuous walking at one cadence. Default weight 0.25, 2-20 min.
    pub walking: BlockSpec,
    /// Moderate-to-vigorous activity (running). Default weight 0.04, 10-30 min.
    pub mvpa: BlockSpec,
}

impl Default for ActivityMix {
    fn default() -> Self {
        let b = |weight, min_minutes, max_minutes| BlockSpec {
            weight,
            min_minutes,
            max_minutes,
        };
        Self {
            sedentary: b(0.45, 15, 90),
            light: b(0.25, 5, 30),
            walking: b(0.25, 2, 20),
            mvpa: b(0.04, 10, 30),
        }
    }
}

/// The daily schedule: night, daytime activity mix and non-wear episodes. Clock times are the
/// time of day of the (naive local) timestamps, as SKDH treats them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleParams {
    /// Mean bed time, hours after midnight of the evening's day, in [12, 36). Default 23.0.
    pub bed_time_h: f64,
    /// Standard deviation of the bed time, hours (clipped at 2 SD). Default 0.5.
    pub bed_time_jitter_h: f64,
    /// Mean rising time, hours after midnight of the morning, in [0, 24). Default 7.0.
    pub wake_time_h: f64,
    /// Standard deviation of the rising time, hours (clipped at 2 SD). Default 0.5.
    pub wake_time_jitter_h: f64,
    /// Awake in bed before falling asleep, minutes (min, max). Default (5, 25).
    pub sleep_latency_min: (f64, f64),
    /// Mean number of awakenings (awake in bed) per night (Poisson). Default 2.0.
    pub awakenings_per_night: f64,
    /// Duration of one awakening, minutes (min, max). Default (2, 10).
    pub awakening_min: (f64, f64),
    /// Time between posture changes in sleep, minutes (min, max). Default (20, 90).
    pub posture_change_min: (f64, f64),
    /// Mean time between brief movements (twitches) in sleep, minutes. Default 15.
    pub brief_movement_interval_min: f64,
    /// Daytime activity mix.
    pub mix: ActivityMix,
    /// Walking cadence range, steps/min (one cadence per bout). Default (95, 125).
    pub walking_cadence_spm: (f64, f64),
    /// Running (MVPA) cadence range, steps/min. Default (150, 175).
    pub running_cadence_spm: (f64, f64),
    /// Mean number of daytime non-wear episodes per day: the integer part always, the fraction
    /// as a probability. Default 0.7.
    pub nonwear_per_day: f64,
    /// Duration of one non-wear episode, minutes (min, max). Default (60, 180).
    pub nonwear_min: (f64, f64),
}

impl Default for ScheduleParams {
    fn default() -> Self {
        Self {
            bed_time_h: 23.0,
            bed_time_jitter_h: 0.5,
            wake_time_h: 7.0,
            wake_time_jitter_h: 0.5,
            sleep_latency_min: (5.0, 25.0),
            awakenings_per_night: 2.0,
            awakening_min: (2.0, 10.0),
            posture_change_min: (20.0, 90.0),
            brief_movement_interval_min: 15.0,
            mix: ActivityMix::default(),
            walking_cadence_spm: (95.0, 125.0),
            running_cadence_spm: (150.0, 175.0),
            nonwear_per_day: 0.7,
            nonwear_min: (60.0, 180.0),
        }
    }
}

/// Everything that defines a synthetic recording. The same parameters give the same samples,
/// bit for bit, on every machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthParams {
    /// Random seed. Default 42.
    pub seed: u64,
    /// Time of the first sample, unix seconds (naive local time). Default 1704103200
    /// (2024-01-01 10:00:00).
    pub start: f64,
    /// Length of the recording, days (rounded to whole minutes; at least one minute, at most
    /// 400 days). Default 7.
    pub days: f64,
    /// Sampling rate, Hz, in [1, 3200]. Default 50. CWA output needs 6.25 * 2^k Hz (12.5-3200).
    pub fs: f64,
    /// Where the device is worn. Default wrist.
    pub placement: Placement,
    /// Standard deviation of white accelerometer noise per axis, g. Default 0.004.
    pub noise_sd_g: f64,
    /// Calibration error applied to every sample.
    pub calibration_error: CalibrationError,
    /// Device temperature model.
    pub temperature: TemperatureModel,
    /// Daily schedule.
    pub schedule: ScheduleParams,
    /// Also produce gyroscope samples (deg/s), as an AX6 does. Default false.
    pub with_gyro: bool,
    /// Standard deviation of white gyroscope noise per axis, deg/s. Default 0.1.
    pub gyro_noise_sd_dps: f64,
}

impl Default for SynthParams {
    fn default() -> Self {
        Self {
            seed: 42,
            start: 1_704_103_200.0,
            days: 7.0,
            fs: 50.0,
            placement: Placement::Wrist,
            noise_sd_g: 0.004,
            calibration_error: CalibrationError::default(),
            temperature: TemperatureModel::default(),
            schedule: ScheduleParams::default(),
            with_gyro: false,
            gyro_noise_sd_dps: 0.1,
        }
    }
}

impl SynthParams {
    /// Number of whole minutes (truth rows) in the recording.
    pub fn minutes(&self) -> usize {
        (self.days * 1440.0).round().max(0.0) as usize
    }

    /// Number of samples: minutes * 60 * fs, rounded.
    pub fn samples(&self) -> u64 {
        (self.minutes() as f64 * 60.0 * self.fs).round() as u64
    }

    /// Checks every parameter; the error names the first bad one.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |what: &str| Err(SynthError::InvalidParams(what.to_string()));
        let range_ok =
            |r: (f64, f64)| r.0.is_finite() && r.1.is_finite() && r.0 >= 0.0 && r.0 <= r.1;
        if !self.start.is_finite() || self.start.abs() > 1e11 {
            return bad("start must be a finite unix time");
        }
        if !(self.days.is_finite() && self.days > 0.0 && self.days <= 400.0) || self.minutes() < 1 {
            return bad("days must give between 1 minute and 400 days");
        }
        if !(self.fs.is_finite() && (1.0..=3200.0).contains(&self.fs)) {
            return bad("fs must be in [1, 3200] Hz");
        }
        if !(self.noise_sd_g.is_finite() && (0.0..=1.0).contains(&self.noise_sd_g)) {
            return bad("noise_sd_g must be in [0, 1] g");
        }
        if !(self.gyro_noise_sd_dps.is_finite() && (0.0..=100.0).contains(&self.gyro_noise_sd_dps))
        {
            return bad("gyro_noise_sd_dps must be in [0, 100] deg/s");
        }
        let c = &self.calibration_error;
        let finite3 = |v: &[f64; 3]| v.iter().all(|x| x.is_finite());
        if !finite3(&c.offset_g)
            || !c.scale.iter().all(|s| s.is_finite() && *s > 0.0)
            || !finite3(&c.temperature_coeff_g_per_c)
            || !c.reference_temperature_c.is_finite()
        {
            return bad("calibration_error must be finite with positive scales");
        }
        let t = &self.temperature;
        if ![t.skin_c, t.ambient_c]
            .iter()
            .all(|x| x.is_finite() && (-40.0..=60.0).contains(x))
        {
            return bad("temperature skin_c and ambient_c must be in [-40, 60] deg C");
        }
        if ![t.cooling_tau_min, t.warming_tau_min, t.worn_tau_min]
            .iter()
            .all(|x| x.is_finite() && *x > 0.0)
        {
            return bad("temperature time constants must be positive");
        }
        let s = &self.schedule;
        if !(s.bed_time_h.is_finite() && (12.0..36.0).contains(&s.bed_time_h)) {
            return bad("schedule.bed_time_h must be in [12, 36)");
        }
        if !(s.wake_time_h.is_finite() && (0.0..24.0).contains(&s.wake_time_h)) {
            return bad("schedule.wake_time_h must be in [0, 24)");
        }
        let jitter_ok = |j: f64| j.is_finite() && (0.0..=3.0).contains(&j);
        if !jitter_ok(s.bed_time_jitter_h) || !jitter_ok(s.wake_time_jitter_h) {
            return bad("schedule jitters must be in [0, 3] h");
        }
        for (name, r) in [
            ("sleep_latency_min", s.sleep_latency_min),
            ("awakening_min", s.awakening_min),
            ("posture_change_min", s.posture_change_min),
            ("walking_cadence_spm", s.walking_cadence_spm),
            ("running_cadence_spm", s.running_cadence_spm),
            ("nonwear_min", s.nonwear_min),
        ] {
            if !range_ok(r) {
                return bad(&format!(
                    "schedule.{name} must be an ordered non-negative (min, max)"
                ));
            }
        }
        if s.posture_change_min.0 < 1.0 || s.awakening_min.0 < 1.0 || s.nonwear_min.0 < 1.0 {
            return bad(
                "schedule posture_change_min, awakening_min and nonwear_min must be >= 1 min",
            );
        }
        if s.walking_cadence_spm.0 < 40.0
            || s.running_cadence_spm.0 < 40.0
            || s.walking_cadence_spm.1 > 250.0
            || s.running_cadence_spm.1 > 250.0
        {
            return bad("schedule cadences must be in [40, 250] steps/min");
        }
        if !(s.awakenings_per_night.is_finite() && (0.0..=20.0).contains(&s.awakenings_per_night)) {
            return bad("schedule.awakenings_per_night must be in [0, 20]");
        }
        if !(s.nonwear_per_day.is_finite() && (0.0..=10.0).contains(&s.nonwear_per_day)) {
            return bad("schedule.nonwear_per_day must be in [0, 10]");
        }
        if !(s.brief_movement_interval_min.is_finite() && s.brief_movement_interval_min >= 0.5) {
            return bad("schedule.brief_movement_interval_min must be >= 0.5");
        }
        let m = &s.mix;
        let blocks = [m.sedentary, m.light, m.walking, m.mvpa];
        if blocks.iter().any(|b| {
            !(b.weight.is_finite() && b.weight >= 0.0)
                || b.min_minutes < 1
                || b.min_minutes > b.max_minutes
        }) || blocks.iter().map(|b| b.weight).sum::<f64>() <= 0.0
        {
            return bad(
                "schedule.mix blocks need weight >= 0 (positive sum) and 1 <= min <= max minutes",
            );
        }
        Ok(())
    }
}
