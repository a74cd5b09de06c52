"""MLflow plugins for the `regent:` scheme: MLflow scripts run unchanged on a
regent registry with `MLFLOW_TRACKING_URI=regent:` (the registry around the
current folder) or `regent:/path/to/registry`.

MLflow finds them through the entry points in pyproject.toml:
`tracking_store.RegentTrackingStore`, `registry_store.RegentRegistryStore`
and `artifact_repo.RegentArtifactRepository`. How MLflow's entities map to
regent's (ids, stages, logged models, artifacts, what is not supported) is
in `ids.py`, `stages.py`, `session.py` and the README's "From MLflow".
Only the standard library and mlflow are imported: this subpackage is
loaded by MLflow, so mlflow is there.
"""
