//! `regent run log`: one run recorded in one commit.

use super::{LogArgs, run_json};
use crate::cli::{CliError, CliResult, Ctx};
use crate::git::{Context, Repo};
use crate::names::{self, NameKind};
use crate::output::{Format, write_json};
use crate::registry::{Layout, RunEnvironment, RunFile, RunSource, RunStatus, to_yaml};
use crate::runs;
use crate::workspace::{self, Change, CommitMessage};
use std::io::Write;

pub(super) fn log(ctx: &Ctx, args: LogArgs) -> CliResult {
    // clap requires the experiment unless --batch, which is handled elsewhere.
    let experiment = args.experiment.clone().unwrap_or_default();
    names::check(NameKind::Experiment, &experiment)?;
    if let Some(name) = &args.name {
        names::check(NameKind::Run, name)?;
    }
    let repo = ctx.open_registry()?;
    let registry_dir = repo.registry_dir()?;
    let actor = ctx.actor(&repo)?;
    let push = args
        .commit
        .push
        .then(|| workspace::push_target(&repo))
        .transpose()?;

    let params = args.data.params()?;
    let now = crate::time::now();
    let ((metrics, history), spills) = args.data.metrics(now)?;
    // Uploaded before anything is committed: a failed upload records nothing.
    let artifacts = args.data.artifacts(ctx, &repo)?;

    let head = repo.head_commit()?;
    let exists = |name: &str| {
        let path = Layout::run(&experiment, name);
        registry_dir.join(&path).exists()
            || head.as_ref().is_some_and(|h| {
                h.tree().is_ok_and(|t| {
                    t.get_path(std::path::Path::new(&repo.repo_path(&path)))
                        .is_ok()
                })
            })
    };
    let name = match &args.name {
        Some(name) if exists(name) => {
            // Perhaps a retry of a run log killed after its commit: heal
            // what that left half-done before saying no (best effort: the
            // answer is no either way).
            if let Ok(_lock) = workspace::lock(&repo) {
                let _ = finish_interrupted(ctx, &repo);
            }
            return Err(
                CliError::no(format!("run {experiment}/{name} already exists"))
                    .hint("runs are never overwritten; choose another --name or omit it"),
            );
        }
        Some(name) => name.clone(),
        None => runs::generate_name(now, &exists),
    };

    let new = new_record(ctx, &repo, &experiment, &actor, now)?;

    let start = args.start.unwrap_or(now);
    let end = match (args.end, args.status) {
        (Some(end), _) => Some(end),
        (None, RunStatus::Running) => None,
        (None, _) => Some(now.max(start)),
    };
    let mut record = RunFile {
        name: name.clone(),
        experiment: experiment.clone(),
        status: args.status,
        start_time: crate::time::format(start),
        end_time: end.map(crate::time::format),
        user: actor.clone(),
        source: new.source,
        params,
        metrics,
        history: Default::default(),
        series: Default::default(),
        artifacts,
        environment: new.environment,
        tags: args.data.tags.iter().cloned().collect(),
        note: args.data.note.clone(),
        extensions: Default::default(),
    };
    // Long series are stored before anything is committed, like artifacts.
    super::bound::add_history(ctx, &repo, &mut record, &history, &spills)?;
    let path = Layout::run(&experiment, &name);
    let yaml = to_yaml("run", &record).map_err(|e| CliError::error(e.to_string()))?;
    // What regent writes must pass what regent checks.
    crate::load::load::<RunFile>("run", &repo.repo_path(&path), yaml.as_bytes()).map_err(|d| {
        CliError::bad_files("the run record would not be valid; nothing was written", d)
    })?;

    if args.pull_request.pr {
        return propose_run(ctx, &repo, &args, record, now);
    }
    let (commit, record) = if args.no_commit {
        let _lock = workspace::lock(&repo)?;
        if registry_dir.join(&path).exists() {
            return Err(CliError::no(format!("run {} already exists", record.id()))
                .hint("runs are never overwritten; choose another --name or omit it"));
        }
        workspace::write_atomically(&registry_dir.join(&path), yaml.as_bytes())?;
        (None, record)
    } else {
        let (id, record) = commit_run(ctx, &repo, &args, record, push.as_ref(), now)?;
        (Some(id), record)
    };

    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => {
            let mut value = run_json(&record);
            value["commit"] = commit.map(|c| c.to_string()).into();
            write_json(&mut out, &value)?;
        }
        Format::Human => {
            writeln!(out, "{}", record.id())?;
            ctx.info(match commit {
                Some(c) => format!(
                    "Logged run {} (commit {})",
                    record.id(),
                    &c.to_string()[..12]
                ),
                None => format!("Wrote {} (not committed)", repo.repo_path(&path)),
            });
        }
    }
    out.flush()?;
    Ok(())
}

