//! `regent run log`: one run recorded in one commit.

use super::{LogArgs, run_json};
use crate::cli::{CliError, CliResult, Ctx};
use crate::git::Repo;
use crate::names::{self, NameKind};
use crate::output::{Format, write_json};
use crate::registry::{Layout, RunEnvironment, RunFile, RunSource, RunStatus, to_yaml};
use crate::runs;
use crate::workspace::{self, Change, CommitMessage};
use std::collections::BTreeMap;
use std::io::Write;

pub(super) fn log(ctx: &Ctx, args: LogArgs) -> CliResult {
    names::check(NameKind::Experiment, &args.experiment)?;
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

    let mut params = BTreeMap::new();
    if let Some(file) = &args.params_file {
        let value = runs::read_data_file(file)?;
        params = runs::params_from(&value, &file.display().to_string())?;
    }
    params.extend(args.params.iter().cloned());
    let (mut metrics, history) = match &args.metrics_file {
        Some(file) => {
            let value = runs::read_data_file(file)?;
            runs::metrics_from(&value, &file.display().to_string())?
        }
        None => Default::default(),
    };
    for (key, value) in &args.metrics {
        metrics.insert(key.clone(), runs::metric_value(key, value)?);
    }
    // Uploaded before anything is committed: a failed upload records nothing.
    let artifacts = crate::cli::artifact::for_run(ctx, &repo, &args.artifacts, args.keep_local)?;

    let head = repo.head_commit()?;
    let exists = |name: &str| {
        let path = Layout::run(&args.experiment, name);
        registry_dir.join(&path).exists()
            || head.as_ref().is_some_and(|h| {
                h.tree().is_ok_and(|t| {
                    t.get_path(std::path::Path::new(&repo.repo_path(&path)))
                        .is_ok()
                })
            })
    };
    let now = crate::time::now();
    let name = match &args.name {
        Some(name) if exists(name) => {
            return Err(
                CliError::no(format!("run {}/{name} already exists", args.experiment))
                    .hint("runs are never overwritten; choose another --name or omit it"),
            );
        }
        Some(name) => name.clone(),
        None => runs::generate_name(now, &exists),
    };

    let excluded = registry_paths(&repo);
    let source = RunSource {
        commit: head.as_ref().map(|c| c.id().to_string()),
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

    let start = args.start.unwrap_or(now);
    let end = match (args.end, args.status) {
        (Some(end), _) => Some(end),
        (None, RunStatus::Running) => None,
        (None, _) => Some(now.max(start)),
    };
    let record = RunFile {
        name: name.clone(),
        experiment: args.experiment.clone(),
        status: args.status,
        start_time: crate::time::format(start),
        end_time: end.map(crate::time::format),
        user: actor.clone(),
        source: Some(source),
        params,
        metrics,
        history,
        artifacts,
        environment,
        tags: args.tags.iter().cloned().collect(),
        note: args.note.clone(),
        extensions: Default::default(),
    };
    let path = Layout::run(&args.experiment, &name);
    let yaml = to_yaml("run", &record).map_err(|e| CliError::error(e.to_string()))?;
    // What regent writes must pass what regent checks.
    crate::load::load::<RunFile>("run", &repo.repo_path(&path), yaml.as_bytes()).map_err(|d| {
        CliError::bad_files("the run record would not be valid; nothing was written", d)
    })?;

    let commit = if args.no_commit {
        workspace::write_atomically(&registry_dir.join(&path), yaml.as_bytes())?;
        None
    } else {
        let subject = crate::cli::commit_subject(
            &repo,
            "run",
            &[("experiment", &record.experiment), ("run", &name)],
        )?;
        let message = CommitMessage::new(subject)
            .with_user_message(args.commit.message.as_deref())
            .trailer("Regent-Event", "run")
            .trailer("Regent-Experiment", record.experiment.clone())
            .trailer("Regent-Run", name.clone())
            .trailer("Regent-Actor", actor.clone());
        let change = Change {
            path: path.clone(),
            content: Some(yaml.into_bytes()),
        };
        let id = workspace::commit(&repo, &[change], &message, &repo.authorship(&actor)?)?;
        if let Some(target) = &push {
            crate::cli::push(ctx, &repo, target, id)?;
        }
        Some(id)
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

/// The registry's own paths, repository-relative (excluded from "dirty").
fn registry_paths(repo: &Repo) -> Vec<String> {
    [Layout::CONFIG, Layout::MODELS, Layout::EXPERIMENTS]
        .iter()
        .map(|p| repo.repo_path(p))
        .collect()
}
