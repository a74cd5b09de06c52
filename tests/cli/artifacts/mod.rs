//! The artifact store against real storage: a moto S3 server on loopback
//! (`../s3.rs`) and local folders. Here uploads from `run log` and
//! `register`, `artifact get` and `resolve --download` round trips, the
//! store's configuration and `--keep-local`; the failures (wrong
//! credentials, a missing object, a tampered object, an upload killed
//! midway, no store configured, bad input) are in `failures.rs`.

mod failures;

use crate::common::{Outcome, TestEnv};
use crate::s3;
use sha2::Digest as _;
use std::path::Path;

/// Runs `regent ARGS` with extra environment variables.
fn run_with(env: &TestEnv, vars: &[(String, String)], args: &[&str]) -> Outcome {
    let out = env
        .regent()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .expect("regent runs");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok_with(env: &TestEnv, vars: &[(String, String)], args: &[&str]) -> String {
    let out = run_with(env, vars, args);
    assert_eq!(
        out.code, 0,
        "regent {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

fn err_with(env: &TestEnv, code: i32, vars: &[(String, String)], args: &[&str]) -> Outcome {
    let out = run_with(env, vars, args);
    assert_eq!(
        out.code, code,
        "regent {args:?}: expected exit {code}:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The S3 variables plus the store root `s3://BUCKET/PREFIX`.
fn s3_store(test: &str) -> (String, Vec<(String, String)>) {
    let server = s3::server();
    let bucket = server.bucket(test);
    let mut vars = server.vars();
    vars.push((
        "REGENT_ARTIFACT_ROOT".into(),
        format!("s3://{bucket}/team/models"),
    ));
    (bucket, vars)
}

/// A local folder store in the test's temporary folder.
fn local_store(env: &TestEnv) -> Vec<(String, String)> {
    vec![(
        "REGENT_ARTIFACT_ROOT".into(),
        env.root.join("store").display().to_string(),
    )]
}

/// An MLflow-like model folder with nested and hidden files.
fn model_folder(env: &TestEnv, dir: &str) {
    env.write(&format!("{dir}/MLmodel"), "flavors:\n  sklearn: {}\n");
    env.write(&format!("{dir}/model.pkl"), vec![42u8; 3000]);
    env.write(&format!("{dir}/a.txt"), "a dot\n");
    env.write(&format!("{dir}/a/b"), "a slash\n");
    env.write(&format!("{dir}/with space.json"), "{}\n");
    env.write(&format!("{dir}/.hidden"), "h\n");
}

/// The folder's digest by the README's recipe, with the real `sha256sum`.
fn sha256sum_digest(env: &TestEnv, dir: &str) -> String {
    let out = env.sh(&format!(
        "(cd {dir} && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum) \
         | sha256sum"
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    format!("sha256:{}", out.stdout.split_whitespace().next().unwrap())
}

fn run_json(env: &TestEnv, id: &str) -> serde_json::Value {
    env.json(&["run", "show", id])
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                pending.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The key of a content-addressed URI in the test bucket.
fn key_of(uri: &str, bucket: &str) -> String {
    uri.strip_prefix(&format!("s3://{bucket}/"))
        .unwrap_or_else(|| panic!("{uri} is not in {bucket}"))
        .to_owned()
}

/// Every object in the bucket holds the bytes its name promises.
fn every_object_matches_its_name(objects: &[s3::Object]) {
    for o in objects {
        let name = o.key.rsplit('/').next().unwrap();
        assert_eq!(name, o.sha256, "{} holds other bytes", o.key);
    }
}

#[test]
fn run_log_stores_a_file_and_a_folder_in_s3_by_content() {
    let env = TestEnv::with_registry();
    let (bucket, vars) = s3_store("run-log");
    env.write("out/model.pkl", b"pickled weights");
    model_folder(&env, "out/mlflow-model");
    // Relative to the folder the command runs in, never recorded as such.
    let sub = env.repo.join("out");
    let mut cmd = env.regent_in(&sub);
    let out = cmd
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args(["run", "log", "churn", "--name", "r1"])
        .args(["--artifact", "model.pkl", "--artifact", "mlflow-model/"])
        .args(["--artifact", "s3://elsewhere/given.bin"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let run = run_json(&env, "churn/r1");
    let artifacts = run["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 3);
    let file_hex = sha256_hex(b"pickled weights");
    assert_eq!(artifacts[0]["path"], "model.pkl");
    assert_eq!(
        artifacts[0]["uri"],
        format!(
            "s3://{bucket}/team/models/sha256/{}/{file_hex}",
            &file_hex[..2]
        )
    );
    assert_eq!(artifacts[0]["digest"], format!("sha256:{file_hex}"));
    assert_eq!(artifacts[0]["size"], 15);
    assert!(artifacts[0].get("kind").is_none_or(|k| k.is_null()));
    let folder_digest = sha256sum_digest(&env, "out/mlflow-model");
    assert_eq!(artifacts[1]["path"], "mlflow-model");
    assert_eq!(artifacts[1]["digest"], folder_digest);
    assert_eq!(artifacts[1]["kind"], "folder");
    let total: usize = tree(&env.repo.join("out/mlflow-model"))
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    assert_eq!(artifacts[1]["size"], total);
    assert_eq!(
        artifacts[2],
        serde_json::json!({"uri": "s3://elsewhere/given.bin"})
    );

    // Really in the bucket: the file, each file of the folder, the manifest.
    let objects = s3::server().objects(&bucket);
    every_object_matches_its_name(&objects);
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    assert!(keys.contains(&key_of(artifacts[0]["uri"].as_str().unwrap(), &bucket).as_str()));
    let manifest = key_of(artifacts[1]["uri"].as_str().unwrap(), &bucket);
    assert!(keys.contains(&manifest.as_str()));
    assert_eq!(objects.len(), 1 + 6 + 1, "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("team/models/sha256/")));

    // Uploading the same bytes again sends nothing and records the same.
    let again = err_with(
        &env,
        0,
        &vars,
        &[
            "run",
            "log",
            "churn",
            "--name",
            "r2",
            "--artifact",
            "out/model.pkl",
            "--artifact",
            "out/mlflow-model",
        ],
    );
    assert!(
        again.stderr.contains("Already stored: out/model.pkl"),
        "{}",
        again.stderr
    );
    assert_eq!(s3::server().objects(&bucket), objects);
    let r2 = run_json(&env, "churn/r2");
    assert_eq!(r2["artifacts"][0]["uri"], artifacts[0]["uri"]);
    assert_eq!(r2["artifacts"][1]["uri"], artifacts[1]["uri"]);
}

#[test]
fn the_folder_digest_is_what_sha256sum_gives() {
    let env = TestEnv::with_registry();
    model_folder(&env, "m");
    env.write("m/deep/er/x.bin", vec![0u8; 100_000]);
    env.write("m/B", "upper case sorts first\n");
    let vars = local_store(&env);
    ok_with(
        &env,
        &vars,
        &["run", "log", "e", "--name", "r", "--artifact", "m"],
    );
    let run = run_json(&env, "e/r");
    assert_eq!(run["artifacts"][0]["digest"], sha256sum_digest(&env, "m"));
    // The manifest stored is sha256sum's output itself.
    let uri = run["artifacts"][0]["uri"].as_str().unwrap();
    let manifest = std::fs::read_to_string(uri.strip_prefix("file://").unwrap()).unwrap();
    let listed =
        env.sh("cd m && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum");
    assert_eq!(manifest, listed.stdout);
}

#[test]
fn register_stores_and_resolve_download_and_artifact_get_verify() {
    let env = TestEnv::with_registry();
    let (bucket, vars) = s3_store("register");
    model_folder(&env, "model");
    env.write("weights.bin", vec![7u8; 20_000]);
    let version = ok_with(&env, &vars, &["register", "churn", "--artifact", "model"]);
    assert_eq!(version.trim(), "churn/1");
    ok_with(
        &env,
        &vars,
        &["register", "churn", "--artifact", "weights.bin"],
    );
    let shown = env.json(&["show", "churn/1"]);
    let folder_digest = sha256sum_digest(&env, "model");
    assert_eq!(shown["artifact"]["digest"], folder_digest);
    assert_eq!(shown["artifact"]["kind"], "folder");
    assert_eq!(shown["artifact"]["name"], "model");
    let uri = shown["artifact"]["uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with(&format!("s3://{bucket}/team/models/sha256/")),
        "{uri}"
    );
    every_object_matches_its_name(&s3::server().objects(&bucket));

    // resolve --download DIR: DIR/NAME, every file as it was.
    let resolved: serde_json::Value = serde_json::from_str(&ok_with(
        &env,
        &vars,
        &["resolve", "models:/churn/1", "--download", "dl", "--json"],
    ))
    .unwrap();
    let path = env.repo.join("dl/model");
    assert_eq!(resolved["path"], path.display().to_string());
    assert_eq!(resolved["artifact"]["uri"], uri.as_str());
    assert_eq!(tree(&path), tree(&env.repo.join("model")));
    let human = ok_with(
        &env,
        &vars,
        &["resolve", "models:/churn/2", "--download", "dl"],
    );
    assert_eq!(
        human.trim(),
        env.repo.join("dl/weights.bin").display().to_string()
    );
    assert_eq!(
        std::fs::read(env.repo.join("dl/weights.bin")).unwrap(),
        vec![7u8; 20_000]
    );

    // artifact get by model URI, by store URI, and a file inside the folder.
    ok_with(&env, &vars, &["artifact", "get", "models:/churn/1", "got"]);
    assert_eq!(tree(&env.repo.join("got")), tree(&env.repo.join("model")));
    ok_with(&env, &vars, &["artifact", "get", &uri, "again", "--folder"]);
    assert_eq!(tree(&env.repo.join("again")), tree(&env.repo.join("model")));
    let w = env.json(&["show", "churn/2"]);
    let w_uri = w["artifact"]["uri"].as_str().unwrap();
    ok_with(&env, &vars, &["artifact", "get", w_uri, "w.bin"]);
    assert_eq!(
        std::fs::read(env.repo.join("w.bin")).unwrap(),
        vec![7u8; 20_000]
    );
    // An existing destination is never overwritten.
    let out = err_with(&env, 2, &vars, &["artifact", "get", w_uri, "w.bin"]);
    assert!(out.stderr.contains("exists"), "{}", out.stderr);
}

#[test]
fn artifact_get_finds_a_runs_artifact_by_name_and_a_file_inside_a_folder() {
    let env = TestEnv::with_registry();
    let vars = local_store(&env);
    model_folder(&env, "model");
    env.write("metrics.csv", "step,loss\n0,1\n");
    ok_with(
        &env,
        &vars,
        &[
            "run",
            "log",
            "e",
            "--name",
            "r",
            "--artifact",
            "model",
            "--artifact",
            "metrics.csv",
        ],
    );
    ok_with(
        &env,
        &vars,
        &["artifact", "get", "e/r:metrics.csv", "m.csv"],
    );
    assert_eq!(env.read("m.csv"), "step,loss\n0,1\n");
    ok_with(&env, &vars, &["artifact", "get", "e/r:model", "copy"]);
    assert_eq!(tree(&env.repo.join("copy")), tree(&env.repo.join("model")));
    ok_with(&env, &vars, &["artifact", "get", "e/r:model/a/b", "b.txt"]);
    assert_eq!(env.read("b.txt"), "a slash\n");
    let out = err_with(&env, 2, &vars, &["artifact", "get", "e/r", "x"]);
    assert!(
        out.stderr
            .contains("e/r:NAME (its artifacts: model, metrics.csv)"),
        "{}",
        out.stderr
    );
    let out = err_with(&env, 1, &vars, &["artifact", "get", "e/r:nope", "x"]);
    assert!(
        out.stderr.contains("no artifact \"nope\""),
        "{}",
        out.stderr
    );
    let out = err_with(&env, 1, &vars, &["artifact", "get", "e/r:model/none", "x"]);
    assert!(out.stderr.contains("no file \"none\""), "{}", out.stderr);
    assert!(!env.repo.join("x").exists());
}

/// `register --run-artifact NAME` records the run's stored folder as the
/// version's artifact without hashing or uploading again (what the MLflow
/// plugin registers a logged model with), and `artifact get models:/…`
/// returns the same folder.
#[test]
fn register_run_artifact_records_what_the_run_stored() {
    let env = TestEnv::with_registry();
    let vars = local_store(&env);
    model_folder(&env, "model");
    env.write("notes.txt", "n\n");
    ok_with(
        &env,
        &vars,
        &[
            "run",
            "log",
            "e",
            "--name",
            "r",
            "--artifact",
            "model",
            "--artifact",
            "notes.txt",
        ],
    );
    let stored = run_json(&env, "e/r")["artifacts"][0].clone();
    // The folder is gone from the working tree: nothing is read from it again.
    std::fs::remove_dir_all(env.repo.join("model")).unwrap();
    let version = ok_with(
        &env,
        &vars,
        &[
            "register",
            "churn",
            "--run",
            "e/r",
            "--run-artifact",
            "model",
        ],
    );
    assert_eq!(version.trim(), "churn/1");
    let shown = env.json(&["show", "churn/1"]);
    let artifact = &shown["artifact"];
    for key in ["uri", "digest", "size", "kind"] {
        assert_eq!(artifact[key], stored[key], "{key}: {shown}");
    }
    assert_eq!(artifact["name"], "model");
    assert_eq!(artifact["kind"], "folder");
    assert_eq!(shown["run"], "e/r");
    ok_with(&env, &vars, &["alias", "set", "churn", "champion", "1"]);
    ok_with(
        &env,
        &vars,
        &["artifact", "get", "models:/churn@champion", "back"],
    );
    model_folder(&env, "expected");
    assert_eq!(
        tree(&env.repo.join("back")),
        tree(&env.repo.join("expected"))
    );
    // A file artifact works the same way; a missing name lists the run's.
    ok_with(
        &env,
        &vars,
        &[
            "register",
            "notes",
            "--run",
            "e/r",
            "--run-artifact",
            "notes.txt",
        ],
    );
    assert_eq!(
        env.json(&["show", "notes/1"])["artifact"]["kind"],
        serde_json::Value::Null
    );
    let out = err_with(
        &env,
        1,
        &vars,
        &[
            "register",
            "churn",
            "--run",
            "e/r",
            "--run-artifact",
            "nope",
        ],
    );
    assert!(
        out.stderr
            .contains("run e/r has no artifact \"nope\" (its artifacts: model, notes.txt)"),
        "{}",
        out.stderr
    );
    // It needs --run, and excludes --artifact.
    err_with(
        &env,
        2,
        &vars,
        &["register", "churn", "--run-artifact", "model"],
    );
    err_with(
        &env,
        2,
        &vars,
        &[
            "register",
            "churn",
            "--run",
            "e/r",
            "--run-artifact",
            "model",
            "--artifact",
            "x",
        ],
    );
    assert_eq!(
        env.json(&["show", "churn"])["versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn keep_local_records_the_path_from_the_registry_and_is_flagged() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.repo.join("ml")).unwrap();
    env.regent_in(&env.repo.join("ml"))
        .arg("init")
        .assert()
        .success();
    env.write("data/model.pkl", b"weights");
    model_folder(&env, "data/model");
    // From a folder below the registry: recorded relative to the registry (ml/).
    let src = env.repo.join("ml/src");
    std::fs::create_dir_all(&src).unwrap();
    let run = |args: &[&str]| {
        let out = env.regent_in(&src).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run(&[
        "run",
        "log",
        "e",
        "--name",
        "r",
        "--keep-local",
        "--artifact",
        "../../data/model.pkl",
        "--artifact",
        "../../data/model",
    ]);
    assert_eq!(code, 0, "{err}");
    let record =
        std::fs::read_to_string(env.repo.join("ml").join(crate::common::run_file("e", "r")))
            .unwrap();
    assert!(record.contains("- path: ../data/model.pkl\n"), "{record}");
    assert!(record.contains("- path: ../data/model\n"), "{record}");
    assert!(!record.contains("uri:"), "{record}");
    let (_, shown, _) = run(&["run", "show", "e/r"]);
    assert!(shown.contains("[local, not in a store]"), "{shown}");
    let (code, _, err) = run(&[
        "register",
        "m",
        "--keep-local",
        "--artifact",
        "../../data/model.pkl",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, shown, _) = run(&["show", "m/1"]);
    assert!(
        shown.contains("artifact:    ../data/model.pkl  [local, not in a store]"),
        "{shown}"
    );
    // Fetched from the checkout, verified.
    let (code, _, err) = run(&["artifact", "get", "e/r:model", "../../copy"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        tree(&env.repo.join("copy")),
        tree(&env.repo.join("data/model"))
    );
    env.write("data/model.pkl", b"changed");
    let (code, _, err) = run(&["artifact", "get", "models:/m/1", "../../m.pkl"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not match its digest"), "{err}");
    assert!(!env.repo.join("m.pkl").exists());
    // Outside the repository: refused.
    std::fs::write(env.root.join("outside.bin"), b"x").unwrap();
    let (code, _, err) = run(&[
        "run",
        "log",
        "e",
        "--keep-local",
        "--artifact",
        "../../../outside.bin",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is outside the repository"), "{err}");
}

#[test]
fn the_store_root_comes_from_regent_yaml_relative_to_the_registry() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.repo.join("ml")).unwrap();
    env.regent_in(&env.repo.join("ml"))
        .arg("init")
        .assert()
        .success();
    let config = env.read("ml/regent.yaml");
    env.write(
        "ml/regent.yaml",
        format!("{config}artifacts:\n  root: ../.store\n"),
    );
    env.commit_all("store");
    env.write("ml/sub/model.pkl", b"weights");
    let sub = env.repo.join("ml/sub");
    env.regent_in(&sub)
        .args(["run", "log", "e", "--name", "r", "--artifact", "model.pkl"])
        .assert()
        .success();
    let hex = sha256_hex(b"weights");
    let stored = env.repo.join(".store/sha256").join(&hex[..2]).join(&hex);
    assert_eq!(std::fs::read(&stored).unwrap(), b"weights");
    // REGENT_ARTIFACT_ROOT wins.
    let other = env.root.join("other");
    env.regent_in(&sub)
        .env("REGENT_ARTIFACT_ROOT", &other)
        .args(["run", "log", "e", "--name", "r2", "--artifact", "model.pkl"])
        .assert()
        .success();
    assert!(other.join("sha256").join(&hex[..2]).join(&hex).exists());
    // Unknown keys stay errors.
    env.write(
        "ml/regent.yaml",
        format!("{config}artifacts:\n  root: s3://b\n  region: x\n"),
    );
    let out = env
        .regent_in(&env.repo.join("ml"))
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("region"), "{text}");
}

/// Uploading streams: with the address space capped below the file's size,
/// a 384 MiB artifact is stored (in 8 MiB parts) all the same.
#[test]
fn a_large_artifact_is_uploaded_in_bounded_memory() {
    let env = TestEnv::with_registry();
    let size: u64 = 384 << 20;
    let file = std::fs::File::create(env.repo.join("big.bin")).unwrap();
    file.set_len(size).unwrap();
    drop(file);
    let store = env.root.join("store");
    let out = env.sh(&format!(
        "ulimit -v 262144 && REGENT_ARTIFACT_ROOT='{}' \"$REGENT\" run log e --name big --artifact big.bin",
        store.display()
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = run_json(&env, "e/big");
    assert_eq!(run["artifacts"][0]["size"], size);
    let digest = run["artifacts"][0]["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    let stored = store.join("sha256").join(&hex[..2]).join(hex);
    assert_eq!(std::fs::metadata(&stored).unwrap().len(), size);
    let check = env.sh(&format!("sha256sum '{}'", stored.display()));
    assert!(check.stdout.starts_with(hex), "{}", check.stdout);
}
