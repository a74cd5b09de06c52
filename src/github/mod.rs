//! GitHub access: pull requests, reviews, team members and sticky comments over the REST API.
//!
//! This module owns everything that talks to GitHub: where to find it and as whom
//! ([`Settings`]), the [`Client`] with one method per operation regent needs, and the
//! errors a user can act on ([`GitHubError`], each with a [`GitHubError::hint`]).
//!
//! Every request goes through one path ([`transport`]) that sends GitHub's versioned
//! headers, waits out rate limits within [`Settings::max_wait`], retries 5xx answers and
//! connection failures with exponential backoff, follows `Link: rel="next"` pagination,
//! and turns 401/403/404/422 into clear errors without retrying them. The token is
//! never printed: [`Token`] hides it from `Debug` and `Display`, and every error message
//! built from a response is scrubbed of it.
//!
//! Every write is idempotent at the level of the operation: [`Client::open_or_update_pull`]
//! never opens a second PR for a branch and [`Client::upsert_comment`] keeps one comment
//! per marker, so a rerun after a failure finishes the job and duplicates nothing.

mod transport;
mod types;

#[cfg(test)]
mod failure_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use http::Method;
use serde_json::json;

use transport::{Op, Transport, encode};
pub use types::{CommentOutcome, PullRequest, Review};
use types::{WireComment, WireMember, WirePull, WireReview};

/// The public API, used when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The environment variable holding the token unless `--token-env` names another.
pub const DEFAULT_TOKEN_ENV: &str = "GITHUB_TOKEN";

/// Prefix of [`GitHubError::NotFound`] messages about teams, so that
/// [`GitHubError::hint`] can name the permission that listing a team needs.
const TEAM_PREFIX: &str = "team ";

/// A secret that never prints: `Debug` and `Display` show `***`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(s: String) -> Token {
        Token(s)
    }

    /// The secret itself, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where and as whom to talk to GitHub.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `GITHUB_API_URL`, default `https://api.github.com`; a path prefix is kept
    /// (GitHub Enterprise Server: `https://ghe.example.com/api/v3`).
    pub api_url: String,
    pub token: Token,
    pub owner: String,
    pub repo: String,
    /// Upper bound on the total time spent waiting out rate limits in one run (default 5 minutes).
    pub max_wait: Duration,
    /// Base delay for 5xx/network retries (default 1 s; tests use milliseconds). 3 retries
    /// at most, doubling each time.
    pub retry_base: Duration,
}

impl Settings {
    /// Settings for `owner/repo` with the default API URL and waits.
    pub fn new(token: Token, owner: &str, repo: &str) -> Settings {
        Settings {
            api_url: DEFAULT_API_URL.to_owned(),
            token,
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            max_wait: Duration::from_secs(5 * 60),
            retry_base: Duration::from_secs(1),
        }
    }

    /// From the environment: the token from the variable named `token_env` (missing or
    /// empty is a [`GitHubError::Config`] with a hint), the API from `GITHUB_API_URL`, the
    /// repository from `GITHUB_REPOSITORY` (`owner/repo`) or else from `remote_url`.
    /// When that variable is unset or empty, the token of the GitHub CLI
    /// (`gh auth token`) if `gh` is installed and logged in: on a laptop,
    /// what `gh` already uses.
    pub fn from_env(token_env: &str, remote_url: Option<&str>) -> Result<Settings, GitHubError> {
        Settings::from_lookup_or(
            |name| std::env::var(name).ok(),
            gh_auth_token,
            token_env,
            remote_url,
        )
    }

    /// [`Settings::from_env`] with the environment given as a function and
    /// no fallback, for tests.
    pub fn from_lookup(
        env: impl Fn(&str) -> Option<String>,
        token_env: &str,
        remote_url: Option<&str>,
    ) -> Result<Settings, GitHubError> {
        Settings::from_lookup_or(env, |_| None, token_env, remote_url)
    }

