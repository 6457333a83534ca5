//! Accuracy of the default wrist pipeline (calibrate -> wear -> sleep -> activity) against the
//! synthetic generator's own truth, on a 3-day 50 Hz wrist CWA file (`synth::write_cwa`, seed
//! 42, read back as SKDH reads it).
//!
//! ```text
//! cargo run -p biomarkers --example accuracy [-- <days> <seed> [out.cwa [skdh.json]]]
//! ```
//!
//! Prints per-minute agreement of wear, time in bed, sleep and the intensity levels (Migueles
//! cut-points, SKDH's default) with the truth, time in each level, and each night's sleep
//! onset/offset error. With `out.cwa` the file is also written; SKDH's outputs on it
//! (`scripts/skdh/reference.py accuracy out.cwa skdh.json`), when given, are scored the same
//! way in a column beside ours.

use std::process::ExitCode;

use biomarkers::io::cwa::{self, CwaReadOptions};
use biomarkers::pipeline::{Pipeline, SubjectContext};
use biomarkers::synth::{self, ActivityState, SynthParams, Truth};
use biomarkers::table::{ColumnData, Table};
use serde_json::Value;

/// One implementation's per-minute outputs, aligned to the truth's minutes.
struct Predictions {
    /// Device worn (minute middle inside a wear bout).
    worn: Vec<bool>,
    /// Inside the total sleep opportunity (time in bed).
    tso: Vec<bool>,
    /// Asleep (inside the TSO).
    sleep: Vec<bool>,
    /// Wake-wear epochs per level (sedentary, light, moderate, vigorous) in each minute.
    levels: Vec<[usize; 4]>,
    /// Epochs per minute.
    epm: usize,
    /// Per sleep day: minute start times, sleep flags, TSO flags.
    nights: Vec<(Vec<f64>, Vec<bool>, Vec<bool>)>,
}

fn column<'a>(t: &'a Table, c: &str) -> Result<&'a ColumnData, String> {
    t.column(c)
        .map(|c| &c.data)
        .ok_or_else(|| format!("{}: no column '{c}'", t.name))
}

fn level_index(s: &str) -> usize {
    match s {
        "sedentary" => 0,
        "light" => 1,
        "moderate" => 2,
        _ => 3,
    }
}

impl Predictions {
    fn empty(n: usize) -> Self {
        Self {
            worn: vec![false; n],
            tso: vec![false; n],
            sleep: vec![false; n],
            levels: vec![[0; 4]; n],
            epm: 12,
            nights: Vec::new(),
        }
    }

    fn set_wear(&mut self, truth: &Truth, bouts: &[(f64, f64)]) {
        for (k, &m) in truth.minute_start.iter().enumerate() {
            self.worn[k] = bouts.iter().any(|&(a, b)| m + 30.0 >= a && m + 30.0 < b);
        }
    }

    fn add_night(&mut self, truth: &Truth, t: Vec<f64>, sleep: Vec<bool>, tso: Vec<bool>) {
        for i in 0..t.len() {
            if let Some(k) = minute_index(truth, t[i] + 30.0) {
                self.tso[k] = tso[i];
                self.sleep[k] = sleep[i] && tso[i];
            }
        }
        self.nights.push((t, sleep, tso));
    }

    fn add_epoch(&mut self, truth: &Truth, t: f64, state: &str, level: &str) {
        if state != "wake" {
            return;
        }
        if let Some(k) = minute_index(truth, t) {
            self.levels[k][level_index(level)] += 1;
        }
    }

