//! YAML parsing with safety limits, and a position index of the document so that every error can
//! name its line, column and field path.
//!
//! serde-saphyr reports the line and column of an error but not the field path, so the document
//! is also read into a [`Node`] tree that records where each key and value starts. An error's
//! position is mapped to the path of the node at that position, and a validation error about a
//! path is mapped back to the line of that key.

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DefaultMessageFormatter, Error as YamlError, MessageFormatter, Spanned};

use super::error::{ConfigErrorKind, ConfigIssue};

/// Largest config or SKDH pipeline text accepted, bytes.
pub const MAX_YAML_BYTES: usize = 1 << 20;

/// Which budget a document is parsed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limits {
    /// Study configs and SKDH pipelines: small documents.
    Config,
    /// Per-study metadata documents: thousands of subjects.
    Metadata,
}

impl Limits {
    fn max_bytes(self) -> usize {
        match self {
            Limits::Config => MAX_YAML_BYTES,
            Limits::Metadata => super::metadata::MAX_METADATA_BYTES,
        }
    }
}

/// Parser options: strict booleans (no YAML 1.1 `no`/`on` surprises), one document, and budgets
/// far above any real document but low enough that an alias bomb fails in milliseconds.
pub(crate) fn options(limits: Limits) -> serde_saphyr::Options {
    let scale = match limits {
        Limits::Config => 1,
        Limits::Metadata => 50,
    };
    serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_events: 50_000 * scale,
            max_nodes: 20_000 * scale,
            max_aliases: 200,
            max_anchors: 200,
            max_depth: 32,
            max_documents: 1,
            max_total_scalar_bytes: limits.max_bytes(),
            max_merge_keys: 200,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 20_000,
            max_replay_stack_depth: 16,
        },
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: u64,
    pub col: u64,
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(s: &str) -> Seg {
        Seg::Key(s.to_string())
    }
}

impl From<String> for Seg {
    fn from(s: String) -> Seg {
        Seg::Key(s)
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Seg {
        Seg::Index(i)
    }
}

/// Builds a path from segments: `yaml_path!["pipeline", "steps", 0usize, "params"]`.
macro_rules! yaml_path {
    ($($s:expr),* $(,)?) => { vec![$($crate::config::yaml::Seg::from($s)),*] };
}
pub(crate) use yaml_path;

/// Renders a path as `a.b[0].c`.
pub(crate) fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Where each key and value of a YAML document starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    Scalar,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

fn pos_of(loc: &serde_saphyr::Location) -> Pos {
    Pos {
        line: loc.line(),
        col: loc.column(),
    }
}

struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
        }
        // As a string, a key keeps its spelling (`7`, `n`, `0x1F` stay text).
        d.deserialize_string(V)
    }
}

struct Shape(NodeKind);

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_i128<E>(self, _: i128) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_u128<E>(self, _: u128) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_none<E>(self) -> Result<Shape, E> {
                Ok(Shape(NodeKind::Scalar))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
                Shape::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut items = Vec::new();
                while let Some(s) = a.next_element::<Spanned<Shape>>()? {
                    items.push(Node {
                        pos: pos_of(&s.referenced),
                        kind: s.value.0,
                    });
                }
                Ok(Shape(NodeKind::Seq(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = a.next_key::<Spanned<KeyText>>()? {
                    let v = a.next_value::<Spanned<Shape>>()?;
                    entries.push(Entry {
                        key: k.value.0,
                        key_pos: pos_of(&k.referenced),
                        value: Node {
                            pos: pos_of(&v.referenced),
                            kind: v.value.0,
                        },
                    });
                }
                Ok(Shape(NodeKind::Map(entries)))
            }
        }
        d.deserialize_any(V)
    }
}

impl Node {
    /// Reads the position index of `text` (fails on syntax errors and budget breaches).
    pub(crate) fn parse(text: &str, limits: Limits) -> Result<Node, YamlError> {
        let mut opts = options(limits);
        // The index only needs positions; non-finite numbers are checked by the typed parse.
        opts.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
        let s: Spanned<Shape> = serde_saphyr::from_str_with_options(text, opts)?;
        Ok(Node {
            pos: pos_of(&s.referenced),
            kind: s.value.0,
        })
    }

