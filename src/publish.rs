//! `regent publish`: after a merge, the annotated tags for the registry
//! events on the branch (`churn@v4`, `churn#production#7`) that do not exist
//! yet, whatever the merge method (merge commit, squash or rebase: events
//! are read from what each commit on the first-parent line changed).
//! Idempotent: a rerun creates nothing. A published tag that the branch no
//! longer reaches, or that sits on another commit than its event's, means
//! the history was rewritten, which is an error, never papered over.
//!
//! The last line of defence: before a tag is made, its event is judged
//! again by the policy of the commit before it, with the approvals it had
//! (the pull request's reviews, or offline approvals), exactly as the gate
//! would have. An event the policy refuses (a hand edit or an admin push
//! that moved a stage past the gate) gets no tag and is reported.

use crate::events::{self, Event, EventKind, Via};
use crate::gate::{self, Change, PullLookup, Verdict};
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
    /// Whether the policy allows the event (re-judged before tagging).
    pub allowed: bool,
    /// Why it is refused (empty when allowed).
    pub reasons: Vec<String>,
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
    #[error(
        "tag {tag} points at {tag_commit}, but its event is on commit {event_commit}: tags are never moved"
    )]
    Elsewhere {
        tag: String,
        tag_commit: String,
        event_commit: String,
    },
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
    /// Events the policy refuses: not tagged, reported.
    pub refused: Vec<Published>,
}

