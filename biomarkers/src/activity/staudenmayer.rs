//! Activity levels from 15 s windows of the wrist acceleration magnitude, as SKDH's
//! `StaudenmayerClassification` (Staudenmayer et al. 2015, J Appl Physiol 119:396): the standard
//! deviation of the vector magnitude, the mean arm angle and the share of power in 0.6-2.5 Hz
//! classify each window as light/moderate/vigorous and as sedentary/non-sedentary; one row per
//! day window with the minutes in each class during wear (or wear and wake, given sleep).

use serde::{Deserialize, Serialize};

use super::features::range_power_sum_normalised;
use super::{ActivityError, ActivityInputs, DayRow, around1, day_table};
use crate::preprocessing::stats;
use crate::preprocessing::{WindowSet, day_intersection};
use crate::table::{ColumnData, Table};

/// Parameters (SKDH names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaudenmayerParams {
    /// Accelerometer axis (0, 1 or 2) along the forearm, for the arm angle. Required.
    pub arm_axis: usize,
    /// Leave the 0 Hz bin out of the total power. Default false.
    #[serde(default)]
    pub demean: bool,
    /// Use the power spectrum (true) or its modulus (false). Default true.
    #[serde(default = "yes")]
    pub use_power: bool,
    /// Minimum wear hours for a day to get values. Default 10.
    #[serde(default = "ten")]
    pub min_wear_time: u32,
    /// Day window [base hour, period hours], or null for the whole recording as one day.
    /// Default [0, 24].
    #[serde(default = "day0")]
    pub day_window: Option<[u32; 2]>,
}

fn yes() -> bool {
    true
}
fn ten() -> u32 {
    10
}
fn day0() -> Option<[u32; 2]> {
    Some([0, 24])
}

impl StaudenmayerParams {
    /// Default parameters for the given arm axis.
    pub fn new(arm_axis: usize) -> Self {
        Self {
            arm_axis,
            demean: false,
            use_power: true,
            min_wear_time: 10,
            day_window: day0(),
        }
    }

    /// Checks the parameters; errors name the field.
    pub fn validate(&self) -> Result<(), ActivityError> {
        if self.arm_axis > 2 {
            return Err(ActivityError::Param(format!(
                "arm_axis must be 0, 1 or 2 (got {})",
                self.arm_axis
            )));
        }
        if let Some([b, p]) = self.day_window
            && (b > 23 || !(1..=24).contains(&p))
        {
            return Err(ActivityError::Param(
                "day_window must be [base 0-23, period 1-24]".into(),
            ));
        }
        Ok(())
    }
}

/// Classes in SKDH's column order.
pub const CLASSES: [&str; 5] = ["sedentary", "nonsedentary", "light", "moderate", "vigorous"];

/// Window counts of one block per class (in [`CLASSES`] order), or an error when a window has
/// a standard deviation but no angle or power (SKDH raises there too).
fn classify_block(
    a: crate::preprocessing::Axes<'_>,
    fs: f64,
    nwlen: usize,
    p: &StaudenmayerParams,
) -> Result<[usize; 5], ActivityError> {
    let n = a.len();
    let avm: Vec<f64> = (0..n).map(|i| a.norm(i)).collect();
    let axis = match p.arm_axis {
        0 => a.x,
        1 => a.y,
        _ => a.z,
    };
    let angle: Vec<f64> = (0..n)
        .map(|i| 180.0 * (axis[i] / avm[i]).asin() / std::f64::consts::PI)
        .collect();
    let sd = stats::moving_sd(&avm, nwlen, nwlen, true).map_err(super::MetricError::from)?;
    let mean_angle =
        stats::moving_mean(&angle, nwlen, nwlen, nwlen, true).map_err(super::MetricError::from)?;
    let mut c = [0usize; 5];
    let mut labels = 0usize;
    for (k, (&s, &ang)) in sd.iter().zip(&mean_angle).enumerate() {
        if s.is_nan() {
            continue;
        }
        labels += 1;
        let w = &avm[k * nwlen..(k + 1) * nwlen];
        let p625 = range_power_sum_normalised(w, fs, 0, 0.6, 2.5, p.demean, !p.use_power);
        let mid = 0.26 < s && s <= 0.79;
        let light = s <= 0.26 && ang > -52.0;
        let moderate = (s <= 0.26 && ang <= -52.0) || (mid && ang > -53.0);
        let vigorous = 0.79 < s || (mid && ang <= -53.0);
        let sed = (s <= 0.098 && p625 <= 0.138)
            || (s <= 0.062 && p625 > 0.138)
            || (0.098 < s && s <= 0.148 && p625 <= 0.118);
        let nonsed = s > 0.148
            || (0.062 < s && s <= 0.098 && p625 > 0.138)
            || (0.098 < s && s <= 0.148 && p625 > 0.118);
        for (j, f) in [sed, nonsed, light, moderate, vigorous]
            .into_iter()
            .enumerate()
        {
            c[j] += usize::from(f);
        }
    }
    if c[2] + c[3] + c[4] != labels {
        return Err(ActivityError::Param(
            "Staudenmayer: a window has no arm angle (zero acceleration): light/moderate/vigorous \
             do not cover every window"
                .into(),
        ));
    }
    if c[0] + c[1] != labels {
        return Err(ActivityError::Param(
            "Staudenmayer: a window has no spectrum (zero acceleration): sedentary/non-sedentary \
             do not cover every window"
                .into(),
        ));
    }
    Ok(c)
}

