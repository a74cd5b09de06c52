//! The artifact store: where the files and folders that runs and versions
//! name are kept, so that a record in Git points at bytes anyone with access
//! can fetch and verify (DESIGN.md §7).
//!
//! The store is a root URI (`regent.yaml`'s `artifacts: {root: …}`, or
//! `REGENT_ARTIFACT_ROOT`): a local folder, `s3://`, `gs://` or `az://`,
//! reached through the `object_store` crate. Objects are addressed by
//! content: a file whose SHA-256 is `H` lives at `<root>/sha256/<H[0..2]>/<H>`,
//! so uploading the same bytes twice stores them once, and a URI names bytes
//! that cannot change under it. A folder is stored file by file, then its
//! manifest ([`manifest`]) is stored the same way and recorded in its place.
//!
//! One job per file: [`digest`] hashes, [`manifest`] describes folders,
//! [`store`] opens a store from a root and the environment, [`upload`] puts
//! files and folders, [`download`] gets and verifies them, and [`record`]
//! turns command-line artifact arguments into what runs and versions record.

pub mod digest;
pub mod download;
pub mod manifest;
pub mod record;
pub mod store;
pub mod upload;

pub use digest::Digest;
pub use store::Store;

use std::path::Path;

/// Something stored by content: what a run or version records for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The object's URI (a folder's: its manifest's).
    pub uri: String,
    /// The object's digest (a folder's: its manifest's).
    pub digest: Digest,
    /// Bytes (a folder's: the sum of its files).
    pub size: u64,
    pub folder: bool,
    /// False when every object was in the store already.
    pub uploaded: bool,
}

/// Why an artifact could not be stored or fetched.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A local path was given and no store is configured.
    #[error("{0}: a local artifact needs an artifact store, and none is configured")]
    NoStore(String),
    #[error("artifact store root {root:?}: {reason}")]
    BadRoot { root: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The store refused or failed; the message has every credential the
    /// environment holds replaced by `***`.
    #[error("cannot {what} {uri}: {message}")]
    Store {
        what: &'static str,
        uri: String,
        message: String,
    },
    #[error("no object at {uri}")]
    Missing { uri: String },
    /// A file's bytes changed between hashing and uploading.
    #[error(
        "{path} changed while it was uploaded (it was {expected}, then {actual}); nothing was \
         stored under either digest"
    )]
    Changed {
        path: String,
        expected: String,
        actual: String,
    },
    /// Downloaded bytes are not the bytes recorded.
    #[error("{uri} does not match its digest: expected {expected}, got {actual}")]
    Mismatch {
        uri: String,
        expected: String,
        actual: String,
    },
    /// A local artifact is not what the user said it is.
    #[error("artifact {arg} has digest {actual}, not {given}")]
    DigestDiffers {
        arg: String,
        actual: String,
        given: String,
    },
    /// Bad input: a path, a folder's contents, a name, a manifest.
    #[error("{0}")]
    Invalid(String),
}

impl ArtifactError {
    pub fn io(path: &Path, source: std::io::Error) -> ArtifactError {
        ArtifactError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A "no" (exit 1) rather than an error (exit 2): the bytes asked for are
    /// not there, or not the ones recorded.
    pub fn is_no(&self) -> bool {
        matches!(
            self,
            ArtifactError::Missing { .. }
                | ArtifactError::Mismatch { .. }
                | ArtifactError::DigestDiffers { .. }
        )
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ArtifactError::NoStore(_) => Some(format!(
                "configure a store in regent.yaml, e.g. `artifacts: {{root: s3://bucket/prefix}}` \
                 (or gs://…, az://…, a local folder), or set {}; or pass --keep-local to record \
                 the file where it is, inside the repository, without storing it",
                store::ROOT_ENV
            )),
            ArtifactError::Store { message, .. } => store::hint_for(message),
            ArtifactError::Mismatch { .. } => Some(
                "the stored object was changed or damaged; nothing was written at the destination"
                    .into(),
            ),
            _ => None,
        }
    }
}
