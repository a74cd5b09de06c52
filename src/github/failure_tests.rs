//! Settings, and every way a request can fail: rate limits waited out or not, 5xx and
//! connection failures retried, 401/403/404/422 mapped to clear errors, and the token
//! never printed on the way.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::tests::{TOKEN, catch_all, client, ok, pull, repo_path, settings};
use super::transport::rate_limit_wait;
use super::*;

const ERRORS: &str = include_str!("../../tests/fixtures/github/recorded/errors.json");

fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// `GET /pulls/1` answers `limited` once, then the PR.
async fn limited_once(limited: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/1")))
        .respond_with(limited)
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/1")))
        .respond_with(ok(pull(1, "b", "main")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    server
}

#[tokio::test]
async fn a_primary_rate_limit_is_waited_out_until_the_reset() {
    let reset = epoch_secs() + 1;
    let server = limited_once(
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.to_string().as_str())
            .set_body_json(json!({"message": "API rate limit exceeded for installation ID 1."})),
    )
    .await;
    let started = Instant::now();
    let pr = client(&server)
        .await
        .get_pull(1)
        .await
        .expect("after the reset");
    assert_eq!(pr.number, 1);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let server = limited_once(ResponseTemplate::new(429).insert_header("retry-after", "1")).await;
    let started = Instant::now();
    client(&server)
        .await
        .get_pull(1)
        .await
        .expect("after retry-after");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_secondary_rate_limit_403_is_waited_out() {
    let server = limited_once(ResponseTemplate::new(403).insert_header("retry-after", "1").set_body_json(
        json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
    ))
    .await;
    client(&server)
        .await
        .get_pull(1)
        .await
        .expect("after the secondary limit");
}

#[tokio::test]
async fn a_rate_limit_longer_than_max_wait_fails_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let mut s = settings(&server.uri());
    s.max_wait = Duration::from_secs(2);
    let started = Instant::now();
    let err = Client::new(s)
        .expect("client")
        .get_pull(1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GitHubError::RateLimited { waited } if waited == Duration::ZERO),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.hint().is_some());
}

#[test]
fn rate_limits_are_told_from_permission_refusals() {
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("value"));
        }
        map
    };
    let forbidden = http::StatusCode::FORBIDDEN;
    let plain = headers(&[("x-ratelimit-remaining", "4999")]);
    assert_eq!(
        rate_limit_wait(
            forbidden,
            &plain,
            r#"{"message":"Resource not accessible by integration"}"#
        ),
        None
    );
    let reset_past = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")]);
    assert_eq!(
        rate_limit_wait(forbidden, &reset_past, ""),
        Some(Duration::from_secs(1))
    );
    let secondary = r#"{"message":"You have exceeded a secondary rate limit"}"#;
    assert_eq!(
        rate_limit_wait(forbidden, &plain, secondary),
        Some(Duration::from_secs(60))
    );
    let server_error = headers(&[("retry-after", "5")]);
    assert_eq!(
        rate_limit_wait(http::StatusCode::BAD_GATEWAY, &server_error, ""),
        None
    );
}

#[tokio::test]
async fn a_500_is_retried() {
    let server = limited_once(ResponseTemplate::new(502)).await;
    client(&server)
        .await
        .get_pull(1)
        .await
        .expect("after the retry");
}

#[tokio::test]
async fn a_500_that_persists_is_a_server_error_after_three_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/1")))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client(&server).await.get_pull(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            GitHubError::Server {
                status: 503,
                attempts: 4
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let client = Client::new(settings(&format!("http://{address}"))).expect("client");
    let err = client.get_pull(1).await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::Network(m) if m.contains("(4 attempts)")),
        "{err:?}"
    );
}

/// A server that accepts connections and closes them unanswered, counting them.
fn hang_up_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (format!("http://{address}"), count)
}

#[tokio::test]
async fn a_post_that_may_have_reached_github_is_not_sent_again() {
    use std::sync::atomic::Ordering;
    let (url, connections) = hang_up_server();
    let client = Client::new(settings(&url)).expect("client");
    let err = client
        .upsert_comment(1, "<!-- m -->", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GitHubError::Network(m) if m.contains("(4 attempts)")),
        "{err:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 4, "a GET is retried");
    let err = client.create_pull("t", "b", "h", "main").await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::Network(m) if m.contains("(1 attempt)")),
        "{err:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 5, "a POST is not");
}

