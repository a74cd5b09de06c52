//! `regent import … --pr`: the import's commits on a pull request's branch
//! (`regent/import/<mlflow|gto>`, or `--branch`'s), built on the base as
//! fetched now, and the pull request, whose reviews the gate counts as the
//! approvals the imported stages need. The checkout is not touched.

use super::{CliError, CliResult, Ctx, ImportOptions, Pass, judge};
use crate::cli::pull_request::{Branch, Proposal};
use crate::git::{Authorship, Repo};
use crate::import::{Source, plan};
use crate::snapshot::Snapshot;

/// What one build of the import on a start commit made.
struct Built {
    runs: usize,
    versions: usize,
    events: usize,
}

pub(super) fn propose(
    ctx: &Ctx,
    repo: &Repo,
    source: &Source,
    options: &ImportOptions,
    actor: &str,
    authorship: &Authorship,
) -> CliResult {
    let args = &options.pull_request;
    let proposal = Proposal::new(repo, args)?;
    let own = format!("regent/import/{}", source.kind);
    let branch = match &args.branch {
        Some(shared) => Branch::Shared(shared),
        None => Branch::Own(&|_: &Built| own.clone()),
    };
    let pushed = proposal.push(branch, &mut |start| {
        // Planned against the branch it lands on: what is imported there already.
        let snapshot = Snapshot::of_commit(repo, start)?
            .filter(|s| s.exists(crate::registry::Layout::CONFIG))
            .ok_or_else(|| CliError::error("the base branch has no registry"))?;
        let before = crate::imported::imported_so_far(repo, Some(start.id()))?;
        let plan = plan::plan(source, &snapshot, &before).map_err(super::plan_error)?;
        if plan.commits.is_empty() {
            return Err(CliError::no(format!(
                "nothing new to import from {} on that branch ({} already imported)",
                source.location, plan.already
            )));
        }
        let commits = super::finish_all(ctx, repo, &plan, source, actor, options, Pass::Commit)?;
        let ids = crate::workspace::build_chain(repo, authorship, start, &commits)?;
        let last = *ids
            .last()
            .ok_or_else(|| CliError::error("the import made no commit"))?;
        let built = Built {
            runs: plan.commits.iter().map(|c| c.runs.len()).sum(),
            versions: plan.commits.iter().map(|c| c.versions.len()).sum(),
            events: plan.commits.iter().map(|c| c.events.len()).sum(),
        };
        Ok((last, built))
    })?;
    let built = &pushed.value;
    let summary = format!(
        "import from {} {}: {} runs, {} versions, {} model events",
        source.kind, source.location, built.runs, built.versions, built.events
    );
    // What the gate will ask of the pull request, shown in its body.
    let verdict = judge::verdict_on(repo, proposal.base_commit_id(), pushed.commit)?;
    let context = proposal.events_context(&pushed, &summary, judge::checks(&verdict), actor)?;
    let (title, body) = proposal.render(&context, "pr-events-title.j2", "pr-events.md.j2")?;
    let mut extra = serde_json::Map::new();
    extra.insert("source".into(), source.kind.into());
    extra.insert("runs".into(), built.runs.into());
    extra.insert("versions".into(), built.versions.into());
    extra.insert("events".into(), built.events.into());
    proposal.open_pull(
        ctx,
        &pushed,
        &title,
        &body,
        &["regent".to_owned()],
        &summary,
        extra,
    )
}
