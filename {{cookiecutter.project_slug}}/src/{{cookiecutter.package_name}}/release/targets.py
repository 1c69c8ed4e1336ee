"""Where a deploy puts a Bento: each target makes it serve an environment and says at which URL.

`local` serves it on this machine (the tests use it); `image` builds a container image. Kubernetes or
BentoCloud: add a class with the same `deploy` method and list it in TARGETS.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Protocol

from ..serving import server

STATE = Path(".deploy")


class Target(Protocol):
    def deploy(self, environment: str, bento_tag: str) -> str:
        """Make the Bento serve the environment; return its base URL (or '' where there is none to check)."""
        ...


def undeploy(*, environment: str) -> None:
    """Stop what the local target serves for the environment, by the PID it recorded, and wait until it is gone."""
    state = STATE / f"{environment}.json"
    if not state.exists():
        return
    server.stop(int(json.loads(state.read_text())["pid"]))
    state.unlink()


class LocalTarget:
    """Serve the Bento on 127.0.0.1, replacing what served the environment before (stopped by PID)."""

    def deploy(self, environment: str, bento_tag: str) -> str:
        undeploy(environment=environment)
        state = STATE / f"{environment}.json"
        STATE.mkdir(exist_ok=True)
        port = server.free_port()
        process = server.start(bento_tag, port, log=STATE / f"{environment}.log")
        url = f"http://127.0.0.1:{port}"
        server.wait_ready(process, url)
        state.write_text(json.dumps({"pid": process.pid, "url": url, "bento_tag": bento_tag}) + "\n")
        return url


class ImageTarget:
    """Build an OCI image of the Bento (needs a Docker engine: GitHub's runners have one)."""

    def deploy(self, environment: str, bento_tag: str) -> str:
        # The image is tagged like the Bento; pushing it to a registry is the workflow's next step.
        subprocess.run(["bentoml", "containerize", bento_tag], check=True)
        return ""


TARGETS: dict[str, type[Target]] = {"local": LocalTarget, "image": ImageTarget}
