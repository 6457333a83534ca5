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
    let mut conv = vec![0.0; n + m - 1];
    convolve_full(data, &filt, &mut conv);
    let sq = scale.sqrt();
    let coef: Vec<f64> = conv.windows(2).map(|w| -sq * (w[1] - w[0])).collect();
    let d = (coef.len() - n) as f64 / 2.0;
    let a = d.floor() as usize;
    let b = d.ceil() as usize;
    coef[a..coef.len() - b].to_vec()
}

/// Full convolution `out[k] = sum_i data[i] * filt[k - i]` (`out.len() == n + m - 1`), each
/// output summed over `i` in ascending order as a plain loop does, so bit-identical to it; eight
/// outputs are summed together (one lane each), with 256-bit vectors when the CPU has them.
fn convolve_full(data: &[f64], filt: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above), the only requirement of
            // calling a function compiled with that target feature.
            unsafe { convolve_full_avx(data, filt, out) };
            return;
        }
    }
    convolve_full_plain(data, filt, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn convolve_full_avx(data: &[f64], filt: &[f64], out: &mut [f64]) {
    convolve_full_plain(data, filt, out);
}

#[inline(always)]
fn convolve_full_plain(data: &[f64], filt: &[f64], out: &mut [f64]) {
    const L: usize = 8;
    let (n, m) = (data.len(), filt.len());
    if n == 0 || m == 0 || out.len() != n + m - 1 {
        return;
    }
    let lo = |k: usize| k.saturating_sub(m - 1);
    let hi = |k: usize| k.min(n - 1);
    let blocks = out.len() / L;
    for blk in 0..blocks {
        let k0 = blk * L;
        let mut s = [0.0; L];
        let (first, last) = (lo(k0), hi(k0 + L - 1));
        // every lane is active on [lo(k0 + L - 1), hi(k0)]; outside it, only some are
        let (c0, c1) = (lo(k0 + L - 1), hi(k0));
        let partial = |i: usize, s: &mut [f64; L]| {
            for (l, sl) in s.iter_mut().enumerate() {
                let k = k0 + l;
                if i >= lo(k) && i <= hi(k) {
                    *sl += data[i] * filt[k - i];
                }
            }
        };
        if c0 <= c1 {
            for i in first..c0 {
                partial(i, &mut s);
            }
            for i in c0..=c1 {
                let d = data[i];
                let f = &filt[k0 - i..k0 - i + L];
                for l in 0..L {
                    s[l] += d * f[l];
                }
            }
            for i in c1 + 1..=last {
                partial(i, &mut s);
            }
        } else {
            for i in first..=last {
                partial(i, &mut s);
            }
        }
        out[k0..k0 + L].copy_from_slice(&s);
    }
    for k in blocks * L..out.len() {
        let mut s = 0.0;
        for i in lo(k)..=hi(k) {
            s += data[i] * filt[k - i];
        }
        out[k] = s;
    }
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
    autocorrelations_into(x, &mut ac[..upto]);
    if biased && n > 0 {
        for (i, a) in ac.iter_mut().enumerate() {
            *a *= (n as f64 - i as f64) / n as f64;
        }
    }
    ac
}

/// `out[i] = autocorrelation(x, i)` for every lag `i < out.len()`, bit for bit, but faster:
/// the sums over `x[..n - lag]` are prefixes of one running sum (the same additions in the same
/// order), and the remaining sums run for [`LAG_LANES`] lags at once, each lane repeating one
/// lag's additions in that lag's order (with 256-bit vectors when the CPU has them).
pub fn autocorrelations_into(x: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above), the only requirement of
            // calling a function compiled with that target feature.
            unsafe { autocorrelations_avx(x, out) };
            return;
        }
    }
    autocorrelations_plain(x, out);
}

/// Lags computed together by [`autocorrelations_into`].
const LAG_LANES: usize = 8;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn autocorrelations_avx(x: &[f64], out: &mut [f64]) {
    autocorrelations_plain(x, out);
}

