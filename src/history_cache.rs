//! A cache of one model's history (or the whole registry's), so that
//! `history`, the policy's facts in `promote`/`register`, and `check` do not
//! walk every commit on every run.
//!
//! What makes it safe (issue #5's conditions):
//! - **Derived from Git only**: an entry is the events of the commits
//!   reachable from `tip`, exactly what a walk would give.
//! - **Rebuilt when stale or absent**: when the asked revision descends from
//!   `tip`, only the new commits are walked and appended; when it does not
//!   (a rewritten history, another branch), the walk starts from scratch.
//!   A missing, unreadable or foreign-format file is simply ignored.
//! - **Safe under concurrent processes**: each entry is one small file
//!   replaced by an atomic rename; readers see the old or the new file, both
//!   correct for their own tip. Writes are best effort and never fail a
//!   command.
//! - **Never the source of truth**: it lives in the Git directory
//!   (`regent/history-v1/`), outside the working tree, and deleting it
//!   only costs time.

use crate::events::Event;
use crate::git::Repo;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The on-disk format; bump it when `Event` or the derivation changes.
const FORMAT: u32 = 3;

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    /// The registry folder the events are for.
    prefix: String,
    /// The commit the events were walked from.
    tip: String,
    events: Vec<Event>,
}

/// The file for `key` (a model name, or `_all` for the whole registry; model
/// names cannot start with `_`).
fn path(repo: &Repo, key: &str) -> PathBuf {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in repo.prefix.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    repo.repo
        .commondir()
        .join("regent")
        .join("history-v1")
        .join(format!("{hash:016x}"))
        .join(format!("{key}.json"))
}

/// The cached events of `key` and the tip they were walked from, if usable.
pub fn load(repo: &Repo, key: &str) -> Option<(git2::Oid, Vec<Event>)> {
    let bytes = std::fs::read(path(repo, key)).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    if entry.format != FORMAT || entry.prefix != repo.prefix {
        return None;
    }
    let tip = git2::Oid::from_str(&entry.tip).ok()?;
    // A tip that no longer exists (gc after a rewrite) cannot be built on.
    repo.repo.find_commit(tip).ok()?;
    Some((tip, entry.events))
}

/// Stores the events of `key` walked from `tip`. Best effort: a read-only
/// repository or a full disk only means the next run walks again.
pub fn store(repo: &Repo, key: &str, tip: git2::Oid, events: &[Event]) {
    let file = path(repo, key);
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let entry = Entry {
        format: FORMAT,
        prefix: repo.prefix.clone(),
        tip: tip.to_string(),
        events: events.to_vec(),
    };
    let Ok(bytes) = serde_json::to_vec(&entry) else {
        return;
    };
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if std::io::Write::write_all(&mut tmp, &bytes).is_ok() {
        crate::fault::point("after-cache-temp");
        let _ = tmp.persist(&file);
        crate::fault::point("after-cache");
    }
}
