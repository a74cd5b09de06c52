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
        let mut out = Vec::new();
        for prefix in prefixes {
            let mut options = git2::StatusOptions::new();
            options
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
        let specs = self.outside_pathspecs(exclude)?;
        if specs.is_empty() {
            return Ok(false);
        }
        let mut options = git2::StatusOptions::new();
        options.include_untracked(false).include_ignored(false);
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

    /// The outermost tracked paths (in HEAD or the index) that are neither in
    /// `exclude` nor a folder holding one of them: `src`, `train.py`, and for
    /// a registry in `ml/registry/`, `ml/notebooks` beside it.
    fn outside_pathspecs(&self, exclude: &[String]) -> Result<Vec<String>, GitError> {
        let excluded = |path: &str| {
            exclude
                .iter()
                .any(|e| path == e || path.starts_with(&format!("{e}/")))
        };
        let holds_excluded =
            |path: &str| exclude.iter().any(|e| e.starts_with(&format!("{path}/")));
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
