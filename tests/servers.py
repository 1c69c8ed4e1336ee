"""Servers the template's tests and benchmark start: a free port, the first 200, and stopping by PID.

The one home of this is the generated project's `serving/server.py`, which uses the standard library
only; the template loads that file from its own source tree rather than keep a second copy. Each server
runs in a process group of its own (`start_new_session=True`), which `stop` signals.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SOURCE = (
    Path(__file__).resolve().parents[1]
    / "{{cookiecutter.project_slug}}/src/{{cookiecutter.package_name}}/serving/server.py"
)
_spec = importlib.util.spec_from_file_location("lastmile_generated_server", _SOURCE)
assert _spec is not None and _spec.loader is not None, _SOURCE
_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_server)

free_port = _server.free_port
wait_for_200 = _server.wait_for_200
stop = _server.stop


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """One JSON request, as a client sends it: the status and the decoded body, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def bento(project: Path, env: dict[str, str], tag: str, log: Path) -> Iterator[str]:
    """The Bento `tag` served from the baked project on 127.0.0.1 (its output in `log`): its URL.

    Stopped by its PID (SIGTERM: each worker runs its shutdown hooks) and checked gone afterwards.
    """
    port = free_port()
    cmd = ["uv", "run", "--no-sync", "bentoml", "serve", tag, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(
            cmd, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_200(process, f"{url}/readyz")
        except RuntimeError as error:
            raise AssertionError(f"the Bento did not start: {error}\n{log.read_text()[-4000:]}") from None
        yield url
    finally:
        stop(process)
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return  # nothing of the server is left
    raise AssertionError(f"the Bento's process group {process.pid} outlived stop()")
