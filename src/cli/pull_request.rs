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
    let proposal = Proposal::new(&repo, args)?;
    let who = Actor {
        pull_request: true,
        name: &actor,
        now: crate::time::now(),
    };
    let branch = match &args.branch {
        Some(shared) => Branch::Shared(shared),
        // regent's own branch for this one event, named after it.
        None => Branch::Own(&|plan: &Plan| branch_name(plan)),
    };
    let pushed = proposal.push(branch, &mut |start| {
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
        Ok((commit, plan))
    })?;
    let plan = &pushed.value;

    let single_promotion =
        args.branch.is_none() && matches!(action, Action::Promote { .. } | Action::Rollback { .. });
    let checks = decision_checks(plan);
    let (title, body) = if single_promotion {
        let context = body_context(&repo, &proposal.base_commit, plan, &actor)?;
        proposal.render(&context, "pr-title.j2", "pr-body.md.j2")?
    } else {
        let context = proposal.events_context(&pushed, &plan.event.describe(), checks, &actor)?;
        proposal.render(&context, "pr-events-title.j2", "pr-events.md.j2")?
    };
    let mut labels = vec!["regent".to_owned()];
    labels.extend(plan.event.stage.as_ref().map(|s| format!("stage:{s}")));
    proposal.open_pull(
        ctx,
        &pushed,
        &title,
        &body,
        &labels,
        &plan.event.describe(),
        serde_json::Map::new(),
    )
}

/// Where a `--pr` event's commit goes.
pub enum Branch<'a, T> {
    /// A branch several commands share (`--branch NAME`, or a run's own
    /// branch that `run start` made and `run update | end` add to): built
    /// on its head, or on the base when it does not exist yet, and pushed
    /// as a fast-forward, rebuilt when another command pushed first.
    Shared(&'a str),
    /// regent's own branch for this one event, named from what was built:
    /// built on the base and force-pushed, so a rerun replaces it.
    Own(&'a dyn Fn(&T) -> String),
}

/// A commit pushed to a pull request's branch, and what built it.
pub struct Pushed<T> {
    pub value: T,
    pub commit: git2::Oid,
    pub branch: String,
}

/// What every `--pr` command shares once the repository is open: the
/// GitHub client, the remote, the base branch and its head as fetched now.
/// The user's checkout is never touched: commits are built on fetched
/// heads and pushed by id.
pub struct Proposal<'r> {
    repo: &'r crate::git::Repo,
    client: crate::github::Client,
    remote: String,
    base: String,
    dir: std::path::PathBuf,
    base_commit: git2::Commit<'r>,
}

