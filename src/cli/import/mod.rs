//! `regent import mlflow SOURCE` and `regent import gto [REPO]`: another
//! registry's experiments, runs, models, versions, stages and aliases as
//! regent files, one commit per experiment and per model, all made visible
//! at once (or none), each event keeping its original time and actor
//! (crate::import, crate::imported).

mod judge;
mod propose;

use super::{CliError, CliResult, Ctx};
use crate::import::plan::{self, CommitPlan, Plan, PlanError};
use crate::import::{ArtifactSource, ImportError, Source};
use crate::imported::{self, Subject};
use crate::output::{Format, write_json};
use crate::registry::{Layout, RunArtifact, VersionArtifact, to_yaml};
use crate::snapshot::Snapshot;
use crate::workspace::{self, Change, CommitMessage};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// Import MLflow's experiments, runs and registered models.
    #[command(
        after_long_help = "SOURCE: an mlruns/ folder (MLflow's file store), sqlite:///path/to/mlflow.db, \
                      or a tracking server's http(s):// URL.\n\nExamples:\n  regent import mlflow ./mlruns\n  \
                      regent import mlflow sqlite:///mlflow.db --no-copy\n  regent import mlflow http://localhost:5000"
    )]
    Mlflow(MlflowArgs),
    /// Import GTO's registry (its annotated Git tags) as models and versions.
    #[command(
        after_long_help = "Examples:\n  regent import gto\n  regent import gto ../model-repo"
    )]
    Gto(GtoArgs),
}

#[derive(Debug, clap::Args)]
pub struct MlflowArgs {
    /// An mlruns/ folder, sqlite:///…/mlflow.db, or http(s)://tracking-server.
    pub source: String,
    #[command(flatten)]
    pub options: ImportOptions,
}

#[derive(Debug, clap::Args)]
pub struct GtoArgs {
    /// The repository holding GTO's tags (default: this one).
    pub repo: Option<PathBuf>,
    #[command(flatten)]
    pub options: ImportOptions,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ImportOptions {
    /// Record artifacts by their URI in the source, unverified, instead of
    /// copying them into the artifact store with their digests.
    #[arg(long)]
    pub no_copy: bool,
    /// Say what would be imported, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Push the import's commits to the branch's upstream remote.
    #[arg(long)]
    pub push: bool,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
}

/// What a build of the import's commits is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The policy's verdict: nothing stored (artifacts by their source
    /// URIs, runs without their series), so a refusal leaves no upload.
    Judge,
    /// The commits made: artifacts copied (unless --no-copy), series kept.
    Commit,
}

pub fn run(ctx: &Ctx, command: ImportCommand) -> CliResult {
    match command {
        ImportCommand::Mlflow(args) => {
            let source = crate::import::mlflow::read(&args.source, &ctx.dir, !args.options.no_copy)
                .map_err(|e| source_error("MLflow", e))?;
            import(ctx, source, &args.options)
        }
        ImportCommand::Gto(args) => {
            let path = args
                .repo
                .map_or_else(|| ctx.dir.clone(), |r| ctx.dir.join(r));
            let source = crate::import::gto::read(&path, !args.options.no_copy)
                .map_err(|e| source_error("GTO", e))?;
            import(ctx, source, &args.options)
        }
    }
}

fn source_error(kind: &str, e: ImportError) -> CliError {
    CliError::error(format!("cannot import from {kind}: {e}"))
        .hint("nothing was imported; fix the source (or leave out what is broken) and run the import again")
}

