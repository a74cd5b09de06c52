//! Plans one model event against a registry state: the policy decision, the
//! files to write, the event for the trailers, and the tags to create. A plan
//! is pure with respect to the repository: it reads a commit and writes
//! nothing, so it can be rebuilt on a newer commit when a push loses a race.

mod records;

use crate::events::{Event, EventKind};
use crate::git::{GitError, Repo};
use crate::history::{self, Filter, ModelFacts};
use crate::names::{self, NameKind};
use crate::policy::{self, Approval, ApprovalTarget, Decision, Request, VersionFacts};
use crate::registry::{
    Config, Layout, ModelFile, VersionArtifact, VersionFile, VersionStatus, to_yaml,
};
use crate::snapshot::Snapshot;
use crate::workspace::Change;
use records::{approve, describe, retag, set_status};
use std::collections::BTreeMap;

/// The default tag formats of DESIGN.md §2.
pub const DEFAULT_REGISTER_TAG: &str = "{model}@v{version}";
pub const DEFAULT_ASSIGN_TAG: &str = "{model}#{stage}#{n}";

/// An artifact as registered: hashed already (outside any retry loop).
#[derive(Debug, Clone)]
pub struct ArtifactInput {
    pub uri: String,
    /// The base name of the local file or folder it was uploaded from.
    pub name: Option<String>,
    pub digest: Option<String>,
    pub size: Option<u64>,
    pub kind: Option<crate::registry::ArtifactKind>,
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub enum Action {
    Register {
        model: String,
        artifact: ArtifactInput,
        run: Option<String>,
        description: Option<String>,
        tags: BTreeMap<String, String>,
    },
    Promote {
        model: String,
        version: u64,
        stage: String,
    },
    Demote {
        model: String,
        stage: String,
    },
    Rollback {
        model: String,
        stage: String,
        to: Option<u64>,
    },
    SetAlias {
        model: String,
        alias: String,
        version: u64,
    },
    RemoveAlias {
        model: String,
        alias: String,
    },
    Tag {
        model: String,
        version: Option<u64>,
        set: Vec<(String, String)>,
        remove: Vec<String>,
    },
    Describe {
        model: String,
        version: Option<u64>,
        text: String,
    },
    Deprecate {
        model: String,
        version: u64,
        reason: Option<String>,
    },
    Archive {
        model: String,
        version: u64,
        /// Why; without it a deprecation's reason is kept.
        reason: Option<String>,
    },
    Approve {
        model: String,
        version: u64,
        target: ApprovalTarget,
    },
}

impl Action {
    /// Every name the action was given, with its kind: each is checked
    /// against its rule before anything is read, judged or written, so a
    /// stage or alias name with `/`, control characters or look-alikes never
    /// reaches a message, a branch name or a tag name.
    pub fn names(&self) -> Vec<(NameKind, &str)> {
        let mut names = vec![(NameKind::Model, self.model())];
        match self {
            Action::Promote { stage, .. }
            | Action::Demote { stage, .. }
            | Action::Rollback { stage, .. }
            | Action::Approve {
                target: ApprovalTarget::Stage(stage),
                ..
            } => names.push((NameKind::Stage, stage)),
            Action::SetAlias { alias, .. }
            | Action::RemoveAlias { alias, .. }
            | Action::Approve {
                target: ApprovalTarget::Alias(alias),
                ..
            } => names.push((NameKind::Alias, alias)),
            _ => {}
        }
        names
    }

