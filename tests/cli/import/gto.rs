//! `regent import gto`: a repository tagged by GTO itself.

use super::{checked, imported_events, regent_with, row, run, tool};
use crate::common::TestEnv;
use serde_json::json;
use std::collections::BTreeMap;

/// Runs `gto ARGS` in the repository as `who` (GTO's tagger is git's committer).
fn gto(env: &TestEnv, who: &str, args: &[&str]) {
    let mut cmd = tool(env, "gto", &env.repo);
    cmd.args(args)
        .env("GIT_COMMITTER_NAME", who)
        .env("GIT_COMMITTER_EMAIL", format!("{who}@example.com"));
    checked(&format!("gto {args:?}"), run(&mut cmd));
    // GTO's tags keep the second they were made in: one event per second,
    // so that the order to check is the order they happened in (within a
    // second, regent puts registrations first, then GTO's counters).
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

/// Every tag: name -> (what it points at, tagger, time as regent writes it).
fn tags(env: &TestEnv) -> BTreeMap<String, (String, String, String)> {
    env.git(&[
        "for-each-ref",
        "refs/tags",
        "--format=%(refname:short) %(*objectname) %(taggerdate:unix) %(taggername)",
    ])
    .lines()
    .map(|line| {
        let mut parts = line.splitn(4, ' ');
        let mut next = || parts.next().unwrap_or_default().to_owned();
        let (name, commit, unix, tagger) = (next(), next(), next(), next());
        let time = regent::time::from_git_seconds(unix.parse().unwrap());
        (name, (commit, tagger, regent::time::format(time)))
    })
    .collect()
}

/// A repository with GTO's history for `churn`, and its registry in `registry/`.
fn tagged_repository() -> TestEnv {
    let env = TestEnv::new();
    env.write("models/churn.pkl", "weights one");
    env.write(
        "dvc.yaml",
        "artifacts:\n  churn:\n    path: models/churn.pkl\n    type: model\n    \
         desc: Churn classifier\n    labels: [tabular]\n",
    );
    env.commit_all("first model");
    gto(&env, "alice", &["register", "churn", "--version", "v1.0.0"]);
    gto(
        &env,
        "alice",
        &[
            "assign",
            "churn",
            "--version",
            "v1.0.0",
            "--stage",
            "staging",
        ],
    );
    env.write("models/churn.pkl", "weights two");
    env.commit_all("second model");
    gto(&env, "bob", &["register", "churn", "--bump-minor"]);
    gto(
        &env,
        "bob",
        &["assign", "churn", "--version", "v1.1.0", "--stage", "prod"],
    );
    gto(
        &env,
        "carol",
        &[
            "assign",
            "churn",
            "--version",
            "v1.1.0",
            "--stage",
            "staging",
        ],
    );
    gto(&env, "carol", &["deprecate", "churn", "v1.1.0", "staging"]);
    gto(&env, "alice", &["deprecate", "churn", "v1.0.0"]);
    env.run_ok(&["init", "registry", "--stages", "staging,prod"]);
    env
}

#[test]
fn gto_tags_become_versions_and_the_stage_history_in_order() {
    let env = tagged_repository();
    let gto_tags = tags(&env);
    let names: Vec<&str> = gto_tags.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "churn#prod#2",
            "churn#staging!#4",
            "churn#staging#1",
            "churn#staging#3",
            "churn@v1.0.0",
            "churn@v1.0.0!",
            "churn@v1.1.0"
        ],
        "GTO's own names"
    );
    let store = env.root.join("store");
    let vars = [("REGENT_ARTIFACT_ROOT", store.as_path())];
    let out = regent_with(&env, &vars, &["-C", "registry", "import", "gto"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("model churn: 2 new versions, 7 events"),
        "{}",
        out.stdout
    );

    let at = |tag: &str| gto_tags[tag].2.clone();
    assert_eq!(
        imported_events(&env, &["-C", "registry"]),
        [
            row([
                "register",
                "churn",
                "1",
                "",
                "",
                "alice",
                &at("churn@v1.0.0")
            ]),
            row([
                "promote",
                "churn",
                "1",
                "staging",
                "",
                "alice",
                &at("churn#staging#1")
            ]),
            row(["register", "churn", "2", "", "", "bob", &at("churn@v1.1.0")]),
            row([
                "promote",
                "churn",
                "2",
                "prod",
                "",
                "bob",
                &at("churn#prod#2")
            ]),
            row([
                "promote",
                "churn",
                "2",
                "staging",
                "1",
                "carol",
                &at("churn#staging#3")
            ]),
            row([
                "demote",
                "churn",
                "2",
                "staging",
                "",
                "carol",
                &at("churn#staging!#4")
            ]),
            row([
                "deprecate",
                "churn",
                "1",
                "",
                "",
                "alice",
                &at("churn@v1.0.0!")
            ]),
        ]
    );

    let model = env.json(&["-C", "registry", "show", "churn"]);
    assert_eq!(model["description"], "Churn classifier");
    assert_eq!(
        model["tags"],
        json!({"gto.type": "model", "gto.labels": "tabular"})
    );
    assert_eq!(model["stages"], json!({"prod": 2}));
    let v1 = &model["versions"][0];
    assert_eq!(v1["tags"], json!({"semver": "v1.0.0"}));
    assert_eq!(v1["status"], "deprecated");
    assert_eq!(v1["status_reason"], "deregistered in GTO");
    assert_eq!(v1["created_by"], "alice");
    assert_eq!(v1["source_commit"], gto_tags["churn@v1.0.0"].0);
    let v2 = &model["versions"][1];
    assert_eq!(v2["tags"], json!({"semver": "v1.1.0"}));
    assert_eq!(v2["status"], "active");
    assert_eq!(v2["source_commit"], gto_tags["churn@v1.1.0"].0);
    // Each version's file as it was at its commit, stored by content.
    for (version, content) in [("1", "weights one"), ("2", "weights two")] {
        let dest = env.root.join(format!("got-{version}"));
        let uri = format!("models:/churn/{version}");
        let got = regent_with(
            &env,
            &vars,
            &[
                "-C",
                "registry",
                "artifact",
                "get",
                &uri,
                dest.to_str().unwrap(),
            ],
        );
        assert_eq!(got.code, 0, "{}", got.stderr);
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            content,
            "a file comes back as DEST"
        );
    }
    env.run_ok(&["-C", "registry", "validate"]);

    // GTO's tags are untouched, and regent made none of its own.
    assert_eq!(tags(&env), gto_tags);
    // Again: nothing new, nothing changed.
    let before = env.state();
    let again = regent_with(&env, &vars, &["-C", "registry", "import", "gto"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("Nothing new to import"),
        "{}",
        again.stderr
    );
    assert_eq!(env.state(), before);
}