fn import(ctx: &Ctx, source: Source, options: &ImportOptions) -> CliResult {
    let repo = ctx.open_registry()?;
    if repo.workdir.is_none() {
        return Err(CliError::error(
            "regent changes the registry in a checkout, not in a bare repository",
        ));
    }
    let actor = ctx.actor(&repo)?;
    let authorship = repo.authorship(&actor)?;
    let push = ctx.push_target(&repo, options.push)?;
    let lock = workspace::lock(&repo)?;
    for note in crate::recovery::finish_interrupted(&repo)? {
        ctx.warn(note);
    }
    let head = repo
        .head_commit()?
        .ok_or_else(|| CliError::error("the branch has no commits yet; run `regent init` first"))?;
    let snapshot = Snapshot::of_commit(&repo, &head)?
        .filter(|s| s.exists(Layout::CONFIG))
        .ok_or_else(|| CliError::error("HEAD has no registry; run `regent init` first"))?;
    let before = imported::imported_so_far(&repo, Some(head.id()))?;
    let plan = plan::plan(&source, &snapshot, &before).map_err(plan_error)?;
    refuse_uncommitted(&repo, &plan)?;
    for skipped in &plan.skipped {
        ctx.warn(format!("not imported: {skipped}"));
    }
    if source.kind == "gto" && !plan.commits.is_empty() {
        ctx.info(
            "Note: the import creates no tags; GTO's own tags are left as they are. If regent.yaml \
             keeps the default tag formats, regent's next promotions may take names GTO's \
             `name#stage#N` tags already hold: see \"Coming from GTO\" in the README.",
        );
    }
    if plan.commits.is_empty() || options.dry_run {
        return report(ctx, &source, &plan, &[], options.dry_run);
    }
    if options.pull_request.pr {
        drop(lock);
        return propose::propose(ctx, &repo, &source, options, &actor, &authorship);
    }
    // Judged before anything is stored or committed.
    let preview = finish_all(ctx, &repo, &plan, &source, &actor, options, Pass::Judge)?;
    if let Some(verdict) = judge::verdict(&repo, &authorship, &head, &preview)? {
        judge::refuse_unless_allowed(&verdict)?;
    }
    if !options.no_copy && needs_store(&plan) && !super::artifact::has_store(ctx, &repo)? {
        return Err(CliError::error(
            "the import copies artifacts into the artifact store, but none is configured",
        )
        .hint(format!(
            "configure one in regent.yaml (`artifacts: {{root: s3://bucket/prefix}}`, or a local \
             folder) or set {}; or pass --no-copy to record the artifacts' URIs, unverified",
            crate::artifacts::store::ROOT_ENV
        )));
    }
    let commits = finish_all(ctx, &repo, &plan, &source, &actor, options, Pass::Commit)?;
    let ids = workspace::apply_chain(&repo, &authorship, &lock, &commits)?;
    drop(lock);
    if let (Some(target), Some(last)) = (&push, ids.last()) {
        super::push(ctx, &repo, target, *last)?;
    }
    report(ctx, &source, &plan, &ids, false)
}

fn plan_error(e: PlanError) -> CliError {
    match e {
        PlanError::Refused(message) => {
            CliError::no(format!("import refused: {message}")).hint("nothing was imported")
        }
        PlanError::Files(d) => CliError::bad_files("the registry's files are invalid", d),
        PlanError::Git(e) => e.into(),
    }
}

/// The import writes each experiment's and model's folder: they must have
/// no uncommitted changes (as every regent command asks of what it writes).
fn refuse_uncommitted(repo: &crate::git::Repo, plan: &Plan) -> CliResult {
    let governed: Vec<String> = plan
        .commits
        .iter()
        .map(|c| match &c.subject {
            Subject::Model(m) => repo.repo_path(&format!("models/{m}")),
            Subject::Experiment(e) => repo.repo_path(&format!("experiments/{e}")),
        })
        .collect();
    let dirty = repo.changed_paths(&governed)?;
    if dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
    Err(CliError::no(format!(
        "the registry has uncommitted changes where the import writes: {}{}",
        shown.join(", "),
        if dirty.len() > 5 { ", …" } else { "" }
    ))
    .hint("commit or stash them first: regent builds each event on the committed registry"))
}

fn needs_store(plan: &Plan) -> bool {
    let local = |a: &ArtifactSource| matches!(a, ArtifactSource::Local { .. });
    plan.commits.iter().any(|c| {
        c.runs.iter().any(|r| r.artifacts.iter().any(local))
            || c.versions.iter().any(|v| local(&v.artifact))
    })
}

