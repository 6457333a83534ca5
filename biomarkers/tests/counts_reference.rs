//! ActiGraph counts against ActiGraph's own references: the 256 Hz resampling of agcounts'
//! `32Hz_input.csv` / `30Hz_output.csv` (../shared/data/agcounts), and agcounts 0.2.6's counts
//! of three real recordings (`tests/reference/agcounts.json`, written by
//! `scripts/skdh/counts_reference.py`), at 30 Hz, 32 Hz and 100 Hz.

use std::path::{Path, PathBuf};

use biomarkers::io::{ReadOptions, read_file};
use biomarkers::preprocessing::Axes;
use biomarkers::preprocessing::counts::{
    CountsParams, Resampling, actigraph_counts, resample_pow2_to_30hz,
};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

fn column(rel: &str) -> Vec<f64> {
    std::fs::read_to_string(data(rel))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse::<f64>().unwrap())
        .collect()
}

/// An ActiLife raw CSV export: 10 preamble lines, a header, then x, y, z in g.
fn actilife_csv(rel: &str) -> [Vec<f64>; 3] {
    let text = std::fs::read_to_string(data(rel)).unwrap();
    let mut out: [Vec<f64>; 3] = Default::default();
    for line in text.lines().skip(11).filter(|l| !l.trim().is_empty()) {
        let v: Vec<f64> = line.split(',').map(|f| f.trim().parse().unwrap()).collect();
        for k in 0..3 {
            out[k].push(v[k]);
        }
    }
    out
}

#[test]
fn pow2_resampling_matches_actigraph_reference() {
    let input = column("agcounts/32Hz_input.csv");
    let expected = column("agcounts/30Hz_output.csv");
    let got = resample_pow2_to_30hz(&input, 32);
    assert_eq!(got.len(), expected.len());
    let n = got.len();
    let worst = (0..n)
        .map(|i| (got[i] - expected[i]).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "largest difference {worst:e}");
    // ActiGraph's own quirk, reproduced: the last sample has no right neighbour and is 0
    assert_eq!((expected[n - 1], got[n - 1]), (0.0, 0.0));
}

#[test]
fn counts_equal_agcounts_on_real_recordings() {
    let refj: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/agcounts.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let inputs = refj["inputs"].as_object().unwrap();
    assert_eq!(inputs.len(), 3);
    for (rel, case) in inputs {
        let fs = case["fs"].as_f64().unwrap();
        let epoch = case["epoch_seconds"].as_u64().unwrap() as u32;
        let (time, accel): (Vec<f64>, [Vec<f64>; 3]) = if rel.ends_with(".cwa") {
            let rec = read_file(&data(rel), &ReadOptions::default()).unwrap();
            (rec.time, [rec.accel.x, rec.accel.y, rec.accel.z])
        } else {
            let a = actilife_csv(rel);
            ((0..a[0].len()).map(|i| i as f64 / fs).collect(), a)
        };
        assert_eq!(
            time.len() as u64,
            case["n_samples"].as_u64().unwrap(),
            "{rel}"
        );
        let c = actigraph_counts(
            &time,
            Axes::new(&accel[0], &accel[1], &accel[2]),
            fs,
            &CountsParams {
                epoch_seconds: epoch,
                lfe_select: false,
            },
        )
        .unwrap();
        let expect_resampling = if fs == 32.0 {
            Resampling::PowerOfTwo
        } else {
            Resampling::ActiLife
        };
        assert_eq!(c.resampling, expect_resampling, "{rel}");
        let want: Vec<Vec<u32>> = case["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect()
            })
            .collect();
        assert_eq!(want.len(), 3, "{rel}");
        for k in 0..3 {
            let (got, want) = (&c.axes[k], &want[k]);
            assert_eq!(got.len(), want.len(), "{rel} axis {k}: epochs");
            assert_eq!(got, want, "{rel} axis {k}");
        }
        assert!(
            c.axes.iter().flatten().any(|&v| v > 0),
            "{rel}: some motion"
        );
    }
}
