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

/// GitHub access for judging commits already on a branch (`publish`,
/// `check` without `--pr`): a client when a token is set, else None (then
/// only merge commits are known to be pull requests, and no review counts).
pub fn optional_client(repo: &Repo, token_env: &str) -> Option<Client> {
    let settings = Settings::from_env(token_env, repo.remote_url().as_deref()).ok()?;
    Client::new(settings).ok()
}

/// The merged pull request into `branch` that GitHub associates with a
/// commit, with its reviews: what the gate judged it with.
pub fn merged_pull(
    client: &Client,
    branch: &str,
    sha: &str,
) -> Result<Option<crate::gate::PullRequestFacts>, String> {
    let lookup = async {
        let pulls = client.merged_pulls_for_commit(sha, branch).await?;
        let Some(pull) = pulls.into_iter().next() else {
            return Ok(None);
        };
        let reviews = client.reviews(pull.number).await?;
        Ok::<_, GitHubError>(Some(crate::gate::PullRequestFacts {
            number: pull.number,
            author: pull.author,
            head_sha: pull.head_sha,
            reviews: reviews
                .into_iter()
                .map(|r| crate::gate::ReviewFacts {
                    id: r.id,
                    user: r.user,
                    state: r.state,
                    commit_id: r.commit_id,
                })
                .collect(),
        }))
    };
    match block_on(lookup) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("cannot start the network runtime".into()),
    }
}

/// The members of every team the policy at `rev` names, looked up once.
pub fn team_members(
    client: &Client,
    repo: &Repo,
    rev: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(snapshot) = crate::snapshot::Snapshot::at_rev(repo, rev) else {
        return out;
    };
    let Ok(config) = snapshot.config() else {
        return out;
    };
    for team in config.value.teams() {
        if let Some((org, slug)) = team.trim_start_matches('@').split_once('/')
            && let Ok(Ok(members)) = block_on(client.team_members(org, slug))
        {
            out.insert(team.to_lowercase(), members);
        }
    }
    out
}

/// The branch HEAD is on (the base branch in a post-merge job), else `main`.
pub fn current_branch(repo: &Repo) -> String {
    repo.repo
        .head()
        .ok()
        .and_then(|h| h.shorthand().ok().map(str::to_owned))
        .unwrap_or_else(|| "main".to_owned())
}
