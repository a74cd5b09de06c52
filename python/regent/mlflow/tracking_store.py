"""MLflow's tracking store for `regent:` URIs: experiments, runs, metrics,
params, tags and logged models, kept as regent runs.

An experiment is regent's experiment of the same name (it appears in the
registry with its first run); a run is a regent run of the same name
(`regent run start`, then buffered logging, then `regent run end`: see
`session.py`); a logged model (MLflow 3's `log_model`) is a folder artifact
of its run, named as the model, recorded when MLflow finalizes it. Ids are
the names, spelled as `ids.py` says. What regent has no equivalent for
(deleting or renaming, experiment tags, datasets, traces and the GenAI
stores) raises an MlflowException naming the method (`unsupported.py`).
"""

import os
import shutil
import time

from mlflow.entities import RunStatus, ViewType
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.search_utils import (
    SearchExperimentsUtils,
    SearchLoggedModelsUtils,
    SearchUtils,
)

from . import entities, ids, session, unsupported
from .commands import exists, regent
from .series import full_history

PLUGIN = "regent's MLflow tracking store"

REASONS = {
    "*": "regent has no equivalent (see regent's README, From MLflow: not supported)",
    "delete_experiment": "regent keeps every run in Git history; an experiment is not deleted",
    "restore_experiment": "regent does not delete experiments",
    "rename_experiment": "an experiment's name is its folder and its MLflow id",
    "delete_run": "regent keeps every run; history is the audit trail",
    "restore_run": "regent does not delete runs",
    "delete_tag": "a committed run tag stays in history",
    "set_experiment_tag": "regent experiments are folders of runs, with no tags of their own",
    "delete_experiment_tag": "regent experiments have no tags",
    "delete_logged_model": "a logged model is an artifact of its run, which regent keeps",
    "delete_logged_model_tag": "a recorded logged model is part of its run, which is kept as it is",
    "record_logged_model": "MLflow 2's model history tag; MLflow 3 logged models are recorded",
}

INHERITED = (
    "log_metric",
    "log_metric_async",
    "log_param",
    "log_param_async",
    "set_tag",
    "set_tag_async",
    "log_batch_async",
    "end_async_logging",
    "flush_async_logging",
    "shut_down_async_logging",
    "search_runs",
    "get_metric_history_bulk_interval",
    "get_metric_history_bulk_interval_from_steps",
)


def _now_ms():
    return int(time.time() * 1000)


