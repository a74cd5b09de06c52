"""Eight joblib workers (separate processes) each train and log one MLflow
run to the same checkout; regent's checkout lock serialises their commits.
Prints the run ids the workers reported."""

import json

import mlflow
from joblib import Parallel, delayed


def train(worker):
    mlflow.set_experiment("sweep")
    with mlflow.start_run(run_name=f"worker-{worker}") as run:
        mlflow.log_params({"worker": worker, "lr": 0.01 * (worker + 1)})
        for step in range(20):
            mlflow.log_metric("loss", 1.0 / (step + 1 + worker), step=step)
        mlflow.log_metric("accuracy", 0.8 + worker / 100)
        mlflow.log_text(f"worker {worker}\n", "notes/worker.txt")
        return run.info.run_id


ids = Parallel(n_jobs=8, backend="loky")(delayed(train)(w) for w in range(8))
print(json.dumps(ids))
