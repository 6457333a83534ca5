//! Independent truth: initial contacts against the 20 footfalls a pressure walkway (PKMAS)
//! recorded while a lumbar GENEActiv (50 Hz) was worn (`skdh/gait_pkmas_reference`). The clocks
//! are aligned as the data authors did: accelerometer sample 2420 = first walkway time (4.4667 s).
//!
//! * Default mode equals SKDH (`tests/reference/gait_pkmas_skdh.json`, from
//!   `scripts/skdh/gait_reference.py`): the classifier's bouts are all shorter than the 8 s
//!   minimum, so neither finds a step; "whole recording as gait" gives SKDH's ICs.
//! * The opt-in short-bout mode (classifier bouts padded by 1.5 s, minimum bout 3 s) finds most
//!   footfalls; the counts are printed for BENCHMARKS.md.

use std::path::PathBuf;

use biomarkers::gait::classifier::{ClassifierParams, classify_gait};
use biomarkers::gait::{
    BodySize, EventMethod, GaitParams, VerticalCwtParams, gait_lumbar, pad_bouts,
};
use biomarkers::io::geneactiv;
use biomarkers::preprocessing::Axes;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/skdh/gait_pkmas_reference")
}

fn footfalls() -> Vec<f64> {
    let text = std::fs::read_to_string(dir().join("TestACH_20200303_PKMAS_Footfalls.csv")).unwrap();
    text.lines()
        .skip(10)
        .filter_map(|l| l.split(',').nth(2)?.trim().parse().ok())
        .collect()
}

/// Footfalls with an initial contact within `tol` s.
fn matched(ics: &[f64], truth: &[f64], tol: f64) -> usize {
    truth
        .iter()
        .filter(|&&t| ics.iter().any(|&i| (i - t).abs() <= tol))
        .count()
}

/// Mean absolute error (s) of the nearest IC to each matched footfall, and the ICs inside the
/// three walkway passes (first footfall - 0.5 s to last footfall + 0.8 s) that match no footfall.
fn errors(ics: &[f64], truth: &[f64], tol: f64) -> (f64, usize) {
    let mut errs = Vec::new();
    for &t in truth {
        let best = ics
            .iter()
            .map(|&i| (i - t).abs())
            .fold(f64::INFINITY, f64::min);
        if best <= tol {
            errs.push(best);
        }
    }
    let mae = errs.iter().sum::<f64>() / errs.len().max(1) as f64;
    let passes = [(0, 7), (7, 14), (14, 20)];
    let extra = ics
        .iter()
        .filter(|&&i| {
            passes
                .iter()
                .any(|&(a, b)| i >= truth[a] - 0.5 && i <= truth[b - 1] + 0.8)
                && truth.iter().all(|&t| (i - t).abs() > tol)
        })
        .count();
    (mae, extra)
}

