//! `regent run start | update | end`: a run recorded while it trains.
//!
//! `start` commits a `running` run (its source commit is the one the code
//! had when training began); `update` adds params, metrics, history points,
//! tags, artifacts and a note to a running run; `end` does the same and
//! closes it with a final status. Each is one commit built by
//! [`workspace::apply`] on the branch head, so concurrent writers and
//! `--push` rebuild it on a moved head. A run that has ended is immutable.

use super::{EndArgs, StartArgs, UpdateArgs, UpdateData, run_json, split_run_id};
use crate::cli::{CliError, CliResult, Ctx};
use crate::git::Repo;
use crate::names::{self, NameKind};
use crate::output::{Format, write_json};
use crate::registry::{Layout, RunFile, RunStatus, to_yaml};
use crate::runs;
use crate::snapshot::Snapshot;
use crate::workspace::{Change, CommitMessage, Prepared};
use std::collections::BTreeMap;
use std::io::Write;

pub(super) fn start(ctx: &Ctx, args: StartArgs) -> CliResult {
    names::check(NameKind::Experiment, &args.experiment)?;
    if let Some(name) = &args.name {
        names::check(NameKind::Run, name)?;
    }
    let repo = ctx.open_registry()?;
    let actor = ctx.actor(&repo)?;
    // Before any upload: a branch with nowhere to push fails first.
    let push = ctx.push_target(&repo, args.commit.push)?;
    let now = crate::time::now();
    let mut record = super::log::new_record(ctx, &repo, &args.experiment, &actor, now)?;
    record.status = RunStatus::Running;
    record.end_time = None;
    record.params = args.data.params()?;
    record.tags = args.data.tags.iter().cloned().collect();
    record.note = args.data.note.clone();
    let ((metrics, history), spills) = args.data.metrics(now)?;
    record.metrics = metrics;
    record.artifacts = args.data.artifacts(ctx, &repo)?;
    super::bound::add_history(ctx, &repo, &mut record, &history, &spills)?;
    let mut build_event = |base: &git2::Commit<'_>| {
        let snapshot = Snapshot::of_commit(&repo, base)?;
        let taken = |name: &str| {
            snapshot
                .as_ref()
                .is_some_and(|s| s.exists(&Layout::run(&args.experiment, name)))
        };
        let mut record = record.clone();
        record.name = match &args.name {
            Some(name) if taken(name) => {
                return Err(
                    CliError::no(format!("run {}/{name} already exists", args.experiment))
                        .hint("runs are never overwritten; choose another --name or omit it"),
                );
            }
            Some(name) => name.clone(),
            None => runs::generate_name(now, &taken),
        };
        let prepared = prepare(
            &repo,
            &record,
            "run",
            args.commit.message.as_deref(),
            &actor,
        )?;
        Ok((prepared, record))
    };
    if args.pull_request.pr {
        let own = |record: &RunFile| super::propose::own_branch(&record.experiment, &record.name);
        return super::propose::propose(
            ctx,
            &repo,
            &args.pull_request,
            &actor,
            super::propose::RunBranch::New(&own),
            &|record| super::propose::describe_run("start", record),
            &mut build_event,
        );
    }
    let applied = super::log::apply_run_event(ctx, &repo, &actor, push.as_ref(), &mut build_event)?;
    report(ctx, &applied.value, applied.commit, "Started")
}

pub(super) fn update(ctx: &Ctx, args: UpdateArgs) -> CliResult {
    change(
        ctx,
        &args.run,
        &args.data,
        None,
        &args.commit,
        &args.pull_request,
    )
}

pub(super) fn end(ctx: &Ctx, args: EndArgs) -> CliResult {
    if args.status == RunStatus::Running {
        return Err(CliError::error(
            "--status running does not end a run; use finished, failed or killed",
        ));
    }
    change(
        ctx,
        &args.run,
        &args.data,
        Some(args.status),
        &args.commit,
        &args.pull_request,
    )
}

