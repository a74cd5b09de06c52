//! The GitHub side through the binary, against a wiremock GitHub on
//! loopback shaped like the real API: promotion pull requests (opened once,
//! then updated), the `check` gate with reviews, teams and a sticky comment,
//! rate limits and server errors, and a token that never leaks.

use crate::common::{Outcome, TestEnv};
use serde_json::{Value, json};
use wiremock::matchers::{any, body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const TOKEN: &str = "ghs_TESTTOKEN0123456789abcdefSECRET";

/// A registry pushed to a bare `origin`, a policy with a team, and one version.
pub(crate) fn setup() -> TestEnv {
    let env = TestEnv::with_registry();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    requires: [staging]\n    approvals: 1\n    approvers: [bob, \"@acme/ml-leads\"]\n    direct: false\n    gates:\n      - {metric: accuracy, min: 0.9}\npolicy_owners: [carol]\n",
    );
    env.commit_all("policy");
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--metric",
        "accuracy=0.93",
    ]);
    env.run_ok(&["register", "m", "--artifact", "s3://m/1", "--run", "e/r"]);
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    env.add_origin();
    env
}

/// Runs regent against the mock with the token and repository set.
pub(crate) fn regent(env: &TestEnv, server: &MockServer, args: &[&str]) -> Outcome {
    let out = env
        .regent()
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/ml")
        .args(args)
        .output()
        .unwrap();
    let outcome = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !outcome.stdout.contains(TOKEN) && !outcome.stderr.contains(TOKEN),
        "the token leaked: {outcome:?}"
    );
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    outcome
}

/// An unplanned request fails loudly.
pub(crate) async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unplanned request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

pub(crate) fn pull(number: u64, head_ref: &str, head_sha: &str, author: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/acme/ml/pulls/{number}"),
        "id": 1000 + number, "number": number, "state": "open", "locked": false,
        "title": "regent: promote", "body": "",
        "html_url": format!("https://github.com/acme/ml/pull/{number}"),
        "user": {"login": author, "id": 1, "type": "User"},
        "head": {"label": format!("acme:{head_ref}"), "ref": head_ref, "sha": head_sha,
                 "repo": {"full_name": "acme/ml"}},
        "base": {"label": "acme:main", "ref": "main", "sha": "0000000000000000000000000000000000000000",
                 "repo": {"full_name": "acme/ml"}},
        "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"
    })
}

pub(crate) fn review(id: u64, user: &str, state: &str, commit: &str) -> Value {
    json!({"id": id, "user": {"login": user, "id": id, "type": "User"}, "body": "", "state": state,
           "commit_id": commit, "submitted_at": "2026-11-20T11:00:00Z",
           "html_url": format!("https://github.com/acme/ml/pull/7#pullrequestreview-{id}")})
}

