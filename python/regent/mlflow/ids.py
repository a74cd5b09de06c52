"""MLflow's ids and URIs for regent's names, both ways, without a lookup.

regent names experiments, runs and models (`[A-Za-z0-9][A-Za-z0-9._-]*`,
at most 100 characters, no `..`); MLflow wants ids matching
`^[a-zA-Z0-9][\\w\\-]{0,63}$` (experiments) and `^[a-zA-Z0-9][\\w\\-]{0,255}$`
(runs). An id is the name itself with the two characters an id cannot
hold the same way spelled out: `_` is written `__` and `.` is written `_d`;
`_-` separates the parts of a run's or a logged model's id:

    experiment  churn             id  churn
    experiment  churn_v2.1        id  churn__v2_d1
    run         churn/adam-lr2    id  churn_-adam-lr2
    logged model `model` of that run  id  churn_-adam-lr2_-model

Every `_` in an id starts one of the three pairs, so an id reads back to
exactly one name: the mapping is stable (the same in every clone and
process) and needs no index. MLflow's default experiment, id `0`, is the
experiment `Default`. A name whose id would be too long for MLflow is
refused with the lengths, never shortened.

Artifact URIs carry the registry's folder, so an artifact repository built
from the URI alone finds it: `regent:<registry>/@mlflow/runs/<run id>/<path>`
for a run's artifacts, `regent:<registry>/@mlflow/models/<model id>/<path>`
for a logged model's (stored as the run's folder artifact named by the
model's id), `regent:<registry>/@mlflow/versions/<model>/<version>/<path>`
for a registered version's.
"""

import os
import re
from urllib.parse import unquote

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DEFAULT_EXPERIMENT = "Default"
DEFAULT_EXPERIMENT_ID = "0"
MAX_EXPERIMENT_ID = 64
MAX_RUN_ID = 256
SEPARATOR = "_-"
MARKER = "/@mlflow/"


def check_name(kind, name):
    """A regent name, else MlflowException saying the rule (nothing renamed)."""
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise MlflowException(
            f"invalid {kind} name {name!r}: regent {kind} names match "
            "[A-Za-z0-9][A-Za-z0-9._-]* (at most 100 characters, no `..`), because they "
            "become folder and Git tag names; choose a name that does",
            INVALID_PARAMETER_VALUE,
        )
    return name


def encode(name):
    return name.replace("_", "__").replace(".", "_d")


def decode(part, what):
    out = []
    i = 0
    while i < len(part):
        c = part[i]
        if c != "_":
            out.append(c)
            i += 1
            continue
        pair = part[i : i + 2]
        if pair == "__":
            out.append("_")
        elif pair == "_d":
            out.append(".")
        else:
            raise _not_ours(what, part)
        i += 2
    return "".join(out)


def _split(identifier, what):
    """The encoded parts of an id, split at each `_-` that starts a pair."""
    parts, start, i = [], 0, 0
    while i < len(identifier):
        if identifier[i] == "_":
            if identifier[i : i + 2] == SEPARATOR:
                parts.append(identifier[start:i])
                start = i + 2
            elif identifier[i : i + 2] not in ("__", "_d"):
                raise _not_ours(what, identifier)
            i += 2
        else:
            i += 1
    parts.append(identifier[start:])
    return parts


def _not_ours(what, identifier):
    return MlflowException(
        f"{identifier!r} is not a regent {what} id (see regent's README, From MLflow: ids)",
        RESOURCE_DOES_NOT_EXIST,
    )


def experiment_id(name):
    if name == DEFAULT_EXPERIMENT:
        return DEFAULT_EXPERIMENT_ID
    check_name("experiment", name)
    if name == DEFAULT_EXPERIMENT_ID:
        raise MlflowException(
            "the experiment name '0' cannot be used from MLflow: 0 is MLflow's id of its "
            "Default experiment",
            INVALID_PARAMETER_VALUE,
        )
    encoded = encode(name)
    if len(encoded) > MAX_EXPERIMENT_ID:
        raise MlflowException(
            f"experiment name {name!r} is too long for MLflow: its id would be "
            f"{len(encoded)} characters and MLflow's experiment ids hold at most "
            f"{MAX_EXPERIMENT_ID} (`_` and `.` count twice); choose a shorter name",
            INVALID_PARAMETER_VALUE,
        )
    return encoded


def experiment_name(identifier):
    identifier = str(identifier)
    if identifier == DEFAULT_EXPERIMENT_ID:
        return DEFAULT_EXPERIMENT
    parts = _split(identifier, "experiment")
    if len(parts) != 1 or not parts[0]:
        raise _not_ours("experiment", identifier)
    name = decode(parts[0], "experiment")
    if not NAME.match(name) or ".." in name:
        raise _not_ours("experiment", identifier)
    return name


def run_id(experiment, run):
    check_name("run", run)
    identifier = experiment_id(experiment) + SEPARATOR + encode(run)
    if len(identifier) > MAX_RUN_ID:
        raise MlflowException(
            f"run name {run!r} is too long for MLflow: the id of {experiment}/{run} would be "
            f"{len(identifier)} characters and MLflow's run ids hold at most {MAX_RUN_ID}",
            INVALID_PARAMETER_VALUE,
        )
    return identifier


