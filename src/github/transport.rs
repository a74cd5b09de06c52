//! One way to send a request to GitHub: headers, authentication, rate limits, retries,
//! pagination, and the mapping of error answers to [`GitHubError`].
//!
//! octocrab executes the requests through its raw `execute`, not its typed API, so that
//! status codes and headers (`x-ratelimit-*`, `retry-after`, `link`) are seen and acted on
//! here. It runs on a hyper stack built here, so that each request carries exactly the
//! headers set below (octocrab's default stack adds a second `User-Agent`). An `Octocrab`
//! lives on the tokio runtime it was built in (its request queue is a task there) and the
//! CLI may run each step on a runtime of its own, so one is built lazily per runtime, over
//! a TLS connector built once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LINK, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use octocrab::{AuthState, OctoBody, Octocrab, OctocrabBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{GitHubError, Settings, Token};

const USER_AGENT_VALUE: &str = concat!("regent/", env!("CARGO_PKG_VERSION"));
const API_VERSION: &str = "2022-11-28";
/// 5xx answers and connection failures are retried this many times.
const MAX_RETRIES: u32 = 3;
/// GitHub asks to wait at least a minute after a secondary rate limit without `retry-after`.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A runaway `Link` chain stops here (100 000 items at 100 per page).
const MAX_PAGES: usize = 1000;
const EXCERPT_CHARS: usize = 200;

/// What a request is for, to write errors a user can act on.
pub(super) struct Op {
    /// "open a pull request from a into b"
    action: String,
    /// "pull request #3 in o/r", "team org/slug": what a 404 did not find.
    resource: String,
    /// The permission a 403 most likely lacks.
    permission: &'static str,
}

impl Op {
    pub(super) fn new(action: String, resource: String, permission: &'static str) -> Op {
        Op {
            action,
            resource,
            permission,
        }
    }
}

/// A successful answer.
pub(super) struct Reply {
    pub headers: HeaderMap,
    pub body: String,
}

pub(super) struct Transport {
    /// TLS set up once (roots loaded, errors reported by `Client::new`).
    connector: Https,
    /// The `Octocrab` of the runtime that last sent a request.
    octocrab: Mutex<Option<(tokio::runtime::Id, Octocrab)>>,
    /// Without a trailing slash; may carry a path prefix (`/api/v3`).
    api_url: String,
    /// `scheme://authority` of `api_url`: the only place the token is sent.
    origin: String,
    token: Token,
    max_wait: Duration,
    retry_base: Duration,
    /// Time spent waiting out rate limits so far, against `max_wait`.
    waited: Mutex<Duration>,
}

