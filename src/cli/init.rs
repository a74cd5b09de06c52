//! `regent init`: a new registry in the current folder, as one commit.

use super::{CliError, CliResult, CommitArgs, Ctx};
use crate::git::{Context, Repo};
use crate::names::{self, NameKind};
use crate::output::{Format, write_json};
use crate::registry::{Config, Layout, to_yaml};
use crate::workspace::{self, Change, CommitMessage};
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent init
  regent init registry/ --stages dev,staging,production")]
pub struct InitArgs {
    /// The registry's folder, created if missing (default: the current folder).
    // Not `dir`: that is the id of the global `-C DIR`, and clap would
    // merge the two.
    #[arg(value_name = "DIR")]
    pub folder: Option<std::path::PathBuf>,
    /// The stages in promotion order, comma-separated (lowercase names).
    #[arg(long, value_delimiter = ',', default_value = "staging,production")]
    pub stages: Vec<String>,
    #[command(flatten)]
    pub commit: CommitArgs,
}

pub fn run(ctx: &Ctx, args: InitArgs) -> CliResult {
    let stages = check_stages(&args.stages)?;
    let Some(dir) = &args.folder else {
        return init_in(ctx, &ctx.dir, &stages, &args.commit);
    };
    let target = ctx.dir.join(dir);
    let created = !target.exists();
    fs_err::create_dir_all(&target)
        .map_err(|e| CliError::error(format!("cannot create the registry's folder: {e}")))?;
    let result = init_in(ctx, &target, &stages, &args.commit);
    if result.is_err() && created {
        // Nothing was written into it: leave the tree as it was. (Fails,
        // harmlessly, if it is not empty.)
        let _ = std::fs::remove_dir(&target);
    }
    result
}

/// Files already in the registry's `models/` and `experiments/` folders
/// (besides `.gitkeep`): with no `regent.yaml`, regent wrote none of them
/// (a project's weights in `models/`), and the registry would mix with them.
fn foreign_files(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for folder in [Layout::MODELS, Layout::EXPERIMENTS] {
        let mut pending = vec![dir.join(folder)];
        while let Some(next) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&next) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    pending.push(path);
                } else if entry.file_name() != ".gitkeep" {
                    let shown = path.strip_prefix(dir).unwrap_or(&path);
                    found.push(shown.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    found.sort();
    found
}

fn init_in(
    ctx: &Ctx,
    target: &std::path::Path,
    stages: &[String],
    commit_args: &CommitArgs,
) -> CliResult {
    let stages = stages.to_vec();
    let mut repo = Repo::discover(target)?;
    if repo.workdir.is_none() {
        return Err(
            CliError::error("cannot create a registry in a bare repository")
                .hint("run `regent init` in a clone with a working tree"),
        );
    }
    // Two inits at once in one checkout: the second sees the first's registry.
    let lock = workspace::lock(&repo)?;
    if let Ok(existing) = Repo::open_registry(target) {
        let dir = existing.registry_dir()?;
        return Err(
            CliError::no(format!("{} is already a regent registry", dir.display()))
                .hint("use it as it is; a registry cannot contain another"),
        );
    }
    let dir = repo.set_registry_dir(target)?;
    let foreign = foreign_files(&dir);
    if !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(3).map(String::as_str).collect();
        return Err(CliError::no(format!(
            "{} already holds files regent did not write: {}{}",
            dir.display(),
            shown.join(", "),
            if foreign.len() > 3 { ", …" } else { "" }
        ))
        .cause("a registry keeps its models in models/ and its runs in experiments/")
        .hint("keep the registry in a folder of its own: `regent init registry/`"));
    }
    let actor = ctx.actor(&repo)?;
    let push = commit_args
        .push
        .then(|| workspace::push_target(&repo))
        .transpose()?;

    let config = Config::new(&stages);
    let mut yaml = to_yaml("regent", &config).map_err(|e| CliError::error(e.to_string()))?;
    yaml.push_str(&example_policy(&stages));
    let mut changes = vec![Change {
        path: Layout::CONFIG.into(),
        content: Some(yaml.into_bytes()),
    }];
    // Git does not track empty folders; a marker keeps them in the commit.
    for folder in [Layout::MODELS, Layout::EXPERIMENTS] {
        if !dir.join(folder).exists() {
            changes.push(Change {
                path: format!("{folder}/.gitkeep"),
                content: Some(Vec::new()),
            });
        }
    }
    let message = CommitMessage::new(super::commit_subject(&repo, "init", &[])?)
        .with_user_message(commit_args.message.as_deref())
        .trailer("Regent-Event", "init")
        .trailer("Regent-Actor", actor.clone());
    let authorship = repo.authorship(&actor)?;
    let commit = if repo.head_commit()?.is_none() {
        // The first commit of the branch: nothing to build on, locally or
        // (a new repository) on the remote.
        let commit = workspace::commit(&repo, &lock, &changes, &message, &authorship)?;
        drop(lock);
        if let Some(target) = &push {
            super::push(ctx, &repo, target, commit)?;
        }
        commit
    } else {
        // Like every other event: with --push built on the remote's head,
        // where someone may have created a registry meanwhile.
        let config_path = repo.repo_path(Layout::CONFIG);
        let mut lock = lock;
        let applied = workspace::apply(&repo, push.as_ref(), &authorship, &mut lock, &mut |base| {
            let tree = base
                .tree()
                .context(|| "reading the tree of the commit the registry is built on".into())?;
            if tree.get_path(std::path::Path::new(&config_path)).is_ok() {
                let on = push.as_ref().map_or("the branch", |t| t.remote.as_str());
                return Err(
                    CliError::no(format!("{on} already has a registry ({config_path})"))
                        .hint("bring it here with `git pull --ff-only` and use it as it is"),
                );
            }
            let prepared = workspace::Prepared {
                changes: changes.clone(),
                tags: Vec::new(),
                message: message.clone(),
            };
            Ok((prepared, ()))
        });
        drop(lock);
        let applied = applied?;
        for warning in &applied.warnings {
            ctx.warn(warning);
        }
        if let Some(target) = &push {
            ctx.info(format!("Pushed to {}", target.remote));
        }
        applied.commit
    };
    let shown = if repo.prefix.is_empty() {
        ".".to_owned()
    } else {
        repo.prefix.clone()
    };
    match ctx.format {
        Format::Json => {
            let mut out = std::io::stdout().lock();
            write_json(
                &mut out,
                &serde_json::json!({
                    "registry": shown,
                    "stages": stages,
                    "commit": commit.to_string(),
                }),
            )?;
            out.flush()?;
        }
        Format::Human => ctx.info(format!(
            "Created a registry in {} with stages {} (commit {})",
            dir.display(),
            stages.join(" → "),
            &commit.to_string()[..12]
        )),
    }
    Ok(())
}

