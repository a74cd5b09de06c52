//! A test environment like jj's: a temporary folder with a fresh Git
//! repository, a fixed HOME, no user or system Git configuration, fixed
//! author and committer identities and dates, and helpers that run the real
//! `regent` binary and assert its exit code.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// Where a run's file lives: `experiments/<experiment>/<shard>/<run>.yaml`
/// (the layout's unit test pins the shard to `sha256sum`'s output).
pub fn run_file(experiment: &str, run: &str) -> String {
    regent::registry::Layout::run(experiment, run)
}

/// The Python of the test venv (`bash .ci/python-env` makes it, with the
/// packages of `.ci/requirements.txt`): `REGENT_TEST_PYTHON`, else
/// `target/python/bin/python`.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("REGENT_TEST_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python/bin/python");
    assert!(
        venv.exists(),
        "no test venv at {}: run `bash .ci/test` (it makes the venv, then runs cargo test)",
        venv.display()
    );
    venv
}

pub struct TestEnv {
    _temp: tempfile::TempDir,
    pub root: PathBuf,
    /// The repository the commands run in.
    pub repo: PathBuf,
}

/// The outcome of a command: exit code and both streams as text.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// What must not change when a command refuses or fails: HEAD, every ref,
/// the index and working tree status, and the bytes of every file.
#[derive(Debug, PartialEq, Eq)]
pub struct RepoState {
    refs: String,
    status: String,
    files: Vec<(String, String)>,
}

impl TestEnv {
    /// A new environment with an empty repository on branch `main`.
    pub fn new() -> TestEnv {
        let temp = tempfile::tempdir().expect("tempdir");
        let root = temp.path().canonicalize().expect("canonical tempdir");
        std::fs::create_dir_all(root.join("home")).unwrap();
        let repo = root.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        let env = TestEnv {
            _temp: temp,
            root,
            repo,
        };
        env.git(&["init", "-q", "-b", "main"]);
        env
    }

    /// A new environment with a registry already created (`regent init`).
    pub fn with_registry() -> TestEnv {
        let env = TestEnv::new();
        env.run_ok(&["init"]);
        env
    }

