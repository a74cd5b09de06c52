//! The audit trail and time travel: history (regent and manual events),
//! diff between revisions, resolve, and show/resolve at a past time.

use crate::common::TestEnv;
use serde_json::json;

/// Runs regent as if at `time` (the commit's dates and regent's clock).
fn at(env: &TestEnv, time: &str, args: &[&str]) {
    let out = env
        .regent()
        .env("GIT_AUTHOR_DATE", time)
        .env("GIT_COMMITTER_DATE", time)
        .env("REGENT_NOW", time)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A model promoted through staging to production over three days, with a rollback.
fn lifecycle() -> TestEnv {
    let env = TestEnv::with_registry();
    at(
        &env,
        "2026-03-01T09:00:00Z",
        &["register", "churn", "--artifact", "s3://churn/1"],
    );
    at(
        &env,
        "2026-03-01T10:00:00Z",
        &["register", "churn", "--artifact", "s3://churn/2"],
    );
    at(
        &env,
        "2026-03-01T11:00:00Z",
        &["promote", "churn", "1", "--to", "production"],
    );
    at(
        &env,
        "2026-03-02T11:00:00Z",
        &["promote", "churn", "2", "--to", "production"],
    );
    at(
        &env,
        "2026-03-03T11:00:00Z",
        &["rollback", "churn", "--stage", "production"],
    );
    env
}

/// history lists regent's events oldest first with the fields of DESIGN.md §4.
#[test]
fn history_lists_events_oldest_first() {
    let env = lifecycle();
    let events = env.json(&["history", "churn"]);
    let events = events.as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["register", "register", "promote", "promote", "rollback"]
    );
    let last = &events[4];
    let mut last = last.clone();
    assert_eq!(last["commit"].as_str().unwrap(), env.head());
    last.as_object_mut().unwrap().remove("commit");
    assert_eq!(
        last,
        json!({"event": "rollback", "model": "churn", "version": 1, "stage": "production", "alias": null,
               "previous": 2, "actor": "tester", "time": "2026-03-03T11:00:00Z", "via": "regent", "pr": null,
               "experiment": null, "run": null, "fields": null})
    );
    // The whole registry's history starts with init.
    let all = env.json(&["history"]);
    assert_eq!(all[0]["event"], "init");
    // Filters.
    let production = env.json(&["history", "churn", "--stage", "production"]);
    assert_eq!(production.as_array().unwrap().len(), 3);
    let since = env.json(&[
        "history",
        "--since",
        "2026-03-02",
        "--until",
        "2026-03-02T23:59:59Z",
    ]);
    assert_eq!(since.as_array().unwrap().len(), 1);
    assert_eq!(since[0]["version"], 2);
}

/// A hand edit (no trailers) appears as a manual event derived from the diff.
#[test]
fn history_shows_hand_edits_as_manual_events() {
    let env = lifecycle();
    let model = env.read("models/churn/model.yaml");
    assert!(model.contains("stages:\n  production: 1\n"), "{model}");
    env.write(
        "models/churn/model.yaml",
        model.replace(
            "stages:\n  production: 1\n",
            "stages:\n  production: 2\n  staging: 1\n",
        ),
    );
    env.commit_all("quick fix (#42)");
    let events = env.json(&["history", "churn"]);
    let manual: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["via"] == "manual")
        .collect();
    assert_eq!(manual.len(), 2, "{manual:?}");
    assert_eq!(manual[0]["event"], "promote");
    assert_eq!(manual[0]["stage"], "production");
    assert_eq!(manual[0]["version"], 2);
    assert_eq!(manual[0]["previous"], 1);
    assert_eq!(manual[0]["actor"], "Test Author");
    assert_eq!(manual[0]["pr"], 42);
    assert_eq!(manual[1]["stage"], "staging");
    // A commit whose trailers lie about what it did is not believed.
    env.write(
        "models/churn/versions/1.yaml",
        env.read("models/churn/versions/1.yaml")
            .replace("s3://churn/1", "s3://evil/1"),
    );
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", "tag churn v1\n\nRegent-Event: tag\nRegent-Model: churn\nRegent-Version: 1\nRegent-Actor: tester"]);
    let events = env.json(&["history", "churn"]);
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["event"].as_str(), last["via"].as_str()),
        (Some("edit"), Some("manual"))
    );
    // The human table marks them.
    let table = env.run_ok(&["history", "churn"]);
    assert!(table.contains("edit (artifact.uri)  churn  v1"), "{table}");
    assert!(table.lines().last().unwrap().contains("manual"), "{table}");
}

