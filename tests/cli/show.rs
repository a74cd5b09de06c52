//! `regent show`: models, versions and pointers read from Git objects.

use crate::common::TestEnv;
use serde_json::json;

const DIGEST: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/// A registry with model `churn` (versions 1-3, staging: 3, production: 2,
/// champion: 2) and model `fraud` (version 1), written by hand and committed.
pub fn registry_with_models() -> TestEnv {
    let env = TestEnv::with_registry();
    env.run_ok(&[
        "run",
        "log",
        "churn-exp",
        "--name",
        "r1",
        "--metric",
        "accuracy=0.9",
    ]);
    env.write(
        "models/churn/model.yaml",
        "name: churn\ndescription: Predicts churn\nowners: [alice]\nstages:\n  production: 2\n  staging: 3\naliases:\n  champion: 2\n",
    );
    for v in 1..=3 {
        let run = if v == 3 { "run: churn-exp/r1\n" } else { "" };
        env.write(
            &format!("models/churn/versions/{v}.yaml"),
            format!(
                "model: churn\nversion: {v}\ncreated_at: 2026-01-0{v}T00:00:00Z\ncreated_by: alice\n{run}artifact:\n  uri: s3://models/churn/{v}\n  digest: {DIGEST}\nmetrics:\n  accuracy: 0.{}\nstatus: active\n",
                80 + v
            ),
        );
    }
    env.write("models/fraud/model.yaml", "name: fraud\n");
    env.write(
        "models/fraud/versions/1.yaml",
        "model: fraud\nversion: 1\ncreated_at: 2026-01-01T00:00:00Z\ncreated_by: bob\nartifact:\n  uri: gs://fraud/1\n  verified: false\nstatus: deprecated\n",
    );
    env.run_ok(&["validate"]);
    env.commit_all("add models by hand");
    env
}

/// show without a model lists every model with its pointers; LATEST is
/// the highest active version (fraud's only one is deprecated).
#[test]
fn show_lists_models() {
    let env = registry_with_models();
    let out = env.run_ok(&["show"]);
    assert_eq!(
        out,
        "MODEL  VERSIONS  LATEST  STAGES                       ALIASES\n\
         churn         3  v3      production: v2, staging: v3  champion: v2\n\
         fraud         1  -\n"
    );
    let value = env.json(&["show"]);
    assert_eq!(value.as_array().unwrap().len(), 2);
    assert_eq!(value[0]["name"], "churn");
}

/// show MODEL --json has the fields of DESIGN.md §4.
#[test]
fn show_model_json_matches_the_contract() {
    let env = registry_with_models();
    let value = env.json(&["show", "churn"]);
    assert_eq!(value["name"], "churn");
    assert_eq!(value["stages"], json!({"production": 2, "staging": 3}));
    assert_eq!(value["aliases"], json!({"champion": 2}));
    let versions = value["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    let v2 = &versions[1];
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["status"], "active");
    assert_eq!(v2["stages"], json!(["production"]));
    assert_eq!(v2["aliases"], json!(["champion"]));
    assert_eq!(
        v2["artifact"],
        json!({"uri": "s3://models/churn/2", "digest": DIGEST})
    );
    assert_eq!(v2["metrics"], json!({"accuracy": 0.82}));
    assert_eq!(versions[2]["run"], "churn-exp/r1");
}

/// show MODEL for people: header and a versions table.
#[test]
fn show_model_for_people() {
    let env = registry_with_models();
    let out = env.run_ok(&["show", "churn"]);
    assert_eq!(
        out,
        "model churn\ndescription: Predicts churn\nowners:  alice\nstages:  production: v2, staging: v3\naliases: champion: v2\n\n\
         VERSION  STATUS  STAGES      ALIASES   CREATED              BY     RUN\n      \
         1  active                        2026-01-01 00:00:00  alice\n      \
         2  active  production  champion  2026-01-02 00:00:00  alice\n      \
         3  active  staging               2026-01-03 00:00:00  alice  churn-exp/r1\n"
    );
}

