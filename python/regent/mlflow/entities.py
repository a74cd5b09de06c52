"""regent's records (the JSON of `run show`, `run list`, `show`) as MLflow's
entities: experiments, runs, logged models.

A run's MLflow tags are regent's run tags, plus `mlflow.runName` (the run's
name) and `mlflow.note.content` (its note); the tags that record logged
models (`mlflow.loggedModel.<name>`) become LoggedModel entities and the
run's outputs instead. Registered models and versions are in `versions.py`.
"""

import json

from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)

from . import ids
from .session import (
    INPUT_TAG_PREFIX,
    MODEL_TAG_PREFIX,
    NOTE_TAG,
    RECORD_TAG_PREFIXES,
    RUN_NAME_TAG,
)
from .times import rfc3339_to_ms

STATUS_TO_MLFLOW = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "killed": "KILLED",
}
STATUS_TO_REGENT = {v: k for k, v in STATUS_TO_MLFLOW.items()}


def experiment(registry, name):
    identifier = ids.experiment_id(name)
    return Experiment(
        experiment_id=identifier,
        name=name,
        artifact_location=ids.experiment_artifact_uri(registry, identifier),
        lifecycle_stage=LifecycleStage.ACTIVE,
        tags=[],
    )


def latest_points(record):
    """The latest point of each metric: (value, timestamp ms, step)."""
    start = rfc3339_to_ms(record.get("start_time")) or 0
    ended = rfc3339_to_ms(record.get("end_time")) or start
    latest = {}
    history = record.get("history") or {}
    for key, value in (record.get("metrics") or {}).items():
        points = history.get(key) or []
        if points:
            last = max(points, key=lambda p: int(p.get("step", 0)))
            stamp = rfc3339_to_ms(last.get("timestamp")) or ended
            latest[key] = (float(value), stamp, int(last.get("step", 0)))
        else:
            latest[key] = (float(value), ended, 0)
    return latest


def models_of(record):
    """{artifact name: what the run recorded about its logged model}."""
    models = {}
    for key, value in (record.get("tags") or {}).items():
        if key.startswith(MODEL_TAG_PREFIX):
            try:
                models[key[len(MODEL_TAG_PREFIX) :]] = json.loads(value)
            except ValueError:
                continue
    return models


def run(registry, record, active=None):
    """An MLflow Run from a regent run record, with this process's buffer
    (an `session.ActiveRun`) on top when there is one."""
    experiment_name, name = record["experiment"], record["name"]
    run_identifier = ids.run_id(experiment_name, name)
    latest = latest_points(record)
    params = dict(record.get("params") or {})
    recorded_tags = dict(record.get("tags") or {})
    tags = {k: v for k, v in recorded_tags.items() if not k.startswith(RECORD_TAG_PREFIXES)}
    note = record.get("note")
    models = {a: (m.get("name"), int(m.get("step", 0))) for a, m in models_of(record).items()}
    if active is not None:
        params.update(active.params)
        tags.update(active.tags)
        recorded_tags.update(active.inputs)
        if active.note is not None:
            note = active.note
        for key, points in active.metrics.items():
            value, stamp, step = max(points, key=lambda p: (p[2], p[1]))
            old = latest.get(key)
            if old is None or (step, stamp) >= (old[2], old[1]):
                latest[key] = (value, stamp, step)
        for model in active.models.values():
            models[model.artifact] = (model.name, model.step)
    tags[RUN_NAME_TAG] = name
    tags.setdefault("mlflow.user", record.get("user") or "")
    if note is not None:
        tags[NOTE_TAG] = note
    info = RunInfo(
        run_id=run_identifier,
        experiment_id=ids.experiment_id(experiment_name),
        user_id=record.get("user") or "",
        status=STATUS_TO_MLFLOW.get(record.get("status"), "RUNNING"),
        start_time=rfc3339_to_ms(record.get("start_time")),
        end_time=rfc3339_to_ms(record.get("end_time")),
        lifecycle_stage=LifecycleStage.ACTIVE,
        artifact_uri=ids.run_artifact_uri(registry, run_identifier),
        run_name=name,
    )
    data = RunData(
        metrics=[
            Metric(key=k, value=v, timestamp=ts, step=step, run_id=run_identifier)
            for k, (v, ts, step) in sorted(latest.items())
        ],
        params=[Param(k, v) for k, v in sorted(params.items())],
        tags=[RunTag(k, v) for k, v in sorted(tags.items())],
    )
    outputs = RunOutputs(
        [
            LoggedModelOutput(model_id=ids.model_id(run_identifier, artifact), step=step)
            for artifact, (_, step) in sorted(models.items())
        ]
    )
    return Run(run_info=info, run_data=data, run_inputs=inputs(recorded_tags), run_outputs=outputs)


def inputs(tags):
    """The run's dataset inputs, from the tags `session.ActiveRun.add_input` writes."""
    found = []
    for key, value in sorted(tags.items()):
        if not key.startswith(INPUT_TAG_PREFIX):
            continue
        try:
            meta = json.loads(value)
        except ValueError:
            continue
        found.append(
            DatasetInput(
                dataset=Dataset(
                    name=meta.get("name") or "",
                    digest=meta.get("digest") or "",
                    source_type=meta.get("source_type") or "",
                    source=meta.get("source") or "",
                    schema=meta.get("schema"),
                    profile=meta.get("profile"),
                ),
                tags=[InputTag(k, v) for k, v in sorted((meta.get("tags") or {}).items())],
            )
        )
    return RunInputs(dataset_inputs=found)


def logged_model(registry, run_record, artifact, meta):
    """A LoggedModel from what a run recorded about it (see session.LoggedModelState)."""
    run_identifier = ids.run_id(run_record["experiment"], run_record["name"])
    created = int(meta.get("created") or rfc3339_to_ms(run_record.get("start_time")) or 0)
    return LoggedModel(
        experiment_id=ids.experiment_id(run_record["experiment"]),
        model_id=ids.model_id(run_identifier, artifact),
        name=meta.get("name") or artifact,
        artifact_location=ids.model_artifact_uri(registry, ids.model_id(run_identifier, artifact)),
        creation_timestamp=created,
        last_updated_timestamp=int(meta.get("updated") or created),
        model_type=meta.get("type"),
        source_run_id=run_identifier,
        status=LoggedModelStatus(meta.get("status") or "READY"),
        tags=dict(meta.get("tags") or {}),
        params=dict(meta.get("params") or {}),
    )


def logged_model_from_state(registry, active, state):
    return logged_model(
        registry,
        active.record,
        state.artifact,
        {
            "name": state.name,
            "status": state.status,
            "created": state.created,
            "updated": state.updated,
            "type": state.model_type,
            "params": state.params,
            "tags": state.tags,
        },
    )
