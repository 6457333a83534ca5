//! Every definition shipped in `state-machines/` loads (after its DefinitionSubstitutions).
use asl::{LoadError, StateMachine, substitute};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Gives every `${Name}` placeholder of `text` a dummy Lambda ARN.
fn dummy_substitutions(text: &str) -> BTreeMap<String, String> {
    let mut subs = BTreeMap::new();
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        subs.insert(
            name.to_string(),
            format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        );
        rest = &after[end + 1..];
    }
    subs
}

#[test]
fn shipped_state_machines_load() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../state-machines");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        // The directory belongs to the repository; nothing to check in a crate-only checkout.
        return;
    };
    let mut loaded = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".asl.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let result: Result<StateMachine, LoadError> =
            substitute(&text, &dummy_substitutions(&text))
                .and_then(|t| StateMachine::from_json(&t));
        match result {
            Ok(m) => {
                assert!(!m.state_names().is_empty());
                assert!(m.task_resources().iter().all(|r| !r.contains("${")));
                loaded += 1;
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    assert!(loaded > 0, "no .asl.json files in {}", dir.display());
}
