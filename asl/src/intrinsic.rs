//! Intrinsic functions (`States.Format(...)` and friends): parsed once at load time, evaluated
//! against the state input and the context object. Evaluation errors become
//! `States.IntrinsicFailure` in the interpreter.

use crate::encoding;
use crate::path::{Path, type_name};
use crate::random::{self, SplitMix64};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;

/// AWS allows at most 10 nested intrinsic calls in one field.
const MAX_DEPTH: usize = 10;
/// Input size limits (characters) of the encoding and hashing intrinsics.
const MAX_TEXT_CHARS: usize = 10_000;
/// `States.ArrayRange` may produce at most this many items.
const MAX_RANGE_ITEMS: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    fn from_name(name: &str) -> Option<(Func, usize, usize)> {
        // (function, minimum arguments, maximum arguments)
        Some(match name {
            "Format" => (Func::Format, 1, usize::MAX),
            "StringToJson" => (Func::StringToJson, 1, 1),
            "JsonToString" => (Func::JsonToString, 1, 1),
            "Array" => (Func::Array, 0, usize::MAX),
            "ArrayPartition" => (Func::ArrayPartition, 2, 2),
            "ArrayContains" => (Func::ArrayContains, 2, 2),
            "ArrayRange" => (Func::ArrayRange, 3, 3),
            "ArrayGetItem" => (Func::ArrayGetItem, 2, 2),
            "ArrayLength" => (Func::ArrayLength, 1, 1),
            "ArrayUnique" => (Func::ArrayUnique, 1, 1),
            "Base64Encode" => (Func::Base64Encode, 1, 1),
            "Base64Decode" => (Func::Base64Decode, 1, 1),
            "Hash" => (Func::Hash, 2, 2),
            "JsonMerge" => (Func::JsonMerge, 3, 3),
            "MathRandom" => (Func::MathRandom, 2, 3),
            "MathAdd" => (Func::MathAdd, 2, 2),
            "StringSplit" => (Func::StringSplit, 2, 2),
            "UUID" => (Func::Uuid, 0, 0),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
enum Arg {
    /// A quoted literal: `value` is unescaped, `raw` keeps the escapes so that `States.Format`
    /// can tell an escaped `\{` from a placeholder.
    Str {
        value: String,
        raw: String,
    },
    Literal(Value),
    Path(Path),
    Call(Box<Call>),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    func: Func,
    name: String,
    args: Vec<Arg>,
}

/// Whether a `.$` value is meant as an intrinsic call rather than a path.
pub(crate) fn looks_like_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Call {
    /// Parses a whole intrinsic invocation such as `States.Format('{}', $.name)`.
    pub(crate) fn parse(text: &str) -> Result<Call, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut p = Parser {
            chars: &chars,
            pos: 0,
        };
        p.skip_ws();
        let call = p.call(1)?;
        p.skip_ws();
        if p.pos != chars.len() {
            return Err(format!(
                "unexpected text after the intrinsic call at character {}",
                p.pos
            ));
        }
        Ok(call)
    }

    /// Evaluates the call. The error text becomes the cause of `States.IntrinsicFailure`.
    pub(crate) fn eval(&self, input: &Value, context: &Value) -> Result<Value, String> {
        let mut vals = Vec::with_capacity(self.args.len());
        for a in &self.args {
            vals.push(match a {
                Arg::Str { value, .. } => Value::String(value.clone()),
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => p.select(input, context).ok_or_else(|| {
                    format!(
                        "States.{}: the path '{}' was not found in the input",
                        self.name,
                        p.text()
                    )
                })?,
                Arg::Call(c) => c.eval(input, context)?,
            });
        }
        self.apply(vals)
            .map_err(|e| format!("States.{}: {e}", self.name))
    }

    fn apply(&self, args: Vec<Value>) -> Result<Value, String> {
        match self.func {
            Func::Format => {
                let (template, escapes) = match &self.args[0] {
                    Arg::Str { raw, .. } => (raw.clone(), true),
                    _ => match &args[0] {
                        Value::String(s) => (s.clone(), false),
                        v => {
                            return Err(format!(
                                "the template must be a string, not {}",
                                type_name(v)
                            ));
                        }
                    },
                };
                format(&template, escapes, &args[1..]).map(Value::String)
            }
            Func::StringToJson => {
                let s = want_str(&args[0], "the argument")?;
                serde_json::from_str(s).map_err(|e| format!("the string is not JSON: {e}"))
            }
            Func::JsonToString => serde_json::to_string(&args[0])
                .map(Value::String)
                .map_err(|e| e.to_string()),
            Func::Array => Ok(Value::Array(args)),
            Func::ArrayPartition => {
                let arr = want_array(&args[0], "the first argument")?;
                let size = want_int(&args[1], "the chunk size")?;
                if size <= 0 {
                    return Err(format!("the chunk size must be positive, got {size}"));
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Ok(Value::Array(
                    arr.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
                ))
            }
            Func::ArrayContains => {
                let arr = want_array(&args[0], "the first argument")?;
                Ok(Value::Bool(arr.iter().any(|v| json_eq(v, &args[1]))))
            }
            Func::ArrayRange => {
                let start = want_int(&args[0], "the start")?;
                let end = want_int(&args[1], "the end")?;
                let step = want_int(&args[2], "the step")?;
                if step == 0 {
                    return Err("the step must not be 0".into());
                }
                // i128 keeps extreme arguments from overflowing.
                let (start, end, step) = (start as i128, end as i128, step as i128);
                let count = if (end - start).signum() * step.signum() < 0 {
                    0
                } else {
                    (end - start) / step + 1
                };
                if count > MAX_RANGE_ITEMS as i128 {
                    return Err(format!(
                        "the range has {count} items; at most {MAX_RANGE_ITEMS} are allowed"
                    ));
                }
                Ok(Value::Array(
                    (0..count)
                        .map(|i| Value::from((start + i * step) as i64))
                        .collect(),
                ))
            }
            Func::ArrayGetItem => {
                let arr = want_array(&args[0], "the first argument")?;
                let idx = want_int(&args[1], "the index")?;
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| arr.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "index {idx} is out of bounds for an array of {} items",
                            arr.len()
                        )
                    })
            }
            Func::ArrayLength => Ok(Value::from(
                want_array(&args[0], "the argument")?.len() as u64
            )),
            Func::ArrayUnique => {
                let arr = want_array(&args[0], "the argument")?;
                let mut seen = HashSet::new();
                Ok(Value::Array(
                    arr.iter()
                        .filter(|v| seen.insert(canonical(v)))
                        .cloned()
                        .collect(),
                ))
            }
            Func::Base64Encode => {
                let s = want_str(&args[0], "the argument")?;
                check_len(s)?;
                Ok(Value::String(encoding::base64_encode(s.as_bytes())))
            }
            Func::Base64Decode => {
                let s = want_str(&args[0], "the argument")?;
                check_len(s)?;
                let bytes = encoding::base64_decode(s)?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| "the decoded bytes are not UTF-8 text".to_string())
            }
            Func::Hash => {
                let data = match &args[0] {
                    Value::String(s) => s.clone(),
                    other => serde_json::to_string(other).map_err(|e| e.to_string())?,
                };
                check_len(&data)?;
                let alg = want_str(&args[1], "the algorithm")?;
                encoding::hash_hex(alg, data.as_bytes())
                    .map(Value::String)
                    .ok_or_else(|| {
                        format!(
                            "unknown algorithm '{alg}' (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)"
                        )
                    })
            }
            Func::JsonMerge => {
                let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                    return Err("both values to merge must be JSON objects".into());
                };
                match &args[2] {
                    Value::Bool(false) => {}
                    Value::Bool(true) => {
                        return Err(
                            "deep merge is not supported; the third argument must be false".into(),
                        );
                    }
                    v => {
                        return Err(format!(
                            "the third argument must be a boolean, not {}",
                            type_name(v)
                        ));
                    }
                }
                let mut out: Map<String, Value> = a.clone();
                for (k, v) in b {
                    out.insert(k.clone(), v.clone());
                }
                Ok(Value::Object(out))
            }
            Func::MathRandom => {
                let start = want_int(&args[0], "the start")?;
                let end = want_int(&args[1], "the end")?;
                if end <= start {
                    return Err(format!(
                        "the end ({end}) must be greater than the start ({start})"
                    ));
                }
                let span = (end as i128 - start as i128) as u64;
                let offset = match args.get(2) {
                    Some(seed) => {
                        let seed = want_int(seed, "the seed")?;
                        SplitMix64::new(seed as u64).below(span)
                    }
                    None => random::with_rng(|r| r.below(span)),
                };
                Ok(Value::from((start as i128 + offset as i128) as i64))
            }
            Func::MathAdd => {
                let a = want_int(&args[0], "the first value")?;
                let b = want_int(&args[1], "the second value")?;
                for v in [a, b] {
                    if i32::try_from(v).is_err() {
                        return Err(format!(
                            "{v} is outside the allowed range -2147483648..2147483647"
                        ));
                    }
                }
                Ok(Value::from(a + b))
            }
            Func::StringSplit => {
                let s = want_str(&args[0], "the string")?;
                let delims = want_str(&args[1], "the delimiter")?;
                if delims.is_empty() {
                    return Err("the delimiter must not be empty".into());
                }
                Ok(Value::Array(
                    s.split(|c| delims.contains(c))
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::String(t.to_string()))
                        .collect(),
                ))
            }
            Func::Uuid => Ok(Value::String(random::uuid_v4())),
        }
    }
}

