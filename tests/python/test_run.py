"""`regent.start_run`: one run logged from Python, read back with the binary.

The source is captured when the run starts, everything is buffered, and
the binary is called once at the end (`calls` counts the processes)."""

import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import regent


@pytest.fixture
def calls(registry, tmp_path, monkeypatch):
    """Every regent process the API starts, through a REGENT_BIN wrapper
    that notes its arguments and runs the installed binary."""
    log = tmp_path / "calls.log"
    real = regent.find_regent_bin()
    wrapper = tmp_path / "regent-counting"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("REGENT_BIN", str(wrapper))
    return lambda: log.read_text().splitlines() if log.exists() else []


def test_a_run_is_captured_at_the_start_and_recorded_in_one_call_at_the_end(registry, calls):
    registry.write("train.py", "print('v1')\n")
    code_commit = registry.commit_all("the code that trains")
    registry.write("out/model.pkl", b"weights")
    registry.write("out/mlflow-model/MLmodel", "flavors: {}\n")
    registry.write("out/mlflow-model/model.pkl", b"inner")
    before = registry.commit_count()

    with regent.start_run("churn", name="r1") as run:
        assert calls() and calls()[0].endswith("run capture churn --name r1 --json")
        assert run.id == "churn/r1" and run.status is None
        assert run.source["commit"] == code_commit
        run.log_param("lr", 0.01)
        run.log_params({"optimizer": "adam", "layers": 3, "dropout": None})
        run.log_param("lr", 0.01)  # the same value again is fine
        for step in range(1000):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_metrics({"val/loss": 2.0 / (step + 1), "lr": 0.01}, step=step)
        run.log_metric("accuracy", 0.5)
        run.log_metric("accuracy", np.float32(0.75))  # the last value logged counts
        run.log_metrics({"f1": 0.7, "auc": np.float64(0.8)})
        run.set_tag("team", "growth")
        run.set_tags({"phase": 1, "team": "vision"})
        run.note("first try")
        run.note("second try")
        run.log_artifact("out/model.pkl")
        run.log_artifact("out/model.pkl", name="model-copy.pkl")
        run.log_artifacts("out/mlflow-model", name="model")
        run.log_artifact("s3://bucket/data.csv")
        # The code changes (and is committed) while it trains.
        registry.write("train.py", "print('v2')\n")
        registry.commit_all("change the code while it trains")
        # Still nothing but the capture: logging is in memory.
        assert len(calls()) == 1
        assert registry.commit_count() == before + 1

    assert len(calls()) == 2, calls()
    assert "run log --batch -" in calls()[1]
    assert run.status == "finished"
    assert registry.commit_count() == before + 2  # the code change, and the run
    assert run.commit == registry.head()
    trailers = registry.git("log", "-1", "--format=%(trailers)")
    assert "Regent-Event: run" in trailers and "Regent-Actor: tester" in trailers

    got = registry.run("churn/r1")
    assert got["status"] == "finished"
    assert got["user"] == "tester"
    assert got["source"]["commit"] == code_commit  # the start's, not the end's
    assert got["start_time"] == run.start_time <= got["end_time"]
    assert got["params"] == {
        "lr": "0.01",
        "optimizer": "adam",
        "layers": "3",
        "dropout": "None",
    }
    assert got["metrics"]["loss"] == 1.0 / 1000
    assert got["metrics"]["val/loss"] == 2.0 / 1000
    assert got["metrics"]["accuracy"] == 0.75
    assert got["metrics"]["auc"] == 0.8 and got["metrics"]["f1"] == 0.7
    history = got["history"]["loss"]
    assert [p["step"] for p in history] == list(range(1000))
    assert [p["value"] for p in history] == [1.0 / (s + 1) for s in range(1000)]
    assert all(p["timestamp"].endswith("Z") for p in history)
    assert "accuracy" not in got.get("history", {})
    assert got["tags"] == {"team": "vision", "phase": "1"}
    assert got["note"] == "second try"
    artifacts = {a.get("path"): a for a in got["artifacts"]}
    assert set(artifacts) == {"model.pkl", "model-copy.pkl", "model", None}
    assert artifacts["model.pkl"]["digest"] == artifacts["model-copy.pkl"]["digest"]
    assert artifacts["model.pkl"]["uri"].startswith(registry.store.as_uri())
    assert artifacts["model"]["kind"] == "folder"
    assert artifacts[None]["uri"] == "s3://bucket/data.csv"
    # The interpreter that trains, though its venv was not activated.
    assert got["environment"]["interpreter"].startswith("python 3.")
    registry.regent("validate", json=False)

    # The stored folder comes back whole.
    back = regent.artifact_get(f"{run.id}:model", registry.path.parent / "back")
    assert back.files == 2
    assert (registry.path.parent / "back" / "MLmodel").read_text() == "flavors: {}\n"


