//! Git access. git2 for objects, refs, the index and the working tree; the
//! system `git` only for the network (push/fetch), so credential helpers and
//! Actions' checkout credentials work. Everything here is about repositories,
//! nothing about what a registry means.

mod code_commit;
pub mod leftovers;
mod status;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Git failure, with what regent was doing and a hint when there is one.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{} is not inside a Git repository", path.display())]
    NotARepository { path: PathBuf },
    #[error("no regent.yaml in {} or any folder above it in this repository", start.display())]
    NotARegistry { start: PathBuf },
    #[error("this bare repository has {0}")]
    BareRegistry(String),
    #[error("cannot resolve revision {rev:?}: {message}")]
    BadRevision { rev: String, message: String },
    #[error("{rev} has no commit at or before {at}: its history starts at {first}")]
    BeforeHistory {
        rev: String,
        at: String,
        first: String,
    },
    #[error("HEAD is detached; regent commits to a branch")]
    DetachedHead,
    #[error(
        "the branch {branch} moved while regent was writing (another process committed); nothing was changed"
    )]
    BranchMoved { branch: String },
    #[error("this repository has no working tree")]
    NoWorkingTree,
    #[error("the remote branch kept moving: gave up after {attempts} attempts; nothing was pushed")]
    Contention { attempts: u32 },
    #[error("{0}")]
    Diverged(String),
    #[error("tag {0} already exists")]
    TagExists(String),
    /// The tag is on a commit no branch (local or remote-tracking)
    /// contains: left behind when its commit was removed.
    #[error(
        "tag {tag} already exists, on commit {} that no branch contains (left behind when that commit was removed, e.g. by `git reset`)",
        &commit[..12]
    )]
    TagLeftover {
        tag: String,
        commit: String,
        /// Some remote has the tag (its remote-tracking refs, as last fetched).
        on_remote: bool,
    },
    #[error("{context}: {source}")]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`git {command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    /// A shallow clone: the history that judges or tags events is cut short.
    #[error("this is a shallow clone, so {0} cannot be trusted: the history it reads is cut short")]
    Shallow(String),
    /// The event reached the remote, but this checkout could not be brought along.
    #[error(
        "the event was pushed to {remote} (commit {commit}), but your branch could not be brought along: {reason}"
    )]
    Pushed {
        remote: String,
        commit: String,
        reason: String,
    },
    /// Another process kept the checkout's lock (crate::lock) too long.
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

impl GitError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            GitError::NotARepository { .. } => {
                Some("run `git init` first, or pass `-C DIR` to point at a repository".into())
            }
            GitError::NotARegistry { .. } => Some(
                "run `regent init` to create a registry here, or pass `-C DIR` to point at one"
                    .into(),
            ),
            GitError::DetachedHead => Some("check out a branch: `git switch <branch>`".into()),
            GitError::BranchMoved { .. } | GitError::Contention { .. } => {
                Some("run the command again".into())
            }
            GitError::TagExists(_) => Some(
                "tags are never moved; check the tag formats in regent.yaml or who created the tag"
                    .into(),
            ),
            GitError::TagLeftover {
                tag,
                on_remote: false,
                ..
            } => Some(format!(
                "no remote branch has its commit, so it was never published: delete it with \
                 `git tag -d {tag}` and run the command again (`regent doctor` lists every such tag)"
            )),
            GitError::TagLeftover { tag, .. } => Some(format!(
                "it was pushed: published tags are never moved. Bring the branch back to the \
                 remote's (`git pull --ff-only`) or ask who removed that commit; `git tag -d {tag}` \
                 only hides it locally"
            )),
            GitError::Shallow(_) => Some(
                "fetch the whole history: `git fetch --unshallow` (in GitHub Actions, \
                 actions/checkout with `fetch-depth: 0`)"
                    .into(),
            ),
            GitError::BeforeHistory { first, .. } => Some(format!(
                "nothing existed then; give a time at or after {first}"
            )),
            GitError::BadRevision { .. } => {
                Some("use a commit id, a branch, a tag, or an expression like HEAD~2".into())
            }
            GitError::Lock(e) => e.hint(),
            GitError::Pushed { .. } => Some(
                "the next regent command in this checkout finishes bringing it along, \
                 or run `git pull --ff-only`"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl Repo {
    /// Refuses a shallow clone for `what` (the gate, publish): judging or
    /// tagging from a truncated history would miss earlier events.
    pub fn require_full_history(&self, what: &str) -> Result<(), GitError> {
        if self.repo.is_shallow() {
            return Err(GitError::Shallow(what.to_owned()));
        }
        Ok(())
    }
}

/// Adds context to git2 errors.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, GitError>;
}

