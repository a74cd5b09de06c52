//! `regent check --base REV [--head REV] [--pr N]`: the pull-request gate,
//! meant as a required status check. The policy is the base's; approvals
//! are the pull request's reviews; the report goes to stdout, a sticky PR
//! comment, the step summary and annotations. Exit 1 on any violation.

use super::{CliError, CliResult, Ctx};
use crate::gate::{self, PullRequestFacts, Report, ReviewFacts};
use crate::output::{
    Format, annotation, github_outputs, in_github_actions, step_summary, write_json,
};
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// The hidden marker that finds regent's comment on a pull request again.
pub const COMMENT_MARKER: &str = "<!-- regent:check -->";

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent check --base origin/main            # before you push
  regent check --base origin/main --pr 42    # in CI, with the pull request's reviews")]
pub struct CheckArgs {
    /// The base branch's revision (`origin/main`); its regent.yaml is the policy.
    ///
    /// Every registry event between the merge base and --head is judged by that policy.
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The revision to judge (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub head: String,
    /// The pull request's number: its reviews are the approvals, and it gets a sticky comment.
    ///
    /// Needs a GitHub token (see --token-env); the repository is GITHUB_REPOSITORY
    /// (`owner/name`), else the one the remote's URL names.
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// The environment variable holding the GitHub token.
    #[arg(long, value_name = "NAME", default_value = "GITHUB_TOKEN")]
    pub token_env: String,
}

pub fn run(ctx: &Ctx, args: CheckArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let (pull_request, members, client) = match args.pr {
        Some(number) => {
            let client = super::github::client(&repo, &args.token_env)?;
            let teams = teams_in_policy(&repo, &args.base)?;
            let (pr, members) = super::github::block_on(async {
                let pr = client.get_pull(number).await?;
                let reviews = client.reviews(number).await?;
                let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
                for team in &teams {
                    if let Some((org, slug)) = team.trim_start_matches('@').split_once('/') {
                        members.insert(team.to_lowercase(), client.team_members(org, slug).await?);
                    }
                }
                Ok::<_, crate::github::GitHubError>((
                    PullRequestFacts {
                        number,
                        author: pr.author,
                        head_sha: pr.head_sha,
                        reviews: reviews
                            .into_iter()
                            .map(|r| ReviewFacts {
                                id: r.id,
                                user: r.user,
                                state: r.state,
                                commit_id: r.commit_id,
                            })
                            .collect(),
                    },
                    members,
                ))
            })?
            .map_err(super::github::error)?;
            (Some(pr), members, Some(client))
        }
        None => (None, BTreeMap::new(), None),
    };
    let is_member = |user: &str, team: &str| {
        members
            .get(&team.to_lowercase())
            .is_some_and(|m| m.contains(&user.to_lowercase()))
    };
    // On the branch itself (no pull request): which commits came through
    // one is asked of GitHub when a token is set (squash and rebase merges).
    let direct_client = match args.pr {
        Some(_) => None,
        None => super::github::optional_client(&repo, &args.token_env),
    };
    let branch = super::github::current_branch(&repo);
    let lookup = |sha: &str| match &direct_client {
        Some(client) => super::github::merged_pull(client, &branch, sha),
        None => Err(format!("{} is not set", args.token_env)),
    };
    let report = gate::check(
        &repo,
        &gate::Input {
            base: &args.base,
            head: &args.head,
            pull_request: pull_request.as_ref(),
            is_member: &is_member,
            merged_pull: direct_client
                .as_ref()
                .map(|_| &lookup as gate::PullLookup<'_>),
        },
    )?;

    // The report's template comes from the base, like the policy: the change
    // under review must not be able to restyle its own verdict.
    let name = "check-report.md.j2";
    let custom = Snapshot::at_rev(&repo, &args.base)
        .ok()
        .and_then(|s| s.read(&format!("{}/{name}", crate::render::OVERRIDES)).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let markdown = crate::render::render_source(name, custom.as_deref(), &report_context(&report))
        .map_err(|e| CliError::error(e.to_string()))?;
    // Outputs and the summary first: a comment that cannot be written (a
    // fork's read-only token) must not cost the workflow its outputs.
    if in_github_actions() {
        step_summary(&markdown)?;
        github_outputs(&[
            ("ok", report.ok.to_string()),
            (
                "events",
                serde_json::to_string(&report.events).unwrap_or_else(|_| "[]".into()),
            ),
        ])?;
    }
    if let (Some(client), Some(number)) = (&client, args.pr) {
        match super::github::block_on(client.upsert_comment(number, COMMENT_MARKER, &markdown))? {
            Ok(outcome) => ctx.info(format!("Pull request #{number}: comment {outcome:?}")),
            // The verdict stands without the comment; say why it is missing.
            Err(e) => ctx.warn(format!("could not write the pull request comment: {e}")),
        }
    }
    print(ctx, &report)?;
    if report.ok {
        ctx.info("The change may merge.");
        Ok(())
    } else {
        let refused = report.events.iter().filter(|v| !v.allowed).count();
        Err(CliError::no(format!(
            "the change breaks the policy: {refused} event(s) refused, {} file problem(s)",
            report.errors.len()
        ))
        .verdict_printed())
    }
}

/// Teams named anywhere in the base's policy, looked up once each.
fn teams_in_policy(repo: &crate::git::Repo, base: &str) -> CliResult<BTreeSet<String>> {
    let snapshot = Snapshot::at_rev(repo, base)?;
    let Ok(config) = snapshot.config() else {
        return Ok(BTreeSet::new());
    };
    Ok(config.value.teams())
}

fn report_context(report: &Report) -> serde_json::Value {
    let events: Vec<serde_json::Value> = report
        .events
        .iter()
        .map(|v| {
            serde_json::json!({
                "description": v.event.describe(),
                "allowed": v.allowed,
                "reasons": v.reasons,
                "checks": v.checks.iter().map(crate::policy::Check::to_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "marker": COMMENT_MARKER,
        "ok": report.ok,
        "events": events,
        "errors": report.errors,
        "base": &report.base[..report.base.len().min(12)],
        "head": &report.head[..report.head.len().min(12)],
        "approvers": report.approvers,
    })
}

fn print(ctx: &Ctx, report: &Report) -> CliResult {
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(&mut out, report)?,
        Format::Human => {
            for d in &report.errors {
                writeln!(out, "{d}")?;
            }
            for v in &report.events {
                let mark = if v.allowed {
                    ctx.style.green("✓")
                } else {
                    "✗".to_owned()
                };
                writeln!(out, "{mark} {}", v.event.describe())?;
                for reason in &v.reasons {
                    writeln!(out, "    {reason}")?;
                }
            }
            if report.events.is_empty() && report.errors.is_empty() {
                writeln!(out, "No registry events in this change.")?;
            }
        }
    }
    if in_github_actions() {
        for d in &report.errors {
            let line = annotation("error", &d.file, d.line, d.column, &d.message);
            if ctx.format == Format::Json {
                let _ = writeln!(std::io::stderr(), "{line}");
            } else {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
