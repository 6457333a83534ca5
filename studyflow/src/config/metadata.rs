//! Subject metadata: where it lives (one file per study or one per subject), which fields it has,
//! and the parser that turns a metadata file into one subject's typed fields.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ConfigError, ConfigErrorKind, ConfigIssue};
use super::key_pattern::KeyPattern;
use super::yaml::{self, Node, Seg};

/// Where a study's subject metadata lives and which fields it has.
///
/// Exactly one of `study_file` and `subject_file` is set. Keys are in the study bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// One file for the whole study: a CSV with a `subject` column and one column per field, or a
    /// YAML/JSON mapping `subject -> {field: value}`. E.g. `metadata/subjects.csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_file: Option<String>,
    /// One YAML/JSON file per subject (a mapping `field: value`), as a key pattern with
    /// `{subject}`, e.g. `metadata/{subject}.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_file: Option<String>,
    /// The fields and their types. Well-known fields: `height_m` (number, metres), `age`
    /// (number, years), `sex` (string), `wear_location` (string), `time_zone` (IANA name).
    /// Other names are custom fields.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldType>,
}

/// The type of a metadata field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A finite number.
    Number,
    /// A whole number.
    Integer,
    /// Text.
    String,
    /// `true` or `false` (CSV also: yes/no, 1/0).
    Boolean,
    /// An IANA time zone name such as `Europe/London`.
    TimeZone,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::String => "string",
            FieldType::Boolean => "boolean",
            FieldType::TimeZone => "time_zone",
        }
    }
}

/// The well-known fields and the types they may be declared with.
pub const WELL_KNOWN_FIELDS: &[(&str, &[FieldType])] = &[
    ("height_m", &[FieldType::Number]),
    ("age", &[FieldType::Number, FieldType::Integer]),
    ("sex", &[FieldType::String]),
    ("wear_location", &[FieldType::String]),
    ("time_zone", &[FieldType::TimeZone]),
];

/// One subject's fields: name -> value.
pub type Fields = serde_json::Map<String, Value>;

/// A CSV record: the line it starts on and its cells.
type CsvRecord = (u64, Vec<String>);

/// How a metadata file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataKind {
    /// One CSV for the study: a `subject` column plus one column per field.
    StudyCsv,
    /// One YAML or JSON document for the study: a mapping `subject -> {field: value}`.
    StudyDocument,
    /// One YAML or JSON document per subject: a mapping `field: value`.
    SubjectDocument,
}

/// Everything needed to read one subject's metadata: the layout, the object key and the
/// declared field types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataSource {
    /// Layout of the file.
    pub kind: MetadataKind,
    /// Object key of the file in the study bucket.
    pub key: String,
    /// Declared field types (undeclared fields are kept as found).
    pub fields: BTreeMap<String, FieldType>,
}

impl MetadataConfig {
    /// True when the config has no metadata section (no file named).
    pub fn is_unset(&self) -> bool {
        self.study_file.is_none() && self.subject_file.is_none() && self.fields.is_empty()
    }

    /// Whether `key` (in the study bucket) is a metadata file of this study.
    pub fn is_metadata_key(&self, key: &str) -> bool {
        self.study_file.as_deref() == Some(key) || self.subject_of_key(key).is_some()
    }

    /// The subject a per-subject metadata key belongs to.
    pub fn subject_of_key(&self, key: &str) -> Option<String> {
        let pattern = KeyPattern::parse(self.subject_file.as_deref()?).ok()?;
        pattern.match_key(key).map(|p| p.subject)
    }

    /// The metadata files present in the study bucket: the study file if it exists, or every
    /// per-subject file (listed under the pattern's literal prefix).
    pub fn source_keys(
        &self,
        store: &dyn crate::ports::ObjectStore,
        bucket: &str,
    ) -> Result<Vec<String>, crate::ports::PortError> {
        if let Some(k) = &self.study_file {
            return Ok(match store.head(bucket, k)? {
                Some(_) => vec![k.clone()],
                None => Vec::new(),
            });
        }
        let Some(pattern) = &self.subject_file else {
            return Ok(Vec::new());
        };
        let head = pattern.split('{').next().unwrap_or("");
        Ok(store
            .list(bucket, head)?
            .into_iter()
            .map(|o| o.key)
            .filter(|k| self.subject_of_key(k).is_some())
            .collect())
    }