    pub fn model(&self) -> &str {
        match self {
            Action::Register { model, .. }
            | Action::Promote { model, .. }
            | Action::Demote { model, .. }
            | Action::Rollback { model, .. }
            | Action::SetAlias { model, .. }
            | Action::RemoveAlias { model, .. }
            | Action::Tag { model, .. }
            | Action::Describe { model, .. }
            | Action::Deprecate { model, .. }
            | Action::Archive { model, .. }
            | Action::Approve { model, .. } => model,
        }
    }
}

/// A planned event, ready to commit.
#[derive(Debug, Clone)]
pub struct Plan {
    pub event: Event,
    pub changes: Vec<Change>,
    /// Tag names to create at the commit.
    pub tags: Vec<String>,
    /// The policy's decision, when the event is judged.
    pub decision: Option<Decision>,
}

/// Why an event cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The policy said no; every failing rule is in the decision.
    #[error("{} refused", .event.describe())]
    Refused {
        event: Box<Event>,
        decision: Decision,
    },
    /// A "no" that is not a policy rule: a missing model, nothing to roll back to.
    #[error("{0}")]
    No(String),
    /// Bad input or configuration.
    #[error("{0}")]
    Invalid(String),
    /// Registry files that cannot be read.
    #[error("invalid registry files")]
    Files(Vec<crate::diagnostic::Diagnostic>),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Who acts and when.
pub struct Actor<'a> {
    /// For a pull request (`--pr`): the event is judged as one (so
    /// `direct: false` allows it), and only rules a review cannot fix
    /// (existence, stage, status, no change) refuse it; gates, requirements
    /// and approvals are reported for the pull request's body and the gate.
    pub pull_request: bool,
    pub name: &'a str,
    pub now: jiff::Timestamp,
}

/// Plans `action` on top of `base`.
pub fn plan(
    repo: &Repo,
    base: &git2::Commit<'_>,
    action: &Action,
    actor: &Actor<'_>,
) -> Result<Plan, PlanError> {
    for (kind, name) in action.names() {
        names::check(kind, name).map_err(|e| PlanError::Invalid(e.to_string()))?;
    }
    let snapshot = Snapshot::of_commit(repo, base)?
        .filter(|s| s.exists(Layout::CONFIG))
        .ok_or_else(|| PlanError::Invalid(format!("commit {} has no registry", base.id())))?;
    let config = snapshot.config().map_err(PlanError::Files)?.value;
    let model_name = action.model();
    let exists = snapshot.exists(&Layout::model(model_name));
    if !exists && !matches!(action, Action::Register { .. }) {
        let known = snapshot.model_names()?;
        let suggestion = crate::suggest::did_you_mean(model_name, known.iter().map(String::as_str));
        return Err(PlanError::No(match suggestion {
            Some(s) => format!("no model named {model_name}; {s}"),
            None => format!("no model named {model_name}"),
        }));
    }
    let mut state = State {
        repo,
        snapshot: &snapshot,
        config: &config,
        base: base.id(),
        model: if exists {
            snapshot.model(model_name).map_err(PlanError::Files)?.value
        } else {
            ModelFile {
                name: model_name.to_owned(),
                created_at: Some(crate::time::format(actor.now)),
                ..ModelFile::default()
            }
        },
        numbers: snapshot.version_numbers(model_name)?,
        facts: None,
    };
    match action {
        Action::Register {
            artifact,
            run,
            description,
            tags,
            ..
        } => register(
            &mut state,
            artifact,
            run.as_deref(),
            description.clone(),
            tags.clone(),
            actor,
        ),
        Action::Promote { version, stage, .. } => assign(&mut state, *version, stage, false, actor),
        Action::Rollback { stage, to, .. } => {
            let current = state.model.stages.get(stage).copied();
            let target = match to {
                Some(v) => *v,
                None => state
                    .facts()?
                    .previous_holder(stage, current)
                    .ok_or_else(|| {
                        PlanError::No(format!(
                            "{model_name} has no earlier version in {stage} to roll back to"
                        ))
                    })?,
            };
            assign(&mut state, target, stage, true, actor)
        }
        Action::Demote { stage, .. } => demote(&mut state, stage, actor),
        Action::SetAlias { alias, version, .. } => {
            set_alias(&mut state, alias, Some(*version), actor)
        }
        Action::RemoveAlias { alias, .. } => set_alias(&mut state, alias, None, actor),
        Action::Tag {
            version,
            set,
            remove,
            ..
        } => retag(&mut state, *version, set, remove),
        Action::Describe { version, text, .. } => describe(&mut state, *version, text),
        Action::Deprecate {
            version, reason, ..
        } => set_status(
            &mut state,
            *version,
            VersionStatus::Deprecated,
            reason.clone(),
        ),
        Action::Archive {
            version, reason, ..
        } => set_status(
            &mut state,
            *version,
            VersionStatus::Archived,
            reason.clone(),
        ),
        Action::Approve {
            version, target, ..
        } => approve(&mut state, *version, target, actor),
    }
}

