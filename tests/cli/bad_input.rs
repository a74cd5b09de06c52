//! Bad input: broken YAML, wrong types, unknown and duplicate keys, invalid
//! names, non-UTF-8 bytes, huge files, alias bombs and deep nesting. Each is a
//! clear error with its location and the exit code of DESIGN.md §5, nothing
//! is written, nothing panics, and memory stays bounded.

use crate::common::{Outcome, TestEnv};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A well-formed artifact digest.
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The rule for model, experiment and run names, as messages show it.
const NAME_RULE: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$";

/// The rule for stage and alias names.
const STAGE_RULE: &str = "^[a-z][a-z0-9_-]{0,31}$";

/// Virtual memory allowed to a memory-bounded `regent` (KiB): less than the
/// 100 MB file below, far less than an expanded alias bomb.
const MEMORY_LIMIT_KIB: u64 = 96 * 1024;

/// How long a bounded command may take before the test calls it a hang.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// One `validate --json` error.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    file: String,
    line: u64,
    column: u64,
    message: String,
}

/// A valid version file for `models/<model>/versions/<n>.yaml`; `extra` lines
/// go before `status` (which stays the last line).
fn version_yaml(model: &str, n: u64, extra: &str) -> String {
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
fn run_yaml(experiment: &str, name: &str, metrics: &str) -> String {
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
fn env_with_model() -> TestEnv {
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
fn run_with_env(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> Outcome {
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
fn std_command(env: &TestEnv, program: Option<&str>) -> std::process::Command {
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
fn run_bounded(env: &TestEnv, args: &[&str]) -> Outcome {
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
fn parse_problems(stdout: &str) -> Vec<Problem> {
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
fn problems_with(env: &TestEnv, args: &[&str]) -> Vec<Problem> {
    let before = env.state();
    let mut all = vec!["validate", "--json"];
    all.extend_from_slice(args);
    let out = env.run_err(1, &all);
    assert_eq!(env.state(), before, "validate wrote something");
    parse_problems(&out.stdout)
}

/// Every problem `regent validate` finds in the working tree.
fn problems(env: &TestEnv) -> Vec<Problem> {
    problems_with(env, &[])
}

/// The single problem `regent validate` finds.
fn only_problem(env: &TestEnv) -> Problem {
    let all = problems(env);
    assert_eq!(all.len(), 1, "expected exactly one problem: {all:#?}");
    all.into_iter().next().unwrap()
}

/// Asserts a problem's place (`column: None` when it is the parser's guess)
/// and that its message contains each of `fragments`.
#[track_caller]
fn assert_at(p: &Problem, file: &str, line: u64, column: Option<u64>, fragments: &[&str]) {
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
fn refused(env: &TestEnv, code: i32, args: &[&str]) -> Outcome {
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
fn input_file(env: &TestEnv, name: &str, content: impl AsRef<[u8]>) -> String {
    let dir = env.root.join("inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Creates a sparse file of `size` bytes starting with `header`.
fn sparse_file(path: &std::path::Path, header: &[u8], size: u64) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(header).unwrap();
    file.set_len(size).unwrap();
}

/// A YAML "billion laughs": ten levels of nine aliases each (9^10 nodes).
fn alias_bomb() -> String {
    let mut text = String::from("x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut previous = 'a';
    for c in 'b'..='j' {
        let refs = vec![format!("*{previous}"); 9].join(", ");
        text.push_str(&format!("x-{c}: &{c} [{refs}]\n"));
        previous = c;
    }
    text
}

// ---------------------------------------------------------------------------
// validate: the baseline

/// The hand-written model the other tests break is valid as it stands.
#[test]
fn the_hand_written_fixture_validates_cleanly() {
    let env = env_with_model();
    let value = env.json(&["validate"]);
    assert_eq!(value, serde_json::json!({"ok": true, "errors": []}));
    let out = env.run(&["validate"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// validate: YAML syntax

/// An unclosed flow sequence is `file:line:column: invalid YAML …` on stdout, exit 1.
#[test]
fn a_yaml_syntax_error_is_reported_at_its_line_with_exit_1() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [1, 2\n");
    let out = env.run_err(1, &["validate"]);
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("models/m/model.yaml:3:1: invalid YAML:"),
        "{}",
        out.stdout
    );
    assert!(first.contains("flow sequence"), "{first}");
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("error: 1 problem in 1 file"),
        "{}",
        out.stderr
    );
    let p = only_problem(&env);
    assert_at(&p, "models/m/model.yaml", 3, Some(1), &["invalid YAML"]);
}

/// A tab used for indentation is a syntax error at the tab.
#[test]
fn tabs_for_indentation_are_reported_at_the_tab() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages:\n\tstaging: 1\n");
    let p = only_problem(&env);
    assert_at(&p, "models/m/model.yaml", 3, Some(1), &["invalid YAML"]);
}

// ---------------------------------------------------------------------------
// validate: schema

/// A string where the version schema wants an integer points at the value.
#[test]
fn a_wrong_type_in_a_version_file_points_at_the_value() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: \"three\"\n");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        2,
        Some(10),
        &["\"three\"", "integer"],
    );
}

/// A word where regent.yaml wants a number of approvals points at the value.
#[test]
fn a_wrong_type_in_regent_yaml_points_at_the_value() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n    approvals: many\n  - name: production\n",
    );
    let p = only_problem(&env);
    assert_at(&p, "regent.yaml", 4, Some(16), &["\"many\"", "integer"]);
}

/// A misspelt top-level key is refused at the key, with the `x-` escape hatch named.
#[test]
fn an_unknown_key_is_reported_at_the_key() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\nstagse:\n  - name: qa\n",
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "regent.yaml",
        5,
        Some(1),
        &["unknown key `stagse`", "x-"],
    );
}

/// A misspelt key inside a list item is refused at that key.
#[test]
fn a_nested_unknown_key_is_reported_at_the_key() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    aprovals: 2\n",
    );
    let p = only_problem(&env);
    assert_at(&p, "regent.yaml", 5, Some(5), &["unknown key `aprovals`"]);
}

/// A key given twice is reported at its second occurrence.
#[test]
fn a_duplicate_key_is_reported_at_its_second_occurrence() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\nregistry: 1\n",
    );
    let p = only_problem(&env);
    assert_at(&p, "regent.yaml", 5, Some(1), &["duplicate key `registry`"]);
}

/// A key given twice inside a nested mapping is reported at its second occurrence.
#[test]
fn a_nested_duplicate_key_is_reported_at_its_second_occurrence() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        "name: m\nstages:\n  staging: 1\naliases:\n  staging: 1\n  champion: 1\n  staging: 1\n",
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        7,
        Some(3),
        &["duplicate key `staging`"],
    );
}

