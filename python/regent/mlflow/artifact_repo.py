"""MLflow's artifact repository for `regent:` artifact URIs.

A run's artifacts (`regent:<registry>/@mlflow/runs/<run id>/…`): what MLflow
logs is copied into the run's staging folder (`session.py`) and stored in
regent's artifact store when the run ends, one regent artifact per
top-level entry (a file, or a folder stored file by file with its
manifest); a logged model's folder is stored when MLflow finalizes it.
Reads merge what is staged in this process with what the run recorded:
folder listings come from the stored manifest, files from `regent artifact
get`, verified. A stored artifact is immutable: adding to it is refused.

A registered version's artifact (`…/@mlflow/versions/<model>/<n>`, what
`models:/` URIs resolve to) is read only: fetched whole and verified once
per process (`regent artifact get models:/MODEL/N`).
"""

import os
import posixpath
import shutil

from mlflow.entities import FileInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.utils.file_utils import create_tmp_dir

from . import entities, fetch, ids, session, unsupported
from .commands import exists

PLUGIN = "regent's MLflow artifact repository"

REASONS = {
    "*": "regent has no equivalent (see regent's README, From MLflow: not supported)",
    "delete_artifacts": "regent's artifact store is content-addressed and runs are kept as "
    "they are: nothing is deleted",
}

INHERITED = ("flush_async_logging", "get_local_path")


def _join(*parts):
    parts = [p for p in parts if p]
    if not parts:
        return ""
    path = posixpath.normpath(posixpath.join(*parts))
    if path in (".", ""):
        return ""
    if path.startswith("../") or path == ".." or path.startswith("/"):
        raise MlflowException(f"artifact path {path!r} leaves the artifact root", INVALID_PARAMETER_VALUE)
    return path


def _children(paths, directory):
    """Immediate children of `directory` among relative file paths: {name: is_dir}."""
    prefix = directory + "/" if directory else ""
    found = {}
    for path in paths:
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        head, _, tail = rest.partition("/")
        found[head] = found.get(head, False) or bool(tail)
    return found


