//! The command line: global flags, the command tree, dispatch, and how
//! errors become messages and exit codes. Each command lives in its own
//! module and turns its flags into plain values for the core.

mod artifact;
mod check;
mod complete;
mod doctor;
mod error;
mod github;
mod history;
mod import;
mod init;
mod lifecycle;
mod publish;
mod pull_request;
mod resolve;
mod run;
mod schema;
mod show;
mod ui;
mod validate;

pub use error::{CliError, CliResult, EXIT_ERROR, EXIT_NO};

use crate::git::{Authorship, Repo, Role};
use crate::output::{ColorChoice, Format, Style};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// A Git-native model registry and CI governance tool.
///
/// Experiment runs, model versions, stages and aliases are schema-validated YAML files in your
/// Git repository; every change is a commit with `Regent-*` trailers, and a stage's policy
/// decides who may promote what.
#[derive(Debug, Parser)]
#[command(
    name = "regent",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_long_help = "Examples:
  regent init
  regent run log churn --param lr=0.01 --metric accuracy=0.93 --artifact model.pkl
  regent register churn --artifact s3://models/churn/7.pkl --run churn/adam-lr2
  regent promote churn 3 --to staging
  regent history churn

Every command takes -h for a summary and --help for the details and examples."
)]
pub struct Cli {
    /// Run as if started in DIR.
    #[arg(
        short = 'C',
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub dir: Option<PathBuf>,
    /// Output format for data on stdout.
    ///
    /// `json` prints one JSON document (the fields are in the README's "JSON output"); a
    /// failed command then answers on stdout too, with why.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Human, help_heading = "Global options")]
    pub format: FormatArg,
    /// Shorthand for `--format json`.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// Print no progress or confirmation messages (errors and warnings still go to stderr).
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// When to use colour (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN", help_heading = "Global options")]
    pub color: ColorArg,
    /// Who is acting: the `user` of a run and the Regent-Actor trailer.
    ///
    /// Without it: REGENT_ACTOR, else GITHUB_ACTOR, else git's author name. `approve` always
    /// records the committer's git identity and refuses an actor naming someone else.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Global options"
    )]
    pub actor: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    /// For `history` and `diff` only, so hidden from every command's help;
    /// those two say it.
    #[value(hide = true)]
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a registry in the current folder, or in DIR (one commit).
    Init(init::InitArgs),
    /// Check every registry file against its schema and the registry's rules.
    Validate(validate::ValidateArgs),
    /// Log, list, show and compare experiment runs.
    #[command(subcommand)]
    Run(Box<run::RunCommand>),
    /// Register a new version of a model (numbered highest + 1).
    Register(lifecycle::RegisterArgs),
    /// Move a version into a stage, if the stage's policy allows it.
    Promote(lifecycle::PromoteArgs),
    /// Empty a stage.
    Demote(lifecycle::DemoteArgs),
    /// Move a stage back to the version that held it before (or --to VERSION).
    Rollback(lifecycle::RollbackArgs),
    /// Set or remove an alias such as `champion`.
    #[command(subcommand)]
    Alias(lifecycle::AliasCommand),
    /// Set or remove tags of a model or a version.
    Tag(lifecycle::TagArgs),
    /// Set the description of a model or a version.
    Describe(lifecycle::DescribeArgs),
    /// Mark a version deprecated (it can no longer be promoted).
    Deprecate(lifecycle::DeprecateArgs),
    /// Mark a version archived (final; it must hold no stage or alias).
    Archive(lifecycle::ArchiveArgs),
    /// Approve a version for a stage or a protected alias, under your git identity.
    Approve(lifecycle::ApproveArgs),
    /// Show models, one model's versions, or one version.
    Show(show::ShowArgs),
    /// Print the artifact URI of models:/MODEL/VERSION, /STAGE, /latest or @ALIAS.
    Resolve(resolve::ResolveArgs),
    /// Get artifacts back from the store, verified.
    #[command(subcommand)]
    Artifact(artifact::ArtifactCommand),
    /// The registry's events, oldest first, from commits (hand edits included).
    History(history::HistoryArgs),
    /// The registry events between two revisions.
    Diff(history::DiffArgs),
    /// The pull-request gate: judge a change by the base's policy (exit 1 on a violation).
    Check(check::CheckArgs),
    /// After a merge: create the missing tags for the branch's events, and report them.
    Publish(publish::PublishArgs),
    /// Print the JSON Schema of a registry file (regent, model, version, run).
    Schema(schema::SchemaArgs),
    /// Bring in another registry's history: MLflow's stores, GTO's tags.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Find (and with --fix remove) leftovers that block the next event: tags
    /// on commits no branch contains.
    Doctor(doctor::DoctorArgs),
    /// The read-only web UI: serve it on loopback, or `ui build` a static site.
    Ui(ui::UiArgs),
    /// Print the script that makes your shell complete regent's commands and names.
    Completions(complete::CompletionsArgs),
}

