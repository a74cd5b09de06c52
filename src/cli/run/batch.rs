//! `regent run log --batch FILE.jsonl`: many runs (a sweep) in one commit.
//!
//! Each line is one run as a JSON object. Every line is read and checked
//! before anything is written: a bad line refuses the whole batch, naming
//! the file, the line and what is wrong, and nothing is committed.
//!
//! A line may carry the `source` and `environment` that `run capture`
//! printed when its training began (a script that logs once, at the end):
//! they replace what the batch captures now, and a source commit must be
//! one of this repository's.

use crate::cli::{CliError, CliResult, CommitArgs, Ctx};
use crate::names::{self, NameKind};
use crate::output::{Format, write_json};
use crate::registry::{Layout, RunEnvironment, RunFile, RunSource, RunStatus, to_yaml};
use crate::runs;
use crate::snapshot::Snapshot;
use crate::workspace::{Change, CommitMessage, Prepared};
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::Path;

/// The keys a batch line may have.
const KEYS: [&str; 12] = [
    "experiment",
    "name",
    "params",
    "metrics",
    "tags",
    "note",
    "status",
    "start",
    "end",
    "artifacts",
    "source",
    "environment",
];

/// One line of the batch, read and checked; its name is given or generated
/// when the commit is built.
struct Line {
    number: usize,
    name: Option<String>,
    record: RunFile,
    /// The `artifacts` as given (path or URI, and the name to record it
    /// under), stored once every line is read.
    artifacts: Vec<(String, Option<String>)>,
}

