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

/// Walks the first-parent line of `rev`, oldest first, into events.
///
/// A branch's states are the commits on its first-parent line: a merge is
/// one change, diffed against its first parent, and the commits it brought
/// in (a pull request's inner steps) are not states of the branch. That is
/// what `history`, `--at`, the policy's facts and `publish` read, so a state
/// the gate never judged (a set-and-revert inside a merged pull request)
/// cannot count.
///
/// A model's events (or the whole registry's) are cached per walk tip (see
/// [`crate::history_cache`]): a later walk from a tip whose first-parent
/// line contains the cached tip only visits the new commits. Shallow clones
/// are never cached (their history may deepen).
pub fn walk(repo: &Repo, rev: &str, filter: &Filter) -> Result<History, GitError> {
    let tip = repo.resolve(rev)?.id();
    let shallow = repo.repo.is_shallow();
    let key = filter.model.clone().unwrap_or_else(|| "_all".to_owned());
    // The cache keeps every event of the key; time and stage filter afterwards.
    let unfiltered = Filter {
        model: filter.model.clone(),
        ..Filter::default()
    };
    let events = if shallow {
        walk_commits(repo, &first_parent_line(repo, tip, None)?, &unfiltered)?
    } else {
        let cached = crate::history_cache::load(repo, &key);
        let reuse = match cached {
            Some((cached, events)) if cached == tip => Some((events, Vec::new())),
            Some((cached, events)) => {
                first_parent_path(repo, tip, cached)?.map(|newer| (events, newer))
            }
            None => None,
        };
        let events = match reuse {
            Some((events, newer)) if newer.is_empty() => return finish(events, filter, shallow),
            Some((mut events, newer)) => {
                events.extend(walk_commits(repo, &newer, &unfiltered)?);
                events
            }
            None => walk_commits(repo, &first_parent_line(repo, tip, None)?, &unfiltered)?,
        };
        crate::history_cache::store(repo, &key, tip, &events);
        events
    };
    finish(events, filter, shallow)
}