def split_run_id(identifier):
    """(experiment, run) of a run id."""
    parts = _split(str(identifier), "run")
    if len(parts) != 2 or not all(parts):
        raise _not_ours("run", identifier)
    run = decode(parts[1], "run")
    if not NAME.match(run) or ".." in run:
        raise _not_ours("run", identifier)
    return experiment_name(parts[0]), run


def model_id(run_identifier, artifact):
    check_name("logged model", artifact)
    return run_identifier + SEPARATOR + encode(artifact)


def split_model_id(identifier):
    """(run id, artifact name) of a logged model's id."""
    parts = _split(str(identifier), "logged model")
    if len(parts) != 3 or not all(parts):
        raise _not_ours("logged model", identifier)
    run_identifier = SEPARATOR.join(parts[:2])
    split_run_id(run_identifier)
    artifact = decode(parts[2], "logged model")
    if not NAME.match(artifact) or ".." in artifact:
        raise _not_ours("logged model", identifier)
    return run_identifier, artifact


# URIs ---------------------------------------------------------------------


def registry_dir(store_uri):
    """The registry folder of a `regent:` URI: `regent:` is the current folder,
    `regent:/abs` and `regent:rel` a folder; like the binary, the registry is
    the nearest folder at or above it that holds regent.yaml."""
    if not store_uri.startswith("regent:"):
        raise MlflowException(f"{store_uri!r} is not a regent: URI", INVALID_PARAMETER_VALUE)
    rest = store_uri[len("regent:") :]
    if rest.startswith("//"):
        # regent:///abs (urlunparse's spelling) and regent://host/… (refused).
        if not rest.startswith("///"):
            raise MlflowException(
                f"{store_uri!r}: regent: URIs name a local folder (regent:/path or regent:), "
                "not a host",
                INVALID_PARAMETER_VALUE,
            )
        rest = rest[2:]
    start = os.path.abspath(unquote(rest) or os.curdir)
    here = start
    while True:
        if os.path.isfile(os.path.join(here, "regent.yaml")):
            break
        parent = os.path.dirname(here)
        if parent == here:
            raise MlflowException(
                f"no regent registry at or above {start} (no regent.yaml): run `regent init` "
                f"there, or point MLFLOW_TRACKING_URI at a registry (regent:/path/to/registry)",
                INVALID_PARAMETER_VALUE,
            )
        here = parent
    if MARKER.rstrip("/") + "/" in here + "/":
        raise MlflowException(
            f"the registry's path {here} has a folder named @mlflow, which regent's artifact "
            "URIs use to mark where the registry ends; move the registry",
            INVALID_PARAMETER_VALUE,
        )
    return here


def run_artifact_uri(registry, run_identifier, path=""):
    uri = f"regent:{registry}{MARKER}runs/{run_identifier}"
    return f"{uri}/{path}" if path else uri


def model_artifact_uri(registry, model_identifier, path=""):
    uri = f"regent:{registry}{MARKER}models/{model_identifier}"
    return f"{uri}/{path}" if path else uri


def version_artifact_uri(registry, model, version):
    return f"regent:{registry}{MARKER}versions/{model}/{version}"


def experiment_artifact_uri(registry, experiment_identifier):
    return f"regent:{registry}{MARKER}experiments/{experiment_identifier}"


class ArtifactLocation:
    """A parsed artifact URI: the registry, what it belongs to, a path inside."""

    def __init__(self, registry, kind, key, path):
        self.registry = registry
        self.kind = kind  # "runs", "models" or "versions"
        self.key = key  # a run id, a logged model id, or (model, version)
        self.path = path  # "" or a/b inside


def parse_artifact_uri(uri):
    text = uri[len("regent:") :] if uri.startswith("regent:") else None
    if text is not None and text.startswith("//"):
        text = text[2:]
    at = text.find(MARKER) if text else -1
    if at <= 0:
        raise MlflowException(
            f"{uri!r} is not a regent artifact URI "
            "(regent:<registry>/@mlflow/runs/<run id>/… or …/@mlflow/versions/<model>/<n>/…)",
            INVALID_PARAMETER_VALUE,
        )
    registry = unquote(text[:at])
    parts = [p for p in unquote(text[at + len(MARKER) :]).split("/") if p not in ("", ".")]
    if ".." in parts:
        raise MlflowException(f"{uri!r}: `..` is not allowed in an artifact path")
    if len(parts) >= 2 and parts[0] == "runs":
        split_run_id(parts[1])
        return ArtifactLocation(registry, "runs", parts[1], "/".join(parts[2:]))
    if len(parts) >= 2 and parts[0] == "models":
        split_model_id(parts[1])
        return ArtifactLocation(registry, "models", parts[1], "/".join(parts[2:]))
    if len(parts) >= 3 and parts[0] == "versions" and parts[2].isdigit():
        check_name("model", parts[1])
        return ArtifactLocation(
            registry, "versions", (parts[1], int(parts[2])), "/".join(parts[3:])
        )
    raise MlflowException(
        f"{uri!r} names no run's, logged model's or version's artifacts: regent keeps "
        "artifacts per run (…/@mlflow/runs/<run id>), logged model (…/@mlflow/models/<id>) "
        "and registered version (…/@mlflow/versions/<model>/<n>)",
        INVALID_PARAMETER_VALUE,
    )
