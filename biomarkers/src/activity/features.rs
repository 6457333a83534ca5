//! Signal features of a 1-D series, as SKDH's `features` bank computes them (its compiled
//! routines reproduced step by step): signal, sample and permutation entropy, power spectral
//! sum, spectral flatness and entropy (on a zero-padded FFT), and SPARC smoothness.

use std::f64::consts::PI;

/// Twiddle factors of a radix-2 FFT of one size: for each stage (butterfly span 2, 4, ... n),
/// `exp(-2 pi i k / span)` for `k < span / 2`, each computed directly (not by recurrence) to keep
/// the error at a few ulp. The signal features run thousands of same-length FFTs per day, so
/// the tables are made once per length (see [`twiddles`]).
struct Twiddles {
    stages: Vec<Vec<(f64, f64)>>,
}

impl Twiddles {
    fn new(n: usize) -> Self {
        let mut stages = Vec::new();
        let mut len = 2;
        while len <= n {
            let ang = -2.0 * PI / len as f64;
            stages.push(
                (0..len / 2)
                    .map(|k| ((ang * k as f64).cos(), (ang * k as f64).sin()))
                    .collect(),
            );
            len <<= 1;
        }
        Self { stages }
    }
}

/// Most lengths a thread keeps tables for; a day uses a handful (3 window lengths, 2 pads).
const TWIDDLE_CACHE_MAX: usize = 16;

thread_local! {
    static TWIDDLES: std::cell::RefCell<Vec<(usize, std::rc::Rc<Twiddles>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The twiddle tables for length `n`, made on first use in this thread.
fn twiddles(n: usize) -> std::rc::Rc<Twiddles> {
    TWIDDLES.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((_, t)) = c.iter().find(|(m, _)| *m == n) {
            return t.clone();
        }
        if c.len() >= TWIDDLE_CACHE_MAX {
            c.remove(0);
        }
        let t = std::rc::Rc::new(Twiddles::new(n));
        c.push((n, t.clone()));
        t
    })
}

/// In-place radix-2 complex FFT (forward, unnormalised); `re.len()` must be a power of two.
fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    if n <= 1 {
        return;
    }
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let tw = twiddles(n);
    fft_stages(re, im, &tw.stages, 2);
}

