//! The registry's history: commits walked into events, oldest first, and the
//! facts the policy needs from them (which stages a version has held, how
//! many times a stage was assigned, which approvals a version has, who held a
//! stage before). Also time travel: the commit that was current at a time.

use crate::events::{self, Event, EventKind, Via};
use crate::git::{Context, GitError, Repo};
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet};

/// Which events to keep.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub model: Option<String>,
    pub stage: Option<String>,
    pub since: Option<jiff::Timestamp>,
    pub until: Option<jiff::Timestamp>,
}

/// Events and whether the walk was cut short by a shallow clone.
#[derive(Debug, Clone)]
pub struct History {
    pub events: Vec<Event>,
    pub shallow: bool,
}

/// Walks every commit reachable from `rev`, oldest first, into events.
///
/// A model's events (or the whole registry's) are cached per walk tip (see
/// [`crate::history_cache`]): a later walk from a descendant only visits the
/// new commits. Shallow clones are never cached (their history may deepen).
pub fn walk(repo: &Repo, rev: &str, filter: &Filter) -> Result<History, GitError> {
    let tip = repo.resolve(rev)?.id();
    let shallow = repo.repo.is_shallow();
    let key = filter.model.clone().unwrap_or_else(|| "_all".to_owned());
    // The cache keeps every event of the key; time and stage filter afterwards.
    let unfiltered = Filter {
        model: filter.model.clone(),
        ..Filter::default()
    };
    let full = |from: Option<&str>| {
        walk_range(repo, from, &tip.to_string(), &unfiltered).map(|h| h.events)
    };
    let events = if shallow {
        full(None)?
    } else {
        match crate::history_cache::load(repo, &key) {
            Some((cached, events)) if cached == tip => events,
            Some((cached, mut events))
                if repo.repo.graph_descendant_of(tip, cached).unwrap_or(false) =>
            {
                events.extend(full(Some(&cached.to_string()))?);
                crate::history_cache::store(repo, &key, tip, &events);
                events
            }
            _ => {
                let events = full(None)?;
                crate::history_cache::store(repo, &key, tip, &events);
                events
            }
        }
    };
    let events = events
        .into_iter()
        .filter(|e| keep(e, filter) && in_time(e, filter))
        .collect();
    Ok(History { events, shallow })
}

/// Whether an event's time is within `--since`/`--until`.
fn in_time(event: &Event, filter: &Filter) -> bool {
    let Some(time) = event.time.as_deref().and_then(crate::time::parse) else {
        return filter.since.is_none() && filter.until.is_none();
    };
    filter.since.is_none_or(|s| time >= s) && filter.until.is_none_or(|u| time <= u)
}

/// Walks the commits reachable from `to` but not from `from` (`git log
/// from..to`), oldest first, into events.
pub fn walk_range(
    repo: &Repo,
    from: Option<&str>,
    to: &str,
    filter: &Filter,
) -> Result<History, GitError> {
    let tip = repo.resolve(to)?;
    let git = &repo.repo;
    let _no_cache = crate::git::NoObjectCache::new();
    let mut revwalk = git.revwalk().context(|| "walking history".into())?;
    revwalk
        .set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .context(|| "walking history".into())?;
    revwalk
        .push(tip.id())
        .context(|| "walking history".into())?;
    if let Some(from) = from {
        let base = repo.resolve(from)?;
        revwalk
            .hide(base.id())
            .context(|| "walking history".into())?;
    }
    // The folder whose changes matter: the model's, or the whole registry's.
    let watched = filter
        .model
        .as_ref()
        .map(|m| format!("models/{m}"))
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut seen: std::collections::HashMap<git2::Oid, Option<git2::Oid>> =
        std::collections::HashMap::new();
    for oid in revwalk {
        let oid = oid.context(|| "walking history".into())?;
        let commit = git
            .find_commit(oid)
            .context(|| format!("reading commit {oid}"))?;
        // Most commits leave the watched folder alone: tell by tree ids,
        // each commit's looked up once (it is the next commit's parent).
        let after = watched_tree(repo, &commit, &watched, &mut seen);
        let unchanged = commit.parent_count() > 0
            && commit.parent_ids().any(|p| {
                let before = match seen.get(&p) {
                    Some(id) => *id,
                    None => git
                        .find_commit(p)
                        .map(|parent| watched_tree(repo, &parent, &watched, &mut seen))
                        .unwrap_or(None),
                };
                before == after
            });
        // Approvals change no file; their trailer is the event.
        let approval = commit
            .message_raw_bytes()
            .windows(APPROVE.len())
            .any(|w| w == APPROVE.as_bytes());
        if unchanged && !approval {
            continue;
        }
        for event in commit_events(repo, &commit, &watched)? {
            if keep(&event, filter) && in_time(&event, filter) {
                out.push(event);
            }
        }
    }
    Ok(History {
        events: out,
        shallow: git.is_shallow(),
    })
}

