//! The hostile-input corpus (issue 6): files and arguments written to break
//! regent, each run through the binary by one assertion helper that checks
//! the exit code, a message naming what and where, no panic, nothing written
//! (no commit, no tag, no file), and bounded memory (`ulimit -v`).
//!
//! The small hostile files live in `tests/hostile/`, one per case; the big
//! ones (alias bombs, deep nesting, huge scalars) are generated here. Cases
//! that `bad_input` already covers through `validate` on the working tree are
//! covered here through another path: a committed file read by `show`,
//! `resolve`, `register` or `promote`, or `validate --rev`.

use crate::bad_input::{
    MEMORY_LIMIT_KIB, alias_bomb, env_with_model, run_yaml, std_command, version_yaml,
};
use crate::common::{Outcome, TestEnv, run_file};
use std::process::Stdio;

/// A corpus file, embedded at compile time.
macro_rules! corpus {
    ($name:literal) => {
        include_bytes!(concat!("../hostile/", $name)).as_slice()
    };
}

/// Runs `regent ARGS` with `vars` added, at most [`MEMORY_LIMIT_KIB`] of
/// virtual memory and two minutes of wall time (on Linux).
fn run_hostile(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> Outcome {
    run_limited(env, MEMORY_LIMIT_KIB, vars, args)
}

/// [`run_hostile`] with another memory limit.
fn run_limited(env: &TestEnv, limit_kib: u64, vars: &[(&str, &str)], args: &[&str]) -> Outcome {
    let program = env.regent().get_program().to_owned();
    let mut cmd = if cfg!(target_os = "linux") {
        let mut cmd = std_command(env, Some("sh"));
        cmd.arg("-c")
            .arg(format!(
                "ulimit -v {limit_kib} && exec timeout 120 \"$0\" \"$@\""
            ))
            .arg(program);
        cmd
    } else {
        std_command(env, None)
    };
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("regent starts");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The one assertion of the corpus: `regent ARGS` ends with `code`, says
/// every fragment (on stdout or stderr), does not panic, stays within the
/// memory limit, and leaves the repository exactly as it was.
#[track_caller]
fn assert_outcome(env: &TestEnv, what: &str, args: &[&str], code: i32, fragments: &[&str]) {
    assert_outcome_within(env, MEMORY_LIMIT_KIB, what, args, code, fragments);
}

/// [`assert_outcome`] with another memory limit.
#[track_caller]
fn assert_outcome_within(
    env: &TestEnv,
    limit_kib: u64,
    what: &str,
    args: &[&str],
    code: i32,
    fragments: &[&str],
) {
    let before = env.state();
    let commits = env.commit_count();
    let out = run_limited(env, limit_kib, &[], args);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.code, code,
        "{what}: regent {args:?}: expected exit {code}:\n{said}"
    );
    assert!(
        !said.contains("panicked") && !said.contains("RUST_BACKTRACE"),
        "{what}: regent {args:?} panicked:\n{said}"
    );
    assert!(
        !said.contains("memory allocation") && !said.contains("out of memory"),
        "{what}: regent {args:?} ran out of memory:\n{said}"
    );
    for fragment in fragments {
        assert!(
            said.contains(fragment),
            "{what}: regent {args:?} does not say {fragment:?}:\n{said}"
        );
    }
    assert_eq!(
        env.state(),
        before,
        "{what}: regent {args:?} wrote something"
    );
    assert_eq!(
        env.commit_count(),
        commits,
        "{what}: regent {args:?} committed"
    );
}

// ---------------------------------------------------------------------------
// Hostile files

/// One corpus entry: files placed in the registry (committed or only in the
/// working tree), then commands with their exit code and what they must say.
struct FileCase {
    what: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    commit: bool,
    runs: Vec<(Vec<&'static str>, i32, Vec<String>)>,
}

impl FileCase {
    fn new(what: &'static str, commit: bool) -> FileCase {
        FileCase {
            what,
            files: Vec::new(),
            commit,
            runs: Vec::new(),
        }
    }

    fn file(mut self, path: &'static str, bytes: impl Into<Vec<u8>>) -> FileCase {
        self.files.push((path, bytes.into()));
        self
    }

    fn run(mut self, args: &[&'static str], code: i32, says: &[&str]) -> FileCase {
        let says = says.iter().map(|s| (*s).to_owned()).collect();
        self.runs.push((args.to_vec(), code, says));
        self
    }

    /// Places the files in a fresh registry and checks every command.
    fn check(self) {
        let env = env_with_model();
        for (path, bytes) in &self.files {
            env.write(path, bytes);
        }
        if self.commit {
            env.commit_all(self.what);
        }
        for (args, code, says) in &self.runs {
            let says: Vec<&str> = says.iter().map(String::as_str).collect();
            assert_outcome(&env, self.what, args, *code, &says);
        }
    }
}

/// Duplicate keys, tabs, non-UTF-8, NaN and infinite metrics, each committed
/// and read by a command other than `validate` (bad_input covers that one).
#[test]
fn malformed_committed_files_are_refused_by_the_commands_that_read_them() {
    let cases = [
        FileCase::new("duplicate key in regent.yaml", true)
            .file("regent.yaml", corpus!("duplicate-key.regent.yaml"))
            .run(
                &["promote", "m", "1", "--to", "production"],
                2,
                &["regent.yaml:5:1", "duplicate key `registry`"],
            )
            .run(
                &["validate", "--rev", "HEAD"],
                1,
                &["regent.yaml:5:1: duplicate key `registry`"],
            ),
        FileCase::new("tab indentation in a version file", true)
            .file(
                "models/m/versions/1.yaml",
                corpus!("tab-indent.version.yaml"),
            )
            .run(
                &["show", "m/1"],
                2,
                &["models/m/versions/1.yaml:6:1: invalid YAML"],
            )
            .run(
                &["resolve", "models:/m/1"],
                2,
                &["models/m/versions/1.yaml:6:"],
            ),
        FileCase::new("non-UTF-8 model file", true)
            .file("models/m/model.yaml", corpus!("non-utf8.model.yaml"))
            .run(
                &["resolve", "models:/m@champion"],
                2,
                &["models/m/model.yaml:2:18", "not valid UTF-8", "0xe9"],
            )
            .run(
                &["register", "m", "--artifact", "s3://bucket/m/2"],
                2,
                &["models/m/model.yaml:2:18", "not valid UTF-8"],
            ),
        FileCase::new("NaN metric in a run frozen by register", true)
            .file("experiments/e/db/r2.yaml", corpus!("nan-metric.run.yaml"))
            .run(
                &[
                    "register",
                    "m",
                    "--artifact",
                    "s3://bucket/m/2",
                    "--run",
                    "e/r2",
                ],
                2,
                &["experiments/e/db/r2.yaml:6:16", "not a finite number"],
            )
            .run(
                &["run", "show", "e/r2"],
                2,
                &["experiments/e/db/r2.yaml:6:16"],
            ),
        FileCase::new("infinite metric in a run read by run list", true)
            .file("experiments/e/db/r2.yaml", corpus!("inf-metric.run.yaml"))
            .run(
                &["run", "list", "e"],
                2,
                &["experiments/e/db/r2.yaml:8:8", "inf", "not a finite number"],
            )
            .run(
                &["run", "compare", "e/r", "e/r2"],
                2,
                &["experiments/e/db/r2.yaml:8:8"],
            ),
    ];
    for case in cases {
        case.check();
    }
}

/// Version numbers that are negative, fractional, zero, past 64 bits or
/// quoted are refused at the value, committed or not.
#[test]
fn bad_version_numbers_in_version_files_are_refused_at_the_value() {
    let place = "models/m/versions/1.yaml";
    let cases = [
        (
            corpus!("negative.version.yaml"),
            "-1 is less than the minimum of 1",
        ),
        (
            corpus!("fractional.version.yaml"),
            "1.5 is not of type \"integer\"",
        ),
        (
            corpus!("zero.version.yaml"),
            "0 is less than the minimum of 1",
        ),
        (
            corpus!("huge.version.yaml"),
            "the integer 18446744073709551616 is too large",
        ),
        (
            corpus!("string.version.yaml"),
            "\"1\" is not of type \"integer\"",
        ),
    ];
    for (bytes, message) in cases {
        FileCase::new("a bad version number", false)
            .file(place, bytes)
            .run(&["validate"], 1, &[&format!("{place}:2:10: {message}")])
            .check();
        FileCase::new("a bad committed version number", true)
            .file(place, bytes)
            .run(
                &["validate", "--rev", "HEAD"],
                1,
                &[&format!("{place}:2:10")],
            )
            .run(&["show", "m/1"], 2, &[&format!("{place}:2:10")])
            .check();
    }
    // 4,000 digits: no integer type holds it, and it is no float either.
    let digits = "9".repeat(4000);
    let text = version_yaml("m", 1, "").replace("version: 1\n", &format!("version: {digits}\n"));
    FileCase::new("a version number of 4,000 digits", false)
        .file(place, text)
        .run(&["validate"], 1, &[&format!("{place}:2:10"), "integer"])
        .check();
}

/// `version: +1` is YAML's spelling of 1 (the YAML 1.2 core schema), so it
/// is accepted; the file name still decides which version it is.
#[test]
fn a_leading_plus_in_a_version_file_is_the_number_itself() {
    let env = env_with_model();
    env.write("models/m/versions/1.yaml", corpus!("plus.version.yaml"));
    let value = env.json(&["validate"]);
    assert_eq!(value["ok"], true, "{value}");
    // On the command line too, `+1` and `01` are the number 1 (Rust's and
    // clap's reading of an integer), never another version or a path.
    env.commit_all("version: +1");
    for target in ["m/+1", "m/01"] {
        assert_eq!(env.json(&["show", target])["version"], 1, "{target}");
    }
    assert_eq!(
        env.run_ok(&["resolve", "models:/m/+1"]).trim(),
        "s3://bucket/m/1"
    );
}

/// Versions on the command line: negative, fractional, zero, past 64 bits.
#[test]
fn bad_version_numbers_on_the_command_line_are_refused() {
    let env = env_with_model();
    let huge = "18446744073709551616";
    for n in ["-1", "1.5", "0", huge, "1e3", " 1"] {
        let target = format!("m/{n}");
        let uri = format!("models:/m/{n}");
        for (args, says) in [
            (vec!["show", target.as_str()], "is not a version number"),
            (
                vec!["describe", target.as_str(), "text"],
                "is not a version number",
            ),
            (vec!["resolve", uri.as_str()], "not a version number"),
            (vec!["promote", "--to", "staging", "--", "m", n], n),
            (vec!["alias", "set", "--", "m", "champion", n], n),
            (vec!["rollback", "m", "--stage", "staging", "--to", n], n),
        ] {
            let says = match (n, args[0]) {
                ("0", "resolve") => "numbered from 1",
                // Not a number at all, so it is read as a stage name.
                (" 1", "resolve") => "invalid stage name",
                _ => says,
            };
            assert_outcome(&env, "a bad version number", &args, 2, &[says]);
        }
    }
}

/// A byte-order mark is accepted (editors on Windows write one) and does not
/// shift positions; CRLF line ends load like LF, with the same lines.
#[test]
fn a_bom_and_crlf_line_ends_load_and_keep_positions() {
    FileCase::new("BOM and an unknown key", false)
        .file("models/m/model.yaml", corpus!("bom-unknown-key.model.yaml"))
        .run(
            &["validate"],
            1,
            &["models/m/model.yaml:2:1: unknown key `bogus`"],
        )
        .check();
    FileCase::new("CRLF and an undeclared stage", false)
        .file(
            "models/m/model.yaml",
            corpus!("crlf-undeclared-stage.model.yaml"),
        )
        .run(
            &["validate"],
            1,
            &["models/m/model.yaml:4:3: `qa` is not a stage declared"],
        )
        .check();
    for (what, bytes) in [
        ("BOM", corpus!("bom.model.yaml")),
        ("CRLF", corpus!("crlf.model.yaml")),
    ] {
        let env = env_with_model();
        env.write("models/m/model.yaml", bytes);
        env.run_ok(&["validate"]);
        env.commit_all(what);
        env.run_ok(&["validate", "--rev", "HEAD"]);
        let shown = env.json(&["show", "m"]);
        assert_eq!(shown["stages"]["staging"], 1, "{what}: {shown}");
        assert_eq!(
            env.run_ok(&["resolve", "models:/m@champion"]).trim(),
            "s3://bucket/m/1",
            "{what}"
        );
    }
}

/// Alias bombs, 10,000 levels of nesting and a number of 5,000 digits,
/// committed and read at a revision: refused fast, in bounded memory.
#[test]
fn generated_bombs_committed_are_refused_in_bounded_memory() {
    FileCase::new("alias bomb in a committed model file", true)
        .file("models/m/model.yaml", format!("name: m\n{}", alias_bomb()))
        .run(&["show", "m"], 2, &["models/m/model.yaml:", "alias"])
        .run(
            &["register", "m", "--artifact", "s3://bucket/m/2"],
            2,
            &["models/m/model.yaml:", "alias"],
        )
        .run(&["validate", "--rev", "HEAD"], 1, &["alias bomb"])
        .check();
    FileCase::new("10,000 levels of nesting in a committed regent.yaml", true)
        .file(
            "regent.yaml",
            format!(
                "registry: 1\nstages:\n  - name: staging\nx-deep: {}\n",
                "{a: ".repeat(10_000)
            ),
        )
        .run(&["resolve", "models:/m/1"], 0, &["s3://bucket/m/1"])
        .run(
            &["promote", "m", "1", "--to", "staging"],
            2,
            &["regent.yaml:4:", "too deep"],
        )
        .run(
            &["validate", "--rev", "HEAD"],
            1,
            &["regent.yaml:4:", "too deep"],
        )
        .check();
    FileCase::new("10,000 nested sequences in a committed version file", true)
        .file(
            "models/m/versions/1.yaml",
            version_yaml("m", 1, &format!("x-deep: {}\n", "[".repeat(10_000))),
        )
        .run(
            &["show", "m/1"],
            2,
            &["models/m/versions/1.yaml:", "too deep"],
        )
        .check();
}

/// The memory bound for a file near the 16 MiB limit: a small multiple of
/// the file (the bytes, the parsed value and the schema's view of it each
/// hold the text once). A debug build of `validate` peaks near 87 MB on a
/// 15 MiB file, which the 96 MiB of address space of the other cases does not
/// leave room for reliably.
const HUGE_LIMIT_KIB: u64 = 192 * 1024;

/// A 15 MiB description (under the 16 MiB limit) is a valid file: read in
/// bounded memory by validate, show and resolve, and not echoed whole.
#[test]
fn a_huge_scalar_is_read_in_bounded_memory() {
    let env = env_with_model();
    let description = "x".repeat(15 * 1024 * 1024);
    env.write(
        "models/m/model.yaml",
        format!("name: m\ndescription: {description}\nstages:\n  staging: 1\n"),
    );
    assert_outcome_within(
        &env,
        HUGE_LIMIT_KIB,
        "15 MiB description",
        &["validate"],
        0,
        &[],
    );
    env.commit_all("a huge description");
    assert_outcome_within(
        &env,
        HUGE_LIMIT_KIB,
        "15 MiB description",
        &["validate", "--rev", "HEAD"],
        0,
        &[],
    );
    assert_outcome_within(
        &env,
        HUGE_LIMIT_KIB,
        "15 MiB description",
        &["resolve", "models:/m/staging"],
        0,
        &["s3://bucket/m/1"],
    );
    // One byte more than the limit is refused unread, naming the limit.
    let over = "y".repeat(16 * 1024 * 1024);
    env.write(
        "models/m/versions/1.yaml",
        version_yaml("m", 1, &format!("description: {over}\n")),
    );
    assert_outcome(
        &env,
        "a version file over 16 MiB",
        &["validate"],
        1,
        &["models/m/versions/1.yaml:1:1", "16 MiB"],
    );
}

/// The address space `check` gets for a pull request of files near the
/// 16 MiB limit. Each file is read alone, in at most about 4 times its size
/// plus 60 MB for the most nodes a file may hold (250,000), so the limit
/// holds however many such files the pull request adds.
const PULL_REQUEST_LIMIT_KIB: u64 = 512 * 1024;

/// `head`, then `unit` repeated to about 15.5 MiB (under the 16 MiB limit), then `tail`.
fn near_limit(head: &str, unit: &str, tail: &str) -> String {
    let n = (15 * 1024 * 1024 + 512 * 1024 - head.len() - tail.len()) / unit.len();
    format!("{head}{}{tail}", unit.repeat(n))
}

/// A pull request that adds files near 16 MiB written to make a YAML reader
/// build millions of nodes (lists of empty lists, flow and block, a map of
/// empty lists, a list of numbers), a huge scalar, aliases repeating a long
/// list, a file over the limit and fifty files of 300 unknown keys: `check`
/// (no `--pr`, so no GitHub) ends with exit 1 and a located error for each,
/// within 512 MiB of address space, writing nothing.
#[test]
fn check_survives_a_hostile_pull_request_in_bounded_memory() {
    let nodes = "more than 250,000 YAML nodes";
    let dense_map = {
        let mut text = String::from("x-dense: {");
        let mut i = 0;
        while text.len() < 15 * 1024 * 1024 + 512 * 1024 {
            text.push_str(&format!("k{i}: [],"));
            i += 1;
        }
        text + "z: []}\n"
    };
    let aliases = format!(
        "x-a: &a [{}]\nx-b: [{}]\n",
        vec!["0"; 20_000].join(","),
        vec!["*a"; 20_000].join(",")
    );
    // (file, content, what `check` says about it)
    let mut files: Vec<(String, String, Vec<String>)> = vec![
        (
            "models/m/versions/2.yaml".into(),
            version_yaml("m", 2, &near_limit("x-dense: [", "[],", "[]]\n")),
            vec!["models/m/versions/2.yaml:8:".into(), nodes.into()],
        ),
        (
            "models/m/versions/3.yaml".into(),
            version_yaml("m", 3, &near_limit("x-dense:\n", "- []\n", "")),
            vec!["models/m/versions/3.yaml:".into(), nodes.into()],
        ),
        (
            "models/m/versions/4.yaml".into(),
            version_yaml(
                "m",
                4,
                &format!("x-big: {}\n", "y".repeat(16 * 1024 * 1024)),
            ),
            vec!["models/m/versions/4.yaml:1:1".into(), "16 MiB".into()],
        ),
        (
            "experiments/e/38/dense-map.yaml".into(),
            run_yaml("e", "dense-map", "{acc: 0.5}") + &dense_map,
            vec!["experiments/e/38/dense-map.yaml:7:".into(), nodes.into()],
        ),
        (
            "experiments/e/f3/numbers.yaml".into(),
            run_yaml("e", "numbers", "{acc: 0.5}") + &near_limit("x-n: [", "1,", "1]\n"),
            vec!["experiments/e/f3/numbers.yaml:7:".into(), nodes.into()],
        ),
        (
            "experiments/e/5e/huge.yaml".into(),
            run_yaml("e", "huge", "{acc: 0.5}") + &near_limit("bogus: ", "y", "\n"),
            vec!["experiments/e/5e/huge.yaml:7:1: unknown key `bogus`".into()],
        ),
        (
            "experiments/e/19/aliases.yaml".into(),
            run_yaml("e", "aliases", "{acc: 0.5}") + &aliases,
            vec![
                "experiments/e/19/aliases.yaml:8:".into(),
                "alias bomb".into(),
            ],
        ),
    ];
    let keys: String = (0..300).map(|k| format!("k{k}: 1\n")).collect();
    for i in 0..50 {
        files.push((
            run_file("many", &format!("r{i}")),
            run_yaml("many", &format!("r{i}"), "{acc: 0.5}") + &keys,
            vec![format!(
                "{}:1:1: 200 more problems in this file are not shown",
                run_file("many", &format!("r{i}"))
            )],
        ));
    }
    let env = env_with_model();
    env.git(&["switch", "-q", "-c", "pr"]);
    for (path, content, _) in &files {
        env.write(path, content);
    }
    env.commit_all("a hostile pull request");
    env.git(&["switch", "-q", "main"]);
    let says: Vec<&str> = files
        .iter()
        .flat_map(|(_, _, says)| says.iter().map(String::as_str))
        .collect();
    assert_outcome_within(
        &env,
        PULL_REQUEST_LIMIT_KIB,
        "a hostile pull request",
        &["check", "--base", "main", "--head", "pr"],
        1,
        &says,
    );
}

// ---------------------------------------------------------------------------
// Symbolic links and files in the wrong shape

/// A symlink to a folder or file outside the registry, in the working tree:
/// never followed; `validate` names it and `register` refuses to build on it.
#[cfg(unix)]
#[test]
fn symlinks_in_the_working_tree_are_never_followed() {
    use std::os::unix::fs::symlink;
    let outside = |env: &TestEnv| {
        let dir = env.root.join("outside");
        std::fs::create_dir_all(dir.join("evil/versions")).unwrap();
        std::fs::write(dir.join("evil/model.yaml"), "name: evil\n").unwrap();
        std::fs::write(
            dir.join("evil/versions/1.yaml"),
            version_yaml("evil", 1, ""),
        )
        .unwrap();
        std::fs::write(dir.join("secret.yaml"), "password: hunter2\n").unwrap();
        dir
    };
    let link_message = "registry files must be";

    // A model folder that is a link.
    let env = env_with_model();
    let dir = outside(&env);
    symlink(dir.join("evil"), env.repo.join("models/evil")).unwrap();
    assert_outcome(
        &env,
        "linked model folder",
        &["validate"],
        1,
        &["models/evil:1:1", link_message],
    );
    assert_outcome(
        &env,
        "linked model folder",
        &["register", "evil", "--artifact", "s3://x/1"],
        1,
        &["uncommitted changes", "models/evil"],
    );

    // A version file that is a link to a file outside.
    let env = env_with_model();
    let dir = outside(&env);
    symlink(
        dir.join("evil/versions/1.yaml"),
        env.repo.join("models/m/versions/2.yaml"),
    )
    .unwrap();
    assert_outcome(
        &env,
        "linked version file",
        &["validate"],
        1,
        &["models/m/versions/2.yaml:1:1", link_message],
    );

    // A run file linked to a secret: its content never shows.
    let env = env_with_model();
    let dir = outside(&env);
    std::fs::create_dir_all(env.repo.join("experiments/e/5f")).unwrap();
    symlink(
        dir.join("secret.yaml"),
        env.repo.join("experiments/e/5f/leak.yaml"),
    )
    .unwrap();
    assert_outcome(
        &env,
        "linked run file",
        &["validate"],
        1,
        &["experiments/e/5f/leak.yaml:1:1", link_message],
    );
    let out = run_hostile(&env, &[], &["validate"]);
    assert!(
        !out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"),
        "{out:?}"
    );

    // The whole models/ folder is a link.
    let env = env_with_model();
    std::fs::rename(env.repo.join("models"), env.root.join("models-elsewhere")).unwrap();
    symlink(env.root.join("models-elsewhere"), env.repo.join("models")).unwrap();
    assert_outcome(
        &env,
        "linked models/",
        &["validate"],
        1,
        &["models:1:1", link_message],
    );

    // regent.yaml itself is a link: one problem, not two.
    let env = env_with_model();
    std::fs::rename(
        env.repo.join("regent.yaml"),
        env.root.join("regent-elsewhere.yaml"),
    )
    .unwrap();
    symlink(
        env.root.join("regent-elsewhere.yaml"),
        env.repo.join("regent.yaml"),
    )
    .unwrap();
    assert_outcome(
        &env,
        "linked regent.yaml",
        &["validate"],
        1,
        &["regent.yaml:1:1", link_message, "1 problem in 1 file"],
    );
}

/// Symlinks committed as Git blobs (mode 120000): their target text is never
/// read as YAML nor followed, whether by `validate --rev`, `show` or `resolve`.
#[cfg(unix)]
#[test]
fn committed_symlinks_are_reported_not_followed() {
    use std::os::unix::fs::symlink;
    let env = env_with_model();
    std::fs::write(env.root.join("secret.yaml"), "password: hunter2\n").unwrap();
    std::fs::create_dir_all(env.repo.join("experiments/e/5f")).unwrap();
    symlink(
        env.root.join("secret.yaml"),
        env.repo.join("experiments/e/5f/leak.yaml"),
    )
    .unwrap();
    symlink(
        "../../../../etc/passwd",
        env.repo.join("models/m/versions/2.yaml"),
    )
    .unwrap();
    env.commit_all("links");
    let says_link = "a symbolic link; registry files must be regular files";
    assert_outcome(
        &env,
        "committed links",
        &["validate", "--rev", "HEAD"],
        1,
        &[
            "experiments/e/5f/leak.yaml:1:1: not a regular file",
            "models/m/versions/2.yaml:1:1: not a regular file",
        ],
    );
    assert_outcome(
        &env,
        "committed link",
        &["show", "m/2"],
        2,
        &["models/m/versions/2.yaml:1:1", says_link],
    );
    assert_outcome(
        &env,
        "committed link",
        &["resolve", "models:/m/latest"],
        2,
        &["models/m/versions/2.yaml:1:1"],
    );
    assert_outcome(
        &env,
        "committed link",
        &["run", "show", "e/leak"],
        2,
        &["experiments/e/5f/leak.yaml:1:1", says_link],
    );
    let out = run_hostile(&env, &[], &["run", "show", "e/leak"]);
    assert!(
        !out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"),
        "{out:?}"
    );
}

/// A folder where a file belongs, and a file where a folder belongs.
#[test]
fn files_and_folders_in_each_others_place_are_named() {
    let env = env_with_model();
    std::fs::remove_file(env.repo.join("models/m/model.yaml")).unwrap();
    env.write("models/m/model.yaml/inside.yaml", "name: m\n");
    assert_outcome(
        &env,
        "model.yaml is a folder",
        &["validate"],
        1,
        &["models/m/model.yaml:1:1: a folder where model.yaml must be a file"],
    );

    let env = env_with_model();
    std::fs::remove_dir_all(env.repo.join("models/m/versions")).unwrap();
    env.write("models/m/versions", "1\n");
    assert_outcome(
        &env,
        "versions is a file",
        &["validate"],
        1,
        &["models/m/versions:1:1", "unexpected file"],
    );

    let env = env_with_model();
    std::fs::remove_dir_all(env.repo.join("experiments")).unwrap();
    env.write("experiments", "runs\n");
    assert_outcome(
        &env,
        "experiments is a file",
        &["validate"],
        1,
        &["experiments:1:1: a file where the experiments/ folder belongs"],
    );

    let env = env_with_model();
    std::fs::remove_file(env.repo.join("regent.yaml")).unwrap();
    env.write("regent.yaml/inside.yaml", "registry: 1\n");
    assert_outcome(
        &env,
        "regent.yaml is a folder",
        &["validate"],
        2,
        &["regent.yaml: it is a folder; a registry's regent.yaml must be a file"],
    );
}

// ---------------------------------------------------------------------------
// Hostile names

/// Names that must never become a path, a Git argument or a tag name: path
/// traversal, separators Git and regent give meaning to, control characters
/// (NUL cannot be passed in argv), Unicode look-alikes and invisible or
/// reordering characters, and a leading `-` (option injection).
const HOSTILE_NAMES: [&str; 12] = [
    "..",
    "a/b",
    "a#b",
    "a@b",
    "a\nb",
    "a\u{1b}[31mb",
    "\u{430}bc",     // Cyrillic а
    "\u{ff43}hurn",  // full-width ｃ
    "ch\u{200d}urn", // zero-width joiner
    "\u{202e}nruhc", // right-to-left override
    "churn\u{0301}", // combining accent
    "-rf",
];

/// Every command that takes a name, with `{}` where the hostile name goes.
/// A leading `-` is passed after `--` or with `=`, as a user (or a script)
/// would to get it through.
const NAME_SLOTS: [&[&str]; 30] = [
    // model names
    &["register", "--artifact", "s3://x/1", "--", "{}"],
    &["promote", "--to", "staging", "--", "{}", "1"],
    &["demote", "--from", "staging", "--", "{}"],
    &["rollback", "--stage", "staging", "--", "{}"],
    &["alias", "set", "--", "{}", "champion", "1"],
    &["alias", "rm", "--", "{}", "champion"],
    &["tag", "--", "{}", "k=v"],
    &["describe", "--", "{}", "text"],
    &["deprecate", "--", "{}", "1"],
    &["archive", "--", "{}", "1"],
    &["approve", "--stage", "staging", "--", "{}", "1"],
    &["show", "--", "{}"],
    &["resolve", "models:/{}/1"],
    &["history", "--", "{}"],
    // stage names
    &["promote", "m", "1", "--to={}"],
    &["demote", "m", "--from={}"],
    &["rollback", "m", "--stage={}"],
    &["approve", "m", "1", "--stage={}"],
    &["history", "m", "--stage={}"],
    // alias names
    &["alias", "set", "--", "m", "{}", "1"],
    &["alias", "rm", "--", "m", "{}"],
    &["approve", "m", "1", "--alias={}"],
    &["resolve", "models:/m@{}"],
    // experiment and run names
    &["run", "log", "--", "{}"],
    &["run", "list", "--", "{}"],
    &["run", "show", "--", "{}/r"],
    &["run", "log", "e", "--name={}"],
    &["run", "show", "e/{}"],
    &["run", "compare", "e/r", "e/{}"],
    &["register", "m", "--artifact", "s3://x/1", "--run=e/{}"],
];

/// Each hostile name in each slot is refused with the name rule (exit 2),
/// before anything is read into a path, a branch or a tag.
#[test]
fn hostile_names_are_refused_by_every_command_with_the_rule() {
    let env = env_with_model();
    for name in HOSTILE_NAMES {
        for slot in NAME_SLOTS {
            let args: Vec<String> = slot.iter().map(|a| a.replace("{}", name)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // `show -- a/b` and `describe -- a/b` read `a` version `b`.
            let says: &[&str] = if name == "a/b" && matches!(slot[0], "show" | "describe" | "tag") {
                &["\"b\" is not a version number"]
            } else {
                &[" name \"", "names must match"]
            };
            assert_outcome(&env, &format!("name {name:?}"), &args, 2, says);
        }
    }
    assert_eq!(env.git(&["tag"]), "", "no tag was made");
}

/// Hostile names as folder and file names in a committed registry: each is
/// refused by `validate --rev` with the rule, and `show` lists none of them.
#[test]
fn hostile_names_in_committed_paths_are_refused() {
    let env = env_with_model();
    let names = [
        "a#b",
        "a@b",
        "\u{430}bc",
        "ch\u{200d}urn",
        "\u{202e}nruhc",
        "-rf",
        "a\u{1b}b",
    ];
    for name in names {
        env.write(&format!("models/{name}/model.yaml"), "name: m\n");
        env.write(&run_file(name, "r"), run_yaml(name, "r", "{acc: 0.5}"));
        env.write(&run_file("e", name), run_yaml("e", name, "{acc: 0.5}"));
    }
    env.commit_all("hostile paths");
    let out = run_hostile(&env, &[], &["validate", "--json", "--rev", "HEAD"]);
    assert_eq!(out.code, 1, "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let errors = value["errors"].as_array().unwrap();
    for name in names {
        for (file, kind) in [
            (format!("models/{name}/model.yaml"), "model"),
            (run_file(name, "r"), "experiment"),
            (run_file("e", name), "run"),
        ] {
            assert!(
                errors.iter().any(|e| e["file"] == file.as_str()
                    && e["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("invalid {kind} name"))),
                "{file}: {value:#}"
            );
        }
    }
    // Listing skips them with a warning that shows each name escaped.
    let out = run_hostile(&env, &[], &["show"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(r#"skipping models/"a\u{1b}b""#),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    let listed = env.json(&["show"]);
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["m"]);
}

/// Tag, param and metric keys with control characters are refused: they are
/// shown in tables, PR bodies and comments.
#[test]
fn keys_with_control_characters_are_refused() {
    let env = env_with_model();
    for key in ["a\nb", "a\u{1b}[2Jb", "a\rb"] {
        let pair = format!("{key}=v");
        let metric = format!("{key}=1");
        for args in [
            vec!["tag", "m/1", pair.as_str()],
            vec![
                "register",
                "m",
                "--artifact",
                "s3://x/2",
                "--tag",
                pair.as_str(),
            ],
            vec!["run", "log", "e", "--param", pair.as_str()],
            vec!["run", "log", "e", "--metric", metric.as_str()],
        ] {
            assert_outcome(
                &env,
                "a key with a control character",
                &args,
                2,
                &["contains a control character"],
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Injection into what regent renders: PR bodies, check reports, annotations

/// The text a description, a metric name or a file's key tries to inject.
const INJECTIONS: [&str; 6] = [
    "<script>",
    "{{ 7*7 }}",
    "{% raw %}",
    "<!-- regent:",
    "@alice",
    "`code`",
];

/// Asserts that `markdown` shows none of [`INJECTIONS`] as live syntax:
/// template syntax was not evaluated, HTML and the marker are escaped,
/// mentions are broken, and no table row gained a column.
#[track_caller]
fn assert_inert(markdown: &str, marker: &str) {
    // Shown as written (escaped), so not evaluated to 49.
    assert!(markdown.contains(r"\{\{ 7\*7 \}\}"), "{markdown}");
    assert!(markdown.contains(r"\{% raw %\}"), "{markdown}");
    assert!(markdown.contains("&lt;script&gt;"), "{markdown}");
    assert!(markdown.contains("@\u{200b}alice"), "{markdown}");
    assert!(markdown.contains(r"\`code\`"), "{markdown}");
    for raw in ["<script>", "@alice", "{{ 7", "`code`"] {
        assert!(!markdown.contains(raw), "{raw:?} is live:\n{markdown}");
    }
    assert_eq!(
        markdown.matches("<!--").count(),
        1,
        "a forged marker:\n{markdown}"
    );
    assert!(markdown.starts_with(marker), "{markdown}");
    // Every table row has as many unescaped `|` as its header.
    let cells = |line: &str| line.replace(r"\|", "").matches('|').count();
    let mut columns = None;
    for line in markdown.lines() {
        if line.starts_with('|') {
            let n = cells(line);
            match columns {
                Some(c) if line.starts_with("| ---") || c == n => {}
                Some(c) => panic!("a row with {n} bars in a {c}-bar table: {line}\n{markdown}"),
                None => columns = Some(n),
            }
        } else {
            columns = None;
        }
    }
}

/// The hostile description of [`INJECTIONS`] with a newline that tries to
/// start a forged table row, as one line of YAML.
fn hostile_text() -> String {
    format!("{} a|b\n| forged | row |", INJECTIONS.join(" "))
}

/// A description and a metric name full of HTML, template syntax, a forged
/// marker, mentions, backticks and table-breaking `|` reach the body of a
/// promotion PR escaped, never evaluated.
#[tokio::test]
async fn injection_into_a_promotion_pr_body_is_escaped() {
    use crate::github::{pull, regent, setup};
    use wiremock::matchers::{any, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let env = setup();
    let metric = format!("{}|x=0.5", INJECTIONS.join(""));
    env.run_ok(&["run", "log", "e", "--name", "r2", "--metric", &metric]);
    env.run_ok(&[
        "register",
        "m",
        "--artifact",
        "s3://m/2",
        "--run",
        "e/r2",
        "--description",
        &hostile_text(),
    ]);
    env.git(&["push", "-q", "origin", "main"]);
    let server = MockServer::start().await;
    let branch = "regent/m/staging/v2";
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(7, branch, "abc", "tester")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/7/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unplanned request"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;

    let out = regent(
        &env,
        &server,
        &["promote", "m", "2", "--to", "staging", "--pr"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.received_requests().await.unwrap();
    let create = requests
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/ml/pulls")
        .expect("the pull request was opened");
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    let text = body["body"].as_str().unwrap();
    assert_inert(text, "<!-- regent:promotion -->");
    // The description stays one quoted paragraph: its newline cannot start a row.
    let quoted: Vec<&str> = text.lines().filter(|l| l.starts_with("> ")).collect();
    assert_eq!(quoted.len(), 1, "{text}");
    assert!(quoted[0].contains(r"a\|b \| forged \| row \|"), "{text}");
    // The metric's name is one escaped cell of the metrics table.
    assert!(
        text.lines()
            .any(|l| l.starts_with("| &lt;script&gt;") && l.contains(r"\|x | 0.5 |")),
        "{text}"
    );
}

/// A pull request that adds a version file whose keys carry the same
/// injections: the `check` report (the sticky comment and the step summary)
/// quotes them escaped, and `check` without GitHub renders it to the summary.
#[test]
fn injection_into_the_check_report_is_escaped() {
    let env = env_with_model();
    env.git(&["switch", "-q", "-c", "pr"]);
    env.write(
        "models/m/versions/2.yaml",
        version_yaml("m", 2, &format!("{:?}: 1\n", hostile_text())),
    );
    env.commit_all("a hostile version file");
    env.git(&["switch", "-q", "main"]);
    let summary = env.root.join("summary.md");
    let output = env.root.join("output.txt");
    let before = env.state();
    let out = run_hostile(
        &env,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ],
        &["check", "--base", "main", "--head", "pr"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(env.state(), before);
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.contains("unknown key"), "{markdown}");
    assert_inert(&markdown, "<!-- regent:check -->");
    // Its annotation is one workflow command, the newline escaped.
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{}", out.stdout);
    assert!(annotations[0].contains("%0A| forged"), "{}", annotations[0]);
}

/// A description or key carrying `::error::` and `%0A` cannot add a workflow
/// command of its own: each problem is exactly one escaped annotation.
#[test]
fn workflow_commands_in_files_cannot_forge_annotations() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        corpus!("workflow-command.model.yaml"),
    );
    env.write("models/m/x::y,z.txt", "stray\n");
    let before = env.state();
    let out = run_hostile(&env, &[("GITHUB_ACTIONS", "true")], &["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(env.state(), before);
    // Every line GitHub reads as a command, the human lines included.
    let commands: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 2, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("models/m/model.yaml:2:1: unknown key `x\\n::error::forged %0A,y::z`"),
        "{}",
        out.stdout
    );
    assert!(
        commands[0].starts_with("::error file=models/m/model.yaml,line=2,col=1::unknown key `x%0A::error::forged %250A,y::z`"),
        "{}",
        commands[0]
    );
    assert!(
        commands[1]
            .starts_with("::error file=models/m/x%3A%3Ay%2Cz.txt,line=1,col=1::unexpected file"),
        "{}",
        commands[1]
    );
}

/// A comment that quotes regent's marker (a reviewer explaining it, or a
/// forgery) is not regent's sticky comment: regent posts its own and never
/// edits somebody else's.
#[tokio::test]
async fn a_forged_marker_in_a_comment_is_not_taken_for_regents() {
    use crate::github::{check, gate_mocks, pr_branch, setup};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/issues/7/comments"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!([{
                "id": 99,
                "body": "LGTM. regent finds its report by <!-- regent:check --> so keep it",
                "user": {"login": "alice"}
            }])),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/ml/issues/comments/99"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .with_priority(1)
        .mount(&server)
        .await;
    // No regent comment yet: exactly one is created.
    gate_mocks(&server, &head, vec![vec![]], vec![], false).await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("could not write"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// Terminal escapes in what regent prints for people

/// A committed file whose strings carry escape sequences (clear the screen,
/// retitle the terminal, hide text), bells and carriage returns: `show`,
/// `run show` and `run list` print them escaped; line breaks in a
/// description stay; JSON keeps the exact text.
#[test]
fn terminal_escapes_in_committed_files_are_printed_escaped() {
    let env = env_with_model();
    env.write(
        "experiments/e/db/r2.yaml",
        corpus!("terminal-escapes.run.yaml"),
    );
    env.write(
        "models/m/model.yaml",
        corpus!("terminal-escapes.model.yaml"),
    );
    env.commit_all("escape sequences");
    for args in [
        &["show", "m"][..],
        &["show", "m/1"],
        &["show"],
        &["run", "show", "e/r2"],
        &["run", "list", "e"],
    ] {
        assert_outcome(&env, "terminal escapes", args, 0, &[]);
        let out = run_hostile(&env, &[], args);
        for c in ['\u{1b}', '\u{7}', '\r'] {
            assert!(
                !out.stdout.contains(c),
                "regent {args:?} printed {c:?} raw:\n{}",
                out.stdout
            );
        }
    }
    let out = run_hostile(&env, &[], &["show", "m"]);
    assert!(
        out.stdout
            .contains("line one\nline two\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\r\n"),
        "{}",
        out.stdout
    );
    let out = run_hostile(&env, &[], &["run", "show", "e/r2"]);
    assert!(
        out.stdout.contains(r"hidden\u{1b}]0;pwned\u{7}\rvisible"),
        "{}",
        out.stdout
    );
    let shown = env.json(&["run", "show", "e/r2"]);
    assert_eq!(
        shown["note"], "hidden\u{1b}]0;pwned\u{7}\rvisible",
        "{shown}"
    );
}
