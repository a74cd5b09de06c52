//! `-h` and `--help` of every command, from the real binary, against the
//! reviewed snapshots in `snapshots/help/` (one file per command, named by
//! its path: `run-log.snap`), so that help cannot change unnoticed. The
//! commands come from the clap tree regent parses with: a new command
//! without a snapshot fails until one is made.
//!
//! To write or rewrite every snapshot after changing a help text (and then
//! read `git diff tests/cli/snapshots`):
//!
//! ```sh
//! INSTA_UPDATE=always cargo test --test cli -- help:: transcripts::
//! ```

use crate::common::TestEnv;
use clap::{CommandFactory, Parser};
use std::path::Path;

/// The help snapshots, beside this file.
const SNAPSHOTS: &str = "snapshots/help";

/// Every command's path below `regent` (the root is the empty path),
/// depth first, leaving out clap's own `help` command.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        out.push(path.to_vec());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut sub_path = path.to_vec();
            sub_path.push(sub.get_name().to_owned());
            walk(sub, &sub_path, out);
        }
    }
    let mut paths = Vec::new();
    walk(&regent::cli::Cli::command(), &[], &mut paths);
    paths
}

/// What `regent PATH FLAG` (`-h` or `--help`) prints.
fn help(env: &TestEnv, path: &[String], flag: &str) -> String {
    let out = env
        .regent_in(&env.root)
        .args(path)
        .arg(flag)
        // The width clap wraps at, whatever terminal runs the tests.
        .env("COLUMNS", "100")
        .output()
        .expect("regent runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "regent {path:?} {flag}: {:?}\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// `regent PATH -h` and `regent PATH --help`, as one transcript.
fn help_transcript(env: &TestEnv, path: &[String]) -> String {
    let mut text = String::new();
    for flag in ["-h", "--help"] {
        let shown: Vec<&str> = std::iter::once("$ regent")
            .chain(path.iter().map(String::as_str))
            .chain([flag])
            .collect();
        text.push_str(&shown.join(" "));
        text.push('\n');
        // clap indents the blank lines of a long help: no meaning, and
        // editors strip them from files.
        for line in help(env, path, flag).lines() {
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text.push('\n');
    }
    text
}

fn snapshot_name(path: &[String]) -> String {
    if path.is_empty() {
        "regent".to_owned()
    } else {
        path.join("-")
    }
}

/// Whether this run rewrites the snapshots in place rather than compares.
fn updating() -> bool {
    matches!(
        std::env::var("INSTA_UPDATE").as_deref(),
        Ok("always" | "1" | "force")
    )
}

#[test]
fn every_commands_help_matches_its_snapshot() {
    let env = TestEnv::new();
    let paths = command_paths();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli")
        .join(SNAPSHOTS);

    let names: Vec<String> = paths.iter().map(|p| snapshot_name(p)).collect();
    let missing: Vec<String> = paths
        .iter()
        .zip(&names)
        .filter(|(_, name)| !dir.join(format!("{name}.snap")).exists())
        .map(|(path, _)| format!("regent {}", path.join(" ")).trim_end().to_owned())
        .collect();
    assert!(
        missing.is_empty() || updating(),
        "no help snapshot for {}: create it with\n  INSTA_UPDATE=always cargo test --test cli -- help::\n\
         then read it (git diff tests/cli/snapshots/help) and commit it",
        missing.join(", ")
    );

    // A snapshot of a command that is gone would never be compared again.
    let stale: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|f| f.strip_suffix(".snap").map(str::to_owned))
                .filter(|f| !names.contains(f))
                .collect()
        })
        .unwrap_or_default();
    if updating() {
        for name in &stale {
            std::fs::remove_file(dir.join(format!("{name}.snap"))).unwrap();
        }
    } else {
        assert!(
            stale.is_empty(),
            "help snapshots of no command: {stale:?}; delete them from tests/cli/{SNAPSHOTS}"
        );
    }

    for (path, name) in paths.iter().zip(&names) {
        let text = help_transcript(&env, path);
        insta::with_settings!({
            snapshot_path => SNAPSHOTS,
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.as_str(), text);
        });
    }
}

/// `-h` is the summary: one line per flag and no examples, which `--help`
/// alone carries (the snapshots hold the words; this holds the shape).
#[test]
fn short_help_is_short() {
    let env = TestEnv::new();
    for path in command_paths() {
        let (short, long) = (help(&env, &path, "-h"), help(&env, &path, "--help"));
        assert!(!short.contains("Examples:"), "regent {path:?} -h:\n{short}");
        assert!(
            short.lines().count() <= long.lines().count(),
            "regent {path:?}"
        );
        let has_commands = short.contains("\nCommands:\n");
        assert!(
            has_commands || long.contains("\nExamples:\n"),
            "regent {path:?} --help has no examples:\n{long}"
        );
    }
}

/// Every example in every `--help` is a command regent accepts: the words
/// after `regent` (up to a pipe, a redirection, a comment or the end of
/// `$(…)`) parse as its command line.
#[test]
fn every_example_parses() {
    let env = TestEnv::new();
    let mut seen = 0;
    for path in command_paths() {
        let long = help(&env, &path, "--help");
        let Some((_, examples)) = long.split_once("\nExamples:\n") else {
            continue;
        };
        for line in examples.lines().take_while(|l| l.starts_with("  ")) {
            let start = line.find("regent ").expect(line);
            let all = shlex::split(&line[start..]).unwrap_or_else(|| panic!("{line}"));
            let mut words = Vec::new();
            for word in all {
                if ["|", ">", "#"].contains(&word.as_str()) {
                    break;
                }
                // The end of `$(regent …)` or `<(regent …)`.
                if let Some(last) = word.strip_suffix(')') {
                    words.push(last.to_owned());
                    break;
                }
                words.push(word);
            }
            if let Err(e) = regent::cli::Cli::try_parse_from(&words) {
                panic!("regent {path:?} --help, example {line:?}:\n{e}");
            }
            seen += 1;
        }
    }
    assert!(seen > 40, "only {seen} examples found");
}
