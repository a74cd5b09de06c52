//! The pull-request gate behind `regent check`: what a change between two
//! revisions does to the registry, whether each event is allowed by the
//! policy of the base (never the head's), with approvals from the pull
//! request's reviews, and whether the changed files are valid. Git-side and
//! pure otherwise: reviews and team memberships come in as plain values.

mod judge;
mod reviews;

pub use judge::{Change, Verdict, counts, judge_all, versions_from_runs};
pub use reviews::{PullRequestFacts, ReviewFacts, ignored_approvals, valid_approvers};

use crate::diagnostic::Diagnostic;
use crate::events::{self, Event, EventKind};
use crate::git::{Context as _, GitError, Repo};
use crate::history::{self, Filter};
use crate::registry::Config;
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The gate's report, as `check --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub events: Vec<Verdict>,
    pub errors: Vec<Diagnostic>,
    #[serde(skip)]
    pub base: String,
    #[serde(skip)]
    pub head: String,
    /// Approvers whose reviews count (for the report).
    #[serde(skip)]
    pub approvers: Vec<String>,
}

/// Looks up the merged pull request a commit on the branch came through
/// (GitHub's "pull requests associated with a commit"); `Err` says why it
/// could not be asked.
pub type PullLookup<'a> = &'a dyn Fn(&str) -> Result<Option<PullRequestFacts>, String>;

/// What the gate is asked.
pub struct Input<'a> {
    pub base: &'a str,
    pub head: &'a str,
    pub pull_request: Option<&'a PullRequestFacts>,
    /// Is `user` in team `@org/team`? (Looked up by the caller, once per team.)
    pub is_member: &'a dyn Fn(&str, &str) -> bool,
    /// On the base branch (no pull request): which pull request a commit
    /// that is not a merge came through (a squash or rebase merge). None
    /// without GitHub access: only merge commits count as pull requests.
    pub merged_pull: Option<PullLookup<'a>>,
}

/// Judges the change from `base` to `head`: its net change (what a merge
/// commit or a squash puts on the base) and, when several of its commits
/// change the registry, each of them in order (what a rebase merge puts on
/// the base, one state per commit).
pub fn check(repo: &Repo, input: &Input<'_>) -> Result<Report, GitError> {
    repo.require_full_history("the gate's verdict")?;
    let base = repo.resolve(input.base)?;
    let head = repo.resolve(input.head)?;
    // The change is what head adds to the point it forked from base.
    let fork = repo
        .repo
        .merge_base(base.id(), head.id())
        .context(|| "finding where the change forked from the base".into())?;
    let fork = repo
        .repo
        .find_commit(fork)
        .context(|| "reading the fork point".into())?;
    let base_snapshot = Snapshot::of_commit(repo, &base)?;
    let fork_snapshot = Snapshot::of_commit(repo, &fork)?;
    let Some(head_snapshot) = Snapshot::of_commit(repo, &head)? else {
        return Err(GitError::BadRevision {
            rev: input.head.to_owned(),
            message: "it has no registry folder".into(),
        });
    };
    let changed = head_snapshot.changed_paths(fork_snapshot.as_ref())?;
    let mut errors = crate::validate::validate_paths(&head_snapshot, &changed)?;
    let derived =
        events::diff_events(fork_snapshot.as_ref(), &head_snapshot, &changed).unwrap_or_default();

    // The policy is the base's. Without a readable one nothing can be allowed.
    let config = match base_snapshot.as_ref().map(|s| s.config()) {
        Some(Ok(config)) => Some(config.value),
        Some(Err(diagnostics)) => {
            errors.extend(diagnostics);
            None
        }
        None => None,
    };
    let approvers = input.pull_request.map(valid_approvers).unwrap_or_default();
    let ignored = input
        .pull_request
        .map(ignored_approvals)
        .unwrap_or_default();
    let claims = claims_of(repo, &fork, &head)?;
    let mut requesters: Vec<String> = input
        .pull_request
        .map(|p| p.author.clone())
        .into_iter()
        .chain(claims.requesters.iter().cloned())
        .collect();
    requesters.dedup();
    let steps = registry_steps(repo, &head, &fork)?;
    let touched_runs: BTreeSet<String> = derived
        .iter()
        .chain(steps.iter().flat_map(|s| s.events.iter()))
        .filter(|e| matches!(e.event, EventKind::Edit | EventKind::Delete))
        .filter_map(|e| Some(format!("{}/{}", e.experiment.as_ref()?, e.run.as_ref()?)))
        .collect();
    let mut referenced_runs = versions_from_runs(&head_snapshot, &touched_runs)?;
    if let Some(base_snapshot) = &base_snapshot {
        for (run, users) in versions_from_runs(base_snapshot, &touched_runs)? {
            let entry = referenced_runs.entry(run).or_default();
            entry.extend(users);
            entry.sort();
            entry.dedup();
        }
    }
    let change = Change {
        repo,
        config: config.as_ref(),
        before: base_snapshot.as_ref(),
        after: &head_snapshot,
        history: base.id(),
        reviewers: input.pull_request.map(|_| approvers.as_slice()),
        ignored: &ignored,
        requesters: &requesters,
        via_pull_request: input.pull_request.is_some(),
        is_member: input.is_member,
        rollbacks: &claims.rollbacks,
        referenced_runs: &referenced_runs,
    };
    let mut verdicts = judge_all(&change, derived)?;
    if steps.len() > 1 {
        let refused: Vec<Verdict> = verdicts.iter().filter(|v| !v.allowed).cloned().collect();
        for verdict in judge_steps(repo, &change, &steps)? {
            let repeated = refused
                .iter()
                .any(|r| events::same_move(&r.event, &verdict.event));
            if !repeated {
                verdicts.push(verdict);
            }
        }
    }
    if input.pull_request.is_none() {
        verdicts.extend(direct_commits(repo, input, config.as_ref())?);
    }
    crate::diagnostic::normalize(&mut errors);
    let ok = errors.is_empty() && verdicts.iter().all(|v| v.allowed);
    Ok(Report {
        ok,
        events: verdicts,
        errors,
        base: base.id().to_string(),
        head: head.id().to_string(),
        approvers,
    })
}

