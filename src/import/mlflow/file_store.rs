//! MLflow's file store, as MLflow 3 writes it (`MLFLOW_ALLOW_FILE_STORE=true`):
//!
//! ```text
//! mlruns/<experiment id>/meta.yaml                 name, lifecycle_stage
//! mlruns/<experiment id>/<run id>/meta.yaml        run_name, status (1-5), times, user_id, artifact_uri
//! mlruns/<experiment id>/<run id>/params/<key>     the value
//! mlruns/<experiment id>/<run id>/metrics/<key>    lines "timestamp value step"
//! mlruns/<experiment id>/<run id>/tags/<key>       the value
//! mlruns/.trash/<experiment id>/                   deleted experiments
//! mlruns/models/<name>/meta.yaml                   description, timestamps, aliases
//! mlruns/models/<name>/tags/<key>, aliases/<alias> (the version)
//! mlruns/models/<name>/version-<n>/meta.yaml       current_stage, source, run_id, status, …
//! mlruns/models/<name>/version-<n>/tags/<key>
//! ```
//!
//! Keys with `/` are nested folders. Other folders in an experiment
//! (`models/` of logged models, `datasets/`, `traces/`) are not runs.

use super::{Raw, RawExperiment, RawModel, RawRun, RawVersion};
use crate::import::ImportError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub(super) fn read(mlruns: &Path) -> Result<Raw, ImportError> {
    if !mlruns.is_dir() {
        return Err(ImportError::Source(format!(
            "{}: no such folder (an MLflow file store is the `mlruns` folder MLflow wrote)",
            mlruns.display()
        )));
    }
    let mut experiments = Vec::new();
    for (dir, deleted) in [(mlruns.to_path_buf(), false), (mlruns.join(".trash"), true)] {
        for entry in sorted_dirs(&dir)? {
            let meta = entry.join("meta.yaml");
            if !meta.is_file() || entry.file_name().is_some_and(|n| n == "models") {
                continue;
            }
            let value = read_yaml(&meta)?;
            let experiment = RawExperiment {
                id: text(&value, "experiment_id").unwrap_or_else(|| file_name(&entry)),
                name: text(&value, "name").ok_or_else(|| missing(&meta, "name"))?,
                deleted: deleted || text(&value, "lifecycle_stage").as_deref() == Some("deleted"),
            };
            let mut runs = Vec::new();
            for run_dir in sorted_dirs(&entry)? {
                let run_meta = run_dir.join("meta.yaml");
                if !run_meta.is_file() {
                    continue;
                }
                let value = read_yaml(&run_meta)?;
                // Logged models, datasets and traces have a meta.yaml too.
                if text(&value, "run_id").is_none() && text(&value, "run_uuid").is_none() {
                    continue;
                }
                runs.push(read_run(&run_dir, &run_meta, &value)?);
            }
            experiments.push((experiment, runs));
        }
    }
    Ok(Raw {
        experiments,
        models: read_models(&mlruns.join("models"))?,
    })
}

fn read_run(dir: &Path, meta: &Path, value: &Value) -> Result<RawRun, ImportError> {
    let status = match value.get("status").and_then(Value::as_i64) {
        Some(1) => "RUNNING",
        Some(2) => "SCHEDULED",
        Some(3) => "FINISHED",
        Some(4) => "FAILED",
        Some(5) => "KILLED",
        _ => return Err(bad(meta, "status", "a number from 1 to 5")),
    };
    let mut metrics = BTreeMap::new();
    for (key, file) in keyed_files(&dir.join("metrics"))? {
        let text = std::fs::read_to_string(&file)
            .map_err(ImportError::io(format!("reading {}", file.display())))?;
        let mut points = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let parsed = match fields.as_slice() {
                [ts, value] => ts
                    .parse()
                    .ok()
                    .zip(value.parse().ok())
                    .map(|(t, v)| (t, v, 0)),
                [ts, value, step] => ts
                    .parse()
                    .ok()
                    .zip(value.parse().ok())
                    .zip(step.parse().ok())
                    .map(|((t, v), s)| (t, v, s)),
                _ => None,
            };
            points.push(parsed.ok_or_else(|| {
                ImportError::Source(format!(
                    "{}:{}: expected \"timestamp value step\", found {line:?}",
                    file.display(),
                    i + 1
                ))
            })?);
        }
        metrics.insert(key, points);
    }
    Ok(RawRun {
        id: text(value, "run_id")
            .or_else(|| text(value, "run_uuid"))
            .unwrap_or_else(|| file_name(dir)),
        name: text(value, "run_name"),
        status: status.to_owned(),
        start_ms: value.get("start_time").and_then(Value::as_i64),
        end_ms: value.get("end_time").and_then(Value::as_i64),
        user: text(value, "user_id"),
        deleted: text(value, "lifecycle_stage").as_deref() == Some("deleted"),
        artifact_uri: text(value, "artifact_uri"),
        downloaded: None,
        params: read_values(&dir.join("params"))?,
        tags: read_values(&dir.join("tags"))?,
        metrics,
    })
}

