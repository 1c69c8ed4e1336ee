"""`kubectl` for the deploy workflow's jobs: a recording one-node cluster whose runtime is podman.

Run by the wrapper tests/runtimes.py installs; KUBECTL_STANDIN_STATE names its JSON state (the credential
it accepts, the port it publishes on, its calls file, what was applied). tests/runtimes.py lists how it
is kinder than a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

KINDS = ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]


class Cluster:
    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.state: dict[str, Any] = json.loads(state_path.read_text())

    def save(self) -> None:
        self.state_path.write_text(json.dumps(self.state))

    def apply(self, folder: Path) -> None:
        """Validate the folder's manifests as an API server would (schemas, kinds, an image by digest)."""
        files = sorted(str(path) for path in folder.iterdir() if path.suffix == ".yaml")
        validate = Path.cwd() / ".venv" / "bin" / "kubernetes-validate"
        checked = subprocess.run([validate, "--strict", "--quiet", *files], capture_output=True, text=True)
        if checked.returncode:
            sys.exit(f"error: validating {folder}: {(checked.stdout + checked.stderr).strip()[-500:]}")
        resources = [yaml.safe_load(Path(path).read_text()) for path in files]
        kinds = sorted(r["kind"] for r in resources)
        if kinds != KINDS:
            sys.exit(f"error: expected a Deployment, Service, HPA and PDB, got {kinds}")
        (deployment,) = [r for r in resources if r["kind"] == "Deployment"]
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        if "@sha256:" not in image:
            sys.exit(f"error: the cluster runs images by digest only, not {image}")
        self.state["applied"] = {"name": deployment["metadata"]["name"], "image": image,
                                 "annotations": deployment["spec"]["template"]["metadata"]["annotations"]}  # fmt: skip
        self.state.setdefault("applies", []).append(self.state["applied"])
        self.save()
        for r in resources:
            print(f"{r['kind'].lower()}/{r['metadata']['name']} configured")

    def rollout(self, name: str, timeout: float) -> None:
        """Run the applied Deployment's image (pulled by digest, read-only root) and wait for /readyz."""
        applied = self.state.get("applied")
        if not applied or name != f"deployment/{applied['name']}":
            sys.exit(f'Error from server (NotFound): deployments.apps "{name}" not found')
        if self.state.get("container"):
            subprocess.run(["podman", "rm", "--force", "--time", "10", self.state["container"]], capture_output=True)
        run = subprocess.run(["podman", "run", "--detach", "--pull", "always", "--name", applied["name"],
                              "--publish", f"127.0.0.1:{self.state['port']}:3000", "--read-only",
                              "--tmpfs", "/home/bentoml:U", applied["image"]], capture_output=True, text=True)  # fmt: skip
        if run.returncode:
            sys.exit(f"error: the pod could not start: {run.stderr.strip()[-500:]}")
        self.state["container"] = run.stdout.strip()
        self.save()
        inspect = subprocess.run(["podman", "image", "inspect", applied["image"]], capture_output=True, text=True,
                                 check=True)  # fmt: skip
        label = json.loads(inspect.stdout)[0]["Config"]["Labels"].get("ai.lastmile.model.artifact-sha256")
        if label != applied["annotations"].get("ai.lastmile.model/artifact-sha256"):
            sys.exit(f"error: the image's artifact label {label} is not the Deployment's annotation")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.state['port']}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        print(f'deployment "{applied["name"]}" successfully rolled out')
                        return
            except OSError:
                time.sleep(1)
        sys.exit("error: timed out waiting for the condition")


def main(args: list[str]) -> None:
    cluster = Cluster(Path(os.environ["KUBECTL_STANDIN_STATE"]))
    config = os.environ.get("KUBECONFIG", "")
    with Path(cluster.state["calls"]).open("a") as log:
        log.write(json.dumps({"args": args, "cwd": str(Path.cwd()), "kubeconfig": bool(config)}) + "\n")
    if (
        not config
        or not Path(config).exists()
        or Path(config).read_text().strip() != cluster.state["credential"].strip()
    ):
        sys.exit("error: You must be logged in to the server (Unauthorized)")
    if args[:2] == ["apply", "--filename"] and len(args) == 3:
        cluster.apply(Path(args[2]))
    elif args[:2] == ["rollout", "status"] and len(args) in (3, 4):
        timeout = float(args[3].removeprefix("--timeout=").rstrip("s")) if len(args) == 4 else 300
        cluster.rollout(args[2], timeout)
    else:
        sys.exit(f"kubectl stand-in: unsupported call: kubectl {' '.join(args)}")


if __name__ == "__main__":
    main(sys.argv[1:])