impl Transport {
    pub(super) fn new(settings: Settings) -> Result<Transport, GitHubError> {
        let api_url = settings.api_url.trim().trim_end_matches('/').to_owned();
        let bad_url = || {
            GitHubError::Config(format!(
                "GITHUB_API_URL {api_url:?} is not an http(s) URL: set it to the REST API's root, \
                 such as https://api.github.com or https://ghe.example.com/api/v3"
            ))
        };
        let uri: Uri = api_url.parse().map_err(|_| bad_url())?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(bad_url());
        };
        if scheme != "https" && scheme != "http" {
            return Err(bad_url());
        }
        let origin = format!("{scheme}://{authority}");
        if settings.token.expose().is_empty()
            || HeaderValue::from_str(&format!("Bearer {}", settings.token.expose())).is_err()
        {
            return Err(GitHubError::Config(
                "the GitHub token is empty or has characters not allowed in an HTTP header \
                 (a stray newline?): set it again"
                    .into(),
            ));
        }
        Ok(Transport {
            connector: https_connector(scheme == "https")?,
            octocrab: Mutex::new(None),
            api_url,
            origin,
            token: settings.token,
            max_wait: settings.max_wait,
            retry_base: settings.retry_base,
            waited: Mutex::new(Duration::ZERO),
        })
    }

    /// The `Octocrab` for the current runtime, built on first use in it.
    fn octocrab(&self) -> Result<Octocrab, GitHubError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| {
                GitHubError::Unexpected(
                    "internal error: a GitHub request was made outside a tokio runtime".into(),
                )
            })?
            .id();
        let mut cached = self.octocrab.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((id, octocrab)) = cached.as_ref()
            && *id == runtime
        {
            return Ok(octocrab.clone());
        }
        let connector = OctocrabBuilder::new()
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(READ_TIMEOUT))
            .set_connect_timeout_service(self.connector.clone());
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        let octocrab = OctocrabBuilder::new_empty()
            .with_service(client)
            .with_auth(AuthState::None)
            .build()
            .map_err(|never| match never {})?;
        *cached = Some((runtime, octocrab.clone()));
        Ok(octocrab)
    }

    pub(super) fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Sends one request, waiting out rate limits and retrying 5xx and connection failures.
    pub(super) async fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        op: &Op,
    ) -> Result<Reply, GitHubError> {
        let payload = body.map(Value::to_string);
        let mut failures = 0;
        loop {
            let request = self.build(&method, url, payload.as_deref())?;
            let octocrab = self.octocrab()?;
            let answer = match octocrab.execute(request).await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    octocrab
                        .body_to_string(response)
                        .await
                        .map(|body| (status, headers, body))
                }
                Err(err) => Err(err),
            };
            let (status, headers, text) = match answer {
                Ok(answer) => answer,
                // A POST that may have reached GitHub is not sent twice: only a failure to
                // connect is retried for it (a duplicate comment would be worse than an error).
                Err(err)
                    if failures < MAX_RETRIES && (method != Method::POST || is_connect(&err)) =>
                {
                    self.back_off(&mut failures).await;
                    continue;
                }
                Err(err) => {
                    return Err(GitHubError::Network(self.redact(format!(
                        "cannot reach GitHub at {} to {}: {} ({})",
                        self.api_url,
                        op.action,
                        error_chain(&err),
                        match failures {
                            0 => "1 attempt".to_owned(),
                            n => format!("{} attempts", n + 1),
                        }
                    ))));
                }
            };
            if status.is_success() {
                return Ok(Reply {
                    headers,
                    body: text,
                });
            }
            if let Some(wait) = rate_limit_wait(status, &headers, &text) {
                self.wait_out(wait).await?;
                continue;
            }
            if status.is_server_error() {
                if failures < MAX_RETRIES {
                    self.back_off(&mut failures).await;
                    continue;
                }
                return Err(GitHubError::Server {
                    status: status.as_u16(),
                    attempts: failures + 1,
                });
            }
            return Err(self.classify(status, &text, op, &method, url));
        }
    }

    /// [`Transport::request`], then the body read as `T`.
    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        op: &Op,
    ) -> Result<T, GitHubError> {
        let reply = self.request(method.clone(), url, body, op).await?;
        self.parse(&reply.body, op, &method, url)
    }

    /// Every item of a list endpoint, following `Link: <…>; rel="next"` as given.
    pub(super) async fn all_pages<T: DeserializeOwned>(
        &self,
        first: &str,
        op: &Op,
    ) -> Result<Vec<T>, GitHubError> {
        let mut url = first.to_owned();
        let mut seen = HashSet::from([url.clone()]);
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self.request(Method::GET, &url, None, op).await?;
            let page: Vec<T> = self.parse(&reply.body, op, &Method::GET, &url)?;
            items.extend(page);
            match next_link(&reply.headers) {
                Some(next) => {
                    let next = self.absolute(&next);
                    if !seen.insert(next.clone()) {
                        return Ok(items);
                    }
                    url = next;
                }
                None => return Ok(items),
            }
        }
        Err(GitHubError::Unexpected(format!(
            "GitHub listed more than {MAX_PAGES} pages to {}; giving up",
            op.action
        )))
    }

    fn build(
        &self,
        method: &Method,
        url: &str,
        payload: Option<&str>,
    ) -> Result<Request<OctoBody>, GitHubError> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(url)
            .header(ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION)
            .header(USER_AGENT, USER_AGENT_VALUE);
        // The token goes to the API's host only, even if a `Link` points elsewhere.
        if same_origin(url, &self.origin) {
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
                .map_err(|_| {
                    GitHubError::Config("the GitHub token is not a valid header".into())
                })?;
            auth.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, auth);
        }
        let body = match payload {
            Some(json) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                OctoBody::from(json.to_owned())
            }
            None => OctoBody::from(()),
        };
        builder.body(body).map_err(|err| {
            GitHubError::Unexpected(self.redact(format!("cannot build a request to {url}: {err}")))
        })
    }

    fn parse<T: DeserializeOwned>(
        &self,
        body: &str,
        op: &Op,
        method: &Method,
        url: &str,
    ) -> Result<T, GitHubError> {
        serde_json::from_str(body).map_err(|err| {
            GitHubError::Unexpected(self.redact(format!(
                "cannot read GitHub's answer to {method} {} ({}): {err}; it begins {:?}",
                path_of(url),
                op.action,
                excerpt(body)
            )))
        })
    }

    async fn back_off(&self, failures: &mut u32) {
        let delay = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(*failures));
        *failures += 1;
        tokio::time::sleep(delay).await;
    }

    /// Sleeps `wait` if the run's budget allows it, else gives up at once: waiting part of
    /// the way would not help.
    async fn wait_out(&self, wait: Duration) -> Result<(), GitHubError> {
        {
            let mut waited = self.waited.lock().unwrap_or_else(|p| p.into_inner());
            if *waited + wait > self.max_wait {
                return Err(GitHubError::RateLimited { waited: *waited });
            }
            *waited += wait;
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn classify(
        &self,
        status: StatusCode,
        body: &str,
        op: &Op,
        method: &Method,
        url: &str,
    ) -> GitHubError {
        let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let message = parsed
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| excerpt(body), str::to_owned);
        let code = status.as_u16();
        match code {
            401 => GitHubError::Unauthorized(self.redact(format!(
                "GitHub rejected the token (401 {message}) when asked to {}",
                op.action
            ))),
            403 => GitHubError::Unauthorized(self.redact(format!(
                "GitHub refused to {} (403 {message}): the token likely lacks the `{}` permission",
                op.action, op.permission
            ))),
            404 => GitHubError::NotFound(self.redact(format!(
                "{} not found (GitHub answered 404 to {method} {})",
                op.resource,
                path_of(url)
            ))),
            422 => {
                let details = validation_details(&parsed);
                if details
                    .iter()
                    .any(|d| d.starts_with("A pull request already exists"))
                {
                    return GitHubError::PullRequestExists;
                }
                let mut text = format!("GitHub refused to {}: {message}", op.action);
                if !details.is_empty() {
                    text = format!("{text}: {}", details.join("; "));
                }
                GitHubError::Validation(self.redact(text))
            }
            _ => GitHubError::Unexpected(self.redact(format!(
                "unexpected answer from GitHub to {method} {} ({}): {status} {}",
                path_of(url),
                op.action,
                excerpt(body)
            ))),
        }
    }

    /// Removes the token from text that may quote a request (an echoing proxy, a debug body).
    fn redact(&self, text: String) -> String {
        let token = self.token.expose();
        if token.is_empty() {
            text
        } else {
            text.replace(token, "***")
        }
    }

    /// A `Link` target as an absolute URL: GitHub gives absolute ones; a bare path is
    /// taken relative to the API's host.
    fn absolute(&self, target: &str) -> String {
        if target.starts_with('/') {
            format!("{}{target}", self.origin)
        } else {
            target.to_owned()
        }
    }
}

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

