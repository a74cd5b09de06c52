//! `--pr` on the run commands (`run log`, `--batch`, `run start | update |
//! end`): runs recorded on a protected main through pull requests, against
//! the GitHub mock and a bare origin.

use crate::github::{regent, setup};
use crate::github_events::{bodies, pulls_for};
use wiremock::MockServer;

/// The `Regent-Event` trailers of `range` on the origin, newest first.
fn events(env: &crate::common::TestEnv, range: &str) -> Vec<String> {
    let origin = env.root.join("origin.git");
    env.git_in(
        &origin,
        &[
            "log",
            "--format=%(trailers:key=Regent-Event,valueonly)",
            range,
        ],
    )
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

/// `run log --pr`: the same commit as without `--pr`, on the run's own
/// branch built from the base, a pull request, and the checkout untouched.
#[tokio::test]
async fn run_log_opens_a_pull_request_for_the_run() {
    let env = setup();
    let server = MockServer::start().await;
    let branch = "regent/runs/e/a";
    pulls_for(&server, branch).await;
    let before = env.state();
    let out = regent(
        &env,
        &server,
        &[
            "run",
            "log",
            "e",
            "--name",
            "a",
            "--metric",
            "accuracy=0.91",
            "--pr",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "#9 https://github.com/acme/ml/pull/9\n");
    assert!(
        out.stderr
            .contains("Opened pull request #9 to main: log run e/a"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before, "the checkout is untouched");
    assert_eq!(events(&env, &format!("main..{branch}")), ["run"]);
    let origin = env.root.join("origin.git");
    let file = env.git_in(
        &origin,
        &[
            "show",
            &format!("{branch}:{}", crate::common::run_file("e", "a")),
        ],
    );
    assert!(file.contains("accuracy: 0.91"), "{file}");
    let created = &bodies(&server).await[0];
    assert_eq!(created["title"], "regent: log run e/a", "{created}");
    assert!(
        created["body"].as_str().unwrap().contains("1. run e/a"),
        "{created}"
    );
    // The name is taken on the base only once the pull request merges.
    let again = regent(&env, &server, &["run", "log", "e", "--name", "r", "--pr"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("run e/r already exists"),
        "{}",
        again.stderr
    );
}

/// A run recorded while it trains: `run start --pr` makes the run's branch
/// and pull request, `run update --pr` and `run end --pr` add to them.
#[tokio::test]
async fn a_tracked_run_is_one_pull_request() {
    let env = setup();
    let server = MockServer::start().await;
    let branch = "regent/runs/e/t";
    pulls_for(&server, branch).await;
    let before = env.state();
    for args in [
        &[
            "run", "start", "e", "--name", "t", "--param", "lr=0.1", "--pr",
        ][..],
        &[
            "run", "update", "e/t", "--metric", "loss=0.5", "--step", "1", "--pr",
        ],
        &[
            "run",
            "end",
            "e/t",
            "--metric",
            "accuracy=0.95",
            "--pr",
            "--json",
        ],
    ] {
        let out = regent(&env, &server, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    assert_eq!(env.state(), before, "the checkout is untouched");
    assert_eq!(
        events(&env, &format!("main..{branch}")),
        ["edit", "edit", "run"]
    );
    let origin = env.root.join("origin.git");
    let file = env.git_in(
        &origin,
        &[
            "show",
            &format!("{branch}:{}", crate::common::run_file("e", "t")),
        ],
    );
    for expected in ["status: finished", "lr: '0.1'", "accuracy: 0.95", "loss:"] {
        assert!(file.contains(expected), "{expected} in {file}");
    }
    // One pull request: opened, then updated twice.
    let writes = bodies(&server).await;
    assert_eq!(writes.len(), 3, "{writes:?}");
    // The run is not on main: ending it there says so.
    let out = env.run(&["run", "end", "e/t"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no run e/t"), "{}", out.stderr);
}

/// A sweep's runs on one pull request: `--pr --branch NAME` on `run log`
/// and on a `--batch`, built on each other, and the gate passes the branch.
#[tokio::test]
async fn a_sweep_collects_on_one_branch_and_passes_the_gate() {
    let env = setup();
    let server = MockServer::start().await;
    let branch = "sweep/lr";
    pulls_for(&server, branch).await;
    for lr in ["0.1", "0.01"] {
        let out = regent(
            &env,
            &server,
            &[
                "run",
                "log",
                "e",
                "--param",
                &format!("lr={lr}"),
                "--pr",
                "--branch",
                branch,
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    env.write(
        "sweep.jsonl",
        "{\"experiment\": \"e\", \"name\": \"b1\", \"params\": {\"lr\": \"0.001\"}}\n\
         {\"experiment\": \"e\", \"name\": \"b2\", \"params\": {\"lr\": \"0.0001\"}}\n",
    );
    let out = regent(
        &env,
        &server,
        &[
            "run",
            "log",
            "--batch",
            "sweep.jsonl",
            "--pr",
            "--branch",
            branch,
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["runs"], serde_json::json!(["e/b1", "e/b2"]), "{json}");
    assert_eq!(json["branch"], branch);
    assert_eq!(json["number"], 9);
    assert_eq!(
        events(&env, &format!("main..{branch}")),
        ["run", "run", "run"]
    );
    // Four events: the batch's commit records two runs.
    let last = bodies(&server).await.last().unwrap().clone();
    assert_eq!(
        last["title"],
        format!("regent: 4 registry events ({branch})")
    );
    for run in ["run e/b1", "run e/b2"] {
        assert!(last["body"].as_str().unwrap().contains(run), "{last}");
    }
    crate::github_events::gate_on(&env, branch, 0);
}

/// `--pr` with `--push` or `--no-commit` is a usage error, and nothing is
/// pushed or written.
#[test]
fn pr_excludes_push_and_no_commit() {
    let env = setup();
    let before = env.state();
    for extra in ["--push", "--no-commit"] {
        let out = env.run(&["run", "log", "e", "--pr", extra]);
        assert_eq!(out.code, 2, "{extra}: {}", out.stderr);
        assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    }
    assert_eq!(env.state(), before);
}