    /// [`Settings::from_env`] with the environment and the fallback token
    /// (given the API URL) as functions.
    pub fn from_lookup_or(
        env: impl Fn(&str) -> Option<String>,
        fallback_token: impl Fn(&str) -> Option<String>,
        token_env: &str,
        remote_url: Option<&str>,
    ) -> Result<Settings, GitHubError> {
        let token_env = if token_env.is_empty() {
            DEFAULT_TOKEN_ENV
        } else {
            token_env
        };
        let api_url = env("GITHUB_API_URL")
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let token = env(token_env)
            .filter(|t| !t.trim().is_empty())
            .or_else(|| fallback_token(&api_url).filter(|t| !t.trim().is_empty()))
            .ok_or_else(|| {
                GitHubError::Config(format!(
                    "{token_env} is not set or empty: set it to a GitHub token that can write pull \
                 requests and issues in this repository (in GitHub Actions: \
                 `env: {token_env}: ${{{{ secrets.GITHUB_TOKEN }}}}`), log in with the GitHub \
                 CLI (`gh auth login`: regent then uses `gh auth token`), or name another \
                 variable with --token-env"
                ))
            })?;
        let (owner, repo) = match env("GITHUB_REPOSITORY").filter(|r| !r.is_empty()) {
            Some(full) => split_full_name(&full).ok_or_else(|| {
                GitHubError::Config(format!(
                    "GITHUB_REPOSITORY is {full:?}, not of the form owner/repo: fix or unset it \
                     (without it, regent reads the repository from the remote's URL)"
                ))
            })?,
            None => remote_url.and_then(parse_repository).ok_or_else(|| {
                let seen = remote_url.map_or_else(
                    || "there is no remote".to_owned(),
                    |url| format!("the remote URL {url:?} does not name one"),
                );
                GitHubError::Config(format!(
                    "cannot tell which GitHub repository to use: GITHUB_REPOSITORY is not set \
                     and {seen}; set GITHUB_REPOSITORY=owner/repo"
                ))
            })?,
        };
        let mut settings = Settings::new(Token::new(token.trim().to_owned()), &owner, &repo);
        settings.api_url = api_url;
        Ok(settings)
    }
}

/// The GitHub CLI's token for the host of `api_url` (`gh auth token`), if
/// `gh` is installed and logged in there. Its stderr is discarded and the
/// token is never shown.
fn gh_auth_token(api_url: &str) -> Option<String> {
    let mut command = std::process::Command::new("gh");
    command.args(["auth", "token"]);
    if api_url != DEFAULT_API_URL {
        // GitHub Enterprise Server: https://HOST/api/v3.
        let host = url::Url::parse(api_url).ok()?.host_str()?.to_owned();
        command.args(["--hostname", &host]);
    }
    let output = command
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let token = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!token.is_empty()).then_some(token)
}

fn split_full_name(full: &str) -> Option<(String, String)> {
    let (owner, repo) = full.trim().split_once('/')?;
    let ok = |s: &str| !s.is_empty() && !s.contains(['/', ' ', '\\']);
    (ok(owner) && ok(repo)).then(|| (owner.to_owned(), repo.to_owned()))
}

/// `owner/repo` from a remote URL of any host: `https://github.com/o/r(.git)`,
/// `git@github.com:o/r.git`, `ssh://git@host:22/o/r.git`, `https://token@ghe.example.com/o/r`.
/// `None` when the URL is not of that shape (a local path, a `file://` URL, more or fewer
/// than two path segments).
pub fn parse_repository(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let path = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") || scheme.is_empty() {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        if authority.is_empty() {
            return None;
        }
        path
    } else {
        // scp-like syntax, `[user@]host:path`; a local path has no colon before its first slash.
        let (host, path) = url.split_once(':')?;
        if host.is_empty() || host.contains('/') || host.contains('\\') || path.starts_with("//") {
            return None;
        }
        path
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    split_full_name(path)
}