/// Flags every command that commits takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommitArgs {
    /// Push the commit with the system `git`, built on the remote's head.
    ///
    /// The remote is the branch's upstream, else `origin`. When another writer pushed first,
    /// the commit is built again on the new head and pushed again.
    #[arg(long)]
    pub push: bool,
    /// The commit's message; regent's trailers are appended.
    ///
    /// Its first line is the subject (default: one regent writes, such as `promote churn v3
    /// to production`).
    #[arg(long, short = 'm', value_name = "TEXT")]
    pub message: Option<String>,
}

/// What every command needs from the global flags.
pub struct Ctx {
    pub dir: PathBuf,
    pub format: Format,
    /// `--format csv` (history and diff only).
    pub csv: bool,
    pub quiet: bool,
    pub style: Style,
    actor: Option<String>,
}

impl Ctx {
    /// Prints a confirmation or progress message on stderr unless `--quiet`.
    pub fn info(&self, message: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{}", message.as_ref());
        }
    }

    /// Prints a warning on stderr (even with `--quiet`: it may change the answer's meaning).
    pub fn warn(&self, message: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr(), "warning: {}", message.as_ref());
    }

    /// The registry around `-C DIR` (or the current folder).
    pub fn open_registry(&self) -> CliResult<Repo> {
        Ok(Repo::open_registry(&self.dir)?)
    }

    /// `--actor`, else REGENT_ACTOR, else GITHUB_ACTOR, else git's author
    /// name (as `git commit` would record it: `git var GIT_AUTHOR_IDENT`).
    /// Where `--push` sends events (None without it).
    pub fn push_target(
        &self,
        repo: &Repo,
        push: bool,
    ) -> CliResult<Option<crate::workspace::PushTarget>> {
        Ok(push
            .then(|| crate::workspace::push_target(repo))
            .transpose()?)
    }

    pub fn actor(&self, repo: &Repo) -> CliResult<String> {
        let actor = match self.claimed_actor() {
            Some((_, name)) => name,
            None => match repo.git_ident(Role::Author)? {
                Ok(ident) => ident.name,
                Err(reason) => {
                    return Err(CliError::error("cannot tell who is acting")
                        .cause(format!("git has no identity: {reason}"))
                        .hint(
                            "set git's identity (`git config user.name NAME` and `git config user.email EMAIL`), \
                             or pass --actor NAME or set REGENT_ACTOR",
                        ));
                }
            },
        };
        check_actor(&actor)?;
        Ok(actor)
    }

    /// The actor named by `--actor`, REGENT_ACTOR or GITHUB_ACTOR (the first
    /// that is set and not blank), with where it came from.
    fn claimed_actor(&self) -> Option<(&'static str, String)> {
        let from_env = |key: &str| std::env::var(key).ok();
        [
            ("--actor", self.actor.clone()),
            ("REGENT_ACTOR", from_env("REGENT_ACTOR")),
            ("GITHUB_ACTOR", from_env("GITHUB_ACTOR")),
        ]
        .into_iter()
        .find_map(|(source, name)| {
            let name = name?.trim().to_owned();
            (!name.is_empty()).then_some((source, name))
        })
    }

    /// Who approves offline, and the commit's author and committer: the
    /// committer's git identity (`git var GIT_COMMITTER_IDENT`), whatever
    /// `--actor`, REGENT_ACTOR or GITHUB_ACTOR say. One of them naming
    /// someone else is refused (exit 1) rather than ignored, since the
    /// approval would not be recorded under the name the user gave.
    pub fn approver(&self, repo: &Repo) -> CliResult<(String, Authorship)> {
        let ident = match repo.git_ident(Role::Committer)? {
            Ok(ident) => ident,
            Err(reason) => {
                return Err(CliError::error("cannot tell who is approving")
                    .cause(format!("git has no committer identity: {reason}"))
                    .hint(
                        "an approval is recorded under your git identity: set it with \
                         `git config user.name NAME` and `git config user.email EMAIL`",
                    ));
            }
        };
        check_actor(&ident.name)?;
        if let Some((source, claimed)) = self.claimed_actor()
            && claimed.to_lowercase() != ident.name.to_lowercase()
        {
            return Err(CliError::no(format!(
                "approve refused: {source} names {claimed:?}, but an approval is recorded under the committer's git identity, {:?}",
                ident.name
            ))
            .hint(format!(
                "to approve as {claimed:?}, run regent as that person, with their own git identity \
                 (their user.name, or GIT_COMMITTER_NAME); to approve as {:?}, {}",
                ident.name,
                if source == "--actor" {
                    "leave out --actor".to_owned()
                } else {
                    format!("unset {source}")
                }
            )));
        }
        let name = ident.name.clone();
        Ok((name, Authorship::committer_only(ident)))
    }
}

