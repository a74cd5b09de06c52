//! The model lifecycle through the binary: register, promote, demote,
//! rollback, aliases, tags, descriptions, deprecation, archiving, approvals,
//! and refusals that leave everything as it was.

use crate::common::TestEnv;
use serde_json::json;

/// A registry with a governed production stage and a protected alias.
pub const POLICY: &str = "registry: 1
stages:
  - name: staging
  - name: production
    requires: [staging]
    approvals: 1
    approvers: [bob, carol]
    gates:
      - {metric: accuracy, min: 0.9}
      - {metric: accuracy, max_regression: 0.01}
aliases:
  champion: {approvals: 1, approvers: [carol]}
";

/// A registry with POLICY and runs r1 (accuracy 0.91), r2 (0.85), r3 (0.95).
pub fn governed() -> TestEnv {
    let env = TestEnv::with_registry();
    env.write("regent.yaml", POLICY);
    env.commit_all("policy");
    for (run, acc) in [("r1", "0.91"), ("r2", "0.85"), ("r3", "0.95")] {
        env.run_ok(&[
            "run",
            "log",
            "churn-exp",
            "--name",
            run,
            "--metric",
            &format!("accuracy={acc}"),
        ]);
    }
    env
}

fn trailers(env: &TestEnv, rev: &str) -> String {
    env.git(&["log", "-1", "--format=%(trailers)", rev])
}

