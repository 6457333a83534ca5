//! Per-bout gait processing, as SKDH's bout substeps: orientation and step frequency
//! (`PreprocessGaitBout`), initial/final contact detection (`ApCwtGaitEvents`,
//! `VerticalCwtGaitEvents`), stride creation with physiological quality checks
//! (`CreateStridesAndQc`) and turn detection from angular velocity (`TurnDetection`).
//!
//! Acceleration is in g, angular velocity in rad/s, sampling rates in Hz; event positions are
//! sample indices into the bout.

use super::signal::{
    PeakOptions, argmax, autocovariance_fn, cumtrapz, cwt_gaus1, detrend, find_peaks, gaus1_scale,
    max_abs_xcorr, nanmean, nanmedian, std, unwrap,
};
use crate::preprocessing::filter::{Band, FilterError, butter, sosfiltfilt};

/// Why one gait bout could not be processed (the bout is skipped, like SKDH does).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoutError {
    /// A filter could not be designed or applied (bout too short for zero-phase filtering).
    #[error("filter: {0}")]
    Filter(#[from] FilterError),
    /// The bout is shorter than one step-frequency window.
    #[error("bout of {n} samples is shorter than a {window}-sample step-frequency window")]
    TooShort {
        /// Bout length, samples.
        n: usize,
        /// Window length, samples.
        window: usize,
    },
    /// Too few windows had an autocovariance peak to estimate the step frequency.
    #[error("not enough valid autocovariance windows to estimate step frequency")]
    NoStepFrequency,
    /// The bout holds non-finite samples.
    #[error("bout holds non-finite samples")]
    NonFinite,
}

/// Orientation and filtering results for one bout.
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// Vertical axis used (0, 1, 2).
    pub v_axis: usize,
    /// Vertical axis as estimated (largest absolute mean).
    pub v_axis_est: usize,
    /// Sign of the mean vertical acceleration (-1, 0, 1).
    pub v_axis_sign: f64,
    /// Anterior-posterior axis used.
    pub ap_axis: usize,
    /// AP axis as estimated (largest cross-correlation with the vertical axis).
    pub ap_axis_est: usize,
    /// Sign of the AP axis (-1 or 1), from the asymmetry of its peaks.
    pub ap_axis_sign: f64,
    /// Step frequency estimate, steps/s, clipped to [0.4, 5].
    pub mean_step_freq: f64,
    /// Orientation-corrected, low-passed and detrended acceleration (three columns), g.
    pub accel_filt: [Vec<f64>; 3],
}

/// Settings of [`preprocess`] (SKDH `PreprocessGaitBout`).
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessParams {
    /// Correct a slight misalignment with the anatomical axes (Moe-Nilssen 1998). Default true.
    pub correct_orientation: bool,
    /// Low-pass cut-off, Hz, applied only when fs > 2 x cut-off. Default 20.
    pub filter_cutoff: f64,
    /// Low-pass Butterworth order. Default 4.
    pub filter_order: usize,
    /// Band-pass (order, low Hz, high Hz) before the AP-axis cross-correlation. Default (4, 0.25, 7.5).
    pub ap_axis_filter: (usize, f64, f64),
    /// Fixed vertical axis instead of the estimate. Default None.
    pub v_axis: Option<usize>,
    /// Fixed AP axis instead of the estimate. Default None.
    pub ap_axis: Option<usize>,
}

impl Default for PreprocessParams {
    fn default() -> Self {
        Self {
            correct_orientation: true,
            filter_cutoff: 20.0,
            filter_order: 4,
            ap_axis_filter: (4, 0.25, 7.5),
            v_axis: None,
            ap_axis: None,
        }
    }
}

fn band(fs: f64, lo: f64, hi: f64) -> Band {
    Band::Pass(2.0 * lo / fs, 2.0 * hi / fs)
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn others(axis: usize) -> (usize, usize) {
    match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    }
}

