//! The UI's data files: what each page loads, read from one registry
//! snapshot through the same loaders as `run list`, `show` and `history`.
//!
//! A data file is JavaScript: `regent.data("<key>", <json>);`, the key being
//! its path without `data/` and `.js`. Its JSON is made safe to sit in a
//! script (see [`script`]), whatever the registry's names, notes and params
//! hold.

use super::UiError;
use super::audit::{self, HISTORY_CHUNK};
use crate::events::Event;
use crate::git::Repo;
use crate::names::{self, NameKind};
use crate::registry::{ModelFile, RunFile, VersionFile, VersionStatus};
use crate::snapshot::Snapshot;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Runs per chunk file of an experiment's table.
pub const CHUNK: usize = 1000;

/// One data file, by what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataFile {
    /// Experiments (with run and chunk counts), models, the policy.
    Registry,
    /// The audit page's index of the history's chunks (see [`super::audit`]).
    HistoryIndex,
    /// Events `chunk * HISTORY_CHUNK ..` of the history, counted from the
    /// newest, newest first.
    HistoryChunk { chunk: usize },
    /// Runs `chunk * CHUNK ..` of an experiment, as table rows.
    Runs { experiment: String, chunk: usize },
    /// One run whole, with the versions registered from it.
    Run { experiment: String, run: String },
    /// One model, its versions and its events.
    Model { model: String },
}

impl DataFile {
    /// The key the script registers its data under (`runs/exp/0`).
    pub fn key(&self) -> String {
        match self {
            DataFile::Registry => "registry".to_owned(),
            DataFile::HistoryIndex => "history/index".to_owned(),
            DataFile::HistoryChunk { chunk } => format!("history/{chunk}"),
            DataFile::Runs { experiment, chunk } => format!("runs/{experiment}/{chunk}"),
            DataFile::Run { experiment, run } => format!("run/{experiment}/{run}"),
            DataFile::Model { model } => format!("model/{model}"),
        }
    }

    /// Its path in a build, `/`-separated (`data/runs/exp/0.js`).
    pub fn path(&self) -> String {
        format!("data/{}.js", self.key())
    }

    /// The data file at `path` (`data/….js`), if the path names one. Names
    /// are checked against their rules, so a path that parses names no file
    /// outside the data: no `..`, no `/` inside a name.
    pub fn parse(path: &str) -> Option<DataFile> {
        let key = path.strip_prefix("data/")?.strip_suffix(".js")?;
        let parts: Vec<&str> = key.split('/').collect();
        let ok = |kind, name: &str| names::check(kind, name).is_ok();
        match parts.as_slice() {
            ["registry"] => Some(DataFile::Registry),
            ["history", "index"] => Some(DataFile::HistoryIndex),
            ["history", chunk] => Some(DataFile::HistoryChunk {
                chunk: chunk_number(chunk)?,
            }),
            ["runs", experiment, chunk] if ok(NameKind::Experiment, experiment) => {
                Some(DataFile::Runs {
                    experiment: (*experiment).to_owned(),
                    chunk: chunk_number(chunk)?,
                })
            }
            ["run", experiment, run]
                if ok(NameKind::Experiment, experiment) && ok(NameKind::Run, run) =>
            {
                Some(DataFile::Run {
                    experiment: (*experiment).to_owned(),
                    run: (*run).to_owned(),
                })
            }
            ["model", model] if ok(NameKind::Model, model) => Some(DataFile::Model {
                model: (*model).to_owned(),
            }),
            _ => None,
        }
    }
}

/// A chunk's number in a path: digits only, as [`DataFile::key`] writes it
/// (`+1` or `01` would be a second name for one file; a number too large
/// for `usize` is no chunk).
fn chunk_number(text: &str) -> Option<usize> {
    let canonical =
        text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    text.parse().ok().filter(|_| canonical)
}

