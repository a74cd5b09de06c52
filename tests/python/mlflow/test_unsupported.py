"""Every public method of MLflow's abstract stores and artifact repository
either works on regent (the plugin defines it, or keeps the base's on
purpose because it is built on methods the plugin has) or raises an
MlflowException that names it: never a silent None."""

import inspect

import mlflow  # noqa: F401  (loads MLflow before the plugins, as MLflow itself does)
import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.model_registry.abstract_store import AbstractStore as RegistryBase
from mlflow.store.tracking.abstract_store import AbstractStore as TrackingBase
from mlflow.tracking import MlflowClient

from regent.mlflow.artifact_repo import RegentArtifactRepository
from regent.mlflow.registry_store import RegentRegistryStore
from regent.mlflow.tracking_store import RegentTrackingStore
from regent.mlflow.unsupported import is_unsupported, public_methods

# What MLflow scripts use: these must work, not refuse.
MUST_WORK = {
    TrackingBase: {
        "create_experiment", "get_experiment", "get_experiment_by_name", "search_experiments",
        "create_run", "get_run", "update_run_info", "log_metric", "log_param", "set_tag",
        "log_batch", "get_metric_history", "search_runs", "log_inputs", "log_outputs",
        "create_logged_model", "get_logged_model", "finalize_logged_model",
        "search_logged_models", "set_logged_model_tags",
    },
    RegistryBase: {
        "create_registered_model", "get_registered_model", "search_registered_models",
        "create_model_version", "get_model_version", "get_model_version_by_alias",
        "get_model_version_download_uri", "get_latest_versions", "search_model_versions",
        "set_registered_model_alias", "delete_registered_model_alias",
        "transition_model_version_stage", "update_model_version", "update_registered_model",
        "set_model_version_tag", "delete_model_version_tag", "set_registered_model_tag",
        "delete_registered_model_tag",
    },
    ArtifactRepository: {"log_artifact", "log_artifacts", "list_artifacts", "download_artifacts"},
}


def plugins(registry):
    run = registry.regent("run", "start", "e", "--name", "r")
    assert run["status"] == "running"
    uri = f"regent:{registry.path}/@mlflow/runs/e_-r"
    return [
        (TrackingBase, RegentTrackingStore(registry.uri)),
        (RegistryBase, RegentRegistryStore(registry.uri)),
        (ArtifactRepository, RegentArtifactRepository(uri)),
    ]


def defined_by_plugin(instance, name):
    return any(name in vars(k) for k in type(instance).__mro__ if k.__module__.startswith("regent."))


def test_every_method_works_or_names_itself(registry, monkeypatch):
    for key, value in registry.env.items():
        monkeypatch.setenv(key, value)
    refused = {}
    for base, instance in plugins(registry):
        names = public_methods(base)
        assert len(names) > 10, base
        for name in names:
            inherited = name in type(instance).regent_inherited
            if is_unsupported(type(instance), name):
                assert not inherited, name
                assert name not in MUST_WORK[base], f"{name} must work"
                method = getattr(instance, name)
                params = inspect.signature(method).parameters.values()
                dummies = [None for p in params if p.default is p.empty and p.kind <= p.POSITIONAL_OR_KEYWORD]
                with pytest.raises(MlflowException) as error:
                    method(*dummies)
                assert f"does not support {name}:" in str(error.value), name
                refused.setdefault(base, []).append(name)
            else:
                # Defined by the plugin, or kept from MLflow on purpose.
                assert defined_by_plugin(instance, name) or inherited, (
                    f"{type(instance).__name__}.{name} is neither implemented, kept on purpose "
                    "nor refused"
                )
        for name in MUST_WORK[base]:
            assert name in names, f"MLflow no longer has {name}"
            assert not is_unsupported(type(instance), name), name
    # The refusals cover the parts regent has no equivalent for.
    assert {"delete_run", "rename_experiment", "start_trace", "create_dataset"} <= set(
        refused[TrackingBase]
    )
    assert {"delete_registered_model", "rename_registered_model", "create_prompt"} <= set(
        refused[RegistryBase]
    )
    assert "delete_artifacts" in refused[ArtifactRepository]
    registry.regent("run", "end", "e/r")


def test_an_unsupported_client_call_names_itself(registry, monkeypatch):
    for key, value in registry.env.items():
        monkeypatch.setenv(key, value)
    client = MlflowClient(tracking_uri=registry.uri, registry_uri=registry.uri)
    run = client.create_run(client.create_experiment("kept"), run_name="r1")
    client.set_terminated(run.info.run_id)
    registry.regent("register", "churn", "--artifact", "s3://bucket/churn.pkl")
    before = registry.commits()
    with pytest.raises(MlflowException, match="does not support delete_run: regent keeps every run"):
        client.delete_run(run.info.run_id)
    with pytest.raises(MlflowException, match="does not support rename_experiment"):
        client.rename_experiment(run.info.experiment_id, "other")
    with pytest.raises(MlflowException, match="does not support delete_registered_model"):
        client.delete_registered_model("churn")
    with pytest.raises(MlflowException, match="does not support delete_model_version"):
        client.delete_model_version("churn", 1)
    assert registry.commits() == before
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert client.get_model_version("churn", 1).status == "READY"
