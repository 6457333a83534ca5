//! Durations written as text in study configs: `"90s"`, `"30m"`, `"6h"`, `"2d"`, `"1h30m"`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest duration accepted, seconds (400 days): beyond any Step Functions execution.
const MAX_SECONDS: u64 = 400 * 86_400;

/// A duration as written in the config (kept for messages) with its value in whole seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText {
    text: String,
    seconds: u64,
}

impl DurationText {
    /// Parses `"<n><unit>"` terms (units `s`, `m`, `h`, `d`; e.g. `"1h30m"`) into seconds.
    ///
    /// Returns a message fit for a config error when the text is not a duration.
    pub fn parse(text: &str) -> Result<DurationText, String> {
        let seconds = parse_seconds(text)?;
        Ok(DurationText {
            text: text.trim().to_string(),
            seconds,
        })
    }

    /// A duration from known-good parts (for defaults).
    pub(crate) fn from_parts(text: &str, seconds: u64) -> DurationText {
        DurationText {
            text: text.to_string(),
            seconds,
        }
    }

    /// The value, whole seconds.
    pub fn seconds(&self) -> u64 {
        self.seconds
    }

    /// The text as written in the config, e.g. `"6h"`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const HINT: &str = "write a whole number followed by s, m, h or d, e.g. \"30m\", \"6h\", \"1h30m\"";

fn parse_seconds(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("empty duration: {HINT}"));
    }
    if t.contains(char::is_whitespace) {
        return Err(format!("invalid duration \"{t}\": no spaces ({HINT})"));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut terms = 0;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ if digits.is_empty() && terms == 0 => {
                return Err(format!("invalid duration \"{t}\": {HINT}"));
            }
            other => {
                return Err(format!(
                    "invalid duration \"{t}\": unknown unit '{other}' ({HINT})"
                ));
            }
        };
        if digits.is_empty() {
            return Err(format!(
                "invalid duration \"{t}\": unit '{c}' without a number ({HINT})"
            ));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("invalid duration \"{t}\": number too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .filter(|v| *v <= MAX_SECONDS)
            .ok_or_else(|| format!("duration \"{t}\" is longer than 400 days"))?;
        digits.clear();
        terms += 1;
    }
    if !digits.is_empty() {
        return Err(if terms == 0 {
            format!("duration \"{t}\" has no unit: {HINT}")
        } else {
            format!("invalid duration \"{t}\": the last number has no unit ({HINT})")
        });
    }
    Ok(total)
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DurationText::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for DurationText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^\\s*([0-9]+[smhd])+\\s*$",
            "description": "A duration: whole numbers with units s, m, h, d, e.g. \"30m\", \"6h\", \"1h30m\"."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::DurationText;

    #[test]
    fn parses_units_and_compounds() {
        let s = |t: &str| DurationText::parse(t).map(|d| d.seconds());
        assert_eq!(s("90s"), Ok(90));
        assert_eq!(s("30m"), Ok(1_800));
        assert_eq!(s("6h"), Ok(21_600));
        assert_eq!(s("2d"), Ok(172_800));
        assert_eq!(s("1h30m"), Ok(5_400));
        assert_eq!(s(" 5m "), Ok(300));
    }

    #[test]
    fn explains_bad_text() {
        let e = |t: &str| DurationText::parse(t).unwrap_err();
        assert!(e("6").contains("has no unit"), "{}", e("6"));
        assert!(e("6x").contains("unknown unit 'x'"), "{}", e("6x"));
        assert!(e("h").contains("invalid duration"), "{}", e("h"));
        assert!(e("1h30").contains("last number has no unit"));
        assert!(e("").contains("empty"));
        assert!(e("-5m").contains("invalid duration"));
        assert!(e("401d").contains("longer than 400 days"));
        assert!(e("99999999999999999999999s").contains("too large"));
    }
}
