//! Sleep (24 per-night columns and the sleep windows passed on to activity) compared with SKDH
//! 0.17.18 on the synthetic scenarios (SKDH's own wear bouts fed in), plus SKDH's own
//! regression references for the sleep/wake classifier.

#[path = "reference/signal.rs"]
mod signal;

use std::path::PathBuf;

use biomarkers::preprocessing::Axes;
use biomarkers::preprocessing::days::{LocalClock, day_windows};
use biomarkers::sleep::classify::sleep_predictions;
use biomarkers::sleep::{SleepInputs, SleepParams, sleep};
use biomarkers::table::ColumnData;
use signal::{close, generate, load_reference, num, pairs, scenario};

fn check_sleep(name: &str) {
    let refj = load_reference(&format!("scenario_{name}"));
    let sig = generate(&scenario(name));
    signal::check_fingerprint(&sig, &refj["input"]);
    let clock = LocalClock::new(refj["tz_name"].as_str()).unwrap();
    let days = day_windows(&sig.time, sig.fs, 12, 24, &clock).unwrap();
    let wear = pairs(&refj["wear"]["accel_threshold"]);
    let out = sleep(
        &SleepInputs {
            time: &sig.time,
            accel: Axes::new(&sig.x, &sig.y, &sig.z),
            temperature: Some(&sig.temperature),
            fs: sig.fs,
            wear: Some(&wear),
            days: &days,
            clock: &clock,
        },
        &SleepParams::default(),
    )
    .unwrap();
    let mut bad = Vec::new();
    let want_idx: Vec<(i64, i64)> = refj["sleep"]["sleep_idx"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_i64().unwrap()))
        .collect();
    let got_idx: Vec<(i64, i64)> = out
        .sleep_windows
        .iter()
        .map(|w| w.map_or((-1, -1), |(a, b)| (a as i64, b as i64)))
        .collect();
    if got_idx != want_idx {
        bad.push(format!(
            "{name}: sleep windows {got_idx:?} vs SKDH {want_idx:?}"
        ));
    }
    let nights = refj["sleep"]["nights"].as_object().unwrap();
    assert_eq!(out.nights.columns.len(), 24);
    for (col, vals) in nights {
        let Some(c) = out.nights.column(col) else {
            bad.push(format!("missing column {col}"));
            continue;
        };
        for (i, v) in vals.as_array().unwrap().iter().enumerate() {
            let ok = match &c.data {
                ColumnData::F64(d) => d.get(i).is_some_and(|x| close(*x, num(v), 1e-6)),
                ColumnData::I64(d) => d.get(i).copied() == v.as_i64(),
                ColumnData::Str(d) => d.get(i).map(String::as_str) == v.as_str(),
                ColumnData::Bool(d) => d.get(i).copied() == v.as_bool(),
            };
            if !ok {
                bad.push(format!(
                    "{name} '{col}' night {i}: ours {:?} vs SKDH {v}",
                    c.data_at(i)
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

trait At {
    fn data_at(&self, i: usize) -> String;
}

impl At for biomarkers::table::Column {
    fn data_at(&self, i: usize) -> String {
        match &self.data {
            ColumnData::F64(d) => format!("{:?}", d.get(i)),
            ColumnData::I64(d) => format!("{:?}", d.get(i)),
            ColumnData::Str(d) => format!("{:?}", d.get(i)),
            ColumnData::Bool(d) => format!("{:?}", d.get(i)),
        }
    }
}

#[test]
fn sleep_matches_skdh_days_over_dst() {
    check_sleep("days");
}

#[test]
fn sleep_matches_skdh_at_50hz_resampled() {
    check_sleep("rate50");
}

#[test]
fn sleep_matches_skdh_calib() {
    check_sleep("calib");
}

fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/skdh/sleep")
}

fn read_column(name: &str) -> Vec<f64> {
    let p = shared_data().join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines()
        .filter_map(|l| l.split(',').next_back())
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .collect()
}

#[test]
fn cole_kripke_matches_skdh_regression_reference() {
    let ai = read_column("test_activity_index.csv");
    assert_eq!(ai.len(), 1439);
    let raw = sleep_predictions(&ai, 0.243, false);
    // these files hold SKDH's h5 values, wake = 1 (SKDH's test compares with 1 - value)
    let want: Vec<f64> = read_column("expected_output.csv")
        .iter()
        .map(|v| 1.0 - v)
        .collect();
    assert_eq!(raw.len(), want.len());
    let diff = raw
        .iter()
        .zip(&want)
        .filter(|(a, b)| f64::from(**a) != **b)
        .count();
    assert_eq!(diff, 0, "sleep=1 predictions differ in {diff} minutes");
    let rescored = sleep_predictions(&ai, 0.243, true);
    let want: Vec<f64> = read_column("expected_output_rescored.csv")
        .iter()
        .map(|v| 1.0 - v)
        .collect();
    // SKDH's test compares the rescored minutes 570..1110 (its sleep window)
    assert_eq!(want.len(), 540);
    assert_eq!(
        rescored[570..1110]
            .iter()
            .map(|&v| f64::from(v))
            .collect::<Vec<_>>(),
        want
    );
}
