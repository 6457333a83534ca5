//! Per-bout and per-day gait summaries (which SKDH leaves to the data scientist): medians of
//! the per-step endpoints over each bout and each day, with walking time, step and bout counts.
//! Medians ignore NaN (steps without a following step or stride).

use super::GaitResult;
use super::signal::nanmedian;
use crate::table::{ColumnData, Table};

/// Per-step endpoints summarised by their median, with the output column name and unit.
const MEDIANS: [(&str, &str, &str); 9] = [
    ("cadence", "median cadence", "steps/min"),
    ("gait speed", "median gait speed", "m/s"),
    ("gait speed m1", "median gait speed m1", "m/s"),
    ("step time", "median step time", "s"),
    ("stride time", "median stride time", "s"),
    ("step length", "median step length", "m"),
    ("stride length", "median stride length", "m"),
    ("double support", "median double support", "s"),
    ("stance time", "median stance time", "s"),
];

fn group_medians(res: &GaitResult, rows: &[Vec<usize>]) -> Vec<(String, &'static str, Vec<f64>)> {
    MEDIANS
        .iter()
        .map(|&(src, name, unit)| {
            let col = res.endpoint(src);
            let vals = rows
                .iter()
                .map(|r| match col {
                    Some(c) => nanmedian(&r.iter().map(|&i| c[i]).collect::<Vec<_>>()),
                    None => f64::NAN,
                })
                .collect();
            (name.to_string(), unit, vals)
        })
        .collect()
}

/// Row indices of each bout, in bout order.
fn bout_rows(res: &GaitResult) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in 0..res.len() {
        if i == 0 || res.bout_n[i] != res.bout_n[i - 1] {
            out.push(Vec::new());
        }
        if let Some(last) = out.last_mut() {
            last.push(i);
        }
    }
    out
}

/// One row per bout with steps: bout number, start (unix s), duration (s), steps, gait cycles,
/// steps in turns, step frequency, the bout-level endpoints, and medians of the per-step
/// endpoints (`gait_bout_summary`).
pub fn bout_summary(res: &GaitResult) -> Table {
    let rows = bout_rows(res);
    let first = |f: &dyn Fn(usize) -> f64| -> Vec<f64> { rows.iter().map(|r| f(r[0])).collect() };
    let bout_level = |name: &str| -> Vec<f64> {
        match res.endpoint(name) {
            Some(c) => rows.iter().map(|r| c[r[0]]).collect(),
            None => vec![f64::NAN; rows.len()],
        }
    };
    let mut t = Table::new("gait_bout_summary")
        .with(
            "Bout N",
            None,
            ColumnData::I64(rows.iter().map(|r| res.bout_n[r[0]]).collect()),
        )
        .with(
            "Bout Start",
            Some("unix s"),
            ColumnData::F64(first(&|i| res.bout_start[i])),
        )
        .with(
            "Bout Duration",
            Some("s"),
            ColumnData::F64(first(&|i| res.bout_duration[i])),
        )
        .with(
            "Steps",
            None,
            ColumnData::I64(rows.iter().map(|r| r.len() as i64).collect()),
        )
        .with(
            "Gait Cycles",
            None,
            ColumnData::I64(rows.iter().map(|r| res.gait_cycles[r[0]]).collect()),
        )
        .with(
            "Steps In Turns",
            None,
            ColumnData::I64(
                rows.iter()
                    .map(|r| r.iter().filter(|&&i| res.turn[i] > 0).count() as i64)
                    .collect(),
            ),
        )
        .with(
            "Step Frequency Estimate",
            Some("steps/s"),
            ColumnData::F64(first(&|i| res.mean_step_freq[i])),
        );
    for (name, unit, vals) in group_medians(res, &rows) {
        t = t.with(&name, Some(unit), ColumnData::F64(vals));
    }
    for (src, unit) in [
        ("bout:phase coordination index", Some("%")),
        ("bout:gait symmetry index", None),
        ("bout:step regularity - V", None),
        ("bout:stride regularity - V", None),
    ] {
        let name = src.trim_start_matches("bout:");
        t = t.with(name, unit, ColumnData::F64(bout_level(src)));
    }
    t
}

/// One row per day window `days` ([start, end) unix s; a bout counts on the day of its start):
/// bouts, steps, walking time (s), longest bout (s) and the medians of the per-step endpoints
/// over the day's steps (`gait_day_summary`). Days without gait have zero counts and NaN
/// medians.
pub fn day_summary(res: &GaitResult, days: &[(f64, f64)]) -> Table {
    let bouts = bout_rows(res);
    let mut day_rows: Vec<Vec<usize>> = vec![Vec::new(); days.len()];
    let mut n_bouts = vec![0i64; days.len()];
    let mut walk = vec![0.0; days.len()];
    let mut longest = vec![0.0f64; days.len()];
    for r in &bouts {
        let start = res.bout_start[r[0]];
        if let Some(d) = days.iter().position(|&(a, b)| start >= a && start < b) {
            day_rows[d].extend(r);
            n_bouts[d] += 1;
            walk[d] += res.bout_duration[r[0]];
            longest[d] = longest[d].max(res.bout_duration[r[0]]);
        }
    }
    let mut t = Table::new("gait_day_summary")
        .with(
            "Day N",
            None,
            ColumnData::I64((1..=days.len() as i64).collect()),
        )
        .with(
            "Day Start",
            Some("unix s"),
            ColumnData::F64(days.iter().map(|d| d.0).collect()),
        )
        .with(
            "Day End",
            Some("unix s"),
            ColumnData::F64(days.iter().map(|d| d.1).collect()),
        )
        .with("Bouts", None, ColumnData::I64(n_bouts))
        .with(
            "Steps",
            None,
            ColumnData::I64(day_rows.iter().map(|r| r.len() as i64).collect()),
        )
        .with("Walking Time", Some("s"), ColumnData::F64(walk))
        .with("Longest Bout", Some("s"), ColumnData::F64(longest));
    for (name, unit, vals) in group_medians(res, &day_rows) {
        t = t.with(&name, Some(unit), ColumnData::F64(vals));
    }
    t
}
