"""What a job is while it runs, and what it leaves: its workspace and environment, its steps' results, its outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..github import Event


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    if not path.exists():
        return outputs
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@dataclass
class StepResult:
    name: str
    returncode: int
    seconds: float
    output: str
    skipped: bool = False


@dataclass
class JobResult:
    name: str
    ok: bool
    seconds: float = 0.0
    skipped: bool = False
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    workspace: Path | None = None

    @property
    def result(self) -> str:
        return "skipped" if self.skipped else "success" if self.ok else "failure"

    @property
    def output(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.returncode})\n{s.output}" for s in self.steps if not s.skipped)

    def failure(self, tail: int = 3000) -> str:
        """The failing step and the end of its output: what a reader of the CI log needs."""
        if self.skipped:
            return f"{self.name}: skipped"
        failed = [s for s in self.steps if s.returncode != 0] or self.steps[-1:]
        step = failed[0]
        return f"{self.name}: step {step.name!r} exited {step.returncode}:\n{step.output[-tail:]}"


@dataclass
class Job:
    """One job being run: its workspace, environment, and the place artifacts are exchanged."""

    name: str
    workspace: Path
    env: dict[str, str]
    artifacts: Path
    origin: Path
    event: Event
    permissions: dict[str, str] = field(default_factory=dict)
    clouds: dict[str, dict[str, str]] = field(default_factory=dict)
    actions_log: Path | None = None  # where the registry stand-ins record their calls
    logins: set[str] = field(default_factory=set)  # the registries docker/login-action logged in to