def test_a_run_without_a_name_gets_one_at_the_start(registry):
    with regent.start_run("churn") as run:
        name = run.name
        run.log_metric("accuracy", 0.9)
    assert run.id == f"churn/{name}"
    assert registry.run(run.id)["metrics"] == {"accuracy": 0.9}


def test_an_exception_marks_the_run_failed_and_is_raised_again(registry):
    with pytest.raises(ZeroDivisionError):
        with regent.start_run("churn", name="boom") as run:
            run.log_metric("loss", 0.5, step=0)
            1 / 0
    assert run.status == "failed"
    got = registry.run("churn/boom")
    assert got["status"] == "failed"
    assert got["metrics"] == {"loss": 0.5}


def test_ctrl_c_is_killed_and_sys_exit_0_finished(registry):
    with pytest.raises(KeyboardInterrupt):
        with regent.start_run("churn", name="stopped"):
            raise KeyboardInterrupt
    assert registry.run("churn/stopped")["status"] == "killed"
    with pytest.raises(SystemExit):
        with regent.start_run("churn", name="exited"):
            raise SystemExit(0)
    assert registry.run("churn/exited")["status"] == "finished"
    with pytest.raises(SystemExit):
        with regent.start_run("churn", name="exited-1"):
            raise SystemExit(3)
    assert registry.run("churn/exited-1")["status"] == "failed"


def test_an_exception_stays_the_one_raised_when_recording_fails_too(registry, monkeypatch):
    monkeypatch.delenv("REGENT_ARTIFACT_ROOT")
    registry.write("model.pkl", b"m")
    with pytest.warns(RuntimeWarning, match="churn/lost was not recorded as failed"):
        with pytest.raises(ValueError, match="the training's own error") as raised:
            with regent.start_run("churn", name="lost") as run:
                run.log_artifact("model.pkl")
                raise ValueError("the training's own error")
    if sys.version_info >= (3, 11):  # exceptions take notes from 3.11 on
        assert any("needs an artifact store" in note for note in raised.value.__notes__)
    registry.regent_fails(1, "run", "show", "churn/lost")


def test_a_failed_end_raises_regent_error_and_records_nothing(registry, monkeypatch):
    monkeypatch.delenv("REGENT_ARTIFACT_ROOT")
    registry.write("model.pkl", b"m")
    before = registry.commit_count()
    run = regent.start_run("churn", name="nostore")
    run.log_metric("accuracy", 0.9)
    run.log_artifact("model.pkl")
    with pytest.raises(regent.RegentError) as raised:
        run.end()
    error = raised.value
    assert error.exit_code == 2
    assert "needs an artifact store" in error.message
    assert "run log --batch -" in " ".join(error.args_used)
    assert str(error).endswith("(regent exited with 2)")
    assert run.commit is None and run.ended
    assert registry.commit_count() == before
    # What it would have recorded is still there, to log later.
    line = run.batch_line()
    assert line["name"] == "nostore" and line["metrics"] == {"accuracy": 0.9}
    with pytest.raises(RuntimeError, match="has ended"):
        run.end()


def test_a_taken_name_is_refused_when_the_run_starts(registry, calls):
    with regent.start_run("churn", name="taken"):
        pass
    with pytest.raises(regent.RegentError) as raised:
        regent.start_run("churn", name="taken")
    assert raised.value.exit_code == 1
    assert "run churn/taken already exists" in raised.value.message
    assert len(calls()) == 3  # capture, log, and the refused capture


