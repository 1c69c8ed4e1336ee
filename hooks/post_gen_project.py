"""Finish the baked repository: keep the chosen licence, start git and DVC, version the example data.

Runs inside the new repository, baked by cookiecutter or by `cruft create` alike; under `cruft update`
and `cruft diff` it runs in cruft's renders of the template, and pushes, locks and commits nothing there.
Needs git, and DVC beside cookiecutter, on PATH, or else uv, which runs the DVC the project asks for
(`uvx`, as `pipx run cookiecutter` has no DVC); uv also writes the lock file. Nothing here talks to a
server: a local DVC remote is a directory, a cloud remote is only configured, and pushing to it is left
to the team (it needs credentials).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Key-value pairs, not `jsonify`'s object: that sorts the keys, and .cruft.json keeps cruft's order.
ANSWERS: dict[str, str] = dict(json.loads(r"""{{ cookiecutter.items() | list | jsonify }}"""))
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
    if RENDERED_FOR_DIFF:  # pushes nowhere
        return
    if ANSWERS["dvc_remote"] == "local":
        dvc("push", "--quiet")
    else:
        print(f"DVC remote {ANSWERS['dvc_remote_url']} is configured; run `dvc push` once its credentials are set.")


def rendered_for_diff() -> bool:
    """Whether this is `cruft update` or `cruft diff` rendering the template to compare two renders.

    Only cruft sets `_commit` (cruft/_commands/utils/cookiecutter.py: generate_cookiecutter_context), for
    `cruft create` too. Its re-renders all go through utils/generate.py: _generate_output, which renders
    into a fresh tempfile.TemporaryDirectory ("tmp" and 8 random characters in the temp folder, which
    this process inherits) and moves the files out; `cruft create` renders into the --output-dir given.
    """
    if "_commit" not in ANSWERS:
        return False
    render_parent = Path.cwd().parent  # cookiecutter runs this hook inside the rendered project
    in_temp = render_parent.parent == Path(tempfile.gettempdir()).resolve()
    return in_temp and re.fullmatch(r"tmp[a-z0-9_]{8}", render_parent.name) is not None


RENDERED_FOR_DIFF = rendered_for_diff()


def record_template() -> None:
    """Write .cruft.json, so `make update-template` (cruft update) can follow the template.

    Under `cruft create` these are the bytes cruft writes once this hook is done (cruft/_commands/create.py:
    create, utils/cruft.py: json_dumps), so the commit below already holds them and the tree stays clean.
    What cruft update must not diff is `[tool.cruft] skip` in pyproject.toml, which cruft reads too.
    """
    if "_commit" in ANSWERS:  # cruft create: the answers are cruft's context
        template, commit, checkout = ANSWERS["_template"], ANSWERS["_commit"], None
        context = ANSWERS
    else:
        repo = Path(ANSWERS.get("_repo_dir") or ".")
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode != 0:
            print("The template is not a git checkout: no .cruft.json; `uvx cruft link <template URL>` adds it later.")
            return
        template, commit, checkout = ANSWERS["_template"], head.stdout.strip(), ANSWERS.get("_checkout")
        if Path(template).expanduser().is_dir():  # a local path, as given: make it usable from anywhere
            template = str(Path(template).expanduser().resolve())
        context = {k: v for k, v in ANSWERS.items() if k not in {"_output_dir", "_repo_dir", "_checkout"}}
        context.update(_template=template, _commit=commit)
    state = {
        "template": template,
        "commit": commit,
        "checkout": checkout,
        "context": {"cookiecutter": context},
        "directory": None,
    }
    Path(".cruft.json").write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n")


def lock_dependencies() -> None:
    # The template's file-layout tests bake dozens of projects; a render for a diff needs no lock.
    if os.environ.get("LASTMILE_SKIP_LOCK") or RENDERED_FOR_DIFF:
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
    if RENDERED_FOR_DIFF:  # cruft diffs the files; a commit or .cruft.json would only cost time
        # Said, because `cruft create -o "$(mktemp -d)"` looks the same: its bake is then left uncommitted.
        print(f"{Path.cwd()}: rendered for cruft's comparison (a temporary folder): not pushed or committed")
        return
    record_template()
    run("git", "add", "--all")
    run("git", *git_identity(), "commit", "--quiet", "-m", f"Bake {ANSWERS['project_name']} from the Lastmile template")


if __name__ == "__main__":
    main()
