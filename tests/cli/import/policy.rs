//! An import is judged by the registry's policy like the events it brings:
//! a version MLflow had in Production does not enter a `production` whose
//! policy asks for approvals, not locally (refused, nothing stored), not
//! through a commit pushed past the gate (`publish` reports it), and it
//! does through a pull request (`--pr`), where the reviews are approvals.

use super::{make_mlflow, regent_with};
use crate::common::TestEnv;
use crate::github::{TOKEN, catch_all, pull};
use std::path::{Path, PathBuf};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const POLICY: &str = "registry: 1\nstages:\n  - name: staging\n  - name: production\n    approvals: 1\n    approvers: [bob]\n";

/// A registry whose `production` needs bob's approval, and an MLflow SQLite
/// store (made by MLflow) with churn v2 in Production.
fn governed() -> (TestEnv, String) {
    let env = TestEnv::with_registry();
    env.write("regent.yaml", POLICY);
    env.commit_all("policy");
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let uri = format!("sqlite:///{}", work.join("mlflow.db").display());
    make_mlflow(&env, &work, &uri, false);
    (env, uri)
}

/// The files under `dir`, recursively (an artifact store).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn a_local_import_into_a_governed_stage_is_refused_and_stores_nothing() {
    let (env, uri) = governed();
    let store = env.root.join("store");
    std::fs::create_dir_all(&store).unwrap();
    let before = env.state();
    let vars = [("REGENT_ARTIFACT_ROOT", store.as_path())];
    let out = regent_with(&env, &vars, &["import", "mlflow", &uri]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the import breaks the policy: 1 event(s) refused"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("✗ promote churn v2 to production: 0 of 1 approvals; approvers: bob"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--pr"), "{}", out.stderr);
    assert_eq!(env.state(), before, "nothing committed or written");
    assert_eq!(files(&store), Vec::<PathBuf>::new(), "nothing uploaded");
    // Without a rule on production, the same import passes.
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n",
    );
    env.commit_all("no rules");
    env.run_ok(&["import", "mlflow", &uri, "--no-copy"]);
    assert_eq!(env.json(&["show", "churn"])["stages"]["production"], 2);
}

/// An import commit that reached main without the gate (made where the
/// policy was looser, then cherry-picked) is reported by `publish`.
#[test]
fn publish_reports_an_import_that_skipped_the_gate() {
    let (env, uri) = governed();
    env.git(&["switch", "-q", "-c", "loose"]);
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n",
    );
    env.commit_all("no rules");
    env.run_ok(&["import", "mlflow", &uri, "--no-copy"]);
    env.git(&["switch", "-q", "main"]);
    env.git(&["cherry-pick", "loose~2..loose"]);
    assert_eq!(env.read("regent.yaml"), POLICY, "main keeps its policy");
    let out = env.run(&["publish", "--since", "HEAD~2"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("promote churn v2 to production"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("0 of 1 approvals"), "{}", out.stderr);
}

/// `import --pr`: the commits on `regent/import/mlflow`, built on the base,
/// a pull request whose body shows what the gate will ask, and the checkout
/// untouched.
#[tokio::test]
async fn import_pr_opens_a_pull_request_for_the_gate_to_judge() {
    let (env, uri) = governed();
    env.add_origin();
    let server = MockServer::start().await;
    let branch = "regent/import/mlflow";
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .and(query_param("head", format!("acme:{branch}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(5, branch, "abc", "tester")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/5/labels"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([{"id": 1, "name": "regent"}])),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let before = env.state();
    let out = env
        .regent()
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/ml")
        .args(["import", "mlflow", &uri, "--no-copy", "--pr"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "#5 https://github.com/acme/ml/pull/5\n"
    );
    assert_eq!(env.state(), before, "the checkout is untouched");
    let origin = env.root.join("origin.git");
    let trailers = env.git_in(
        &origin,
        &[
            "log",
            "--format=%(trailers:key=Regent-Event,valueonly,separator=)",
            &format!("main..{branch}"),
        ],
    );
    assert_eq!(
        trailers.split_whitespace().collect::<Vec<_>>(),
        ["import", "import"]
    );
    let created: serde_json::Value = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/ml/pulls")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .unwrap();
    let body = created["body"].as_str().unwrap();
    assert!(
        body.contains("| promote churn v2 to production | ❌ | 0 of 1 approvals; approvers: bob |"),
        "{body}"
    );
    // The gate on the branch asks the same of its reviews.
    let report = crate::github_events::gate_on(&env, branch, 1);
    assert!(report.contains("0 of 1 approvals"), "{report}");
}
