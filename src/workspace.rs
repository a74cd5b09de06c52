//! Applying a change to the registry as exactly one commit on the current
//! branch: objects first, then a compare-and-swap of the branch ref, then the
//! working tree and index for the touched paths only. Before the ref moves
//! nothing visible has changed; a concurrent writer makes the swap fail
//! instead of being overwritten.

use crate::git::{Context, GitError, Repo};
use std::io::Write;

/// One file to write (or delete, with `None`), relative to the registry folder.
#[derive(Debug, Clone)]
pub struct Change {
    pub path: String,
    pub content: Option<Vec<u8>>,
}

/// A commit message: subject, optional body, and `Regent-*` trailers.
#[derive(Debug, Clone, Default)]
pub struct CommitMessage {
    pub subject: String,
    pub body: Option<String>,
    pub trailers: Vec<(String, String)>,
}

impl CommitMessage {
    pub fn new(subject: impl Into<String>) -> Self {
        CommitMessage {
            subject: subject.into(),
            ..Default::default()
        }
    }

    pub fn trailer(mut self, key: &str, value: impl Into<String>) -> Self {
        self.trailers.push((key.to_owned(), value.into()));
        self
    }

    /// Uses the user's `--message` as subject (its first line) and body.
    pub fn with_user_message(mut self, text: Option<&str>) -> Self {
        if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
            let (subject, body) = text.split_once('\n').unwrap_or((text, ""));
            self.subject = subject.trim().to_owned();
            let body = body.trim();
            self.body = (!body.is_empty()).then(|| body.to_owned());
        }
        self
    }

    /// The full text. Trailer values are forced onto one line so that a value
    /// can never forge another trailer.
    pub fn render(&self) -> String {
        let one_line = |s: &str| s.replace(['\r', '\n'], " ");
        let mut text = one_line(&self.subject);
        text.push_str("\n\n");
        if let Some(body) = &self.body {
            // A body line that looks like a trailer would be read as one if it
            // ended the message; the trailer block below always comes last.
            text.push_str(body);
            text.push_str("\n\n");
        }
        for (key, value) in &self.trailers {
            text.push_str(&format!("{key}: {}\n", one_line(value)));
        }
        text
    }
}

/// Commits `changes` on the current branch and updates the working tree and
/// index for those paths. Returns the new commit's id.
pub fn commit(
    repo: &Repo,
    changes: &[Change],
    message: &CommitMessage,
    actor: &str,
) -> Result<git2::Oid, GitError> {
    let branch = repo.head_branch()?;
    let parent = repo.head_commit()?;
    let commit_id = build_commit(repo, parent.as_ref(), changes, message, actor)?;
    move_branch(
        repo,
        &branch,
        parent.as_ref().map(|p| p.id()),
        commit_id,
        &message.subject,
    )?;
    sync_work_tree(repo, changes)?;
    Ok(commit_id)
}

/// Writes the blobs, tree and commit object for `changes` on top of `parent`.
/// Objects are inert until a ref points at them.
pub fn build_commit(
    repo: &Repo,
    parent: Option<&git2::Commit<'_>>,
    changes: &[Change],
    message: &CommitMessage,
    actor: &str,
) -> Result<git2::Oid, GitError> {
    let git = &repo.repo;
    let baseline = match parent {
        Some(p) => p.tree().context(|| "reading the parent tree".into())?,
        None => {
            let empty = git
                .treebuilder(None)
                .and_then(|b| b.write())
                .context(|| "writing an empty tree".into())?;
            git.find_tree(empty)
                .context(|| "reading the empty tree".into())?
        }
    };
    let mut update = git2::build::TreeUpdateBuilder::new();
    for change in changes {
        let path = repo.repo_path(&change.path);
        match &change.content {
            Some(bytes) => {
                let blob = git.blob(bytes).context(|| format!("writing {path}"))?;
                update.upsert(path.as_str(), blob, git2::FileMode::Blob);
            }
            None => {
                update.remove(path.as_str());
            }
        }
    }
    let tree_id = update
        .create_updated(git, &baseline)
        .context(|| "building the new tree".into())?;
    let tree = git
        .find_tree(tree_id)
        .context(|| "reading the new tree".into())?;
    let signature = repo.signature(actor)?;
    let parents: Vec<&git2::Commit<'_>> = parent.into_iter().collect();
    git.commit(
        None,
        &signature,
        &signature,
        &message.render(),
        &tree,
        &parents,
    )
    .context(|| "writing the commit".into())
}