/// A whole number written as `1.0` passes the schema's `integer`; its error must still have a place.
#[test]
fn an_integral_float_version_is_reported_at_its_line() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: 1.0\n");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(&p, "models/m/versions/1.yaml", 2, Some(10), &["1.0"]);
}

/// `.nan` and `-.inf` metrics cannot be JSON: refused at the value.
#[test]
fn nan_and_infinite_metrics_are_reported_at_the_value() {
    let env = env_with_model();
    env.write("experiments/e/r.yaml", run_yaml("e", "r", "{acc: .nan}"));
    env.write(
        "experiments/e/r2.yaml",
        run_yaml("e", "r2", "\n  loss: 0.5\n  acc: -.inf"),
    );
    let all = problems(&env);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/r.yaml",
        6,
        Some(16),
        &["NaN", "not a finite number"],
    );
    assert_at(
        &all[1],
        "experiments/e/r2.yaml",
        8,
        Some(8),
        &["inf", "not a finite number"],
    );
}

// ---------------------------------------------------------------------------
// validate: bytes and sizes

/// A byte that is not UTF-8 is reported at its line and column, naming the byte.
#[test]
fn non_utf8_bytes_are_reported_at_the_bad_byte() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        b"name: m\ndescription: \"caf\xe9\"\n".as_slice(),
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        2,
        Some(18),
        &["not valid UTF-8", "0xe9"],
    );
}

/// A billion-laughs alias bomb ends quickly, in bounded memory, with a message about aliases.
#[test]
fn an_alias_bomb_is_refused_quickly_in_bounded_memory() {
    let env = env_with_model();
    env.write("models/m/model.yaml", format!("name: m\n{}", alias_bomb()));
    let out = run_bounded(&env, &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(&all[0], "models/m/model.yaml", 1, None, &["alias"]);
}

/// 10,000 levels of flow or block nesting are "too deep", with no stack overflow.
#[test]
fn ten_thousand_levels_of_nesting_are_too_deep_not_a_crash() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        format!("name: m\nx-deep: {}\n", "[".repeat(10_000)),
    );
    env.write(
        "experiments/e/deep.yaml",
        format!("{}x\n", "- ".repeat(10_000)),
    );
    let out = run_bounded(&env, &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_at(&all[0], "experiments/e/deep.yaml", 1, None, &["too deep"]);
    assert_at(&all[1], "models/m/model.yaml", 2, None, &["too deep"]);
}

