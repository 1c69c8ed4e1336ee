"""Start a built Bento on 127.0.0.1, wait until it is ready, and stop it by its PID."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(bento_tag: str, port: int, host: str = "127.0.0.1") -> list[str]:
    return [sys.executable, "-m", "bentoml", "serve", bento_tag, "--host", host, "--port", str(port)]


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


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"error: the server exited with status {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset or timed out while the workers start
            pass
        time.sleep(0.25)
    raise SystemExit(f"error: the server at {url} was not ready after {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
