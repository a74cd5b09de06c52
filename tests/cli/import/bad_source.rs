//! Sources `regent import` cannot take whole: a clear error and nothing
//! written, or a reported skip and the rest imported.

use super::{checked, make_mlflow, run, tool};
use crate::common::{TestEnv, python};

/// A registry and, beside it, an MLflow file store made by MLflow.
fn with_store() -> (TestEnv, std::path::PathBuf, serde_json::Value) {
    let env = TestEnv::with_registry();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let mlruns = work.join("mlruns");
    let made = make_mlflow(&env, &work, mlruns.to_str().unwrap(), false);
    (env, mlruns, made)
}

/// The folder of the run with id `id` in the file store.
fn run_folder(mlruns: &std::path::Path, id: &str) -> std::path::PathBuf {
    std::fs::read_dir(mlruns)
        .unwrap()
        .flatten()
        .map(|e| e.path().join(id))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no run {id} in {}", mlruns.display()))
}

#[test]
fn a_missing_folder_is_an_error_naming_it() {
    let env = TestEnv::with_registry();
    let before = env.state();
    let missing = env.root.join("no-such-mlruns");
    let out = env.run_err(2, &["import", "mlflow", missing.to_str().unwrap()]);
    assert!(
        out.stderr.contains("no-such-mlruns: no such folder"),
        "{}",
        out.stderr
    );
    let db = format!("sqlite:///{}", env.root.join("none.db").display());
    let out = env.run_err(2, &["import", "mlflow", &db]);
    assert!(
        out.stderr.contains("none.db: no such file"),
        "{}",
        out.stderr
    );
    assert!(
        !env.root.join("none.db").exists(),
        "the import never creates a store"
    );
    assert_eq!(env.state(), before);
}

#[test]
fn a_corrupt_meta_yaml_is_an_error_with_its_place_and_nothing_is_imported() {
    let (env, mlruns, made) = with_store();
    let meta = run_folder(&mlruns, made["runs"][1]["id"].as_str().unwrap()).join("meta.yaml");
    std::fs::write(&meta, "run_id: abc\nstatus: [unclosed\n").unwrap();
    let before = env.state();
    let out = env.run_err(
        2,
        &["import", "mlflow", mlruns.to_str().unwrap(), "--no-copy"],
    );
    assert!(
        out.stderr.contains(&meta.display().to_string()),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not valid YAML"), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was imported"),
        "{}",
        out.stderr
    );
    assert_eq!(
        env.state(),
        before,
        "not even the sound experiment or model"
    );
}

#[test]
fn a_version_whose_run_is_gone_is_imported_without_its_run_and_said_so() {
    let (env, mlruns, made) = with_store();
    let gone = made["runs"][1]["id"].as_str().unwrap();
    std::fs::remove_dir_all(run_folder(&mlruns, gone)).unwrap();
    let out = env.run(&["import", "mlflow", mlruns.to_str().unwrap(), "--no-copy"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "not imported: the run link of model churn version 3: its run {gone} is not imported \
             (gone from the source"
        )),
        "{}",
        out.stderr
    );
    let v3 = env.json(&["show", "churn/v3"]);
    assert_eq!(v3["run"], serde_json::Value::Null);
    assert_eq!(v3["status"], "archived");
    let v1 = env.json(&["show", "churn/v1"]);
    assert_eq!(v1["run"], "churn-exp/bold-fox", "the others keep theirs");
}

