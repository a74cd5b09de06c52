//! `--pr` on the lifecycle commands: the event as a commit on a branch
//! built from the base branch (the user's checkout is never touched), pushed
//! with the system `git`, and a pull request opened, or updated when it
//! already exists.
//!
//! Without `--branch`, each event gets a branch of regent's own
//! (`regent/<model>/<stage>/v<N>` for a promotion, `regent/<model>/<event>…`
//! otherwise), rebuilt from the base and force-pushed on a rerun. With
//! `--branch NAME` several commands collect their events on one branch and
//! one pull request: each builds on the branch's head and pushes a
//! fast-forward (a sweep's runs, a registration and its promotion).

use super::{CliError, CliResult, CommitArgs, Ctx};
use crate::lifecycle::{self, Action, Actor, Plan};
use crate::output::{Format, github_outputs, write_json};
use crate::snapshot::Snapshot;
use std::io::Write;

/// The marker in a promotion PR's body.
const BODY_MARKER: &str = "<!-- regent:promotion -->";

/// How often a `--branch` push is rebuilt when another command pushed to
/// the branch first.
const BRANCH_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, clap::Args)]
pub struct PullRequestArgs {
    /// Open (or update) a pull request instead of committing to the current branch.
    #[arg(long, conflicts_with = "push")]
    pub pr: bool,
    /// The branch the pull request targets (default: the current branch's upstream, else main).
    #[arg(long, value_name = "BRANCH", requires = "pr")]
    pub base: Option<String>,
    /// Collect this event on BRANCH (created from the base if missing) and
    /// its one pull request, with the events other `--pr --branch BRANCH`
    /// commands put there.
    #[arg(long, value_name = "BRANCH", requires = "pr")]
    pub branch: Option<String>,
    /// The environment variable holding the GitHub token.
    #[arg(long, value_name = "NAME", default_value = "GITHUB_TOKEN")]
    pub token_env: String,
}

