//! Long metric histories (issue 11 point 9): a run file keeps at most 1000
//! points per metric (first, last, min and max among them); the full series
//! goes to the artifact store as a gzip CSV whose parts `series` lists.

use crate::common::{Outcome, TestEnv};
use std::path::PathBuf;

const MAX_POINTS: usize = 1000;

/// `regent ARGS` with a local-folder store at `<tmp>/store`.
fn with_store(env: &TestEnv, args: &[&str]) -> Outcome {
    let out = env
        .regent()
        .env("REGENT_ARTIFACT_ROOT", store(env))
        .args(args)
        .output()
        .expect("regent runs");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn store(env: &TestEnv) -> PathBuf {
    env.root.join("store")
}

fn ok(out: Outcome) -> Outcome {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out
}

/// A curve with its minimum and maximum somewhere in the middle.
fn value(i: usize) -> f64 {
    (i as f64 / 997.0).sin() * (1.0 + i as f64 / 3000.0) + if i == 4321 { 1e6 } else { 0.0 }
}

/// `{"loss": [v0, v1, …], "acc": 0.5}` with `n` values.
fn metrics_json(n: usize) -> String {
    let values: Vec<String> = (0..n).map(|i| format!("{}", value(i))).collect();
    format!("{{\"loss\": [{}], \"acc\": 0.5}}", values.join(","))
}

fn run_json(env: &TestEnv, id: &str) -> serde_json::Value {
    env.json(&["run", "show", id])
}

/// The run's `loss` history as (step, value).
fn history(run: &serde_json::Value) -> Vec<(u64, f64)> {
    run["history"]["loss"]
        .as_array()
        .expect("a loss history")
        .iter()
        .map(|p| (p["step"].as_u64().unwrap(), p["value"].as_f64().unwrap()))
        .collect()
}

/// The bounded history has at most MAX_POINTS points, in step order, among
/// them the first, the last, the lowest and the highest of `0..n`.
fn assert_bounded(run: &serde_json::Value, n: usize) {
    let kept = history(run);
    assert!(kept.len() <= MAX_POINTS, "{} points kept", kept.len());
    assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "not in order");
    let all: Vec<(u64, f64)> = (0..n).map(|i| (i as u64, value(i))).collect();
    let min = all.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    let max = all.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    for wanted in [all[0], all[n - 1], *min, *max] {
        assert!(kept.contains(&wanted), "{wanted:?} not kept");
    }
    assert_eq!(run["series"]["loss"]["points"], n as u64);
    assert_eq!(run["metrics"]["loss"], value(n - 1));
}

