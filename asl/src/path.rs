//! ASL paths: `$...` on the state input, `$$...` on the context object.
//!
//! Reference paths (only `.name`, `['name']` and `[index]` steps) are walked directly: they
//! always select at most one node, and they are the only kind ResultPath may use. Any other path
//! (wildcards, filters, slices, recursive descent) is an RFC 9535 query run with
//! `serde_json_path`, whose result is the array of every node it selected, as in Step Functions.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
enum Kind {
    Reference(Vec<Step>),
    Query(Box<JsonPath>),
}

/// A parsed path, ready to select from a state input or a context object.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    text: String,
    context: bool,
    kind: Kind,
}

impl Path {
    /// Parses `$...` or `$$...`. The error says what is wrong, without location.
    pub(crate) fn parse(text: &str) -> Result<Path, String> {
        let (context, rooted) = if let Some(rest) = text.strip_prefix("$$") {
            (true, format!("${rest}"))
        } else if text.starts_with('$') {
            (false, text.to_string())
        } else {
            return Err(format!("'{text}' is not a path: paths start with '$'"));
        };
        let kind = match parse_steps(&rooted[1..]) {
            Some(steps) => Kind::Reference(steps),
            None => match JsonPath::parse(&rooted) {
                Ok(p) => Kind::Query(Box::new(p)),
                Err(e) => return Err(format!("'{text}' is not a valid JSONPath: {e}")),
            },
        };
        Ok(Path {
            text: text.to_string(),
            context,
            kind,
        })
    }

    /// The path as written in the definition.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Selects from `input` (or from `context` for `$$` paths). `None` when nothing matches a
    /// reference path; a query path always gives an array, possibly empty.
    pub(crate) fn select(&self, input: &Value, context: &Value) -> Option<Value> {
        let root = if self.context { context } else { input };
        match &self.kind {
            Kind::Reference(steps) => walk(root, steps).cloned(),
            Kind::Query(q) => Some(Value::Array(
                q.query(root).all().into_iter().cloned().collect(),
            )),
        }
    }
}

/// A ResultPath-style reference path: no `$$`, single-node steps only.
pub(crate) fn parse_reference(text: &str) -> Result<Vec<Step>, String> {
    if text.starts_with("$$") {
        return Err(format!(
            "'{text}' refers to the context object; a reference path must start with '$' alone"
        ));
    }
    let Some(rest) = text.strip_prefix('$') else {
        return Err(format!("'{text}' is not a path: paths start with '$'"));
    };
    parse_steps(rest).ok_or_else(|| {
        format!(
            "'{text}' is not a reference path: only '.name', ['name'] and [index] steps are allowed"
        )
    })
}

fn walk<'a>(root: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut cur = root;
    for step in steps {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn parse_steps(rest: &str) -> Option<Vec<Step>> {
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                    if matches!(
                        chars[j],
                        ']' | '*' | '(' | ')' | '?' | '@' | ',' | ':' | '\'' | '"' | '$'
                    ) || chars[j].is_whitespace()
                    {
                        return None;
                    }
                    j += 1;
                }
                if j == start {
                    return None;
                }
                steps.push(Step::Key(chars[start..j].iter().collect()));
                i = j;
            }
            '[' => {
                let q = *chars.get(i + 1)?;
                if q == '\'' || q == '"' {
                    let mut j = i + 2;
                    let mut name = String::new();
                    loop {
                        let c = *chars.get(j)?;
                        if c == '\\' {
                            name.push(*chars.get(j + 1)?);
                            j += 2;
                        } else if c == q {
                            break;
                        } else {
                            name.push(c);
                            j += 1;
                        }
                    }
                    if chars.get(j + 1) != Some(&']') {
                        return None;
                    }
                    steps.push(Step::Key(name));
                    i = j + 2;
                } else {
                    let mut j = i + 1;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    if j == i + 1 || chars.get(j) != Some(&']') {
                        return None;
                    }
                    let digits: String = chars[i + 1..j].iter().collect();
                    steps.push(Step::Index(digits.parse().ok()?));
                    i = j + 1;
                }
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// Puts `value` at `steps` inside `target`, creating missing object fields on the way.
/// Fails (with a message for `States.ResultPathMatchFailure`) where a step meets a value of the
/// wrong type or an array index past the end.
pub(crate) fn set_at(target: &mut Value, steps: &[Step], value: Value) -> Result<(), String> {
    let Some((first, rest)) = steps.split_first() else {
        *target = value;
        return Ok(());
    };
    match first {
        Step::Key(k) => {
            let Value::Object(map) = target else {
                return Err(format!(
                    "cannot add field '{k}' to a value of type {}",
                    type_name(target)
                ));
            };
            if rest.is_empty() {
                map.insert(k.clone(), value);
                return Ok(());
            }
            let child = map
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            set_at(child, rest, value)
        }
        Step::Index(i) => {
            let Value::Array(arr) = target else {
                return Err(format!(
                    "cannot index [{i}] into a value of type {}",
                    type_name(target)
                ));
            };
            let len = arr.len();
            let Some(child) = arr.get_mut(*i) else {
                return Err(format!(
                    "index [{i}] is past the end of an array of {len} items"
                ));
            };
            set_at(child, rest, value)
        }
    }
}

/// JSON type name used in error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(path: &str, input: &Value) -> Option<Value> {
        Path::parse(path).ok()?.select(input, &json!({"ctx": 1}))
    }

    #[test]
    fn reference_paths_select_single_nodes() {
        let v = json!({"a": {"b-c": [10, {"d": true}]}, "x y": 1});
        assert_eq!(sel("$", &v), Some(v.clone()));
        assert_eq!(sel("$.a.b-c[1].d", &v), Some(json!(true)));
        assert_eq!(sel("$['a']['b-c'][0]", &v), Some(json!(10)));
        assert_eq!(sel("$['x y']", &v), Some(json!(1)));
        assert_eq!(sel("$.missing", &v), None);
        assert_eq!(sel("$.a.b-c[5]", &v), None);
        assert_eq!(sel("$$.ctx", &v), Some(json!(1)));
    }

    #[test]
    fn query_paths_give_arrays() {
        let v = json!({"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}]});
        assert_eq!(sel("$.items[*].id", &v), Some(json!([1, 2])));
        assert_eq!(sel("$.items[?(@.ok == true)].id", &v), Some(json!([1])));
        assert_eq!(sel("$..nothing", &v), Some(json!([])));
        assert!(Path::parse("$.items[?(").is_err());
        assert!(Path::parse("items").is_err());
    }

    #[test]
    fn set_at_creates_fields_and_rejects_type_clashes() {
        let mut v = json!({"a": 1, "arr": [0, 1]});
        let steps = parse_reference("$.x.y").unwrap_or_default();
        assert!(set_at(&mut v, &steps, json!("r")).is_ok());
        assert_eq!(v["x"]["y"], json!("r"));
        let steps = parse_reference("$.arr[1]").unwrap_or_default();
        assert!(set_at(&mut v, &steps, json!(9)).is_ok());
        assert_eq!(v["arr"], json!([0, 9]));
        let steps = parse_reference("$.a.b").unwrap_or_default();
        assert!(set_at(&mut v, &steps, json!(0)).is_err());
        let steps = parse_reference("$.arr[5]").unwrap_or_default();
        assert!(set_at(&mut v, &steps, json!(0)).is_err());
        assert!(parse_reference("$$.x").is_err());
        assert!(parse_reference("$.a[*]").is_err());
        let mut s = json!("str");
        assert!(set_at(&mut s, &[Step::Key("k".into())], json!(1)).is_err());
    }
}