fn check_len(s: &str) -> Result<(), String> {
    let n = s.chars().count();
    if n > MAX_TEXT_CHARS {
        Err(format!(
            "the input has {n} characters; at most {MAX_TEXT_CHARS} are allowed"
        ))
    } else {
        Ok(())
    }
}

fn want_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what} must be a string, not {}", type_name(v)))
}

fn want_array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} must be an array, not {}", type_name(v)))
}

fn want_int(v: &Value, what: &str) -> Result<i64, String> {
    as_integer(v).ok_or_else(|| format!("{what} must be an integer, got {v}"))
}

/// An integer JSON number (also `3.0`), within i64.
pub(crate) fn as_integer(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
        Some(f as i64)
    } else {
        None
    }
}

/// JSON equality where `1` equals `1.0`.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn num_eq(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => match (x.as_u64(), y.as_u64()) {
            (Some(a), Some(b)) => a == b,
            _ => x.as_f64() == y.as_f64(),
        },
    }
}

/// A text key equal for values that [`json_eq`] considers equal.
fn canonical(v: &Value) -> String {
    match v {
        Value::Number(n) => match as_integer(v) {
            Some(i) => i.to_string(),
            None => n.to_string(),
        },
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(m) => {
            let mut parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical(v)))
                .collect();
            parts.sort();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// Fills the `{}` placeholders of a `States.Format` template. With `escapes`, `\{`, `\}`, `\'`
/// and `\\` in the template stand for the characters themselves.
fn format(template: &str, escapes: bool, args: &[Value]) -> Result<String, String> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::new();
    let mut next = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if escapes
            && c == '\\'
            && let Some(&n) = chars.get(i + 1)
        {
            out.push(n);
            i += 2;
            continue;
        }
        if c == '{' && chars.get(i + 1) == Some(&'}') {
            let Some(v) = args.get(next) else {
                return Err(format!(
                    "the template has more '{{}}' placeholders than the {} arguments given",
                    args.len()
                ));
            };
            match v {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            next += 1;
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    if next != args.len() {
        return Err(format!(
            "the template has {next} '{{}}' placeholders but {} arguments were given",
            args.len()
        ));
    }
    Ok(out)
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn rest_starts_with(&self, s: &str) -> bool {
        let n = s.chars().count();
        self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(s.chars())
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "intrinsic functions are nested more than {MAX_DEPTH} deep"
            ));
        }
        if !self.rest_starts_with("States.") {
            return Err(format!(
                "expected an intrinsic function 'States.<Name>(...)' at character {}",
                self.pos
            ));
        }
        self.pos += "States.".len();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let Some((func, min, max)) = Func::from_name(&name) else {
            return Err(format!("unknown intrinsic function 'States.{name}'"));
        };
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after 'States.{name}'"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                args.push(self.arg(depth)?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {
                        return Err(format!(
                            "expected ',' or ')' in the arguments of 'States.{name}' at character {}",
                            self.pos
                        ));
                    }
                }
            }
        }
        if args.len() < min || args.len() > max {
            let wanted = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(format!(
                "'States.{name}' takes {wanted} argument(s), {} given",
                args.len()
            ));
        }
        Ok(Call { func, name, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some('S') if self.rest_starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call(depth + 1)?)))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(_) => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.rest_starts_with(word) {
                        self.pos += word.len();
                        return Ok(Arg::Literal(v));
                    }
                }
                Err(format!(
                    "unexpected character '{}' at character {}",
                    self.chars[self.pos], self.pos
                ))
            }
            None => Err("unexpected end of the intrinsic call".into()),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1;
        let mut value = String::new();
        let mut raw = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated string literal".into());
            };
            self.pos += 1;
            match c {
                '\\' => {
                    let Some(n) = self.peek() else {
                        return Err("unterminated escape '\\' in a string literal".into());
                    };
                    if !matches!(n, '\'' | '{' | '}' | '\\') {
                        return Err(format!(
                            "'\\{n}' is not an escape: only \\', \\{{, \\}} and \\\\ are"
                        ));
                    }
                    self.pos += 1;
                    value.push(n);
                    raw.push('\\');
                    raw.push(n);
                }
                '\'' => return Ok(Arg::Str { value, raw }),
                _ => {
                    value.push(c);
                    raw.push(c);
                }
            }
        }
    }

    fn path(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            if let Some(q) = quote {
                if c == '\\' {
                    self.pos += 1;
                } else if c == q {
                    quote = None;
                }
            } else {
                match c {
                    '[' | '(' => depth += 1,
                    ']' | ')' if depth > 0 => depth -= 1,
                    ',' | ')' if depth == 0 => break,
                    '\'' | '"' if depth > 0 => quote = Some(c),
                    _ => {}
                }
            }
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos.min(self.chars.len())]
            .iter()
            .collect();
        Path::parse(text.trim_end()).map(Arg::Path)
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Number(_)) => Ok(Arg::Literal(v)),
            _ => Err(format!("'{text}' is not a number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(expr: &str, input: Value) -> Result<Value, String> {
        Call::parse(expr)?.eval(&input, &json!({"Execution": {"Name": "ex1"}}))
    }

    #[test]
    fn format_with_paths_literals_and_escapes() {
        let input = json!({"name": "Arnav", "template": "Hello, my name is {}."});
        assert_eq!(
            ev(
                "States.Format('Hello, my name is {}.', $.name)",
                input.clone()
            ),
            Ok(json!("Hello, my name is Arnav."))
        );
        assert_eq!(
            ev("States.Format($.template, $.name)", input.clone()),
            Ok(json!("Hello, my name is Arnav."))
        );
        assert_eq!(
            ev(r"States.Format('\{\} {} it\'s \\ {}', 1, true)", json!({})),
            Ok(json!(r"{} 1 it's \ true"))
        );
        assert_eq!(
            ev("States.Format('{}/{}', $$.Execution.Name, null)", json!({})),
            Ok(json!("ex1/null"))
        );
        assert!(ev("States.Format('{} {}', 1)", json!({})).is_err());
        assert!(ev("States.Format('{}', 1, 2)", json!({})).is_err());
        assert!(Call::parse(r"States.Format('\n')").is_err());
    }

    #[test]
    fn json_functions() {
        let input = json!({"s": "{\"foo\": \"bar\"}", "o": {"foo": "bar"}});
        assert_eq!(
            ev("States.StringToJson($.s)", input.clone()),
            Ok(json!({"foo": "bar"}))
        );
        assert_eq!(
            ev("States.JsonToString($.o)", input.clone()),
            Ok(json!("{\"foo\":\"bar\"}"))
        );
        assert!(ev("States.StringToJson('{oops')", json!({})).is_err());
        assert_eq!(
            ev(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"x": 1, "y": {"z": 1}}, "b": {"y": 2}})
            ),
            Ok(json!({"x": 1, "y": 2}))
        );
        assert!(ev("States.JsonMerge($.a, $.a, true)", json!({"a": {}})).is_err());
        assert!(ev("States.JsonMerge($.a, 1, false)", json!({"a": {}})).is_err());
    }

    #[test]
    fn array_functions() {
        let input = json!({"a": [1, 2, 3, 4, 5], "d": [1, 1.0, "x", {"k": 1}, {"k": 1.0}, "x"]});
        assert_eq!(
            ev("States.Array($.a[0], 'x', States.Array())", input.clone()),
            Ok(json!([1, "x", []]))
        );
        assert_eq!(
            ev("States.ArrayPartition($.a, 2)", input.clone()),
            Ok(json!([[1, 2], [3, 4], [5]]))
        );
        assert!(ev("States.ArrayPartition($.a, 0)", input.clone()).is_err());
        assert_eq!(
            ev("States.ArrayContains($.a, 3.0)", input.clone()),
            Ok(json!(true))
        );
        assert_eq!(
            ev("States.ArrayContains($.a, 9)", input.clone()),
            Ok(json!(false))
        );
        assert_eq!(
            ev("States.ArrayRange(1, 9, 2)", json!({})),
            Ok(json!([1, 3, 5, 7, 9]))
        );
        assert_eq!(
            ev("States.ArrayRange(5, 1, -2)", json!({})),
            Ok(json!([5, 3, 1]))
        );
        assert_eq!(ev("States.ArrayRange(1, 5, -1)", json!({})), Ok(json!([])));
        assert!(ev("States.ArrayRange(0, 1000, 1)", json!({})).is_err());
        assert!(ev("States.ArrayRange(0, 3, 0)", json!({})).is_err());
        assert!(
            ev(
                "States.ArrayRange(-9000000000000000000, 9000000000000000000, 1)",
                json!({})
            )
            .is_err()
        );
        assert_eq!(
            ev(
                "States.ArrayRange(9223372036854775807, -9223372036854775808, -9223372036854775807)",
                json!({})
            ),
            Ok(json!([9223372036854775807i64, 0, -9223372036854775807i64]))
        );
        assert_eq!(
            ev("States.ArrayGetItem($.a, 4)", input.clone()),
            Ok(json!(5))
        );
        assert!(ev("States.ArrayGetItem($.a, 5)", input.clone()).is_err());
        assert!(ev("States.ArrayGetItem($.a, -1)", input.clone()).is_err());
        assert_eq!(ev("States.ArrayLength($.a)", input.clone()), Ok(json!(5)));
        assert_eq!(
            ev("States.ArrayUnique($.d)", input.clone()),
            Ok(json!([1, "x", {"k": 1}]))
        );
        assert!(ev("States.ArrayLength($.missing)", input).is_err());
    }

    #[test]
    fn encoding_and_hash_functions() {
        assert_eq!(
            ev("States.Base64Encode('Data to encode')", json!({})),
            Ok(json!("RGF0YSB0byBlbmNvZGU="))
        );
        assert_eq!(
            ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})),
            Ok(json!("Data to encode"))
        );
        assert!(ev("States.Base64Decode('***')", json!({})).is_err());
        assert_eq!(
            ev("States.Hash($.d, 'SHA-1')", json!({"d": "input data"})),
            Ok(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
        assert!(ev("States.Hash('x', 'CRC32')", json!({})).is_err());
        let long = "a".repeat(10_001);
        assert!(ev("States.Base64Encode($.s)", json!({"s": long})).is_err());
    }

    #[test]
    fn math_string_and_uuid_functions() {
        assert_eq!(ev("States.MathAdd(111, -1)", json!({})), Ok(json!(110)));
        assert_eq!(
            ev("States.MathAdd($.v, 1)", json!({"v": 2.0})),
            Ok(json!(3))
        );
        assert!(ev("States.MathAdd(1.5, 1)", json!({})).is_err());
        assert!(ev("States.MathAdd(3000000000, 1)", json!({})).is_err());
        for _ in 0..50 {
            let v = ev("States.MathRandom(1, 3)", json!({}))
                .ok()
                .and_then(|v| v.as_i64());
            assert!(matches!(v, Some(1 | 2)));
        }
        let a = ev("States.MathRandom(0, 1000000, 7)", json!({}));
        assert_eq!(a, ev("States.MathRandom(0, 1000000, 7)", json!({})));
        assert!(ev("States.MathRandom(5, 5)", json!({})).is_err());
        assert_eq!(
            ev(
                "States.StringSplit('This.is+a,test=string', '.+,=')",
                json!({})
            ),
            Ok(json!(["This", "is", "a", "test", "string"]))
        );
        assert_eq!(
            ev("States.StringSplit('1,,2', ',')", json!({})),
            Ok(json!(["1", "2"]))
        );
        let u = ev("States.UUID()", json!({}));
        assert!(u.as_ref().map(|v| v.as_str().map_or(0, str::len)) == Ok(36));
    }

    #[test]
    fn nesting_and_parse_errors() {
        let input = json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe.v1/1.0.0"}});
        let expr = "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), 'x')";
        assert_eq!(ev(expr, input), Ok(json!("1.0.x")));
        assert!(Call::parse("States.Nope(1)").is_err());
        assert!(Call::parse("States.ArrayLength()").is_err());
        assert!(Call::parse("States.UUID() trailing").is_err());
        assert!(Call::parse("States.Array('unterminated)").is_err());
        let deep = format!("{}1{}", "States.Array(".repeat(11), ")".repeat(11));
        assert!(Call::parse(&deep).is_err());
        let ok = format!("{}1{}", "States.Array(".repeat(10), ")".repeat(10));
        assert!(Call::parse(&ok).is_ok());
        assert!(looks_like_call(" States.UUID()"));
        assert!(!looks_like_call("$.x"));
        // A path argument may contain commas and parentheses inside brackets.
        assert_eq!(
            ev("States.Array($['a,b'])", json!({"a,b": 1})),
            Ok(json!([1]))
        );
    }
}
