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
mod tests;