    /// The node at `path`, if the document has it.
    pub(crate) fn get(&self, path: &[Seg]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match (seg, &node.kind) {
                (Seg::Key(k), NodeKind::Map(entries)) => {
                    &entries.iter().find(|e| &e.key == k)?.value
                }
                (Seg::Index(i), NodeKind::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Position of the last key of `path` (or of the list item, for an index), falling back to
    /// the longest prefix of `path` that exists.
    pub(crate) fn locate(&self, path: &[Seg]) -> Option<Pos> {
        for n in (0..=path.len()).rev() {
            let (parent, last) = match path[..n].split_last() {
                Some((last, parent)) => (parent, Some(last)),
                None => (&path[..0], None),
            };
            let Some(parent_node) = self.get(parent) else {
                continue;
            };
            match (last, &parent_node.kind) {
                (None, _) => return Some(parent_node.pos),
                (Some(Seg::Key(k)), NodeKind::Map(entries)) => {
                    if let Some(e) = entries.iter().find(|e| &e.key == k) {
                        return Some(e.key_pos);
                    }
                }
                (Some(Seg::Index(i)), NodeKind::Seq(items)) => {
                    if let Some(item) = items.get(*i) {
                        return Some(item.pos);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Position of the value at `path` (for errors about a value rather than its key).
    pub(crate) fn locate_value(&self, path: &[Seg]) -> Option<Pos> {
        self.get(path).map(|n| n.pos).or_else(|| self.locate(path))
    }

    /// The path of the key starting exactly at `pos`, if any.
    pub(crate) fn key_at(&self, pos: Pos) -> Option<Vec<Seg>> {
        fn walk(node: &Node, path: &mut Vec<Seg>, pos: Pos) -> Option<Vec<Seg>> {
            match &node.kind {
                NodeKind::Map(entries) => {
                    for e in entries {
                        path.push(Seg::Key(e.key.clone()));
                        if e.key_pos == pos {
                            return Some(path.clone());
                        }
                        if let Some(found) = walk(&e.value, path, pos) {
                            return Some(found);
                        }
                        path.pop();
                    }
                }
                NodeKind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        if let Some(found) = walk(item, path, pos) {
                            return Some(found);
                        }
                        path.pop();
                    }
                }
                NodeKind::Scalar => {}
            }
            None
        }
        walk(self, &mut Vec::new(), pos)
    }

    /// The path of the node starting at `pos`. With `prefer_key`, a key there wins over a value
    /// (unknown or duplicate keys); otherwise the outermost value there wins (a map starts where
    /// its first key does, and a type error about a map is about the map). Without an exact
    /// match, the nearest node before `pos` is used.
    pub(crate) fn path_at(&self, pos: Pos, prefer_key: bool) -> Vec<Seg> {
        #[derive(Default)]
        struct Best {
            key: Option<Vec<Seg>>,
            value: Option<Vec<Seg>>,
            before: Option<(Pos, Vec<Seg>)>,
        }
        fn walk(node: &Node, path: &mut Vec<Seg>, pos: Pos, best: &mut Best) {
            if node.pos == pos && best.value.is_none() {
                best.value = Some(path.clone());
            }
            if node.pos <= pos && best.before.as_ref().is_none_or(|(p, _)| node.pos > *p) {
                best.before = Some((node.pos, path.clone()));
            }
            match &node.kind {
                NodeKind::Map(entries) => {
                    for e in entries {
                        path.push(Seg::Key(e.key.clone()));
                        if e.key_pos == pos && best.key.is_none() {
                            best.key = Some(path.clone());
                        }
                        if e.key_pos <= pos
                            && best.before.as_ref().is_none_or(|(p, _)| e.key_pos > *p)
                        {
                            best.before = Some((e.key_pos, path.clone()));
                        }
                        walk(&e.value, path, pos, best);
                        path.pop();
                    }
                }
                NodeKind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        walk(item, path, pos, best);
                        path.pop();
                    }
                }
                NodeKind::Scalar => {}
            }
        }
        let mut best = Best::default();
        walk(self, &mut Vec::new(), pos, &mut best);
        let exact = if prefer_key {
            best.key.or(best.value)
        } else {
            best.value.or(best.key)
        };
        exact.or(best.before.map(|(_, p)| p)).unwrap_or_default()
    }
}

/// Best guess of the key path around `line` from indentation alone, for syntax errors (when no
/// tree can be built). Handles block mappings and `- key:` list items.
pub(crate) fn guess_path(text: &str, line: u64) -> Vec<Seg> {
    let mut stack: Vec<(usize, Seg)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if i as u64 >= line {
            break;
        }
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut body = trimmed;
        let mut item = false;
        while let Some(rest) = body.strip_prefix("- ") {
            item = true;
            indent += 2;
            body = rest.trim_start();
        }
        if item {
            // A list item: its index is one more than the previous item at this indent.
            while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
                if let Some((ind, Seg::Index(k))) = stack.last().cloned()
                    && ind == indent
                {
                    stack.pop();
                    stack.push((indent, Seg::Index(k + 1)));
                    break;
                }
                stack.pop();
            }
            if !matches!(stack.last(), Some((ind, Seg::Index(_))) if *ind == indent) {
                stack.push((indent, Seg::Index(0)));
            }
        }
        let key = body
            .split_once(':')
            .map(|(k, _)| k.trim().trim_matches(|c| c == '"' || c == '\''))
            .filter(|k| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            });
        if let Some(k) = key {
            let key_indent = indent + usize::from(item);
            while stack.last().is_some_and(|(ind, s)| {
                *ind > key_indent || (*ind == key_indent && matches!(s, Seg::Key(_)))
            }) {
                stack.pop();
            }
            stack.push((key_indent, Seg::Key(k.to_string())));
        }
    }
    stack.into_iter().map(|(_, s)| s).collect()
}

/// The message of a serde-saphyr error without its location suffix or snippet.
fn message_of(err: &YamlError) -> String {
    let mut e = err.without_snippet();
    if let YamlError::AliasError { error, .. } = e {
        e = error.without_snippet();
    }
    DefaultMessageFormatter.format_message(e).into_owned()
}

/// Turns a serde-saphyr error into an issue naming the source, position and field path.
///
/// `tree` is the document's position index when it could be built (typed-parse errors);
/// without it (syntax errors) the path is guessed from indentation.
pub(crate) fn issue_from_yaml(
    source_name: &str,
    text: &str,
    err: &YamlError,
    tree: Option<&Node>,
) -> ConfigIssue {
    let inner = match err.without_snippet() {
        YamlError::AliasError { error, .. } => error.without_snippet(),
        e => e,
    };
    let loc = err.location().filter(|l| l.line() > 0);
    let pos = loc.as_ref().map(pos_of);
    let mut message = message_of(err);
    let kind = match inner {
        YamlError::Budget { .. }
        | YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayStackDepthExceeded { .. }
        | YamlError::AliasReplayCounterOverflow { .. } => ConfigErrorKind::Limits,
        _ if tree.is_none() => ConfigErrorKind::Syntax,
        _ => ConfigErrorKind::Schema,
    };
    if kind == ConfigErrorKind::Limits {
        let why = match inner {
            YamlError::Budget {
                breach: serde_saphyr::budget::BudgetBreach::Documents { .. },
                ..
            } => "a config is a single YAML document: remove the `---` separators",
            YamlError::Budget {
                breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
                ..
            } => "the document is nested too deeply",
            _ => {
                "the document is too large or expands too many aliases: a study config needs neither"
            }
        };
        message = format!("{message} ({why})");
    }
    let mut path = match (tree, pos) {
        (Some(t), Some(p)) => {
            let prefer_key = matches!(
                inner,
                YamlError::SerdeUnknownField { .. } | YamlError::DuplicateMappingKey { .. }
            );
            t.path_at(p, prefer_key)
        }
        (None, Some(p)) if kind == ConfigErrorKind::Syntax => guess_path(text, p.line),
        _ => Vec::new(),
    };
    let mut pos = pos;
    match inner {
        YamlError::SerdeMissingField { field, .. } => {
            // serde-saphyr reports the last key read in the mapping; the error is about the
            // mapping itself, so name it and point at its key.
            if let (Some(t), Some(p)) = (tree, pos) {
                path = match t.key_at(p) {
                    Some(mut k) => {
                        k.pop();
                        k
                    }
                    None => t.path_at(p, false),
                };
                pos = if path.is_empty() {
                    Some(t.pos)
                } else {
                    t.locate(&path)
                };
            }
            path.push(Seg::Key((*field).to_string()));
            message = "required field is missing".to_string();
        }
        YamlError::InvalidScalar { ty, .. } => {
            let found = loc
                .as_ref()
                .and_then(|l| {
                    let s = l.span();
                    let start = usize::try_from(s.byte_offset()?).ok()?;
                    let len = usize::try_from(s.byte_len()?).ok()?;
                    text.get(start..start.checked_add(len)?)
                })
                .map(|s| format!(" `{s}`"))
                .unwrap_or_default();
            message = format!("invalid value{found}: expected {}", describe_type(ty));
        }
        _ => {
            for (from, to) in [
                ("expected sequence start", "expected a list, e.g. [a, b]"),
                ("expected mapping start", "expected a mapping of key: value"),
                (
                    "expected struct mapping start",
                    "expected a mapping of key: value",
                ),
            ] {
                if message == from {
                    message = to.to_string();
                }
            }
        }
    }
    ConfigIssue {
        kind,
        source_name: source_name.to_string(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.col),
        path: path_string(&path),
        message,
    }
}

fn describe_type(ty: &str) -> String {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" | "u128" => {
            format!("a whole number >= 0 ({ty})")
        }
        "i8" | "i16" | "i32" | "i64" | "isize" | "i128" => format!("a whole number ({ty})"),
        t if t == "f32" || t == "f64" || t.contains("float") => "a number".to_string(),
        "bool" => "true or false".to_string(),
        other => other.to_string(),
    }
}

