//! `regent run log | list | show | compare` against real repositories.

use crate::common::TestEnv;
use serde_json::json;

/// Logs three runs with different params and metrics.
fn three_runs(env: &TestEnv) {
    env.run_ok(&[
        "run",
        "log",
        "churn",
        "--name",
        "a",
        "--param",
        "optimizer=adam",
        "--param",
        "lr=0.01",
        "--metric",
        "accuracy=0.91",
        "--metric",
        "loss=0.30",
    ]);
    env.run_ok(&[
        "run",
        "log",
        "churn",
        "--name",
        "b",
        "--param",
        "optimizer=sgd",
        "--param",
        "lr=0.1",
        "--metric",
        "accuracy=0.87",
        "--metric",
        "loss=0.41",
    ]);
    env.run_ok(&[
        "run",
        "log",
        "churn",
        "--name",
        "c",
        "--param",
        "optimizer=adam",
        "--param",
        "lr=0.001",
        "--metric",
        "accuracy=0.95",
        "--metric",
        "loss=0.22",
    ]);
}

/// run log writes the run file in one commit with its trailers, capturing the source.
#[test]
fn run_log_commits_one_run_with_source_captured() {
    let env = TestEnv::with_registry();
    let code_commit = env.head();
    env.git(&[
        "remote",
        "add",
        "origin",
        "https://x-access-token:SECRET@github.com/acme/ml.git",
    ]);
    let out = env.run_ok(&[
        "run",
        "log",
        "churn",
        "--name",
        "r1",
        "--param",
        "lr=0.01",
        "--metric",
        "acc=0.9",
        "--tag",
        "team=growth",
        "--note",
        "first try",
    ]);
    assert_eq!(out, "churn/r1\n");
    assert_eq!(env.commit_count(), 2);
    let log = env.git(&["log", "-1", "--format=%s%n%(trailers)"]);
    assert_eq!(
        log,
        "log run churn/r1\nRegent-Event: run\nRegent-Experiment: churn\nRegent-Run: r1\nRegent-Actor: tester\n\n"
    );
    let changed = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(changed, "experiments/churn/82/r1.yaml\n");
    let run = env.json(&["run", "show", "churn/r1"]);
    assert_eq!(run["id"], "churn/r1");
    assert_eq!(run["status"], "finished");
    assert_eq!(run["user"], "tester");
    assert_eq!(run["params"], json!({"lr": "0.01"}));
    assert_eq!(run["metrics"], json!({"acc": 0.9}));
    assert_eq!(run["tags"], json!({"team": "growth"}));
    assert_eq!(run["note"], "first try");
    assert_eq!(run["start_time"], "2026-01-02T03:04:05Z");
    assert_eq!(run["source"]["commit"], code_commit);
    assert_eq!(run["source"]["branch"], "main");
    // The token in the remote URL never reaches the registry.
    assert_eq!(run["source"]["remote"], "https://github.com/acme/ml.git");
    assert!(!env.read("experiments/churn/82/r1.yaml").contains("SECRET"));
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// The dirty flag reflects tracked changes outside the registry only.
#[test]
fn run_log_records_a_dirty_tree() {
    let env = TestEnv::with_registry();
    env.write("train.py", "v1\n");
    env.commit_all("code");
    env.run_ok(&["run", "log", "e", "--name", "clean", "--metric", "m=1"]);
    env.write("train.py", "v2\n");
    env.run_ok(&["run", "log", "e", "--name", "dirty", "--metric", "m=1"]);
    assert_eq!(
        env.json(&["run", "show", "e/clean"])["source"].get("dirty"),
        None
    );
    assert_eq!(
        env.json(&["run", "show", "e/dirty"])["source"]["dirty"],
        true
    );
    // The user's edit is untouched.
    assert_eq!(env.read("train.py"), "v2\n");
    // A deletion staged outside the registry is a change too; an edit
    // inside the registry is not.
    env.git(&["checkout", "--", "train.py"]);
    env.write("notes.md", "n\n");
    env.commit_all("notes");
    env.git(&["rm", "-q", "notes.md"]);
    env.run_ok(&["run", "log", "e", "--name", "deleted", "--metric", "m=1"]);
    assert_eq!(
        env.json(&["run", "show", "e/deleted"])["source"]["dirty"],
        true
    );
    env.git(&["reset", "-q", "--hard"]);
    // Files `git reset` wrote in the same second as the index are "racily
    // clean": Git smudges their entries, and libgit2 then reports them as
    // modified. A second later, a refresh records them as clean.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    env.git(&["update-index", "-q", "--refresh"]);
    env.write("models/.gitkeep", "edited\n");
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "registry-edit",
        "--metric",
        "m=1",
    ]);
    assert_eq!(
        env.json(&["run", "show", "e/registry-edit"])["source"].get("dirty"),
        None
    );
}

