//! A folder artifact's manifest: one line `"<sha256-hex>  <relative/path>\n"`
//! per regular file, sorted by path bytewise. That is exactly what
//! `sha256sum` prints, so anyone can recompute a folder's digest with
//! standard tools:
//!
//! ```sh
//! (cd DIR && find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum
//! ```
//!
//! To keep that promise, a folder holding anything `find -type f` and
//! `sha256sum` would see differently is refused rather than recorded: symbolic
//! links (never followed), sockets, FIFOs and devices, names that are not
//! UTF-8, names with a backslash or a line break (`sha256sum` escapes those),
//! and a folder with no files (`sha256sum` would hash its empty stdin).

use super::ArtifactError;
use super::digest::{self, Digest};
use std::path::Path;

/// One file of a folder: its `/`-separated path inside the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub digest: Digest,
    /// Known when the folder was scanned; a manifest read back has no sizes.
    pub size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Sorted by path, bytewise.
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// Walks `dir` and hashes every regular file, refusing what the manifest
    /// cannot describe faithfully (see the module docs).
    pub fn scan(dir: &Path) -> Result<Manifest, ArtifactError> {
        let shown = dir.display().to_string();
        let mut entries = Vec::new();
        // Iterative, so a deep tree cannot exhaust the stack.
        let mut pending = vec![(dir.to_path_buf(), String::new())];
        while let Some((folder, prefix)) = pending.pop() {
            let listing = fs_err::read_dir(&folder).map_err(|e| ArtifactError::io(&folder, e))?;
            for item in listing {
                let item = item.map_err(|e| ArtifactError::io(&folder, e))?;
                let full = item.path();
                let name = item.file_name();
                let name = name.to_str().ok_or_else(|| {
                    ArtifactError::Invalid(format!(
                        "folder artifact {shown}: {} is not a UTF-8 name; rename it",
                        full.display()
                    ))
                })?;
                if name.contains(['\\', '\n', '\r']) {
                    return Err(ArtifactError::Invalid(format!(
                        "folder artifact {shown}: {:?} contains a backslash or a line break, \
                         which sha256sum escapes; rename it",
                        full.display().to_string()
                    )));
                }
                let rel = if prefix.is_empty() {
                    name.to_owned()
                } else {
                    format!("{prefix}/{name}")
                };
                // The entry's own type: a symbolic link is not followed.
                let kind = item.file_type().map_err(|e| ArtifactError::io(&full, e))?;
                if kind.is_symlink() {
                    return Err(ArtifactError::Invalid(format!(
                        "folder artifact {shown}: {rel} is a symbolic link; links are not \
                         followed (copy the file in, or remove the link)"
                    )));
                } else if kind.is_dir() {
                    pending.push((full, rel));
                } else if kind.is_file() {
                    let (digest, size) = digest::file(&full)?;
                    entries.push(Entry {
                        path: rel,
                        digest,
                        size: Some(size),
                    });
                } else {
                    return Err(ArtifactError::Invalid(format!(
                        "folder artifact {shown}: {rel} is not a regular file (a socket, FIFO \
                         or device); only files and folders can be stored"
                    )));
                }
            }
        }
        if entries.is_empty() {
            return Err(ArtifactError::Invalid(format!(
                "folder artifact {shown} has no files; there is nothing to store"
            )));
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Manifest { entries })
    }

    /// The manifest's bytes: `sha256sum`'s output for the sorted files.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            out.push_str(entry.digest.hex());
            out.push_str("  ");
            out.push_str(&entry.path);
            out.push('\n');
        }
        out
    }

    /// The folder's digest: the digest of [`Manifest::text`].
    pub fn digest(&self) -> Digest {
        Digest::of(self.text().as_bytes())
    }

    /// The sum of the files' sizes (when scanned).
    pub fn total_size(&self) -> u64 {
        self.entries.iter().filter_map(|e| e.size).sum()
    }

    /// Reads a manifest back (from a store). Its digest is checked by the
    /// caller; this checks that every line is well-formed, every path is a
    /// plain relative path that stays inside the folder, and the lines are
    /// sorted without repeats, so a hostile manifest cannot write outside
    /// the destination.
    pub fn parse(bytes: &[u8], shown: &str) -> Result<Manifest, ArtifactError> {
        let bad = |line: usize, why: &str| {
            ArtifactError::Invalid(format!("manifest {shown}, line {line}: {why}"))
        };
        let text = std::str::from_utf8(bytes).map_err(|_| bad(1, "not UTF-8"))?;
        let Some(body) = text.strip_suffix('\n') else {
            return Err(bad(1, "empty, or the last line has no line break"));
        };
        let mut entries: Vec<Entry> = Vec::new();
        for (i, line) in body.split('\n').enumerate() {
            let n = i + 1;
            let (hex, path) = line
                .split_once("  ")
                .ok_or_else(|| bad(n, "expected `<sha256-hex>  <path>`"))?;
            let digest = Digest::from_hex(hex).ok_or_else(|| bad(n, "not a sha256 hex digest"))?;
            let plain = !path.is_empty()
                && !path.starts_with('/')
                && !path.contains(['\\', '\r', '\0'])
                && path
                    .split('/')
                    .all(|part| !part.is_empty() && part != "." && part != "..");
            if !plain {
                return Err(bad(n, &format!("{path:?} is not a plain relative path")));
            }
            if let Some(last) = entries.last()
                && last.path.as_str() >= path
            {
                return Err(bad(n, "paths are not sorted or repeat"));
            }
            entries.push(Entry {
                path: path.to_owned(),
                digest,
                size: None,
            });
        }
        Ok(Manifest { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_sorted_bytewise_like_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a.txt"), b"1").unwrap();
        std::fs::write(root.join("a/b/c"), b"2").unwrap();
        std::fs::write(root.join("B"), b"3").unwrap();
        let manifest = Manifest::scan(root).unwrap();
        let paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
        // Bytewise: "B" < "a.txt" < "a/b/c" ('.' is 0x2e, '/' is 0x2f).
        assert_eq!(paths, ["B", "a.txt", "a/b/c"]);
        assert_eq!(manifest.total_size(), 3);
        let text = manifest.text();
        assert!(text.starts_with(&format!("{}  B\n", Digest::of(b"3").hex())));
        let back = Manifest::parse(text.as_bytes(), "m").unwrap();
        assert_eq!(back.text(), text);
        assert_eq!(back.digest(), manifest.digest());
    }

    #[test]
    fn refuses_what_sha256sum_would_see_differently() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            Manifest::scan(dir.path())
                .unwrap_err()
                .to_string()
                .contains("no files")
        );
        std::fs::write(dir.path().join("real"), b"x").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let error = Manifest::scan(dir.path()).unwrap_err().to_string();
        assert!(error.contains("link is a symbolic link"), "{error}");
        std::fs::remove_file(dir.path().join("link")).unwrap();
        std::fs::write(dir.path().join("a\\b"), b"x").unwrap();
        let error = Manifest::scan(dir.path()).unwrap_err().to_string();
        assert!(error.contains("backslash"), "{error}");
        std::fs::remove_file(dir.path().join("a\\b")).unwrap();
        let latin1 = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"caf\xe9");
        std::fs::write(dir.path().join(latin1), b"x").unwrap();
        let error = Manifest::scan(dir.path()).unwrap_err().to_string();
        assert!(error.contains("is not a UTF-8 name"), "{error}");
        std::fs::remove_file(dir.path().join(latin1)).unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let error = Manifest::scan(dir.path()).unwrap_err().to_string();
        assert!(error.contains("pipe is not a regular file"), "{error}");
    }

    #[test]
    fn refuses_hostile_manifests() {
        let h = Digest::of(b"x");
        let line = |p: &str| format!("{}  {p}\n", h.hex());
        for bad in [
            line("../etc/passwd"),
            line("/abs"),
            line("a//b"),
            line("./a"),
            line("b") + &line("a"),
            line("a") + &line("a"),
            format!("{}  a", h.hex()),
            "zz  a\n".to_owned(),
            String::new(),
        ] {
            assert!(Manifest::parse(bad.as_bytes(), "m").is_err(), "{bad:?}");
        }
    }
}
