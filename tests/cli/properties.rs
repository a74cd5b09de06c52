//! Properties over random sequences of lifecycle commands: an accepted
//! event is exactly one commit and leaves a valid registry; a refused one
//! (exit 1) or a failed one (exit 2) leaves HEAD, refs, index, working tree
//! and tags exactly as they were.

use crate::common::TestEnv;
use crate::lifecycle::POLICY;
use proptest::prelude::*;

/// A command and who runs it (their git identity, which approvals are recorded under).
fn command() -> impl Strategy<Value = (&'static str, Vec<String>)> {
    let version = 1u8..5;
    let stage = prop::sample::select(vec!["staging", "production", "qa"]);
    let actor = prop::sample::select(vec!["tester", "bob", "carol"]);
    let args = prop_oneof![
        Just(vec![
            "register".into(),
            "m".into(),
            "--artifact".into(),
            "s3://m/x".into()
        ]),
        (version.clone(), stage.clone()).prop_map(|(v, s)| vec![
            "promote".into(),
            "m".into(),
            v.to_string(),
            "--to".into(),
            s.into()
        ]),
        stage
            .clone()
            .prop_map(|s| vec!["demote".into(), "m".into(), "--from".into(), s.into()]),
        stage
            .clone()
            .prop_map(|s| vec!["rollback".into(), "m".into(), "--stage".into(), s.into()]),
        (
            version.clone(),
            prop::sample::select(vec!["champion", "beta"])
        )
            .prop_map(|(v, a)| vec![
                "alias".into(),
                "set".into(),
                "m".into(),
                a.into(),
                v.to_string()
            ]),
        (version.clone(), stage).prop_map(|(v, s)| vec![
            "approve".into(),
            "m".into(),
            v.to_string(),
            "--stage".into(),
            s.into()
        ]),
        version
            .clone()
            .prop_map(|v| vec!["deprecate".into(), "m".into(), v.to_string()]),
        version.prop_map(|v| vec!["archive".into(), "m".into(), v.to_string()]),
    ];
    (actor, args)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn refused_events_never_move_anything(commands in prop::collection::vec(command(), 1..10)) {
        let env = TestEnv::with_registry();
        env.write("regent.yaml", POLICY);
        env.commit_all("policy");
        env.run_ok(&["register", "m", "--artifact", "s3://m/1"]);
        for (who, args) in &commands {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let before = env.state();
            let count = env.commit_count();
            let out = env.run_as(who, &args);
            prop_assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
            if out.code == 0 {
                prop_assert_eq!(env.commit_count(), count + 1, "{:?}", args);
                prop_assert_eq!(env.git(&["status", "--porcelain"]), "");
                let valid = env.run(&["validate"]);
                prop_assert_eq!(valid.code, 0, "{:?} left an invalid registry: {}", args, valid.stdout);
            } else {
                prop_assert!(out.code == 1 || out.code == 2, "{:?}: exit {}", args, out.code);
                prop_assert!(out.stderr.contains("error: "), "{}", out.stderr);
                prop_assert_eq!(env.state(), before, "{:?} changed something while failing", args);
            }
        }
    }
}
