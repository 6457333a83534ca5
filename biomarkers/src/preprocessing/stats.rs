//! Moving-window statistics, run-length encoding and small regressions with SKDH's conventions.
//!
//! Windows start every `skip` samples at index `k * skip` and hold `wlen` samples. "Trimmed"
//! outputs keep only full windows (`(n - wlen) / skip + 1` values); untrimmed ones have
//! `(n - 1) / skip + 1` values, the windows that run past the end being NaN (or, for
//! [`moving_mean`], a partial mean when enough samples remain). Values are computed per window
//! (or with periodically re-based running sums), which is at least as accurate as SKDH's
//! cumulative sums; results agree to ~1e-12 relative.

use std::collections::VecDeque;

/// Why a moving statistic cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WindowError {
    /// Window length or skip is zero.
    #[error("window length and skip must be positive")]
    ZeroWindow,
    /// The window is longer than the data.
    #[error("window length {wlen} is larger than the data ({n} samples)")]
    TooShort {
        /// Window length, samples.
        wlen: usize,
        /// Data length, samples.
        n: usize,
    },
}

fn check(n: usize, wlen: usize, skip: usize) -> Result<(), WindowError> {
    if wlen == 0 || skip == 0 {
        return Err(WindowError::ZeroWindow);
    }
    if wlen > n {
        return Err(WindowError::TooShort { wlen, n });
    }
    Ok(())
}

/// Number of full windows.
pub fn n_full(n: usize, wlen: usize, skip: usize) -> usize {
    if wlen == 0 || skip == 0 || wlen > n {
        0
    } else {
        (n - wlen) / skip + 1
    }
}

/// Number of window starts (untrimmed output length).
pub fn n_starts(n: usize, skip: usize) -> usize {
    if n == 0 || skip == 0 {
        0
    } else {
        (n - 1) / skip + 1
    }
}

/// Sum of a slice with a compensated (Neumaier) sum, so that long windows stay exact to ~1 ulp.
pub fn sum(x: &[f64]) -> f64 {
    let mut s = 0.0f64;
    let mut c = 0.0f64;
    for &v in x {
        let t = s + v;
        if s.abs() >= v.abs() {
            c += (s - t) + v;
        } else {
            c += (v - t) + s;
        }
        s = t;
    }
    s + c
}

/// Mean of a slice (NaN for an empty slice).
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        f64::NAN
    } else {
        sum(x) / x.len() as f64
    }
}

/// Sample (ddof = 1) or population (ddof = 0) standard deviation, two-pass.
pub fn std_dev(x: &[f64], ddof: usize) -> f64 {
    if x.len() <= ddof {
        return f64::NAN;
    }
    let m = mean(x);
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    (ss / (x.len() - ddof) as f64).sqrt()
}

/// Moving mean like SKDH's `moving_mean(a, wlen, skip, req_points, trim)`.
///
/// `req_points` is the number of samples a window running past the end needs to get a (partial)
/// mean; with `trim` only full windows are returned. Errors when `wlen` exceeds the data.
pub fn moving_mean(
    x: &[f64],
    wlen: usize,
    skip: usize,
    req_points: usize,
    trim: bool,
) -> Result<Vec<f64>, WindowError> {
    let n = x.len();
    check(n, wlen, skip)?;
    let len = if trim {
        n_full(n, wlen, skip)
    } else {
        n_starts(n, skip)
    };
    let mut out = Vec::with_capacity(len);
    if skip >= wlen || wlen < 64 {
        for k in 0..len {
            let i = k * skip;
            let end = (i + wlen).min(n);
            out.push(window_mean(&x[i..end], wlen, req_points, k == 0));
        }
    } else {
        let mut roll = RollingSum::new(x, wlen);
        for k in 0..len {
            let i = k * skip;
            if i + wlen <= n {
                out.push(roll.sum_at(i) / wlen as f64);
            } else {
                out.push(window_mean(&x[i..n], wlen, req_points, false));
            }
        }
    }
    Ok(out)
}

fn window_mean(w: &[f64], wlen: usize, req_points: usize, first: bool) -> f64 {
    if w.len() == wlen || first || w.len() >= req_points {
        sum(w) / w.len() as f64
    } else {
        f64::NAN
    }
}

/// Running window sums that are recomputed from scratch every so often, so that adding and
/// subtracting over millions of samples does not accumulate rounding error.
struct RollingSum<'a> {
    x: &'a [f64],
    wlen: usize,
    pos: usize,
    s: f64,
    s2: f64,
    since: usize,
    shift: f64,
}