@unsupported.fill_unsupported(ArtifactRepository, PLUGIN, INHERITED, REASONS)
class RegentArtifactRepository(ArtifactRepository):
    def __init__(self, artifact_uri, tracking_uri=None, registry_uri=None):
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        self.location = ids.parse_artifact_uri(artifact_uri)
        self.registry = self.location.registry
        # A logged model's folder is the run's top-level artifact of its
        # name: its repository is a view of that folder. The run's own view
        # leaves logged models out, as MLflow 3 does (runs:/<id>/<name> finds
        # them through search_logged_models, the newest first).
        if self.location.kind == "models":
            self.run_key, artifact = ids.split_model_id(self.location.key)
            self.base = _join(artifact, self.location.path)
            self.hides_models = False
        else:
            self.run_key = self.location.key
            self.base = self.location.path
            self.hides_models = True

    # Where things are ---------------------------------------------------

    def _full(self, path):
        return _join(self.base, path or "")

    def _relative(self, full):
        """A path of the run's tree as MLflow sees it from this repository's root."""
        return posixpath.relpath(full, self.base) if self.base else full

    def _run(self):
        """(this process's ActiveRun or None, the run's committed record)."""
        active = session.lookup(self.registry, self.run_key)
        if active is not None:
            return active, active.record
        experiment, name = ids.split_run_id(self.run_key)
        record = exists(self.registry, "run", "show", f"{experiment}/{name}")
        if record is None:
            raise MlflowException(
                f"no regent run {experiment}/{name} (run id {self.run_key})",
                RESOURCE_DOES_NOT_EXIST,
            )
        return None, record

    def _models(self, active, record):
        """Top-level names of the run's logged models."""
        names = set(entities.models_of(record))
        if active is not None:
            names |= set(active.models)
        return names

    def _hidden(self, active, record, full):
        return self.hides_models and full.split("/", 1)[0] in self._models(active, record)

    @staticmethod
    def _stored(record):
        """{name: recorded artifact} of a run, named as `regent artifact get` names them."""
        out = {}
        for artifact in record.get("artifacts") or []:
            name = (artifact.get("path") or artifact.get("uri") or "").rstrip("/").rsplit("/", 1)[-1]
            if name:
                out[name] = artifact
        return out

    def _regent_id(self, record):
        return f"{record['experiment']}/{record['name']}"

    # Writing ------------------------------------------------------------

    def _writable(self, relative):
        if self.location.kind == "versions":
            raise unsupported.refuse(
                PLUGIN,
                "logging to a registered version",
                "a version's artifact is fixed when it is registered",
            )
        active = session.writable(self.registry, self.run_key)
        top = relative.split("/", 1)[0]
        if not top:
            raise MlflowException("an artifact needs a name", INVALID_PARAMETER_VALUE)
        if self._hidden(active, active.record, relative):
            raise MlflowException(
                f"run {active.regent_id} has a logged model named {top!r}; log its files "
                "through the model (mlflow.log_model) or under another top-level name",
                INVALID_PARAMETER_VALUE,
            )
        if top in active.recorded_local or top in self._stored(active.record):
            raise MlflowException(
                f"run {active.regent_id} has stored its artifact {top!r} already, and a stored "
                "artifact is immutable; log under another top-level name",
                INVALID_PARAMETER_VALUE,
            )
        return active

    def log_artifact(self, local_file, artifact_path=None):
        relative = self._full(posixpath.join(artifact_path or "", os.path.basename(local_file)))
        active = self._writable(relative)
        with active.lock:
            target = os.path.join(active.staging, *relative.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(local_file, target)

    def log_artifacts(self, local_dir, artifact_path=None):
        relative = self._full(artifact_path)
        tops = [relative] if relative else sorted(os.listdir(local_dir))
        actives = [self._writable(t) for t in tops]
        if not actives:
            return
        active = actives[0]
        with active.lock:
            target = os.path.join(active.staging, *relative.split("/")) if relative else active.staging
            shutil.copytree(local_dir, target, dirs_exist_ok=True)

    # Reading ------------------------------------------------------------

    def list_artifacts(self, path=None):
        full = self._full(path)
        if self.location.kind == "versions":
            root = self._version_root()
            found = {}
            directory = os.path.join(root, *full.split("/")) if full else root
            if os.path.isdir(directory):
                found = {e: os.path.isdir(os.path.join(directory, e)) for e in os.listdir(directory)}
            return self._infos(full, found, directory)
        active, record = self._run()
        found = {}
        stored = self._stored(record)
        top, _, rest = full.partition("/")
        if self._hidden(active, record, full):
            return []
        if not full:
            for name, artifact in stored.items():
                found[name] = artifact.get("kind") == "folder"
        elif top in stored and stored[top].get("kind") == "folder":
            found = _children(self._folder_files(record, top, stored[top]), rest)
        staged = None
        if active is not None and active.has_staged():
            with active.lock:
                staged = os.path.join(active.staging, *full.split("/")) if full else active.staging
                if os.path.isdir(staged):
                    for entry in os.listdir(staged):
                        found.setdefault(entry, os.path.isdir(os.path.join(staged, entry)))
        if self.hides_models and not full:
            for name in self._models(active, record):
                found.pop(name, None)
        return self._infos(full, found, staged)

    def _infos(self, full, found, local_dir):
        infos = []
        for name, is_dir in sorted(found.items()):
            size = None
            if local_dir and not is_dir and os.path.isfile(os.path.join(local_dir, name)):
                size = os.path.getsize(os.path.join(local_dir, name))
            infos.append(FileInfo(self._relative(_join(full, name)), is_dir, size))
        return infos

    def _folder_files(self, record, name, artifact):
        if artifact.get("uri"):
            return fetch.manifest(self.registry, artifact["uri"])
        # Kept local (no store): read from the checkout, verified.
        root = self._fetch_run_artifact(record, name, artifact)
        return [
            os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
            for d, _, files in os.walk(root)
            for f in files
        ]

    def _fetch_run_artifact(self, record, name, artifact, inside=""):
        source = f"{self._regent_id(record)}:{name}" + (f"/{inside}" if inside else "")
        key = f"run {self.registry} {artifact.get('digest') or artifact.get('uri')} {name}/{inside}"
        return fetch.get(self.registry, source, key)

    def _download_file(self, remote_file_path, local_path):
        full = self._full(remote_file_path)
        if self.location.kind == "versions":
            source = os.path.join(self._version_root(), *full.split("/"))
        else:
            source = self._run_file(full)
        if not os.path.isfile(source):
            raise MlflowException(f"no artifact file {full!r} in {self.artifact_uri}", RESOURCE_DOES_NOT_EXIST)
        os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
        shutil.copyfile(source, local_path)

    def _run_file(self, full):
        active, record = self._run()
        if self._hidden(active, record, full):
            raise MlflowException(
                f"{full!r} is a logged model of run {self._regent_id(record)}: read it through "
                "the model (models:/<model id>)",
                RESOURCE_DOES_NOT_EXIST,
            )
        if active is not None and active.has_staged():
            staged = os.path.join(active.staging, *full.split("/"))
            if os.path.isfile(staged):
                return staged
        top, _, rest = full.partition("/")
        stored = self._stored(record)
        if top not in stored:
            raise MlflowException(
                f"run {self._regent_id(record)} has no artifact {full!r}", RESOURCE_DOES_NOT_EXIST
            )
        return self._fetch_run_artifact(record, top, stored[top], rest)

    def download_artifacts(self, artifact_path, dst_path=None):
        """A whole stored folder (a model) comes in one verified `regent
        artifact get`; anything else file by file (MLflow's own walk)."""
        full = self._full(artifact_path)
        if self.location.kind == "versions":
            root = self._version_root()
            source = os.path.join(root, *full.split("/")) if full else root
        else:
            active, record = self._run()
            if self._hidden(active, record, full):
                raise MlflowException(
                    f"{full!r} is a logged model of run {self._regent_id(record)}",
                    RESOURCE_DOES_NOT_EXIST,
                )
            stored = self._stored(record)
            staged = active is not None and active.has_staged() and os.path.exists(
                os.path.join(active.staging, *full.split("/")) if full else active.staging
            )
            if staged or full not in stored or stored[full].get("kind") != "folder":
                return super().download_artifacts(artifact_path, dst_path)
            source = self._fetch_run_artifact(record, full, stored[full])
        if not os.path.exists(source):
            raise MlflowException(f"no artifact {full!r} in {self.artifact_uri}", RESOURCE_DOES_NOT_EXIST)
        dst_path = os.path.abspath(dst_path or create_tmp_dir())
        dest = os.path.join(dst_path, *artifact_path.strip("/").split("/")) if artifact_path else dst_path
        if os.path.isdir(source):
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(source, dest)
        return dest

    def _version_root(self):
        """The registered version's artifact as a local folder (a file
        artifact sits in it under its recorded name)."""
        model, version = self.location.key
        key = f"version {self.registry} {model} {version}"
        fetched = fetch.get(self.registry, f"models:/{model}/{version}", key)
        if os.path.isdir(fetched):
            return fetched
        root = fetched + ".dir"
        if not os.path.isdir(root):
            shown = exists(self.registry, "show", f"{model}/{version}") or {}
            name = (shown.get("artifact") or {}).get("name") or os.path.basename(
                (shown.get("artifact") or {}).get("uri") or "artifact"
            )
            tmp = root + ".tmp"
            os.makedirs(tmp, exist_ok=True)
            shutil.copyfile(fetched, os.path.join(tmp, name))
            try:
                os.rename(tmp, root)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        return root