/// What a plan reads, with the model's history loaded on first use.
pub(super) struct State<'a, 'r> {
    repo: &'r Repo,
    snapshot: &'a Snapshot<'r>,
    config: &'a Config,
    base: git2::Oid,
    model: ModelFile,
    numbers: Vec<u64>,
    facts: Option<ModelFacts>,
}

impl State<'_, '_> {
    fn name(&self) -> String {
        self.model.name.clone()
    }

    /// The model's history facts. Governance rests on them, so a shallow
    /// clone (which would hide earlier events) is an error, not a guess.
    fn facts(&mut self) -> Result<&ModelFacts, PlanError> {
        if self.facts.is_none() {
            let filter = Filter {
                model: Some(self.name()),
                ..Filter::default()
            };
            let history = history::walk(self.repo, &self.base.to_string(), &filter)?;
            if history.shallow {
                return Err(PlanError::Invalid(
                    "this is a shallow clone, so the registry's history is incomplete and the policy cannot be judged; \
                     fetch the whole history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)"
                        .into(),
                ));
            }
            self.facts = Some(ModelFacts::from_events(&history.events));
        }
        Ok(self.facts.as_ref().expect("facts were just loaded"))
    }

    fn version(&self, version: u64) -> Result<VersionFile, PlanError> {
        if !self.numbers.contains(&version) {
            return Err(PlanError::No(format!(
                "model {} has no version {version}",
                self.model.name
            )));
        }
        self.snapshot
            .version(&self.model.name, version)
            .map(|l| l.value)
            .map_err(PlanError::Files)
    }

    fn version_facts(&self, numbers: &[u64]) -> Result<BTreeMap<u64, VersionFacts>, PlanError> {
        let mut out = BTreeMap::new();
        for &n in numbers {
            if !self.numbers.contains(&n) || out.contains_key(&n) {
                continue;
            }
            let v = self.version(n)?;
            out.insert(
                n,
                VersionFacts {
                    status: v.status,
                    metrics: v.metrics,
                    created_by: v.created_by,
                },
            );
        }
        Ok(out)
    }

    /// Runs the policy; a refusal becomes `PlanError::Refused`.
    fn judge(
        &mut self,
        request: Request,
        event: &Event,
        actor: &Actor<'_>,
        approvals: Vec<Approval>,
    ) -> Result<Decision, PlanError> {
        // Only the versions the rules look at: the candidate and whoever
        // holds the stage or alias now (a model may have thousands).
        let mut needed: Vec<u64> = [event.version, event.previous]
            .into_iter()
            .flatten()
            .collect();
        if let Some(stage) = &event.stage {
            needed.extend(self.model.stages.get(stage));
        }
        let versions = self.version_facts(&needed)?;
        let held = self.facts()?.held.clone();
        let no_teams = |_: &str, _: &str| false;
        let context = policy::Context {
            config: self.config,
            model: &self.model,
            versions: &versions,
            held: &held,
            approvals: &approvals,
            actor: actor.name,
            requested_by: &[],
            via_pull_request: actor.pull_request,
            is_member: &no_teams,
        };
        let decision = policy::judge(&context, &request);
        let fatal = |rule: &policy::Rule| {
            !actor.pull_request
                || matches!(
                    rule,
                    policy::Rule::Exists
                        | policy::Rule::Stage
                        | policy::Rule::Status
                        | policy::Rule::NoChange
                        | policy::Rule::Alias
                )
        };
        if decision.failures().all(|c| !fatal(&c.rule)) {
            Ok(decision)
        } else {
            Err(PlanError::Refused {
                event: Box::new(event.clone()),
                decision,
            })
        }
    }

