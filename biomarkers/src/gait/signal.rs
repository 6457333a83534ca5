//! Numeric building blocks of the gait algorithms, with the conventions of the libraries SKDH
//! calls (numpy, scipy.signal, PyWavelets, SKDH's Fortran feature extensions), so that results
//! agree to rounding: gaus1 continuous wavelet transform, peak finding with prominence and
//! distance, trapezoidal integration, linear detrending, radix-2 FFT, autocorrelation and SPARC.
//!
//! Everything is a plain function over slices; lengths that make a computation impossible give
//! NaN or an empty result, never a panic.

use std::f64::consts::PI;

/// Central frequency of PyWavelets' `gaus1` wavelet (cycles per sample at scale 1), as its
/// `central_frequency` computes it numerically.
pub const GAUS1_CENTRAL_FREQUENCY: f64 = 0.2;

/// PyWavelets' `frequency2scale("gaus1", f)`: the scale whose centre is at `f` cycles per sample.
pub fn gaus1_scale(f_norm: f64) -> f64 {
    GAUS1_CENTRAL_FREQUENCY / f_norm
}

/// The integrated gaus1 wavelet on PyWavelets' default grid (2^12 points over [-5, 5]) and the
/// grid step.
fn integrated_gaus1() -> (Vec<f64>, f64) {
    const N: usize = 4096;
    let start = -5.0f64;
    // numpy linspace: i * (delta / div) + start, last point forced to stop
    let step0 = 10.0 / (N - 1) as f64;
    let norm = (PI / 2.0).sqrt().sqrt();
    let mut acc = 0.0;
    let mut out = Vec::with_capacity(N);
    for i in 0..N {
        let t = if i == N - 1 {
            5.0
        } else {
            i as f64 * step0 + start
        };
        acc += -2.0 * t * (-t * t).exp() / norm;
        out.push(acc);
    }
    let step = (step0 + start) - start;
    for v in &mut out {
        *v *= step;
    }
    (out, step)
}

/// Continuous wavelet transform with the `gaus1` wavelet at one scale, as PyWavelets'
/// `cwt(data, scale, "gaus1")` (method `conv`): convolution with the integrated wavelet resampled
/// to the scale, differentiated and centred. Returns an empty vector when the scale is too small
/// (PyWavelets raises) or the data is empty.
pub fn cwt_gaus1(data: &[f64], scale: f64) -> Vec<f64> {
    let n = data.len();
    if n == 0 || scale.is_nan() || scale <= 0.0 || !scale.is_finite() {
        return Vec::new();
    }
    let (int_psi, step) = integrated_gaus1();
    // numpy arange(scale * 10 + 1) has ceil(stop) points
    let stop = scale * 10.0 + 1.0;
    let m = stop.ceil() as usize;
    let denom = scale * step;
    let mut filt: Vec<f64> = (0..m)
        .map(|k| (k as f64 / denom) as usize)
        .filter(|&j| j < int_psi.len())
        .map(|j| int_psi[j])
        .collect();
    filt.reverse();
    let m = filt.len();
    if m < 2 {
        return Vec::new();
    }
    // full convolution, then -sqrt(scale) * diff
    let conv_len = n + m - 1;
    let mut conv = vec![0.0; conv_len];
    for (k, c) in conv.iter_mut().enumerate() {
        let lo = k.saturating_sub(m - 1);
        let hi = k.min(n - 1);
        let mut s = 0.0;
        for i in lo..=hi {
            s += data[i] * filt[k - i];
        }
        *c = s;
    }
    let sq = scale.sqrt();
    let coef: Vec<f64> = conv.windows(2).map(|w| -sq * (w[1] - w[0])).collect();
    let d = (coef.len() - n) as f64 / 2.0;
    let a = d.floor() as usize;
    let b = d.ceil() as usize;
    coef[a..coef.len() - b].to_vec()
}

/// Options of [`find_peaks`], scipy's `find_peaks` keyword arguments of the same names.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeakOptions {
    /// Minimum peak height.
    pub height: Option<f64>,
    /// Minimum distance between peaks, samples (>= 1).
    pub distance: Option<f64>,
    /// Minimum prominence.
    pub prominence: Option<f64>,
}

