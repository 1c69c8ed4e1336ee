"""The package's layers point one way, the service imports only what the Bento ships, and the linters
a developer runs by hand are the ones the hooks run."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

PACKAGE = next(p for p in (ROOT / "src").iterdir() if (p / "__init__.py").exists())
LAYERS = importlib.import_module(PACKAGE.name).LAYERS
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def layer(module: str) -> str:
    """`contract`, `pipeline`, … for a module path relative to the package (`pipeline.train`, `cli`)."""
    top = module.split(".")[0]
    return "cli" if top in {"__init__", "__main__"} else top


def rule() -> str:
    """LAYERS as the docs write it: `contract` ← `pipeline`, `serving`, … ← `release` ← `cli`."""
    return " ← ".join(", ".join(f"`{name}`" for name in names) for names in LAYERS)


def imported_modules(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module of the package that a file imports, anywhere in it (lazy imports inside functions too)."""
    here = path.relative_to(root).with_suffix("").parts  # ("pipeline", "train")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = list(here[: len(here) - node.level])
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.split(".")[0] == root.name:
                target = node.module.partition(".")[2]
            else:
                continue
            names = [f"{target}.{a.name}" if target else a.name for a in node.names]
            # `from .x import y`: y when it is a module of its own, else x
            found.update(n if is_module(root, n) else target for n in names)
        elif isinstance(node, ast.Import):
            found.update(a.name.partition(".")[2] for a in node.names if a.name.split(".")[0] == root.name)
    return {m for m in found if m}


def is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def part(module: str) -> str | None:
    """The part of release a module belongs to (`release.promotion.gates` -> `promotion`), or None outside it."""
    parts = module.split(".")
    return parts[1] if parts[0] == "release" and len(parts) > 1 and parts[1] != "__init__" else None


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        own = layer(".".join(path.relative_to(root).with_suffix("").parts))
        for module in imported_modules(path, root):
            other = layer(module)
            if other == own:
                continue
            if RANK[other] >= RANK[own]:
                found.append(f"{path.relative_to(root)} ({own}) imports {module} ({other})")
    return found + release_violations(root)


