//! What of a [`Source`] is new to the registry, as one commit per experiment
//! and per model: the files to write and the events they bring, each with
//! its original time and actor (crate::imported).
//!
//! What a previous import brought is known by the source ids in its
//! trailers, so a second import adds only what is new: new runs, new
//! versions, and the new events of the versions already there. Nothing
//! already in the registry is rewritten but a version whose status a new
//! event changes and a model's stage and alias pointers.
//!
//! A name regent refuses, a version whose run is gone, or a model that
//! regent already has from elsewhere is a reported skip; a stage the
//! registry does not have is an error (the policy is the user's to extend).

use super::{ArtifactSource, Source, SourceModel, SourceRun, Step};
use crate::events::EventKind;
use crate::imported::{ImportedEvent, Subject};
use crate::names::{self, NameKind};
use crate::registry::{
    MetricPoint, ModelFile, RunFile, VersionArtifact, VersionFile, VersionStatus,
};
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Everything an import will commit, and what it leaves out.
#[derive(Debug, Default)]
pub struct Plan {
    pub commits: Vec<CommitPlan>,
    /// Reported skips: what was not imported, and why.
    pub skipped: Vec<String>,
    /// Runs and model events a previous import brought already.
    pub already: usize,
}

/// One commit: an experiment's new runs, or a model's new versions and events.
#[derive(Debug)]
pub struct CommitPlan {
    pub subject: Subject,
    pub runs: Vec<NewRun>,
    pub versions: Vec<NewVersion>,
    /// Versions already in the registry whose status an event changed.
    pub changed_versions: Vec<VersionFile>,
    /// The model file to write (new, or its pointers moved).
    pub model: Option<ModelFile>,
    pub events: Vec<ImportedEvent>,
}

/// A run to write once its artifacts are stored and its history bounded.
#[derive(Debug)]
pub struct NewRun {
    pub record: RunFile,
    /// Every point of the metrics with more than one (bounded on writing).
    pub history: BTreeMap<String, Vec<MetricPoint>>,
    pub artifacts: Vec<ArtifactSource>,
}

/// A version to write once its artifact is stored.
#[derive(Debug)]
pub struct NewVersion {
    pub record: VersionFile,
    pub artifact: ArtifactSource,
}

/// Why an import cannot go ahead at all.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Refused(String),
    #[error("invalid registry files")]
    Files(Vec<crate::diagnostic::Diagnostic>),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
}

/// What every part of the plan reads.
struct Context<'a, 's> {
    source: &'a Source,
    /// The branch's head.
    snapshot: &'a Snapshot<'s>,
    /// What earlier imports brought, by source id.
    imported: &'a BTreeMap<String, (Subject, ImportedEvent)>,
    /// regent.yaml's stages.
    stages: Vec<String>,
}

/// Plans the import of `source` on top of `snapshot` (the branch's head),
/// given what earlier imports brought (`imported`, by source id).
pub fn plan(
    source: &Source,
    snapshot: &Snapshot<'_>,
    imported: &BTreeMap<String, (Subject, ImportedEvent)>,
) -> Result<Plan, PlanError> {
    let config = snapshot.config().map_err(PlanError::Files)?.value;
    let cx = Context {
        source,
        snapshot,
        imported,
        stages: config.stages.iter().map(|s| s.name.clone()).collect(),
    };
    let mut out = Plan {
        skipped: source.skipped.clone(),
        ..Plan::default()
    };
    let mut runs = RunIndex::default();
    for (id, (subject, event)) in imported {
        if let (Subject::Experiment(experiment), Some(run)) = (subject, &event.run) {
            runs.links.insert(id.clone(), format!("{experiment}/{run}"));
        }
    }
    for experiment in &source.experiments {
        if let Some(commit) = plan_experiment(&cx, experiment, &mut runs, &mut out)? {
            out.commits.push(commit);
        }
    }
    for model in &source.models {
        if let Some(commit) = plan_model(&cx, model, &runs, &mut out)? {
            out.commits.push(commit);
        }
    }
    Ok(out)
}

/// The id a run is known by across imports.
pub fn run_id(source: &Source, run: &str) -> String {
    format!("{}:run:{run}", source.kind)
}

/// Where each source run is in the registry, and the runs of this import.
#[derive(Default)]
struct RunIndex {
    /// Source run id ([`run_id`]) to `<experiment>/<run>`.
    links: HashMap<String, String>,
    /// The runs this import writes, by `<experiment>/<run>`.
    new: HashMap<String, RunFile>,
}

