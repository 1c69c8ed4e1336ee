"""A no-op BentoML service with the project's request model: BentoML's request path without a model.

`BENCH_PACKAGE=penguin_species .venv/bin/python -m bentoml serve noop_bento:NoOp --working-dir <this folder>`
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import bentoml

messages = importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.contract.messages")
Records: Any = messages.Records


@bentoml.service(name="noop", workers="cpu_count")
class NoOp:
    @bentoml.api
    def predict(self, records: Records) -> list[dict[str, str]]:
        return [{"prediction": "none"}] * len(records)