/// The trailer an approval commit carries.
const APPROVE: &str = "Regent-Event: approve";

/// The id of the watched folder (registry-relative; empty for the whole
/// registry) in `commit`, remembered per commit.
fn watched_tree(
    repo: &Repo,
    commit: &git2::Commit<'_>,
    watched: &str,
    seen: &mut std::collections::HashMap<git2::Oid, Option<git2::Oid>>,
) -> Option<git2::Oid> {
    if let Some(id) = seen.get(&commit.id()) {
        return *id;
    }
    let path = repo.repo_path(watched);
    let path = path.trim_end_matches('/');
    let id = if path.is_empty() {
        Some(commit.tree_id())
    } else {
        commit
            .tree()
            .ok()
            .and_then(|t| t.get_path(std::path::Path::new(path)).ok())
            .map(|e| e.id())
    };
    seen.insert(commit.id(), id);
    id
}

fn keep(event: &Event, filter: &Filter) -> bool {
    let model_ok = filter
        .model
        .as_ref()
        .is_none_or(|m| event.model.as_deref() == Some(m));
    let stage_ok = filter
        .stage
        .as_ref()
        .is_none_or(|s| event.stage.as_deref() == Some(s));
    model_ok && stage_ok
}

fn commit_time(commit: &git2::Commit<'_>) -> jiff::Timestamp {
    crate::time::from_git_seconds(commit.time().seconds())
}

/// The events one commit makes: what its diff shows, labelled `regent` where
/// its trailers explain it and `manual` where they do not; plus approvals,
/// which change no file.
pub fn commit_events(
    repo: &Repo,
    commit: &git2::Commit<'_>,
    watched: &str,
) -> Result<Vec<Event>, GitError> {
    let after = Snapshot::of_commit(repo, commit)?;
    let message = commit.message().unwrap_or_default();
    let trailer = events::event_from_trailers(&events::parse_trailers(message));
    let parents: Vec<git2::Commit<'_>> = commit.parents().collect();
    let befores = parents
        .iter()
        .map(|p| Snapshot::of_commit(repo, p))
        .collect::<Result<Vec<_>, _>>()?;

    let watched_id = |s: &Option<Snapshot<'_>>| {
        s.as_ref().and_then(|s| {
            if watched.is_empty() {
                s.tree_id()
            } else {
                s.subtree_id(watched)
            }
        })
    };
    let after_id = watched_id(&after);
    let unchanged = if befores.is_empty() {
        after_id.is_none()
    } else {
        befores.iter().any(|b| watched_id(b) == after_id)
    };

    let mut derived = Vec::new();
    if !unchanged && let Some(after) = &after {
        // A merge is judged against every parent: only what differs from all
        // of them (a hand edit while resolving) is the merge's own doing.
        let mut per_parent: Vec<Vec<Event>> = Vec::new();
        if befores.is_empty() {
            per_parent.push(diff(after, None)?);
        }
        for before in &befores {
            per_parent.push(diff(after, before.as_ref())?);
        }
        let mut first = per_parent.remove(0);
        first.retain(|e| per_parent.iter().all(|other| other.contains(e)));
        derived = first;
    }

    let author = commit.author().name().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    for mut event in derived {
        match &trailer {
            Some(t) if events::explains(t, &event) => {
                event.via = Via::Regent;
                event.actor = t.actor.clone();
                if t.event == EventKind::Rollback && event.event == EventKind::Promote {
                    event.event = EventKind::Rollback;
                }
                if event.event == EventKind::Run || event.event == EventKind::Init {
                    event.model = None;
                }
            }
            _ => {
                event.via = Via::Manual;
                event.actor = Some(author.clone());
            }
        }
        out.push(event);
    }
    if let Some(t) = &trailer
        && t.event == EventKind::Approve
    {
        out.push(t.clone());
    }
    let time = crate::time::format(commit_time(commit));
    let pr = pull_request_number(commit.summary().ok().flatten().unwrap_or_default());
    for event in &mut out {
        event.commit = Some(commit.id().to_string());
        event.time = Some(time.clone());
        event.pr = pr;
    }
    Ok(out)
}

fn diff(after: &Snapshot<'_>, before: Option<&Snapshot<'_>>) -> Result<Vec<Event>, GitError> {
    let changed = after.changed_paths(before)?;
    Ok(events::diff_events(before, after, &changed).unwrap_or_default())
}

/// `… (#123)` (a squash merge) or `Merge pull request #123 from …`.
pub fn pull_request_number(subject: &str) -> Option<u64> {
    let digits = |s: &str| -> Option<u64> {
        let n: String = s.chars().take_while(char::is_ascii_digit).collect();
        n.parse().ok()
    };
    if let Some(rest) = subject.strip_prefix("Merge pull request #") {
        return digits(rest);
    }
    let trimmed = subject.trim_end();
    let inner = trimmed.strip_suffix(')')?;
    let start = inner.rfind("(#")?;
    let number = &inner[start + 2..];
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| number.parse().ok())?
}

