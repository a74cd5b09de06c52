//! The parser of a `--where` expression:
//!
//! ```text
//! or      := and (("or" | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | primary
//! primary := "(" or ")" | operand [cmp operand]
//!          | field ["not"] ("like" | "ilike") string
//!          | field ["not"] "in" "(" literal ("," literal)* ")"
//!          | field "is" ["not"] "null"
//! operand := field | number | string | "true" | "false"
//! ```

use super::eval::{Expr, Field, Operand};
use super::lexer::{Token, TokenKind};
use super::{FieldValue, MAX_DEPTH, QueryError, fail};

pub(super) struct Parser {
    pub(super) tokens: Vec<Token>,
    pub(super) pos: usize,
    /// Current nesting of parentheses and `not`s.
    pub(super) depth: usize,
    /// Column just past the last token, for "end of input" errors.
    pub(super) end_column: usize,
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Token> {
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

    pub(super) fn parse_or(&mut self) -> Result<Expr, QueryError> {
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
        let Some((lhs, lhs_token)) = self.parse_operand()? else {
            return Err(self.expected_condition());
        };
        // `field NOT IN (…)`, `field NOT LIKE '…'`: SQL's infix negation.
        let negated = self.peek_kind() == Some(&TokenKind::Not)
            && matches!(
                self.tokens.get(self.pos + 1).map(|t| &t.kind),
                Some(TokenKind::In | TokenKind::Like | TokenKind::ILike)
            );
        self.pos += usize::from(negated);
        let sql = matches!(
            self.peek_kind(),
            Some(TokenKind::Like | TokenKind::ILike | TokenKind::In | TokenKind::Is)
        );
        if sql {
            let Operand::Field(field) = lhs else {
                let keyword = self.tokens[self.pos].text.clone();
                return fail(
                    lhs_token.column,
                    format!(
                        "expected a field before `{keyword}`, found `{}`",
                        lhs_token.text
                    ),
                );
            };
            return self.parse_sql(field, negated);
        }
        let Some(TokenKind::Cmp(op)) = self.peek_kind().cloned() else {
            return match lhs {
                Operand::Field(field) => Ok(Expr::Exists(field)),
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
        let Some((rhs, _)) = self.parse_operand()? else {
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

    /// MLflow's (SQL's) conditions on a field: `LIKE`, `ILIKE`, `IN (…)`,
    /// `IS [NOT] NULL`; the current token is the keyword.
    fn parse_sql(&mut self, field: Field, negated: bool) -> Result<Expr, QueryError> {
        let keyword = self.tokens[self.pos].clone();
        self.pos += 1;
        match keyword.kind {
            TokenKind::Like | TokenKind::ILike => match self.peek().cloned() {
                Some(Token {
                    kind: TokenKind::Literal(FieldValue::Text(pattern)),
                    ..
                }) => {
                    self.pos += 1;
                    Ok(Expr::Like {
                        field,
                        pattern,
                        case_insensitive: keyword.kind == TokenKind::ILike,
                        negated,
                    })
                }
                _ => fail(
                    self.column(),
                    format!(
                        "expected a quoted pattern after `{}`, e.g. '%adam%'",
                        keyword.text
                    ),
                ),
            },
            TokenKind::In => {
                if !self.eat(&TokenKind::LParen) {
                    return fail(
                        self.column(),
                        format!("expected `(` after `{}`, e.g. IN ('a', 'b')", keyword.text),
                    );
                }
                let mut values = Vec::new();
                loop {
                    match self.peek().cloned() {
                        Some(Token {
                            kind: TokenKind::Literal(value),
                            ..
                        }) => {
                            self.pos += 1;
                            values.push(value);
                        }
                        _ => return fail(self.column(), "expected a value in the `IN` list"),
                    }
                    if self.eat(&TokenKind::RParen) {
                        return Ok(Expr::In {
                            field,
                            values,
                            negated,
                        });
                    }
                    if !self.eat(&TokenKind::Comma) {
                        return fail(
                            self.column(),
                            "expected `,` or `)` in the `IN` list".to_owned(),
                        );
                    }
                }
            }
            _ => {
                let not = self.eat(&TokenKind::Not);
                if !self.eat(&TokenKind::Null) {
                    return fail(self.column(), "expected `NULL` or `NOT NULL` after `IS`");
                }
                let exists = Expr::Exists(field);
                Ok(if not {
                    exists
                } else {
                    Expr::Not(Box::new(exists))
                })
            }
        }
    }

    /// A field or a literal, or None when the next token is neither. A
    /// field is resolved here (MLflow's names to regent's, `super::names`).
    fn parse_operand(&mut self) -> Result<Option<(Operand, Token)>, QueryError> {
        let Some(token) = self.peek().cloned() else {
            return Ok(None);
        };
        let operand = match &token.kind {
            TokenKind::Field(path) => Operand::Field(super::names::resolve(path, token.column)?),
            TokenKind::Literal(value) => Operand::Literal(value.clone()),
            TokenKind::Null => {
                return fail(
                    token.column,
                    "`NULL` is not a value: test a field with `IS NULL` or `IS NOT NULL`",
                );
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some((operand, token)))
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
