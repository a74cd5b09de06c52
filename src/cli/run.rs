//! `regent run log | list | show | compare`: experiment runs.

use super::{CliError, CliResult, CommitArgs, Ctx};
use crate::git::Repo;
use crate::names::{self, NameKind};
use crate::output::{Format, Table, number, write_json};
use crate::query::{FieldValue, Query};
use crate::registry::{Layout, RunEnvironment, RunFile, RunSource, RunStatus, to_yaml};
use crate::runs;
use crate::snapshot::Snapshot;
use crate::workspace::{self, Change, CommitMessage};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum RunCommand {
    /// Record a run's params, metrics and artifacts as experiments/<experiment>/<shard>/<run>.yaml.
    Log(LogArgs),
    /// List runs, optionally filtered and sorted by a metric.
    List(ListArgs),
    /// Show one run.
    Show(ShowArgs),
    /// Put the params and metrics of several runs side by side.
    Compare(CompareArgs),
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The experiment the run belongs to.
    pub experiment: String,
    /// Run name (default: generated from the time, e.g. 20261126-181005-3fa9c2).
    #[arg(long)]
    pub name: Option<String>,
    /// A parameter (repeatable); overrides the same key from --params-file.
    #[arg(long = "param", value_name = "K=V", value_parser = runs::key_value)]
    pub params: Vec<(String, String)>,
    /// A final metric value (repeatable); overrides the same key from --metrics-file.
    #[arg(long = "metric", value_name = "K=V", value_parser = runs::key_value)]
    pub metrics: Vec<(String, String)>,
    /// Params from a JSON or YAML file; nested maps become `a/b` keys.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// Metrics from a JSON or YAML file; nested maps become `a/b` keys, lists become histories.
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// A local file (hashed with sha256) or a URI (kept as given); repeatable.
    #[arg(long = "artifact", value_name = "PATH_OR_URI")]
    pub artifacts: Vec<String>,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "K=V", value_parser = runs::key_value)]
    pub tags: Vec<(String, String)>,
    /// A free-form note.
    #[arg(long)]
    pub note: Option<String>,
    /// running, finished, failed or killed.
    #[arg(long, default_value = "finished", value_parser = parse_status)]
    pub status: RunStatus,
    /// When the run started (RFC 3339; default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub start: Option<jiff::Timestamp>,
    /// When the run ended (RFC 3339; default: now unless --status running).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub end: Option<jiff::Timestamp>,
    /// Only write the file; do not commit.
    #[arg(long, conflicts_with = "push")]
    pub no_commit: bool,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this experiment's runs.
    pub experiment: Option<String>,
    /// Sort by this metric, highest first (runs without it come last).
    #[arg(long, value_name = "METRIC")]
    pub sort: Option<String>,
    /// Sort lowest first.
    #[arg(long, requires = "sort")]
    pub asc: bool,
    /// Keep runs matching an expression, e.g. `metrics.accuracy > 0.9 and params.optimizer == "adam"`.
    #[arg(long = "where", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Show at most N runs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Read the registry at this revision (default: HEAD).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// EXPERIMENT/RUN.
    pub run: String,
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Two or more EXPERIMENT/RUN.
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<String>,
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

fn parse_status(text: &str) -> Result<RunStatus, String> {
    RunStatus::parse(text).ok_or_else(|| "expected running, finished, failed or killed".into())
}

fn parse_time(text: &str) -> Result<jiff::Timestamp, String> {
    crate::time::parse(text)
        .ok_or_else(|| "expected an RFC 3339 time such as 2026-11-26T18:10:05Z".into())
}

pub fn run(ctx: &Ctx, command: RunCommand) -> CliResult {
    match command {
        RunCommand::Log(args) => log(ctx, args),
        RunCommand::List(args) => list(ctx, args),
        RunCommand::Show(args) => show(ctx, args),
        RunCommand::Compare(args) => compare(ctx, args),
    }
}