#[test]
fn names_regent_refuses_are_reported_and_the_rest_imported() {
    let env = TestEnv::with_registry();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let mlruns = work.join("mlruns");
    let script = r#"
import sys, warnings
warnings.filterwarnings("ignore")
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1]); mlflow.set_registry_uri(sys.argv[1])
c = MlflowClient()
bad = c.create_experiment("My Experiment")
c.set_terminated(c.create_run(bad, run_name="r1").info.run_id)
good = c.create_experiment("good")
c.set_terminated(c.create_run(good, run_name="spaced name").info.run_id)
c.set_terminated(c.create_run(good, run_name="fine").info.run_id)
c.create_registered_model("Churn Model")
c.create_registered_model("churn")
c.create_model_version("churn", "s3://bucket/model")
c.set_registered_model_alias("churn", "Champion", "1")
"#;
    let mut cmd = tool(&env, python(), &work);
    cmd.args(["-c", script, mlruns.to_str().unwrap()]);
    checked("the MLflow script", run(&mut cmd));

    let out = env.run(&["import", "mlflow", mlruns.to_str().unwrap(), "--no-copy"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for skipped in [
        "not imported: experiment \"My Experiment\" and its 1 run(s): invalid experiment name",
        "not imported: run good/spaced name (",
        "not imported: model \"Churn Model\": invalid model name",
        "not imported: model churn alias \"Champion\" (version 1): invalid alias name",
    ] {
        assert!(
            out.stderr.contains(skipped),
            "{skipped:?} in:\n{}",
            out.stderr
        );
    }
    let runs = env.json(&["run", "list"]);
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["good/fine"]);
    let model = env.json(&["show", "churn"]);
    assert_eq!(model["aliases"], serde_json::json!({}));
    assert_eq!(model["versions"][0]["artifact"]["uri"], "s3://bucket/model");
}

#[test]
fn a_stage_the_registry_lacks_refuses_the_whole_import() {
    let env = TestEnv::new();
    env.run_ok(&["init", "--stages", "staging"]);
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let mlruns = work.join("mlruns");
    make_mlflow(&env, &work, mlruns.to_str().unwrap(), false);
    let before = env.state();
    let out = env.run_err(
        1,
        &["import", "mlflow", mlruns.to_str().unwrap(), "--no-copy"],
    );
    assert!(
        out.stderr.contains("version 2 was in stage \"production\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("regent.yaml has no such stage"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before, "the experiment is not imported alone");
}

#[test]
fn uncommitted_changes_where_the_import_writes_refuse_it() {
    let (env, mlruns, _) = with_store();
    env.write("models/churn/model.yaml", "name: churn\n");
    let before = env.state();
    let out = env.run_err(
        1,
        &["import", "mlflow", mlruns.to_str().unwrap(), "--no-copy"],
    );
    assert!(
        out.stderr
            .contains("uncommitted changes where the import writes"),
        "{}",
        out.stderr
    );
    assert_eq!(env.state(), before);
}

#[test]
fn an_artifact_that_cannot_be_stored_leaves_every_commit_unmade() {
    let env = TestEnv::with_registry();
    let work = env.root.join("mlflow");
    std::fs::create_dir_all(&work).unwrap();
    let mlruns = work.join("mlruns");
    let script = r#"
import os, sys, warnings
warnings.filterwarnings("ignore")
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient()
for name in ["a-first", "b-second"]:
    run = c.create_run(c.create_experiment(name), run_name="r").info.run_id
    os.makedirs(name + "/model", exist_ok=True)
    open(name + "/model/w.bin", "w").write(name)
    c.log_artifacts(run, name)
    c.set_terminated(run)
    print(run)
"#;
    let mut cmd = tool(&env, python(), &work);
    cmd.args(["-c", script, mlruns.to_str().unwrap()]);
    let out = checked("the MLflow script", run(&mut cmd));
    // The second experiment's model folder gets a symbolic link, which the
    // artifact store refuses; the first experiment's commit was ready by then.
    let second = out.lines().last().unwrap();
    let model = run_folder(&mlruns, second).join("artifacts/model");
    std::os::unix::fs::symlink("/etc/hostname", model.join("link")).unwrap();
    let store = env.root.join("store");
    let before = env.state();
    let commits = env.commit_count();
    let failed = super::regent_with(
        &env,
        &[("REGENT_ARTIFACT_ROOT", store.as_path())],
        &["import", "mlflow", mlruns.to_str().unwrap()],
    );
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("in run b-second/r"),
        "{}",
        failed.stderr
    );
    assert_eq!(env.state(), before);
    assert_eq!(env.commit_count(), commits, "not even a-first's commit");
}