/// AP axis: of the two non-vertical axes, the one whose band-passed signal has the larger peak
/// cross-correlation with the vertical axis.
fn ap_axis_estimate(
    fs: f64,
    acc: &[Vec<f64>; 3],
    v_axis: usize,
    filt: (usize, f64, f64),
) -> Result<usize, BoutError> {
    let sos = butter(filt.0, band(fs, filt.1, filt.2))?;
    let fv = sosfiltfilt(&sos, &acc[v_axis])?;
    let (a1, a2) = others(v_axis);
    let c1 = max_abs_xcorr(&fv, &sosfiltfilt(&sos, &acc[a1])?);
    let c2 = max_abs_xcorr(&fv, &sosfiltfilt(&sos, &acc[a2])?);
    Ok(if c2 > c1 { a2 } else { a1 })
}

/// AP sign: -1 when the rise to the AP peaks is steeper than the fall after them, else 1.
fn ap_axis_sign(fs: f64, ap: &[f64]) -> Result<f64, BoutError> {
    let sos = butter(4, band(fs, 0.25, 7.0))?;
    let f = sosfiltfilt(&sos, ap)?;
    let (mx, prom) = find_peaks(
        &f,
        PeakOptions {
            prominence: Some(0.05),
            ..Default::default()
        },
    );
    let med_prom = nanmedian(&prom);
    let mx: Vec<usize> = mx
        .iter()
        .zip(&prom)
        .filter(|(_, p)| **p > 0.75 * med_prom)
        .map(|(m, _)| *m)
        .collect();
    let neg: Vec<f64> = f.iter().map(|v| -v).collect();
    let (mn, _) = find_peaks(
        &neg,
        PeakOptions {
            prominence: Some(0.75 * med_prom),
            ..Default::default()
        },
    );
    let mut left = Vec::with_capacity(mx.len());
    let mut right = Vec::with_capacity(mx.len());
    for &m in &mx {
        let idx = mn.partition_point(|&v| v < m);
        // numpy indexes position -1 of the NaN-extended array when idx == 0
        left.push(if idx == 0 {
            f64::NAN
        } else {
            m as f64 - mn[idx - 1] as f64
        });
        right.push(if idx < mn.len() {
            mn[idx] as f64 - m as f64
        } else {
            f64::NAN
        });
    }
    let mut lm = nanmedian(&left);
    let mut rm = nanmedian(&right);
    if lm == rm {
        let d: Vec<f64> = mx.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let pk = nanmedian(&d);
        let l: Vec<f64> = left.iter().copied().filter(|v| *v < 1.25 * pk).collect();
        let r: Vec<f64> = right.iter().copied().filter(|v| *v < 1.25 * pk).collect();
        lm = nanmean(&l);
        rm = nanmean(&r);
    }
    Ok(if lm < rm { -1.0 } else { 1.0 })
}

/// Moe-Nilssen tilt correction (SKDH `correct_accelerometer_orientation`); unchanged when the
/// mean AP or ML acceleration is outside [-1, 1] g.
fn correct_orientation(acc: &[Vec<f64>; 3], v: usize, ap: usize) -> [Vec<f64>; 3] {
    let ml = (0..3).find(|&i| i != v && i != ap).unwrap_or(0);
    let sa = mean(&acc[ap]);
    let sm = mean(&acc[ml]);
    if !(-1.0..=1.0).contains(&sa) || !(-1.0..=1.0).contains(&sm) {
        return acc.clone();
    }
    let ca = sa.asin().cos();
    let cm = sm.asin().cos();
    let vs = sign(mean(&acc[v]));
    let n = acc[0].len();
    let mut out = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    for i in 0..n {
        let (a, m, vv) = (acc[ap][i], acc[ml][i], acc[v][i]);
        out[ap][i] = a * ca - vs * vv * sa;
        let v_prov = vs * a * sa + vv * ca;
        out[ml][i] = m * cm - vs * v_prov * sm;
        out[v][i] = vs * m * sm + v_prov * cm;
    }
    out
}

/// Python's `round` (half to even) for the window-length computation.
fn round_half_even(v: f64) -> f64 {
    v.round_ties_even()
}

