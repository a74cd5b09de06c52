//! `run log --batch FILE.jsonl|-`: a sweep's runs in one commit; a bad line
//! refuses the whole batch.

use crate::common::{TestEnv, run_file};
use serde_json::Value;

fn show(env: &TestEnv, id: &str) -> Value {
    serde_json::from_str(&env.run_ok(&["run", "show", id, "--json"])).unwrap()
}

#[test]
fn a_batch_records_every_line_as_a_run_in_one_commit() {
    let env = TestEnv::with_registry();
    let before = env.commit_count();
    env.write(
        "sweep.jsonl",
        concat!(
            r#"{"experiment": "sweep", "name": "a", "params": {"lr": 0.1, "opt": {"name": "adam"}}, "metrics": {"acc": 0.9, "loss": [0.5, 0.25]}}"#,
            "\n\n",
            r#"{"experiment": "sweep", "tags": {"k": "v"}, "status": "failed", "note": "diverged", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}"#,
            "\n",
            r#"{"experiment": "other", "name": "c", "artifacts": ["s3://bucket/model.pkl"]}"#,
            "\n",
        ),
    );
    env.commit_all("the sweep's lines");
    let out: Value =
        serde_json::from_str(&env.run_ok(&["run", "log", "--batch", "sweep.jsonl", "--json"]))
            .unwrap();
    let ids: Vec<&str> = out["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], "sweep/a");
    assert!(ids[1].starts_with("sweep/2026"), "{ids:?}");
    assert_eq!(ids[2], "other/c");
    assert_eq!(env.commit_count(), before + 2);
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    let a = show(&env, "sweep/a");
    assert_eq!(a["params"]["lr"], "0.1");
    assert_eq!(a["params"]["opt/name"], "adam");
    assert_eq!(a["metrics"]["loss"], 0.25);
    assert_eq!(a["history"]["loss"].as_array().unwrap().len(), 2);
    let b = show(&env, ids[1]);
    assert_eq!(b["status"], "failed");
    assert_eq!(b["start_time"], "2026-01-01T00:00:00Z");
    assert_eq!(b["end_time"], "2026-01-01T01:00:00Z");
    assert_eq!(b["tags"]["k"], "v");
    assert_eq!(
        show(&env, "other/c")["artifacts"][0]["uri"],
        "s3://bucket/model.pkl"
    );

    // One commit, three run events, each made by regent.
    let history: Value = serde_json::from_str(&env.run_ok(&["history", "--json"])).unwrap();
    let runs: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "run")
        .collect();
    assert_eq!(runs.len(), 3, "{history}");
    assert!(
        runs.iter()
            .all(|e| e["via"] == "regent" && e["commit"] == out["commit"])
    );
    env.run_ok(&["validate"]);

    // Standard input, and names taken by then; empty objects are nothing.
    let mut cmd = env.regent();
    cmd.args(["run", "log", "--batch", "-"]).write_stdin(
        "{\"experiment\": \"sweep\", \"name\": \"d\", \"params\": {}, \"metrics\": {}, \"tags\": {}}\n",
    );
    cmd.assert().success();
    assert!(env.read(&run_file("sweep", "d")).contains("name: d"));
}

#[test]
fn a_bad_line_refuses_the_whole_batch_naming_it() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "log", "sweep", "--name", "taken"]);
    let good = r#"{"experiment": "sweep", "metrics": {"acc": 0.5}}"#;
    let cases: [(&str, i32, &str); 10] = [
        (
            r#"{"experiment": "sweep", "metrics": {"acc": "high"}}"#,
            2,
            "batch.jsonl:2: metrics: metric `acc` is the text \"high\"",
        ),
        (
            r#"{"experiment": "sweep", "bogus": 1}"#,
            2,
            "batch.jsonl:2: unknown key `bogus`",
        ),
        (
            r#"{"experiment": "sweep", "name": "a", "name": "b"}"#,
            2,
            "batch.jsonl:2: column",
        ),
        (
            r#"{"experiment": "sweep""#,
            2,
            "batch.jsonl:2: column 22: invalid JSON",
        ),
        (
            r#"{"name": "x"}"#,
            2,
            "batch.jsonl:2: `experiment` is required",
        ),
        (
            r#"{"experiment": "a b"}"#,
            2,
            "batch.jsonl:2: invalid experiment name",
        ),
        (
            r#"{"experiment": "sweep", "status": "done"}"#,
            2,
            "batch.jsonl:2: status \"done\"",
        ),
        (
            r#"{"experiment": "sweep", "start": "yesterday"}"#,
            2,
            "batch.jsonl:2: `start` \"yesterday\"",
        ),
        (
            r#"[1, 2]"#,
            2,
            "batch.jsonl:2: a batch line is a JSON object",
        ),
        (
            r#"{"experiment": "sweep", "name": "taken"}"#,
            1,
            "batch.jsonl:2: run sweep/taken already exists",
        ),
    ];
    for (bad, code, expected) in cases {
        std::fs::write(
            env.root.join("batch.jsonl"),
            format!("{good}\n{bad}\n{good}\n"),
        )
        .unwrap();
        let state = env.state();
        let batch = env.root.join("batch.jsonl");
        let out = env.run_err(code, &["run", "log", "--batch", batch.to_str().unwrap()]);
        assert!(
            out.stderr.contains(expected),
            "{bad}: expected {expected:?} in {out:?}"
        );
        assert_eq!(env.state(), state, "{bad}");
    }
    std::fs::write(
        env.root.join("batch.jsonl"),
        format!(
            "{}\n{}\n",
            r#"{"experiment": "e", "name": "x"}"#, r#"{"experiment": "e", "name": "x"}"#
        ),
    )
    .unwrap();
    let batch = env.root.join("batch.jsonl");
    let out = env.run_err(2, &["run", "log", "--batch", batch.to_str().unwrap()]);
    assert!(
        out.stderr.contains("batch.jsonl:2: run e/x is named twice"),
        "{out:?}"
    );
    std::fs::write(env.root.join("batch.jsonl"), "\n\n").unwrap();
    let out = env.run_err(2, &["run", "log", "--batch", batch.to_str().unwrap()]);
    assert!(out.stderr.contains("no runs in the batch"), "{out:?}");
}

