"""GitHub's expression language, the subset the workflows use: `${{ }}`, `if:` and the status functions."""

from __future__ import annotations

import re
from typing import Any

EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
STATUS_FUNCTIONS = re.compile(r"\b(always|success|failure|cancelled)\(\)")


class Context(dict[str, Any]):
    """A GitHub expression context: attribute access, and '' for what is not set (as GitHub gives)."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name, "")
        return Context(value) if isinstance(value, dict) else value

    def __getitem__(self, name: str) -> Any:
        value = self.get(name, "")
        return Context(value) if isinstance(value, dict) else value


def evaluate(expression: str, contexts: dict[str, Any], status: str = "success") -> Any:
    """The small subset of GitHub's expression language that the workflows here use."""
    python = expression.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    namespace: dict[str, Any] = {name: Context(value) for name, value in contexts.items()}
    namespace.update(
        hashFiles=lambda *patterns: "local",
        format=lambda text, *args: re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), text),
        always=lambda: True,
        success=lambda: status == "success",
        failure=lambda: status == "failure",
        cancelled=lambda: False,
    )
    return eval(python, {"__builtins__": {}}, namespace)  # our own workflow files, in a test


def substitute(text: str, contexts: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda m: str(evaluate(m.group(1), contexts)), text)


def condition(spec: dict[str, Any]) -> str:
    """A step's or job's `if:`, with GitHub's implicit `success() &&` when it names no status function."""
    text = str(spec.get("if", "success()")).strip()
    text = EXPRESSION.sub(lambda m: m.group(1), text)
    return text if STATUS_FUNCTIONS.search(text) else f"success() && ({text})"