impl<'a> RollingSum<'a> {
    fn new(x: &'a [f64], wlen: usize) -> Self {
        let shift = x.first().copied().unwrap_or(0.0);
        let mut r = Self {
            x,
            wlen,
            pos: 0,
            s: 0.0,
            s2: 0.0,
            since: 0,
            shift,
        };
        r.rebase(0);
        r
    }

    fn rebase(&mut self, i: usize) {
        let w = &self.x[i..i + self.wlen];
        self.shift = w[0];
        self.s = 0.0;
        self.s2 = 0.0;
        for &v in w {
            let d = v - self.shift;
            self.s += d;
            self.s2 += d * d;
        }
        self.pos = i;
        self.since = 0;
    }

    fn advance_to(&mut self, i: usize) {
        if i < self.pos || i - self.pos >= self.wlen || self.since > 4096 {
            self.rebase(i);
            return;
        }
        while self.pos < i {
            let out = self.x[self.pos] - self.shift;
            let inn = self.x[self.pos + self.wlen] - self.shift;
            self.s += inn - out;
            self.s2 += inn * inn - out * out;
            self.pos += 1;
            self.since += 1;
        }
    }

    /// Sum of the window starting at `i`.
    fn sum_at(&mut self, i: usize) -> f64 {
        self.advance_to(i);
        self.s + self.shift * self.wlen as f64
    }

    /// Sample variance of the window starting at `i`.
    fn var_at(&mut self, i: usize) -> f64 {
        self.advance_to(i);
        let n = self.wlen as f64;
        let v = (self.s2 - self.s * self.s / n) / (n - 1.0);
        v.max(0.0)
    }
}

/// Moving sample standard deviation (ddof = 1) like SKDH's `moving_sd`; untrimmed windows past
/// the end are NaN.
pub fn moving_sd(x: &[f64], wlen: usize, skip: usize, trim: bool) -> Result<Vec<f64>, WindowError> {
    let n = x.len();
    check(n, wlen, skip)?;
    let full = n_full(n, wlen, skip);
    let len = if trim { full } else { n_starts(n, skip) };
    let mut out = Vec::with_capacity(len);
    if skip >= wlen || wlen < 32 {
        for k in 0..full {
            let i = k * skip;
            out.push(std_dev(&x[i..i + wlen], 1));
        }
    } else {
        let mut roll = RollingSum::new(x, wlen);
        for k in 0..full {
            out.push(roll.var_at(k * skip).sqrt());
        }
    }
    out.resize(len, f64::NAN);
    Ok(out)
}

fn moving_extreme(
    x: &[f64],
    wlen: usize,
    skip: usize,
    trim: bool,
    better: impl Fn(f64, f64) -> bool + Copy,
) -> Result<Vec<f64>, WindowError> {
    let n = x.len();
    check(n, wlen, skip)?;
    let full = n_full(n, wlen, skip);
    let len = if trim { full } else { n_starts(n, skip) };
    let mut out = Vec::with_capacity(len);
    if skip >= wlen / 4 {
        for k in 0..full {
            let w = &x[k * skip..k * skip + wlen];
            let mut m = w[0];
            for &v in &w[1..] {
                if better(v, m) {
                    m = v;
                }
            }
            out.push(m);
        }
    } else {
        // monotonic deque of candidate indices
        let mut dq: VecDeque<usize> = VecDeque::new();
        let mut next = 0usize;
        for k in 0..full {
            let start = k * skip;
            let end = start + wlen;
            while next < end {
                while let Some(&b) = dq.back() {
                    if better(x[next], x[b]) || x[next] == x[b] {
                        dq.pop_back();
                    } else {
                        break;
                    }
                }
                dq.push_back(next);
                next += 1;
            }
            while let Some(&f) = dq.front() {
                if f < start {
                    dq.pop_front();
                } else {
                    break;
                }
            }
            out.push(dq.front().map_or(f64::NAN, |&i| x[i]));
        }
    }
    out.resize(len, f64::NAN);
    Ok(out)
}

/// Moving maximum like SKDH's `moving_max`.
pub fn moving_max(
    x: &[f64],
    wlen: usize,
    skip: usize,
    trim: bool,
) -> Result<Vec<f64>, WindowError> {
    moving_extreme(x, wlen, skip, trim, |a, b| a > b)
}

