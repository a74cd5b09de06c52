//! From `--artifact` arguments to what a run or a version records.
//!
//! A URI (`s3://…`, `runs:/…`) is kept as given. A local path, taken
//! relative to the folder the command runs in, is never recorded relative to
//! it (that folder means nothing on another machine): it is uploaded to the
//! store and recorded as URI + digest + size under its base name, or, with
//! `keep_local`, hashed and recorded relative to the registry folder (it
//! must be inside the repository, where everyone's checkout has it).
//!
//! Every check that can fail on the input (missing paths, duplicate names,
//! symbolic links inside folders) runs before the first byte is uploaded.

use super::manifest::Manifest;
use super::{ArtifactError, Digest, Store, Stored, store, upload};
use crate::registry::{ArtifactKind, RunArtifact};
use std::path::{Path, PathBuf};

/// Where the command runs and what the user chose.
pub struct Context<'a> {
    /// The folder relative paths are taken from.
    pub cwd: &'a Path,
    /// The registry folder (paths kept local are recorded relative to it).
    pub registry_dir: &'a Path,
    /// The repository's working tree (paths kept local must be inside it).
    pub workdir: &'a Path,
    /// The store root in force ([`store::root_uri`]).
    pub root: Option<String>,
    pub keep_local: bool,
    /// The digest the user says the local artifacts have (`register
    /// --digest`): checked after hashing, before any transfer.
    pub expect: Option<Digest>,
}

/// One artifact argument, recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The argument as given (for messages).
    pub arg: String,
    /// The file or folder's base name (local paths only).
    pub name: Option<String>,
    /// Where it is: a store URI, or the URI as given.
    pub uri: Option<String>,
    /// Kept local: the path relative to the registry folder.
    pub local: Option<String>,
    pub digest: Option<Digest>,
    pub size: Option<u64>,
    pub folder: bool,
    /// Bytes were sent (false: already in the store, or not stored at all).
    pub uploaded: bool,
}

impl Recorded {
    /// The entry of a run file's `artifacts:`.
    pub fn run_artifact(&self) -> RunArtifact {
        RunArtifact {
            path: self.local.clone().or_else(|| self.name.clone()),
            uri: self.uri.clone(),
            digest: self.digest.as_ref().map(Digest::to_string),
            size: self.size,
            kind: self.folder.then_some(ArtifactKind::Folder),
            extensions: Default::default(),
        }
    }
}

/// A local argument, checked.
struct Local {
    arg: String,
    path: PathBuf,
    name: String,
    folder: bool,
}

/// Records every argument, uploading local ones; all or nothing as far as
/// input errors go (a store failing midway may leave some objects stored,
/// which are harmless: content-addressed and not recorded).
pub fn record(ctx: &Context<'_>, args: &[String]) -> Result<Vec<Recorded>, ArtifactError> {
    let named: Vec<(&str, Option<&str>)> = args.iter().map(|a| (a.as_str(), None)).collect();
    record_named(ctx, &named)
}

