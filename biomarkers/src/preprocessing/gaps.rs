//! Gap filling (SKDH `FillGaps`): when consecutive samples are more than 1.5 sample periods
//! apart, the recording is re-gridded at `fs` from its first sample and the missing samples get
//! fill values (by default acceleration [0, 0, 1] g, gyroscope 0 deg/s, temperature 0 deg C,
//! light 0).

use serde::{Deserialize, Deserializer, Serialize};

use crate::io::{Recording, Triaxial};

/// Largest total length of the gaps that is filled, days. A longer one means a broken time axis
/// (a clock jump of years would otherwise allocate without bound), so it is an error.
pub const MAX_FILLED_DAYS: f64 = 31.0;

/// Why a recording's gaps cannot be filled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GapError {
    /// A timestamp at the ends of the recording is NaN or infinite.
    #[error("timestamp {0} is not a valid time")]
    Time(f64),
    /// The gaps add up to more than [`MAX_FILLED_DAYS`].
    #[error(
        "the gaps add up to {days:.1} days (more than {max} days): the time axis looks broken, not filled"
    )]
    TooLong {
        /// Total length of the gaps, days.
        days: f64,
        /// The limit, days.
        max: f64,
    },
}

/// Values written into filled samples: SKDH's `fill_values` (its keys and defaults; `light` is
/// ours, SKDH leaves light unfilled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FillValues {
    /// Acceleration per axis, g; one number fills all three axes. Default [0, 0, 1].
    #[serde(deserialize_with = "one_or_three")]
    pub accel: [f64; 3],
    /// Angular velocity per axis, deg/s; one number fills all three axes. Default 0.
    #[serde(deserialize_with = "one_or_three")]
    pub gyro: [f64; 3],
    /// Temperature, deg C. Default 0.
    pub temperature: f64,
    /// Light, device units. Default 0.
    pub light: f64,
    /// ECG: a key SKDH fills by default; our recordings carry no ECG, so it is accepted and
    /// unused. Default 0.
    pub ecg: f64,
}

impl Default for FillValues {
    fn default() -> Self {
        Self {
            accel: [0.0, 0.0, 1.0],
            gyro: [0.0; 3],
            temperature: 0.0,
            light: 0.0,
            ecg: 0.0,
        }
    }
}

/// numpy broadcasting of a fill value over three axes: a number or a list of three.
fn one_or_three<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 3], D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrThree {
        One(f64),
        Three([f64; 3]),
    }
    match OneOrThree::deserialize(d) {
        Ok(OneOrThree::One(v)) => Ok([v; 3]),
        Ok(OneOrThree::Three(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(
            "expected a number or a list of three numbers",
        )),
    }
}

/// Where each contiguous run of samples lands on the new grid and how long that grid is.
struct Plan {
    /// `(first, end, offset)`: samples `[first, end)` move to `[first + offset, end + offset)`.
    runs: Vec<(usize, usize, i64)>,
    /// The new time axis, unix s.
    time: Vec<f64>,
}

/// The runs between gaps and the regular grid at `fs` from the first sample, as SKDH's
/// `fill_data_gaps` computes them; `None` when there is no gap.
fn plan(time: &[f64], fs: f64) -> Result<Option<Plan>, GapError> {
    if time.len() < 2 || !fs.is_finite() || fs <= 0.0 {
        return Ok(None);
    }
    let gaps: Vec<usize> = (1..time.len())
        .filter(|&i| time[i] - time[i - 1] > 1.5 / fs)
        .collect();
    if gaps.is_empty() {
        return Ok(None);
    }
    let (t0, t1) = (time[0], time[time.len() - 1]);
    for t in [t0, t1] {
        if !t.is_finite() {
            return Err(GapError::Time(t));
        }
    }
    // numpy `arange(0, span + 0.5 / fs, 1 / fs) + t0`
    let step = 1.0 / fs;
    let n = ((t1 - t0 + 0.5 / fs) / step).ceil().max(1.0);
    let filled_days = (n - time.len() as f64) / fs / 86_400.0;
    if filled_days > MAX_FILLED_DAYS {
        return Err(GapError::TooLong {
            days: filled_days,
            max: MAX_FILLED_DAYS,
        });
    }
    let grid: Vec<f64> = (0..n as usize).map(|i| i as f64 * step + t0).collect();
    let last = grid[grid.len() - 1];
    let mut bounds = vec![0];
    bounds.extend(gaps);
    bounds.push(time.len());
    let runs = bounds
        .windows(2)
        .map(|w| {
            let base = grid.get(w[0]).copied().unwrap_or(last);
            // Python's int() truncates towards zero, as `as` does
            (w[0], w[1], ((time[w[0]] - base) * fs) as i64)
        })
        .collect();
    Ok(Some(Plan { runs, time: grid }))
}

