//! Judging the events of one change by a policy: stage and alias moves by
//! the policy engine, and everything no command would do (frozen fields,
//! deletions, a way back from a final status, rewriting a run a version was
//! registered from) refused here, so the gate enforces what the commands
//! enforce. Used for a pull request's net change, for each of its commits,
//! and by `publish` for each commit on the branch.

use crate::events::{Event, EventKind};
use crate::git::{GitError, Repo};
use crate::history::{self, Filter, ModelFacts};
use crate::policy::{self, Approval, ApprovalTarget, Request, VersionFacts};
use crate::registry::{Config, Layout, ModelFile, VersionFile, VersionStatus};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One event and the gate's verdict on it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub event: Event,
    pub allowed: bool,
    pub reasons: Vec<String>,
    /// Every policy check, passed or not (for the report's table).
    #[serde(skip)]
    pub checks: Vec<policy::Check>,
}

impl Verdict {
    pub fn new(event: Event, allowed: bool, reasons: Vec<String>) -> Verdict {
        Verdict {
            event,
            allowed,
            reasons,
            checks: Vec::new(),
        }
    }
}

/// One change to judge, and everything its verdicts depend on.
pub struct Change<'a, 'r> {
    pub repo: &'r Repo,
    /// The policy: the base's, never the change's own. None: unreadable.
    pub config: Option<&'a Config>,
    /// The registry the change starts from (current stage and alias holders).
    pub before: Option<&'a Snapshot<'r>>,
    /// The registry after the change (versions are read from here).
    pub after: &'a Snapshot<'r>,
    /// The commit whose first-parent history gives the facts (`requires`,
    /// offline approvals): the state the change is applied to.
    pub history: git2::Oid,
    /// Logins whose reviews approve the change; None when the change is not
    /// a pull request (offline `approve` commits count instead).
    pub reviewers: Option<&'a [String]>,
    /// Why approvals given on the pull request do not count.
    pub ignored: &'a [String],
    /// Who started the change (the pull request's author, the
    /// `Regent-Actor` of its commits): never its approvers.
    pub requesters: &'a [String],
    /// Whether the change came through a pull request (`direct: false`).
    pub via_pull_request: bool,
    pub is_member: &'a dyn Fn(&str, &str) -> bool,
    /// `(model, stage, version)` of the rollbacks the change's commits claim.
    pub rollbacks: &'a BTreeSet<(String, String, u64)>,
    /// Run ids (`experiment/run`) and the versions registered from them,
    /// for the runs the change edits or deletes.
    pub referenced_runs: &'a BTreeMap<String, Vec<(String, u64)>>,
}

/// Judges each event of `change`, in order.
pub fn judge_all(change: &Change<'_, '_>, events: Vec<Event>) -> Result<Vec<Verdict>, GitError> {
    let mut facts = BTreeMap::new();
    events
        .into_iter()
        .map(|event| judge(change, event, &mut facts))
        .collect()
}

fn judge(
    cx: &Change<'_, '_>,
    event: Event,
    facts: &mut BTreeMap<String, ModelFacts>,
) -> Result<Verdict, GitError> {
    let Some(config) = cx.config else {
        return Ok(Verdict::new(
            event,
            false,
            vec!["the base has no readable regent.yaml, so nothing can be judged".into()],
        ));
    };
    if event.model.is_none() && event.run.is_some() {
        return Ok(judge_run(cx, event));
    }
    match event.event {
        EventKind::Edit | EventKind::Delete | EventKind::Deprecate | EventKind::Archive => {
            Ok(judge_version_change(cx, event))
        }
        EventKind::Policy => Ok(judge_policy(cx, config, event)),
        EventKind::Promote
        | EventKind::Rollback
        | EventKind::Demote
        | EventKind::Alias
        | EventKind::Unalias => judge_move(cx, config, event, facts),
        _ => Ok(Verdict::new(event, true, Vec::new())),
    }
}

