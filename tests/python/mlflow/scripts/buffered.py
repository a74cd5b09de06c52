"""Logging that regent buffers, in the ways a process can end. MODE:

  many     300 log_metric calls in a run; get_run and get_metric_history
           during the run see the buffer; the run ends normally.
  crash    one metric committed by a periodic flush
           (REGENT_MLFLOW_FLUSH_SECONDS=0), then another buffered, then the
           process is killed (SIGKILL): nothing runs at exit.
  exit     MlflowClient logs to a run it never ends, then the interpreter
           exits normally.
  fluent   mlflow.start_run() and logging, never mlflow.end_run(): MLflow's
           own exit hook ends the run.
  long     1,500 steps of one metric (longer than a run file keeps).
Prints one JSON line."""

import json
import os
import signal
import sys

import mlflow
from mlflow import MlflowClient

mode = sys.argv[1]
mlflow.set_experiment("buffered")
client = MlflowClient()

if mode == "many":
    with mlflow.start_run(run_name="many") as run:
        for step in range(300):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_param("lr", "0.1")
        seen = client.get_run(run.info.run_id)
        history = client.get_metric_history(run.info.run_id, "loss")
    print(
        json.dumps(
            {
                "latest": seen.data.metrics["loss"],
                "params": seen.data.params,
                "status": seen.info.status,
                "history": len(history),
                "steps": [m.step for m in history[:3]],
            }
        )
    )
elif mode == "crash":
    run = mlflow.start_run(run_name="crashed")
    os.environ["REGENT_MLFLOW_FLUSH_SECONDS"] = "0"
    mlflow.log_metric("committed", 1.0)
    os.environ["REGENT_MLFLOW_FLUSH_SECONDS"] = "3600"
    mlflow.log_metric("buffered", 2.0)
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
elif mode == "exit":
    run = client.create_run(mlflow.get_experiment_by_name("buffered").experiment_id, run_name="left")
    client.log_metric(run.info.run_id, "loss", 0.5, step=3)
    client.log_param(run.info.run_id, "lr", "0.2")
    with open("left.txt", "w") as f:
        f.write("left running\n")
    client.log_artifact(run.info.run_id, "left.txt")
    print(json.dumps({"run_id": run.info.run_id}))
elif mode == "fluent":
    mlflow.start_run(run_name="unended")
    mlflow.log_metric("loss", 0.25, step=1)
    print(json.dumps({}))
elif mode == "long":
    with mlflow.start_run(run_name="long") as run:
        mlflow.log_metrics({"loss": 0.0}, step=0)
        for step in range(1, 1500):
            mlflow.log_metric("loss", step / 1500.0, step=step)
    print(json.dumps({"run_id": run.info.run_id}))
elif mode == "history":
    history = client.get_metric_history(sys.argv[2], "loss")
    print(json.dumps([[m.step, m.value] for m in history]))
