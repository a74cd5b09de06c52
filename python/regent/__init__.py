"""regent from Python: log runs, read the registry, call the binary.

The package is standard library only; every operation runs the regent
binary that came in the same wheel (see `_binary.find_regent_bin`).
"""

from ._binary import find_regent_bin
from .errors import RegentError

__all__ = ["RegentError", "find_regent_bin"]
