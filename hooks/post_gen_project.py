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
    if RENDERED_BY_CRUFT:  # a render for cruft's diff pushes nowhere
        return
    if ANSWERS["dvc_remote"] == "local":
        dvc("push", "--quiet")
    else:
        print(f"DVC remote {ANSWERS['dvc_remote_url']} is configured; run `dvc push` once its credentials are set.")


# `cruft update` renders the template again (hooks included) to diff two renders; it adds `_commit`.
RENDERED_BY_CRUFT = "_commit" in ANSWERS
# What a render holds that is not the template's to update: git and DVC state, the lock, cruft's own file.
CRUFT_SKIP = [".git", ".dvc/cache", ".dvc/tmp", "uv.lock", ".cruft.json"]


def record_template() -> None:
    """Write .cruft.json as `cruft create` would, so `make update-template` (cruft update) can follow the template."""
    repo = Path(ANSWERS.get("_repo_dir") or ".")
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        print("The template is not a git checkout: no .cruft.json; `uvx cruft link <template URL>` adds it later.")
        return
    template = ANSWERS["_template"]
    if Path(template).expanduser().is_dir():  # a local path, as given: make it usable from anywhere
        template = str(Path(template).expanduser().resolve())
    context = {k: v for k, v in ANSWERS.items() if k not in {"_output_dir", "_repo_dir", "_checkout"}}
    context.update(_template=template, _commit=commit.stdout.strip())
    state = {
        "template": template,
        "commit": commit.stdout.strip(),
        "checkout": ANSWERS.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": None,
        "skip": CRUFT_SKIP,
    }
    Path(".cruft.json").write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n")


def lock_dependencies() -> None:
    if (
        os.environ.get("LASTMILE_SKIP_LOCK") or RENDERED_BY_CRUFT
    ):  # the template's file-layout tests bake dozens of projects
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
    if not RENDERED_BY_CRUFT:  # `cruft create` and `cruft update` write their own
        record_template()
    run("git", "add", "--all")
    run("git", *git_identity(), "commit", "--quiet", "-m", f"Bake {ANSWERS['project_name']} from the Lastmile template")


if __name__ == "__main__":
    main()
