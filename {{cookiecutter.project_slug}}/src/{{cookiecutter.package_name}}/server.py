"""Start a built Bento on 127.0.0.1, wait until it is ready, and stop it by its PID."""

from __future__ import annotations

import os
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


def start(bento_tag: str, port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Serve the Bento in its own process group (so stop() reaches its workers too).

    With `log`, the server writes there and holds none of the caller's pipes, so it can outlive the
    caller (the local deploy target) without keeping the caller's output open.
    """
    cmd = [sys.executable, "-m", "bentoml", "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)]
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