/// In a registry below the repository's root, the code beside it counts.
#[test]
fn run_log_in_a_subfolder_registry_sees_the_code_beside_it() {
    let env = TestEnv::new();
    env.write("ml/train.py", "v1\n");
    env.write("README.md", "r\n");
    env.commit_all("code");
    let registry = env.repo.join("ml/registry");
    std::fs::create_dir_all(&registry).unwrap();
    let out = env.regent_in(&registry).arg("init").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = |name: &str| {
        let out = env
            .regent_in(&registry)
            .args(["run", "log", "e", "--name", name, "--metric", "m=1"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    let dirty = |name: &str| {
        let out = env
            .regent_in(&registry)
            .args(["run", "show", &format!("e/{name}"), "--json"])
            .output()
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        value["source"].get("dirty").cloned()
    };
    log("clean");
    assert_eq!(dirty("clean"), None);
    env.write("ml/train.py", "v2\n");
    log("beside");
    assert_eq!(dirty("beside"), Some(serde_json::Value::Bool(true)));
}

/// Params and metrics files (JSON and YAML) are flattened with `/`; flags override them.
#[test]
fn run_log_reads_params_and_metrics_files() {
    let env = TestEnv::with_registry();
    env.write(
        "params.yaml",
        "optimizer:\n  name: adam\n  lr: 0.001\nepochs: 10\nlayers: [64, 32]\n",
    );
    env.write("metrics.json", r#"{"val": {"loss": 0.25, "acc": 0.9}, "train_loss": [0.9, 0.5, 0.3], "f1": [{"step": 10, "value": 0.7}, {"step": 20, "value": 0.8}]}"#);
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--params-file",
        "params.yaml",
        "--metrics-file",
        "metrics.json",
        "--param",
        "epochs=12",
    ]);
    let run = env.json(&["run", "show", "e/r"]);
    assert_eq!(
        run["params"],
        json!({"optimizer/name": "adam", "optimizer/lr": "0.001", "epochs": "12", "layers": "[64,32]"})
    );
    assert_eq!(
        run["metrics"],
        json!({"val/loss": 0.25, "val/acc": 0.9, "train_loss": 0.3, "f1": 0.8})
    );
    assert_eq!(
        run["history"]["train_loss"],
        json!([{"step": 0, "value": 0.9}, {"step": 1, "value": 0.5}, {"step": 2, "value": 0.3}])
    );
    assert_eq!(run["history"]["f1"][1], json!({"step": 20, "value": 0.8}));
}

/// Local artifacts are hashed (sha256) and sized; URIs are kept as given.
#[test]
fn run_log_hashes_local_artifacts_and_keeps_uris() {
    let env = TestEnv::with_registry();
    env.write("model.bin", "abc");
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--keep-local",
        "--artifact",
        "model.bin",
        "--artifact",
        "s3://bucket/models/m.pkl",
    ]);
    let run = env.json(&["run", "show", "e/r"]);
    assert_eq!(
        run["artifacts"],
        json!([
            {"path": "model.bin", "digest": "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "size": 3},
            {"uri": "s3://bucket/models/m.pkl"}
        ])
    );
}

/// A large artifact is hashed by streaming: with the address space capped
/// far below the file's size, reading it whole would fail; streaming does not.
#[test]
fn run_log_streams_large_artifacts() {
    let env = TestEnv::with_registry();
    let size: u64 = 512 * 1024 * 1024;
    let file = std::fs::File::create(env.repo.join("big.bin")).unwrap();
    file.set_len(size).unwrap();
    drop(file);
    let out = env
        .sh("ulimit -v 262144 && \"$REGENT\" run log e --name big --keep-local --artifact big.bin");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = env.json(&["run", "show", "e/big"]);
    assert_eq!(run["artifacts"][0]["size"], size);
    assert_eq!(
        run["artifacts"][0]["digest"],
        format!("sha256:{}", sha256_of_zeros(size))
    );
}

fn sha256_of_zeros(len: u64) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    hex::encode(hasher.finalize())
}

