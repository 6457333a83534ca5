//! The window features of SKDH's gait classifier (`skdh.features`), computed the way SKDH's
//! Fortran/C extensions compute them, and the feature list parsed from SKDH's
//! `gait_final_features.json` format (`[{"Name": {"Parameters": {...}, "Index": ...}}, ...]`).
//!
//! Each feature maps one window of samples (sampled at `fs` Hz) to one number.

use super::signal::{
    PaddedRfft, autocorrelation, mean_sd_shifted, sparc_from_power_in, sparc_nfft,
};

/// One window feature with its parameters (SKDH's class names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// Frequency of the spectral peak between `low_cutoff` and `high_cutoff` Hz.
    DominantFrequency {
        /// FFT zero-padding level.
        padlevel: u32,
        /// Low cut-off, Hz.
        low_cutoff: f64,
        /// High cut-off, Hz.
        high_cutoff: f64,
    },
    /// Fraction of samples where the de-meaned signal changes sign.
    MeanCrossRate,
    /// Maximum minus minimum.
    Range,
    /// Sample standard deviation of the de-meaned signal.
    Rms,
    /// Sample entropy with template length `m` and absolute tolerance `r`.
    SampleEntropy {
        /// Template length.
        m: u32,
        /// Tolerance (signal units).
        r: f64,
    },
    /// Autocorrelation at `lag` samples.
    Autocorrelation {
        /// Lag, samples.
        lag: usize,
        /// Normalised (Pearson) or raw.
        normalize: bool,
    },
    /// Inter-quartile range (linear interpolation).
    Iqr,
    /// Fraction of samples in `[range_min, range_max)`.
    RangeCountPercentage {
        /// Lower bound (inclusive).
        range_min: f64,
        /// Upper bound (exclusive).
        range_max: f64,
    },
    /// Complexity-invariant distance.
    ComplexityInvariantDistance {
        /// Divide by the variance.
        normalize: bool,
    },
    /// Permutation entropy, bits (normalised by log2(order!) when asked).
    PermutationEntropy {
        /// Embedding order.
        order: usize,
        /// Embedding delay, samples.
        delay: usize,
        /// Normalise to [0, 1].
        normalize: bool,
    },
    /// Spectral entropy between the cut-offs, normalised.
    SpectralEntropy {
        /// FFT zero-padding level.
        padlevel: u32,
        /// Low cut-off, Hz.
        low_cutoff: f64,
        /// High cut-off, Hz.
        high_cutoff: f64,
    },
    /// Spectral flatness between the cut-offs, dB.
    SpectralFlatness {
        /// FFT zero-padding level.
        padlevel: u32,
        /// Low cut-off, Hz.
        low_cutoff: f64,
        /// High cut-off, Hz.
        high_cutoff: f64,
    },
    /// Mean.
    Mean,
    /// Jerk metric (sum of squared differences scaled by the peak amplitude and fs).
    JerkMetric,
    /// Dimensionless jerk (acceleration input), as -ln|value| when `log`.
    DimensionlessJerk {
        /// Return -ln|value|.
        log: bool,
    },
    /// Signal (histogram) entropy.
    SignalEntropy,
    /// Spectral arc length.
    Sparc {
        /// FFT zero-padding level.
        padlevel: u32,
        /// Cut-off, Hz.
        fc: f64,
        /// Amplitude threshold (fraction of the spectral peak).
        amplitude_threshold: f64,
    },
    /// Least-squares slope against time, units/s.
    LinearSlope,
}

/// Why a feature list could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureListError {
    /// Not the expected JSON layout.
    #[error("feature list: {0}")]
    Format(String),
}

fn num(p: &serde_json::Value, k: &str, default: f64) -> f64 {
    p.get(k)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(default)
}

fn flag(p: &serde_json::Value, k: &str, default: bool) -> bool {
    p.get(k)
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(default)
}