#[inline(always)]
fn autocorrelations_plain(x: &[f64], out: &mut [f64]) {
    const L: usize = LAG_LANES;
    let n = x.len();
    if n == 0 {
        out.fill(f64::NAN);
        return;
    }
    // running sums of x and of (x - x[0])^2 from the start, as `mean_sd_shifted(&x[..len])`
    // accumulates them: prefix[len] is its sum for that length
    let mut ps = Vec::with_capacity(n + 1);
    let mut pq = Vec::with_capacity(n + 1);
    let (mut s, mut q) = (0.0, 0.0);
    ps.push(s);
    pq.push(q);
    for &v in x {
        s += v;
        q += (v - x[0]) * (v - x[0]);
        ps.push(s);
        pq.push(q);
    }
    let head = |len: usize| -> (f64, f64) {
        let nf = len as f64;
        let ex = ps[len] - nf * x[0];
        (ps[len] / nf, ((pq[len] - ex * ex / nf) / (nf - 1.0)).sqrt())
    };
    let mut i = 0;
    while i < out.len() {
        // the last lag of the block must leave at least 2 samples (else NaN, done plainly)
        if i + L > out.len() || i + L >= n {
            out[i] = autocorrelation(x, i);
            i += 1;
            continue;
        }
        // tail statistics of x[lag..] for the L lags i..i+L
        let first: [f64; L] = std::array::from_fn(|l| x[i + l]);
        let mut s = [0.0; L];
        let mut s2 = [0.0; L];
        for (k, &xk) in x.iter().enumerate().take(i + L - 1).skip(i) {
            for l in 0..L {
                if k >= i + l {
                    s[l] += xk;
                    s2[l] += (xk - first[l]) * (xk - first[l]);
                }
            }
        }
        for &xk in &x[i + L - 1..] {
            for l in 0..L {
                let d = xk - first[l];
                s[l] += xk;
                s2[l] += d * d;
            }
        }
        let mut m1 = [0.0; L];
        let mut sd1 = [0.0; L];
        let mut m2 = [0.0; L];
        let mut sd2 = [0.0; L];
        for l in 0..L {
            let len = n - (i + l);
            (m1[l], sd1[l]) = head(len);
            let nf = len as f64;
            let ex = s[l] - nf * first[l];
            m2[l] = s[l] / nf;
            sd2[l] = ((s2[l] - ex * ex / nf) / (nf - 1.0)).sqrt();
        }
        // sum over k < n - lag of (x[k] - m1) (x[k + lag] - m2); the shortest lane ends first
        let mut ac = [0.0; L];
        let common = n - (i + L - 1);
        for k in 0..common {
            let a = x[k];
            let b = &x[k + i..k + i + L];
            for l in 0..L {
                ac[l] += (a - m1[l]) * (b[l] - m2[l]);
            }
        }
        for k in common..n - i {
            for l in 0..L {
                if k < n - (i + l) {
                    ac[l] += (x[k] - m1[l]) * (x[k + i + l] - m2[l]);
                }
            }
        }
        for l in 0..L {
            let lag = i + l;
            out[lag] = ac[l] / ((n - lag - 1) as f64 * sd1[l] * sd2[l]);
        }
        i += L;
    }
}

/// Twiddle factors and bit-reversal permutation of one radix-2 FFT size, and each stage's
/// twiddles laid out contiguously (the same values) so the butterflies vectorise.
struct FftPlan {
    cos: Vec<f64>,
    sin: Vec<f64>,
    rev: Vec<usize>,
    /// Per stage (block length 2, 4, ... n): cos and sin of its butterflies.
    stages: Vec<(Vec<f64>, Vec<f64>)>,
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
        let (sin, cos): (Vec<f64>, Vec<f64>) = (0..n / 2)
            .map(|k| (-2.0 * PI * k as f64 / n as f64).sin_cos())
            .unzip();
        let mut stages = Vec::new();
        let mut len = 2;
        while len <= n {
            let stride = n / len;
            stages.push((
                (0..len / 2).map(|k| cos[k * stride]).collect(),
                (0..len / 2).map(|k| sin[k * stride]).collect(),
            ));
            len <<= 1;
        }
        Self {
            cos,
            sin,
            rev,
            stages,
        }
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
    stages_in_place(re, im, &pl.stages);
}

