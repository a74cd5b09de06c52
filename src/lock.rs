//! One writer at a time in a checkout.
//!
//! A command that changes the registry reads HEAD, writes objects, moves the
//! branch and then brings the working tree and the index along. The branch
//! moves with a compare-and-swap, but the index cannot: updating it is a
//! read-modify-write of one file, so of two processes doing it at once the
//! later writes back the index it read and drops the other's new entries
//! (Git then shows those committed files as staged deletions), and two
//! updates of one model's file can land in the wrong order. So every command
//! that writes to a checkout holds an exclusive lock on `regent/lock` in the
//! Git directory (per worktree, like the index it protects) from before it
//! reads HEAD until its files, index and crash journal are done.
//!
//! It is an OS file lock (`flock(2)` on Unix, `LockFileEx` on Windows, through
//! std's [`std::fs::File::try_lock`]). The kernel ties it to the open file and
//! drops it when the process ends, however it ends (SIGKILL included), so it
//! can never be left stale, and regent opens files close-on-exec, so a `git`
//! it starts never inherits it. The file itself stays: deleting it while a
//! process holds or waits for it would let a second process lock a new file
//! of the same name. The holder writes its pid and command line into it, so
//! that a waiter that gives up can say who holds it.
//!
//! A second lock, `regent/push-lock`, lets one `--push` at a time from a
//! checkout do its network work (fetch, build on the remote's head, push)
//! while the checkout's lock is free for everyone else. Without it, pushers
//! in one checkout race each other on the remote: all but one lose each
//! round and build again, which doubled the time of sixteen pushers and,
//! against a slow remote, could exhaust their retries. No process holds
//! both locks at once, so they cannot deadlock.

use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a command waits for the lock unless `REGENT_LOCK_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable holding the wait in seconds.
pub const TIMEOUT_VAR: &str = "REGENT_LOCK_TIMEOUT";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another regent command is {doing} this checkout: gave up after waiting {waited} for {} ({holder}); nothing was written",
        path.display()
    )]
    Timeout {
        /// "changing" or "pushing from".
        doing: &'static str,
        path: PathBuf,
        holder: String,
        waited: String,
    },
    #[error("{TIMEOUT_VAR}={0:?} is not a number of seconds")]
    BadTimeout(String),
    #[error("locking {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LockError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LockError::Timeout { .. } => Some(format!(
                "run the command again when that one has finished, or wait longer with \
                 {TIMEOUT_VAR}=SECONDS; the lock is an OS file lock that the system releases \
                 when its holder exits, even if it crashed or was killed, so it is never stale: \
                 do not delete the file"
            )),
            LockError::BadTimeout(_) => Some(format!(
                "set {TIMEOUT_VAR} to seconds, e.g. {TIMEOUT_VAR}=120"
            )),
            LockError::Io { .. } => None,
        }
    }
}

/// The exclusive lock of one checkout (or of its pushing); released when dropped.
#[derive(Debug)]
pub struct CheckoutLock {
    file: File,
    path: PathBuf,
    timeout: Duration,
    held: bool,
    doing: &'static str,
}

impl CheckoutLock {
    /// Waits (at most the timeout) for the lock of the checkout whose Git
    /// directory is `git_dir` (for a linked worktree, its own).
    pub fn acquire(git_dir: &Path) -> Result<CheckoutLock, LockError> {
        CheckoutLock::open(git_dir.join("regent").join("lock"), "changing")
    }

    /// Waits (at most the timeout) for the right to push from the checkout
    /// (see the module comment).
    pub fn acquire_pushing(git_dir: &Path) -> Result<CheckoutLock, LockError> {
        CheckoutLock::open(git_dir.join("regent").join("push-lock"), "pushing from")
    }

    fn open(path: PathBuf, doing: &'static str) -> Result<CheckoutLock, LockError> {
        let timeout = timeout_from_env()?;
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Never truncated on open and never replaced: the lock is on this file.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut lock = CheckoutLock {
            file,
            path,
            timeout,
            held: false,
            doing,
        };
        lock.reacquire()?;
        Ok(lock)
    }

    /// Takes the lock again after [`CheckoutLock::release`] (a no-op while held).
    pub fn reacquire(&mut self) -> Result<(), LockError> {
        if self.held {
            return Ok(());
        }
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match self.file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(LockError::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
            let waited = started.elapsed();
            if waited >= self.timeout {
                return Err(LockError::Timeout {
                    doing: self.doing,
                    path: self.path.clone(),
                    holder: holder(&self.path),
                    waited: seconds(self.timeout),
                });
            }
            // Polling, since a blocking lock cannot time out. Short pauses
            // first (most holds last tens of milliseconds), jittered so
            // that waiters do not wake in step.
            let jitter = Duration::from_millis(crate::random::u64() % 5);
            std::thread::sleep((pause + jitter).min(self.timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        self.held = true;
        self.describe_holder();
        Ok(())
    }

    /// Lets other writers in (for network work that needs no local state).
    pub fn release(&mut self) {
        if !self.held {
            return;
        }
        // Empty while free, so that `cat` shows a holder only when there is one.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
        self.held = false;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes who holds the lock into it. Best effort: it only serves the
    /// message of a process that gives up waiting.
    fn describe_holder(&mut self) {
        // argv[0] may be a long path; the holder is regent either way.
        let command: String = std::iter::once("regent".to_owned())
            .chain(std::env::args().skip(1))
            .map(|a| a.escape_debug().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let command: String = command.chars().take(300).collect();
        let text = format!(
            "pid {}\ncommand {command}\nsince {}\n",
            std::process::id(),
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now()),
        );
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let _ = self.file.write_all(text.as_bytes());
        let _ = self.file.flush();
    }
}

impl Drop for CheckoutLock {
    fn drop(&mut self) {
        self.release();
    }
}

/// The wait from `REGENT_LOCK_TIMEOUT` (seconds, fractions allowed), else the default.
fn timeout_from_env() -> Result<Duration, LockError> {
    let Some(text) = std::env::var_os(TIMEOUT_VAR) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let text = text.to_string_lossy().trim().to_owned();
    if text.is_empty() {
        return Ok(DEFAULT_TIMEOUT);
    }
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or(LockError::BadTimeout(text))
}

/// "pid 1234, `regent run log churn`, since …", from the lock file. (On
/// Windows the lock also keeps others from reading the file, and the
/// message then only names the file.)
fn holder(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .map(str::to_owned)
    };
    match field("pid") {
        Some(pid) => {
            let mut out = format!("held by pid {pid}");
            if let Some(command) = field("command") {
                out.push_str(&format!(", `{command}`"));
            }
            if let Some(since) = field("since") {
                out.push_str(&format!(", since {since}"));
            }
            out
        }
        None => "its holder has not written its pid into it".into(),
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = CheckoutLock::acquire(dir.path()).unwrap();
        let text = std::fs::read_to_string(first.path()).unwrap();
        assert!(
            text.starts_with(&format!("pid {}\n", std::process::id())),
            "{text}"
        );
        // A second open file of the same path conflicts, as another process's would.
        let mut second = CheckoutLock {
            file: File::open(first.path()).unwrap(),
            path: first.path().to_owned(),
            timeout: Duration::from_millis(30),
            held: false,
            doing: "changing",
        };
        let err = second.reacquire().unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&format!("held by pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("regent/lock"), "{message}");
        drop(first);
        second.reacquire().unwrap();
        assert!(second.held);
    }

    #[test]
    fn waits_are_shown_in_seconds() {
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5 s");
    }
}