/// [`record`], where an argument may come with the name to record it under
/// instead of its base name (a `--batch` line's `{"path", "name"}`).
pub fn record_named(
    ctx: &Context<'_>,
    args: &[(&str, Option<&str>)],
) -> Result<Vec<Recorded>, ArtifactError> {
    let mut out: Vec<Option<Recorded>> = Vec::with_capacity(args.len());
    let mut locals: Vec<(usize, Local)> = Vec::new();
    // Every name given or taken so far, with its argument: names must differ.
    let mut names: Vec<(String, String)> = Vec::new();
    let mut claim = |name: &str, arg: &str| {
        if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
            return Err(ArtifactError::Invalid(format!(
                "artifacts {first} and {arg} are both named {name:?}; a run's artifacts are \
                 found by name, so rename one (or put both in one folder)"
            )));
        }
        names.push((name.to_owned(), arg.to_owned()));
        Ok(())
    };
    for (i, &(arg, name)) in args.iter().enumerate() {
        if let Some(name) = name {
            check_name(arg, name)?;
        }
        if crate::runs::is_uri(arg) {
            if let Some(name) = name {
                claim(name, arg)?;
            }
            out.push(Some(Recorded {
                arg: arg.to_owned(),
                name: name.map(str::to_owned),
                uri: Some(arg.to_owned()),
                local: None,
                digest: None,
                size: None,
                folder: false,
                uploaded: false,
            }));
            continue;
        }
        let mut local = check_local(ctx.cwd, arg)?;
        if let Some(name) = name {
            if ctx.keep_local {
                return Err(ArtifactError::Invalid(format!(
                    "artifact {arg}: a name is given, but an artifact kept local is recorded \
                     by its path; leave out the name or configure a store"
                )));
            }
            local.name = name.to_owned();
        }
        claim(&local.name, arg)?;
        out.push(None);
        locals.push((i, local));
    }
    if locals.is_empty() {
        return Ok(out.into_iter().flatten().collect());
    }
    // Hash everything (and refuse bad folders) before anything is sent.
    let mut hashed = Vec::with_capacity(locals.len());
    for (i, local) in locals {
        let content = if local.folder {
            Content::Folder(Manifest::scan(&local.path)?)
        } else {
            let (digest, size) = super::digest::file(&local.path)?;
            Content::File(digest, size)
        };
        if let Some(expected) = &ctx.expect {
            let (actual, _) = content.summary();
            if actual != *expected {
                return Err(ArtifactError::DigestDiffers {
                    arg: local.arg,
                    actual: actual.to_string(),
                    given: expected.to_string(),
                });
            }
        }
        hashed.push((i, local, content));
    }
    if ctx.keep_local {
        for (i, local, content) in hashed {
            let relative = registry_relative(ctx, &local)?;
            let (digest, size) = content.summary();
            out[i] = Some(Recorded {
                arg: local.arg,
                name: Some(local.name),
                uri: None,
                local: Some(relative),
                digest: Some(digest),
                size: Some(size),
                folder: local.folder,
                uploaded: false,
            });
        }
        return Ok(out.into_iter().flatten().collect());
    }
    let Some(root) = &ctx.root else {
        let first = &hashed[0].1.arg;
        return Err(ArtifactError::NoStore(format!("artifact {first}")));
    };
    let store = Store::open(root)?;
    store.create_local_root()?;
    let stored: Vec<Stored> = store::block_on(async {
        let mut stored = Vec::with_capacity(hashed.len());
        for (_, local, content) in &hashed {
            stored.push(match content {
                Content::File(digest, size) => {
                    let uploaded = upload::file(&store, &local.path, digest, *size).await?;
                    Stored {
                        uri: store.uri(&store.content_key(digest)),
                        digest: digest.clone(),
                        size: *size,
                        folder: false,
                        uploaded,
                    }
                }
                Content::Folder(manifest) => upload::folder(&store, &local.path, manifest).await?,
            });
        }
        Ok::<_, ArtifactError>(stored)
    })??;
    for ((i, local, _), stored) in hashed.into_iter().zip(stored) {
        out[i] = Some(Recorded {
            arg: local.arg,
            name: Some(local.name),
            uri: Some(stored.uri),
            local: None,
            digest: Some(stored.digest),
            size: Some(stored.size),
            folder: stored.folder,
            uploaded: stored.uploaded,
        });
    }
    Ok(out.into_iter().flatten().collect())
}

enum Content {
    File(Digest, u64),
    Folder(Manifest),
}

impl Content {
    fn summary(&self) -> (Digest, u64) {
        match self {
            Content::File(digest, size) => (digest.clone(), *size),
            Content::Folder(manifest) => (manifest.digest(), manifest.total_size()),
        }
    }
}

/// A local argument: it exists, is a file or a folder, and has a UTF-8 name.
fn check_local(cwd: &Path, arg: &str) -> Result<Local, ArtifactError> {
    // `cwd.join("")` is the current folder: an empty argument (an unset
    // shell variable, most likely) must not store everything here.
    if arg.trim().is_empty() {
        return Err(ArtifactError::Invalid(
            "an artifact path is empty; give a file, a folder or a URI".into(),
        ));
    }
    let path = cwd.join(arg);
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ArtifactError::Invalid(format!(
                "artifact {arg}: no such file or folder (a remote artifact needs a URI such as \
                 s3://bucket/key)"
            )));
        }
        Err(e) => return Err(ArtifactError::io(&path, e)),
    };
    if !meta.is_file() && !meta.is_dir() {
        return Err(ArtifactError::Invalid(format!(
            "artifact {arg} is not a regular file or a folder"
        )));
    }
    // The real path, so `.`, `..` and `dir/` have the name one sees.
    let real = fs_err::canonicalize(&path).map_err(|e| ArtifactError::io(&path, e))?;
    let name = real
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            ArtifactError::Invalid(format!(
                "artifact {arg}: its name is not UTF-8 (or it is `/`); rename it"
            ))
        })?
        .to_owned();
    Ok(Local {
        arg: arg.to_owned(),
        path: real,
        name,
        folder: meta.is_dir(),
    })
}