/// promote --pr pushes a branch built from the base, opens the PR with the
/// rendered title, body and labels, and leaves the checkout alone; a rerun
/// updates the same PR instead of opening a second one.
#[tokio::test]
async fn promote_pr_opens_once_then_updates() {
    let env = setup();
    let server = MockServer::start().await;
    let branch = "regent/m/production/v1";
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .and(query_param("head", format!("acme:{branch}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .and(query_param("head", format!("acme:{branch}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([pull(7, branch, "abc", "tester")])),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .and(body_partial_json(
            json!({"head": branch, "base": "main", "title": "regent: promote m v1 to production"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(7, branch, "abc", "tester")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/ml/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull(7, branch, "abc", "tester")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/7/labels"))
        .and(body_partial_json(
            json!({"labels": ["regent", "stage:production"]}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "name": "regent"}])),
        )
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;

    let before = env.state();
    let out = regent(
        &env,
        &server,
        &["promote", "m", "1", "--to", "production", "--pr"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "#7 https://github.com/acme/ml/pull/7\n");
    assert_eq!(env.state(), before, "the user's checkout is untouched");
    let origin = env.root.join("origin.git");
    let trailers = env.git_in(&origin, &["log", "-1", "--format=%(trailers)", branch]);
    assert!(
        trailers.contains(
            "Regent-Event: promote\nRegent-Model: m\nRegent-Version: 1\nRegent-Stage: production"
        ),
        "{trailers}"
    );
    assert_eq!(
        env.git_in(&origin, &["rev-parse", &format!("{branch}~1")]),
        env.git_in(&origin, &["rev-parse", "main"]),
        "built on the base branch"
    );
    // The body shows metrics and every rule, escaped.
    let requests = server.received_requests().await.unwrap();
    let create = requests
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/ml/pulls")
        .unwrap();
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    let text = body["body"].as_str().unwrap();
    assert!(text.starts_with("<!-- regent:promotion -->"), "{text}");
    assert!(text.contains("| accuracy | 0.93 |"), "{text}");
    assert!(text.contains("0 of 1 approvals"), "{text}");
    assert!(text.contains("Approvals still needed: 1"), "{text}");
    assert!(requests.iter().all(|r| {
        r.headers
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap().contains(TOKEN))
    }));

    let out = regent(
        &env,
        &server,
        &["promote", "m", "1", "--to", "production", "--pr"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Updated pull request #7"),
        "{}",
        out.stderr
    );
}

/// A 422 "already exists" on create (a race) finds the PR and updates it.
#[tokio::test]
async fn promote_pr_handles_an_existing_pull_request_race() {
    let env = setup();
    let server = MockServer::start().await;
    let branch = "regent/m/production/v1";
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([pull(9, branch, "abc", "tester")])),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for acme:{branch}.")}],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/ml/pulls/9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull(9, branch, "abc", "tester")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/9/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let out = regent(
        &env,
        &server,
        &["promote", "m", "1", "--to", "production", "--pr"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "#9 https://github.com/acme/ml/pull/9\n");
}

/// The PR branch for the gate tests: promotes m v1 to production by regent.
pub(crate) fn pr_branch(env: &TestEnv) -> String {
    commit_on_pr_branch(env, "promote m v1 to production", promote_v1_to_production)
}

/// Commits what `edit` writes on the pull-request branch
/// `regent/m/production/v1` (made from main the first time), goes back to
/// main, and returns the branch's new head.
pub(crate) fn commit_on_pr_branch(
    env: &TestEnv,
    message: &str,
    edit: impl FnOnce(&TestEnv),
) -> String {
    const BRANCH: &str = "regent/m/production/v1";
    if env.git(&["branch", "--list", BRANCH]).is_empty() {
        env.git(&["switch", "-q", "-c", BRANCH]);
    } else {
        env.git(&["switch", "-q", BRANCH]);
    }
    edit(env);
    env.commit_all(message);
    let head = env.head();
    env.git(&["switch", "-q", "main"]);
    head
}

/// Points production at m v1 in the working tree.
pub(crate) fn promote_v1_to_production(env: &TestEnv) {
    env.write(
        "models/m/model.yaml",
        env.read("models/m/model.yaml")
            .replace("staging: 1", "production: 1\n  staging: 1"),
    );
}

/// Mounts the PR, its reviews (in pages), team members and the comment endpoints.
pub(crate) async fn gate_mocks(
    server: &MockServer,
    head: &str,
    pages: Vec<Vec<Value>>,
    leads: Vec<&str>,
    existing_comment: bool,
) {
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull(
            7,
            "regent/m/production/v1",
            head,
            "alice",
        )))
        .mount(server)
        .await;
    let count = pages.len();
    for (i, page) in pages.into_iter().enumerate() {
        let mut response = ResponseTemplate::new(200).set_body_json(Value::Array(page));
        if i + 1 < count {
            response = response.insert_header(
                "link",
                format!(
                    "<{}/repos/acme/ml/pulls/7/reviews?per_page=100&page={}>; rel=\"next\"",
                    server.uri(),
                    i + 2
                )
                .as_str(),
            );
        }
        let mut mock = Mock::given(method("GET")).and(path("/repos/acme/ml/pulls/7/reviews"));
        if i > 0 {
            mock = mock.and(query_param("page", (i + 1).to_string()));
        }
        mock.respond_with(response)
            .with_priority(if i > 0 { 1 } else { 2 })
            .mount(server)
            .await;
    }
    let members: Vec<Value> = leads
        .iter()
        .map(|l| json!({"login": l, "id": 5, "type": "User"}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/orgs/acme/teams/ml-leads/members"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(members)))
        .expect(1)
        .mount(server)
        .await;
    let comments = if existing_comment {
        json!([{"id": 77, "body": "<!-- regent:check -->\nold report", "user": {"login": "github-actions[bot]"}}])
    } else {
        json!([])
    };
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(comments))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/7/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 77, "body": "x"})))
        .expect(u64::from(!existing_comment))
        .mount(server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/ml/issues/comments/77"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 77, "body": "x"})))
        .expect(u64::from(existing_comment))
        .mount(server)
        .await;
    catch_all(server).await;
}

