"""The runs this process is writing: what MLflow logged and regent has not
committed yet.

`log_param`, `log_metric`, `set_tag` and `log_batch` only add to a run's
buffer here; a commit is made when the run ends (`regent run end`, with the
run's artifacts), when a logged model is finalized (`regent run update`
with the model's folder), when the oldest buffered value is older than
REGENT_MLFLOW_FLUSH_SECONDS (default 60) at the next log call, and at
interpreter exit. So a training loop's thousands of `log_metric` calls make
a handful of commits, and a process that crashes loses at most what it
logged since the last one: its run stays `running` in the registry with
everything up to then. `get_run` in this process sees the buffer; another
process sees what was committed.

Artifacts are copied into a staging folder (the run's artifact tree) and
uploaded when the run ends, one regent artifact per top-level entry, since
a stored folder cannot change afterwards.

Both plugins and the artifact repository share this state (MLflow builds
them separately), keyed by registry folder and run id, under one lock:
runs from several threads of one process are safe. Runs from several
processes in one checkout are serialised by regent's checkout lock.
"""

import atexit
import json
import math
import os
import shutil
import tempfile
import threading
import time

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, INVALID_STATE

from . import ids
from .commands import regent
from .times import ms_to_rfc3339, rfc3339_to_ms

FLUSH_SECONDS_ENV = "REGENT_MLFLOW_FLUSH_SECONDS"
MODEL_TAG_PREFIX = "mlflow.loggedModel."
INPUT_TAG_PREFIX = "mlflow.input."
# Tags regent writes to record what MLflow has and a regent run has not.
RECORD_TAG_PREFIXES = (MODEL_TAG_PREFIX, INPUT_TAG_PREFIX)
NOTE_TAG = "mlflow.note.content"
RUN_NAME_TAG = "mlflow.runName"

_lock = threading.RLock()
_runs = {}
_exit_hook = []
_created = {}


def created_experiments(registry):
    """Experiments created in this process with no run yet, by registry."""
    with _lock:
        return _created.setdefault(registry, set())


def flush_seconds():
    text = os.environ.get(FLUSH_SECONDS_ENV, "60")
    try:
        seconds = float(text)
    except ValueError:
        raise MlflowException(
            f"{FLUSH_SECONDS_ENV}={text!r} is not a number of seconds", INVALID_PARAMETER_VALUE
        ) from None
    return max(seconds, 0.0)


