//! Self-contained HTML pages for people: one `report.html` per processed file (activity profile
//! per day with wear and sleep shaded, sleep per night, gait bouts, the endpoint tables with
//! units, provenance), and the study and index pages `studyflow serve` shows. No scripts, no
//! fonts or styles from the network: a report opens from a USB stick.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use biomarkers::table::{ColumnData, Table};
use serde_json::Value;

use crate::model::{FileItem, FileStatus, StudyItem};

/// Tables with at most this many rows are shown whole (per-day and per-night endpoints); longer
/// ones (epochs, minutes) are summarised by the plots.
const MAX_TABLE_ROWS: usize = 60;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1100px}\
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}\
td,th{border:1px solid #ddd;padding:.2rem .45rem;text-align:right}th{background:#f4f4f4}\
td.l,th.l{text-align:left}.unit{color:#777;font-weight:normal}\
.SUCCEEDED{color:#1a7f37}.FAILED,.REQUIREMENTS_TIMED_OUT{color:#c62828}.WAITING,.PROCESSING,.REGISTERED{color:#9a6700}\
svg{display:block;margin:.2rem 0}.legend span{display:inline-block;margin-right:1rem}\
.sw{display:inline-block;width:.9rem;height:.9rem;vertical-align:middle;margin-right:.3rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

fn f64_col<'a>(t: &'a Table, name: &str) -> Option<&'a [f64]> {
    match &t.column(name)?.data {
        ColumnData::F64(v) => Some(v),
        _ => None,
    }
}

fn find<'a>(tables: &'a [Table], name: &str) -> Option<&'a Table> {
    tables.iter().find(|t| t.name == name)
}

