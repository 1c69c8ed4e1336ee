"""Podman for the template's tests and benchmark: configured into a folder of its own, with a base image
built from Debian packages, and the size of an image as podman reports it.

No container registry is reachable here, so the base image is built with mmdebstrap and `podman import`
(Debian bookworm's python3 is 3.11, the default bake's version). Podman's storage and configuration live
in the caller's folder (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF). This machine's podman needs runc (crun
fails on its cgroups) and bounded ulimits: containers.conf says so, as a team's CI runner would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

BASE_IMAGE = "localhost/lastmile-base:py311"
TOOLS = ("podman", "mmdebstrap")  # .ci/system-packages installs them


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def configure(root: Path) -> dict[str, str]:
    """The variables that point podman (and the project's `make image`) at storage under `root`."""
    (root / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/graph"\nrunroot = "{root}/run"\n'
    )
    (root / "containers.conf").write_text(
        '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n'
    )
    return {"CONTAINERS_CONF": str(root / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"), "CONTAINER_ENGINE": "podman"}  # fmt: skip


def run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} … failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def debian_base(env: dict[str, str], root: Path) -> str:
    """BASE_IMAGE, imported into the configured storage from Debian's python3 and python3-venv."""
    rootfs = root / "rootfs.tar"
    run(["mmdebstrap", "--quiet", "--variant=minbase", "--include=python3,python3-venv", "bookworm", str(rootfs)])
    run(["podman", "import", str(rootfs), BASE_IMAGE], env)
    rootfs.unlink()
    return BASE_IMAGE


def size_mb(env: dict[str, str], image: str) -> float:
    """The image's size in MB (10^6 bytes): `podman image inspect`'s Size, all its layers unpacked."""
    return float(json.loads(run(["podman", "image", "inspect", image], env))[0]["Size"]) / 1e6