/// Every commit of the plan, in order ([`finish`]).
fn finish_all(
    ctx: &Ctx,
    repo: &crate::git::Repo,
    plan: &Plan,
    source: &Source,
    actor: &str,
    options: &ImportOptions,
    pass: Pass,
) -> CliResult<Vec<(Vec<Change>, CommitMessage)>> {
    plan.commits
        .iter()
        .map(|commit| finish(ctx, repo, commit, source, actor, options, pass))
        .collect()
}

/// One commit's files and message: artifacts stored (or recorded by URI),
/// histories bounded, every file checked against its schema.
fn finish(
    ctx: &Ctx,
    repo: &crate::git::Repo,
    commit: &CommitPlan,
    source: &Source,
    actor: &str,
    options: &ImportOptions,
    pass: Pass,
) -> CliResult<(Vec<Change>, CommitMessage)> {
    let judging = ImportOptions {
        no_copy: true,
        ..options.clone()
    };
    let options = match pass {
        Pass::Judge => &judging,
        Pass::Commit => options,
    };
    let mut changes = Vec::new();
    let mut write = |path: String, schema: &str, yaml: String| -> CliResult {
        crate::load::load::<serde_json::Value>(schema, &repo.repo_path(&path), yaml.as_bytes())
            .map_err(|d| {
                CliError::bad_files(format!("the imported {path} would not be valid"), d)
            })?;
        changes.push(Change {
            path,
            content: Some(yaml.into_bytes()),
        });
        Ok(())
    };
    for run in &commit.runs {
        let mut record = run.record.clone();
        let id = record.id();
        for artifact in &run.artifacts {
            record.artifacts.push(
                run_artifact(ctx, repo, artifact, options)
                    .map_err(|e| e.detail(format!("in run {id}")))?,
            );
        }
        if pass == Pass::Commit {
            super::run::add_history(ctx, repo, &mut record, &run.history, &Default::default())
                .map_err(|e| e.detail(format!("in run {id}")))?;
        }
        write(
            Layout::run(&record.experiment, &record.name),
            "run",
            yaml("run", &record)?,
        )?;
    }
    if let Some(model) = &commit.model {
        write(Layout::model(&model.name), "model", yaml("model", model)?)?;
    }
    for version in &commit.versions {
        let mut record = version.record.clone();
        record.artifact = version_artifact(ctx, repo, &version.artifact, options)
            .map_err(|e| e.detail(format!("in {} version {}", record.model, record.version)))?;
        write(
            Layout::version(&record.model, record.version),
            "version",
            yaml("version", &record)?,
        )?;
    }
    for record in &commit.changed_versions {
        write(
            Layout::version(&record.model, record.version),
            "version",
            yaml("version", record)?,
        )?;
    }
    let (key, name, summary) = match &commit.subject {
        Subject::Experiment(e) => ("Regent-Experiment", e, count(commit.runs.len(), "run")),
        Subject::Model(m) => (
            "Regent-Model",
            m,
            format!(
                "{}, {}",
                count(commit.versions.len(), "version"),
                count(commit.events.len(), "event")
            ),
        ),
    };
    let what = match &commit.subject {
        Subject::Experiment(_) => "experiment",
        Subject::Model(_) => "model",
    };
    let subject = super::commit_subject(
        repo,
        imported::EVENT,
        &[(
            "summary",
            &format!("import {what} {name} from {} ({summary})", source.kind),
        )],
    )?;
    let mut message = CommitMessage::new(subject)
        .trailer("Regent-Event", imported::EVENT)
        .trailer(key, name.clone())
        .trailer(
            "Regent-Source",
            format!("{} {}", source.kind, source.location),
        )
        .trailer("Regent-Actor", actor);
    for event in &commit.events {
        message = message.trailer(imported::TRAILER, event.to_trailer());
    }
    Ok((changes, message))
}