pub(super) fn log_batch(
    ctx: &Ctx,
    file: &Path,
    keep_local: bool,
    commit: &CommitArgs,
    pull_request: &crate::cli::pull_request::PullRequestArgs,
) -> CliResult {
    let repo = ctx.open_registry()?;
    let actor = ctx.actor(&repo)?;
    // Before any upload: a branch with nowhere to push fails first.
    let push = ctx.push_target(&repo, commit.push)?;
    let now = crate::time::now();
    let shown = if file == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        file.display().to_string()
    };
    let base = super::log::new_record(ctx, &repo, "", &actor, now)?;
    let mut lines = read_lines(file, &shown, &base, now)?;
    if lines.is_empty() {
        return Err(CliError::error(format!("{shown}: no runs in the batch")));
    }
    for line in &lines {
        check_source_commit(&repo, line).map_err(|e| {
            CliError::error(format!("{shown}:{}: {e}", line.number))
                .hint("`source` is what `regent run capture` printed in this repository")
        })?;
    }
    // Every line is valid: now store its local artifacts (before the lock
    // and the commit, like `run log`).
    for line in &mut lines {
        let given = std::mem::take(&mut line.artifacts);
        let named: Vec<(&str, Option<&str>)> = given
            .iter()
            .map(|(arg, name)| (arg.as_str(), name.as_deref()))
            .collect();
        line.record.artifacts = crate::cli::artifact::for_run_named(ctx, &repo, &named, keep_local)
            .map_err(|e| e.detail(format!("in {shown}:{}", line.number)))?;
        // A line's histories are in memory (a line is bounded like any
        // JSON file); the run file keeps them bounded all the same.
        let history = std::mem::take(&mut line.record.history);
        super::bound::add_history(ctx, &repo, &mut line.record, &history, &Default::default())
            .map_err(|e| e.detail(format!("in {shown}:{}", line.number)))?;
    }
    // Two lines naming the same run would overwrite each other.
    let mut named = BTreeSet::new();
    for line in &lines {
        if let Some(name) = &line.name
            && !named.insert((line.record.experiment.clone(), name.clone()))
        {
            return Err(CliError::error(format!(
                "{shown}:{}: run {}/{name} is named twice in the batch",
                line.number, line.record.experiment
            )));
        }
    }
    let mut build_event = |head: &git2::Commit<'_>| {
        let snapshot = Snapshot::of_commit(&repo, head)?;
        let exists = |experiment: &str, name: &str| {
            snapshot
                .as_ref()
                .is_some_and(|s| s.exists(&Layout::run(experiment, name)))
        };
        let mut taken: BTreeSet<(String, String)> = named.clone();
        let mut changes = Vec::with_capacity(lines.len());
        let mut ids = Vec::with_capacity(lines.len());
        for line in &lines {
            let experiment = line.record.experiment.clone();
            let name = match &line.name {
                Some(name) if exists(&experiment, name) => {
                    return Err(CliError::no(format!(
                        "{shown}:{}: run {experiment}/{name} already exists",
                        line.number
                    ))
                    .hint("runs are never overwritten; rename it or leave out its name"));
                }
                Some(name) => name.clone(),
                None => runs::generate_name(now, &|candidate: &str| {
                    exists(&experiment, candidate)
                        || taken.contains(&(experiment.clone(), candidate.to_owned()))
                }),
            };
            taken.insert((experiment.clone(), name.clone()));
            let mut record = line.record.clone();
            record.name = name;
            let path = Layout::run(&record.experiment, &record.name);
            let yaml = to_yaml("run", &record).map_err(|e| CliError::error(e.to_string()))?;
            crate::load::load::<RunFile>("run", &repo.repo_path(&path), yaml.as_bytes()).map_err(
                |d| {
                    CliError::bad_files(
                        format!("{shown}:{}: the run would not be valid", line.number),
                        d,
                    )
                },
            )?;
            ids.push(record.id());
            changes.push(Change {
                path,
                content: Some(yaml.into_bytes()),
            });
        }
        let count = changes.len();
        let subject = crate::cli::commit_subject(
            &repo,
            "batch",
            &[(
                "summary",
                &format!("log {count} run{}", if count == 1 { "" } else { "s" }),
            )],
        )?;
        // `Regent-Event: run` without a `Regent-Run`: the commit claims new
        // runs only; history checks each added file against that claim.
        let message = CommitMessage::new(subject)
            .with_user_message(commit.message.as_deref())
            .trailer("Regent-Event", "run")
            .trailer("Regent-Batch", count.to_string())
            .trailer("Regent-Actor", actor.clone());
        Ok::<_, CliError>((
            Prepared {
                changes,
                tags: Vec::new(),
                message,
            },
            ids,
        ))
    };
    if pull_request.pr {
        // The batch's own branch is named after its first run.
        let own = |ids: &Vec<String>| {
            format!(
                "regent/runs/{}",
                ids.first().map_or("batch", String::as_str)
            )
        };
        return super::propose::propose(
            ctx,
            &repo,
            pull_request,
            &actor,
            super::propose::RunBranch::New(&own),
            &|ids: &Vec<String>| {
                let mut extra = serde_json::Map::new();
                extra.insert("runs".into(), ids.clone().into());
                let count = ids.len();
                let plural = if count == 1 { "" } else { "s" };
                (format!("log {count} run{plural}"), extra)
            },
            &mut build_event,
        );
    }
    let applied = super::log::apply_run_event(ctx, &repo, &actor, push.as_ref(), &mut build_event)?;
    let ids = applied.value;
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({"runs": ids, "commit": applied.commit.to_string()}),
        )?,
        Format::Human => {
            for id in &ids {
                writeln!(out, "{id}")?;
            }
            ctx.info(format!(
                "Logged {} runs (commit {})",
                ids.len(),
                &applied.commit.to_string()[..12]
            ));
        }
    }
    out.flush()?;
    Ok(())
}

