//! Decoding the object a Distributed Map's `ItemReader` reads (`arn:aws:states:::s3:getObject`)
//! into items, as `ReaderConfig.InputType` says: a JSON array, JSON Lines, or CSV. A
//! [`crate::TaskHandler`] fetches the bytes from its own store and calls [`decode_items`], so
//! every backend reads manifests the same way.

use serde_json::{Map, Value};

/// Why an `ItemReader` object could not be turned into items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemsError {
    /// The object is not what its `InputType` says (message names the line or the JSON error).
    #[error("the {input_type} object is malformed: {message}")]
    Malformed {
        /// `JSON`, `JSONL` or `CSV`.
        input_type: &'static str,
        /// What is wrong, with the line number where there is one.
        message: String,
    },
    /// An `InputType` this decoder does not read (`MANIFEST`, `PARQUET`).
    #[error("InputType {0} is not supported by this interpreter's item decoder")]
    Unsupported(String),
}

/// Decodes an `ItemReader` object. `reader_config` is the `ReaderConfig` of the definition
/// (what [`crate::CallPurpose::ItemReader`] carries); `InputType` absent means `JSON`.
///
/// - `JSON`: the object must be a JSON array; its elements are the items.
/// - `JSONL`: one JSON value per non-blank line.
/// - `CSV`: one object per row mapping header names to the row's fields (all strings), with
///   the header from the first row (`CSVHeaderLocation: FIRST_ROW`, the default) or from
///   `CSVHeaders` (`GIVEN`); `CSVDelimiter` `COMMA` (default), `PIPE`, `SEMICOLON`, `SPACE` or
///   `TAB`; fields may be double-quoted with `""` for a quote.
///
/// Returns the items in object order. `MaxItems` is not applied here (the interpreter does it).
pub fn decode_items(body: &[u8], reader_config: &Value) -> Result<Vec<Value>, ItemsError> {
    let input_type = reader_config
        .get("InputType")
        .and_then(Value::as_str)
        .unwrap_or("JSON");
    match input_type {
        "JSON" => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(other) => Err(malformed(
                "JSON",
                format!("expected an array of items, found {}", kind(&other)),
            )),
            Err(e) => Err(malformed("JSON", e.to_string())),
        },
        "JSONL" => {
            let text = utf8("JSONL", body)?;
            let mut items = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v = serde_json::from_str(line)
                    .map_err(|e| malformed("JSONL", format!("line {}: {e}", i + 1)))?;
                items.push(v);
            }
            Ok(items)
        }
        "CSV" => decode_csv(utf8("CSV", body)?, reader_config),
        other => Err(ItemsError::Unsupported(other.to_string())),
    }
}

