"""regent's models and versions (the JSON of `regent show`) as MLflow's
RegisteredModel and ModelVersion entities."""

from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)

from . import ids, stages
from .times import rfc3339_to_ms


def _run_id(version):
    run = version.get("run")
    if not run or "/" not in run:
        return None
    experiment, name = run.split("/", 1)
    try:
        return ids.run_id(experiment, name)
    except Exception:  # a name MLflow cannot spell as an id: no run link
        return None


def model_version(registry, model, version):
    """`version` is one entry of `regent show MODEL --json`'s versions (or
    `show MODEL/N --json`)."""
    number = int(version["version"])
    run_identifier = _run_id(version)
    artifact = version.get("artifact") or {}
    model_id = None
    if run_identifier and artifact.get("name") and artifact.get("kind") == "folder":
        try:
            model_id = ids.model_id(run_identifier, artifact["name"])
        except Exception:
            model_id = None
    created = rfc3339_to_ms(version.get("created_at"))
    return ModelVersion(
        name=model,
        # An int, as MLflow's own SQL store gives it (scripts compare and format it).
        version=number,
        creation_timestamp=created,
        last_updated_timestamp=created,
        description=version.get("description"),
        user_id=version.get("created_by"),
        current_stage=stages.to_mlflow(version.get("stages"), version.get("status")),
        source=ids.version_artifact_uri(registry, model, number),
        run_id=run_identifier,
        status="READY",
        tags=[ModelVersionTag(k, v) for k, v in sorted((version.get("tags") or {}).items())],
        aliases=sorted(version.get("aliases") or []),
        model_id=model_id,
    )


def registered_model(registry, shown):
    """`shown` is `regent show MODEL --json`."""
    name = shown["name"]
    versions = [model_version(registry, name, v) for v in shown.get("versions") or []]
    latest = {}
    for v in versions:
        if v.current_stage == stages.ARCHIVED:
            continue
        held = latest.get(v.current_stage)
        if held is None or int(v.version) > int(held.version):
            latest[v.current_stage] = v
    created = [v.creation_timestamp for v in versions if v.creation_timestamp is not None]
    return RegisteredModel(
        name=name,
        creation_timestamp=min(created) if created else None,
        last_updated_timestamp=max(created) if created else None,
        description=shown.get("description"),
        latest_versions=sorted(latest.values(), key=lambda v: int(v.version)),
        tags=[RegisteredModelTag(k, v) for k, v in sorted((shown.get("tags") or {}).items())],
        aliases=[
            RegisteredModelAlias(alias, str(version))
            for alias, version in sorted((shown.get("aliases") or {}).items())
        ],
    )


def empty_model(name, description, tags):
    """A model created in this process that has no version yet."""
    return RegisteredModel(
        name=name,
        description=description,
        latest_versions=[],
        tags=[RegisteredModelTag(k, v) for k, v in sorted((tags or {}).items())],
        aliases=[],
    )
