//! What differs from HEAD in a checkout: changed registry paths, and
//! whether the code around the registry is dirty.

use super::{Context, GitError, Repo};

impl Repo {
    /// Paths under `prefixes` (repository-relative) that differ from HEAD in
    /// the index or the working tree, untracked files included.
    ///
    /// One status query per prefix: libgit2 limits its walk of the tree,
    /// the index and the working tree to a single pathspec's prefix, but
    /// walks everything for several disjoint ones.
    pub fn changed_paths(&self, prefixes: &[String]) -> Result<Vec<String>, GitError> {
        retry_torn_index(|reload| self.changed_paths_once(prefixes, reload))
    }

    fn changed_paths_once(
        &self,
        prefixes: &[String],
        reload: bool,
    ) -> Result<Vec<String>, GitError> {
        self.refresh_index(reload)?;
        let mut out = Vec::new();
        for prefix in prefixes {
            let mut options = git2::StatusOptions::new();
            options
                .no_refresh(true)
                .include_untracked(true)
                .recurse_untracked_dirs(true)
                .include_ignored(false)
                .pathspec(prefix);
            let statuses = self
                .repo
                .statuses(Some(&mut options))
                .context(|| "reading the status of the working tree".into())?;
            out.extend(
                statuses
                    .iter()
                    .filter(|s| s.status() != git2::Status::CURRENT && !s.status().is_ignored())
                    .filter_map(|s| s.path().ok().map(str::to_owned)),
            );
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Whether tracked files outside `exclude` (a repository-relative folder)
    /// differ from HEAD; untracked files do not count.
    ///
    /// Only the tracked paths outside `exclude` are compared: the status is
    /// asked for the outermost such paths (a sweep's checkout holds thousands
    /// of run files, and libgit2 would stat, hash and look up attributes for
    /// each of them on every `run log`: 60% of its time at 3,000 runs).
    pub fn is_dirty_outside(&self, exclude: &[String]) -> Result<bool, GitError> {
        retry_torn_index(|reload| self.is_dirty_outside_once(exclude, reload))
    }

    fn is_dirty_outside_once(&self, exclude: &[String], reload: bool) -> Result<bool, GitError> {
        self.refresh_index(reload)?;
        let specs = self.outside_pathspecs(exclude)?;
        if specs.is_empty() {
            return Ok(false);
        }
        let mut options = git2::StatusOptions::new();
        options
            .no_refresh(true)
            .include_untracked(false)
            .include_ignored(false);
        for spec in &specs {
            options.pathspec(spec);
        }
        let statuses = self
            .repo
            .statuses(Some(&mut options))
            .context(|| "reading the status of the working tree".into())?;
        Ok(statuses.iter().any(|s| {
            s.status() != git2::Status::CURRENT
                && s.path().is_ok_and(|p| {
                    !exclude
                        .iter()
                        .any(|e| p == e || p.starts_with(&format!("{e}/")))
                })
        }))
    }

    /// Loads the index from its file if it changed there (or, with
    /// `reload`, in any case), reporting a failed read. A status query would
    /// reload it too, but it ignores a failed read and goes on with what was
    /// parsed before the failure: a torn read (see [`retry_torn_index`]) then
    /// shows the entries it missed as deleted, and a clean checkout is called
    /// dirty. After a failed read only a forced one is trustworthy: libgit2
    /// skips reloading when the file's checksum equals the last good read's,
    /// keeping the half-parsed entries.
    fn refresh_index(&self, reload: bool) -> Result<(), GitError> {
        let mut index = self.repo.index().context(|| "reading Git's index".into())?;
        index.read(reload).context(|| "reading Git's index".into())
    }

    /// The outermost tracked paths (in HEAD or the index) that are neither in
    /// `exclude` nor a folder holding one of them: `src`, `train.py`, and for
    /// a registry in `ml/registry/`, `ml/notebooks` beside it.
    fn outside_pathspecs(&self, exclude: &[String]) -> Result<Vec<String>, GitError> {
        // Called once per index entry (10,000 at 10,000 runs): no allocation.
        let under = |path: &str, folder: &str| {
            path.strip_prefix(folder)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        let excluded = |path: &str| exclude.iter().any(|e| under(path, e));
        let holds_excluded = |path: &str| {
            exclude
                .iter()
                .any(|e| e.len() > path.len() && under(e, path))
        };
        let mut specs = std::collections::BTreeSet::new();
        // The outermost prefix of `path` outside the excluded folders.
        let mut add = |path: &str| {
            let mut end = 0;
            for (i, _) in path
                .match_indices('/')
                .chain(std::iter::once((path.len(), "")))
            {
                let prefix = &path[..i];
                if excluded(prefix) {
                    return;
                }
                end = i;
                if !holds_excluded(prefix) {
                    break;
                }
            }
            specs.insert(path[..end].to_owned());
        };
        let index = self.repo.index().context(|| "reading Git's index".into())?;
        for entry in index.iter() {
            add(&String::from_utf8_lossy(&entry.path));
        }
        // Files deleted from the index but still in HEAD are changes too.
        if let Some(head) = self.head_commit()? {
            let tree = head.tree().context(|| "reading the tree of HEAD".into())?;
            let mut pending = vec![(String::new(), tree)];
            while let Some((prefix, tree)) = pending.pop() {
                for entry in tree.iter() {
                    let Ok(name) = entry.name() else { continue };
                    let path = format!("{prefix}{name}");
                    if entry.kind() == Some(git2::ObjectType::Tree) && holds_excluded(&path) {
                        if let Ok(sub) = self.repo.find_tree(entry.id()) {
                            pending.push((format!("{path}/"), sub));
                        }
                    } else {
                        add(&path);
                    }
                }
            }
        }
        Ok(specs.into_iter().collect())
    }
}

/// Whether `error` is what a torn read of the index gives: an entry or
/// checksum that does not parse (the file read was longer than the size
/// stat-ed), or a short read (it was shorter).
fn torn_read(error: &git2::Error) -> bool {
    matches!(
        error.class(),
        git2::ErrorClass::Index | git2::ErrorClass::Filesystem | git2::ErrorClass::Os
    )
}

/// How often a read of the index that looks corrupt is tried again.
const TORN_INDEX_ATTEMPTS: u32 = 5;

/// Runs `read`, again if it failed on an index that looked corrupt.
///
/// libgit2 reads `.git/index` by stat-ing the path and then opening it: when
/// another writer (a regent under the checkout's lock, or `git` itself)
/// renames a new index into place in between, it reads the new file to the
/// old length and reports "invalid data in index" or a short read. Readers outside the lock
/// (`run log` computing its source) meet this under a sweep's parallel
/// writers. The file itself is whole, so reading again succeeds; an index
/// that is really corrupt fails every attempt and is reported.
///
/// `read` is given whether to reload the index whatever its checksum: on
/// every attempt after the first.
fn retry_torn_index<T>(mut read: impl FnMut(bool) -> Result<T, GitError>) -> Result<T, GitError> {
    let mut attempt = 1;
    loop {
        match read(attempt > 1) {
            Err(GitError::Git { source, .. })
                if torn_read(&source) && attempt < TORN_INDEX_ATTEMPTS =>
            {
                std::thread::sleep(std::time::Duration::from_millis(u64::from(attempt) * 5));
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A repository whose HEAD and index hold `files` files under `src/` and
    /// `models/extra.yaml`; returns the bytes of that index and of one
    /// without `models/extra.yaml` (a change inside the excluded folder).
    fn committed_repo(dir: &Path, files: usize) -> (Vec<u8>, Vec<u8>) {
        let git = git2::Repository::init(dir).unwrap();
        let mut index = git.index().unwrap();
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("models")).unwrap();
        for i in 0..files {
            let name = format!("src/file-{i:05}.txt");
            std::fs::write(dir.join(&name), format!("{i}\n")).unwrap();
            index.add_path(Path::new(&name)).unwrap();
        }
        std::fs::write(dir.join("models/extra.yaml"), "x: 1\n").unwrap();
        index.add_path(Path::new("models/extra.yaml")).unwrap();
        index.write().unwrap();
        let tree = git.find_tree(index.write_tree().unwrap()).unwrap();
        let me = git2::Signature::now("t", "t@example.com").unwrap();
        git.commit(Some("HEAD"), &me, &me, "files", &tree, &[])
            .unwrap();
        let whole = std::fs::read(dir.join(".git/index")).unwrap();
        index.remove_path(Path::new("models/extra.yaml")).unwrap();
        index.write().unwrap();
        let without = std::fs::read(dir.join(".git/index")).unwrap();
        std::fs::write(dir.join(".git/index"), &whole).unwrap();
        (whole, without)
    }

    /// Another writer replacing the index as regent and git do (a whole new
    /// file renamed over the old one), alternately with and without a file
    /// under `models/`, until `stop`; links and renames only, so that it is
    /// replaced many times while a reader stats and opens it.
    fn keep_replacing_index(git_dir: &Path, versions: [&[u8]; 2], stop: &AtomicBool) {
        for (i, bytes) in versions.iter().enumerate() {
            std::fs::write(git_dir.join(format!("index.v{i}")), bytes).unwrap();
        }
        while !stop.load(Ordering::Relaxed) {
            for i in 0..versions.len() {
                let next = git_dir.join("index.next");
                std::fs::hard_link(git_dir.join(format!("index.v{i}")), &next).unwrap();
                std::fs::rename(&next, git_dir.join("index")).unwrap();
            }
        }
    }

    #[test]
    fn a_reader_outside_the_lock_survives_indexes_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let (whole, without) = committed_repo(dir.path(), 2000);
        let git_dir = dir.path().join(".git");
        let stop = AtomicBool::new(false);
        let excluded = ["models".to_owned()];
        std::thread::scope(|scope| {
            scope.spawn(|| keep_replacing_index(&git_dir, [&whole, &without], &stop));
            // A new Repo each time, as each `run log` process opens one, and
            // one kept open (its index is refreshed, not loaded).
            let kept = Repo::discover(dir.path()).unwrap();
            let answers: Vec<_> = (0..400)
                .flat_map(|_| {
                    let fresh = Repo::discover(dir.path()).unwrap();
                    [
                        fresh.is_dirty_outside(&excluded),
                        kept.is_dirty_outside(&excluded),
                    ]
                })
                .collect();
            stop.store(true, Ordering::Relaxed);
            for answer in answers {
                // Only models/ ever differs: never an error, never "dirty".
                assert!(!answer.expect("a whole index is read"));
            }
        });
    }

    #[test]
    fn an_index_that_is_really_corrupt_is_still_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (mut bytes, _) = committed_repo(dir.path(), 20);
        bytes.truncate(bytes.len() / 2);
        std::fs::write(dir.path().join(".git/index"), bytes).unwrap();
        let repo = Repo::discover(dir.path()).unwrap();
        let err = repo.is_dirty_outside(&["models".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("index"), "{err}");
    }
}
