"""Finish the baked repository: keep the chosen licence, start git and DVC, version the example data.

Runs inside the new repository. Needs git, and DVC beside cookiecutter, on PATH, or else uv, which runs
the DVC the project asks for (`uvx`, as `pipx run cookiecutter` has no DVC); uv also writes the lock file. Nothing here talks to a server: a local DVC remote is a directory, a cloud remote is only
configured, and pushing to it is left to the team (it needs credentials).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")
RAW_DATA = Path("data/raw/penguins.csv")
DVC: list[str] = []


def run(*cmd: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: `{' '.join(cmd)}` failed:\n{result.stdout}{result.stderr}")


def dvc_command() -> list[str]:
    """The DVC installed beside cookiecutter, else one on PATH, else the project's own through uv."""
    if subprocess.run([sys.executable, "-c", "import dvc"], capture_output=True).returncode == 0:
        return [sys.executable, "-m", "dvc"]
    if shutil.which("dvc"):
        return ["dvc"]
    return ["uv", "tool", "run", "--from", ANSWERS["__dvc_requirement"], "dvc"]


def dvc(*args: str) -> None:
    run(*DVC, *args)


def keep_chosen_licence() -> None:
    licences = Path("_licenses")
    shutil.move(licences / ANSWERS["license"], "LICENSE")
    shutil.rmtree(licences)


def git_identity() -> list[str]:
    """Use the baker's git identity; fall back to the answers so the first commit never fails."""
    configured = subprocess.run(["git", "config", "user.email"], capture_output=True).returncode == 0
    if configured:
        return []
    return ["-c", f"user.name={ANSWERS['author_name']}", "-c", f"user.email={ANSWERS['author_email']}"]


def init_dvc() -> None:
    dvc("init", "--quiet")
    # Hermetic by default: no usage reports to a server; a team may turn them back on.
    dvc("config", "core.analytics", "false")
    dvc("config", "core.autostage", "true")
    dvc("remote", "add", "--default", "storage", ANSWERS["dvc_remote_url"])
    dvc("add", "--quiet", str(RAW_DATA))
    if ANSWERS["dvc_remote"] == "local":
        dvc("push", "--quiet")
    else:
        print(f"DVC remote {ANSWERS['dvc_remote_url']} is configured; run `dvc push` once its credentials are set.")


def lock_dependencies() -> None:
    if os.environ.get("LASTMILE_SKIP_LOCK"):  # the template's file-layout tests bake dozens of projects
        return
    if shutil.which("uv") is None:
        print("uv not found: `make setup` will write uv.lock on first run.")
        return
    result = subprocess.run(["uv", "lock", "--quiet"], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"warning: `uv lock` failed, `make setup` will retry:\n{result.stderr}", file=sys.stderr)


def main() -> None:
    global DVC
    DVC = dvc_command()
    keep_chosen_licence()
    run("git", "init", "--quiet", "--initial-branch", ANSWERS["default_branch"])
    init_dvc()
    lock_dependencies()
    run("git", "add", "--all")
    run("git", *git_identity(), "commit", "--quiet", "-m", f"Bake {ANSWERS['project_name']} from the Lastmile template")


if __name__ == "__main__":
    main()