/// An actor is a name for trailers and files: at most 100 characters, none of them control characters.
fn check_actor(actor: &str) -> CliResult {
    if actor.chars().any(char::is_control) || actor.chars().count() > 100 {
        return Err(CliError::error(format!(
            "invalid actor {actor:?}: at most 100 characters, no control characters"
        )));
    }
    Ok(())
}

/// The subject of a regent commit, from `templates/commit-subject.j2` (or the
/// registry's override of it).
pub fn commit_subject(repo: &Repo, event: &str, fields: &[(&str, &str)]) -> CliResult<String> {
    let mut context = serde_json::json!({
        "event": event, "experiment": null, "run": null, "model": null, "version": null,
        "stage": null, "alias": null, "summary": event,
    });
    for (key, value) in fields {
        context[*key] = (*value).into();
    }
    let dir = repo.registry_dir().ok();
    crate::render::commit_subject(dir.as_deref(), &context).map_err(|e| {
        CliError::error(e.to_string())
            .hint("fix or remove the template override in .regent/templates/")
    })
}

/// Pushes an event's commit; on failure the local commit stays and the error says so.
pub fn push(
    ctx: &Ctx,
    repo: &Repo,
    target: &crate::workspace::PushTarget,
    commit: git2::Oid,
) -> CliResult {
    crate::workspace::push(repo, target, commit).map_err(|e| {
        CliError::error(format!(
            "committed locally as {} but could not push to {}",
            &commit.to_string()[..12],
            target.remote
        ))
        .cause(e.to_string())
        .hint("fetch, rebase your branch onto the remote, and push again")
    })?;
    ctx.info(format!("Pushed to {}", target.remote));
    Ok(())
}

/// Parses the command line, runs the command, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    complete::answer_if_asked();
    let cli = Cli::parse();
    let json = cli.json || cli.format == FormatArg::Json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.broken_pipe => ExitCode::SUCCESS,
        Err(e) => {
            if json && !e.verdict_printed {
                // Best effort: stdout may be closed; stderr still says it all.
                let mut out = std::io::stdout().lock();
                let _ = crate::output::write_json(&mut out, &e.to_json());
                let _ = out.flush();
            }
            e.report();
            ExitCode::from(e.code)
        }
    }
}

fn run(cli: Cli) -> CliResult {
    let dir = match cli.dir {
        Some(dir) => dir,
        None => std::env::current_dir()
            .map_err(|e| CliError::error(format!("cannot read the current folder: {e}")))?,
    };
    let ctx = Ctx {
        dir,
        format: if cli.json || cli.format == FormatArg::Json {
            Format::Json
        } else {
            Format::Human
        },
        csv: cli.format == FormatArg::Csv && !cli.json,
        quiet: cli.quiet,
        style: Style::new(match cli.color {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }),
        actor: cli.actor,
    };
    if ctx.csv && !matches!(cli.command, Command::History(_) | Command::Diff(_)) {
        return Err(history::csv_unsupported());
    }
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Run(command) => run::run(&ctx, *command),
        Command::Register(args) => lifecycle::register(&ctx, args),
        Command::Promote(args) => lifecycle::promote(&ctx, args),
        Command::Demote(args) => lifecycle::demote(&ctx, args),
        Command::Rollback(args) => lifecycle::rollback(&ctx, args),
        Command::Alias(command) => lifecycle::alias(&ctx, command),
        Command::Tag(args) => lifecycle::tag(&ctx, args),
        Command::Describe(args) => lifecycle::describe(&ctx, args),
        Command::Deprecate(args) => lifecycle::deprecate(&ctx, args),
        Command::Archive(args) => lifecycle::archive(&ctx, args),
        Command::Approve(args) => lifecycle::approve(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Resolve(args) => resolve::run(&ctx, args),
        Command::Artifact(command) => artifact::run(&ctx, command),
        Command::Publish(args) => publish::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
        Command::History(args) => history::history(&ctx, args),
        Command::Diff(args) => history::diff(&ctx, args),
        Command::Schema(args) => schema::run(&ctx, args),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Ui(args) => ui::run(&ctx, args),
        Command::Import(command) => import::run(&ctx, command),
        Command::Completions(args) => complete::print_registration(args),
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (duplicate ids, bad defaults) for every command.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