impl<T> Context<T> for Result<T, git2::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, GitError> {
        self.map_err(|source| GitError::Git {
            context: what(),
            source,
        })
    }
}

/// A repository and where the registry sits in it.
pub struct Repo {
    pub repo: git2::Repository,
    /// The working tree, absent in a bare repository.
    pub workdir: Option<PathBuf>,
    /// The registry folder relative to the repository root, `/`-separated,
    /// empty when the registry is the root.
    pub prefix: String,
    /// git's author and committer identities, once asked ([`Repo::git_ident`]).
    author: OnceCell<Result<Ident, String>>,
    committer: OnceCell<Result<Ident, String>>,
}

/// Whose identity: `git var GIT_AUTHOR_IDENT` or `GIT_COMMITTER_IDENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Author,
    Committer,
}

impl Role {
    fn variable(self) -> &'static str {
        match self {
            Role::Author => "GIT_AUTHOR_IDENT",
            Role::Committer => "GIT_COMMITTER_IDENT",
        }
    }

    fn date_variable(self) -> &'static str {
        match self {
            Role::Author => "GIT_AUTHOR_DATE",
            Role::Committer => "GIT_COMMITTER_DATE",
        }
    }
}

/// What git ends with when it cannot tell who is committing (its messages
/// under `LC_ALL=C`, from ident.c).
const NO_IDENTITY: &[&str] = &[
    "Please tell me who you are",
    "unable to auto-detect",
    "auto-detection is disabled",
    "empty ident name",
    "consists only of disallowed characters",
];

/// One identity: a name, an email and a date, as in a commit's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch and the offset in minutes east of UTC.
    pub seconds: i64,
    pub offset_minutes: i32,
    /// The date was given (`GIT_AUTHOR_DATE`, `GIT_COMMITTER_DATE`,
    /// `REGENT_NOW`); otherwise it is "now", taken again for each commit.
    pub pinned: bool,
}

impl Ident {
    /// Who commits when git has no identity: the actor at `regent@localhost`,
    /// dated by git's date variable (the formats regent reads without git)
    /// or regent's clock.
    fn fallback(role: Role, name: &str) -> Ident {
        let given = std::env::var(role.date_variable())
            .ok()
            .and_then(|d| parse_git_date(&d));
        let (seconds, offset_minutes, pinned) = match given {
            Some(t) => (t.seconds(), t.offset_minutes(), true),
            None => {
                let fixed = std::env::var("REGENT_NOW")
                    .ok()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok());
                let now = fixed.unwrap_or_else(jiff::Timestamp::now);
                (now.as_second(), 0, fixed.is_some())
            }
        };
        Ident {
            name: name.to_owned(),
            email: "regent@localhost".to_owned(),
            seconds,
            offset_minutes,
            pinned,
        }
    }

    /// The signature for a commit or a tag made now.
    pub fn signature(&self) -> Result<git2::Signature<'static>, GitError> {
        let seconds = if self.pinned {
            self.seconds
        } else {
            jiff::Timestamp::now().as_second()
        };
        let when = git2::Time::new(seconds, self.offset_minutes);
        git2::Signature::new(&self.name, &self.email, &when)
            .context(|| format!("making the signature of {} <{}>", self.name, self.email))
    }
}

/// The author and committer of a commit regent makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorship {
    pub author: Ident,
    pub committer: Ident,
}

