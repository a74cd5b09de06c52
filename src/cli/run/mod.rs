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
mod propose;
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
        after_long_help = "Examples:\n  regent run log churn --param lr=0.01 --metric accuracy=0.93 --artifact model.pkl\n  regent run log churn --metrics-file history.json --note 'baseline'\n  regent run log --batch sweep.jsonl"
    )]
    Log(LogArgs),
    /// List runs, optionally filtered and sorted by a metric or param.
    #[command(
        after_long_help = "Examples:\n  regent run list churn --sort accuracy --limit 5\n  regent run list --where 'metrics.accuracy > 0.9 and params.optimizer == \"adam\"'"
    )]
    List(ListArgs),
    /// Show one run.
    #[command(
        after_long_help = "Examples:\n  regent run show churn/adam-lr2\n  regent run show churn/adam-lr2 --json"
    )]
    Show(ShowArgs),
    /// Put the params and metrics of several runs side by side.
    #[command(
        after_long_help = "Examples:\n  regent run compare churn/adam-lr2 churn/sgd-lr1\n  regent run compare churn/adam-lr2 churn/sgd-lr1 --rev main~3"
    )]
    Compare(CompareArgs),
    /// Begin a run (status running); `update` and `end` add to it later.
    #[command(after_long_help = "Examples:\n  RUN=$(regent run start churn --param lr=0.01)")]
    Start(StartArgs),
    /// Add params, metrics, history points, tags, artifacts or a note to a running run.
    #[command(
        after_long_help = "Examples:\n  regent run update \"$RUN\" --metric loss=0.52 --step 1\n  regent run update \"$RUN\" --metric loss=0.31 --step 2 --tag phase=fine-tune"
    )]
    Update(UpdateArgs),
    /// End a running run, with what `update` takes.
    #[command(
        after_long_help = "Examples:\n  regent run end \"$RUN\" --metric accuracy=0.93 --artifact s3://models/churn.pkl\n  regent run end \"$RUN\" --status failed --note 'out of memory'"
    )]
    End(EndArgs),
    /// Print what a run started now would record (name, start time, source,
    /// environment) without recording anything, for a `--batch` line later.
    #[command(after_long_help = "Examples:\n  START=$(regent run capture churn --json)")]
    Capture(CaptureArgs),
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The experiment the run belongs to (created by its first run).
    #[arg(required_unless_present = "batch")]
    pub experiment: Option<String>,
    /// Record many runs in one commit from a JSON Lines file (`-`: stdin).
    ///
    /// A run per line: {"experiment", "name"?, "params"?, "metrics"?, "tags"?, "note"?,
    /// "status"?, "start"?, "end"?, "artifacts"?, "source"?, "environment"?}. Every line is
    /// checked before anything is written.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "experiment", "name", "params", "metrics", "params_file", "metrics_file",
        "artifacts", "tags", "note", "start", "end", "no_commit", "step",
    ])]
    pub batch: Option<PathBuf>,
    /// The run's name (default: generated from the time).
    ///
    /// A generated name is the time and 24 random bits, e.g. 20261126-181005-3fa9c2: it
    /// sorts by time and is unique.
    #[arg(long, value_name = "RUN")]
    pub name: Option<String>,
    /// Params, metrics (with `--step`, history points), artifacts, tags, a note.
    #[command(flatten)]
    pub data: UpdateData,
    /// The run's status: running, finished, failed or killed.
    #[arg(long, default_value = "finished", value_parser = parse_status)]
    pub status: RunStatus,
    /// When the run started (default: now).
    ///
    /// RFC 3339 (2026-11-20T10:00:00Z), a date (2026-11-20), `2026-11-20 10:00` (UTC),
    /// `yesterday` or `3 hours ago`.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub start: Option<jiff::Timestamp>,
    /// When the run ended (default: now; none while running).
    ///
    /// In the forms of --start.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub end: Option<jiff::Timestamp>,
    /// Only write the file; do not commit.
    #[arg(long, conflicts_with_all = ["push", "pr"])]
    pub no_commit: bool,
    #[command(flatten)]
    pub commit: CommitArgs,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// The experiment the run belongs to.
    pub experiment: String,
    /// The run's name (default: generated from the time, e.g. 20261126-181005-3fa9c2).
    #[arg(long, value_name = "RUN")]
    pub name: Option<String>,
    #[command(flatten)]
    pub data: UpdateData,
    #[command(flatten)]
    pub commit: CommitArgs,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
}

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// The experiment the run will belong to.
    pub experiment: String,
    /// The run's name, refused now if taken (default: one generated now, not taken).
    #[arg(long, value_name = "RUN")]
    pub name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The running run, EXPERIMENT/RUN (as `run start` printed it).
    pub run: String,
    #[command(flatten)]
    pub data: UpdateData,
    #[command(flatten)]
    pub commit: CommitArgs,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
}

