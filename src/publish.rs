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
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// Where the event's commit is in what is reported (for ordering).
    #[serde(skip)]
    position: usize,
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
///
/// Without `since`, every event of the registry is looked at. With it, the
/// events of `since..rev` are reported, and the tags of every event of the
/// models that range touched are made: numbering counts from a model's first
/// event, and a tag an earlier failed run left out is made now. Reading only
/// those models keeps a post-merge step proportional to what the merge
/// changed (each model's history is cached), not to the registry's age.
pub fn publish(
    repo: &Repo,
    rev: &str,
    since: Option<&str>,
    actor: &str,
) -> Result<Outcome, PublishError> {
    let tip = repo.resolve(rev)?;
    let tip_id = tip.id().to_string();
    let snapshot = Snapshot::at_rev(repo, &tip_id)?;
    let formats = snapshot.config().ok().and_then(|c| c.value.tags);
    let register_format = formats
        .as_ref()
        .and_then(|t| t.register.clone())
        .unwrap_or_else(|| DEFAULT_REGISTER_TAG.into());
    let assign_format = formats
        .as_ref()
        .and_then(|t| t.assign.clone())
        .unwrap_or_else(|| DEFAULT_ASSIGN_TAG.into());

    // The events to tag (each model's in order), and which to report.
    let (scope, reported): (Vec<Event>, Option<HashMap<String, usize>>) = match since {
        Some(since) => {
            refuse_dropped_tags(repo, since, &tip)?;
            let range = history::walk_range(repo, Some(since), &tip_id, &Filter::default())?;
            let models: BTreeSet<String> = range
                .events
                .iter()
                .filter_map(|e| e.model.clone())
                .collect();
            let mut scope = Vec::new();
            for model in models {
                let filter = Filter {
                    model: Some(model),
                    ..Filter::default()
                };
                scope.extend(history::walk(repo, &tip_id, &filter)?.events);
            }
            // Each reported commit's place in the range, for the report's order.
            let mut commits = HashMap::new();
            for commit in range.events.into_iter().filter_map(|e| e.commit) {
                let next = commits.len();
                commits.entry(commit).or_insert(next);
            }
            (scope, Some(commits))
        }
        None => (
            history::walk(repo, &tip_id, &Filter::default())?.events,
            None,
        ),
    };

    // Each event's tag, numbered in order.
    let mut assignments: BTreeMap<(String, String), u64> = BTreeMap::new();
    let tagged: Vec<(Event, Option<String>)> = scope
        .into_iter()
        .map(|event| {
            let tag = tag_for(&event, &register_format, &assign_format, &mut assignments);
            (event, tag)
        })
        .collect();
    if since.is_none() {
        let known: BTreeSet<&str> = tagged.iter().filter_map(|(_, t)| t.as_deref()).collect();
        refuse_unknown_tags(repo, &tip, &known, &register_format, &assign_format)?;
    }

    let mut out = Outcome::default();
    for (event, tag) in tagged {
        let Some(commit) = event.commit.clone() else {
            continue;
        };
        let position = match &reported {
            Some(commits) => commits.get(&commit).copied(),
            None => Some(out.events.len()),
        };
        let mut created = false;
        if let Some(name) = &tag {
            created = ensure_tag(repo, &tip, name, &commit, &event, actor)?;
            if created {
                out.created.push(name.clone());
            }
        }
        if let Some(position) = position
            && (tag.is_some() || is_reportable(&event))
        {
            let uri = artifact_uri(repo, &commit, &event);
            out.events.push(Published {
                event,
                tag,
                created,
                uri,
                position,
            });
        }
    }
    // Report in the branch's order, whichever model each event is of.
    out.events.sort_by_key(|p| p.position);
    Ok(out)
}

/// The tag an event gets, if any; assignment tags are numbered per model and
/// stage in the order events are passed in.
fn tag_for(
    event: &Event,
    register_format: &str,
    assign_format: &str,
    assignments: &mut BTreeMap<(String, String), u64>,
) -> Option<String> {
    match event.event {
        EventKind::Register => Some(expand(register_format, event, None)),
        EventKind::Promote | EventKind::Rollback => {
            let key = (
                event.model.clone().unwrap_or_default(),
                event.stage.clone().unwrap_or_default(),
            );
            let n = assignments.entry(key).or_default();
            *n += 1;
            Some(expand(assign_format, event, Some(*n)))
        }
        _ => None,
    }
}

