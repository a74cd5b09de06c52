//! Issue 10: the gate, the audit and publish agree on every event. Each test
//! fails if its fix is removed: one reading of the files, a branch's states
//! are its first-parent line, each commit of a pull request is judged,
//! publish judges before it tags, and the lifecycle the commands enforce is
//! enforced on hand edits too.

use crate::common::TestEnv;
use serde_json::Value;
use std::collections::BTreeMap;

/// production requires staging and one approval by bob; m v1 (from run
/// e/r) in staging, m v2 registered.
fn registry() -> TestEnv {
    let env = TestEnv::with_registry();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    requires: [staging]\n    approvals: 1\n    approvers: [bob]\n",
    );
    env.commit_all("policy");
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--metric",
        "accuracy=0.93",
    ]);
    env.run_ok(&["register", "m", "--artifact", "s3://m/1", "--run", "e/r"]);
    env.run_ok(&["register", "m", "--artifact", "s3://m/2"]);
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    env
}

/// `regent ARGS` as `who` (their git identity and actor).
fn run_as(env: &TestEnv, who: &str, args: &[&str]) -> crate::common::Outcome {
    let out = env
        .regent()
        .env("REGENT_ACTOR", who)
        .env("GIT_AUTHOR_NAME", who)
        .env("GIT_COMMITTER_NAME", who)
        .args(args)
        .output()
        .unwrap();
    crate::common::Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn approve(env: &TestEnv, version: &str) {
    let out = run_as(
        env,
        "bob",
        &["approve", "m", version, "--stage", "production"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// models/m/model.yaml with `stage` pointing at `version` (None: removed).
fn set_stage(env: &TestEnv, stage: &str, version: Option<&str>) {
    let text = env.read("models/m/model.yaml");
    let mut out = Vec::new();
    let mut stages: BTreeMap<String, String> = BTreeMap::new();
    let mut in_stages = false;
    for line in text.lines() {
        if line == "stages:" {
            in_stages = true;
            continue;
        }
        if in_stages && let Some(entry) = line.strip_prefix("  ") {
            let (k, v) = entry.split_once(": ").unwrap();
            stages.insert(k.into(), v.into());
            continue;
        }
        in_stages = false;
        out.push(line.to_owned());
    }
    match version {
        Some(v) => stages.insert(stage.into(), v.into()),
        None => stages.remove(stage),
    };
    if !stages.is_empty() {
        out.push("stages:".into());
        out.extend(stages.iter().map(|(k, v)| format!("  {k}: {v}")));
    }
    env.write("models/m/model.yaml", out.join("\n") + "\n");
}

/// Events without where and when they happened, for comparing.
fn moves(events: &Value) -> Vec<Value> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            for key in ["commit", "time", "actor", "pr", "reasons"] {
                e.as_object_mut().unwrap().remove(key);
            }
            e
        })
        .collect()
}

/// Every YAML spelling of a number that `validate` accepts yields the
/// events of its canonical spelling in history, check and resolve; one it
/// refuses is refused by all of them.
#[test]
fn every_yaml_spelling_yields_the_events_of_its_canonical_form() {
    let env = registry();
    let base = env.head();
    let canonical = |env: &TestEnv| {
        set_stage(env, "staging", Some("2"));
        env.commit_all("staging by hand");
    };
    canonical(&env);
    let expected_history = moves(&env.json(&["history", "m"]));
    let expected_check = moves(&env.json(&["check", "--base", &base])["events"]);
    assert!(
        expected_history
            .iter()
            .any(|e| e["event"] == "promote" && e["stage"] == "staging" && e["version"] == 2)
    );
    let spellings = [
        "!!int \"2\"",
        "0x2",
        "0o2",
        "+2",
        "&a 2",
        "!!int 2",
        "0b10",
        "\"2\"",
        "2.0",
        "!!float 2",
        "02",
        "2e0",
        "1_0",
        "!!str 2",
    ];
    let mut accepted = 0;
    for spelling in spellings {
        env.git(&["reset", "-q", "--hard", &base]);
        set_stage(&env, "staging", Some(spelling));
        env.commit_all(&format!("staging: {spelling}"));
        let valid = env.run(&["validate"]).code == 0;
        let check = env.run(&["check", "--base", &base, "--json"]);
        let check: Value = check.stdout.parse().unwrap();
        let history = moves(&env.json(&["history", "m"]));
        let resolved = env.run(&["resolve", "models:/m/staging"]);
        if valid {
            accepted += 1;
            assert_eq!(history, expected_history, "history of staging: {spelling}");
            assert_eq!(
                moves(&check["events"]),
                expected_check,
                "check of staging: {spelling}"
            );
            assert_eq!(
                resolved.stdout.trim(),
                "s3://m/2",
                "resolve of staging: {spelling}"
            );
        } else {
            assert_eq!(check["ok"], false, "check accepts staging: {spelling}");
            assert!(
                !history
                    .iter()
                    .any(|e| e["event"] == "promote" && e["version"] == 2),
                "history believes staging: {spelling}: {history:?}"
            );
            assert_ne!(
                resolved.stdout.trim(),
                "s3://m/2",
                "resolve believes staging: {spelling}"
            );
        }
    }
    assert!(accepted >= 6, "the loader accepts these spellings of 2");

    // A frozen metric rewritten in another spelling is still an edit.
    env.git(&["reset", "-q", "--hard", &base]);
    let version = env.read("models/m/versions/1.yaml");
    for spelling in ["!!float \"0.99\"", "9.9e-1", "!!float 0.99"] {
        env.git(&["reset", "-q", "--hard", &base]);
        env.write(
            "models/m/versions/1.yaml",
            version.replace("accuracy: 0.93", &format!("accuracy: {spelling}")),
        );
        env.commit_all("better metrics");
        if env.run(&["validate"]).code != 0 {
            continue;
        }
        let history = env.json(&["history", "m"]);
        assert!(
            history
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"] == "edit" && e["version"] == 1),
            "a frozen metric spelled {spelling} changed unseen: {history}"
        );
        let out = env.run_err(1, &["check", "--base", &base]);
        assert!(out.stdout.contains("frozen"), "{spelling}: {}", out.stdout);
    }
}

/// A pull request that sets production by hand and reverts it: its middle
/// commit is judged (and refused, with a hint to squash), and once merged
/// with a merge commit nothing of it counts: no history event, no
/// `requires` fact, no tag.
#[test]
fn a_set_and_revert_inside_a_merged_pull_request_never_counts() {
    let env = registry();
    env.git(&["switch", "-q", "-c", "pr"]);
    set_stage(&env, "production", Some("1"));
    set_stage(&env, "staging", Some("2"));
    env.commit_all("try production");
    set_stage(&env, "production", None);
    set_stage(&env, "staging", Some("1"));
    env.commit_all("revert");
    env.git(&["switch", "-q", "main"]);
    let out = env.run_err(1, &["check", "--base", "main", "--head", "pr"]);
    assert!(out.stdout.contains("0 of 1 approvals"), "{}", out.stdout);
    assert!(out.stdout.contains("squash"), "{}", out.stdout);

    env.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request #5 from acme/pr",
        "pr",
    ]);
    let history = env.json(&["history", "m"]);
    assert!(
        !history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["stage"] == "production" || (e["stage"] == "staging" && e["version"] == 2)),
        "{history}"
    );
    env.run_ok(&["publish"]);
    assert!(env.git(&["tag", "--list", "m#production#*"]).is_empty());
    // v2 was in staging only inside the pull request: not a fact of main.
    approve(&env, "2");
    let out = env.run_err(1, &["promote", "m", "2", "--to", "production"]);
    assert!(
        out.stderr.contains("has never been in staging"),
        "{}",
        out.stderr
    );
}

