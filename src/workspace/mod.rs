//! Applying a change to the registry as exactly one commit on the current
//! branch: objects first, then a compare-and-swap of the branch ref, then the
//! working tree and index for the touched paths only. Before the ref moves
//! nothing visible has changed; a concurrent writer makes the swap fail
//! instead of being overwritten.

mod remote;

pub use remote::{PushTarget, fetch_remote_head, push, push_target};

use crate::git::{Authorship, Context, GitError, Repo};
use crate::lock::CheckoutLock;
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

/// Takes the checkout's lock (crate::lock), waiting for another writer at
/// most `REGENT_LOCK_TIMEOUT` seconds.
pub fn lock(repo: &Repo) -> Result<CheckoutLock, GitError> {
    Ok(CheckoutLock::acquire(repo.repo.path())?)
}

/// Commits `changes` on the current branch and updates the working tree and
/// index for those paths. Returns the new commit's id. `_lock` is the
/// checkout's lock, held since before the caller read what it judged.
pub fn commit(
    repo: &Repo,
    _lock: &CheckoutLock,
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
    // libgit2 keeps the index it read first; another writer (under the lock,
    // before this process took it) may have replaced the file since, and
    // writing back a stale copy would drop that writer's entries. An
    // unforced read reloads exactly then: libgit2 compares the file's
    // trailing checksum with that of its last good read, and skips parsing
    // and hashing the whole file again (a megabyte at 10,000 runs)
    // otherwise. That is safe only because nothing in regent lets libgit2
    // keep a half-parsed index: every read is checked (git/status.rs
    // refreshes it itself and forces a reload after a failed read).
    index.read(false).context(|| "reading the index".into())?;
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
    /// Things the user should know although the event was applied.
    pub warnings: Vec<String>,
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
///
/// `lock` is the checkout's lock, held by the caller since before it read
/// anything it judged. Without `push` it stays held throughout. With `push`
/// it is let go while the event is built on the remote's head and pushed
/// (network work that reads and writes nothing of the checkout's but
/// objects and this process's own journal), so other writers in the
/// checkout need not wait for the network, and taken again to bring the
/// branch, files and index along; meanwhile the checkout's push lock keeps
/// pushers in this checkout from racing each other.
pub fn apply<T, E: From<GitError>>(
    repo: &Repo,
    push: Option<&PushTarget>,
    who: &Authorship,
    lock: &mut CheckoutLock,
    prepare: &mut Prepare<'_, T, E>,
) -> Result<Applied<T>, E> {
    let branch = repo.head_branch()?;
    // Pushers in this checkout take turns among themselves (crate::lock).
    let mut pushing = None;
    if push.is_some() {
        lock.release();
        pushing = Some(CheckoutLock::acquire_pushing(repo.repo.path()).map_err(GitError::from)?);
    }
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
            Some(target) => remote::push_base(repo, target, &local)?,
        };
        let (prepared, value) = prepare(&base)?;
        for tag in &prepared.tags {
            if repo
                .repo
                .find_reference(&format!("refs/tags/{tag}"))
                .is_ok()
            {
                return Err(repo.tag_conflict(tag).into());
            }
        }
        let commit = build_commit(repo, Some(&base), &prepared.changes, &prepared.message, who)?;
        let tags = tag_objects(repo, commit, &prepared, who)?;
        crate::fault::point("after-objects");
        // From here a crash could leave the event visible but its files,
        // index or tag refs not yet written: the journal lets the next
        // command finish them (crate::recovery).
        let journal = Journal::write(repo, commit, &prepared.changes, &tags, push)?;
        let mut warnings = Vec::new();
        if let Some(target) = push {
            match remote::push_atomically(repo, target, base.id(), commit, &tags) {
                Ok(remote::PushOutcome::Done) => crate::fault::point("after-push"),
                Ok(remote::PushOutcome::Raced) => {
                    journal.remove();
                    continue;
                }
                Err(e) => {
                    journal.remove();
                    return Err(e.into());
                }
            }
            drop(pushing.take());
            // Published. Whatever stops the rest leaves the journal, so the
            // next command in this checkout finishes it (crate::recovery).
            let pushed = |reason: String| GitError::Pushed {
                remote: target.remote.clone(),
                commit: commit.to_string()[..12].to_owned(),
                reason,
            };
            lock.reacquire().map_err(|e| pushed(e.to_string()))?;
            if let Some(warning) =
                bring_along(repo, &branch, &base, commit, &prepared, &target.remote)
                    .map_err(|e| pushed(e.to_string()))?
            {
                warnings.push(warning);
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
            create_tag_ref(repo, name, *id)?;
            crate::fault::point("after-tag");
        }
        journal.remove();
        crate::fault::point("after-journal-removed");
        return Ok(Applied {
            commit,
            value,
            attempts: attempt,
            warnings,
        });
    }
    Err(GitError::Contention {
        attempts: MAX_ATTEMPTS,
    }
    .into())
}

