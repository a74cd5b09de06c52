//! MLflow as a source: its file store (`mlruns/`), its SQLite store
//! (`sqlite:///…`) or a tracking server (`http(s)://…`). Each reader turns
//! its store into the same raw records (what MLflow itself keeps); this
//! module maps them to regent's, in one place for the three:
//!
//! - a run's `mlflow.runName`, `mlflow.user`, `mlflow.note.content` and
//!   `mlflow.source.git.{commit,branch,repoURL}` tags become its name, user,
//!   note and source; its other tags are kept as tags;
//! - a metric's points become its history (oldest first by step, then time)
//!   and its last one its value, as MLflow's "latest" is;
//! - a version's stage `Staging`/`Production` becomes a promotion to
//!   `staging`/`production` at its last update, `Archived` an archival, and
//!   an alias an alias event at the model's last update (MLflow keeps no
//!   time for either; nor who made them: their actor is `unknown`).
//!
//! Deleted experiments, runs and versions, NaN metric values and versions
//! whose registration failed are left out and reported.

mod file_store;
mod server;
mod sqlite;

use super::{
    ArtifactSource, ImportError, Source, SourceEvent, SourceExperiment, SourceModel, SourceRun,
    SourceVersion, Step, from_millis,
};
use crate::registry::{MetricPoint, RunSource, RunStatus};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An experiment as MLflow keeps it.
#[derive(Debug, Clone)]
struct RawExperiment {
    id: String,
    name: String,
    deleted: bool,
}

/// A run as MLflow keeps it.
#[derive(Debug, Clone, Default)]
struct RawRun {
    id: String,
    name: Option<String>,
    /// `FINISHED`, `RUNNING`, … (the file store's numbers are mapped by its reader).
    status: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    user: Option<String>,
    deleted: bool,
    artifact_uri: Option<String>,
    /// Where the reader downloaded the run's artifacts to (a server's).
    downloaded: Option<PathBuf>,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    /// Per metric: (timestamp ms, value, step), in any order.
    metrics: BTreeMap<String, Vec<(i64, f64, i64)>>,
}

/// A registered model as MLflow keeps it.
#[derive(Debug, Clone, Default)]
struct RawModel {
    name: String,
    description: Option<String>,
    created_ms: Option<i64>,
    updated_ms: Option<i64>,
    tags: BTreeMap<String, String>,
    aliases: BTreeMap<String, u64>,
    versions: Vec<RawVersion>,
}

#[derive(Debug, Clone, Default)]
struct RawVersion {
    version: u64,
    created_ms: Option<i64>,
    updated_ms: Option<i64>,
    description: Option<String>,
    user: Option<String>,
    /// `None`, `Staging`, `Production`, `Archived` (or the file store's
    /// `Deleted_Internal`).
    stage: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    /// `READY`, `PENDING_REGISTRATION`, `FAILED_REGISTRATION`.
    status: Option<String>,
    storage_location: Option<String>,
    tags: BTreeMap<String, String>,
}

/// What every reader gives: the store's records.
struct Raw {
    experiments: Vec<(RawExperiment, Vec<RawRun>)>,
    models: Vec<RawModel>,
}

/// Reads the MLflow store at `location` (a folder, `file://…`,
/// `sqlite:///…` or `http(s)://…`), relative paths taken from `cwd`. With
/// `copy`, a tracking server's run artifacts are downloaded (to be stored).
pub fn read(location: &str, cwd: &Path, copy: bool) -> Result<Source, ImportError> {
    let shown = crate::git::strip_credentials(location);
    let mut scratch = None;
    let (raw, mlruns) = if let Some(path) = location.strip_prefix("sqlite:///") {
        (sqlite::read(&cwd.join(path))?, None)
    } else if location.starts_with("http://") || location.starts_with("https://") {
        let download = if copy {
            let dir = tempfile::tempdir().map_err(ImportError::io(
                "creating a folder for the server's artifacts",
            ))?;
            Some(scratch.insert(dir).path().to_path_buf())
        } else {
            None
        };
        (server::read(location, download.as_deref())?, None)
    } else {
        let path = match location.strip_prefix("file://") {
            Some(rest) => PathBuf::from(rest),
            None => cwd.join(location),
        };
        (file_store::read(&path)?, Some(path))
    };
    let artifacts = Artifacts {
        mlruns: mlruns.as_deref(),
        remote: location.starts_with("http"),
    };
    let mut source = to_source(raw, &shown, &artifacts);
    source.scratch.extend(scratch);
    Ok(source)
}