/// One cell's text: numbers with up to 4 significant decimals, NaN as empty.
fn cell(data: &ColumnData, row: usize) -> String {
    match data {
        ColumnData::F64(v) => {
            let x = v[row];
            if x.is_nan() {
                String::new()
            } else if x == x.trunc() && x.abs() < 1e15 {
                format!("{x:.0}")
            } else {
                let s = format!("{x:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
        ColumnData::I64(v) => v[row].to_string(),
        ColumnData::Bool(v) => v[row].to_string(),
        ColumnData::Str(v) => v[row].clone(),
    }
}

/// A table transposed (one row per column, one column per table row), with units.
fn endpoint_table(t: &Table, out: &mut String) {
    let rows = t.num_rows();
    let _ = write!(out, "<table><tr><th class=\"l\">endpoint</th>");
    for r in 0..rows {
        let _ = write!(out, "<th>{}</th>", r + 1);
    }
    out.push_str("</tr>");
    for c in &t.columns {
        let unit = c
            .unit
            .as_deref()
            .map(|u| format!(" <span class=\"unit\">[{}]</span>", escape(u)))
            .unwrap_or_default();
        let _ = write!(out, "<tr><th class=\"l\">{}{unit}</th>", escape(&c.name));
        for r in 0..rows {
            let _ = write!(out, "<td>{}</td>", escape(&cell(&c.data, r)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// Local calendar day and hour of day for a unix time in `tz`.
fn local(tz: &jiff::tz::TimeZone, t: f64) -> Option<(jiff::civil::Date, f64)> {
    let ts = jiff::Timestamp::from_microsecond((t * 1e6) as i64).ok()?;
    let dt = tz.to_datetime(ts);
    let hour = f64::from(dt.hour())
        + f64::from(dt.minute()) / 60.0
        + (f64::from(dt.second()) + f64::from(dt.subsec_nanosecond()) / 1e9) / 3600.0;
    Some((dt.date(), hour))
}

/// Intervals `[start, stop)` in unix seconds.
type Spans = Vec<(f64, f64)>;

/// The parts of `[lo, hi)` not covered by `covered` (sorted or not).
fn complement(lo: f64, hi: f64, covered: &[(f64, f64)]) -> Spans {
    let mut c: Vec<_> = covered.to_vec();
    c.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Vec::new();
    let mut at = lo;
    for (s, e) in c {
        if s > at {
            out.push((at, s.min(hi)));
        }
        at = at.max(e);
    }
    if at < hi {
        out.push((at, hi));
    }
    out.retain(|(s, e)| e > s);
    out
}

/// Per minute: asleep inside the total sleep opportunity (outside it, "sleep" only means rest).
fn sleep_in_tso(minutes: &Table) -> Option<Vec<bool>> {
    let (ColumnData::Bool(sleep), ColumnData::Bool(tso)) = (
        &minutes.column("sleep")?.data,
        &minutes.column("in_tso")?.data,
    ) else {
        return None;
    };
    Some(sleep.iter().zip(tso).map(|(a, b)| *a && *b).collect())
}

/// Consecutive minutes with `flag` set merged into spans.
fn minute_spans(starts: &[f64], flag: &[bool]) -> Spans {
    let mut out: Spans = Vec::new();
    for (&t, &f) in starts.iter().zip(flag) {
        if !f {
            continue;
        }
        match out.last_mut() {
            Some(last) if (t - last.1).abs() < 1.0 => last.1 = t + 60.0,
            _ => out.push((t, t + 60.0)),
        }
    }
    out
}

const PLOT_W: f64 = 960.0;
const PLOT_H: f64 = 90.0;
const MARGIN_L: f64 = 40.0;
/// Room right of the plot for the last hour label.
const MARGIN_R: f64 = 14.0;

/// The per-day activity profile: the epoch metric (per-minute maximum) over 24 local hours,
/// non-wear shaded grey and sleep blue.
fn activity_profile(tables: &[Table], tz: &jiff::tz::TimeZone, start: f64, end: f64) -> String {
    let Some(epochs) = find(tables, "activity_epochs") else {
        return "<p>No activity epochs (the pipeline has no activity step).</p>".into();
    };
    let Some(times) = f64_col(epochs, "epoch_start") else {
        return "<p>The epoch table has no epoch_start column.</p>".into();
    };
    // The metric is the first float column after the time (enmo, mad, ... by the config).
    let Some(metric) = epochs
        .columns
        .iter()
        .find(|c| c.name != "epoch_start" && matches!(c.data, ColumnData::F64(_)))
    else {
        return "<p>The epoch table has no metric column.</p>".into();
    };
    let ColumnData::F64(values) = &metric.data else {
        return String::new();
    };
    let unit = metric.unit.clone().unwrap_or_default();

    let wear: Spans = find(tables, "wear_bouts")
        .and_then(|w| {
            Some(
                f64_col(w, "start")?
                    .iter()
                    .copied()
                    .zip(f64_col(w, "stop")?.iter().copied())
                    .collect(),
            )
        })
        .unwrap_or_else(|| vec![(start, end)]);
    let nonwear = complement(start, end, &wear);
    let sleep: Spans = find(tables, "sleep_minutes")
        .and_then(|s| {
            let t = f64_col(s, "minute_start")?;
            Some(minute_spans(t, &sleep_in_tso(s)?))
        })
        .unwrap_or_default();

    // Per local day, per minute of the day: the largest epoch value.
    let mut days: BTreeMap<jiff::civil::Date, Vec<f64>> = BTreeMap::new();
    for (&t, &v) in times.iter().zip(values) {
        if let Some((d, h)) = local(tz, t) {
            let m = ((h * 60.0) as usize).min(1439);
            let slot = &mut days.entry(d).or_insert_with(|| vec![f64::NAN; 1440])[m];
            // NaN slots (no epoch yet) take the first value; otherwise keep the maximum.
            if slot.is_nan() || v > *slot {
                *slot = v;
            }
        }
    }
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    let top = finite
        .get(
            finite
                .len()
                .saturating_sub(1)
                .min(finite.len() * 995 / 1000),
        )
        .copied()
        .unwrap_or(1.0)
        .max(1e-3);

    let mut out = format!(
        "<p class=\"legend\"><span><i class=\"sw\" style=\"background:#2b6cb0\"></i>{} per minute (max of epochs) [{}]</span>\
         <span><i class=\"sw\" style=\"background:#bee3f8\"></i>sleep</span>\
         <span><i class=\"sw\" style=\"background:#ddd\"></i>not worn</span> axis top: {:.3} {}</p>",
        escape(&metric.name),
        escape(&unit),
        top,
        escape(&unit)
    );
    let x = |h: f64| MARGIN_L + h / 24.0 * (PLOT_W - MARGIN_L - MARGIN_R);
    for (date, mins) in &days {
        let _ = write!(
            out,
            "<svg class=\"plot day\" data-date=\"{date}\" width=\"{PLOT_W}\" height=\"{}\" viewBox=\"0 0 {PLOT_W} {}\" role=\"img\" aria-label=\"activity on {date}\">",
            PLOT_H + 16.0,
            PLOT_H + 16.0
        );
        let _ = write!(
            out,
            "<rect x=\"{MARGIN_L}\" y=\"0\" width=\"{}\" height=\"{PLOT_H}\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
            PLOT_W - MARGIN_L - MARGIN_R
        );
        let day_start = date
            .to_zoned(tz.clone())
            .map(|z| z.timestamp().as_microsecond() as f64 / 1e6)
            .unwrap_or(f64::NAN);
        let shade = |out: &mut String, spans: &Spans, color: &str| {
            for &(s, e) in spans {
                let (a, b) = ((s - day_start) / 3600.0, (e - day_start) / 3600.0);
                if b <= 0.0 || a >= 24.0 {
                    continue;
                }
                let (a, b) = (a.max(0.0), b.min(24.0));
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"0\" width=\"{:.1}\" height=\"{PLOT_H}\" fill=\"{color}\"/>",
                    x(a),
                    (x(b) - x(a)).max(0.5)
                );
            }
        };
        shade(&mut out, &nonwear, "#ddd");
        shade(&mut out, &sleep, "#bee3f8");
        let mut path = String::new();
        for (m, v) in mins.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let y = PLOT_H - (v / top).min(1.0) * (PLOT_H - 4.0);
            let px = x(m as f64 / 60.0);
            let _ = write!(path, "M{px:.1} {PLOT_H}V{y:.1}");
        }
        let _ = write!(
            out,
            "<path d=\"{path}\" stroke=\"#2b6cb0\" stroke-width=\"1\" fill=\"none\"/>"
        );
        for h in (0..=24).step_by(3) {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{h:02}</text>",
                x(f64::from(h)),
                PLOT_H + 12.0
            );
        }
        let _ = write!(
            out,
            "<text x=\"2\" y=\"12\" font-size=\"10\">{}</text><text x=\"2\" y=\"24\" font-size=\"10\">{:?}</text></svg>",
            date,
            date.weekday()
        );
    }
    if days.is_empty() {
        out.push_str("<p>No worn time to plot.</p>");
    }
    out
}

/// Sleep per night: one strip per night (noon to noon) with each sleep window.
fn sleep_strips(tables: &[Table], tz: &jiff::tz::TimeZone) -> String {
    let Some(minutes) = find(tables, "sleep_minutes") else {
        return "<p>No sleep step in this pipeline.</p>".into();
    };
    let (Some(t), Some(flag)) = (f64_col(minutes, "minute_start"), sleep_in_tso(minutes)) else {
        return String::new();
    };
    let spans = minute_spans(t, &flag);
    let mut nights: BTreeMap<jiff::civil::Date, Spans> = BTreeMap::new();
    for &(s, e) in &spans {
        // A night belongs to the date of the noon before it.
        if let Some((d, h)) = local(tz, s) {
            let night = if h < 12.0 {
                d.yesterday().unwrap_or(d)
            } else {
                d
            };
            nights.entry(night).or_default().push((s, e));
        }
    }
    if nights.is_empty() {
        return "<p>No sleep detected.</p>".into();
    }
    let x = |h: f64| MARGIN_L + h / 24.0 * (PLOT_W - MARGIN_L - MARGIN_R);
    let mut out = String::new();
    for (date, spans) in &nights {
        let noon = date
            .to_datetime(jiff::civil::time(12, 0, 0, 0))
            .to_zoned(tz.clone())
            .map(|z| z.timestamp().as_microsecond() as f64 / 1e6)
            .unwrap_or(f64::NAN);
        let _ = write!(
            out,
            "<svg class=\"plot night\" data-date=\"{date}\" width=\"{PLOT_W}\" height=\"34\" viewBox=\"0 0 {PLOT_W} 34\" role=\"img\" aria-label=\"sleep in the night after {date}\">\
             <rect x=\"{MARGIN_L}\" y=\"0\" width=\"{}\" height=\"20\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
            PLOT_W - MARGIN_L - MARGIN_R
        );
        for &(s, e) in spans {
            let (a, b) = (
                ((s - noon) / 3600.0).clamp(0.0, 24.0),
                ((e - noon) / 3600.0).clamp(0.0, 24.0),
            );
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"1\" width=\"{:.1}\" height=\"18\" fill=\"#2c5282\"/>",
                x(a),
                (x(b) - x(a)).max(0.5)
            );
        }
        for (i, h) in [12, 15, 18, 21, 0, 3, 6, 9, 12].iter().enumerate() {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"31\" font-size=\"10\" text-anchor=\"middle\">{h:02}</text>",
                x(i as f64 * 3.0)
            );
        }
        let _ = write!(
            out,
            "<text x=\"2\" y=\"14\" font-size=\"10\">{date}</text></svg>"
        );
    }
    out
}

/// Gait bouts with cadence and speed, when the pipeline had a gait step.
fn gait_section(tables: &[Table], tz: &jiff::tz::TimeZone) -> String {
    let Some(bouts) = find(tables, "gait_bout_summary").or_else(|| find(tables, "gait_bouts"))
    else {
        return "<p>No gait step in this pipeline.</p>".into();
    };
    if bouts.num_rows() == 0 {
        return "<p>No gait bouts found.</p>".into();
    }
    let keep: Vec<_> = bouts
        .columns
        .iter()
        .filter(|c| {
            let n = c.name.to_ascii_lowercase();
            ["bout", "start", "duration", "steps", "cadence", "speed"]
                .iter()
                .any(|k| n.contains(k))
        })
        .collect();
    // Unix-second columns are shown as local clock times.
    let is_time = |c: &&biomarkers::table::Column| c.unit.as_deref() == Some("unix s");
    let mut out = String::from("<table><tr>");
    for c in &keep {
        let unit = if is_time(c) {
            Some(format!("local time, {}", tz.iana_name().unwrap_or("UTC")))
        } else {
            c.unit.clone()
        };
        let _ = write!(
            out,
            "<th>{}{}</th>",
            escape(&c.name),
            unit.map(|u| format!(" <span class=\"unit\">[{}]</span>", escape(&u)))
                .unwrap_or_default()
        );
    }
    out.push_str("</tr>");
    for r in 0..bouts.num_rows().min(500) {
        out.push_str("<tr>");
        for c in &keep {
            let text = match (&c.data, is_time(c)) {
                (ColumnData::F64(v), true) => {
                    jiff::Timestamp::from_microsecond((v[r] * 1e6) as i64)
                        .map(|ts| tz.to_datetime(ts).strftime("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default()
                }
                _ => cell(&c.data, r),
            };
            let _ = write!(out, "<td>{}</td>", escape(&text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// The report of one processed file, from its result tables and its `summary.json` value.
/// Times are shown in the subject's time zone (`summary.subject.time_zone`, default UTC).
pub fn file_report(tables: &[Table], summary: &Value) -> String {
    let tz = summary["subject"]["time_zone"]
        .as_str()
        .and_then(|n| jiff::tz::TimeZone::get(n).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let rec = &summary["recording"];
    let start = rec["start"].as_f64().unwrap_or(f64::NAN);
    let end = rec["end"].as_f64().unwrap_or(f64::NAN);
    let input = &summary["inputs"][0];
    let file_key = input["file_key"].as_str().unwrap_or("");
    let when = |t: f64| {
        jiff::Timestamp::from_microsecond((t * 1e6) as i64)
            .map(|ts| tz.to_datetime(ts).strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|_| "-".into())
    };
    let mut b = format!("<h1>{}</h1>", escape(file_key));
    let rows = [
        ("study", summary["study"].as_str().unwrap_or("").to_string()),
        ("input", input["uri"].as_str().unwrap_or("").to_string()),
        (
            "input etag",
            input["etag"].as_str().unwrap_or("").to_string(),
        ),
        (
            "device",
            format!(
                "{} {} ({} Hz, ±{} g)",
                rec["device"].as_str().unwrap_or(""),
                rec["device_id"].as_str().unwrap_or(""),
                rec["sample_rate"],
                rec["accel_range_g"]
            ),
        ),
        (
            "recording",
            format!(
                "{} to {} ({})",
                when(start),
                when(end),
                tz.iana_name().unwrap_or("UTC")
            ),
        ),
        (
            "library",
            format!(
                "{} {}",
                summary["library"].as_str().unwrap_or(""),
                summary["library_version"].as_str().unwrap_or("")
            ),
        ),
        (
            "config hash",
            summary["config_hash"].as_str().unwrap_or("").to_string(),
        ),
        (
            "finished",
            summary["finished_at"].as_str().unwrap_or("").to_string(),
        ),
    ];
    b.push_str("<table class=\"provenance\">");
    for (k, v) in rows {
        let _ = write!(
            b,
            "<tr><th class=\"l\">{k}</th><td class=\"l\">{}</td></tr>",
            escape(&v)
        );
    }
    b.push_str("</table>");
    if let Some(issues) = summary["data_issues"].as_array().filter(|a| !a.is_empty()) {
        let _ = write!(b, "<h2>Data issues ({})</h2><ul>", issues.len());
        for i in issues.iter().take(100) {
            let _ = write!(
                b,
                "<li>byte {}: {}</li>",
                i["offset"],
                escape(i["message"].as_str().unwrap_or(""))
            );
        }
        b.push_str("</ul>");
    }
    if let Some(steps) = summary["steps"].as_array() {
        b.push_str("<h2>Steps</h2><table><tr><th class=\"l\">step</th><th>seconds</th><th class=\"l\">messages</th></tr>");
        for s in steps {
            let msgs: Vec<_> = s["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let _ = write!(
                b,
                "<tr><td class=\"l\">{}</td><td>{:.2}</td><td class=\"l\">{}</td></tr>",
                escape(s["step"].as_str().unwrap_or("")),
                s["seconds"].as_f64().unwrap_or(f64::NAN),
                escape(&msgs.join("; "))
            );
        }
        b.push_str("</table>");
    }
    b.push_str("<h2>Activity per day</h2>");
    b.push_str(&activity_profile(tables, &tz, start, end));
    b.push_str("<h2>Sleep per night</h2>");
    b.push_str(&sleep_strips(tables, &tz));
    b.push_str("<h2>Gait bouts</h2>");
    b.push_str(&gait_section(tables, &tz));
    b.push_str("<h2>Endpoints</h2>");
    for t in tables.iter().filter(|t| t.num_rows() <= MAX_TABLE_ROWS) {
        let open = matches!(
            t.name.as_str(),
            "activity_daily" | "sleep_nights" | "gait_day_summary"
        );
        let _ = write!(
            b,
            "<details{}><summary>{} ({} rows)</summary>",
            if open { " open" } else { "" },
            escape(&t.name),
            t.num_rows()
        );
        endpoint_table(t, &mut b);
        b.push_str("</details>");
    }
    page(&format!("studyflow report: {file_key}"), &b)
}

/// The study page: subjects and their files with statuses, errors and links to reports.
/// `report_href` gives the link of a file's report, when it has one.
pub fn study_page(
    study: &StudyItem,
    files: &[FileItem],
    report_href: &dyn Fn(&FileItem) -> Option<String>,
) -> String {
    let mut b = format!(
        "<p><a href=\"/\">all studies</a></p><h1>Study {}</h1><p>status <b class=\"{}\">{}</b>, config s3://{}/{}{}</p>",
        escape(&study.study),
        study.status.as_str(),
        study.status.as_str(),
        escape(&study.config_bucket),
        escape(&study.config_key),
        study
            .error
            .as_deref()
            .map(|e| format!("<br>error: {}", escape(e)))
            .unwrap_or_default()
    );
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in files {
        *counts.entry(f.status.as_str()).or_default() += 1;
    }
    let summary: Vec<_> = counts
        .iter()
        .map(|(s, n)| format!("<span class=\"{s}\">{n} {s}</span>"))
        .collect();
    let _ = write!(b, "<p>{} files: {}</p>", files.len(), summary.join(", "));
    let mut by_subject: BTreeMap<&str, Vec<&FileItem>> = BTreeMap::new();
    for f in files {
        by_subject.entry(&f.subject).or_default().push(f);
    }
    b.push_str("<table class=\"files\"><tr><th class=\"l\">subject</th><th class=\"l\">visit</th><th class=\"l\">device</th><th class=\"l\">file</th><th class=\"l\">status</th><th class=\"l\">report / error</th></tr>");
    for (subject, fs) in by_subject {
        for f in fs {
            let detail = match (f.status, report_href(f)) {
                (FileStatus::Succeeded, Some(href)) => {
                    format!("<a class=\"report\" href=\"{}\">report</a>", escape(&href))
                }
                _ => escape(f.error.as_deref().unwrap_or("")),
            };
            let _ = write!(
                b,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l {}\">{}</td><td class=\"l\">{detail}</td></tr>",
                escape(subject),
                escape(&f.visit),
                escape(&f.device),
                escape(&f.file_key),
                f.status.as_str(),
                f.status.as_str()
            );
        }
    }
    b.push_str("</table>");
    page(&format!("studyflow: {}", study.study), &b)
}

/// The index page: every study with its status and file count.
pub fn index_page(studies: &[(StudyItem, usize)]) -> String {
    let mut b = String::from(
        "<h1>studyflow studies</h1><table><tr><th class=\"l\">study</th><th class=\"l\">status</th><th>files</th></tr>",
    );
    for (s, n) in studies {
        let _ = write!(
            b,
            "<tr><td class=\"l\"><a href=\"/studies/{}\">{}</a></td><td class=\"l {}\">{}</td><td>{n}</td></tr>",
            escape(&s.study),
            escape(&s.study),
            s.status.as_str(),
            s.status.as_str()
        );
    }
    b.push_str("</table>");
    if studies.is_empty() {
        b.push_str("<p>No studies yet: drop a config into the config bucket.</p>");
    }
    page("studyflow", &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_escaping() {
        assert_eq!(
            complement(0.0, 10.0, &[(2.0, 3.0), (5.0, 12.0)]),
            vec![(0.0, 2.0), (3.0, 5.0)]
        );
        assert_eq!(complement(0.0, 10.0, &[(0.0, 10.0)]), vec![]);
        assert_eq!(
            minute_spans(&[0.0, 60.0, 120.0, 180.0], &[true, true, false, true]),
            vec![(0.0, 120.0), (180.0, 240.0)]
        );
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn a_report_without_tables_still_renders_and_names_the_file() {
        let summary = serde_json::json!({
            "study": "s<1>", "inputs": [{"file_key": "raw/a.cwa", "uri": "s3://b/raw/a.cwa", "etag": "e"}],
            "recording": {"start": 0.0, "end": 3600.0}, "subject": {"time_zone": "Europe/London"}
        });
        let html = file_report(&[], &summary);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<h1>raw/a.cwa</h1>"));
        assert!(html.contains("s&lt;1&gt;"));
        assert!(html.contains("No activity epochs"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn gait_bout_starts_show_in_the_subjects_local_time() {
        let bouts = Table::new("gait_bout_summary")
            .with("Bout N", None, ColumnData::I64(vec![1]))
            .with(
                "Bout Start",
                Some("unix s"),
                ColumnData::F64(vec![1_570_018_121.5]),
            )
            .with(
                "median cadence",
                Some("steps/min"),
                ColumnData::F64(vec![98.36]),
            );
        let summary = serde_json::json!({"subject": {"time_zone": "Europe/London"}});
        let html = file_report(&[bouts], &summary);
        // 2019-10-02 12:08:41 UTC is 13:08:41 in London (BST).
        assert!(html.contains("<td>2019-10-02 13:08:41</td>"), "{html}");
        assert!(html.contains("[local time, Europe/London]"));
        assert!(html.contains("<td>98.36</td>"));
    }
}
