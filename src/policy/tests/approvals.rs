//! Approvals, direct commits, aliases and how decisions read.

use super::*;

// ---- Approvals ----

fn guarded() -> World {
    let mut w = world();
    let p = w.stage_mut("production");
    p.approvals = Some(2);
    p.approvers = strings(&["alice", "bob", "@acme/ml-leads"]);
    w
}

#[test]
fn approvals_are_counted_and_listed() {
    let mut w = guarded();
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Approvals,
        false,
        "0 of 2 approvals; approvers: alice, bob, @acme/ml-leads",
    );
    w.approve("alice", 4, prod());
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Approvals,
        false,
        "1 of 2 approvals (alice); approvers: alice, bob, @acme/ml-leads",
    );
    assert_eq!(d.failures().count(), 1);
    w.approve("bob", 4, prod());
    let d = w.judge(&promote(4, "production"));
    expect(&d, Rule::Approvals, true, "2 of 2 approvals: alice, bob");
    assert!(d.allowed());
    assert_eq!(
        rules(&d),
        [
            Rule::Exists,
            Rule::Stage,
            Rule::Status,
            Rule::Approvals,
            Rule::NoChange
        ]
    );
    w.members.push(("carol".into(), "@acme/ml-leads".into()));
    w.approve("carol", 4, prod());
    expect(
        &w.judge(&promote(4, "production")),
        Rule::Approvals,
        true,
        "3 approvals (2 required): alice, bob, carol",
    );
}

#[test]
fn approvals_count_distinct_listed_people_only() {
    let mut w = guarded();
    w.approve("alice", 4, prod());
    w.approve("Alice", 4, prod());
    w.approve("mallory", 4, prod()); // not listed
    assert_eq!(w.counting(4, &prod(), &["alice", "bob"]), ["alice"]);
    assert!(!w.judge(&promote(4, "production")).allowed());
}

#[test]
fn the_actor_and_the_registrant_never_count() {
    let mut w = guarded();
    w.actor = "Bob".into();
    w.versions.get_mut(&4).unwrap().created_by = "ALICE".into();
    w.approve("alice", 4, prod());
    w.approve("bob", 4, prod());
    assert!(w.counting(4, &prod(), &["alice", "bob"]).is_empty());
    expect(
        &w.judge(&promote(4, "production")),
        Rule::Approvals,
        false,
        "0 of 2 approvals",
    );
    // The registrant of another version may approve this one.
    assert_eq!(
        w.counting(3, &prod(), &["alice", "bob"]),
        Vec::<String>::new()
    );
    w.approve("alice", 3, prod());
    assert_eq!(w.counting(3, &prod(), &["alice", "bob"]), ["alice"]);
}

#[test]
fn approvals_of_other_versions_or_targets_do_not_count() {
    let mut w = guarded();
    w.approve("alice", 3, prod());
    w.approve("bob", 4, ApprovalTarget::Stage("staging".into()));
    w.approve("bob", 4, ApprovalTarget::Alias("production".into()));
    assert!(w.counting(4, &prod(), &["alice", "bob"]).is_empty());
    expect(
        &w.judge(&promote(4, "production")),
        Rule::Approvals,
        false,
        "0 of 2",
    );
}

#[test]
fn teams_count_through_membership_and_logins_ignore_case() {
    let mut w = guarded();
    w.members.push(("dave".into(), "@acme/ml-leads".into()));
    w.approve("Dave", 4, prod());
    w.approve("eve", 4, prod()); // not a member
    w.approve("BOB", 4, prod());
    assert_eq!(
        w.counting(4, &prod(), &["alice", "bob", "@acme/ml-leads"]),
        ["BOB", "Dave"]
    );
    assert_eq!(w.counting(4, &prod(), &["@Bob"]), ["BOB"]);
    assert!(w.judge(&promote(4, "production")).allowed());
    // Team entries are only asked of the oracle, never matched as logins.
    w.approve("@acme/ml-leads", 4, prod());
    assert_eq!(w.counting(4, &prod(), &["@acme/ml-leads"]), ["Dave"]);
}

#[test]
fn nobody_can_approve_without_approvers() {
    let mut w = world();
    w.stage_mut("production").approvals = Some(1);
    w.approve("alice", 4, prod());
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Approvals,
        false,
        "0 of 1 approvals; approvers: none listed, so nobody can approve",
    );
}

#[test]
fn rollback_approvals_override() {
    let mut w = guarded();
    let d = w.judge(&rollback(1, "production"));
    expect(&d, Rule::Approvals, false, "0 of 2 approvals");
    w.stage_mut("production").rollback = Some(RollbackPolicy {
        approvals: Some(0),
        ..Default::default()
    });
    let d = w.judge(&rollback(1, "production"));
    assert!(d.allowed(), "{d}");
    assert!(!rules(&d).contains(&Rule::Approvals));
    // ... only for rollbacks.
    w.held.insert(("staging".into(), 1));
    expect(
        &w.judge(&promote(1, "production")),
        Rule::Approvals,
        false,
        "0 of 2",
    );
    w.stage_mut("production").rollback = Some(RollbackPolicy {
        approvals: Some(1),
        ..Default::default()
    });
    w.approve("alice", 1, prod());
    expect(
        &w.judge(&rollback(1, "production")),
        Rule::Approvals,
        true,
        "1 of 1 approvals: alice",
    );
    // A rollback policy without a count keeps the stage's.
    w.stage_mut("production").rollback = Some(RollbackPolicy::default());
    expect(
        &w.judge(&rollback(1, "production")),
        Rule::Approvals,
        false,
        "1 of 2 approvals (alice)",
    );
}

