//! ActiGraph activity counts (Neishabouri et al. 2022, the algorithm ActiLife and CentrePoint
//! use and ActiGraph published as `agcounts`), a widely used output on its own.
//!
//! Per axis: resample to 30 Hz the way ActiGraph does, round to 0.001 g, band-pass with
//! ActiGraph's IIR filter (steady-state start), scale, rectify, trim (below 4 -> 0, above 128 ->
//! 128, floored), average to 10 Hz (floored) and sum per epoch.
//!
//! Resampling to 30 Hz, by rate:
//! * 30, 40, ..., 100 Hz: ActiLife's up-sample by L, first-order low-pass, down-sample by M
//!   (skipped at 30, 60, 90 Hz), so counts equal ActiLife's;
//! * 32, 64, 128, 256 Hz: up-sample to 256 Hz through ActiGraph's 255-tap FIR, a single-pole
//!   low-pass, then linear interpolation to 30 Hz (checked against ActiGraph's
//!   `32Hz_input.csv` / `30Hz_output.csv`). Reproduced on purpose for parity: ActiGraph's
//!   reference leaves the last 30 Hz sample at 0 (its interpolation has no right neighbour),
//!   a false step that can add counts to the last epoch;
//! * any other rate: ActiGraph has no method (agcounts refuses it); we resample with SKDH's
//!   anti-aliased interpolation ([`super::resample::apply_resample`], as SKDH's counts do) and
//!   say so in [`Counts::resampling`].
//!
//! SKDH's own `CountWearDetection` counts differ (its resampling, no flooring at 10 Hz): the
//! `wear` step's `choi` method keeps SKDH's version for parity; this module is the ActiGraph one.

use serde::{Deserialize, Serialize};

use super::Axes;

/// ActiGraph band-pass numerator (ActiLife's constants, trailing zero kept).
const BPF_B: [f64; 9] = [
    -0.009341062898525,
    -0.025470289659360,
    -0.004235264826105,
    0.044152415456420,
    0.036493718347760,
    -0.011893961934740,
    -0.022917390623150,
    -0.006788163862310,
    0.0,
];
/// ActiGraph band-pass denominator.
const BPF_A: [f64; 9] = [
    1.0,
    -3.63367395910957,
    5.03689812757486,
    -3.09612247819666,
    0.50620507633883,
    0.32421701566682,
    -0.15685485875559,
    0.0194913020589,
    0.0,
];
/// Band-pass output to counts: (3 / 4096) / (2.6 / 256) * 237.5.
const GAIN: f64 = 3.0 / 4096.0 / (2.6 / 256.0) * 237.5;