/// Commits several changes as a chain of commits on the current branch,
/// made visible at once: the branch moves a single time, from its head to
/// the last of them, so a failure before that leaves nothing (`regent
/// import`: one commit per experiment and per model, all or none). No tags,
/// no push. Returns the commits, oldest first.
pub fn apply_chain(
    repo: &Repo,
    who: &Authorship,
    _lock: &CheckoutLock,
    commits: &[(Vec<Change>, CommitMessage)],
) -> Result<Vec<git2::Oid>, GitError> {
    let branch = repo.head_branch()?;
    let head = repo.head_commit()?.ok_or_else(|| {
        GitError::Diverged("the branch has no commits yet; run `regent init` first".into())
    })?;
    let ids = build_chain(repo, who, &head, commits)?;
    let Some(&last) = ids.last() else {
        return Ok(ids);
    };
    // Each path is touched by one commit of the chain (an experiment's runs,
    // a model's files), so the last commit holds every path's final content.
    let all: Vec<Change> = commits
        .iter()
        .flat_map(|(c, _)| c.iter().cloned())
        .collect();
    let journal = Journal::write(repo, last, &all, &[], None)?;
    let subject = commits
        .last()
        .map(|(_, m)| m.subject.clone())
        .unwrap_or_default();
    if let Err(e) = move_branch(repo, &branch, Some(head.id()), last, &subject) {
        journal.remove();
        return Err(e);
    }
    sync_work_tree(repo, &all)?;
    journal.remove();
    Ok(ids)
}

/// Builds `commits` as a chain on `parent` (objects only: no ref moves).
/// Returns the commits, oldest first.
pub fn build_chain(
    repo: &Repo,
    who: &Authorship,
    parent: &git2::Commit<'_>,
    commits: &[(Vec<Change>, CommitMessage)],
) -> Result<Vec<git2::Oid>, GitError> {
    let mut ids = Vec::with_capacity(commits.len());
    let mut parent = parent.clone();
    for (changes, message) in commits {
        let id = build_commit(repo, Some(&parent), changes, message, who)?;
        parent = repo
            .repo
            .find_commit(id)
            .context(|| format!("reading commit {id}"))?;
        ids.push(id);
    }
    Ok(ids)
}

/// After a push, with the lock held again: moves the local branch to the
/// pushed `commit` (built on `base`) and brings the files and index along.
/// Other writers in this checkout may have moved the branch meanwhile: past
/// the commit (nothing to do), or to a commit it builds on (a fast-forward).
/// Returns a warning when the branch took commits of its own instead, which
/// only a rebase can reconcile.
fn bring_along(
    repo: &Repo,
    branch: &str,
    base: &git2::Commit<'_>,
    commit: git2::Oid,
    prepared: &Prepared,
    remote: &str,
) -> Result<Option<String>, GitError> {
    let subject = &prepared.message.subject;
    let Some(head) = repo.head_commit()? else {
        return Err(GitError::Diverged(format!("{branch} no longer exists")));
    };
    let descends =
        |a: git2::Oid, b: git2::Oid| repo.repo.graph_descendant_of(a, b).unwrap_or(false);
    if head.id() == base.id() {
        move_branch(repo, branch, Some(head.id()), commit, subject)?;
        crate::fault::point("after-branch");
        sync_work_tree(repo, &prepared.changes)?;
    } else if head.id() == commit || descends(head.id(), commit) {
        // Another command in this checkout already brought it along.
    } else if descends(commit, head.id()) {
        fast_forward(repo, branch, &head, commit, subject)?;
    } else {
        let short = branch.trim_start_matches("refs/heads/");
        return Ok(Some(format!(
            "the event is on {remote}, but your branch {short} took commits of its own \
             meanwhile, so it does not include it yet: `git pull --rebase` brings it along"
        )));
    }
    Ok(None)
}

/// Points the tag `name` at the tag object `id`; one already pointing there
/// (made by the recovery of an earlier, interrupted attempt) is fine, any
/// other is never moved.
fn create_tag_ref(repo: &Repo, name: &str, id: git2::Oid) -> Result<(), GitError> {
    let refname = format!("refs/tags/{name}");
    if repo.repo.refname_to_id(&refname).ok() == Some(id) {
        return Ok(());
    }
    repo.repo
        .reference(&refname, id, false, &format!("regent: tag {name}"))
        .map(|_| ())
        .context(|| format!("creating tag {name}"))
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
                "your working tree has changes in files it updates; \
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