/// `regent.data(key, value);` with JSON that cannot end the script or the
/// line: `<`, `>` and `&` (so no `</script>` or `<!--`) and the line
/// separators U+2028 and U+2029 are written as `\u` escapes. They can only
/// occur inside JSON strings, where the escape means the same character.
pub fn script(key: &str, value: &Value) -> String {
    let mut out = String::from("regent.data(");
    push_safe_json(&mut out, &Value::from(key));
    out.push(',');
    push_safe_json(&mut out, value);
    out.push_str(");\n");
    out
}

fn push_safe_json(out: &mut String, value: &Value) {
    for c in value.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

/// A version registered from a run: what the run page links to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Registered {
    pub model: String,
    pub version: u64,
    pub status: &'static str,
    pub stages: Vec<String>,
    pub aliases: Vec<String>,
}

/// Run id (`experiment/run`) -> the versions registered from it.
pub type Lineage = BTreeMap<String, Vec<Registered>>;

/// The registry at one commit, as data files.
pub struct Export<'a, 'r> {
    pub repo: &'r Repo,
    pub snapshot: &'a Snapshot<'r>,
    /// The revision asked for, as the page shows it.
    pub rev: String,
}

impl Export<'_, '_> {
    /// The data of `file`, None when the registry has no such thing (a 404).
    /// `lineage` is the one [`Export::lineage`] made, when the caller keeps it.
    pub fn data(
        &self,
        file: &DataFile,
        lineage: Option<&Lineage>,
    ) -> Result<Option<Value>, UiError> {
        match file {
            DataFile::Registry => self.registry().map(Some),
            DataFile::HistoryIndex => Ok(Some(audit::index(&self.history()?, HISTORY_CHUNK))),
            DataFile::HistoryChunk { chunk } => {
                Ok(audit::chunk(&self.history()?, HISTORY_CHUNK, *chunk))
            }
            DataFile::Runs { experiment, chunk } => self.runs_chunk(experiment, *chunk),
            DataFile::Run { experiment, run } => {
                if !self
                    .snapshot
                    .exists(&crate::registry::Layout::run(experiment, run))
                {
                    return Ok(None);
                }
                let run = self.run(experiment, run)?;
                let made;
                let lineage = match lineage {
                    Some(l) => l,
                    None => {
                        made = self.lineage()?;
                        &made
                    }
                };
                Ok(Some(run_detail(&run, lineage)))
            }
            DataFile::Model { model } => {
                if !self.snapshot.exists(&crate::registry::Layout::model(model)) {
                    return Ok(None);
                }
                let events = self.events_of(model)?;
                self.model(model, &events).map(Some)
            }
        }
    }

    /// The index every page loads first.
    pub fn registry(&self) -> Result<Value, UiError> {
        let config = self
            .snapshot
            .config()
            .map_err(|d| UiError::bad_files("regent.yaml is invalid", d))?
            .value;
        let mut experiments = Vec::new();
        for name in self.experiment_names()? {
            let runs = self.snapshot.run_names(&name)?.len();
            experiments.push(json!({
                "name": name, "runs": runs, "chunks": runs.div_ceil(CHUNK),
            }));
        }
        let mut models = Vec::new();
        for name in self.model_names()? {
            let file = self.model_file(&name)?;
            let numbers = self.snapshot.version_numbers(&name)?;
            // `models:/m/latest`: the highest active version, read from the newest down.
            let mut latest = None;
            for &n in numbers.iter().rev() {
                if self.version(&name, n)?.status == VersionStatus::Active {
                    latest = Some(n);
                    break;
                }
            }
            models.push(json!({
                "name": file.name, "description": file.description, "owners": file.owners,
                "tags": file.tags, "stages": file.stages, "aliases": file.aliases,
                "versions": numbers.len(), "latest": latest,
            }));
        }
        let commit = self.snapshot.commit.map(|c| c.to_string());
        let time = self
            .snapshot
            .commit
            .and_then(|c| self.repo.repo.find_commit(c).ok())
            .map(|c| crate::time::format(crate::history::commit_time(&c)));
        Ok(json!({
            "rev": self.rev, "commit": commit, "time": time, "chunk_size": CHUNK,
            "experiments": experiments, "models": models, "policy": config,
        }))
    }

