//! The README's quick start runs end to end, so it cannot drift from the code.

use crate::common::TestEnv;

/// examples/quickstart.sh succeeds and shows what the README promises.
#[test]
fn quickstart_script_runs_end_to_end() {
    let env = TestEnv::new();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.sh");
    let out = env.sh(&format!(
        "TMPDIR='{}' bash '{}'",
        env.root.display(),
        script.display()
    ));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for expected in [
        "$ regent init --stages staging,production",
        "$ regent run list churn --sort accuracy\nRUN             STATUS    STARTED           accuracy  latency_p95_ms  loss\nchurn/adam-lr2",
        "$ regent run list --where 'metrics.accuracy > 0.9 and params.optimizer == \"adam\"' --sort loss --asc",
        "*  metrics.accuracy                 0.912           0.931",
        "$ regent validate",
        "$ regent promote churn 2 --to production\n",
        "(refused, exit 1: nothing was committed)",
        "$ regent resolve models:/churn/production\ns3://models/churn/adam-lr3.pkl\n",
        "rollback  churn  v1       production  v3",
        "churn#production#3\n",
        "log run churn/adam-lr2  [run]",
        "init regent registry  [init]",
    ] {
        assert!(
            out.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stderr.contains("The registry is valid."),
        "{}",
        out.stderr
    );
}
