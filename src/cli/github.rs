//! What the GitHub-facing commands share: the client from the environment,
//! a small tokio runtime built only for them (other commands start without
//! one), and GitHub errors as CLI errors.

use super::{CliError, CliResult};
use crate::git::Repo;
use crate::github::{Client, GitHubError, Settings};

/// Token, API and repository from the environment (DESIGN.md §6).
pub fn client(repo: &Repo, token_env: &str) -> CliResult<Client> {
    let settings = Settings::from_env(token_env, repo.remote_url().as_deref()).map_err(error)?;
    Client::new(settings).map_err(error)
}

/// Runs a future on a single-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> CliResult<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::error(format!("cannot start the network runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// A GitHub error as a CLI error (exit 2), with its hint.
pub fn error(e: GitHubError) -> CliError {
    let hint = e.hint();
    let error = CliError::error(format!("GitHub: {e}"));
    match hint {
        Some(h) => error.hint(h),
        None => error,
    }
}
