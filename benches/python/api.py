"""The Python API's cost per run, beside `regent run log` alone with the same data.

    cargo build --release
    python3 benches/python/api.py [--runs 30] [--regent target/release/regent]

Each run has 20 params, 10 metrics (one of them, `loss`, with a 1,000-step
history logged step by step as a training loop does) and one 1 MiB artifact
(different bytes each run, so each is really stored) in a local-folder
artifact store, in a fresh registry in a temporary Git repository. The two
ways alternate run by run, so both see the same repository as it grows:

- `regent.start_run`: `with regent.start_run(...) as run:` and the `log_*`
  calls, timed from the call to the end of the `with` (the binary runs
  twice: `run capture` at the start, `run log --batch -` at the end);
- `regent run log`: the binary alone with the same data as flags, a params
  file and a metrics file (JSON) written beforehand, timed around the process.

Prints a Markdown table (median and 90th percentile, milliseconds): the
API's whole run, split into its capture, its logging and its end, and `run
log` alone. Standard library only; the package is imported
from this checkout's python/ and runs the binary given (REGENT_BIN).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
PARAMS = {f"param_{i:02d}": f"value-{i}" for i in range(20)}
STEPS = 1000


def final_metrics(run):
    return {f"metric_{i}": 0.5 + i / 100 + run / 1e6 for i in range(9)}


def loss(step):
    return 1.0 / (step + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each kind (default 30)")
    parser.add_argument("--regent", default=os.environ.get("REGENT_BIN") or str(ROOT / "target/release/regent"))
    args = parser.parse_args()
    binary = os.path.abspath(args.regent)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no regent binary at {binary}: run `cargo build --release` or pass --regent")

    with tempfile.TemporaryDirectory(prefix="regent-api-bench-") as temp:
        temp = pathlib.Path(temp)
        repo, store, work = temp / "repo", temp / "store", temp / "work"
        for folder in (repo, work):
            folder.mkdir()
        env = {
            "REGENT_BIN": binary,
            "REGENT_ARTIFACT_ROOT": str(store),
            "REGENT_ACTOR": "bench",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
        os.environ.update(env)
        os.environ.pop("VIRTUAL_ENV", None)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        subprocess.run([binary, "-q", "init"], cwd=repo, check=True)
        sys.path.insert(0, str(ROOT / "python"))
        import regent  # noqa: E402  (from this checkout, running REGENT_BIN)

        api, api_capture, api_logging, api_end, cli = [], [], [], [], []
        for run in range(args.runs):
            # The Python API.
            artifact = work / f"api-{run}" / "model.bin"
            artifact.parent.mkdir()
            artifact.write_bytes(os.urandom(1 << 20))
            started = time.perf_counter()
            with regent.start_run("bench", name=f"api-{run}", registry=repo) as handle:
                logging_started = time.perf_counter()
                handle.log_params(PARAMS)
                for step in range(STEPS):
                    handle.log_metric("loss", loss(step), step=step)
                handle.log_metrics(final_metrics(run))
                handle.log_artifact(artifact)
                ending = time.perf_counter()
            ended = time.perf_counter()
            api.append(ended - started)
            api_capture.append(logging_started - started)
            api_logging.append(ending - logging_started)
            api_end.append(ended - ending)

            # The binary alone, the same data from files and flags.
            folder = work / f"cli-{run}"
            folder.mkdir()
            artifact = folder / "model.bin"
            artifact.write_bytes(os.urandom(1 << 20))
            (folder / "params.json").write_text(json.dumps(PARAMS))
            metrics = {"loss": [loss(step) for step in range(STEPS)], **final_metrics(run)}
            (folder / "metrics.json").write_text(json.dumps(metrics))
            command = [
                binary, "-q", "-C", str(repo), "run", "log", "bench", "--name", f"cli-{run}",
                "--params-file", str(folder / "params.json"),
                "--metrics-file", str(folder / "metrics.json"),
                "--artifact", str(artifact),
            ]
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            cli.append(time.perf_counter() - started)

        check = subprocess.run(
            [binary, "-C", str(repo), "run", "show", f"bench/api-{args.runs - 1}", "--json"],
            check=True, capture_output=True, text=True,
        )
        recorded = json.loads(check.stdout)
        assert len(recorded["history"]["loss"]) == STEPS and len(recorded["params"]) == 20
        assert len(recorded["metrics"]) == 10 and len(recorded["artifacts"]) == 1

    def ms(values, q):
        ordered = sorted(values)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    print(f"{args.runs} runs each; {binary}; Python {sys.version.split()[0]}")
    print()
    def row(what, values, processes):
        print(f"| {what} | {1000 * statistics.median(values):.1f} ms | {ms(values, 0.9):.1f} ms | {processes} |")

    print("| per run | median | p90 | regent processes |")
    print("| --- | --- | --- | --- |")
    row("`regent.start_run` … end of `with`", api, 2)
    row("… `start_run` (`regent run capture`)", api_capture, 1)
    row("… the `log_*` calls (1,000 `log_metric`)", api_logging, 0)
    row("… the end (`regent run log --batch -`)", api_end, 1)
    row("`regent run log` alone, same data", cli, 1)

if __name__ == "__main__":
    main()
