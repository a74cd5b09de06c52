//! Finishing an event that a crash (SIGKILL, the OOM killer, a CI job
//! cancelled) interrupted.
//!
//! [`crate::workspace::apply`] makes an event visible with one atomic step,
//! the move of the branch ref (or, with `--push`, the atomic push). What
//! follows that step (writing the touched files, the index, and the local tag
//! refs) is bookkeeping, and a crash can stop it half-way: the branch then
//! holds the whole event while the working tree looks like an uncommitted
//! revert of it, and the tag refs are missing.
//!
//! So before that step `apply` writes a small journal in the Git directory
//! (`regent/pending/<commit>`): the paths it will write, the tag objects it
//! will point refs at, and the remote it pushes to. It removes the journal
//! once everything is done. The next command that changes the registry calls
//! [`finish_interrupted`], which for each journal left behind:
//!
//! - if the commit is HEAD: brings the journal's paths to HEAD's content, but
//!   only paths that hold HEAD's or its parent's content (both committed, so
//!   nothing of the user's can be lost); a path with other content stops it;
//! - if the commit landed (HEAD contains it, or the remote does): creates
//!   its missing local tag refs, pointing at the very tag objects it pushed;
//!   and fast-forwards the local branch to a pushed commit, as the command
//!   would have;
//! - if it never landed: deletes the journal.

use crate::git::{Context, GitError, Repo};
use crate::workspace::{Change, PushTarget};
use std::path::{Path, PathBuf};

/// A journal on disk for one commit being applied.
#[derive(Debug)]
pub struct Journal {
    file: PathBuf,
}

/// What a journal says.
#[derive(Debug, Default)]
struct Entry {
    /// The writer: its process id, and its start time where known (so that
    /// a later process given the same id is not taken for it).
    writer: Option<(u32, Option<String>)>,
    remote: Option<PushTarget>,
    tags: Vec<(String, git2::Oid)>,
    /// Registry-relative paths, as in [`Change::path`].
    paths: Vec<String>,
}

/// Prefix of the temporary files [`crate::workspace::write_atomically`]
/// leaves behind if killed between writing and renaming.
pub const TEMP_PREFIX: &str = ".regent-tmp-";

fn dir(repo: &Repo) -> PathBuf {
    // The per-worktree Git directory: each worktree has its own HEAD and index.
    repo.repo.path().join("regent").join("pending")
}

impl Journal {
    /// Records what applying `commit` will do, before anything is visible.
    pub fn write(
        repo: &Repo,
        commit: git2::Oid,
        changes: &[Change],
        tags: &[(String, git2::Oid)],
        push: Option<&PushTarget>,
    ) -> Result<Journal, GitError> {
        let pid = std::process::id();
        let mut text = match start_time(pid) {
            Some(start) => format!("pid {pid} {start}\n"),
            None => format!("pid {pid}\n"),
        };
        if let Some(target) = push {
            text.push_str(&format!("remote {} {}\n", target.remote, target.branch));
        }
        for (name, id) in tags {
            text.push_str(&format!("tag {name} {id}\n"));
        }
        for change in changes {
            text.push_str(&format!("path {}\n", change.path));
        }
        let file = dir(repo).join(commit.to_string());
        crate::workspace::write_atomically(&file, text.as_bytes())?;
        crate::fault::point("after-journal");
        Ok(Journal { file })
    }

    /// The event is complete (or never happened): forget it.
    pub fn remove(self) {
        // Best effort: a journal left behind is recognised as done next time.
        let _ = std::fs::remove_file(&self.file);
    }
}

fn parse(text: &str) -> Entry {
    let mut entry = Entry::default();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(' ') else {
            continue;
        };
        match key {
            "pid" => {
                let mut words = rest.split(' ');
                entry.writer = words
                    .next()
                    .and_then(|p| p.parse().ok())
                    .map(|pid| (pid, words.next().map(str::to_owned)));
            }
            "remote" => {
                if let Some((remote, branch)) = rest.split_once(' ') {
                    entry.remote = Some(PushTarget {
                        remote: remote.to_owned(),
                        branch: branch.to_owned(),
                    });
                }
            }
            "tag" => {
                if let Some((name, id)) = rest.split_once(' ')
                    && let Ok(id) = git2::Oid::from_str(id)
                {
                    entry.tags.push((name.to_owned(), id));
                }
            }
            "path" => entry.paths.push(rest.to_owned()),
            _ => {}
        }
    }
    entry
}