def test_nan_and_infinities_are_refused_when_logged(registry):
    with regent.start_run("churn", name="nan") as run:
        for bad in (math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")):
            with pytest.raises(ValueError, match="finite numbers only"):
                run.log_metric("loss", bad, step=1)
        # log_metrics is all or nothing.
        with pytest.raises(ValueError, match="'b' is nan at step 2"):
            run.log_metrics({"a": 1.0, "b": float("nan")}, step=2)
        assert "metrics" not in run.batch_line()
        run.log_metric("loss", 0.25, step=3)
    got = registry.run("churn/nan")
    assert got["metrics"] == {"loss": 0.25}
    assert [p["step"] for p in got["history"]["loss"]] == [3]


def test_bad_arguments_raise_before_the_binary_runs(registry, calls, tmp_path):
    with pytest.raises(TypeError, match="experiment name must be a str"):
        regent.start_run(42)
    with pytest.raises(ValueError, match="invalid experiment name 'a b'"):
        regent.start_run("a b")
    with pytest.raises(ValueError, match="invalid run name '..x'"):
        regent.start_run("churn", name="..x")
    with pytest.raises(FileNotFoundError, match="registry folder"):
        regent.start_run("churn", registry=tmp_path / "nowhere")
    assert calls() == []

    registry.write("model.pkl", b"m")
    registry.write("folder/f.txt", "f")
    run = regent.start_run("churn", name="args")
    cases = [
        (TypeError, "param key must be a str", lambda: run.log_param(1, "x")),
        (ValueError, "param key '' is empty", lambda: run.log_param("", "x")),
        (ValueError, "contains a control character", lambda: run.log_param("a\x1bb", "x")),
        (ValueError, "at most 250", lambda: run.log_param("k" * 251, "x")),
        (TypeError, "params must be a mapping", lambda: run.log_params([("a", 1)])),
        (TypeError, "metric 'm' must be a number, not str", lambda: run.log_metric("m", "0.5")),
        (TypeError, "not bool", lambda: run.log_metric("m", True)),
        (TypeError, "step must be an int, not float", lambda: run.log_metric("m", 1, step=1.5)),
        (TypeError, "step must be an int, not bool", lambda: run.log_metric("m", 1, step=True)),
        (ValueError, "step must be between 0", lambda: run.log_metric("m", 1, step=-1)),
        (TypeError, "tag key must be a str", lambda: run.set_tag(None, "x")),
        (TypeError, "note must be a str", lambda: run.note(3)),
        (FileNotFoundError, "no such file", lambda: run.log_artifact("missing.pkl")),
        (IsADirectoryError, "log it with log_artifacts", lambda: run.log_artifact("folder")),
        (NotADirectoryError, "is not a folder", lambda: run.log_artifacts("model.pkl")),
        (ValueError, "is not a file name", lambda: run.log_artifact("model.pkl", name="a/b")),
        (ValueError, "takes a local folder", lambda: run.log_artifacts("s3://b/f")),
        (ValueError, "status must be one of", lambda: run.end("done")),
    ]
    for kind, message, call in cases:
        with pytest.raises(kind, match=message):
            call()
    # Params are set once; a metric has steps or not; names differ.
    run.log_param("lr", 0.1)
    with pytest.raises(ValueError, match="param 'lr' of run churn/args is already '0.1'"):
        run.log_param("lr", 0.2)
    run.log_metric("loss", 0.5, step=0)
    with pytest.raises(ValueError, match="'loss' has a history"):
        run.log_metric("loss", 0.4)
    run.log_metric("acc", 0.5)
    with pytest.raises(ValueError, match="'acc' was logged without a step"):
        run.log_metric("acc", 0.6, step=1)
    run.log_artifact("model.pkl")
    with pytest.raises(ValueError, match="both named 'model.pkl'"):
        run.log_artifact(registry.path / "folder" / "f.txt", name="model.pkl")
    assert len(calls()) == 1  # the capture only
    run.end()
    with pytest.raises(RuntimeError, match="run churn/args has ended"):
        run.log_metric("late", 1.0)
    got = registry.run("churn/args")
    assert got["params"] == {"lr": "0.1"}
    assert got["metrics"] == {"loss": 0.5, "acc": 0.5}


def test_registry_argument_and_paths_relative_to_the_script(registry, tmp_path, monkeypatch):
    # A registry in a subfolder of a monorepo, the script elsewhere.
    mono = tmp_path / "mono"
    sub = mono / "ml"
    sub.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(mono)], check=True)
    registry.regent("init", json=False, cwd=sub)
    elsewhere = tmp_path / "work"
    (elsewhere / "out").mkdir(parents=True)
    (elsewhere / "out" / "model.pkl").write_bytes(b"m")
    monkeypatch.chdir(elsewhere)
    with regent.start_run("churn", name="r", registry=sub) as run:
        run.log_artifact("out/model.pkl")
        os.chdir(tmp_path)  # the script moves; the path was taken when logged
    assert run.registry == str(sub)
    got = registry.regent("run", "show", "churn/r", cwd=sub)
    assert got["artifacts"][0]["path"] == "model.pkl"
    assert (sub / "experiments" / "churn").is_dir()
    registry.regent_fails(1, "run", "show", "churn/r")  # not in the other registry


