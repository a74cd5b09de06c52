//! Properties of the policy over generated worlds.

use super::*;

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
