//! `regent publish [--since REV] [--push]`: tags for the events a merge
//! brought to the base branch, and outputs for the deploy steps after it.

use super::{CliError, CliResult, Ctx};
use crate::output::{Format, Table, github_outputs, write_json};
use crate::publish::{self, PublishError, Published};
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent publish --push
  regent publish --since \"$BEFORE\" --push    # in CI after a push, BEFORE its old head")]
pub struct PublishArgs {
    /// Report only the events after this revision (e.g. the push's `before`).
    ///
    /// Only the models those events touch are read; tags those models still miss are
    /// created too.
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// The branch's revision to publish (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Push the tags created to the branch's upstream remote (else `origin`).
    #[arg(long)]
    pub push: bool,
    /// The environment variable holding the GitHub token.
    ///
    /// It reads the reviews of merged pull requests when their events are judged again.
    #[arg(long, value_name = "NAME", default_value = "GITHUB_TOKEN")]
    pub token_env: String,
}

pub fn run(ctx: &Ctx, args: PublishArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    // Tags a killed lifecycle command did not get to create are made from
    // its journal, as the very tag objects it pushed, before publish would
    // make new ones.
    {
        // Finishing writes files and the index: one writer at a time.
        let _lock = crate::workspace::lock(&repo)?;
        for note in crate::recovery::finish_interrupted(&repo)? {
            ctx.warn(note);
        }
    }
    let actor = ctx.actor(&repo).unwrap_or_else(|_| "regent".into());
    let remote = if args.push {
        Some(repo.upstream_remote().unwrap_or_else(|| "origin".into()))
    } else {
        None
    };
    let client = super::github::optional_client(&repo, &args.token_env);
    if client.is_none() {
        ctx.info(format!(
            "{} is not set: events merged through pull requests are judged without their reviews",
            args.token_env
        ));
    }
    let branch = super::github::current_branch(&repo);
    let members = client
        .as_ref()
        .map(|c| super::github::team_members(c, &repo, &args.rev))
        .unwrap_or_default();
    let is_member = |user: &str, team: &str| {
        members
            .get(&team.to_lowercase())
            .is_some_and(|m| m.contains(&user.to_lowercase()))
    };
    let lookup = |sha: &str| match &client {
        Some(client) => super::github::merged_pull(client, &branch, sha),
        None => Err(format!("{} is not set", args.token_env)),
    };
    let access = publish::Access {
        pull: Some(&lookup),
        is_member: &is_member,
    };
    let outcome = publish::publish(&repo, &args.rev, args.since.as_deref(), &actor, &access).map_err(|e| match e {
        PublishError::Git(e) => CliError::from(e),
        PublishError::Elsewhere { .. } => CliError::no(e.to_string())
            .hint("a published tag is never moved: find out who made it there, and why"),
        PublishError::Unreachable { .. } => CliError::no(e.to_string())
            .hint("a published tag is never moved: restore the commit on the branch, or investigate who rewrote it"),
        PublishError::BadTag(_) => CliError::error(e.to_string()),
    })?;
    let published = &outcome.events;
    let all_created = &outcome.created;
    if let Some(remote) = &remote {
        publish::push_tags(&repo, remote, all_created).map_err(|e| {
            CliError::error(format!(
                "created {} tags but could not push them to {remote}",
                all_created.len()
            ))
            .cause(e.to_string())
            .hint("run `regent publish --push` again: it is idempotent")
        })?;
    }
    write_outputs(published)?;
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(&mut out, published)?,
        Format::Human => {
            if published.is_empty() {
                ctx.info("No events to publish.");
            } else {
                let mut table = Table::new(["EVENT", "TAG", "", "URI"]);
                for p in published {
                    table.row([
                        p.event.describe(),
                        p.tag.clone().unwrap_or_default(),
                        if p.created {
                            "created".into()
                        } else {
                            String::new()
                        },
                        p.uri.clone().unwrap_or_default(),
                    ]);
                }
                table.write(&mut out, &ctx.style)?;
            }
        }
    }
    out.flush()?;
    let pushed = remote
        .map(|r| format!(", pushed to {r}"))
        .unwrap_or_default();
    ctx.info(format!("{} tag(s) created{pushed}", all_created.len()));
    if outcome.refused.is_empty() {
        return Ok(());
    }
    let mut error = CliError::no(format!(
        "{} event(s) on the branch break the policy and were not tagged",
        outcome.refused.len()
    ))
    .verdict_printed();
    for refused in &outcome.refused {
        error = error.cause(format!(
            "{} (commit {}): {}",
            refused.event.describe(),
            refused
                .event
                .commit
                .as_deref()
                .map(|c| &c[..c.len().min(12)])
                .unwrap_or("?"),
            refused.reasons.join("; ")
        ));
    }
    Err(error.hint(
        "these changes reached the branch without the gate (a direct push, an admin merge): \
         revert them, or make them again through a pull request",
    ))
}

/// `events` as JSON, and for a single event its model, version, stage and URI.
fn write_outputs(published: &[Published]) -> CliResult {
    let mut pairs = vec![(
        "events",
        serde_json::to_string(published).unwrap_or_else(|_| "[]".into()),
    )];
    let allowed: Vec<&Published> = published.iter().filter(|p| p.allowed).collect();
    if let [one] = allowed.as_slice() {
        pairs.push(("model", one.event.model.clone().unwrap_or_default()));
        pairs.push((
            "version",
            one.event.version.map(|v| v.to_string()).unwrap_or_default(),
        ));
        pairs.push(("stage", one.event.stage.clone().unwrap_or_default()));
        pairs.push(("uri", one.uri.clone().unwrap_or_default()));
    }
    github_outputs(&pairs)?;
    Ok(())
}
