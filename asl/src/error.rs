//! Errors: [`LoadError`] for definitions that cannot run, and the internal runtime failure type.

/// Why a definition could not be loaded. Every variant except [`LoadError::Json`] and
/// [`LoadError::MissingSubstitution`] names the place in the definition, written like
/// `States.CheckReady.Choices[2].NumericGreaterThanEquals`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The text is not JSON (message from the JSON parser, with line and column).
    #[error("definition is not valid JSON: {0}")]
    Json(String),
    /// The definition breaks the Amazon States Language rules at `path`.
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the definition, e.g. `States.Wait.Seconds`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The definition is valid ASL but uses a feature this interpreter does not support
    /// (JSONata, workflow variables, `Credentials`...).
    #[error("{path}: {message}")]
    Unsupported {
        /// Where in the definition.
        path: String,
        /// What is not supported.
        message: String,
    },
    /// `${name}` appears in the definition but no substitution was given for it.
    #[error("no DefinitionSubstitutions value for ${{{name}}}")]
    MissingSubstitution {
        /// The placeholder name, without `${` and `}`.
        name: String,
    },
}

impl LoadError {
    /// The location in the definition the error refers to, when it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            LoadError::Invalid { path, .. } | LoadError::Unsupported { path, .. } => Some(path),
            _ => None,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        LoadError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(path: impl Into<String>, message: impl Into<String>) -> Self {
        LoadError::Unsupported {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Standard error names of the Amazon States Language.
pub mod names {
    /// Wildcard matching every error except `States.Runtime` and `States.DataLimitExceeded`.
    pub const ALL: &str = "States.ALL";
    /// Matches any error except `States.Timeout` (and the terminal ones).
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A Task ran longer than its `TimeoutSeconds`, or the execution its `TimeoutSeconds`.
    pub const TIMEOUT: &str = "States.Timeout";
    /// Execution-level failure (bad paths, type errors); never retried or caught.
    pub const RUNTIME: &str = "States.Runtime";
    /// A `ResultPath` could not be applied to the state input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `.$` field of `Parameters`/`ResultSelector`/`ItemSelector` referred to a missing path.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// A Parallel branch or Map iteration failed (matches any error coming out of one).
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// A Choice state found no matching rule and has no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function failed on its arguments.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A Map state had more failed items than it tolerates.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// A Task did not heartbeat in time (reported by task handlers).
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// A payload exceeded the size limit; only caught when named explicitly.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// A Task lacked privileges (reported by task handlers).
    pub const PERMISSIONS: &str = "States.Permissions";
    /// A Distributed Map's `ItemReader` failed.
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    /// A Distributed Map's `ResultWriter` failed.
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";

    /// Every `States.*` name a definition may list in `ErrorEquals`.
    pub const KNOWN: &[&str] = &[
        ALL,
        TASK_FAILED,
        TIMEOUT,
        RUNTIME,
        RESULT_PATH_MATCH_FAILURE,
        PARAMETER_PATH_FAILURE,
        BRANCH_FAILED,
        NO_CHOICE_MATCHED,
        INTRINSIC_FAILURE,
        EXCEED_TOLERATED_FAILURE_THRESHOLD,
        HEARTBEAT_TIMEOUT,
        DATA_LIMIT_EXCEEDED,
        PERMISSIONS,
        ITEM_READER_FAILED,
        RESULT_WRITER_FAILED,
        "States.QueryEvaluationError",
        "States.Http.Socket",
    ];
}

/// A state failure travelling up to a Retry/Catch or to the execution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub error: String,
    pub cause: String,
    /// Set once the failure has left a Parallel branch or Map iteration, so that
    /// `States.BranchFailed` can match it.
    pub from_branch: bool,
}

impl Failure {
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
            from_branch: false,
        }
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(names::RUNTIME, cause)
    }

    /// Whether a Retrier/Catcher listing `name` in `ErrorEquals` handles this failure.
    pub(crate) fn matches(&self, name: &str) -> bool {
        // States.Runtime is terminal: no retrier or catcher handles it.
        if self.error == names::RUNTIME {
            return false;
        }
        if name == self.error {
            return true;
        }
        match name {
            names::ALL => self.error != names::DATA_LIMIT_EXCEEDED,
            names::TASK_FAILED => {
                self.error != names::TIMEOUT && self.error != names::DATA_LIMIT_EXCEEDED
            }
            names::BRANCH_FAILED => self.from_branch && self.error != names::DATA_LIMIT_EXCEEDED,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_the_spec() {
        let custom = Failure::new("MyError", "x");
        assert!(custom.matches(names::ALL));
        assert!(custom.matches(names::TASK_FAILED));
        assert!(custom.matches("MyError"));
        assert!(!custom.matches("Other"));
        assert!(!custom.matches(names::BRANCH_FAILED));

        let timeout = Failure::new(names::TIMEOUT, "x");
        assert!(timeout.matches(names::ALL));
        assert!(!timeout.matches(names::TASK_FAILED));

        let runtime = Failure::runtime("x");
        assert!(!runtime.matches(names::ALL));
        assert!(!runtime.matches(names::RUNTIME));

        let big = Failure::new(names::DATA_LIMIT_EXCEEDED, "x");
        assert!(!big.matches(names::ALL));
        assert!(big.matches(names::DATA_LIMIT_EXCEEDED));

        let mut branch = Failure::new("E", "x");
        branch.from_branch = true;
        assert!(branch.matches(names::BRANCH_FAILED));
    }

    #[test]
    fn load_error_names_the_place() {
        let e = LoadError::invalid("States.A.Next", "no state named 'B'");
        assert_eq!(e.to_string(), "States.A.Next: no state named 'B'");
        assert_eq!(e.path(), Some("States.A.Next"));
        let m = LoadError::MissingSubstitution { name: "Fn".into() };
        assert_eq!(m.to_string(), "no DefinitionSubstitutions value for ${Fn}");
    }
}
