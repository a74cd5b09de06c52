//! `regent validate`: the happy paths, PATH filters, --rev and output forms.
//! Each kind of bad input has its own test in `bad_input.rs`.

use crate::common::TestEnv;
use crate::show::registry_with_models;

/// A valid registry passes with exit 0 and says so on stderr.
#[test]
fn validate_passes_a_valid_registry() {
    let env = registry_with_models();
    let out = env.run(&["validate"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert!(
        out.stderr.contains("The registry is valid."),
        "{}",
        out.stderr
    );
    let value = env.json(&["validate"]);
    assert_eq!(value, serde_json::json!({"ok": true, "errors": []}));
}

/// Problems in several files are all reported in one pass, sorted, exit 1.
#[test]
fn validate_reports_every_problem_in_one_pass() {
    let env = registry_with_models();
    env.write(
        "models/churn/model.yaml",
        "name: churn\nstages:\n  prod: 2\n  staging: 7\n",
    );
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    requires: [qa]\n",
    );
    let out = env.run_err(1, &["validate"]);
    assert_eq!(
        out.stdout,
        "models/churn/model.yaml:3:3: `prod` is not a stage declared in regent.yaml\n\
         models/churn/model.yaml:4:12: stage `staging` points at version 7, which does not exist\n\
         regent.yaml:5:16: `qa` is not a declared stage\n"
    );
    assert!(
        out.stderr.contains("error: 3 problems in 2 files"),
        "{}",
        out.stderr
    );
}

/// PATH arguments narrow the report to those files or folders.
#[test]
fn validate_paths_filter_the_report() {
    let env = registry_with_models();
    env.write(
        "models/churn/model.yaml",
        "name: churn\nstages:\n  prod: 2\n",
    );
    env.write("models/fraud/model.yaml", "name: fraud\nbogus: 1\n");
    let out = env.run_err(1, &["validate", "models/fraud"]);
    assert_eq!(
        out.stdout,
        "models/fraud/model.yaml:2:1: unknown key `bogus` (keys of your own must start with `x-`; `regent schema model` shows the allowed ones)\n"
    );
    let out = env.run_err(1, &["validate", "models/churn/model.yaml"]);
    assert!(
        out.stdout.starts_with("models/churn/model.yaml:3:3:"),
        "{}",
        out.stdout
    );
    // Relative to the current folder, like any command-line path.
    let out = env
        .regent_in(&env.repo.join("models"))
        .args(["validate", "fraud/model.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    env.run_ok(&["validate", "experiments"]);
    let out = env.run_err(2, &["validate", "/etc/passwd"]);
    assert!(
        out.stderr.contains("is not inside the registry"),
        "{}",
        out.stderr
    );
}

/// --rev validates a commit without checking it out; the default is the working tree.
#[test]
fn validate_rev_reads_a_commit() {
    let env = registry_with_models();
    env.write("models/fraud/model.yaml", "name: fraud\nbogus: 1\n");
    env.commit_all("break fraud");
    let broken = env.head();
    env.write("models/fraud/model.yaml", "name: fraud\n");
    env.run_ok(&["validate"]);
    let out = env.run_err(1, &["validate", "--rev", &broken]);
    assert!(
        out.stdout
            .contains("models/fraud/model.yaml:2:1: unknown key `bogus`"),
        "{}",
        out.stdout
    );
    // The fix is not committed; HEAD is still broken, the working tree is not.
    env.run_err(1, &["validate", "--rev", "HEAD"]);
    env.run_ok(&["validate", "--rev", "HEAD~1"]);
}

/// x-* keys are free for users everywhere.
#[test]
fn validate_allows_x_keys() {
    let env = registry_with_models();
    env.write(
        "models/fraud/model.yaml",
        "name: fraud\nx-team: risk\nx-links: {dashboard: http://x}\n",
    );
    env.write("regent.yaml", "registry: 1\nx-comment: ok\nstages:\n  - name: staging\n    x-env: k8s\n  - name: production\n");
    env.run_ok(&["validate"]);
}

/// Under GitHub Actions problems are also workflow annotations.
#[test]
fn validate_emits_annotations_in_github_actions() {
    let env = registry_with_models();
    env.write("models/fraud/model.yaml", "name: fraud\nbogus: 1\n");
    let out = env
        .regent()
        .env("GITHUB_ACTIONS", "true")
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error file=models/fraud/model.yaml,line=2,col=1::unknown key `bogus`"),
        "{stdout}"
    );
}

/// Files written by regent validate and survive a read/write round trip byte for byte.
#[test]
fn written_files_round_trip() {
    let env = TestEnv::with_registry();
    env.write("p.yaml", "b: 2\na: {y: 'x', x: 0.001}\n");
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--params-file",
        "p.yaml",
        "--metric",
        "acc=0.1",
        "--metric",
        "n=3",
        "--tag",
        "k=true",
        "--artifact",
        "s3://x/y",
        "--note",
        "multi\nline: note",
    ]);
    for path in ["regent.yaml", "experiments/e/45/r.yaml"] {
        // init's commented example policy is comments only: not data.
        let text = env.read(path);
        let text = text.split("\n# The policy").next().unwrap().to_owned();
        let schema = if path == "regent.yaml" {
            "regent"
        } else {
            "run"
        };
        let value: serde_json::Value = regent::registry::parse_value(&text).unwrap();
        assert!(regent::schema::validate(schema, &value).is_empty());
        let again = if schema == "run" {
            let run: regent::registry::RunFile = serde_json::from_value(value).unwrap();
            regent::registry::to_yaml(schema, &run).unwrap()
        } else {
            let config: regent::registry::Config = serde_json::from_value(value).unwrap();
            regent::registry::to_yaml(schema, &config).unwrap()
        };
        assert_eq!(again, text, "{path} changed on a round trip");
    }
}

