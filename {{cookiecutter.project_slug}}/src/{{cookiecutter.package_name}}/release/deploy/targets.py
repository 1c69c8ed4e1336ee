"""Where a deploy puts a Bento: each target makes it serve an environment and says at which URL.

`local` serves it on this machine (the tests use it); `image` builds the container image (and pushes
it by digest with REGISTRY); `container` builds it, runs it with podman or docker on 127.0.0.1 and
pushes it with REGISTRY; `kubernetes` takes an image already pushed by digest (IMAGE), renders the
environment's manifests by that digest and applies them with kubectl (KUBECONFIG), or leaves the sync
to Argo CD / Flux, and names the environment's URL (DEPLOY_URL) for the check. BentoCloud: add a class
with the same `deploy` method and list it in TARGETS.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ...contract.names import SERVICE_NAME
from ...contract.params import load
from ...serving import server
from ..environments import K8S
from ..errors import ReleaseError
from ..promotion import pins
from . import image, manifests

STATE = Path(".deploy")
READY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Served:
    url: str  # '' where there is nothing to check
    image: str = ""  # the image by digest (pushed) or by local ID, where there is one
    unchecked: str = "no runtime to check"  # why nothing is checked, when url is ''
    wait_s: float = 10.0  # how long /metadata may take to serve the pin (a GitOps sync takes longer)


class Target(Protocol):
    builds: bool  # whether the deploy builds the pin's Bento here first (kubernetes takes a pushed image)

    def deploy(self, environment: str, bento_tag: str) -> Served:
        """Make the Bento serve the environment; say where and with which image."""
        ...


def undeploy(*, environment: str) -> None:
    """Stop what a local or container deploy serves for the environment (the PID or container it recorded)."""
    state = STATE / f"{environment}.json"
    if not state.exists():
        return
    recorded = json.loads(state.read_text())
    if "container" in recorded:
        engine, container = recorded["engine"], recorded["container"]
        # A graceful stop first (docker's rm has no --time), then remove; a container gone already is fine.
        subprocess.run([engine, "stop", "--time", "30", container], capture_output=True, check=False)
        subprocess.run([engine, "rm", "--force", container], capture_output=True, check=False)
    else:
        server.stop(int(recorded["pid"]))
    state.unlink()


class LocalTarget:
    """Serve the Bento on 127.0.0.1, replacing what served the environment before (stopped by PID)."""

    builds = True

    def deploy(self, environment: str, bento_tag: str) -> Served:
        undeploy(environment=environment)
        state = STATE / f"{environment}.json"
        STATE.mkdir(exist_ok=True)
        port = server.free_port()
        process = server.start(bento_tag, port, log=STATE / f"{environment}.log")
        url = f"http://127.0.0.1:{port}"
        server.wait_ready(process, url)
        state.write_text(json.dumps({"pid": process.pid, "url": url, "bento_tag": bento_tag}) + "\n")
        return Served(url)


def built_image(bento_tag: str) -> tuple[str, str]:
    """Build the Bento's image offline (BASE_IMAGE chooses the base) and push it when REGISTRY is set.
    Returns the name to run and the reference to record: by digest if pushed, else the local image ID."""
    name = image.build(bento_tag, os.environ.get("BASE_IMAGE") or None)
    registry = os.environ.get("REGISTRY")
    if registry:
        return name, image.push(name, registry)
    return name, image.local_id(name)


class ImageTarget:
    """Build the image and, with REGISTRY, push it by digest; nothing serves it here, so nothing is checked."""

    builds = True

    def deploy(self, environment: str, bento_tag: str) -> Served:
        return Served("", built_image(bento_tag)[1])


class ContainerTarget:
    """Run the image with podman or docker on 127.0.0.1, replacing the environment's earlier container."""

    builds = True

    def deploy(self, environment: str, bento_tag: str) -> Served:
        name, reference = built_image(bento_tag)
        undeploy(environment=environment)
        engine = image.engine()
        port = server.free_port()
        container = image.run([engine, "run", "--detach", "--name", f"{SERVICE_NAME}-{environment}",
                               "--publish", f"127.0.0.1:{port}:3000", name], "starting the container")  # fmt: skip
        STATE.mkdir(exist_ok=True)
        url = f"http://127.0.0.1:{port}"
        (STATE / f"{environment}.json").write_text(
            json.dumps({"engine": engine, "container": container, "url": url, "image": reference}) + "\n"
        )
        wait_ready(engine, container, url)
        return Served(url, reference)


def wait_ready(engine: str, container: str, url: str) -> None:
    """Poll /readyz; fail with the container's last log line if it exits first (a refused artifact, say)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if image.inspect(engine, container)["State"]["Status"] in ("exited", "dead"):
            logs = subprocess.run([engine, "logs", container], capture_output=True, text=True)
            last = (logs.stderr + logs.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ReleaseError(f"the container exited before it was ready: {last[0]}")
        time.sleep(0.5)
    raise ReleaseError(f"{url}/readyz did not answer 200 within {READY_TIMEOUT_S:.0f} s")


class KubernetesTarget:
    """The image pushed by digest (IMAGE), in the environment's manifests rendered by that digest.

    The deploy workflow has committed that rendering onto the default branch already (`make
    commit-manifests`), so a GitOps controller syncs the digest git holds; here the folder is rendered the
    same way. With KUBECONFIG, kubectl applies it and waits for the rollout; without, Argo CD or Flux syncs
    deploy/k8s/ and the check waits for DEPLOY_URL to serve the pin.
    """

    builds = False

    def deploy(self, environment: str, bento_tag: str) -> Served:
        reference = os.environ.get("IMAGE", "")
        pin = pins.read(environment)
        if pin is None:
            raise ReleaseError(f"nothing is pinned in {environment}")
        if "@sha256:" not in reference:
            raise ReleaseError("TARGET=kubernetes deploys a pushed image: give IMAGE=<repository>@sha256:<digest> "
                               "(`make image ENV=<env> REGISTRY=<registry>` prints it)")  # fmt: skip
        folder = K8S / environment
        url = os.environ.get("DEPLOY_URL", "").rstrip("/")
        kubeconfig = os.environ.get("KUBECONFIG", "")
        if kubeconfig and not url:  # refused before anything changes: a rollout nobody can check
            raise ReleaseError("KUBECONFIG is set but DEPLOY_URL is not: name the environment's URL, "
                               "so that the deploy can check it serves the pin")  # fmt: skip
        startup_s = float(load("deploy")["startup_seconds"])
        wait = os.environ.get("DEPLOY_WAIT_SECONDS") or str(startup_s)
        if not wait.replace(".", "", 1).isdigit():
            raise ReleaseError(f"DEPLOY_WAIT_SECONDS must be a number of seconds, not {wait!r}")
        manifests.write_pin(pin, reference)
        if kubeconfig:
            image.run(["kubectl", "apply", "--filename", f"{folder}/"], "kubectl apply")
            image.run(["kubectl", "rollout", "status", f"deployment/{SERVICE_NAME}-{environment}",
                       f"--timeout={startup_s:.0f}s"], "kubectl rollout status")  # fmt: skip
        why = "no cluster credential (KUBE_CONFIG secret) and no DEPLOY_URL variable in the environment"
        return Served(url, reference, unchecked=why, wait_s=float(wait))


TARGETS: dict[str, type[Target]] = {
    "local": LocalTarget,
    "image": ImageTarget,
    "container": ContainerTarget,
    "kubernetes": KubernetesTarget,
}