/// A name given for an artifact is one path component that `artifact get
/// RUN:NAME[/PATH]` can find: not empty, `.` or `..`, without `/`, `\\` or
/// control characters.
fn check_name(arg: &str, name: &str) -> Result<(), ArtifactError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 255
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        return Err(ArtifactError::Invalid(format!(
            "artifact {arg}: the name {name:?} is not a file name (1 to 255 bytes, not `.` or \
             `..`, without `/`, `\\` or control characters)"
        )));
    }
    Ok(())
}

/// `local`'s path relative to the registry folder, `/`-separated; refused
/// outside the repository.
fn registry_relative(ctx: &Context<'_>, local: &Local) -> Result<String, ArtifactError> {
    let workdir = std::fs::canonicalize(ctx.workdir).unwrap_or_else(|_| ctx.workdir.into());
    let registry =
        std::fs::canonicalize(ctx.registry_dir).unwrap_or_else(|_| ctx.registry_dir.into());
    if !local.path.starts_with(&workdir) {
        return Err(ArtifactError::Invalid(format!(
            "--keep-local: artifact {} is outside the repository ({}); a file kept local is \
             recorded by its place in the repository, so copy it in or configure a store",
            local.arg,
            workdir.display()
        )));
    }
    let base: Vec<_> = registry.components().collect();
    let target: Vec<_> = local.path.components().collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); base.len() - common];
    for part in &target[common..] {
        let text = part.as_os_str().to_str().ok_or_else(|| {
            ArtifactError::Invalid(format!("artifact {}: its path is not UTF-8", local.arg))
        })?;
        parts.push(text.to_owned());
    }
    Ok(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(dir: &'a Path, registry: &'a Path, root: Option<String>) -> Context<'a> {
        Context {
            cwd: dir,
            registry_dir: registry,
            workdir: dir,
            root,
            keep_local: false,
            expect: None,
        }
    }

    #[test]
    fn uris_are_kept_and_names_must_differ() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(root.join("b")).unwrap();
        std::fs::write(root.join("a/model.pkl"), b"1").unwrap();
        std::fs::write(root.join("b/model.pkl"), b"2").unwrap();
        let ctx = context(&root, &root, None);
        assert!(
            record(&ctx, &[String::new()])
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let uri = record(&ctx, &["s3://b/k".into()]).unwrap();
        assert_eq!(uri[0].uri.as_deref(), Some("s3://b/k"));
        let error = record(&ctx, &["a/model.pkl".into(), "b/model.pkl".into()])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a/model.pkl and b/model.pkl are both named \"model.pkl\""),
            "{error}"
        );
        let error = record(&ctx, &["a/model.pkl".into()]).unwrap_err();
        assert!(matches!(error, ArtifactError::NoStore(_)), "{error}");
    }

    #[test]
    fn kept_local_paths_are_relative_to_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let registry = root.join("ml");
        std::fs::create_dir_all(&registry).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/m.bin"), b"abc").unwrap();
        let mut ctx = context(&registry, &registry, None);
        ctx.workdir = &root;
        ctx.keep_local = true;
        let recorded = record(&ctx, &["../data/m.bin".into()]).unwrap();
        let artifact = recorded[0].run_artifact();
        assert_eq!(artifact.path.as_deref(), Some("../data/m.bin"));
        assert_eq!(artifact.uri, None);
        assert_eq!(artifact.digest, Some(Digest::of(b"abc").to_string()));
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x"), b"x").unwrap();
        let far = outside.path().join("x").display().to_string();
        let error = record(&ctx, &[far]).unwrap_err().to_string();
        assert!(error.contains("outside the repository"), "{error}");
    }
}