fn plan_experiment(
    cx: &Context<'_, '_>,
    experiment: &super::SourceExperiment,
    runs: &mut RunIndex,
    out: &mut Plan,
) -> Result<Option<CommitPlan>, PlanError> {
    let name = &experiment.name;
    if let Err(e) = names::check(NameKind::Experiment, name) {
        out.skipped.push(format!(
            "experiment {name:?} and its {} run(s): {e}",
            experiment.runs.len()
        ));
        return Ok(None);
    }
    let mut taken: BTreeSet<String> = cx.snapshot.run_names(name)?.into_iter().collect();
    let mut ordered: Vec<&SourceRun> = experiment.runs.iter().collect();
    ordered.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    let mut new_runs = Vec::new();
    let mut events = Vec::new();
    for run in ordered {
        let id = run_id(cx.source, &run.id);
        if cx.imported.contains_key(&id) {
            out.already += 1;
            continue;
        }
        if let Err(e) = names::check(NameKind::Run, &run.name) {
            out.skipped
                .push(format!("run {name}/{} ({}): {e}", run.name, run.id));
            continue;
        }
        // MLflow lets runs share a name; regent's are unique in an experiment.
        let short: String = run.id.chars().take(8).collect();
        let Some(run_name) = [run.name.clone(), format!("{}-{short}", run.name)]
            .into_iter()
            .find(|n| !taken.contains(n) && names::check(NameKind::Run, n).is_ok())
        else {
            out.skipped.push(format!(
                "run {name}/{} ({}): the registry has runs of that name already",
                run.name, run.id
            ));
            continue;
        };
        taken.insert(run_name.clone());
        let record = run_record(name, &run_name, run);
        let history: BTreeMap<String, Vec<MetricPoint>> = run
            .metrics
            .iter()
            .filter(|(_, points)| points.len() > 1)
            .map(|(key, points)| (key.clone(), points.clone()))
            .collect();
        events.push(ImportedEvent {
            event: EventKind::Run,
            version: None,
            stage: None,
            alias: None,
            previous: None,
            run: Some(run_name.clone()),
            time: crate::time::format(run.start),
            actor: super::actor_name(&run.user),
            id: id.clone(),
        });
        let link = format!("{name}/{run_name}");
        runs.links.insert(id, link.clone());
        runs.new.insert(link, record.clone());
        new_runs.push(NewRun {
            record,
            history,
            artifacts: run.artifacts.clone(),
        });
    }
    Ok((!new_runs.is_empty()).then(|| CommitPlan {
        subject: Subject::Experiment(name.clone()),
        runs: new_runs,
        versions: Vec::new(),
        changed_versions: Vec::new(),
        model: None,
        events,
    }))
}

/// A source run as a regent run file (its history and artifacts come later).
fn run_record(experiment: &str, name: &str, run: &SourceRun) -> RunFile {
    RunFile {
        name: name.to_owned(),
        experiment: experiment.to_owned(),
        status: run.status,
        start_time: crate::time::format(run.start),
        end_time: run.end.map(crate::time::format),
        user: super::actor_name(&run.user),
        source: run.source.clone(),
        params: run.params.clone(),
        metrics: run
            .metrics
            .iter()
            .filter_map(|(key, points)| Some((key.clone(), points.last()?.value)))
            .collect(),
        history: BTreeMap::new(),
        series: BTreeMap::new(),
        artifacts: Vec::new(),
        environment: None,
        tags: run.tags.clone(),
        note: run.note.clone(),
        extensions: Default::default(),
    }
}

/// A model's state as the events are applied.
struct ModelState<'a> {
    name: &'a str,
    model: ModelFile,
    model_changed: bool,
    /// Source key to regent's version number.
    numbers: HashMap<String, u64>,
    new: BTreeMap<u64, NewVersion>,
    changed: BTreeMap<u64, VersionFile>,
    events: Vec<ImportedEvent>,
}

