//! Unit and property tests of [`super`].
use super::*;
use crate::registry::{AliasPolicy, RollbackPolicy};
use proptest::prelude::*;

/// Owned facts behind a [`Context`], edited per test.
#[derive(Debug, Clone)]
struct World {
    config: Config,
    model: ModelFile,
    versions: BTreeMap<u64, VersionFacts>,
    held: BTreeSet<(String, u64)>,
    approvals: Vec<Approval>,
    actor: String,
    via_pull_request: bool,
    /// (user, team) memberships.
    members: Vec<(String, String)>,
}

impl World {
    fn judge(&self, request: &Request) -> Decision {
        let is_member = |user: &str, team: &str| {
            self.members
                .iter()
                .any(|(u, t)| u.eq_ignore_ascii_case(user) && t == team)
        };
        judge(&self.context(&is_member), request)
    }

    fn context<'a>(&'a self, is_member: &'a dyn Fn(&str, &str) -> bool) -> Context<'a> {
        Context {
            config: &self.config,
            model: &self.model,
            versions: &self.versions,
            held: &self.held,
            approvals: &self.approvals,
            actor: &self.actor,
            requested_by: &[],
            via_pull_request: self.via_pull_request,
            is_member,
        }
    }

    fn counting(&self, version: u64, target: &ApprovalTarget, approvers: &[&str]) -> Vec<String> {
        let is_member = |user: &str, team: &str| {
            self.members
                .iter()
                .any(|(u, t)| u.eq_ignore_ascii_case(user) && t == team)
        };
        let approvers: Vec<String> = approvers.iter().map(|s| s.to_string()).collect();
        counting_approvers(&self.context(&is_member), version, target, &approvers)
    }

    fn stage_mut(&mut self, name: &str) -> &mut StageConfig {
        self.config
            .stages
            .iter_mut()
            .find(|s| s.name == name)
            .unwrap()
    }