/// A 100 MB file in the working tree is refused as too large without being read.
#[test]
fn a_huge_file_in_the_working_tree_is_refused_unread() {
    let env = env_with_model();
    sparse_file(
        &env.repo.join("experiments/e/big.yaml"),
        b"name: big\nexperiment: e\n",
        100 * 1024 * 1024,
    );
    let head = env.head();
    let out = run_bounded(&env, &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/big.yaml",
        1,
        Some(1),
        &["100.0 MiB", "16 MiB"],
    );
    assert_eq!(env.head(), head);
}

/// A 100 MB blob in a commit is refused as too large by `validate --rev` without being read.
#[test]
fn a_huge_committed_file_is_refused_unread_at_a_revision() {
    let env = env_with_model();
    sparse_file(
        &env.repo.join("experiments/e/big.yaml"),
        b"name: big\nexperiment: e\n",
        100 * 1024 * 1024,
    );
    env.commit_all("a huge run file");
    std::fs::remove_file(env.repo.join("experiments/e/big.yaml")).unwrap();
    // The working tree is fine now; HEAD is not.
    env.run_ok(&["validate"]);
    let out = run_bounded(&env, &["validate", "--json", "--rev", "HEAD"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/big.yaml",
        1,
        Some(1),
        &["100.0 MiB", "16 MiB"],
    );
}

// ---------------------------------------------------------------------------
// validate: files in the wrong place

/// A zero-padded version file, a stray file in a model folder and a nested run are each refused.
#[test]
fn misplaced_and_misnamed_files_are_each_reported() {
    let env = env_with_model();
    env.write("models/m/versions/07.yaml", version_yaml("m", 7, ""));
    env.write("models/m/notes.txt", "remember to retrain\n");
    env.write("experiments/e/sub/r.yaml", run_yaml("e", "r", "{acc: 0.5}"));
    let all = problems(&env);
    assert_eq!(all.len(), 3, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/sub/r.yaml",
        1,
        Some(1),
        &["experiments/<experiment>/<run>.yaml"],
    );
    assert_at(
        &all[1],
        "models/m/notes.txt",
        1,
        Some(1),
        &["unexpected file"],
    );
    assert_at(
        &all[2],
        "models/m/versions/07.yaml",
        1,
        Some(1),
        &["\"07.yaml\"", "<n>.yaml"],
    );
}

// ---------------------------------------------------------------------------
// validate: rules across files

/// A version file whose `version:` is not its file name is refused at the value.
#[test]
fn a_version_number_that_differs_from_its_file_name_is_reported() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: 2\n");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        2,
        Some(10),
        &["version 2 is stored in 1.yaml"],
    );
}

/// A stage pointer to a stage regent.yaml does not declare is refused at the stage.
#[test]
fn a_pointer_to_an_undeclared_stage_is_reported() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages:\n  qa: 1\n");
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        3,
        Some(3),
        &["`qa` is not a stage declared in regent.yaml"],
    );
}

/// A stage pointer to a version that does not exist is refused at the number.
#[test]
fn a_stage_pointer_to_a_missing_version_is_reported() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages:\n  staging: 4\n");
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        3,
        Some(12),
        &["stage `staging` points at version 4, which does not exist"],
    );
}

/// An alias to a version that does not exist is refused at the number.
#[test]
fn an_alias_to_a_missing_version_is_reported() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\naliases:\n  champion: 9\n");
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        3,
        Some(13),
        &["alias `champion` points at version 9, which does not exist"],
    );
}

/// A version made from a run that was never logged is refused at `run`.
#[test]
fn a_version_from_a_missing_run_is_reported() {
    let env = env_with_model();
    env.write(
        "models/m/versions/1.yaml",
        version_yaml("m", 1, "run: e/ghost\n"),
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        8,
        Some(6),
        &["run `e/ghost` does not exist"],
    );
}