/// All radix-2 stages of [`fft_in_place`] after the bit reversal, with 256-bit vectors when the
/// CPU has them (the same operations: Rust never fuses a multiply and an add).
fn stages_in_place(re: &mut [f64], im: &mut [f64], stages: &[(Vec<f64>, Vec<f64>)]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above), the only requirement of
            // calling a function compiled with that target feature.
            unsafe { stages_avx(re, im, stages) };
            return;
        }
    }
    for (c, s) in stages {
        butterflies_plain(re, im, c, s);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn stages_avx(re: &mut [f64], im: &mut [f64], stages: &[(Vec<f64>, Vec<f64>)]) {
    for (c, s) in stages {
        butterflies_plain(re, im, c, s);
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

/// A planned real FFT of `nfft` points (a power of two >= 2) for signals shorter than `nfft`
/// (zero-padded, or truncated when longer), reused window after window without allocating.
/// Returns the same values as [`rfft`] bit for bit (up to the sign of zeros): the butterflies
/// are the same operations on the same twiddles, but the first stages, which with few non-zero
/// inputs only copy them, are replaced by filling each block with its one input, and each
/// stage's twiddles are contiguous so the butterflies vectorise.
#[derive(Debug, Clone)]
pub struct PaddedRfft {
    nfft: usize,
    /// Per stage (block length 2, 4, ... nfft / 2): the twiddles of its butterflies.
    stage_cos: Vec<Vec<f64>>,
    stage_sin: Vec<Vec<f64>>,
    /// Twiddles of the real-to-complex post-processing (bins 0..nfft / 2).
    post_cos: Vec<f64>,
    post_sin: Vec<f64>,
    zr: Vec<f64>,
    zi: Vec<f64>,
    re: Vec<f64>,
    im: Vec<f64>,
}

impl PaddedRfft {
    /// A plan for `nfft` points; None unless `nfft` is a power of two >= 2.
    pub fn new(nfft: usize) -> Option<Self> {
        if nfft < 2 || !nfft.is_power_of_two() {
            return None;
        }
        let m = nfft / 2;
        // the very twiddle tables `fft_in_place` and `rfft` read, so every product is the same
        let (stage_cos, stage_sin) = FftPlan::new(m).stages.into_iter().unzip();
        let full = FftPlan::new(nfft);
        Some(Self {
            nfft,
            stage_cos,
            stage_sin,
            post_cos: full.cos,
            post_sin: full.sin,
            zr: vec![0.0; m],
            zi: vec![0.0; m],
            re: vec![0.0; m + 1],
            im: vec![0.0; m + 1],
        })
    }

    /// The FFT length.
    pub fn nfft(&self) -> usize {
        self.nfft
    }

    /// Bins 0..=nfft/2 (real, imaginary parts) of the FFT of `x` zero-padded or truncated to
    /// `nfft`, as [`rfft`].
    pub fn transform(&mut self, x: &[f64]) -> (&[f64], &[f64]) {
        self.run::<false>(x);
        (&self.re, &self.im)
    }

    /// The power spectrum `re^2 + im^2` of bins 0..=nfft/2 of `x` (see [`Self::transform`])
    /// into `out` (resized).
    pub fn power_into(&mut self, x: &[f64], out: &mut Vec<f64>) {
        self.run::<true>(x);
        out.clear();
        out.resize(self.nfft / 2 + 1, 0.0);
        // both hold nfft/2 + 1 values: hand over the spectrum without copying it
        std::mem::swap(out, &mut self.re);
    }

    /// The transform into `re`/`im`, or with `power` the power spectrum into `re`; with 256-bit
    /// vectors when the CPU has them (Rust never fuses a multiply and an add, so vector and
    /// scalar code give the same bits).
    fn run<const POWER: bool>(&mut self, x: &[f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx") {
                // SAFETY: the CPU supports AVX (checked just above), the only requirement of
                // calling a function compiled with that target feature.
                unsafe { self.run_avx::<POWER>(x) };
                return;
            }
        }
        self.run_plain::<POWER>(x);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    fn run_avx<const POWER: bool>(&mut self, x: &[f64]) {
        self.run_plain::<POWER>(x);
    }

    #[inline(always)]
    fn run_plain<const POWER: bool>(&mut self, x: &[f64]) {
        let m = self.nfft / 2;
        let x = &x[..x.len().min(self.nfft)];
        // the complex input z[i] = x[2i] + i x[2i+1] is non-zero only below `nz`
        let nz = x.len().div_ceil(2);
        // Largest block length whose blocks each hold at most one non-zero input: the
        // bit-reversed sub-sequences of a block of length `b` are `m / b` apart.
        let mut block = 1;
        while block < m && m / (block * 2) >= nz.max(1) {
            block *= 2;
        }
        let nblocks = m / block;
        let bits = nblocks.trailing_zeros();
        for j in 0..nblocks {
            let r = if bits == 0 {
                0
            } else {
                j.reverse_bits() >> (usize::BITS - bits)
            };
            let (vr, vi) = if r < nz {
                (x[2 * r], x.get(2 * r + 1).copied().unwrap_or(0.0))
            } else {
                (0.0, 0.0)
            };
            self.zr[j * block..(j + 1) * block].fill(vr);
            self.zi[j * block..(j + 1) * block].fill(vi);
        }
        let first_stage = block.trailing_zeros() as usize;
        for s in first_stage..self.stage_cos.len() {
            butterflies_plain(
                &mut self.zr,
                &mut self.zi,
                &self.stage_cos[s],
                &self.stage_sin[s],
            );
        }
        // Real-to-complex split, the operations of `rfft`. Bin k pairs z[k] with the conjugate
        // of z[(m - k) % m]; the partner is stored reversed in `re`/`im` first so that the loop
        // over k runs over contiguous slices (and vectorises).
        let (zr, zi) = (&self.zr, &self.zi);
        let (pr, pi) = (&mut self.re, &mut self.im);
        pr[0] = zr[0];
        pi[0] = -zi[0];
        for k in 1..m {
            pr[k] = zr[m - k];
            pi[k] = -zi[m - k];
        }
        let split = |ar: f64, ai: f64, br: f64, bi: f64, c: f64, s: f64| {
            let (er, ei) = ((ar + br) / 2.0, (ai + bi) / 2.0);
            let (dr, di) = ((ar - br) / 2.0, (ai - bi) / 2.0);
            let (or, oi) = (di, -dr);
            (er + or * c - oi * s, ei + or * s + oi * c)
        };
        let (lr, li) = split(zr[0], zi[0], zr[0], -zi[0], -1.0, 0.0);
        let (cos, sin) = (&self.post_cos[..m], &self.post_sin[..m]);
        let (pr, pi) = (&mut pr[..m], &mut pi[..m]);
        let (zr, zi) = (&zr[..m], &zi[..m]);
        for k in 0..m {
            let (r, i) = split(zr[k], zi[k], pr[k], pi[k], cos[k], sin[k]);
            if POWER {
                pr[k] = r * r + i * i;
            } else {
                pr[k] = r;
                pi[k] = i;
            }
        }
        if POWER {
            self.re[m] = lr * lr + li * li;
        } else {
            self.re[m] = lr;
            self.im[m] = li;
        }
    }
}

/// One radix-2 stage over all blocks of `2 * cos.len()` points: the butterfly of
/// [`fft_in_place`] (same operations, so the same results) on contiguous twiddles.
#[inline(always)]
fn butterflies_plain(re: &mut [f64], im: &mut [f64], cos: &[f64], sin: &[f64]) {
    let half = cos.len();
    if half == 0 || sin.len() != half {
        return;
    }
    for (rb, ib) in re
        .chunks_exact_mut(2 * half)
        .zip(im.chunks_exact_mut(2 * half))
    {
        let (ra, rb2) = rb.split_at_mut(half);
        let (ia, ib2) = ib.split_at_mut(half);
        for k in 0..half {
            let (c, s) = (cos[k], sin[k]);
            let (br, bi) = (rb2[k], ib2[k]);
            let tr = br * c - bi * s;
            let ti = br * s + bi * c;
            rb2[k] = ra[k] - tr;
            ib2[k] = ia[k] - ti;
            ra[k] += tr;
            ia[k] += ti;
        }
    }
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

/// [`sparc_from_magnitude`] from the power spectrum (`|X|^2` of the `nfft / 2 + 1` bins), with
/// identical results: the magnitudes are taken only where the arc length reads them (the peak
/// magnitude is the root of the peak power, `sqrt` being monotonic and correctly rounded).
pub fn sparc_from_power(power: &[f64], nfft: usize, fs: f64, fc: f64, amp_thresh: f64) -> f64 {
    sparc_from_power_in(power, nfft, fs, fc, amp_thresh, &mut Vec::new())
}

/// [`sparc_from_power`] with a reusable scratch buffer.
pub fn sparc_from_power_in(
    power: &[f64],
    nfft: usize,
    fs: f64,
    fc: f64,
    amp_thresh: f64,
    scratch: &mut Vec<f64>,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above), the only requirement of
            // calling a function compiled with that target feature.
            return unsafe { sparc_power_avx(power, nfft, fs, fc, amp_thresh, scratch) };
        }
    }
    sparc_power_plain(power, nfft, fs, fc, amp_thresh, scratch)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn sparc_power_avx(
    power: &[f64],
    nfft: usize,
    fs: f64,
    fc: f64,
    amp_thresh: f64,
    scratch: &mut Vec<f64>,
) -> f64 {
    sparc_power_plain(power, nfft, fs, fc, amp_thresh, scratch)
}

/// `fold(NaN, f64::max)` of non-negative or NaN values, in four independent lanes (the
/// maximum is exact in any order; NaN is skipped as `f64::max` skips it).
#[inline(always)]
fn max_skip_nan(x: &[f64]) -> f64 {
    let mut lanes = [f64::NEG_INFINITY; 4];
    let chunks = x.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            if c[l] > lanes[l] {
                lanes[l] = c[l];
            }
        }
    }
    let mut m = f64::NEG_INFINITY;
    for &v in lanes.iter().chain(rest) {
        if v > m {
            m = v;
        }
    }
    if m == f64::NEG_INFINITY {
        // only NaN (or -inf, impossible for a power): let f64::max decide as before
        return x.iter().copied().fold(f64::NAN, f64::max);
    }
    m
}

