//! `--push` against real bare remotes: publishing, stale clones, and many
//! processes racing to register against one remote.

use crate::common::TestEnv;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A bare `origin.git` holding a registry, and a way to clone it.
struct Remote {
    env: TestEnv,
    origin: PathBuf,
}

impl Remote {
    fn new() -> Remote {
        let env = TestEnv::with_registry();
        let origin = env.add_origin();
        Remote { env, origin }
    }

    fn clone(&self, name: &str) -> PathBuf {
        let dir = self.env.root.join(name);
        self.env.git_in(
            &self.env.root,
            &[
                "clone",
                "-q",
                self.origin.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        dir
    }

    fn git(&self, args: &[&str]) -> String {
        self.env.git_in(&self.origin, args)
    }
}

/// --push publishes the commit and its tag; the local branch follows.
#[test]
fn push_publishes_commit_and_tags() {
    let remote = Remote::new();
    let env = &remote.env;
    env.run_ok(&["register", "m", "--artifact", "s3://m/1", "--push"]);
    assert_eq!(remote.git(&["rev-parse", "main"]).trim(), env.head());
    assert_eq!(
        remote.git(&["rev-parse", "m@v1^{commit}"]).trim(),
        env.head()
    );
    assert_eq!(remote.git(&["cat-file", "-t", "m@v1"]).trim(), "tag");
    env.run_ok(&["promote", "m", "1", "--to", "staging", "--push"]);
    assert_eq!(
        remote.git(&["rev-parse", "m#staging#1^{commit}"]).trim(),
        env.head()
    );
}

/// A clone behind the remote builds its event on the remote's head: the
/// version number is the next free one, and the clone fast-forwards.
#[test]
fn push_from_a_stale_clone_renumbers() {
    let remote = Remote::new();
    let a = remote.clone("a");
    let b = remote.clone("b");
    let env = &remote.env;
    assert!(
        env.regent_in(&a)
            .args(["register", "m", "--artifact", "s3://a", "--push"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = env
        .regent_in(&b)
        .args(["register", "m", "--artifact", "s3://b", "--push"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "m/2\n");
    assert_eq!(
        env.git_in(&b, &["rev-parse", "HEAD"]),
        remote.git(&["rev-parse", "main"])
    );
    assert!(
        b.join("models/m/versions/1.yaml").is_file(),
        "b fast-forwarded over a's version"
    );
    assert_eq!(env.git_in(&b, &["status", "--porcelain"]), "");
}

/// A refusal is judged on the remote's state: what was allowed locally may
/// not be once the remote moved, and then nothing is pushed.
#[test]
fn push_judges_the_policy_on_the_remote_head() {
    let remote = Remote::new();
    let a = remote.clone("a");
    let b = remote.clone("b");
    let env = &remote.env;
    let run = |dir: &PathBuf, args: &[&str]| env.regent_in(dir).args(args).output().unwrap();
    assert!(
        run(&a, &["register", "m", "--artifact", "s3://1", "--push"])
            .status
            .success()
    );
    env.git_in(&b, &["pull", "-q"]);
    // a archives v1 on the remote; b, not knowing, tries to promote it.
    assert!(run(&a, &["archive", "m", "1", "--push"]).status.success());
    let before = remote.git(&["rev-parse", "main"]);
    let out = run(&b, &["promote", "m", "1", "--to", "staging", "--push"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("archived"));
    assert_eq!(remote.git(&["rev-parse", "main"]), before);
}

/// A local branch with unpushed commits is not pushed behind the user's back.
#[test]
fn push_refuses_unrelated_unpushed_commits() {
    let remote = Remote::new();
    let env = &remote.env;
    env.write("train.py", "x\n");
    env.commit_all("local work");
    let before = remote.git(&["rev-parse", "main"]);
    let out = env.run_err(2, &["register", "m", "--artifact", "s3://m/1", "--push"]);
    assert!(
        out.stderr.contains("has commits that origin does not"),
        "{}",
        out.stderr
    );
    assert_eq!(remote.git(&["rev-parse", "main"]), before);
}

/// Eight processes register with --push at once against one bare remote:
/// every version is there, numbers are unique and dense, no commit is lost,
/// and each tag sits on its own event's commit.
#[test]
fn concurrent_register_push_loses_nothing() {
    const N: usize = 8;
    let remote = Remote::new();
    let env = &remote.env;
    let clones: Vec<PathBuf> = (0..N).map(|i| remote.clone(&format!("c{i}"))).collect();
    let children: Vec<_> = clones
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let actor = format!("ci-{i}");
            let uri = format!("s3://models/m/{i}");
            env.spawn_regent(
                dir,
                &["register", "m", "--artifact", &uri, "--push"],
                &[("REGENT_ACTOR", &actor)],
            )
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Read the remote's final state through a fresh clone.
    let check = remote.clone("check");
    let versions: Vec<String> = std::fs::read_dir(check.join("models/m/versions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let numbers: BTreeSet<u64> = versions
        .iter()
        .map(|f| f.trim_end_matches(".yaml").parse().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (1..=N as u64).collect::<BTreeSet<_>>(),
        "dense and unique"
    );
    let out = env
        .regent_in(&check)
        .args(["show", "m", "--json"])
        .output()
        .unwrap();
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let uris: BTreeSet<String> = model["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["artifact"]["uri"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(uris.len(), N, "every registration landed once: {uris:?}");
    let registers = env.git_in(
        &check,
        &[
            "log",
            "--format=%(trailers:key=Regent-Event,valueonly)",
            "main",
        ],
    );
    assert_eq!(
        registers.lines().filter(|l| *l == "register").count(),
        N,
        "no lost commit"
    );
    for n in 1..=N {
        let tagged = remote.git(&["rev-parse", &format!("m@v{n}^{{commit}}")]);
        let added = remote.git(&[
            "log",
            "--format=%H",
            "--diff-filter=A",
            "main",
            "--",
            &format!("models/m/versions/{n}.yaml"),
        ]);
        assert_eq!(
            tagged, added,
            "m@v{n} is on the commit that registered v{n}"
        );
    }
    let out = env.regent_in(&check).args(["validate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// When the remote keeps moving, regent gives up after a bounded number of
/// attempts with a clear error, having pushed nothing and changed nothing.
#[test]
fn push_gives_up_clearly_when_the_remote_keeps_moving() {
    let remote = Remote::new();
    let env = &remote.env;
    // A hook that, on every push, first moves main itself: each of regent's
    // attempts then loses the race on the ref update.
    let hook = remote.origin.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\ncat >/dev/null\n\
         unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n\
         tree=$(git rev-parse main^{tree})\n\
         next=$(echo interloper | GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x git commit-tree \"$tree\" -p main)\n\
         git update-ref refs/heads/main \"$next\"\nexit 0\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let head = env.head();
    let out = env.run_err(2, &["register", "m", "--artifact", "s3://m/1", "--push"]);
    assert!(
        out.stderr
            .contains("gave up after 20 attempts; nothing was pushed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: run the command again"),
        "{}",
        out.stderr
    );
    // Only the remote-tracking ref moved (a fetch); the branch, index, files and tags did not.
    assert_eq!(env.head(), head);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(env.git(&["tag", "--list"]), "");
    assert!(!env.repo.join("models/m").exists());
    let pushed = remote.git(&[
        "log",
        "--format=%(trailers:key=Regent-Event,valueonly)",
        "main",
    ]);
    assert!(
        !pushed.contains("register"),
        "nothing of regent's reached the remote: {pushed}"
    );
    assert_eq!(remote.git(&["tag", "--list"]), "");
}

/// Every mutating command takes `--push` and, from a clone that is merely
/// behind (the remote took another writer's commit since the clone last
/// fetched), builds its event on the remote's head, pushes it, and brings
/// the clone along: on the remote the event's commit has the other
/// writer's commit as its parent, and the clone ends equal to the remote.
#[test]
fn every_mutating_command_pushes_from_a_clone_that_is_behind() {
    let remote = Remote::new();
    let env = &remote.env;
    // The first one: init's commented example names the stage again.
    let config = env.read("regent.yaml").replacen(
        "- name: production",
        "- name: production\n  approvals: 1\n  approvers: [alice]",
        1,
    );
    env.write("regent.yaml", config);
    env.commit_all("production needs alice's approval");
    env.git(&["push", "-q", "origin", "main"]);
    for n in 1..=3 {
        env.run_ok(&[
            "register",
            "m",
            "--artifact",
            &format!("s3://m/{n}"),
            "--push",
        ]);
    }
    let b = remote.clone("b");
    let steps: &[(&str, &[&str])] = &[
        (
            "run",
            &[
                "run",
                "log",
                "exp",
                "--name",
                "r1",
                "--metric",
                "accuracy=0.9",
            ],
        ),
        // The other writer registered m meanwhile: this one is renumbered.
        ("register", &["register", "m", "--artifact", "s3://m/b"]),
        ("promote", &["promote", "m", "1", "--to", "staging"]),
        ("promote", &["promote", "m", "2", "--to", "staging"]),
        ("rollback", &["rollback", "m", "--stage", "staging"]),
        ("demote", &["demote", "m", "--from", "staging"]),
        ("alias", &["alias", "set", "m", "champion", "2"]),
        ("unalias", &["alias", "rm", "m", "champion"]),
        ("tag", &["tag", "m/2", "reviewed=yes"]),
        ("describe", &["describe", "m", "churn model"]),
        ("deprecate", &["deprecate", "m", "3", "--reason", "leaks"]),
        ("archive", &["archive", "m", "3"]),
        ("approve", &["approve", "m", "2", "--stage", "production"]),
        ("run", &["run", "start", "exp", "--name", "live"]),
        (
            "edit",
            &[
                "run", "update", "exp/live", "--metric", "loss=0.5", "--step", "1",
            ],
        ),
        (
            "edit",
            &["run", "end", "exp/live", "--metric", "accuracy=0.8"],
        ),
        ("run", &["run", "log", "--batch", "BATCH"]),
    ];
    let batch = env.root.join("batch.jsonl");
    std::fs::write(&batch, "{\"experiment\": \"exp\", \"name\": \"swept\"}\n").unwrap();
    for (i, (event, args)) in steps.iter().enumerate() {
        // Another writer moves the remote: b is now behind.
        if *event == "register" {
            env.run_ok(&["register", "m", "--artifact", "s3://m/other", "--push"]);
        } else {
            env.run_ok(&["run", "log", "other", "--name", &format!("o{i}"), "--push"]);
        }
        let remote_before = remote.git(&["rev-parse", "main"]).trim().to_owned();
        assert_ne!(env.git_in(&b, &["rev-parse", "HEAD"]).trim(), remote_before);
        let mut command = if *event == "approve" {
            // An approval is the committer's own; alice is not the registrant.
            let mut c = env.regent_as("alice");
            c.current_dir(&b);
            c
        } else {
            env.regent_in(&b)
        };
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "BATCH" {
                    batch.to_str().unwrap()
                } else {
                    a
                }
            })
            .collect();
        let out = command.args(&args).arg("--push").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?} --push: {stderr}");
        if *event == "register" {
            assert_eq!(String::from_utf8_lossy(&out.stdout), "m/5\n", "renumbered");
        }
        let pushed = remote.git(&["rev-parse", "main"]).trim().to_owned();
        assert_eq!(
            remote.git(&["rev-parse", "main^"]).trim(),
            remote_before,
            "{args:?}: built on the remote's head"
        );
        assert_eq!(
            remote
                .git(&[
                    "log",
                    "-1",
                    "--format=%(trailers:key=Regent-Event,valueonly)",
                    "main"
                ])
                .trim(),
            *event,
            "{args:?}: the remote's head is the event"
        );
        assert_eq!(
            env.git_in(&b, &["rev-parse", "HEAD"]).trim(),
            pushed,
            "{args:?}: b follows"
        );
        assert_eq!(
            env.git_in(&b, &["status", "--porcelain", "--untracked-files=all"]),
            "",
            "{args:?}: b's index and working tree equal HEAD"
        );
    }
    let out = env.regent_in(&b).args(["validate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // On the remote, b's events in order, between the other writer's.
    let check = remote.clone("check");
    let out = env
        .regent_in(&check)
        .args(["history", "--json"])
        .output()
        .unwrap();
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_b: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["experiment"] != "other" && e["version"] != 4)
        .filter_map(|e| e["event"].as_str())
        .skip_while(|e| *e != "run")
        .collect();
    let expected: Vec<&str> = steps.iter().map(|(e, _)| *e).collect();
    assert_eq!(from_b, expected);
}

/// `run log --push` judges the name on the remote's head: a run logged
/// there meanwhile under the same explicit `--name` is never overwritten
/// (exit 1, nothing pushed, nothing written), while a generated name never
/// collides.
#[test]
fn run_log_push_never_overwrites_a_run_on_the_remote() {
    let remote = Remote::new();
    let env = &remote.env;
    let b = remote.clone("b");
    env.run_ok(&[
        "run", "log", "exp", "--name", "taken", "--metric", "a=1", "--push",
    ]);
    let remote_before = remote.git(&["rev-parse", "main"]);
    let head_before = env.git_in(&b, &["rev-parse", "HEAD"]);
    let out = env
        .regent_in(&b)
        .args([
            "run", "log", "exp", "--name", "taken", "--metric", "a=2", "--push",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("run exp/taken already exists"), "{stderr}");
    assert_eq!(
        remote.git(&["rev-parse", "main"]),
        remote_before,
        "nothing pushed"
    );
    assert_eq!(env.git_in(&b, &["rev-parse", "HEAD"]), head_before);
    assert_eq!(
        env.git_in(&b, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    let out = env
        .regent_in(&b)
        .args(["run", "log", "exp", "--metric", "a=3", "--push"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.git_in(&b, &["rev-parse", "HEAD"]),
        remote.git(&["rev-parse", "main"])
    );
    let taken = crate::common::run_file("exp", "taken");
    let on_remote = remote.git(&["show", &format!("main:{taken}")]);
    assert!(on_remote.contains("a: 1"), "{on_remote}");
}

/// `init --push` in a clone that is behind builds the registry's first
/// commit on the remote's head too; and when someone created a registry
/// there meanwhile, it refuses (exit 1) and pushes nothing.
#[test]
fn init_push_from_a_clone_that_is_behind() {
    let env = TestEnv::new();
    let origin = env.root.join("origin.git");
    let origin_arg = origin.to_str().unwrap();
    env.git_in(
        &env.root,
        &["init", "-q", "--bare", "-b", "main", origin_arg],
    );
    env.write("train.py", "print('hi')\n");
    env.commit_all("code");
    env.git(&["remote", "add", "origin", origin_arg]);
    env.git(&["push", "-q", "-u", "origin", "main"]);
    let clone = |name: &str| {
        let dir = env.root.join(name);
        env.git_in(
            &env.root,
            &["clone", "-q", origin_arg, dir.to_str().unwrap()],
        );
        dir
    };
    let (b, c) = (clone("b"), clone("c"));
    env.write("train.py", "print('hello')\n");
    env.commit_all("more code");
    env.git(&["push", "-q", "origin", "main"]);
    let before = env.git_in(&origin, &["rev-parse", "main"]);

    let out = env.regent_in(&b).args(["init", "--push"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.git_in(&origin, &["rev-parse", "main^"]),
        before,
        "built on the remote's head"
    );
    let pushed = env.git_in(&origin, &["rev-parse", "main"]);
    assert_eq!(env.git_in(&b, &["rev-parse", "HEAD"]), pushed);
    assert_eq!(
        env.git_in(&b, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(
        std::fs::read_to_string(b.join("train.py")).unwrap(),
        "print('hello')\n"
    );

    let out = env.regent_in(&c).args(["init", "--push"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("origin already has a registry (regent.yaml)"),
        "{stderr}"
    );
    assert_eq!(
        env.git_in(&origin, &["rev-parse", "main"]),
        pushed,
        "nothing pushed"
    );
    assert_eq!(
        env.git_in(&c, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
}