/// Versions 1 and 3 without 2 are refused, naming the gap.
#[test]
fn versions_with_a_gap_are_reported() {
    let env = env_with_model();
    env.write("models/m/versions/3.yaml", version_yaml("m", 3, ""));
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/3.yaml",
        1,
        Some(1),
        &["1..3 without gaps", "missing: 2"],
    );
}

/// A digest that is not `sha256:<64 hex>` is refused at the value.
#[test]
fn a_malformed_digest_is_reported_at_the_value() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace(DIGEST, "sha256:XYZ");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        7,
        Some(11),
        &["\"sha256:XYZ\"", "sha256:[0-9a-f]{64}"],
    );
}

/// A model.yaml whose name is not its folder's is refused at the name.
#[test]
fn a_model_name_that_differs_from_its_folder_is_reported() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        "name: other\nstages:\n  staging: 1\n",
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        1,
        Some(7),
        &["`other` does not match its folder models/m/"],
    );
}

// ---------------------------------------------------------------------------
// validate: reporting

/// Problems in six files are all reported in one run, sorted, and counted on stderr.
#[test]
fn every_problem_of_every_file_is_reported_in_one_run() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: \"three\"\n");
    env.write("models/m/versions/1.yaml", text);
    env.write("models/m/versions/3.yaml", version_yaml("m", 3, ""));
    env.write("models/m/notes.txt", "x\n");
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\nstagse: []\n",
    );
    env.write(
        "experiments/e/nan.yaml",
        run_yaml("e", "nan", "{acc: .nan}"),
    );
    let all = problems(&env);
    let places: Vec<(&str, u64)> = all.iter().map(|p| (p.file.as_str(), p.line)).collect();
    assert_eq!(
        places,
        [
            ("experiments/e/nan.yaml", 6),
            ("models/m/model.yaml", 3),
            ("models/m/notes.txt", 1),
            ("models/m/versions/1.yaml", 2),
            ("models/m/versions/3.yaml", 1),
            ("regent.yaml", 4),
        ],
        "{all:#?}"
    );
    let out = env.run_err(1, &["validate"]);
    assert_eq!(out.stdout.lines().count(), 6, "{}", out.stdout);
    assert!(
        out.stderr.contains("error: 6 problems in 6 files"),
        "{}",
        out.stderr
    );
}

/// In GitHub Actions each problem is also an escaped `::error file=…,line=…,col=…::` annotation.
#[test]
fn github_actions_get_one_escaped_annotation_per_problem() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n\"a\\nb\": 1\n",
    );
    env.write("experiments/e/a,b.yaml", run_yaml("e", "a,b", "{acc: 0.5}"));

    let plain = env.run_err(1, &["validate"]);
    assert!(!plain.stdout.contains("::error"), "{}", plain.stdout);

    let out = run_with_env(&env, &[("GITHUB_ACTIONS", "true")], &["validate"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let annotations: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 2, "{}", out.stdout);
    assert!(
        annotations[0].starts_with(
            "::error file=experiments/e/a%2Cb.yaml,line=1,col=1::invalid run name \"a,b\""
        ),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[1].starts_with("::error file=regent.yaml,line=5,col=1::unknown key `a%0Ab`"),
        "{}",
        annotations[1]
    );
    // The human lines come first, unchanged.
    assert!(
        out.stdout
            .starts_with("experiments/e/a,b.yaml:1:1: invalid run name"),
        "{}",
        out.stdout
    );
}

/// `--json` output stays one JSON document in GitHub Actions.
#[test]
fn json_output_stays_parseable_in_github_actions() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    let out = run_with_env(&env, &[("GITHUB_ACTIONS", "true")], &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1);
}

/// Files are named relative to the repository root when the registry is a subfolder.
#[test]
fn problems_name_files_relative_to_the_repository_root() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.repo.join("ml")).unwrap();
    env.run_ok(&["-C", "ml", "init"]);
    env.write("ml/regent.yaml", "registry: 1\nstages: [\n");
    let out = env.run_err(1, &["-C", "ml", "validate"]);
    assert!(
        out.stdout.starts_with("ml/regent.yaml:3:1: invalid YAML"),
        "{}",
        out.stdout
    );
    let out = env
        .regent_in(&env.repo.join("ml"))
        .args(["validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ml/regent.yaml:3:1:"));
}