/// Finishes what crashed commands left half-done (see the module comment).
/// Returns one line per journal dealt with, for the user.
pub fn finish_interrupted(repo: &Repo) -> Result<Vec<String>, GitError> {
    let Ok(listing) = std::fs::read_dir(dir(repo)) else {
        return Ok(Vec::new());
    };
    let mut notes = Vec::new();
    for item in listing.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        let Ok(commit) = git2::Oid::from_str(&name) else {
            continue; // a temporary file of a journal being written
        };
        let Ok(text) = std::fs::read_to_string(item.path()) else {
            continue;
        };
        let entry = parse(&text);
        if entry
            .writer
            .as_ref()
            .is_some_and(|(pid, start)| is_running(*pid, start.as_deref()))
        {
            continue; // another regent is applying it right now
        }
        let outcome = finish_one(repo, commit, &entry)?;
        if let Some(note) = outcome.note {
            notes.push(note);
        }
        if outcome.done {
            let _ = std::fs::remove_file(item.path());
        }
    }
    Ok(notes)
}

struct Outcome {
    /// Whether the journal can go.
    done: bool,
    note: Option<String>,
}

fn finish_one(repo: &Repo, commit: git2::Oid, entry: &Entry) -> Result<Outcome, GitError> {
    let short = &commit.to_string()[..12];
    let Ok(object) = repo.repo.find_commit(commit) else {
        return Ok(Outcome {
            done: true,
            note: None,
        });
    };
    let subject = subject_of(&object);
    let head = repo.head_commit()?.map(|c| c.id());
    if head == Some(commit) {
        remove_temp_files(repo, &entry.paths);
        let tree = object.tree().context(|| "reading HEAD's tree".into())?;
        let parent_tree = match object.parent(0) {
            Ok(parent) => Some(parent.tree().context(|| "reading HEAD^'s tree".into())?),
            Err(_) => None,
        };
        let paths: Vec<String> = entry.paths.iter().map(|p| repo.repo_path(p)).collect();
        if let Some(blocking) = finish_files(repo, parent_tree.as_ref(), &tree, &paths)? {
            return Ok(Outcome {
                done: false,
                note: Some(format!(
                    "regent was interrupted while writing the files of commit {short} ({subject}), \
                     and {blocking} now has changes of yours; to take the committed version: \
                     git checkout HEAD -- {blocking}"
                )),
            });
        }
        let tags = create_tags(repo, &entry.tags)?;
        return Ok(Outcome {
            done: true,
            note: Some(format!(
                "finished the interrupted \"{subject}\" (commit {short}{tags})"
            )),
        });
    }
    let landed_here = head.is_some_and(|h| descends(repo, h, commit));
    if landed_here {
        let tags = create_tags(repo, &entry.tags)?;
        return Ok(Outcome {
            done: true,
            note: (!tags.is_empty())
                .then(|| format!("finished the interrupted \"{subject}\" (commit {short}{tags})")),
        });
    }
    let Some(target) = &entry.remote else {
        // Killed before the branch moved: the event never happened.
        return Ok(Outcome {
            done: true,
            note: None,
        });
    };
    finish_pushed(repo, &object, head, target, &entry.tags)
}

