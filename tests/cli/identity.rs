//! Who is acting and who commits: git's own identity (`git var`), with
//! everything git honours (GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM,
//! includeIf, author.* and committer.*, GIT_AUTHOR_* and GIT_COMMITTER_*),
//! unless --actor, REGENT_ACTOR or GITHUB_ACTOR name the actor; and offline
//! approvals, which are always the committer's own.

use crate::common::TestEnv;
use crate::lifecycle::governed;
use assert_cmd::Command;

/// regent without the test environment's identity (no GIT_AUTHOR_* or
/// GIT_COMMITTER_* names and emails, no REGENT_ACTOR), so git's
/// configuration decides.
fn from_config(env: &TestEnv) -> Command {
    let mut cmd = env.regent();
    for key in [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "REGENT_ACTOR",
    ] {
        cmd.env_remove(key);
    }
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (exit code, stderr)
fn fails(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

/// A config file outside the repository.
fn config(env: &TestEnv, name: &str, text: &str) -> String {
    let path = env.root.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `author name|author email|committer name|committer email` of HEAD.
fn commit_identity(env: &TestEnv) -> String {
    env.git(&["log", "-1", "--format=%an|%ae|%cn|%ce"])
        .trim()
        .to_owned()
}

/// HEAD's Regent-Actor trailer and the actor of the last event in `history --json`.
fn recorded_actor(env: &TestEnv) -> (String, String) {
    let trailer = env
        .git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Regent-Actor,valueonly,separator=)",
        ])
        .trim()
        .to_owned();
    let events = env.json(&["history"]);
    let last = events.as_array().unwrap().last().unwrap().clone();
    (
        trailer,
        last["actor"].as_str().unwrap_or_default().to_owned(),
    )
}

fn assert_actor(env: &TestEnv, expected: &str) {
    assert_eq!(
        recorded_actor(env),
        (expected.to_owned(), expected.to_owned())
    );
}

/// The global config file named by GIT_CONFIG_GLOBAL gives the author,
/// the committer, the tagger and the actor (libgit2 alone would read
/// $HOME/.gitconfig instead).
#[test]
fn identity_from_the_file_named_by_git_config_global() {
    let env = TestEnv::with_registry();
    let global = config(
        &env,
        "global.gitconfig",
        "[user]\n\tname = Grace Hopper\n\temail = grace@example.com\n",
    );
    ok(from_config(&env).env("GIT_CONFIG_GLOBAL", &global).args([
        "register",
        "m",
        "--artifact",
        "s3://m/1",
    ]));
    assert_eq!(
        commit_identity(&env),
        "Grace Hopper|grace@example.com|Grace Hopper|grace@example.com"
    );
    assert_actor(&env, "Grace Hopper");
    assert_eq!(
        env.git(&["tag", "-l", "--format=%(taggername) %(taggeremail)", "m@v1"])
            .trim(),
        "Grace Hopper <grace@example.com>"
    );
    // A run's user is the actor too.
    ok(from_config(&env)
        .env("GIT_CONFIG_GLOBAL", &global)
        .args(["run", "log", "e", "--name", "r", "--metric", "m=1"]));
    assert!(
        env.read("experiments/e/45/r.yaml")
            .contains("user: Grace Hopper\n")
    );
    assert_eq!(
        commit_identity(&env),
        "Grace Hopper|grace@example.com|Grace Hopper|grace@example.com"
    );
}

/// An `includeIf "gitdir:…"` include applies as it does for `git commit`.
#[test]
fn identity_from_an_include_if_gitdir() {
    let env = TestEnv::with_registry();
    let work = config(
        &env,
        "work.gitconfig",
        "[user]\n\tname = Katherine Johnson\n\temail = kj@work.example.com\n",
    );
    let global = config(
        &env,
        "global.gitconfig",
        &format!(
            "[user]\n\tname = Somebody Else\n\temail = else@example.com\n\
             [includeIf \"gitdir:{}/\"]\n\tpath = {work}\n",
            env.repo.display()
        ),
    );
    ok(from_config(&env).env("GIT_CONFIG_GLOBAL", &global).args([
        "register",
        "m",
        "--artifact",
        "s3://m/1",
    ]));
    assert_eq!(
        commit_identity(&env),
        "Katherine Johnson|kj@work.example.com|Katherine Johnson|kj@work.example.com"
    );
    assert_actor(&env, "Katherine Johnson");
}

