"""Names and ids: MLflow's ids are regent's names, spelled to fit MLflow's
id rules and read back exactly; names regent cannot hold, a taken run
name, a non-finite metric and a changed param are refused with what is
wrong, never renamed or dropped."""

import math
import re

import mlflow  # noqa: F401
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from regent.mlflow import ids

RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
EXPERIMENT_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")
NAMES = ["churn", "a", "churn_v2.1", "x__y", "a_-b", "a-_b", "a._b", "0a", "Z" * 64, "a.b.c", "_d"[1:]]


@pytest.mark.parametrize("experiment", NAMES + ["Default"])
@pytest.mark.parametrize("run", ["r", "adam-lr2", "lr_0.01", "a_-_d", "9" * 100])
def test_ids_fit_mlflow_and_read_back(experiment, run):
    if len(ids.encode(experiment)) > 64:
        return
    exp_id = ids.experiment_id(experiment)
    assert EXPERIMENT_ID.match(exp_id), exp_id
    assert ids.experiment_name(exp_id) == experiment
    run_id = ids.run_id(experiment, run)
    assert RUN_ID.match(run_id), run_id
    assert ids.split_run_id(run_id) == (experiment, run)
    model_id = ids.model_id(run_id, "model-2")
    assert ids.split_model_id(model_id) == (run_id, "model-2")


def test_ids_read_like_the_names():
    assert ids.experiment_id("churn") == "churn"
    assert ids.experiment_id("Default") == "0"
    assert ids.run_id("churn", "adam-lr2") == "churn_-adam-lr2"
    assert ids.run_id("churn_v2.1", "r") == "churn__v2_d1_-r"


def test_too_long_and_foreign_ids_are_refused():
    with pytest.raises(MlflowException, match="too long for MLflow: its id would be 66"):
        ids.experiment_id("a." * 22)
    with pytest.raises(MlflowException, match="too long for MLflow"):
        ids.run_id("e" * 64, "x" + "_" * 99)
    for foreign in ["d3835d2264e846bd91418022a73180b9_x", "a_b", "a_-", "m-123_z"]:
        with pytest.raises(MlflowException, match="is not a regent"):
            ids.split_run_id(foreign)


def test_bad_names_are_refused_with_the_rule(registry, monkeypatch):
    for key, value in registry.env.items():
        monkeypatch.setenv(key, value)
    client = MlflowClient(tracking_uri=registry.uri, registry_uri=registry.uri)
    before = registry.commits()
    for name in ["my experiment", "churn/v2", "a..b", "ｃhurn", "-x", "x" * 101]:
        with pytest.raises(MlflowException, match=r"\[A-Za-z0-9\]\[A-Za-z0-9._-\]\*"):
            client.create_experiment(name)
    with pytest.raises(MlflowException, match="invalid run name"):
        client.create_run(client.create_experiment("churn"), run_name="first try")
    with pytest.raises(MlflowException, match="invalid model name"):
        client.create_registered_model("churn model")
    assert registry.commits() == before


def test_a_taken_run_name_a_nan_and_a_changed_param_are_refused(registry, monkeypatch):
    for key, value in registry.env.items():
        monkeypatch.setenv(key, value)
    client = MlflowClient(tracking_uri=registry.uri, registry_uri=registry.uri)
    experiment = client.create_experiment("churn")
    run = client.create_run(experiment, run_name="baseline").info.run_id
    with pytest.raises(MlflowException, match="run churn/baseline already exists"):
        client.create_run(experiment, run_name="baseline")
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(MlflowException, match="finite numbers only"):
            client.log_metric(run, "loss", bad)
    client.log_param(run, "lr", "0.1")
    with pytest.raises(MlflowException, match="params are set once"):
        client.log_param(run, "lr", "0.2")
    with pytest.raises(MlflowException, match="renaming run churn/baseline"):
        client.set_tag(run, "mlflow.runName", "other")
    client.log_metric(run, "loss", 0.5)
    client.set_terminated(run)
    recorded = registry.regent("run", "show", "churn/baseline")
    assert recorded["params"] == {"lr": "0.1"}
    assert recorded["metrics"] == {"loss": 0.5}
    with pytest.raises(MlflowException, match="has ended"):
        client.log_metric(run, "loss", 0.4)