fn tags(env: &TestEnv) -> Vec<String> {
    env.git(&["tag", "--list"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// register numbers versions 1, 2, 3, freezes the run's metrics, and tags each.
#[test]
fn register_numbers_versions_and_freezes_run_metrics() {
    let env = governed();
    assert_eq!(
        env.run_ok(&[
            "register",
            "churn",
            "--artifact",
            "s3://m/1",
            "--run",
            "churn-exp/r1"
        ]),
        "churn/1\n"
    );
    assert_eq!(
        env.run_ok(&[
            "register",
            "churn",
            "--artifact",
            "s3://m/2",
            "--run",
            "churn-exp/r2"
        ]),
        "churn/2\n"
    );
    let v1 = env.json(&["show", "churn/1"]);
    assert_eq!(v1["metrics"], json!({"accuracy": 0.91}));
    assert_eq!(v1["run"], "churn-exp/r1");
    assert_eq!(
        v1["artifact"],
        json!({"uri": "s3://m/1", "verified": false})
    );
    assert_eq!(
        trailers(&env, "HEAD"),
        "Regent-Event: register\nRegent-Model: churn\nRegent-Version: 2\nRegent-Actor: tester\n\n"
    );
    assert_eq!(tags(&env), ["churn@v1", "churn@v2"]);
    // Annotated tags, each on its own event's commit.
    assert_eq!(env.git(&["cat-file", "-t", "churn@v2"]).trim(), "tag");
    assert_eq!(
        env.git(&["rev-parse", "churn@v2^{commit}"]).trim(),
        env.head()
    );
    assert_eq!(
        env.git(&["rev-parse", "churn@v1^{commit}"]).trim(),
        env.git(&["rev-parse", "HEAD~1"]).trim()
    );
    // One commit per event; the working tree and index match it.
    assert_eq!(
        env.git(&["show", "--name-only", "--format=", "HEAD"]),
        "models/churn/versions/2.yaml\n"
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    env.run_ok(&["validate"]);
}

/// A local artifact kept local is hashed (stored ones: tests/cli/artifacts.rs);
/// a URI with --digest is verified; a wrong digest is a "no".
#[test]
fn register_artifacts_and_digests() {
    let env = governed();
    env.write("model.bin", "abc");
    env.run_ok(&["register", "m", "--keep-local", "--artifact", "model.bin"]);
    let digest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(
        env.json(&["show", "m/1"])["artifact"],
        json!({"uri": "model.bin", "name": "model.bin", "digest": digest, "size": 3})
    );
    env.run_ok(&[
        "register",
        "m",
        "--artifact",
        "s3://b/k",
        "--digest",
        digest,
    ]);
    assert_eq!(
        env.json(&["show", "m/2"])["artifact"],
        json!({"uri": "s3://b/k", "digest": digest})
    );
    let before = env.state();
    env.run_err(
        2,
        &[
            "register",
            "m",
            "--artifact",
            "s3://b/k",
            "--digest",
            "sha256:XYZ",
        ],
    );
    let out = env.run_err(
        1,
        &[
            "register",
            "m",
            "--keep-local",
            "--artifact",
            "model.bin",
            "--digest",
            &format!("sha256:{}", "0".repeat(64)),
        ],
    );
    assert!(
        out.stderr.contains("has digest sha256:ba78"),
        "{}",
        out.stderr
    );
    env.run_err(
        1,
        &[
            "register",
            "m",
            "--artifact",
            "s3://x",
            "--run",
            "churn-exp/nope",
        ],
    );
    assert_eq!(env.state(), before);
}

/// Promotion through the stages with gates, requirements and approvals.
#[test]
fn promote_through_governed_stages() {
    let env = governed();
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://m/1",
        "--run",
        "churn-exp/r1",
    ]);
    // Production requires staging and one approval: both reasons are listed.
    let before = env.state();
    let out = env.run_err(1, &["promote", "churn", "1", "--to", "production"]);
    assert!(
        out.stderr
            .contains("error: promote churn v1 to production refused"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("✗ version 1 has never been in staging"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("✗ 0 of 1 approvals"), "{}", out.stderr);
    assert_eq!(env.state(), before, "a refusal changes nothing");

    env.run_ok(&["promote", "churn", "1", "--to", "staging"]);
    env.run_as_ok("bob", &["approve", "churn", "1", "--stage", "production"]);
    assert_eq!(
        trailers(&env, "HEAD"),
        "Regent-Event: approve\nRegent-Model: churn\nRegent-Version: 1\nRegent-Stage: production\nRegent-Actor: bob\n\n"
    );
    let value = env.json(&["promote", "churn", "1", "--to", "production"]);
    assert_eq!(value["tags"], json!(["churn#production#1"]));
    assert!(
        value["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true)
    );
    assert_eq!(
        trailers(&env, "HEAD"),
        "Regent-Event: promote\nRegent-Model: churn\nRegent-Version: 1\nRegent-Stage: production\nRegent-Actor: tester\n\n"
    );
    assert_eq!(
        env.json(&["show", "churn"])["stages"],
        json!({"staging": 1, "production": 1})
    );

    // v2 fails the gates (min and regression against v1).
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://m/2",
        "--run",
        "churn-exp/r2",
    ]);
    env.run_ok(&["promote", "churn", "2", "--to", "staging"]);
    env.run_as_ok("carol", &["approve", "churn", "2", "--stage", "production"]);
    let out = env.run_err(1, &["promote", "churn", "2", "--to", "production"]);
    assert!(
        out.stderr.contains("✗ accuracy 0.85 < 0.9 (min)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("✗ accuracy dropped 0.06 from v1"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("approvals"),
        "the approval is there: {}",
        out.stderr
    );
}

/// Approvals count per version and stage, by listed approvers, never the registrant.
#[test]
fn approvals_are_per_version_and_stage() {
    let env = governed();
    env.run_ok(&[
        "--actor",
        "alice",
        "register",
        "churn",
        "--artifact",
        "s3://m/1",
        "--run",
        "churn-exp/r1",
    ]);
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://m/3",
        "--run",
        "churn-exp/r3",
    ]);
    env.run_ok(&["promote", "churn", "1", "--to", "staging"]);
    let before = env.state();
    let out = env.run_as_err(
        "alice",
        1,
        &["approve", "churn", "1", "--stage", "production"],
    );
    assert!(
        out.stderr
            .contains("alice registered churn v1 and cannot approve it"),
        "{}",
        out.stderr
    );
    let out = env.run_as_err(
        "mallory",
        1,
        &["approve", "churn", "1", "--stage", "production"],
    );
    assert!(
        out.stderr
            .contains("mallory is not an approver of stage production (approvers: bob, carol)"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
    // Staging has no approvers: nobody can approve for it.
    env.run_as_err("bob", 1, &["approve", "churn", "1", "--stage", "staging"]);
    // An approval for v2 does not count for v1.
    env.run_as_ok("bob", &["approve", "churn", "2", "--stage", "production"]);
    env.run_err(1, &["promote", "churn", "1", "--to", "production"]);
    env.run_as_ok("bob", &["approve", "churn", "1", "--stage", "production"]);
    let out = env.run_as_err(
        "bob",
        1,
        &["approve", "churn", "1", "--stage", "production"],
    );
    assert!(out.stderr.contains("already approved"), "{}", out.stderr);
    // The promoter's own approval never counts.
    let out = env.run_err(
        1,
        &[
            "--actor",
            "bob",
            "promote",
            "churn",
            "1",
            "--to",
            "production",
        ],
    );
    assert!(out.stderr.contains("0 of 1 approvals"), "{}", out.stderr);
    env.run_ok(&["promote", "churn", "1", "--to", "production"]);
}

/// direct: false refuses local promotion with a hint to use a pull request.
#[test]
fn direct_false_stages_need_a_pull_request() {
    let env = TestEnv::with_registry();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    direct: false\n",
    );
    env.commit_all("policy");
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    let before = env.state();
    let out = env.run_err(1, &["promote", "m", "1", "--to", "production"]);
    assert!(
        out.stderr.contains("only through a pull request"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: open a pull request"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
}

/// Deprecated and archived versions cannot be promoted; archiving needs an empty stage.
#[test]
fn deprecated_and_archived_versions_are_refused() {
    let env = governed();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    env.run_ok(&["register", "m", "--artifact", "s3://m/2"]);
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    let out = env.run_err(1, &["archive", "m", "1"]);
    assert!(
        out.stderr.contains("still in staging; demote it"),
        "{}",
        out.stderr
    );
    env.run_ok(&["deprecate", "m", "2", "--reason", "leaks labels"]);
    assert_eq!(
        trailers(&env, "HEAD"),
        "Regent-Event: deprecate\nRegent-Model: m\nRegent-Version: 2\nRegent-Actor: tester\n\n"
    );
    let out = env.run_err(1, &["promote", "m", "2", "--to", "staging"]);
    assert!(out.stderr.contains("deprecated"), "{}", out.stderr);
    env.run_ok(&["archive", "m", "2"]);
    let v2 = env.json(&["show", "m/2"]);
    assert_eq!(v2["status"], "archived");
    env.run_err(1, &["promote", "m", "2", "--to", "staging"]);
    env.run_err(1, &["alias", "set", "m", "beta", "2"]);
    env.run_err(1, &["deprecate", "m", "2"]);
    env.run_ok(&["demote", "m", "--from", "staging"]);
    env.run_ok(&["archive", "m", "1"]);
    env.run_ok(&["validate"]);
}

/// rollback goes back to the previous holder (or --to N) and counts as an assignment.
#[test]
fn rollback_to_the_previous_holder() {
    let env = TestEnv::with_registry();
    for n in 1..=3 {
        env.run_ok(&["register", "m", "--artifact", &format!("s3://m/{n}")]);
    }
    let out = env.run_err(1, &["rollback", "m", "--stage", "staging"]);
    assert!(
        out.stderr.contains("no earlier version in staging"),
        "{}",
        out.stderr
    );
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    env.run_ok(&["promote", "m", "2", "--to", "staging"]);
    env.run_ok(&["promote", "m", "3", "--to", "staging"]);
    let value = env.json(&["rollback", "m", "--stage", "staging"]);
    assert_eq!(value["event"]["event"], "rollback");
    assert_eq!(value["event"]["version"], 2);
    assert_eq!(value["event"]["previous"], 3);
    assert_eq!(value["tags"], json!(["m#staging#4"]));
    assert_eq!(
        trailers(&env, "HEAD"),
        "Regent-Event: rollback\nRegent-Model: m\nRegent-Version: 2\nRegent-Stage: staging\nRegent-Previous: 3\nRegent-Actor: tester\n\n"
    );
    env.run_ok(&["rollback", "m", "--stage", "staging", "--to", "1"]);
    assert_eq!(env.json(&["show", "m"])["stages"]["staging"], 1);
    let out = env.run_err(1, &["rollback", "m", "--stage", "staging", "--to", "1"]);
    assert!(out.stderr.contains("refused"), "{}", out.stderr);
}

/// A stage's rollback policy can waive approvals for rollbacks only.
#[test]
fn rollback_policy_waives_approvals() {
    let env = TestEnv::with_registry();
    env.write("regent.yaml", "registry: 1\nstages:\n  - name: production\n    approvals: 1\n    approvers: [bob]\n    rollback: {approvals: 0}\n");
    env.commit_all("policy");
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    env.run_ok(&["register", "m", "--artifact", "s3://m/2"]);
    for v in ["1", "2"] {
        env.run_as_ok("bob", &["approve", "m", v, "--stage", "production"]);
        env.run_ok(&["promote", "m", v, "--to", "production"]);
    }
    env.run_ok(&["rollback", "m", "--stage", "production"]);
    assert_eq!(env.json(&["show", "m"])["stages"]["production"], 1);
}

/// Aliases: free ones move freely; protected ones need their approvals.
#[test]
fn aliases_free_and_protected() {
    let env = governed();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    env.run_ok(&["alias", "set", "m", "beta", "1"]);
    assert_eq!(
        trailers(&env, "HEAD"),
        "Regent-Event: alias\nRegent-Model: m\nRegent-Version: 1\nRegent-Alias: beta\nRegent-Actor: tester\n\n"
    );
    let out = env.run_err(1, &["alias", "set", "m", "champion", "1"]);
    assert!(out.stderr.contains("0 of 1 approvals"), "{}", out.stderr);
    env.run_as_ok("carol", &["approve", "m", "1", "--alias", "champion"]);
    env.run_ok(&["alias", "set", "m", "champion", "1"]);
    assert_eq!(
        env.json(&["show", "m"])["aliases"],
        json!({"beta": 1, "champion": 1})
    );
    env.run_ok(&["alias", "rm", "m", "beta"]);
    assert_eq!(env.json(&["show", "m"])["aliases"], json!({"champion": 1}));
    env.run_err(1, &["alias", "rm", "m", "beta"]);
    env.run_err(2, &["alias", "set", "m", "Bad", "1"]);
}

/// Tags and descriptions change; everything else about a version is frozen.
#[test]
fn tags_and_descriptions() {
    let env = governed();
    env.run_ok(&[
        "register",
        "m",
        "--artifact",
        "s3://m/1",
        "--tag",
        "team=growth",
    ]);
    env.run_ok(&["tag", "m/1", "reviewed=yes", "--rm", "team"]);
    assert_eq!(
        env.json(&["show", "m/1"])["tags"],
        json!({"reviewed": "yes"})
    );
    env.run_ok(&["tag", "m", "domain=retention"]);
    assert_eq!(
        env.json(&["show", "m"])["tags"],
        json!({"domain": "retention"})
    );
    env.run_ok(&["describe", "m/1", "Trained on November data"]);
    assert_eq!(
        env.json(&["show", "m/1"])["description"],
        "Trained on November data"
    );
    env.run_ok(&["describe", "m", "Predicts churn"]);
    assert_eq!(env.json(&["show", "m"])["description"], "Predicts churn");
    env.run_err(1, &["describe", "m", "Predicts churn"]);
    env.run_err(1, &["tag", "m/1", "--rm", "nope"]);
    env.run_err(2, &["tag", "m/1"]);
    env.run_err(1, &["tag", "m/9", "a=b"]);
    env.run_err(1, &["tag", "nope", "a=b"]);
}

/// The registry's own uncommitted changes block a mutation; unrelated ones do not and stay.
#[test]
fn dirty_registry_files_refuse_unrelated_files_do_not() {
    let env = governed();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    env.write("train.py", "unrelated\n");
    env.write("notes.md", "staged\n");
    env.git(&["add", "notes.md"]);
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    assert_eq!(env.read("train.py"), "unrelated\n");
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "A  notes.md\n?? train.py\n"
    );
    assert_eq!(
        env.git(&["show", "--name-only", "--format=", "HEAD"]),
        "models/m/model.yaml\n"
    );

    env.write(
        "models/m/model.yaml",
        "name: m\nstages: {staging: 1}\ndescription: hand edit\n",
    );
    let before = env.state();
    let out = env.run_err(1, &["register", "m", "--artifact", "s3://m/2"]);
    assert!(
        out.stderr
            .contains("uncommitted changes: models/m/model.yaml"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
    env.write("regent.yaml", "registry: 1\nstages: []\n");
    env.git(&["checkout", "--", "models"]);
    env.run_err(1, &["register", "m", "--artifact", "s3://m/2"]);
}

/// A mutation needs an existing model (except register), and a registry.
#[test]
fn missing_models_and_versions_are_a_no() {
    let env = governed();
    let out = env.run_err(1, &["promote", "nope", "1", "--to", "staging"]);
    assert!(out.stderr.contains("no model named nope"), "{}", out.stderr);
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    let out = env.run_err(1, &["promote", "m", "7", "--to", "staging"]);
    assert!(
        out.stderr.contains("refused") || out.stderr.contains("no version 7"),
        "{}",
        out.stderr
    );
    let out = env.run_err(1, &["promote", "m", "1", "--to", "qa"]);
    assert!(out.stderr.contains("qa"), "{}", out.stderr);
    env.run_err(2, &["promote", "m", "0", "--to", "staging"]);
    env.run_err(2, &["promote", "../m", "1", "--to", "staging"]);
}
