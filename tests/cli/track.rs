//! `run start | update | end`: a run recorded while it trains, one commit per step.

use crate::common::{TestEnv, run_file};
use serde_json::Value;

fn show(env: &TestEnv, id: &str) -> Value {
    serde_json::from_str(&env.run_ok(&["run", "show", id, "--json"])).unwrap()
}

#[test]
fn a_run_starts_is_updated_and_ends_one_commit_each() {
    let env = TestEnv::with_registry();
    let code_commit = env.head();
    let before = env.commit_count();
    let id = env.run_ok(&["run", "start", "churn", "--name", "r1", "--param", "lr=0.1"]);
    assert_eq!(id.trim(), "churn/r1");
    assert_eq!(env.commit_count(), before + 1);
    let started = show(&env, "churn/r1");
    assert_eq!(started["status"], "running");
    assert!(started.get("end_time").is_none(), "{started}");
    assert_eq!(started["source"]["commit"], code_commit.as_str());
    assert_eq!(started["params"]["lr"], "0.1");

    // Code changes while it trains: the source stays the commit it started from.
    env.write("train.py", "print('v2')\n");
    env.commit_all("change the code");
    for (step, loss) in [(1, "0.5"), (2, "0.25")] {
        env.run_ok(&[
            "run",
            "update",
            "churn/r1",
            "--metric",
            &format!("loss={loss}"),
            "--step",
            &step.to_string(),
            "--tag",
            &format!("phase=p{step}"),
        ]);
    }
    env.run_ok(&[
        "run",
        "end",
        "churn/r1",
        "--metric",
        "accuracy=0.93",
        "--note",
        "converged",
    ]);
    assert_eq!(env.commit_count(), before + 5);
    let ended = show(&env, "churn/r1");
    assert_eq!(ended["status"], "finished");
    assert!(ended["end_time"].is_string());
    assert_eq!(ended["source"]["commit"], code_commit.as_str());
    assert_eq!(ended["metrics"]["loss"], 0.25);
    assert_eq!(ended["metrics"]["accuracy"], 0.93);
    let steps: Vec<u64> = ended["history"]["loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [1, 2]);
    assert_eq!(ended["tags"]["phase"], "p2");
    assert_eq!(ended["note"], "converged");
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    // The audit shows each step, made by regent.
    let history: Value = serde_json::from_str(&env.run_ok(&["history", "--json"])).unwrap();
    let of_run: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["run"] == "r1")
        .collect();
    let kinds: Vec<&str> = of_run
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["run", "edit", "edit", "edit"], "{history}");
    assert!(of_run.iter().all(|e| e["via"] == "regent"), "{history}");
    let subject = env.git(&["log", "-1", "--format=%s"]);
    assert_eq!(subject.trim(), "end run churn/r1 (finished)");
    env.run_ok(&["validate"]);
}

#[test]
fn an_ended_run_is_immutable_and_params_are_set_once() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "start", "e", "--name", "r", "--param", "lr=0.1"]);
    let state = env.state();
    let out = env.run_err(1, &["run", "update", "e/r", "--param", "lr=0.2"]);
    assert!(
        out.stderr
            .contains("param lr of run e/r is already \"0.1\""),
        "{out:?}"
    );
    assert_eq!(env.state(), state);
    // The same value again (a resumed script) is fine.
    env.run_ok(&[
        "run", "update", "e/r", "--param", "lr=0.1", "--param", "wd=0",
    ]);
    env.run_ok(&["run", "end", "e/r", "--status", "failed"]);
    assert_eq!(show(&env, "e/r")["status"], "failed");
    let state = env.state();
    for args in [
        &["run", "update", "e/r", "--metric", "x=1"][..],
        &["run", "end", "e/r"][..],
    ] {
        let out = env.run_err(1, args);
        assert!(
            out.stderr
                .contains("run e/r has ended (failed); an ended run is immutable"),
            "{out:?}"
        );
        assert_eq!(env.state(), state, "{args:?}");
    }
    // A run logged in one go is ended too.
    env.run_ok(&["run", "log", "e", "--name", "once", "--metric", "x=1"]);
    env.run_err(1, &["run", "update", "e/once", "--metric", "x=2"]);
}

#[test]
fn bad_updates_are_refused_and_change_nothing() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "start", "e", "--name", "r"]);
    let state = env.state();
    let out = env.run_err(1, &["run", "update", "e/nope", "--metric", "x=1"]);
    assert!(out.stderr.contains("no run e/nope"), "{out:?}");
    let out = env.run_err(2, &["run", "end", "e/r", "--status", "running"]);
    assert!(out.stderr.contains("does not end a run"), "{out:?}");
    let out = env.run_err(2, &["run", "update", "e/r", "--metric", "x=nan"]);
    assert!(out.stderr.contains("x"), "{out:?}");
    env.run_err(2, &["run", "update", "no-slash", "--metric", "x=1"]);
    env.run_err(1, &["run", "start", "e", "--name", "r"]);
    assert_eq!(env.state(), state);
    assert!(env.read(&run_file("e", "r")).contains("status: running"));
}