    fn approve(&mut self, actor: &str, version: u64, target: ApprovalTarget) {
        self.approvals.push(Approval {
            actor: actor.into(),
            version,
            target,
        });
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn facts(status: VersionStatus, metrics: &[(&str, f64)], created_by: &str) -> VersionFacts {
    VersionFacts {
        status,
        metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        created_by: created_by.into(),
    }
}

/// Stages staging and production (no rules); versions 1-4 active, registered
/// by `reg`, with accuracy and latency; v3 in production, v4 in staging (and
/// v3 held staging before). Actor `pat`, local.
fn world() -> World {
    let versions = [
        (1, 0.80, 40.0),
        (2, 0.85, 45.0),
        (3, 0.93, 30.0),
        (4, 0.912, 42.0),
    ]
    .into_iter()
    .map(|(v, acc, lat)| {
        let metrics = [("accuracy", acc), ("latency_ms", lat)];
        (v, facts(VersionStatus::Active, &metrics, "reg"))
    })
    .collect();
    World {
        config: Config::new(&strings(&["staging", "production"])),
        model: ModelFile {
            name: "m".into(),
            stages: [("production".into(), 3), ("staging".into(), 4)].into(),
            ..Default::default()
        },
        versions,
        held: [
            ("staging".to_string(), 3),
            ("production".to_string(), 3),
            ("staging".to_string(), 4),
            ("production".to_string(), 1),
        ]
        .into(),
        approvals: Vec::new(),
        actor: "pat".into(),
        via_pull_request: false,
        members: Vec::new(),
    }
}

fn promote(version: u64, stage: &str) -> Request {
    Request::Promote {
        version,
        stage: stage.into(),
    }
}

fn rollback(version: u64, stage: &str) -> Request {
    Request::Rollback {
        version,
        stage: stage.into(),
    }
}

fn set_alias(alias: &str, version: u64) -> Request {
    Request::SetAlias {
        alias: alias.into(),
        version,
    }
}

fn prod() -> ApprovalTarget {
    ApprovalTarget::Stage("production".into())
}

fn gate(metric: &str) -> Gate {
    Gate {
        metric: metric.into(),
        ..Default::default()
    }
}

/// The one check of `rule` whose message contains `fragment`, asserted to have `passed`.
#[track_caller]
fn expect(decision: &Decision, rule: Rule, passed: bool, fragment: &str) {
    let found = decision
        .checks
        .iter()
        .find(|c| c.rule == rule && c.message.contains(fragment));
    match found {
        Some(check) => assert_eq!(check.passed, passed, "{check}\nin:\n{decision}"),
        None => panic!("no {rule} check containing {fragment:?} in:\n{decision}"),
    }
}

fn rules(decision: &Decision) -> Vec<Rule> {
    decision.checks.iter().map(|c| c.rule).collect()
}

// ---- Exists, Stage, Status ----

#[test]
fn a_missing_version_is_the_only_check() {
    let w = world();
    for request in [
        promote(9, "production"),
        rollback(9, "nope"),
        set_alias("x", 9),
    ] {
        let d = w.judge(&request);
        assert_eq!(rules(&d), [Rule::Exists], "{request}");
        expect(&d, Rule::Exists, false, "version 9 does not exist");
        assert!(!d.allowed());
    }
}

#[test]
fn an_undeclared_stage_stops_after_exists() {
    let w = world();
    let d = w.judge(&promote(4, "qa"));
    assert_eq!(rules(&d), [Rule::Exists, Rule::Stage]);
    expect(&d, Rule::Exists, true, "version 4 exists");
    expect(
        &d,
        Rule::Stage,
        false,
        "stage qa is not declared in regent.yaml (declared: staging, production)",
    );
    let d = w.judge(&promote(4, "none"));
    expect(&d, Rule::Stage, false, "use demote");
    let d = w.judge(&Request::Demote { stage: "qa".into() });
    assert_eq!(rules(&d), [Rule::Stage]);
    assert!(!d.allowed());
}

#[test]
fn a_plain_promotion_is_allowed_with_its_reasons() {
    let w = world();
    let d = w.judge(&promote(4, "production"));
    assert!(d.allowed(), "{d}");
    assert_eq!(d.failures().count(), 0);
    assert_eq!(
        rules(&d),
        [Rule::Exists, Rule::Stage, Rule::Status, Rule::NoChange]
    );
    expect(&d, Rule::Stage, true, "stage production is declared");
    expect(&d, Rule::Status, true, "version 4 is active");
    expect(&d, Rule::NoChange, true, "production moves from v3 to v4");
}

#[test]
fn deprecated_and_archived_versions_are_refused() {
    for status in [VersionStatus::Deprecated, VersionStatus::Archived] {
        let mut w = world();
        w.versions.get_mut(&2).unwrap().status = status;
        let d = w.judge(&promote(2, "production"));
        let message = format!(
            "version 2 is {}; deprecated and archived versions cannot be promoted",
            status.as_str()
        );
        expect(&d, Rule::Status, false, &message);
        assert_eq!(d.failures().count(), 1);
        let d = w.judge(&rollback(2, "production"));
        expect(&d, Rule::Status, false, "cannot be rolled back to");
        let d = w.judge(&set_alias("champion", 2));
        expect(&d, Rule::Status, false, "cannot be given an alias");
    }
}

// ---- NoChange ----

#[test]
fn nothing_to_do_fails() {
    let w = world();
    let d = w.judge(&promote(3, "production"));
    expect(
        &d,
        Rule::NoChange,
        false,
        "version 3 is already in production; nothing to do",
    );
    assert_eq!(d.failures().count(), 1);
    expect(
        &w.judge(&rollback(3, "production")),
        Rule::NoChange,
        false,
        "already in production",
    );

    let mut w = world();
    w.model.stages.remove("staging");
    let d = w.judge(&Request::Demote {
        stage: "staging".into(),
    });
    assert_eq!(rules(&d), [Rule::Stage, Rule::NoChange]);
    expect(
        &d,
        Rule::NoChange,
        false,
        "stage staging is empty; nothing to demote",
    );
    expect(
        &w.judge(&promote(4, "staging")),
        Rule::NoChange,
        true,
        "staging is empty; v4 moves in",
    );

    w.model.aliases.insert("champion".into(), 3);
    expect(
        &w.judge(&set_alias("champion", 3)),
        Rule::NoChange,
        false,
        "alias champion already names v3",
    );
    expect(
        &w.judge(&set_alias("champion", 4)),
        Rule::NoChange,
        true,
        "alias champion moves from v3 to v4",
    );
    expect(
        &w.judge(&set_alias("best", 4)),
        Rule::NoChange,
        true,
        "alias best is new",
    );
    let d = w.judge(&Request::RemoveAlias {
        alias: "best".into(),
    });
    assert_eq!(rules(&d), [Rule::NoChange]);
    expect(
        &d,
        Rule::NoChange,
        false,
        "alias best does not exist; nothing to remove",
    );
    let d = w.judge(&Request::RemoveAlias {
        alias: "champion".into(),
    });
    expect(&d, Rule::NoChange, true, "alias champion (v3) is removed");
    assert!(d.allowed());
}

#[test]
fn demote_needs_no_approvals() {
    let mut w = world();
    w.stage_mut("production").approvals = Some(2);
    w.stage_mut("production").approvers = strings(&["alice"]);
    let d = w.judge(&Request::Demote {
        stage: "production".into(),
    });
    assert!(d.allowed(), "{d}");
    expect(&d, Rule::NoChange, true, "v3 leaves production");
}

// ---- Requires ----

#[test]
fn requires_one_check_per_required_stage() {
    let mut w = world();
    w.config.stages.insert(
        0,
        StageConfig {
            name: "qa".into(),
            ..Default::default()
        },
    );
    w.stage_mut("production").requires = strings(&["staging", "qa"]);
    let d = w.judge(&promote(4, "production"));
    let requires: Vec<_> = d
        .checks
        .iter()
        .filter(|c| c.rule == Rule::Requires)
        .collect();
    assert_eq!(requires.len(), 2);
    assert_eq!(requires[0].message, "version 4 has held staging");
    assert!(requires[0].passed);
    assert_eq!(requires[1].message, "version 4 has never been in qa");
    assert!(!requires[1].passed);
    assert!(!d.allowed());
    w.held.insert(("qa".into(), 4));
    assert!(w.judge(&promote(4, "production")).allowed());
    // Version 2 never was anywhere.
    let d = w.judge(&promote(2, "production"));
    assert_eq!(d.failures().count(), 2);
}

#[test]
fn a_rollback_needs_an_earlier_holder_not_the_requirements() {
    let mut w = world();
    w.stage_mut("production").requires = strings(&["staging"]);
    // v1 held production but never staging: a rollback skips `requires`.
    let d = w.judge(&rollback(1, "production"));
    assert!(d.allowed(), "{d}");
    expect(&d, Rule::Requires, true, "version 1 held production before");
    expect(
        &d,
        Rule::NoChange,
        true,
        "production rolls back from v3 to v1",
    );
    // v2 never held production: that is a promotion, not a rollback.
    let d = w.judge(&rollback(2, "production"));
    expect(
        &d,
        Rule::Requires,
        false,
        "version 2 has never held production; a rollback returns to an earlier holder",
    );
}

// ---- Gates ----

#[test]
fn min_and_max_gates_show_the_numbers() {
    let mut w = world();
    w.stage_mut("production").gates = vec![
        Gate {
            min: Some(0.9),
            ..gate("accuracy")
        },
        Gate {
            max: Some(40.0),
            ..gate("latency_ms")
        },
    ];
    let d = w.judge(&promote(4, "production"));
    expect(&d, Rule::Gate, true, "accuracy 0.912 >= 0.9 (min)");
    expect(&d, Rule::Gate, false, "latency_ms 42 > 40 (max)");
    let d = w.judge(&promote(2, "production"));
    expect(&d, Rule::Gate, false, "accuracy 0.85 < 0.9 (min)");
    let d = w.judge(&promote(1, "production"));
    expect(&d, Rule::Gate, true, "latency_ms 40 <= 40 (max)");
}

#[test]
fn a_gate_with_both_bounds_checks_each_in_order() {
    let mut w = world();
    w.stage_mut("production").gates = vec![Gate {
        min: Some(0.95),
        max: Some(0.99),
        ..gate("accuracy")
    }];
    let d = w.judge(&promote(4, "production"));
    let gates: Vec<_> = d.checks.iter().filter(|c| c.rule == Rule::Gate).collect();
    assert_eq!(gates.len(), 2);
    assert_eq!(
        (gates[0].passed, gates[0].message.as_str()),
        (false, "accuracy 0.912 < 0.95 (min)")
    );
    assert_eq!(
        (gates[1].passed, gates[1].message.as_str()),
        (true, "accuracy 0.912 <= 0.99 (max)")
    );
}

#[test]
fn a_missing_or_nan_metric_fails() {
    let mut w = world();
    w.stage_mut("production").gates = vec![
        Gate {
            min: Some(0.9),
            ..gate("f1")
        },
        Gate {
            max_regression: Some(0.1),
            ..gate("f1")
        },
        Gate {
            max: Some(1.0),
            ..gate("loss")
        },
        gate("accuracy"),
        gate("auc"),
    ];
    w.versions
        .get_mut(&4)
        .unwrap()
        .metrics
        .insert("loss".into(), f64::NAN);
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Gate,
        false,
        "metric `f1` is missing from version 4 (min 0.9)",
    );
    expect(
        &d,
        Rule::Gate,
        false,
        "metric `f1` is missing from version 4 (max_regression 0.1)",
    );
    expect(
        &d,
        Rule::Gate,
        false,
        "metric `loss` of version 4 is not a number (max 1)",
    );
    expect(&d, Rule::Gate, true, "metric `accuracy` is recorded");
    expect(
        &d,
        Rule::Gate,
        false,
        "metric `auc` is missing from version 4",
    );
    assert_eq!(d.failures().count(), 4);
}

#[test]
fn max_regression_higher_is_better() {
    let mut w = world();
    w.stage_mut("production").gates = vec![Gate {
        max_regression: Some(0.01),
        ..gate("accuracy")
    }];
    w.versions
        .get_mut(&4)
        .unwrap()
        .metrics
        .insert("accuracy".into(), 0.91);
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Gate,
        false,
        "accuracy dropped 0.02 from v3 (0.93 → 0.91), more than 0.01 allowed",
    );
    // Exactly at the limit passes despite float noise (0.93 - 0.91 != 0.02 in f64).
    w.stage_mut("production").gates[0].max_regression = Some(0.02);
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Gate,
        true,
        "accuracy dropped 0.02 from v3 (0.93 → 0.91), within 0.02 allowed",
    );
    // An improvement passes.
    w.versions
        .get_mut(&4)
        .unwrap()
        .metrics
        .insert("accuracy".into(), 0.95);
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Gate,
        true,
        "no regression from v3 (0.93 → 0.95); higher is better",
    );
}

