"""Reads back, through MLflow's client only, what a store recorded for
train.py: runs (params, tags, every metric's history, artifacts and file
digests), logged models, registered versions, stages and aliases. Prints
one JSON line, the same shape whatever the store, so a test can compare
MLflow's SQLite store with regent's."""

import hashlib
import json
import os
import sys
import warnings

import mlflow
from mlflow import MlflowClient

warnings.simplefilter("ignore", FutureWarning)  # stages are deprecated in MLflow, still used
client = MlflowClient()
USER_TAGS = {"team", "estimator_name", "estimator_class", "mlflow.runName", "mlflow.user"}


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree(list_fn, download_fn, path=None):
    """{relative path: sha256} of every file, listed level by level."""
    files = {}
    for info in list_fn(path):
        if info.is_dir:
            files.update(tree(list_fn, download_fn, info.path))
        else:
            files[info.path] = digest(download_fn(info.path))
    return files


def folder(path):
    out = {}
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            out[os.path.relpath(full, path)] = digest(full)
    return out


experiment = client.get_experiment_by_name("churn")
runs = {}
for run in client.search_runs([experiment.experiment_id], order_by=["attributes.run_name ASC"]):
    run_id = run.info.run_id
    models = [
        m for m in client.search_logged_models([experiment.experiment_id]) if m.source_run_id == run_id
    ]
    runs[run.info.run_name] = {
        "status": run.info.status,
        "params": run.data.params,
        "tags": {k: v for k, v in run.data.tags.items() if k in USER_TAGS},
        "metrics": run.data.metrics,
        "history": {
            key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
            for key in sorted(run.data.metrics)
        },
        "artifacts": tree(
            lambda p, r=run_id: client.list_artifacts(r, p),
            lambda p, r=run_id: client.download_artifacts(r, p),
        ),
        "models": sorted(
            (
                m.name,
                m.status.value if hasattr(m.status, "value") else str(m.status),
                sorted(
                    folder(mlflow.artifacts.download_artifacts(f"models:/{m.model_id}"))
                ),
            )
            for m in models
        ),
        "datasets": sorted(
            (
                d.dataset.name,
                d.dataset.digest,
                {t.key: t.value for t in d.tags}.get("mlflow.data.context"),
            )
            for d in (run.inputs.dataset_inputs or [])
        ),
    }

versions = []
for found in client.search_model_versions("name='churn'"):
    mv = client.get_model_version("churn", found.version)
    versions.append(
        {
            "version": int(mv.version),
            "stage": mv.current_stage,
            "run": client.get_run(mv.run_id).info.run_name if mv.run_id else None,
            "aliases": sorted(mv.aliases),
        }
    )
registered = client.get_registered_model("churn")
champion = mlflow.artifacts.download_artifacts("models:/churn@champion")

print(
    json.dumps(
        {
            "runs": runs,
            "versions": sorted(versions, key=lambda v: int(v["version"])),
            "aliases": {a.alias: a.version for a in registered.aliases}
            if isinstance(registered.aliases, list)
            else {k: str(v) for k, v in registered.aliases.items()},
            "latest": sorted(
                (v.current_stage, int(v.version)) for v in client.get_latest_versions("churn")
            ),
            "champion_files": folder(champion),
            "champion_path": champion,
            "argv": sys.argv[1:],
        },
        sort_keys=True,
    )
)