fn finish(events: Vec<Event>, filter: &Filter, shallow: bool) -> Result<History, GitError> {
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

/// The events of the first-parent line of `to` that `from` does not reach
/// (`git log --first-parent from..to`), oldest first.
pub fn walk_range(
    repo: &Repo,
    from: Option<&str>,
    to: &str,
    filter: &Filter,
) -> Result<History, GitError> {
    let tip = repo.resolve(to)?.id();
    let hide = from.map(|f| repo.resolve(f).map(|c| c.id())).transpose()?;
    let commits = first_parent_line(repo, tip, hide)?;
    Ok(History {
        events: walk_commits(repo, &commits, filter)?,
        shallow: repo.repo.is_shallow(),
    })
}

/// The commits of `tip`'s first-parent line, oldest first, down to (not
/// including) the first one `hide` reaches by any path.
pub fn first_parent_line(
    repo: &Repo,
    tip: git2::Oid,
    hide: Option<git2::Oid>,
) -> Result<Vec<git2::Oid>, GitError> {
    let git = &repo.repo;
    // What `hide` reaches, as far as `tip` is concerned: `git rev-list hide..tip`
    // is exactly the commits of tip it does not reach.
    let outside: Option<std::collections::HashSet<git2::Oid>> = match hide {
        None => None,
        Some(hide) => {
            let mut revwalk = git.revwalk().context(|| "walking history".into())?;
            revwalk
                .push(tip)
                .and_then(|()| revwalk.hide(hide))
                .context(|| "walking history".into())?;
            Some(
                revwalk
                    .collect::<Result<_, _>>()
                    .context(|| "walking history".into())?,
            )
        }
    };
    let mut line = Vec::new();
    let mut next = Some(tip);
    while let Some(oid) = next {
        if outside.as_ref().is_some_and(|o| !o.contains(&oid)) {
            break;
        }
        let commit = git
            .find_commit(oid)
            .context(|| format!("reading commit {oid}"))?;
        line.push(oid);
        next = commit.parent_ids().next();
    }
    line.reverse();
    Ok(line)
}

/// The commits after `ancestor` on `tip`'s first-parent line, oldest first,
/// or None when `ancestor` is not on that line (another branch, a rewritten
/// history, or a commit only a merge brought in).
pub fn first_parent_path(
    repo: &Repo,
    tip: git2::Oid,
    ancestor: git2::Oid,
) -> Result<Option<Vec<git2::Oid>>, GitError> {
    let mut path = Vec::new();
    let mut next = Some(tip);
    while let Some(oid) = next {
        if oid == ancestor {
            path.reverse();
            return Ok(Some(path));
        }
        let commit = repo
            .repo
            .find_commit(oid)
            .context(|| format!("reading commit {oid}"))?;
        path.push(oid);
        next = commit.parent_ids().next();
    }
    Ok(None)
}

/// Events of `commits` (a first-parent line, oldest first).
fn walk_commits(
    repo: &Repo,
    commits: &[git2::Oid],
    filter: &Filter,
) -> Result<Vec<Event>, GitError> {
    let git = &repo.repo;
    let _no_cache = crate::git::NoObjectCache::new();
    // The folder whose changes matter: the model's, or the whole registry's.
    let watched = filter
        .model
        .as_ref()
        .map(|m| format!("models/{m}"))
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut seen: std::collections::HashMap<git2::Oid, Option<git2::Oid>> =
        std::collections::HashMap::new();
    for &oid in commits {
        let commit = git
            .find_commit(oid)
            .context(|| format!("reading commit {oid}"))?;
        // Most commits leave the watched folder alone: tell by tree ids,
        // each commit's looked up once (it is the next commit's parent).
        let after = watched_tree(repo, &commit, &watched, &mut seen);
        let unchanged = match commit.parent_ids().next() {
            Some(parent) => {
                let before = match seen.get(&parent) {
                    Some(id) => *id,
                    None => git
                        .find_commit(parent)
                        .map(|parent| watched_tree(repo, &parent, &watched, &mut seen))
                        .unwrap_or(None),
                };
                before == after
            }
            None => after.is_none(),
        };
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
    Ok(out)
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

/// When a commit's events happened, as `history` reports it.
pub fn commit_time(commit: &git2::Commit<'_>) -> jiff::Timestamp {
    crate::time::from_git_seconds(commit.time().seconds())
}

/// The events one commit makes on its branch: what its diff against its
/// first parent shows, labelled `regent` where a `Regent-*` trailer
/// explains it and `manual` where none does; plus approvals, which change
/// no file.
///
/// For a merge, the trailers that explain its change are those of the
/// commits it brings in (a pull request made with `promote --pr`); a value
/// that differs from every parent's (a conflict resolved to a third value)
/// is the merge's own doing and always `manual`.
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
    let unchanged = match befores.first() {
        Some(first) => watched_id(first) == after_id,
        None => after_id.is_none(),
    };

    let mut derived = Vec::new();
    let mut own: Vec<bool> = Vec::new();
    if !unchanged && let Some(after) = &after {
        derived = diff(after, befores.first().and_then(Option::as_ref))?;
        // A merge's own doing: what differs from every other parent too.
        let others = befores
            .iter()
            .skip(1)
            .map(|b| diff(after, b.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        own = derived
            .iter()
            .map(|e| {
                !others.is_empty()
                    && others
                        .iter()
                        .all(|other| other.iter().any(|o| same_change(e, o)))
            })
            .collect();
    }
    // An import commit lists its events in trailers of their own.
    let import = parents.len() == 1 && crate::imported::is_import(message);
    let claims: Vec<Event> = if parents.len() > 1 {
        merged_claims(repo, commit)?
    } else if import {
        Vec::new()
    } else {
        trailer.clone().into_iter().collect()
    };

    let author = commit.author().name().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    for (i, mut event) in derived.into_iter().enumerate() {
        let claim = claims
            .iter()
            .rev()
            .find(|c| events::explains(c, &event))
            .filter(|_| !own.get(i).copied().unwrap_or(false));
        match claim {
            Some(t) => {
                event.via = Via::Regent;
                event.actor = t.actor.clone();
                if t.event == EventKind::Rollback && event.event == EventKind::Promote {
                    event.event = EventKind::Rollback;
                }
                if event.event == EventKind::Run || event.event == EventKind::Init {
                    event.model = None;
                }
            }
            None => {
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
    if import {
        out = crate::imported::history_events(message, out);
    }
    let time = crate::time::format(commit_time(commit));
    let pr = pull_request_number(commit.summary().ok().flatten().unwrap_or_default());
    for event in &mut out {
        event.commit = Some(commit.id().to_string());
        // Imported events keep their original time.
        event.time.get_or_insert_with(|| time.clone());
        event.pr = pr;
    }
    Ok(out)
}

/// Whether two derived events make the same change (the previous value
/// aside): the merge's result differs from both parents in the same way.
/// A removal names the version it removed, which differs per parent.
fn same_change(a: &Event, b: &Event) -> bool {
    let removal = matches!(a.event, EventKind::Demote | EventKind::Unalias);
    let without_version = |e: &Event| Event {
        version: None,
        ..e.clone()
    };
    if removal {
        events::same_move(&without_version(a), &without_version(b))
    } else {
        events::same_move(a, b)
    }
}

/// The trailer events of the commits a merge brings in (reachable from its
/// other parents, not from its first), oldest first.
pub fn merged_claims(repo: &Repo, merge: &git2::Commit<'_>) -> Result<Vec<Event>, GitError> {
    let git = &repo.repo;
    let mut revwalk = git.revwalk().context(|| "walking a merge".into())?;
    revwalk
        .set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .context(|| "walking a merge".into())?;
    for parent in merge.parent_ids().skip(1) {
        revwalk.push(parent).context(|| "walking a merge".into())?;
    }
    if let Some(first) = merge.parent_ids().next() {
        revwalk.hide(first).context(|| "walking a merge".into())?;
    }
    let mut out = Vec::new();
    for oid in revwalk {
        let oid = oid.context(|| "walking a merge".into())?;
        let commit = git
            .find_commit(oid)
            .context(|| format!("reading commit {oid}"))?;
        let trailers = events::parse_trailers(commit.message().unwrap_or_default());
        out.extend(events::event_from_trailers(&trailers));
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
    /// The index of the latest event that put each version in a stage or
    /// alias: an approval authorises one such move, so only approvals given
    /// after it count for the next.
    pub assigned_at: BTreeMap<(crate::policy::ApprovalTarget, u64), usize>,
}

impl ModelFacts {
    /// Facts from a model's events (oldest first).
    pub fn from_events(events: &[Event]) -> ModelFacts {
        let mut facts = ModelFacts::default();
        for (i, event) in events.iter().enumerate() {
            match event.event {
                EventKind::Alias => {
                    if let (Some(alias), Some(v)) = (&event.alias, event.version) {
                        let target = crate::policy::ApprovalTarget::Alias(alias.clone());
                        facts.assigned_at.insert((target, v), i);
                    }
                }
                EventKind::Promote | EventKind::Rollback => {
                    if let (Some(stage), Some(v)) = (&event.stage, event.version) {
                        let target = crate::policy::ApprovalTarget::Stage(stage.clone());
                        facts.assigned_at.insert((target, v), i);
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

    /// Offline approvals of `version`, given after its latest registration
    /// and after the last time it moved into the approved stage or alias
    /// (each approval authorises one move: after a rollback away from v2,
    /// promoting v2 again needs a new approval).
    pub fn approvals_for(&self, version: u64) -> Vec<crate::policy::Approval> {
        let since = self.registered_at.get(&version).copied().unwrap_or(0);
        self.approvals
            .iter()
            .filter(|(i, e)| *i > since && e.version == Some(version))
            .filter_map(|(i, e)| {
                let target = match (&e.stage, &e.alias) {
                    (Some(s), _) => crate::policy::ApprovalTarget::Stage(s.clone()),
                    (None, Some(a)) => crate::policy::ApprovalTarget::Alias(a.clone()),
                    _ => return None,
                };
                let used = self.assigned_at.get(&(target.clone(), version));
                if used.is_some_and(|used| used > i) {
                    return None;
                }
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
                return Err(GitError::BeforeHistory {
                    rev: rev.to_owned(),
                    at: crate::time::format(at),
                    first: crate::time::format(commit_time(&commit)),
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