@unsupported.fill_unsupported(AbstractStore, PLUGIN, INHERITED, REASONS)
class RegentTrackingStore(AbstractStore):
    """`MLFLOW_TRACKING_URI=regent:` (the registry around the current folder)
    or `regent:/path/to/registry`."""

    def __init__(self, store_uri=None, artifact_uri=None):
        super().__init__()
        self.registry = ids.registry_dir(store_uri or "regent:")
        # Experiments created in this process that have no run yet (regent
        # records an experiment with its first run).
        self._created = session.created_experiments(self.registry)

    # Experiments --------------------------------------------------------

    def _experiment_names(self):
        runs = regent(self.registry, "run", "list", what="list experiments")
        names = {r["experiment"] for r in runs} | self._created
        for run in list(session._runs.values()):
            if run.registry == self.registry:
                names.add(run.experiment)
        return sorted(names)

    def _has_runs(self, name):
        # An experiment regent has never seen is a "no" (exit 1), not [].
        return bool(exists(self.registry, "run", "list", name, "--limit", "1"))

    def create_experiment(self, name, artifact_location=None, tags=None):
        ids.check_name("experiment", name)
        if artifact_location:
            raise unsupported.refuse(
                PLUGIN,
                "create_experiment with an artifact_location",
                "artifacts go to the registry's artifact store (regent.yaml `artifacts: {root}`)",
            )
        if tags:
            raise unsupported.refuse(
                PLUGIN, "create_experiment with tags", REASONS["set_experiment_tag"]
            )
        if name in self._created:
            raise MlflowException(
                f"Experiment(name={name}) already exists.", RESOURCE_ALREADY_EXISTS
            )
        # A name that has runs already is not refused: regent's experiments
        # exist by their runs, so this is another process getting there
        # first (parallel workers calling set_experiment at once). Refusing
        # it would send this process's runs to Default: on
        # RESOURCE_ALREADY_EXISTS, MLflow's set_experiment returns without
        # making the experiment active.
        identifier = ids.experiment_id(name)
        self._created.add(name)
        return identifier

    def get_experiment(self, experiment_id):
        # Every valid name is an experiment: regent's experiments exist by
        # their runs, and one with no run yet is simply empty.
        return entities.experiment(self.registry, ids.experiment_name(experiment_id))

    def get_experiment_by_name(self, experiment_name):
        name = ids.check_name("experiment", experiment_name)
        if name in self._created or name == ids.DEFAULT_EXPERIMENT or self._has_runs(name):
            return entities.experiment(self.registry, name)
        return None

    def search_experiments(
        self,
        view_type=ViewType.ACTIVE_ONLY,
        max_results=SEARCH_MAX_RESULTS_DEFAULT,
        filter_string=None,
        order_by=None,
        page_token=None,
    ):
        if view_type == ViewType.DELETED_ONLY:
            return PagedList([], None)
        experiments = [entities.experiment(self.registry, n) for n in self._experiment_names()]
        filtered = SearchExperimentsUtils.filter(experiments, filter_string)
        ordered = SearchExperimentsUtils.sort(filtered, order_by or ["name ASC"])
        page, token = SearchExperimentsUtils.paginate(ordered, page_token, max_results)
        return PagedList(page, token)

    # Runs ---------------------------------------------------------------

    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        experiment = ids.experiment_name(experiment_id)
        tags = {t.key: t.value for t in tags or []}
        given = tags.pop(session.RUN_NAME_TAG, None)
        name = run_name or given or None
        if name is not None:
            ids.run_id(experiment, name)  # a clear error before anything is written
        note = tags.pop(session.NOTE_TAG, None)
        for key in tags:
            if key.startswith(session.RECORD_TAG_PREFIXES):
                raise MlflowException(f"tag {key!r} is regent's", INVALID_PARAMETER_VALUE)
        run = session.start(self.registry, experiment, name, tags, note)
        self._created.discard(experiment)
        return entities.run(self.registry, run.record, run)

    def _record(self, run_id):
        experiment, name = ids.split_run_id(run_id)
        record = exists(self.registry, "run", "show", f"{experiment}/{name}")
        if record is None:
            raise MlflowException(
                f"Run with id={run_id} not found (no regent run {experiment}/{name})",
                RESOURCE_DOES_NOT_EXIST,
            )
        return record

    def get_run(self, run_id):
        active = session.lookup(self.registry, run_id)
        if active is not None:
            with active.lock:
                return entities.run(self.registry, active.record, active)
        return entities.run(self.registry, self._record(run_id))

    def update_run_info(self, run_id, run_status, end_time, run_name):
        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else run_status
        active = session.writable(self.registry, run_id)
        if run_name and run_name != active.name:
            active.add_tag(session.RUN_NAME_TAG, run_name)  # refuses a rename
        if status in ("FINISHED", "FAILED", "KILLED"):
            session.end(active, entities.STATUS_TO_REGENT[status])
            return entities.run(self.registry, active.record).info
        if status != "RUNNING":
            raise unsupported.refuse(
                PLUGIN,
                f"update_run_info to {status}",
                "regent runs are running, finished, failed or killed",
            )
        active.maybe_flush()
        return entities.run(self.registry, active.record, active).info

    def log_batch(self, run_id, metrics, params, tags):
        active = session.writable(self.registry, run_id)
        with active.lock:
            # Checked whole before any of it is buffered: a bad value leaves
            # the buffer as it was.
            saved = (dict(active.params), {k: list(v) for k, v in active.metrics.items()},
                     dict(active.tags), active.note, active.oldest)
            try:
                for param in params or []:
                    active.add_param(param.key, param.value)
                for metric in metrics or []:
                    active.add_metric(metric.key, metric.value, metric.timestamp, metric.step)
                for tag in tags or []:
                    active.add_tag(tag.key, tag.value)
            except Exception:
                active.params, active.metrics, active.tags, active.note, active.oldest = saved
                raise
            active.maybe_flush()

    def get_metric_history(self, run_id, metric_key, max_results=None, page_token=None):
        from mlflow.entities import Metric

        active = session.lookup(self.registry, run_id)
        record = active.record if active is not None else self._record(run_id)
        points = full_history(self.registry, record, metric_key)
        if active is not None:
            points += [
                (step, value, stamp) for value, stamp, step in active.metrics.get(metric_key, [])
            ]
        metrics = [
            Metric(key=metric_key, value=v, timestamp=ts, step=s, run_id=run_id)
            for s, v, ts in sorted(points, key=lambda p: (p[0], p[2]))
        ]
        if max_results is not None or page_token is not None:
            page, token = SearchUtils.paginate(metrics, page_token, max_results or len(metrics) or 1)
            return PagedList(page, token)
        return PagedList(metrics, None)

    def _search_runs(
        self, experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
    ):
        if run_view_type == ViewType.DELETED_ONLY:
            return [], None
        runs = []
        for experiment_id in experiment_ids:
            experiment = ids.experiment_name(experiment_id)
            for record in exists(self.registry, "run", "list", experiment) or []:
                run_identifier = ids.run_id(record["experiment"], record["name"])
                active = session.lookup(self.registry, run_identifier)
                if active is not None:
                    with active.lock:
                        runs.append(entities.run(self.registry, active.record, active))
                else:
                    runs.append(entities.run(self.registry, record))
        filtered = SearchUtils.filter(runs, filter_string)
        ordered = SearchUtils.sort(filtered, order_by)
        return SearchUtils.paginate(ordered, page_token, max_results)

    # Logged models (MLflow 3) -------------------------------------------

    def create_logged_model(
        self,
        experiment_id,
        name=None,
        source_run_id=None,
        tags=None,
        params=None,
        model_type=None,
    ):
        if not source_run_id:
            raise unsupported.refuse(
                PLUGIN,
                "create_logged_model without a run",
                "regent keeps a logged model as a folder artifact of its run: log the model "
                "inside mlflow.start_run()",
            )
        active = session.writable(self.registry, source_run_id)
        if ids.experiment_id(active.experiment) != str(experiment_id):
            raise MlflowException(
                f"run {active.regent_id} is not in experiment {experiment_id}",
                INVALID_PARAMETER_VALUE,
            )
        name = name or "model"
        with active.lock:
            taken = active.recorded_names() | set(active.models)
            if active.has_staged():
                taken |= set(os.listdir(active.staging))
            taken |= set(entities.models_of(active.record))
            artifact = name
            number = 1
            while artifact in taken:
                number += 1
                artifact = f"{name}-{number}"
            ids.model_id(active.run_id, artifact)  # checks the name
            if artifact != name:
                import logging

                logging.getLogger(__name__).warning(
                    "run %s already has an artifact %r: this logged model %r is recorded "
                    "as its artifact %r",
                    active.regent_id,
                    name,
                    name,
                    artifact,
                )
            now = _now_ms()
            state = session.LoggedModelState(
                artifact,
                name,
                model_type,
                {p.key: p.value for p in params or []},
                {t.key: t.value for t in tags or []},
                now,
            )
            active.models[artifact] = state
            os.makedirs(os.path.join(active.staging, artifact), exist_ok=True)
            return entities.logged_model_from_state(self.registry, active, state)

    def _model(self, model_id):
        """(active run or None, state or None, run record, recorded meta or None)."""
        run_identifier, artifact = ids.split_model_id(model_id)
        active = session.lookup(self.registry, run_identifier)
        if active is not None and artifact in active.models:
            return active, active.models[artifact]
        record = active.record if active is not None else self._record(run_identifier)
        meta = entities.models_of(record).get(artifact)
        if meta is None:
            raise MlflowException(
                f"Logged model with ID '{model_id}' not found (run "
                f"{record['experiment']}/{record['name']} records no model {artifact!r})",
                RESOURCE_DOES_NOT_EXIST,
            )
        return None, (record, artifact, meta)

    def get_logged_model(self, model_id, allow_deleted=False):
        active, found = self._model(model_id)
        if active is not None:
            with active.lock:
                return entities.logged_model_from_state(self.registry, active, found)
        record, artifact, meta = found
        return entities.logged_model(self.registry, record, artifact, meta)

    def finalize_logged_model(self, model_id, status):
        from mlflow.entities import LoggedModelStatus

        active, state = self._model(model_id)
        if active is None:
            raise MlflowException(
                f"logged model {model_id} is already recorded; regent keeps it as it is",
                INVALID_PARAMETER_VALUE,
            )
        status = LoggedModelStatus(status)
        with active.lock:
            state.status = status.value if hasattr(status, "value") else str(status)
            state.updated = _now_ms()
            if state.status == "READY":
                # Stored and committed now, so register_model (in this process
                # or another) finds it while the run goes on.
                active.flush(artifacts=[state.artifact], what=f"logged model {state.name!r}")
            else:
                shutil.rmtree(os.path.join(active.staging, state.artifact), ignore_errors=True)
                active._touched()
            return entities.logged_model_from_state(self.registry, active, state)

    def set_logged_model_tags(self, model_id, tags):
        active, state = self._model(model_id)
        tags = list(tags or [])
        if active is None:
            # mlflow.register_model links the version here; regent's registry
            # already records which run and artifact each version came from.
            others = [t.key for t in tags if t.key != "mlflow.modelVersions"]
            if others:
                raise unsupported.refuse(
                    PLUGIN,
                    "set_logged_model_tags on a recorded model",
                    f"its run has recorded it, and a recorded run is kept as it is ({others})",
                )
            return
        with active.lock:
            for tag in tags:
                state.tags[tag.key] = tag.value
            state.updated = _now_ms()
            if state.recorded:
                state.recorded = False
                active._touched()

    def log_inputs(self, run_id, datasets=None, models=None):
        if models:
            raise unsupported.refuse(
                PLUGIN,
                "log_inputs of logged models",
                "a regent run records the models it logged, not the models it used",
            )
        active = session.writable(self.registry, run_id)
        with active.lock:
            for dataset_input in datasets or []:
                active.add_input(dataset_input)
            active.maybe_flush()

    def log_outputs(self, run_id, models):
        active = session.writable(self.registry, run_id)
        with active.lock:
            for output in models or []:
                owner, artifact = ids.split_model_id(output.model_id)
                state = active.models.get(artifact)
                if owner != run_id or state is None:
                    raise unsupported.refuse(
                        PLUGIN,
                        "log_outputs of another run's model",
                        "a logged model is an artifact of the run that logged it",
                    )
                state.step = int(output.step or 0)

    def search_logged_models(
        self,
        experiment_ids,
        filter_string=None,
        datasets=None,
        max_results=None,
        order_by=None,
        page_token=None,
    ):
        if datasets:
            raise unsupported.refuse(
                PLUGIN,
                "search_logged_models by datasets",
                "regent records a logged model's metrics on its run, not per dataset",
            )
        models = []
        for experiment_id in experiment_ids:
            experiment = ids.experiment_name(experiment_id)
            for record in exists(self.registry, "run", "list", experiment) or []:
                run_identifier = ids.run_id(record["experiment"], record["name"])
                active = session.lookup(self.registry, run_identifier)
                mine = set()
                if active is not None:
                    with active.lock:
                        for state in active.models.values():
                            mine.add(state.artifact)
                            models.append(
                                entities.logged_model_from_state(self.registry, active, state)
                            )
                for artifact, meta in entities.models_of(record).items():
                    if artifact not in mine:
                        models.append(entities.logged_model(self.registry, record, artifact, meta))
        filtered = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        ordered = SearchLoggedModelsUtils.sort(filtered, order_by)
        page, token = SearchLoggedModelsUtils.paginate(ordered, page_token, max_results or 100)
        return PagedList(page, token)