/// The butterfly stages of [`fft`] from span `len` on (`stages` the twiddles of those spans),
/// on bit-reversed data.
fn fft_stages(re: &mut [f64], im: &mut [f64], stages: &[Vec<(f64, f64)>], mut len: usize) {
    let n = re.len();
    for stage in stages {
        let half = len / 2;
        let mut s = 0;
        while s < n {
            for (k, &(wr, wi)) in stage.iter().enumerate() {
                let (a, b) = (s + k, s + k + half);
                let xr = re[b] * wr - im[b] * wi;
                let xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
            s += len;
        }
        len <<= 1;
    }
}

/// |X_k|^2 for k = 0..=n/2 of the zero-padded length-`n` DFT of `x` (`n` a power of two).
///
/// The padding makes the first stages of the radix-2 FFT trivial: after the bit-reversal
/// permutation only the first element of each group of `2^s` can be non-zero when
/// `x.len() <= n >> s`, and a butterfly with a zero operand returns its other operand
/// unchanged (up to the sign of zeros, which the squares drop), so after `s` stages every
/// element of a group holds the group's first value. Those stages are written down directly;
/// the remaining ones run as in [`fft`], so the values are bit-identical to the full FFT.
fn power_spectrum(x: &[f64], n: usize) -> Vec<f64> {
    let m = x.len().min(n);
    if !n.is_power_of_two() || n < 2 {
        let mut re = vec![0.0; n];
        let mut im = vec![0.0; n];
        re[..m].copy_from_slice(&x[..m]);
        fft(&mut re, &mut im);
        return (0..=n / 2).map(|k| re[k] * re[k] + im[k] * im[k]).collect();
    }
    let bits = n.trailing_zeros();
    // trivial stages: the most with m <= n >> s (at least one sample per group needed)
    let mut s = 0u32;
    while s < bits && m <= n >> (s + 1) {
        s += 1;
    }
    let group = 1usize << s;
    let mut re = vec![0.0; n];
    let im_len = n;
    let mut im = vec![0.0; im_len];
    for g in 0..n / group {
        // the original index at the group's first (bit-reversed) position
        // (With every stage trivial there is one group, the first; a shift by the full
        // width would overflow.)
        let src = if bits > s {
            g.reverse_bits() >> (usize::BITS - (bits - s))
        } else {
            0
        };
        let v = if src < m { x[src] } else { 0.0 };
        re[g * group..(g + 1) * group].fill(v);
    }
    let tw = twiddles(n);
    fft_stages(&mut re, &mut im, &tw.stages[s as usize..], group << 1);
    (0..=n / 2).map(|k| re[k] * re[k] + im[k] * im[k]).collect()
}

/// Signal entropy (histogram estimate with bias correction; SKDH `SignalEntropy`).
pub fn signal_entropy(x: &[f64]) -> f64 {
    let n = x.len();
    if n == 0 {
        return f64::NAN;
    }
    let x1 = x[0];
    let mut sum = 0.0;
    let mut ex2 = 0.0;
    for &v in x {
        sum += v;
        ex2 += (v - x1) * (v - x1);
    }
    let nf = n as f64;
    let ex = sum - nf * x1;
    let mut sd = ((ex2 - ex * ex / nf) / (nf - 1.0)).sqrt();
    if sd == 0.0 {
        sd = 1.0;
    }
    let k = nf.sqrt().ceil() as usize;
    let mn = x.iter().copied().fold(f64::INFINITY, f64::min);
    let mx = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let delta = (mx - mn) / (nf - 1.0);
    let mut d1 = mn - delta / 2.0;
    let mut d2 = mx + delta / 2.0;
    let d3 = k as f64;
    let mut h = vec![0i64; k.max(1)];
    let mut bw = (mx - mn) / k as f64;
    if bw == 0.0 {
        bw = 1.0;
    }
    for &v in x {
        if !v.is_nan() {
            let idx = (((v - mn) / bw) as usize).min(k.max(1) - 1);
            h[idx] += 1;
        }
    }
    d1 /= sd;
    d2 /= sd;
    if d1 == d2 {
        return 0.0;
    }
    let mut cnt = 0.0;
    let mut est = 0.0;
    for &c in &h {
        let logf = if c > 0 { (c as f64).ln() } else { 0.0 };
        cnt += c as f64;
        est -= c as f64 * logf;
    }
    let nbias = -(d3 - 1.0) / (2.0 * cnt);
    let est = est / cnt + cnt.ln() + ((d2 - d1) / d3).ln() - nbias;
    (est * est).exp() - 2.0
}

/// Sample entropy with template length `m` and tolerance `r` (SKDH `SampleEntropy`).
pub fn sample_entropy(x: &[f64], m: usize, r: f64) -> f64 {
    let n = x.len();
    let mut run = vec![0u32; n + 1];
    #[cfg(target_arch = "x86_64")]
    let (a, b) = if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of calling
        // a function compiled with that target feature.
        unsafe { sample_entropy_counts_avx2(x, m, r, &mut run) }
    } else {
        sample_entropy_counts(x, m, r, &mut run)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (a, b) = sample_entropy_counts(x, m, r, &mut run);
    // SKDH counts in floating point; counts below 2^53 are exact either way
    let (a, b) = (a as f64, b as f64);
    if m == 1 {
        -(a / (n as f64 * (n as f64 - 1.0) / 2.0)).ln()
    } else {
        -(a / b).ln()
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sample_entropy_counts_avx2(x: &[f64], m: usize, r: f64, run: &mut [u32]) -> (u64, u64) {
    sample_entropy_counts(x, m, r, run)
}

/// The two match counts of SKDH's sample entropy loop (templates of length `m` and `m + 1`
/// within `r`), written without branches so that the inner loop vectorises; `run` holds
/// `x.len() + 1` zeros.
#[inline(always)]
fn sample_entropy_counts(x: &[f64], m: usize, r: f64, run: &mut [u32]) -> (u64, u64) {
    let n = x.len();
    let (mut a, mut b) = (0u64, 0u64);
    // run lengths never exceed n, so comparing them as u32 is exact for any slice that fits
    let m32 = u32::try_from(m).unwrap_or(u32::MAX);
    for i in 1..n {
        let x1 = x[i - 1];
        // pairs (i - 1, i2 - 1) for i2 = i + 1 ..= n, run lengths in run[1 ..= n - i]; the
        // last pair (i2 == n) counts towards `a` only
        let len = n - i;
        let xs = &x[i..i + len];
        let rs = &mut run[1..=len];
        let (mut ca, mut cb) = (0u32, 0u32);
        for (rv, &xv) in rs.iter_mut().zip(xs) {
            let hit = (xv - x1).abs() < r;
            let nv = if hit { *rv + 1 } else { 0 };
            *rv = nv;
            ca += u32::from(hit & (nv >= m32));
            cb += u32::from(hit & (nv.saturating_add(1) >= m32));
        }
        // the last pair has no successor sample (i2 == n): take it back out of `b`
        let last = rs[len - 1];
        cb -= u32::from(last != 0 && last.saturating_add(1) >= m32);
        a += u64::from(ca);
        b += u64::from(cb);
    }
    (a, b)
}

/// Permutation entropy of `order` and `delay`, optionally normalised by log2(order!)
/// (SKDH `PermutationEntropy`).
pub fn permutation_entropy(x: &[f64], order: usize, delay: usize, normalize: bool) -> f64 {
    let n = x.len();
    let span = (order - 1) * delay;
    if order == 0 || n <= span {
        return f64::NAN;
    }
    let nsi = n - span;
    let mut hashes: Vec<f64> = Vec::with_capacity(nsi);
    let mut vals = vec![0.0; order];
    let mut idx = vec![0usize; order];
    for i in 0..nsi {
        for j in 0..order {
            vals[j] = x[i + j * delay];
            idx[j] = j;
        }
        // stable insertion sort, as SKDH's
        for j in 1..order {
            let (t, ti) = (vals[j], idx[j]);
            let mut jj = j;
            while jj > 0 && vals[jj - 1] > t {
                vals[jj] = vals[jj - 1];
                idx[jj] = idx[jj - 1];
                jj -= 1;
            }
            vals[jj] = t;
            idx[jj] = ti;
        }
        let mut h = 0.0;
        for (j, &k) in idx.iter().enumerate() {
            h += (order.pow(j as u32) * k) as f64;
        }
        hashes.push(h);
    }
    hashes.sort_by(f64::total_cmp);
    let mut counts: Vec<f64> = Vec::new();
    let mut prev = f64::NAN;
    for h in hashes {
        if h != prev {
            counts.push(1.0);
            prev = h;
        } else if let Some(c) = counts.last_mut() {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    let log2 = 2f64.ln();
    let mut pe = 0.0;
    for c in &counts {
        let p = c / total;
        pe += p * p.ln() / log2;
    }
    let mut pe = -pe;
    if normalize {
        let fact: f64 = (1..=order).map(|i| i as f64).product();
        pe /= fact.ln() / log2;
    }
    pe
}

/// FFT size SKDH's spectral features use for `n` samples and a pad level.
fn spectral_nfft(n: usize, padlevel: i32) -> usize {
    let e = ((n as f64).ln() / 2f64.ln()).ceil() as i32 - 1 + padlevel;
    2f64.powi(e) as usize
}

/// Normalised power spectrum and the 1-based `[ilcut, ihcut]` range for the spectral features.
fn normalised_spectrum(
    x: &[f64],
    fs: f64,
    padlevel: i32,
    lo: f64,
    hi: f64,
) -> (Vec<f64>, usize, usize) {
    let nfft = spectral_nfft(x.len(), padlevel);
    let nf = nfft as f64;
    let mut ihcut = ((hi / (fs / 2.0) * (nf - 1.0) + 1.0).floor() as i64).min(nfft as i64 + 1);
    let ilcut = ((lo / (fs / 2.0) * (nf - 1.0) + 1.0).ceil() as i64).max(1);
    if ihcut > nfft as i64 {
        ihcut = nfft as i64;
    }
    let mut sp = power_spectrum(x, 2 * nfft);
    let (il, ih) = (ilcut.max(1) as usize, ihcut.max(1) as usize);
    let total: f64 = if il <= ih {
        sp[il - 1..ih].iter().sum()
    } else {
        0.0
    };
    for v in &mut sp {
        *v = *v / total + 1e-10;
    }
    (sp, il, ih)
}

/// A normalised spectrum and its 1-based band `[il, ih]`, shared by the three spectral
/// features so that a window needs one FFT for all of them.
struct BandSpectrum {
    sp: Vec<f64>,
    il: usize,
    ih: usize,
    nfft: usize,
}

impl BandSpectrum {
    fn new(x: &[f64], fs: f64, padlevel: i32, lo: f64, hi: f64) -> Self {
        let (sp, il, ih) = normalised_spectrum(x, fs, padlevel, lo, hi);
        Self {
            sp,
            il,
            ih,
            nfft: spectral_nfft(x.len(), padlevel),
        }
    }

    /// The band's values (empty when the band is empty).
    fn band(&self) -> &[f64] {
        self.sp
            .get(self.il.saturating_sub(1)..self.ih)
            .unwrap_or(&[])
    }

    fn power_sum(&self, fs: f64) -> f64 {
        let (sp, il, ih) = (&self.sp, self.il, self.ih);
        if il > ih {
            return 0.0;
        }
        let mut imax = il;
        for i in il..=ih {
            if sp[i - 1] > sp[imax - 1] {
                imax = i;
            }
        }
        let nf = self.nfft as f64;
        let w_lo = (0.5 * nf / fs * 2.0).ceil() as i64;
        let w_hi = (0.5 * nf / fs * 2.0).floor() as i64;
        let l = (imax as i64 - w_lo).max(1) as usize;
        let h = (imax as i64 + w_hi).min(self.nfft as i64) as usize;
        (l..=h).map(|i| sp[i - 1]).sum()
    }

    fn entropy(&self) -> f64 {
        let log2 = 2f64.ln();
        let cut = ((self.ih as f64 - self.il as f64 + 1.0).ln()) / log2;
        let mut s = 0.0;
        for &v in self.band() {
            s -= v.ln() / log2 * v;
        }
        s / cut
    }

    fn flatness(&self) -> f64 {
        let band = self.band();
        let cnt = band.len() as f64;
        let mean = band.iter().sum::<f64>() / cnt;
        let mut logsum = 0.0;
        let mut prod = 1.0;
        for &v in band {
            prod *= v;
            if !(1e-64..=1e64).contains(&prod) {
                logsum += prod.ln();
                prod = 1.0;
            }
        }
        let gm = ((logsum + prod.ln()) / cnt).exp();
        10.0 * (gm / mean).ln() / 10f64.ln()
    }
}

/// Sum of the normalised power within +/- 0.5 Hz of the dominant frequency
/// (SKDH `PowerSpectralSum`).
pub fn power_spectral_sum(x: &[f64], fs: f64, padlevel: i32, lo: f64, hi: f64) -> f64 {
    BandSpectrum::new(x, fs, padlevel, lo, hi).power_sum(fs)
}

/// Spectral entropy of the normalised spectrum, normalised by log2 of the number of bins
/// (SKDH `SpectralEntropy`).
pub fn spectral_entropy(x: &[f64], fs: f64, padlevel: i32, lo: f64, hi: f64) -> f64 {
    BandSpectrum::new(x, fs, padlevel, lo, hi).entropy()
}

/// Spectral flatness in dB: geometric over arithmetic mean of the normalised spectrum
/// (SKDH `SpectralFlatness`).
pub fn spectral_flatness(x: &[f64], fs: f64, padlevel: i32, lo: f64, hi: f64) -> f64 {
    BandSpectrum::new(x, fs, padlevel, lo, hi).flatness()
}

/// [`power_spectral_sum`], [`spectral_flatness`] and [`spectral_entropy`] of one window from a
/// single FFT (same values as the three calls).
pub fn spectral_features(x: &[f64], fs: f64, padlevel: i32, lo: f64, hi: f64) -> [f64; 3] {
    let b = BandSpectrum::new(x, fs, padlevel, lo, hi);
    [b.power_sum(fs), b.flatness(), b.entropy()]
}

/// Sum of the normalised power in `[lo, hi]` Hz over the power (or modulus) of the whole
/// one-sided spectrum, from bin 0 or (with `demean`) bin 1 (SKDH `RangePowerSum` with
/// `normalize`), of the length-`2 nfft` zero-padded FFT; a ratio, no unit. Without `normalize`
/// the sum itself (units of the squared FFT, whose scale SKDH's real FFT fixes: not offered).
pub fn range_power_sum_normalised(
    x: &[f64],
    fs: f64,
    padlevel: i32,
    lo: f64,
    hi: f64,
    demean: bool,
    use_modulus: bool,
) -> f64 {
    let nfft = spectral_nfft(x.len(), padlevel);
    let nf = nfft as f64;
    let ihcut = ((hi / (fs / 2.0) * (nf - 1.0) + 1.0).floor() as i64)
        .min(nfft as i64 + 1)
        .min(nfft as i64);
    let ilcut = ((lo / (fs / 2.0) * (nf - 1.0) + 1.0).ceil() as i64).max(1);
    let mut sp = power_spectrum(x, 2 * nfft);
    if use_modulus {
        for v in &mut sp {
            *v = v.sqrt();
        }
    }
    let sum = |a: i64, b: i64| -> f64 {
        if a > b || a < 1 {
            0.0
        } else {
            sp[(a - 1) as usize..(b as usize).min(sp.len())]
                .iter()
                .sum()
        }
    };
    let istart = if demean { 2 } else { 1 };
    sum(ilcut, ihcut) / sum(istart, nfft as i64)
}

/// Spectral arc length (SPARC) smoothness (SKDH `SPARC`).
pub fn sparc(x: &[f64], fs: f64, padlevel: i32, fc: f64, amp_thresh: f64) -> f64 {
    let n = x.len();
    // SKDH sizes this FFT with single-precision logarithms
    let e = ((n as f32).ln() / 2f32.ln()).ceil() as i32 + padlevel;
    let nfft = 2f64.powi(e) as usize;
    let half = nfft / 2;
    let ixf = ((fc / (0.5 * fs) * half as f64).ceil() as i64).min(half as i64 + 1) as usize;
    let mut mf: Vec<f64> = power_spectrum(x, nfft).into_iter().map(f64::sqrt).collect();
    let mx = mf.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for v in &mut mf {
        *v /= mx;
    }
    let mut inxi = 1usize;
    let mut inxf = ixf.max(1);
    while mf[inxi - 1] < amp_thresh && inxi < half + 1 {
        inxi += 1;
    }
    while mf[inxf - 1] < amp_thresh && inxf > 1 {
        inxf -= 1;
    }
    let d = inxf as f64 - inxi as f64;
    let ff = 1.0 / (d * d);
    let mut sal = 0.0;
    for i in inxi + 1..=inxf {
        let dm = mf[i - 1] - mf[i - 2];
        sal -= (ff + dm * dm).sqrt();
    }
    sal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SKDH's sample entropy loop as first written here (floating-point counts, branches).
    #[allow(clippy::needless_range_loop)] // indices follow SKDH's Fortran loop one to one
    fn sample_entropy_plain(x: &[f64], m: usize, r: f64) -> f64 {
        let n = x.len();
        let (mut a, mut b) = (0.0f64, 0.0f64);
        let mut run = vec![0usize; n + 1];
        for i in 1..n {
            let x1 = x[i - 1];
            for ii in 1..=(n - i) {
                let i2 = ii + i;
                if (x[i2 - 1] - x1).abs() < r {
                    run[ii] += 1;
                    if run[ii] >= m {
                        a += 1.0;
                    }
                    if run[ii] + 1 >= m && i2 < n {
                        b += 1.0;
                    }
                } else {
                    run[ii] = 0;
                }
            }
        }
        if m == 1 {
            -(a / (n as f64 * (n as f64 - 1.0) / 2.0)).ln()
        } else {
            -(a / b).ln()
        }
    }

    #[test]
    fn fast_paths_are_bit_identical_to_the_plain_ones() {
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f64 * 1e-4
        };
        for len in [1usize, 2, 3, 7, 64, 180, 181, 360, 720] {
            let x: Vec<f64> = (0..len)
                .map(|i| (i as f64 * 0.3).sin() * 0.5 + rnd())
                .collect();
            for m in [1usize, 2, 4] {
                for r in [0.05, 0.2, 1.0] {
                    let (a, b) = (sample_entropy(&x, m, r), sample_entropy_plain(&x, m, r));
                    assert!(
                        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                        "{len} {m} {r}"
                    );
                }
            }
            for n in [
                len.next_power_of_two(),
                2 * len.next_power_of_two(),
                64 * len.next_power_of_two(),
            ] {
                let mut re = vec![0.0; n];
                let mut im = vec![0.0; n];
                re[..len.min(n)].copy_from_slice(&x[..len.min(n)]);
                fft(&mut re, &mut im);
                let want: Vec<f64> = (0..=n / 2).map(|k| re[k] * re[k] + im[k] * im[k]).collect();
                let got = power_spectrum(&x, n);
                assert_eq!(got.len(), want.len());
                assert!(
                    got.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{len} {n}"
                );
            }
        }
    }

    #[test]
    fn fft_of_a_cosine() {
        let n = 16;
        let x: Vec<f64> = (0..n)
            .map(|i| (2.0 * PI * 3.0 * i as f64 / n as f64).cos())
            .collect();
        let p = power_spectrum(&x, n);
        assert!((p[3] - 64.0).abs() < 1e-9);
        assert!(p[2] < 1e-20 && p[4] < 1e-20);
    }

    #[test]
    fn one_fft_gives_the_three_spectral_features_bit_for_bit() {
        let x: Vec<f64> = (0..300)
            .map(|i| (0.3 * f64::from(i)).sin().abs() * 0.1 + f64::from(i % 13) * 1e-3)
            .collect();
        for len in [37, 180, 300] {
            let w = &x[..len];
            let [p, f, e] = spectral_features(w, 0.2, 2, 0.0, 10.0);
            assert_eq!(
                p.to_bits(),
                power_spectral_sum(w, 0.2, 2, 0.0, 10.0).to_bits()
            );
            assert_eq!(
                f.to_bits(),
                spectral_flatness(w, 0.2, 2, 0.0, 10.0).to_bits()
            );
            assert_eq!(
                e.to_bits(),
                spectral_entropy(w, 0.2, 2, 0.0, 10.0).to_bits()
            );
        }
        // cached twiddles: a second transform of the same length gives the same bits
        let a = power_spectrum(&x[..256], 512);
        let b = power_spectrum(&x[..256], 512);
        assert_eq!(a, b);
    }

    #[test]
    fn range_power_of_a_band_limited_signal() {
        // 1.5 Hz at 50 Hz: nearly all power lies in 0.6-2.5 Hz
        let sine: Vec<f64> = (0..750)
            .map(|i| 0.3 * (2.0 * PI * 1.5 * f64::from(i) / 50.0).sin())
            .collect();
        let r = range_power_sum_normalised(&sine, 50.0, 0, 0.6, 2.5, false, false);
        assert!(r > 0.9 && r <= 1.0, "{r}");
        // a 1 g offset puts most power at (and, zero-padded, near) 0 Hz; demean drops bin 0
        let g: Vec<f64> = sine.iter().map(|v| v + 1.0).collect();
        let with_dc = range_power_sum_normalised(&g, 50.0, 0, 0.6, 2.5, false, false);
        let demeaned = range_power_sum_normalised(&g, 50.0, 0, 0.6, 2.5, true, false);
        assert!(with_dc < 0.1 && demeaned > with_dc, "{with_dc} {demeaned}");
        let modulus = range_power_sum_normalised(&sine, 50.0, 0, 0.6, 2.5, false, true);
        assert!(modulus > 0.0 && modulus < r, "{modulus}");
    }

    #[test]
    fn entropies_of_simple_series() {
        let x: Vec<f64> = (0..100).map(|i| f64::from(i % 7)).collect();
        let pe = permutation_entropy(&x, 3, 1, true);
        assert!(pe > 0.0 && pe < 1.0);
        // (0.3 would give NaN, as in SKDH: its one-pass SD of a constant comes out negative)
        let flat = vec![0.5; 50];
        assert_eq!(signal_entropy(&flat), 0.0);
        assert_eq!(permutation_entropy(&flat, 3, 1, true), 0.0);
        // every pair matches: A and B both count all template pairs
        assert!(sample_entropy(&flat, 4, 1.0).abs() < 0.1);
    }
}
