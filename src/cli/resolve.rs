//! `regent resolve URI`: a model URI to the artifact it names, at any
//! revision or time, so `$(regent resolve models:/churn/production)` works.

use super::{CliError, CliResult, Ctx};
use crate::git::Repo;
use crate::names::{self, NameKind};
use crate::output::{Format, write_json};
use crate::registry::{Layout, VersionFile, VersionStatus};
use crate::snapshot::Snapshot;
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent resolve models:/churn/production
  regent resolve models:/churn@champion --download models/
  regent resolve models:/churn/production --at 2026-11-20T10:00:00Z --json")]
pub struct ResolveArgs {
    /// models:/MODEL/VERSION, models:/MODEL/STAGE, models:/MODEL/latest or models:/MODEL@ALIAS.
    ///
    /// VERSION is `3` or `v3`; `latest` is the highest active (not deprecated or archived)
    /// version.
    pub uri: String,
    /// Resolve at this revision (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Resolve as the branch was at this time: RFC 3339, a date, `3 days ago`.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub at: Option<jiff::Timestamp>,
    /// Also download the artifact into DIR (as DIR/NAME), verifying every digest; print its path.
    #[arg(long, value_name = "DIR")]
    pub download: Option<std::path::PathBuf>,
    /// With --download: accept an artifact recorded without a digest, unverified.
    #[arg(long, requires = "download")]
    pub no_verify: bool,
}

/// What a model URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Version(u64),
    Stage(String),
    Alias(String),
    Latest,
}

/// Parses `models:/m/3`, `models:/m/production`, `models:/m/latest`, `models:/m@champion`.
pub fn parse_uri(uri: &str) -> Result<(String, Reference), String> {
    let rest = uri
        .strip_prefix("models:/")
        .ok_or_else(|| format!("{uri:?} is not a model URI; use models:/MODEL/VERSION, models:/MODEL/STAGE or models:/MODEL@ALIAS"))?;
    let (model, reference) = if let Some((model, alias)) = rest.split_once('@') {
        names::check(NameKind::Alias, alias).map_err(|e| e.to_string())?;
        (model, Reference::Alias(alias.to_owned()))
    } else if let Some((model, part)) = rest.split_once('/') {
        let reference = if part == "latest" {
            Reference::Latest
        } else if part
            .trim_start_matches(['-', '+'])
            .starts_with(|c: char| c.is_ascii_digit())
            || names::looks_like_version(part)
        {
            // No stage name starts like this (a stage may not be called
            // `v3`), so it was meant as a version: negative, fractional or
            // past 64 bits gets the version rule, not the stage rule.
            Reference::Version(names::parse_version(part)?)
        } else {
            names::check(NameKind::Stage, part).map_err(|e| e.to_string())?;
            Reference::Stage(part.to_owned())
        };
        (model, reference)
    } else {
        return Err(format!(
            "{uri:?} names no version: add /VERSION, /STAGE, /latest or @ALIAS"
        ));
    };
    names::check(NameKind::Model, model).map_err(|e| e.to_string())?;
    Ok((model.to_owned(), reference))
}

/// A model URI resolved: the version it names and where it was read.
pub(super) struct Resolved {
    pub model: String,
    pub version: u64,
    pub stage: Option<String>,
    pub alias: Option<String>,
    pub file: VersionFile,
    pub commit: Option<git2::Oid>,
}

