//! Bad input: broken YAML, wrong types, unknown and duplicate keys, invalid
//! names, non-UTF-8 bytes, huge files, alias bombs and deep nesting. Each is a
//! clear error with its location and the exit code of DESIGN.md §5, nothing
//! is written, nothing panics, and memory stays bounded.

pub use crate::common::{Outcome, TestEnv, run_file};
pub use serde_json::Value;
pub use std::io::Read;
pub use std::path::PathBuf;
pub use std::process::Stdio;
pub use std::time::{Duration, Instant};

/// A well-formed artifact digest.
pub const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The rule for model, experiment and run names, as messages show it.
pub const NAME_RULE: &str = "names are ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 100 characters, without `..`";

/// The rule for stage and alias names.
pub const STAGE_RULE: &str = "names are lowercase ASCII letters, digits, `_` and `-`, starting with a letter, at most 32 characters";

/// Virtual memory allowed to a memory-bounded `regent` (KiB): less than the
/// 100 MB file below, far less than an expanded alias bomb.
pub const MEMORY_LIMIT_KIB: u64 = 96 * 1024;

/// How long a bounded command may take before the test calls it a hang.
pub const TIME_LIMIT: Duration = Duration::from_secs(120);

/// One `validate --json` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    file: String,
    line: u64,
    column: u64,
    message: String,
}

/// A valid version file for `models/<model>/versions/<n>.yaml`; `extra` lines
/// go before `status` (which stays the last line).
pub fn version_yaml(model: &str, n: u64, extra: &str) -> String {
    format!(
        "model: {model}\n\
         version: {n}\n\
         created_at: 2026-01-02T03:04:05Z\n\
         created_by: tester\n\
         artifact:\n  uri: s3://bucket/{model}/{n}\n  digest: {DIGEST}\n\
         {extra}\
         status: active\n"
    )
}

/// A valid run file written by hand (line 6 holds `metrics`).
pub fn run_yaml(experiment: &str, name: &str, metrics: &str) -> String {
    format!(
        "name: {name}\n\
         experiment: {experiment}\n\
         status: finished\n\
         start_time: 2026-01-02T03:04:05Z\n\
         user: tester\n\
         metrics: {metrics}\n"
    )
}

/// A registry with run `e/r` (logged by the CLI) and a hand-written model `m`
/// with version 1 (from that run), in stage `staging` and aliased `champion`,
/// all committed: valid, so every problem a test adds is the only one.
pub fn env_with_model() -> TestEnv {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "log", "e", "--name", "r", "--metric", "acc=0.9"]);
    env.write(
        "models/m/model.yaml",
        "name: m\nstages:\n  staging: 1\naliases:\n  champion: 1\n",
    );
    env.write(
        "models/m/versions/1.yaml",
        version_yaml("m", 1, "run: e/r\n"),
    );
    env.commit_all("add model m by hand");
    env
}

/// Runs `regent ARGS`, with extra environment variables, and checks for panics.
pub fn run_with_env(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> Outcome {
    let mut cmd = env.regent();
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let out = cmd.args(args).output().expect("regent runs");
    let outcome = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !outcome.stderr.contains("panicked"),
        "panic: {}",
        outcome.stderr
    );
    outcome
}