/// Parses a feature list in SKDH's `Bank.save` JSON format; parameters absent from the file take
/// SKDH's defaults.
pub fn parse_feature_list(json: &str) -> Result<Vec<Feature>, FeatureListError> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| FeatureListError::Format(e.to_string()))?;
    let arr = v
        .as_array()
        .ok_or_else(|| FeatureListError::Format("expected a JSON array".into()))?;
    let mut out = Vec::with_capacity(arr.len());
    for item in arr {
        let obj = item
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| FeatureListError::Format("expected {name: {...}} items".into()))?;
        let (name, body) = obj.iter().next().expect("one entry checked above");
        let p = body.get("Parameters").cloned().unwrap_or_default();
        let pad = |d: f64| num(&p, "padlevel", d).max(0.0) as u32;
        let f = match name.as_str() {
            "DominantFrequency" => Feature::DominantFrequency {
                padlevel: pad(2.0),
                low_cutoff: num(&p, "low_cutoff", 0.0),
                high_cutoff: num(&p, "high_cutoff", 5.0),
            },
            "MeanCrossRate" => Feature::MeanCrossRate,
            "Range" => Feature::Range,
            "RMS" => Feature::Rms,
            "SampleEntropy" => Feature::SampleEntropy {
                m: num(&p, "m", 4.0).max(1.0) as u32,
                r: num(&p, "r", 1.0),
            },
            "Autocorrelation" => Feature::Autocorrelation {
                lag: num(&p, "lag", 1.0).max(0.0) as usize,
                normalize: flag(&p, "normalize", true),
            },
            "IQR" => Feature::Iqr,
            "RangeCountPercentage" => Feature::RangeCountPercentage {
                range_min: num(&p, "range_min", -1.0),
                range_max: num(&p, "range_max", 1.0),
            },
            "ComplexityInvariantDistance" => Feature::ComplexityInvariantDistance {
                normalize: flag(&p, "normalize", true),
            },
            "PermutationEntropy" => Feature::PermutationEntropy {
                order: num(&p, "order", 3.0).max(1.0) as usize,
                delay: num(&p, "delay", 1.0).max(1.0) as usize,
                normalize: flag(&p, "normalize", false),
            },
            "SpectralEntropy" => Feature::SpectralEntropy {
                padlevel: pad(2.0),
                low_cutoff: num(&p, "low_cutoff", 0.0),
                high_cutoff: num(&p, "high_cutoff", 5.0),
            },
            "SpectralFlatness" => Feature::SpectralFlatness {
                padlevel: pad(2.0),
                low_cutoff: num(&p, "low_cutoff", 0.0),
                high_cutoff: num(&p, "high_cutoff", 5.0),
            },
            "Mean" => Feature::Mean,
            "JerkMetric" => Feature::JerkMetric,
            "DimensionlessJerk" => {
                let st = p
                    .get("signal_type")
                    .and_then(|s| s.as_str())
                    .unwrap_or("acceleration");
                if st != "acceleration" {
                    return Err(FeatureListError::Format(format!(
                        "DimensionlessJerk signal_type '{st}' not supported"
                    )));
                }
                Feature::DimensionlessJerk {
                    log: flag(&p, "log", false),
                }
            }
            "SignalEntropy" => Feature::SignalEntropy,
            "SPARC" => Feature::Sparc {
                padlevel: pad(4.0),
                fc: num(&p, "fc", 10.0),
                amplitude_threshold: num(&p, "amplitude_threshold", 0.05),
            },
            "LinearSlope" => Feature::LinearSlope,
            other => {
                return Err(FeatureListError::Format(format!(
                    "unknown feature '{other}'"
                )));
            }
        };
        out.push(f);
    }
    Ok(out)
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Planned FFTs and per-window scratch shared by the features of a window: each FFT size is
/// planned once, and the power spectrum of the current window is computed once per size, however
/// many spectral features read it. Call [`FftCache::clear`] before each new window.
#[derive(Debug, Default)]
pub struct FftCache {
    /// One entry per FFT size: plan, power spectrum of the current window, whether it is valid.
    spectra: Vec<(PaddedRfft, Vec<f64>, bool)>,
    /// Normalised band of the current spectral feature.
    band: Vec<f64>,
    /// Sorted copy of the window (IQR).
    sorted: Vec<f64>,
}

impl FftCache {
    /// Marks the spectra stale for a new window (plans and buffers are kept).
    pub fn clear(&mut self) {
        for s in &mut self.spectra {
            s.2 = false;
        }
    }

