//! `regent publish`: after a merge, the annotated tags for the registry
//! events on the branch (`churn@v4`, `churn#production#7`) that do not exist
//! yet, whatever the merge method (merge commit, squash or rebase: events
//! are read from what each commit changed). Idempotent: a rerun creates
//! nothing. A published tag that the branch no longer reaches means the
//! history was rewritten, which is an error, never papered over.

use crate::events::{Event, EventKind};
use crate::git::{Context as _, GitError, Repo};
use crate::history::{self, Filter};
use crate::lifecycle::{DEFAULT_ASSIGN_TAG, DEFAULT_REGISTER_TAG};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// An event on the branch and its tag.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    #[serde(flatten)]
    pub event: Event,
    pub tag: Option<String>,
    /// Whether this run created the tag.
    pub created: bool,
    /// The artifact URI of the event's version at its commit.
    pub uri: Option<String>,
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "tag {tag} points at {commit}, which the branch no longer contains: its history was rewritten"
    )]
    Unreachable { tag: String, commit: String },
    #[error("the tag format in regent.yaml gives {0:?}, which is not a valid Git tag name")]
    BadTag(String),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// What a publish did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The events after `since` (all without it), with their tags.
    pub events: Vec<Published>,
    /// Every tag created, in or out of the reported range.
    pub created: Vec<String>,
}

/// Creates the missing tags for the events reachable from `rev`.
pub fn publish(
    repo: &Repo,
    rev: &str,
    since: Option<&str>,
    actor: &str,
) -> Result<Outcome, PublishError> {
    let tip = repo.resolve(rev)?;
    let snapshot = Snapshot::at_rev(repo, &tip.id().to_string())?;
    let formats = snapshot.config().ok().and_then(|c| c.value.tags);
    let register_format = formats
        .as_ref()
        .and_then(|t| t.register.clone())
        .unwrap_or_else(|| DEFAULT_REGISTER_TAG.into());
    let assign_format = formats
        .as_ref()
        .and_then(|t| t.assign.clone())
        .unwrap_or_else(|| DEFAULT_ASSIGN_TAG.into());

    // The whole history: assignment numbers count from the first event.
    let all = history::walk(repo, &tip.id().to_string(), &Filter::default())?;
    let reported: Option<BTreeSet<String>> = match since {
        Some(since) => Some(
            history::walk_range(repo, Some(since), &tip.id().to_string(), &Filter::default())?
                .events
                .into_iter()
                .filter_map(|e| e.commit)
                .collect(),
        ),
        None => None,
    };
    let mut assignments: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut out = Outcome::default();
    for event in all.events {
        let tag = match event.event {
            EventKind::Register => Some(expand(&register_format, &event, None)),
            EventKind::Promote | EventKind::Rollback => {
                let key = (
                    event.model.clone().unwrap_or_default(),
                    event.stage.clone().unwrap_or_default(),
                );
                let n = assignments.entry(key).or_default();
                *n += 1;
                Some(expand(&assign_format, &event, Some(*n)))
            }
            _ => None,
        };
        let Some(commit) = event.commit.clone() else {
            continue;
        };
        let in_range = reported.as_ref().is_none_or(|r| r.contains(&commit));
        let mut created = false;
        if let Some(name) = &tag {
            created = ensure_tag(repo, &tip, name, &commit, &event, actor)?;
            if created {
                out.created.push(name.clone());
            }
        }
        if in_range && (tag.is_some() || is_reportable(&event)) {
            let uri = artifact_uri(repo, &commit, &event);
            out.events.push(Published {
                event,
                tag,
                created,
                uri,
            });
        }
    }
    Ok(out)
}

/// Events worth telling a deploy step about even without a tag.
fn is_reportable(event: &Event) -> bool {
    matches!(
        event.event,
        EventKind::Demote
            | EventKind::Alias
            | EventKind::Unalias
            | EventKind::Deprecate
            | EventKind::Archive
    )
}

fn expand(format: &str, event: &Event, n: Option<u64>) -> String {
    format
        .replace("{model}", event.model.as_deref().unwrap_or_default())
        .replace(
            "{version}",
            &event.version.map(|v| v.to_string()).unwrap_or_default(),
        )
        .replace("{stage}", event.stage.as_deref().unwrap_or_default())
        .replace("{n}", &n.map(|n| n.to_string()).unwrap_or_default())
}

/// Creates `name` at `commit` unless it exists; an existing tag must still be
/// reachable from the branch. Returns whether it was created.
fn ensure_tag(
    repo: &Repo,
    tip: &git2::Commit<'_>,
    name: &str,
    commit: &str,
    event: &Event,
    actor: &str,
) -> Result<bool, PublishError> {
    if !git2::Reference::is_valid_name(&format!("refs/tags/{name}")) || name.starts_with('-') {
        return Err(PublishError::BadTag(name.to_owned()));
    }
    if let Ok(existing) = repo.repo.find_reference(&format!("refs/tags/{name}")) {
        let target = existing
            .peel_to_commit()
            .context(|| format!("reading tag {name}"))?
            .id();
        let reachable = target == tip.id()
            || repo
                .repo
                .graph_descendant_of(tip.id(), target)
                .context(|| format!("checking tag {name}"))?;
        if !reachable {
            return Err(PublishError::Unreachable {
                tag: name.to_owned(),
                commit: target.to_string(),
            });
        }
        return Ok(false);
    }
    let oid = git2::Oid::from_str(commit).context(|| format!("reading {commit}"))?;
    let object = repo
        .repo
        .find_object(oid, Some(git2::ObjectType::Commit))
        .context(|| format!("reading {commit}"))?;
    let tagger = repo.signature(actor)?;
    repo.repo
        .tag(name, &object, &tagger, &event.describe(), false)
        .context(|| format!("creating tag {name}"))?;
    Ok(true)
}

/// The artifact URI of the event's version as it was at the event's commit.
fn artifact_uri(repo: &Repo, commit: &str, event: &Event) -> Option<String> {
    let snapshot = Snapshot::at_rev(repo, commit).ok()?;
    let version = snapshot
        .version(event.model.as_deref()?, event.version?)
        .ok()?;
    Some(version.value.artifact.uri)
}

/// Pushes tags to `remote` in one atomic push.
pub fn push_tags(repo: &Repo, remote: &str, tags: &[String]) -> Result<(), GitError> {
    if tags.is_empty() {
        return Ok(());
    }
    let dir = repo
        .workdir
        .clone()
        .unwrap_or_else(|| repo.repo.path().to_path_buf());
    let mut args = vec![
        "push".to_owned(),
        "--quiet".into(),
        "--atomic".into(),
        "--".into(),
        remote.to_owned(),
    ];
    args.extend(tags.iter().map(|t| format!("refs/tags/{t}:refs/tags/{t}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::git::run_git(&dir, &args).map(|_| ())
}