// ---- Direct ----

#[test]
fn direct_false_needs_a_pull_request() {
    let mut w = world();
    w.stage_mut("production").direct = Some(false);
    let message = "stage production changes only through a pull request (direct: false); use --pr";
    for request in [
        promote(4, "production"),
        rollback(1, "production"),
        Request::Demote {
            stage: "production".into(),
        },
    ] {
        let d = w.judge(&request);
        expect(&d, Rule::Direct, false, message);
        assert_eq!(d.failures().count(), 1, "{request}: {d}");
    }
    w.via_pull_request = true;
    let d = w.judge(&promote(4, "production"));
    expect(&d, Rule::Direct, true, "this is one");
    assert!(d.allowed());
    // Other stages, and direct: true, are not concerned.
    w.via_pull_request = false;
    assert!(
        !rules(&w.judge(&Request::Demote {
            stage: "staging".into()
        }))
        .contains(&Rule::Direct)
    );
    w.stage_mut("production").direct = Some(true);
    assert!(!rules(&w.judge(&promote(4, "production"))).contains(&Rule::Direct));
}

// ---- Aliases ----

#[test]
fn free_aliases_need_no_approvals() {
    let w = world();
    let d = w.judge(&set_alias("challenger", 4));
    assert!(d.allowed(), "{d}");
    assert_eq!(
        rules(&d),
        [Rule::Exists, Rule::Status, Rule::Alias, Rule::NoChange]
    );
    expect(
        &d,
        Rule::Alias,
        true,
        "alias challenger is not a stage name",
    );
}

#[test]
fn protected_aliases_need_their_approvals() {
    let mut w = world();
    w.config.aliases.insert(
        "champion".into(),
        AliasPolicy {
            approvals: Some(1),
            approvers: strings(&["alice"]),
            ..Default::default()
        },
    );
    let d = w.judge(&set_alias("champion", 4));
    expect(
        &d,
        Rule::Approvals,
        false,
        "0 of 1 approvals; approvers: alice",
    );
    // A stage approval is not an alias approval.
    w.approve("alice", 4, ApprovalTarget::Stage("champion".into()));
    assert!(!w.judge(&set_alias("champion", 4)).allowed());
    w.approve("alice", 4, ApprovalTarget::Alias("champion".into()));
    let d = w.judge(&set_alias("champion", 4));
    expect(&d, Rule::Approvals, true, "1 of 1 approvals: alice");
    assert!(d.allowed());
    // Listed without a count: no approvals needed.
    w.config
        .aliases
        .insert("listed".into(), AliasPolicy::default());
    assert!(w.judge(&set_alias("listed", 4)).allowed());
    // Removing a protected alias needs none either, like a demotion.
    w.model.aliases.insert("champion".into(), 3);
    assert!(
        w.judge(&Request::RemoveAlias {
            alias: "champion".into()
        })
        .allowed()
    );
}

#[test]
fn an_alias_cannot_be_named_like_a_stage_or_badly() {
    let w = world();
    for alias in ["production", "none"] {
        let d = w.judge(&set_alias(alias, 4));
        expect(
            &d,
            Rule::Alias,
            false,
            "has the name of a stage; models:/m@",
        );
        assert!(!d.allowed());
    }
    expect(
        &w.judge(&set_alias("Champ", 4)),
        Rule::Alias,
        false,
        "invalid alias name",
    );
}

// ---- Rendering ----

#[test]
fn checks_and_requests_render() {
    let check = Check::new(Rule::NoChange, false, "x");
    assert_eq!(check.to_string(), "FAIL no-change: x");
    assert_eq!(
        rollback(1, "production").to_string(),
        "roll production back to v1"
    );
    assert_eq!(promote(4, "staging").to_string(), "promote v4 to staging");
    let d = world().judge(&Request::RemoveAlias { alias: "a".into() });
    assert_eq!(
        d.to_string(),
        "FAIL no-change: alias a does not exist; nothing to remove\n"
    );
    assert_eq!(promote(4, "s").version(), Some(4));
    assert_eq!(set_alias("a", 4).alias(), Some("a"));
    assert_eq!(Request::Demote { stage: "s".into() }.stage(), Some("s"));
}

#[test]
fn numbers_lose_float_noise() {
    assert_eq!(Num(0.93 - 0.91).to_string(), "0.02");
    assert_eq!(Num(0.1 + 0.2).to_string(), "0.3");
    assert_eq!(Num(50.0).to_string(), "50");
    assert_eq!(Num(1e-7).to_string(), "0.0000001");
    assert_eq!(Num(f64::NAN).to_string(), "NaN");
}