/// A run file edited or deleted: a run that a version was registered from
/// is part of that version's record and never changes, and an ended run is
/// never edited (a running one is, by `run update` and `run end`).
fn judge_run(cx: &Change<'_, '_>, event: Event) -> Verdict {
    let id = format!(
        "{}/{}",
        event.experiment.as_deref().unwrap_or("?"),
        event.run.as_deref().unwrap_or("?")
    );
    let users = cx.referenced_runs.get(&id).cloned().unwrap_or_default();
    if matches!(event.event, EventKind::Edit | EventKind::Delete) && !users.is_empty() {
        let names: Vec<String> = users.iter().map(|(m, v)| format!("{m} v{v}")).collect();
        let verb = if event.event == EventKind::Delete {
            "deleted"
        } else {
            "changed"
        };
        return Verdict::new(
            event,
            false,
            vec![format!(
                "run {id} is {verb}, but {} {} registered from it; the run is part of that record",
                names.join(", "),
                if names.len() == 1 { "was" } else { "were" }
            )],
        );
    }
    // An ended run is immutable, as `run update` and `run end` enforce: a
    // hand edit in a pull request must not rewrite what a run measured.
    if event.event == EventKind::Edit
        && let (Some(before), Some(experiment), Some(run)) =
            (cx.before, event.experiment.as_deref(), event.run.as_deref())
        && let Ok(old) = before.run(experiment, run)
        && old.value.status != crate::registry::RunStatus::Running
    {
        let status = old.value.status.as_str();
        return Verdict::new(
            event,
            false,
            vec![format!(
                "run {id} had ended ({status}) before this change; an ended run is immutable: log a new run instead"
            )],
        );
    }
    Verdict::new(event, true, Vec::new())
}

/// What happened to a version file (or a model's frozen fields): only
/// the status moves the commands make are allowed.
fn judge_version_change(cx: &Change<'_, '_>, event: Event) -> Verdict {
    let model = event.model.clone().unwrap_or_default();
    let what = match event.version {
        Some(v) => format!("{model} v{v}"),
        None => format!("model {model}"),
    };
    let refuse = |event: Event, reason: String| Verdict::new(event, false, vec![reason]);
    if event.event == EventKind::Delete {
        return refuse(
            event,
            "registered versions and models are never deleted; archive them instead".into(),
        );
    }
    let Some(number) = event.version else {
        return refuse(
            event,
            format!(
                "{what} was changed where it is frozen: a model's name and creation time never change"
            ),
        );
    };
    let read = |s: Option<&Snapshot<'_>>| -> Option<VersionFile> {
        s?.version(&model, number).ok().map(|l| l.value)
    };
    let (old, new) = (read(cx.before), read(Some(cx.after)));
    let (Some(old), Some(new)) = (old, new) else {
        return refuse(
            event,
            format!("{what} cannot be read on both sides of the change"),
        );
    };
    if event.event == EventKind::Edit && crate::events::frozen_fields_differ(&old, &new) {
        return refuse(
            event,
            format!(
                "{what} was changed where it is frozen: after registration only status, tags and description may change"
            ),
        );
    }
    if old.status != new.status {
        if old.status == VersionStatus::Archived {
            return refuse(
                event,
                format!("{what} is archived, and archiving is final: its status cannot change"),
            );
        }
        if new.status == VersionStatus::Active {
            return refuse(
                event,
                format!(
                    "{what} goes from {} back to active; regent has no way back (register the artifact again)",
                    old.status.as_str()
                ),
            );
        }
        if new.status == VersionStatus::Archived {
            let holding = holders_of(cx.after, &model, number);
            if !holding.is_empty() {
                return refuse(
                    event,
                    format!(
                        "{what} is archived while still in {}; demote it or move the aliases first",
                        holding.join(", ")
                    ),
                );
            }
        }
    }
    Verdict::new(event, true, Vec::new())
}