fn skdh() -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/gait_pkmas_skdh.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn walkway_initial_contacts() {
    let truth = footfalls();
    assert_eq!(truth.len(), 20);
    let file = dir().join("TestACH20200305-PKMA_back_048877_2020-03-05_14-40-44.bin");
    let rec = geneactiv::read(std::fs::File::open(file).unwrap()).unwrap();
    assert_eq!(rec.len(), 6600);
    let ax = Axes::new(&rec.accel.x, &rec.accel.y, &rec.accel.z);
    let shift = 4.4667 - rec.time[2420];
    let s = skdh();

    let c = classify_gait(&rec.time, ax, rec.fs, &ClassifierParams::default()).unwrap();
    let want: Vec<(usize, usize)> = s["classifier_bouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b[0].as_u64().unwrap() as usize,
                b[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(c.bouts, want);

    let run = |bouts: &[(usize, usize)], p: &GaitParams| -> Vec<f64> {
        gait_lumbar(&rec.time, ax, None, rec.fs, bouts, BodySize::Height(1.8), p)
            .unwrap()
            .ic_time
            .iter()
            .map(|t| t + shift)
            .collect()
    };
    let vcwt = GaitParams {
        event_method: EventMethod::VerticalCwt(VerticalCwtParams::default()),
        ..GaitParams::default()
    };
    let whole = [(0, rec.len() - 1)];
    let mut lines = Vec::new();
    for (name, p) in [("apcwt", GaitParams::default()), ("vcwt", vcwt)] {
        // parity with SKDH in the default mode
        let ours_cls = run(&c.bouts, &p);
        let sk_cls = floats(&s[format!("classifier_{name}_ic")]);
        assert_eq!(ours_cls.len(), sk_cls.len(), "{name} classifier bouts");
        let ours_whole = run(&whole, &p);
        let sk_whole = floats(&s[format!("whole_{name}_ic")]);
        assert_eq!(ours_whole.len(), sk_whole.len(), "{name} whole");
        for (a, b) in ours_whole.iter().zip(&sk_whole) {
            assert!((a - b).abs() < 1e-3, "{name}: IC {a} vs SKDH {b}");
        }
        // opt-in short-bout mode
        let short = GaitParams {
            min_bout_time: 3.0,
            ..p.clone()
        };
        let padded = pad_bouts(&c.bouts, (1.5 * rec.fs) as usize, rec.len());
        let ours_short = run(&padded, &short);
        let m = |ics: &[f64]| matched(ics, &truth, 0.25);
        let (mae, extra) = errors(&ours_short, &truth, 0.25);
        lines.push(format!(
            "{name}: footfalls matched within 0.25 s (of 20): SKDH classifier {} (ICs {}), SKDH whole {} (ICs {}), ours short-bout mode {} (ICs {}, mean |error| {:.3} s, unmatched ICs on the walkway {})",
            m(&sk_cls),
            sk_cls.len(),
            m(&sk_whole),
            sk_whole.len(),
            m(&ours_short),
            ours_short.len(),
            mae,
            extra
        ));
        assert!(
            m(&ours_short) > m(&sk_whole).max(m(&sk_cls)),
            "{}",
            lines.last().unwrap()
        );
    }
    eprintln!("{}", lines.join("\n"));
}

/// Open Movement's `example-610-steps.cwa` (610 steps by its name): quality-checked steps in
/// the default mode equal SKDH's (`tests/reference/gait_610_skdh.json`); the short-bout mode
/// count is printed for BENCHMARKS.md.
#[test]
fn steps_610() {
    use biomarkers::io::cwa::{CwaReadOptions, read_file};
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/gait_610_skdh.json");
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/openmovement/example-610-steps.cwa");
    let rec = read_file(file, &CwaReadOptions::skdh()).unwrap();
    assert_eq!(rec.len() as u64, s["n_samples"].as_u64().unwrap());
    let ax = Axes::new(&rec.accel.x, &rec.accel.y, &rec.accel.z);
    let c = classify_gait(&rec.time, ax, rec.fs, &ClassifierParams::default()).unwrap();
    let steps = |bouts: &[(usize, usize)], p: &GaitParams| {
        gait_lumbar(&rec.time, ax, None, rec.fs, bouts, BodySize::Height(1.8), p)
            .unwrap()
            .len()
    };
    let ours_cls = steps(&c.bouts, &GaitParams::default());
    let ours_whole = steps(&[(0, rec.len() - 1)], &GaitParams::default());
    assert_eq!(ours_cls as u64, s["classifier_steps"].as_u64().unwrap());
    assert_eq!(ours_whole as u64, s["whole_steps"].as_u64().unwrap());
    let short = GaitParams {
        min_bout_time: 3.0,
        ..GaitParams::default()
    };
    let ours_short = steps(
        &pad_bouts(&c.bouts, (1.5 * rec.fs) as usize, rec.len()),
        &short,
    );
    eprintln!(
        "610-step file: SKDH classifier {} steps, SKDH whole {} steps, ours short-bout mode {ours_short} steps",
        s["classifier_steps"], s["whole_steps"]
    );
}