class LoggedModelState:
    """A logged model created in this process: a folder artifact of its run."""

    def __init__(self, artifact, name, model_type, params, tags, created):
        self.artifact = artifact
        self.name = name
        self.model_type = model_type
        self.params = dict(params)
        self.tags = dict(tags)
        self.status = "PENDING"
        self.step = 0
        self.created = created
        self.updated = created
        self.recorded = False

    def tag_value(self):
        """What the run records about the model, as its tag `mlflow.loggedModel.<artifact>`."""
        return json.dumps(
            {
                "name": self.name,
                "status": self.status,
                "step": self.step,
                "created": self.created,
                "updated": self.updated,
                "type": self.model_type,
                "params": self.params,
                "tags": self.tags,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


class ActiveRun:
    """A running run this process writes: its last committed state and buffer."""

    def __init__(self, registry, record):
        self.registry = registry
        self.experiment = record["experiment"]
        self.name = record["name"]
        self.run_id = ids.run_id(self.experiment, self.name)
        self.record = record
        self.params = {}
        self.metrics = {}
        self.tags = {}
        self.note = None
        self.inputs = {}
        self.models = {}
        self.oldest = None
        self.lock = threading.RLock()
        self._staging = None
        self.recorded_local = set()

    @property
    def regent_id(self):
        return f"{self.experiment}/{self.name}"

    # The buffer ---------------------------------------------------------

    def pending(self):
        return bool(
            self.params
            or self.metrics
            or self.tags
            or self.inputs
            or self.note is not None
            or any(not m.recorded and m.status != "PENDING" for m in self.models.values())
        )

    def _touched(self):
        if self.oldest is None:
            self.oldest = time.monotonic()

    def add_param(self, key, value):
        value = str(value)
        for where, params in (("logged", self.record.get("params") or {}), ("buffered", self.params)):
            old = params.get(key)
            if old is not None and old != value:
                raise MlflowException(
                    f"Changing param values is not allowed. Param with key={key!r} was already "
                    f"logged with value={old!r} for run ID={self.run_id!r}. Attempted logging "
                    f"new value {value!r}. (regent: params are set once)",
                    INVALID_PARAMETER_VALUE,
                )
        self.params[key] = value
        self._touched()

    def add_metric(self, key, value, timestamp, step):
        value = float(value)
        if not math.isfinite(value):
            raise MlflowException(
                f"metric {key!r} of run {self.regent_id} is {value}: regent records finite "
                "numbers only (NaN and infinities are refused, not stored or dropped)",
                INVALID_PARAMETER_VALUE,
            )
        step = int(step or 0)
        if step < 0:
            raise MlflowException(
                f"metric {key!r} of run {self.regent_id} has step {step}: regent's steps "
                "start at 0",
                INVALID_PARAMETER_VALUE,
            )
        point = (value, int(timestamp), step)
        points = self.metrics.setdefault(key, [])
        # MLflow logs some points twice (autolog links a run's metrics to its
        # logged model by logging them again); its stores keep one. So does this.
        if point not in points and point not in self._committed_points(key):
            points.append(point)
            self._touched()
        elif not points:
            del self.metrics[key]

    def _committed_points(self, key):
        history = (self.record.get("history") or {}).get(key) or []
        return {
            (float(p["value"]), rfc3339_to_ms(p.get("timestamp")), int(p.get("step", 0)))
            for p in history
        }

    def add_tag(self, key, value):
        value = str(value)
        if key == RUN_NAME_TAG:
            if value != self.name:
                raise MlflowException(
                    f"renaming run {self.regent_id} to {value!r} is not supported: a regent "
                    "run's name is its identity (its file and its MLflow id)",
                    INVALID_PARAMETER_VALUE,
                )
            return
        if key == NOTE_TAG:
            self.note = value
        elif key.startswith(RECORD_TAG_PREFIXES):
            raise MlflowException(
                f"tag {key!r}: tags starting with {' or '.join(RECORD_TAG_PREFIXES)} are "
                "regent's record of the run's logged models and datasets",
                INVALID_PARAMETER_VALUE,
            )
        else:
            self.tags[key] = value
        self._touched()

    def add_input(self, dataset_input):
        """A dataset input (log_input, autolog), recorded as the tag
        `mlflow.input.<context>.<digest>` holding its description as JSON."""
        dataset = dataset_input.dataset
        context = ""
        for tag in dataset_input.tags or []:
            if tag.key == "mlflow.data.context":
                context = tag.value
        value = json.dumps(
            {
                "name": dataset.name,
                "digest": dataset.digest,
                "source_type": dataset.source_type,
                "source": dataset.source,
                "schema": dataset.schema,
                "profile": dataset.profile,
                "tags": {t.key: t.value for t in dataset_input.tags or []},
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        self.inputs[f"{INPUT_TAG_PREFIX}{context or 'none'}.{dataset.digest}"] = value
        self._touched()

    # Artifacts ----------------------------------------------------------

    @property
    def staging(self):
        """The run's artifact tree as logged in this process (a private copy)."""
        if self._staging is None:
            self._staging = tempfile.mkdtemp(prefix="regent-mlflow-")
        return self._staging

    def has_staged(self):
        return self._staging is not None and os.path.isdir(self._staging)

    def recorded_names(self):
        names = set()
        for artifact in self.record.get("artifacts") or []:
            if artifact.get("path"):
                names.add(artifact["path"].rstrip("/").rsplit("/", 1)[-1])
        return names

    def unrecorded_entries(self):
        """Top-level staged entries still to upload (logged models go at finalize)."""
        if not self.has_staged():
            return []
        pending_models = {m.artifact for m in self.models.values() if not m.recorded}
        return sorted(
            entry
            for entry in os.listdir(self._staging)
            if entry not in self.recorded_local and entry not in pending_models
        )

    def discard_staging(self):
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    # Commits ------------------------------------------------------------

    def flush(self, status=None, artifacts=(), what="log"):
        """Commits the buffer (and `artifacts`, top-level staged names) with
        `regent run update`, or `run end --status STATUS`."""
        with self.lock:
            if status is None and not artifacts and not self.pending():
                return
            with tempfile.TemporaryDirectory(prefix="regent-mlflow-flush-") as tmp:
                args = ["run", "end" if status else "update", self.regent_id]
                if status:
                    args += ["--status", status]
                if self.params:
                    path = os.path.join(tmp, "params.json")
                    with open(path, "w", encoding="utf-8") as f:
                        json.dump(self.params, f)
                    args += ["--params-file", path]
                if self.metrics:
                    path = os.path.join(tmp, "metrics.json")
                    with open(path, "w", encoding="utf-8") as f:
                        json.dump(
                            {
                                key: [
                                    {"step": step, "value": value, "timestamp": ms_to_rfc3339(ts)}
                                    for value, ts, step in sorted(
                                        points, key=lambda p: (p[2], p[1])
                                    )
                                ]
                                for key, points in self.metrics.items()
                            },
                            f,
                        )
                    args += ["--metrics-file", path]
                tags = dict(self.tags)
                tags.update(self.inputs)
                models = [m for m in self.models.values() if not m.recorded and m.status != "PENDING"]
                for model in models:
                    tags[MODEL_TAG_PREFIX + model.artifact] = model.tag_value()
                for key, value in sorted(tags.items()):
                    args.append(f"--tag={key}={value}")
                if self.note is not None:
                    args.append(f"--note={self.note}")
                for name in artifacts:
                    args += ["--artifact", os.path.join(self.staging, name)]
                self.record = regent(self.registry, *args, what=f"{what} of run {self.regent_id}")
            self.params, self.metrics, self.tags, self.note = {}, {}, {}, None
            self.inputs = {}
            self.oldest = None
            for model in models:
                model.recorded = True
            self.recorded_local.update(artifacts)

    def maybe_flush(self):
        if self.oldest is not None and time.monotonic() - self.oldest >= flush_seconds():
            self.flush(what="periodic flush")


# The process's runs --------------------------------------------------------


def _ensure_exit_hook():
    if not _exit_hook:
        atexit.register(flush_all)
        _exit_hook.append(True)


def lookup(registry, run_id):
    with _lock:
        return _runs.get((registry, run_id))


def start(registry, experiment, name, tags, note):
    args = ["run", "start", experiment]
    if name is not None:
        args.append(f"--name={name}")
    for key, value in sorted(tags.items()):
        args.append(f"--tag={key}={value}")
    if note is not None:
        args.append(f"--note={note}")
    record = regent(registry, *args, what=f"start of a run in {experiment}")
    run = ActiveRun(registry, record)
    with _lock:
        _ensure_exit_hook()
        _runs[(registry, run.run_id)] = run
    return run


def writable(registry, run_id):
    """The run to log to: this process's, else a running run of the registry
    (started by another process: `MlflowClient().log_metric(run_id, …)`)."""
    with _lock:
        run = _runs.get((registry, run_id))
        if run is not None:
            return run
        experiment, name = ids.split_run_id(run_id)
        record = regent(registry, "run", "show", f"{experiment}/{name}", what="log")
        if record.get("status") != "running":
            raise MlflowException(
                f"run {experiment}/{name} has ended ({record.get('status')}); regent keeps an "
                "ended run as it is, so nothing more can be logged to it",
                INVALID_STATE,
            )
        run = ActiveRun(registry, record)
        _ensure_exit_hook()
        _runs[(registry, run_id)] = run
        return run


def end(run, status):
    with run.lock:
        for model in run.models.values():
            if model.status == "PENDING" and not model.recorded:
                # Never finalized (log_model failed midway): nothing of it is kept.
                shutil.rmtree(os.path.join(run.staging, model.artifact), ignore_errors=True)
                model.recorded = True
        run.flush(status=status, artifacts=run.unrecorded_entries(), what="end")
        run.discard_staging()
    with _lock:
        _runs.pop((run.registry, run.run_id), None)


def flush_all():
    """At exit: commit what every unfinished run of this process buffered and
    staged. The runs stay `running`, as in MLflow's own stores."""
    with _lock:
        runs = list(_runs.values())
    # MLflow's own exit hook (registered before this one, so run after it)
    # ends the fluent API's active run: leave that run to it, one commit.
    try:
        import mlflow

        active = mlflow.active_run()
        ended_by_mlflow = {active.info.run_id} if active is not None else set()
    except Exception:
        ended_by_mlflow = set()
    for run in runs:
        if run.run_id in ended_by_mlflow:
            continue
        try:
            with run.lock:
                run.flush(artifacts=run.unrecorded_entries(), what="flush at exit")
                run.discard_staging()
        except Exception as error:  # an exit hook must not hide the others' data
            import sys

            print(f"regent: could not flush run {run.regent_id} at exit: {error}", file=sys.stderr)
