"""regent from Python: log runs, read the registry, register and promote.

    import regent

    with regent.start_run("churn") as run:
        run.log_params({"lr": 0.01, "optimizer": "adam"})
        for epoch in range(10):
            run.log_metric("loss", train_one_epoch(), step=epoch)
        run.log_metric("accuracy", evaluate())
        run.log_artifact("model.pkl")

    print(regent.resolve("models:/churn@champion").artifact.uri)

The package is standard library only; every operation runs the regent
binary that came in the same wheel (see `find_regent_bin`). A failed
command raises `RegentError` with the binary's message and exit code.
"""

from ._binary import find_regent_bin
from ._lifecycle import promote, register
from ._read import ArtifactRef, Download, Resolved, artifact_get, resolve
from ._run import Run, start_run
from .errors import RegentError

__all__ = [
    "ArtifactRef",
    "Download",
    "RegentError",
    "Resolved",
    "Run",
    "artifact_get",
    "find_regent_bin",
    "promote",
    "register",
    "resolve",
    "start_run",
]
