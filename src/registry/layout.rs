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

    /// `experiments/<experiment>/<shard>/<run>.yaml`, `<shard>` being
    /// [`Layout::run_shard`]. Git stores each version of a folder as one whole
    /// tree object, so a flat folder of N runs makes every `run log` write and
    /// every history walk read N entries per commit (N² in all); 256 shard
    /// folders keep each commit's trees small up to millions of runs.
    pub fn run(experiment: &str, run: &str) -> String {
        format!(
            "experiments/{experiment}/{}/{run}.yaml",
            Layout::run_shard(run)
        )
    }

    /// The shard folder of a run: the first two hex digits of the SHA-256 of
    /// its name (`printf %s NAME | sha256sum | cut -c1-2`).
    pub fn run_shard(run: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(run.as_bytes());
        format!("{:02x}", digest[0])
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
        ["experiments", experiment, shard, file] => {
            check(NameKind::Experiment, experiment)?;
            let run = run_from_file_name(file)?;
            let expected = Layout::run_shard(run);
            if *shard != expected {
                return Err(format!(
                    "run `{run}` belongs in {} (its folder is the first two hex digits \
                     of the SHA-256 of its name)",
                    Layout::run(experiment, run)
                ));
            }
            Ok(Some(FileKind::Run {
                experiment: (*experiment).to_owned(),
                run: run.to_owned(),
            }))
        }
        ["experiments", experiment, file] => {
            check(NameKind::Experiment, experiment)?;
            let run = run_from_file_name(file)?;
            Err(format!(
                "runs live at experiments/<experiment>/<shard>/<run>.yaml: move this file \
                 to {}",
                Layout::run(experiment, run)
            ))
        }
        [folder @ ("models" | "experiments")] => {
            Err(format!("a file where the {folder}/ folder belongs"))
        }
        ["models", ..] => Err(
            "unexpected file: a model folder holds model.yaml and versions/<n>.yaml only".into(),
        ),
        ["experiments", ..] => {
            Err("unexpected file: runs live at experiments/<experiment>/<shard>/<run>.yaml".into())
        }
        _ => Ok(None),
    }
}

fn check(kind: NameKind, name: &str) -> Result<(), String> {
    names::check(kind, name).map_err(|e| e.to_string())
}

/// `r1.yaml` -> `r1`, a valid run name.
fn run_from_file_name(file: &str) -> Result<&str, String> {
    let Some(run) = file.strip_suffix(".yaml") else {
        return Err("a run file must be named <run>.yaml".into());
    };
    check(NameKind::Run, run)?;
    Ok(run)
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
        assert_eq!(Layout::run("e1", "r-1"), "experiments/e1/a5/r-1.yaml");
        assert_eq!(
            classify("experiments/e1/a5/r-1.yaml"),
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
            "experiments/e/a5/run.yml",
            "experiments/e/r-1.yaml",
            "experiments/e/00/r-1.yaml",
            "experiments/e/a5/sub/r-1.yaml",
        ] {
            assert!(classify(bad).is_err(), "{bad}");
        }
    }
}
