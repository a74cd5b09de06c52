"""Writes an MLflow store with MLflow itself, for the import tests.

Usage: python make_mlflow.py TRACKING_URI [more]
Runs get fixed times (MLflow's client takes them); the registry's times are
MLflow's own, so everything the tests compare with is printed as JSON.
With `more`, adds to a store made before: one new run and one new version.
"""
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

uri = sys.argv[1]
more = len(sys.argv) > 2
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient()
T = 1767225600000  # 2026-01-01T00:00:00Z


def artifacts(run_id, name, content):
    folder = os.path.join(os.getcwd(), "out-" + run_id)
    os.makedirs(os.path.join(folder, "model"), exist_ok=True)
    with open(os.path.join(folder, "model", name), "w") as f:
        f.write(content)
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("notes of " + run_id)
    client.log_artifacts(run_id, folder)


if not more:
    exp = client.create_experiment("churn-exp")
    first = client.create_run(
        exp,
        start_time=T,
        run_name="bold-fox",
        tags={
            "mlflow.user": "alice",
            "team": "ml",
            "mlflow.note.content": "first try",
            "mlflow.source.git.commit": "a" * 40,
            "mlflow.source.git.branch": "main",
        },
    ).info.run_id
    client.log_param(first, "lr", "0.1")
    client.log_param(first, "layers", "3")
    for step, value in enumerate([0.9, 0.5, 0.25]):
        client.log_metric(first, "loss", value, timestamp=T + 1000 * (step + 1), step=step)
    client.log_metric(first, "acc", 0.8, timestamp=T + 5000, step=0)
    artifacts(first, "weights.bin", "weights one")
    client.set_terminated(first, "FINISHED", end_time=T + 60000)
    # The same name again: MLflow allows it, regent's run names are unique.
    second = client.create_run(
        exp, start_time=T + 120000, run_name="bold-fox", tags={"mlflow.user": "bob"}
    ).info.run_id
    client.log_metric(second, "loss", 0.7, timestamp=T + 121000, step=0)
    client.set_terminated(second, "FAILED", end_time=T + 180000)

    client.create_registered_model("churn", tags={"owner": "ml"}, description="churn model")
    client.create_model_version(
        "churn", f"runs:/{first}/model", run_id=first, tags={"k": "v"}, description="first"
    )
    client.transition_model_version_stage("churn", "1", "Staging")
    client.create_model_version("churn", f"runs:/{first}/model", run_id=first)
    client.transition_model_version_stage("churn", "2", "Production")
    client.set_registered_model_alias("churn", "champion", "2")
    client.create_model_version("churn", f"runs:/{second}/model", run_id=second)
    client.transition_model_version_stage("churn", "3", "Archived")
else:
    exp = client.get_experiment_by_name("churn-exp").experiment_id
    third = client.create_run(
        exp, start_time=T + 240000, run_name="calm-owl", tags={"mlflow.user": "carol"}
    ).info.run_id
    client.log_metric(third, "loss", 0.2, timestamp=T + 241000, step=0)
    artifacts(third, "weights.bin", "weights three")
    client.set_terminated(third, "FINISHED", end_time=T + 300000)
    client.create_model_version("churn", f"runs:/{third}/model", run_id=third)
    client.transition_model_version_stage("churn", "4", "Staging")

runs = client.search_runs([exp], order_by=["attributes.start_time ASC"])
model = client.get_registered_model("churn")
versions = client.search_model_versions("name='churn'")
print(
    json.dumps(
        {
            "runs": [
                {"id": r.info.run_id, "user": r.info.user_id, "start": r.info.start_time}
                for r in runs
            ],
            "model_updated": model.last_updated_timestamp,
            "versions": {
                v.version: {
                    "created": v.creation_timestamp,
                    "updated": v.last_updated_timestamp,
                    "user": v.user_id,
                    "stage": v.current_stage,
                }
                for v in versions
            },
        }
    )
)
