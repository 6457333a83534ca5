//! Auto-calibration of accelerometers against local gravity (van Hees 2014), as SKDH's
//! `CalibrateAccelerometer`.
//!
//! Still 10 s windows (every axis SD below `sd_criteria`, |mean| below 2 g) should lie on the
//! unit sphere. An iterative closest-point fit finds per-axis offset, scale and temperature
//! coefficients; the corrected acceleration is `(a + offset) * scale + (T - T_mean) * temp_scale`.
//! The fit starts with the first `min_hours` of data and adds 12 h until it succeeds or the data
//! run out. Recordings shorter than `min_hours` are not calibrated.

use serde::{Deserialize, Serialize};

use super::Axes;
use super::stats;

/// Parameters (SKDH names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalibrateParams {
    /// Still-window means must reach beyond +/- this on every axis, g. Default 0.3.
    pub sphere_crit: f64,
    /// Hours of data used first (rounded up to a multiple of 12). Default 72.
    pub min_hours: u32,
    /// Per-axis SD below which a 10 s window is still, g. Default 0.013.
    pub sd_criteria: f64,
    /// Maximum iterations of the fit. Default 1000.
    pub max_iter: u32,
    /// Convergence tolerance on the weighted residual. Default 1e-10.
    pub tol: f64,
}

impl Default for CalibrateParams {
    fn default() -> Self {
        Self {
            sphere_crit: 0.3,
            min_hours: 72,
            sd_criteria: 0.013,
            max_iter: 1000,
            tol: 1e-10,
        }
    }
}

/// Outcome of a calibration attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationStatus {
    /// Calibrated; the corrected acceleration should be used.
    Calibrated,
    /// The recording is shorter than `min_hours`.
    TooShort,
    /// Fewer than two still windows.
    NotEnoughStill,
    /// Still windows do not cover both signs of every axis.
    SphereNotCovered,
    /// The fit did not reduce the error below 0.01 g.
    NoImprovement,
}

impl CalibrationStatus {
    /// A sentence for reports.
    pub fn describe(self) -> &'static str {
        match self {
            CalibrationStatus::Calibrated => "calibrated",
            CalibrationStatus::TooShort => "recording shorter than min_hours: not calibrated",
            CalibrationStatus::NotEnoughStill => {
                "fewer than two still 10 s windows: not calibrated"
            }
            CalibrationStatus::SphereNotCovered => {
                "still windows do not cover both directions of every axis: not calibrated"
            }
            CalibrationStatus::NoImprovement => {
                "the fit did not bring the error below 0.01 g: not calibrated"
            }
        }
    }
}

/// Result of [`calibrate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Outcome.
    pub status: CalibrationStatus,
    /// Offset added before scaling, g (last attempt's value when not calibrated).
    pub offset: [f64; 3],
    /// Scale factor, unitless.
    pub scale: [f64; 3],
    /// Temperature coefficient, g per deg C.
    pub temperature_scale: [f64; 3],
    /// Mean temperature of the still windows, deg C (0 without temperature).
    pub temperature_mean: f64,
    /// Mean |norm - 1| of the still windows before the fit, g (rounded to 1e-5 as SKDH).
    pub error_before: f64,
    /// The same after the fit, g.
    pub error_after: f64,
    /// Hours of data the last attempt used.
    pub hours_used: f64,
    /// Number of still windows in the last attempt.
    pub still_windows: usize,
}

impl Calibration {
    /// Applies the calibration to acceleration (in place), g. Samples beyond the end of a
    /// shorter temperature get no temperature term.
    pub fn apply(&self, x: &mut [f64], y: &mut [f64], z: &mut [f64], temperature: Option<&[f64]>) {
        for (k, ax) in [x, y, z].into_iter().enumerate() {
            let (o, s) = (self.offset[k], self.scale[k]);
            let (tm, ts) = (self.temperature_mean, self.temperature_scale[k]);
            let t = temperature.unwrap_or(&[]);
            let m = if temperature.is_some() {
                t.len().min(ax.len())
            } else {
                0
            };
            let (with_t, rest) = ax.split_at_mut(m);
            for (v, &tv) in with_t.iter_mut().zip(t) {
                *v = (*v + o) * s + (tv - tm) * ts;
            }
            for v in rest {
                *v = (*v + o) * s;
            }
        }
    }

