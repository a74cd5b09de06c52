//! `regent import` on stores made by the real tools: MLflow (from the test
//! venv, `.ci/requirements.txt`) writes a file store, a SQLite store and
//! serves a tracking server; GTO tags a real repository. The tests import
//! them and compare field by field through `run show --json`, `show --json`
//! and `history --json`.

mod bad_source;
mod gto;
mod mlflow;
mod policy;

use crate::common::{Outcome, TestEnv, python};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The test venv's `bin/` (python, mlflow, gto).
fn venv_bin() -> PathBuf {
    python()
        .parent()
        .expect("the venv's bin folder")
        .to_path_buf()
}

/// PATH with the venv first, so `gto` and `mlflow` are the pinned ones.
fn path_with_venv() -> std::ffi::OsString {
    let mut paths = vec![venv_bin()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).expect("a PATH")
}

/// A command with the test environment, the venv on PATH, run in `dir`.
fn tool(env: &TestEnv, program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for (key, value) in env.env_vars() {
        cmd.env(key, value);
    }
    cmd.env("PATH", path_with_venv())
        .env("MLFLOW_ALLOW_FILE_STORE", "true")
        .env("PYTHONWARNINGS", "ignore")
        .current_dir(dir);
    cmd
}

fn run(cmd: &mut Command) -> Outcome {
    let out = cmd.output().expect("the command starts");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn checked(what: &str, outcome: Outcome) -> String {
    assert_eq!(
        outcome.code, 0,
        "{what} failed: {}\n{}",
        outcome.stderr, outcome.stdout
    );
    outcome.stdout
}

/// Runs tests/cli/import/make_mlflow.py with MLflow against `uri`, in
/// `dir` (where a SQLite store's artifacts go); returns what it printed.
fn make_mlflow(env: &TestEnv, dir: &Path, uri: &str, more: bool) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/import/make_mlflow.py");
    let mut cmd = tool(env, python(), dir);
    cmd.arg(script).arg(uri);
    if more {
        cmd.arg("more");
    }
    let out = checked("make_mlflow.py", run(&mut cmd));
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// `regent ARGS` in the repository with extra variables.
fn regent_with(env: &TestEnv, vars: &[(&str, &Path)], args: &[&str]) -> Outcome {
    let mut cmd = env.regent();
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let out = cmd.args(args).output().expect("regent starts");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A time in MLflow's milliseconds as regent writes times.
fn time_of_millis(ms: &serde_json::Value) -> String {
    let ms = ms
        .as_i64()
        .unwrap_or_else(|| panic!("not milliseconds: {ms}"));
    regent::time::format(jiff::Timestamp::from_millisecond(ms).expect("a time"))
}

/// The imported events of `history --json`, as (event, subject, version,
/// stage or alias, previous, actor, time).
fn imported_events(env: &TestEnv, args: &[&str]) -> Vec<[String; 7]> {
    let mut all = vec!["history"];
    all.extend_from_slice(args);
    let history = env.json(&all);
    history
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["via"] == "import")
        .map(|e| {
            let text = |k: &str| match &e[k] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let subject = match e["model"].as_str() {
                Some(model) => model.to_owned(),
                None => format!("{}/{}", text("experiment"), text("run")),
            };
            let target = if text("alias").is_empty() {
                text("stage")
            } else {
                format!("@{}", text("alias"))
            };
            [
                text("event"),
                subject,
                text("version"),
                target,
                text("previous"),
                text("actor"),
                text("time"),
            ]
        })
        .collect()
}

fn row(items: [&str; 7]) -> [String; 7] {
    items.map(str::to_owned)
}

/// The `Regent-Event` trailer of every commit, newest first.
fn event_trailers(env: &TestEnv) -> Vec<String> {
    env.git(&[
        "log",
        "--format=%(trailers:key=Regent-Event,valueonly,separator=)",
    ])
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(str::to_owned)
    .collect()
}