    /// Power spectrum (`|X|^2`, bins 0..=size/2) of `x` zero-padded to `size` (a power of two
    /// >= 2), computed at most once per window.
    fn power(&mut self, x: &[f64], size: usize) -> &[f64] {
        let pos = match self.spectra.iter().position(|(p, _, _)| p.nfft() == size) {
            Some(p) => p,
            None => {
                let Some(plan) = PaddedRfft::new(size) else {
                    return &[];
                };
                self.spectra.push((plan, Vec::new(), false));
                self.spectra.len() - 1
            }
        };
        let (plan, power, valid) = &mut self.spectra[pos];
        if !*valid {
            plan.power_into(x, power);
            *valid = true;
        }
        power
    }

    /// The band `[il - 1, ih)` of SKDH's normalised power spectrum (bins 0..=nfft of a 2*nfft
    /// FFT, each divided by the band's total, plus 1e-10) and `nfft`, `il`, `ih` (1-based).
    /// Only the band is normalised: it is all the spectral features read.
    fn spectrum_band(
        &mut self,
        x: &[f64],
        fs: f64,
        padlevel: u32,
        lo: f64,
        hi: f64,
    ) -> (&[f64], usize, usize, usize) {
        let n = x.len() as f64;
        let e = (n.ln() / 2f64.ln()).ceil() - 1.0 + f64::from(padlevel);
        let nfft = 2f64.powf(e.clamp(0.0, 24.0)) as usize;
        let mut band = std::mem::take(&mut self.band);
        band.clear();
        let sp = self.power(x, 2 * nfft);
        if sp.len() != nfft + 1 {
            self.band = band;
            return (&[], nfft, 1, 1);
        }
        let nm1 = (nfft - 1) as f64;
        let ih = ((hi / (fs / 2.0) * nm1 + 1.0).floor() as i64).min(nfft as i64 + 1);
        let ih = ih.min(nfft as i64).max(1) as usize;
        let il = ((lo / (fs / 2.0) * nm1 + 1.0).ceil() as i64).max(1) as usize;
        let il = il.min(ih);
        let raw = &sp[il - 1..ih];
        let total: f64 = raw.iter().sum();
        band.extend(raw.iter().map(|v| v / total + 1e-10));
        self.band = band;
        (&self.band, nfft, il, ih)
    }
}

fn signal_entropy(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let k = (n as f64).sqrt().ceil() as usize;
    let (_, mut sd) = mean_sd_shifted(x);
    if sd == 0.0 {
        sd = 1.0;
    }
    let mn = x.iter().copied().fold(f64::INFINITY, f64::min);
    let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let delta = (mx - mn) / (n - 1) as f64;
    let d1 = (mn - delta / 2.0) / sd;
    let d2 = (mx + delta / 2.0) / sd;
    if d1 == d2 {
        return 0.0;
    }
    let mut width = (mx - mn) / k as f64;
    if width == 0.0 {
        width = 1.0;
    }
    let mut h = vec![0i64; k];
    for &v in x {
        if v.is_nan() {
            continue;
        }
        let idx = (((v - mn) / width) as usize).min(k - 1);
        h[idx] += 1;
    }
    let mut cnt = 0.0;
    let mut est = 0.0;
    for &c in &h {
        let lf = if c > 0 { (c as f64).ln() } else { 0.0 };
        cnt += c as f64;
        est -= c as f64 * lf;
    }
    let kf = k as f64;
    let nbias = -(kf - 1.0) / (2.0 * cnt);
    let est = est / cnt + cnt.ln() + ((d2 - d1) / kf).ln() - nbias;
    (est * est).exp() - 2.0
}

/// SKDH's sample entropy. Template length 2 (the classifier's) is counted diagonal by diagonal
/// with branch-free, vectorised comparisons; other lengths run SKDH's loop as written. The counts
/// are integers, so both give the same value.
fn sample_entropy(x: &[f64], l: u32, r: f64) -> f64 {
    if l != 2 {
        return sample_entropy_loop(x, l, r);
    }
    let (a, b) = sample_entropy_counts_m2(x, r);
    -(a as f64 / b as f64).ln()
}

/// The counts (A, B) of sample entropy with template length 2: pairs of samples `d` apart
/// (d >= 1) that match (`|difference| < r`) together with the pair before them (A), and
/// matching pairs that are not the last of their diagonal (B).
fn sample_entropy_counts_m2(x: &[f64], r: f64) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above), the only requirement of
            // calling a function compiled with that target feature.
            return unsafe { sample_entropy_counts_m2_avx(x, r) };
        }
    }
    sample_entropy_counts_m2_plain(x, r)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn sample_entropy_counts_m2_avx(x: &[f64], r: f64) -> (u64, u64) {
    sample_entropy_counts_m2_plain(x, r)
}

