//! Hostile files: malformed, bombs, huge scalars, hostile pull requests.

use super::*;

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
            "expected an integer, found the number 1.5",
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
            "expected an integer, found the string \"1\"",
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
    // One byte more than the limit is refused unread, naming the limit
    // (under the same bound: the model's 15 MiB description is read too).
    let over = "y".repeat(16 * 1024 * 1024);
    env.write(
        "models/m/versions/1.yaml",
        version_yaml("m", 1, &format!("description: {over}\n")),
    );
    assert_outcome_within(
        &env,
        HUGE_LIMIT_KIB,
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
