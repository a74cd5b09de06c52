//! Crash safety: `regent` killed with SIGKILL at every named crash point
//! (src/fault.rs; compiled into test builds only) inside register, promote,
//! alias set and run log, locally and with `--push` to a bare remote, and at random
//! moments from outside. After each crash: `git fsck --strict` is clean (in
//! the bare remote too), the registry at HEAD is valid, the event is either
//! wholly there (one commit with the files, trailers and tags an uncrashed
//! run makes) or wholly absent, and the user can carry on: the retried
//! command finishes what was interrupted and never makes the event twice.

use crate::common::TestEnv;
use std::collections::BTreeSet;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Every crash point in `src/`, in the order a command reaches them.
const POINTS: &[&str] = &[
    "after-cache-temp",
    "after-cache",
    "after-objects",
    "after-temp-file",
    "after-journal",
    "after-push",
    "after-checkout",
    "after-branch",
    "after-worktree-file",
    "after-index",
    "after-tag",
    "after-journal-removed",
    // Inside an artifact upload, before any commit (tests/cli/artifacts.rs).
    "upload-part",
];

/// A registry, and with `--push` its bare `origin.git`.
struct Fixture {
    env: TestEnv,
    origin: Option<PathBuf>,
}

impl Fixture {
    /// A registry after `setup` (lifecycle commands); with `push`, also
    /// published to a bare remote (`../origin.git`, a relative URL so that a
    /// copy of the folder works) that the branch tracks.
    fn new(setup: &[&[&str]], push: bool) -> Fixture {
        let env = TestEnv::with_registry();
        for args in setup {
            env.run_ok(args);
        }
        let origin = push.then(|| {
            let origin = env.root.join("origin.git");
            env.git_in(
                &env.root,
                &["init", "-q", "--bare", "-b", "main", "origin.git"],
            );
            env.git(&["remote", "add", "origin", "../origin.git"]);
            env.git(&["push", "-q", "-u", "origin", "main", "--tags"]);
            origin
        });
        Fixture { env, origin }
    }

    /// A copy in a new temporary folder (cheaper than running the setup
    /// again for each crash).
    fn copy(&self) -> Fixture {
        let env = TestEnv::new();
        std::fs::remove_dir_all(&env.repo).unwrap();
        let copy = |from: &Path, to: &Path| {
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(from)
                .arg(to)
                .status()
                .unwrap();
            assert!(status.success(), "cp -a {}", from.display());
        };
        copy(&self.env.repo, &env.repo);
        let origin = self.origin.as_ref().map(|o| {
            let to = env.root.join("origin.git");
            copy(o, &to);
            to
        });
        Fixture { env, origin }
    }

