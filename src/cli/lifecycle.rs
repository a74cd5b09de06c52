//! The model lifecycle: register, promote, demote, rollback, alias, tag,
//! describe, deprecate, archive, approve. Each turns its flags into an
//! [`Action`], and [`execute`] makes it one commit with its tags, or nothing.

use super::{CliError, CliResult, CommitArgs, Ctx};
use crate::lifecycle::{self, Action, Actor, ArtifactInput, Plan, PlanError};
use crate::output::{Format, write_json};
use crate::policy::ApprovalTarget;
use crate::workspace::{self, CommitMessage, Prepared};
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent register churn --artifact model.pkl --run churn/adam-lr2
  regent register churn --artifact s3://models/churn/7.pkl --digest \"sha256:$DIGEST\"
  regent register churn --run churn/adam-lr2 --run-artifact model.pkl")]
pub struct RegisterArgs {
    /// The model (created on its first registration).
    pub model: String,
    /// The artifact: a local file or folder (uploaded to the artifact store), or a URI.
    ///
    /// A URI (`s3://…`, `gs://…`, `runs:/…`) is kept as given, verified with --digest or
    /// recorded as unverified. With --keep-local a local path is recorded where it is.
    #[arg(
        long,
        value_name = "PATH_OR_URI",
        required_unless_present = "run_artifact"
    )]
    pub artifact: Option<String>,
    /// The artifact of --run with this name, recorded as the run stored it.
    ///
    /// NAME is the name `artifact get EXPERIMENT/RUN:NAME` takes: its URI, digest, size and
    /// kind are copied into the version, and nothing is hashed or uploaded again.
    #[arg(long, value_name = "NAME", requires = "run", conflicts_with_all = ["artifact", "digest", "keep_local"])]
    pub run_artifact: Option<String>,
    /// The digest of a URI artifact: `sha256:` and 64 hex digits.
    ///
    /// Without it a URI is recorded as unverified (`verified: false`).
    #[arg(long, value_name = "sha256:HEX")]
    pub digest: Option<String>,
    /// Record a local artifact where it is (hashed, relative to the registry) instead of storing it.
    #[arg(long)]
    pub keep_local: bool,
    /// The run it came from; its metrics and params are frozen into the version.
    #[arg(long, value_name = "EXPERIMENT/RUN")]
    pub run: Option<String>,
    /// The version's description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// A tag of the version, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "K=V", value_parser = crate::runs::key_value)]
    pub tags: Vec<(String, String)>,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent promote churn v3 --to staging
  regent promote churn 3 --to production --pr")]
