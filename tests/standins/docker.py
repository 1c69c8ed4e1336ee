"""`docker` for the deploy workflow's jobs: podman answers every command (tests/runtimes.py says how it is kinder)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def push(args: list[str]) -> int:
    """podman's push, with the digest in docker's last line (`<tag>: digest: sha256:… size: 0`)."""
    with tempfile.TemporaryDirectory() as folder:
        digest_file = Path(folder) / "digest"
        done = subprocess.run(["podman", "push", "--quiet", "--digestfile", str(digest_file), *args])
        if done.returncode:
            return done.returncode
        tag = args[-1].rsplit("/", 1)[-1].partition(":")[2] or "latest"
        print(f"{tag}: digest: {digest_file.read_text().strip()} size: 0")
    return 0


def main(args: list[str]) -> None:
    if args[:1] == ["push"]:
        sys.exit(push(args[1:]))
    if args[:1] == ["build"]:
        args = ["build", "--format", "docker", *args[1:]]  # docker's only format, which keeps the HEALTHCHECK
    os.execvp("podman", ["podman", *args])


if __name__ == "__main__":
    main(sys.argv[1:])
