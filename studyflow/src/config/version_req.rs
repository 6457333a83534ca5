//! A small semantic-version requirement matcher with Cargo's rules (`^0.1`, `~1.2.3`, `=0.1.0`,
//! `>=0.1, <0.3`, `0.2.*`, `*`), for the config's `pipeline.biomarkers` requirement.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A pre-release tag; the empty tag (a release) sorts after every pre-release.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Pre(Vec<String>);

impl Pre {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Pre {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_empty(), other.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        for (a, b) in self.0.iter().zip(&other.0) {
            let ord = match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                (Err(_), Err(_)) => a.cmp(b),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

impl PartialOrd for Pre {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A version `MAJOR.MINOR.PATCH[-PRE][+BUILD]` (build metadata is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Pre,
}

impl Version {
    /// Parses a full version such as `"0.1.0"` or `"1.2.3-rc.1"`.
    pub fn parse(text: &str) -> Result<Version, String> {
        let t = text.trim();
        let core = t.split('+').next().unwrap_or("");
        let (nums, pre) = match core.split_once('-') {
            Some((n, p)) => (n, parse_pre(p, t)?),
            None => (core, Pre::default()),
        };
        let parts: Vec<&str> = nums.split('.').collect();
        if parts.len() != 3 {
            return Err(format!(
                "invalid version \"{t}\": expected MAJOR.MINOR.PATCH"
            ));
        }
        Ok(Version {
            major: parse_num(parts[0], t)?,
            minor: parse_num(parts[1], t)?,
            patch: parse_num(parts[2], t)?,
            pre,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.0.join("."))?;
        }
        Ok(())
    }
}

fn parse_num(s: &str, whole: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(format!(
            "invalid version \"{whole}\": \"{s}\" is not a number"
        ));
    }
    s.parse()
        .map_err(|_| format!("invalid version \"{whole}\": \"{s}\" is too large"))
}

fn parse_pre(s: &str, whole: &str) -> Result<Pre, String> {
    let ids: Vec<String> = s.split('.').map(str::to_string).collect();
    if ids
        .iter()
        .any(|i| i.is_empty() || !i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(format!(
            "invalid version \"{whole}\": bad pre-release \"{s}\""
        ));
    }
    Ok(Pre(ids))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Exact,
    Greater,
    GreaterEq,
    Less,
    LessEq,
    Tilde,
    Caret,
    Wildcard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator {
    op: Op,
    major: u64,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Pre,
}

/// A version requirement: comma-separated comparators that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionReq {
    text: String,
    comparators: Vec<Comparator>,
}

impl VersionReq {
    /// Parses a requirement such as `"^0.1"`, `"=0.1.0"` or `">=0.1, <0.3"`.
    ///
    /// A bare version (`"0.1"`) means `^0.1`, as in Cargo. Returns a message fit for a config
    /// error when the text is not a requirement.
    pub fn parse(text: &str) -> Result<VersionReq, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty version requirement (write e.g. \"^0.1\")".into());
        }
        let mut comparators = Vec::new();
        for part in t.split(',') {
            comparators.push(parse_comparator(part.trim(), t)?);
        }
        Ok(VersionReq {
            text: t.to_string(),
            comparators,
        })
    }