/// Mean step time, s: the median over 5 s windows (50 % overlap) of the first autocovariance
/// peak of the summed gaus1 CWT (0.5-5 Hz scales) of the AP acceleration.
pub fn step_time(fs: f64, ap: &[f64]) -> Result<f64, BoutError> {
    let s1 = gaus1_scale(0.5 / fs);
    let s2 = gaus1_scale(5.0 / fs);
    let (l1, l2) = (s1.ln(), s2.ln());
    let n = ap.len();
    let mut csum = vec![0.0; n];
    for k in 0..10 {
        let y = if k == 9 {
            l2
        } else {
            k as f64 * ((l2 - l1) / 9.0) + l1
        };
        let scale = std::f64::consts::E.powf(y);
        let c = cwt_gaus1(ap, scale);
        if c.len() != n {
            return Err(BoutError::TooShort { n, window: 0 });
        }
        for (s, v) in csum.iter_mut().zip(c) {
            *s += v;
        }
    }
    let samp = round_half_even(fs * 5.0) as usize;
    let step = (round_half_even(samp as f64 * 0.5) as usize).clamp(1, samp.max(1));
    if samp < 11 || n < samp {
        return Err(BoutError::TooShort { n, window: samp });
    }
    let nrows = (n - samp) / step + 1;
    let mut first = Vec::new();
    for r in 0..nrows {
        let w = &csum[r * step..r * step + samp];
        let ac = autocovariance_fn(w, samp - 10, true);
        let (pks, _) = find_peaks(
            &ac,
            PeakOptions {
                height: Some(0.0),
                ..Default::default()
            },
        );
        if let Some(&p) = pks.first() {
            first.push(p as f64);
        }
    }
    if (first.len() as f64) < 0.25 * nrows as f64 {
        return Err(BoutError::NoStepFrequency);
    }
    Ok(nanmedian(&first) / fs)
}

/// Orientation, filtering and step frequency of one bout (three acceleration columns, g).
pub fn preprocess(
    fs: f64,
    acc: &[Vec<f64>; 3],
    p: &PreprocessParams,
) -> Result<Preprocessed, BoutError> {
    if acc.iter().any(|c| c.iter().any(|v| !v.is_finite())) {
        return Err(BoutError::NonFinite);
    }
    let means = [mean(&acc[0]), mean(&acc[1]), mean(&acc[2])];
    let abs_means = [means[0].abs(), means[1].abs(), means[2].abs()];
    let v_axis_est = argmax(&abs_means);
    let v_axis = p.v_axis.filter(|&a| a < 3).unwrap_or(v_axis_est);
    let v_axis_sign = sign(means[v_axis]);
    let ap_axis_est = ap_axis_estimate(fs, acc, v_axis, p.ap_axis_filter)?;
    let ap_axis = p
        .ap_axis
        .filter(|&a| a < 3 && a != v_axis)
        .unwrap_or(ap_axis_est);
    let ap_axis_sign = ap_axis_sign(fs, &acc[ap_axis])?;
    let corrected = if p.correct_orientation {
        correct_orientation(acc, v_axis, ap_axis)
    } else {
        acc.clone()
    };
    let filtered = if fs > 2.0 * p.filter_cutoff {
        let sos = butter(p.filter_order, Band::Low(2.0 * p.filter_cutoff / fs))?;
        [
            sosfiltfilt(&sos, &corrected[0])?,
            sosfiltfilt(&sos, &corrected[1])?,
            sosfiltfilt(&sos, &corrected[2])?,
        ]
    } else {
        corrected.clone()
    };
    let accel_filt = [
        detrend(&filtered[0]),
        detrend(&filtered[1]),
        detrend(&filtered[2]),
    ];
    let st = step_time(fs, &corrected[ap_axis])?;
    let f = 1.0 / st;
    // Python's min/max keep a NaN first argument
    let mean_step_freq = if f.is_nan() { f } else { f.clamp(0.4, 5.0) };
    Ok(Preprocessed {
        v_axis,
        v_axis_est,
        v_axis_sign,
        ap_axis,
        ap_axis_est,
        ap_axis_sign,
        mean_step_freq,
        accel_filt,
    })
}

/// Settings of the AP-CWT event detection (SKDH `ApCwtGaitEvents`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApCwtParams {
    /// IC peak prominence, x SD of the CWT coefficients. Default 0.6.
    pub ic_prom_factor: f64,
    /// Minimum IC peak distance, x mean step samples. Default 0.5.
    pub ic_dist_factor: f64,
    /// FC peak prominence, x SD of the CWT coefficients. Default 0.6.
    pub fc_prom_factor: f64,
    /// Minimum FC peak distance, x mean step samples. Default 0.6.
    pub fc_dist_factor: f64,
}

