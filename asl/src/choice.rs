//! Choice rules: compiled at load time (operators checked against their operand types),
//! evaluated against the Choice state's effective input.

use crate::error::{Failure, LoadError};
use crate::path::Path;
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Num,
    Bool,
    Ts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Compare(Kind, Cmp, Operand),
    Matches(Vec<GlobTok>),
    Type(TypeTest, bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GlobTok {
    Char(char),
    Star,
}

/// A boolean expression of a Choice state.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Data { variable: Path, test: Test },
}

const COMPARISONS: &[(&str, Kind, Cmp)] = &[
    ("StringEquals", Kind::Str, Cmp::Eq),
    ("StringLessThan", Kind::Str, Cmp::Lt),
    ("StringGreaterThan", Kind::Str, Cmp::Gt),
    ("StringLessThanEquals", Kind::Str, Cmp::Le),
    ("StringGreaterThanEquals", Kind::Str, Cmp::Ge),
    ("NumericEquals", Kind::Num, Cmp::Eq),
    ("NumericLessThan", Kind::Num, Cmp::Lt),
    ("NumericGreaterThan", Kind::Num, Cmp::Gt),
    ("NumericLessThanEquals", Kind::Num, Cmp::Le),
    ("NumericGreaterThanEquals", Kind::Num, Cmp::Ge),
    ("BooleanEquals", Kind::Bool, Cmp::Eq),
    ("TimestampEquals", Kind::Ts, Cmp::Eq),
    ("TimestampLessThan", Kind::Ts, Cmp::Lt),
    ("TimestampGreaterThan", Kind::Ts, Cmp::Gt),
    ("TimestampLessThanEquals", Kind::Ts, Cmp::Le),
    ("TimestampGreaterThanEquals", Kind::Ts, Cmp::Ge),
];

const TYPE_TESTS: &[(&str, TypeTest)] = &[
    ("IsNull", TypeTest::Null),
    ("IsPresent", TypeTest::Present),
    ("IsNumeric", TypeTest::Numeric),
    ("IsString", TypeTest::String),
    ("IsBoolean", TypeTest::Boolean),
    ("IsTimestamp", TypeTest::Timestamp),
];

fn is_operator(key: &str) -> bool {
    key == "StringMatches"
        || TYPE_TESTS.iter().any(|(n, _)| *n == key)
        || COMPARISONS
            .iter()
            .any(|(n, _, _)| *n == key || key.strip_suffix("Path") == Some(n))
}

/// Compiles one rule. `top` rules must carry `Next` (returned), nested ones must not.
pub(crate) fn compile(v: &Value, at: &str, top: bool) -> Result<(Rule, Option<String>), LoadError> {
    let Value::Object(map) = v else {
        return Err(LoadError::invalid(
            at,
            "a choice rule must be a JSON object",
        ));
    };
    let mut next = None;
    let mut ops: Vec<&str> = Vec::new();
    for (k, val) in map {
        let here = format!("{at}.{k}");
        match k.as_str() {
            "Comment" => {
                if !val.is_string() {
                    return Err(LoadError::invalid(here, "must be a string"));
                }
            }
            "Next" => {
                if !top {
                    return Err(LoadError::invalid(
                        here,
                        "only top-level choice rules may have 'Next'",
                    ));
                }
                match val {
                    Value::String(s) => next = Some(s.clone()),
                    _ => return Err(LoadError::invalid(here, "must be a state name (a string)")),
                }
            }
            "Variable" => {}
            "And" | "Or" | "Not" => ops.push(k),
            "Condition" => {
                return Err(LoadError::unsupported(
                    here,
                    "'Condition' is a JSONata field; JSONata is not supported yet",
                ));
            }
            "Assign" => {
                return Err(LoadError::unsupported(
                    here,
                    "workflow variables ('Assign') are not supported yet",
                ));
            }
            key if is_operator(key) => ops.push(k),
            _ => return Err(LoadError::invalid(here, "unknown field in a choice rule")),
        }
    }
    if top && next.is_none() {
        return Err(LoadError::invalid(
            at,
            "a top-level choice rule needs 'Next'",
        ));
    }
    let [op] = ops.as_slice() else {
        return Err(LoadError::invalid(
            at,
            if ops.is_empty() {
                "a choice rule needs one comparison operator, or And/Or/Not".to_string()
            } else {
                format!(
                    "a choice rule may have only one operator, found {}",
                    ops.join(", ")
                )
            },
        ));
    };
    let op = *op;
    let here = format!("{at}.{op}");
    let operand = &map[op];
    let logical = matches!(op, "And" | "Or" | "Not");
    if logical {
        if map.contains_key("Variable") {
            return Err(LoadError::invalid(
                format!("{at}.Variable"),
                format!("'{op}' rules take no 'Variable'"),
            ));
        }
        let rule = match op {
            "Not" => Rule::Not(Box::new(compile(operand, &here, false)?.0)),
            _ => {
                let Value::Array(items) = operand else {
                    return Err(LoadError::invalid(
                        here,
                        "must be a non-empty array of rules",
                    ));
                };
                if items.is_empty() {
                    return Err(LoadError::invalid(
                        here,
                        "must be a non-empty array of rules",
                    ));
                }
                let mut rules = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    rules.push(compile(item, &format!("{here}[{i}]"), false)?.0);
                }
                if op == "And" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                }
            }
        };
        return Ok((rule, next));
    }
    let variable = match map.get("Variable") {
        Some(Value::String(s)) => {
            Path::parse(s).map_err(|e| LoadError::invalid(format!("{at}.Variable"), e))?
        }
        Some(_) => {
            return Err(LoadError::invalid(
                format!("{at}.Variable"),
                "must be a path string",
            ));
        }
        None => return Err(LoadError::invalid(at, format!("'{op}' needs a 'Variable'"))),
    };
    let test = compile_test(op, operand, &here)?;
    Ok((Rule::Data { variable, test }, next))
}

