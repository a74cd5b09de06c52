//! The registry as it is at one commit (read from Git objects, so it works in
//! bare clones and needs no checkout) or in the working tree (for `validate`
//! before a commit). Files are found by path and read only when asked for.

mod tree_diff;

use tree_diff::{folder_changes, is_folder};

use crate::diagnostic::Diagnostic;
use crate::git::{Context, GitError, Repo};
use crate::load::{self, Loaded};
use crate::registry::{self, Config, Layout, MAX_FILE_BYTES, ModelFile, RunFile, VersionFile};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::HashMap;
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
    /// The folders of a Git snapshot looked up so far, by registry-relative
    /// path (None: no such folder). libgit2 keeps no tree over 4 KiB in its
    /// object cache, so without this every file of a 50,000-run experiment
    /// would parse the experiment's whole folder again.
    folders: RefCell<HashMap<String, Option<git2::Tree<'r>>>>,
    /// Files whose id and mode a walk of changes found (None: absent), so
    /// reading them does not look the path up again.
    files: RefCell<HashMap<String, Option<(git2::Oid, i32)>>>,
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
    fn new(repo: &'r Repo, source: Source<'r>, commit: Option<git2::Oid>) -> Snapshot<'r> {
        Snapshot {
            repo,
            source,
            commit,
            folders: RefCell::new(HashMap::new()),
            files: RefCell::new(HashMap::new()),
        }
    }

    /// The folder `dir` (registry-relative, `""` for the registry itself) of
    /// a Git snapshot, looked up once: None when it is absent or not a folder.
    fn folder(&self, dir: &str) -> Result<Option<git2::Tree<'r>>, GitError> {
        let Source::Tree(root) = &self.source else {
            return Ok(None);
        };
        let dir = dir.trim_matches('/');
        if dir.is_empty() {
            return Ok(Some(root.clone()));
        }
        if let Some(found) = self.folders.borrow().get(dir) {
            return Ok(found.clone());
        }
        let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
        let found = match self.folder(parent)? {
            Some(parent) => match parent.get_name(name) {
                Some(e) if e.kind() == Some(git2::ObjectType::Tree) => Some(
                    self.repo
                        .repo
                        .find_tree(e.id())
                        .context(|| format!("reading {dir}"))?,
                ),
                _ => None,
            },
            None => None,
        };
        self.folders
            .borrow_mut()
            .insert(dir.to_owned(), found.clone());
        Ok(found)
    }

    /// The entry at `path` of a Git snapshot, through the folder cache.
    fn tree_entry(&self, path: &str) -> Option<(git2::Oid, i32, Option<git2::ObjectType>)> {
        let path = path.trim_matches('/');
        // A file a walk of changes found (where it found none, there may
        // still be a folder: look it up).
        if let Some(Some((id, mode))) = self.files.borrow().get(path).copied() {
            let kind = if mode & 0o170000 == 0o160000 {
                git2::ObjectType::Commit
            } else {
                git2::ObjectType::Blob
            };
            return Some((id, mode, Some(kind)));
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let folder = self.folder(dir).ok()??;
        let entry = folder.get_name(name)?;
        Some((entry.id(), entry.filemode(), entry.kind()))
    }

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
        Ok(Snapshot::new(repo, Source::Tree(tree), Some(id)))
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
        Ok(Some(Snapshot::new(
            repo,
            Source::Tree(tree),
            Some(commit.id()),
        )))
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
            Source::Tree(_) => self.tree_entry(dir).map(|(id, _, _)| id),
            Source::WorkTree(_) => None,
        }
    }

    /// Registry paths that differ between `self` and `other` (both Git snapshots).
    ///
    /// A walk of the two trees that skips every subtree whose id is the same
    /// on both sides: the cost follows what changed, not the registry's size
    /// (libgit2's tree-to-tree diff visits every entry). Within a changed
    /// folder the two tree objects are compared as bytes (see
    /// [`raw_changes`]), so a commit that adds one run to a folder of 50,000
    /// reads no entry of it but the new one. What each side holds at a
    /// changed path is remembered in both snapshots, so the reads and
    /// existence checks that follow need no lookup in the folder.
    pub fn changed_paths(&self, other: Option<&Snapshot<'_>>) -> Result<Vec<String>, GitError> {
        let Source::Tree(new) = &self.source else {
            return Ok(Vec::new());
        };
        let old = match other.map(|o| &o.source) {
            Some(Source::Tree(t)) => Some(t.id()),
            _ => None,
        };
        let mut out = Vec::new();
        let mut pending = vec![(String::new(), old, Some(new.id()))];
        while let Some((dir, old, new)) = pending.pop() {
            for change in folder_changes(self.repo, old, new)? {
                let path = if dir.is_empty() {
                    change.name.clone()
                } else {
                    format!("{dir}/{}", change.name)
                };
                let file = |side: Option<(git2::Oid, i32)>| side.filter(|(_, m)| !is_folder(*m));
                let folder = |side: Option<(git2::Oid, i32)>| {
                    side.filter(|(_, m)| is_folder(*m)).map(|(id, _)| id)
                };
                // A file on one side (or both) is a changed path; folders are walked.
                if file(change.old).is_some() || file(change.new).is_some() {
                    out.push(path.clone());
                    // What each side holds there, for the reads that follow.
                    self.learn(&path, file(change.new));
                    if let Some(other) = other {
                        other.learn(&path, file(change.old));
                    }
                }
                let (lt, rt) = (folder(change.old), folder(change.new));
                if lt.is_some() || rt.is_some() {
                    pending.push((path, lt, rt));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Records what a Git snapshot holds at `path`: a file (a blob, a link
    /// or a submodule) with its id and mode, or nothing that is not a folder.
    /// Found by [`Snapshot::changed_paths`], so that reads after a walk of
    /// changes need no lookup in the (maybe large) folder.
    fn learn(&self, path: &str, file: Option<(git2::Oid, i32)>) {
        if matches!(self.source, Source::Tree(_)) {
            self.files.borrow_mut().insert(path.to_owned(), file);
        }
    }

    /// The registry in the working tree, committed or not.
    pub fn work_tree(repo: &'r Repo) -> Result<Snapshot<'r>, GitError> {
        Ok(Snapshot::new(
            repo,
            Source::WorkTree(repo.registry_dir()?),
            None,
        ))
    }

    /// A registry path as shown to users: relative to the repository root.
    pub fn display_path(&self, path: &str) -> String {
        self.repo.repo_path(path)
    }

    /// The entries of a folder (registry-relative, `""` for the root), sorted
    /// by name; empty when the folder does not exist.
    pub fn list(&self, dir: &str) -> Result<Vec<Entry>, GitError> {
        let mut entries = match &self.source {
            Source::Tree(_) => match self.folder(dir)? {
                Some(tree) => tree
                    .iter()
                    .map(|e| {
                        let mode = e.filemode();
                        Entry {
                            name: e.name().unwrap_or_default().to_owned(),
                            is_dir: e.kind() == Some(git2::ObjectType::Tree),
                            is_special: mode == i32::from(git2::FileMode::Link)
                                || mode == i32::from(git2::FileMode::Commit),
                        }
                    })
                    .collect::<Vec<_>>(),
                None => return Ok(Vec::new()),
            },
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
            Source::Tree(_) => {
                // A walk of changes found nothing but maybe a folder here.
                if let Some(None) = self.files.borrow().get(path.trim_matches('/')) {
                    return false;
                }
                self.tree_entry(path)
                    .is_some_and(|(_, _, kind)| kind == Some(git2::ObjectType::Blob))
            }
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
            Source::Tree(_) => {
                let (id, mode, kind) = self
                    .tree_entry(path)
                    .ok_or_else(|| fail("no such file".into()))?;
                // A committed symlink's blob is its target path: never read it as YAML.
                if mode == i32::from(git2::FileMode::Link) {
                    return Err(fail(
                        "a symbolic link; registry files must be regular files".into(),
                    ));
                }
                if kind != Some(git2::ObjectType::Blob) {
                    return Err(fail("not a regular file".into()));
                }
                match self.repo.read_blob(id, MAX_FILE_BYTES) {
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

    /// Run names of an experiment, sorted: the `<run>.yaml` files of its
    /// shard folders that are where [`Layout::run`] puts them (validate reports
    /// the others).
    pub fn run_names(&self, experiment: &str) -> Result<Vec<String>, GitError> {
        let dir = format!("{}/{experiment}", Layout::EXPERIMENTS);
        let mut names = Vec::new();
        for shard in self.list(&dir)?.into_iter().filter(|e| e.is_dir) {
            for file in self.list(&format!("{dir}/{}", shard.name))? {
                if file.is_dir || file.name.starts_with('.') {
                    continue;
                }
                if let Some(run) = file.name.strip_suffix(".yaml")
                    && Layout::run_shard(run) == shard.name
                {
                    names.push(run.to_owned());
                }
            }
        }
        names.sort_unstable();
        Ok(names)
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

#[cfg(test)]
mod tests {
    use super::tree_diff::*;
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Writes `files` (path → content) as a tree and returns a commit of it.
    fn commit(repo: &git2::Repository, files: &BTreeMap<String, String>) -> git2::Oid {
        fn tree(
            repo: &git2::Repository,
            files: &BTreeMap<String, String>,
            prefix: &str,
        ) -> git2::Oid {
            let mut builder = repo.treebuilder(None).unwrap();
            let mut dirs = BTreeSet::new();
            for (path, content) in files {
                let Some(rest) = path.strip_prefix(prefix) else {
                    continue;
                };
                match rest.split_once('/') {
                    Some((dir, _)) => {
                        dirs.insert(dir.to_owned());
                    }
                    None => {
                        let blob = repo.blob(content.as_bytes()).unwrap();
                        builder.insert(rest, blob, 0o100644).unwrap();
                    }
                }
            }
            for dir in dirs {
                let id = tree(repo, files, &format!("{prefix}{dir}/"));
                builder.insert(&dir, id, 0o040000).unwrap();
            }
            builder.write().unwrap()
        }
        let id = tree(repo, files, "");
        let tree = repo.find_tree(id).unwrap();
        let signature = git2::Signature::now("t", "t@example.com").unwrap();
        repo.commit(None, &signature, &signature, "state", &tree, &[])
            .unwrap()
    }

    /// Paths whose content differs, computed from the flat lists.
    fn expected(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
        let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        paths
            .into_iter()
            .filter(|p| a.get(*p) != b.get(*p))
            .cloned()
            .collect()
    }

    /// Names that sort differently as files and as folders (`a` < `a.b` < `a/`).
    fn files() -> impl Strategy<Value = BTreeMap<String, String>> {
        let name = prop_oneof![
            Just("a"),
            Just("a.b"),
            Just("a-b"),
            Just("a0"),
            Just("b"),
            Just("ab")
        ];
        let path = proptest::collection::vec(name, 1..4).prop_map(|parts| parts.join("/"));
        proptest::collection::btree_map(path, "[xy]", 0..12).prop_map(|files| {
            // A path cannot be both a file and a folder: keep the first.
            let mut kept: BTreeMap<String, String> = BTreeMap::new();
            for (path, content) in files {
                let clash = kept.keys().any(|k| {
                    path.starts_with(&format!("{k}/")) || k.starts_with(&format!("{path}/"))
                });
                if !clash {
                    kept.insert(path, content);
                }
            }
            kept
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// The one-pass merge of sorted entries finds exactly the paths whose
        /// content differs, files turned into folders and back included.
        #[test]
        fn changed_paths_are_the_differing_files(a in files(), b in files()) {
            let dir = tempfile::tempdir().unwrap();
            let git = git2::Repository::init(dir.path()).unwrap();
            let (ca, cb) = (commit(&git, &a), commit(&git, &b));
            let repo = Repo::discover(dir.path()).unwrap();
            let (ca, cb) = (repo.repo.find_commit(ca).unwrap(), repo.repo.find_commit(cb).unwrap());
            let before = Snapshot::of_commit(&repo, &ca).unwrap().unwrap();
            let after = Snapshot::of_commit(&repo, &cb).unwrap().unwrap();
            prop_assert_eq!(after.changed_paths(Some(&before)).unwrap(), expected(&a, &b));
            let empty = BTreeMap::new();
            prop_assert_eq!(after.changed_paths(None).unwrap(), expected(&empty, &b));
            // Reads after the walk see each snapshot's own files.
            for (path, content) in &a {
                prop_assert_eq!(before.read(path).unwrap(), content.as_bytes());
                prop_assert!(before.exists(path));
            }
            for (path, content) in &b {
                prop_assert_eq!(after.read(path).unwrap(), content.as_bytes());
                prop_assert_eq!(after.exists(path), true);
                prop_assert_eq!(before.exists(path), a.contains_key(path));
            }
        }
    }

    /// A tree object from `(mode, name, id byte)` entries, in the given order.
    fn raw(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, id) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*id; 20]);
        }
        out
    }

    fn names(changes: &[ChangedEntry]) -> Vec<(&str, bool, bool)> {
        changes
            .iter()
            .map(|c| (c.name.as_str(), c.old.is_some(), c.new.is_some()))
            .collect()
    }

    #[test]
    fn raw_changes_read_only_what_differs() {
        let old = raw(&[("100644", "a", 1), ("100644", "b", 2), ("40000", "c", 3)]);
        // Appended, inserted, changed, removed, and a file turned folder.
        // (the new folder, the changes: name, on the old side, on the new side)
        type Case<'a> = (Vec<u8>, Vec<(&'a str, bool, bool)>);
        let cases: [Case<'_>; 5] = [
            (
                raw(&[
                    ("100644", "a", 1),
                    ("100644", "b", 2),
                    ("40000", "c", 3),
                    ("100644", "d", 4),
                ]),
                vec![("d", false, true)],
            ),
            (
                raw(&[
                    ("100644", "a", 1),
                    ("100644", "a0", 9),
                    ("100644", "b", 2),
                    ("40000", "c", 3),
                ]),
                vec![("a0", false, true)],
            ),
            (
                raw(&[("100644", "a", 1), ("100644", "b", 7), ("40000", "c", 3)]),
                vec![("b", true, true)],
            ),
            (
                raw(&[("100644", "a", 1), ("40000", "c", 3)]),
                vec![("b", true, false)],
            ),
            (
                raw(&[("100644", "a", 1), ("40000", "b", 2), ("40000", "c", 3)]),
                vec![("b", true, false), ("b", false, true)],
            ),
        ];
        for (new, expected) in cases {
            let changes = raw_changes(&old, &new).unwrap();
            assert_eq!(names(&changes), expected);
            // The other way round, each change is reversed.
            let back = raw_changes(&new, &old).unwrap();
            let reversed: Vec<_> = expected.iter().map(|(n, a, b)| (*n, *b, *a)).collect();
            assert_eq!(names(&back), reversed);
        }
    }

    #[test]
    fn raw_changes_need_no_order_and_refuse_malformed_trees() {
        // Unsorted (Git never writes one): still compared by name.
        let old = raw(&[("100644", "z", 1), ("100644", "a", 2)]);
        let new = raw(&[("100644", "a", 2), ("100644", "z", 1)]);
        assert_eq!(raw_changes(&old, &new).unwrap(), Vec::new());
        for broken in [
            b"100644 a".to_vec(),
            b"10x644 a\0aaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"100644 a\0short".to_vec(),
        ] {
            assert_eq!(raw_changes(&old, &broken), None, "{broken:?}");
            assert_eq!(raw_entries(&broken, 0, broken.len()), None);
        }
    }
}
