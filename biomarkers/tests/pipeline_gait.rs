//! The `gait` pipeline step on the real lumbar recording: its tables, the subject's height
//! reaching the spatial endpoints, the gyroscope-free path, and parameter errors naming the field.

use biomarkers::io::{ReadOptions, read_file};
use biomarkers::pipeline::{Pipeline, PipelineSpec, SubjectContext};
use biomarkers::table::{ColumnData, Table};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn spec(json: &str) -> Pipeline {
    let spec: PipelineSpec = serde_json::from_str(json).unwrap();
    Pipeline::from_spec(&spec).unwrap()
}

fn table<'a>(tables: &'a [Table], name: &str) -> &'a Table {
    tables
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no {name} table"))
}

fn floats<'a>(t: &'a Table, col: &str) -> &'a [f64] {
    match &t
        .column(col)
        .unwrap_or_else(|| panic!("{}: no column {col}", t.name))
        .data
    {
        ColumnData::F64(v) => v,
        other => panic!("{col} is not f64: {other:?}"),
    }
}

#[test]
fn gait_step_on_the_lumbar_example_writes_steps_bouts_and_summaries() {
    let rec = read_file(
        format!("{SHARED}/skdh/examples/example_data.cwa").as_ref(),
        &ReadOptions::default(),
    )
    .unwrap();
    let p = spec(r#"{"steps":[{"step":"gait"}]}"#);
    let with_height = p
        .run(
            &rec,
            &SubjectContext {
                height_m: Some(1.8),
                time_zone: None,
            },
        )
        .unwrap();
    let names: Vec<_> = with_height.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "gait_bouts",
            "gait_steps",
            "gait_bout_summary",
            "gait_day_summary"
        ]
    );
    let bouts = table(&with_height.tables, "gait_bouts");
    let steps = table(&with_height.tables, "gait_steps");
    assert!(bouts.num_rows() > 0, "the classifier found no walking");
    assert!(steps.num_rows() > 10, "only {} steps", steps.num_rows());
    let speed_col = steps
        .columns
        .iter()
        .find(|c| c.name.starts_with("gait speed"))
        .map(|c| c.name.clone())
        .expect("a gait speed column");
    let speeds = floats(steps, &speed_col);
    assert!(
        speeds.iter().any(|v| v.is_finite() && *v > 0.2 && *v < 3.0),
        "no plausible gait speed with a height: {speeds:?}"
    );
    assert_eq!(table(&with_height.tables, "gait_day_summary").num_rows(), 1);

    // Without a height the step still runs; spatial endpoints are NaN and it says why.
    let without = p.run(&rec, &SubjectContext::default()).unwrap();
    let steps = table(&without.tables, "gait_steps");
    assert!(floats(steps, &speed_col).iter().all(|v| v.is_nan()));
    assert!(
        without.reports[0]
            .messages
            .iter()
            .any(|m| m.contains("height")),
        "{:?}",
        without.reports[0].messages
    );
}

#[test]
fn gait_parameters_are_checked_by_name() {
    let bad = |params: &str| {
        let spec: PipelineSpec = serde_json::from_str(&format!(
            r#"{{"steps":[{{"step":"gait","params":{params}}}]}}"#
        ))
        .unwrap();
        Pipeline::from_spec(&spec).unwrap_err().to_string()
    };
    assert!(bad(r#"{"gait_event_method":"zero crossing"}"#).contains("gait_event_method"));
    assert!(bad(r#"{"classifier_threshold":1.5}"#).contains("classifier_threshold"));
    assert!(bad(r#"{"min_bout":3}"#).contains("min_bout"));
    let ok = spec(
        r#"{"steps":[{"step":"gait","params":{"gait_event_method":"Vertical CWT","bout_padding_s":1.5,"min_bout_time":3}}]}"#,
    );
    let resolved = ok.resolved();
    assert_eq!(resolved.steps[0].params["bout_padding_s"], 1.5);
    assert_eq!(resolved.steps[0].params["height_factor"], 0.53);
}
