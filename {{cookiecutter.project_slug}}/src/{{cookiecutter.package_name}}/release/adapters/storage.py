"""Where DVC keeps the data and the models: move them to shared storage (`make remote`), check that this
machine can use the remote (`make check-remote`), and fetch what a checkout needs (`make data`).

A fresh bake keeps them in a folder beside the repository, which only this machine has: a GitHub runner
or a colleague has no such folder. `make remote URL=s3://…` (or gs://, azure://) moves them to storage
the team shares. Credentials never enter git: DVC reads them from the environment (AWS_*, Google's
application default credentials, AZURE_*), which the workflows' OIDC login step sets.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..errors import ReleaseError

NAME = "storage"
CONFIG = Path(".dvc/config")
# The scheme of a cloud URL, the module DVC needs for it, and the dependency that installs that module.
CLOUDS = {
    "s3": ("dvc_s3", "dvc[s3]>=3.60"),
    "gs": ("dvc_gs", "dvc[gs]>=3.60"),
    "azure": ("dvc_azure", "dvc[azure]>=3.60"),
}
HOW_TO_SHARE = "make remote URL=s3://<bucket>/<prefix> (or gs://…, azure://…), then git push"


def dvc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True)


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {result.returncode}"


def current() -> str:
    """The default remote's URL; a local folder's as an absolute path."""
    from dvc.repo import Repo

    with Repo() as repo:
        name = repo.config["core"].get("remote")
        if not name:
            raise ReleaseError(f"no default DVC remote: {HOW_TO_SHARE}")
        return str(repo.config["remote"][name]["url"])


def cloud(url: str) -> str | None:
    """The cloud a URL names (s3, gs, azure), None for a folder; refused if it is neither or holds a secret."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ReleaseError(
            f"URL: {parts.scheme}://…@{parts.hostname}: credentials never go in git; give them in the environment"
        )
    if parts.scheme in CLOUDS:
        if not parts.netloc:
            raise ReleaseError(f"URL: {url} names no bucket or container")
        return parts.scheme
    if parts.scheme in ("", "file"):
        return None
    raise ReleaseError(f"URL: {url}: DVC remotes here are s3://, gs://, azure:// or a folder")


def check() -> None:
    """`check-remote`: the default remote is one this machine can use, or one line says what to do."""
    url = current()
    kind = cloud(url)
    if kind is None:
        if not Path(url).is_dir():
            raise ReleaseError(
                f"the DVC remote is the folder {url}, which this machine does not have (a GitHub runner never does): "
                f"{HOW_TO_SHARE}"
            )
        print(f"check-remote: DVC remote {url} (a folder on this machine)")
        return
    module, requirement = CLOUDS[kind]
    if importlib.util.find_spec(module) is None:
        raise ReleaseError(
            f"the DVC remote is {url}, but DVC's {kind} support is not installed: uv add '{requirement}'"
        )
    print(f"check-remote: DVC remote {url} (credentials from the environment)")


def tracked() -> list[Path]:
    """The files and folders DVC tracks with .dvc files: the raw data, which nothing can rebuild."""
    found = []
    for meta in sorted(Path().glob("**/*.dvc")):
        if not meta.is_file() or ".dvc" in meta.parts[:-1] or ".venv" in meta.parts:
            continue
        for out in yaml.safe_load(meta.read_text()).get("outs", []):
            found.append(meta.parent / out["path"])
    return found


def pull() -> None:
    """`data`: fetch the data and pipeline outputs this commit names; fail naming any raw file not fetched."""
    check()
    result = dvc("pull", "--allow-missing")  # pipeline outputs not pushed yet are rebuilt by `make repro`
    print(result.stdout, end="")
    if result.returncode != 0:
        raise ReleaseError(f"dvc pull from {current()} failed: {last_line(result)}")
    missing = [str(path) for path in tracked() if not path.exists()]
    if missing:
        raise ReleaseError(
            f"{', '.join(missing)} could not be fetched from {current()}: push it from a clone that has it "
            "(`dvc push`), or give this machine credentials that can read it"
        )


def restore(saved: dict[Path, str | None]) -> None:
    for path, text in saved.items():
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text)


def configure(*, url: str, endpoint: str | None) -> None:
    """`remote`: make URL the default remote, push everything there, and commit the configuration.
    Nothing changes (files, git) unless the push succeeds."""
    kind = cloud(url)
    if endpoint and kind != "s3":
        raise ReleaseError("ENDPOINT: only an S3-compatible remote (s3://) takes an endpoint URL")
    if subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(CONFIG)]).returncode != 0:
        raise ReleaseError(f"{CONFIG} has uncommitted changes: commit or discard them first")
    files = [CONFIG, Path("pyproject.toml"), Path("uv.lock")]
    saved = {path: path.read_text() if path.exists() else None for path in files}
    extra = kind is not None and importlib.util.find_spec(CLOUDS[kind][0]) is None
    try:
        if kind is not None and extra:
            added = subprocess.run(["uv", "add", "--quiet", CLOUDS[kind][1]], capture_output=True, text=True)
            if added.returncode != 0:
                raise ReleaseError(f"uv add '{CLOUDS[kind][1]}' failed: {last_line(added)}")
        steps: list[list[str]] = [["remote", "add", "--default", "--force", NAME, url]]
        steps += [["remote", "modify", NAME, "endpointurl", endpoint]] if endpoint else []
        steps += [["push"]]
        for step in steps:
            result = dvc(*step)
            if result.returncode != 0:
                raise ReleaseError(f"dvc {' '.join(step[:2])} to {url} failed: {last_line(result)}")
    except ReleaseError as error:
        restore(saved)
        if extra:
            subprocess.run(["uv", "sync", "--quiet"], check=False)  # uninstall what `uv add` installed
        raise ReleaseError(f"{error}; nothing was changed") from None
    changed = [str(path) for path in files if path.exists() and path.read_text() != saved[path]]
    subprocess.run(["git", "add", *changed], check=True)
    message = f"Keep the data and models in {url}\n\n`make remote` pushed everything the commit names to it."
    subprocess.run(["git", "commit", "--quiet", "-m", message, "--", *changed], check=True)
    print(f"remote: DVC pushes to {url}; committed {', '.join(changed)}. Next: git push")