fn read_models(dir: &Path) -> Result<Vec<RawModel>, ImportError> {
    let mut models = Vec::new();
    if !dir.is_dir() {
        return Ok(models);
    }
    for model_dir in sorted_dirs(dir)? {
        let meta = model_dir.join("meta.yaml");
        if !meta.is_file() {
            continue;
        }
        let value = read_yaml(&meta)?;
        let mut aliases = BTreeMap::new();
        for (alias, version) in read_values(&model_dir.join("aliases"))? {
            let number = version.trim().parse().map_err(|_| {
                bad(
                    &model_dir.join("aliases").join(&alias),
                    "",
                    "a version number",
                )
            })?;
            aliases.insert(alias, number);
        }
        let mut versions = Vec::new();
        for version_dir in sorted_dirs(&model_dir)? {
            if !file_name(&version_dir).starts_with("version-") {
                continue;
            }
            let meta = version_dir.join("meta.yaml");
            let v = read_yaml(&meta)?;
            versions.push(RawVersion {
                version: v
                    .get("version")
                    .and_then(|n| n.as_u64().or_else(|| n.as_str()?.parse().ok()))
                    .ok_or_else(|| bad(&meta, "version", "a version number"))?,
                created_ms: v.get("creation_timestamp").and_then(Value::as_i64),
                updated_ms: v.get("last_updated_timestamp").and_then(Value::as_i64),
                description: text(&v, "description"),
                user: text(&v, "user_id"),
                stage: text(&v, "current_stage"),
                source: text(&v, "source"),
                run_id: text(&v, "run_id"),
                status: text(&v, "status"),
                storage_location: text(&v, "storage_location"),
                tags: read_values(&version_dir.join("tags"))?,
            });
        }
        models.push(RawModel {
            name: text(&value, "name").ok_or_else(|| missing(&meta, "name"))?,
            description: text(&value, "description"),
            created_ms: value.get("creation_timestamp").and_then(Value::as_i64),
            updated_ms: value.get("last_updated_timestamp").and_then(Value::as_i64),
            tags: read_values(&model_dir.join("tags"))?,
            aliases,
            versions,
        });
    }
    Ok(models)
}

fn read_yaml(path: &Path) -> Result<Value, ImportError> {
    let bytes =
        std::fs::read(path).map_err(ImportError::io(format!("reading {}", path.display())))?;
    let value = crate::import::parse_yaml(&bytes, &path.display().to_string())?;
    if !value.is_object() {
        return Err(ImportError::Source(format!(
            "{}: not a valid meta.yaml: expected a mapping of fields",
            path.display()
        )));
    }
    Ok(value)
}

/// A string field (numbers as text, null and absent as None).
fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn missing(path: &Path, key: &str) -> ImportError {
    ImportError::Source(format!(
        "{}: not a valid meta.yaml: no `{key}`",
        path.display()
    ))
}

fn bad(path: &Path, key: &str, expected: &str) -> ImportError {
    let field = if key.is_empty() {
        String::new()
    } else {
        format!(" `{key}`")
    };
    ImportError::Source(format!(
        "{}: invalid{field}: expected {expected}",
        path.display()
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The sub-folders of `dir`, by name; none when it does not exist.
fn sorted_dirs(dir: &Path) -> Result<Vec<std::path::PathBuf>, ImportError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map_err(ImportError::io(format!("listing {}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    Ok(out)
}

/// Every file under `dir`, keyed by its path below it with `/` (MLflow
/// stores a key `a/b` as the file `a/b`).
fn keyed_files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, ImportError> {
    let mut out = Vec::new();
    let mut pending = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, folder)) = pending.pop() {
        if !folder.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&folder)
            .map_err(ImportError::io(format!("listing {}", folder.display())))?
            .flatten()
        {
            let key = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let path = entry.path();
            if path.is_dir() {
                pending.push((format!("{key}/"), path));
            } else {
                out.push((key, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every `key -> value` file under `dir` (params, tags, aliases).
fn read_values(dir: &Path) -> Result<BTreeMap<String, String>, ImportError> {
    keyed_files(dir)?
        .into_iter()
        .map(|(key, path)| {
            let value = std::fs::read_to_string(&path)
                .map_err(ImportError::io(format!("reading {}", path.display())))?;
            Ok((key, value))
        })
        .collect()
}
