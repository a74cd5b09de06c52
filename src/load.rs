//! Bytes to a typed registry file, or every problem with its position:
//! size and encoding, YAML syntax, the schema, then the Rust type.

use crate::diagnostic::Diagnostic;
use crate::registry::{self, YamlError};
use crate::schema;
use crate::yaml_location::{self, Step, Target};
use serde::de::DeserializeOwned;

/// The most schema problems reported per file.
pub const MAX_PROBLEMS_PER_FILE: usize = 100;

/// How much text locating a file's problems may read. Locating one problem
/// reads the file from its start up to it, so 100,000 unknown keys (or stage
/// pointers) would take hours, and 100 problems in a 16 MiB file a minute:
/// a file gets `LOCATE_BUDGET_BYTES / its size` located problems (at most
/// [`MAX_PROBLEMS_PER_FILE`], at least 2).
const LOCATE_BUDGET_BYTES: usize = 32 * 1024 * 1024;

/// How many problems of a text of `len` bytes are located.
fn locatable(len: usize) -> usize {
    (LOCATE_BUDGET_BYTES / len.max(1)).clamp(2, MAX_PROBLEMS_PER_FILE)
}

/// A parsed file and its text, kept to place semantic errors found later.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub value: T,
    pub file: String,
    text: String,
    /// Problems located so far (see [`LOCATE_BUDGET_BYTES`]).
    located: std::cell::Cell<usize>,
}

