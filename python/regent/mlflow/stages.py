"""MLflow's model stages and regent's.

MLflow has four fixed stages: None, Staging, Production and Archived.
regent's stages are the ones `regent.yaml` declares (by default `staging`
and `production`), each holding one version at a time, with the policy
deciding who may move a version in. A transition to `Staging` or
`Production` (any case) is `regent promote … --to staging|production`; a
stage regent.yaml declares under another name is reached by its name in
any case (`Canary` → `canary`; MLflow's own client accepts only its four).
`None` takes the version out of every stage it holds (`regent demote`),
and `Archived` is `regent archive` (final, and refused while a stage or an
alias points at the version, as regent's policy says).

Back to MLflow, a version's `current_stage` is `Archived` for an archived
version, else the stage it holds (`production` before `staging` before any
other, by name, when it holds several), capitalised, else `None`.
"""

NONE = "None"
ARCHIVED = "Archived"
PREFERENCE = ("production", "staging")


def to_regent(stage):
    """None for MLflow's `None`, ARCHIVED for `Archived`, else regent's stage name."""
    text = str(stage).strip()
    lowered = text.lower()
    if lowered == "none":
        return None
    if lowered == "archived":
        return ARCHIVED
    return lowered


def to_mlflow(stages, status):
    if status == "archived":
        return ARCHIVED
    held = list(stages or [])
    if not held:
        return NONE
    ranked = sorted(held, key=lambda s: (PREFERENCE.index(s) if s in PREFERENCE else 2, s))
    name = ranked[0]
    return name[:1].upper() + name[1:]