fn plan_model(
    cx: &Context<'_, '_>,
    model: &SourceModel,
    runs: &RunIndex,
    out: &mut Plan,
) -> Result<Option<CommitPlan>, PlanError> {
    let (source, snapshot, imported, stages) = (cx.source, cx.snapshot, cx.imported, &cx.stages);
    let name = &model.name;
    if let Err(e) = names::check(NameKind::Model, name) {
        out.skipped.push(format!("model {name:?}: {e}"));
        return Ok(None);
    }
    let ours = |subject: &Subject| *subject == Subject::Model(name.clone());
    let imported_before = imported.values().any(|(s, _)| ours(s));
    let existing = if snapshot.exists(&crate::registry::Layout::model(name)) {
        if !imported_before {
            out.skipped.push(format!(
                "model {name}: the registry has a model of that name that was not imported \
                 from {}; rename one of them to import it",
                source.kind
            ));
            return Ok(None);
        }
        Some(snapshot.model(name).map_err(PlanError::Files)?.value)
    } else {
        None
    };
    let existing_numbers: BTreeSet<u64> = snapshot.version_numbers(name)?.into_iter().collect();
    let mut state = ModelState {
        name,
        model_changed: existing.is_none(),
        model: existing.unwrap_or_else(|| ModelFile {
            name: name.clone(),
            description: model.description.clone(),
            tags: model.tags.clone(),
            created_at: Some(crate::time::format(model.created)),
            ..ModelFile::default()
        }),
        numbers: HashMap::new(),
        new: BTreeMap::new(),
        changed: BTreeMap::new(),
        events: Vec::new(),
    };
    // Versions an earlier import brought keep the numbers it gave them.
    for event in &model.events {
        if let (Step::Register { key }, Some((s, before))) = (&event.step, imported.get(&event.id))
            && ours(s)
            && let Some(number) = before.version
        {
            state.numbers.insert(key.clone(), number);
        }
    }
    let mut next = existing_numbers.last().map_or(1, |n| n + 1);
    for event in &model.events {
        if let Some((s, _)) = imported.get(&event.id)
            && ours(s)
        {
            out.already += 1;
            continue;
        }
        let at = crate::time::format(event.time);
        match &event.step {
            Step::Register { key } => {
                let Some(version) = model.versions.iter().find(|v| &v.key == key) else {
                    continue;
                };
                let number = version.number.unwrap_or(next);
                if existing_numbers.contains(&number) || state.new.contains_key(&number) {
                    out.skipped.push(format!(
                        "model {name} version {key}: the registry has a version {number} already"
                    ));
                    continue;
                }
                next = next.max(number + 1);
                let record = version_record(cx, name, number, version, event, runs, out);
                state.numbers.insert(key.clone(), number);
                state.new.insert(
                    number,
                    NewVersion {
                        record,
                        artifact: version.artifact.clone(),
                    },
                );
                state.push(event, EventKind::Register, Some(number), |_| {});
            }
            Step::Promote { key, stage } => {
                let Some(number) = state.number(key) else {
                    continue;
                };
                if !stages.contains(stage) {
                    return Err(PlanError::Refused(format!(
                        "model {name}: version {key} was in stage {stage:?} on {at} ({}), but \
                         regent.yaml has no such stage (its stages: {}); add it to `stages:` \
                         in regent.yaml and import again",
                        event.id,
                        stages.join(", ")
                    )));
                }
                let previous = state.model.stages.insert(stage.clone(), number);
                state.model_changed = true;
                state.push(event, EventKind::Promote, Some(number), |e| {
                    e.stage = Some(stage.clone());
                    e.previous = previous;
                });
            }
            Step::Demote { stage, key } => {
                let held = state.model.stages.get(stage).copied();
                let wanted = key.as_ref().map(|k| state.number(k));
                if held.is_none() || wanted.is_some_and(|w| w != held) {
                    continue;
                }
                state.model.stages.remove(stage);
                state.model_changed = true;
                state.push(event, EventKind::Demote, held, |e| {
                    e.stage = Some(stage.clone())
                });
            }
            Step::Alias { key, alias } => {
                let Some(number) = state.number(key) else {
                    continue;
                };
                if let Err(e) = names::check(NameKind::Alias, alias) {
                    out.skipped
                        .push(format!("model {name} alias {alias:?} (version {key}): {e}"));
                    continue;
                }
                let previous = state.model.aliases.insert(alias.clone(), number);
                state.model_changed = true;
                state.push(event, EventKind::Alias, Some(number), |e| {
                    e.alias = Some(alias.clone());
                    e.previous = previous;
                });
            }
            Step::Deprecate { key, reason } => {
                let Some(number) = state.number(key) else {
                    continue;
                };
                if state.set_status(
                    snapshot,
                    number,
                    VersionStatus::Deprecated,
                    Some(reason.clone()),
                )? {
                    state.push(event, EventKind::Deprecate, Some(number), |_| {});
                }
            }
            Step::Archive { key } => {
                let Some(number) = state.number(key) else {
                    continue;
                };
                // An archived version holds nothing (DESIGN.md): one the
                // source archived while it still held a stage or an alias
                // is deprecated instead.
                let holds: Vec<String> = (state.model.stages.iter())
                    .chain(state.model.aliases.iter())
                    .filter(|(_, v)| **v == number)
                    .map(|(k, _)| k.clone())
                    .collect();
                let (status, kind, reason) = if holds.is_empty() {
                    (VersionStatus::Archived, EventKind::Archive, None)
                } else {
                    (
                        VersionStatus::Deprecated,
                        EventKind::Deprecate,
                        Some(format!(
                            "archived in {}, while it still held {}",
                            source.kind,
                            holds.join(", ")
                        )),
                    )
                };
                if state.set_status(snapshot, number, status, reason)? {
                    state.push(event, kind, Some(number), |_| {});
                }
            }
        }
    }
    if state.events.is_empty() {
        if model.versions.is_empty() && !imported_before {
            // regent's models begin with their first version.
            out.skipped
                .push(format!("model {name}: it has no versions"));
        }
        return Ok(None);
    }
    Ok(Some(CommitPlan {
        subject: Subject::Model(name.clone()),
        runs: Vec::new(),
        model: state.model_changed.then(|| state.model.clone()),
        versions: state.new.into_values().collect(),
        changed_versions: state.changed.into_values().collect(),
        events: state.events,
    }))
}