impl<'r> Proposal<'r> {
    /// Checks the branch names and the token (before anything is built or
    /// uploaded further) and fetches the base.
    pub fn new(repo: &'r crate::git::Repo, args: &PullRequestArgs) -> CliResult<Proposal<'r>> {
        let client = super::github::client(repo, &args.token_env)?;
        let remote = repo.upstream_remote().unwrap_or_else(|| "origin".into());
        let base = match &args.base {
            Some(b) => b.clone(),
            None => upstream_branch(repo).unwrap_or_else(|| "main".into()),
        };
        for branch in std::iter::once(&base).chain(args.branch.as_ref()) {
            check_branch_name(branch)?;
        }
        let dir = repo
            .workdir
            .clone()
            .unwrap_or_else(|| repo.repo.path().to_path_buf());
        let base_commit = fetch_branch(repo, &dir, &remote, &base)?
            .ok_or_else(|| CliError::error(format!("{remote} has no branch {base}")))?;
        Ok(Proposal {
            repo,
            client,
            remote,
            base,
            dir,
            base_commit,
        })
    }

    /// The base branch's head, as fetched when the proposal was made.
    pub fn base_commit_id(&self) -> git2::Oid {
        self.base_commit.id()
    }

    /// Builds the event's commit with `build` on the commit `branch` says,
    /// and pushes it. `build` may be called again when a shared branch moved.
    pub fn push<T>(
        &self,
        branch: Branch<'_, T>,
        build: &mut dyn FnMut(&git2::Commit<'r>) -> CliResult<(git2::Oid, T)>,
    ) -> CliResult<Pushed<T>> {
        match branch {
            Branch::Own(name) => {
                let (commit, value) = build(&self.base_commit)?;
                let branch = name(&value);
                check_branch_name(&branch)?;
                push(&self.dir, &self.remote, commit, &branch, true)?;
                Ok(Pushed {
                    value,
                    commit,
                    branch,
                })
            }
            Branch::Shared(branch) => {
                check_branch_name(branch)?;
                let mut attempt = 1;
                loop {
                    let start = match fetch_branch(self.repo, &self.dir, &self.remote, branch)? {
                        Some(head) => head,
                        None => self.base_commit.clone(),
                    };
                    let (commit, value) = build(&start)?;
                    match push(&self.dir, &self.remote, commit, branch, false) {
                        Ok(()) => {
                            return Ok(Pushed {
                                value,
                                commit,
                                branch: branch.to_owned(),
                            });
                        }
                        Err(_) if attempt < BRANCH_ATTEMPTS => attempt += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// The title and body from the registry's templates (or regent's own),
    /// the title on one line.
    pub fn render(
        &self,
        context: &serde_json::Value,
        title_template: &str,
        body_template: &str,
    ) -> CliResult<(String, String)> {
        let dir = self.repo.registry_dir().ok();
        let render = |name| {
            crate::render::render(dir.as_deref(), name, context)
                .map_err(|e| CliError::error(e.to_string()))
        };
        let title = render(title_template)?;
        let body = render(body_template)?;
        Ok((title.split_whitespace().collect::<Vec<_>>().join(" "), body))
    }

    /// What the events template sees: every event on the branch (from the
    /// base to the pushed commit), the newest event's checks, and what the
    /// gate will ask.
    pub fn events_context<T>(
        &self,
        pushed: &Pushed<T>,
        summary: &str,
        checks: Vec<serde_json::Value>,
        actor: &str,
    ) -> CliResult<serde_json::Value> {
        let history = crate::history::walk_range(
            self.repo,
            Some(&self.base_commit.id().to_string()),
            &pushed.commit.to_string(),
            &crate::history::Filter::default(),
        )?;
        let events: Vec<String> = history.events.iter().map(|e| e.describe()).collect();
        Ok(serde_json::json!({
            "marker": BODY_MARKER,
            "summary": summary,
            "actor": actor,
            "branch": pushed.branch,
            "events": events,
            "checks": checks,
        }))
    }

    /// Opens the pull request (or updates the one the branch has), labels
    /// it, and says so: `#N URL` (or JSON with `extra`'s fields) on stdout,
    /// the PR's number and URL as step outputs in a GitHub job.
    #[allow(clippy::too_many_arguments)]
    pub fn open_pull<T>(
        &self,
        ctx: &Ctx,
        pushed: &Pushed<T>,
        title: &str,
        body: &str,
        labels: &[String],
        summary: &str,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> CliResult {
        let (pr, created) = super::github::block_on(async {
            let (pr, created) = self
                .client
                .open_or_update_pull(title, body, &pushed.branch, &self.base)
                .await?;
            self.client.add_labels(pr.number, labels).await?;
            Ok::<_, crate::github::GitHubError>((pr, created))
        })?
        .map_err(super::github::error)?;

        github_outputs(&[
            ("pr-number", pr.number.to_string()),
            ("pr-url", pr.html_url.clone()),
        ])?;
        let mut out = std::io::stdout().lock();
        match ctx.format {
            Format::Json => {
                let mut value = serde_json::json!({"number": pr.number, "url": pr.html_url, "branch": pushed.branch, "created": created, "commit": pushed.commit.to_string()});
                if let Some(map) = value.as_object_mut() {
                    map.extend(extra);
                }
                write_json(&mut out, &value)?
            }
            Format::Human => writeln!(out, "#{} {}", pr.number, pr.html_url)?,
        }
        out.flush()?;
        ctx.info(format!(
            "{} pull request #{} to {}: {summary}",
            if created { "Opened" } else { "Updated" },
            pr.number,
            self.base,
        ));
        Ok(())
    }
}

/// Every check of the plan's policy decision, as the templates show them.
fn decision_checks(plan: &Plan) -> Vec<serde_json::Value> {
    plan.decision
        .iter()
        .flat_map(|d| d.checks.iter())
        .map(crate::policy::Check::to_json)
        .collect()
}

/// A branch name regent will push: a valid ref that no option parser
/// could take for a flag.
fn check_branch_name(branch: &str) -> CliResult {
    if branch.starts_with('-') || !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        return Err(CliError::error(format!("{branch:?} is not a branch name")));
    }
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
    let checks = decision_checks(plan);
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
