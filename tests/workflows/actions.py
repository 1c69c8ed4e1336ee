"""The actions a workflow `uses:`, done as each does it on GitHub, or recorded where it cannot be (a registry, OIDC)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .jobs import Job


def checkout(job: Job, inputs: dict[str, str]) -> str:
    """As actions/checkout does it: a new repository that fetches only what the event and the depth give."""
    workspace, event = job.workspace, job.event
    workspace.mkdir(parents=True, exist_ok=True)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=workspace, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "--quiet")
    git("remote", "add", "origin", job.origin.resolve().as_uri())
    pull = event.name == "pull_request"
    remote = (
        f"refs/remotes/pull/{event.ref.split('/')[2]}/merge"
        if pull
        else f"refs/remotes/origin/{event.ref.removeprefix('refs/heads/')}"
    )
    if str(inputs.get("fetch-depth", "1")) == "0":
        git(
            "fetch",
            "--quiet",
            "--prune",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*",
            f"+{event.ref}:{remote}",
        )
    else:
        git("fetch", "--quiet", "--depth=1", "--no-tags", "origin", f"+{event.ref}:{remote}")
    found = git("rev-parse", remote)
    if found != event.sha:
        raise RuntimeError(f"{event.ref} is at {found[:12]}, the event says {event.sha[:12]}")
    if pull:
        git("checkout", "--quiet", "--detach", remote)
        return f"detached HEAD at {event.ref} ({event.sha[:12]}), no local branch"
    branch = event.ref.removeprefix("refs/heads/")
    git("checkout", "--quiet", "-B", branch, remote)
    return f"branch {branch} at {event.sha[:12]}"


def tool_on_path(tool: str) -> Callable[[Job, dict[str, str]], str]:
    def check(job: Job, inputs: dict[str, str]) -> str:
        found = shutil.which(tool, path=job.env["PATH"])
        if found is None:
            raise RuntimeError(f"{tool} is not on PATH")
        return f"{tool}: {found}"

    return check


def no_cache(job: Job, inputs: dict[str, str]) -> str:
    return f"cache {inputs.get('path')!r}: nothing restored locally (a cache only saves time)"


def upload(job: Job, inputs: dict[str, str]) -> str:
    """As upload-artifact does: the paths' least common ancestor becomes the artifact's root."""
    target = job.artifacts / inputs["name"]
    sources = [job.workspace / p for p in inputs["path"].split() if (job.workspace / p).exists()]
    if not sources:
        if inputs.get("if-no-files-found") == "error":
            raise RuntimeError(f"no files found for artifact {inputs['name']!r}")
        return f"artifact {inputs['name']!r}: nothing to upload"
    root = Path(os.path.commonpath(sources))
    if len(sources) == 1:
        root = sources[0] if sources[0].is_dir() else sources[0].parent
    for source in sources:
        destination = target / source.relative_to(root)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return f"artifact {inputs['name']!r}: {', '.join(str(s.relative_to(job.workspace)) for s in sources)}"


def download(job: Job, inputs: dict[str, str]) -> str:
    source = job.artifacts / inputs["name"]
    if not source.exists():
        raise RuntimeError(f"artifact {inputs['name']!r} was never uploaded")
    shutil.copytree(source, job.workspace / inputs.get("path", "."), dirs_exist_ok=True)
    return f"artifact {inputs['name']!r} -> {inputs.get('path', '.')}"


def aws_login(job: Job, inputs: dict[str, str]) -> str:
    """aws-actions/configure-aws-credentials with `role-to-assume`: OIDC, as the action does it."""
    if job.permissions.get("id-token") != "write":
        raise RuntimeError(
            "Credentials could not be loaded: the job may not request an OIDC token (permissions: id-token: write)"
        )
    for name in ("role-to-assume", "aws-region"):
        if not inputs.get(name):
            raise RuntimeError(f"Input required and not supplied: {name}")
    if "aws" not in job.clouds:
        raise RuntimeError(f"could not assume {inputs['role-to-assume']}: the test gave no AWS credentials")
    job.env.update(job.clouds["aws"], AWS_REGION=inputs["aws-region"], AWS_DEFAULT_REGION=inputs["aws-region"])
    return f"assumed {inputs['role-to-assume']} in {inputs['aws-region']} (OIDC stand-in)"


def record(job: Job, action: str, inputs: dict[str, str]) -> None:
    if job.actions_log is not None:
        secret = {"password"}  # a token is recorded as given or not, never by value
        entry = {k: (bool(v) if k in secret else v) for k, v in inputs.items()}
        with job.actions_log.open("a") as log:
            log.write(json.dumps({"job": job.name, "action": action, "inputs": entry}) + "\n")


def registry_login(job: Job, inputs: dict[str, str]) -> str:
    """docker/login-action: accepted (no registry is asked), once its inputs and the job's permissions fit."""
    for name in ("registry", "username", "password"):
        if not inputs.get(name):
            raise RuntimeError(f"Input required and not supplied: {name}")
    if job.permissions.get("packages") != "write":
        raise RuntimeError("denied: the job's token may not write packages (permissions: packages: write)")
    job.logins.add(inputs["registry"])
    record(job, "docker/login-action", inputs)
    return f"logged in to {inputs['registry']} as {inputs['username']} (stand-in: accepted)"


def attest_provenance(job: Job, inputs: dict[str, str]) -> str:
    """actions/attest-build-provenance for an image: what the action needs of the job, checked; nothing signed."""
    missing = [p for p in ("id-token", "attestations") if job.permissions.get(p) != "write"]
    if missing:
        raise RuntimeError(f"the job may not attest: permissions {', '.join(f'{p}: write' for p in missing)} needed")
    name, digest = inputs.get("subject-name", ""), inputs.get("subject-digest", "")
    if not name or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise RuntimeError(f"subject-name and a subject-digest sha256:<64 hex> are needed, got {name!r} {digest!r}")
    if str(inputs.get("push-to-registry", "false")).lower() == "true":
        host, _, repository = name.partition("/")
        if host not in job.logins:
            raise RuntimeError(f"push-to-registry: not logged in to {host}")
        url = f"http://{host}/v2/{repository}/manifests/{digest}"
        accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD", headers={"Accept": accept}), timeout=10):
            pass  # an HTTPError (404: no such image) fails the step
    record(job, "actions/attest-build-provenance", inputs)
    return f"attested the build provenance of {name}@{digest} (stand-in: recorded, not signed)"


REGISTRY_STANDINS: dict[str, Callable[[Job, dict[str, str]], str]] = {
    "docker/login-action": registry_login,
    "actions/attest-build-provenance": attest_provenance,
}

CLOUD_LOGINS: dict[str, Callable[[Job, dict[str, str]], str]] = {
    "aws-actions/configure-aws-credentials": aws_login,
}
CLOUD_VARIABLES = ("AWS_", "GOOGLE_", "AZURE_", "ARM_")

ACTIONS: dict[str, Callable[[Job, dict[str, str]], str]] = {
    **CLOUD_LOGINS,
    **REGISTRY_STANDINS,
    "actions/checkout": checkout,
    "astral-sh/setup-uv": tool_on_path("uv"),
    "actions/setup-python": tool_on_path("python3"),
    "actions/cache": no_cache,
    "actions/upload-artifact": upload,
    "actions/download-artifact": download,
}
