//! Deterministic synthetic recordings with a per-minute truth schedule.
//!
//! [`generate`] streams a multi-day wearable accelerometer recording into a [`SampleSink`] and
//! returns its [`Truth`]: what the wearer did in every minute. The same [`SynthParams`] give the
//! same samples, bit for bit, on every machine: the random numbers come from an own
//! xoshiro256** generator and the trigonometry from own polynomial kernels, never from the
//! platform's libm.
//!
//! # What a day looks like
//! * **Night** (around 23:00-07:00): lying down, awake for a few minutes, then asleep with a
//!   posture change every 20-90 min, twitches every ~15 min, a slow wander of a fraction of a
//!   degree in between (so a sleeping wrist is still but not frozen), and a couple of
//!   awakenings. On the wrist the sleeping hand points anywhere, so every axis sees gravity up
//!   and down over a week: what van Hees auto-calibration needs.
//! * **Day**: a morning routine, then blocks drawn from the activity mix: sitting with small hand
//!   movements (sedentary), standing chores (light), walking bouts at one cadence each, and
//!   running (MVPA). Walking is a gait oscillator: on the lower back vertical and
//!   anterior-posterior acceleration at the step frequency with harmonics and medio-lateral at
//!   the stride frequency; on the wrist a pendulum arm swing at the stride frequency (gravity
//!   rotating with the arm, tangential and centripetal acceleration) plus heel-strike impacts.
//! * **Non-wear**: the device is taken off (handling in the last seconds before), lies still on
//!   one face, and cools from skin (~33 deg C) towards ambient (21 deg C).
//!
//! Every sample is `measured = true * scale + offset (+ temperature term) + noise` with the
//! known [`CalibrationError`]. Gravity reads +1 g along the up direction.
//!
//! # Reproducibility
//! * Same parameters, same bytes (no `rand`, no libm: see the private `math` and `rng` modules).
//! * The schedule is drawn per calendar day and every segment's movements from the segment's own
//!   random stream, in seconds: a recording with fewer `days` is an exact prefix of a longer one
//!   with the same seed and start, and the truth schedule does not depend on `fs`.
//!
//! # What SKDH 0.17.18 makes of it (7 days, 50 Hz, default parameters, seed 42)
//! Wrist: calibration finds offset/scale within 0.0015 g / 0.002 of the inverse of the
//! default error; threshold wear detection flags each non-wear episode longer than about 70 min
//! (only part of it: its 60-min windows must fit inside); the sleep window (TSO) starts within 1 min of the true sleep onset and
//! lasts within 2 min of onset-to-offset on every night; vigorous minutes per day equal the
//! truth's. Lumbar: the LightGBM gait classifier marks 99 % of walking and none of running (it
//! was trained on walking), plus ~6 min/day of light activity; `GaitLumbar` cadence is within
//! 2 steps/min of the truth.

mod cwa_out;
mod generate;
mod math;
mod params;
mod rng;
mod schedule;
mod truth;

pub use cwa_out::{write_cwa, write_cwa_with};
pub use params::{
    ActivityMix, BlockSpec, CalibrationError, Placement, ScheduleParams, SynthParams,
    TemperatureModel,
};
pub use truth::{
    ActivityState, GaitBout, Intensity, IntensityMinutes, MIGUELES_WRIST_CUTPOINTS_G, Night,
    Posture, Span, StateMinutes, Truth, TruthSummary,
};

use crate::io::{HeaderFacts, Recording, Triaxial};

/// Why a synthetic recording could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A parameter is out of range; the message names it.
    #[error("invalid synthetic recording parameters: {0}")]
    InvalidParams(String),
    /// The sink refused a sample.
    #[error("sample sink failed: {0}")]
    Sink(String),
    /// The CWA writer failed.
    #[error("CWA writer failed: {0}")]
    Cwa(#[from] crate::io::cwa::CwaWriteError),
}

/// Receives generated samples one at a time, in time order.
pub trait SampleSink {
    /// One sample: time `t` (unix s), acceleration (g), gyroscope (deg/s, when
    /// [`SynthParams::with_gyro`]), device temperature (deg C) and light (Axivity raw units,
    /// 0-1023, about 341 * log10(lux)).
    fn push(
        &mut self,
        t: f64,
        accel_g: [f64; 3],
        gyro_dps: Option<[f64; 3]>,
        temperature_c: f64,
        light: f64,
    ) -> Result<(), SynthError>;
}

impl<S: SampleSink + ?Sized> SampleSink for &mut S {
    fn push(
        &mut self,
        t: f64,
        accel_g: [f64; 3],
        gyro_dps: Option<[f64; 3]>,
        temperature_c: f64,
        light: f64,
    ) -> Result<(), SynthError> {
        (**self).push(t, accel_g, gyro_dps, temperature_c, light)
    }
}

/// Collecting into a [`Recording`] (all channels in memory): for short recordings and tests.
impl SampleSink for Recording {
    fn push(
        &mut self,
        t: f64,
        accel_g: [f64; 3],
        gyro_dps: Option<[f64; 3]>,
        temperature_c: f64,
        light: f64,
    ) -> Result<(), SynthError> {
        self.time.push(t);
        self.accel.push(accel_g);
        if let Some(g) = gyro_dps {
            self.gyro.get_or_insert_with(Triaxial::default).push(g);
        }
        self.temperature
            .get_or_insert_with(Vec::new)
            .push(temperature_c);
        self.light.get_or_insert_with(Vec::new).push(light);
        Ok(())
    }
}

/// Generates the recording described by `params` into `sink` and returns its truth.
///
/// Memory is the truth (a few dozen bytes per minute) plus the plan of one schedule segment;
/// it does not grow with the sampling rate.
pub fn generate(params: &SynthParams, sink: &mut impl SampleSink) -> Result<Truth, SynthError> {
    params.validate()?;
    let schedule = schedule::build(params);
    let mut builder = truth::TruthBuilder::new(params);
    generate::render(params, &schedule, &mut builder, sink)?;
    Ok(builder.finish(params, &schedule))
}

/// Generates the whole recording in memory: samples as a [`Recording`] (header: device
/// `"studyflow synth"`, no format) plus the truth. Meant for short recordings in tests; use
/// [`generate`] with a streaming sink for long ones.
pub fn generate_recording(params: &SynthParams) -> Result<(Recording, Truth), SynthError> {
    params.validate()?;
    // Reserve at most ~10 M samples up front; longer recordings grow as needed.
    let n = params.samples().min(10_000_000) as usize;
    let mut rec = Recording {
        time: Vec::with_capacity(n),
        accel: Triaxial::with_capacity(n),
        fs: params.fs,
        ..Recording::default()
    };
    let truth = generate(params, &mut rec)?;
    let mut channels = vec!["accel".to_string()];
    if params.with_gyro {
        channels.push("gyro".to_string());
    }
    channels.extend(["temperature".to_string(), "light".to_string()]);
    rec.header = HeaderFacts {
        format: None,
        device: "studyflow synth".to_string(),
        device_id: None,
        start: rec.time.first().copied(),
        end: rec.time.last().map(|t| t + 1.0 / params.fs),
        end_is_estimate: false,
        sample_rate: Some(params.fs),
        accel_range_g: None,
        channels,
        file_size: None,
    };
    Ok((rec, truth))
}
