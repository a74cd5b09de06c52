//! The commit of the code: the last commit on HEAD's first-parent line that
//! changed anything outside the registry. Every `run log` is a commit on
//! HEAD, so HEAD itself is usually the previous run's registry commit; the
//! lineage a run needs is the code it trained from.
//!
//! Walking back past a sweep's thousands of registry commits on every run
//! would grow with the sweep, so the answer is remembered in
//! `.git/regent/code-commit` (the registry, HEAD and its answer, a line each):
//! the next run walks back only to the commit answered last time.

use super::{Context, GitError, Repo};

/// Where the last answer is kept, in the Git directory.
const CACHE: &str = "regent/code-commit";

/// The walk gives up (and answers HEAD) after this many commits that touch
/// only the registry, without a remembered answer: a bound, never a wrong
/// commit (HEAD contains the code too).
const MAX_WALK: usize = 100_000;

impl Repo {
    /// The last commit reachable by first parents from HEAD that changed
    /// something outside `registry` (repository-relative paths: the
    /// registry's file and folders). None on an unborn branch.
    pub fn code_commit(&self, registry: &[String]) -> Result<Option<git2::Oid>, GitError> {
        let Some(head) = self.head_commit()? else {
            return Ok(None);
        };
        let key = registry.join(",");
        let remembered = self.remembered_code_commit(&key);
        let mut commit = head.clone();
        for _ in 0..MAX_WALK {
            if let Some((asked, answer)) = remembered
                && asked == commit.id()
            {
                self.remember_code_commit(&key, head.id(), answer);
                return Ok(Some(answer));
            }
            let Ok(parent) = commit.parent(0) else {
                break; // The root commit: it made everything.
            };
            if self.outside(&commit, registry)? != self.outside(&parent, registry)? {
                break;
            }
            commit = parent;
        }
        self.remember_code_commit(&key, head.id(), commit.id());
        Ok(Some(commit.id()))
    }

    /// The tree entries outside `registry`: (path, blob or tree id) for the
    /// outermost paths that neither are in it nor hold it.
    fn outside(
        &self,
        commit: &git2::Commit<'_>,
        registry: &[String],
    ) -> Result<Vec<(String, git2::Oid)>, GitError> {
        let under = |path: &str, folder: &str| {
            path.strip_prefix(folder)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        let tree = commit
            .tree()
            .context(|| format!("reading the tree of {}", commit.id()))?;
        let mut out = Vec::new();
        let mut pending = vec![(String::new(), tree)];
        while let Some((prefix, tree)) = pending.pop() {
            for entry in tree.iter() {
                let Ok(name) = entry.name() else { continue };
                let path = format!("{prefix}{name}");
                if registry.iter().any(|r| under(&path, r)) {
                    continue;
                }
                let holds_registry = registry
                    .iter()
                    .any(|r| r.len() > path.len() && under(r, &path));
                if holds_registry && entry.kind() == Some(git2::ObjectType::Tree) {
                    let sub = self
                        .repo
                        .find_tree(entry.id())
                        .context(|| format!("reading {path}"))?;
                    pending.push((format!("{path}/"), sub));
                } else {
                    out.push((path, entry.id()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// The last answer, if it was for the same registry (a monorepo may
    /// hold several, each with its own outside).
    fn remembered_code_commit(&self, key: &str) -> Option<(git2::Oid, git2::Oid)> {
        let text = std::fs::read_to_string(self.repo.path().join(CACHE)).ok()?;
        let mut fields = text.lines();
        if fields.next()? != key {
            return None;
        }
        let (asked, answer) = (fields.next()?, fields.next()?);
        Some((
            git2::Oid::from_str(asked).ok()?,
            git2::Oid::from_str(answer).ok()?,
        ))
    }

    /// Best effort: a cache that cannot be written only costs a longer walk
    /// next time. Written through a temporary file and a rename, so a
    /// concurrent reader never sees half of it.
    fn remember_code_commit(&self, key: &str, asked: git2::Oid, answer: git2::Oid) {
        let path = self.repo.path().join(CACHE);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else {
            return;
        };
        use std::io::Write;
        // One per line: the registry's paths may hold spaces.
        if write!(file, "{key}\n{asked}\n{answer}\n").is_ok() {
            let _ = file.persist(&path);
        }
    }
}