/// What went wrong talking to GitHub. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// Bad settings; the message says how to fix them.
    #[error("{0}")]
    Config(String),
    /// 401, or 403 without rate-limit headers: the message names the likely missing permission.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: the message says what was not found.
    #[error("{0}")]
    NotFound(String),
    /// 422 with GitHub's message and its `errors[].message` joined.
    #[error("{0}")]
    Validation(String),
    /// 422 "A pull request already exists for …".
    #[error("a pull request already exists for this branch")]
    PullRequestExists,
    /// Still rate limited after waiting `max_wait` in total.
    #[error(
        "GitHub's rate limit would not reset within the time regent may wait (waited {}s so far)",
        waited.as_secs()
    )]
    RateLimited { waited: Duration },
    /// 5xx after retries.
    #[error("GitHub answered {status} (server error) {attempts} times in a row")]
    Server { status: u16, attempts: u32 },
    /// Connection errors after retries.
    #[error("{0}")]
    Network(String),
    /// Anything else: the status and a short excerpt of the body.
    #[error("{0}")]
    Unexpected(String),
}

impl GitHubError {
    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            GitHubError::Config(_) | GitHubError::Unexpected(_) => return None,
            GitHubError::Unauthorized(_) => {
                "check that the token is valid and not expired; in GitHub Actions, grant the \
                 workflow `permissions:` (pull-requests: write, issues: write, contents: read)"
            }
            GitHubError::NotFound(msg) if msg.starts_with(TEAM_PREFIX) => {
                "GitHub also answers 404 when the token may not see the team: listing members \
                 needs a token with the read:org scope (classic) or organization Members: read \
                 (fine-grained or GitHub App); Actions' GITHUB_TOKEN cannot read teams"
            }
            GitHubError::NotFound(_) => {
                "GitHub also answers 404 when the token cannot see the repository: check \
                 GITHUB_REPOSITORY (or the remote URL), GITHUB_API_URL, and the token's \
                 repository access"
            }
            GitHubError::Validation(_) => {
                "GitHub refused the request's content: check that the branches exist on GitHub \
                 (push the branch first) and that labels and names are valid"
            }
            GitHubError::PullRequestExists => {
                "rerun the command: it updates the existing pull request instead"
            }
            GitHubError::RateLimited { .. } => {
                "rerun later, when the rate limit has reset: every step is idempotent"
            }
            GitHubError::Server { .. } => {
                "GitHub is having trouble; rerun later: every step is idempotent"
            }
            GitHubError::Network(_) => {
                "check the network and GITHUB_API_URL; rerun: every step is idempotent"
            }
        };
        Some(hint.to_owned())
    }
}