    /// A second clone registers and pushes, leaving this checkout behind
    /// the remote.
    fn fall_behind(&self) {
        let env = &self.env;
        env.git_in(&env.root, &["clone", "-q", "origin.git", "other"]);
        let out = env
            .regent_in(&env.root.join("other"))
            .args(["register", "m", "--artifact", "s3://b/other", "--push"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `regent ARGS` with extra environment variables; how it ended.
    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> ExitStatus {
        self.env
            .spawn_regent(&self.env.repo, args, vars)
            .wait()
            .expect("regent runs")
    }

    fn remote_git(&self, args: &[&str]) -> Option<String> {
        let origin = self.origin.as_ref()?;
        Some(self.env.git_in(origin, args))
    }

    /// The commit an event is built on: the remote's head with --push.
    fn base(&self) -> String {
        match self.remote_git(&["rev-parse", "main"]) {
            Some(head) => head.trim().to_owned(),
            None => self.env.head(),
        }
    }
}

/// What an uncrashed run makes: one commit (its tree and message on top of
/// the old HEAD) and its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    tree: String,
    message: String,
    tags: Vec<String>,
}

/// The commit `rev` names, as an event (tree, message, tags pointing at it).
fn event_at(env: &TestEnv, dir: &Path, rev: &str) -> Event {
    let git = |args: &[&str]| env.git_in(dir, args);
    let log = git(&["log", "-1", "--format=%T%n%B", rev]);
    let (tree, message) = log.split_once('\n').unwrap();
    Event {
        tree: tree.to_owned(),
        message: message.to_owned(),
        tags: git(&["tag", "--points-at", rev])
            .lines()
            .map(str::to_owned)
            .collect(),
    }
}

fn tags(env: &TestEnv, dir: &Path) -> BTreeSet<String> {
    env.git_in(dir, &["tag", "-l"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `git fsck --strict` finds no error in `dir` (dangling objects from a
/// commit that never became visible are normal Git and allowed).
fn assert_fsck_clean(env: &TestEnv, dir: &Path) {
    let out = std::process::Command::new("git")
        .args(["fsck", "--strict", "--no-dangling", "--no-progress"])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", env.root.join("home"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.trim().is_empty(),
        "git fsck --strict in {}: {text}",
        dir.display()
    );
}

/// One command under test, and what its retry does once the event landed.
struct Scenario {
    setup: &'static [&'static [&'static str]],
    command: &'static [&'static str],
    push: bool,
    /// Whether another clone pushed an event first (then --push builds on
    /// it and fast-forwards this checkout).
    behind: bool,
    /// Whether running the command again after it landed makes a new event
    /// (a registration: the next version) rather than refusing (exit 1,
    /// "nothing to do").
    repeatable: bool,
}

impl Scenario {
    fn args(&self) -> Vec<&'static str> {
        let mut args = self.command.to_vec();
        if self.push {
            args.push("--push");
        }
        args
    }

    fn template(&self) -> Fixture {
        let fixture = Fixture::new(self.setup, self.push);
        if self.behind {
            fixture.fall_behind();
        }
        fixture
    }

    /// The event an uncrashed run makes, and the crash points it passes in
    /// order (`NAME@N` for the Nth pass of NAME).
    fn uncrashed(&self, template: &Fixture) -> (Event, Vec<String>) {
        let fixture = template.copy();
        let log = fixture.env.root.join("points.log");
        let status = fixture.run_with(&self.args(), &[("REGENT_FAULT_LOG", log.to_str().unwrap())]);
        assert!(status.success(), "{:?}: {status:?}", self.args());
        let mut seen: Vec<String> = Vec::new();
        let mut faults = Vec::new();
        for point in std::fs::read_to_string(&log).unwrap().lines() {
            seen.push(point.to_owned());
            let hit = seen.iter().filter(|p| *p == point).count();
            faults.push(format!("{point}@{hit}"));
        }
        let event = event_at(&fixture.env, &fixture.env.repo, "HEAD");
        (event, faults)
    }

    /// Kills the command at every pass of every crash point, each time in a
    /// fresh copy of the setup; returns the points passed.
    fn crash_everywhere(&self) -> BTreeSet<String> {
        let template = self.template();
        let (expected, faults) = self.uncrashed(&template);
        for fault in &faults {
            self.crash_at(&template.copy(), fault, &expected);
        }
        faults
            .iter()
            .map(|f| f.split('@').next().unwrap().to_owned())
            .collect()
    }

    /// Runs the command with `fault`, checks what the crash left, and that
    /// the retry heals it.
    fn crash_at(&self, fixture: &Fixture, fault: &str, expected: &Event) {
        let env = &fixture.env;
        let before = Before {
            head: env.head(),
            base: fixture.base(),
            tags: tags(env, &env.repo),
        };
        let status = fixture.run_with(&self.args(), &[("REGENT_FAULT", fault)]);
        assert_eq!(
            status.signal(),
            Some(9),
            "{:?} with {fault}: expected SIGKILL, got {status:?}",
            self.args()
        );
        let landed = check_after_crash(fixture, &before, expected, fault);
        self.check_retry(fixture, &before.base, expected, landed, fault);
    }

    /// The user carries on by running the same command again: it finishes
    /// an interrupted event and never makes it twice.
    fn check_retry(
        &self,
        fixture: &Fixture,
        base: &str,
        expected: &Event,
        landed: bool,
        fault: &str,
    ) {
        let env = &fixture.env;
        let out = env.run(&self.args());
        let want = if landed && !self.repeatable { 1 } else { 0 };
        assert_eq!(
            out.code, want,
            "retry after {fault} (landed: {landed}):\n{}\n{}",
            out.stdout, out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(
            env.git(&["status", "--porcelain=v1", "--untracked-files=all"]),
            "",
            "after {fault} and a retry the checkout is clean"
        );
        env.run_ok(&["validate"]);
        // The event is on the branch exactly once, whole, with its tags.
        let commits = env.git(&["rev-list", "--reverse", &format!("{base}..HEAD")]);
        let events: Vec<Event> = commits
            .lines()
            .map(|c| event_at(env, &env.repo, c))
            .collect();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.message == expected.message)
                .count(),
            1,
            "after {fault}: the event once: {events:#?}"
        );
        assert_eq!(
            events[0], *expected,
            "after {fault}: the first commit is the whole event"
        );
        if let Some(remote_head) = fixture.remote_git(&["rev-parse", "main"]) {
            assert_eq!(remote_head.trim(), env.head(), "after {fault}");
            for tag in &expected.tags {
                assert_eq!(
                    fixture.remote_git(&["rev-parse", tag]),
                    Some(env.git(&["rev-parse", tag])),
                    "after {fault}: local {tag} is the very tag object pushed"
                );
            }
        }
    }
}

/// The state before the crashed command.
struct Before {
    /// The local branch.
    head: String,
    /// What the event is built on (the remote's head with --push).
    base: String,
    tags: BTreeSet<String>,
}

/// What a crash may leave: the branch (and with --push the remote) either
/// as it was, with no new tag, or exactly one new commit on the base that is
/// the whole event. Returns whether the event landed.
fn check_after_crash(fixture: &Fixture, before: &Before, expected: &Event, fault: &str) -> bool {
    let env = &fixture.env;
    assert_fsck_clean(env, &env.repo);
    env.run_ok(&["validate", "--rev", "HEAD"]);
    // The working tree too: a left-over temporary file is not read as a
    // registry file, and files are written in an order that stays valid.
    env.run_ok(&["validate"]);
    let whole_or_absent = |dir: &Path, old: &str, what: &str| -> bool {
        let head = env.git_in(dir, &["rev-parse", "main"]).trim().to_owned();
        if head == old {
            return false;
        }
        assert_eq!(
            env.git_in(dir, &["rev-parse", "main^"]).trim(),
            before.base,
            "{what} after {fault}: one new commit on the base"
        );
        let got = event_at(env, dir, "main");
        assert_eq!(
            got.tree, expected.tree,
            "{what} after {fault}: all the files"
        );
        assert_eq!(
            got.message, expected.message,
            "{what} after {fault}: the trailers"
        );
        true
    };
    let local = whole_or_absent(&env.repo, &before.head, "the local branch");
    if !local {
        assert_eq!(
            tags(env, &env.repo),
            before.tags,
            "after {fault}: no new tag"
        );
    }
    let Some(origin) = &fixture.origin else {
        return local;
    };
    assert_fsck_clean(env, origin);
    let remote = whole_or_absent(origin, &before.base, "the remote");
    assert!(
        !local || remote,
        "after {fault}: only a pushed event is local"
    );
    if remote {
        let remote_tags = tags(env, origin);
        assert!(
            expected.tags.iter().all(|t| remote_tags.contains(t)),
            "after {fault}: pushed with its tags"
        );
    }
    remote
}

fn assert_reached(reached: &BTreeSet<String>, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(*reached, expected, "the crash points the command passes");
}

/// The points every local event passes.
const LOCAL_POINTS: &[&str] = &[
    "after-objects",
    "after-temp-file",
    "after-journal",
    "after-branch",
    "after-worktree-file",
    "after-index",
    "after-journal-removed",
];

/// The points of a command: the local ones, and `more`.
fn points(more: &[&'static str]) -> Vec<&'static str> {
    LOCAL_POINTS.iter().chain(more).copied().collect()
}

#[test]
fn register_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[],
        command: &["register", "m", "--artifact", "s3://b/m/1"],
        push: false,
        behind: false,
        repeatable: true,
    };
    // Two files (model.yaml, versions/1.yaml), each a temporary file renamed.
    assert_reached(&scenario.crash_everywhere(), &points(&["after-tag"]));
}

#[test]
fn promote_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[&["register", "m", "--artifact", "s3://b/m/1"]],
        command: &["promote", "m", "1", "--to", "staging"],
        push: false,
        behind: false,
        repeatable: false,
    };
    // The policy's facts come from the history, which is cached.
    let more = ["after-cache-temp", "after-cache", "after-tag"];
    assert_reached(&scenario.crash_everywhere(), &points(&more));
}

#[test]
fn alias_set_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[&["register", "m", "--artifact", "s3://b/m/1"]],
        command: &["alias", "set", "m", "champion", "1"],
        push: false,
        behind: false,
        repeatable: false,
    };
    // An alias has no tag.
    let more = ["after-cache-temp", "after-cache"];
    assert_reached(&scenario.crash_everywhere(), &points(&more));
}