    fn model_change(&self) -> Result<Change, PlanError> {
        Ok(Change {
            path: Layout::model(&self.model.name),
            content: Some(yaml("model", &self.model)?),
        })
    }

    fn tag_name(
        &self,
        format: Option<&str>,
        default: &str,
        fields: &[(&str, String)],
    ) -> Result<String, PlanError> {
        let mut name = format.unwrap_or(default).to_owned();
        for (key, value) in fields {
            name = name.replace(&format!("{{{key}}}"), value);
        }
        let valid = git2::Reference::is_valid_name(&format!("refs/tags/{name}"))
            && !name.starts_with('-')
            && !name.contains('{');
        if !valid {
            return Err(PlanError::Invalid(format!(
                "the tag format in regent.yaml gives {name:?}, which is not a valid Git tag name"
            )));
        }
        Ok(name)
    }
}

pub(super) fn yaml<T: serde::Serialize>(schema: &str, value: &T) -> Result<Vec<u8>, PlanError> {
    to_yaml(schema, value)
        .map(String::into_bytes)
        .map_err(|e| PlanError::Invalid(e.to_string()))
}

fn register(
    state: &mut State<'_, '_>,
    artifact: &ArtifactInput,
    run: Option<&str>,
    description: Option<String>,
    tags: BTreeMap<String, String>,
    actor: &Actor<'_>,
) -> Result<Plan, PlanError> {
    let model = state.name();
    let number = state.numbers.last().copied().unwrap_or(0) + 1;
    let (metrics, params, source_commit) = match run {
        Some(id) => {
            let (experiment, name) = id.split_once('/').ok_or_else(|| {
                PlanError::Invalid(format!("--run takes EXPERIMENT/RUN, got {id:?}"))
            })?;
            names::check(NameKind::Experiment, experiment)
                .map_err(|e| PlanError::Invalid(e.to_string()))?;
            names::check(NameKind::Run, name).map_err(|e| PlanError::Invalid(e.to_string()))?;
            if !state.snapshot.exists(&Layout::run(experiment, name)) {
                return Err(PlanError::No(format!("no run {id} (is it committed?)")));
            }
            let run = state
                .snapshot
                .run(experiment, name)
                .map_err(PlanError::Files)?
                .value;
            let commit = run.source.as_ref().and_then(|s| s.commit.clone());
            (run.metrics, run.params, commit)
        }
        None => (BTreeMap::new(), BTreeMap::new(), None),
    };
    let version = VersionFile {
        model: model.clone(),
        version: number,
        created_at: crate::time::format(actor.now),
        created_by: actor.name.to_owned(),
        run: run.map(str::to_owned),
        source_commit: source_commit.or_else(|| Some(state.base.to_string())),
        artifact: VersionArtifact {
            uri: artifact.uri.clone(),
            name: artifact.name.clone(),
            digest: artifact.digest.clone(),
            size: artifact.size,
            format: None,
            verified: artifact.digest.is_none().then_some(false),
            kind: artifact.kind,
            extensions: Default::default(),
        },
        metrics,
        params,
        description,
        tags,
        status: VersionStatus::Active,
        status_reason: None,
        extensions: Default::default(),
    };
    let mut changes = vec![Change {
        path: Layout::version(&model, number),
        content: Some(yaml("version", &version)?),
    }];
    if !state.snapshot.exists(&Layout::model(&model)) {
        changes.push(state.model_change()?);
    }
    let register_format = state.config.tags.as_ref().and_then(|t| t.register.clone());
    let tag = state.tag_name(
        register_format.as_deref(),
        DEFAULT_REGISTER_TAG,
        &[("model", model.clone()), ("version", number.to_string())],
    )?;
    Ok(Plan {
        event: Event::new(EventKind::Register)
            .model(&model)
            .version(number),
        changes,
        tags: vec![tag],
        decision: None,
    })
}