impl Authorship {
    /// The committer as author too (an approval is the committer's own act).
    pub fn committer_only(committer: Ident) -> Authorship {
        Authorship {
            author: committer.clone(),
            committer,
        }
    }
}

impl Repo {
    /// Opens the repository containing `start`, without looking for a registry (for `init`).
    pub fn discover(start: &Path) -> Result<Repo, GitError> {
        // libgit2 re-hashes every object it reads by default (SHA-1 with
        // collision detection): a third of a history walk's time. Git itself
        // does not on reads; `git fsck` is the tool for that.
        static SETUP: std::sync::Once = std::sync::Once::new();
        SETUP.call_once(|| git2::opts::strict_hash_verification(false));
        if !start.is_dir() {
            return Err(GitError::Io {
                context: format!("cannot use {}", start.display()),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
            });
        }
        let repo = git2::Repository::discover(start).map_err(|_| GitError::NotARepository {
            path: start.to_path_buf(),
        })?;
        let workdir = repo.workdir().map(canonical);
        Ok(Repo {
            repo,
            workdir,
            prefix: String::new(),
            author: OnceCell::new(),
            committer: OnceCell::new(),
        })
    }

    /// Opens the registry around `start`: the nearest folder at or above it
    /// holding `regent.yaml`, like cargo finds Cargo.toml. In a bare
    /// repository the registry is found in HEAD's tree.
    pub fn open_registry(start: &Path) -> Result<Repo, GitError> {
        let mut repo = Repo::discover(start)?;
        match repo.workdir.clone() {
            Some(workdir) => {
                let start = canonical(start);
                let mut dir = start.as_path();
                loop {
                    let config = dir.join(crate::registry::Layout::CONFIG);
                    if config.is_file() {
                        repo.prefix = relative_prefix(&workdir, dir);
                        return Ok(repo);
                    }
                    // Walking past it would say "no regent.yaml" beside one.
                    if config.is_dir() {
                        return Err(GitError::Io {
                            context: format!("cannot use {}", config.display()),
                            source: std::io::Error::other(
                                "it is a folder; a registry's regent.yaml must be a file",
                            ),
                        });
                    }
                    if dir == workdir {
                        break;
                    }
                    match dir.parent() {
                        Some(parent) if parent.starts_with(&workdir) => dir = parent,
                        _ => break,
                    }
                }
                Err(GitError::NotARegistry { start })
            }
            None => {
                repo.prefix = repo.find_registry_in_head()?;
                Ok(repo)
            }
        }
    }

    /// Sets the registry folder for `init`: `dir` relative to the working tree.
    pub fn set_registry_dir(&mut self, dir: &Path) -> Result<PathBuf, GitError> {
        let workdir = self.workdir.clone().ok_or(GitError::NoWorkingTree)?;
        let dir = canonical(dir);
        self.prefix = relative_prefix(&workdir, &dir);
        Ok(dir)
    }

    /// The registry folder on disk.
    pub fn registry_dir(&self) -> Result<PathBuf, GitError> {
        let workdir = self.workdir.as_ref().ok_or(GitError::NoWorkingTree)?;
        Ok(if self.prefix.is_empty() {
            workdir.clone()
        } else {
            workdir.join(&self.prefix)
        })
    }

    /// A registry-relative path as a repository-relative one.
    pub fn repo_path(&self, registry_path: &str) -> String {
        if self.prefix.is_empty() {
            registry_path.to_owned()
        } else {
            format!("{}/{registry_path}", self.prefix)
        }
    }

