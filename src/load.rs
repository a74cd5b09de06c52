//! Bytes to a typed registry file, or every problem with its position:
//! size and encoding, YAML syntax, the schema, then the Rust type.

use crate::diagnostic::Diagnostic;
use crate::registry::{self, YamlError};
use crate::schema;
use crate::yaml_location::{self, Step, Target};
use serde::de::DeserializeOwned;

/// A parsed file and its text, kept to place semantic errors found later.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub value: T,
    pub file: String,
    text: String,
}

impl<T> Loaded<T> {
    /// A diagnostic at `path` inside this file.
    pub fn at(&self, path: &[Step], target: Target, message: impl Into<String>) -> Diagnostic {
        let (line, column) = position(&self.text, path, target);
        Diagnostic::new(self.file.clone(), line, column, message)
    }

    /// A diagnostic at the value of top-level `key`.
    pub fn at_key(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        self.at(&[Step::Key(key.to_owned())], Target::Value, message)
    }
}

/// Loads `bytes` as the file `file` (shown in diagnostics) checked against the
/// schema `schema_name`.
pub fn load<T: DeserializeOwned>(
    schema_name: &str,
    file: &str,
    bytes: &[u8],
) -> Result<Loaded<T>, Vec<Diagnostic>> {
    let text = registry::text_of(bytes).map_err(|e| vec![yaml_diagnostic(file, "", e)])?;
    let value = registry::parse_value(text).map_err(|e| vec![yaml_diagnostic(file, text, e)])?;
    let violations = schema::validate(schema_name, &value);
    if !violations.is_empty() {
        let mut diagnostics: Vec<Diagnostic> = violations
            .into_iter()
            .map(|v| {
                let path = yaml_location::pointer_steps(&v.pointer);
                let (line, column) = match &v.unknown_key {
                    Some(key) => {
                        let mut path = path;
                        path.push(Step::Key(key.clone()));
                        position(text, &path, Target::Key)
                    }
                    None => position(text, &path, Target::Value),
                };
                Diagnostic::new(file, line, column, v.message)
            })
            .collect();
        crate::diagnostic::normalize(&mut diagnostics);
        return Err(diagnostics);
    }
    // JSON Schema calls 1.0 an integer; Rust does not. serde_path_to_error
    // says where such a mismatch is, so it is reported at its line too.
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(value) => Ok(Loaded {
            value,
            file: file.to_owned(),
            text: text.to_owned(),
        }),
        Err(e) => {
            let path: Vec<Step> = e
                .path()
                .iter()
                .filter_map(|segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
                    serde_path_to_error::Segment::Enum { variant } => {
                        Some(Step::Key(variant.clone()))
                    }
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let (line, column) = position(text, &path, Target::Value);
            let message = e.into_inner().to_string();
            let message = if message.contains("floating point") {
                format!("{message} (write a whole number without a decimal point)")
            } else {
                message
            };
            Err(vec![Diagnostic::new(file, line, column, message)])
        }
    }
}

/// A [`YamlError`] as a diagnostic, located in `text` when needed.
pub fn yaml_diagnostic(file: &str, text: &str, error: YamlError) -> Diagnostic {
    match error {
        YamlError::At {
            line,
            column,
            message,
        } => Diagnostic::new(file, line, column, message),
        YamlError::AtPath { path, message } => {
            let (line, column) = position(text, &path, Target::Value);
            Diagnostic::new(file, line, column, message)
        }
        YamlError::DuplicateKey { key, line, column } => {
            let (line, column) = yaml_location::find_duplicate_key(text, &key)
                .map_or((line, column), |l| (l.line, l.column));
            Diagnostic::new(file, line, column, format!("duplicate key `{key}`"))
        }
    }
}

fn position(text: &str, path: &[Step], target: Target) -> (usize, usize) {
    yaml_location::locate(text, path, target).map_or((1, 1), |l| (l.line, l.column))
}
