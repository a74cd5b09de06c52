//! `regent publish` after merges of every kind: the missing tags, once, and
//! the outputs deploy steps read.

use crate::common::TestEnv;
use serde_json::json;

/// A registry with m v1 registered on main, its tag removed as if it had
/// been made on a pull-request branch (which regent does not tag).
fn main_with_v1() -> TestEnv {
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    env.git(&["tag", "-d", "m@v1"]);
    env
}

fn tag_commit(env: &TestEnv, tag: &str) -> String {
    env.git(&["rev-parse", &format!("{tag}^{{commit}}")])
        .trim()
        .to_owned()
}

/// Missing tags are created at their events' commits; a rerun creates none.
#[test]
fn publish_creates_missing_tags_once() {
    let env = main_with_v1();
    let value = env.json(&["publish"]);
    assert_eq!(value[0]["tag"], "m@v1");
    assert_eq!(value[0]["created"], true);
    assert_eq!(value[0]["uri"], "s3://m/1");
    assert_eq!(tag_commit(&env, "m@v1"), env.head());
    assert_eq!(env.git(&["cat-file", "-t", "m@v1"]).trim(), "tag");
    let again = env.json(&["publish"]);
    assert_eq!(again[0]["created"], false);
    assert_eq!(env.git(&["tag", "--list"]), "m@v1\n");
}

/// Builds a branch `pr` with a registration and a promotion made by regent.
fn pull_request_branch(env: &TestEnv) {
    env.git(&["switch", "-q", "-c", "pr"]);
    env.run_ok(&["register", "m", "--artifact", "s3://m/2"]);
    env.run_ok(&["promote", "m", "2", "--to", "staging"]);
    // Tags made on the branch are not published; the merge decides.
    for tag in env.git(&["tag", "--list"]).lines() {
        env.git(&["tag", "-d", tag]);
    }
    env.git(&["switch", "-q", "main"]);
}

/// A squash merge: both events are in one commit, and both get their tags there.
#[test]
fn publish_after_a_squash_merge() {
    let env = main_with_v1();
    pull_request_branch(&env);
    env.git(&["merge", "-q", "--squash", "pr"]);
    env.git(&["commit", "-q", "-m", "Promote m v2 (#12)"]);
    let value = env.json(&["publish", "--since", "HEAD~1"]);
    let tags: Vec<&str> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["m@v2", "m#staging#1"]);
    assert_eq!(value[1]["pr"], 12);
    assert_eq!(tag_commit(&env, "m@v2"), env.head());
    assert_eq!(tag_commit(&env, "m#staging#1"), env.head());
    assert_eq!(
        tag_commit(&env, "m@v1"),
        env.git(&["rev-parse", "HEAD~1"]).trim(),
        "catch-up tag for the earlier event"
    );
}

/// A merge commit is one change on the branch's first-parent line: the
/// events it brings in are tagged on the merge itself, not on the pull
/// request's inner commits (which were never states of the branch).
#[test]
fn publish_after_a_merge_commit() {
    let env = main_with_v1();
    pull_request_branch(&env);
    env.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request #13 from acme/pr",
        "pr",
    ]);
    env.run_ok(&["publish"]);
    assert_eq!(tag_commit(&env, "m@v2"), env.head());
    assert_eq!(tag_commit(&env, "m#staging#1"), env.head());
    let value = env.json(&["publish", "--since", "HEAD^1"]);
    let events = value.as_array().unwrap();
    assert_eq!(events.len(), 2);
    // The pull request's commits were made by regent: their trailers
    // explain the merge's change.
    assert!(events.iter().all(|e| e["via"] == "regent"), "{value}");
}

/// A rebase merge: new commits, tagged where they landed.
#[test]
fn publish_after_a_rebase_merge() {
    let env = main_with_v1();
    pull_request_branch(&env);
    env.git(&["cherry-pick", "main..pr"]);
    env.run_ok(&["publish"]);
    assert_eq!(tag_commit(&env, "m#staging#1"), env.head());
    assert_eq!(
        tag_commit(&env, "m@v2"),
        env.git(&["rev-parse", "HEAD~1"]).trim()
    );
}