    /// The calibrated copy of `accel` (x, y, z), g: the same values as [`Calibration::apply`]
    /// on a clone, without first copying the uncalibrated data.
    pub fn applied(&self, accel: Axes<'_>, temperature: Option<&[f64]>) -> [Vec<f64>; 3] {
        let axes = accel.axes();
        std::array::from_fn(|k| {
            let ax = axes[k];
            let (o, s) = (self.offset[k], self.scale[k]);
            let (tm, ts) = (self.temperature_mean, self.temperature_scale[k]);
            let t = temperature.unwrap_or(&[]);
            let m = if temperature.is_some() {
                t.len().min(ax.len())
            } else {
                0
            };
            let mut out = Vec::with_capacity(ax.len());
            out.extend(
                ax[..m]
                    .iter()
                    .zip(t)
                    .map(|(&v, &tv)| (v + o) * s + (tv - tm) * ts),
            );
            out.extend(ax[m..].iter().map(|&v| (v + o) * s));
            out
        })
    }
}

/// Per-window means and SDs accumulated as the data used grows (SKDH's `Store`).
struct Store {
    wlen: usize,
    rsd: Vec<[f64; 3]>,
    rm: Vec<[f64; 3]>,
    tm: Vec<f64>,
    n: usize,
}

impl Store {
    fn extend(&mut self, acc: Axes<'_>, temp: Option<&[f64]>, end: usize) {
        let rem = end - self.n;
        let full = rem / self.wlen;
        if full == 0 && temp.is_some() {
            // SKDH fails here (a temperature mean over less than one window); the partial
            // window is left out instead
            return;
        }
        let seg = acc.slice(self.n, end);
        if full >= 1 && rem > self.wlen {
            let axes = seg.axes();
            for w in 0..full {
                let s = w * self.wlen;
                let win = axes.map(|ax| &ax[s..s + self.wlen]);
                let (m, sd) = mean_sd3(win);
                self.rm.push(m);
                self.rsd.push(sd);
            }
        } else {
            // at most one window left: SKDH uses the population SD of what remains
            let mut m = [0.0; 3];
            let mut sd = [0.0; 3];
            for (k, ax) in seg.axes().iter().enumerate() {
                m[k] = stats::mean(ax);
                sd[k] = stats::std_dev(ax, 0);
            }
            self.rm.push(m);
            self.rsd.push(sd);
        }
        match temp {
            Some(t) => {
                for w in 0..full {
                    let s = self.n + w * self.wlen;
                    self.tm.push(stats::mean(&t[s..s + self.wlen]));
                }
            }
            None => self.tm.resize(self.rm.len(), 0.0),
        }
        self.n += full * self.wlen;
    }
}

/// `stats::mean` and `stats::std_dev(_, 1)` of three equally long windows, with the same
/// operations in the same order (so bit-identical), run side by side so that the three
/// sequential sums overlap instead of waiting on each other.
// one sample index drives the three windows in lockstep, which is the point
#[allow(clippy::needless_range_loop)]
fn mean_sd3(w: [&[f64]; 3]) -> ([f64; 3], [f64; 3]) {
    let n = w[0].len().min(w[1].len()).min(w[2].len());
    let mut s = [0.0f64; 3];
    let mut c = [0.0f64; 3];
    for i in 0..n {
        for k in 0..3 {
            let v = w[k][i];
            let t = s[k] + v;
            c[k] += if s[k].abs() >= v.abs() {
                (s[k] - t) + v
            } else {
                (v - t) + s[k]
            };
            s[k] = t;
        }
    }
    let m = [0, 1, 2].map(|k| (s[k] + c[k]) / n as f64);
    let mut ss = [0.0f64; 3];
    for i in 0..n {
        for k in 0..3 {
            let d = w[k][i] - m[k];
            ss[k] += d * d;
        }
    }
    let sd = if n <= 1 {
        [f64::NAN; 3]
    } else {
        ss.map(|v| (v / (n - 1) as f64).sqrt())
    };
    (m, sd)
}

struct Fit {
    ok: bool,
    status: CalibrationStatus,
    offset: [f64; 3],
    scale: [f64; 3],
    tscale: [f64; 3],
    tmean: f64,
    err0: f64,
    err1: f64,
    still: usize,
}

fn round5(v: f64) -> f64 {
    (v * 1e5).round_ties_even() / 1e5
}

