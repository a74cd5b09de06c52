"""RegentError (and the MLflow plugin's refusal) survive pickling with every
field, so a failure in a multiprocessing or joblib worker reaches the parent
as itself instead of a TypeError."""

import pickle

import regent


def test_regent_error_pickles_with_its_fields():
    error = regent.RegentError("no model named churn", 1, ["show", "churn"], {"ok": False})
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, regent.RegentError)
    assert (again.message, again.exit_code, again.args_used, again.decision) == (
        "no model named churn",
        1,
        ["show", "churn"],
        {"ok": False},
    )
    assert str(again) == str(error)


def test_the_mlflow_refusal_pickles_with_its_code():
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

    from regent.mlflow.commands import RegentRefused

    cause = regent.RegentError("no run e/r", 1)
    error = RegentRefused("run: regent refused: no run e/r", RESOURCE_DOES_NOT_EXIST, cause)
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, RegentRefused)
    assert again.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert again.message == error.message
    assert again.regent_error.exit_code == 1
