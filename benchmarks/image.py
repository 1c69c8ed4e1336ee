"""The serving image's size: the baked project's `make image` on a base image from Debian packages, its
bytes as `podman image inspect` reports them (podman configured as the template's tests configure it).

    python -m benchmarks --parts image --runs 1 [--project <trained, built bake>]
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from tests import containers

from .project import Project


def engine(root: Path) -> dict[str, str]:
    """Podman's variables for storage under `root`, the Debian base image imported there: once for all runs."""
    root.mkdir(parents=True, exist_ok=True)
    podman = containers.configure(root)
    containers.debian_base(os.environ | podman, root)
    return podman


def measure(project: Project, podman: dict[str, str]) -> dict[str, float]:
    """`make image` timed, then the image's size and its base's (MB, 10^6 bytes, all layers unpacked)."""
    built = dataclasses.replace(project, env=project.env | podman | {"BASE_IMAGE": containers.BASE_IMAGE})
    started = time.perf_counter()
    out = built.run("make", "image")
    seconds = time.perf_counter() - started
    (image,) = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("image: ")]
    return {
        "size_mb": containers.size_mb(built.env, image),
        "base_mb": containers.size_mb(built.env, containers.BASE_IMAGE),
        "make_image_s": seconds,
    }