pub struct PromoteArgs {
    /// The model.
    pub model: String,
    /// The version: `3` or `v3`.
    #[arg(id = "VERSION", value_parser = crate::names::parse_version)]
    pub version: u64,
    /// The stage to move the version to.
    #[arg(long, value_name = "STAGE")]
    pub to: String,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent demote churn --from staging")]
pub struct DemoteArgs {
    /// The model.
    pub model: String,
    /// The stage to empty.
    #[arg(long, value_name = "STAGE")]
    pub from: String,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent rollback churn --stage production
  regent rollback churn --stage production --to 1")]
pub struct RollbackArgs {
    /// The model.
    pub model: String,
    /// The stage to move back.
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// The version to go back to, `3` or `v3` (default: the stage's previous one).
    #[arg(long, value_name = "VERSION", value_parser = crate::names::parse_version)]
    pub to: Option<u64>,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum AliasCommand {
    /// Point an alias at a version.
    #[command(after_long_help = "Examples:
  regent alias set churn champion 3")]
    Set {
        /// The model.
        model: String,
        /// The alias, such as `champion` (created if new, moved if it exists).
        alias: String,
        /// The version: `3` or `v3`.
        #[arg(id = "VERSION", value_parser = crate::names::parse_version)]
        version: u64,
        #[command(flatten)]
        pull_request: super::pull_request::PullRequestArgs,
        #[command(flatten)]
        commit: CommitArgs,
    },
    /// Remove an alias.
    #[command(after_long_help = "Examples:
  regent alias rm churn champion")]
    Rm {
        /// The model.
        model: String,
        /// The alias to remove.
        alias: String,
        #[command(flatten)]
        pull_request: super::pull_request::PullRequestArgs,
        #[command(flatten)]
        commit: CommitArgs,
    },
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent tag churn/3 reviewed=yes team=ml
  regent tag churn --rm team")]
pub struct TagArgs {
    /// MODEL, or MODEL/VERSION for a version (`churn/3` or `churn/v3`).
    pub target: String,
    /// Tags to set, KEY=VALUE.
    #[arg(value_name = "K=V", value_parser = crate::runs::key_value)]
    pub set: Vec<(String, String)>,
    /// The key of a tag to remove (repeatable).
    #[arg(long = "rm", value_name = "K")]
    pub remove: Vec<String>,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent describe churn/3 \"Adam, lr 0.01, November data\"
  regent describe churn ''")]
pub struct DescribeArgs {
    /// MODEL, or MODEL/VERSION for a version (`churn/3` or `churn/v3`).
    pub target: String,
    /// The description (empty to remove it).
    pub text: String,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent deprecate churn 2 --reason \"leaks the label\"")]
pub struct DeprecateArgs {
    /// The model.
    pub model: String,
    /// The version: `3` or `v3`.
    #[arg(id = "VERSION", value_parser = crate::names::parse_version)]
    pub version: u64,
    /// Why it is deprecated (shown by `show` and kept when it is archived).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent archive churn 2
  regent archive churn 1 --reason \"replaced by v3\"")]
pub struct ArchiveArgs {
    /// The model.
    pub model: String,
    /// The version: `3` or `v3`.
    #[arg(id = "VERSION", value_parser = crate::names::parse_version)]
    pub version: u64,
    /// Why it is archived (shown by `show`; without it, a deprecation's
    /// reason is kept).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["stage", "alias"])))]
#[command(after_long_help = "Examples:
  regent approve churn 3 --stage production
  regent approve churn 3 --alias champion")]
pub struct ApproveArgs {
    /// The model.
    pub model: String,
    /// The version: `3` or `v3`.
    #[arg(id = "VERSION", value_parser = crate::names::parse_version)]
    pub version: u64,
    /// The stage the approval is for.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// The protected alias the approval is for.
    #[arg(long, value_name = "ALIAS")]
    pub alias: Option<String>,
    #[command(flatten)]
    pub pull_request: super::pull_request::PullRequestArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
}

pub fn register(ctx: &Ctx, args: RegisterArgs) -> CliResult {
    crate::names::check(crate::names::NameKind::Model, &args.model)?;
    let artifact = artifact_input(ctx, &args)?;
    let action = Action::Register {
        model: args.model,
        artifact,
        run: args.run,
        description: args.description,
        tags: args.tags.into_iter().collect(),
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn promote(ctx: &Ctx, args: PromoteArgs) -> CliResult {
    let action = Action::Promote {
        model: args.model,
        version: args.version,
        stage: args.to,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn demote(ctx: &Ctx, args: DemoteArgs) -> CliResult {
    let action = Action::Demote {
        model: args.model,
        stage: args.from,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn rollback(ctx: &Ctx, args: RollbackArgs) -> CliResult {
    let action = Action::Rollback {
        model: args.model,
        stage: args.stage,
        to: args.to,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn alias(ctx: &Ctx, command: AliasCommand) -> CliResult {
    match command {
        AliasCommand::Set {
            model,
            alias,
            version,
            pull_request,
            commit,
        } => execute_or_open(
            ctx,
            Action::SetAlias {
                model,
                alias,
                version,
            },
            &pull_request,
            &commit,
        ),
        AliasCommand::Rm {
            model,
            alias,
            pull_request,
            commit,
        } => execute_or_open(
            ctx,
            Action::RemoveAlias { model, alias },
            &pull_request,
            &commit,
        ),
    }
}

pub fn tag(ctx: &Ctx, args: TagArgs) -> CliResult {
    if args.set.is_empty() && args.remove.is_empty() {
        return Err(CliError::error(
            "give tags to set (K=V) or to remove (--rm K)",
        ));
    }
    let (model, version) = super::show::parse_target(&args.target)?;
    let action = Action::Tag {
        model,
        version,
        set: args.set,
        remove: args.remove,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn describe(ctx: &Ctx, args: DescribeArgs) -> CliResult {
    let (model, version) = super::show::parse_target(&args.target)?;
    let action = Action::Describe {
        model,
        version,
        text: args.text,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn deprecate(ctx: &Ctx, args: DeprecateArgs) -> CliResult {
    let action = Action::Deprecate {
        model: args.model,
        version: args.version,
        reason: args.reason,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn archive(ctx: &Ctx, args: ArchiveArgs) -> CliResult {
    let action = Action::Archive {
        model: args.model,
        version: args.version,
        reason: args.reason,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

pub fn approve(ctx: &Ctx, args: ApproveArgs) -> CliResult {
    let target = match (args.stage, args.alias) {
        (Some(stage), _) => ApprovalTarget::Stage(stage),
        (None, Some(alias)) => ApprovalTarget::Alias(alias),
        (None, None) => return Err(CliError::error("give --stage STAGE or --alias ALIAS")),
    };
    let action = Action::Approve {
        model: args.model,
        version: args.version,
        target,
    };
    execute_or_open(ctx, action, &args.pull_request, &args.commit)
}

/// A URI as given (with `--digest` if known), or a local file or folder
/// uploaded (or kept local) now: once, outside any retry, and before
/// anything is committed.
fn artifact_input(ctx: &Ctx, args: &RegisterArgs) -> CliResult<ArtifactInput> {
    if let (Some(name), Some(run)) = (&args.run_artifact, &args.run) {
        return super::artifact::run_artifact_input(&ctx.open_registry()?, run, name);
    }
    let Some(artifact) = &args.artifact else {
        return Err(CliError::error(
            "give --artifact PATH_OR_URI or --run-artifact NAME",
        ));
    };
    let digest = args.digest.as_deref();
    if let Some(d) = digest
        && crate::artifacts::Digest::parse(d).is_none()
    {
        return Err(CliError::error(format!(
            "--digest {d:?} is not sha256:<64 lowercase hex digits>"
        )));
    }
    if crate::runs::is_uri(artifact) {
        return Ok(ArtifactInput {
            uri: artifact.clone(),
            name: None,
            digest: digest.map(str::to_owned),
            size: None,
            kind: None,
        });
    }
    let repo = ctx.open_registry()?;
    // A wrong --digest is refused after hashing, before any transfer.
    let recorded = super::artifact::record(
        ctx,
        &repo,
        &[(artifact.as_str(), None)],
        args.keep_local,
        digest.and_then(crate::artifacts::Digest::parse),
    )?;
    let r = recorded
        .into_iter()
        .next()
        .ok_or_else(|| CliError::error("no artifact was recorded"))?;
    Ok(ArtifactInput {
        uri: r.uri.or(r.local).unwrap_or_default(),
        name: r.name,
        digest: r.digest.map(|d| d.to_string()),
        size: r.size,
        kind: r.folder.then_some(crate::registry::ArtifactKind::Folder),
    })
}

/// The action as a pull request with `--pr`, else committed here.
fn execute_or_open(
    ctx: &Ctx,
    action: Action,
    pull_request: &super::pull_request::PullRequestArgs,
    commit_args: &CommitArgs,
) -> CliResult {
    if pull_request.pr {
        return super::pull_request::open(ctx, action, pull_request, commit_args);
    }
    execute(ctx, action, commit_args)
}

/// Plans and commits one action, pushing it with `--push`; on any refusal
/// or error nothing is written.
fn execute(ctx: &Ctx, action: Action, commit_args: &CommitArgs) -> CliResult {
    // Names first (the plan checks them again): a bad name is a usage error,
    // reported before who is acting is even asked.
    for (kind, name) in action.names() {
        crate::names::check(kind, name)?;
    }
    let repo = ctx.open_registry()?;
    if repo.workdir.is_none() {
        return Err(CliError::error(
            "regent changes the registry in a checkout, not in a bare repository",
        ));
    }
    // An approval is the committer's own act; every other event is the actor's.
    let (actor, authorship) = match &action {
        Action::Approve { .. } => ctx.approver(&repo)?,
        _ => {
            let actor = ctx.actor(&repo)?;
            let authorship = repo.authorship(&actor)?;
            (actor, authorship)
        }
    };
    // One writer at a time in this checkout, from before anything below
    // reads the registry until the event's files and index are written
    // (crate::lock); the guard lets go on every way out of this function.
    let mut lock = workspace::lock(&repo)?;
    // A command killed after its event became visible (the branch moved)
    // may have left the files, index or tags half-written: finish that
    // first, so the check below sees the registry as committed.
    for note in crate::recovery::finish_interrupted(&repo)? {
        ctx.warn(note);
    }
    // The files this event reads or writes: the policy and the model's folder
    // (and the run a registration freezes). Uncommitted changes elsewhere
    // cannot affect it, and checking only these keeps the check cheap in a
    // registry of thousands of files.
    let mut governed: Vec<String> = vec![
        repo.repo_path(crate::registry::Layout::CONFIG),
        repo.repo_path(&format!("models/{}", action.model())),
    ];
    if let Action::Register { run: Some(run), .. } = &action
        && let Some((experiment, name)) = run.split_once('/')
    {
        governed.push(repo.repo_path(&crate::registry::Layout::run(experiment, name)));
    }
    let dirty = repo.changed_paths(&governed)?;
    if !dirty.is_empty() {
        let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
        return Err(CliError::no(format!(
            "the registry has uncommitted changes: {}{}",
            shown.join(", "),
            if dirty.len() > 5 { ", …" } else { "" }
        ))
        .hint("commit or stash them first: regent builds each event on the committed registry"));
    }
    let push = commit_args
        .push
        .then(|| workspace::push_target(&repo))
        .transpose()?;
    let who = Actor {
        pull_request: false,
        name: &actor,
        now: crate::time::now(),
    };
    let result = workspace::apply(&repo, push.as_ref(), &authorship, &mut lock, &mut |base| {
        let plan = lifecycle::plan(&repo, base, &action, &who)?;
        let message = message_for(&repo, &plan, &actor, commit_args.message.as_deref())?;
        Ok::<_, PlanError>((
            Prepared {
                changes: plan.changes.clone(),
                tags: plan.tags.clone(),
                message,
            },
            plan,
        ))
    });
    drop(lock);
    let applied = result.map_err(plan_error)?;
    for warning in &applied.warnings {
        ctx.warn(warning);
    }
    let plan = applied.value;
    let short = &applied.commit.to_string()[..12];
    match ctx.format {
        Format::Json => {
            let mut event = plan.event.clone();
            event.actor = Some(actor.clone());
            event.commit = Some(applied.commit.to_string());
            event.via = crate::events::Via::Regent;
            // As `history` will say it: the commit's time.
            event.time = repo
                .repo
                .find_commit(applied.commit)
                .ok()
                .map(|c| crate::time::format(crate::history::commit_time(&c)));
            let checks: Vec<_> = plan
                .decision
                .iter()
                .flat_map(|d| d.checks.iter())
                .map(crate::policy::Check::to_json)
                .collect();
            let mut out = std::io::stdout().lock();
            write_json(
                &mut out,
                &serde_json::json!({"event": event, "commit": applied.commit.to_string(), "tags": plan.tags, "pushed": push.is_some(), "checks": checks}),
            )?;
            out.flush()?;
        }
        Format::Human => {
            if plan.event.event == crate::events::EventKind::Register {
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "{}/{}",
                    plan.event.model.as_deref().unwrap_or_default(),
                    plan.event.version.unwrap_or_default()
                )?;
                out.flush()?;
            }
            let tags = if plan.tags.is_empty() {
                String::new()
            } else {
                format!(", tag {}", plan.tags.join(", "))
            };
            let pushed = push
                .as_ref()
                .map(|p| format!(", pushed to {}", p.remote))
                .unwrap_or_default();
            ctx.info(format!(
                "{} (commit {short}{tags}{pushed})",
                capitalized(&plan.event.describe())
            ));
        }
    }
    Ok(())
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

pub(super) fn message_for(
    repo: &crate::git::Repo,
    plan: &Plan,
    actor: &str,
    user: Option<&str>,
) -> Result<CommitMessage, PlanError> {
    let summary = plan.event.describe();
    let version = plan.event.version.map(|v| v.to_string());
    let mut fields = vec![("summary", summary.as_str())];
    if let Some(model) = plan.event.model.as_deref() {
        fields.push(("model", model));
    }
    if let Some(v) = version.as_deref() {
        fields.push(("version", v));
    }
    if let Some(stage) = plan.event.stage.as_deref() {
        fields.push(("stage", stage));
    }
    if let Some(alias) = plan.event.alias.as_deref() {
        fields.push(("alias", alias));
    }
    let subject = super::commit_subject(repo, plan.event.event.as_str(), &fields)
        .map_err(|e| PlanError::Invalid(e.message().to_owned()))?;
    let mut message = CommitMessage::new(subject).with_user_message(user);
    message.trailers = plan.event.trailers(actor);
    Ok(message)
}

/// A plan error as a CLI error: a refusal lists every failing rule (exit 1).
pub(super) fn plan_error(error: PlanError) -> CliError {
    match error {
        PlanError::Refused { event, decision } => {
            let mut e = CliError::no(format!("{} refused", event.describe())).with_json(
                serde_json::json!({
                    "event": event,
                    "checks": decision.checks.iter().map(crate::policy::Check::to_json).collect::<Vec<_>>(),
                }),
            );
            for check in decision.failures() {
                e = e.detail(format!("✗ {}", check.message));
            }
            if decision
                .failures()
                .any(|c| c.rule == crate::policy::Rule::Direct)
            {
                e = e.hint("open a pull request for this stage (regent promote … --pr)");
            }
            e
        }
        PlanError::No(message) => CliError::no(message),
        PlanError::Invalid(message) => CliError::error(message),
        PlanError::Files(diagnostics) => {
            CliError::bad_files("the registry has invalid files", diagnostics)
                .hint("`regent validate` lists every problem")
        }
        PlanError::Git(e) => e.into(),
    }
}
