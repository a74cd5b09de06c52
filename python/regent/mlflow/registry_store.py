"""MLflow's model registry store for `regent:` URIs.

A registered model is regent's model of the same name, a version is
`regent register` (from the run's stored artifact: `--run-artifact`),
aliases are `regent alias set|rm`, stage transitions are `regent promote`,
`demote` and `archive` (see `stages.py`), tags and descriptions `regent tag`
and `regent describe`. Each is one commit, judged by regent's policy: a
refusal raises an MlflowException carrying regent's reasons. A model
created with no version yet exists in this process only (regent records a
model with its first version). Deleting and renaming are not supported:
the registry's history is the audit trail.
"""

import threading

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
)
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils

from . import ids, session, unsupported, versions
from . import stages as stage_names
from .commands import exists, regent

PLUGIN = "regent's MLflow model registry store"

REASONS = {
    "*": "regent has no equivalent (see regent's README, From MLflow: not supported)",
    "rename_registered_model": "a model's name is its folder and its Git tags",
    "delete_registered_model": "regent keeps every model; history is the audit trail "
    "(`regent archive` retires a version)",
    "delete_model_version": "regent keeps every version; `regent archive MODEL VERSION` retires one",
    "copy_model_version": "register the run's artifact again (mlflow.register_model)",
}

INHERITED = ()

_pending_lock = threading.Lock()
_pending = {}


def _mlflow_stage(stage):
    """An MLflow stage name as a version's current_stage spells it."""
    target = stage_names.to_regent(stage)
    if target is None:
        return stage_names.NONE
    if target == stage_names.ARCHIVED:
        return stage_names.ARCHIVED
    return stage_names.to_mlflow([target], "active")


def _pending_models(registry):
    with _pending_lock:
        return _pending.setdefault(registry, {})


