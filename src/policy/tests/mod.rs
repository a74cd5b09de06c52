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

mod approvals;
mod properties;

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