    /// Every event of the registry's history up to the snapshot, oldest first.
    pub fn history(&self) -> Result<Vec<Event>, UiError> {
        let tip = self.commit_rev();
        Ok(crate::history::walk(self.repo, &tip, &crate::history::Filter::default())?.events)
    }

    fn events_of(&self, model: &str) -> Result<Vec<Event>, UiError> {
        let filter = crate::history::Filter {
            model: Some(model.to_owned()),
            ..Default::default()
        };
        Ok(crate::history::walk(self.repo, &self.commit_rev(), &filter)?.events)
    }

    /// The snapshot's commit as a revision, so every file of one export
    /// reads the same state even if the branch moves meanwhile.
    fn commit_rev(&self) -> String {
        self.snapshot
            .commit
            .map_or_else(|| self.rev.clone(), |c| c.to_string())
    }

    /// One chunk of an experiment's runs as table rows (no histories).
    pub fn runs_chunk(&self, experiment: &str, chunk: usize) -> Result<Option<Value>, UiError> {
        let names = self.snapshot.run_names(experiment)?;
        let start = chunk.saturating_mul(CHUNK);
        if start >= names.len() {
            return Ok(None);
        }
        let mut rows = Vec::new();
        for name in &names[start..names.len().min(start + CHUNK)] {
            rows.push(run_row(&self.run(experiment, name)?));
        }
        Ok(Some(runs_chunk(experiment, chunk, rows)))
    }

    /// A model, its versions (with the stages and aliases pointing at each)
    /// and its events, oldest first.
    pub fn model(&self, model: &str, events: &[Event]) -> Result<Value, UiError> {
        let file = self.model_file(model)?;
        let mut versions = Vec::new();
        for n in self.snapshot.version_numbers(model)? {
            versions.push(version_json(&file, self.version(model, n)?));
        }
        Ok(json!({ "model": file, "versions": versions, "events": events }))
    }

    /// Which versions came from which run, over every model.
    pub fn lineage(&self) -> Result<Lineage, UiError> {
        let mut lineage = Lineage::new();
        for model in self.model_names()? {
            let file = self.model_file(&model)?;
            for n in self.snapshot.version_numbers(&model)? {
                let version = self.version(&model, n)?;
                if let Some(run) = &version.run {
                    lineage
                        .entry(run.clone())
                        .or_default()
                        .push(registered(&file, &version));
                }
            }
        }
        Ok(lineage)
    }

    /// Experiment folders with a valid name (validate reports the others).
    pub fn experiment_names(&self) -> Result<Vec<String>, UiError> {
        let mut names = self.snapshot.experiment_names()?;
        names.retain(|n| names::check(NameKind::Experiment, n).is_ok());
        Ok(names)
    }

    /// Model folders with a valid name and a model file.
    pub fn model_names(&self) -> Result<Vec<String>, UiError> {
        let mut names = self.snapshot.model_names()?;
        names.retain(|n| {
            names::check(NameKind::Model, n).is_ok()
                && self.snapshot.exists(&crate::registry::Layout::model(n))
        });
        Ok(names)
    }

    pub fn run(&self, experiment: &str, run: &str) -> Result<RunFile, UiError> {
        self.snapshot
            .run(experiment, run)
            .map(|l| l.value)
            .map_err(|d| UiError::bad_files(format!("run {experiment}/{run} is invalid"), d))
    }

    fn model_file(&self, model: &str) -> Result<ModelFile, UiError> {
        self.snapshot
            .model(model)
            .map(|l| l.value)
            .map_err(|d| UiError::bad_files(format!("model {model} is invalid"), d))
    }

