//! Import of pipelines saved by SKDH (`skdh.Pipeline.save`, a `.skdh` YAML file) into our steps.
//!
//! A saved pipeline is `{Version, Steps: [{name, process, package, module, parameters, save_file,
//! plot_file}]}` (older SKDH wrote `[{<Process>: {package, module, parameters, ...}}]`), with
//! Python tuples tagged `!!python/tuple`. Each SKDH process maps to one of our steps with the
//! parameters under SKDH's own names; readers and day windowing are dropped with a note, because
//! studyflow reads files and computes days itself.

use biomarkers::pipeline::{Pipeline, PipelineSpec, STEP_NAMES, StepSpec};
use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrorKind, ConfigIssue};
use super::yaml::{self, Node, Seg, yaml_path};

/// An SKDH pipeline mapped to our steps.
#[derive(Debug, Clone, PartialEq)]
pub struct SkdhImport {
    /// The SKDH version that saved the pipeline (`Version`), if given.
    pub skdh_version: Option<String>,
    /// Our steps, in SKDH's order, parameters under SKDH's names.
    pub spec: PipelineSpec,
    /// For each of our steps, the index of the SKDH step it came from.
    pub step_origins: Vec<usize>,
    /// What was left out and why (readers, day windows, save files ...).
    pub notes: Vec<String>,
}

enum Target {
    /// Our step, and a parameter to add (the wear method).
    Step(&'static str, Option<(&'static str, &'static str)>),
    /// Dropped, with the reason.
    Ignore(&'static str),
    /// SKDH's gait-bout classifier: our `gait` step runs it itself (`use_classifier`).
    GaitClassifier,
}

/// `GaitLumbar` parameters our `gait` step does not take yet, with SKDH 0.17's defaults: a saved
/// pipeline that keeps the default loads (SKDH saves every parameter); another value is an error
/// naming it rather than a silently different analysis.
fn gait_fixed_defaults() -> [(&'static str, Value); 14] {
    [
        ("correct_orientation", Value::Bool(true)),
        ("filter_cutoff", Value::from(20.0)),
        ("filter_order", Value::from(4)),
        ("ap_axis_filter_kw", Value::Null),
        ("ic_prom_factor", Value::from(0.6)),
        ("ic_dist_factor", Value::from(0.5)),
        ("fc_prom_factor", Value::from(0.6)),
        ("fc_dist_factor", Value::from(0.6)),
        ("use_cwt_scale_relation", Value::Bool(true)),
        ("wavelet_scale", Value::from("default")),
        ("round_scale", Value::Bool(false)),
        ("max_stride_time", Value::from("default")),
        ("loading_factor", Value::from("default")),
        ("bout_processing_pipeline", Value::Null),
    ]
}

/// Equal as SKDH means it: numbers by value (a saved `20` is `20.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

const READER_NOTE: &str = "studyflow reads each recording itself (see data.format)";
const DAYS_NOTE: &str =
    "studyflow computes local calendar days itself; each step's day_window picks the window";

/// The SKDH process -> our step table.
fn target(process: &str) -> Option<Target> {
    Some(match process {
        "ActivityLevelClassification" => Target::Step("activity", None),
        "StaudenmayerClassification" => Target::Step("staudenmayer", None),
        "Sleep" => Target::Step("sleep", None),
        "FillGaps" => Target::Step("fill_gaps", None),
        "CalibrateAccelerometer" => Target::Step("calibrate", None),
        "AccelThresholdWearDetection" => Target::Step("wear", None),
        "CountWearDetection" => Target::Step("wear", Some(("method", "choi"))),
        "CtaWearDetection" => Target::Step("wear", Some(("method", "cta"))),
        "DETACH" => Target::Step("wear", Some(("method", "detach"))),
        "PredictGaitLumbarLgbm" => Target::GaitClassifier,
        "GaitLumbar" => Target::Step("gait", None),
        "GetDayWindowIndices" => Target::Ignore(DAYS_NOTE),
        "ReadCwa" | "ReadCWA" | "ReadBin" | "ReadCSV" | "ReadNumpyFile" | "ReadApdmH5"
        | "ReadEmpaticaAvro" | "MultiReader" | "ReadGT3X" => Target::Ignore(READER_NOTE),
        _ => return None,
    })
}

const NEW_KEYS: &[&str] = &[
    "name",
    "process",
    "package",
    "module",
    "parameters",
    "save_file",
    "plot_file",
];
const OLD_KEYS: &[&str] = &["package", "module", "parameters", "save_file", "plot_file"];

struct Ctx<'a> {
    source: &'a str,
    tree: &'a Node,
}

impl Ctx<'_> {
    fn issue(
        &self,
        kind: ConfigErrorKind,
        path: &[Seg],
        message: impl Into<String>,
    ) -> ConfigIssue {
        let pos = self.tree.locate(path);
        ConfigIssue {
            kind,
            source_name: self.source.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.col),
            path: yaml::path_string(path),
            message: message.into(),
        }
    }
}

