//! The registry as it is at one commit (read from Git objects, so it works in
//! bare clones and needs no checkout) or in the working tree (for `validate`
//! before a commit). Files are found by path and read only when asked for.

use crate::diagnostic::Diagnostic;
use crate::git::{Context, GitError, Repo};
use crate::load::{self, Loaded};
use crate::registry::{self, Config, Layout, MAX_FILE_BYTES, ModelFile, RunFile, VersionFile};
use serde::de::DeserializeOwned;
use std::path::PathBuf;

/// Where the files come from.
enum Source<'r> {
    Tree(git2::Tree<'r>),
    WorkTree(PathBuf),
}

/// One registry state.
pub struct Snapshot<'r> {
    repo: &'r Repo,
    source: Source<'r>,
    /// The commit read, for a Git snapshot.
    pub commit: Option<git2::Oid>,
}

/// An entry of a listed folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    /// Anything that is neither a regular file nor a folder (a symlink, a submodule).
    pub is_special: bool,
}

impl<'r> Snapshot<'r> {
    /// The registry at `rev`.
    pub fn at_rev(repo: &'r Repo, rev: &str) -> Result<Snapshot<'r>, GitError> {
        let commit = repo.resolve(rev)?;
        let id = commit.id();
        let root = commit
            .tree()
            .context(|| format!("reading the tree of {rev}"))?;
        let tree = if repo.prefix.is_empty() {
            root
        } else {
            let entry = root
                .get_path(std::path::Path::new(&repo.prefix))
                .map_err(|_| GitError::BadRevision {
                    rev: rev.to_owned(),
                    message: format!("it has no registry folder {}", repo.prefix),
                })?;
            repo.repo
                .find_tree(entry.id())
                .context(|| format!("reading {} at {rev}", repo.prefix))?
        };
        if tree.get_name(Layout::CONFIG).is_none() {
            return Err(GitError::BadRevision {
                rev: rev.to_owned(),
                message: format!(
                    "it has no {} (was the registry committed?)",
                    repo.repo_path(Layout::CONFIG)
                ),
            });
        }
        Ok(Snapshot {
            repo,
            source: Source::Tree(tree),
            commit: Some(id),
        })
    }

    /// The registry folder at `commit`, or None when the commit has no such
    /// folder (before `init`). Unlike [`Snapshot::at_rev`] it does not insist
    /// on `regent.yaml`: history walks through every state.
    pub fn of_commit(
        repo: &'r Repo,
        commit: &git2::Commit<'r>,
    ) -> Result<Option<Snapshot<'r>>, GitError> {
        let root = commit
            .tree()
            .context(|| format!("reading the tree of {}", commit.id()))?;
        let tree = if repo.prefix.is_empty() {
            root
        } else {
            match root.get_path(std::path::Path::new(&repo.prefix)) {
                Ok(entry) if entry.kind() == Some(git2::ObjectType::Tree) => repo
                    .repo
                    .find_tree(entry.id())
                    .context(|| format!("reading {} at {}", repo.prefix, commit.id()))?,
                _ => return Ok(None),
            }
        };
        Ok(Some(Snapshot {
            repo,
            source: Source::Tree(tree),
            commit: Some(commit.id()),
        }))
    }

    /// The id of the registry folder's tree (None for a working-tree snapshot):
    /// equal ids mean equal registries, without reading a file.
    pub fn tree_id(&self) -> Option<git2::Oid> {
        match &self.source {
            Source::Tree(tree) => Some(tree.id()),
            Source::WorkTree(_) => None,
        }
    }

    /// The tree id of a folder inside the registry (None if absent).
    pub fn subtree_id(&self, dir: &str) -> Option<git2::Oid> {
        match &self.source {
            Source::Tree(tree) => tree
                .get_path(std::path::Path::new(dir))
                .ok()
                .map(|e| e.id()),
            Source::WorkTree(_) => None,
        }
    }