fn assign(
    state: &mut State<'_, '_>,
    version: u64,
    stage: &str,
    rollback: bool,
    actor: &Actor<'_>,
) -> Result<Plan, PlanError> {
    let model = state.name();
    let previous = state.model.stages.get(stage).copied();
    let kind = if rollback {
        EventKind::Rollback
    } else {
        EventKind::Promote
    };
    let event = Event::new(kind)
        .model(&model)
        .version(version)
        .stage(stage)
        .previous(previous);
    let approvals = if state.numbers.contains(&version) {
        state.facts()?.approvals_for(version)
    } else {
        Vec::new()
    };
    let request = if rollback {
        Request::Rollback {
            version,
            stage: stage.to_owned(),
        }
    } else {
        Request::Promote {
            version,
            stage: stage.to_owned(),
        }
    };
    let decision = state.judge(request, &event, actor, approvals)?;
    let n = state.facts()?.assignments.get(stage).copied().unwrap_or(0) + 1;
    state.model.stages.insert(stage.to_owned(), version);
    let assign_format = state.config.tags.as_ref().and_then(|t| t.assign.clone());
    let tag = state.tag_name(
        assign_format.as_deref(),
        DEFAULT_ASSIGN_TAG,
        &[
            ("model", model),
            ("version", version.to_string()),
            ("stage", stage.to_owned()),
            ("n", n.to_string()),
        ],
    )?;
    Ok(Plan {
        event,
        changes: vec![state.model_change()?],
        tags: vec![tag],
        decision: Some(decision),
    })
}

fn demote(state: &mut State<'_, '_>, stage: &str, actor: &Actor<'_>) -> Result<Plan, PlanError> {
    let model = state.name();
    let current = state.model.stages.get(stage).copied();
    let mut event = Event::new(EventKind::Demote).model(&model).stage(stage);
    event.version = current;
    let decision = state.judge(
        Request::Demote {
            stage: stage.to_owned(),
        },
        &event,
        actor,
        Vec::new(),
    )?;
    state.model.stages.remove(stage);
    Ok(Plan {
        event,
        changes: vec![state.model_change()?],
        tags: Vec::new(),
        decision: Some(decision),
    })
}

fn set_alias(
    state: &mut State<'_, '_>,
    alias: &str,
    version: Option<u64>,
    actor: &Actor<'_>,
) -> Result<Plan, PlanError> {
    names::check(NameKind::Alias, alias).map_err(|e| PlanError::Invalid(e.to_string()))?;
    let model = state.name();
    let previous = state.model.aliases.get(alias).copied();
    let (event, request) = match version {
        Some(v) => (
            Event::new(EventKind::Alias)
                .model(&model)
                .alias(alias)
                .version(v)
                .previous(previous),
            Request::SetAlias {
                alias: alias.to_owned(),
                version: v,
            },
        ),
        None => {
            let mut e = Event::new(EventKind::Unalias).model(&model).alias(alias);
            e.version = previous;
            (
                e,
                Request::RemoveAlias {
                    alias: alias.to_owned(),
                },
            )
        }
    };
    let approvals = match version {
        Some(v) if state.numbers.contains(&v) => state.facts()?.approvals_for(v),
        _ => Vec::new(),
    };
    let decision = state.judge(request, &event, actor, approvals)?;
    match version {
        Some(v) => state.model.aliases.insert(alias.to_owned(), v),
        None => state.model.aliases.remove(alias),
    };
    Ok(Plan {
        event,
        changes: vec![state.model_change()?],
        tags: Vec::new(),
        decision: Some(decision),
    })
}