fn compile_test(op: &str, operand: &Value, here: &str) -> Result<Test, LoadError> {
    if op == "StringMatches" {
        let Value::String(p) = operand else {
            return Err(LoadError::invalid(here, "must be a string pattern"));
        };
        return Ok(Test::Matches(glob(p)));
    }
    if let Some((_, t)) = TYPE_TESTS.iter().find(|(n, _)| *n == op) {
        let Value::Bool(b) = operand else {
            return Err(LoadError::invalid(here, "must be true or false"));
        };
        return Ok(Test::Type(*t, *b));
    }
    if let Some(base) = op.strip_suffix("Path")
        && let Some((_, kind, cmp)) = COMPARISONS.iter().find(|(n, _, _)| *n == base)
    {
        let Value::String(s) = operand else {
            return Err(LoadError::invalid(here, "must be a path string"));
        };
        let p = Path::parse(s).map_err(|e| LoadError::invalid(here, e))?;
        return Ok(Test::Compare(*kind, *cmp, Operand::Path(p)));
    }
    let Some((_, kind, cmp)) = COMPARISONS.iter().find(|(n, _, _)| *n == op) else {
        return Err(LoadError::invalid(here, "unknown comparison operator"));
    };
    let ok = match kind {
        Kind::Str => operand.is_string(),
        Kind::Num => operand.is_number(),
        Kind::Bool => operand.is_boolean(),
        Kind::Ts => operand.as_str().is_some_and(|s| parse_ts(s).is_some()),
    };
    if !ok {
        let what = match kind {
            Kind::Str => "a string",
            Kind::Num => "a number",
            Kind::Bool => "true or false",
            Kind::Ts => "an RFC 3339 timestamp string such as 2024-01-31T12:00:00Z",
        };
        return Err(LoadError::invalid(
            here,
            format!("must be {what}, got {operand}"),
        ));
    }
    Ok(Test::Compare(
        *kind,
        *cmp,
        Operand::Literal(operand.clone()),
    ))
}

fn glob(pattern: &str) -> Vec<GlobTok> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => out.push(GlobTok::Char(n)),
                None => out.push(GlobTok::Char('\\')),
            },
            '*' => out.push(GlobTok::Star),
            other => out.push(GlobTok::Char(other)),
        }
    }
    out
}

