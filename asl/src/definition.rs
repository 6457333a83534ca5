//! Parsing and validation of state machine definitions into the typed model the interpreter
//! runs. Every field of the definition is either understood or rejected with a [`LoadError`]
//! naming its place: nothing is silently ignored.

use crate::choice::{self, Rule};
use crate::error::{LoadError, names};
use crate::intrinsic::{self, Call};
use crate::path::{self, Path, Step};
use crate::template::Template;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// AWS's limit on state name length.
const MAX_NAME_CHARS: usize = 80;
/// AWS's upper bound for timeouts and waits given in seconds.
const MAX_SECONDS: u64 = 99_999_999;

#[derive(Debug, Clone)]
pub(crate) enum IoPath {
    Identity,
    Null,
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum ResultPath {
    Replace,
    Discard,
    /// Steps and the path text (for error messages).
    At(Vec<Step>, String),
}

#[derive(Debug, Clone)]
pub(crate) enum Transition {
    Next(String),
    End,
}

/// A number given directly or through a reference path.
#[derive(Debug, Clone)]
pub(crate) enum Dynamic {
    Value(f64),
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter_full: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub errors: Vec<String>,
    pub next: String,
    pub result_path: ResultPath,
}

/// `Error`/`Cause` of a Fail state: literal, path or intrinsic.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Literal(String),
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(jiff::Timestamp),
    TimestampPath(Path),
}

#[derive(Debug, Clone)]
pub(crate) struct TaskDef {
    pub resource: String,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub timeout: Option<Dynamic>,
    pub heartbeat: Option<Dynamic>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub(crate) struct ParallelDef {
    pub branches: Vec<Block>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub(crate) struct ItemReaderDef {
    pub resource: String,
    pub parameters: Option<Template>,
    pub reader_config: Value,
    pub max_items: Option<Dynamic>,
}

#[derive(Debug, Clone)]
pub(crate) struct ItemBatcherDef {
    pub max_items: Option<Dynamic>,
    pub max_bytes: Option<Dynamic>,
    pub batch_input: Option<Template>,
}

#[derive(Debug, Clone)]
pub(crate) struct ResultWriterDef {
    pub resource: String,
    pub parameters: Option<Template>,
    pub writer_config: Option<Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct MapDef {
    pub items_path: Option<Path>,
    pub item_selector: Option<Template>,
    pub processor: Block,
    pub distributed: bool,
    pub max_concurrency: Option<Dynamic>,
    pub tolerated_percentage: Option<Dynamic>,
    pub tolerated_count: Option<Dynamic>,
    pub item_reader: Option<ItemReaderDef>,
    pub item_batcher: Option<ItemBatcherDef>,
    pub result_writer: Option<ResultWriterDef>,
    pub label: Option<String>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: ResultPath,
        transition: Transition,
    },
    Task(Box<TaskDef>),
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
        transition: Transition,
    },
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel(Box<ParallelDef>),
    Map(Box<MapDef>),
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub input_path: IoPath,
    pub output_path: IoPath,
    pub kind: Kind,
}

impl State {
    /// The `Type` name, used to build history event names (`TaskStateEntered`...).
    pub(crate) fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait { .. } => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

/// A set of states with a start: the machine itself, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    pub order: Vec<String>,
}

/// A parsed and validated state machine definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub(crate) body: Block,
    pub(crate) comment: Option<String>,
    pub(crate) timeout_seconds: Option<u64>,
}

impl StateMachine {
    /// Parses and validates an Amazon States Language definition (JSON text). Returns the first
    /// problem found, naming its place in the definition.
    pub fn from_json(text: &str) -> Result<StateMachine, LoadError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| LoadError::Json(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Same as [`StateMachine::from_json`] for an already parsed definition.
    pub fn from_value(value: &Value) -> Result<StateMachine, LoadError> {
        let Value::Object(map) = value else {
            return Err(LoadError::invalid(
                "$",
                "a state machine definition must be a JSON object",
            ));
        };
        let mut o = Obj::new(map, "");
        check_query_language(&mut o)?;
        let comment = o.opt_str("Comment")?.map(str::to_string);
        if let Some(v) = o.opt_str("Version")?
            && v != "1.0"
        {
            return Err(LoadError::invalid(
                o.at("Version"),
                format!("unknown version '{v}' (only \"1.0\")"),
            ));
        }
        let timeout_seconds = match o.take("TimeoutSeconds") {
            Some(v) => Some(positive_int(v, &o.at("TimeoutSeconds"))?),
            None => None,
        };
        let body = parse_block_fields(&mut o, "")?;
        o.finish()?;
        Ok(StateMachine {
            body,
            comment,
            timeout_seconds,
        })
    }

    /// The name of the first state.
    pub fn start_at(&self) -> &str {
        &self.body.start_at
    }

    /// The top-level `Comment`, if any.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Names of the top-level states (not those inside Parallel branches or Map processors),
    /// sorted by name.
    pub fn state_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.body.order.iter().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The machine's `TimeoutSeconds` (whole execution), if set.
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }

