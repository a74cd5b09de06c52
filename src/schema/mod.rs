//! The JSON Schemas of the registry's files, embedded in the binary and
//! compiled at most once per process (lazily: a command that reads only run
//! files never compiles the others).

mod words;

use std::sync::OnceLock;

/// A schema violation: where (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// RFC 6901 pointer to the offending value.
    pub pointer: String,
    /// For an unknown key, the key itself, so it can be pointed at.
    pub unknown_key: Option<String>,
    pub message: String,
}

/// Name, source and compiled validator of one schema.
struct Embedded {
    name: &'static str,
    source: &'static str,
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
}

macro_rules! embedded {
    ($name:literal) => {
        Embedded {
            name: $name,
            source: include_str!(concat!("../../schemas/", $name, ".schema.json")),
            compiled: OnceLock::new(),
        }
    };
}

static SCHEMAS: [Embedded; 4] = [
    embedded!("regent"),
    embedded!("model"),
    embedded!("version"),
    embedded!("run"),
];

/// The names `regent schema` accepts, in the order it lists them.
pub fn names() -> impl Iterator<Item = &'static str> {
    SCHEMAS.iter().map(|s| s.name)
}

/// The schema's JSON text, as shipped.
pub fn source(name: &str) -> Option<&'static str> {
    find(name).map(|s| s.source)
}

/// The `$id` of a schema; the modeline of written files points at it.
pub fn schema_id(name: &str) -> String {
    format!("https://regent.dev/schemas/1/{name}.schema.json")
}

fn find(name: &str) -> Option<&'static Embedded> {
    SCHEMAS.iter().find(|s| s.name == name)
}

fn validator(name: &str) -> Result<&'static jsonschema::Validator, String> {
    let embedded = find(name).ok_or_else(|| format!("no schema named {name:?}"))?;
    embedded
        .compiled
        .get_or_init(|| {
            let schema: serde_json::Value =
                serde_json::from_str(embedded.source).map_err(|e| e.to_string())?;
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                // RFC 3339, and also the form PyYAML writes back a time it
                // read (`2026-11-29 11:34:49+00:00`): a file a Python script
                // loaded and dumped again must still validate.
                .with_format("date-time", |text: &str| crate::time::parse(text).is_some())
                .build(&schema)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| format!("the embedded schema {name:?} does not compile: {e}"))
}

/// Every violation of schema `name` in `instance` (empty when valid).
pub fn validate(name: &str, instance: &serde_json::Value) -> Vec<Violation> {
    let validator = match validator(name) {
        Ok(v) => v,
        Err(message) => {
            return vec![Violation {
                pointer: String::new(),
                unknown_key: None,
                message,
            }];
        }
    };
    if validator.is_valid(instance) {
        return Vec::new();
    }
    let schema = find(name)
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e.source).ok())
        .unwrap_or_default();
    let mut out = Vec::new();
    for error in validator.iter_errors(instance) {
        let pointer = error.instance_path().to_string();
        match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = words::allowed_keys(&schema, &error.schema_path().to_string());
                for key in unexpected {
                    let suggestion =
                        crate::suggest::did_you_mean(key, allowed.iter().map(String::as_str))
                            .map(|s| format!(": {s}"))
                            .unwrap_or_default();
                    out.push(Violation {
                        pointer: pointer.clone(),
                        unknown_key: Some(key.clone()),
                        message: format!(
                            "unknown key `{key}`{suggestion} (keys of your own must start with `x-`; `regent schema {name}` shows the allowed ones)"
                        ),
                    });
                }
            }
            jsonschema::error::ValidationErrorKind::Required { property } => out.push(Violation {
                pointer,
                unknown_key: None,
                message: format!("missing required key {property}"),
            }),
            kind => out.push(Violation {
                message: words::describe(kind, error.instance(), &pointer)
                    .unwrap_or_else(|| error.to_string()),
                pointer,
                unknown_key: None,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_embedded_schema_compiles() {
        for name in names() {
            validator(name).unwrap();
        }
    }

    #[test]
    fn unknown_keys_are_errors_but_x_keys_are_free() {
        let ok = json!({"name": "churn", "x-team": {"any": "thing"}});
        assert!(validate("model", &ok).is_empty());
        let bad = json!({"name": "churn", "stagse": {}});
        let v = validate("model", &bad);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].unknown_key.as_deref(), Some("stagse"));
    }

    #[test]
    fn formats_and_patterns_are_checked() {
        let run = json!({"name": "r", "experiment": "e", "status": "finished",
            "start_time": "yesterday", "user": "a"});
        let v = validate("run", &run);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].pointer, "/start_time");
        let version = json!({"model": "m", "version": 1, "created_at": "2026-01-01T00:00:00Z",
            "created_by": "a", "status": "active", "artifact": {"uri": "s3://x", "digest": "sha256:XYZ"}});
        let v = validate("version", &version);
        assert_eq!(v[0].pointer, "/artifact/digest", "{v:?}");
    }
}
