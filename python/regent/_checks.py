"""Checking arguments before the binary is called.

The binary checks everything again; these catch the cheap mistakes (a
wrong type, an empty or malformed name, a metric that is not a finite
number) where they are made, in the training script, with the argument's
name in the message, rather than at the end of a run hours later. The
rules are the binary's (README, "Names").
"""

import math
import numbers
import operator
import os
import re

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_NAME_RULE = "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$, without `..`"
_STAGE = re.compile(r"[a-z][a-z0-9_-]{0,31}\Z")
_STAGE_RULE = "^[a-z][a-z0-9_-]{0,31}$"
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:/")
MAX_KEY = 250
MAX_STEP = 2**64 - 1


def name(kind, value):
    """A model, experiment or run name: the value, or TypeError/ValueError."""
    if not isinstance(value, str):
        raise TypeError(f"{kind} name must be a str, not {type(value).__name__}")
    if not _NAME.match(value) or ".." in value:
        raise ValueError(f"invalid {kind} name {value!r}: names match {_NAME_RULE}")
    return value


def stage(kind, value):
    """A stage or alias name."""
    if not isinstance(value, str):
        raise TypeError(f"{kind} must be a str, not {type(value).__name__}")
    if not _STAGE.match(value):
        raise ValueError(f"invalid {kind} {value!r}: {kind}s match {_STAGE_RULE}")
    return value


def version(value):
    """A version number: an int of at least 1 (a str of digits too)."""
    if isinstance(value, bool):
        raise TypeError("version must be an int, not bool")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"version must be an int, not {type(value).__name__}") from None
    if number < 1:
        raise ValueError(f"version must be 1 or more, not {number}")
    return number


def key(kind, value):
    """A param, metric or tag key: a str of 1 to 250 characters without
    control characters (keys are shown to people, in tables and reports)."""
    if not isinstance(value, str):
        raise TypeError(f"{kind} key must be a str, not {type(value).__name__}: {value!r}")
    if not value.strip():
        raise ValueError(f"{kind} key {value!r} is empty")
    if len(value) > MAX_KEY:
        raise ValueError(f"{kind} key {value[:40]!r}… is {len(value)} characters; at most {MAX_KEY}")
    if any(_is_control(c) for c in value):
        raise ValueError(f"{kind} key {value!r} contains a control character")
    return value


def _is_control(char):
    # Rust's char::is_control: the Cc category.
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0


def text(kind, value):
    """A param or tag value, kept as text: str(value), as MLflow does."""
    if isinstance(value, str):
        return value
    return str(value)


def metric(key_, value, step=None):
    """A metric value as a float; NaN and infinities are refused."""
    if isinstance(value, (bool, str, bytes)) or not (
        isinstance(value, numbers.Real) or hasattr(value, "__float__")
    ):
        raise TypeError(f"metric {key_!r} must be a number, not {type(value).__name__}: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        at = "" if step is None else f" at step {step}"
        raise ValueError(
            f"metric {key_!r} is {number}{at}: regent records finite numbers only "
            "(a run file holds no NaN or infinity); check math.isfinite() before logging, "
            "or log the event as a tag"
        )
    return number


def step(value):
    """A history step: None, or a whole number from 0 to 2**64-1."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("step must be an int, not bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"step must be an int, not {type(value).__name__}: {value!r}") from None
    if not 0 <= number <= MAX_STEP:
        raise ValueError(f"step must be between 0 and 2**64-1, not {number}")
    return number


def mapping(kind, value):
    """The items of a dict-like argument (log_params, log_metrics, set_tags)."""
    if not hasattr(value, "items"):
        raise TypeError(f"{kind} must be a mapping (a dict), not {type(value).__name__}")
    return list(value.items())


def is_uri(value):
    """The binary's rule: a scheme of two or more characters, `:` and `/`
    (`s3://…`, `runs:/…`); `C:\\…` stays a path."""
    return bool(_URI.match(value))


def artifact_name(value):
    """A name given to an artifact: one path component."""
    if not isinstance(value, str):
        raise TypeError(f"artifact name must be a str, not {type(value).__name__}")
    if (
        not value
        or value in (".", "..")
        or len(value.encode("utf-8")) > 255
        or any(c in "/\\" or _is_control(c) for c in value)
    ):
        raise ValueError(
            f"artifact name {value!r} is not a file name (1 to 255 bytes, not `.` or `..`, "
            "without `/`, `\\` or control characters)"
        )
    return value


def path(kind, value):
    """A filesystem path argument as a str (str or os.PathLike)."""
    try:
        text_ = os.fspath(value)
    except TypeError:
        raise TypeError(f"{kind} must be a path (str or os.PathLike), not {type(value).__name__}") from None
    if isinstance(text_, bytes):
        text_ = os.fsdecode(text_)
    if not text_:
        raise ValueError(f"{kind} is empty")
    return text_