#[test]
fn max_regression_lower_is_better() {
    let mut w = world();
    w.stage_mut("production").gates = vec![Gate {
        max_regression: Some(5.0),
        higher_is_better: Some(false),
        ..gate("latency_ms")
    }];
    // v4: 42 vs v3: 30, rose 12.
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Gate,
        false,
        "latency_ms rose 12 from v3 (30 → 42), more than 5 allowed",
    );
    w.versions
        .get_mut(&4)
        .unwrap()
        .metrics
        .insert("latency_ms".into(), 33.0);
    expect(
        &w.judge(&promote(4, "production")),
        Rule::Gate,
        true,
        "latency_ms rose 3 from v3 (30 → 33), within 5 allowed",
    );
    w.versions
        .get_mut(&4)
        .unwrap()
        .metrics
        .insert("latency_ms".into(), 20.0);
    expect(
        &w.judge(&promote(4, "production")),
        Rule::Gate,
        true,
        "lower is better",
    );
}

#[test]
fn max_regression_without_a_holder_or_its_metric_passes() {
    let mut w = world();
    w.stage_mut("production").gates = vec![Gate {
        max_regression: Some(0.0),
        ..gate("accuracy")
    }];
    w.model.stages.remove("production");
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Gate,
        true,
        "accuracy max_regression 0: production is empty, nothing to compare with",
    );
    w.model.stages.insert("production".into(), 2);
    w.versions.get_mut(&2).unwrap().metrics.clear();
    let d = w.judge(&promote(4, "production"));
    expect(&d, Rule::Gate, true, "v2 (in production) has no `accuracy`");
    w.model.stages.insert("production".into(), 77);
    let d = w.judge(&promote(4, "production"));
    expect(
        &d,
        Rule::Gate,
        true,
        "v77 (in production) is not a known version",
    );
}