/// Computes the per-day table `staudenmayer_daily`: date columns as the activity table, then
/// `wear_<class>` minutes (`wear-wake_<class>` when sleep windows are given). Days with fewer
/// than `min_wear_time` wear hours keep NaN values.
pub fn staudenmayer(
    inp: &ActivityInputs<'_>,
    p: &StaudenmayerParams,
) -> Result<(Table, Vec<String>), ActivityError> {
    p.validate()?;
    let n = inp.time.len().min(inp.accel.len());
    if n < 2 || inp.fs.is_nan() || inp.fs <= 0.0 {
        return Err(ActivityError::Empty);
    }
    let time = &inp.time[..n];
    let accel = inp.accel.slice(0, n);
    let fs = inp.fs;
    let nwlen = (15.0 * fs) as usize;
    if nwlen < 2 {
        return Err(ActivityError::Param(
            "Staudenmayer needs at least 2 samples per 15 s window".into(),
        ));
    }
    let epm = 4.0;
    let day_start_hour: i64 = p.day_window.map_or(-1, |d| i64::from(d[0]));
    let days: Vec<(usize, usize)> = match inp.days {
        Some(d) if p.day_window.is_some() => d.to_vec(),
        _ => vec![(0, n - 1)],
    };
    let default_wear = [(0usize, n - 1)];
    let wear: &[(usize, usize)] = inp.wear.unwrap_or(&default_wear);
    let sleep: Option<Vec<(usize, usize)>> = inp
        .sleep
        .map(|s| s.iter().map(|w| w.unwrap_or((0, 0))).collect());
    let mut rows = Vec::new();
    let mut messages = Vec::new();
    let minutes = |b: &[(usize, usize)]| {
        b.iter()
            .map(|&(s, e)| time[e.min(n - 1)] - time[s.min(n - 1)])
            .sum::<f64>()
            / 60.0
    };
    for (iday, &(ds, de)) in days.iter().enumerate() {
        let de = de.min(n - 1);
        let ds = ds.min(de);
        let mut row = DayRow::new(inp.clock, time, ds, de, day_start_hour, CLASSES.len())?;
        let inc_wear = WindowSet {
            bouts: wear,
            include: true,
        };
        let mut blocks = day_intersection(&[inc_wear], ds, de, None)?;
        let worn: usize = blocks.iter().map(|(s, e)| e - s).sum();
        row.n_wear_hours = around1(worn as f64 / fs / 3600.0);
        row.wear_min = minutes(&blocks);
        if row.n_wear_hours < f64::from(p.min_wear_time) {
            messages.push(format!(
                "day {}: {} wear hours, fewer than min_wear_time {} h: no Staudenmayer values",
                iday + 1,
                row.n_wear_hours,
                p.min_wear_time
            ));
            rows.push(row);
            continue;
        }
        if let Some(sl) = &sleep {
            let inc_wear = WindowSet {
                bouts: wear,
                include: true,
            };
            let exc_sleep = WindowSet {
                bouts: sl,
                include: false,
            };
            blocks = day_intersection(&[inc_wear, exc_sleep], ds, de, None)?;
            let ww: usize = blocks.iter().map(|(s, e)| e - s).sum();
            row.n_wear_wake_hours = around1(ww as f64 / fs / 3600.0);
            row.wear_wake_min = minutes(&blocks);
        }
        let mut counts = [0usize; 5];
        for &(s, e) in &blocks {
            if e - s <= nwlen {
                continue;
            }
            let c = classify_block(accel.slice(s, e), fs, nwlen, p)?;
            for (t, v) in counts.iter_mut().zip(c) {
                *t += v;
            }
        }
        row.wake = counts.iter().map(|&c| c as f64 / epm).collect();
        rows.push(row);
    }
    let prefix = if sleep.is_some() { "wear-wake" } else { "wear" };
    let mut t = day_table("staudenmayer_daily", &rows);
    for (k, c) in CLASSES.iter().enumerate() {
        t = t.with(
            &format!("{prefix}_{c}"),
            Some("min"),
            ColumnData::F64(rows.iter().map(|r| r.wake[k]).collect()),
        );
    }
    Ok((t, messages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessing::Axes;
    use crate::preprocessing::days::LocalClock;

    fn run(x: &[f64], y: &[f64], z: &[f64], fs: f64) -> Result<Table, ActivityError> {
        let time: Vec<f64> = (0..x.len()).map(|i| 1.7e9 + i as f64 / fs).collect();
        let clock = LocalClock::naive();
        let mut p = StaudenmayerParams::new(0);
        p.min_wear_time = 0;
        p.day_window = None;
        staudenmayer(
            &ActivityInputs {
                time: &time,
                accel: Axes::new(x, y, z),
                fs,
                wear: None,
                sleep: None,
                days: None,
                clock: &clock,
            },
            &p,
        )
        .map(|(t, _)| t)
    }

    #[test]
    fn still_wrist_is_sedentary_and_light() {
        // 10 min at 20 Hz lying still with the forearm axis horizontal: 40 windows of 15 s
        let n = 20 * 600;
        let (x, y, z) = (vec![0.0; n], vec![0.0; n], vec![1.0; n]);
        let t = run(&x, &y, &z, 20.0).unwrap();
        let get = |c: &str| match &t.column(c).unwrap().data {
            ColumnData::F64(v) => v[0],
            _ => f64::NAN,
        };
        // the last window ends one sample short of the block: 39 windows
        assert_eq!(get("wear_light"), 39.0 / 4.0);
        assert_eq!(get("wear_sedentary") + get("wear_nonsedentary"), 39.0 / 4.0);
        assert_eq!(get("wear_vigorous"), 0.0);
    }

    #[test]
    fn zero_acceleration_is_an_error_not_a_panic() {
        let n = 20 * 120;
        let o = vec![0.0; n];
        assert!(run(&o, &o, &o, 20.0).is_err());
        assert!(StaudenmayerParams::new(3).validate().is_err());
    }
}
