//! Applying a change to the registry as exactly one commit on the current
//! branch: objects first, then a compare-and-swap of the branch ref, then the
//! working tree and index for the touched paths only. Before the ref moves
//! nothing visible has changed; a concurrent writer makes the swap fail
//! instead of being overwritten.

use crate::git::{Authorship, Context, GitError, Repo};
use crate::recovery::Journal;
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
    who: &Authorship,
) -> Result<git2::Oid, GitError> {
    let branch = repo.head_branch()?;
    let parent = repo.head_commit()?;
    let commit_id = build_commit(repo, parent.as_ref(), changes, message, who)?;
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

/// Writes the blobs, tree and commit object for `changes` on top of `parent`,
/// authored and committed by `who`. Objects are inert until a ref points at them.
pub fn build_commit(
    repo: &Repo,
    parent: Option<&git2::Commit<'_>>,
    changes: &[Change],
    message: &CommitMessage,
    who: &Authorship,
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
    let author = who.author.signature()?;
    let committer = who.committer.signature()?;
    let parents: Vec<&git2::Commit<'_>> = parent.into_iter().collect();
    git.commit(
        None,
        &author,
        &committer,
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
    // A model's file before its versions: a crash (or a reader) in between
    // then sees a model without its new version, which is valid, never a
    // version without its model.
    let mut ordered: Vec<&Change> = changes.iter().collect();
    ordered.sort_by_key(|c| !c.path.ends_with("/model.yaml"));
    for change in ordered {
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
        crate::fault::point("after-worktree-file");
    }
    index.write().context(|| "writing the index".into())?;
    crate::fault::point("after-index");
    Ok(())
}

/// Writes a file through a temporary file in the same folder and a rename,
/// so a reader (or a crash) never sees half of it.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), GitError> {
    let io = |context: String| move |source| GitError::Io { context, source };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    fs_err::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let mut builder = tempfile::Builder::new();
    // A recognisable name, so that one a crash leaves behind can be cleaned
    // up (crate::recovery); the leading dot keeps it out of the registry.
    builder.prefix(crate::recovery::TEMP_PREFIX);
    // Temporary files are private (0600); a registry file is an ordinary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(io(format!("creating a file in {}", dir.display())))?;
    // No fsync: like Git, which syncs neither working-tree files nor (by
    // default) objects and refs, regent protects against killed processes,
    // not power cuts; a rename is atomic for every reader and for SIGKILL.
    tmp.write_all(bytes)
        .map_err(io(format!("writing {}", path.display())))?;
    crate::fault::point("after-temp-file");
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

/// What one attempt produces: the files, the tags and the message, computed
/// from the commit the event is built on.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub changes: Vec<Change>,
    pub tags: Vec<String>,
    pub message: CommitMessage,
}

/// The result of [`apply`].
#[derive(Debug)]
pub struct Applied<T> {
    pub commit: git2::Oid,
    pub value: T,
    pub attempts: u32,
}

/// Builds one attempt of an event on the given commit.
pub type Prepare<'a, T, E> = dyn FnMut(&git2::Commit<'_>) -> Result<(Prepared, T), E> + 'a;

/// How many times a push that lost a race is rebuilt and retried.
pub const MAX_ATTEMPTS: u32 = 20;

/// Applies one event as one commit (and its annotated tags) on the current
/// branch, and with `push` on the remote branch too.
///
/// `prepare` is called with the commit to build on and may be called again:
/// when the branch (locally, or on the remote with `push`) moved meanwhile,
/// the event is rebuilt on the new head, so a registration is renumbered and
/// the policy judged again. Nothing is visible until a ref moves; a failure
/// leaves the branch, the tags, the index and the working tree as they were.
pub fn apply<T, E: From<GitError>>(
    repo: &Repo,
    push: Option<&PushTarget>,
    who: &Authorship,
    prepare: &mut Prepare<'_, T, E>,
) -> Result<Applied<T>, E> {
    let branch = repo.head_branch()?;
    let mut lost_attempt_started: Option<std::time::Instant> = None;
    for attempt in 1..=MAX_ATTEMPTS {
        if let Some(started) = lost_attempt_started {
            backoff(attempt, started.elapsed());
        }
        lost_attempt_started = Some(std::time::Instant::now());
        let local = repo.head_commit()?.ok_or_else(|| {
            GitError::Diverged("the branch has no commits yet; run `regent init` first".into())
        })?;
        let base = match push {
            None => local.clone(),
            Some(target) => push_base(repo, target, &local)?,
        };
        let (prepared, value) = prepare(&base)?;
        for tag in &prepared.tags {
            if repo
                .repo
                .find_reference(&format!("refs/tags/{tag}"))
                .is_ok()
            {
                return Err(GitError::TagExists(tag.clone()).into());
            }
        }
        let commit = build_commit(repo, Some(&base), &prepared.changes, &prepared.message, who)?;
        let tags = tag_objects(repo, commit, &prepared, who)?;
        crate::fault::point("after-objects");
        // From here a crash could leave the event visible but its files,
        // index or tag refs not yet written: the journal lets the next
        // command finish them (crate::recovery).
        let journal = Journal::write(repo, commit, &prepared.changes, &tags, push)?;
        if let Some(target) = push {
            match push_atomically(repo, target, base.id(), commit, &tags) {
                Ok(PushOutcome::Done) => crate::fault::point("after-push"),
                Ok(PushOutcome::Raced) => {
                    journal.remove();
                    continue;
                }
                Err(e) => {
                    journal.remove();
                    return Err(e.into());
                }
            }
            // Published: bring the local branch along (a fast-forward).
            if base.id() == local.id() {
                move_branch(
                    repo,
                    &branch,
                    Some(local.id()),
                    commit,
                    &prepared.message.subject,
                )?;
                crate::fault::point("after-branch");
                sync_work_tree(repo, &prepared.changes)?;
            } else {
                fast_forward(repo, &branch, &local, commit, &prepared.message.subject)?;
            }
        } else {
            match move_branch(
                repo,
                &branch,
                Some(local.id()),
                commit,
                &prepared.message.subject,
            ) {
                Ok(()) => {
                    crate::fault::point("after-branch");
                    sync_work_tree(repo, &prepared.changes)?;
                }
                Err(e) => {
                    journal.remove();
                    match e {
                        GitError::BranchMoved { .. } => continue,
                        e => return Err(e.into()),
                    }
                }
            }
        }
        for (name, id) in &tags {
            repo.repo
                .reference(
                    &format!("refs/tags/{name}"),
                    *id,
                    false,
                    &format!("regent: tag {name}"),
                )
                .context(|| format!("creating tag {name}"))?;
            crate::fault::point("after-tag");
        }
        journal.remove();
        crate::fault::point("after-journal-removed");
        return Ok(Applied {
            commit,
            value,
            attempts: attempt,
        });
    }
    Err(GitError::Contention {
        attempts: MAX_ATTEMPTS,
    }
    .into())
}

