"""What the plugins do not do raises an MlflowException that names it.

MLflow's abstract stores do not enforce their abstract methods, and many
of their methods have a body that returns None or is built on methods a
store may lack. So each plugin class lists what it takes over from its
base on purpose (`inherited`: built only on methods the plugin has), and
`fill_unsupported` replaces every other public method of the base that
the class does not define with one that raises, naming the method and why.
`tests/python/mlflow/test_unsupported.py` walks the bases and calls each.
"""

import inspect

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


class Unsupported(MlflowException):
    def __init__(self, message):
        super().__init__(message, INVALID_PARAMETER_VALUE)


def public_methods(base):
    """Names of the base's public methods (properties excluded)."""
    names = []
    for name in dir(base):
        if name.startswith("_"):
            continue
        attribute = inspect.getattr_static(base, name)
        if isinstance(attribute, (staticmethod, classmethod)):
            attribute = attribute.__func__
        if inspect.isfunction(attribute):
            names.append(name)
    return sorted(names)


def _raiser(plugin, name, reasons):
    reason = reasons.get(name, reasons.get("*", "regent has no equivalent"))

    def unsupported(*_args, **_kwargs):
        raise Unsupported(f"{plugin} does not support {name}: {reason}")

    unsupported.__name__ = name
    unsupported.__doc__ = f"Not supported by {plugin}: raises MlflowException."
    unsupported.regent_unsupported = True
    return unsupported


def fill_unsupported(base, plugin, inherited=(), reasons=None):
    """Class decorator: every public method of `base` that the class neither
    defines nor lists in `inherited` raises Unsupported."""
    reasons = reasons or {}

    def decorate(cls):
        for name in public_methods(base):
            if name in inherited:
                continue
            if any(name in vars(k) for k in cls.__mro__ if k is not object and not issubclass(base, k)):
                continue
            setattr(cls, name, _raiser(plugin, name, reasons))
        cls.regent_inherited = frozenset(inherited)
        return cls

    return decorate


def is_unsupported(cls, name):
    return getattr(getattr(cls, name, None), "regent_unsupported", False)


def refuse(plugin, name, reason):
    """The exception for a method the class has but refuses in some cases."""
    return Unsupported(f"{plugin} does not support {name}: {reason}")
