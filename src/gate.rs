//! The pull-request gate behind `regent check`: what a change between two
//! revisions does to the registry, whether each event is allowed by the
//! policy of the base (never the head's), with approvals from the pull
//! request's reviews, and whether the changed files are valid. Git-side and
//! pure otherwise: reviews and team memberships come in as plain values.

use crate::diagnostic::Diagnostic;
use crate::events::{self, Event, EventKind};
use crate::git::{Context as _, GitError, Repo};
use crate::history::{self, Filter, ModelFacts};
use crate::policy::{self, Approval, ApprovalTarget, Request, VersionFacts};
use crate::registry::{Config, Layout, ModelFile};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A review as the gate needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewFacts {
    pub id: u64,
    pub user: String,
    pub state: String,
    pub commit_id: String,
}

/// The pull request being judged.
#[derive(Debug, Clone)]
pub struct PullRequestFacts {
    pub number: u64,
    pub author: String,
    pub head_sha: String,
    pub reviews: Vec<ReviewFacts>,
}

/// Reviewers whose approval counts: the latest state-changing review of each
/// reviewer (comments and pending reviews change nothing, as on GitHub) is
/// `APPROVED`, was given for the current head commit, and is not by the
/// author. Sorted, lower-cased logins.
pub fn valid_approvers(pr: &PullRequestFacts) -> Vec<String> {
    latest_reviews(pr)
        .into_iter()
        .filter(|(user, (review, _))| not_counted(pr, user, review).is_none())
        .map(|(user, _)| user)
        .collect()
}

/// Why each reviewer who approved at some point has no approval that counts
/// (their own pull request, a later push, withdrawn, dismissed), so the
/// report accounts for every approval it ignored.
pub fn ignored_approvals(pr: &PullRequestFacts) -> Vec<String> {
    latest_reviews(pr)
        .into_iter()
        .filter(|(_, (_, ever_approved))| *ever_approved)
        .filter_map(|(user, (review, _))| not_counted(pr, &user, review))
        .collect()
}

/// Each reviewer's latest state-changing review, by lower-cased login, and
/// whether any of their reviews approved.
fn latest_reviews(pr: &PullRequestFacts) -> BTreeMap<String, (&ReviewFacts, bool)> {
    let mut reviews: Vec<&ReviewFacts> = pr.reviews.iter().collect();
    reviews.sort_by_key(|r| r.id);
    let mut latest: BTreeMap<String, (&ReviewFacts, bool)> = BTreeMap::new();
    for review in reviews {
        if matches!(review.state.as_str(), "COMMENTED" | "PENDING") {
            continue;
        }
        let entry = latest
            .entry(review.user.to_lowercase())
            .or_insert((review, false));
        entry.0 = review;
        entry.1 |= review.state == "APPROVED";
    }
    latest
}

/// Why `user`'s latest review gives no approval that counts; None when it
/// does. (A later non-approving review is read as withdrawing an earlier
/// approval: callers that report it keep only reviewers who approved.)
fn not_counted(pr: &PullRequestFacts, user: &str, review: &ReviewFacts) -> Option<String> {
    let who = &review.user;
    let short = |sha: &str| sha.chars().take(7).collect::<String>();
    Some(match review.state.as_str() {
        "APPROVED" if user == pr.author.to_lowercase() => {
            format!("{who} wrote the pull request and cannot approve it")
        }
        "APPROVED" if review.commit_id != pr.head_sha => format!(
            "{who} approved {}, but the head is now {}: commits pushed after an approval need a new one",
            short(&review.commit_id),
            short(&pr.head_sha)
        ),
        "APPROVED" => return None,
        "DISMISSED" => format!("{who}'s approval was dismissed"),
        _ => format!("{who} requested changes after approving"),
    })
}

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

/// What the gate is asked.
pub struct Input<'a> {
    pub base: &'a str,
    pub head: &'a str,
    pub pull_request: Option<&'a PullRequestFacts>,
    /// Is `user` in team `@org/team`? (Looked up by the caller, once per team.)
    pub is_member: &'a dyn Fn(&str, &str) -> bool,
}

