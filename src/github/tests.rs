//! The client's operations against a wiremock GitHub on loopback, with payloads from
//! GitHub's own examples and recordings (`tests/fixtures/github/`), and the helpers that
//! `failure_tests` shares. Every server ends with a catch-all 500 of the lowest priority,
//! so an unplanned request fails the test loudly.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use wiremock::matchers::{any, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::transport::{encode, next_link};
use super::*;

pub(super) const TOKEN: &str = "ghp_s3cretTOKENvalue0123456789abcdef";
pub(super) const OWNER: &str = "octo-org";
pub(super) const REPO: &str = "models";
const MARKER: &str = "<!-- regent:check -->";

const PULL: &str = include_str!("../../tests/fixtures/github/pulls-create-201.json");
const REVIEWS: &str = include_str!("../../tests/fixtures/github/pulls-list-reviews-200.json");
const COMMENTS: &str = include_str!("../../tests/fixtures/github/issues-list-comments-200.json");
const COMMENT_CREATED: &str =
    include_str!("../../tests/fixtures/github/issues-create-comment-201.json");
const COMMENT_UPDATED: &str =
    include_str!("../../tests/fixtures/github/issues-update-comment-200.json");
const MEMBERS: &str =
    include_str!("../../tests/fixtures/github/teams-list-members-in-org-200.json");
const PAGINATE: &str = include_str!("../../tests/fixtures/github/recorded/paginate-issues.json");

/// The `body` of an OpenAPI example file.
pub(super) fn example(file: &str) -> Value {
    let parsed: Value = serde_json::from_str(file).expect("fixture is JSON");
    parsed["body"].clone()
}

/// GitHub's example pull request, renumbered and moved to `head` → `base`.
pub(super) fn pull(number: u64, head: &str, base: &str) -> Value {
    let mut pr = example(PULL);
    pr["number"] = json!(number);
    pr["html_url"] = json!(format!("https://github.com/{OWNER}/{REPO}/pull/{number}"));
    pr["head"]["ref"] = json!(head);
    pr["head"]["sha"] = json!("1111111111111111111111111111111111111111");
    pr["base"]["ref"] = json!(base);
    pr["user"]["login"] = json!("ci-bot");
    pr
}

pub(super) fn review(id: u64, login: Option<&str>, state: &str, commit: &str) -> Value {
    let mut r = example(REVIEWS)[0].clone();
    r["id"] = json!(id);
    r["state"] = json!(state);
    r["commit_id"] = json!(commit);
    match login {
        Some(login) => r["user"]["login"] = json!(login),
        None => r["user"] = Value::Null,
    }
    if state == "PENDING" {
        r.as_object_mut().expect("object").remove("submitted_at");
    }
    r
}

fn comment(id: u64, body: &str) -> Value {
    let mut c = example(COMMENTS)[0].clone();
    c["id"] = json!(id);
    c["body"] = json!(body);
    c
}

fn members(logins: &[&str]) -> Value {
    let template = example(MEMBERS)[0].clone();
    Value::Array(
        logins
            .iter()
            .map(|login| {
                let mut m = template.clone();
                m["login"] = json!(login);
                m
            })
            .collect(),
    )
}

pub(super) fn settings(api_url: &str) -> Settings {
    let mut s = Settings::new(Token::new(TOKEN.into()), OWNER, REPO);
    s.api_url = api_url.to_owned();
    s.max_wait = Duration::from_secs(10);
    s.retry_base = Duration::from_millis(1);
    s
}

pub(super) async fn client(server: &MockServer) -> Client {
    Client::new(settings(&server.uri())).expect("client")
}

/// Registered last in every test: anything unplanned gets a 500.
pub(super) async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

pub(super) fn repo_path(rest: &str) -> String {
    format!("/repos/{OWNER}/{REPO}{rest}")
}