    /// In a bare repository: the folder of HEAD's `regent.yaml` (the root's,
    /// or the only one within four levels).
    fn find_registry_in_head(&self) -> Result<String, GitError> {
        let commit = self
            .resolve("HEAD")
            .map_err(|_| GitError::BareRegistry("no commits".into()))?;
        let tree = commit.tree().context(|| "reading HEAD's tree".into())?;
        if tree.get_name(crate::registry::Layout::CONFIG).is_some() {
            return Ok(String::new());
        }
        let mut found = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let depth = dir.matches('/').count();
            if depth > 4 {
                return git2::TreeWalkResult::Skip;
            }
            if entry.name().ok() == Some(crate::registry::Layout::CONFIG)
                && entry.kind() == Some(git2::ObjectType::Blob)
            {
                found.push(dir.trim_end_matches('/').to_owned());
            }
            git2::TreeWalkResult::Ok
        })
        .context(|| "searching HEAD for regent.yaml".into())?;
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(GitError::BareRegistry("no regent.yaml in HEAD".into())),
            _ => Err(GitError::BareRegistry(format!(
                "several registries in HEAD ({}); run regent from a checkout of the one you mean",
                found.join(", ")
            ))),
        }
    }

    /// Resolves a revision (commit id, branch, tag, `HEAD~2`) to a commit.
    pub fn resolve(&self, rev: &str) -> Result<git2::Commit<'_>, GitError> {
        let bad = |message: String| GitError::BadRevision {
            rev: rev.to_owned(),
            message,
        };
        if rev.starts_with('-') {
            return Err(bad("revisions cannot start with `-`".into()));
        }
        let object = self
            .repo
            .revparse_single(rev)
            .map_err(|e| bad(e.message().to_owned()))?;
        object
            .peel_to_commit()
            .map_err(|e| bad(e.message().to_owned()))
    }

    /// HEAD's commit, or None on an unborn branch.
    pub fn head_commit(&self) -> Result<Option<git2::Commit<'_>>, GitError> {
        match self.repo.head() {
            Ok(head) => Ok(Some(
                head.peel_to_commit()
                    .context(|| "reading HEAD's commit".into())?,
            )),
            Err(e)
                if e.code() == git2::ErrorCode::UnbornBranch
                    || e.code() == git2::ErrorCode::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(GitError::Git {
                context: "reading HEAD".into(),
                source: e,
            }),
        }
    }

    /// The branch HEAD points at (`refs/heads/main`), born or not.
    pub fn head_branch(&self) -> Result<String, GitError> {
        let head = self
            .repo
            .find_reference("HEAD")
            .context(|| "reading HEAD".into())?;
        match head.symbolic_target() {
            Ok(Some(target)) => Ok(target.to_owned()),
            _ => Err(GitError::DetachedHead),
        }
    }

    /// Reads a blob, refusing one larger than `max` bytes before reading it.
    pub fn read_blob(&self, id: git2::Oid, max: u64) -> Result<Result<Vec<u8>, u64>, GitError> {
        let odb = self
            .repo
            .odb()
            .context(|| "opening the object database".into())?;
        let (size, _) = odb
            .read_header(id)
            .context(|| format!("reading object {id}"))?;
        if size as u64 > max {
            return Ok(Err(size as u64));
        }
        let blob = self
            .repo
            .find_blob(id)
            .context(|| format!("reading blob {id}"))?;
        Ok(Ok(blob.content().to_vec()))
    }

    /// git's own identity for `role`, as `git commit` would use it: the
    /// answer of `git var GIT_AUTHOR_IDENT` (or `GIT_COMMITTER_IDENT`) run in
    /// this repository with regent's environment, so `GIT_AUTHOR_*`,
    /// `GIT_COMMITTER_*`, `GIT_CONFIG_GLOBAL`, `GIT_CONFIG_NOSYSTEM` and
    /// `includeIf` count as they do for git (libgit2 alone ignores some of
    /// them). `Ok(Err(reason))` when git has no identity ("Please tell me who
    /// you are"). Asked once per role and process, and only by commands that
    /// commit: read commands never start `git`.
    pub fn git_ident(&self, role: Role) -> Result<Result<Ident, String>, GitError> {
        let cell = match role {
            Role::Author => &self.author,
            Role::Committer => &self.committer,
        };
        if let Some(known) = cell.get() {
            return Ok(known.clone());
        }
        let answer = self.ask_git_ident(role)?;
        Ok(cell.get_or_init(|| answer).clone())
    }

    fn ask_git_ident(&self, role: Role) -> Result<Result<Ident, String>, GitError> {
        let dir = self
            .workdir
            .clone()
            .unwrap_or_else(|| self.repo.path().to_path_buf());
        let variable = role.variable();
        let mut command = Command::new("git");
        command.arg("-C").arg(&dir).args(["var", variable]);
        // git's messages in English, so that "no identity" can be told from
        // other failures; the identity itself does not depend on the locale.
        command.env("LC_ALL", "C");
        // REGENT_NOW pins regent's clock, the commit's date included, unless
        // git's own date variable is set.
        let mut pinned = env_is_set(role.date_variable());
        if !pinned
            && let Ok(fixed) = std::env::var("REGENT_NOW")
            && let Ok(ts) = fixed.parse::<jiff::Timestamp>()
        {
            command.env(role.date_variable(), format!("@{} +0000", ts.as_second()));
            pinned = true;
        }
        let output = command.output().map_err(|source| GitError::Io {
            context: format!("running the system `git` to read {variable}"),
            source,
        })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            let reason = stderr
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("git has no identity")
                .trim_start_matches("fatal: ")
                .to_owned();
            return if NO_IDENTITY.iter().any(|m| stderr.contains(m)) {
                Ok(Err(reason))
            } else {
                Err(GitError::Command {
                    command: format!("var {variable}"),
                    stderr: strip_credentials(&reason),
                })
            };
        }
        let text = String::from_utf8_lossy(&output.stdout);
        parse_ident(text.trim_end_matches(['\n', '\r']), pinned)
            .map(Ok)
            .ok_or_else(|| GitError::Command {
                command: format!("var {variable}"),
                stderr: format!("cannot read its answer {:?}", text.trim()),
            })
    }

    /// The author and committer of a commit regent makes: git's identities
    /// (see [`Repo::git_ident`]); when git has none, `fallback` (the actor)
    /// with the email `regent@localhost`.
    pub fn authorship(&self, fallback: &str) -> Result<Authorship, GitError> {
        Ok(Authorship {
            author: self.ident_or(Role::Author, fallback)?,
            committer: self.ident_or(Role::Committer, fallback)?,
        })
    }

    fn ident_or(&self, role: Role, fallback: &str) -> Result<Ident, GitError> {
        Ok(match self.git_ident(role)? {
            Ok(ident) => ident,
            Err(_) => Ident::fallback(role, fallback),
        })
    }

    /// The committer's signature (an annotated tag's tagger, as for `git tag`).
    pub fn signature(&self, actor: &str) -> Result<git2::Signature<'static>, GitError> {
        self.ident_or(Role::Committer, actor)?.signature()
    }

    /// The URL of the branch's upstream remote (else `origin`), without any
    /// credentials embedded in it.
    pub fn remote_url(&self) -> Option<String> {
        let name = self.upstream_remote().unwrap_or_else(|| "origin".into());
        let remote = self.repo.find_remote(&name).ok()?;
        remote.url().ok().map(strip_credentials)
    }

    /// The remote the current branch tracks, from `branch.<name>.remote`.
    pub fn upstream_remote(&self) -> Option<String> {
        let branch = self.head_branch().ok()?;
        let short = branch.strip_prefix("refs/heads/")?;
        let config = self.repo.config().ok()?;
        config.get_string(&format!("branch.{short}.remote")).ok()
    }
}