fn log(ctx: &Ctx, args: LogArgs) -> CliResult {
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
    let artifacts = args
        .artifacts
        .iter()
        .map(|a| runs::artifact(a))
        .collect::<Result<Vec<_>, _>>()?;

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
        let subject = super::commit_subject(
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
            super::push(ctx, &repo, target, id)?;
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

/// A run as JSON: the file's fields plus its `id`.
fn run_json(run: &RunFile) -> serde_json::Value {
    let mut value = serde_json::to_value(run).unwrap_or_default();
    value["id"] = run.id().into();
    value
}

/// Loads the runs of one experiment (or all), failing on any broken file.
///
/// Each run is kept without its per-step `history`, which can be most of a
/// run file and is never filtered, sorted or shown in a table: 50,000 runs
/// with long histories would otherwise all be in memory at once. Output
/// that shows the history (`--json`) reads each printed run again
/// ([`FullRuns`]).
fn load_runs(snapshot: &Snapshot<'_>, experiment: Option<&str>) -> CliResult<Vec<Listed>> {
    let experiments = match experiment {
        Some(e) => {
            names::check(NameKind::Experiment, e)?;
            vec![e.to_owned()]
        }
        None => snapshot.experiment_names()?,
    };
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    for experiment in &experiments {
        for name in snapshot.run_names(experiment)? {
            match snapshot.run(experiment, &name) {
                Ok(run) => {
                    let mut run = run.value;
                    let history = !std::mem::take(&mut run.history).is_empty();
                    runs.push(Listed {
                        run,
                        path: Layout::run(experiment, &name),
                        history,
                    });
                }
                Err(d) => problems.extend(d),
            }
        }
    }
    if !problems.is_empty() {
        return Err(CliError::bad_files("some run files are invalid", problems)
            .hint("`regent validate` lists every problem"));
    }
    Ok(runs)
}

/// The value of a `--where` field in a run.
fn field(run: &RunFile, path: &str) -> Option<FieldValue> {
    let text = |s: &str| Some(FieldValue::Text(s.to_owned()));
    if let Some((group, key)) = path.split_once('.') {
        return match group {
            "metrics" => run.metrics.get(key).map(|v| FieldValue::Number(*v)),
            "params" => run.params.get(key).map(|v| FieldValue::Text(v.clone())),
            "tags" => run.tags.get(key).map(|v| FieldValue::Text(v.clone())),
            "source" => {
                let source = run.source.as_ref()?;
                match key {
                    "commit" => source.commit.as_deref().and_then(text),
                    "branch" => source.branch.as_deref().and_then(text),
                    "remote" => source.remote.as_deref().and_then(text),
                    "dirty" => Some(FieldValue::Bool(source.dirty)),
                    _ => None,
                }
            }
            _ => None,
        };
    }
    match path {
        "name" => text(&run.name),
        "experiment" => text(&run.experiment),
        "id" => text(&run.id()),
        "status" => text(run.status.as_str()),
        "user" => text(&run.user),
        "start_time" => text(&run.start_time),
        "end_time" => run.end_time.as_deref().and_then(text),
        "note" => run.note.as_deref().and_then(text),
        _ => None,
    }
}

fn list(ctx: &Ctx, args: ListArgs) -> CliResult {
    let query = args
        .filter
        .as_deref()
        .map(|text| {
            Query::parse(text).map_err(|e| {
                CliError::error(format!("invalid --where expression: {e}")).detail(e.render(text))
            })
        })
        .transpose()?;
    let repo = ctx.open_registry()?;
    let snapshot = Snapshot::at_rev(&repo, &args.rev)?;
    let mut runs = load_runs(&snapshot, args.experiment.as_deref())?;

    for missing in unknown_fields(&runs, query.as_ref(), args.sort.as_deref()) {
        ctx.info(format!("warning: no run has a field `{missing}`"));
    }
    if let Some(query) = &query {
        runs.retain(|listed| query.matches(&|path| field(&listed.run, path)));
    }
    match &args.sort {
        Some(metric) => runs.sort_by(|a, b| {
            let (a, b) = (&a.run, &b.run);
            let (x, y) = (a.metrics.get(metric), b.metrics.get(metric));
            match (x, y) {
                (Some(x), Some(y)) if args.asc => x.total_cmp(y),
                (Some(x), Some(y)) => y.total_cmp(x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| b.start_time.cmp(&a.start_time))
        }),
        // Newest first, like MLflow's run list.
        None => runs.sort_by(|a, b| {
            let (a, b) = (&a.run, &b.run);
            b.start_time
                .cmp(&a.start_time)
                .then_with(|| b.name.cmp(&a.name))
        }),
    }
    if let Some(limit) = args.limit {
        runs.truncate(limit);
    }

    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &FullRuns {
                snapshot: &snapshot,
                runs: &runs,
            },
        )?,
        Format::Human => {
            if runs.is_empty() {
                ctx.info("No runs.");
                return Ok(());
            }
            let metrics = metric_columns(&runs, args.sort.as_deref());
            let mut header = vec!["RUN".to_owned(), "STATUS".into(), "STARTED".into()];
            header.extend(metrics.iter().cloned());
            let mut table = Table::new(header);
            for i in 0..metrics.len() {
                table = table.align_right(3 + i);
            }
            for Listed { run, .. } in &runs {
                let mut row = vec![
                    run.id(),
                    run.status.as_str().to_owned(),
                    short_time(&run.start_time),
                ];
                row.extend(
                    metrics
                        .iter()
                        .map(|m| run.metrics.get(m).map_or("-".into(), |v| number(*v))),
                );
                table.row(row);
            }
            table.write(&mut out, &ctx.style)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Listed runs as JSON, each run that has a history read again whole as it
/// is written, so that only one run's history is in memory at a time.
struct FullRuns<'a, 's> {
    snapshot: &'a Snapshot<'s>,
    runs: &'a [Listed],
}

/// A listed run (without its history), the file it was read from, and
/// whether that file has a history.
struct Listed {
    run: RunFile,
    path: String,
    history: bool,
}

impl serde::Serialize for FullRuns<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.runs.len()))?;
        for listed in self.runs {
            if !listed.history {
                seq.serialize_element(&run_json(&listed.run))?;
                continue;
            }
            // The same Git objects as a moment ago: it loads as it did then.
            let run = self
                .snapshot
                .load::<RunFile>("run", &listed.path)
                .map_err(|d| {
                    let first = d.first().map(ToString::to_string).unwrap_or_default();
                    S::Error::custom(format!("reading {} again: {first}", listed.path))
                })?;
            seq.serialize_element(&run_json(&run.value))?;
        }
        seq.end()
    }
}

