"""Fixtures for the MLflow plugin tests: a real regent registry in a real Git
repository with a local folder artifact store, and MLflow scripts run in
their own processes (MLflow keeps global state: the tracking URI, the
active run, autolog's patches), against the regent binary and MLflow
installed in this venv."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regent._binary import find_regent_bin

SCRIPTS = Path(__file__).parent / "scripts"


def base_env(home):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("MLFLOW_", "REGENT_", "GIT_")):
            del env[key]
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Ada Lovelace",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Lovelace",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
            # No usage reports leave the machine.
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONHASHSEED": "0",
        }
    )
    return env


class Registry:
    """A Git repository with `regent init` and a local folder store."""

    def __init__(self, root):
        self.path = root / "repo"
        self.store = root / "store"
        self.env = base_env(root)
        self.path.mkdir()
        self.git("init", "-q", "-b", "main")
        self.regent("init", as_json=False)
        with open(self.path / "regent.yaml", "a", encoding="utf-8") as f:
            f.write(f"artifacts:\n  root: {self.store}\n")
        self.git("commit", "-qam", "artifact store")

    @property
    def uri(self):
        return f"regent:{self.path}"

    def git(self, *args):
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def regent(self, *args, as_json=True, check=True):
        """Runs the regent binary here; its parsed JSON (or the finished
        process with check=False)."""
        command = [find_regent_bin(), *args] + (["--json"] if as_json else [])
        done = subprocess.run(command, cwd=self.path, env=self.env, capture_output=True, text=True)
        if not check:
            return done
        assert done.returncode == 0, f"regent {args}: {done.stderr}"
        if not as_json:
            return done.stdout
        return json.loads(done.stdout) if done.stdout.strip() else None

    def commits(self):
        return int(self.git("rev-list", "--count", "HEAD").strip())

    def set_policy(self, text):
        with open(self.path / "regent.yaml", "w", encoding="utf-8") as f:
            f.write(text + f"artifacts:\n  root: {self.store}\n")
        self.git("commit", "-qam", "policy")


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path)


@pytest.fixture
def clean_env(tmp_path):
    """The environment scripts run with outside a registry."""
    return base_env(tmp_path)


@pytest.fixture
def script():
    """`script(NAME, TRACKING_URI, CWD, ENV, *ARGS, check=True)`: see run_script."""
    return run_script


def run_script(script, tracking_uri, cwd, env, *args, check=True):
    """Runs tests/python/mlflow/scripts/SCRIPT with MLFLOW_TRACKING_URI set;
    its last stdout line is JSON."""
    env = dict(env)
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if check:
        assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None
    return done
