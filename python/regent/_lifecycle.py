"""Registering and promoting from Python: thin wrappers over the binary's
`--json` output. Each returns the parsed JSON (README, "JSON output"); a
refusal raises RegentError with the binary's reasons, and its `decision`
holds the JSON of the refusal when the binary printed one (the checks).
"""

import os

from . import _checks, _cli
from ._read import _optional, _registry_args


def register(
    model,
    artifact,
    *,
    run=None,
    digest=None,
    description=None,
    tags=None,
    keep_local=False,
    registry=None,
    push=False,
    message=None,
):
    """Registers a new version of `model` (numbered highest + 1) and returns
    `{"event", "commit", "tags", "pushed", "checks"}`; `event["version"]` is
    its number. `artifact` is a local file or folder (stored in the artifact
    store) or a URI; `run` the run it came from (`"experiment/run"` or a
    `Run`), whose metrics and params are frozen into the version."""
    _checks.name("model", model)
    artifact = _checks.path("artifact", artifact)
    if not _checks.is_uri(artifact):
        # The binary runs in the registry's folder; the path is the caller's.
        artifact = os.path.abspath(artifact)
        if not os.path.exists(artifact):
            raise FileNotFoundError(f"register: no such file or folder {artifact!r}")
    args = _registry_args(registry) + ["register", model, "--artifact", artifact]
    if run is not None:
        run_id = run.id if hasattr(run, "id") and hasattr(run, "experiment") else run
        if not isinstance(run_id, str) or "/" not in run_id:
            raise ValueError(f"run must be a Run or 'EXPERIMENT/RUN', not {run!r}")
        experiment, name = run_id.split("/", 1)
        _checks.name("experiment", experiment)
        _checks.name("run", name)
        args += ["--run", run_id]
    args += _optional("--digest", digest) + _optional("--description", description)
    for key, value in _checks.mapping("tags", tags or {}):
        args += ["--tag", f"{_checks.key('tag', key)}={_checks.text('tag', value)}"]
    if keep_local:
        args.append("--keep-local")
    return _cli.run(args + _commit_args(push, message))


def promote(model, version, stage, *, pr=False, base=None, registry=None, push=False, message=None):
    """Moves version `version` of `model` into `stage` if the stage's policy
    allows it, and returns `{"event", "commit", "tags", "pushed",
    "checks"}`. With `pr=True` it opens (or updates) a pull request instead
    (GITHUB_TOKEN; `base`: the branch it targets) and returns `{"number",
    "url", "branch", "created", "commit"}`. A refusal raises RegentError
    (exit code 1) whose message lists the failed checks."""
    _checks.name("model", model)
    version = _checks.version(version)
    _checks.stage("stage", stage)
    args = _registry_args(registry) + ["promote", model, str(version), "--to", stage]
    if pr:
        args.append("--pr")
        args += _optional("--base", base)
    elif base is not None:
        raise ValueError("base= is the pull request's base branch; it needs pr=True")
    return _cli.run(args + _commit_args(push, message))


def _commit_args(push, message):
    args = []
    if push:
        args.append("--push")
    return args + _optional("--message", message)
