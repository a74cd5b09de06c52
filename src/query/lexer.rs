//! The tokens of a `--where` expression.

use super::eval::CmpOp;
use super::{FieldValue, QueryError, fail};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    Field(String),
    Literal(FieldValue),
    Cmp(CmpOp),
    And,
    Or,
    Not,
    LParen,
    RParen,
    // MLflow's search syntax (SQL's words).
    Like,
    ILike,
    In,
    Is,
    Null,
    Comma,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    /// 1-based, in characters.
    pub(super) column: usize,
    /// The token as written, for error messages.
    pub(super) text: String,
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

pub(super) fn tokenize(source: &str) -> Result<Vec<Token>, QueryError> {
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

    /// A quoted string starting at the current position (which holds the
    /// quote: `"`, `'`, or a back quote around a key).
    fn string(&mut self) -> Result<String, QueryError> {
        let quote = self.chars[self.pos];
        let open = self.pos + 1;
        let unterminated = match quote {
            '`' => "unterminated key: missing closing back quote".to_owned(),
            _ => format!("unterminated string: missing closing `{quote}`"),
        };
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
            "like" => return Ok(TokenKind::Like),
            "ilike" => return Ok(TokenKind::ILike),
            "in" => return Ok(TokenKind::In),
            "is" => return Ok(TokenKind::Is),
            "null" => return Ok(TokenKind::Null),
            _ => {}
        }
        loop {
            let key = match self.peek(0) {
                // MLflow quotes a key with back quotes (or double quotes):
                // tags.`mlflow.runName`, params."model class".
                Some('.') if matches!(self.peek(1), Some('`' | '"' | '\'')) => {
                    self.pos += 1;
                    self.string()?
                }
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
            // MLflow's (and SQL's) equality.
            ('=', _) => (TokenKind::Cmp(CmpOp::Eq), 1),
            (',', _) => (TokenKind::Comma, 1),
            ('`', _) => {
                let example = "tags.`mlflow.runName`";
                return fail(
                    column,
                    format!("back quotes go around a key after `.`, e.g. {example}"),
                );
            }
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