    /// Every subject's fields in the metadata file `key` (typed by `fields`): all rows of a
    /// study file, or the one subject of a per-subject file.
    pub fn parse(&self, key: &str, bytes: &[u8]) -> Result<Vec<(String, Fields)>, ConfigError> {
        let source = MetadataSource {
            kind: self.kind(),
            key: key.to_string(),
            fields: self.fields.clone(),
        };
        let only = match source.kind {
            MetadataKind::SubjectDocument => Some(self.subject_of_key(key).ok_or_else(|| {
                ConfigError::new(ConfigIssue {
                    kind: ConfigErrorKind::Metadata,
                    source_name: key.to_string(),
                    line: None,
                    column: None,
                    path: String::new(),
                    message: "the key does not match metadata.subject_file".into(),
                })
            })?),
            _ => None,
        };
        Ok(parse_records(&source, bytes, only.as_deref())?
            .into_iter()
            .map(|m| (m.subject, m.fields))
            .collect())
    }

    /// The file layout (per-study CSV, per-study document, or per-subject document).
    ///
    /// Only meaningful on a validated config (exactly one of the two keys set).
    pub fn kind(&self) -> MetadataKind {
        match (&self.study_file, &self.subject_file) {
            (Some(k), _) if lower_ext(k) == "csv" => MetadataKind::StudyCsv,
            (Some(_), _) => MetadataKind::StudyDocument,
            _ => MetadataKind::SubjectDocument,
        }
    }

    /// The object key holding `subject`'s metadata.
    pub fn key_for(&self, subject: &str) -> String {
        match (&self.study_file, &self.subject_file) {
            (Some(k), _) => k.clone(),
            (None, Some(p)) => p.replace("{subject}", subject),
            (None, None) => String::new(),
        }
    }

    /// What [`parse_subject_metadata`] needs to read `subject`'s metadata.
    pub fn source_for(&self, subject: &str) -> MetadataSource {
        MetadataSource {
            kind: self.kind(),
            key: self.key_for(subject),
            fields: self.fields.clone(),
        }
    }

    /// Rule checks; issues name paths under `metadata`.
    pub(crate) fn check(&self) -> Vec<(Vec<Seg>, String)> {
        let mut out = Vec::new();
        match (&self.study_file, &self.subject_file) {
            (Some(_), Some(_)) => out.push((
                yaml::yaml_path!["metadata", "subject_file"],
                "set either study_file or subject_file, not both".to_string(),
            )),
            (None, None) => out.push((
                yaml::yaml_path!["metadata"],
                "set study_file (one file for the study) or subject_file (one per subject)"
                    .to_string(),
            )),
            (Some(k), None) => {
                if let Some(m) = check_key(k) {
                    out.push((yaml::yaml_path!["metadata", "study_file"], m));
                } else if !matches!(lower_ext(k).as_str(), "csv" | "yaml" | "yml" | "json") {
                    out.push((
                        yaml::yaml_path!["metadata", "study_file"],
                        format!("\"{k}\" must end in .csv, .yaml, .yml or .json"),
                    ));
                } else if k.contains('{') {
                    out.push((
                        yaml::yaml_path!["metadata", "study_file"],
                        format!(
                            "\"{k}\" has a placeholder: use subject_file for one file per subject"
                        ),
                    ));
                }
            }
            (None, Some(p)) => {
                if let Some(m) = check_key(p) {
                    out.push((yaml::yaml_path!["metadata", "subject_file"], m));
                } else if p.matches("{subject}").count() != 1
                    || p.replace("{subject}", "").contains(['{', '}'])
                {
                    out.push((
                        yaml::yaml_path!["metadata", "subject_file"],
                        format!(
                            "\"{p}\" must contain {{subject}} exactly once and no other placeholder"
                        ),
                    ));
                } else if !matches!(lower_ext(p).as_str(), "yaml" | "yml" | "json") {
                    out.push((
                        yaml::yaml_path!["metadata", "subject_file"],
                        format!("\"{p}\" must end in .yaml, .yml or .json"),
                    ));
                }
            }
        }
        for (name, ty) in &self.fields {
            let valid_name = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                out.push((
                    yaml::yaml_path!["metadata", "fields", name.as_str()],
                    "field names are letters, digits and '_', starting with a letter or '_'"
                        .to_string(),
                ));
            } else if name == "subject" {
                out.push((
                    yaml::yaml_path!["metadata", "fields", name.as_str()],
                    "`subject` is the key of every metadata record, not a field".to_string(),
                ));
            } else if let Some((_, allowed)) = WELL_KNOWN_FIELDS.iter().find(|(n, _)| n == name)
                && !allowed.contains(ty)
            {
                let names: Vec<&str> = allowed.iter().map(|t| t.name()).collect();
                out.push((
                    yaml::yaml_path!["metadata", "fields", name.as_str()],
                    format!(
                        "`{name}` is a well-known field of type {}; found {}",
                        names.join(" or "),
                        ty.name()
                    ),
                ));
            }
        }
        out
    }
}

