//! IIR filter design (Butterworth, Chebyshev type I) in second-order sections, and zero-phase
//! filtering, with scipy's conventions (`butter`/`cheby1(..., output="sos")`, `sosfiltfilt` with
//! odd padding of `3 * (2 * sections + 1 - trailing zero coefficients)` samples and steady-state
//! initial conditions). Cut-offs are normalised to the Nyquist frequency (0 < wn < 1).

use std::ops::{Add, Div, Mul, Neg, Sub};

#[derive(Debug, Clone, Copy, PartialEq)]
struct C {
    re: f64,
    im: f64,
}

impl C {
    fn new(re: f64, im: f64) -> Self {
        Self { re, im }
    }
    fn real(re: f64) -> Self {
        Self { re, im: 0.0 }
    }
    fn sqrt(self) -> Self {
        let r = (self.re * self.re + self.im * self.im).sqrt();
        let re = ((r + self.re) / 2.0).max(0.0).sqrt();
        let im = ((r - self.re) / 2.0).max(0.0).sqrt();
        Self::new(re, if self.im < 0.0 { -im } else { im })
    }
}

impl Add for C {
    type Output = C;
    fn add(self, o: C) -> C {
        C::new(self.re + o.re, self.im + o.im)
    }
}
impl Sub for C {
    type Output = C;
    fn sub(self, o: C) -> C {
        C::new(self.re - o.re, self.im - o.im)
    }
}
impl Mul for C {
    type Output = C;
    fn mul(self, o: C) -> C {
        C::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}
impl Div for C {
    type Output = C;
    fn div(self, o: C) -> C {
        let d = o.re * o.re + o.im * o.im;
        C::new(
            (self.re * o.re + self.im * o.im) / d,
            (self.im * o.re - self.re * o.im) / d,
        )
    }
}
impl Neg for C {
    type Output = C;
    fn neg(self) -> C {
        C::new(-self.re, -self.im)
    }
}

/// One second-order section: numerator `b` and denominator `a` (a\[0\] = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Section {
    /// Numerator coefficients.
    pub b: [f64; 3],
    /// Denominator coefficients, `a[0] == 1`.
    pub a: [f64; 3],
}

/// Filter band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// Low-pass at a normalised cut-off.
    Low(f64),
    /// High-pass at a normalised cut-off.
    High(f64),
    /// Band-pass between two normalised cut-offs.
    Pass(f64, f64),
}

/// Why a filter cannot be designed or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// Cut-off outside (0, 1) of Nyquist, or order 0.
    #[error("invalid filter design: {0}")]
    Design(String),
    /// The signal is not longer than the padding that zero-phase filtering needs.
    #[error(
        "signal of {n} samples is too short for zero-phase filtering (needs more than {padlen})"
    )]
    TooShort {
        /// Signal length.
        n: usize,
        /// Required padding.
        padlen: usize,
    },
}

fn check_wn(w: f64) -> Result<(), FilterError> {
    if w > 0.0 && w < 1.0 {
        Ok(())
    } else {
        Err(FilterError::Design(format!(
            "normalised cut-off {w} must be in (0, 1)"
        )))
    }
}

/// Butterworth filter of `order` in second-order sections (scipy `butter(..., output="sos")`).
pub fn butter(order: usize, band: Band) -> Result<Vec<Section>, FilterError> {
    if order == 0 {
        return Err(FilterError::Design("order must be positive".into()));
    }
    let n = order as i64;
    let poles: Vec<C> = (0..order)
        .map(|i| {
            let m = (-n + 1 + 2 * i as i64) as f64;
            let th = std::f64::consts::PI * m / (2.0 * n as f64);
            // -exp(j*th)
            C::new(-th.cos(), -th.sin())
        })
        .collect();
    analog_to_sos(poles, 1.0, band)
}

