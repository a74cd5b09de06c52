"""An autologged scikit-learn run through `regent:` beside MLflow's own SQLite
store: seconds per run, several runs each.

    python benches/python/mlflow_autolog.py [--runs 5]

Needs the regent-ml wheel (or REGENT_BIN) and .ci/python-requirements.txt
in the interpreter's environment. Each store gets a fresh folder (a Git
repository with `regent init` and a local folder artifact store for
regent; an SQLite file and ./mlruns for MLflow). One process per store
imports MLflow once, then times each run: `mlflow.start_run()` with
`mlflow.sklearn.autolog()` on, a LogisticRegression fit on 2,000 rows x 20
features (autolog logs its params, training metrics, the model and its
estimator card), an explicit param, a 100-step metric history, an artifact,
and the run's end. Prints a Markdown table: median and range per store.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

WORKER = r"""
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
import mlflow
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

runs = int(sys.argv[1])
mlflow.set_experiment("bench")
mlflow.sklearn.autolog()
X, y = make_classification(n_samples=2000, n_features=20, random_state=0)
with open("notes.txt", "w") as f:
    f.write("bench\n")
times = []
for i in range(runs + 1):  # the first run warms caches and imports; not counted
    start = time.perf_counter()
    with mlflow.start_run(run_name=f"run-{i}"):
        mlflow.log_param("round", i)
        for step in range(100):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        LogisticRegression(max_iter=300).fit(X, y)
        mlflow.log_artifact("notes.txt")
    if i:
        times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def environment(home):
    env = dict(os.environ)
    env.update(
        {
            "HOME": home,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
    )
    return env


def measure(tracking_uri, cwd, env, runs):
    env = dict(env, MLFLOW_TRACKING_URI=tracking_uri)
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(runs)], cwd=cwd, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"{tracking_uri}: the worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def regent_registry(root, env):
    from regent._binary import find_regent_bin

    repo = os.path.join(root, "repo")
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
    subprocess.run([find_regent_bin(), "init", "-q"], cwd=repo, env=env, check=True)
    with open(os.path.join(repo, "regent.yaml"), "a") as f:
        f.write(f"artifacts:\n  root: {os.path.join(root, 'store')}\n")
    subprocess.run(["git", "commit", "-qam", "store"], cwd=repo, env=env, check=True)
    return repo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="regent-bench-") as root:
        env = environment(root)
        sqlite_dir = os.path.join(root, "sqlite")
        os.makedirs(sqlite_dir)
        sqlite_uri = f"sqlite:///{os.path.join(sqlite_dir, 'mlflow.db')}"
        rows.append(("MLflow, SQLite store", measure(sqlite_uri, sqlite_dir, env, args.runs)))
        repo = regent_registry(root, env)
        rows.append(("MLflow, `regent:`", measure(f"regent:{repo}", repo, env, args.runs)))
    print(f"| store | runs | median s/run | min–max |")
    print("| --- | --- | --- | --- |")
    for label, times in rows:
        print(
            f"| {label} | {len(times)} | {statistics.median(times):.2f} "
            f"| {min(times):.2f}–{max(times):.2f} |"
        )


if __name__ == "__main__":
    main()