/// show MODEL/VERSION shows one version; a missing one is a "no".
#[test]
fn show_one_version() {
    let env = registry_with_models();
    let value = env.json(&["show", "churn/3"]);
    assert_eq!(value["model"], "churn");
    assert_eq!(value["version"], 3);
    assert_eq!(value["stages"], json!(["staging"]));
    let out = env.run_ok(&["show", "fraud/1"]);
    assert!(out.contains("status:      deprecated\n"), "{out}");
    assert!(out.contains("digest:      (not verified)\n"), "{out}");
    let out = env.run_err(1, &["show", "churn/9"]);
    assert!(
        out.stderr.contains("model churn has no version 9"),
        "{}",
        out.stderr
    );
    let out = env.run_err(1, &["show", "nope"]);
    assert!(out.stderr.contains("no model named nope"), "{}", out.stderr);
    env.run_err(2, &["show", "churn/0"]);
}

/// show reads Git objects: uncommitted edits do not show, --rev shows the past.
#[test]
fn show_reads_commits_not_the_working_tree() {
    let env = registry_with_models();
    let before = env.head();
    env.write(
        "models/churn/model.yaml",
        "name: churn\nstages:\n  production: 3\n",
    );
    assert_eq!(env.json(&["show", "churn"])["stages"]["production"], 2);
    env.commit_all("hand promotion");
    assert_eq!(env.json(&["show", "churn"])["stages"]["production"], 3);
    assert_eq!(
        env.json(&["show", "churn", "--rev", &before])["stages"]["production"],
        2
    );
    assert_eq!(
        env.json(&["show", "churn", "--rev", "HEAD~1"])["stages"]["production"],
        2
    );
}

/// show works in a bare clone (CI without a checkout).
#[test]
fn show_works_in_a_bare_clone() {
    let env = registry_with_models();
    let bare = env.root.join("bare.git");
    env.git_in(
        &env.root,
        &[
            "clone",
            "-q",
            "--bare",
            env.repo.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let out = env
        .regent_in(&bare)
        .args(["show", "churn", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["stages"]["staging"], 3);
    // validate in a bare repository checks HEAD.
    let out = env.regent_in(&bare).args(["validate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In a monorepo's bare clone the registry is found in its subfolder.
#[test]
fn show_finds_a_subfolder_registry_in_a_bare_clone() {
    let env = TestEnv::new();
    let dir = env.repo.join("ml");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(
        env.regent_in(&dir)
            .arg("init")
            .output()
            .unwrap()
            .status
            .success()
    );
    env.write("ml/models/m/model.yaml", "name: m\n");
    env.commit_all("model");
    let bare = env.root.join("bare.git");
    env.git_in(
        &env.root,
        &[
            "clone",
            "-q",
            "--bare",
            env.repo.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let out = env
        .regent_in(&bare)
        .args(["show", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value[0]["name"], "m");
}

/// An empty registry says so; a registry not yet committed is an error with a hint.
#[test]
fn show_on_empty_and_uncommitted_registries() {
    let env = TestEnv::with_registry();
    assert_eq!(env.json(&["show"]), json!([]));
    let out = env.run(&["show"]);
    assert!(
        out.stderr.contains("No models registered yet."),
        "{}",
        out.stderr
    );

    let fresh = TestEnv::new();
    fresh.write("regent.yaml", "registry: 1\nstages: []\n");
    let out = fresh.run_err(2, &["show"]);
    assert!(
        out.stderr.contains("cannot resolve revision \"HEAD\""),
        "{}",
        out.stderr
    );
}

/// schema prints the embedded schemas; an unknown name lists the known ones.
#[test]
fn schema_prints_embedded_schemas() {
    let env = TestEnv::new();
    assert_eq!(env.run_ok(&["schema"]), "regent\nmodel\nversion\nrun\n");
    for name in ["regent", "model", "version", "run"] {
        let value: serde_json::Value =
            serde_json::from_str(&env.run_ok(&["schema", name])).unwrap();
        assert_eq!(
            value["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(value["additionalProperties"], false);
        assert_eq!(value["patternProperties"]["^x-"], true);
    }
    let out = env.run_err(2, &["schema", "nope"]);
    assert!(
        out.stderr
            .contains("the schemas are: regent, model, version, run"),
        "{}",
        out.stderr
    );
}

/// completions print a script for the shell.
#[test]
fn completions_for_bash() {
    let env = TestEnv::new();
    let out = env.run_ok(&["completions", "bash"]);
    assert!(out.contains("_regent()"), "{}", &out[..200.min(out.len())]);
}