/// Where a store's artifacts are, for telling local ones from URIs.
struct Artifacts<'a> {
    /// The file store's folder: a run's artifacts are found beside its
    /// meta.yaml when its recorded location is elsewhere (a moved `mlruns/`).
    mlruns: Option<&'a Path>,
    /// A tracking server: its paths are on the server, never local.
    remote: bool,
}

impl Artifacts<'_> {
    /// A local folder for an artifact URI, if it is one that exists here.
    fn local(&self, uri: &str) -> Option<PathBuf> {
        if self.remote {
            return None;
        }
        let path = match uri.strip_prefix("file://") {
            Some(rest) => PathBuf::from(rest),
            None if uri.starts_with('/') => PathBuf::from(uri),
            None => return None,
        };
        path.exists().then_some(path)
    }

    /// Where a run's artifacts are: here (its recorded location, or beside
    /// its meta.yaml in a moved `mlruns/`), elsewhere (a URI), or nowhere
    /// to be found.
    fn run_root(&self, experiment: &str, run: &RawRun) -> Root {
        if let Some(downloaded) = &run.downloaded {
            return Root::Local(downloaded.clone());
        }
        let uri = run.artifact_uri.as_deref().unwrap_or_default();
        if let Some(path) = self.local(uri) {
            return Root::Local(path);
        }
        if let Some(mlruns) = self.mlruns {
            let beside = mlruns.join(experiment).join(&run.id).join("artifacts");
            if beside.is_dir() {
                return Root::Local(beside);
            }
        }
        let elsewhere = self.remote || (crate::runs::is_uri(uri) && !uri.starts_with("file:"));
        if elsewhere {
            Root::Remote(crate::git::strip_credentials(uri))
        } else {
            Root::Missing
        }
    }
}

/// Where a run's artifacts are.
#[derive(Debug, Clone)]
enum Root {
    Local(PathBuf),
    Remote(String),
    Missing,
}

/// What the versions need to know of each run: its user and its artifacts.
type RunIndex = BTreeMap<String, (String, Root)>;

fn to_source(raw: Raw, shown: &str, artifacts: &Artifacts<'_>) -> Source {
    let mut source = Source {
        kind: "mlflow",
        location: shown.to_owned(),
        ..Source::default()
    };
    let mut deleted_runs = 0;
    let mut dropped_points = 0;
    let mut runs = RunIndex::new();
    for (experiment, raw_runs) in raw.experiments {
        if experiment.deleted {
            source.skipped.push(format!(
                "experiment {:?}: deleted in MLflow ({} runs)",
                experiment.name,
                raw_runs.len()
            ));
            continue;
        }
        let mut out = Vec::new();
        for raw_run in raw_runs {
            if raw_run.deleted {
                deleted_runs += 1;
                continue;
            }
            let root = artifacts.run_root(&experiment.id, &raw_run);
            let run = to_run(&raw_run, &root, &mut dropped_points);
            runs.insert(raw_run.id.clone(), (run.user.clone(), root));
            out.push(run);
        }
        if !out.is_empty() {
            source.experiments.push(SourceExperiment {
                name: experiment.name,
                runs: out,
            });
        }
    }
    if deleted_runs > 0 {
        source
            .skipped
            .push(format!("{deleted_runs} deleted run(s) (deleted in MLflow)"));
    }
    if dropped_points > 0 {
        source.skipped.push(format!(
            "{dropped_points} metric point(s) that are NaN, infinite or at a negative step \
             (regent's metrics are finite numbers at steps from 0)"
        ));
    }
    for model in raw.models {
        let converted = to_model(model, &runs, artifacts, &mut source.skipped);
        source.models.push(converted);
    }
    source
}

