"""`check-manifests`: deploy/k8s/ holds what deploys committed, by digest, and valid Kubernetes.

Each folder must name its image by digest, hold no edit left uncommitted, and have been last changed by a
commit whose `Rendered-From:` trailer names an ancestor of HEAD; every file in it (a GitOps controller
syncs .yml and .json too) must equal the rendering of that ancestor's pin and params.yaml. In a pull
request's CI run the pull request may change nothing under deploy/k8s/ (the promotion gates refuse it
too, from the base branch's code): a digest there would be the pull request's choice. What it inherits
from its base is reported there, not failed on: it is the base's, and the next deploy renders it anew
(`make pending` lists a folder a deploy would render differently).

Not checked: that the digest is the one the deploy record names. A maintainer who pushes to the default
branch directly can copy a trailer and name another image; the trust of the records is what closes it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from ..adapters import gitrepo
from ..environments import K8S
from ..errors import ReleaseError
from ..promotion import pins
from .manifests import DIGEST, TRAILER, image_of, texts

COMMIT = re.compile(r"[0-9a-f]{40}")


def disagreements(environment: str) -> list[str]:
    """How the environment's folder differs from the rendering its deploy committed (empty: it agrees)."""
    folder = K8S / environment
    files = {p: p.read_text() for p in sorted(folder.iterdir()) if p.is_file()}
    image = image_of(files, environment)
    if image is None or not DIGEST.fullmatch(image):
        return [f"{folder}/deployment.yaml names its image {image!r}, not by digest: a tag can be moved, so only "
                "a deploy writes deploy/k8s/, by the digest it pushed (`make commit-manifests`)"]  # fmt: skip
    if not gitrepo.is_clean(str(folder)):
        return [f"{folder} has changes that no deploy committed: only a deploy writes it (`git checkout {folder}`)"]
    last = gitrepo.git("log", "-1", "--format=%H", "--", str(folder))
    source = gitrepo.trailers(gitrepo.git("log", "-1", "--format=%B", last)).get(TRAILER, "") if last else ""
    if not COMMIT.fullmatch(source) or not gitrepo.is_ancestor(source, "HEAD"):
        return [f"{folder} was last changed by {last[:12] or 'no commit'}, whose `{TRAILER}:` names no commit of "
                "this history: only a deploy writes deploy/k8s/ (and this check needs it all: fetch-depth: 0)"]  # fmt: skip
    try:
        pin_text, params_text = gitrepo.show(source, str(pins.path(environment))), gitrepo.show(source, "params.yaml")
        if pin_text is None or params_text is None:
            raise ReleaseError(f"it has no {pins.path(environment)} or no params.yaml")
        pin = pins.parse(pin_text, f"{source[:12]}:{pins.path(environment)}")
        expected = texts(environment, pin, image, yaml.safe_load(params_text)["deploy"])
    except (ReleaseError, KeyError, TypeError, yaml.YAMLError) as error:
        return [f"{folder}: nothing to compare it with at {source[:12]}: {error}"]
    return [f"{path} is not what the deploy at {source[:12]} rendered" for path in sorted(set(files) | set(expected))
            if files.get(path) != expected.get(path)]  # fmt: skip


def check(*, kubernetes_version: str | None) -> int:
    """`check-manifests`: every folder as its deploy committed it, and valid; a pull request changes none."""
    in_pull_request = gitrepo.pull_request_base() is not None
    problems: list[str] = []
    inherited: list[str] = []
    if in_pull_request:
        changed = gitrepo.git("diff", "--name-only", f"{gitrepo.base()}...HEAD", "--", str(K8S)).split()
        problems = [f"{path}: a pull request may not change deploy/k8s/; a deploy writes it by digest after the "
                    "merge" for path in changed]  # fmt: skip
    for folder in sorted(p for p in K8S.glob("*") if p.is_dir()):
        (inherited if in_pull_request else problems).extend(disagreements(folder.name))
    for problem in problems:
        print(f"check-manifests: {problem}", file=sys.stderr)
    for note in inherited:
        print(f"check-manifests: on the base branch, for its next deploy: {note}", file=sys.stderr)
    paths = sorted(str(p) for p in K8S.glob("*/*") if p.is_file())
    if paths:
        cmd = [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--quiet"]
        if kubernetes_version:
            cmd += ["--kubernetes-version", kubernetes_version]
        if subprocess.run([*cmd, *paths]).returncode != 0:
            problems.append("schema")
    verdict = "invalid" if problems else "by digest, as their deploys rendered them, and valid"
    print(f"check-manifests: {len(paths)} files {verdict}")
    return 1 if problems else 0