impl Default for ApCwtParams {
    fn default() -> Self {
        Self {
            ic_prom_factor: 0.6,
            ic_dist_factor: 0.5,
            fc_prom_factor: 0.6,
            fc_dist_factor: 0.6,
        }
    }
}

/// The wavelet scale of the vertical-CWT method before any step-frequency relation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaveletScale {
    /// McCamley's 1.25 Hz, scaled to the sampling rate.
    Default,
    /// The scale centred at this frequency, Hz.
    Hz(f64),
    /// This scale, samples.
    Scale(f64),
}

/// Settings of the vertical-CWT event detection (SKDH `VerticalCwtGaitEvents`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerticalCwtParams {
    /// Use Caramia 2019's step-frequency scale relations. Default true.
    pub use_cwt_scale_relation: bool,
    /// The scale used without the relation. Default [`WaveletScale::Default`].
    pub wavelet_scale: WaveletScale,
    /// Round the related scales to integers (half to even). Default false.
    pub round_scale: bool,
}

impl Default for VerticalCwtParams {
    fn default() -> Self {
        Self {
            use_cwt_scale_relation: true,
            wavelet_scale: WaveletScale::Default,
            round_scale: false,
        }
    }
}

fn peaks_of(
    x: &[f64],
    s: f64,
    prominence: Option<f64>,
    distance: Option<f64>,
    height: Option<f64>,
) -> Vec<usize> {
    let y: Vec<f64> = x.iter().map(|v| s * v).collect();
    find_peaks(
        &y,
        PeakOptions {
            height,
            distance,
            prominence,
        },
    )
    .0
}

/// Initial and final contacts (bout sample indices) from the AP acceleration: FCs are peaks of
/// the CWT of AP velocity; each IC sits between the zero crossing after a CWT peak of AP
/// acceleration and the following trough, before its FC.
pub fn ap_cwt_events(fs: f64, pre: &Preprocessed, p: &ApCwtParams) -> (Vec<usize>, Vec<usize>) {
    let f = pre.mean_step_freq;
    let scale_ic = gaus1_scale((1.3 * f - 0.3) / fs);
    let scale_fc = gaus1_scale((1.17 * f - 0.3) / fs);
    let ap = &pre.accel_filt[pre.ap_axis];
    let s = pre.ap_axis_sign;
    let vel = cumtrapz(ap, 1.0 / fs);
    let coef_fc = cwt_gaus1(&vel, scale_fc);
    let dist_fc = ((p.fc_dist_factor * fs / f).trunc()).max(1.0);
    let fcs = peaks_of(
        &coef_fc,
        s,
        Some(p.fc_prom_factor * std(&coef_fc)),
        Some(dist_fc),
        None,
    );
    let coef_ic = cwt_gaus1(ap, scale_ic);
    let dist_ic = ((p.ic_dist_factor * fs / f).trunc()).max(1.0);
    let prom_ic = Some(p.ic_prom_factor * std(&coef_ic));
    let pks = peaks_of(&coef_ic, -s, prom_ic, Some(dist_ic), None);
    let npks = peaks_of(&coef_ic, s, prom_ic, Some(dist_ic), None);
    let mut ics = Vec::with_capacity(fcs.len());
    for &fc in &fcs {
        let Some(&prev_npk) = npks
            .iter()
            .rev()
            .find(|&&v| v < fc && (v as f64) > fc as f64 - 2.0 * fs)
        else {
            continue;
        };
        let Some(&prev_pk) = pks.iter().rev().find(|&&v| v < prev_npk) else {
            continue;
        };
        let seg = &coef_ic[prev_pk..];
        let zc = seg
            .windows(2)
            .position(|w| sign(-s * w[1]) - sign(-s * w[0]) < 0.0)
            .unwrap_or(0);
        ics.push((prev_pk + zc + prev_npk) / 2);
    }
    (ics, fcs)
}