/// A rebase merge puts every commit on the branch: the unapproved middle
/// state is judged by publish, gets no tag, and is reported (exit 1). The
/// same hand edit squashed is judged the same way.
#[test]
fn publish_never_tags_a_state_the_policy_refuses() {
    for method in ["rebase", "squash"] {
        let env = registry();
        env.run_ok(&["publish"]);
        let before = env.head();
        env.git(&["switch", "-q", "-c", "pr"]);
        set_stage(&env, "production", Some("1"));
        env.commit_all("production by hand");
        if method == "rebase" {
            set_stage(&env, "production", None);
            env.commit_all("and back");
        }
        env.git(&["switch", "-q", "main"]);
        if method == "rebase" {
            env.git(&["cherry-pick", "main..pr"]);
        } else {
            env.git(&["merge", "-q", "--squash", "pr"]);
            env.git(&["commit", "-q", "-m", "Production by hand (#12)"]);
        }
        let out = env.run_err(1, &["publish", "--since", &before]);
        assert!(
            out.stderr.contains("break the policy and were not tagged")
                && out.stderr.contains("0 of 1 approvals"),
            "{method}: {}",
            out.stderr
        );
        assert!(
            env.git(&["tag", "--list", "m#production#*"]).is_empty(),
            "{method}: a refused event was tagged"
        );
        // The gate on the branch says the same.
        env.run_err(1, &["check", "--base", &before]);
    }
}

