//! `regent publish [--since REV] [--push]`: tags for the events a merge
//! brought to the base branch, and outputs for the deploy steps after it.

use super::{CliError, CliResult, Ctx};
use crate::output::{Format, Table, github_outputs, write_json};
use crate::publish::{self, PublishError, Published};
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Report only the events after this revision (e.g. the push's `before`),
    /// reading only the models they touch; tags those models still miss are
    /// created too.
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// The branch's revision to publish (default: HEAD).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Push the tags created to the upstream remote (else origin).
    #[arg(long)]
    pub push: bool,
}

pub fn run(ctx: &Ctx, args: PublishArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    // Tags a killed lifecycle command did not get to create are made from
    // its journal, as the very tag objects it pushed, before publish would
    // make new ones.
    for note in crate::recovery::finish_interrupted(&repo)? {
        ctx.warn(note);
    }
    let actor = ctx.actor(&repo).unwrap_or_else(|_| "regent".into());
    let remote = if args.push {
        Some(repo.upstream_remote().unwrap_or_else(|| "origin".into()))
    } else {
        None
    };
    let outcome = publish::publish(&repo, &args.rev, args.since.as_deref(), &actor).map_err(|e| match e {
        PublishError::Git(e) => CliError::from(e),
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
    Ok(())
}

/// `events` as JSON, and for a single event its model, version, stage and URI.
fn write_outputs(published: &[Published]) -> CliResult {
    let mut pairs = vec![(
        "events",
        serde_json::to_string(published).unwrap_or_else(|_| "[]".into()),
    )];
    if let [one] = published {
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