/// Initial and final contacts from the vertical acceleration (McCamley 2012 with Caramia 2019's
/// scales): ICs are extrema of the gaus1 CWT of vertical velocity, FCs extrema of a second CWT.
pub fn vertical_cwt_events(
    fs: f64,
    pre: &Preprocessed,
    p: &VerticalCwtParams,
) -> (Vec<usize>, Vec<usize>) {
    let vel = cumtrapz(&pre.accel_filt[pre.v_axis], 1.0 / fs);
    let original = (0.2 / (1.25 / fs)).max(1.0);
    let scale = match p.wavelet_scale {
        WaveletScale::Default => original,
        WaveletScale::Hz(h) => (0.2 / (h / fs)).max(1.0),
        WaveletScale::Scale(s) => s,
    };
    let f = pre.mean_step_freq;
    let (mut s1, mut s2) = if p.use_cwt_scale_relation {
        (
            (-10.0 * f + 56.0) * (fs / 250.0),
            (-52.0 * f + 131.0) * (fs / 250.0),
        )
    } else {
        (scale, scale)
    };
    if p.use_cwt_scale_relation {
        if p.round_scale {
            s1 = s1.round_ties_even();
            s2 = s2.round_ties_even();
        }
        s1 = s1.clamp(1.0, 90.0);
        s2 = s2.clamp(1.0, 90.0);
    }
    let vs = pre.v_axis_sign;
    let c1 = cwt_gaus1(&vel, s1);
    let ic = peaks_of(&c1, -vs, None, None, Some(0.5 * std(&c1)));
    let c1b = cwt_gaus1(&vel, s2);
    let c2 = cwt_gaus1(&c1b, s2);
    let fc = peaks_of(&c2, -vs, None, None, Some(0.5 * std(&c2)));
    (ic, fc)
}

/// A time limit as a function of the bout's mean step time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepTimeRule {
    /// `slope * mean_step_time + intercept`.
    Linear {
        /// Factor on the mean step time.
        slope: f64,
        /// Constant term.
        intercept: f64,
    },
    /// A fixed value.
    Fixed(f64),
}

impl StepTimeRule {
    /// The value for a mean step time (s).
    pub fn eval(&self, step_time: f64) -> f64 {
        match *self {
            StepTimeRule::Linear { slope, intercept } => slope * step_time + intercept,
            StepTimeRule::Fixed(v) => v,
        }
    }
}

/// Settings of stride creation (SKDH `CreateStridesAndQc`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrideParams {
    /// Maximum stride time, s. Default `2.0 * step time + 1.0`.
    pub max_stride_time: StepTimeRule,
    /// Loading factor (fraction of the maximum stride time that bounds initial double support).
    /// Default `0.17 * step time + 0.05`.
    pub loading_factor: StepTimeRule,
}

impl Default for StrideParams {
    fn default() -> Self {
        Self {
            max_stride_time: StepTimeRule::Linear {
                slope: 2.0,
                intercept: 1.0,
            },
            loading_factor: StepTimeRule::Linear {
                slope: 0.17,
                intercept: 0.05,
            },
        }
    }
}

/// Quality-checked steps of one bout (parallel vectors, bout sample indices).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strides {
    /// Initial contacts.
    pub ic: Vec<usize>,
    /// Final contact of the same foot (ends the stance).
    pub fc: Vec<usize>,
    /// Final contact of the opposite foot (ends initial double support).
    pub fc_opp_foot: Vec<usize>,
    /// Complete forward cycles available from this step (0, 1 or 2).
    pub forward_cycles: Vec<u8>,
}