/// Chebyshev type I filter with `ripple_db` pass-band ripple (scipy `cheby1(..., output="sos")`).
pub fn cheby1(order: usize, ripple_db: f64, band: Band) -> Result<Vec<Section>, FilterError> {
    if order == 0 {
        return Err(FilterError::Design("order must be positive".into()));
    }
    let n = order as i64;
    let eps = (10f64.powf(0.1 * ripple_db) - 1.0).sqrt();
    let mu = (1.0 / eps).asinh() / order as f64;
    let poles: Vec<C> = (0..order)
        .map(|i| {
            let m = (-n + 1 + 2 * i as i64) as f64;
            let th = std::f64::consts::PI * m / (2.0 * n as f64);
            // -sinh(mu + j*th)
            C::new(-(mu.sinh() * th.cos()), -(mu.cosh() * th.sin()))
        })
        .collect();
    let mut k = poles.iter().fold(C::real(1.0), |acc, p| acc * (-*p)).re;
    if order.is_multiple_of(2) {
        k /= (1.0 + eps * eps).sqrt();
    }
    analog_to_sos(poles, k, band)
}

fn analog_to_sos(p: Vec<C>, k: f64, band: Band) -> Result<Vec<Section>, FilterError> {
    let warp = |w: f64| 4.0 * (std::f64::consts::PI * w / 2.0).tan();
    let degree = p.len();
    let (zeros, poles, gain): (Vec<C>, Vec<C>, f64) = match band {
        Band::Low(w) => {
            check_wn(w)?;
            let wo = warp(w);
            let poles: Vec<C> = p.iter().map(|&x| x * C::real(wo)).collect();
            (Vec::new(), poles, k * wo.powi(degree as i32))
        }
        Band::High(w) => {
            check_wn(w)?;
            let wo = warp(w);
            let poles: Vec<C> = p.iter().map(|&x| C::real(wo) / x).collect();
            let prod = p.iter().fold(C::real(1.0), |acc, &x| acc * (-x));
            let kk = k * (C::real(1.0) / prod).re;
            (vec![C::real(0.0); degree], poles, kk)
        }
        Band::Pass(w1, w2) => {
            check_wn(w1)?;
            check_wn(w2)?;
            if w1 >= w2 {
                return Err(FilterError::Design("band edges must increase".into()));
            }
            let (a, b) = (warp(w1), warp(w2));
            let bw = b - a;
            let wo = (a * b).sqrt();
            let mut poles = Vec::with_capacity(2 * degree);
            let mut upper = Vec::with_capacity(degree);
            for &x in &p {
                let pl = x * C::real(bw / 2.0);
                let s = (pl * pl - C::real(wo * wo)).sqrt();
                poles.push(pl + s);
                upper.push(pl - s);
            }
            poles.extend(upper);
            (
                vec![C::real(0.0); degree],
                poles,
                k * bw.powi(degree as i32),
            )
        }
    };
    // bilinear transform with fs = 2 (fs2 = 4)
    let fs2 = C::real(4.0);
    let zd: Vec<C> = zeros.iter().map(|&z| (fs2 + z) / (fs2 - z)).collect();
    let pd: Vec<C> = poles.iter().map(|&x| (fs2 + x) / (fs2 - x)).collect();
    let num = zeros.iter().fold(C::real(1.0), |acc, &z| acc * (fs2 - z));
    let den = poles.iter().fold(C::real(1.0), |acc, &x| acc * (fs2 - x));
    let kd = gain * (num / den).re;
    let mut zd = zd;
    while zd.len() < pd.len() {
        zd.push(C::real(-1.0));
    }
    Ok(to_sections(zd, pd, kd))
}

