//! `regent init`: the registry's files, one commit, and where it may be created.

use crate::common::TestEnv;

/// init writes regent.yaml and the folders in one commit with the init trailer.
#[test]
fn init_creates_the_registry_in_one_commit() {
    let env = TestEnv::new();
    env.run_ok(&["init"]);
    assert_eq!(env.commit_count(), 1);
    let files = env.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert_eq!(
        files,
        "experiments/.gitkeep\nmodels/.gitkeep\nregent.yaml\n"
    );
    let trailers = env.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Regent-Event,valueonly)",
    ]);
    assert_eq!(trailers.trim(), "init");
    let actor = env.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Regent-Actor,valueonly)",
    ]);
    assert_eq!(actor.trim(), "tester");
    let config = env.read("regent.yaml");
    assert!(
        config.starts_with("# yaml-language-server: $schema="),
        "{config}"
    );
    assert!(
        config.contains("- name: staging\n- name: production\n"),
        "{config}"
    );
    // Working tree and index agree with the commit.
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// --stages sets the stages in order.
#[test]
fn init_takes_stages_in_order() {
    let env = TestEnv::new();
    env.run_ok(&["init", "--stages", "dev,canary,prod"]);
    let config = env.read("regent.yaml");
    assert!(
        config.contains("- name: dev\n- name: canary\n- name: prod\n"),
        "{config}"
    );
    env.run_ok(&["validate"]);
}

/// Duplicate or reserved stage names are refused before anything is written.
#[test]
fn init_refuses_bad_stage_lists() {
    let env = TestEnv::new();
    for stages in ["a,a", "none", "Prod", ""] {
        let out = env.run_err(2, &["init", "--stages", stages]);
        assert!(out.stderr.contains("error:"), "{}", out.stderr);
    }
    assert!(!env.repo.join("regent.yaml").exists());
}

/// Outside a Git repository: exit 2 with a hint to run git init.
#[test]
fn init_outside_a_repository_hints_at_git_init() {
    let env = TestEnv::new();
    let outside = env.root.join("plain");
    std::fs::create_dir_all(&outside).unwrap();
    let out = env.regent_in(&outside).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not inside a Git repository"), "{stderr}");
    assert!(stderr.contains("hint: run `git init`"), "{stderr}");
    assert!(!outside.join("regent.yaml").exists());
}

/// A second init is a "no" (exit 1) and changes nothing.
#[test]
fn init_twice_is_refused() {
    let env = TestEnv::with_registry();
    let before = env.state();
    let out = env.run_err(1, &["init"]);
    assert!(
        out.stderr.contains("already a regent registry"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
    // Also from a subfolder of the registry.
    std::fs::create_dir_all(env.repo.join("models/x")).unwrap();
    let out = env
        .regent_in(&env.repo.join("models/x"))
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// In a monorepo the registry lives in a subfolder; paths in commits are prefixed.
#[test]
fn init_works_in_a_subfolder_of_a_monorepo() {
    let env = TestEnv::new();
    env.write("services/api/main.py", "print('hi')\n");
    env.commit_all("code");
    let dir = env.repo.join("ml/registry");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env.regent_in(&dir).arg("init").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        files,
        "ml/registry/experiments/.gitkeep\nml/registry/models/.gitkeep\nml/registry/regent.yaml\n"
    );
    // Commands find it by walking up, from deeper folders too.
    let deeper = dir.join("experiments");
    let out = env
        .regent_in(&deeper)
        .args(["run", "log", "e", "--name", "r1", "--metric", "acc=0.5"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("experiments/e/82/r1.yaml").is_file());
    // And -C points at it from anywhere.
    let shown = env.run_ok(&["-C", "ml/registry", "run", "list", "--json"]);
    assert!(shown.contains("\"e/r1\""), "{shown}");
    // From the repository root (outside the registry) there is no registry.
    let out = env.run_err(2, &["run", "list"]);
    assert!(
        out.stderr.contains("hint: run `regent init`"),
        "{}",
        out.stderr
    );
}

/// Unrelated dirty and staged files are left exactly as they were.
#[test]
fn init_leaves_unrelated_changes_alone() {
    let env = TestEnv::new();
    env.write("train.py", "v1\n");
    env.commit_all("code");
    env.write("train.py", "v2\n");
    env.write("notes.txt", "staged\n");
    env.git(&["add", "notes.txt"]);
    env.run_ok(&["init"]);
    assert_eq!(env.read("train.py"), "v2\n");
    let status = env.git(&["status", "--porcelain"]);
    assert_eq!(status, "A  notes.txt\n M train.py\n");
    let in_commit = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(!in_commit.contains("notes.txt") && !in_commit.contains("train.py"));
}

/// --json reports the registry folder, the stages and the commit.
#[test]
fn init_json_output() {
    let env = TestEnv::new();
    let value = env.json(&["init", "--stages", "staging,production"]);
    assert_eq!(value["registry"], ".");
    assert_eq!(
        value["stages"],
        serde_json::json!(["staging", "production"])
    );
    assert_eq!(value["commit"], env.head());
}

/// The same inputs give byte-identical commits (fixed dates make ids stable).
#[test]
fn init_is_deterministic() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    a.run_ok(&["init"]);
    b.run_ok(&["init"]);
    assert_eq!(a.head(), b.head());
}

/// --push sends the commit to the upstream remote with the system git.
#[test]
fn init_push_updates_the_remote() {
    let env = TestEnv::new();
    let remote = env.root.join("origin.git");
    env.git_in(
        &env.root,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ],
    );
    env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    env.run_ok(&["init", "--push"]);
    let remote_head = env.git_in(&remote, &["rev-parse", "main"]);
    assert_eq!(remote_head.trim(), env.head());
}

/// --push without a remote fails before anything is committed.
#[test]
fn init_push_without_remote_writes_nothing() {
    let env = TestEnv::new();
    let out = env.run_err(2, &["init", "--push"]);
    assert!(
        out.stderr.contains("no remote named \"origin\""),
        "{}",
        out.stderr
    );
    assert!(!env.repo.join("regent.yaml").exists());
}

/// -C with a folder that does not exist says so (not "not a repository").
#[test]
fn dash_c_with_a_missing_folder_is_named() {
    let env = TestEnv::new();
    let out = env.run_err(2, &["-C", "no/such/dir", "show"]);
    assert!(
        out.stderr
            .contains("cannot use no/such/dir: no such folder"),
        "{}",
        out.stderr
    );
}
