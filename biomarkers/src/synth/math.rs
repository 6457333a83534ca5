//! Transcendental functions built only from IEEE-754 basic operations (+, -, *, /, round).
//!
//! The platform libm (`f64::sin`, `f64::ln`, ...) may differ in the last bit between operating
//! systems and library versions, and one bit is enough to flip a quantised CWA sample. These
//! versions give the same bits everywhere, at the accuracy a signal generator needs (a few ulp).

use std::f64::consts::{FRAC_2_PI, LOG2_E, SQRT_2};

/// pi/2 split so that `k * PIO2_HI` is exact for |k| < 2^20 (fdlibm's split).
const PIO2_HI: f64 = 1.570_796_326_734_125_6;
const PIO2_LO: f64 = 6.077_100_506_506_192e-11;
/// ln 2 split so that `k * LN2_HI` is exact for |k| < 2^11.
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// Rounds to the nearest integer (ties to even) for |x| < 2^51 with two additions: exact IEEE
/// arithmetic, and unlike `f64::round` never a libm call on baseline x86-64.
#[inline]
pub(crate) fn round_fast(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    (x + MAGIC) - MAGIC
}

/// Evaluates `c[0] + z c[1] + z^2 c[2] + ...` (Horner).
#[inline]
fn horner(z: f64, c: &[f64]) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * z + k)
}

/// Taylor coefficients of (sin r - r) / r^3 in powers of r^2, to r^17 (truncation < 1e-17
/// for |r| <= pi/4).
const SIN_COEF: [f64; 8] = [
    -1.0 / 6.0,
    1.0 / 120.0,
    -1.0 / 5040.0,
    1.0 / 362_880.0,
    -1.0 / 39_916_800.0,
    1.0 / 6_227_020_800.0,
    -1.0 / 1_307_674_368_000.0,
    1.0 / 355_687_428_096_000.0,
];

/// Taylor coefficients of (cos r - 1 + r^2 / 2) / r^4 in powers of r^2, to r^18.
const COS_COEF: [f64; 8] = [
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40_320.0,
    -1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    -1.0 / 87_178_291_200.0,
    1.0 / 20_922_789_888_000.0,
    -1.0 / 6_402_373_705_728_000.0,
];

/// sin(r) for |r| <= pi/4.
#[inline]
fn sin_kernel(r: f64) -> f64 {
    let z = r * r;
    r + r * z * horner(z, &SIN_COEF)
}

/// cos(r) for |r| <= pi/4.
#[inline]
fn cos_kernel(r: f64) -> f64 {
    let z = r * r;
    1.0 - 0.5 * z + z * z * horner(z, &COS_COEF)
}

/// (sin x, cos x) for |r| <= pi/4 without range reduction.
#[inline]
pub(crate) fn sin_cos_kernel(r: f64) -> (f64, f64) {
    (sin_kernel(r), cos_kernel(r))
}

/// (sin x, cos x). Accurate for |x| up to about 1e6 rad, which covers every phase used here.
#[inline]
pub(crate) fn sin_cos(x: f64) -> (f64, f64) {
    let k = round_fast(x * FRAC_2_PI);
    let r = (x - k * PIO2_HI) - k * PIO2_LO;
    let (s, c) = (sin_kernel(r), cos_kernel(r));
    match (k as i64) & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// sin x (see [`sin_cos`]).
#[inline]
pub(crate) fn sin(x: f64) -> f64 {
    sin_cos(x).0
}

/// Natural logarithm for positive finite x; `-inf` for 0 and NaN for negative or NaN input.
#[inline]
pub(crate) fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        // Subnormal: scale into the normal range first.
        x *= 18_014_398_509_481_984.0; // 2^54
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), |s| <= 0.1716, to s^23 (truncation
    // < 1e-19).
    const ATANH_COEF: [f64; 12] = [
        1.0,
        1.0 / 3.0,
        1.0 / 5.0,
        1.0 / 7.0,
        1.0 / 9.0,
        1.0 / 11.0,
        1.0 / 13.0,
        1.0 / 15.0,
        1.0 / 17.0,
        1.0 / 19.0,
        1.0 / 21.0,
        1.0 / 23.0,
    ];
    let s = (m - 1.0) / (m + 1.0);
    let p = horner(s * s, &ATANH_COEF);
    let ef = e as f64;
    ef * LN2_HI + (2.0 * s * p + ef * LN2_LO)
}

/// e^x; 0 below -745 and +inf above 709.78.
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.78 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = round_fast(x * LOG2_E);
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // |r| <= 0.347: Taylor series to r^14 (truncation < 1e-17).
    let mut p = 1.0;
    let mut term = 1.0;
    for n in 1..=14 {
        term = term * r / f64::from(n);
        p += term;
    }
    let k = k as i64;
    // 2^k in two steps so that subnormal results and k = 1024 stay exact.
    let half = k / 2;
    let pow = |n: i64| f64::from_bits(((n + 1023) as u64) << 52);
    p * pow(half) * pow(k - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn sin_cos_matches_std() {
        let mut x = -200.0;
        while x < 200.0 {
            let (s, c) = sin_cos(x);
            assert!(close(s, x.sin(), 4e-15), "sin({x}) = {s} vs {}", x.sin());
            assert!(close(c, x.cos(), 4e-15), "cos({x}) = {c} vs {}", x.cos());
            x += 0.012_345;
        }
        assert_eq!(sin_cos(0.0), (0.0, 1.0));
        for x in [-3.5, -2.5, -0.5, 0.49, 0.5, 1.5, 2.5, 1e6 + 0.5, -123_456.7] {
            assert_eq!(round_fast(x), x.round_ties_even(), "{x}");
        }
    }

    #[test]
    fn ln_and_exp_match_std() {
        for &x in &[
            1e-300, 1e-10, 0.1, 0.5, 0.999_999, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            assert!(
                close(ln(x), x.ln(), 2e-15),
                "ln({x}) = {} vs {}",
                ln(x),
                x.ln()
            );
        }
        assert!(close(ln(5e-320), (5e-320f64).ln(), 2e-15));
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        for i in -700..700 {
            let x = f64::from(i) * 1.013;
            assert!(
                close(exp(x), x.exp(), 2e-15),
                "exp({x}) = {} vs {}",
                exp(x),
                x.exp()
            );
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(800.0), f64::INFINITY);
    }
}