/// A force-push that dropped published events: `since` (the branch before
/// the push) has commits `tip` lacks, and a tag names one of them.
fn refuse_dropped_tags(
    repo: &Repo,
    since: &str,
    tip: &git2::Commit<'_>,
) -> Result<(), PublishError> {
    let before = repo.resolve(since)?.id();
    let git = &repo.repo;
    if before == tip.id()
        || git
            .graph_descendant_of(tip.id(), before)
            .context(|| format!("comparing {since} with the branch"))?
    {
        return Ok(());
    }
    let mut revwalk = git.revwalk().context(|| "walking history".into())?;
    revwalk
        .push(before)
        .and_then(|()| revwalk.hide(tip.id()))
        .context(|| "walking history".into())?;
    let mut dropped = BTreeSet::new();
    for oid in revwalk {
        dropped.insert(oid.context(|| "walking history".into())?);
    }
    for (name, target) in tag_targets(repo)? {
        if dropped.contains(&target) {
            return Err(PublishError::Unreachable {
                tag: name,
                commit: target.to_string(),
            });
        }
    }
    Ok(())
}

/// A tag in regent's formats that no event on the branch makes, pointing at
/// a commit the branch lacks: a published event the history no longer has.
fn refuse_unknown_tags(
    repo: &Repo,
    tip: &git2::Commit<'_>,
    known: &BTreeSet<&str>,
    register_format: &str,
    assign_format: &str,
) -> Result<(), PublishError> {
    for (name, target) in tag_targets(repo)? {
        let ours = glob_matches(register_format, &name) || glob_matches(assign_format, &name);
        if !ours || known.contains(name.as_str()) {
            continue;
        }
        if !contains(repo, tip, target, &name)? {
            return Err(PublishError::Unreachable {
                tag: name,
                commit: target.to_string(),
            });
        }
    }
    Ok(())
}

/// Whether the branch at `tip` contains `target`, the commit tag `name` names.
fn contains(
    repo: &Repo,
    tip: &git2::Commit<'_>,
    target: git2::Oid,
    name: &str,
) -> Result<bool, PublishError> {
    Ok(target == tip.id()
        || repo
            .repo
            .graph_descendant_of(tip.id(), target)
            .context(|| format!("checking tag {name}"))?)
}

/// Every tag's name and the commit it names (tags of other objects skipped).
fn tag_targets(repo: &Repo) -> Result<Vec<(String, git2::Oid)>, PublishError> {
    let mut out = Vec::new();
    let refs = repo
        .repo
        .references_glob("refs/tags/*")
        .context(|| "listing tags".into())?;
    for reference in refs {
        let reference = reference.context(|| "listing tags".into())?;
        let (Ok(name), Ok(commit)) = (reference.shorthand(), reference.peel_to_commit()) else {
            continue;
        };
        out.push((name.to_owned(), commit.id()));
    }
    Ok(out)
}

/// Whether `name` could come from `format`, each `{placeholder}` standing
/// for one or more characters.
fn glob_matches(format: &str, name: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        literals.push(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => rest = &rest[open + close + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if literals.len() == 1 {
        return name == first;
    }
    let Some(mut middle) = name.strip_prefix(first) else {
        return false;
    };
    let Some(stripped) = middle.strip_suffix(last) else {
        return false;
    };
    middle = stripped;
    for literal in &literals[1..literals.len() - 1] {
        // Each placeholder takes at least one character before the literal.
        match middle.get(1..).and_then(|m| m.find(literal)) {
            Some(at) => middle = &middle[1 + at + literal.len()..],
            None => return false,
        }
    }
    !middle.is_empty()
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
        // The event's commit came from walking the branch: the usual case,
        // settled without walking the graph.
        if target.to_string() == commit {
            return Ok(false);
        }
        if !contains(repo, tip, target, name)? {
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

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn tag_formats_match_the_names_they_make() {
        assert!(glob_matches("{model}@v{version}", "churn@v12"));
        assert!(glob_matches("{model}#{stage}#{n}", "churn#production#3"));
        assert!(glob_matches("release/{model}/{version}", "release/a/1"));
        assert!(!glob_matches("{model}@v{version}", "v1.0.0"));
        assert!(!glob_matches("{model}@v{version}", "@v1"));
        assert!(!glob_matches("{model}#{stage}#{n}", "churn#production#"));
        assert!(!glob_matches("release/{model}/{version}", "other/a/1"));
        assert!(glob_matches("fixed", "fixed"));
        assert!(!glob_matches("fixed", "fixed2"));
    }
}