#[tokio::test]
async fn a_401_is_unauthorized_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = client(&server).await;
    let err = client.get_pull(1).await.unwrap_err();
    assert!(
        matches!(&err, GitHubError::Unauthorized(m) if m.contains("Bad credentials")),
        "{err:?}"
    );
    let err = client
        .add_labels(1, &["model:churn".into()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GitHubError::Unauthorized(m) if m.contains("pull-requests: write")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_recorded_422_is_a_validation_error_with_its_details() {
    let recorded: Value = serde_json::from_str(ERRORS).expect("recording");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(repo_path("/issues/2/labels")))
        .and(body_partial_json(json!({"labels": ["model:churn"]})))
        .respond_with(ResponseTemplate::new(422).set_body_json(recorded[0]["response"].clone()))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client(&server)
        .await
        .add_labels(2, &["model:churn".into()])
        .await
        .unwrap_err();
    let GitHubError::Validation(message) = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("Validation Failed: Label color invalid"),
        "{message}"
    );
}

/// Answers with the request's `Authorization` header in the body, as a misbehaving proxy might.
struct Echo(u16);

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        ResponseTemplate::new(self.0).set_body_json(json!({
            "message": format!("Validation Failed for {auth}"),
            "errors": [{"message": auth.clone()}, auth]
        }))
    }
}

#[tokio::test]
async fn the_token_is_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/1")))
        .respond_with(Echo(500))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/2")))
        .respond_with(Echo(422))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/3")))
        .respond_with(Echo(418))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/4")))
        .respond_with(Echo(200))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let s = settings(&server.uri());
    let shown = [
        format!("{s:?}"),
        format!("{}", s.token),
        format!("{:?}", s.token),
    ];
    let client = Client::new(s).expect("client");
    let mut errors = Vec::new();
    for number in 1..=4 {
        errors.push(client.get_pull(number).await.unwrap_err());
    }
    assert!(
        matches!(errors[1], GitHubError::Validation(_)),
        "{:?}",
        errors[1]
    );
    let mut printed: Vec<String> = errors
        .iter()
        .flat_map(|e| {
            [
                format!("{e}"),
                format!("{e:?}"),
                e.hint().unwrap_or_default(),
            ]
        })
        .collect();
    printed.extend(shown);
    printed.push(format!("{client:?}"));
    assert!(
        printed.iter().any(|p| p.contains("Bearer ***")),
        "{printed:#?}"
    );
    for text in printed {
        assert!(!text.contains(TOKEN), "token printed in {text}");
    }
}

#[test]
fn repositories_are_read_from_remote_urls() {
    let pair = |o: &str, r: &str| Some((o.to_owned(), r.to_owned()));
    for (url, expected) in [
        (
            "https://github.com/octo-org/models.git",
            pair("octo-org", "models"),
        ),
        (
            "https://github.com/octo-org/models",
            pair("octo-org", "models"),
        ),
        (
            "https://github.com/octo-org/models/",
            pair("octo-org", "models"),
        ),
        (
            "git@github.com:octo-org/models.git",
            pair("octo-org", "models"),
        ),
        ("github.com:octo-org/models", pair("octo-org", "models")),
        (
            "ssh://git@github.com/octo-org/models.git",
            pair("octo-org", "models"),
        ),
        (
            "ssh://git@ghe.example.com:2222/team/repo.git",
            pair("team", "repo"),
        ),
        (
            "https://x-access-token:abc@ghe.example.com/o/r",
            pair("o", "r"),
        ),
        ("https://token@ghe.example.com/o/r.git", pair("o", "r")),
        ("git://github.com/a/b.c.git", pair("a", "b.c")),
        ("/srv/git/origin.git", None),
        ("../origin", None),
        ("file:///srv/o/r.git", None),
        ("https://github.com/only-owner", None),
        ("https://ghe.example.com/scm/o/r/extra", None),
        ("C:\\repos\\origin", None),
        ("", None),
    ] {
        assert_eq!(parse_repository(url), expected, "{url}");
    }
}