/// GIT_CONFIG_NOSYSTEM=1 keeps the system config out, as for git; without
/// it the system config's author.* applies (and the author, not the
/// committer, is the actor).
#[test]
fn git_config_nosystem_is_honoured() {
    let env = TestEnv::with_registry();
    let system = config(
        &env,
        "system.gitconfig",
        "[author]\n\tname = Sys Admin\n\temail = root@example.com\n",
    );
    let global = config(
        &env,
        "global.gitconfig",
        "[user]\n\tname = Grace Hopper\n\temail = grace@example.com\n",
    );
    ok(from_config(&env)
        .env("GIT_CONFIG_GLOBAL", &global)
        .env("GIT_CONFIG_SYSTEM", &system)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["register", "m", "--artifact", "s3://m/1"]));
    assert_eq!(
        commit_identity(&env),
        "Grace Hopper|grace@example.com|Grace Hopper|grace@example.com"
    );
    assert_actor(&env, "Grace Hopper");

    ok(from_config(&env)
        .env("GIT_CONFIG_GLOBAL", &global)
        .env("GIT_CONFIG_SYSTEM", &system)
        .env_remove("GIT_CONFIG_NOSYSTEM")
        .args(["register", "m", "--artifact", "s3://m/2"]));
    assert_eq!(
        commit_identity(&env),
        "Sys Admin|root@example.com|Grace Hopper|grace@example.com"
    );
    assert_actor(&env, "Sys Admin");
}

/// GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL override the config for the
/// author (and so the actor); the committer stays the config's.
#[test]
fn git_author_variables_override_the_config() {
    let env = TestEnv::with_registry();
    let global = config(
        &env,
        "global.gitconfig",
        "[user]\n\tname = Grace Hopper\n\temail = grace@example.com\n",
    );
    ok(from_config(&env)
        .env("GIT_CONFIG_GLOBAL", &global)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .args(["register", "m", "--artifact", "s3://m/1"]));
    assert_eq!(
        commit_identity(&env),
        "Ada Lovelace|ada@example.com|Grace Hopper|grace@example.com"
    );
    assert_actor(&env, "Ada Lovelace");

    // --actor, REGENT_ACTOR and GITHUB_ACTOR name the actor; the commit stays git's.
    for (n, (flag, var)) in [
        (Some("alice"), None),
        (None, Some(("REGENT_ACTOR", "alice"))),
        (None, Some(("GITHUB_ACTOR", "alice"))),
    ]
    .into_iter()
    .enumerate()
    {
        let mut cmd = from_config(&env);
        cmd.env("GIT_CONFIG_GLOBAL", &global);
        if let Some(name) = flag {
            cmd.args(["--actor", name]);
        }
        if let Some((key, value)) = var {
            cmd.env(key, value);
        }
        ok(cmd.args(["tag", "m/1", &format!("k={n}")]));
        assert_eq!(
            commit_identity(&env),
            "Grace Hopper|grace@example.com|Grace Hopper|grace@example.com"
        );
        assert_actor(&env, "alice");
    }
}