/// Judges the change from `base` to `head`.
pub fn check(repo: &Repo, input: &Input<'_>) -> Result<Report, GitError> {
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
    let rollbacks = rollback_claims(repo, &fork, &head)?;
    let mut facts: BTreeMap<String, ModelFacts> = BTreeMap::new();
    let mut verdicts = Vec::new();
    for event in derived {
        let verdict = judge(
            repo,
            &JudgeContext {
                base: &base,
                base_snapshot: base_snapshot.as_ref(),
                head_snapshot: &head_snapshot,
                config: config.as_ref(),
                approvers: &approvers,
                ignored: &ignored,
                input,
                rollbacks: &rollbacks,
            },
            event,
            &mut facts,
        )?;
        verdicts.push(verdict);
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

struct JudgeContext<'a, 'r> {
    base: &'a git2::Commit<'r>,
    base_snapshot: Option<&'a Snapshot<'r>>,
    head_snapshot: &'a Snapshot<'r>,
    config: Option<&'a Config>,
    approvers: &'a [String],
    /// Why approvals on the pull request do not count.
    ignored: &'a [String],
    input: &'a Input<'a>,
    rollbacks: &'a BTreeSet<(String, String, u64)>,
}

/// `(model, stage, version)` of the rollbacks the change's own commits
/// claim (by trailer): such a pointer move is judged as a rollback.
fn rollback_claims(
    repo: &Repo,
    fork: &git2::Commit<'_>,
    head: &git2::Commit<'_>,
) -> Result<BTreeSet<(String, String, u64)>, GitError> {
    let mut out = BTreeSet::new();
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
        if let Some(e) = events::event_from_trailers(&trailers)
            && e.event == EventKind::Rollback
            && let (Some(m), Some(s), Some(v)) = (e.model, e.stage, e.version)
        {
            out.insert((m, s, v));
        }
    }
    Ok(out)
}

fn judge(
    repo: &Repo,
    cx: &JudgeContext<'_, '_>,
    event: Event,
    facts: &mut BTreeMap<String, ModelFacts>,
) -> Result<Verdict, GitError> {
    let verdict = |event: Event, allowed: bool, reasons: Vec<String>| Verdict {
        event,
        allowed,
        reasons,
        checks: Vec::new(),
    };
    let Some(config) = cx.config else {
        return Ok(verdict(
            event,
            false,
            vec!["the base has no readable regent.yaml, so nothing can be judged".into()],
        ));
    };
    let author = cx
        .input
        .pull_request
        .map(|p| p.author.as_str())
        .unwrap_or("");
    match event.event {
        EventKind::Edit => {
            let what = match event.version {
                Some(v) => format!("{} v{v}", event.model.as_deref().unwrap_or("?")),
                None => format!("model {}", event.model.as_deref().unwrap_or("?")),
            };
            Ok(verdict(
                event,
                false,
                vec![format!(
                    "{what} was changed where it is frozen: after registration only status, tags and description may change"
                )],
            ))
        }
        EventKind::Delete => Ok(verdict(
            event,
            false,
            vec!["registered versions and models are never deleted; archive them instead".into()],
        )),
        EventKind::Policy => {
            let owners = &config.policy_owners;
            if owners.is_empty() {
                return Ok(verdict(
                    event,
                    true,
                    vec![
                        "regent.yaml changed; it has no policy_owners, so anyone may change it"
                            .into(),
                    ],
                ));
            }
            let counted: Vec<&String> = cx
                .approvers
                .iter()
                .filter(|a| counts(a, owners, cx.input.is_member))
                .collect();
            let allowed = cx.input.pull_request.is_some() && !counted.is_empty();
            let reason = if allowed {
                format!(
                    "regent.yaml changed, approved by policy owner {}",
                    counted[0]
                )
            } else {
                let others: Vec<String> = cx
                    .approvers
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
            Ok(verdict(event, allowed, reasons))
        }
        EventKind::Promote
        | EventKind::Rollback
        | EventKind::Demote
        | EventKind::Alias
        | EventKind::Unalias => {
            let model = event.model.clone().unwrap_or_default();
            let request = request_for(&event, cx.rollbacks);
            // Current pointers from the base; version facts from the head
            // (a version registered in the same change has no base file).
            let current = cx
                .base_snapshot
                .filter(|s| s.exists(&Layout::model(&model)))
                .and_then(|s| s.model(&model).ok())
                .map(|l| l.value)
                .unwrap_or_else(|| ModelFile {
                    name: model.clone(),
                    ..ModelFile::default()
                });
            let mut versions = BTreeMap::new();
            // Only the versions the rules look at: the candidate and the
            // current holder of the stage or alias.
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
                if let Ok(v) = cx.head_snapshot.version(&model, n) {
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
                let history = history::walk(repo, &cx.base.id().to_string(), &filter)?;
                facts.insert(model.clone(), ModelFacts::from_events(&history.events));
            }
            let model_facts = &facts[&model];
            let approvals = match cx.input.pull_request {
                Some(_) => approvals_for(&event, cx.approvers),
                None => event
                    .version
                    .map(|v| model_facts.approvals_for(v))
                    .unwrap_or_default(),
            };
            let context = policy::Context {
                config,
                model: &current,
                versions: &versions,
                held: &model_facts.held,
                approvals: &approvals,
                actor: author,
                via_pull_request: cx.input.pull_request.is_some(),
                is_member: cx.input.is_member,
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
        _ => Ok(verdict(event, true, Vec::new())),
    }
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
fn counts(user: &str, list: &[String], is_member: &dyn Fn(&str, &str) -> bool) -> bool {
    list.iter().any(|entry| {
        if entry.starts_with('@') && entry.contains('/') {
            is_member(user, entry)
        } else {
            entry.trim_start_matches('@').eq_ignore_ascii_case(user)
        }
    })
}

/// On the base branch itself (no pull request): commits that moved a
/// `direct: false` stage without a pull request bypassed the review.
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
    Ok(range
        .events
        .into_iter()
        .filter(|e| e.pr.is_none())
        .filter(|e| matches!(e.event, EventKind::Promote | EventKind::Rollback | EventKind::Demote))
        .filter(|e| e.stage.as_deref().is_some_and(|s| guarded.contains(s)))
        .map(|e| {
            let commit = e.commit.as_deref().map(|c| &c[..c.len().min(12)]).unwrap_or("?").to_owned();
            let stage = e.stage.clone().unwrap_or_default();
            Verdict {
                reasons: vec![format!(
                    "commit {commit} changed {stage} directly, but {stage} changes only through a pull request (direct: false)"
                )],
                event: e,
                allowed: false,
                checks: Vec::new(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(id: u64, user: &str, state: &str, commit: &str) -> ReviewFacts {
        ReviewFacts {
            id,
            user: user.into(),
            state: state.into(),
            commit_id: commit.into(),
        }
    }

    #[test]
    fn only_current_approvals_by_others_count() {
        let pr = PullRequestFacts {
            number: 1,
            author: "Alice".into(),
            head_sha: "head".into(),
            reviews: vec![
                review(1, "bob", "APPROVED", "head"),
                review(2, "carol", "APPROVED", "old"),  // stale
                review(3, "alice", "APPROVED", "head"), // the author
                review(4, "dave", "APPROVED", "head"),
                review(5, "dave", "CHANGES_REQUESTED", "head"), // changed their mind
                review(6, "erin", "APPROVED", "head"),
                review(7, "erin", "DISMISSED", "head"), // dismissed
                review(8, "bob", "COMMENTED", "head"),  // a comment changes nothing
                review(9, "Frank", "APPROVED", "head"),
            ],
        };
        assert_eq!(valid_approvers(&pr), ["bob", "frank"]);
    }

    #[test]
    fn team_and_direct_membership() {
        let member = |user: &str, team: &str| user == "bob" && team == "@acme/leads";
        let list = vec!["alice".to_owned(), "@acme/leads".to_owned()];
        assert!(counts("ALICE", &list, &member));
        assert!(counts("bob", &list, &member));
        assert!(!counts("mallory", &list, &member));
    }
}
