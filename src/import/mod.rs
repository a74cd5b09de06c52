//! `regent import`: another registry's history brought into regent's files.
//!
//! Each source (an MLflow store in [`mlflow`], a GTO repository in [`gto`])
//! is read whole into the same in-memory [`Source`]; [`plan`] decides what
//! of it is new to this registry (a second import brings only that) and
//! builds the files and the imported events of one commit per experiment
//! and per model; the command (src/cli/import.rs) stores the artifacts and
//! commits them all at once.

pub mod gto;
pub mod mlflow;
pub mod plan;

use crate::registry::{MetricPoint, RunSource, RunStatus};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything read from a source.
#[derive(Debug, Default)]
pub struct Source {
    /// `mlflow` or `gto`.
    pub kind: &'static str,
    /// Where it was read from, for messages and the commit body (no credentials).
    pub location: String,
    pub experiments: Vec<SourceExperiment>,
    pub models: Vec<SourceModel>,
    /// What the reader left out, and why (reported to the user).
    pub skipped: Vec<String>,
    /// Folders the reader extracted artifacts into; removed when the source goes.
    pub scratch: Vec<tempfile::TempDir>,
}

#[derive(Debug)]
pub struct SourceExperiment {
    pub name: String,
    pub runs: Vec<SourceRun>,
}

#[derive(Debug)]
pub struct SourceRun {
    /// The run's id in the source (MLflow's run id).
    pub id: String,
    pub name: String,
    pub status: RunStatus,
    pub start: jiff::Timestamp,
    pub end: Option<jiff::Timestamp>,
    pub user: String,
    pub params: BTreeMap<String, String>,
    /// Every point of each metric, oldest first; the last is its final value.
    pub metrics: BTreeMap<String, Vec<MetricPoint>>,
    pub tags: BTreeMap<String, String>,
    pub note: Option<String>,
    pub source: Option<RunSource>,
    pub artifacts: Vec<ArtifactSource>,
}

/// Where an artifact is in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactSource {
    /// A file or folder on this machine: copied into the artifact store.
    Local { name: String, path: PathBuf },
    /// Somewhere regent does not copy from: recorded as a URI, unverified.
    Uri { name: Option<String>, uri: String },
}

impl ArtifactSource {
    /// What `--no-copy` records: the artifact's URI.
    pub fn uri(&self) -> String {
        match self {
            ArtifactSource::Local { path, .. } => url::Url::from_file_path(path)
                .map_or_else(|()| path.display().to_string(), |u| u.to_string()),
            ArtifactSource::Uri { uri, .. } => uri.clone(),
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            ArtifactSource::Local { name, .. } => Some(name),
            ArtifactSource::Uri { name, .. } => name.as_deref(),
        }
    }
}

#[derive(Debug)]
pub struct SourceModel {
    pub name: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub created: jiff::Timestamp,
    /// In the order they were registered.
    pub versions: Vec<SourceVersion>,
    /// Everything that happened to the model, oldest first.
    pub events: Vec<SourceEvent>,
}

#[derive(Debug)]
pub struct SourceVersion {
    /// How the source names it: MLflow's number, GTO's semver.
    pub key: String,
    /// The number it keeps (MLflow's); None to number it after the
    /// registry's highest (GTO's semvers).
    pub number: Option<u64>,
    /// Its run's id in the source, when it came from one.
    pub run: Option<String>,
    pub source_commit: Option<String>,
    pub artifact: ArtifactSource,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// One thing that happened to a model in the source.
#[derive(Debug, Clone)]
pub struct SourceEvent {
    /// Its identity in the source, stable across reads (a GTO tag name).
    pub id: String,
    pub time: jiff::Timestamp,
    pub actor: String,
    pub step: Step,
}

/// What happened; versions are named by their [`SourceVersion::key`].
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Register {
        key: String,
    },
    Promote {
        key: String,
        stage: String,
    },
    /// The stage was emptied (only if `key`, when given, held it).
    Demote {
        stage: String,
        key: Option<String>,
    },
    Alias {
        key: String,
        alias: String,
    },
    Deprecate {
        key: String,
        reason: String,
    },
    Archive {
        key: String,
    },
}

/// A source that cannot be read: named, with where.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Source(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl ImportError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ImportError {
        let what = what.into();
        move |source| ImportError::Io { what, source }
    }
}

/// A source's YAML file (an MLflow meta.yaml, GTO's dvc.yaml) as a JSON
/// value; an error names the file, line and column.
pub fn parse_yaml(bytes: &[u8], shown: &str) -> Result<serde_json::Value, ImportError> {
    let bad = |text: &str, e| {
        ImportError::Source(format!(
            "not valid YAML: {}",
            crate::load::yaml_diagnostic(shown, text, e)
        ))
    };
    let text = crate::registry::text_of(bytes).map_err(|e| bad("", e))?;
    crate::registry::parse_value(text).map_err(|e| bad(text, e))
}

/// A name from the source as regent records an actor: no control
/// characters (it reaches terminals and trailers), at most 100 characters,
/// `unknown` when empty.
pub fn actor_name(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(100)
        .collect();
    match clean.trim() {
        "" => "unknown".to_owned(),
        name => name.to_owned(),
    }
}

/// Milliseconds since 1970 (MLflow's times) as a timestamp.
pub fn from_millis(ms: i64) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(ms).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn actor_names_from_a_source_are_made_safe() {
        assert_eq!(super::actor_name("alice"), "alice");
        assert_eq!(super::actor_name(" \u{1b}[31mmallory\n"), "[31mmallory");
        assert_eq!(super::actor_name(""), "unknown");
        assert_eq!(super::actor_name(&"x".repeat(300)).len(), 100);
    }
}