#[inline(always)]
fn sample_entropy_counts_m2_plain(x: &[f64], r: f64) -> (u64, u64) {
    let n = x.len();
    let (mut a, mut b) = (0u64, 0u64);
    // one match flag (0/1) per position of the diagonal, compared once
    let mut flags = vec![0u64; n];
    for d in 1..n {
        let len = n - d;
        let (lo, hi, f) = (&x[..len], &x[d..], &mut flags[..len]);
        for j in 0..len {
            f[j] = u64::from((hi[j] - lo[j]).abs() < r);
        }
        // B: matches at j < len - 1; A: matches at j and j - 1 (a run of at least 2)
        let mut cb = 0u64;
        for &v in &f[..len - 1] {
            cb += v;
        }
        let mut ca = 0u64;
        for j in 1..len {
            ca += f[j] & f[j - 1];
        }
        a += ca;
        b += cb;
    }
    (a, b)
}

fn sample_entropy_loop(x: &[f64], l: u32, r: f64) -> f64 {
    let n = x.len();
    let l = i64::from(l);
    let mut a = 0.0;
    let mut b = 0.0;
    let mut run = vec![0i64; n];
    for i in 1..n {
        let x1 = x[i - 1];
        for ii in 1..=n - i {
            let i2 = ii + i;
            if (x[i2 - 1] - x1).abs() < r {
                run[ii - 1] += 1;
                if run[ii - 1] >= l {
                    a += 1.0;
                }
                if run[ii - 1] >= l - 1 && i2 < n {
                    b += 1.0;
                }
            } else {
                run[ii - 1] = 0;
            }
        }
    }
    if l == 1 {
        let nf = n as f64;
        -(a / (nf * (nf - 1.0) / 2.0)).ln()
    } else {
        -(a / b).ln()
    }
}

fn permutation_entropy(x: &[f64], order: usize, delay: usize, normalize: bool) -> f64 {
    if order == 0 {
        return f64::NAN;
    }
    let span = (order - 1) * delay;
    if x.len() <= span {
        return f64::NAN;
    }
    if order <= 4 {
        return permutation_entropy_small(x, order, delay, normalize);
    }
    permutation_entropy_sorted(x, order, delay, normalize)
}

/// SKDH's permutation entropy as written: hashes sorted, then run-length counted.
fn permutation_entropy_sorted(x: &[f64], order: usize, delay: usize, normalize: bool) -> f64 {
    if order == 0 {
        return f64::NAN;
    }
    let span = (order - 1) * delay;
    if x.len() <= span {
        return f64::NAN;
    }
    let m = x.len() - span;
    let mut hashes = Vec::with_capacity(m);
    let mut vals = vec![0.0; order];
    let mut idx = vec![0usize; order];
    for t in 0..m {
        for j in 0..order {
            vals[j] = x[t + j * delay];
            idx[j] = j;
        }
        // stable insertion sort, as SKDH's embed_sort
        for j in 1..order {
            let (tv, ti) = (vals[j], idx[j]);
            let mut k = j;
            while k > 0 && vals[k - 1] > tv {
                vals[k] = vals[k - 1];
                idx[k] = idx[k - 1];
                k -= 1;
            }
            vals[k] = tv;
            idx[k] = ti;
        }
        let mut h = 0.0;
        let mut w = 1.0;
        for &i in &idx {
            h += w * i as f64;
            w *= order as f64;
        }
        hashes.push(h);
    }
    hashes.sort_by(f64::total_cmp);
    let mut counts = Vec::new();
    let mut prev = f64::NAN;
    for h in hashes {
        if h == prev {
            if let Some(c) = counts.last_mut() {
                *c += 1.0;
            }
        } else {
            counts.push(1.0);
            prev = h;
        }
    }
    let total: f64 = counts.iter().sum();
    let ln2 = 2f64.ln();
    let mut pe = 0.0;
    for c in &counts {
        let p = c / total;
        pe += p * p.ln() / ln2;
    }
    let mut pe = -pe;
    if normalize {
        let fact: f64 = (1..=order).map(|i| i as f64).product();
        pe /= fact.ln() / ln2;
    }
    pe
}