pub(super) fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn create_pull_sends_github_headers_and_reads_the_example() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(repo_path("/pulls")))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header("user-agent", concat!("regent/", env!("CARGO_PKG_VERSION"))))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(json!({
            "title": "Promote churn v3 to production", "body": "Why", "head": "regent/churn", "base": "main"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(example(PULL)))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let pr = client(&server)
        .await
        .create_pull(
            "Promote churn v3 to production",
            "Why",
            "regent/churn",
            "main",
        )
        .await
        .expect("created");
    assert_eq!(
        pr,
        PullRequest {
            number: 1347,
            html_url: "https://github.com/octocat/Hello-World/pull/1347".into(),
            head_sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e".into(),
            head_ref: "new-topic".into(),
            base_ref: "master".into(),
            author: "octocat".into(),
            state: "open".into(),
            title: "Amazing new feature".into(),
            merged_at: Some("2011-01-26T19:01:12Z".into()),
        }
    );
}

#[tokio::test]
async fn an_open_pull_for_the_branch_is_updated_not_duplicated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls")))
        .and(query_param("state", "open"))
        .and(query_param("head", "octo-org:regent/churn"))
        .and(query_param("base", "main"))
        .respond_with(ok(json!([pull(12, "regent/churn", "main")])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(repo_path("/pulls/12")))
        .and(body_partial_json(
            json!({"title": "New title", "body": "New body"}),
        ))
        .respond_with(ok(pull(12, "regent/churn", "main")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (pr, created) = client(&server)
        .await
        .open_or_update_pull("New title", "New body", "regent/churn", "main")
        .await
        .expect("updated");
    assert!(!created);
    assert_eq!((pr.number, pr.author.as_str()), (12, "ci-bot"));
}

#[tokio::test]
async fn open_or_update_twice_creates_exactly_one_pull() {
    let server = MockServer::start().await;
    // Before the POST there is no PR for the branch; after it, there is.
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls")))
        .respond_with(ok(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls")))
        .respond_with(ok(json!([pull(7, "regent/churn", "main")])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(repo_path("/pulls")))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(7, "regent/churn", "main")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(repo_path("/pulls/7")))
        .respond_with(ok(pull(7, "regent/churn", "main")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = client(&server).await;
    let first = client
        .open_or_update_pull("T", "B", "regent/churn", "main")
        .await
        .expect("first");
    let second = client
        .open_or_update_pull("T", "B", "regent/churn", "main")
        .await
        .expect("second");
    assert_eq!((first.0.number, first.1), (7, true));
    assert_eq!((second.0.number, second.1), (7, false));
}

#[tokio::test]
async fn a_pull_created_concurrently_is_found_after_the_422_and_updated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls")))
        .respond_with(ok(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls")))
        .respond_with(ok(json!([
            pull(9, "other", "main"),
            pull(8, "regent/churn", "main")
        ])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(repo_path("/pulls")))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom",
                        "message": "A pull request already exists for octo-org:regent/churn."}],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(repo_path("/pulls/8")))
        .respond_with(ok(pull(8, "regent/churn", "main")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (pr, created) = client(&server)
        .await
        .open_or_update_pull("T", "B", "regent/churn", "main")
        .await
        .expect("updated after the race");
    assert_eq!((pr.number, created), (8, false));
}

#[tokio::test]
async fn branch_names_are_percent_encoded_in_queries() {
    let server = MockServer::start().await;
    let branch = "regent/churn#7+fix";
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls")))
        .and(query_param("head", format!("{OWNER}:{branch}").as_str()))
        .and(|req: &Request| {
            req.url
                .query()
                .is_some_and(|q| q.contains("head=octo-org%3Aregent%2Fchurn%237%2Bfix&"))
        })
        .respond_with(ok(json!([pull(3, branch, "main")])))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let found = client(&server)
        .await
        .find_open_pull(branch, "main")
        .await
        .expect("listed");
    assert_eq!(found.map(|p| p.number), Some(3));
    assert_eq!(encode("a/b#c+d e%"), "a%2Fb%23c%2Bd%20e%25");
}

#[tokio::test]
async fn reviews_follow_the_link_header_across_pages() {
    let server = MockServer::start().await;
    let next = format!(
        "{}/repositories/1/pulls/5/reviews?per_page=100&page=2",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path(repo_path("/pulls/5/reviews")))
        .and(query_param("per_page", "100"))
        .respond_with(
            ok(json!([review(80, Some("Alice"), "APPROVED", "abc")])).insert_header(
                "link",
                format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"").as_str(),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repositories/1/pulls/5/reviews"))
        .and(query_param("page", "2"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(json!([
            review(81, Some("bob"), "CHANGES_REQUESTED", "abc"),
            review(82, None, "PENDING", "def")
        ])))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let reviews = client(&server).await.reviews(5).await.expect("reviews");
    assert_eq!(
        reviews.iter().map(|r| r.id).collect::<Vec<_>>(),
        [80, 81, 82]
    );
    assert_eq!(
        reviews[0],
        Review {
            id: 80,
            user: "Alice".into(),
            state: "APPROVED".into(),
            commit_id: "abc".into(),
            submitted_at: Some("2019-11-17T17:43:43Z".into()),
        }
    );
    assert_eq!(
        (reviews[2].user.as_str(), &reviews[2].submitted_at),
        ("ghost", &None)
    );
}

#[tokio::test]
async fn team_members_are_paginated_lower_cased_and_fetched_once() {
    let server = MockServer::start().await;
    let next = format!(
        "{}/organizations/9/team/4/members?per_page=100&page=2",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/orgs/octo-org/teams/ml-leads/members"))
        .respond_with(
            ok(members(&["Octocat", "hubot"]))
                .insert_header("link", format!("<{next}>; rel=\"next\"").as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/organizations/9/team/4/members"))
        .respond_with(ok(members(&["MonaLisa"])))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = client(&server).await;
    let first = client
        .team_members("octo-org", "ml-leads")
        .await
        .expect("members");
    let again = client
        .team_members("Octo-Org", "ML-Leads")
        .await
        .expect("cached");
    let expected: BTreeSet<String> = ["hubot", "monalisa", "octocat"].map(String::from).into();
    assert_eq!((first, again), (expected.clone(), expected));
}

#[tokio::test]
async fn a_team_answering_404_is_not_found_with_a_permission_hint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/octo-org/teams/nobody/members"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/teams/members#list-team-members"
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client(&server)
        .await
        .team_members("octo-org", "nobody")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GitHubError::NotFound(m) if m.contains("team octo-org/nobody")),
        "{err:?}"
    );
    assert!(err.hint().expect("hint").contains("read:org"));
}

#[tokio::test]
async fn the_sticky_comment_is_created_updated_and_left_unchanged() {
    let server = MockServer::start().await;
    let comments = repo_path("/issues/4/comments");
    let old = format!("{MARKER}\nold report");
    Mock::given(method("GET"))
        .and(path(comments.as_str()))
        .respond_with(ok(json!([comment(1, "Me too")])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let next = format!("{}/repositories/1/issues/4/comments?page=2", server.uri());
    Mock::given(method("GET"))
        .and(path(comments.as_str()))
        .respond_with(
            ok(json!([comment(1, "Me too")]))
                .insert_header("link", format!("<{next}>; rel=\"next\"").as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repositories/1/issues/4/comments"))
        .respond_with(ok(json!([comment(55, &old), comment(56, MARKER)])))
        .mount(&server)
        .await;
    let mut created = example(COMMENT_CREATED);
    created["id"] = json!(55);
    Mock::given(method("POST"))
        .and(path(comments.as_str()))
        .and(body_partial_json(json!({ "body": old })))
        .respond_with(ResponseTemplate::new(201).set_body_json(created))
        .expect(1)
        .mount(&server)
        .await;
    let mut updated = example(COMMENT_UPDATED);
    updated["id"] = json!(55);
    Mock::given(method("PATCH"))
        .and(path(repo_path("/issues/comments/55")))
        .and(body_partial_json(
            json!({ "body": format!("{MARKER}\nnew report") }),
        ))
        .respond_with(ok(updated))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = client(&server).await;
    // The marker is added when the body lacks it, so that the next run finds the comment.
    let first = client
        .upsert_comment(4, MARKER, "old report")
        .await
        .expect("created");
    let second = client
        .upsert_comment(4, MARKER, "new report")
        .await
        .expect("updated");
    let third = client
        .upsert_comment(4, MARKER, &old)
        .await
        .expect("unchanged");
    assert_eq!(
        [first, second, third],
        [
            CommentOutcome::Created(55),
            CommentOutcome::Updated(55),
            CommentOutcome::Unchanged(55)
        ]
    );
}

#[tokio::test]
async fn an_enterprise_api_url_keeps_its_path_prefix() {
    let server = MockServer::start().await;
    let next = format!(
        "{}/api/v3/repositories/1/pulls/7/reviews?page=2",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{}", repo_path("/pulls/7"))))
        .respond_with(ok(pull(7, "b", "main")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{}", repo_path("/pulls/7/reviews"))))
        .respond_with(
            ok(json!([])).insert_header("link", format!("<{next}>; rel=\"next\"").as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repositories/1/pulls/7/reviews"))
        .respond_with(ok(json!([review(1, Some("alice"), "APPROVED", "x")])))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = Client::new(settings(&format!("{}/api/v3/", server.uri()))).expect("client");
    assert_eq!(client.get_pull(7).await.expect("pull").number, 7);
    assert_eq!(client.reviews(7).await.expect("reviews").len(), 1);
}

#[test]
fn the_recorded_link_headers_lead_to_the_next_page() {
    let recorded: Value = serde_json::from_str(PAGINATE).expect("recording");
    let pages = recorded.as_array().expect("list");
    let nexts: Vec<Option<String>> = pages
        .iter()
        .map(|page| {
            let mut headers = HeaderMap::new();
            let link = page["headers"]["link"].as_str().expect("link");
            headers.insert("link", HeaderValue::from_str(link).expect("value"));
            next_link(&headers)
        })
        .collect();
    let page = |n: u32| {
        Some(format!(
            "https://api.github.com/repositories/1000/issues?per_page=3&page={n}"
        ))
    };
    assert_eq!(nexts, [page(2), page(3), page(4), page(5), None]);
}

/// The CLI builds its client before any runtime and may run each step on a runtime of its
/// own; octocrab's request queue lives on a runtime, so the client must follow along.
#[test]
fn one_client_serves_runtimes_made_after_it() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    let server = runtime().block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(repo_path("/pulls/1")))
            .respond_with(ok(pull(1, "b", "main")))
            .expect(3)
            .mount(&server)
            .await;
        catch_all(&server).await;
        server
    });
    let client = Client::new(settings(&server.uri())).expect("built outside a runtime");
    for _ in 0..3 {
        assert_eq!(
            runtime().block_on(client.get_pull(1)).expect("pull").number,
            1
        );
    }
}