/// Rejects Python object tags other than tuples (SKDH's loader refuses them too), with their
/// position: a value built from such a tag would be silently wrong.
fn check_python_tags(source: &str, text: &str) -> Result<(), ConfigIssue> {
    for (ln, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(i) = line[from..].find("python/") {
            let at = from + i;
            let tagged = line[..at].ends_with("!!") || line[..at].ends_with("tag:yaml.org,2002:");
            let name: String = line[at + 7..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != ',' && *c != ']')
                .collect();
            if tagged && name != "tuple" {
                return Err(ConfigIssue {
                    kind: ConfigErrorKind::Skdh,
                    source_name: source.to_string(),
                    line: Some(ln as u64 + 1),
                    column: Some(at as u64 - 1),
                    path: String::new(),
                    message: format!(
                        "Python object tag python/{name} is not supported (only !!python/tuple)"
                    ),
                });
            }
            from = at + 7;
        }
    }
    Ok(())
}

/// Maps an SKDH pipeline to our steps, checking only the step names against `offered`
/// (parameters are checked by [`import_skdh`]). Errors list every step we lack.
pub fn map_skdh(
    source_name: &str,
    text: &str,
    offered: &[&str],
) -> Result<SkdhImport, ConfigError> {
    map_with_tree(source_name, text, offered).map(|(imp, _)| imp)
}

/// Maps an SKDH pipeline to our steps and validates it against this `biomarkers`: unknown
/// steps and parameters are errors naming `Steps[i].parameters.x` and its line.
pub fn import_skdh(source_name: &str, text: &str) -> Result<SkdhImport, ConfigError> {
    let (imp, tree) = map_with_tree(source_name, text, STEP_NAMES)?;
    if let Err(e) = Pipeline::from_spec(&imp.spec) {
        let cx = Ctx {
            source: source_name,
            tree: &tree,
        };
        let (inner, message) = super::pipeline_error_path(&imp.spec, &e);
        // `inner` is [our index, "params", field?] or [our index, "step"]: point at the SKDH step.
        let mut p = Vec::new();
        if let Some(Seg::Index(i)) = inner.first() {
            let origin = imp.step_origins.get(*i).copied().unwrap_or(*i);
            p = steps_path(&tree, origin);
            if let Some(Seg::Key(k)) = inner.get(1)
                && k == "params"
            {
                p.push(Seg::Key("parameters".to_string()));
                if let Some(Seg::Key(f)) = inner.get(2) {
                    p.push(Seg::Key(f.clone()));
                }
            }
        }
        return Err(cx.issue(ConfigErrorKind::Pipeline, &p, message).into());
    }
    Ok(imp)
}