/// `1 run`, `2 runs`.
fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn yaml<T: serde::Serialize>(schema: &str, value: &T) -> CliResult<String> {
    to_yaml(schema, value).map_err(|e| CliError::error(e.to_string()))
}

fn run_artifact(
    ctx: &Ctx,
    repo: &crate::git::Repo,
    artifact: &ArtifactSource,
    options: &ImportOptions,
) -> CliResult<RunArtifact> {
    match artifact {
        ArtifactSource::Local { name, path } if !options.no_copy => {
            let arg = path.to_string_lossy();
            let mut recorded = super::artifact::for_run_named(
                ctx,
                repo,
                &[(arg.as_ref(), Some(name.as_str()))],
                false,
            )?;
            recorded
                .pop()
                .ok_or_else(|| CliError::error(format!("artifact {arg} was not recorded")))
        }
        other => Ok(RunArtifact {
            path: other.name().map(str::to_owned),
            uri: Some(other.uri()),
            ..RunArtifact::default()
        }),
    }
}

fn version_artifact(
    ctx: &Ctx,
    repo: &crate::git::Repo,
    artifact: &ArtifactSource,
    options: &ImportOptions,
) -> CliResult<VersionArtifact> {
    match artifact {
        ArtifactSource::Local { .. } if !options.no_copy => {
            let recorded = run_artifact(ctx, repo, artifact, options)?;
            Ok(VersionArtifact {
                uri: recorded.uri.unwrap_or_default(),
                name: recorded.path,
                digest: recorded.digest,
                size: recorded.size,
                kind: recorded.kind,
                ..VersionArtifact::default()
            })
        }
        other => Ok(VersionArtifact {
            uri: other.uri(),
            name: other.name().map(str::to_owned),
            verified: Some(false),
            ..VersionArtifact::default()
        }),
    }
}

/// What was imported (or, with `--dry-run`, would be), and what was left out.
fn report(
    ctx: &Ctx,
    source: &Source,
    plan: &Plan,
    commits: &[git2::Oid],
    dry_run: bool,
) -> CliResult {
    let items: Vec<serde_json::Value> = plan
        .commits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (kind, name) = match &c.subject {
                Subject::Experiment(e) => ("experiment", e),
                Subject::Model(m) => ("model", m),
            };
            serde_json::json!({
                kind: name,
                "commit": commits.get(i).map(ToString::to_string),
                "runs": c.runs.iter().map(|r| r.record.id()).collect::<Vec<_>>(),
                "versions": c.versions.iter().map(|v| v.record.version).collect::<Vec<_>>(),
                "events": c.events.len(),
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({
                "source": source.kind,
                "dry_run": dry_run,
                "imported": items,
                "already_imported": plan.already,
                "skipped": plan.skipped,
            }),
        )?,
        Format::Human => {
            for (i, c) in plan.commits.iter().enumerate() {
                let commit = commits
                    .get(i)
                    .map(|id| format!(" (commit {})", &id.to_string()[..12]))
                    .unwrap_or_default();
                let line = match &c.subject {
                    Subject::Experiment(e) => {
                        format!("experiment {e}: {}{commit}", count(c.runs.len(), "new run"))
                    }
                    Subject::Model(m) => format!(
                        "model {m}: {}, {}{commit}",
                        count(c.versions.len(), "new version"),
                        count(c.events.len(), "event")
                    ),
                };
                writeln!(out, "{line}")?;
            }
            let verb = if dry_run { "Would import" } else { "Imported" };
            ctx.info(if plan.commits.is_empty() {
                format!(
                    "Nothing new to import from {} ({} already imported)",
                    source.location, plan.already
                )
            } else {
                format!(
                    "{verb} from {} {} in {}; {} already imported, {} not imported",
                    source.kind,
                    source.location,
                    count(plan.commits.len(), "commit"),
                    plan.already,
                    plan.skipped.len()
                )
            });
        }
    }
    out.flush()?;
    Ok(())
}