/// A GitHub client for one repository.
pub struct Client {
    transport: Transport,
    owner: String,
    repo: String,
    /// Team members by lower-cased `org/slug`: fetched at most once per client.
    teams: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.transport.api_url())
            .field("owner", &self.owner)
            .field("repo", &self.repo)
            .field("token", &"***")
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, GitHubError> {
        if split_full_name(&format!("{}/{}", settings.owner, settings.repo)).is_none() {
            return Err(GitHubError::Config(format!(
                "{:?}/{:?} is not a GitHub repository name: set GITHUB_REPOSITORY=owner/repo",
                settings.owner, settings.repo
            )));
        }
        let owner = settings.owner.clone();
        let repo = settings.repo.clone();
        Ok(Client {
            transport: Transport::new(settings)?,
            owner,
            repo,
            teams: Mutex::new(HashMap::new()),
        })
    }

    /// `{api}/repos/{owner}/{repo}` followed by `rest` (already encoded).
    fn repo_url(&self, rest: &str) -> String {
        format!(
            "{}/repos/{}/{}{rest}",
            self.transport.api_url(),
            encode(&self.owner),
            encode(&self.repo)
        )
    }

    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    pub async fn get_pull(&self, number: u64) -> Result<PullRequest, GitHubError> {
        let op = Op::new(
            format!("read pull request #{number}"),
            format!("pull request #{number} in {}", self.full_name()),
            "pull-requests: read",
        );
        let url = self.repo_url(&format!("/pulls/{number}"));
        let pull: WirePull = self.transport.json(Method::GET, &url, None, &op).await?;
        Ok(pull.into())
    }

    /// The open PR whose head is `branch` in this repository and whose base is `base`.
    pub async fn find_open_pull(
        &self,
        branch: &str,
        base: &str,
    ) -> Result<Option<PullRequest>, GitHubError> {
        let op = Op::new(
            format!("list the open pull requests of branch {branch}"),
            format!("repository {}", self.full_name()),
            "pull-requests: read",
        );
        let url = self.repo_url(&format!(
            "/pulls?state=open&head={}&base={}&per_page=100",
            encode(&format!("{}:{branch}", self.owner)),
            encode(base)
        ));
        let pulls: Vec<WirePull> = self.transport.all_pages(&url, &op).await?;
        // GitHub ignores a `head` filter it cannot parse and lists every open PR, so the
        // filter is checked here too.
        Ok(pulls
            .into_iter()
            .map(PullRequest::from)
            .find(|p| p.head_ref == branch && p.base_ref == base && p.state == "open"))
    }

    pub async fn create_pull(
        &self,
        title: &str,
        body: &str,
        head: &str,
        base: &str,
    ) -> Result<PullRequest, GitHubError> {
        let op = Op::new(
            format!("open a pull request from {head} into {base}"),
            format!("repository {}", self.full_name()),
            "pull-requests: write",
        );
        let payload = json!({"title": title, "body": body, "head": head, "base": base});
        let url = self.repo_url("/pulls");
        let pull: WirePull = self
            .transport
            .json(Method::POST, &url, Some(&payload), &op)
            .await?;
        Ok(pull.into())
    }

    pub async fn update_pull(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GitHubError> {
        let op = Op::new(
            format!("update pull request #{number}"),
            format!("pull request #{number} in {}", self.full_name()),
            "pull-requests: write",
        );
        let payload = json!({"title": title, "body": body});
        let url = self.repo_url(&format!("/pulls/{number}"));
        let pull: WirePull = self
            .transport
            .json(Method::PATCH, &url, Some(&payload), &op)
            .await?;
        Ok(pull.into())
    }

    /// Creates the PR, or updates the one open for `head` (found first, or after a 422
    /// "already exists" from a concurrent run). Never two PRs. `true` when created.
    pub async fn open_or_update_pull(
        &self,
        title: &str,
        body: &str,
        head: &str,
        base: &str,
    ) -> Result<(PullRequest, bool), GitHubError> {
        if let Some(existing) = self.find_open_pull(head, base).await? {
            let updated = self.update_pull(existing.number, title, body).await?;
            return Ok((updated, false));
        }
        match self.create_pull(title, body, head, base).await {
            Ok(created) => Ok((created, true)),
            Err(GitHubError::PullRequestExists) => {
                let existing = self
                    .find_open_pull(head, base)
                    .await?
                    .ok_or(GitHubError::PullRequestExists)?;
                let updated = self.update_pull(existing.number, title, body).await?;
                Ok((updated, false))
            }
            Err(err) => Err(err),
        }
    }

    pub async fn add_labels(&self, number: u64, labels: &[String]) -> Result<(), GitHubError> {
        if labels.is_empty() {
            return Ok(());
        }
        let op = Op::new(
            format!("label pull request #{number}"),
            format!("pull request #{number} in {}", self.full_name()),
            "pull-requests: write",
        );
        let url = self.repo_url(&format!("/issues/{number}/labels"));
        let payload = json!({ "labels": labels });
        self.transport
            .request(Method::POST, &url, Some(&payload), &op)
            .await?;
        Ok(())
    }

    /// The merged pull requests into `base` that GitHub associates with
    /// `sha` (its merge or squash commit, or one of a rebase merge's
    /// commits): how a commit on the base branch is known to have come
    /// through a pull request.
    pub async fn merged_pulls_for_commit(
        &self,
        sha: &str,
        base: &str,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let op = Op::new(
            format!(
                "list the pull requests of commit {}",
                &sha[..sha.len().min(12)]
            ),
            format!("commit {sha} in {}", self.full_name()),
            "contents: read, pull-requests: read",
        );
        let url = self.repo_url(&format!("/commits/{}/pulls?per_page=100", encode(sha)));
        let pulls: Vec<WirePull> = self.transport.all_pages(&url, &op).await?;
        Ok(pulls
            .into_iter()
            .map(PullRequest::from)
            .filter(|p| p.merged_at.is_some() && p.base_ref == base)
            .collect())
    }

    /// Every review of the PR, oldest first, over all pages.
    pub async fn reviews(&self, number: u64) -> Result<Vec<Review>, GitHubError> {
        let op = Op::new(
            format!("list the reviews of pull request #{number}"),
            format!("pull request #{number} in {}", self.full_name()),
            "pull-requests: read",
        );
        let url = self.repo_url(&format!("/pulls/{number}/reviews?per_page=100"));
        let reviews: Vec<WireReview> = self.transport.all_pages(&url, &op).await?;
        Ok(reviews.into_iter().map(Review::from).collect())
    }

    /// Lower-cased logins of the members of team `org/slug`, fetched at most once per client.
    pub async fn team_members(
        &self,
        org: &str,
        slug: &str,
    ) -> Result<BTreeSet<String>, GitHubError> {
        let key = format!("{org}/{slug}").to_lowercase();
        if let Some(cached) = self.lock_teams().get(&key) {
            return Ok(cached.clone());
        }
        let op = Op::new(
            format!("list the members of team {org}/{slug}"),
            format!("{TEAM_PREFIX}{org}/{slug}"),
            "read:org (classic token) or organization Members: read",
        );
        let url = format!(
            "{}/orgs/{}/teams/{}/members?per_page=100",
            self.transport.api_url(),
            encode(org),
            encode(slug)
        );
        let members: Vec<WireMember> = self.transport.all_pages(&url, &op).await?;
        let logins: BTreeSet<String> = members
            .into_iter()
            .map(|m| m.login.to_lowercase())
            .collect();
        self.lock_teams().insert(key, logins.clone());
        Ok(logins)
    }

    fn lock_teams(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        // The map is only ever inserted into whole, so a panic elsewhere cannot leave it torn.
        self.teams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One sticky comment per PR and `marker` (an HTML comment such as
    /// `<!-- regent:check -->`): updates the first comment that starts with the marker when
    /// its body differs, leaves it when equal, or creates it. The marker is prepended to
    /// `body` when `body` does not start with it, so that the next run finds the comment.
    pub async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, GitHubError> {
        if marker.trim().is_empty() {
            return Err(GitHubError::Config(
                "a sticky comment needs a non-empty marker such as <!-- regent:check -->".into(),
            ));
        }
        // regent's comment starts with the marker; a comment that only quotes it
        // (a reviewer explaining regent, a forged copy) is somebody else's.
        let is_ours = |text: &str| text.trim_start().starts_with(marker);
        let body = if is_ours(body) {
            body.to_owned()
        } else {
            format!("{marker}\n{body}")
        };
        let op = Op::new(
            format!("comment on pull request #{number}"),
            format!("pull request #{number} in {}", self.full_name()),
            "pull-requests: write (or issues: write)",
        );
        let url = self.repo_url(&format!("/issues/{number}/comments?per_page=100"));
        let comments: Vec<WireComment> = self.transport.all_pages(&url, &op).await?;
        let payload = json!({ "body": body });
        let existing = comments
            .into_iter()
            .find(|c| c.body.as_deref().is_some_and(is_ours));
        match existing {
            Some(comment) => {
                let current = comment.body.unwrap_or_default();
                // GitHub may hand back the body with CRLF line ends.
                if current.replace("\r\n", "\n") == body.replace("\r\n", "\n") {
                    return Ok(CommentOutcome::Unchanged(comment.id));
                }
                let url = self.repo_url(&format!("/issues/comments/{}", comment.id));
                let updated: WireComment = self
                    .transport
                    .json(Method::PATCH, &url, Some(&payload), &op)
                    .await?;
                Ok(CommentOutcome::Updated(updated.id))
            }
            None => {
                let url = self.repo_url(&format!("/issues/{number}/comments"));
                let created: WireComment = self
                    .transport
                    .json(Method::POST, &url, Some(&payload), &op)
                    .await?;
                Ok(CommentOutcome::Created(created.id))
            }
        }
    }
}