impl Plan {
    /// One stream on the new grid: the fill value, then each run copied in place (later runs
    /// first, as SKDH iterates, so an overlap keeps the earlier run's samples).
    fn place(&self, src: &[f64], fill: f64) -> Vec<f64> {
        let m = self.time.len();
        let mut out = vec![fill; m];
        for &(i1, i2, off) in self.runs.iter().rev() {
            for (i, &v) in src.iter().enumerate().take(i2).skip(i1) {
                let j = i as i64 + off;
                if j >= 0 && (j as usize) < m {
                    out[j as usize] = v;
                }
            }
        }
        out
    }

    fn place3(&self, t: &Triaxial, fill: [f64; 3]) -> Triaxial {
        Triaxial {
            x: self.place(&t.x, fill[0]),
            y: self.place(&t.y, fill[1]),
            z: self.place(&t.z, fill[2]),
        }
    }
}

/// The recording with its gaps (consecutive samples more than 1.5 / `fs` s apart) filled on a
/// regular `fs` grid from the first sample, or `Ok(None)` when it has no gap (or fewer than two
/// samples, or no valid rate). Every stream is filled with its value from `fill`.
pub fn fill_gaps(rec: &Recording, fill: &FillValues) -> Result<Option<Recording>, GapError> {
    let Some(p) = plan(&rec.time, rec.fs)? else {
        return Ok(None);
    };
    Ok(Some(Recording {
        accel: p.place3(&rec.accel, fill.accel),
        gyro: rec.gyro.as_ref().map(|g| p.place3(g, fill.gyro)),
        temperature: rec
            .temperature
            .as_ref()
            .map(|t| p.place(t, fill.temperature)),
        light: rec.light.as_ref().map(|l| p.place(l, fill.light)),
        fs: rec.fs,
        header: rec.header.clone(),
        issues: rec.issues.clone(),
        time: p.time,
    }))
}

/// Number of samples [`fill_gaps`] adds (0 without gaps), for reports.
pub fn filled_samples(before: &Recording, after: &Recording) -> usize {
    after.len().saturating_sub(before.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_a_gap_with_gravity() {
        let mut rec = Recording {
            fs: 10.0,
            temperature: Some(Vec::new()),
            ..Default::default()
        };
        for i in (0..20).chain(30..40) {
            rec.time.push(f64::from(i) / 10.0);
            rec.accel.push([0.5, 0.5, 0.5]);
            if let Some(t) = rec.temperature.as_mut() {
                t.push(30.0);
            }
        }
        let f = fill_gaps(&rec, &FillValues::default()).unwrap().unwrap();
        assert_eq!(f.time.len(), 40);
        assert_eq!(f.accel.z[25], 1.0);
        assert_eq!(f.accel.x[25], 0.0);
        assert_eq!(f.accel.x[35], 0.5);
        assert_eq!(f.temperature.as_ref().unwrap()[25], 0.0);
        assert_eq!(f.check_lengths().map_err(|e| e.to_string()), Ok(()));
        assert_eq!(filled_samples(&rec, &f), 10);
        assert!(fill_gaps(&f, &FillValues::default()).unwrap().is_none());
        let custom: FillValues =
            serde_json::from_str(r#"{"accel": 0.25, "temperature": 20}"#).unwrap();
        let g = fill_gaps(&rec, &custom).unwrap().unwrap();
        assert_eq!(g.accel.z[25], 0.25);
        assert_eq!(g.temperature.as_ref().unwrap()[25], 20.0);
        assert!(serde_json::from_str::<FillValues>(r#"{"accel": [1, 2]}"#).is_err());
        assert!(serde_json::from_str::<FillValues>(r#"{"accl": 1}"#).is_err());
    }

    #[test]
    fn broken_time_axes_are_errors_not_allocations() {
        let rec = Recording {
            fs: 100.0,
            time: vec![0.0, 0.01, 1e9],
            accel: Triaxial {
                x: vec![0.0; 3],
                y: vec![0.0; 3],
                z: vec![1.0; 3],
            },
            ..Default::default()
        };
        assert!(matches!(
            fill_gaps(&rec, &FillValues::default()),
            Err(GapError::TooLong { .. })
        ));
        let mut nan = rec.clone();
        nan.time = vec![0.0, 5.0, f64::NAN];
        assert!(matches!(
            fill_gaps(&nan, &FillValues::default()),
            Err(GapError::Time(_))
        ));
        // a clock that steps back leaves its samples where they fit, without a panic
        let mut back = rec.clone();
        back.time = vec![10.0, 12.0, 9.0];
        let f = fill_gaps(&back, &FillValues::default()).unwrap();
        assert!(f.is_none_or(|f| f.check_lengths().is_ok()));
    }
}
