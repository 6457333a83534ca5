//! Object-key patterns such as `raw/{subject}/{visit}/{device}.cwa`, which name where a study's
//! recordings live and which parts of a key are the subject, visit and device.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The parts of an object key named by a key pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyParts {
    /// Subject id (always present).
    pub subject: String,
    /// Visit label, when the pattern has `{visit}`.
    pub visit: Option<String>,
    /// Device label, when the pattern has `{device}`.
    pub device: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Subject,
    Visit,
    Device,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Subject => "subject",
            Field::Visit => "visit",
            Field::Device => "device",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field(Field),
}

/// A validated key pattern: literal text and `{subject}`, `{visit}`, `{device}` placeholders.
///
/// A placeholder matches one or more characters other than `/`; the key must match the whole
/// pattern. `{subject}` is required; `{visit}` and `{device}` are optional; each appears at most
/// once, and two placeholders must be separated by literal text (else the split is ambiguous).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    text: String,
    pieces: Vec<Piece>,
}

impl KeyPattern {
    /// Parses and validates a pattern; the message names what is wrong.
    pub fn parse(text: &str) -> Result<KeyPattern, String> {
        if text.is_empty() {
            return Err(
                "empty key pattern (write e.g. \"raw/{subject}/{visit}/{device}.cwa\")".into(),
            );
        }
        if text.starts_with('/') {
            return Err(format!(
                "key pattern \"{text}\" starts with '/': S3 keys are relative to the bucket"
            ));
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            match c {
                '{' => {
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "key pattern \"{text}\": '{{' without a closing '}}'"
                        ));
                    };
                    let name = &rest[1..end];
                    let field = match name {
                        "subject" => Field::Subject,
                        "visit" => Field::Visit,
                        "device" => Field::Device,
                        other => {
                            return Err(format!(
                                "key pattern \"{text}\": unknown placeholder {{{other}}} (allowed: {{subject}}, {{visit}}, {{device}})"
                            ));
                        }
                    };
                    if pieces.contains(&Piece::Field(field)) {
                        return Err(format!(
                            "key pattern \"{text}\": {{{}}} appears more than once",
                            field.name()
                        ));
                    }
                    if literal.is_empty() && matches!(pieces.last(), Some(Piece::Field(_))) {
                        return Err(format!(
                            "key pattern \"{text}\": two placeholders need literal text between them"
                        ));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field(field));
                    rest = &rest[end + 1..];
                }
                '}' => {
                    return Err(format!(
                        "key pattern \"{text}\": '}}' without an opening '{{'"
                    ));
                }
                _ => {
                    literal.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        if !pieces.contains(&Piece::Field(Field::Subject)) {
            return Err(format!(
                "key pattern \"{text}\" has no {{subject}} placeholder"
            ));
        }
        if text.split('/').any(|seg| seg == ".." || seg == ".") {
            return Err(format!(
                "key pattern \"{text}\" contains a '.' or '..' path segment"
            ));
        }
        Ok(KeyPattern {
            text: text.to_string(),
            pieces,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern has a `{visit}` placeholder.
    pub fn has_visit(&self) -> bool {
        self.pieces.contains(&Piece::Field(Field::Visit))
    }

    /// Whether the pattern has a `{device}` placeholder.
    pub fn has_device(&self) -> bool {
        self.pieces.contains(&Piece::Field(Field::Device))
    }

    /// The literal text before the first placeholder (every matching key starts with it).
    pub fn literal_prefix(&self) -> &str {
        match self.pieces.first() {
            Some(Piece::Literal(s)) => s,
            _ => "",
        }
    }

    /// The key for given parts (e.g. the key of a companion device's file). Returns `None` when
    /// a part the pattern needs is missing.
    pub fn render(&self, parts: &KeyParts) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(s) => out.push_str(s),
                Piece::Field(Field::Subject) => out.push_str(&parts.subject),
                Piece::Field(Field::Visit) => out.push_str(parts.visit.as_deref()?),
                Piece::Field(Field::Device) => out.push_str(parts.device.as_deref()?),
            }
        }
        Some(out)
    }