/// How publish asks about pull requests and teams.
pub struct Access<'a> {
    /// The merged pull request a commit came through (None: no GitHub).
    pub pull: Option<PullLookup<'a>>,
    pub is_member: &'a dyn Fn(&str, &str) -> bool,
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
    access: &Access<'_>,
) -> Result<Outcome, PublishError> {
    repo.require_full_history("publish")?;
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
    let mut judges = Judges {
        repo,
        access,
        verdicts: HashMap::new(),
    };
    let mut judged_imports: BTreeSet<String> = BTreeSet::new();
    for (event, tag) in tagged {
        let Some(commit) = event.commit.clone() else {
            continue;
        };
        // Imported history (`regent import`) happened elsewhere and gets no
        // tag; what the import commit did to this branch (its net change: a
        // version now in a stage) is judged like any other change, once.
        if event.via == Via::Import {
            if judged_imports.insert(commit.clone()) {
                for verdict in judges.commit_verdicts(&commit)? {
                    if verdict.allowed {
                        continue;
                    }
                    out.refused.push(Published {
                        uri: artifact_uri(repo, &commit, &verdict.event),
                        event: verdict.event.clone(),
                        tag: None,
                        created: false,
                        allowed: false,
                        reasons: verdict.reasons.clone(),
                        position: usize::MAX,
                    });
                }
            }
            continue;
        }
        let position = match &reported {
            Some(commits) => commits.get(&commit).copied(),
            None => Some(out.events.len()),
        };
        let reportable = tag.is_some() || is_reportable(&event);
        let mut created = false;
        let mut verdict = None;
        if let Some(name) = &tag {
            if !tag_exists_at(repo, &tip, name, &commit)? {
                let judged = judges.verdict(&commit, &event)?;
                if judged.allowed {
                    create_tag(repo, name, &commit, &event, actor)?;
                    created = true;
                    out.created.push(name.clone());
                }
                verdict = Some(judged);
            }
        } else if position.is_some() && reportable {
            verdict = Some(judges.verdict(&commit, &event)?);
        }
        let (allowed, reasons) = verdict.map_or((true, Vec::new()), |v| (v.allowed, v.reasons));
        if (position.is_some() && reportable) || !allowed {
            let uri = artifact_uri(repo, &commit, &event);
            let published = Published {
                event,
                tag,
                created,
                uri,
                allowed,
                reasons,
                position: position.unwrap_or(usize::MAX),
            };
            if !allowed {
                out.refused.push(published.clone());
            }
            if position.is_some() {
                out.events.push(published);
            }
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
        EventKind::Register if event.via == Via::Import => None,
        EventKind::Register => Some(expand(register_format, event, None)),
        EventKind::Promote | EventKind::Rollback => {
            let key = (
                event.model.clone().unwrap_or_default(),
                event.stage.clone().unwrap_or_default(),
            );
            let n = assignments.entry(key).or_default();
            *n += 1;
            // Imported events count (as they do for `promote`'s next
            // number) but get no tag: their tags, if any, are the source's.
            (event.via != Via::Import).then(|| expand(assign_format, event, Some(*n)))
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

/// Whether tag `name` exists on `commit`. A tag of that name on any other
/// commit is an error naming both: tags are never moved, and a tag that
/// does not sit on its event's own commit tells a different story.
fn tag_exists_at(
    repo: &Repo,
    tip: &git2::Commit<'_>,
    name: &str,
    commit: &str,
) -> Result<bool, PublishError> {
    if !git2::Reference::is_valid_name(&format!("refs/tags/{name}")) || name.starts_with('-') {
        return Err(PublishError::BadTag(name.to_owned()));
    }
    let Ok(existing) = repo.repo.find_reference(&format!("refs/tags/{name}")) else {
        return Ok(false);
    };
    let target = existing
        .peel_to_commit()
        .context(|| format!("reading tag {name}"))?
        .id()
        .to_string();
    if target != commit {
        let oid = git2::Oid::from_str(&target).context(|| format!("reading tag {name}"))?;
        if !contains(repo, tip, oid, name)? {
            return Err(PublishError::Unreachable {
                tag: name.to_owned(),
                commit: target,
            });
        }
        return Err(PublishError::Elsewhere {
            tag: name.to_owned(),
            tag_commit: target,
            event_commit: commit.to_owned(),
        });
    }
    Ok(true)
}

fn create_tag(
    repo: &Repo,
    name: &str,
    commit: &str,
    event: &Event,
    actor: &str,
) -> Result<(), PublishError> {
    let oid = git2::Oid::from_str(commit).context(|| format!("reading {commit}"))?;
    let object = repo
        .repo
        .find_object(oid, Some(git2::ObjectType::Commit))
        .context(|| format!("reading {commit}"))?;
    let tagger = repo.signature(actor)?;
    repo.repo
        .tag(name, &object, &tagger, &event.describe(), false)
        .context(|| format!("creating tag {name}"))?;
    Ok(())
}

/// The verdicts of each commit's events, judged once per commit.
struct Judges<'a, 'r> {
    repo: &'r Repo,
    access: &'a Access<'a>,
    verdicts: HashMap<String, Vec<Verdict>>,
}

impl Judges<'_, '_> {
    /// The verdict on `event`, judged as the gate would have judged the
    /// change its commit made to the branch.
    fn verdict(&mut self, commit: &str, event: &Event) -> Result<Verdict, PublishError> {
        let found = self
            .commit_verdicts(commit)?
            .iter()
            .find(|v| events::same_move(&v.event, event))
            .cloned();
        // Never tag what could not be judged.
        Ok(found.unwrap_or_else(|| {
            Verdict::new(
                event.clone(),
                false,
                vec!["regent could not judge this event again; it is not tagged".into()],
            )
        }))
    }

    /// The verdicts on every event of the change `commit` made, judged once.
    fn commit_verdicts(&mut self, commit: &str) -> Result<&[Verdict], PublishError> {
        if !self.verdicts.contains_key(commit) {
            let verdicts = self.judge_commit(commit)?;
            self.verdicts.insert(commit.to_owned(), verdicts);
        }
        Ok(&self.verdicts[commit])
    }

    fn judge_commit(&self, commit: &str) -> Result<Vec<Verdict>, PublishError> {
        let repo = self.repo;
        let oid = git2::Oid::from_str(commit).context(|| format!("reading {commit}"))?;
        let commit = repo
            .repo
            .find_commit(oid)
            .context(|| format!("reading {oid}"))?;
        let Some(after) = Snapshot::of_commit(repo, &commit)? else {
            return Ok(Vec::new());
        };
        let Ok(parent) = commit.parent(0) else {
            // The registry's first commit: nothing before it to judge by.
            let changed = after.changed_paths(None)?;
            let derived = events::diff_events(None, &after, &changed).unwrap_or_default();
            return Ok(derived
                .into_iter()
                .map(|e| Verdict::new(e, true, Vec::new()))
                .collect());
        };
        let before = Snapshot::of_commit(repo, &parent)?;
        let config = before
            .as_ref()
            .and_then(|s| s.config().ok())
            .map(|c| c.value);
        let merge = commit.parent_count() > 1;
        // How the change came: the graph says merge; GitHub says which pull
        // request (and a squash or rebase merge's); text proves nothing.
        let pull = match self.access.pull {
            Some(lookup) => lookup(&oid.to_string()),
            None => Err("no GitHub token".to_owned()),
        };
        let (pull, lookup_error) = match pull {
            Ok(pull) => (pull, None),
            Err(e) => (None, Some(e)),
        };
        let via_pull_request = merge || pull.is_some();
        let claims: Vec<Event> = if merge {
            history::merged_claims(repo, &commit)?
        } else {
            events::event_from_trailers(&events::parse_trailers(
                commit.message().unwrap_or_default(),
            ))
            .into_iter()
            .collect()
        };
        let mut requesters: Vec<String> = pull.iter().map(|p| p.author.clone()).collect();
        requesters.extend(
            claims
                .iter()
                .filter(|c| c.event != EventKind::Approve)
                .filter_map(|c| c.actor.clone()),
        );
        if !via_pull_request {
            requesters.extend(commit.author().name().map(str::to_owned));
        }
        let rollbacks: BTreeSet<(String, String, u64)> = claims
            .iter()
            .filter(|c| c.event == EventKind::Rollback)
            .filter_map(|c| Some((c.model.clone()?, c.stage.clone()?, c.version?)))
            .collect();
        let reviewers = pull.as_ref().map(gate::valid_approvers).unwrap_or_default();
        let mut ignored = pull
            .as_ref()
            .map(gate::ignored_approvals)
            .unwrap_or_default();
        if via_pull_request && pull.is_none() {
            ignored.push(format!(
                "the reviews of the pull request merged by {} could not be read ({}), so none counts",
                &oid.to_string()[..12],
                lookup_error.unwrap_or_else(|| "GitHub lists no merged pull request for it".into())
            ));
        }
        let no_runs = BTreeMap::new();
        let change = Change {
            repo,
            config: config.as_ref(),
            before: before.as_ref(),
            after: &after,
            history: parent.id(),
            reviewers: via_pull_request.then_some(reviewers.as_slice()),
            ignored: &ignored,
            requesters: &requesters,
            via_pull_request,
            is_member: self.access.is_member,
            rollbacks: &rollbacks,
            referenced_runs: &no_runs,
        };
        let changed = after.changed_paths(before.as_ref())?;
        let derived = events::diff_events(before.as_ref(), &after, &changed).unwrap_or_default();
        Ok(gate::judge_all(&change, derived)?)
    }
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
