//! SKDH gait pipelines (`PredictGaitLumbarLgbm` + `GaitLumbar`, saved by SKDH 0.17.18's
//! `Pipeline.save`) load as our `gait` step; a parameter we do not support yet is an error that
//! names it, never a silently different analysis.

use biomarkers::pipeline::Pipeline;
use studyflow::config::import_skdh;

/// Written by `skdh.Pipeline` with ReadCwa, PredictGaitLumbarLgbm() and GaitLumbar() added, then
/// `.save()` (SKDH 0.17.18).
const SAVED: &str = r#"
Steps:
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
    day_window: !!python/tuple
    - 0
    - 24
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
    round_scale: false
    use_cwt_scale_relation: true
    wavelet_scale: default
  plot_file: null
  process: GaitLumbar
  save_file: null
Version: 0.17.18
"#;

#[test]
fn a_saved_skdh_gait_pipeline_becomes_the_gait_step_with_its_classifier() {
    let imp = import_skdh("gait.skdh", SAVED).unwrap();
    assert_eq!(imp.spec.steps.len(), 1, "{:?}", imp.spec);
    let step = &imp.spec.steps[0];
    assert_eq!(step.step, "gait");
    assert_eq!(step.params["use_classifier"], true);
    assert_eq!(step.params["gait_event_method"], "AP CWT");
    assert_eq!(imp.skdh_version.as_deref(), Some("0.17.18"));
    assert!(
        imp.notes
            .iter()
            .any(|n| n.contains("PredictGaitLumbarLgbm")),
        "{:?}",
        imp.notes
    );
    let resolved = Pipeline::from_spec(&imp.spec).unwrap().resolved();
    assert_eq!(resolved.steps[0].params["min_bout_time"], 8.0);
    assert_eq!(
        resolved.steps[0].params["day_window"],
        serde_json::json!([0, 24])
    );
}

#[test]
fn gait_lumbar_alone_analyses_the_whole_recording() {
    let text = SAVED.replace(
        "process: PredictGaitLumbarLgbm",
        "process: GetDayWindowIndices",
    );
    let text = text.replace("downsample_aa_filter: true", "bases: null");
    let imp = import_skdh("gait.skdh", &text).unwrap();
    assert_eq!(imp.spec.steps[0].params["use_classifier"], false);
}

#[test]
fn an_unsupported_gait_parameter_is_named_with_its_line() {
    let text = SAVED.replace("filter_order: 4", "filter_order: 6");
    let e = import_skdh("gait.skdh", &text).unwrap_err().to_string();
    assert!(e.contains("filter_order"), "{e}");
    assert!(e.contains("default (4)"), "{e}");
    assert!(e.contains("gait.skdh:"), "{e}");
    let text = SAVED.replace("downsample_aa_filter: true", "downsample_aa_filter: false");
    let e = import_skdh("gait.skdh", &text).unwrap_err().to_string();
    assert!(e.contains("downsample_aa_filter"), "{e}");
}