    /// Splits `key` into its parts, or `None` when the key does not match the pattern.
    ///
    /// Placeholders take the shortest text that lets the rest of the key match; values `.` and
    /// `..` never match, so a key cannot name a path outside its folder.
    pub fn match_key(&self, key: &str) -> Option<KeyParts> {
        let mut values: [Option<&str>; 3] = [None, None, None];
        if !match_from(&self.pieces, key, &mut values) {
            return None;
        }
        Some(KeyParts {
            subject: values[0]?.to_string(),
            visit: values[1].map(str::to_string),
            device: values[2].map(str::to_string),
        })
    }
}

fn slot(f: Field) -> usize {
    match f {
        Field::Subject => 0,
        Field::Visit => 1,
        Field::Device => 2,
    }
}

fn match_from<'k>(pieces: &[Piece], key: &'k str, values: &mut [Option<&'k str>; 3]) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return key.is_empty();
    };
    match first {
        Piece::Literal(lit) => match key.strip_prefix(lit.as_str()) {
            Some(tail) => match_from(rest, tail, values),
            None => false,
        },
        Piece::Field(f) => {
            // Candidate ends: every char boundary before the next '/' (placeholders never span
            // folders), shortest first. Patterns have at most three placeholders, so the
            // backtracking is bounded by 3 x key length.
            let limit = key.find('/').unwrap_or(key.len());
            for (end, _) in key[..limit]
                .char_indices()
                .skip(1)
                .chain(std::iter::once((limit, ' ')))
            {
                let value = &key[..end];
                if value.is_empty() || value == "." || value == ".." {
                    continue;
                }
                values[slot(*f)] = Some(value);
                if match_from(rest, &key[end..], values) {
                    return true;
                }
            }
            values[slot(*f)] = None;
            false
        }
    }
}

impl fmt::Display for KeyPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for KeyPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KeyPattern::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for KeyPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl JsonSchema for KeyPattern {
    fn schema_name() -> Cow<'static, str> {
        "KeyPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Object key pattern with {subject} (required), {visit} and {device} (optional) placeholders, e.g. \"raw/{subject}/{visit}/{device}.cwa\".",
            "pattern": "\\{subject\\}",
            "examples": ["raw/{subject}/{visit}/{device}.cwa"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyParts, KeyPattern};

    #[test]
    fn matches_and_renders() {
        let p = KeyPattern::parse("raw/{subject}/{visit}/{device}.cwa").unwrap();
        let parts = p.match_key("raw/S01/V1/wrist.cwa").unwrap();
        assert_eq!(
            parts,
            KeyParts {
                subject: "S01".into(),
                visit: Some("V1".into()),
                device: Some("wrist".into())
            }
        );
        assert_eq!(p.render(&parts).as_deref(), Some("raw/S01/V1/wrist.cwa"));
        assert_eq!(p.match_key("raw/S01/V1/wrist.bin"), None);
        assert_eq!(p.match_key("raw/S01/V1/x/wrist.cwa"), None);
        assert_eq!(p.match_key("raw/S01/V1/.cwa"), None);
        assert_eq!(p.match_key("raw/../V1/wrist.cwa"), None);
        assert_eq!(p.literal_prefix(), "raw/");
    }

    #[test]
    fn placeholders_within_one_segment() {
        let p = KeyPattern::parse("{subject}_{device}.cwa").unwrap();
        let k = p.match_key("S01_lumbar_v2.cwa").unwrap();
        assert_eq!(k.subject, "S01");
        assert_eq!(k.device.as_deref(), Some("lumbar_v2"));
        assert!(!p.has_visit());
    }

    #[test]
    fn rejects_bad_patterns() {
        for (t, want) in [
            ("raw/{visit}.cwa", "no {subject}"),
            ("raw/{subject}/{site}.cwa", "unknown placeholder {site}"),
            ("raw/{subject}{visit}.cwa", "literal text between"),
            ("raw/{subject}/{subject}.cwa", "more than once"),
            ("raw/{subject", "without a closing"),
            ("raw/subject}", "without an opening"),
            ("/raw/{subject}.cwa", "starts with '/'"),
            ("../{subject}.cwa", "'..'"),
            ("", "empty"),
        ] {
            let e = KeyPattern::parse(t).unwrap_err();
            assert!(e.contains(want), "{t}: {e}");
        }
    }
}
