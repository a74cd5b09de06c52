//! `regent artifact get SOURCE DEST`, and what `run log`, `register` and
//! `resolve --download` share with it: the store root in force, recording
//! `--artifact` arguments, and turning a recorded artifact into a verified
//! download.

use super::{CliError, CliResult, Ctx};
use crate::artifacts::download::{self, Fetch, Fetched};
use crate::artifacts::record::{self, Recorded};
use crate::artifacts::{Digest, store};
use crate::git::Repo;
use crate::output::{Format, write_json};
use crate::registry::{ArtifactKind, RunArtifact, VersionArtifact};
use crate::snapshot::Snapshot;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum ArtifactCommand {
    /// Download an artifact and verify every digest; nothing is left at DEST on a mismatch.
    #[command(after_long_help = "Examples:
  regent artifact get models:/churn/production model.pkl
  regent artifact get churn/adam-lr2:model.pkl model.pkl
  regent artifact get churn/adam-lr2:mlflow-model/MLmodel MLmodel")]
    Get(GetArgs),
}

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// What to get: a models:/ URI, a run's artifact, or a store URI.
    ///
    /// models:/MODEL/VERSION|STAGE|latest or models:/MODEL@ALIAS; EXPERIMENT/RUN[:NAME[/PATH]]
    /// (a run's artifact by name, or a file inside a folder artifact); or a store URI
    /// (s3://…, gs://…, az://…, file://…).
    pub source: String,
    /// Where to put it (must not exist): a file, or a folder for a folder artifact.
    pub dest: PathBuf,
    /// Read runs and versions at this revision (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// A store URI names a folder's manifest: fetch the whole folder.
    #[arg(long)]
    pub folder: bool,
    /// Accept an artifact without a digest to check (recorded `verified: false`, or a URI
    /// outside regent's content-addressed layout), unverified.
    #[arg(long)]
    pub no_verify: bool,
}

pub fn run(ctx: &Ctx, command: ArtifactCommand) -> CliResult {
    match command {
        ArtifactCommand::Get(args) => get(ctx, args),
    }
}

fn get(ctx: &Ctx, args: GetArgs) -> CliResult {
    let (what, shown) = if args.source.starts_with("models:/") {
        let repo = ctx.open_registry()?;
        let resolved = super::resolve::resolve(&repo, &args.source, &args.rev, None)?;
        let what = version_fetch(&repo, &resolved.file.artifact, args.no_verify)?;
        (what, resolved.file.artifact.uri)
    } else if crate::runs::is_uri(&args.source) {
        (
            uri_fetch(&args.source, args.folder, args.no_verify)?,
            args.source.clone(),
        )
    } else {
        let repo = ctx.open_registry()?;
        run_fetch(&repo, &args)?
    };
    let dest = ctx.dir.join(&args.dest);
    let fetched = fetch(ctx, &what, &dest)?;
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({
                "source": args.source,
                "uri": shown,
                "path": fetched.path.display().to_string(),
                "files": fetched.files,
                "size": fetched.size,
            }),
        )?,
        Format::Human => writeln!(out, "{}", fetched.path.display())?,
    }
    out.flush()?;
    Ok(())
}

/// Downloads and verifies, saying what was written.
pub(super) fn fetch(ctx: &Ctx, what: &Fetch, dest: &std::path::Path) -> CliResult<Fetched> {
    let fetched = download::get(what, dest)?;
    let verified = match what {
        Fetch::Object { digest: None, .. } => "not verified: --no-verify",
        _ => "verified",
    };
    ctx.info(format!(
        "Wrote {} ({} file{}, {} bytes, {verified})",
        fetched.path.display(),
        fetched.files,
        if fetched.files == 1 { "" } else { "s" },
        fetched.size
    ));
    Ok(fetched)
}