fn ids(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// --sort orders by a metric, highest first; --asc reverses; --limit cuts.
#[test]
fn run_list_sorts_by_metric_and_limits() {
    let env = TestEnv::with_registry();
    three_runs(&env);
    assert_eq!(
        ids(&env.json(&["run", "list", "--sort", "accuracy"])),
        ["churn/c", "churn/a", "churn/b"]
    );
    assert_eq!(
        ids(&env.json(&["run", "list", "--sort", "loss", "--asc"])),
        ["churn/c", "churn/a", "churn/b"]
    );
    assert_eq!(
        ids(&env.json(&["run", "list", "--sort", "accuracy", "--limit", "2"])),
        ["churn/c", "churn/a"]
    );
    // Runs without the metric come last, whatever the direction.
    env.run_ok(&["run", "log", "churn", "--name", "d", "--metric", "other=1"]);
    assert_eq!(
        ids(&env.json(&["run", "list", "--sort", "accuracy", "--asc"]))[3],
        "churn/d"
    );
    assert_eq!(
        ids(&env.json(&["run", "list", "--sort", "accuracy"]))[3],
        "churn/d"
    );
}

/// The human table is aligned and shows the sort metric first.
#[test]
fn run_list_prints_an_aligned_table() {
    let env = TestEnv::with_registry();
    three_runs(&env);
    let out = env.run_ok(&["run", "list", "--sort", "loss", "--asc"]);
    assert_eq!(
        out,
        "RUN      STATUS    STARTED           loss  accuracy\n\
         churn/c  finished  2026-01-02 03:04  0.22      0.95\n\
         churn/a  finished  2026-01-02 03:04   0.3      0.91\n\
         churn/b  finished  2026-01-02 03:04  0.41      0.87\n"
    );
}

/// --where filters with comparisons, and/or/not and parentheses; params compare as numbers.
#[test]
fn run_list_filters_with_where() {
    let env = TestEnv::with_registry();
    three_runs(&env);
    let list = |expr: &str| ids(&env.json(&["run", "list", "--sort", "accuracy", "--where", expr]));
    assert_eq!(
        list(r#"metrics.accuracy > 0.9 and params.optimizer == "adam""#),
        ["churn/c", "churn/a"]
    );
    assert_eq!(list("params.lr < 0.05"), ["churn/c", "churn/a"]);
    assert_eq!(
        list("not (params.optimizer == 'adam') or metrics.loss <= 0.22"),
        ["churn/c", "churn/b"]
    );
    assert_eq!(list("name =~ 'b'"), ["churn/b"]);
    assert!(list("metrics.missing > 0").is_empty());
}

/// A bad --where expression is a usage error that points at the column.
#[test]
fn run_list_reports_bad_expressions_with_a_column() {
    let env = TestEnv::with_registry();
    three_runs(&env);
    let out = env.run_err(2, &["run", "list", "--where", "metrics.accuracy > > 0.9"]);
    assert!(out.stderr.contains("column 20"), "{}", out.stderr);
    assert!(
        out.stderr.contains("metrics.accuracy > > 0.9\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("                   ^"),
        "{}",
        out.stderr
    );
}

/// A field no run has is probably a typo: say so on stderr.
#[test]
fn run_list_warns_about_unknown_fields() {
    let env = TestEnv::with_registry();
    three_runs(&env);
    let out = env.run(&["run", "list", "--sort", "acuracy"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("no run has a field `metrics.acuracy`"),
        "{}",
        out.stderr
    );
}

/// Listing is per experiment, or across all of them.
#[test]
fn run_list_by_experiment() {
    let env = TestEnv::with_registry();
    three_runs(&env);
    env.run_ok(&[
        "run",
        "log",
        "fraud",
        "--name",
        "x",
        "--metric",
        "accuracy=0.5",
    ]);
    assert_eq!(ids(&env.json(&["run", "list", "fraud"])), ["fraud/x"]);
    assert_eq!(env.json(&["run", "list"]).as_array().unwrap().len(), 4);
    // An experiment that does not exist is a "no", not an empty list.
    let out = env.run_err(1, &["run", "list", "nothing", "--json"]);
    assert!(
        out.stderr.contains("no experiment named nothing"),
        "{}",
        out.stderr
    );
}

/// Without --name, names are generated: unique, valid, and sorted by time.
#[test]
fn run_log_generates_unique_sortable_names() {
    let env = TestEnv::with_registry();
    let mut names = Vec::new();
    for (i, now) in [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:06Z",
    ]
    .iter()
    .enumerate()
    {
        let out = env
            .regent()
            .env("REGENT_NOW", now)
            .args(["run", "log", "e", "--metric", &format!("m={i}")])
            .output()
            .unwrap();
        assert!(out.status.success());
        names.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    assert!(names[0].starts_with("e/20260102-030405-"), "{names:?}");
    assert_ne!(names[0], names[1]);
    assert!(names[2] > names[0] && names[2] > names[1], "{names:?}");
    assert_eq!(env.json(&["run", "list"]).as_array().unwrap().len(), 3);
}

/// A run is never overwritten: an existing name is a "no".
#[test]
fn run_log_refuses_an_existing_name() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "log", "e", "--name", "r", "--metric", "m=1"]);
    let before = env.state();
    let out = env.run_err(1, &["run", "log", "e", "--name", "r", "--metric", "m=2"]);
    assert!(
        out.stderr.contains("run e/r already exists"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
}

/// --no-commit writes the file only; it is not in HEAD until committed.
#[test]
fn run_log_no_commit_only_writes_the_file() {
    let env = TestEnv::with_registry();
    let head = env.head();
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "draft",
        "--metric",
        "m=1",
        "--no-commit",
    ]);
    assert_eq!(env.head(), head);
    assert!(
        env.read("experiments/e/77/draft.yaml")
            .contains("name: draft")
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "?? experiments/e/\n");
    // The working tree validates; the read commands read HEAD.
    env.run_ok(&["validate"]);
    assert_eq!(env.json(&["run", "list"]), json!([]));
    // And the name is taken.
    env.run_err(
        1,
        &["run", "log", "e", "--name", "draft", "--metric", "m=1"],
    );
}

/// --status running leaves the end time open; --start/--end set them.
#[test]
fn run_log_status_and_times() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "log", "e", "--name", "live", "--status", "running"]);
    let run = env.json(&["run", "show", "e/live"]);
    assert_eq!(run["status"], "running");
    assert_eq!(run.get("end_time"), None);
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "past",
        "--start",
        "2025-05-01T10:00:00Z",
        "--end",
        "2025-05-01T11:30:00Z",
        "--status",
        "failed",
    ]);
    let run = env.json(&["run", "show", "e/past"]);
    assert_eq!(
        (run["start_time"].as_str(), run["end_time"].as_str()),
        (Some("2025-05-01T10:00:00Z"), Some("2025-05-01T11:30:00Z"))
    );
    env.run_err(2, &["run", "log", "e", "--status", "done"]);
}

