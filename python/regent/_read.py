"""Reading the registry from Python: `resolve` and `artifact_get`.

Each is one call to the binary with `--json`, its answer returned as a
frozen dataclass whose fields are the JSON's (README, "JSON output").
"""

import dataclasses
import os
from typing import Optional

from . import _checks, _cli


@dataclasses.dataclass(frozen=True)
class ArtifactRef:
    """Where a version's artifact is: its URI and digest (`sha256:…`, or
    None for an artifact registered without one)."""

    uri: str
    digest: Optional[str]


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a model URI names (the fields of `regent resolve --json`).

    `stage` or `alias` is None unless the URI named one; `commit` is the
    registry commit it was read at; `path` the downloaded artifact, None
    without `download=`.
    """

    model: str
    version: int
    stage: Optional[str]
    alias: Optional[str]
    artifact: ArtifactRef
    commit: str
    path: Optional[str]


@dataclasses.dataclass(frozen=True)
class Download:
    """What `artifact_get` fetched (the fields of `regent artifact get
    --json`): the source as given, the store URI read, the local path, and
    how many files and bytes (every one verified against its digest)."""

    source: str
    uri: str
    path: str
    files: int
    size: int


def resolve(uri, *, registry=None, rev=None, at=None, download=None, verify=True):
    """Resolves a model URI (`models:/churn/3`, `models:/churn/production`,
    `models:/churn/latest`, `models:/churn@champion`) and returns a
    `Resolved`. `rev` or `at` (RFC 3339, a date, `3 days ago`) resolve in
    the past; `download=DIR` also fetches the artifact into DIR/NAME,
    verified (`verify=False`: accept one recorded without a digest).
    A URI that names nothing raises RegentError (exit code 1)."""
    if not isinstance(uri, str):
        raise TypeError(f"uri must be a str, not {type(uri).__name__}")
    if not uri.startswith("models:/"):
        raise ValueError(
            f"{uri!r} is not a model URI: models:/MODEL/VERSION, models:/MODEL/STAGE, "
            "models:/MODEL/latest or models:/MODEL@ALIAS"
        )
    if rev is not None and at is not None:
        raise ValueError("give rev or at, not both")
    args = _registry_args(registry) + ["resolve", uri]
    args += _optional("--rev", rev) + _optional("--at", at)
    if download is not None:
        args += ["--download", os.path.abspath(_checks.path("download", download))]
    if not verify:
        if download is None:
            raise ValueError("verify=False only applies with download=")
        args.append("--no-verify")
    found = _cli.run(args)
    return Resolved(
        model=found["model"],
        version=found["version"],
        stage=found["stage"],
        alias=found["alias"],
        artifact=ArtifactRef(uri=found["artifact"]["uri"], digest=found["artifact"].get("digest")),
        commit=found["commit"],
        path=found["path"],
    )


def artifact_get(source, dest, *, registry=None, rev=None, folder=False, verify=True):
    """Downloads an artifact to `dest` (which must not exist), verifying
    every digest, and returns a `Download`. `source` is a store URI
    (`folder=True` when it names a folder's manifest), a model URI
    (`models:/churn@champion`), or `EXPERIMENT/RUN[:NAME[/PATH]]`, a run's
    artifact by name (a `Run` is taken as its id). Nothing is left at
    `dest` when a digest does not match (RegentError, exit code 1)."""
    if hasattr(source, "id") and hasattr(source, "experiment"):
        source = source.id
    if not isinstance(source, str) or not source:
        raise TypeError(f"source must be a non-empty str, not {source!r}")
    dest = os.path.abspath(_checks.path("dest", dest))
    if os.path.lexists(dest):
        raise FileExistsError(f"artifact_get: {dest!r} exists; the destination must not")
    args = _registry_args(registry) + ["artifact", "get", source, dest]
    args += _optional("--rev", rev)
    if folder:
        args.append("--folder")
    if not verify:
        args.append("--no-verify")
    got = _cli.run(args)
    return Download(
        source=got["source"], uri=got["uri"], path=got["path"], files=got["files"], size=got["size"]
    )


def _registry_args(registry):
    """`-C DIR` for the registry folder (default: the current folder)."""
    if registry is None:
        return []
    return ["-C", os.path.abspath(_checks.path("registry", registry))]


def _optional(flag, value):
    if value is None:
        return []
    if not isinstance(value, str) or not value:
        raise TypeError(f"{flag.lstrip('-')} must be a non-empty str, not {value!r}")
    return [flag, value]
