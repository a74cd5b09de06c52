//! Tags left behind: a regent tag whose commit no branch contains any more
//! (the commit was removed by `git reset`, a rebase, a deleted branch). Such
//! a tag blocks the next event that would take its name.

use super::{Context, GitError, Repo};

/// A tag on a commit that no branch contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub tag: String,
    pub commit: git2::Oid,
    /// A remote-tracking tag ref or remote branch shows it was pushed:
    /// `refs/remotes/*` contains the commit.
    pub on_remote: bool,
}

impl Repo {
    /// Why `tag` (which exists) blocks a new event: a leftover, or a tag
    /// that is where it belongs (then [`GitError::TagExists`]).
    pub fn tag_conflict(&self, tag: &str) -> GitError {
        match self.leftover(tag) {
            Ok(Some(leftover)) => GitError::TagLeftover {
                tag: leftover.tag,
                commit: leftover.commit.to_string(),
                on_remote: leftover.on_remote,
            },
            _ => GitError::TagExists(tag.to_owned()),
        }
    }

    /// Every tag on a commit that no local branch contains, by name.
    ///
    /// One walk of everything the branches reach (not one reachability
    /// query per tag: a registry has a tag per event).
    pub fn leftover_tags(&self) -> Result<Vec<Leftover>, GitError> {
        let names = self
            .repo
            .tag_names(None)
            .context(|| "listing tags".into())?;
        let (local, remote) = self.branch_tips()?;
        let on_branches = self.reachable(&local)?;
        let mut on_remote = None;
        let mut found = Vec::new();
        for name in names.iter().flatten().flatten() {
            let Ok(reference) = self.repo.find_reference(&format!("refs/tags/{name}")) else {
                continue;
            };
            let Ok(commit) = reference.peel_to_commit() else {
                continue;
            };
            if on_branches.contains(&commit.id()) {
                continue;
            }
            if on_remote.is_none() {
                on_remote = Some(self.reachable(&remote)?);
            }
            found.push(Leftover {
                tag: name.to_owned(),
                commit: commit.id(),
                on_remote: on_remote.as_ref().is_some_and(|r| r.contains(&commit.id())),
            });
        }
        Ok(found)
    }

    /// Every commit reachable from `tips`.
    fn reachable(
        &self,
        tips: &[git2::Oid],
    ) -> Result<std::collections::HashSet<git2::Oid>, GitError> {
        let mut walk = self
            .repo
            .revwalk()
            .context(|| "walking the history".into())?;
        for tip in tips {
            walk.push(*tip).context(|| "walking the history".into())?;
        }
        walk.map(|oid| oid.context(|| "walking the history".into()))
            .collect()
    }

    /// `tag`, if it is a leftover (one tag: reachability queries, no walk).
    fn leftover(&self, tag: &str) -> Result<Option<Leftover>, GitError> {
        let reference = match self.repo.find_reference(&format!("refs/tags/{tag}")) {
            Ok(r) => r,
            Err(_) => return Ok(None),
        };
        let commit = reference
            .peel_to_commit()
            .context(|| format!("reading the commit of tag {tag}"))?
            .id();
        let (local, remote) = self.branch_tips()?;
        if self.contained_in(commit, &local)? {
            return Ok(None);
        }
        Ok(Some(Leftover {
            tag: tag.to_owned(),
            commit,
            on_remote: self.contained_in(commit, &remote)?,
        }))
    }

    /// The tips of local branches and of remote-tracking branches.
    fn branch_tips(&self) -> Result<(Vec<git2::Oid>, Vec<git2::Oid>), GitError> {
        let mut local = Vec::new();
        let mut remote = Vec::new();
        let references = self
            .repo
            .references()
            .context(|| "listing references".into())?;
        for reference in references.flatten() {
            let Ok(name) = reference.name() else {
                continue;
            };
            let Ok(commit) = reference.peel_to_commit() else {
                continue;
            };
            if name.starts_with("refs/heads/") {
                local.push(commit.id());
            } else if name.starts_with("refs/remotes/") {
                remote.push(commit.id());
            }
        }
        Ok((local, remote))
    }

    fn contained_in(&self, commit: git2::Oid, tips: &[git2::Oid]) -> Result<bool, GitError> {
        for tip in tips {
            if *tip == commit
                || self
                    .repo
                    .graph_descendant_of(*tip, commit)
                    .context(|| "walking the history".into())?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