/// Lock files of the repository are recorded by digest.
#[test]
fn run_log_records_lock_file_digests() {
    let env = TestEnv::with_registry();
    env.write("uv.lock", "abc");
    env.run_ok(&["run", "log", "e", "--name", "r"]);
    let run = env.json(&["run", "show", "e/r"]);
    assert_eq!(
        run["environment"]["lockfiles"]["uv.lock"],
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

/// run show prints params, metrics and artifacts for people.
#[test]
fn run_show_for_people() {
    let env = TestEnv::with_registry();
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--param",
        "lr=0.1",
        "--metric",
        "acc=0.9",
        "--artifact",
        "s3://b/k",
    ]);
    let out = env.run_ok(&["run", "show", "e/r"]);
    assert!(
        out.starts_with("run e/r\nstatus:  finished\nuser:    tester\n"),
        "{out}"
    );
    assert!(out.contains("PARAMS  VALUE\nlr      0.1\n"), "{out}");
    assert!(out.contains("METRICS  VALUE\nacc      0.9\n"), "{out}");
    assert!(out.contains("s3://b/k   not verified"), "{out}");
    let out = env.run_err(1, &["run", "show", "e/nope"]);
    assert!(out.stderr.contains("no run e/nope"), "{}", out.stderr);
    env.run_err(2, &["run", "show", "no-slash"]);
}