/// Path of SKDH step `i`: `Steps[i]` (or `[i]` for a bare list), then the old format's process
/// key when the step is `{Process: {...}}`.
fn steps_path(tree: &Node, i: usize) -> Vec<Seg> {
    let mut p = if tree.get(&[Seg::from("Steps")]).is_some() {
        yaml_path!["Steps", i]
    } else {
        yaml_path![i]
    };
    if let Some(Node {
        kind: yaml::NodeKind::Map(entries),
        ..
    }) = tree.get(&p)
        && entries.len() == 1
        && !entries.iter().any(|e| e.key == "process")
        && let Some(e) = entries.first()
    {
        p.push(Seg::Key(e.key.clone()));
    }
    p
}

fn map_with_tree(
    source_name: &str,
    text: &str,
    offered: &[&str],
) -> Result<(SkdhImport, Node), ConfigError> {
    check_python_tags(source_name, text)?;
    let (doc, tree): (Value, Node) = yaml::parse_document(source_name, text)?;
    let cx = Ctx {
        source: source_name,
        tree: &tree,
    };
    let mut notes = Vec::new();
    let mut issues = Vec::new();
    let (steps, version): (&Vec<Value>, Option<String>) = match &doc {
        Value::Object(top) => {
            for k in top.keys() {
                if k != "Steps" && k != "Version" {
                    issues.push(cx.issue(
                        ConfigErrorKind::Skdh,
                        &[Seg::from(k.as_str())],
                        format!("unknown key `{k}` (a saved SKDH pipeline has Steps and Version)"),
                    ));
                }
            }
            let version = match top.get("Version") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(other) => {
                    issues.push(cx.issue(
                        ConfigErrorKind::Skdh,
                        &[Seg::from("Version")],
                        format!("expected a version text, found {other}"),
                    ));
                    None
                }
                None => None,
            };
            match top.get("Steps") {
                Some(Value::Array(a)) => (a, version),
                Some(_) => {
                    return Err(cx
                        .issue(
                            ConfigErrorKind::Skdh,
                            &[Seg::from("Steps")],
                            "expected a list of steps",
                        )
                        .into());
                }
                None => {
                    issues.push(cx.issue(
                        ConfigErrorKind::Skdh,
                        &[],
                        "not a saved SKDH pipeline: no `Steps` list",
                    ));
                    return Err(ConfigError::from_issues(issues)
                        .unwrap_or_else(|| unreachable_error(source_name)));
                }
            }
        }
        Value::Array(a) => (a, None),
        _ => {
            return Err(cx
                .issue(
                    ConfigErrorKind::Skdh,
                    &[],
                    "not a saved SKDH pipeline: expected a mapping with Steps and Version",
                )
                .into());
        }
    };
    match &version {
        Some(v) => notes.push(format!("saved by SKDH {v}")),
        None => notes.push("no Version: saved by an unknown SKDH version".to_string()),
    }

    let mut spec = PipelineSpec::default();
    let mut origins = Vec::new();
    let mut gait_classifier = false;
    let mut lacking: Vec<(usize, String)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let base = steps_path(&tree, i);
        let Value::Object(obj) = step else {
            issues.push(cx.issue(ConfigErrorKind::Skdh, &base, "expected a mapping"));
            continue;
        };
        // New format: keys name/process/...; old format: {Process: {package, module, ...}}.
        let (process, body, allowed): (String, &Map<String, Value>, &[&str]) = if obj
            .contains_key("process")
        {
            match obj.get("process") {
                Some(Value::String(p)) => (p.clone(), obj, NEW_KEYS),
                _ => {
                    issues.push(cx.issue(
                        ConfigErrorKind::Skdh,
                        &[base.clone(), yaml_path!["process"]].concat(),
                        "expected the process class name",
                    ));
                    continue;
                }
            }
        } else {
            match obj.iter().next() {
                Some((name, Value::Object(inner))) if obj.len() == 1 => {
                    (name.clone(), inner, OLD_KEYS)
                }
                _ => {
                    issues.push(cx.issue(
                            ConfigErrorKind::Skdh,
                            &base,
                            "expected {name, process, package, module, parameters, save_file, plot_file}",
                        ));
                    continue;
                }
            }
        };
        for k in body.keys() {
            if !allowed.contains(&k.as_str()) {
                issues.push(cx.issue(
                    ConfigErrorKind::Skdh,
                    &[base.clone(), yaml_path![k.as_str()]].concat(),
                    format!(
                        "unknown key `{k}` in an SKDH step (expected: {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let text_of = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let package = text_of("package").unwrap_or_else(|| "skdh".to_string());
        let module = text_of("module").unwrap_or_default();
        let qualified = if module.is_empty() {
            format!("{package}.{process}")
        } else {
            format!("{package}.{module}.{process}")
        };
        let label = format!("Steps[{i}] {process}");
        for k in ["save_file", "plot_file"] {
            if let Some(f) = text_of(k) {
                notes.push(format!(
                    "{label}: {k} \"{f}\" ignored: results are written under output.prefix"
                ));
            }
        }
        let params = match body.get("parameters") {
            Some(Value::Object(p)) => p.clone(),
            Some(Value::Null) | None => Map::new(),
            Some(_) => {
                issues.push(cx.issue(
                    ConfigErrorKind::Skdh,
                    &[base.clone(), yaml_path!["parameters"]].concat(),
                    "expected a mapping of parameter: value",
                ));
                continue;
            }
        };
        let mapped = if package == "skdh" {
            target(&process)
        } else {
            None
        };
        match mapped {
            Some(Target::Ignore(why)) => {
                notes.push(format!("{label} ({qualified}) ignored: {why}"))
            }
            Some(Target::GaitClassifier) => {
                gait_classifier = true;
                for (k, v) in &params {
                    if k != "downsample_aa_filter" || v != &Value::Bool(true) {
                        issues.push(cx.issue(
                            ConfigErrorKind::Skdh,
                            &[base.clone(), yaml_path!["parameters", k.as_str()]].concat(),
                            format!("{process} parameter `{k}`: only SKDH's default (downsample_aa_filter: true) is supported"),
                        ));
                    }
                }
                notes.push(format!(
                    "{label} ({qualified}) runs inside the gait step (use_classifier: true)"
                ));
            }
            Some(Target::Step("gait", _)) if offered.contains(&"gait") => {
                let mut params = params;
                for (k, default) in gait_fixed_defaults() {
                    if let Some(v) = params.remove(k)
                        && !same_value(&v, &default)
                    {
                        issues.push(cx.issue(
                            ConfigErrorKind::Skdh,
                            &[base.clone(), yaml_path!["parameters", k]].concat(),
                            format!(
                                "GaitLumbar parameter `{k}` = {v}: this studyflow supports only SKDH's default ({default})"
                            ),
                        ));
                    }
                }
                // SKDH's GaitLumbar analyses the bouts the classifier step before it found, or
                // the whole recording without one.
                params.insert("use_classifier".into(), Value::Bool(gait_classifier));
                spec.steps.push(StepSpec {
                    step: "gait".to_string(),
                    params,
                });
                origins.push(i);
            }
            Some(Target::Step(name, extra)) if offered.contains(&name) => {
                let mut params = params;
                if let Some((k, v)) = extra {
                    params.insert(k.to_string(), Value::String(v.to_string()));
                }
                spec.steps.push(StepSpec {
                    step: name.to_string(),
                    params,
                });
                origins.push(i);
            }
            Some(Target::Step(name, _)) => lacking.push((
                i,
                format!("{label} ({qualified}) -> `{name}`, not in this biomarkers"),
            )),
            None => lacking.push((
                i,
                format!("{label} ({qualified}) has no studyflow equivalent"),
            )),
        }
    }
    if let Some((first, _)) = lacking.first() {
        let list: Vec<&str> = lacking.iter().map(|(_, s)| s.as_str()).collect();
        issues.insert(
            0,
            cx.issue(
                ConfigErrorKind::Skdh,
                &steps_path(&tree, *first),
                format!(
                    "studyflow lacks {} step{} of this SKDH pipeline: {}. biomarkers {} offers: {}",
                    lacking.len(),
                    if lacking.len() == 1 { "" } else { "s" },
                    list.join("; "),
                    biomarkers::VERSION,
                    offered.join(", ")
                ),
            ),
        );
    }
    if issues.is_empty() && spec.steps.is_empty() {
        issues.push(cx.issue(
            ConfigErrorKind::Skdh,
            &[Seg::from("Steps")],
            "the SKDH pipeline has no processing step (only readers or day windows)",
        ));
    }
    if let Some(e) = ConfigError::from_issues(issues) {
        return Err(e);
    }
    Ok((
        SkdhImport {
            skdh_version: version,
            spec,
            step_origins: origins,
            notes,
        },
        tree,
    ))
}

// `from_issues` is only None for an empty list; the callers above always pushed one.
fn unreachable_error(source_name: &str) -> ConfigError {
    ConfigError::new(ConfigIssue {
        kind: ConfigErrorKind::Skdh,
        source_name: source_name.to_string(),
        line: None,
        column: None,
        path: String::new(),
        message: "not a saved SKDH pipeline".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Saved by SKDH 0.17.18 (`Pipeline.save`) from ReadCwa, FillGaps(), FillGaps(fill_values=
    /// {accel: [0, 0, 1], temperature: 20.5}) and CalibrateAccelerometer().
    const FILL_GAPS: &str = "Steps:
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
- module: preprocessing.gaps
  name: FillGaps
  package: skdh
  parameters:
    fill_values: null
  plot_file: null
  process: FillGaps
  save_file: null
- module: preprocessing.gaps
  name: FillGaps_1
  package: skdh
  parameters:
    fill_values:
      accel:
      - 0
      - 0
      - 1
      temperature: 20.5
  plot_file: null
  process: FillGaps
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
Version: 0.17.18
";

    #[test]
    fn fill_gaps_maps_with_its_fill_values() {
        let imp = import_skdh("fg.skdh", FILL_GAPS).unwrap();
        let names: Vec<&str> = imp.spec.steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(names, ["fill_gaps", "fill_gaps", "calibrate"]);
        assert_eq!(imp.step_origins, [1, 2, 3]);
        let p = Pipeline::from_spec(&imp.spec).unwrap();
        let r = p.resolved();
        assert_eq!(
            r.steps[0].params["fill_values"]["accel"],
            serde_json::json!([0.0, 0.0, 1.0])
        );
        assert_eq!(r.steps[1].params["fill_values"]["temperature"], 20.5);
        assert_eq!(
            r.steps[1].params["fill_values"]["gyro"],
            serde_json::json!([0.0, 0.0, 0.0])
        );
    }

    #[test]
    fn fill_gaps_errors_name_the_parameter_and_order() {
        let bad = FILL_GAPS.replace("temperature: 20.5", "temprature: 20.5");
        let e = import_skdh("fg.skdh", &bad).unwrap_err().to_string();
        assert!(e.contains("Steps[2].parameters.fill_values"), "{e}");
        assert!(e.contains("temprature"), "{e}");
        // calibration before gap filling would hand on samples of the unfilled grid
        let moved = "Steps:
- name: CalibrateAccelerometer
  package: skdh
  module: preprocessing.calibrate
  process: CalibrateAccelerometer
  parameters: {}
- name: FillGaps
  package: skdh
  module: preprocessing.gaps
  process: FillGaps
  parameters:
    fill_values: null
Version: 0.17.18
";
        let e = import_skdh("fg.skdh", moved).unwrap_err().to_string();
        assert!(e.contains("fill_gaps must come before calibrate"), "{e}");
        assert!(e.contains("Steps[1]"), "{e}");
    }
}