/// What the policy and the lifecycle commands need from one model's history.
#[derive(Debug, Clone, Default)]
pub struct ModelFacts {
    /// (stage, version) pairs that have been true at some point.
    pub held: BTreeSet<(String, u64)>,
    /// How many times each stage was assigned (promote or rollback, by hand too).
    pub assignments: BTreeMap<String, u64>,
    /// Per stage, the holders in order (None when the stage was emptied).
    pub holders: BTreeMap<String, Vec<Option<u64>>>,
    /// Approvals given through regent, with the index of the event, and the
    /// index of each version's latest registration.
    pub approvals: Vec<(usize, Event)>,
    pub registered_at: BTreeMap<u64, usize>,
}

impl ModelFacts {
    /// Facts from a model's events (oldest first).
    pub fn from_events(events: &[Event]) -> ModelFacts {
        let mut facts = ModelFacts::default();
        for (i, event) in events.iter().enumerate() {
            match event.event {
                EventKind::Promote | EventKind::Rollback => {
                    if let (Some(stage), Some(v)) = (&event.stage, event.version) {
                        facts.held.insert((stage.clone(), v));
                        *facts.assignments.entry(stage.clone()).or_default() += 1;
                        facts
                            .holders
                            .entry(stage.clone())
                            .or_default()
                            .push(Some(v));
                    }
                }
                EventKind::Demote => {
                    if let Some(stage) = &event.stage {
                        facts.holders.entry(stage.clone()).or_default().push(None);
                    }
                }
                EventKind::Register => {
                    if let Some(v) = event.version {
                        facts.registered_at.insert(v, i);
                    }
                }
                EventKind::Approve if event.via == Via::Regent => {
                    facts.approvals.push((i, event.clone()))
                }
                _ => {}
            }
        }
        facts
    }

    /// The version that held `stage` before `current` took it: the target of
    /// a rollback.
    pub fn previous_holder(&self, stage: &str, current: Option<u64>) -> Option<u64> {
        let holders = self.holders.get(stage)?;
        let mut iter = holders.iter().rev();
        // Skip the current holding (the trailing run of `current`).
        let mut rest = iter.by_ref().skip_while(|h| **h == current).peekable();
        rest.find_map(|h| *h).filter(|h| Some(*h) != current)
    }

    /// Offline approvals of `version`, given after its latest registration.
    pub fn approvals_for(&self, version: u64) -> Vec<crate::policy::Approval> {
        let since = self.registered_at.get(&version).copied().unwrap_or(0);
        self.approvals
            .iter()
            .filter(|(i, e)| *i > since && e.version == Some(version))
            .filter_map(|(_, e)| {
                let target = match (&e.stage, &e.alias) {
                    (Some(s), _) => crate::policy::ApprovalTarget::Stage(s.clone()),
                    (None, Some(a)) => crate::policy::ApprovalTarget::Alias(a.clone()),
                    _ => return None,
                };
                Some(crate::policy::Approval {
                    actor: e.actor.clone()?,
                    version,
                    target,
                })
            })
            .collect()
    }
}

/// The last commit on `rev`'s first-parent line made at or before `at`:
/// what the branch looked like then.
pub fn commit_at(repo: &Repo, rev: &str, at: jiff::Timestamp) -> Result<git2::Oid, GitError> {
    let mut commit = repo.resolve(rev)?;
    loop {
        if commit_time(&commit) <= at {
            return Ok(commit.id());
        }
        commit = match commit.parent(0) {
            Ok(parent) => parent,
            Err(_) => {
                return Err(GitError::BadRevision {
                    rev: format!("{rev} at {}", crate::time::format(at)),
                    message: "the history starts after that time".into(),
                });
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_numbers_from_subjects() {
        assert_eq!(pull_request_number("promote churn v4 (#123)"), Some(123));
        assert_eq!(
            pull_request_number("Merge pull request #77 from acme/x"),
            Some(77)
        );
        assert_eq!(pull_request_number("fix (#abc)"), None);
        assert_eq!(pull_request_number("plain"), None);
    }

    #[test]
    fn previous_holder_skips_the_current_holding() {
        let mut facts = ModelFacts::default();
        facts.holders.insert(
            "production".into(),
            vec![Some(1), Some(2), None, Some(3), Some(3)],
        );
        assert_eq!(facts.previous_holder("production", Some(3)), Some(2));
        assert_eq!(facts.previous_holder("production", None), Some(3));
        facts.holders.insert("staging".into(), vec![Some(1)]);
        assert_eq!(facts.previous_holder("staging", Some(1)), None);
    }
}
