//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`, `BatchInput` and the
//! `Parameters` of `ItemReader`/`ResultWriter`. Fields whose names end in `.$` take their value
//! from a path or an intrinsic function; everything else is copied. Nested objects and arrays are
//! processed too.

use crate::error::{Failure, LoadError, names};
use crate::intrinsic::{self, Call};
use crate::path::Path;
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
enum Node {
    Static(Value),
    Path { key: String, path: Path },
    Call { key: String, call: Box<Call> },
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

/// A compiled payload template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    root: Node,
}

impl Template {
    /// Compiles `value`; `at` is its location in the definition for error messages.
    pub(crate) fn compile(value: &Value, at: &str) -> Result<Template, LoadError> {
        Ok(Template {
            root: compile_node(value, at)?,
        })
    }

    /// Builds the payload from `input` and `context`. Missing paths give
    /// `States.ParameterPathFailure`, failing intrinsics `States.IntrinsicFailure`.
    pub(crate) fn apply(&self, input: &Value, context: &Value) -> Result<Value, Failure> {
        eval(&self.root, input, context)
    }
}

fn compile_node(value: &Value, at: &str) -> Result<Node, LoadError> {
    match value {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            let mut any_dynamic = false;
            for (k, v) in map {
                let here = format!("{at}.{k}");
                if let Some(name) = k.strip_suffix(".$") {
                    if map.contains_key(name) {
                        return Err(LoadError::invalid(
                            here,
                            format!("both '{name}' and '{k}' are present"),
                        ));
                    }
                    let Value::String(text) = v else {
                        return Err(LoadError::invalid(
                            here,
                            "a field ending in '.$' must have a string value (a path or an intrinsic function)",
                        ));
                    };
                    let node = if intrinsic::looks_like_call(text) {
                        let call = Call::parse(text).map_err(|e| LoadError::invalid(&here, e))?;
                        Node::Call {
                            key: k.clone(),
                            call: Box::new(call),
                        }
                    } else {
                        let path = Path::parse(text).map_err(|e| LoadError::invalid(&here, e))?;
                        Node::Path {
                            key: k.clone(),
                            path,
                        }
                    };
                    any_dynamic = true;
                    fields.push((name.to_string(), node));
                } else {
                    let node = compile_node(v, &here)?;
                    any_dynamic |= !matches!(node, Node::Static(_));
                    fields.push((k.clone(), node));
                }
            }
            Ok(if any_dynamic {
                Node::Object(fields)
            } else {
                Node::Static(value.clone())
            })
        }
        Value::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                nodes.push(compile_node(v, &format!("{at}[{i}]"))?);
            }
            Ok(if nodes.iter().all(|n| matches!(n, Node::Static(_))) {
                Node::Static(value.clone())
            } else {
                Node::Array(nodes)
            })
        }
        other => Ok(Node::Static(other.clone())),
    }
}

fn eval(node: &Node, input: &Value, context: &Value) -> Result<Value, Failure> {
    match node {
        Node::Static(v) => Ok(v.clone()),
        Node::Path { key, path } => path.select(input, context).ok_or_else(|| {
            let source = if path.text().starts_with("$$") {
                "the context object"
            } else {
                "the input"
            };
            Failure::new(
                names::PARAMETER_PATH_FAILURE,
                format!(
                    "The JSONPath '{}' specified for the field '{key}' could not be found in {source} '{}'",
                    path.text(),
                    if path.text().starts_with("$$") { context } else { input }
                ),
            )
        }),
        Node::Call { key, call } => call.eval(input, context).map_err(|e| {
            Failure::new(
                names::INTRINSIC_FAILURE,
                format!("Invalid arguments in the intrinsic function for the field '{key}': {e}"),
            )
        }),
        Node::Object(fields) => {
            let mut out = Map::new();
            for (k, n) in fields {
                out.insert(k.clone(), eval(n, input, context)?);
            }
            Ok(Value::Object(out))
        }
        Node::Array(items) => items
            .iter()
            .map(|n| eval(n, input, context))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_paths_context_intrinsics_and_arrays() {
        let t = Template::compile(
            &json!({
                "static": {"a": [1, 2]},
                "name.$": "$.name",
                "exec.$": "$$.Execution.Id",
                "greeting.$": "States.Format('hi {}', $.name)",
                "nested": {"deep.$": "$.n.x"},
                "Entries": [{"Detail.$": "$.n"}, "plain"]
            }),
            "States.T.Parameters",
        );
        let t = match t {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let out = t.apply(
            &json!({"name": "Ann", "n": {"x": 5}}),
            &json!({"Execution": {"Id": "arn:x"}}),
        );
        assert_eq!(
            out,
            Ok(json!({
                "static": {"a": [1, 2]},
                "name": "Ann",
                "exec": "arn:x",
                "greeting": "hi Ann",
                "nested": {"deep": 5},
                "Entries": [{"Detail": {"x": 5}}, "plain"]
            }))
        );
    }

    #[test]
    fn missing_paths_and_bad_intrinsics_fail_with_standard_errors() {
        let t = Template::compile(&json!({"a.$": "$.nope"}), "P").ok();
        let err = t.map(|t| t.apply(&json!({}), &json!({})));
        assert!(
            matches!(err, Some(Err(f)) if f.error == names::PARAMETER_PATH_FAILURE && f.cause.contains("'a.$'"))
        );
        let t = Template::compile(&json!({"a.$": "States.ArrayLength($.s)"}), "P").ok();
        let err = t.map(|t| t.apply(&json!({"s": "x"}), &json!({})));
        assert!(matches!(err, Some(Err(f)) if f.error == names::INTRINSIC_FAILURE));
    }

    #[test]
    fn rejects_bad_templates_at_load() {
        let e = Template::compile(&json!({"a": {"b.$": 3}}), "States.S.Parameters").err();
        assert_eq!(
            e.as_ref().and_then(|e| e.path()),
            Some("States.S.Parameters.a.b.$")
        );
        assert!(Template::compile(&json!({"a.$": "nopath"}), "P").is_err());
        assert!(Template::compile(&json!({"a.$": "States.Bogus()"}), "P").is_err());
        assert!(Template::compile(&json!({"a.$": "$.x", "a": 1}), "P").is_err());
    }
}
