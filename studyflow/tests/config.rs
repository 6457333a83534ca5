//! Study config: the examples validate; every kind of mistake gives an error naming the file,
//! line, column and field; the JSON Schema; SKDH pipeline import; metadata; safety limits.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use studyflow::config::{
    ConfigErrorKind, DataFormat, FieldType, KeyParts, MetadataKind, MetadataSource, StudyConfig,
    config_hash, json_schema, map_skdh, parse_config, parse_config_with, parse_subject_metadata,
};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../studies-example/");

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{EXAMPLES}{name}"))
        .unwrap_or_else(|e| panic!("reading {EXAMPLES}{name}: {e}"))
}

fn load_example(key: &str) -> Result<String, String> {
    std::fs::read_to_string(format!("{EXAMPLES}{key}")).map_err(|e| e.to_string())
}

/// The demo-wrist example with its pipeline reduced to one `activity` step, so the mistake
/// tests below can patch `steps[0]` whatever pipeline the example itself runs.
fn wrist() -> String {
    let text = example("studies/demo-wrist.yaml");
    let start = text
        .find("  steps:\n")
        .expect("the example has pipeline.steps");
    let end = text[start..]
        .find("\noutput:")
        .map(|i| start + i)
        .expect("the example has an output section after the pipeline");
    format!(
        "{}  steps:\n    - step: activity\n      params: {{}}\n{}",
        &text[..start],
        &text[end..]
    )
}

const WRIST: &str = "studies/demo-wrist.yaml";

/// The demo-wrist config with `from` replaced by `to` (which must occur).
fn wrist_with(from: &str, to: &str) -> String {
    let w = wrist();
    assert!(w.contains(from), "the example no longer contains {from:?}");
    w.replacen(from, to, 1)
}

/// The error text of parsing `text` as `name` (the parse must fail).
fn error_of(name: &str, text: &str) -> String {
    match parse_config(name, text) {
        Ok(_) => panic!("{name} was accepted"),
        Err(e) => e.to_string(),
    }
}

/// 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not found"))
}

#[test]
fn demo_wrist_example_validates() {
    let full =
        parse_config(WRIST, &example("studies/demo-wrist.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = full
        .pipeline()
        .unwrap_or_else(|e| panic!("{e}"))
        .steps
        .iter()
        .map(|s| s.name())
        .collect();
    assert_eq!(names, ["calibrate", "wear", "sleep", "activity"]);
    let text = wrist();
    let cfg = parse_config(WRIST, &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.study.id, "demo-wrist");
    assert_eq!(cfg.data.bucket, "demo-study");
    assert_eq!(
        cfg.data.key_pattern.as_str(),
        "raw/{subject}/{visit}/{device}.cwa"
    );
    assert_eq!(
        cfg.data.match_key("raw/S01/V1/wrist.cwa"),
        Some(KeyParts {
            subject: "S01".into(),
            visit: Some("V1".into()),
            device: Some("wrist".into())
        })
    );
    assert_eq!(cfg.data.match_key("metadata/subjects.csv"), None);
    assert_eq!(
        cfg.data.format_for_key("raw/S01/V1/wrist.cwa"),
        Some(DataFormat::Cwa)
    );
    assert_eq!(cfg.metadata.kind(), MetadataKind::StudyCsv);
    assert_eq!(cfg.metadata.key_for("S01"), "metadata/subjects.csv");
    assert!(cfg.metadata.is_metadata_key("metadata/subjects.csv"));
    assert_eq!(
        cfg.metadata.fields.get("height_m"),
        Some(&FieldType::Number)
    );
    assert_eq!(
        cfg.requirements.metadata_fields,
        vec!["height_m".to_string()]
    );
    assert_eq!(cfg.requirements.min_duration_hours, Some(1.0));
    assert_eq!(cfg.requirements.timeout_seconds(), 6 * 3600);
    assert_eq!(cfg.requirements.timeout_text(), "6h");
    assert_eq!(cfg.requirements.poll_interval_seconds(), 300);
    assert_eq!(cfg.output.prefix, "results");
    assert_eq!(cfg.output.format_names(), vec!["parquet", "csv", "html"]);
    assert!(!cfg.output.delete_input_after_success);
    assert!(
        cfg.match_input_key("results/biomarkers-0.1.0/S01/V1/wrist/x.cwa")
            .is_none()
    );

    let pipeline = cfg.pipeline().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pipeline.steps.len(), 1);
    assert_eq!(pipeline.steps[0].name(), "activity");
    let resolved = cfg
        .resolved_pipeline_json()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resolved["steps"][0]["step"], "activity");
    assert!(resolved["steps"][0]["params"].is_object());
}

