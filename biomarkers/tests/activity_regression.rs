//! SKDH's own activity regression values (`skdh/activity/activity_results.npz` of the shared
//! data): SKDH's test feeds 240,000 samples at 50 Hz (x = y = 0, z ~ N(1, 1) from numpy's
//! `default_rng(5)`, the last 20 % a sleep window, worn throughout) to
//! `ActivityLevelClassification(short_wlen=5, max_accel_lens=(10,), bout_lens=(10,),
//! bout_criteria=0.8, bout_metric=4, min_wear_time=1, cutpoints="migueles_wrist_adult")` and
//! stores every endpoint. The input needs numpy's generator, so `scripts/test` writes it with
//! `scripts/skdh/activity_regression_input.py` and names it in
//! `STUDYFLOW_ACTIVITY_REGRESSION_INPUT`; without that variable the test says it skipped.
//! Every endpoint in the file must match ours within 1e-6 relative (NaN equal to NaN).

#[path = "reference/signal.rs"]
mod signal;

use std::path::PathBuf;

use biomarkers::activity::{ActivityInputs, ActivityParams, CutpointsSpec, activity};
use biomarkers::io::npz;
use biomarkers::preprocessing::Axes;
use biomarkers::preprocessing::days::{LocalClock, day_windows};
use biomarkers::table::ColumnData;
use signal::close;

fn expected() -> Vec<(String, f64)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/skdh/activity/activity_results.npz");
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("shared data {}: {e}", path.display()));
    let arrays = npz::read_arrays(std::io::BufReader::new(file)).expect("activity_results.npz");
    arrays
        .into_iter()
        .map(|(name, a)| {
            assert_eq!(a.values.len(), 1, "{name}: one value per endpoint");
            (name, a.values[0])
        })
        .collect()
}

#[test]
fn activity_matches_skdh_regression_values() {
    let Some(input) = std::env::var_os("STUDYFLOW_ACTIVITY_REGRESSION_INPUT") else {
        eprintln!(
            "activity_regression: SKIPPED (STUDYFLOW_ACTIVITY_REGRESSION_INPUT is not set; \
             scripts/test sets it)"
        );
        return;
    };
    let file = std::fs::File::open(&input).expect("the generated input");
    let rec = npz::read(std::io::BufReader::new(file)).expect("read the generated input");
    assert_eq!(rec.len(), 240_000);
    // 1 / mean step of the times, as SKDH derives it when given fs=None: 50.00005 Hz (0.02 s
    // steps rounded to the f64 spacing near 1.6e9 s)
    assert!((rec.fs - 50.0).abs() < 1e-3, "fs {}", rec.fs);
    let n = rec.len();
    let clock = LocalClock::new(None).unwrap();
    let days = day_windows(&rec.time, rec.fs, 0, 24, &clock).unwrap();
    assert_eq!(days.len(), 1, "1.3 h inside one calendar day (UTC)");
    // SKDH's sleep array [[int(0.8 n), n - 1]], here as the one day's window
    let sleep = vec![Some(((0.8 * n as f64) as usize, n - 1))];
    let params = ActivityParams {
        short_wlen: 5,
        max_accel_lens: vec![10],
        bout_lens: vec![10],
        bout_criteria: 0.8,
        bout_metric: 4,
        min_wear_time: 1,
        cutpoints: CutpointsSpec::Name("migueles_wrist_adult".into()),
        ..ActivityParams::default()
    };
    let out = activity(
        &ActivityInputs {
            time: &rec.time,
            accel: Axes::new(&rec.accel.x, &rec.accel.y, &rec.accel.z),
            fs: rec.fs,
            wear: None,
            sleep: Some(&sleep),
            days: Some(&days),
            clock: &clock,
        },
        &params,
    )
    .unwrap();
    assert_eq!(out.daily.num_rows(), 1);
    let want = expected();
    assert!(want.len() > 30, "{} endpoints in the reference", want.len());
    let mut bad = Vec::new();
    for (name, v) in &want {
        let Some(col) = out.daily.column(name) else {
            bad.push(format!("missing column '{name}'"));
            continue;
        };
        let ColumnData::F64(d) = &col.data else {
            bad.push(format!("'{name}' is not a number column"));
            continue;
        };
        if !close(d[0], *v, 1e-6) {
            bad.push(format!("'{name}': ours {:?} vs SKDH {v:?}", d[0]));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} endpoints differ:\n{}",
        bad.len(),
        want.len(),
        bad.join("\n")
    );
}
