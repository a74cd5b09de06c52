//! Schema violations in plain words: what the value should be, never the
//! schema's own vocabulary (`anyOf`, a regular expression).

use crate::names::{self, NameKind};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

/// The keys the schema allows where an unknown key was found:
/// `schema_path` ends in `additionalProperties`; its object's `properties`.
pub(super) fn allowed_keys(schema: &Value, schema_path: &str) -> Vec<String> {
    let object = schema_path
        .strip_suffix("/additionalProperties")
        .and_then(|parent| schema.pointer(parent));
    object
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// A sentence for a violation, or None to keep the validator's own.
pub(super) fn describe(kind: &ValidationErrorKind, value: &Value, pointer: &str) -> Option<String> {
    let text = value.as_str().unwrap_or_default();
    Some(match kind {
        // A key that breaks a naming rule (an alias or a stage of a model).
        ValidationErrorKind::PropertyNames { error } => {
            return describe(error.kind(), error.instance(), pointer);
        }
        ValidationErrorKind::Pattern { pattern } => match pattern.as_str() {
            "^[a-z][a-z0-9_-]{0,31}$" => {
                let kind = if pointer.contains("/aliases") {
                    NameKind::Alias
                } else {
                    NameKind::Stage
                };
                name_problem(kind, text)
            }
            "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$" => name_problem(NameKind::Model, text),
            p if p.contains("}/[A-Za-z0-9]") && p.starts_with("^[A-Za-z0-9]") => format!(
                "{text:?} is not EXPERIMENT/RUN: two names (ASCII letters, digits, `.`, `_`, `-`) joined by `/`"
            ),
            p if p.starts_with("^(@") => {
                format!("{text:?} is neither a GitHub login (`alice`) nor a team (`@org/team`)")
            }
            "^([0-9a-f]{40}|[0-9a-f]{64})$" => {
                format!("{text:?} is not a full commit id (40 or 64 lowercase hexadecimal digits)")
            }
            "^sha256:[0-9a-f]{64}$" => {
                format!("{text:?} is not a digest: `sha256:` and 64 lowercase hexadecimal digits")
            }
            _ => return None,
        },
        // The only `not` in the schemas: names without `..`.
        ValidationErrorKind::Not { .. } => format!("{text:?} contains `..`, which no name may"),
        ValidationErrorKind::AnyOf { .. } if pointer.contains("/gates/") => {
            "a gate needs `min`, `max` or `max_regression` besides its `metric`".into()
        }
        ValidationErrorKind::AnyOf { .. } if pointer.contains("/artifacts/") => {
            "an artifact needs a `path` or a `uri`".into()
        }
        ValidationErrorKind::Enum { options } => {
            let options = options
                .as_array()
                .map(|o| {
                    o.iter()
                        .map(|v| {
                            v.as_str()
                                .map_or_else(|| v.to_string(), |s| format!("`{s}`"))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            format!("{} is not one of {options}", shown(value))
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => article(&t.to_string()),
                TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| article(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("expected {expected}, found {}", found(value))
        }
        _ => return None,
    })
}

/// `invalid stage name "Staging": it starts with `S`, …` in words.
fn name_problem(kind: NameKind, text: &str) -> String {
    match names::check(kind, text) {
        Err(e) => e.to_string(),
        Ok(()) => format!(
            "invalid {} name {text:?}; {} names are {}",
            kind.as_str(),
            kind.as_str(),
            kind.rule()
        ),
    }
}

fn article(type_name: &str) -> String {
    match type_name {
        "integer" => "an integer".into(),
        "array" => "a list".into(),
        "object" => "a mapping".into(),
        "null" => "nothing (null)".into(),
        other => format!("a {other}"),
    }
}

fn found(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}