/// Local maxima of `x` (plateaus give their middle sample), filtered like scipy's `find_peaks`:
/// height first, then distance (higher peaks win), then prominence. Returns the peak indices and
/// their prominences (computed only when a prominence was asked for, else empty).
pub fn find_peaks(x: &[f64], opt: PeakOptions) -> (Vec<usize>, Vec<f64>) {
    let n = x.len();
    let mut peaks = Vec::new();
    if n >= 3 {
        let mut i = 1;
        let i_max = n - 1;
        while i < i_max {
            if x[i - 1] < x[i] {
                let mut ahead = i + 1;
                while ahead < i_max && x[ahead] == x[i] {
                    ahead += 1;
                }
                if x[ahead] < x[i] {
                    peaks.push((i + ahead - 1) / 2);
                    i = ahead;
                }
            }
            i += 1;
        }
    }
    if let Some(h) = opt.height {
        peaks.retain(|&p| x[p] >= h);
    }
    if let Some(d) = opt.distance {
        let d = d.ceil();
        let np = peaks.len();
        let mut keep = vec![true; np];
        let mut order: Vec<usize> = (0..np).collect();
        order.sort_by(|&a, &b| x[peaks[a]].total_cmp(&x[peaks[b]]));
        for &j in order.iter().rev() {
            if !keep[j] {
                continue;
            }
            let mut k = j;
            while k > 0 && ((peaks[j] - peaks[k - 1]) as f64) < d {
                keep[k - 1] = false;
                k -= 1;
            }
            let mut k = j + 1;
            while k < np && ((peaks[k] - peaks[j]) as f64) < d {
                keep[k] = false;
                k += 1;
            }
        }
        peaks = peaks
            .into_iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
    }
    let mut proms = Vec::new();
    if let Some(pmin) = opt.prominence {
        let all: Vec<f64> = peaks.iter().map(|&p| prominence(x, p)).collect();
        let mut kept = Vec::new();
        for (p, pr) in peaks.iter().zip(all) {
            if pr >= pmin {
                kept.push(*p);
                proms.push(pr);
            }
        }
        peaks = kept;
    }
    (peaks, proms)
}

/// scipy's peak prominence of the peak at `p` (no window).
fn prominence(x: &[f64], p: usize) -> f64 {
    let v = x[p];
    let mut left_min = v;
    let mut i = p as isize;
    while i >= 0 && x[i as usize] <= v {
        left_min = left_min.min(x[i as usize]);
        i -= 1;
    }
    let mut right_min = v;
    let mut i = p;
    while i < x.len() && x[i] <= v {
        right_min = right_min.min(x[i]);
        i += 1;
    }
    v - left_min.max(right_min)
}

/// scipy's `cumulative_trapezoid(y, dx=dx, initial=0)`.
pub fn cumtrapz(y: &[f64], dx: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(y.len());
    if y.is_empty() {
        return out;
    }
    out.push(0.0);
    let mut acc = 0.0;
    for w in y.windows(2) {
        acc += dx * (w[0] + w[1]) / 2.0;
        out.push(acc);
    }
    out
}

/// scipy's `detrend(x)` (linear): `x` minus its least-squares line.
pub fn detrend(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let nf = n as f64;
    let tm = (nf - 1.0) / 2.0;
    let xm = x.iter().sum::<f64>() / nf;
    let mut sxy = 0.0;
    let mut sxx = 0.0;
    for (i, &v) in x.iter().enumerate() {
        let d = i as f64 - tm;
        sxy += d * (v - xm);
        sxx += d * d;
    }
    let slope = sxy / sxx;
    x.iter()
        .enumerate()
        .map(|(i, &v)| v - (xm + slope * (i as f64 - tm)))
        .collect()
}

