//! Attempts to get around the policy, each caught by `check` or `publish`
//! with a reason that says what happened (README "Guarantees"). Other
//! bypasses are covered where their feature is: direct commits to guarded
//! stages (`github::check_flags_direct_commits_to_guarded_stages`),
//! promoting without approvals or gates offline (`lifecycle`), dismissed and
//! withdrawn reviews (`github::check_refuses_approvals_that_do_not_count`).

use crate::common::TestEnv;
use crate::github::{
    check, commit_on_pr_branch, gate_mocks, pr_branch, promote_v1_to_production, review, setup,
};
use wiremock::MockServer;

/// Runs the gate on `head` with these reviews (team @acme/ml-leads = `leads`)
/// and returns its report, asserting it refused.
async fn refused(
    env: &TestEnv,
    head: &str,
    reviews: Vec<serde_json::Value>,
    leads: Vec<&str>,
) -> String {
    let server = MockServer::start().await;
    gate_mocks(&server, head, vec![reviews], leads, false).await;
    let out = check(env, &server, head);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    out.stdout
}

/// The policy that judges a pull request is the base's: a PR that lowers
/// the approvals and promotes in the same change is still judged by the old
/// rule, and the policy change itself needs a policy owner.
#[tokio::test]
async fn a_pull_request_that_lowers_the_approvals_is_judged_by_the_base() {
    let env = setup();
    let head = commit_on_pr_branch(&env, "relax the policy and promote", |env| {
        env.write(
            "regent.yaml",
            env.read("regent.yaml")
                .replace("approvals: 1", "approvals: 0"),
        );
        promote_v1_to_production(env);
    });
    let server = MockServer::start().await;
    gate_mocks(&server, &head, vec![vec![]], vec![], false).await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("needs an approval by one of the policy owners (carol)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("0 of 1 approvals"), "{}", out.stdout);
}

/// The author of the pull request approving it themselves.
#[tokio::test]
async fn self_approval_does_not_count() {
    let env = setup();
    let head = pr_branch(&env);
    let report = refused(
        &env,
        &head,
        vec![review(1, "alice", "APPROVED", &head)],
        vec![],
    )
    .await;
    assert!(report.contains("0 of 1 approvals"), "{report}");
    assert!(
        report.contains("alice wrote the pull request and cannot approve it"),
        "{report}"
    );
}

/// An approval given before more commits were pushed approved something
/// else: it does not carry over to the new head.
#[tokio::test]
async fn an_approval_before_a_later_push_does_not_count() {
    let env = setup();
    let approved = pr_branch(&env);
    // A later push on the same branch: whatever it changes, the approval
    // was for something else.
    let head = commit_on_pr_branch(&env, "one more commit", |env| {
        env.write("NOTES", "pushed after the review\n");
    });
    let report = refused(
        &env,
        &head,
        vec![review(1, "bob", "APPROVED", &approved)],
        vec![],
    )
    .await;
    let reason = format!(
        "bob approved {}, but the head is now {}",
        &approved[..7],
        &head[..7]
    );
    assert!(report.contains(&reason), "{report}");
}

/// Someone who is neither listed nor in the listed team.
#[tokio::test]
async fn an_approver_outside_the_list_or_team_does_not_count() {
    let env = setup();
    let head = pr_branch(&env);
    let report = refused(
        &env,
        &head,
        vec![review(1, "mallory", "APPROVED", &head)],
        vec!["frank"],
    )
    .await;
    assert!(
        report.contains("not counted: mallory (not an approver)"),
        "{report}"
    );
}

/// Raising a registered version's metric to pass the production gate (with
/// a perfectly valid approval) is refused: metrics are frozen at
/// registration. Changing its artifact likewise.
#[tokio::test]
async fn editing_a_registered_versions_metrics_or_artifact_is_refused() {
    let env = setup();
    let head = commit_on_pr_branch(&env, "promote m v1 to production", |env| {
        let version = env.read("models/m/versions/1.yaml");
        assert!(version.contains("accuracy: 0.93"), "{version}");
        env.write(
            "models/m/versions/1.yaml",
            version
                .replace("accuracy: 0.93", "accuracy: 0.99")
                .replace("s3://m/1", "s3://evil/1"),
        );
        promote_v1_to_production(env);
    });
    let report = refused(
        &env,
        &head,
        vec![review(1, "bob", "APPROVED", &head)],
        vec![],
    )
    .await;
    assert!(
        report.contains("m v1 was changed where it is frozen"),
        "{report}"
    );
}

/// A force-push that drops a published event, whatever replaces it: the
/// post-merge step (`--since` the branch before the push) names the tag.
#[test]
fn a_force_push_that_drops_a_published_event_is_caught_by_publish() {
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    let before = env.head();
    // Rewrite: the promotion is gone, and an unrelated commit replaces it.
    env.git(&["reset", "-q", "--hard", "HEAD~1"]);
    env.sh("echo notes > NOTES && git add NOTES && git commit -q -m notes");
    let out = env.run_err(1, &["publish", "--since", &before]);
    assert!(
        out.stderr.contains("tag m#staging#1 points at"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("history was rewritten"),
        "{}",
        out.stderr
    );
    // A plain fast-forward since the same point is fine.
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
    let before = env.head();
    env.run_ok(&["register", "m", "--artifact", "s3://m/2"]);
    env.run_ok(&["publish", "--since", &before]);
}

/// A promotion pull request opened by a bot for mallory (`Regent-Actor:
/// mallory` on its commit): mallory asked for it, so her approval never
/// counts, even though the pull request's author is someone else.
#[tokio::test]
async fn the_one_who_asked_never_approves_a_bot_opened_promotion() {
    let env = setup();
    let head = commit_on_pr_branch(
        &env,
        "promote m v1 to production\n\nRegent-Event: promote\nRegent-Model: m\nRegent-Version: 1\nRegent-Stage: production\nRegent-Actor: mallory",
        promote_v1_to_production,
    );
    let report = refused(
        &env,
        &head,
        vec![review(1, "mallory", "APPROVED", &head)],
        vec!["mallory"],
    )
    .await;
    assert!(report.contains("0 of 1 approvals"), "{report}");
    assert!(
        report.contains("mallory (asked for this change)"),
        "{report}"
    );
}

/// A direct push whose subject ends in `(#12)` is still a direct push to a
/// `direct: false` stage: the graph decides, not the text.
#[test]
fn a_pull_request_number_in_a_subject_proves_nothing() {
    let env = setup();
    let before = env.head();
    promote_v1_to_production(&env);
    env.commit_all("Promote m v1 to production (#12)");
    let out = env.run_err(1, &["check", "--base", &before]);
    assert!(
        out.stdout.contains("changed production directly"),
        "{}",
        out.stdout
    );
}
