//! `regent run log | list | show | compare | start | update | end | capture`:
//! experiment runs. One module per command: `log` writes a run (`batch`, a
//! sweep of them), `list` filters and sorts runs, `show` shows one or
//! compares several, `track` records one while it trains, `capture` says
//! what a run started now would record.

mod batch;
mod bound;
mod capture;
mod list;
mod log;
mod show;
mod track;

pub(crate) use bound::add_history;

use super::{CliError, CliResult, CommitArgs, Ctx};
use crate::names::{self, NameKind};
use crate::registry::{Layout, RunFile, RunStatus};
use crate::runs;
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum RunCommand {
    /// Record a run's params, metrics and artifacts as experiments/<experiment>/<shard>/<run>.yaml.
    #[command(
        after_help = "Examples:\n  regent run log churn --param lr=0.01 --metric accuracy=0.93 --artifact model.pkl\n  regent run log churn --metrics-file history.json --note 'baseline'\n  regent run log --batch sweep.jsonl"
    )]
    Log(LogArgs),
    /// List runs, optionally filtered and sorted by a metric or param.
    #[command(
        after_help = "Examples:\n  regent run list churn --sort accuracy --limit 5\n  regent run list --where 'metrics.accuracy > 0.9 and params.optimizer == \"adam\"'"
    )]
    List(ListArgs),
    /// Show one run.
    Show(ShowArgs),
    /// Put the params and metrics of several runs side by side.
    Compare(CompareArgs),
    /// Begin a run (status running); `update` and `end` add to it later.
    Start(StartArgs),
    /// Add params, metrics, history points, tags, artifacts or a note to a running run.
    Update(UpdateArgs),
    /// End a running run (default status: finished), with what `update` takes.
    End(EndArgs),
    /// Print what a run started now would record (name, start time, source,
    /// environment) without recording anything, for a `--batch` line later.
    Capture(CaptureArgs),
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The experiment the run belongs to.
    #[arg(required_unless_present = "batch")]
    pub experiment: Option<String>,
    /// Record many runs in one commit from a JSON Lines file (`-`: standard
    /// input), a run per line: {"experiment", "name"?, "params"?, "metrics"?,
    /// "tags"?, "note"?, "status"?, "start"?, "end"?, "artifacts"?,
    /// "source"?, "environment"?}.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "experiment", "name", "params", "metrics", "params_file", "metrics_file",
        "artifacts", "tags", "note", "start", "end", "no_commit", "step",
    ])]
    pub batch: Option<PathBuf>,
    /// Run name (default: generated from the time, e.g. 20261126-181005-3fa9c2).
    #[arg(long)]
    pub name: Option<String>,
    /// Params, metrics (with `--step`, history points), artifacts, tags, a note.
    #[command(flatten)]
    pub data: UpdateData,
    /// running, finished, failed or killed.
    #[arg(long, default_value = "finished", value_parser = parse_status)]
    pub status: RunStatus,
    /// When the run started (RFC 3339, a date, `yesterday`, `3 hours ago`;
    /// default: now).
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub start: Option<jiff::Timestamp>,
    /// When the run ended (as --start; default: now unless --status running).
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub end: Option<jiff::Timestamp>,
    /// Only write the file; do not commit.
    #[arg(long, conflicts_with = "push")]
    pub no_commit: bool,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// The experiment the run belongs to.
    pub experiment: String,
    /// Run name (default: generated from the time, e.g. 20261126-181005-3fa9c2).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub data: UpdateData,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// The experiment the run will belong to.
    pub experiment: String,
    /// The run's name, refused now if taken (default: one generated now, not taken).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// EXPERIMENT/RUN, a running run.
    pub run: String,
    #[command(flatten)]
    pub data: UpdateData,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
pub struct EndArgs {
    /// EXPERIMENT/RUN, a running run.
    pub run: String,
    /// finished, failed or killed.
    #[arg(long, default_value = "finished", value_parser = parse_status)]
    pub status: RunStatus,
    #[command(flatten)]
    pub data: UpdateData,
    #[command(flatten)]
    pub commit: CommitArgs,
}

/// What `run log`, `start`, `update` and `end` put in a run.
#[derive(Debug, clap::Args)]
pub struct UpdateData {
    /// A parameter (repeatable), over --params-file. Set once: `run update` refuses another value.
    #[arg(long = "param", value_name = "K=V", value_parser = runs::key_value)]
    pub params: Vec<(String, String)>,
    /// A metric value (repeatable), over --metrics-file; the latest counts. With --step, also a history point.
    #[arg(long = "metric", value_name = "K=V", value_parser = runs::key_value)]
    pub metrics: Vec<(String, String)>,
    /// The step of the --metric values: each becomes a history point at this step.
    #[arg(long, value_name = "N")]
    pub step: Option<u64>,
    /// Params from a JSON or YAML file; nested maps become `a/b` keys.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// Metrics from a JSON or YAML file; nested maps become `a/b` keys, lists become history points.
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// A local file or folder (uploaded to the artifact store) or a URI (kept as given); repeatable.
    #[arg(long = "artifact", value_name = "PATH_OR_URI")]
    pub artifacts: Vec<String>,
    /// Record local artifacts where they are (hashed, relative to the registry) instead of storing them.
    #[arg(long)]
    pub keep_local: bool,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "K=V", value_parser = runs::key_value)]
    pub tags: Vec<(String, String)>,
    /// A free-form note (on `update`, replaces the run's note).
    #[arg(long)]
    pub note: Option<String>,
}