    fn ours(truth: &Truth, tables: &[Table]) -> Result<Self, String> {
        let table = |name: &str| {
            tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| format!("no table {name}"))
        };
        let mut p = Self::empty(truth.len());
        let wb = table("wear_bouts")?;
        let (ColumnData::F64(ws), ColumnData::F64(we)) =
            (column(wb, "start")?, column(wb, "stop")?)
        else {
            return Err("wear_bouts: start/stop are not numbers".into());
        };
        let bouts: Vec<(f64, f64)> = ws.iter().copied().zip(we.iter().copied()).collect();
        p.set_wear(truth, &bouts);
        let sm = table("sleep_minutes")?;
        let (ColumnData::I64(day), ColumnData::F64(t), ColumnData::Bool(s), ColumnData::Bool(tso)) = (
            column(sm, "day")?,
            column(sm, "minute_start")?,
            column(sm, "sleep")?,
            column(sm, "in_tso")?,
        ) else {
            return Err("sleep_minutes: unexpected column types".into());
        };
        let mut days: Vec<i64> = day.clone();
        days.dedup();
        for d in days {
            let idx: Vec<usize> = (0..day.len()).filter(|&i| day[i] == d).collect();
            p.add_night(
                truth,
                idx.iter().map(|&i| t[i]).collect(),
                idx.iter().map(|&i| s[i]).collect(),
                idx.iter().map(|&i| tso[i]).collect(),
            );
        }
        let ep = table("activity_epochs")?;
        let (ColumnData::F64(et), ColumnData::Str(es), ColumnData::Str(ei)) = (
            column(ep, "epoch_start")?,
            column(ep, "state")?,
            column(ep, "intensity")?,
        ) else {
            return Err("activity_epochs: unexpected column types".into());
        };
        for i in 0..et.len() {
            p.add_epoch(truth, et[i], &es[i], &ei[i]);
        }
        Ok(p)
    }

    /// SKDH's outputs as `reference.py accuracy` writes them.
    fn skdh(truth: &Truth, j: &Value) -> Result<Self, String> {
        let arr = |v: &Value, what: &str| -> Result<Vec<Value>, String> {
            v.as_array()
                .cloned()
                .ok_or_else(|| format!("SKDH json: {what} is not a list"))
        };
        let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        let mut p = Self::empty(truth.len());
        let bouts: Vec<(f64, f64)> = arr(&j["wear"], "wear")?
            .iter()
            .map(|b| (num(&b[0]), num(&b[1])))
            .collect();
        p.set_wear(truth, &bouts);
        for d in arr(&j["sleep_days"], "sleep_days")? {
            let start = num(&d["start"]);
            let rest = arr(&d["rest"], "rest")?;
            let (t0, t1) = (num(&d["tso"][0]) as usize, num(&d["tso"][1]) as usize);
            p.add_night(
                truth,
                (0..rest.len()).map(|k| start + 60.0 * k as f64).collect(),
                rest.iter().map(|v| v.as_i64() == Some(1)).collect(),
                // SKDH's per-minute CSV marks [tso start, tso stop] (pandas .loc): keep [start, stop)
                (0..rest.len()).map(|k| k >= t0 && k < t1).collect(),
            );
        }
        let ep = &j["epochs"];
        let (t, s, l) = (
            arr(&ep["time"], "epochs.time")?,
            arr(&ep["state"], "epochs.state")?,
            arr(&ep["intensity"], "epochs.intensity")?,
        );
        for i in 0..t.len().min(s.len()).min(l.len()) {
            p.add_epoch(
                truth,
                num(&t[i]),
                s[i].as_str().unwrap_or(""),
                l[i].as_str().unwrap_or(""),
            );
        }
        Ok(p)
    }
}

fn minute_index(truth: &Truth, t: f64) -> Option<usize> {
    let k = ((t - truth.start) / 60.0).floor();
    (k >= 0.0 && (k as usize) < truth.len()).then_some(k as usize)
}

/// 2x2 agreement of a per-minute prediction with the truth: (both, truth only, ours only,
/// neither).
fn confusion(truth: &[bool], ours: &[bool]) -> [usize; 4] {
    let mut c = [0; 4];
    for (&t, &o) in truth.iter().zip(ours) {
        c[match (t, o) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        }] += 1;
    }
    c
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// The score cells of one implementation, one per table row.
struct Score {
    cells: Vec<String>,
    level_confusion: [[usize; 4]; 4],
    night_errors: Vec<[f64; 4]>,
}

