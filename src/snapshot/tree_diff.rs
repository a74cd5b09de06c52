//! Comparing two versions of a folder's Git tree as bytes: the shared
//! prefix and suffix by `memcmp`, only the entries between them read and
//! paired by name, so a change to one file of a 50,000-entry folder does
//! not cost 50,000 parsed entries (libgit2 keeps no tree over 4 KiB in its
//! object cache).

use crate::git::{GitError, Repo};
use std::cell::RefCell;

/// One entry that differs between two versions of a folder: its id and
/// mode on each side where it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ChangedEntry {
    pub(super) name: String,
    pub(super) old: Option<(git2::Oid, i32)>,
    pub(super) new: Option<(git2::Oid, i32)>,
}

/// Whether a tree entry's mode is a folder's.
pub(super) fn is_folder(mode: i32) -> bool {
    mode & 0o170000 == 0o040000
}

/// One entry of a tree object as Git stores it: `<mode> <name>\0<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawEntry<'a> {
    pub(super) mode: i32,
    pub(super) name: &'a [u8],
    pub(super) id: git2::Oid,
}

/// The entry of a tree object starting at `pos`, and where the next one
/// starts; None at the end or where the object is malformed.
pub(super) fn raw_entry(data: &[u8], pos: usize) -> Option<(RawEntry<'_>, usize)> {
    let rest = data.get(pos..)?;
    let space = rest.iter().take(8).position(|&b| b == b' ')?;
    let mut mode = 0i32;
    for &digit in &rest[..space] {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        mode = mode * 8 + i32::from(digit - b'0');
    }
    let name_start = space + 1;
    let nul = name_start + rest.get(name_start..)?.iter().position(|&b| b == 0)?;
    let id = git2::Oid::from_bytes(rest.get(nul + 1..nul + 21)?).ok()?;
    let entry = RawEntry {
        mode,
        name: &rest[name_start..nul],
        id,
    };
    Some((entry, pos + nul + 21))
}

/// Every entry of a tree object, or None when it is malformed.
pub(super) fn raw_entries(data: &[u8], from: usize, to: usize) -> Option<Vec<RawEntry<'_>>> {
    let mut out = Vec::new();
    let mut pos = from;
    while pos < to {
        let (entry, next) = raw_entry(data, pos)?;
        out.push(entry);
        pos = next;
    }
    (pos == to).then_some(out)
}