fn check_key(k: &str) -> Option<String> {
    if k.is_empty() {
        Some("empty key".to_string())
    } else if k.starts_with('/') {
        Some(format!(
            "\"{k}\" starts with '/': keys are relative to the study bucket"
        ))
    } else if k.split('/').any(|s| s == ".." || s == ".") {
        Some(format!("\"{k}\" contains a '.' or '..' segment"))
    } else {
        None
    }
}

fn lower_ext(key: &str) -> String {
    key.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// One subject's metadata: field name -> JSON value (numbers, strings, booleans).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubjectMetadata {
    /// Subject id.
    pub subject: String,
    /// Field values; absent or empty cells are left out.
    pub fields: serde_json::Map<String, Value>,
}

impl SubjectMetadata {
    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// Height, metres.
    pub fn height_m(&self) -> Option<f64> {
        self.get("height_m").and_then(Value::as_f64)
    }

    /// Age, years.
    pub fn age(&self) -> Option<f64> {
        self.get("age").and_then(Value::as_f64)
    }

    /// IANA time zone name of the subject's local days.
    pub fn time_zone(&self) -> Option<&str> {
        self.get("time_zone").and_then(Value::as_str)
    }

    /// Wear location (e.g. `wrist`, `lumbar`).
    pub fn wear_location(&self) -> Option<&str> {
        self.get("wear_location").and_then(Value::as_str)
    }