#[test]
fn a_rollback_applies_gates_but_not_max_regression() {
    let mut w = world();
    w.stage_mut("production").gates = vec![
        Gate {
            max_regression: Some(0.0),
            ..gate("accuracy")
        },
        Gate {
            min: Some(0.82),
            ..gate("accuracy")
        },
    ];
    let d = w.judge(&rollback(1, "production"));
    expect(
        &d,
        Rule::Gate,
        true,
        "accuracy max_regression 0: not applied to a rollback",
    );
    expect(&d, Rule::Gate, false, "accuracy 0.8 < 0.82 (min)");
    // The same move as a promotion is held to max_regression.
    w.held.insert(("staging".into(), 1));
    let d = w.judge(&promote(1, "production"));
    expect(&d, Rule::Gate, false, "accuracy dropped 0.13 from v3");
}

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

// ---- Properties ----

static USERS: [&str; 6] = ["alice", "Bob", "carol", "dave", "eve", "reg"];
static PRINCIPALS: [&str; 5] = ["alice", "bob", "carol", "@acme/leads", "@Eve"];
static STAGES: [&str; 3] = ["staging", "production", "qa"];
static TARGET_STAGES: [&str; 5] = ["staging", "production", "qa", "none", "champion"];
static ALIASES: [&str; 4] = ["champion", "production", "challenger", "Bad"];
static METRICS: [&str; 3] = ["acc", "lat", "gone"];

