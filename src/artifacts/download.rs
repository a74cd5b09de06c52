//! Getting artifacts back, verified. Everything is written into a temporary
//! sibling of the destination (same folder, so the final rename never
//! crosses file systems), every digest is checked (a folder's manifest, then
//! each file against it), and only then is the result renamed into place.
//! On any mismatch or error the temporary copy is removed and nothing is
//! left at the destination. A process killed midway leaves at most a hidden
//! `.NAME.*.regent-partial` sibling, never a half-written destination.

use super::ArtifactError;
use super::digest::{Digest, Hasher};
use super::manifest::{Entry, Manifest};
use super::store::{self, Store};
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as Key;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A manifest larger than this is refused before it is read: a million
/// files' lines fit in a tenth of it.
const MANIFEST_MAX: u64 = 1 << 30;

/// What to fetch.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// One object. `digest` None only when the user gave up verification.
    Object { uri: String, digest: Option<Digest> },
    /// A stored folder: its manifest's URI, in the content-addressed layout
    /// (the files live beside it, under the same root). With `only`, just
    /// that file of the folder.
    Folder {
        manifest_uri: String,
        digest: Option<Digest>,
        only: Option<String>,
    },
    /// A folder kept local (`--keep-local`): its digest is recomputed from
    /// the files themselves.
    LocalFolder {
        dir: PathBuf,
        digest: Option<Digest>,
        only: Option<String>,
    },
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    pub files: usize,
    pub size: u64,
}

/// Fetches `what` to `dest`, which must not exist (its parent folders are
/// made). Blocking: runs its own runtime.
pub fn get(what: &Fetch, dest: &Path) -> Result<Fetched, ArtifactError> {
    if dest.symlink_metadata().is_ok() {
        return Err(ArtifactError::Invalid(format!(
            "{} exists; regent does not overwrite it (remove it or choose another destination)",
            dest.display()
        )));
    }
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            ArtifactError::Invalid(format!("{} names no file or folder", dest.display()))
        })?
        .to_owned();
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs_err::create_dir_all(&parent).map_err(|e| ArtifactError::io(&parent, e))?;
    let prefix = format!(".{name}.");
    let mut temp = tempfile::Builder::new();
    temp.prefix(&prefix).suffix(".regent-partial");
    // What `cp` would give (the umask applies), not a temporary file's 0600.
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    let whole_folder = matches!(
        what,
        Fetch::Folder { only: None, .. } | Fetch::LocalFolder { only: None, .. }
    );
    if whole_folder {
        let dir = temp
            .permissions(mode(0o777))
            .tempdir_in(&parent)
            .map_err(|e| ArtifactError::io(&parent, e))?;
        let (files, size) = store::block_on(folder_into(what, dir.path()))??;
        fs_err::rename(dir.path(), dest).map_err(|e| ArtifactError::io(dest, e))?;
        // Renamed away: nothing is left for the guard to remove.
        let _ = dir.keep();
        return Ok(Fetched {
            path: dest.to_path_buf(),
            files,
            size,
        });
    }
    let mut file = temp
        .permissions(mode(0o666))
        .tempfile_in(&parent)
        .map_err(|e| ArtifactError::io(&parent, e))?;
    let size = store::block_on(file_into(what, file.as_file_mut()))??;
    file.persist_noclobber(dest)
        .map_err(|e| ArtifactError::io(dest, e.error))?;
    Ok(Fetched {
        path: dest.to_path_buf(),
        files: 1,
        size,
    })
}

/// One file: an object, or one file of a folder.
async fn file_into(what: &Fetch, out: &mut std::fs::File) -> Result<u64, ArtifactError> {
    match what {
        Fetch::Object { uri, digest } => {
            let store = Store::open(uri)?;
            let key = store.prefix.clone();
            copy(&store, &key, digest.as_ref(), out).await
        }
        Fetch::Folder {
            manifest_uri,
            digest,
            only: Some(path),
        } => {
            let (root, manifest) = stored_manifest(manifest_uri, digest.as_ref()).await?;
            let entry = find(&manifest, path, manifest_uri)?;
            copy(
                &root,
                &root.content_key(&entry.digest),
                Some(&entry.digest),
                out,
            )
            .await
        }
        Fetch::LocalFolder {
            dir,
            digest,
            only: Some(path),
        } => {
            let manifest = local_manifest(dir, digest.as_ref())?;
            let entry = find(&manifest, path, &dir.display().to_string())?;
            let (store, key) = local_file(&dir.join(&entry.path))?;
            copy(&store, &key, Some(&entry.digest), out).await
        }
        Fetch::Folder { only: None, .. } | Fetch::LocalFolder { only: None, .. } => Err(
            ArtifactError::Invalid("a folder cannot be written as one file".into()),
        ),
    }
}

/// Where a folder's files come from.
enum Origin {
    /// A store root: each file at its content key.
    Stored(Store),
    /// A folder kept local: each file at its path in it.
    Local(PathBuf),
}