/// ActiGraph's low-pass FIR for up-sampling power-of-two rates to 256 Hz (255 taps, symmetric).
const FIR_256: [f64; 255] = [
    -0.000001, -0.000002, -0.000004, -0.000005, -0.000006, -0.000006, -0.000004, 0.000000,
    0.000005, 0.000011, 0.000017, 0.000022, 0.000023, 0.000020, 0.000013, -0.000000, -0.000016,
    -0.000033, -0.000049, -0.000059, -0.000061, -0.000052, -0.000031, -0.000000, 0.000038,
    0.000077, 0.000111, 0.000132, 0.000133, 0.000112, 0.000066, -0.000000, -0.000078, -0.000156,
    -0.000222, -0.000260, -0.000259, -0.000214, -0.000125, 0.000000, 0.000145, 0.000288, 0.000404,
    0.000469, 0.000464, 0.000380, 0.000220, -0.000000, -0.000250, -0.000493, -0.000687, -0.000791,
    -0.000777, -0.000632, -0.000363, 0.000000, 0.000409, 0.000801, 0.001108, 0.001269, 0.001240,
    0.001003, 0.000574, -0.000000, -0.000639, -0.001246, -0.001715, -0.001956, -0.001903,
    -0.001534, -0.000873, 0.000000, 0.000966, 0.001875, 0.002574, 0.002926, 0.002839, 0.002280,
    0.001295, -0.000000, -0.001425, -0.002762, -0.003783, -0.004293, -0.004158, -0.003335,
    -0.001892, 0.000000, 0.002078, 0.004025, 0.005513, 0.006257, 0.006061, 0.004866, 0.002763,
    -0.000000, -0.003045, -0.005909, -0.008115, -0.009237, -0.008981, -0.007240, -0.004131,
    0.000000, 0.004606, 0.009005, 0.012468, 0.014325, 0.014075, 0.011483, 0.006641, -0.000000,
    -0.007655, -0.015271, -0.021640, -0.025543, -0.025900, -0.021926, -0.013250, 0.000000,
    0.017180, 0.037161, 0.058432, 0.079245, 0.097796, 0.112422, 0.121780, 0.125000, 0.121780,
    0.112422, 0.097796, 0.079245, 0.058432, 0.037161, 0.017180, 0.000000, -0.013250, -0.021926,
    -0.025900, -0.025543, -0.021640, -0.015271, -0.007655, -0.000000, 0.006641, 0.011483, 0.014075,
    0.014325, 0.012468, 0.009005, 0.004606, 0.000000, -0.004131, -0.007240, -0.008981, -0.009237,
    -0.008115, -0.005909, -0.003045, -0.000000, 0.002763, 0.004866, 0.006061, 0.006257, 0.005513,
    0.004025, 0.002078, 0.000000, -0.001892, -0.003335, -0.004158, -0.004293, -0.003783, -0.002762,
    -0.001425, -0.000000, 0.001295, 0.002280, 0.002839, 0.002926, 0.002574, 0.001875, 0.000966,
    0.000000, -0.000873, -0.001534, -0.001903, -0.001956, -0.001715, -0.001246, -0.000639,
    -0.000000, 0.000574, 0.001003, 0.001240, 0.001269, 0.001108, 0.000801, 0.000409, 0.000000,
    -0.000363, -0.000632, -0.000777, -0.000791, -0.000687, -0.000493, -0.000250, -0.000000,
    0.000220, 0.000380, 0.000464, 0.000469, 0.000404, 0.000288, 0.000145, 0.000000, -0.000125,
    -0.000214, -0.000259, -0.000260, -0.000222, -0.000156, -0.000078, -0.000000, 0.000066,
    0.000112, 0.000133, 0.000132, 0.000111, 0.000077, 0.000038, -0.000000, -0.000031, -0.000052,
    -0.000061, -0.000059, -0.000049, -0.000033, -0.000016, -0.000000, 0.000013, 0.000020, 0.000023,
    0.000022, 0.000017, 0.000011, 0.000005, 0.000000, -0.000004, -0.000006, -0.000006, -0.000005,
    -0.000004, -0.000002, -0.000001,
];
/// Single-pole low-pass at 256 Hz: 1 - decay.
const TASO_B: f64 = 0.307990357416655;

/// Why counts cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CountsError {
    /// Non-positive or non-finite sampling rate.
    #[error("sampling rate {0} Hz is not usable")]
    Rate(f64),
    /// Epoch length outside 1..=3600 s.
    #[error("epoch_seconds must be in 1..=3600 (got {0})")]
    Epoch(u32),
    /// The fallback resampler failed.
    #[error("resampling to 30 Hz: {0}")]
    Resample(String),
}

/// Parameters of the counts (agcounts' names where it has them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CountsParams {
    /// Epoch length, s (agcounts `epoch`). Default 60.
    pub epoch_seconds: u32,
    /// ActiGraph's low-frequency extension (keeps counts from 1 to 4, minus one). Default false.
    pub lfe_select: bool,
}

impl Default for CountsParams {
    fn default() -> Self {
        Self {
            epoch_seconds: 60,
            lfe_select: false,
        }
    }
}

/// How the signal reached 30 Hz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resampling {
    /// ActiLife's up/down-sampling (30, 40, ..., 100 Hz).
    ActiLife,
    /// ActiGraph's 256 Hz FIR path (32, 64, 128, 256 Hz).
    PowerOfTwo,
    /// No ActiGraph method for this rate: SKDH's anti-aliased interpolation.
    Interpolated,
}