fn to_sections(zeros: Vec<C>, poles: Vec<C>, k: f64) -> Vec<Section> {
    // conjugate pole pairs first (upper half plane), then real poles two by two
    let tol = 1e-10;
    let mut complex: Vec<C> = poles.iter().copied().filter(|x| x.im > tol).collect();
    let mut real: Vec<f64> = poles
        .iter()
        .filter(|x| x.im.abs() <= tol)
        .map(|x| x.re)
        .collect();
    complex.sort_by(|a, b| a.re.total_cmp(&b.re));
    real.sort_by(f64::total_cmp);
    let mut zr: Vec<f64> = zeros.iter().map(|z| z.re).collect();
    zr.sort_by(f64::total_cmp);
    // interleave +1 / -1 zeros so that band-pass sections get one of each
    let (neg, pos): (Vec<f64>, Vec<f64>) = zr.into_iter().partition(|z| *z < 0.0);
    let mut zs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < neg.len() || j < pos.len() {
        if i < neg.len() {
            zs.push(neg[i]);
            i += 1;
        }
        if j < pos.len() {
            zs.push(pos[j]);
            j += 1;
        }
    }
    let mut zi = zs.into_iter();
    let mut sections = Vec::new();
    for p in complex {
        let z1 = zi.next().unwrap_or(0.0);
        let z2 = zi.next().unwrap_or(0.0);
        sections.push(Section {
            b: [1.0, -(z1 + z2), z1 * z2],
            a: [1.0, -2.0 * p.re, p.re * p.re + p.im * p.im],
        });
    }
    let mut r = real.chunks(2);
    for pair in r.by_ref() {
        if pair.len() == 2 {
            let z1 = zi.next().unwrap_or(0.0);
            let z2 = zi.next().unwrap_or(0.0);
            sections.push(Section {
                b: [1.0, -(z1 + z2), z1 * z2],
                a: [1.0, -(pair[0] + pair[1]), pair[0] * pair[1]],
            });
        } else {
            let z1 = zi.next().unwrap_or(0.0);
            sections.push(Section {
                b: [1.0, -z1, 0.0],
                a: [1.0, -pair[0], 0.0],
            });
        }
    }
    if let Some(first) = sections.first_mut() {
        for c in &mut first.b {
            *c *= k;
        }
    }
    sections
}

/// Causal filtering with per-section state `zi` (direct form II transposed), in place.
pub fn sosfilt(sos: &[Section], x: &mut [f64], zi: &mut [[f64; 2]]) {
    for v in x.iter_mut() {
        let mut xc = *v;
        for (s, z) in sos.iter().zip(zi.iter_mut()) {
            let y = s.b[0] * xc + z[0];
            z[0] = s.b[1] * xc - s.a[1] * y + z[1];
            z[1] = s.b[2] * xc - s.a[2] * y;
            xc = y;
        }
        *v = xc;
    }
}

/// Steady-state initial conditions for a unit step (scipy `sosfilt_zi`).
pub fn sosfilt_zi(sos: &[Section]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let (b, a) = (s.b, s.a);
            let b0 = b[0] / a[0];
            let (a1, a2) = (a[1] / a[0], a[2] / a[0]);
            let (b1, b2) = (b[1] / a[0], b[2] / a[0]);
            let bb0 = b1 - a1 * b0;
            let bb1 = b2 - a2 * b0;
            let z0 = (bb0 + bb1) / (1.0 + a1 + a2);
            let z1 = bb1 - a2 * z0;
            let zi = [scale * z0, scale * z1];
            scale *= (b[0] + b[1] + b[2]) / (a[0] + a[1] + a[2]);
            zi
        })
        .collect()
}

/// The odd-extension padding length scipy's `sosfiltfilt` uses.
pub fn padlen(sos: &[Section]) -> usize {
    let zb = sos.iter().filter(|s| s.b[2] == 0.0).count();
    let za = sos.iter().filter(|s| s.a[2] == 0.0).count();
    3 * (2 * sos.len() + 1 - zb.min(za))
}

/// Zero-phase filtering (forward and backward) with odd padding, like scipy's `sosfiltfilt`.
/// Returns the filtered signal (as long as `x`); errors when `x` is not longer than
/// [`padlen`].
pub fn sosfiltfilt(sos: &[Section], x: &[f64]) -> Result<Vec<f64>, FilterError> {
    let mut out = sosfiltfilt_many(sos, &[x])?;
    Ok(out.pop().unwrap_or_default())
}

/// [`sosfiltfilt`] of several signals with the same filter, bit-identical to filtering each
/// alone but faster: up to four signals are filtered together, which hides the latency of
/// the recursion. Returns one filtered signal per input, in order; errors when any input is
/// not longer than [`padlen`].
pub fn sosfiltfilt_many(sos: &[Section], xs: &[&[f64]]) -> Result<Vec<Vec<f64>>, FilterError> {
    let (mut bufs, edge) = sosfiltfilt_padded(sos, xs)?;
    for (b, x) in bufs.iter_mut().zip(xs) {
        // the padding is dropped in place: no second signal-sized allocation
        b.copy_within(edge..edge + x.len(), 0);
        b.truncate(x.len());
    }
    Ok(bufs)
}