#[test]
fn demo_skdh_example_maps_its_saved_pipeline() {
    // Structure, file references and mapping, independent of which parameters the activity
    // step accepts today.
    let skdh_text = example("skdh/demo-skdh.skdh");
    let imp = map_skdh("skdh/demo-skdh.skdh", &skdh_text, &["activity"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imp.skdh_version.as_deref(), Some("0.17.18"));
    assert_eq!(imp.spec.steps.len(), 1);
    assert_eq!(imp.spec.steps[0].step, "activity");
    assert_eq!(imp.step_origins, vec![2]);
    let p = &imp.spec.steps[0].params;
    assert_eq!(p["short_wlen"], json!(5));
    assert_eq!(
        p["day_window"],
        json!([0, 24]),
        "a !!python/tuple becomes a list"
    );
    assert_eq!(p["cutpoints"]["metric"], json!("metric_enmo"));
    let notes = imp.notes.join("\n");
    assert!(
        notes.contains("Steps[0] ReadCwa (skdh.io.axivity.ReadCwa) ignored"),
        "{notes}"
    );
    assert!(notes.contains("Steps[1] GetDayWindowIndices"), "{notes}");
    assert!(
        notes.contains("save_file \"{file}_activity.csv\" ignored"),
        "{notes}"
    );
}

#[test]
fn demo_skdh_example_validates() {
    let cfg = parse_config_with(
        "studies/demo-skdh.yaml",
        &example("studies/demo-skdh.yaml"),
        &mut load_example,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.pipeline.steps.as_ref().map(Vec::len), Some(1));
    let pipeline = cfg.pipeline().unwrap_or_else(|e| panic!("{e}"));
    let resolved = cfg
        .resolved_pipeline_json()
        .unwrap_or_else(|e| panic!("{e}"));
    // SKDH's saved cut-point dict arrives as written, with SKDH's metric name
    let params = &resolved["steps"][0]["params"];
    assert_eq!(params["cutpoints"]["metric"], json!("metric_enmo"));
    assert_eq!(params["cutpoints"]["light"], json!(0.11));
    assert_eq!(params["save_epoch_data"], json!(false));
    assert_eq!(pipeline.steps[0].name(), "activity");
}

#[test]
fn skdh_custom_cutpoints_errors_point_at_the_parameter() {
    let text = example("skdh/demo-skdh.skdh");
    for (from, to, needle) in [
        (
            "metric: metric_enmo",
            "metric: metric_enmox",
            "metric_enmox",
        ),
        ("      sedentary: 0.05\n", "", "missing field `sedentary`"),
        (
            "        take_abs: false",
            "        take_abs: false\n        wlen: 5",
            "wlen",
        ),
        ("      light: 0.11", "      light: 0.5", "ordered"),
    ] {
        let bad = text.replace(from, to);
        assert_ne!(bad, text, "{from}");
        let e = studyflow::config::import_skdh("skdh/demo-skdh.skdh", &bad).unwrap_err();
        let msg = e.to_string();
        let line = line_of(&bad, "    cutpoints:");
        assert!(
            msg.starts_with(&format!(
                "skdh/demo-skdh.skdh:{line}:5: Steps[2].parameters.cutpoints: "
            )),
            "{msg}"
        );
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
}

#[test]
fn skdh_staudenmayer_maps_to_its_step() {
    let text = example("skdh/demo-skdh.skdh").replace(
        "Version: 0.17.18",
        "- module: activity.core\n  name: StaudenmayerClassification\n  package: skdh\n  parameters:\n    arm_axis: 0\n    day_window: !!python/tuple\n    - 0\n    - 24\n    demean: false\n    min_wear_time: 10\n    use_power: true\n  plot_file: null\n  process: StaudenmayerClassification\n  save_file: null\nVersion: 0.17.18",
    );
    let imp = studyflow::config::import_skdh("skdh/demo-skdh.skdh", &text)
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = imp.spec.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(names, ["activity", "staudenmayer"]);
    assert_eq!(imp.step_origins, vec![2, 3]);
}

#[test]
fn demo_skdh_example_needs_a_loader_for_its_file() {
    let text = example("studies/demo-skdh.yaml");
    let e = error_of("studies/demo-skdh.yaml", &text);
    let line = line_of(&text, "skdh: skdh/demo-skdh.skdh");
    assert!(
        e.starts_with(&format!(
            "studies/demo-skdh.yaml:{line}:3: pipeline.skdh: cannot read the SKDH pipeline: `skdh/demo-skdh.skdh` names a file"
        )),
        "{e}"
    );
    let missing = parse_config_with("studies/demo-skdh.yaml", &text, &mut |_: &str| {
        Err("no such object".to_string())
    })
    .unwrap_err();
    assert_eq!(missing.kind(), ConfigErrorKind::Skdh);
    assert!(
        missing
            .to_string()
            .ends_with("cannot read the SKDH pipeline: no such object")
    );
}

#[test]
fn syntax_error_names_file_line_and_field() {
    let text = wrist_with(
        "  owner: Demo data team",
        "  owner: Demo data team\n broken: [1",
    );
    let e = error_of(WRIST, &text);
    let line = line_of(&text, " broken: [1");
    assert!(
        e.starts_with(&format!("{WRIST}:{line}:2: study.broken: ")),
        "{e}"
    );
    assert!(e.contains("did not find expected key"), "{e}");
}

#[test]
fn unknown_keys_are_errors_at_every_level() {
    let text = wrist_with("output:\n", "outptu: {}\noutput:\n");
    let line = line_of(&text, "outptu:");
    assert_eq!(
        error_of(WRIST, &text),
        format!(
            "{WRIST}:{line}:1: outptu: unknown field `outptu`, expected one of schema, study, data, metadata, requirements, pipeline, output"
        )
    );
    let text = wrist_with(
        "  poll_interval: 5m",
        "  poll_interval: 5m\n  pol_interval: 5m",
    );
    let line = line_of(&text, "pol_interval:");
    let e = error_of(WRIST, &text);
    assert!(
        e.starts_with(&format!(
            "{WRIST}:{line}:3: requirements.pol_interval: unknown field `pol_interval`"
        )),
        "{e}"
    );
    // Inside a list item.
    let text = wrist_with("      params: {}", "      params: {}\n      parms: {}");
    let line = line_of(&text, "parms:");
    let e = error_of(WRIST, &text);
    assert!(
        e.starts_with(&format!(
            "{WRIST}:{line}:7: pipeline.steps[0].parms: unknown field `parms`"
        )),
        "{e}"
    );
}

#[test]
fn wrong_types_name_the_value() {
    let text = wrist_with("min_duration_hours: 1", "min_duration_hours: one");
    let line = line_of(&text, "min_duration_hours: one");
    assert_eq!(
        error_of(WRIST, &text),
        format!(
            "{WRIST}:{line}:23: requirements.min_duration_hours: invalid value `one`: expected a number"
        )
    );
    let text = wrist_with("metadata_fields: [height_m]", "metadata_fields: height_m");
    let line = line_of(&text, "metadata_fields: height_m");
    assert_eq!(
        error_of(WRIST, &text),
        format!("{WRIST}:{line}:20: requirements.metadata_fields: expected a list, e.g. [a, b]")
    );
    let text = wrist_with(
        "delete_input_after_success: false",
        "delete_input_after_success: no",
    );
    let e = error_of(WRIST, &text);
    assert!(
        e.contains("output.delete_input_after_success: invalid boolean"),
        "{e}"
    );
    let text = wrist_with("  format: auto\n", "  format: cwa2\n");
    let e = error_of(WRIST, &text);
    assert!(
        e.contains("data.format: unknown variant `cwa2`, expected one of auto, cwa"),
        "{e}"
    );
}

#[test]
fn missing_fields_name_the_section() {
    let text = wrist_with("  owner: Demo data team\n", "");
    let line = line_of(&text, "study:");
    assert_eq!(
        error_of(WRIST, &text),
        format!("{WRIST}:{line}:1: study.owner: required field is missing")
    );
    let text = wrist_with("schema: 1\n", "");
    // Without the key, the error points at the document's first key.
    let line = line_of(&text, "study:");
    assert_eq!(
        error_of(WRIST, &text),
        format!("{WRIST}:{line}:1: schema: required field is missing: write `schema: 1` first")
    );
    let text = wrist_with("schema: 1", "schema: 2");
    let line = line_of(&text, "schema: 2");
    assert_eq!(
        error_of(WRIST, &text),
        format!(
            "{WRIST}:{line}:9: schema: unsupported schema version 2: this studyflow reads schema 1"
        )
    );
}

#[test]
fn bad_key_pattern_is_explained() {
    let text = wrist_with(
        "raw/{subject}/{visit}/{device}.cwa",
        "raw/{subject}/{site}/{device}.cwa",
    );
    let line = line_of(&text, "key_pattern:");
    assert_eq!(
        error_of(WRIST, &text),
        format!(
            "{WRIST}:{line}:16: data.key_pattern: key pattern \"raw/{{subject}}/{{site}}/{{device}}.cwa\": unknown placeholder {{site}} (allowed: {{subject}}, {{visit}}, {{device}})"
        )
    );
    let text = wrist_with(
        "raw/{subject}/{visit}/{device}.cwa",
        "raw/{visit}/{device}.cwa",
    );
    assert!(error_of(WRIST, &text).contains(
        "data.key_pattern: key pattern \"raw/{visit}/{device}.cwa\" has no {subject} placeholder"
    ));
    let text = wrist_with(
        "raw/{subject}/{visit}/{device}.cwa",
        "data/{subject}/{visit}.cwa",
    );
    assert!(
        error_of(WRIST, &text)
            .contains("data.key_pattern: no key under data.prefix \"raw/\" can match")
    );
}

#[test]
fn bad_duration_is_explained() {
    let text = wrist_with("timeout: 6h", "timeout: 6 hours");
    let line = line_of(&text, "timeout: 6 hours");
    assert_eq!(
        error_of(WRIST, &text),
        format!(
            "{WRIST}:{line}:12: requirements.timeout: invalid duration \"6 hours\": no spaces (write a whole number followed by s, m, h or d, e.g. \"30m\", \"6h\", \"1h30m\")"
        )
    );
    let text = wrist_with("poll_interval: 5m", "poll_interval: 5");
    assert!(
        error_of(WRIST, &text).contains("requirements.poll_interval: duration \"5\" has no unit")
    );
}

#[test]
fn unsatisfied_biomarkers_version() {
    let text = wrist_with("biomarkers: \"^0.1\"", "biomarkers: \"^9.1\"");
    let line = line_of(&text, "biomarkers: \"^9.1\"");
    assert_eq!(
        error_of(WRIST, &text),
        format!(
            "{WRIST}:{line}:3: pipeline.biomarkers: requirement \"^9.1\" is not satisfied by this biomarkers version {}",
            biomarkers::VERSION
        )
    );
    let text = wrist_with("biomarkers: \"^0.1\"", "biomarkers: \"^zero\"");
    assert!(
        error_of(WRIST, &text)
            .contains("pipeline.biomarkers: invalid version requirement \"^zero\"")
    );
}

#[test]
fn unknown_step_and_parameter() {
    let text = wrist_with(
        "      params: {}",
        "      params:\n        no_such_param: 30",
    );
    let line = line_of(&text, "no_such_param: 30");
    let e = error_of(WRIST, &text);
    assert!(
        e.starts_with(&format!(
            "{WRIST}:{line}:9: pipeline.steps[0].params.no_such_param: unknown field `no_such_param`"
        )),
        "{e}"
    );
    let text = wrist_with("- step: activity", "- step: teleportation");
    let line = line_of(&text, "- step: teleportation");
    let e = error_of(WRIST, &text);
    assert!(
        e.starts_with(&format!(
            "{WRIST}:{line}:7: pipeline.steps[0].step: unknown step 'teleportation' (this version of biomarkers offers: "
        )),
        "{e}"
    );
}

#[test]
fn rules_across_fields_are_all_reported() {
    let text = wrist()
        .replace("bucket: demo-study", "bucket: Demo_Study")
        .replace(
            "metadata_fields: [height_m]",
            "metadata_fields: [height_m, weight_kg]",
        )
        .replace("poll_interval: 5m", "poll_interval: 5s")
        .replace("contact: demo-data@example.org", "contact: nobody");
    let e = parse_config("studies/other-name.yaml", &text).unwrap_err();
    let lines: Vec<String> = e.issues().iter().map(|i| i.to_string()).collect();
    let at = |needle: &str| line_of(&text, needle);
    assert_eq!(lines.len(), 5, "{e}");
    assert_eq!(
        lines[0],
        format!(
            "studies/other-name.yaml:{}:3: study.id: the study id \"demo-wrist\" differs from the file name \"other-name.yaml\": name the file demo-wrist.yaml (one file per study keeps two configs from claiming the same study)",
            at("id: demo-wrist")
        )
    );
    assert_eq!(
        lines[1],
        format!(
            "studies/other-name.yaml:{}:3: study.contact: \"nobody\" is not an e-mail address",
            at("contact: nobody")
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "studies/other-name.yaml:{}:3: data.bucket: bucket name \"Demo_Study\" may contain only lower-case letters, digits, '.' and '-'",
            at("bucket: Demo_Study")
        )
    );
    assert_eq!(
        lines[3],
        format!(
            "studies/other-name.yaml:{}:31: requirements.metadata_fields[1]: `weight_kg` is not declared in metadata.fields",
            at("metadata_fields:")
        )
    );
    assert!(
        lines[4].contains("requirements.poll_interval: checking every 5s for 6h takes 4320 checks"),
        "{}",
        lines[4]
    );
}

#[test]
fn results_and_metadata_must_not_look_like_recordings() {
    let text = wrist()
        .replace("prefix: raw/", "prefix: \"\"")
        .replace(
            "\"raw/{subject}/{visit}/{device}.cwa\"",
            "\"{subject}/{visit}/{device}.csv\"",
        )
        .replace(
            "study_file: metadata/subjects.csv",
            "study_file: metadata/all/subjects.csv",
        );
    let e = error_of(WRIST, &text);
    assert!(e.contains("data.key_pattern: the metadata file \"metadata/all/subjects.csv\" matches the key pattern"), "{e}");
    // A common layout without a prefix is fine: results have more folders than recordings.
    let text = wrist()
        .replace("prefix: raw/", "prefix: \"\"")
        .replace(
            "\"raw/{subject}/{visit}/{device}.cwa\"",
            "\"{subject}/{visit}/{device}.parquet\"",
        )
        .replace("  format: auto\n", "  format: parquet\n");
    assert!(parse_config(WRIST, &text).is_ok());
    // A pattern deep enough to reach result files is refused.
    let text = wrist().replace("prefix: raw/", "prefix: \"\"").replace(
        "\"raw/{subject}/{visit}/{device}.cwa\"",
        "\"{subject}/biomarkers-{visit}/S01/V1/wrist/{device}.csv\"",
    );
    let e = error_of(WRIST, &text);
    assert!(
        e.contains("output.prefix: results such as \"results/biomarkers-"),
        "{e}"
    );
}

#[test]
fn json_schema_lists_the_sections() {
    let schema = json_schema();
    let text = serde_json::to_string(&schema).unwrap_or_default();
    let back: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(back, schema, "the schema is plain JSON");
    let props = schema["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>());
    assert_eq!(
        props,
        Some(
            [
                "data",
                "metadata",
                "output",
                "pipeline",
                "requirements",
                "schema",
                "study"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(schema["additionalProperties"], json!(false));
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for r in ["schema", "study", "data", "pipeline"] {
        assert!(
            required.contains(&r),
            "{r} should be required: {required:?}"
        );
    }
    assert!(
        text.contains("\"Duration\""),
        "durations have their own definition"
    );
    assert!(
        text.contains("^[a-z0-9][a-z0-9-]{1,62}$"),
        "the study id pattern is in the schema"
    );
}

#[test]
fn config_hash_is_sha256_of_the_bytes() {
    assert_eq!(
        config_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let text = wrist();
    assert_eq!(config_hash(&text), config_hash(text.clone().into_bytes()));
    assert_ne!(config_hash(&text), config_hash(text.replace("6h", "7h")));
}

#[test]
fn parsed_config_round_trips_through_json() {
    // The catalog stores the config as JSON and handlers decode it again.
    let cfg = parse_config(WRIST, &wrist()).unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&cfg).unwrap_or(Value::Null);
    let back: StudyConfig = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, cfg);
    assert_eq!(
        back.resolved_pipeline_json().ok(),
        cfg.resolved_pipeline_json().ok()
    );
}

#[test]
fn alias_bomb_is_rejected() {
    // A billion-laughs document: 10^11 expanded nodes if aliases were replayed without a limit.
    let mut text = String::from("schema: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let t0 = std::time::Instant::now();
    let e = parse_config("studies/bomb.yaml", &text).unwrap_err();
    // Generous bound: without the budget this would not finish at all.
    assert!(t0.elapsed().as_secs() < 10, "took {:?}", t0.elapsed());
    assert_eq!(e.kind(), ConfigErrorKind::Limits);
    assert!(e.to_string().starts_with("studies/bomb.yaml:"), "{e}");
    assert!(
        e.to_string().contains("a study config needs neither"),
        "{e}"
    );
}

#[test]
fn oversized_config_is_rejected_before_parsing() {
    let mut text = wrist();
    text.push_str(&format!("# {}\n", "x".repeat(1 << 20)));
    let e = parse_config(WRIST, &text).unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::Limits);
    assert!(
        e.to_string().contains("more than the 1048576 byte limit"),
        "{e}"
    );
}

#[test]
fn inline_skdh_pipeline_is_imported() {
    let skdh = example("skdh/demo-skdh.skdh");
    let indented: String = skdh.lines().map(|l| format!("    {l}\n")).collect();
    let text = wrist_with(
        "  steps:\n    - step: activity\n      params: {}\n",
        &format!("  skdh: |\n{indented}"),
    );
    match parse_config(WRIST, &text) {
        Ok(cfg) => {
            // Once the activity step takes SKDH's parameters the import succeeds.
            assert_eq!(
                cfg.pipeline.steps.as_ref().map(|s| s[0].step.as_str()),
                Some("activity")
            );
            assert!(cfg.pipeline.notes.iter().any(|n| n.contains("ReadCwa")));
        }
        Err(e) => {
            // Until then the error points at pipeline.skdh and the SKDH text's own line.
            let line = line_of(&text, "skdh: |");
            let e = e.to_string();
            assert!(
                e.starts_with(&format!(
                    "{WRIST}:{line}:3: pipeline.skdh: Steps[2].parameters."
                )),
                "{e}"
            );
            assert!(e.contains("of the SKDH text)"), "{e}");
        }
    }
}

const FULL_SKDH: &str = r#"Steps:
- module: io.axivity
  name: ReadCwa
  package: skdh
  parameters:
    ext_error: warn
    trim_keys: null
    trim_start_factor: null
  plot_file: null
  process: ReadCwa
  save_file: null
- module: preprocessing.calibrate
  name: CalibrateAccelerometer
  package: skdh
  parameters:
    max_iter: 1000
    min_hours: 72
    sd_criteria: 0.013
    sphere_crit: 0.3
    tol: 1.0e-10
  plot_file: null
  process: CalibrateAccelerometer
  save_file: null
- module: preprocessing.wear_detection
  name: AccelThresholdWearDetection
  package: skdh
  parameters:
    apply_setup_criteria: true
    range_crit: 0.067
    sd_crit: 0.013
    shipping_criteria: false
    shipping_temperature: false
    window_length: 60
    window_skip: 15
  plot_file: null
  process: AccelThresholdWearDetection
  save_file: null
- module: preprocessing.window_days
  name: GetDayWindowIndices
  package: skdh
  parameters:
    bases:
    - 0
    - 12
    periods:
    - 24
    - 24
  plot_file: null
  process: GetDayWindowIndices
  save_file: null
- module: sleep.sleep
  name: Sleep
  package: skdh
  parameters:
    add_active_time: 0.0
    day_window: !!python/tuple
    - 12
    - 24
    downsample: true
    downsample_aa_filter: true
    internal_wear_move_thresh: 0.001
    internal_wear_temp_thresh: 25.0
    max_activity_break: 60
    min_day_hours: 6
    min_rest_block: 30
    min_rest_period: null
    min_wear_time: 0
    nonwear_move_thresh: null
    save_per_minute_results: false
    start_buffer: 0
    stop_buffer: 0
    tso_factor: 15.0
    tso_max_thresh: 1.0
    tso_min_thresh: 0.1
    tso_perc: 10
  plot_file: '{file}_sleep.pdf'
  process: Sleep
  save_file: '{file}_sleep.csv'
- module: activity.core
  name: ActivityLevelClassification
  package: skdh
  parameters:
    bout_criteria: 0.8
    bout_lens:
    - 1
    - 5
    - 10
    bout_metric: 4
    closed_bout: false
    cutpoints:
      kwargs:
        take_abs: false
        trim_zero: true
      light: 0.11
      metric: metric_enmo
      moderate: 0.44
      sedentary: 0.05
    day_window: &id001 !!python/tuple
    - 0
    - 24
    max_accel_lens:
    - 6
    - 15
    - 60
    min_wear_time: 10
    save_epoch_data: false
    short_wlen: 5
    wear_wake_times_round: null
  plot_file: null
  process: ActivityLevelClassification
  save_file: '{file}_activity.csv'
- module: context.gait_classification
  name: PredictGaitLumbarLgbm
  package: skdh
  parameters:
    downsample_aa_filter: true
  plot_file: null
  process: PredictGaitLumbarLgbm
  save_file: null
- module: gait.core
  name: GaitLumbar
  package: skdh
  parameters:
    ap_axis_filter_kw: null
    bout_processing_pipeline: null
    correct_orientation: true
    day_window: *id001
    downsample: false
    fc_dist_factor: 0.6
    fc_prom_factor: 0.6
    filter_cutoff: 20.0
    filter_order: 4
    gait_event_method: AP CWT
    height_factor: 0.53
    ic_dist_factor: 0.5
    ic_prom_factor: 0.6
    loading_factor: default
    max_bout_separation_time: 0.5
    max_stride_time: default
    min_bout_time: 8.0
    provide_leg_length: false
    round_scale: false
    use_cwt_scale_relation: true
    wavelet_scale: default
  plot_file: null
  process: GaitLumbar
  save_file: '{file}_gait.csv'
Version: 0.17.18
"#;

const SIT2STAND_STEP: &str = r#"- module: sit2stand.core
  name: Sit2Stand
  package: skdh
  parameters:
    continuous_wavelet: gaus1
    day_window: *id001
    gravity: 9.81
    gravity_pass_cutoff: 0.8
    gravity_pass_order: 4
    long_still: 0.5
    lowpass_cutoff: 0.5
    lowpass_order: 4
    power_band: null
    power_peak_kw: null
    power_std_height: true
    power_std_trim: 0
    reconstruction_window: 0.25
    still_window: 0.3
    stillness_constraint: true
    thresholds: null
  plot_file: null
  process: Sit2Stand
  save_file: null
"#;

const OLD_FORMAT_SKDH: &str = r#"Steps:
- ReadCwa:
    module: io.axivity
    package: skdh
    parameters:
      ext_error: warn
      trim_keys: null
      trim_start_factor: null
    plot_file: null
    save_file: null
- ActivityLevelClassification:
    module: activity.core
    package: skdh
    parameters:
      bout_criteria: 0.8
      bout_lens:
      - 1
      - 5
      - 10
      bout_metric: 4
      closed_bout: false
      cutpoints:
        kwargs:
          take_abs: false
          trim_zero: true
        light: 0.11
        metric: metric_enmo
        moderate: 0.44
        sedentary: 0.05
      day_window: !!python/tuple
      - 0
      - 24
      max_accel_lens:
      - 6
      - 15
      - 60
      min_wear_time: 10
      save_epoch_data: false
      short_wlen: 5
      wear_wake_times_round: null
    plot_file: null
    save_file: '{file}_activity.csv'
Version: 0.11.6
"#;

const ALL_STEPS: &[&str] = &[
    "calibrate",
    "wear",
    "sleep",
    "activity",
    "gait_classifier",
    "gait",
];

#[test]
fn skdh_full_pipeline_maps_to_our_steps() {
    let imp = map_skdh("wrist-lumbar.skdh", FULL_SKDH, ALL_STEPS).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = imp.spec.steps.iter().map(|s| s.step.as_str()).collect();
    // SKDH's bout classifier (Steps[6]) runs inside our gait step.
    assert_eq!(names, ["calibrate", "wear", "sleep", "activity", "gait"]);
    assert_eq!(imp.step_origins, vec![1, 2, 4, 5, 7]);
    assert_eq!(imp.spec.steps[4].params["use_classifier"], json!(true));
    let sleep = &imp.spec.steps[2].params;
    assert_eq!(sleep["day_window"], json!([12, 24]));
    assert_eq!(sleep["min_rest_period"], Value::Null);
    assert_eq!(imp.spec.steps[1].params["sd_crit"], json!(0.013));
    assert!(imp.spec.steps[1].params.get("method").is_none());
    assert_eq!(
        imp.spec.steps[4].params["gait_event_method"],
        json!("AP CWT")
    );
    assert_eq!(imp.spec.steps[0].params["tol"], json!(1e-10));
    let notes = imp.notes.join("\n");
    for n in [
        "saved by SKDH 0.17.18",
        "Steps[0] ReadCwa (skdh.io.axivity.ReadCwa) ignored: studyflow reads each recording itself",
        "Steps[3] GetDayWindowIndices (skdh.preprocessing.window_days.GetDayWindowIndices) ignored: studyflow computes local calendar days itself",
        "Steps[4] Sleep: plot_file \"{file}_sleep.pdf\" ignored",
    ] {
        assert!(notes.contains(n), "missing note {n:?} in\n{notes}");
    }
}

#[test]
fn skdh_steps_we_lack_are_listed() {
    let with_s2s = FULL_SKDH.replace(
        "Version: 0.17.18",
        &format!("{SIT2STAND_STEP}Version: 0.17.18"),
    );
    let e = map_skdh("wrist-lumbar.skdh", &with_s2s, &["activity"]).unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::Skdh);
    assert_eq!(e.issues().len(), 1, "{e}");
    let text = e.to_string();
    let line = line_of(&with_s2s, "- module: preprocessing.calibrate");
    assert!(
        text.starts_with(&format!(
            "wrist-lumbar.skdh:{line}:3: Steps[1]: studyflow lacks 5 steps of this SKDH pipeline: Steps[1] CalibrateAccelerometer (skdh.preprocessing.calibrate.CalibrateAccelerometer) -> `calibrate`, not in this biomarkers; Steps[2] AccelThresholdWearDetection"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "Steps[8] Sit2Stand (skdh.sit2stand.core.Sit2Stand) has no studyflow equivalent"
        ),
        "{text}"
    );
    assert!(text.ends_with("offers: activity"), "{text}");
}

#[test]
fn skdh_wear_variants_and_old_format() {
    let count = "Steps:\n- module: preprocessing.wear_detection\n  name: CountWearDetection\n  package: skdh\n  parameters:\n    epoch_seconds: 60\n    nonwear_window_min: 90\n    use_actigraph_package: false\n  plot_file: null\n  process: CountWearDetection\n  save_file: null\nVersion: 0.17.18\n";
    let imp = map_skdh("count.skdh", count, &["wear"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imp.spec.steps[0].step, "wear");
    assert_eq!(imp.spec.steps[0].params["method"], json!("choi"));
    assert_eq!(imp.spec.steps[0].params["nonwear_window_min"], json!(90));

    let imp =
        map_skdh("old.skdh", OLD_FORMAT_SKDH, &["activity"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imp.skdh_version.as_deref(), Some("0.11.6"));
    assert_eq!(imp.spec.steps.len(), 1);
    assert_eq!(imp.spec.steps[0].params["bout_lens"], json!([1, 5, 10]));
}

#[test]
fn skdh_errors_name_their_lines() {
    let bad_key = "Steps:\n- module: activity.core\n  process: ActivityLevelClassification\n  package: skdh\n  parameters: {}\n  colour: blue\nVersion: 0.17.18\n";
    assert_eq!(
        map_skdh("a.skdh", bad_key, &["activity"])
            .unwrap_err()
            .to_string(),
        "a.skdh:6:3: Steps[0].colour: unknown key `colour` in an SKDH step (expected: name, process, package, module, parameters, save_file, plot_file)"
    );
    let object_tag = "Steps:\n- process: ActivityLevelClassification\n  parameters:\n    x: !!python/object/apply:numpy.float64 [1]\nVersion: 0.17.18\n";
    assert_eq!(
        map_skdh("b.skdh", object_tag, &["activity"])
            .unwrap_err()
            .to_string(),
        "b.skdh:4:8: Python object tag python/object/apply:numpy.float64 is not supported (only !!python/tuple)"
    );
    let third_party = "Steps:\n- process: MyStep\n  package: mylab\n  module: steps\n  parameters: {}\nVersion: 0.17.18\n";
    let e = map_skdh("c.skdh", third_party, &["activity"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Steps[0] MyStep (mylab.steps.MyStep) has no studyflow equivalent"),
        "{e}"
    );
    let not_skdh = "name: something else\n";
    assert!(
        map_skdh("d.skdh", not_skdh, &["activity"])
            .unwrap_err()
            .to_string()
            .contains("unknown key `name`")
    );
    // Parameter errors come from biomarkers itself and point into the SKDH file.
    let bad_param = "Steps:\n- process: ActivityLevelClassification\n  package: skdh\n  module: activity.core\n  parameters:\n    no_such_param: 1\nVersion: 0.17.18\n";
    let e = studyflow::config::import_skdh("e.skdh", bad_param)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "e.skdh:6:5: Steps[0].parameters.no_such_param: unknown field `no_such_param`"
        ),
        "{e}"
    );
}

fn source(kind: MetadataKind, key: &str) -> MetadataSource {
    let mut fields = BTreeMap::new();
    fields.insert("height_m".to_string(), FieldType::Number);
    fields.insert("age".to_string(), FieldType::Integer);
    fields.insert("time_zone".to_string(), FieldType::TimeZone);
    MetadataSource {
        kind,
        key: key.to_string(),
        fields,
    }
}

#[test]
fn study_csv_metadata_is_typed() {
    let csv = "subject,height_m,age,time_zone,site\nS01,1.62,34,UTC,Leeds\nS02,1.69,,Europe/London,\"York, UK\"\n";
    let src = source(MetadataKind::StudyCsv, "metadata/subjects.csv");
    let m = parse_subject_metadata(&src, csv.as_bytes(), "S02").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.height_m(), Some(1.69));
    assert_eq!(m.age(), None, "an empty cell is absent");
    assert_eq!(m.time_zone(), Some("Europe/London"));
    assert_eq!(m.get("site"), Some(&json!("York, UK")));
    assert_eq!(
        m.missing(&["height_m".to_string(), "age".to_string()]),
        vec!["age"]
    );
    let ctx = m.subject_context();
    assert_eq!(ctx.height_m, Some(1.69));
    let nobody =
        parse_subject_metadata(&src, csv.as_bytes(), "S99").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        nobody.fields.is_empty(),
        "a subject not listed yet has no fields"
    );

    let bad = "subject,height_m\nS01,tall\n";
    assert_eq!(
        parse_subject_metadata(&src, bad.as_bytes(), "S01")
            .unwrap_err()
            .to_string(),
        "metadata/subjects.csv:2:2: height_m: subject S01: expected a number, found \"tall\""
    );
    let cm = "subject,height_m\nS01,176\n";
    assert!(
        parse_subject_metadata(&src, cm.as_bytes(), "S01")
            .unwrap_err()
            .to_string()
            .contains("not a plausible height in metres")
    );
    let no_subject = "id,height_m\nS01,1.7\n";
    assert!(
        parse_subject_metadata(&src, no_subject.as_bytes(), "S01")
            .unwrap_err()
            .to_string()
            .contains("no `subject` column")
    );
}

#[test]
fn per_subject_yaml_metadata_is_typed() {
    let src = source(MetadataKind::SubjectDocument, "metadata/S01.yaml");
    let doc = "height_m: 1.76\nage: 41\ntime_zone: America/New_York\nsex: F\n";
    let m = parse_subject_metadata(&src, doc.as_bytes(), "S01").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.height_m(), Some(1.76));
    assert_eq!(m.get("age"), Some(&json!(41)));
    assert_eq!(m.get("sex"), Some(&json!("F")));
    let bad_tz = "height_m: 1.76\ntime_zone: Mars/Olympus\n";
    assert_eq!(
        parse_subject_metadata(&src, bad_tz.as_bytes(), "S01")
            .unwrap_err()
            .to_string(),
        "metadata/S01.yaml:2:12: time_zone: subject S01: unknown time zone \"Mars/Olympus\" (expected an IANA name such as \"Europe/London\")"
    );
    // The config's own parser for a whole metadata file (used by the catalog loader).
    let cfg = parse_config(WRIST, &wrist()).unwrap_or_else(|e| panic!("{e}"));
    let rows = cfg
        .metadata
        .parse(
            "metadata/subjects.csv",
            b"subject,height_m,age,time_zone\nS01,1.62,34,UTC\nS02,1.69,43,UTC\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].0, "S02");
    assert_eq!(rows[1].1.get("age"), Some(&json!(43)));
}

#[test]
fn mangled_configs_give_errors_not_panics() {
    // Every 11th byte position: delete it, or insert a character that often breaks YAML. Each
    // result must be a located error or a config, never a panic.
    let text = wrist();
    let mut errors = 0;
    for (i, _) in text.char_indices().step_by(11) {
        for insert in ["", "{", ":", "\"", "- ", "*a "] {
            let mut t = text.clone();
            if insert.is_empty() {
                t.remove(i);
            } else {
                t.insert_str(i, insert);
            }
            if let Err(e) = parse_config(WRIST, &t) {
                errors += 1;
                assert!(e.to_string().starts_with(WRIST), "{e}");
            }
        }
    }
    assert!(errors > 100, "only {errors} mangled configs were rejected");
}

#[test]
fn edge_documents_are_rejected_with_reasons() {
    for (text, want) in [
        ("", "s.yaml:1:1: schema: required field is missing"),
        ("[]", "s.yaml:1:1: expected a mapping of key: value"),
        (
            "schema: 1\n---\nschema: 1\n",
            "a config is a single YAML document",
        ),
        (
            "schema: 1\nx: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
            "s.yaml:2:",
        ),
        (
            "schema: 1\nstudy: &a {id: x}\ndata: *b\n",
            "s.yaml:3:7: data: alias references unknown anchor",
        ),
    ] {
        let e = parse_config("s.yaml", text).unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn data_read_options_parse_and_their_mistakes_are_named() {
    use studyflow::config::{CsvAccelUnit, CsvColumn, OnDataIssues};
    let text = wrist_with(
        "  read:\n    on_data_issues: report\n",
        "  read:\n    sensor: Left Wrist\n    on_data_issues: fail\n    csv:\n      time_column: timestamp\n      accel_columns: [ax, ay, 3]\n      gyro_columns: []\n      accel_unit: m/s^2\n",
    );
    let cfg = parse_config(WRIST, &text).expect("valid read section");
    let read = &cfg.data.read;
    assert_eq!(read.sensor.as_deref(), Some("Left Wrist"));
    assert_eq!(read.on_data_issues, OnDataIssues::Fail);
    let csv = read.csv.as_ref().expect("csv layout");
    assert_eq!(csv.time_column, Some(CsvColumn::Name("timestamp".into())));
    assert_eq!(
        csv.accel_columns.as_ref().map(|c| c[2].clone()),
        Some(CsvColumn::Index(3))
    );
    assert_eq!(csv.accel_unit, Some(CsvAccelUnit::MetersPerSecondSquared));
    // The reader options: the sensor goes to the APDM reader; the CSV layout lays over what
    // the file's first bytes suggest.
    let opts = read.read_options(Some(b"timestamp;ax;ay;az\n1700000000;0;0;9.8\n"));
    assert_eq!(opts.apdm.sensor_label.as_deref(), Some("Left Wrist"));
    let layout = opts.csv.expect("a csv layout");
    assert_eq!(layout.delimiter, b';');
    assert_eq!(layout.gyro_columns, None);
    // Without a read section the reader guesses the CSV layout itself.
    let plain = parse_config(WRIST, &wrist()).unwrap();
    assert!(plain.data.read.is_unset());
    assert_eq!(plain.data.read.read_options(None).csv, None);

    // Mistakes name the field.
    let bad = wrist_with(
        "  read:\n    on_data_issues: report\n",
        "  read:\n    csv: {delimiter: \";;\", gyro_columns: [4]}\n",
    );
    let e = error_of(WRIST, &bad);
    assert!(e.contains("data.read.csv.gyro_columns"), "{e}");
    assert!(e.contains("data.read.csv.delimiter"), "{e}");
    let bad = wrist_with(
        "  read:\n    on_data_issues: report\n",
        "  read: {sensr: Lumbar}\n",
    );
    assert!(
        error_of(WRIST, &bad).contains("data.read.sensr: unknown field `sensr`"),
        "{}",
        error_of(WRIST, &bad)
    );
    let bad = wrist_with(
        "  read:\n    on_data_issues: report\n",
        "  read: {on_data_issues: ignore}\n",
    );
    let e = error_of(WRIST, &bad);
    assert!(e.contains("data.read.on_data_issues"), "{e}");
}