@unsupported.fill_unsupported(AbstractStore, PLUGIN, INHERITED, REASONS)
class RegentRegistryStore(AbstractStore):
    def __init__(self, store_uri=None, tracking_uri=None):
        super().__init__(store_uri, tracking_uri)
        self.registry = ids.registry_dir(store_uri or "regent:")

    # Reading ------------------------------------------------------------

    def _shown(self, name):
        ids.check_name("model", name)
        return exists(self.registry, "show", name)

    def _version(self, name, version):
        ids.check_name("model", name)
        number = self._number(version)
        shown = exists(self.registry, "show", f"{name}/{number}")
        if shown is None:
            raise MlflowException(
                f"Model Version (name={name}, version={number}) not found", RESOURCE_DOES_NOT_EXIST
            )
        return versions.model_version(self.registry, name, shown)

    @staticmethod
    def _number(version):
        try:
            number = int(str(version))
        except ValueError:
            number = 0
        if number < 1:
            raise MlflowException(
                f"{version!r} is not a version number", INVALID_PARAMETER_VALUE
            )
        return number

    def get_registered_model(self, name):
        shown = self._shown(name)
        if shown is None:
            pending = _pending_models(self.registry).get(name)
            if pending is None:
                raise MlflowException(
                    f"Registered Model with name={name} not found", RESOURCE_DOES_NOT_EXIST
                )
            return versions.empty_model(name, *pending)
        return versions.registered_model(self.registry, shown)

    def get_model_version(self, name, version):
        return self._version(name, version)

    def get_model_version_download_uri(self, name, version):
        return self._version(name, version).source

    def get_latest_versions(self, name, stages=None):
        model = self.get_registered_model(name)
        shown = self._shown(name) or {"versions": []}
        latest = {}
        for entry in shown.get("versions") or []:
            version = versions.model_version(self.registry, model.name, entry)
            held = latest.get(version.current_stage)
            if held is None or int(version.version) > int(held.version):
                latest[version.current_stage] = version
        if stages:
            wanted = {_mlflow_stage(s) for s in stages}
            return [v for s, v in sorted(latest.items()) if s in wanted]
        return [v for _, v in sorted(latest.items())]

    def get_model_version_by_alias(self, name, alias):
        shown = self._shown(name)
        version = ((shown or {}).get("aliases") or {}).get(alias)
        if version is None:
            raise MlflowException(
                f"Registered model alias {alias} not found on model {name}",
                RESOURCE_DOES_NOT_EXIST,
            )
        return self._version(name, version)

    def search_registered_models(
        self,
        filter_string=None,
        max_results=SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by=None,
        page_token=None,
    ):
        shown = regent(self.registry, "show", what="search_registered_models") or []
        models = [versions.registered_model(self.registry, m) for m in shown]
        known = {m.name for m in models}
        models += [
            versions.empty_model(name, *pending)
            for name, pending in sorted(_pending_models(self.registry).items())
            if name not in known
        ]
        filtered = SearchModelUtils.filter(models, filter_string)
        ordered = SearchModelUtils.sort(filtered, order_by)
        page, token = SearchModelUtils.paginate(ordered, page_token, max_results)
        return PagedList(page, token)

    def search_model_versions(
        self,
        filter_string=None,
        max_results=SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by=None,
        page_token=None,
    ):
        shown = regent(self.registry, "show", what="search_model_versions") or []
        found = [
            versions.model_version(self.registry, m["name"], v)
            for m in shown
            for v in m.get("versions") or []
        ]
        filtered = SearchModelVersionUtils.filter(found, filter_string)
        ordered = SearchModelVersionUtils.sort(
            filtered, order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]
        )
        page, token = SearchModelVersionUtils.paginate(ordered, page_token, max_results)
        return PagedList(page, token)

    # Models -------------------------------------------------------------

    def create_registered_model(self, name, tags=None, description=None, deployment_job_id=None):
        ids.check_name("model", name)
        if deployment_job_id:
            raise unsupported.refuse(PLUGIN, "deployment jobs", "a Databricks feature")
        pending = _pending_models(self.registry)
        if name in pending or self._shown(name) is not None:
            raise MlflowException(
                f"Registered Model (name={name}) already exists.", RESOURCE_ALREADY_EXISTS
            )
        pending[name] = (description, {t.key: t.value for t in tags or []})
        return versions.empty_model(name, *pending[name])

    def update_registered_model(self, name, description, deployment_job_id=None):
        if deployment_job_id:
            raise unsupported.refuse(PLUGIN, "deployment jobs", "a Databricks feature")
        pending = _pending_models(self.registry).get(name)
        if pending is not None and self._shown(name) is None:
            _pending_models(self.registry)[name] = (description, pending[1])
        else:
            regent(self.registry, "describe", name, "--", description or "", what=f"describe {name}")
        return self.get_registered_model(name)

    def set_registered_model_tag(self, name, tag):
        pending = _pending_models(self.registry).get(name)
        if pending is not None and self._shown(name) is None:
            pending[1][tag.key] = tag.value
            return
        regent(self.registry, "tag", name, "--", f"{tag.key}={tag.value}", what=f"tag {name}")

    def delete_registered_model_tag(self, name, key):
        pending = _pending_models(self.registry).get(name)
        if pending is not None and self._shown(name) is None:
            pending[1].pop(key, None)
            return
        regent(self.registry, "tag", name, f"--rm={key}", what=f"tag {name}")

    # Versions -----------------------------------------------------------

    def _artifact_args(self, source, run_id, model_id, local_model_path):
        """How `regent register` gets the version's artifact."""
        run_artifact = None
        if model_id:
            run_artifact = ids.split_model_id(model_id)
        elif source and source.startswith("regent:"):
            location = ids.parse_artifact_uri(source)
            if location.kind == "models" and not location.path:
                return self._artifact_args(None, run_id, location.key, None)
            if location.kind != "runs" or not location.path or "/" in location.path:
                raise unsupported.refuse(
                    PLUGIN,
                    f"registering {source}",
                    "a version is registered from a run's whole artifact "
                    "(runs:/<run id>/<name>) or a logged model (models:/<model id>)",
                )
            run_artifact = (location.key, location.path)
        elif source and source.startswith("models:/"):
            model_ref = source[len("models:/") :].strip("/")
            run_artifact = ids.split_model_id(model_ref)
        if run_artifact is not None:
            run_identifier, name = run_artifact
            if run_id and run_id != run_identifier:
                raise MlflowException(
                    f"source {source} is not an artifact of run {run_id}", INVALID_PARAMETER_VALUE
                )
            active = session.lookup(self.registry, run_identifier)
            if active is not None and name in active.unrecorded_entries():
                # Logged into the run's tree in this process, not stored yet.
                active.flush(artifacts=[name], what=f"artifact {name!r} for registration")
            experiment, run = ids.split_run_id(run_identifier)
            return ["--run", f"{experiment}/{run}", "--run-artifact", name]
        args = [f"--artifact={local_model_path or source}"]
        if run_id:
            experiment, run = ids.split_run_id(run_id)
            args += ["--run", f"{experiment}/{run}"]
        return args

    def create_model_version(
        self,
        name,
        source,
        run_id=None,
        tags=None,
        run_link=None,
        description=None,
        local_model_path=None,
        model_id=None,
    ):
        ids.check_name("model", name)
        args = ["register", name, *self._artifact_args(source, run_id, model_id, local_model_path)]
        if description:
            args.append(f"--description={description}")
        for tag in tags or []:
            args.append(f"--tag={tag.key}={tag.value}")
        done = regent(self.registry, *args, what=f"register {name}")
        number = done["event"]["version"]
        pending = _pending_models(self.registry).pop(name, None)
        if pending is not None:
            description, model_tags = pending
            if description:
                regent(self.registry, "describe", name, "--", description, what=f"describe {name}")
            if model_tags:
                regent(
                    self.registry,
                    "tag",
                    name,
                    "--",
                    *[f"{k}={v}" for k, v in sorted(model_tags.items())],
                    what=f"tag {name}",
                )
        return self._version(name, number)

    def update_model_version(self, name, version, description):
        number = self._number(version)
        regent(self.registry, "describe", f"{name}/{number}", "--", description or "",
               what=f"describe {name} v{number}")
        return self._version(name, number)

    def set_model_version_tag(self, name, version, tag):
        number = self._number(version)
        regent(self.registry, "tag", f"{name}/{number}", "--", f"{tag.key}={tag.value}",
               what=f"tag {name} v{number}")

    def delete_model_version_tag(self, name, version, key):
        number = self._number(version)
        regent(self.registry, "tag", f"{name}/{number}", f"--rm={key}",
               what=f"tag {name} v{number}")

    def set_registered_model_alias(self, name, alias, version):
        number = self._number(version)
        regent(self.registry, "alias", "set", name, alias, str(number),
               what=f"set alias {alias} of {name}")

    def delete_registered_model_alias(self, name, alias):
        regent(self.registry, "alias", "rm", name, alias, what=f"remove alias {alias} of {name}")

    def transition_model_version_stage(self, name, version, stage, archive_existing_versions=False):
        number = self._number(version)
        if archive_existing_versions:
            raise unsupported.refuse(
                PLUGIN,
                "archive_existing_versions=True",
                "a regent stage holds one version, so the version that held it leaves it; "
                "archiving is final in regent and is its own step (stage 'Archived')",
            )
        target = stage_names.to_regent(stage)
        what = f"transition {name} v{number} to {stage}"
        if target == stage_names.ARCHIVED:
            regent(self.registry, "archive", name, str(number), what=what)
        elif target is None:
            current = self._shown(name) or {}
            for held, holder in sorted((current.get("stages") or {}).items()):
                if holder == number:
                    regent(self.registry, "demote", name, "--from", held, what=what)
        else:
            regent(self.registry, "promote", name, str(number), "--to", target, what=what)
        return self._version(name, number)