/// A commit being pushed when the process died: did the remote take it?
fn finish_pushed(
    repo: &Repo,
    commit: &git2::Commit<'_>,
    head: Option<git2::Oid>,
    target: &PushTarget,
    tags: &[(String, git2::Oid)],
) -> Result<Outcome, GitError> {
    let short = &commit.id().to_string()[..12];
    let subject = subject_of(commit);
    let Ok(remote_head) = crate::workspace::fetch_remote_head(repo, target) else {
        return Ok(Outcome {
            done: false,
            note: Some(format!(
                "could not reach {} to see whether the interrupted \"{subject}\" (commit {short}) \
                 was pushed; regent will look again next time",
                target.remote
            )),
        });
    };
    let pushed = remote_head.is_some_and(|r| r == commit.id() || descends(repo, r, commit.id()));
    if !pushed {
        return Ok(Outcome {
            done: true,
            note: None,
        });
    }
    let tags = create_tags(repo, tags)?;
    let mut note = format!("the interrupted \"{subject}\" was pushed (commit {short}{tags})");
    let branch = repo.head_branch()?;
    match head {
        Some(h) if descends(repo, commit.id(), h) => {
            let from = repo
                .repo
                .find_commit(h)
                .context(|| format!("reading {h}"))?;
            // The command was bringing the branch along when it died,
            // perhaps mid-checkout: finish that the same careful way.
            let from_tree = from.tree().context(|| "reading HEAD's tree".into())?;
            let to_tree = commit.tree().context(|| "reading the pushed tree".into())?;
            let paths = changed_between(repo, &from_tree, &to_tree)?;
            let moved = finish_files(repo, Some(&from_tree), &to_tree, &paths)?.is_none()
                && crate::workspace::move_branch(repo, &branch, Some(h), commit.id(), &subject)
                    .is_ok();
            note.push_str(if moved {
                "; your branch now includes it"
            } else {
                "; bring your branch along with `git pull --ff-only`"
            });
        }
        _ => note.push_str("; bring your branch along with `git pull`"),
    }
    Ok(Outcome {
        done: true,
        note: Some(note),
    })
}

/// A commit's first line, for the notes.
fn subject_of(commit: &git2::Commit<'_>) -> String {
    commit
        .summary()
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_owned()
}

/// Whether `commit` is `ancestor` or has it in its history.
fn descends(repo: &Repo, commit: git2::Oid, ancestor: git2::Oid) -> bool {
    commit == ancestor
        || repo
            .repo
            .graph_descendant_of(commit, ancestor)
            .unwrap_or(false)
}

/// Brings `paths` (repository-relative) in the working tree and index from
/// `from`'s content to `to`'s. Only a path that holds either version (both
/// committed, so nothing is lost by replacing it) is touched; returns the
/// first one holding something else (the user's own edit), having changed
/// nothing.
fn finish_files(
    repo: &Repo,
    from: Option<&git2::Tree<'_>>,
    to: &git2::Tree<'_>,
    paths: &[String],
) -> Result<Option<String>, GitError> {
    let Some(workdir) = repo.workdir.as_ref() else {
        return Ok(None);
    };
    let mut index = repo.repo.index().context(|| "opening the index".into())?;
    // As in workspace::sync_work_tree: the file, not libgit2's earlier copy.
    index.read(true).context(|| "reading the index".into())?;
    let mut behind = Vec::new();
    for rel in paths {
        let blob_at = |tree: &git2::Tree<'_>| tree.get_path(Path::new(rel)).ok().map(|e| e.id());
        let wanted = blob_at(to);
        let before = from.and_then(blob_at);
        let on_disk = match std::fs::read(workdir.join(rel)) {
            Ok(bytes) => Some(
                git2::Oid::hash_object(git2::ObjectType::Blob, &bytes)
                    .context(|| format!("hashing {rel}"))?,
            ),
            Err(_) => None,
        };
        let staged = index.get_path(Path::new(rel), 0).map(|e| e.id);
        let committed = |state: Option<git2::Oid>| state == wanted || state == before;
        if !committed(on_disk) || !committed(staged) {
            return Ok(Some(rel.clone()));
        }
        if on_disk != wanted || staged != wanted {
            behind.push((rel, wanted));
        }
    }
    // As in workspace::sync_work_tree: a model's file before its versions.
    behind.sort_by_key(|(rel, _)| !rel.ends_with("/model.yaml"));
    for (rel, wanted) in &behind {
        let full = workdir.join(rel);
        match wanted {
            Some(id) => {
                let blob = repo
                    .repo
                    .find_blob(*id)
                    .context(|| format!("reading {rel}"))?;
                crate::workspace::write_atomically(&full, blob.content())?;
                index
                    .add_path(Path::new(rel))
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
                    .remove_path(Path::new(rel))
                    .context(|| format!("unstaging {rel}"))?;
            }
        }
    }
    if !behind.is_empty() {
        index.write().context(|| "writing the index".into())?;
    }
    Ok(None)
}