/// A policy nobody could ever satisfy is refused at the offending key
/// (issue 10, point 15): `requires` cycles (self-requires included), more
/// approvals than distinct listed people when no team is listed, for stages,
/// rollbacks and protected aliases, and approvals with no approvers.
#[test]
fn validate_refuses_unsatisfiable_policies() {
    let env = TestEnv::with_registry();
    let policy = "registry: 1
stages:
  - name: staging
    requires: [production]
  - name: production
    requires: [staging]
    approvals: 3
    approvers: [alice, Bob, bob]
    rollback: {approvals: 4}
  - name: canary
    requires: [canary]
  - name: qa
    approvals: 5
    approvers: [alice, \"@acme/ml-leads\"]
  - name: a
    requires: [b]
  - name: b
    requires: [c]
  - name: c
    requires: [a]
aliases:
  champion: {approvals: 1}
  gold: {approvals: 2, approvers: [carol, CAROL]}
  silver: {approvals: 1, approvers: [carol]}
";
    env.write("regent.yaml", policy);
    let out = env.run_err(1, &["validate"]);
    assert_eq!(
        out.stdout,
        "regent.yaml:4:16: `requires` makes a cycle, staging requires production requires staging: \
         each of these stages needs a version to have held the next one first, so no version can \
         ever enter any of them\n\
         regent.yaml:7:16: 3 approvals are required but `approvers` lists only 2 distinct people \
         (alice, Bob) and no team: each person counts once, so this can never be satisfied\n\
         regent.yaml:9:27: rollback: 4 approvals are required but `approvers` lists only 2 distinct \
         people (alice, Bob) and no team: each person counts once, so this can never be satisfied\n\
         regent.yaml:11:16: stage `canary` requires itself: a version would have to hold it before \
         entering it, so it can never be entered\n\
         regent.yaml:16:16: `requires` makes a cycle, a requires b requires c requires a: each of \
         these stages needs a version to have held the next one first, so no version can ever \
         enter any of them\n\
         regent.yaml:22:25: alias `champion`: 1 approval is required but `approvers` is empty: \
         nobody could approve, so this can never be satisfied\n\
         regent.yaml:23:21: alias `gold`: 2 approvals are required but `approvers` lists only 1 \
         distinct person (carol) and no team: each person counts once, so this can never be \
         satisfied\n"
    );
    assert!(
        out.stderr.contains("7 problems in 1 file"),
        "{}",
        out.stderr
    );
    // The same through a path filter and as JSON.
    let out = env.run_err(1, &["validate", "regent.yaml", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["errors"].as_array().unwrap().len(), 7);

    // Satisfiable versions of the same policy pass.
    let fixed = policy
        .replace("requires: [production]", "requires: []")
        .replace("requires: [canary]", "requires: []")
        .replace("requires: [a]", "requires: []")
        .replace("approvals: 3", "approvals: 2")
        .replace("{approvals: 4}", "{approvals: 0}")
        .replace(
            "champion: {approvals: 1}",
            "champion: {approvals: 1, approvers: [alice]}",
        )
        .replace("approvers: [carol, CAROL]", "approvers: [carol, dave]");
    env.write("regent.yaml", fixed);
    env.run_ok(&["validate"]);
}
