//! The one error type at the edge: a message, its causes, hints, and the exit
//! code of DESIGN.md §5 (1 for a "no", 2 for everything that went wrong).

use crate::diagnostic::Diagnostic;
use crate::git::GitError;
use crate::runs::RunInputError;
use std::io::Write;

pub const EXIT_NO: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// An error on its way to the user. The text lives in a box so that
/// `Result<T, CliError>` stays small on the happy path.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    /// The error was a closed stdout: end quietly with success.
    pub broken_pipe: bool,
    /// The command already printed its verdict on stdout (`validate`,
    /// `check`, `publish` with `--json`): no second JSON document there.
    pub verdict_printed: bool,
    text: Box<Text>,
}

#[derive(Debug)]
struct Text {
    message: String,
    causes: Vec<String>,
    /// Lines shown as they are, indented, under the message (an expression with a caret).
    details: Vec<String>,
    hints: Vec<String>,
    /// Problems in files, printed as `file:line:column: message` before the error.
    diagnostics: Vec<Diagnostic>,
    /// What `--json` adds to the error object on stdout (a refused event
    /// and its checks).
    json: Option<serde_json::Map<String, serde_json::Value>>,
}

pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// A usage, configuration, Git or I/O error (exit 2).
    pub fn error(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_ERROR,
            broken_pipe: false,
            verdict_printed: false,
            text: Box::new(Text {
                message: message.into(),
                causes: Vec::new(),
                details: Vec::new(),
                hints: Vec::new(),
                diagnostics: Vec::new(),
                json: None,
            }),
        }
    }

    /// A "no": validation failed, a policy refused, the registry is dirty (exit 1).
    pub fn no(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_NO,
            ..CliError::error(message)
        }
    }

    /// The main message, without causes or hints.
    pub fn message(&self) -> &str {
        &self.text.message
    }

    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.text.hints.push(hint.into());
        self
    }

    /// Adds text shown verbatim under the message, each line indented by two spaces.
    pub fn detail(mut self, text: impl Into<String>) -> CliError {
        self.text.details.push(text.into());
        self
    }

    pub fn cause(mut self, cause: impl Into<String>) -> CliError {
        self.text.causes.push(cause.into());
        self
    }

    /// Bad input in files: exit 2 (the input could not be used) with each problem listed.
    pub fn bad_files(message: impl Into<String>, diagnostics: Vec<Diagnostic>) -> CliError {
        let mut error = CliError::error(message);
        error.text.diagnostics = diagnostics;
        error
    }

    /// Marks the error as the verdict the command already printed.
    pub fn verdict_printed(mut self) -> CliError {
        self.verdict_printed = true;
        self
    }

    /// Fields for the `--json` error object (an object's keys; anything else
    /// is ignored).
    pub fn with_json(mut self, fields: serde_json::Value) -> CliError {
        if let serde_json::Value::Object(map) = fields {
            self.text.json = Some(map);
        }
        self
    }

    /// The error as `--json` prints it on stdout, so that a script reading
    /// stdout learns why (and a refusal's every check), not only that it
    /// failed: `{"ok": false, "exit_code", "error", "causes", "hints",
    /// "problems": [{"file", "line", "column", "message"}], "event",
    /// "checks"}`. `event` and `checks` are null unless a policy refused an
    /// event.
    pub fn to_json(&self) -> serde_json::Value {
        let text = &self.text;
        let mut object = serde_json::json!({
            "ok": false,
            "exit_code": self.code,
            "error": text.message,
            "details": text.details,
            "causes": text.causes,
            "hints": text.hints,
            "problems": serde_json::to_value(&text.diagnostics).unwrap_or_default(),
            "event": null,
            "checks": null,
        });
        if let (Some(extra), Some(map)) = (&text.json, object.as_object_mut()) {
            map.extend(extra.clone());
        }
        object
    }

    /// Prints the error to stderr as `error: …`, `  caused by: …`, `hint: …`.
    pub fn report(&self) {
        let mut err = std::io::stderr().lock();
        let text = &self.text;
        for d in &text.diagnostics {
            let _ = writeln!(err, "{d}");
        }
        let _ = writeln!(err, "error: {}", text.message);
        for detail in &text.details {
            for line in detail.lines() {
                let _ = writeln!(err, "  {line}");
            }
        }
        for cause in &text.causes {
            let _ = writeln!(err, "  caused by: {cause}");
        }
        for hint in &text.hints {
            let _ = writeln!(err, "hint: {hint}");
        }
    }
}

impl From<GitError> for CliError {
    fn from(e: GitError) -> CliError {
        let hint = e.hint();
        let mut error = CliError::error(e.to_string());
        if let GitError::Git { source, .. } = &e
            && source.code() == git2::ErrorCode::Locked
        {
            error = error.hint("another Git process holds a lock; retry when it has finished");
        }
        match hint {
            Some(h) => error.hint(h),
            None => error,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        let broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
        CliError {
            broken_pipe,
            ..CliError::error(e.to_string())
        }
    }
}

impl From<RunInputError> for CliError {
    fn from(e: RunInputError) -> CliError {
        match e {
            RunInputError::File(d) => {
                CliError::bad_files(format!("cannot use {}", d.file), vec![d])
            }
            other => CliError::error(other.to_string()),
        }
    }
}

impl From<crate::artifacts::ArtifactError> for CliError {
    fn from(e: crate::artifacts::ArtifactError) -> CliError {
        let mut error = if e.is_no() {
            CliError::no(e.to_string())
        } else {
            CliError::error(e.to_string())
        };
        if let Some(hint) = e.hint() {
            error = error.hint(hint);
        }
        error
    }
}

impl From<crate::names::NameError> for CliError {
    fn from(e: crate::names::NameError) -> CliError {
        CliError::error(e.to_string())
    }
}
