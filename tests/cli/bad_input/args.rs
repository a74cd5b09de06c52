//! Bad command-line input: names, run-log inputs, missing repositories, closed pipes.

use super::*;

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

/// Keys that become the same after nested maps are flattened with `/` are
/// refused, naming the file and both spellings, with nothing written (issue
/// 10, point 16): in params and metrics, JSON and YAML, a metric history
/// included; so is a key written twice in one JSON object.
#[test]
fn run_log_refuses_keys_that_collide_after_flattening() {
    let env = TestEnv::with_registry();
    let cases = [
        (
            "--metrics-file",
            input_file(
                &env,
                "metrics.json",
                r#"{"val/loss": 1, "val": {"loss": 2}}"#,
            ),
            r#"{"val": {"loss": …}} and {"val/loss": …} are both the key "val/loss""#,
        ),
        (
            "--params-file",
            input_file(
                &env,
                "params.yaml",
                "optimizer:\n  name: adam\n  lr: 0.1\noptimizer/lr: 0.2\n",
            ),
            r#"{"optimizer": {"lr": …}} and {"optimizer/lr": …} are both the key "optimizer/lr""#,
        ),
        (
            // A history (a list) and a final value under the same flattened name.
            "--metrics-file",
            input_file(
                &env,
                "history.yaml",
                "a/b/c: [0.9, 0.5]\na:\n  b/c: 0.4\n  b: {x: 1}\n",
            ),
            r#"{"a": {"b/c": …}} and {"a/b/c": …} are both the key "a/b/c""#,
        ),
    ];
    for (flag, file, both) in &cases {
        for extra in [&[][..], &["--no-commit"][..]] {
            let mut args = vec!["run", "log", "e", "--name", "r", flag, file];
            args.extend_from_slice(extra);
            let out = refused(&env, 2, &args);
            assert!(
                out.stderr.contains(&format!("{file}: {both}"))
                    && out.stderr.contains("one value would be lost"),
                "{args:?}: {}",
                out.stderr
            );
            assert!(!env.repo.join("experiments/e").exists());
        }
    }
    // The same key twice in one JSON object (serde_json would keep the
    // last) is refused at the second, like in YAML.
    let file = input_file(&env, "twice.json", "{\"a\": {\"x\": 1,\n  \"x\": [1, 2]}}");
    let out = refused(&env, 2, &["run", "log", "e", "--metrics-file", &file]);
    assert!(
        out.stderr
            .contains(&format!("{file}:2:5: duplicate key \"x\"")),
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

/// An artifact path that does not exist, or an empty folder, is refused.
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
            .contains(&format!("folder artifact {folder} has no files")),
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
    std::fs::remove_file(env.repo.join("experiments/e/45/r.yaml")).unwrap();
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
            .contains("invalid --where expression (column 15)\n  metrics.acc > > 1\n                ^ expected a value after `>`"),
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
            &run_file("e", &name),
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