pub fn open(
    ctx: &Ctx,
    action: Action,
    args: &PullRequestArgs,
    commit_args: &CommitArgs,
) -> CliResult {
    for (kind, name) in action.names() {
        crate::names::check(kind, name)?;
    }
    let repo = ctx.open_registry()?;
    let (actor, authorship) = match &action {
        // An approval is the committer's own act, also in a pull request.
        Action::Approve { .. } => ctx.approver(&repo)?,
        _ => {
            let actor = ctx.actor(&repo)?;
            let authorship = repo.authorship(&actor)?;
            (actor, authorship)
        }
    };
    let client = super::github::client(&repo, &args.token_env)?;
    let remote = repo.upstream_remote().unwrap_or_else(|| "origin".into());
    let base = match &args.base {
        Some(b) => b.clone(),
        None => upstream_branch(&repo).unwrap_or_else(|| "main".into()),
    };
    for branch in std::iter::once(&base).chain(args.branch.as_ref()) {
        if branch.starts_with('-')
            || !git2::Reference::is_valid_name(&format!("refs/heads/{branch}"))
        {
            return Err(CliError::error(format!("{branch:?} is not a branch name")));
        }
    }
    let dir = repo
        .workdir
        .clone()
        .unwrap_or_else(|| repo.repo.path().to_path_buf());
    let base_commit = fetch_branch(&repo, &dir, &remote, &base)?
        .ok_or_else(|| CliError::error(format!("{remote} has no branch {base}")))?;
    let who = Actor {
        pull_request: true,
        name: &actor,
        now: crate::time::now(),
    };
    let build = |start: &git2::Commit<'_>| -> CliResult<(Plan, git2::Oid)> {
        let plan =
            lifecycle::plan(&repo, start, &action, &who).map_err(super::lifecycle::plan_error)?;
        let message =
            super::lifecycle::message_for(&repo, &plan, &actor, commit_args.message.as_deref())
                .map_err(super::lifecycle::plan_error)?;
        let commit = crate::workspace::build_commit(
            &repo,
            Some(start),
            &plan.changes,
            &message,
            &authorship,
        )?;
        Ok((plan, commit))
    };

    let (plan, commit, branch) = match &args.branch {
        // regent's own branch for this one event: rebuilt from the base on a
        // rerun, so a force push replaces it.
        None => {
            let (plan, commit) = build(&base_commit)?;
            let branch = branch_name(&plan);
            push(&dir, &remote, commit, &branch, true)?;
            (plan, commit, branch)
        }
        // A shared branch: build on its head, push a fast-forward, and
        // rebuild when another command got there first.
        Some(branch) => {
            let mut attempt = 1;
            loop {
                let start = match fetch_branch(&repo, &dir, &remote, branch)? {
                    Some(head) => head,
                    None => base_commit.clone(),
                };
                let (plan, commit) = build(&start)?;
                match push(&dir, &remote, commit, branch, false) {
                    Ok(()) => break (plan, commit, branch.clone()),
                    Err(_) if attempt < BRANCH_ATTEMPTS => attempt += 1,
                    Err(e) => return Err(e),
                }
            }
        }
    };

    let single_promotion =
        args.branch.is_none() && matches!(action, Action::Promote { .. } | Action::Rollback { .. });
    let dir_for_templates = repo.registry_dir().ok();
    let (title, body) = if single_promotion {
        let context = body_context(&repo, &base_commit, &plan, &actor)?;
        let title = crate::render::render(dir_for_templates.as_deref(), "pr-title.j2", &context)
            .map_err(|e| CliError::error(e.to_string()))?;
        let body = crate::render::render(dir_for_templates.as_deref(), "pr-body.md.j2", &context)
            .map_err(|e| CliError::error(e.to_string()))?;
        (title, body)
    } else {
        let context = events_context(&repo, &base_commit, commit, &plan, &actor, &branch)?;
        let title =
            crate::render::render(dir_for_templates.as_deref(), "pr-events-title.j2", &context)
                .map_err(|e| CliError::error(e.to_string()))?;
        let body = crate::render::render(dir_for_templates.as_deref(), "pr-events.md.j2", &context)
            .map_err(|e| CliError::error(e.to_string()))?;
        (title, body)
    };
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut labels = vec!["regent".to_owned()];
    labels.extend(plan.event.stage.as_ref().map(|s| format!("stage:{s}")));
    let (pr, created) = super::github::block_on(async {
        let (pr, created) = client
            .open_or_update_pull(&title, &body, &branch, &base)
            .await?;
        client.add_labels(pr.number, &labels).await?;
        Ok::<_, crate::github::GitHubError>((pr, created))
    })?
    .map_err(super::github::error)?;

    github_outputs(&[
        ("pr-number", pr.number.to_string()),
        ("pr-url", pr.html_url.clone()),
    ])?;
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({"number": pr.number, "url": pr.html_url, "branch": branch, "created": created, "commit": commit.to_string()}),
        )?,
        Format::Human => writeln!(out, "#{} {}", pr.number, pr.html_url)?,
    }
    out.flush()?;
    ctx.info(format!(
        "{} pull request #{} to {}: {}",
        if created { "Opened" } else { "Updated" },
        pr.number,
        base,
        plan.event.describe(),
    ));
    Ok(())
}

/// Fetches `branch` from `remote` into its remote-tracking ref and returns
/// its head, or None when the remote has no such branch.
fn fetch_branch<'r>(
    repo: &'r crate::git::Repo,
    dir: &std::path::Path,
    remote: &str,
    branch: &str,
) -> CliResult<Option<git2::Commit<'r>>> {
    let listed = crate::git::run_git(
        dir,
        &[
            "ls-remote",
            "--heads",
            "--",
            remote,
            &format!("refs/heads/{branch}"),
        ],
    )?;
    if listed.trim().is_empty() {
        return Ok(None);
    }
    let tracking = format!("refs/remotes/{remote}/{branch}");
    crate::git::run_git(
        dir,
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--",
            remote,
            &format!("+refs/heads/{branch}:{tracking}"),
        ],
    )?;
    Ok(Some(repo.resolve(&tracking)?))
}

/// Pushes `commit` to `branch` on `remote`: forced for regent's own
/// one-event branch, a fast-forward for a shared one.
fn push(
    dir: &std::path::Path,
    remote: &str,
    commit: git2::Oid,
    branch: &str,
    force: bool,
) -> CliResult {
    let target = format!("{commit}:refs/heads/{branch}");
    let mut git_args = vec!["push", "--quiet"];
    if force {
        git_args.push("--force");
    }
    git_args.extend(["--", remote, &target]);
    crate::git::run_git(dir, &git_args).map_err(|e| {
        CliError::error(format!("could not push {branch} to {remote}")).cause(e.to_string())
    })?;
    Ok(())
}