#[test]
fn register_push_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[&["register", "m", "--artifact", "s3://b/m/1"]],
        command: &["register", "m", "--artifact", "s3://b/m/2"],
        push: true,
        behind: false,
        repeatable: true,
    };
    assert_reached(
        &scenario.crash_everywhere(),
        &points(&["after-push", "after-tag"]),
    );
}

#[test]
fn promote_push_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[&["register", "m", "--artifact", "s3://b/m/1"]],
        command: &["promote", "m", "1", "--to", "staging"],
        push: true,
        behind: false,
        repeatable: false,
    };
    let more = ["after-cache-temp", "after-cache", "after-push", "after-tag"];
    assert_reached(&scenario.crash_everywhere(), &points(&more));
}

/// Behind the remote, --push builds on the remote's head and then
/// fast-forwards the checkout (a checkout, then the branch move).
#[test]
fn register_push_from_behind_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[&["register", "m", "--artifact", "s3://b/m/1"]],
        command: &["register", "m", "--artifact", "s3://b/m/3"],
        push: true,
        behind: true,
        repeatable: true,
    };
    let expected = [
        "after-objects",
        "after-temp-file",
        "after-journal",
        "after-push",
        "after-checkout",
        "after-tag",
        "after-journal-removed",
    ];
    assert_reached(&scenario.crash_everywhere(), &expected);
}

