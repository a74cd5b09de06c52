"""A plain MLflow 3 training script: nothing in it knows about regent.

tests/python/mlflow/test_same_script.py runs it unchanged against MLflow's
own SQLite store and against `regent:`, then compares what each recorded.
It prints one JSON line: what the script itself saw.
"""

import json
import os

import mlflow
from mlflow import MlflowClient
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

mlflow.set_experiment("churn")
mlflow.sklearn.autolog()

X, y = make_classification(n_samples=300, n_features=8, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

with open("notes.txt", "w") as f:
    f.write("trained on synthetic churn data\n")
os.makedirs("report", exist_ok=True)
with open("report/summary.md", "w") as f:
    f.write("# summary\n")
with open("report/table.csv", "w") as f:
    f.write("c,acc\n")

run_ids = {}
for c in (0.1, 1.0):
    with mlflow.start_run(run_name=f"lr-c{c}") as run:
        mlflow.log_param("features", 8)
        mlflow.log_params({"split": "0.25", "seed": 0})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1) + c, step=step)
        mlflow.log_metrics({"val/loss": 0.5, "val/auc": 0.75}, step=4)
        model = LogisticRegression(C=c, max_iter=500).fit(X_train, y_train)
        mlflow.log_metric("test_acc", model.score(X_test, y_test))
        mlflow.set_tag("team", "growth")
        mlflow.log_artifact("notes.txt")
        mlflow.log_artifacts("report", artifact_path="report")
        mlflow.log_text("hello\n", "texts/hello.txt")
        mlflow.log_dict({"c": c, "max_iter": 500}, "config.json")
        mlflow.sklearn.log_model(model, name="model")
        run_ids[c] = run.info.run_id

found = mlflow.search_runs(
    filter_string="metrics.test_acc > 0.5 and params.C = '1.0'", output_format="list"
)
first = mlflow.register_model(f"runs:/{run_ids[0.1]}/model", "churn")
best = mlflow.register_model(f"runs:/{run_ids[1.0]}/model", "churn")
client = MlflowClient()
client.set_registered_model_alias("churn", "champion", best.version)
client.set_registered_model_alias("churn", "previous", first.version)
champion = client.get_model_version_by_alias("churn", "champion")
client.transition_model_version_stage("churn", best.version, "Staging")
client.transition_model_version_stage("churn", best.version, "Production")
client.transition_model_version_stage("churn", first.version, "Staging")
loaded = mlflow.pyfunc.load_model("models:/churn@champion")

print(
    json.dumps(
        {
            "found": sorted(r.info.run_name for r in found),
            "champion": champion.version,
            "champion_run": client.get_run(champion.run_id).info.run_name,
            "predictions": [int(p) for p in loaded.predict(X_test[:10])],
            "expected": [int(p) for p in model.predict(X_test[:10])],
        }
    )
)
