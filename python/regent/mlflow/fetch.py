"""Reading from regent's artifact store, verified, through `regent artifact get`.

Everything fetched is immutable (a content address, a recorded run
artifact, a registered version), so it is kept in one temporary folder per
process and fetched once.
"""

import atexit
import hashlib
import os
import shutil
import tempfile
import threading

from .commands import regent

_lock = threading.Lock()
_cache = []


def cache_dir():
    with _lock:
        if not _cache:
            _cache.append(tempfile.mkdtemp(prefix="regent-mlflow-cache-"))
            atexit.register(shutil.rmtree, _cache[0], True)
        return _cache[0]


def _slot(key):
    return os.path.join(cache_dir(), hashlib.sha256(key.encode("utf-8")).hexdigest()[:32])


def get(registry, source, key, *extra):
    """`regent artifact get SOURCE DEST` into the cache (once per key); the
    local path of what was fetched."""
    slot = _slot(key)
    dest = os.path.join(slot, "a")
    if os.path.exists(dest):
        return dest
    os.makedirs(slot, exist_ok=True)
    # regent refuses an existing DEST and renames into place only when every
    # digest matched, so a concurrent fetch of the same key loses cleanly.
    tmp = tempfile.mkdtemp(dir=slot)
    fetched = os.path.join(tmp, "a")
    regent(registry, "artifact", "get", source, fetched, *extra, what=f"download of {source}")
    try:
        os.rename(fetched, dest)
    except OSError:
        if not os.path.exists(dest):
            raise
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


def manifest(registry, uri):
    """The files of a stored folder, from its manifest (`<sha256>  <path>`
    lines, verified against the URI's content address)."""
    path = get(registry, uri, f"manifest {uri}")
    files = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                files.append(line.split("  ", 1)[1])
    return files