/// Commits the run as one event through [`apply_run_event`], under the
/// checkout's lock; with `--push`, built on the remote's head and retried
/// when another writer pushed first.
fn commit_run(
    ctx: &Ctx,
    repo: &Repo,
    args: &LogArgs,
    record: RunFile,
    push: Option<&workspace::PushTarget>,
    now: jiff::Timestamp,
) -> CliResult<(git2::Oid, RunFile)> {
    let applied = apply_run_event(ctx, repo, &record.user, push, &mut |base| {
        prepare_run(repo, args, &record, base, now)
    })?;
    Ok((applied.commit, applied.value))
}

/// `--pr`: the run's commit on a pull request's branch (its own,
/// `regent/runs/<experiment>/<run>`, or `--branch`'s), and the pull request.
fn propose_run(
    ctx: &Ctx,
    repo: &Repo,
    args: &LogArgs,
    record: RunFile,
    now: jiff::Timestamp,
) -> CliResult {
    let own = |record: &RunFile| super::propose::own_branch(&record.experiment, &record.name);
    super::propose::propose(
        ctx,
        repo,
        &args.pull_request,
        &record.user,
        super::propose::RunBranch::New(&own),
        &|record| super::propose::describe_run("log", record),
        &mut |base| prepare_run(repo, args, &record, base, now),
    )
}

/// The run's file and commit message on `base`. The name is judged against
/// the commit the run is built on: an explicit `--name` taken there (by a
/// run logged meanwhile, here or on the remote) is refused, a generated one
/// drawn again.
fn prepare_run(
    repo: &Repo,
    args: &LogArgs,
    record: &RunFile,
    base: &git2::Commit<'_>,
    now: jiff::Timestamp,
) -> CliResult<(workspace::Prepared, RunFile)> {
    let registry_dir = repo.registry_dir()?;
    let tree = base
        .tree()
        .context(|| "reading the tree of the commit the run is built on".into())?;
    // Taken in the commit built on, or by a file of that name in the
    // working tree (a run written with --no-commit) that the commit
    // would overwrite.
    let taken = |name: &str| {
        let path = Layout::run(&record.experiment, name);
        registry_dir.join(&path).exists()
            || tree
                .get_path(std::path::Path::new(&repo.repo_path(&path)))
                .is_ok()
    };
    let mut record = record.clone();
    if taken(&record.name) {
        if args.name.is_some() {
            return Err(CliError::no(format!("run {} already exists", record.id()))
                .hint("runs are never overwritten; choose another --name or omit it"));
        }
        record.name = runs::generate_name(now, &taken);
    }
    let path = Layout::run(&record.experiment, &record.name);
    let yaml = to_yaml("run", &record).map_err(|e| CliError::error(e.to_string()))?;
    crate::load::load::<RunFile>("run", &repo.repo_path(&path), yaml.as_bytes()).map_err(|d| {
        CliError::bad_files("the run record would not be valid; nothing was written", d)
    })?;
    let subject = crate::cli::commit_subject(
        repo,
        "run",
        &[("experiment", &record.experiment), ("run", &record.name)],
    )?;
    let message = CommitMessage::new(subject)
        .with_user_message(args.commit.message.as_deref())
        .trailer("Regent-Event", "run")
        .trailer("Regent-Experiment", record.experiment.clone())
        .trailer("Regent-Run", record.name.clone())
        .trailer("Regent-Actor", record.user.clone());
    let change = Change {
        path,
        content: Some(yaml.into_bytes()),
    };
    let prepared = workspace::Prepared {
        changes: vec![change],
        tags: Vec::new(),
        message,
    };
    Ok((prepared, record))
}

