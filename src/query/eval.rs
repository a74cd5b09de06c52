//! The syntax tree of a `--where` expression and its evaluation against one
//! record.

use super::FieldValue;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    /// n-ary, so that long `a or b or c ...` chains do not make the tree deep.
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// A bare field, or `field IS NOT NULL`: the field exists.
    Exists(Field),
    Compare(Operand, CmpOp, Operand),
    /// `field [NOT] LIKE | ILIKE 'pattern'`, SQL's wildcards `%` and `_`.
    Like {
        field: Field,
        pattern: String,
        case_insensitive: bool,
        negated: bool,
    },
    /// `field [NOT] IN (value, …)`.
    In {
        field: Field,
        values: Vec<FieldValue>,
        negated: bool,
    },
}

/// A field as the record is asked for it, and how its value is seen.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field {
    /// The path the lookup receives, e.g. `metrics.accuracy`.
    pub(super) path: String,
    pub(super) view: View,
}

/// How a field's value is seen: MLflow's attributes are regent's fields in
/// MLflow's form (`attributes.status` is `FINISHED`, `attributes.start_time`
/// milliseconds since 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum View {
    AsIs,
    UpperCase,
    EpochMillis,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    Field(Field),
    Literal(FieldValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

pub(super) type Lookup<'a> = &'a dyn Fn(&str) -> Option<FieldValue>;

impl Field {
    pub(super) fn plain(path: impl Into<String>) -> Field {
        Field {
            path: path.into(),
            view: View::AsIs,
        }
    }

    fn get(&self, lookup: Lookup<'_>) -> Option<FieldValue> {
        let value = lookup(&self.path)?;
        match (self.view, value) {
            (View::AsIs, value) => Some(value),
            (View::UpperCase, FieldValue::Text(text)) => {
                Some(FieldValue::Text(text.to_uppercase()))
            }
            (View::EpochMillis, FieldValue::Text(text)) => text
                .parse::<jiff::Timestamp>()
                .ok()
                .map(|t| FieldValue::Number(t.as_millisecond() as f64)),
            (_, value) => Some(value),
        }
    }
}

impl Expr {
    pub(super) fn eval(&self, lookup: Lookup<'_>) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().any(|t| t.eval(lookup)),
            Expr::And(terms) => terms.iter().all(|t| t.eval(lookup)),
            Expr::Not(inner) => !inner.eval(lookup),
            Expr::Exists(field) => field.get(lookup).is_some(),
            Expr::Compare(lhs, op, rhs) => match (lhs.resolve(lookup), rhs.resolve(lookup)) {
                (Some(a), Some(b)) => compare(&a, *op, &b),
                _ => false,
            },
            // As in SQL (and MLflow), a missing field matches neither the
            // condition nor its `NOT` form.
            Expr::Like {
                field,
                pattern,
                case_insensitive,
                negated,
            } => match field.get(lookup) {
                Some(FieldValue::Text(text)) => like(&text, pattern, *case_insensitive) != *negated,
                _ => false,
            },
            Expr::In {
                field,
                values,
                negated,
            } => match field.get(lookup) {
                Some(value) => values.iter().any(|v| compare(&value, CmpOp::Eq, v)) != *negated,
                None => false,
            },
        }
    }

    pub(super) fn collect_fields(&self, out: &mut Vec<String>) {
        let fields: Vec<&Field> = match self {
            Expr::Or(terms) | Expr::And(terms) => {
                terms.iter().for_each(|t| t.collect_fields(out));
                return;
            }
            Expr::Not(inner) => return inner.collect_fields(out),
            Expr::Exists(field) | Expr::Like { field, .. } | Expr::In { field, .. } => {
                vec![field]
            }
            Expr::Compare(lhs, _, rhs) => [lhs, rhs]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Field(field) => Some(field),
                    Operand::Literal(_) => None,
                })
                .collect(),
        };
        for field in fields {
            if !out.contains(&field.path) {
                out.push(field.path.clone());
            }
        }
    }
}

impl Operand {
    fn resolve(&self, lookup: Lookup<'_>) -> Option<FieldValue> {
        match self {
            Operand::Field(field) => field.get(lookup),
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

/// SQL's LIKE: `%` matches any run of characters (also none), `_` exactly
/// one; everything else itself. Greedy matching with one backtrack point,
/// linear in practice and O(text × pattern) at worst, never exponential.
pub(super) fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (text, pattern) = (fold(text), fold(pattern));
    let (mut t, mut p) = (0, 0);
    // The last `%` seen, and where in the text its match ends for now.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('%') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '_' || c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                // Let the last `%` take one more character, and retry.
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}
