"""Servers the template's tests and benchmark start: a free port, the first 200, and stopping by PID.

The one home of this is the generated project's `serving/server.py`, which uses the standard library
only; the template loads that file from its own source tree rather than keep a second copy. Each server
runs in a process group of its own (`start_new_session=True`), which `stop` signals.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
