"""regent's policy still rules under MLflow: a refused stage move or
protected alias raises an MlflowException carrying regent's reasons, and
leaves the registry as it was."""

import mlflow  # noqa: F401
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

# MLflow deprecates stages but still has them; regent maps them.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

POLICY = """registry: 1
stages:
- name: staging
- name: production
  requires: [staging]
  approvals: 1
  approvers: [bob]
  gates:
  - {metric: accuracy, min: 0.9}
aliases:
  champion: {approvals: 1, approvers: [bob]}
"""


@pytest.fixture
def client(registry, monkeypatch):
    for key, value in registry.env.items():
        monkeypatch.setenv(key, value)
    registry.set_policy(POLICY)
    return MlflowClient(tracking_uri=registry.uri, registry_uri=registry.uri)


def logged_version(client, registry, accuracy):
    """A run that logs a model folder and a metric, registered through MLflow."""
    experiment = client.get_experiment_by_name("churn") or client.get_experiment(
        client.create_experiment("churn")
    )
    run = client.create_run(experiment.experiment_id)
    client.log_metric(run.info.run_id, "accuracy", accuracy)
    model_dir = registry.path.parent / f"model-{run.info.run_name}"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    client.log_artifacts(run.info.run_id, str(model_dir), "model")
    client.set_terminated(run.info.run_id)
    return client.create_model_version("churn", f"{run.info.artifact_uri}/model", run.info.run_id)


def test_a_refused_promotion_raises_with_regents_reasons(client, registry):
    client.create_registered_model("churn")
    version = logged_version(client, registry, accuracy=0.8)
    assert version.version == 1
    before = registry.commits()
    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage("churn", 1, "Production")
    message = str(refused.value)
    assert "promote churn v1 to production refused" in message
    assert "0 of 1 approvals; approvers: bob" in message
    assert "accuracy" in message and "0.9" in message
    assert "staging" in message  # requires: [staging]
    assert registry.commits() == before
    assert client.get_model_version("churn", 1).current_stage == "None"
    # What the policy allows goes through, one commit.
    moved = client.transition_model_version_stage("churn", 1, "Staging")
    assert moved.current_stage == "Staging"
    assert registry.commits() == before + 1
    assert registry.regent("show", "churn")["stages"] == {"staging": 1}


def test_a_protected_alias_raises_with_regents_reasons(client, registry):
    logged_version(client, registry, accuracy=0.95)
    before = registry.commits()
    with pytest.raises(MlflowException) as refused:
        client.set_registered_model_alias("churn", "champion", 1)
    assert "0 of 1 approvals; approvers: bob" in str(refused.value)
    assert registry.commits() == before
    with pytest.raises(MlflowException, match="not found"):
        client.get_model_version_by_alias("churn", "champion")
    # An unprotected alias is set, read back and removed.
    client.set_registered_model_alias("churn", "candidate", 1)
    assert client.get_model_version_by_alias("churn", "candidate").version == 1
    client.delete_registered_model_alias("churn", "candidate")
    assert registry.regent("show", "churn")["aliases"] == {}


def test_archived_and_none_map_to_archive_and_demote(client, registry):
    logged_version(client, registry, accuracy=0.95)
    logged_version(client, registry, accuracy=0.96)
    client.transition_model_version_stage("churn", 1, "staging")
    client.transition_model_version_stage("churn", 1, "None")
    assert registry.regent("show", "churn")["stages"] == {}
    client.transition_model_version_stage("churn", 1, "Archived")
    assert client.get_model_version("churn", 1).current_stage == "Archived"
    assert registry.regent("show", "churn/1")["status"] == "archived"
    with pytest.raises(MlflowException, match="archive_existing_versions"):
        client.transition_model_version_stage("churn", 2, "Staging", archive_existing_versions=True)


def test_descriptions_and_tags_round_trip(client, registry):
    client.create_registered_model("churn", tags={"team": "growth"}, description="-churn model")
    assert registry.regent("show", "churn", check=False).returncode == 1  # not written yet
    logged_version(client, registry, accuracy=0.95)
    model = client.get_registered_model("churn")
    assert model.description == "-churn model"
    assert model.tags == {"team": "growth"}
    client.update_model_version("churn", 1, "--starts with dashes")
    client.set_model_version_tag("churn", 1, "-odd", "v")
    client.set_model_version_tag("churn", 1, "reviewed", "yes")
    client.delete_model_version_tag("churn", 1, "reviewed")
    version = client.get_model_version("churn", 1)
    assert version.description == "--starts with dashes"
    assert version.tags == {"-odd": "v"}
    assert registry.regent("show", "churn/1")["tags"] == {"-odd": "v"}
