//! Issue 5, "Must hold": inputs the algorithms cannot use (too short, too low a sampling rate,
//! all non-wear, NaN samples, no samples) give a clear result (per-day rows whose `reason` says
//! why they are empty) or a clear error naming the step; never a panic, never a NaN without a
//! reason. Every step runs on every input, alone and in the whole pipeline.

use std::panic::{AssertUnwindSafe, catch_unwind};

use biomarkers::io::{Recording, Triaxial};
use biomarkers::pipeline::{Pipeline, PipelineSpec, SubjectContext};
use biomarkers::table::{ColumnData, Table};

/// 2023-06-01 10:00 UTC.
const T0: f64 = 1_685_613_600.0;

/// A small deterministic generator (the test must not depend on a crate's random streams).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }

    fn noise(&mut self, sd: f64) -> f64 {
        // sum of uniforms: close enough to normal for a test signal
        (0..4).map(|_| self.uniform() - 0.5).sum::<f64>() * sd * 1.732
    }
}

/// A wrist recording: active days (08-22 h local), still nights, turning now and then.
fn wrist(hours: f64, fs: f64, seed: u64) -> Recording {
    let n = (hours * 3600.0 * fs) as usize;
    let mut r = Lcg(seed);
    let mut rec = Recording {
        fs,
        accel: Triaxial::with_capacity(n),
        temperature: Some(Vec::with_capacity(n)),
        ..Default::default()
    };
    let mut tilt = 0.0f64;
    for i in 0..n {
        let t = T0 + i as f64 / fs;
        let hour = ((t / 3600.0) % 24.0 + 24.0) % 24.0;
        let awake = (8.0..22.0).contains(&hour);
        if i % (fs as usize * 300).max(1) == 0 {
            tilt = r.uniform() * 1.4 - 0.7;
        }
        let (amp, sd) = if awake { (0.25, 0.05) } else { (0.0, 0.004) };
        let motion = amp * (2.0 * std::f64::consts::PI * 1.7 * t).sin();
        rec.time.push(t);
        rec.accel.push([
            tilt.sin() + motion + r.noise(sd),
            r.noise(sd),
            tilt.cos() + 0.5 * motion + r.noise(sd),
        ]);
        if let Some(temp) = rec.temperature.as_mut() {
            temp.push(if awake { 31.0 } else { 33.0 } + r.noise(0.05));
        }
    }
    rec
}

/// Lying on a table: the same value (plus sensor noise) throughout, room temperature.
fn still(hours: f64, fs: f64) -> Recording {
    let mut rec = wrist(hours, fs, 7);
    let mut r = Lcg(11);
    for i in 0..rec.len() {
        rec.accel.x[i] = 0.01 + r.noise(0.0005);
        rec.accel.y[i] = -0.02 + r.noise(0.0005);
        rec.accel.z[i] = 1.0 + r.noise(0.0005);
    }
    rec.temperature = Some(vec![21.5; rec.len()]);
    rec
}

fn with_nans(mut rec: Recording) -> Recording {
    let fs = rec.fs;
    let block = (3.0 * 3600.0 * fs) as usize..(3.0 * 3600.0 * fs + 600.0 * fs) as usize;
    for i in block {
        rec.accel.x[i] = f64::NAN;
        rec.accel.y[i] = f64::NAN;
        rec.accel.z[i] = f64::NAN;
    }
    for i in (0..rec.len()).step_by(9973) {
        rec.accel.y[i] = f64::NAN;
    }
    if let Some(t) = rec.temperature.as_mut() {
        let n = t.len();
        t[n / 2..n / 2 + 100].fill(f64::NAN);
    }
    rec
}

fn pipeline(json: &str) -> Pipeline {
    let spec: PipelineSpec = serde_json::from_str(json).unwrap();
    Pipeline::from_spec(&spec).unwrap()
}

const ALL: &str = r#"{"steps":[
    {"step":"fill_gaps"}, {"step":"calibrate"}, {"step":"wear"}, {"step":"sleep"},
    {"step":"activity"}, {"step":"staudenmayer","params":{"arm_axis":0}},
    {"step":"counts"}, {"step":"gait"}]}"#;