/// The decompressed text of a stored part, through `artifact get` (which
/// verifies its digest).
fn part_text(env: &TestEnv, part: &serde_json::Value, dest: &str) -> String {
    let uri = part["uri"].as_str().unwrap();
    ok(with_store(env, &["artifact", "get", uri, dest]));
    let out = env.sh(&format!("gzip -dc '{dest}'"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

/// 1,000,000 steps from a JSON file (19 MB, past the 16 MiB and 250,000-node
/// limits of registry files) with the address space capped at 256 MiB.
#[test]
fn a_million_steps_are_logged_in_bounded_memory_and_stored_whole() {
    let env = TestEnv::with_registry();
    let n = 1_000_000;
    env.write("metrics.json", metrics_json(n));
    let out = env.sh(&format!(
        "ulimit -v 262144 && REGENT_ARTIFACT_ROOT='{}' \"$REGENT\" run log e --name big \
         --metrics-file metrics.json",
        store(&env).display()
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = run_json(&env, "e/big");
    assert_bounded(&run, n);
    let parts = run["series"]["loss"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["points"], n as u64);
    let text = part_text(&env, &parts[0], "loss.csv.gz");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,value,timestamp"));
    let mut count = 0;
    for (i, line) in lines.enumerate() {
        assert_eq!(line, format!("{i},{},", value(i)), "line {}", i + 2);
        count += 1;
    }
    assert_eq!(count, n);
    // `run show` summarises the curve.
    let shown = env.run_ok(&["run", "show", "e/big"]);
    assert!(
        shown.contains("1000000 (downsampled to"),
        "no summary:\n{shown}"
    );
    assert!(shown.contains(&format!("@{}", n - 1)), "{shown}");
}

/// `run update --step` past the bound: the first part holds every point so
/// far, a later update appends a part with its own points.
#[test]
fn run_update_past_the_bound_adds_a_part() {
    let env = TestEnv::with_registry();
    let n = MAX_POINTS;
    env.write("metrics.json", metrics_json(n));
    ok(with_store(
        &env,
        &[
            "run",
            "start",
            "e",
            "--name",
            "r",
            "--metrics-file",
            "metrics.json",
        ],
    ));
    let run = run_json(&env, "e/r");
    assert_eq!(history(&run).len(), n);
    assert!(run.get("series").is_none(), "{run}");

    let step = n.to_string();
    let one = value(n).to_string();
    ok(with_store(
        &env,
        &[
            "run",
            "update",
            "e/r",
            "--metric",
            &format!("loss={one}"),
            "--step",
            &step,
        ],
    ));
    let run = run_json(&env, "e/r");
    assert_bounded(&run, n + 1);
    let parts = run["series"]["loss"]["parts"].as_array().unwrap().clone();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["points"], (n + 1) as u64);
    let text = part_text(&env, &parts[0], "first.gz");
    assert_eq!(text.lines().count(), n + 2);

    let next = value(n + 1).to_string();
    let step = (n + 1).to_string();
    ok(with_store(
        &env,
        &[
            "run",
            "end",
            "e/r",
            "--metric",
            &format!("loss={next}"),
            "--step",
            &step,
        ],
    ));
    let run = run_json(&env, "e/r");
    assert_bounded(&run, n + 2);
    let parts = run["series"]["loss"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], parts_first(&run));
    assert_eq!(parts[1]["points"], 1);
    let text = part_text(&env, &parts[1], "second.gz");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with(&format!("{step},{next},20")), "{text}");
}

fn parts_first(run: &serde_json::Value) -> serde_json::Value {
    run["series"]["loss"]["parts"][0].clone()
}

/// No store: still bounded, the points counted, no parts, and a warning
/// saying the full series was not kept and how to keep it.
#[test]
fn without_a_store_the_history_is_bounded_with_a_warning() {
    let env = TestEnv::with_registry();
    let n = 2500;
    env.write("metrics.json", metrics_json(n));
    let out = env.run_ok(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--metrics-file",
        "metrics.json",
    ]);
    assert_eq!(out.trim(), "e/r");
    let warned = env.run(&[
        "run",
        "log",
        "e",
        "--name",
        "s",
        "--metrics-file",
        "metrics.json",
    ]);
    assert!(
        warned.stderr.contains("full series was not kept")
            && warned.stderr.contains("REGENT_ARTIFACT_ROOT"),
        "{}",
        warned.stderr
    );
    let run = run_json(&env, "e/r");
    assert_bounded(&run, n);
    assert!(run["series"]["loss"].get("parts").is_none(), "{run}");
}

/// A `--batch` line's long history is bounded and stored too.
#[test]
fn a_batch_line_with_a_long_history_is_bounded() {
    let env = TestEnv::with_registry();
    let n = 3000;
    env.write(
        "runs.jsonl",
        format!(
            "{{\"experiment\": \"e\", \"name\": \"b\", \"metrics\": {}}}\n",
            metrics_json(n)
        ),
    );
    ok(with_store(&env, &["run", "log", "--batch", "runs.jsonl"]));
    let run = run_json(&env, "e/b");
    assert_bounded(&run, n);
    let part = &run["series"]["loss"]["parts"][0];
    assert_eq!(part["points"], n as u64);
    assert_eq!(part_text(&env, part, "b.gz").lines().count(), n + 1);
}

/// Bad input in a long list: exit 2 naming the file and the key; nothing
/// committed, nothing stored.
#[test]
fn a_long_list_out_of_step_order_is_refused_and_nothing_is_stored() {
    let env = TestEnv::with_registry();
    let mut points: Vec<String> = (0..1500)
        .map(|i| format!("{{\"step\": {i}, \"value\": 1}}"))
        .collect();
    points[1200] = "{\"step\": 3, \"value\": 1}".into();
    env.write(
        "metrics.json",
        format!("{{\"val\": {{\"loss\": [{}]}}}}", points.join(",")),
    );
    let before = env.commit_count();
    let out = with_store(&env, &["run", "log", "e", "--metrics-file", "metrics.json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("metrics.json") && out.stderr.contains("`val/loss`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("step order"), "{}", out.stderr);
    assert_eq!(env.commit_count(), before);
    assert!(!store(&env).exists());

    // A duplicate key is still refused, at its line and column.
    env.write("dup.json", "{\"a\": 1,\n \"a\": 2}");
    let out = with_store(&env, &["run", "log", "e", "--metrics-file", "dup.json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("duplicate key \"a\""), "{}", out.stderr);
    assert!(out.stderr.contains("dup.json:2"), "{}", out.stderr);
}