/// A store URI given on the command line: verified against the digest its
/// content-addressed name promises.
fn uri_fetch(uri: &str, folder: bool, no_verify: bool) -> CliResult<Fetch> {
    let named = store::split_content_uri(uri).map(|(_, digest)| digest);
    if folder {
        return Ok(Fetch::Folder {
            manifest_uri: uri.to_owned(),
            digest: named,
            only: None,
        });
    }
    if named.is_none() && !no_verify {
        return Err(CliError::no(format!(
            "{uri} has no digest to verify against: its name is not in regent's \
             content-addressed layout (<root>/sha256/<2 hex>/<hex>)"
        ))
        .hint("pass --no-verify to download it unverified"));
    }
    Ok(Fetch::Object {
        uri: uri.to_owned(),
        digest: named,
    })
}

/// A version's artifact as a download.
pub(super) fn version_fetch(
    repo: &Repo,
    artifact: &VersionArtifact,
    no_verify: bool,
) -> CliResult<Fetch> {
    recorded_fetch(
        repo,
        &Recording {
            uri: Some(&artifact.uri),
            local: (!crate::runs::is_uri(&artifact.uri)).then_some(artifact.uri.as_str()),
            digest: artifact.digest.as_deref(),
            unverified: artifact.verified == Some(false),
            folder: artifact.kind == Some(ArtifactKind::Folder),
            shown: &artifact.uri,
        },
        None,
        no_verify,
    )
}

/// The name a version's artifact is saved under by `resolve --download`:
/// the recorded name, else the last part of its URI or path.
pub(super) fn version_name(artifact: &VersionArtifact) -> String {
    artifact
        .name
        .clone()
        .unwrap_or_else(|| last_part(&artifact.uri))
}

fn last_part(text: &str) -> String {
    text.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .unwrap_or("artifact")
        .to_owned()
}

/// What a run or version recorded about one artifact.
struct Recording<'a> {
    uri: Option<&'a str>,
    /// A path relative to the registry folder (kept local).
    local: Option<&'a str>,
    digest: Option<&'a str>,
    unverified: bool,
    folder: bool,
    shown: &'a str,
}

fn recorded_fetch(
    repo: &Repo,
    r: &Recording<'_>,
    only: Option<String>,
    no_verify: bool,
) -> CliResult<Fetch> {
    let digest = match r.digest {
        Some(text) => Some(Digest::parse(text).ok_or_else(|| {
            CliError::error(format!(
                "{}: recorded digest {text:?} is not sha256:<hex>",
                r.shown
            ))
        })?),
        None => None,
    };
    if (digest.is_none() || r.unverified) && !no_verify {
        return Err(CliError::no(format!(
            "{} was recorded without a digest (verified: false), so what is downloaded could \
             not be checked",
            r.shown
        ))
        .hint("pass --no-verify to download it unverified"));
    }
    if !r.folder && only.is_some() {
        return Err(CliError::error(format!(
            "{} is a file; NAME/PATH selects a file inside a folder artifact",
            r.shown
        )));
    }
    if let Some(path) = r.local {
        let dir = repo.registry_dir().map_err(|_| {
            CliError::error(format!(
                "{} is kept local (not in a store): it is read from a checkout, and this \
                 repository has no working tree",
                r.shown
            ))
        })?;
        // `../data/model` from a registry in a subfolder: a plain path for URIs.
        let full = store::lexical_absolute(&dir.join(path));
        return Ok(if r.folder {
            Fetch::LocalFolder {
                dir: full,
                digest,
                only,
            }
        } else {
            let uri = url::Url::from_file_path(&full)
                .map_err(|()| CliError::error(format!("{}: not a usable path", full.display())))?;
            Fetch::Object {
                uri: uri.to_string(),
                digest,
            }
        });
    }
    let uri = r.uri.unwrap_or_default().to_owned();
    Ok(if r.folder {
        Fetch::Folder {
            manifest_uri: uri,
            digest,
            only,
        }
    } else {
        Fetch::Object { uri, digest }
    })
}

