"""A run logged from Python: `regent.start_run`.

When the run starts, one call to the binary (`regent run capture`) records
what the run comes from: the source commit, branch, dirty flag and remote,
the environment (lock-file digests, the interpreter), the start time, and
the run's name (drawn, or checked against the registry so a taken name is
refused before training rather than after). Everything logged afterwards is
buffered in memory. When the run ends, one more call (`regent run log
--batch -`) uploads the artifacts and commits the run file: one commit per
run, whatever was logged, so a training loop's `log_metric` costs a list
append, not a process and a commit.

Nothing is in the registry until the run ends. A process killed before
then (SIGKILL, a lost machine) records nothing; for runs whose progress
must be visible while they train, use `regent run start | update | end`.
"""

import atexit
import datetime
import json
import os
import sys
import threading
import warnings

from . import _checks, _cli
from .errors import RegentError

STATUSES = ("finished", "failed", "killed")

# Runs started in this process and not ended yet; ended at interpreter exit.
_open_runs = {}
_open_lock = threading.Lock()


def start_run(experiment, name=None, *, registry=None, keep_local=False, push=False):
    """Starts a run of `experiment` and returns it; use it as a context manager.

    `name` is the run's name (default: one generated now, such as
    `20261126-181005-3fa9c2`); a name the registry already has is refused
    now, with RegentError. `registry` is the folder of the registry (or any
    folder inside it; default: the current folder when the run starts).
    `keep_local` records local artifacts where they are instead of storing
    them (`--keep-local`), `push` pushes the run's commit (`--push`).
    """
    _checks.name("experiment", experiment)
    if name is not None:
        _checks.name("run", name)
    registry = os.path.abspath(_checks.path("registry", registry) if registry is not None else os.getcwd())
    if not os.path.isdir(registry):
        raise FileNotFoundError(f"registry folder {registry!r} does not exist")
    args = ["-C", registry, "run", "capture", experiment]
    if name is not None:
        args += ["--name", name]
    captured = _cli.run(args, env=_env_with_interpreter())
    run = Run(captured, registry=registry, keep_local=bool(keep_local), push=bool(push))
    with _open_lock:
        _open_runs[id(run)] = run
    return run


