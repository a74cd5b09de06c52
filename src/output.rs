//! Everything regent prints: aligned tables for people, JSON for machines,
//! GitHub Actions annotations, colour decisions. Data goes to stdout,
//! messages to stderr. A closed stdout (`regent … | head`) surfaces as
//! `io::ErrorKind::BrokenPipe`, which the CLI treats as a normal end.

use std::io::{self, IsTerminal, Write};
use unicode_width::UnicodeWidthStr;

/// Text from a registry file made safe to print for people: control
/// characters (an escape sequence that clears the screen or retitles the
/// terminal, a carriage return that overwrites a line) are shown escaped.
/// Line breaks and tabs stay when `multiline` (a description, a note); a
/// table cell or a one-line field keeps to its line.
pub fn printable(text: &str, multiline: bool) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| match c {
            '\n' | '\t' if multiline => c.to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Output format chosen with `--format`/`--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// Colour choice with `--color`, `NO_COLOR` and whether stderr/stdout is a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How output should look, decided once at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn new(choice: ColorChoice) -> Style {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        };
        Style { color }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
}

/// A table: a header row and rows, printed with columns aligned by display
/// width (so CJK and emoji line up). Numbers are right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        // Headers can be metric names from files: as escaped as the cells.
        let header: Vec<String> = header
            .into_iter()
            .map(|h| printable(&h.into(), false))
            .collect();
        let right = vec![false; header.len()];
        Table {
            header,
            rows: Vec::new(),
            right,
        }
    }

    /// Right-aligns column `i` (for numbers).
    pub fn align_right(mut self, i: usize) -> Table {
        if let Some(r) = self.right.get_mut(i) {
            *r = true;
        }
        self
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| printable(&c.into(), false))
                .collect(),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table; `style` makes the header bold.
    pub fn write(&self, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let line = |cells: &[String], bold: bool| -> String {
            let mut text = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = " ".repeat(width.saturating_sub(cell.width()));
                let last = i + 1 == columns;
                let padded = if self.right[i] {
                    format!("{pad}{cell}")
                } else if last {
                    cell.to_owned()
                } else {
                    format!("{cell}{pad}")
                };
                text.push_str(&if bold { style.bold(&padded) } else { padded });
                if !last {
                    text.push_str("  ");
                }
            }
            text.trim_end().to_owned()
        };
        writeln!(out, "{}", line(&self.header, true))?;
        for row in &self.rows {
            writeln!(out, "{}", line(row, false))?;
        }
        Ok(())
    }
}

/// Prints a value as pretty JSON with a final newline.
pub fn write_json<T: serde::Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    // `From` keeps the I/O error's kind, so a closed pipe is still recognised.
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}

/// A metric for people: up to 6 significant decimals, no float noise.
pub fn number(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "0" || text == "-0" {
        format!("{value:e}")
    } else {
        text.to_owned()
    }
}

/// Whether we run inside GitHub Actions.
pub fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// A workflow command such as `::error file=a.yaml,line=3,col=5::message`,
/// escaped as GitHub's toolkit does so that a message cannot inject another
/// command or break out of its property.
pub fn annotation(level: &str, file: &str, line: usize, column: usize, message: &str) -> String {
    format!(
        "::{level} file={},line={line},col={column}::{}",
        escape_property(file),
        escape_data(message)
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Appends `key=value` pairs to the file named by `$GITHUB_OUTPUT` (step
/// outputs), using GitHub's heredoc form with a random delimiter so that a
/// value cannot end the block early and inject another output. Does nothing
/// when the variable is unset (not in Actions).
pub fn github_outputs(pairs: &[(&str, String)]) -> io::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let mut text = String::new();
    for (key, value) in pairs {
        let delimiter = loop {
            let candidate = format!("regent_{:016x}", crate::random::u64());
            if !value.contains(&candidate) {
                break candidate;
            }
        };
        text.push_str(&format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    append(&path, &text)
}

/// Appends Markdown to the job's step summary (`$GITHUB_STEP_SUMMARY`).
pub fn step_summary(markdown: &str) -> io::Result<()> {
    match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        Some(path) => append(&path, markdown),
        None => Ok(()),
    }
}

fn append(path: &std::ffi::OsStr, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    let mut file = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_by_display_width() {
        let mut t = Table::new(["name", "value"]).align_right(1);
        t.row(["a", "1"]);
        t.row(["日本", "10.5"]);
        let mut out = Vec::new();
        t.write(&mut out, &Style { color: false }).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "name  value\na         1\n日本   10.5\n");
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.912345678), "0.912346");
        assert_eq!(number(1e-9), "1e-9");
    }

    #[test]
    fn annotations_are_escaped() {
        assert_eq!(
            annotation("error", "a,b:c.yaml", 1, 2, "bad\n::error::x 100%"),
            "::error file=a%2Cb%3Ac.yaml,line=1,col=2::bad%0A::error::x 100%25"
        );
    }
}