/// Every non-blank line of the batch as a run, or the first bad line's error.
fn read_lines(
    file: &Path,
    shown: &str,
    base: &RunFile,
    now: jiff::Timestamp,
) -> CliResult<Vec<Line>> {
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let opened = fs_err::File::open(file).map_err(|e| {
            CliError::error(format!("cannot read the batch {shown}")).cause(e.to_string())
        })?;
        Box::new(std::io::BufReader::new(opened))
    };
    let mut lines = Vec::new();
    for (index, text) in reader.lines().enumerate() {
        let number = index + 1;
        let text = text.map_err(|e| {
            CliError::error(format!("{shown}:{number}: cannot read the line")).cause(e.to_string())
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let at = |message: String| CliError::error(format!("{shown}:{number}: {message}"));
        let value = runs::parse_json_line(&text).map_err(at)?;
        lines.push(read_run(&value, number, base, now).map_err(at)?);
    }
    Ok(lines)
}

/// One batch line as a run of its own.
fn read_run(
    value: &serde_json::Value,
    number: usize,
    base: &RunFile,
    now: jiff::Timestamp,
) -> Result<Line, String> {
    let serde_json::Value::Object(map) = value else {
        return Err("a batch line is a JSON object, one run".into());
    };
    if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{key}`; a run takes {}",
            KEYS.join(", ")
        ));
    }
    let text = |key: &str| -> Result<Option<String>, String> {
        match map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("`{key}` must be a string, not {other}")),
        }
    };
    let experiment = text("experiment")?.ok_or("`experiment` is required")?;
    names::check(NameKind::Experiment, &experiment).map_err(|e| e.to_string())?;
    let name = text("name")?;
    if let Some(name) = &name {
        names::check(NameKind::Run, name).map_err(|e| e.to_string())?;
    }
    let status = match text("status")? {
        None => RunStatus::Finished,
        Some(s) => RunStatus::parse(&s)
            .ok_or_else(|| format!("status {s:?}: expected running, finished, failed or killed"))?,
    };
    let time = |key: &str| -> Result<Option<jiff::Timestamp>, String> {
        text(key)?
            .map(|t| {
                crate::time::parse(&t)
                    .ok_or_else(|| format!("`{key}` {t:?} is not an RFC 3339 time"))
            })
            .transpose()
    };
    let start = time("start")?.unwrap_or(now);
    let end = match (time("end")?, status) {
        (Some(end), _) => Some(end),
        (None, RunStatus::Running) => None,
        (None, _) => Some(now.max(start)),
    };
    // An empty object is no params (a file must hold some; a line need not).
    let given = |key: &str| map.get(key).filter(|v| !is_empty_object(v));
    let params = match given("params") {
        None => Default::default(),
        Some(v) => runs::params_from(v, "params").map_err(|e| e.to_string())?,
    };
    let (metrics, history) = match given("metrics") {
        None => Default::default(),
        Some(v) => runs::metrics_from(v, "metrics").map_err(|e| e.to_string())?,
    };
    let mut tags = std::collections::BTreeMap::new();
    if let Some(value) = map.get("tags") {
        let serde_json::Value::Object(given) = value else {
            return Err("`tags` must be an object of strings".into());
        };
        for (key, value) in given {
            let serde_json::Value::String(s) = value else {
                return Err(format!("tag `{key}` must be a string, not {value}"));
            };
            tags.insert(key.clone(), s.clone());
        }
    }
    let mut artifacts = Vec::new();
    if let Some(value) = map.get("artifacts") {
        let serde_json::Value::Array(given) = value else {
            return Err("`artifacts` must be a list of paths or URIs".into());
        };
        for item in given {
            artifacts.push(read_artifact(item)?);
        }
    }
    let mut record = base.clone();
    if let Some(value) = map.get("source") {
        record.source = Some(read_source(value)?);
    }
    if let Some(value) = map.get("environment") {
        record.environment = read_environment(value)?;
    }
    record.experiment = experiment;
    record.status = status;
    record.start_time = crate::time::format(start);
    record.end_time = end.map(crate::time::format);
    record.params = params;
    record.metrics = metrics;
    record.history = history;
    record.tags = tags;
    record.note = text("note")?;
    Ok(Line {
        number,
        name,
        record,
        artifacts,
    })
}

fn is_empty_object(value: &serde_json::Value) -> bool {
    value.as_object().is_some_and(serde_json::Map::is_empty)
}

/// An entry of a line's `artifacts`: a path or URI, or `{"path": PATH_OR_URI,
/// "name": NAME}` to record it under a name other than its base name.
fn read_artifact(item: &serde_json::Value) -> Result<(String, Option<String>), String> {
    let bad = || {
        format!(
            "artifact {item} must be a path or URI string, or {{\"path\": PATH_OR_URI, \"name\": NAME}}"
        )
    };
    match item {
        serde_json::Value::String(arg) => Ok((arg.clone(), None)),
        serde_json::Value::Object(map) => {
            if map.keys().any(|k| k != "path" && k != "name") {
                return Err(bad());
            }
            let path = map.get("path").and_then(|p| p.as_str()).ok_or_else(bad)?;
            let name = match map.get("name") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(n)) => Some(n.clone()),
                Some(_) => return Err(bad()),
            };
            Ok((path.to_owned(), name))
        }
        _ => Err(bad()),
    }
}

/// A line's `source`, as `run capture` prints it: {"commit"?, "branch"?,
/// "dirty"?, "remote"?}. The commit's existence is checked with the repository.
fn read_source(value: &serde_json::Value) -> Result<RunSource, String> {
    const SOURCE_KEYS: [&str; 4] = ["commit", "branch", "dirty", "remote"];
    let serde_json::Value::Object(map) = value else {
        return Err(format!(
            "`source` must be an object ({}), not {value}",
            SOURCE_KEYS.join(", ")
        ));
    };
    if let Some(key) = map.keys().find(|k| !SOURCE_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `source.{key}`; a source takes {}",
            SOURCE_KEYS.join(", ")
        ));
    }
    let text = |key: &str| -> Result<Option<String>, String> {
        match map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("`source.{key}` must be a string, not {other}")),
        }
    };
    let commit = text("commit")?;
    if let Some(commit) = &commit
        && !(matches!(commit.len(), 40 | 64)
            && commit
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        return Err(format!(
            "`source.commit` {commit:?} is not a full commit id (40 or 64 lowercase hex digits)"
        ));
    }
    let dirty = match map.get("dirty") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(other) => return Err(format!("`source.dirty` must be true or false, not {other}")),
    };
    Ok(RunSource {
        commit,
        branch: text("branch")?,
        dirty,
        remote: text("remote")?.map(|r| crate::git::strip_credentials(&r)),
        extensions: Default::default(),
    })
}

