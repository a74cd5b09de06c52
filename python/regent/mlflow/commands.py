"""The regent commands the plugins run, with regent's failures as MLflow's.

Every call goes through `regent._cli.run` in the registry's folder. A
refusal (exit 1: a policy, a missing run or model, an immutable run)
becomes an MlflowException carrying regent's whole message, its reasons
included; a usage or environment problem (exit 2) the same with
INVALID_PARAMETER_VALUE.
"""

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)

from .. import _cli
from ..errors import RegentError


class RegentRefused(MlflowException):
    """regent said no (exit 1); `regent_error` is the RegentError with its exit
    code and the JSON it printed."""

    def __init__(self, message, error_code, regent_error):
        super().__init__(message, error_code)
        self.regent_error = regent_error

    def __reduce__(self):
        # Picklable, so that it crosses process boundaries (joblib workers)
        # as itself: MlflowException keeps the code's name, the constructor
        # takes its number.
        from mlflow.protos.databricks_pb2 import ErrorCode

        return (RegentRefused, (self.message, ErrorCode.Value(self.error_code), self.regent_error))


def _code_for(error):
    text = error.message
    if error.exit_code == 1:
        if text.startswith("no ") or " has no " in text or "does not exist" in text:
            return RESOURCE_DOES_NOT_EXIST
        if "already exists" in text:
            return RESOURCE_ALREADY_EXISTS
        return INVALID_STATE
    if error.exit_code == 2:
        return INVALID_PARAMETER_VALUE
    return INTERNAL_ERROR


def regent(registry, *args, json=True, what=None):
    """Runs `regent -C REGISTRY ARGS…` (quietly) and returns its parsed JSON.

    Global flags come first, so ARGS may end with `--` and text that starts
    with `-` (callers pass option values as `--flag=VALUE` for the same
    reason)."""
    head = ["-C", registry, "--quiet"] + (["--json"] if json else [])
    try:
        return _cli.run([*head, *args], json=json)
    except RegentError as error:
        prefix = f"{what}: " if what else ""
        raise RegentRefused(
            f"{prefix}regent refused: {error.message}", _code_for(error), error
        ) from error
    except FileNotFoundError as error:
        raise MlflowException(str(error), INTERNAL_ERROR) from error


def exists(registry, *args):
    """Runs a read command; None when regent says the thing does not exist."""
    try:
        return regent(registry, *args)
    except RegentRefused as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