/// ActiGraph counts of one recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Counts {
    /// Counts per complete epoch, per device axis x, y, z (ActiLife's axis 1 is the device's y).
    pub axes: [Vec<u32>; 3],
    /// Epoch length, s.
    pub epoch_seconds: u32,
    /// How the data reached 30 Hz.
    pub resampling: Resampling,
}

impl Counts {
    /// Number of complete epochs.
    pub fn len(&self) -> usize {
        self.axes[0].len()
    }

    /// True when the recording is shorter than one epoch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Vector magnitude of epoch `i` (ActiLife's "Vector Magnitude"), counts.
    pub fn vector_magnitude(&self, i: usize) -> f64 {
        let [x, y, z] = &self.axes;
        let (x, y, z) = (f64::from(x[i]), f64::from(y[i]), f64::from(z[i]));
        (x * x + y * y + z * z).sqrt()
    }
}

/// The rate as an integer when it is one (within 1e-6 Hz).
fn integer_rate(fs: f64) -> Option<u32> {
    let r = fs.round();
    ((fs - r).abs() < 1e-6 && (1.0..=10_000.0).contains(&r)).then_some(r as u32)
}

/// ActiLife's up-sampling and down-sampling factors for 30, 40, ..., 100 Hz.
fn actilife_factors(fs: u32) -> Option<(usize, usize)> {
    Some(match fs {
        30 => (1, 1),
        40 => (3, 4),
        50 => (3, 5),
        60 => (1, 2),
        70 => (3, 7),
        80 => (3, 8),
        90 => (1, 3),
        100 => (3, 10),
        _ => return None,
    })
}

/// ActiLife's resampling of one axis to 30 Hz (before rounding).
fn actilife_resample(x: &[f64], up: usize, down: usize, fs: u32) -> Vec<f64> {
    if matches!(fs, 30 | 60 | 90) {
        return x.iter().step_by(down).copied().collect();
    }
    // Zero-stuffed up-sampling, then y[i] = a L (u[i] + u[i-1]) - b y[i-1]. The up-sampled
    // signal's last sample is a stuffed zero, so the wrap-around of agcounts' roll adds nothing.
    let pi = std::f64::consts::PI;
    let l = up as f64;
    let a = pi / (pi + 2.0 * l);
    let b = (pi - 2.0 * l) / (pi + 2.0 * l);
    let n = x.len() * up;
    let u = |i: usize| if i.is_multiple_of(up) { x[i / up] } else { 0.0 };
    let mut out = Vec::with_capacity(n / down + 1);
    let mut prev = 0.0;
    let mut u_prev = if n > 0 { u(n - 1) } else { 0.0 };
    for i in 0..n {
        let ui = u(i);
        let y = (a * l) * (ui + u_prev) + (-b * prev);
        if i.is_multiple_of(down) {
            out.push(y);
        }
        prev = y;
        u_prev = ui;
    }
    out
}

/// ActiGraph's resampling of a 32, 64, 128 or 256 Hz axis to 30 Hz.
pub fn resample_pow2_to_30hz(x: &[f64], fs: u32) -> Vec<f64> {
    let factor = (256 / fs.clamp(1, 256)) as usize;
    let n = x.len() * factor;
    // FIR on the zero-stuffed signal ("same" convolution): only every factor-th input is non-zero
    let up: Vec<f64> = if factor == 1 {
        x.to_vec()
    } else {
        let half = (FIR_256.len() - 1) / 2;
        (0..n)
            .map(|j| {
                // taps k with (j + half - k) a multiple of factor inside the signal
                let full = j + half;
                let mut acc = 0.0;
                let first_k = full % factor;
                let mut k = first_k;
                while k < FIR_256.len() && k <= full {
                    let t = full - k;
                    if t < n {
                        acc += FIR_256[k] * (x[t / factor] * factor as f64);
                    }
                    k += factor;
                }
                acc
            })
            .collect()
    };
    // single-pole low-pass with steady-state start: y = a s + a y[-1], s = b x / a
    let b = TASO_B;
    let a = 1.0 - b;
    let mut out256 = Vec::with_capacity(up.len());
    if let Some(&first) = up.first() {
        let s0 = b * first / a;
        let mut z = a * a / (1.0 - a) * s0;
        for &v in &up {
            let s = b * v / a;
            let y = a * s + z;
            z = a * y;
            out256.push(y);
        }
    }
    // linear interpolation at 256 / 30 (k + 1) - 1
    let m = out256.len();
    let n30 = m * 30 / 256;
    let step = 256.0 / 30.0;
    (0..n30)
        .map(|k| {
            let pos = step * (k + 1) as f64;
            let idx = pos.floor() as usize;
            match (idx.checked_sub(1), out256.get(idx)) {
                (Some(i0), Some(&right)) => {
                    let d = right - out256[i0];
                    pos * d + (out256[i0] - d * idx as f64)
                }
                // ActiGraph's last sample, see the module notes
                _ => 0.0,
            }
        })
        .collect()
}