/// Weighted least squares of y on (u, v) with an intercept, as scikit-learn's
/// `LinearRegression(...).fit(X, y, sample_weight=w)` (singular values below 1e-6 of the
/// largest are dropped, so a constant temperature gets a zero coefficient).
fn wls(u: &[f64], v: &[f64], y: &[f64], w: &[f64]) -> (f64, f64, f64) {
    let sw: f64 = w.iter().sum();
    let avg = |a: &[f64]| a.iter().zip(w).map(|(x, wi)| x * wi).sum::<f64>() / sw;
    let (um, vm, ym) = (avg(u), avg(v), avg(y));
    let (mut uu, mut uv, mut vv, mut uy, mut vy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..y.len() {
        let (a, b, c) = (u[i] - um, v[i] - vm, y[i] - ym);
        uu += w[i] * a * a;
        uv += w[i] * a * b;
        vv += w[i] * b * b;
        uy += w[i] * a * c;
        vy += w[i] * b * c;
    }
    // eigen-decomposition of the 2x2 Gram matrix = squared singular values of X
    let tr = uu + vv;
    let det = uu * vv - uv * uv;
    let disc = ((uu - vv) * (uu - vv) / 4.0 + uv * uv).sqrt();
    let l1 = tr / 2.0 + disc;
    let l2 = (det / l1).max(0.0);
    let cut = 1e-6 * l1.max(0.0).sqrt();
    let vecs = if uv.abs() > 0.0 {
        let e1 = [l1 - vv, uv];
        let n1 = (e1[0] * e1[0] + e1[1] * e1[1]).sqrt();
        let e1 = [e1[0] / n1, e1[1] / n1];
        [e1, [-e1[1], e1[0]]]
    } else if uu >= vv {
        [[1.0, 0.0], [0.0, 1.0]]
    } else {
        [[0.0, 1.0], [1.0, 0.0]]
    };
    let lams = [l1, if uv.abs() > 0.0 { l2 } else { uu.min(vv) }];
    let mut coef = [0.0, 0.0];
    for (e, l) in vecs.iter().zip(lams) {
        if l > 0.0 && l.sqrt() >= cut {
            let proj = (e[0] * uy + e[1] * vy) / l;
            coef[0] += proj * e[0];
            coef[1] += proj * e[1];
        }
    }
    let intercept = ym - (um * coef[0] + vm * coef[1]);
    (intercept, coef[0], coef[1])
}

fn icp_fit(store: &Store, p: &CalibrateParams) -> Fit {
    let mut fit = Fit {
        ok: false,
        status: CalibrationStatus::NotEnoughStill,
        offset: [0.0; 3],
        scale: [1.0; 3],
        tscale: [0.0; 3],
        tmean: 0.0,
        err0: f64::NAN,
        err1: f64::NAN,
        still: 0,
    };
    let mut rm: Vec<[f64; 3]> = Vec::new();
    let mut tm: Vec<f64> = Vec::new();
    for i in 0..store.rm.len() {
        let (m, s) = (store.rm[i], store.rsd[i]);
        if (0..3).all(|k| s[k] < p.sd_criteria && m[k].abs() < 2.0) {
            rm.push(m);
            tm.push(store.tm.get(i).copied().unwrap_or(0.0));
        }
    }
    fit.still = rm.len();
    if rm.len() < 2 {
        return fit;
    }
    let norm = |a: &[f64; 3]| (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    let err = |pts: &[[f64; 3]]| -> f64 {
        round5(pts.iter().map(|a| (norm(a) - 1.0).abs()).sum::<f64>() / pts.len() as f64)
    };
    fit.err0 = err(&rm);
    let covered = (0..3)
        .filter(|&k| {
            let lo = rm.iter().map(|a| a[k]).fold(f64::INFINITY, f64::min);
            let hi = rm.iter().map(|a| a[k]).fold(f64::NEG_INFINITY, f64::max);
            lo < -p.sphere_crit && hi > p.sphere_crit
        })
        .count();
    if covered != 3 {
        fit.status = CalibrationStatus::SphereNotCovered;
        return fit;
    }
    let tmean = stats::mean(&tm);
    let t: Vec<f64> = tm.iter().map(|v| v - tmean).collect();
    let n = rm.len();
    let mut weights = vec![100.0; n];
    let mut res: Vec<f64> = vec![f64::INFINITY];
    let (mut offset, mut scale, mut tscale) = ([0.0; 3], [1.0; 3], [0.0; 3]);
    let mut curr = vec![[0.0; 3]; n];
    let mut cp = vec![[0.0; 3]; n];
    for niter in 0..p.max_iter as usize {
        for i in 0..n {
            for k in 0..3 {
                curr[i][k] = (rm[i][k] + offset[k]) * scale[k] + t[i] * tscale[k];
            }
            let nn = norm(&curr[i]);
            for k in 0..3 {
                cp[i][k] = curr[i][k] / nn;
            }
        }
        let mut offch = [0.0; 3];
        let mut scalech = [1.0; 3];
        let mut toffch = [0.0; 3];
        for k in 0..3 {
            let u: Vec<f64> = curr.iter().map(|c| c[k]).collect();
            let y: Vec<f64> = cp.iter().map(|c| c[k]).collect();
            let (b0, b1, b2) = wls(&u, &t, &y, &weights);
            offch[k] = b0;
            scalech[k] = b1;
            toffch[k] = b2;
            for i in 0..n {
                curr[i][k] = u[i] * b1 + t[i] * b2;
            }
        }
        for k in 0..3 {
            offset[k] += offch[k] / (scale[k] * scalech[k]);
            tscale[k] = tscale[k] * scalech[k] + toffch[k];
            scale[k] *= scalech[k];
        }
        let wsum: f64 = weights.iter().sum();
        let mut acc = 0.0;
        for i in 0..n {
            for k in 0..3 {
                let d = curr[i][k] - cp[i][k];
                acc += weights[i] * d * d / wsum;
            }
        }
        res.push(3.0 * acc / (3 * n) as f64);
        for i in 0..n {
            let d = [
                curr[i][0] - cp[i][0],
                curr[i][1] - cp[i][1],
                curr[i][2] - cp[i][2],
            ];
            weights[i] = (1.0 / norm(&d)).min(100.0);
        }
        // SKDH compares the residuals of the two previous iterations
        let prev = if niter == 0 {
            res[res.len() - 1]
        } else {
            res[niter - 1]
        };
        if (res[niter] - prev).abs() < p.tol {
            break;
        }
    }
    let corrected: Vec<[f64; 3]> = (0..n)
        .map(|i| {
            [
                (rm[i][0] + offset[0]) * scale[0] + t[i] * tscale[0],
                (rm[i][1] + offset[1]) * scale[1] + t[i] * tscale[1],
                (rm[i][2] + offset[2]) * scale[2] + t[i] * tscale[2],
            ]
        })
        .collect();
    fit.err1 = err(&corrected);
    fit.ok = fit.err1 < fit.err0 && fit.err1 < 0.01;
    fit.status = if fit.ok {
        CalibrationStatus::Calibrated
    } else {
        CalibrationStatus::NoImprovement
    };
    fit.offset = offset;
    fit.scale = scale;
    fit.tscale = tscale;
    fit.tmean = tmean;
    fit
}

/// Finds the calibration of a recording (`fs` Hz, acceleration in g, temperature in deg C).
/// Does not change the data: apply the result with [`Calibration::apply`] when its status is
/// [`CalibrationStatus::Calibrated`].
pub fn calibrate(
    accel: Axes<'_>,
    temperature: Option<&[f64]>,
    fs: f64,
    p: &CalibrateParams,
) -> Calibration {
    let n = accel.len();
    let min_hours = if !p.min_hours.is_multiple_of(12) || p.min_hours == 0 {
        (p.min_hours / 12 + 1) * 12
    } else {
        p.min_hours
    };
    let n10 = (10.0 * fs) as usize;
    let nh = (f64::from(min_hours) * 3600.0 * fs) as usize;
    let n12h = (12.0 * 3600.0 * fs) as usize;
    let mut out = Calibration {
        status: CalibrationStatus::TooShort,
        offset: [0.0; 3],
        scale: [1.0; 3],
        temperature_scale: [0.0; 3],
        temperature_mean: 0.0,
        error_before: f64::NAN,
        error_after: f64::NAN,
        hours_used: n as f64 / fs / 3600.0,
        still_windows: 0,
    };
    let temperature = temperature.filter(|t| t.len() >= n);
    if n < nh || n10 == 0 || nh == 0 {
        return out;
    }
    let mut store = Store {
        wlen: n10,
        rsd: Vec::new(),
        rm: Vec::new(),
        tm: Vec::new(),
        n: 0,
    };
    let mut i_h = 0usize;
    loop {
        let want = nh + i_h * n12h;
        let end = want.min(n);
        store.extend(accel, temperature, end);
        let fit = icp_fit(&store, p);
        out.status = fit.status;
        out.offset = fit.offset;
        out.scale = fit.scale;
        out.temperature_scale = fit.tscale;
        out.temperature_mean = fit.tmean;
        out.error_before = fit.err0;
        out.error_after = fit.err1;
        out.hours_used = end as f64 / fs / 3600.0;
        out.still_windows = fit.still;
        if fit.ok || want >= n {
            return out;
        }
        i_h += 1;
    }
}
