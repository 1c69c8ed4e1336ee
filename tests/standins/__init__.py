"""Programs the workflows' jobs find on PATH in place of GitHub's `gh`, `docker` and `kubectl`.

Each is a Python module run as a program by a two-line wrapper (`install`) that names its state files in
the environment, so the stand-ins are code the linters read, not text formatted into a file. What each is
kinder than the real thing is listed where the tests use it: tests/github.py and tests/runtimes.py.
"""

from __future__ import annotations

import shlex
import stat
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def install(bin_folder: Path, name: str, env: dict[str, str] | None = None) -> Path:
    """Write `bin_folder/name`, running this folder's `<name>.py` with the template's Python and `env` set."""
    bin_folder.mkdir(parents=True, exist_ok=True)
    assignments = [f"{key}={shlex.quote(value)}" for key, value in (env or {}).items()]
    program = [shlex.quote(sys.executable), shlex.quote(str(HERE / f"{name}.py"))]
    path = bin_folder / name
    path.write_text("#!/bin/sh\n" + " ".join([*assignments, "exec", *program, '"$@"']) + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
