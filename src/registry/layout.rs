//! Where each file lives in a registry, and what a path inside one is.

use crate::names::{self, NameKind};

/// The kinds of file a registry holds; each has a schema of the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Config,
    Model { model: String },
    Version { model: String, version: u64 },
    Run { experiment: String, run: String },
}

impl FileKind {
    /// The name of its schema, as `regent schema NAME` takes it.
    pub fn schema_name(&self) -> &'static str {
        match self {
            FileKind::Config => "regent",
            FileKind::Model { .. } => "model",
            FileKind::Version { .. } => "version",
            FileKind::Run { .. } => "run",
        }
    }
}

/// Paths of registry files, relative to the registry's folder, always with `/`.
pub struct Layout;

impl Layout {
    pub const CONFIG: &'static str = "regent.yaml";
    pub const MODELS: &'static str = "models";
    pub const EXPERIMENTS: &'static str = "experiments";

    pub fn model(model: &str) -> String {
        format!("models/{model}/model.yaml")
    }

    pub fn version(model: &str, version: u64) -> String {
        format!("models/{model}/versions/{version}.yaml")
    }

    pub fn run(experiment: &str, run: &str) -> String {
        format!("experiments/{experiment}/{run}.yaml")
    }
}

/// What a path (relative to the registry folder) is, or why it does not belong.
///
/// `Ok(None)` is a path regent ignores: anything outside `models/` and
/// `experiments/` (a README beside `regent.yaml`), and dot-files such as
/// `.gitkeep`. Inside those two folders every other file must be a registry
/// file, so a typo in a file name cannot hide a version from governance.
pub fn classify(path: &str) -> Result<Option<FileKind>, String> {
    if path == Layout::CONFIG {
        return Ok(Some(FileKind::Config));
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts.last().is_some_and(|p| p.starts_with('.')) {
        return Ok(None);
    }
    match parts.as_slice() {
        ["models", model, "model.yaml"] => {
            check(NameKind::Model, model)?;
            Ok(Some(FileKind::Model {
                model: (*model).to_owned(),
            }))
        }
        ["models", model, "versions", file] => {
            check(NameKind::Model, model)?;
            let version = version_from_file_name(file)?;
            Ok(Some(FileKind::Version {
                model: (*model).to_owned(),
                version,
            }))
        }
        ["experiments", experiment, file] => {
            check(NameKind::Experiment, experiment)?;
            let Some(run) = file.strip_suffix(".yaml") else {
                return Err("a run file must be named <run>.yaml".into());
            };
            check(NameKind::Run, run)?;
            Ok(Some(FileKind::Run {
                experiment: (*experiment).to_owned(),
                run: run.to_owned(),
            }))
        }
        [folder @ ("models" | "experiments")] => {
            Err(format!("a file where the {folder}/ folder belongs"))
        }
        ["models", ..] => Err(
            "unexpected file: a model folder holds model.yaml and versions/<n>.yaml only".into(),
        ),
        ["experiments", ..] => {
            Err("unexpected file: runs live at experiments/<experiment>/<run>.yaml".into())
        }
        _ => Ok(None),
    }
}

fn check(kind: NameKind, name: &str) -> Result<(), String> {
    names::check(kind, name).map_err(|e| e.to_string())
}

/// `7.yaml` -> 7. Leading zeros, signs and fractions are refused so that each
/// version has exactly one file name.
fn version_from_file_name(file: &str) -> Result<u64, String> {
    let bad = || format!("version file {file:?} must be named <n>.yaml with n = 1, 2, 3 …");
    let digits = file.strip_suffix(".yaml").ok_or_else(bad)?;
    if digits.is_empty()
        || digits.len() > 10
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    digits.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_registry_paths() {
        assert_eq!(classify("regent.yaml"), Ok(Some(FileKind::Config)));
        assert_eq!(
            classify("models/churn/versions/12.yaml"),
            Ok(Some(FileKind::Version {
                model: "churn".into(),
                version: 12
            }))
        );
        assert_eq!(
            classify("experiments/e1/r-1.yaml"),
            Ok(Some(FileKind::Run {
                experiment: "e1".into(),
                run: "r-1".into()
            }))
        );
        assert_eq!(classify("README.md"), Ok(None));
        assert_eq!(classify("models/.gitkeep"), Ok(None));
    }

    #[test]
    fn refuses_misnamed_files() {
        for bad in [
            "models/churn/versions/07.yaml",
            "models/churn/versions/-1.yaml",
            "models/churn/versions/1.5.yaml",
            "models/churn/versions/x.yaml",
            "models/churn/notes.txt",
            "models/a b/model.yaml",
            "experiments/e/run.yml",
            "experiments/e/sub/run.yaml",
        ] {
            assert!(classify(bad).is_err(), "{bad}");
        }
    }
}