/// CSV output has a header and the JSON's fields.
#[test]
fn history_as_csv() {
    let env = lifecycle();
    let out = env.run_ok(&["history", "churn", "--format", "csv"]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "event,model,version,stage,alias,previous,actor,commit,time,via,pr,experiment,run,fields"
    );
    let first = lines.next().unwrap();
    assert!(first.starts_with("register,churn,1,,,,tester,"), "{first}");
    assert!(
        first.ends_with(",2026-03-01T09:00:00Z,regent,,,,"),
        "{first}"
    );
    assert_eq!(out.lines().count(), 6);
    let out = env.run_err(2, &["show", "--format", "csv"]);
    assert!(
        out.stderr
            .contains("csv is available for `history` and `diff` only"),
        "{}",
        out.stderr
    );
}

/// On a shallow clone history says so and how to fix it.
#[test]
fn history_warns_on_a_shallow_clone() {
    let env = lifecycle();
    let shallow = env.root.join("shallow");
    let url = format!("file://{}", env.repo.display());
    env.git_in(
        &env.root,
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &url,
            shallow.to_str().unwrap(),
        ],
    );
    let out = env
        .regent_in(&shallow)
        .args(["history", "churn"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: this is a shallow clone"),
        "{stderr}"
    );
    assert!(stderr.contains("fetch-depth: 0"), "{stderr}");
    // A policy decision needs the whole history: refused, not guessed.
    let out = env
        .regent_in(&shallow)
        .args(["promote", "churn", "2", "--to", "staging"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shallow clone"));
}

/// diff lists the events between two revisions.
#[test]
fn diff_between_revisions() {
    let env = lifecycle();
    let events = env.json(&["diff", "HEAD~2", "HEAD"]);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["promote", "rollback"]);
    assert_eq!(env.json(&["diff", "HEAD", "HEAD"]), json!([]));
    env.run_err(2, &["diff", "nope", "HEAD"]);
}

/// resolve prints the artifact URI alone, or the fields of DESIGN.md §4.
#[test]
fn resolve_model_uris() {
    let env = lifecycle();
    env.run_ok(&["alias", "set", "churn", "champion", "2"]);
    assert_eq!(
        env.run_ok(&["resolve", "models:/churn/production"]),
        "s3://churn/1\n"
    );
    assert_eq!(
        env.run_ok(&["resolve", "models:/churn/2"]),
        "s3://churn/2\n"
    );
    assert_eq!(
        env.run_ok(&["resolve", "models:/churn@champion"]),
        "s3://churn/2\n"
    );
    assert_eq!(
        env.run_ok(&["resolve", "models:/churn/latest"]),
        "s3://churn/2\n"
    );
    let value = env.json(&["resolve", "models:/churn/production"]);
    assert_eq!(
        value,
        json!({"model": "churn", "version": 1, "stage": "production", "alias": null,
               "artifact": {"uri": "s3://churn/1", "digest": null}, "commit": env.head(),
               "path": null})
    );
    for (uri, why) in [
        ("models:/churn/staging", "no version of churn is in staging"),
        ("models:/churn/9", "churn has no version 9"),
        ("models:/churn@nope", "churn has no alias nope"),
        ("models:/other/1", "there is no model other"),
    ] {
        let out = env.run_err(1, &["resolve", uri]);
        assert!(out.stderr.contains(why), "{uri}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
    env.run_err(2, &["resolve", "churn/1"]);
}

/// show --at and resolve --at answer "what was in production then".
#[test]
fn time_travel_with_at_and_rev() {
    let env = lifecycle();
    let resolve_at = |t: &str| env.run_ok(&["resolve", "models:/churn/production", "--at", t]);
    assert_eq!(resolve_at("2026-03-01T12:00:00Z"), "s3://churn/1\n");
    assert_eq!(resolve_at("2026-03-02T12:00:00Z"), "s3://churn/2\n");
    assert_eq!(resolve_at("2026-03-03T12:00:00Z"), "s3://churn/1\n");
    let out = env.run_err(
        1,
        &[
            "resolve",
            "models:/churn/production",
            "--at",
            "2026-03-01T10:30:00Z",
        ],
    );
    assert!(
        out.stderr.contains("no version of churn is in production"),
        "{}",
        out.stderr
    );
    let out = env.run_err(
        2,
        &["resolve", "models:/churn/production", "--at", "2020-01-01"],
    );
    assert!(
        out.stderr.contains("has no commit at or before"),
        "{}",
        out.stderr
    );
    assert_eq!(
        env.json(&["show", "churn", "--at", "2026-03-02 12:00"])["stages"],
        json!({"production": 2})
    );
    assert_eq!(
        env.json(&["show", "churn", "--rev", "HEAD~1"])["stages"],
        json!({"production": 2})
    );
    env.run_err(2, &["show", "--at", "last tuesday-ish"]);
}

/// The history cache never changes an answer: incremental after new
/// commits, rebuilt after a rewrite, ignored when corrupt or deleted.
#[test]
fn history_cache_is_invisible() {
    let env = lifecycle();
    let cache = env.repo.join(".git/regent/history-v1");
    let history = |env: &TestEnv| env.json(&["history", "churn"]);
    let cold = history(&env);
    assert!(cache.is_dir(), "the first walk fills the cache");
    assert_eq!(history(&env), cold, "a warm answer equals the cold one");

    // New commits: only they are walked, and the answer grows by them.
    at(
        &env,
        "2026-03-04T11:00:00Z",
        &["register", "churn", "--artifact", "s3://churn/3"],
    );
    let grown = history(&env);
    assert_eq!(
        grown.as_array().unwrap().len(),
        cold.as_array().unwrap().len() + 1
    );
    std::fs::remove_dir_all(&cache).unwrap();
    assert_eq!(
        history(&env),
        grown,
        "incremental equals a walk from scratch"
    );

    // A rewritten branch: the cached tip is not an ancestor any more.
    env.git(&["reset", "-q", "--hard", "HEAD~2"]);
    for tag in ["churn@v3", "churn#production#3"] {
        let _ = std::process::Command::new("git")
            .arg("-C")
            .arg(&env.repo)
            .args(["tag", "-d", tag])
            .output();
    }
    let rewritten = history(&env);
    std::fs::remove_dir_all(&cache).unwrap();
    assert_eq!(history(&env), rewritten);
    assert_eq!(
        rewritten.as_array().unwrap().len(),
        cold.as_array().unwrap().len() - 1
    );

    // Garbage in the cache is ignored.
    for entry in std::fs::read_dir(&cache).unwrap() {
        for file in std::fs::read_dir(entry.unwrap().path()).unwrap() {
            std::fs::write(file.unwrap().path(), b"{not json").unwrap();
        }
    }
    assert_eq!(history(&env), rewritten);
    // And the registry's files never mention it.
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// Commit dates outside 1970–9999 keep their real order in `history`,
/// `--since`/`--until` and `--at` (issue 10, point 12): a commit from after
/// the year 9999 is shown as the last representable time, never as 1970.
#[test]
fn commit_dates_outside_1970_to_9999_keep_their_order() {
    let env = TestEnv::with_registry();
    // A root commit from 1969. `git commit` and `git commit-tree` refuse
    // dates before 1970 and fsck calls them bad, so it is written by hand,
    // as an imported or forged history could be.
    let tree = env.git(&["rev-parse", "HEAD^{tree}"]).trim().to_owned();
    let message = env.git(&["log", "-1", "--format=%B"]);
    let object = env.root.join("root-commit");
    std::fs::write(
        &object,
        format!(
            "tree {tree}\nauthor A <a@example.com> -86400 +0000\n\
             committer A <a@example.com> -86400 +0000\n\n{message}"
        ),
    )
    .unwrap();
    let root = env.git(&[
        "hash-object",
        "-t",
        "commit",
        "--literally",
        "-w",
        object.to_str().unwrap(),
    ]);
    env.git(&["update-ref", "refs/heads/main", root.trim()]);

    at(
        &env,
        "2026-03-01T09:00:00Z",
        &["register", "m", "--artifact", "s3://m/1"],
    );
    // Versions 2 and 3 dated in the years 10000 and 3170843. libgit2 cannot
    // write such dates, git can: regent's commit, re-dated by `git commit --amend`.
    for (n, date) in [(2, "@253402300800 +0000"), (3, "@99999999999999 +0000")] {
        env.run_ok(&["register", "m", "--artifact", &format!("s3://m/{n}")]);
        let out = env.sh(&format!(
            "GIT_COMMITTER_DATE='{date}' git commit -q --amend --no-edit --date='{date}'"
        ));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    assert_eq!(
        env.git(&["log", "--format=%ct"]),
        "99999999999999\n253402300800\n1772355600\n\n",
        "git keeps the dates as given (and cannot print one before 1970)"
    );

    let times = |args: &[&str]| -> Vec<(String, String)> {
        let mut all = vec!["history"];
        all.extend_from_slice(args);
        env.json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().unwrap().to_owned()
                        + &e["version"]
                            .as_u64()
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                    e["time"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(e, t)| ((*e).to_owned(), (*t).to_owned()))
            .collect()
    };
    let last = "9999-12-30T22:00:00Z";
    assert_eq!(
        times(&[]),
        pairs(&[
            ("init", "1969-12-31T00:00:00Z"),
            ("register1", "2026-03-01T09:00:00Z"),
            ("register2", last),
            ("register3", last),
        ])
    );
    assert_eq!(
        times(&["--since", "2030-01-01"]),
        pairs(&[("register2", last), ("register3", last)])
    );
    assert_eq!(
        times(&["--until", "2000-01-01"]),
        pairs(&[("init", "1969-12-31T00:00:00Z")])
    );
    assert_eq!(
        times(&["--since", "1969-12-30", "--until", "1970-01-01"]),
        pairs(&[("init", "1969-12-31T00:00:00Z")])
    );

    // --at walks back to the last commit made at or before the time.
    let latest_at = |t: &str| env.run_ok(&["resolve", "models:/m/latest", "--at", t]);
    assert_eq!(latest_at("2030-01-01"), "s3://m/1\n");
    assert_eq!(latest_at(last), "s3://m/3\n");
    let out = env.run_err(1, &["resolve", "models:/m/latest", "--at", "1970-06-01"]);
    assert!(out.stderr.contains("there is no model m"), "{}", out.stderr);
    let out = env.run_err(2, &["resolve", "models:/m/latest", "--at", "1969-06-01"]);
    assert!(
        out.stderr.contains("has no commit at or before"),
        "{}",
        out.stderr
    );
}

/// A relative time beyond the representable range is a usage error naming
/// the input, never a panic or a wrapped time.
#[test]
fn relative_times_that_overflow_exit_2() {
    let env = TestEnv::with_registry();
    for (args, input) in [
        (
            &["history", "--since", "100000000 days ago"][..],
            "100000000 days ago",
        ),
        (
            &["history", "--until=-100000000 days ago"],
            "-100000000 days ago",
        ),
        (
            &["show", "--at", "99999999999 weeks ago"],
            "99999999999 weeks ago",
        ),
        (
            &[
                "resolve",
                "models:/m/1",
                "--at",
                "9223372036854775807 seconds ago",
            ],
            "9223372036854775807 seconds ago",
        ),
    ] {
        let out = env.run_err(2, args);
        assert!(
            out.stderr.contains(input) && out.stderr.contains("out of range"),
            "{args:?}: {}",
            out.stderr
        );
    }
}