/// The stages and aliases (`@name`) of `model` that point at `version`.
fn holders_of(snapshot: &Snapshot<'_>, model: &str, version: u64) -> Vec<String> {
    let Ok(file) = snapshot.model(model) else {
        return Vec::new();
    };
    let file = file.value;
    let stages = file.stages.iter().filter(|(_, v)| **v == version);
    let aliases = file.aliases.iter().filter(|(_, v)| **v == version);
    stages
        .map(|(s, _)| s.clone())
        .chain(aliases.map(|(a, _)| format!("@{a}")))
        .collect()
}

fn judge_policy(cx: &Change<'_, '_>, config: &Config, event: Event) -> Verdict {
    let owners = &config.policy_owners;
    if owners.is_empty() {
        return Verdict::new(
            event,
            true,
            vec!["regent.yaml changed; it has no policy_owners, so anyone may change it".into()],
        );
    }
    let reviewers = cx.reviewers.unwrap_or_default();
    let counted: Vec<&String> = reviewers
        .iter()
        .filter(|a| !cx.requesters.iter().any(|r| r.eq_ignore_ascii_case(a)))
        .filter(|a| counts(a, owners, cx.is_member))
        .collect();
    let allowed = cx.reviewers.is_some() && !counted.is_empty();
    let reason = if allowed {
        format!(
            "regent.yaml changed, approved by policy owner {}",
            counted[0]
        )
    } else {
        let others: Vec<String> = reviewers
            .iter()
            .map(|a| format!("{a} (not a policy owner)"))
            .collect();
        let not_counted = if others.is_empty() {
            String::new()
        } else {
            format!("; not counted: {}", others.join(", "))
        };
        format!(
            "regent.yaml changed: needs an approval by one of the policy owners ({}){not_counted}",
            owners.join(", ")
        )
    };
    let mut reasons = vec![reason];
    if !allowed {
        reasons.extend(cx.ignored.iter().cloned());
    }
    Verdict::new(event, allowed, reasons)
}

/// A stage or alias pointer moved: the policy engine decides.
fn judge_move(
    cx: &Change<'_, '_>,
    config: &Config,
    event: Event,
    facts: &mut BTreeMap<String, ModelFacts>,
) -> Result<Verdict, GitError> {
    let model = event.model.clone().unwrap_or_default();
    let request = request_for(&event, cx.rollbacks);
    // Current pointers from where the change starts; version facts from
    // after it (a version registered in the same change has no file before).
    let current = cx
        .before
        .filter(|s| s.exists(&Layout::model(&model)))
        .and_then(|s| s.model(&model).ok())
        .map(|l| l.value)
        .unwrap_or_else(|| ModelFile {
            name: model.clone(),
            ..ModelFile::default()
        });
    let mut versions = BTreeMap::new();
    // Only the versions the rules look at: the candidate and the current
    // holder of the stage or alias.
    let mut needed: Vec<u64> = [event.version, event.previous]
        .into_iter()
        .flatten()
        .collect();
    if let Some(stage) = &event.stage {
        needed.extend(current.stages.get(stage));
    }
    needed.sort_unstable();
    needed.dedup();
    for n in needed {
        if let Ok(v) = cx.after.version(&model, n) {
            let v = v.value;
            versions.insert(
                n,
                VersionFacts {
                    status: v.status,
                    metrics: v.metrics,
                    created_by: v.created_by,
                },
            );
        }
    }
    if !facts.contains_key(&model) {
        let filter = Filter {
            model: Some(model.clone()),
            ..Filter::default()
        };
        let history = history::walk(cx.repo, &cx.history.to_string(), &filter)?;
        facts.insert(model.clone(), ModelFacts::from_events(&history.events));
    }
    let model_facts = &facts[&model];
    let approvals = match cx.reviewers {
        Some(reviewers) => approvals_for(&event, reviewers),
        None => event
            .version
            .map(|v| model_facts.approvals_for(v))
            .unwrap_or_default(),
    };
    let actor = cx.requesters.first().map(String::as_str).unwrap_or("");
    let context = policy::Context {
        config,
        model: &current,
        versions: &versions,
        held: &model_facts.held,
        approvals: &approvals,
        actor,
        requested_by: cx.requesters,
        via_pull_request: cx.via_pull_request,
        is_member: cx.is_member,
    };
    let decision = policy::judge(&context, &request);
    let mut event = event;
    if matches!(request, Request::Rollback { .. }) {
        event.event = EventKind::Rollback;
    }
    let mut reasons: Vec<String> = decision.failures().map(|c| c.message.clone()).collect();
    // Approvals missing: say what became of the ones given.
    if decision
        .failures()
        .any(|c| c.rule == policy::Rule::Approvals)
    {
        reasons.extend(cx.ignored.iter().cloned());
    }
    Ok(Verdict {
        event,
        allowed: decision.allowed(),
        reasons,
        checks: decision.checks,
    })
}

