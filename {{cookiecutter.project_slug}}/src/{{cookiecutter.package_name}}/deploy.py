"""Deploy what a pin file says, check that it is what serves, and record the promotion.

Targets are pluggable: `local` serves the Bento on this machine (the tests use it), `image` builds a
container image (GitHub's runners have Docker). Kubernetes or BentoCloud: add a target with the same
two methods (docs/promote-rollback-audit.md). Records: a git note on the merge commit (who approved,
what happened, when), a GTO-format tag `<model>#<env>#<n>`, and the MLflow alias named after the
environment, which mirrors git and is never the authority.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from . import gitops, pins, server
from .promotion import PromotionError, fetch_verified
from .settings import ARTIFACT_FILE, LINEAGE_FILE

STATE = Path(".deploy")


class Target(Protocol):
    def deploy(self, environment: str, bento_tag: str) -> str:
        """Make the Bento serve the environment; return its base URL (or '' where there is none to check)."""
        ...


def stop(environment: str, timeout: float = 30.0) -> None:
    """Stop what the local target serves for the environment, by the PID it recorded, and wait until it is gone."""
    state = STATE / f"{environment}.json"
    if not state.exists():
        return
    group = json.loads(state.read_text())["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.killpg(group, 0)  # raises ProcessLookupError once every process of the group has exited
            time.sleep(0.2)
        os.killpg(group, signal.SIGKILL)
    state.unlink()


class LocalTarget:
    """Serve the Bento on 127.0.0.1, replacing what served the environment before (stopped by PID)."""

    def deploy(self, environment: str, bento_tag: str) -> str:
        stop(environment)
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


def build_pinned(pin: pins.Pin) -> str:
    """Fetch the pinned artifact through DVC, check its digest, and build its Bento."""
    from .bento import build

    data = fetch_verified(pin.source_commit, pin.model.artifact.sha256)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / ARTIFACT_FILE).write_bytes(data)
        (Path(folder) / LINEAGE_FILE).write_text(
            json.dumps(pin.model.model_dump(mode="json"), indent=2, sort_keys=True)
        )
        return build(Path(folder))


def served_sha256(url: str, attempts: int = 10) -> str:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"{url}/metadata", timeout=10) as response:
                return str(json.loads(response.read())["artifact"]["sha256"])
        except OSError:
            time.sleep(1)
    raise PromotionError(f"{url}/metadata did not answer")


def approvals(reviews: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Approvers (latest review APPROVED) and every reviewer, from GitHub's list of a PR's reviews."""
    latest: dict[str, str] = {}
    for review in reviews:
        latest[review["user"]["login"]] = review["state"]
    return sorted(u for u, s in latest.items() if s == "APPROVED"), sorted(latest)


def next_tag(model: str, environment: str) -> str:
    existing = gitops.git("tag", "--list", f"{model}#{environment}#*").split()
    return f"{model}#{environment}#{len(existing) + 1}"


def mirror_alias(pin: pins.Pin) -> str:
    """Point the registry alias named after the environment at the version; a mirror of git, best effort."""
    try:
        from . import tracking

        tracking.start().set_registered_model_alias(pin.model.model_name, pin.environment, pin.model.registry_version)
        return f"alias {pin.environment!r} -> version {pin.model.registry_version}"
    except Exception as error:  # the registry may not know this version here; git stays the authority
        return f"alias not set ({error.__class__.__name__}): git remains the record"


def deploy(environment: str, target: str, reviews: Path | None, push: bool = True) -> dict[str, Any]:
    pin = pins.read(environment)
    if pin is None:
        raise PromotionError(f"nothing is pinned in {environment}")
    bento_tag = build_pinned(pin)
    url = TARGETS[target]().deploy(environment, bento_tag)
    result = "deployed"
    if url:
        served = served_sha256(url)
        if served != pin.model.artifact.sha256:
            raise PromotionError(f"{url} serves {served[:12]}, the pin says {pin.model.artifact.sha256[:12]}")
        result = "deployed; /metadata matches the pin"
    commit = gitops.head()
    message = gitops.git("log", "-1", "--format=%s", commit)
    found = gitops.MERGE_MESSAGE.match(message)
    approvers, reviewers = approvals(json.loads(reviews.read_text()) if reviews else [])
    tag = next_tag(pin.model.model_name, environment)
    record = {
        "environment": environment,
        "pull_request": int(found.group(1)) if found else None,
        "approvers": approvers,
        "reviewers": reviewers,
        "model_version": pin.model.registry_version,
        "artifact_sha256": pin.model.artifact.sha256,
        "target": target,
        "url": url,
        "result": result,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tag": tag,
        "alias": mirror_alias(pin),
    }
    gitops.add_note(commit, record)
    gitops.git(
        "tag", "--annotate", tag, "-m", f"{environment}: {pin.model.model_name} v{pin.model.registry_version}", commit
    )
    if push and gitops.git("remote", check=False):
        gitops.git("push", "--quiet", "origin", tag, gitops.NOTES_REF)
    return record