/// Pairs each IC with the opposite-foot FC within the loading time and the same-foot FC within
/// the stance limit, dropping physiologically impossible steps. `time` is the bout's time, s.
pub fn create_strides(
    time: &[f64],
    ic: &[usize],
    fc: &[usize],
    mean_step_freq: f64,
    p: &StrideParams,
) -> Strides {
    let mean_step_time = 1.0 / mean_step_freq;
    let t_max_stride = p.max_stride_time.eval(mean_step_time);
    let lf = p.loading_factor.eval(mean_step_time);
    let t_loading = lf * t_max_stride;
    let t_stance = t_max_stride / 2.0 + t_loading;
    let tt = |i: usize| time.get(i).copied().unwrap_or(f64::NAN);
    let ic_t: Vec<f64> = ic.iter().map(|&i| tt(i)).collect();
    let fc_t: Vec<f64> = fc.iter().map(|&i| tt(i)).collect();
    let mut unused: Vec<bool> = fc.iter().map(|f| !ic.contains(f)).collect();
    let mut out = Strides::default();
    for i in 0..ic.len().saturating_sub(1) {
        let cur = ic_t[i];
        let fwd: Vec<usize> = (0..fc.len())
            .filter(|&k| fc_t[k] > cur && unused[k])
            .collect();
        if fwd.is_empty() {
            continue;
        }
        if ic_t[i + 1] - cur < fc_t[fwd[0]] - cur {
            continue;
        }
        if fwd.iter().filter(|&&k| fc_t[k] < cur + t_loading).count() != 1 {
            continue;
        }
        if fwd.iter().filter(|&&k| fc_t[k] < cur + t_stance).count() < 2 {
            continue;
        }
        out.ic.push(ic[i]);
        out.fc.push(fc[fwd[1]]);
        out.fc_opp_foot.push(fc[fwd[0]]);
        unused[fwd[0]] = false;
    }
    let n = out.ic.len();
    out.forward_cycles = vec![0; n];
    if n > 2 {
        for i in 0..n - 2 {
            if tt(out.ic[i + 2]) - tt(out.ic[i]) < t_max_stride {
                out.forward_cycles[i] += 1;
            }
        }
    }
    if n > 1 {
        for i in 0..n - 1 {
            if out.fc_opp_foot[i + 1] == out.fc[i] {
                out.forward_cycles[i] += 1;
            }
        }
    }
    out
}