/// A commented example of the policy, appended to a new `regent.yaml`: a new
/// user sees what can be said without opening the README. Comments only, so
/// the file means exactly the stages given. The example itself is valid (a
/// test uncomments it).
fn example_policy(stages: &[String]) -> String {
    let Some(last) = stages.last() else {
        return String::new();
    };
    let requires = match stages.len() {
        1 => String::new(),
        n => format!(
            "#   {:<30}# it must have held that stage first\n",
            format!("requires: [{}]", stages[n - 2])
        ),
    };
    format!(
        "\n\
# The policy, as strict as you need it (README: \"The policy\"). For example,
# to govern {last}, replace `- name: {last}` above with:
#
# - name: {last}
{requires}\
#   approvals: 1                  # one approval by someone listed in approvers
#   approvers: [alice, \"@acme/ml-leads\"]
#   direct: false                 # changed only through a pull request
#   gates:
#     - {{metric: accuracy, min: 0.9}}
#     - {{metric: accuracy, max_regression: 0.01}}
#
# aliases:                        # protected aliases; others are free
#   champion: {{approvals: 1, approvers: [alice]}}
# policy_owners: [alice]          # whose approval a change to this file needs
# artifacts:
#   root: s3://my-bucket/regent   # where a local --artifact is uploaded
"
    )
}

fn check_stages(stages: &[String]) -> CliResult<Vec<String>> {
    let stages: Vec<String> = stages
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if stages.is_empty() {
        return Err(CliError::error("--stages needs at least one stage"));
    }
    for (i, stage) in stages.iter().enumerate() {
        names::check(NameKind::Stage, stage)?;
        if stage == "none" {
            return Err(CliError::error(
                "`none` is implicit (registered, in no stage) and cannot be declared",
            ));
        }
        if stages[..i].contains(stage) {
            return Err(CliError::error(format!("stage `{stage}` is given twice")));
        }
    }
    Ok(stages)
}
