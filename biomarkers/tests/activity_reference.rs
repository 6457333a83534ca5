//! Activity endpoints (all 85 per-day columns, and sampled per-epoch rows) compared with SKDH
//! 0.17.18 column by column on the synthetic scenarios, within 1e-6 relative (NaN equal to
//! NaN). SKDH's own wear and sleep windows are fed in, so this isolates the activity step.
//! `variants_rate50.json` adds every built-in cut-point set, custom cut-points on every metric,
//! bout metrics 1-3 and other parameters, and `StaudenmayerClassification`.

#[path = "reference/signal.rs"]
mod signal;

use std::sync::OnceLock;

use biomarkers::activity::staudenmayer::{StaudenmayerParams, staudenmayer};
use biomarkers::activity::{ActivityInputs, ActivityParams, activity};
use biomarkers::preprocessing::Axes;
use biomarkers::preprocessing::days::{LocalClock, day_windows};
use biomarkers::table::{ColumnData, Table};
use signal::{Signal, close, generate, load_reference, num, pairs, scenario};

/// Compares every column SKDH reported with ours; returns the mismatches.
fn compare_table(ours: &Table, skdh: &serde_json::Value, what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let obj = skdh.as_object().unwrap();
    for (name, vals) in obj {
        let Some(col) = ours.column(name) else {
            bad.push(format!("{what}: missing column '{name}'"));
            continue;
        };
        let vals = vals.as_array().unwrap();
        if col.data.len() != vals.len() {
            bad.push(format!(
                "{what} '{name}': {} rows vs SKDH {}",
                col.data.len(),
                vals.len()
            ));
            continue;
        }
        for (i, v) in vals.iter().enumerate() {
            let ok = match &col.data {
                ColumnData::F64(d) => close(d[i], num(v), 1e-6),
                ColumnData::I64(d) => v.as_i64() == Some(d[i]),
                ColumnData::Str(d) => v.as_str() == Some(d[i].as_str()),
                ColumnData::Bool(d) => v.as_bool() == Some(d[i]),
            };
            if !ok {
                let got = match &col.data {
                    ColumnData::F64(d) => format!("{:?}", d[i]),
                    ColumnData::I64(d) => format!("{}", d[i]),
                    ColumnData::Str(d) => d[i].clone(),
                    ColumnData::Bool(d) => format!("{}", d[i]),
                };
                bad.push(format!("{what} '{name}' row {i}: ours {got} vs SKDH {v}"));
            }
        }
    }
    if ours.columns.len() != obj.len() {
        bad.push(format!(
            "{what}: {} columns vs SKDH {}",
            ours.columns.len(),
            obj.len()
        ));
    }
    bad
}

