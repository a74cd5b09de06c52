"""Finding the regent binary that came with this package.

The wheel puts the binary in the environment's scripts folder (maturin's
`bindings = "bin"`), so it is found the way ruff's `find_ruff_bin()` finds
ruff: the scripts folder of this interpreter's environment, then the user
scheme's (`pip install --user`), then a `bin/` beside the package root
(`pip install --target`). `REGENT_BIN` overrides all of them (a development
build, a test).
"""

import os
import shutil
import sys
import sysconfig

EXE = "regent" + (sysconfig.get_config_var("EXE") or "")


def _user_scheme():
    if sys.version_info >= (3, 10):
        return sysconfig.get_preferred_scheme("user")
    if os.name == "nt":
        return "nt_user"
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        return "osx_framework_user"
    return "posix_user"


def candidates():
    """Where the binary may be, most specific first."""
    yield os.path.join(sysconfig.get_path("scripts"), EXE)
    try:
        yield os.path.join(sysconfig.get_path("scripts", scheme=_user_scheme()), EXE)
    except KeyError:
        pass
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    yield os.path.join(package_root, "bin", EXE)


def find_regent_bin():
    """The path of the regent binary; FileNotFoundError naming where it looked."""
    override = os.environ.get("REGENT_BIN")
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise FileNotFoundError(f"REGENT_BIN={override!r} is not an executable file")
    looked = []
    for path in candidates():
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        looked.append(path)
    # A development checkout: the package imported from source, the binary on PATH.
    on_path = shutil.which(EXE)
    if on_path:
        return on_path
    raise FileNotFoundError(
        "the regent binary was not found; looked in " + ", ".join(looked) + " and on PATH "
        "(install the regent-ml wheel, or set REGENT_BIN)"
    )