    /// The names in `required` that have no value yet.
    pub fn missing<'a>(&self, required: &'a [String]) -> Vec<&'a str> {
        required
            .iter()
            .filter(|f| !self.fields.contains_key(f.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// The facts the `biomarkers` steps use (height, time zone).
    pub fn subject_context(&self) -> biomarkers::pipeline::SubjectContext {
        biomarkers::pipeline::SubjectContext {
            height_m: self.height_m(),
            time_zone: self.time_zone().map(str::to_string),
        }
    }
}

/// Largest metadata file accepted, bytes (a per-study CSV of many thousand subjects fits).
pub const MAX_METADATA_BYTES: usize = 16 << 20;

/// Reads `subject`'s metadata from the bytes of the file `source` names.
///
/// A subject absent from a per-study file gives empty fields (its metadata has not arrived yet);
/// a malformed file or a value of the wrong type is an error naming the file, line and field.
pub fn parse_subject_metadata(
    source: &MetadataSource,
    bytes: &[u8],
    subject: &str,
) -> Result<SubjectMetadata, ConfigError> {
    Ok(parse_records(source, bytes, Some(subject))?
        .into_iter()
        .next()
        .unwrap_or_else(|| SubjectMetadata {
            subject: subject.to_string(),
            fields: serde_json::Map::new(),
        }))
}

/// The records of a metadata file: every subject, or only `only` when given (a per-subject
/// document is always read as `only`'s record).
fn parse_records(
    source: &MetadataSource,
    bytes: &[u8],
    only: Option<&str>,
) -> Result<Vec<SubjectMetadata>, ConfigError> {
    let issue = |line: Option<u64>, col: Option<u64>, path: String, message: String| {
        ConfigError::new(ConfigIssue {
            kind: ConfigErrorKind::Metadata,
            source_name: source.key.clone(),
            line,
            column: col,
            path,
            message,
        })
    };
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(issue(
            None,
            None,
            String::new(),
            format!(
                "file is {} bytes, more than the {MAX_METADATA_BYTES} byte limit",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| issue(None, None, String::new(), format!("not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: Vec<SubjectMetadata> = Vec::new();
    match source.kind {
        MetadataKind::StudyCsv => {
            let records =
                parse_csv(text).map_err(|(line, m)| issue(Some(line), None, String::new(), m))?;
            let Some((header_line, header)) = records.first() else {
                return Err(issue(
                    None,
                    None,
                    String::new(),
                    "empty CSV (no header row)".into(),
                ));
            };
            let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
            let Some(subject_col) = names.iter().position(|h| h == "subject") else {
                return Err(issue(
                    Some(*header_line),
                    None,
                    String::new(),
                    format!(
                        "the header has no `subject` column (found: {})",
                        names.join(", ")
                    ),
                ));
            };
            let mut lines: BTreeMap<String, u64> = BTreeMap::new();
            for (line, row) in &records[1..] {
                let subject = row.get(subject_col).map(|s| s.trim()).unwrap_or("");
                if subject.is_empty() || only.is_some_and(|o| o != subject) {
                    continue;
                }
                if let Some(first) = lines.insert(subject.to_string(), *line) {
                    return Err(issue(
                        Some(*line),
                        Some(subject_col as u64 + 1),
                        "subject".into(),
                        format!("subject {subject} appears twice (lines {first} and {line})"),
                    ));
                }
                if row.len() > names.len() {
                    return Err(issue(
                        Some(*line),
                        None,
                        String::new(),
                        format!("row has {} cells, the header {}", row.len(), names.len()),
                    ));
                }
                let mut rec = SubjectMetadata {
                    subject: subject.to_string(),
                    fields: serde_json::Map::new(),
                };
                for (i, (cell, name)) in row.iter().zip(&names).enumerate() {
                    let cell = cell.trim();
                    if i == subject_col || cell.is_empty() || name.is_empty() {
                        continue;
                    }
                    let v = match source.fields.get(name) {
                        Some(ty) => convert(&Value::String(cell.to_string()), *ty, name, true),
                        None => Ok(Value::String(cell.to_string())),
                    }
                    .map_err(|m| {
                        issue(
                            Some(*line),
                            Some(i as u64 + 1),
                            name.clone(),
                            format!("subject {subject}: {m}"),
                        )
                    })?;
                    rec.fields.insert(name.clone(), v);
                }
                out.push(rec);
            }
        }
        MetadataKind::StudyDocument | MetadataKind::SubjectDocument => {
            let (doc, tree): (Value, Node) =
                yaml::parse_document_with(&source.key, text, yaml::Limits::Metadata)?;
            let records: Vec<(String, &serde_json::Map<String, Value>, Vec<Seg>)> =
                match (&doc, source.kind) {
                    (Value::Null, _) => Vec::new(),
                    (Value::Object(m), MetadataKind::SubjectDocument) => match only {
                        Some(s) => vec![(s.to_string(), m, Vec::new())],
                        None => {
                            return Err(issue(
                                None,
                                None,
                                String::new(),
                                "a per-subject file is read for one named subject".into(),
                            ));
                        }
                    },
                    (Value::Object(m), _) => {
                        let mut v = Vec::new();
                        for (subject, rec) in m {
                            if only.is_some_and(|o| o != subject) {
                                continue;
                            }
                            let p = vec![Seg::Key(subject.clone())];
                            match rec {
                                Value::Object(r) => v.push((subject.clone(), r, p)),
                                Value::Null => {}
                                _ => {
                                    let pos = tree.locate_value(&p);
                                    return Err(issue(
                                        pos.map(|p| p.line),
                                        pos.map(|p| p.col),
                                        subject.clone(),
                                        "expected a mapping of field: value".into(),
                                    ));
                                }
                            }
                        }
                        v
                    }
                    _ => {
                        return Err(issue(
                            Some(tree.pos.line),
                            Some(tree.pos.col),
                            String::new(),
                            "expected a mapping".into(),
                        ));
                    }
                };
            for (subject, record, base) in records {
                let mut rec = SubjectMetadata {
                    subject: subject.clone(),
                    fields: serde_json::Map::new(),
                };
                for (name, value) in record {
                    let mut path = base.clone();
                    path.push(Seg::Key(name.clone()));
                    let at = |m: String| {
                        let p = tree.locate_value(&path);
                        issue(
                            p.map(|p| p.line),
                            p.map(|p| p.col),
                            yaml::path_string(&path),
                            m,
                        )
                    };
                    if name == "subject" {
                        if source.kind == MetadataKind::SubjectDocument
                            && value.as_str() != Some(subject.as_str())
                        {
                            return Err(at(format!(
                                "this file is for subject {subject} but says {value}"
                            )));
                        }
                        continue;
                    }
                    if value.is_null() {
                        continue;
                    }
                    let v = match source.fields.get(name) {
                        Some(ty) => convert(value, *ty, name, false)
                            .map_err(|m| at(format!("subject {subject}: {m}")))?,
                        None => value.clone(),
                    };
                    rec.fields.insert(name.clone(), v);
                }
                out.push(rec);
            }
        }
    }
    Ok(out)
}

/// Converts a value to the declared type; `from_text` allows CSV spellings (numbers as text).
fn convert(v: &Value, ty: FieldType, name: &str, from_text: bool) -> Result<Value, String> {
    let text = v.as_str().map(str::trim);
    let out = match ty {
        FieldType::Number => {
            let x = match (v, text) {
                (Value::Number(n), _) => n.as_f64(),
                // A decimal comma is common in CSVs exported with ';' as separator.
                (_, Some(t)) if from_text => t
                    .parse::<f64>()
                    .ok()
                    .or_else(|| t.replace(',', ".").parse().ok()),
                _ => None,
            }
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("expected a number, found {v}"))?;
            Value::from(x)
        }
        FieldType::Integer => {
            let x = match (v, text) {
                (Value::Number(n), _) => n.as_i64(),
                (_, Some(t)) if from_text => t.parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("expected a whole number, found {v}"))?;
            Value::from(x)
        }
        FieldType::String => match v {
            Value::String(s) => Value::String(s.trim().to_string()),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(b.to_string()),
            other => return Err(format!("expected text, found {other}")),
        },
        FieldType::Boolean => match (v, text.map(str::to_ascii_lowercase).as_deref()) {
            (Value::Bool(b), _) => Value::Bool(*b),
            (_, Some("true" | "yes" | "1")) if from_text => Value::Bool(true),
            (_, Some("false" | "no" | "0")) if from_text => Value::Bool(false),
            _ => return Err(format!("expected true or false, found {v}")),
        },
        FieldType::TimeZone => {
            let Some(t) = text else {
                return Err(format!("expected an IANA time zone name, found {v}"));
            };
            if jiff::tz::TimeZone::get(t).is_err() {
                return Err(format!(
                    "unknown time zone \"{t}\" (expected an IANA name such as \"Europe/London\")"
                ));
            }
            Value::String(t.to_string())
        }
    };
    // Plausibility of the well-known numbers catches unit mistakes (height in cm).
    match (name, out.as_f64()) {
        ("height_m", Some(h)) if !(0.3..=2.8).contains(&h) => Err(format!(
            "height_m {h} is not a plausible height in metres (0.3 to 2.8)"
        )),
        ("age", Some(a)) if !(0.0..=130.0).contains(&a) => Err(format!(
            "age {a} is not a plausible age in years (0 to 130)"
        )),
        _ => Ok(out),
    }
}

/// Splits CSV text (RFC 4180: quotes, doubled quotes, quoted newlines; `,`, or `;`/tab when the
/// header has no comma) into records with the line each starts on.
fn parse_csv(text: &str) -> Result<Vec<CsvRecord>, (u64, String)> {
    let header = text.lines().next().unwrap_or("");
    let delim = if header.contains(',') {
        ','
    } else if header.contains(';') {
        ';'
    } else if header.contains('\t') {
        '\t'
    } else {
        ','
    };
    let mut records = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut line: u64 = 1;
    let mut row_line: u64 = 1;
    let mut in_quotes = false;
    let mut quote_line = 0;
    let mut chars = text.chars().peekable();
    let mut row_has_content = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    cell.push('\n');
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.trim().is_empty() => {
                cell.clear();
                in_quotes = true;
                quote_line = line;
                row_has_content = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if row_has_content || !cell.is_empty() || !row.is_empty() {
                    row.push(std::mem::take(&mut cell));
                    records.push((row_line, std::mem::take(&mut row)));
                }
                row_has_content = false;
                line += 1;
                row_line = line;
            }
            _ if c == delim => {
                row.push(std::mem::take(&mut cell));
                row_has_content = true;
            }
            _ => {
                cell.push(c);
                row_has_content = true;
            }
        }
    }
    if in_quotes {
        return Err((quote_line, "a quoted cell is never closed".to_string()));
    }
    if row_has_content || !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        records.push((row_line, row));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::parse_csv;

    #[test]
    fn csv_quotes_and_lines() {
        let r =
            parse_csv("subject,note\r\nS1,\"a, \"\"b\"\"\"\n\nS2,\"two\nlines\"\nS3,x").unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[1], (2, vec!["S1".to_string(), "a, \"b\"".to_string()]));
        assert_eq!(r[2], (4, vec!["S2".to_string(), "two\nlines".to_string()]));
        assert_eq!(r[3], (6, vec!["S3".to_string(), "x".to_string()]));
        assert_eq!(parse_csv("a,b\n1,\"open").unwrap_err().0, 2);
        let semi = parse_csv("subject;height_m\nS1;1,70\n").unwrap();
        assert_eq!(semi[1].1, vec!["S1".to_string(), "1,70".to_string()]);
    }
}
