//! Putting files and folders into a store by content.
//!
//! A file is hashed first (its digest names its key), then read again while
//! it is sent, and hashed again: if the second reading differs (the file was
//! being written meanwhile), the upload is abandoned before it completes, so
//! no object ever holds bytes its name does not promise. An object already
//! present with the right size is not sent again.
//!
//! Nothing is visible at a final key before it is whole. A small file is one
//! PUT (atomic on every store). A large one is a multipart upload, which S3,
//! GCS and Azure publish only when it is completed; a process killed midway
//! leaves an incomplete upload the store does not list as an object (an S3
//! lifecycle rule `AbortIncompleteMultipartUpload` reclaims its space). A
//! local folder store writes to a staging file `<key>#<n>` and renames it into
//! place when complete; a kill leaves that staging file, which object_store
//! never lists or reads and which is safe to delete.

use super::digest::{CHUNK, Digest, Hasher};
use super::manifest::Manifest;
use super::{ArtifactError, Store, Stored};
use futures_util::StreamExt;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use std::io::Read;
use std::path::Path;

/// Files up to this size are sent in one request (and held in memory once).
pub const SINGLE_PUT_MAX: u64 = 8 << 20;
/// Parts of one multipart upload in flight at once.
const PART_CONCURRENCY: usize = 2;
/// Files of a folder sent at once: many small files are bound by round trips.
const FILE_CONCURRENCY: usize = 4;
/// S3 allows 10,000 parts; keep a margin.
const MAX_PARTS: u64 = 9_000;

/// Stores one file whose digest and size were computed already. Returns
/// whether it was sent (false: it was in the store).
pub async fn file(
    store: &Store,
    path: &Path,
    digest: &Digest,
    size: u64,
) -> Result<bool, ArtifactError> {
    let key = store.content_key(digest);
    match store.inner().head(&key).await {
        Ok(meta) if meta.size == size => return Ok(false),
        // Present with another size: damaged; the upload replaces it.
        Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(store.error("look up", &key, e)),
    }
    let mut source = fs_err::File::open(path).map_err(|e| ArtifactError::io(path, e))?;
    let changed = |actual: Digest| ArtifactError::Changed {
        path: path.display().to_string(),
        expected: digest.to_string(),
        actual: actual.to_string(),
    };
    if size <= SINGLE_PUT_MAX {
        // One more byte than expected is enough to know it grew.
        let mut bytes = Vec::with_capacity(size as usize + 1);
        (&mut source)
            .take(SINGLE_PUT_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ArtifactError::io(path, e))?;
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(changed(actual));
        }
        store
            .inner()
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(|e| store.write_error("upload to", &key, e))?;
        return Ok(true);
    }
    let upload = store
        .inner()
        .put_multipart(&key)
        .await
        .map_err(|e| store.write_error("start an upload to", &key, e))?;
    // At least 8 MiB (S3's minimum part is 5 MiB), more for files so large
    // that 8 MiB parts would pass the limit on the number of parts.
    let chunk = (size.div_ceil(MAX_PARTS).max(8 << 20)).next_multiple_of(1 << 20);
    let mut writer = WriteMultipart::new_with_chunk_size(upload, chunk as usize);
    let mut hasher = Hasher::default();
    let mut buffer = vec![0u8; CHUNK];
    let mut read = 0u64;
    loop {
        let n = match source.read(&mut buffer) {
            Ok(n) => n,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(ArtifactError::io(path, e));
            }
        };
        if n == 0 {
            break;
        }
        // Back pressure: at most PART_CONCURRENCY parts in memory.
        if let Err(e) = writer.wait_for_capacity(PART_CONCURRENCY).await {
            let _ = writer.abort().await;
            return Err(store.write_error("upload to", &key, e));
        }
        hasher.update(&buffer[..n]);
        writer.write(&buffer[..n]);
        let parts_before = read / chunk;
        read += n as u64;
        if read / chunk > parts_before {
            // For the crash tests: a real SIGKILL while parts are on their way.
            crate::fault::point("upload-part");
        }
    }
    let (actual, _) = hasher.finish();
    if actual != *digest {
        // Abandoned before completion: the key never shows these bytes.
        let _ = writer.abort().await;
        return Err(changed(actual));
    }
    writer
        .finish()
        .await
        .map_err(|e| store.write_error("upload to", &key, e))?;
    Ok(true)
}

/// Stores a folder: every file by content, then the manifest, also by
/// content. The manifest goes last, so a manifest in the store means every
/// file it lists is there too.
pub async fn folder(
    store: &Store,
    dir: &Path,
    manifest: &Manifest,
) -> Result<Stored, ArtifactError> {
    let mut sent = futures_util::stream::iter(manifest.entries.iter().map(|entry| async move {
        let size = entry.size.unwrap_or_default();
        file(store, &dir.join(&entry.path), &entry.digest, size).await
    }))
    .buffer_unordered(FILE_CONCURRENCY);
    let mut uploaded = false;
    while let Some(result) = sent.next().await {
        uploaded |= result?;
    }
    let text = manifest.text();
    let digest = manifest.digest();
    let key = store.content_key(&digest);
    let present = match store.inner().head(&key).await {
        Ok(meta) => meta.size == text.len() as u64,
        Err(object_store::Error::NotFound { .. }) => false,
        Err(e) => return Err(store.error("look up", &key, e)),
    };
    if !present {
        store
            .inner()
            .put(&key, PutPayload::from(text.into_bytes()))
            .await
            .map_err(|e| store.write_error("upload to", &key, e))?;
        uploaded = true;
    }
    Ok(Stored {
        uri: store.uri(&key),
        digest,
        size: manifest.total_size(),
        folder: true,
        uploaded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::store::block_on;

    fn local_store(dir: &Path) -> Store {
        let uri = url::Url::from_file_path(dir).unwrap();
        Store::open(uri.as_str()).unwrap()
    }

    /// Every file under `dir`, relative.
    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(d) = pending.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    pending.push(p);
                } else {
                    out.push(p.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    /// A file whose bytes are not the ones hashed (it changed after the
    /// first reading) is never stored, in one request or in parts.
    #[test]
    fn a_file_that_changed_after_hashing_is_not_stored() {
        let temp = tempfile::tempdir().unwrap();
        let store_dir = temp.path().join("store");
        std::fs::create_dir_all(&store_dir).unwrap();
        let store = local_store(&store_dir);
        for size in [10usize, (SINGLE_PUT_MAX as usize) + (3 << 20)] {
            let path = temp.path().join(format!("f{size}"));
            std::fs::write(&path, vec![7u8; size]).unwrap();
            // What the first reading saw, before the file was rewritten.
            let before = Digest::of(&vec![8u8; size]);
            let result = block_on(file(&store, &path, &before, size as u64)).unwrap();
            let error = result.unwrap_err();
            assert!(
                matches!(&error, ArtifactError::Changed { expected, .. } if *expected == before.to_string()),
                "{error}"
            );
            assert_eq!(files(&store_dir), Vec::<String>::new(), "size {size}");
            // The bytes as they are now store fine, under their own name.
            let (now, _) = super::super::digest::file(&path).unwrap();
            assert!(
                block_on(file(&store, &path, &now, size as u64))
                    .unwrap()
                    .unwrap()
            );
            let key = format!("sha256/{}/{}", &now.hex()[..2], now.hex());
            assert_eq!(files(&store_dir), vec![key.clone()]);
            // Again: already there, not sent.
            assert!(
                !block_on(file(&store, &path, &now, size as u64))
                    .unwrap()
                    .unwrap()
            );
            std::fs::remove_file(store_dir.join(key)).unwrap();
        }
    }
}