fn glob_match(pat: &[GlobTok], text: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let (mut p, mut i) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while i < t.len() {
        match pat.get(p) {
            Some(GlobTok::Star) => {
                backtrack = Some((p, i));
                p += 1;
            }
            Some(GlobTok::Char(c)) if *c == t[i] => {
                p += 1;
                i += 1;
            }
            _ => match backtrack {
                Some((bp, bi)) => {
                    p = bp + 1;
                    i = bi + 1;
                    backtrack = Some((bp, bi + 1));
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|t| *t == GlobTok::Star)
}

/// Parses an ASL timestamp (RFC 3339).
pub(crate) fn parse_ts(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

impl Rule {
    /// Evaluates the rule. A `Variable` (or `...Path` operand) that selects nothing is a
    /// `States.Runtime` error, except for `IsPresent`.
    pub(crate) fn eval(&self, input: &Value, context: &Value) -> Result<bool, Failure> {
        match self {
            Rule::And(rules) => {
                for r in rules {
                    if !r.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, context)?),
            Rule::Data { variable, test } => {
                let value = variable.select(input, context);
                if let Test::Type(TypeTest::Present, want) = test {
                    return Ok(value.is_some() == *want);
                }
                let Some(value) = value else {
                    return Err(Failure::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        variable.text()
                    )));
                };
                Ok(match test {
                    Test::Type(t, want) => {
                        let is = match t {
                            TypeTest::Null => value.is_null(),
                            TypeTest::Present => true,
                            TypeTest::Numeric => value.is_number(),
                            TypeTest::String => value.is_string(),
                            TypeTest::Boolean => value.is_boolean(),
                            TypeTest::Timestamp => {
                                value.as_str().is_some_and(|s| parse_ts(s).is_some())
                            }
                        };
                        is == *want
                    }
                    Test::Matches(pat) => value.as_str().is_some_and(|s| glob_match(pat, s)),
                    Test::Compare(kind, cmp, operand) => {
                        let other = match operand {
                            Operand::Literal(v) => v.clone(),
                            Operand::Path(p) => p.select(input, context).ok_or_else(|| {
                                Failure::runtime(format!(
                                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                                    p.text()
                                ))
                            })?,
                        };
                        let ord = match kind {
                            Kind::Str => match (value.as_str(), other.as_str()) {
                                (Some(a), Some(b)) => Some(a.cmp(b)),
                                _ => None,
                            },
                            Kind::Num => match (value.as_number(), other.as_number()) {
                                (Some(a), Some(b)) => compare_numbers(a, b),
                                _ => None,
                            },
                            Kind::Bool => match (value.as_bool(), other.as_bool()) {
                                (Some(a), Some(b)) if a == b => Some(Ordering::Equal),
                                (Some(_), Some(_)) => Some(Ordering::Less),
                                _ => None,
                            },
                            Kind::Ts => match (
                                value.as_str().and_then(parse_ts),
                                other.as_str().and_then(parse_ts),
                            ) {
                                (Some(a), Some(b)) => Some(a.cmp(&b)),
                                _ => None,
                            },
                        };
                        // Mismatched types never match, as in Step Functions.
                        ord.is_some_and(|o| match cmp {
                            Cmp::Eq => o == Ordering::Equal,
                            Cmp::Lt => o == Ordering::Less,
                            Cmp::Gt => o == Ordering::Greater,
                            Cmp::Le => o != Ordering::Greater,
                            Cmp::Ge => o != Ordering::Less,
                        })
                    }
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(rule: Value, input: Value) -> Result<bool, String> {
        let (r, _) = compile(&rule, "R", false).map_err(|e| e.to_string())?;
        r.eval(&input, &json!({"State": {"Name": "S"}}))
            .map_err(|f| f.error)
    }

    #[test]
    fn every_comparison_operator() {
        let input = json!({
            "s": "banana", "n": 5, "f": 2.5, "b": true, "t": "2024-01-02T00:00:00Z",
            "s2": "cherry", "n2": 5, "b2": false, "t2": "2024-01-01T00:00:00Z", "nul": null
        });
        let cases = [
            (json!({"Variable": "$.s", "StringEquals": "banana"}), true),
            (json!({"Variable": "$.s", "StringLessThan": "cherry"}), true),
            (
                json!({"Variable": "$.s", "StringGreaterThan": "apple"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringLessThanEquals": "banana"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringGreaterThanEquals": "bananas"}),
                false,
            ),
            (
                json!({"Variable": "$.s", "StringEqualsPath": "$.s2"}),
                false,
            ),
            (
                json!({"Variable": "$.s", "StringLessThanPath": "$.s2"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringGreaterThanPath": "$.s2"}),
                false,
            ),
            (
                json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.s"}),
                true,
            ),
            (
                json!({"Variable": "$.s", "StringGreaterThanEqualsPath": "$.s2"}),
                false,
            ),
            (json!({"Variable": "$.n", "NumericEquals": 5.0}), true),
            (json!({"Variable": "$.n", "NumericLessThan": 5}), false),
            (json!({"Variable": "$.f", "NumericGreaterThan": 2}), true),
            (json!({"Variable": "$.n", "NumericLessThanEquals": 5}), true),
            (
                json!({"Variable": "$.f", "NumericGreaterThanEquals": 3}),
                false,
            ),
            (
                json!({"Variable": "$.n", "NumericEqualsPath": "$.n2"}),
                true,
            ),
            (
                json!({"Variable": "$.f", "NumericLessThanPath": "$.n"}),
                true,
            ),
            (
                json!({"Variable": "$.f", "NumericGreaterThanPath": "$.n"}),
                false,
            ),
            (
                json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.n2"}),
                true,
            ),
            (
                json!({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.f"}),
                true,
            ),
            (json!({"Variable": "$.b", "BooleanEquals": true}), true),
            (
                json!({"Variable": "$.b", "BooleanEqualsPath": "$.b2"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampEquals": "2024-01-02T01:00:00+01:00"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThan": "2024-01-01T00:00:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThan": "2024-01-01T00:00:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-02T00:00:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2025-01-01T00:00:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampEqualsPath": "$.t2"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThanPath": "$.t2"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.t2"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.t"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.t2"}),
                true,
            ),
            // Type mismatches are simply false.
            (json!({"Variable": "$.n", "StringEquals": "5"}), false),
            (json!({"Variable": "$.s", "NumericEquals": 5}), false),
            (
                json!({"Variable": "$.s", "TimestampEquals": "2024-01-02T00:00:00Z"}),
                false,
            ),
        ];
        for (rule, want) in cases {
            assert_eq!(check(rule.clone(), input.clone()), Ok(want), "{rule}");
        }
    }

    #[test]
    fn type_tests_and_logic() {
        let input = json!({"s": "x", "n": 1, "b": false, "t": "2024-01-01T00:00:00Z", "z": null});
        let cases = [
            (json!({"Variable": "$.z", "IsNull": true}), true),
            (json!({"Variable": "$.s", "IsNull": true}), false),
            (json!({"Variable": "$.missing", "IsPresent": false}), true),
            (json!({"Variable": "$.s", "IsPresent": true}), true),
            (json!({"Variable": "$.n", "IsNumeric": true}), true),
            (json!({"Variable": "$.s", "IsNumeric": false}), true),
            (json!({"Variable": "$.s", "IsString": true}), true),
            (json!({"Variable": "$.b", "IsBoolean": true}), true),
            (json!({"Variable": "$.t", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "IsTimestamp": true}), false),
            (
                json!({"And": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.s", "StringEquals": "x"}]}),
                true,
            ),
            (
                json!({"Or": [{"Variable": "$.n", "NumericEquals": 2}, {"Variable": "$.s", "StringEquals": "y"}]}),
                false,
            ),
            (
                json!({"Not": {"Variable": "$.n", "NumericEquals": 2}}),
                true,
            ),
        ];
        for (rule, want) in cases {
            assert_eq!(check(rule.clone(), input.clone()), Ok(want), "{rule}");
        }
        assert_eq!(
            check(
                json!({"Variable": "$.missing", "StringEquals": "x"}),
                input.clone()
            ),
            Err("States.Runtime".to_string())
        );
        assert_eq!(
            check(
                json!({"Variable": "$$.State.Name", "StringEquals": "S"}),
                input
            ),
            Ok(true)
        );
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        let cases = [
            ("log-*.txt", "log-2024.txt", true),
            ("log-*.txt", "log-.txt", true),
            ("log-*.txt", "log-2024.csv", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXcYYb", false),
            (r"star\*", "star*", true),
            (r"star\*", "starry", false),
            (r"back\\slash", r"back\slash", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (pat, text, want) in cases {
            assert_eq!(
                check(
                    json!({"Variable": "$.v", "StringMatches": pat}),
                    json!({"v": text})
                ),
                Ok(want),
                "{pat} vs {text}"
            );
        }
    }

    #[test]
    fn load_errors_name_the_operator() {
        let e = compile(
            &json!({"Variable": "$.x", "NumericGreaterThanEquals": "3", "Next": "A"}),
            "States.C.Choices[2]",
            true,
        )
        .err();
        assert_eq!(
            e.as_ref().and_then(|e| e.path()),
            Some("States.C.Choices[2].NumericGreaterThanEquals")
        );
        assert!(compile(&json!({"Variable": "$.x", "NumericEquals": 3}), "R", true).is_err());
        assert!(
            compile(
                &json!({"Variable": "$.x", "NumericEquals": 3, "Next": "A"}),
                "R",
                false
            )
            .is_err()
        );
        assert!(
            compile(
                &json!({"Variable": "$.x", "NumericEquals": 3, "StringEquals": "a", "Next": "A"}),
                "R",
                true
            )
            .is_err()
        );
        assert!(
            compile(
                &json!({"Variable": "$.x", "Bogus": 3, "Next": "A"}),
                "R",
                true
            )
            .is_err()
        );
        assert!(
            compile(
                &json!({"Variable": "$.x", "TimestampEquals": "yesterday", "Next": "A"}),
                "R",
                true
            )
            .is_err()
        );
        assert!(compile(&json!({"And": [], "Next": "A"}), "R", true).is_err());
        let j = compile(&json!({"Condition": "{% true %}", "Next": "A"}), "R", true).err();
        assert!(matches!(j, Some(LoadError::Unsupported { .. })));
    }
}