/// Moving minimum like SKDH's `moving_min`.
pub fn moving_min(
    x: &[f64],
    wlen: usize,
    skip: usize,
    trim: bool,
) -> Result<Vec<f64>, WindowError> {
    moving_extreme(x, wlen, skip, trim, |a, b| a < b)
}

/// Moving median over full windows (trimmed), the mean of the two middle values for even
/// windows, like SKDH's `moving_median`.
pub fn moving_median(x: &[f64], wlen: usize, skip: usize) -> Result<Vec<f64>, WindowError> {
    let mut out = Vec::new();
    moving_median_into(x, wlen, skip, &mut MedianScratch::default(), &mut out)?;
    Ok(out)
}

/// Working memory of [`moving_median_into`], kept by callers that compute many medians so
/// that the buffers are allocated (and their pages faulted in) once.
#[derive(Default)]
pub struct MedianScratch {
    keys: Vec<i64>,
    blocks: Option<(SortedBlock, SortedBlock)>,
}

/// [`moving_median`] into `out` (cleared first), with reusable working memory.
pub fn moving_median_into(
    x: &[f64],
    wlen: usize,
    skip: usize,
    scratch: &mut MedianScratch,
    out: &mut Vec<f64>,
) -> Result<(), WindowError> {
    let n = x.len();
    check(n, wlen, skip)?;
    let full = n_full(n, wlen, skip);
    out.clear();
    out.reserve(full);
    let median_of_sorted = |s: &[f64]| {
        let h = s.len() / 2;
        if s.len() % 2 == 1 {
            s[h]
        } else {
            s[h - 1] * 0.5 + 0.5 * s[h]
        }
    };
    if skip >= wlen {
        let mut buf = Vec::with_capacity(wlen);
        for k in 0..full {
            buf.clear();
            buf.extend_from_slice(&x[k * skip..k * skip + wlen]);
            buf.sort_by(f64::total_cmp);
            out.push(median_of_sorted(&buf));
        }
        return Ok(());
    }
    // Sliding windows with O(1) work per step after sorting each block of `wlen` samples once
    // (the "sorted blocks" median filter of Suomela 2014): a window starting at offset j of
    // block A is A's samples from j on plus block B's samples before j. Both blocks are kept as
    // linked lists in sorted order, A losing and B regaining one sample per step; two cursors
    // (one per list) split the window into its h smallest samples and the rest, and move by
    // O(1) places per step. Values are compared as `f64::total_cmp` keys, so the result is
    // exactly that of sorting every window.
    let keys = &mut scratch.keys;
    keys.clear();
    keys.extend(x.iter().map(|&v| order_key(v)));
    let keys: &[i64] = keys;
    if keys.iter().any(|&v| v == i64::MIN || v == i64::MAX) {
        // two NaN bit patterns collide with the list sentinels: keep a sorted window instead
        median_sorted_window(keys, wlen, skip, full, out);
        return Ok(());
    }
    let k = wlen;
    let h = k / 2;
    let (mut a, mut b) = match scratch.blocks.take() {
        Some((a, b)) if a.node.len() == k => (a, b),
        _ => (SortedBlock::new(k), SortedBlock::new(k)),
    };
    a.load(&keys[..k]);
    b.load(&keys[k.min(n)..(2 * k).min(n)]);
    b.clear();
    let tail = k + 1;
    // the cursors: first node of A / B not among the h smallest of the window (or the tail)
    let (mut pa, mut pb, mut below) = (h + 1, tail, h);
    out.push(block_median(&a, &b, pa, pb, k));
    let last = (full - 1) * skip;
    // offset in block A and countdown to the next output, kept as counters (no divisions)
    let (mut j, mut to_out) = (0usize, skip);
    for i in 0..last {
        // sample i leaves (from A), sample i + k enters (into B)
        let x_node = a.node[j] as usize;
        let after = a.next[x_node] as usize;
        below -= usize::from(x_node < pa);
        pa = if x_node == pa { after } else { pa };
        a.unlink(x_node);
        let y_node = b.node[j] as usize;
        b.relink(y_node);
        below += usize::from(y_node < pb);
        // Restore "exactly the h smallest below the cursors" (O(1) moves per step). The
        // sentinels' keys (MIN at the head, MAX at the tail) make the comparisons pick real
        // samples, and the window always holds more than h samples.
        loop {
            if below < h {
                let take_a = a.key[pa] <= b.key[pb];
                let (na, nb) = (a.next[pa] as usize, b.next[pb] as usize);
                pa = if take_a { na } else { pa };
                pb = if take_a { pb } else { nb };
                below += 1;
                continue;
            }
            let (qa, qb) = (a.prev[pa] as usize, b.prev[pb] as usize);
            if below > h {
                let give_a = a.key[qa] >= b.key[qb];
                pa = if give_a { qa } else { pa };
                pb = if give_a { pb } else { qb };
                below -= 1;
                continue;
            }
            // right count: swap a misplaced pair across the two blocks
            if b.key[qb] > a.key[pa] {
                pb = qb;
                pa = a.next[pa] as usize;
                continue;
            }
            if a.key[qa] > b.key[pb] {
                pa = qa;
                pb = b.next[pb] as usize;
                continue;
            }
            break;
        }
        j += 1;
        if j == k {
            // A is empty, B is whole: B becomes A and the next block (emptied) becomes B
            std::mem::swap(&mut a, &mut b);
            pa = pb;
            pb = tail;
            j = 0;
            // the new B starts two blocks after the one that just emptied
            let start = i + 1 + k;
            b.load(&keys[start.min(n)..(start + k).min(n)]);
            b.clear();
        }
        to_out -= 1;
        if to_out == 0 {
            to_out = skip;
            out.push(block_median(&a, &b, pa, pb, k));
        }
    }
    scratch.blocks = Some((a, b));
    Ok(())
}