/// Positions and weight of numpy's linear-interpolation percentile `q` (0-100) of `n` values.
fn percentile_at(n: usize, q: f64) -> (usize, usize, f64) {
    let pos = q / 100.0 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    (lo, (lo + 1).min(n - 1), pos - lo as f64)
}

/// numpy's lerp of two neighbouring order statistics, as `preprocessing::stats::percentile`.
fn lerp(a: f64, b: f64, frac: f64) -> f64 {
    let d = b - a;
    if frac >= 0.5 {
        b - d * (1.0 - frac)
    } else {
        a + d * frac
    }
}

/// 75th minus 25th percentile of `buf` (reordered): the four order statistics are selected
/// instead of sorting everything; under `total_cmp` each is the same value a sort puts there.
fn iqr_in_place(buf: &mut [f64]) -> f64 {
    let n = buf.len();
    if n == 0 {
        return f64::NAN;
    }
    let (lo75, hi75, f75) = percentile_at(n, 75.0);
    let (lo25, hi25, f25) = percentile_at(n, 25.0);
    if hi25 >= hi75 {
        buf.sort_unstable_by(f64::total_cmp);
        return percentile_sorted(buf, 75.0) - percentile_sorted(buf, 25.0);
    }
    let largest = |s: &[f64]| s.iter().copied().max_by(f64::total_cmp);
    // order statistic k is the k-th smallest: after selecting it, the ones below sit left of it
    buf.select_nth_unstable_by(hi75, f64::total_cmp);
    let b75 = buf[hi75];
    let a75 = if lo75 == hi75 {
        b75
    } else {
        largest(&buf[..hi75]).unwrap_or(b75)
    };
    // the hi75 smallest values, in some order
    let left = &mut buf[..hi75];
    left.select_nth_unstable_by(hi25, f64::total_cmp);
    let b25 = left[hi25];
    let a25 = if lo25 == hi25 {
        b25
    } else {
        largest(&left[..hi25]).unwrap_or(b25)
    };
    lerp(a75, b75, f75) - lerp(a25, b25, f25)
}

/// numpy's linear-interpolation percentile `q` (0-100) of already sorted values, the formula of
/// `preprocessing::stats::percentile` (which sorts a copy first).
fn percentile_sorted(s: &[f64], q: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let (lo, hi, frac) = percentile_at(s.len(), q);
    lerp(s[lo], s[hi], frac)
}

/// [`permutation_entropy`] for orders up to 4: the pattern hashes (< order^order <= 256) are
/// counted in an array instead of sorted; visiting the array in hash order adds the same terms
/// in the same order as the sorted run-length count.
fn permutation_entropy_small(x: &[f64], order: usize, delay: usize, normalize: bool) -> f64 {
    let span = (order - 1) * delay;
    let m = x.len() - span;
    let mut counts = [0u32; 256];
    let mut vals = [0.0; 4];
    let mut idx = [0usize; 4];
    for t in 0..m {
        for j in 0..order {
            vals[j] = x[t + j * delay];
            idx[j] = j;
        }
        // stable insertion sort, as SKDH's embed_sort
        for j in 1..order {
            let (tv, ti) = (vals[j], idx[j]);
            let mut k = j;
            while k > 0 && vals[k - 1] > tv {
                vals[k] = vals[k - 1];
                idx[k] = idx[k - 1];
                k -= 1;
            }
            vals[k] = tv;
            idx[k] = ti;
        }
        let mut h = 0;
        let mut w = 1;
        for &i in &idx[..order] {
            h += w * i;
            w *= order;
        }
        counts[h] += 1;
    }
    // integer counts: their float sum is exact in any order
    let total: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    let ln2 = 2f64.ln();
    let mut pe = 0.0;
    for &c in counts.iter().filter(|&&c| c > 0) {
        let p = f64::from(c) / total;
        pe += p * p.ln() / ln2;
    }
    let mut pe = -pe;
    if normalize {
        let fact: f64 = (1..=order).map(|i| i as f64).product();
        pe /= fact.ln() / ln2;
    }
    pe
}

fn gmean(x: &[f64]) -> f64 {
    let mut logsum = 0.0;
    let mut prod = 1.0;
    for &v in x {
        prod *= v;
        if !(1e-64..=1e64).contains(&prod) {
            logsum += prod.ln();
            prod = 1.0;
        }
    }
    ((logsum + prod.ln()) / x.len() as f64).exp()
}

