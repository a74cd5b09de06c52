//! Git access. git2 for objects, refs, the index and the working tree; the
//! system `git` only for the network (push/fetch), so credential helpers and
//! Actions' checkout credentials work. Everything here is about repositories,
//! nothing about what a registry means.

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
            GitError::Shallow(_) => Some(
                "fetch the whole history: `git fetch --unshallow` (in GitHub Actions, \
                 actions/checkout with `fetch-depth: 0`)"
                    .into(),
            ),
            GitError::BadRevision { .. } => {
                Some("use a commit id, a branch, a tag, or an expression like HEAD~2".into())
            }
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

    /// The committer/author signature: Git's environment variables and
    /// configuration, as `git commit` would use them, else the actor.
    pub fn signature(&self, actor: &str) -> Result<git2::Signature<'static>, GitError> {
        let config = self.repo.config().ok();
        let from_config = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
        let name = std::env::var("GIT_AUTHOR_NAME")
            .ok()
            .or_else(|| from_config("user.name"))
            .unwrap_or_else(|| actor.to_owned());
        let email = std::env::var("GIT_AUTHOR_EMAIL")
            .ok()
            .or_else(|| from_config("user.email"))
            .unwrap_or_else(|| "regent@localhost".to_owned());
        let when = std::env::var("GIT_AUTHOR_DATE")
            .ok()
            .and_then(|d| parse_git_date(&d))
            .unwrap_or_else(|| {
                let now = crate::time::now();
                git2::Time::new(now.as_second(), 0)
            });
        git2::Signature::new(&name, &email, &when).context(|| "making the commit signature".into())
    }

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
    pub fn is_dirty_outside(&self, exclude: &[String]) -> Result<bool, GitError> {
        let mut options = git2::StatusOptions::new();
        options.include_untracked(false).include_ignored(false);
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

/// Git's date formats for `GIT_AUTHOR_DATE`: `@<seconds> <tz>`, `<seconds> <tz>`, or RFC 3339.
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
    fn parses_git_dates() {
        let t = parse_git_date("@1700000000 +0100").unwrap();
        assert_eq!((t.seconds(), t.offset_minutes()), (1_700_000_000, 60));
        let t = parse_git_date("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(t.seconds(), 1_767_323_045);
    }
}