/// Marks steps that happen during a turn of at least 90 degrees (Pham 2017), from the raw bout
/// acceleration (g) and angular velocity (rad/s): 0 no turn, 1 the turn overlaps the IC or the
/// FC, 2 both. Reproduces SKDH's integration (including its unnormalised rotation axis).
pub fn turns(fs: f64, acc: &[Vec<f64>; 3], gyro: &[Vec<f64>; 3], strides: &Strides) -> Vec<i64> {
    let n_steps = strides.ic.len();
    let n = acc[0].len().min(gyro[0].len());
    if n < 2 {
        return vec![0; n_steps];
    }
    let nw = ((0.05 * fs) as usize).max(1);
    let head = ((2.0 * fs) as usize).min(n);
    let norm: Vec<f64> = (0..head)
        .map(|i| (acc[0][i].powi(2) + acc[1][i].powi(2) + acc[2][i].powi(2)).sqrt())
        .collect();
    let mut still = None;
    if head >= nw {
        for k in 0..=head - nw {
            let w = &norm[k..k + nw];
            let mx = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mn = w.iter().copied().fold(f64::INFINITY, f64::min);
            if mx - mn < 0.2 / 9.81 {
                still = Some(k);
                break;
            }
        }
    }
    let s0 = still.unwrap_or(0);
    let s1 = (s0 + nw).min(n);
    let init: Vec<f64> = (0..3).map(|a| mean(&acc[a][s0..s1])).collect();
    let init_norm = (init[0].powi(2) + init[1].powi(2) + init[2].powi(2)).sqrt();
    let phi = (init[2] / init_norm).acos();
    let cross = |a: [f64; 3], b: [f64; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let unit = |a: [f64; 3]| {
        let l = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        [a[0] / l, a[1] / l, a[2] / l]
    };
    let gz = [phi.sin(), phi.cos(), 0.0];
    let gy = unit(cross(gz, [1.0, 0.0, 0.0]));
    let gx = unit(cross(gy, gz));
    let mut r = [gx, gy, gz];
    let mut alpha = vec![0.0; n];
    alpha[0] = r[2][0].atan2(r[1][0]);
    for i in 1..n {
        let (wx, wy, wz) = (gyro[0][i], gyro[1][i], gyro[2][i]);
        let theta = (wx * wx + wy * wy + wz * wz).sqrt() / fs;
        let (s, c) = theta.sin_cos();
        let t = 1.0 - c;
        let u = [
            [t * wx * wx + c, t * wx * wy + s * wz, t * wx * wz - s * wy],
            [t * wx * wy - s * wz, t * wy * wy + c, t * wy * wz + s * wx],
            [t * wx * wz + s * wy, t * wy * wz - s * wx, t * wz * wz + c],
        ];
        let mut nr = [[0.0; 3]; 3];
        for (row, ur) in nr.iter_mut().zip(&u) {
            for (col, v) in row.iter_mut().enumerate() {
                *v = ur[0] * r[0][col] + ur[1] * r[1][col] + ur[2] * r[2][col];
            }
        }
        r = nr;
        alpha[i] = r[2][0].atan2(r[1][0]);
    }
    let alpha = unwrap(&alpha, std::f64::consts::PI);
    let mut tr: Vec<f64> = alpha.windows(2).map(|w| sign(w[1] - w[0])).collect();
    let runs = |tr: &[f64]| {
        crate::preprocessing::stats::rle(&tr.iter().map(|&v| v == 1.0).collect::<Vec<_>>())
    };
    // hesitations inside turns take the direction of the surrounding turn
    let (lengths, starts, _) = runs(&tr);
    let angles: Vec<f64> = lengths
        .iter()
        .zip(&starts)
        .map(|(&l, &s)| (alpha[s + l] - alpha[s]).abs())
        .collect();
    let k = lengths.len();
    let mut mask: Vec<bool> = lengths.iter().map(|&l| (l as f64 / fs) < 0.5).collect();
    let ten = std::f64::consts::PI / 180.0 * 10.0;
    for i in 1..k.saturating_sub(1) {
        let (a0, a1, a2) = (angles[i - 1], angles[i], angles[i + 1]);
        mask[i] = mask[i]
            && a0 >= ten
            && a2 >= ten
            && (a0 > std::f64::consts::FRAC_PI_4 || a2 >= std::f64::consts::FRAC_PI_4)
            && a1 < 0.1 * (a0 + a2);
    }
    let m = tr.len();
    for i in 0..k {
        if mask[i] {
            let s = starts[i];
            // numpy's turns[s - 1] is the last element when s == 0
            let prev = if s == 0 { tr[m - 1] } else { tr[s - 1] };
            for v in &mut tr[s..s + lengths[i]] {
                *v = prev;
            }
        }
    }
    // keep only turns of at least 90 degrees (SKDH's duration limit can never apply)
    let (lengths, starts, _) = runs(&tr);
    for (&l, &s) in lengths.iter().zip(&starts) {
        if (alpha[s + l] - alpha[s]).abs() < std::f64::consts::FRAC_PI_2 {
            for v in &mut tr[s..s + l] {
                *v = 0.0;
            }
        }
    }
    let nz: Vec<bool> = tr.iter().map(|&v| v != 0.0).collect();
    let (lengths, starts, values) = crate::preprocessing::stats::rle(&nz);
    let mut in_turn = vec![0i64; n_steps];
    for ((&l, &s), &v) in lengths.iter().zip(&starts).zip(&values) {
        if !v {
            continue;
        }
        for (t, (&ic, &fc)) in in_turn.iter_mut().zip(strides.ic.iter().zip(&strides.fc)) {
            // SKDH tests the FC (not the IC) against the turn end in the first condition
            if ic > s && fc < s + l {
                *t += 1;
            }
            if fc > s && fc < s + l {
                *t += 1;
            }
        }
    }
    in_turn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_pair_contacts() {
        // a regular 1 Hz step pattern at 50 Hz: IC every 50 samples, FCs 10 samples after the
        // next-but-one IC's predecessor
        let time: Vec<f64> = (0..1000).map(|i| i as f64 / 50.0).collect();
        let ic: Vec<usize> = (0..10).map(|i| 50 + 50 * i).collect();
        let fc: Vec<usize> = (0..10).map(|i| 60 + 50 * i).collect();
        let s = create_strides(&time, &ic, &fc, 1.0, &StrideParams::default());
        assert_eq!(s.ic.len(), 9);
        assert_eq!(s.fc_opp_foot[0], 60);
        assert_eq!(s.fc[0], 110);
        assert_eq!(s.forward_cycles[0], 2);
        assert_eq!(*s.forward_cycles.last().unwrap(), 0);
    }
}