#[inline(always)]
fn sparc_power_plain(
    power: &[f64],
    nfft: usize,
    fs: f64,
    fc: f64,
    amp_thresh: f64,
    scratch: &mut Vec<f64>,
) -> f64 {
    let half = nfft / 2;
    if power.len() != half + 1 {
        return f64::NAN;
    }
    let ixf = ((fc / (0.5 * fs) * half as f64).ceil() as i64).min(half as i64 + 1);
    let mx = max_skip_nan(power).sqrt();
    let last = power.len() as i64 - 1;
    let at = |i: i64| power[(i - 1).clamp(0, last) as usize].sqrt() / mx;
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
    if inxf <= inxi {
        return 0.0;
    }
    // the normalised magnitudes of 1-based bins inxi..=inxf (in range: 1 <= inxi < inxf <=
    // half + 1), then each step's arc length; only the final sum runs in sequence
    let (a, b) = ((inxi - 1) as usize, inxf as usize);
    let n = b - a;
    scratch.clear();
    scratch.resize(2 * n - 1, 0.0);
    let (mags, steps) = scratch.split_at_mut(n);
    for (m, p) in mags.iter_mut().zip(&power[a..b]) {
        *m = p.sqrt() / mx;
    }
    for (t, w) in steps.iter_mut().zip(mags.windows(2)) {
        let dm = w[1] - w[0];
        *t = (ff + dm * dm).sqrt();
    }
    let mut sal = 0.0;
    for &t in steps.iter() {
        sal -= t;
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
    fn padded_rfft_and_sparc_from_power_match_the_plain_ones_bit_for_bit() {
        assert!(PaddedRfft::new(12).is_none());
        for nfft in [2usize, 4, 64, 1024, 4096] {
            let mut p = PaddedRfft::new(nfft).unwrap();
            for len in [0usize, 1, 2, 3, 7, 60, 75, 150, 151, 1000, 5000] {
                let x: Vec<f64> = (0..len)
                    .map(|i| ((i * 37 % 101) as f64 * 0.37).sin() + 0.01 * i as f64)
                    .collect();
                let (er, ei) = rfft(&x, nfft);
                let (gr, gi) = p.transform(&x);
                for k in 0..er.len() {
                    // equal values (a zero may differ in sign only)
                    assert!(
                        er[k] == gr[k] && ei[k] == gi[k],
                        "nfft {nfft} len {len} bin {k}"
                    );
                }
                let mut pw = Vec::new();
                p.power_into(&x, &mut pw);
                let mag = rfft_abs(&x, nfft);
                let a = sparc_from_magnitude(mag, nfft, 50.0, 10.0, 0.05);
                let b = sparc_from_power(&pw, nfft, 50.0, 10.0, 0.05);
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
            }
        }
    }

    /// The radix-2 FFT as first written (twiddles read with a stride), the reference for the
    /// per-stage layout.
    fn fft_strided(re: &mut [f64], im: &mut [f64]) {
        let n = re.len();
        let pl = FftPlan::new(n);
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
            for b in (0..n).step_by(len) {
                for k in 0..half {
                    let (c, s) = (pl.cos[k * stride], pl.sin[k * stride]);
                    let (br, bi) = (re[b + half + k], im[b + half + k]);
                    let tr = br * c - bi * s;
                    let ti = br * s + bi * c;
                    re[b + half + k] = re[b + k] - tr;
                    im[b + half + k] = im[b + k] - ti;
                    re[b + k] += tr;
                    im[b + k] += ti;
                }
            }
            len <<= 1;
        }
    }

    #[test]
    fn fft_and_autocorrelations_are_bit_identical_to_the_plain_loops() {
        for n in [2usize, 8, 256, 4096] {
            let x: Vec<f64> = (0..n).map(|i| ((i * 13 % 29) as f64 * 0.7).cos()).collect();
            let y: Vec<f64> = (0..n).map(|i| ((i * 5 % 11) as f64 * 0.3).sin()).collect();
            let (mut ar, mut ai) = (x.clone(), y.clone());
            let (mut br, mut bi) = (x, y);
            fft_in_place(&mut ar, &mut ai);
            fft_strided(&mut br, &mut bi);
            assert!(ar.iter().zip(&br).all(|(a, b)| a == b));
            assert!(ai.iter().zip(&bi).all(|(a, b)| a == b));
        }
        for n in [0usize, 1, 5, 11, 12, 30, 250, 1001] {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 37 % 101) as f64 * 0.37).sin() + 0.001 * i as f64)
                .collect();
            let mut out = vec![0.0; n + 3];
            autocorrelations_into(&x, &mut out);
            for (lag, v) in out.iter().enumerate() {
                let e = autocorrelation(&x, lag);
                assert!(
                    v.to_bits() == e.to_bits() || (v.is_nan() && e.is_nan()),
                    "{n} {lag}"
                );
            }
        }
    }

    #[test]
    fn blocked_convolution_equals_the_plain_sum() {
        for (n, m) in [
            (1usize, 1usize),
            (3, 20),
            (20, 3),
            (9, 9),
            (100, 21),
            (500, 201),
            (37, 8),
        ] {
            let d: Vec<f64> = (0..n).map(|i| ((i * 7 % 13) as f64 * 0.9).sin()).collect();
            let f: Vec<f64> = (0..m).map(|i| ((i * 3 % 17) as f64 * 0.4).cos()).collect();
            let mut out = vec![0.0; n + m - 1];
            convolve_full(&d, &f, &mut out);
            for (k, v) in out.iter().enumerate() {
                let mut s = 0.0;
                for i in k.saturating_sub(m - 1)..=k.min(n - 1) {
                    s += d[i] * f[k - i];
                }
                assert_eq!(v.to_bits(), s.to_bits(), "{n} {m} {k}");
            }
        }
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
