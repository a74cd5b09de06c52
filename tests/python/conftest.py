"""Shared fixtures of the Python tests: a regent registry in a temporary Git
repository with a fixed environment (as tests/cli/common.rs sets up for the
Rust tests), and the wheel under test.

The tests run in the venv .ci/python-test makes, where the regent-ml wheel
built from this checkout is installed: `import regent` is the installed
package and the binary it runs is the wheel's, never target/debug.

    def test_something(registry):
        with regent.start_run("churn") as run:    # the registry is the current folder
            run.log_metric("accuracy", 0.9)
        assert registry.regent("run", "show", run.id)["metrics"] == {"accuracy": 0.9}
"""

import glob
import json
import os
import pathlib
import subprocess
import sys

import pytest

import regent

ROOT = pathlib.Path(__file__).resolve().parents[2]

# What every process of a test sees: no user or system Git configuration,
# fixed identities, a fixed actor (tests/cli/common.rs has the same).
FIXED_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "REGENT_ACTOR": "tester",
    "LANG": "C.UTF-8",
}
# Variables that would change what the tests see.
CLEARED_ENV = (
    "REGENT_BIN",
    "REGENT_NOW",
    "REGENT_ARTIFACT_ROOT",
    "GITHUB_ACTOR",
    "GITHUB_ACTIONS",
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "VIRTUAL_ENV",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
)


class Registry:
    """A registry (`regent init`, committed) at the root of a temporary Git
    repository on branch `main`, with a local-folder artifact store.

    `path` is the repository (and registry) folder, `store` the artifact
    store folder (REGENT_ARTIFACT_ROOT points at it). `regent(*args)` runs
    the installed binary in `path` with `--json` and returns the parsed
    output (`json=False`: the text), asserting success; `regent_fails(code,
    *args)` asserts the exit code and returns the completed process.
    """

    def __init__(self, path, store):
        self.path = pathlib.Path(path)
        self.store = pathlib.Path(store)

    def regent(self, *args, json=True, cwd=None, input=None):
        command = [regent.find_regent_bin(), *map(str, args)]
        if json:
            command.append("--json")
        done = subprocess.run(
            command, cwd=cwd or self.path, input=input, capture_output=True, text=True
        )
        assert done.returncode == 0, f"regent {args} failed ({done.returncode}):\n{done.stderr}"
        return _json.loads(done.stdout) if json else done.stdout

    def regent_fails(self, code, *args, cwd=None):
        command = [regent.find_regent_bin(), *map(str, args)]
        done = subprocess.run(command, cwd=cwd or self.path, capture_output=True, text=True)
        assert done.returncode == code, (
            f"regent {args}: expected exit {code}, got {done.returncode}:\n{done.stderr}"
        )
        return done

    def git(self, *args):
        done = subprocess.run(
            ["git", *map(str, args)], cwd=self.path, capture_output=True, text=True
        )
        assert done.returncode == 0, f"git {args} failed:\n{done.stderr}"
        return done.stdout

    def head(self):
        return self.git("rev-parse", "HEAD").strip()

    def commit_count(self):
        return int(self.git("rev-list", "--count", "HEAD"))

    def write(self, relative, content):
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def commit_all(self, message):
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.head()

    def run(self, run_id):
        """`regent run show RUN --json`: the committed run."""
        return self.regent("run", "show", run_id)


_json = json


@pytest.fixture
def regent_env(tmp_path, monkeypatch):
    """The fixed environment (FIXED_ENV, a temporary HOME), for this test's
    process and the processes it starts. Returns the HOME folder."""
    for key in CLEARED_ENV:
        monkeypatch.delenv(key, raising=False)
    for key, value in FIXED_ENV.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def registry(tmp_path, regent_env, monkeypatch):
    """A registry in a temporary Git repository (see `Registry`), which is
    also the current folder, with REGENT_ARTIFACT_ROOT at a local folder."""
    repo = tmp_path / "repo"
    repo.mkdir()
    store = tmp_path / "store"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    monkeypatch.setenv("REGENT_ARTIFACT_ROOT", str(store))
    monkeypatch.chdir(repo)
    made = Registry(repo, store)
    made.regent("init", json=False)
    return made


@pytest.fixture(scope="session")
def wheel():
    """The regent-ml wheel under test: REGENT_WHEEL, else the one
    .ci/python-test built in target/wheels."""
    given = os.environ.get("REGENT_WHEEL")
    if given:
        return pathlib.Path(given)
    found = glob.glob(str(ROOT / "target" / "wheels" / "regent_ml-*.whl"))
    assert len(found) == 1, f"expected one wheel in target/wheels (bash .ci/python-test builds it): {found}"
    return pathlib.Path(found[0])


@pytest.fixture
def run_python():
    """A function running `code` in a new interpreter (this venv's python),
    returning the completed process: for what only an interpreter's exit
    shows (atexit). `check=False` allows a non-zero exit."""

    def run(code, *, cwd, env=None, check=True):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
        )
        if check:
            assert done.returncode == 0, f"the script failed ({done.returncode}):\n{done.stderr}"
        return done

    return run