/// The paths that differ between two trees.
fn changed_between(
    repo: &Repo,
    from: &git2::Tree<'_>,
    to: &git2::Tree<'_>,
) -> Result<Vec<String>, GitError> {
    let diff = repo
        .repo
        .diff_tree_to_tree(Some(from), Some(to), None)
        .context(|| "comparing your branch with the pushed commit".into())?;
    let mut paths: Vec<String> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Creates the refs of `tags` that are missing; returns ", tag a, b" for
/// those created, for the note.
fn create_tags(repo: &Repo, tags: &[(String, git2::Oid)]) -> Result<String, GitError> {
    let mut created = Vec::new();
    for (name, id) in tags {
        let refname = format!("refs/tags/{name}");
        if repo.repo.find_reference(&refname).is_ok() {
            // Already there (from this journal, a fetch, or `regent
            // publish`): a tag is never moved.
            continue;
        }
        if repo.repo.find_tag(*id).is_err() {
            continue; // the object is gone (gc): `regent publish` makes a new one
        }
        repo.repo
            .reference(&refname, *id, false, &format!("regent: tag {name}"))
            .context(|| format!("creating tag {name}"))?;
        created.push(name.as_str());
    }
    Ok(if created.is_empty() {
        String::new()
    } else {
        format!(", tag {}", created.join(", "))
    })
}

/// Deletes the temporary files a killed write left in the folders of `paths`.
fn remove_temp_files(repo: &Repo, paths: &[String]) {
    let Some(workdir) = repo.workdir.as_ref() else {
        return;
    };
    let mut folders: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| {
            workdir
                .join(repo.repo_path(p))
                .parent()
                .map(Path::to_path_buf)
        })
        .collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        let Ok(listing) = std::fs::read_dir(&folder) else {
            continue;
        };
        for item in listing.flatten() {
            if item.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(item.path());
            }
        }
    }
}

/// Whether the process that wrote a journal (other than this one) still
/// runs. On Linux a process is known by its id and its start time in
/// `/proc`; elsewhere the writer is assumed gone.
fn is_running(pid: u32, start: Option<&str>) -> bool {
    pid != std::process::id() && start.is_some() && start_time(pid).as_deref() == start
}

/// A process's start time (clock ticks after boot), from `/proc/PID/stat`.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces;
    // the start time is field 22, the 20th after it.
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(19).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_text_round_trips() {
        let id = git2::Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let entry = parse(&format!(
            "pid 42 1234\nremote origin refs/heads/main\ntag m@v1 {id}\npath models/m/versions/1.yaml\nnoise\n"
        ));
        assert_eq!(entry.writer, Some((42, Some("1234".to_owned()))));
        let remote = entry.remote.unwrap();
        assert_eq!(
            (remote.remote.as_str(), remote.branch.as_str()),
            ("origin", "refs/heads/main")
        );
        assert_eq!(entry.tags, vec![("m@v1".to_owned(), id)]);
        assert_eq!(entry.paths, vec!["models/m/versions/1.yaml".to_owned()]);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_journal_writer_is_known_by_id_and_start_time() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let start = start_time(child.id());
        assert!(start.is_some(), "/proc is readable on Linux");
        assert!(is_running(child.id(), start.as_deref()));
        assert!(
            !is_running(child.id(), Some("1")),
            "another process, same id"
        );
        assert!(
            !is_running(me, start_time(me).as_deref()),
            "not this process"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_running(child.id(), start.as_deref()));
    }
}