/// The zero-phase filtered signals still carrying their odd padding: the result for input `k`
/// is `bufs[k][edge..edge + xs[k].len()]`. Lets callers that only read the signal (e.g. the
/// resampler) skip a copy.
pub(crate) fn sosfiltfilt_padded(
    sos: &[Section],
    xs: &[&[f64]],
) -> Result<(Vec<Vec<f64>>, usize), FilterError> {
    let edge = padlen(sos);
    for x in xs {
        if x.len() <= edge {
            return Err(FilterError::TooShort {
                n: x.len(),
                padlen: edge,
            });
        }
    }
    let zi = sosfilt_zi(sos);
    let mut bufs: Vec<Vec<f64>> = xs
        .iter()
        .map(|x| {
            let n = x.len();
            let mut ext = Vec::with_capacity(n + 2 * edge);
            ext.extend((1..=edge).rev().map(|i| 2.0 * x[0] - x[i]));
            ext.extend_from_slice(x);
            ext.extend((1..=edge).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
            ext
        })
        .collect();
    // signals of equal length are filtered in groups of up to four lanes
    let mut rest: &mut [Vec<f64>] = &mut bufs;
    while !rest.is_empty() {
        let len = rest[0].len();
        let k = rest.iter().take(4).take_while(|b| b.len() == len).count();
        let (group, tail) = rest.split_at_mut(k);
        match group {
            [a] => filtfilt_group::<1>(sos, &zi, [a.as_mut_slice()]),
            [a, b] => filtfilt_group::<2>(sos, &zi, [a.as_mut_slice(), b.as_mut_slice()]),
            [a, b, c] => filtfilt_group::<3>(
                sos,
                &zi,
                [a.as_mut_slice(), b.as_mut_slice(), c.as_mut_slice()],
            ),
            [a, b, c, d] => filtfilt_group::<4>(
                sos,
                &zi,
                [
                    a.as_mut_slice(),
                    b.as_mut_slice(),
                    c.as_mut_slice(),
                    d.as_mut_slice(),
                ],
            ),
            _ => {}
        }
        rest = tail;
    }
    Ok((bufs, edge))
}

/// Samples per chunk of [`sosfiltfilt_chunks_rev`]: four lanes of it (256 KiB) stay in the L2
/// cache between the two passes over a chunk.
pub(crate) const FILT_CHUNK: usize = 8192;

/// [`sosfiltfilt`] of up to four equally long signals, handed to `f` chunk by chunk from the
/// end, without ever holding the whole filtered (or padded) signals: the forward pass runs
/// once over everything keeping only its state at every chunk start, then, chunk by chunk
/// from the end, the forward pass of that chunk is redone from its saved state (the same
/// operations on the same values, so the same results) and the backward pass continues over
/// it. `f(start, lanes)` receives the filtered samples `start..start + lanes[k].len()` of every
/// signal; chunks are `chunk` samples long (the last one shorter) and start at multiples of
/// `chunk`. The values are bit-identical to [`sosfiltfilt`]'s. Errors like it when a signal is
/// not longer than [`padlen`]; more than four signals or unequal lengths are a
/// [`FilterError::Design`] error (callers group signals).
pub(crate) fn sosfiltfilt_chunks_rev(
    sos: &[Section],
    xs: &[&[f64]],
    chunk: usize,
    f: &mut dyn FnMut(usize, &[&[f64]]),
) -> Result<(), FilterError> {
    let edge = padlen(sos);
    for x in xs {
        if x.len() <= edge {
            return Err(FilterError::TooShort {
                n: x.len(),
                padlen: edge,
            });
        }
    }
    if xs.iter().any(|x| x.len() != xs[0].len()) || chunk == 0 {
        return Err(FilterError::Design(
            "chunked filtering needs equally long signals and a positive chunk".into(),
        ));
    }
    match xs {
        [] => {}
        [a] => chunks_rev::<1>(sos, [a], edge, chunk, f),
        [a, b] => chunks_rev::<2>(sos, [a, b], edge, chunk, f),
        [a, b, c] => chunks_rev::<3>(sos, [a, b, c], edge, chunk, f),
        [a, b, c, d] => chunks_rev::<4>(sos, [a, b, c, d], edge, chunk, f),
        _ => {
            return Err(FilterError::Design(
                "chunked filtering takes at most four signals at once".into(),
            ));
        }
    }
    Ok(())
}

/// The body of [`sosfiltfilt_chunks_rev`] for `L` signals.
fn chunks_rev<const L: usize>(
    sos: &[Section],
    xs: [&[f64]; L],
    edge: usize,
    chunk: usize,
    f: &mut dyn FnMut(usize, &[&[f64]]),
) {
    let n = xs[0].len();
    let n_chunks = n.div_ceil(chunk);
    // The padded signal of scipy's sosfiltfilt, read in place: odd extensions of `edge`
    // samples at both ends.
    let ext = |l: usize, e: usize| -> f64 {
        let x = xs[l];
        if e < edge {
            2.0 * x[0] - x[edge - e]
        } else if e < edge + n {
            x[e - edge]
        } else {
            2.0 * x[n - 1] - x[n - 2 - (e - edge - n)]
        }
    };
    // chunk m: samples [m * chunk, ...) of the signal; the first and the last chunk carry the
    // leading and the trailing padding
    let ext_range = |m: usize| -> (usize, usize) {
        let a = if m == 0 { 0 } else { edge + m * chunk };
        let b = if m + 1 == n_chunks {
            n + 2 * edge
        } else {
            edge + (m + 1) * chunk
        };
        (a, b)
    };
    let mut bufs: [Vec<f64>; L] = std::array::from_fn(|_| vec![0.0; chunk + 2 * edge]);
    // The forward pass over chunk [a, b): straight from the signals when the chunk has no
    // padding (no copy), else from the padded values written into the buffers first.
    let forward = |bufs: &mut [Vec<f64>; L], a: usize, b: usize, z: &mut [[[f64; 2]; L]]| {
        let mut views: [&mut [f64]; L] = bufs.each_mut().map(|v| &mut v[..b - a]);
        if a >= edge && b <= edge + n {
            let src: [&[f64]; L] = std::array::from_fn(|l| &xs[l][a - edge..b - edge]);
            sosfilt_dispatch::<L, false>(sos, Some(&src), &mut views, z);
        } else {
            for (l, dst) in views.iter_mut().enumerate() {
                for (d, e) in dst.iter_mut().zip(a..b) {
                    *d = ext(l, e);
                }
            }
            sosfilt_dispatch::<L, false>(sos, None, &mut views, z);
        }
    };
    let zi = sosfilt_zi(sos);
    let mut z: Vec<[[f64; 2]; L]> = zi
        .iter()
        .map(|zz| std::array::from_fn(|l| [zz[0] * ext(l, 0), zz[1] * ext(l, 0)]))
        .collect();
    let mut saved: Vec<Vec<[[f64; 2]; L]>> = Vec::with_capacity(n_chunks);
    let mut last_fwd = [0.0; L];
    for m in 0..n_chunks {
        let (a, b) = ext_range(m);
        saved.push(z.clone());
        forward(&mut bufs, a, b, &mut z);
        if m + 1 == n_chunks {
            last_fwd = std::array::from_fn(|l| bufs[l][b - a - 1]);
        }
    }
    let mut zb: Vec<[[f64; 2]; L]> = zi
        .iter()
        .map(|zz| std::array::from_fn(|l| [zz[0] * last_fwd[l], zz[1] * last_fwd[l]]))
        .collect();
    for m in (0..n_chunks).rev() {
        let (a, b) = ext_range(m);
        let mut zf = std::mem::take(&mut saved[m]);
        forward(&mut bufs, a, b, &mut zf);
        let mut views: [&mut [f64]; L] = bufs.each_mut().map(|v| &mut v[..b - a]);
        sosfilt_dispatch::<L, true>(sos, None, &mut views, &mut zb);
        // the signal's own samples of this chunk, without padding
        let s0 = a.max(edge) - a;
        let s1 = b.min(edge + n) - a;
        let lanes: [&[f64]; L] = std::array::from_fn(|l| &bufs[l][s0..s1]);
        f(m * chunk, &lanes);
    }
}

/// Forward then backward pass over `L` equally long padded signals, in place (scipy's
/// `sosfiltfilt` after padding: the backward pass runs from the end, which is the same as
/// filtering the reversed signal and reversing back).
fn filtfilt_group<const L: usize>(sos: &[Section], zi: &[[f64; 2]], mut bufs: [&mut [f64]; L]) {
    let init = |bufs: &[&mut [f64]; L], at_end: bool| -> Vec<[[f64; 2]; L]> {
        zi.iter()
            .map(|z| {
                std::array::from_fn(|l| {
                    let b = &bufs[l];
                    let x0 = if at_end { b[b.len() - 1] } else { b[0] };
                    [z[0] * x0, z[1] * x0]
                })
            })
            .collect()
    };
    let mut z = init(&bufs, false);
    sosfilt_dispatch::<L, false>(sos, None, &mut bufs, &mut z);
    let mut z = init(&bufs, true);
    sosfilt_dispatch::<L, true>(sos, None, &mut bufs, &mut z);
}

/// [`sosfilt_lanes`] with 256-bit vectors when the CPU has them (four lanes then fill one
/// register). The arithmetic is the same IEEE operations either way (Rust never fuses a
/// multiply and an add on its own), so results are bit-identical. With `src` the input is read
/// from there and the output written to `bufs` (no copy of the input first); without, `bufs`
/// is filtered in place.
fn sosfilt_dispatch<const L: usize, const BACK: bool>(
    sos: &[Section],
    src: Option<&[&[f64]; L]>,
    bufs: &mut [&mut [f64]; L],
    z: &mut [[[f64; 2]; L]],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if L > 1 && std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above), the only requirement of
            // calling a function compiled with that target feature.
            unsafe {
                match src {
                    Some(s) => sosfilt_lanes_avx::<L, BACK, true>(sos, s, bufs, z),
                    None => sosfilt_lanes_avx::<L, BACK, false>(sos, &[&[]; L], bufs, z),
                }
            };
            return;
        }
    }
    match src {
        Some(s) => sosfilt_lanes::<L, BACK, true>(sos, s, bufs, z),
        None => sosfilt_lanes::<L, BACK, false>(sos, &[&[]; L], bufs, z),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn sosfilt_lanes_avx<const L: usize, const BACK: bool, const IO: bool>(
    sos: &[Section],
    src: &[&[f64]; L],
    bufs: &mut [&mut [f64]; L],
    z: &mut [[[f64; 2]; L]],
) {
    sosfilt_lanes::<L, BACK, IO>(sos, src, bufs, z);
}

/// Causal filtering of `L` equally long signals at once (direct form II transposed, the same
/// operations in the same order as [`sosfilt`] for each signal), from the end when `BACK`,
/// from `src` into `bufs` when `IO` (else in place). Common section counts get their state in
/// registers.
#[inline(always)]
fn sosfilt_lanes<const L: usize, const BACK: bool, const IO: bool>(
    sos: &[Section],
    src: &[&[f64]; L],
    bufs: &mut [&mut [f64]; L],
    z: &mut [[[f64; 2]; L]],
) {
    match sos.len() {
        1 => sosfilt_fixed::<1, L, BACK, IO>(sos, src, bufs, z),
        2 => sosfilt_fixed::<2, L, BACK, IO>(sos, src, bufs, z),
        3 => sosfilt_fixed::<3, L, BACK, IO>(sos, src, bufs, z),
        4 => sosfilt_fixed::<4, L, BACK, IO>(sos, src, bufs, z),
        5 => sosfilt_fixed::<5, L, BACK, IO>(sos, src, bufs, z),
        6 => sosfilt_fixed::<6, L, BACK, IO>(sos, src, bufs, z),
        _ => {
            // long filters: section by section over the whole signal (the same arithmetic);
            // only the first section reads `src`
            for (k, (s, zs)) in sos.iter().zip(z.iter_mut()).enumerate() {
                let one = std::slice::from_ref(s);
                let zs = std::slice::from_mut(zs);
                if IO && k == 0 {
                    sosfilt_fixed::<1, L, BACK, true>(one, src, bufs, zs);
                } else {
                    sosfilt_fixed::<1, L, BACK, false>(one, src, bufs, zs);
                }
            }
        }
    }
}

#[inline(always)]
fn sosfilt_fixed<const S: usize, const L: usize, const BACK: bool, const IO: bool>(
    sos: &[Section],
    src: &[&[f64]; L],
    bufs: &mut [&mut [f64]; L],
    z: &mut [[[f64; 2]; L]],
) {
    let (Ok(sec), true) = (
        <[Section; S]>::try_from(&sos[..S.min(sos.len())]),
        z.len() >= S,
    ) else {
        return;
    };
    let mut st: [[[f64; 2]; L]; S] = std::array::from_fn(|s| z[s]);
    let mut n = bufs.iter().map(|b| b.len()).min().unwrap_or(0);
    if IO {
        n = src.iter().map(|b| b.len()).fold(n, usize::min);
    }
    for idx in 0..n {
        let i = if BACK { n - 1 - idx } else { idx };
        let mut xc: [f64; L] = std::array::from_fn(|l| if IO { src[l][i] } else { bufs[l][i] });
        for s in 0..S {
            let Section { b, a } = sec[s];
            for l in 0..L {
                let y = b[0] * xc[l] + st[s][l][0];
                st[s][l][0] = b[1] * xc[l] - a[1] * y + st[s][l][1];
                st[s][l][1] = b[2] * xc[l] - a[2] * y;
                xc[l] = y;
            }
        }
        for l in 0..L {
            bufs[l][i] = xc[l];
        }
    }
    z[..S].copy_from_slice(&st);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(sos: &[Section], w: f64) -> f64 {
        // |H(e^{j pi w})|
        let z = C::new(
            (std::f64::consts::PI * w).cos(),
            (std::f64::consts::PI * w).sin(),
        );
        let zi = C::real(1.0) / z;
        let mut h = C::real(1.0);
        for s in sos {
            let num = C::real(s.b[0]) + C::real(s.b[1]) * zi + C::real(s.b[2]) * zi * zi;
            let den = C::real(s.a[0]) + C::real(s.a[1]) * zi + C::real(s.a[2]) * zi * zi;
            h = h * (num / den);
        }
        (h.re * h.re + h.im * h.im).sqrt()
    }

    #[test]
    fn butterworth_matches_scipy() {
        // scipy.signal.butter(3, 0.025, 'high', output='sos')
        let sos = butter(3, Band::High(0.025)).unwrap();
        assert_eq!(sos.len(), 2);
        assert_eq!(padlen(&sos), 12);
        assert!((response(&sos, 0.025) - 0.5f64.sqrt()).abs() < 1e-9);
        assert!(response(&sos, 0.0001) < 1e-6);
        assert!((response(&sos, 0.9) - 1.0).abs() < 1e-6);
        let lp = butter(4, Band::Low(0.2)).unwrap();
        assert!((response(&lp, 0.0) - 1.0).abs() < 1e-12);
        assert!((response(&lp, 0.2) - 0.5f64.sqrt()).abs() < 1e-9);
        let bp = butter(4, Band::Pass(0.1, 0.3)).unwrap();
        assert_eq!(bp.len(), 4);
        assert!((response(&bp, (0.1f64 * 0.3).sqrt()) - 1.0).abs() < 0.05);
    }

    #[test]
    fn chebyshev_has_its_ripple() {
        let sos = cheby1(8, 0.05, Band::Low(0.4)).unwrap();
        assert_eq!(sos.len(), 4);
        // even order: |H(0)| = 1 / sqrt(1 + eps^2)
        let eps2 = 10f64.powf(0.005) - 1.0;
        assert!((response(&sos, 0.0) - 1.0 / (1.0 + eps2).sqrt()).abs() < 1e-9);
        assert!(response(&sos, 0.8) < 1e-3);
    }

    /// scipy's algorithm written out plainly: pad, filter, reverse, filter, reverse.
    fn filtfilt_reference(sos: &[Section], x: &[f64]) -> Vec<f64> {
        let (edge, n) = (padlen(sos), x.len());
        let mut ext: Vec<f64> = (1..=edge).rev().map(|i| 2.0 * x[0] - x[i]).collect();
        ext.extend_from_slice(x);
        ext.extend((1..=edge).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
        let zi = sosfilt_zi(sos);
        for _ in 0..2 {
            let x0 = ext[0];
            let mut z: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * x0, z[1] * x0]).collect();
            sosfilt(sos, &mut ext, &mut z);
            ext.reverse();
        }
        ext[edge..edge + n].to_vec()
    }

    #[test]
    fn filtering_several_signals_is_bit_identical_to_one_at_a_time() {
        let sig = |k: usize, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| ((i * (k + 3)) as f64 * 0.37).sin() + (i % (7 + k)) as f64 * 0.01)
                .collect()
        };
        let filters = [
            cheby1(8, 0.05, Band::Low(0.4)).unwrap(),
            butter(3, Band::High(0.025)).unwrap(),
            // more sections than the register-held kernels: section by section
            butter(8, Band::Pass(0.1, 0.3)).unwrap(),
        ];
        for sos in &filters {
            // five signals of two lengths: groups of 4 + 1, then lengths that break groups
            let xs: Vec<Vec<f64>> = (0..5).map(|k| sig(k, 300 + 40 * (k / 3))).collect();
            let refs: Vec<&[f64]> = xs.iter().map(|v| v.as_slice()).collect();
            let many = sosfiltfilt_many(sos, &refs).unwrap();
            for (x, y) in xs.iter().zip(&many) {
                let want = filtfilt_reference(sos, x);
                assert_eq!(y.len(), want.len());
                assert!(y.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
                assert_eq!(sosfiltfilt(sos, x).unwrap(), want);
            }
        }
    }

    #[test]
    fn chunked_filtering_is_bit_identical() {
        let sig = |k: usize, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| ((i * (k + 2)) as f64 * 0.29).sin() + (i % (5 + k)) as f64 * 0.02)
                .collect()
        };
        let filters = [
            cheby1(8, 0.05, Band::Low(0.4)).unwrap(),
            butter(3, Band::High(0.025)).unwrap(),
            butter(8, Band::Pass(0.1, 0.3)).unwrap(),
        ];
        for sos in &filters {
            for lanes in 1..=4 {
                for (n, chunk) in [(400, 64), (401, 1), (257, 256), (300, 1000), (513, 7)] {
                    let xs: Vec<Vec<f64>> = (0..lanes).map(|k| sig(k, n)).collect();
                    let refs: Vec<&[f64]> = xs.iter().map(|v| v.as_slice()).collect();
                    let want = sosfiltfilt_many(sos, &refs).unwrap();
                    let mut got = vec![vec![f64::NAN; n]; lanes];
                    let mut next_end = n;
                    sosfiltfilt_chunks_rev(sos, &refs, chunk, &mut |start, ls| {
                        // chunks come from the end, contiguous, `chunk` apart
                        assert_eq!(start % chunk, 0);
                        assert_eq!(start + ls[0].len(), next_end);
                        next_end = start;
                        for (g, l) in got.iter_mut().zip(ls) {
                            g[start..start + l.len()].copy_from_slice(l);
                        }
                    })
                    .unwrap();
                    assert_eq!(next_end, 0);
                    for (g, w) in got.iter().zip(&want) {
                        assert!(g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()));
                    }
                }
            }
        }
        let x = vec![1.0; 10];
        let sos = butter(3, Band::High(0.1)).unwrap();
        assert!(sosfiltfilt_chunks_rev(&sos, &[&x], 4, &mut |_, _| {}).is_err());
    }

    #[test]
    fn filtfilt_keeps_constants_and_removes_them_in_high_pass() {
        let x = vec![2.5; 200];
        let lp = butter(2, Band::Low(0.1)).unwrap();
        let y = sosfiltfilt(&lp, &x).unwrap();
        assert!(y.iter().all(|v| (v - 2.5).abs() < 1e-9));
        let hp = butter(3, Band::High(0.1)).unwrap();
        let y = sosfiltfilt(&hp, &x).unwrap();
        assert!(y.iter().all(|v| v.abs() < 1e-9));
        assert!(sosfiltfilt(&hp, &x[..12]).is_err());
    }
}