/// Size check, position index, then the typed parse; every failure becomes one issue.
pub(crate) fn parse_document<T: DeserializeOwned>(
    source_name: &str,
    text: &str,
) -> Result<(T, Node), ConfigIssue> {
    parse_document_with(source_name, text, Limits::Config)
}

/// [`parse_document`] with a chosen budget.
pub(crate) fn parse_document_with<T: DeserializeOwned>(
    source_name: &str,
    text: &str,
    limits: Limits,
) -> Result<(T, Node), ConfigIssue> {
    if text.len() > limits.max_bytes() {
        return Err(ConfigIssue {
            kind: ConfigErrorKind::Limits,
            source_name: source_name.to_string(),
            line: None,
            column: None,
            path: String::new(),
            message: format!(
                "document is {} bytes, more than the {} byte limit",
                text.len(),
                limits.max_bytes()
            ),
        });
    }
    let tree =
        Node::parse(text, limits).map_err(|e| issue_from_yaml(source_name, text, &e, None))?;
    let value = parse_typed(source_name, text, &tree, limits)?;
    Ok((value, tree))
}

/// The typed parse of a document whose position index `tree` is already built.
pub(crate) fn parse_typed<T: DeserializeOwned>(
    source_name: &str,
    text: &str,
    tree: &Node,
    limits: Limits,
) -> Result<T, ConfigIssue> {
    serde_saphyr::from_str_with_options(text, options(limits))
        .map_err(|e| issue_from_yaml(source_name, text, &e, Some(tree)))
}

