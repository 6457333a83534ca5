//! The stack (cloudformation/studyflow.yaml) deploys the state machines of state-machines/
//! verbatim, with a substitution for every `${...}` they use, and wires the functions this crate
//! builds. (`cfn-lint` checks the template against the resource specs; see scripts/test.)

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("cloudformation/studyflow.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// The `${Name}` placeholders of a definition.
fn placeholders(text: &str) -> BTreeSet<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

#[test]
fn state_machines_are_the_files_verbatim_with_every_substitution() {
    let t = template();
    for (logical, file) in [
        ("ProcessFileStateMachine", "process-file.asl.json"),
        ("ScanConfigsStateMachine", "scan-configs.asl.json"),
    ] {
        let text = std::fs::read_to_string(root().join("state-machines").join(file)).unwrap();
        let on_disk: Value = serde_json::from_str(&text).unwrap();
        let props = &t["Resources"][logical]["Properties"];
        let deployed = props["DefinitionString"].as_str().unwrap_or("");
        assert_eq!(
            deployed.trim_end(),
            text.trim_end(),
            "{logical} differs from {file}"
        );
        let parsed: Value = serde_json::from_str(deployed).unwrap();
        assert_eq!(parsed, on_disk);
        let given: BTreeSet<String> = props["DefinitionSubstitutions"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(given, placeholders(&text), "{logical} substitutions");
    }
}

#[test]
fn every_lambda_binary_has_a_function() {
    let t = template();
    let manifest = std::fs::read_to_string(root().join("lambdas/Cargo.toml")).unwrap();
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "studyflow-lambdas")
        .collect();
    assert_eq!(bins.len(), 5, "{bins:?}");
    let functions: Vec<String> = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Function")
        .map(|r| {
            r["Properties"]["Code"]["S3Key"]["Fn::Sub"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for b in bins {
        assert!(
            functions.iter().any(|k| k.ends_with(&format!("}}{b}.zip"))),
            "no function runs {b}: {functions:?}"
        );
    }
}
