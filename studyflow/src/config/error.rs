//! Config errors: each names the file, line, column and field path it is about.

use std::fmt;

use serde::Serialize;

/// What kind of problem an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigErrorKind {
    /// Not valid YAML.
    Syntax,
    /// Too large, too deep, or too many aliases (a safety limit).
    Limits,
    /// Unknown key, wrong type, missing field or a value that is not allowed.
    Schema,
    /// A value that parses but is not acceptable (a rule across fields, a bad bucket name ...).
    Invalid,
    /// The pipeline's steps or parameters are not ones this `biomarkers` offers.
    Pipeline,
    /// An SKDH pipeline could not be imported.
    Skdh,
    /// Subject metadata could not be read or has a wrong value.
    Metadata,
}

/// One problem in a config (or SKDH pipeline, or metadata file).
///
/// Displays as `<source>:<line>:<column>: <field.path>: <message>`, leaving out what is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    /// What kind of problem.
    pub kind: ConfigErrorKind,
    /// The file (object key) the problem is in.
    pub source_name: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// Field path such as `pipeline.steps[0].params.epoch_seconds`; empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source_name)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a config (or an SKDH pipeline, or subject metadata) was rejected: one or more issues,
/// the first being the one a parse stopped at. Displays one issue per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ConfigError {
    issues: Vec<ConfigIssue>,
}

impl ConfigError {
    /// An error with a single issue.
    pub fn new(issue: ConfigIssue) -> ConfigError {
        ConfigError {
            issues: vec![issue],
        }
    }

    /// An error made of several issues; `None` when there are none.
    pub fn from_issues(issues: Vec<ConfigIssue>) -> Option<ConfigError> {
        if issues.is_empty() {
            None
        } else {
            Some(ConfigError { issues })
        }
    }

    /// Every issue, in document order of discovery (never empty).
    pub fn issues(&self) -> &[ConfigIssue] {
        &self.issues
    }

    /// The first issue.
    pub fn first(&self) -> &ConfigIssue {
        // `issues` is never empty: both constructors guarantee it.
        &self.issues[0]
    }

    /// The kind of the first issue.
    pub fn kind(&self) -> ConfigErrorKind {
        self.first().kind
    }
}

impl From<ConfigIssue> for ConfigError {
    fn from(issue: ConfigIssue) -> Self {
        ConfigError::new(issue)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}
