//! Resampling to another rate with an optional anti-aliasing filter, as SKDH's internal
//! `apply_resample`: integer down-sampling factors keep every k-th sample of the filtered
//! signal; other ratios interpolate linearly onto a regular time grid.

use super::filter::{Band, FilterError, cheby1, sosfiltfilt_padded};

/// numpy's `arange(0, stop, step)` length and values, for the resampled time grid.
fn arange(stop: f64, step: f64) -> Vec<f64> {
    let n = (stop / step).ceil();
    if n.is_nan() || n <= 0.0 {
        return Vec::new();
    }
    (0..n as usize).map(|i| i as f64 * step).collect()
}

/// Linear interpolation of `(xp, fp)` at `x`, clamped to the end values (numpy `interp`).
/// `xp` must increase; `x` may come in any order, but increasing `x` is the fast case.
pub fn interp(x: &[f64], xp: &[f64], fp: &[f64]) -> Vec<f64> {
    let n = xp.len().min(fp.len());
    let mut out = vec![0.0; x.len()];
    interp_into(x, &xp[..n], &[&fp[..n]], &mut [out.as_mut_slice()]);
    out
}

/// Where `v` falls on `xp` for [`interp`].
#[derive(Clone, Copy)]
enum Pos {
    /// NaN query.
    Nan,
    /// At or before the first point / at or after the last one: that point's value.
    At(usize),
    /// Between points `j` and `j + 1`: `v - xp[j]` and `xp[j + 1] - xp[j]`.
    Between(usize, f64, f64),
}

/// [`interp`] of several value arrays on the same abscissae at once: the bracketing index is
/// found once per query (walking forward from the previous one, so increasing queries cost
/// O(len(x) + len(xp))). Writes `out[k][i]` for `fps[k]`; every `fps[k]` is at least as long
/// as `xp` and every `out[k]` as long as `x`.
fn interp_into(x: &[f64], xp: &[f64], fps: &[&[f64]], out: &mut [&mut [f64]]) {
    let n = xp.len();
    if n == 0 {
        for o in out.iter_mut() {
            o.fill(f64::NAN);
        }
        return;
    }
    let mut j = 0usize;
    for (i, &v) in x.iter().enumerate() {
        let pos = if v.is_nan() {
            Pos::Nan
        } else if v <= xp[0] {
            Pos::At(0)
        } else if v >= xp[n - 1] {
            Pos::At(n - 1)
        } else {
            // here n >= 2 and xp[0] < v < xp[n - 1]: the last j with xp[j] <= v is in 0..n-1
            if xp[j] > v {
                j = xp.partition_point(|&p| p <= v).saturating_sub(1);
            } else {
                let mut steps = 0;
                while xp[j + 1] <= v {
                    j += 1;
                    steps += 1;
                    if steps == 16 {
                        // a long jump: search the rest
                        j += xp[j..].partition_point(|&p| p <= v).saturating_sub(1);
                        break;
                    }
                }
            }
            j = j.min(n - 2);
            Pos::Between(j, v - xp[j], xp[j + 1] - xp[j])
        };
        for (fp, o) in fps.iter().zip(out.iter_mut()) {
            o[i] = match pos {
                Pos::Nan => f64::NAN,
                Pos::At(k) => fp[k],
                Pos::Between(j, dv, dx) => {
                    let slope = (fp[j + 1] - fp[j]) / dx;
                    let y = slope * dv + fp[j];
                    if y.is_nan() { fp[j] } else { y }
                }
            };
        }
    }
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
    // Up to four signals are filtered together (about twice as fast as two with 256-bit
    // vectors), at the cost of holding their padded copies until they are resampled.
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(data.len());
    for group in data.chunks(4) {
        let filtered;
        let srcs: Vec<&[f64]> = match &sos {
            Some(s) => {
                filtered = sosfiltfilt_padded(s, group)?;
                let edge = filtered.1;
                filtered
                    .0
                    .iter()
                    .zip(group)
                    .map(|(f, d)| &f[edge..edge + d.len()])
                    .collect()
            }
            None => group.to_vec(),
        };
        out.extend(resample_filtered(
            time,
            &time_rs,
            ratio,
            integer_ratio,
            &srcs,
        ));
    }
    Ok(Resampled {
        time: time_rs,
        data: out,
        fs: goal_fs,
    })
}

/// Decimation (integer factor) or interpolation of already filtered signals onto `time_rs`.
fn resample_filtered(
    time: &[f64],
    time_rs: &[f64],
    ratio: f64,
    integer_ratio: bool,
    srcs: &[&[f64]],
) -> Vec<Vec<f64>> {
    if integer_ratio && ratio > 1.0 {
        let last = time_rs[time_rs.len() - 1];
        let n = time.partition_point(|&t| t <= last);
        return srcs
            .iter()
            .map(|src| {
                src[..n.min(src.len())]
                    .iter()
                    .step_by(ratio as usize)
                    .copied()
                    .collect()
            })
            .collect();
    }
    let m = time.len();
    // numpy interp uses the common length of the abscissae and each signal
    let (full, short): (Vec<usize>, Vec<usize>) =
        (0..srcs.len()).partition(|&k| srcs[k].len() >= m);
    let mut out: Vec<Vec<f64>> = srcs.iter().map(|_| vec![0.0; time_rs.len()]).collect();
    let fps: Vec<&[f64]> = full.iter().map(|&k| srcs[k]).collect();
    {
        let mut outs: Vec<&mut [f64]> = out
            .iter_mut()
            .enumerate()
            .filter(|(k, _)| full.contains(k))
            .map(|(_, o)| o.as_mut_slice())
            .collect();
        interp_into(time_rs, time, &fps, &mut outs);
    }
    for k in short {
        out[k] = interp(time_rs, time, srcs[k]);
    }
    out
}

/// Maps sample indices of the original time axis onto the resampled one (nearest by linear
/// interpolation of the index, rounded half to even, like SKDH).
pub fn resample_indices(time: &[f64], time_rs: &[f64], idx: &[usize]) -> Vec<usize> {
    if time_rs.is_empty() || time.is_empty() {
        return vec![0; idx.len()];
    }
    // numpy interp of the query times on (time_rs, 0..len) without building the index array:
    // the same arithmetic, with fp[j + 1] - fp[j] = 1 exactly
    let n = time_rs.len();
    idx.iter()
        .map(|&i| {
            let v = time[i.min(time.len() - 1)];
            let y = if v.is_nan() {
                f64::NAN
            } else if v <= time_rs[0] {
                0.0
            } else if v >= time_rs[n - 1] {
                (n - 1) as f64
            } else {
                let j = time_rs
                    .partition_point(|&p| p <= v)
                    .saturating_sub(1)
                    .min(n - 2);
                let slope = ((j + 1) as f64 - j as f64) / (time_rs[j + 1] - time_rs[j]);
                let y = slope * (v - time_rs[j]) + j as f64;
                if y.is_nan() { j as f64 } else { y }
            };
            y.round_ties_even().max(0.0) as usize
        })
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