/// `EXPERIMENT/RUN[:NAME[/PATH]]`: a run's artifact by its recorded name.
fn run_fetch(repo: &Repo, args: &GetArgs) -> CliResult<(Fetch, String)> {
    let (id, wanted) = match args.source.split_once(':') {
        Some((id, path)) => (id, Some(path.trim_matches('/'))),
        None => (args.source.as_str(), None),
    };
    let snapshot = Snapshot::at_rev(repo, &args.rev)?;
    let run = super::run::load_run(&snapshot, id)?;
    let names: Vec<String> = run.artifacts.iter().map(artifact_name).collect();
    let listed = || {
        if names.is_empty() {
            "it has no artifacts".to_owned()
        } else {
            format!("its artifacts: {}", names.join(", "))
        }
    };
    let (index, only) = match wanted {
        None if run.artifacts.len() == 1 => (0, None),
        None => {
            return Err(CliError::error(format!(
                "run {id} has {} artifacts; name one as {id}:NAME ({})",
                run.artifacts.len(),
                listed()
            )));
        }
        Some(path) => {
            // The artifact itself, else a file inside a folder artifact.
            let exact = names.iter().position(|n| n == path);
            let inside = || {
                names.iter().enumerate().find_map(|(i, n)| {
                    let rest = path.strip_prefix(n.as_str())?.strip_prefix('/')?;
                    (run.artifacts[i].kind == Some(ArtifactKind::Folder))
                        .then(|| (i, Some(rest.to_owned())))
                })
            };
            match exact.map(|i| (i, None)).or_else(inside) {
                Some(found) => found,
                None => {
                    return Err(CliError::no(format!(
                        "run {id} has no artifact {path:?} ({})",
                        listed()
                    )));
                }
            }
        }
    };
    let artifact = &run.artifacts[index];
    let shown = format!("{id}:{}", names[index]);
    let what = recorded_fetch(
        repo,
        &Recording {
            uri: artifact.uri.as_deref(),
            local: artifact
                .uri
                .is_none()
                .then_some(artifact.path.as_deref())
                .flatten(),
            digest: artifact.digest.as_deref(),
            unverified: false,
            folder: artifact.kind == Some(ArtifactKind::Folder),
            shown: &shown,
        },
        only,
        args.no_verify,
    )?;
    Ok((what, artifact.uri.clone().unwrap_or(shown)))
}

/// `register --run EXPERIMENT/RUN --run-artifact NAME`: the run's artifact
/// of that name (found as `artifact get EXPERIMENT/RUN:NAME` finds it), as
/// it was recorded. Nothing is uploaded or hashed again: the run's record is
/// the digest, so a model folder an MLflow run stored is registered as that
/// same folder.
pub(super) fn run_artifact_input(
    repo: &Repo,
    run_id: &str,
    name: &str,
) -> CliResult<crate::lifecycle::ArtifactInput> {
    let run = super::run::load_run(&Snapshot::at_rev(repo, "HEAD")?, run_id)?;
    let Some(artifact) = run.artifacts.iter().find(|a| artifact_name(a) == name) else {
        let names: Vec<String> = run.artifacts.iter().map(artifact_name).collect();
        return Err(CliError::no(format!(
            "run {run_id} has no artifact {name:?} ({})",
            if names.is_empty() {
                "it has no artifacts".to_owned()
            } else {
                format!("its artifacts: {}", names.join(", "))
            }
        )));
    };
    let uri = artifact.uri.clone().or_else(|| artifact.path.clone());
    Ok(crate::lifecycle::ArtifactInput {
        uri: uri.unwrap_or_default(),
        name: Some(name.to_owned()),
        digest: artifact.digest.clone(),
        size: artifact.size,
        kind: artifact.kind,
    })
}

/// How `artifact get` names a run's artifact: its recorded name (`path`),
/// the base name of a path kept local, or the last part of a bare URI.
fn artifact_name(artifact: &RunArtifact) -> String {
    match (&artifact.path, &artifact.uri) {
        (Some(name), Some(_)) => name.clone(),
        (Some(path), None) => last_part(path),
        (None, Some(uri)) => last_part(uri),
        (None, None) => "artifact".into(),
    }
}

