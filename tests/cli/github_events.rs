//! `--pr` on every lifecycle command, and `--pr --branch NAME` collecting
//! several commands' events on one branch and one pull request (a team on a
//! protected main), against the GitHub mock.

use crate::github::{catch_all, pull, regent, setup};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Answers the pull-request calls for `branch` as GitHub would: none open
/// until one is created (number 9), then that one.
pub(crate) async fn pulls_for(server: &MockServer, branch: &str) {
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .and(query_param("head", format!("acme:{branch}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .and(query_param("head", format!("acme:{branch}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([pull(9, branch, "abc", "tester")])),
        )
        .with_priority(2)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(9, branch, "abc", "tester")))
        .mount(server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/ml/pulls/9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull(9, branch, "abc", "tester")))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/9/labels"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "name": "regent"}])),
        )
        .mount(server)
        .await;
    catch_all(server).await;
}

/// The bodies of the pull-request writes (POST and PATCH), in order.
pub(crate) async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            (r.method.as_str() == "POST" && r.url.path() == "/repos/acme/ml/pulls")
                || (r.method.as_str() == "PATCH" && r.url.path() == "/repos/acme/ml/pulls/9")
        })
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Each lifecycle command takes `--pr`: a branch of regent's own, built
/// from the base, a pull request, and the checkout untouched.
#[tokio::test]
async fn every_lifecycle_command_can_open_a_pull_request() {
    let env = setup();
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["register", "m", "--artifact", "s3://m/2", "--run", "e/r"],
            "regent/m/register/v2",
            "Regent-Event: register",
        ),
        (
            &["alias", "set", "m", "champion", "1"],
            "regent/m/alias/@champion/v1",
            "Regent-Event: alias",
        ),
        (
            &["tag", "m/1", "team=ml"],
            "regent/m/tag/v1",
            "Regent-Event: tag",
        ),
        (
            &["describe", "m", "churn model"],
            "regent/m/describe",
            "Regent-Event: describe",
        ),
        (
            &["deprecate", "m", "v1", "--reason", "old"],
            "regent/m/deprecate/v1",
            "Regent-Event: deprecate",
        ),
        (
            &["demote", "m", "--from", "staging"],
            "regent/m/demote/staging/v1",
            "Regent-Event: demote",
        ),
    ];
    let origin = env.root.join("origin.git");
    for (args, branch, trailer) in cases {
        let server = MockServer::start().await;
        pulls_for(&server, branch).await;
        let before = env.state();
        let mut with_pr = args.to_vec();
        with_pr.push("--pr");
        let out = regent(&env, &server, &with_pr);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stdout, "#9 https://github.com/acme/ml/pull/9\n",
            "{args:?}"
        );
        assert_eq!(env.state(), before, "{args:?}: the checkout is untouched");
        let message = env.git_in(&origin, &["log", "-1", "--format=%B", branch]);
        assert!(message.contains(trailer), "{args:?}: {message}");
        assert_eq!(
            env.git_in(&origin, &["rev-parse", &format!("{branch}~1")]),
            env.git_in(&origin, &["rev-parse", "main"]),
            "{args:?}: built on the base"
        );
        let created = &bodies(&server).await[0];
        assert!(
            created["title"].as_str().unwrap().starts_with("regent: "),
            "{created}"
        );
        assert!(
            created["body"]
                .as_str()
                .unwrap()
                // Escaped for Markdown: `@` cannot mention anyone.
                .contains(&format!("`{}`", branch.replace('@', "@\u{200b}"))),
            "{created}"
        );
    }
}

/// `--pr --branch NAME` collects: each command builds on the branch's head
/// and pushes a fast-forward, and the one pull request lists every event.
#[tokio::test]
async fn pr_branch_collects_several_commands_on_one_pull_request() {
    let env = setup();
    let server = MockServer::start().await;
    let branch = "ml/release-42";
    pulls_for(&server, branch).await;
    let origin = env.root.join("origin.git");
    let main = env.git_in(&origin, &["rev-parse", "main"]);
    let steps: [&[&str]; 3] = [
        &["register", "m", "--artifact", "s3://m/2", "--run", "e/r"],
        &["tag", "m/2", "team=ml"],
        &["alias", "set", "m", "candidate", "2"],
    ];
    let before = env.state();
    for step in steps {
        let mut args = step.to_vec();
        args.extend(["--pr", "--branch", branch]);
        let out = regent(&env, &server, &args);
        assert_eq!(out.code, 0, "{step:?}: {}", out.stderr);
    }
    assert_eq!(env.state(), before, "the checkout is untouched");
    // Three commits on top of main, in order.
    let log = env.git_in(
        &origin,
        &[
            "log",
            "--format=%(trailers:key=Regent-Event,valueonly)",
            &format!("main..{branch}"),
        ],
    );
    let events: Vec<&str> = log.split_whitespace().collect();
    assert_eq!(events, ["alias", "tag", "register"], "{log}");
    assert_eq!(env.git_in(&origin, &["merge-base", "main", branch]), main);
    // One pull request, opened once and updated twice, listing all three.
    let writes = bodies(&server).await;
    assert_eq!(writes.len(), 3, "{writes:?}");
    let last = writes.last().unwrap()["body"].as_str().unwrap().to_owned();
    // Escaped for Markdown and HTML (`@` mentions nobody, `>` is text).
    for event in [
        "register m v2",
        "tag m v2",
        "alias m@\u{200b}candidate -&gt; v2",
    ] {
        assert!(last.contains(event), "{event:?} in {last}");
    }
    assert_eq!(
        writes.last().unwrap()["title"],
        format!("regent: 3 registry events ({branch})")
    );
    // The gate judges the branch as one change.
    gate_on(&env, branch, 0);
}

/// `regent check` of origin's `branch` against origin's main, as the gate
/// judges its pull request (without reviews); returns its report.
pub(crate) fn gate_on(env: &crate::common::TestEnv, branch: &str, code: i32) -> String {
    env.git(&["fetch", "-q", "origin"]);
    let out = env.run(&[
        "check",
        "--base",
        "origin/main",
        "--head",
        &format!("origin/{branch}"),
    ]);
    assert_eq!(out.code, code, "{}{}", out.stdout, out.stderr);
    out.stdout
}