pub(crate) fn check(env: &TestEnv, server: &MockServer, head: &str) -> Outcome {
    regent(
        env,
        server,
        &["check", "--base", "main", "--head", head, "--pr", "7"],
    )
}

/// An approval by a listed approver, for the head commit, passes the gate.
#[tokio::test]
async fn check_passes_with_a_current_approval() {
    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    gate_mocks(
        &server,
        &head,
        vec![vec![review(1, "bob", "APPROVED", &head)]],
        vec![],
        false,
    )
    .await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("✓ promote m v1 to production"),
        "{}",
        out.stdout
    );
}

/// Stale, self-given, withdrawn and dismissed approvals do not count.
#[tokio::test]
async fn check_refuses_approvals_that_do_not_count() {
    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    let reviews = vec![
        review(
            1,
            "bob",
            "APPROVED",
            "0123456789012345678901234567890123456789",
        ), // stale
        review(2, "alice", "APPROVED", &head), // the author
        review(3, "dave", "APPROVED", &head),
        review(4, "dave", "CHANGES_REQUESTED", &head), // withdrawn
        review(5, "erin", "APPROVED", &head),
        review(6, "erin", "DISMISSED", &head), // dismissed
    ];
    gate_mocks(&server, &head, vec![reviews], vec!["dave", "erin"], false).await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("0 of 1 approvals"), "{}", out.stdout);
    // Each ignored approval is accounted for.
    for reason in [
        "bob approved 0123456, but the head is now",
        "alice wrote the pull request and cannot approve it",
        "dave requested changes after approving",
        "erin's approval was dismissed",
    ] {
        assert!(out.stdout.contains(reason), "{reason}: {}", out.stdout);
    }
}

/// A team member's approval counts; a non-member's does not; teams are looked up once.
#[tokio::test]
async fn check_resolves_team_approvers() {
    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    gate_mocks(
        &server,
        &head,
        vec![vec![review(1, "frank", "APPROVED", &head)]],
        vec!["frank"],
        false,
    )
    .await;
    assert_eq!(check(&env, &server, &head).code, 0);
    let server = MockServer::start().await;
    gate_mocks(
        &server,
        &head,
        vec![vec![review(1, "mallory", "APPROVED", &head)]],
        vec!["frank"],
        false,
    )
    .await;
    assert_eq!(check(&env, &server, &head).code, 1);
}

/// Reviews over two pages are all read (the approval is on the second).
#[tokio::test]
async fn check_follows_review_pagination() {
    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    let first: Vec<Value> = (1..=3)
        .map(|i| review(i, &format!("u{i}"), "COMMENTED", &head))
        .collect();
    gate_mocks(
        &server,
        &head,
        vec![first, vec![review(10, "bob", "APPROVED", &head)]],
        vec![],
        false,
    )
    .await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// The sticky comment is created once, then found by its marker and updated.
#[tokio::test]
async fn check_updates_its_sticky_comment() {
    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    gate_mocks(&server, &head, vec![vec![]], vec![], false).await;
    assert_eq!(check(&env, &server, &head).code, 1);
    let created = server.received_requests().await.unwrap();
    let comment = created
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body: Value = serde_json::from_slice(&comment.body).unwrap();
    assert!(
        body["body"]
            .as_str()
            .unwrap()
            .starts_with("<!-- regent:check -->"),
        "{body}"
    );
    let server = MockServer::start().await;
    gate_mocks(&server, &head, vec![vec![]], vec![], true).await;
    assert_eq!(check(&env, &server, &head).code, 1);
}

/// Rate limits are waited out, then the request succeeds.
#[tokio::test]
async fn check_waits_out_a_rate_limit() {
    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls/7"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    gate_mocks(
        &server,
        &head,
        vec![vec![review(1, "bob", "APPROVED", &head)]],
        vec![],
        false,
    )
    .await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// A server error is retried; a missing PR is a clear error that names it.
#[tokio::test]
async fn check_retries_server_errors_and_names_missing_pulls() {
    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls/7"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    gate_mocks(
        &server,
        &head,
        vec![vec![review(1, "bob", "APPROVED", &head)]],
        vec![],
        false,
    )
    .await;
    assert_eq!(check(&env, &server, &head).code, 0);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls/8"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
        ))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let out = regent(
        &env,
        &server,
        &["check", "--base", "main", "--head", &head, "--pr", "8"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("error: GitHub:"), "{}", out.stderr);
}

