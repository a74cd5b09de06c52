//! Files regent writes read the same in Python (PyYAML, YAML 1.1), and files
//! PyYAML wrote back still validate.

use crate::common::{TestEnv, python, run_file};

/// Runs a Python script in the repository with PyYAML from the test venv;
/// returns stdout.
fn py(env: &TestEnv, script: &str) -> String {
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .current_dir(&env.repo)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Strings YAML 1.1 reads as booleans, numbers, dates or specials.
const AMBIGUOUS: [&str; 24] = [
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "N",
    "2026-01-01",
    "2026-01-01 10:00:00",
    "1e3",
    "1_000",
    "1:20",
    "0b101",
    "017",
    "0x1F",
    ".5",
    "+1",
    "-0",
    "1.0",
    "=",
    "<<",
    "~",
    "null",
    "True",
    ".inf",
];

#[test]
fn pyyaml_safe_load_reads_the_strings_regent_wrote() {
    let env = TestEnv::with_registry();
    let mut args: Vec<String> = vec!["run".into(), "log".into(), "e".into()];
    args.extend(["--name".into(), "r".into()]);
    for (i, value) in AMBIGUOUS.iter().enumerate() {
        args.push("--param".into());
        args.push(format!("p{i}={value}"));
    }
    args.extend([
        "--param".into(),
        "on=off".into(),
        "--tag".into(),
        "yes=no".into(),
        "--note".into(),
        "2026-01-01".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run_ok(&args);
    env.run_ok(&[
        "register",
        "m",
        "--artifact",
        "s3://b/m.pkl",
        "--digest",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "--description",
        "on",
    ]);

    let shown: serde_json::Value =
        serde_json::from_str(&env.run_ok(&["run", "show", "e/r", "--json"])).unwrap();
    let path = run_file("e", "r");
    let loaded: serde_json::Value = serde_json::from_str(&py(
        &env,
        &format!(
            "import json, yaml; print(json.dumps(yaml.safe_load(open({path:?})), default=repr))"
        ),
    ))
    .unwrap();
    for (i, value) in AMBIGUOUS.iter().enumerate() {
        assert_eq!(loaded["params"][format!("p{i}")], *value, "{value:?}");
    }
    assert_eq!(loaded["params"]["on"], "off");
    assert_eq!(loaded["tags"]["yes"], "no");
    assert_eq!(loaded["note"], "2026-01-01");
    // Times are strings too, exactly as regent shows them.
    assert_eq!(loaded["start_time"], shown["start_time"]);
    assert!(loaded["start_time"].is_string());
    for key in [
        "params",
        "tags",
        "note",
        "start_time",
        "end_time",
        "name",
        "status",
    ] {
        assert_eq!(loaded[key], shown[key], "{key}");
    }

    let version: serde_json::Value = serde_json::from_str(&py(
        &env,
        "import json, yaml; print(json.dumps(yaml.safe_load(open('models/m/versions/1.yaml')), default=repr))",
    ))
    .unwrap();
    assert_eq!(version["description"], "on");
    assert!(version["created_at"].is_string(), "{version}");
}

#[test]
fn files_pyyaml_dumped_again_still_validate() {
    let env = TestEnv::with_registry();
    env.run_ok(&[
        "run", "log", "e", "--name", "r", "--param", "opt=on", "--metric", "acc=0.9",
    ]);
    env.run_ok(&[
        "register",
        "m",
        "--artifact",
        "s3://b/m.pkl",
        "--digest",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "--run",
        "e/r",
    ]);
    let path = run_file("e", "r");
    // A file written by an older regent, or by hand, with a bare time: PyYAML
    // reads it as a datetime and dumps it as `2026-01-02 03:04:05+00:00`.
    let text = env.read(&path).replace(
        "start_time: '2026-01-02T03:04:05Z'",
        "start_time: 2026-01-02T03:04:05Z",
    );
    assert!(
        text.contains("start_time: 2026-01-02T03:04:05Z\n"),
        "{text}"
    );
    env.write(&path, text);
    py(
        &env,
        &format!(
            "import yaml\n\
             for p in [{path:?}, 'models/m/model.yaml', 'models/m/versions/1.yaml', 'regent.yaml']:\n\
             \x20   d = yaml.safe_load(open(p))\n\
             \x20   open(p, 'w').write(yaml.safe_dump(d))\n"
        ),
    );
    let dumped = env.read(&path);
    assert!(
        dumped.contains("start_time: 2026-01-02 03:04:05+00:00\n"),
        "{dumped}"
    );
    assert!(dumped.contains("opt: 'on'\n"), "{dumped}");
    env.run_ok(&["validate"]);
    env.commit_all("rewritten by PyYAML");
    env.run_ok(&["validate", "--rev", "HEAD"]);
    let shown: serde_json::Value =
        serde_json::from_str(&env.run_ok(&["run", "show", "e/r", "--json"])).unwrap();
    assert_eq!(shown["params"]["opt"], "on");
    assert_eq!(shown["metrics"]["acc"], 0.9);
    env.run_ok(&["resolve", "models:/m/latest"]);
}
