"""Kubernetes manifests rendered from each pin: `deploy/k8s/<env>/`, what kubectl applies or Argo CD / Flux syncs.

Rendered files rather than kustomize overlays: the pull request shows exactly what the cluster will get,
the gates compare the files with a fresh rendering of the pin (no kustomize binary needed), and any
GitOps controller syncs a plain folder. The shape is here, the sizes are params.yaml's `deploy` section.

The Deployment names its image by digest once one is known (`make manifests ENV=<env> IMAGE=<repo>@sha256:…`
after a push, which the kubernetes deploy target does before it applies, release/targets.py); before that by
the model's version tag, which the gates accept only together with the model identity the pin names
(labels and annotations below).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ..contract.names import SERVICE_NAME
from ..pipeline.params import load
from . import gitops, pins
from .environments import ENVIRONMENTS
from .errors import ReleaseError
from .image import LABEL_PREFIX

K8S = Path("deploy/k8s")
KINDS = ("deployment", "service", "hpa", "pdb")
PORT = 3000  # the image's (deploy/Containerfile)
USER = 10001  # the image's numeric user
MODEL = LABEL_PREFIX  # the image labels and the manifests' annotations share one namespace
HEADER = "# Rendered by `make manifests` from deploy/environments/{env}.yaml and params.yaml: do not edit.\n"


class Dumper(yaml.SafeDumper):
    """Every value written out where it applies: no YAML anchors and aliases for a reader to follow."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def image_reference(pin: pins.Pin, image: str | None, repository: str) -> str:
    if image:
        if "@sha256:" not in image:
            raise ReleaseError(f"IMAGE must name the image by digest (<repository>@sha256:<hex>), not {image!r}")
        return image
    return f"{repository}:v{pin.model.version}"


def render(environment: str, pin: pins.Pin, image: str | None = None) -> dict[str, dict[str, Any]]:
    """The four resources for the environment, by kind."""
    params = load("deploy")
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
        "image": image_reference(pin, image, params["image_repository"]),
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


def texts(environment: str, pin: pins.Pin, image: str | None = None) -> dict[Path, str]:
    """Each file of the environment's folder and its content."""
    header = HEADER.format(env=environment)
    return {
        K8S / environment / f"{kind}.yaml": header + yaml.dump(resource, Dumper=Dumper, sort_keys=False)
        for kind, resource in render(environment, pin, image).items()
    }


def write_pin(pin: pins.Pin, image: str | None = None) -> list[Path]:
    """Write the pin's environment folder; return its files (a promotion commits them beside the pin)."""
    written = []
    for path, text in texts(pin.environment, pin, image).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def write(*, environment: str | None, image: str | None) -> None:
    """`manifests`: render every pinned environment's folder (or one, with IMAGE by digest)."""
    if image and not environment:
        raise ReleaseError("IMAGE names one environment's image: give ENV too")
    for env in [environment] if environment else ENVIRONMENTS:
        pin = pins.read(env)
        if pin is None:
            if environment:  # asked for by name: say so rather than write nothing and succeed
                raise ReleaseError(f"nothing is pinned in {environment}: `make promote ENV={environment}` first")
            continue
        for path in write_pin(pin, image):
            print(f"manifests: {path}")


def files_at(revision: str, environment: str) -> dict[Path, str]:
    """The environment's manifests as a commit has them (a pull request's, read as data)."""
    found = {K8S / environment / f"{kind}.yaml": gitops.show(revision, str(K8S / environment / f"{kind}.yaml"))
             for kind in KINDS}  # fmt: skip
    return {path: text for path, text in found.items() if text is not None}


def disagreements(environment: str, pin: pins.Pin | None, files: dict[Path, str]) -> list[str]:
    """How the environment's committed manifests differ from a rendering of its pin (empty: they agree).
    The image may be by digest or by the version tag; everything else must match the rendering exactly."""
    if pin is None:
        return [f"{p}: no pin in deploy/environments/ for {environment}" for p in files]
    image = None
    deployment = files.get(K8S / environment / "deployment.yaml")
    if deployment:
        try:
            found = yaml.safe_load(deployment)["spec"]["template"]["spec"]["containers"][0]["image"]
        except (yaml.YAMLError, KeyError, IndexError, TypeError):
            found = None
        image = found if isinstance(found, str) and "@sha256:" in found else None
    problems = []
    for path, expected in texts(environment, pin, image).items():
        if path not in files:
            problems.append(f"{path} is missing; run `make manifests` and commit the result")
        elif files[path] != expected:
            problems.append(f"{path} does not match the pin; run `make manifests` and commit the result")
    return problems


def check(*, kubernetes_version: str | None) -> int:
    """`check-manifests`: every environment's files equal a rendering of its pin, and are valid Kubernetes."""
    problems = []
    for env in ENVIRONMENTS:
        files = {p: p.read_text() for p in sorted((K8S / env).glob("*.yaml"))}
        pin = pins.read(env)
        if pin is not None or files:
            problems += disagreements(env, pin, files)
    for problem in problems:
        print(f"check-manifests: {problem}", file=sys.stderr)
    paths = sorted(str(p) for p in K8S.glob("*/*.yaml"))
    if paths:
        cmd = [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--quiet"]
        if kubernetes_version:
            cmd += ["--kubernetes-version", kubernetes_version]
        if subprocess.run([*cmd, *paths]).returncode != 0:
            problems.append("schema")
    print(f"check-manifests: {len(paths)} files {'invalid' if problems else 'valid and equal to their pins'}")
    return 1 if problems else 0
