//! `--pr` on `run log` (and `--batch`), `run start`, `run update` and
//! `run end`: the run event as a commit on a pull request's branch instead
//! of the current branch, for registries whose `main` only changes through
//! reviewed pull requests. The same commit as without `--pr` (same files,
//! same trailers), built on the fetched base or branch head by
//! [`pull_request::Proposal`](crate::cli::pull_request::Proposal); the
//! checkout is never touched.
//!
//! Branches: without `--branch`, a run gets its own,
//! `regent/runs/<experiment>/<run>`. `run start --pr` creates it, and
//! `run update --pr` / `run end --pr` add to it (built on its head, pushed
//! as a fast-forward), so a run recorded while it trains ends up as one
//! pull request. `--branch NAME` collects a whole sweep's runs on one.

use crate::cli::pull_request::{Branch, Proposal, PullRequestArgs};
use crate::cli::{CliError, CliResult, Ctx};
use crate::git::Repo;
use crate::workspace;

/// Which branch a run event goes to when no `--branch` is given.
pub(super) enum RunBranch<'a, T> {
    /// A new run: its own branch, named from what was built (a generated
    /// run name is only known then), made from the base.
    New(&'a dyn Fn(&T) -> String),
    /// A change to a run `run start --pr` may have put on its own branch:
    /// built on that branch's head when it exists, else on the base.
    Existing(String),
}

/// A run event's one-line summary, and the fields `--json` adds to the
/// pull request's.
pub(super) type Summary = (String, serde_json::Map<String, serde_json::Value>);

/// The branch of run `experiment/run` when no `--branch` is given.
pub(super) fn own_branch(experiment: &str, run: &str) -> String {
    format!("regent/runs/{experiment}/{run}")
}

/// Builds the event with `prepare` on the pull request's branch, pushes
/// it, and opens or updates the pull request. `describe` gives the event's
/// one-line summary and the fields `--json` adds to the pull request's.
pub(super) fn propose<T>(
    ctx: &Ctx,
    repo: &Repo,
    args: &PullRequestArgs,
    actor: &str,
    own: RunBranch<'_, T>,
    describe: &dyn Fn(&T) -> Summary,
    prepare: &mut workspace::Prepare<'_, T, CliError>,
) -> CliResult {
    let authorship = repo.authorship(actor)?;
    let proposal = Proposal::new(repo, args)?;
    let branch = match (&args.branch, &own) {
        (Some(shared), _) => Branch::Shared(shared),
        (None, RunBranch::Existing(name)) => Branch::Shared(name),
        (None, RunBranch::New(name)) => Branch::Own(*name),
    };
    let pushed = proposal.push(branch, &mut |start| {
        let (prepared, value) = prepare(start)?;
        let commit = workspace::build_commit(
            repo,
            Some(start),
            &prepared.changes,
            &prepared.message,
            &authorship,
        )?;
        Ok((commit, value))
    })?;
    let (summary, extra) = describe(&pushed.value);
    // Runs are not judged by the stages' rules: the gate passes them at once.
    let context = proposal.events_context(&pushed, &summary, Vec::new(), actor)?;
    let (title, body) = proposal.render(&context, "pr-events-title.j2", "pr-events.md.j2")?;
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

/// `describe` for events of one run: "run EXP/RUN" (or `verb`), and the
/// run's id and status for `--json`.
pub(super) fn describe_run(verb: &str, record: &crate::registry::RunFile) -> Summary {
    let mut extra = serde_json::Map::new();
    extra.insert("run".into(), record.id().into());
    extra.insert("status".into(), record.status.as_str().into());
    (format!("{verb} run {}", record.id()), extra)
}