/// A line's `environment`, as `run capture` prints it: {"lockfiles"?:
/// {name: "sha256:…"}, "interpreter"?}; null for none.
fn read_environment(value: &serde_json::Value) -> Result<Option<RunEnvironment>, String> {
    let map = match value {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Object(map) => map,
        other => {
            return Err(format!(
                "`environment` must be an object (lockfiles, interpreter), not {other}"
            ));
        }
    };
    if let Some(key) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "lockfiles" | "interpreter"))
    {
        return Err(format!(
            "unknown key `environment.{key}`; an environment takes lockfiles, interpreter"
        ));
    }
    let mut lockfiles = std::collections::BTreeMap::new();
    match map.get("lockfiles") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(given)) => {
            for (name, digest) in given {
                match digest.as_str() {
                    Some(d) if crate::artifacts::Digest::parse(d).is_some() => {
                        lockfiles.insert(name.clone(), d.to_owned());
                    }
                    _ => {
                        return Err(format!(
                            "`environment.lockfiles.{name}` must be a digest sha256:<64 hex digits>, not {digest}"
                        ));
                    }
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "`environment.lockfiles` must be an object of file name to digest, not {other}"
            ));
        }
    }
    let interpreter = match map.get("interpreter") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(format!(
                "`environment.interpreter` must be a string, not {other}"
            ));
        }
    };
    Ok(
        (!lockfiles.is_empty() || interpreter.is_some()).then(|| RunEnvironment {
            lockfiles,
            interpreter,
            extensions: Default::default(),
        }),
    )
}

/// A line's source commit, when it names one, is a commit of this repository.
fn check_source_commit(repo: &crate::git::Repo, line: &Line) -> Result<(), String> {
    let Some(commit) = line
        .record
        .source
        .as_ref()
        .and_then(|s| s.commit.as_deref())
    else {
        return Ok(());
    };
    let found = git2::Oid::from_str(commit)
        .ok()
        .and_then(|oid| repo.repo.find_commit(oid).ok());
    match found {
        Some(_) => Ok(()),
        None => Err(format!(
            "`source.commit` {commit} is not a commit of this repository"
        )),
    }
}
