"""Kubernetes manifests rendered from a pin: `deploy/k8s/<env>/`, what kubectl applies or Argo CD / Flux syncs.

Rendered files rather than kustomize overlays: git holds exactly what the cluster gets, the check compares
the files with a fresh rendering (no kustomize binary needed), and any GitOps controller syncs a plain
folder. The shape is here, the sizes are params.yaml's `deploy` section.

The image is named by digest, never by a tag a push can move: the digest exists only once a deploy has
built and pushed the pin's image, so only a deploy writes the folder (`make commit-manifests`, a commit
onto the default branch whose `Rendered-From:` trailer names the commit it rendered), as Argo CD Image
Updater's write-back and Kargo do. A promotion changes the pin alone; release/deploy/check_manifests.py says
what `make check-manifests` refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ...contract.names import DEFAULT_BRANCH, SERVICE_NAME
from ...contract.params import load
from ..adapters import gitrepo
from ..environments import K8S
from ..errors import ReleaseError
from ..promotion import pins
from .image import LABEL_PREFIX

KINDS = ("deployment", "service", "hpa", "pdb")
PORT = 3000  # the image's (deploy/Containerfile)
USER = 10001  # the image's numeric user
MODEL = LABEL_PREFIX  # the image labels and the manifests' annotations share one namespace
HEADER = "# Rendered by `make commit-manifests` from deploy/environments/{env}.yaml and params.yaml: do not edit.\n"
TRAILER = "Rendered-From"  # the commit a deploy rendered the folder from: its pin and its params.yaml


class Dumper(yaml.SafeDumper):
    """Every value written out where it applies: no YAML anchors and aliases for a reader to follow."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


DIGEST = re.compile(r"[^@\s]+@sha256:[0-9a-f]{64}")


def by_digest(image: str) -> str:
    if not DIGEST.fullmatch(image):
        raise ReleaseError(f"IMAGE must name the image by digest (<repository>@sha256:<hex>), not {image!r}")
    return image