/// Median of a window split between two blocks, given the cursors (the mean of the two
/// middle samples for even `k`).
#[inline(always)]
fn block_median(a: &SortedBlock, b: &SortedBlock, pa: usize, pb: usize, k: usize) -> f64 {
    let hi = a.key[pa].min(b.key[pb]);
    if k % 2 == 1 {
        from_order_key(hi)
    } else {
        let lo = a.key[a.prev[pa] as usize].max(b.key[b.prev[pb] as usize]);
        from_order_key(lo) * 0.5 + 0.5 * from_order_key(hi)
    }
}

/// The sliding median with the window kept as a sorted array (moving the values between the
/// leaving and the entering sample's places by one); slower than the sorted blocks for long
/// windows, but free of sentinel values.
fn median_sorted_window(keys: &[i64], wlen: usize, skip: usize, full: usize, out: &mut Vec<f64>) {
    let mut sorted: Vec<i64> = keys[..wlen].to_vec();
    sorted.sort_unstable();
    let h = wlen / 2;
    let med = |s: &[i64]| {
        if wlen % 2 == 1 {
            from_order_key(s[h])
        } else {
            from_order_key(s[h - 1]) * 0.5 + 0.5 * from_order_key(s[h])
        }
    };
    out.push(med(&sorted));
    for i in 0..(full - 1) * skip {
        let (old, new) = (keys[i], keys[i + wlen]);
        if old != new {
            let po = sorted.partition_point(|&p| p < old);
            if new > old {
                let pn = po + sorted[po..].partition_point(|&p| p < new);
                sorted.copy_within(po + 1..pn, po);
                sorted[pn - 1] = new;
            } else {
                let pn = sorted[..po].partition_point(|&p| p < new);
                sorted.copy_within(pn..po, pn + 1);
                sorted[pn] = new;
            }
        }
        if (i + 1) % skip == 0 {
            out.push(med(&sorted));
        }
    }
}

/// A block of samples as a doubly linked list in ascending key order: node `r + 1` holds the
/// `r`-th smallest key, nodes 0 and `k + 1` are the head and tail sentinels (keys `i64::MIN`
/// and `i64::MAX`, linked to themselves), so node numbers compare like keys within the block.
struct SortedBlock {
    key: Vec<i64>,
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Node of each sample offset in the block.
    node: Vec<u32>,
    packed: Vec<u64>,
    order: Vec<(i64, u32)>,
}

impl SortedBlock {
    fn new(k: usize) -> Self {
        Self {
            key: vec![0; k + 2],
            next: vec![0; k + 2],
            prev: vec![0; k + 2],
            node: vec![0; k],
            packed: Vec::with_capacity(k),
            order: Vec::new(),
        }
    }