#[test]
fn settings_come_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let err = Settings::from_lookup(env(&[]), "GITHUB_TOKEN", Some("git@github.com:o/r.git"))
        .unwrap_err();
    assert!(
        matches!(&err, GitHubError::Config(m) if m.contains("GITHUB_TOKEN is not set") && m.contains("--token-env"))
    );
    let err = Settings::from_lookup(env(&[("MY_TOKEN", "")]), "MY_TOKEN", None).unwrap_err();
    assert!(
        matches!(&err, GitHubError::Config(m) if m.contains("MY_TOKEN")),
        "{err:?}"
    );

    // No variable: the GitHub CLI's token for the API's host, if it has one.
    let asked = std::cell::RefCell::new(Vec::new());
    let gh = |api: &str| {
        asked.borrow_mut().push(api.to_owned());
        Some("gh-t0k\n".to_owned())
    };
    let s = Settings::from_lookup_or(env(&[]), gh, "GITHUB_TOKEN", Some("git@github.com:o/r.git"))
        .expect("the gh token");
    assert_eq!(s.token.expose(), "gh-t0k");
    assert_eq!(*asked.borrow(), [DEFAULT_API_URL]);
    let s = Settings::from_lookup_or(
        env(&[("GITHUB_TOKEN", "t0k")]),
        |_| panic!("not asked when the variable is set"),
        "GITHUB_TOKEN",
        Some("git@github.com:o/r.git"),
    )
    .unwrap();
    assert_eq!(s.token.expose(), "t0k");
    let err =
        Settings::from_lookup_or(env(&[]), |_| Some(" ".into()), "GITHUB_TOKEN", None).unwrap_err();
    assert!(
        matches!(&err, GitHubError::Config(m) if m.contains("gh auth login")),
        "{err:?}"
    );

    let s = Settings::from_lookup(
        env(&[("GITHUB_TOKEN", "t0k")]),
        "GITHUB_TOKEN",
        Some("git@github.com:o/r.git"),
    )
    .expect("from the remote");
    assert_eq!(
        (s.owner.as_str(), s.repo.as_str(), s.api_url.as_str()),
        ("o", "r", DEFAULT_API_URL)
    );
    assert_eq!(
        (s.max_wait, s.retry_base),
        (Duration::from_secs(300), Duration::from_secs(1))
    );
    assert_eq!(s.token.expose(), "t0k");

    let ci = env(&[
        ("GITHUB_TOKEN", "t0k"),
        ("GITHUB_REPOSITORY", "octo-org/models"),
        ("GITHUB_API_URL", "https://ghe.example.com/api/v3"),
    ]);
    let s =
        Settings::from_lookup(ci, "GITHUB_TOKEN", Some("git@github.com:o/r.git")).expect("from CI");
    assert_eq!((s.owner.as_str(), s.repo.as_str()), ("octo-org", "models"));
    assert_eq!(s.api_url, "https://ghe.example.com/api/v3");

    let err = Settings::from_lookup(
        env(&[("GITHUB_TOKEN", "t")]),
        "GITHUB_TOKEN",
        Some("/srv/origin.git"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, GitHubError::Config(m) if m.contains("GITHUB_REPOSITORY")),
        "{err:?}"
    );
    let bad = env(&[("GITHUB_TOKEN", "t"), ("GITHUB_REPOSITORY", "nope")]);
    assert!(matches!(
        Settings::from_lookup(bad, "GITHUB_TOKEN", None),
        Err(GitHubError::Config(_))
    ));
}

#[tokio::test]
async fn bad_settings_are_config_errors() {
    let mut s = settings("ftp://example.com");
    assert!(
        matches!(Client::new(s.clone()), Err(GitHubError::Config(m)) if m.contains("GITHUB_API_URL"))
    );
    s.api_url = "http://127.0.0.1:9".into();
    s.token = Token::new("SECRET\n".into());
    let err = Client::new(s).unwrap_err();
    assert!(
        matches!(&err, GitHubError::Config(m) if !m.contains("SECRET")),
        "{err:?}"
    );
}