/// Without a token, GitHub commands fail before doing anything, with a hint.
#[test]
fn github_commands_need_a_token() {
    let env = setup();
    let before = env.state();
    let out = env.run_err(2, &["promote", "m", "1", "--to", "production", "--pr"]);
    assert!(out.stderr.contains("GITHUB_TOKEN"), "{}", out.stderr);
    assert_eq!(env.state(), before);
}

/// On a laptop without GITHUB_TOKEN, the GitHub CLI's token is used
/// (`gh auth token`, for the API's host), and never shown.
#[tokio::test]
async fn without_github_token_the_gh_cli_token_is_used() {
    let env = setup();
    let server = MockServer::start().await;
    catch_all(&server).await;
    let bin = env.root.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh\necho \"$@\" > \"{}/gh-args\"\necho {TOKEN}\n",
            env.root.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = env
        .regent()
        .env("PATH", path)
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_REPOSITORY", "acme/ml")
        .args(["promote", "m", "1", "--to", "production", "--pr"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!stderr.contains("GITHUB_TOKEN is not set"), "{stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "leaked");
    let requests = server.received_requests().await.unwrap();
    assert!(!requests.is_empty(), "{stderr}");
    for request in &requests {
        let auth = request.headers.get("authorization").unwrap();
        assert!(auth.to_str().unwrap().ends_with(TOKEN), "{auth:?}");
    }
    // Not api.github.com: gh is asked for that host's token.
    let asked = std::fs::read_to_string(env.root.join("gh-args")).unwrap();
    assert_eq!(asked.trim(), "auth token --hostname 127.0.0.1", "{asked}");
}

/// On the base branch (no pull request), a commit that moved a
/// `direct: false` stage is reported as a bypass.
#[test]
fn check_flags_direct_commits_to_guarded_stages() {
    let env = setup();
    let before = env.head();
    env.write(
        "models/m/model.yaml",
        env.read("models/m/model.yaml")
            .replace("staging: 1", "production: 1\n  staging: 1"),
    );
    env.commit_all("hotfix straight to production");
    let out = env.run_err(1, &["check", "--base", &before]);
    assert!(
        out.stdout.contains("changed production directly"),
        "{}",
        out.stdout
    );
    let value: Value =
        serde_json::from_str(&env.run(&["check", "--base", &before, "--json"]).stdout).unwrap();
    assert_eq!(value["ok"], false);
    assert!(
        value["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["allowed"] == false && e["stage"] == "production")
    );
    // A change that is allowed passes.
    env.run_ok(&["check", "--base", "HEAD", "--head", "HEAD"]);
}

/// rollback --pr opens a pull request that moves the stage back.
#[tokio::test]
async fn rollback_pr_opens_a_pull_request() {
    let env = setup();
    env.run_ok(&["register", "m", "--artifact", "s3://m/2", "--run", "e/r"]);
    env.run_ok(&["promote", "m", "2", "--to", "staging"]);
    env.git(&["push", "-q", "origin", "main"]);
    let server = MockServer::start().await;
    let branch = "regent/m/staging/v1";
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .and(query_param("head", format!("acme:{branch}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .and(body_partial_json(
            json!({"head": branch, "title": "regent: roll back m staging to v1 (was v2)"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(11, branch, "abc", "tester")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/11/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let out = regent(
        &env,
        &server,
        &["rollback", "m", "--stage", "staging", "--pr", "--json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let value: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["number"], 11);
    assert_eq!(value["branch"], branch);
    assert_eq!(value["created"], true);
    let origin = env.root.join("origin.git");
    let trailers = env.git_in(&origin, &["log", "-1", "--format=%(trailers)", branch]);
    assert!(
        trailers.contains("Regent-Event: rollback") && trailers.contains("Regent-Previous: 2"),
        "{trailers}"
    );
}

/// The report template comes from the base: a pull request that overrides
/// it cannot restyle its own verdict.
#[tokio::test]
async fn check_report_template_comes_from_the_base() {
    let env = setup();
    let head = commit_on_pr_branch(&env, "promote, and a friendlier report", |env| {
        env.write(
            ".regent/templates/check-report.md.j2",
            "{{ marker|safe }}\n✅ all good, merge away\n",
        );
        promote_v1_to_production(env);
    });
    let server = MockServer::start().await;
    gate_mocks(&server, &head, vec![vec![]], vec![], false).await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let requests = server.received_requests().await.unwrap();
    let comment = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body: Value = serde_json::from_slice(&comment.body).unwrap();
    let text = body["body"].as_str().unwrap();
    assert!(!text.contains("merge away"), "{text}");
    assert!(
        text.contains("❌ regent: this change breaks the registry's policy"),
        "{text}"
    );
}