/// The `regent` command of `env` as a plain `std::process::Command`, same
/// program, environment and folder (for pipes and resource limits).
pub fn std_command(env: &TestEnv, program: Option<&str>) -> std::process::Command {
    let template = env.regent();
    let mut cmd = std::process::Command::new(match program {
        Some(p) => std::ffi::OsStr::new(p),
        None => template.get_program(),
    });
    cmd.env_clear();
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    if let Some(dir) = template.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

/// Runs `regent ARGS` with at most [`MEMORY_LIMIT_KIB`] of virtual memory (on
/// Linux, through `ulimit -v`) and at most [`TIME_LIMIT`] of wall time.
pub fn run_bounded(env: &TestEnv, args: &[&str]) -> Outcome {
    let program = env.regent().get_program().to_owned();
    let mut cmd = if cfg!(target_os = "linux") {
        let mut cmd = std_command(env, Some("sh"));
        cmd.arg("-c")
            .arg(format!(
                "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
            ))
            .arg(program);
        cmd
    } else {
        std_command(env, None)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("regent starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        stdout.read_to_end(&mut s).ok();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        stderr.read_to_end(&mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for regent") {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().ok();
            child.wait().ok();
            panic!("regent {args:?} did not finish within {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let outcome = Outcome {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    };
    assert!(
        !outcome.stderr.contains("panicked"),
        "panic: {}",
        outcome.stderr
    );
    outcome
}

/// Parses the errors of `validate --json` output.
pub fn parse_problems(stdout: &str) -> Vec<Problem> {
    let value: Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(value["ok"], Value::Bool(false), "{value:#}");
    value["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {value:#}"))
        .iter()
        .map(|e| {
            let keys: Vec<&String> = e
                .as_object()
                .expect("an error is an object")
                .keys()
                .collect();
            assert_eq!(keys, ["column", "file", "line", "message"], "{e:#}");
            Problem {
                file: e["file"].as_str().unwrap().to_owned(),
                line: e["line"].as_u64().unwrap(),
                column: e["column"].as_u64().unwrap(),
                message: e["message"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

/// `regent validate --json ARGS`: asserts exit 1 and that nothing was written;
/// returns the errors.
pub fn problems_with(env: &TestEnv, args: &[&str]) -> Vec<Problem> {
    let before = env.state();
    let mut all = vec!["validate", "--json"];
    all.extend_from_slice(args);
    let out = env.run_err(1, &all);
    assert_eq!(env.state(), before, "validate wrote something");
    parse_problems(&out.stdout)
}

/// Every problem `regent validate` finds in the working tree.
pub fn problems(env: &TestEnv) -> Vec<Problem> {
    problems_with(env, &[])
}

/// The single problem `regent validate` finds.
pub fn only_problem(env: &TestEnv) -> Problem {
    let all = problems(env);
    assert_eq!(all.len(), 1, "expected exactly one problem: {all:#?}");
    all.into_iter().next().unwrap()
}

/// Asserts a problem's place (`column: None` when it is the parser's guess)
/// and that its message contains each of `fragments`.
#[track_caller]
pub fn assert_at(p: &Problem, file: &str, line: u64, column: Option<u64>, fragments: &[&str]) {
    assert_eq!((p.file.as_str(), p.line), (file, line), "{p:#?}");
    if let Some(column) = column {
        assert_eq!(p.column, column, "{p:#?}");
    }
    for fragment in fragments {
        assert!(
            p.message.contains(fragment),
            "message lacks {fragment:?}: {p:#?}"
        );
    }
}

/// Runs `regent ARGS`, asserts exit `code` and that the repository (files,
/// refs, index, commits) is exactly as it was; returns the outcome.
pub fn refused(env: &TestEnv, code: i32, args: &[&str]) -> Outcome {
    let before = env.state();
    let commits = env.commit_count();
    let out = env.run_err(code, args);
    assert_eq!(
        env.state(),
        before,
        "regent {args:?} changed the repository"
    );
    assert_eq!(env.commit_count(), commits, "regent {args:?} committed");
    out
}

/// Writes an input file outside the repository; returns its absolute path.
pub fn input_file(env: &TestEnv, name: &str, content: impl AsRef<[u8]>) -> String {
    let dir = env.root.join("inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Creates a sparse file of `size` bytes starting with `header`.
pub fn sparse_file(path: &std::path::Path, header: &[u8], size: u64) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(header).unwrap();
    file.set_len(size).unwrap();
}

/// A YAML "billion laughs": ten levels of nine aliases each (9^10 nodes).
pub fn alias_bomb() -> String {
    let mut text = String::from("x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut previous = 'a';
    for c in 'b'..='j' {
        let refs = vec![format!("*{previous}"); 9].join(", ");
        text.push_str(&format!("x-{c}: &{c} [{refs}]\n"));
        previous = c;
    }
    text
}

mod args;
mod files;
