"""The wheel: `pip install` gives the `regent` command and `import regent`,
and the package finds its binary wherever pip put it (a venv, `--target`,
`--user`), as ruff's `find_ruff_bin()` does."""

import os
import pathlib
import subprocess
import sys
import sysconfig

import pytest

import regent

# A PATH with no regent on it: the system's folders only.
BARE_PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if os.path.isdir(p))


def _pip(*args, env=None):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, f"pip {args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _run(command, env, cwd):
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    assert done.returncode == 0, f"{command} failed:\n{done.stderr}"
    return done.stdout.strip()


def _bare_env(**extra):
    """An environment whose PATH has no regent and no venv active."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PATH", "VIRTUAL_ENV", "PYTHONPATH", "REGENT_BIN", "PYTHONUSERBASE")
    }
    env["PATH"] = BARE_PATH
    env.update(extra)
    return env


def test_the_tests_use_the_installed_wheel_not_the_checkout():
    # The package is the installed one, and the binary the wheel's script.
    site = pathlib.Path(sysconfig.get_paths()["purelib"])
    assert pathlib.Path(regent.__file__).resolve().is_relative_to(site.resolve())
    scripts = pathlib.Path(sysconfig.get_paths()["scripts"])
    assert pathlib.Path(regent.find_regent_bin()) == scripts / "regent"


def test_pip_install_in_a_fresh_venv_gives_the_command_and_the_package(tmp_path, wheel):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _pip("--python", python, "install", "--no-index", "--no-deps", wheel)

    command = venv / "bin" / "regent"
    assert command.is_file() and os.access(command, os.X_OK)
    # On PATH once the venv is (as `source venv/bin/activate` puts it there).
    env = _bare_env(PATH=f"{venv / 'bin'}{os.pathsep}{BARE_PATH}")
    assert _run(["regent", "--version"], env, tmp_path).startswith("regent ")
    found = _run(
        [python, "-c", "import regent; print(regent.__file__); print(regent.find_regent_bin())"],
        _bare_env(),
        tmp_path,
    ).splitlines()
    assert pathlib.Path(found[0]).is_relative_to(venv)
    assert found[1] == str(command)
    # The installed metadata: distribution regent-ml, import name regent.
    meta = _run(
        [python, "-c", "import importlib.metadata as m; print(m.version('regent-ml'))"],
        _bare_env(),
        tmp_path,
    )
    assert meta == "0.1.0"


def test_find_regent_bin_after_pip_install_target(tmp_path, wheel):
    target = tmp_path / "lib"
    _pip("install", "--no-index", "--no-deps", "--target", target, wheel)
    assert (target / "bin" / "regent").is_file()
    # Another interpreter, the package on PYTHONPATH, no regent on PATH.
    python = pathlib.Path(sys._base_executable)
    code = "import regent, subprocess; b = regent.find_regent_bin(); print(b); print(subprocess.run([b, '--version'], capture_output=True, text=True).stdout)"
    out = _run([python, "-c", code], _bare_env(PYTHONPATH=str(target)), tmp_path).splitlines()
    assert out[0] == str(target / "bin" / "regent")
    assert out[1].startswith("regent ")


def test_find_regent_bin_after_pip_install_user(tmp_path, wheel):
    # The user scheme of the base interpreter (a venv has none), in a
    # temporary HOME and PYTHONUSERBASE.
    python = pathlib.Path(sys._base_executable)
    user_base = tmp_path / "userbase"
    env = _bare_env(HOME=str(tmp_path), PYTHONUSERBASE=str(user_base))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python),
         "install", "--user", "--no-index", "--no-deps", str(wheel)],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode == 0, done.stderr
    installed = user_base / "bin" / "regent"
    assert installed.is_file()
    code = "import regent; print(regent.__file__); print(regent.find_regent_bin())"
    out = _run([python, "-c", code], env, tmp_path).splitlines()
    assert pathlib.Path(out[0]).is_relative_to(user_base)
    assert out[1] == str(installed)


def test_regent_bin_overrides_and_a_bad_one_is_named(tmp_path, monkeypatch):
    fake = tmp_path / "regent-dev"
    fake.write_text("#!/bin/sh\necho dev\n")
    fake.chmod(0o755)
    monkeypatch.setenv("REGENT_BIN", str(fake))
    assert regent.find_regent_bin() == str(fake)
    monkeypatch.setenv("REGENT_BIN", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="REGENT_BIN=.*missing.*is not an executable file"):
        regent.find_regent_bin()