/// compare puts runs side by side and marks what differs.
#[test]
fn run_compare_marks_differences() {
    let env = TestEnv::with_registry();
    three_runs(&env);
    let value = env.json(&["run", "compare", "churn/a", "churn/c"]);
    assert_eq!(value["runs"], json!(["churn/a", "churn/c"]));
    let rows = value["rows"].as_array().unwrap();
    let row = |key: &str| rows.iter().find(|r| r["key"] == key).unwrap().clone();
    assert_eq!(
        row("optimizer"),
        json!({"kind": "param", "key": "optimizer", "values": ["adam", "adam"], "differs": false})
    );
    assert_eq!(row("lr")["differs"], true);
    assert_eq!(
        row("accuracy"),
        json!({"kind": "metric", "key": "accuracy", "values": [0.91, 0.95], "differs": true})
    );
    let out = env.run_ok(&["run", "compare", "churn/a", "churn/b", "churn/c"]);
    assert_eq!(
        out,
        "   KEY               churn/a  churn/b  churn/c\n\
         *  params.lr            0.01      0.1    0.001\n\
         *  params.optimizer     adam      sgd     adam\n\
         *  metrics.accuracy     0.91     0.87     0.95\n\
         *  metrics.loss          0.3     0.41     0.22\n"
    );
    env.run_err(2, &["run", "compare", "churn/a"]);
}

/// Read commands take --rev: the runs as they were at an older commit.
#[test]
fn run_list_at_an_older_revision() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "log", "e", "--name", "one", "--metric", "m=1"]);
    let first = env.head();
    env.run_ok(&["run", "log", "e", "--name", "two", "--metric", "m=2"]);
    assert_eq!(ids(&env.json(&["run", "list", "--rev", &first])), ["e/one"]);
    assert_eq!(
        env.json(&["run", "list", "--rev", "HEAD"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    env.run_err(2, &["run", "list", "--rev", "no-such-branch"]);
}

/// `run list` keeps no run's history in memory, yet `--json` still prints
/// every run whole: each run with a history is read again as it is printed,
/// from the file it was listed from, and equals what `run show` prints.
#[test]
fn run_list_json_prints_histories_read_again() {
    let env = TestEnv::with_registry();
    env.write(
        "metrics.json",
        r#"{"loss": [0.9, 0.5, 0.3], "acc": [{"step": 10, "value": 0.7}, {"step": 20, "value": 0.8}]}"#,
    );
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "long",
        "--metrics-file",
        "metrics.json",
    ]);
    env.run_ok(&["run", "log", "e", "--name", "short", "--metric", "loss=0.4"]);
    let listed = env.json(&["run", "list", "e", "--sort", "loss", "--asc"]);
    assert_eq!(ids(&listed), ["e/long", "e/short"]);
    assert_eq!(listed[0], env.json(&["run", "show", "e/long"]));
    assert_eq!(listed[1], env.json(&["run", "show", "e/short"]));
    assert_eq!(
        listed[0]["history"]["loss"][2],
        json!({"step": 2, "value": 0.3})
    );
    assert!(listed[1].get("history").is_none(), "{}", listed[1]);
    // The human table is the same with or without histories.
    let table = env.run_ok(&["run", "list", "e", "--sort", "loss", "--asc"]);
    assert!(
        table.lines().nth(1).unwrap().starts_with("e/long"),
        "{table}"
    );
}