impl Origin {
    fn locate(&self, entry: &Entry) -> Result<(Store, Key), ArtifactError> {
        match self {
            Origin::Stored(root) => Ok((root.clone(), root.content_key(&entry.digest))),
            Origin::Local(dir) => local_file(&dir.join(&entry.path)),
        }
    }
}

/// A whole folder into `dir` (an empty temporary folder): returns the
/// number of files and their total size.
async fn folder_into(what: &Fetch, dir: &Path) -> Result<(usize, u64), ArtifactError> {
    let (manifest, origin) = match what {
        Fetch::Folder {
            manifest_uri,
            digest,
            ..
        } => {
            let (root, manifest) = stored_manifest(manifest_uri, digest.as_ref()).await?;
            (manifest, Origin::Stored(root))
        }
        Fetch::LocalFolder {
            dir: from, digest, ..
        } => (
            local_manifest(from, digest.as_ref())?,
            Origin::Local(from.clone()),
        ),
        Fetch::Object { .. } => {
            return Err(ArtifactError::Invalid(
                "a single object is not a folder".into(),
            ));
        }
    };
    let mut total = 0;
    for entry in &manifest.entries {
        let target = dir.join(&entry.path);
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent).map_err(|e| ArtifactError::io(parent, e))?;
        }
        let mut out =
            fs_err::File::create_new(&target).map_err(|e| ArtifactError::io(&target, e))?;
        let (store, key) = origin.locate(entry)?;
        total += copy(&store, &key, Some(&entry.digest), out.file_mut()).await?;
    }
    Ok((manifest.entries.len(), total))
}

/// Streams one object into `out`, hashing as it goes; checks the digest.
async fn copy(
    store: &Store,
    key: &Key,
    expected: Option<&Digest>,
    out: &mut std::fs::File,
) -> Result<u64, ArtifactError> {
    let uri = store.uri(key);
    let got = store
        .inner()
        .get(key)
        .await
        .map_err(|e| store.error("download", key, e))?;
    let mut stream = got.into_stream();
    let mut hasher = Hasher::default();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| store.error("download", key, e))?;
        hasher.update(&chunk);
        out.write_all(&chunk)
            .map_err(|e| ArtifactError::Invalid(format!("cannot write {uri}'s bytes: {e}")))?;
    }
    out.flush()
        .map_err(|e| ArtifactError::Invalid(format!("cannot write {uri}'s bytes: {e}")))?;
    let (actual, size) = hasher.finish();
    check(&uri, expected, &actual)?;
    Ok(size)
}

fn check(uri: &str, expected: Option<&Digest>, actual: &Digest) -> Result<(), ArtifactError> {
    match expected {
        Some(expected) if expected != actual => Err(ArtifactError::Mismatch {
            uri: uri.to_owned(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A stored folder's manifest, verified, and the store root its files are under.
pub async fn stored_manifest(
    manifest_uri: &str,
    digest: Option<&Digest>,
) -> Result<(Store, Manifest), ArtifactError> {
    let (root_uri, named) = store::split_content_uri(manifest_uri).ok_or_else(|| {
        ArtifactError::Invalid(format!(
            "{manifest_uri} is recorded as a folder, but is not in regent's layout \
             (<root>/sha256/<2 hex>/<hex>), so its files cannot be found"
        ))
    })?;
    let root = Store::open(&root_uri)?;
    let key = root.content_key(&named);
    let got = root
        .inner()
        .get(&key)
        .await
        .map_err(|e| root.error("download", &key, e))?;
    if got.meta.size > MANIFEST_MAX {
        return Err(ArtifactError::Invalid(format!(
            "manifest {manifest_uri} is {} bytes, more than a manifest can be",
            got.meta.size
        )));
    }
    let bytes = got
        .bytes()
        .await
        .map_err(|e| root.error("download", &key, e))?;
    let actual = Digest::of(&bytes);
    check(manifest_uri, digest.or(Some(&named)), &actual)?;
    let manifest = Manifest::parse(&bytes, manifest_uri)?;
    Ok((root, manifest))
}

fn local_manifest(dir: &Path, digest: Option<&Digest>) -> Result<Manifest, ArtifactError> {
    let manifest = Manifest::scan(dir)?;
    check(&dir.display().to_string(), digest, &manifest.digest())?;
    Ok(manifest)
}

fn local_file(path: &Path) -> Result<(Store, Key), ArtifactError> {
    let uri = url::Url::from_file_path(path).map_err(|()| {
        ArtifactError::Invalid(format!("{} is not an absolute path", path.display()))
    })?;
    let store = Store::open(uri.as_str())?;
    let key = store.prefix.clone();
    Ok((store, key))
}

fn find<'m>(manifest: &'m Manifest, path: &str, shown: &str) -> Result<&'m Entry, ArtifactError> {
    let path = path.trim_matches('/');
    manifest
        .entries
        .iter()
        .find(|e| e.path == path)
        .ok_or_else(|| ArtifactError::Missing {
            uri: format!("{shown} (no file {path:?} in the folder)"),
        })
}