    /// The requirement as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `version` satisfies every comparator (Cargo's pre-release rule: a pre-release
    /// version matches only a comparator naming the same MAJOR.MINOR.PATCH with a pre-release).
    pub fn matches(&self, version: &Version) -> bool {
        self.comparators.iter().all(|c| c.matches(version))
            && (version.pre.is_empty()
                || self.comparators.iter().any(|c| {
                    c.major == version.major
                        && c.minor == Some(version.minor)
                        && c.patch == Some(version.patch)
                        && !c.pre.is_empty()
                }))
    }
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_comparator(s: &str, whole: &str) -> Result<Comparator, String> {
    let bad = |why: &str| format!("invalid version requirement \"{whole}\": {why}");
    if s.is_empty() {
        return Err(bad("empty comparator"));
    }
    let (op, rest) = [
        (">=", Op::GreaterEq),
        ("<=", Op::LessEq),
        (">", Op::Greater),
        ("<", Op::Less),
        ("=", Op::Exact),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ]
    .iter()
    .find_map(|(p, op)| s.strip_prefix(p).map(|r| (Some(*op), r.trim_start())))
    .unwrap_or((None, s));
    let core = rest.split('+').next().unwrap_or("");
    let (nums, pre) = match core.split_once('-') {
        Some((n, p)) => (n, parse_pre(p, whole).map_err(|_| bad("bad pre-release"))?),
        None => (core, Pre::default()),
    };
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad("expected MAJOR[.MINOR[.PATCH]]"));
    }
    let is_wild = |p: &str| matches!(p, "*" | "x" | "X");
    let mut values: Vec<Option<u64>> = Vec::new();
    let mut wildcard = false;
    for p in &parts {
        if is_wild(p) {
            wildcard = true;
            values.push(None);
        } else if wildcard {
            return Err(bad("a number cannot follow a wildcard"));
        } else {
            let n = parse_num(p, whole).map_err(|_| bad(&format!("\"{p}\" is not a number")))?;
            values.push(Some(n));
        }
    }
    if wildcard && op.is_some_and(|o| o != Op::Exact) {
        return Err(bad(
            "wildcards can only be used without an operator or with =",
        ));
    }
    if !pre.is_empty() && values.len() != 3 {
        return Err(bad("a pre-release needs MAJOR.MINOR.PATCH"));
    }
    let major = match values.first().copied().flatten() {
        Some(m) => m,
        None => {
            return Ok(Comparator {
                op: Op::Wildcard,
                major: 0,
                minor: None,
                patch: None,
                pre,
            });
        }
    };
    let minor = values.get(1).copied().flatten();
    let patch = values.get(2).copied().flatten();
    let op = if wildcard {
        Op::Exact
    } else {
        op.unwrap_or(Op::Caret)
    };
    Ok(Comparator {
        op,
        major,
        minor,
        patch,
        pre,
    })
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        match self.op {
            Op::Wildcard => true,
            Op::Exact => self.exact(v),
            Op::Greater => self.greater(v),
            Op::GreaterEq => self.exact(v) || self.greater(v),
            Op::Less => self.less(v),
            Op::LessEq => self.exact(v) || self.less(v),
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn exact(&self, v: &Version) -> bool {
        v.major == self.major
            && self.minor.is_none_or(|m| v.minor == m)
            && match self.patch {
                Some(p) => v.patch == p && v.pre == self.pre,
                None => true,
            }
    }

    fn greater(&self, v: &Version) -> bool {
        if v.major != self.major {
            return v.major > self.major;
        }
        let Some(minor) = self.minor else {
            return false;
        };
        if v.minor != minor {
            return v.minor > minor;
        }
        let Some(patch) = self.patch else {
            return false;
        };
        if v.patch != patch {
            return v.patch > patch;
        }
        v.pre > self.pre
    }

    fn less(&self, v: &Version) -> bool {
        if v.major != self.major {
            return v.major < self.major;
        }
        let Some(minor) = self.minor else {
            return false;
        };
        if v.minor != minor {
            return v.minor < minor;
        }
        let Some(patch) = self.patch else {
            return false;
        };
        if v.patch != patch {
            return v.patch < patch;
        }
        v.pre < self.pre
    }

    fn tilde(&self, v: &Version) -> bool {
        if v.major != self.major {
            return false;
        }
        if let Some(minor) = self.minor
            && v.minor != minor
        {
            return false;
        }
        if let Some(patch) = self.patch
            && v.patch != patch
        {
            return v.patch > patch;
        }
        v.pre >= self.pre
    }

    fn caret(&self, v: &Version) -> bool {
        if v.major != self.major {
            return false;
        }
        let Some(minor) = self.minor else {
            return true;
        };
        let Some(patch) = self.patch else {
            return if self.major > 0 {
                v.minor >= minor
            } else {
                v.minor == minor
            };
        };
        if self.major > 0 {
            if v.minor != minor {
                return v.minor > minor;
            }
            if v.patch != patch {
                return v.patch > patch;
            }
        } else if minor > 0 {
            if v.minor != minor {
                return false;
            }
            if v.patch != patch {
                return v.patch > patch;
            }
        } else if v.minor != minor || v.patch != patch {
            return false;
        }
        v.pre >= self.pre
    }
}

impl<'de> Deserialize<'de> for VersionReq {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        VersionReq::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for VersionReq {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl JsonSchema for VersionReq {
    fn schema_name() -> Cow<'static, str> {
        "VersionRequirement".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A semantic-version requirement with Cargo's rules, e.g. \"^0.1\", \"=0.1.0\", \">=0.1, <0.3\".",
            "examples": ["^0.1", "=0.1.0"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Version, VersionReq};