    pub fn version(&self, model: &str, n: u64) -> Result<VersionFile, UiError> {
        self.snapshot
            .version(model, n)
            .map(|l| l.value)
            .map_err(|d| UiError::bad_files(format!("{model} v{n} is invalid"), d))
    }
}

/// The chunk file's data.
pub fn runs_chunk(experiment: &str, chunk: usize, rows: Vec<Value>) -> Value {
    json!({ "experiment": experiment, "chunk": chunk, "runs": rows })
}

/// A run as a row of the runs table: everything `--where` can filter on,
/// without the per-step histories (the run page loads those).
pub fn run_row(run: &RunFile) -> Value {
    json!({
        "name": run.name, "status": run.status.as_str(), "start_time": run.start_time,
        "end_time": run.end_time, "user": run.user, "source": run.source,
        "params": run.params, "metrics": run.metrics, "tags": run.tags, "note": run.note,
    })
}

/// A run whole (as `run show --json` has it) with the versions registered from it.
pub fn run_detail(run: &RunFile, lineage: &Lineage) -> Value {
    let mut value = serde_json::to_value(run).unwrap_or_default();
    value["id"] = run.id().into();
    let versions = lineage.get(&run.id()).cloned().unwrap_or_default();
    json!({ "run": value, "versions": versions })
}

fn pointing(map: &BTreeMap<String, u64>, version: u64) -> Vec<String> {
    map.iter()
        .filter(|(_, n)| **n == version)
        .map(|(name, _)| name.clone())
        .collect()
}

fn registered(model: &ModelFile, version: &VersionFile) -> Registered {
    Registered {
        model: model.name.clone(),
        version: version.version,
        status: version.status.as_str(),
        stages: pointing(&model.stages, version.version),
        aliases: pointing(&model.aliases, version.version),
    }
}

/// A version file with the stages and aliases that point at it.
fn version_json(model: &ModelFile, version: VersionFile) -> Value {
    let stages = pointing(&model.stages, version.version);
    let aliases = pointing(&model.aliases, version.version);
    let mut value = serde_json::to_value(version).unwrap_or_default();
    value["stages"] = stages.into();
    value["aliases"] = aliases.into();
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_cannot_be_closed_by_data() {
        let value = json!({"note": "</script><script>alert(1)</script> & \u{2028}"});
        let text = script("run/a/b", &value);
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        assert!(!text.contains('\u{2028}'));
        // The escapes decode to the same text.
        let json = text
            .strip_prefix("regent.data(\"run/a/b\",")
            .and_then(|t| t.strip_suffix(");\n"))
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(json).unwrap(), value);
    }

    #[test]
    fn only_data_paths_with_valid_names_parse() {
        let runs = DataFile::parse("data/runs/exp/2.js");
        assert_eq!(
            runs,
            Some(DataFile::Runs {
                experiment: "exp".into(),
                chunk: 2
            })
        );
        assert_eq!(runs.unwrap().path(), "data/runs/exp/2.js");
        for file in [
            DataFile::HistoryIndex,
            DataFile::HistoryChunk { chunk: 0 },
            DataFile::HistoryChunk { chunk: 12 },
        ] {
            assert_eq!(DataFile::parse(&file.path()), Some(file));
        }
        assert_eq!(
            DataFile::HistoryChunk { chunk: 12 }.path(),
            "data/history/12.js"
        );
        for bad in [
            "data/run/../x.js",
            "data/run/a/..x.js",
            "data/model/a/b.js",
            "data/runs/exp/01.js",
            "data/runs/exp/+1.js",
            "data/model/%2e%2e.js",
            "data/registry.json",
            "registry.js",
            "data/model/.js",
            "data/history.js",
            "data/history/01.js",
            "data/history/-1.js",
            "data/history/1e3.js",
            "data/history/99999999999999999999999.js",
            "data/history/index/0.js",
            "data/history/.js",
        ] {
            assert_eq!(DataFile::parse(bad), None, "{bad}");
        }
    }
}
