//! A problem found in a registry file, with where it is: the currency of
//! `validate`, of loading, and of every "bad input" error.

use serde::Serialize;
use std::fmt;

/// One problem at `file:line:column`. `file` is relative to the repository root,
/// so it can be clicked in a terminal and used in GitHub annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A problem with the file as a whole (it is missing, unreadable, misplaced).
    pub fn file_level(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(file, 1, 1, message)
    }
}

impl fmt::Display for Diagnostic {
    /// One line, whatever the file held: control characters in a quoted key
    /// or value are shown escaped, so a file cannot add lines to the output
    /// (a forged `::error::` workflow command in GitHub Actions) or send
    /// escape sequences to a terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.file)?;
        write!(f, ":{}:{}: ", self.line, self.column)?;
        write_escaped(f, &self.message)
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    use fmt::Write;
    for c in text.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            f.write_char(c)?;
        }
    }
    Ok(())
}

/// Sorts diagnostics by file and position, and drops exact repeats (two schema
/// keywords can report the same thing).
pub fn normalize(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.column, a.message.as_str()).cmp(&(
            b.file.as_str(),
            b.line,
            b.column,
            b.message.as_str(),
        ))
    });
    diagnostics.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_control_characters_escaped() {
        let d = Diagnostic::new("a\nb.yaml", 2, 3, "unknown key `x\n::error::y\u{1b}[2J`");
        assert_eq!(
            d.to_string(),
            "a\\nb.yaml:2:3: unknown key `x\\n::error::y\\u{1b}[2J`"
        );
    }
}