/// How many leading bytes `a` and `b` share.
pub(super) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 4096;
    let n = a.len().min(b.len());
    let mut at = 0;
    // Whole chunks by memcmp, then the differing chunk byte by byte.
    while at + CHUNK <= n && a[at..at + CHUNK] == b[at..at + CHUNK] {
        at += CHUNK;
    }
    at + a[at..n]
        .iter()
        .zip(&b[at..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// How many trailing bytes `a` and `b` share, at most `limit`.
pub(super) fn common_suffix(a: &[u8], b: &[u8], limit: usize) -> usize {
    const CHUNK: usize = 4096;
    let n = a.len().min(b.len()).min(limit);
    let (la, lb) = (a.len(), b.len());
    let mut at = 0;
    while at + CHUNK <= n && a[la - at - CHUNK..la - at] == b[lb - at - CHUNK..lb - at] {
        at += CHUNK;
    }
    while at < n && a[la - at - 1] == b[lb - at - 1] {
        at += 1;
    }
    at
}

/// The entries that differ between two versions of a folder (raw tree
/// objects), or None when one of them is malformed.
///
/// A commit changes few entries of a large folder, and both versions are
/// the same bytes before and after what changed: the shared prefix and
/// suffix are found by comparing bytes (memcmp), and only the entries in
/// between are read and compared by name. This relies on nothing but the
/// bytes (not on the entries being sorted): equal bytes from an entry
/// boundary on are equal entries. Adding a run whose name sorts last (the
/// default names sort by time) reads no entry of the folder at all.
pub(super) fn raw_changes(old: &[u8], new: &[u8]) -> Option<Vec<ChangedEntry>> {
    let (la, lb) = (old.len(), new.len());
    let shared = common_prefix(old, new);
    // The last entry boundary within the shared prefix: the end of a side
    // that is wholly shared is one; otherwise walk the entries up to it.
    let start = if shared == la || shared == lb {
        shared
    } else {
        let mut pos = 0;
        loop {
            match raw_entry(old, pos) {
                Some((_, next)) if next <= shared => pos = next,
                Some(_) => break pos,
                None => return None,
            }
        }
    };
    let tail = common_suffix(old, new, la.min(lb) - start);
    // Read entries after `start` on each side until the rest of both sides
    // starts at entry boundaries inside the shared suffix: the same bytes.
    let (mut x, mut y) = (start, start);
    let mut removed = Vec::new();
    let mut added = Vec::new();
    while !(la - x == lb - y && la - x <= tail) {
        if la - x >= lb - y {
            let (entry, next) = raw_entry(old, x)?;
            removed.push(entry);
            x = next;
        }
        if lb - y > la - x || (la - x == lb - y && la - x > tail) {
            let (entry, next) = raw_entry(new, y)?;
            added.push(entry);
            y = next;
        }
    }
    Some(pair_up(&removed, &added))
}

/// Entries of two lists that differ, by name (either list may be unsorted).
pub(super) fn pair_up(old: &[RawEntry<'_>], new: &[RawEntry<'_>]) -> Vec<ChangedEntry> {
    type Sides = (Option<(git2::Oid, i32)>, Option<(git2::Oid, i32)>);
    // A file and a folder of the same name are two entries (Git sorts them
    // apart), as in libgit2's view of a tree.
    let mut by_name: std::collections::BTreeMap<(&[u8], bool), Sides> =
        std::collections::BTreeMap::new();
    for e in old {
        by_name.entry((e.name, is_folder(e.mode))).or_default().0 = Some((e.id, e.mode));
    }
    for e in new {
        by_name.entry((e.name, is_folder(e.mode))).or_default().1 = Some((e.id, e.mode));
    }
    by_name
        .into_iter()
        // Only another id is a change (a mode alone is not, as before).
        .filter(|(_, (a, b))| a.map(|(id, _)| id) != b.map(|(id, _)| id))
        .map(|((name, _), (old, new))| ChangedEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            old,
            new,
        })
        .collect()
}

thread_local! {
    /// The folders (raw tree objects) read last, by id: a history walk
    /// reads each version of a folder as one commit's new side and again as
    /// the next commit's old side. Bounded by [`RAW_TREE_CACHE_BYTES`].
    static RAW_TREES: RefCell<std::collections::VecDeque<(git2::Oid, std::rc::Rc<[u8]>)>> =
        const { RefCell::new(std::collections::VecDeque::new()) };
}

const RAW_TREE_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// A tree object's bytes, from the small cache or the object database.
pub(super) fn raw_tree(repo: &Repo, id: git2::Oid) -> Option<std::rc::Rc<[u8]>> {
    if let Some(found) = RAW_TREES.with(|cache| {
        cache
            .borrow()
            .iter()
            .find(|(cached, _)| *cached == id)
            .map(|(_, data)| data.clone())
    }) {
        return Some(found);
    }
    let odb = repo.repo.odb().ok()?;
    let object = odb.read(id).ok()?;
    if object.kind() != git2::ObjectType::Tree {
        return None;
    }
    let data: std::rc::Rc<[u8]> = std::rc::Rc::from(object.data());
    RAW_TREES.with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.push_back((id, data.clone()));
        let mut total: usize = cache.iter().map(|(_, d)| d.len()).sum();
        while total > RAW_TREE_CACHE_BYTES || cache.len() > 32 {
            match cache.pop_front() {
                Some((_, d)) => total -= d.len(),
                None => break,
            }
        }
    });
    Some(data)
}

/// The entries that differ between two versions of a folder, by tree id
/// (None: the folder is absent on that side).
pub(super) fn folder_changes(
    repo: &Repo,
    old: Option<git2::Oid>,
    new: Option<git2::Oid>,
) -> Result<Vec<ChangedEntry>, GitError> {
    let read = |id: Option<git2::Oid>| -> Result<Option<std::rc::Rc<[u8]>>, GitError> {
        match id {
            None => Ok(None),
            Some(id) => raw_tree(repo, id).map(Some).ok_or_else(|| GitError::Io {
                context: format!("reading the tree {id}"),
                source: std::io::Error::other("not a readable tree object"),
            }),
        }
    };
    let (a, b) = (read(old)?, read(new)?);
    let changes = match (&a, &b) {
        (Some(a), Some(b)) => raw_changes(a, b),
        (None, Some(b)) => raw_entries(b, 0, b.len()).map(|e| pair_up(&[], &e)),
        (Some(a), None) => raw_entries(a, 0, a.len()).map(|e| pair_up(&e, &[])),
        (None, None) => Some(Vec::new()),
    };
    changes.ok_or_else(|| GitError::Io {
        context: "comparing two versions of a folder".into(),
        source: std::io::Error::other("a malformed tree object"),
    })
}