    /// Loads (up to `k`) keys with every sample present; missing samples past the end of the
    /// data sort last and are never re-inserted.
    fn load(&mut self, keys: &[i64]) {
        let k = self.node.len();
        let key_at = |o: usize| keys.get(o).copied().unwrap_or(i64::MAX);
        let bits = usize::BITS - (k.max(2) - 1).leading_zeros();
        if bits <= 8 {
            // Sorting plain integers is much faster than pairs: the offset goes into the low
            // bits of the (unsigned, order-preserving) key, and an insertion pass on the full
            // keys then orders the rare samples whose keys differ only in those bits.
            let mask = (1u64 << bits) - 1;
            let off = |p: u64| (p & mask) as usize;
            self.packed.clear();
            self.packed
                .extend((0..k).map(|o| ((key_at(o) as u64 ^ (1 << 63)) & !mask) | o as u64));
            self.packed.sort_unstable();
            for i in 1..k {
                let mut j = i;
                // only neighbours with equal high bits can be out of order
                while j > 0
                    && (self.packed[j - 1] & !mask) == (self.packed[j] & !mask)
                    && key_at(off(self.packed[j - 1])) > key_at(off(self.packed[j]))
                {
                    self.packed.swap(j - 1, j);
                    j -= 1;
                }
            }
            for (r, &p) in self.packed.iter().enumerate() {
                self.key[r + 1] = key_at(off(p));
                self.node[off(p)] = (r + 1) as u32;
            }
        } else {
            self.order.clear();
            self.order.extend((0..k).map(|o| (key_at(o), o as u32)));
            self.order.sort_unstable();
            for (r, &(kv, o)) in self.order.iter().enumerate() {
                self.key[r + 1] = kv;
                self.node[o as usize] = (r + 1) as u32;
            }
        }
        self.key[0] = i64::MIN;
        self.key[k + 1] = i64::MAX;
        for i in 0..k + 2 {
            self.next[i] = (i + 1).min(k + 1) as u32;
            self.prev[i] = i.saturating_sub(1) as u32;
        }
    }

    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    /// Re-inserts a node where it was unlinked; valid when nodes come back in the reverse
    /// order of their removal.
    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p as usize] = x as u32;
        self.prev[n as usize] = x as u32;
    }

    /// Removes every sample, last offset first, so that offsets can come back in order.
    fn clear(&mut self) {
        for o in (0..self.node.len()).rev() {
            self.unlink(self.node[o] as usize);
        }
    }
}

/// The integer whose order is `f64::total_cmp`'s order of `v` (an involution on the bits).
fn order_key(v: f64) -> i64 {
    let b = v.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The inverse of [`order_key`].
fn from_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// Run-length encoding: (lengths, starts, values) of runs of equal values.
pub fn rle<T: PartialEq + Copy>(x: &[T]) -> (Vec<usize>, Vec<usize>, Vec<T>) {
    let mut lengths = Vec::new();
    let mut starts = Vec::new();
    let mut values = Vec::new();
    let mut i = 0;
    while i < x.len() {
        let v = x[i];
        let mut j = i + 1;
        while j < x.len() && x[j] == v {
            j += 1;
        }
        lengths.push(j - i);
        starts.push(i);
        values.push(v);
        i = j;
    }
    (lengths, starts, values)
}

/// Result of an ordinary least-squares line fit (scipy's `linregress` conventions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinFit {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// Pearson correlation (NaN when both variances are zero... as scipy).
    pub r: f64,
}