/// Steady-state initial conditions of the band-pass (scipy `lfilter_zi`), per unit input.
fn bpf_zi() -> [f64; 8] {
    // (I - companion(a)^T) zi = b[1:] - a[1:] b[0], solved by Gaussian elimination
    const M: usize = 8;
    let mut mat = [[0.0f64; M]; M];
    for (i, row) in mat.iter_mut().enumerate() {
        row[i] = 1.0;
        row[0] += BPF_A[i + 1];
        if i + 1 < M {
            row[i + 1] -= 1.0;
        }
    }
    let mut rhs: [f64; M] = std::array::from_fn(|i| BPF_B[i + 1] - BPF_A[i + 1] * BPF_B[0]);
    for c in 0..M {
        let piv = (c..M)
            .max_by(|&p, &q| mat[p][c].abs().total_cmp(&mat[q][c].abs()))
            .unwrap_or(c);
        mat.swap(c, piv);
        rhs.swap(c, piv);
        let d = mat[c][c];
        if d == 0.0 {
            continue;
        }
        for r in c + 1..M {
            let f = mat[r][c] / d;
            let pivot = mat[c];
            for (a, b) in mat[r].iter_mut().zip(&pivot).skip(c) {
                *a -= f * b;
            }
            rhs[r] -= f * rhs[c];
        }
    }
    let mut zi = [0.0; M];
    for c in (0..M).rev() {
        let s = rhs[c] - (c + 1..M).map(|k| mat[c][k] * zi[k]).sum::<f64>();
        zi[c] = if mat[c][c] == 0.0 { 0.0 } else { s / mat[c][c] };
    }
    zi
}

/// One axis at 30 Hz (rounded to 0.001) to epoch counts.
fn axis_counts(x30: &[f64], zi: &[f64; 8], p: &CountsParams) -> Vec<u32> {
    let Some(&x0) = x30.first() else {
        return Vec::new();
    };
    let mut z: [f64; 8] = std::array::from_fn(|i| zi[i] * x0);
    let trimmed: Vec<u32> = x30
        .iter()
        .map(|&v| {
            // direct form II transposed
            let y = BPF_B[0] * v + z[0];
            for k in 0..8 {
                let next = if k + 1 < 8 { z[k + 1] } else { 0.0 };
                z[k] = BPF_B[k + 1] * v + next - BPF_A[k + 1] * y;
            }
            let a = (y * GAIN).abs();
            let t = if a.is_nan() {
                0.0
            } else if a > 128.0 {
                128.0
            } else if p.lfe_select {
                if a < 1.0 {
                    0.0
                } else if a < 4.0 {
                    a.floor() - 1.0
                } else {
                    a.floor()
                }
            } else if a < 4.0 {
                0.0
            } else {
                a.floor()
            };
            t as u32
        })
        .collect();
    let tenhz: Vec<u32> = trimmed
        .chunks_exact(3)
        .map(|c| c.iter().sum::<u32>() / 3)
        .collect();
    let block = p.epoch_seconds as usize * 10;
    tenhz
        .chunks_exact(block)
        .map(|c| c.iter().sum::<u32>())
        .collect()
}

/// numpy `round(v, 3)`.
fn round3(v: f64) -> f64 {
    (v * 1000.0).round_ties_even() / 1000.0
}