fn https_connector(https: bool) -> Result<Https, GitHubError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots =
        hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone());
    let builder = match roots {
        Ok(builder) => builder,
        Err(err) if https => {
            return Err(GitHubError::Config(format!(
                "cannot load the system's TLS root certificates ({err}): install them \
                 (ca-certificates) or point SSL_CERT_FILE at a bundle"
            )));
        }
        // Plain http (a local mock, a proxy) needs no roots.
        Err(_) => {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|err| GitHubError::Config(format!("cannot set up TLS: {err}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    Ok(builder.https_or_http().enable_http1().build())
}

/// How long to wait before retrying a rate-limited answer; `None` when it is not one.
/// Primary limit: 403/429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch
/// seconds). Secondary limit: 403/429 with `retry-after` (seconds), or a body saying so.
pub(super) fn rate_limit_wait(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> Option<Duration> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds.max(1)));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let wait = header("x-ratelimit-reset")
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(DEFAULT_RATE_LIMIT_WAIT, |reset| {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                Duration::from_secs(reset).saturating_sub(now)
            });
        return Some(wait.max(Duration::from_secs(1)));
    }
    if status == StatusCode::TOO_MANY_REQUESTS || body.to_lowercase().contains("rate limit") {
        return Some(DEFAULT_RATE_LIMIT_WAIT);
    }
    None
}

/// The `rel="next"` target of the `Link` headers, if any.
pub(super) fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        let mut rest = value;
        while let Some(start) = rest.find('<') {
            let after = &rest[start + 1..];
            let end = after.find('>')?;
            let target = &after[..end];
            let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
            let params = &after[end + 1..params_end];
            let is_next = params.split([';', ',']).any(|param| {
                param.trim().strip_prefix("rel=").is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            if is_next {
                return Some(target.to_owned());
            }
            rest = &after[params_end..];
        }
    }
    None
}

/// Percent-encodes one path segment or query value: everything but RFC 3986's unreserved
/// characters, so `/`, `#`, `+`, `?`, `&` and `%` in branch names stay inside it.
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn same_origin(url: &str, origin: &str) -> bool {
    url.strip_prefix(origin)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

/// The path and query of a URL, for messages.
fn path_of(url: &str) -> &str {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme
        .find('/')
        .map_or("/", |i| &without_scheme[i..])
}

/// GitHub's `errors` of a 422: objects with a `message`, objects with only
/// `resource`/`field`/`code`, or plain strings.
fn validation_details(parsed: &Value) -> Vec<String> {
    let Some(errors) = parsed.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    errors
        .iter()
        .filter_map(|error| match error {
            Value::String(s) => Some(s.clone()),
            Value::Object(fields) => {
                if let Some(message) = fields.get("message").and_then(Value::as_str) {
                    return Some(message.to_owned());
                }
                let part = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or("");
                let described = format!("{} {} {}", part("resource"), part("field"), part("code"));
                let described = described.split_whitespace().collect::<Vec<_>>().join(" ");
                (!described.is_empty()).then_some(described)
            }
            _ => None,
        })
        .collect()
}

/// The first characters of a body, on one line.
fn excerpt(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// Whether the request failed before a connection was made, so it never reached GitHub.
fn is_connect(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect)
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// An error and its sources on one line, without repeats (hyper nests the same text).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