/// MLflow's system tags that become fields of the run.
const MAPPED_TAGS: [&str; 6] = [
    "mlflow.runName",
    "mlflow.user",
    "mlflow.note.content",
    "mlflow.source.git.commit",
    "mlflow.source.git.branch",
    "mlflow.source.git.repoURL",
];

fn to_run(raw: &RawRun, root: &Root, dropped: &mut usize) -> SourceRun {
    let tag = |key: &str| raw.tags.get(key).filter(|v| !v.is_empty()).cloned();
    let start = raw
        .start_ms
        .and_then(from_millis)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut metrics = BTreeMap::new();
    for (key, points) in &raw.metrics {
        let mut kept: Vec<&(i64, f64, i64)> = points
            .iter()
            .filter(|(_, value, step)| value.is_finite() && *step >= 0)
            .collect();
        *dropped += points.len() - kept.len();
        kept.sort_by_key(|(ms, _, step)| (*step, *ms));
        let points: Vec<MetricPoint> = kept
            .into_iter()
            .map(|(ms, value, step)| MetricPoint {
                step: u64::try_from(*step).unwrap_or_default(),
                value: *value,
                timestamp: from_millis(*ms).map(crate::time::format),
            })
            .collect();
        if !points.is_empty() {
            metrics.insert(key.clone(), points);
        }
    }
    // A full commit id is the source's commit; anything else stays a tag.
    let commit = tag("mlflow.source.git.commit")
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| matches!(c.len(), 40 | 64) && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let source = RunSource {
        commit: commit.clone(),
        branch: tag("mlflow.source.git.branch"),
        dirty: false,
        remote: tag("mlflow.source.git.repoURL").map(|r| crate::git::strip_credentials(&r)),
        extensions: Default::default(),
    };
    let has_source = source.commit.is_some() || source.branch.is_some() || source.remote.is_some();
    SourceRun {
        id: raw.id.clone(),
        name: raw
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| tag("mlflow.runName"))
            .unwrap_or_else(|| raw.id.clone()),
        status: match raw.status.as_str() {
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            _ => RunStatus::Running,
        },
        start,
        end: raw.end_ms.and_then(from_millis).map(|end| end.max(start)),
        user: raw
            .user
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| tag("mlflow.user"))
            .unwrap_or_else(|| "unknown".into()),
        params: raw.params.clone(),
        metrics,
        tags: raw
            .tags
            .iter()
            .filter(|(k, _)| !MAPPED_TAGS.contains(&k.as_str()))
            .chain(
                (commit.is_none())
                    .then(|| raw.tags.get_key_value("mlflow.source.git.commit"))
                    .flatten(),
            )
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        note: tag("mlflow.note.content"),
        source: has_source.then_some(source),
        artifacts: match root {
            Root::Local(path) => top_level_entries(path),
            Root::Remote(uri) => vec![ArtifactSource::Uri {
                name: Some("artifacts".into()),
                uri: uri.clone(),
            }],
            Root::Missing => Vec::new(),
        },
    }
}

/// The files and folders at the top of a run's artifact root, each one
/// artifact (as `run log --artifact` records them).
fn top_level_entries(root: &Path) -> Vec<ArtifactSource> {
    let Ok(listing) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<ArtifactSource> = listing
        .flatten()
        .map(|entry| ArtifactSource::Local {
            name: entry.file_name().to_string_lossy().into_owned(),
            path: entry.path(),
        })
        .collect();
    out.sort_by(|a, b| a.name().cmp(&b.name()));
    out
}