/// Points `branch` at `new` if it still points at `expected` (or does not
/// exist yet when `expected` is None).
pub fn move_branch(
    repo: &Repo,
    branch: &str,
    expected: Option<git2::Oid>,
    new: git2::Oid,
    subject: &str,
) -> Result<(), GitError> {
    let log = format!("regent: {subject}");
    let result = match expected {
        Some(old) => repo.repo.reference_matching(branch, new, true, old, &log),
        None => repo.repo.reference(branch, new, false, &log),
    };
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::Locked
            ) =>
        {
            Err(GitError::BranchMoved {
                branch: branch.trim_start_matches("refs/heads/").to_owned(),
            })
        }
        Err(source) => Err(GitError::Git {
            context: format!("updating {branch}"),
            source,
        }),
    }
}

/// Brings the working tree and index in line with the commit for the changed
/// paths only; the user's other changes, staged or not, are left alone.
fn sync_work_tree(repo: &Repo, changes: &[Change]) -> Result<(), GitError> {
    let Some(workdir) = repo.workdir.as_ref() else {
        return Ok(());
    };
    let mut index = repo.repo.index().context(|| "opening the index".into())?;
    for change in changes {
        let rel = repo.repo_path(&change.path);
        let full = workdir.join(&rel);
        match &change.content {
            Some(bytes) => {
                write_atomically(&full, bytes)?;
                index
                    .add_path(std::path::Path::new(&rel))
                    .context(|| format!("staging {rel}"))?;
            }
            None => {
                if full.exists() {
                    fs_err::remove_file(&full).map_err(|source| GitError::Io {
                        context: format!("removing {rel}"),
                        source,
                    })?;
                }
                index
                    .remove_path(std::path::Path::new(&rel))
                    .context(|| format!("unstaging {rel}"))?;
            }
        }
    }
    index.write().context(|| "writing the index".into())
}

/// Writes a file through a temporary file in the same folder and a rename,
/// so a reader (or a crash) never sees half of it.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), GitError> {
    let io = |context: String| move |source| GitError::Io { context, source };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    fs_err::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let mut builder = tempfile::Builder::new();
    // Temporary files are private (0600); a registry file is an ordinary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(io(format!("creating a file in {}", dir.display())))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io(format!("writing {}", path.display())))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .map_err(io(format!("writing {}", path.display())))?;
    Ok(())
}

/// Where `--push` sends a commit: the branch's upstream remote, else `origin`.
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub remote: String,
    pub branch: String,
}

/// Finds the push target before anything is committed, so a missing remote
/// fails the command while nothing has been written yet.
pub fn push_target(repo: &Repo) -> Result<PushTarget, GitError> {
    let branch = repo.head_branch()?;
    let remote = repo.upstream_remote().unwrap_or_else(|| "origin".into());
    if remote.starts_with('-') || repo.repo.find_remote(&remote).is_err() {
        return Err(GitError::Command {
            command: format!("push {remote}"),
            stderr: format!("there is no remote named {remote:?}; add one with `git remote add`"),
        });
    }
    Ok(PushTarget { remote, branch })
}

/// Pushes `commit` to the target branch with the system `git` (so credential
/// helpers apply). The remote refuses it if someone else pushed first.
pub fn push(repo: &Repo, target: &PushTarget, commit: git2::Oid) -> Result<(), GitError> {
    let dir = repo
        .workdir
        .clone()
        .unwrap_or_else(|| repo.repo.path().to_path_buf());
    let refspec = format!("{commit}:{}", target.branch);
    crate::git::run_git(&dir, &["push", "--quiet", "--", &target.remote, &refspec]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_values_cannot_inject_lines() {
        let message = CommitMessage::new("log run\nRegent-Event: promote")
            .trailer("Regent-Event", "run")
            .trailer("Regent-Actor", "mallory\nRegent-Event: promote");
        let text = message.render();
        assert_eq!(text.matches("Regent-Event:").count(), 3, "{text}");
        assert!(
            text.lines()
                .all(|l| !l.starts_with("Regent-Event: promote")),
            "{text}"
        );
    }

    #[test]
    fn user_message_replaces_subject_and_body() {
        let m = CommitMessage::new("default")
            .with_user_message(Some("Nightly run\n\nfrom the cron job"))
            .trailer("Regent-Event", "run");
        assert_eq!(
            m.render(),
            "Nightly run\n\nfrom the cron job\n\nRegent-Event: run\n"
        );
    }
}