/// `update` (no status) or `end` (a final status) of a running run.
fn change(
    ctx: &Ctx,
    id: &str,
    data: &UpdateData,
    status: Option<RunStatus>,
    commit: &crate::cli::CommitArgs,
    pull_request: &crate::cli::pull_request::PullRequestArgs,
) -> CliResult {
    let (experiment, name) = split_run_id(id)?;
    let repo = ctx.open_registry()?;
    let actor = ctx.actor(&repo)?;
    // Before any upload: a branch with nowhere to push fails first.
    let push = ctx.push_target(&repo, commit.push)?;
    let now = crate::time::now();
    // Everything read from files and flags first: a bad input is refused
    // before anything is built.
    let params = data.params()?;
    let ((metrics, history), spills) = data.metrics(now)?;
    let artifacts = data.artifacts(ctx, &repo)?;
    let tags: BTreeMap<String, String> = data.tags.iter().cloned().collect();
    let mut build_event = |base: &git2::Commit<'_>| {
        let snapshot = Snapshot::of_commit(&repo, base)?;
        let path = Layout::run(&experiment, &name);
        let Some(snapshot) = snapshot.filter(|s| s.exists(&path)) else {
            return Err(CliError::no(format!("no run {experiment}/{name}"))
                .hint("`regent run start` begins one; `regent run list` shows the runs"));
        };
        let mut record = snapshot
            .run(&experiment, &name)
            .map(|l| l.value)
            .map_err(|d| CliError::bad_files(format!("run {experiment}/{name} is invalid"), d))?;
        if record.status != RunStatus::Running {
            return Err(CliError::no(format!(
                "run {experiment}/{name} has ended ({}); an ended run is immutable",
                record.status.as_str()
            ))
            .hint("log a new run instead"));
        }
        merge(
            &mut record,
            &params,
            &metrics,
            &artifacts,
            &tags,
            data.note.as_deref(),
        )?;
        // Under the lock, on the run as the branch has it: a series part
        // depends on the points already there. Stored by content, so a
        // retry on a moved head stores nothing twice.
        super::bound::add_history(ctx, &repo, &mut record, &history, &spills)?;
        if let Some(status) = status {
            record.status = status;
            let start = crate::time::parse(&record.start_time).unwrap_or(now);
            record.end_time = Some(crate::time::format(now.max(start)));
        }
        let event = if status.is_some() { "end" } else { "update" };
        let prepared = prepare(&repo, &record, event, commit.message.as_deref(), &actor)?;
        Ok((prepared, record))
    };
    let verb_now = if status.is_some() { "end" } else { "update" };
    if pull_request.pr {
        return super::propose::propose(
            ctx,
            &repo,
            pull_request,
            &actor,
            super::propose::RunBranch::Existing(super::propose::own_branch(&experiment, &name)),
            &|record| super::propose::describe_run(verb_now, record),
            &mut build_event,
        );
    }
    let applied = super::log::apply_run_event(ctx, &repo, &actor, push.as_ref(), &mut build_event)?;
    let verb = if status.is_some() { "Ended" } else { "Updated" };
    report(ctx, &applied.value, applied.commit, verb)
}

/// Adds what an update brings to a running run. Params are set once (the
/// same value again is fine: a resumed script logs them again); metrics take
/// their latest value; artifacts are appended; tags are set; a note
/// replaces the note. History points are `bound::add_history`'s.
fn merge(
    record: &mut RunFile,
    params: &BTreeMap<String, String>,
    metrics: &BTreeMap<String, f64>,
    artifacts: &[crate::registry::RunArtifact],
    tags: &BTreeMap<String, String>,
    note: Option<&str>,
) -> CliResult {
    for (key, value) in params {
        match record.params.get(key) {
            Some(old) if old != value => {
                return Err(CliError::no(format!(
                    "param {key} of run {} is already {old:?}; params are set once",
                    record.id()
                ))
                .hint("log a changing value as a metric or a tag"));
            }
            _ => {
                record.params.insert(key.clone(), value.clone());
            }
        }
    }
    record
        .metrics
        .extend(metrics.iter().map(|(k, v)| (k.clone(), *v)));
    for artifact in artifacts {
        if let Some(name) = &artifact.path
            && record
                .artifacts
                .iter()
                .any(|a| a.path.as_ref() == Some(name))
        {
            return Err(CliError::no(format!(
                "run {} already has an artifact {name}",
                record.id()
            )));
        }
        record.artifacts.push(artifact.clone());
    }
    record
        .tags
        .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(note) = note {
        record.note = Some(note.to_owned());
    }
    Ok(())
}

/// The file and the message of one run event, checked as `validate` would.
fn prepare(
    repo: &Repo,
    record: &RunFile,
    event: &str,
    user_message: Option<&str>,
    actor: &str,
) -> CliResult<Prepared> {
    let path = Layout::run(&record.experiment, &record.name);
    let yaml = to_yaml("run", record).map_err(|e| CliError::error(e.to_string()))?;
    // What regent writes must pass what regent checks.
    crate::load::load::<RunFile>("run", &repo.repo_path(&path), yaml.as_bytes()).map_err(|d| {
        CliError::bad_files("the run record would not be valid; nothing was written", d)
    })?;
    let id = record.id();
    let (kind, subject) = match event {
        "run" => (
            "run",
            crate::cli::commit_subject(
                repo,
                "run",
                &[("experiment", &record.experiment), ("run", &record.name)],
            )?,
        ),
        "end" => (
            "edit",
            crate::cli::commit_subject(
                repo,
                "edit",
                &[
                    ("experiment", &record.experiment),
                    ("run", &record.name),
                    (
                        "summary",
                        &format!("end run {id} ({})", record.status.as_str()),
                    ),
                ],
            )?,
        ),
        _ => (
            "edit",
            crate::cli::commit_subject(
                repo,
                "edit",
                &[
                    ("experiment", &record.experiment),
                    ("run", &record.name),
                    ("summary", &format!("update run {id}")),
                ],
            )?,
        ),
    };
    let message = CommitMessage::new(subject)
        .with_user_message(user_message)
        .trailer("Regent-Event", kind)
        .trailer("Regent-Experiment", record.experiment.clone())
        .trailer("Regent-Run", record.name.clone())
        .trailer("Regent-Actor", actor.to_owned());
    Ok(Prepared {
        changes: vec![Change {
            path,
            content: Some(yaml.into_bytes()),
        }],
        tags: Vec::new(),
        message,
    })
}

fn report(ctx: &Ctx, record: &RunFile, commit: git2::Oid, verb: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => {
            let mut value = run_json(record);
            value["commit"] = commit.to_string().into();
            write_json(&mut out, &value)?;
        }
        Format::Human => {
            writeln!(out, "{}", record.id())?;
            ctx.info(format!(
                "{verb} run {} (commit {})",
                record.id(),
                &commit.to_string()[..12]
            ));
        }
    }
    out.flush()?;
    Ok(())
}
