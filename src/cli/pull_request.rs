//! `promote … --pr` and `rollback … --pr`: the event as a commit on a
//! branch `regent/<model>/<stage>/v<N>` built from the base branch (the
//! user's checkout is never touched), pushed with the system `git`, and a
//! pull request opened, or updated when it already exists.

use super::{CliError, CliResult, CommitArgs, Ctx};
use crate::lifecycle::{self, Action, Actor, Plan};
use crate::output::{Format, github_outputs, write_json};
use crate::snapshot::Snapshot;
use std::io::Write;

/// The marker in a promotion PR's body.
const BODY_MARKER: &str = "<!-- regent:promotion -->";

#[derive(Debug, Clone, clap::Args)]
pub struct PullRequestArgs {
    /// Open (or update) a pull request instead of committing to the current branch.
    #[arg(long, conflicts_with = "push")]
    pub pr: bool,
    /// The branch the pull request targets (default: the current branch's upstream, else main).
    #[arg(long, value_name = "BRANCH", requires = "pr")]
    pub base: Option<String>,
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
    let repo = ctx.open_registry()?;
    let actor = ctx.actor(&repo)?;
    let client = super::github::client(&repo, &args.token_env)?;
    let remote = repo.upstream_remote().unwrap_or_else(|| "origin".into());
    let base = match &args.base {
        Some(b) => b.clone(),
        None => upstream_branch(&repo).unwrap_or_else(|| "main".into()),
    };
    if base.starts_with('-') || !git2::Reference::is_valid_name(&format!("refs/heads/{base}")) {
        return Err(CliError::error(format!("{base:?} is not a branch name")));
    }
    let dir = repo
        .workdir
        .clone()
        .unwrap_or_else(|| repo.repo.path().to_path_buf());
    let tracking = format!("refs/remotes/{remote}/{base}");
    crate::git::run_git(
        &dir,
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--",
            &remote,
            &format!("+refs/heads/{base}:{tracking}"),
        ],
    )?;
    let base_commit = repo.resolve(&tracking)?;

    let who = Actor {
        pull_request: true,
        name: &actor,
        now: crate::time::now(),
    };
    let plan = lifecycle::plan(&repo, &base_commit, &action, &who)
        .map_err(super::lifecycle::plan_error)?;
    let message =
        super::lifecycle::message_for(&repo, &plan, &actor, commit_args.message.as_deref())
            .map_err(super::lifecycle::plan_error)?;
    let commit = crate::workspace::build_commit(
        &repo,
        Some(&base_commit),
        &plan.changes,
        &message,
        &repo.authorship(&actor)?,
    )?;
    let branch = branch_name(&plan);
    // The branch is regent's own: a rerun replaces it with the rebuilt event.
    crate::git::run_git(
        &dir,
        &[
            "push",
            "--quiet",
            "--force",
            "--",
            &remote,
            &format!("{commit}:refs/heads/{branch}"),
        ],
    )
    .map_err(|e| {
        CliError::error(format!("could not push {branch} to {remote}")).cause(e.to_string())
    })?;

    let context = body_context(&repo, &base_commit, &plan, &actor)?;
    let dir_for_templates = repo.registry_dir().ok();
    let title = crate::render::render(dir_for_templates.as_deref(), "pr-title.j2", &context)
        .map_err(|e| CliError::error(e.to_string()))?;
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = crate::render::render(dir_for_templates.as_deref(), "pr-body.md.j2", &context)
        .map_err(|e| CliError::error(e.to_string()))?;
    let stage = plan.event.stage.clone().unwrap_or_default();
    let labels = vec!["regent".to_owned(), format!("stage:{stage}")];
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
        plan.event.describe(),
        base
    ));
    Ok(())
}

/// `regent/<model>/<stage>/v<N>`: names are validated, so this is a valid ref.
fn branch_name(plan: &Plan) -> String {
    format!(
        "regent/{}/{}/v{}",
        plan.event.model.as_deref().unwrap_or("model"),
        plan.event.stage.as_deref().unwrap_or("stage"),
        plan.event.version.unwrap_or_default()
    )
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
        .map(|c| serde_json::json!({"rule": c.rule.as_str(), "passed": c.passed, "message": c.message}))
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