/// A merge whose result differs from both parents (a conflict resolved to
/// a third value) is the merge's own, manual, event.
#[test]
fn a_merge_resolved_to_a_third_value_is_a_manual_event() {
    let env = TestEnv::with_registry();
    for n in 1..=3 {
        env.run_ok(&["register", "m", "--artifact", &format!("s3://m/{n}")]);
    }
    env.git(&["switch", "-q", "-c", "side"]);
    env.run_ok(&["promote", "m", "3", "--to", "staging"]);
    // Tags made on the side branch are not published; the merge decides.
    env.git(&["tag", "-d", "m#staging#1"]);
    env.git(&["switch", "-q", "main"]);
    env.run_ok(&["promote", "m", "2", "--to", "staging"]);
    let merge = env.sh("git merge -q --no-ff -m 'Merge side' side");
    assert_ne!(merge.code, 0, "the pointers conflict");
    env.git(&["checkout", "--theirs", "models/m/model.yaml"]);
    set_stage(&env, "staging", Some("1"));
    env.commit_all("Merge side, resolved to v1");
    let history = env.json(&["history", "m"]);
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "promote", "{history}");
    assert_eq!(last["version"], 1);
    assert_eq!(last["via"], "manual");
    assert_eq!(last["commit"], env.head());
    let diff = env.json(&["diff", "HEAD^1", "HEAD"]);
    assert_eq!(diff[0]["version"], 1, "{diff}");
    assert_eq!(diff[0]["via"], "manual");
    env.run_ok(&["publish"]);
    assert_eq!(
        env.git(&["rev-parse", "m#staging#2^{commit}"]).trim(),
        env.head()
    );
}

/// Whatever order commands run in, the history cache gives the answers a
/// fresh walk gives: random branch shapes, merges and command orders.
#[test]
fn the_history_cache_never_changes_an_answer() {
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for case in 0..4 {
        let env = TestEnv::with_registry();
        env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
        env.run_ok(&["register", "m", "--artifact", "s3://m/2"]);
        let mut branches = vec!["main".to_owned()];
        for step in 0..10 {
            match next(4) {
                0 => {
                    let name = format!("b{step}");
                    env.git(&["switch", "-q", "-c", &name]);
                    branches.push(name);
                }
                1 if branches.len() > 1 => {
                    let other = branches[1 + next(branches.len() as u64 - 1) as usize].clone();
                    env.git(&["switch", "-q", "main"]);
                    env.sh(&format!(
                        "git merge -q --no-ff -X theirs -m 'Merge {other}' {other} || (git checkout --theirs . && git add -A && git commit -q -m 'Merge {other}')"
                    ));
                }
                _ => {
                    let v = (1 + next(2)).to_string();
                    if next(2) == 0 {
                        set_stage(&env, "staging", Some(&v));
                    } else {
                        set_stage(&env, "production", Some(&v));
                    }
                    if env.git(&["status", "--porcelain"]).is_empty() {
                        continue;
                    }
                    env.commit_all(&format!("step {step}"));
                }
            }
            // Ask about a random branch now and then: the cache follows.
            let asked = branches[next(branches.len() as u64) as usize].clone();
            env.run_ok(&["history", "m", "--rev", &asked, "--json"]);
        }
        for rev in &branches {
            for model in [Some("m"), None] {
                let mut args = vec!["history", "--rev", rev.as_str(), "--json"];
                if let Some(m) = model {
                    args.insert(1, m);
                }
                let cached = env.run_ok(&args);
                let _ = std::fs::remove_dir_all(env.repo.join(".git/regent"));
                let fresh = env.run_ok(&args);
                assert_eq!(cached, fresh, "case {case}: history {args:?}");
            }
        }
    }
}

/// A tag that names another commit than its event's is an error naming
/// both, even when the branch contains that commit.
#[test]
fn publish_refuses_a_tag_on_another_commit() {
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    let event = env.head();
    env.git(&["tag", "-d", "m@v1"]);
    env.git(&["tag", "-a", "-m", "misplaced", "m@v1", "HEAD~1"]);
    let misplaced = env.git(&["rev-parse", "HEAD~1"]).trim().to_owned();
    let out = env.run_err(1, &["publish"]);
    assert!(
        out.stderr.contains(&misplaced) && out.stderr.contains(&event),
        "{}",
        out.stderr
    );
}