/// The store root in force: REGENT_ARTIFACT_ROOT, else `regent.yaml`'s
/// `artifacts.root` (read from the working tree: the configuration the
/// user is about to commit with).
fn store_root(ctx: &Ctx, repo: &Repo) -> CliResult<Option<String>> {
    let env = std::env::var(store::ROOT_ENV).ok();
    let registry_dir = repo.registry_dir()?;
    let config_root = if env.as_deref().is_some_and(|r| !r.trim().is_empty()) {
        None
    } else {
        Snapshot::work_tree(repo)?
            .config()
            .map_err(|d| CliError::bad_files("regent.yaml is invalid", d))?
            .value
            .artifacts
            .map(|a| a.root)
    };
    Ok(store::root_uri(
        env.as_deref(),
        config_root.as_deref(),
        &registry_dir,
        &ctx.dir,
    )?)
}

/// Records `--artifact` arguments (uploading local ones), before anything
/// is committed; says what was stored.
pub(super) fn record(
    ctx: &Ctx,
    repo: &Repo,
    args: &[(&str, Option<&str>)],
    keep_local: bool,
    expect: Option<Digest>,
) -> CliResult<Vec<Recorded>> {
    if args.is_empty() {
        return Ok(Vec::new());
    }
    let any_local = args.iter().any(|(a, _)| !crate::runs::is_uri(a));
    let root = if any_local && !keep_local {
        store_root(ctx, repo)?
    } else {
        None
    };
    let registry_dir = repo.registry_dir()?;
    let workdir = repo.workdir.clone().unwrap_or_else(|| registry_dir.clone());
    let context = record::Context {
        cwd: &ctx.dir,
        registry_dir: &registry_dir,
        workdir: &workdir,
        root,
        keep_local,
        expect,
    };
    let recorded = record::record_named(&context, args)?;
    for r in &recorded {
        let size = r.size.unwrap_or_default();
        match (&r.uri, &r.local) {
            (Some(uri), None) if r.name.is_some() => ctx.info(format!(
                "{} {} ({size} bytes) as {uri}",
                if r.uploaded {
                    "Stored"
                } else {
                    "Already stored:"
                },
                r.arg
            )),
            (None, Some(path)) => ctx.info(format!(
                "Kept {} local as {path} ({size} bytes, not in a store)",
                r.arg
            )),
            _ => {}
        }
    }
    Ok(recorded)
}

/// `run log --artifact …`: what the run file records.
pub(crate) fn for_run(
    ctx: &Ctx,
    repo: &Repo,
    args: &[String],
    keep_local: bool,
) -> CliResult<Vec<RunArtifact>> {
    let named: Vec<(&str, Option<&str>)> = args.iter().map(|a| (a.as_str(), None)).collect();
    for_run_named(ctx, repo, &named, keep_local)
}

/// [`for_run`], where an artifact may come with the name to record it under.
pub(crate) fn for_run_named(
    ctx: &Ctx,
    repo: &Repo,
    args: &[(&str, Option<&str>)],
    keep_local: bool,
) -> CliResult<Vec<RunArtifact>> {
    Ok(record(ctx, repo, args, keep_local, None)?
        .iter()
        .map(Recorded::run_artifact)
        .collect())
}

/// Whether an artifact store is configured (REGENT_ARTIFACT_ROOT or regent.yaml).
pub(crate) fn has_store(ctx: &Ctx, repo: &Repo) -> CliResult<bool> {
    Ok(store_root(ctx, repo)?.is_some())
}

/// Stores one file by content (a metric's full series), when a store is
/// configured; None when none is.
pub(crate) fn store_file(
    ctx: &Ctx,
    repo: &Repo,
    path: &std::path::Path,
) -> CliResult<Option<crate::artifacts::Stored>> {
    let Some(root) = store_root(ctx, repo)? else {
        return Ok(None);
    };
    let store = crate::artifacts::Store::open(&root)?;
    store.create_local_root()?;
    let (digest, size) = crate::artifacts::digest::file(path)?;
    let uploaded = store::block_on(crate::artifacts::upload::file(&store, path, &digest, size))??;
    Ok(Some(crate::artifacts::Stored {
        uri: store.uri(&store.content_key(&digest)),
        digest,
        size,
        folder: false,
        uploaded,
    }))
}