#[test]
fn run_log_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[],
        command: &["run", "log", "exp", "--name", "r1", "--metric", "a=1"],
        push: false,
        behind: false,
        repeatable: false,
    };
    assert_reached(&scenario.crash_everywhere(), LOCAL_POINTS);
}

/// `run log --push` from behind goes through the same steps as a
/// registration: built on the remote's head, pushed, then fast-forwarded.
#[test]
fn run_log_push_from_behind_survives_a_crash_at_every_point() {
    let scenario = Scenario {
        setup: &[],
        command: &["run", "log", "exp", "--name", "r1", "--metric", "a=1"],
        push: true,
        behind: true,
        repeatable: false,
    };
    let expected = [
        "after-objects",
        "after-temp-file",
        "after-journal",
        "after-push",
        "after-checkout",
        "after-journal-removed",
    ];
    assert_reached(&scenario.crash_everywhere(), &expected);
}

/// Killed after the branch moved, before the files and tags were written;
/// `regent publish` (the next command a CI runs) creates the missing tag,
/// the very tag object the crashed command made.
#[test]
fn publish_creates_the_tags_a_crash_left_out() {
    let fixture = Fixture::new(&[], false);
    let env = &fixture.env;
    let status = fixture.run_with(
        &["register", "m", "--artifact", "s3://b/m/1"],
        &[("REGENT_FAULT", "after-branch")],
    );
    assert_eq!(status.signal(), Some(9));
    assert_eq!(env.git(&["tag", "-l"]), "", "killed before the tag refs");
    let out = env.run_ok(&["publish"]);
    assert!(out.contains("m@v1"), "{out}");
    assert_eq!(
        env.git(&["rev-parse", "m@v1^{commit}"]).trim(),
        env.head(),
        "m@v1 names the registration"
    );
    assert_eq!(env.git(&["cat-file", "-t", "m@v1"]).trim(), "tag");
    assert_eq!(
        env.git(&["status", "--porcelain=v1", "--untracked-files=all"]),
        "",
        "and the files are finished too"
    );
    // Nothing is left to do: the next publish creates nothing.
    let again = env.run(&["publish"]);
    assert!(
        again.stderr.contains("0 tag(s) created"),
        "{}",
        again.stderr
    );
}