/// `validate --rev` judges the commit even when the working tree has been fixed.
#[test]
fn validate_rev_checks_the_committed_file_not_the_fixed_working_tree() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    env.commit_all("break the model");
    env.write("models/m/model.yaml", "name: m\n");
    env.run_ok(&["validate"]);
    let all = problems_with(&env, &["--rev", "HEAD"]);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "models/m/model.yaml",
        3,
        Some(1),
        &["invalid YAML"],
    );
    // The older, valid commit is still valid.
    env.run_ok(&["validate", "--rev", "HEAD~1"]);
}

/// Without `--rev`, `validate` judges the working tree, not HEAD.
#[test]
fn validate_checks_the_working_tree_by_default() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    let all = problems(&env);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "models/m/model.yaml",
        3,
        Some(1),
        &["invalid YAML"],
    );
    env.run_ok(&["validate", "--rev", "HEAD"]);
}

// ---------------------------------------------------------------------------
// Invalid names on the command line

/// Experiment names that break the rule are refused with the rule and the reason.
#[test]
fn run_log_refuses_invalid_experiment_names() {
    let env = TestEnv::with_registry();
    let long = "a".repeat(101);
    let cases = [
        ("../x", "it starts with `.`"),
        ("a b", "it contains a space"),
        ("x#y", "it contains `#`"),
        ("a..b", "it contains `..`"),
        (long.as_str(), "it is 101 characters long, at most 100"),
    ];
    for (name, why) in cases {
        let out = refused(&env, 2, &["run", "log", name, "--metric", "acc=1"]);
        assert!(
            out.stderr
                .contains(&format!("invalid experiment name {name:?}: {why}")),
            "{name:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(NAME_RULE), "{}", out.stderr);
    }
    let out = refused(&env, 2, &["run", "log", "--", "-rf"]);
    assert!(
        out.stderr
            .contains("invalid experiment name \"-rf\": it starts with `-`"),
        "{}",
        out.stderr
    );
}

/// Run names that break the rule are refused with the rule and the reason.
#[test]
fn run_log_refuses_invalid_run_names() {
    let env = TestEnv::with_registry();
    let long = "r".repeat(101);
    let cases = [
        ("../x", "it starts with `.`"),
        ("a b", "it contains a space"),
        ("x#y", "it contains `#`"),
        ("-rf", "it starts with `-`"),
        (long.as_str(), "it is 101 characters long"),
    ];
    for (name, why) in cases {
        let flag = format!("--name={name}");
        let out = refused(&env, 2, &["run", "log", "e", &flag]);
        assert!(
            out.stderr
                .contains(&format!("invalid run name {name:?}: {why}")),
            "{name:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(NAME_RULE), "{}", out.stderr);
    }
    // Without `=`, clap takes `-rf` for flags: still a usage error, still nothing written.
    refused(&env, 2, &["run", "log", "e", "--name", "-rf"]);
    assert!(!env.repo.join("experiments/e").exists());
}

/// `show` refuses model names that break the rule, and bad version numbers.
#[test]
fn show_refuses_invalid_model_names_and_versions() {
    let env = env_with_model();
    for (target, why) in [
        ("../1", "invalid model name \"..\": it starts with `.`"),
        ("a b", "invalid model name \"a b\": it contains a space"),
        ("x#y", "invalid model name \"x#y\": it contains `#`"),
    ] {
        let out = refused(&env, 2, &["show", target]);
        assert!(out.stderr.contains(why), "{target:?}: {}", out.stderr);
        assert!(out.stderr.contains(NAME_RULE), "{}", out.stderr);
    }
    for target in ["m/abc", "m/0", "m/-1"] {
        let out = refused(&env, 2, &["show", target]);
        assert!(
            out.stderr.contains("is not a version number"),
            "{target:?}: {}",
            out.stderr
        );
    }
}

/// `show ../x` names the invalid model part and the rule, not only the version part.
#[test]
fn show_of_a_path_traversal_shows_the_name_rule() {
    let env = env_with_model();
    let out = refused(&env, 2, &["show", "../x"]);
    assert!(out.stderr.contains("invalid model name"), "{}", out.stderr);
    assert!(out.stderr.contains(NAME_RULE), "{}", out.stderr);
}

/// `run show` checks both halves of EXPERIMENT/RUN against the rule.
#[test]
fn run_show_refuses_invalid_run_ids() {
    let env = env_with_model();
    let out = refused(&env, 2, &["run", "show", "e/../x"]);
    assert!(
        out.stderr.contains("invalid run name \"../x\""),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(NAME_RULE), "{}", out.stderr);
    let out = refused(&env, 2, &["run", "show", "a b/r"]);
    assert!(
        out.stderr.contains("invalid experiment name \"a b\""),
        "{}",
        out.stderr
    );
    let out = refused(&env, 2, &["run", "show", "no-slash"]);
    assert!(out.stderr.contains("EXPERIMENT/RUN"), "{}", out.stderr);
}

/// `init --stages` refuses stage names that break the stage rule, and creates nothing.
#[test]
fn init_refuses_invalid_stage_names() {
    let env = TestEnv::new();
    for (stages, why) in [
        ("Prod", "invalid stage name \"Prod\": it starts with `P`"),
        (
            "staging,pre prod",
            "invalid stage name \"pre prod\": it contains a space",
        ),
        ("1st", "invalid stage name \"1st\""),
    ] {
        let out = env.run_err(2, &["init", "--stages", stages]);
        assert!(out.stderr.contains(why), "{stages:?}: {}", out.stderr);
        assert!(out.stderr.contains(STAGE_RULE), "{}", out.stderr);
    }
    let out = env.run_err(2, &["init", "--stages", "staging,none"]);
    assert!(out.stderr.contains("`none` is implicit"), "{}", out.stderr);
    let out = env.run_err(2, &["init", "--stages", "qa,qa"]);
    assert!(out.stderr.contains("given twice"), "{}", out.stderr);
    assert!(!env.repo.join("regent.yaml").exists());
    assert_eq!(env.git(&["rev-list", "--all"]), "", "a commit was made");
}

// ---------------------------------------------------------------------------
// run log: bad input

/// Metrics that are NaN, infinite or words are refused before anything is written.
#[test]
fn run_log_refuses_metrics_that_are_not_finite_numbers() {
    let env = TestEnv::with_registry();
    for (metric, why) in [
        (
            "acc=nan",
            "metric `acc` is nan: metrics must be finite numbers",
        ),
        (
            "acc=inf",
            "metric `acc` is inf: metrics must be finite numbers",
        ),
        ("acc=-inf", "metrics must be finite numbers"),
        (
            "acc=high",
            "metric `acc` is \"high\": metrics must be numbers",
        ),
    ] {
        let out = refused(
            &env,
            2,
            &["run", "log", "e", "--name", "r", "--metric", metric],
        );
        assert!(out.stderr.contains(why), "{metric}: {}", out.stderr);
    }
}

/// A `--param` without `=` is a usage error.
#[test]
fn run_log_refuses_a_param_without_a_value() {
    let env = TestEnv::with_registry();
    let out = refused(&env, 2, &["run", "log", "e", "--param", "novalue"]);
    assert!(out.stderr.contains("expected KEY=VALUE"), "{}", out.stderr);
}

/// A metrics file with a YAML syntax error is refused at `file:line:column`.
#[test]
fn run_log_refuses_a_metrics_file_with_a_syntax_error() {
    let env = TestEnv::with_registry();
    let file = input_file(&env, "metrics.yaml", "loss: 0.5\nacc: [0.1, 0.2\n");
    let out = refused(&env, 2, &["run", "log", "e", "--metrics-file", &file]);
    assert!(
        out.stderr.contains(&format!("{file}:3:1: invalid YAML")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("error: cannot use {file}")),
        "{}",
        out.stderr
    );
}

/// A JSON metrics file with a string metric is refused, naming the file and the metric.
#[test]
fn run_log_refuses_a_json_metrics_file_with_a_string_metric() {
    let env = TestEnv::with_registry();
    let file = input_file(&env, "metrics.json", r#"{"loss": 0.5, "acc": "high"}"#);
    let out = refused(&env, 2, &["run", "log", "e", "--metrics-file", &file]);
    assert!(
        out.stderr
            .contains(&format!("{file}: metric `acc` is the text \"high\"")),
        "{}",
        out.stderr
    );
}

/// An invalid JSON metrics file is refused at `file:line:column`.
#[test]
fn run_log_refuses_invalid_json_with_its_position() {
    let env = TestEnv::with_registry();
    let file = input_file(&env, "metrics.json", "{\n  \"acc\": 0.5,\n}\n");
    let out = refused(&env, 2, &["run", "log", "e", "--metrics-file", &file]);
    assert!(
        out.stderr.contains(&format!("{file}:3:1: invalid JSON")),
        "{}",
        out.stderr
    );
}

/// A params file that is not UTF-8 is refused at the bad byte.
#[test]
fn run_log_refuses_a_params_file_that_is_not_utf8() {
    let env = TestEnv::with_registry();
    let file = input_file(
        &env,
        "params.yaml",
        b"opt: adam\nlr: \"caf\xe9\"\n".as_slice(),
    );
    let out = refused(&env, 2, &["run", "log", "e", "--params-file", &file]);
    assert!(
        out.stderr.contains(&format!(
            "{file}:2:9: the file is not valid UTF-8 (byte 0xe9"
        )),
        "{}",
        out.stderr
    );
}

/// A 20 MB params file is refused as too large, unread.
#[test]
fn run_log_refuses_a_params_file_over_16_mib() {
    let env = TestEnv::with_registry();
    let file = env.root.join("inputs/params.yaml");
    sparse_file(&file, b"lr: 0.1\n", 20 * 1024 * 1024);
    let file = file.to_str().unwrap();
    let out = refused(&env, 2, &["run", "log", "e", "--params-file", file]);
    assert!(
        out.stderr.contains(&format!(
            "{file}:1:1: the file is 20.0 MiB, more than the 16 MiB allowed"
        )),
        "{}",
        out.stderr
    );
}

/// Alias bombs and deep nesting in a metrics file are refused like in registry files.
#[test]
fn run_log_refuses_alias_bombs_and_deep_nesting_in_input_files() {
    let env = TestEnv::with_registry();
    let bomb = input_file(&env, "bomb.yaml", alias_bomb());
    let out = refused(&env, 2, &["run", "log", "e", "--params-file", &bomb]);
    assert!(out.stderr.contains("alias"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("{bomb}:")), "{}", out.stderr);
    let deep = input_file(&env, "deep.yaml", format!("acc: {}\n", "[".repeat(10_000)));
    let out = refused(&env, 2, &["run", "log", "e", "--metrics-file", &deep]);
    assert!(
        out.stderr.contains(&format!("{deep}:1:")) && out.stderr.contains("too deep"),
        "{}",
        out.stderr
    );
}

/// A missing input file is an I/O error naming it.
#[test]
fn run_log_refuses_a_missing_metrics_file() {
    let env = TestEnv::with_registry();
    let file = env.root.join("inputs/absent.yaml");
    let file = file.to_str().unwrap();
    let out = refused(&env, 2, &["run", "log", "e", "--metrics-file", file]);
    assert!(out.stderr.contains(file), "{}", out.stderr);
}

/// An artifact path that does not exist, or is a folder, is refused.
#[test]
fn run_log_refuses_missing_and_folder_artifacts() {
    let env = TestEnv::with_registry();
    let out = refused(
        &env,
        2,
        &["run", "log", "e", "--artifact", "does/not/exist"],
    );
    assert!(
        out.stderr.contains("artifact does/not/exist: no such file"),
        "{}",
        out.stderr
    );
    let folder: PathBuf = env.root.join("inputs/model-dir");
    std::fs::create_dir_all(&folder).unwrap();
    let folder = folder.to_str().unwrap();
    let out = refused(&env, 2, &["run", "log", "e", "--artifact", folder]);
    assert!(
        out.stderr
            .contains(&format!("artifact {folder} is a folder")),
        "{}",
        out.stderr
    );
}

/// Logging a run under an existing name is a "no" (exit 1), and the run is not overwritten.
#[test]
fn run_log_refuses_to_overwrite_an_existing_run() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "log", "e", "--name", "r", "--metric", "acc=0.9"]);
    let out = refused(
        &env,
        1,
        &["run", "log", "e", "--name", "r", "--metric", "acc=0.1"],
    );
    assert!(
        out.stderr.contains("run e/r already exists"),
        "{}",
        out.stderr
    );
    // Also when only the commit has it (deleted from the working tree).
    std::fs::remove_file(env.repo.join("experiments/e/r.yaml")).unwrap();
    let out = refused(&env, 1, &["run", "log", "e", "--name", "r"]);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// No repository, no registry, two registries

/// Outside any Git repository every command is exit 2; `init` hints at `git init`.
#[test]
fn outside_a_git_repository_commands_fail_with_a_hint() {
    let env = TestEnv::new();
    let outside = env.root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let run = |args: &[&str]| {
        let out = env.regent_in(&outside).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains("is not inside a Git repository"),
            "{stderr}"
        );
        stderr
    };
    let stderr = run(&["init"]);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("hint:") && l.contains("git init")),
        "{stderr}"
    );
    run(&["validate"]);
    run(&["show"]);
    run(&["run", "list"]);
    run(&["run", "log", "e", "--metric", "acc=1"]);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "something was written outside the repository"
    );
}