/// Dates come from git too, in any format git reads.
#[test]
fn commit_dates_are_gits() {
    let env = TestEnv::with_registry();
    ok(env
        .regent()
        .env("GIT_AUTHOR_DATE", "Thu, 07 Apr 2005 22:13:13 +0200")
        .env("GIT_COMMITTER_DATE", "2005-04-08 10:00:00 -0130")
        .args(["register", "m", "--artifact", "s3://m/1"]));
    assert_eq!(
        env.git(&["log", "-1", "--format=%ad|%cd", "--date=raw"])
            .trim(),
        "1112904793 +0200|1112959800 -0130"
    );
    assert_eq!(
        env.git(&["tag", "-l", "--format=%(taggerdate:raw)", "m@v1"])
            .trim(),
        "1112959800 -0130"
    );
    // A date git cannot read fails like `git commit` does, with nothing written.
    let before = env.state();
    let (code, stderr) = fails(env.regent().env("GIT_AUTHOR_DATE", "not a date").args([
        "register",
        "m",
        "--artifact",
        "s3://m/2",
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid date format"), "{stderr}");
    assert_eq!(env.state(), before);
}

/// When git has no identity, the actor commits as `<actor> <regent@localhost>`;
/// without an actor either, a clear error.
#[test]
fn without_a_git_identity() {
    let env = TestEnv::with_registry();
    // No name or email anywhere, and no guessing from the host.
    let global = config(&env, "global.gitconfig", "[user]\n\tuseConfigOnly = true\n");
    let before = env.state();
    let (code, stderr) = fails(from_config(&env).env("GIT_CONFIG_GLOBAL", &global).args([
        "register",
        "m",
        "--artifact",
        "s3://m/1",
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error: cannot tell who is acting"),
        "{stderr}"
    );
    assert!(stderr.contains("git has no identity"), "{stderr}");
    assert!(stderr.contains("hint: set git's identity"), "{stderr}");
    assert_eq!(env.state(), before);

    ok(from_config(&env).env("GIT_CONFIG_GLOBAL", &global).args([
        "--actor",
        "alice",
        "register",
        "m",
        "--artifact",
        "s3://m/1",
    ]));
    assert_eq!(
        commit_identity(&env),
        "alice|regent@localhost|alice|regent@localhost"
    );
    assert_actor(&env, "alice");

    // An approval needs the committer's identity.
    let (code, stderr) = fails(from_config(&env).env("GIT_CONFIG_GLOBAL", &global).args([
        "--actor", "alice", "approve", "m", "1", "--stage", "staging",
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error: cannot tell who is approving"),
        "{stderr}"
    );
}

/// Read commands never start `git` (they stay fast); commands that commit
/// ask it for the identity once per role.
#[test]
fn only_commands_that_commit_ask_git() {
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    let bin = env.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.root.join("git-calls.log");
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let wrapper = bin.join("git");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.trim()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for args in [
        &["--help"][..],
        &["show", "m"],
        &["show", "m", "--json"],
        &["history"],
        &["resolve", "models:/m/1"],
        &["validate"],
        &["run", "list"],
    ] {
        ok(env.regent().env("PATH", &path).args(args));
    }
    assert!(!log.exists(), "{}", std::fs::read_to_string(&log).unwrap());
    ok(env
        .regent()
        .env("PATH", &path)
        .args(["register", "m", "--artifact", "s3://m/2"]));
    let calls = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = calls
        .lines()
        .map(|l| l.split_once(" var ").map_or(l, |(_, v)| v))
        .collect();
    assert_eq!(calls, ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"]);
}

/// An offline approval is recorded under the committer's git identity, as
/// the actor and as the commit's author and committer.
#[test]
fn an_approval_is_the_committers() {
    let env = governed();
    env.run_ok(&["register", "churn", "--artifact", "s3://m/1"]);
    ok(env
        .regent()
        .env_remove("REGENT_ACTOR")
        .env("GIT_AUTHOR_NAME", "someone")
        .env("GIT_AUTHOR_EMAIL", "someone@example.com")
        .env("GIT_COMMITTER_NAME", "bob")
        .env("GIT_COMMITTER_EMAIL", "bob@example.com")
        .args(["approve", "churn", "1", "--stage", "production"]));
    assert_eq!(
        commit_identity(&env),
        "bob|bob@example.com|bob|bob@example.com"
    );
    assert_actor(&env, "bob");
    let events = env.json(&["history", "churn"]);
    let approval = events.as_array().unwrap().last().unwrap();
    assert_eq!(approval["event"], "approve");
    assert_eq!(approval["actor"], "bob");

    // From git's configuration too, and --actor naming the same person
    // (whatever the case) is accepted.
    let global = config(
        &env,
        "global.gitconfig",
        "[user]\n\tname = carol\n\temail = carol@example.com\n",
    );
    ok(from_config(&env).env("GIT_CONFIG_GLOBAL", &global).args([
        "--actor",
        "Carol",
        "approve",
        "churn",
        "1",
        "--stage",
        "production",
    ]));
    assert_eq!(
        commit_identity(&env),
        "carol|carol@example.com|carol|carol@example.com"
    );
    assert_actor(&env, "carol");
}

/// `--actor`, REGENT_ACTOR or GITHUB_ACTOR naming someone other than the
/// committer is refused for `approve`, with nothing written.
#[test]
fn approving_as_someone_else_is_refused() {
    let env = governed();
    env.run_ok(&["register", "churn", "--artifact", "s3://m/1"]);
    let before = env.state();
    let out = env.run_as_err(
        "mallory",
        1,
        &[
            "--actor",
            "bob",
            "approve",
            "churn",
            "1",
            "--stage",
            "production",
        ],
    );
    assert!(
        out.stderr.contains(
            "error: approve refused: --actor names \"bob\", but an approval is recorded under the committer's git identity, \"mallory\""
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hint: to approve as \"bob\", run regent as that person"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
    for key in ["REGENT_ACTOR", "GITHUB_ACTOR"] {
        let out = env
            .regent_as("mallory")
            .env(key, "bob")
            .args(["approve", "churn", "1", "--stage", "production"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("approve refused: {key} names \"bob\"")),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("unset {key}")), "{stderr}");
        assert_eq!(env.state(), before);
    }
    // The test environment's REGENT_ACTOR (tester) is not its committer either.
    let out = env.run_err(1, &["approve", "churn", "1", "--stage", "production"]);
    assert!(
        out.stderr.contains("REGENT_ACTOR names \"tester\""),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
}
