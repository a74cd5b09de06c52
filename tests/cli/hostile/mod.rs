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

/// A corpus file, embedded at compile time.
macro_rules! corpus {
    ($name:literal) => {
        include_bytes!(concat!("../../hostile/", $name)).as_slice()
    };
}

mod files;
mod links;
mod names;
mod rendering;

pub use crate::bad_input::{
    MEMORY_LIMIT_KIB, alias_bomb, env_with_model, run_yaml, std_command, version_yaml,
};
pub use crate::common::{Outcome, TestEnv, run_file};
pub use std::process::Stdio;

/// Runs `regent ARGS` with `vars` added, at most [`MEMORY_LIMIT_KIB`] of
/// virtual memory and two minutes of wall time (on Linux).
pub fn run_hostile(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> Outcome {
    run_limited(env, MEMORY_LIMIT_KIB, vars, args)
}

/// [`run_hostile`] with another memory limit.
pub fn run_limited(env: &TestEnv, limit_kib: u64, vars: &[(&str, &str)], args: &[&str]) -> Outcome {
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
pub fn assert_outcome(env: &TestEnv, what: &str, args: &[&str], code: i32, fragments: &[&str]) {
    assert_outcome_within(env, MEMORY_LIMIT_KIB, what, args, code, fragments);
}

/// [`assert_outcome`] with another memory limit.
#[track_caller]
pub fn assert_outcome_within(
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