/// Applies one run event through [`workspace::apply`] under the checkout's
/// lock, after finishing any event a crash interrupted; prints what the user
/// should know (warnings, where it was pushed). For `run start | update |
/// end`, `--batch` and `run log` ([`commit_run`]).
pub(super) fn apply_run_event<T>(
    ctx: &Ctx,
    repo: &Repo,
    actor: &str,
    push: Option<&workspace::PushTarget>,
    prepare: &mut workspace::Prepare<'_, T, CliError>,
) -> CliResult<workspace::Applied<T>> {
    let authorship = repo.authorship(actor)?;
    let mut lock = workspace::lock(repo)?;
    finish_interrupted(ctx, repo)?;
    let result = workspace::apply(repo, push, &authorship, &mut lock, prepare);
    drop(lock);
    let applied = result?;
    for warning in &applied.warnings {
        ctx.warn(warning);
    }
    if let Some(target) = push {
        ctx.info(format!("Pushed to {}", target.remote));
    }
    Ok(applied)
}

/// A command killed after its event became visible may have left files,
/// the index or tags half-written: finish that (crate::recovery). The
/// caller holds the checkout's lock.
fn finish_interrupted(ctx: &Ctx, repo: &Repo) -> CliResult {
    for note in crate::recovery::finish_interrupted(repo)? {
        ctx.warn(note);
    }
    Ok(())
}

/// A run of `experiment` as it starts now: the actor, the source (commit,
/// branch, dirty, remote) and the environment (lock-file digests of the
/// repository's root and of the current folder, the interpreter). Name,
/// params, metrics and the rest are the caller's.
pub(super) fn new_record(
    ctx: &Ctx,
    repo: &Repo,
    experiment: &str,
    actor: &str,
    now: jiff::Timestamp,
) -> CliResult<RunFile> {
    let excluded = registry_paths(repo);
    let source = RunSource {
        // The code's commit, not HEAD: HEAD is usually the previous run's
        // registry commit (git/code_commit.rs).
        commit: repo.code_commit(&excluded)?.map(|c| c.to_string()),
        branch: repo
            .head_branch()
            .ok()
            .map(|b| b.trim_start_matches("refs/heads/").to_owned()),
        dirty: repo.is_dirty_outside(&excluded)?,
        remote: repo.remote_url(),
        extensions: Default::default(),
    };
    let workdir = repo.workdir.clone().unwrap_or_default();
    let mut lock_dirs = vec![(String::new(), workdir.as_path())];
    let cwd = std::fs::canonicalize(&ctx.dir).unwrap_or_else(|_| ctx.dir.clone());
    if cwd != workdir && cwd.starts_with(&workdir) {
        let label = cwd
            .strip_prefix(&workdir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        lock_dirs.push((label, cwd.as_path()));
    }
    let lockfiles = runs::lock_file_digests(&lock_dirs)?;
    let interpreter = runs::interpreter();
    let environment = (!lockfiles.is_empty() || interpreter.is_some()).then(|| RunEnvironment {
        lockfiles,
        interpreter,
        extensions: Default::default(),
    });

    Ok(RunFile {
        name: String::new(),
        experiment: experiment.to_owned(),
        status: RunStatus::Finished,
        start_time: crate::time::format(now),
        end_time: Some(crate::time::format(now)),
        user: actor.to_owned(),
        source: Some(source),
        params: Default::default(),
        metrics: Default::default(),
        history: Default::default(),
        series: Default::default(),
        artifacts: Vec::new(),
        environment,
        tags: Default::default(),
        note: None,
        extensions: Default::default(),
    })
}

/// The registry's own paths, repository-relative (excluded from "dirty").
fn registry_paths(repo: &Repo) -> Vec<String> {
    [Layout::CONFIG, Layout::MODELS, Layout::EXPERIMENTS]
        .iter()
        .map(|p| repo.repo_path(p))
        .collect()
}