/// Each step alone (after the wear step it needs, where it uses one) and the whole pipeline.
fn pipelines() -> Vec<(&'static str, Pipeline)> {
    let mut v = vec![("all", pipeline(ALL))];
    for (name, json) in [
        ("fill_gaps", r#"{"steps":[{"step":"fill_gaps"}]}"#),
        ("calibrate", r#"{"steps":[{"step":"calibrate"}]}"#),
        ("wear", r#"{"steps":[{"step":"wear"}]}"#),
        (
            "choi",
            r#"{"steps":[{"step":"wear","params":{"method":"choi"}},{"step":"activity"}]}"#,
        ),
        (
            "cta",
            r#"{"steps":[{"step":"wear","params":{"method":"cta"}},{"step":"activity"}]}"#,
        ),
        (
            "detach",
            r#"{"steps":[{"step":"wear","params":{"method":"detach"}},{"step":"activity"}]}"#,
        ),
        ("sleep", r#"{"steps":[{"step":"sleep"}]}"#),
        ("activity", r#"{"steps":[{"step":"activity"}]}"#),
        (
            "staudenmayer",
            r#"{"steps":[{"step":"staudenmayer","params":{"arm_axis":0}}]}"#,
        ),
        ("counts", r#"{"steps":[{"step":"counts"}]}"#),
        ("gait", r#"{"steps":[{"step":"gait"}]}"#),
    ] {
        v.push((name, pipeline(json)));
    }
    v
}

/// NaN cells without a reason, in a table of one run.
fn unexplained_nans(t: &Table) -> Vec<String> {
    let reasons = t.column("reason").and_then(|c| match &c.data {
        ColumnData::Str(r) => Some(r.clone()),
        _ => None,
    });
    let mut bad = Vec::new();
    for c in &t.columns {
        let ColumnData::F64(v) = &c.data else {
            continue;
        };
        for (i, x) in v.iter().enumerate() {
            let explained = reasons
                .as_ref()
                .is_some_and(|r| r.get(i).is_some_and(|s| !s.is_empty()));
            if x.is_nan() && !explained {
                bad.push(format!("{}.{} row {i}", t.name, c.name));
                break;
            }
        }
    }
    bad
}

#[derive(Debug)]
enum Outcome {
    Tables(Vec<Table>, Vec<String>),
    Error(String),
}

fn run(rec: &Recording, p: &Pipeline) -> Result<Outcome, String> {
    let r = catch_unwind(AssertUnwindSafe(|| p.run(rec, &SubjectContext::default())));
    match r {
        Err(_) => Err("panicked".into()),
        Ok(Err(e)) => Ok(Outcome::Error(e.to_string())),
        Ok(Ok(out)) => Ok(Outcome::Tables(
            out.tables,
            out.reports.into_iter().flat_map(|r| r.messages).collect(),
        )),
    }
}

/// Runs every pipeline on `rec`, checks the rules and returns the outcomes by pipeline name.
fn check(label: &str, rec: &Recording) -> Vec<(&'static str, Outcome)> {
    let mut problems = Vec::new();
    let mut outcomes = Vec::new();
    for (name, p) in pipelines() {
        match run(rec, &p) {
            Err(e) => problems.push(format!("{label} / {name}: {e}")),
            Ok(Outcome::Error(e)) => {
                // a clear error names the step and says what is wrong
                if !e.starts_with("step ") || e.len() < 20 {
                    problems.push(format!("{label} / {name}: unclear error '{e}'"));
                }
                eprintln!("{label} / {name}: error: {e}");
                outcomes.push((name, Outcome::Error(e)));
            }
            Ok(Outcome::Tables(tables, msgs)) => {
                eprintln!("{label} / {name}: ok; {}", msgs.join(" | "));
                for t in &tables {
                    for b in unexplained_nans(t) {
                        problems.push(format!("{label} / {name}: NaN without a reason at {b}"));
                    }
                }
                outcomes.push((name, Outcome::Tables(tables, msgs)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    outcomes
}

fn error_of<'a>(o: &'a [(&str, Outcome)], name: &str) -> Option<&'a str> {
    o.iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, x)| match x {
            Outcome::Error(e) => Some(e.as_str()),
            Outcome::Tables(..) => None,
        })
}

fn tables_of<'a>(o: &'a [(&str, Outcome)], name: &str) -> Option<&'a [Table]> {
    o.iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, x)| match x {
            Outcome::Tables(t, _) => Some(t.as_slice()),
            Outcome::Error(_) => None,
        })
}

fn table<'a>(tables: &'a [Table], name: &str) -> &'a Table {
    tables
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

fn reasons(t: &Table) -> Vec<String> {
    match t.column("reason").map(|c| &c.data) {
        Some(ColumnData::Str(r)) => r.clone(),
        _ => panic!("{} has no reason column", t.name),
    }
}

#[test]
fn no_samples_is_a_clear_error() {
    let rec = Recording {
        fs: 50.0,
        ..Default::default()
    };
    let o = check("zero samples", &rec);
    for (name, out) in &o {
        assert!(
            matches!(out, Outcome::Error(e) if e.contains("no samples")),
            "{name}: {out:?}"
        );
    }
}

#[test]
fn ten_minutes_give_reasons_or_errors() {
    let rec = wrist(10.0 / 60.0, 50.0, 1);
    let o = check("10 min", &rec);
    // the threshold wear method needs an hour (as SKDH, which raises)
    assert!(error_of(&o, "wear").is_some_and(|e| e.contains("wear")));
    // without wear detection activity keeps the day, empty, and says why
    let t = tables_of(&o, "activity").expect("activity runs");
    let daily = table(t, "activity_daily");
    assert_eq!(daily.num_rows(), 1);
    assert!(
        reasons(daily)[0].contains("min_wear_time"),
        "{:?}",
        reasons(daily)
    );
    // counts: ten one-minute epochs
    let c = tables_of(&o, "counts").expect("counts run");
    assert_eq!(table(c, "actigraph_counts").num_rows(), 10);
}

#[test]
fn five_hertz_gives_reasons_or_errors() {
    let rec = wrist(26.0, 5.0, 2);
    let o = check("5 Hz", &rec);
    // gait needs 20 Hz
    assert!(error_of(&o, "gait").is_some());
    let c = tables_of(&o, "counts").expect("counts run");
    assert!(table(c, "actigraph_counts").num_rows() > 1000);
}

#[test]
fn all_non_wear_gives_empty_days_with_reasons() {
    let rec = still(26.0, 20.0);
    let o = check("non-wear", &rec);
    let t = tables_of(&o, "all").or_else(|| tables_of(&o, "choi"));
    if let Some(t) = tables_of(&o, "all") {
        let daily = table(t, "activity_daily");
        assert!(daily.num_rows() >= 2);
        assert!(
            reasons(daily).iter().all(|r| r.contains("wear")),
            "{:?}",
            reasons(daily)
        );
    }
    assert!(t.is_some() || error_of(&o, "all").is_some());
}

#[test]
fn nan_samples_give_reasons_or_errors() {
    let rec = with_nans(wrist(26.0, 20.0, 3));
    check("NaN samples", &rec);
}

#[test]
fn good_days_have_values_and_reasons_only_for_undefined_ones() {
    let rec = wrist(50.0, 20.0, 4);
    let o = check("good", &rec);
    let t = tables_of(&o, "all").expect("the whole pipeline runs");
    let daily = table(t, "activity_daily");
    let Some(ColumnData::F64(ig)) = daily.column("wake intensity gradient").map(|c| &c.data) else {
        panic!("no intensity gradient column")
    };
    assert!(ig.iter().filter(|v| v.is_finite()).count() >= 2, "{ig:?}");
    // this signal never has MVPA bouts: their fragmentation endpoints are named as undefined
    assert!(
        reasons(daily)
            .iter()
            .all(|r| r.is_empty() || r.starts_with("undefined for this day: wake MVPA")),
        "{:?}",
        reasons(daily)
    );
    assert!(table(t, "sleep_nights").num_rows() >= 2);
}
