"""Calling the regent binary: one function, `run`, that every part of the
package (the Python API, the MLflow plugins) goes through."""

import json as _json
import subprocess

from ._binary import find_regent_bin
from .errors import RegentError


def run(args, *, cwd=None, input=None, json=True, env=None):
    """Runs `regent ARGS...` and returns its output.

    With `json=True`, `--json` is added and stdout is parsed (None when
    empty); otherwise stdout is returned as text. A non-zero exit raises
    RegentError with the binary's message and exit code. `input` is text
    for stdin (`run log --batch -`). Arguments are passed as a list, never
    through a shell.
    """
    command = [find_regent_bin(), *[str(a) for a in args]]
    if json and "--json" not in command:
        command.append("--json")
    done = subprocess.run(
        command,
        cwd=cwd,
        input=input,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    if done.returncode != 0:
        raise RegentError(
            _message(done.stderr),
            done.returncode,
            args_used=command[1:],
            decision=_parse(done.stdout),
        )
    if not json:
        return done.stdout
    return _parse(done.stdout)


def _parse(stdout):
    text = stdout.strip()
    if not text:
        return None
    try:
        return _json.loads(text)
    except ValueError:
        return None


def _message(stderr):
    text = stderr.strip()
    if text.startswith("error: "):
        text = text[len("error: "):]
    return text or "regent failed without a message"
