//! The remote side of `--push`: where an event goes, fetching the remote
//! branch to build on, and the one atomic push of the commit with its tags.
//! All of it through the system `git`, so credential helpers apply.

use crate::git::{Context, GitError, Repo};

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

/// Fetches the target branch with the system `git`; returns the remote's
/// commit (None for a branch it does not have).
///
/// It fetches into a ref of this process's own, `refs/regent/fetch/<pid>`,
/// deleted right after, rather than straight into the remote-tracking ref:
/// several `--push` commands in one checkout fetch at once, outside the
/// checkout's lock, and with one shared ref they would fail on its lock file
/// ("cannot lock ref") or read each other's older answer. The
/// remote-tracking ref is then moved forward (never back) on a best-effort
/// basis: it is only a cache of the remote for `git status`.
pub fn fetch_remote_head(repo: &Repo, target: &PushTarget) -> Result<Option<git2::Oid>, GitError> {
    let short = target.branch.trim_start_matches("refs/heads/");
    let private = format!("refs/regent/fetch/{}", std::process::id());
    let refspec = format!("+{}:{private}", target.branch);
    crate::git::run_git(
        &git_dir(repo),
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            // Without it git also updates the remote-tracking ref, on the
            // side, and fails on its lock as above.
            "--refmap=",
            "--",
            &target.remote,
            &refspec,
        ],
    )?;
    let fetched = repo.repo.refname_to_id(&private).ok();
    if let Ok(mut reference) = repo.repo.find_reference(&private) {
        let _ = reference.delete();
    }
    if let Some(id) = fetched {
        let tracking = format!("refs/remotes/{}/{short}", target.remote);
        let log = "regent: fetch";
        let _ = match repo.repo.refname_to_id(&tracking) {
            Ok(old) if old == id => Ok(()),
            Ok(old) if repo.repo.graph_descendant_of(id, old).unwrap_or(false) => repo
                .repo
                .reference_matching(&tracking, id, true, old, log)
                .map(|_| ()),
            Ok(_) => Ok(()),
            Err(_) => repo.repo.reference(&tracking, id, false, log).map(|_| ()),
        };
    }
    Ok(fetched)
}

/// The commit to build on when pushing: the remote branch's head, fetched
/// now, as long as the local branch has nothing the remote lacks.
pub(super) fn push_base<'r>(
    repo: &'r Repo,
    target: &PushTarget,
    local: &git2::Commit<'r>,
) -> Result<git2::Commit<'r>, GitError> {
    let short = target.branch.trim_start_matches("refs/heads/");
    let Some(remote) = fetch_remote_head(repo, target)? else {
        return Ok(local.clone());
    };
    if remote == local.id() {
        return Ok(local.clone());
    }
    let local_behind = repo
        .repo
        .graph_descendant_of(remote, local.id())
        .context(|| "comparing with the remote branch".into())?;
    if local_behind {
        return repo
            .repo
            .find_commit(remote)
            .context(|| format!("reading {}'s {short}", target.remote));
    }
    Err(GitError::Diverged(format!(
        "your branch {short} has commits that {} does not; push or rebase them first, so that --push publishes only this event",
        target.remote
    )))
}

pub(super) enum PushOutcome {
    Done,
    Raced,
}

/// Pushes the commit and its tags in one atomic push: all or nothing.
/// `--porcelain` reports each ref's fate on stdout; a branch rejected
/// because the remote moved is a lost race (retry), a tag that exists while
/// the branch would have been accepted is a real conflict.
pub(super) fn push_atomically(
    repo: &Repo,
    target: &PushTarget,
    base: git2::Oid,
    commit: git2::Oid,
    tags: &[(String, git2::Oid)],
) -> Result<PushOutcome, GitError> {
    let mut args = vec![
        "push".to_owned(),
        "--porcelain".into(),
        "--atomic".into(),
        "--".into(),
        target.remote.clone(),
        format!("{commit}:{}", target.branch),
    ];
    for (name, id) in tags {
        args.push(format!("{id}:refs/tags/{name}"));
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(git_dir(repo))
        .args(&args)
        .output()
        .map_err(|source| GitError::Io {
            context: "running the system `git`".into(),
            source,
        })?;
    if output.status.success() {
        return Ok(PushOutcome::Done);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = crate::git::strip_credentials(String::from_utf8_lossy(&output.stderr).trim());
    let branch_line = stdout
        .lines()
        .find(|l| l.contains(&format!(":{}\t", target.branch)));
    let moved = |text: &str| {
        [
            "fetch first",
            "non-fast-forward",
            "stale info",
            "cannot lock ref",
            "failed to update ref",
        ]
        .iter()
        .any(|m| text.contains(m))
    };
    let branch_rejected =
        branch_line.is_some_and(|l| l.starts_with('!') && !l.contains("atomic push failed"));
    if branch_rejected || moved(&stderr) || branch_line.is_some_and(moved) {
        return Ok(PushOutcome::Raced);
    }
    let existing: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('!') && l.contains("already exists"))
        .filter_map(|l| l.split('\t').nth(1))
        .filter_map(|refs| refs.split_once(":refs/tags/").map(|(_, name)| name))
        .collect();
    if !existing.is_empty() {
        // With --atomic, git reports only the first rejection and marks the
        // others "atomic push failed": a tag taken by a process that also
        // moved the branch is a lost race, not a conflict. Ask the remote.
        if remote_head(repo, target)? != Some(base) {
            return Ok(PushOutcome::Raced);
        }
        return Err(GitError::TagExists(format!(
            "{} on {}",
            existing.join(", "),
            target.remote
        )));
    }
    Err(GitError::Command {
        command: args.join(" "),
        stderr: format!("{stderr}\n{}", stdout.trim()).trim().to_owned(),
    })
}

/// The remote branch's current commit, from `git ls-remote`.
fn remote_head(repo: &Repo, target: &PushTarget) -> Result<Option<git2::Oid>, GitError> {
    let out = crate::git::run_git(
        &git_dir(repo),
        &["ls-remote", "--", &target.remote, &target.branch],
    )?;
    Ok(out
        .split_whitespace()
        .next()
        .and_then(|id| git2::Oid::from_str(id).ok()))
}

/// Where to run the system `git`: the working tree, or a bare repository.
fn git_dir(repo: &Repo) -> std::path::PathBuf {
    repo.workdir
        .clone()
        .unwrap_or_else(|| repo.repo.path().to_path_buf())
}