/// Approvals: each authorises one move, so after a rollback away from v2,
/// promoting v2 again needs a new approval.
#[test]
fn an_approval_authorises_one_promotion() {
    let env = registry();
    approve(&env, "1");
    env.run_ok(&["promote", "m", "1", "--to", "production"]);
    env.run_ok(&["promote", "m", "2", "--to", "staging"]);
    approve(&env, "2");
    env.run_ok(&["promote", "m", "2", "--to", "production"]);
    approve(&env, "1");
    env.run_ok(&["rollback", "m", "--stage", "production"]);
    let out = env.run_err(1, &["promote", "m", "2", "--to", "production"]);
    assert!(out.stderr.contains("0 of 1 approvals"), "{}", out.stderr);
    approve(&env, "2");
    env.run_ok(&["promote", "m", "2", "--to", "production"]);
}

/// The gate enforces the lifecycle the commands enforce, and runs are part
/// of the audit.
#[test]
fn the_gate_enforces_the_lifecycle_and_the_runs() {
    let env = registry();
    env.run_ok(&["alias", "set", "m", "champion", "2"]);
    env.run_ok(&["deprecate", "m", "2"]);
    let base = env.head();
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "models/m/versions/2.yaml",
            "status: deprecated",
            "status: archived",
            "still in @champion",
        ),
        (
            "models/m/versions/2.yaml",
            "status: deprecated",
            "status: active",
            "back to active",
        ),
        (
            "experiments/e/45/r.yaml",
            "accuracy: 0.93",
            "accuracy: 0.99",
            "run e/r is changed, but m v1 was registered from it",
        ),
        (
            "models/m/versions/1.yaml",
            "status: active",
            "status: archived",
            "still in staging",
        ),
    ];
    for (file, from, to, reason) in cases {
        env.git(&["reset", "-q", "--hard", &base]);
        let text = env.read(file);
        assert!(text.contains(from), "{file}: {text}");
        env.write(file, text.replace(from, to));
        env.commit_all("hand edit");
        let out = env.run_err(1, &["check", "--base", &base]);
        assert!(out.stdout.contains(reason), "{file} {to}: {}", out.stdout);
    }
    env.git(&["reset", "-q", "--hard", &base]);
    std::fs::remove_file(env.repo.join("experiments/e/45/r.yaml")).unwrap();
    env.commit_all("drop a run");
    let out = env.run_err(1, &["check", "--base", &base]);
    assert!(out.stdout.contains("run e/r is deleted"), "{}", out.stdout);
    let history = env.json(&["history"]);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "delete" && e["run"] == "r"),
        "{history}"
    );
    // An ended run nobody registered from is immutable too; a running one
    // is updated and ended through the gate.
    env.git(&["reset", "-q", "--hard", &base]);
    env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "free",
        "--metric",
        "accuracy=0.5",
    ]);
    env.run_ok(&["run", "start", "e", "--name", "live"]);
    let with_runs = env.head();
    env.run_ok(&[
        "run", "update", "e/live", "--metric", "loss=0.3", "--step", "1",
    ]);
    env.run_ok(&["run", "end", "e/live"]);
    env.run_ok(&["check", "--base", &with_runs]);
    env.git(&["reset", "-q", "--hard", &with_runs]);
    let free = crate::common::run_file("e", "free");
    let text = env.read(&free);
    env.write(&free, text.replace("accuracy: 0.5", "accuracy: 0.9"));
    env.commit_all("better numbers by hand");
    let out = env.run_err(1, &["check", "--base", &with_runs]);
    assert!(
        out.stdout.contains(
            "run e/free had ended (finished) before this change; an ended run is immutable"
        ),
        "{}",
        out.stdout
    );
    // An archived version never comes back.
    env.git(&["reset", "-q", "--hard", &base]);
    env.run_ok(&["alias", "rm", "m", "champion"]);
    env.run_ok(&["archive", "m", "2"]);
    let archived = env.head();
    let text = env.read("models/m/versions/2.yaml");
    env.write(
        "models/m/versions/2.yaml",
        text.replace("status: archived", "status: deprecated"),
    );
    env.commit_all("unarchive");
    let out = env.run_err(1, &["check", "--base", &archived]);
    assert!(out.stdout.contains("archiving is final"), "{}", out.stdout);
}

/// A shallow clone is never judged or tagged from.
#[test]
fn check_and_publish_refuse_a_shallow_clone() {
    let env = registry();
    let url = format!("file://{}", env.repo.display());
    env.git_in(&env.root, &["clone", "-q", "--depth", "1", &url, "shallow"]);
    let shallow = env.root.join("shallow");
    for args in [&["check", "--base", "HEAD"][..], &["publish"][..]] {
        let out = env.regent_in(&shallow).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("fetch-depth: 0"), "{args:?}: {stderr}");
    }
}