/// `run capture` when training begins, one `--batch -` line at the end: the
/// run records the code as it was at the start, not as it is at the end.
#[test]
fn a_line_records_the_source_and_environment_captured_when_training_began() {
    let env = TestEnv::with_registry();
    env.write("requirements.txt", "numpy==2.0\n");
    env.write("train.py", "print('v1')\n");
    env.commit_all("the code that trains");
    let code_commit = env.head();
    let state = env.state();
    let captured = env
        .regent()
        .args(["run", "capture", "churn", "--json"])
        .env("REGENT_NOW", "2026-01-01T00:00:00Z")
        .output()
        .unwrap();
    assert!(captured.status.success(), "{captured:?}");
    let captured: Value = serde_json::from_slice(&captured.stdout).unwrap();
    // Nothing recorded yet.
    assert_eq!(env.state(), state);
    assert_eq!(captured["experiment"], "churn");
    assert_eq!(captured["start"], "2026-01-01T00:00:00Z");
    assert_eq!(captured["source"]["commit"], code_commit.as_str());
    assert_eq!(captured["source"]["branch"], "main");
    assert!(captured["source"].get("dirty").is_none(), "{captured}");
    let requirements = captured["environment"]["lockfiles"]["requirements.txt"].clone();
    assert!(requirements.as_str().unwrap().starts_with("sha256:"));
    let name = captured["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("20260101-000000-"), "{name}");

    // Training: the code and its lock file change and are committed, and
    // the working tree is dirty when the run is logged.
    env.write("requirements.txt", "numpy==2.1\n");
    env.write("train.py", "print('v2')\n");
    env.commit_all("change the code while it trains");
    env.write("train.py", "print('v3')\n");

    let mut line = captured.clone();
    line["metrics"] = serde_json::json!({"loss": [0.5, 0.25]});
    line["status"] = "failed".into();
    let mut cmd = env.regent();
    cmd.args(["run", "log", "--batch", "-", "--json"])
        .write_stdin(format!("{line}\n"));
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let logged: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = format!("churn/{name}");
    assert_eq!(logged["runs"], serde_json::json!([id]));
    let run = show(&env, &id);
    assert_eq!(run["source"]["commit"], code_commit.as_str());
    assert!(run["source"].get("dirty").is_none(), "{run}");
    assert_eq!(run["start_time"], "2026-01-01T00:00:00Z");
    assert_eq!(run["end_time"], "2026-01-02T03:04:05Z");
    assert_eq!(run["status"], "failed");
    assert_eq!(
        run["environment"]["lockfiles"]["requirements.txt"],
        requirements
    );
    // What the batch would have captured itself differs, so the test sees
    // the captured values, not the batch's own.
    let now: Value =
        serde_json::from_str(&env.run_ok(&["run", "capture", "churn", "--json"])).unwrap();
    assert_ne!(now["source"]["commit"], code_commit.as_str());
    assert_eq!(now["source"]["dirty"], true);
    assert_ne!(
        now["environment"]["lockfiles"]["requirements.txt"],
        requirements
    );
    env.run_ok(&["validate"]);

    // A name is checked when captured: a taken one is refused before training.
    let out = env.run_err(1, &["run", "capture", "churn", "--name", &name]);
    assert!(out.stderr.contains("already exists"), "{out:?}");
    let out = env.run_err(2, &["run", "capture", "churn", "--name", "a b"]);
    assert!(out.stderr.contains("invalid run name"), "{out:?}");
    let named: Value =
        serde_json::from_str(&env.run_ok(&["run", "capture", "churn", "--name", "r2", "--json"]))
            .unwrap();
    assert_eq!(named["name"], "r2");
}

#[test]
fn a_bad_source_or_environment_refuses_the_batch() {
    let env = TestEnv::with_registry();
    let unknown_commit = "a".repeat(40);
    let cases = [
        (
            format!(r#"{{"experiment": "e", "source": {{"commit": "{unknown_commit}"}}}}"#),
            format!("`source.commit` {unknown_commit} is not a commit of this repository"),
        ),
        (
            r#"{"experiment": "e", "source": {"commit": "HEAD"}}"#.to_owned(),
            "`source.commit` \"HEAD\" is not a full commit id".to_owned(),
        ),
        (
            r#"{"experiment": "e", "source": {"sha": "x"}}"#.to_owned(),
            "unknown key `source.sha`".to_owned(),
        ),
        (
            r#"{"experiment": "e", "source": {"dirty": "yes"}}"#.to_owned(),
            "`source.dirty` must be true or false".to_owned(),
        ),
        (
            r#"{"experiment": "e", "source": "main"}"#.to_owned(),
            "`source` must be an object".to_owned(),
        ),
        (
            r#"{"experiment": "e", "environment": {"lockfiles": {"uv.lock": "md5:0"}}}"#.to_owned(),
            "`environment.lockfiles.uv.lock` must be a digest".to_owned(),
        ),
        (
            r#"{"experiment": "e", "environment": {"python": "3.11"}}"#.to_owned(),
            "unknown key `environment.python`".to_owned(),
        ),
    ];
    for (bad, expected) in cases {
        let state = env.state();
        let mut cmd = env.regent();
        cmd.args(["run", "log", "--batch", "-"])
            .write_stdin(format!("{{\"experiment\": \"e\"}}\n{bad}\n"));
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains(&format!("<stdin>:2: {expected}")),
            "{bad}: expected {expected:?} in {stderr}"
        );
        assert_eq!(env.state(), state, "{bad}");
    }
}

/// `{"path", "name"}` records an artifact under a name other than its base
/// name (a script's `outputs/` folder as `model`); names must still differ.
#[test]
fn a_line_names_its_artifacts() {
    let env = TestEnv::with_registry();
    let store = env.root.join("store");
    env.write("out/a/model.pkl", "first");
    env.write("out/b/model.pkl", "second");
    env.write("out/folder/weights.bin", "w");
    let log = |line: &str, code: i32| {
        let mut cmd = env.regent();
        cmd.args(["run", "log", "--batch", "-"])
            .env("REGENT_ARTIFACT_ROOT", &store)
            .write_stdin(format!("{line}\n"));
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    log(
        r#"{"experiment": "e", "name": "r", "artifacts": [{"path": "out/a/model.pkl", "name": "first.pkl"}, "out/b/model.pkl", {"path": "out/folder", "name": "model"}, {"path": "s3://bucket/x", "name": "remote"}]}"#,
        0,
    );
    let run = show(&env, "e/r");
    let names: Vec<&str> = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["first.pkl", "model.pkl", "model", "remote"],
        "{run}"
    );
    assert_eq!(run["artifacts"][2]["kind"], "folder");
    assert_eq!(run["artifacts"][3]["uri"], "s3://bucket/x");
    // Found by the name given: the file, and a file inside the named folder.
    let dest = env.root.join("got");
    env.run_ok(&["artifact", "get", "e/r:first.pkl", dest.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "first");
    let inner = env.root.join("inner");
    env.run_ok(&[
        "artifact",
        "get",
        "e/r:model/weights.bin",
        inner.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&inner).unwrap(), "w");

    let state = env.state();
    for (line, expected) in [
        (
            r#"{"experiment": "e", "artifacts": [{"path": "out/a/model.pkl", "name": "m"}, {"path": "out/b/model.pkl", "name": "m"}]}"#,
            "artifacts out/a/model.pkl and out/b/model.pkl are both named \"m\"",
        ),
        (
            r#"{"experiment": "e", "artifacts": [{"path": "out/a/model.pkl", "name": "model.pkl"}, "out/b/model.pkl"]}"#,
            "are both named \"model.pkl\"",
        ),
        (
            r#"{"experiment": "e", "artifacts": [{"path": "out/a/model.pkl", "name": "a/b"}]}"#,
            "the name \"a/b\" is not a file name",
        ),
        (
            r#"{"experiment": "e", "artifacts": [{"path": "out/a/model.pkl", "name": ".."}]}"#,
            "the name \"..\" is not a file name",
        ),
        (
            r#"{"experiment": "e", "artifacts": [{"name": "x"}]}"#,
            "must be a path or URI string, or {\"path\": PATH_OR_URI, \"name\": NAME}",
        ),
    ] {
        let stderr = log(line, 2);
        assert!(stderr.contains(expected), "{line}: {stderr}");
        assert_eq!(env.state(), state, "{line}");
    }
    let mut cmd = env.regent();
    cmd.args(["run", "log", "--batch", "-", "--keep-local"])
        .write_stdin(
            r#"{"experiment": "e", "artifacts": [{"path": "out/a/model.pkl", "name": "m"}]}"#,
        );
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("an artifact kept local is recorded by its path"),
        "{out:?}"
    );
    assert_eq!(env.state(), state);
}
