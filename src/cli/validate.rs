//! `regent validate [PATH…] [--rev REV]`: every problem in one pass, as
//! `file:line:column: message`, JSON, or GitHub annotations.

use super::{CliError, CliResult, Ctx};
use crate::output::{Format, annotation, in_github_actions, write_json};
use crate::snapshot::Snapshot;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent validate
  regent validate models/churn --rev origin/main")]
pub struct ValidateArgs {
    /// Report only problems in these files or folders (the whole registry is still read).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Validate this revision (a commit, branch or tag) instead of the working tree, without
    /// checking it out.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
}

pub fn run(ctx: &Ctx, args: ValidateArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let filters = args
        .paths
        .iter()
        .map(|p| repo_relative(ctx, &repo, p))
        .collect::<CliResult<Vec<String>>>()?;
    let snapshot = match (&args.rev, repo.workdir.is_some()) {
        (Some(rev), _) => Snapshot::at_rev(&repo, rev)?,
        (None, true) => Snapshot::work_tree(&repo)?,
        (None, false) => Snapshot::at_rev(&repo, "HEAD")?,
    };
    let mut diagnostics = crate::validate::validate(&snapshot)?;
    if !filters.is_empty() {
        diagnostics.retain(|d| {
            filters
                .iter()
                .any(|f| f.is_empty() || d.file == *f || d.file.starts_with(&format!("{f}/")))
        });
    }

    // The verdict (the exit code) must survive a closed pipe: `regent
    // validate | head -1` under `pipefail` must still fail on an invalid registry.
    if let Err(e) = print(ctx, &diagnostics)
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    if diagnostics.is_empty() {
        ctx.info("The registry is valid.");
        Ok(())
    } else {
        let files = diagnostics
            .iter()
            .map(|d| d.file.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        Err(CliError::no(format!(
            "{} problem{} in {files} file{}",
            diagnostics.len(),
            if diagnostics.len() == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" },
        ))
        .verdict_printed())
    }
}

/// Prints the diagnostics, and under GitHub Actions their annotations: on
/// stdout, where the runner reads workflow commands, except with `--json`,
/// where stdout must stay one JSON document and they go to stderr (which the
/// runner reads too).
fn print(ctx: &Ctx, diagnostics: &[crate::diagnostic::Diagnostic]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({"ok": diagnostics.is_empty(), "errors": diagnostics}),
        )?,
        Format::Human => {
            for d in diagnostics {
                writeln!(out, "{d}")?;
            }
        }
    }
    if in_github_actions() {
        let mut stderr = std::io::stderr().lock();
        let sink: &mut dyn Write = if ctx.format == Format::Json {
            &mut stderr
        } else {
            &mut out
        };
        for d in diagnostics {
            writeln!(
                sink,
                "{}",
                annotation("error", &d.file, d.line, d.column, &d.message)
            )?;
        }
    }
    out.flush()
}

/// A PATH argument as a repository-relative path inside the registry.
fn repo_relative(ctx: &Ctx, repo: &crate::git::Repo, path: &Path) -> CliResult<String> {
    let registry = repo.registry_dir()?;
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        ctx.dir.join(path)
    };
    // Resolve `..` without requiring the file to exist (it may be reported missing).
    let absolute = normalize(
        &std::fs::canonicalize(&ctx.dir)
            .unwrap_or(ctx.dir.clone())
            .join(absolute.strip_prefix(&ctx.dir).unwrap_or(&absolute)),
    );
    let inside = absolute.strip_prefix(&registry).map_err(|_| {
        CliError::error(format!("{} is not inside the registry", path.display()))
            .hint(format!("the registry is {}", registry.display()))
    })?;
    let rel = inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    Ok(if rel.is_empty() {
        repo.prefix.clone()
    } else {
        repo.repo_path(&rel)
    })
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