fn score(truth: &Truth, p: &Predictions) -> Score {
    let n = truth.len();
    let mut cells = Vec::new();
    let wc = confusion(&truth.worn, &p.worn);
    cells.push(format!(
        "{} ({:.1} % agree; missed {}, extra {})",
        wc[0] + wc[2],
        pct(wc[0] + wc[3], n),
        wc[1],
        wc[2]
    ));
    let bc = confusion(&truth.in_bed, &p.tso);
    cells.push(format!(
        "{} ({:.1} % agree; missed {}, extra {})",
        bc[0] + bc[2],
        pct(bc[0] + bc[3], n),
        bc[1],
        bc[2]
    ));
    let truth_sleep: Vec<bool> = truth
        .state
        .iter()
        .map(|&s| s == ActivityState::Sleep)
        .collect();
    let sc = confusion(&truth_sleep, &p.sleep);
    cells.push(format!(
        "{} ({:.1} % agree; sens {:.1} %, spec {:.1} %)",
        sc[0] + sc[2],
        pct(sc[0] + sc[3], n),
        pct(sc[0], sc[0] + sc[1]),
        pct(sc[3], sc[2] + sc[3])
    ));
    // intensity: the level most of a minute's epochs are in, on minutes the truth calls wake
    // wear and that are wholly wake-wear epochs here
    let truth_level = truth.intensity();
    let mut conf = [[0usize; 4]; 4];
    let mut total = [0.0f64; 4];
    for k in 0..n {
        let c = p.levels[k];
        for j in 0..4 {
            total[j] += c[j] as f64 / p.epm as f64;
        }
        if truth.worn[k] && !truth.in_bed[k] && c.iter().sum::<usize>() == p.epm {
            let ol = (0..4).max_by_key(|&j| (c[j], 3 - j)).unwrap_or(0);
            conf[truth_level[k] as usize][ol] += 1;
        }
    }
    for j in 0..4 {
        let row: usize = conf[j].iter().sum();
        cells.push(format!(
            "{:.1} ({:.1} % of truth minutes)",
            total[j],
            pct(conf[j][j], row)
        ));
    }
    let scored: usize = conf.iter().flatten().sum();
    let agree: usize = (0..4).map(|j| conf[j][j]).sum();
    cells.push(format!("{:.1} % of {scored}", pct(agree, scored)));
    // nights: the sleep day whose TSO overlaps the truth's bed period most
    let mut night_errors = Vec::new();
    for night in truth.nights.iter().filter(|n| n.complete) {
        let best = p
            .nights
            .iter()
            .map(|(t, _, tso)| {
                (0..t.len())
                    .filter(|&i| tso[i] && t[i] >= night.bed_time && t[i] < night.rise_time)
                    .count()
            })
            .enumerate()
            .filter(|&(_, o)| o > 0)
            .max_by_key(|&(_, o)| o);
        let Some((d, _)) = best else {
            night_errors.push([f64::NAN; 4]);
            continue;
        };
        let (t, s, tso) = &p.nights[d];
        let idx: Vec<usize> = (0..t.len()).filter(|&i| tso[i]).collect();
        let on = idx.iter().find(|&&i| s[i]).map_or(f64::NAN, |&i| t[i]);
        let off = idx
            .iter()
            .rev()
            .find(|&&i| s[i])
            .map_or(f64::NAN, |&i| t[i] + 60.0);
        let tso_s = idx.first().map_or(f64::NAN, |&i| t[i]);
        let tso_e = idx.last().map_or(f64::NAN, |&i| t[i] + 60.0);
        night_errors.push([
            (on - night.sleep_onset) / 60.0,
            (off - night.sleep_offset) / 60.0,
            (tso_s - night.bed_time) / 60.0,
            (tso_e - night.rise_time) / 60.0,
        ]);
    }
    Score {
        cells,
        level_confusion: conf,
        night_errors,
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let days: f64 = args
        .first()
        .map_or(Ok(3.0), |s| s.parse())
        .map_err(|e| format!("days: {e}"))?;
    let seed: u64 = args
        .get(1)
        .map_or(Ok(42), |s| s.parse())
        .map_err(|e| format!("seed: {e}"))?;
    let params = SynthParams {
        days,
        seed,
        ..SynthParams::default()
    };
    let mut bytes = Vec::new();
    let truth: Truth = synth::write_cwa(&params, &mut bytes).map_err(|e| e.to_string())?;
    if let Some(path) = args.get(2) {
        std::fs::write(path, &bytes).map_err(|e| format!("{path}: {e}"))?;
    }
    let rec = cwa::read(bytes.as_slice(), &CwaReadOptions::skdh()).map_err(|e| e.to_string())?;
    let out = Pipeline::default_wrist()
        .run(&rec, &SubjectContext::default())
        .map_err(|e| e.to_string())?;
    let mut scores = vec![(
        "studyflow",
        score(&truth, &Predictions::ours(&truth, &out.tables)?),
    )];
    if let Some(path) = args.get(3) {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let j: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        scores.push(("SKDH", score(&truth, &Predictions::skdh(&truth, &j)?)));
    }

    let s = truth.summary();
    let im = s.wake_wear_intensity_minutes;
    let truth_cells = [
        s.wear_minutes.to_string(),
        truth.in_bed.iter().filter(|&&b| b).count().to_string(),
        s.state_minutes.sleep.to_string(),
        im.sedentary.to_string(),
        im.light.to_string(),
        im.moderate.to_string(),
        im.vigorous.to_string(),
        String::new(),
    ];
    let rows = [
        "wear minutes",
        "in-bed minutes (TSO)",
        "sleep minutes",
        "wake-wear sedentary minutes",
        "wake-wear light minutes",
        "wake-wear moderate minutes",
        "wake-wear vigorous minutes",
        "intensity level per minute",
    ];
    println!(
        "synthetic wrist CWA: {days} days, {} Hz, seed {seed}, {} minutes",
        params.fs,
        truth.len()
    );
    println!();
    let names: Vec<&str> = scores.iter().map(|(n, _)| *n).collect();
    println!("| measure | truth | {} |", names.join(" | "));
    println!("|---|---:|{}", "---:|".repeat(names.len()));
    for (r, name) in rows.iter().enumerate() {
        let cells: Vec<&str> = scores.iter().map(|(_, s)| s.cells[r].as_str()).collect();
        println!("| {name} | {} | {} |", truth_cells[r], cells.join(" | "));
    }
    let levels = ["sedentary", "light", "moderate", "vigorous"];
    for (who, s) in &scores {
        println!();
        println!(
            "| {who}: truth level \\ level found (minutes) | sedentary | light | moderate | vigorous |"
        );
        println!("|---|---:|---:|---:|---:|");
        for (j, l) in levels.iter().enumerate() {
            let c = s.level_confusion[j];
            println!("| {l} | {} | {} | {} | {} |", c[0], c[1], c[2], c[3]);
        }
    }
    println!();
    println!(
        "| night (truth bed time) | {} |",
        names
            .iter()
            .map(|n| format!("{n} onset / offset / TSO start / TSO end error [min]"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---:|".repeat(names.len()));
    for (i, night) in truth.nights.iter().filter(|n| n.complete).enumerate() {
        let when = jiff::Timestamp::from_second(night.bed_time as i64)
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let cells: Vec<String> = scores
            .iter()
            .map(|(_, s)| {
                let e = s.night_errors[i];
                format!("{:+.0} / {:+.0} / {:+.0} / {:+.0}", e[0], e[1], e[2], e[3])
            })
            .collect();
        println!("| {when} | {} |", cells.join(" | "));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("accuracy: {e}");
            ExitCode::FAILURE
        }
    }
}
