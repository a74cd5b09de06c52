//! The read-only web UI: `regent ui` (a server on loopback) and `regent ui
//! build` (the same UI as a static site).
//!
//! Both modes serve one set of embedded assets ([`assets`]) and the same data
//! files ([`data`]): JavaScript files that hand their JSON to the page
//! (`regent.data(key, {...})`), because a page opened from disk may load
//! `<script src>` files but may not `fetch()` them. The data is split so a
//! page loads only what it shows: the registry's index, one experiment's
//! runs in chunks, one run, one model, the history in chunks with an index
//! ([`audit`]). The server makes each file on request from Git objects
//! ([`server`]); the build writes them all ([`build`]). Nothing here writes
//! to the registry.

pub mod assets;
pub mod audit;
pub mod build;
pub mod data;
pub mod server;

use crate::diagnostic::Diagnostic;
use crate::git::GitError;

/// Why the UI could not be made or served.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Git(#[from] GitError),
    /// Registry files that do not load (the UI shows nothing half-read).
    #[error("{message}")]
    BadFiles {
        message: String,
        problems: Vec<Diagnostic>,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// The output folder holds something that is not a previous build.
    #[error("{path} exists and is not a folder `regent ui build` made")]
    NotABuild { path: String },
    #[error("cannot listen on {address}: {message}")]
    Listen { address: String, message: String },
}

impl UiError {
    fn bad_files(message: impl Into<String>, problems: Vec<Diagnostic>) -> UiError {
        UiError::BadFiles {
            message: message.into(),
            problems,
        }
    }

    fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> UiError {
        UiError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}