/// Resolves a model URI at `rev` (or as the branch was at `at`); exit 1
/// with the reason when it names nothing.
pub(super) fn resolve(
    repo: &Repo,
    uri: &str,
    rev: &str,
    at: Option<jiff::Timestamp>,
) -> CliResult<Resolved> {
    let (model, reference) = parse_uri(uri).map_err(CliError::error)?;
    let rev = match at {
        Some(at) => crate::history::commit_at(repo, rev, at)?.to_string(),
        None => rev.to_owned(),
    };
    let snapshot = Snapshot::at_rev(repo, &rev)?;
    let nothing = |why: String| CliError::no(format!("{uri} resolves to nothing: {why}"));
    if !snapshot.exists(&Layout::model(&model)) {
        let known = snapshot.model_names()?;
        let error = nothing(format!("there is no model {model}"));
        return Err(
            match crate::suggest::did_you_mean(&model, known.iter().map(String::as_str)) {
                Some(suggestion) => error.hint(suggestion),
                None => error,
            },
        );
    }
    let file = snapshot
        .model(&model)
        .map_err(|d| CliError::bad_files(format!("model {model} is invalid"), d))?
        .value;
    let numbers = snapshot.version_numbers(&model)?;
    let (version, stage, alias) = match &reference {
        Reference::Version(n) => (Some(*n).filter(|n| numbers.contains(n)), None, None),
        Reference::Stage(s) => (file.stages.get(s).copied(), Some(s.clone()), None),
        Reference::Alias(a) => (file.aliases.get(a).copied(), None, Some(a.clone())),
        Reference::Latest => {
            let mut latest = None;
            for n in numbers.iter().rev() {
                let v = snapshot
                    .version(&model, *n)
                    .map_err(|d| CliError::bad_files("invalid version", d))?;
                if v.value.status == VersionStatus::Active {
                    latest = Some(*n);
                    break;
                }
            }
            (latest, None, None)
        }
    };
    let version = version.ok_or_else(|| match &reference {
        Reference::Version(n) => nothing(format!("{model} has no version {n}")),
        Reference::Stage(s) => {
            let error = nothing(format!("no version of {model} is in {s}"));
            match snapshot.config().ok().and_then(|config| {
                let declared = config
                    .value
                    .stages
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>();
                (!declared.contains(s))
                    .then(|| crate::suggest::did_you_mean(s, declared.iter().map(String::as_str)))
                    .flatten()
            }) {
                Some(suggestion) => error
                    .cause(format!("{s} is not a declared stage"))
                    .hint(suggestion),
                None => error,
            }
        }
        Reference::Alias(a) => {
            let error = nothing(format!("{model} has no alias {a}"));
            match crate::suggest::did_you_mean(a, file.aliases.keys().map(String::as_str)) {
                Some(suggestion) => error.hint(suggestion),
                None => error,
            }
        }
        Reference::Latest => nothing(format!("{model} has no active version")),
    })?;
    let v = snapshot
        .version(&model, version)
        .map_err(|d| CliError::bad_files(format!("{model} v{version} is invalid"), d))?
        .value;
    Ok(Resolved {
        model,
        version,
        stage,
        alias,
        file: v,
        commit: snapshot.commit,
    })
}

pub fn run(ctx: &Ctx, args: ResolveArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let resolved = resolve(&repo, &args.uri, &args.rev, args.at)?;
    let Resolved {
        model,
        version,
        stage,
        alias,
        file: v,
        commit,
    } = resolved;
    // Fetched before anything is printed: a failed download prints no URI
    // a script could mistake for success.
    let downloaded = match &args.download {
        Some(dir) => {
            let what = super::artifact::version_fetch(&repo, &v.artifact, args.no_verify)?;
            let dest = ctx
                .dir
                .join(dir)
                .join(super::artifact::version_name(&v.artifact));
            let fetched = super::artifact::fetch(ctx, &what, &dest)?;
            Some(fetched.path)
        }
        None => None,
    };
    let path = downloaded.as_ref().map(|p| p.display().to_string());
    crate::output::github_outputs(&[
        ("model", model.clone()),
        ("version", version.to_string()),
        ("stage", stage.clone().unwrap_or_default()),
        ("alias", alias.clone().unwrap_or_default()),
        ("uri", v.artifact.uri.clone()),
        ("digest", v.artifact.digest.clone().unwrap_or_default()),
        ("path", path.clone().unwrap_or_default()),
    ])?;
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({
                "model": model,
                "version": version,
                "stage": stage,
                "alias": alias,
                "artifact": {"uri": v.artifact.uri, "digest": v.artifact.digest},
                "commit": commit.map(|c| c.to_string()),
                "path": path,
            }),
        )?,
        Format::Human => match &path {
            Some(path) => writeln!(out, "{path}")?,
            None => writeln!(out, "{}", v.artifact.uri)?,
        },
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_model_uris() {
        assert_eq!(
            parse_uri("models:/churn/3"),
            Ok(("churn".into(), Reference::Version(3)))
        );
        assert_eq!(
            parse_uri("models:/churn/production"),
            Ok(("churn".into(), Reference::Stage("production".into())))
        );
        assert_eq!(
            parse_uri("models:/churn@champion"),
            Ok(("churn".into(), Reference::Alias("champion".into())))
        );
        assert_eq!(
            parse_uri("models:/churn/latest"),
            Ok(("churn".into(), Reference::Latest))
        );
        for bad in [
            "churn/3",
            "models:/churn",
            "models:/../x/1",
            "models:/churn/0",
            "models:/churn@Champ",
            "models:/churn/Prod",
        ] {
            assert!(parse_uri(bad).is_err(), "{bad}");
        }
    }
}
