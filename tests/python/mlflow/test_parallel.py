"""Runs from 8 parallel joblib workers in one checkout all land."""

import pytest
from mlflow.exceptions import MlflowException


def test_eight_parallel_workers_all_land(registry, script):
    ids = script("parallel.py", registry.uri, registry.path, registry.env)
    assert len(set(ids)) == 8
    runs = {r["name"]: r for r in registry.regent("run", "list", "sweep")}
    assert sorted(runs) == [f"worker-{w}" for w in range(8)]
    for worker in range(8):
        run = registry.regent("run", "show", f"sweep/worker-{worker}")
        assert run["status"] == "finished"
        assert run["params"] == {"worker": str(worker), "lr": str(0.01 * (worker + 1))}
        assert [p["step"] for p in run["history"]["loss"]] == list(range(20))
        assert run["history"]["loss"][-1]["value"] == 1.0 / (20 + worker)
        assert run["metrics"]["accuracy"] == 0.8 + worker / 100
        assert [a["path"] for a in run["artifacts"]] == ["notes"]
        assert f"sweep_-worker-{worker}" in ids
    # Each run is its start and its end: two commits, none lost or merged.
    subjects = registry.git("log", "--format=%s").splitlines()
    assert len([s for s in subjects if "run sweep/" in s]) == 16
    assert registry.regent("validate")["ok"]
    assert registry.git("status", "--porcelain") == ""


def test_an_experiment_another_process_created_meanwhile_is_taken(registry):
    """The race behind parallel set_experiment calls: this process found no
    `sweep`, then another process's run created it before this one's
    create_experiment. Refusing would leave MLflow's default experiment
    active (its set_experiment returns early on RESOURCE_ALREADY_EXISTS), so
    this process's runs would go to Default; the id is returned instead."""
    from regent.mlflow.tracking_store import RegentTrackingStore

    store = RegentTrackingStore(registry.uri)
    assert store.get_experiment_by_name("sweep") is None
    registry.regent("run", "log", "sweep", "--name", "other-process", "--metric", "a=1")
    experiment_id = store.create_experiment("sweep")
    assert store.get_experiment(experiment_id).name == "sweep"
    # Created by this process, it is refused the second time, as in MLflow.
    with pytest.raises(MlflowException, match="already exists"):
        store.create_experiment("sweep")