/// Least-squares line of `y` on `x`, as scipy's `linregress`: a single point gives NaN slope.
pub fn linregress(x: &[f64], y: &[f64]) -> LinFit {
    let n = x.len().min(y.len());
    if n == 0 {
        return LinFit {
            slope: f64::NAN,
            intercept: f64::NAN,
            r: f64::NAN,
        };
    }
    let xm = mean(&x[..n]);
    let ym = mean(&y[..n]);
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    let mut syy = 0.0;
    for i in 0..n {
        let dx = x[i] - xm;
        let dy = y[i] - ym;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let nf = n as f64;
    let (sxx, sxy, syy) = (sxx / nf, sxy / nf, syy / nf);
    let r = if sxx == 0.0 || syy == 0.0 {
        if sxy == 0.0 { f64::NAN } else { 0.0 }
    } else {
        (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
    };
    let slope = sxy / sxx;
    LinFit {
        slope,
        intercept: ym - slope * xm,
        r,
    }
}

/// Percentile with linear interpolation (numpy's default), `q` in [0, 100]; NaN when empty.
pub fn percentile(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    let frac = pos - lo as f64;
    // numpy's lerp: a + (b - a) * t, switched for t >= 0.5 to keep monotonicity
    let (a, b) = (s[lo], s[hi]);
    let d = b - a;
    if frac >= 0.5 {
        b - d * (1.0 - frac)
    } else {
        a + d * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_mean_matches_skdh_examples() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(moving_mean(&x, 3, 3, 3, true).unwrap(), vec![1.0, 4.0, 7.0]);
        let m = moving_mean(&x, 3, 1, 3, false).unwrap();
        assert_eq!(m.len(), 10);
        assert_eq!(&m[..8], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert!(m[8].is_nan() && m[9].is_nan());
        // partial windows with fewer required points
        let m = moving_mean(&x, 4, 1, 2, false).unwrap();
        assert_eq!(m[7], 8.0);
        assert_eq!(m[8], 8.5);
        assert!(m[9].is_nan());
        assert!(moving_mean(&x, 11, 1, 11, true).is_err());
    }

    #[test]
    fn moving_sd_matches_skdh_examples() {
        let x: Vec<f64> = (0..10).map(|i| f64::from(i * i)).collect();
        let s = moving_sd(&x, 3, 3, true).unwrap();
        for (a, b) in s.iter().zip([2.081666, 8.02080628, 14.0118997]) {
            assert!((a - b).abs() < 1e-6);
        }
        let long: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let fast = moving_sd(&long, 100, 1, false).unwrap();
        for k in [0usize, 17, 2500, 4900] {
            let exact = std_dev(&long[k..k + 100], 1);
            assert!((fast[k] - exact).abs() < 1e-12, "{k}");
        }
        assert!(fast[4901].is_nan());
    }

    #[test]
    fn moving_extremes_and_median() {
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        assert_eq!(
            moving_max(&x, 3, 1, true).unwrap(),
            vec![4.0, 4.0, 5.0, 9.0, 9.0, 9.0]
        );
        assert_eq!(
            moving_min(&x, 3, 1, true).unwrap(),
            vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0]
        );
        assert_eq!(
            moving_median(&x, 4, 1).unwrap(),
            vec![2.0, 2.5, 4.5, 3.5, 5.5]
        );
        assert_eq!(moving_median(&x, 3, 3).unwrap(), vec![3.0, 5.0]);
        let m = moving_max(&x, 3, 2, false).unwrap();
        assert_eq!(m.len(), 4);
        assert!(m[3].is_nan());
    }

    #[test]
    fn moving_median_equals_sorting_every_window() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..300 {
            // windows above 256 samples take the plain sort of the blocks
            let n = 1 + (rnd() % if case % 5 == 0 { 900 } else { 400 }) as usize;
            let wlen = 1 + (rnd() % n.min(if case % 5 == 0 { 600 } else { 90 }) as u64) as usize;
            let skip = 1 + (rnd() % 7) as usize;
            // few distinct values (ties), signed zeros and a smooth signal
            let x: Vec<f64> = (0..n)
                .map(|i| match case % 3 {
                    0 => (rnd() % 5) as f64 - 2.0,
                    1 => {
                        if rnd() % 2 == 0 {
                            0.0
                        } else {
                            -0.0
                        }
                    }
                    _ => (i as f64 * 0.05).sin() + (rnd() % 1000) as f64 * 1e-4,
                })
                .collect();
            let mut x = x;
            if case % 7 == 6 {
                // NaN patterns whose keys are the list sentinels' (the fallback path)
                x[(rnd() as usize) % n] = f64::from_bits(u64::MAX);
                x[(rnd() as usize) % n] = f64::from_bits(0x7fff_ffff_ffff_ffff);
            }
            let got = moving_median(&x, wlen, skip).unwrap();
            let want: Vec<f64> = (0..n_full(n, wlen, skip))
                .map(|k| {
                    let mut w = x[k * skip..k * skip + wlen].to_vec();
                    w.sort_by(f64::total_cmp);
                    let h = wlen / 2;
                    if wlen % 2 == 1 {
                        w[h]
                    } else {
                        w[h - 1] * 0.5 + 0.5 * w[h]
                    }
                })
                .collect();
            assert_eq!(got.len(), want.len(), "case {case}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(
                    g.to_bits(),
                    w.to_bits(),
                    "case {case} n {n} wlen {wlen} skip {skip}"
                );
            }
        }
    }

    #[test]
    fn rle_and_regression() {
        let (l, s, v) = rle(&[0, 0, 1, 1, 1, 0]);
        assert_eq!((l, s, v), (vec![2, 3, 1], vec![0, 2, 5], vec![0, 1, 0]));
        let f = linregress(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]);
        assert!((f.slope - 2.25).abs() < 1e-12);
        assert!(linregress(&[1.0], &[2.0]).slope.is_nan());
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 10.0) - 1.3).abs() < 1e-12);
    }
}