/// A random sleep before attempt `attempt` (2, 3, …) whose ceiling doubles
/// with each lost race (exponential backoff with full jitter), counted in
/// units of how long the lost attempt took. The window in which a racer can
/// lose, from the fetch to the push, is that long: tens of milliseconds on an
/// idle machine, a second on a loaded one. With a fixed short sleep, sixteen
/// racers on a loaded two-core machine all stayed in each other's windows, so
/// most pushes lost and the losers' work slowed the winner; spreading retries
/// over a few windows lets one win each round (the torture test in
/// tests/cli/torture.rs measures this).
fn backoff(attempt: u32, lost_attempt: std::time::Duration) {
    const MIN_UNIT: std::time::Duration = std::time::Duration::from_millis(50);
    const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(4);
    let unit = lost_attempt.max(MIN_UNIT);
    let doublings = attempt.saturating_sub(2).min(3);
    let ceiling = unit.saturating_mul(1 << doublings).min(MAX_SLEEP);
    let ceiling_ms = u64::try_from(ceiling.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let millis = 1 + crate::random::u64() % ceiling_ms;
    std::thread::sleep(std::time::Duration::from_millis(millis));
}

/// Annotated tag objects (not yet refs) for the commit, tagged by its
/// committer (as `git tag` does): pushed with it, and given local refs only
/// once the commit is published.
fn tag_objects(
    repo: &Repo,
    commit: git2::Oid,
    prepared: &Prepared,
    who: &Authorship,
) -> Result<Vec<(String, git2::Oid)>, GitError> {
    if prepared.tags.is_empty() {
        return Ok(Vec::new());
    }
    let target = repo
        .repo
        .find_object(commit, Some(git2::ObjectType::Commit))
        .context(|| format!("reading commit {commit}"))?;
    let tagger = who.committer.signature()?;
    prepared
        .tags
        .iter()
        .map(|name| {
            repo.repo
                .tag_annotation_create(name, &target, &tagger, &prepared.message.render())
                .map(|id| (name.clone(), id))
                .context(|| format!("writing tag {name}"))
        })
        .collect()
}

/// Fetches the target branch into its remote-tracking ref with the system
/// `git`; returns the remote's commit (None for a branch it does not have).
pub fn fetch_remote_head(repo: &Repo, target: &PushTarget) -> Result<Option<git2::Oid>, GitError> {
    let short = target.branch.trim_start_matches("refs/heads/");
    let tracking = format!("refs/remotes/{}/{short}", target.remote);
    let refspec = format!("+{}:{tracking}", target.branch);
    crate::git::run_git(
        &git_dir(repo),
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--",
            &target.remote,
            &refspec,
        ],
    )?;
    Ok(repo.repo.refname_to_id(&tracking).ok())
}

/// The commit to build on when pushing: the remote branch's head, fetched
/// now, as long as the local branch has nothing the remote lacks.
fn push_base<'r>(
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

enum PushOutcome {
    Done,
    Raced,
}

/// Pushes the commit and its tags in one atomic push: all or nothing.
/// `--porcelain` reports each ref's fate on stdout; a branch rejected
/// because the remote moved is a lost race (retry), a tag that exists while
/// the branch would have been accepted is a real conflict.
fn push_atomically(
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

/// Moves the local branch from `from` forward to `to`, updating the files
/// that changed in between unless the user changed them (then it stops, as
/// `git merge --ff-only` would, and says so).
fn fast_forward(
    repo: &Repo,
    branch: &str,
    from: &git2::Commit<'_>,
    to: git2::Oid,
    subject: &str,
) -> Result<(), GitError> {
    let object = repo
        .repo
        .find_object(to, Some(git2::ObjectType::Commit))
        .context(|| format!("reading {to}"))?;
    if repo.workdir.is_some() {
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.safe();
        repo.repo
            .checkout_tree(&object, Some(&mut checkout))
            .context(|| {
                "the event was pushed, but your working tree has changes in files it updates; \
             run `git pull --ff-only` once they are committed or stashed"
                    .into()
            })?;
        crate::fault::point("after-checkout");
    }
    move_branch(repo, branch, Some(from.id()), to, subject)
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
