//! Gap filling (SKDH `FillGaps`): when consecutive samples are more than 1.5 sample periods
//! apart, the recording is re-gridded at `fs` from its first sample and the missing samples get
//! fill values (acceleration [0, 0, 1] g, temperature 0 deg C, other streams 0).

use crate::io::{Recording, Triaxial};

/// numpy-style `arange(0, stop, step)`.
fn grid(t0: f64, span: f64, fs: f64) -> Vec<f64> {
    let step = 1.0 / fs;
    let n = ((span + 0.5 / fs) / step).ceil();
    if n.is_nan() || n <= 0.0 {
        return vec![t0];
    }
    (0..n as usize).map(|i| i as f64 * step + t0).collect()
}

/// The recording with its gaps filled, or `None` when it has no gap (or no valid rate).
pub fn fill_gaps(rec: &Recording) -> Option<Recording> {
    let time = &rec.time;
    let fs = rec.fs;
    if time.len() < 2 || fs.is_nan() || fs <= 0.0 {
        return None;
    }
    let gaps: Vec<usize> = (1..time.len())
        .filter(|&i| time[i] - time[i - 1] > 1.5 / fs)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let mut seqs: Vec<(usize, usize)> = Vec::with_capacity(gaps.len() + 1);
    let mut s = 0;
    for &g in &gaps {
        seqs.push((s, g));
        s = g;
    }
    seqs.push((s, time.len()));
    let t_rs = grid(time[0], time[time.len() - 1] - time[0], fs);
    let m = t_rs.len();
    // where each contiguous run lands on the new grid
    let offsets: Vec<(usize, usize, i64)> = seqs
        .iter()
        .rev()
        .map(|&(i1, i2)| {
            let base = t_rs.get(i1).copied().unwrap_or(t_rs[m - 1]);
            (i1, i2, ((time[i1] - base) * fs) as i64)
        })
        .collect();
    let place = |src: &[f64], fill: f64| -> Vec<f64> {
        let mut out = vec![fill; m];
        for &(i1, i2, off) in &offsets {
            for (i, &v) in src.iter().enumerate().take(i2).skip(i1) {
                let j = i as i64 + off;
                if j >= 0 && (j as usize) < m {
                    out[j as usize] = v;
                }
            }
        }
        out
    };
    let tri = |t: &Triaxial, fill: [f64; 3]| Triaxial {
        x: place(&t.x, fill[0]),
        y: place(&t.y, fill[1]),
        z: place(&t.z, fill[2]),
    };
    let mut out = rec.clone();
    out.accel = tri(&rec.accel, [0.0, 0.0, 1.0]);
    out.gyro = rec.gyro.as_ref().map(|g| tri(g, [0.0; 3]));
    out.temperature = rec.temperature.as_ref().map(|t| place(t, 0.0));
    out.light = rec.light.as_ref().map(|l| place(l, 0.0));
    out.time = t_rs;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_a_gap_with_gravity() {
        let mut rec = Recording {
            fs: 10.0,
            ..Default::default()
        };
        for i in (0..20).chain(30..40) {
            rec.time.push(f64::from(i) / 10.0);
            rec.accel.push([0.5, 0.5, 0.5]);
        }
        let f = fill_gaps(&rec).unwrap();
        assert_eq!(f.time.len(), 40);
        assert_eq!(f.accel.z[25], 1.0);
        assert_eq!(f.accel.x[25], 0.0);
        assert_eq!(f.accel.x[35], 0.5);
        assert!(fill_gaps(&f).is_none());
    }
}
