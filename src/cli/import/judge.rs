//! An import is judged by the registry's policy like the events it brings:
//! a version MLflow or GTO had in `production` enters this registry's
//! `production` only if this registry's policy lets it (its approvals, its
//! `requires`, `direct: false`), exactly as `regent check` judges the same
//! commits. Without that, `regent import` would be a way around the policy
//! that `regent promote` is not.
//!
//! The chain is built once for the verdict before anything is stored:
//! artifacts recorded by their source URIs and runs without their series,
//! which no rule reads, so a refused import uploads nothing.

use super::{CliError, CliResult};
use crate::gate::{self, Report};
use crate::git::{Authorship, Repo};
use crate::workspace::{self, Change, CommitMessage};

/// The gate's report on `commits` built on `parent`, judged as commits
/// pushed to the branch without a pull request (no reviews).
pub(super) fn verdict(
    repo: &Repo,
    who: &Authorship,
    parent: &git2::Commit<'_>,
    commits: &[(Vec<Change>, CommitMessage)],
) -> CliResult<Option<Report>> {
    let ids = workspace::build_chain(repo, who, parent, commits)?;
    let Some(last) = ids.last() else {
        return Ok(None);
    };
    Ok(Some(verdict_on(repo, parent.id(), *last)?))
}

/// The gate's report on the commits from `base` to `head`, without reviews.
pub(super) fn verdict_on(repo: &Repo, base: git2::Oid, head: git2::Oid) -> CliResult<Report> {
    let base = base.to_string();
    let head = head.to_string();
    let report = gate::check(
        repo,
        &gate::Input {
            base: &base,
            head: &head,
            pull_request: None,
            // No reviews: nobody's team membership can count.
            is_member: &|_, _| false,
            merged_pull: None,
        },
    )?;
    Ok(report)
}

/// Refuses an import the policy refuses, with every refused event and why.
pub(super) fn refuse_unless_allowed(report: &Report) -> CliResult {
    if report.ok {
        return Ok(());
    }
    let refused: Vec<&gate::Verdict> = report.events.iter().filter(|v| !v.allowed).collect();
    let mut error = CliError::no(format!(
        "the import breaks the policy: {} event(s) refused{}",
        refused.len(),
        if report.errors.is_empty() {
            String::new()
        } else {
            format!(", {} file problem(s)", report.errors.len())
        }
    ));
    for verdict in &refused {
        error = error.detail(format!(
            "✗ {}: {}",
            verdict.event.describe(),
            verdict.reasons.join("; ")
        ));
    }
    for problem in &report.errors {
        error = error.detail(problem.to_string());
    }
    Err(error.hint(
        "nothing was imported. An import is judged like the events it brings: import through a \
         pull request (`--pr`), where the reviews count as approvals, or import before regent.yaml \
         governs those stages",
    ))
}

/// The gate's verdicts as the checks a pull request's body lists.
pub(super) fn checks(report: &Report) -> Vec<serde_json::Value> {
    report
        .events
        .iter()
        .filter(|v| !v.allowed || !v.checks.is_empty())
        .map(|v| {
            serde_json::json!({
                "rule": v.event.describe(),
                "passed": v.allowed,
                "message": if v.allowed {
                    "allowed".to_owned()
                } else {
                    v.reasons.join("; ")
                },
            })
        })
        .collect()
}