/// What the events template sees: every event on the branch (from the
/// base to `head`), the newest event's checks, and what the gate will ask.
fn events_context(
    repo: &crate::git::Repo,
    base: &git2::Commit<'_>,
    head: git2::Oid,
    plan: &Plan,
    actor: &str,
    branch: &str,
) -> CliResult<serde_json::Value> {
    let history = crate::history::walk_range(
        repo,
        Some(&base.id().to_string()),
        &head.to_string(),
        &crate::history::Filter::default(),
    )?;
    let events: Vec<String> = history.events.iter().map(|e| e.describe()).collect();
    let checks: Vec<serde_json::Value> = plan
        .decision
        .iter()
        .flat_map(|d| d.checks.iter())
        .map(crate::policy::Check::to_json)
        .collect();
    Ok(serde_json::json!({
        "marker": BODY_MARKER,
        "summary": plan.event.describe(),
        "actor": actor,
        "branch": branch,
        "events": events,
        "checks": checks,
    }))
}

/// regent's own branch for one event: `regent/<model>/<stage>/v<N>` for a
/// promotion or rollback (as before), else `regent/<model>/<event>`, then
/// `/<stage>` or `/@<alias>` and `/v<N>` when the event has them. Names are
/// validated, so this is a valid ref.
fn branch_name(plan: &Plan) -> String {
    let event = &plan.event;
    let model = event.model.as_deref().unwrap_or("model");
    let version = event.version.map(|v| format!("/v{v}")).unwrap_or_default();
    match event.event {
        crate::events::EventKind::Promote | crate::events::EventKind::Rollback => {
            format!(
                "regent/{model}/{}{version}",
                event.stage.as_deref().unwrap_or("stage")
            )
        }
        kind => {
            let target = event
                .stage
                .as_ref()
                .map(|s| format!("/{s}"))
                .or_else(|| event.alias.as_ref().map(|a| format!("/@{a}")))
                .unwrap_or_default();
            format!("regent/{model}/{}{target}{version}", kind.as_str())
        }
    }
}

/// The current branch's upstream branch name (`main` for `origin/main`).
fn upstream_branch(repo: &crate::git::Repo) -> Option<String> {
    let branch = repo.head_branch().ok()?;
    let short = branch.strip_prefix("refs/heads/")?;
    let config = repo.repo.config().ok()?;
    let merge = config.get_string(&format!("branch.{short}.merge")).ok()?;
    merge.strip_prefix("refs/heads/").map(str::to_owned)
}

/// What the PR templates see: the candidate's metrics beside the current
/// holder's, every policy check, and the approvals still needed.
fn body_context(
    repo: &crate::git::Repo,
    base: &git2::Commit<'_>,
    plan: &Plan,
    actor: &str,
) -> CliResult<serde_json::Value> {
    let snapshot = Snapshot::of_commit(repo, base)?
        .ok_or_else(|| CliError::error("the base branch has no registry"))?;
    let model = plan.event.model.clone().unwrap_or_default();
    let stage = plan.event.stage.clone().unwrap_or_default();
    let version = plan.event.version.unwrap_or_default();
    let candidate = snapshot.version(&model, version).ok().map(|v| v.value);
    let current = plan
        .event
        .previous
        .and_then(|p| snapshot.version(&model, p).ok())
        .map(|v| v.value);
    let mut names: Vec<String> = candidate
        .iter()
        .flat_map(|v| v.metrics.keys().cloned())
        .collect();
    names.extend(current.iter().flat_map(|v| v.metrics.keys().cloned()));
    names.sort();
    names.dedup();
    let value = |v: &Option<crate::registry::VersionFile>, name: &str| {
        v.as_ref()
            .and_then(|v| v.metrics.get(name))
            .map(|m| crate::output::number(*m))
            .unwrap_or_else(|| "-".into())
    };
    let metrics: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({"name": n, "candidate": value(&candidate, n), "current": value(&current, n)}))
        .collect();
    let checks: Vec<serde_json::Value> = plan
        .decision
        .iter()
        .flat_map(|d| d.checks.iter())
        .map(crate::policy::Check::to_json)
        .collect();
    let config = snapshot.config().ok().map(|c| c.value);
    let stage_config = config.as_ref().and_then(|c| c.stage(&stage)).cloned();
    let required = stage_config.as_ref().and_then(|s| s.approvals).unwrap_or(0);
    Ok(serde_json::json!({
        "marker": BODY_MARKER,
        "summary": plan.event.describe(),
        "actor": actor,
        "model": model,
        "version": version,
        "previous": plan.event.previous,
        "stage": stage,
        "description": candidate.as_ref().and_then(|v| v.description.clone()),
        "metrics": metrics,
        "checks": checks,
        "approvals_needed": required,
        "approvers": stage_config.map(|s| s.approvers).unwrap_or_default(),
    }))
}