fn pick<T: Copy + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

fn arb_value() -> impl Strategy<Value = f64> {
    prop_oneof![8 => -1.0..2.0f64, 1 => Just(f64::NAN), 1 => Just(0.5)]
}

fn arb_gate() -> impl Strategy<Value = Gate> {
    (
        pick(&METRICS),
        proptest::option::of(arb_value()),
        proptest::option::of(arb_value()),
        proptest::option::of(0.0..0.5f64),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(metric, min, max, max_regression, higher_is_better)| Gate {
                metric: metric.into(),
                min,
                max,
                max_regression,
                higher_is_better,
                ..Default::default()
            },
        )
}

fn arb_stage(name: &'static str) -> impl Strategy<Value = StageConfig> {
    (
        proptest::sample::subsequence(&STAGES[..], 0..=1),
        proptest::option::of(0u32..3),
        proptest::sample::subsequence(&PRINCIPALS[..], 0..=3),
        proptest::collection::vec(arb_gate(), 0..=2),
        proptest::option::of(any::<bool>()),
        proptest::option::of(proptest::option::of(0u32..2)),
    )
        .prop_map(
            move |(requires, approvals, approvers, gates, direct, rollback)| StageConfig {
                name: name.into(),
                requires: requires.iter().map(|s| s.to_string()).collect(),
                approvals,
                approvers: approvers.iter().map(|s| s.to_string()).collect(),
                gates,
                direct,
                rollback: rollback.map(|approvals| RollbackPolicy {
                    approvals,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
}

fn arb_facts() -> impl Strategy<Value = VersionFacts> {
    (
        prop_oneof![
            6 => Just(VersionStatus::Active),
            1 => Just(VersionStatus::Deprecated),
            1 => Just(VersionStatus::Archived),
        ],
        proptest::option::of(arb_value()),
        proptest::option::of(0.0..100.0f64),
        pick(&USERS),
    )
        .prop_map(|(status, acc, lat, by)| {
            let mut metrics = BTreeMap::new();
            metrics.extend(acc.map(|v| ("acc".to_string(), v)));
            metrics.extend(lat.map(|v| ("lat".to_string(), v)));
            VersionFacts {
                status,
                metrics,
                created_by: by.into(),
            }
        })
}

fn arb_target() -> impl Strategy<Value = ApprovalTarget> {
    prop_oneof![
        pick(&STAGES).prop_map(|s| ApprovalTarget::Stage(s.into())),
        pick(&ALIASES).prop_map(|a| ApprovalTarget::Alias(a.into())),
    ]
}

fn arb_approval() -> impl Strategy<Value = Approval> {
    (pick(&USERS), 1u64..6, arb_target()).prop_map(|(actor, version, target)| Approval {
        actor: actor.into(),
        version,
        target,
    })
}

fn arb_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (1u64..7, pick(&TARGET_STAGES)).prop_map(|(version, s)| promote(version, s)),
        (1u64..7, pick(&TARGET_STAGES)).prop_map(|(version, s)| rollback(version, s)),
        pick(&TARGET_STAGES).prop_map(|s| Request::Demote { stage: s.into() }),
        (pick(&ALIASES), 1u64..7).prop_map(|(a, version)| set_alias(a, version)),
        pick(&ALIASES).prop_map(|a| Request::RemoveAlias { alias: a.into() }),
    ]
}

fn arb_world() -> impl Strategy<Value = World> {
    let config = (
        proptest::sample::subsequence(&STAGES[..], 0..=3),
        arb_stage("staging"),
        arb_stage("production"),
        arb_stage("qa"),
        proptest::option::of((
            0u32..2,
            proptest::sample::subsequence(&PRINCIPALS[..], 0..=2),
        )),
    )
        .prop_map(|(declared, a, b, c, champion)| {
            let mut config = Config::new(&[]);
            config.stages = [a, b, c]
                .into_iter()
                .filter(|s| declared.contains(&s.name.as_str()))
                .collect();
            if let Some((approvals, approvers)) = champion {
                let approvers = approvers.iter().map(|s| s.to_string()).collect();
                config.aliases.insert(
                    "champion".into(),
                    AliasPolicy {
                        approvals: Some(approvals),
                        approvers,
                        ..Default::default()
                    },
                );
            }
            config
        });
    (
        config,
        proptest::collection::vec(arb_facts(), 5),
        proptest::collection::btree_map(pick(&STAGES), 1u64..7, 0..3),
        proptest::collection::btree_map(pick(&ALIASES), 1u64..7, 0..3),
        proptest::collection::btree_set((pick(&STAGES).prop_map(String::from), 1u64..6), 0..12),
        proptest::collection::vec(arb_approval(), 0..10),
        pick(&USERS),
        any::<bool>(),
    )
        .prop_map(
            |(config, versions, stages, aliases, held, approvals, actor, via_pull_request)| World {
                config,
                model: ModelFile {
                    name: "m".into(),
                    stages: stages
                        .into_iter()
                        .map(|(s, v)| (s.to_string(), v))
                        .collect(),
                    aliases: aliases
                        .into_iter()
                        .map(|(a, v)| (a.to_string(), v))
                        .collect(),
                    ..Default::default()
                },
                versions: (1..).zip(versions).collect(),
                held,
                approvals,
                actor: actor.into(),
                via_pull_request,
                members: vec![
                    ("dave".into(), "@acme/leads".into()),
                    ("Carol".into(), "@acme/leads".into()),
                ],
            },
        )
}

/// The approval a request would need from `actor`, or a stray one for requests without a target.
fn approval_for(request: &Request, actor: &str) -> Approval {
    let (version, target) = match request {
        Request::Promote { version, stage } | Request::Rollback { version, stage } => {
            (*version, ApprovalTarget::Stage(stage.clone()))
        }
        Request::SetAlias { alias, version } => (*version, ApprovalTarget::Alias(alias.clone())),
        Request::Demote { stage } => (1, ApprovalTarget::Stage(stage.clone())),
        Request::RemoveAlias { alias } => (1, ApprovalTarget::Alias(alias.clone())),
    };
    Approval {
        actor: actor.into(),
        version,
        target,
    }
}

/// A world and a request, with some approvals that match the request.
fn arb_case() -> impl Strategy<Value = (World, Request)> {
    (
        arb_world(),
        arb_request(),
        proptest::sample::subsequence(&USERS[..], 0..=4),
    )
        .prop_map(|(mut w, request, approvers)| {
            let matching = approvers.iter().map(|a| approval_for(&request, a));
            w.approvals.extend(matching);
            (w, request)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn judge_is_total_ordered_and_consistent((w, request) in arb_case()) {
        let d = w.judge(&request);
        prop_assert!(!d.checks.is_empty());
        prop_assert_eq!(d.allowed(), d.failures().next().is_none());
        prop_assert!(d.checks.is_sorted_by_key(|c| c.rule));
        prop_assert!(d.checks.iter().all(|c| !c.message.is_empty()));
        prop_assert_eq!(&d, &w.judge(&request));
    }

    #[test]
    fn an_approval_never_hurts(
        (w, request) in arb_case(),
        extra in arb_approval(),
        matching in pick(&USERS),
        which in any::<bool>(),
    ) {
        let before = w.judge(&request);
        let mut more = w.clone();
        more.approvals.push(if which { extra } else { approval_for(&request, matching) });
        let after = more.judge(&request);
        prop_assert_eq!(before.checks.len(), after.checks.len());
        for (b, a) in before.checks.iter().zip(&after.checks) {
            prop_assert_eq!(b.rule, a.rule);
            prop_assert!(!b.passed || a.passed, "{} became {}", b, a);
        }
        prop_assert!(!before.allowed() || after.allowed());
    }

    #[test]
    fn an_archived_version_is_never_allowed((mut w, request) in arb_case()) {
        let Some(v) = request.version() else { return Ok(()) };
        if let Some(facts) = w.versions.get_mut(&v) {
            facts.status = VersionStatus::Archived;
        }
        let d = w.judge(&request);
        prop_assert!(!d.allowed(), "{}", d);
    }

    #[test]
    fn removing_a_gate_never_hurts(
        (w, request) in arb_case(),
        which in any::<prop::sample::Index>(),
    ) {
        let before = w.judge(&request);
        let Some(stage) = request.stage() else { return Ok(()) };
        let mut fewer = w.clone();
        let Some(config) = fewer.config.stages.iter_mut().find(|s| s.name == stage) else {
            return Ok(());
        };
        if config.gates.is_empty() {
            return Ok(());
        }
        config.gates.remove(which.index(config.gates.len()));
        let after = fewer.judge(&request);
        prop_assert!(!before.allowed() || after.allowed());
        let failed_before: Vec<_> = before.failures().collect();
        for failure in after.failures() {
            prop_assert!(failed_before.contains(&failure), "new failure {}", failure);
        }
    }
}