/// In GitHub Actions the events go to $GITHUB_OUTPUT; one event also as fields.
#[test]
fn publish_writes_github_outputs() {
    let env = main_with_v1();
    let before = env.head();
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    let outputs = env.root.join("outputs");
    let out = env
        .regent()
        .env("GITHUB_OUTPUT", &outputs)
        .args(["publish", "--since", &before])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&outputs).unwrap();
    let value = |key: &str| -> String {
        let start = text
            .find(&format!("{key}<<"))
            .unwrap_or_else(|| panic!("no {key} in {text}"));
        let rest = &text[start..];
        let delimiter = rest[key.len() + 2..].lines().next().unwrap();
        let body = &rest[key.len() + 2 + delimiter.len() + 1..];
        body[..body.find(&format!("\n{delimiter}")).unwrap()].to_owned()
    };
    assert_eq!(value("model"), "m");
    assert_eq!(value("version"), "1");
    assert_eq!(value("stage"), "staging");
    assert_eq!(value("uri"), "s3://m/1");
    let events: serde_json::Value = serde_json::from_str(&value("events")).unwrap();
    assert_eq!(events[0]["tag"], "m#staging#1");
    assert_eq!(events[0]["event"], "promote");
}

/// A published tag the branch no longer contains (history rewritten) is an error.
#[test]
fn publish_refuses_a_rewritten_history() {
    let env = main_with_v1();
    env.run_ok(&["publish"]);
    // Rewrite: drop the registration and register a different artifact as
    // v1, while the published tag still names the old commit.
    let published = env.head();
    env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    env.git(&["tag", "-d", "m@v1"]);
    env.run_ok(&["register", "m", "--artifact", "s3://evil/1"]);
    env.git(&["tag", "-f", "-a", "-m", "published", "m@v1", &published]);
    let out = env.run_err(1, &["publish"]);
    assert!(out.stderr.contains("tag m@v1 points at"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("no longer contains: its history was rewritten"),
        "{}",
        out.stderr
    );
}

/// --push sends the created tags to the remote.
#[test]
fn publish_push_sends_tags() {
    let env = main_with_v1();
    let origin = env.add_origin();
    env.run_ok(&["publish", "--push"]);
    assert_eq!(env.git_in(&origin, &["tag", "--list"]), "m@v1\n");
    env.run_ok(&["publish", "--push"]);
    assert_eq!(
        json!(env.git_in(&origin, &["tag", "--list"])),
        json!("m@v1\n")
    );
}

/// Without `--since`, a tag in regent's format that no event on the branch
/// makes, on a commit the branch lacks, is a dropped event too.
#[test]
fn publish_catches_a_tag_whose_event_is_gone() {
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    env.run_ok(&["register", "m", "--artifact", "s3://m/2"]);
    env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let out = env.run_err(1, &["publish"]);
    assert!(out.stderr.contains("tag m@v2 points at"), "{}", out.stderr);
    // Tags that are not regent's are not its business.
    env.git(&["tag", "-d", "m@v2"]);
    env.git(&["tag", "v1.0.0", "HEAD"]);
    env.run_ok(&["publish"]);
}

/// `--since` reads the models the range touched: their missing tags are
/// made (numbered from their first event); other models are not read.
#[test]
fn publish_since_reads_only_the_models_it_touched() {
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "a", "--artifact", "s3://a/1"]);
    env.run_ok(&["register", "b", "--artifact", "s3://b/1"]);
    env.run_ok(&["promote", "b", "1", "--to", "staging"]);
    let before = env.head();
    env.run_ok(&["register", "b", "--artifact", "s3://b/2"]);
    env.run_ok(&["promote", "b", "2", "--to", "staging"]);
    for tag in ["a@v1", "b@v1", "b#staging#2"] {
        env.git(&["tag", "-d", tag]);
    }
    let value = env.json(&["publish", "--since", &before]);
    let reported: Vec<&str> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tag"].as_str().unwrap())
        .collect();
    assert_eq!(reported, ["b@v2", "b#staging#2"]);
    assert_eq!(value[1]["created"], true);
    let tags = env.git(&["tag", "--list"]);
    assert!(tags.contains("b@v1\n"), "b's earlier tag is made: {tags}");
    assert!(!tags.contains("a@v1"), "a is outside the range: {tags}");
    // A full publish makes the rest.
    env.run_ok(&["publish"]);
    assert!(env.git(&["tag", "--list"]).contains("a@v1\n"));
}
