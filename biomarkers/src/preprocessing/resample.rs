//! Resampling to another rate with an optional anti-aliasing filter, as SKDH's internal
//! `apply_resample`: integer down-sampling factors keep every k-th sample of the filtered
//! signal; other ratios interpolate linearly onto a regular time grid.

use super::filter::{Band, FilterError, cheby1, sosfiltfilt};

/// numpy's `arange(0, stop, step)` length and values, for the resampled time grid.
fn arange(stop: f64, step: f64) -> Vec<f64> {
    let n = (stop / step).ceil();
    if n.is_nan() || n <= 0.0 {
        return Vec::new();
    }
    (0..n as usize).map(|i| i as f64 * step).collect()
}

/// Linear interpolation of `(xp, fp)` at `x`, clamped to the end values (numpy `interp`).
pub fn interp(x: &[f64], xp: &[f64], fp: &[f64]) -> Vec<f64> {
    let n = xp.len().min(fp.len());
    if n == 0 {
        return vec![f64::NAN; x.len()];
    }
    let mut out = Vec::with_capacity(x.len());
    let mut j = 0usize;
    for &v in x {
        if v.is_nan() {
            out.push(f64::NAN);
            continue;
        }
        if v <= xp[0] {
            out.push(fp[0]);
            continue;
        }
        if v >= xp[n - 1] {
            out.push(fp[n - 1]);
            continue;
        }
        // the query points are usually increasing: walk forward, else search
        if !(xp[j] <= v && v < xp[j + 1]) {
            if j + 2 < n && xp[j + 1] <= v && v < xp[j + 2] {
                j += 1;
            } else {
                j = xp.partition_point(|&p| p <= v).saturating_sub(1).min(n - 2);
            }
        }
        let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
        let y = slope * (v - xp[j]) + fp[j];
        out.push(if y.is_nan() { fp[j] } else { y });
    }
    out
}

/// A recording resampled to a new rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Resampled {
    /// New sample times, unix seconds.
    pub time: Vec<f64>,
    /// Resampled signals, in the order given.
    pub data: Vec<Vec<f64>>,
    /// The new sampling rate, Hz.
    pub fs: f64,
}

/// Resamples `data` (each as long as `time`) from `fs` to `goal_fs` Hz like SKDH's
/// `apply_resample`. When down-sampling (and `aa_filter`), a zero-phase 8th-order Chebyshev I
/// filter (0.05 dB ripple) at 0.8 / factor (integer factors) or goal_fs / fs of Nyquist runs first.
pub fn apply_resample(
    time: &[f64],
    fs: f64,
    goal_fs: f64,
    data: &[&[f64]],
    aa_filter: bool,
) -> Result<Resampled, FilterError> {
    if time.is_empty() {
        return Ok(Resampled {
            time: Vec::new(),
            data: data.iter().map(|_| Vec::new()).collect(),
            fs: goal_fs,
        });
    }
    let ratio = fs / goal_fs;
    let integer_ratio = ratio.trunc() == ratio;
    let time_rs: Vec<f64> = if integer_ratio && goal_fs < fs {
        time.iter().step_by(ratio as usize).copied().collect()
    } else {
        let t0 = time[0];
        arange((time[time.len() - 1] - t0) + 0.5 / goal_fs, 1.0 / goal_fs)
            .into_iter()
            .map(|v| v + t0)
            .collect()
    };
    let sos = if ratio >= 1.0 && aa_filter {
        let wn = if integer_ratio {
            0.8 / ratio
        } else {
            goal_fs / fs
        };
        Some(cheby1(8, 0.05, Band::Low(wn))?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(data.len());
    for d in data {
        let filtered;
        let src: &[f64] = match &sos {
            Some(s) => {
                filtered = sosfiltfilt(s, d)?;
                &filtered
            }
            None => d,
        };
        if integer_ratio && ratio > 1.0 {
            let last = time_rs[time_rs.len() - 1];
            let n = time.partition_point(|&t| t <= last);
            out.push(src[..n].iter().step_by(ratio as usize).copied().collect());
        } else {
            out.push(interp(&time_rs, time, src));
        }
    }
    Ok(Resampled {
        time: time_rs,
        data: out,
        fs: goal_fs,
    })
}

/// Maps sample indices of the original time axis onto the resampled one (nearest by linear
/// interpolation of the index, rounded half to even, like SKDH).
pub fn resample_indices(time: &[f64], time_rs: &[f64], idx: &[usize]) -> Vec<usize> {
    if time_rs.is_empty() || time.is_empty() {
        return vec![0; idx.len()];
    }
    let pos: Vec<f64> = (0..time_rs.len()).map(|i| i as f64).collect();
    let q: Vec<f64> = idx.iter().map(|&i| time[i.min(time.len() - 1)]).collect();
    interp(&q, time_rs, &pos)
        .into_iter()
        .map(|v| v.round_ties_even().max(0.0) as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_clamps_and_interpolates() {
        let y = interp(&[-1.0, 0.5, 1.0, 3.0], &[0.0, 1.0, 2.0], &[0.0, 10.0, 20.0]);
        assert_eq!(y, vec![0.0, 5.0, 10.0, 20.0]);
    }

    #[test]
    fn integer_factor_keeps_every_kth_sample() {
        let time: Vec<f64> = (0..1000).map(|i| f64::from(i) / 100.0).collect();
        let x = vec![1.0; 1000];
        let r = apply_resample(&time, 100.0, 20.0, &[&x], true).unwrap();
        assert_eq!(r.time.len(), 200);
        assert_eq!(r.data[0].len(), 200);
        // the Chebyshev filter's pass-band ripple: DC gain 1 / (1 + eps^2) after filtfilt
        let dc = 1.0 / 10f64.powf(0.005);
        assert!(
            r.data[0].iter().all(|v| (v - dc).abs() < 1e-9),
            "{}",
            r.data[0][100]
        );
        let r = apply_resample(&time, 100.0, 30.0, &[&x], true).unwrap();
        assert_eq!(r.time.len(), 301); // numpy arange(0, 9.99 + 1/60, 1/30)
        assert_eq!(
            resample_indices(&time, &r.time, &[0, 500, 999]),
            vec![0, 150, 300]
        );
    }
}
