"""The service's OCI image, built with no package index reachable: `make image`.

First, with the network: a wheelhouse of exactly the serving dependencies uv.lock pins, every wheel's
sha256 checked against the lock (pip download --require-hashes). Then, with the network off
(`--network none`): deploy/Containerfile installs from that folder alone and copies the built Bento
in. The project's own code travels inside the Bento (contract/ and serving/ only), so no project
wheel is installed: a wheel would bring the pipeline and release code into the image.

`bentoml containerize` does not fit: its generated Dockerfile installs the requirements from the
package index during the build (and adds uv from the network), so it fails with no index reachable.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ...contract.artifact import read_lineage
from ...contract.identity import Lineage
from ...contract.names import SERVICE_NAME
from ..errors import ReleaseError

CONTAINERFILE = Path("deploy/Containerfile")
CONTEXT = Path("build/image")
ENGINES = ("podman", "docker")
# The identity a registry or a cluster can read without pulling the image: OCI's keys, then the model's.
LABEL_PREFIX = "ai.lastmile.model"


def engine() -> str:
    """CONTAINER_ENGINE if set, else the first of podman and docker that answers (docker needs its daemon)."""
    chosen = os.environ.get("CONTAINER_ENGINE")
    if chosen:
        return chosen
    for name in ENGINES:
        if shutil.which(name) and subprocess.run([name, "info"], capture_output=True).returncode == 0:
            return name
    raise ReleaseError("no container engine answers: install podman or docker (with its daemon running)")


def run(cmd: list[str], what: str) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ReleaseError(f"{what} failed (`{' '.join(cmd[:3])} …`): {tail[0]}")
    return result.stdout.strip()


def platforms() -> list[str]:
    """pip's --platform options: Linux on this machine's architecture, glibc up to 2.36 (Debian 12 on)."""
    arch = platform.machine()
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(36, 16, -1)] + [f"manylinux2014_{arch}", f"linux_{arch}"]
    return [option for tag in tags for option in ("--platform", tag)]


def wheelhouse(folder: Path) -> None:
    """requirements.txt (uv.lock's serving dependencies, with hashes) and every wheel it names, checked."""
    folder.mkdir(parents=True, exist_ok=True)
    requirements = folder / "requirements.txt"
    run(["uv", "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-header", "--quiet",
         "--format", "requirements-txt", "--output-file", str(requirements)], "uv export")  # fmt: skip
    python = ".".join(map(str, sys.version_info[:2]))  # the project's interpreter: the baked Python version
    run(["uv", "run", "--no-sync", "--with", "pip", "python", "-m", "pip", "download", "--quiet",
         "--disable-pip-version-check", "--require-hashes", "--no-deps", "--only-binary=:all:",
         "--python-version", python, *platforms(), "--dest", str(folder), "-r", str(requirements)],
        "the wheelhouse")  # fmt: skip


def readable(folder: Path) -> None:
    """Owned by root in the image, read by its user: the BentoML store keeps some files private (0600)."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def labels(lineage: Lineage, bento_tag: str) -> dict[str, str]:
    version = lineage.version
    return {
        "org.opencontainers.image.title": SERVICE_NAME,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": lineage.git_commit,
        f"{LABEL_PREFIX}.artifact-sha256": lineage.artifact.sha256,
        f"{LABEL_PREFIX}.version": version,
        f"{LABEL_PREFIX}.training-commit": lineage.git_commit,
        f"{LABEL_PREFIX}.bento-tag": bento_tag,
    }


def name(bento_tag: str) -> str:
    """The local image name: the Bento's name and version."""
    return f"localhost/{bento_tag.replace(':', ':v', 1)}"


def build(bento_tag: str, base_image: str | None = None) -> str:
    """Build the Bento's image offline; return its local name. The Bento must be in the BentoML store."""
    import bentoml

    bento = bentoml.bentos.get(bento_tag)
    shutil.rmtree(CONTEXT, ignore_errors=True)
    wheelhouse(CONTEXT / "wheels")
    shutil.copytree(bento.path, CONTEXT / "bento", symlinks=True)
    # A built Bento names its models; the store holds them. Copied into the Bento's own models/ folder,
    # as `bentoml export` and `containerize` do, they are what the served Bento loads.
    (model,) = [m for service in bento.info.services for m in service.models]
    stored = Path(bentoml.models.get(model.tag).path)
    shutil.copytree(stored, CONTEXT / "bento" / "models" / model.tag.name / str(model.tag.version))
    lineage = read_lineage(stored)
    readable(CONTEXT / "bento")
    image = name(str(bento.tag))
    cmd = [engine(), "build", "--network", "none", "--file", str(CONTAINERFILE), "--tag", image]
    if cmd[0] == "podman":
        cmd += ["--format", "docker"]  # OCI's format has no HEALTHCHECK; Docker's does
    if base_image:
        cmd += ["--build-arg", f"BASE_IMAGE={base_image}"]
    for key, value in labels(lineage, str(bento.tag)).items():
        cmd += ["--label", f"{key}={value}"]
    run([*cmd, str(CONTEXT)], "the image build")
    return image


def inspect(tool: str, thing: str) -> dict[str, Any]:
    """What the engine knows of an image or a container (the same JSON from podman and docker)."""
    return dict(json.loads(run([tool, "inspect", thing], "inspect"))[0])


def local_id(image: str) -> str:
    """The image's ID (the sha256 of its config): what identifies it before any registry holds it."""
    return str(inspect(engine(), image)["Id"])


def push(image: str, registry: str) -> str:
    """Push to REGISTRY (host[:port][/path]) and return the image's reference by digest there."""
    tool = engine()
    remote = f"{registry.rstrip('/')}/{image.removeprefix('localhost/')}"
    run([tool, "tag", image, remote], "tagging")
    if tool == "podman":
        digest_file = CONTEXT / "digest"
        run([tool, "push", "--digestfile", str(digest_file), remote], "the push")
        digest = digest_file.read_text().strip()
    else:
        # docker prints "<tag>: digest: sha256:… size: …" last: the digest of the manifest the registry has.
        pushed = re.findall(r"digest: (sha256:[0-9a-f]{64})", run([tool, "push", remote], "the push"))
        if not pushed:
            raise ReleaseError(f"the push of {remote} printed no digest")
        digest = pushed[-1]
    return f"{remote.rsplit(':', 1)[0]}@{digest}"


def main(*, bento_tag: str | None, base_image: str | None, registry: str | None, environment: str | None) -> None:
    """`image`: build the image of the built Bento (models/lineage.json names it), or of ENV's pin (its
    artifact fetched through DVC, as a deploy does); push it with --registry."""
    from ...pipeline.outputs import MODELS
    from ...serving.server import built_tag

    if environment:
        from ..promotion import pins
        from .pinned_bento import build_pinned  # DVC and BentoML's build: only ENV= pays for them

        pin = pins.read(environment)
        if pin is None:
            raise ReleaseError(f"nothing is pinned in {environment}")
        bento_tag = build_pinned(pin)
    image = build(bento_tag or built_tag(MODELS), base_image)
    print(f"image: {image}")
    if registry:
        print(f"pushed: {push(image, registry)}")
