//! Per-minute sleep/wake: the activity index (after Bai 2016) and a Cole-Kripke style score with
//! Webster's rescoring rules, as SKDH's `compute_activity_index` and
//! `compute_sleep_predictions`.

use crate::preprocessing::Axes;
use crate::preprocessing::filter::{
    Band, FILT_CHUNK, FilterError, butter, padlen, sosfiltfilt_chunks_rev,
};

/// Activity index per non-overlapping minute, g: of the 0.25 Hz high-passed acceleration, the
/// square root of the minute's mean of the (population) variance across the three axes at each
/// sample (what SKDH computes).
pub fn activity_index(fs: f64, accel: Axes<'_>) -> Result<Vec<f64>, FilterError> {
    let sos = butter(3, Band::High(0.25 * 2.0 / fs))?;
    let axes = accel.axes();
    let edge = padlen(&sos);
    if let Some(a) = axes.iter().find(|a| a.len() <= edge) {
        return Err(FilterError::TooShort {
            n: a.len(),
            padlen: edge,
        });
    }
    let w = (60.0 * fs) as usize;
    if w == 0 {
        return Ok(Vec::new());
    }
    let n = axes.iter().map(|a| a.len()).min().unwrap_or(0);
    let axes = axes.map(|a| &a[..n]);
    let rows = n / w;
    let mut out = vec![0.0; rows];
    // The filtered axes are never held whole: chunks of whole minutes come from the chunked
    // filter (from the end), and each minute is summed in sample order as before.
    let chunk = w * (FILT_CHUNK / w).max(1);
    sosfiltfilt_chunks_rev(&sos, &axes, chunk, &mut |start, hf| {
        let end = start + hf[0].len();
        // SKDH takes the variance across the three axes at each sample (numpy `var(...,
        // axis=2)` of the windowed view), then the mean of that over the minute
        let mut r = start / w;
        while r < rows && (r + 1) * w <= end {
            let range = r * w - start..(r + 1) * w - start;
            let mut acc = 0.0;
            for ((&a, &b), &c) in hf[0][range.clone()]
                .iter()
                .zip(&hf[1][range.clone()])
                .zip(&hf[2][range])
            {
                let m = (a + b + c) / 3.0;
                acc += ((a - m) * (a - m) + (b - m) * (b - m) + (c - m) * (c - m)) / 3.0;
            }
            out[r] = (acc / w as f64).sqrt();
            r += 1;
        }
    })?;
    Ok(out)
}

/// Sleep (1) / wake (0) per minute: convolution of the activity index with the Cole-Kripke
/// kernel scaled by `sf`, sleep where the score is below 0.5, then (if `rescore`) Webster's
/// rules as SKDH 0.17.18 applies them (including its indexing quirk in rule d, kept for
/// parity; see the comment in the code).
pub fn sleep_predictions(ai: &[f64], sf: f64, rescore: bool) -> Vec<u8> {
    let kernel: Vec<f64> = [0.0, 0.0, 4.024, 5.84, 16.19, 5.07, 3.75, 6.87, 4.64]
        .iter()
        .map(|k| k * sf)
        .collect();
    let n = ai.len();
    let m = kernel.len();
    // numpy convolve(..., "same"): the centre part of the full convolution
    let full_len = n + m - 1;
    let len_same = n.max(m);
    let off = (full_len - len_same) / 2;
    let mut pred: Vec<u8> = (0..n)
        .map(|i| {
            let k = i + off;
            let mut s = 0.0;
            for (j, &kv) in kernel.iter().enumerate() {
                if k >= j && k - j < n {
                    s += ai[k - j] * kv;
                }
            }
            u8::from(s < 0.5)
        })
        .collect();
    if !rescore {
        return pred;
    }
    let mut wake = 0usize;
    for t in 0..n {
        if pred[t] == 0 {
            wake += 1;
        } else {
            let len = if wake >= 15 {
                4
            } else if wake >= 10 {
                3
            } else if wake >= 4 {
                1
            } else {
                0
            };
            for v in pred.iter_mut().skip(t).take(len) {
                *v = 0;
            }
            wake = 0;
        }
    }
    // Rule d ("<= 6 min of sleep between wake") as SKDH 0.17.18 executes it: its mask is an
    // integer 0/1 array (bool & int), which numpy uses as indices, so instead of the flagged runs
    // it rescores run 0 (when some run is not flagged) and run 1 (when some run is flagged).
    let (lens, starts, vals) = crate::preprocessing::stats::rle(&pred);
    let flagged: Vec<bool> = (0..lens.len())
        .map(|i| starts[i] >= 10 && starts[i] + 10 < n && lens[i] <= 6 && vals[i] == 1)
        .collect();
    for (run, wanted) in [(0usize, false), (1usize, true)] {
        if run < lens.len() && flagged.contains(&wanted) {
            for v in &mut pred[starts[run]..starts[run] + lens[run]] {
                *v = 0;
            }
        }
    }
    pred
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_minutes_are_sleep() {
        let mut ai = vec![0.0; 40];
        for v in &mut ai[..12] {
            *v = 1.0;
        }
        let p = sleep_predictions(&ai, 0.243, true);
        assert!(p[30..].iter().all(|&v| v == 1));
        assert!(p[..10].iter().all(|&v| v == 0));
        // after >= 10 min of wake the next 3 sleep minutes are rescored
        let raw = sleep_predictions(&ai, 0.243, false);
        let first_sleep = raw.iter().position(|&v| v == 1).unwrap();
        assert_eq!(p[first_sleep..first_sleep + 3], [0, 0, 0]);
    }
}
