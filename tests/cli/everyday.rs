//! Everyday commands without surprises (issue 13): what a new user types
//! after reading regent's own output works, and mistakes get a precise
//! answer.

use crate::common::TestEnv;
use crate::lifecycle::governed;

/// regent prints versions as `v2`; every command that takes a version takes
/// that form too (and `models:/m/v2`), and a stage cannot be named so.
#[test]
fn versions_are_taken_as_regent_prints_them() {
    let env = governed();
    for run in ["r1", "r3"] {
        env.run_ok(&[
            "register",
            "churn",
            "--artifact",
            &format!("s3://m/{run}"),
            "--run",
            &format!("churn-exp/{run}"),
        ]);
    }
    env.run_ok(&["promote", "churn", "v2", "--to", "staging"]);
    env.run_ok(&["alias", "set", "churn", "candidate", "V1"]);
    env.run_ok(&["tag", "churn/v2", "team=ml"]);
    env.run_ok(&["describe", "churn/v1", "the first"]);
    let shown = env.json(&["show", "churn/v2"]);
    assert_eq!(shown["version"], 2, "{shown}");
    assert_eq!(shown["tags"]["team"], "ml", "{shown}");
    let resolved = env.json(&["resolve", "models:/churn/v2"]);
    assert_eq!(resolved["version"], 2, "{resolved}");
    assert_eq!(resolved["artifact"]["uri"], "s3://m/r3", "{resolved}");
    env.run_ok(&["deprecate", "churn", "v1", "--reason", "superseded"]);

    // What is not a version says why, naming both forms.
    for bad in ["v0", "0", "vv2", "v2.0", "x"] {
        let out = env.run_err(2, &["promote", "churn", bad, "--to", "staging"]);
        assert!(out.stderr.contains("version"), "{bad}: {}", out.stderr);
    }
    let out = env.run_err(2, &["resolve", "models:/churn/v0"]);
    assert!(out.stderr.contains("numbered from 1"), "{}", out.stderr);

    // A stage that reads as a version is refused where stages are declared.
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: v2\n",
    );
    let out = env.run_err(1, &["validate"]);
    assert!(
        out.stdout.contains("regent.yaml:4:")
            && out.stdout.contains("a stage cannot be called `v2`"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let fresh = TestEnv::new();
    let out = fresh.run_err(2, &["init", "--stages", "staging,v2"]);
    assert!(out.stderr.contains("reads as a version"), "{}", out.stderr);
}

/// With `--json`, a refusal is a JSON answer on stdout too: the event and
/// every check (passed and failed), besides the message on stderr; any
/// other failure is `{"ok": false, …}` with the message, hints and problems;
/// and a command whose verdict is itself JSON (validate) prints one document.
#[test]
fn json_failures_say_why_on_stdout() {
    let env = governed();
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://m/1",
        "--run",
        "churn-exp/r1",
    ]);
    let out = env.run_err(
        1,
        &["promote", "churn", "1", "--to", "production", "--json"],
    );
    let answer: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["exit_code"], 1, "{answer}");
    assert_eq!(answer["error"], "promote churn v1 to production refused");
    assert_eq!(answer["event"]["event"], "promote", "{answer}");
    assert_eq!(answer["event"]["stage"], "production", "{answer}");
    let checks = answer["checks"].as_array().unwrap();
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["requires", "approvals"], "{answer}");
    assert!(
        checks
            .iter()
            .any(|c| c["passed"] == true && c["rule"] == "gate"),
        "passed checks are listed too: {answer}"
    );
    assert!(out.stderr.contains("refused"), "{}", out.stderr);

    // On success, the event as `history` will show it: time filled.
    let done = env.json(&["promote", "churn", "1", "--to", "staging"]);
    assert_eq!(done["event"]["time"], "2026-01-02T03:04:05Z", "{done}");
    assert_eq!(
        done["event"],
        env.json(&["history", "churn"])
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone()
    );

    let out = env.run_err(1, &["resolve", "models:/nomodel/1", "--json"]);
    let answer: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"].as_str().unwrap().contains("nomodel"),
        "{answer}"
    );
    for key in ["causes", "hints", "problems", "details"] {
        assert!(answer[key].is_array(), "{key}: {answer}");
    }
    assert!(
        answer["event"].is_null() && answer["checks"].is_null(),
        "{answer}"
    );

    env.write("models/churn/model.yaml", "name: churn\nbogus: 1\n");
    let out = env.run_err(1, &["validate", "--json"]);
    let answer: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(answer["errors"].is_array(), "{answer}");
}