/// Mean of the non-NaN values (NaN when there are none).
pub fn nanmean(x: &[f64]) -> f64 {
    let v: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Standard deviation of the non-NaN values with `ddof` (NaN when too few).
pub fn nanstd(x: &[f64], ddof: usize) -> f64 {
    let v: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    if v.len() <= ddof {
        return f64::NAN;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let ss: f64 = v.iter().map(|a| (a - m) * (a - m)).sum();
    (ss / (v.len() - ddof) as f64).sqrt()
}

/// Median of the non-NaN values (NaN when there are none).
pub fn nanmedian(x: &[f64]) -> f64 {
    let mut v: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let h = v.len() / 2;
    if v.len() % 2 == 1 {
        v[h]
    } else {
        (v[h - 1] + v[h]) / 2.0
    }
}

/// Population standard deviation (numpy `std`).
pub fn std(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Mean and sample standard deviation the way SKDH's Fortran `mean_sd_1d` computes them
/// (sums shifted by the first value).
pub fn mean_sd_shifted(x: &[f64]) -> (f64, f64) {
    let n = x.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut s = 0.0;
    let mut s2 = 0.0;
    for &v in x {
        s += v;
        s2 += (v - x[0]) * (v - x[0]);
    }
    let nf = n as f64;
    let ex = s - nf * x[0];
    ((s / nf), ((s2 - ex * ex / nf) / (nf - 1.0)).sqrt())
}

/// SKDH's normalised `autocorrelation(x, lag, True)`: the Pearson-like correlation of `x` with
/// itself shifted by `lag` samples. NaN when `lag >= len - 1`.
pub fn autocorrelation(x: &[f64], lag: usize) -> f64 {
    let n = x.len();
    if lag + 1 >= n {
        return f64::NAN;
    }
    let (m1, s1) = mean_sd_shifted(&x[..n - lag]);
    let (m2, s2) = mean_sd_shifted(&x[lag..]);
    let mut ac = 0.0;
    for i in 0..n - lag {
        ac += (x[i] - m1) * (x[i + lag] - m2);
    }
    ac / ((n - lag - 1) as f64 * s1 * s2)
}

/// SKDH's `_autocovariancefn` of one signal: autocorrelation at lags `0..max_lag` (lags past
/// `len - 10` stay 0), optionally scaled by `(len - lag) / len` (biased).
pub fn autocovariance_fn(x: &[f64], max_lag: usize, biased: bool) -> Vec<f64> {
    let n = x.len();
    let mut ac = vec![0.0; max_lag];
    let upto = max_lag.min(n.saturating_sub(10));
    for (i, a) in ac.iter_mut().enumerate().take(upto) {
        *a = autocorrelation(x, i);
    }
    if biased && n > 0 {
        for (i, a) in ac.iter_mut().enumerate() {
            *a *= (n as f64 - i as f64) / n as f64;
        }
    }
    ac
}

/// Twiddle factors and bit-reversal permutation of one radix-2 FFT size.
struct FftPlan {
    cos: Vec<f64>,
    sin: Vec<f64>,
    rev: Vec<usize>,
}

impl FftPlan {
    fn new(n: usize) -> Self {
        let bits = n.trailing_zeros();
        let rev = (0..n)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (usize::BITS - bits)
                }
            })
            .collect();
        let (sin, cos) = (0..n / 2)
            .map(|k| (-2.0 * PI * k as f64 / n as f64).sin_cos())
            .unzip();
        Self { cos, sin, rev }
    }
}