/// Turns libgit2's object cache off until dropped. A history walk touches
/// each commit's trees once or twice: caching them only fills memory (450 MB
/// for 31k commits) and costs time, while path lookups elsewhere (validate,
/// show) gain from the cache, so it is off only during walks.
pub struct NoObjectCache(());

impl NoObjectCache {
    pub fn new() -> NoObjectCache {
        git2::opts::enable_caching(false);
        NoObjectCache(())
    }
}

impl Default for NoObjectCache {
    fn default() -> Self {
        NoObjectCache::new()
    }
}

impl Drop for NoObjectCache {
    fn drop(&mut self) {
        git2::opts::enable_caching(true);
    }
}

/// Runs the system `git` in `dir`; arguments are passed as they are, never through a shell.
pub fn run_git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|source| GitError::Io {
            context: "running the system `git`".into(),
            source,
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(GitError::Command {
            command: args.join(" "),
            stderr: strip_credentials(String::from_utf8_lossy(&output.stderr).trim()),
        })
    }
}

/// Removes `user:password@` from URLs (also inside longer text), so tokens
/// stored in remote URLs never reach a file or the terminal.
pub fn strip_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `/`-separated path of `dir` relative to `root` (empty for the root itself).
fn relative_prefix(root: &Path, dir: &Path) -> String {
    dir.strip_prefix(root)
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

fn canonical(path: &Path) -> PathBuf {
    fs_err::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether an environment variable is set and not empty (git treats an
/// empty `GIT_AUTHOR_DATE` as unset).
fn env_is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Reads `Name <email> 1767323045 +0100`, the answer of `git var GIT_*_IDENT`
/// (git has removed `<`, `>` and newlines from the name and the email).
fn parse_ident(text: &str, pinned: bool) -> Option<Ident> {
    let close = text.rfind('>')?;
    let open = text[..close].rfind('<')?;
    let name = text[..open].trim().to_owned();
    let email = text[open + 1..close].to_owned();
    let mut date = text[close + 1..].split_whitespace();
    let seconds = date.next()?.parse::<i64>().ok()?;
    let offset_minutes = parse_tz_offset(date.next()?)?;
    if name.is_empty() || date.next().is_some() {
        return None;
    }
    Some(Ident {
        name,
        email,
        seconds,
        offset_minutes,
        pinned,
    })
}

/// Some of git's date formats for `GIT_AUTHOR_DATE`, for when git has no
/// identity to date: `@<seconds> <tz>`, `<seconds> <tz>`, or RFC 3339.
fn parse_git_date(text: &str) -> Option<git2::Time> {
    let text = text.trim();
    let mut parts = text.trim_start_matches('@').split_whitespace();
    if let Some(Ok(secs)) = parts.next().map(str::parse::<i64>) {
        let offset = parts.next().and_then(parse_tz_offset).unwrap_or(0);
        return Some(git2::Time::new(secs, offset));
    }
    let ts: jiff::Timestamp = text.parse().ok()?;
    Some(git2::Time::new(ts.as_second(), 0))
}

/// `+0130` -> 90 minutes.
fn parse_tz_offset(text: &str) -> Option<i32> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => (1, text),
    };
    if digits.len() != 4 {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    Some(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials_from_urls() {
        assert_eq!(
            strip_credentials("https://x-access-token:ghs_abc@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("fatal: unable to access 'https://tok@github.com/o/r/': 403"),
            "fatal: unable to access 'https://github.com/o/r/': 403"
        );
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
    }

    #[test]
    fn parses_git_var_idents() {
        let ident = parse_ident("Ada Lovelace <ada@example.com> 1767323045 -0130", true).unwrap();
        assert_eq!(ident.name, "Ada Lovelace");
        assert_eq!(ident.email, "ada@example.com");
        assert_eq!((ident.seconds, ident.offset_minutes), (1_767_323_045, -90));
        let ident = parse_ident("x <> 1 +0000", false).unwrap();
        assert_eq!((ident.name.as_str(), ident.email.as_str()), ("x", ""));
        assert!(!ident.pinned);
        for bad in [
            "",
            "no email 1 +0000",
            " <a@b> 1 +0000",
            "a <b> +0000",
            "a <b> 1",
            "a <b> 1 +0000 extra",
        ] {
            assert_eq!(parse_ident(bad, true), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_git_dates() {
        let t = parse_git_date("@1700000000 +0100").unwrap();
        assert_eq!((t.seconds(), t.offset_minutes()), (1_700_000_000, 60));
        let t = parse_git_date("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(t.seconds(), 1_767_323_045);
    }
}