/// In a repository without a registry, commands are exit 2 with a hint at `regent init`.
#[test]
fn without_a_registry_commands_fail_with_a_hint_at_init() {
    let env = TestEnv::new();
    for args in [
        &["show"][..],
        &["validate"],
        &["run", "list"],
        &["run", "log", "e", "--metric", "acc=1"],
    ] {
        let before = env.state();
        let out = env.run_err(2, args);
        assert!(
            out.stderr.contains("no regent.yaml"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("hint:") && l.contains("regent init")),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(env.state(), before);
    }
}

/// `init` in an existing registry is a "no" (exit 1) that changes nothing.
#[test]
fn init_twice_is_refused_and_changes_nothing() {
    let env = TestEnv::with_registry();
    let out = refused(&env, 1, &["init"]);
    assert!(
        out.stderr.contains("is already a regent registry"),
        "{}",
        out.stderr
    );
    let out = refused(&env, 1, &["init", "--stages", "dev,prod"]);
    assert!(out.stderr.contains("already"), "{}", out.stderr);
    // Nor inside it, in a subfolder.
    std::fs::create_dir_all(env.repo.join("models/sub")).unwrap();
    let out = env.run_err(1, &["-C", "models/sub", "init"]);
    assert!(out.stderr.contains("already"), "{}", out.stderr);
    assert!(!env.repo.join("models/sub/regent.yaml").exists());
}

// ---------------------------------------------------------------------------
// Other arguments

/// A malformed `--where` is exit 2 naming the column, with a caret line.
#[test]
fn run_list_refuses_a_malformed_where_with_its_column() {
    let env = TestEnv::with_registry();
    env.run_ok(&["run", "log", "e", "--name", "r", "--metric", "acc=0.9"]);
    let out = refused(&env, 2, &["run", "list", "--where", "metrics.acc > > 1"]);
    assert!(
        out.stderr
            .contains("invalid --where expression: expected a value after `>` at column 15"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("metrics.acc > > 1"), "{}", out.stderr);
    assert!(
        out.stderr.lines().any(|l| l.trim_start().starts_with('^')),
        "{}",
        out.stderr
    );
}

/// The caret under a malformed `--where` stands under the offending character.
#[test]
fn run_list_where_caret_points_at_the_offending_character() {
    let env = TestEnv::with_registry();
    let expression = "metrics.acc > > 1";
    let out = refused(&env, 2, &["run", "list", "--where", expression]);
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(expression))
        .expect("the expression is echoed");
    let offending = lines[at].find(expression).unwrap() + 14; // the second `>`
    let caret = lines[at + 1].find('^').expect("a caret line follows");
    assert_eq!(caret, offending, "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// A closed pipe

/// Commits `n` runs with long names, so that listing them overflows a pipe buffer.
fn env_with_many_runs(n: usize) -> TestEnv {
    let env = TestEnv::with_registry();
    let padding = "x".repeat(80);
    for i in 0..n {
        let name = format!("run-{i:05}-{padding}");
        env.write(
            &format!("experiments/e/{name}.yaml"),
            run_yaml("e", &name, "{acc: 0.5, loss: 0.25}"),
        );
    }
    env.commit_all("many runs");
    env
}

/// Runs `regent ARGS`, reads one byte of stdout, closes it, and waits.
fn run_closing_stdout_early(env: &TestEnv, args: &[&str]) -> Outcome {
    let mut child = std_command(env, None)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("regent starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout
        .read_exact(&mut byte)
        .expect("regent writes something");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `regent run list | head -c1` ends quietly with exit 0.
#[test]
fn run_list_into_a_closed_pipe_exits_quietly() {
    let env = env_with_many_runs(1000);
    let out = run_closing_stdout_early(&env, &["run", "list"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
}

/// `regent run list --json | head -c1` ends quietly with exit 0.
#[test]
fn run_list_json_into_a_closed_pipe_exits_quietly() {
    let env = env_with_many_runs(1000);
    let out = run_closing_stdout_early(&env, &["run", "list", "--json"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
}