#[derive(Debug, clap::Args)]
pub struct EndArgs {
    /// The running run, EXPERIMENT/RUN (as `run start` printed it).
    pub run: String,
    /// How it ended: finished, failed or killed.
    #[arg(long, default_value = "finished", value_parser = parse_status)]
    pub status: RunStatus,
    #[command(flatten)]
    pub data: UpdateData,
    #[command(flatten)]
    pub commit: CommitArgs,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
}

/// What `run log`, `start`, `update` and `end` put in a run.
#[derive(Debug, clap::Args)]
pub struct UpdateData {
    /// A param, KEY=VALUE (repeatable; overrides --params-file).
    ///
    /// A param is set once: `run update` refuses a different value for a key the run has.
    #[arg(long = "param", value_name = "K=V", value_parser = runs::key_value)]
    pub params: Vec<(String, String)>,
    /// A metric's value, KEY=NUMBER (repeatable; overrides --metrics-file).
    ///
    /// A finite number. The latest value counts. With --step, each is also a point of the metric's history.
    #[arg(long = "metric", value_name = "K=V", value_parser = runs::key_value)]
    pub metrics: Vec<(String, String)>,
    /// Each --metric is also a history point at step N (a whole number).
    #[arg(long, value_name = "N")]
    pub step: Option<u64>,
    /// Params from a JSON or YAML file (nested maps become `a/b` keys).
    ///
    /// Values become strings: a param is text, compared as a number where it reads as one.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// Metrics from a JSON or YAML file (nested maps become `a/b` keys).
    ///
    /// A list of numbers, or of {step, value, timestamp}, becomes a history whose last
    /// point is the final value.
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// A file, folder or URI to record (repeatable); local ones go to the artifact store.
    ///
    /// A URI (`s3://…`, `gs://…`, `runs:/…`) is kept as given. A local artifact is recorded
    /// under its name, with its URI in the store, sha256 digest and size.
    #[arg(long = "artifact", value_name = "PATH_OR_URI")]
    pub artifacts: Vec<String>,
    /// Record local artifacts where they are instead of uploading them.
    ///
    /// Each is hashed and recorded by its path relative to the registry; it must be inside
    /// the repository.
    #[arg(long)]
    pub keep_local: bool,
    /// A tag, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "K=V", value_parser = runs::key_value)]
    pub tags: Vec<(String, String)>,
    /// A free-form note (on `update`, replaces the run's note).
    #[arg(long, value_name = "TEXT")]
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
    /// Sort by this metric or param, highest first (runs without it come last).
    ///
    /// `accuracy` is the metric if any run has it, else the param; `metrics.accuracy` and
    /// `params.lr` say which. Params that are numbers sort as numbers.
    #[arg(long, value_name = "KEY")]
    pub sort: Option<String>,
    /// Sort lowest first.
    #[arg(long, requires = "sort")]
    pub asc: bool,
    /// Keep the runs an expression matches, e.g. `metrics.accuracy > 0.9`.
    ///
    /// `metrics.accuracy > 0.9 and params.optimizer == "adam"`. Fields: metrics.NAME, params.NAME, tags.NAME, source.commit|branch|remote|dirty, name,
    /// experiment, id, status, user, start_time, end_time, note. Comparisons == != < <= > >=
    /// and =~ (contains); and, or, not, parentheses. A field no run has is a warning.
    #[arg(long = "where", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Show at most N runs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Read the registry at this revision (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The run, EXPERIMENT/RUN.
    pub run: String,
    /// Read the registry at this revision (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Two or more runs, each EXPERIMENT/RUN.
    #[arg(required = true, num_args = 2.., value_name = "RUN")]
    pub runs: Vec<String>,
    /// Read the registry at this revision (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

fn parse_status(text: &str) -> Result<RunStatus, String> {
    RunStatus::parse(text).ok_or_else(|| "expected running, finished, failed or killed".into())
}

pub fn run(ctx: &Ctx, command: RunCommand) -> CliResult {
    match command {
        RunCommand::Log(mut args) => match args.batch.take() {
            Some(file) => batch::log_batch(
                ctx,
                &file,
                args.data.keep_local,
                &args.commit,
                &args.pull_request,
            ),
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
