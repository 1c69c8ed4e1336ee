"""Start a built Bento on 127.0.0.1, wait until it answers, and stop it by its process group.

Standard library only, and no import from this package: the Lastmile template's own tests load this
file to start and stop their servers the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


class ServerError(RuntimeError):
    """A server that exited or never answered; the message says which."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def built_tag(models: Path) -> str:
    """The Bento tag the lineage record in `models` names (`make build` built it)."""
    path = models / "lineage.json"
    if not path.exists():
        raise SystemExit(f"error: {path} not found; run `make repro` (or `make data`) first.")
    return str(json.loads(path.read_text())["bento_tag"])


def command(bento_tag: str, port: int, host: str = "127.0.0.1") -> list[str]:
    return [sys.executable, "-m", "bentoml", "serve", bento_tag, "--host", host, "--port", str(port)]


def serve(*, models: Path, port: int, host: str) -> None:
    """Become `bentoml serve` of the built Bento, once the BentoML config (if any) is known to be usable."""
    tag = built_tag(models)
    check_config()  # a bare `bentoml serve` answers a broken config file with a traceback
    os.execvp(sys.executable, command(tag, port, host))


def check_config() -> None:
    """Refuse, in one line naming the file and the problem, a BentoML config file BentoML cannot use.

    BentoML reads BENTOML_CONFIG when it is imported, before any code of the service runs, and answers
    a malformed file or an unknown key with a traceback; importing it here first turns that into one line.
    """
    path = os.environ.get("BENTOML_CONFIG")
    if not path:
        return
    try:
        import bentoml.bentos  # noqa: F401  # `import bentoml` alone is lazy: this loads the configuration
    except Exception as error:
        raise SystemExit(f"refusing to start: BentoML config {path}: {_config_problem(error)}") from None


def _config_problem(error: Exception) -> str:
    mark = getattr(error, "problem_mark", None)  # a YAML syntax error knows where it is
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {getattr(error, 'problem', error)}"
    # BentoML's schema error names the section a line at a time, then the key, then the whole section.
    text = str(error).strip()
    section = ".".join(re.findall(r"^Key '([^']+)' error:$", text, re.MULTILINE))
    problem = re.sub(r" in \{.*\}$", "", text.splitlines()[-1])
    return f"{section}: {problem}" if section else problem


def start(bento_tag: str, port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Serve the Bento in a process group of its own, which stop() signals.

    BentoML 1.4's workers run in sessions of their own: the server stops them on SIGTERM before it
    exits (the test fixture `served` checks that none outlives it).

    With `log`, the server writes there and holds none of the caller's pipes, so it can outlive the
    caller (the local deploy target) without keeping the caller's output open.
    """
    check_config()
    cmd = command(bento_tag, port)
    if log is None:
        return subprocess.Popen(cmd, start_new_session=True)
    with log.open("ab") as out:
        return subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL, stdout=out, stderr=out)


def wait_for_200(
    process: subprocess.Popen[bytes], request: str | urllib.request.Request, timeout: float = 120.0
) -> None:
    """Poll until the server answers `request` (a URL or a prepared request) with 200; fail if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerError(f"the server exited with status {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset or timed out while the workers start (HTTPError is one too)
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"the server did not answer 200 within {timeout:.0f} s")
        time.sleep(0.05)


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 120.0) -> None:
    wait_for_200(process, f"{url}/readyz", timeout)


def stop(server: subprocess.Popen[bytes] | int, timeout: float = 30.0) -> None:
    """SIGTERM to the server's process group (a Popen, or the PID of a group leader started earlier),
    SIGKILL to whatever of it is left after `timeout`; return once nothing of the group runs."""
    process = server if isinstance(server, subprocess.Popen) else None
    group = process.pid if process is not None else int(server)  # type: ignore[arg-type]
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            process.poll()  # reap our own child, or it lingers as a zombie in the group
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    if process is not None:
        process.wait()
