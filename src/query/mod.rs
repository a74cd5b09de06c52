//! The `--where` expression language used by `regent run list`.
//!
//! A query is a boolean condition over the fields of a run record:
//!
//! ```text
//! metrics.accuracy > 0.9 and params.optimizer == "adam"
//! not (status == "failed") or tags.team == 'vision'
//! metrics.val/loss <= 0.25 and params.lr < 1e-3
//! ```
//!
//! # Fields
//! A field is a path: a first segment `[A-Za-z_][A-Za-z0-9_]*` (`name`, `status`,
//! `metrics`, `params`, `tags`, `source`, ...), optionally followed by `.key`, where the key
//! may contain `[A-Za-z0-9_./-]` (so `metrics.train/loss` and `source.branch` are single
//! fields), and/or by bracketed quoted keys such as `metrics["val loss"]`. Bracketed keys are
//! joined with `.`, so `params['my key']` is looked up as `params.my key`.
//! The words `and`, `or`, `not`, `true` and `false` are keywords, never fields.
//!
//! # Literals
//! Numbers (`1`, `-2.5`, `1e-3`), strings in `"double"` or `'single'` quotes with the escapes
//! `\"`, `\'`, `\\`, `\n`, `\t`, and the booleans `true` / `false`.
//!
//! # Conditions
//! * `a == b`, `a != b`, `a < b`, `a <= b`, `a > b`, `a >= b`; either side may be a field or a
//!   literal (`0.9 < metrics.acc` works).
//! * `a =~ b`: the string `a` contains the string `b`.
//! * MLflow's `=`, `LIKE`, `ILIKE`, `IN (…)`, `IS [NOT] NULL` (below).
//! * A bare field, e.g. `tags.production`: true when the record has that field.
//! * `not c` / `!c`, `c and d` / `c && d`, `c or d` / `c || d`, and parentheses. Keywords are
//!   case-insensitive. Precedence, tightest first: comparison, `not`, `and`, `or`.
//!
//! # Semantics
//! * Any comparison involving a missing field is false (so `not metrics.x > 1` holds for a
//!   run without `metrics.x`).
//! * Number vs text: a text that parses as a finite number (params are stored as strings) is
//!   compared numerically; otherwise `==` is false, `!=` true and orderings false.
//! * Text vs text: exact equality, lexicographic ordering.
//! * Booleans support only `==` and `!=`, against booleans or the texts `"true"`/`"false"`.
//! * Values of incomparable types are unequal and unordered.
//!
//! # MLflow's search syntax
//! An MLflow filter string works as it is, beside the forms above:
//! * `a = b` is `a == b`.
//! * `field LIKE 'pattern'` and `field ILIKE 'pattern'` (case-insensitive): `%` matches any
//!   run of characters, `_` one character; on text only.
//! * `field IN (value, …)`, `field NOT IN (…)`, `field NOT LIKE '…'`.
//! * `field IS NULL` (the record has no such field), `field IS NOT NULL`.
//! * Keys in back quotes or double quotes after the dot: ``tags.`mlflow.runName` ``,
//!   `params."model class"`.
//! * MLflow's names for fields (`metric.x`, `attributes.status`, `tags.mlflow.runName`, …),
//!   resolved to regent's as [`names`] lists.
//!
//! As in SQL, a record without the field matches neither `x IN (…)` nor `x NOT IN (…)`
//! (nor `LIKE` / `NOT LIKE`); the prefix `not` still negates the whole condition.
//!
//! Parse errors carry the 1-based column (in characters) of the offending token; see
//! [`QueryError::render`].

mod eval;
mod lexer;
mod names;
mod parser;

use eval::Expr;
use parser::Parser;
use std::str::FromStr;

/// Parentheses and `not`s may nest at most this deep.
const MAX_DEPTH: usize = 64;

/// A parsed `--where` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    expr: Expr,
}

/// The value of a field in a record.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Number(f64),
    Text(String),
    Bool(bool),
}

/// A syntax error in a `--where` expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct QueryError {
    /// 1-based, counted in characters.
    pub column: usize,
    pub message: String,
}

impl QueryError {
    /// Renders the expression with a caret under the column, e.g.
    ///
    /// ```text
    /// metrics.acc > > 3
    ///               ^ expected a value after `>`
    /// ```
    ///
    /// Only the line holding the column is shown for multi-line expressions.
    pub fn render(&self, source: &str) -> String {
        let chars: Vec<char> = source.chars().collect();
        let idx = self.column.saturating_sub(1).min(chars.len());
        let start = chars[..idx]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |p| p + 1);
        let end = chars[idx..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(chars.len(), |p| idx + p);
        let line: String = chars[start..end].iter().filter(|&&c| c != '\r').collect();
        let mut pad = String::new();
        for &c in &chars[start..idx] {
            match c {
                '\t' => pad.push('\t'),
                _ => pad.extend(std::iter::repeat_n(' ', char_width(c))),
            }
        }
        format!("{line}\n{pad}^ {}", self.message)
    }
}

/// Shorthand for building a failed result.
fn fail<T>(column: usize, message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError {
        column,
        message: message.into(),
    })
}

/// Terminal columns taken by `c`: an approximation good enough to place a caret.
fn char_width(c: char) -> usize {
    match c as u32 {
        _ if c.is_control() => 0,
        0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

impl Query {
    /// Parses a `--where` expression.
    pub fn parse(source: &str) -> Result<Query, QueryError> {
        let tokens = lexer::tokenize(source)?;
        if tokens.is_empty() {
            return fail(1, "empty expression");
        }
        let end_column = source.trim_end().chars().count() + 1;
        let mut parser = Parser {
            tokens,
            pos: 0,
            depth: 0,
            end_column,
        };
        let expr = parser.parse_or()?;
        match parser.peek() {
            None => Ok(Query { expr }),
            Some(token) if token.kind == lexer::TokenKind::RParen => {
                fail(token.column, "unmatched `)`")
            }
            Some(token) => {
                let message = format!("unexpected `{}` after a complete expression", token.text);
                fail(token.column, message)
            }
        }
    }

    /// Evaluates the query against one record.
    ///
    /// `lookup` is called with the field path as written, e.g. "metrics.accuracy",
    /// "params.my key", "source.branch" (bracketed keys are joined with a '.' like dotted
    /// ones) and returns None when the record has no such field.
    pub fn matches(&self, lookup: &dyn Fn(&str) -> Option<FieldValue>) -> bool {
        self.expr.eval(lookup)
    }

    /// The field paths the query mentions, in order of appearance, deduplicated.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.expr.collect_fields(&mut out);
        out
    }
}

impl FromStr for Query {
    type Err = QueryError;

    fn from_str(source: &str) -> Result<Query, QueryError> {
        Query::parse(source)
    }
}

#[cfg(test)]
mod tests;