/// `regent completions zsh | head` ends quietly (no panic, exit 0 from regent).
#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        // `true` has exited before regent writes: every write meets a closed pipe.
        let out = env.sh(&format!(
            "bash -c 'set -o pipefail; \"$REGENT\" completions {shell} | true; echo exit=$?'"
        ));
        assert!(
            out.stdout.contains("exit=0"),
            "{shell}: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{shell}: {}", out.stderr);
    }
}

/// A mistyped model, stage or alias is an error (exit 1) with the likely
/// name, wherever it is typed; `history` of a typo is not "No events.".
#[test]
fn typos_get_did_you_mean() {
    let env = governed();
    env.run_ok(&[
        "register",
        "bc-classifier",
        "--artifact",
        "s3://m/1",
        "--run",
        "churn-exp/r1",
    ]);
    env.run_ok(&["alias", "set", "bc-classifier", "candidate", "1"]);
    let cases: [(&[&str], &str); 7] = [
        (
            &["history", "bc-clasifier"],
            "did you mean `bc-classifier`?",
        ),
        (
            &["history", "--stage", "prodution"],
            "did you mean `production`?",
        ),
        (&["show", "bc-clasifier"], "did you mean `bc-classifier`?"),
        (
            &["promote", "bc-clasifier", "1", "--to", "staging"],
            "did you mean `bc-classifier`?",
        ),
        (
            &["promote", "bc-classifier", "1", "--to", "stagin"],
            "did you mean `staging`?",
        ),
        (
            &["resolve", "models:/bc-classifier@candidat"],
            "did you mean `candidate`?",
        ),
        (
            &["resolve", "models:/bc-classifer/1"],
            "did you mean `bc-classifier`?",
        ),
    ];
    for (args, expected) in cases {
        let out = env.run_err(1, args);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    // Far from every name: no suggestion, still an error.
    let out = env.run_err(1, &["history", "zzz"]);
    assert!(out.stderr.contains("no model named zzz"), "{}", out.stderr);
    assert!(!out.stderr.contains("did you mean"), "{}", out.stderr);
    // A real model with no events in a window is not an error.
    env.run_ok(&["history", "bc-classifier", "--until", "2001-01-01"]);
}

/// `show` and `models:/m/latest` agree on "latest" (the highest active
/// version), a deprecation's reason is shown and survives archiving, and
/// `show m/v` prints every field, labelled.
#[test]
fn show_says_everything_about_a_version() {
    let env = governed();
    env.run_ok(&[
        "run",
        "log",
        "churn-exp",
        "--name",
        "r4",
        "--param",
        "depth=6",
        "--metric",
        "accuracy=0.93",
    ]);
    for run in ["r1", "r4"] {
        env.run_ok(&[
            "register",
            "churn",
            "--artifact",
            &format!("s3://m/{run}"),
            "--run",
            &format!("churn-exp/{run}"),
            "--tag",
            "team=ml",
            "--description",
            "gradient boosting",
        ]);
    }
    env.run_ok(&["deprecate", "churn", "2", "--reason", "leaks the label"]);
    let table = env.run_ok(&["show"]);
    let row = table.lines().find(|l| l.starts_with("churn")).unwrap();
    assert!(row.contains("v1") && !row.contains("v2"), "{table}");
    assert_eq!(env.json(&["resolve", "models:/churn/latest"])["version"], 1);

    env.run_ok(&["archive", "churn", "2"]);
    let version = env.json(&["show", "churn/2"]);
    assert_eq!(version["status"], "archived", "{version}");
    assert_eq!(version["status_reason"], "leaks the label", "{version}");
    assert_eq!(version["params"]["depth"], "6", "{version}");
    assert!(version["source_commit"].is_string(), "{version}");
    let human = env.run_ok(&["show", "churn/v2"]);
    for expected in [
        "status:      archived",
        "reason:      leaks the label",
        "tags:        team=ml",
        "description: gradient boosting",
        "PARAM (frozen)",
        "depth",
        "METRIC (frozen)",
        "0.93",
        "run:         churn-exp/r4",
    ] {
        assert!(human.contains(expected), "{expected:?} in:\n{human}");
    }
    // A new reason replaces the old one.
    env.run_ok(&["deprecate", "churn", "1", "--reason", "old"]);
    env.run_ok(&["archive", "churn", "1", "--reason", "replaced by v3"]);
    assert_eq!(
        env.json(&["show", "churn/1"])["status_reason"],
        "replaced by v3"
    );
}

/// `regent init` where the project already keeps weights in `models/` is
/// refused before anything is written, and points at a folder of its own,
/// which `regent init DIR` creates.
#[test]
fn init_does_not_take_over_a_models_folder() {
    let env = TestEnv::new();
    env.write("models/bert/pytorch_model.bin", "weights");
    env.write("train.py", "print('hi')\n");
    env.commit_all("project");
    let before = env.state();
    let out = env.run_err(1, &["init"]);
    assert!(
        out.stderr.contains("models/bert/pytorch_model.bin")
            && out.stderr.contains("regent init registry/"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before, "nothing written");
    env.run_ok(&["init", "registry/"]);
    assert!(env.read("registry/regent.yaml").contains("registry: 1"));
    env.run_ok(&["-C", "registry", "validate"]);
    // A failed init into a new folder leaves no folder behind.
    let out = env.run_err(1, &["init", "registry/inner"]);
    assert!(
        out.stderr.contains("already a regent registry"),
        "{}",
        out.stderr
    );
    assert!(!env.repo.join("registry/inner").exists());
}

/// After `git reset` removes a regent commit, its tag is a leftover: the next
/// event that takes its name says so and the exact safe fix, and `regent
/// doctor --fix` deletes it, but only when it was never pushed.
#[test]
fn tags_left_behind_by_git_reset_are_diagnosed_and_fixed() {
    let env = governed();
    let register = |run: &str| {
        let artifact = format!("s3://m/{run}");
        let run = format!("churn-exp/{run}");
        let args = ["register", "churn", "--artifact", &artifact, "--run", &run];
        env.run(&args)
    };
    assert_eq!(register("r1").code, 0);
    assert_eq!(register("r3").code, 0);
    env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let out = register("r3");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("tag churn@v2 already exists")
            && out.stderr.contains("no branch contains")
            && out.stderr.contains("git tag -d churn@v2"),
        "{}",
        out.stderr
    );
    // doctor lists it (exit 1), --fix deletes it, and the event goes through.
    let out = env.run_err(1, &["doctor"]);
    assert!(
        out.stdout.contains("churn@v2") && out.stdout.contains("delete with --fix"),
        "{}",
        out.stdout
    );
    let fixed = env.json(&["doctor", "--fix"]);
    assert_eq!(fixed["leftover_tags"][0]["tag"], "churn@v2", "{fixed}");
    assert_eq!(fixed["leftover_tags"][0]["fixed"], true, "{fixed}");
    env.run_ok(&["doctor"]);
    assert_eq!(register("r3").code, 0);

    // A pushed one is published: reported, never deleted.
    env.add_origin();
    env.git(&["push", "-q", "origin", "--tags"]);
    env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let out = env.run_err(1, &["doctor", "--fix"]);
    assert!(
        out.stdout.contains("left alone (published)"),
        "{}",
        out.stdout
    );
    assert!(env.git(&["tag", "--list", "churn@v2"]).contains("churn@v2"));
    let out = register("r3");
    assert!(
        out.code == 2 && out.stderr.contains("it was pushed"),
        "{}",
        out.stderr
    );
}

/// A manual edit says which fields it changed, in every output of `history`.
#[test]
fn history_says_what_a_manual_edit_changed() {
    let env = governed();
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://m/1",
        "--run",
        "churn-exp/r1",
    ]);
    let path = "models/churn/versions/1.yaml";
    env.write(
        path,
        env.read(path)
            .replace("s3://m/1", "s3://m/other")
            .replace("accuracy: 0.91", "accuracy: 0.99"),
    );
    env.commit_all("hand edit");
    let events = env.json(&["history", "churn"]);
    let edit = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "edit")
        .expect("the edit is in history");
    assert_eq!(
        edit["fields"],
        serde_json::json!(["artifact.uri", "metrics.accuracy"]),
        "{edit}"
    );
    assert_eq!(edit["via"], "manual");
    let register = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "register")
        .unwrap();
    assert!(register["fields"].is_null(), "{register}");
    let human = env.run_ok(&["history", "churn"]);
    assert!(
        human.contains("edit (artifact.uri, metrics.accuracy)"),
        "{human}"
    );
    let csv = env.run_ok(&["history", "churn", "--format", "csv"]);
    assert!(csv.lines().next().unwrap().ends_with(",fields"), "{csv}");
    assert!(csv.contains("artifact.uri metrics.accuracy"), "{csv}");
    // The gate names them too.
    let out = env.run_err(1, &["check", "--base", "HEAD~1"]);
    assert!(
        out.stdout.contains("artifact.uri"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

/// `regent init` writes a commented example of the policy; the file means
/// only the stages given, and the example, uncommented, is a valid policy.
#[test]
fn init_writes_a_commented_example_policy() {
    let env = TestEnv::new();
    env.run_ok(&["init", "--stages", "dev,qa,prod"]);
    let written = env.read("regent.yaml");
    assert!(
        written.contains("# - name: prod\n#   requires: [qa]"),
        "{written}"
    );
    assert!(written.contains("# aliases:"), "{written}");
    env.run_ok(&["validate"]);
    let example: String = written
        .lines()
        .skip_while(|l| !l.starts_with("# - name: prod"))
        .map(|l| l.strip_prefix("# ").or(l.strip_prefix("#")).unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let policy = format!("registry: 1\nstages:\n- name: dev\n- name: qa\n{example}");
    env.write("regent.yaml", &policy);
    let out = env.run(&["validate"]);
    assert_eq!(out.code, 0, "{policy}\n{}{}", out.stdout, out.stderr);
}

/// Problems in files are in plain words, at one position, with the likely
/// key for a misspelt one.
#[test]
fn file_problems_speak_plainly() {
    let env = TestEnv::with_registry();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n- name: staging\n  aprovals: 1\n  gates:\n  - {metric: accuracy}\n- name: Prod\naliases:\n  Champ: {approvals: 1}\n",
    );
    env.write("models/m/model.yaml", "name: m\nstage: {}\n");
    let out = env.run_err(1, &["validate"]);
    let expected = [
        "regent.yaml:4:3: unknown key `aprovals`: did you mean `approvals`?",
        "regent.yaml:6:5: a gate needs `min`, `max` or `max_regression` besides its `metric`",
        "regent.yaml:7:9: invalid stage name \"Prod\": it starts with `P`",
        "regent.yaml:9:3: invalid alias name \"Champ\"",
        "models/m/model.yaml:2:1: unknown key `stage`: did you mean `stages`?",
    ];
    for line in expected {
        assert!(out.stdout.contains(line), "{line:?} in:\n{}", out.stdout);
    }
    for jargon in ["anyOf", "^[a-z]", "is not valid under", "does not match \""] {
        assert!(
            !out.stdout.contains(jargon),
            "{jargon:?} in:\n{}",
            out.stdout
        );
    }
    env.write("regent.yaml", "registry: 1\nstages:\n- name: [x\n");
    let out = env.run_err(1, &["validate"]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("regent.yaml:"))
        .unwrap();
    assert!(!line.contains(" at line "), "one position only: {line}");
}

/// A run's source commit is the commit of the code: the last commit that
/// changed anything outside the registry, not the previous run's registry
/// commit; a monorepo's registry in a subfolder likewise.
#[test]
fn a_runs_source_is_the_commit_of_the_code() {
    let env = TestEnv::with_registry();
    env.write("train.py", "print('v1')\n");
    env.commit_all("code v1");
    let code = env.head();
    for _ in 0..3 {
        let run = env.json(&["run", "log", "e", "--metric", "a=1"]);
        assert_eq!(run["source"]["commit"], code.as_str(), "{run}");
    }
    // A hand edit of the registry is not code either.
    env.write("models/.keep", "");
    env.commit_all("registry only");
    let run = env.json(&["run", "log", "e", "--metric", "a=1"]);
    assert_eq!(run["source"]["commit"], code.as_str(), "{run}");
    // New code is the new source, remembered answers notwithstanding.
    env.write("train.py", "print('v2')\n");
    env.commit_all("code v2");
    let code = env.head();
    let run = env.json(&["run", "log", "e", "--metric", "a=1"]);
    assert_eq!(run["source"]["commit"], code.as_str(), "{run}");
    // Without the cache, the same answer by walking.
    std::fs::remove_file(env.repo.join(".git/regent/code-commit")).unwrap();
    let run = env.json(&["run", "log", "e", "--metric", "a=1"]);
    assert_eq!(run["source"]["commit"], code.as_str(), "{run}");

    // A registry in a subfolder: the code beside it counts, not its own files.
    let mono = TestEnv::new();
    mono.write("ml/train.py", "x\n");
    mono.write("README.md", "x\n");
    mono.commit_all("code");
    mono.run_ok(&["init", "ml/registry"]);
    let code = mono.git(&["rev-parse", "HEAD~1"]).trim().to_owned();
    for _ in 0..2 {
        let run = mono.json(&["-C", "ml/registry", "run", "log", "e", "--metric", "a=1"]);
        assert_eq!(run["source"]["commit"], code.as_str(), "{run}");
    }
}

/// `--where` with a namespace that does not exist, or a key no run has,
/// warns with the likely field instead of silently finding nothing;
/// `--sort` takes params (numbers as numbers) as well as metrics.
#[test]
fn run_list_names_the_likely_field_and_sorts_by_params() {
    let env = TestEnv::with_registry();
    for (name, lr, depth, acc) in [
        ("a", "0.01", "10", "0.91"),
        ("b", "0.1", "9", "0.85"),
        ("c", "0.001", "100", "0.95"),
    ] {
        env.run_ok(&[
            "run",
            "log",
            "e",
            "--name",
            name,
            "--param",
            &format!("lr={lr}"),
            "--param",
            &format!("depth={depth}"),
            "--metric",
            &format!("accuracy={acc}"),
        ]);
    }
    let out = env.run(&["run", "list", "--where", "metircs.accuracy > 0.9"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("`metircs` is not a field namespace")
            && out.stderr.contains("did you mean `metrics.accuracy`?"),
        "{}",
        out.stderr
    );
    let out = env.run(&["run", "list", "--where", "params.dept == \"9\""]);
    assert!(
        out.stderr
            .contains("no run has a field `params.dept`; did you mean `params.depth`?"),
        "{}",
        out.stderr
    );

    let names = |args: &[&str]| -> Vec<String> {
        env.json(args)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // depth as a number: 100 > 10 > 9 (as text it would be 9, 100, 10).
    assert_eq!(names(&["run", "list", "--sort", "depth"]), ["c", "a", "b"]);
    assert_eq!(
        names(&["run", "list", "--sort", "params.lr", "--asc"]),
        ["c", "a", "b"]
    );
    assert_eq!(
        names(&["run", "list", "--sort", "accuracy"]),
        ["c", "a", "b"]
    );
    let out = env.run(&["run", "list", "--sort", "acuracy"]);
    assert!(
        out.stderr.contains("did you mean `metrics.accuracy`?"),
        "{}",
        out.stderr
    );
    // MLflow's names and search syntax work as they are, with no warning:
    // `metric.accuracy` is MLflow's spelling of `metrics.accuracy`.
    for (filter, expected) in [
        ("metric.accuracy > 0.9", &["c", "a"][..]),
        (
            "attributes.status = 'FINISHED' AND params.lr IN ('0.1', '0.01')",
            &["a", "b"],
        ),
        (
            "tags.`mlflow.runName` LIKE '_' AND param.depth != '9'",
            &["c", "a"],
        ),
        ("attributes.run_name ILIKE 'C' OR note IS NOT NULL", &["c"]),
    ] {
        let out = env.run(&[
            "run", "list", "--where", filter, "--sort", "accuracy", "--json",
        ]);
        assert_eq!(out.code, 0, "{filter}: {}", out.stderr);
        assert!(!out.stderr.contains("warning"), "{filter}: {}", out.stderr);
        let found: Vec<String> = serde_json::from_str::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(found, expected, "{filter}");
    }
    let out = env.run(&["run", "list", "--where", "attributes.stauts = 'FAILED'"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `attributes.status`?") && out.stderr.contains("^"),
        "{}",
        out.stderr
    );
}

/// Times and inputs of `run log` in plain words: `--start` takes the forms
/// `--at` takes; a time before the history says so (no `--rev` hint); `show
/// --at` names the commit it shows; a missing file is "no such file"; a key
/// given twice is refused.
#[test]
fn times_and_run_inputs_speak_plainly() {
    let env = TestEnv::with_registry();
    let run = env.json(&["run", "log", "e", "--start", "yesterday", "--metric", "a=1"]);
    assert_eq!(run["start_time"], "2026-01-01T00:00:00Z", "{run}");
    let run = env.json(&[
        "run",
        "log",
        "e",
        "--start",
        "3 hours ago",
        "--metric",
        "a=1",
    ]);
    assert_eq!(run["start_time"], "2026-01-02T00:04:05Z", "{run}");

    let out = env.run_err(2, &["show", "--at", "2001-01-01"]);
    assert!(
        out.stderr
            .contains("has no commit at or before 2001-01-01T00:00:00Z")
            && out.stderr.contains("give a time at or after")
            && !out.stderr.contains("HEAD~2"),
        "{}",
        out.stderr
    );
    let out = env.run(&["show", "--at", "2030-01-01"]);
    assert!(
        out.stderr
            .contains("The registry as of 2030-01-01T00:00:00Z: commit "),
        "{}",
        out.stderr
    );

    let before = env.state();
    let out = env.run_err(2, &["run", "log", "e", "--metrics-file", "nope.json"]);
    assert!(
        out.stderr.contains("nope.json: no such file"),
        "{}",
        out.stderr
    );
    let out = env.run_err(2, &["run", "log", "e", "--params-file", "nope.yaml"]);
    assert!(
        out.stderr.contains("nope.yaml: no such file"),
        "{}",
        out.stderr
    );
    for (flag, a, b) in [("--metric", "a=1", "a=2"), ("--param", "p=x", "p=y")] {
        let out = env.run_err(2, &["run", "log", "e", flag, a, flag, b]);
        assert!(out.stderr.contains("is given twice"), "{}", out.stderr);
    }
    assert_eq!(env.state(), before, "nothing written");
}

/// Mistyped experiments and runs get the likely name too (exit 1).
#[test]
fn mistyped_experiments_and_runs_get_did_you_mean() {
    let env = TestEnv::with_registry();
    env.run_ok(&[
        "run",
        "log",
        "churn-exp",
        "--name",
        "baseline",
        "--metric",
        "a=1",
    ]);
    let out = env.run_err(1, &["run", "list", "churn-xp"]);
    assert!(
        out.stderr.contains("no experiment named churn-xp")
            && out.stderr.contains("did you mean `churn-exp`?"),
        "{}",
        out.stderr
    );
    let out = env.run_err(1, &["run", "show", "churn-xp/baseline"]);
    assert!(
        out.stderr.contains("did you mean `churn-exp`?"),
        "{}",
        out.stderr
    );
    let out = env.run_err(1, &["run", "show", "churn-exp/baselin"]);
    assert!(
        out.stderr.contains("did you mean `baseline`?"),
        "{}",
        out.stderr
    );
}

/// A history step given twice and an artifact given twice are refused,
/// before anything is uploaded or written.
#[test]
fn repeated_steps_and_artifacts_are_refused() {
    let env = TestEnv::with_registry();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n- name: staging\nartifacts:\n  root: .store\n",
    );
    env.commit_all("a store");
    env.write(
        "h.json",
        r#"{"loss": [{"step": 1, "value": 0.5}, {"step": 1, "value": 0.4}]}"#,
    );
    env.write("model.pkl", "weights");
    let before = env.state();
    let out = env.run_err(2, &["run", "log", "e", "--metrics-file", "h.json"]);
    assert!(
        out.stderr.contains("metric `loss` has step 1 twice"),
        "{}",
        out.stderr
    );
    let out = env.run_err(
        2,
        &[
            "run",
            "log",
            "e",
            "--artifact",
            "model.pkl",
            "--artifact",
            "model.pkl",
        ],
    );
    assert!(
        out.stderr.contains("--artifact model.pkl is given twice"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before, "nothing written");
    assert!(!env.repo.join(".store").exists(), "nothing uploaded");
}