def render(environment: str, pin: pins.Pin, image: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The four resources for the environment, by kind; `params` is a `deploy` section (default: params.yaml's)."""
    params = params if params is not None else load("deploy")
    size = params["environments"][environment]
    name = f"{SERVICE_NAME}-{environment}"
    selector = {"app.kubernetes.io/name": SERVICE_NAME, "app.kubernetes.io/instance": name}
    labels = selector | {"app.kubernetes.io/version": pin.model.version, "environment": environment}
    identity = {
        f"{MODEL}/artifact-sha256": pin.model.artifact.sha256,
        f"{MODEL}/bento-tag": pin.model.bento_tag,
        f"{MODEL}/training-commit": pin.model.git_commit,
    }
    meta = {"name": name, "labels": labels, "annotations": identity}
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "timeoutSeconds": 3}
    container = {
        "name": "service",
        "image": by_digest(image),
        "ports": [{"name": "http", "containerPort": PORT}],
        "resources": params["resources"],
        # Model loading happens before /readyz answers: the startup probe allows for it, then hands over.
        "startupProbe": probe | {"failureThreshold": max(1, int(params["startup_seconds"]) // 5)},
        "readinessProbe": probe | {"failureThreshold": 2},
        "livenessProbe": probe
        | {"httpGet": {"path": "/livez", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        # Out of the Service's endpoints before SIGTERM, so no request lands on a stopping pod.
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        # BentoML writes only its home (metrics, state) and /tmp; the rest of the image is read-only.
        "volumeMounts": [{"name": "bentoml-home", "mountPath": "/home/bentoml"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": size["min_replicas"],
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": identity},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": params["termination_grace_seconds"],
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": USER,
                        "runAsGroup": USER,
                        "fsGroup": USER,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "bentoml-home", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": size["min_replicas"],
            "maxReplicas": size["max_replicas"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": params["target_cpu_utilization"]},
                    },
                }
            ],
        },
    }
    # One pod may be down for a drain; with one replica that is all of them, which a PDB cannot prevent.
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }
    return {"deployment": deployment, "service": service, "hpa": hpa, "pdb": pdb}


def texts(environment: str, pin: pins.Pin, image: str, params: dict[str, Any] | None = None) -> dict[Path, str]:
    """Each file of the environment's folder and its content."""
    header = HEADER.format(env=environment)
    return {
        K8S / environment / f"{kind}.yaml": header + yaml.dump(resource, Dumper=Dumper, sort_keys=False)
        for kind, resource in render(environment, pin, image, params).items()
    }


def write_pin(pin: pins.Pin, image: str) -> dict[Path, str]:
    """Write the pin's environment folder, rendered by the image's digest, and nothing else; return its files."""
    files = texts(pin.environment, pin, image)
    folder = K8S / pin.environment
    for stale in (p for p in (folder.iterdir() if folder.is_dir() else []) if p not in files):
        stale.unlink()  # a kind the rendering no longer has: a controller would keep applying it
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


def pinned(environment: str) -> pins.Pin:
    pin = pins.read(environment)
    if pin is None:
        raise ReleaseError(f"nothing is pinned in {environment}: `make promote ENV={environment}` first")
    return pin


def write(*, environment: str, image: str) -> None:
    """`manifests`: render the environment's folder by the image's digest here, to read or apply by hand."""
    for path in write_pin(pinned(environment), by_digest(image)):
        print(f"manifests: {path}")


def commit(*, environment: str, image: str, no_push: bool) -> None:
    """`commit-manifests`: render the folder by the digest a deploy pushed and commit it onto the default
    branch, where a GitOps controller syncs it; pushed without force unless --no-push (then on HEAD)."""
    pin = pinned(environment)
    files = write_pin(pin, by_digest(image))
    source = gitrepo.head()
    message = (f"Deploy {environment} by digest: {pin.model.model_name} {pin.model.version}\n\n{image}\n\n"
               f"{TRAILER}: {source}\nEnvironment: {environment}\n")  # fmt: skip
    folder = str(K8S / environment)
    if no_push or not gitrepo.has_remote():
        gitrepo.git("add", "--all", "--", folder)
        if not gitrepo.is_clean(folder):
            gitrepo.git("commit", "--quiet", "-m", message, "--", folder)
        sha = gitrepo.head()
    else:
        sha = gitrepo.commit_onto(DEFAULT_BRANCH, folder, files, message, same_pin(environment, source))
    print(f"commit-manifests: {folder} by {image} in {sha}")


def same_pin(environment: str, source: str) -> Callable[[str], None]:
    """A check on the tip a commit goes onto: it still pins what this run renders. Otherwise a newer
    promotion merged meanwhile and its own deploy renders it; committing this one would undo it in git."""

    def check(tip: str) -> None:
        path = str(pins.path(environment))
        if gitrepo.show(tip, path) != gitrepo.show(source, path):
            raise ReleaseError(f"{DEFAULT_BRANCH} pins another model in {environment} since {source[:12]}: "
                               "the deploy of that change renders it; nothing committed")  # fmt: skip

    return check


def image_of(files: dict[Path, str], environment: str) -> str | None:
    """The image the folder's Deployment names, if it names one."""
    try:
        deployment = yaml.safe_load(files.get(K8S / environment / "deployment.yaml", "")) or {}
        found = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None
    return found if isinstance(found, str) else None


def stale(environment: str, pin: pins.Pin) -> bool:
    """Whether the environment's folder is not what a deploy would render now (another pin, params.yaml's
    sizes, a new template, an image by tag): `make pending` lists it, so the next deploy renders it."""
    folder = K8S / environment
    if not folder.is_dir():
        return False
    files = {p: p.read_text() for p in folder.iterdir() if p.is_file()}
    image = image_of(files, environment)
    if image is None or not DIGEST.fullmatch(image):
        return True
    try:
        return files != texts(environment, pin, image)
    except (KeyError, TypeError):  # params.yaml does not size it: the deploy says so, in one line
        return True