/// `metrics.*`, `params.*` and `tags.*` fields that no run has: likely typos.
fn unknown_fields(runs: &[Listed], query: Option<&Query>, sort: Option<&str>) -> Vec<String> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mut fields = query.map(Query::fields).unwrap_or_default();
    if let Some(metric) = sort {
        fields.push(format!("metrics.{metric}"));
    }
    fields
        .into_iter()
        .filter(|f| {
            let group = f.split('.').next().unwrap_or_default();
            matches!(group, "metrics" | "params" | "tags" | "source") || !f.contains('.')
        })
        .filter(|f| runs.iter().all(|listed| field(&listed.run, f).is_none()))
        .filter(|f| !matches!(f.as_str(), "end_time" | "note"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Which metrics get a column: the sort metric first, then the others, at most six.
fn metric_columns(runs: &[Listed], sort: Option<&str>) -> Vec<String> {
    let all: BTreeSet<&String> = runs.iter().flat_map(|l| l.run.metrics.keys()).collect();
    let mut columns: Vec<String> = sort.map(str::to_owned).into_iter().collect();
    for m in all {
        if columns.len() >= 6 {
            break;
        }
        if Some(m.as_str()) != sort {
            columns.push(m.clone());
        }
    }
    columns
}

/// `2026-11-26T18:10:05Z` -> `2026-11-26 18:10`.
fn short_time(rfc3339: &str) -> String {
    crate::time::parse(rfc3339)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// `EXPERIMENT/RUN` -> the two names, checked.
fn split_run_id(id: &str) -> CliResult<(String, String)> {
    let (experiment, run) = id.split_once('/').ok_or_else(|| {
        CliError::error(format!("expected EXPERIMENT/RUN, got {id:?}"))
            .hint("`regent run list` shows run ids")
    })?;
    names::check(NameKind::Experiment, experiment)?;
    names::check(NameKind::Run, run)?;
    Ok((experiment.to_owned(), run.to_owned()))
}

fn load_run(snapshot: &Snapshot<'_>, id: &str) -> CliResult<RunFile> {
    let (experiment, run) = split_run_id(id)?;
    if !snapshot.exists(&Layout::run(&experiment, &run)) {
        return Err(CliError::no(format!("no run {id}"))
            .hint("`regent run list` shows the runs (committed ones; see --rev)"));
    }
    snapshot
        .run(&experiment, &run)
        .map(|l| l.value)
        .map_err(|d| CliError::bad_files(format!("run {id} is invalid"), d))
}

fn show(ctx: &Ctx, args: ShowArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let snapshot = Snapshot::at_rev(&repo, &args.rev)?;
    let run = load_run(&snapshot, &args.run)?;
    let mut out = std::io::stdout().lock();
    if ctx.format == Format::Json {
        write_json(&mut out, &run_json(&run))?;
        out.flush()?;
        return Ok(());
    }
    let style = &ctx.style;
    writeln!(out, "{} {}", style.bold("run"), run.id())?;
    writeln!(out, "status:  {}", run.status.as_str())?;
    // Fields from the run file are shown escaped: they may hold anything.
    let printable = |text: &str| crate::output::printable(text, false);
    writeln!(out, "user:    {}", printable(&run.user))?;
    writeln!(
        out,
        "time:    {} → {}",
        printable(&run.start_time),
        printable(run.end_time.as_deref().unwrap_or("(running)"))
    )?;
    if let Some(source) = &run.source {
        let commit = source
            .commit
            .as_deref()
            .map_or("(none)", |c| &c[..c.len().min(12)]);
        let line = format!(
            "source:  {commit}{}{}{}",
            source
                .branch
                .as_deref()
                .map(|b| format!(" on {b}"))
                .unwrap_or_default(),
            if source.dirty { " (dirty)" } else { "" },
            source
                .remote
                .as_deref()
                .map(|r| format!(" from {r}"))
                .unwrap_or_default()
        );
        writeln!(out, "{}", printable(&line))?;
    }
    if let Some(note) = &run.note {
        writeln!(out, "note:    {}", crate::output::printable(note, true))?;
    }
    let section =
        |out: &mut dyn Write, title: &str, rows: Vec<(String, String)>| -> std::io::Result<()> {
            if rows.is_empty() {
                return Ok(());
            }
            writeln!(out)?;
            let mut table = Table::new([title.to_uppercase(), "VALUE".into()]);
            for (k, v) in rows {
                table.row([k, v]);
            }
            table.write(out, style)
        };
    section(
        &mut out,
        "params",
        run.params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )?;
    section(
        &mut out,
        "metrics",
        run.metrics
            .iter()
            .map(|(k, v)| {
                let steps = run
                    .history
                    .get(k)
                    .map(|h| format!("  ({} steps)", h.len()))
                    .unwrap_or_default();
                (k.clone(), format!("{}{steps}", number(*v)))
            })
            .collect(),
    )?;
    section(
        &mut out,
        "tags",
        run.tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )?;
    section(
        &mut out,
        "artifacts",
        run.artifacts
            .iter()
            .map(|a| {
                let place = a.uri.clone().or_else(|| a.path.clone()).unwrap_or_default();
                let detail = match (&a.digest, a.size) {
                    (Some(d), Some(s)) => format!("{} ({s} bytes)", &d[..d.len().min(19)]),
                    (Some(d), None) => d.clone(),
                    _ => "not verified".into(),
                };
                (place, detail)
            })
            .collect(),
    )?;
    if let Some(env) = &run.environment {
        let mut rows: Vec<(String, String)> = env
            .lockfiles
            .iter()
            .map(|(k, v)| (k.clone(), v[..v.len().min(19)].to_owned()))
            .collect();
        if let Some(i) = &env.interpreter {
            rows.push(("interpreter".into(), i.clone()));
        }
        section(&mut out, "environment", rows)?;
    }
    out.flush()?;
    Ok(())
}

fn compare(ctx: &Ctx, args: CompareArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let snapshot = Snapshot::at_rev(&repo, &args.rev)?;
    let runs = args
        .runs
        .iter()
        .map(|id| load_run(&snapshot, id))
        .collect::<CliResult<Vec<_>>>()?;

    struct Row {
        kind: &'static str,
        key: String,
        values: Vec<Option<String>>,
        numbers: Vec<Option<f64>>,
    }
    let mut rows = Vec::new();
    let params: BTreeSet<&String> = runs.iter().flat_map(|r| r.params.keys()).collect();
    for key in params {
        rows.push(Row {
            kind: "param",
            key: key.clone(),
            values: runs.iter().map(|r| r.params.get(key).cloned()).collect(),
            numbers: Vec::new(),
        });
    }
    let metrics: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    for key in metrics {
        let numbers: Vec<Option<f64>> = runs.iter().map(|r| r.metrics.get(key).copied()).collect();
        rows.push(Row {
            kind: "metric",
            key: key.clone(),
            values: numbers.iter().map(|v| v.map(number)).collect(),
            numbers,
        });
    }
    let differs = |row: &Row| {
        if row.kind == "metric" {
            row.numbers.windows(2).any(|w| w[0] != w[1])
        } else {
            row.values.windows(2).any(|w| w[0] != w[1])
        }
    };

    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => {
            let json_rows: Vec<_> = rows
                .iter()
                .map(|row| {
                    let values: Vec<serde_json::Value> = if row.kind == "metric" {
                        row.numbers.iter().map(|v| serde_json::json!(v)).collect()
                    } else {
                        row.values.iter().map(|v| serde_json::json!(v)).collect()
                    };
                    serde_json::json!({"kind": row.kind, "key": row.key, "values": values, "differs": differs(row)})
                })
                .collect();
            let ids: Vec<String> = runs.iter().map(RunFile::id).collect();
            write_json(
                &mut out,
                &serde_json::json!({"runs": ids, "rows": json_rows}),
            )?;
        }
        Format::Human => {
            let mut header = vec![String::new(), "KEY".to_owned()];
            header.extend(runs.iter().map(RunFile::id));
            let mut table = Table::new(header);
            for i in 0..runs.len() {
                table = table.align_right(2 + i);
            }
            for row in &rows {
                let mark = if differs(row) {
                    ctx.style.yellow("*")
                } else {
                    String::new()
                };
                let mut cells = vec![
                    mark,
                    format!(
                        "{}.{}",
                        if row.kind == "param" {
                            "params"
                        } else {
                            "metrics"
                        },
                        row.key
                    ),
                ];
                cells.extend(
                    row.values
                        .iter()
                        .map(|v| v.clone().unwrap_or_else(|| "-".into())),
                );
                table.row(cells);
            }
            table.write(&mut out, &ctx.style)?;
            ctx.info("* marks values that differ");
        }
    }
    out.flush()?;
    Ok(())
}