impl<T> Loaded<T> {
    /// A diagnostic at `path` inside this file; past the file's budget for
    /// locating (a file with hundreds of problems), at its start.
    pub fn at(&self, path: &[Step], target: Target, message: impl Into<String>) -> Diagnostic {
        let located = self.located.get();
        let (line, column) = if located < locatable(self.text.len()) {
            self.located.set(located + 1);
            position(&self.text, path, target)
        } else {
            (1, 1)
        };
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
        let shown = locatable(text.len());
        let unshown = violations.len().saturating_sub(shown);
        let mut diagnostics: Vec<Diagnostic> = violations
            .into_iter()
            .take(shown)
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
        if unshown > 0 {
            diagnostics.push(Diagnostic::file_level(
                file,
                format!(
                    "{unshown} more problems in this file are not shown (the first {shown} are)"
                ),
            ));
        }
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
            located: std::cell::Cell::new(0),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{
        ModelFile, RunFile, RunStatus, VersionArtifact, VersionFile, VersionStatus, to_yaml,
    };
    use proptest::collection::btree_map;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Strings YAML treats specially are the interesting ones.
        prop_oneof![
            "\\PC{0,24}",
            "(yes|no|null|~|true|0x1F|1e3|-\\.inf|\\.nan|'|\"|#x|: x|- x|@a|`b|%c)",
            "[ a-z\n\t]{0,16}",
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_./-]{0,12}"
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9_-]{0,20}"
    }

    fn finite() -> impl Strategy<Value = f64> {
        any::<f64>().prop_filter("finite", |f| f.is_finite())
    }

    prop_compose! {
        fn run()(name in name(), experiment in name(), params in btree_map(key(), text(), 0..5),
                 metrics in btree_map(key(), finite(), 0..5), tags in btree_map(key(), text(), 0..3),
                 note in proptest::option::of(text())) -> RunFile {
            RunFile {
                name, experiment, status: RunStatus::Finished,
                start_time: "2026-01-02T03:04:05Z".into(), end_time: None, user: "tester".into(),
                source: None, params, metrics, history: Default::default(), series: Default::default(), artifacts: Vec::new(),
                environment: None, tags, note, extensions: Default::default(),
            }
        }
    }

    prop_compose! {
        fn version()(model in name(), version in 1u64..1_000_000, uri in "[a-z]{2,5}://[a-z/]{1,20}",
                     metrics in btree_map(key(), finite(), 0..5), description in proptest::option::of(text()),
                     tags in btree_map(key(), text(), 0..3)) -> VersionFile {
            VersionFile {
                model, version, created_at: "2026-01-02T03:04:05Z".into(), created_by: "tester".into(),
                run: None, source_commit: None,
                artifact: VersionArtifact { uri, digest: Some(format!("sha256:{}", "ab".repeat(32))), ..Default::default() },
                metrics, params: Default::default(), description, tags, status: VersionStatus::Active,
                status_reason: None, extensions: Default::default(),
            }
        }
    }

    #[test]
    fn reports_at_most_a_hundred_schema_problems_per_file() {
        let keys: String = (0..150).map(|i| format!("k{i}: 1\n")).collect();
        let text = format!("name: m\n{keys}");
        let problems = load::<ModelFile>("model", "m.yaml", text.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 101, "{problems:#?}");
        assert_eq!((problems[0].line, problems[0].column), (1, 1));
        assert_eq!(
            problems[0].message,
            "50 more problems in this file are not shown (the first 100 are)"
        );
        assert!(
            problems[1..]
                .iter()
                .all(|p| p.line > 1 && p.message.starts_with("unknown key `k")),
            "{problems:#?}"
        );
    }

    #[test]
    fn locates_the_problems_of_a_large_file_within_a_budget() {
        // Just under 8 MiB: 4 problems are located (each reads the file up to it).
        let text = format!(
            "name: m\nstages:\n  a: 1\n  b: 1\ndescription: {}\n",
            "x".repeat(8 * 1024 * 1024 - 100)
        );
        let model = load::<ModelFile>("model", "m.yaml", text.as_bytes()).unwrap();
        let positions: Vec<(usize, usize)> = (0..10)
            .map(|i| {
                let stage = if i % 2 == 0 { "a" } else { "b" };
                let d = model.at(
                    &[Step::Key("stages".into()), Step::Key(stage.into())],
                    Target::Key,
                    "x",
                );
                (d.line, d.column)
            })
            .collect();
        assert_eq!(&positions[..4], &[(3, 3), (4, 3)].repeat(2)[..]);
        assert_eq!(&positions[4..], &[(1, 1)].repeat(6)[..]);
    }

    proptest! {
        /// Every file regent writes loads back equal and re-serialises to the same bytes.
        #[test]
        fn run_files_round_trip(run in run()) {
            let text = to_yaml("run", &run).unwrap();
            let loaded = load::<RunFile>("run", "r.yaml", text.as_bytes()).unwrap();
            prop_assert_eq!(&loaded.value, &run);
            prop_assert_eq!(to_yaml("run", &loaded.value).unwrap(), text);
        }

        #[test]
        fn version_files_round_trip(version in version()) {
            let text = to_yaml("version", &version).unwrap();
            let loaded = load::<VersionFile>("version", "1.yaml", text.as_bytes()).unwrap();
            prop_assert_eq!(&loaded.value, &version);
            prop_assert_eq!(to_yaml("version", &loaded.value).unwrap(), text);
        }

        #[test]
        fn model_files_round_trip(name in name(), description in proptest::option::of(text()),
                                  stages in btree_map("[a-z]{1,8}", 1u64..100, 0..3),
                                  aliases in btree_map("[a-z]{1,8}", 1u64..100, 0..3)) {
            let model = ModelFile { name, description, stages, aliases, ..Default::default() };
            let text = to_yaml("model", &model).unwrap();
            let loaded = load::<ModelFile>("model", "model.yaml", text.as_bytes()).unwrap();
            prop_assert_eq!(&loaded.value, &model);
            prop_assert_eq!(to_yaml("model", &loaded.value).unwrap(), text);
        }

        /// Loading arbitrary bytes never panics; it gives a value or located problems.
        #[test]
        fn loading_arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Err(problems) = load::<RunFile>("run", "r.yaml", &bytes) {
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| p.line >= 1 && p.column >= 1));
            }
        }
    }
}
