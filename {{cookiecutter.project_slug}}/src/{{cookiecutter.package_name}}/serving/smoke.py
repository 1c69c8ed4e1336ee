"""One prediction from the built Bento: start it on a free port, send the example record, stop it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from ..contract.schema import EXAMPLE_FEATURES
from . import server


def main(*, models: Path, port: int | None = None) -> None:
    port = port or server.free_port()
    url = f"http://127.0.0.1:{port}"
    process = server.start(server.built_tag(models), port)
    try:
        server.wait_ready(process, url)
        body = json.dumps({"records": [EXAMPLE_FEATURES]}).encode()
        request = urllib.request.Request(f"{url}/predict", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            print(f"smoke: POST {url}/predict -> {response.status} {response.read().decode()}")
    finally:
        server.stop(process)