/// One commit of a pull request that changes the registry, and its events
/// against its parent.
struct Step {
    commit: git2::Oid,
    parent: git2::Oid,
    events: Vec<Event>,
}

/// The commits on `head`'s first-parent line after `fork` that change the
/// registry, oldest first. Merges (of the base into the branch) are left
/// out: what they bring was judged on the base, and a rebase merge drops them.
fn registry_steps(
    repo: &Repo,
    head: &git2::Commit<'_>,
    fork: &git2::Commit<'_>,
) -> Result<Vec<Step>, GitError> {
    let mut out = Vec::new();
    for oid in history::first_parent_line(repo, head.id(), Some(fork.id()))? {
        let commit = repo
            .repo
            .find_commit(oid)
            .context(|| format!("reading commit {oid}"))?;
        if commit.parent_count() != 1 {
            continue;
        }
        let parent = commit
            .parent(0)
            .context(|| format!("reading the parent of {oid}"))?;
        let (Some(after), before) = (
            Snapshot::of_commit(repo, &commit)?,
            Snapshot::of_commit(repo, &parent)?,
        ) else {
            continue;
        };
        if before.as_ref().and_then(Snapshot::tree_id) == after.tree_id() {
            continue;
        }
        let changed = after.changed_paths(before.as_ref())?;
        let events = events::diff_events(before.as_ref(), &after, &changed).unwrap_or_default();
        if !events.is_empty() {
            out.push(Step {
                commit: oid,
                parent: parent.id(),
                events,
            });
        }
    }
    Ok(out)
}

/// Each step judged on its own, by the base's policy, from the state its
/// parent left: the states a rebase merge would put on the base. Only the
/// refusals are returned.
fn judge_steps(
    repo: &Repo,
    net: &Change<'_, '_>,
    steps: &[Step],
) -> Result<Vec<Verdict>, GitError> {
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let commit = repo
            .repo
            .find_commit(step.commit)
            .context(|| format!("reading commit {}", step.commit))?;
        let parent = repo
            .repo
            .find_commit(step.parent)
            .context(|| format!("reading commit {}", step.parent))?;
        let Some(after) = Snapshot::of_commit(repo, &commit)? else {
            continue;
        };
        let before = Snapshot::of_commit(repo, &parent)?;
        let change = Change {
            before: before.as_ref(),
            after: &after,
            history: step.parent,
            ..*net
        };
        let short = &step.commit.to_string()[..12];
        for mut verdict in judge_all(&change, step.events.clone())? {
            if verdict.allowed {
                continue;
            }
            verdict.event.commit = Some(step.commit.to_string());
            verdict.reasons.insert(
                0,
                format!(
                    "commit {short} (step {} of {} that change the registry) leaves a state the policy refuses:",
                    i + 1,
                    steps.len()
                ),
            );
            verdict.reasons.push(
                "a rebase merge would put that state on the base as it is: fix the commit, or squash the pull request's commits into one".into(),
            );
            out.push(verdict);
        }
    }
    Ok(out)
}