fn request_for(event: &Event, rollbacks: &BTreeSet<(String, String, u64)>) -> Request {
    let stage = event.stage.clone().unwrap_or_default();
    let alias = event.alias.clone().unwrap_or_default();
    let version = event.version.unwrap_or_default();
    match event.event {
        EventKind::Promote | EventKind::Rollback => {
            let model = event.model.clone().unwrap_or_default();
            if event.event == EventKind::Rollback
                || rollbacks.contains(&(model, stage.clone(), version))
            {
                Request::Rollback { version, stage }
            } else {
                Request::Promote { version, stage }
            }
        }
        EventKind::Demote => Request::Demote { stage },
        EventKind::Alias => Request::SetAlias { alias, version },
        _ => Request::RemoveAlias { alias },
    }
}

/// Every valid reviewer approves every event of the pull request.
fn approvals_for(event: &Event, approvers: &[String]) -> Vec<Approval> {
    let target = match (&event.stage, &event.alias) {
        (Some(s), _) => ApprovalTarget::Stage(s.clone()),
        (None, Some(a)) => ApprovalTarget::Alias(a.clone()),
        _ => return Vec::new(),
    };
    let Some(version) = event.version else {
        return Vec::new();
    };
    approvers
        .iter()
        .map(|a| Approval {
            actor: a.clone(),
            version,
            target: target.clone(),
        })
        .collect()
}

/// Whether `user` is in `list` directly or through a team.
pub fn counts(user: &str, list: &[String], is_member: &dyn Fn(&str, &str) -> bool) -> bool {
    list.iter().any(|entry| {
        if entry.starts_with('@') && entry.contains('/') {
            is_member(user, entry)
        } else {
            entry.trim_start_matches('@').eq_ignore_ascii_case(user)
        }
    })
}

/// The versions registered from each of `runs` (ids `experiment/run`),
/// found by reading every version file of `snapshot`: only paid by a
/// change that edits or deletes run files.
pub fn versions_from_runs(
    snapshot: &Snapshot<'_>,
    runs: &BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<(String, u64)>>, GitError> {
    let mut out: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    if runs.is_empty() {
        return Ok(out);
    }
    for model in snapshot.model_names()? {
        for n in snapshot.version_numbers(&model)? {
            if let Ok(version) = snapshot.version(&model, n)
                && let Some(run) = version.value.run
                && runs.contains(&run)
            {
                out.entry(run).or_default().push((model.clone(), n));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_and_direct_membership() {
        let member = |user: &str, team: &str| user == "bob" && team == "@acme/leads";
        let list = vec!["alice".to_owned(), "@acme/leads".to_owned()];
        assert!(counts("ALICE", &list, &member));
        assert!(counts("bob", &list, &member));
        assert!(!counts("mallory", &list, &member));
    }
}