/// ActiGraph counts of `accel` (g) sampled at `fs` Hz with timestamps `time` (unix s, used
/// only by the fallback resampler), per complete epoch. NaN samples count as 0 after filtering
/// (they would otherwise poison the filter state for the rest of the recording).
pub fn actigraph_counts(
    time: &[f64],
    accel: Axes<'_>,
    fs: f64,
    p: &CountsParams,
) -> Result<Counts, CountsError> {
    if !fs.is_finite() || fs <= 0.0 {
        return Err(CountsError::Rate(fs));
    }
    if !(1..=3600).contains(&p.epoch_seconds) {
        return Err(CountsError::Epoch(p.epoch_seconds));
    }
    let rate = integer_rate(fs);
    let (resampling, axes30): (Resampling, Vec<Vec<f64>>) =
        match (rate, rate.and_then(actilife_factors)) {
            (Some(r), Some((up, down))) => (
                Resampling::ActiLife,
                accel
                    .axes()
                    .iter()
                    .map(|a| actilife_resample(&clean(a), up, down, r))
                    .collect(),
            ),
            (Some(r @ (32 | 64 | 128 | 256)), _) => (
                Resampling::PowerOfTwo,
                accel
                    .axes()
                    .iter()
                    .map(|a| resample_pow2_to_30hz(&clean(a), r))
                    .collect(),
            ),
            _ => {
                let axes: Vec<Vec<f64>> = accel.axes().iter().map(|a| clean(a)).collect();
                let refs: Vec<&[f64]> = axes.iter().map(Vec::as_slice).collect();
                let n = time.len().min(accel.len());
                let refs: Vec<&[f64]> = refs.iter().map(|a| &a[..n]).collect();
                let rs = super::resample::apply_resample(&time[..n], fs, 30.0, &refs, true)
                    .map_err(|e| CountsError::Resample(e.to_string()))?;
                (Resampling::Interpolated, rs.data)
            }
        };
    let zi = bpf_zi();
    let mut out: [Vec<u32>; 3] = Default::default();
    for (o, a) in out.iter_mut().zip(&axes30) {
        let rounded: Vec<f64> = a.iter().map(|&v| round3(v)).collect();
        *o = axis_counts(&rounded, &zi, p);
    }
    Ok(Counts {
        axes: out,
        epoch_seconds: p.epoch_seconds,
        resampling,
    })
}

/// NaN samples as 0 g: one NaN would otherwise turn every later filter output into NaN.
fn clean(a: &[f64]) -> Vec<f64> {
    a.iter()
        .map(|&v| if v.is_finite() { v } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn still_data_has_no_counts_and_motion_has_some() {
        let fs = 30.0;
        let n = 30 * 600;
        let time: Vec<f64> = (0..n).map(|i| i as f64 / fs).collect();
        let still = vec![1.0; n];
        let zero = vec![0.0; n];
        let c = actigraph_counts(
            &time,
            Axes::new(&zero, &zero, &still),
            fs,
            &CountsParams::default(),
        )
        .unwrap();
        assert_eq!(c.len(), 10);
        assert!(c.axes.iter().all(|a| a.iter().all(|&v| v == 0)));
        // 2 Hz, 0.5 g: well inside the pass band
        for fs_in in [30.0, 50.0, 64.0, 100.0, 25.0] {
            let n_in = (fs_in * 600.0) as usize;
            let t: Vec<f64> = (0..n_in).map(|i| i as f64 / fs_in).collect();
            let m: Vec<f64> = t
                .iter()
                .map(|t| 0.5 * (2.0 * std::f64::consts::PI * 2.0 * t).sin())
                .collect();
            let z = vec![0.0; n_in];
            let c = actigraph_counts(&t, Axes::new(&m, &z, &z), fs_in, &CountsParams::default())
                .unwrap();
            assert_eq!(c.len(), 10, "{fs_in} Hz");
            // the same motion gives about the same counts whatever the rate
            let mid = f64::from(c.axes[0][5]);
            assert!(mid > 1000.0, "{fs_in} Hz: {mid}");
            assert_eq!(c.axes[1][5], 0);
        }
        assert!(
            actigraph_counts(
                &time,
                Axes::new(&zero, &zero, &still),
                0.0,
                &CountsParams::default()
            )
            .is_err()
        );
    }
}