/// What the change's own commits claim: the rollbacks (a pointer move
/// judged as a rollback) and who started them (`Regent-Actor` of every
/// event but approvals: never an approver of the same change).
struct Claims {
    rollbacks: BTreeSet<(String, String, u64)>,
    requesters: Vec<String>,
}

fn claims_of(
    repo: &Repo,
    fork: &git2::Commit<'_>,
    head: &git2::Commit<'_>,
) -> Result<Claims, GitError> {
    let mut out = Claims {
        rollbacks: BTreeSet::new(),
        requesters: Vec::new(),
    };
    let mut walk = repo
        .repo
        .revwalk()
        .context(|| "walking the change".into())?;
    walk.push(head.id())
        .context(|| "walking the change".into())?;
    walk.hide(fork.id())
        .context(|| "walking the change".into())?;
    for oid in walk {
        let oid = oid.context(|| "walking the change".into())?;
        let commit = repo
            .repo
            .find_commit(oid)
            .context(|| format!("reading {oid}"))?;
        let trailers = events::parse_trailers(commit.message().unwrap_or_default());
        let Some(e) = events::event_from_trailers(&trailers) else {
            continue;
        };
        if e.event != EventKind::Approve
            && let Some(actor) = &e.actor
            && !out.requesters.iter().any(|r| r.eq_ignore_ascii_case(actor))
        {
            out.requesters.push(actor.clone());
        }
        if e.event == EventKind::Rollback
            && let (Some(m), Some(s), Some(v)) = (e.model, e.stage, e.version)
        {
            out.rollbacks.insert((m, s, v));
        }
    }
    Ok(out)
}

/// On the base branch itself (no pull request): commits that moved a
/// `direct: false` stage without a pull request bypassed the review.
///
/// Told from the graph, never from text: a merge commit on the branch's
/// first-parent line brought a pull request in; any other commit is direct
/// unless GitHub lists a merged pull request for it (a squash or rebase
/// merge). A subject ending in `(#12)` proves nothing.
fn direct_commits(
    repo: &Repo,
    input: &Input<'_>,
    config: Option<&Config>,
) -> Result<Vec<Verdict>, GitError> {
    let Some(config) = config else {
        return Ok(Vec::new());
    };
    let guarded: BTreeSet<&str> = config
        .stages
        .iter()
        .filter(|s| s.direct == Some(false))
        .map(|s| s.name.as_str())
        .collect();
    if guarded.is_empty() {
        return Ok(Vec::new());
    }
    let range = history::walk_range(repo, Some(input.base), input.head, &Filter::default())?;
    let mut merged: BTreeMap<String, Result<bool, String>> = BTreeMap::new();
    let mut out = Vec::new();
    for event in range.events {
        let moves_guarded = matches!(
            event.event,
            EventKind::Promote | EventKind::Rollback | EventKind::Demote
        ) && event.stage.as_deref().is_some_and(|s| guarded.contains(s));
        let Some(commit) = event.commit.clone().filter(|_| moves_guarded) else {
            continue;
        };
        let through_pull = merged
            .entry(commit.clone())
            .or_insert_with(|| came_through_pull_request(repo, input, &commit))
            .clone();
        let why = match through_pull {
            Ok(true) => continue,
            Ok(false) => {
                "it is not a merge, and GitHub lists no merged pull request for it".to_owned()
            }
            Err(e) => format!(
                "it is not a merge commit, and without GitHub ({e}) a squash or rebase merge cannot be told from a direct push"
            ),
        };
        let short = &commit[..commit.len().min(12)];
        let stage = event.stage.clone().unwrap_or_default();
        out.push(Verdict::new(
            event,
            false,
            vec![format!(
                "commit {short} changed {stage} directly, but {stage} changes only through a pull request (direct: false): {why}"
            )],
        ));
    }
    Ok(out)
}

/// Whether `commit` came through a pull request: a merge by the graph, or a
/// commit GitHub associates with a merged pull request.
fn came_through_pull_request(repo: &Repo, input: &Input<'_>, commit: &str) -> Result<bool, String> {
    let oid = git2::Oid::from_str(commit).map_err(|e| e.to_string())?;
    let parents = repo
        .repo
        .find_commit(oid)
        .map_err(|e| e.to_string())?
        .parent_count();
    if parents > 1 {
        return Ok(true);
    }
    match input.merged_pull {
        Some(lookup) => lookup(commit).map(|pull| pull.is_some()),
        None => Err("no GitHub token".into()),
    }
}
