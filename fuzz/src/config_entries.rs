//! Fuzz entry points of the study-config parsers in `studyflow::config`: the study config
//! (`parse_config`, `parse_config_with` with an SKDH loader) and per-subject metadata
//! (`parse_subject_metadata`, every layout). A panic is a finding; an `Err` is the expected
//! answer to bad text.

use std::collections::BTreeMap;

use studyflow::config::{
    FieldType, MetadataKind, MetadataSource, parse_config, parse_config_with,
    parse_subject_metadata,
};

/// The study config: bytes read as (lossy) UTF-8 text, parsed without and with an SKDH loader
/// that answers every key with the same text (so the SKDH import path sees fuzzed YAML too).
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_config("fuzz.yaml", &text);
    let _ = parse_config_with("fuzz.yaml", &text, &mut |_key: &str| Ok(text.to_string()));
}

/// Subject metadata in each layout, with one declared field of each type.
pub fn subject_metadata(data: &[u8]) {
    let fields: BTreeMap<String, FieldType> = [
        ("age", FieldType::Integer),
        ("height_cm", FieldType::Number),
        ("sex", FieldType::String),
        ("dominant_wrist", FieldType::Boolean),
        ("timezone", FieldType::TimeZone),
    ]
    .into_iter()
    .map(|(k, t)| (k.to_string(), t))
    .collect();
    let layouts = [
        (MetadataKind::StudyCsv, "meta/subjects.csv"),
        (MetadataKind::StudyDocument, "meta/subjects.yaml"),
        (MetadataKind::SubjectDocument, "meta/S01.json"),
    ];
    for (kind, key) in layouts {
        let source = MetadataSource {
            kind,
            key: key.to_string(),
            fields: fields.clone(),
        };
        if let Ok(meta) = parse_subject_metadata(&source, data, "S01") {
            assert_eq!(meta.subject, "S01", "metadata returned for another subject");
        }
    }
}

/// One fuzz entry point: takes the raw input bytes, panics on a finding.
pub type Entry = fn(&[u8]);

/// Every entry point of this module by target name (what the regression tests iterate).
pub const ENTRIES: &[(&str, Entry)] = &[("config", config), ("subject_metadata", subject_metadata)];