thread_local! {
    static PLANS: std::cell::RefCell<Vec<(usize, std::rc::Rc<FftPlan>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn plan(n: usize) -> std::rc::Rc<FftPlan> {
    PLANS.with(|p| {
        let mut p = p.borrow_mut();
        if let Some((_, pl)) = p.iter().find(|(k, _)| *k == n) {
            return pl.clone();
        }
        let pl = std::rc::Rc::new(FftPlan::new(n));
        p.push((n, pl.clone()));
        pl
    })
}

/// In-place iterative radix-2 complex FFT of `re`/`im` (length a power of two; other lengths
/// are left unchanged). Twiddles are cached per size and thread.
pub fn fft_in_place(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    if n <= 1 || !n.is_power_of_two() || im.len() != n {
        return;
    }
    let pl = plan(n);
    for (i, &j) in pl.rev.iter().enumerate() {
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let stride = n / len;
        for (rb, ib) in re.chunks_exact_mut(len).zip(im.chunks_exact_mut(len)) {
            let (ra, rb2) = rb.split_at_mut(half);
            let (ia, ib2) = ib.split_at_mut(half);
            for (k, (((ar, ai), br), bi)) in ra
                .iter_mut()
                .zip(ia.iter_mut())
                .zip(rb2.iter_mut())
                .zip(ib2.iter_mut())
                .enumerate()
            {
                let (c, s) = (pl.cos[k * stride], pl.sin[k * stride]);
                let tr = *br * c - *bi * s;
                let ti = *br * s + *bi * c;
                *br = *ar - tr;
                *bi = *ai - ti;
                *ar += tr;
                *ai += ti;
            }
        }
        len <<= 1;
    }
}

/// The first `nfft / 2 + 1` bins (real, imaginary parts) of the FFT of the real signal `x`
/// zero-padded or truncated to `nfft` (a power of two >= 2), through one complex FFT of half the
/// length.
pub fn rfft(x: &[f64], nfft: usize) -> (Vec<f64>, Vec<f64>) {
    if nfft < 2 || !nfft.is_power_of_two() {
        return (Vec::new(), Vec::new());
    }
    let m = nfft / 2;
    let mut zr = vec![0.0; m];
    let mut zi = vec![0.0; m];
    for (i, &v) in x.iter().take(nfft).enumerate() {
        if i % 2 == 0 {
            zr[i / 2] = v;
        } else {
            zi[i / 2] = v;
        }
    }
    fft_in_place(&mut zr, &mut zi);
    let tw = plan(nfft);
    let mut xr = vec![0.0; m + 1];
    let mut xi = vec![0.0; m + 1];
    for k in 0..=m {
        let (ar, ai) = (zr[k % m], zi[k % m]);
        let (br, bi) = (zr[(m - k) % m], -zi[(m - k) % m]);
        // even part (a + conj b) / 2, odd part (a - conj b) / 2i, twiddled by e^{-2 pi i k / nfft}
        let (er, ei) = ((ar + br) / 2.0, (ai + bi) / 2.0);
        let (dr, di) = ((ar - br) / 2.0, (ai - bi) / 2.0);
        let (or, oi) = (di, -dr);
        let (s, c) = if k < m {
            (tw.sin[k], tw.cos[k])
        } else {
            (0.0, -1.0)
        };
        xr[k] = er + or * c - oi * s;
        xi[k] = ei + or * s + oi * c;
    }
    (xr, xi)
}

/// Magnitudes of the real FFT of `x` zero-padded or truncated to `nfft` (a power of two):
/// `nfft / 2 + 1` values (numpy `abs(rfft(x, n=nfft))`).
pub fn rfft_abs(x: &[f64], nfft: usize) -> Vec<f64> {
    let (re, im) = rfft(x, nfft);
    re.iter()
        .zip(&im)
        .map(|(r, i)| (r * r + i * i).sqrt())
        .collect()
}

/// Largest absolute value of the full cross-correlation of `a` and `b` (scipy `correlate`),
/// computed by FFT.
pub fn max_abs_xcorr(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let n = (a.len() + b.len() - 1).next_power_of_two();
    let (mut ar, mut ai) = (vec![0.0; n], vec![0.0; n]);
    let (mut br, mut bi) = (vec![0.0; n], vec![0.0; n]);
    ar[..a.len()].copy_from_slice(a);
    // correlation = convolution with b reversed
    for (i, &v) in b.iter().rev().enumerate() {
        br[i] = v;
    }
    fft_in_place(&mut ar, &mut ai);
    fft_in_place(&mut br, &mut bi);
    let mut cr = vec![0.0; n];
    let mut ci = vec![0.0; n];
    for k in 0..n {
        cr[k] = ar[k] * br[k] - ai[k] * bi[k];
        // conjugate for the inverse transform
        ci[k] = -(ar[k] * bi[k] + ai[k] * br[k]);
    }
    fft_in_place(&mut cr, &mut ci);
    cr[..a.len() + b.len() - 1]
        .iter()
        .map(|v| (v / n as f64).abs())
        .fold(0.0, f64::max)
}

/// numpy `unwrap(p, period)`.
pub fn unwrap(p: &[f64], period: f64) -> Vec<f64> {
    let mut out = p.to_vec();
    let high = period / 2.0;
    let low = -high;
    let mut corr = 0.0;
    for i in 1..p.len() {
        let dd = p[i] - p[i - 1];
        let mut m = (dd - low) % period;
        if m != 0.0 && m < 0.0 {
            m += period;
        }
        let mut ddmod = m + low;
        if ddmod == low && dd > 0.0 {
            ddmod = high;
        }
        let mut pc = ddmod - dd;
        if dd.abs() < high {
            pc = 0.0;
        }
        corr += pc;
        out[i] = p[i] + corr;
    }
    out
}

/// The FFT length SKDH's `SPARC` uses for `n` samples and `padlevel` (None when out of range).
pub fn sparc_nfft(n: usize, padlevel: u32) -> Option<usize> {
    if n == 0 {
        return None;
    }
    // the Fortran computes the exponent in single precision
    let e = ((n as f32).ln() / 2.0f32.ln()).ceil() as i64 + i64::from(padlevel);
    (0..=30).contains(&e).then(|| 1usize << e)
}

/// SKDH's `SPARC(x, fs, padlevel, fc, amp_thresh)`: spectral arc length of `x` sampled at `fs`
/// Hz, zero-padded by 2^`padlevel`, over the spectrum up to `fc` Hz above `amp_thresh` of its
/// peak. 0 when the spectrum has no usable band.
pub fn sparc(x: &[f64], fs: f64, padlevel: u32, fc: f64, amp_thresh: f64) -> f64 {
    match sparc_nfft(x.len(), padlevel) {
        Some(nfft) => sparc_from_magnitude(rfft_abs(x, nfft), nfft, fs, fc, amp_thresh),
        None => f64::NAN,
    }
}

/// The arc length from the FFT magnitudes (`nfft / 2 + 1` bins of an `nfft`-point FFT).
pub fn sparc_from_magnitude(
    mut mf: Vec<f64>,
    nfft: usize,
    fs: f64,
    fc: f64,
    amp_thresh: f64,
) -> f64 {
    let half = nfft / 2;
    if mf.len() != half + 1 {
        return f64::NAN;
    }
    let ixf = ((fc / (0.5 * fs) * half as f64).ceil() as i64).min(half as i64 + 1);
    let mx = mf.iter().copied().fold(f64::NAN, f64::max);
    for v in &mut mf {
        *v /= mx;
    }
    // 1-based indices as in the Fortran
    let at = |i: i64| mf[(i - 1).clamp(0, mf.len() as i64 - 1) as usize];
    let mut inxi: i64 = 1;
    let mut inxf: i64 = ixf;
    while at(inxi) < amp_thresh && inxi < half as i64 + 1 {
        inxi += 1;
    }
    while at(inxf) < amp_thresh && inxf > 1 {
        inxf -= 1;
    }
    let d = (inxf - inxi) as f64;
    let ff = 1.0 / (d * d);
    let mut sal = 0.0;
    for i in inxi + 1..=inxf {
        let dm = at(i) - at(i - 1);
        sal -= (ff + dm * dm).sqrt();
    }
    sal
}

/// Index of the first maximum (numpy `argmax`); 0 for an empty slice.
pub fn argmax(x: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_with_plateau_height_and_prominence() {
        let x = [0.0, 1.0, 1.0, 0.0, 3.0, 0.5, 2.0, 0.0];
        let (p, _) = find_peaks(&x, PeakOptions::default());
        assert_eq!(p, vec![1, 4, 6]);
        let (p, pr) = find_peaks(
            &x,
            PeakOptions {
                prominence: Some(1.2),
                ..Default::default()
            },
        );
        assert_eq!(p, vec![4, 6]);
        assert_eq!(pr, vec![3.0, 1.5]);
        let (p, _) = find_peaks(
            &x,
            PeakOptions {
                distance: Some(3.0),
                ..Default::default()
            },
        );
        assert_eq!(p, vec![1, 4]);
    }

    #[test]
    fn fft_matches_direct_dft() {
        let x: Vec<f64> = (0..16).map(|i| ((i * 7 % 5) as f64).sin()).collect();
        let m = rfft_abs(&x, 16);
        assert_eq!(m.len(), 9);
        let (fr, fi) = rfft(&x, 16);
        for (k, mk) in m.iter().enumerate() {
            let (mut r, mut i) = (0.0, 0.0);
            for (t, v) in x.iter().enumerate() {
                let a = -2.0 * PI * (k * t) as f64 / 16.0;
                r += v * a.cos();
                i += v * a.sin();
            }
            assert!((mk - (r * r + i * i).sqrt()).abs() < 1e-12);
            assert!((fr[k] - r).abs() < 1e-12 && (fi[k] - i).abs() < 1e-12);
        }
        let a = [1.0, 2.0, 3.0];
        let b = [0.0, 1.0, 0.5];
        // direct: max |sum a[n+k] b[n]| = 1*0.5... lag 0: 2+1.5 = 3.5
        assert!((max_abs_xcorr(&a, &b) - 3.5).abs() < 1e-12);
    }

    #[test]
    fn cumtrapz_detrend_unwrap() {
        assert_eq!(cumtrapz(&[1.0, 1.0, 3.0], 0.5), vec![0.0, 0.5, 1.5]);
        let d = detrend(&[1.0, 3.0, 5.0, 7.0]);
        assert!(d.iter().all(|v| v.abs() < 1e-12));
        let u = unwrap(&[0.0, 1.4, -1.5], PI);
        assert!((u[2] - (-1.5 + PI)).abs() < 1e-12);
    }
}