/// A key given twice on the command line is a mistake, not an update: which
/// value was meant? (A file's value given again as a flag is an override.)
fn once(flag: &str, pairs: &[(String, String)]) -> CliResult {
    let mut seen = std::collections::BTreeSet::new();
    for (key, _) in pairs {
        if !seen.insert(key.as_str()) {
            return Err(CliError::error(format!(
                "{flag} {key} is given twice; give each key once"
            )));
        }
    }
    Ok(())
}

impl UpdateData {
    /// Params from --params-file, then --param.
    pub(super) fn params(&self) -> CliResult<BTreeMap<String, String>> {
        let mut params = BTreeMap::new();
        if let Some(file) = &self.params_file {
            let value = runs::read_data_file(file)?;
            params = runs::params_from(&value, &file.display().to_string())?;
        }
        once("--param", &self.params)?;
        params.extend(self.params.iter().cloned());
        Ok(params)
    }

    /// Latest values and history points from --metrics-file, then --metric
    /// (points at --step, stamped `now`).
    /// Histories too long to keep come with their full series (`runs::Spills`).
    pub(super) fn metrics(&self, now: jiff::Timestamp) -> CliResult<(runs::Metrics, runs::Spills)> {
        once("--metric", &self.metrics)?;
        let ((mut metrics, mut history), spills) = match &self.metrics_file {
            Some(file) => runs::read_metrics_file(file)?,
            None => Default::default(),
        };
        for (key, text) in &self.metrics {
            let value = runs::metric_value(key, text)?;
            metrics.insert(key.clone(), value);
            if let Some(step) = self.step {
                history
                    .entry(key.clone())
                    .or_default()
                    .push(crate::registry::MetricPoint {
                        step,
                        value,
                        timestamp: Some(crate::time::format(now)),
                    });
            }
        }
        Ok(((metrics, history), spills))
    }

    /// Local artifacts uploaded to the store (or, with --keep-local, hashed
    /// where they are); URIs as given. Before the commit is built.
    pub(super) fn artifacts(
        &self,
        ctx: &Ctx,
        repo: &crate::git::Repo,
    ) -> CliResult<Vec<crate::registry::RunArtifact>> {
        // Before anything is uploaded.
        let mut seen = std::collections::BTreeSet::new();
        for artifact in &self.artifacts {
            if !seen.insert(artifact.as_str()) {
                return Err(CliError::error(format!(
                    "--artifact {artifact} is given twice; give each artifact once"
                )));
            }
        }
        crate::cli::artifact::for_run(ctx, repo, &self.artifacts, self.keep_local)
    }
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this experiment's runs.
    pub experiment: Option<String>,
    /// Sort by this metric or param, highest first (runs without it come
    /// last): `accuracy` (a metric, else a param), `metrics.accuracy`,
    /// `params.lr`. Params that are numbers sort as numbers.
    #[arg(long, value_name = "KEY")]
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

pub fn run(ctx: &Ctx, command: RunCommand) -> CliResult {
    match command {
        RunCommand::Log(mut args) => match args.batch.take() {
            Some(file) => batch::log_batch(ctx, &file, args.data.keep_local, &args.commit),
            None => log::log(ctx, args),
        },
        RunCommand::List(args) => list::list(ctx, args),
        RunCommand::Show(args) => show::show(ctx, args),
        RunCommand::Compare(args) => show::compare(ctx, args),
        RunCommand::Start(args) => track::start(ctx, args),
        RunCommand::Update(args) => track::update(ctx, args),
        RunCommand::End(args) => track::end(ctx, args),
        RunCommand::Capture(args) => capture::capture(ctx, args),
    }
}

/// A run as JSON: the file's fields plus its `id`.
pub(super) fn run_json(run: &RunFile) -> serde_json::Value {
    let mut value = serde_json::to_value(run).unwrap_or_default();
    value["id"] = run.id().into();
    value
}
/// `EXPERIMENT/RUN` -> the two names, checked.
pub(super) fn split_run_id(id: &str) -> CliResult<(String, String)> {
    let (experiment, run) = id.split_once('/').ok_or_else(|| {
        CliError::error(format!("expected EXPERIMENT/RUN, got {id:?}"))
            .hint("`regent run list` shows run ids")
    })?;
    names::check(NameKind::Experiment, experiment)?;
    names::check(NameKind::Run, run)?;
    Ok((experiment.to_owned(), run.to_owned()))
}

/// For an experiment the registry does not have: what to say (the likely
/// one, or where to look); None when it exists.
pub(super) fn unknown_experiment(
    snapshot: &Snapshot<'_>,
    experiment: &str,
) -> CliResult<Option<String>> {
    let known = snapshot.experiment_names()?;
    if known.iter().any(|e| e == experiment) {
        return Ok(None);
    }
    Ok(Some(
        crate::suggest::did_you_mean(experiment, known.iter().map(String::as_str)).unwrap_or_else(
            || format!("there is no experiment {experiment}; `regent run list` shows the runs"),
        ),
    ))
}

pub(super) fn load_run(snapshot: &Snapshot<'_>, id: &str) -> CliResult<RunFile> {
    let (experiment, run) = split_run_id(id)?;
    if !snapshot.exists(&Layout::run(&experiment, &run)) {
        let error = CliError::no(format!("no run {id}"));
        return Err(match unknown_experiment(snapshot, &experiment)? {
            Some(hint) => error.hint(hint),
            None => {
                let runs = snapshot.run_names(&experiment)?;
                match crate::suggest::did_you_mean(&run, runs.iter().map(String::as_str)) {
                    Some(suggestion) => error.hint(suggestion),
                    None => {
                        error.hint("`regent run list` shows the runs (committed ones; see --rev)")
                    }
                }
            }
        });
    }
    snapshot
        .run(&experiment, &run)
        .map(|l| l.value)
        .map_err(|d| CliError::bad_files(format!("run {id} is invalid"), d))
}