fn malformed(input_type: &'static str, message: String) -> ItemsError {
    ItemsError::Malformed {
        input_type,
        message,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn utf8<'a>(input_type: &'static str, body: &'a [u8]) -> Result<&'a str, ItemsError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    std::str::from_utf8(body).map_err(|e| malformed(input_type, e.to_string()))
}

fn decode_csv(text: &str, config: &Value) -> Result<Vec<Value>, ItemsError> {
    let delimiter = match config.get("CSVDelimiter").and_then(Value::as_str) {
        None | Some("COMMA") => ',',
        Some("PIPE") => '|',
        Some("SEMICOLON") => ';',
        Some("SPACE") => ' ',
        Some("TAB") => '\t',
        Some(other) => {
            return Err(malformed("CSV", format!("unknown CSVDelimiter {other}")));
        }
    };
    let mut rows = csv_rows(text, delimiter)?.into_iter();
    let given = config.get("CSVHeaderLocation").and_then(Value::as_str) == Some("GIVEN");
    let header: Vec<String> = if given {
        config
            .get("CSVHeaders")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .ok_or_else(|| malformed("CSV", "GIVEN headers need CSVHeaders".into()))?
    } else {
        rows.next().unwrap_or_default()
    };
    let mut items = Vec::new();
    for (i, row) in rows.enumerate() {
        if row.len() != header.len() {
            let line = if given { i + 1 } else { i + 2 };
            return Err(malformed(
                "CSV",
                format!(
                    "row {line} has {} fields, the header {}",
                    row.len(),
                    header.len()
                ),
            ));
        }
        let m: Map<String, Value> = header
            .iter()
            .cloned()
            .zip(row.into_iter().map(Value::String))
            .collect();
        items.push(Value::Object(m));
    }
    Ok(items)
}

/// Splits CSV text into rows of fields (RFC 4180 quoting; CRLF or LF line ends; blank lines
/// skipped).
fn csv_rows(text: &str, delimiter: char) -> Result<Vec<Vec<String>>, ItemsError> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    // A row that is only a line end is blank, not one empty field.
    let mut row_has_content = false;
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                in_quotes = true;
                row_has_content = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if row_has_content {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                row_has_content = false;
                line += 1;
            }
            c if c == delimiter => {
                row.push(std::mem::take(&mut field));
                row_has_content = true;
            }
            c => {
                field.push(c);
                row_has_content = true;
            }
        }
    }
    if in_quotes {
        return Err(malformed(
            "CSV",
            format!("a quoted field is not closed by line {line}"),
        ));
    }
    if row_has_content {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_arrays_and_lines_give_their_elements() {
        let body = br#"[{"name": "a"}, {"name": "b"}]"#;
        assert_eq!(
            decode_items(body, &json!({"InputType": "JSON"})).unwrap(),
            vec![json!({"name": "a"}), json!({"name": "b"})]
        );
        assert_eq!(
            decode_items(b"[1, 2]", &json!({})).unwrap(),
            vec![json!(1), json!(2)]
        );
        let lines = b"{\"a\": 1}\n\n{\"a\": 2}\r\n";
        assert_eq!(
            decode_items(lines, &json!({"InputType": "JSONL"})).unwrap(),
            vec![json!({"a": 1}), json!({"a": 2})]
        );
    }

    #[test]
    fn malformed_objects_are_errors_naming_the_problem() {
        let e = decode_items(br#"{"files": []}"#, &json!({"InputType": "JSON"})).unwrap_err();
        assert!(e.to_string().contains("found an object"), "{e}");
        assert!(matches!(
            decode_items(b"[1,", &json!({})),
            Err(ItemsError::Malformed {
                input_type: "JSON",
                ..
            })
        ));
        let e = decode_items(b"{}\nnot json\n", &json!({"InputType": "JSONL"})).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert_eq!(
            decode_items(b"", &json!({"InputType": "PARQUET"})),
            Err(ItemsError::Unsupported("PARQUET".into()))
        );
        assert!(decode_items(b"\xff\xfe", &json!({"InputType": "JSONL"})).is_err());
    }

    #[test]
    fn csv_rows_become_objects_with_quoting_and_given_headers() {
        let text = "key,size\r\n\"raw/a,b.cwa\",10\n\"say \"\"hi\"\"\",\n\n";
        assert_eq!(
            decode_items(text.as_bytes(), &json!({"InputType": "CSV"})).unwrap(),
            vec![
                json!({"key": "raw/a,b.cwa", "size": "10"}),
                json!({"key": "say \"hi\"", "size": ""}),
            ]
        );
        let cfg = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                         "CSVHeaders": ["k", "v"], "CSVDelimiter": "PIPE"});
        assert_eq!(
            decode_items(b"x|1\ny|2", &cfg).unwrap(),
            vec![json!({"k": "x", "v": "1"}), json!({"k": "y", "v": "2"})]
        );
        let e = decode_items(b"a,b\n1\n", &json!({"InputType": "CSV"})).unwrap_err();
        assert!(e.to_string().contains("row 2 has 1 fields"), "{e}");
        let e = decode_items(b"a\n\"open\n", &json!({"InputType": "CSV"})).unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
    }
}
