//! Many writers in one checkout (a sweep with `n_jobs=32`): every command
//! succeeds, serialised by the checkout's lock (`.git/regent/lock`); the
//! index and working tree end equal to HEAD; every event is in history and
//! in HEAD. And the lock's bounded wait: a clear message naming the lock and
//! its holder, with nothing written.

use crate::common::TestEnv;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A registry with model `p` at versions 1..=6, so that promotions and
/// aliases have distinct targets whatever order the writers run in. The
/// default policy of `regent init` lets staging promotions and aliases
/// through without approvals.
fn registry_for_a_sweep() -> TestEnv {
    let env = TestEnv::with_registry();
    for n in 1..=6 {
        env.run_ok(&["register", "p", "--artifact", &format!("s3://p/{n}")]);
    }
    env.run_ok(&["run", "start", "sweep", "--name", "live"]);
    env
}

/// What one of the 32 writers does, and the history entry it must leave.
#[derive(Debug, Clone)]
enum Job {
    Run(usize),
    /// `run update` of the running run `sweep/live` with its own metric.
    Update(usize),
    Register(usize),
    Promote(u64),
    Alias(u64),
}

impl Job {
    fn args(&self) -> Vec<String> {
        match self {
            Job::Run(i) => vec![
                "run".into(),
                "log".into(),
                "sweep".into(),
                "--name".into(),
                format!("r{i}"),
                "--param".into(),
                format!("lr={i}"),
                "--metric".into(),
                format!("accuracy=0.{i}"),
            ],
            Job::Update(i) => vec![
                "run".into(),
                "update".into(),
                "sweep/live".into(),
                "--metric".into(),
                format!("m{i}=0.{i}"),
                "--step".into(),
                i.to_string(),
            ],
            Job::Register(i) => vec![
                "register".into(),
                "m".into(),
                "--artifact".into(),
                format!("s3://m/{i}"),
            ],
            Job::Promote(v) => vec![
                "promote".into(),
                "p".into(),
                v.to_string(),
                "--to".into(),
                "staging".into(),
            ],
            Job::Alias(v) => vec![
                "alias".into(),
                "set".into(),
                "p".into(),
                format!("a{v}"),
                v.to_string(),
            ],
        }
    }
}

/// 8 runs, 4 updates of one running run, 8 registrations, 6 promotions,
/// 6 aliases, interleaved.
fn jobs() -> Vec<Job> {
    let mut jobs = Vec::new();
    for i in 0..12 {
        jobs.push(if i < 8 { Job::Run(i) } else { Job::Update(i) });
        if i < 8 {
            jobs.push(Job::Register(i));
        }
        if i < 6 {
            jobs.push(Job::Promote(i as u64 + 1));
            jobs.push(Job::Alias(i as u64 + 1));
        }
    }
    assert_eq!(jobs.len(), 32);
    jobs
}