    /// The fixed environment every process of a test runs with.
    pub fn env_vars(&self) -> Vec<(String, std::ffi::OsString)> {
        let fixed = [
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_AUTHOR_NAME", "Test Author"),
            ("GIT_AUTHOR_EMAIL", "author@example.com"),
            ("GIT_AUTHOR_DATE", "@1767323045 +0000"),
            ("GIT_COMMITTER_NAME", "Test Committer"),
            ("GIT_COMMITTER_EMAIL", "committer@example.com"),
            ("GIT_COMMITTER_DATE", "@1767323045 +0000"),
            ("REGENT_ACTOR", "tester"),
            ("REGENT_NOW", "2026-01-02T03:04:05Z"),
            ("LANG", "C.UTF-8"),
        ];
        let mut vars: Vec<(String, std::ffi::OsString)> = fixed
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).into()))
            .collect();
        vars.push(("PATH".into(), std::env::var_os("PATH").unwrap_or_default()));
        vars.push(("HOME".into(), self.root.join("home").into_os_string()));
        vars
    }

    fn apply_env(&self, cmd: &mut Command) {
        cmd.env_clear();
        for (key, value) in self.env_vars() {
            cmd.env(key, value);
        }
    }

    /// The `regent` binary, started in the repository.
    pub fn regent(&self) -> Command {
        self.regent_in(&self.repo)
    }

    /// The `regent` binary, started in `dir`.
    pub fn regent_in(&self, dir: &Path) -> Command {
        let mut cmd = Command::cargo_bin("regent").expect("the regent binary");
        self.apply_env(&mut cmd);
        cmd.current_dir(dir);
        cmd
    }

    /// Starts `regent ARGS` in `dir` without waiting (for races).
    pub fn spawn_regent(
        &self,
        dir: &Path,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> std::process::Child {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("regent"));
        cmd.env_clear();
        for (key, value) in self.env_vars() {
            cmd.env(key, value);
        }
        for (key, value) in vars {
            cmd.env(key, value);
        }
        cmd.current_dir(dir)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("regent starts")
    }

    /// Runs `regent ARGS` in the repository.
    pub fn run(&self, args: &[&str]) -> Outcome {
        outcome(self.regent().args(args))
    }

    /// Runs `regent ARGS` and asserts success; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        expect_ok(args, self.run(args))
    }

    /// Runs `regent ARGS` and asserts the exit code; returns the outcome.
    pub fn run_err(&self, code: i32, args: &[&str]) -> Outcome {
        expect_code(code, args, self.run(args))
    }

    /// The `regent` binary run by `name`: git's author and committer are
    /// `name <name@example.com>` and no REGENT_ACTOR is set, so the actor is
    /// git's identity (as for an approval, which is the committer's own).
    pub fn regent_as(&self, name: &str) -> Command {
        let mut cmd = self.regent();
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        cmd.env_remove("REGENT_ACTOR")
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", &email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", &email);
        cmd
    }

    /// Runs `regent ARGS` as `name` (see [`TestEnv::regent_as`]).
    pub fn run_as(&self, name: &str, args: &[&str]) -> Outcome {
        outcome(self.regent_as(name).args(args))
    }

    /// Runs `regent ARGS` as `name` and asserts success; returns stdout.
    pub fn run_as_ok(&self, name: &str, args: &[&str]) -> String {
        expect_ok(args, self.run_as(name, args))
    }

    /// Runs `regent ARGS` as `name` and asserts the exit code.
    pub fn run_as_err(&self, name: &str, code: i32, args: &[&str]) -> Outcome {
        expect_code(code, args, self.run_as(name, args))
    }

    /// Runs `regent ARGS --json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.run_ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Runs `sh -c SCRIPT` in the repository with this environment and
    /// `$REGENT` set to the binary (for shell features: pipes, ulimit).
    pub fn sh(&self, script: &str) -> Outcome {
        let mut cmd = Command::new("sh");
        self.apply_env(&mut cmd);
        cmd.current_dir(&self.repo)
            .env("REGENT", assert_cmd::cargo::cargo_bin("regent"))
            .arg("-c")
            .arg(script);
        outcome(&mut cmd)
    }

    /// A bare `origin.git` beside the repository, added as `origin`, with
    /// `main` pushed to it and tracked (`push -u`). Returns its path.
    pub fn add_origin(&self) -> PathBuf {
        let origin = self.root.join("origin.git");
        let path = origin.to_str().unwrap();
        self.git_in(&self.root, &["init", "-q", "--bare", "-b", "main", path]);
        self.git(&["remote", "add", "origin", path]);
        self.git(&["push", "-q", "-u", "origin", "main"]);
        origin
    }

    /// Runs the system `git` in the repository and returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.repo, args)
    }

    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        self.apply_env(&mut cmd);
        let out = cmd.current_dir(dir).args(args).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes a file (relative to the repository), creating folders.
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.repo.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.repo.join(path)).unwrap()
    }

    /// Commits everything in the working tree (a hand edit).
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn commit_count(&self) -> usize {
        self.git(&["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .unwrap()
    }

    /// Everything that must stay as it was when a command refuses.
    pub fn state(&self) -> RepoState {
        let mut files = Vec::new();
        let mut pending = vec![self.repo.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                if path.file_name().is_some_and(|n| n == ".git") {
                    continue;
                }
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() {
                    let rel = path
                        .strip_prefix(&self.repo)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    files.push((
                        rel,
                        String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
                    ));
                }
            }
        }
        files.sort();
        RepoState {
            // Remote-tracking refs are a cache of the remote, not the user's state.
            refs: self.git(&[
                "for-each-ref",
                "--format=%(refname) %(objectname)",
                "refs/heads",
                "refs/tags",
            ]) + &self.git(&["symbolic-ref", "-q", "HEAD"]),
            status: self.git(&["status", "--porcelain=v1", "--untracked-files=all"]),
            files,
        }
    }
}

fn expect_ok(args: &[&str], out: Outcome) -> String {
    assert_eq!(
        out.code, 0,
        "regent {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

fn expect_code(code: i32, args: &[&str], out: Outcome) -> Outcome {
    assert_eq!(
        out.code, code,
        "regent {args:?}: expected exit {code}, got {}:\n{}\n{}",
        out.code, out.stdout, out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
    out
}

fn outcome(cmd: &mut Command) -> Outcome {
    let out = cmd.output().expect("regent runs");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
