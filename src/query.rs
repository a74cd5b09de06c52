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
//! Parse errors carry the 1-based column (in characters) of the offending token; see
//! [`QueryError::render`].

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

// ---------------------------------------------------------------------------------------------
// Syntax tree and evaluation
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// n-ary, so that long `a or b or c ...` chains do not make the tree deep.
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// A bare field: "the field exists".
    Exists(String),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Field(String),
    Literal(FieldValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<FieldValue>;

impl Expr {
    fn eval(&self, lookup: Lookup<'_>) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().any(|t| t.eval(lookup)),
            Expr::And(terms) => terms.iter().all(|t| t.eval(lookup)),
            Expr::Not(inner) => !inner.eval(lookup),
            Expr::Exists(path) => lookup(path).is_some(),
            Expr::Compare(lhs, op, rhs) => match (lhs.resolve(lookup), rhs.resolve(lookup)) {
                (Some(a), Some(b)) => compare(&a, *op, &b),
                _ => false,
            },
        }
    }

    fn collect_fields(&self, out: &mut Vec<String>) {
        let paths: Vec<&String> = match self {
            Expr::Or(terms) | Expr::And(terms) => {
                terms.iter().for_each(|t| t.collect_fields(out));
                return;
            }
            Expr::Not(inner) => return inner.collect_fields(out),
            Expr::Exists(path) => vec![path],
            Expr::Compare(lhs, _, rhs) => [lhs, rhs]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Field(path) => Some(path),
                    Operand::Literal(_) => None,
                })
                .collect(),
        };
        for path in paths {
            if !out.contains(path) {
                out.push(path.clone());
            }
        }
    }
}

impl Operand {
    fn resolve(&self, lookup: Lookup<'_>) -> Option<FieldValue> {
        match self {
            Operand::Field(path) => lookup(path),
            Operand::Literal(value) => Some(value.clone()),
        }
    }
}

/// Compares two present values. Values that cannot be compared are unequal and unordered.
fn compare(a: &FieldValue, op: CmpOp, b: &FieldValue) -> bool {
    use FieldValue::{Bool, Number, Text};
    let ordering = match (a, b) {
        _ if op == CmpOp::Contains => {
            return matches!((a, b), (Text(hay), Text(needle)) if hay.contains(needle.as_str()));
        }
        (Number(x), Number(y)) => x.partial_cmp(y),
        (Number(x), Text(t)) => parse_number(t).and_then(|y| x.partial_cmp(&y)),
        (Text(t), Number(y)) => parse_number(t).and_then(|x| x.partial_cmp(y)),
        (Text(x), Text(y)) => Some(x.cmp(y)),
        // Booleans are only equal or unequal, never ordered.
        (Bool(x), Bool(y)) => return equality(op, x == y),
        (Bool(x), Text(t)) | (Text(t), Bool(x)) => {
            return parse_bool(t).map_or(op == CmpOp::Ne, |y| equality(op, *x == y));
        }
        (Bool(_), Number(_)) | (Number(_), Bool(_)) => None,
    };
    match (ordering, op) {
        (None, op) => op == CmpOp::Ne,
        (Some(ord), CmpOp::Eq) => ord.is_eq(),
        (Some(ord), CmpOp::Ne) => ord.is_ne(),
        (Some(ord), CmpOp::Lt) => ord.is_lt(),
        (Some(ord), CmpOp::Le) => ord.is_le(),
        (Some(ord), CmpOp::Gt) => ord.is_gt(),
        (Some(ord), CmpOp::Ge) => ord.is_ge(),
        (Some(_), CmpOp::Contains) => false,
    }
}

fn equality(op: CmpOp, equal: bool) -> bool {
    matches!((op, equal), (CmpOp::Eq, true) | (CmpOp::Ne, false))
}

fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Field(String),
    Literal(FieldValue),
    Cmp(CmpOp),
    And,
    Or,
    Not,
    LParen,
    RParen,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    /// 1-based, in characters.
    column: usize,
    /// The token as written, for error messages.
    text: String,
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_key_char(c: char) -> bool {
    is_word_char(c) || matches!(c, '.' | '/' | '-')
}

fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

fn tokenize(source: &str) -> Result<Vec<Token>, QueryError> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