/// Killed after the push, before the local branch moved: the remote has the
/// event and its tag. `regent publish` brings the branch along and creates
/// the local tag as the very object the remote has (a new one would clash
/// with it on the next fetch or push).
#[test]
fn publish_after_a_crash_past_the_push_matches_the_remote() {
    let fixture = Fixture::new(&[], true);
    let env = &fixture.env;
    let status = fixture.run_with(
        &["register", "m", "--artifact", "s3://b/m/1", "--push"],
        &[("REGENT_FAULT", "after-push")],
    );
    assert_eq!(status.signal(), Some(9));
    let remote_head = fixture.remote_git(&["rev-parse", "main"]).unwrap();
    assert_ne!(
        remote_head.trim(),
        env.head(),
        "the local branch did not move"
    );
    let out = env.run(&["publish"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("was pushed"), "{}", out.stderr);
    assert_eq!(remote_head.trim(), env.head(), "the branch came along");
    assert_eq!(
        fixture.remote_git(&["rev-parse", "m@v1"]),
        Some(env.git(&["rev-parse", "m@v1"])),
        "the same tag object"
    );
    assert_eq!(
        env.git(&["status", "--porcelain=v1", "--untracked-files=all"]),
        ""
    );
}

/// A user who edits a file the interrupted event was writing keeps the
/// edit: regent stops, says which file and the one command that takes the
/// committed version, and finishes once that is done.
#[test]
fn an_interrupted_event_never_overwrites_the_users_edit() {
    let fixture = Fixture::new(&[&["register", "m", "--artifact", "s3://b/m/1"]], false);
    let env = &fixture.env;
    let status = fixture.run_with(
        &["promote", "m", "1", "--to", "staging"],
        &[("REGENT_FAULT", "after-branch")],
    );
    assert_eq!(status.signal(), Some(9));
    let edited = format!("{}# my note\n", env.read("models/m/model.yaml"));
    env.write("models/m/model.yaml", &edited);
    let out = env.run_err(1, &["alias", "set", "m", "champion", "1"]);
    assert!(
        out.stderr
            .contains("git checkout HEAD -- models/m/model.yaml"),
        "{}",
        out.stderr
    );
    assert_eq!(env.read("models/m/model.yaml"), edited, "the edit is kept");
    assert_eq!(env.git(&["tag", "-l", "m#*"]), "");
    env.git(&["checkout", "HEAD", "--", "models/m/model.yaml"]);
    let out = env.run(&["alias", "set", "m", "champion", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("finished the interrupted"),
        "{}",
        out.stderr
    );
    assert_eq!(env.git(&["tag", "-l", "m#*"]).trim(), "m#staging#1");
}

/// Kills from outside at random moments (the whole process group, so a
/// `git push` child dies too), to catch windows between the named points.
/// After each kill the repositories are sound and the registry valid, and
/// the next command carries on; at the end every registration is there
/// once, numbered densely, with its tag.
fn random_kills(push: bool, iterations: u64) {
    let fixture = Fixture::new(&[&["register", "m", "--artifact", "s3://b/m/0"]], push);
    let env = &fixture.env;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("random_kills seed {seed}");
    let mut random = seed;
    let mut next = move || {
        // xorshift64*: enough to spread the kill times.
        random ^= random >> 12;
        random ^= random << 25;
        random ^= random >> 27;
        random.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let with_push = |mut args: Vec<String>| {
        if push {
            args.push("--push".into());
        }
        args
    };
    // How long a command takes here: kills land anywhere in it.
    let started = std::time::Instant::now();
    let timing = with_push(vec!["describe".into(), "m".into(), "timing".into()]);
    env.run_ok(&timing.iter().map(String::as_str).collect::<Vec<_>>());
    let span_ms = (started.elapsed().as_millis() as u64 * 3 / 2).max(10);
    for i in 0..iterations {
        let versions = std::fs::read_dir(env.repo.join("models/m/versions"))
            .unwrap()
            .count();
        let args: Vec<String> = match i % 3 {
            0 => vec![
                "register".into(),
                "m".into(),
                "--artifact".into(),
                format!("s3://b/m/{i}"),
            ],
            1 => vec![
                "promote".into(),
                "m".into(),
                versions.to_string(),
                "--to".into(),
                "staging".into(),
            ],
            _ => vec![
                "alias".into(),
                "set".into(),
                "m".into(),
                "latest".into(),
                versions.to_string(),
            ],
        };
        let args = with_push(args);
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("regent"));
        command
            .env_clear()
            .envs(env.env_vars())
            .current_dir(&env.repo)
            .args(&args);
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0);
        let mut child = command.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(next() % span_ms));
        let group = format!("-{}", child.id());
        let _ = std::process::Command::new("sh")
            .args(["-c", "kill -KILL -- \"$1\" 2>/dev/null", "sh", &group])
            .status();
        let status = child.wait().unwrap();
        assert!(
            status.signal() == Some(9) || status.code().is_some_and(|c| c <= 1),
            "{args:?} (iteration {i}, seed {seed}): {status:?}"
        );
        assert_fsck_clean(env, &env.repo);
        env.run_ok(&["validate", "--rev", "HEAD"]);
        if let Some(origin) = &fixture.origin {
            assert_fsck_clean(env, origin);
        }
        // The user carries on: any next command finishes what was left.
        let text = format!("after kill {i}");
        env.run_ok(
            &with_push(vec!["describe".into(), "m".into(), text])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            env.git(&["status", "--porcelain=v1", "--untracked-files=all"]),
            "",
            "iteration {i} (seed {seed}): the checkout is clean"
        );
    }
    env.run_ok(&["validate"]);
    let registrations = env.git(&[
        "log",
        "--format=%H %(trailers:key=Regent-Event,valueonly,separator=)%(trailers:key=Regent-Version,valueonly,separator=)",
        "HEAD",
    ]);
    let mut numbers = Vec::new();
    for line in registrations.lines() {
        let mut words = line.split(' ');
        let (commit, event) = (words.next().unwrap(), words.next().unwrap_or_default());
        if let Some(version) = event.strip_prefix("register") {
            numbers.push(version.parse::<u64>().unwrap());
            let tagged = env.git(&["rev-parse", &format!("m@v{version}^{{commit}}")]);
            assert_eq!(tagged.trim(), commit, "m@v{version} (seed {seed})");
        }
    }
    numbers.sort_unstable();
    let dense: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(numbers, dense, "each version registered once (seed {seed})");
    if let Some(remote_head) = fixture.remote_git(&["rev-parse", "main"]) {
        assert_eq!(remote_head.trim(), env.head(), "seed {seed}");
    }
}

#[test]
fn random_kills_locally() {
    random_kills(false, 20);
}

#[test]
fn random_kills_with_push() {
    random_kills(true, 15);
}

/// The list above names every point the code has, so that a new point is
/// exercised by the tests above.
#[test]
fn every_crash_point_in_the_code_is_listed() {
    let mut found = BTreeSet::new();
    let mut pending = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for piece in text.split("fault::point(\"").skip(1) {
                found.insert(piece.split('"').next().unwrap().to_owned());
            }
        }
    }
    let listed: BTreeSet<String> = POINTS.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(found, listed);
}