#[cfg(test)]
mod tests {
    use super::{Node, Pos, Seg, guess_path, path_string};

    #[test]
    fn index_maps_positions_to_paths() {
        let text = "a: 1\nb:\n  c: x\n  d: [1, {e: 2}]\nl:\n  - k: 1\n    m: 2\n";
        let t = Node::parse(text, super::Limits::Config).unwrap();
        assert_eq!(
            path_string(&t.path_at(Pos { line: 3, col: 3 }, true)),
            "b.c"
        );
        assert_eq!(path_string(&t.path_at(Pos { line: 3, col: 3 }, false)), "b");
        assert_eq!(
            path_string(&t.path_at(Pos { line: 4, col: 14 }, false)),
            "b.d[1].e"
        );
        assert_eq!(
            path_string(&t.path_at(Pos { line: 7, col: 5 }, true)),
            "l[0].m"
        );
        let p = t
            .locate(&[Seg::from("l"), Seg::from(0usize), Seg::from("m")])
            .unwrap();
        assert_eq!((p.line, p.col), (7, 5));
        let p = t.locate(&[Seg::from("b"), Seg::from("zz")]).unwrap();
        assert_eq!((p.line, p.col), (2, 1));
    }

    #[test]
    fn guesses_paths_from_indentation() {
        let text = "a: 1\nb:\n  c:\n    - x: 1\n    - y: [\n";
        assert_eq!(path_string(&guess_path(text, 5)), "b.c[1].y");
        assert_eq!(path_string(&guess_path(text, 2)), "b");
    }
}