class Run:
    """A run being logged: buffers params, metrics, tags, artifacts and a
    note in memory, and records them in one call to the binary when it ends.

    Attributes: `experiment`, `name`, `id` ("experiment/name"), `registry`,
    `start_time`, `source` (commit, branch, dirty, remote, as captured when
    the run started), `status` (None until the run ends), `commit` (the
    commit that recorded it, once ended). Methods may be called from several
    threads.
    """

    def __init__(self, captured, *, registry, keep_local=False, push=False):
        self.experiment = captured["experiment"]
        self.name = captured["name"]
        self.start_time = captured["start"]
        self.source = captured.get("source")
        self._environment = captured.get("environment")
        self.registry = registry
        self.status = None
        self.commit = None
        self._keep_local = keep_local
        self._push = push
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._params = {}
        self._finals = {}  # metric -> value, logged without a step
        self._points = {}  # metric -> [(step, value, unix time)]
        self._tags = {}
        self._note = None
        self._artifacts = []  # (path or URI, name or None)
        self._artifact_names = {}  # name -> what was given

    @property
    def id(self):
        return f"{self.experiment}/{self.name}"

    @property
    def ended(self):
        return self.status is not None

    def __repr__(self):
        state = self.status or "running"
        return f"<regent.Run {self.id} ({state})>"

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.ended:
            return False
        if exc_type is None:
            self.end("finished")
            return False
        status = _status_for(exc_type, exc)
        try:
            self.end(status)
        except (RegentError, OSError) as error:
            # The exception from the block is the one to see; the failure
            # to record it goes with it.
            message = f"regent: run {self.id} was not recorded as {status}: {error}"
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            if hasattr(exc, "add_note"):
                exc.add_note(message)
        return False

    # Params and tags -------------------------------------------------------

    def log_param(self, key, value):
        """Sets param `key` to `str(value)`. Params are set once: the same
        value again is fine, a different one raises ValueError."""
        self.log_params({key: value})

    def log_params(self, params):
        """Sets several params (a dict); all or none (see `log_param`)."""
        checked = {}
        for key, value in _checks.mapping("params", params):
            checked[_checks.key("param", key)] = _checks.text("param", value)
        with self._lock:
            self._check_open()
            for key, value in checked.items():
                old = self._params.get(key)
                if old is not None and old != value:
                    raise ValueError(
                        f"param {key!r} of run {self.id} is already {old!r}, not {value!r}: "
                        "params are set once (log a changing value as a metric or a tag)"
                    )
            self._params.update(checked)

    def set_tag(self, key, value):
        """Sets tag `key` to `str(value)` (the last value set counts)."""
        self.set_tags({key: value})

    def set_tags(self, tags):
        """Sets several tags (a dict)."""
        checked = {}
        for key, value in _checks.mapping("tags", tags):
            checked[_checks.key("tag", key)] = _checks.text("tag", value)
        with self._lock:
            self._check_open()
            self._tags.update(checked)

    def note(self, text):
        """Sets the run's note (a free-form text; a later note replaces it)."""
        if not isinstance(text, str):
            raise TypeError(f"note must be a str, not {type(text).__name__}")
        with self._lock:
            self._check_open()
            self._note = text

    # Metrics ----------------------------------------------------------------

    def log_metric(self, key, value, step=None):
        """Logs metric `key`: a finite number (NaN and infinities raise
        ValueError at once). With `step` (an int from 0), a point of the
        metric's history, and the metric's value is the one at its highest
        step (the last logged among equal steps). Without, the metric's
        value, the last one logged counting. A metric is logged with steps
        or without, not both (ValueError)."""
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics, step=None):
        """Logs several metrics (a dict) at one `step` (see `log_metric`)."""
        step = _checks.step(step)
        checked = []
        for key, value in _checks.mapping("metrics", metrics):
            checked.append((_checks.key("metric", key), _checks.metric(key, value, step)))
        now = _now()
        with self._lock:
            self._check_open()
            for key, _ in checked:
                if step is None and key in self._points:
                    raise ValueError(
                        f"metric {key!r} has a history (it was logged with a step); "
                        "log it with a step, or its final value under another key"
                    )
                if step is not None and key in self._finals:
                    raise ValueError(
                        f"metric {key!r} was logged without a step; a metric has a history "
                        "or a single value, so log it with a step every time or never"
                    )
            for key, value in checked:
                if step is None:
                    self._finals[key] = value
                else:
                    self._points.setdefault(key, []).append((step, value, now))

    # Artifacts --------------------------------------------------------------

    def log_artifact(self, path, name=None):
        """Logs a file (or a URI such as `s3://bucket/model.pkl`, recorded as
        given), stored when the run ends under `name` (default: the file's
        name). The file must exist now and still exist when the run ends."""
        self._log_artifact(path, name, folder=False)

    def log_artifacts(self, folder, name=None):
        """Logs a folder (an MLflow model, a checkpoint folder) as one
        artifact, stored file by file when the run ends, under `name`
        (default: the folder's name)."""
        self._log_artifact(folder, name, folder=True)

    def _log_artifact(self, given, name, folder):
        what = "folder" if folder else "path"
        text = _checks.path(what, given)
        if name is not None:
            _checks.artifact_name(name)
        if _checks.is_uri(text):
            if folder:
                raise ValueError(f"{text!r} is a URI; log_artifacts takes a local folder")
            location = text
            recorded = name
        else:
            # Absolute now: the script may change folders before the run
            # ends, and the binary runs in the registry's folder.
            location = os.path.abspath(text)
            if folder and not os.path.isdir(location):
                raise NotADirectoryError(f"log_artifacts: {text!r} is not a folder")
            if not folder and not os.path.isfile(location):
                if os.path.isdir(location):
                    raise IsADirectoryError(
                        f"log_artifact: {text!r} is a folder; log it with log_artifacts"
                    )
                raise FileNotFoundError(f"log_artifact: no such file {text!r}")
            recorded = name if name is not None else os.path.basename(location)
        with self._lock:
            self._check_open()
            if recorded is not None:
                first = self._artifact_names.get(recorded)
                if first is not None:
                    raise ValueError(
                        f"artifacts {first!r} and {text!r} are both named {recorded!r}; "
                        "a run's artifacts are found by name: pass name= to one of them"
                    )
                self._artifact_names[recorded] = text
            self._artifacts.append((location, name))

    # Ending -----------------------------------------------------------------

    def end(self, status="finished"):
        """Records the run with `status` (finished, failed or killed) in one
        call to the binary: artifacts uploaded, then one commit; sets
        `commit`. When the binary refuses (a store that cannot be reached,
        a name taken meanwhile), RegentError is raised and nothing is
        recorded; the run is ended all the same (`commit` stays None), and
        `batch_line()` still gives what it would have recorded, to log it
        later with `regent run log --batch`."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self._lock:
            self._check_open()
            self.status = status
            line = self._batch_line(status)
        with _open_lock:
            _open_runs.pop(id(self), None)
        args = ["-C", self.registry, "run", "log", "--batch", "-"]
        if self._keep_local:
            args.append("--keep-local")
        if self._push:
            args.append("--push")
        done = _cli.run(args, input=json.dumps(line, allow_nan=False) + "\n")
        self.commit = done["commit"]
        return self

    def batch_line(self):
        """What `end` sends the binary: the `run log --batch` line, as a dict."""
        with self._lock:
            return self._batch_line(self.status or "finished")

    def _batch_line(self, status):
        metrics = dict(self._finals)
        for key, points in self._points.items():
            metrics[key] = [
                {"step": step, "value": value, "timestamp": _rfc3339(at)}
                for step, value, at in points
            ]
        line = {
            "experiment": self.experiment,
            "name": self.name,
            "start": self.start_time,
            "status": status,
            "source": self.source,
            "environment": self._environment,
            "params": self._params,
            "metrics": metrics,
            "tags": self._tags,
            "artifacts": [
                path if name is None else {"path": path, "name": name}
                for path, name in self._artifacts
            ],
        }
        if self._note is not None:
            line["note"] = self._note
        # Only what there is: a short line for a short run.
        return {k: v for k, v in line.items() if v not in (None, {}, [])}

    def _check_open(self):
        if self.status is not None:
            raise RuntimeError(f"run {self.id} has ended ({self.status}); nothing more can be logged")


def _status_for(exc_type, exc):
    """The status of a run whose `with` block raised: killed for Ctrl-C,
    finished for `sys.exit(0)`, failed otherwise."""
    if issubclass(exc_type, KeyboardInterrupt):
        return "killed"
    if issubclass(exc_type, SystemExit) and getattr(exc, "code", None) in (None, 0):
        return "finished"
    return "failed"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _rfc3339(at):
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _env_with_interpreter():
    """The environment for `run capture`: in a virtualenv that was not
    activated (its python run by path, as IDEs and job runners do),
    VIRTUAL_ENV is set so the run records the interpreter that trains."""
    if os.environ.get("VIRTUAL_ENV") or sys.prefix == sys.base_prefix:
        return None
    if not os.path.isfile(os.path.join(sys.prefix, "pyvenv.cfg")):
        return None
    return {**os.environ, "VIRTUAL_ENV": sys.prefix}


@atexit.register
def _end_open_runs():
    """Ends the runs this process started and did not end, as killed: the
    script stopped without ending them (an uncaught exception, a notebook
    kernel shut down, a forgotten `end()`), so whether they finished is
    not known. Runs inherited through fork() are the parent's to end."""
    with _open_lock:
        runs = [r for r in _open_runs.values() if r._pid == os.getpid()]
    for run in runs:
        if run.ended:
            continue
        try:
            run.end("killed")
            print(f"regent: run {run.id} was not ended; recorded as killed at exit", file=sys.stderr)
        except Exception as error:  # at exit, report and go on to the next run
            print(f"regent: run {run.id} was not ended and could not be recorded: {error}", file=sys.stderr)
