"""One unchanged MLflow training script (scikit-learn autolog, explicit
params, metrics with steps, artifacts, log_model, register_model, aliases,
stage transitions, search_runs, pyfunc load) runs against MLflow's own
SQLite store and against `regent:`; what each recorded, read back through
MLflow's client, is the same."""

import hashlib
import os


def tree(path):
    out = {}
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_the_same_script_records_the_same_on_sqlite_and_regent(registry, tmp_path, clean_env, script):
    sqlite_dir = tmp_path / "sqlite"
    sqlite_dir.mkdir()
    sqlite_uri = f"sqlite:///{sqlite_dir / 'mlflow.db'}"
    env = clean_env

    seen_sqlite = script("train.py", sqlite_uri, sqlite_dir, env)
    seen_regent = script("train.py", registry.uri, registry.path, registry.env)
    assert seen_regent == seen_sqlite
    assert seen_regent["found"] == ["lr-c1.0"]
    assert seen_regent["predictions"] == seen_regent["expected"]

    sqlite = script("recorded.py", sqlite_uri, sqlite_dir, env)
    regent = script("recorded.py", registry.uri, registry.path, registry.env)

    assert sorted(regent["runs"]) == sorted(sqlite["runs"]) == ["lr-c0.1", "lr-c1.0"]
    for name, expected in sqlite["runs"].items():
        got = regent["runs"][name]
        for key in ("status", "params", "tags", "metrics", "history", "artifacts", "models"):
            assert got[key] == expected[key], f"{name}: {key}"
        # The training data autolog records while the run trains is there;
        # the evaluation data autolog logs when the loaded model predicts
        # after the run ended is refused by regent (an ended run is kept as
        # it is) and kept by MLflow.
        assert got["datasets"] == [d for d in expected["datasets"] if d[2] == "train"]
    assert len(sqlite["runs"]["lr-c1.0"]["datasets"]) > len(regent["runs"]["lr-c1.0"]["datasets"])
    # Two logged models named `model` per run (autolog's and the script's),
    # with the same files.
    assert [m[0] for m in regent["runs"]["lr-c0.1"]["models"]] == ["model", "model"]
    assert regent["versions"] == sqlite["versions"]
    assert regent["versions"] == [
        {"version": 1, "stage": "Staging", "run": "lr-c0.1", "aliases": ["previous"]},
        {"version": 2, "stage": "Production", "run": "lr-c1.0", "aliases": ["champion"]},
    ]
    assert regent["aliases"] == sqlite["aliases"] == {"champion": "2", "previous": "1"}
    assert regent["latest"] == sqlite["latest"]
    # The champion's model folder: the same files (MLmodel and the skops
    # archive hold ids and times, so their bytes differ between stores).
    assert sorted(regent["champion_files"]) == sorted(sqlite["champion_files"])

    # On regent's side: the registry is valid, the champion is the folder
    # MLflow loaded, `regent artifact get` returns it byte for byte, and it
    # is the script's explicit model (the newest named `model`, as in MLflow).
    assert registry.regent("validate")["ok"]
    fetched = registry.path.parent / "champion"
    registry.regent("artifact", "get", "models:/churn@champion", str(fetched))
    # (MLflow writes `registered_model_meta` into what it downloads by models:/.)
    loaded = {k: v for k, v in regent["champion_files"].items() if k != "registered_model_meta"}
    assert tree(fetched) == loaded
    shown = registry.regent("show", "churn/2")
    assert shown["run"] == "churn/lr-c1.0"
    assert shown["artifact"]["name"] == "model-2"
    assert shown["artifact"]["kind"] == "folder"
    run = registry.regent("run", "show", "churn/lr-c1.0")
    stored = {a["path"]: a for a in run["artifacts"]}
    assert stored["model-2"]["digest"] == shown["artifact"]["digest"]
    assert set(stored) == {
        "model",
        "model-2",
        "notes.txt",
        "report",
        "texts",
        "config.json",
        "estimator.html",
        "metric_info.json",
    }
    assert run["status"] == "finished"
    assert run["history"]["loss"][0] == {
        "step": 0,
        "value": 2.0,
        "timestamp": run["history"]["loss"][0]["timestamp"],
    }

    # Logging made a few commits per run, not one per value: the start,
    # one per logged model, the end.
    subjects = registry.git("log", "--format=%s").splitlines()
    of_run = [s for s in subjects if s.endswith("churn/lr-c0.1") or "churn/lr-c0.1 (" in s]
    assert len(of_run) == 4, of_run