    fn m(req: &str, v: &str) -> bool {
        let r = VersionReq::parse(req).unwrap_or_else(|e| panic!("{e}"));
        let v = Version::parse(v).unwrap_or_else(|e| panic!("{e}"));
        r.matches(&v)
    }

    #[test]
    fn caret_like_cargo() {
        assert!(m("^0.1", "0.1.0"));
        assert!(m("^0.1", "0.1.9"));
        assert!(!m("^0.1", "0.2.0"));
        assert!(m("0.1", "0.1.3"));
        assert!(m("^1.2.3", "1.9.0"));
        assert!(!m("^1.2.3", "1.2.2"));
        assert!(!m("^1.2.3", "2.0.0"));
        assert!(m("^0.0.3", "0.0.3"));
        assert!(!m("^0.0.3", "0.0.4"));
        assert!(m("^0.1.2", "0.1.5"));
        assert!(!m("^0.1.2", "0.1.1"));
        assert!(m("^1", "1.7.0"));
    }

    #[test]
    fn other_operators() {
        assert!(m("=0.1.0", "0.1.0"));
        assert!(!m("=0.1.0", "0.1.1"));
        assert!(m("=0.1", "0.1.7"));
        assert!(m("~1.2", "1.2.9"));
        assert!(!m("~1.2", "1.3.0"));
        assert!(m("~1.2.3", "1.2.4"));
        assert!(!m("~1.2.3", "1.2.2"));
        assert!(m(">=0.1, <0.3", "0.2.5"));
        assert!(!m(">=0.1, <0.3", "0.3.0"));
        assert!(m(">0.1", "0.2.0"));
        assert!(!m(">0.1", "0.1.9"));
        assert!(m("<=0.1", "0.1.9"));
        assert!(!m("<=0.1", "0.2.0"));
        assert!(m("*", "3.4.5"));
        assert!(m("0.2.*", "0.2.8"));
        assert!(!m("0.2.*", "0.3.0"));
    }

    #[test]
    fn pre_releases_match_only_when_named() {
        assert!(!m("^0.1", "0.1.1-dev"));
        assert!(m(">=0.1.1-alpha", "0.1.1-beta"));
        assert!(!m(">=0.1.1-beta", "0.1.1-alpha"));
        assert!(m("=0.2.0-rc.2", "0.2.0-rc.2"));
        assert!(m(">=0.1.0-rc.2", "0.1.0-rc.10"));
    }

    #[test]
    fn bad_requirements_explain() {
        for (t, want) in [
            ("", "empty"),
            ("^0.x.1", "cannot follow a wildcard"),
            ("^a.b", "not a number"),
            ("1.2.3.4", "MAJOR"),
            (">= 0.1,", "empty comparator"),
            ("^0.*", "wildcards"),
        ] {
            let e = VersionReq::parse(t).unwrap_err();
            assert!(e.contains(want), "{t}: {e}");
        }
    }
}
