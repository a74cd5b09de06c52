//! `regent run capture EXPERIMENT [--name RUN]`: what a run started now
//! would record, without recording anything.
//!
//! A training script that logs its run in one call at the end (the Python
//! API, a shell script feeding `run log --batch -`) asks this when training
//! begins: the source (commit, branch, dirty, remote) and environment are
//! the code's as it starts, not as it is hours later; the start time is
//! now; and the name is checked (or drawn) against the registry now, so a
//! taken `--name` is refused before the training, not after. The batch
//! line then carries what this prints: every key of it is a batch-line key.

use super::CaptureArgs;
use crate::cli::{CliError, CliResult, Ctx};
use crate::git::Context;
use crate::names::{self, NameKind};
use crate::output::{Format, write_json};
use crate::registry::Layout;
use crate::runs;
use std::io::Write;

pub(super) fn capture(ctx: &Ctx, args: CaptureArgs) -> CliResult {
    names::check(NameKind::Experiment, &args.experiment)?;
    if let Some(name) = &args.name {
        names::check(NameKind::Run, name)?;
    }
    let repo = ctx.open_registry()?;
    let registry_dir = repo.registry_dir()?;
    let actor = ctx.actor(&repo)?;
    let now = crate::time::now();
    let head = repo.head_commit()?;
    let tree = head
        .as_ref()
        .map(|h| h.tree())
        .transpose()
        .context(|| "reading HEAD's tree".into())?;
    // Taken in HEAD, or by an uncommitted file of that name (as `run log` judges).
    let taken = |name: &str| {
        let path = Layout::run(&args.experiment, name);
        registry_dir.join(&path).exists()
            || tree.as_ref().is_some_and(|t| {
                t.get_path(std::path::Path::new(&repo.repo_path(&path)))
                    .is_ok()
            })
    };
    let name = match &args.name {
        Some(name) if taken(name) => {
            return Err(
                CliError::no(format!("run {}/{name} already exists", args.experiment))
                    .hint("runs are never overwritten; choose another --name or omit it"),
            );
        }
        Some(name) => name.clone(),
        None => runs::generate_name(now, &taken),
    };
    let record = super::log::new_record(ctx, &repo, &args.experiment, &actor, now)?;
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({
                "experiment": args.experiment,
                "name": name,
                "start": record.start_time,
                "source": record.source,
                "environment": record.environment,
            }),
        )?,
        Format::Human => {
            writeln!(out, "{}/{name}", args.experiment)?;
            if let Some(source) = &record.source {
                ctx.info(format!(
                    "Source: {}{}{}",
                    source.commit.as_deref().unwrap_or("no commit yet"),
                    source
                        .branch
                        .as_ref()
                        .map(|b| format!(" on {b}"))
                        .unwrap_or_default(),
                    if source.dirty { " (dirty)" } else { "" },
                ));
            }
        }
    }
    out.flush()?;
    Ok(())
}
