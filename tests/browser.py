"""A real browser on the served page: Debian's chromium driven by Playwright, every request recorded.

Playwright's own browser download cannot work offline, so the browser is the system's
(`.ci/system-packages` installs it). Requests to anywhere but the server are recorded, then aborted:
no network is reachable here, and a test must not wait for one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, sync_playwright

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 60_000  # the machine is shared; Swagger UI renders the document in the page


@contextmanager
def opened(origin: str) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page and the list of every URL it requests, in order."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run `make system-packages` (.ci/system-packages installs chromium)")
    requested: list[str] = []
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", lambda request: requested.append(request.url))

            def outside(route: Route) -> None:
                if urlsplit(route.request.url).netloc != urlsplit(origin).netloc:
                    route.abort()
                else:
                    route.fallback()

            page.route("**/*", outside)
            yield page, requested
        finally:
            browser.close()


def third_party(requested: list[str], origin: str) -> list[str]:
    """The requests that went anywhere but the server (inline data: and blob: URLs are not requests)."""
    server = urlsplit(origin)
    return [
        url
        for url in requested
        if urlsplit(url).scheme not in {"data", "blob"}
        and (urlsplit(url).scheme, urlsplit(url).netloc) != (server.scheme, server.netloc)
    ]


def try_predict(page: Page) -> tuple[dict[str, Any], int, Any, str]:
    """Swagger UI's "Try it out" for POST /predict, as a caller uses it.

    Returns the body it pre-filled, the status and JSON of the answer, and the response as the page shows it.
    """
    page.locator(".opblock-summary-path[data-path='/predict']").click()
    page.locator(".opblock-post button.try-out__btn").click()
    prefilled = json.loads(page.locator(".opblock-post textarea.body-param__text").input_value())
    with page.expect_response(lambda response: urlsplit(response.url).path == "/predict") as answer:
        page.locator(".opblock-post button.execute").click()
    shown = page.locator(".opblock-post .live-responses-table tr.response .response-col_description")
    shown.wait_for()
    return prefilled, answer.value.status, answer.value.json(), shown.inner_text()