/// Starts every job at once in `dir` (with `extra` arguments) and asserts
/// that each succeeded. Each pauses 40 ms between reading and writing Git's
/// index (a test-only pause, src/fault.rs): without the lock, writers then
/// overlap there every time, instead of only by chance.
fn run_all_at_once(env: &TestEnv, dir: &Path, jobs: &[Job], extra: &[&str]) {
    let children: Vec<_> = jobs
        .iter()
        .map(|job| {
            let mut args = job.args();
            args.extend(extra.iter().map(|a| (*a).to_owned()));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let pause = [("REGENT_FAULT_PAUSE", "after-worktree-file:40")];
            (args.clone(), env.spawn_regent(dir, &refs, &pause))
        })
        .collect();
    let mut failures = Vec::new();
    for (args, child) in children {
        let out = child.wait_with_output().expect("regent ran");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if !out.status.success() {
            failures.push(format!("{args:?}: {:?}\n{stderr}", out.status.code()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} writers failed:\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n")
    );
}

/// Index and working tree equal to HEAD, nothing untracked, nothing staged.
fn assert_checkout_clean(env: &TestEnv, dir: &Path) {
    let status = env.git_in(dir, &["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(status, "", "git status after the writers:\n{status}");
    // `git status` refreshes stat data only; compare contents too.
    env.git_in(dir, &["diff", "--quiet", "HEAD"]);
    env.git_in(dir, &["diff", "--quiet", "--cached", "HEAD"]);
}

/// Every job's event is in `regent history` and its file in HEAD.
fn assert_every_event_recorded(env: &TestEnv, dir: &Path, jobs: &[Job]) {
    let history = json_in(env, dir, &["history"]);
    let events = history.as_array().expect("a list of events");
    let of = |kind: &str| -> Vec<&Value> { events.iter().filter(|e| e["event"] == kind).collect() };
    let runs: BTreeSet<String> = of("run")
        .iter()
        .map(|e| e["run"].as_str().unwrap_or_default().to_owned())
        .collect();
    let promoted: BTreeSet<u64> = of("promote")
        .iter()
        .filter_map(|e| e["version"].as_u64())
        .collect();
    let aliases: BTreeSet<String> = of("alias")
        .iter()
        .map(|e| e["alias"].as_str().unwrap_or_default().to_owned())
        .collect();
    let registered_m = of("register").iter().filter(|e| e["model"] == "m").count();
    for job in jobs {
        match job {
            Job::Run(i) => {
                assert!(runs.contains(&format!("r{i}")), "run r{i} not in history");
                let path = crate::common::run_file("sweep", &format!("r{i}"));
                env.git_in(dir, &["cat-file", "-e", &format!("HEAD:{path}")]);
            }
            Job::Promote(v) => assert!(promoted.contains(v), "promote p {v} not in history"),
            Job::Alias(v) => assert!(aliases.contains(&format!("a{v}")), "alias a{v} missing"),
            Job::Register(_) => {}
            Job::Update(i) => {
                let live = json_in(env, dir, &["run", "show", "sweep/live"]);
                assert_eq!(
                    live["metrics"][format!("m{i}")].as_f64(),
                    Some(format!("0.{i}").parse().unwrap()),
                    "update {i} lost: {live}"
                );
                let steps: Vec<u64> = live["history"][format!("m{i}")]
                    .as_array()
                    .map(|points| points.iter().filter_map(|p| p["step"].as_u64()).collect())
                    .unwrap_or_default();
                assert_eq!(steps, [*i as u64], "{live}");
            }
        }
    }
    let registers = jobs
        .iter()
        .filter(|j| matches!(j, Job::Register(_)))
        .count();
    assert_eq!(
        registered_m, registers,
        "every registration of m is in history"
    );

    // HEAD's files say the same: versions 1..=n of m with every artifact,
    // p's aliases, and a staging that one of the promotions holds.
    let m = json_in(env, dir, &["show", "m"]);
    let uris: BTreeSet<String> = m["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| v["artifact"]["uri"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: BTreeSet<String> = jobs
        .iter()
        .filter_map(|j| match j {
            Job::Register(i) => Some(format!("s3://m/{i}")),
            _ => None,
        })
        .collect();
    assert_eq!(uris, expected, "every registration is a version in HEAD");
    let p = json_in(env, dir, &["show", "p"]);
    for job in jobs {
        if let Job::Alias(v) = job {
            assert_eq!(p["aliases"][format!("a{v}")], *v, "alias a{v} in HEAD: {p}");
        }
    }
    assert!(
        promoted.contains(&p["stages"]["staging"].as_u64().unwrap_or(0)),
        "{p}"
    );
    let out = env
        .regent_in(dir)
        .arg("validate")
        .output()
        .expect("validate");
    assert!(
        out.status.success(),
        "validate: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn json_in(env: &TestEnv, dir: &Path, args: &[&str]) -> Value {
    let out = env
        .regent_in(dir)
        .args(args)
        .arg("--json")
        .output()
        .expect("regent runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Thirty-two `run log`, `register`, `promote` and `alias set` processes
/// started at once in one checkout all succeed; none of their events is
/// lost, and Git's index and working tree end equal to HEAD.
#[test]
fn thirty_two_writers_in_one_checkout_lose_nothing() {
    let env = registry_for_a_sweep();
    let before = env.commit_count();
    let jobs = jobs();
    run_all_at_once(&env, &env.repo, &jobs, &[]);
    assert_eq!(env.commit_count(), before + jobs.len(), "one commit each");
    assert_checkout_clean(&env, &env.repo);
    assert_every_event_recorded(&env, &env.repo, &jobs);
    assert_eq!(
        std::fs::read_to_string(env.repo.join(".git/regent/lock")).unwrap(),
        "",
        "the lock file is empty once nobody holds it"
    );
}

/// The same with `--push` from one clone: the writers build on the
/// remote's head and push without holding the checkout's lock, then take it
/// to bring the branch along. All land, on the remote and in the checkout.
#[test]
fn sixteen_pushers_in_one_checkout_lose_nothing() {
    let env = registry_for_a_sweep();
    let origin = env.root.join("origin.git");
    let origin_arg = origin.to_str().unwrap();
    env.git_in(
        &env.root,
        &["init", "-q", "--bare", "-b", "main", origin_arg],
    );
    env.git(&["remote", "add", "origin", origin_arg]);
    env.git(&["push", "-q", "--follow-tags", "-u", "origin", "main"]);
    let before = env.commit_count();
    let jobs: Vec<Job> = jobs()
        .into_iter()
        .filter(|job| match job {
            Job::Run(i) => *i < 6,
            Job::Register(i) => *i < 4,
            Job::Promote(v) | Job::Alias(v) => *v <= 3,
            Job::Update(_) => false,
        })
        .collect();
    assert_eq!(jobs.len(), 16);
    run_all_at_once(&env, &env.repo, &jobs, &["--push"]);
    let remote_head = env.git_in(&origin, &["rev-parse", "main"]);
    assert_eq!(
        env.head(),
        remote_head.trim(),
        "the checkout has every push"
    );
    assert_eq!(env.commit_count(), before + jobs.len(), "one commit each");
    assert_checkout_clean(&env, &env.repo);
    assert_every_event_recorded(&env, &env.repo, &jobs);
    assert_eq!(
        env.git(&["for-each-ref", "refs/regent"]),
        "",
        "no private fetch ref is left behind"
    );
}

/// The test holding the checkout's lock, as another regent process would.
struct Holder {
    _file: std::fs::File,
}

fn hold_lock(repo: &Path) -> Holder {
    hold(repo, "lock")
}

/// Holds `.git/regent/NAME` (`lock`, or `push-lock`) as a regent would.
fn hold(repo: &Path, name: &str) -> Holder {
    let path: PathBuf = repo.join(".git/regent").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .unwrap();
    file.try_lock().expect("the lock is free");
    file.set_len(0).unwrap();
    write!(
        file,
        "pid {}\ncommand regent run log slow-one\nsince 2026-01-02T03:04:05Z\n",
        std::process::id()
    )
    .unwrap();
    Holder { _file: file }
}

/// While another process holds the lock, a writer waits REGENT_LOCK_TIMEOUT
/// seconds, then exits 2 naming the lock file and its holder, with nothing
/// written; read-only commands do not wait at all; once the lock is free
/// the same command goes through.
#[test]
fn the_wait_for_the_lock_is_bounded_and_says_who_holds_it() {
    let env = registry_for_a_sweep();
    env.run_ok(&["run", "log", "sweep", "--name", "r0", "--metric", "a=1"]);
    let before = env.state();
    let holder = hold_lock(&env.repo);
    let writers: [&[&str]; 3] = [
        &["run", "log", "sweep", "--name", "r1", "--metric", "a=1"],
        &["register", "m", "--artifact", "s3://m/1"],
        &["promote", "p", "1", "--to", "staging"],
    ];
    for args in writers {
        let started = std::time::Instant::now();
        let out = env
            .regent()
            .env("REGENT_LOCK_TIMEOUT", "0.5")
            .args(args)
            .output()
            .unwrap();
        let waited = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            waited >= std::time::Duration::from_millis(500),
            "{args:?} gave up after {waited:?}, before its timeout"
        );
        let lock = env.repo.join(".git/regent/lock");
        for expected in [
            "error: another regent command is changing this checkout",
            &format!("{}", lock.display()),
            &format!("held by pid {}", std::process::id()),
            "`regent run log slow-one`",
            "waiting 0.5 s",
            "nothing was written",
            "REGENT_LOCK_TIMEOUT",
            "never stale",
        ] {
            assert!(
                stderr.contains(expected),
                "{args:?}: no {expected:?} in:\n{stderr}"
            );
        }
        assert_eq!(env.state(), before, "{args:?} wrote something");
    }
    // Readers take no lock.
    for args in [
        &["show", "p"][..],
        &["run", "list"],
        &["history"],
        &["validate"],
        &["resolve", "models:/p/1"],
    ] {
        let out = env
            .regent()
            .env("REGENT_LOCK_TIMEOUT", "0")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = env
        .regent()
        .env("REGENT_LOCK_TIMEOUT", "soon")
        .args(["register", "m", "--artifact", "s3://m/1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("REGENT_LOCK_TIMEOUT=\"soon\" is not a number of seconds"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.state(), before);

    drop(holder);
    let out = env
        .regent()
        .env("REGENT_LOCK_TIMEOUT", "0")
        .args(["run", "log", "sweep", "--name", "r1", "--metric", "a=1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A writer killed while it holds the lock leaves no stale lock: the system
/// lets go of it with the process, and the next writer goes straight in
/// (and finishes what the killed one left half-done).
#[test]
fn a_killed_holder_leaves_no_stale_lock() {
    let env = registry_for_a_sweep();
    let out = env
        .regent()
        .env("REGENT_FAULT", "after-branch")
        .args(["run", "log", "sweep", "--name", "killed", "--metric", "a=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None, "killed by SIGKILL");
    assert!(
        std::fs::read_to_string(env.repo.join(".git/regent/lock"))
            .unwrap()
            .starts_with("pid "),
        "the killed writer's name is still in the file"
    );
    let out = env
        .regent()
        .env("REGENT_LOCK_TIMEOUT", "0")
        .args(["run", "log", "sweep", "--name", "next", "--metric", "a=1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_checkout_clean(&env, &env.repo);
    let path = crate::common::run_file("sweep", "killed");
    env.git(&["cat-file", "-e", &format!("HEAD:{path}")]);
}

/// With `--push` the lock is not held over the network: while the remote
/// is receiving the push (held in a pre-receive hook) the test can take the
/// lock. And when the branch took a commit of its own while the pusher
/// waited for the lock again, the event is still published, exit 0, with a
/// warning saying the branch does not include it yet.
#[test]
fn a_pusher_lets_go_of_the_lock_over_the_network() {
    let env = registry_for_a_sweep();
    let origin = env.root.join("origin.git");
    let origin_arg = origin.to_str().unwrap();
    env.git_in(
        &env.root,
        &["init", "-q", "--bare", "-b", "main", origin_arg],
    );
    env.git(&["remote", "add", "origin", origin_arg]);
    env.git(&["push", "-q", "--follow-tags", "-u", "origin", "main"]);
    let reached = env.root.join("hook-reached");
    let go = env.root.join("hook-go");
    let hook = origin.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ncat >/dev/null\ntouch '{}'\nwhile [ ! -e '{}' ]; do sleep 0.05; done\nexit 0\n",
            reached.display(),
            go.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let before = env.head();
    let child = env.spawn_regent(
        &env.repo,
        &["register", "m", "--artifact", "s3://m/1", "--push"],
        &[],
    );
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for("the push to reach the remote", &|| reached.exists());
    // The pusher is on the network: the lock is free.
    let holder = hold_lock(&env.repo);
    std::fs::write(&go, "").unwrap();
    wait_for("the push to land", &|| {
        env.git_in(&origin, &["rev-parse", "main"]).trim() != before
    });
    // Now it waits for the lock to bring the branch along; meanwhile the
    // branch takes a commit of its own.
    assert_eq!(env.head(), before);
    env.write("train.py", "print('local work')\n");
    env.commit_all("local work");
    drop(holder);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: the event is on origin, but your branch main took commits of its own meanwhile"),
        "{stderr}"
    );
    let pushed = env.git_in(
        &origin,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Regent-Event,valueonly)",
            "main",
        ],
    );
    assert_eq!(pushed.trim(), "register");
    assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), "local work");
    assert_eq!(
        env.git(&["rev-parse", "m@v1"]),
        env.git_in(&origin, &["rev-parse", "m@v1"]),
        "the local tag is the very one pushed"
    );
    assert_checkout_clean(&env, &env.repo);
}

/// Pushers in one checkout take turns over the network through a second
/// lock, `.git/regent/push-lock`, which writers without `--push` never
/// wait for. Its wait is bounded and explained the same way.
#[test]
fn pushers_take_turns_without_blocking_local_writers() {
    let env = registry_for_a_sweep();
    let origin = env.root.join("origin.git");
    let origin_arg = origin.to_str().unwrap();
    env.git_in(
        &env.root,
        &["init", "-q", "--bare", "-b", "main", origin_arg],
    );
    env.git(&["remote", "add", "origin", origin_arg]);
    env.git(&["push", "-q", "--follow-tags", "-u", "origin", "main"]);
    let remote_before = env.git_in(&origin, &["rev-parse", "main"]);
    let before = env.state();
    let holder = hold(&env.repo, "push-lock");
    let out = env
        .regent()
        .env("REGENT_LOCK_TIMEOUT", "0.5")
        .args(["register", "m", "--artifact", "s3://m/1", "--push"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "another regent command is pushing from this checkout",
        "push-lock",
        "`regent run log slow-one`",
        "nothing was written",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in:\n{stderr}");
    }
    assert_eq!(env.state(), before);
    assert_eq!(env.git_in(&origin, &["rev-parse", "main"]), remote_before);
    // A writer without --push does not wait for pushers.
    let out = env
        .regent()
        .env("REGENT_LOCK_TIMEOUT", "0")
        .args(["run", "log", "sweep", "--metric", "a=1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(holder);
}