fn to_model(
    raw: RawModel,
    runs: &RunIndex,
    artifacts: &Artifacts<'_>,
    skipped: &mut Vec<String>,
) -> SourceModel {
    let name = raw.name.clone();
    let time = |ms: Option<i64>| {
        ms.and_then(from_millis)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    };
    let mut versions = Vec::new();
    // (time, order within a time, event)
    let mut events: Vec<(jiff::Timestamp, u8, SourceEvent)> = Vec::new();
    let mut versions_raw = raw.versions;
    versions_raw.sort_by_key(|v| v.version);
    for v in &versions_raw {
        let key = v.version.to_string();
        if v.stage.as_deref() == Some("Deleted_Internal") {
            continue;
        }
        if v.status.as_deref() == Some("FAILED_REGISTRATION") {
            skipped.push(format!(
                "model {name} version {key}: its registration failed in MLflow"
            ));
            continue;
        }
        let run = v.run_id.clone().filter(|r| !r.is_empty());
        let run_user = run
            .as_ref()
            .and_then(|r| runs.get(r))
            .map(|(u, _)| u.clone());
        let actor = v
            .user
            .clone()
            .filter(|u| !u.is_empty())
            .or(run_user)
            .unwrap_or_else(|| "unknown".into());
        let id = |what: &str| format!("mlflow:{name}:v{key}:{what}");
        events.push((
            time(v.created_ms),
            0,
            SourceEvent {
                id: id("register"),
                time: time(v.created_ms),
                actor: actor.clone(),
                step: Step::Register { key: key.clone() },
            },
        ));
        let updated = time(v.updated_ms.or(v.created_ms));
        match v.stage.as_deref() {
            Some(stage @ ("Staging" | "Production")) => events.push((
                updated,
                1,
                SourceEvent {
                    id: id(&format!("stage:{stage}")),
                    time: updated,
                    actor: "unknown".into(),
                    step: Step::Promote {
                        key: key.clone(),
                        stage: stage.to_lowercase(),
                    },
                },
            )),
            Some("Archived") => events.push((
                updated,
                1,
                SourceEvent {
                    id: id("archived"),
                    time: updated,
                    actor: "unknown".into(),
                    step: Step::Archive { key: key.clone() },
                },
            )),
            _ => {}
        }
        versions.push(SourceVersion {
            key: key.clone(),
            number: Some(v.version),
            artifact: version_artifact(v, runs, artifacts),
            run,
            source_commit: None,
            description: v.description.clone().filter(|d| !d.is_empty()),
            tags: v.tags.clone(),
        });
    }
    let updated = time(raw.updated_ms.or(raw.created_ms));
    for (alias, version) in &raw.aliases {
        events.push((
            updated,
            2,
            SourceEvent {
                id: format!("mlflow:{name}:alias:{alias}:v{version}"),
                time: updated,
                actor: "unknown".into(),
                step: Step::Alias {
                    key: version.to_string(),
                    alias: alias.clone(),
                },
            },
        ));
    }
    events.sort_by_key(|(time, order, _)| (*time, *order));
    SourceModel {
        name,
        description: raw.description.filter(|d| !d.is_empty()),
        tags: raw.tags,
        created: time(raw.created_ms),
        versions,
        events: events.into_iter().map(|(_, _, e)| e).collect(),
    }
}

/// Where a version's files are: `runs:/<run>/<path>` inside its run's
/// artifacts, else its storage location (a logged model's folder), else
/// its source URI as given.
fn version_artifact(v: &RawVersion, runs: &RunIndex, artifacts: &Artifacts<'_>) -> ArtifactSource {
    let source = v.source.clone().unwrap_or_default();
    let local = |path: PathBuf| {
        // A logged model keeps its files in `<model id>/artifacts`.
        let name = match path.file_name().map(|n| n.to_string_lossy().into_owned()) {
            Some(n) if n != "artifacts" => n,
            _ => "model".to_owned(),
        };
        ArtifactSource::Local { name, path }
    };
    if let Some(rest) = source.strip_prefix("runs:/")
        && let Some((run, path)) = rest.split_once('/')
        && let Some((_, root)) = runs.get(run)
    {
        match root {
            Root::Local(dir) if dir.join(path).exists() => return local(dir.join(path)),
            Root::Remote(uri) => {
                return ArtifactSource::Uri {
                    name: None,
                    uri: format!("{}/{path}", uri.trim_end_matches('/')),
                };
            }
            _ => {}
        }
    }
    for uri in [v.storage_location.as_deref(), Some(source.as_str())]
        .into_iter()
        .flatten()
    {
        if let Some(path) = artifacts.local(uri) {
            return local(path);
        }
    }
    ArtifactSource::Uri {
        name: None,
        uri: crate::git::strip_credentials(&source),
    }
}