def test_threads_log_into_one_run(registry):
    with regent.start_run("churn", name="threads") as run:
        def work(worker):
            for step in range(200):
                run.log_metric(f"w{worker}", float(step), step=step)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    got = registry.run("churn/threads")
    for w in range(4):
        assert [p["step"] for p in got["history"][f"w{w}"]] == list(range(200))


def test_keep_local_and_push(registry, tmp_path, monkeypatch):
    monkeypatch.delenv("REGENT_ARTIFACT_ROOT")
    registry.write("data/model.pkl", b"m")
    registry.commit_all("a model in the repository")
    origin = tmp_path / "origin.git"
    registry.git("init", "-q", "--bare", "-b", "main", origin)
    registry.git("remote", "add", "origin", origin)
    registry.git("push", "-q", "-u", "origin", "main")
    with regent.start_run("churn", name="local", keep_local=True, push=True) as run:
        run.log_artifact("data/model.pkl")
    got = registry.run("churn/local")
    assert got["artifacts"][0]["path"] == "data/model.pkl"
    assert "uri" not in got["artifacts"][0]
    pushed = registry.git("--git-dir", origin, "rev-parse", "main").strip()
    assert pushed == run.commit


def test_an_unfinished_run_is_recorded_as_killed_at_interpreter_exit(registry, run_python):
    done = run_python(
        "import regent\n"
        "run = regent.start_run('churn', name='forgotten')\n"
        "run.log_metric('loss', 0.5, step=1)\n"
        "ended = regent.start_run('churn', name='ended')\n"
        "ended.end()\n",
        cwd=registry.path,
    )
    assert "run churn/forgotten was not ended; recorded as killed at exit" in done.stderr
    assert "churn/ended" not in done.stderr
    got = registry.run("churn/forgotten")
    assert got["status"] == "killed"
    assert got["metrics"] == {"loss": 0.5}
    assert registry.run("churn/ended")["status"] == "finished"

    # An uncaught exception outside a `with` ends the same way.
    done = run_python(
        "import regent\n"
        "run = regent.start_run('churn', name='crashed')\n"
        "raise RuntimeError('oops')\n",
        cwd=registry.path,
        check=False,
    )
    assert done.returncode == 1 and "RuntimeError: oops" in done.stderr
    assert registry.run("churn/crashed")["status"] == "killed"


def test_a_forked_child_does_not_record_its_parents_run(registry, run_python):
    run_python(
        "import os, sys, regent\n"
        "run = regent.start_run('churn', name='parent')\n"
        "run.log_metric('loss', 0.5)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    sys.exit(0)\n"  # a normal exit: the child's atexit handlers run
        "os.waitpid(pid, 0)\n"
        "run.end()\n",
        cwd=registry.path,
    )
    runs = registry.regent("run", "list", "churn")
    assert [r["id"] for r in runs] == ["churn/parent"]
    assert runs[0]["status"] == "finished"
