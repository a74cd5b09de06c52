//! `regent doctor [--fix]`: leftovers that block the next event, found and
//! (where it is safe) removed.
//!
//! Today one kind: a regent tag on a commit that no branch contains, left
//! behind when `git reset` (or a rebase) removed its event. It blocks the
//! next event that would take the same name. One that no remote-tracking
//! branch contains was never published and is deleted by `--fix`; one that
//! was pushed is reported and left alone (published tags are never moved).

use super::{CliError, CliResult, Ctx};
use crate::output::{Format, Table, write_json};
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent doctor
  regent doctor --fix")]
pub struct DoctorArgs {
    /// Delete the leftovers that were never published.
    ///
    /// A tag a remote-tracking branch contains was published and is left alone: published
    /// tags are never moved.
    #[arg(long)]
    pub fix: bool,
}

pub fn run(ctx: &Ctx, args: DoctorArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    // Deleting tags changes the checkout: one writer at a time.
    let _lock = crate::workspace::lock(&repo)?;
    let leftovers: Vec<_> = repo
        .leftover_tags()?
        .into_iter()
        .filter(|l| made_by_regent(&repo, l.commit))
        .collect();
    let mut fixed = Vec::new();
    if args.fix {
        for leftover in leftovers.iter().filter(|l| !l.on_remote) {
            repo.repo
                .tag_delete(&leftover.tag)
                .map_err(|e| CliError::error(format!("deleting tag {}: {e}", leftover.tag)))?;
            fixed.push(leftover.tag.clone());
        }
    }
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => {
            let rows: Vec<_> = leftovers
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "tag": l.tag,
                        "commit": l.commit.to_string(),
                        "pushed": l.on_remote,
                        "fixed": fixed.contains(&l.tag),
                    })
                })
                .collect();
            write_json(&mut out, &serde_json::json!({ "leftover_tags": rows }))?;
        }
        Format::Human if leftovers.is_empty() => ctx.info("Nothing to fix."),
        Format::Human => {
            let mut table = Table::new(["TAG", "COMMIT", "PUBLISHED", "ACTION"]);
            for l in &leftovers {
                let action = if fixed.contains(&l.tag) {
                    "deleted"
                } else if l.on_remote {
                    "left alone (published)"
                } else {
                    "delete with --fix"
                };
                table.row([
                    l.tag.clone(),
                    l.commit.to_string()[..12].to_owned(),
                    if l.on_remote { "yes" } else { "no" }.to_owned(),
                    action.to_owned(),
                ]);
            }
            table.write(&mut out, &ctx.style)?;
        }
    }
    out.flush()?;
    let remaining = leftovers.len() - fixed.len();
    if remaining == 0 {
        return Ok(());
    }
    let error = CliError::no(format!(
        "{remaining} tag(s) on commits no branch contains block the events that would take their names"
    ))
    .verdict_printed();
    Err(if leftovers.iter().any(|l| !l.on_remote) && !args.fix {
        error.hint("`regent doctor --fix` deletes the ones that were never published")
    } else {
        error.hint(
            "a published tag is never moved: bring the branch back to the remote's \
             (`git pull --ff-only`) or ask who removed its commit",
        )
    })
}

/// Whether `commit` is a regent event (it has a `Regent-Event` trailer):
/// doctor never touches a tag that someone else made on their own commit.
fn made_by_regent(repo: &crate::git::Repo, commit: git2::Oid) -> bool {
    repo.repo
        .find_commit(commit)
        .ok()
        .and_then(|c| c.message().ok().map(str::to_owned))
        .is_some_and(|message| {
            git2::message_trailers_strs(&message)
                .is_ok_and(|trailers| trailers.iter().any(|(k, _)| k == "Regent-Event"))
        })
}