impl Feature {
    /// The feature of one window `x` sampled at `fs` Hz (NaN for an empty window).
    pub fn compute(&self, x: &[f64], fs: f64) -> f64 {
        self.compute_cached(x, fs, &mut FftCache::default())
    }

    /// As [`Feature::compute`], sharing the window's FFTs through `cache` (clear it between
    /// windows).
    pub fn compute_cached(&self, x: &[f64], fs: f64, cache: &mut FftCache) -> f64 {
        let n = x.len();
        if n == 0 {
            return f64::NAN;
        }
        let nf = n as f64;
        match *self {
            Feature::DominantFrequency {
                padlevel,
                low_cutoff,
                high_cutoff,
            } => {
                let (seg, nfft, il, _) =
                    cache.spectrum_band(x, fs, padlevel, low_cutoff, high_cutoff);
                let mut best = 0;
                for (i, &v) in seg.iter().enumerate() {
                    if v > seg[best] {
                        best = i;
                    }
                }
                let imax = best + il;
                fs * (imax as f64 - 1.0) / nfft as f64 / 2.0
            }
            Feature::MeanCrossRate => {
                let m = mean(x);
                let sign = |v: f64| (v - m).signum() * f64::from(v - m != 0.0);
                let mut changes = 0usize;
                let mut prev = sign(x[0]);
                for &v in &x[1..] {
                    let cur = sign(v);
                    changes += usize::from(cur - prev != 0.0);
                    prev = cur;
                }
                changes as f64 / nf
            }
            Feature::Range => {
                let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mn = x.iter().copied().fold(f64::INFINITY, f64::min);
                mx - mn
            }
            Feature::Rms => {
                // the two passes of the de-meaned copy, without the copy
                let m = mean(x);
                let my = x.iter().map(|v| v - m).sum::<f64>() / nf;
                (x.iter()
                    .map(|v| {
                        let y = v - m;
                        (y - my) * (y - my)
                    })
                    .sum::<f64>()
                    / (nf - 1.0))
                    .sqrt()
            }
            Feature::SampleEntropy { m, r } => sample_entropy(x, m, r),
            Feature::Autocorrelation { lag, normalize } => {
                if normalize {
                    autocorrelation(x, lag)
                } else {
                    if lag + 1 >= n {
                        return f64::NAN;
                    }
                    let (_, s1) = mean_sd_shifted(&x[..n - lag]);
                    let (_, s2) = mean_sd_shifted(&x[lag..]);
                    let s: f64 = (0..n - lag).map(|i| x[i] * x[i + lag]).sum();
                    s / (s1 * s2)
                }
            }
            Feature::Iqr => {
                let buf = &mut cache.sorted;
                buf.clear();
                buf.extend_from_slice(x);
                iqr_in_place(buf)
            }
            Feature::RangeCountPercentage {
                range_min,
                range_max,
            } => {
                x.iter()
                    .filter(|&&v| v >= range_min && v < range_max)
                    .count() as f64
                    / nf
            }
            Feature::ComplexityInvariantDistance { normalize } => {
                let mut cid: f64 = x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
                if normalize {
                    let (_, sd) = mean_sd_shifted(x);
                    cid /= sd * sd;
                }
                cid.sqrt()
            }
            Feature::PermutationEntropy {
                order,
                delay,
                normalize,
            } => permutation_entropy(x, order, delay, normalize),
            Feature::SpectralEntropy {
                padlevel,
                low_cutoff,
                high_cutoff,
            } => {
                let (seg, _, il, ih) =
                    cache.spectrum_band(x, fs, padlevel, low_cutoff, high_cutoff);
                let ln2 = 2f64.ln();
                let cut = ((ih - il + 1) as f64).ln() / ln2;
                let mut e = 0.0;
                for &v in seg {
                    e -= v.ln() / ln2 * v;
                }
                e / cut
            }
            Feature::SpectralFlatness {
                padlevel,
                low_cutoff,
                high_cutoff,
            } => {
                let (seg, _, _, _) = cache.spectrum_band(x, fs, padlevel, low_cutoff, high_cutoff);
                let m = seg.iter().sum::<f64>() / seg.len() as f64;
                10.0 * (gmean(seg) / m).ln() / 10f64.ln()
            }
            Feature::Mean => mean(x),
            Feature::JerkMetric => {
                let mut amp = x[0].abs();
                let mut js = 0.0;
                for w in x.windows(2) {
                    js += (w[1] - w[0]).powi(2);
                    amp = amp.max(w[1].abs());
                }
                js / (720.0 * amp * amp) * fs
            }
            Feature::DimensionlessJerk { log } => {
                let mut amp = x[0].abs();
                let mut js = 0.0;
                for w in x.windows(2) {
                    js += (w[1] - w[0]).powi(2);
                    amp = amp.max(w[1].abs());
                }
                let d = -(nf * js) / (amp * amp);
                if log { -d.abs().ln() } else { d }
            }
            Feature::SignalEntropy => signal_entropy(x),
            Feature::Sparc {
                padlevel,
                fc,
                amplitude_threshold,
            } => match sparc_nfft(n, padlevel) {
                Some(nfft) => {
                    let mut scratch = std::mem::take(&mut cache.band);
                    let v = sparc_from_power_in(
                        cache.power(x, nfft),
                        nfft,
                        fs,
                        fc,
                        amplitude_threshold,
                        &mut scratch,
                    );
                    cache.band = scratch;
                    v
                }
                None => f64::NAN,
            },
            Feature::LinearSlope => {
                let ssxm = (nf * nf - 1.0) / (12.0 * fs * fs);
                let ex = (nf - 1.0) * nf / (2.0 * fs);
                let ky = x[0];
                let mut ey = 0.0;
                let mut exy = 0.0;
                for (i, &v) in x.iter().enumerate().skip(1) {
                    ey += v - ky;
                    exy += (i as f64 / fs) * (v - ky);
                }
                ((exy - ex * ey / nf) / nf) / ssxm
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_entropies_equal_skdh_loops() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [0usize, 1, 2, 3, 10, 60, 150, 151] {
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).sin() + next()).collect();
            for r in [0.1, 0.5, 2.0] {
                let (a, b) = (sample_entropy(&x, 2, r), sample_entropy_loop(&x, 2, r));
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{n} {r}"
                );
            }
            for order in 1..=4 {
                for delay in 1..=2 {
                    let a = permutation_entropy(&x, order, delay, true);
                    let b = permutation_entropy_sorted(&x, order, delay, true);
                    assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
                }
            }
        }
    }

    #[test]
    fn selected_iqr_equals_sorted_percentiles() {
        use crate::preprocessing::stats::percentile;
        for n in [1usize, 2, 3, 4, 5, 8, 9, 60, 150, 151] {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 31 % 17) as f64 * 0.61).sin())
                .collect();
            let want = percentile(&x, 75.0) - percentile(&x, 25.0);
            let got = Feature::Iqr.compute(&x, 50.0);
            assert_eq!(want.to_bits(), got.to_bits(), "{n}");
        }
    }

    #[test]
    fn simple_features() {
        let x = [1.0, 3.0, 2.0, 5.0, 4.0];
        assert_eq!(Feature::Range.compute(&x, 1.0), 4.0);
        assert_eq!(Feature::Mean.compute(&x, 1.0), 3.0);
        // slope of the least-squares line through (i/fs, x)
        assert!((Feature::LinearSlope.compute(&x, 2.0) - 1.6).abs() < 1e-12);
        // mean 3: signs - 0 - + + -> changes: -,0 / 0,- / -,+ -> 3 of 5... (-1,0,-1,1,1)
        assert!((Feature::MeanCrossRate.compute(&x, 1.0) - 3.0 / 5.0).abs() < 1e-12);
        let pe = Feature::PermutationEntropy {
            order: 3,
            delay: 1,
            normalize: true,
        };
        // a monotone signal has a single ordinal pattern
        assert_eq!(pe.compute(&[1.0, 2.0, 3.0, 4.0, 5.0], 1.0), 0.0);
        let list =
            parse_feature_list(include_str!("../../models/gait_final_features.json")).unwrap();
        assert_eq!(list.len(), 18);
        assert_eq!(list[4], Feature::SampleEntropy { m: 2, r: 0.5 });
        assert!(parse_feature_list("{}").is_err());
        assert!(parse_feature_list(r#"[{"Nope": {}}]"#).is_err());
    }
}