    /// The `Resource` of every Task state and every `ItemReader`/`ResultWriter`, nested ones
    /// included (duplicates kept); useful to check that a task handler knows them all before
    /// running.
    pub fn task_resources(&self) -> Vec<&str> {
        fn walk<'a>(b: &'a Block, out: &mut Vec<&'a str>) {
            for name in &b.order {
                match b.states.get(name).map(|s| &s.kind) {
                    Some(Kind::Task(t)) => out.push(&t.resource),
                    Some(Kind::Parallel(p)) => p.branches.iter().for_each(|b| walk(b, out)),
                    Some(Kind::Map(m)) => {
                        if let Some(r) = &m.item_reader {
                            out.push(&r.resource);
                        }
                        walk(&m.processor, out);
                        if let Some(w) = &m.result_writer {
                            out.push(&w.resource);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.body, &mut out);
        out
    }
}

/// A JSON object being read field by field; leftover fields are errors.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    used: HashSet<&'a str>,
}

impl<'a> Obj<'a> {
    fn new(map: &'a Map<String, Value>, prefix: &str) -> Self {
        Obj {
            map,
            prefix: prefix.to_string(),
            used: HashSet::new(),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn here(&self) -> String {
        if self.prefix.is_empty() {
            "$".to_string()
        } else {
            self.prefix.clone()
        }
    }

    fn take(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.used.insert(k.as_str());
        Some(v)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn opt_str(&mut self, key: &str) -> Result<Option<&'a str>, LoadError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(LoadError::invalid(self.at(key), "must be a string")),
        }
    }

    fn req_str(&mut self, key: &str) -> Result<&'a str, LoadError> {
        self.opt_str(key)?
            .ok_or_else(|| LoadError::invalid(self.here(), format!("'{key}' is required")))
    }

    fn finish(self) -> Result<(), LoadError> {
        for k in self.map.keys() {
            if self.used.contains(k.as_str()) {
                continue;
            }
            let at = self.at(k);
            return Err(match k.as_str() {
                "Arguments" | "Output" | "Items" | "Condition" | "ItemsPointer" => {
                    LoadError::unsupported(
                        at,
                        format!("'{k}' is a JSONata field; JSONata is not supported yet"),
                    )
                }
                "Assign" => LoadError::unsupported(
                    at,
                    "workflow variables ('Assign') are not supported yet",
                ),
                "Credentials" => LoadError::unsupported(
                    at,
                    "'Credentials' (cross-account task roles) is not supported",
                ),
                _ => LoadError::invalid(at, "unknown or misplaced field"),
            });
        }
        Ok(())
    }
}

fn check_query_language(o: &mut Obj<'_>) -> Result<(), LoadError> {
    match o.opt_str("QueryLanguage")? {
        None | Some("JSONPath") => Ok(()),
        Some("JSONata") => Err(LoadError::unsupported(
            o.at("QueryLanguage"),
            "QueryLanguage JSONata is not supported yet; use JSONPath",
        )),
        Some(other) => Err(LoadError::invalid(
            o.at("QueryLanguage"),
            format!("unknown query language '{other}' (JSONPath or JSONata)"),
        )),
    }
}

fn as_uint(v: &Value) -> Option<u64> {
    if let Some(u) = v.as_u64() {
        return Some(u);
    }
    let f = v.as_f64()?;
    (f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64).then_some(f as u64)
}

fn positive_int(v: &Value, at: &str) -> Result<u64, LoadError> {
    match as_uint(v) {
        Some(n) if n > 0 && n <= MAX_SECONDS => Ok(n),
        _ => Err(LoadError::invalid(
            at,
            format!("must be a positive integer up to {MAX_SECONDS}, got {v}"),
        )),
    }
}

fn non_negative_int(v: &Value, at: &str) -> Result<u64, LoadError> {
    as_uint(v)
        .ok_or_else(|| LoadError::invalid(at, format!("must be a non-negative integer, got {v}")))
}

fn parse_path(v: &Value, at: &str) -> Result<Path, LoadError> {
    match v {
        Value::String(s) => Path::parse(s).map_err(|e| LoadError::invalid(at, e)),
        _ => Err(LoadError::invalid(at, "must be a path string")),
    }
}

/// Reads `Key` / `KeyPath` as a number or a path; both at once is an error.
fn dynamic(
    o: &mut Obj<'_>,
    key: &str,
    check: impl Fn(&Value, &str) -> Result<f64, LoadError>,
) -> Result<Option<Dynamic>, LoadError> {
    let path_key = format!("{key}Path");
    if o.has(key) && o.has(&path_key) {
        return Err(LoadError::invalid(
            o.at(&path_key),
            format!("'{key}' and '{path_key}' are mutually exclusive"),
        ));
    }
    if let Some(v) = o.take(key) {
        return Ok(Some(Dynamic::Value(check(v, &o.at(key))?)));
    }
    if let Some(v) = o.take(&path_key) {
        return Ok(Some(Dynamic::Path(parse_path(v, &o.at(&path_key))?)));
    }
    Ok(None)
}

fn io_path(o: &mut Obj<'_>, key: &str) -> Result<IoPath, LoadError> {
    match o.take(key) {
        None => Ok(IoPath::Identity),
        Some(Value::Null) => Ok(IoPath::Null),
        Some(v) => Ok(IoPath::Path(parse_path(v, &o.at(key))?)),
    }
}

fn result_path(o: &mut Obj<'_>, key: &str) -> Result<ResultPath, LoadError> {
    match o.take(key) {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(s)) => {
            let steps = path::parse_reference(s).map_err(|e| LoadError::invalid(o.at(key), e))?;
            Ok(if steps.is_empty() {
                ResultPath::Replace
            } else {
                ResultPath::At(steps, s.clone())
            })
        }
        Some(_) => Err(LoadError::invalid(
            o.at(key),
            "must be a reference path string or null",
        )),
    }
}

fn template(o: &mut Obj<'_>, key: &str) -> Result<Option<Template>, LoadError> {
    match o.take(key) {
        None => Ok(None),
        Some(v) => Ok(Some(Template::compile(v, &o.at(key))?)),
    }
}

fn transition(o: &mut Obj<'_>) -> Result<Transition, LoadError> {
    let next = o.opt_str("Next")?;
    let end = match o.take("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(LoadError::invalid(o.at("End"), "must be true or false")),
    };
    match (next, end) {
        (Some(_), true) => Err(LoadError::invalid(
            o.here(),
            "'Next' and 'End: true' are mutually exclusive",
        )),
        (Some(n), false) => Ok(Transition::Next(n.to_string())),
        (None, true) => Ok(Transition::End),
        (None, false) => Err(LoadError::invalid(o.here(), "needs 'Next' or 'End: true'")),
    }
}

fn error_equals(o: &mut Obj<'_>) -> Result<Vec<String>, LoadError> {
    let at = o.at("ErrorEquals");
    let Some(Value::Array(items)) = o.take("ErrorEquals") else {
        return Err(LoadError::invalid(
            at,
            "'ErrorEquals' must be a non-empty array of error names",
        ));
    };
    if items.is_empty() {
        return Err(LoadError::invalid(at, "must not be empty"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        let Value::String(s) = v else {
            return Err(LoadError::invalid(format!("{at}[{i}]"), "must be a string"));
        };
        if s.starts_with("States.") && !names::KNOWN.contains(&s.as_str()) {
            return Err(LoadError::invalid(
                format!("{at}[{i}]"),
                format!("unknown error name '{s}'"),
            ));
        }
        out.push(s.clone());
    }
    if out.iter().any(|e| e == names::ALL) && out.len() > 1 {
        return Err(LoadError::invalid(at, "'States.ALL' must appear alone"));
    }
    Ok(out)
}

fn check_all_is_last(lists: &[&Vec<String>], at: &str) -> Result<(), LoadError> {
    for (i, l) in lists.iter().enumerate() {
        if i + 1 < lists.len() && l.iter().any(|e| e == names::ALL) {
            return Err(LoadError::invalid(
                format!("{at}[{i}]"),
                "the 'States.ALL' entry must be the last one",
            ));
        }
    }
    Ok(())
}

/// Reads the optional array of objects at `key` (Retry, Catch), each through `item`, and checks
/// that only the last one may name `States.ALL`.
fn error_handlers<T>(
    o: &mut Obj<'_>,
    key: &str,
    what: &str,
    errors_of: fn(&T) -> &Vec<String>,
    item: impl Fn(&mut Obj<'_>) -> Result<T, LoadError>,
) -> Result<Vec<T>, LoadError> {
    let at = o.at(key);
    let Some(v) = o.take(key) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = v else {
        return Err(LoadError::invalid(
            at,
            format!("must be an array of {what}"),
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let Value::Object(m) = v else {
            return Err(LoadError::invalid(here, "must be an object"));
        };
        let mut obj = Obj::new(m, &here);
        obj.opt_str("Comment")?;
        out.push(item(&mut obj)?);
        obj.finish()?;
    }
    check_all_is_last(&out.iter().map(errors_of).collect::<Vec<_>>(), &at)?;
    Ok(out)
}

fn retriers(o: &mut Obj<'_>) -> Result<Vec<Retrier>, LoadError> {
    error_handlers(
        o,
        "Retry",
        "retriers",
        |r: &Retrier| &r.errors,
        |r| {
            let errors = error_equals(r)?;
            let interval_seconds = match r.take("IntervalSeconds") {
                Some(v) => positive_int(v, &r.at("IntervalSeconds"))? as f64,
                None => 1.0,
            };
            let max_attempts = match r.take("MaxAttempts") {
                Some(v) => non_negative_int(v, &r.at("MaxAttempts"))?,
                None => 3,
            };
            let backoff_rate = match r.take("BackoffRate") {
                Some(v) => match v.as_f64() {
                    Some(f) if f >= 1.0 => f,
                    _ => {
                        return Err(LoadError::invalid(
                            r.at("BackoffRate"),
                            "must be a number >= 1.0",
                        ));
                    }
                },
                None => 2.0,
            };
            let max_delay_seconds = match r.take("MaxDelaySeconds") {
                Some(v) => Some(positive_int(v, &r.at("MaxDelaySeconds"))? as f64),
                None => None,
            };
            let jitter_full = match r.opt_str("JitterStrategy")? {
                None | Some("NONE") => false,
                Some("FULL") => true,
                Some(other) => {
                    return Err(LoadError::invalid(
                        r.at("JitterStrategy"),
                        format!("must be FULL or NONE, got '{other}'"),
                    ));
                }
            };
            Ok(Retrier {
                errors,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter_full,
            })
        },
    )
}

fn catchers(o: &mut Obj<'_>) -> Result<Vec<Catcher>, LoadError> {
    error_handlers(
        o,
        "Catch",
        "catchers",
        |c: &Catcher| &c.errors,
        |c| {
            let errors = error_equals(c)?;
            let next = c.req_str("Next")?.to_string();
            let result_path = result_path(c, "ResultPath")?;
            Ok(Catcher {
                errors,
                next,
                result_path,
            })
        },
    )
}

fn text_field(o: &mut Obj<'_>, key: &str) -> Result<Option<Text>, LoadError> {
    let path_key = format!("{key}Path");
    if o.has(key) && o.has(&path_key) {
        return Err(LoadError::invalid(
            o.at(&path_key),
            format!("'{key}' and '{path_key}' are mutually exclusive"),
        ));
    }
    if let Some(s) = o.opt_str(key)? {
        return Ok(Some(Text::Literal(s.to_string())));
    }
    let at = o.at(&path_key);
    match o.opt_str(&path_key)? {
        None => Ok(None),
        Some(s) if intrinsic::looks_like_call(s) => Ok(Some(Text::Call(
            Call::parse(s).map_err(|e| LoadError::invalid(at, e))?,
        ))),
        Some(s) => Ok(Some(Text::Path(
            Path::parse(s).map_err(|e| LoadError::invalid(at, e))?,
        ))),
    }
}

/// Reads `StartAt` and `States` from `o` (the rest of `o` belongs to the caller).
fn parse_block_fields(o: &mut Obj<'_>, prefix: &str) -> Result<Block, LoadError> {
    let start_at = o.req_str("StartAt")?.to_string();
    let states_at = format!("{prefix}States");
    let Some(Value::Object(states)) = o.take("States") else {
        return Err(LoadError::invalid(
            if prefix.is_empty() {
                "States".to_string()
            } else {
                states_at
            },
            "'States' must be an object of states",
        ));
    };
    if states.is_empty() {
        return Err(LoadError::invalid(
            states_at,
            "must contain at least one state",
        ));
    }
    let mut block = Block {
        start_at,
        states: BTreeMap::new(),
        order: Vec::new(),
    };
    for (name, v) in states {
        let at = format!("{states_at}.{name}");
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(LoadError::invalid(
                at,
                format!("state names must have 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        let Value::Object(m) = v else {
            return Err(LoadError::invalid(at, "a state must be a JSON object"));
        };
        let state = parse_state(m, &at)?;
        block.order.push(name.clone());
        block.states.insert(name.clone(), state);
    }
    if !block.states.contains_key(&block.start_at) {
        return Err(LoadError::invalid(
            if prefix.is_empty() {
                "StartAt".to_string()
            } else {
                format!("{prefix}StartAt")
            },
            format!("no state named '{}'", block.start_at),
        ));
    }
    check_targets(&block, &states_at)?;
    Ok(block)
}

fn check_targets(block: &Block, states_at: &str) -> Result<(), LoadError> {
    let check = |target: &str, at: String| -> Result<(), LoadError> {
        if block.states.contains_key(target) {
            Ok(())
        } else {
            Err(LoadError::invalid(
                at,
                format!("no state named '{target}' in this scope"),
            ))
        }
    };
    let check_catch = |catch: &[Catcher], at: &str| -> Result<(), LoadError> {
        for (i, c) in catch.iter().enumerate() {
            check(&c.next, format!("{at}.Catch[{i}].Next"))?;
        }
        Ok(())
    };
    for name in &block.order {
        let Some(state) = block.states.get(name) else {
            continue;
        };
        let at = format!("{states_at}.{name}");
        let tr = match &state.kind {
            Kind::Pass { transition, .. } | Kind::Wait { transition, .. } => Some(transition),
            Kind::Task(t) => {
                check_catch(&t.catch, &at)?;
                Some(&t.transition)
            }
            Kind::Parallel(p) => {
                check_catch(&p.catch, &at)?;
                Some(&p.transition)
            }
            Kind::Map(m) => {
                check_catch(&m.catch, &at)?;
                Some(&m.transition)
            }
            Kind::Choice { choices, default } => {
                for (i, (_, next)) in choices.iter().enumerate() {
                    check(next, format!("{at}.Choices[{i}].Next"))?;
                }
                if let Some(d) = default {
                    check(d, format!("{at}.Default"))?;
                }
                None
            }
            Kind::Succeed | Kind::Fail { .. } => None,
        };
        if let Some(Transition::Next(n)) = tr {
            check(n, format!("{at}.Next"))?;
        }
    }
    Ok(())
}

fn parse_state(m: &Map<String, Value>, at: &str) -> Result<State, LoadError> {
    let mut o = Obj::new(m, at);
    check_query_language(&mut o)?;
    let ty = o.req_str("Type")?;
    o.opt_str("Comment")?;
    let (input_path, output_path) = if ty == "Fail" {
        (IoPath::Identity, IoPath::Identity)
    } else {
        (
            io_path(&mut o, "InputPath")?,
            io_path(&mut o, "OutputPath")?,
        )
    };
    let kind = match ty {
        "Pass" => Kind::Pass {
            parameters: template(&mut o, "Parameters")?,
            result: o.take("Result").cloned(),
            result_path: result_path(&mut o, "ResultPath")?,
            transition: transition(&mut o)?,
        },
        "Task" => Kind::Task(Box::new(parse_task(&mut o)?)),
        "Choice" => {
            let at_choices = o.at("Choices");
            let Some(Value::Array(items)) = o.take("Choices") else {
                return Err(LoadError::invalid(
                    at_choices,
                    "'Choices' must be a non-empty array",
                ));
            };
            if items.is_empty() {
                return Err(LoadError::invalid(at_choices, "must not be empty"));
            }
            let mut choices = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let (rule, next) = choice::compile(item, &format!("{at_choices}[{i}]"), true)?;
                choices.push((rule, next.unwrap_or_default()));
            }
            let default = o.opt_str("Default")?.map(str::to_string);
            Kind::Choice { choices, default }
        }
        "Wait" => {
            let mut found = Vec::new();
            for k in ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"] {
                if o.has(k) {
                    found.push(k);
                }
            }
            let [key] = found.as_slice() else {
                return Err(LoadError::invalid(
                    o.here(),
                    "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                ));
            };
            let key = *key;
            let here = o.at(key);
            let v = o.take(key).unwrap_or(&Value::Null);
            let wait = match key {
                "Seconds" => match as_uint(v) {
                    Some(n) if n <= MAX_SECONDS => WaitFor::Seconds(n),
                    _ => {
                        return Err(LoadError::invalid(
                            here,
                            format!("must be a non-negative integer up to {MAX_SECONDS}"),
                        ));
                    }
                },
                "Timestamp" => match v.as_str().and_then(choice::parse_ts) {
                    Some(ts) => WaitFor::Timestamp(ts),
                    None => {
                        return Err(LoadError::invalid(
                            here,
                            "must be an RFC 3339 timestamp such as 2024-01-31T12:00:00Z",
                        ));
                    }
                },
                "SecondsPath" => WaitFor::SecondsPath(parse_path(v, &here)?),
                _ => WaitFor::TimestampPath(parse_path(v, &here)?),
            };
            Kind::Wait {
                wait,
                transition: transition(&mut o)?,
            }
        }
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: text_field(&mut o, "Error")?,
            cause: text_field(&mut o, "Cause")?,
        },
        "Parallel" => {
            let at_b = o.at("Branches");
            let Some(Value::Array(items)) = o.take("Branches") else {
                return Err(LoadError::invalid(
                    at_b,
                    "'Branches' must be a non-empty array",
                ));
            };
            if items.is_empty() {
                return Err(LoadError::invalid(at_b, "must not be empty"));
            }
            let mut branches = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let here = format!("{at_b}[{i}]");
                let Value::Object(bm) = item else {
                    return Err(LoadError::invalid(here, "a branch must be an object"));
                };
                let mut b = Obj::new(bm, &here);
                b.opt_str("Comment")?;
                check_query_language(&mut b)?;
                branches.push(parse_block_fields(&mut b, &format!("{here}."))?);
                b.finish()?;
            }
            Kind::Parallel(Box::new(ParallelDef {
                branches,
                parameters: template(&mut o, "Parameters")?,
                result_selector: template(&mut o, "ResultSelector")?,
                result_path: result_path(&mut o, "ResultPath")?,
                retry: retriers(&mut o)?,
                catch: catchers(&mut o)?,
                transition: transition(&mut o)?,
            }))
        }
        "Map" => Kind::Map(Box::new(parse_map(&mut o)?)),
        other => {
            return Err(LoadError::invalid(
                o.at("Type"),
                format!(
                    "unknown state type '{other}' (Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"
                ),
            ));
        }
    };
    o.finish()?;
    Ok(State {
        input_path,
        output_path,
        kind,
    })
}

fn parse_task(o: &mut Obj<'_>) -> Result<TaskDef, LoadError> {
    let resource = o.req_str("Resource")?;
    if resource.is_empty() {
        return Err(LoadError::invalid(o.at("Resource"), "must not be empty"));
    }
    let timeout = dynamic(o, "TimeoutSeconds", |v, at| {
        positive_int(v, at).map(|n| n as f64)
    })?;
    let heartbeat = dynamic(o, "HeartbeatSeconds", |v, at| {
        positive_int(v, at).map(|n| n as f64)
    })?;
    if let (Some(Dynamic::Value(t)), Some(Dynamic::Value(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        return Err(LoadError::invalid(
            o.at("HeartbeatSeconds"),
            "must be smaller than TimeoutSeconds",
        ));
    }
    Ok(TaskDef {
        resource: resource.to_string(),
        parameters: template(o, "Parameters")?,
        result_selector: template(o, "ResultSelector")?,
        result_path: result_path(o, "ResultPath")?,
        timeout,
        heartbeat,
        retry: retriers(o)?,
        catch: catchers(o)?,
        transition: transition(o)?,
    })
}

fn parse_map(o: &mut Obj<'_>) -> Result<MapDef, LoadError> {
    if o.has("ItemProcessor") && o.has("Iterator") {
        return Err(LoadError::invalid(
            o.at("Iterator"),
            "'ItemProcessor' and the legacy 'Iterator' are mutually exclusive",
        ));
    }
    if o.has("ItemSelector") && o.has("Parameters") {
        return Err(LoadError::invalid(
            o.at("Parameters"),
            "'ItemSelector' and the legacy 'Parameters' are mutually exclusive",
        ));
    }
    let (proc_key, legacy) = if o.has("ItemProcessor") {
        ("ItemProcessor", false)
    } else {
        ("Iterator", true)
    };
    let proc_at = o.at(proc_key);
    let Some(Value::Object(pm)) = o.take(proc_key) else {
        return Err(LoadError::invalid(
            o.here(),
            "a Map state needs an 'ItemProcessor' object",
        ));
    };
    let mut p = Obj::new(pm, &proc_at);
    p.opt_str("Comment")?;
    check_query_language(&mut p)?;
    let mut distributed = false;
    if !legacy && let Some(v) = p.take("ProcessorConfig") {
        let Value::Object(cm) = v else {
            return Err(LoadError::invalid(
                p.at("ProcessorConfig"),
                "must be an object",
            ));
        };
        let mut c = Obj::new(cm, &p.at("ProcessorConfig"));
        match c.opt_str("Mode")? {
            None | Some("INLINE") => {}
            Some("DISTRIBUTED") => distributed = true,
            Some(other) => {
                return Err(LoadError::invalid(
                    c.at("Mode"),
                    format!("must be INLINE or DISTRIBUTED, got '{other}'"),
                ));
            }
        }
        match c.opt_str("ExecutionType")? {
            None => {}
            Some("STANDARD" | "EXPRESS") if distributed => {}
            Some("STANDARD" | "EXPRESS") => {
                return Err(LoadError::invalid(
                    c.at("ExecutionType"),
                    "only a DISTRIBUTED Map takes an ExecutionType",
                ));
            }
            Some(other) => {
                return Err(LoadError::invalid(
                    c.at("ExecutionType"),
                    format!("must be STANDARD or EXPRESS, got '{other}'"),
                ));
            }
        }
        c.finish()?;
    }
    let processor = parse_block_fields(&mut p, &format!("{proc_at}."))?;
    p.finish()?;

    let items_path = match o.take("ItemsPath") {
        Some(v) => Some(parse_path(v, &o.at("ItemsPath"))?),
        None => None,
    };
    let item_selector = if o.has("ItemSelector") {
        template(o, "ItemSelector")?
    } else {
        template(o, "Parameters")?
    };
    let max_concurrency = dynamic(o, "MaxConcurrency", |v, at| {
        non_negative_int(v, at).map(|n| n as f64)
    })?;

    let distributed_only = [
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
    ];
    if !distributed {
        for k in distributed_only {
            if o.has(k) {
                return Err(LoadError::invalid(
                    o.at(k),
                    format!(
                        "'{k}' is only allowed in a DISTRIBUTED Map (ItemProcessor.ProcessorConfig.Mode)"
                    ),
                ));
            }
        }
    }
    let tolerated_percentage =
        dynamic(o, "ToleratedFailurePercentage", |v, at| match v.as_f64() {
            Some(f) if (0.0..=100.0).contains(&f) => Ok(f),
            _ => Err(LoadError::invalid(at, "must be a number from 0 to 100")),
        })?;
    let tolerated_count = dynamic(o, "ToleratedFailureCount", |v, at| {
        non_negative_int(v, at).map(|n| n as f64)
    })?;
    let label = o.opt_str("Label")?.map(str::to_string);

    let item_reader = match o.take("ItemReader") {
        None => None,
        Some(v) => {
            if items_path.is_some() {
                return Err(LoadError::invalid(
                    o.at("ItemsPath"),
                    "'ItemsPath' cannot be combined with 'ItemReader'",
                ));
            }
            let at = o.at("ItemReader");
            let Value::Object(rm) = v else {
                return Err(LoadError::invalid(at, "must be an object"));
            };
            let mut r = Obj::new(rm, &at);
            let resource = r.req_str("Resource")?.to_string();
            let parameters = template(&mut r, "Parameters")?;
            let mut reader_config = Value::Object(Map::new());
            let mut max_items = None;
            if let Some(cv) = r.take("ReaderConfig") {
                let Value::Object(cm) = cv else {
                    return Err(LoadError::invalid(
                        r.at("ReaderConfig"),
                        "must be an object",
                    ));
                };
                let mut c = Obj::new(cm, &r.at("ReaderConfig"));
                match c.opt_str("InputType")? {
                    None | Some("CSV" | "JSON" | "JSONL" | "MANIFEST" | "PARQUET") => {}
                    Some(other) => {
                        return Err(LoadError::invalid(
                            c.at("InputType"),
                            format!("unknown InputType '{other}'"),
                        ));
                    }
                }
                match c.opt_str("CSVHeaderLocation")? {
                    None | Some("FIRST_ROW" | "GIVEN") => {}
                    Some(other) => {
                        return Err(LoadError::invalid(
                            c.at("CSVHeaderLocation"),
                            format!("must be FIRST_ROW or GIVEN, got '{other}'"),
                        ));
                    }
                }
                if let Some(h) = c.take("CSVHeaders")
                    && !h.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                {
                    return Err(LoadError::invalid(
                        c.at("CSVHeaders"),
                        "must be an array of strings",
                    ));
                }
                match c.opt_str("CSVDelimiter")? {
                    None | Some("COMMA" | "PIPE" | "SEMICOLON" | "SPACE" | "TAB") => {}
                    Some(other) => {
                        return Err(LoadError::invalid(
                            c.at("CSVDelimiter"),
                            format!("unknown delimiter '{other}'"),
                        ));
                    }
                }
                c.opt_str("ManifestType")?;
                max_items = dynamic(&mut c, "MaxItems", |v, at| {
                    non_negative_int(v, at).map(|n| n as f64)
                })?;
                c.finish()?;
                reader_config = cv.clone();
            }
            r.finish()?;
            Some(ItemReaderDef {
                resource,
                parameters,
                reader_config,
                max_items,
            })
        }
    };
    let item_batcher = match o.take("ItemBatcher") {
        None => None,
        Some(v) => {
            let at = o.at("ItemBatcher");
            let Value::Object(bm) = v else {
                return Err(LoadError::invalid(at, "must be an object"));
            };
            let mut b = Obj::new(bm, &at);
            let max_items = dynamic(&mut b, "MaxItemsPerBatch", |v, at| {
                positive_int(v, at).map(|n| n as f64)
            })?;
            let max_bytes = dynamic(&mut b, "MaxInputBytesPerBatch", |v, at| {
                positive_int(v, at).map(|n| n as f64)
            })?;
            if max_items.is_none() && max_bytes.is_none() {
                return Err(LoadError::invalid(
                    at,
                    "needs MaxItemsPerBatch(Path) or MaxInputBytesPerBatch(Path)",
                ));
            }
            let batch_input = template(&mut b, "BatchInput")?;
            b.finish()?;
            Some(ItemBatcherDef {
                max_items,
                max_bytes,
                batch_input,
            })
        }
    };
    let result_writer = match o.take("ResultWriter") {
        None => None,
        Some(v) => {
            let at = o.at("ResultWriter");
            let Value::Object(wm) = v else {
                return Err(LoadError::invalid(at, "must be an object"));
            };
            let mut w = Obj::new(wm, &at);
            let resource = w.req_str("Resource")?.to_string();
            let parameters = template(&mut w, "Parameters")?;
            let writer_config = w.take("WriterConfig").cloned();
            if writer_config.as_ref().is_some_and(|c| !c.is_object()) {
                return Err(LoadError::invalid(
                    w.at("WriterConfig"),
                    "must be an object",
                ));
            }
            w.finish()?;
            Some(ResultWriterDef {
                resource,
                parameters,
                writer_config,
            })
        }
    };
    Ok(MapDef {
        items_path,
        item_selector,
        processor,
        distributed,
        max_concurrency,
        tolerated_percentage,
        tolerated_count,
        item_reader,
        item_batcher,
        result_writer,
        label,
        result_selector: template(o, "ResultSelector")?,
        result_path: result_path(o, "ResultPath")?,
        retry: retriers(o)?,
        catch: catchers(o)?,
        transition: transition(o)?,
    })
}