def release_violations(root: Path) -> list[str]:
    """Inside release/, the same rule over PARTS: adapters <- promotion <- deploy <- audit."""
    parts = importlib.import_module(f"{PACKAGE.name}.release").PARTS
    rank = {name: i for i, names in enumerate(parts) for name in names}
    found = []
    for path in sorted((root / "release").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        own = part(module)
        for other in filter(None, map(part, imported_modules(path, root))):
            if own is not None and other != own and rank[other] >= rank[own]:
                found.append(f"{path.relative_to(root)} (release.{own}) imports release.{other}")
    return found


def cycles(root: Path) -> list[list[str]]:
    """Every import loop between modules, lazy imports counted: a lazy import hides a loop, it does not remove it."""
    graph = {
        ".".join(path.relative_to(root).with_suffix("").parts): imported_modules(path, root)
        for path in root.rglob("*.py")
    }
    found, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                found.append([*trail[trail.index(target) :], target] if target in trail else [module, target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_every_module_belongs_to_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert layer(".".join(path.relative_to(PACKAGE).with_suffix("").parts)) in RANK, path


def test_imports_point_one_way_contract_pipeline_serving_release_cli() -> None:
    assert not violations(PACKAGE), "\n".join(violations(PACKAGE))


def test_every_module_of_release_belongs_to_a_part() -> None:
    parts = {name for names in importlib.import_module(f"{PACKAGE.name}.release").PARTS for name in names}
    for path in (PACKAGE / "release").rglob("*.py"):
        found = part(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        assert found is None or found in parts, path


def test_no_module_imports_itself_back_through_others() -> None:
    assert not cycles(PACKAGE), "\n".join(" -> ".join(loop) for loop in cycles(PACKAGE))


def test_a_loop_hidden_by_a_lazy_import_is_caught(tmp_path: Path) -> None:
    """The loop check can fail: the fast predictor's file asks predict.py back, inside a function."""
    copy = tmp_path / PACKAGE.name
    for path in PACKAGE.rglob("*.py"):
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    predict = copy / "contract" / "predict.py"
    predict.write_text(predict.read_text() + "\n\ndef _late():\n    from .fastpath import FastPredictor\n")
    assert ["contract.fastpath", "contract.predict", "contract.fastpath"] in cycles(copy) or [
        "contract.predict",
        "contract.fastpath",
        "contract.predict",
    ] in cycles(copy), cycles(copy)


@pytest.mark.parametrize(
    ("module", "statement", "expected"),
    [
        (
            "contract/schema.py",
            "from ..serving import server",
            "contract/schema.py (contract) imports serving.server (serving)",
        ),
        (
            "pipeline/train.py",
            "from ..release import errors",
            "pipeline/train.py (pipeline) imports release.errors (release)",
        ),
        (
            "serving/service.py",
            "from ..pipeline import evaluate",
            "serving/service.py (serving) imports pipeline.evaluate (pipeline)",
        ),
        (
            "batch/score.py",
            "from ..release.promotion import pins",
            "batch/score.py (batch) imports release.promotion.pins (release)",
        ),
        (
            "monitoring/monitor.py",
            "from ..serving import requestlog",
            "monitoring/monitor.py (monitoring) imports serving.requestlog (serving)",
        ),
        (
            "serving/service.py",
            "from ..monitoring import monitor",
            "serving/service.py (serving) imports monitoring.monitor (monitoring)",
        ),
        (  # an import inside a function counts as much as one at the top
            "serving/requestlog.py",
            "def _late():\n    from ..pipeline import evaluate",
            "serving/requestlog.py (serving) imports pipeline.evaluate (pipeline)",
        ),
        (
            "release/promotion/gates.py",
            "import {package}.cli",
            "release/promotion/gates.py (release) imports cli (cli)",
        ),
        (
            "release/promotion/gates.py",
            "from ..deploy import manifests",
            "release/promotion/gates.py (release.promotion) imports release.deploy",
        ),
        (
            "release/adapters/gitrepo.py",
            "def _late():\n    from ..promotion import pins",
            "release/adapters/gitrepo.py (release.adapters) imports release.promotion",
        ),
    ],
)
def test_an_import_pointing_back_up_is_caught(tmp_path: Path, module: str, statement: str, expected: str) -> None:
    """The check itself can fail: a copy of the package with one import pointed the wrong way."""
    copy = tmp_path / PACKAGE.name
    for path in PACKAGE.rglob("*.py"):
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    broken = copy / module
    broken.write_text(broken.read_text() + f"\n{statement.format(package=PACKAGE.name)}\n")
    assert expected in violations(copy)


def test_the_service_imports_neither_dvc_nor_mlflow_nor_the_release_or_pipeline_code() -> None:
    """What a Bento installs has neither (pyproject's [project] dependencies), and ships neither layer."""
    code = f"import sys, {PACKAGE.name}.serving.service; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    assert f"{PACKAGE.name}.serving.service" in loaded  # the check ran in a process that did import the service
    forbidden = {"dvc", "mlflow", "git", *(f"{PACKAGE.name}.{name}" for name in ("release", "pipeline", "monitoring"))}
    assert not {m for m in loaded if m in forbidden or m.startswith(tuple(f"{f}." for f in forbidden))}


def test_the_bentofile_ships_only_the_contract_and_the_service() -> None:
    bentofile = yaml.safe_load((ROOT / "bentofile.yaml").read_text())
    shipped = {str(Path(pattern).relative_to(f"src/{PACKAGE.name}")) for pattern in bentofile["include"]}
    assert shipped == {"__init__.py", "contract", "serving"}


def test_the_docs_state_the_rule_as_the_package_does() -> None:
    """LAYERS is the rule's one home; the architecture page and the README quote it, and must not drift."""
    for doc in (ROOT / "docs" / "architecture.md", ROOT / "README.md"):
        assert rule() in doc.read_text(), f"{doc.name} does not say {rule()}"


def test_the_hooks_run_the_linters_the_dev_group_pins() -> None:
    """`uv run ruff` by hand and the pre-commit hook must agree: the same exact versions in both places."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hook_pins = dict(
        dependency.split("==")
        for repo in hooks["repos"]
        for hook in repo["hooks"]
        for dependency in hook.get("additional_dependencies", [])
    )
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    dev_pins = dict(d.split("==") for d in dev if "==" in d)
    for tool in ("ruff", "mypy"):
        assert tool in hook_pins and tool in dev_pins, f"{tool} is pinned in both places"
    differ = {
        name: (pin, dev_pins[name]) for name, pin in hook_pins.items() if name in dev_pins and pin != dev_pins[name]
    }
    assert not differ, f"(hook pin, dev group pin) differ: {differ}"
