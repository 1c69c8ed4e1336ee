"""Servers the template's tests and benchmark start: a free port, the first 200, and stopping by PID.

Each server runs in a process group of its own (`start_new_session=True`), which `stop` signals.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_200(process: subprocess.Popen[bytes], request: str | urllib.request.Request, timeout: float = 120) -> None:
    """Poll until the server answers `request` (a URL or a prepared request) with 200; fail if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset or timed out while the workers start (HTTPError is one too)
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no 200 within {timeout:.0f} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to the server's process group, SIGKILL if it is still there after `timeout`."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