impl Lexer {
    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(&pred) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn next_token(&mut self) -> Result<Option<Token>, QueryError> {
        self.eat_while(char::is_whitespace);
        let start = self.pos;
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let kind = match c {
            '"' | '\'' => TokenKind::Literal(FieldValue::Text(self.string()?)),
            '-' if is_digit(self.peek(1)) => self.number()?,
            _ if c.is_ascii_digit() => self.number()?,
            _ if c.is_ascii_alphabetic() || c == '_' => self.word()?,
            _ => self.symbol(c)?,
        };
        let text = self.chars[start..self.pos].iter().collect();
        Ok(Some(Token {
            kind,
            column: start + 1,
            text,
        }))
    }

    /// A quoted string starting at the current position (which holds the quote).
    fn string(&mut self) -> Result<String, QueryError> {
        let quote = self.chars[self.pos];
        let open = self.pos + 1;
        let unterminated = format!("unterminated string: missing closing `{quote}`");
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = match self.peek(0) {
                None => return fail(open, unterminated),
                Some(c) if c == quote => break,
                Some('\\') => match self.peek(1) {
                    Some(c @ ('"' | '\'' | '\\')) => c,
                    Some('n') => '\n',
                    Some('t') => '\t',
                    None => return fail(open, unterminated),
                    Some(other) => {
                        let shown = other.escape_debug();
                        let hint = r#"use \", \', \\, \n or \t"#;
                        return fail(self.pos + 1, format!("unknown escape `\\{shown}` ({hint})"));
                    }
                },
                Some(c) => c,
            };
            // An escape sequence is two characters long.
            self.pos += if self.peek(0) == Some('\\') { 2 } else { 1 };
            out.push(c);
        }
        self.pos += 1;
        Ok(out)
    }

    fn number(&mut self) -> Result<TokenKind, QueryError> {
        let start = self.pos;
        if self.peek(0) == Some('-') {
            self.pos += 1;
        }
        self.eat_while(|c| c.is_ascii_digit());
        if self.peek(0) == Some('.') && is_digit(self.peek(1)) {
            self.pos += 1;
            self.eat_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if is_digit(self.peek(1 + sign)) {
                self.pos += 1 + sign;
                self.eat_while(|c| c.is_ascii_digit());
            }
        }
        // `1.2.3`, `1e` or `12abc` is one bad number, not a number followed by something.
        self.eat_while(|c| is_word_char(c) || c == '.');
        let text: String = self.chars[start..self.pos].iter().collect();
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(TokenKind::Literal(FieldValue::Number(value))),
            Ok(_) => fail(start + 1, format!("number `{text}` is out of range")),
            Err(_) => fail(start + 1, format!("invalid number `{text}`")),
        }
    }

    /// A keyword, a boolean or a field path.
    fn word(&mut self) -> Result<TokenKind, QueryError> {
        let mut path = self.eat_while(is_word_char);
        match path.to_ascii_lowercase().as_str() {
            "and" => return Ok(TokenKind::And),
            "or" => return Ok(TokenKind::Or),
            "not" => return Ok(TokenKind::Not),
            "true" => return Ok(TokenKind::Literal(FieldValue::Bool(true))),
            "false" => return Ok(TokenKind::Literal(FieldValue::Bool(false))),
            _ => {}
        }
        loop {
            let key = match self.peek(0) {
                Some('.') => {
                    self.pos += 1;
                    let key = self.eat_while(is_key_char);
                    if key.is_empty() {
                        return fail(self.pos + 1, "expected a field key after `.`");
                    }
                    key
                }
                Some('[') => {
                    let open = self.pos + 1;
                    self.pos += 1;
                    if !matches!(self.peek(0), Some('"' | '\'')) {
                        let example = r#"`metrics["val loss"]`"#;
                        return fail(
                            self.pos + 1,
                            format!("expected a quoted key after `[`, e.g. {example}"),
                        );
                    }
                    let key = self.string()?;
                    if self.peek(0) != Some(']') {
                        return fail(
                            self.pos + 1,
                            format!("expected `]` to close `[` at column {open}"),
                        );
                    }
                    self.pos += 1;
                    key
                }
                _ => return Ok(TokenKind::Field(path)),
            };
            path.push('.');
            path.push_str(&key);
        }
    }

    /// Parentheses and operators.
    fn symbol(&mut self, c: char) -> Result<TokenKind, QueryError> {
        let column = self.pos + 1;
        let (kind, len) = match (c, self.peek(1)) {
            ('=', Some('=')) => (TokenKind::Cmp(CmpOp::Eq), 2),
            ('=', Some('~')) => (TokenKind::Cmp(CmpOp::Contains), 2),
            ('!', Some('=')) => (TokenKind::Cmp(CmpOp::Ne), 2),
            ('<', Some('=')) => (TokenKind::Cmp(CmpOp::Le), 2),
            ('>', Some('=')) => (TokenKind::Cmp(CmpOp::Ge), 2),
            ('&', Some('&')) => (TokenKind::And, 2),
            ('|', Some('|')) => (TokenKind::Or, 2),
            ('<', _) => (TokenKind::Cmp(CmpOp::Lt), 1),
            ('>', _) => (TokenKind::Cmp(CmpOp::Gt), 1),
            ('!', _) => (TokenKind::Not, 1),
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            ('=', _) => return fail(column, "unexpected `=`; use `==` to test equality"),
            ('&', _) => return fail(column, "unexpected `&`; use `&&` or `and`"),
            ('|', _) => return fail(column, "unexpected `|`; use `||` or `or`"),
            ('.', d) if is_digit(d) => {
                return fail(column, "numbers must start with a digit, e.g. `0.5`");
            }
            _ if c.is_control() => {
                return fail(
                    column,
                    format!("unexpected character `{}`", c.escape_unicode()),
                );
            }
            _ => return fail(column, format!("unexpected character `{c}`")),
        };
        self.pos += len;
        Ok(kind)
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------
//
//   or      := and (("or" | "||") and)*
//   and     := unary (("and" | "&&") unary)*
//   unary   := ("not" | "!") unary | primary
//   primary := "(" or ")" | operand [cmp operand]
//   operand := field | number | string | "true" | "false"

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current nesting of parentheses and `not`s.
    depth: usize,
    /// Column just past the last token, for "end of input" errors.
    end_column: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_kind(&self) -> Option<&TokenKind> {
        self.peek().map(|t| &t.kind)
    }

    fn column(&self) -> usize {
        self.peek().map_or(self.end_column, |t| t.column)
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let hit = self.peek_kind() == Some(kind);
        self.pos += usize::from(hit);
        hit
    }

    fn parse_or(&mut self) -> Result<Expr, QueryError> {
        self.parse_chain(&TokenKind::Or, Self::parse_and, Expr::Or)
    }

    fn parse_and(&mut self) -> Result<Expr, QueryError> {
        self.parse_chain(&TokenKind::And, Self::parse_unary, Expr::And)
    }

    /// `item (separator item)*`, collected into one n-ary node.
    fn parse_chain(
        &mut self,
        separator: &TokenKind,
        item: fn(&mut Self) -> Result<Expr, QueryError>,
        node: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, QueryError> {
        let mut items = vec![item(self)?];
        while self.eat(separator) {
            items.push(item(self)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            node(items)
        })
    }

    fn parse_unary(&mut self) -> Result<Expr, QueryError> {
        if self.peek_kind() != Some(&TokenKind::Not) {
            return self.parse_primary();
        }
        self.nest(|parser| {
            parser.pos += 1;
            Ok(Expr::Not(Box::new(parser.parse_unary()?)))
        })
    }

    /// Runs `inner` one nesting level deeper, refusing to go past [`MAX_DEPTH`].
    fn nest(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<Expr, QueryError>,
    ) -> Result<Expr, QueryError> {
        if self.depth >= MAX_DEPTH {
            let message = format!("expression is nested too deeply (more than {MAX_DEPTH} levels)");
            return fail(self.column(), message);
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn parse_primary(&mut self) -> Result<Expr, QueryError> {
        if self.peek_kind() == Some(&TokenKind::LParen) {
            let open = self.column();
            return self.nest(|parser| {
                parser.pos += 1;
                let inner = parser.parse_or()?;
                if !parser.eat(&TokenKind::RParen) {
                    return fail(
                        parser.column(),
                        format!("expected `)` to close `(` at column {open}"),
                    );
                }
                Ok(inner)
            });
        }
        let Some((lhs, lhs_token)) = self.parse_operand() else {
            return Err(self.expected_condition());
        };
        let Some(TokenKind::Cmp(op)) = self.peek_kind().cloned() else {
            return match lhs {
                Operand::Field(path) => Ok(Expr::Exists(path)),
                Operand::Literal(_) => fail(
                    lhs_token.column,
                    format!(
                        "expected a comparison: `{}` alone is not a condition",
                        lhs_token.text
                    ),
                ),
            };
        };
        let op_text = self.tokens[self.pos].text.clone();
        self.pos += 1;
        let Some((rhs, _)) = self.parse_operand() else {
            return fail(self.column(), format!("expected a value after `{op_text}`"));
        };
        if let Some(next) = self.peek().filter(|t| matches!(t.kind, TokenKind::Cmp(_))) {
            let message = "comparisons cannot be chained, join them with `and`";
            return fail(
                next.column,
                format!("unexpected `{}`: {message}", next.text),
            );
        }
        Ok(Expr::Compare(lhs, op, rhs))
    }

    fn parse_operand(&mut self) -> Option<(Operand, Token)> {
        let token = self.peek()?.clone();
        let operand = match &token.kind {
            TokenKind::Field(path) => Operand::Field(path.clone()),
            TokenKind::Literal(value) => Operand::Literal(value.clone()),
            _ => return None,
        };
        self.pos += 1;
        Some((operand, token))
    }

    /// "expected a condition after `prev`, found `next`", at the current position.
    fn expected_condition(&self) -> QueryError {
        let mut message = "expected a condition".to_string();
        if let Some(prev) = self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)) {
            message += &format!(" after `{}`", prev.text);
        }
        if let Some(next) = self.peek() {
            message += &format!(", found `{}`", next.text);
        }
        QueryError {
            column: self.column(),
            message,
        }
    }
}

impl Query {
    /// Parses a `--where` expression.
    pub fn parse(source: &str) -> Result<Query, QueryError> {
        let tokens = tokenize(source)?;
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
            Some(token) if token.kind == TokenKind::RParen => fail(token.column, "unmatched `)`"),
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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn num(v: f64) -> FieldValue {
        FieldValue::Number(v)
    }

    fn text(v: &str) -> FieldValue {
        FieldValue::Text(v.to_string())
    }

    /// A typical run record.
    fn record() -> HashMap<String, FieldValue> {
        [
            ("name", text("resnet-50")),
            ("status", text("finished")),
            ("source.branch", text("main")),
            ("metrics.accuracy", num(0.93)),
            ("metrics.val/loss", num(0.2)),
            ("metrics.train/loss-ema.v2", num(0.4)),
            ("metrics.val loss", num(0.3)),
            ("params.lr", text("0.001")),
            ("params.epochs", num(10.0)),
            ("params.optimizer", text("adam")),
            ("params.my key", text("x")),
            ("tags.team", text("vision")),
            ("tags.production", FieldValue::Bool(true)),
            ("tags.flag", text("false")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn eval_with(source: &str, fields: &HashMap<String, FieldValue>) -> bool {
        let query = Query::parse(source).unwrap_or_else(|e| panic!("{source:?}: {e}"));
        query.matches(&|path| fields.get(path).cloned())
    }

    fn eval(source: &str) -> bool {
        eval_with(source, &record())
    }

    fn err(source: &str) -> QueryError {
        match Query::parse(source) {
            Ok(q) => panic!("{source:?} parsed unexpectedly as {q:?}"),
            Err(e) => e,
        }
    }

    /// Asserts the error's column and that its message contains `needle`.
    fn assert_err(source: &str, column: usize, needle: &str) {
        let e = err(source);
        assert_eq!(e.column, column, "{source:?}: {e}");
        assert!(
            e.message.contains(needle),
            "{source:?}: {:?} lacks {needle:?}",
            e.message
        );
    }

    fn bools(a: bool, b: bool, c: bool) -> HashMap<String, FieldValue> {
        [("a", a), ("b", b), ("c", c)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), FieldValue::Bool(v)))
            .collect()
    }

    #[test]
    fn examples_from_the_docs() {
        assert!(eval(
            r#"metrics.accuracy > 0.9 and params.optimizer == "adam""#
        ));
        assert!(eval(r#"not (status == "failed") or tags.team == 'vision'"#));
        assert!(eval("metrics.val/loss <= 0.25 and params.lr < 1e-2"));
        assert!(!eval("metrics.val/loss <= 0.25 and params.lr < 1e-3"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(Query::parse("a or b and c"), Query::parse("a or (b and c)"));
        assert_ne!(Query::parse("a or b and c"), Query::parse("(a or b) and c"));
        // a=true, b=false, c=false: `a or (b and c)` is true, `(a or b) and c` would be false.
        let fields = bools(true, false, false);
        assert!(eval_with("a == true or b == true and c == true", &fields));
        assert!(!eval_with(
            "(a == true or b == true) and c == true",
            &fields
        ));
        let fields = bools(false, true, false);
        assert!(!eval_with("a == true or b == true and c == true", &fields));
    }

    #[test]
    fn not_binds_tighter_than_and_but_looser_than_comparison() {
        assert_eq!(Query::parse("not a and b"), Query::parse("(not a) and b"));
        assert_eq!(Query::parse("not a == 1"), Query::parse("not (a == 1)"));
        let fields = bools(false, true, false);
        assert!(eval_with("not a == true and b == true", &fields));
        assert!(!eval_with("not (a == false and b == true)", &fields));
        assert!(eval_with("not not b == true", &fields));
        assert!(!eval("not tags.production"));
    }

    #[test]
    fn parentheses_group() {
        let fields = bools(false, true, true);
        assert!(eval_with("(a == true or b == true) and c == true", &fields));
        assert!(eval_with("((((b == true))))", &fields));
        assert!(!eval_with(
            "(a == true or (b == true and c == false))",
            &fields
        ));
    }

    #[test]
    fn keyword_spellings_and_symbols() {
        let fields = bools(true, false, true);
        for source in [
            "a == true AND NOT b == true",
            "a == TRUE && !b == true",
            "a == True And Not c == false",
        ] {
            assert!(eval_with(source, &fields), "{source}");
        }
        assert!(eval_with("b == true || c == true", &fields));
        assert!(eval_with("b == true OR c == true", &fields));
        assert!(eval_with("!(b == true)", &fields));
        // Keywords are not field names.
        assert_err("and == 1", 1, "expected a condition, found `and`");
        assert!(Query::parse("android == 1").is_ok());
        assert!(Query::parse("nothing").is_ok());
    }

    #[test]
    fn number_operators() {
        let cases = [
            ("==", [false, true, false]),
            ("!=", [true, false, true]),
            ("<", [true, false, false]),
            ("<=", [true, true, false]),
            (">", [false, false, true]),
            (">=", [false, true, true]),
        ];
        for (op, expected) in cases {
            for (value, want) in [10.5, 10.0, 9.0].into_iter().zip(expected) {
                // params.epochs is 10
                let source = format!("params.epochs {op} {value}");
                assert_eq!(eval(&source), want, "{source}");
                // Flipping the sides mirrors the operator.
                let mirrored = match op {
                    "<" => ">",
                    "<=" => ">=",
                    ">" => "<",
                    ">=" => "<=",
                    other => other,
                };
                let source = format!("{value} {mirrored} params.epochs");
                assert_eq!(eval(&source), want, "{source}");
            }
        }
        assert!(eval("0.9 < metrics.accuracy"));
        assert!(eval("metrics.accuracy == 0.93"));
        assert!(eval("metrics.accuracy > -2.5"));
        assert!(eval("params.epochs == 1e1 and params.epochs == 1E+1"));
    }

    #[test]
    fn string_operators() {
        assert!(eval(r#"params.optimizer == "adam""#));
        assert!(!eval(r#"params.optimizer == "Adam""#));
        assert!(eval(r#"params.optimizer != "sgd""#));
        assert!(eval(
            r#"params.optimizer < "b" and params.optimizer >= "adam""#
        ));
        assert!(!eval(
            r#"params.optimizer > "b" or params.optimizer <= "ada""#
        ));
        assert!(eval("name =~ 'net-5'"));
        assert!(!eval("name =~ 'vgg'"));
        assert!(eval("'a longer string' =~ 'long'"));
        // =~ is for strings only.
        assert!(!eval("metrics.accuracy =~ '0.9'"));
        assert!(!eval("tags.production =~ 'tr'"));
    }

    #[test]
    fn string_escapes() {
        let fields: HashMap<String, FieldValue> = [("x".to_string(), text("say \"hi\"\n\t'a\\b'"))]
            .into_iter()
            .collect();
        assert!(eval_with(r#"x == "say \"hi\"\n\t'a\\b'""#, &fields));
        assert!(eval_with(r#"x == 'say "hi"\n\t\'a\\b\''"#, &fields));
    }

    #[test]
    fn params_strings_compare_numerically() {
        assert!(eval("params.lr == 0.001"));
        assert!(eval("params.lr == 1e-3"));
        assert!(eval("params.lr < 1e-2 and params.lr > 0"));
        assert!(eval("0.01 > params.lr"));
        assert!(!eval("params.lr != 0.001"));
        // A non-numeric text is never equal to or ordered with a number.
        assert!(!eval("params.optimizer == 1"));
        assert!(eval("params.optimizer != 1"));
        assert!(!eval("params.optimizer < 1"));
        assert!(!eval("params.optimizer >= 1"));
        // Text vs text stays textual: "0.001" is not "1e-3".
        assert!(!eval("params.lr == '1e-3'"));
    }

    #[test]
    fn booleans() {
        assert!(eval("tags.production == true"));
        assert!(eval("tags.production != false"));
        assert!(eval("tags.production == 'true'"));
        assert!(eval("tags.flag == false"));
        assert!(!eval("tags.flag == true"));
        // Against a non-boolean text or a number: unequal.
        assert!(!eval("tags.production == 'yes'"));
        assert!(eval("tags.production != 'yes'"));
        assert!(!eval("tags.production == 1"));
        assert!(eval("tags.production != 1"));
        // Ordering a boolean field against a non-literal is simply false.
        assert!(!eval("tags.production > tags.flag"));
    }

    #[test]
    fn comparing_two_literals_is_allowed() {
        assert!(eval("1 == 1"));
        assert!(eval("'a' < 'b'"));
        assert!(!eval("true == false"));
        assert!(eval("'2.5' == 2.5"));
    }

    #[test]
    fn missing_fields() {
        assert!(!eval("metrics.x > 1"));
        assert!(!eval("metrics.x < 1"));
        assert!(!eval("metrics.x == 1"));
        assert!(!eval("metrics.x != 1"));
        assert!(!eval("metrics.x =~ 'a'"));
        assert!(!eval("1 != metrics.x"));
        assert!(eval("not metrics.x > 1"));
        assert!(!eval("metrics.x"));
        assert!(eval("not metrics.x"));
        assert!(eval("metrics.x > 1 or metrics.accuracy > 0.5"));
    }

    #[test]
    fn bare_field_means_exists() {
        assert!(eval("tags.production"));
        assert!(eval("tags.flag")); // exists even though its value is "false"
        assert!(eval("name and source.branch"));
        assert!(!eval("tags.missing"));
    }

    #[test]
    fn keys_with_slashes_dashes_and_dots() {
        assert!(eval("metrics.val/loss == 0.2"));
        assert!(eval("metrics.train/loss-ema.v2 == 0.4"));
        assert!(eval("source.branch == 'main'"));
        // No spaces needed around operators.
        assert!(eval("metrics.val/loss<=0.25&&metrics.val/loss>-1"));
        let q = Query::parse("metrics.train/loss-ema.v2 > 0").unwrap();
        assert_eq!(q.fields(), ["metrics.train/loss-ema.v2"]);
    }

    #[test]
    fn bracketed_keys() {
        assert!(eval(r#"metrics["val loss"] == 0.3"#));
        assert!(eval("params['my key'] == 'x'"));
        assert!(eval(r#"metrics["val/loss"] == metrics.val/loss"#));
        let q = Query::parse(r#"a["b c"]['d \'e\''] and x.y["z"]"#).unwrap();
        assert_eq!(q.fields(), ["a.b c.d 'e'", "x.y.z"]);
    }

    #[test]
    fn lookup_receives_paths_as_written() {
        let seen = std::cell::RefCell::new(Vec::new());
        let q = Query::parse(r#"metrics.accuracy > 1 or params["my key"] or source.branch == 'x'"#)
            .unwrap();
        let matched = q.matches(&|path| {
            seen.borrow_mut().push(path.to_string());
            None
        });
        assert!(!matched);
        assert_eq!(
            *seen.borrow(),
            ["metrics.accuracy", "params.my key", "source.branch"]
        );
    }

    #[test]
    fn fields_in_order_deduplicated() {
        let q =
            Query::parse("b > 1 and (a == 2 or 3 < b) and not c and a =~ 'x' and 1 == 1").unwrap();
        assert_eq!(q.fields(), ["b", "a", "c"]);
        assert!(Query::parse("1 == 1").unwrap().fields().is_empty());
    }

    #[test]
    fn from_str_matches_parse() {
        let q: Query = "name == 'x'".parse().unwrap();
        assert_eq!(Some(q), Query::parse("name == 'x'").ok());
        assert_eq!("".parse::<Query>().unwrap_err().message, "empty expression");
    }

    #[test]
    fn error_empty_expression() {
        assert_err("", 1, "empty expression");
        assert_err("   \t\n ", 1, "empty expression");
    }

    #[test]
    fn error_unterminated_string() {
        assert_err(r#"name == "abc"#, 9, "unterminated string");
        assert_err("name == 'abc\\'", 9, "unterminated string");
        assert_err(r#"metrics["val loss] > 1"#, 9, "unterminated string");
    }

    #[test]
    fn error_bad_escape() {
        assert_err(r#"name == "a\qb""#, 11, "unknown escape `\\q`");
    }

    #[test]
    fn error_unexpected_character() {
        assert_err("metrics.accuracy > ０.9", 20, "unexpected character `０`");
        assert_err("name == 'é' and x # 1", 19, "unexpected character `#`");
        assert_err("a == 1 @", 8, "unexpected character `@`");
        assert_err("a = 1", 3, "use `==`");
        assert_err("a == 1 & b", 8, "use `&&`");
        assert_err("a == 1 | b", 8, "use `||`");
        assert_err("a > .5", 5, "must start with a digit");
        assert_err("a > -b", 5, "unexpected character `-`");
        assert_err("a == \u{1}", 6, "`\\u{1}`");
    }

    #[test]
    fn error_bad_field_syntax() {
        assert_err("metrics. > 1", 9, "expected a field key after `.`");
        assert_err("metrics[val] > 1", 9, "expected a quoted key after `[`");
        assert_err(
            "metrics['val' > 1",
            14,
            "expected `]` to close `[` at column 8",
        );
        assert_err("true.x", 5, "unexpected character `.`");
    }

    #[test]
    fn error_bad_numbers() {
        assert_err("a > 1.2.3", 5, "invalid number `1.2.3`");
        assert_err("a > 1e", 5, "invalid number `1e`");
        assert_err("a > 12abc", 5, "invalid number `12abc`");
        assert_err("a > 1e999", 5, "out of range");
    }

    #[test]
    fn error_expected_value_after_operator() {
        let e = err("metrics.acc > > 3");
        assert_eq!(
            (e.column, e.message.as_str()),
            (15, "expected a value after `>`")
        );
        assert_err("metrics.acc >", 14, "expected a value after `>`");
        assert_err("metrics.acc >=   ", 15, "expected a value after `>=`");
        assert_err("a == (1)", 6, "expected a value after `==`");
        assert_err("a =~ and", 6, "expected a value after `=~`");
    }

    #[test]
    fn error_expected_condition() {
        assert_err("a and", 6, "expected a condition after `and`");
        assert_err("not", 4, "expected a condition after `not`");
        assert_err("a or )", 6, "expected a condition after `or`, found `)`");
        assert_err("()", 2, "expected a condition after `(`, found `)`");
        assert_err("== 1", 1, "expected a condition, found `==`");
    }

    #[test]
    fn error_missing_close_paren() {
        assert_err("(a == 1", 8, "expected `)` to close `(` at column 1");
        assert_err("(a == 1 b", 9, "expected `)` to close `(` at column 1");
        assert_err(
            "x and ((a == 1) ",
            16,
            "expected `)` to close `(` at column 7",
        );
    }

    #[test]
    fn error_trailing_input() {
        let e = err("a == 1 foo");
        assert_eq!(
            (e.column, e.message.as_str()),
            (8, "unexpected `foo` after a complete expression")
        );
        assert_err("a == 1)", 7, "unmatched `)`");
        assert_err("a 'x'", 3, "unexpected `'x'` after a complete expression");
        assert_err("a < b < c", 7, "comparisons cannot be chained");
    }

    #[test]
    fn error_literal_alone() {
        assert_err("3", 1, "expected a comparison");
        assert_err("a == 1 and 'x'", 12, "expected a comparison");
        assert_err("not true", 5, "expected a comparison");
    }

    #[test]
    fn operators_a_type_does_not_support_are_false() {
        // Booleans are never ordered and `=~` needs two strings; only `!=` holds.
        assert!(!eval("tags.production > true") && !eval("tags.production <= true"));
        assert!(!eval("true >= true"));
        assert!(!eval("name =~ 3") && !eval("3 =~ '3'"));
        assert!(eval("tags.production != 1") && eval("name != true"));
    }

    #[test]
    fn nesting_is_limited() {
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Query::parse(&ok).is_ok());
        let too_deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_err(&too_deep, MAX_DEPTH + 1, "nested too deeply");
        assert_err(
            &"not ".repeat(MAX_DEPTH + 1),
            4 * MAX_DEPTH + 1,
            "nested too deeply",
        );
        assert_err(&"!(".repeat(MAX_DEPTH), MAX_DEPTH + 1, "nested too deeply");
        // Huge inputs error out rather than overflowing the stack.
        assert_err(&"(".repeat(200_000), MAX_DEPTH + 1, "nested too deeply");
    }

    #[test]
    fn long_flat_chains_do_not_nest() {
        let source = vec!["metrics.accuracy > 0.5"; 50_000].join(" and ");
        assert!(eval(&source));
        let source = vec!["metrics.x"; 50_000].join(" || ");
        assert!(!eval(&source));
        assert_eq!(Query::parse(&source).unwrap().fields(), ["metrics.x"]);
    }

    #[test]
    fn display_and_render() {
        let source = "metrics.acc > > 3";
        let e = err(source);
        assert_eq!(e.to_string(), "expected a value after `>` at column 15");
        assert_eq!(
            e.render(source),
            "metrics.acc > > 3\n              ^ expected a value after `>`"
        );
        // End of input: the caret goes just past the last token.
        let e = err("a >");
        assert_eq!(e.render("a >"), "a >\n   ^ expected a value after `>`");
    }

    #[test]
    fn render_aligns_wide_chars_tabs_and_lines() {
        let source = "name == '日本' and ０";
        let e = err(source);
        assert_eq!(e.column, 18);
        assert_eq!(
            e.render(source),
            format!("{source}\n{}^ unexpected character `０`", " ".repeat(19))
        );
        let source = "a ==\t1 @";
        assert_eq!(
            err(source).render(source),
            "a ==\t1 @\n    \t  ^ unexpected character `@`"
        );
        let source = "a == 1\nand b >\n and c";
        let e = err(source);
        assert_eq!(
            (e.column, e.render(source).as_str()),
            (17, " and c\n ^ expected a value after `>`")
        );
    }

    #[test]
    fn render_tolerates_any_column() {
        let e = QueryError {
            column: 100,
            message: "boom".to_string(),
        };
        assert_eq!(e.render("ab"), "ab\n  ^ boom");
        let e = QueryError {
            column: 0,
            message: "x".to_string(),
        };
        assert_eq!(e.render(""), "\n^ x");
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(source in "\\PC{0,80}") {
            check_no_panic(&source);
        }

        #[test]
        fn parsing_query_like_text_never_panics(
            source in r#"([ a-z0-9_.\-/()<>=!~&|'"\\\[\]]|and |or |not |true|false|metrics\.x|０|é){0,40}"#
        ) {
            check_no_panic(&source);
        }
    }

    fn check_no_panic(source: &str) {
        match Query::parse(source) {
            Ok(query) => {
                let values = [
                    None,
                    Some(num(1.0)),
                    Some(text("a")),
                    Some(FieldValue::Bool(true)),
                ];
                for value in values {
                    let _ = query.matches(&|_| value.clone());
                }
                assert!(query.fields().iter().all(|f| !f.is_empty()));
            }
            Err(e) => {
                assert!(
                    e.column >= 1 && e.column <= source.chars().count() + 1,
                    "{e}"
                );
                assert!(!e.message.is_empty());
                assert!(e.render(source).contains('^'));
            }
        }
    }
}