#[test]
fn after_a_gto_import_promotions_work_with_tag_names_gto_does_not_use() {
    let env = tagged_repository();
    env.run_ok(&["-C", "registry", "import", "gto", "--no-copy"]);
    let v1 = env.json(&["-C", "registry", "show", "churn/v1"]);
    assert_eq!(
        v1["artifact"]["uri"], "models/churn.pkl",
        "the path GTO recorded"
    );
    assert_eq!(v1["artifact"]["verified"], false);
    // regent numbers assignments per stage and GTO per artifact: with the
    // default format regent's next `churn#prod#2` is GTO's tag already.
    let taken = env.run_err(
        2,
        &["-C", "registry", "promote", "churn", "2", "--to", "staging"],
    );
    assert!(
        taken.stderr.contains("churn#staging#3 already exists"),
        "{}",
        taken.stderr
    );
    // The README's advice: a format of regent's own.
    let config = env.read("registry/regent.yaml");
    env.write(
        "registry/regent.yaml",
        format!("{config}tags:\n  assign: \"{{model}}/{{stage}}/{{n}}\"\n"),
    );
    env.commit_all("regent's own tag names");
    env.run_ok(&["-C", "registry", "promote", "churn", "2", "--to", "staging"]);
    let tag = env.git(&["tag", "-l", "churn/staging/*"]);
    assert_eq!(
        tag.trim(),
        "churn/staging/3",
        "numbered after the imported assignments"
    );
}