fn check_activity(name: &str, with_sleep: bool) {
    let refj = load_reference(&format!("scenario_{name}"));
    let sig = generate(&scenario(name));
    signal::check_fingerprint(&sig, &refj["input"]);
    let clock = LocalClock::new(refj["tz_name"].as_str()).unwrap();
    let days = day_windows(&sig.time, sig.fs, 0, 24, &clock).unwrap();
    let wear = pairs(&refj["wear"]["accel_threshold"]);
    let sleep: Vec<Option<(usize, usize)>> = refj["sleep"]["sleep_idx"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let (a, b) = (p[0].as_i64().unwrap(), p[1].as_i64().unwrap());
            (a >= 0).then_some((a as usize, b as usize))
        })
        .collect();
    let key = if with_sleep {
        "activity"
    } else {
        "activity_nosleep"
    };
    let out = activity(
        &ActivityInputs {
            time: &sig.time,
            accel: Axes::new(&sig.x, &sig.y, &sig.z),
            fs: sig.fs,
            wear: Some(&wear),
            sleep: with_sleep.then_some(sleep.as_slice()),
            days: Some(&days),
            clock: &clock,
        },
        &ActivityParams::default(),
    )
    .unwrap();
    assert_eq!(out.daily.columns.len(), 85);
    let mut bad = compare_table(&out.daily, &refj[key]["daily"], &format!("{name} {key}"));
    // sampled per-epoch rows
    let ep = &refj[key]["epochs"];
    let n = ep["n"].as_u64().unwrap() as usize;
    assert_eq!(out.epochs.num_rows(), n, "{name} {key}: epoch count");
    let ColumnData::F64(t) = &out.epochs.column("epoch_start").unwrap().data else {
        panic!()
    };
    let ColumnData::F64(m) = &out.epochs.column("enmo").unwrap().data else {
        panic!()
    };
    let ColumnData::Str(st) = &out.epochs.column("state").unwrap().data else {
        panic!()
    };
    let ColumnData::Str(it) = &out.epochs.column("intensity").unwrap().data else {
        panic!()
    };
    let sum: f64 = m.iter().sum();
    if !close(sum, num(&ep["metric_sum"]), 1e-9) {
        bad.push(format!(
            "{name} {key}: epoch metric sum {sum} vs {}",
            ep["metric_sum"]
        ));
    }
    for (j, i) in ep["index"].as_array().unwrap().iter().enumerate() {
        let i = i.as_u64().unwrap() as usize;
        if !close(t[i], num(&ep["time"][j]), 1e-12)
            // SKDH's epoch means come from cumulative sums: ~1e-14 g absolute error
            || !(close(m[i], num(&ep["metric"][j]), 1e-6) || (m[i] - num(&ep["metric"][j])).abs() < 1e-12)
            || st[i] != ep["state"][j].as_str().unwrap()
            || it[i] != ep["intensity"][j].as_str().unwrap()
        {
            bad.push(format!(
                "{name} {key}: epoch {i}: ours ({}, {:?}, {}, {}) vs SKDH ({}, {}, {}, {})",
                t[i],
                m[i],
                st[i],
                it[i],
                ep["time"][j],
                ep["metric"][j],
                ep["state"][j],
                ep["intensity"][j]
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn activity_matches_skdh_days_with_sleep() {
    check_activity("days", true);
}

#[test]
fn activity_matches_skdh_days_without_sleep() {
    check_activity("days", false);
}

#[test]
fn activity_matches_skdh_rate50_with_sleep() {
    check_activity("rate50", true);
}

#[test]
fn activity_matches_skdh_calib_without_sleep() {
    check_activity("calib", false);
}

#[test]
fn unusable_inputs_give_nan_days_with_reasons() {
    // 3 h at 20 Hz, all still: fewer than min_wear_time hours in every day
    let n = 20 * 3600 * 3;
    let time: Vec<f64> = (0..n).map(|i| 1.7e9 + i as f64 / 20.0).collect();
    let z = vec![1.0; n];
    let o = vec![0.0; n];
    let clock = LocalClock::naive();
    let days = day_windows(&time, 20.0, 0, 24, &clock).unwrap();
    let out = activity(
        &ActivityInputs {
            time: &time,
            accel: Axes::new(&o, &o, &z),
            fs: 20.0,
            wear: None,
            sleep: None,
            days: Some(&days),
            clock: &clock,
        },
        &ActivityParams::default(),
    )
    .unwrap();
    assert_eq!(out.daily.num_rows(), days.len());
    assert!(!out.messages.is_empty());
    let ColumnData::F64(v) = &out.daily.column("wake MVPA 5s epoch [min]").unwrap().data else {
        panic!()
    };
    assert!(v.iter().all(|x| x.is_nan()));
    let e = activity(
        &ActivityInputs {
            time: &time[..1],
            accel: Axes::new(&o[..1], &o[..1], &z[..1]),
            fs: 20.0,
            wear: None,
            sleep: None,
            days: None,
            clock: &clock,
        },
        &ActivityParams::default(),
    );
    assert!(e.is_err());
}

/// The rate50 scenario, SKDH's wear and sleep windows for it, and the variants reference.
struct Variants {
    sig: Signal,
    wear: Vec<(usize, usize)>,
    sleep: Vec<Option<(usize, usize)>>,
    days: Vec<(usize, usize)>,
    refj: serde_json::Value,
}

fn variants() -> &'static Variants {
    static V: OnceLock<Variants> = OnceLock::new();
    V.get_or_init(|| {
        let refj = load_reference("variants_rate50");
        let base = load_reference("scenario_rate50");
        let sig = generate(&scenario("rate50"));
        signal::check_fingerprint(&sig, &refj["input"]);
        let clock = LocalClock::new(refj["tz_name"].as_str()).unwrap();
        let days = day_windows(&sig.time, sig.fs, 0, 24, &clock).unwrap();
        let wear = pairs(&base["wear"]["accel_threshold"]);
        let sleep = base["sleep"]["sleep_idx"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let (a, b) = (p[0].as_i64().unwrap(), p[1].as_i64().unwrap());
                (a >= 0).then_some((a as usize, b as usize))
            })
            .collect();
        Variants {
            sig,
            wear,
            sleep,
            days,
            refj,
        }
    })
}

impl Variants {
    fn inputs<'a>(&'a self, clock: &'a LocalClock, with_sleep: bool) -> ActivityInputs<'a> {
        ActivityInputs {
            time: &self.sig.time,
            accel: Axes::new(&self.sig.x, &self.sig.y, &self.sig.z),
            fs: self.sig.fs,
            wear: Some(&self.wear),
            sleep: with_sleep.then_some(self.sleep.as_slice()),
            days: Some(&self.days),
            clock,
        }
    }
}

/// A variant's daily table: columns equal to the base variant's are stored once (in the base)
/// when the variant has the base's column names.
fn full_daily(refj: &serde_json::Value, key: &str) -> serde_json::Value {
    let base = &refj["activity"][refj["variant_base"].as_str().unwrap()]["daily"];
    let own = refj["activity"][key]["daily"].as_object().unwrap();
    let base = base.as_object().unwrap();
    if !own.keys().all(|k| base.contains_key(k)) {
        return serde_json::Value::Object(own.clone());
    }
    let mut m = base.clone();
    for (k, v) in own {
        m.insert(k.clone(), v.clone());
    }
    serde_json::Value::Object(m)
}

/// Runs every activity variant whose label starts with one of `prefixes` (asserting no
/// mismatch); returns how many ran.
fn check_variants(prefixes: &[&str]) -> usize {
    let v = variants();
    let clock = LocalClock::new(v.refj["tz_name"].as_str()).unwrap();
    let mut bad = Vec::new();
    let mut n = 0;
    for (key, r) in v.refj["activity"].as_object().unwrap() {
        if !prefixes.iter().any(|p| key.starts_with(p)) {
            continue;
        }
        n += 1;
        // SKDH's parameters as SKDH took them: cut-points by name or as its dict
        let p: ActivityParams = serde_json::from_value(r["params"].clone())
            .unwrap_or_else(|e| panic!("{key}: params: {e}"));
        let out = activity(&v.inputs(&clock, true), &p).unwrap_or_else(|e| panic!("{key}: {e}"));
        // the resolved cut-points equal SKDH's
        let cut = p.validate().unwrap();
        for k in ["sedentary", "light", "moderate"] {
            let ours = match k {
                "sedentary" => cut.sedentary,
                "light" => cut.light,
                _ => cut.moderate,
            };
            if ours != num(&r["cutpoints"][k]) {
                bad.push(format!(
                    "{key}: cutpoint {k} {ours} vs {}",
                    r["cutpoints"][k]
                ));
            }
        }
        bad.extend(compare_table(&out.daily, &full_daily(&v.refj, key), key));
        let ep = &r["epochs"];
        let rows = out.epochs.num_rows();
        if rows != ep["n"].as_u64().unwrap() as usize {
            bad.push(format!("{key}: {rows} epochs vs SKDH {}", ep["n"]));
            continue;
        }
        let ColumnData::F64(t) = &out.epochs.columns[0].data else {
            panic!()
        };
        let ColumnData::Str(st) = &out.epochs.columns[2].data else {
            panic!()
        };
        let ColumnData::F64(m) = &out.epochs.columns[3].data else {
            panic!()
        };
        let ColumnData::Str(it) = &out.epochs.columns[4].data else {
            panic!()
        };
        let sum: f64 = m.iter().filter(|v| !v.is_nan()).sum();
        if !close(sum, num(&ep["metric_sum"]), 1e-9) {
            bad.push(format!("{key}: epoch sum {sum} vs {}", ep["metric_sum"]));
        }
        for (j, i) in ep["index"].as_array().unwrap().iter().enumerate() {
            let i = i.as_u64().unwrap() as usize;
            let sm = num(&ep["metric"][j]);
            if !close(t[i], num(&ep["time"][j]), 1e-12)
                || !(close(m[i], sm, 1e-6) || (m[i] - sm).abs() < 1e-10)
                || st[i] != ep["state"][j].as_str().unwrap()
                || it[i] != ep["intensity"][j].as_str().unwrap()
            {
                bad.push(format!(
                    "{key}: epoch {i}: ours ({}, {:?}, {}, {}) vs SKDH ({}, {}, {}, {})",
                    t[i],
                    m[i],
                    st[i],
                    it[i],
                    ep["time"][j],
                    ep["metric"][j],
                    ep["state"][j],
                    ep["intensity"][j]
                ));
            }
        }
    }
    assert!(n > 0, "no variant matches {prefixes:?}");
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    n
}

#[test]
fn every_builtin_cutpoint_set_matches_skdh() {
    // 17 sets (vaha-ypya_hip_adult makes SKDH raise)
    assert_eq!(check_variants(&["cutpoints "]), 17);
}

#[test]
fn custom_cutpoints_on_every_metric_match_skdh() {
    // EN, angle-z, MAD, BFEN, HFEN, HFEN+, ENMO(abs, untrimmed) with SKDH's dict cut-points
    assert_eq!(check_variants(&["custom "]), 7);
}

#[test]
fn bout_metrics_and_other_parameters_match_skdh() {
    assert_eq!(
        check_variants(&["bout_metric ", "short_wlen ", "wear_wake_times_round "]),
        7
    );
}

#[test]
fn staudenmayer_matches_skdh() {
    let v = variants();
    let clock = LocalClock::new(v.refj["tz_name"].as_str()).unwrap();
    let mut bad = Vec::new();
    let cases = v.refj["staudenmayer"].as_object().unwrap();
    assert_eq!(cases.len(), 4);
    for (key, r) in cases {
        let p: StaudenmayerParams = serde_json::from_value(r["params"].clone())
            .unwrap_or_else(|e| panic!("{key}: params: {e}"));
        let (t, _) = staudenmayer(&v.inputs(&clock, key.ends_with("| sleep")), &p)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        bad.extend(compare_table(&t, &r["daily"], key));
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