    /// Registry paths that differ between `self` and `other` (both Git snapshots).
    ///
    /// A walk of the two trees that skips every subtree whose id is the same
    /// on both sides: the cost follows what changed, not the registry's size
    /// (libgit2's tree-to-tree diff visits every entry).
    pub fn changed_paths(&self, other: Option<&Snapshot<'_>>) -> Result<Vec<String>, GitError> {
        let Source::Tree(new) = &self.source else {
            return Ok(Vec::new());
        };
        let old = match other.map(|o| &o.source) {
            Some(Source::Tree(t)) => Some(t.clone()),
            _ => None,
        };
        let mut out = Vec::new();
        let mut pending: Vec<(String, Option<git2::Tree<'_>>, Option<git2::Tree<'_>>)> =
            vec![(String::new(), old, Some(new.clone()))];
        while let Some((dir, old, new)) = pending.pop() {
            let entries = |tree: &Option<git2::Tree<'_>>| -> Vec<(String, git2::Oid, bool)> {
                tree.iter()
                    .flat_map(|t| t.iter())
                    .map(|e| {
                        (
                            e.name().unwrap_or_default().to_owned(),
                            e.id(),
                            e.kind() == Some(git2::ObjectType::Tree),
                        )
                    })
                    .collect()
            };
            let (a, b) = (entries(&old), entries(&new));
            let index = |list: &[(String, git2::Oid, bool)]| -> std::collections::HashMap<String, (git2::Oid, bool)> {
                list.iter().map(|(n, id, t)| (n.clone(), (*id, *t))).collect()
            };
            let (a, b) = (index(&a), index(&b));
            let mut names: Vec<&String> = a
                .keys()
                .chain(b.keys().filter(|k| !a.contains_key(*k)))
                .collect();
            names.sort_unstable();
            for name in names {
                let left = a.get(name).map(|(id, t)| (name.clone(), *id, *t));
                let right = b.get(name).map(|(id, t)| (name.clone(), *id, *t));
                let (left, right) = (left.as_ref(), right.as_ref());
                if let (Some(l), Some(r)) = (left, right)
                    && l.1 == r.1
                {
                    continue;
                }
                let path = if dir.is_empty() {
                    name.to_owned()
                } else {
                    format!("{dir}/{name}")
                };
                let subtree = |side: Option<&(String, git2::Oid, bool)>| -> Result<Option<git2::Tree<'_>>, GitError> {
                    match side {
                        Some((_, id, true)) => Ok(Some(
                            self.repo.repo.find_tree(*id).context(|| format!("reading {path}"))?,
                        )),
                        _ => Ok(None),
                    }
                };
                let (lt, rt) = (subtree(left)?, subtree(right)?);
                // A file on one side (or both) is a changed path; trees are walked.
                if left.is_some_and(|l| !l.2) || right.is_some_and(|r| !r.2) {
                    out.push(path.clone());
                }
                if lt.is_some() || rt.is_some() {
                    pending.push((path, lt, rt));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// The registry in the working tree, committed or not.
    pub fn work_tree(repo: &'r Repo) -> Result<Snapshot<'r>, GitError> {
        Ok(Snapshot {
            repo,
            source: Source::WorkTree(repo.registry_dir()?),
            commit: None,
        })
    }

    /// A registry path as shown to users: relative to the repository root.
    pub fn display_path(&self, path: &str) -> String {
        self.repo.repo_path(path)
    }

    /// The entries of a folder (registry-relative, `""` for the root), sorted
    /// by name; empty when the folder does not exist.
    pub fn list(&self, dir: &str) -> Result<Vec<Entry>, GitError> {
        let mut entries = match &self.source {
            Source::Tree(tree) => {
                let sub;
                let tree = if dir.is_empty() {
                    tree
                } else {
                    match tree.get_path(std::path::Path::new(dir)) {
                        Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => {
                            sub = self
                                .repo
                                .repo
                                .find_tree(e.id())
                                .context(|| format!("reading {dir}"))?;
                            &sub
                        }
                        _ => return Ok(Vec::new()),
                    }
                };
                tree.iter()
                    .map(|e| {
                        let mode = e.filemode();
                        Entry {
                            name: e.name().unwrap_or_default().to_owned(),
                            is_dir: e.kind() == Some(git2::ObjectType::Tree),
                            is_special: mode == i32::from(git2::FileMode::Link)
                                || mode == i32::from(git2::FileMode::Commit),
                        }
                    })
                    .collect::<Vec<_>>()
            }
            Source::WorkTree(root) => {
                let path = root.join(dir);
                let read = match std::fs::read_dir(&path) {
                    Ok(read) => read,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    // Unreadable is not the same as empty: say so.
                    Err(source) => {
                        return Err(GitError::Io {
                            context: format!("listing {}", path.display()),
                            source,
                        });
                    }
                };
                let mut out = Vec::new();
                for item in read {
                    let item = item.map_err(|source| GitError::Io {
                        context: format!("listing {}", path.display()),
                        source,
                    })?;
                    // Never follow links: a registry file must be a file in the registry.
                    let kind = item.file_type().map_err(|source| GitError::Io {
                        context: format!("reading {}", item.path().display()),
                        source,
                    })?;
                    let name = item.file_name().to_string_lossy().into_owned();
                    if dir.is_empty() && name == ".git" {
                        continue;
                    }
                    out.push(Entry {
                        name,
                        is_dir: kind.is_dir(),
                        is_special: !kind.is_dir() && !kind.is_file(),
                    });
                }
                out
            }
        };
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Every file under `dir`, recursively, as registry-relative paths, with
    /// special entries (symlinks, submodules) marked.
    pub fn walk(&self, dir: &str) -> Result<Vec<(String, Entry)>, GitError> {
        let mut out = Vec::new();
        let mut pending = vec![dir.to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in self.list(&dir)? {
                let path = if dir.is_empty() {
                    entry.name.clone()
                } else {
                    format!("{dir}/{}", entry.name)
                };
                if entry.is_dir {
                    pending.push(path);
                } else {
                    out.push((path, entry));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Whether a file exists at `path`.
    pub fn exists(&self, path: &str) -> bool {
        match &self.source {
            Source::Tree(tree) => tree
                .get_path(std::path::Path::new(path))
                .is_ok_and(|e| e.kind() == Some(git2::ObjectType::Blob)),
            Source::WorkTree(root) => {
                std::fs::symlink_metadata(root.join(path)).is_ok_and(|m| m.is_file())
            }
        }
    }

    /// The bytes of a file, or a diagnostic saying why it cannot be read.
    /// Files over [`MAX_FILE_BYTES`] are refused before they are read.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, Diagnostic> {
        let shown = self.display_path(path);
        let fail = |message: String| Diagnostic::file_level(shown.clone(), message);
        match &self.source {
            Source::Tree(tree) => {
                let entry = tree
                    .get_path(std::path::Path::new(path))
                    .map_err(|_| fail("no such file".into()))?;
                // A committed symlink's blob is its target path: never read it as YAML.
                if entry.filemode() == i32::from(git2::FileMode::Link) {
                    return Err(fail(
                        "a symbolic link; registry files must be regular files".into(),
                    ));
                }
                if entry.kind() != Some(git2::ObjectType::Blob) {
                    return Err(fail("not a regular file".into()));
                }
                match self.repo.read_blob(entry.id(), MAX_FILE_BYTES) {
                    Ok(Ok(bytes)) => Ok(bytes),
                    Ok(Err(size)) => {
                        Err(load::yaml_diagnostic(&shown, "", registry::too_large(size)))
                    }
                    Err(e) => Err(fail(e.to_string())),
                }
            }
            Source::WorkTree(root) => {
                let full = root.join(path);
                let meta = std::fs::symlink_metadata(&full).map_err(|e| fail(e.to_string()))?;
                if !meta.is_file() {
                    return Err(fail(if meta.file_type().is_symlink() {
                        "a symbolic link; registry files must be regular files".into()
                    } else {
                        "not a regular file".into()
                    }));
                }
                if meta.len() > MAX_FILE_BYTES {
                    return Err(load::yaml_diagnostic(
                        &shown,
                        "",
                        registry::too_large(meta.len()),
                    ));
                }
                fs_err::read(&full).map_err(|e| fail(e.to_string()))
            }
        }
    }

    /// Reads and loads a file against its schema.
    pub fn load<T: DeserializeOwned>(
        &self,
        schema_name: &str,
        path: &str,
    ) -> Result<Loaded<T>, Vec<Diagnostic>> {
        let bytes = self.read(path).map_err(|d| vec![d])?;
        load::load(schema_name, &self.display_path(path), &bytes)
    }

    pub fn config(&self) -> Result<Loaded<Config>, Vec<Diagnostic>> {
        self.load("regent", Layout::CONFIG)
    }

    pub fn model(&self, model: &str) -> Result<Loaded<ModelFile>, Vec<Diagnostic>> {
        self.load("model", &Layout::model(model))
    }

    pub fn version(
        &self,
        model: &str,
        version: u64,
    ) -> Result<Loaded<VersionFile>, Vec<Diagnostic>> {
        self.load("version", &Layout::version(model, version))
    }

    pub fn run(&self, experiment: &str, run: &str) -> Result<Loaded<RunFile>, Vec<Diagnostic>> {
        self.load("run", &Layout::run(experiment, run))
    }

    /// Names of the folders under `models/`.
    pub fn model_names(&self) -> Result<Vec<String>, GitError> {
        self.folder_names(Layout::MODELS)
    }

    /// Names of the folders under `experiments/`.
    pub fn experiment_names(&self) -> Result<Vec<String>, GitError> {
        self.folder_names(Layout::EXPERIMENTS)
    }

    /// Version numbers with a file under `models/<model>/versions/`, ascending.
    pub fn version_numbers(&self, model: &str) -> Result<Vec<u64>, GitError> {
        let mut numbers: Vec<u64> = self
            .list(&format!("models/{model}/versions"))?
            .into_iter()
            .filter(|e| !e.is_dir)
            .filter_map(|e| {
                match registry::classify(&format!("models/{model}/versions/{}", e.name)) {
                    Ok(Some(registry::FileKind::Version { version, .. })) => Some(version),
                    _ => None,
                }
            })
            .collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Run names of an experiment, sorted.
    pub fn run_names(&self, experiment: &str) -> Result<Vec<String>, GitError> {
        Ok(self
            .list(&format!("experiments/{experiment}"))?
            .into_iter()
            .filter(|e| !e.is_dir && !e.name.starts_with('.'))
            .filter_map(|e| e.name.strip_suffix(".yaml").map(str::to_owned))
            .collect())
    }

    fn folder_names(&self, dir: &str) -> Result<Vec<String>, GitError> {
        Ok(self
            .list(dir)?
            .into_iter()
            .filter(|e| e.is_dir)
            .map(|e| e.name)
            .collect())
    }
}