impl ModelState<'_> {
    fn number(&self, key: &str) -> Option<u64> {
        self.numbers.get(key).copied()
    }

    fn push(
        &mut self,
        event: &super::SourceEvent,
        kind: EventKind,
        version: Option<u64>,
        fill: impl FnOnce(&mut ImportedEvent),
    ) {
        let mut imported = ImportedEvent {
            event: kind,
            version,
            stage: None,
            alias: None,
            previous: None,
            run: None,
            time: crate::time::format(event.time),
            actor: super::actor_name(&event.actor),
            id: event.id.clone(),
        };
        fill(&mut imported);
        self.events.push(imported);
    }

    /// Sets a version's status (a new version's, or one already in the
    /// registry); false when it had it already.
    fn set_status(
        &mut self,
        snapshot: &Snapshot<'_>,
        number: u64,
        status: VersionStatus,
        reason: Option<String>,
    ) -> Result<bool, PlanError> {
        let record = match self.new.get_mut(&number) {
            Some(new) => &mut new.record,
            None => {
                if !self.changed.contains_key(&number) {
                    let loaded = snapshot
                        .version(self.name, number)
                        .map_err(PlanError::Files)?
                        .value;
                    self.changed.insert(number, loaded);
                }
                self.changed.get_mut(&number).expect("inserted above")
            }
        };
        if record.status == status || record.status == VersionStatus::Archived {
            return Ok(false);
        }
        record.status = status;
        record.status_reason = reason;
        Ok(true)
    }
}

/// A new version's file: frozen at registration from its run, as
/// `regent register --run` freezes it (metrics, params, source commit).
fn version_record(
    cx: &Context<'_, '_>,
    model: &str,
    number: u64,
    version: &super::SourceVersion,
    registered: &super::SourceEvent,
    runs: &RunIndex,
    out: &mut Plan,
) -> VersionFile {
    let link = version.run.as_ref().and_then(|run| {
        let found = runs.links.get(&run_id(cx.source, run)).cloned();
        if found.is_none() {
            out.skipped.push(format!(
                "the run link of model {model} version {}: its run {run} is not imported \
                 (gone from the source, or left out as said above); the version is imported \
                 without it",
                version.key,
            ));
        }
        found
    });
    let run_file = link.as_ref().and_then(|link| {
        runs.new.get(link).cloned().or_else(|| {
            let (experiment, run) = link.split_once('/')?;
            cx.snapshot.run(experiment, run).ok().map(|l| l.value)
        })
    });
    let (metrics, params, commit) = match &run_file {
        Some(run) => (
            run.metrics.clone(),
            run.params.clone(),
            run.source.as_ref().and_then(|s| s.commit.clone()),
        ),
        None => Default::default(),
    };
    VersionFile {
        model: model.to_owned(),
        version: number,
        created_at: crate::time::format(registered.time),
        created_by: super::actor_name(&registered.actor),
        run: link,
        source_commit: commit.or_else(|| version.source_commit.clone()),
        artifact: VersionArtifact::default(),
        metrics,
        params,
        description: version.description.clone(),
        tags: version.tags.clone(),
        status: VersionStatus::Active,
        status_reason: None,
        extensions: Default::default(),
    }
}
