"""A sweep, logged four ways, beside MLflow's own SQLite store.

    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install -r benches/tracking/requirements.txt
    cargo build --release
    target/bench-venv/bin/python benches/tracking/sweep.py --runs 10000

Each run has three params and three metrics. regent is timed (a) one
`regent run log` process per run, in one checkout, with the per-run cost per
block of runs so a growing experiment shows; (b) all runs in one
`regent run log --batch`; (c) 16 writers at once in one checkout, each
running `regent run log` processes (the lock serialises them). MLflow is
timed logging the same runs through its Python API into a SQLite store,
(d) from one process and (e) from 16 processes at once. Prints a Markdown
table; nothing is asserted (the README keeps the figures).
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "REGENT_ACTOR": "bench",
}


def params(i):
    return {"lr": str(0.001 * (1 + i % 10)), "depth": str(2 + i % 8), "optimizer": "adam"}


def metrics(i):
    return {"accuracy": 0.5 + (i % 97) / 200, "loss": 1.0 / (1 + i % 89), "f1": 0.4 + (i % 53) / 150}


def registry(base):
    repo = os.path.join(base, "repo")
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=ENV)
    subprocess.run(["git", "-C", repo, "commit", "-q", "--allow-empty", "-m", "start"], check=True, env=ENV)
    return repo


def log_args(regent, i, experiment="sweep"):
    args = [regent, "run", "log", experiment, "--quiet"]
    for k, v in params(i).items():
        args += ["--param", f"{k}={v}"]
    for k, v in metrics(i).items():
        args += ["--metric", f"{k}={v}"]
    return args


def regent_one_process_each(regent, base, runs, block):
    repo = registry(base)
    subprocess.run([regent, "init", "--quiet"], cwd=repo, check=True, env=ENV)
    blocks = []
    started = time.perf_counter()
    block_started = started
    for i in range(runs):
        subprocess.run(log_args(regent, i), cwd=repo, check=True, env=ENV, stdout=subprocess.DEVNULL)
        if (i + 1) % block == 0:
            now = time.perf_counter()
            blocks.append((i + 1, (now - block_started) / block))
            block_started = now
    return time.perf_counter() - started, blocks


def regent_batch(regent, base, runs):
    repo = registry(base)
    subprocess.run([regent, "init", "--quiet"], cwd=repo, check=True, env=ENV)
    path = os.path.join(base, "sweep.jsonl")
    with open(path, "w") as f:
        for i in range(runs):
            f.write(json.dumps({"experiment": "sweep", "params": params(i), "metrics": metrics(i)}) + "\n")
    started = time.perf_counter()
    subprocess.run([regent, "run", "log", "--batch", path, "--quiet"], cwd=repo, check=True, env=ENV,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def regent_parallel(regent, base, runs, writers):
    repo = registry(base)
    subprocess.run([regent, "init", "--quiet"], cwd=repo, check=True, env=ENV)

    def one(i):
        subprocess.run(log_args(regent, i), cwd=repo, check=True, env=ENV, stdout=subprocess.DEVNULL)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(one, range(runs)))
    elapsed = time.perf_counter() - started
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, env=ENV)
    count = subprocess.run([regent, "run", "list", "sweep", "--json"], cwd=repo, capture_output=True,
                           text=True, env=ENV)
    logged = len(json.loads(count.stdout))
    return elapsed, logged, status.stdout == ""


def mlflow_worker(uri, indices):
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("sweep")
    errors = 0
    for i in indices:
        try:
            with mlflow.start_run():
                mlflow.log_params(params(i))
                mlflow.log_metrics(metrics(i))
        except Exception:  # noqa: BLE001 - counted: SQLite under many writers
            errors += 1
    return errors


def mlflow_sqlite(base, runs, writers, block):
    import mlflow

    uri = "sqlite:///" + os.path.join(base, "mlflow.db")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("sweep")
    blocks = []
    started = time.perf_counter()
    block_started = started
    for i in range(runs):
        with mlflow.start_run():
            mlflow.log_params(params(i))
            mlflow.log_metrics(metrics(i))
        if (i + 1) % block == 0:
            now = time.perf_counter()
            blocks.append((i + 1, (now - block_started) / block))
            block_started = now
    sequential = time.perf_counter() - started

    uri = "sqlite:///" + os.path.join(base, "mlflow-parallel.db")
    mlflow_worker(uri, [])  # create the schema once, before the writers race
    chunks = [list(range(w, runs, writers)) for w in range(writers)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        errors = sum(pool.starmap(mlflow_worker, [(uri, c) for c in chunks]))
    parallel = time.perf_counter() - started
    return sequential, blocks, parallel, errors


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--regent", default=os.path.join(os.path.dirname(__file__), "../../target/release/regent"))
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    regent = os.path.abspath(args.regent)
    block = max(args.runs // 10, 1)
    base = tempfile.mkdtemp(prefix="regent-sweep-")
    try:
        seq, seq_blocks = regent_one_process_each(regent, os.path.join(base, "a"), args.runs, block)
        batch = regent_batch(regent, os.path.join(base, "b"), args.runs)
        par, logged, clean = regent_parallel(regent, os.path.join(base, "c"), args.runs, args.writers)
        rows = [
            ("regent, one `run log` process per run", seq, ""),
            ("regent, one `run log --batch`", batch, ""),
            (f"regent, {args.writers} writers in one checkout",
             par, f"{logged} of {args.runs} runs; git status {'clean' if clean else 'NOT clean'}"),
        ]
        blocks = {"regent": seq_blocks}
        if not args.no_mlflow:
            import mlflow

            m_seq, m_blocks, m_par, errors = mlflow_sqlite(base, args.runs, args.writers, block)
            rows += [
                (f"MLflow {mlflow.__version__}, SQLite, one process", m_seq, ""),
                (f"MLflow {mlflow.__version__}, SQLite, {args.writers} processes", m_par,
                 f"{errors} runs failed"),
            ]
            blocks["MLflow"] = m_blocks
        print(f"## {args.runs} runs, 3 params and 3 metrics each\n")
        print("| how | total | per run | notes |")
        print("| --- | ---: | ---: | --- |")
        for name, total, note in rows:
            print(f"| {name} | {total:.2f} s | {ms(total / args.runs)} | {note} |")
        print("\nPer-run cost as the experiment grows (runs so far: mean per run over the last block):\n")
        for name, series in blocks.items():
            cells = ", ".join(f"{n}: {ms(s)}" for n, s in series)
            spread = statistics.pstdev([s for _, s in series]) if len(series) > 1 else 0.0
            print(f"- {name}: {cells} (spread {ms(spread)})")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
