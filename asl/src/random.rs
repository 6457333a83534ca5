//! A small non-cryptographic random source for `States.UUID`, `States.MathRandom` and retry
//! jitter. Nothing here protects secrets, so a SplitMix64 generator is enough and keeps the crate
//! free of extra dependencies.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64: tiny, fast and statistically fine for ids and jitter.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, bound)`; `bound` must be positive. Uses rejection to avoid modulo bias.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn fresh_seed() -> u64 {
    // RandomState is seeded by the OS once per process; mixing in a counter and the time gives
    // each thread its own stream without a dependency on getrandom.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

thread_local! {
    static RNG: Cell<Option<SplitMix64>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's generator.
pub(crate) fn with_rng<T>(f: impl FnOnce(&mut SplitMix64) -> T) -> T {
    RNG.with(|cell| {
        let mut rng = cell.take().unwrap_or_else(|| SplitMix64::new(fresh_seed()));
        let out = f(&mut rng);
        cell.set(Some(rng));
        out
    })
}

/// A random (version 4) UUID in its canonical lower-case text form.
pub(crate) fn uuid_v4() -> String {
    let (a, b) = with_rng(|r| (r.next_u64(), r.next_u64()));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_v4_layout_and_differs() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn below_stays_in_range_and_seed_is_deterministic() {
        let mut r = SplitMix64::new(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
        }
        let mut x = SplitMix64::new(42);
        let mut y = SplitMix64::new(42);
        assert_eq!(x.next_u64(), y.next_u64());
        let f = x.next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
