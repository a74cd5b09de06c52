//! `regent import mlflow`: a file store, a SQLite store and a tracking
//! server, each written by MLflow itself (tests/cli/import/make_mlflow.py).

use super::{
    checked, event_trailers, imported_events, make_mlflow, regent_with, row, run, time_of_millis,
    tool,
};
use crate::common::{TestEnv, python};
use serde_json::{Value, json};
use std::path::Path;

const START: &str = "2026-01-01T00:00:00Z";

/// The registry's files under `dir` (registry-relative), with their bytes.
fn files_under(env: &TestEnv, dir: &str) -> Vec<(String, String)> {
    let listing = env.git(&["ls-files", dir]);
    listing
        .lines()
        .map(|path| (path.to_owned(), env.read(path)))
        .collect()
}

/// What the first store (before `more`) must become, checked field by field.
fn check_first_import(env: &TestEnv, made: &Value, copied: bool) {
    let ids: Vec<&str> = made["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let second_name = format!("bold-fox-{}", &ids[1][..8]);

    let first = env.json(&["run", "show", "churn-exp/bold-fox"]);
    assert_eq!(first["name"], "bold-fox");
    assert_eq!(first["status"], "finished");
    assert_eq!(first["start_time"], START);
    assert_eq!(first["end_time"], "2026-01-01T00:01:00Z");
    assert_eq!(first["user"], "alice");
    assert_eq!(first["params"], json!({"lr": "0.1", "layers": "3"}));
    assert_eq!(first["metrics"], json!({"loss": 0.25, "acc": 0.8}));
    let loss: Vec<(u64, f64, String)> = first["history"]["loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["step"].as_u64().unwrap(),
                p["value"].as_f64().unwrap(),
                p["timestamp"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        loss,
        [
            (0, 0.9, "2026-01-01T00:00:01Z".to_owned()),
            (1, 0.5, "2026-01-01T00:00:02Z".to_owned()),
            (2, 0.25, "2026-01-01T00:00:03Z".to_owned())
        ]
    );
    assert!(
        first["history"].get("acc").is_none(),
        "one point is a value, not a history"
    );
    assert_eq!(first["note"], "first try");
    assert_eq!(first["source"]["commit"], "a".repeat(40));
    assert_eq!(first["source"]["branch"], "main");
    let tags = first["tags"].as_object().unwrap();
    assert_eq!(tags["team"], "ml");
    for mapped in [
        "mlflow.runName",
        "mlflow.user",
        "mlflow.note.content",
        "mlflow.source.git.commit",
    ] {
        assert!(
            !tags.contains_key(mapped),
            "{mapped} is a field, not a tag: {tags:?}"
        );
    }
    let artifacts = first["artifacts"].as_array().unwrap();
    let names: Vec<&str> = artifacts
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["model", "notes.txt"]);
    for artifact in artifacts {
        if copied {
            assert!(
                artifact["digest"].as_str().unwrap().starts_with("sha256:"),
                "{artifact}"
            );
        } else {
            assert!(artifact.get("digest").is_none(), "{artifact}");
            assert!(
                artifact["uri"].as_str().unwrap().starts_with("file:///"),
                "{artifact}"
            );
        }
    }

    let second = env.json(&["run", "show", &format!("churn-exp/{second_name}")]);
    assert_eq!(second["status"], "failed");
    assert_eq!(second["user"], "bob");
    assert_eq!(second["start_time"], "2026-01-01T00:02:00Z");
    assert_eq!(second["metrics"], json!({"loss": 0.7}));

    let model = env.json(&["show", "churn"]);
    assert_eq!(model["description"], "churn model");
    assert_eq!(model["tags"], json!({"owner": "ml"}));
    assert_eq!(model["stages"], json!({"staging": 1, "production": 2}));
    assert_eq!(model["aliases"], json!({"champion": 2}));
    let versions = model["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    let v1 = &versions[0];
    assert_eq!(v1["status"], "active");
    assert_eq!(v1["description"], "first");
    assert_eq!(v1["tags"], json!({"k": "v"}));
    assert_eq!(v1["run"], "churn-exp/bold-fox");
    assert_eq!(v1["metrics"], json!({"loss": 0.25, "acc": 0.8}));
    assert_eq!(v1["params"], json!({"lr": "0.1", "layers": "3"}));
    assert_eq!(v1["source_commit"], "a".repeat(40));
    assert_eq!(
        v1["created_at"],
        time_of_millis(&made["versions"]["1"]["created"])
    );
    assert_eq!(v1["created_by"], "alice", "MLflow keeps no user: the run's");
    let model_artifact = artifacts.iter().find(|a| a["path"] == "model").unwrap();
    if copied {
        assert_eq!(
            v1["artifact"]["digest"], model_artifact["digest"],
            "the run's model folder"
        );
        assert_eq!(v1["artifact"]["kind"], "folder");
    } else {
        assert_eq!(v1["artifact"]["verified"], false);
        assert_eq!(v1["artifact"]["uri"], model_artifact["uri"]);
    }
    assert_eq!(versions[1]["stages"], json!(["production"]));
    assert_eq!(versions[1]["aliases"], json!(["champion"]));
    let v3 = &versions[2];
    assert_eq!(v3["status"], "archived");
    assert_eq!(v3["run"], format!("churn-exp/{second_name}"));
    assert_eq!(
        v3["artifact"]["verified"], false,
        "the run logged no model: kept as a URI"
    );
    assert_eq!(v3["artifact"]["uri"], format!("runs:/{}/model", ids[1]));

    let v = |n: &str, k: &str| time_of_millis(&made["versions"][n][k]);
    let alias_time = time_of_millis(&made["model_updated"]);
    assert_eq!(
        imported_events(env, &[]),
        [
            row(["run", "churn-exp/bold-fox", "", "", "", "alice", START]),
            row([
                "run",
                &format!("churn-exp/{second_name}"),
                "",
                "",
                "",
                "bob",
                "2026-01-01T00:02:00Z"
            ]),
            row([
                "register",
                "churn",
                "1",
                "",
                "",
                "alice",
                &v("1", "created")
            ]),
            row([
                "promote",
                "churn",
                "1",
                "staging",
                "",
                "unknown",
                &v("1", "updated")
            ]),
            row([
                "register",
                "churn",
                "2",
                "",
                "",
                "alice",
                &v("2", "created")
            ]),
            row([
                "promote",
                "churn",
                "2",
                "production",
                "",
                "unknown",
                &v("2", "updated")
            ]),
            row(["register", "churn", "3", "", "", "bob", &v("3", "created")]),
            row([
                "archive",
                "churn",
                "3",
                "",
                "",
                "unknown",
                &v("3", "updated")
            ]),
            row([
                "alias",
                "churn",
                "2",
                "@champion",
                "",
                "unknown",
                &alias_time
            ]),
        ]
    );
    // One commit per experiment and per model, marked as imports.
    assert_eq!(event_trailers(env), ["import", "import", "init"]);
    env.run_ok(&["validate"]);
}

#[test]
fn file_store_runs_and_models_arrive_field_by_field_and_a_second_import_adds_only_the_new() {
    let env = TestEnv::with_registry();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let mlruns = work.join("mlruns");
    let made = make_mlflow(&env, &work, mlruns.to_str().unwrap(), false);
    let store = env.root.join("store");
    let vars = [("REGENT_ARTIFACT_ROOT", store.as_path())];
    let source = mlruns.to_str().unwrap();

    let out = regent_with(&env, &vars, &["import", "mlflow", source]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("experiment churn-exp: 2 new runs"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("model churn: 3 new versions"),
        "{}",
        out.stdout
    );
    check_first_import(&env, &made, true);
    // Imported history is not this branch's to tag or deploy.
    let published = env.json(&["publish"]);
    assert_eq!(published, json!([]));
    assert_eq!(env.git(&["tag", "-l"]), "");
    // The artifacts went into the store by content, and come back verified.
    let dest = env.root.join("got");
    let got = regent_with(
        &env,
        &vars,
        &["artifact", "get", "models:/churn/1", dest.to_str().unwrap()],
    );
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(
        std::fs::read_to_string(dest.join("weights.bin")).unwrap(),
        "weights one"
    );

    // Again: nothing new, nothing changed, no commit.
    let before = env.state();
    let again = regent_with(&env, &vars, &["import", "mlflow", source]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("Nothing new to import"),
        "{}",
        again.stderr
    );
    assert_eq!(env.state(), before);

    // MLflow moves on: a new run and a new version in staging. Only those
    // arrive; what was imported stays byte for byte.
    let kept_runs = files_under(&env, "experiments");
    let kept_versions: Vec<_> = files_under(&env, "models/churn/versions");
    make_mlflow(&env, &work, mlruns.to_str().unwrap(), true);
    let out = regent_with(&env, &vars, &["import", "mlflow", source]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("experiment churn-exp: 1 new run"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("model churn: 1 new version, 2 events"),
        "{}",
        out.stdout
    );
    for (path, content) in kept_runs.iter().chain(&kept_versions) {
        assert_eq!(&env.read(path), content, "{path} changed");
    }
    assert_eq!(
        event_trailers(&env),
        ["import", "import", "import", "import", "init"]
    );
    let third = env.json(&["run", "show", "churn-exp/calm-owl"]);
    assert_eq!(third["user"], "carol");
    let model = env.json(&["show", "churn"]);
    assert_eq!(model["stages"], json!({"staging": 4, "production": 2}));
    let events = imported_events(&env, &["churn"]);
    let last = events.last().unwrap();
    assert_eq!(
        [&last[0], &last[2], &last[3], &last[4]],
        ["promote", "4", "staging", "1"],
        "the new promotion names the version it replaced"
    );
}

#[test]
fn sqlite_store_with_no_copy_keeps_uris_unverified() {
    let env = TestEnv::with_registry();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let db = work.join("mlflow.db");
    let uri = format!("sqlite:///{}", db.display());
    let made = make_mlflow(&env, &work, &uri, false);
    // No store configured, and none needed.
    let before = env.state();
    let refused = env.run_err(2, &["import", "mlflow", &uri]);
    assert!(refused.stderr.contains("--no-copy"), "{}", refused.stderr);
    assert_eq!(env.state(), before, "nothing written");

    let dry = env.run_ok(&["import", "mlflow", &uri, "--no-copy", "--dry-run"]);
    assert!(
        dry.contains("model churn: 3 new versions, 7 events"),
        "{dry}"
    );
    assert_eq!(env.state(), before, "a dry run writes nothing");

    env.run_ok(&["import", "mlflow", &uri, "--no-copy"]);
    check_first_import(&env, &made, false);
    // The SQLite store is only read.
    let again = env.run_ok(&["import", "mlflow", &uri, "--no-copy", "--json"]);
    let report: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(report["imported"], json!([]));
    assert_eq!(report["already_imported"], 9);
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `mlflow server` on loopback, stopped (its whole process group) on drop.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    fn start(env: &TestEnv, work: &Path, backend: &str) -> Server {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let log = std::fs::File::create(work.join("server.log")).unwrap();
        let child = tool(env, "mlflow", work)
            .args([
                "server",
                "--backend-store-uri",
                backend,
                "--host",
                "127.0.0.1",
            ])
            .args(["--port", &port.to_string(), "--workers", "1"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("mlflow server starts");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        panic!(
            "mlflow server did not answer on port {port}:\n{}",
            std::fs::read_to_string(work.join("server.log")).unwrap_or_default()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The server's group: uvicorn and its worker.
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill")
            .args(["--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// A run's artifacts as content: path, digest, size, kind (the URIs name
/// each registry's own store).
fn contents(run: &Value) -> Vec<Value> {
    run["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| json!([a["path"], a["digest"], a["size"], a["kind"]]))
        .collect()
}

#[test]
fn tracking_server_gives_what_its_store_holds() {
    let env = TestEnv::with_registry();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let db = work.join("mlflow.db");
    let uri = format!("sqlite:///{}", db.display());
    let made = make_mlflow(&env, &work, &uri, false);
    let server = Server::start(&env, &work, &uri);
    // The REST API answers once the app is loaded, a little after the port opens.
    let ready = || {
        env.run(&["import", "mlflow", &server.url, "--no-copy", "--dry-run"])
            .code
            == 0
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server's API never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // Artifacts are downloaded from the server and stored by content.
    let store = env.root.join("store");
    let out = regent_with(
        &env,
        &[("REGENT_ARTIFACT_ROOT", store.as_path())],
        &["import", "mlflow", &server.url],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);

    // The same store read directly, into another registry: the same runs,
    // artifacts (by content), versions and events.
    let direct = TestEnv::with_registry();
    let direct_store = direct.root.join("store");
    let out = regent_with(
        &direct,
        &[("REGENT_ARTIFACT_ROOT", direct_store.as_path())],
        &["import", "mlflow", &uri],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(imported_events(&env, &[]), imported_events(&direct, &[]));
    let ids: Vec<&str> = made["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for run in [
        "churn-exp/bold-fox".to_owned(),
        format!("churn-exp/bold-fox-{}", &ids[1][..8]),
    ] {
        let mut a = env.json(&["run", "show", &run]);
        let mut b = direct.json(&["run", "show", &run]);
        assert_eq!(contents(&a), contents(&b), "{run}");
        if run == "churn-exp/bold-fox" {
            assert_eq!(contents(&a).len(), 2, "model/ and notes.txt, downloaded");
        }
        a.as_object_mut().unwrap().remove("artifacts");
        b.as_object_mut().unwrap().remove("artifacts");
        assert_eq!(a, b, "{run}");
    }
    let from_server = env.json(&["show", "churn"]);
    let read_directly = direct.json(&["show", "churn"]);
    assert_eq!(
        from_server["stages"],
        json!({"staging": 1, "production": 2})
    );
    assert_eq!(from_server["aliases"], json!({"champion": 2}));
    for (a, b) in from_server["versions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(read_directly["versions"].as_array().unwrap())
    {
        assert_eq!(a["artifact"]["digest"], b["artifact"]["digest"], "{a}");
        assert_eq!(a["run"], b["run"]);
    }
    assert!(from_server["versions"][0]["artifact"]["digest"].is_string());

    // With --no-copy, the server's artifact URIs, unverified.
    let uris = TestEnv::with_registry();
    uris.run_ok(&["import", "mlflow", &server.url, "--no-copy"]);
    let v1 = uris.json(&["show", "churn/v1"]);
    assert_eq!(v1["artifact"]["verified"], false);
    let artifact = v1["artifact"]["uri"].as_str().unwrap();
    assert!(
        artifact.ends_with(&format!("{}/artifacts/model", ids[0])),
        "{artifact}"
    );
    drop(server);

    // A server that is not there: a clear error, nothing written.
    let before = env.state();
    let gone = env.run_err(2, &["import", "mlflow", "http://127.0.0.1:9/", "--no-copy"]);
    assert!(
        gone.stderr.contains("cannot import from MLflow"),
        "{}",
        gone.stderr
    );
    assert!(gone.stderr.contains("127.0.0.1:9"), "{}", gone.stderr);
    assert_eq!(env.state(), before);
}

#[test]
fn a_long_metric_history_is_bounded_in_the_run_file_and_kept_whole_in_the_store() {
    let env = TestEnv::with_registry();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let mlruns = work.join("mlruns");
    let script = r#"
import sys, warnings
warnings.filterwarnings("ignore")
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric
mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient()
run = c.create_run(c.create_experiment("long"), run_name="sweep").info.run_id
points = [Metric("loss", 1.0 / (s + 1), 1767225600000 + s, s) for s in range(1500)]
for i in range(0, len(points), 1000):
    c.log_batch(run, metrics=points[i:i + 1000])
c.set_terminated(run)
"#;
    let mut cmd = tool(&env, python(), &work);
    cmd.args(["-c", script, mlruns.to_str().unwrap()]);
    checked("the MLflow script", run(&mut cmd));
    let store = env.root.join("store");
    let out = regent_with(
        &env,
        &[("REGENT_ARTIFACT_ROOT", store.as_path())],
        &["import", "mlflow", mlruns.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sweep = env.json(&["run", "show", "long/sweep"]);
    assert_eq!(sweep["metrics"]["loss"], 1.0 / 1500.0);
    let kept = sweep["history"]["loss"].as_array().unwrap();
    assert!(kept.len() <= 1000, "{} points kept", kept.len());
    assert_eq!(kept.last().unwrap()["step"], 1499, "the last point is kept");
    assert_eq!(sweep["series"]["loss"]["points"], 1500);
    let part = &sweep["series"]["loss"]["parts"][0];
    assert_eq!(part["points"], 1500);
    assert!(
        part["digest"].as_str().unwrap().starts_with("sha256:"),
        "{part}"
    );
}

#[test]
fn push_sends_every_import_commit_to_the_upstream() {
    let env = TestEnv::with_registry();
    let origin = env.add_origin();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let mlruns = work.join("mlruns");
    make_mlflow(&env, &work, mlruns.to_str().unwrap(), false);
    env.run_ok(&[
        "import",
        "mlflow",
        mlruns.to_str().unwrap(),
        "--no-copy",
        "--push",
    ]);
    let pushed = env.git_in(&origin, &["rev-parse", "main"]);
    assert_eq!(pushed.trim(), env.head());
    assert_eq!(event_trailers(&env), ["import", "import", "init"]);
}
